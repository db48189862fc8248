//! The responder's configuration file. Shaped like the relay's (the same
//! `identity` and `retry` objects, paths relative to the file, unknown
//! fields refused) so an admin writes both the same way.
//!
//! ```json
//! {
//!   "network_description": "../.network/net2/network.json",
//!   "identity": { "msp_id": "Net2Org1MSP", "user": "User1" },
//!   "checkpoint_file": "responder-org1-checkpoint.json",
//!   "retry": { "initial_ms": 500, "max_ms": 30000 }
//! }
//! ```
//!
//! `chaincode` (default `ehrx`), `network_id` (default: the
//! description's network name) and `health_address` (`host:port` of an
//! HTTP endpoint answering `/healthz` and `/readyz`, which `ehrx services
//! wait` polls; default: none) may be given too.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
};

use anyhow::{Context as _, bail};
use serde::Deserialize;

use ehrx_services::relay::config::{FabricIdentity, RetryConfig};

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
    /// Where to serve `/healthz` and `/readyz`, if anywhere.
    #[serde(default)]
    pub health_address: Option<SocketAddr>,
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
        let mut config: Self = serde_json::from_str(text)?;
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
        assert_eq!(config.health_address, None);
    }

    #[test]
    fn every_field_reads() {
        let mut json = minimal();
        json["chaincode"] = "ehrx2".into();
        json["network_id"] = "net2".into();
        json["retry"] = json!({"initial_ms": 100, "max_ms": 1000});
        json["health_address"] = "127.0.0.1:9191".into();
        let config = parse(json).unwrap();
        assert_eq!(config.health_address, Some(([127, 0, 0, 1], 9191).into()));
        assert_eq!(config.chaincode.as_deref(), Some("ehrx2"));
        assert_eq!(config.network_id.as_deref(), Some("net2"));
        assert_eq!(config.retry.initial_ms, 100);
        assert_eq!(config.retry.max_ms, 1000);
    }

    #[test]
    fn unknown_missing_and_impossible_fields_are_named() {
        let mut typo = minimal();
        typo["checkpoint"] = "x".into();
        let text = parse(typo).unwrap_err().to_string();
        assert!(text.contains("unknown field `checkpoint`"), "{text}");

        let mut nested = minimal();
        nested["retry"] = json!({"initial_ms": 1, "max": 2});
        let text = parse(nested).unwrap_err().to_string();
        assert!(text.contains("unknown field `max`"), "{text}");

        let text = parse(json!({"network_description": "n.json"}))
            .unwrap_err()
            .to_string();
        assert!(text.contains("missing field"), "{text}");

        let mut zero = minimal();
        zero["retry"] = json!({"initial_ms": 0, "max_ms": 10});
        let text = parse(zero).unwrap_err().to_string();
        assert!(text.contains("retry.initial_ms"), "{text}");

        let mut inverted = minimal();
        inverted["retry"] = json!({"initial_ms": 100, "max_ms": 10});
        let text = parse(inverted).unwrap_err().to_string();
        assert!(text.contains("retry.max_ms"), "{text}");

        let mut no_port = minimal();
        no_port["health_address"] = "localhost".into();
        let text = parse(no_port).unwrap_err().to_string();
        assert!(text.contains("invalid socket address"), "{text}");

        let mut no_user = minimal();
        no_user["identity"]["user"] = "".into();
        let text = parse(no_user).unwrap_err().to_string();
        assert!(text.contains("identity"), "{text}");
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
