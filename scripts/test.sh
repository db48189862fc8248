#!/usr/bin/env bash
# Runs the whole test suite: formatting, lints, unit tests, then the
# end-to-end tests against local Fabric networks (each end-to-end test
# starts the networks and stops them, also when it fails), in three phases:
#
#   v3      every end-to-end test on Fabric 3.1.5 (V3_0, Raft)
#   lts     the compatibility subset on Fabric 2.5.16 LTS (V2_0, Raft): the
#           networks, the gateway, the exchange, the attacks (the
#           experiment's scenarios), the Ed25519 refusal and the stolen
#           relay key (proofs endorsed by 2.5 peers)
#   bft     the exchange and the Ed25519 exchange on Fabric 3.1.5 with four
#           SmartBFT orderers per network
#   soak    the short fault soak on Fabric 3.1.5 (scripts/soak.sh --short:
#           100 exchanges, two faults of each kind, three Raft orderers)
#
# TEST_PHASES="v3 lts bft soak" (default) picks phases. Extra arguments go to the
# v3 phase's test binaries, e.g. a filter or --nocapture. Fabric is installed first if
# needed (scripts/install-fabric.sh; both releases side by side, cached).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
source "$REPO_ROOT/scripts/lib/prereqs.sh"
cd "$REPO_ROOT"

readonly PHASES="${TEST_PHASES:-v3 lts bft soak}"
readonly LTS_TESTS=(networks gateway exchange experiment ed25519 stolen_relay_key)
readonly BFT_TESTS=(exchange ed25519)

# A fresh clone builds every crate once: incremental caches only cost disk.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
require_free_disk "$REPO_ROOT" 6

log "checking formatting and lints"
cargo fmt --all --check
cargo clippy --workspace --all-targets --quiet -- -D warnings

log "unit tests"
cargo test --workspace --exclude ehrx-e2e --quiet

# One test at a time: the networks use fixed ports.
e2e() { # $1 phase, $2 test files ("" for all), then libtest arguments
    local phase=$1 t selection=() started=$SECONDS
    for t in $2; do selection+=(--test "$t"); done
    shift 2
    log "end-to-end tests, phase $phase (Fabric $(fabric_version), orderer ${NETWORK_ORDERER:-raft})"
    cargo test -p ehrx-e2e "${selection[@]}" -- --test-threads=1 "$@"
    log "phase $phase passed in $((SECONDS - started))s"
}

for phase in $PHASES; do
    case "$phase" in
        v3)
            FABRIC_RELEASE=3.1.5 scripts/install-fabric.sh
            ensure_chromium
            NETWORK_ORDERER=raft e2e v3 "" "$@"
            ;;
        lts)
            FABRIC_RELEASE=2.5.16 scripts/install-fabric.sh
            NETWORK_ORDERER=raft e2e lts "${LTS_TESTS[*]}"
            ;;
        bft)
            FABRIC_RELEASE=3.1.5 scripts/install-fabric.sh
            NETWORK_ORDERER=bft e2e bft "${BFT_TESTS[*]}"
            ;;
        soak)
            FABRIC_RELEASE=3.1.5 scripts/install-fabric.sh
            log "the short fault soak (Fabric $(fabric_version))"
            started=$SECONDS
            scripts/soak.sh --short --out "$REPO_ROOT/results/soak-ci"
            log "phase soak passed in $((SECONDS - started))s"
            ;;
        *) die "unknown test phase '$phase' (v3, lts, bft, soak)" ;;
    esac
done
# Leave the default release active for the scripts run after the tests.
[[ "$(fabric_version)" == 3.1.5 ]] || FABRIC_RELEASE=3.1.5 scripts/install-fabric.sh
log "all tests passed"
