//! `ehrx services wait`: blocks until relays and responders are ready, as
//! their health endpoints report (`"ready": true`, see
//! `ehrx_services::ready`), or fails at the timeout naming what each still
//! waits for. A service is named by its configuration file (its
//! `health_address` is polled) or by the endpoint's address.

use std::{
    path::Path,
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail};
use serde::Serialize;

use crate::{args::WaitArgs, output::Output};

/// How often each endpoint not yet ready is asked.
const POLL: Duration = Duration::from_millis(250);

/// How long one health request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);

/// One service to wait for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// How the admin named it: its configuration file, or its address.
    pub name: String,
    /// `host:port` of its health endpoint.
    pub address: String,
}

/// What one look at a health endpoint found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    /// `"ready": true`.
    Ready,
    /// It answers, but is not ready: what it waits for.
    NotReady(String),
    /// No usable answer: why.
    NoAnswer(String),
}

/// A service found ready, as reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ready {
    /// The service's name (configuration file or address).
    pub service: String,
    /// Its health endpoint.
    pub address: String,
    /// How long it took to be ready, from the start of the wait.
    pub after_ms: u64,
}

/// The endpoint named in a relay's or responder's configuration file.
pub fn endpoint_of_config(path: &Path) -> anyhow::Result<Endpoint> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the configuration {}", path.display()))?;
    let config: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("the configuration {} is not JSON", path.display()))?;
    let Some(address) = config.get("health_address").and_then(|a| a.as_str()) else {
        bail!(
            "{} has no `health_address`: give the service one (a responder serves /healthz and /readyz only then)",
            path.display()
        );
    };
    checked_address(address)
        .with_context(|| format!("`health_address` in {}", path.display()))
        .map(|address| Endpoint {
            name: path.display().to_string(),
            address,
        })
}

/// `host:port`, with a port.
fn checked_address(address: &str) -> anyhow::Result<String> {
    let (host, port) = address
        .rsplit_once(':')
        .with_context(|| format!("{address:?} is not host:port"))?;
    if host.is_empty() || port.parse::<u16>().is_err() || address.contains('/') {
        bail!("{address:?} is not host:port");
    }
    Ok(address.to_string())
}

/// Reads a health report's body.
pub fn read_report(body: &str) -> Probe {
    let Ok(report) = serde_json::from_str::<serde_json::Value>(body) else {
        return Probe::NoAnswer("its answer is not a JSON health report".into());
    };
    match report.get("ready").and_then(serde_json::Value::as_bool) {
        Some(true) => Probe::Ready,
        Some(false) => Probe::NotReady(
            report
                .get("waiting_for")
                .and_then(serde_json::Value::as_str)
                .unwrap_or("not ready")
                .to_string(),
        ),
        None => Probe::NoAnswer("its health report has no `ready` field".into()),
    }
}

/// Asks one endpoint's `/healthz`.
fn probe_http(agent: &ureq::Agent, address: &str) -> Probe {
    let url = format!("http://{address}/healthz");
    match agent.get(&url).call() {
        Ok(mut answer) if answer.status().is_success() => {
            match answer.body_mut().read_to_string() {
                Ok(body) => read_report(&body),
                Err(error) => Probe::NoAnswer(format!("reading its answer: {error}")),
            }
        }
        Ok(answer) => Probe::NoAnswer(format!("it answered HTTP {}", answer.status())),
        Err(error) => Probe::NoAnswer(error.to_string()),
    }
}

/// Waits until `probe` finds every endpoint ready, asking those not yet
/// ready every `poll`, for at most `timeout`; the error names each one
/// still not ready and what it waits for.
pub fn wait_until_ready(
    endpoints: &[Endpoint],
    timeout: Duration,
    poll: Duration,
    mut probe: impl FnMut(&str) -> Probe,
) -> anyhow::Result<Vec<Ready>> {
    let started = Instant::now();
    let mut ready: Vec<Option<Ready>> = vec![None; endpoints.len()];
    let mut last: Vec<Probe> = vec![Probe::NoAnswer("not asked yet".into()); endpoints.len()];
    loop {
        for (index, endpoint) in endpoints.iter().enumerate() {
            if ready[index].is_some() {
                continue;
            }
            last[index] = probe(&endpoint.address);
            if last[index] == Probe::Ready {
                ready[index] = Some(Ready {
                    service: endpoint.name.clone(),
                    address: endpoint.address.clone(),
                    after_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                });
            }
        }
        if ready.iter().all(Option::is_some) {
            return Ok(ready.into_iter().flatten().collect());
        }
        if started.elapsed() >= timeout {
            let pending: Vec<String> = endpoints
                .iter()
                .zip(&last)
                .zip(&ready)
                .filter(|(_, done)| done.is_none())
                .map(|((endpoint, probe), _)| {
                    let state = match probe {
                        Probe::NotReady(what) => format!("not ready, waiting for {what}"),
                        Probe::NoAnswer(why) => format!("no answer: {why}"),
                        Probe::Ready => "ready".to_string(),
                    };
                    format!("  {} ({}): {state}", endpoint.name, endpoint.address)
                })
                .collect();
            bail!(
                "{} of {} service(s) not ready after {timeout:?}:\n{}",
                pending.len(),
                endpoints.len(),
                pending.join("\n")
            );
        }
        std::thread::sleep(poll.min(timeout.saturating_sub(started.elapsed())));
    }
}

/// `ehrx services wait`.
pub async fn run(out: &Output, args: WaitArgs) -> anyhow::Result<()> {
    let mut endpoints = Vec::new();
    for path in &args.configs {
        endpoints.push(endpoint_of_config(path)?);
    }
    for address in &args.health {
        endpoints.push(Endpoint {
            name: address.clone(),
            address: checked_address(address)?,
        });
    }
    let timeout = args.timeout;
    let waited = tokio::task::spawn_blocking(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(REQUEST_TIMEOUT))
            .http_status_as_error(false)
            .build()
            .into();
        wait_until_ready(&endpoints, timeout, POLL, |address| {
            probe_http(&agent, address)
        })
    })
    .await
    .context("the wait stopped")??;
    out.emit(&waited, || {
        waited
            .iter()
            .map(|r| {
                format!(
                    "ready: {} ({}) after {} ms\n",
                    r.service, r.address, r.after_ms
                )
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use std::io::{Read as _, Write as _};

    use super::*;
    use crate::testing::temp_file;

    fn endpoints(n: usize) -> Vec<Endpoint> {
        (0..n)
            .map(|i| Endpoint {
                name: format!("service-{i}"),
                address: format!("127.0.0.1:{}", 9000 + i),
            })
            .collect()
    }

    #[test]
    fn health_reports_are_read_by_their_ready_field() {
        assert_eq!(read_report(r#"{"status":"ok","ready":true}"#), Probe::Ready);
        assert_eq!(
            read_report(r#"{"ready":false,"waiting_for":"its event stream"}"#),
            Probe::NotReady("its event stream".into())
        );
        assert_eq!(
            read_report(r#"{"ready":false}"#),
            Probe::NotReady("not ready".into())
        );
        for odd in [
            r#"{"status":"ok"}"#,
            r#"{"ready":"yes"}"#,
            "[]",
            "<html>",
            "",
        ] {
            assert!(matches!(read_report(odd), Probe::NoAnswer(_)), "{odd}");
        }
    }

    #[test]
    fn the_wait_ends_when_every_service_is_ready() {
        let mut asked = Vec::new();
        let ready = wait_until_ready(
            &endpoints(2),
            Duration::from_secs(5),
            Duration::from_millis(1),
            |address| {
                asked.push(address.to_string());
                // The second becomes ready on its third look.
                let looks = asked.iter().filter(|a| *a == address).count();
                if address.ends_with("9000") || looks >= 3 {
                    Probe::Ready
                } else {
                    Probe::NotReady("its peer".into())
                }
            },
        )
        .unwrap();
        assert_eq!(ready.len(), 2);
        assert_eq!(ready[1].service, "service-1");
        // A ready service is not asked again.
        assert_eq!(asked.iter().filter(|a| a.ends_with("9000")).count(), 1);
        assert_eq!(asked.iter().filter(|a| a.ends_with("9001")).count(), 3);
    }

    #[test]
    fn at_the_timeout_each_service_not_ready_is_named_with_why() {
        let started = Instant::now();
        let error = wait_until_ready(
            &endpoints(3),
            Duration::from_millis(200),
            Duration::from_millis(20),
            |address| match address {
                "127.0.0.1:9000" => Probe::Ready,
                "127.0.0.1:9001" => Probe::NotReady("its network's peer: unavailable".into()),
                _ => Probe::NoAnswer("connection refused".into()),
            },
        )
        .unwrap_err()
        .to_string();
        assert!(started.elapsed() < Duration::from_secs(2));
        assert!(
            error.starts_with("2 of 3 service(s) not ready after 200ms:"),
            "{error}"
        );
        assert!(
            error.contains(
                "service-1 (127.0.0.1:9001): not ready, waiting for its network's peer: unavailable"
            ),
            "{error}"
        );
        assert!(
            error.contains("service-2 (127.0.0.1:9002): no answer: connection refused"),
            "{error}"
        );
        assert!(!error.contains("service-0"), "{error}");
    }

    #[test]
    fn configurations_name_their_health_address() {
        let (dir, with) = temp_file(
            "relay.json",
            r#"{"health_address": "127.0.0.1:30091", "other": 1}"#,
        );
        assert_eq!(
            endpoint_of_config(&with).unwrap().address,
            "127.0.0.1:30091"
        );
        for (body, needle) in [
            (r#"{"network_id": "net2"}"#, "has no `health_address`"),
            (r#"{"health_address": 30091}"#, "has no `health_address`"),
            (r#"{"health_address": "localhost"}"#, "is not host:port"),
            (r#"{"health_address": "http://h:1/x"}"#, "is not host:port"),
            ("[1", "is not JSON"),
        ] {
            std::fs::write(&with, body).unwrap();
            let error = format!("{:#}", endpoint_of_config(&with).unwrap_err());
            assert!(error.contains(needle), "{body}: {error}");
        }
        let error = format!(
            "{:#}",
            endpoint_of_config(&dir.path().join("gone.json")).unwrap_err()
        );
        assert!(error.contains("gone.json"), "{error}");
    }

    /// A one-shot HTTP server answering `body` to each request.
    fn serve(body: &'static str, requests: usize) -> String {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap().to_string();
        std::thread::spawn(move || {
            for stream in listener.incoming().take(requests) {
                let mut stream = stream.unwrap();
                let mut request = [0u8; 1024];
                let _ = stream.read(&mut request);
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        address
    }

    #[test]
    fn endpoints_are_asked_over_http() {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(REQUEST_TIMEOUT))
            .http_status_as_error(false)
            .build()
            .into();
        let ready = serve(r#"{"status":"ok","ready":true}"#, 1);
        assert_eq!(probe_http(&agent, &ready), Probe::Ready);
        let waiting = serve(r#"{"ready":false,"waiting_for":"its event stream"}"#, 1);
        assert_eq!(
            probe_http(&agent, &waiting),
            Probe::NotReady("its event stream".into())
        );
        // Nothing listens there any more.
        let closed = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().to_string()
        };
        assert!(matches!(probe_http(&agent, &closed), Probe::NoAnswer(_)));
    }
}
