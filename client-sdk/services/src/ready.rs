//! Readiness, shared by the relay and the responder: a service is *ready*
//! when it can do its work now, that is when its own network's peer has
//! answered it (the `qscc` system chaincode's `GetChainInfo` on its
//! channel, as its identity: the peer is up, the identity is a channel
//! member, the channel exists) and its stream of the contract's events is
//! open (the relay has also bound its listeners before that).
//!
//! Both say so in three places: the health endpoint's `ready` field,
//! `GET /readyz` (200 when ready, 503 while not, with the same JSON body,
//! for process supervisors), and one `info` log line with the words
//! `relay ready` or `responder ready` each time they become ready (a
//! `warn` line when they stop being ready, saying why). `ehrx services
//! wait` polls the endpoints until every service is ready.

use std::sync::{Mutex, MutexGuard, PoisonError};

use std::sync::Arc;

use axum::{
    Json, Router,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::get,
};
use ehrx_client::fabric::{self, Network, protos::common::BlockchainInfo};
use prost::Message as _;
use serde::Serialize;

/// What a service waits for before its first probe.
pub const STARTING: &str = "starting: its network's peer has not answered yet";

/// Whether a service is ready, and if not, what it waits for.
#[derive(Debug)]
pub struct Readiness {
    waiting_for: Mutex<Option<String>>,
}

impl Default for Readiness {
    fn default() -> Self {
        Self::new()
    }
}

impl Readiness {
    /// Not ready: [`STARTING`].
    pub fn new() -> Self {
        Self {
            waiting_for: Mutex::new(Some(STARTING.to_string())),
        }
    }

    fn state(&self) -> MutexGuard<'_, Option<String>> {
        // Each update is one assignment, so a poisoned lock is consistent.
        self.waiting_for
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Marks the service ready; `true` if it was not (log it then).
    pub fn set_ready(&self) -> bool {
        self.state().take().is_some()
    }

    /// Marks the service not ready, waiting for `what`; `true` if it was
    /// ready (log it then).
    pub fn set_waiting(&self, what: impl Into<String>) -> bool {
        self.state().replace(what.into()).is_none()
    }

    /// Whether it is ready.
    pub fn is_ready(&self) -> bool {
        self.state().is_none()
    }

    /// What it waits for, while not ready.
    pub fn waiting_for(&self) -> Option<String> {
        self.state().clone()
    }
}

/// Asks the peer behind `network` for its channel's height (`qscc`
/// `GetChainInfo`): an answer shows the peer is up and takes this identity
/// on this channel.
pub async fn probe(network: &Network) -> Result<u64, fabric::Error> {
    let answer = network
        .contract("qscc")
        .evaluate("GetChainInfo", [network.name()])
        .await?;
    BlockchainInfo::decode(answer.as_slice())
        .map(|info| info.height)
        .map_err(|e| fabric::Error::malformed("GetChainInfo result", e))
}

/// A health report answered on `/readyz`: 200 when `ready`, else 503.
/// A service's status, as its health endpoint reports it.
pub trait Reports: Send + Sync + 'static {
    /// The body of `/healthz` and `/readyz`.
    type Report: Serialize + Send;

    /// The report now.
    fn report(&self) -> Self::Report;

    /// Whether the service is ready now.
    fn is_ready(&self) -> bool;
}

/// The health endpoint's routes for `status`: `GET /healthz` (200 with the
/// report) and `GET /readyz` (the same, 503 while not ready).
pub fn router<S: Reports>(status: Arc<S>) -> Router {
    Router::new()
        .route(
            "/healthz",
            get(|State(status): State<Arc<S>>| async move { Json(status.report()) }),
        )
        .route(
            "/readyz",
            get(|State(status): State<Arc<S>>| async move {
                readyz(status.is_ready(), status.report())
            }),
        )
        .with_state(status)
}

pub fn readyz<T: Serialize>(ready: bool, report: T) -> Response {
    let code = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(report)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readiness_changes_are_reported_once() {
        let readiness = Readiness::new();
        assert!(!readiness.is_ready());
        assert_eq!(readiness.waiting_for().as_deref(), Some(STARTING));
        assert!(readiness.set_ready(), "a change");
        assert!(!readiness.set_ready(), "no change");
        assert!(readiness.is_ready());
        assert_eq!(readiness.waiting_for(), None);
        assert!(readiness.set_waiting("the event stream failed"), "a change");
        assert!(!readiness.set_waiting("still failing"), "no change");
        assert_eq!(readiness.waiting_for().as_deref(), Some("still failing"));
        assert!(readiness.set_ready());
    }

    #[test]
    fn readyz_answers_503_until_ready() {
        assert_eq!(readyz(true, "x").status(), StatusCode::OK);
        assert_eq!(readyz(false, "x").status(), StatusCode::SERVICE_UNAVAILABLE);
    }
}
