//! What the server runs: a [`Chaincode`] answers Init and Invoke with a
//! Fabric `Response` (status, message, payload).
//!
//! Statuses follow Fabric: below 400 is success, 400 and above an error
//! whose message reaches the client. The contract router implements this
//! trait; a chaincode may also implement it directly.

use std::future::Future;

use ehrx_proto::peer::Response;

use crate::shim::stub::Stub;

/// Fabric's success status.
pub const OK: i32 = 200;
/// Statuses from here on are errors; the peer drops the event of such a
/// transaction and does not commit it.
pub const ERROR_THRESHOLD: i32 = 400;
/// The status of a failed transaction.
pub const ERROR: i32 = 500;

/// A chaincode: the code the peer runs for Init and for every transaction.
pub trait Chaincode: Send + Sync + 'static {
    /// Runs for a transaction the peer marks as Init (only with the
    /// `--init-required` lifecycle flag).
    fn init(&self, stub: Stub) -> impl Future<Output = Response> + Send;

    /// Runs for every other transaction.
    fn invoke(&self, stub: Stub) -> impl Future<Output = Response> + Send;
}

/// A success response carrying `payload`.
pub fn success(payload: Vec<u8>) -> Response {
    Response {
        status: OK,
        message: String::new(),
        payload,
    }
}

/// An error response with status 500 and `message`.
pub fn error(message: impl Into<String>) -> Response {
    Response {
        status: ERROR,
        message: message.into(),
        payload: Vec::new(),
    }
}
