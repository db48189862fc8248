//! The SDK's Fabric Gateway client against the real networks: queries
//! through every peer agree with Fabric's own CLI, and identities the
//! network must refuse are refused with errors that name the cause.

// Marks the helpers below as test code too, for clippy's unwrap rules.
#![cfg(test)]

use ehrx_client::fabric::config::{Organization, Peer};
use ehrx_client::fabric::{Error, Gateway, Identity, IdentityError, PrivateKey, SigningIdentity};
use ehrx_lab::NetworkDescription;
use ehrx_lab::cli;
use ehrx_lab::networks::Networks;
use hlf_protos::common::BlockchainInfo;
use prost::Message;
use std::time::Duration;

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

/// Network I, its first org and that org's first peer, and a gateway
/// through that peer for the org's User1.
async fn net1_gateway(
    networks: &Networks,
) -> anyhow::Result<(&NetworkDescription, &Organization, &Peer, Gateway)> {
    let net = networks.get("net1")?;
    let org = net.organization("Net1Org1MSP")?;
    let peer = first_peer(org)?;
    let gateway = gateway(peer, org.signing_identity("User1")?).await?;
    Ok((net, org, peer, gateway))
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submits_commit_and_events_resume_from_a_file_checkpoint() -> anyhow::Result<()> {
    use ehrx_client::fabric::{Checkpointer, FileCheckpointer};
    use ehrx_lab::networks::network_home;

    // `up` deploys the showcase chaincode; its Put emits a "Put" event.
    let networks = Networks::up()?;
    let (net, org, peer, gateway) = net1_gateway(&networks).await?;
    let height_before = cli::peer_height(org, peer, &net.channel)?;
    let network = gateway.network(&net.channel);
    let contract = network.contract("showcase");

    // Submit: the result and the block come back, and the write is visible.
    let committed = contract
        .submit("PutIndexed", ["obs", r#"["p1","o1"]"#, "x"])
        .await?;
    assert_eq!(committed.result, b"\0obs\0p1\0o1\0");
    assert!(committed.status.is_successful());
    assert!(
        committed.status.block_number >= height_before,
        "{:?}",
        committed.status
    );
    assert_eq!(
        committed.status.block_number,
        cli::peer_height(org, peer, &net.channel)? - 1
    );

    // Submit-async: the result first, the commit awaited later.
    let submitted = contract
        .submit_async("Put", ["async-key", "async-value"])
        .await?;
    let status = submitted.commit.status().await?.into_result()?;
    assert_eq!(
        contract.evaluate("Get", ["async-key"]).await?,
        b"async-value"
    );

    // Private data through the transient map, endorsed by both organisations.
    let record = br#"{"resourceType":"Observation","id":"o1"}"#.to_vec();
    let org_ids: Vec<&str> = net
        .organizations
        .iter()
        .map(|o| o.msp_id.as_str())
        .collect();
    contract
        .proposal("PutPrivate")
        .arg("sdk-private")
        .transient("value", record.clone())
        .endorsing_organizations(org_ids)
        .build()?
        .endorse()
        .await?
        .submit()
        .await?
        .status()
        .await?
        .into_result()?;
    assert_eq!(
        contract.evaluate("GetPrivate", ["sdk-private"]).await?,
        record
    );

    // Events: six more Puts; a listener processes three, checkpointing each
    // to a file, and is dropped; a new listener from the same file sees the
    // rest. Together: every Put in commit order, none lost, none repeated.
    let mut put_tx_ids = vec![status.transaction_id];
    for i in 0..6 {
        let committed = contract
            .submit("Put", [format!("event-{i}"), format!("v{i}")])
            .await?;
        put_tx_ids.push(committed.status.transaction_id);
    }
    let checkpoint_file = network_home().join("listener-checkpoint.json");
    let mut seen = Vec::new();
    for take in [3, put_tx_ids.len() - 3] {
        let mut checkpointer = FileCheckpointer::open(&checkpoint_file)?;
        let mut events = network
            .chaincode_events("showcase")
            .start_block(status.block_number)
            .checkpointer(&checkpointer)
            .build()
            .events()
            .await?;
        for _ in 0..take {
            let event = tokio::time::timeout(std::time::Duration::from_secs(10), events.next())
                .await?
                .ok_or_else(|| anyhow::anyhow!("event stream ended"))??;
            assert_eq!(event.event_name, "Put");
            seen.push(event.transaction_id.clone());
            checkpointer.checkpoint_chaincode_event(&event)?;
        }
    }
    assert_eq!(seen, put_tx_ids);
    networks.down()
}

/// Waits at most `limit` for the next item of an event stream.
async fn next_within<T>(
    limit: Duration,
    next: impl std::future::Future<Output = Option<Result<T, Error>>>,
) -> anyhow::Result<T> {
    Ok(tokio::time::timeout(limit, next)
        .await?
        .ok_or_else(|| anyhow::anyhow!("event stream ended"))??)
}

/// Opening must not wait for a block: the peer sends an event stream's
/// headers only with its first message.
async fn opened<T>(
    opening: impl std::future::Future<Output = Result<T, Error>>,
) -> anyhow::Result<T> {
    Ok(tokio::time::timeout(Duration::from_secs(2), opening).await??)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_streams_open_before_the_blocks_they_wait_for() -> anyhow::Result<()> {
    use ehrx_client::fabric::{BlockEvent, TxValidationCode};

    let networks = Networks::up()?;
    let (net, _, _, gateway) = net1_gateway(&networks).await?;
    let network = gateway.network(&net.channel);
    let height =
        BlockchainInfo::decode(chain_info(&gateway, &net.channel).await?.as_slice())?.height;

    // Nothing is pending for any of these when they open, and this task
    // is the one that will commit the block they wait for.
    let mut events = opened(network.chaincode_events("showcase").build().events()).await?;
    let mut blocks = opened(network.block_events().build().events()).await?;
    let mut filtered = opened(network.filtered_block_events().build().events()).await?;
    // A chaincode that emits no events, from a block on.
    let mut quiet = opened(
        network
            .chaincode_events("qscc")
            .start_block(height)
            .build()
            .events(),
    )
    .await?;

    let committed = network
        .contract("showcase")
        .submit("Put", ["open-then-submit", "v"])
        .await?;
    let (transaction_id, block_number) = (
        committed.status.transaction_id.clone(),
        committed.status.block_number,
    );
    let limit = Duration::from_secs(20);

    let event = next_within(limit, events.next()).await?;
    assert_eq!(
        (event.transaction_id.as_str(), event.block_number),
        (transaction_id.as_str(), block_number)
    );
    assert_eq!(event.event_name, "Put");

    let block = next_within(limit, blocks.next()).await?;
    assert!(matches!(block, BlockEvent::Block(_)), "{block:?}");
    assert_eq!(block.block_number(), block_number);

    match next_within(limit, filtered.next()).await? {
        BlockEvent::Filtered(block) => {
            assert_eq!(block.number, block_number);
            let tx = block
                .filtered_transactions
                .iter()
                .find(|tx| tx.txid == transaction_id)
                .ok_or_else(|| anyhow::anyhow!("{transaction_id} not in {block:?}"))?;
            assert_eq!(tx.tx_validation_code, TxValidationCode::Valid as i32);
        }
        other => panic!("expected a filtered block, got {other:?}"),
    }

    assert!(
        tokio::time::timeout(Duration::from_secs(1), quiet.next())
            .await
            .is_err(),
        "qscc emits no events"
    );
    quiet.close();
    assert!(quiet.next().await.is_none());
    networks.down()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_errors_fail_fast_and_the_connection_serves_the_next_call() -> anyhow::Result<()>
{
    let networks = Networks::up()?;
    let (net, _, _, gateway) = net1_gateway(&networks).await?;
    let network = gateway.network(&net.channel);
    let served = || async {
        tokio::time::timeout(Duration::from_secs(1), chain_info(&gateway, &net.channel))
            .await
            .map_err(|_| anyhow::anyhow!("the next call was not served within a second"))?
            .map_err(anyhow::Error::from)
    };
    let key = "k".repeat(1 << 20);

    // A chaincode refusing a 1 MiB key, quoting it: the shim bounds the
    // message, so the error arrives, with the marker.
    let refused = tokio::time::timeout(
        Duration::from_secs(10),
        network.contract("showcase").evaluate("Get", [key.as_str()]),
    )
    .await?;
    match refused {
        Err(Error::Evaluate(call)) => {
            assert!(call.status.message().contains("truncated"), "{call}");
            assert!(
                call.status.message().len() < 4096,
                "{}",
                call.status.message().len()
            );
        }
        other => panic!(
            "expected an evaluate error, got {:?}",
            other.map(|r| r.len())
        ),
    }
    served().await?;

    // The peer's own error naming a 32,000-character chaincode: over
    // hyper's default 16 KiB trailers, within the client's 1 MiB.
    let name = "c".repeat(32_000);
    match network.contract(name.as_str()).evaluate("Get", ["k"]).await {
        Err(Error::Evaluate(call)) => assert!(
            call.status.message().contains(&name),
            "{}",
            call.status.code()
        ),
        other => panic!(
            "expected an evaluate error, got {:?}",
            other.map(|r| r.len())
        ),
    }
    served().await?;

    // Naming a 1 MiB chaincode: more than the client accepts. The peer
    // resets the stream rather than send it; the call fails at once.
    let started = std::time::Instant::now();
    match network.contract(key.as_str()).evaluate("Get", ["k"]).await {
        Err(Error::Evaluate(call)) => assert_eq!(
            call.status.code(),
            ehrx_client::tonic::Code::Internal,
            "{call}"
        ),
        other => panic!(
            "expected an evaluate error, got {:?}",
            other.map(|r| r.len())
        ),
    }
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    served().await?;
    networks.down()
}
