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

/// Delays between attempts: about 0.7 s in all, several block times.
const DELAYS_MS: [u64; 3] = [100, 200, 400];

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

/// Runs `call`, and again after each delay while its endorsers lag behind
/// (see [`is_peer_lag`]); the last error is returned.
pub(crate) async fn retry_while_peers_lag<T, F, Fut>(
    codes: &[ErrorCode],
    mut call: F,
) -> Result<T, fabric::Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, fabric::Error>>,
{
    for delay in DELAYS_MS {
        match call().await {
            Err(error) if is_peer_lag(&error, codes) => {
                tracing::debug!(%error, retry_in_ms = delay, "a peer lags behind; trying again");
                tokio::time::sleep(Duration::from_millis(delay)).await;
            }
            outcome => return outcome,
        }
    }
    call().await
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

    #[tokio::test]
    async fn lag_is_retried_until_it_passes_and_other_errors_are_not() {
        let calls = AtomicU32::new(0);
        let outcome = retry_while_peers_lag(&[ErrorCode::NoReplyYet], || async {
            match calls.fetch_add(1, Ordering::SeqCst) {
                0 | 1 => Err(endorse_error(NO_REPLY)),
                _ => Ok("reply"),
            }
        })
        .await;
        assert_eq!(outcome.unwrap(), "reply");
        assert_eq!(calls.load(Ordering::SeqCst), 3);

        let calls = AtomicU32::new(0);
        let outcome: Result<(), _> = retry_while_peers_lag(&[ErrorCode::NoReplyYet], || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(endorse_error("chaincode response 500, [ACCESS_DENIED] x"))
        })
        .await;
        assert!(outcome.is_err());
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1,
            "a real refusal is not retried"
        );

        let calls = AtomicU32::new(0);
        let outcome: Result<(), _> = retry_while_peers_lag(&[ErrorCode::NoReplyYet], || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(endorse_error(NO_REPLY))
        })
        .await;
        assert!(outcome.is_err(), "lag that lasts is reported");
        assert_eq!(calls.load(Ordering::SeqCst), 4);
    }
}
