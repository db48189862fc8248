#!/usr/bin/env bash
# Deploys a chaincode-as-a-service to one running local network:
#   1. packages it: metadata.json (type ccaas) and code.tar.gz holding a
#      connection.json with mutual TLS to 127.0.0.1:<ccaas port>;
#   2. installs the package on every peer (our ccaas builder checks it);
#   3. starts the chaincode service, with CHAINCODE_ID = the package id;
#   4. approves the definition for both orgs (with the private data
#      collections of fabric-network/templates/collections.json.tmpl) and
#      commits it, endorsed by both orgs.
#
# usage: scripts/deploy-chaincode.sh <net> <chaincode name> <server binary> [sequence]
#
# The binary is started with CHAINCODE_ID, CHAINCODE_SERVER_ADDRESS,
# CHAINCODE_TLS_CERT_FILE, CHAINCODE_TLS_KEY_FILE and
# CHAINCODE_TLS_CLIENT_CA_FILE set; its log is
# .network/<net>/nodes/chaincode-<name>/node.log.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
source "$REPO_ROOT/scripts/lib/layout.sh"
source "$REPO_ROOT/scripts/lib/cli.sh"
source "$REPO_ROOT/scripts/lib/process.sh"

(($# >= 3)) || die "usage: $0 <net> <chaincode name> <server binary> [sequence]"
readonly NET=$1 CHAINCODE_NAME=$2 SERVER_BINARY=$3 SEQUENCE=${4:-1}
readonly VERSION=$SEQUENCE LABEL="${CHAINCODE_NAME}_$SEQUENCE" NODE="chaincode-$CHAINCODE_NAME"
[[ -x "$SERVER_BINARY" ]] || die "chaincode server binary '$SERVER_BINARY' is not executable"
[[ -f "$(net_dir "$NET")/network.json" ]] || die "network $NET is not up: run scripts/network.sh up"

readonly WORK="$(net_dir "$NET")/chaincode/$CHAINCODE_NAME"
readonly PACKAGE="$WORK/$LABEL.tar.gz"

package() {
    local server client stage
    server="$(ccaas_server_dir "$NET")/tls"
    client="$(ccaas_client_dir "$NET")/tls"
    stage="$WORK/stage"
    rm -rf "$stage" && mkdir -p "$stage"
    jq -n --arg address "127.0.0.1:$(chaincode_port "$NET" "$CHAINCODE_NAME" "$SEQUENCE")" \
        --rawfile root_cert "$server/ca.crt" \
        --rawfile client_cert "$client/client.crt" --rawfile client_key "$client/client.key" \
        '{address: $address, dial_timeout: "10s", tls_required: true,
          client_auth_required: true, client_cert: $client_cert, client_key: $client_key,
          root_cert: $root_cert}' >"$stage/connection.json"
    jq -n --arg package_label "$LABEL" '{"type": "ccaas", "label": $package_label}' >"$stage/metadata.json"
    # The outer archive holds exactly these two files, no directory entries.
    tar -C "$stage" -czf "$stage/code.tar.gz" connection.json
    tar -C "$stage" -czf "$PACKAGE" metadata.json code.tar.gz
}

collections_config() {
    local file="$WORK/collections.json"
    ORG1_MSP="$(msp_id "$NET" org1)" ORG2_MSP="$(msp_id "$NET" org2)" \
        envsubst <"$REPO_ROOT/fabric-network/templates/collections.json.tmpl" >"$file"
    echo "$file"
}

# Starts the service of package $1 as node $2 (its state folder).
start_service() { # $1 package id, $2 node
    local server port
    server="$(ccaas_server_dir "$NET")/tls"
    port="$(chaincode_port "$NET" "$CHAINCODE_NAME" "$SEQUENCE")"
    start_node "$NET" "$2" \
        RUST_LOG="${RUST_LOG:-info}" \
        CHAINCODE_ID="$1" \
        CHAINCODE_SERVER_ADDRESS="127.0.0.1:$port" \
        CHAINCODE_TLS_CERT_FILE="$server/server.crt" \
        CHAINCODE_TLS_KEY_FILE="$server/server.key" \
        CHAINCODE_TLS_CLIENT_CA_FILE="$server/ca.crt" \
        "$SERVER_BINARY"
    wait_listening "$NET" "$2" "$port"
}

# The old service ($NODE) hands over to the new one ($NODE.next): stopped
# once the new definition is committed, the new one's pid, command and log
# taking its place.
hand_over() {
    local old new
    old="$(node_state_dir "$NET" "$NODE")"
    new="$(node_state_dir "$NET" "$NODE.next")"
    stop_nodes $(cat "$old/pid" 2>/dev/null) || true
    [[ -f "$old/node.log" ]] && mv "$old/node.log" "$old/node.log.1"
    mv "$new/pid" "$new/command" "$new/node.log" "$old/"
    rmdir "$new"
}

# Whether the definition's approval by the org of peer $1 is on the channel.
approved() { # $1 peer index
    peer_as "$NET" "$1" Admin lifecycle chaincode queryapproved -C "$CHANNEL" \
        -n "$CHAINCODE_NAME" --sequence "$SEQUENCE" >/dev/null 2>&1
}

# Whether the definition (this sequence) is committed.
committed() {
    peer_as "$NET" 0 Admin lifecycle chaincode querycommitted -C "$CHANNEL" \
        -n "$CHAINCODE_NAME" -O json 2>/dev/null | jq -e --argjson s "$SEQUENCE" '.sequence == $s' >/dev/null
}

# Runs a lifecycle transaction ($3...) up to three times, until it succeeds
# or the check $2 says it took effect anyway: on a live channel the peer
# CLI's wait for the commit event can time out (a peer catching up after a
# restart) although the transaction was ordered and committed.
step() { # $1 what, $2 check (a command line), $3... the command
    local what=$1 check=$2 attempt
    shift 2
    for attempt in 1 2 3; do
        "$@" 2>>"$WORK/deploy.log" && return 0
        eval "$check" && return 0
        log "$(net_title "$NET"): $what failed (attempt $attempt of 3); see $WORK/deploy.log"
        sleep 2
    done
    die "$what failed; see $WORK/deploy.log"
}

main() {
    mkdir -p "$WORK"
    package
    local package_id i org collections
    package_id="$(peer_as "$NET" 0 Admin lifecycle chaincode calculatepackageid "$PACKAGE")"
    for i in "${!PEERS[@]}"; do
        peer_as "$NET" "$i" Admin lifecycle chaincode install "$PACKAGE" 2>>"$WORK/deploy.log" \
            || die "install on $(peer_host "$NET" "$i") failed; see $WORK/deploy.log"
    done
    log "$(net_title "$NET"): $package_id installed on ${#PEERS[@]} peers"
    # An upgrade runs the new service beside the old one until it commits;
    # a failed upgrade stops the new one and leaves the old one serving.
    local node=$NODE
    if [[ -f "$(node_state_dir "$NET" "$NODE")/pid" ]] && kill -0 "$(cat "$(node_state_dir "$NET" "$NODE")/pid")" 2>/dev/null; then
        node="$NODE.next"
        trap 'stop_nodes $(cat "$(node_state_dir "$NET" "$NODE.next")/pid" 2>/dev/null) || true; rm -rf "$(node_state_dir "$NET" "$NODE.next")"' EXIT
    fi
    start_service "$package_id" "$node"

    collections="$(collections_config)"
    local definition=(--channelID "$CHANNEL" --name "$CHAINCODE_NAME" --version "$VERSION"
        --sequence "$SEQUENCE" --collections-config "$collections")
    for org in "${PEER_ORGS[@]}"; do
        i="$(org_first_peer "$NET" "$org")"
        # shellcheck disable=SC2046
        step "approval by $org" "approved $i" peer_as "$NET" "$i" Admin lifecycle chaincode \
            approveformyorg $(orderer_flags "$NET") "${definition[@]}" --package-id "$package_id"
    done
    local endorsers=()
    for org in "${PEER_ORGS[@]}"; do
        i="$(org_first_peer "$NET" "$org")"
        endorsers+=(--peerAddresses "127.0.0.1:$(peer_port "$NET" "$i")"
            --tlsRootCertFiles "$(peer_node_dir "$NET" "$i")/tls/ca.crt")
    done
    # shellcheck disable=SC2046
    step "commit of $CHAINCODE_NAME" committed peer_as "$NET" 0 Admin lifecycle chaincode \
        commit $(orderer_flags "$NET") "${definition[@]}" "${endorsers[@]}"
    echo "$SEQUENCE" >"$WORK/sequence"
    if [[ "$node" != "$NODE" ]]; then
        trap - EXIT
        hand_over
    fi
    log "$(net_title "$NET"): $CHAINCODE_NAME sequence $SEQUENCE committed on $CHANNEL"
}

main
