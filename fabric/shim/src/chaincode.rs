//! What the server runs: a [`Chaincode`] answers Init and Invoke with a
//! Fabric `Response` (status, message, payload).
//!
//! Statuses follow Fabric: below 400 is success, 400 and above an error
//! whose message reaches the client. The contract router implements this
//! trait; a chaincode may also implement it directly.

use std::future::Future;

use hlf_protos::peer::Response;

use crate::stub::Stub;

/// Fabric's success status.
pub const OK: i32 = 200;
/// Statuses from here on are errors; the peer drops the event of such a
/// transaction and does not commit it.
pub const ERROR_THRESHOLD: i32 = 400;
/// The status of a failed transaction.
pub const ERROR: i32 = 500;

/// The most bytes of an error message the shim sends to the peer.
///
/// The peer's gateway copies a chaincode's error message into the gRPC
/// status it returns to the client, and that status travels in HTTP/2
/// trailers: once as `grpc-message`, and once per endorsing peer inside
/// `grpc-status-details-bin` (base64, so a third larger). Clients cap the
/// trailer block (gRPC suggests 8 KiB; hyper's default is 16 KiB), and a
/// status over the cap never reaches the caller. 1 KiB keeps a status with
/// several endorsers' copies well inside the smallest common cap.
pub const MAX_ERROR_MESSAGE: usize = 1024;

/// `message` cut to at most [`MAX_ERROR_MESSAGE`] bytes, on a character
/// boundary, ending with a marker that says how long it was; shorter
/// messages are returned unchanged.
pub fn bound_error_message(message: String) -> String {
    if message.len() <= MAX_ERROR_MESSAGE {
        return message;
    }
    let marker = format!(" … [truncated: {} bytes in all]", message.len());
    let keep = message.floor_char_boundary(MAX_ERROR_MESSAGE.saturating_sub(marker.len()));
    let mut bounded = message;
    bounded.truncate(keep);
    bounded.push_str(&marker);
    bounded
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_messages_pass_unchanged() {
        let exact = "e".repeat(MAX_ERROR_MESSAGE);
        assert_eq!(bound_error_message(exact.clone()), exact);
        assert_eq!(bound_error_message(String::new()), "");
    }

    #[test]
    fn long_messages_are_cut_with_a_marker_that_gives_the_length() {
        let huge = format!("request {} does not exist", "x".repeat(1 << 20));
        let bounded = bound_error_message(huge.clone());
        assert!(bounded.len() <= MAX_ERROR_MESSAGE, "{}", bounded.len());
        assert!(bounded.starts_with("request xxx"));
        assert!(
            bounded.ends_with(&format!(" … [truncated: {} bytes in all]", huge.len())),
            "{bounded}"
        );
        let one_over = "o".repeat(MAX_ERROR_MESSAGE + 1);
        assert!(bound_error_message(one_over).len() <= MAX_ERROR_MESSAGE);
    }

    #[test]
    fn a_cut_never_splits_a_character() {
        // Four-byte characters: any cut point not on a multiple of four
        // would split one, and String would refuse to hold the result.
        for extra in 0..4 {
            let message = format!("{}{}", "a".repeat(extra), "𝄞".repeat(MAX_ERROR_MESSAGE));
            let bounded = bound_error_message(message);
            assert!(bounded.len() <= MAX_ERROR_MESSAGE);
            assert!(bounded.contains("truncated"));
        }
    }
}
