#!/usr/bin/env bash
# Re-captures the wire fixtures of the proto crate from a real network I (see
# fabric/protos/tests/fixtures/README.md): a block holding an endorser transaction,
# and a signed proposal made by Fabric's own peer CLI. Brings the networks up
# and always down again.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
source "$REPO_ROOT/scripts/lib/layout.sh"
source "$REPO_ROOT/scripts/lib/cli.sh"

readonly OUT="$REPO_ROOT/fabric/protos/tests/fixtures"
readonly NET=net1 CAPTURE_ADDRESS=127.0.0.1:7999

cd "$REPO_ROOT"
command -v xxd >/dev/null || die "xxd is required (Debian package: xxd)"
cargo build --quiet -p hlf-protos --example capture_proposal
trap 'scripts/network.sh down' EXIT
scripts/network.sh up

# An endorser transaction without any chaincode deployed: Org1's approval of
# a chaincode definition goes through _lifecycle and is committed in block 1.
log "committing a _lifecycle transaction on $NET"
# shellcheck disable=SC2046
peer_as "$NET" 0 Admin lifecycle chaincode approveformyorg $(orderer_flags "$NET") \
    --channelID "$CHANNEL" --name fixture --version 1.0 --sequence 1 \
    --package-id fixture:0000000000000000000000000000000000000000000000000000000000000000
# The block as peer0 committed it (with the validation flags the orderer's
# copy lacks), through the query system chaincode.
peer_as "$NET" 0 Admin chaincode query --hex -C "$CHANNEL" -n qscc \
    -c "{\"Args\":[\"GetBlockByNumber\",\"$CHANNEL\",\"1\"]}" | xxd -r -p >"$OUT/endorser-tx-block.bin"

# A client's signed proposal, caught by a recording Endorser in place of a peer.
log "capturing a signed proposal from 'peer chaincode query'"
target/debug/examples/capture_proposal "$CAPTURE_ADDRESS" "$OUT/signed-proposal.bin" &
capture_pid=$!
sleep 1
FABRIC_CFG_PATH="$FABRIC_CONFIG_DIR" \
    CORE_PEER_LOCALMSPID="$(msp_id "$NET" org1)" \
    CORE_PEER_MSPCONFIGPATH="$(org_user_dir "$NET" org1 User1)/msp" \
    CORE_PEER_ADDRESS="$CAPTURE_ADDRESS" CORE_PEER_TLS_ENABLED=false \
    fabric peer chaincode query -C "$CHANNEL" -n fixture -c '{"Args":["GetRecord","patient-1"]}' || true
wait "$capture_pid"

ls -l "$OUT"
