#!/usr/bin/env bash
# Starts, inspects and stops the local Fabric networks (net1 = Network I,
# net2 = II, net3 = III, ...) as native processes, no Docker.
#
#   scripts/network.sh up [net...]  generate crypto and channel config, start
#                               each network's orderer(s) and 3 peers, create
#                               and join the channels, deploy the chaincodes
#                               of scripts/lib/layout.sh as external
#                               services, write .network/<net>/network.json
#                               and the relays' configurations (default:
#                               net1 net2, or NETWORK_NAMES)
#   scripts/network.sh add <net>    bring one more network up beside running
#                               ones, without touching them: its nodes,
#                               channel, chaincodes and relay configuration;
#                               the running relays' configuration files get
#                               a route to it and its relays' CA, which they
#                               take on a reload (SIGHUP to `ehrx relay`);
#                               registering it in the lookup tables is the
#                               admins' part (`ehrx admin setup`)
#   scripts/network.sh status   table of nodes, health and block height
#   scripts/network.sh down     stop every process started by `up` and
#                               `add`, by pid, and remove all state
#   scripts/network.sh stop <net>   stop one network's processes (nodes and
#                               chaincode services), by pid, keeping its state
#   scripts/network.sh start <net>  start a stopped network again with its
#                               state, and wait until it is healthy
#   scripts/network.sh kill <net> <node>     SIGKILL one node (orderer,
#                               orderer1.., a peer's host name as in
#                               `status`, or chaincode-<name>) and its
#                               children, keeping its state (fault injection)
#   scripts/network.sh restart <net> <node>  start one killed node again with
#                               its recorded command and wait until it is
#                               healthy (listening, for a chaincode service)
#   scripts/network.sh upgrade <net> <chaincode>  upgrade a live chaincode
#                               as an admin would: the same server binary
#                               under a new package and the next sequence,
#                               the service replaced, its state kept
#
# The layout (names, ports, paths) lives in scripts/lib/layout.sh.
#
# Environment (besides NETWORK_PORT_BASE, NETWORK_HOME and NETWORK_NAMES,
# see layout.sh):
#   NETWORK_USERS_PER_ORG      client users per organisation (default 3, 3 to 199, at
#                              least 3: User3 is the relay); the benchmarks
#                              need one identity per concurrent requester
#   NETWORK_CHAINCODE_PROFILE  cargo profile the chaincode servers are built
#                              with (default dev; the benchmarks use release)
#   NETWORK_WAN=toxiproxy      put an emulated WAN (Toxiproxy) on every
#                              relay-to-relay link (see scripts/lib/wan.sh)
#   NETWORK_BATCH_TIMEOUT      how long the ordering service waits to fill a
#                              block (Raft BatchTimeout, BFT
#                              RequestBatchMaxInterval): 1ms to 10s, e.g.
#                              2s (Fabric's default), 500ms; default 200ms
#   NETWORK_RELAY_MAX_IN_FLIGHT  the relays' max_in_flight (1 to 256; unset:
#                              the relay's default, 16); a relay file written
#                              again (a network joining) keeps its value
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
source "$REPO_ROOT/scripts/lib/layout.sh"
source "$REPO_ROOT/scripts/lib/cli.sh"
source "$REPO_ROOT/scripts/lib/process.sh"
source "$REPO_ROOT/scripts/lib/wan.sh"

readonly TEMPLATES="$REPO_ROOT/fabric-network/templates"
readonly USERS_PER_ORG="${NETWORK_USERS_PER_ORG:-3}"
[[ "$USERS_PER_ORG" =~ ^[1-9][0-9]{0,2}$ ]] && ((USERS_PER_ORG >= 3 && USERS_PER_ORG <= 199)) ||
    die "NETWORK_USERS_PER_ORG must be a number from 3 to 199, not '$USERS_PER_ORG'"
readonly CHAINCODE_PROFILE="${NETWORK_CHAINCODE_PROFILE:-dev}"
[[ "$CHAINCODE_PROFILE" =~ ^[a-z][a-z0-9_-]*$ ]] ||
    die "NETWORK_CHAINCODE_PROFILE must be a cargo profile name, not '$CHAINCODE_PROFILE'"
readonly RELAY_MAX_IN_FLIGHT="${NETWORK_RELAY_MAX_IN_FLIGHT:-}"
[[ -z "$RELAY_MAX_IN_FLIGHT" ]] || { [[ "$RELAY_MAX_IN_FLIGHT" =~ ^[1-9][0-9]{0,2}$ ]] &&
    ((RELAY_MAX_IN_FLIGHT <= 256)); } ||
    die "NETWORK_RELAY_MAX_IN_FLIGHT must be a number from 1 to 256, not '$RELAY_MAX_IN_FLIGHT'"
readonly ORDERER_BATCH_TIMEOUT="${NETWORK_BATCH_TIMEOUT:-200ms}"
[[ "$ORDERER_BATCH_TIMEOUT" =~ ^([1-9][0-9]{0,3}ms|([1-9]|10)s)$ ]] ||
    die "NETWORK_BATCH_TIMEOUT must be from 1ms to 9999ms or 1s to 10s (e.g. 2s, 500ms), not '$ORDERER_BATCH_TIMEOUT'"
readonly HEALTH_TIMEOUT_S=30
# Each org's Ed25519 client user comes after its ECDSA users.
readonly ED25519_USER="User$((USERS_PER_ORG + 1))"

# V3_0 on Fabric 3 (Ed25519 identities, BFT ordering); V2_0 on 2.5 LTS.
channel_capability() { [[ "$(fabric_major)" -ge 3 ]] && echo V3_0 || echo V2_0; }

need_cmd() {
    command -v "$1" >/dev/null 2>&1 || die "'$1' is required (Debian package: $2)"
}

healthy() { # $1 operations port
    curl -fsS --max-time 2 "http://127.0.0.1:$1/healthz" >/dev/null 2>&1
}

wait_healthy() { # $1 net, $2 node name, $3 operations port
    local deadline=$((SECONDS + HEALTH_TIMEOUT_S)) pid
    pid="$(cat "$(node_state_dir "$1" "$2")/pid")"
    until healthy "$3"; do
        kill -0 "$pid" 2>/dev/null || die "$2 ($1) exited; see $(node_state_dir "$1" "$2")/node.log"
        ((SECONDS < deadline)) || die "$2 ($1) not healthy after ${HEALTH_TIMEOUT_S}s; see $(node_state_dir "$1" "$2")/node.log"
        sleep 0.2
    done
}

# ------------------------------------------------------------ configuration

render() { # $1 template, $2 output; variables come from the environment
    envsubst <"$1" >"$2"
}

# cryptogen Specs lines for the network's orderers.
orderer_specs() { # $1 net
    local k
    for k in $(orderer_indices); do
        printf '      - Hostname: %s\n        SANS: [127.0.0.1, localhost]\n' "$(orderer_name "$1" "$k")"
    done
}

# The orderer org's OrdererEndpoints: every orderer, so that clients and
# peers can reach each of them (BFT needs all of them).
orderer_endpoints() { # $1 net
    local k
    for k in $(orderer_indices); do printf '      - 127.0.0.1:%s\n' "$(orderer_port "$1" "$k")"; done
}

# The consensus part of configtx.yaml's Orderer section.
orderer_consensus() { # $1 net
    local net=$1 k tls
    if [[ "$ORDERER_TYPE" == raft ]]; then
        printf '  OrdererType: etcdraft\n  EtcdRaft:\n    Consenters:\n'
        for k in $(orderer_indices); do
            tls="$(orderer_node_dir "$net" "$k")/tls/server.crt"
            printf '      - { Host: 127.0.0.1, Port: %s, ClientTLSCert: %s, ServerTLSCert: %s }\n' \
                "$(orderer_port "$net" "$k")" "$tls" "$tls"
        done
        # Short Raft ticks: a leader is elected within about a second.
        printf '    Options: { TickInterval: 100ms, ElectionTick: 10, HeartbeatTick: 1, MaxInflightBlocks: 5, SnapshotIntervalSize: 16 MB }\n'
    else
        printf '  OrdererType: BFT\n  ConsenterMapping:\n'
        for k in $(orderer_indices); do
            tls="$(orderer_node_dir "$net" "$k")/tls/server.crt"
            printf '    - { ID: %s, Host: 127.0.0.1, Port: %s, MSPID: %s, Identity: %s, ClientTLSCert: %s, ServerTLSCert: %s }\n' \
                $((k + 1)) "$(orderer_port "$net" "$k")" "$(msp_id "$net" orderer)" \
                "$(orderer_node_dir "$net" "$k")/msp/signcerts/$(orderer_host "$net" "$k")-cert.pem" "$tls" "$tls"
        done
        # SmartBFT's defaults wait 20 s before suspecting a leader; a local
        # network cuts a block every 200 ms like the Raft one.
        printf '  SmartBFT:\n'
        printf '    RequestBatchMaxInterval: %s\n    RequestForwardTimeout: 2s\n    RequestComplainTimeout: 8s\n' "$ORDERER_BATCH_TIMEOUT"
        printf '    RequestAutoRemoveTimeout: 3m0s\n    ViewChangeResendInterval: 5s\n    ViewChangeTimeout: 20s\n'
        printf '    LeaderHeartbeatTimeout: 1m0s\n    LeaderHeartbeatCount: 10\n    CollectTimeout: 1s\n'
        printf '    IncomingMessageBufferSize: 200\n    RequestPoolSize: 100000\n'
    fi
}

render_crypto_config() { # $1 net, $2 output, $3 user count, $4 user key algorithm line
    NET_DOMAIN="$(net_domain "$1")" ORDERER_SPECS="$(orderer_specs "$1")" \
        ORG1_DOMAIN="$(org_domain "$1" org1)" ORG2_DOMAIN="$(org_domain "$1" org2)" \
        ORG1_PEERS="$(org_peer_count "$1" org1)" ORG2_PEERS="$(org_peer_count "$1" org2)" \
        USER_COUNT="$3" USER_KEY_ALGORITHM="$4" CCAAS_DOMAIN="$(ccaas_domain "$1")" \
        RELAY_DOMAIN="$(relay_domain "$1")" \
        render "$TEMPLATES/crypto-config.yaml.tmpl" "$2"
}

# Each org's Ed25519 client user, User<USERS_PER_ORG+1>. Fabric 3's cryptogen
# makes it. Fabric 2.5 has no Ed25519 MSP identities at all; there the user
# is still made, by openssl from the org's CA, so that tests can show the
# refusal an admin would meet.
make_ed25519_users() { # $1 net
    local net=$1 cfg org dir name
    cfg="$(net_dir "$net")/config"
    if [[ "$(fabric_major)" -ge 3 ]]; then
        render_crypto_config "$net" "$cfg/crypto-config-ed25519.yaml" $((USERS_PER_ORG + 1)) "PublicKeyAlgorithm: ed25519"
        fabric cryptogen extend --config="$cfg/crypto-config-ed25519.yaml" --input="$(crypto_dir "$net")" >/dev/null
        return
    fi
    for org in "${PEER_ORGS[@]}"; do
        name="$ED25519_USER@$(org_domain "$net" "$org")"
        dir="$(org_user_dir "$net" "$org" "$ED25519_USER")"
        local ca="$(peer_org_dir "$net" "$org")/ca" msp="$dir/msp"
        mkdir -p "$msp/signcerts" "$msp/keystore" "$msp/cacerts" "$dir/tls"
        openssl genpkey -algorithm ed25519 -out "$msp/keystore/priv_sk" 2>/dev/null
        openssl req -new -key "$msp/keystore/priv_sk" -subj "/C=US/ST=California/L=San Francisco/OU=client/CN=$name" \
            -out "$cfg/$name.csr" 2>/dev/null
        printf 'keyUsage=critical,digitalSignature\nbasicConstraints=critical,CA:FALSE\n' >"$cfg/$name.ext"
        openssl x509 -req -in "$cfg/$name.csr" -CA "$ca/ca.$(org_domain "$net" "$org")-cert.pem" -CAkey "$ca/priv_sk" \
            -days 3650 -sha256 -extfile "$cfg/$name.ext" -out "$msp/signcerts/$name-cert.pem" 2>/dev/null
        cp "$ca/ca.$(org_domain "$net" "$org")-cert.pem" "$msp/cacerts/"
        cp "$(peer_org_dir "$net" "$org")/msp/config.yaml" "$msp/config.yaml"
        # TLS: the user's ECDSA client pair of User1, so only the signing key differs.
        cp "$(org_user_dir "$net" "$org" User1)"/tls/* "$dir/tls/"
    done
}

generate_config() { # $1 net
    local net=$1 cfg
    cfg="$(net_dir "$net")/config"
    mkdir -p "$cfg"

    render_crypto_config "$net" "$cfg/crypto-config.yaml" "$USERS_PER_ORG" ""
    fabric cryptogen generate --config="$cfg/crypto-config.yaml" --output="$(crypto_dir "$net")" >/dev/null
    make_ed25519_users "$net"

    ORDERER_MSP="$(msp_id "$net" orderer)" ORDERER_MSP_DIR="$(orderer_org_dir "$net")/msp" \
        ORDERER_ENDPOINTS="$(orderer_endpoints "$net")" ORDERER_CONSENSUS="$(orderer_consensus "$net")" \
        ORG1_MSP="$(msp_id "$net" org1)" ORG1_MSP_DIR="$(peer_org_dir "$net" org1)/msp" \
        ORG2_MSP="$(msp_id "$net" org2)" ORG2_MSP_DIR="$(peer_org_dir "$net" org2)/msp" \
        ORG1_ANCHOR_PORT="$(org_anchor_port "$net" org1)" ORG2_ANCHOR_PORT="$(org_anchor_port "$net" org2)" \
        CHANNEL_CAPABILITY="$(channel_capability)" BATCH_TIMEOUT="$ORDERER_BATCH_TIMEOUT" \
        render "$TEMPLATES/configtx.yaml.tmpl" "$cfg/configtx.yaml"
    FABRIC_CFG_PATH="$cfg" fabric configtxgen -profile EhrChannel -channelID "$CHANNEL" \
        -outputBlock "$cfg/$CHANNEL.block" 2>"$cfg/configtxgen.log" \
        || die "configtxgen failed for $net; see $cfg/configtxgen.log"
}

# ------------------------------------------------------------------- nodes

start_orderer() { # $1 net, $2 orderer index
    local net=$1 k=$2 node tls state name
    name="$(orderer_name "$net" "$k")"
    node="$(orderer_node_dir "$net" "$k")"
    tls="$node/tls"
    state="$(node_state_dir "$net" "$name")"
    start_node "$net" "$name" \
        FABRIC_CFG_PATH="$FABRIC_CONFIG_DIR" \
        FABRIC_LOGGING_SPEC=info \
        ORDERER_GENERAL_LISTENADDRESS=127.0.0.1 \
        ORDERER_GENERAL_LISTENPORT="$(orderer_port "$net" "$k")" \
        ORDERER_GENERAL_LOCALMSPID="$(msp_id "$net" orderer)" \
        ORDERER_GENERAL_LOCALMSPDIR="$node/msp" \
        ORDERER_GENERAL_BOOTSTRAPMETHOD=none \
        ORDERER_GENERAL_TLS_ENABLED=true \
        ORDERER_GENERAL_TLS_PRIVATEKEY="$tls/server.key" \
        ORDERER_GENERAL_TLS_CERTIFICATE="$tls/server.crt" \
        ORDERER_GENERAL_TLS_ROOTCAS="[$tls/ca.crt]" \
        ORDERER_GENERAL_CLUSTER_CLIENTPRIVATEKEY="$tls/server.key" \
        ORDERER_GENERAL_CLUSTER_CLIENTCERTIFICATE="$tls/server.crt" \
        ORDERER_GENERAL_CLUSTER_ROOTCAS="[$tls/ca.crt]" \
        ORDERER_CHANNELPARTICIPATION_ENABLED=true \
        ORDERER_ADMIN_LISTENADDRESS="127.0.0.1:$(orderer_admin_port "$net" "$k")" \
        ORDERER_ADMIN_TLS_ENABLED=true \
        ORDERER_ADMIN_TLS_PRIVATEKEY="$tls/server.key" \
        ORDERER_ADMIN_TLS_CERTIFICATE="$tls/server.crt" \
        ORDERER_ADMIN_TLS_ROOTCAS="[$tls/ca.crt]" \
        ORDERER_ADMIN_TLS_CLIENTAUTHREQUIRED=true \
        ORDERER_ADMIN_TLS_CLIENTROOTCAS="[$tls/ca.crt]" \
        ORDERER_OPERATIONS_LISTENADDRESS="127.0.0.1:$(orderer_ops_port "$net" "$k")" \
        ORDERER_METRICS_PROVIDER=disabled \
        ORDERER_FILELEDGER_LOCATION="$state/ledger" \
        ORDERER_CONSENSUS_WALDIR="$state/consensus/wal" \
        ORDERER_CONSENSUS_SNAPDIR="$state/consensus/snapshot" \
        "$FABRIC_BIN_DIR/orderer"
}

start_peer() { # $1 net, $2 peer index
    local net=$1 i=$2 host node state org
    host="$(peer_host "$net" "$i")"
    org="$(peer_org "$net" "$i")"
    node="$(peer_node_dir "$net" "$i")"
    state="$(node_state_dir "$net" "$host")"
    start_node "$net" "$host" \
        FABRIC_CFG_PATH="$FABRIC_CONFIG_DIR" \
        FABRIC_LOGGING_SPEC=info \
        CORE_PEER_ID="$host" \
        CORE_PEER_ADDRESS="127.0.0.1:$(peer_port "$net" "$i")" \
        CORE_PEER_LISTENADDRESS="127.0.0.1:$(peer_port "$net" "$i")" \
        CORE_PEER_CHAINCODEADDRESS="127.0.0.1:$(peer_chaincode_port "$net" "$i")" \
        CORE_PEER_CHAINCODELISTENADDRESS="127.0.0.1:$(peer_chaincode_port "$net" "$i")" \
        CORE_PEER_GOSSIP_BOOTSTRAP="$(peer_gossip_bootstrap "$net" "$i")" \
        CORE_PEER_GOSSIP_EXTERNALENDPOINT="127.0.0.1:$(peer_port "$net" "$i")" \
        CORE_PEER_GOSSIP_RECONNECTINTERVAL=3s \
        CORE_PEER_LOCALMSPID="$(msp_id "$net" "$org")" \
        CORE_PEER_MSPCONFIGPATH="$node/msp" \
        CORE_PEER_TLS_ENABLED=true \
        CORE_PEER_TLS_CERT_FILE="$node/tls/server.crt" \
        CORE_PEER_TLS_KEY_FILE="$node/tls/server.key" \
        CORE_PEER_TLS_ROOTCERT_FILE="$node/tls/ca.crt" \
        CORE_PEER_FILESYSTEMPATH="$state/data" \
        CORE_PEER_GATEWAY_ENABLED=true \
        CORE_LEDGER_SNAPSHOTS_ROOTDIR="$state/snapshots" \
        CORE_OPERATIONS_LISTENADDRESS="127.0.0.1:$(peer_ops_port "$net" "$i")" \
        CORE_METRICS_PROVIDER=disabled \
        CORE_CHAINCODE_EXTERNALBUILDERS="[{name: ccaas, path: $CCAAS_BUILDER_DIR}]" \
        "$FABRIC_BIN_DIR/peer" node start
}

orderer_height() { # $1 net, $2 orderer index
    osnadmin_cmd "$1" "${2:-0}" list --channelID "$CHANNEL" 2>/dev/null | sed -n '/^{/,$p' | jq -r '.height // empty'
}

peer_height() { # $1 net, $2 peer index
    peer_as "$1" "$2" Admin channel getinfo -c "$CHANNEL" 2>/dev/null \
        | sed -n 's/^Blockchain info: //p' | jq -r '.height // empty'
}

join_channel() { # $1 net
    local net=$1 block i k
    block="$(net_dir "$net")/config/$CHANNEL.block"
    for k in $(orderer_indices); do
        osnadmin_cmd "$net" "$k" join --channelID "$CHANNEL" --config-block "$block" >/dev/null \
            || die "$(orderer_name "$net" "$k") of $net did not join $CHANNEL"
    done
    for i in "${!PEERS[@]}"; do
        peer_as "$net" "$i" Admin channel join -b "$block" 2>>"$(net_dir "$net")/join.log" \
            || die "$(peer_host "$net" "$i") did not join $CHANNEL; see $(net_dir "$net")/join.log"
    done
}

# Waits until every peer has the orderer's height, i.e. has the channel.
wait_channel_synced() { # $1 net
    local net=$1 deadline=$((SECONDS + HEALTH_TIMEOUT_S)) want i h
    while :; do
        want="$(orderer_height "$net" || true)"
        local synced=1
        for i in "${!PEERS[@]}"; do
            h="$(peer_height "$net" "$i" || true)"
            [[ -n "$want" && "$h" == "$want" ]] || synced=0
        done
        ((synced)) && return 0
        ((SECONDS < deadline)) || die "peers of $net did not reach the orderer's height ($want) in ${HEALTH_TIMEOUT_S}s"
        sleep 0.3
    done
}

# --------------------------------------------------------------- chaincode

# Builds a chaincode server ($1: `-p <package> --example <x>` or
# `-p <package> --bin <x>`) with NETWORK_CHAINCODE_PROFILE and prints its
# path, as cargo reports it.
build_chaincode() { # $1 cargo target
    local target=${1##* }
    # shellcheck disable=SC2086
    (cd "$REPO_ROOT" && cargo build --quiet --profile "$CHAINCODE_PROFILE" $1 --message-format=json) \
        | jq -r --arg name "$target" 'select(.reason == "compiler-artifact" and .target.name == $name) | .executable // empty'
}

deploy_chaincodes() { # $@ nets
    local entry name binary net pids=()
    for entry in "${CHAINCODES[@]}"; do
        name="$(chaincode_name "$entry")"
        binary="$(build_chaincode "$(chaincode_target "$entry")")"
        [[ -x "$binary" ]] || die "building chaincode $name failed"
        # All networks at once: each deployment waits on its own orderer.
        for net in "$@"; do
            "$REPO_ROOT/scripts/deploy-chaincode.sh" "$net" "$name" "$binary" &
            pids+=($!)
        done
        for pid in "${pids[@]}"; do wait "$pid" || die "deploying chaincode $name failed"; done
    done
}

# ------------------------------------------------------------------- relay

# The network's Ed25519 key (a 32-byte secret, hex, owner-only; made once)
# and a relay configuration with a route to every other network's relay,
# admitting their relays' client certificates (a bundle of their CAs),
# ready for `Relay::run` / `ehrx relay --config`. Written again when a
# network joins; a running relay takes the new file on a reload.
write_relay_config() { # $1 net
    local net=$1 dir other remotes="{}" window="$RELAY_MAX_IN_FLIGHT"
    dir="$(relay_dir "$net")"
    mkdir -p "$dir"
    # A running relay refuses a reload that changes its window, so a file
    # written again keeps the one it has.
    [[ -n "$window" || ! -s "$dir/relay.json" ]] || window="$(jq -r '.max_in_flight // empty' "$dir/relay.json")"
    [[ -s "$dir/network-key.hex" ]] ||
        (umask 077 && head -c 32 /dev/urandom | xxd -p -c 64 >"$dir/network-key.hex")
    : >"$dir/client-cas.pem.new"
    for other in "${NETWORKS[@]}"; do
        [[ "$other" == "$net" ]] && continue
        cat "$(relay_server_tls_dir "$other")/ca.crt" >>"$dir/client-cas.pem.new"
        remotes="$(jq -c --arg id "$other" --arg address "$(relay_remote_address "$net" "$other")" \
            --arg ca "$(relay_server_tls_dir "$other")/ca.crt" --arg name "relay.$(relay_domain "$other")" \
            '. + {($id): {address: $address, tls_ca: $ca, server_name: $name}}' <<<"$remotes")"
    done
    jq -n --arg network_id "$net" --arg description "$(net_dir "$net")/network.json" \
        --arg msp_id "$(msp_id "$net" org1)" --arg user "$RELAY_USER" \
        --arg key "$dir/network-key.hex" \
        --arg listen "127.0.0.1:$(relay_port "$net")" \
        --arg server_cert "$(relay_server_tls_dir "$net")/server.crt" \
        --arg server_key "$(relay_server_tls_dir "$net")/server.key" \
        --arg client_ca "$dir/client-cas.pem" \
        --arg client_cert "$(relay_client_tls_dir "$net")/client.crt" \
        --arg client_key "$(relay_client_tls_dir "$net")/client.key" \
        --arg checkpoint "$dir/checkpoint.json" --arg health "127.0.0.1:$(relay_health_port "$net")" \
        --argjson remotes "$remotes" --arg window "$window" \
        '{network_id: $network_id, network_description: $description,
          identity: {msp_id: $msp_id, user: $user}, chaincode: "ehrx", network_key_file: $key,
          listen: {address: $listen, tls_cert: $server_cert, tls_key: $server_key, client_ca: $client_ca},
          client_tls: {cert: $client_cert, key: $client_key}, remotes: $remotes,
          checkpoint_file: $checkpoint, health_address: $health,
          retry: {initial_ms: 200, max_ms: 5000}, deliver_timeout_ms: 60000}
         + if $window == "" then {} else {max_in_flight: ($window | tonumber)} end' >"$dir/relay.json.new"
    # Each file replaced whole, so a reload never reads half of one.
    mv "$dir/client-cas.pem.new" "$dir/client-cas.pem"
    mv "$dir/relay.json.new" "$dir/relay.json"
}

# Waits until every peer of $1 sees all the channel's other peers in gossip.
# The gateway finds endorsers of other organisations through this view
# (service discovery), so a transaction endorsed by both organisations
# fails with "no combination of peers" until it has converged. Fabric
# reports the view only in its log: "[<channel>] Membership view has
# changed ... current view: [[<endpoint>] ...]".
wait_gossip_converged() { # $1 net
    local net=$1 deadline=$((SECONDS + 60)) i j view missing
    while :; do
        missing=""
        for i in "${!PEERS[@]}"; do
            view="$(grep -F "[$CHANNEL] Membership view has changed" \
                "$(node_state_dir "$net" "$(peer_host "$net" "$i")")/node.log" | tail -n1 || true)"
            for j in "${!PEERS[@]}"; do
                [[ $i == "$j" ]] && continue
                [[ "${view#*current view:}" == *"[127.0.0.1:$(peer_port "$net" "$j")"* ]] \
                    || missing="$(peer_host "$net" "$i") does not see $(peer_host "$net" "$j")"
            done
        done
        [[ -z "$missing" ]] && return 0
        ((SECONDS < deadline)) || die "$(net_title "$net"): gossip did not converge in 60s: $missing"
        sleep 0.5
    done
}

# ------------------------------------------------------------- description

# The JSON description of a network read by the SDK, the tests and scripts.
write_description() { # $1 net
    local net=$1 orgs="[]" org i
    for org in "${PEER_ORGS[@]}"; do
        local peers="[]" users="[]" u
        for i in "${!PEERS[@]}"; do
            [[ "$(peer_org "$net" "$i")" == "$org" ]] || continue
            peers="$(jq -c --arg name "$(peer_host "$net" "$i")" \
                --arg address "127.0.0.1:$(peer_port "$net" "$i")" \
                --arg chaincode_address "127.0.0.1:$(peer_chaincode_port "$net" "$i")" \
                --arg operations_address "127.0.0.1:$(peer_ops_port "$net" "$i")" \
                --arg tls_ca "$(peer_node_dir "$net" "$i")/tls/ca.crt" \
                '. + [{name: $name, address: $address, server_name: $name,
                       chaincode_address: $chaincode_address,
                       operations_address: $operations_address, tls_ca_cert: $tls_ca}]' <<<"$peers")"
        done
        for u in Admin $(seq -f 'User%g' 1 $USERS_PER_ORG) "$ED25519_USER"; do
            local dir key_type=p256
            [[ "$u" == "$ED25519_USER" ]] && key_type=ed25519
            dir="$(org_user_dir "$net" "$org" "$u")"
            users="$(jq -c --arg name "$u" --arg key_type "$key_type" --arg msp "$dir/msp" \
                --arg cert "$(ls "$dir"/msp/signcerts/*.pem)" --arg key "$dir/msp/keystore/priv_sk" \
                --arg tls_cert "$dir/tls/client.crt" --arg tls_key "$dir/tls/client.key" \
                '. + [{name: $name, role: (if $name == "Admin" then "admin" else "client" end),
                       key_type: $key_type, msp_dir: $msp, cert: $cert, key: $key,
                       tls_cert: $tls_cert, tls_key: $tls_key}]' <<<"$users")"
        done
        orgs="$(jq -c --arg name "$org" --arg msp_id "$(msp_id "$net" "$org")" \
            --arg domain "$(org_domain "$net" "$org")" \
            --arg msp_dir "$(peer_org_dir "$net" "$org")/msp" \
            --arg ca "$(peer_org_dir "$net" "$org")/ca/ca.$(org_domain "$net" "$org")-cert.pem" \
            --arg tls_ca "$(peer_org_dir "$net" "$org")/tlsca/tlsca.$(org_domain "$net" "$org")-cert.pem" \
            --argjson peers "$peers" --slurpfile users <(printf '%s' "$users") \
            '. + [{name: $name, msp_id: $msp_id, domain: $domain, msp_dir: $msp_dir,
                   ca_cert: $ca, tls_ca_cert: $tls_ca, peers: $peers, users: $users[0]}]' <<<"$orgs")"
    done
    local orderers="[]" oadmin k
    oadmin="$(orderer_admin_dir "$net")/tls"
    for k in $(orderer_indices); do
        orderers="$(jq -c --arg name "$(orderer_host "$net" "$k")" --arg msp "$(msp_id "$net" orderer)" \
            --arg addr "127.0.0.1:$(orderer_port "$net" "$k")" \
            --arg admin_addr "127.0.0.1:$(orderer_admin_port "$net" "$k")" \
            --arg ops "127.0.0.1:$(orderer_ops_port "$net" "$k")" \
            --arg tls "$(orderer_node_dir "$net" "$k")/tls/ca.crt" \
            --arg admin_cert "$oadmin/client.crt" --arg admin_key "$oadmin/client.key" \
            '. + [{name: $name, msp_id: $msp, address: $addr, server_name: $name,
                   admin_address: $admin_addr, operations_address: $ops, tls_ca_cert: $tls,
                   admin_tls_cert: $admin_cert, admin_tls_key: $admin_key}]' <<<"$orderers")"
    done
    # The organisations go through stdin: with many users they exceed the
    # size of one command-line argument.
    jq --arg name "$net" --arg title "$(net_title "$net")" --arg channel "$CHANNEL" \
        --arg fabric_version "$(fabric_version)" --arg capability "$(channel_capability)" \
        --arg orderer_type "$ORDERER_TYPE" --argjson orderers "$orderers" \
        '{name: $name, title: $title, channel: $channel, fabric_version: $fabric_version,
          channel_capability: $capability, orderer_type: $orderer_type, orderers: $orderers,
          organizations: .}' <<<"$orgs" >"$(net_dir "$net")/network.json"
}

# ------------------------------------------------------------------ commands

any_running() {
    local pid
    for pid in $(recorded_pids); do kill -0 "$pid" 2>/dev/null && return 0; done
    return 1
}

# Starts the nodes of networks $@ (already configured) and waits until
# every one is healthy.
start_networks() { # $@ nets
    local net i k
    for net in "$@"; do
        for k in $(orderer_indices); do start_orderer "$net" "$k"; done
        for i in "${!PEERS[@]}"; do start_peer "$net" "$i"; done
    done
    for net in "$@"; do
        for k in $(orderer_indices); do
            wait_healthy "$net" "$(orderer_name "$net" "$k")" "$(orderer_ops_port "$net" "$k")"
        done
        for i in "${!PEERS[@]}"; do wait_healthy "$net" "$(peer_host "$net" "$i")" "$(peer_ops_port "$net" "$i")"; done
        log "$(net_title "$net"): $ORDERER_COUNT $ORDERER_TYPE orderer(s) and ${#PEERS[@]} peers healthy"
    done
}

# Joins the channel on networks $@ and writes their descriptions.
join_networks() { # $@ nets
    local net
    for net in "$@"; do
        join_channel "$net"
        wait_channel_synced "$net"
        write_description "$net"
        log "$(net_title "$net"): channel $CHANNEL joined by all peers; $(net_dir "$net")/network.json"
    done
}

check_tools() {
    need_cmd jq jq
    need_cmd envsubst gettext-base
    need_cmd curl curl
    need_cmd setsid util-linux
    need_cmd xxd xxd
    # The active release, unless FABRIC_RELEASE picks another.
    FABRIC_RELEASE="${FABRIC_RELEASE:-$(cat "$FABRIC_HOME/VERSION" 2>/dev/null || echo 3.1.5)}" \
        "$REPO_ROOT/scripts/install-fabric.sh"
    if [[ "$ORDERER_TYPE" == bft && "$(fabric_major)" -lt 3 ]]; then
        die "NETWORK_ORDERER=bft needs Fabric 3 (the V3_0 channel capability); Fabric $(fabric_version) is installed"
    fi
}

cmd_up() { # $@ nets (default: NETWORK_NAMES, else net1 net2)
    local net
    # Never the list of an earlier run that was not taken down.
    if (($#)); then NETWORKS=("$@"); else read -r -a NETWORKS <<<"${NETWORK_NAMES:-net1 net2}"; fi
    ((${#NETWORKS[@]} >= 2)) || die "up needs at least two networks, not '${NETWORKS[*]}'"
    for net in "${NETWORKS[@]}"; do
        valid_network "$net" || die "unknown network '$net' (net1 to net$MAX_NETWORKS)"
    done
    [[ "$(printf '%s\n' "${NETWORKS[@]}" | sort -u | wc -l)" == "${#NETWORKS[@]}" ]] ||
        die "a network is listed twice: ${NETWORKS[*]}"
    check_tools
    if any_running; then die "networks are already running; run '$0 down' first"; fi
    rm -rf "$NETWORK_HOME"
    mkdir -p "$NETWORK_HOME"
    echo "${NETWORKS[*]}" >"$NETWORK_LIST_FILE"
    local started=$SECONDS
    # Half-started networks are torn down, so a failed `up` leaves nothing behind.
    trap 'log "up failed; stopping what was started"; cmd_down' EXIT
    for net in "${NETWORKS[@]}"; do
        log "$(net_title "$net"): generating crypto material and channel config"
        generate_config "$net"
    done
    start_networks "${NETWORKS[@]}"
    join_networks "${NETWORKS[@]}"
    for net in "${NETWORKS[@]}"; do write_relay_config "$net"; done
    deploy_chaincodes "${NETWORKS[@]}"
    [[ "$WAN_MODE" == off ]] || start_wan
    for net in "${NETWORKS[@]}"; do wait_gossip_converged "$net"; done
    trap - EXIT
    log "${#NETWORKS[@]} networks up in $((SECONDS - started))s (${NETWORKS[*]}; Fabric $(fabric_version), $(channel_capability), $ORDERER_COUNT $ORDERER_TYPE orderer(s) each)"
}

# Stops and removes network $1 alone, after a failed `add`.
forget_network() { # $1 net
    local pids kept=() n
    mapfile -t pids < <(network_pids "$1")
    stop_nodes "${pids[@]}"
    rm -rf "$(net_dir "$1")"
    for n in "${NETWORKS[@]}"; do [[ "$n" == "$1" ]] || kept+=("$n"); done
    echo "${kept[*]}" >"$NETWORK_LIST_FILE"
}

cmd_add() { # $1 net
    local net=$1 other pid
    valid_network "$net" || die "unknown network '$net' (net1 to net$MAX_NETWORKS)"
    [[ -f "$NETWORK_LIST_FILE" ]] || die "no networks are up: run '$0 up' first"
    for other in "${NETWORKS[@]}"; do
        [[ "$other" == "$net" ]] && die "$net is already one of the networks (${NETWORKS[*]})"
        for pid in $(network_pids "$other"); do
            kill -0 "$pid" 2>/dev/null || die "network $other is not running (pid $pid); start it first"
        done
    done
    check_tools
    local started=$SECONDS
    NETWORKS+=("$net")
    echo "${NETWORKS[*]}" >"$NETWORK_LIST_FILE"
    # A failed `add` takes only the new network down again.
    trap 'log "add failed; stopping $net"; forget_network "$net"' EXIT
    log "$(net_title "$net"): generating crypto material and channel config"
    generate_config "$net"
    start_networks "$net"
    join_networks "$net"
    # Its relay's configuration, then a route to it (and its relays' CA)
    # in every other relay's file; the running relays take it on a reload.
    for other in "${NETWORKS[@]}"; do write_relay_config "$other"; done
    deploy_chaincodes "$net"
    [[ "$WAN_MODE" == off ]] || wan_add_network "$net"
    wait_gossip_converged "$net"
    trap - EXIT
    log "$(net_title "$net") joined in $((SECONDS - started))s; networks now ${NETWORKS[*]}; reload the running relays (SIGHUP) to route to it"
}

cmd_down() {
    local pids
    mapfile -t pids < <(recorded_pids)
    stop_nodes "${pids[@]}"
    rm -rf "$NETWORK_HOME"
    log "stopped ${#pids[@]} processes and removed $NETWORK_HOME"
}

cmd_status() {
    need_cmd jq jq
    printf '%-8s %-34s %-16s %-9s %-8s %s\n' NETWORK NODE ADDRESS HEALTH HEIGHT PID
    local net i k entry name rc=0
    for net in "${NETWORKS[@]}"; do
        row() { # name address operations-port height; no operations port: TCP check
            local pid health=down
            pid="$(cat "$(node_state_dir "$net" "$1")/pid" 2>/dev/null || echo -)"
            if [[ -n "$3" ]]; then
                healthy "$3" && health=healthy
            else
                (: >"/dev/tcp/${2%:*}/${2##*:}") 2>/dev/null && health=healthy
            fi
            [[ "$health" == healthy ]] || rc=1
            printf '%-8s %-34s %-16s %-9s %-8s %s\n' "$net" "$1" "$2" "$health" "${4:--}" "$pid"
        }
        for k in $(orderer_indices); do
            row "$(orderer_name "$net" "$k")" "127.0.0.1:$(orderer_port "$net" "$k")" \
                "$(orderer_ops_port "$net" "$k")" "$(orderer_height "$net" "$k")"
        done
        for i in "${!PEERS[@]}"; do
            row "$(peer_host "$net" "$i")" "127.0.0.1:$(peer_port "$net" "$i")" \
                "$(peer_ops_port "$net" "$i")" "$(peer_height "$net" "$i")"
        done
        for entry in "${CHAINCODES[@]}"; do
            name="$(chaincode_name "$entry")"
            row "chaincode-$name" "127.0.0.1:$(chaincode_port "$net" "$name")" "" ""
        done
    done
    return $rc
}

known_network() { # $1 net
    local net
    for net in "${NETWORKS[@]}"; do [[ "$net" == "$1" ]] && return 0; done
    die "unknown network '$1' (one of: ${NETWORKS[*]})"
}

cmd_stop() { # $1 net
    local net=$1 pids
    known_network "$net"
    [[ -f "$(net_dir "$net")/network.json" ]] || die "network $net is not up"
    mapfile -t pids < <(network_pids "$net")
    stop_nodes "${pids[@]}"
    log "$(net_title "$net"): stopped ${#pids[@]} processes; state kept in $(net_dir "$net")"
}

cmd_start() { # $1 net
    local net=$1 pid i k entry name
    known_network "$net"
    need_cmd jq jq
    need_cmd curl curl
    need_cmd setsid util-linux
    [[ -f "$(net_dir "$net")/network.json" ]] || die "network $net was never up: run '$0 up'"
    for pid in $(network_pids "$net"); do
        kill -0 "$pid" 2>/dev/null && die "network $net is running; run '$0 stop $net' first"
    done
    local started=$SECONDS logfile
    # The logs of the run before the stop are kept as node.log.1.
    for logfile in "$(net_dir "$net")"/nodes/*/node.log; do
        [[ -f "$logfile" ]] && mv "$logfile" "$logfile.1"
    done
    for k in $(orderer_indices); do start_orderer "$net" "$k"; done
    for i in "${!PEERS[@]}"; do start_peer "$net" "$i"; done
    for entry in "${CHAINCODES[@]}"; do restart_node "$net" "chaincode-$(chaincode_name "$entry")"; done
    for k in $(orderer_indices); do
        wait_healthy "$net" "$(orderer_name "$net" "$k")" "$(orderer_ops_port "$net" "$k")"
    done
    for i in "${!PEERS[@]}"; do wait_healthy "$net" "$(peer_host "$net" "$i")" "$(peer_ops_port "$net" "$i")"; done
    for entry in "${CHAINCODES[@]}"; do
        name="$(chaincode_name "$entry")"
        wait_listening "$net" "chaincode-$name" "$(chaincode_port "$net" "$name")"
    done
    wait_channel_synced "$net"
    wait_gossip_converged "$net"
    log "$(net_title "$net"): restarted in $((SECONDS - started))s"
}

# The pid file of node $2 of network $1, which must exist.
node_pid_file() { # $1 net, $2 node
    local file
    known_network "$1"
    [[ "$2" =~ ^[A-Za-z0-9][A-Za-z0-9.-]*$ ]] || die "'$2' is not a node name"
    file="$(node_state_dir "$1" "$2")/pid"
    [[ -f "$file" ]] || die "$1 has no node '$2' (see '$0 status')"
    echo "$file"
}

cmd_kill() { # $1 net, $2 node
    local pid
    pid="$(cat "$(node_pid_file "$1" "$2")")"
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    # Gone, with its listeners, before anyone restarts it.
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.05; done
    die "$2 ($1, pid $pid) still runs after SIGKILL"
}

# The operations port of a Fabric node of $1 by name, or nothing for a
# chaincode service.
node_ops_port() { # $1 net, $2 node
    local k i
    for k in $(orderer_indices); do
        [[ "$2" == "$(orderer_name "$1" "$k")" ]] && { orderer_ops_port "$1" "$k"; return; }
    done
    for i in "${!PEERS[@]}"; do
        [[ "$2" == "$(peer_host "$1" "$i")" ]] && { peer_ops_port "$1" "$i"; return; }
    done
    # None (a chaincode service) is an answer, not a failure: under `set -e`
    # a false last test would end the caller silently.
    return 0
}

cmd_restart() { # $1 net, $2 node
    local net=$1 node=$2 pid port
    pid="$(cat "$(node_pid_file "$net" "$node")")"
    kill -0 "$pid" 2>/dev/null && die "$node ($net, pid $pid) is running; kill it first"
    [[ -f "$(node_state_dir "$net" "$node")/node.log" ]] &&
        mv "$(node_state_dir "$net" "$node")/node.log" "$(node_state_dir "$net" "$node")/node.log.1"
    restart_node "$net" "$node"
    port="$(node_ops_port "$net" "$node")"
    if [[ -n "$port" ]]; then
        wait_healthy "$net" "$node" "$port"
    else
        [[ "$node" == chaincode-* ]] || die "unknown kind of node '$node'"
        wait_listening "$net" "$node" "$(chaincode_port "$net" "${node#chaincode-}")"
    fi
}

# The next sequence of a deployed chaincode: one more than the last
# (deploy-chaincode.sh records each in the chaincode's work folder).
cmd_upgrade() { # $1 net, $2 chaincode name
    local net=$1 name=$2 command binary sequence file
    known_network "$net"
    file="$(net_dir "$net")/chaincode/$name/sequence"
    [[ -f "$file" ]] || die "chaincode '$name' was not deployed on $net"
    sequence=$(($(cat "$file") + 1))
    # The server binary: the last word of the service's recorded command.
    command="$(cat "$(node_state_dir "$net" "chaincode-$name")/command")"
    binary="$(eval "printf '%s\n' $command" | tail -n 1)"
    "$REPO_ROOT/scripts/deploy-chaincode.sh" "$net" "$name" "$binary" "$sequence"
}

case "${1:-}" in
    up) shift; cmd_up "$@" ;;
    add) (($# == 2)) || die "usage: $0 add <net>"; cmd_add "$2" ;;
    down) cmd_down ;;
    status) cmd_status ;;
    stop) (($# == 2)) || die "usage: $0 stop <net>"; cmd_stop "$2" ;;
    start) (($# == 2)) || die "usage: $0 start <net>"; cmd_start "$2" ;;
    kill) (($# == 3)) || die "usage: $0 kill <net> <node>"; cmd_kill "$2" "$3" ;;
    restart) (($# == 3)) || die "usage: $0 restart <net> <node>"; cmd_restart "$2" "$3" ;;
    upgrade) (($# == 3)) || die "usage: $0 upgrade <net> <chaincode>"; cmd_upgrade "$2" "$3" ;;
    *) die "usage: $0 up [net...]|add <net>|down|status|stop <net>|start <net>|kill <net> <node>|restart <net> <node>|upgrade <net> <chaincode>" ;;
esac
