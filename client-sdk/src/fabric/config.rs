//! Where the peers are and who may sign: read from the JSON description that
//! `scripts/network.sh up` writes (`.network/<net>/network.json`), and turned
//! into
//! [`ConnectionBuilder`]s and [`SigningIdentity`]s, so applications never
//! assemble addresses, CAs and server names by hand.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use hlf_gateway::{
    ConnectionBuilder, DocumentError, IdentityError, SigningIdentity, parse_document, read_document,
};

/// Why a configuration could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The description could not be read or parsed.
    #[error(transparent)]
    Document(#[from] DocumentError),
    /// No organisation with that name or MSP id.
    #[error("no organisation {0}")]
    UnknownOrganization(String),
    /// No user of that name in the organisation.
    #[error("organisation {organization} has no user {user}")]
    UnknownUser {
        /// The organisation.
        organization: String,
        /// The user asked for.
        user: String,
    },
    /// An Ed25519 user on a channel whose capability predates Ed25519 MSP
    /// identities: its peers could not even parse the signature.
    #[error(
        "user {user} of {organization} has an Ed25519 key, which needs the V3_0 channel capability \
         (Fabric 3); this network's channel has {capability}: use an ECDSA (p256) user"
    )]
    Ed25519NeedsV3 {
        /// The organisation.
        organization: String,
        /// The user asked for.
        user: String,
        /// The channel's capability, e.g. `V2_0`.
        capability: String,
    },
    /// A credential failed to load.
    #[error(transparent)]
    Identity(#[from] IdentityError),
}

/// The description of one local test network.
#[derive(Debug, Clone, Deserialize)]
pub struct NetworkDescription {
    /// Short name, e.g. `net1`.
    pub name: String,
    /// Human title.
    pub title: String,
    /// The application channel.
    pub channel: String,
    /// Fabric release running the network.
    pub fabric_version: String,
    /// The channel capability, `V3_0` (Fabric 3) or `V2_0` (2.5 LTS); it
    /// decides whether Ed25519 identities and BFT ordering are available.
    pub channel_capability: String,
    /// `raft` or `bft`.
    pub orderer_type: String,
    /// Ordering nodes: one for Raft, four for BFT.
    pub orderers: Vec<Orderer>,
    /// Peer organisations.
    pub organizations: Vec<Organization>,
}

/// An ordering node.
#[derive(Debug, Clone, Deserialize)]
pub struct Orderer {
    /// Host name.
    pub name: String,
    /// MSP id of the orderer organisation.
    pub msp_id: String,
    /// `host:port` of the orderer service.
    pub address: String,
    /// Name on its TLS certificate.
    pub server_name: String,
    /// `host:port` of the channel participation API.
    pub admin_address: String,
    /// `host:port` of the operations service.
    pub operations_address: String,
    /// TLS CA certificate.
    pub tls_ca_cert: PathBuf,
    /// Admin client TLS certificate.
    pub admin_tls_cert: PathBuf,
    /// Admin client TLS key.
    pub admin_tls_key: PathBuf,
}

/// A peer organisation.
#[derive(Debug, Clone, Deserialize)]
pub struct Organization {
    /// Name, e.g. `Org1`.
    pub name: String,
    /// MSP id, e.g. `Net1Org1MSP`.
    pub msp_id: String,
    /// DNS domain of its nodes.
    pub domain: String,
    /// Its MSP folder.
    pub msp_dir: PathBuf,
    /// Its signing CA certificate.
    pub ca_cert: PathBuf,
    /// Its TLS CA certificate.
    pub tls_ca_cert: PathBuf,
    /// Its peers.
    pub peers: Vec<Peer>,
    /// Its admin and client users.
    pub users: Vec<User>,
    /// Copied from the network at load time, so that the org can refuse an
    /// identity its channel cannot verify.
    #[serde(skip)]
    channel_capability: String,
}

/// A peer.
#[derive(Debug, Clone, Deserialize)]
pub struct Peer {
    /// Host name.
    pub name: String,
    /// `host:port` of the peer (and gateway) service.
    pub address: String,
    /// Name on its TLS certificate.
    pub server_name: String,
    /// `host:port` of its chaincode listener.
    pub chaincode_address: String,
    /// `host:port` of its operations service.
    pub operations_address: String,
    /// TLS CA certificate.
    pub tls_ca_cert: PathBuf,
}

/// A user's credentials.
#[derive(Debug, Clone, Deserialize)]
pub struct User {
    /// Name, e.g. `User1`.
    pub name: String,
    /// `admin` or `client`.
    pub role: String,
    /// `p256` or `ed25519`.
    pub key_type: String,
    /// Its MSP folder.
    pub msp_dir: PathBuf,
    /// Its signing certificate.
    pub cert: PathBuf,
    /// Its signing key.
    pub key: PathBuf,
    /// Its TLS client certificate.
    pub tls_cert: PathBuf,
    /// Its TLS client key.
    pub tls_key: PathBuf,
}

impl NetworkDescription {
    /// Reads `network.json`.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        Self::parse(&read_document(path)?, &path.display().to_string())
    }

    /// Parses the JSON text of a description.
    pub fn from_json(bytes: &[u8]) -> Result<Self, ConfigError> {
        Self::parse(bytes, "network description")
    }

    fn parse(bytes: &[u8], what: &str) -> Result<Self, ConfigError> {
        let mut description: Self = parse_document(bytes, what)?;
        for org in &mut description.organizations {
            org.channel_capability = description.channel_capability.clone();
        }
        Ok(description)
    }

    /// The organisation with this name or MSP id.
    pub fn organization(&self, name_or_msp_id: &str) -> Result<&Organization, ConfigError> {
        self.organizations
            .iter()
            .find(|org| org.name == name_or_msp_id || org.msp_id == name_or_msp_id)
            .ok_or_else(|| ConfigError::UnknownOrganization(name_or_msp_id.to_string()))
    }

    /// Every peer with its organisation.
    pub fn peers(&self) -> impl Iterator<Item = (&Organization, &Peer)> {
        self.organizations
            .iter()
            .flat_map(|org| org.peers.iter().map(move |peer| (org, peer)))
    }
}

impl Organization {
    /// The user of this name.
    pub fn user(&self, name: &str) -> Result<&User, ConfigError> {
        self.users
            .iter()
            .find(|user| user.name == name)
            .ok_or_else(|| ConfigError::UnknownUser {
                organization: self.name.clone(),
                user: name.to_string(),
            })
    }

    /// The signing identity of one of its users. An Ed25519 user on a
    /// channel without the V3_0 capability is refused here, with the
    /// capability named, rather than by the peers with "access denied".
    pub fn signing_identity(&self, user: &str) -> Result<SigningIdentity, ConfigError> {
        let user = self.user(user)?;
        if user.key_type == "ed25519" && self.channel_capability != "V3_0" {
            return Err(ConfigError::Ed25519NeedsV3 {
                organization: self.name.clone(),
                user: user.name.clone(),
                capability: self.channel_capability.clone(),
            });
        }
        Ok(SigningIdentity::from_pem_files(
            self.msp_id.clone(),
            &user.cert,
            &user.key,
        )?)
    }
}

impl Peer {
    /// A TLS connection to this peer, checked against its TLS CA and name.
    pub fn connection(&self) -> Result<ConnectionBuilder, ConfigError> {
        Ok(ConnectionBuilder::new(self.address.clone())
            .tls_ca_pem(read_document(&self.tls_ca_cert)?)
            .server_name(self.server_name.clone()))
    }
}

impl User {
    /// Adds this user's TLS client certificate to a connection (mutual TLS).
    pub fn client_tls(
        &self,
        connection: ConnectionBuilder,
    ) -> Result<ConnectionBuilder, ConfigError> {
        Ok(connection.client_tls(
            read_document(&self.tls_cert)?,
            read_document(&self.tls_key)?,
        ))
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;

    /// As `scripts/network.sh` writes it (paths shortened).
    const NETWORK_JSON: &str = r#"{
      "name": "net1", "title": "network I", "channel": "ehrchannel", "fabric_version": "3.1.5",
      "channel_capability": "V3_0", "orderer_type": "raft",
      "orderers": [{"name": "orderer.net1.example.com", "msp_id": "Net1OrdererMSP",
        "address": "127.0.0.1:7050", "server_name": "orderer.net1.example.com",
        "admin_address": "127.0.0.1:7053", "operations_address": "127.0.0.1:7443",
        "tls_ca_cert": "/n/orderer/tls/ca.crt", "admin_tls_cert": "/n/admin/tls/client.crt",
        "admin_tls_key": "/n/admin/tls/client.key"}],
      "organizations": [{"name": "Org1", "msp_id": "Net1Org1MSP", "domain": "org1.net1.example.com",
        "msp_dir": "/n/org1/msp", "ca_cert": "/n/org1/ca/ca-cert.pem", "tls_ca_cert": "TLSCA",
        "peers": [{"name": "peer0.org1.net1.example.com", "address": "127.0.0.1:7051",
          "server_name": "peer0.org1.net1.example.com", "chaincode_address": "127.0.0.1:7052",
          "operations_address": "127.0.0.1:7444", "tls_ca_cert": "TLSCA"}],
        "users": [{"name": "Admin", "role": "admin", "key_type": "p256", "msp_dir": "/n/admin/msp",
          "cert": "/n/admin/msp/signcerts/cert.pem", "key": "/n/admin/msp/keystore/priv_sk",
          "tls_cert": "/n/admin/tls/client.crt", "tls_key": "/n/admin/tls/client.key"},
          {"name": "User1", "role": "client", "key_type": "ed25519", "msp_dir": "/n/u1/msp",
          "cert": "/n/u1/msp/signcerts/cert.pem", "key": "/n/u1/msp/keystore/priv_sk",
          "tls_cert": "/n/u1/tls/client.crt", "tls_key": "/n/u1/tls/client.key"}]}]
    }"#;

    #[test]
    fn network_description_parses_and_yields_connections() {
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca.crt");
        fs::write(&ca, b"PEM").unwrap();
        let json = NETWORK_JSON.replace("TLSCA", ca.to_str().unwrap());
        let path = dir.path().join("network.json");
        fs::write(&path, json).unwrap();

        let network = NetworkDescription::load(&path).unwrap();
        assert_eq!(network.channel, "ehrchannel");
        assert_eq!(network.orderers[0].address, "127.0.0.1:7050");
        let org = network.organization("Net1Org1MSP").unwrap();
        assert_eq!(org.name, "Org1");
        assert_eq!(network.organization("Org1").unwrap().msp_id, "Net1Org1MSP");
        assert_eq!(org.user("User1").unwrap().key_type, "ed25519");
        assert!(matches!(
            org.user("User9"),
            Err(ConfigError::UnknownUser { .. })
        ));
        let (_, peer) = network.peers().next().unwrap();
        assert_eq!(peer.connection().unwrap().uri(), "https://127.0.0.1:7051");
        // Missing credential files are reported with their path.
        assert!(matches!(
            org.signing_identity("Admin"),
            Err(ConfigError::Identity(IdentityError::Io { .. }))
        ));
        // On V3_0 the Ed25519 user gets as far as its files.
        assert!(matches!(
            org.signing_identity("User1"),
            Err(ConfigError::Identity(IdentityError::Io { .. }))
        ));
    }

    #[test]
    fn an_ed25519_user_on_a_v2_channel_is_refused_naming_the_capability() {
        let json = NETWORK_JSON.replace("\"V3_0\"", "\"V2_0\"");
        let network = NetworkDescription::from_json(json.as_bytes()).unwrap();
        let org = network.organization("Org1").unwrap();
        let err = org.signing_identity("User1").unwrap_err();
        assert!(
            matches!(&err, ConfigError::Ed25519NeedsV3 { capability, .. } if capability == "V2_0")
        );
        assert!(err.to_string().contains("V3_0"), "{err}");
        // An ECDSA user of the same org is not affected.
        assert!(matches!(
            org.signing_identity("Admin"),
            Err(ConfigError::Identity(IdentityError::Io { .. }))
        ));
    }

    #[test]
    fn a_malformed_description_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("network.json");
        fs::write(&path, br#"{"name": "net1"}"#).unwrap();
        let error = NetworkDescription::load(&path).unwrap_err();
        assert!(error.to_string().contains("network.json"), "{error}");
    }
}
