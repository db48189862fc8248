//! The EHR exchange API that hospital applications embed, on top of the
//! [`fabric`](crate::fabric) gateway client (which never imports it).
//!
//! An [`EhrClient`] is one user of one network's EHR contract. The modules
//! follow an exchange in the order the data flows:
//! [`patient`] (who, as a keyed `patient_ref`), [`records`]
//! (`upload_record`), [`requests`] (`request_history`), [`keys`] (the
//! requester's key, reply keys and their [`KeyStore`]), [`replies`] (`read_reply`: decrypt and verify),
//! [`render`] (a clinical summary in text or HTML, in IPS order with a
//! provenance banner, and an IPS document Bundle). [`admin`] wraps the
//! registry functions, [`consent`] patients' consents and the accounting
//! of disclosures, [`synthetic`] makes test patients, and
//! [`interface`] is the one place that names the contract's functions,
//! events and JSON fields.

pub mod admin;
pub mod consent;
pub mod error;
pub mod interface;
pub mod keys;
pub mod patient;
mod peer_lag;
pub mod records;
pub mod render;
pub mod replies;
pub mod requests;
pub mod synthetic;
mod turns;

use std::sync::Arc;

pub use admin::{Admin, member_identity};
pub use consent::{Disclosure, Disclosures};
pub use error::Error;
pub use interface::{ErrorCode, RequestEntry, RequestStatus};
pub use keys::{FileKeyStore, InMemoryKeyStore, KeyStore, KeyStoreError, ReplyKey, RequesterKey};
pub use patient::{MatchingKey, PatientError, PatientIdentifiers, PatientRef};
pub use records::{EhrRecord, RecordError, UploadedRecord};
pub use render::{ClinicalSummary, IpsError, Provenance, failure_html, ips_document};
pub use replies::{ReceivedRecord, ReplyError, VerifiedReply};
pub use requests::{HistoryOutcome, HistoryRequest, PendingRequest, RequestedHistory};

use crate::fabric::{Contract, Gateway, Network, NetworkDescription, SigningIdentity};

/// Where the EHR contract is and which network it serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EhrSettings {
    /// This network's id in the consortium's lookup tables (the `network_id`
    /// given to `ConfigureNetwork`); requests name it as their source.
    pub network_id: String,
    /// The channel the contract is deployed on.
    pub channel: String,
    /// The chaincode name.
    pub chaincode: String,
    /// MSP ids of every peer organisation: records are private data that
    /// every organisation must endorse, and the gateway endorses within its
    /// own organisation only unless told otherwise.
    pub organizations: Vec<String>,
}

impl EhrSettings {
    /// Settings for a network described by `network.json`: its name as the
    /// network id, its channel, every organisation, the default chaincode.
    pub fn from_description(description: &NetworkDescription) -> Self {
        Self {
            network_id: description.name.clone(),
            channel: description.channel.clone(),
            chaincode: interface::CHAINCODE.to_string(),
            organizations: description
                .organizations
                .iter()
                .map(|org| org.msp_id.clone())
                .collect(),
        }
    }
}

/// What a client's transactions take turns on: the keys of the ledger
/// that all of them read and write.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Turn {
    /// A requester's rate-limit window, which each of its requests updates.
    Requester(String),
    /// A patient's index of records, which each upload for them updates.
    Patient(PatientRef),
}

/// One user of the EHR contract on one network.
#[derive(Debug, Clone)]
pub struct EhrClient {
    settings: EhrSettings,
    network: Network,
    contract: Contract,
    identity: SigningIdentity,
    requester_code: Option<String>,
    requester_key: Option<RequesterKey>,
    key_store: Option<Arc<dyn KeyStore>>,
    /// Whose turn it is to file a request or upload records, shared by
    /// the clones: see [`EhrClient::submit_request`] and
    /// [`EhrClient::upload`].
    turns: Arc<turns::Turns<Turn>>,
}

impl EhrClient {
    /// A client acting as the gateway's identity.
    pub fn new(gateway: &Gateway, settings: EhrSettings) -> Self {
        let network = gateway.network(settings.channel.clone());
        let contract = network.contract(settings.chaincode.clone());
        Self {
            settings,
            network,
            contract,
            identity: gateway.identity().clone(),
            requester_code: None,
            requester_key: None,
            key_store: None,
            turns: Arc::default(),
        }
    }

    /// The requester code this identity is registered under; needed to
    /// request histories.
    pub fn with_requester_code(mut self, code: impl Into<String>) -> Self {
        self.requester_code = Some(code.into());
        self
    }

    /// The requester's registered key pair, whose public half every request
    /// carries. Without one each request gets a fresh key pair, which the
    /// `ehrx` contract refuses (it checks the key is the registered one).
    pub fn with_requester_key(mut self, key: RequesterKey) -> Self {
        self.requester_key = Some(key);
        self
    }

    /// Where each request's reply key is saved before the request is
    /// submitted, so a reply can be read after a restart.
    pub fn with_key_store(mut self, store: Arc<dyn KeyStore>) -> Self {
        self.key_store = Some(store);
        self
    }

    /// The settings.
    pub fn settings(&self) -> &EhrSettings {
        &self.settings
    }

    /// The channel, for its event streams.
    pub fn network(&self) -> &Network {
        &self.network
    }

    /// The identity every call is signed with.
    pub fn identity(&self) -> &SigningIdentity {
        &self.identity
    }

    /// The contract, for calls this API does not wrap.
    pub fn contract(&self) -> &Contract {
        &self.contract
    }

    /// The registry functions, for an organisation admin's identity.
    pub fn admin(&self) -> Admin<'_> {
        Admin::new(&self.contract)
    }
}
