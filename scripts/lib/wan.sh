# The emulated WAN between the relays (NETWORK_WAN=toxiproxy): one Toxiproxy
# server per pair of networks, one proxy per directed relay-to-relay link,
# named <from>-to-<to> (layout.sh has the ports). Source after process.sh.
#
# Toxics are set through the server's HTTP API, e.g. 50 ms each way:
#   curl -X POST http://127.0.0.1:$(wan_api_port)/proxies/net1-to-net2/toxics \
#        -d '{"name":"delay_up","type":"latency","stream":"upstream","attributes":{"latency":50}}'
# and a link is cut and restored with {"enabled": false|true} on the proxy.

wan_api() { echo "http://127.0.0.1:$(wan_api_port)"; }

# Creates the proxy of the directed link $1 -> $2.
wan_create_link() { # $1 from, $2 to
    curl -fsS -X POST "$(wan_api)/proxies" -H 'Content-Type: application/json' \
        -d "$(jq -nc --arg name "$(wan_link_name "$1" "$2")" \
            --arg listen "127.0.0.1:$(wan_link_port "$1" "$2")" \
            --arg upstream "127.0.0.1:$(relay_port "$2")" \
            '{name: $name, listen: $listen, upstream: $upstream, enabled: true}')" >/dev/null ||
        die "creating the WAN link $1 -> $2 failed; see $(node_state_dir wan toxiproxy)/node.log"
}

# Writes $NETWORK_HOME/wan.json: the API and every link between the
# networks of the list.
write_wan_description() {
    local from to links="[]"
    for from in "${NETWORKS[@]}"; do
        for to in "${NETWORKS[@]}"; do
            [[ "$from" == "$to" ]] && continue
            links="$(jq -c --arg name "$(wan_link_name "$from" "$to")" --arg from "$from" --arg to "$to" \
                --arg listen "127.0.0.1:$(wan_link_port "$from" "$to")" \
                --arg upstream "127.0.0.1:$(relay_port "$to")" \
                '. + [{name: $name, from: $from, to: $to, listen: $listen, upstream: $upstream}]' <<<"$links")"
        done
    done
    jq -n --arg api "$(wan_api)" --argjson links "$links" '{api: $api, links: $links}' >"$NETWORK_HOME/wan.json"
    log "emulated WAN: Toxiproxy at $(wan_api), links $(jq -r '[.[].name] | join(", ")' <<<"$links")"
}

# Starts the Toxiproxy server (installing it first if needed), creates one
# proxy per directed link, and writes $NETWORK_HOME/wan.json for the lab.
start_wan() {
    local from to
    "$REPO_ROOT/scripts/install-toxiproxy.sh"
    start_node wan toxiproxy "$TOOLS_HOME/bin/toxiproxy-server" -host 127.0.0.1 -port "$(wan_api_port)"
    wait_listening wan toxiproxy "$(wan_api_port)"
    for from in "${NETWORKS[@]}"; do
        for to in "${NETWORKS[@]}"; do
            [[ "$from" == "$to" ]] || wan_create_link "$from" "$to"
        done
    done
    write_wan_description
}

# Adds the links between network $1, which has just joined, and the others.
wan_add_network() { # $1 net
    local other
    for other in "${NETWORKS[@]}"; do
        [[ "$other" == "$1" ]] && continue
        wan_create_link "$1" "$other"
        wan_create_link "$other" "$1"
    done
    write_wan_description
}
