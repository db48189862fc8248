//! What whoever steals a network's relay host holds, and what he can make
//! with it (issue 12): the relay's configuration with the network's Ed25519
//! key and the relay's TLS files, so he reaches the other networks' relays
//! exactly as the relay does; and a CA of his own, with which he mints
//! requesters, responders and peers under the network's MSP ids and
//! "endorses" proofs of validation. Shared by the stolen-relay-key test and
//! the experiment's trust-across-networks rows.

use std::fmt::Debug;
use std::future::Future;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use ed25519_dalek::SigningKey;
use prost::Message as _;

use ehrx_client::ehr::interface::{
    CHAINCODE, ContractFailure, Forwarded, Key32, ReplyProof, RequestProof,
};
use ehrx_client::fabric::{Identity, PrivateKey, SigningIdentity, config::Organization};
use ehrx_proto::exchange::{
    ChallengeGrant, DeliveryReceipt, ForwardedEnvelope, ValidationProof,
    forwarded_envelope::Payload, proof::testing as endorse,
};
use ehrx_services::relay::{
    RelayConfig,
    remote::{DeliveryError, Remotes},
};
pub use ehrx_testkit::Ca;

use crate::NetworkDescription;
use crate::exchange::relay_config_path;
use crate::forge::{ProofSubject, UserKeys};

/// A network's relay files in a thief's hands.
#[derive(Debug)]
pub struct StolenRelay {
    /// The network whose relay was stolen.
    pub network_id: String,
    /// Its Ed25519 network key, which the other networks' lookup tables
    /// hold.
    pub network_key: SigningKey,
    remotes: Remotes,
}

impl StolenRelay {
    /// Relay `net`'s files, as `network.sh up` wrote them.
    pub fn of(net: &str) -> anyhow::Result<Self> {
        let config = RelayConfig::load(&relay_config_path(net))?;
        Ok(Self {
            network_id: config.network_id.clone(),
            network_key: config.network_key()?,
            remotes: Remotes::new(&config, &config.tls_files()?)?,
        })
    }

    /// `payload` attested with the stolen key, in its network's name.
    pub fn attest(&self, payload: Payload) -> ForwardedEnvelope {
        ForwardedEnvelope::attest(payload, &self.network_id, &self.network_key)
    }

    /// A challenge of network `to` for the stolen network, asked of `to`'s
    /// relay over mutual TLS ([`settled`]: while that relay starts, again).
    pub async fn challenge(&self, to: &str) -> Result<ChallengeGrant, DeliveryError> {
        settled(|| self.remotes.challenge(to, &self.network_id)).await
    }

    /// Delivers `envelope` with `proof` to `to`'s relay, as the stolen
    /// relay would ([`settled`]).
    pub async fn deliver(
        &self,
        to: &str,
        envelope: &ForwardedEnvelope,
        proof: &[u8],
    ) -> Result<DeliveryReceipt, DeliveryError> {
        settled(|| self.remotes.deliver(to, envelope.clone(), proof.to_vec())).await
    }
}

/// What the receiving relay answered the thief's two forgeries of one
/// message ([`StolenRelay::forgeries`]).
#[derive(Debug)]
pub struct Forgeries {
    /// The envelope delivered with no proof at all.
    pub unproven: anyhow::Result<ContractFailure>,
    /// With a proof by peers minted for every organisation of the stolen
    /// network.
    pub minted: anyhow::Result<ContractFailure>,
    /// How many organisations the minted proof names.
    pub minted_orgs: usize,
}

impl StolenRelay {
    /// Delivers `signed` (a message of `kind`), attested with the stolen
    /// key, to `to`'s relay twice: with no proof, then with a proof
    /// "endorsed" by peers minted with `ca` for every organisation of
    /// `from` (the stolen network) for the challenge `nonce` of `to`.
    /// Returns both answers, each a refusal or why it was not one.
    pub async fn forgeries(
        &self,
        ca: &Ca,
        from: &NetworkDescription,
        to: &str,
        kind: Forwarded,
        signed: &[u8],
        nonce: &str,
    ) -> anyhow::Result<Forgeries> {
        let payload = match kind {
            Forwarded::Request => Payload::SignedRequest(signed.to_vec()),
            Forwarded::Reply => Payload::SignedReply(signed.to_vec()),
        };
        let envelope = self.attest(payload);
        let unproven = refusal(self.deliver(to, &envelope, &[]).await);
        let orgs: Vec<&Organization> = from.organizations.iter().collect();
        let proof = minted_proof(ca, from, &orgs, kind, signed, nonce)?;
        let minted = refusal(self.deliver(to, &envelope, &proof).await);
        Ok(Forgeries {
            unproven,
            minted,
            minted_orgs: orgs.len(),
        })
    }
}

/// `call` until it does not fail for a reason that may pass (the other
/// network's relay is still starting, or a commit conflicted), for up to a
/// minute.
pub async fn settled<T, F: Future<Output = Result<T, DeliveryError>>>(
    call: impl Fn() -> F,
) -> Result<T, DeliveryError> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match call().await {
            Err(DeliveryError::Failed(_)) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            other => return other,
        }
    }
}

/// The contract's refusal that the other network's relay passed on for a
/// delivery or a challenge: its code and message. Anything else (accepted,
/// unreachable, refused without a contract code) is an error saying what.
pub fn refusal(result: Result<impl Debug, DeliveryError>) -> anyhow::Result<ContractFailure> {
    match result {
        Err(DeliveryError::Refused(status)) => ContractFailure::from_wire(status.message())
            .with_context(|| format!("refused without a contract code: {}", status.message())),
        other => anyhow::bail!("expected a final refusal, got {other:?}"),
    }
}

/// The thief's own CA, named like the CA of `org` but registered in no
/// lookup table; `seed` makes its key.
pub fn thief_ca(org: &Organization, seed: u8) -> Ca {
    Ca::new(&format!("CN=ca.{0},O={0},C=US", org.domain), seed)
}

/// A client of `org` that the thief minted with `ca`: `user` under the
/// organisation's MSP id (`seed` makes its key).
pub fn minted_user(ca: &Ca, org: &Organization, user: &str, seed: u8) -> anyhow::Result<UserKeys> {
    let subject = format!("CN={user}@{0},OU=client,O={0}", org.domain);
    let issued = ca.issue(&subject, seed, Vec::new());
    let signer = PrivateKey::from_pem(&issued.key_pem)?.into_signer();
    let identity = SigningIdentity::new(
        Identity::new(&org.msp_id, issued.cert_pem.into_bytes()),
        signer.clone(),
    );
    Ok(UserKeys {
        signer,
        creator: identity.creator().to_vec(),
    })
}

/// A proof of validation "endorsed" by one peer of each organisation of
/// `orgs` (of network `net`), each minted by the thief with `ca` under the
/// organisation's MSP id and with the NodeOU `peer`: `kind`'s prove
/// function called with (request id, SHA-256 of `signed`, `nonce`) and
/// answered with exactly the statement `net`'s contract would give.
/// Everything about it is right except who issued the endorsers'
/// certificates.
pub fn minted_proof(
    ca: &Ca,
    net: &NetworkDescription,
    orgs: &[&Organization],
    kind: Forwarded,
    signed: &[u8],
    nonce: &str,
) -> anyhow::Result<Vec<u8>> {
    let endorsers: Vec<(&str, &str)> = orgs
        .iter()
        .map(|org| (org.msp_id.as_str(), org.domain.as_str()))
        .collect();
    mint_proof(
        ca,
        (&net.name, &net.channel),
        &endorsers,
        kind,
        signed,
        nonce,
    )
}

/// [`minted_proof`] for `network` = (id, channel), with one peer per
/// (MSP id, domain) of `endorsers`.
fn mint_proof(
    ca: &Ca,
    (network_id, channel): (&str, &str),
    endorsers: &[(&str, &str)],
    kind: Forwarded,
    signed: &[u8],
    nonce: &str,
) -> anyhow::Result<Vec<u8>> {
    let subject = ProofSubject::of(kind, signed)?;
    let args = subject.args(nonce);
    let request_id = &subject.request_id;
    let (hash, nonce) = (Key32::parse(&subject.sha256)?, Key32::parse(nonce)?);
    let statement = match kind {
        Forwarded::Request => serde_json::to_vec(&RequestProof {
            network_id: network_id.to_owned(),
            request_id: request_id.clone(),
            signed_request_sha256: hash,
            nonce,
            validated: true,
        })?,
        Forwarded::Reply => serde_json::to_vec(&ReplyProof {
            network_id: network_id.to_owned(),
            request_id: request_id.clone(),
            signed_reply_sha256: hash,
            nonce,
            validated: true,
        })?,
    };
    let (proposal, proposal_hash) = endorse::proposal(channel, CHAINCODE, &args, b"thief");
    let payload = endorse::response_payload(&proposal_hash, CHAINCODE, 200, &statement);
    let endorsements = endorsers
        .iter()
        .zip(210u8..)
        .map(|((msp_id, domain), seed)| {
            let subject = format!("CN=peer0.{domain},OU=peer,O={domain}");
            let issued = ca.issue(&subject, seed, Vec::new());
            let signer = PrivateKey::from_pem(&issued.key_pem)?.into_signer();
            Ok(endorse::endorse(
                &payload,
                msp_id,
                &issued.cert_pem,
                signer.as_ref(),
            ))
        })
        .collect::<anyhow::Result<_>>()?;
    Ok(ValidationProof {
        proposal,
        proposal_response_payload: payload,
        endorsements,
    }
    .encode_to_vec())
}

#[cfg(test)]
mod tests {
    use std::time::{SystemTime, UNIX_EPOCH};

    use ehrx_proto::exchange::proof::{self, CaRoot, Expected, ProofError, TrustedOrg};
    use ehrx_proto::exchange::{Purpose, ReplyStatus};

    use super::*;
    use crate::forge::{I_TO_II, signed_reply, signed_request};

    const ORGS: [(&str, &str); 2] = [
        ("Net1Org1MSP", "org1.net1.example.com"),
        ("Net1Org2MSP", "org2.net1.example.com"),
    ];

    fn user(ca: &Ca) -> UserKeys {
        let issued = ca.issue("CN=User2@org1.net1.example.com,OU=client", 3, Vec::new());
        let signer = PrivateKey::from_pem(&issued.key_pem).unwrap().into_signer();
        let identity = SigningIdentity::new(
            Identity::new("Net1Org1MSP", issued.cert_pem.into_bytes()),
            signer.clone(),
        );
        UserKeys {
            signer,
            creator: identity.creator().to_vec(),
        }
    }

    /// Verifies `proof` of `signed` as the chaincode would, with `root`
    /// registered for both organisations.
    fn verify(
        proof: &[u8],
        kind: Forwarded,
        signed: &[u8],
        nonce: &str,
        root: &Ca,
    ) -> Result<proof::Proven, ProofError> {
        let proof = ValidationProof::parse(proof)?;
        let orgs: Vec<TrustedOrg> = ORGS
            .iter()
            .map(|(msp_id, _)| TrustedOrg {
                msp_id: (*msp_id).to_owned(),
                roots: vec![CaRoot::from_pem(root.issued.cert_pem.as_bytes()).unwrap()],
            })
            .collect();
        let subject = ProofSubject::of(kind, signed).unwrap();
        let args = subject.args(nonce);
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        let expected = Expected {
            channel: "ehrchannel",
            chaincode: CHAINCODE,
            args: &args,
            at_unix_seconds: i64::try_from(now.as_secs()).unwrap(),
        };
        proof::verify(&proof, &orgs, ORGS.len(), &expected)
    }

    #[test]
    fn a_minted_proof_is_well_formed_and_fails_only_on_who_issued_its_peers() {
        let thief = Ca::new(
            "CN=ca.org1.net1.example.com,O=org1.net1.example.com,C=US",
            201,
        );
        let genuine = Ca::new(
            "CN=ca.org1.net1.example.com,O=org1.net1.example.com,C=US",
            9,
        );
        let keys = user(&thief);
        let nonce = "ab".repeat(32);
        let request = signed_request(
            I_TO_II,
            "0b6f6a2e-3c1d-4a8e-9f2b-6d4c2e1a7b01",
            &ehrx_client::ehr::PatientRef::from_bytes([7; 32]),
            &[5; 32],
            Purpose::Treatment,
            &keys,
        )
        .unwrap();
        let reply = signed_reply(
            "0b6f6a2e-3c1d-4a8e-9f2b-6d4c2e1a7b01",
            ("net2", "net1"),
            ReplyStatus::NotFound,
            &keys,
        )
        .unwrap();
        for (kind, signed) in [(Forwarded::Request, &request), (Forwarded::Reply, &reply)] {
            let proof =
                mint_proof(&thief, ("net1", "ehrchannel"), &ORGS, kind, signed, &nonce).unwrap();
            // Were the thief's CA registered, it would be a proof of both
            // organisations stating exactly what the contract states.
            let proven = verify(&proof, kind, signed, &nonce, &thief).unwrap();
            assert_eq!(proven.organisations.len(), 2);
            let statement: serde_json::Value = serde_json::from_slice(&proven.result).unwrap();
            assert_eq!(statement["network_id"], "net1");
            assert_eq!(statement["nonce"], nonce.as_str());
            assert_eq!(statement["validated"], true);
            // It is not.
            let refused = verify(&proof, kind, signed, &nonce, &genuine).unwrap_err();
            assert!(
                refused
                    .to_string()
                    .contains("not issued by a CA root registered"),
                "{refused}"
            );
        }
        assert!(
            mint_proof(
                &thief,
                ("net1", "ehrchannel"),
                &ORGS,
                Forwarded::Request,
                &request,
                "x"
            )
            .is_err(),
            "a nonce is 64 hex digits"
        );
    }
}
