#!/usr/bin/env bash
# Runs the whole test suite: formatting, lints, unit tests, then the
# end-to-end tests against the two local Fabric networks (installed first if
# needed; each end-to-end test starts the networks and stops them, also when
# it fails). Extra arguments go to the end-to-end `cargo test`, e.g. a filter.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$REPO_ROOT"

log "checking formatting and lints"
cargo fmt --all --check
cargo clippy --workspace --all-targets --quiet -- -D warnings

log "unit tests"
cargo test --workspace --exclude ehrx-e2e --quiet

log "installing Fabric if needed"
scripts/install-fabric.sh

log "end-to-end tests (real Fabric networks)"
# One test at a time: the networks use fixed ports.
cargo test -p ehrx-e2e -- --test-threads=1 "$@"
log "all tests passed"
