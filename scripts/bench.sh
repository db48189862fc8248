#!/usr/bin/env bash
# Runs the benchmarks (bench/, the `ehrx-bench` binary) against the two local
# Fabric networks: installs Fabric if it is missing, builds in release, and
# runs the binary, which starts both networks for each benchmark and stops
# them again. Whatever happens, nothing this script started is left running.
#
#   scripts/bench.sh --quick        a small run that checks everything works
#   scripts/bench.sh                the full run (about 6 minutes on 2 cores)
#   scripts/bench.sh --help         the binary's options
#
# Arguments go to the binary. Results go to results/bench-<UTC time>/
# (results.json, throughput.csv, exchange.csv, summary.md, SVG charts and
# index.html, which shows the tables with the charts beside them). Export
# NETWORK_PORT_BASE to move the networks' ports.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
source "$REPO_ROOT/scripts/lib/layout.sh"
source "$REPO_ROOT/scripts/lib/process.sh"
cd "$REPO_ROOT"

# Networks someone else started are theirs: refuse rather than stop them.
networks_running && die "networks are already running in $NETWORK_HOME; stop them first (scripts/network.sh down)"

log "installing Fabric if needed"
scripts/install-fabric.sh

log "building ehrx-bench (release)"
cargo build --release --quiet -p ehrx-bench

bench_pid=""
# The binary stops its networks on SIGINT and SIGTERM; pass them on and let
# it finish that.
forward() { [[ -n "$bench_pid" ]] && kill -TERM "$bench_pid" 2>/dev/null || true; }
# If the binary was killed before it could, stop the networks it started.
cleanup() {
    local status=$?
    if networks_running; then
        log "stopping the networks the benchmark left running"
        scripts/network.sh down || true
    fi
    exit "$status"
}
trap forward INT TERM
trap cleanup EXIT

log "running the benchmarks"
started=$SECONDS
target/release/ehrx-bench "$@" &
bench_pid=$!
status=0
wait_until_gone "$bench_pid" || status=$?
log "benchmarks finished in $((SECONDS - started))s (exit $status)"
exit "$status"
