# Installs the command-line tools the scripts rely on when they are missing
# (Debian/Ubuntu packages), so a fresh machine needs no manual step. Go and
# Rust are assumed (Fabric is built with Go). openssl makes the Ed25519 user
# on Fabric 2.5; xz unpacks the Fabric source snapshots. Source after common.sh.

ensure_tools() {
    local missing=() tool
    for tool in jq:jq envsubst:gettext-base curl:curl setsid:util-linux xxd:xxd git:git openssl:openssl xz:xz-utils; do
        command -v "${tool%%:*}" >/dev/null 2>&1 || missing+=("${tool#*:}")
    done
    apt_install "${missing[@]}"
}

# Debian's chromium, which the end-to-end test of the clinician's view
# (tests/tests/clinician_view.rs) runs headless to render the summary page,
# take a screenshot and read the console.
ensure_chromium() {
    command -v chromium >/dev/null 2>&1 || apt_install chromium
}

apt_install() { # Debian packages to install; none: nothing to do
    local sudo=""
    (($#)) || return 0
    command -v apt-get >/dev/null 2>&1 ||
        die "missing tools ($*) and no apt-get to install them"
    [[ "$(id -u)" == 0 ]] || sudo=sudo
    log "installing $*"
    $sudo apt-get update -qq && $sudo apt-get install -y -qq "$@"
}
