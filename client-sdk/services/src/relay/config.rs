//! The relay's configuration file (JSON) and the credentials it names.
//!
//! Parsing is strict, with the contract's own reader
//! (`ehrx_interface::json`): unknown fields are refused, so a misspelt
//! option is an error rather than a silently ignored default, and so are
//! an array where an object goes, a repeated key and a file over
//! `ehrx_interface::limits::MAX_CONFIG_FILE_BYTES`. Relative paths are taken
//! from the configuration file's folder, and every error names the field or
//! file at fault, because an admin reads these errors at start-up and should
//! not have to guess.
//!
//! ```json
//! {
//!   "network_id": "net1",
//!   "network_description": "../.network/net1/network.json",
//!   "identity": { "msp_id": "Net1Org1MSP", "user": "User3" },
//!   "network_key_file": "net1-network.key",
//!   "listen": { "address": "127.0.0.1:9501", "tls_cert": "relay.crt",
//!               "tls_key": "relay.key", "client_ca": "relays-ca.crt" },
//!   "client_tls": { "cert": "relay-client.crt", "key": "relay-client.key" },
//!   "remotes": { "net2": { "address": "127.0.0.1:9601", "tls_ca": "net2-relay-ca.crt",
//!                          "server_name": "relay.net2.example.com" } },
//!   "checkpoint_file": "relay-checkpoint.json",
//!   "health_address": "127.0.0.1:9502",
//!   "retry": { "initial_ms": 500, "max_ms": 30000 },
//!   "max_in_flight": 16
//! }
//! ```

use std::{
    collections::BTreeMap,
    fs,
    net::SocketAddr,
    path::{Path, PathBuf},
    time::Duration,
};

use ed25519_dalek::SigningKey;
use ehrx_interface::json::parse_config;
use serde::Deserialize;

use ehrx_client::ehr::interface::{Key32, rules::is_name};

use super::limit::ChallengeLimit;

/// Why the configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The configuration file could not be read.
    #[error("cannot read relay configuration {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The configuration is not valid JSON of the expected shape.
    #[error("relay configuration {}: {source}", path.display())]
    Parse {
        /// The file (or `<inline>`).
        path: PathBuf,
        /// What the strict reader said: malformed JSON, an array where an
        /// object goes, a repeated key, an unknown field, a wrong type.
        source: ehrx_interface::InterfaceError,
    },
    /// A field has a value that cannot work.
    #[error("relay configuration field `{field}`: {reason}")]
    Invalid {
        /// The field, as a dotted path.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A file a field names could not be read.
    #[error("relay configuration field `{field}`: cannot read {}: {source}", path.display())]
    File {
        /// The field naming the file.
        field: String,
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The network key file does not hold a 32-byte Ed25519 secret in hex.
    #[error("network key file {}: {reason}", path.display())]
    NetworkKey {
        /// The file.
        path: PathBuf,
        /// What is wrong with its contents.
        reason: String,
    },
}

fn default_chaincode() -> String {
    "ehrx".into()
}

fn default_max_in_flight() -> usize {
    16
}

/// The most envelopes a relay keeps past its checkpoint: each may hold a
/// signed reply of up to 16 MiB in memory.
pub const MAX_IN_FLIGHT_LIMIT: usize = 256;

fn default_deliver_timeout_ms() -> u64 {
    // Endorsement, ordering and the commit on the other side, with room.
    90_000
}

/// The relay's configuration.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelayConfig {
    /// This network's id, as the other networks' lookup tables know it.
    pub network_id: String,
    /// This network's `network.json` (see
    /// [`NetworkDescription`](ehrx_client::fabric::NetworkDescription)).
    pub network_description: PathBuf,
    /// The Fabric identity the relay submits and listens as: a registered
    /// relay of this network.
    pub identity: FabricIdentity,
    /// The EHR chaincode's name on the channel.
    #[serde(default = "default_chaincode")]
    pub chaincode: String,
    /// This network's Ed25519 network key: 32 bytes as hex.
    pub network_key_file: PathBuf,
    /// Where the relay takes deliveries from other relays.
    pub listen: ListenConfig,
    /// The client certificate the relay presents to other relays.
    pub client_tls: ClientTlsConfig,
    /// The other networks' relays, by network id.
    #[serde(default)]
    pub remotes: BTreeMap<String, RemoteConfig>,
    /// Where the event checkpoint is kept across restarts.
    pub checkpoint_file: PathBuf,
    /// `host:port` of the HTTP health endpoint.
    pub health_address: SocketAddr,
    /// How long to wait between delivery attempts.
    #[serde(default)]
    pub retry: RetryConfig,
    /// How long one delivery may take, commit on the other side included.
    #[serde(default = "default_deliver_timeout_ms")]
    pub deliver_timeout_ms: u64,
    /// How many envelopes may be past the checkpoint at once: being
    /// delivered (or retried), waiting behind an earlier one of the same
    /// request, or settled behind one that is not yet; 1 delivers one
    /// event at a time, in commit order.
    #[serde(default = "default_max_in_flight")]
    pub max_in_flight: usize,
    /// How many challenges each other relay may ask for (each costs this
    /// network a transaction).
    #[serde(default)]
    pub challenges: ChallengeLimit,
    /// How often to delete the challenges that expired unused
    /// (`PurgeChallenges`), in seconds; 0 never does.
    #[serde(default = "default_challenge_purge_seconds")]
    pub challenge_purge_seconds: u64,
    /// How many challenges of each destination to keep fetched ahead, so
    /// that a delivery need not wait for one (0 to
    /// [`MAX_CHALLENGE_PREFETCH`]; 0 fetches each when needed).
    #[serde(default = "default_challenge_prefetch")]
    pub challenge_prefetch: usize,
}

fn default_challenge_prefetch() -> usize {
    super::prefetch::DEFAULT_DEPTH
}

/// The most challenges kept ahead per destination.
pub const MAX_CHALLENGE_PREFETCH: usize = 64;

fn default_challenge_purge_seconds() -> u64 {
    600
}

/// A user of the network description.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FabricIdentity {
    /// The organisation's MSP id.
    pub msp_id: String,
    /// The user's name in the description, e.g. `User3`.
    pub user: String,
}

/// The relay's gRPC listener.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListenConfig {
    /// `host:port` to listen on.
    pub address: SocketAddr,
    /// The server certificate (PEM).
    pub tls_cert: PathBuf,
    /// The server certificate's key (PEM).
    pub tls_key: PathBuf,
    /// The CA that signs the other relays' client certificates (PEM); a
    /// client without such a certificate is refused in the handshake.
    pub client_ca: PathBuf,
}

/// The relay's own client certificate, for dialling other relays.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientTlsConfig {
    /// The certificate (PEM).
    pub cert: PathBuf,
    /// Its key (PEM).
    pub key: PathBuf,
}

/// Another network's relay.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoteConfig {
    /// `host:port` (or `https://host:port`) of its gRPC listener.
    pub address: String,
    /// The CA its server certificate is checked against (PEM).
    pub tls_ca: PathBuf,
    /// The name its server certificate must carry (a SAN).
    pub server_name: String,
}

/// Exponential back-off between delivery attempts: `initial_ms`, doubled
/// after each failure up to `max_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetryConfig {
    /// The first wait.
    pub initial_ms: u64,
    /// The longest wait.
    pub max_ms: u64,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            initial_ms: 500,
            max_ms: 30_000,
        }
    }
}

impl RetryConfig {
    /// The first wait.
    pub fn initial(&self) -> Duration {
        Duration::from_millis(self.initial_ms)
    }

    /// The longest wait.
    pub fn max(&self) -> Duration {
        Duration::from_millis(self.max_ms)
    }
}

/// The PEM files of the relay's TLS, read once at start-up.
#[derive(Clone)]
pub struct TlsFiles {
    /// The server certificate.
    pub server_cert: Vec<u8>,
    /// The server key.
    pub server_key: Vec<u8>,
    /// The CA of the other relays' client certificates.
    pub client_ca: Vec<u8>,
    /// The relay's client certificate.
    pub client_cert: Vec<u8>,
    /// The relay's client key.
    pub client_key: Vec<u8>,
    /// Each remote's server CA, by network id.
    pub remote_cas: BTreeMap<String, Vec<u8>>,
}

impl std::fmt::Debug for TlsFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Keys stay out of logs.
        f.debug_struct("TlsFiles")
            .field("remotes", &self.remote_cas.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

fn invalid(field: impl Into<String>, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        field: field.into(),
        reason: reason.into(),
    }
}

fn read_field(field: &str, path: &Path) -> Result<Vec<u8>, ConfigError> {
    fs::read(path).map_err(|source| ConfigError::File {
        field: field.to_string(),
        path: path.to_path_buf(),
        source,
    })
}

impl RelayConfig {
    /// Reads and checks a configuration file; relative paths in it are
    /// taken from its folder.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let bytes = fs::read(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let base = path.parent().unwrap_or(Path::new(""));
        Self::parse(&bytes, path, base)
    }

    /// Parses and checks configuration JSON; relative paths are taken from
    /// `base_dir`.
    pub fn from_json(bytes: &[u8], base_dir: &Path) -> Result<Self, ConfigError> {
        Self::parse(bytes, Path::new("<inline>"), base_dir)
    }

    fn parse(bytes: &[u8], path: &Path, base: &Path) -> Result<Self, ConfigError> {
        let mut config: Self =
            parse_config("the configuration", bytes).map_err(|source| ConfigError::Parse {
                path: path.to_path_buf(),
                source,
            })?;
        config.resolve_paths(base);
        config.validate()?;
        Ok(config)
    }

    fn resolve_paths(&mut self, base: &Path) {
        let resolve = |path: &mut PathBuf| {
            if path.is_relative() {
                *path = base.join(&*path);
            }
        };
        resolve(&mut self.network_description);
        resolve(&mut self.network_key_file);
        resolve(&mut self.listen.tls_cert);
        resolve(&mut self.listen.tls_key);
        resolve(&mut self.listen.client_ca);
        resolve(&mut self.client_tls.cert);
        resolve(&mut self.client_tls.key);
        resolve(&mut self.checkpoint_file);
        for remote in self.remotes.values_mut() {
            resolve(&mut remote.tls_ca);
        }
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if !is_name(&self.network_id) {
            return Err(invalid(
                "network_id",
                format!("{:?} is not 1-64 of A-Z a-z 0-9 - . _", self.network_id),
            ));
        }
        if self.identity.msp_id.is_empty() {
            return Err(invalid("identity.msp_id", "must not be empty"));
        }
        if self.identity.user.is_empty() {
            return Err(invalid("identity.user", "must not be empty"));
        }
        if self.chaincode.is_empty() {
            return Err(invalid("chaincode", "must not be empty"));
        }
        for (id, remote) in &self.remotes {
            if !is_name(id) {
                return Err(invalid(
                    format!("remotes.{id}"),
                    "is not a network id (1-64 of A-Z a-z 0-9 - . _)",
                ));
            }
            if *id == self.network_id {
                return Err(invalid(
                    format!("remotes.{id}"),
                    "is this network itself; a relay never delivers to itself",
                ));
            }
            if remote.address.is_empty() {
                return Err(invalid(
                    format!("remotes.{id}.address"),
                    "must not be empty",
                ));
            }
            if remote.server_name.is_empty() {
                return Err(invalid(
                    format!("remotes.{id}.server_name"),
                    "must not be empty",
                ));
            }
        }
        if self.retry.initial_ms == 0 {
            return Err(invalid("retry.initial_ms", "must be at least 1"));
        }
        if self.retry.max_ms < self.retry.initial_ms {
            return Err(invalid(
                "retry.max_ms",
                format!(
                    "{} is below retry.initial_ms ({})",
                    self.retry.max_ms, self.retry.initial_ms
                ),
            ));
        }
        if self.deliver_timeout_ms == 0 {
            return Err(invalid("deliver_timeout_ms", "must be at least 1"));
        }
        if self.challenges.per_minute == 0 {
            return Err(invalid("challenges.per_minute", "must be at least 1"));
        }
        if self.challenges.burst == 0 {
            return Err(invalid("challenges.burst", "must be at least 1"));
        }
        if self.challenge_prefetch > MAX_CHALLENGE_PREFETCH {
            return Err(invalid(
                "challenge_prefetch",
                format!(
                    "{} is more than {MAX_CHALLENGE_PREFETCH}",
                    self.challenge_prefetch
                ),
            ));
        }
        if !(1..=MAX_IN_FLIGHT_LIMIT).contains(&self.max_in_flight) {
            return Err(invalid(
                "max_in_flight",
                format!(
                    "{} is not between 1 and {MAX_IN_FLIGHT_LIMIT}",
                    self.max_in_flight
                ),
            ));
        }
        if self.listen.address == self.health_address {
            return Err(invalid("health_address", "is the same as listen.address"));
        }
        Ok(())
    }

    /// Whether a running relay can take `next` on a reload: it may differ
    /// from this configuration only in `remotes` (networks joining,
    /// leaving or moving) and in `listen.client_ca` (whose relays may
    /// connect). The files both name are read again on each reload, so an
    /// edited CA bundle at the same path counts too. Anything else needs a
    /// restart; the error names the first such field.
    pub fn check_reload(&self, next: &RelayConfig) -> Result<(), ConfigError> {
        let listen = |c: &RelayConfig| {
            (
                c.listen.address,
                c.listen.tls_cert.clone(),
                c.listen.tls_key.clone(),
            )
        };
        let fixed = [
            ("network_id", self.network_id == next.network_id),
            (
                "network_description",
                self.network_description == next.network_description,
            ),
            ("identity", self.identity == next.identity),
            ("chaincode", self.chaincode == next.chaincode),
            (
                "network_key_file",
                self.network_key_file == next.network_key_file,
            ),
            ("listen", listen(self) == listen(next)),
            ("client_tls", self.client_tls == next.client_tls),
            (
                "checkpoint_file",
                self.checkpoint_file == next.checkpoint_file,
            ),
            ("health_address", self.health_address == next.health_address),
            ("retry", self.retry == next.retry),
            ("challenges", self.challenges == next.challenges),
            (
                "challenge_purge_seconds",
                self.challenge_purge_seconds == next.challenge_purge_seconds,
            ),
            (
                "deliver_timeout_ms",
                self.deliver_timeout_ms == next.deliver_timeout_ms,
            ),
            ("max_in_flight", self.max_in_flight == next.max_in_flight),
            (
                "challenge_prefetch",
                self.challenge_prefetch == next.challenge_prefetch,
            ),
        ];
        match fixed.iter().find(|(_, same)| !same) {
            None => Ok(()),
            Some((field, _)) => Err(invalid(
                *field,
                "changed; a reload takes only `remotes` and `listen.client_ca`, \
                 the rest needs a restart",
            )),
        }
    }

    /// How often to purge expired challenges, if at all.
    pub fn challenge_purge_interval(&self) -> Option<Duration> {
        (self.challenge_purge_seconds > 0)
            .then(|| Duration::from_secs(self.challenge_purge_seconds))
    }

    /// How long one delivery may take.
    pub fn deliver_timeout(&self) -> Duration {
        Duration::from_millis(self.deliver_timeout_ms)
    }

    /// Reads the network key file: 32 bytes as hex (surrounding white
    /// space allowed).
    pub fn network_key(&self) -> Result<SigningKey, ConfigError> {
        let path = &self.network_key_file;
        let bad = |reason: String| ConfigError::NetworkKey {
            path: path.clone(),
            reason,
        };
        let text = fs::read_to_string(path).map_err(|source| ConfigError::File {
            field: "network_key_file".into(),
            path: path.clone(),
            source,
        })?;
        let secret = Key32::parse(text.trim()).map_err(|e| bad(format!("the key {e}")))?;
        Ok(SigningKey::from_bytes(secret.bytes()))
    }

    /// Reads every PEM file of the relay's TLS.
    pub fn tls_files(&self) -> Result<TlsFiles, ConfigError> {
        let remote_cas = self
            .remotes
            .iter()
            .map(|(id, remote)| {
                read_field(&format!("remotes.{id}.tls_ca"), &remote.tls_ca)
                    .map(|pem| (id.clone(), pem))
            })
            .collect::<Result<_, _>>()?;
        Ok(TlsFiles {
            server_cert: read_field("listen.tls_cert", &self.listen.tls_cert)?,
            server_key: read_field("listen.tls_key", &self.listen.tls_key)?,
            client_ca: read_field("listen.client_ca", &self.listen.client_ca)?,
            client_cert: read_field("client_tls.cert", &self.client_tls.cert)?,
            client_key: read_field("client_tls.key", &self.client_tls.key)?,
            remote_cas,
        })
    }
}

impl From<RetryConfig> for crate::backoff::Backoff {
    fn from(config: RetryConfig) -> Self {
        Self::new(config.initial(), config.max())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"{
      "network_id": "net1",
      "network_description": "net/network.json",
      "identity": {"msp_id": "Net1Org1MSP", "user": "User3"},
      "network_key_file": "net1.key",
      "listen": {"address": "127.0.0.1:9501", "tls_cert": "s.crt", "tls_key": "s.key",
                 "client_ca": "/etc/relays-ca.crt"},
      "client_tls": {"cert": "c.crt", "key": "c.key"},
      "remotes": {"net2": {"address": "127.0.0.1:9601", "tls_ca": "net2.crt",
                           "server_name": "relay.net2"}},
      "checkpoint_file": "checkpoint.json",
      "health_address": "127.0.0.1:9502"
    }"#;

    fn parse(json: &str) -> Result<RelayConfig, ConfigError> {
        RelayConfig::from_json(json.as_bytes(), Path::new("/srv/relay"))
    }

    fn edited(edit: impl FnOnce(&mut serde_json::Value)) -> String {
        let mut value: serde_json::Value = serde_json::from_str(MINIMAL).unwrap();
        edit(&mut value);
        value.to_string()
    }

    fn field_of(error: &ConfigError) -> &str {
        match error {
            ConfigError::Invalid { field, .. } | ConfigError::File { field, .. } => field,
            other => panic!("not a field error: {other}"),
        }
    }

    #[test]
    fn a_minimal_configuration_gets_defaults_and_resolved_paths() {
        let config = parse(MINIMAL).unwrap();
        assert_eq!(config.chaincode, "ehrx");
        assert_eq!(config.retry, RetryConfig::default());
        assert_eq!(config.deliver_timeout(), Duration::from_secs(90));
        assert_eq!(config.max_in_flight, 16);
        assert_eq!(config.challenge_prefetch, 16);
        assert_eq!(
            config.network_description,
            PathBuf::from("/srv/relay/net/network.json")
        );
        // Absolute paths stay as they are.
        assert_eq!(config.listen.client_ca, PathBuf::from("/etc/relays-ca.crt"));
        assert_eq!(
            config.remotes["net2"].tls_ca,
            PathBuf::from("/srv/relay/net2.crt")
        );
        assert_eq!(config.health_address.port(), 9502);
    }

    #[test]
    fn a_reload_may_change_only_the_remotes_and_the_client_ca() {
        let current = parse(MINIMAL).unwrap();
        let joined = parse(&edited(|v| {
            v["remotes"]["net3"] = serde_json::json!({"address": "127.0.0.1:9701",
                "tls_ca": "net3-ca.crt", "server_name": "relay.net3.example.com"});
            v["listen"]["client_ca"] = "relays-and-net3-ca.crt".into();
        }))
        .unwrap();
        current.check_reload(&joined).unwrap();
        for (field, edit) in [
            ("network_id", edited(|v| v["network_id"] = "netX".into())),
            (
                "listen",
                edited(|v| v["listen"]["address"] = "127.0.0.1:1".into()),
            ),
            (
                "listen",
                edited(|v| v["listen"]["tls_key"] = "other.key".into()),
            ),
            (
                "identity",
                edited(|v| v["identity"]["user"] = "User9".into()),
            ),
            (
                "retry",
                edited(|v| v["retry"] = serde_json::json!({"initial_ms": 1, "max_ms": 2})),
            ),
            (
                "checkpoint_file",
                edited(|v| v["checkpoint_file"] = "elsewhere.json".into()),
            ),
            ("max_in_flight", edited(|v| v["max_in_flight"] = 4.into())),
            (
                "challenge_prefetch",
                edited(|v| v["challenge_prefetch"] = 0.into()),
            ),
        ] {
            let error = current.check_reload(&parse(&edit).unwrap()).unwrap_err();
            assert!(error.to_string().contains(&format!("`{field}`")), "{error}");
        }
    }

    #[test]
    fn an_unknown_field_is_refused_with_its_name() {
        let json = edited(|v| v["retry"] = serde_json::json!({"initial_ms": 5, "maxms": 9}));
        let error = parse(&json).unwrap_err();
        assert!(matches!(error, ConfigError::Parse { .. }));
        assert!(error.to_string().contains("maxms"), "{error}");

        let json = edited(|v| v["chain_code"] = "x".into());
        assert!(parse(&json).unwrap_err().to_string().contains("chain_code"));
    }

    #[test]
    fn hostile_json_is_refused_by_the_strict_reader() {
        use ehrx_interface::ErrorCode;
        let code = |json: &str| match parse(json) {
            Err(ConfigError::Parse { source, .. }) => source.code(),
            other => panic!("{other:?}"),
        };
        // An array where an object goes, at the top and nested.
        assert_eq!(code("[1, 2]"), ErrorCode::NotAnObject);
        let retry = edited(|v| v["retry"] = serde_json::json!([200, 5000]));
        assert_eq!(code(&retry), ErrorCode::BadArgument, "{retry}");
        assert!(parse(&retry).unwrap_err().to_string().contains("retry"));
        let identity = edited(|v| v["identity"] = serde_json::json!(["Net1Org1MSP", "User3"]));
        assert_eq!(code(&identity), ErrorCode::BadArgument, "{identity}");
        // A repeated key, at the top or inside.
        let twice = MINIMAL.replacen(
            r#""network_id": "net1","#,
            r#""network_id": "net1", "network_id": "net9","#,
            1,
        );
        assert_eq!(code(&twice), ErrorCode::DuplicateKey);
        let inner = MINIMAL.replacen(r#""user": "User3""#, r#""user": "User3", "user": "x""#, 1);
        assert_eq!(code(&inner), ErrorCode::DuplicateKey);
        // Deep nesting and an oversized file: bounded errors.
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert_eq!(code(&deep), ErrorCode::TooDeep);
        let huge = edited(|v| {
            v["network_id"] = "n"
                .repeat(ehrx_interface::limits::MAX_CONFIG_FILE_BYTES)
                .into()
        });
        assert_eq!(code(&huge), ErrorCode::TooLarge);
        assert!(parse(&huge).unwrap_err().to_string().len() < 400);
        // NUL bytes inside a string are text; in a name they fail its rule.
        let nul = edited(|v| v["network_id"] = "net\u{0}1".into());
        assert!(parse(&nul).is_err());
    }

    #[test]
    fn a_missing_field_is_named() {
        let json = edited(|v| {
            v.as_object_mut().unwrap().remove("checkpoint_file");
        });
        let error = parse(&json).unwrap_err();
        assert!(error.to_string().contains("checkpoint_file"), "{error}");
    }

    #[test]
    fn a_bad_address_is_named() {
        let json = edited(|v| v["listen"]["address"] = "localhost".into());
        let error = parse(&json).unwrap_err();
        assert!(error.to_string().contains("socket address"), "{error}");
        let json = edited(|v| v["health_address"] = v["listen"]["address"].clone());
        assert_eq!(field_of(&parse(&json).unwrap_err()), "health_address");
    }

    #[test]
    fn invalid_values_name_their_field() {
        type Edit = Box<dyn Fn(&mut serde_json::Value)>;
        let cases: Vec<(&str, Edit)> = vec![
            ("network_id", Box::new(|v| v["network_id"] = "net 1".into())),
            (
                "identity.user",
                Box::new(|v| v["identity"]["user"] = "".into()),
            ),
            ("chaincode", Box::new(|v| v["chaincode"] = "".into())),
            (
                "remotes.net1",
                Box::new(|v| v["remotes"]["net1"] = v["remotes"]["net2"].clone()),
            ),
            (
                "remotes.net2.server_name",
                Box::new(|v| v["remotes"]["net2"]["server_name"] = "".into()),
            ),
            (
                "retry.max_ms",
                Box::new(|v| v["retry"] = serde_json::json!({"initial_ms": 10, "max_ms": 5})),
            ),
            (
                "retry.initial_ms",
                Box::new(|v| v["retry"] = serde_json::json!({"initial_ms": 0, "max_ms": 5})),
            ),
            (
                "deliver_timeout_ms",
                Box::new(|v| v["deliver_timeout_ms"] = 0.into()),
            ),
            ("max_in_flight", Box::new(|v| v["max_in_flight"] = 0.into())),
            (
                "max_in_flight",
                Box::new(|v| v["max_in_flight"] = (MAX_IN_FLIGHT_LIMIT + 1).into()),
            ),
            (
                "challenge_prefetch",
                Box::new(|v| v["challenge_prefetch"] = (MAX_CHALLENGE_PREFETCH + 1).into()),
            ),
        ];
        for (field, edit) in cases {
            let json = edited(|v| edit(v));
            let error = parse(&json).unwrap_err();
            assert_eq!(field_of(&error), field, "{error}");
            assert!(error.to_string().contains(field), "{error}");
        }
    }

    #[test]
    fn a_missing_configuration_file_is_named() {
        let error = RelayConfig::load(Path::new("/nonexistent/relay.json")).unwrap_err();
        assert!(matches!(error, ConfigError::Read { .. }));
        assert!(error.to_string().contains("/nonexistent/relay.json"));
    }

    #[test]
    fn the_network_key_is_32_hex_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let json = MINIMAL.replace("net1.key", "key.hex");
        let config = RelayConfig::from_json(json.as_bytes(), dir.path()).unwrap();
        let path = dir.path().join("key.hex");

        assert_eq!(
            field_of(&config.network_key().unwrap_err()),
            "network_key_file"
        );

        fs::write(&path, format!("{}\n", hex::encode([7u8; 32]))).unwrap();
        let key = config.network_key().unwrap();
        assert_eq!(key.to_bytes(), [7u8; 32]);

        fs::write(&path, hex::encode([7u8; 31])).unwrap();
        let error = config.network_key().unwrap_err();
        assert!(
            error.to_string().contains("62 bytes long, expected 64"),
            "{error}"
        );
        fs::write(&path, "zz").unwrap();
        let error = config.network_key().unwrap_err();
        assert!(matches!(error, ConfigError::NetworkKey { .. }));
        assert!(error.to_string().contains("is 2 bytes long"), "{error}");
    }

    #[test]
    fn a_missing_tls_file_names_its_field_and_path() {
        let dir = tempfile::tempdir().unwrap();
        let config = RelayConfig::from_json(MINIMAL.as_bytes(), dir.path()).unwrap();
        for name in ["s.crt", "s.key", "c.crt", "c.key", "net2.crt"] {
            fs::write(dir.path().join(name), b"PEM").unwrap();
        }
        // Only the client CA (an absolute path elsewhere) is missing.
        let error = config.tls_files().unwrap_err();
        assert_eq!(field_of(&error), "listen.client_ca");
        assert!(error.to_string().contains("/etc/relays-ca.crt"), "{error}");

        let json = MINIMAL.replace("/etc/relays-ca.crt", "ca.crt");
        let config = RelayConfig::from_json(json.as_bytes(), dir.path()).unwrap();
        fs::write(dir.path().join("ca.crt"), b"CA").unwrap();
        let files = config.tls_files().unwrap();
        assert_eq!(files.client_ca, b"CA");
        assert_eq!(files.remote_cas["net2"], b"PEM");
        assert!(!format!("{files:?}").contains("PEM"));
    }
}
