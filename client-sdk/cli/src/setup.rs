//! The admin's declarative setup file: everything one network's registry
//! should hold, in one JSON document that `ehrx admin setup` applies.
//!
//! ```json
//! {
//!   "network": { "network_id": "net1", "rate_limit_max": 5, "rate_limit_window_seconds": 60,
//!                "consent_required": true, "break_glass": false },
//!   "remote_networks": [
//!     { "network_id": "net2", "network_key_file": "net2-network.pub",
//!       "trust": { "channel": "ehrchannel", "policy": "all", "organizations": [
//!         { "msp_id": "Net2Org1MSP", "root_certificate_files": ["net2-org1-ca.pem"] },
//!         { "msp_id": "Net2Org2MSP", "root_certificate_files": ["net2-org2-ca.pem"] } ] } }
//!   ],
//!   "requesters": [
//!     { "code": "DR-0001", "user": "User2", "requester_key_file": "doctor.key" }
//!   ],
//!   "responders": [ { "user": "User1" }, { "org": "Net1Org2MSP", "user": "User1" } ],
//!   "relays": [ { "user": "User3" } ],
//!   "uploaders": [ { "user": "User2" } ],
//!   "consent_managers": [ { "user": "User3" } ]
//! }
//! ```
//!
//! A remote network's key is its Ed25519 public key, as `network_key` (hex)
//! or `network_key_file` (a file holding that hex, as `ehrx admin
//! network-key` prints it). Its `trust` says whose peers must prove what it
//! forwards: its channel, its organisations with their CA root
//! certificates (PEM files), and how many must endorse (`"all"`, the
//! default, or `{"at_least": k}`); without it, its requests are refused.
//! To rotate a CA, list the new root and set `previous_grace_seconds`:
//! the entry it replaces keeps counting that long, then only the new one
//! does. A requester's key is their X25519 public key, as
//! `encryption_key` (hex) or `requester_key_file` (the requester's key file
//! from `ehrx keys requester`, whose public half is taken). Users are names
//! in the network description, in the admin's organisation unless `org`
//! says otherwise. Relative paths are taken from the setup file's folder.
//!
//! Loading is strict and checks offline what the contract would refuse
//! (ids, limits, keys, privileges, duplicates), so a typo fails before
//! anything is written; each error names the entry at fault. Every call the
//! file becomes is an upsert in the contract, so applying it again is safe.

use ehrx_interface::json::parse_config;
use std::{
    collections::BTreeSet,
    fmt,
    path::{Path, PathBuf},
};

use anyhow::{Context as _, anyhow, bail};
use serde::Deserialize;

use ehrx_client::{
    ehr::interface::{
        MemberIdentity, NetworkConfig, NetworkStatus as RemoteStatus, NetworkTrust, RemoteNetwork,
        RequesterRegistration, TrustedOrganization, VerificationPolicy,
        limits::{
            DEFAULT_RATE_LIMIT_MAX, DEFAULT_RATE_LIMIT_WINDOW_SECONDS, MAX_TRUST_GRACE_SECONDS,
            RATE_LIMIT_MAX, RATE_LIMIT_WINDOW_SECONDS,
        },
        rules::{NAME_RULE, PRIVILEGE_REQUEST, check_privileges, is_name},
    },
    fabric::{Identity, NetworkDescription},
};

use crate::{keys, target::relative_to};

fn default_rate_limit_max() -> u32 {
    DEFAULT_RATE_LIMIT_MAX
}

fn default_window_seconds() -> u32 {
    DEFAULT_RATE_LIMIT_WINDOW_SECONDS
}

fn default_privileges() -> Vec<String> {
    vec![PRIVILEGE_REQUEST.into()]
}

fn default_status() -> RemoteStatus {
    RemoteStatus::Active
}

/// The setup file as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetupFile {
    /// This network's id and rate limit.
    pub network: NetworkSection,
    /// The lookup table.
    #[serde(default)]
    pub remote_networks: Vec<RemoteEntry>,
    /// Who may request histories.
    #[serde(default)]
    pub requesters: Vec<RequesterEntry>,
    /// Who may submit replies.
    #[serde(default)]
    pub responders: Vec<MemberEntry>,
    /// The relay's identity.
    #[serde(default)]
    pub relays: Vec<MemberEntry>,
    /// Who may upload records.
    #[serde(default)]
    pub uploaders: Vec<MemberEntry>,
    /// Who may store and revoke consents for patients.
    #[serde(default)]
    pub consent_managers: Vec<MemberEntry>,
}

/// `ConfigureNetwork`'s settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkSection {
    /// This network's id in every lookup table.
    pub network_id: String,
    /// Requests one requester may file per window (default 1).
    #[serde(default = "default_rate_limit_max")]
    pub rate_limit_max: u32,
    /// The window in seconds (default 60).
    #[serde(default = "default_window_seconds")]
    pub rate_limit_window_seconds: u32,
    /// Whether a disclosure needs the patient's consent (default off).
    #[serde(default)]
    pub consent_required: bool,
    /// Whether an emergency may break the glass (default off).
    #[serde(default)]
    pub break_glass: bool,
}

/// One lookup-table entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoteEntry {
    /// The other network's id.
    pub network_id: String,
    /// Its Ed25519 public key in hex.
    #[serde(default)]
    pub network_key: Option<String>,
    /// A file holding that hex.
    #[serde(default)]
    pub network_key_file: Option<PathBuf>,
    /// `active` (default) or `suspended`.
    #[serde(default = "default_status")]
    pub status: RemoteStatus,
    /// Its organisations' CA roots and the verification policy.
    #[serde(default)]
    pub trust: Option<TrustEntry>,
}

/// Whose peers vouch for what a remote network forwards.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustEntry {
    /// The remote network's channel.
    pub channel: String,
    /// Its organisations.
    pub organizations: Vec<TrustedOrgEntry>,
    /// How many must endorse (default: all).
    #[serde(default = "default_policy")]
    pub policy: VerificationPolicy,
    /// When this replaces the entry in force (a rotated CA): how many
    /// seconds the replaced entry still counts (default 0: cut over now).
    #[serde(default)]
    pub previous_grace_seconds: u32,
}

/// One organisation of a remote network.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustedOrgEntry {
    /// Its MSP id.
    pub msp_id: String,
    /// PEM files of its CA root certificates.
    pub root_certificate_files: Vec<PathBuf>,
}

fn default_policy() -> VerificationPolicy {
    VerificationPolicy::All
}

/// One requester.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequesterEntry {
    /// The requester code.
    pub code: String,
    /// The user in the description.
    pub user: String,
    /// The user's organisation (default: the admin's).
    #[serde(default)]
    pub org: Option<String>,
    /// Privileges (default `["request"]`).
    #[serde(default = "default_privileges")]
    pub privileges: Vec<String>,
    /// The X25519 public key in hex.
    #[serde(default)]
    pub encryption_key: Option<String>,
    /// The requester's key file, whose public half is registered.
    #[serde(default)]
    pub requester_key_file: Option<PathBuf>,
}

/// A user given a role.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberEntry {
    /// The user in the description.
    pub user: String,
    /// The user's organisation (default: the admin's).
    #[serde(default)]
    pub org: Option<String>,
}

/// A role registered with an identity alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// `RegisterResponder`.
    Responder,
    /// `RegisterRelay`.
    Relay,
    /// `RegisterUploader`.
    Uploader,
    /// `RegisterConsentManager`.
    ConsentManager,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Responder => "responder",
            Self::ConsentManager => "consent manager",
            Self::Relay => "relay",
            Self::Uploader => "uploader",
        })
    }
}

/// One contract call the setup becomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    /// `ConfigureNetwork`.
    Configure(NetworkConfig),
    /// `PutRemoteNetwork`.
    PutRemote(RemoteNetwork),
    /// `PutNetworkTrust`.
    PutTrust(NetworkTrust),
    /// `RegisterRequester`.
    Requester(RequesterRegistration),
    /// `RegisterResponder`, `RegisterRelay` or `RegisterUploader`.
    Member(Role, MemberIdentity),
}

/// A call with what it sets, in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// What the call sets, for the report.
    pub summary: String,
    /// The call.
    pub call: Call,
}

/// A checked setup: keys read, ids and limits within the contract's bounds.
#[derive(Debug, Clone)]
pub struct Setup {
    network: NetworkConfig,
    remotes: Vec<RemoteNetwork>,
    trusts: Vec<NetworkTrust>,
    requesters: Vec<(RequesterEntry, [u8; 32])>,
    members: Vec<(Role, MemberEntry)>,
}

/// Network ids and requester codes, by the contract's rule.
fn check_name(what: &str, value: &str) -> anyhow::Result<()> {
    if !is_name(value) {
        bail!("{what} {value:?} must be {NAME_RULE}");
    }
    Ok(())
}

/// The one key of two optional sources, read.
fn one_key(
    what: &str,
    hex: Option<&str>,
    hex_field: &str,
    file: Option<&Path>,
    file_field: &str,
    read_file: impl FnOnce(&Path) -> anyhow::Result<[u8; 32]>,
) -> anyhow::Result<[u8; 32]> {
    match (hex, file) {
        (Some(hex), None) => keys::hex32(hex, &format!("{what} `{hex_field}`")),
        (None, Some(file)) => read_file(file).with_context(|| format!("{what} `{file_field}`")),
        (Some(_), Some(_)) => bail!("{what}: give `{hex_field}` or `{file_field}`, not both"),
        (None, None) => bail!("{what}: needs `{hex_field}` or `{file_field}`"),
    }
}

impl SetupFile {
    /// Parses the JSON of a setup file.
    pub fn from_json(text: &str) -> anyhow::Result<Self> {
        Ok(parse_config("the setup file", text.as_bytes())?)
    }

    /// Checks the file and reads the key files it names, relative to `base`.
    pub fn check(self, base: &Path) -> anyhow::Result<Setup> {
        let network = &self.network;
        check_name("network.network_id", &network.network_id)?;
        if !RATE_LIMIT_MAX.contains(&network.rate_limit_max) {
            bail!("network.rate_limit_max must be in {RATE_LIMIT_MAX:?}");
        }
        if !RATE_LIMIT_WINDOW_SECONDS.contains(&network.rate_limit_window_seconds) {
            bail!("network.rate_limit_window_seconds must be in {RATE_LIMIT_WINDOW_SECONDS:?}");
        }

        let mut remote_ids = BTreeSet::new();
        let mut remotes = Vec::new();
        let mut trusts = Vec::new();
        for (index, remote) in self.remote_networks.iter().enumerate() {
            let what = format!("remote_networks[{index}] ({})", remote.network_id);
            check_name(&format!("{what}: network_id"), &remote.network_id)?;
            if remote.network_id == network.network_id {
                bail!("{what}: is this network's own id");
            }
            if !remote_ids.insert(remote.network_id.as_str()) {
                bail!("{what}: listed twice");
            }
            let key = one_key(
                &what,
                remote.network_key.as_deref(),
                "network_key",
                remote.network_key_file.as_deref(),
                "network_key_file",
                |file| keys::hex32_file(&relative_to(base, file), "network public key"),
            )?;
            keys::check_ed25519_public(&key, &format!("{what}: the network key"))?;
            if let Some(trust) = &remote.trust {
                trusts.push(read_trust(base, &what, &remote.network_id, trust)?);
            }
            remotes.push(RemoteNetwork::new(
                remote.network_id.clone(),
                &key,
                remote.status,
            ));
        }

        let mut codes = BTreeSet::new();
        let mut requester_users = BTreeSet::new();
        let mut requesters = Vec::new();
        for (index, requester) in self.requesters.into_iter().enumerate() {
            let what = format!("requesters[{index}] ({})", requester.code);
            check_name(&format!("{what}: code"), &requester.code)?;
            if !codes.insert(requester.code.clone()) {
                bail!("{what}: the code is listed twice");
            }
            if !requester_users.insert((requester.org.clone(), requester.user.clone())) {
                bail!(
                    "{what}: user {} already has a code (one identity, one code)",
                    requester.user
                );
            }
            check_privileges(&requester.privileges)
                .map_err(|e| anyhow!("{what}: privilege {e}"))?;
            let key = one_key(
                &what,
                requester.encryption_key.as_deref(),
                "encryption_key",
                requester.requester_key_file.as_deref(),
                "requester_key_file",
                |file| Ok(*keys::load_requester_key(&relative_to(base, file))?.public_key()),
            )?;
            requesters.push((requester, key));
        }

        let mut members = Vec::new();
        for (role, field, entries) in [
            (Role::Responder, "responders", self.responders),
            (Role::Relay, "relays", self.relays),
            (Role::Uploader, "uploaders", self.uploaders),
            (
                Role::ConsentManager,
                "consent_managers",
                self.consent_managers,
            ),
        ] {
            let mut seen = BTreeSet::new();
            for (index, entry) in entries.into_iter().enumerate() {
                if !seen.insert(entry.clone()) {
                    bail!("{field}[{index}] ({}): listed twice", entry.user);
                }
                members.push((role, entry));
            }
        }

        Ok(Setup {
            network: NetworkConfig {
                network_id: self.network.network_id,
                rate_limit_max: self.network.rate_limit_max,
                rate_limit_window_seconds: self.network.rate_limit_window_seconds,
                consent_required: self.network.consent_required,
                break_glass: self.network.break_glass,
            },
            remotes,
            trusts,
            requesters,
            members,
        })
    }
}

/// A remote network's trust, with its root certificate files read; the
/// contract judges the certificates themselves.
fn read_trust(
    base: &Path,
    what: &str,
    network_id: &str,
    trust: &TrustEntry,
) -> anyhow::Result<NetworkTrust> {
    check_name(&format!("{what}: trust.channel"), &trust.channel)?;
    if trust.organizations.is_empty() {
        bail!("{what}: trust.organizations is empty");
    }
    if let VerificationPolicy::AtLeast(k) = trust.policy
        && !(1..=trust.organizations.len()).contains(&usize::try_from(k).unwrap_or(usize::MAX))
    {
        bail!(
            "{what}: trust.policy at_least {k} of {} organisation(s)",
            trust.organizations.len()
        );
    }
    if trust.previous_grace_seconds > MAX_TRUST_GRACE_SECONDS {
        bail!(
            "{what}: trust.previous_grace_seconds {} exceeds {MAX_TRUST_GRACE_SECONDS} (a week)",
            trust.previous_grace_seconds
        );
    }
    let organizations = trust
        .organizations
        .iter()
        .map(|org| {
            let root_certificates = org
                .root_certificate_files
                .iter()
                .map(|file| {
                    let path = relative_to(base, file);
                    std::fs::read_to_string(&path).with_context(|| {
                        format!(
                            "{what}: trust of {}: reading {}",
                            org.msp_id,
                            path.display()
                        )
                    })
                })
                .collect::<anyhow::Result<_>>()?;
            Ok(TrustedOrganization {
                msp_id: org.msp_id.clone(),
                root_certificates,
            })
        })
        .collect::<anyhow::Result<_>>()?;
    Ok(NetworkTrust {
        network_id: network_id.to_owned(),
        channel: trust.channel.clone(),
        organizations,
        policy: trust.policy,
        previous_grace_seconds: trust.previous_grace_seconds,
    })
}

impl Setup {
    /// Reads and checks a setup file.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the setup file {}", path.display()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        SetupFile::from_json(&text)
            .and_then(|file| file.check(base))
            .with_context(|| format!("setup file {}", path.display()))
    }

    /// The contract calls, in the order the contract needs them (the
    /// network's own settings first), with each user's certificate from
    /// `description`; users without an `org` are of `default_org`.
    pub fn plan(
        &self,
        description: &NetworkDescription,
        default_org: &str,
    ) -> anyhow::Result<Vec<Step>> {
        let identity = |org: &Option<String>, user: &str, what: &str| -> anyhow::Result<Identity> {
            let org_name = org.as_deref().unwrap_or(default_org);
            let org = description
                .organization(org_name)
                .with_context(|| format!("{what}: network {}", description.name))?;
            let user = org
                .user(user)
                .with_context(|| format!("{what}: network {}", description.name))?;
            let certificate = std::fs::read(&user.cert).with_context(|| {
                format!("{what}: reading the certificate {}", user.cert.display())
            })?;
            Ok(Identity::new(org.msp_id.clone(), certificate))
        };

        let network = &self.network;
        let mut steps = vec![Step {
            summary: format!(
                "network {}: at most {} request(s) per {} s; consent {}; break-glass {}",
                network.network_id,
                network.rate_limit_max,
                network.rate_limit_window_seconds,
                if network.consent_required {
                    "required"
                } else {
                    "not required"
                },
                if network.break_glass {
                    "allowed"
                } else {
                    "not allowed"
                }
            ),
            call: Call::Configure(network.clone()),
        }];
        for remote in &self.remotes {
            steps.push(Step {
                summary: format!(
                    "lookup table: {} ({:?}) with key {}",
                    remote.network_id, remote.status, remote.network_key
                ),
                call: Call::PutRemote(remote.clone()),
            });
        }
        for trust in &self.trusts {
            let orgs: Vec<&str> = trust
                .organizations
                .iter()
                .map(|org| org.msp_id.as_str())
                .collect();
            steps.push(Step {
                summary: format!(
                    "trust of {}: channel {}, organisations {orgs:?}, {} must endorse",
                    trust.network_id,
                    trust.channel,
                    trust.policy.required(orgs.len())
                ),
                call: Call::PutTrust(trust.clone()),
            });
        }
        for (requester, key) in &self.requesters {
            let what = format!("requester {}", requester.code);
            let identity = identity(&requester.org, &requester.user, &what)?;
            steps.push(Step {
                summary: format!(
                    "requester {} is {} of {} with privileges {:?}, key {}",
                    requester.code,
                    requester.user,
                    identity.msp_id(),
                    requester.privileges,
                    hex::encode(key)
                ),
                call: Call::Requester(RequesterRegistration::new(
                    requester.code.clone(),
                    ehrx_client::ehr::member_identity(&identity),
                    requester.privileges.clone(),
                    key,
                )),
            });
        }
        for (role, member) in &self.members {
            let what = format!("{role} {}", member.user);
            let identity = identity(&member.org, &member.user, &what)?;
            steps.push(Step {
                summary: format!("{role}: {} of {}", member.user, identity.msp_id()),
                call: Call::Member(*role, ehrx_client::ehr::member_identity(&identity)),
            });
        }
        Ok(steps)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use serde_json::json;

    use super::*;
    use crate::testing::file;

    /// A description of network `net1` with two organisations, each with an
    /// admin and two users whose certificate files exist in `dir`.
    pub(crate) fn description(dir: &Path) -> NetworkDescription {
        let mut organizations = Vec::new();
        for (name, msp_id) in [("org1", "Net1Org1MSP"), ("org2", "Net1Org2MSP")] {
            let mut users = Vec::new();
            for user in ["Admin", "User1", "User2"] {
                let cert = dir.join(format!("{msp_id}-{user}.pem"));
                std::fs::write(
                    &cert,
                    format!("-----BEGIN CERTIFICATE-----\n{msp_id} {user}\n"),
                )
                .unwrap();
                users.push(json!({
                    "name": user, "role": "client", "key_type": "ecdsa",
                    "msp_dir": dir, "cert": cert, "key": dir.join("missing.key"),
                    "tls_cert": dir.join("tls.crt"), "tls_key": dir.join("tls.key"),
                }));
            }
            organizations.push(json!({
                "name": name, "msp_id": msp_id, "domain": format!("{name}.example.com"),
                "msp_dir": dir, "ca_cert": dir.join("ca.pem"), "tls_ca_cert": dir.join("tlsca.pem"),
                "peers": [], "users": users,
            }));
        }
        let json = json!({
            "name": "net1", "title": "Network I", "channel": "ehrchannel",
            "fabric_version": "3.1.5", "channel_capability": "V3_0", "orderer_type": "raft", "orderers": [], "organizations": organizations,
        });
        NetworkDescription::from_json(json.to_string().as_bytes()).unwrap()
    }

    /// An Ed25519 public key (RFC 8032 §7.1, test 1).
    const NET2_KEY: &str = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";

    fn check(json: serde_json::Value, base: &Path) -> anyhow::Result<Setup> {
        SetupFile::from_json(&json.to_string())?.check(base)
    }

    fn error(json: serde_json::Value) -> String {
        let dir = tempfile::tempdir().unwrap();
        format!("{:#}", check(json, dir.path()).unwrap_err())
    }

    #[test]
    fn a_full_setup_becomes_calls_in_order_with_certificates() {
        let dir = tempfile::tempdir().unwrap();
        let description = description(dir.path());
        let requester_key = keys::generate_requester_key(&dir.path().join("doctor.key")).unwrap();
        std::fs::write(dir.path().join("net3.pub"), format!("{NET2_KEY}\n")).unwrap();
        std::fs::write(dir.path().join("net2-ca.pem"), "net2 CA PEM").unwrap();
        let file = file(dir.path(), "setup.json", json!({
                "network": {"network_id": "net1", "rate_limit_max": 5},
                "remote_networks": [
                    {"network_id": "net2", "network_key": NET2_KEY, "trust": {
                        "channel": "ehrchannel",
                        "organizations": [{"msp_id": "Net2Org1MSP", "root_certificate_files": ["net2-ca.pem"]}]}},
                    {"network_id": "net3", "network_key_file": "net3.pub", "status": "suspended"},
                ],
                "requesters": [
                    {"code": "DR-0001", "user": "User2", "requester_key_file": "doctor.key"},
                    {"code": "DR-0002", "user": "User1", "org": "org2", "privileges": [],
                     "encryption_key": "ab".repeat(32)},
                ],
                "responders": [{"user": "User1"}, {"user": "User1", "org": "Net1Org2MSP"}],
                "relays": [{"user": "User2", "org": "org2"}],
                "uploaders": [{"user": "User2"}],
            })
            .to_string());
        let setup = Setup::load(&file).unwrap();
        let steps = setup.plan(&description, "Net1Org1MSP").unwrap();
        assert_eq!(steps.len(), 1 + 2 + 1 + 2 + 2 + 1 + 1);
        assert_eq!(
            steps[0].call,
            Call::Configure(NetworkConfig {
                network_id: "net1".into(),
                rate_limit_max: 5,
                rate_limit_window_seconds: 60,
                consent_required: false,
                break_glass: false,
            })
        );
        assert_eq!(
            steps[2].call,
            Call::PutRemote(RemoteNetwork::new(
                "net3",
                &keys::hex32(NET2_KEY, "k").unwrap(),
                RemoteStatus::Suspended
            ))
        );
        assert_eq!(
            steps[3].call,
            Call::PutTrust(NetworkTrust {
                network_id: "net2".into(),
                channel: "ehrchannel".into(),
                organizations: vec![TrustedOrganization {
                    msp_id: "Net2Org1MSP".into(),
                    root_certificates: vec!["net2 CA PEM".into()],
                }],
                policy: VerificationPolicy::All,
                previous_grace_seconds: 0,
            })
        );
        assert!(
            steps[3].summary.contains("1 must endorse"),
            "{}",
            steps[3].summary
        );
        let steps = [&steps[..3], &steps[4..]].concat();
        let Call::Requester(doctor) = &steps[3].call else {
            panic!("not a requester: {:?}", steps[3]);
        };
        assert_eq!(doctor.requester_code, "DR-0001");
        assert_eq!(doctor.msp_id, "Net1Org1MSP");
        assert!(doctor.certificate.contains("Net1Org1MSP User2"));
        assert_eq!(doctor.privileges, ["request"]);
        assert_eq!(doctor.encryption_key.bytes(), requester_key.public_key());
        let Call::Requester(other) = &steps[4].call else {
            panic!("not a requester: {:?}", steps[4]);
        };
        assert_eq!(other.msp_id, "Net1Org2MSP");
        assert!(other.privileges.is_empty());
        let roles: Vec<(Role, String)> = steps[5..]
            .iter()
            .map(|step| match &step.call {
                Call::Member(role, member) => (*role, member.msp_id.clone()),
                other => panic!("not a member: {other:?}"),
            })
            .collect();
        assert_eq!(
            roles,
            [
                (Role::Responder, "Net1Org1MSP".into()),
                (Role::Responder, "Net1Org2MSP".into()),
                (Role::Relay, "Net1Org2MSP".into()),
                (Role::Uploader, "Net1Org1MSP".into()),
            ]
        );
        assert!(steps[5].summary.contains("responder: User1 of Net1Org1MSP"));
    }

    #[test]
    fn unknown_fields_are_refused_with_their_name() {
        let text = error(json!({"network": {"network_id": "net1"}, "requestors": []}));
        assert!(text.contains("unknown field \"requestors\""), "{text}");
        let text = error(json!({"network": ["net1", 100, 60]}));
        assert!(text.contains("network"), "{text}");
        let text = SetupFile::from_json(r#"{"network": {"network_id": "a", "network_id": "b"}}"#)
            .unwrap_err()
            .to_string();
        assert!(text.contains("repeats the key"), "{text}");
        let text = error(json!({"network": {"network_id": "net1", "rate": 3}}));
        assert!(text.contains("unknown field \"rate\""), "{text}");
        let text = error(json!({"remote_networks": []}));
        assert!(text.contains("missing field `network`"), "{text}");
    }

    #[test]
    fn ids_limits_and_statuses_are_checked() {
        let text = error(json!({"network": {"network_id": "net 1"}}));
        assert!(text.contains("network.network_id \"net 1\""), "{text}");
        let text = error(json!({"network": {"network_id": "net1", "rate_limit_max": 0}}));
        assert!(
            text.contains("rate_limit_max must be in 1..=10000"),
            "{text}"
        );
        let text =
            error(json!({"network": {"network_id": "net1", "rate_limit_window_seconds": 86401}}));
        assert!(text.contains("rate_limit_window_seconds"), "{text}");
        let text = error(json!({
            "network": {"network_id": "net1"},
            "remote_networks": [{"network_id": "net2", "network_key": NET2_KEY, "status": "paused"}],
        }));
        assert!(text.contains("unknown variant `paused`"), "{text}");
    }

    #[test]
    fn remote_keys_must_be_one_valid_ed25519_key() {
        let remote = |entry: serde_json::Value| {
            error(json!({"network": {"network_id": "net1"}, "remote_networks": [entry]}))
        };
        let text = remote(json!({"network_id": "net2"}));
        assert!(
            text.contains("remote_networks[0] (net2): needs `network_key` or `network_key_file`"),
            "{text}"
        );
        let text =
            remote(json!({"network_id": "net2", "network_key": NET2_KEY, "network_key_file": "k"}));
        assert!(text.contains("not both"), "{text}");
        let text = remote(json!({"network_id": "net2", "network_key": "abc"}));
        assert!(text.contains("`network_key` is 3 bytes long"), "{text}");
        let text = remote(json!({"network_id": "net2", "network_key": "ab".repeat(16)}));
        assert!(text.contains("32 bytes long, expected 64"), "{text}");
        let text = remote(json!({"network_id": "net2", "network_key_file": "missing.pub"}));
        assert!(
            text.contains("network_key_file") && text.contains("missing.pub"),
            "{text}"
        );
        let text = remote(json!({"network_id": "net1", "network_key": NET2_KEY}));
        assert!(text.contains("this network's own id"), "{text}");
        // Some 32-byte strings are no curve point at all.
        let off_curve = (0u8..=255)
            .map(|b| [b; 32])
            .find(|key| keys::check_ed25519_public(key, "k").is_err())
            .unwrap();
        let text = remote(json!({"network_id": "net2", "network_key": hex::encode(off_curve)}));
        assert!(text.contains("not a valid Ed25519 public key"), "{text}");
        let text = error(json!({
            "network": {"network_id": "net1"},
            "remote_networks": [
                {"network_id": "net2", "network_key": NET2_KEY},
                {"network_id": "net2", "network_key": NET2_KEY},
            ],
        }));
        assert!(
            text.contains("remote_networks[1] (net2): listed twice"),
            "{text}"
        );
    }

    #[test]
    fn a_remote_trust_needs_organisations_a_fitting_policy_and_readable_roots() {
        let trust = |trust: serde_json::Value| {
            error(
                json!({"network": {"network_id": "net1"}, "remote_networks": [
                {"network_id": "net2", "network_key": NET2_KEY, "trust": trust}]}),
            )
        };
        let org = json!({"msp_id": "Net2Org1MSP", "root_certificate_files": ["missing.pem"]});
        let text = trust(json!({"channel": "ehrchannel", "organizations": []}));
        assert!(text.contains("trust.organizations is empty"), "{text}");
        let text = trust(
            json!({"channel": "ehrchannel", "organizations": [org], "policy": {"at_least": 2}}),
        );
        assert!(text.contains("at_least 2 of 1"), "{text}");
        let text = trust(json!({"channel": "ehr channel", "organizations": [org]}));
        assert!(text.contains("trust.channel"), "{text}");
        let text = trust(json!({"channel": "ehrchannel", "organizations": [org]}));
        assert!(text.contains("missing.pem"), "{text}");
        let text =
            trust(json!({"channel": "ehrchannel", "organizations": [org], "policy": "most"}));
        assert!(text.contains("unknown variant `most`"), "{text}");
    }

    #[test]
    fn requesters_need_a_valid_code_key_and_privileges_once_each() {
        let requesters = |entries: serde_json::Value| {
            error(json!({"network": {"network_id": "net1"}, "requesters": entries}))
        };
        let key = "ab".repeat(32);
        let text = requesters(json!([{"code": "DR 1", "user": "User2", "encryption_key": key}]));
        assert!(text.contains("requesters[0] (DR 1): code"), "{text}");
        let text = requesters(json!([{"code": "DR-1", "user": "User2"}]));
        assert!(
            text.contains("needs `encryption_key` or `requester_key_file`"),
            "{text}"
        );
        let text = requesters(
            json!([{"code": "DR-1", "user": "User2", "encryption_key": key,
                                      "privileges": ["read"]}]),
        );
        assert!(
            text.contains("privilege \"read\" is not a privilege"),
            "{text}"
        );
        let text = requesters(
            json!([{"code": "DR-1", "user": "User2", "encryption_key": key,
                                      "privileges": ["request", "request"]}]),
        );
        assert!(text.contains("listed twice"), "{text}");
        let text = requesters(json!([
            {"code": "DR-1", "user": "User2", "encryption_key": key},
            {"code": "DR-1", "user": "User1", "encryption_key": key},
        ]));
        assert!(
            text.contains("requesters[1] (DR-1): the code is listed twice"),
            "{text}"
        );
        let text = requesters(json!([
            {"code": "DR-1", "user": "User2", "encryption_key": key},
            {"code": "DR-2", "user": "User2", "encryption_key": key},
        ]));
        assert!(text.contains("one identity, one code"), "{text}");
        let text = requesters(
            json!([{"code": "DR-1", "user": "User2", "requester_key_file": "nope.key"}]),
        );
        assert!(
            text.contains("requester_key_file") && text.contains("nope.key"),
            "{text}"
        );
        let text = error(json!({"network": {"network_id": "net1"},
                                "relays": [{"user": "User3"}, {"user": "User3"}]}));
        assert!(text.contains("relays[1] (User3): listed twice"), "{text}");
    }

    #[test]
    fn unknown_users_and_organisations_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let description = description(dir.path());
        let plan = |json: serde_json::Value| {
            let setup = check(json, dir.path()).unwrap();
            format!("{:#}", setup.plan(&description, "org1").unwrap_err())
        };
        let text =
            plan(json!({"network": {"network_id": "net1"}, "uploaders": [{"user": "User9"}]}));
        assert!(
            text.contains("uploader User9") && text.contains("has no user User9"),
            "{text}"
        );
        let text = plan(json!({"network": {"network_id": "net1"},
                               "relays": [{"user": "User1", "org": "org7"}]}));
        assert!(
            text.contains("relay User1") && text.contains("no organisation org7"),
            "{text}"
        );
    }

    #[test]
    fn a_missing_setup_file_is_named() {
        let text = format!(
            "{:#}",
            Setup::load(Path::new("/nonexistent/setup.json")).unwrap_err()
        );
        assert!(text.contains("/nonexistent/setup.json"), "{text}");
    }
}
