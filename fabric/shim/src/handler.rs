//! The shim side of the chaincode protocol on one peer connection.
//!
//! The chaincode speaks first (REGISTER with its package id), the peer
//! answers REGISTERED and then READY, whose payload may offer write batching
//! and multi-key reads. From then on the peer sends TRANSACTION and INIT
//! messages, each run in its own task so many transactions proceed at once
//! on one stream; their ledger calls go out on the same stream and the
//! answers are routed back by channel id + transaction id. The peer drops a
//! second request of a transaction while one is outstanding without
//! answering, so each transaction's link lets one request out at a time.
//!
//! Failures stay local: a message the handler does not understand is
//! answered with ERROR and the stream goes on; a contract that panics fails
//! its own transaction only. On shutdown a stream drains: running
//! transactions finish, new ones are refused, then the stream ends (a peer
//! never ends it, so the server could not stop otherwise).

use std::{
    collections::{HashMap, HashSet},
    sync::{
        Arc, Mutex, MutexGuard, PoisonError,
        atomic::{AtomicBool, Ordering},
    },
};

use hlf_protos::peer::{
    ChaincodeAdditionalParams, ChaincodeId, ChaincodeInput, ChaincodeMessage,
    chaincode_message::Type,
};
use prost::Message;
use tokio::sync::{Notify, mpsc, oneshot, watch};
use tonic::{Status, Streaming};

use crate::{
    chaincode::{self, Chaincode, ERROR_THRESHOLD, bound_error_message},
    link::{LinkClosed, LinkFuture, PeerCapabilities, PeerLink},
    stub::Stub,
};

/// The sending half of the stream to the peer.
pub(crate) type Outbound = mpsc::Sender<Result<ChaincodeMessage, Status>>;

/// Channel id and transaction id: what the peer correlates by.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct TxKey {
    channel_id: String,
    tx_id: String,
}

impl TxKey {
    fn of(message: &ChaincodeMessage) -> Self {
        Self {
            channel_id: message.channel_id.clone(),
            tx_id: message.txid.clone(),
        }
    }
}

/// Where the connection is in the handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// REGISTER sent, waiting for REGISTERED.
    Registering,
    /// REGISTERED received, waiting for READY.
    Established,
    /// Serving transactions with the capabilities READY offered.
    Ready(PeerCapabilities),
}

/// State shared by the reader loop and the transaction tasks.
#[derive(Debug)]
struct Connection {
    outbound: Outbound,
    waiting: Mutex<Waiting>,
    running: Mutex<HashSet<TxKey>>,
    /// Set on shutdown: running transactions finish, new ones are refused,
    /// then the stream ends so the server can stop.
    draining: AtomicBool,
    /// Signalled whenever a transaction finishes, for the draining loop.
    finished: Notify,
}

/// The ledger calls awaiting their answer, one per transaction at most.
#[derive(Debug, Default)]
struct Waiting {
    closed: bool,
    calls: HashMap<TxKey, oneshot::Sender<ChaincodeMessage>>,
}

/// Serves one peer stream until the peer closes it or it breaks.
pub(crate) async fn serve_stream<C: Chaincode>(
    chaincode: Arc<C>,
    chaincode_id: String,
    mut inbound: Streaming<ChaincodeMessage>,
    outbound: Outbound,
    mut shutdown: watch::Receiver<bool>,
) {
    let connection = Arc::new(Connection {
        outbound,
        waiting: Mutex::new(Waiting::default()),
        running: Mutex::new(HashSet::new()),
        draining: AtomicBool::new(false),
        finished: Notify::new(),
    });
    let register = ChaincodeMessage {
        r#type: Type::Register as i32,
        payload: ChaincodeId {
            name: chaincode_id,
            ..ChaincodeId::default()
        }
        .encode_to_vec(),
        ..ChaincodeMessage::default()
    };
    if connection.send(register).await.is_ok() {
        let mut phase = Phase::Registering;
        loop {
            let draining = connection.draining.load(Ordering::Acquire);
            if draining && lock(&connection.running).is_empty() {
                break;
            }
            let received = tokio::select! {
                received = inbound.message() => received,
                // A closed sender means the server is gone: drain as well.
                _ = shutdown.changed(), if !draining => {
                    connection.draining.store(true, Ordering::Release);
                    continue;
                }
                () = connection.finished.notified(), if draining => continue,
            };
            let message = match received {
                Ok(Some(message)) => message,
                Ok(None) => break,
                Err(status) => {
                    tracing::warn!(%status, "the peer's stream broke");
                    break;
                }
            };
            match connection.handle(&chaincode, phase, message).await {
                Ok(next) => phase = next,
                Err(Stop) => break,
            }
        }
    }
    connection.close();
}

/// The stream cannot go on (the peer is gone, or the handshake failed).
#[derive(Debug)]
struct Stop;

impl Connection {
    async fn send(&self, message: ChaincodeMessage) -> Result<(), Stop> {
        self.outbound.send(Ok(message)).await.map_err(|_| Stop)
    }

    async fn handle<C: Chaincode>(
        self: &Arc<Self>,
        chaincode: &Arc<C>,
        phase: Phase,
        message: ChaincodeMessage,
    ) -> Result<Phase, Stop> {
        let kind = Type::try_from(message.r#type);
        if kind == Ok(Type::Keepalive) {
            self.send(message).await?;
            return Ok(phase);
        }
        match (phase, kind) {
            (Phase::Registering, Ok(Type::Registered)) => Ok(Phase::Established),
            (Phase::Established, Ok(Type::Ready)) => {
                // A v2.5 peer sends an empty payload; it decodes to "nothing offered".
                match ChaincodeAdditionalParams::decode(message.payload.as_slice()) {
                    Ok(params) => Ok(Phase::Ready(PeerCapabilities::from_ready(&params))),
                    Err(error) => {
                        self.refuse(&message, format!("cannot decode READY parameters: {error}"))
                            .await?;
                        Err(Stop)
                    }
                }
            }
            (Phase::Registering | Phase::Established, _) => {
                self.refuse(
                    &message,
                    format!(
                        "unexpected {} message during the handshake ({phase:?})",
                        type_name(message.r#type)
                    ),
                )
                .await?;
                Err(Stop)
            }
            (Phase::Ready(_), Ok(Type::Response | Type::Error)) => {
                self.deliver(message);
                Ok(phase)
            }
            (Phase::Ready(_), Ok(Type::Transaction | Type::Init))
                if self.draining.load(Ordering::Acquire) =>
            {
                self.refuse(&message, "the chaincode server is shutting down".to_owned())
                    .await?;
                Ok(phase)
            }
            (Phase::Ready(capabilities), Ok(kind @ (Type::Transaction | Type::Init))) => {
                if lock(&self.running).insert(TxKey::of(&message)) {
                    let connection = Arc::clone(self);
                    let chaincode = Arc::clone(chaincode);
                    tokio::spawn(connection.run_transaction(
                        chaincode,
                        capabilities,
                        message,
                        kind == Type::Init,
                    ));
                } else {
                    self.refuse(
                        &message,
                        format!("transaction {} is already running", message.txid),
                    )
                    .await?;
                }
                Ok(phase)
            }
            (Phase::Ready(_), _) => {
                self.refuse(
                    &message,
                    format!("cannot handle a {} message", type_name(message.r#type)),
                )
                .await?;
                Ok(phase)
            }
        }
    }

    /// Answers `message` with ERROR, echoing its channel and transaction ids.
    async fn refuse(&self, message: &ChaincodeMessage, reason: String) -> Result<(), Stop> {
        let reason = bound_error_message(reason);
        tracing::warn!(txid = %message.txid, channel = %message.channel_id, %reason, "refusing a message from the peer");
        self.send(ChaincodeMessage {
            r#type: Type::Error as i32,
            payload: reason.into_bytes(),
            txid: message.txid.clone(),
            channel_id: message.channel_id.clone(),
            ..ChaincodeMessage::default()
        })
        .await
    }

    /// Hands an answer to the transaction waiting for it.
    fn deliver(&self, message: ChaincodeMessage) {
        let waiter = lock(&self.waiting).calls.remove(&TxKey::of(&message));
        match waiter {
            // The waiter may have been dropped with its transaction; nothing to do then.
            Some(waiter) => drop(waiter.send(message)),
            None => {
                tracing::warn!(txid = %message.txid, channel = %message.channel_id, "an answer nobody waits for")
            }
        }
    }

    /// Fails every waiting call and refuses new ones: no answer can come.
    fn close(&self) {
        let mut waiting = lock(&self.waiting);
        waiting.closed = true;
        waiting.calls.clear();
    }

    async fn run_transaction<C: Chaincode>(
        self: Arc<Self>,
        chaincode: Arc<C>,
        capabilities: PeerCapabilities,
        message: ChaincodeMessage,
        is_init: bool,
    ) {
        let key = TxKey::of(&message);
        let reply = self
            .execute(chaincode, capabilities, message, is_init)
            .await;
        lock(&self.running).remove(&key);
        self.finished.notify_one();
        // If the peer is gone there is nobody left to tell.
        let _ = self.send(reply).await;
    }

    async fn execute<C: Chaincode>(
        self: &Arc<Self>,
        chaincode: Arc<C>,
        capabilities: PeerCapabilities,
        message: ChaincodeMessage,
        is_init: bool,
    ) -> ChaincodeMessage {
        let key = TxKey::of(&message);
        let reply = |kind: Type, payload: Vec<u8>| ChaincodeMessage {
            r#type: kind as i32,
            payload,
            txid: key.tx_id.clone(),
            channel_id: key.channel_id.clone(),
            ..ChaincodeMessage::default()
        };
        // Every error the peer gets is bounded here, whatever the contract
        // or the input put in it (see `MAX_ERROR_MESSAGE`).
        let fail = |message: String| reply(Type::Error, bound_error_message(message).into_bytes());
        let input = match ChaincodeInput::decode(message.payload.as_slice()) {
            Ok(input) => input,
            Err(error) => {
                return fail(format!("cannot decode the chaincode input: {error}"));
            }
        };
        let link = Arc::new(TxLink {
            connection: Arc::clone(self),
            key: key.clone(),
            turn: Arc::new(tokio::sync::Mutex::new(())),
        });
        let stub = match Stub::new(
            key.channel_id.clone(),
            key.tx_id.clone(),
            input,
            message.proposal,
            link,
            capabilities,
        ) {
            Ok(stub) => stub,
            Err(error) => {
                return fail(format!("cannot start the transaction: {error}"));
            }
        };
        // A task of its own, so a panic in the contract unwinds only this task.
        let task = tokio::spawn({
            let stub = stub.clone();
            async move {
                if is_init {
                    chaincode.init(stub).await
                } else {
                    chaincode.invoke(stub).await
                }
            }
        });
        let mut response = match task.await {
            Ok(response) => response,
            Err(error) => chaincode::error(match error.try_into_panic() {
                Ok(panic) => format!("the chaincode panicked: {}", panic_message(panic.as_ref())),
                Err(_) => "the chaincode was cancelled".to_owned(),
            }),
        };
        if response.status < ERROR_THRESHOLD
            && let Err(error) = stub.flush_writes().await
        {
            response = chaincode::error(format!("cannot send the transaction's writes: {error}"));
        }
        if response.status >= ERROR_THRESHOLD {
            response.message = bound_error_message(response.message);
            tracing::info!(txid = %key.tx_id, status = response.status, message = %response.message, "transaction failed");
            if is_init {
                // The peer expects a failed Init as ERROR, not as an error status.
                return fail(response.message);
            }
            return reply(Type::Completed, response.encode_to_vec());
        }
        ChaincodeMessage {
            chaincode_event: stub.take_event(),
            ..reply(Type::Completed, response.encode_to_vec())
        }
    }
}

/// One transaction's path to the peer.
#[derive(Debug)]
struct TxLink {
    connection: Arc<Connection>,
    key: TxKey,
    /// Held from sending a request until its answer arrives.
    turn: Arc<tokio::sync::Mutex<()>>,
}

impl PeerLink for TxLink {
    fn call(&self, kind: Type, payload: Vec<u8>) -> LinkFuture<'_> {
        let connection = Arc::clone(&self.connection);
        let key = self.key.clone();
        let turn = Arc::clone(&self.turn);
        Box::pin(async move {
            // The exchange runs in its own task holding the turn, so a caller
            // that gives up waiting cannot let a second request overtake an
            // answer that is still on its way.
            let exchange = tokio::spawn(async move {
                let _turn = turn.lock_owned().await;
                let (answer_tx, answer_rx) = oneshot::channel();
                {
                    let mut waiting = lock(&connection.waiting);
                    if waiting.closed {
                        return Err(LinkClosed);
                    }
                    waiting.calls.insert(key.clone(), answer_tx);
                }
                let request = ChaincodeMessage {
                    r#type: kind as i32,
                    payload,
                    txid: key.tx_id.clone(),
                    channel_id: key.channel_id.clone(),
                    ..ChaincodeMessage::default()
                };
                if connection.send(request).await.is_err() {
                    lock(&connection.waiting).calls.remove(&key);
                    return Err(LinkClosed);
                }
                answer_rx.await.map_err(|_| LinkClosed)
            });
            exchange.await.unwrap_or(Err(LinkClosed))
        })
    }
}

/// The state behind these locks stays consistent even if a holder panicked.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn type_name(kind: i32) -> String {
    Type::try_from(kind).map_or_else(
        |_| format!("unknown type {kind}"),
        |kind| kind.as_str_name().to_owned(),
    )
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a non-text panic payload")
}
