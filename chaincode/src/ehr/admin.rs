//! Functions only an org admin may call: this network's configuration, the
//! lookup table of remote networks, the registries of requesters,
//! responders, relays and uploaders, clearing flags, and reading the audit
//! log. Every change is an audit entry under the subject `admin`.

use serde::{Deserialize, Serialize};

use crate::{
    ehr::{
        access::{self, Caller, PRIVILEGES},
        audit::{self, AuditEntry, AuditKind},
        error::EhrError,
        messages,
        state::{
            self, Flag, NetworkConfig, NetworkStatus, Registration, RemoteNetwork, Requester, Role,
            key,
        },
    },
    shim::{
        Stub,
        contract::{Args, ContractError, Json},
    },
};

/// The most requests per window a network may allow.
const MAX_RATE: u32 = 10_000;
/// The longest window, one day.
const MAX_WINDOW_SECONDS: u32 = 86_400;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigArg {
    network_id: String,
    #[serde(default = "default_rate_max")]
    rate_limit_max: u32,
    #[serde(default = "default_window")]
    rate_limit_window_seconds: u32,
}

fn default_rate_max() -> u32 {
    1
}

fn default_window() -> u32 {
    60
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RemoteNetworkArg {
    network_id: String,
    network_key: String,
    status: NetworkStatus,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RequesterArg {
    requester_code: String,
    msp_id: String,
    certificate: String,
    privileges: Vec<String>,
    encryption_key: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct IdentityArg {
    msp_id: String,
    certificate: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClearFlagArg {
    msp_id: String,
    #[serde(default)]
    certificate: Option<String>,
    #[serde(default)]
    identity_id: Option<String>,
}

/// What an admin change returns: what is now stored.
#[derive(Debug, Serialize)]
pub struct Changed<T> {
    outcome: &'static str,
    #[serde(flatten)]
    value: T,
}

fn changed<T>(value: T) -> Json<Changed<T>> {
    Json(Changed {
        outcome: "ok",
        value,
    })
}

fn admin(stub: &Stub) -> Result<Caller, EhrError> {
    let caller = Caller::of(stub)?;
    caller.require_admin()?;
    Ok(caller)
}

async fn log_change(stub: &Stub, caller: &Caller, detail: String) -> Result<(), EhrError> {
    AuditEntry::new(stub, caller, AuditKind::AdminChange, audit::ADMIN, detail)?
        .write(stub)
        .await
}

fn hex_key(what: &'static str, value: &str) -> Result<[u8; 32], EhrError> {
    let bytes = hex::decode(value).map_err(|e| EhrError::invalid(what, format!("not hex: {e}")))?;
    bytes
        .try_into()
        .map_err(|b: Vec<u8>| EhrError::invalid(what, format!("is {} bytes, expected 32", b.len())))
}

/// `ConfigureNetwork(config_json)`.
pub async fn configure_network(
    stub: Stub,
    args: Args,
) -> Result<Json<Changed<NetworkConfig>>, ContractError> {
    let caller = admin(&stub)?;
    let arg: ConfigArg = args.json("config")?;
    if !messages::is_name(&arg.network_id) {
        return Err(EhrError::invalid("network_id", "must be 1 to 64 of A-Z a-z 0-9 - . _").into());
    }
    if !(1..=MAX_RATE).contains(&arg.rate_limit_max) {
        return Err(EhrError::invalid("rate_limit_max", format!("must be 1 to {MAX_RATE}")).into());
    }
    if !(1..=MAX_WINDOW_SECONDS).contains(&arg.rate_limit_window_seconds) {
        return Err(EhrError::invalid(
            "rate_limit_window_seconds",
            format!("must be 1 to {MAX_WINDOW_SECONDS}"),
        )
        .into());
    }
    let key = key::config()?;
    let existing: Option<NetworkConfig> = state::get(&stub, "network configuration", &key).await?;
    if let Some(existing) = existing.filter(|e| e.network_id != arg.network_id) {
        // Requests in flight name the old id; renaming would orphan them.
        return Err(EhrError::State(format!(
            "this network is already configured as {:?}; its id cannot change",
            existing.network_id
        ))
        .into());
    }
    let config = NetworkConfig {
        network_id: arg.network_id,
        rate_limit_max: arg.rate_limit_max,
        rate_limit_window_seconds: arg.rate_limit_window_seconds,
    };
    state::put(&stub, &key, &config).await?;
    log_change(
        &stub,
        &caller,
        format!(
            "configured network {} with at most {} request(s) per {} s",
            config.network_id, config.rate_limit_max, config.rate_limit_window_seconds
        ),
    )
    .await?;
    Ok(changed(config))
}

/// `PutRemoteNetwork(network_json)`.
pub async fn put_remote_network(
    stub: Stub,
    args: Args,
) -> Result<Json<Changed<RemoteNetwork>>, ContractError> {
    let caller = admin(&stub)?;
    let config = state::config(&stub).await?;
    let arg: RemoteNetworkArg = args.json("network")?;
    if !messages::is_name(&arg.network_id) {
        return Err(EhrError::invalid("network_id", "must be 1 to 64 of A-Z a-z 0-9 - . _").into());
    }
    if arg.network_id == config.network_id {
        return Err(EhrError::invalid("network_id", "is this network's own id").into());
    }
    let key_bytes = hex_key("network_key", &arg.network_key)?;
    ed25519_dalek::VerifyingKey::from_bytes(&key_bytes)
        .map_err(|_| EhrError::invalid("network_key", "is not a valid Ed25519 public key"))?;
    let network = RemoteNetwork {
        network_id: arg.network_id,
        network_key: hex::encode(key_bytes),
        status: arg.status,
    };
    state::put(&stub, &key::network(&network.network_id)?, &network).await?;
    log_change(
        &stub,
        &caller,
        format!(
            "lookup table: {} is {:?} with key {}",
            network.network_id, network.status, network.network_key
        ),
    )
    .await?;
    Ok(changed(network))
}

/// `RemoveRemoteNetwork(network_id)`.
pub async fn remove_remote_network(
    stub: Stub,
    args: Args,
) -> Result<Json<Changed<RemoteNetwork>>, ContractError> {
    let caller = admin(&stub)?;
    state::config(&stub).await?;
    let network_id = args.string("network_id")?;
    let key = key::network(network_id).map_err(|_| EhrError::NotFound {
        what: "remote network",
        key: network_id.to_owned(),
    })?;
    let network: RemoteNetwork = state::get(&stub, "remote network", &key)
        .await?
        .ok_or_else(|| EhrError::NotFound {
            what: "remote network",
            key: network_id.to_owned(),
        })?;
    stub.del_state(&key).await?;
    log_change(
        &stub,
        &caller,
        format!("lookup table: removed {}", network.network_id),
    )
    .await?;
    Ok(changed(network))
}

/// `RegisterRequester(requester_json)`: registers or updates a requester.
pub async fn register_requester(
    stub: Stub,
    args: Args,
) -> Result<Json<Changed<Requester>>, ContractError> {
    let caller = admin(&stub)?;
    state::config(&stub).await?;
    let arg: RequesterArg = args.json("requester")?;
    if !messages::is_name(&arg.requester_code) {
        return Err(
            EhrError::invalid("requester_code", "must be 1 to 64 of A-Z a-z 0-9 - . _").into(),
        );
    }
    let identity = access::identity_of(&arg.msp_id, &arg.certificate)?;
    for (index, privilege) in arg.privileges.iter().enumerate() {
        if !PRIVILEGES.contains(&privilege.as_str()) {
            return Err(EhrError::invalid(
                "privileges",
                format!("{privilege:?} is not one of {PRIVILEGES:?}"),
            )
            .into());
        }
        if arg.privileges[..index].contains(privilege) {
            return Err(
                EhrError::invalid("privileges", format!("{privilege:?} is listed twice")).into(),
            );
        }
    }
    let encryption_key = hex_key("encryption_key", &arg.encryption_key)?;
    // One identity, one code: a request is attributed to exactly one person.
    let binding = key::requester_of(identity.msp_id(), identity.id())?;
    if let Some(code) = stub.get_state(&binding).await?
        && code != arg.requester_code.as_bytes()
    {
        return Err(EhrError::State(format!(
            "identity {} is already bound to requester code {:?}",
            identity.id(),
            String::from_utf8_lossy(&code)
        ))
        .into());
    }
    let requester_key = key::requester(&arg.requester_code)?;
    let previous: Option<Requester> = state::get(&stub, "requester", &requester_key).await?;
    if let Some(previous) = previous
        && (previous.msp_id != identity.msp_id() || previous.identity_id != identity.id())
    {
        // The code moves to a new identity: the old one loses it.
        stub.del_state(&key::requester_of(&previous.msp_id, &previous.identity_id)?)
            .await?;
    }
    let requester = Requester {
        requester_code: arg.requester_code,
        msp_id: identity.msp_id().to_owned(),
        identity_id: identity.id().to_owned(),
        certificate: arg.certificate,
        privileges: arg.privileges,
        encryption_key: hex::encode(encryption_key),
    };
    state::put(&stub, &requester_key, &requester).await?;
    stub.put_state(&binding, requester.requester_code.clone().into_bytes())
        .await?;
    log_change(
        &stub,
        &caller,
        format!(
            "requester {} bound to {} of {} with privileges {:?}",
            requester.requester_code, requester.identity_id, requester.msp_id, requester.privileges
        ),
    )
    .await?;
    Ok(changed(requester))
}

/// `RegisterResponder` / `RegisterRelay` / `RegisterUploader(identity_json)`.
pub async fn register_role(
    stub: Stub,
    args: Args,
    role: Role,
) -> Result<Json<Changed<Registration>>, ContractError> {
    let caller = admin(&stub)?;
    state::config(&stub).await?;
    let arg: IdentityArg = args.json("identity")?;
    let identity = access::identity_of(&arg.msp_id, &arg.certificate)?;
    let registration = Registration {
        role,
        msp_id: identity.msp_id().to_owned(),
        identity_id: identity.id().to_owned(),
        certificate: arg.certificate,
    };
    state::put(
        &stub,
        &key::role(role, identity.msp_id(), identity.id())?,
        &registration,
    )
    .await?;
    log_change(
        &stub,
        &caller,
        format!("registered {} as {}", registration.identity_id, role.name()),
    )
    .await?;
    Ok(changed(registration))
}

/// `ClearFlag(identity_json)`: by certificate or by identity id.
pub async fn clear_flag(stub: Stub, args: Args) -> Result<Json<Changed<Flag>>, ContractError> {
    let caller = admin(&stub)?;
    state::config(&stub).await?;
    let arg: ClearFlagArg = args.json("identity")?;
    access::check_msp_id(&arg.msp_id)?;
    let identity_id = match (arg.certificate, arg.identity_id) {
        (Some(certificate), None) => access::identity_of(&arg.msp_id, &certificate)?
            .id()
            .to_owned(),
        (None, Some(id)) if !id.is_empty() => id,
        _ => {
            return Err(EhrError::invalid(
                "identity",
                "give exactly one of certificate and identity_id",
            )
            .into());
        }
    };
    let key = key::flag(&arg.msp_id, &identity_id)
        .map_err(|_| EhrError::invalid("identity_id", "contains a forbidden character"))?;
    let flag: Flag = state::get(&stub, "flag", &key)
        .await?
        .ok_or_else(|| EhrError::NotFound {
            what: "flag of identity",
            key: identity_id.clone(),
        })?;
    stub.del_state(&key).await?;
    log_change(
        &stub,
        &caller,
        format!(
            "cleared the flag of {} of {} ({})",
            flag.identity_id, flag.msp_id, flag.reason
        ),
    )
    .await?;
    Ok(changed(flag))
}

/// `AuditTrail(subject)`: a patient ref (64 hex), `admin` or `security`.
pub async fn audit_trail(
    stub: Stub,
    args: Args,
) -> Result<Json<Vec<audit::AuditEntry>>, ContractError> {
    admin(&stub)?;
    let subject = args.string("subject")?;
    let valid = subject == audit::ADMIN
        || subject == audit::SECURITY
        || (subject.len() == 64
            && subject
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')));
    if !valid {
        return Err(EhrError::invalid(
            "subject",
            "must be a patient ref (64 lower-case hex), \"admin\" or \"security\"",
        )
        .into());
    }
    Ok(Json(audit::trail(&stub, subject).await?))
}
