#!/usr/bin/env bash
# The fault soak (issue 16): many exchanges from network I to network II
# while a seeded injector kills relays, responders, chaincode servers, a
# peer and an orderer (three Raft orderers per network, so ordering
# survives), cuts and slows the relays' WAN links (Toxiproxy), kills a
# relay in the middle of a checkpoint write, fills a small tmpfs under a
# relay's checkpoint, and upgrades the EHR chaincode on the live channel.
# At the end every exchange must have completed exactly once (a verified
# reply or a documented refusal), none stuck, both audit trails must agree
# with the run's log, and no process may be left running.
#
#   scripts/soak.sh                      1,000 exchanges, 20 faults of each
#                                        kind, at most 20 minutes
#   scripts/soak.sh --short              100 exchanges, 2 faults of each kind
#                                        (the CI version, in scripts/test.sh)
#   scripts/soak.sh --seed 7 ...         any option of `ehrx-soak --help`
#
# The report (report.md, report.json, exchanges.json, the services' logs)
# goes to results/soak-<seed>-<exchanges>/ or --out. Exit status: 0 passed,
# 1 a check failed (loss, duplicate, stuck, audit disagreement, leak, too
# few faults), 2 the run failed. Needs root (the tmpfs). Whatever happens,
# nothing it started is left running and the tmpfs is unmounted.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
source "$REPO_ROOT/scripts/lib/layout.sh"
source "$REPO_ROOT/scripts/lib/process.sh"
cd "$REPO_ROOT"

args=()
for arg in "$@"; do
    case "$arg" in
        # Short: every kind of fault still happens, twice; shorter outages.
        --short) args+=(--exchanges 100 --faults-per-kind 2 --max-outage-ms 2000 --max-gap-ms 1000 --max-minutes 6) ;;
        *) args+=("$arg") ;;
    esac
done

[[ "$(id -u)" == 0 ]] || die "the soak mounts a tmpfs for the disk-full fault: run it as root"
networks_running && die "networks are already running in $NETWORK_HOME; stop them first (scripts/network.sh down)"

# The soak's networks, also for the script's own clean-up.
export NETWORK_ORDERER=raft NETWORK_RAFT_ORDERERS=3 NETWORK_WAN=toxiproxy
export NETWORK_HOME

log "building ehrx-soak and ehrx"
# Apart, as the soak builds `ehrx` again (the same features, so nothing to do).
cargo build --quiet -p ehrx-cli --bin ehrx
binary="$(cargo build --quiet -p ehrx-bench --bin ehrx-soak --message-format=json |
    jq -r 'select(.reason == "compiler-artifact" and .target.name == "ehrx-soak") | .executable // empty')"
[[ -x "$binary" ]] || die "building ehrx-soak failed"

soak_pid=""
forward() { [[ -n "$soak_pid" ]] && kill -TERM "$soak_pid" 2>/dev/null || true; }
# If the binary died before it could, stop what it started: the networks,
# the `ehrx` services (children of the soak, in its process group) and the
# tmpfs.
cleanup() {
    local status=$? mount pidfile pid
    for pidfile in results/soak-*/services/*.pid; do
        [[ -f "$pidfile" ]] || continue
        pid="$(cat "$pidfile")"
        # Only an `ehrx` process this soak started, never a recycled pid.
        if [[ "$pid" =~ ^[0-9]+$ && "$(readlink "/proc/$pid/exe" 2>/dev/null)" == */ehrx ]] &&
            tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qxF "NETWORK_HOME=$NETWORK_HOME"; then
            log "stopping ${pidfile##*/} (pid $pid)"
            kill -KILL "$pid" 2>/dev/null || true
        fi
        rm -f "$pidfile"
    done
    if networks_running; then
        log "stopping the networks the soak left running"
        scripts/network.sh down || true
    fi
    while read -r mount; do
        log "unmounting $mount"
        umount "$mount" || true
    done < <(awk '$3 == "tmpfs" && $2 ~ /\/checkpoint-tmpfs$/ { print $2 }' /proc/mounts | grep -F "$REPO_ROOT/" || true)
    exit "$status"
}
trap forward INT TERM
trap cleanup EXIT

log "running the soak: ${args[*]:-defaults}"
started=$SECONDS
"$binary" "${args[@]}" &
soak_pid=$!
status=0
wait_until_gone "$soak_pid" || status=$?
log "soak finished in $((SECONDS - started))s (exit $status)"
exit "$status"
