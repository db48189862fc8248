//! Forming a responder's reply, with no network: the records
//! `GetRequestRecords` returned become a [`Reply`] whose digests list each
//! record's SHA-256 in the contract's order (the patient's upload order)
//! and whose bundle is sealed to the
//! requester's key for this request and these two networks; a rejected
//! request gets a refusal carrying its reason. [`sign`] wraps either in a
//! [`SignedReply`] by the responder.
//!
//! Each record's content is checked against the hash the contract
//! returned before it is sealed, so a reply that SubmitReply would refuse
//! for a hash mismatch is never formed.

use std::time::SystemTime;

use base64::Engine as _;
use prost::Message as _;
use sha2::{Digest as _, Sha256};

use ehrx_client::{
    ehr::interface::{RecordContent, RequestRecords, limits::MAX_REASON_BYTES},
    fabric::{SignError, Signer},
    proto::exchange::{
        Record, RecordBundle, Reply, ReplyStatus, SignedReply,
        seal::{SealContext, SealError, seal},
    },
};

/// The reason of a NOT_FOUND reply.
pub const NO_RECORDS: &str = "no records of this patient in the requested categories";

/// Why a reply could not be formed from what the contract returned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormError {
    /// A record's content is not base64.
    #[error("record {record_id}: the content is not base64: {reason}")]
    Content {
        /// The record.
        record_id: String,
        /// The decoder's complaint.
        reason: String,
    },
    /// A record's content does not hash to the hash listed with it.
    #[error("record {record_id}: the content does not match its SHA-256 {sha256}")]
    HashMismatch {
        /// The record.
        record_id: String,
        /// The hash the contract listed.
        sha256: String,
    },
    /// Sealing failed (a malformed key, most likely).
    #[error("sealing the records failed: {0}")]
    Seal(#[from] SealError),
}

/// The records as they will be sealed, each checked against its hash.
pub fn decode_records(records: &[RecordContent]) -> Result<Vec<Record>, FormError> {
    let mut decoded = Vec::with_capacity(records.len());
    for record in records {
        let content = base64::engine::general_purpose::STANDARD
            .decode(&record.content)
            .map_err(|e| FormError::Content {
                record_id: record.record_id.clone(),
                reason: e.to_string(),
            })?;
        if Sha256::digest(&content).as_slice() != record.sha256.bytes() {
            return Err(FormError::HashMismatch {
                record_id: record.record_id.clone(),
                sha256: record.sha256.to_hex(),
            });
        }
        decoded.push(Record {
            record_id: record.record_id.clone(),
            category: record.category.clone(),
            content,
        });
    }
    // In the order the contract listed them: the patient's upload order.
    Ok(decoded)
}

/// The reply to an accepted request: OK with the records sealed to the
/// requester, or NOT_FOUND when there are none.
pub fn form_reply(
    request: &RequestRecords,
    replying_network: &str,
    created_at: SystemTime,
) -> Result<Reply, FormError> {
    let records = decode_records(&request.records)?;
    if records.is_empty() {
        return Ok(refusal(
            &request.request_id,
            replying_network,
            &request.source_network,
            ReplyStatus::NotFound,
            NO_RECORDS,
            created_at,
        ));
    }
    let key = request.requester_encryption_key.bytes();
    let context = SealContext {
        request_id: &request.request_id,
        replying_network,
        receiving_network: &request.source_network,
    };
    let digests = records.iter().map(Record::digest).collect();
    let sealed = seal(key, &context, &RecordBundle { records })?;
    Ok(Reply {
        request_id: request.request_id.clone(),
        replying_network: replying_network.to_string(),
        receiving_network: request.source_network.clone(),
        status: ReplyStatus::Ok as i32,
        reason: String::new(),
        records: digests,
        sealed_records: Some(sealed),
        created_at: Some(created_at.into()),
    })
}

/// A refusal (NOT_FOUND or REJECTED) carrying `reason`, cut to the
/// contract's limit; an empty reason becomes the status's name.
pub fn refusal(
    request_id: &str,
    replying_network: &str,
    receiving_network: &str,
    status: ReplyStatus,
    reason: &str,
    created_at: SystemTime,
) -> Reply {
    let mut reason = truncate(reason, MAX_REASON_BYTES).to_string();
    if reason.is_empty() {
        reason = status.as_str_name().to_lowercase();
    }
    Reply {
        request_id: request_id.to_string(),
        replying_network: replying_network.to_string(),
        receiving_network: receiving_network.to_string(),
        status: status as i32,
        reason,
        records: Vec::new(),
        sealed_records: None,
        created_at: Some(created_at.into()),
    }
}

/// `text` cut to at most `max` bytes on a character boundary.
fn truncate(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// `reply` signed as `identity` (a serialised `msp.SerializedIdentity`),
/// serialised: the argument of `SubmitReply`.
pub fn sign(reply: &Reply, identity: &[u8], signer: &dyn Signer) -> Result<Vec<u8>, SignError> {
    Ok(SignedReply::sign(reply, identity.to_vec(), signer)?.encode_to_vec())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use ehrx_client::ehr::interface::Key32;
    use ehrx_client::{
        fabric::{P256Signer, protos::msp::SerializedIdentity},
        proto::exchange::seal::DecryptionKey,
    };

    const REQUEST_ID: &str = "00000000-0000-4000-8000-000000000001";

    fn content(id: &str, kind: &str) -> Vec<u8> {
        format!(r#"{{"resourceType":"{kind}","id":"{id}"}}"#).into_bytes()
    }

    fn listed(id: &str, kind: &str) -> RecordContent {
        let bytes = content(id, kind);
        RecordContent {
            record_id: id.into(),
            category: kind.into(),
            sha256: Key32::new(Sha256::digest(&bytes).into()),
            content: base64::engine::general_purpose::STANDARD.encode(bytes),
        }
    }

    fn request(public_key: &[u8], records: Vec<RecordContent>) -> RequestRecords {
        RequestRecords {
            request_id: REQUEST_ID.into(),
            patient_ref: Key32::new([7; 32]),
            requester_encryption_key: Key32::new(public_key.try_into().unwrap()),
            source_network: "net1".into(),
            records,
        }
    }

    fn now() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_704_067_200)
    }

    #[test]
    fn an_ok_reply_lists_each_hash_in_the_contracts_order_and_opens_to_the_records() {
        let (key, public) = DecryptionKey::generate();
        // Not in id order on purpose: the reply keeps the contract's order
        // (the patient's upload order).
        let input = request(
            &public,
            vec![
                listed("obs-1", "Observation"),
                listed("cond-1", "Condition"),
            ],
        );
        let reply = form_reply(&input, "net2", now()).unwrap();
        assert_eq!(reply.status, ReplyStatus::Ok as i32);
        assert!(reply.reason.is_empty());
        assert_eq!(reply.replying_network, "net2");
        assert_eq!(reply.receiving_network, "net1");
        assert_eq!(reply.request_id, REQUEST_ID);
        let ids: Vec<&str> = reply.records.iter().map(|r| r.record_id.as_str()).collect();
        assert_eq!(ids, ["obs-1", "cond-1"]);

        // The contract's rules: each digest is the SHA-256 of the stored
        // content, with its category.
        let context = SealContext {
            request_id: REQUEST_ID,
            replying_network: "net2",
            receiving_network: "net1",
        };
        let sealed = reply.sealed_records.as_ref().unwrap();
        let opened = key.open(&context, sealed).unwrap();
        assert_eq!(opened.records.len(), 2);
        for (digest, record) in reply.records.iter().zip(&opened.records) {
            assert_eq!(digest.record_id, record.record_id);
            assert_eq!(digest.category, record.category);
            assert_eq!(digest.sha256, Sha256::digest(&record.content).to_vec());
            assert_eq!(record.content, content(&record.record_id, &record.category));
        }
        // Bound to this request and these networks.
        let elsewhere = SealContext {
            receiving_network: "net3",
            ..context
        };
        assert!(key.open(&elsewhere, sealed).is_err());
    }

    #[test]
    fn no_records_is_a_not_found_refusal() {
        let (_, public) = DecryptionKey::generate();
        let reply = form_reply(&request(&public, Vec::new()), "net2", now()).unwrap();
        assert_eq!(reply.status, ReplyStatus::NotFound as i32);
        assert_eq!(reply.reason, NO_RECORDS);
        assert!(reply.records.is_empty());
        assert!(reply.sealed_records.is_none());
    }

    #[test]
    fn content_that_does_not_match_its_hash_is_never_sealed() {
        let (_, public) = DecryptionKey::generate();
        let mut record = listed("cond-1", "Condition");
        record.sha256 = Key32::new([0u8; 32]);
        assert!(matches!(
            form_reply(&request(&public, vec![record]), "net2", now()),
            Err(FormError::HashMismatch { record_id, .. }) if record_id == "cond-1"
        ));
        let mut record = listed("cond-1", "Condition");
        record.content = "not base64!".into();
        assert!(matches!(
            form_reply(&request(&public, vec![record]), "net2", now()),
            Err(FormError::Content { .. })
        ));
    }

    #[test]
    fn a_bad_requester_key_never_reaches_the_sealer() {
        let mut json = serde_json::to_value(request(&[1; 32], vec![])).unwrap();
        json["requester_encryption_key"] = "zz".into();
        assert!(serde_json::from_value::<RequestRecords>(json).is_err());
    }

    #[test]
    fn a_refusal_carries_its_reason_within_the_limit() {
        let reply = refusal(
            REQUEST_ID,
            "net2",
            "net1",
            ReplyStatus::Rejected,
            &"é".repeat(MAX_REASON_BYTES),
            now(),
        );
        assert_eq!(reply.status, ReplyStatus::Rejected as i32);
        assert!(reply.reason.len() <= MAX_REASON_BYTES);
        assert!(reply.reason.starts_with('é'));
        let empty = refusal(REQUEST_ID, "net2", "net1", ReplyStatus::Rejected, "", now());
        assert_eq!(empty.reason, "reply_status_rejected");
    }

    #[test]
    fn the_signed_reply_opens_to_the_same_reply_and_signer() {
        let (_, public) = DecryptionKey::generate();
        let reply = form_reply(
            &request(&public, vec![listed("cond-1", "Condition")]),
            "net2",
            now(),
        )
        .unwrap();
        let key = p256::ecdsa::SigningKey::from_slice(&[3; 32]).unwrap();
        let signer = P256Signer::new(key.clone());
        // The identity is carried as given; whether it is the submitter's
        // is the contract's check.
        let identity = SerializedIdentity {
            mspid: "Net2Org1MSP".into(),
            id_bytes: b"not a certificate".to_vec(),
        }
        .encode_to_vec();
        let bytes = sign(&reply, &identity, &signer).unwrap();
        let signed = SignedReply::decode(bytes.as_slice()).unwrap();
        assert_eq!(signed.signer, identity);
        assert_eq!(Reply::decode(signed.reply.as_slice()).unwrap(), reply);
        let signature = p256::ecdsa::Signature::from_der(&signed.signature).unwrap();
        p256::ecdsa::signature::Verifier::verify(key.verifying_key(), &signed.reply, &signature)
            .unwrap();
    }
}
