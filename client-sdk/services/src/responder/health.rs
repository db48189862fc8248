//! The responder's health endpoint, served when its configuration names a
//! `health_address`: `GET /healthz` answers 200 with what the responder
//! reports of itself, and `GET /readyz` the same with 200 when it is ready
//! and 503 while not (see [`crate::ready`]).
//!
//! ```json
//! {"status":"ok","service":"responder","ready":true,"network_id":"net2",
//!  "msp_id":"Net2Org1MSP","handled":3}
//! ```

use std::{
    future::Future,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
};

use serde::Serialize;
use tokio::net::TcpListener;

use crate::ready::{Readiness, Reports};

/// What a running responder reports: shared between it and its endpoint.
#[derive(Debug)]
pub struct ResponderStatus {
    network_id: String,
    msp_id: String,
    readiness: Readiness,
    handled: AtomicU64,
}

impl ResponderStatus {
    /// The status of a responder of `msp_id` on `network_id`, not ready yet.
    pub fn new(network_id: impl Into<String>, msp_id: impl Into<String>) -> Self {
        Self {
            network_id: network_id.into(),
            msp_id: msp_id.into(),
            readiness: Readiness::new(),
            handled: AtomicU64::new(0),
        }
    }

    /// Whether it is ready.
    pub fn readiness(&self) -> &Readiness {
        &self.readiness
    }

    /// An event was handled and checkpointed.
    pub fn handled(&self) {
        self.handled.fetch_add(1, Ordering::Relaxed);
    }
}

/// The body of a `/healthz` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResponderHealth {
    /// Always `ok`: the responder answers, so it runs.
    pub status: &'static str,
    /// Always `responder`.
    pub service: &'static str,
    /// Whether it can work now: its network's peer answered and its event
    /// stream is open.
    pub ready: bool,
    /// What it waits for, while not ready.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waiting_for: Option<String>,
    /// Its network's id.
    pub network_id: String,
    /// Its organisation.
    pub msp_id: String,
    /// Events handled since start.
    pub handled: u64,
}

impl ResponderHealth {
    /// The report of `status` now.
    pub fn of(status: &ResponderStatus) -> Self {
        Self {
            status: "ok",
            service: "responder",
            ready: status.readiness.is_ready(),
            waiting_for: status.readiness.waiting_for(),
            network_id: status.network_id.clone(),
            msp_id: status.msp_id.clone(),
            handled: status.handled.load(Ordering::Relaxed),
        }
    }
}

impl Reports for ResponderStatus {
    type Report = ResponderHealth;

    fn report(&self) -> ResponderHealth {
        ResponderHealth::of(self)
    }

    fn is_ready(&self) -> bool {
        self.readiness.is_ready()
    }
}

/// Serves the endpoint on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    status: Arc<ResponderStatus>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, crate::ready::router(status))
        .with_graceful_shutdown(shutdown)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_has_the_documented_shape() {
        let status = ResponderStatus::new("net2", "Net2Org1MSP");
        assert_eq!(
            serde_json::to_value(ResponderHealth::of(&status)).unwrap(),
            serde_json::json!({"status": "ok", "service": "responder", "ready": false,
                "waiting_for": crate::ready::STARTING, "network_id": "net2",
                "msp_id": "Net2Org1MSP", "handled": 0})
        );
        status.readiness().set_ready();
        status.handled();
        let json = serde_json::to_value(ResponderHealth::of(&status)).unwrap();
        assert_eq!(
            (json["ready"].clone(), json["handled"].clone()),
            (true.into(), 1.into())
        );
        assert!(json.get("waiting_for").is_none(), "{json}");
    }

    /// `GET path` over a plain socket: the status line and the body.
    async fn get(address: std::net::SocketAddr, path: &str) -> (String, serde_json::Value) {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
        stream
            .write_all(
                format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
            )
            .await
            .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await.unwrap();
        let (head, body) = answer.split_once("\r\n\r\n").unwrap();
        (
            head.lines().next().unwrap().to_string(),
            serde_json::from_str(body).unwrap(),
        )
    }

    #[tokio::test]
    async fn readyz_turns_200_when_ready() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let status = Arc::new(ResponderStatus::new("net2", "Net2Org1MSP"));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve(listener, Arc::clone(&status), async {
            let _ = stopped.await;
        }));
        let (line, body) = get(address, "/readyz").await;
        assert!(line.contains("503"), "{line}");
        assert_eq!(body["ready"], false);
        let (line, _) = get(address, "/healthz").await;
        assert!(line.contains("200"), "{line}");
        status.readiness().set_ready();
        let (line, body) = get(address, "/readyz").await;
        assert!(line.contains("200"), "{line}");
        assert_eq!(body["ready"], true);
        let _ = stop.send(());
        server.await.unwrap().unwrap();
    }
}
