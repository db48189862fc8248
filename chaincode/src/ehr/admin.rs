//! Functions only an org admin may call: this network's configuration, the
//! lookup table of remote networks, the registries of requesters,
//! responders, relays and uploaders, clearing flags, and reading the audit
//! log. Every change is an audit entry under the subject `admin`.

use ehrx_interface::{
    Key32,
    limits::{RATE_LIMIT_MAX, RATE_LIMIT_WINDOW_SECONDS},
    names::private::LEDGER_SECRET,
    quote,
    rules::check_privileges,
    types::{Changed, FlaggedIdentity, MemberIdentity, RegisteredRequester, RequesterRegistration},
};

use crate::{
    ehr::{
        access::{self, Caller},
        audit::{self, AuditKind, Write as _},
        error::EhrError,
        messages::{self, json_arg},
        state::{self, Flag, NetworkConfig, Registration, RemoteNetwork, Requester, Role, key},
        trust,
    },
    shim::{
        Stub,
        contract::{Args, ContractError, Json},
    },
};

fn changed<T>(value: T) -> Json<Changed<T>> {
    Json(Changed::ok(value))
}

fn admin(stub: &Stub) -> Result<Caller, EhrError> {
    let caller = Caller::of(stub)?;
    caller.require_admin()?;
    Ok(caller)
}

async fn log_change(stub: &Stub, caller: &Caller, detail: String) -> Result<(), EhrError> {
    audit::entry(stub, caller, AuditKind::AdminChange, audit::ADMIN, detail)?
        .write(stub)
        .await
}

/// ConfigureNetwork's transient map: the ledger secret (see
/// [`state`]), required by the first call and stored in the private state;
/// a later call may leave it out or carry any: the first one stays (an
/// admin tool can send a fresh one every time). No other transient key is
/// taken.
async fn set_ledger_secret(stub: &Stub) -> Result<(), EhrError> {
    let transient = stub.transient()?;
    if let Some(other) = transient.keys().find(|k| k.as_str() != LEDGER_SECRET) {
        return Err(EhrError::invalid(
            "transient map",
            format!(
                "{} is not a transient key of ConfigureNetwork",
                quote(other)
            ),
        ));
    }
    let given = transient.get(LEDGER_SECRET);
    let key = key::secret()?;
    match (stub.get_private_data(state::STATE, &key).await?, given) {
        (Some(_), _) => Ok(()),
        (None, None) => Err(EhrError::invalid(
            LEDGER_SECRET,
            "the first ConfigureNetwork must carry the network's 32-byte ledger secret in the transient map",
        )),
        (None, Some(given)) if given.len() != 32 || given.iter().all(|b| *b == 0) => {
            Err(EhrError::invalid(
                LEDGER_SECRET,
                format!("must be 32 random bytes, not {} bytes", given.len()),
            ))
        }
        (None, Some(given)) => {
            stub.put_private_data(state::STATE, &key, given.clone())
                .await?;
            Ok(())
        }
    }
}

/// `ConfigureNetwork(config_json)`.
pub async fn configure_network(
    stub: Stub,
    args: Args,
) -> Result<Json<Changed<NetworkConfig>>, ContractError> {
    let caller = admin(&stub)?;
    let config: NetworkConfig = json_arg(&args, "config")?;
    messages::check_name("network_id", &config.network_id)?;
    if !RATE_LIMIT_MAX.contains(&config.rate_limit_max) {
        return Err(EhrError::invalid(
            "rate_limit_max",
            format!(
                "must be {} to {}",
                RATE_LIMIT_MAX.start(),
                RATE_LIMIT_MAX.end()
            ),
        )
        .into());
    }
    if !RATE_LIMIT_WINDOW_SECONDS.contains(&config.rate_limit_window_seconds) {
        return Err(EhrError::invalid(
            "rate_limit_window_seconds",
            format!(
                "must be {} to {}",
                RATE_LIMIT_WINDOW_SECONDS.start(),
                RATE_LIMIT_WINDOW_SECONDS.end()
            ),
        )
        .into());
    }
    let key = key::config()?;
    let existing: Option<NetworkConfig> = state::get(&stub, "network configuration", &key).await?;
    if let Some(existing) = existing.filter(|e| e.network_id != config.network_id) {
        // Requests in flight name the old id; renaming would orphan them.
        return Err(EhrError::State(format!(
            "this network is already configured as {}; its id cannot change",
            quote(&existing.network_id)
        ))
        .into());
    }
    set_ledger_secret(&stub).await?;
    state::put(&stub, &key, &config).await?;
    log_change(
        &stub,
        &caller,
        format!(
            "configured network {} with at most {} request(s) per {} s, consent {}, break-glass {}",
            config.network_id,
            config.rate_limit_max,
            config.rate_limit_window_seconds,
            if config.consent_required {
                "required"
            } else {
                "not required"
            },
            if config.break_glass {
                "allowed"
            } else {
                "not allowed"
            }
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
    let network: RemoteNetwork = json_arg(&args, "network")?;
    messages::check_name("network_id", &network.network_id)?;
    if network.network_id == config.network_id {
        return Err(EhrError::invalid("network_id", "is this network's own id").into());
    }
    ed25519_dalek::VerifyingKey::from_bytes(network.network_key.bytes())
        .map_err(|_| EhrError::invalid("network_key", "is not a valid Ed25519 public key"))?;
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
    trust::forget(&stub, &network.network_id).await?;
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
) -> Result<Json<Changed<RegisteredRequester>>, ContractError> {
    let caller = admin(&stub)?;
    state::config(&stub).await?;
    let arg: RequesterRegistration = json_arg(&args, "requester")?;
    messages::check_name("requester_code", &arg.requester_code)?;
    let identity = access::identity_of(&arg.msp_id, &arg.certificate)?;
    check_privileges(&arg.privileges)
        .map_err(|e| EhrError::invalid("privileges", e.to_string()))?;
    // One identity, one code: a request is attributed to exactly one person.
    let binding = key::requester_of(identity.msp_id(), identity.id())?;
    if let Some(code) = state::get_index(&stub, &binding).await?
        && code != arg.requester_code
    {
        return Err(EhrError::State(format!(
            "identity {} is already bound to requester code {}",
            quote(identity.id()),
            quote(&code)
        ))
        .into());
    }
    let requester_key = key::requester(&arg.requester_code)?;
    let previous: Option<Requester> = state::get(&stub, "requester", &requester_key).await?;
    if let Some(previous) = previous
        && (previous.msp_id != identity.msp_id() || previous.identity_id != identity.id())
    {
        // The code moves to a new identity: the old one loses it.
        state::delete(
            &stub,
            &key::requester_of(&previous.msp_id, &previous.identity_id)?,
        )
        .await?;
    }
    let requester = Requester {
        requester_code: arg.requester_code,
        msp_id: identity.msp_id().to_owned(),
        identity_id: identity.id().to_owned(),
        certificate: arg.certificate,
        privileges: arg.privileges,
        encryption_key: arg.encryption_key,
    };
    state::put(&stub, &requester_key, &requester).await?;
    state::put_index(&stub, &binding, &requester.requester_code).await?;
    log_change(
        &stub,
        &caller,
        format!(
            "requester {} bound to {} of {} with privileges {:?}",
            requester.requester_code, requester.identity_id, requester.msp_id, requester.privileges
        ),
    )
    .await?;
    Ok(changed(RegisteredRequester {
        msp_id: requester.msp_id,
        identity_id: requester.identity_id,
        privileges: requester.privileges,
    }))
}

/// `RegisterResponder` / `RegisterRelay` / `RegisterUploader(identity_json)`.
pub async fn register_role(
    stub: Stub,
    args: Args,
    role: Role,
) -> Result<Json<Changed<Registration>>, ContractError> {
    let caller = admin(&stub)?;
    state::config(&stub).await?;
    let arg: MemberIdentity = json_arg(&args, "identity")?;
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
    let arg: FlaggedIdentity = json_arg(&args, "identity")?;
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
    let valid =
        subject == audit::ADMIN || subject == audit::SECURITY || Key32::parse(subject).is_ok();
    if !valid {
        return Err(EhrError::invalid(
            "subject",
            "must be a patient ref (64 lower-case hex), \"admin\" or \"security\"",
        )
        .into());
    }
    Ok(Json(audit::trail(&stub, subject).await?))
}
