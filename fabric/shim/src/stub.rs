//! The API a contract programs against during one transaction.
//!
//! The stub knows nothing of streams: every ledger call is one request
//! through a [`PeerLink`], which is the gRPC stream in production and the
//! in-memory ledger in unit tests. A [`Stub`] is a cheap handle (clone it
//! into helper functions and iterators); all clones belong to the same
//! transaction and their ledger calls are serialised by the link.

use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, Mutex, PoisonError},
};

use hlf_protos::{
    peer::{
        ChaincodeEvent, ChaincodeId, ChaincodeInput, ChaincodeMessage, ChaincodeSpec, DelState,
        GetHistoryForKey, GetQueryResult, GetState, GetStateByRange, GetStateMetadata,
        GetStateMultiple, GetStateMultipleResult, PutState, PutStateMetadata, QueryMetadata,
        QueryResponse, QueryResponseMetadata, QueryStateClose, QueryStateNext, Response,
        SignedProposal, StateMetadata, StateMetadataResult, WriteBatchState, WriteRecord,
        chaincode_message::Type, write_record,
    },
    queryresult::{KeyModification, Kv},
};
use prost::Message;
use prost_types::Timestamp;

use crate::{
    composite_key::{self, NAMESPACE},
    error::StubError,
    link::{PeerCapabilities, PeerLink},
    proposal::ProposalContext,
};

/// The metadata key under which Fabric keeps a key-level endorsement policy.
pub const VALIDATION_PARAMETER: &str = "VALIDATION_PARAMETER";

/// Fabric starts an open-ended range here so composite keys (which begin
/// with U+0000) stay out of simple-key range queries.
const EMPTY_START_KEY: &str = "\u{1}";

/// One transaction's view of the ledger and of its proposal.
#[derive(Debug, Clone)]
pub struct Stub {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    channel_id: String,
    tx_id: String,
    input: ChaincodeInput,
    proposal: Option<ProposalContext>,
    link: Arc<dyn PeerLink>,
    capabilities: PeerCapabilities,
    event: Mutex<Option<ChaincodeEvent>>,
    /// Present only when the peer offered write batching.
    batch: Option<Mutex<WriteBatch>>,
}

/// Buffered writes, the last one per key (and per key's metadata) winning,
/// as Fabric's shim does. Ordered so the batch is deterministic.
#[derive(Debug, Default)]
struct WriteBatch {
    records: BTreeMap<(String, String, bool), WriteRecord>,
}

/// A page of a paginated query: its results and where the next page starts.
#[derive(Debug)]
pub struct Page {
    /// The results of this page.
    pub results: StateIterator,
    /// How many records the peer fetched for this page.
    pub fetched_records: i32,
    /// Pass this to the next call to get the next page; empty after the last.
    pub bookmark: String,
}

impl Stub {
    /// A stub for one transaction; `proposal` is absent only for calls the
    /// peer makes without a client proposal.
    pub fn new(
        channel_id: String,
        tx_id: String,
        input: ChaincodeInput,
        proposal: Option<SignedProposal>,
        link: Arc<dyn PeerLink>,
        capabilities: PeerCapabilities,
    ) -> Result<Self, StubError> {
        let proposal = proposal.map(ProposalContext::decode).transpose()?;
        let batch = capabilities
            .write_batch
            .map(|_| Mutex::new(WriteBatch::default()));
        Ok(Self {
            inner: Arc::new(Inner {
                channel_id,
                tx_id,
                input,
                proposal,
                link,
                capabilities,
                event: Mutex::new(None),
                batch,
            }),
        })
    }

    /// The transaction id.
    pub fn tx_id(&self) -> &str {
        &self.inner.tx_id
    }

    /// The channel the transaction runs on.
    pub fn channel_id(&self) -> &str {
        &self.inner.channel_id
    }

    /// The call's arguments; by convention the first is the function name.
    pub fn args(&self) -> &[Vec<u8>] {
        &self.inner.input.args
    }

    /// Decorations a peer-side decorator attached to the input.
    pub fn decorations(&self) -> &HashMap<String, Vec<u8>> {
        &self.inner.input.decorations
    }

    fn proposal(&self) -> Result<&ProposalContext, StubError> {
        self.inner.proposal.as_ref().ok_or(StubError::NoProposal)
    }

    /// The signed proposal of the transaction.
    pub fn signed_proposal(&self) -> Result<&SignedProposal, StubError> {
        Ok(&self.proposal()?.signed)
    }

    /// The serialised `msp.SerializedIdentity` of the submitter.
    pub fn creator(&self) -> Result<&[u8], StubError> {
        Ok(&self.proposal()?.creator)
    }

    /// Data the client passed to the endorsers only (never on the ledger).
    pub fn transient(&self) -> Result<&HashMap<String, Vec<u8>>, StubError> {
        Ok(&self.proposal()?.transient)
    }

    /// The client's timestamp of the transaction, the same on every endorser
    /// (unlike the wall clock).
    pub fn tx_timestamp(&self) -> Result<Timestamp, StubError> {
        self.proposal()?.timestamp.ok_or(StubError::NoTimestamp)
    }

    /// SHA-256 of nonce ‖ creator ‖ epoch, binding data to this proposal.
    pub fn binding(&self) -> Result<&[u8], StubError> {
        Ok(&self.proposal()?.binding)
    }

    /// Sets the transaction's event, replacing an earlier one; the peer
    /// publishes it only if the transaction succeeds and commits.
    pub fn set_event(&self, name: &str, payload: Vec<u8>) -> Result<(), StubError> {
        if name.is_empty() {
            return Err(StubError::EmptyEventName);
        }
        *lock(&self.inner.event) = Some(ChaincodeEvent {
            event_name: name.to_owned(),
            payload,
            ..ChaincodeEvent::default()
        });
        Ok(())
    }

    /// The committed value of `key`, `None` if absent. Writes of this
    /// transaction are not visible: Fabric reads the committed state.
    pub async fn get_state(&self, key: &str) -> Result<Option<Vec<u8>>, StubError> {
        self.get("", key).await
    }

    /// The committed values of several keys, in order.
    pub async fn get_multiple_states(
        &self,
        keys: &[&str],
    ) -> Result<Vec<Option<Vec<u8>>>, StubError> {
        self.get_multiple("", keys).await
    }

    /// Writes `value` under `key`.
    pub async fn put_state(&self, key: &str, value: Vec<u8>) -> Result<(), StubError> {
        self.put("", key, value).await
    }

    /// Deletes `key`.
    pub async fn del_state(&self, key: &str) -> Result<(), StubError> {
        self.delete("", key, Type::DelState).await
    }

    /// Keys in `[start, end)`; an empty `start` means the first simple key,
    /// an empty `end` means no upper bound.
    pub async fn get_state_by_range(
        &self,
        start: &str,
        end: &str,
    ) -> Result<StateIterator, StubError> {
        let start = simple_range_start(start, end)?;
        Ok(self.range("", &start, end, None).await?.results)
    }

    /// One page of at most `page_size` keys of `[start, end)`, resuming at
    /// `bookmark` (empty for the first page).
    pub async fn get_state_by_range_with_pagination(
        &self,
        start: &str,
        end: &str,
        page_size: i32,
        bookmark: &str,
    ) -> Result<Page, StubError> {
        let start = simple_range_start(start, end)?;
        self.range("", &start, end, Some((page_size, bookmark)))
            .await
    }

    /// Every composite key of `object_type` whose attributes start with
    /// `attributes`.
    pub async fn get_state_by_partial_composite_key(
        &self,
        object_type: &str,
        attributes: &[&str],
    ) -> Result<StateIterator, StubError> {
        let (start, end) = composite_key::partial_range(object_type, attributes)?;
        Ok(self.range("", &start, &end, None).await?.results)
    }

    /// One page of [`Self::get_state_by_partial_composite_key`].
    pub async fn get_state_by_partial_composite_key_with_pagination(
        &self,
        object_type: &str,
        attributes: &[&str],
        page_size: i32,
        bookmark: &str,
    ) -> Result<Page, StubError> {
        let (start, end) = composite_key::partial_range(object_type, attributes)?;
        self.range("", &start, &end, Some((page_size, bookmark)))
            .await
    }

    /// A rich (CouchDB selector) query; the peer refuses it on LevelDB.
    pub async fn get_query_result(&self, query: &str) -> Result<StateIterator, StubError> {
        Ok(self.rich_query("", query, None).await?.results)
    }

    /// One page of a rich query.
    pub async fn get_query_result_with_pagination(
        &self,
        query: &str,
        page_size: i32,
        bookmark: &str,
    ) -> Result<Page, StubError> {
        self.rich_query("", query, Some((page_size, bookmark)))
            .await
    }

    /// Every committed change of `key`, newest first.
    pub async fn get_history_for_key(&self, key: &str) -> Result<HistoryIterator, StubError> {
        let payload = GetHistoryForKey {
            key: key.to_owned(),
        }
        .encode_to_vec();
        let answer = self.request(Type::GetHistoryForKey, payload).await?;
        let response: QueryResponse = decode("history query response", &answer)?;
        Ok(HistoryIterator::new(
            self.clone(),
            response,
            "history entry",
        ))
    }

    /// The committed value of `key` in `collection`.
    pub async fn get_private_data(
        &self,
        collection: &str,
        key: &str,
    ) -> Result<Option<Vec<u8>>, StubError> {
        self.get(non_empty(collection)?, key).await
    }

    /// The committed values of several keys of `collection`, in order.
    pub async fn get_multiple_private_data(
        &self,
        collection: &str,
        keys: &[&str],
    ) -> Result<Vec<Option<Vec<u8>>>, StubError> {
        self.get_multiple(non_empty(collection)?, keys).await
    }

    /// SHA-256 of the committed value of `key` in `collection`; readable
    /// also by peers that are not members of the collection.
    pub async fn get_private_data_hash(
        &self,
        collection: &str,
        key: &str,
    ) -> Result<Option<Vec<u8>>, StubError> {
        let payload = GetState {
            key: key.to_owned(),
            collection: non_empty(collection)?.to_owned(),
        }
        .encode_to_vec();
        Ok(non_empty_value(
            self.request(Type::GetPrivateDataHash, payload).await?,
        ))
    }

    /// Writes `value` under `key` in `collection`.
    pub async fn put_private_data(
        &self,
        collection: &str,
        key: &str,
        value: Vec<u8>,
    ) -> Result<(), StubError> {
        self.put(non_empty(collection)?, key, value).await
    }

    /// Deletes `key` from `collection`.
    pub async fn del_private_data(&self, collection: &str, key: &str) -> Result<(), StubError> {
        self.delete(non_empty(collection)?, key, Type::DelState)
            .await
    }

    /// Deletes `key` from `collection` and purges its history from every
    /// peer's private store.
    pub async fn purge_private_data(&self, collection: &str, key: &str) -> Result<(), StubError> {
        self.delete(non_empty(collection)?, key, Type::PurgePrivateData)
            .await
    }

    /// Keys of `collection` in `[start, end)`.
    pub async fn get_private_data_by_range(
        &self,
        collection: &str,
        start: &str,
        end: &str,
    ) -> Result<StateIterator, StubError> {
        let collection = non_empty(collection)?;
        let start = simple_range_start(start, end)?;
        Ok(self.range(collection, &start, end, None).await?.results)
    }

    /// Composite keys of `collection` matching a partial composite key.
    pub async fn get_private_data_by_partial_composite_key(
        &self,
        collection: &str,
        object_type: &str,
        attributes: &[&str],
    ) -> Result<StateIterator, StubError> {
        let collection = non_empty(collection)?;
        let (start, end) = composite_key::partial_range(object_type, attributes)?;
        Ok(self.range(collection, &start, &end, None).await?.results)
    }

    /// A rich query over `collection`.
    pub async fn get_private_data_query_result(
        &self,
        collection: &str,
        query: &str,
    ) -> Result<StateIterator, StubError> {
        Ok(self
            .rich_query(non_empty(collection)?, query, None)
            .await?
            .results)
    }

    /// Sets the endorsement policy of `key` (a serialised
    /// `SignaturePolicyEnvelope`, see `endorsement`).
    pub async fn set_state_validation_parameter(
        &self,
        key: &str,
        policy: Vec<u8>,
    ) -> Result<(), StubError> {
        self.put_metadata("", key, VALIDATION_PARAMETER, policy)
            .await
    }

    /// The endorsement policy of `key`, if it has one.
    pub async fn get_state_validation_parameter(
        &self,
        key: &str,
    ) -> Result<Option<Vec<u8>>, StubError> {
        Ok(self
            .get_metadata("", key)
            .await?
            .remove(VALIDATION_PARAMETER))
    }

    /// Sets the endorsement policy of `key` in `collection`.
    pub async fn set_private_data_validation_parameter(
        &self,
        collection: &str,
        key: &str,
        policy: Vec<u8>,
    ) -> Result<(), StubError> {
        self.put_metadata(non_empty(collection)?, key, VALIDATION_PARAMETER, policy)
            .await
    }

    /// The endorsement policy of `key` in `collection`, if it has one.
    pub async fn get_private_data_validation_parameter(
        &self,
        collection: &str,
        key: &str,
    ) -> Result<Option<Vec<u8>>, StubError> {
        Ok(self
            .get_metadata(non_empty(collection)?, key)
            .await?
            .remove(VALIDATION_PARAMETER))
    }

    /// Calls `chaincode` within this transaction; `channel` empty means this
    /// channel (then its writes join this transaction's). The callee's
    /// failure comes back as a response with an error status.
    pub async fn invoke_chaincode(
        &self,
        chaincode: &str,
        args: Vec<Vec<u8>>,
        channel: &str,
    ) -> Result<Response, StubError> {
        let name = if channel.is_empty() {
            chaincode.to_owned()
        } else {
            format!("{chaincode}/{channel}")
        };
        let payload = ChaincodeSpec {
            chaincode_id: Some(ChaincodeId {
                name,
                ..ChaincodeId::default()
            }),
            input: Some(ChaincodeInput {
                args,
                ..ChaincodeInput::default()
            }),
            ..ChaincodeSpec::default()
        }
        .encode_to_vec();
        let answer = self.request(Type::InvokeChaincode, payload).await?;
        // The peer wraps the callee's own COMPLETED or ERROR message.
        let inner: ChaincodeMessage = decode("invoked chaincode's answer", &answer)?;
        match Type::try_from(inner.r#type) {
            Ok(Type::Completed) => decode("invoked chaincode's response", &inner.payload),
            Ok(Type::Error) => Err(StubError::Peer {
                request: Type::InvokeChaincode.as_str_name(),
                message: String::from_utf8_lossy(&inner.payload).into_owned(),
            }),
            _ => Err(StubError::UnexpectedAnswer {
                request: Type::InvokeChaincode.as_str_name(),
                answer: inner.r#type,
            }),
        }
    }

    /// Sends one request and returns the RESPONSE payload.
    async fn request(&self, kind: Type, payload: Vec<u8>) -> Result<Vec<u8>, StubError> {
        let request = kind.as_str_name();
        let answer = self
            .inner
            .link
            .call(kind, payload)
            .await
            .map_err(|_| StubError::Disconnected { request })?;
        match Type::try_from(answer.r#type) {
            Ok(Type::Response) => Ok(answer.payload),
            Ok(Type::Error) => Err(StubError::Peer {
                request,
                message: String::from_utf8_lossy(&answer.payload).into_owned(),
            }),
            _ => Err(StubError::UnexpectedAnswer {
                request,
                answer: answer.r#type,
            }),
        }
    }

    async fn get(&self, collection: &str, key: &str) -> Result<Option<Vec<u8>>, StubError> {
        let payload = GetState {
            key: key.to_owned(),
            collection: collection.to_owned(),
        }
        .encode_to_vec();
        Ok(non_empty_value(
            self.request(Type::GetState, payload).await?,
        ))
    }

    async fn get_multiple(
        &self,
        collection: &str,
        keys: &[&str],
    ) -> Result<Vec<Option<Vec<u8>>>, StubError> {
        let mut values = Vec::with_capacity(keys.len());
        let Some(chunk) = self.inner.capabilities.get_multiple else {
            for key in keys {
                values.push(self.get(collection, key).await?);
            }
            return Ok(values);
        };
        for keys in keys.chunks(chunk) {
            let payload = GetStateMultiple {
                keys: keys.iter().map(|k| (*k).to_owned()).collect(),
                collection: collection.to_owned(),
            }
            .encode_to_vec();
            let answer = self.request(Type::GetStateMultiple, payload).await?;
            let result: GetStateMultipleResult = decode("get-multiple result", &answer)?;
            values.extend(result.values.into_iter().map(non_empty_value));
        }
        Ok(values)
    }

    async fn put(&self, collection: &str, key: &str, value: Vec<u8>) -> Result<(), StubError> {
        if key.is_empty() {
            return Err(StubError::EmptyKey);
        }
        if let Some(batch) = &self.inner.batch {
            lock(batch).add(WriteRecord {
                key: key.to_owned(),
                value,
                collection: collection.to_owned(),
                r#type: write_record::Type::PutState as i32,
                ..WriteRecord::default()
            });
            return Ok(());
        }
        let payload = PutState {
            key: key.to_owned(),
            value,
            collection: collection.to_owned(),
        }
        .encode_to_vec();
        self.request(Type::PutState, payload).await.map(drop)
    }

    /// DEL_STATE and PURGE_PRIVATE_DATA share their payload layout.
    async fn delete(&self, collection: &str, key: &str, kind: Type) -> Result<(), StubError> {
        if let Some(batch) = &self.inner.batch {
            let record_type = if kind == Type::PurgePrivateData {
                write_record::Type::PurgePrivateData
            } else {
                write_record::Type::DelState
            };
            lock(batch).add(WriteRecord {
                key: key.to_owned(),
                collection: collection.to_owned(),
                r#type: record_type as i32,
                ..WriteRecord::default()
            });
            return Ok(());
        }
        let payload = DelState {
            key: key.to_owned(),
            collection: collection.to_owned(),
        }
        .encode_to_vec();
        self.request(kind, payload).await.map(drop)
    }

    async fn put_metadata(
        &self,
        collection: &str,
        key: &str,
        metakey: &str,
        value: Vec<u8>,
    ) -> Result<(), StubError> {
        let metadata = Some(StateMetadata {
            metakey: metakey.to_owned(),
            value,
        });
        if let Some(batch) = &self.inner.batch {
            lock(batch).add(WriteRecord {
                key: key.to_owned(),
                collection: collection.to_owned(),
                metadata,
                r#type: write_record::Type::PutStateMetadata as i32,
                ..WriteRecord::default()
            });
            return Ok(());
        }
        let payload = PutStateMetadata {
            key: key.to_owned(),
            collection: collection.to_owned(),
            metadata,
        }
        .encode_to_vec();
        self.request(Type::PutStateMetadata, payload)
            .await
            .map(drop)
    }

    async fn get_metadata(
        &self,
        collection: &str,
        key: &str,
    ) -> Result<HashMap<String, Vec<u8>>, StubError> {
        let payload = GetStateMetadata {
            key: key.to_owned(),
            collection: collection.to_owned(),
        }
        .encode_to_vec();
        let answer = self.request(Type::GetStateMetadata, payload).await?;
        let result: StateMetadataResult = decode("state metadata", &answer)?;
        Ok(result
            .entries
            .into_iter()
            .map(|e| (e.metakey, e.value))
            .collect())
    }

    async fn range(
        &self,
        collection: &str,
        start: &str,
        end: &str,
        page: Option<(i32, &str)>,
    ) -> Result<Page, StubError> {
        let payload = GetStateByRange {
            start_key: start.to_owned(),
            end_key: end.to_owned(),
            collection: collection.to_owned(),
            metadata: query_metadata(page),
        }
        .encode_to_vec();
        let answer = self.request(Type::GetStateByRange, payload).await?;
        self.page(decode("range query response", &answer)?)
    }

    async fn rich_query(
        &self,
        collection: &str,
        query: &str,
        page: Option<(i32, &str)>,
    ) -> Result<Page, StubError> {
        let payload = GetQueryResult {
            query: query.to_owned(),
            collection: collection.to_owned(),
            metadata: query_metadata(page),
        }
        .encode_to_vec();
        let answer = self.request(Type::GetQueryResult, payload).await?;
        self.page(decode("rich query response", &answer)?)
    }

    fn page(&self, response: QueryResponse) -> Result<Page, StubError> {
        let metadata: QueryResponseMetadata =
            decode("query response metadata", &response.metadata)?;
        Ok(Page {
            results: StateIterator::new(self.clone(), response, "query result"),
            fetched_records: metadata.fetched_records_count,
            bookmark: metadata.bookmark,
        })
    }

    /// Sends the buffered writes; the handler calls this before COMPLETED
    /// because the peer only knows about writes it has received.
    pub(crate) async fn flush_writes(&self) -> Result<(), StubError> {
        let (Some(batch), Some(chunk)) = (&self.inner.batch, self.inner.capabilities.write_batch)
        else {
            return Ok(());
        };
        let records: Vec<WriteRecord> = std::mem::take(&mut lock(batch).records)
            .into_values()
            .collect();
        for rec in records.chunks(chunk) {
            let payload = WriteBatchState { rec: rec.to_vec() }.encode_to_vec();
            self.request(Type::WriteBatchState, payload).await?;
        }
        Ok(())
    }

    /// The event set by the contract, if any.
    pub(crate) fn take_event(&self) -> Option<ChaincodeEvent> {
        lock(&self.inner.event).take()
    }
}

impl WriteBatch {
    fn add(&mut self, record: WriteRecord) {
        let is_metadata = record.r#type == write_record::Type::PutStateMetadata as i32;
        self.records.insert(
            (record.collection.clone(), record.key.clone(), is_metadata),
            record,
        );
    }
}

/// A poisoned lock only means another clone of the stub panicked while
/// holding it; the data (an event or buffered writes) is still consistent.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn decode<M: Message + Default>(what: &'static str, bytes: &[u8]) -> Result<M, StubError> {
    M::decode(bytes).map_err(|source| StubError::Decode { what, source })
}

/// Fabric does not distinguish an empty value from an absent key.
fn non_empty_value(value: Vec<u8>) -> Option<Vec<u8>> {
    (!value.is_empty()).then_some(value)
}

fn non_empty(collection: &str) -> Result<&str, StubError> {
    if collection.is_empty() {
        Err(StubError::EmptyCollection)
    } else {
        Ok(collection)
    }
}

fn simple_range_start(start: &str, end: &str) -> Result<String, StubError> {
    for key in [start, end] {
        if key.starts_with(NAMESPACE) {
            return Err(StubError::ReservedKeyPrefix {
                key: key.to_owned(),
            });
        }
    }
    Ok(if start.is_empty() {
        EMPTY_START_KEY.to_owned()
    } else {
        start.to_owned()
    })
}

fn query_metadata(page: Option<(i32, &str)>) -> Vec<u8> {
    page.map(|(page_size, bookmark)| {
        QueryMetadata {
            page_size,
            bookmark: bookmark.to_owned(),
        }
        .encode_to_vec()
    })
    .unwrap_or_default()
}

/// The pages of one query as the peer streams them: a batch of results, and
/// QUERY_STATE_NEXT for the next batch while `has_more`.
#[derive(Debug)]
struct Results {
    stub: Stub,
    response: QueryResponse,
    position: usize,
}

impl Results {
    fn new(stub: Stub, response: QueryResponse) -> Self {
        Self {
            stub,
            response,
            position: 0,
        }
    }

    async fn next_bytes(&mut self) -> Result<Option<Vec<u8>>, StubError> {
        if self.position == self.response.results.len() {
            if !self.response.has_more {
                return Ok(None);
            }
            let payload = QueryStateNext {
                id: self.response.id.clone(),
            }
            .encode_to_vec();
            let answer = self.stub.request(Type::QueryStateNext, payload).await?;
            self.response = decode("query next response", &answer)?;
            self.position = 0;
            if self.response.results.is_empty() {
                return Ok(None);
            }
        }
        let bytes = std::mem::take(&mut self.response.results[self.position].result_bytes);
        self.position += 1;
        Ok(Some(bytes))
    }

    async fn close(self) -> Result<(), StubError> {
        let payload = QueryStateClose {
            id: self.response.id,
        }
        .encode_to_vec();
        self.stub
            .request(Type::QueryStateClose, payload)
            .await
            .map(drop)
    }
}

/// Results fetched from the peer batch by batch, each decoded as `T`:
/// [`StateIterator`] for range and rich queries, [`HistoryIterator`] for a
/// key's history.
#[derive(Debug)]
pub struct ResultIterator<T> {
    results: Results,
    /// What one result is, for decoding errors.
    what: &'static str,
    item: std::marker::PhantomData<fn() -> T>,
}

/// The keys and values of a range or rich query.
pub type StateIterator = ResultIterator<Kv>;

/// The committed changes of one key, newest first.
pub type HistoryIterator = ResultIterator<KeyModification>;

impl<T: Message + Default> ResultIterator<T> {
    fn new(stub: Stub, response: QueryResponse, what: &'static str) -> Self {
        Self {
            results: Results::new(stub, response),
            what,
            item: std::marker::PhantomData,
        }
    }

    /// The next result, `None` after the last.
    pub async fn next(&mut self) -> Result<Option<T>, StubError> {
        match self.results.next_bytes().await? {
            Some(bytes) => decode(self.what, &bytes).map(Some),
            None => Ok(None),
        }
    }

    /// Releases the peer's iterator before the end of the results.
    pub async fn close(self) -> Result<(), StubError> {
        self.results.close().await
    }

    /// Reads every remaining result.
    pub async fn collect(mut self) -> Result<Vec<T>, StubError> {
        let mut all = Vec::new();
        while let Some(item) = self.next().await? {
            all.push(item);
        }
        Ok(all)
    }
}
