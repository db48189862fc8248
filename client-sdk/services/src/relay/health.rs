//! The HTTP health endpoint: `GET /healthz` answers 200 with the relay's
//! progress as JSON, for process supervisors and for the experiment's
//! scripts, which wait on it and read where the relay got to. `ready` says
//! whether the relay can work now ([`crate::ready`]; `waiting_for` says
//! what it waits for while not), and `GET /readyz` answers the same with
//! 200 when ready and 503 while not.
//!
//! ```json
//! {"status":"ok","ready":true,"network_id":"net1","checkpoint":{"block":12,"tx":"ab…"},
//!  "delivered":3,"refused":0,"last_delivery_error":"Unavailable: …","reloads":1,
//!  "in_flight":2,"max_in_flight":16}
//! ```

use std::sync::Arc;

use crate::ready::Reports;
use serde::Serialize;
use tokio::net::TcpListener;

use super::{error::RelayError, shutdown::Shutdown, status::RelayStatus};

/// The body of a `/healthz` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HealthReport {
    /// Always `ok`: the relay answers, so it runs; delivery trouble is
    /// reported in `last_delivery_error`, since it is usually the other
    /// side's.
    pub status: &'static str,
    /// Whether the relay can work now: its network's peer answered and
    /// its event stream is open.
    pub ready: bool,
    /// What it waits for, while not ready.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waiting_for: Option<String>,
    /// This network's id.
    pub network_id: String,
    /// The checkpoint: every event up to it is settled; `null` before the
    /// first.
    pub checkpoint: Option<CheckpointReport>,
    /// Envelopes delivered since start.
    pub delivered: u64,
    /// Envelopes refused (or without a destination) since start.
    pub refused: u64,
    /// Why the latest delivery attempt failed, until one succeeds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_delivery_error: Option<String>,
    /// Configurations taken on a reload since start.
    pub reloads: u64,
    /// Why the latest reload was refused, until one is taken.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_reload_error: Option<String>,
    /// Envelopes read whose delivery has not settled yet (being delivered,
    /// retried, or waiting behind one of the same request).
    pub in_flight: usize,
    /// How many envelopes may be past the checkpoint at once.
    pub max_in_flight: usize,
}

/// A checkpoint as the health endpoint shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckpointReport {
    /// The block.
    pub block: u64,
    /// The last transaction processed in it, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tx: Option<String>,
}

impl HealthReport {
    /// The report for the relay's current status.
    pub fn of(status: &RelayStatus) -> Self {
        let progress = status.snapshot();
        Self {
            status: "ok",
            ready: status.readiness().is_ready(),
            waiting_for: status.readiness().waiting_for(),
            network_id: status.network_id().to_string(),
            checkpoint: progress.checkpoint.map(|checkpoint| CheckpointReport {
                block: checkpoint.block_number,
                tx: checkpoint.transaction_id,
            }),
            delivered: progress.delivered,
            refused: progress.refused,
            last_delivery_error: progress.last_delivery_error,
            reloads: progress.reloads,
            last_reload_error: progress.last_reload_error,
            in_flight: progress.in_flight,
            max_in_flight: progress.max_in_flight,
        }
    }
}

impl Reports for RelayStatus {
    type Report = HealthReport;

    fn report(&self) -> HealthReport {
        HealthReport::of(self)
    }

    fn is_ready(&self) -> bool {
        self.readiness().is_ready()
    }
}

/// Serves the endpoint on `listener` until shutdown.
pub async fn serve(
    listener: TcpListener,
    status: Arc<RelayStatus>,
    mut shutdown: Shutdown,
) -> Result<(), RelayError> {
    axum::serve(listener, crate::ready::router(status))
        .with_graceful_shutdown(async move { shutdown.recv().await })
        .await
        .map_err(RelayError::Health)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ehrx_client::fabric::Checkpoint;

    #[test]
    fn the_report_has_the_documented_shape() {
        let status = RelayStatus::new("net1", None, 16);
        let json = serde_json::to_value(HealthReport::of(&status)).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"status": "ok", "ready": false,
                               "waiting_for": crate::ready::STARTING,
                               "network_id": "net1", "checkpoint": null,
                               "delivered": 0, "refused": 0, "reloads": 0,
                               "in_flight": 0, "max_in_flight": 16})
        );
        status.readiness().set_ready();
        let json = serde_json::to_value(HealthReport::of(&status)).unwrap();
        assert_eq!(json["ready"], true);
        assert!(json.get("waiting_for").is_none(), "{json}");
        status.set_in_flight(3);
        let json = serde_json::to_value(HealthReport::of(&status)).unwrap();
        assert_eq!(json["in_flight"], 3);
        status.checkpointed(Checkpoint {
            block_number: 12,
            transaction_id: Some("ab".into()),
        });
        status.delivery_failed("Unavailable: down".into());
        let json = serde_json::to_value(HealthReport::of(&status)).unwrap();
        assert_eq!(
            json["checkpoint"],
            serde_json::json!({"block": 12, "tx": "ab"})
        );
        assert_eq!(json["last_delivery_error"], "Unavailable: down");
        status.reload_refused("`listen` changed".into());
        let json = serde_json::to_value(HealthReport::of(&status)).unwrap();
        assert_eq!(json["last_reload_error"], "`listen` changed");
        status.reloaded();
        let json = serde_json::to_value(HealthReport::of(&status)).unwrap();
        assert_eq!(json["reloads"], 1);
        assert!(json.get("last_reload_error").is_none(), "{json}");
    }
}
