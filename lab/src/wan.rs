//! The emulated WAN between the relays, when the networks were started with
//! `NETWORK_WAN=toxiproxy`: every relay-to-relay link goes through a
//! Toxiproxy proxy (`scripts/lib/wan.sh` starts it and writes
//! `$NETWORK_HOME/wan.json`), and this module sets what the link does
//! through the Toxiproxy server's HTTP API: a one-way delay on each
//! direction, a bandwidth cap, or a cut.
//!
//! A one-way delay of `d` adds `d` to every byte in each direction (the
//! `latency` toxic on both streams of every link), so a round trip between
//! two relays takes `2d` more.

use std::path::Path;

use anyhow::{Context as _, bail};
use serde::Deserialize;
use serde_json::json;

use crate::networks::network_home;

/// One directed link: `from`'s relay dials `listen`, which forwards to
/// `to`'s relay at `upstream`.
#[derive(Debug, Clone, Deserialize)]
pub struct Link {
    /// The proxy's name in Toxiproxy, `<from>-to-<to>`.
    pub name: String,
    /// The dialling network.
    pub from: String,
    /// The dialled network.
    pub to: String,
    /// Where the proxy listens.
    pub listen: String,
    /// The relay it forwards to.
    pub upstream: String,
}

/// What every link does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Conditions {
    /// Added to each direction, in milliseconds.
    pub one_way_delay_ms: u64,
    /// Bytes per second each direction carries at most, in KiB/s (Toxiproxy's
    /// bandwidth toxic counts KB as 1024 bytes); `None` for no cap.
    pub rate_kib_per_s: Option<u64>,
}

/// The WAN of the running networks.
#[derive(Debug, Clone, Deserialize)]
pub struct Wan {
    /// The Toxiproxy server's HTTP API, `http://host:port`.
    pub api: String,
    /// Every directed link.
    pub links: Vec<Link>,
}

/// The toxics this module manages, by name: latency and bandwidth on each
/// stream.
const TOXICS: [(&str, &str, &str); 4] = [
    ("delay_up", "latency", "upstream"),
    ("delay_down", "latency", "downstream"),
    ("rate_up", "bandwidth", "upstream"),
    ("rate_down", "bandwidth", "downstream"),
];

impl Wan {
    /// The WAN of the networks under `$NETWORK_HOME`, or `None` when they
    /// run without one.
    pub fn of_running_networks() -> anyhow::Result<Option<Self>> {
        Self::load(&network_home().join("wan.json"))
    }

    /// Reads a `wan.json`; `None` if there is none.
    pub fn load(path: &Path) -> anyhow::Result<Option<Self>> {
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(error).with_context(|| format!("reading {}", path.display())),
        };
        let wan: Self = serde_json::from_slice(&bytes)
            .with_context(|| format!("parsing {}", path.display()))?;
        if !wan.api.starts_with("http://") || wan.links.is_empty() {
            bail!(
                "{}: expected an http:// API and at least one link",
                path.display()
            );
        }
        Ok(Some(wan))
    }

    /// Sets the same conditions on every link, both directions, replacing
    /// what was set before.
    pub fn set(&self, conditions: Conditions) -> anyhow::Result<()> {
        for link in &self.links {
            for (name, _, _) in TOXICS {
                self.remove_toxic(link, name)?;
            }
            for (name, kind, stream) in TOXICS {
                let attributes = match (kind, conditions) {
                    (
                        "latency",
                        Conditions {
                            one_way_delay_ms, ..
                        },
                    ) if one_way_delay_ms > 0 => {
                        json!({"latency": one_way_delay_ms, "jitter": 0})
                    }
                    (
                        "bandwidth",
                        Conditions {
                            rate_kib_per_s: Some(rate),
                            ..
                        },
                    ) => json!({"rate": rate}),
                    _ => continue,
                };
                let body = json!({
                    "name": name, "type": kind, "stream": stream, "toxicity": 1.0,
                    "attributes": attributes,
                });
                self.post(&format!("/proxies/{}/toxics", link.name), &body)
                    .with_context(|| format!("setting {name} on link {}", link.name))?;
            }
        }
        Ok(())
    }

    /// Cuts (`false`) or restores (`true`) every link: a cut link refuses
    /// new connections and drops the open ones, as a broken WAN does.
    pub fn set_enabled(&self, enabled: bool) -> anyhow::Result<()> {
        for link in &self.links {
            self.post(
                &format!("/proxies/{}", link.name),
                &json!({"enabled": enabled}),
            )
            .with_context(|| {
                format!(
                    "{} link {}",
                    if enabled { "restoring" } else { "cutting" },
                    link.name
                )
            })?;
        }
        Ok(())
    }

    fn post(&self, path: &str, body: &serde_json::Value) -> anyhow::Result<()> {
        api_agent()
            .post(&format!("{}{path}", self.api))
            .header("Content-Type", "application/json")
            .send(body.to_string())
            .with_context(|| format!("POST {}{path}", self.api))?;
        Ok(())
    }

    /// Removes a toxic; one that is not there is fine.
    fn remove_toxic(&self, link: &Link, name: &str) -> anyhow::Result<()> {
        let url = format!("{}/proxies/{}/toxics/{name}", self.api, link.name);
        match api_agent().delete(&url).call() {
            Ok(_) | Err(ureq::Error::StatusCode(404)) => Ok(()),
            Err(error) => Err(error).with_context(|| format!("DELETE {url}")),
        }
    }
}

/// Calls to Toxiproxy's API give up after 10 s: a hung proxy is an error,
/// not a wait without end (the fault soak saw its API hang).
fn api_agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(std::time::Duration::from_secs(10)))
        .build()
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_description_means_no_wan_and_a_bad_one_is_an_error() {
        let dir = std::env::temp_dir().join(format!("ehrx-lab-wan-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        assert!(Wan::load(&dir.join("absent.json")).unwrap().is_none());
        let path = dir.join("wan.json");
        std::fs::write(&path, r#"{"api": "ftp://x", "links": []}"#).unwrap();
        assert!(Wan::load(&path).is_err());
        std::fs::write(&path, r#"[1, 2]"#).unwrap();
        assert!(Wan::load(&path).is_err());
        std::fs::write(
            &path,
            r#"{"api": "http://127.0.0.1:9474", "links": [{"name": "net1-to-net2",
               "from": "net1", "to": "net2", "listen": "127.0.0.1:8092",
               "upstream": "127.0.0.1:8090"}]}"#,
        )
        .unwrap();
        let wan = Wan::load(&path).unwrap().unwrap();
        assert_eq!(wan.links[0].name, "net1-to-net2");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Regression (found by the soak): a Toxiproxy whose API stopped
    /// answering held a fault lane, and the whole run, for good. Now a
    /// call fails after 10 s.
    #[test]
    fn an_api_that_never_answers_is_an_error_not_a_hang() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        // Accepts connections and never answers.
        std::thread::spawn(move || {
            let held: Vec<_> = listener.incoming().take(4).collect();
            std::thread::sleep(std::time::Duration::from_secs(60));
            drop(held);
        });
        let wan = Wan {
            api: format!("http://{address}"),
            links: vec![Link {
                name: "net1-to-net2".into(),
                from: "net1".into(),
                to: "net2".into(),
                listen: "127.0.0.1:1".into(),
                upstream: "127.0.0.1:2".into(),
            }],
        };
        let started = std::time::Instant::now();
        let error = wan.set_enabled(false).unwrap_err();
        let waited = started.elapsed();
        assert!(waited < std::time::Duration::from_secs(30), "{waited:?}");
        assert!(
            format!("{error:#}").contains("cutting link net1-to-net2"),
            "{error:#}"
        );
    }
}
