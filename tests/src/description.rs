//! The JSON description that `scripts/network.sh up` writes for each network
//! to `.network/<name>/network.json`.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct NetworkDescription {
    pub name: String,
    pub title: String,
    pub channel: String,
    pub fabric_version: String,
    pub orderers: Vec<Orderer>,
    pub organizations: Vec<Organization>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Orderer {
    pub name: String,
    pub msp_id: String,
    pub address: String,
    pub server_name: String,
    pub admin_address: String,
    pub operations_address: String,
    pub tls_ca_cert: PathBuf,
    pub admin_tls_cert: PathBuf,
    pub admin_tls_key: PathBuf,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Organization {
    pub name: String,
    pub msp_id: String,
    pub domain: String,
    pub msp_dir: PathBuf,
    pub ca_cert: PathBuf,
    pub tls_ca_cert: PathBuf,
    pub peers: Vec<Peer>,
    pub users: Vec<User>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Peer {
    pub name: String,
    pub address: String,
    pub server_name: String,
    pub chaincode_address: String,
    pub operations_address: String,
    pub tls_ca_cert: PathBuf,
}

#[derive(Debug, Clone, Deserialize)]
pub struct User {
    pub name: String,
    pub role: String,
    pub key_type: String,
    pub msp_dir: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
    pub tls_cert: PathBuf,
    pub tls_key: PathBuf,
}

impl NetworkDescription {
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        serde_json::from_slice(&bytes).with_context(|| format!("parsing {}", path.display()))
    }

    /// Every peer with the organisation it belongs to.
    pub fn peers(&self) -> impl Iterator<Item = (&Organization, &Peer)> {
        self.organizations
            .iter()
            .flat_map(|org| org.peers.iter().map(move |peer| (org, peer)))
    }
}

impl Organization {
    pub fn admin(&self) -> anyhow::Result<&User> {
        self.users
            .iter()
            .find(|u| u.role == "admin")
            .with_context(|| format!("organisation {} has no admin user", self.name))
    }
}
