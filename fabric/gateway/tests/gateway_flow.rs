//! The gateway client over real gRPC, against `hlf-testpeer`'s in-process
//! stand-in for a peer's Gateway and Deliver services, which checks what a
//! peer checks on the way in and answers in the peer's wire format,
//! including gRPC statuses carrying `gateway.ErrorDetail`s. The end-to-end
//! tests in `tests/` use real peers.

#![cfg(test)]

use std::{sync::Arc, time::Duration};

use hlf_gateway::{
    BlockEvent, Checkpointer as _, Error, FileCheckpointer, Gateway, Identity, NO_ARGS, Network,
    P256Signer, SigningIdentity, Timeouts, TxValidationCode,
};
use hlf_protos::common;
use hlf_testpeer::{
    Committed, Contract, ENDORSE_FAILED, EVALUATE_FAILED, Endorsed, Event, Invocation, TestPeer,
    chaincode_response, status_with_detail,
};
use prost::Message as _;
use tonic::Status;

const CHANNEL: &str = "ehrchannel";
/// The size of the `Verbose` function's error.
const VERBOSE_ERROR: usize = 60 * 1024;
const CHAINCODE: &str = "ehr";

/// The chaincode behind the stand-in peer: its result is the function
/// name, the arguments and the transient keys, joined; a few function names
/// make it misbehave as a peer or chaincode can.
struct Echo;

fn echo(invocation: &Invocation) -> Vec<u8> {
    let mut parts: Vec<String> = invocation
        .args
        .iter()
        .map(|arg| String::from_utf8_lossy(arg).into_owned())
        .collect();
    parts.extend(
        invocation
            .transient
            .keys()
            .map(|k| format!("transient:{k}")),
    );
    parts.join(",").into_bytes()
}

impl Contract for Echo {
    async fn evaluate(&self, invocation: Invocation) -> Result<Vec<u8>, Status> {
        match invocation.function().as_str() {
            "Fail" => Err(status_with_detail(
                tonic::Code::Unknown,
                EVALUATE_FAILED,
                &chaincode_response(500, "no such record"),
            )),
            // A chaincode error quoting a 1 MiB argument, as the gateway
            // sends it: in grpc-message and again in the details.
            "Huge" => Err(status_with_detail(
                tonic::Code::Unknown,
                &format!("{EVALUATE_FAILED}: {}", "x".repeat(1 << 20)),
                &chaincode_response(500, &"x".repeat(1 << 20)),
            )),
            // Trailers of about 80 KiB: over hyper's default 16 KiB limit.
            "Verbose" => Err(status_with_detail(
                tonic::Code::Unknown,
                EVALUATE_FAILED,
                &"v".repeat(VERBOSE_ERROR),
            )),
            "Slow" => {
                tokio::time::sleep(Duration::from_secs(5)).await;
                Err(Status::internal("too late"))
            }
            // Bigger than tonic's default 4 MiB limit, well within Fabric's.
            "Big" => Ok(vec![7; 6 * 1024 * 1024]),
            _ => Ok(echo(&invocation)),
        }
    }

    /// The result, and one event named after the function carrying it.
    async fn endorse(&self, invocation: Invocation) -> Result<Endorsed, Status> {
        let function = invocation.function();
        if function == "Slow" {
            tokio::time::sleep(Duration::from_secs(5)).await;
        }
        if function == "Deny" {
            return Err(status_with_detail(
                tonic::Code::Aborted,
                ENDORSE_FAILED,
                "access denied: creator is not a registered requester",
            ));
        }
        let payload = echo(&invocation);
        Ok(Endorsed {
            events: vec![Event {
                name: function,
                payload: payload.clone(),
            }],
            payload,
        })
    }

    async fn order(&self, _: &str, function: &str) -> TxValidationCode {
        if function == "SlowOrderer" {
            tokio::time::sleep(Duration::from_secs(5)).await;
        }
        match function {
            "Conflict" => TxValidationCode::MvccReadConflict,
            _ => TxValidationCode::Valid,
        }
    }
}

type FakePeer = TestPeer<Echo>;

/// Blocks 0 to 4 hold nothing of interest; blocks 5, 6 and 7 hold events
/// `e5a`, `e5b`, `e6a`, `e7a` of chaincode `ehr`.
fn seed_chain(peer: &FakePeer) {
    let stored = |id: &str| {
        Committed::with_event(
            id,
            CHAINCODE,
            Event {
                name: "Stored".into(),
                payload: id.as_bytes().to_vec(),
            },
        )
    };
    for _ in 0..5 {
        peer.commit_block(Vec::new());
    }
    peer.commit_block(vec![stored("e5a"), stored("e5b")]);
    peer.commit_block(vec![stored("e6a")]);
    peer.commit_block(vec![stored("e7a")]);
}

/// A P-256 key and its self-signed certificate.
fn credentials(seed: u8) -> (p256::ecdsa::SigningKey, String) {
    ehrx_testkit::self_signed_p256(seed, "CN=User1@org1.net1.example.com,O=org1,C=US")
}

/// Starts the fake peer; returns a gateway connected to it, the fake's
/// state, and the channel, which other gateways may share.
async fn start(timeouts: Timeouts) -> (Gateway, FakePeer, tonic::transport::Channel) {
    let fake = TestPeer::new(Echo);
    seed_chain(&fake);
    let address = fake.serve().await.unwrap();
    let channel = hlf_gateway::ConnectionBuilder::new(address.to_string())
        .connect()
        .await
        .unwrap();
    let (key, certificate) = credentials(1);
    let identity = SigningIdentity::new(
        Identity::new("Net1Org1MSP", certificate),
        Arc::new(P256Signer::new(key)),
    );
    (
        Gateway::with_timeouts(channel.clone(), identity, timeouts),
        fake,
        channel,
    )
}

/// The channel, through a gateway with the default timeouts on a fresh
/// stand-in peer.
async fn network() -> Network {
    start(Timeouts::default()).await.0.network(CHANNEL)
}

/// The chaincode on [`network`]'s channel.
async fn contract() -> hlf_gateway::Contract {
    network().await.contract(CHAINCODE)
}

#[tokio::test]
async fn evaluate_returns_the_chaincode_result() {
    let contract = contract().await;
    assert_eq!(
        contract.evaluate("Get", ["k1", "k2"]).await.unwrap(),
        b"Get,k1,k2"
    );
    assert_eq!(contract.evaluate("Ping", NO_ARGS).await.unwrap(), b"Ping");
    // Fabric's 100 MiB limit, not tonic's 4 MiB default.
    assert_eq!(
        contract.evaluate("Big", NO_ARGS).await.unwrap().len(),
        6 * 1024 * 1024
    );
}

#[tokio::test]
async fn a_chaincode_error_on_evaluate_carries_the_peer_details() {
    let contract = contract().await;
    let error = contract.evaluate("Fail", ["x"]).await.unwrap_err();
    assert!(matches!(error, Error::Evaluate(_)), "{error}");
    assert_eq!(error.transaction_id().map(str::len), Some(64));
    assert_eq!(error.details().len(), 1);
    assert_eq!(
        error.details()[0].message,
        "chaincode response 500, no such record"
    );
}

#[tokio::test]
async fn the_evaluate_timeout_applies() {
    let timeouts = Timeouts {
        evaluate: Duration::from_millis(200),
        ..Timeouts::default()
    };
    let (gateway, _, _) = start(timeouts).await;
    let contract = gateway.network(CHANNEL).contract(CHAINCODE);
    let started = std::time::Instant::now();
    let error = contract.evaluate("Slow", NO_ARGS).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(3));
    match error {
        // The client gives up (Cancelled) or the server honours the
        // propagated grpc-timeout (DeadlineExceeded), whichever comes first.
        Error::Evaluate(call) => assert!(
            matches!(
                call.status.code(),
                tonic::Code::Cancelled | tonic::Code::DeadlineExceeded
            ),
            "{call}"
        ),
        other => panic!("expected an evaluate error, got {other}"),
    }
}

#[tokio::test]
async fn submit_endorses_signs_submits_and_waits_for_the_commit() {
    let (gateway, fake, _) = start(Timeouts::default()).await;
    let contract = gateway.network(CHANNEL).contract(CHAINCODE);
    let committed = contract.submit("Put", ["k", "v"]).await.unwrap();
    assert_eq!(committed.result, b"Put,k,v");
    assert!(committed.status.is_successful());
    // The first block after the fake's initial chain of 8.
    assert_eq!(committed.status.block_number, 8);
    assert_eq!(
        fake.committed(&committed.status.transaction_id),
        Some((8, TxValidationCode::Valid))
    );
}

#[tokio::test]
async fn a_commit_is_followed_by_its_transaction_id_alone() {
    // As when waiting for another peer to commit what this one submitted.
    let network = network().await;
    let committed = network
        .contract(CHAINCODE)
        .submit("Put", ["k"])
        .await
        .unwrap();
    let id = committed.status.transaction_id.clone();
    let status = network.commit(id.clone()).status().await.unwrap();
    assert_eq!(status, committed.status);
    // A transaction that never commits: the peer waits, the deadline ends it.
    let started = std::time::Instant::now();
    let unknown = network
        .commit("no-such-transaction")
        .timeout(Duration::from_millis(200))
        .status()
        .await;
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_deadline(unknown, "commit status");
}

#[tokio::test]
async fn submit_async_returns_the_result_before_the_commit() {
    let contract = contract().await;
    let submitted = contract.submit_async("Put", ["a"]).await.unwrap();
    assert_eq!(submitted.result, b"Put,a");
    let status = submitted.commit.status().await.unwrap();
    assert_eq!(status.transaction_id, submitted.commit.transaction_id());
    assert!(status.is_successful());
}

#[tokio::test]
async fn transient_data_and_endorsing_organizations_reach_the_gateway() {
    let (gateway, fake, _) = start(Timeouts::default()).await;
    let contract = gateway.network(CHANNEL).contract(CHAINCODE);
    let transaction = contract
        .proposal("PutPrivate")
        .arg("k")
        .transient("record", b"{}".to_vec())
        .endorsing_organizations(["Net1Org1MSP", "Net1Org2MSP"])
        .build()
        .unwrap()
        .endorse()
        .await
        .unwrap();
    assert_eq!(transaction.result(), b"PutPrivate,k,transient:record");
    assert_eq!(
        fake.endorsers(transaction.transaction_id()).unwrap(),
        ["Net1Org1MSP", "Net1Org2MSP"]
    );
}

#[tokio::test]
async fn an_invalid_commit_is_a_commit_error_with_its_code() {
    let contract = contract().await;
    let error = contract.submit("Conflict", NO_ARGS).await.unwrap_err();
    match &error {
        Error::Commit {
            code, block_number, ..
        } => {
            assert_eq!(*code, TxValidationCode::MvccReadConflict);
            assert_eq!(*block_number, 8);
        }
        other => panic!("expected a commit error, got {other}"),
    }
    assert!(error.to_string().contains("MVCC_READ_CONFLICT"));
}

#[tokio::test]
async fn a_refused_endorsement_is_an_endorse_error_with_details() {
    let contract = contract().await;
    let error = contract.submit("Deny", NO_ARGS).await.unwrap_err();
    assert!(matches!(error, Error::Endorse(_)), "{error}");
    assert_eq!(error.details()[0].msp_id, "Net1Org1MSP");
    assert!(error.to_string().contains("access denied"), "{error}");
}

#[tokio::test]
async fn a_wrong_key_is_refused_by_the_peer() {
    let (_, _, channel) = start(Timeouts::default()).await;
    // The certificate of key 1, signed with key 2.
    let (_, certificate) = credentials(1);
    let (other_key, _) = credentials(2);
    let impostor = Gateway::new(
        // The same connection, another identity: channels are shared.
        channel,
        SigningIdentity::new(
            Identity::new("Net1Org1MSP", certificate),
            Arc::new(P256Signer::new(other_key)),
        ),
    );
    let error = impostor
        .network(CHANNEL)
        .contract(CHAINCODE)
        .evaluate("Get", NO_ARGS)
        .await
        .unwrap_err();
    match error {
        Error::Evaluate(call) => {
            assert_eq!(call.status.code(), tonic::Code::PermissionDenied);
        }
        other => panic!("expected an evaluate error, got {other}"),
    }
}

#[tokio::test]
async fn chaincode_events_resume_from_a_file_checkpoint_without_loss_or_repeat() {
    let network = network().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("checkpoint.json");

    // The same listener twice, resuming from the checkpoint file.
    let listen = |checkpointer: &FileCheckpointer| {
        network
            .chaincode_events(CHAINCODE)
            .start_block(5)
            .checkpointer(checkpointer)
            .build()
    };

    // First listener: processes two events, then stops.
    let mut checkpointer = FileCheckpointer::open(&path).unwrap();
    let mut events = listen(&checkpointer).events().await.unwrap();
    let mut seen = Vec::new();
    for _ in 0..2 {
        let event = events.next().await.unwrap().unwrap();
        seen.push(event.transaction_id.clone());
        checkpointer.checkpoint_chaincode_event(&event).unwrap();
    }
    drop(events);
    drop(checkpointer);

    // Second listener, recreated from the file. The stream stays open for
    // blocks to come, so it is read for as many events as the chain holds.
    let checkpointer = FileCheckpointer::open(&path).unwrap();
    let mut events = listen(&checkpointer).events().await.unwrap();
    for _ in 0..2 {
        seen.push(within(SECOND, events.next()).await.unwrap().transaction_id);
    }
    assert_eq!(seen, ["e5a", "e5b", "e6a", "e7a"]);
}

const SECOND: Duration = Duration::from_secs(1);

/// The next item of an event stream, which must come within `limit`.
async fn within<T>(
    limit: Duration,
    next: impl std::future::Future<Output = Option<Result<T, Error>>>,
) -> Result<T, Error> {
    tokio::time::timeout(limit, next)
        .await
        .expect("an event in time")
        .expect("an open stream")
}

/// Opening a stream must not wait for the peer's first message.
async fn open<T>(opening: impl std::future::Future<Output = Result<T, Error>>) -> T {
    tokio::time::timeout(SECOND, opening)
        .await
        .expect("the stream opens at once")
        .unwrap()
}

#[tokio::test]
async fn filtered_blocks_arrive_in_order_from_the_start_block() {
    let events = network()
        .await
        .filtered_block_events()
        .start_block(3)
        .build();
    let mut blocks = open(events.events()).await;
    let mut numbers = Vec::new();
    for _ in 0..5 {
        numbers.push(within(SECOND, blocks.next()).await.unwrap().block_number());
    }
    assert_eq!(numbers, [3, 4, 5, 6, 7]);
}

#[tokio::test]
async fn a_refused_deliver_stream_opens_and_fails_on_its_first_read() {
    let events = network().await.block_and_private_data_events().build();
    let mut stream = open(events.events()).await;
    match within(SECOND, stream.next()).await {
        Err(Error::Events(call)) => {
            assert_eq!(call.status.code(), tonic::Code::PermissionDenied);
        }
        other => panic!("expected an events error, got {other:?}"),
    }
    assert!(stream.next().await.is_none(), "nothing after the error");
}

#[tokio::test]
async fn chaincode_events_open_then_submit_then_read_in_one_task() {
    let network = network().await;
    // Nothing is pending: the stream waits for the next commit, which this
    // same task is about to make.
    let mut events = open(network.chaincode_events(CHAINCODE).build().events()).await;
    let committed = network
        .contract(CHAINCODE)
        .submit("Put", ["k", "v"])
        .await
        .unwrap();
    let event = within(SECOND, events.next()).await.unwrap();
    assert_eq!(event.transaction_id, committed.status.transaction_id);
    assert_eq!(event.block_number, committed.status.block_number);
    assert_eq!(
        (event.event_name.as_str(), event.payload),
        ("Put", committed.result)
    );
}

#[tokio::test]
async fn a_chaincode_without_events_opens_at_once_from_a_start_block() {
    let network = network().await;
    let mut quiet = open(
        network
            .chaincode_events("quiet")
            .start_block(0)
            .build()
            .events(),
    )
    .await;
    let committed = network
        .contract(CHAINCODE)
        .submit("Put", ["k"])
        .await
        .unwrap();
    assert!(committed.status.is_successful());
    assert!(
        tokio::time::timeout(Duration::from_millis(200), quiet.next())
            .await
            .is_err(),
        "no events for a chaincode that emits none"
    );
    quiet.close();
    assert!(quiet.next().await.is_none(), "a closed stream ends");
}

#[tokio::test]
async fn block_events_open_then_submit_then_read_in_one_task() {
    let network = network().await;
    let mut blocks = open(network.block_events().build().events()).await;
    let mut filtered = open(network.filtered_block_events().build().events()).await;
    let committed = network
        .contract(CHAINCODE)
        .submit("Put", ["k"])
        .await
        .unwrap();
    let transaction_id = committed.status.transaction_id;

    let block = match within(SECOND, blocks.next()).await.unwrap() {
        BlockEvent::Block(block) => block,
        other => panic!("expected a full block, got {other:?}"),
    };
    assert_eq!(
        block.header.as_ref().map(|h| h.number),
        Some(committed.status.block_number)
    );
    let envelope =
        common::Envelope::decode(block.data.unwrap_or_default().data[0].as_slice()).unwrap();
    let payload = common::Payload::decode(envelope.payload.as_slice()).unwrap();
    let channel_header =
        common::ChannelHeader::decode(payload.header.unwrap().channel_header.as_slice()).unwrap();
    assert_eq!(channel_header.tx_id, transaction_id);

    let filtered = match within(SECOND, filtered.next()).await.unwrap() {
        BlockEvent::Filtered(block) => block,
        other => panic!("expected a filtered block, got {other:?}"),
    };
    assert_eq!(filtered.number, committed.status.block_number);
    assert_eq!(filtered.filtered_transactions[0].txid, transaction_id);
    assert_eq!(
        filtered.filtered_transactions[0].tx_validation_code,
        TxValidationCode::Valid as i32
    );
}

#[tokio::test]
async fn event_streams_are_streams_and_dropping_one_ends_its_call() {
    use tokio_stream::StreamExt as _;
    let (gateway, fake, _) = start(Timeouts::default()).await;
    let network = gateway.network(CHANNEL);
    let events = open(
        network
            .chaincode_events(CHAINCODE)
            .start_block(5)
            .build()
            .events(),
    )
    .await;
    // Any `Stream` combinator works on it.
    let ids: Vec<String> = tokio::time::timeout(
        SECOND,
        events
            .take(3)
            .map(|event| event.unwrap().transaction_id)
            .collect(),
    )
    .await
    .unwrap();
    assert_eq!(ids, ["e5a", "e5b", "e6a"]);

    let blocks = open(network.filtered_block_events().build().events()).await;
    tokio::time::timeout(SECOND, async {
        while fake.open_streams() == 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the call reaches the peer without being read");
    drop(blocks);
    tokio::time::timeout(SECOND, async {
        while fake.open_streams() > 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("dropping the stream cancels its call at the peer");
}

#[tokio::test]
async fn an_event_stream_deadline_ends_it_with_deadline_exceeded() {
    let (gateway, _, _) = start(Timeouts::default()).await;
    let started = std::time::Instant::now();
    let mut quiet = open(
        gateway
            .network(CHANNEL)
            .chaincode_events("quiet")
            .build()
            .timeout(Duration::from_millis(200))
            .events(),
    )
    .await;
    match within(Duration::from_secs(3), quiet.next()).await {
        Err(Error::Events(call)) => assert_eq!(call.status.code(), tonic::Code::DeadlineExceeded),
        other => panic!("expected a deadline error, got {other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(2));
}

/// `stage` (`evaluate`, `endorse`, `submit`, `commit status`) failed at
/// its deadline: the client gave up (Cancelled) or the server honoured the
/// propagated grpc-timeout (DeadlineExceeded), whichever came first.
fn assert_deadline<T: std::fmt::Debug>(result: Result<T, Error>, stage: &str) {
    let error = result.expect_err("the call outlived its deadline");
    let call = match &error {
        Error::Evaluate(call)
        | Error::Endorse(call)
        | Error::Submit(call)
        | Error::CommitStatus(call) => call,
        other => panic!("expected a {stage} error, got {other:?}"),
    };
    assert!(error.to_string().starts_with(stage), "{error}");
    assert!(
        matches!(
            call.status.code(),
            tonic::Code::Cancelled | tonic::Code::DeadlineExceeded
        ),
        "{call}"
    );
}

#[tokio::test]
async fn each_stage_takes_its_own_deadline() {
    // Generous gateway defaults: only the per-call deadlines can end these.
    let contract = contract().await;
    let short = Duration::from_millis(200);

    let started = std::time::Instant::now();
    let slow = |function| contract.proposal(function).build().unwrap();
    assert_deadline(slow("Slow").timeout(short).evaluate().await, "evaluate");
    assert_deadline(slow("Slow").timeout(short).endorse().await, "endorse");
    let transaction = slow("SlowOrderer").endorse().await.unwrap();
    assert_deadline(transaction.timeout(short).submit().await, "submit");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_huge_chaincode_error_fails_fast_and_the_connection_serves_the_next_call() {
    let (gateway, _, channel) = start(Timeouts::default()).await;
    let contract = gateway.network(CHANNEL).contract(CHAINCODE);
    let huge = tokio::time::timeout(Duration::from_secs(3), contract.evaluate("Huge", NO_ARGS))
        .await
        .expect("an answer, not a hang");
    assert!(matches!(huge, Err(Error::Evaluate(_))), "{huge:?}");
    for contract in [
        contract,
        // Another gateway on the same channel, as the relay shares one.
        Gateway::new(channel, gateway.identity().clone())
            .network(CHANNEL)
            .contract(CHAINCODE),
    ] {
        let next = tokio::time::timeout(SECOND, contract.evaluate("Ping", NO_ARGS))
            .await
            .expect("the next call is served within a second");
        assert_eq!(next.unwrap(), b"Ping");
    }
}

#[tokio::test]
async fn an_error_larger_than_the_http2_default_arrives_whole() {
    let contract = contract().await;
    let error = contract.evaluate("Verbose", NO_ARGS).await.unwrap_err();
    assert!(matches!(error, Error::Evaluate(_)), "{error}");
    assert_eq!(error.details().len(), 1, "{error}");
    assert_eq!(error.details()[0].message.len(), VERBOSE_ERROR);
}

#[tokio::test]
async fn a_named_contract_prefixes_its_transaction_names() {
    let network = network().await;
    let records = network.contract_with_name(CHAINCODE, "records");
    assert_eq!(records.contract_name(), Some("records"));
    assert_eq!(records.chaincode(), CHAINCODE);
    assert_eq!(
        records.evaluate("Get", ["k"]).await.unwrap(),
        b"records:Get,k"
    );
    let committed = records.submit("Put", ["k", "v"]).await.unwrap();
    assert_eq!(committed.result, b"records:Put,k,v");
    // Without a name, the chaincode's default contract.
    let plain = network.contract(CHAINCODE);
    assert_eq!(plain.contract_name(), None);
    assert_eq!(plain.evaluate("Get", ["k"]).await.unwrap(), b"Get,k");
}

#[test]
fn the_sdk_names_the_prost_and_tonic_its_types_come_from() {
    // These compile only if the re-exports are the very crates the SDK's
    // types use: a status made with the re-exported tonic is a call error's
    // status, and the re-exported prost decodes the SDK's block type.
    use hlf_gateway::prost::Message as _;
    let status = hlf_gateway::tonic::Status::not_found("no such block");
    let error = Error::Evaluate(hlf_gateway::CallError::new("t1", status));
    match &error {
        Error::Evaluate(call) => assert_eq!(call.status.code(), hlf_gateway::tonic::Code::NotFound),
        other => panic!("{other}"),
    }
    let block = common::Block {
        header: Some(common::BlockHeader {
            number: 9,
            ..Default::default()
        }),
        ..Default::default()
    };
    let event = BlockEvent::Block(common::Block::decode(block.encode_to_vec().as_slice()).unwrap());
    assert_eq!(event.block_number(), 9);
}
