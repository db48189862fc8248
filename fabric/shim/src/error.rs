//! The typed errors of the shim, one enum per concern.
//!
//! A contract sees [`StubError`] from every ledger call; the server and its
//! configuration fail with [`ServerError`]. Errors name what was wrong (the
//! request type, the key, the file) so a failed transaction explains itself
//! in the peer's logs and in the client's error message.

use std::path::PathBuf;

use crate::composite_key::CompositeKeyError;

/// Why a ledger call made through the stub failed.
#[derive(Debug, thiserror::Error)]
pub enum StubError {
    /// The peer answered the request with an ERROR message.
    #[error("the peer refused {request}: {message}")]
    Peer {
        /// The ChaincodeMessage type of the request.
        request: &'static str,
        /// The peer's explanation (the ERROR payload).
        message: String,
    },
    /// The peer answered with a message type that is neither RESPONSE nor ERROR.
    #[error("the peer answered {request} with an unexpected {answer} message")]
    UnexpectedAnswer {
        /// The ChaincodeMessage type of the request.
        request: &'static str,
        /// The type number of the answer.
        answer: i32,
    },
    /// The stream to the peer ended before the answer arrived.
    #[error("the connection to the peer closed during {request}")]
    Disconnected {
        /// The ChaincodeMessage type of the request.
        request: &'static str,
    },
    /// An answer or a proposal field could not be decoded.
    #[error("cannot decode {what}: {source}")]
    Decode {
        /// What was being decoded.
        what: &'static str,
        /// The protobuf error.
        source: prost::DecodeError,
    },
    /// Fabric rejects empty keys.
    #[error("a key must not be empty")]
    EmptyKey,
    /// Private data calls need a collection name.
    #[error("a private data collection name must not be empty")]
    EmptyCollection,
    /// Keys starting with U+0000 are reserved for composite keys.
    #[error("the simple key {key:?} starts with U+0000, which is reserved for composite keys")]
    ReservedKeyPrefix {
        /// The offending key.
        key: String,
    },
    /// A composite key could not be built or split.
    #[error(transparent)]
    CompositeKey(#[from] CompositeKeyError),
    /// Fabric rejects events without a name.
    #[error("an event name must not be empty")]
    EmptyEventName,
    /// The transaction has no signed proposal, so it has no creator,
    /// timestamp or transient data.
    #[error("the transaction carries no signed proposal")]
    NoProposal,
    /// The proposal's channel header carries no timestamp.
    #[error("the proposal's channel header has no timestamp")]
    NoTimestamp,
    /// The proposal's channel header has a type a chaincode cannot run under.
    #[error("the proposal's channel header has type {0}, expected ENDORSER_TRANSACTION or CONFIG")]
    ProposalType(i32),
}

/// Why the chaincode server could not be configured or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// A required setting is missing: neither its flag nor its
    /// environment variable is given.
    #[error("{0} is not set (give its flag or the environment variable; see --help)")]
    MissingVariable(&'static str),
    /// An environment variable holds something unusable.
    #[error("environment variable {name} is invalid: {reason}")]
    InvalidVariable {
        /// The variable.
        name: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A TLS key, certificate or CA file could not be read.
    #[error("cannot read {path}: {source}")]
    ReadFile {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The listen address could not be bound.
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// The address.
        address: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// tonic refused the TLS configuration or the server failed.
    #[error("the gRPC server failed: {0}")]
    Transport(#[from] tonic::transport::Error),
}
