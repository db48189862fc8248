# Fabric's command-line tools run against a network of scripts/lib/layout.sh
# with the right identity and TLS settings. Source after layout.sh.

fabric() { "$FABRIC_BIN_DIR/$1" "${@:2}"; }

# Flags that make a peer CLI command reach the network's orderer over TLS.
orderer_flags() { # $1 net
    echo -o "127.0.0.1:$(orderer_port "$1")" --ordererTLSHostnameOverride "$(orderer_host "$1")" \
        --tls --cafile "$(orderer_node_dir "$1")/tls/ca.crt"
}

# Runs the peer CLI as user $3 (Admin, User1, ...) of the org of peer index
# $2, talking to that peer over TLS.
peer_as() { # $1 net, $2 peer index, $3 user, $4... peer CLI arguments
    local net=$1 i=$2 org
    org="$(peer_org "$net" "$i")"
    FABRIC_CFG_PATH="$FABRIC_CONFIG_DIR" \
        CORE_PEER_LOCALMSPID="$(msp_id "$net" "$org")" \
        CORE_PEER_MSPCONFIGPATH="$(org_user_dir "$net" "$org" "$3")/msp" \
        CORE_PEER_ADDRESS="127.0.0.1:$(peer_port "$net" "$i")" \
        CORE_PEER_TLS_ENABLED=true \
        CORE_PEER_TLS_ROOTCERT_FILE="$(peer_node_dir "$net" "$i")/tls/ca.crt" \
        fabric peer "${@:4}"
}

osnadmin_cmd() { # $1 net, $2 orderer index, $3... osnadmin channel arguments
    local net=$1 k=$2 admin
    admin="$(orderer_admin_dir "$net")/tls"
    fabric osnadmin channel "${@:3}" -o "127.0.0.1:$(orderer_admin_port "$net" "$k")" \
        --ca-file "$(orderer_node_dir "$net" "$k")/tls/ca.crt" \
        --client-cert "$admin/client.crt" --client-key "$admin/client.key"
}

