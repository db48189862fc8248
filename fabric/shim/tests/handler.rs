#![cfg(test)]
//! The protocol handler against a fake peer that speaks the real protocol
//! over a real gRPC connection on 127.0.0.1: it dials the shim's server the
//! way a peer does, answers ledger requests from the in-memory ledger's
//! simulations, and holds its answers back until the shim goes quiet, so a
//! second outstanding request of one transaction would be seen.

use std::{collections::HashMap, net::SocketAddr, time::Duration};

use hlf_protos::peer::{
    ChaincodeAdditionalParams, ChaincodeId, ChaincodeMessage, Response,
    chaincode_client::ChaincodeClient, chaincode_message::Type,
};
use hlf_shim::{
    Chaincode, ServerConfig, ServerError, Stub, StubError, chaincode,
    link::PeerCapabilities,
    server::MAX_MESSAGE_SIZE,
    testing::{Invocation, MemoryLedger, Simulation},
};
use prost::Message;
use tokio::{
    net::TcpListener,
    sync::{mpsc, oneshot},
    time::timeout,
};
use tonic::{
    Streaming,
    codegen::tokio_stream::wrappers::ReceiverStream,
    transport::{Channel, Endpoint},
};

const PACKAGE_ID: &str = "probe:0123abcd";
const CHANNEL: &str = "ehrchannel";

/// A chaincode whose functions each exercise one part of the protocol.
struct Probe;

fn describe(error: StubError) -> String {
    match error {
        StubError::Peer { request, message } => format!("typed peer error on {request}: {message}"),
        other => other.to_string(),
    }
}

async fn run(stub: Stub) -> Result<Vec<u8>, String> {
    let args: Vec<String> = stub
        .args()
        .iter()
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    match args.first().map(String::as_str) {
        Some("get") => Ok(stub
            .get_state(&args[1])
            .await
            .map_err(describe)?
            .unwrap_or_default()),
        Some("put") => {
            for pair in args[1..].chunks(2) {
                stub.put_state(&pair[0], pair[1].as_bytes().to_vec())
                    .await
                    .map_err(describe)?;
            }
            Ok(Vec::new())
        }
        Some("copy") => {
            let value = stub
                .get_state(&args[1])
                .await
                .map_err(describe)?
                .unwrap_or_default();
            stub.put_state(&args[2], value.clone())
                .await
                .map_err(describe)?;
            Ok(value)
        }
        Some("parallel") => {
            // Clones share the transaction, and so its one-request limit.
            let clone = stub.clone();
            let (a, b, c) = tokio::join!(
                stub.get_state("k1"),
                clone.get_state("k2"),
                stub.get_state("k3")
            );
            let mut out = Vec::new();
            for value in [a, b, c] {
                out.extend(value.map_err(describe)?.unwrap_or_default());
            }
            Ok(out)
        }
        Some("multi") => {
            let keys: Vec<&str> = args[1..].iter().map(String::as_str).collect();
            let values = stub.get_multiple_states(&keys).await.map_err(describe)?;
            Ok(values
                .into_iter()
                .map(Option::unwrap_or_default)
                .collect::<Vec<_>>()
                .join(&b","[..]))
        }
        Some("event") => {
            stub.set_event("Happened", args[1].as_bytes().to_vec())
                .map_err(describe)?;
            Ok(Vec::new())
        }
        Some("event-then-fail") => {
            stub.set_event("Happened", Vec::new()).map_err(describe)?;
            Err("failed after setting an event".into())
        }
        Some("invoke") => {
            let response = stub
                .invoke_chaincode("other", vec![b"ping".to_vec()], "")
                .await
                .map_err(describe)?;
            Ok(response.payload)
        }
        Some("echo") => Ok(stub.args()[1].clone()),
        // As a contract that quotes a 1 MiB argument in its refusal.
        Some("huge-error") => Err(format!("no record {}", args[1])),
        Some("panic") => panic!("contract bug"),
        Some("sleep") => {
            tokio::time::sleep(Duration::from_millis(200)).await;
            Ok(Vec::new())
        }
        other => Err(format!("unknown function {other:?}")),
    }
}

impl Chaincode for Probe {
    async fn init(&self, stub: Stub) -> Response {
        if stub.args().first().map(Vec::as_slice) == Some(b"fail") {
            return chaincode::error("init refused");
        }
        chaincode::success(b"initialised".to_vec())
    }

    async fn invoke(&self, stub: Stub) -> Response {
        match run(stub).await {
            Ok(payload) => chaincode::success(payload),
            Err(message) => chaincode::error(message),
        }
    }
}

/// The shim's server on a random port, stopped when dropped.
struct Server {
    address: SocketAddr,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Result<(), ServerError>>,
}

async fn start_server() -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let config = ServerConfig {
        chaincode_id: PACKAGE_ID.into(),
        address: address.to_string(),
        tls: None,
    };
    let task = tokio::spawn(config.serve_on(listener, Probe, async {
        let _ = stopped.await;
    }));
    Server {
        address,
        stop,
        task,
    }
}

/// One peer connection: what it sends and what it receives.
struct FakePeer {
    to_shim: mpsc::Sender<ChaincodeMessage>,
    from_shim: Streaming<ChaincodeMessage>,
}

impl FakePeer {
    async fn dial(address: SocketAddr) -> Self {
        let channel: Channel = Endpoint::from_shared(format!("http://{address}"))
            .unwrap()
            .connect()
            .await
            .unwrap();
        let mut client = ChaincodeClient::new(channel)
            .max_decoding_message_size(MAX_MESSAGE_SIZE)
            .max_encoding_message_size(MAX_MESSAGE_SIZE);
        let (to_shim, outbound) = mpsc::channel(64);
        let from_shim = client
            .connect(ReceiverStream::new(outbound))
            .await
            .unwrap()
            .into_inner();
        Self { to_shim, from_shim }
    }

    async fn send(&self, message: ChaincodeMessage) {
        self.to_shim.send(message).await.unwrap();
    }

    async fn recv(&mut self) -> ChaincodeMessage {
        timeout(Duration::from_secs(10), self.from_shim.message())
            .await
            .expect("the shim went silent")
            .unwrap()
            .unwrap()
    }

    /// Checks REGISTER, answers REGISTERED and READY (empty like a v2.5 peer,
    /// or with parameters like a v3 peer).
    async fn handshake(&mut self, ready: Option<ChaincodeAdditionalParams>) {
        let register = self.recv().await;
        assert_eq!(register.r#type, Type::Register as i32);
        assert_eq!(
            ChaincodeId::decode(register.payload.as_slice())
                .unwrap()
                .name,
            PACKAGE_ID
        );
        self.send(message(Type::Registered, "", "", Vec::new()))
            .await;
        self.send(message(
            Type::Ready,
            "",
            "",
            ready.map(|p| p.encode_to_vec()).unwrap_or_default(),
        ))
        .await;
    }

    /// Sends a transaction `txid` of `args` on the channel.
    async fn invoke<A: Into<Vec<u8>>>(&self, txid: &str, args: impl IntoIterator<Item = A>) {
        let invocation = Invocation::new(args);
        self.send(transaction(Type::Transaction, CHANNEL, txid, &invocation))
            .await;
    }

    /// Waits for the shim to end the stream.
    async fn assert_ended(&mut self) {
        let next = timeout(Duration::from_secs(5), self.from_shim.message())
            .await
            .expect("the stream did not end");
        assert!(next.unwrap().is_none());
    }

    async fn connect_ready(server: &Server) -> Self {
        let mut peer = Self::dial(server.address).await;
        peer.handshake(None).await;
        peer
    }
}

fn message(kind: Type, channel: &str, txid: &str, payload: Vec<u8>) -> ChaincodeMessage {
    ChaincodeMessage {
        r#type: kind as i32,
        payload,
        txid: txid.into(),
        channel_id: channel.into(),
        ..ChaincodeMessage::default()
    }
}

fn transaction(kind: Type, channel: &str, txid: &str, invocation: &Invocation) -> ChaincodeMessage {
    let timestamp = prost_types::Timestamp {
        seconds: 1_700_000_000,
        nanos: 0,
    };
    ChaincodeMessage {
        proposal: Some(invocation.signed_proposal(channel, txid, timestamp)),
        ..message(kind, channel, txid, invocation.input().encode_to_vec())
    }
}

type Answerer = Box<dyn FnMut(&ChaincodeMessage, &mut Simulation) -> ChaincodeMessage + Send>;

/// Runs transactions against the ledger like a peer, recording every
/// request and the final message of each transaction.
struct Driver {
    peer: FakePeer,
    ledger: MemoryLedger,
    simulations: HashMap<String, Simulation>,
    answer: Answerer,
    requests: Vec<ChaincodeMessage>,
}

impl Driver {
    fn new(peer: FakePeer, ledger: MemoryLedger) -> Self {
        Self {
            peer,
            ledger,
            simulations: HashMap::new(),
            answer: Box::new(|request, simulation| simulation.answer(request)),
            requests: Vec::new(),
        }
    }

    async fn start(&mut self, kind: Type, txid: &str, invocation: &Invocation) {
        self.simulations
            .insert(txid.into(), self.ledger.simulation(txid));
        self.peer
            .send(transaction(kind, CHANNEL, txid, invocation))
            .await;
    }

    /// Starts a transaction `txid` of `args` on the channel.
    async fn invoke<A: Into<Vec<u8>>>(&mut self, txid: &str, args: impl IntoIterator<Item = A>) {
        self.start(Type::Transaction, txid, &Invocation::new(args))
            .await;
    }

    /// Answers requests, newest first, whenever the shim is quiet for a
    /// moment, until `count` transactions have finished.
    async fn finish(&mut self, count: usize) -> HashMap<String, ChaincodeMessage> {
        let mut finished = HashMap::new();
        let mut held: Vec<ChaincodeMessage> = Vec::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while finished.len() < count {
            assert!(
                tokio::time::Instant::now() < deadline,
                "transactions did not finish: {finished:?}"
            );
            match timeout(Duration::from_millis(30), self.peer.from_shim.message()).await {
                Ok(Ok(Some(message))) => match Type::try_from(message.r#type) {
                    Ok(Type::Completed | Type::Error) => {
                        assert!(
                            held.iter().all(|h| h.txid != message.txid),
                            "finished with a request outstanding"
                        );
                        if let Some(mut simulation) = self.simulations.remove(&message.txid)
                            && message.r#type == Type::Completed as i32
                            && Response::decode(message.payload.as_slice()).unwrap().status < 400
                        {
                            simulation.commit(message.chaincode_event.clone());
                        }
                        finished.insert(message.txid.clone(), message);
                    }
                    _ => {
                        assert!(
                            held.iter().all(|h| (&h.channel_id, &h.txid)
                                != (&message.channel_id, &message.txid)),
                            "a second request of {} while one is outstanding: {message:?}",
                            message.txid
                        );
                        self.requests.push(message.clone());
                        held.push(message);
                    }
                },
                Ok(other) => panic!("the shim's stream ended: {other:?}"),
                Err(_quiet) => {
                    for request in held.drain(..).rev() {
                        let simulation = self
                            .simulations
                            .get_mut(&request.txid)
                            .expect("a request of an unknown transaction");
                        let answer = (self.answer)(&request, simulation);
                        self.peer.send(answer).await;
                    }
                }
            }
        }
        finished
    }

    fn request_types(&self, txid: &str) -> Vec<i32> {
        self.requests
            .iter()
            .filter(|r| r.txid == txid)
            .map(|r| r.r#type)
            .collect()
    }
}

fn response(message: &ChaincodeMessage) -> Response {
    assert_eq!(message.r#type, Type::Completed as i32, "{message:?}");
    Response::decode(message.payload.as_slice()).unwrap()
}

#[tokio::test]
async fn concurrent_transactions_interleave_on_one_stream() {
    let server = start_server().await;
    let ledger = MemoryLedger::new();
    for i in 0..8 {
        ledger.seed_state(&format!("src{i}"), format!("value{i}").as_bytes());
    }
    let mut driver = Driver::new(FakePeer::connect_ready(&server).await, ledger.clone());
    for i in 0..8 {
        driver
            .start(
                Type::Transaction,
                &format!("tx{i}"),
                &Invocation::new(["copy", &format!("src{i}"), &format!("dst{i}")]),
            )
            .await;
    }
    let finished = driver.finish(8).await;
    for i in 0..8 {
        let response = response(&finished[&format!("tx{i}")]);
        assert_eq!(
            (response.status, response.payload),
            (200, format!("value{i}").into_bytes())
        );
        assert_eq!(finished[&format!("tx{i}")].channel_id, CHANNEL);
        assert_eq!(
            ledger.state_of(&format!("dst{i}")),
            Some(format!("value{i}").into_bytes())
        );
        assert_eq!(
            driver.request_types(&format!("tx{i}")),
            [Type::GetState as i32, Type::PutState as i32]
        );
    }
}

#[tokio::test]
async fn one_outstanding_request_per_transaction() {
    let server = start_server().await;
    let ledger = MemoryLedger::new();
    for (key, value) in [("k1", "a"), ("k2", "b"), ("k3", "c")] {
        ledger.seed_state(key, value.as_bytes());
    }
    let mut driver = Driver::new(FakePeer::connect_ready(&server).await, ledger);
    driver.invoke("joined", ["parallel"]).await;
    driver.invoke("other", ["get", "k1"]).await;
    // `finish` fails if a second request of "joined" arrives before the first is answered.
    let finished = driver.finish(2).await;
    assert_eq!(response(&finished["joined"]).payload, b"abc");
    assert_eq!(driver.request_types("joined").len(), 3);
}

#[tokio::test]
async fn a_peer_error_reaches_the_contract_as_a_typed_error() {
    let server = start_server().await;
    let mut driver = Driver::new(FakePeer::connect_ready(&server).await, MemoryLedger::new());
    driver.answer = Box::new(|request, _| {
        message(
            Type::Error,
            &request.channel_id,
            &request.txid,
            b"no ledger context".to_vec(),
        )
    });
    driver.invoke("t", ["get", "k"]).await;
    let finished = driver.finish(1).await;
    let response = response(&finished["t"]);
    assert_eq!(response.status, 500);
    assert_eq!(
        response.message,
        "typed peer error on GET_STATE: no ledger context"
    );
}

#[tokio::test]
async fn keepalive_is_echoed_in_every_phase() {
    let server = start_server().await;
    let mut peer = FakePeer::dial(server.address).await;
    assert_eq!(peer.recv().await.r#type, Type::Register as i32);
    peer.send(message(Type::Keepalive, "", "", Vec::new()))
        .await;
    assert_eq!(peer.recv().await.r#type, Type::Keepalive as i32);
    peer.send(message(Type::Registered, "", "", Vec::new()))
        .await;
    peer.send(message(Type::Ready, "", "", Vec::new())).await;
    peer.send(message(Type::Keepalive, "", "", Vec::new()))
        .await;
    assert_eq!(peer.recv().await.r#type, Type::Keepalive as i32);
}

#[tokio::test]
async fn bad_messages_are_refused_and_the_stream_goes_on() {
    let server = start_server().await;
    let mut peer = FakePeer::connect_ready(&server).await;
    let bad = [
        message(Type::Undefined, CHANNEL, "u1", Vec::new()),
        ChaincodeMessage {
            r#type: 99,
            ..message(Type::Undefined, CHANNEL, "u2", Vec::new())
        },
        message(Type::GetState, CHANNEL, "u3", Vec::new()),
        message(Type::Transaction, CHANNEL, "u4", vec![0xff, 0xff, 0xff]),
        ChaincodeMessage {
            proposal: Some(hlf_protos::peer::SignedProposal {
                proposal_bytes: vec![0xff; 3],
                signature: Vec::new(),
            }),
            ..message(Type::Transaction, CHANNEL, "u5", Vec::new())
        },
    ];
    for message in bad {
        let txid = message.txid.clone();
        peer.send(message).await;
        let answer = peer.recv().await;
        assert_eq!(
            (
                answer.r#type,
                answer.txid.as_str(),
                answer.channel_id.as_str()
            ),
            (Type::Error as i32, txid.as_str(), CHANNEL)
        );
        assert!(!answer.payload.is_empty());
    }
    // An answer nobody asked for is ignored.
    peer.send(message(Type::Response, CHANNEL, "nobody", Vec::new()))
        .await;
    let mut driver = Driver::new(peer, MemoryLedger::new());
    driver.invoke("ok", ["echo", "still here"]).await;
    assert_eq!(
        response(&driver.finish(1).await["ok"]).payload,
        b"still here"
    );
}

#[tokio::test]
async fn an_unknown_channel_is_echoed_back() {
    let server = start_server().await;
    let mut peer = FakePeer::connect_ready(&server).await;
    peer.send(transaction(
        Type::Transaction,
        "no-such-channel",
        "t",
        &Invocation::new(["echo", "x"]),
    ))
    .await;
    let answer = peer.recv().await;
    assert_eq!(answer.channel_id, "no-such-channel");
    assert_eq!(response(&answer).payload, b"x");
}

#[tokio::test]
async fn a_handshake_violation_ends_only_that_stream() {
    let server = start_server().await;
    let mut peer = FakePeer::dial(server.address).await;
    peer.recv().await;
    peer.send(message(Type::Transaction, CHANNEL, "early", Vec::new()))
        .await;
    assert_eq!(peer.recv().await.r#type, Type::Error as i32);
    peer.assert_ended().await;
    let mut driver = Driver::new(FakePeer::connect_ready(&server).await, MemoryLedger::new());
    driver.invoke("t", ["echo", "fine"]).await;
    assert_eq!(response(&driver.finish(1).await["t"]).payload, b"fine");
}

#[tokio::test]
async fn a_dropped_stream_leaves_the_server_serving() {
    let server = start_server().await;
    let mut peer = FakePeer::connect_ready(&server).await;
    peer.invoke("orphan", ["get", "k"]).await;
    assert_eq!(peer.recv().await.r#type, Type::GetState as i32);
    drop(peer);
    let ledger = MemoryLedger::new();
    ledger.seed_state("k", b"v");
    let mut driver = Driver::new(FakePeer::connect_ready(&server).await, ledger);
    driver.invoke("orphan", ["get", "k"]).await;
    assert_eq!(response(&driver.finish(1).await["orphan"]).payload, b"v");
}

#[tokio::test]
async fn a_panic_fails_only_its_transaction() {
    let server = start_server().await;
    let mut driver = Driver::new(FakePeer::connect_ready(&server).await, MemoryLedger::new());
    driver.invoke("boom", ["panic"]).await;
    driver.invoke("fine", ["put", "k", "v"]).await;
    let finished = driver.finish(2).await;
    let boom = response(&finished["boom"]);
    assert_eq!(boom.status, 500);
    assert!(
        boom.message.contains("panicked: contract bug"),
        "{}",
        boom.message
    );
    assert_eq!(response(&finished["fine"]).status, 200);
}

#[tokio::test]
async fn init_failure_is_an_error_message() {
    let server = start_server().await;
    let mut driver = Driver::new(FakePeer::connect_ready(&server).await, MemoryLedger::new());
    driver
        .start(Type::Init, "bad", &Invocation::new(["fail"]).init())
        .await;
    driver
        .start(Type::Init, "good", &Invocation::new(["setup"]).init())
        .await;
    driver.invoke("invoke-fails", ["nope"]).await;
    let finished = driver.finish(3).await;
    assert_eq!(
        (finished["bad"].r#type, finished["bad"].payload.as_slice()),
        (Type::Error as i32, &b"init refused"[..])
    );
    assert_eq!(response(&finished["good"]).payload, b"initialised");
    assert_eq!(response(&finished["invoke-fails"]).status, 500);
}

#[tokio::test]
async fn a_huge_error_reaches_the_peer_bounded() {
    let server = start_server().await;
    let mut driver = Driver::new(FakePeer::connect_ready(&server).await, MemoryLedger::new());
    let id = "x".repeat(1 << 20);
    driver.invoke("huge", ["huge-error", id.as_str()]).await;
    let finished = driver.finish(1).await;
    let answer = response(&finished["huge"]);
    assert_eq!(answer.status, 500);
    assert!(
        answer.message.len() <= chaincode::MAX_ERROR_MESSAGE,
        "{} bytes",
        answer.message.len()
    );
    assert!(answer.message.starts_with("no record xxx"));
    assert!(
        answer.message.ends_with(&format!(
            "[truncated: {} bytes in all]",
            "no record ".len() + id.len()
        )),
        "{}",
        &answer.message[answer.message.len().saturating_sub(60)..]
    );
}

#[tokio::test]
async fn events_travel_with_successful_completions_only() {
    let server = start_server().await;
    let ledger = MemoryLedger::new();
    let mut driver = Driver::new(FakePeer::connect_ready(&server).await, ledger.clone());
    driver.invoke("ok", ["event", "payload"]).await;
    driver.invoke("failed", ["event-then-fail"]).await;
    let finished = driver.finish(2).await;
    let event = finished["ok"].chaincode_event.clone().unwrap();
    assert_eq!(
        (event.event_name.as_str(), event.payload.as_slice()),
        ("Happened", &b"payload"[..])
    );
    assert_eq!(finished["failed"].chaincode_event, None);
    assert_eq!(ledger.events().len(), 1);
}

#[tokio::test]
async fn invoke_chaincode_unwraps_the_callees_completion() {
    let server = start_server().await;
    let mut driver = Driver::new(FakePeer::connect_ready(&server).await, MemoryLedger::new());
    driver.answer = Box::new(|request, _| {
        assert_eq!(request.r#type, Type::InvokeChaincode as i32);
        let completed = message(
            Type::Completed,
            &request.channel_id,
            &request.txid,
            chaincode::success(b"pong".to_vec()).encode_to_vec(),
        );
        message(
            Type::Response,
            &request.channel_id,
            &request.txid,
            completed.encode_to_vec(),
        )
    });
    driver.invoke("t", ["invoke"]).await;
    assert_eq!(response(&driver.finish(1).await["t"]).payload, b"pong");
}

#[tokio::test]
async fn a_v2_peer_gets_single_writes_and_reads() {
    let server = start_server().await;
    let ledger = MemoryLedger::new();
    ledger.seed_state("a", b"1");
    ledger.seed_state("b", b"2");
    let mut driver = Driver::new(FakePeer::connect_ready(&server).await, ledger);
    driver.invoke("w", ["put", "x", "1", "y", "2"]).await;
    driver.invoke("r", ["multi", "a", "b"]).await;
    let finished = driver.finish(2).await;
    assert_eq!(
        driver.request_types("w"),
        [Type::PutState as i32, Type::PutState as i32]
    );
    assert_eq!(
        driver.request_types("r"),
        [Type::GetState as i32, Type::GetState as i32]
    );
    assert_eq!(response(&finished["r"]).payload, b"1,2");
}

#[tokio::test]
async fn a_v3_peer_gets_write_batches_and_multi_key_reads() {
    let server = start_server().await;
    let capabilities = PeerCapabilities {
        write_batch: Some(100),
        get_multiple: Some(100),
    };
    let ledger = MemoryLedger::new().with_capabilities(capabilities);
    ledger.seed_state("a", b"1");
    let mut peer = FakePeer::dial(server.address).await;
    peer.handshake(Some(ChaincodeAdditionalParams {
        use_write_batch: true,
        max_size_write_batch: 100,
        use_get_multiple_keys: true,
        max_size_get_multiple_keys: 100,
    }))
    .await;
    let mut driver = Driver::new(peer, ledger.clone());
    driver.invoke("w", ["put", "x", "1", "y", "2"]).await;
    driver.invoke("r", ["multi", "a", "missing"]).await;
    let finished = driver.finish(2).await;
    assert_eq!(driver.request_types("w"), [Type::WriteBatchState as i32]);
    assert_eq!(driver.request_types("r"), [Type::GetStateMultiple as i32]);
    assert_eq!(response(&finished["r"]).payload, b"1,");
    assert_eq!(ledger.state_of("y"), Some(b"2".to_vec()));
}

#[tokio::test]
async fn messages_beyond_tonics_default_limit_pass_both_ways() {
    let server = start_server().await;
    let mut peer = FakePeer::connect_ready(&server).await;
    let big = vec![b'x'; 6 * 1024 * 1024];
    peer.invoke("big", [b"echo".to_vec(), big.clone()]).await;
    assert_eq!(response(&peer.recv().await).payload, big);
}

#[tokio::test]
async fn a_transaction_id_already_running_is_refused() {
    let server = start_server().await;
    let mut peer = FakePeer::connect_ready(&server).await;
    peer.invoke("dup", ["sleep"]).await;
    peer.invoke("dup", ["sleep"]).await;
    let first = peer.recv().await;
    assert_eq!(
        (first.r#type, first.txid.as_str()),
        (Type::Error as i32, "dup")
    );
    assert_eq!(response(&peer.recv().await).status, 200);
}

#[tokio::test]
async fn a_stopped_server_refuses_new_connections() {
    let server = start_server().await;
    let address = server.address;
    server.stop.send(()).unwrap();
    server.task.await.unwrap().unwrap();
    assert!(
        Endpoint::from_shared(format!("http://{address}"))
            .unwrap()
            .connect()
            .await
            .is_err()
    );
}

#[tokio::test]
async fn shutdown_drains_running_transactions_then_ends_streams() {
    let server = start_server().await;
    let mut peer = FakePeer::connect_ready(&server).await;
    peer.invoke("running", ["sleep"]).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    server.stop.send(()).unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    peer.invoke("late", ["echo", "x"]).await;
    let refused = peer.recv().await;
    assert_eq!(
        (refused.r#type, refused.txid.as_str()),
        (Type::Error as i32, "late")
    );
    let completed = peer.recv().await;
    assert_eq!(
        (response(&completed).status, completed.txid.as_str()),
        (200, "running")
    );
    peer.assert_ended().await;
    timeout(Duration::from_secs(5), server.task)
        .await
        .expect("the server did not stop")
        .unwrap()
        .unwrap();
}
