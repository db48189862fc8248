//! `ehrx request`: file a request for a patient's history and wait for its
//! outcome. The request is submitted first (its reply key saved in the key
//! store before), then a spinner names the request while the outcome is
//! awaited, so an interrupted wait still leaves the id to ask about later
//! with `ehrx status` and `ehrx reply show`.

use std::{process::ExitCode, sync::Arc};

use anyhow::Context as _;
use serde::Serialize;

use ehrx_client::ehr::{
    FileKeyStore, HistoryOutcome, HistoryRequest, RequestStatus,
    interface::{OutcomeKind, ReplyOutcome},
};

use crate::{
    args::{RequestArgs, TargetArgs},
    keys,
    output::{Output, json_name},
    patient, progress,
    target::Target,
};

/// Exit status of a refused request (here or at the other network).
const EXIT_REFUSED: u8 = 3;
/// Exit status when no outcome came before the timeout.
const EXIT_TIMED_OUT: u8 = 4;

/// The request's outcome, as reported.
#[derive(Debug, PartialEq, Eq, Serialize)]
struct Reported {
    request_id: String,
    /// `reply_ready`, `rejected_here`, `refused` or `timed_out`.
    outcome: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    state: Option<RequestStatus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    /// A refusal by the destination: `not_found` or `rejected`.
    #[serde(skip_serializing_if = "Option::is_none")]
    refusal: Option<ReplyOutcome>,
    transaction_id: String,
    block_number: u64,
}

impl Reported {
    fn new(
        outcome: &HistoryOutcome,
        request_id: &str,
        transaction_id: &str,
        block_number: u64,
    ) -> Self {
        let (name, state, reason, refusal) = match outcome {
            HistoryOutcome::ReplyReady => ("reply_ready", None, None, None),
            HistoryOutcome::RejectedHere { reason } => {
                ("rejected_here", None, Some(reason.clone()), None)
            }
            HistoryOutcome::Refused {
                state,
                reason,
                refusal,
            } => ("refused", Some(*state), reason.clone(), *refusal),
            HistoryOutcome::TimedOut => ("timed_out", None, None, None),
        };
        Self {
            request_id: request_id.to_string(),
            outcome: name,
            state,
            reason,
            refusal,
            transaction_id: transaction_id.to_string(),
            block_number,
        }
    }

    fn exit_code(&self) -> ExitCode {
        match self.outcome {
            "reply_ready" => ExitCode::SUCCESS,
            "timed_out" => ExitCode::from(EXIT_TIMED_OUT),
            _ => ExitCode::from(EXIT_REFUSED),
        }
    }

    fn text(&self) -> String {
        let id = &self.request_id;
        let reason = self.reason.as_deref().unwrap_or("no reason given");
        match self.outcome {
            "reply_ready" => {
                format!(
                    "request {id}: reply ready\nread it with: ehrx reply show {id} --key-store <dir>"
                )
            }
            "rejected_here" => format!("request {id}: rejected by this network: {reason}"),
            "timed_out" => format!(
                "request {id}: no outcome yet (still open); ask again with: ehrx status {id}"
            ),
            _ => format!(
                "request {id}: refused ({}{}): {reason}",
                self.state.map(json_name).unwrap_or_default(),
                self.refusal
                    .map(|r| format!(", {}", json_name(r)))
                    .unwrap_or_default()
            ),
        }
    }
}

/// `ehrx request`; the exit status says how the request ended.
pub async fn run(target: &TargetArgs, out: &Output, args: RequestArgs) -> anyhow::Result<ExitCode> {
    let patient_ref = patient::patient_ref(&args.patient)?;
    let requester_key = keys::load_requester_key(&args.requester_key)?;
    let key_store = FileKeyStore::open(&args.key_store)
        .with_context(|| format!("opening the key store {}", args.key_store.display()))?;
    let client = Target::load(target)?
        .client()
        .await?
        .with_requester_code(args.requester_code.clone())
        .with_requester_key(requester_key)
        .with_key_store(Arc::new(key_store));
    let history = HistoryRequest {
        patient_ref,
        destination_network: args.to.clone(),
        categories: args.categories.clone(),
        purpose: args.purpose.into(),
    };
    let (pending, submitted) = client
        .submit_request(&history)
        .await
        .with_context(|| format!("submitting the request to {}", args.to))?;
    let outcome = match submitted.outcome {
        kind if kind != OutcomeKind::Validated => HistoryOutcome::RejectedHere {
            reason: submitted.reason.unwrap_or_default(),
        },
        _ => {
            let spinner = progress::spinner(
                out,
                format!(
                    "request {} sent to {}; waiting for the reply",
                    pending.request_id(),
                    args.to
                ),
            );
            let outcome = client.await_outcome(&pending, args.timeout).await;
            spinner.finish_and_clear();
            outcome.with_context(|| {
                format!(
                    "waiting for the outcome of request {}",
                    pending.request_id()
                )
            })?
        }
    };
    let reported = Reported::new(
        &outcome,
        pending.request_id(),
        &pending.transaction_id,
        pending.block_number,
    );
    out.emit(&reported, || reported.text())?;
    Ok(reported.exit_code())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_map_to_names_texts_and_exit_statuses() {
        let id = "6f1c1f7e-8a43-4d8b-9b1e-2f4b5f0e9a10";
        let ready = Reported::new(&HistoryOutcome::ReplyReady, id, "tx", 7);
        assert_eq!(ready.outcome, "reply_ready");
        assert_eq!(ready.exit_code(), ExitCode::SUCCESS);
        assert!(ready.text().contains(&format!("ehrx reply show {id}")));

        let here = Reported::new(
            &HistoryOutcome::RejectedHere {
                reason: "rate limit exceeded".into(),
            },
            id,
            "tx",
            7,
        );
        assert_eq!(here.exit_code(), ExitCode::from(EXIT_REFUSED));
        assert!(
            here.text()
                .contains("rejected by this network: rate limit exceeded")
        );

        let refused = Reported::new(
            &HistoryOutcome::Refused {
                state: RequestStatus::Failed,
                reason: None,
                refusal: None,
            },
            id,
            "tx",
            7,
        );
        assert_eq!(refused.exit_code(), ExitCode::from(EXIT_REFUSED));
        assert!(
            refused.text().contains("refused (failed): no reason given"),
            "{}",
            refused.text()
        );
        let json = serde_json::to_value(&refused).unwrap();
        assert_eq!(json["outcome"], "refused");
        assert_eq!(json["state"], "failed");
        assert!(json.get("reason").is_none());

        let not_found = Reported::new(
            &HistoryOutcome::Refused {
                state: RequestStatus::Failed,
                reason: Some("no records of this patient in the requested categories".into()),
                refusal: Some(ReplyOutcome::NotFound),
            },
            id,
            "tx",
            7,
        );
        assert!(
            not_found.text().contains(
                "refused (failed, not_found): no records of this patient in the requested categories"
            ),
            "{}",
            not_found.text()
        );
        let json = serde_json::to_value(&not_found).unwrap();
        assert_eq!(json["refusal"], "not_found");
        assert_eq!(
            json["reason"],
            "no records of this patient in the requested categories"
        );

        let late = Reported::new(&HistoryOutcome::TimedOut, id, "tx", 7);
        assert_eq!(late.exit_code(), ExitCode::from(EXIT_TIMED_OUT));
        assert!(late.text().contains("still open"));
    }
}
