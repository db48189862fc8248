//! An in-memory ledger for unit tests of contracts, with the peer's
//! semantics where contracts can observe them.
//!
//! It answers the stub's `ChaincodeMessage` requests exactly as a peer's
//! transaction simulator would, so a contract under test runs through the
//! same [`Stub`] code as on a network: reads see the committed state (never
//! the transaction's own writes), range results arrive in batches behind
//! QUERY_STATE_NEXT, pagination returns Fabric's bookmarks, private data
//! has SHA-256 hashes, and writes, history entries and the event become
//! visible only when the transaction succeeds. Rich (CouchDB) queries and
//! calls to other chaincodes are refused, as a LevelDB peer without those
//! chaincodes would.

use std::{
    collections::{BTreeMap, HashMap, VecDeque},
    ops::Bound,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    time::SystemTime,
};

use hlf_protos::{
    common::{ChannelHeader, Header, HeaderType, SignatureHeader},
    peer::{
        ChaincodeEvent, ChaincodeInput, ChaincodeInvocationSpec, ChaincodeMessage,
        ChaincodeProposalPayload, ChaincodeSpec, DelState, GetHistoryForKey, GetState,
        GetStateByRange, GetStateMetadata, GetStateMultiple, GetStateMultipleResult, Proposal,
        PutState, PutStateMetadata, QueryMetadata, QueryResponse, QueryResponseMetadata,
        QueryResultBytes, QueryStateClose, QueryStateNext, Response, SignedProposal, StateMetadata,
        StateMetadataResult, WriteBatchState, chaincode_message::Type, write_record,
    },
    queryresult::{KeyModification, Kv},
};
use prost::Message;
use prost_types::Timestamp;
use sha2::{Digest, Sha256};

use crate::{
    chaincode::{Chaincode, ERROR_THRESHOLD},
    link::{LinkFuture, PeerCapabilities, PeerLink},
    stub::Stub,
};

/// How many results a peer puts in one QueryResponse before the shim must
/// ask for more.
pub const DEFAULT_BATCH: usize = 100;

/// Transactions get increasing timestamps from here (2024-01-01T00:00:00Z).
const EPOCH_SECONDS: i64 = 1_704_067_200;

/// A ledger of one chaincode namespace, shared by clones.
#[derive(Debug, Clone)]
pub struct MemoryLedger {
    inner: Arc<Mutex<LedgerState>>,
    config: LedgerConfig,
}

#[derive(Debug, Clone)]
struct LedgerConfig {
    namespace: String,
    channel_id: String,
    capabilities: PeerCapabilities,
    batch: usize,
    /// Stamp transactions with the current time instead of the counter.
    system_clock: bool,
}

#[derive(Debug, Default)]
struct LedgerState {
    /// Keyed by collection ("" for the public state), then key.
    data: BTreeMap<String, BTreeMap<String, Entry>>,
    history: HashMap<String, Vec<KeyModification>>,
    events: Vec<ChaincodeEvent>,
    transactions: u64,
}

#[derive(Debug, Clone, Default)]
struct Entry {
    value: Vec<u8>,
    metadata: BTreeMap<String, Vec<u8>>,
}

/// The result of running one transaction on the ledger.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The transaction id the ledger assigned.
    pub tx_id: String,
    /// The chaincode's response.
    pub response: Response,
    /// The event, if the transaction committed with one.
    pub event: Option<ChaincodeEvent>,
    /// Whether the writes were committed (the response status was below 400
    /// and the writes reached the ledger).
    pub committed: bool,
}

/// What a client sends: arguments, identity, transient data, timestamp,
/// and optionally the transaction id its proposal carries.
#[derive(Debug, Clone, Default)]
pub struct Invocation {
    args: Vec<Vec<u8>>,
    creator: Vec<u8>,
    transient: HashMap<String, Vec<u8>>,
    timestamp: Option<Timestamp>,
    tx_id: Option<String>,
    init: bool,
}

impl Invocation {
    /// A call with these arguments (function name first).
    pub fn new<A: Into<Vec<u8>>>(args: impl IntoIterator<Item = A>) -> Self {
        Self {
            args: args.into_iter().map(Into::into).collect(),
            ..Self::default()
        }
    }

    /// Submits as this serialised `msp.SerializedIdentity`.
    pub fn creator(mut self, creator: Vec<u8>) -> Self {
        self.creator = creator;
        self
    }

    /// Adds a transient data entry.
    pub fn transient(mut self, key: &str, value: Vec<u8>) -> Self {
        self.transient.insert(key.to_owned(), value);
        self
    }

    /// Uses this client timestamp instead of the ledger's clock.
    pub fn timestamp(mut self, timestamp: Timestamp) -> Self {
        self.timestamp = Some(timestamp);
        self
    }

    /// Runs as transaction `tx_id` (as a proposal a client built names
    /// it) instead of one the ledger makes up.
    pub fn tx_id(mut self, tx_id: impl Into<String>) -> Self {
        self.tx_id = Some(tx_id.into());
        self
    }

    /// Marks the call as Init.
    pub fn init(mut self) -> Self {
        self.init = true;
        self
    }

    /// The input as the peer hands it to the chaincode.
    pub fn input(&self) -> ChaincodeInput {
        ChaincodeInput {
            args: self.args.clone(),
            is_init: self.init,
            ..ChaincodeInput::default()
        }
    }

    /// A signed proposal carrying this invocation (with an empty signature:
    /// chaincodes never verify it, the peer does).
    pub fn signed_proposal(
        &self,
        channel_id: &str,
        tx_id: &str,
        timestamp: Timestamp,
    ) -> SignedProposal {
        let channel_header = ChannelHeader {
            r#type: HeaderType::EndorserTransaction as i32,
            timestamp: Some(timestamp),
            channel_id: channel_id.to_owned(),
            tx_id: tx_id.to_owned(),
            ..ChannelHeader::default()
        };
        let signature_header = SignatureHeader {
            creator: self.creator.clone(),
            nonce: Sha256::digest(tx_id.as_bytes()).to_vec(),
        };
        let header = Header {
            channel_header: channel_header.encode_to_vec(),
            signature_header: signature_header.encode_to_vec(),
        };
        let spec = ChaincodeInvocationSpec {
            chaincode_spec: Some(ChaincodeSpec {
                input: Some(self.input()),
                ..ChaincodeSpec::default()
            }),
        };
        let payload = ChaincodeProposalPayload {
            input: spec.encode_to_vec(),
            transient_map: self.transient.clone(),
        };
        let proposal = Proposal {
            header: header.encode_to_vec(),
            payload: payload.encode_to_vec(),
            extension: Vec::new(),
        };
        SignedProposal {
            proposal_bytes: proposal.encode_to_vec(),
            signature: Vec::new(),
        }
    }
}

/// A running transaction: its stub and the simulation answering it.
#[derive(Debug)]
pub struct Transaction {
    stub: Stub,
    link: Arc<MemoryLink>,
}

impl Transaction {
    /// The stub to call ledger operations on.
    pub fn stub(&self) -> &Stub {
        &self.stub
    }

    /// Sends buffered writes and commits the transaction's writes and event.
    pub async fn commit(self) -> Result<Option<ChaincodeEvent>, crate::StubError> {
        let event = self.finish().await?;
        self.apply(event.clone()).await;
        Ok(event)
    }

    /// Sends the buffered writes to the simulation and takes the event:
    /// what the peer holds once the chaincode has answered.
    async fn finish(&self) -> Result<Option<ChaincodeEvent>, crate::StubError> {
        self.stub.flush_writes().await?;
        Ok(self.stub.take_event())
    }

    /// Commits the simulated writes with `event`.
    async fn apply(self, event: Option<ChaincodeEvent>) {
        self.link.simulation.lock().await.commit(event);
    }
}

/// A transaction the chaincode has run and the ledger has not committed
/// yet: what an endorsing peer holds between a client's endorsement and
/// its submission. [`Endorsement::commit`] commits it (as ordering a valid
/// transaction does); dropping it discards it.
#[derive(Debug)]
pub struct Endorsement {
    /// The outcome so far: never committed; the event it would commit.
    outcome: Outcome,
    /// The simulation, when the chaincode succeeded.
    transaction: Option<Transaction>,
}

impl Endorsement {
    fn refused(tx_id: String, response: Response) -> Self {
        Self {
            outcome: Outcome {
                tx_id,
                response,
                event: None,
                committed: false,
            },
            transaction: None,
        }
    }

    /// The transaction id.
    pub fn tx_id(&self) -> &str {
        &self.outcome.tx_id
    }

    /// The chaincode's response.
    pub fn response(&self) -> &Response {
        &self.outcome.response
    }

    /// The event the transaction commits with, if it set one.
    pub fn event(&self) -> Option<&ChaincodeEvent> {
        self.outcome.event.as_ref()
    }

    /// Commits the writes and the event if the chaincode succeeded; the
    /// outcome says whether anything was committed.
    pub async fn commit(self) -> Outcome {
        let mut outcome = self.outcome;
        if let Some(transaction) = self.transaction {
            transaction.apply(outcome.event.clone()).await;
            outcome.committed = true;
        }
        outcome
    }
}

impl Default for MemoryLedger {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryLedger {
    /// An empty ledger that offers no optional features, like a v2.5 peer.
    pub fn new() -> Self {
        Self {
            inner: Arc::new(Mutex::new(LedgerState::default())),
            config: LedgerConfig {
                namespace: "chaincode".to_owned(),
                channel_id: "channel".to_owned(),
                capabilities: PeerCapabilities::default(),
                batch: DEFAULT_BATCH,
                system_clock: false,
            },
        }
    }

    /// Stamps transactions without a timestamp of their own with the
    /// current time instead of the ledger's clock, for tests in which
    /// clients stamp their proposals with the current time (a contract
    /// comparing the two would otherwise see them years apart).
    pub fn with_system_clock(mut self) -> Self {
        self.config.system_clock = true;
        self
    }

    /// Offers write batching and multi-key reads, like a v3 peer.
    pub fn with_capabilities(mut self, capabilities: PeerCapabilities) -> Self {
        self.config.capabilities = capabilities;
        self
    }

    /// Returns query results in batches of `batch` (at least 1).
    pub fn with_query_batch(mut self, batch: usize) -> Self {
        self.config.batch = batch.max(1);
        self
    }

    /// The capabilities this ledger offers its stubs.
    pub fn capabilities(&self) -> PeerCapabilities {
        self.config.capabilities
    }

    fn state(&self) -> MutexGuard<'_, LedgerState> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Commits `value` under `key` outside any transaction (test setup).
    pub fn seed_state(&self, key: &str, value: &[u8]) {
        self.seed("", key, value);
    }

    /// Commits `value` under `key` of `collection` (test setup).
    pub fn seed_private(&self, collection: &str, key: &str, value: &[u8]) {
        self.seed(collection, key, value);
    }

    fn seed(&self, collection: &str, key: &str, value: &[u8]) {
        let mut simulation = self.simulation("seed");
        simulation.writes.insert(
            (collection.to_owned(), key.to_owned()),
            Write::Put(value.to_vec()),
        );
        simulation.commit(None);
    }

    /// The committed value of `key`.
    pub fn state_of(&self, key: &str) -> Option<Vec<u8>> {
        self.committed("", key).map(|entry| entry.value)
    }

    /// The committed value of `key` in `collection`.
    pub fn private_of(&self, collection: &str, key: &str) -> Option<Vec<u8>> {
        self.committed(collection, key).map(|entry| entry.value)
    }

    /// The committed metadata of `key` in `collection` ("" for public).
    pub fn metadata_of(&self, collection: &str, key: &str) -> BTreeMap<String, Vec<u8>> {
        self.committed(collection, key)
            .map(|entry| entry.metadata)
            .unwrap_or_default()
    }

    /// Committed changes of a public key, oldest first.
    pub fn history_of(&self, key: &str) -> Vec<KeyModification> {
        self.state().history.get(key).cloned().unwrap_or_default()
    }

    /// Every committed value, by collection ("" for the public state) and
    /// key: what a test compares before and after a call to show that it
    /// wrote nothing.
    pub fn contents(&self) -> BTreeMap<(String, String), Vec<u8>> {
        let state = self.state();
        state
            .data
            .iter()
            .flat_map(|(collection, entries)| {
                entries
                    .iter()
                    .map(|(key, entry)| ((collection.clone(), key.clone()), entry.value.clone()))
            })
            .collect()
    }

    /// Events of committed transactions, oldest first.
    pub fn events(&self) -> Vec<ChaincodeEvent> {
        self.state().events.clone()
    }

    fn committed(&self, collection: &str, key: &str) -> Option<Entry> {
        self.state().data.get(collection)?.get(key).cloned()
    }

    /// A peer-side simulation of transaction `tx_id`: answers its requests
    /// against the committed state and holds its writes until commit.
    pub fn simulation(&self, tx_id: &str) -> Simulation {
        let timestamp = {
            let mut state = self.state();
            state.transactions += 1;
            if self.config.system_clock {
                Timestamp::from(SystemTime::now())
            } else {
                Timestamp {
                    seconds: EPOCH_SECONDS + i64::try_from(state.transactions).unwrap_or(i64::MAX),
                    nanos: 0,
                }
            }
        };
        Simulation {
            ledger: self.clone(),
            tx_id: tx_id.to_owned(),
            timestamp,
            writes: BTreeMap::new(),
            metadata: BTreeMap::new(),
            iterators: HashMap::new(),
            next_iterator: 0,
            private_query: false,
        }
    }

    /// Starts a transaction for `invocation` and returns its stub; commit it
    /// with [`Transaction::commit`] or drop it to roll back.
    pub fn begin(&self, invocation: &Invocation) -> Result<Transaction, crate::StubError> {
        let tx_id = invocation.tx_id.clone().unwrap_or_else(|| {
            let digest = Sha256::digest(format!("memory-tx-{}", self.state().transactions));
            digest.iter().map(|byte| format!("{byte:02x}")).collect()
        });
        let simulation = self.simulation(&tx_id);
        let timestamp = invocation.timestamp.unwrap_or(simulation.timestamp);
        let signed = invocation.signed_proposal(&self.config.channel_id, &tx_id, timestamp);
        let link = Arc::new(MemoryLink {
            simulation: tokio::sync::Mutex::new(simulation),
        });
        let stub = Stub::new(
            self.config.channel_id.clone(),
            tx_id,
            invocation.input(),
            Some(signed),
            Arc::clone(&link) as Arc<dyn PeerLink>,
            self.config.capabilities,
        )?;
        Ok(Transaction { stub, link })
    }

    /// Runs `invocation` on `chaincode` and commits it if it succeeds.
    ///
    /// Unlike the server, which turns a panic into a failed transaction,
    /// this lets a panic in the contract fail the test that caused it.
    pub async fn invoke<C: Chaincode>(&self, chaincode: &C, invocation: &Invocation) -> Outcome {
        self.endorse(chaincode, invocation).await.commit().await
    }

    /// Runs `invocation` on `chaincode` as an endorsing peer does: the
    /// response and the event are known, nothing is committed until
    /// [`Endorsement::commit`]. Reads see the state committed before that.
    pub async fn endorse<C: Chaincode>(
        &self,
        chaincode: &C,
        invocation: &Invocation,
    ) -> Endorsement {
        let transaction = match self.begin(invocation) {
            Ok(transaction) => transaction,
            Err(error) => {
                return Endorsement::refused(
                    String::new(),
                    crate::chaincode::error(error.to_string()),
                );
            }
        };
        let stub = transaction.stub().clone();
        let tx_id = stub.tx_id().to_owned();
        let response = if invocation.init {
            chaincode.init(stub).await
        } else {
            chaincode.invoke(stub).await
        };
        if response.status >= ERROR_THRESHOLD {
            return Endorsement::refused(tx_id, response);
        }
        match transaction.finish().await {
            Ok(event) => Endorsement {
                outcome: Outcome {
                    tx_id,
                    response,
                    event,
                    committed: false,
                },
                transaction: Some(transaction),
            },
            Err(error) => Endorsement::refused(
                tx_id,
                crate::chaincode::error(format!("cannot send the transaction's writes: {error}")),
            ),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Write {
    Put(Vec<u8>),
    Delete,
    Purge,
}

/// The peer's side of one transaction.
#[derive(Debug)]
pub struct Simulation {
    ledger: MemoryLedger,
    tx_id: String,
    timestamp: Timestamp,
    writes: BTreeMap<(String, String), Write>,
    metadata: BTreeMap<(String, String), BTreeMap<String, Vec<u8>>>,
    iterators: HashMap<String, VecDeque<QueryResultBytes>>,
    next_iterator: u64,
    /// A range query on private data ran: as a peer, no write may follow
    /// (and none may come before one).
    private_query: bool,
}

/// Why the simulated peer refused a request; becomes the ERROR payload.
type Refusal = String;

fn decode<M: Message + Default>(bytes: &[u8]) -> Result<M, Refusal> {
    M::decode(bytes).map_err(|error| format!("unmarshal failed: {error}"))
}

impl Simulation {
    /// Answers one request of the shim as a peer would: RESPONSE with the
    /// result, or ERROR with the reason.
    pub fn answer(&mut self, request: &ChaincodeMessage) -> ChaincodeMessage {
        let (kind, payload) = match self.handle(request) {
            Ok(payload) => (Type::Response, payload),
            Err(reason) => (Type::Error, reason.into_bytes()),
        };
        ChaincodeMessage {
            r#type: kind as i32,
            payload,
            txid: request.txid.clone(),
            channel_id: request.channel_id.clone(),
            ..ChaincodeMessage::default()
        }
    }

    fn handle(&mut self, request: &ChaincodeMessage) -> Result<Vec<u8>, Refusal> {
        let capabilities = self.ledger.config.capabilities;
        let payload = request.payload.as_slice();
        match Type::try_from(request.r#type) {
            Ok(Type::GetState) => {
                let get: GetState = decode(payload)?;
                Ok(self.committed_value(&get.collection, &get.key))
            }
            Ok(Type::GetStateMultiple) if capabilities.get_multiple.is_some() => {
                let get: GetStateMultiple = decode(payload)?;
                let values = get
                    .keys
                    .iter()
                    .map(|key| self.committed_value(&get.collection, key))
                    .collect();
                Ok(GetStateMultipleResult { values }.encode_to_vec())
            }
            Ok(Type::GetPrivateDataHash) => {
                let get: GetState = decode(payload)?;
                let value = self.committed_value(&get.collection, &get.key);
                Ok(if value.is_empty() {
                    value
                } else {
                    Sha256::digest(&value).to_vec()
                })
            }
            Ok(Type::PutState) => {
                let put: PutState = decode(payload)?;
                self.write(put.collection, put.key, Write::Put(put.value))
            }
            Ok(Type::DelState) => {
                let del: DelState = decode(payload)?;
                self.write(del.collection, del.key, Write::Delete)
            }
            Ok(Type::PurgePrivateData) => {
                let purge: DelState = decode(payload)?;
                if purge.collection.is_empty() {
                    return Err("only private data can be purged".to_owned());
                }
                self.write(purge.collection, purge.key, Write::Purge)
            }
            Ok(Type::PutStateMetadata) => {
                let put: PutStateMetadata = decode(payload)?;
                let entry = put.metadata.ok_or("the metadata entry is missing")?;
                self.write_metadata(put.collection, put.key, entry)
            }
            Ok(Type::GetStateMetadata) => {
                let get: GetStateMetadata = decode(payload)?;
                let entries = self
                    .ledger
                    .committed(&get.collection, &get.key)
                    .map(|entry| entry.metadata)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(metakey, value)| StateMetadata { metakey, value })
                    .collect();
                Ok(StateMetadataResult { entries }.encode_to_vec())
            }
            Ok(Type::WriteBatchState) if capabilities.write_batch.is_some() => {
                let batch: WriteBatchState = decode(payload)?;
                for record in batch.rec {
                    match write_record::Type::try_from(record.r#type) {
                        Ok(write_record::Type::PutState) => {
                            self.write(record.collection, record.key, Write::Put(record.value))?
                        }
                        Ok(write_record::Type::DelState) => {
                            self.write(record.collection, record.key, Write::Delete)?
                        }
                        Ok(write_record::Type::PurgePrivateData) => {
                            self.write(record.collection, record.key, Write::Purge)?
                        }
                        Ok(write_record::Type::PutStateMetadata) => {
                            let entry = record
                                .metadata
                                .ok_or("a batched metadata entry is missing")?;
                            self.write_metadata(record.collection, record.key, entry)?
                        }
                        _ => return Err(format!("unknown write record type {}", record.r#type)),
                    };
                }
                Ok(Vec::new())
            }
            Ok(Type::GetStateByRange) => {
                let range: GetStateByRange = decode(payload)?;
                self.range(range)
            }
            Ok(Type::QueryStateNext) => {
                let next: QueryStateNext = decode(payload)?;
                let mut results = self
                    .iterators
                    .remove(&next.id)
                    .ok_or("query iterator not found")?;
                Ok(self
                    .batch(next.id, &mut results, Vec::new())
                    .encode_to_vec())
            }
            Ok(Type::QueryStateClose) => {
                let close: QueryStateClose = decode(payload)?;
                self.iterators.remove(&close.id);
                Ok(QueryResponse {
                    id: close.id,
                    ..QueryResponse::default()
                }
                .encode_to_vec())
            }
            Ok(Type::GetHistoryForKey) => {
                let get: GetHistoryForKey = decode(payload)?;
                let mut results: VecDeque<QueryResultBytes> = self
                    .ledger
                    .history_of(&get.key)
                    .into_iter()
                    .rev()
                    .map(|change| QueryResultBytes {
                        result_bytes: change.encode_to_vec(),
                    })
                    .collect();
                let id = self.new_iterator_id();
                Ok(self.batch(id, &mut results, Vec::new()).encode_to_vec())
            }
            Ok(Type::GetQueryResult) => Err("ExecuteQuery not supported for leveldb".to_owned()),
            Ok(Type::InvokeChaincode) => {
                Err("no other chaincode is deployed on the in-memory ledger".to_owned())
            }
            _ => Err(format!(
                "cannot handle message type {} from the chaincode",
                request.r#type
            )),
        }
    }

    fn committed_value(&self, collection: &str, key: &str) -> Vec<u8> {
        self.ledger
            .committed(collection, key)
            .map(|entry| entry.value)
            .unwrap_or_default()
    }

    fn write(&mut self, collection: String, key: String, write: Write) -> Result<Vec<u8>, Refusal> {
        if key.is_empty() {
            return Err("key must not be empty".to_owned());
        }
        // As Fabric's transaction simulator: private data queries are not
        // re-validated at commit, so they are for read-only transactions.
        if self.private_query {
            return Err(format!(
                "txid [{}]: unsuppored transaction. Transaction has already performed queries on pvt data. Writes are not allowed",
                self.tx_id
            ));
        }
        self.writes.insert((collection, key), write);
        Ok(Vec::new())
    }

    fn write_metadata(
        &mut self,
        collection: String,
        key: String,
        entry: StateMetadata,
    ) -> Result<Vec<u8>, Refusal> {
        self.metadata
            .entry((collection, key))
            .or_default()
            .insert(entry.metakey, entry.value);
        Ok(Vec::new())
    }

    fn new_iterator_id(&mut self) -> String {
        self.next_iterator += 1;
        format!("{}-iterator-{}", self.tx_id, self.next_iterator)
    }

    /// The committed keys of the range (Fabric ranges ignore the
    /// transaction's own writes), one page of them when paginated.
    fn range(&mut self, range: GetStateByRange) -> Result<Vec<u8>, Refusal> {
        if !range.collection.is_empty() {
            if !self.writes.is_empty() || !self.metadata.is_empty() {
                return Err(format!(
                    "txid [{}]: unsuppored transaction. Queries on pvt data is supported only in a read-only transaction",
                    self.tx_id
                ));
            }
            self.private_query = true;
        }
        let paging = if range.metadata.is_empty() {
            None
        } else {
            Some(decode::<QueryMetadata>(&range.metadata)?)
        };
        let start = match &paging {
            Some(page) if !page.bookmark.is_empty() => page.bookmark.clone(),
            _ => range.start_key,
        };
        let end = if range.end_key.is_empty() {
            Bound::Unbounded
        } else {
            Bound::Excluded(range.end_key.clone())
        };
        let empty = matches!(&end, Bound::Excluded(end) if *end <= start);
        let limit = paging.as_ref().map_or(usize::MAX, |page| {
            usize::try_from(page.page_size.max(1)).unwrap_or(usize::MAX)
        });
        let mut kvs = Vec::new();
        let mut bookmark = String::new();
        if !empty {
            let state = self.ledger.state();
            if let Some(entries) = state.data.get(&range.collection) {
                for (key, entry) in entries.range((Bound::Included(start), end)) {
                    if kvs.len() == limit {
                        bookmark = key.clone();
                        break;
                    }
                    let kv = Kv {
                        namespace: self.ledger.config.namespace.clone(),
                        key: key.clone(),
                        value: entry.value.clone(),
                    };
                    kvs.push(QueryResultBytes {
                        result_bytes: kv.encode_to_vec(),
                    });
                }
            }
        }
        let metadata = paging
            .map(|_| {
                QueryResponseMetadata {
                    fetched_records_count: i32::try_from(kvs.len()).unwrap_or(i32::MAX),
                    bookmark,
                }
                .encode_to_vec()
            })
            .unwrap_or_default();
        let id = self.new_iterator_id();
        Ok(self.batch(id, &mut kvs.into(), metadata).encode_to_vec())
    }

    /// The next batch of an iterator's results; the rest is kept for
    /// QUERY_STATE_NEXT.
    fn batch(
        &mut self,
        id: String,
        results: &mut VecDeque<QueryResultBytes>,
        metadata: Vec<u8>,
    ) -> QueryResponse {
        let size = self.ledger.config.batch.min(results.len());
        let batch: Vec<QueryResultBytes> = results.drain(..size).collect();
        let has_more = !results.is_empty();
        if has_more {
            self.iterators.insert(id.clone(), std::mem::take(results));
        }
        QueryResponse {
            results: batch,
            has_more,
            id,
            metadata,
        }
    }

    /// Applies the writes, records history and the event.
    pub fn commit(&mut self, event: Option<ChaincodeEvent>) {
        let writes = std::mem::take(&mut self.writes);
        let metadata = std::mem::take(&mut self.metadata);
        let mut state = self.ledger.state();
        for ((collection, key), write) in writes {
            let data = state.data.entry(collection.clone()).or_default();
            let value = match write {
                Write::Put(value) => {
                    data.entry(key.clone()).or_default().value = value.clone();
                    Some(value)
                }
                Write::Delete | Write::Purge => {
                    data.remove(&key);
                    None
                }
            };
            // Fabric keeps history for public keys only.
            if collection.is_empty() {
                state.history.entry(key).or_default().push(KeyModification {
                    tx_id: self.tx_id.clone(),
                    is_delete: value.is_none(),
                    value: value.unwrap_or_default(),
                    timestamp: Some(self.timestamp),
                });
            }
        }
        for ((collection, key), entries) in metadata {
            let entry = state
                .data
                .entry(collection)
                .or_default()
                .entry(key)
                .or_default();
            entry.metadata.extend(entries);
        }
        if let Some(mut event) = event {
            event.tx_id = self.tx_id.clone();
            event.chaincode_id = self.ledger.config.namespace.clone();
            state.events.push(event);
        }
    }
}

/// The stub's link to a [`Simulation`]; the lock also serialises requests.
#[derive(Debug)]
struct MemoryLink {
    simulation: tokio::sync::Mutex<Simulation>,
}

impl PeerLink for MemoryLink {
    fn call(&self, kind: Type, payload: Vec<u8>) -> LinkFuture<'_> {
        Box::pin(async move {
            let mut simulation = self.simulation.lock().await;
            let request = ChaincodeMessage {
                r#type: kind as i32,
                payload,
                txid: simulation.tx_id.clone(),
                ..ChaincodeMessage::default()
            };
            Ok(simulation.answer(&request))
        })
    }
}
