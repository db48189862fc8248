//! Parsing the exchange messages the contract receives, and the "standard
//! format" checks of Algorithms 1–3: field presence, lengths, id syntax,
//! timestamps.
//!
//! Decoding is separate from signature verification so that every step
//! fails with its own error; signatures are checked with
//! [`SignedRequest::open`]/[`SignedReply::open`], which verify the exact
//! bytes parsed here. These functions take arbitrary bytes and are the
//! fuzzing targets (see `chaincode/fuzz`).

use ehrx_proto::exchange::{
    ForwardedEnvelope, Purpose, Reply, ReplyStatus, Request, SignedReply, SignedRequest,
    forwarded_envelope::Payload,
};
use prost::Message;

use crate::ehr::{error::EhrError, fhir, state};

/// The largest signed request or request envelope accepted, in bytes.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;
/// The largest signed reply or reply envelope accepted (sealed records
/// included), in bytes.
pub const MAX_REPLY_BYTES: usize = 16 * 1024 * 1024;
/// Room an envelope needs around its payload for the attestation.
const ENVELOPE_OVERHEAD: usize = 1024;
/// How far a message's creation time may be ahead of the transaction's.
pub const MAX_CLOCK_SKEW_MS: i64 = 5 * 60 * 1000;
/// The most categories a request may name.
pub const MAX_CATEGORIES: usize = 32;
/// The most records a reply may list.
pub const MAX_REPLY_RECORDS: usize = 10_000;

/// A signed request and the request inside it, decoded but not verified.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedRequest {
    /// The exact serialised signed request.
    pub bytes: Vec<u8>,
    /// The signed wrapper, as received.
    pub signed: SignedRequest,
    /// The request its bytes decode to.
    pub request: Request,
}

/// A signed reply and the reply inside it, decoded but not verified.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedReply {
    /// The exact serialised signed reply.
    pub bytes: Vec<u8>,
    /// The signed wrapper, as received.
    pub signed: SignedReply,
    /// The reply its bytes decode to.
    pub reply: Reply,
}

fn limit(what: &'static str, bytes: &[u8], limit: usize) -> Result<(), EhrError> {
    if bytes.len() > limit {
        return Err(EhrError::TooLarge {
            what,
            size: bytes.len(),
            limit,
        });
    }
    Ok(())
}

fn decode<M: Message + Default>(what: &'static str, bytes: &[u8]) -> Result<M, EhrError> {
    M::decode(bytes).map_err(|e| EhrError::invalid(what, format!("not a well-formed {what}: {e}")))
}

/// Decodes a serialised `SignedRequest` and the request it carries.
pub fn parse_signed_request(bytes: &[u8]) -> Result<ParsedRequest, EhrError> {
    limit("signed request", bytes, MAX_REQUEST_BYTES)?;
    let signed: SignedRequest = decode("signed request", bytes)?;
    let request: Request = decode("request", &signed.request)?;
    Ok(ParsedRequest {
        bytes: bytes.to_vec(),
        signed,
        request,
    })
}

/// Decodes a serialised `SignedReply` and the reply it carries.
pub fn parse_signed_reply(bytes: &[u8]) -> Result<ParsedReply, EhrError> {
    limit("signed reply", bytes, MAX_REPLY_BYTES)?;
    let signed: SignedReply = decode("signed reply", bytes)?;
    let reply: Reply = decode("reply", &signed.reply)?;
    Ok(ParsedReply {
        bytes: bytes.to_vec(),
        signed,
        reply,
    })
}

/// Decodes a forwarded envelope that must carry a signed request.
pub fn parse_request_envelope(
    bytes: &[u8],
) -> Result<(ForwardedEnvelope, ParsedRequest), EhrError> {
    limit(
        "forwarded envelope",
        bytes,
        MAX_REQUEST_BYTES + ENVELOPE_OVERHEAD,
    )?;
    let envelope: ForwardedEnvelope = decode("forwarded envelope", bytes)?;
    let parsed = match &envelope.payload {
        Some(Payload::SignedRequest(signed)) => parse_signed_request(signed)?,
        Some(Payload::SignedReply(_)) => {
            return Err(EhrError::invalid(
                "forwarded envelope",
                "carries a signed reply where a signed request is expected",
            ));
        }
        None => {
            return Err(EhrError::invalid(
                "forwarded envelope",
                "carries no payload",
            ));
        }
    };
    Ok((envelope, parsed))
}

/// Decodes a forwarded envelope that must carry a signed reply.
pub fn parse_reply_envelope(bytes: &[u8]) -> Result<(ForwardedEnvelope, ParsedReply), EhrError> {
    limit(
        "forwarded envelope",
        bytes,
        MAX_REPLY_BYTES + ENVELOPE_OVERHEAD,
    )?;
    let envelope: ForwardedEnvelope = decode("forwarded envelope", bytes)?;
    let parsed = match &envelope.payload {
        Some(Payload::SignedReply(signed)) => parse_signed_reply(signed)?,
        Some(Payload::SignedRequest(_)) => {
            return Err(EhrError::invalid(
                "forwarded envelope",
                "carries a signed request where a signed reply is expected",
            ));
        }
        None => {
            return Err(EhrError::invalid(
                "forwarded envelope",
                "carries no payload",
            ));
        }
    };
    Ok((envelope, parsed))
}

/// A request id: a lower-case hyphenated UUID v4.
pub fn is_request_id(id: &str) -> bool {
    let bytes = id.as_bytes();
    bytes.len() == 36
        && bytes.iter().enumerate().all(|(i, &b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            14 => b == b'4',
            19 => matches!(b, b'8' | b'9' | b'a' | b'b'),
            _ => b.is_ascii_digit() || (b'a'..=b'f').contains(&b),
        })
}

/// A network id or requester code: 1 to 64 of `A-Z a-z 0-9 - . _`.
pub fn is_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
}

/// Checks a request id, naming the field.
pub fn check_request_id(id: &str) -> Result<(), EhrError> {
    if is_request_id(id) {
        Ok(())
    } else {
        Err(EhrError::invalid(
            "request_id",
            format!("{id:?} is not a lower-case hyphenated UUID v4"),
        ))
    }
}

fn check_name(what: &'static str, name: &str) -> Result<(), EhrError> {
    if is_name(name) {
        Ok(())
    } else {
        Err(EhrError::invalid(
            what,
            format!("{name:?} is not 1 to 64 of A-Z a-z 0-9 - . _"),
        ))
    }
}

fn check_created_at(
    what: &'static str,
    created_at: Option<&prost_types::Timestamp>,
    now_ms: i64,
) -> Result<i64, EhrError> {
    let created = created_at
        .and_then(state::timestamp_ms)
        .ok_or_else(|| EhrError::invalid(what, "missing or malformed created_at"))?;
    if created > now_ms.saturating_add(MAX_CLOCK_SKEW_MS) {
        return Err(EhrError::invalid(
            what,
            format!(
                "created_at ({created} ms) is more than 5 minutes after the transaction timestamp ({now_ms} ms)"
            ),
        ));
    }
    Ok(created)
}

/// The standard format of a request, at transaction time `now_ms`:
/// returns its creation time.
pub fn check_request_format(request: &Request, now_ms: i64) -> Result<i64, EhrError> {
    check_request_id(&request.request_id)?;
    check_name("source_network", &request.source_network)?;
    check_name("destination_network", &request.destination_network)?;
    if request.source_network == request.destination_network {
        return Err(EhrError::invalid(
            "destination_network",
            "equals the source network",
        ));
    }
    check_name("requester_code", &request.requester_code)?;
    if request.patient_ref.len() != 32 {
        return Err(EhrError::invalid(
            "patient_ref",
            format!("is {} bytes, expected 32", request.patient_ref.len()),
        ));
    }
    match Purpose::try_from(request.purpose) {
        Ok(Purpose::Unspecified) | Err(_) => {
            return Err(EhrError::invalid(
                "purpose",
                format!("{} is not a known purpose", request.purpose),
            ));
        }
        Ok(_) => {}
    }
    check_categories(&request.categories)?;
    if request.requester_encryption_key.len() != 32 {
        return Err(EhrError::invalid(
            "requester_encryption_key",
            format!(
                "is {} bytes, expected a 32-byte X25519 public key",
                request.requester_encryption_key.len()
            ),
        ));
    }
    check_created_at("request", request.created_at.as_ref(), now_ms)
}

/// Categories: FHIR resource type names, no repeats, at most
/// [`MAX_CATEGORIES`].
pub fn check_categories(categories: &[String]) -> Result<(), EhrError> {
    if categories.len() > MAX_CATEGORIES {
        return Err(EhrError::invalid(
            "categories",
            format!("{} given, at most {MAX_CATEGORIES}", categories.len()),
        ));
    }
    for (index, category) in categories.iter().enumerate() {
        if !fhir::is_resource_type(category) {
            return Err(EhrError::invalid(
                "categories",
                format!("{category:?} is not a FHIR resource type name"),
            ));
        }
        if categories[..index].contains(category) {
            return Err(EhrError::invalid(
                "categories",
                format!("{category:?} is listed twice"),
            ));
        }
    }
    Ok(())
}

/// The standard format of a reply, at transaction time `now_ms`: returns
/// its status.
pub fn check_reply_format(reply: &Reply, now_ms: i64) -> Result<ReplyStatus, EhrError> {
    check_request_id(&reply.request_id)?;
    check_name("replying_network", &reply.replying_network)?;
    check_name("receiving_network", &reply.receiving_network)?;
    let status = match ReplyStatus::try_from(reply.status) {
        Ok(ReplyStatus::Unspecified) | Err(_) => {
            return Err(EhrError::invalid(
                "status",
                format!("{} is not a known reply status", reply.status),
            ));
        }
        Ok(status) => status,
    };
    if reply.records.len() > MAX_REPLY_RECORDS {
        return Err(EhrError::invalid(
            "records",
            format!(
                "{} listed, at most {MAX_REPLY_RECORDS}",
                reply.records.len()
            ),
        ));
    }
    for (index, digest) in reply.records.iter().enumerate() {
        if !fhir::is_id(&digest.record_id) {
            return Err(EhrError::invalid(
                "records",
                format!("{:?} is not a record id", digest.record_id),
            ));
        }
        if digest.sha256.len() != 32 {
            return Err(EhrError::invalid(
                "records",
                format!("the hash of {} is not 32 bytes", digest.record_id),
            ));
        }
        if reply.records[..index]
            .iter()
            .any(|other| other.record_id == digest.record_id)
        {
            return Err(EhrError::invalid(
                "records",
                format!("{} is listed twice", digest.record_id),
            ));
        }
    }
    match status {
        ReplyStatus::Ok => {
            let sealed_ok = reply
                .sealed_records
                .as_ref()
                .is_some_and(|s| !s.encapsulated_key.is_empty() && !s.ciphertext.is_empty());
            if !sealed_ok {
                return Err(EhrError::invalid(
                    "sealed_records",
                    "an OK reply must carry its records sealed to the requester",
                ));
            }
            if !reply.reason.is_empty() {
                return Err(EhrError::invalid("reason", "an OK reply carries no reason"));
            }
        }
        _ => {
            if !reply.records.is_empty() || reply.sealed_records.is_some() {
                return Err(EhrError::invalid(
                    "records",
                    "a refusal (NOT_FOUND, REJECTED) carries no records",
                ));
            }
            if reply.reason.is_empty() || reply.reason.len() > 1024 {
                return Err(EhrError::invalid(
                    "reason",
                    "a refusal must say why, in at most 1024 bytes",
                ));
            }
        }
    }
    check_created_at("reply", reply.created_at.as_ref(), now_ms)?;
    Ok(status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_uuid_v4() {
        assert!(is_request_id("0f8fad5b-d9cb-469f-a165-70867728950e"));
        assert!(!is_request_id("0F8FAD5B-D9CB-469F-A165-70867728950E"));
        assert!(!is_request_id("0f8fad5b-d9cb-169f-a165-70867728950e"));
        assert!(!is_request_id("0f8fad5b-d9cb-469f-c165-70867728950e"));
        assert!(!is_request_id("0f8fad5bd9cb469fa16570867728950e"));
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(parse_signed_request(&[0xff, 0xff, 0xff]).is_err());
        assert!(parse_signed_reply(&[0x0a, 0x05, 0x01]).is_err());
        assert!(parse_request_envelope(&[]).is_err());
        assert!(matches!(
            parse_request_envelope(&vec![0; MAX_REQUEST_BYTES + ENVELOPE_OVERHEAD + 1]),
            Err(EhrError::TooLarge { .. })
        ));
    }
}
