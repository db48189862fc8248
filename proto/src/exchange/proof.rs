//! Proofs of validation: what lets one network believe that another
//! network's peers, not just its relay, validated a forwarded request.
//!
//! A [`ValidationProof`] is a read-only proposal on the source network and
//! the response its peers endorsed, never submitted to an orderer. The
//! network key of a relay is one host's secret; the endorsements are the
//! source organisations' peers speaking, each under a certificate from its
//! organisation's CA. [`verify`] accepts a proof only if:
//!
//! - the proposal is an endorser transaction on the expected channel,
//!   invoking the expected chaincode with exactly the expected arguments
//!   and no transient data;
//! - the response payload's proposal hash is the hash of that proposal
//!   (channel header, signature header and payload, as Fabric computes
//!   it), so the endorsements speak about this proposal and no other;
//! - the chaincode answered status 200;
//! - every endorsement is by a certificate issued directly by a CA root
//!   registered for the endorser's MSP (an X.509 signature check, P-256
//!   ECDSA with SHA-256 or Ed25519), valid at the verifier's transaction
//!   time, with the NodeOU `peer` in its subject, and its signature over
//!   `proposal_response_payload || endorser` verifies;
//! - at least the required number of distinct registered organisations
//!   endorsed (an organisation's peers count once).
//!
//! Any failed endorsement fails the proof rather than being skipped: a
//! proof with a forged part is not a proof. The verifier never
//! re-serialises what it checks; it decodes the exact bytes it received.
//! Intermediate CAs are not supported (the networks' CAs issue peer
//! certificates directly).

use std::collections::BTreeSet;

use p256::ecdsa::signature::Verifier as _;
use prost::Message as _;
use sha2::{Digest as _, Sha256};
use x509_cert::{
    Certificate,
    der::{
        Decode as _, Reader as _, SliceReader, Tag, Tagged as _, asn1::AnyRef,
        oid::ObjectIdentifier,
    },
    name::Name,
};

use super::ValidationProof;
use hlf_identity::PublicKey;
use hlf_protos::{common, msp::SerializedIdentity, peer};

const ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
const ORGANIZATIONAL_UNIT: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.11");
/// The NodeOU Fabric gives peers; clients, admins and orderers have others.
pub const PEER_OU: &str = "peer";
/// Fabric's `common.HeaderType.ENDORSER_TRANSACTION`.
const ENDORSER_TRANSACTION: i32 = 3;
/// The status of a successful chaincode response.
const STATUS_OK: i32 = 200;

/// Why a proof of validation is not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    #[error("the {what} is not well-formed: {reason}")]
    Malformed { what: &'static str, reason: String },
    #[error("the proposal is of header type {0}, not an endorser transaction")]
    HeaderType(i32),
    #[error("the proposal is for channel {found:?}, expected {expected:?}")]
    Channel { expected: String, found: String },
    #[error("the proposal invokes chaincode {found:?}, expected {expected:?}")]
    Chaincode { expected: String, found: String },
    #[error("the proposal carries transient data")]
    TransientData,
    #[error("the proposal's arguments are not the expected ones: {0}")]
    Arguments(String),
    #[error("the endorsed response is for another proposal (proposal hash mismatch)")]
    ProposalHash,
    #[error("the chaincode answered status {status}: {message}")]
    Status { status: i32, message: String },
    #[error("the proof carries no endorsement")]
    NoEndorsement,
    #[error("endorsement {index} ({msp_id}): {reason}")]
    Endorsement {
        index: usize,
        msp_id: String,
        reason: EndorserError,
    },
    #[error(
        "endorsed by {} registered organisation(s) ({}), the policy needs {required}",
        endorsed.len(),
        endorsed.join(", ")
    )]
    Policy {
        endorsed: Vec<String>,
        required: usize,
    },
}

/// Why one endorsement does not count.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndorserError {
    #[error("the endorser is not a serialised identity with one PEM certificate: {0}")]
    Identity(String),
    #[error("its MSP is not registered for this network")]
    UnknownMsp,
    #[error("its certificate was not issued by a CA root registered for its MSP")]
    Untrusted,
    #[error("its certificate is not valid at the transaction time")]
    OutsideValidity,
    #[error("its certificate's subject has no OU {PEER_OU:?} (a non-peer identity)")]
    NotPeer,
    #[error("its signature does not verify: {0}")]
    Signature(String),
}

/// A CA root certificate, parsed once.
#[derive(Debug, Clone)]
pub struct CaRoot {
    certificate: Certificate,
    key: PublicKey,
}

/// Why a CA root certificate is not usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RootError {
    #[error("not one PEM X.509 certificate: {0}")]
    Certificate(String),
    #[error("its key cannot verify certificates: {0}")]
    Key(String),
}

impl CaRoot {
    /// A root from one PEM certificate with a P-256 or Ed25519 key.
    pub fn from_pem(pem: &[u8]) -> Result<Self, RootError> {
        let (certificate, _) = parse_pem(pem).map_err(RootError::Certificate)?;
        let key =
            PublicKey::from_certificate(&certificate).map_err(|e| RootError::Key(e.to_string()))?;
        Ok(Self { certificate, key })
    }

    /// Whether this root issued `certificate` (names match and the
    /// signature over the exact to-be-signed bytes verifies).
    fn issued(&self, certificate: &Certificate, tbs: &[u8]) -> bool {
        if certificate.tbs_certificate().issuer() != self.certificate.tbs_certificate().subject()
            || certificate.signature_algorithm() != certificate.tbs_certificate().signature()
        {
            return false;
        }
        let Some(signature) = certificate.signature().as_bytes() else {
            return false;
        };
        match (&self.key, certificate.signature_algorithm().oid) {
            // CAs (Go's crypto among them) do not normalise S, so both
            // twins are accepted here, unlike for transaction signatures.
            (PublicKey::P256(key), ECDSA_WITH_SHA256) => {
                p256::ecdsa::Signature::from_der(signature)
                    .is_ok_and(|signature| key.verify(tbs, &signature).is_ok())
            }
            (PublicKey::Ed25519(key), ED25519) => ed25519_dalek::Signature::from_slice(signature)
                .is_ok_and(|signature| key.verify_strict(tbs, &signature).is_ok()),
            _ => false,
        }
    }
}

/// An organisation of the source network: its MSP id and CA roots.
#[derive(Debug, Clone)]
pub struct TrustedOrg {
    pub msp_id: String,
    pub roots: Vec<CaRoot>,
}

impl TrustedOrg {
    /// Whether `certificate` (PEM) was issued by one of this organisation's
    /// roots and is valid at `at_unix_seconds`.
    pub fn vouches_for(
        &self,
        pem: &[u8],
        at_unix_seconds: i64,
    ) -> Result<Certificate, EndorserError> {
        let (certificate, der) = parse_pem(pem).map_err(EndorserError::Identity)?;
        let tbs = tbs_bytes(&der).map_err(EndorserError::Identity)?;
        if !self.roots.iter().any(|root| root.issued(&certificate, tbs)) {
            return Err(EndorserError::Untrusted);
        }
        let validity = certificate.tbs_certificate().validity();
        let seconds = |time: x509_cert::time::Time| {
            i64::try_from(time.to_unix_duration().as_secs()).unwrap_or(i64::MAX)
        };
        if at_unix_seconds < seconds(validity.not_before)
            || at_unix_seconds > seconds(validity.not_after)
        {
            return Err(EndorserError::OutsideValidity);
        }
        Ok(certificate)
    }
}

/// What the verifier expects the proof to be about.
#[derive(Debug, Clone)]
pub struct Expected<'a> {
    pub channel: &'a str,
    pub chaincode: &'a str,
    /// The chaincode arguments, function name first.
    pub args: &'a [&'a [u8]],
    /// The verifier's transaction time, for the certificates' validity.
    pub at_unix_seconds: i64,
}

/// A proof that verified: the chaincode's result and who endorsed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proven {
    /// The response payload the endorsers signed.
    pub result: Vec<u8>,
    /// The MSP ids of the registered organisations that endorsed.
    pub organisations: BTreeSet<String>,
}

fn malformed(what: &'static str) -> impl FnOnce(prost::DecodeError) -> ProofError {
    move |e| ProofError::Malformed {
        what,
        reason: e.to_string(),
    }
}

/// One PEM certificate and its exact DER bytes.
fn parse_pem(pem: &[u8]) -> Result<(Certificate, Vec<u8>), String> {
    let (label, der) = x509_cert::der::pem::decode_vec(pem).map_err(|e| e.to_string())?;
    if label != "CERTIFICATE" {
        return Err(format!("a PEM {label:?} block, not a CERTIFICATE"));
    }
    let certificate = Certificate::from_der(&der).map_err(|e| e.to_string())?;
    Ok((certificate, der))
}

/// The exact to-be-signed bytes inside a certificate's DER, so the CA's
/// signature is checked over what it signed, not over a re-encoding.
fn tbs_bytes(der: &[u8]) -> Result<&[u8], String> {
    let outer = AnyRef::from_der(der).map_err(|e| e.to_string())?;
    if outer.tag() != Tag::Sequence {
        return Err("the certificate is not a DER SEQUENCE".to_owned());
    }
    SliceReader::new(outer.value())
        .and_then(|mut reader| reader.tlv_bytes())
        .map_err(|e| e.to_string())
}

fn organizational_units(name: &Name) -> impl Iterator<Item = &[u8]> {
    name.iter()
        .filter(|atv| atv.oid == ORGANIZATIONAL_UNIT)
        .filter(|atv| matches!(atv.value.tag(), Tag::Utf8String | Tag::PrintableString))
        .map(|atv| atv.value.value())
}

/// Checks the proposal is the expected invocation; returns its hash as
/// Fabric computes it.
fn check_proposal(bytes: &[u8], expected: &Expected<'_>) -> Result<Vec<u8>, ProofError> {
    let proposal = peer::Proposal::decode(bytes).map_err(malformed("proposal"))?;
    let header =
        common::Header::decode(proposal.header.as_slice()).map_err(malformed("proposal header"))?;
    let channel_header = common::ChannelHeader::decode(header.channel_header.as_slice())
        .map_err(malformed("channel header"))?;
    if channel_header.r#type != ENDORSER_TRANSACTION {
        return Err(ProofError::HeaderType(channel_header.r#type));
    }
    if channel_header.channel_id != expected.channel {
        return Err(ProofError::Channel {
            expected: expected.channel.to_owned(),
            found: channel_header.channel_id,
        });
    }
    let extension = peer::ChaincodeHeaderExtension::decode(channel_header.extension.as_slice())
        .map_err(malformed("chaincode header extension"))?;
    let named = extension.chaincode_id.map(|id| id.name).unwrap_or_default();
    if named != expected.chaincode {
        return Err(ProofError::Chaincode {
            expected: expected.chaincode.to_owned(),
            found: named,
        });
    }
    let payload = peer::ChaincodeProposalPayload::decode(proposal.payload.as_slice())
        .map_err(malformed("chaincode proposal payload"))?;
    if !payload.transient_map.is_empty() {
        return Err(ProofError::TransientData);
    }
    let invocation = peer::ChaincodeInvocationSpec::decode(payload.input.as_slice())
        .map_err(malformed("chaincode invocation"))?;
    let spec = invocation.chaincode_spec.unwrap_or_default();
    let invoked = spec.chaincode_id.map(|id| id.name).unwrap_or_default();
    if invoked != expected.chaincode {
        return Err(ProofError::Chaincode {
            expected: expected.chaincode.to_owned(),
            found: invoked,
        });
    }
    let input = spec.input.unwrap_or_default();
    if input.is_init {
        return Err(ProofError::Arguments("an init invocation".to_owned()));
    }
    if input.args.len() != expected.args.len() {
        return Err(ProofError::Arguments(format!(
            "{} given, expected {}",
            input.args.len(),
            expected.args.len()
        )));
    }
    if let Some(index) = input
        .args
        .iter()
        .zip(expected.args)
        .position(|(given, wanted)| given.as_slice() != *wanted)
    {
        return Err(ProofError::Arguments(format!("argument {index} differs")));
    }
    // Fabric hashes the headers as sent and the payload without transient
    // data; with none, that is the payload as sent.
    let mut hash = Sha256::new();
    hash.update(&header.channel_header);
    hash.update(&header.signature_header);
    hash.update(&proposal.payload);
    Ok(hash.finalize().to_vec())
}

/// Checks the endorsed response is for `proposal_hash`, by the expected
/// chaincode, with status 200; returns its payload.
fn check_response(
    bytes: &[u8],
    proposal_hash: &[u8],
    chaincode: &str,
) -> Result<Vec<u8>, ProofError> {
    let payload = peer::ProposalResponsePayload::decode(bytes)
        .map_err(malformed("proposal response payload"))?;
    if payload.proposal_hash != proposal_hash {
        return Err(ProofError::ProposalHash);
    }
    let action = peer::ChaincodeAction::decode(payload.extension.as_slice())
        .map_err(malformed("chaincode action"))?;
    let answered = action.chaincode_id.map(|id| id.name).unwrap_or_default();
    if answered != chaincode {
        return Err(ProofError::Chaincode {
            expected: chaincode.to_owned(),
            found: answered,
        });
    }
    let response = action.response.unwrap_or_default();
    if response.status != STATUS_OK {
        return Err(ProofError::Status {
            status: response.status,
            message: response.message,
        });
    }
    Ok(response.payload)
}

/// Checks one endorsement; returns the endorsing MSP.
fn check_endorsement(
    endorser: &[u8],
    signature: &[u8],
    signed_payload: &[u8],
    orgs: &[TrustedOrg],
    at_unix_seconds: i64,
) -> Result<String, (String, EndorserError)> {
    let identity = SerializedIdentity::decode(endorser)
        .map_err(|e| (String::new(), EndorserError::Identity(e.to_string())))?;
    let msp_id = identity.mspid;
    let fail = |reason| (msp_id.clone(), reason);
    let org = orgs
        .iter()
        .find(|org| org.msp_id == msp_id)
        .ok_or_else(|| fail(EndorserError::UnknownMsp))?;
    let certificate = org
        .vouches_for(&identity.id_bytes, at_unix_seconds)
        .map_err(fail)?;
    if !organizational_units(certificate.tbs_certificate().subject())
        .any(|ou| ou == PEER_OU.as_bytes())
    {
        return Err(fail(EndorserError::NotPeer));
    }
    let key = PublicKey::from_certificate(&certificate)
        .map_err(|e| fail(EndorserError::Signature(e.to_string())))?;
    let mut message = Vec::with_capacity(signed_payload.len() + endorser.len());
    message.extend_from_slice(signed_payload);
    message.extend_from_slice(endorser);
    key.verify(&message, signature)
        .map_err(|e| fail(EndorserError::Signature(e.to_string())))?;
    Ok(msp_id)
}

impl ValidationProof {
    /// Decodes a serialised proof; nothing is verified yet.
    pub fn parse(bytes: &[u8]) -> Result<Self, ProofError> {
        Self::decode(bytes).map_err(malformed("validation proof"))
    }

    /// The arguments the proposal claims, unverified: only for a verifier
    /// to find what it expects (its challenge) before it calls [`verify`].
    pub fn claimed_args(&self) -> Result<Vec<Vec<u8>>, ProofError> {
        let proposal =
            peer::Proposal::decode(self.proposal.as_slice()).map_err(malformed("proposal"))?;
        let payload = peer::ChaincodeProposalPayload::decode(proposal.payload.as_slice())
            .map_err(malformed("chaincode proposal payload"))?;
        let invocation = peer::ChaincodeInvocationSpec::decode(payload.input.as_slice())
            .map_err(malformed("chaincode invocation"))?;
        Ok(invocation
            .chaincode_spec
            .and_then(|spec| spec.input)
            .map(|input| input.args)
            .unwrap_or_default())
    }
}

/// Verifies `proof` against the source network's organisations `orgs`, of
/// which at least `required` (and never fewer than one) must have endorsed.
pub fn verify(
    proof: &ValidationProof,
    orgs: &[TrustedOrg],
    required: usize,
    expected: &Expected<'_>,
) -> Result<Proven, ProofError> {
    let proposal_hash = check_proposal(&proof.proposal, expected)?;
    let result = check_response(
        &proof.proposal_response_payload,
        &proposal_hash,
        expected.chaincode,
    )?;
    if proof.endorsements.is_empty() {
        return Err(ProofError::NoEndorsement);
    }
    let mut organisations = BTreeSet::new();
    for (index, endorsement) in proof.endorsements.iter().enumerate() {
        let msp_id = check_endorsement(
            &endorsement.endorser,
            &endorsement.signature,
            &proof.proposal_response_payload,
            orgs,
            expected.at_unix_seconds,
        )
        .map_err(|(msp_id, reason)| ProofError::Endorsement {
            index,
            msp_id,
            reason,
        })?;
        organisations.insert(msp_id);
    }
    if organisations.len() < required.max(1) {
        return Err(ProofError::Policy {
            endorsed: organisations.into_iter().collect(),
            required,
        });
    }
    Ok(Proven {
        result,
        organisations,
    })
}

impl ValidationProof {
    /// The proof in a prepared transaction the gateway's Endorse returned
    /// for `proposal` (its exact bytes, as sent): the endorsed action's
    /// response payload and endorsements, taken as they are.
    pub fn from_prepared(
        proposal: Vec<u8>,
        envelope: &common::Envelope,
    ) -> Result<Self, ProofError> {
        let payload = common::Payload::decode(envelope.payload.as_slice())
            .map_err(malformed("prepared transaction payload"))?;
        let transaction = peer::Transaction::decode(payload.data.as_slice())
            .map_err(malformed("prepared transaction"))?;
        let [action] = transaction.actions.as_slice() else {
            return Err(ProofError::Malformed {
                what: "prepared transaction",
                reason: format!("{} actions, expected 1", transaction.actions.len()),
            });
        };
        let action_payload = peer::ChaincodeActionPayload::decode(action.payload.as_slice())
            .map_err(malformed("chaincode action payload"))?;
        let endorsed = action_payload.action.ok_or_else(|| ProofError::Malformed {
            what: "chaincode action payload",
            reason: "no endorsed action".to_owned(),
        })?;
        Ok(Self {
            proposal,
            proposal_response_payload: endorsed.proposal_response_payload,
            endorsements: endorsed
                .endorsements
                .into_iter()
                .map(|e| super::PeerEndorsement {
                    endorser: e.endorser,
                    signature: e.signature,
                })
                .collect(),
        })
    }
}

/// Making proofs the way a source network's peers would, with keys a test
/// holds: for tests of verifiers, never for production use.
#[cfg(any(test, feature = "testing"))]
pub mod testing {
    use prost::Message as _;
    use sha2::{Digest as _, Sha256};

    use super::super::PeerEndorsement;
    use hlf_identity::Signer;
    use hlf_protos::{common, msp::SerializedIdentity, peer};

    /// A proposal invoking `chaincode` on `channel` with `args` (function
    /// first), made by `creator`: its bytes and the hash Fabric computes.
    pub fn proposal(
        channel: &str,
        chaincode: &str,
        args: &[&[u8]],
        creator: &[u8],
    ) -> (Vec<u8>, Vec<u8>) {
        let chaincode_id = Some(peer::ChaincodeId {
            name: chaincode.to_owned(),
            ..Default::default()
        });
        let channel_header = common::ChannelHeader {
            r#type: super::ENDORSER_TRANSACTION,
            channel_id: channel.to_owned(),
            tx_id: "0".repeat(64),
            extension: peer::ChaincodeHeaderExtension {
                chaincode_id: chaincode_id.clone(),
            }
            .encode_to_vec(),
            ..Default::default()
        }
        .encode_to_vec();
        let signature_header = common::SignatureHeader {
            creator: creator.to_vec(),
            nonce: vec![7; 24],
        }
        .encode_to_vec();
        let payload = peer::ChaincodeProposalPayload {
            input: peer::ChaincodeInvocationSpec {
                chaincode_spec: Some(peer::ChaincodeSpec {
                    chaincode_id,
                    input: Some(peer::ChaincodeInput {
                        args: args.iter().map(|a| a.to_vec()).collect(),
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
            }
            .encode_to_vec(),
            ..Default::default()
        }
        .encode_to_vec();
        let mut hash = Sha256::new();
        hash.update(&channel_header);
        hash.update(&signature_header);
        hash.update(&payload);
        let proposal = peer::Proposal {
            header: common::Header {
                channel_header,
                signature_header,
            }
            .encode_to_vec(),
            payload,
            ..Default::default()
        };
        (proposal.encode_to_vec(), hash.finalize().to_vec())
    }

    /// The response payload a peer signs: `chaincode` answered `status`
    /// with `result` to the proposal hashed `proposal_hash`.
    pub fn response_payload(
        proposal_hash: &[u8],
        chaincode: &str,
        status: i32,
        result: &[u8],
    ) -> Vec<u8> {
        peer::ProposalResponsePayload {
            proposal_hash: proposal_hash.to_vec(),
            extension: peer::ChaincodeAction {
                response: Some(peer::Response {
                    status,
                    message: String::new(),
                    payload: result.to_vec(),
                }),
                chaincode_id: Some(peer::ChaincodeId {
                    name: chaincode.to_owned(),
                    ..Default::default()
                }),
                ..Default::default()
            }
            .encode_to_vec(),
        }
        .encode_to_vec()
    }

    /// `msp_id`'s identity with certificate `cert_pem` endorsing
    /// `payload`, signed with `signer`.
    pub fn endorse(
        payload: &[u8],
        msp_id: &str,
        cert_pem: &str,
        signer: &dyn Signer,
    ) -> PeerEndorsement {
        let endorser = SerializedIdentity {
            mspid: msp_id.to_owned(),
            id_bytes: cert_pem.as_bytes().to_vec(),
        }
        .encode_to_vec();
        let mut message = payload.to_vec();
        message.extend_from_slice(&endorser);
        let signature = signer.sign(&signer.digest(&message)).unwrap_or_default();
        PeerEndorsement {
            endorser,
            signature,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::time::{SystemTime, UNIX_EPOCH};

    use ehrx_testkit::{Ca, Issued};

    use super::{testing::*, *};
    use crate::exchange::PeerEndorsement;
    use hlf_identity::PrivateKey;

    const CHANNEL: &str = "ehrchannel";
    const CHAINCODE: &str = "ehrx";
    const ARGS: &[&[u8]] = &[b"ProveRequest", b"request-1", b"hash-1", b"nonce-1"];

    struct Org {
        msp_id: &'static str,
        ca: Ca,
        peer: Issued,
    }

    impl Org {
        fn new(n: u8) -> Self {
            let msp_id = if n == 1 { "Net1Org1MSP" } else { "Net1Org2MSP" };
            let ca = Ca::new(&format!("CN=ca.org{n}.net1,O=org{n}.net1,C=US"), 10 * n);
            let peer = leaf(
                &ca,
                &format!("CN=peer0.org{n}.net1,OU=peer,O=org{n}.net1,C=US"),
                10 * n + 1,
            );
            Self { msp_id, ca, peer }
        }

        fn trusted(&self) -> TrustedOrg {
            TrustedOrg {
                msp_id: self.msp_id.to_owned(),
                roots: vec![CaRoot::from_pem(self.ca.issued.cert_pem.as_bytes()).unwrap()],
            }
        }

        fn endorse_as(&self, issued: &Issued, payload: &[u8]) -> PeerEndorsement {
            let signer = PrivateKey::from_pem(&issued.key_pem).unwrap().into_signer();
            endorse(payload, self.msp_id, &issued.cert_pem, signer.as_ref())
        }
    }

    /// A certificate `ca` issues to `subject`, with no extensions.
    fn leaf(ca: &Ca, subject: &str, seed: u8) -> Issued {
        ca.issue(subject, seed, Vec::new())
    }

    fn now() -> i64 {
        i64::try_from(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_secs(),
        )
        .unwrap()
    }

    fn expected(args: &'static [&'static [u8]]) -> Expected<'static> {
        Expected {
            channel: CHANNEL,
            chaincode: CHAINCODE,
            args,
            at_unix_seconds: now(),
        }
    }

    /// A proof of `args` on `channel` answered `status`, endorsed by the
    /// peers of `orgs`.
    fn proof_of(channel: &str, args: &[&[u8]], status: i32, orgs: &[&Org]) -> ValidationProof {
        let (proposal, hash) = proposal(channel, CHAINCODE, args, b"relay identity");
        let payload = response_payload(&hash, CHAINCODE, status, b"{\"validated\":true}");
        let endorsements = orgs
            .iter()
            .map(|org| org.endorse_as(&org.peer, &payload))
            .collect();
        ValidationProof {
            proposal,
            proposal_response_payload: payload,
            endorsements,
        }
    }

    /// [`proof_of`] the expected call by the peers of `orgs`, and endorsed
    /// too by `issued` under the MSP id of `org`.
    fn proof_with(orgs: &[&Org], org: &Org, issued: &Issued) -> ValidationProof {
        let mut proof = proof_of(CHANNEL, ARGS, 200, orgs);
        proof
            .endorsements
            .push(org.endorse_as(issued, &proof.proposal_response_payload));
        proof
    }

    fn fixture() -> (Org, Org, Vec<TrustedOrg>) {
        let (one, two) = (Org::new(1), Org::new(2));
        let trusted = vec![one.trusted(), two.trusted()];
        (one, two, trusted)
    }

    fn check(
        proof: &ValidationProof,
        trusted: &[TrustedOrg],
        required: usize,
    ) -> Result<Proven, ProofError> {
        verify(
            &ValidationProof::parse(&proof.encode_to_vec())?,
            trusted,
            required,
            &expected(ARGS),
        )
    }

    fn endorser_error(result: Result<Proven, ProofError>) -> EndorserError {
        match result {
            Err(ProofError::Endorsement { reason, .. }) => reason,
            other => panic!("expected an endorsement error, got {other:?}"),
        }
    }

    /// Why `check` refuses [`proof_with`]`(orgs, org, issued)`.
    fn endorser_error_with(
        orgs: &[&Org],
        org: &Org,
        issued: &Issued,
        trusted: &[TrustedOrg],
        required: usize,
    ) -> EndorserError {
        endorser_error(check(&proof_with(orgs, org, issued), trusted, required))
    }

    #[test]
    fn both_orgs_endorsing_the_expected_call_is_a_proof() {
        let (one, two, trusted) = fixture();
        let proof = proof_of(CHANNEL, ARGS, 200, &[&one, &two]);
        assert_eq!(proof.claimed_args().unwrap(), ARGS);
        let proven = check(&proof, &trusted, 2).unwrap();
        assert_eq!(proven.result, b"{\"validated\":true}");
        assert_eq!(
            proven.organisations.into_iter().collect::<Vec<_>>(),
            ["Net1Org1MSP", "Net1Org2MSP"]
        );
    }

    #[test]
    fn one_org_where_the_policy_wants_both_is_refused_and_peers_of_one_org_count_once() {
        let (one, two, trusted) = fixture();
        let second_peer = leaf(&one.ca, "CN=peer1.org1.net1,OU=peer,O=org1.net1,C=US", 12);
        let proof = proof_with(&[&one], &one, &second_peer);
        assert!(matches!(
            check(&proof, &trusted, 2),
            Err(ProofError::Policy { ref endorsed, required: 2 }) if endorsed == &["Net1Org1MSP"]
        ));
        assert!(check(&proof, &trusted, 1).is_ok());
        let _ = two;
    }

    #[test]
    fn right_peers_for_another_request_or_hash_or_nonce_are_refused() {
        let (one, two, trusted) = fixture();
        for other in [
            &[&b"ProveRequest"[..], b"request-2", b"hash-1", b"nonce-1"][..],
            &[b"ProveRequest", b"request-1", b"hash-2", b"nonce-1"],
            &[b"ProveRequest", b"request-1", b"hash-1", b"nonce-2"],
            &[b"ProveRequest", b"request-1", b"hash-1"],
            &[b"GetRequestStatus", b"request-1", b"hash-1", b"nonce-1"],
        ] {
            let result = check(&proof_of(CHANNEL, other, 200, &[&one, &two]), &trusted, 2);
            assert!(
                matches!(result, Err(ProofError::Arguments(_))),
                "{result:?}"
            );
        }
        let result = check(
            &proof_of("otherchannel", ARGS, 200, &[&one, &two]),
            &trusted,
            2,
        );
        assert!(
            matches!(result, Err(ProofError::Channel { .. })),
            "{result:?}"
        );
    }

    #[test]
    fn a_response_endorsed_for_another_proposal_is_refused() {
        let (one, two, trusted) = fixture();
        let mut proof = proof_of(CHANNEL, ARGS, 200, &[&one, &two]);
        // The same call by another creator: the arguments match, but the
        // endorsements were made for the first proposal.
        proof.proposal = proposal(CHANNEL, CHAINCODE, ARGS, b"someone else").0;
        assert_eq!(check(&proof, &trusted, 2), Err(ProofError::ProposalHash));
    }

    #[test]
    fn a_refused_call_proves_nothing() {
        let (one, two, trusted) = fixture();
        let result = check(&proof_of(CHANNEL, ARGS, 500, &[&one, &two]), &trusted, 2);
        assert!(
            matches!(result, Err(ProofError::Status { status: 500, .. })),
            "{result:?}"
        );
    }

    #[test]
    fn a_peer_of_an_unregistered_ca_is_refused_even_under_a_registered_msp_id() {
        let (one, two, trusted) = fixture();
        let rogue_ca = Ca::new("CN=ca.org1.net1,O=org1.net1,C=US", 99);
        let rogue = leaf(&rogue_ca, "CN=peer0.org1.net1,OU=peer,O=org1.net1,C=US", 98);
        assert_eq!(
            endorser_error_with(&[&two], &one, &rogue, &trusted, 2),
            EndorserError::Untrusted
        );
        // Its own MSP id, not registered at all.
        let mut stranger = Org::new(1);
        stranger.msp_id = "StrangerMSP";
        assert_eq!(
            endorser_error_with(&[&two], &stranger, &stranger.peer, &trusted, 1),
            EndorserError::UnknownMsp
        );
    }

    #[test]
    fn a_client_identity_of_the_right_ca_cannot_endorse() {
        let (one, two, trusted) = fixture();
        let client = leaf(&one.ca, "CN=User1@org1.net1,OU=client,O=org1.net1,C=US", 13);
        assert_eq!(
            endorser_error_with(&[&two], &one, &client, &trusted, 2),
            EndorserError::NotPeer
        );
    }

    #[test]
    fn certificates_outside_their_validity_at_the_transaction_time_are_refused() {
        let (one, two, trusted) = fixture();
        let proof = proof_of(CHANNEL, ARGS, 200, &[&one, &two]);
        // The test CA's certificates are valid from 2020 to 2049.
        for at_unix_seconds in [1_500_000_000, 2_600_000_000] {
            let mut then = expected(ARGS);
            then.at_unix_seconds = at_unix_seconds;
            assert_eq!(
                endorser_error(verify(&proof, &trusted, 2, &then)),
                EndorserError::OutsideValidity
            );
        }
    }

    #[test]
    fn a_flipped_bit_anywhere_in_the_endorsed_payload_or_a_signature_is_refused() {
        let (one, two, trusted) = fixture();
        let genuine = proof_of(CHANNEL, ARGS, 200, &[&one, &two]);
        for index in [
            0,
            genuine.proposal_response_payload.len() / 2,
            genuine.proposal_response_payload.len() - 1,
        ] {
            let mut proof = genuine.clone();
            proof.proposal_response_payload[index] ^= 0x01;
            assert!(check(&proof, &trusted, 2).is_err(), "flipped byte {index}");
        }
        let mut proof = genuine.clone();
        let last = proof.endorsements[1].signature.len() - 3;
        proof.endorsements[1].signature[last] ^= 0x01;
        assert!(matches!(
            endorser_error(check(&proof, &trusted, 2)),
            EndorserError::Signature(_)
        ));
        let mut proof = genuine;
        proof.endorsements[0].endorser.push(0);
        assert!(check(&proof, &trusted, 2).is_err());
    }

    #[test]
    fn truncated_or_empty_protobuf_is_malformed_never_a_panic() {
        let (one, two, trusted) = fixture();
        let bytes = proof_of(CHANNEL, ARGS, 200, &[&one, &two]).encode_to_vec();
        let parse_and_verify = |bytes: &[u8]| {
            ValidationProof::parse(bytes)
                .and_then(|proof| verify(&proof, &trusted, 2, &expected(ARGS)))
        };
        for cut in 0..bytes.len() {
            assert!(parse_and_verify(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        assert!(matches!(
            parse_and_verify(&[0xff, 0xff, 0xff]),
            Err(ProofError::Malformed { .. })
        ));
        let mut no_endorsement = proof_of(CHANNEL, ARGS, 200, &[]);
        no_endorsement.endorsements.clear();
        assert_eq!(
            check(&no_endorsement, &trusted, 1),
            Err(ProofError::NoEndorsement)
        );
    }

    #[test]
    fn a_peer_of_an_ed25519_ca_is_checked_with_the_ca_s_ed25519_key() {
        let (one, _, _) = fixture();
        let ca = Ca::new_ed25519("CN=ca.org2.net1,O=org2.net1,C=US", 30);
        let peer = leaf(&ca, "CN=peer0.org2.net1,OU=peer,O=org2.net1,C=US", 31);
        let two = Org {
            msp_id: "Net1Org2MSP",
            ca,
            peer,
        };
        let trusted = vec![one.trusted(), two.trusted()];
        assert!(matches!(trusted[1].roots[0].key, PublicKey::Ed25519(_)));
        let proof = proof_of(CHANNEL, ARGS, 200, &[&one, &two]);
        assert!(check(&proof, &trusted, 2).is_ok());
        // Another Ed25519 CA with the same name is not that CA.
        let impostor = Ca::new_ed25519("CN=ca.org2.net1,O=org2.net1,C=US", 32);
        let rogue = leaf(&impostor, "CN=peer0.org2.net1,OU=peer,O=org2.net1,C=US", 33);
        assert_eq!(
            endorser_error_with(&[&one], &two, &rogue, &trusted, 2),
            EndorserError::Untrusted
        );
    }

    #[test]
    fn a_root_must_be_a_certificate_with_a_usable_key() {
        assert!(CaRoot::from_pem(b"not pem").is_err());
        let (one, _, _) = fixture();
        assert!(CaRoot::from_pem(one.peer.key_pem.as_bytes()).is_err());
    }
}
