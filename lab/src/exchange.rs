//! The setup shared by the exchange tests: identities of the two networks,
//! their admins' registrations (lookup tables, relays, requester, uploader,
//! responders), a patient uploaded on network II, and the relays and
//! responders run in-process until the test stops them.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use ed25519_dalek::SigningKey;
use serde_json::{Value, json};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use ehrx_client::ehr::interface::{
    self, CHAINCODE, Challenge, Forwarded, NetworkConfig, function,
    limits::DEFAULT_RATE_LIMIT_WINDOW_SECONDS, rules,
};
use ehrx_client::ehr::synthetic::SyntheticPatient;
use ehrx_client::ehr::{
    EhrClient, EhrSettings, HistoryOutcome, HistoryRequest, InMemoryKeyStore, MatchingKey,
    PatientRef, RequestedHistory, RequesterKey, UploadedRecord, VerifiedReply,
};
use ehrx_client::fabric::config::Organization;
use ehrx_client::fabric::{
    Committed, Contract, Gateway, InMemoryCheckpointer, wait_for_every_peer,
};
use ehrx_proto::exchange::Purpose;
use ehrx_services::relay::{GatewaySubmitter, Relay, Submitter as _, config::RelayConfig};
use ehrx_services::responder::{Claim, Responder};

use crate::NetworkDescription;
use crate::forge::ProofSubject;
use crate::networks::{Networks, network_home};

/// The requester code of the doctor (network I, org1, `User2`).
pub const REQUESTER_CODE: &str = "DR-0001";
/// Requests a requester may make per minute in these tests.
pub const RATE_LIMIT_MAX: u32 = 5;

/// The consortium's matching key in these networks (patient refs are
/// HMACs under it).
pub fn matching_key() -> MatchingKey {
    MatchingKey::from_bytes([42; 32])
}

/// The synthetic patient seeded by `seed`, and their ref under
/// [`matching_key`].
fn synthetic_patient(seed: u64) -> anyhow::Result<(SyntheticPatient, PatientRef)> {
    let patient = SyntheticPatient::generate(seed);
    let patient_ref = patient.identifiers.patient_ref(&matching_key())?;
    Ok((patient, patient_ref))
}

/// Uploads the synthetic patient seeded by `seed` through `uploader` (an
/// EHR client of a registered uploader); returns its ref and records.
pub async fn upload_synthetic_patient(
    uploader: &EhrClient,
    seed: u64,
) -> anyhow::Result<(PatientRef, Vec<UploadedRecord>)> {
    let (patient, patient_ref) = synthetic_patient(seed)?;
    let uploaded = uploader
        .upload_record(&patient_ref, &patient.bundle_json())
        .await?;
    Ok((patient_ref, uploaded))
}

/// Uploads each of `resources` of the patient `patient_ref` on its own,
/// all filed at once by clones of `uploader` (the SDK files them in turn,
/// since each updates the patient's index); the records by block.
pub async fn upload_each_at_once(
    uploader: &EhrClient,
    patient_ref: PatientRef,
    resources: Vec<Value>,
) -> anyhow::Result<Vec<UploadedRecord>> {
    let mut uploads = tokio::task::JoinSet::new();
    for resource in resources {
        let uploader = uploader.clone();
        uploads.spawn(async move {
            uploader
                .upload_record(&patient_ref, resource.to_string().as_bytes())
                .await
        });
    }
    let mut uploaded = Vec::new();
    while let Some(joined) = uploads.join_next().await {
        uploaded.extend(joined??);
    }
    uploaded.sort_by_key(|record| record.block_number);
    Ok(uploaded)
}

/// Waits until every peer of `net` has committed `transaction_id`. A
/// submit returns once the gateway's own peer commits; a transaction right
/// after it may be endorsed by another organisation's peer that has not
/// yet, and would not see the first one's writes (under load this happens).
pub async fn wait_for_peers(net: &NetworkDescription, transaction_id: &str) -> anyhow::Result<()> {
    let identity = org(net, "org1")?.signing_identity("Admin")?;
    wait_for_every_peer(net, &identity, transaction_id, Duration::from_secs(60)).await?;
    Ok(())
}

/// Record id → SHA-256 of what a reply carried, to compare with
/// [`uploaded_digests`].
pub fn received_digests(reply: &VerifiedReply) -> BTreeMap<String, [u8; 32]> {
    reply
        .records
        .iter()
        .map(|r| (r.record_id.clone(), r.sha256))
        .collect()
}

/// Record id → SHA-256 of what was uploaded.
pub fn uploaded_digests(uploaded: &[UploadedRecord]) -> BTreeMap<String, [u8; 32]> {
    uploaded
        .iter()
        .map(|r| (r.record_id.clone(), r.sha256))
        .collect()
}

/// A gateway to the first peer of `org`, acting as its user `user`.
pub async fn gateway_as(org: &Organization, user: &str) -> anyhow::Result<Gateway> {
    let peer = org
        .peers
        .first()
        .ok_or_else(|| anyhow::anyhow!("{} has no peer", org.name))?;
    Ok(Gateway::new(
        peer.connection()?.connect().await?,
        org.signing_identity(user)?,
    ))
}

/// The organisation's Ed25519 client user, as `network.json` lists it.
pub fn ed25519_user(org: &Organization) -> anyhow::Result<String> {
    org.users
        .iter()
        .find(|user| user.key_type == "ed25519")
        .map(|user| user.name.clone())
        .with_context(|| format!("{} lists no Ed25519 user", org.name))
}

/// An organisation of a network by its short name (`org1`).
pub fn org<'a>(net: &'a NetworkDescription, org: &str) -> anyhow::Result<&'a Organization> {
    let msp_id = format!("{}{}MSP", capitalised(&net.name), capitalised(org));
    Ok(net.organization(&msp_id)?)
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

/// `{msp_id, certificate}` of a user, as the registry functions take it.
pub fn identity(org: &Organization, user: &str) -> anyhow::Result<Value> {
    Ok(
        json!({"msp_id": org.msp_id, "certificate": std::fs::read_to_string(&org.user(user)?.cert)?}),
    )
}

/// A challenge for `from`, issued through `relay`: the receiving network's
/// contract as its relay identity, as `from`'s relay asks for one before
/// each delivery.
pub async fn issue_challenge(relay: &Contract, from: &str) -> anyhow::Result<Challenge> {
    let committed = relay
        .submit(function::ISSUE_CHALLENGE, [from])
        .await
        .context("IssueChallenge")?;
    serde_json::from_slice(&committed.result).context("IssueChallenge's result")
}

/// `PutNetworkTrust`'s argument for `other`: every organisation of it
/// with its signing CA, on its channel, all of them required.
pub fn network_trust(other: &NetworkDescription) -> anyhow::Result<Value> {
    let organizations = other
        .organizations
        .iter()
        .map(|org| {
            let root = std::fs::read_to_string(&org.ca_cert)
                .with_context(|| format!("reading {}", org.ca_cert.display()))?;
            Ok(json!({"msp_id": org.msp_id, "root_certificates": [root]}))
        })
        .collect::<anyhow::Result<Vec<Value>>>()?;
    Ok(json!({
        "network_id": other.name,
        "channel": other.channel,
        "organizations": organizations,
        "policy": "all",
    }))
}

/// `RegisterRequester`'s argument: `user` of `org` with `code`, the
/// `request` privilege and `key`'s public half.
fn requester_entry(
    org: &Organization,
    user: &str,
    code: &str,
    key: &RequesterKey,
) -> anyhow::Result<Value> {
    let mut requester = identity(org, user)?;
    requester["requester_code"] = code.into();
    requester["privileges"] = json!([rules::PRIVILEGE_REQUEST]);
    requester["encryption_key"] = hex::encode(key.public_key()).into();
    Ok(requester)
}

/// A network's Ed25519 network key, as `network.sh up` made it.
pub fn network_signing_key(net: &str) -> anyhow::Result<SigningKey> {
    let path = network_home().join(net).join("relay/network-key.hex");
    let hex_secret =
        std::fs::read_to_string(&path).with_context(|| format!("{}", path.display()))?;
    let secret: [u8; 32] = hex::decode(hex_secret.trim())?
        .try_into()
        .map_err(|_| anyhow::anyhow!("network key of {net} is not 32 bytes"))?;
    Ok(SigningKey::from_bytes(&secret))
}

/// The public half of a network's Ed25519 key, as the lookup table holds it.
pub fn network_public_key(net: &str) -> anyhow::Result<String> {
    Ok(hex::encode(
        network_signing_key(net)?.verifying_key().as_bytes(),
    ))
}

/// The relay configuration `network.sh up` wrote for a network.
pub fn relay_config_path(net: &str) -> PathBuf {
    network_home().join(net).join("relay/relay.json")
}

/// A future that completes once `signal` turns true.
pub fn stopped(signal: &watch::Receiver<bool>) -> impl Future<Output = ()> + Send + 'static {
    let mut signal = signal.clone();
    async move {
        let _ = signal.wait_for(|stop| *stop).await;
    }
}

/// A relay or responder running in the background.
pub type Service = JoinHandle<anyhow::Result<()>>;

/// Both networks configured for the exchange, and the services the test
/// started, stopped together by [`ExchangeSetup::stop`].
#[derive(Debug)]
pub struct ExchangeSetup<'a> {
    pub net1: &'a NetworkDescription,
    pub net2: &'a NetworkDescription,
    /// Networks that joined later ([`Self::join`]).
    joined: Vec<&'a NetworkDescription>,
    /// The doctor's registered long-term X25519 key.
    pub requester_key: RequesterKey,
    stop: watch::Sender<bool>,
    signal: watch::Receiver<bool>,
    services: Vec<Service>,
    /// Where each running relay takes a new configuration.
    reloads: BTreeMap<String, mpsc::Sender<RelayConfig>>,
    /// How the responders started from now on share the requests.
    pub responders: ResponderSharing,
}

/// How the responders the lab starts share a network's requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ResponderSharing {
    /// Every responder answers every request ([`Claim::Compete`]).
    #[default]
    Compete,
    /// The responder of organisation `k` of `n` claims its share and takes
    /// over another's after `takeover_after` ([`Claim::Split`]).
    Split { takeover_after: Duration },
}

/// The calls that enter `other` in a lookup table: its network key, then
/// its organisations' roots and policy.
fn lookup_entry(other: &NetworkDescription) -> anyhow::Result<Vec<(&'static str, Value)>> {
    Ok(vec![
        (
            function::PUT_REMOTE_NETWORK,
            json!({"network_id": other.name, "network_key": network_public_key(&other.name)?, "status": "active"}),
        ),
        (function::PUT_NETWORK_TRUST, network_trust(other)?),
    ])
}

/// The registrations of a network that answers: an uploader (`User2` of
/// org1) and a responder per organisation (`User1`).
fn uploader_and_responders(net: &NetworkDescription) -> anyhow::Result<Vec<(&'static str, Value)>> {
    let mut calls = vec![(
        function::REGISTER_UPLOADER,
        identity(org(net, "org1")?, "User2")?,
    )];
    for organization in &net.organizations {
        calls.push((
            function::REGISTER_RESPONDER,
            identity(organization, "User1")?,
        ));
    }
    Ok(calls)
}

/// Submits `calls` in order as `net`'s org1 admin, each committed on every
/// peer before the next: later calls read what earlier ones wrote (the
/// configuration, the lookup table entry that trust belongs to), on peers
/// of every organisation.
async fn apply(net: &NetworkDescription, calls: Vec<(&'static str, Value)>) -> anyhow::Result<()> {
    let admin = gateway_as(org(net, "org1")?, "Admin").await?;
    let contract = admin.network(&net.channel).contract(CHAINCODE);
    for (function, argument) in calls {
        let committed = admin_call(&contract, function, &argument)
            .await
            .with_context(|| format!("{function} on {}", net.name))?;
        wait_for_peers(net, &committed.status.transaction_id).await?;
    }
    Ok(())
}

/// `ConfigureNetwork`'s argument for `net`: `rate_limit_max` requests per
/// requester per minute, and its consent policy.
fn network_config(
    net: &str,
    rate_limit_max: u32,
    consent_required: bool,
    break_glass: bool,
) -> anyhow::Result<Value> {
    let config = NetworkConfig {
        network_id: net.to_owned(),
        rate_limit_max,
        rate_limit_window_seconds: DEFAULT_RATE_LIMIT_WINDOW_SECONDS,
        consent_required,
        break_glass,
    };
    serde_json::to_value(config).context("ConfigureNetwork's argument")
}

/// An admin's call of `function` with `argument`; ConfigureNetwork carries
/// its ledger secret in the transient map, as the SDK sends it.
async fn admin_call(
    contract: &Contract,
    function: &str,
    argument: &Value,
) -> anyhow::Result<Committed> {
    if function == function::CONFIGURE_NETWORK {
        return Ok(ehrx_client::ehr::admin::configure_network(contract, argument).await?);
    }
    Ok(interface::submit(contract, function, [argument.to_string()]).await?)
}

/// The EHR client of requester `user` of `org` on `net`, registered with
/// `code` and `key` (replies kept in memory).
async fn requester(
    net: &NetworkDescription,
    org: &Organization,
    user: &str,
    code: &str,
    key: RequesterKey,
) -> anyhow::Result<EhrClient> {
    let gateway = gateway_as(org, user).await?;
    Ok(EhrClient::new(&gateway, EhrSettings::from_description(net))
        .with_requester_code(code)
        .with_requester_key(key)
        .with_key_store(Arc::new(InMemoryKeyStore::new())))
}

impl<'a> ExchangeSetup<'a> {
    /// Each network's admin: its id, the other network in the lookup table,
    /// its relay (`User3` of org1); on I a requester (`User2` of org1) with a
    /// long-term X25519 key, on II an uploader (`User2` of org1) and a
    /// responder per organisation (`User1`).
    pub async fn configure(networks: &'a Networks) -> anyhow::Result<Self> {
        let (net1, net2) = (networks.get("net1")?, networks.get("net2")?);
        let requester_key = RequesterKey::generate()?;
        for (net, other) in [(net1, net2), (net2, net1)] {
            let mut calls = vec![
                (
                    function::CONFIGURE_NETWORK,
                    network_config(&net.name, RATE_LIMIT_MAX, false, false)?,
                ),
                (
                    function::REGISTER_RELAY,
                    identity(org(net, "org1")?, "User3")?,
                ),
            ];
            calls.extend(lookup_entry(other)?);
            if net.name == "net1" {
                let doctor = org(net, "org1")?;
                let requester = requester_entry(doctor, "User2", REQUESTER_CODE, &requester_key)?;
                calls.push((function::REGISTER_REQUESTER, requester));
            } else {
                calls.extend(uploader_and_responders(net)?);
            }
            apply(net, calls).await?;
        }
        let (stop, signal) = watch::channel(false);
        Ok(Self {
            net1,
            net2,
            joined: Vec::new(),
            requester_key,
            stop,
            signal,
            services: Vec::new(),
            reloads: BTreeMap::new(),
            responders: ResponderSharing::default(),
        })
    }

    /// Network `net` joins the others: its admin configures it, enters
    /// every other network in its lookup table, registers its relay
    /// (`User3` of org1), an uploader (`User2` of org1), a responder per
    /// organisation (`User1`) and a requester (`User2` of org2, with
    /// `code` and a fresh key); every other network's admin enters it in
    /// theirs. Returns the requester's EHR client.
    pub async fn join(
        &mut self,
        net: &'a NetworkDescription,
        code: &str,
    ) -> anyhow::Result<EhrClient> {
        let others: Vec<&'a NetworkDescription> = self.networks();
        let key = RequesterKey::generate()?;
        let requester_org = org(net, "org2")?;
        let mut calls = vec![
            (
                function::CONFIGURE_NETWORK,
                network_config(&net.name, RATE_LIMIT_MAX, false, false)?,
            ),
            (
                function::REGISTER_RELAY,
                identity(org(net, "org1")?, "User3")?,
            ),
            (
                function::REGISTER_REQUESTER,
                requester_entry(requester_org, "User2", code, &key)?,
            ),
        ];
        calls.extend(uploader_and_responders(net)?);
        for other in &others {
            calls.extend(lookup_entry(other)?);
        }
        apply(net, calls).await?;
        for other in others {
            apply(other, lookup_entry(net)?).await?;
        }
        self.joined.push(net);
        requester(net, requester_org, "User2", code, key).await
    }

    /// Every network of the setup: I, II, then those that joined.
    pub fn networks(&self) -> Vec<&'a NetworkDescription> {
        [self.net1, self.net2]
            .into_iter()
            .chain(self.joined.iter().copied())
            .collect()
    }

    /// The network named `name`.
    pub fn net(&self, name: &str) -> anyhow::Result<&'a NetworkDescription> {
        self.networks()
            .into_iter()
            .find(|net| net.name == name)
            .with_context(|| format!("no network named {name}"))
    }

    /// Network II's uploader stores a synthetic patient's history (seeded
    /// by `seed`); returns the patient's ref and the records stored.
    pub async fn upload_patient(
        &self,
        seed: u64,
    ) -> anyhow::Result<(PatientRef, Vec<UploadedRecord>)> {
        self.upload_patient_to(self.net2, seed).await
    }

    /// As [`Self::upload_patient`], each resource uploaded on its own, all
    /// at once (see [`upload_each_at_once`]).
    pub async fn upload_patient_at_once(
        &self,
        seed: u64,
    ) -> anyhow::Result<(PatientRef, Vec<UploadedRecord>)> {
        let (patient, patient_ref) = synthetic_patient(seed)?;
        let uploader = self.uploader(self.net2).await?;
        let uploaded = upload_each_at_once(&uploader, patient_ref, patient.resources).await?;
        Ok((patient_ref, uploaded))
    }

    /// The registered uploader of `net` (its org1's `User2`).
    async fn uploader(&self, net: &NetworkDescription) -> anyhow::Result<EhrClient> {
        let uploader = gateway_as(org(net, "org1")?, "User2").await?;
        Ok(EhrClient::new(
            &uploader,
            EhrSettings::from_description(net),
        ))
    }

    /// As [`Self::upload_patient`], by the uploader of `net`.
    pub async fn upload_patient_to(
        &self,
        net: &NetworkDescription,
        seed: u64,
    ) -> anyhow::Result<(PatientRef, Vec<UploadedRecord>)> {
        upload_synthetic_patient(&self.uploader(net).await?, seed).await
    }

    /// Submits `function(argument)` as the admin of `net`'s org1, and waits
    /// until every peer of `net` has committed it.
    pub async fn admin_submit(
        &self,
        net: &str,
        function: &str,
        argument: Value,
    ) -> anyhow::Result<()> {
        let committed = admin_call(&self.contract_as(net, "Admin").await?, function, &argument)
            .await
            .with_context(|| format!("{function} on {net}"))?;
        wait_for_peers(self.net(net)?, &committed.status.transaction_id).await
    }

    /// `from`'s prover: its relay identity, having every organisation of
    /// `from` endorse, as its relay does.
    pub async fn prover(&self, from: &str) -> anyhow::Result<GatewaySubmitter> {
        let every: Vec<&str> = self
            .net(from)?
            .organizations
            .iter()
            .map(|org| org.msp_id.as_str())
            .collect();
        self.prover_of(from, &every).await
    }

    /// As [`Self::prover`], having only the organisations `msp_ids` of
    /// `from` endorse.
    pub async fn prover_of(
        &self,
        from: &str,
        msp_ids: &[&str],
    ) -> anyhow::Result<GatewaySubmitter> {
        Ok(GatewaySubmitter::new(
            self.contract_as(from, "User3").await?,
            msp_ids.iter().map(|id| (*id).to_owned()).collect(),
        ))
    }

    /// A challenge of `to` for `from`, issued through `to`'s relay identity
    /// and committed on every peer of `to`, so that whichever peer judges
    /// the proof next knows it.
    pub async fn challenge(&self, from: &str, to: &str) -> anyhow::Result<Challenge> {
        let committed = self
            .contract_as(to, "User3")
            .await?
            .submit(function::ISSUE_CHALLENGE, [from])
            .await
            .with_context(|| format!("IssueChallenge on {to}"))?;
        wait_for_peers(self.net(to)?, &committed.status.transaction_id).await?;
        serde_json::from_slice(&committed.result).context("IssueChallenge's result")
    }

    /// What `from`'s relay would deliver with `signed` (a signed request
    /// validated on `from`): a challenge issued on `to` for `from`, and
    /// `from`'s `ProveRequest` for it, endorsed by every organisation of
    /// `from`.
    pub async fn validation_proof(
        &self,
        from: &str,
        to: &str,
        signed: &[u8],
    ) -> anyhow::Result<Vec<u8>> {
        self.proof_of(Forwarded::Request, from, to, signed).await
    }

    /// As [`Self::validation_proof`] for a message of either `kind`: for a
    /// reply, `signed` is a signed reply stored on `from`, proven by
    /// `ProveReply`.
    pub async fn proof_of(
        &self,
        kind: Forwarded,
        from: &str,
        to: &str,
        signed: &[u8],
    ) -> anyhow::Result<Vec<u8>> {
        let nonce = self.challenge(from, to).await?.nonce.to_string();
        let subject = ProofSubject::of(kind, signed)?;
        Ok(self
            .prover(from)
            .await?
            .prove(
                subject.function,
                &subject.request_id,
                &subject.sha256,
                &nonce,
            )
            .await?)
    }

    /// Sets `net`'s rate limit to `max` requests per requester per minute.
    pub async fn set_rate_limit(&self, net: &str, max: u32) -> anyhow::Result<()> {
        let config = network_config(net, max, false, false)?;
        self.admin_submit(net, function::CONFIGURE_NETWORK, config)
            .await
    }

    /// Sets whether `net` requires patient consent and allows break-glass
    /// (its rate limit as [`Self::configure`] set it).
    pub async fn set_consent_policy(
        &self,
        net: &str,
        consent_required: bool,
        break_glass: bool,
    ) -> anyhow::Result<()> {
        let config = network_config(net, RATE_LIMIT_MAX, consent_required, break_glass)?;
        self.admin_submit(net, function::CONFIGURE_NETWORK, config)
            .await
    }

    /// Registers `user` of `org_name` on `net` as an uploader.
    pub async fn register_uploader(
        &self,
        net: &str,
        org_name: &str,
        user: &str,
    ) -> anyhow::Result<()> {
        let member = identity(org(self.net(net)?, org_name)?, user)?;
        self.admin_submit(net, function::REGISTER_UPLOADER, member)
            .await
    }

    /// Registers `user` of network I's `org_name` as a requester with `code`
    /// and `key`, and returns its EHR client (with an in-memory key store).
    pub async fn register_requester(
        &self,
        org_name: &str,
        user: &str,
        code: &str,
        key: RequesterKey,
    ) -> anyhow::Result<EhrClient> {
        let requester_org = org(self.net1, org_name)?;
        let entry = requester_entry(requester_org, user, code, &key)?;
        self.admin_submit("net1", function::REGISTER_REQUESTER, entry)
            .await?;
        requester(self.net1, requester_org, user, code, key).await
    }

    /// `doctor` requests the whole history of `patient_ref` from network II
    /// for treatment and waits (90 s at most) until the reply is ready on
    /// network I; fails with the request id on any other outcome. Returns
    /// the request's outcome, whose `pending.reply_key` reads the reply.
    pub async fn request_from_net2(
        &self,
        doctor: &EhrClient,
        patient_ref: PatientRef,
    ) -> anyhow::Result<RequestedHistory> {
        self.request_from(doctor, self.net2, patient_ref).await
    }

    /// As [`Self::request_from_net2`], from network `to`.
    pub async fn request_from(
        &self,
        doctor: &EhrClient,
        to: &NetworkDescription,
        patient_ref: PatientRef,
    ) -> anyhow::Result<RequestedHistory> {
        let request = HistoryRequest {
            patient_ref,
            destination_network: to.name.clone(),
            categories: Vec::new(),
            purpose: Purpose::Treatment,
        };
        let requested = doctor
            .request_history(&request, Duration::from_secs(90))
            .await?;
        anyhow::ensure!(
            requested.outcome == HistoryOutcome::ReplyReady,
            "request {} ended {:?}",
            requested.pending.request_id(),
            requested.outcome
        );
        Ok(requested)
    }

    /// The EHR contract of a network as `user` of its org1.
    pub async fn contract_as(&self, net: &str, user: &str) -> anyhow::Result<Contract> {
        let net = self.net(net)?;
        let gateway = gateway_as(org(net, "org1")?, user).await?;
        Ok(gateway.network(&net.channel).contract("ehrx"))
    }

    /// An EHR client of network I as `user` of org1 (no requester settings).
    pub async fn client_as(&self, user: &str) -> anyhow::Result<EhrClient> {
        let gateway = gateway_as(org(self.net1, "org1")?, user).await?;
        Ok(EhrClient::new(
            &gateway,
            EhrSettings::from_description(self.net1),
        ))
    }

    /// The doctor on network I, with its code, key and a key store.
    pub async fn doctor(&self) -> anyhow::Result<EhrClient> {
        Ok(self
            .client_as("User2")
            .await?
            .with_requester_code(REQUESTER_CODE)
            .with_requester_key(self.requester_key.clone())
            .with_key_store(Arc::new(InMemoryKeyStore::new())))
    }

    /// Starts the relay of `net` from its configuration file (so from its
    /// persisted checkpoint) and returns its task, which ends at
    /// [`Self::stop`] or when aborted. The task is not owned by the setup.
    pub fn spawn_relay(&self, net: &str) -> anyhow::Result<Service> {
        let config = RelayConfig::load(&relay_config_path(net))?;
        let shutdown = stopped(&self.signal);
        Ok(tokio::spawn(async move {
            Relay::run(config, shutdown)
                .await
                .map_err(anyhow::Error::from)
        }))
    }

    /// Starts `net`'s relay alone, with a stop of its own (see
    /// [`LoneRelay`]).
    pub fn lone_relay(&self, net: &str) -> anyhow::Result<LoneRelay> {
        let config = RelayConfig::load(&relay_config_path(net))?;
        let (stop, signal) = watch::channel(false);
        let shutdown = stopped(&signal);
        Ok(LoneRelay {
            stop,
            task: tokio::spawn(async move {
                Relay::run(config, shutdown)
                    .await
                    .map_err(anyhow::Error::from)
            }),
        })
    }

    /// Starts the relay of every network until [`Self::stop`].
    pub fn start_relays(&mut self) -> anyhow::Result<()> {
        for net in self.networks() {
            self.start_relay(&net.name)?;
        }
        Ok(())
    }

    /// Starts `net`'s relay until [`Self::stop`], taking the configurations
    /// [`Self::reload_relays`] sends.
    pub fn start_relay(&mut self, net: &str) -> anyhow::Result<()> {
        let config = RelayConfig::load(&relay_config_path(net))?;
        let shutdown = stopped(&self.signal);
        let (reload, reloads) = mpsc::channel(1);
        self.services.push(tokio::spawn(async move {
            Relay::run_with_reloads(config, reloads, shutdown)
                .await
                .map_err(anyhow::Error::from)
        }));
        self.reloads.insert(net.to_owned(), reload);
        Ok(())
    }

    /// Every relay [`Self::start_relay`] started reads its configuration
    /// file again, as on SIGHUP; returns once each reports the reload on
    /// its health endpoint (60 s at most).
    pub async fn reload_relays(&self) -> anyhow::Result<()> {
        for (net, reload) in &self.reloads {
            let path = relay_config_path(net);
            let config = RelayConfig::load(&path)?;
            let health = config.health_address.to_string();
            let reloads = |report: &Value| report["reloads"].as_u64().unwrap_or(0);
            let before = reloads(&relay_health(&health).await?);
            reload
                .send(config)
                .await
                .with_context(|| format!("{net}'s relay has stopped"))?;
            let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
            loop {
                let report = relay_health(&health).await?;
                if reloads(&report) > before {
                    break;
                }
                anyhow::ensure!(
                    tokio::time::Instant::now() < deadline,
                    "{net}'s relay did not reload {}: {report}",
                    path.display()
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        Ok(())
    }

    /// Starts network II's two responders (`User1` of each organisation)
    /// until [`Self::stop`].
    pub async fn start_responders(&mut self) -> anyhow::Result<()> {
        self.start_responders_as(|_| Ok("User1".to_string())).await
    }

    /// Starts a responder for each organisation of network II, acting as
    /// the user that `user_of` names for that organisation.
    pub async fn start_responders_as(
        &mut self,
        user_of: impl Fn(&Organization) -> anyhow::Result<String>,
    ) -> anyhow::Result<()> {
        self.start_responders_on(self.net2, user_of).await
    }

    /// As [`Self::start_responders_as`], on network `net`.
    pub async fn start_responders_on(
        &mut self,
        net: &NetworkDescription,
        user_of: impl Fn(&Organization) -> anyhow::Result<String>,
    ) -> anyhow::Result<()> {
        for (index, responder_org) in net.organizations.iter().enumerate() {
            self.start_responder(net, index, &user_of(responder_org)?)
                .await?;
        }
        Ok(())
    }

    /// Starts the responder of `net`'s organisation number `index` (from
    /// 0), acting as `user`, sharing the requests as [`Self::responders`]
    /// says.
    pub async fn start_responder(
        &mut self,
        net: &NetworkDescription,
        index: usize,
        user: &str,
    ) -> anyhow::Result<()> {
        let responder_org = net
            .organizations
            .get(index)
            .with_context(|| format!("{} has no organisation number {index}", net.name))?;
        let claim = match self.responders {
            ResponderSharing::Compete => Claim::Compete,
            ResponderSharing::Split { takeover_after } => Claim::Split {
                index: u32::try_from(index)?,
                of: u32::try_from(net.organizations.len())?,
                takeover_after,
            },
        };
        let gateway = gateway_as(responder_org, user).await?;
        let settings = EhrSettings::from_description(net);
        let shutdown = stopped(&self.signal);
        self.services.push(tokio::spawn(async move {
            let mut responder = Responder::new(&gateway, settings, InMemoryCheckpointer::default())
                .with_claim(claim);
            responder
                .run_until(shutdown)
                .await
                .map_err(anyhow::Error::from)
        }));
        Ok(())
    }

    /// Adds a service started elsewhere (e.g. a restarted relay) to those
    /// [`Self::stop`] waits for.
    pub fn adopt(&mut self, service: Service) {
        self.services.push(service);
    }

    /// Signals every service to stop and waits for each (30 s at most),
    /// reporting the first failure; services started afterwards run until
    /// the next stop.
    pub async fn stop_services(&mut self) -> anyhow::Result<()> {
        self.stop.send(true)?;
        let mut outcome = Ok(());
        for service in std::mem::take(&mut self.services) {
            let stopped = tokio::time::timeout(Duration::from_secs(30), service)
                .await
                .context("a service did not stop within 30 s")
                .and_then(|joined| joined.context("a service panicked"))
                .and_then(|result| result);
            if outcome.is_ok() {
                outcome = stopped;
            }
        }
        self.stop.send(false)?;
        outcome
    }

    /// Stops every service, as [`Self::stop_services`].
    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.stop_services().await
    }
}

/// One network's relay, run on its own while the other services are
/// stopped (for a scenario that needs exactly that relay's door open),
/// until [`LoneRelay::stop`].
#[derive(Debug)]
pub struct LoneRelay {
    stop: watch::Sender<bool>,
    task: Service,
}

impl LoneRelay {
    /// Stops the relay and waits for it (30 s at most); its failure, if it
    /// failed.
    pub async fn stop(self) -> anyhow::Result<()> {
        // Fails only if the relay already ended; its task then says why.
        let _ = self.stop.send(true);
        tokio::time::timeout(Duration::from_secs(30), self.task)
            .await
            .context("the relay did not stop within 30 s")?
            .context("the relay panicked")?
    }
}

/// A relay's health report at `address` (`host:port`).
async fn relay_health(address: &str) -> anyhow::Result<Value> {
    let address = address.to_owned();
    tokio::task::spawn_blocking(move || crate::ehrx_cli::healthz(&address, Duration::from_secs(30)))
        .await
        .context("the health check panicked")?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configure_network_arguments_carry_the_rate_limit_and_the_consent_policy() {
        assert_eq!(
            network_config("net1", 5, false, false).unwrap(),
            json!({"network_id": "net1", "rate_limit_max": 5, "rate_limit_window_seconds": 60})
        );
        assert_eq!(
            network_config("net2", 1000, true, true).unwrap(),
            json!({"network_id": "net2", "rate_limit_max": 1000, "rate_limit_window_seconds": 60,
                "consent_required": true, "break_glass": true})
        );
    }
}
