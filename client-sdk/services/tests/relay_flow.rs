//! Two relays in process, talking over real mutual TLS on 127.0.0.1, with
//! each network's Fabric side replaced by stand-ins behind the relay's
//! seams: an in-memory ledger of chaincode events ([`EventSource`]) that
//! resumes from a checkpoint as the gateway does, and a recorder of
//! `AcceptRequest`/`AcceptReply` submissions ([`Submitter`]) that answers
//! as the EHR chaincode would (idempotent for identical bytes, refusals as
//! endorsement errors). The end-to-end tests in `tests/` run real peers.

#![cfg(test)]

use std::{
    collections::{HashMap, HashSet},
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use ed25519_dalek::SigningKey;
use ehrx_client::{
    fabric::{
        CallError, ChaincodeEvent, Checkpoint, Committed, ConnectionBuilder, Error,
        Status as CommitStatus, protos::peer,
    },
    proto::exchange::{
        ChallengeRequest, Delivery, ForwardedEnvelope, Reply, Request, SignedReply, SignedRequest,
        forwarded_envelope::Payload, relay_client::RelayClient,
    },
};
use ehrx_services::relay::{
    EventSource, EventStream, Relay, RelayConfig, RelayError, Submitter, checkpoint::CheckpointFile,
};
use prost::Message as _;
use tokio::{
    io::{AsyncReadExt as _, AsyncWriteExt as _},
    sync::{Notify, mpsc, oneshot},
    task::JoinHandle,
};

// ---------------------------------------------------------------- PKI

/// The workspace's throwaway CA; relays get certificates for `localhost`
/// and 127.0.0.1, good for TLS servers and clients alike.
use ehrx_testkit::Ca;

// ---------------------------------------------------------- the ledger

#[derive(Default)]
struct LedgerState {
    events: Vec<ChaincodeEvent>,
    /// Bumped to make every open stream fail, as a peer restart does.
    generation: u64,
    opened: usize,
}

/// A network's chaincode events, in memory.
#[derive(Clone, Default)]
struct Ledger {
    state: Arc<Mutex<LedgerState>>,
    changed: Arc<Notify>,
    /// The signed messages its events name, by the function that reads
    /// them and request id, as the contract keeps them in private data.
    stored: Arc<Mutex<Stored>>,
}

/// Signed messages by the function that reads them and request id.
type Stored = HashMap<(String, String), Vec<u8>>;

impl Ledger {
    /// The payload the contract emits for `payload`: a signed request or
    /// reply is stored, and its event names only its request id (garbage
    /// is emitted as it is).
    fn name_only(&self, event_name: &str, payload: Vec<u8>) -> Vec<u8> {
        let (function, request_id) = match event_name {
            "RequestValidated" => (
                "GetSignedRequest",
                SignedRequest::decode(payload.as_slice())
                    .ok()
                    .and_then(|s| Request::decode(s.request.as_slice()).ok())
                    .map(|r| r.request_id),
            ),
            "ReplyReady" => (
                "GetSignedReply",
                SignedReply::decode(payload.as_slice())
                    .ok()
                    .and_then(|s| Reply::decode(s.reply.as_slice()).ok())
                    .map(|r| r.request_id),
            ),
            _ => return payload,
        };
        match request_id.filter(|id| !id.is_empty()) {
            Some(id) => {
                self.stored
                    .lock()
                    .unwrap()
                    .insert((function.to_owned(), id.clone()), payload);
                id.into_bytes()
            }
            None => payload,
        }
    }

    /// Commits one event in a block of its own.
    fn emit(&self, event_name: &str, payload: Vec<u8>) -> ChaincodeEvent {
        let payload = self.name_only(event_name, payload);
        let mut state = self.state.lock().unwrap();
        let block_number = state.events.last().map_or(1, |e| e.block_number + 1);
        let event = ChaincodeEvent {
            block_number,
            transaction_id: format!("tx{block_number}"),
            chaincode_name: "ehrx".into(),
            event_name: event_name.into(),
            payload,
        };
        state.events.push(event.clone());
        drop(state);
        self.changed.notify_waiters();
        event
    }

    /// Commits a second event into the block of the last one.
    fn emit_in_last_block(&self, event_name: &str, payload: Vec<u8>) -> ChaincodeEvent {
        let payload = self.name_only(event_name, payload);
        let mut state = self.state.lock().unwrap();
        let last = state.events.last().unwrap().clone();
        let event = ChaincodeEvent {
            transaction_id: format!("{}b", last.transaction_id),
            event_name: event_name.into(),
            payload,
            ..last
        };
        state.events.push(event.clone());
        drop(state);
        self.changed.notify_waiters();
        event
    }

    /// Fails every open stream, as a peer restart does.
    fn restart_peer(&self) {
        self.state.lock().unwrap().generation += 1;
        self.changed.notify_waiters();
    }

    fn opened(&self) -> usize {
        self.state.lock().unwrap().opened
    }
}

struct LedgerStream {
    ledger: Ledger,
    position: usize,
    generation: u64,
}

impl EventSource for Ledger {
    type Stream = LedgerStream;

    async fn open(&self, checkpoint: Option<Checkpoint>) -> Result<LedgerStream, Error> {
        let mut state = self.state.lock().unwrap();
        state.opened += 1;
        // As the gateway does: from the checkpoint's block, after its
        // transaction if it names one.
        let position = match checkpoint {
            None => 0,
            Some(checkpoint) => {
                let start = state
                    .events
                    .iter()
                    .position(|e| e.block_number >= checkpoint.block_number)
                    .unwrap_or(state.events.len());
                match checkpoint.transaction_id {
                    Some(tx) => state
                        .events
                        .iter()
                        .position(|e| {
                            e.block_number == checkpoint.block_number && e.transaction_id == tx
                        })
                        .map_or(start, |at| at + 1),
                    None => start,
                }
            }
        };
        Ok(LedgerStream {
            ledger: self.clone(),
            position,
            generation: state.generation,
        })
    }
}

impl EventStream for LedgerStream {
    async fn next(&mut self) -> Option<Result<ChaincodeEvent, Error>> {
        loop {
            let changed = self.ledger.changed.notified();
            {
                let state = self.ledger.state.lock().unwrap();
                if state.generation != self.generation {
                    let status = tonic::Status::unavailable("peer restarted");
                    return Some(Err(Error::Events(CallError::new("", status))));
                }
                if let Some(event) = state.events.get(self.position) {
                    self.position += 1;
                    return Some(Ok(event.clone()));
                }
            }
            changed.await;
        }
    }
}

// ----------------------------------------------------- the chaincode

/// How the stand-in chaincode answers the next submissions.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Accept,
    /// The chaincode refuses (an endorsement error, status 500).
    Refuse,
    /// The transaction fails validation (an MVCC conflict).
    Conflict,
}

struct RecorderState {
    mode: Mode,
    /// Every submission: function and envelope bytes.
    submissions: Vec<(String, Vec<u8>)>,
    /// The proof of validation each AcceptRequest came with.
    proofs: Vec<Vec<u8>>,
    /// Challenges issued so far.
    challenges: u64,
    /// Transactions that issued them (`IssueChallenge`, `IssueChallenges`).
    challenge_calls: u64,
    purges: u64,
    /// The outcome stored per distinct argument, as the chaincode keeps it.
    outcomes: HashMap<Vec<u8>, String>,
    block: u64,
    delay: Duration,
    /// Requests whose envelopes fail validation (an MVCC conflict) for now.
    held: HashSet<String>,
    /// Submissions under way now, and the most there were at once.
    active: usize,
    max_active: usize,
    /// When each committed submission started and ended: function, request id.
    spans: Vec<(String, String, Instant, Instant)>,
    /// How many of the next proofs a lagging peer of this network refuses.
    lagging_proofs: u32,
    /// How many of the next envelopes a peer of this network refuses
    /// because it has not committed their challenge yet.
    lagging_challenges: u32,
}

/// Counts a submission under way until it is dropped.
struct Active(Arc<Mutex<RecorderState>>);

impl Active {
    fn start(state: &Arc<Mutex<RecorderState>>) -> Self {
        let mut locked = state.lock().unwrap();
        locked.active += 1;
        locked.max_active = locked.max_active.max(locked.active);
        Self(Arc::clone(state))
    }
}

impl Drop for Active {
    fn drop(&mut self) {
        self.0.lock().unwrap().active -= 1;
    }
}

/// Records the deliveries a network takes in.
#[derive(Clone)]
struct Recorder {
    state: Arc<Mutex<RecorderState>>,
    started: Arc<Notify>,
    /// The network's ledger, whose stored messages `fetch` reads.
    ledger: Arc<Mutex<Option<Ledger>>>,
}

impl Recorder {
    fn new() -> Self {
        Self {
            state: Arc::new(Mutex::new(RecorderState {
                mode: Mode::Accept,
                submissions: Vec::new(),
                proofs: Vec::new(),
                challenges: 0,
                challenge_calls: 0,
                purges: 0,
                outcomes: HashMap::new(),
                block: 100,
                delay: Duration::ZERO,
                held: HashSet::new(),
                active: 0,
                max_active: 0,
                spans: Vec::new(),
                lagging_proofs: 0,
                lagging_challenges: 0,
            })),
            started: Arc::new(Notify::new()),
            ledger: Arc::new(Mutex::new(None)),
        }
    }

    fn set_mode(&self, mode: Mode) {
        self.state.lock().unwrap().mode = mode;
    }

    fn set_delay(&self, delay: Duration) {
        self.state.lock().unwrap().delay = delay;
    }

    fn challenges(&self) -> u64 {
        self.state.lock().unwrap().challenges
    }

    fn purges(&self) -> u64 {
        self.state.lock().unwrap().purges
    }

    /// Envelopes of `request_id` fail validation until released.
    fn hold(&self, request_id: &str) {
        self.state.lock().unwrap().held.insert(request_id.into());
    }

    /// The next `n` proofs are refused, as by a peer that has not
    /// committed the request yet.
    fn lag_proofs(&self, n: u32) {
        self.state.lock().unwrap().lagging_proofs = n;
    }

    /// The next `n` envelopes are refused for their challenge, as by a peer
    /// that has not committed it yet.
    fn lag_challenges(&self, n: u32) {
        self.state.lock().unwrap().lagging_challenges = n;
    }

    fn release(&self, request_id: &str) {
        self.state.lock().unwrap().held.remove(request_id);
    }

    /// The most submissions that were under way at once.
    fn max_active(&self) -> usize {
        self.state.lock().unwrap().max_active
    }

    /// When each committed submission started and ended.
    fn spans(&self) -> Vec<(String, String, Instant, Instant)> {
        self.state.lock().unwrap().spans.clone()
    }

    fn submissions(&self) -> Vec<(String, Vec<u8>)> {
        self.state.lock().unwrap().submissions.clone()
    }

    fn proofs(&self) -> Vec<Vec<u8>> {
        self.state.lock().unwrap().proofs.clone()
    }

    /// The request ids of the envelopes committed, in order, with the
    /// function that took each in.
    fn accepted(&self) -> Vec<(String, String)> {
        self.submissions()
            .iter()
            .map(|(function, bytes)| (function.clone(), envelope_request_id(bytes)))
            .collect()
    }

    /// The request ids of the requests committed, sorted: deliveries that
    /// overlap commit in any order.
    fn accepted_requests(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .accepted()
            .into_iter()
            .map(|(function, id)| {
                assert_eq!(function, "AcceptRequest");
                id
            })
            .collect();
        ids.sort();
        ids
    }
}

fn envelope_request_id(bytes: &[u8]) -> String {
    match ForwardedEnvelope::decode(bytes).unwrap().payload.unwrap() {
        Payload::SignedRequest(signed) => {
            let signed = SignedRequest::decode(signed.as_slice()).unwrap();
            Request::decode(signed.request.as_slice())
                .unwrap()
                .request_id
        }
        Payload::SignedReply(signed) => {
            let signed = SignedReply::decode(signed.as_slice()).unwrap();
            Reply::decode(signed.reply.as_slice()).unwrap().request_id
        }
    }
}

/// An endorsement error as the gateway reports a chaincode refusal.
fn chaincode_refusal(message: &str) -> Error {
    let status = hlf_testpeer::status_with_detail(
        tonic::Code::Aborted,
        "failed to endorse transaction, see attached details for more info",
        &format!("chaincode response 500, {message}"),
    );
    Error::Endorse(CallError::new("refused-tx", status))
}

/// What a sending relay puts on the wire for `envelope`.
fn delivery(envelope: &ForwardedEnvelope) -> Delivery {
    Delivery {
        forwarded_envelope: envelope.encode_to_vec(),
        validation_proof: Vec::new(),
    }
}

/// The nonce of the stand-in chaincode's challenge `n`.
fn nonce(n: u64) -> String {
    format!("{n:064x}")
}

/// The stand-in for a proof of validation: names what it proves.
fn stand_in_proof(function: &str, request_id: &str, signed_sha256: &str, nonce: &str) -> Vec<u8> {
    format!("{function} {request_id} {signed_sha256} {nonce}").into_bytes()
}

impl Submitter for Recorder {
    async fn fetch(&self, function: &'static str, request_id: &str) -> Result<Vec<u8>, Error> {
        let ledger = self.ledger.lock().unwrap().clone();
        ledger
            .and_then(|ledger| {
                ledger
                    .stored
                    .lock()
                    .unwrap()
                    .get(&(function.to_owned(), request_id.to_owned()))
                    .cloned()
            })
            .ok_or_else(|| {
                chaincode_refusal(&format!(
                    "[NOT_FOUND] {function}: no message of request {request_id:?} is stored"
                ))
            })
    }

    async fn prove(
        &self,
        function: &'static str,
        request_id: &str,
        signed_sha256: &str,
        nonce: &str,
    ) -> Result<Vec<u8>, Error> {
        let mut state = self.state.lock().unwrap();
        if state.lagging_proofs > 0 {
            state.lagging_proofs -= 1;
            return Err(chaincode_refusal(&format!(
                "[NOT_FOUND] request validated on this network {request_id:?} does not exist"
            )));
        }
        Ok(stand_in_proof(function, request_id, signed_sha256, nonce))
    }

    async fn submit(&self, function: &'static str, args: Vec<Vec<u8>>) -> Result<Committed, Error> {
        if function == "PurgeChallenges" {
            let mut state = self.state.lock().unwrap();
            state.purges += 1;
            return Ok(Committed {
                result: br#"{"purged":2,"left":0}"#.to_vec(),
                status: CommitStatus {
                    transaction_id: format!("purge-tx{}", state.purges),
                    code: peer::TxValidationCode::Valid,
                    block_number: 0,
                },
            });
        }
        if function == "IssueChallenge" || function == "IssueChallenges" {
            let mut state = self.state.lock().unwrap();
            state.challenge_calls += 1;
            let count: u64 = match args.get(1) {
                Some(count) => String::from_utf8_lossy(count).parse().unwrap(),
                None => 1,
            };
            let nonces: Vec<String> = (1..=count).map(|n| nonce(state.challenges + n)).collect();
            state.challenges += count;
            // Issued now and valid two minutes, as the contract's are.
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis();
            let network_id = String::from_utf8_lossy(&args[0]);
            let expires = now + 120_000;
            let result = if function == "IssueChallenge" {
                format!(
                    r#"{{"nonce":"{}","network_id":"{network_id}","issued_at_ms":{now},"expires_at_ms":{expires}}}"#,
                    nonces[0],
                )
            } else {
                format!(
                    r#"{{"nonces":{nonces:?},"network_id":"{network_id}","issued_at_ms":{now},"expires_at_ms":{expires}}}"#,
                )
            };
            return Ok(Committed {
                result: result.into_bytes(),
                status: CommitStatus {
                    transaction_id: format!("challenge-tx{}", state.challenge_calls),
                    code: peer::TxValidationCode::Valid,
                    block_number: 0,
                },
            });
        }
        let mut args = args.into_iter();
        let argument = args.next().unwrap();
        let proof = args.next();
        let request_id = envelope_request_id(&argument);
        let active = Active::start(&self.state);
        let delay = self.state.lock().unwrap().delay;
        let started = Instant::now();
        self.started.notify_waiters();
        tokio::time::sleep(delay).await;
        drop(active);
        let mut state = self.state.lock().unwrap();
        state.block += 1;
        let block_number = state.block;
        let transaction_id = format!("net2-tx{block_number}");
        if state.lagging_challenges > 0 {
            state.lagging_challenges -= 1;
            return Err(chaincode_refusal(
                "[BAD_CHALLENGE] challenge: 00 was not issued here or was already used",
            ));
        }
        let mode = if state.held.contains(&request_id) {
            Mode::Conflict
        } else {
            state.mode
        };
        match mode {
            Mode::Refuse => return Err(chaincode_refusal("network net1 is suspended")),
            Mode::Conflict => {
                return Err(Error::Commit {
                    transaction_id,
                    code: peer::TxValidationCode::MvccReadConflict,
                    block_number,
                });
            }
            Mode::Accept => {}
        }
        state.spans.push((
            function.to_string(),
            request_id.clone(),
            started,
            Instant::now(),
        ));
        let outcome = state
            .outcomes
            .entry(argument.clone())
            .or_insert_with(|| format!(r#"{{"outcome":"accepted","request_id":"{request_id}"}}"#))
            .clone();
        state.submissions.push((function.to_string(), argument));
        if let Some(proof) = proof {
            state.proofs.push(proof);
        }
        Ok(Committed {
            result: outcome.into_bytes(),
            status: CommitStatus {
                transaction_id,
                code: peer::TxValidationCode::Valid,
                block_number,
            },
        })
    }
}

// ---------------------------------------------------------- payloads

fn request_payload(request_id: &str, from: &str, to: &str) -> Vec<u8> {
    let request = Request {
        request_id: request_id.into(),
        source_network: from.into(),
        destination_network: to.into(),
        requester_code: "DR-0001".into(),
        patient_ref: vec![9; 32],
        ..Default::default()
    };
    SignedRequest {
        request: request.encode_to_vec(),
        signature: vec![1; 64],
        signer: b"requester".to_vec(),
    }
    .encode_to_vec()
}

fn reply_payload(request_id: &str, from: &str, to: &str) -> Vec<u8> {
    let reply = Reply {
        request_id: request_id.into(),
        replying_network: from.into(),
        receiving_network: to.into(),
        ..Default::default()
    };
    SignedReply {
        reply: reply.encode_to_vec(),
        signature: vec![2; 64],
        signer: b"responder".to_vec(),
    }
    .encode_to_vec()
}

fn request_id(n: u32) -> String {
    format!("00000000-0000-4000-8000-{n:012}")
}

// --------------------------------------------------------- the relays

/// What both relays share: the relays' CA, and each one's certificate.
struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let ca = Ca::new("CN=relays CA,O=EHR consortium,C=DE", 1);
        std::fs::write(dir.path().join("relays-ca.crt"), &ca.issued.cert_pem).unwrap();
        for (network, seed) in [("net1", 11), ("net2", 12)] {
            let issued = ca.issue(
                &format!("CN=relay.{network},O=EHR consortium"),
                seed,
                Vec::new(),
            );
            std::fs::write(dir.path().join(format!("{network}.crt")), issued.cert_pem).unwrap();
            std::fs::write(dir.path().join(format!("{network}.key")), issued.key_pem).unwrap();
            std::fs::write(
                dir.path().join(format!("{network}-network.key")),
                hex::encode([seed; 32]),
            )
            .unwrap();
        }
        // Network III's relay has a CA of its own, which the others learn
        // of only when it joins.
        let ca3 = Ca::new("CN=net3 relays CA,O=Network III,C=DE", 3);
        std::fs::write(dir.path().join("net3-ca.crt"), &ca3.issued.cert_pem).unwrap();
        let issued = ca3.issue("CN=relay.net3,O=Network III", 13, Vec::new());
        std::fs::write(dir.path().join("net3.crt"), issued.cert_pem).unwrap();
        std::fs::write(dir.path().join("net3.key"), issued.key_pem).unwrap();
        std::fs::write(dir.path().join("net3-network.key"), hex::encode([13; 32])).unwrap();
        std::fs::write(
            dir.path().join("relays-and-net3-ca.crt"),
            format!("{}{}", ca.issued.cert_pem, ca3.issued.cert_pem),
        )
        .unwrap();
        let rogue = Ca::new("CN=rogue CA,O=Elsewhere,C=DE", 2).issue(
            "CN=relay.net1,O=EHR consortium",
            21,
            Vec::new(),
        );
        std::fs::write(dir.path().join("rogue.crt"), rogue.cert_pem).unwrap();
        std::fs::write(dir.path().join("rogue.key"), rogue.key_pem).unwrap();
        Self { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.path(name)).unwrap()
    }
}

fn network_key(network: &str) -> SigningKey {
    let seed = match network {
        "net1" => 11,
        "net2" => 12,
        _ => 13,
    };
    SigningKey::from_bytes(&[seed; 32])
}

fn free_address() -> std::net::SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

/// One network's relay settings.
struct Node {
    network: &'static str,
    grpc: std::net::SocketAddr,
    health: std::net::SocketAddr,
}

impl Node {
    fn new(network: &'static str) -> Self {
        Self {
            network,
            grpc: free_address(),
            health: free_address(),
        }
    }

    fn config(&self, pki: &Pki, other: &Node) -> RelayConfig {
        self.config_with(pki, &[(other, "relays-ca.crt")], "relays-ca.crt")
    }

    /// A configuration with `remotes` (each with the CA of its server
    /// certificate) that admits relays with certificates from `client_ca`.
    fn config_with(&self, pki: &Pki, remotes: &[(&Node, &str)], client_ca: &str) -> RelayConfig {
        let remotes: serde_json::Map<String, serde_json::Value> = remotes
            .iter()
            .map(|(other, tls_ca)| {
                (
                    other.network.to_string(),
                    serde_json::json!({"address": other.grpc.to_string(),
                                       "tls_ca": tls_ca, "server_name": "localhost"}),
                )
            })
            .collect();
        let json = serde_json::json!({
            "network_id": self.network,
            "network_description": "unused-network.json",
            "identity": {"msp_id": "Org1MSP", "user": "User3"},
            "network_key_file": format!("{}-network.key", self.network),
            "listen": {"address": self.grpc.to_string(),
                       "tls_cert": format!("{}.crt", self.network),
                       "tls_key": format!("{}.key", self.network),
                       "client_ca": client_ca},
            "client_tls": {"cert": format!("{}.crt", self.network),
                           "key": format!("{}.key", self.network)},
            "remotes": remotes,
            "checkpoint_file": format!("{}-checkpoint.json", self.network),
            "health_address": self.health.to_string(),
            "retry": {"initial_ms": 20, "max_ms": 100},
            "deliver_timeout_ms": 5000
        });
        RelayConfig::from_json(json.to_string().as_bytes(), pki.dir.path()).unwrap()
    }
}

/// A running relay and the way to stop it.
struct Running {
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<(), RelayError>>,
    health: std::net::SocketAddr,
}

impl Running {
    async fn start(config: RelayConfig, ledger: &Ledger, recorder: &Recorder) -> Self {
        let (_none, reloads) = mpsc::channel(1);
        Self::start_reloading(config, ledger, recorder, reloads).await
    }

    /// A relay that takes the configurations sent on `reloads`.
    async fn start_reloading(
        config: RelayConfig,
        ledger: &Ledger,
        recorder: &Recorder,
        reloads: mpsc::Receiver<RelayConfig>,
    ) -> Self {
        let health = config.health_address;
        let (stop, stopped) = oneshot::channel::<()>();
        *recorder.ledger.lock().unwrap() = Some(ledger.clone());
        let relay = Relay::new(config, ledger.clone(), recorder.clone());
        let task = tokio::spawn(relay.serve_with_reloads(reloads, async move {
            let _ = stopped.await;
        }));
        let running = Self { stop, task, health };
        eventually("the relay's health endpoint", || async {
            try_health(health).await.is_some()
        })
        .await;
        running
    }

    async fn health(&self) -> serde_json::Value {
        try_health(self.health).await.unwrap()
    }

    /// Ends the relay at once, as a crash does: nothing in flight finishes.
    async fn kill(self, node: &Node) {
        self.task.abort();
        assert!(self.task.await.unwrap_err().is_cancelled());
        eventually("the killed relay's listeners closed", || async {
            try_health(node.health).await.is_none()
                && tokio::net::TcpStream::connect(node.grpc).await.is_err()
        })
        .await;
    }

    async fn stop(self) {
        self.stop.send(()).unwrap();
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
    }
}

/// `GET /healthz` over a plain socket; `None` while nothing listens.
async fn try_health(address: std::net::SocketAddr) -> Option<serde_json::Value> {
    let mut stream = tokio::net::TcpStream::connect(address).await.ok()?;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .ok()?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.ok()?;
    let text = String::from_utf8(response).ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/json")
    );
    Some(serde_json::from_str(body).unwrap())
}

/// Waits (up to 20 s) until `condition` holds.
async fn eventually<F, Fut>(what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..400 {
        if condition().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

fn saved_checkpoint(pki: &Pki, network: &str) -> Option<Checkpoint> {
    CheckpointFile::open(pki.path(&format!("{network}-checkpoint.json")))
        .unwrap()
        .progress()
        .checkpoint
        .clone()
}

/// The envelopes saved as settled after the checkpoint.
fn saved_settled(pki: &Pki, network: &str) -> Vec<Checkpoint> {
    CheckpointFile::open(pki.path(&format!("{network}-checkpoint.json")))
        .unwrap()
        .progress()
        .settled
        .clone()
}

fn checkpoint_of(event: &ChaincodeEvent) -> Checkpoint {
    Checkpoint {
        block_number: event.block_number,
        transaction_id: Some(event.transaction_id.clone()),
    }
}

/// A gRPC connection to `node`'s relay that trusts the relays' CA (no
/// client certificate yet).
fn connection_to(pki: &Pki, node: &Node) -> ConnectionBuilder {
    ConnectionBuilder::new(node.grpc.to_string())
        .tls_ca_pem(pki.read("relays-ca.crt"))
        .server_name("localhost")
}

/// Waits until `network`'s saved checkpoint is at `event`.
async fn until_checkpoint(pki: &Pki, network: &str, event: &ChaincodeEvent, what: &str) {
    eventually(what, || async {
        saved_checkpoint(pki, network) == Some(checkpoint_of(event))
    })
    .await;
}

/// Emits a validated request of network I for `to`.
fn emit_request(ledger: &Ledger, n: u32, to: &str) -> ChaincodeEvent {
    ledger.emit(
        "RequestValidated",
        request_payload(&request_id(n), "net1", to),
    )
}

/// As [`emit_request`], in the block of the event before.
fn emit_request_in_last_block(ledger: &Ledger, n: u32, to: &str) -> ChaincodeEvent {
    ledger.emit_in_last_block(
        "RequestValidated",
        request_payload(&request_id(n), "net1", to),
    )
}

/// One for network I, one for II.
type Both<T> = (T, T);

/// Networks I and II: the relays' PKI, each relay's addresses, each
/// network's ledger and the chaincode each relay submits to.
fn two_networks() -> (Pki, Both<Node>, Both<Ledger>, Both<Recorder>) {
    (
        Pki::new(),
        (Node::new("net1"), Node::new("net2")),
        (Ledger::default(), Ledger::default()),
        (Recorder::new(), Recorder::new()),
    )
}

// -------------------------------------------------------------- tests

#[tokio::test]
async fn requests_and_replies_cross_with_receipts_and_advance_the_checkpoints() {
    let (pki, (a, b), (ledger1, ledger2), (into1, into2)) = two_networks();

    // On network I: a validated request for II, an event that stays home,
    // a garbled payload, and a second request in the same block as the
    // one before it.
    emit_request(&ledger1, 1, "net2");
    ledger1.emit("RequestAccepted", b"not for the relay".to_vec());
    ledger1.emit("RequestValidated", vec![0xff, 0xff]);
    let last1 = emit_request_in_last_block(&ledger1, 3, "net2");
    // On network II: the reply to request 1.
    let last2 = ledger2.emit("ReplyReady", reply_payload(&request_id(1), "net2", "net1"));

    // One delivery at a time, in commit order, and no challenge fetched
    // ahead, so the challenges' nonces follow that order too.
    let mut config1 = a.config(&pki, &b);
    config1.max_in_flight = 1;
    config1.challenge_prefetch = 0;
    let mut config2 = b.config(&pki, &a);
    config2.challenge_prefetch = 0;
    let relay1 = Running::start(config1, &ledger1, &into1).await;
    let relay2 = Running::start(config2, &ledger2, &into2).await;

    eventually("both checkpoints at their last event", || async {
        saved_checkpoint(&pki, "net1") == Some(checkpoint_of(&last1))
            && saved_checkpoint(&pki, "net2") == Some(checkpoint_of(&last2))
    })
    .await;
    assert_eq!(
        into2.accepted(),
        [
            ("AcceptRequest".to_string(), request_id(1)),
            ("AcceptRequest".to_string(), request_id(3)),
        ]
    );
    assert_eq!(
        into1.accepted(),
        [("AcceptReply".to_string(), request_id(1))]
    );
    // Each request and reply went with the proof its network's peers made
    // for a challenge the receiving network issued.
    let sha = |bytes: &[u8]| hex::encode(<sha2::Sha256 as sha2::Digest>::digest(bytes));
    assert_eq!(
        into2.proofs(),
        [
            stand_in_proof(
                "ProveRequest",
                &request_id(1),
                &sha(&request_payload(&request_id(1), "net1", "net2")),
                &nonce(1)
            ),
            stand_in_proof(
                "ProveRequest",
                &request_id(3),
                &sha(&request_payload(&request_id(3), "net1", "net2")),
                &nonce(2)
            ),
        ]
    );
    assert_eq!(
        into1.proofs(),
        [stand_in_proof(
            "ProveReply",
            &request_id(1),
            &sha(&reply_payload(&request_id(1), "net2", "net1")),
            &nonce(1)
        )]
    );

    // What arrives is the event's payload, attested by the sending network.
    let (_, bytes) = &into2.submissions()[0];
    let envelope = ForwardedEnvelope::decode(bytes.as_slice()).unwrap();
    let payload = envelope
        .verify_attestation("net1", |id| {
            (id == "net1").then(|| network_key("net1").verifying_key())
        })
        .unwrap();
    assert_eq!(
        payload,
        &Payload::SignedRequest(request_payload(&request_id(1), "net1", "net2"))
    );

    let health = relay1.health().await;
    assert_eq!(health["status"], "ok");
    assert_eq!(health["ready"], true, "{health}");
    assert_eq!(health["network_id"], "net1");
    assert_eq!(
        health["checkpoint"],
        serde_json::json!({"block": last1.block_number, "tx": last1.transaction_id})
    );
    assert_eq!(health["delivered"], 2);
    assert_eq!(health["refused"], 0);
    assert_eq!(health["reloads"], 0);
    assert_eq!(health["in_flight"], 0);
    assert_eq!(health["max_in_flight"], 1);
    assert_eq!(relay2.health().await["delivered"], 1);
    assert_eq!(relay2.health().await["max_in_flight"], 16);

    relay1.stop().await;
    relay2.stop().await;
}

#[tokio::test]
async fn a_destination_that_is_down_is_retried_without_advancing_then_delivered() {
    let (pki, (a, b), (ledger1, ledger2), (into1, into2)) = two_networks();
    let event = emit_request(&ledger1, 1, "net2");

    let relay1 = Running::start(a.config(&pki, &b), &ledger1, &into1).await;
    eventually("a failed delivery attempt", || async {
        relay1.health().await["last_delivery_error"]
            .as_str()
            .is_some_and(|error| error.starts_with("Unavailable"))
    })
    .await;
    // Several attempts later, still nothing is checkpointed.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(saved_checkpoint(&pki, "net1"), None);
    assert_eq!(relay1.health().await["checkpoint"], serde_json::Value::Null);

    // Network II's relay comes up, but its network cannot commit for now.
    into2.set_mode(Mode::Conflict);
    let relay2 = Running::start(b.config(&pki, &a), &ledger2, &into2).await;
    eventually("the conflict reported back", || async {
        relay1.health().await["last_delivery_error"]
            .as_str()
            .is_some_and(|error| error.contains("MVCC_READ_CONFLICT"))
    })
    .await;
    assert_eq!(saved_checkpoint(&pki, "net1"), None);

    into2.set_mode(Mode::Accept);
    until_checkpoint(&pki, "net1", &event, "the delivery").await;
    assert_eq!(
        into2.accepted(),
        [("AcceptRequest".to_string(), request_id(1))]
    );
    let health = relay1.health().await;
    assert_eq!(health["delivered"], 1);
    assert!(health.get("last_delivery_error").is_none(), "{health}");

    relay1.stop().await;
    relay2.stop().await;
}

#[tokio::test]
async fn a_refusal_by_the_destination_chaincode_advances_the_checkpoint() {
    let (pki, (a, b), (ledger1, ledger2), (into1, into2)) = two_networks();
    into2.set_mode(Mode::Refuse);
    let refused = emit_request(&ledger1, 1, "net2");

    let relay2 = Running::start(b.config(&pki, &a), &ledger2, &into2).await;
    let relay1 = Running::start(a.config(&pki, &b), &ledger1, &into1).await;
    until_checkpoint(&pki, "net1", &refused, "the refused event checkpointed").await;
    let health = relay1.health().await;
    assert_eq!(health["refused"], 1);
    assert_eq!(health["delivered"], 0);
    let error = health["last_delivery_error"].as_str().unwrap();
    assert!(error.contains("network net1 is suspended"), "{error}");
    assert!(into2.submissions().is_empty());

    // The relay moved on: the next event is delivered.
    into2.set_mode(Mode::Accept);
    let next = emit_request(&ledger1, 2, "net2");
    until_checkpoint(&pki, "net1", &next, "the next delivery").await;
    assert_eq!(
        into2.accepted(),
        [("AcceptRequest".to_string(), request_id(2))]
    );

    relay1.stop().await;
    relay2.stop().await;
}

#[tokio::test]
async fn only_clients_with_a_certificate_from_the_relays_ca_get_through() {
    let pki = Pki::new();
    let (a, b) = (Node::new("net1"), Node::new("net2"));
    let recorder = Recorder::new();
    let relay2 = Running::start(b.config(&pki, &a), &Ledger::default(), &recorder).await;

    let envelope = ForwardedEnvelope::attest(
        Payload::SignedRequest(request_payload(&request_id(1), "net1", "net2")),
        "net1",
        &network_key("net1"),
    );
    let connection = || connection_to(&pki, &b).connect_timeout(Duration::from_secs(5));
    let deliver = |connection: ConnectionBuilder| {
        let envelope = envelope.clone();
        async move {
            let channel = connection.connect().await.map_err(|e| e.to_string())?;
            RelayClient::new(channel)
                .deliver(delivery(&envelope))
                .await
                .map(tonic::Response::into_inner)
                .map_err(|status| status.to_string())
        }
    };

    // A certificate from another CA, and none at all: the handshake fails.
    let rogue = connection().client_tls(pki.read("rogue.crt"), pki.read("rogue.key"));
    let error = deliver(rogue).await.unwrap_err();
    assert!(error.contains("UnknownCA"), "{error}");
    let error = deliver(connection()).await.unwrap_err();
    assert!(error.contains("CertificateRequired"), "{error}");
    assert!(recorder.submissions().is_empty());

    // The relays' CA's certificate gets a receipt with the chaincode's outcome.
    let good = connection().client_tls(pki.read("net1.crt"), pki.read("net1.key"));
    let receipt = deliver(good).await.unwrap();
    assert_eq!(receipt.request_id, request_id(1));
    assert_eq!(receipt.transaction_id, "net2-tx101");
    assert_eq!(receipt.block_number, 101);
    let outcome: serde_json::Value = serde_json::from_str(&receipt.outcome).unwrap();
    assert_eq!(outcome["outcome"], "accepted");

    // A malformed envelope is refused for good.
    let mut bare = envelope.clone();
    bare.attestation = None;
    let channel = connection()
        .client_tls(pki.read("net1.crt"), pki.read("net1.key"))
        .connect()
        .await
        .unwrap();
    let status = RelayClient::new(channel.clone())
        .deliver(delivery(&bare))
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    let garbage = Delivery {
        forwarded_envelope: vec![0xff, 0xff],
        validation_proof: Vec::new(),
    };
    let status = RelayClient::new(channel.clone())
        .deliver(garbage)
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert_eq!(recorder.submissions().len(), 1);

    // The chaincode gets the bytes the sender attested, not a re-encoding:
    // a field this relay does not know (number 15) survives the trip.
    let mut exact = delivery(&envelope);
    exact
        .forwarded_envelope
        .extend_from_slice(&[0x7a, 0x01, 0x21]);
    RelayClient::new(channel)
        .deliver(exact.clone())
        .await
        .unwrap();
    let (_, submitted) = recorder.submissions().pop().unwrap();
    assert_eq!(submitted, exact.forwarded_envelope);

    relay2.stop().await;
}

#[tokio::test]
async fn restarts_of_the_relay_and_of_the_peer_lose_nothing_and_repeat_nothing() {
    let (pki, (a, b), (ledger1, ledger2), (into1, into2)) = two_networks();
    let relay2 = Running::start(b.config(&pki, &a), &ledger2, &into2).await;

    emit_request(&ledger1, 1, "net2");
    let second = emit_request(&ledger1, 2, "net2");
    let relay1 = Running::start(a.config(&pki, &b), &ledger1, &into1).await;
    until_checkpoint(&pki, "net1", &second, "two deliveries").await;

    // Stop network I's relay while a delivery is in flight: it finishes,
    // and its checkpoint is kept.
    into2.set_delay(Duration::from_millis(400));
    let started = into2.started.notified();
    let third = emit_request(&ledger1, 3, "net2");
    started.await;
    relay1.stop().await;
    assert_eq!(saved_checkpoint(&pki, "net1"), Some(checkpoint_of(&third)));
    into2.set_delay(Duration::ZERO);

    // While it is down, more is validated; it resumes where it stopped.
    emit_request(&ledger1, 4, "net2");
    let relay1 = Running::start(a.config(&pki, &b), &ledger1, &into1).await;
    let fifth = emit_request(&ledger1, 5, "net2");
    until_checkpoint(&pki, "net1", &fifth, "the deliveries after the restart").await;

    // The peer restarts: the stream fails and is reopened from the checkpoint.
    let opened = ledger1.opened();
    ledger1.restart_peer();
    eventually("the stream reopened", || async {
        ledger1.opened() > opened
    })
    .await;
    let sixth = emit_request(&ledger1, 6, "net2");
    until_checkpoint(&pki, "net1", &sixth, "the delivery after the peer restart").await;

    let expected: Vec<_> = (1..=6).map(request_id).collect();
    assert_eq!(into2.accepted_requests(), expected);

    relay1.stop().await;
    relay2.stop().await;
}

#[tokio::test]
async fn a_relay_that_cannot_start_says_why() {
    let pki = Pki::new();
    let (a, b) = (Node::new("net1"), Node::new("net2"));
    let mut config = a.config(&pki, &b);
    config.listen.client_ca = Path::new("/nonexistent/ca.crt").to_path_buf();
    let error = Relay::new(config, Ledger::default(), Recorder::new())
        .serve(std::future::pending())
        .await
        .unwrap_err();
    let message = error.to_string();
    assert!(message.contains("listen.client_ca"), "{message}");
    assert!(message.contains("/nonexistent/ca.crt"), "{message}");

    // A port already taken is named with its field.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut config = a.config(&pki, &b);
    config.health_address = taken.local_addr().unwrap();
    let error = Relay::new(config, Ledger::default(), Recorder::new())
        .serve(std::future::pending())
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            RelayError::Bind {
                field: "health_address",
                ..
            }
        ),
        "{error}"
    );
}

#[tokio::test]
async fn stopping_a_relay_lets_an_incoming_delivery_finish() {
    let pki = Pki::new();
    let (a, b) = (Node::new("net1"), Node::new("net2"));
    let recorder = Recorder::new();
    recorder.set_delay(Duration::from_millis(400));
    let relay2 = Running::start(b.config(&pki, &a), &Ledger::default(), &recorder).await;

    let channel = connection_to(&pki, &b)
        .client_tls(pki.read("net1.crt"), pki.read("net1.key"))
        .connect()
        .await
        .unwrap();
    let envelope = ForwardedEnvelope::attest(
        Payload::SignedReply(reply_payload(&request_id(7), "net1", "net2")),
        "net1",
        &network_key("net1"),
    );
    let started = recorder.started.notified();
    let call =
        tokio::spawn(async move { RelayClient::new(channel).deliver(delivery(&envelope)).await });
    started.await;
    relay2.stop().await;

    // The commit finished before the relay stopped, and the sender got its receipt.
    let receipt = call.await.unwrap().unwrap().into_inner();
    assert_eq!(receipt.request_id, request_id(7));
    assert_eq!(
        recorder.accepted(),
        [("AcceptReply".to_string(), request_id(7))]
    );
    // And nothing listens any more.
    assert!(try_health(b.health).await.is_none());
    assert!(tokio::net::TcpStream::connect(b.grpc).await.is_err());
}

#[tokio::test]
async fn a_network_joins_without_a_restart_and_nothing_for_it_is_lost_meanwhile() {
    let pki = Pki::new();
    let (a, b, c) = (Node::new("net1"), Node::new("net2"), Node::new("net3"));
    let (ledger1, ledger3) = (Ledger::default(), Ledger::default());
    let (into1, into3) = (Recorder::new(), Recorder::new());
    // Network I's chaincode already has III in its lookup table, so a
    // reply for III is validated there before I's relay knows a route.
    let for3 = ledger1.emit("ReplyReady", reply_payload(&request_id(1), "net1", "net3"));
    // III's request to I, sent from its side at once.
    let for1 = ledger3.emit(
        "RequestValidated",
        request_payload(&request_id(2), "net3", "net1"),
    );

    let (reload1, reloads1) = mpsc::channel(1);
    let relay1 = Running::start_reloading(a.config(&pki, &b), &ledger1, &into1, reloads1).await;
    let relay3 = Running::start(
        c.config_with(&pki, &[(&a, "relays-ca.crt")], "relays-ca.crt"),
        &ledger3,
        &into3,
    )
    .await;

    // Before: I has no route to III and retries; III's certificate is not
    // from a CA I admits, so its delivery fails in the handshake.
    eventually("I waiting for a route to III", || async {
        relay1.health().await["last_delivery_error"]
            .as_str()
            .is_some_and(|error| error.contains("no relay is configured"))
    })
    .await;
    // (The TLS alert surfaces as a transport error: retried, not final.)
    eventually("III refused in the handshake", || async {
        relay3.health().await["last_delivery_error"].is_string()
    })
    .await;
    assert_eq!(saved_checkpoint(&pki, "net1"), None);
    assert_eq!(saved_checkpoint(&pki, "net3"), None);
    assert!(into1.accepted().is_empty());

    // A reload that changes what needs a restart, or names a CA file that
    // is not there, is refused whole; the relay runs on as it was.
    let mut moved = a.config_with(
        &pki,
        &[(&b, "relays-ca.crt"), (&c, "net3-ca.crt")],
        "relays-and-net3-ca.crt",
    );
    moved.health_address = free_address();
    reload1.send(moved).await.unwrap();
    eventually("the refused reload reported", || async {
        relay1.health().await["last_reload_error"]
            .as_str()
            .is_some_and(|error| error.contains("`health_address`"))
    })
    .await;
    let missing = a.config_with(
        &pki,
        &[(&b, "relays-ca.crt"), (&c, "no-such-ca.crt")],
        "relays-and-net3-ca.crt",
    );
    reload1.send(missing).await.unwrap();
    eventually("the second refused reload reported", || async {
        relay1.health().await["last_reload_error"]
            .as_str()
            .is_some_and(|error| error.contains("remotes.net3.tls_ca"))
    })
    .await;
    assert_eq!(relay1.health().await["reloads"], 0);

    // The admin adds III's route and its relays' CA: both sides complete,
    // each exactly once, and I never restarted.
    let joined = a.config_with(
        &pki,
        &[(&b, "relays-ca.crt"), (&c, "net3-ca.crt")],
        "relays-and-net3-ca.crt",
    );
    reload1.send(joined).await.unwrap();
    eventually("both checkpoints past their events", || async {
        saved_checkpoint(&pki, "net1") == Some(checkpoint_of(&for3))
            && saved_checkpoint(&pki, "net3") == Some(checkpoint_of(&for1))
    })
    .await;
    assert_eq!(
        into3.accepted(),
        [("AcceptReply".to_string(), request_id(1))]
    );
    assert_eq!(
        into1.accepted(),
        [("AcceptRequest".to_string(), request_id(2))]
    );
    let health = relay1.health().await;
    assert_eq!(health["reloads"], 1, "{health}");
    assert!(health.get("last_reload_error").is_none(), "{health}");
    assert_eq!(health["delivered"], 1, "{health}");

    // After each further reload, a new connection from III is served at
    // once: the server that took over the socket is the one woken.
    for round in 2..=6 {
        reload1
            .send(a.config_with(
                &pki,
                &[(&b, "relays-ca.crt"), (&c, "net3-ca.crt")],
                "relays-and-net3-ca.crt",
            ))
            .await
            .unwrap();
        eventually("the reload", || async {
            relay1.health().await["reloads"] == round
        })
        .await;
        let channel = connection_to(&pki, &a)
            .client_tls(pki.read("net3.crt"), pki.read("net3.key"))
            .connect_timeout(Duration::from_secs(5))
            .connect()
            .await
            .unwrap();
        let grant = tokio::time::timeout(
            Duration::from_secs(5),
            RelayClient::new(channel).challenge(ChallengeRequest {
                network_id: "net3".into(),
                count: 1,
            }),
        )
        .await
        .unwrap_or_else(|_| panic!("no answer after reload {round}"))
        .unwrap();
        assert!(!grant.into_inner().nonce.is_empty());
    }

    relay1.stop().await;
    relay3.stop().await;
}

#[tokio::test]
async fn a_relay_that_asks_for_too_many_challenges_is_held_back_and_others_are_not() {
    let pki = Pki::new();
    let (a, b) = (Node::new("net1"), Node::new("net2"));
    let recorder = Recorder::new();
    let mut config = b.config(&pki, &a);
    config.challenges = ehrx_services::relay::limit::ChallengeLimit {
        per_minute: 1,
        burst: 2,
    };
    let relay2 = Running::start(config, &Ledger::default(), &recorder).await;
    let client = |network: &str| {
        let (cert, key) = (format!("{network}.crt"), format!("{network}.key"));
        let builder = connection_to(&pki, &b)
            .client_tls(pki.read(&cert), pki.read(&key))
            .connect_timeout(Duration::from_secs(5));
        async move { RelayClient::new(builder.connect().await.unwrap()) }
    };
    let ask = |mut client: RelayClient<_>| async move {
        client
            .challenge(ChallengeRequest {
                network_id: "net1".into(),
                count: 1,
            })
            .await
            .map(|_| ())
            .map_err(|status| status.code())
    };
    let first = client("net1").await;
    assert_eq!(ask(first.clone()).await, Ok(()));
    assert_eq!(ask(first.clone()).await, Ok(()));
    // Over the burst, whatever network it names: held back, retryable.
    assert_eq!(
        ask(first.clone()).await,
        Err(tonic::Code::ResourceExhausted)
    );
    // A new connection with the same certificate is the same caller.
    assert_eq!(
        ask(client("net1").await).await,
        Err(tonic::Code::ResourceExhausted)
    );
    // Another relay's certificate has its own allowance.
    assert_eq!(ask(client("net2").await).await, Ok(()));
    assert_eq!(
        recorder.challenges(),
        3,
        "only the granted challenges were submitted"
    );
    // A batch costs one unit of the allowance, whatever its count, and
    // is capped at 16; 0 asks for one.
    let batch = |count: u32| {
        let client = client("net2");
        async move {
            let mut client = client.await;
            client
                .challenges(ChallengeRequest {
                    network_id: "net2".into(),
                    count,
                })
                .await
                .map(|batch| batch.into_inner().grants.len())
                .map_err(|status| status.code())
        }
    };
    assert_eq!(batch(1000).await, Ok(16));
    assert_eq!(batch(0).await, Err(tonic::Code::ResourceExhausted));
    assert_eq!(recorder.challenges(), 3 + 16);
    assert_eq!(recorder.state.lock().unwrap().challenge_calls, 4);
    relay2.stop().await;
}

// ------------------------------------------------- pipelined delivery

#[tokio::test]
async fn deliveries_overlap_instead_of_taking_turns() {
    const N: u32 = 8;
    let delay = Duration::from_millis(400);
    let (pki, (a, b), (ledger1, ledger2), (into1, into2)) = two_networks();
    // Each commit on network II takes `delay`.
    into2.set_delay(delay);
    let relay2 = Running::start(b.config(&pki, &a), &ledger2, &into2).await;
    let emitted: Vec<_> = (1..=N).map(|n| emit_request(&ledger1, n, "net2")).collect();
    let last = emitted.last().unwrap().clone();

    let started = Instant::now();
    let relay1 = Running::start(a.config(&pki, &b), &ledger1, &into1).await;
    until_checkpoint(&pki, "net1", &last, "every delivery").await;
    let took = started.elapsed();

    // One at a time they would take N × delay (3.2 s).
    assert!(took < delay * N / 2, "{N} deliveries took {took:?}");
    assert!(
        into2.max_active() >= N as usize / 2,
        "{}",
        into2.max_active()
    );
    let expected: Vec<_> = (1..=N).map(request_id).collect();
    assert_eq!(into2.accepted_requests(), expected);
    let health = relay1.health().await;
    assert_eq!(health["delivered"], N);
    assert_eq!(health["in_flight"], 0);
    assert_eq!(saved_settled(&pki, "net1"), []);

    relay1.stop().await;
    relay2.stop().await;
}

#[tokio::test]
async fn expired_challenges_are_purged_every_interval_until_shutdown() {
    let pki = Pki::new();
    let (a, b) = (Node::new("net1"), Node::new("net2"));
    let recorder = Recorder::new();
    let mut config = b.config(&pki, &a);
    config.challenge_purge_seconds = 1;
    let relay2 = Running::start(config, &Ledger::default(), &recorder).await;
    eventually("two purges", || async { recorder.purges() >= 2 }).await;
    relay2.stop().await;
    let after_stop = recorder.purges();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(recorder.purges(), after_stop, "no purge after shutdown");

    // 0 turns it off.
    let recorder = Recorder::new();
    let mut config = b.config(&pki, &a);
    config.challenge_purge_seconds = 0;
    let relay2 = Running::start(config, &Ledger::default(), &recorder).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(recorder.purges(), 0);
    relay2.stop().await;
}

#[tokio::test]
async fn the_window_bounds_the_deliveries_in_flight() {
    let (pki, (a, b), (ledger1, ledger2), (into1, into2)) = two_networks();
    into2.set_delay(Duration::from_millis(150));
    let relay2 = Running::start(b.config(&pki, &a), &ledger2, &into2).await;
    let emitted: Vec<_> = (1..=12)
        .map(|n| emit_request(&ledger1, n, "net2"))
        .collect();
    let last = emitted.last().unwrap().clone();

    let mut config = a.config(&pki, &b);
    config.max_in_flight = 3;
    let relay1 = Running::start(config, &ledger1, &into1).await;
    let most_in_flight = std::cell::Cell::new(0);
    eventually("every delivery", || async {
        let in_flight = relay1.health().await["in_flight"].as_u64().unwrap();
        assert!(in_flight <= 3, "{in_flight} in flight");
        most_in_flight.set(most_in_flight.get().max(in_flight));
        saved_checkpoint(&pki, "net1") == Some(checkpoint_of(&last))
    })
    .await;

    assert!(into2.max_active() <= 3, "{}", into2.max_active());
    assert!(into2.max_active() >= 2, "{}", into2.max_active());
    assert!(most_in_flight.get() >= 2, "{}", most_in_flight.get());
    assert_eq!(relay1.health().await["max_in_flight"], 3);
    let expected: Vec<_> = (1..=12).map(request_id).collect();
    assert_eq!(into2.accepted_requests(), expected);

    relay1.stop().await;
    relay2.stop().await;
}

#[tokio::test]
async fn the_checkpoint_never_passes_an_unsettled_delivery_also_within_a_block() {
    let (pki, (a, b), (ledger1, ledger2), (into1, into2)) = two_networks();
    let home = ledger1.emit("RequestAccepted", b"not for the relay".to_vec());
    emit_request(&ledger1, 1, "net2");
    let second = emit_request(&ledger1, 2, "net2");
    // The third is in the second's block.
    let third = emit_request_in_last_block(&ledger1, 3, "net2");
    let fourth = emit_request(&ledger1, 4, "net2");
    assert_eq!(second.block_number, third.block_number);
    // Network II cannot commit the first and the third for now.
    into2.hold(&request_id(1));
    into2.hold(&request_id(3));

    let relay2 = Running::start(b.config(&pki, &a), &ledger2, &into2).await;
    let relay1 = Running::start(a.config(&pki, &b), &ledger1, &into1).await;
    eventually("the second and fourth delivered", || async {
        into2.accepted_requests() == [request_id(2), request_id(4)]
    })
    .await;
    // They are saved as settled; the checkpoint stays before the first.
    eventually("the settled ones saved", || async {
        saved_settled(&pki, "net1") == [checkpoint_of(&second), checkpoint_of(&fourth)]
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(saved_checkpoint(&pki, "net1"), Some(checkpoint_of(&home)));
    let health = relay1.health().await;
    assert_eq!(health["in_flight"], 2, "{health}");
    assert_eq!(
        health["checkpoint"],
        serde_json::json!({"block": home.block_number, "tx": home.transaction_id})
    );

    // The first settles: the checkpoint moves to the second, inside its
    // block, and not past the third beside it.
    into2.release(&request_id(1));
    until_checkpoint(&pki, "net1", &second, "the checkpoint at the second").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(saved_checkpoint(&pki, "net1"), Some(checkpoint_of(&second)));
    assert_eq!(saved_settled(&pki, "net1"), [checkpoint_of(&fourth)]);

    into2.release(&request_id(3));
    until_checkpoint(&pki, "net1", &fourth, "the checkpoint at the last").await;
    assert_eq!(saved_settled(&pki, "net1"), []);
    let expected: Vec<_> = (1..=4).map(request_id).collect();
    assert_eq!(into2.accepted_requests(), expected);
    assert_eq!(relay1.health().await["in_flight"], 0);

    relay1.stop().await;
    relay2.stop().await;
}

#[tokio::test]
async fn a_crash_mid_window_delivers_again_exactly_what_had_not_settled() {
    let (pki, (a, b), (ledger1, ledger2), (into1, into2)) = two_networks();
    let first = emit_request(&ledger1, 1, "net2");
    emit_request(&ledger1, 2, "net2");
    let third = emit_request(&ledger1, 3, "net2");
    let fourth = emit_request_in_last_block(&ledger1, 4, "net2");
    emit_request(&ledger1, 5, "net2");
    let sixth = emit_request(&ledger1, 6, "net2");
    into2.hold(&request_id(2));
    into2.hold(&request_id(5));

    let relay2 = Running::start(b.config(&pki, &a), &ledger2, &into2).await;
    let relay1 = Running::start(a.config(&pki, &b), &ledger1, &into1).await;
    eventually("everything but the held ones settled and saved", || async {
        saved_checkpoint(&pki, "net1") == Some(checkpoint_of(&first))
            && saved_settled(&pki, "net1")
                == [
                    checkpoint_of(&third),
                    checkpoint_of(&fourth),
                    checkpoint_of(&sixth),
                ]
    })
    .await;
    assert_eq!(into2.submissions().len(), 4);

    // Network I's relay crashes with two deliveries still being retried;
    // network II can then take them, and the relay comes back.
    relay1.kill(&a).await;
    into2.release(&request_id(2));
    into2.release(&request_id(5));
    let relay1 = Running::start(a.config(&pki, &b), &ledger1, &into1).await;
    until_checkpoint(&pki, "net1", &sixth, "the checkpoint at the last").await;

    // Only the two that had not settled were delivered again: network II
    // took each envelope exactly once.
    let after: Vec<_> = into2.accepted()[4..]
        .iter()
        .map(|(_, id)| id.clone())
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(after.len(), 2, "{after:?}");
    assert!(after.contains(&request_id(2)) && after.contains(&request_id(5)));
    let expected: Vec<_> = (1..=6).map(request_id).collect();
    assert_eq!(into2.accepted_requests(), expected);
    assert_eq!(saved_settled(&pki, "net1"), []);
    assert_eq!(relay1.health().await["delivered"], 2);

    relay1.stop().await;
    relay2.stop().await;
}

#[tokio::test]
async fn a_destination_that_is_down_holds_up_the_others_only_in_a_full_window() {
    let pki = Pki::new();
    let (a, b, c) = (Node::new("net1"), Node::new("net2"), Node::new("net3"));
    let (ledger1, ledger2, ledger3) = (Ledger::default(), Ledger::default(), Ledger::default());
    let (into1, into2, into3) = (Recorder::new(), Recorder::new(), Recorder::new());
    // II's relay is down. Four envelopes fill the window: two for II, two
    // for III, whose deliveries go through; the rest for III waits.
    emit_request(&ledger1, 1, "net2");
    emit_request(&ledger1, 2, "net3");
    emit_request(&ledger1, 3, "net2");
    emit_request(&ledger1, 4, "net3");
    emit_request(&ledger1, 5, "net3");
    let last = emit_request(&ledger1, 6, "net3");

    let relay3 = Running::start(
        c.config_with(&pki, &[(&a, "relays-ca.crt")], "relays-ca.crt"),
        &ledger3,
        &into3,
    )
    .await;
    let mut config = a.config_with(
        &pki,
        &[(&b, "relays-ca.crt"), (&c, "net3-ca.crt")],
        "relays-ca.crt",
    );
    config.max_in_flight = 4;
    let relay1 = Running::start(config, &ledger1, &into1).await;
    eventually("III's first two delivered", || async {
        into3.accepted_requests() == [request_id(2), request_id(4)]
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(into3.accepted_requests(), [request_id(2), request_id(4)]);
    let health = relay1.health().await;
    assert_eq!(health["in_flight"], 2, "{health}");
    assert!(
        health["last_delivery_error"]
            .as_str()
            .is_some_and(|error| error.starts_with("Unavailable")),
        "{health}"
    );
    assert_eq!(saved_checkpoint(&pki, "net1"), None);

    // II's relay comes up: everything goes.
    let relay2 = Running::start(b.config(&pki, &a), &ledger2, &into2).await;
    until_checkpoint(&pki, "net1", &last, "the checkpoint at the last").await;
    assert_eq!(into2.accepted_requests(), [request_id(1), request_id(3)]);
    let expected: Vec<_> = [2, 4, 5, 6].into_iter().map(request_id).collect();
    assert_eq!(into3.accepted_requests(), expected);

    relay1.stop().await;
    relay2.stop().await;
    relay3.stop().await;
}

#[tokio::test]
async fn what_belongs_to_one_request_keeps_its_order() {
    let (pki, (a, b), (ledger1, ledger2), (into1, into2)) = two_networks();
    into2.set_delay(Duration::from_millis(300));
    // Request 1 for II, a reply under the same request id right behind
    // it, and another request in the reply's block.
    emit_request(&ledger1, 1, "net2");
    ledger1.emit("ReplyReady", reply_payload(&request_id(1), "net1", "net2"));
    let last = emit_request_in_last_block(&ledger1, 2, "net2");

    let relay2 = Running::start(b.config(&pki, &a), &ledger2, &into2).await;
    let relay1 = Running::start(a.config(&pki, &b), &ledger1, &into1).await;
    until_checkpoint(&pki, "net1", &last, "the checkpoint at the last").await;

    let spans = into2.spans();
    let span = |function: &str, id: &str| {
        spans
            .iter()
            .find(|(f, i, _, _)| f == function && i == id)
            .map(|(_, _, started, ended)| (*started, *ended))
            .unwrap()
    };
    let request = span("AcceptRequest", &request_id(1));
    let reply = span("AcceptReply", &request_id(1));
    let other = span("AcceptRequest", &request_id(2));
    // The reply started only after the request committed; the other
    // request overlapped with both.
    assert!(reply.0 >= request.1, "the reply overtook its request");
    assert!(other.0 < request.1, "the other request waited");
    assert_eq!(spans.len(), 3);

    relay1.stop().await;
    relay2.stop().await;
}

#[tokio::test]
async fn refusals_that_only_mean_a_peer_lags_behind_are_retried() {
    let (pki, (a, b), (ledger1, ledger2), (into1, into2)) = two_networks();
    // A peer of network I has not committed the request when the relay
    // has the proof endorsed; then a peer of network II has not committed
    // the challenge when the envelope arrives. Neither is a verdict.
    into1.lag_proofs(2);
    into2.lag_challenges(2);
    let event = emit_request(&ledger1, 1, "net2");

    let relay2 = Running::start(b.config(&pki, &a), &ledger2, &into2).await;
    let mut config1 = a.config(&pki, &b);
    config1.challenge_prefetch = 0;
    let relay1 = Running::start(config1, &ledger1, &into1).await;
    until_checkpoint(&pki, "net1", &event, "the delivery").await;
    assert_eq!(into2.accepted_requests(), [request_id(1)]);
    let health = relay1.health().await;
    assert_eq!(health["delivered"], 1, "{health}");
    assert_eq!(health["refused"], 0, "{health}");
    // Each attempt came with a fresh challenge.
    assert_eq!(into2.state.lock().unwrap().challenges, 5);

    relay1.stop().await;
    relay2.stop().await;
}

#[tokio::test]
async fn challenges_fetched_ahead_serve_the_next_deliveries_once_each() {
    let (pki, (a, b), (ledger1, ledger2), (into1, into2)) = two_networks();
    let relay2 = Running::start(b.config(&pki, &a), &ledger2, &into2).await;
    let relay1 = Running::start(a.config(&pki, &b), &ledger1, &into1).await;
    let issued = || {
        let state = into2.state.lock().unwrap();
        (state.challenges, state.challenge_calls)
    };

    // The first delivery fetches its own challenge, and a batch of 16
    // ahead (the default depth) in one call: 17 issued by 2 transactions.
    let first = emit_request(&ledger1, 1, "net2");
    eventually("the first delivery and the challenges ahead", || async {
        saved_checkpoint(&pki, "net1") == Some(checkpoint_of(&first)) && issued() == (17, 2)
    })
    .await;
    // The next ones use the challenges fetched ahead, in turn; nothing is
    // fetched until only half the depth is left.
    for n in 2..=8 {
        let next = emit_request(&ledger1, n, "net2");
        eventually("the next delivery", || async {
            saved_checkpoint(&pki, "net1") == Some(checkpoint_of(&next))
        })
        .await;
    }
    assert_eq!(issued(), (17, 2), "no refill while more than 8 are ready");
    // The ninth leaves 8: one call fetches 8 more.
    let ninth = emit_request(&ledger1, 9, "net2");
    eventually("the ninth delivery and the refill", || async {
        saved_checkpoint(&pki, "net1") == Some(checkpoint_of(&ninth)) && issued() == (25, 3)
    })
    .await;
    let used: Vec<String> = into2
        .proofs()
        .iter()
        .map(|proof| {
            let text = String::from_utf8_lossy(proof).into_owned();
            text.rsplit(' ').next().unwrap_or_default().to_string()
        })
        .collect();
    assert_eq!(used.len(), 9);
    let distinct: std::collections::BTreeSet<&String> = used.iter().collect();
    assert_eq!(distinct.len(), 9, "no challenge used twice: {used:?}");
    let all: Vec<String> = (1..=25).map(nonce).collect();
    assert!(used.iter().all(|n| all.contains(n)), "{used:?}");
    assert_eq!(
        into2.accepted_requests(),
        (1..=9).map(request_id).collect::<Vec<_>>()
    );

    relay1.stop().await;
    relay2.stop().await;
}
