#!/usr/bin/env bash
# CPU cost of our Rust SDK and Rust chaincode shim against Fabric's official
# Go implementations doing the same work (DESIGN.md §9, third bullet).
#
#   SDK cost:       client CPU ms per Put submit (waiting for the commit) and
#                   per Get evaluate, our SDK (client-sdk/examples/gateway_load.rs)
#                   against fabric-gateway in Go (bench/go/cmd/gateway-load)
#                   and in Node.js (bench/node/gateway-load.mjs, installed
#                   with npm ci from its lockfile), all three driving the
#                   Rust `showcase` chaincode on network I;
#   chaincode cost: CPU ms of the chaincode server process per transaction,
#                   the Rust `showcase` against fabric-chaincode-go's
#                   `showcase-go` (bench/go/cmd/showcase-go), both driven by
#                   the same client, from the deltas of the processes' CPU
#                   clocks (utime + stime as in /proc/<pid>/stat, but in ns);
#                   the peers' and the orderer's CPU over the same calls for
#                   context.
#
# Rounds are interleaved and alternate their order, so drift in machine load
# hits both sides alike. Results go to results/baseline-<UTC time>/:
# results.json (parameters, versions, every measurement, summary),
# results.csv (one row per measurement) and summary.txt (also printed).
#
# usage: scripts/bench-baseline.sh [--quick] [--rounds R] [--submits N]
#            [--evaluates M] [--concurrency K] [--driver rust|go]
#
# Brings both networks up (scripts/network.sh up) and always down again at
# the end. Honours NETWORK_PORT_BASE and NETWORK_HOME like network.sh.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
source "$REPO_ROOT/scripts/lib/layout.sh"

readonly NET=net1
# Keys every evaluate reads (written once per chaincode before the rounds),
# so all Get phases read the same state.
readonly SEED_PREFIX=seed SEED_KEYS=64

ROUNDS=5 SUBMITS=400 EVALUATES=1500 CONCURRENCY=8 WARMUP=20 VALUE_SIZE=64 DRIVER=rust QUICK=0
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
# --quick sets smaller defaults; other options override them, in any order.
for arg in "$@"; do
    [[ "$arg" == --quick ]] && QUICK=1 ROUNDS=2 SUBMITS=60 EVALUATES=200 CONCURRENCY=4 WARMUP=5
done
while (($#)); do
    case "$1" in
        --quick) ;;
        --rounds) ROUNDS=${2:?}; shift ;;
        --submits) SUBMITS=${2:?}; shift ;;
        --evaluates) EVALUATES=${2:?}; shift ;;
        --concurrency) CONCURRENCY=${2:?}; shift ;;
        --driver) DRIVER=${2:?}; shift ;;
        -h | --help) usage; exit 0 ;;
        *) die "unknown option '$1' (see --help)" ;;
    esac
    shift
done
for n in "$ROUNDS" "$SUBMITS" "$EVALUATES" "$CONCURRENCY"; do
    [[ "$n" =~ ^[1-9][0-9]*$ ]] || die "rounds, submits, evaluates and concurrency must be positive integers"
done
[[ "$DRIVER" == rust || "$DRIVER" == go ]] || die "--driver must be rust or go"

command -v jq >/dev/null || die "'jq' is required (Debian package: jq)"
command -v go >/dev/null || die "Go is required to build the Go baseline"
command -v npm >/dev/null || die "Node.js and npm are required for the Node.js baseline"

readonly STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
readonly OUT="$REPO_ROOT/results/baseline-$STAMP"
readonly RAW="$OUT/measurements.jsonl"
# Build output stays out of results/ (git-ignored target/ holds it).
readonly BIN="$REPO_ROOT/target/bench-go"
mkdir -p "$OUT" "$BIN"
: >"$RAW"
readonly CLK_TCK="$(getconf CLK_TCK)"

# ------------------------------------------------------------------- build

build() {
    "$REPO_ROOT/scripts/install-fabric.sh"
    log "building the Go baseline (bench/go)"
    # go.sum pins every module: no checksum database needed, no newer
    # toolchain fetched, no go.mod edits.
    (cd "$REPO_ROOT/bench/go" && GOTOOLCHAIN=local GOFLAGS="-mod=readonly -buildvcs=false" CGO_ENABLED=0 \
        go build -trimpath -o "$BIN/" ./cmd/showcase-go ./cmd/gateway-load)
    log "building the Rust client (release)"
    local artifacts
    artifacts="$(cd "$REPO_ROOT" && cargo build --quiet --release --message-format=json \
        -p ehrx-client --example gateway_load)"
    RUST_LOAD="$(jq -r 'select(.reason == "compiler-artifact" and .target.name == "gateway_load") | .executable // empty' <<<"$artifacts")"
    [[ -x "$RUST_LOAD" ]] || die "cargo did not report the release binary"
    GO_LOAD="$BIN/gateway-load" GO_SHOWCASE="$BIN/showcase-go"
    local node_dir="$REPO_ROOT/bench/node"
    if ! cmp -s "$node_dir/package-lock.json" "$node_dir/node_modules/.package-lock.json.installed" 2>/dev/null; then
        log "installing the Node.js client (npm ci, bench/node/package-lock.json)"
        (cd "$node_dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
        cp "$node_dir/package-lock.json" "$node_dir/node_modules/.package-lock.json.installed"
    fi
    NODE_LOAD="$node_dir/gateway-load.mjs"
}

# ---------------------------------------------------------------- networks

NETWORK_STARTED=0
cleanup() {
    local rc=$?
    if ((NETWORK_STARTED)); then
        log "stopping the networks"
        "$REPO_ROOT/scripts/network.sh" down || rc=1
    fi
    exit $rc
}

up() {
    # The chaincode servers `up` deploys are release builds, like the Go twin.
    NETWORK_CHAINCODE_PROFILE=release "$REPO_ROOT/scripts/network.sh" up
    NETWORK_STARTED=1
    "$REPO_ROOT/scripts/deploy-chaincode.sh" "$NET" showcase-go "$GO_SHOWCASE"
}

# ------------------------------------------------------------- measurement

pid_of() { cat "$(node_state_dir "$NET" "$1")/pid"; }

# CPU time in ns (user + sys, all threads, exited ones too) of the given
# pids together, from their process CPU clocks (clock_getcpuclockid: clock
# id ((~pid) << 3) | 2). /proc/<pid>/stat counts in 10 ms ticks, too coarse
# for a chaincode's share of a few hundred calls; it is the fallback when
# python3 is missing.
cpu_ns() {
    if command -v python3 >/dev/null; then
        python3 -c 'import sys, time
print(sum(time.clock_gettime_ns(((~int(p)) << 3) | 2) for p in sys.argv[1:]))' "$@" \
            || die "cannot read the CPU clock of $*"
        return
    fi
    local pid total=0 fields
    for pid in "$@"; do
        # Fields after the ")" closing the command name start at field 3.
        fields="$(sed 's/^.*) //' "/proc/$pid/stat")" || die "process $pid is gone"
        read -r -a f <<<"$fields"
        total=$((total + (f[11] + f[12]) * 1000000000 / CLK_TCK))
    done
    echo "$total"
}
ns_ms() { jq -n --argjson ns "$1" '$ns / 1000000'; }

# Runs a load client; its one-line JSON report goes to stdout.
load() { # $1 rust|go|node, rest: flags
    local which=$1 binary
    shift
    case "$which" in
        rust) binary=("$RUST_LOAD") ;;
        go) binary=("$GO_LOAD") ;;
        node) binary=(node "$NODE_LOAD") ;;
    esac
    "${binary[@]}" --network "$(net_dir "$NET")/network.json" --org org1 --user User1 \
        --concurrency "$CONCURRENCY" --value-size "$VALUE_SIZE" "$@" \
        || die "the $which load client failed"
}

# Appends one measurement per phase of a client report, with extra fields.
record() { # $1 report, $2 extra JSON object
    jq -c --argjson extra "$2" '
        . as $r | ["submit", "evaluate"][] as $op | $r[$op] | select(.count > 0)
        | {op: $op, client: $r.client, chaincode: $r.chaincode, count, errors,
           client_cpu_ms: .cpu_ms, client_user_ms: .user_ms, client_sys_ms: .sys_ms,
           wall_ms, first_error: $r.first_error} + $extra' <<<"$1" >>"$RAW"
    local errors
    errors="$(jq '.submit.errors + .evaluate.errors' <<<"$1")"
    ((errors == 0)) || log "warning: $errors failed calls: $(jq -r '.first_error' <<<"$1")"
}

seed() {
    local cc
    for cc in showcase showcase-go; do
        log "seeding $cc with $SEED_KEYS keys (also warms the chaincode and the peers)"
        load rust --chaincode "$cc" --key-prefix "$SEED_PREFIX" --submits "$SEED_KEYS" \
            --evaluates "$SEED_KEYS" --warmup 0 >/dev/null
    done
    local client
    for client in go node; do
        log "warming up the $client client"
        load "$client" --chaincode showcase --submits "$WARMUP" --evaluates "$WARMUP" \
            --get-prefix "$SEED_PREFIX" --get-keys "$SEED_KEYS" --warmup 0 >/dev/null
    done
}

# SDK cost: each client does N submits and M evaluates against showcase.
sdk_run() { # $1 round, $2 rust|go|node
    local report
    log "round $1: SDK cost, $2 client"
    report="$(load "$2" --chaincode showcase --submits "$SUBMITS" --evaluates "$EVALUATES" \
        --warmup "$WARMUP" --get-prefix "$SEED_PREFIX" --get-keys "$SEED_KEYS")"
    record "$report" "$(jq -nc --argjson round "$1" '{round: $round, kind: "sdk"}')"
}

# Chaincode cost: the driver makes N submits (then, separately, M
# evaluates) against one chaincode; the chaincode server's, the peers' and
# the orderer's CPU are sampled around each batch. No warm-up inside a
# batch: the seeding warmed everything, and every call must be counted.
chaincode_run() { # $1 round, $2 chaincode
    local round=$1 cc=$2 ccpid peers=() orderer i op flags report
    ccpid="$(pid_of "chaincode-$cc")"
    orderer="$(pid_of orderer)"
    for i in "${!PEERS[@]}"; do peers+=("$(pid_of "$(peer_host "$NET" "$i")")"); done
    for op in submit evaluate; do
        if [[ $op == submit ]]; then
            flags=(--submits "$SUBMITS" --evaluates 0)
        else
            flags=(--submits 0 --evaluates "$EVALUATES" --get-prefix "$SEED_PREFIX" --get-keys "$SEED_KEYS")
        fi
        log "round $round: chaincode cost, $cc, ${op}s"
        local c0 p0 o0 c1 p1 o1
        c0="$(cpu_ns "$ccpid")" p0="$(cpu_ns "${peers[@]}")" o0="$(cpu_ns "$orderer")"
        report="$(load "$DRIVER" --chaincode "$cc" --warmup 0 "${flags[@]}")"
        c1="$(cpu_ns "$ccpid")" p1="$(cpu_ns "${peers[@]}")" o1="$(cpu_ns "$orderer")"
        record "$report" "$(jq -nc --argjson round "$round" \
            --argjson cc "$(ns_ms $((c1 - c0)))" --argjson peers "$(ns_ms $((p1 - p0)))" \
            --argjson orderer "$(ns_ms $((o1 - o0)))" \
            '{round: $round, kind: "chaincode", chaincode_cpu_ms: $cc,
              peers_cpu_ms: $peers, orderer_cpu_ms: $orderer}')"
    done
}

measure() {
    local round first second client clients
    for ((round = 1; round <= ROUNDS; round++)); do
        # Odd rounds run Rust first, even rounds last.
        if ((round % 2)); then clients=(rust go node); else clients=(go node rust); fi
        for client in "${clients[@]}"; do sdk_run "$round" "$client"; done
        if ((round % 2)); then first=showcase second=showcase-go; else first=showcase-go second=showcase; fi
        chaincode_run "$round" "$first"
        chaincode_run "$round" "$second"
    done
}

# ----------------------------------------------------------------- results

report() {
    local parameters versions
    parameters="$(jq -n --argjson rounds "$ROUNDS" --argjson submits "$SUBMITS" \
        --argjson evaluates "$EVALUATES" --argjson concurrency "$CONCURRENCY" \
        --argjson warmup "$WARMUP" --argjson value_size "$VALUE_SIZE" --arg driver "$DRIVER" \
        --argjson quick "$QUICK" --argjson seed_keys "$SEED_KEYS" --arg network "$NET" \
        '{quick: ($quick == 1), rounds: $rounds, submits: $submits, evaluates: $evaluates,
          concurrency: $concurrency, warmup: $warmup, value_size: $value_size,
          chaincode_driver: $driver, seed_keys: $seed_keys, network: $network,
          peer: "first peer of org1", user: "User1"}')"
    versions="$(jq -n --arg fabric "$(fabric_version)" \
        --arg commit "$(git -C "$REPO_ROOT" rev-parse HEAD)" \
        --arg dirty "$(git -C "$REPO_ROOT" status --porcelain --untracked-files=no | head -c1)" \
        --arg go "$(go env GOVERSION)" --arg rustc "$(rustc --version)" \
        --arg modules "$(cd "$REPO_ROOT/bench/go" && GOTOOLCHAIN=local GOFLAGS=-mod=readonly go list -m \
            github.com/hyperledger/fabric-gateway github.com/hyperledger/fabric-chaincode-go/v2 \
            github.com/hyperledger/fabric-protos-go-apiv2 google.golang.org/grpc)" \
        --arg kernel "$(uname -r)" --argjson cpus "$(nproc)" --arg load "$(cut -d' ' -f1-3 /proc/loadavg)" \
        '{fabric_version: $fabric, git_commit: $commit, git_dirty: ($dirty != ""),
          go: $go, rustc: $rustc, go_modules: ($modules | split("\n")),
          kernel: $kernel, cpus: $cpus, load_average_at_end: $load}')"
    # Per-call figures, then medians over rounds and Rust/Go ratios.
    jq -s --argjson parameters "$parameters" --argjson versions "$versions" --arg started "$STAMP" '
        def median: sort | if length == 0 then null
            elif length % 2 == 1 then .[length / 2 | floor]
            else (.[length / 2 - 1] + .[length / 2]) / 2 end;
        def per(f): if .count > 0 and f != null then f / .count else null end;
        def ratio(a; b): if a != null and b != null and b > 0 then a / b else null end;
        def side(rows; f): [rows[] | f | select(. != null)] | median;
        def compare(rows; key; rust; go; f):
            (rows | map(select(key == rust))) as $r | (rows | map(select(key == go))) as $g
            | {rust: side($r; f), go: side($g; f), ratio: ratio(side($r; f); side($g; f)),
               per_round_ratios: [range(1; $parameters.rounds + 1) as $n
                   | ratio(([$r[] | select(.round == $n) | f] | first);
                           ([$g[] | select(.round == $n) | f] | first))]};
        map(. + {client_cpu_ms_per_call: per(.client_cpu_ms),
                 chaincode_cpu_ms_per_call: per(.chaincode_cpu_ms),
                 peers_cpu_ms_per_call: per(.peers_cpu_ms),
                 orderer_cpu_ms_per_call: per(.orderer_cpu_ms),
                 calls_per_s: (if .wall_ms > 0 then .count * 1000 / .wall_ms else null end)})
        | . as $all
        | {parameters: $parameters, versions: $versions, started: $started,
           measurements: $all,
           summary: {
             errors: ([$all[].errors] | add),
             sdk: ([ "submit", "evaluate" ] | map(. as $op | {key: $op, value:
                 compare([$all[] | select(.kind == "sdk" and .op == $op)]; .client;
                         "rust-sdk"; "go-gateway"; .client_cpu_ms_per_call)}) | from_entries),
             sdk_node: ([ "submit", "evaluate" ] | map(. as $op | {key: $op, value:
                 compare([$all[] | select(.kind == "sdk" and .op == $op)]; .client;
                         "rust-sdk"; "node-gateway"; .client_cpu_ms_per_call)}) | from_entries),
             chaincode: ([ "submit", "evaluate" ] | map(. as $op
                 | [$all[] | select(.kind == "chaincode" and .op == $op)] as $rows
                 | {key: $op, value: (compare($rows; .chaincode; "showcase"; "showcase-go"; .chaincode_cpu_ms_per_call)
                     + {peers: compare($rows; .chaincode; "showcase"; "showcase-go"; .peers_cpu_ms_per_call)})})
                 | from_entries)}}' "$RAW" >"$OUT/results.json"

    jq -r '["round", "kind", "op", "client", "chaincode", "count", "errors", "wall_ms", "calls_per_s",
            "client_cpu_ms", "client_user_ms", "client_sys_ms", "client_cpu_ms_per_call",
            "chaincode_cpu_ms", "chaincode_cpu_ms_per_call", "peers_cpu_ms", "peers_cpu_ms_per_call",
            "orderer_cpu_ms"] as $cols
        | ($cols | @csv), (.measurements[] | [.[$cols[]]] | @csv)' "$OUT/results.json" >"$OUT/results.csv"

    jq -r 'def f: if . == null then "-" else (. * 1000 | round / 1000 | tostring) end;
        def rng: map(select(. != null)) | if length == 0 then "-" else "\(min | f)..\(max | f)" end;
        def line($what; c): "  \($what)  \(c.rust | f)  \(c.go | f)  \(c.ratio | f)  (rounds: \(c.per_round_ratios | rng))";
        .summary as $s | .parameters as $p
        | "CPU baseline, Fabric \(.versions.fabric_version), commit \(.versions.git_commit[0:10])\(if .versions.git_dirty then "+dirty" else "" end), \($p.rounds) rounds of \($p.submits) submits and \($p.evaluates) evaluates, \($p.concurrency) in flight\(if $p.quick then " (quick)" else "" end)",
          "medians over rounds; ratio = Rust / Go of the medians (per-round ratios in brackets)",
          "",
          "SDK cost, client CPU ms per call (Rust SDK vs fabric-gateway Go, against the Rust showcase):",
          "  op        rust  go  ratio",
          line("submit  "; $s.sdk.submit), line("evaluate"; $s.sdk.evaluate),
          "",
          "SDK cost against fabric-gateway for Node.js (client CPU ms per call, against the Rust showcase):",
          "  op        rust  node  ratio",
          line("submit  "; $s.sdk_node.submit), line("evaluate"; $s.sdk_node.evaluate),
          "",
          "Chaincode cost, chaincode process CPU ms per transaction (Rust showcase vs Go showcase-go, driven by the \($p.chaincode_driver) client;",
          "a submit runs Put on one peer of each of the 2 orgs, an evaluate runs Get once):",
          "  op        rust  go  ratio",
          line("submit  "; $s.chaincode.submit), line("evaluate"; $s.chaincode.evaluate),
          "  peers (all 3) CPU ms per transaction over the same calls:",
          line("submit  "; $s.chaincode.submit.peers), line("evaluate"; $s.chaincode.evaluate.peers),
          "",
          "failed calls: \($s.errors)"' "$OUT/results.json" | tee "$OUT/summary.txt"
    log "results in $OUT"
}

main() {
    local started=$SECONDS
    build
    trap cleanup EXIT
    trap 'exit 130' INT TERM
    up
    seed
    measure
    report
    log "benchmark done in $((SECONDS - started))s"
}

main
