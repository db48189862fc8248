//! The one thing a stub needs from whoever answers its ledger calls.
//!
//! In production that is the peer at the other end of the gRPC stream (see
//! `handler`); in unit tests it is the in-memory ledger (see `testing`).
//! Both speak the same `ChaincodeMessage` requests and answers, so the stub's
//! encoding and decoding is exercised identically in tests and on a network.

use std::{future::Future, pin::Pin};

use hlf_protos::peer::{ChaincodeAdditionalParams, ChaincodeMessage, chaincode_message::Type};

/// A boxed future a [`PeerLink`] returns, so links can be trait objects.
pub type LinkFuture<'a> =
    Pin<Box<dyn Future<Output = Result<ChaincodeMessage, LinkClosed>> + Send + 'a>>;

/// The link to the peer is gone; the answer will never come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkClosed;

/// Sends one ledger request of a transaction and waits for the answer.
///
/// Implementations fill in the channel and transaction ids and must not
/// let two requests of the same transaction be outstanding at once: the
/// peer silently drops the second one.
pub trait PeerLink: Send + Sync + std::fmt::Debug + 'static {
    /// Sends a request of `kind` carrying `payload`; resolves to the peer's
    /// answer (normally RESPONSE or ERROR).
    fn call(&self, kind: Type, payload: Vec<u8>) -> LinkFuture<'_>;
}

/// The optional protocol features a peer offered in its READY message.
///
/// A Fabric v2.5 peer sends READY with an empty payload and knows neither
/// feature; using them anyway would fail every transaction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PeerCapabilities {
    /// Writes may be buffered and sent as WRITE_BATCH_STATE, at most this
    /// many records per message.
    pub write_batch: Option<usize>,
    /// Several keys may be read with one GET_STATE_MULTIPLE, at most this
    /// many per message.
    pub get_multiple: Option<usize>,
}

/// Fabric's shims never send smaller batches than this, even if the peer
/// proposes a smaller (or zero) limit.
const MIN_BATCH: u32 = 100;

impl PeerCapabilities {
    /// Reads the capabilities from READY's `ChaincodeAdditionalParams`.
    pub fn from_ready(params: &ChaincodeAdditionalParams) -> Self {
        let limit = |offered: bool, size: u32| offered.then(|| size.max(MIN_BATCH) as usize);
        Self {
            write_batch: limit(params.use_write_batch, params.max_size_write_batch),
            get_multiple: limit(
                params.use_get_multiple_keys,
                params.max_size_get_multiple_keys,
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_peer_offers_nothing() {
        let caps = PeerCapabilities::from_ready(&ChaincodeAdditionalParams::default());
        assert_eq!(caps, PeerCapabilities::default());
    }

    #[test]
    fn limits_are_raised_to_fabrics_minimum() {
        let caps = PeerCapabilities::from_ready(&ChaincodeAdditionalParams {
            use_write_batch: true,
            max_size_write_batch: 10,
            use_get_multiple_keys: true,
            max_size_get_multiple_keys: 500,
        });
        assert_eq!(caps.write_batch, Some(100));
        assert_eq!(caps.get_multiple, Some(500));
    }
}
