#!/usr/bin/env bash
# Hyperledger Caliper (v0.6.0, its Fabric peer-gateway connector on
# @hyperledger/fabric-gateway) driving the throughput benchmark's workloads
# against local network I: the EHR contract's `PutEhr` of a synthetic FHIR
# resource and the showcase's trivial `Put`, at fixed transactions in flight.
#
#   bench/caliper/run.sh                    1, 4 and 16 in flight, 20 s rounds
#   bench/caliper/run.sh --compare          then scripts/bench.sh --bench throughput
#                                           at the same levels and seed, and compare
#   bench/caliper/run.sh --levels 4,16 --workers 2   two Caliper worker processes:
#                                           one Node.js process limits PutEhr at 16 in flight
#
# Installs Caliper from package-lock.json into bench/caliper/node_modules
# (npm ci, install scripts off) and Fabric if needed, builds `ehrx` and
# `ehrx-bench` in release, starts the networks (NETWORK_PORT_BASE and
# NETWORK_HOME as for scripts/network.sh) and always stops them again, also
# on errors or Ctrl-C. Caliper treats the networks as already running (no
# Docker, `--caliper-flow-only-test`). Results: results/caliper-<UTC>/
# (or --out DIR) with Caliper's report.html and log, its generated network
# and benchmark configurations, the per-transaction samples and
# summary.{md,csv,json}; with --compare also ours/ (our benchmark's results).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/common.sh"
source "$REPO_ROOT/scripts/lib/layout.sh"
source "$REPO_ROOT/scripts/lib/process.sh"
cd "$REPO_ROOT"
CALIPER="$REPO_ROOT/bench/caliper"

levels="1,4,16" seconds=20 warmup=20 workers=1 out="" compare=false seed="" bench_transactions=200
usage() { sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; }
while (($#)); do
    case "$1" in
        --levels) levels="$2"; shift 2 ;;
        --seconds) seconds="$2"; shift 2 ;;
        --warmup) warmup="$2"; shift 2 ;;
        --workers) workers="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        --seed) seed="$2"; shift 2 ;;
        --compare) compare=true; shift ;;
        --bench-transactions) bench_transactions="$2"; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) die "unknown option $1 (see --help)" ;;
    esac
done
[[ "$levels" =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ ]] || die "--levels must be e.g. 1,4,16"
for n in "$seconds" "$workers" "$bench_transactions"; do
    [[ "$n" =~ ^[1-9][0-9]{0,4}$ ]] || die "--seconds, --workers and --bench-transactions must be whole numbers from 1"
done
[[ "$warmup" =~ ^[0-9]{1,5}$ ]] || die "--warmup must be a whole number"
seed="${seed:-$(date +%s)}"
[[ "$seed" =~ ^[0-9]{1,19}$ ]] || die "--seed must be a whole number"
most="$(tr ',' '\n' <<<"$levels" | sort -n | tail -1)"
out="${out:-$REPO_ROOT/results/caliper-$(date -u +%Y%m%dT%H%M%SZ)}"
mkdir -p "$out/config"
out="$(cd "$out" && pwd)"
target="${CARGO_TARGET_DIR:-$REPO_ROOT/target}"

# Networks someone else started are theirs: refuse rather than stop them.
networks_running && die "networks are already running in $NETWORK_HOME; stop them first (scripts/network.sh down)"

log "installing Caliper (npm ci, bench/caliper/package-lock.json)"
if ! cmp -s "$CALIPER/package-lock.json" "$CALIPER/node_modules/.package-lock.json.installed" 2>/dev/null; then
    (cd "$CALIPER" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
    cp "$CALIPER/package-lock.json" "$CALIPER/node_modules/.package-lock.json.installed"
fi
log "installing Fabric if needed"
scripts/install-fabric.sh
log "building ehrx and ehrx-bench (release)"
# Separately, as scripts/bench.sh builds ehrx-bench alone: built together
# their features unify differently and --compare would build again.
cargo build --release --quiet -p ehrx-bench
cargo build --release --quiet -p ehrx-cli

cleanup() {
    local status=$?
    trap - EXIT INT TERM
    if networks_running; then
        log "stopping the networks"
        scripts/network.sh down >/dev/null 2>&1 || true
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# One identity per transaction in flight, as in our benchmark.
users_per_org=$(((most + 1) / 2))
((users_per_org >= 3)) || users_per_org=3
log "starting the networks ($users_per_org users per organisation, release chaincode servers)"
NETWORK_USERS_PER_ORG="$users_per_org" NETWORK_CHAINCODE_PROFILE=release scripts/network.sh up >"$out/network-up.log" 2>&1 \
    || { tail -20 "$out/network-up.log" >&2; die "scripts/network.sh up failed (log: $out/network-up.log)"; }
net1="$NETWORK_HOME/net1/network.json"
network_id="$(jq -r .name "$net1")"
admin_msp="$(jq -r '.organizations[0].msp_id' "$net1")"

log "generating Caliper's network configuration from $net1"
node "$CALIPER/lib/cli.js" network "$net1" "$out/config" >"$out/config/identities.json"
node "$CALIPER/lib/cli.js" setup "$out/config/identities.json" "$network_id" "$admin_msp" >"$out/config/setup.json"
log "registering $(jq length "$out/config/identities.json") identities as uploaders (ehrx admin setup)"
"$target/release/ehrx" --network "$net1" --org "$admin_msp" --user Admin admin setup --file "$out/config/setup.json" \
    >"$out/setup.log" 2>&1 || { cat "$out/setup.log" >&2; die "ehrx admin setup failed"; }

# Enough uploads for every round at 150 tx/s, well above what the machine does.
uploads_needed=$((warmup + 150 * seconds * $(tr ',' '\n' <<<"$levels" | wc -l)))
log "exporting $uploads_needed synthetic PutEhr uploads (seed $seed)"
"$target/release/ehrx-bench" --seed "$seed" --export-uploads "$out/config/uploads.json" --export-count "$uploads_needed"

jq -n --argjson levels "[$levels]" --argjson seconds "$seconds" --argjson warmup "$warmup" \
    --argjson workers "$workers" --slurpfile identities "$out/config/identities.json" \
    --arg uploads "$out/config/uploads.json" --arg samplesDir "$out/samples" --arg runId "$seed" \
    '{levels: $levels, seconds: $seconds, warmup: $warmup, workers: $workers, identities: $identities[0],
      uploads: $uploads, samplesDir: $samplesDir, runId: $runId}' >"$out/config/options.json"
node "$CALIPER/lib/cli.js" benchmark "$out/config/options.json" >"$out/config/benchmark.json"

log "running Caliper: $levels in flight, ${seconds}s rounds, $workers worker(s)"
started=$SECONDS
(cd "$CALIPER" && npx --no-install caliper launch manager \
    --caliper-workspace "$CALIPER" \
    --caliper-networkconfig "$out/config/networkconfig.json" \
    --caliper-benchconfig "$out/config/benchmark.json" \
    --caliper-report-path "$out/report.html" \
    --caliper-flow-only-test) >"$out/caliper.log" 2>&1 \
    || { tail -30 "$out/caliper.log" >&2; die "Caliper failed (log: $out/caliper.log)"; }
log "Caliper finished in $((SECONDS - started))s"
[[ -f "$out/report.html" ]] || die "Caliper wrote no report (log: $out/caliper.log)"
log "stopping the networks"
scripts/network.sh down >/dev/null 2>&1

ours_csv=""
if $compare; then
    log "running our benchmark: scripts/bench.sh --bench throughput --levels $levels --seed $seed"
    scripts/bench.sh --bench throughput --levels "$levels" --seed "$seed" \
        --transactions "$bench_transactions" --out "$out/ours"
    ours_csv="$out/ours/throughput.csv"
fi
node "$CALIPER/lib/cli.js" summary "$out" "$out/samples" "$out/report.html" $ours_csv | tee /dev/stderr >/dev/null
log "results in $out"
