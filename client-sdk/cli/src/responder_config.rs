//! The responder's configuration file. Shaped like the relay's (the same
//! `identity` and `retry` objects, paths relative to the file, unknown
//! fields refused) so an admin writes both the same way.
//!
//! ```json
//! {
//!   "network_description": "../.network/net2/network.json",
//!   "identity": { "msp_id": "Net2Org1MSP", "user": "User1" },
//!   "checkpoint_file": "responder-org1-checkpoint.json",
//!   "retry": { "initial_ms": 500, "max_ms": 30000 },
//!   "max_in_flight": 16,
//!   "claim": { "mode": "split", "index": 0, "of": 2, "takeover_seconds": 10 }
//! }
//! ```
//!
//! `chaincode` (default `ehrx`), `network_id` (default: the
//! description's network name) and `health_address` (`host:port` of an
//! HTTP endpoint answering `/healthz` and `/readyz`, which `ehrx services
//! wait` polls; default: none) may be given too. `max_in_flight` (1 to
//! 256, default 16) is how many requests the responder answers at once.
//! `claim` says how the network's responders share the requests: `compete`
//! (the default: every responder answers every request, the contract keeps
//! the first reply) or `split` (responder `index` of `of` answers its share
//! at once and another's only after `takeover_seconds`, 1 to 3600, without
//! a reply); every responder of a network must be given the same `of`.

use ehrx_interface::json::parse_config;
use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
};

use anyhow::{Context as _, bail};
use serde::Deserialize;

use ehrx_services::relay::config::{FabricIdentity, RetryConfig};
use ehrx_services::responder::{Claim, DEFAULT_MAX_IN_FLIGHT, MAX_IN_FLIGHT};
use std::time::Duration;

use crate::target::relative_to;

/// The responder's configuration.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResponderConfig {
    /// The network's `network.json`.
    pub network_description: PathBuf,
    /// The registered responder identity it answers as.
    pub identity: FabricIdentity,
    /// Where the event checkpoint is kept across restarts.
    pub checkpoint_file: PathBuf,
    /// The EHR chaincode's name, if not `ehrx`.
    #[serde(default)]
    pub chaincode: Option<String>,
    /// This network's id in the lookup tables, if not the description's name.
    #[serde(default)]
    pub network_id: Option<String>,
    /// Waits between attempts after a transient failure.
    #[serde(default)]
    pub retry: RetryConfig,
    /// How many requests it answers at once.
    #[serde(default = "default_max_in_flight")]
    pub max_in_flight: usize,
    /// How the network's responders share the requests.
    #[serde(default, deserialize_with = "claim_object")]
    pub claim: ClaimConfig,
    /// Where to serve `/healthz` and `/readyz`, if anywhere.
    #[serde(default)]
    pub health_address: Option<SocketAddr>,
}

fn default_max_in_flight() -> usize {
    DEFAULT_MAX_IN_FLIGHT
}

/// The longest takeover time, in seconds.
pub const MAX_TAKEOVER_SECONDS: u64 = 3600;

/// `claim`, read only from a JSON object (serde would take an internally
/// tagged enum from an array too: `["split", 0, 2, 5]`).
fn claim_object<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<ClaimConfig, D::Error> {
    use serde::de::Error as _;
    match serde_json::Value::deserialize(deserializer)? {
        object @ serde_json::Value::Object(_) => {
            ClaimConfig::deserialize(object).map_err(D::Error::custom)
        }
        _ => Err(D::Error::custom(
            "`claim` must be a JSON object with a `mode`",
        )),
    }
}

/// `claim`: how the responders share the requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClaimConfig {
    /// Every responder answers every request.
    Compete {},
    /// Responder `index` of `of` claims its share.
    Split {
        index: u32,
        of: u32,
        takeover_seconds: u64,
    },
}

impl Default for ClaimConfig {
    fn default() -> Self {
        Self::Compete {}
    }
}

impl ClaimConfig {
    /// The responder's claim.
    pub fn claim(&self) -> Claim {
        match *self {
            Self::Compete {} => Claim::Compete,
            Self::Split {
                index,
                of,
                takeover_seconds,
            } => Claim::Split {
                index,
                of,
                takeover_after: Duration::from_secs(takeover_seconds),
            },
        }
    }
}

impl ResponderConfig {
    /// Reads and checks a configuration file; relative paths are taken
    /// from its folder.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the responder configuration {}", path.display()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        Self::from_json(&text, base)
            .with_context(|| format!("responder configuration {}", path.display()))
    }

    /// Parses and checks configuration JSON; relative paths are taken from
    /// `base`.
    pub fn from_json(text: &str, base: &Path) -> anyhow::Result<Self> {
        let mut config: Self = parse_config("the responder configuration", text.as_bytes())?;
        config.network_description = relative_to(base, &config.network_description);
        config.checkpoint_file = relative_to(base, &config.checkpoint_file);
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> anyhow::Result<()> {
        if self.identity.msp_id.is_empty() || self.identity.user.is_empty() {
            bail!("`identity` needs both `msp_id` and `user`");
        }
        if self.chaincode.as_deref() == Some("") {
            bail!("`chaincode` is empty");
        }
        if self.network_id.as_deref() == Some("") {
            bail!("`network_id` is empty");
        }
        if self.retry.initial_ms == 0 {
            bail!("`retry.initial_ms` must be more than 0");
        }
        if self.retry.max_ms < self.retry.initial_ms {
            bail!("`retry.max_ms` must be at least `retry.initial_ms`");
        }
        if !(1..=MAX_IN_FLIGHT).contains(&self.max_in_flight) {
            bail!("`max_in_flight` must be from 1 to {MAX_IN_FLIGHT}");
        }
        if let ClaimConfig::Split {
            index,
            of,
            takeover_seconds,
        } = self.claim
        {
            if of == 0 || index >= of {
                bail!("`claim.index` must be less than `claim.of` (from 0 to {of} - 1)");
            }
            if !(1..=MAX_TAKEOVER_SECONDS).contains(&takeover_seconds) {
                bail!("`claim.takeover_seconds` must be from 1 to {MAX_TAKEOVER_SECONDS}");
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parse(json: serde_json::Value) -> anyhow::Result<ResponderConfig> {
        ResponderConfig::from_json(&json.to_string(), Path::new("/etc/ehrx"))
    }

    fn minimal() -> serde_json::Value {
        json!({
            "network_description": "net2/network.json",
            "identity": {"msp_id": "Net2Org1MSP", "user": "User1"},
            "checkpoint_file": "/var/lib/ehrx/responder.json",
        })
    }

    /// Why the minimal configuration with `field` set to `value` is refused.
    fn refusal(field: &str, value: serde_json::Value) -> anyhow::Error {
        let mut bad = minimal();
        bad[field] = value;
        parse(bad).unwrap_err()
    }

    #[test]
    fn a_minimal_config_takes_defaults_and_resolves_paths() {
        let config = parse(minimal()).unwrap();
        assert_eq!(
            config.network_description,
            PathBuf::from("/etc/ehrx/net2/network.json")
        );
        assert_eq!(
            config.checkpoint_file,
            PathBuf::from("/var/lib/ehrx/responder.json")
        );
        assert_eq!(config.identity.user, "User1");
        assert_eq!(config.retry, RetryConfig::default());
        assert_eq!(config.chaincode, None);
        assert_eq!(config.network_id, None);
        assert_eq!(config.max_in_flight, 16);
        assert_eq!(config.claim.claim(), Claim::Compete);
        assert_eq!(config.health_address, None);
    }

    #[test]
    fn every_field_reads() {
        let mut json = minimal();
        json["chaincode"] = "ehrx2".into();
        json["network_id"] = "net2".into();
        json["retry"] = json!({"initial_ms": 100, "max_ms": 1000});
        json["max_in_flight"] = 4.into();
        json["claim"] = json!({"mode": "split", "index": 1, "of": 2, "takeover_seconds": 7});
        json["health_address"] = "127.0.0.1:9191".into();
        let config = parse(json).unwrap();
        assert_eq!(config.max_in_flight, 4);
        assert_eq!(
            config.claim.claim(),
            Claim::Split {
                index: 1,
                of: 2,
                takeover_after: Duration::from_secs(7)
            }
        );
        assert_eq!(config.health_address, Some(([127, 0, 0, 1], 9191).into()));
        assert_eq!(config.chaincode.as_deref(), Some("ehrx2"));
        assert_eq!(config.network_id.as_deref(), Some("net2"));
        assert_eq!(config.retry.initial_ms, 100);
        assert_eq!(config.retry.max_ms, 1000);
    }

    #[test]
    fn unknown_missing_and_impossible_fields_are_named() {
        for (field, value, named) in [
            ("checkpoint", json!("x"), "unknown field \"checkpoint\""),
            (
                "retry",
                json!({"initial_ms": 1, "max": 2}),
                "unknown field \"max\"",
            ),
            // Arrays where objects go: refused, as in the contract's
            // arguments.
            ("identity", json!(["Net2Org1MSP", "User1"]), "identity"),
            (
                "identity",
                json!({"msp_id": "Net2Org1MSP", "user": ""}),
                "identity",
            ),
            (
                "retry",
                json!({"initial_ms": 0, "max_ms": 10}),
                "retry.initial_ms",
            ),
            (
                "retry",
                json!({"initial_ms": 100, "max_ms": 10}),
                "retry.max_ms",
            ),
            ("max_in_flight", json!(0), "max_in_flight"),
            ("max_in_flight", json!(257), "max_in_flight"),
            (
                "health_address",
                json!("localhost"),
                "invalid socket address",
            ),
        ] {
            let text = refusal(field, value.clone()).to_string();
            assert!(text.contains(named), "{field} = {value}: {text}");
        }

        // Repeated keys: refused, as in the contract's arguments.
        let twice = r#"{"network_description": "a.json", "network_description": "b.json",
            "identity": {"msp_id": "Net2Org1MSP", "user": "User1"}, "checkpoint_file": "c.json"}"#;
        let text = ResponderConfig::from_json(twice, Path::new("/etc"))
            .unwrap_err()
            .to_string();
        assert!(text.contains("repeats the key"), "{text}");

        let text = parse(json!({"network_description": "n.json"}))
            .unwrap_err()
            .to_string();
        assert!(text.contains("missing field"), "{text}");

        for (claim, named) in [
            (
                json!({"mode": "split", "index": 2, "of": 2, "takeover_seconds": 5}),
                "claim.index",
            ),
            (
                json!({"mode": "split", "index": 0, "of": 0, "takeover_seconds": 5}),
                "claim.index",
            ),
            (
                json!({"mode": "split", "index": 0, "of": 2, "takeover_seconds": 0}),
                "claim.takeover_seconds",
            ),
            (
                json!({"mode": "split", "index": 0, "of": 2, "takeover_seconds": 3601}),
                "claim.takeover_seconds",
            ),
            (
                json!({"mode": "split", "index": 0, "of": 2}),
                "missing field `takeover_seconds`",
            ),
            (json!({"mode": "race"}), "unknown variant `race`"),
            (
                json!({"mode": "compete", "index": 0}),
                "unknown field `index`",
            ),
            (json!(["split", 0, 2, 5]), "mode"),
        ] {
            let text = format!("{:#}", refusal("claim", claim.clone()));
            assert!(text.contains(named), "{claim}: {text}");
        }
    }

    #[test]
    fn a_missing_file_is_named() {
        let text = format!(
            "{:#}",
            ResponderConfig::load(Path::new("/nonexistent/responder.json")).unwrap_err()
        );
        assert!(text.contains("/nonexistent/responder.json"), "{text}");
    }
}
