# Shared by the scripts: where the repository, the Fabric install and the
# network state live, and small helpers. Source it; do not run it.

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
FABRIC_HOME="${FABRIC_HOME:-$REPO_ROOT/.fabric}"
# The active release (install-fabric.sh points these at .fabric/releases/<r>/).
FABRIC_BIN_DIR="$FABRIC_HOME/bin"
FABRIC_CONFIG_DIR="$FABRIC_HOME/config"
CCAAS_BUILDER_DIR="$FABRIC_HOME/builders/ccaas"
NETWORK_HOME="${NETWORK_HOME:-$REPO_ROOT/.network}"
# Other tools the scripts build (Toxiproxy), under .tools/bin.
TOOLS_HOME="${EHRX_TOOLS_HOME:-$REPO_ROOT/.tools}"

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# The active Fabric release ("3.1.5", "2.5.16"), written by install-fabric.sh.
fabric_version() {
    [[ -f "$FABRIC_HOME/VERSION" ]] || die "Fabric is not installed: run scripts/install-fabric.sh"
    cat "$FABRIC_HOME/VERSION"
}

# Stops early, with the figures, when the file system holding $1 has fewer
# than $2 GiB free: a build that runs out of space dies later in the linker
# with a bus error that does not say why.
require_free_disk() {
    local dir=$1 need_gib=$2 avail_kib
    avail_kib="$(df -Pk "$dir" | awk 'NR == 2 { print $4 }')"
    [[ "$avail_kib" =~ ^[0-9]+$ ]] || { log "cannot read the free space under $dir; going on"; return 0; }
    if (( avail_kib < need_gib * 1024 * 1024 )); then
        die "only $((avail_kib / 1024)) MiB free under $dir; the build and the networks need ${need_gib} GiB (cargo clean, or free space elsewhere)"
    fi
}

fabric_major() { local v; v="$(fabric_version)"; echo "${v%%.*}"; }
