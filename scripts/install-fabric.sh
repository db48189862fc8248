#!/usr/bin/env bash
# Installs Fabric (peer, orderer, configtxgen, cryptogen, osnadmin, discover,
# configtxlator), its matching sample core.yaml/orderer.yaml and our
# chaincode-as-a-service external builder, and makes that release the active
# one in .fabric/ (bin, config and VERSION point at .fabric/releases/<r>/).
#
# Releases live side by side in .fabric/releases/<release>/, and compiled
# binaries are cached per release, source digest and Go version in
# ${EHRX_FABRIC_CACHE:-~/.cache/ehrx/fabric}, so switching releases or
# installing in a fresh clone on the same machine takes well under a second.
#
# Where Fabric comes from, first match wins:
#   FABRIC_BIN=/dir        existing binaries (e.g. Fabric's release tarball's
#                          bin/); config from FABRIC_CONFIG or FABRIC_BIN/../config
#   FABRIC_SRC=/dir|.tar*  a clone of the release tag, or a source tarball,
#                          built offline with its vendor/ folder if it has one
#   ../shared/fabric/fabric-<release>-src.tar.xz
#                          the workplace's source snapshots, checked against
#                          their SHA256SUMS before anything is unpacked
#
# Environment:
#   FABRIC_RELEASE=3.1.5 (default) | 2.5.16
#   FABRIC_SNAPSHOTS=/dir  where the snapshots are (default ../shared/fabric)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

readonly TOOLS="peer orderer configtxgen cryptogen osnadmin discover configtxlator"
# release:commit of the supported releases (the tags' commits).
readonly RELEASES=(
    "3.1.5:86c1172bec37e6590c6b1ae6f847833df48d65fc"
    "2.5.16:f871cf92a026aba7b12e6f06d71ded3e6e659d71"
)
readonly SNAPSHOTS="${FABRIC_SNAPSHOTS:-$REPO_ROOT/../shared/fabric}"
readonly CACHE="${EHRX_FABRIC_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ehrx/fabric}"

# Never let the go command fetch a toolchain or a module behind our back.
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=vendor GOPROXY=off

TRIED=()

commit_of() { # $1 release
    local entry
    for entry in "${RELEASES[@]}"; do
        [[ "${entry%%:*}" == "$1" ]] && { echo "${entry#*:}"; return 0; }
    done
    return 1
}

go_min_version() { # $1 source dir: the go directive of its go.mod
    sed -n 's/^go \([0-9.]*\)$/\1/p' "$1/go.mod" | head -n1
}

go_version_at_least() { # $1 minimum "1.26.4"
    local have
    have="$(go env GOVERSION 2>/dev/null)" || return 1
    have="${have#go}"
    [[ "$(printf '%s\n%s\n' "$1" "$have" | sort -V | head -n1)" == "$1" ]]
}

# Builds the tools from a source tree into $2 (offline when it has vendor/).
build_from_source() { # $1 source dir, $2 output dir, $3 release, $4 commit
    local src=$1 out=$2 need pkgs=() t
    command -v go >/dev/null 2>&1 || die "Go is not installed; Fabric $3 is built from source (https://go.dev/dl/)"
    need="$(go_min_version "$src")"
    [[ -n "$need" ]] || die "$src/go.mod has no go directive: is it a Fabric source tree?"
    go_version_at_least "$need" || die "Fabric $3 needs Go >= $need; this machine has $(go env GOVERSION)"
    local flags=(-trimpath -ldflags "-X github.com/hyperledger/fabric/common/metadata.Version=$3 -X github.com/hyperledger/fabric/common/metadata.CommitSHA=${4:0:7}")
    for t in $TOOLS; do pkgs+=("./cmd/$t"); done
    mkdir -p "$out.partial"
    log "building Fabric $3 (${4:0:7}) from $src with $(go env GOVERSION); about 1-2 min on two cores"
    if [[ -d "$src/vendor" ]]; then
        (cd "$src" && go build "${flags[@]}" -o "$out.partial/" "${pkgs[@]}")
    else
        # A plain clone of the tag without vendor/: the module proxy must serve its dependencies.
        (cd "$src" && GOFLAGS=-mod=mod GOPROXY="$(go env GOPROXY | sed 's/^off$/https:\/\/proxy.golang.org/')" \
            go build "${flags[@]}" -o "$out.partial/" "${pkgs[@]}")
    fi
    mkdir -p "$out.partial/config"
    cp "$src/sampleconfig/core.yaml" "$src/sampleconfig/orderer.yaml" "$out.partial/config/"
    rm -rf "$out" && mv "$out.partial" "$out"
}

# Unpacks a verified tarball into a scratch folder and prints the source dir.
unpack() { # $1 tarball, $2 scratch dir
    mkdir -p "$2"
    tar -xf "$1" -C "$2"
    local dirs=("$2"/*/)
    [[ ${#dirs[@]} == 1 && -f "${dirs[0]}go.mod" ]] || die "$1 does not unpack into one Fabric source folder"
    echo "${dirs[0]%/}"
}

# Fills $CACHE/<key>/bin with the tools and their config/ for the release
# and sets BUILT to it; returns non-zero if there is no source to build.
BUILT=""
cached_build() { # $1 release, $2 commit
    local release=$1 commit=$2 tarball="" key dir scratch src
    if [[ -n "${FABRIC_SRC:-}" ]]; then
        TRIED+=("FABRIC_SRC=$FABRIC_SRC")
        if [[ -d "$FABRIC_SRC" ]]; then
            [[ -f "$FABRIC_SRC/go.mod" ]] || die "FABRIC_SRC=$FABRIC_SRC has no go.mod: not a Fabric source folder"
            src="$FABRIC_SRC"
            # A working tree can change: key it on its git commit when it has one.
            key="$release-src-$( (git -C "$src" rev-parse --short=12 HEAD 2>/dev/null || echo "$(date +%s)") )"
        elif [[ -f "$FABRIC_SRC" ]]; then
            tarball="$FABRIC_SRC"
            key="$release-$(sha256sum "$tarball" | cut -c1-12)"
        else
            die "FABRIC_SRC=$FABRIC_SRC is neither a folder nor a file"
        fi
    else
        tarball="$SNAPSHOTS/fabric-$release-src.tar.xz"
        TRIED+=("snapshot $tarball")
        [[ -f "$tarball" ]] || return 1
        local want have
        want="$(awk -v f="fabric-$release-src.tar.xz" '$2 == f { print $1 }' "$SNAPSHOTS/SHA256SUMS" 2>/dev/null)"
        [[ -n "$want" ]] || die "$SNAPSHOTS/SHA256SUMS has no digest for fabric-$release-src.tar.xz"
        have="$(sha256sum "$tarball" | cut -d' ' -f1)"
        [[ "$have" == "$want" ]] || die "$tarball: SHA-256 is $have, SHA256SUMS says $want; refusing to build it"
        key="$release-${want:0:12}"
    fi
    dir="$CACHE/$key-$(go env GOVERSION 2>/dev/null || echo nogo)"
    if [[ ! -x "$dir/bin/peer" || ! -f "$dir/bin/config/core.yaml" ]]; then
        if [[ -n "$tarball" ]]; then
            scratch="$(mktemp -d)"
            # shellcheck disable=SC2064
            trap "rm -rf '$scratch'" EXIT
            src="$(unpack "$tarball" "$scratch")"
        fi
        mkdir -p "$CACHE"
        build_from_source "$src" "$dir/bin" "$release" "$commit" >&2
        [[ -n "$tarball" ]] && rm -rf "$scratch"
    fi
    BUILT="$dir"
}

# Version reported by a peer binary ("3.1.5").
binary_release() { "$1/peer" version 2>/dev/null | sed -n 's/^ Version: *v\{0,1\}//p' | head -n1; }

install_config() { # $1 dir holding core.yaml and orderer.yaml, $2 destination
    [[ -f "$1/core.yaml" && -f "$1/orderer.yaml" ]] || die "no core.yaml and orderer.yaml in $1"
    mkdir -p "$2"
    cp "$1/core.yaml" "$1/orderer.yaml" "$2/"
    chmod u+w "$2"/*.yaml
    # Our peers have no Docker: the VM endpoint must be empty, or the Docker
    # health check keeps /healthz failing. CORE_VM_ENDPOINT="" cannot do it,
    # because the peer's config loader ignores empty environment variables.
    # (2.5 indents the key by four spaces, 3.x by two.)
    sed -i '/^vm:/,/^[a-z]/ s|^\( *endpoint:\) unix:///var/run/docker.sock$|\1 ""|' "$2/core.yaml"
    sed -n '/^vm:/,/^[a-z]/p' "$2/core.yaml" | grep -q '^ *endpoint: ""$' ||
        die "could not clear vm.endpoint in $2/core.yaml"
}

install_ccaas_builder() {
    local bin="$CCAAS_BUILDER_DIR/bin"
    log "building the ccaas external builder"
    (cd "$REPO_ROOT" && cargo build --quiet --release -p ccaas-builder)
    mkdir -p "$bin"
    cp "$REPO_ROOT/target/release/ccaas-builder" "$bin/ccaas-builder.new"
    mv "$bin/ccaas-builder.new" "$bin/ccaas-builder"
    for role in detect build release; do ln -sf ccaas-builder "$bin/$role"; done
}

# Points .fabric/{bin,config,VERSION} at one installed release.
activate() { # $1 release
    local rel="releases/$1"
    ln -sfn "$rel/bin" "$FABRIC_HOME/bin"
    ln -sfn "$rel/config" "$FABRIC_HOME/config"
    echo "$1" >"$FABRIC_HOME/VERSION.new" && mv "$FABRIC_HOME/VERSION.new" "$FABRIC_HOME/VERSION"
}

stamp_of() { # $1 release, $2 where the binaries came from
    echo "config=3 release=$1 from=$2 go=$(go env GOVERSION 2>/dev/null || echo none)"
}

main() {
    local release="${FABRIC_RELEASE:-3.1.5}" commit from dest
    commit="$(commit_of "$release")" ||
        die "unsupported FABRIC_RELEASE '$release' (supported: ${RELEASES[*]%%:*})"
    mkdir -p "$FABRIC_HOME/releases"
    dest="$FABRIC_HOME/releases/$release"
    from="${FABRIC_BIN:-${FABRIC_SRC:-snapshot}}"

    if [[ -f "$dest/STAMP" && "$(cat "$dest/STAMP")" == "$(stamp_of "$release" "$from")" \
        && -x "$CCAAS_BUILDER_DIR/bin/detect" && -x "$dest/bin/peer" ]]; then
        activate "$release"
        log "Fabric $release already installed in $dest; active"
        return 0
    fi

    local bin_src config_src
    if [[ -n "${FABRIC_BIN:-}" ]]; then
        local t have
        for t in peer orderer configtxgen cryptogen osnadmin; do
            [[ -x "$FABRIC_BIN/$t" ]] || die "FABRIC_BIN=$FABRIC_BIN has no executable '$t'"
        done
        have="$(binary_release "$FABRIC_BIN")"
        [[ "$have" == "$release" ]] ||
            die "FABRIC_BIN=$FABRIC_BIN holds Fabric '$have', not $release; set FABRIC_RELEASE=$have if it is supported (${RELEASES[*]%%:*})"
        bin_src="$FABRIC_BIN"
        config_src="${FABRIC_CONFIG:-$FABRIC_BIN/../config}"
        log "using Fabric $release binaries from FABRIC_BIN=$FABRIC_BIN, config from $config_src"
    else
        if ! cached_build "$release" "$commit"; then
            die "no Fabric $release: tried ${TRIED[*]} (not found). Set FABRIC_BIN to Fabric's release binaries, or FABRIC_SRC to a clone or source tarball of tag v$release"
        fi
        bin_src="$BUILT/bin"
        config_src="$BUILT/bin/config"
    fi

    rm -rf "$dest.new" && mkdir -p "$dest.new/bin"
    for t in $TOOLS; do
        [[ -x "$bin_src/$t" ]] && cp "$bin_src/$t" "$dest.new/bin/"
    done
    install_config "$config_src" "$dest.new/config"
    [[ "$(binary_release "$dest.new/bin")" == "$release" ]] ||
        die "the installed peer reports '$(binary_release "$dest.new/bin")', not $release"
    echo "$release" >"$dest.new/VERSION"
    stamp_of "$release" "$from" >"$dest.new/STAMP"
    rm -rf "$dest" && mv "$dest.new" "$dest"
    install_ccaas_builder
    # An install from before releases/ kept real folders here.
    [[ -L "$FABRIC_HOME/bin" || ! -e "$FABRIC_HOME/bin" ]] || rm -rf "$FABRIC_HOME/bin"
    [[ -L "$FABRIC_HOME/config" || ! -e "$FABRIC_HOME/config" ]] || rm -rf "$FABRIC_HOME/config"
    activate "$release"
    log "Fabric $release installed in $dest ($("$dest/bin/peer" version | sed -n 's/^ Commit SHA: *//p')) and active"
}

main "$@"
