#!/usr/bin/env bash
# Installs the Fabric binaries (peer, orderer, configtxgen, cryptogen,
# osnadmin), Fabric's sample core.yaml/orderer.yaml and our chaincode-as-a-
# service external builder into .fabric/. Idempotent: a second run with the
# same inputs returns at once.
#
# Fabric is built from the Go module proxy by commit hash, because Fabric's
# tags are not valid Go versions (its module path has no /v3). Candidates in
# order: v3.1.5, v3.1.4, then v2.5.9 pinned by fabric-network/fabric-tools
# (go.sum holds its hashes; the checksum database has no entry for it).
#
# Environment:
#   FABRIC_BIN=/path   use existing binaries instead of building them
#   FABRIC_RELEASE=x   only try this candidate (3.1.5, 3.1.4 or 2.5.9)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

readonly FABRIC_MODULE=github.com/hyperledger/fabric
readonly TOOLS="peer orderer configtxgen cryptogen osnadmin"
# release:commit:minimum Go version (from that commit's go.mod)
readonly CANDIDATES=(
    "3.1.5:86c1172bec37e6590c6b1ae6f847833df48d65fc:1.26.4"
    "3.1.4:57f91e9b60bcca109834dc2deb60157444863bae:1.25"
    "2.5.9:7c3876255bf064b789a839ce347b6a02adb6333c:1.22"
)
readonly PINNED_RELEASE=2.5.9
readonly TOOLS_MODULE_DIR="$REPO_ROOT/fabric-network/fabric-tools"

# Never let the go command fetch a newer toolchain behind our back.
export GOTOOLCHAIN=local CGO_ENABLED=0

go_version_at_least() { # $1 = minimum "1.22" or "1.26.4"
    local have
    have="$(go env GOVERSION 2>/dev/null)" || return 1
    have="${have#go}"
    [[ "$(printf '%s\n%s\n' "$1" "$have" | sort -V | head -n1)" == "$1" ]]
}

require_go() {
    command -v go >/dev/null 2>&1 || die "Go is not installed; Fabric is built from source (Go >= 1.22 needed, https://go.dev/dl/)"
    go_version_at_least 1.22 || die "Go $(go env GOVERSION) is too old: Fabric needs Go >= 1.22"
}

ldflags_for() { # $1 release, $2 commit
    echo "-X $FABRIC_MODULE/common/metadata.Version=$1 -X $FABRIC_MODULE/common/metadata.CommitSHA=${2:0:7}"
}

# Builds one candidate into $FABRIC_HOME/bin; returns non-zero if the proxy
# will not serve it (the go command's output is kept in $FABRIC_HOME/install-<release>.log).
build_candidate() { # $1 release, $2 commit
    local release=$1 commit=$2 ldflags
    ldflags="$(ldflags_for "$release" "$commit")"
    mkdir -p "$FABRIC_HOME/bin"
    if [[ "$release" == "$PINNED_RELEASE" ]]; then
        (cd "$TOOLS_MODULE_DIR" && GOBIN="$FABRIC_HOME/bin" GOFLAGS=-mod=readonly \
            go install -trimpath -ldflags "$ldflags" tool)
    else
        local pkgs=()
        for t in $TOOLS; do pkgs+=("$FABRIC_MODULE/cmd/$t@$commit"); done
        GOBIN="$FABRIC_HOME/bin" go install -trimpath -ldflags "$ldflags" "${pkgs[@]}"
    fi
}

# Directory of the Fabric module source in the module cache (for sampleconfig).
module_dir() { # $1 release, $2 commit
    if [[ "$1" == "$PINNED_RELEASE" ]]; then
        (cd "$TOOLS_MODULE_DIR" && GOFLAGS=-mod=readonly go list -m -f '{{.Dir}}' "$FABRIC_MODULE")
    else
        (cd "$FABRIC_HOME" && go mod download -json "$FABRIC_MODULE@$2" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
    fi
}

install_sample_config() { # $1 release, $2 commit
    local dir
    dir="$(module_dir "$1" "$2")"
    [[ -f "$dir/sampleconfig/core.yaml" ]] || die "sampleconfig not found in the module cache at '$dir'"
    mkdir -p "$FABRIC_CONFIG_DIR"
    cp "$dir/sampleconfig/core.yaml" "$dir/sampleconfig/orderer.yaml" "$FABRIC_CONFIG_DIR/"
    chmod u+w "$FABRIC_CONFIG_DIR"/*.yaml
    # Our peers have no Docker: the VM endpoint must be empty, or the Docker
    # health check keeps /healthz failing. CORE_VM_ENDPOINT="" cannot do it,
    # because the peer's config loader ignores empty environment variables.
    sed -i 's|^\(    endpoint:\) unix:///var/run/docker.sock$|\1 ""|' "$FABRIC_CONFIG_DIR/core.yaml"
    grep -q '^    endpoint: ""$' "$FABRIC_CONFIG_DIR/core.yaml" \
        || die "could not clear vm.endpoint in $FABRIC_CONFIG_DIR/core.yaml"
}

install_ccaas_builder() {
    log "building the ccaas external builder"
    (cd "$REPO_ROOT" && cargo build --quiet --release -p ccaas-builder)
    mkdir -p "$CCAAS_BUILDER_DIR/bin"
    cp "$REPO_ROOT/target/release/ccaas-builder" "$CCAAS_BUILDER_DIR/bin/ccaas-builder"
    for role in detect build release; do
        ln -sf ccaas-builder "$CCAAS_BUILDER_DIR/bin/$role"
    done
}

# Version reported by an existing peer binary ("2.5.9").
binary_release() { "$1/peer" version 2>/dev/null | sed -n 's/^ Version: *//p' | head -n1; }

stamp_of() { echo "config=2 release=$1 commit=$2 go=$(go env GOVERSION 2>/dev/null || echo none) bin=${FABRIC_BIN:-built}"; }

main() {
    mkdir -p "$FABRIC_HOME"
    local candidates=("${CANDIDATES[@]}")
    if [[ -n "${FABRIC_RELEASE:-}" ]]; then
        candidates=()
        for c in "${CANDIDATES[@]}"; do [[ "${c%%:*}" == "$FABRIC_RELEASE" ]] && candidates+=("$c"); done
        ((${#candidates[@]})) || die "unknown FABRIC_RELEASE '$FABRIC_RELEASE' (known: 3.1.5, 3.1.4, 2.5.9)"
    fi

    if [[ -f "$FABRIC_HOME/STAMP" ]] && [[ -x "$CCAAS_BUILDER_DIR/bin/detect" ]] \
        && [[ -f "$FABRIC_CONFIG_DIR/core.yaml" ]]; then
        local release commit
        release="$(cat "$FABRIC_HOME/VERSION")"
        for c in "${candidates[@]}"; do
            IFS=: read -r r commit _ <<<"$c"
            if [[ "$r" == "$release" && "$(cat "$FABRIC_HOME/STAMP")" == "$(stamp_of "$r" "$commit")" ]]; then
                log "Fabric $release already installed in $FABRIC_BIN_DIR"
                return 0
            fi
        done
    fi

    require_go
    local installed="" installed_commit=""
    if [[ -n "${FABRIC_BIN:-}" ]]; then
        for t in $TOOLS; do [[ -x "$FABRIC_BIN/$t" ]] || die "FABRIC_BIN=$FABRIC_BIN has no executable '$t'"; done
        installed="$(binary_release "$FABRIC_BIN")"
        for c in "${candidates[@]}"; do
            IFS=: read -r r commit _ <<<"$c"
            [[ "$r" == "$installed" ]] && installed_commit=$commit
        done
        [[ -n "$installed_commit" ]] || die "FABRIC_BIN has Fabric '$installed'; supported: 3.1.5, 3.1.4, 2.5.9"
        log "using Fabric $installed from FABRIC_BIN=$FABRIC_BIN"
    else
        for c in "${candidates[@]}"; do
            IFS=: read -r r commit min_go <<<"$c"
            if ! go_version_at_least "$min_go"; then
                log "Fabric $r needs Go >= $min_go (have $(go env GOVERSION)); skipping"
                continue
            fi
            log "building Fabric $r ($commit) from the Go module proxy"
            local attempt_log="$FABRIC_HOME/install-$r.log"
            if build_candidate "$r" "$commit" >"$attempt_log" 2>&1; then
                installed=$r installed_commit=$commit
                break
            fi
            log "Fabric $r is not available: $(grep -m1 -E 'Forbidden|not available|Not Found|error' "$attempt_log" || tail -n1 "$attempt_log")"
        done
        [[ -n "$installed" ]] || die "no Fabric release could be built; see $FABRIC_HOME/install-*.log"
    fi

    install_sample_config "$installed" "$installed_commit"
    install_ccaas_builder
    echo "$installed" >"$FABRIC_HOME/VERSION"
    stamp_of "$installed" "$installed_commit" >"$FABRIC_HOME/STAMP"
    log "Fabric $installed installed: binaries in $FABRIC_BIN_DIR, config in $FABRIC_CONFIG_DIR"
}

main "$@"
