//! `read_reply`: fetch a reply, check it, open it, and check it again.
//!
//! The contract has verified the reply (Algorithm 3) before it was stored,
//! but the requester trusts only what it can check itself: the responder's
//! signature over the exact reply bytes, that the reply answers *this*
//! request between *these* networks, that the sealed records open with the
//! requester's key in this reply's context, and that the records are
//! exactly the ones listed, each with the SHA-256 the reply lists (the hash
//! the destination's chaincode checked against its private data).

use std::collections::HashMap;

use base64::Engine as _;
use prost::Message as _;
use sha2::{Digest as _, Sha256};

use super::{
    EhrClient,
    error::{Error, parse_result},
    interface::{ErrorCode, Outcome, OutcomeKind, SignedMessage, function},
    keys::ReplyKey,
    peer_lag::{Transient, backoff, retry},
    records::{RecordError, parse_resource},
};
use crate::proto::exchange::{
    ReplyStatus, SignedReply,
    seal::{SealContext, SealError},
    signed::OpenError,
};

/// Why a reply could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReplyError {
    /// The contract refused to hand the reply over (recorded on the ledger).
    #[error("the reply was refused: {reason}")]
    Refused {
        /// The contract's reason.
        reason: String,
    },
    /// The reply's bytes are not a signed reply.
    #[error("the reply is malformed: {0}")]
    Malformed(String),
    /// The responder's signature does not verify.
    #[error("the reply's signature does not verify: {0}")]
    Signature(#[from] OpenError),
    /// The reply answers another request.
    #[error("the reply is for request {found}, not {expected}")]
    WrongRequest {
        /// The request asked about.
        expected: String,
        /// The request the reply names.
        found: String,
    },
    /// The reply is not from the request's destination to its source.
    #[error(
        "the reply goes from {found_from} to {found_to}, not from {expected_from} to {expected_to}"
    )]
    WrongNetworks {
        /// The request's destination.
        expected_from: String,
        /// The request's source.
        expected_to: String,
        /// The reply's replying network.
        found_from: String,
        /// The reply's receiving network.
        found_to: String,
    },
    /// The destination holds no records for the patient.
    #[error("the destination has no records: {reason}")]
    NotFound {
        /// Its reason.
        reason: String,
    },
    /// The destination rejected the request.
    #[error("the destination rejected the request: {reason}")]
    Rejected {
        /// Its reason.
        reason: String,
    },
    /// A status this SDK does not know.
    #[error("the reply has an unknown status {0}")]
    UnknownStatus(i32),
    /// An OK reply without sealed records.
    #[error("the reply is OK but carries no sealed records")]
    NoSealedRecords,
    /// The sealed records do not open: tampered, or not for this key and request.
    #[error("the sealed records cannot be opened: {0}")]
    Decrypt(#[from] SealError),
    /// A listed record is not in the sealed bundle.
    #[error("record {0} is listed but missing from the sealed records")]
    MissingRecord(String),
    /// A sealed record is not listed.
    #[error("record {0} is in the sealed records but not listed")]
    UnlistedRecord(String),
    /// A record id appears twice in the list or in the bundle.
    #[error("record {0} appears twice")]
    DuplicateRecord(String),
    /// A record's SHA-256 is not the listed one.
    #[error("record {0} does not match its listed SHA-256")]
    HashMismatch(String),
    /// A record's category is not the listed one.
    #[error("record {record_id} is a {found}, listed as {listed}")]
    CategoryMismatch {
        /// The record.
        record_id: String,
        /// The category in the list.
        listed: String,
        /// The category in the bundle.
        found: String,
    },
    /// A record is not FHIR JSON.
    #[error("record {record_id} is not a FHIR resource: {source}")]
    BadRecord {
        /// The record.
        record_id: String,
        /// What was wrong.
        source: RecordError,
    },
}

impl ReplyError {
    /// Whether the reply failed the requester's own checks (signature,
    /// addressing, sealing, the records and their hashes), as opposed to
    /// being refused or answered NOT_FOUND or REJECTED: what a clinician
    /// must be warned of, and shown nothing from.
    pub fn is_verification_failure(&self) -> bool {
        !matches!(
            self,
            Self::Refused { .. } | Self::NotFound { .. } | Self::Rejected { .. }
        )
    }
}

/// One disclosed record, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedRecord {
    /// The record id (the resource's `id`).
    pub record_id: String,
    /// The resource type.
    pub category: String,
    /// SHA-256 of `content`, as listed in the reply.
    pub sha256: [u8; 32],
    /// The FHIR JSON bytes as stored at the destination.
    pub content: Vec<u8>,
    /// The parsed resource.
    pub resource: serde_json::Value,
}

/// A reply whose signature, addressing, sealing and hashes all checked out.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedReply {
    /// The request it answers.
    pub request_id: String,
    /// The network that answered.
    pub replying_network: String,
    /// MSP id of the responder that signed it.
    pub responder_msp_id: String,
    /// When the responder formed it.
    pub created_at: Option<prost_types::Timestamp>,
    /// The records, in the reply's order: the patient's upload order at
    /// the replying network.
    pub records: Vec<ReceivedRecord>,
    /// Whether the reply holds the patient's whole history at the replying
    /// network in the requested categories, as of the reply. True for a
    /// reply read from the ledger ([`EhrClient::read_reply`]): the replying
    /// network's contract refuses an OK reply that omits any such record
    /// (SubmitReply's coverage check, which its peers' proof of validation
    /// vouches for and this network's AcceptReply checked), and uploads are
    /// all or nothing, so no half-stored Bundle hides in it. False from
    /// [`verify_reply`] alone, which checks bytes from anywhere.
    pub complete: bool,
}

impl VerifiedReply {
    /// One sentence on [`Self::complete`], for people.
    pub fn completeness(&self) -> String {
        if self.complete {
            format!(
                "complete: every record of the patient at {} in the requested categories \
                 (the contract refuses a reply that omits one)",
                self.replying_network
            )
        } else {
            "completeness unknown: this reply was not read from the ledger".to_owned()
        }
    }

    /// The parsed FHIR resources, for [`ClinicalSummary`](super::ClinicalSummary).
    pub fn resources(&self) -> impl Iterator<Item = &serde_json::Value> {
        self.records.iter().map(|record| &record.resource)
    }
}

/// Decodes `GetReply`'s base64 into a signed reply.
pub fn decode_signed_reply(base64_text: &str) -> Result<SignedReply, ReplyError> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(base64_text.trim())
        .map_err(|e| ReplyError::Malformed(format!("not base64: {e}")))?;
    SignedReply::decode(bytes.as_slice()).map_err(|e| ReplyError::Malformed(e.to_string()))
}

/// Checks a signed reply against the request it should answer and opens
/// its records with the requester's key (see the module docs for what is
/// checked, in that order).
pub fn verify_reply(signed: &SignedReply, key: &ReplyKey) -> Result<VerifiedReply, ReplyError> {
    let opened = signed.open()?;
    let reply = opened.message;
    if reply.request_id != key.request_id {
        return Err(ReplyError::WrongRequest {
            expected: key.request_id.clone(),
            found: reply.request_id,
        });
    }
    if reply.replying_network != key.destination_network
        || reply.receiving_network != key.source_network
    {
        return Err(ReplyError::WrongNetworks {
            expected_from: key.destination_network.clone(),
            expected_to: key.source_network.clone(),
            found_from: reply.replying_network,
            found_to: reply.receiving_network,
        });
    }
    match ReplyStatus::try_from(reply.status) {
        Ok(ReplyStatus::Ok) => {}
        Ok(ReplyStatus::NotFound) => {
            return Err(ReplyError::NotFound {
                reason: reply.reason,
            });
        }
        Ok(ReplyStatus::Rejected) => {
            return Err(ReplyError::Rejected {
                reason: reply.reason,
            });
        }
        Ok(ReplyStatus::Unspecified) | Err(_) => {
            return Err(ReplyError::UnknownStatus(reply.status));
        }
    }
    let sealed = reply
        .sealed_records
        .as_ref()
        .ok_or(ReplyError::NoSealedRecords)?;
    let context = SealContext {
        request_id: &key.request_id,
        replying_network: &key.destination_network,
        receiving_network: &key.source_network,
    };
    let bundle = key.decryption_key.open(&context, sealed)?;

    let mut contents = HashMap::with_capacity(bundle.records.len());
    for record in bundle.records {
        let record_id = record.record_id.clone();
        if contents.insert(record_id.clone(), record).is_some() {
            return Err(ReplyError::DuplicateRecord(record_id));
        }
    }
    let mut records = Vec::with_capacity(reply.records.len());
    for digest in reply.records {
        let Some(record) = contents.remove(&digest.record_id) else {
            return Err(
                if records
                    .iter()
                    .any(|seen: &ReceivedRecord| seen.record_id == digest.record_id)
                {
                    ReplyError::DuplicateRecord(digest.record_id)
                } else {
                    ReplyError::MissingRecord(digest.record_id)
                },
            );
        };
        let sha256: [u8; 32] = Sha256::digest(&record.content).into();
        if digest.sha256 != sha256 {
            return Err(ReplyError::HashMismatch(digest.record_id));
        }
        if digest.category != record.category {
            return Err(ReplyError::CategoryMismatch {
                record_id: digest.record_id,
                listed: digest.category,
                found: record.category,
            });
        }
        let resource = parse_resource(&record.content).map_err(|source| ReplyError::BadRecord {
            record_id: digest.record_id.clone(),
            source,
        })?;
        records.push(ReceivedRecord {
            record_id: digest.record_id,
            category: digest.category,
            sha256,
            content: record.content,
            resource,
        });
    }
    if let Some(record_id) = contents.into_keys().min() {
        return Err(ReplyError::UnlistedRecord(record_id));
    }
    Ok(VerifiedReply {
        request_id: reply.request_id,
        replying_network: reply.replying_network,
        responder_msp_id: opened.signer_msp_id,
        created_at: reply.created_at,
        records,
        complete: false,
    })
}

impl EhrClient {
    /// Fetches the reply to a request and opens it with [`verify_reply`].
    ///
    /// `GetReply` is endorsed (the sealed reply is in the endorsement's
    /// result) and submitted, so the ledger records who read it, but its
    /// commit is not awaited: a read costs an endorsement and a submission,
    /// not a block. The read's audit entry commits in the background (a
    /// failure to commit is logged). A refusal is awaited, so that it is on
    /// the ledger when the caller hears of it. [`Self::read_reply_audited`]
    /// waits for the read's commit too. INTERFACE.md says what the read's
    /// audit entry can and cannot prove.
    pub async fn read_reply(&self, key: &ReplyKey) -> Result<VerifiedReply, Error> {
        let submitted = self.fetch_reply(key).await?;
        if let Err(error) = granted(&submitted.result) {
            if matches!(&error, Error::Reply(ReplyError::Refused { .. })) {
                submitted.commit.status().await?.into_result()?;
            }
            return Err(error);
        }
        let signed = self.signed_reply(&key.request_id).await?;
        let verified = from_ledger(verify_reply(&signed, key)?);
        let request_id = key.request_id.clone();
        let commit = submitted.commit;
        tokio::spawn(async move {
            match commit.status().await.map(|status| status.into_result()) {
                Ok(Ok(_)) => {}
                Ok(Err(error)) | Err(error) => tracing::warn!(
                    %request_id,
                    %error,
                    "the audit entry of a reply read did not commit"
                ),
            }
        });
        Ok(verified)
    }

    /// As [`Self::read_reply`], returning only once the read's audit entry
    /// has committed.
    pub async fn read_reply_audited(&self, key: &ReplyKey) -> Result<VerifiedReply, Error> {
        let submitted = self.fetch_reply(key).await?;
        let granted = granted(&submitted.result);
        submitted.commit.status().await?.into_result()?;
        granted?;
        let signed = self.signed_reply(&key.request_id).await?;
        Ok(from_ledger(verify_reply(&signed, key)?))
    }

    /// The signed reply itself, by `GetSignedReply` (an evaluation: the
    /// submitted `GetReply`'s result is in the block, so it carries none).
    async fn signed_reply(&self, request_id: &str) -> Result<SignedReply, Error> {
        let delays = backoff(request_id.as_bytes());
        let result = retry(Transient::PeerLag(&[ErrorCode::NoReplyYet]), delays, || {
            self.contract
                .evaluate(function::GET_SIGNED_REPLY, [request_id])
        })
        .await?;
        let message: SignedMessage = parse_result(function::GET_SIGNED_REPLY, &result)?;
        Ok(decode_signed_reply(&message.signed)?)
    }

    /// `GetReply` endorsed and submitted, retried while the other
    /// organisation's endorser has not yet seen the reply's block (the
    /// reply's event came from this gateway's peer).
    async fn fetch_reply(&self, key: &ReplyKey) -> Result<crate::fabric::Submitted, Error> {
        let delays = backoff(key.request_id.as_bytes());
        Ok(
            retry(Transient::PeerLag(&[ErrorCode::NoReplyYet]), delays, || {
                self.contract
                    .submit_async(function::GET_REPLY, [&key.request_id])
            })
            .await?,
        )
    }
}

/// A reply read through `GetReply`: the contract stored it only after
/// AcceptReply's checks, so it is complete (see [`VerifiedReply::complete`]).
fn from_ledger(mut reply: VerifiedReply) -> VerifiedReply {
    reply.complete = true;
    reply
}

/// Whether `GetReply`'s result grants the read, or why not.
fn granted(result: &[u8]) -> Result<(), Error> {
    let outcome: Outcome = parse_result(function::GET_REPLY, result)?;
    match outcome.outcome {
        OutcomeKind::Ok => Ok(()),
        OutcomeKind::Refused => Err(ReplyError::Refused {
            reason: outcome.reason.unwrap_or_default(),
        }
        .into()),
        other => Err(Error::unexpected(
            function::GET_REPLY,
            format!("answered {other:?}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        fabric::{P256Signer, protos::msp::SerializedIdentity},
        proto::exchange::{Record, RecordBundle, RecordDigest, Reply, seal, seal::DecryptionKey},
    };

    const REQUEST: &str = "6f1c1f7e-8a43-4d8b-9b1e-2f4b5f0e9a10";

    fn records() -> Vec<Record> {
        vec![
            Record {
                record_id: "c1".into(),
                category: "Condition".into(),
                content: br#"{"resourceType":"Condition","id":"c1","code":{"text":"Asthma"}}"#
                    .to_vec(),
            },
            Record {
                record_id: "p1".into(),
                category: "Patient".into(),
                content: br#"{"resourceType":"Patient","id":"p1","gender":"female"}"#.to_vec(),
            },
        ]
    }

    fn digests(records: &[Record]) -> Vec<RecordDigest> {
        records.iter().map(Record::digest).collect()
    }

    struct Fixture {
        key: ReplyKey,
        public: Vec<u8>,
        signer: P256Signer,
        identity: Vec<u8>,
    }

    fn fixture() -> Fixture {
        let (decryption_key, public) = DecryptionKey::generate();
        let (signing_key, pem) =
            ehrx_testkit::self_signed_p256(9, "CN=User1@org1.example.com,O=org1,C=US");
        let identity = SerializedIdentity {
            mspid: "Net2Org1MSP".into(),
            id_bytes: pem.into_bytes(),
        }
        .encode_to_vec();
        Fixture {
            key: ReplyKey {
                request_id: REQUEST.into(),
                source_network: "net1".into(),
                destination_network: "net2".into(),
                decryption_key,
            },
            public,
            signer: P256Signer::new(signing_key),
            identity,
        }
    }

    fn context() -> SealContext<'static> {
        SealContext {
            request_id: REQUEST,
            replying_network: "net2",
            receiving_network: "net1",
        }
    }

    /// A reply as a responder on net2 would form it, with `listed` digests
    /// and `sealed` records.
    fn reply(f: &Fixture, listed: Vec<RecordDigest>, sealed: Vec<Record>) -> Reply {
        Reply {
            request_id: REQUEST.into(),
            replying_network: "net2".into(),
            receiving_network: "net1".into(),
            status: ReplyStatus::Ok as i32,
            reason: String::new(),
            records: listed,
            sealed_records: Some(
                seal::seal(&f.public, &context(), &RecordBundle { records: sealed }).unwrap(),
            ),
            created_at: Some(prost_types::Timestamp {
                seconds: 1_800_000_000,
                nanos: 0,
            }),
        }
    }

    fn sign(f: &Fixture, reply: &Reply) -> SignedReply {
        SignedReply::sign(reply, f.identity.clone(), &f.signer).unwrap()
    }

    fn verify(f: &Fixture, reply: &Reply) -> Result<VerifiedReply, ReplyError> {
        verify_reply(&sign(f, reply), &f.key)
    }

    /// The reply a responder forms from both records, listing each.
    fn good(f: &Fixture) -> Reply {
        reply(f, digests(&records()), records())
    }

    /// Why the good reply, changed by `change`, is refused.
    fn refused(f: &Fixture, change: impl FnOnce(&mut Reply)) -> ReplyError {
        let mut changed = good(f);
        change(&mut changed);
        verify(f, &changed).unwrap_err()
    }

    #[test]
    fn a_good_reply_opens_to_its_checked_records() {
        let f = fixture();
        let verified = verify(&f, &good(&f)).unwrap();
        assert_eq!(verified.request_id, REQUEST);
        assert_eq!(verified.replying_network, "net2");
        assert_eq!(verified.responder_msp_id, "Net2Org1MSP");
        assert_eq!(verified.records.len(), 2);
        assert_eq!(verified.records[0].record_id, "c1");
        assert_eq!(verified.records[0].resource["code"]["text"], "Asthma");
        assert_eq!(verified.records[1].resource["gender"], "female");
        assert_eq!(verified.resources().count(), 2);
    }

    #[test]
    fn the_base64_form_decodes_to_the_same_reply() {
        let f = fixture();
        let signed = sign(&f, &good(&f));
        let text = base64::engine::general_purpose::STANDARD.encode(signed.encode_to_vec());
        assert_eq!(decode_signed_reply(&text).unwrap(), signed);
        assert!(matches!(
            decode_signed_reply("%%%"),
            Err(ReplyError::Malformed(_))
        ));
        assert!(matches!(
            decode_signed_reply("/w=="),
            Err(ReplyError::Malformed(_))
        ));
    }

    #[test]
    fn tampered_or_moved_sealed_records_do_not_open() {
        let f = fixture();
        // Re-signed: a responder (or anyone with a key) cannot make it open.
        let tampered = refused(&f, |r| {
            if let Some(sealed) = r.sealed_records.as_mut() {
                sealed.ciphertext[3] ^= 0x20;
            }
        });
        // Sealed for another request.
        let elsewhere = SealContext {
            request_id: "another",
            ..context()
        };
        let bundle = RecordBundle { records: records() };
        let moved = refused(&f, |r| {
            r.sealed_records = Some(seal::seal(&f.public, &elsewhere, &bundle).unwrap());
        });
        for error in [tampered, moved] {
            assert!(
                matches!(error, ReplyError::Decrypt(SealError::Open)),
                "{error}"
            );
        }
    }

    #[test]
    fn refusals_are_not_verification_failures() {
        for refusal in [
            ReplyError::Refused {
                reason: "no".into(),
            },
            ReplyError::NotFound {
                reason: "none".into(),
            },
            ReplyError::Rejected {
                reason: "no".into(),
            },
        ] {
            assert!(!refusal.is_verification_failure(), "{refusal}");
        }
        for failure in [
            ReplyError::HashMismatch("p1".into()),
            ReplyError::Decrypt(SealError::Open),
            ReplyError::NoSealedRecords,
            ReplyError::UnknownStatus(9),
        ] {
            assert!(failure.is_verification_failure(), "{failure}");
        }
    }

    #[test]
    fn a_bad_signature_is_refused() {
        let f = fixture();
        let mut signed = sign(&f, &good(&f));
        let last = signed.reply.len() - 1;
        signed.reply[last] ^= 1;
        assert!(matches!(
            verify_reply(&signed, &f.key),
            Err(ReplyError::Signature(_))
        ));
        let other = P256Signer::new(p256::ecdsa::SigningKey::from_slice(&[4; 32]).unwrap());
        let forged = SignedReply::sign(&good(&f), f.identity.clone(), &other).unwrap();
        assert!(matches!(
            verify_reply(&forged, &f.key),
            Err(ReplyError::Signature(_))
        ));
    }

    #[test]
    fn hash_count_and_id_mismatches_are_each_named() {
        let f = fixture();
        let mut wrong_hash = digests(&records());
        wrong_hash[1].sha256[0] ^= 1;
        assert!(matches!(
            verify(&f, &reply(&f, wrong_hash, records())),
            Err(ReplyError::HashMismatch(id)) if id == "p1"
        ));

        let one = records()[..1].to_vec();
        assert!(matches!(
            verify(&f, &reply(&f, digests(&records()), one.clone())),
            Err(ReplyError::MissingRecord(id)) if id == "p1"
        ));
        assert!(matches!(
            verify(&f, &reply(&f, digests(&one), records())),
            Err(ReplyError::UnlistedRecord(id)) if id == "p1"
        ));

        let mut twice = records();
        twice.push(records()[0].clone());
        assert!(matches!(
            verify(&f, &reply(&f, digests(&records()), twice)),
            Err(ReplyError::DuplicateRecord(id)) if id == "c1"
        ));
        let mut listed_twice = digests(&records());
        listed_twice.push(listed_twice[0].clone());
        assert!(matches!(
            verify(&f, &reply(&f, listed_twice, records())),
            Err(ReplyError::DuplicateRecord(id)) if id == "c1"
        ));

        let mut wrong_category = digests(&records());
        wrong_category[0].category = "Observation".into();
        assert!(matches!(
            verify(&f, &reply(&f, wrong_category, records())),
            Err(ReplyError::CategoryMismatch { .. })
        ));

        let mut not_fhir = records();
        not_fhir[0].content = b"[1]".to_vec();
        assert!(matches!(
            verify(&f, &reply(&f, digests(&not_fhir), not_fhir)),
            Err(ReplyError::BadRecord {
                source: RecordError::NotAnObject,
                ..
            })
        ));
    }

    #[test]
    fn addressing_and_status_are_checked() {
        let f = fixture();
        assert!(matches!(
            refused(&f, |r| r.request_id = "someone-else".into()),
            ReplyError::WrongRequest { .. }
        ));
        for change in [
            |r: &mut Reply| r.replying_network = "net3".into(),
            |r: &mut Reply| r.receiving_network = "net3".into(),
        ] {
            assert!(matches!(
                refused(&f, change),
                ReplyError::WrongNetworks { .. }
            ));
        }
        let not_found = refused(&f, |r| {
            r.status = ReplyStatus::NotFound as i32;
            r.reason = "no records for this patient".into();
        });
        assert!(matches!(
            not_found,
            ReplyError::NotFound { reason } if reason == "no records for this patient"
        ));
        assert!(matches!(
            refused(&f, |r| r.status = ReplyStatus::Rejected as i32),
            ReplyError::Rejected { .. }
        ));
        assert!(matches!(
            refused(&f, |r| r.status = 42),
            ReplyError::UnknownStatus(42)
        ));
        assert!(matches!(
            refused(&f, |r| r.sealed_records = None),
            ReplyError::NoSealedRecords
        ));
    }

    #[test]
    fn another_requesters_key_cannot_open_the_records() {
        let f = fixture();
        let signed = sign(&f, &good(&f));
        let stranger = ReplyKey {
            decryption_key: DecryptionKey::generate().0,
            ..f.key.clone()
        };
        assert!(matches!(
            verify_reply(&signed, &stranger),
            Err(ReplyError::Decrypt(SealError::Open))
        ));
    }
}
