//! Who is calling, and what they may do.
//!
//! An admin is a creator whose certificate carries the NodeOU `admin`: the
//! peer has already checked that the creator belongs to one of the
//! channel's organisations, so the OU is enough. Everyone else acts through
//! a registration on this ledger (requester, responder, relay, uploader),
//! keyed by MSP id and Fabric client id. A flagged identity is refused
//! before any function runs.

use ehrx_interface::{limits::MAX_MSP_ID_BYTES, rules::is_msp_id};
use hlf_protos::msp::SerializedIdentity;
use prost::Message as _;

use crate::{
    ehr::{
        error::EhrError,
        state::{self, Flag, Registration, Requester, Role, key},
    },
    shim::{Stub, client_identity::ClientIdentity},
};

/// The proposal's creator.
#[derive(Debug, Clone)]
pub struct Caller {
    identity: ClientIdentity,
}

impl Caller {
    /// The creator of `stub`'s transaction.
    pub fn of(stub: &Stub) -> Result<Self, EhrError> {
        Ok(Self {
            identity: ClientIdentity::from_stub(stub)?,
        })
    }

    /// The creator of `stub`'s transaction, if registered in `role`
    /// (else the access error of [`require_role`](Self::require_role)).
    pub async fn in_role(stub: &Stub, role: Role) -> Result<Self, EhrError> {
        let caller = Self::of(stub)?;
        caller.require_role(stub, role).await?;
        Ok(caller)
    }

    /// The caller's MSP.
    pub fn msp_id(&self) -> &str {
        self.identity.msp_id()
    }

    /// The caller's client id.
    pub fn id(&self) -> &str {
        self.identity.id()
    }

    /// The caller's identity.
    pub fn identity(&self) -> &ClientIdentity {
        &self.identity
    }

    /// Whether this is the same identity as `other`: same MSP, same
    /// certificate.
    pub fn is(&self, other: &ClientIdentity) -> bool {
        self.identity.msp_id() == other.msp_id()
            && self.identity.certificate() == other.certificate()
    }

    /// Fails unless the signed message's `signer` (a serialised identity)
    /// is the caller, since a request or reply is submitted by whoever
    /// signed it; returns the signer.
    pub fn require_signed_by_self(
        &self,
        signer: &[u8],
        what: &str,
    ) -> Result<ClientIdentity, EhrError> {
        let signer = ClientIdentity::from_creator(signer)
            .map_err(|e| EhrError::invalid("signer", e.to_string()))?;
        if self.is(&signer) {
            return Ok(signer);
        }
        Err(EhrError::AccessDenied(format!(
            "the {what} is signed by {} of {}, not by the submitting identity",
            signer.id(),
            signer.msp_id()
        )))
    }

    /// Fails unless the caller is an org admin.
    pub fn require_admin(&self) -> Result<(), EhrError> {
        if self.identity.has_ou("admin") {
            Ok(())
        } else {
            Err(EhrError::AccessDenied(format!(
                "{} of {} is not an org admin (certificate OU \"admin\")",
                self.id(),
                self.msp_id()
            )))
        }
    }

    /// The caller's registration in `role`, or an access error.
    pub async fn require_role(&self, stub: &Stub, role: Role) -> Result<Registration, EhrError> {
        state::get(
            stub,
            "registration",
            &key::role(role, self.msp_id(), self.id())?,
        )
        .await?
        .ok_or_else(|| {
            EhrError::AccessDenied(format!(
                "{} of {} is not a registered {}",
                self.id(),
                self.msp_id(),
                role.name()
            ))
        })
    }

    /// The requester registration bound to the caller, if any.
    pub async fn requester(&self, stub: &Stub) -> Result<Option<Requester>, EhrError> {
        let Some(code) =
            state::get_index(stub, &key::requester_of(self.msp_id(), self.id())?).await?
        else {
            return Ok(None);
        };
        state::get(stub, "requester", &key::requester(&code)?).await
    }

    /// Fails if the caller is flagged.
    pub async fn require_not_flagged(&self, stub: &Stub) -> Result<(), EhrError> {
        let flag: Option<Flag> =
            state::get(stub, "flag", &key::flag(self.msp_id(), self.id())?).await?;
        match flag {
            None => Ok(()),
            Some(flag) => Err(EhrError::Flagged {
                msp_id: flag.msp_id,
                id: flag.identity_id,
                reason: flag.reason,
            }),
        }
    }
}

/// The identity a registration names: `certificate` (PEM) under `msp_id`.
pub fn identity_of(msp_id: &str, certificate: &str) -> Result<ClientIdentity, EhrError> {
    check_msp_id(msp_id)?;
    let creator = SerializedIdentity {
        mspid: msp_id.to_owned(),
        id_bytes: certificate.as_bytes().to_vec(),
    }
    .encode_to_vec();
    ClientIdentity::from_creator(&creator)
        .map_err(|e| EhrError::invalid("certificate", e.to_string()))
}

/// MSP ids are short names without control characters.
pub fn check_msp_id(msp_id: &str) -> Result<(), EhrError> {
    if !is_msp_id(msp_id) {
        return Err(EhrError::invalid(
            "msp_id",
            format!("must be 1 to {MAX_MSP_ID_BYTES} bytes without control characters"),
        ));
    }
    Ok(())
}
