# The one place that knows the layout of the local test networks: names,
# orgs, peers, ports and directories. Everything else (network.sh, the JSON
# description read by the SDK and the tests) derives from these functions.
# Source it after common.sh.

# Networks are net1 (Network I) to net5 (Network V). Which ones run: the
# list `network.sh up` wrote to $NETWORK_HOME/networks (and `add` extends),
# else NETWORK_NAMES, else I and II.
readonly MAX_NETWORKS=5
readonly NETWORK_LIST_FILE="$NETWORK_HOME/networks"
if [[ -f "$NETWORK_LIST_FILE" ]]; then
    read -r -a NETWORKS <"$NETWORK_LIST_FILE"
else
    read -r -a NETWORKS <<<"${NETWORK_NAMES:-net1 net2}"
fi
readonly CHANNEL=ehrchannel
# Peers per network, in port order: "<org> <peer host prefix>".
readonly PEERS=("org1 peer0" "org1 peer1" "org2 peer0")
readonly PEER_ORGS=(org1 org2)

# netN uses the ports from NETWORK_PORT_BASE + 1000 (N - 1): by default
# net1 7xxx, net2 8xxx, net3 9xxx. Moving the base moves them all, so
# another set of networks with its own NETWORK_HOME can run beside the first.
NETWORK_PORT_BASE="${NETWORK_PORT_BASE:-7000}"
[[ "$NETWORK_PORT_BASE" =~ ^[1-9][0-9]{3,4}$ ]] && ((NETWORK_PORT_BASE + 1000 * MAX_NETWORKS <= 65000)) ||
    die "NETWORK_PORT_BASE must be a number from 1000 to $((65000 - 1000 * MAX_NETWORKS)), not '$NETWORK_PORT_BASE'"
valid_network() { [[ "$1" =~ ^net[1-9]$ ]] && ((${1#net} <= MAX_NETWORKS)); }
net_number() { valid_network "$1" || die "unknown network '$1' (net1 to net$MAX_NETWORKS)"; echo "${1#net}"; }
net_base_port() { echo $((NETWORK_PORT_BASE + 1000 * ($(net_number "$1") - 1))); }
net_index() { echo $(($(net_number "$1") - 1)); }
net_title() {
    local numerals=(I II III IV V)
    echo "Network ${numerals[$(net_index "$1")]}"
}
for _net in "${NETWORKS[@]}"; do valid_network "$_net" || die "unknown network '$_net' in the network list (net1 to net$MAX_NETWORKS)"; done
unset _net
net_domain() { echo "$1.example.com"; }
net_dir() { echo "$NETWORK_HOME/$1"; }

# "net1" "org1" -> "Net1Org1MSP"; "net1" "orderer" -> "Net1OrdererMSP"
msp_id() { echo "${1^}${2^}MSP"; }
org_domain() { echo "$2.$(net_domain "$1")"; }

# Ordering service: NETWORK_ORDERER=raft (default) runs one Raft orderer per
# network, or NETWORK_RAFT_ORDERERS of them (1 or 3: three survive the loss
# of one, as the fault soak needs); bft (Fabric 3 only) runs four SmartBFT
# orderers, which tolerate one Byzantine orderer (n = 3f + 1). Orderer k
# (0..) of a network; k may be omitted for the first, which also speaks for
# the network in admin commands.
ORDERER_TYPE="${NETWORK_ORDERER:-raft}"
case "$ORDERER_TYPE" in
    raft)
        ORDERER_COUNT="${NETWORK_RAFT_ORDERERS:-1}"
        [[ "$ORDERER_COUNT" == 1 || "$ORDERER_COUNT" == 3 ]] ||
            die "NETWORK_RAFT_ORDERERS must be 1 or 3, not '$ORDERER_COUNT'"
        ;;
    bft) ORDERER_COUNT=4 ;;
    *) die "NETWORK_ORDERER must be raft or bft, not '$ORDERER_TYPE'" ;;
esac
readonly ORDERER_TYPE ORDERER_COUNT
orderer_indices() { seq 0 $((ORDERER_COUNT - 1)); }
orderer_name() { local k=${2:-0}; ((k == 0)) && echo orderer || echo "orderer$k"; }
orderer_host() { echo "$(orderer_name "$1" "${2:-0}").$(net_domain "$1")"; }
# Orderer k sits in the 100-block of peer k, on offsets no peer uses.
orderer_port() { echo $(($(net_base_port "$1") + 50 + 100 * ${2:-0})); }
orderer_admin_port() { echo $(($(net_base_port "$1") + 53 + 100 * ${2:-0})); }
orderer_ops_port() { echo $(($(net_base_port "$1") + 443 - ${2:-0})); }

# Peer index i (0..2) within a network.
peer_org() { local p=(${PEERS[$2]}); echo "${p[0]}"; }
peer_host() { local p=(${PEERS[$2]}); echo "${p[1]}.$(org_domain "$1" "${p[0]}")"; }
peer_port() { echo $(($(net_base_port "$1") + 51 + 100 * $2)); }
peer_chaincode_port() { echo $(($(net_base_port "$1") + 52 + 100 * $2)); }
peer_ops_port() { echo $(($(net_base_port "$1") + 444 + $2)); }
# Gossip bootstraps to another peer of the same org in the same network, or
# to itself when it is the org's only peer; never to the default 127.0.0.1:7051.
peer_gossip_bootstrap() {
    local net=$1 i=$2 org j
    org="$(peer_org "$net" "$i")"
    for j in "${!PEERS[@]}"; do
        if [[ $j != "$i" && "$(peer_org "$net" "$j")" == "$org" ]]; then
            echo "127.0.0.1:$(peer_port "$net" "$j")"
            return
        fi
    done
    echo "127.0.0.1:$(peer_port "$net" "$i")"
}
org_peer_count() { local n=0 i; for i in "${!PEERS[@]}"; do [[ "$(peer_org "$1" "$i")" == "$2" ]] && n=$((n + 1)); done; echo $n; }
# Index of an org's first peer: its anchor peer and the one that speaks for
# the org in lifecycle commands.
org_first_peer() { local i; for i in "${!PEERS[@]}"; do [[ "$(peer_org "$1" "$i")" == "$2" ]] && { echo "$i"; return; }; done; }
org_anchor_port() { peer_port "$1" "$(org_first_peer "$1" "$2")"; }

# Crypto material laid out by cryptogen.
crypto_dir() { echo "$(net_dir "$1")/crypto"; }
orderer_org_dir() { echo "$(crypto_dir "$1")/ordererOrganizations/$(net_domain "$1")"; }
orderer_node_dir() { echo "$(orderer_org_dir "$1")/orderers/$(orderer_host "$1" "${2:-0}")"; }
orderer_admin_dir() { echo "$(orderer_org_dir "$1")/users/Admin@$(net_domain "$1")"; }
peer_org_dir() { echo "$(crypto_dir "$1")/peerOrganizations/$(org_domain "$1" "$2")"; }
peer_node_dir() { echo "$(peer_org_dir "$1" "$(peer_org "$1" "$2")")/peers/$(peer_host "$1" "$2")"; }
org_user_dir() { echo "$(peer_org_dir "$1" "$2")/users/$3@$(org_domain "$1" "$2")"; }

# Chaincodes `up` deploys to every network, as "<name>:<cargo target>" where
# the target is `-p <package> --example <x>` or `-p <package> --bin <x>`: the
# shim's showcase and the EHR contract.
readonly CHAINCODES=("showcase:-p hlf-shim --example showcase" "ehrx:-p ehrx-chaincode --bin ehrx-chaincode")
chaincode_name() { echo "${1%%:*}"; }
chaincode_target() { echo "${1#*:}"; }

# Chaincode services: one server per chaincode and network, dialled by all
# the network's peers, with TLS material shared by the network's services.
ccaas_domain() { echo "ccaas.$(net_domain "$1")"; }
# A deployment's sequence (1 for the first; `network.sh upgrade` adds one),
# recorded by deploy-chaincode.sh.
chaincode_sequence() { # $1 net, $2 chaincode name
    cat "$(net_dir "$1")/chaincode/$2/sequence" 2>/dev/null || echo 1
}
# Odd sequences listen on the chaincode's port, even ones 10 below it, so
# that an upgrade starts the new service beside the old one, which serves
# until the new definition is committed (a live upgrade, no gap).
chaincode_port() { # $1 net, $2 chaincode name, $3 sequence (default: the deployed one)
    local base sequence=${3:-$(chaincode_sequence "$1" "$2")}
    case "$2" in
        ehrx) base=$(($(net_base_port "$1") + 99)) ;;
        showcase) base=$(($(net_base_port "$1") + 98)) ;;
        # Fabric's Go shim running the showcase's Put/Get, deployed only by
        # scripts/bench-baseline.sh as the baseline of the CPU comparison.
        showcase-go) base=$(($(net_base_port "$1") + 97)) ;;
        *) die "no port assigned to chaincode '$2' (scripts/lib/layout.sh)" ;;
    esac
    echo $((sequence % 2 ? base : base - 10))
}
ccaas_server_dir() { echo "$(crypto_dir "$1")/peerOrganizations/$(ccaas_domain "$1")/peers/ehrx.$(ccaas_domain "$1")"; }
ccaas_client_dir() { echo "$(crypto_dir "$1")/peerOrganizations/$(ccaas_domain "$1")/users/Admin@$(ccaas_domain "$1")"; }

# The relay of a network: its gRPC port for other relays, its health port,
# its TLS material, the network's Ed25519 key and the Fabric user it acts
# as (registered with RegisterRelay by the network's admin).
readonly RELAY_USER=User3
relay_domain() { echo "relay.$(net_domain "$1")"; }
relay_port() { echo $(($(net_base_port "$1") + 90)); }
relay_health_port() { echo $(($(net_base_port "$1") + 91)); }
relay_dir() { echo "$(net_dir "$1")/relay"; }
relay_server_tls_dir() { echo "$(crypto_dir "$1")/peerOrganizations/$(relay_domain "$1")/peers/relay.$(relay_domain "$1")/tls"; }
relay_client_tls_dir() { echo "$(crypto_dir "$1")/peerOrganizations/$(relay_domain "$1")/users/Admin@$(relay_domain "$1")/tls"; }

# The emulated WAN between the relays (NETWORK_WAN=toxiproxy; default off).
# Each directed link <from> -> <to> is a Toxiproxy proxy in front of <to>'s
# relay, which <from>'s relay dials instead of the relay itself; delays,
# bandwidth caps and cuts are set on it through the Toxiproxy server's HTTP
# API (scripts/lib/wan.sh, or the lab crate's `wan` module). TLS stays end
# to end: the proxy only forwards bytes. Link ports are <to>'s base + 92 +
# <from>'s index (92 to 96), the API port lies in no network's ports.
readonly WAN_MODE="${NETWORK_WAN:-off}"
[[ "$WAN_MODE" == off || "$WAN_MODE" == toxiproxy ]] ||
    die "NETWORK_WAN must be off or toxiproxy, not '$WAN_MODE'"
wan_api_port() { echo $((NETWORK_PORT_BASE + 474)); }
wan_link_name() { echo "$1-to-$2"; }
wan_link_port() { echo $(($(net_base_port "$2") + 92 + $(net_index "$1"))); }
# Where <from>'s relay dials <to>'s relay: through the link's proxy with a WAN.
relay_remote_address() { # $1 from, $2 to
    if [[ "$WAN_MODE" == toxiproxy ]]; then
        echo "127.0.0.1:$(wan_link_port "$1" "$2")"
    else
        echo "127.0.0.1:$(relay_port "$2")"
    fi
}

# Runtime state of a node: ledger, logs, pid.
node_state_dir() { echo "$(net_dir "$1")/nodes/$2"; }
