//! The JSON the exchange functions return: `{"outcome": ..., ...}`.
//!
//! A refusal that must be committed (a flag, a rejected forwarded request,
//! a refused retrieval) succeeds with `outcome` `rejected` or `refused` and
//! a `reason`, so the client sees both that the transaction went through
//! and that its purpose was not served.

use serde::Serialize;

/// The result of an exchange function.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outcome {
    /// `validated`, `accepted`, `rejected`, `submitted`, `fulfilled`,
    /// `failed`, `ok` or `refused`.
    pub outcome: &'static str,
    /// The request concerned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Why it was rejected or refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The signed reply, base64 (GetReply only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signed_reply: Option<String>,
}

impl Outcome {
    /// `outcome` for `request_id`.
    pub fn of(outcome: &'static str, request_id: &str) -> Self {
        Self {
            outcome,
            request_id: Some(request_id.to_owned()),
            reason: None,
            signed_reply: None,
        }
    }

    /// With a reason.
    pub fn because(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }
}
