//! The SDK's Fabric Gateway client against the real networks: queries
//! through every peer agree with Fabric's own CLI, and identities the
//! network must refuse are refused with errors that name the cause.

// Marks the helpers below as test code too, for clippy's unwrap rules.
#![cfg(test)]

use ehrx_client::fabric::config::{Organization, Peer};
use ehrx_client::fabric::{Error, Gateway, Identity, IdentityError, PrivateKey, SigningIdentity};
use ehrx_e2e::cli;
use ehrx_e2e::networks::Networks;
use ehrx_proto::common::BlockchainInfo;
use prost::Message;

async fn gateway(peer: &Peer, identity: SigningIdentity) -> anyhow::Result<Gateway> {
    Ok(Gateway::new(peer.connection()?.connect().await?, identity))
}

async fn chain_info(gateway: &Gateway, channel: &str) -> Result<Vec<u8>, Error> {
    gateway
        .network(channel)
        .contract("qscc")
        .evaluate("GetChainInfo", [channel])
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qscc_chain_info_through_every_peer_agrees_with_the_peer_cli() -> anyhow::Result<()> {
    let networks = Networks::up()?;
    for net in networks.all() {
        for (org, peer) in net.peers() {
            let gateway = gateway(peer, org.signing_identity("User1")?).await?;
            let info =
                BlockchainInfo::decode(chain_info(&gateway, &net.channel).await?.as_slice())?;
            assert_eq!(
                info.height,
                cli::peer_height(org, peer, &net.channel)?,
                "{}",
                peer.name
            );
            assert_eq!(info.current_block_hash.len(), 32, "{}", peer.name);
        }
    }
    networks.down()
}

fn assert_refused_by(call: &ehrx_client::fabric::CallError, peer: &Peer) {
    assert!(!call.transaction_id.is_empty());
    assert!(call.status.message().contains("access denied"), "{call}");
    assert!(
        call.details
            .iter()
            .any(|d| d.address == peer.address && d.message.contains("access denied")),
        "{call}"
    );
}

fn first_peer(org: &Organization) -> anyhow::Result<&Peer> {
    org.peers
        .first()
        .ok_or_else(|| anyhow::anyhow!("{} has no peer", org.name))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_identities_and_wrong_keys_get_typed_errors() -> anyhow::Result<()> {
    let networks = Networks::up()?;
    let net1 = networks.get("net1")?;
    let org = net1.organization("Net1Org1MSP")?;
    let peer = first_peer(org)?;

    // A user of network II is a stranger to network I.
    let stranger = networks
        .get("net2")?
        .organization("Net2Org1MSP")?
        .signing_identity("User1")?;
    match chain_info(&gateway(peer, stranger).await?, &net1.channel).await {
        Err(Error::Evaluate(call)) => assert_refused_by(&call, peer),
        other => panic!("expected an evaluate error for an unknown identity, got {other:?}"),
    }

    // User1's certificate with User2's key: the loader refuses the pair.
    let (user1, user2) = (org.user("User1")?, org.user("User2")?);
    match SigningIdentity::from_pem_files(&org.msp_id, &user1.cert, &user2.key) {
        Err(IdentityError::KeyMismatch { certificate, key }) => {
            assert_eq!((certificate, key), (user1.cert.clone(), user2.key.clone()));
        }
        other => panic!("expected a key mismatch, got {other:?}"),
    }

    // The same pair as a key held elsewhere (not checkable here): the peer
    // refuses it. Fabric answers only "access denied" and logs the signature
    // failure itself, so the error names the refusal and the refusing peer.
    let key = PrivateKey::from_pem(&std::fs::read_to_string(&user2.key)?)?;
    let forged = SigningIdentity::new(
        Identity::new(&org.msp_id, std::fs::read(&user1.cert)?),
        key.into_signer(),
    );
    match chain_info(&gateway(peer, forged).await?, &net1.channel).await {
        Err(Error::Evaluate(call)) => assert_refused_by(&call, peer),
        other => panic!("expected an evaluate error for a wrong key, got {other:?}"),
    }
    networks.down()
}
