#!/usr/bin/env bash
# Installs Toxiproxy (github.com/Shopify/toxiproxy), the TCP proxy that
# emulates a WAN between the networks' relays: latency, bandwidth caps and
# cut links on loopback, where this kernel has no netem. It is built from
# the Go module proxy with the machine's Go, into .tools/toxiproxy/<version>/
# (cached in ${EHRX_TOOLS_CACHE:-~/.cache/ehrx/tools}), and linked as
# .tools/bin/toxiproxy-server. Idempotent; a second run takes no time.
#
#   TOXIPROXY_VERSION   the module version (default v2.5.0)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

readonly VERSION="${TOXIPROXY_VERSION:-v2.5.0}"
readonly MODULE=github.com/Shopify/toxiproxy/v2
readonly CACHE="${EHRX_TOOLS_CACHE:-$HOME/.cache/ehrx/tools}/toxiproxy-$VERSION-$(go env GOOS)-$(go env GOARCH)"
readonly DEST="$TOOLS_HOME/toxiproxy/$VERSION"

command -v go >/dev/null 2>&1 || die "Go is needed to build Toxiproxy (go install $MODULE/cmd/server@$VERSION)"
if [[ ! -x "$CACHE/toxiproxy-server" ]]; then
    log "building Toxiproxy $VERSION from the Go module proxy"
    work="$(mktemp -d)"
    trap 'rm -rf "$work"' EXIT
    (cd "$work" && GOBIN="$work/bin" GOFLAGS=-mod=mod go install "$MODULE/cmd/server@$VERSION") ||
        die "go install $MODULE/cmd/server@$VERSION failed"
    mkdir -p "$CACHE"
    install -m 0755 "$work/bin/server" "$CACHE/toxiproxy-server"
fi
mkdir -p "$DEST" "$TOOLS_HOME/bin"
install -m 0755 "$CACHE/toxiproxy-server" "$DEST/toxiproxy-server"
ln -sfn "$DEST/toxiproxy-server" "$TOOLS_HOME/bin/toxiproxy-server"
"$TOOLS_HOME/bin/toxiproxy-server" -version >/dev/null 2>&1 || "$TOOLS_HOME/bin/toxiproxy-server" -help >/dev/null 2>&1 ||
    die "the installed toxiproxy-server does not run"
log "Toxiproxy $VERSION in $DEST"
