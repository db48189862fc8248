//! A transaction endorsed right after a block may reach one organisation's
//! peer before that peer has committed the block. Its answer then differs
//! from the others' (the gateway reports "ProposalResponsePayloads do not
//! match", Fabric's wording), or the contract refuses for a state the peer
//! has not seen yet (`NO_REPLY_YET` right after the reply's event), which
//! the caller names by error code. Nothing was committed, so such a call
//! is simply made again a moment later.

use std::future::Future;
use std::time::Duration;

use super::interface::{ErrorCode, error_code};
use crate::fabric;

/// The gateway's words when endorsing peers answered differently.
const PAYLOADS_DIFFER: &str = "ProposalResponsePayloads do not match";

/// Whether `error` is a failed endorsement or evaluation because the
/// endorsers' answers differed, or because the contract refused with one of
/// `codes`.
pub(crate) fn is_peer_lag(error: &fabric::Error, codes: &[ErrorCode]) -> bool {
    let call = match error {
        fabric::Error::Endorse(call) | fabric::Error::Evaluate(call) => call,
        _ => return false,
    };
    let payloads_differ = std::iter::once(call.status.message())
        .chain(call.details.iter().map(|detail| detail.message.as_str()))
        .any(|message| message.contains(PAYLOADS_DIFFER));
    payloads_differ || error_code(error).is_some_and(|code| codes.contains(&code))
}

/// Whether `error` is a commit that lost to another transaction of the same
/// block over a key both read (`MVCC_READ_CONFLICT`, or
/// `PHANTOM_READ_CONFLICT` for a range): the transaction wrote nothing, so
/// endorsing it again is safe.
pub(crate) fn is_conflict(error: &fabric::Error) -> bool {
    matches!(
        error,
        fabric::Error::Commit {
            code: fabric::TxValidationCode::MvccReadConflict
                | fabric::TxValidationCode::PhantomReadConflict,
            ..
        }
    )
}

/// The delays between attempts of a transaction that lost a conflict or
/// met a lagging peer: doubling from 100 ms to 3.2 s (about 6 s in all),
/// each scaled by a factor from 0.5 to 1.5 drawn from `seed`, so that the
/// transactions that lost to the same block do not all come back in the
/// next one together. A peer can stay a block behind its peers for more
/// than a second while blocks follow each other (concurrent requests of
/// one requester commit one per block), which a shorter series missed.
pub(crate) fn backoff(seed: &[u8]) -> impl Iterator<Item = Duration> + use<> {
    let mut state = seed.iter().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    });
    [100u64, 200, 400, 800, 1600, 3200]
        .into_iter()
        .map(move |base| {
            // xorshift64: a different factor for each attempt.
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let permille = 500 + state % 1001;
            Duration::from_millis(base * permille / 1000)
        })
}

/// A failure that passes by itself, after which the call is simply made
/// again: nothing was written.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Transient<'a> {
    /// The commit lost a conflict (see [`is_conflict`]).
    Conflict,
    /// The endorsers lag behind, or the contract refused with one of these
    /// codes (see [`is_peer_lag`]).
    PeerLag(&'a [ErrorCode]),
}

impl Transient<'_> {
    fn matches(self, error: &impl FabricCause) -> bool {
        error.fabric_cause().is_some_and(|error| match self {
            Self::Conflict => is_conflict(error),
            Self::PeerLag(codes) => is_peer_lag(error, codes),
        })
    }

    fn why(self) -> &'static str {
        match self {
            Self::Conflict => "lost a conflict",
            Self::PeerLag(_) => "a peer lags behind",
        }
    }
}

/// An error that may have come from Fabric.
pub(crate) trait FabricCause: std::fmt::Display {
    /// The Fabric error, if this is one.
    fn fabric_cause(&self) -> Option<&fabric::Error>;
}

impl FabricCause for fabric::Error {
    fn fabric_cause(&self) -> Option<&fabric::Error> {
        Some(self)
    }
}

impl FabricCause for super::Error {
    fn fabric_cause(&self) -> Option<&fabric::Error> {
        match self {
            Self::Fabric(error) => Some(error),
            _ => None,
        }
    }
}

/// Runs `call`, and again after each of `delays` while it fails with the
/// `transient` failure; the last outcome is returned.
pub(crate) async fn retry<T, E, F, Fut>(
    transient: Transient<'_>,
    delays: impl IntoIterator<Item = Duration>,
    mut call: F,
) -> Result<T, E>
where
    E: FabricCause,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    for delay in delays {
        match call().await {
            Err(error) if transient.matches(&error) => {
                let why = transient.why();
                tracing::debug!(%error, retry_in_ms = delay.as_millis(), "{why}; trying again");
                tokio::time::sleep(delay).await;
            }
            outcome => return outcome,
        }
    }
    call().await
}

/// Runs `call`, a change to the ledger, again while it failed with
/// nothing written: after each of [`backoff`]'s delays while it lost a
/// conflict, and within each of those attempts after each of them while an
/// endorser lags behind. The one rule for the SDK's requests, uploads and
/// consent changes.
pub(crate) async fn retry_unwritten<T, E, F, Fut>(seed: &[u8], call: F) -> Result<T, E>
where
    E: FabricCause,
    F: Fn() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    retry(Transient::Conflict, backoff(seed), || {
        retry(Transient::PeerLag(&[]), backoff(seed), &call)
    })
    .await
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;
    use crate::fabric::CallError;

    fn endorse_error(message: &str) -> fabric::Error {
        fabric::Error::Endorse(CallError::new("tx", tonic::Status::aborted(message)))
    }

    const NO_REPLY: &str = "chaincode response 500, [NO_REPLY_YET] request r has no reply yet";

    #[test]
    fn only_endorse_and_evaluate_failures_that_lag_are_lag() {
        let mismatch =
            endorse_error("failed to assemble transaction: ProposalResponsePayloads do not match");
        assert!(is_peer_lag(&mismatch, &[]));
        assert!(is_peer_lag(
            &endorse_error(NO_REPLY),
            &[ErrorCode::NoReplyYet]
        ));
        assert!(!is_peer_lag(&endorse_error(NO_REPLY), &[]));
        // The words without the code are not the code.
        let uncoded = endorse_error("chaincode response 500, request r has no reply yet");
        assert!(!is_peer_lag(&uncoded, &[ErrorCode::NoReplyYet]));
        let refused = endorse_error("chaincode response 500, [ACCESS_DENIED] x");
        assert!(!is_peer_lag(&refused, &[ErrorCode::NoReplyYet]));
        let submit = fabric::Error::Submit(CallError::new(
            "tx",
            tonic::Status::aborted(PAYLOADS_DIFFER),
        ));
        assert!(!is_peer_lag(&submit, &[]));
    }

    fn commit_error(code: fabric::TxValidationCode) -> fabric::Error {
        fabric::Error::Commit {
            transaction_id: "tx".into(),
            code,
            block_number: 9,
        }
    }

    #[test]
    fn only_read_conflicts_are_conflicts() {
        assert!(is_conflict(&commit_error(
            fabric::TxValidationCode::MvccReadConflict
        )));
        assert!(is_conflict(&commit_error(
            fabric::TxValidationCode::PhantomReadConflict
        )));
        assert!(!is_conflict(&commit_error(
            fabric::TxValidationCode::EndorsementPolicyFailure
        )));
        assert!(!is_conflict(&endorse_error("MVCC_READ_CONFLICT")));
    }

    #[test]
    fn backoff_double_and_differ_between_transactions() {
        let a: Vec<Duration> = backoff(b"request-a").collect();
        let b: Vec<Duration> = backoff(b"request-b").collect();
        assert_eq!(a.len(), 6);
        assert_eq!(a, backoff(b"request-a").collect::<Vec<_>>());
        assert_ne!(a, b);
        for (delay, base) in a.iter().zip([100u64, 200, 400, 800, 1600, 3200]) {
            let ms = u64::try_from(delay.as_millis()).unwrap();
            assert!((base / 2..=base * 3 / 2).contains(&ms), "{ms} for {base}");
        }
    }

    /// Runs [`retry`] with two delays over a call that fails with `error`
    /// `failures` times and then succeeds; returns whether the retried call
    /// succeeded and how many calls it made.
    async fn attempts(
        transient: Transient<'_>,
        error: impl Fn() -> fabric::Error,
        failures: u32,
    ) -> (bool, u32) {
        let calls = AtomicU32::new(0);
        let outcome = retry(transient, [Duration::ZERO; 2], || async {
            if calls.fetch_add(1, Ordering::SeqCst) < failures {
                Err(error())
            } else {
                Ok(())
            }
        })
        .await;
        (outcome.is_ok(), calls.load(Ordering::SeqCst))
    }

    #[test]
    fn the_sdks_errors_are_transient_by_their_fabric_cause() {
        let conflict =
            super::super::Error::Fabric(commit_error(fabric::TxValidationCode::MvccReadConflict));
        assert!(Transient::Conflict.matches(&conflict));
        assert!(!Transient::PeerLag(&[]).matches(&conflict));
        let lag = super::super::Error::Fabric(endorse_error(PAYLOADS_DIFFER));
        assert!(Transient::PeerLag(&[]).matches(&lag));
        let unexpected = super::super::Error::unexpected("PutEhr", PAYLOADS_DIFFER);
        assert!(!Transient::PeerLag(&[]).matches(&unexpected));
        assert!(!Transient::Conflict.matches(&super::super::Error::NoRequesterCode));
    }

    #[tokio::test]
    async fn a_change_is_made_again_after_a_lost_conflict_and_a_lagging_endorser() {
        let calls = AtomicU32::new(0);
        let outcome = retry_unwritten(b"change", || async {
            match calls.fetch_add(1, Ordering::SeqCst) {
                0 => Err(endorse_error(PAYLOADS_DIFFER)),
                1 => Err(commit_error(fabric::TxValidationCode::MvccReadConflict)),
                2 => Err(endorse_error(PAYLOADS_DIFFER)),
                _ => Ok(()),
            }
        })
        .await;
        assert!(outcome.is_ok());
        assert_eq!(calls.load(Ordering::SeqCst), 4);

        let calls = AtomicU32::new(0);
        let outcome: Result<(), _> = retry_unwritten(b"change", || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(endorse_error("chaincode response 500, [ACCESS_DENIED] x"))
        })
        .await;
        assert!(outcome.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 1, "a refusal is final");
    }

    #[tokio::test]
    async fn transient_failures_are_retried_and_other_errors_are_not() {
        let conflict = || commit_error(fabric::TxValidationCode::MvccReadConflict);
        let policy = || commit_error(fabric::TxValidationCode::EndorsementPolicyFailure);
        let lag = || endorse_error(NO_REPLY);
        let refused = || endorse_error("chaincode response 500, [ACCESS_DENIED] x");
        let no_reply = Transient::PeerLag(&[ErrorCode::NoReplyYet]);
        // Once and once a delay: a failure that passes within them is
        // retried away, one that lasts is reported after the third call,
        // and any other is reported at once.
        assert_eq!(attempts(Transient::Conflict, conflict, 2).await, (true, 3));
        assert_eq!(attempts(Transient::Conflict, conflict, 3).await, (false, 3));
        assert_eq!(attempts(Transient::Conflict, policy, 3).await, (false, 1));
        assert_eq!(attempts(Transient::Conflict, lag, 3).await, (false, 1));
        assert_eq!(attempts(no_reply, lag, 2).await, (true, 3));
        assert_eq!(attempts(no_reply, lag, 3).await, (false, 3));
        assert_eq!(attempts(no_reply, refused, 3).await, (false, 1));
        assert_eq!(attempts(no_reply, conflict, 3).await, (false, 1));
    }
}
