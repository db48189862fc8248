//! A transaction endorsed right after a block may reach one organisation's
//! peer before that peer has committed the block. Its answer then differs
//! from the others' (the gateway reports "ProposalResponsePayloads do not
//! match"), or it refuses for a state it has not seen yet ("has no reply
//! yet" right after the reply's event). Nothing was committed, so such a
//! call is simply made again a moment later.

use std::future::Future;
use std::time::Duration;

use crate::fabric;

/// The gateway's words when endorsing peers answered differently.
pub(crate) const PAYLOADS_DIFFER: &str = "ProposalResponsePayloads do not match";

/// Delays between attempts: about 0.7 s in all, several block times.
const DELAYS_MS: [u64; 3] = [100, 200, 400];

/// Whether `error` is a failed endorsement or evaluation whose message, or
/// a peer's detail, contains one of `markers`.
pub(crate) fn is_peer_lag(error: &fabric::Error, markers: &[&str]) -> bool {
    let call = match error {
        fabric::Error::Endorse(call) | fabric::Error::Evaluate(call) => call,
        _ => return false,
    };
    std::iter::once(call.status.message())
        .chain(call.details.iter().map(|detail| detail.message.as_str()))
        .any(|message| markers.iter().any(|marker| message.contains(marker)))
}

/// Runs `call`, and again after each delay while it fails with one of
/// `markers`; the last error is returned.
pub(crate) async fn retry_while_peers_lag<T, F, Fut>(
    markers: &[&str],
    mut call: F,
) -> Result<T, fabric::Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, fabric::Error>>,
{
    for delay in DELAYS_MS {
        match call().await {
            Err(error) if is_peer_lag(&error, markers) => {
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

    #[test]
    fn only_endorse_and_evaluate_failures_with_a_marker_are_lag() {
        let mismatch =
            endorse_error("failed to assemble transaction: ProposalResponsePayloads do not match");
        assert!(is_peer_lag(&mismatch, &[PAYLOADS_DIFFER]));
        assert!(!is_peer_lag(&mismatch, &["has no reply yet"]));
        let refused = endorse_error("chaincode response 500, access denied");
        assert!(!is_peer_lag(&refused, &[PAYLOADS_DIFFER]));
        let submit = fabric::Error::Submit(CallError::new(
            "tx",
            tonic::Status::aborted(PAYLOADS_DIFFER),
        ));
        assert!(!is_peer_lag(&submit, &[PAYLOADS_DIFFER]));
    }

    #[tokio::test]
    async fn lag_is_retried_until_it_passes_and_other_errors_are_not() {
        let calls = AtomicU32::new(0);
        let outcome = retry_while_peers_lag(&["no reply yet"], || async {
            match calls.fetch_add(1, Ordering::SeqCst) {
                0 | 1 => Err(endorse_error(
                    "chaincode response 500, request r has no reply yet",
                )),
                _ => Ok("reply"),
            }
        })
        .await;
        assert_eq!(outcome.unwrap(), "reply");
        assert_eq!(calls.load(Ordering::SeqCst), 3);

        let calls = AtomicU32::new(0);
        let outcome: Result<(), _> = retry_while_peers_lag(&["no reply yet"], || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(endorse_error("chaincode response 500, access denied"))
        })
        .await;
        assert!(outcome.is_err());
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1,
            "a real refusal is not retried"
        );

        let calls = AtomicU32::new(0);
        let outcome: Result<(), _> = retry_while_peers_lag(&["no reply yet"], || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(endorse_error("request r has no reply yet"))
        })
        .await;
        assert!(outcome.is_err(), "lag that lasts is reported");
        assert_eq!(calls.load(Ordering::SeqCst), 4);
    }
}
