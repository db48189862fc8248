//! The registry functions an organisation admin calls: the network's own
//! settings, the lookup table of other networks, the identities allowed to
//! request, respond, relay and upload, flags, and the audit trail.
//!
//! Each is one typed call; the JSON is built from the structs in
//! [`interface`](super::interface), so field names live in one place.

use serde::Serialize;

use super::{
    error::{Error, parse_result},
    interface,
    interface::{
        AuditEntry, AuditSubject, FlaggedIdentity, MemberIdentity, NetworkConfig, NetworkTrust,
        RemoteNetwork, RequesterRegistration, function, private::LEDGER_SECRET,
    },
    patient::PatientRef,
    peer_lag::{Transient, backoff, retry},
};
use crate::fabric::{Committed, Contract, Identity};

/// Runs `submit`, a submit of the admin function `function`, again while
/// an endorser lags a block behind the others (nothing was written then),
/// as right after the change before it; see [`Transient::PeerLag`].
async fn submit_in_step<F, Fut>(function: &'static str, submit: F) -> Result<Committed, Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Committed, Error>>,
{
    retry(
        Transient::PeerLag(&[]),
        backoff(function.as_bytes()),
        submit,
    )
    .await
}

/// The admin functions of one network's contract, called as the client's
/// identity (which the contract requires to be an organisation admin).
#[derive(Debug, Clone, Copy)]
pub struct Admin<'a> {
    contract: &'a Contract,
}

/// A fresh 32-byte ledger secret from the OS random source: the key of the
/// keyed hashes that name the contract's private state in blocks.
pub fn ledger_secret() -> Result<[u8; 32], Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| Error::Random(e.to_string()))?;
    Ok(bytes)
}

/// `ConfigureNetwork` with `config` (any JSON value: lab and test tools
/// send malformed ones too), carrying a fresh [`ledger_secret`] in the
/// transient map. The first call stores it; later ones change only the
/// limits, and their secret is ignored.
pub async fn configure_network(
    contract: &Contract,
    config: &impl Serialize,
) -> Result<Committed, Error> {
    let json = serde_json::to_vec(config)
        .map_err(|e| Error::unexpected(function::CONFIGURE_NETWORK, e))?;
    submit_in_step(function::CONFIGURE_NETWORK, || async {
        let secret = ledger_secret()?;
        Ok(contract
            .submit_with_transient(
                function::CONFIGURE_NETWORK,
                [json.as_slice()],
                [(LEDGER_SECRET, secret.to_vec())],
            )
            .await?)
    })
    .await
}

/// The registry entry for a Fabric identity: its MSP id and certificate.
pub fn member_identity(identity: &Identity) -> MemberIdentity {
    MemberIdentity {
        msp_id: identity.msp_id().to_string(),
        certificate: String::from_utf8_lossy(identity.certificate_pem()).into_owned(),
    }
}

impl<'a> Admin<'a> {
    pub(crate) fn new(contract: &'a Contract) -> Self {
        Self { contract }
    }

    async fn submit_json(
        &self,
        function: &'static str,
        argument: &impl Serialize,
    ) -> Result<Committed, Error> {
        let json = serde_json::to_vec(argument).map_err(|e| Error::unexpected(function, e))?;
        submit_in_step(function, || async {
            Ok(self.contract.submit(function, [json.as_slice()]).await?)
        })
        .await
    }

    /// Sets this network's id and the requesters' rate limit. The call
    /// carries a fresh ledger secret in its transient map; the contract
    /// keeps the first one it gets (see [`configure_network`]).
    pub async fn configure_network(&self, config: &NetworkConfig) -> Result<Committed, Error> {
        configure_network(self.contract, config).await
    }

    /// Adds or updates another network in the lookup table.
    pub async fn put_remote_network(&self, remote: &RemoteNetwork) -> Result<Committed, Error> {
        self.submit_json(function::PUT_REMOTE_NETWORK, remote).await
    }

    /// Sets whose peers must prove what another network forwards: its
    /// organisations' CA roots, its channel and the verification policy.
    pub async fn put_network_trust(&self, trust: &NetworkTrust) -> Result<Committed, Error> {
        self.submit_json(function::PUT_NETWORK_TRUST, trust).await
    }

    /// Removes a network from the lookup table.
    pub async fn remove_remote_network(&self, network_id: &str) -> Result<Committed, Error> {
        submit_in_step(function::REMOVE_REMOTE_NETWORK, || async {
            Ok(self
                .contract
                .submit(function::REMOVE_REMOTE_NETWORK, [network_id])
                .await?)
        })
        .await
    }

    /// Registers a requester: their code, identity, privileges and key.
    pub async fn register_requester(
        &self,
        requester: &RequesterRegistration,
    ) -> Result<Committed, Error> {
        let json = serde_json::to_vec(requester)
            .map_err(|e| Error::unexpected(function::REGISTER_REQUESTER, e))?;
        // In the transient map: the block must not name the code.
        submit_in_step(function::REGISTER_REQUESTER, || async {
            Ok(interface::submit(
                self.contract,
                function::REGISTER_REQUESTER,
                [json.as_slice()],
            )
            .await?)
        })
        .await
    }

    /// Registers an identity that may submit replies.
    pub async fn register_responder(&self, member: &MemberIdentity) -> Result<Committed, Error> {
        self.submit_json(function::REGISTER_RESPONDER, member).await
    }

    /// Registers the relay's identity.
    pub async fn register_relay(&self, member: &MemberIdentity) -> Result<Committed, Error> {
        self.submit_json(function::REGISTER_RELAY, member).await
    }

    /// Registers an identity that may upload records.
    pub async fn register_uploader(&self, member: &MemberIdentity) -> Result<Committed, Error> {
        self.submit_json(function::REGISTER_UPLOADER, member).await
    }

    /// Registers an identity that may store and revoke consents for
    /// patients.
    pub async fn register_consent_manager(
        &self,
        member: &MemberIdentity,
    ) -> Result<Committed, Error> {
        self.submit_json(function::REGISTER_CONSENT_MANAGER, member)
            .await
    }

    /// Clears the flag of an identity that exceeded the rate limit.
    pub async fn clear_flag(&self, member: &MemberIdentity) -> Result<Committed, Error> {
        self.submit_json(function::CLEAR_FLAG, &FlaggedIdentity::from(member.clone()))
            .await
    }

    /// The audit entries of a subject, oldest first.
    pub async fn audit_trail(&self, subject: AuditSubject<'_>) -> Result<Vec<AuditEntry>, Error> {
        let result = self
            .contract
            .evaluate(function::AUDIT_TRAIL, [subject.as_arg()])
            .await?;
        parse_result(function::AUDIT_TRAIL, &result)
    }

    /// A patient's accounting of disclosures and refusals.
    pub async fn patient_audit_trail(
        &self,
        patient_ref: &PatientRef,
    ) -> Result<Vec<AuditEntry>, Error> {
        self.audit_trail(AuditSubject::Patient(&patient_ref.to_hex()))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ehr::interface::{NetworkStatus, rules};

    #[test]
    fn member_identities_carry_the_msp_id_and_pem() {
        let identity = Identity::new("Net1Org2MSP", "-----BEGIN CERTIFICATE-----\n…");
        let member = member_identity(&identity);
        assert_eq!(member.msp_id, "Net1Org2MSP");
        assert!(
            member
                .certificate
                .starts_with("-----BEGIN CERTIFICATE-----")
        );
        let json = serde_json::to_value(&member).unwrap();
        assert_eq!(json["msp_id"], "Net1Org2MSP");

        let requester = RequesterRegistration::new(
            "DR-1",
            member,
            vec![rules::PRIVILEGE_REQUEST.into()],
            &[0xab; 32],
        );
        assert_eq!(requester.encryption_key.to_hex(), "ab".repeat(32));
        assert_eq!(requester.msp_id, "Net1Org2MSP");
        let remote = RemoteNetwork::new("net2", &[1; 32], NetworkStatus::Active);
        assert_eq!(remote.network_key.to_hex(), "01".repeat(32));
    }
}
