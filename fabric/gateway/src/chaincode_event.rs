//! What a chaincode event stream yields and what a checkpointer records,
//! apart from both so that neither module depends on the other for it.

/// One event a chaincode emitted in a committed, valid transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChaincodeEvent {
    /// The block of the transaction.
    pub block_number: u64,
    /// The transaction that emitted it.
    pub transaction_id: String,
    /// The chaincode that emitted it.
    pub chaincode_name: String,
    /// The name the chaincode gave it.
    pub event_name: String,
    /// Its payload.
    pub payload: Vec<u8>,
}
