//! Standard Fabric connection profiles (the JSON form of the common
//! connection profile that Fabric's SDKs and samples write), read as far as
//! a gateway client needs them: organisations, their peers, the peers' URLs,
//! TLS CAs and server-name overrides. Other sections are ignored.

use std::{
    collections::BTreeMap,
    fs,
    path::{Path, PathBuf},
};

use serde::{Deserialize, de::DeserializeOwned};

use crate::connection::ConnectionBuilder;

/// A JSON document (a connection profile, or an application's own
/// description of its network) that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    /// The file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The JSON does not have the expected shape.
    #[error("{what}: {source}")]
    Json {
        /// Which document: its path, or what it is.
        what: String,
        /// What the parser said.
        source: serde_json::Error,
    },
}

/// Reads a file whole, naming it in the error.
pub fn read_document(path: &Path) -> Result<Vec<u8>, DocumentError> {
    fs::read(path).map_err(|source| DocumentError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Parses JSON into `T`; `what` names the document in the error.
pub fn parse_document<T: DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T, DocumentError> {
    serde_json::from_slice(bytes).map_err(|source| DocumentError::Json {
        what: what.to_string(),
        source,
    })
}

/// Why a connection profile could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// The profile, or a file it names, could not be read or parsed.
    #[error(transparent)]
    Document(#[from] DocumentError),
    /// No peer of that name.
    #[error("no peer named {0}")]
    UnknownPeer(String),
    /// No organisation with that name or MSP id.
    #[error("no organisation {0}")]
    UnknownOrganization(String),
    /// A TLS peer without a CA to check it against.
    #[error("peer {0} uses TLS but names no TLS CA certificate")]
    NoTlsCa(String),
}

/// A Fabric connection profile (the JSON form of the common connection
/// profile that Fabric's SDKs and samples use). Only what a gateway client
/// needs is read; other sections are ignored.
#[derive(Debug, Clone, Deserialize)]
pub struct ConnectionProfile {
    /// The profile's name.
    #[serde(default)]
    pub name: String,
    /// The client section: which organisation the application belongs to.
    #[serde(default)]
    pub client: Option<ProfileClient>,
    /// Organisations by name.
    #[serde(default)]
    pub organizations: BTreeMap<String, ProfileOrganization>,
    /// Peers by name.
    #[serde(default)]
    pub peers: BTreeMap<String, ProfilePeer>,
    /// Where relative paths in the profile start from.
    #[serde(skip)]
    base_dir: PathBuf,
}

/// The profile's `client` section.
#[derive(Debug, Clone, Deserialize)]
pub struct ProfileClient {
    /// The application's organisation.
    pub organization: String,
}

/// An organisation of a profile.
#[derive(Debug, Clone, Deserialize)]
pub struct ProfileOrganization {
    /// Its MSP id.
    pub mspid: String,
    /// The names of its peers.
    #[serde(default)]
    pub peers: Vec<String>,
}

/// A peer of a profile.
#[derive(Debug, Clone, Deserialize)]
pub struct ProfilePeer {
    /// `grpcs://host:port` (or `grpc://`).
    pub url: String,
    /// Its TLS CA certificate.
    #[serde(rename = "tlsCACerts", default)]
    pub tls_ca_certs: Option<TlsCaCerts>,
    /// gRPC settings; only the server-name overrides are used.
    #[serde(rename = "grpcOptions", default)]
    pub grpc_options: BTreeMap<String, serde_json::Value>,
}

/// A TLS CA given inline or by file.
#[derive(Debug, Clone, Deserialize)]
pub struct TlsCaCerts {
    /// Inline PEM.
    #[serde(default)]
    pub pem: Option<String>,
    /// A PEM file, relative to the profile's folder unless absolute.
    #[serde(default)]
    pub path: Option<PathBuf>,
}

impl ConnectionProfile {
    /// Reads a profile file; relative paths in it are taken from its folder.
    pub fn load(path: &Path) -> Result<Self, ProfileError> {
        let base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let mut profile: Self = parse_document(&read_document(path)?, &path.display().to_string())?;
        profile.base_dir = base_dir;
        Ok(profile)
    }

    /// Parses profile JSON; relative paths are taken from `base_dir`.
    pub fn from_json(bytes: &[u8], base_dir: impl Into<PathBuf>) -> Result<Self, ProfileError> {
        let mut profile: Self = parse_document(bytes, "connection profile")?;
        profile.base_dir = base_dir.into();
        Ok(profile)
    }

    /// The organisation with this name or MSP id.
    pub fn organization(&self, name_or_msp_id: &str) -> Result<&ProfileOrganization, ProfileError> {
        self.organizations
            .get(name_or_msp_id)
            .or_else(|| {
                self.organizations
                    .values()
                    .find(|org| org.mspid == name_or_msp_id)
            })
            .ok_or_else(|| ProfileError::UnknownOrganization(name_or_msp_id.to_string()))
    }

    /// A connection to the named peer: its URL, its TLS CA, and the
    /// `ssl-target-name-override` (or `hostnameOverride`) as server name.
    pub fn peer_connection(&self, name: &str) -> Result<ConnectionBuilder, ProfileError> {
        let peer = self
            .peers
            .get(name)
            .ok_or_else(|| ProfileError::UnknownPeer(name.to_string()))?;
        let mut connection = ConnectionBuilder::new(peer.url.clone());
        let server_name = ["ssl-target-name-override", "hostnameOverride"]
            .iter()
            .find_map(|key| peer.grpc_options.get(*key).and_then(|v| v.as_str()));
        if let Some(server_name) = server_name {
            connection = connection.server_name(server_name);
        }
        if peer.url.starts_with("grpc://") {
            return Ok(connection);
        }
        let ca = match &peer.tls_ca_certs {
            Some(TlsCaCerts { pem: Some(pem), .. }) => pem.clone().into_bytes(),
            Some(TlsCaCerts {
                path: Some(path), ..
            }) => read_document(&self.base_dir.join(path))?,
            _ => return Err(ProfileError::NoTlsCa(name.to_string())),
        };
        Ok(connection.tls_ca_pem(ca))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROFILE: &str = r#"{
      "name": "test-network-org1", "version": "1.0.0",
      "client": {"organization": "Org1", "connection": {"timeout": {"peer": {"endorser": "300"}}}},
      "organizations": {"Org1": {"mspid": "Org1MSP", "peers": ["peer0.org1.example.com"],
        "certificateAuthorities": ["ca.org1.example.com"]}},
      "peers": {
        "peer0.org1.example.com": {"url": "grpcs://localhost:7051",
          "tlsCACerts": {"pem": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"},
          "grpcOptions": {"ssl-target-name-override": "peer0.org1.example.com",
                          "hostnameOverride": "peer0.org1.example.com"}},
        "peer1.org1.example.com": {"url": "grpcs://localhost:8051",
          "tlsCACerts": {"path": "tls/ca.pem"}},
        "plain": {"url": "grpc://localhost:9051"},
        "no-ca": {"url": "grpcs://localhost:9151"}
      },
      "certificateAuthorities": {"ca.org1.example.com": {"url": "https://localhost:7054"}}
    }"#;

    #[test]
    fn connection_profile_parses_and_yields_connections() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("tls")).unwrap();
        fs::write(dir.path().join("tls/ca.pem"), b"PEM").unwrap();
        let path = dir.path().join("connection-org1.json");
        fs::write(&path, PROFILE).unwrap();
        let profile = ConnectionProfile::load(&path).unwrap();

        assert_eq!(profile.client.as_ref().unwrap().organization, "Org1");
        let org = profile.organization("Org1MSP").unwrap();
        assert_eq!(org.peers, vec!["peer0.org1.example.com"]);

        let peer0 = profile.peer_connection("peer0.org1.example.com").unwrap();
        assert_eq!(peer0.uri(), "https://localhost:7051");
        assert!(format!("{peer0:?}").contains("server_name: Some(\"peer0.org1.example.com\")"));
        let peer1 = profile.peer_connection("peer1.org1.example.com").unwrap();
        assert_eq!(peer1.uri(), "https://localhost:8051");
        assert_eq!(
            profile.peer_connection("plain").unwrap().uri(),
            "http://localhost:9051"
        );
        assert!(matches!(
            profile.peer_connection("no-ca"),
            Err(ProfileError::NoTlsCa(_))
        ));
        assert!(matches!(
            profile.peer_connection("peer9"),
            Err(ProfileError::UnknownPeer(_))
        ));
    }
}
