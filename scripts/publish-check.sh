#!/usr/bin/env bash
# Packages the Fabric-layer crates (fabric/) as crates.io would and builds
# each from its package alone, in dependency order, uploading nothing:
# `cargo publish --dry-run` for the four of them (about 4 minutes here).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$REPO_ROOT"

readonly CRATES=(hlf-protos hlf-identity hlf-gateway hlf-shim)
args=()
for crate in "${CRATES[@]}"; do args+=(-p "$crate"); done
log "cargo publish --dry-run ${CRATES[*]}"
cargo publish --dry-run --allow-dirty "${args[@]}"
# The verification builds leave a copy of every package and its target.
rm -rf target/package
log "all four package and build on their own"
