#!/usr/bin/env bash
# Reproduces the two-network experiment: installs what is missing (tools,
# Fabric), builds, brings both networks up with the EHR chaincode, relays
# and responders, loads synthetic FHIR patients into both, runs the
# exchange, the security analysis and the future-work attacks, and times
# back-to-back exchanges. Writes results/<UTC timestamp>/report.md,
# results.json, timings.csv and the response-time charts
# (response-time-cdf.svg, response-time.svg), prints the table, and exits
# non-zero if any scenario fails. Everything it started is stopped, also
# on failure or Ctrl-C.
#
# usage: scripts/experiment.sh [--orderer raft|bft] [--fabric 3.1.5|2.5.16]
#            [--exchanges N] [--patients N] [--timeout-secs S] [--results-dir DIR]
#
# --orderer bft runs four SmartBFT orderers per network (Fabric 3 only);
# --fabric picks the release (default 3.1.5; same as FABRIC_RELEASE).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
source "$REPO_ROOT/scripts/lib/prereqs.sh"
cd "$REPO_ROOT"

case "${1:-}" in
    -h | --help) exec cargo run --quiet --release -p ehrx-e2e --bin experiment -- --help ;;
esac

# The network options are the scripts'; the rest go to the binary.
binary_args=()
while (($#)); do
    case "$1" in
        --orderer) (($# >= 2)) || die "--orderer needs raft or bft"; export NETWORK_ORDERER=$2; shift 2 ;;
        --orderer=*) export NETWORK_ORDERER="${1#*=}"; shift ;;
        --fabric) (($# >= 2)) || die "--fabric needs a release"; export FABRIC_RELEASE=$2; shift 2 ;;
        --fabric=*) export FABRIC_RELEASE="${1#*=}"; shift ;;
        *) binary_args+=("$1"); shift ;;
    esac
done
[[ "${NETWORK_ORDERER:-raft}" =~ ^(raft|bft)$ ]] || die "--orderer must be raft or bft, not '$NETWORK_ORDERER'"

# Refuse before touching anything: the clean-up below must only ever stop
# networks this run started.
for pidfile in "$NETWORK_HOME"/*/nodes/*/pid; do
    [[ -f "$pidfile" ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null &&
        die "networks are already running in $NETWORK_HOME; stop them first with scripts/network.sh down"
done

ensure_tools
scripts/install-fabric.sh

log "building the experiment and the chaincode (release)"
cargo build --quiet --release -p ehrx-e2e --bin experiment
# The networks the binary brings up run release chaincode servers, so the
# response times measure optimised code on both sides.
export NETWORK_CHAINCODE_PROFILE=release

# The binary brings the networks up and down itself; this also covers a
# kill of the binary between the two.
trap 'scripts/network.sh down >/dev/null 2>&1 || true' EXIT
target_dir="${CARGO_TARGET_DIR:-$REPO_ROOT/target}"
"$target_dir/release/experiment" "${binary_args[@]}"
