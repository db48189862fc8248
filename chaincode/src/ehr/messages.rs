//! Parsing the exchange messages the contract receives, and the "standard
//! format" checks of Algorithms 1–3: field presence, lengths, id syntax,
//! timestamps.
//!
//! Decoding is separate from signature verification so that every step
//! fails with its own error; signatures are checked with
//! [`SignedRequest::open`]/[`SignedReply::open`], which verify the exact
//! bytes parsed here. These functions take arbitrary bytes and are the
//! fuzzing targets (see `chaincode/fuzz`).

use ehrx_interface::{
    Key32,
    limits::{
        ENVELOPE_OVERHEAD_BYTES, MAX_CATEGORIES, MAX_CLOCK_SKEW_MS, MAX_REASON_BYTES,
        MAX_REPLY_BYTES, MAX_REPLY_RECORDS, MAX_REQUEST_BYTES,
    },
    names::Forwarded,
    quote,
    rules::{NAME_RULE, RECORD_ID_RULE, is_category, is_name, is_request_id, split_record_id},
};
use ehrx_proto::exchange::{
    ForwardedEnvelope, Purpose, Reply, ReplyStatus, Request, SignedReply, SignedRequest,
    forwarded_envelope::Payload,
};
use prost::Message;
use serde::de::DeserializeOwned;

use crate::{
    ehr::{error::EhrError, state},
    shim::contract::Args,
};

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

/// A signed request or reply as its network sent it: what a delivery
/// checks (see `requests::Sent::verify`) before it looks at the message
/// itself.
#[derive(Debug)]
pub struct Sent<'a> {
    /// Which of the two it is.
    pub kind: Forwarded,
    /// The network it comes from.
    pub network: &'a str,
    /// The request it is or answers.
    pub request_id: &'a str,
    /// Its exact signed bytes.
    pub signed: &'a [u8],
}

/// `sent()` of a parsed message whose `$network` field names the network
/// it comes from.
macro_rules! sent_by {
    ($parsed:ty, $message:ident, $network:ident, $kind:ident) => {
        impl $parsed {
            /// The message as the network it comes from sent it.
            pub fn sent(&self) -> Sent<'_> {
                Sent {
                    kind: Forwarded::$kind,
                    network: &self.$message.$network,
                    request_id: &self.$message.request_id,
                    signed: &self.bytes,
                }
            }
        }
    };
}

sent_by!(ParsedRequest, request, source_network, Request);
sent_by!(ParsedReply, reply, replying_network, Reply);

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

/// JSON parameter `name` of `args`, read with the interface's strict
/// reader (an object, no repeated keys, bounded depth and size, no unknown
/// fields).
pub fn json_arg<T: DeserializeOwned>(args: &Args, name: &'static str) -> Result<T, EhrError> {
    Ok(ehrx_interface::parse_object(name, args.bytes(name)?)?)
}

/// The `request_id` parameter of `args`, checked ([`check_request_id`]).
pub fn request_id_arg(args: &Args) -> Result<&str, EhrError> {
    let request_id = args.string("request_id")?;
    check_request_id(request_id)?;
    Ok(request_id)
}

/// Parameter `name` of `args` as 32 bytes in hex, its parser's complaint
/// naming the parameter.
pub fn key32_arg(args: &Args, name: &'static str) -> Result<Key32, EhrError> {
    Key32::parse(args.string(name)?).map_err(|e| EhrError::invalid(name, e.to_string()))
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

/// Decodes a forwarded envelope that must carry `kind` of message, of at
/// most `max_payload` bytes: the envelope, and the signed message's bytes.
fn open_envelope(
    bytes: &[u8],
    kind: Forwarded,
    max_payload: usize,
) -> Result<(ForwardedEnvelope, Vec<u8>), EhrError> {
    limit(
        "forwarded envelope",
        bytes,
        max_payload + ENVELOPE_OVERHEAD_BYTES,
    )?;
    let envelope: ForwardedEnvelope = decode("forwarded envelope", bytes)?;
    let wrong = |found: &str, expected: &str| {
        EhrError::invalid(
            "forwarded envelope",
            format!("carries a {found} where a {expected} is expected"),
        )
    };
    let signed = match (&envelope.payload, kind) {
        (Some(Payload::SignedRequest(signed)), Forwarded::Request)
        | (Some(Payload::SignedReply(signed)), Forwarded::Reply) => signed.clone(),
        (Some(Payload::SignedReply(_)), Forwarded::Request) => {
            return Err(wrong("signed reply", "signed request"));
        }
        (Some(Payload::SignedRequest(_)), Forwarded::Reply) => {
            return Err(wrong("signed request", "signed reply"));
        }
        (None, _) => {
            return Err(EhrError::invalid(
                "forwarded envelope",
                "carries no payload",
            ));
        }
    };
    Ok((envelope, signed))
}

/// Decodes a forwarded envelope that must carry a signed request.
pub fn parse_request_envelope(
    bytes: &[u8],
) -> Result<(ForwardedEnvelope, ParsedRequest), EhrError> {
    let (envelope, signed) = open_envelope(bytes, Forwarded::Request, MAX_REQUEST_BYTES)?;
    Ok((envelope, parse_signed_request(&signed)?))
}

/// Decodes a forwarded envelope that must carry a signed reply.
pub fn parse_reply_envelope(bytes: &[u8]) -> Result<(ForwardedEnvelope, ParsedReply), EhrError> {
    let (envelope, signed) = open_envelope(bytes, Forwarded::Reply, MAX_REPLY_BYTES)?;
    Ok((envelope, parse_signed_reply(&signed)?))
}

/// Checks that `network`, which a message names in `field`, is this
/// network (`this`).
pub fn check_this_network(field: &'static str, network: &str, this: &str) -> Result<(), EhrError> {
    if network == this {
        return Ok(());
    }
    Err(EhrError::invalid(
        field,
        format!("{} is not this network ({})", quote(network), quote(this)),
    ))
}

/// Checks a request id, naming the field.
pub fn check_request_id(id: &str) -> Result<(), EhrError> {
    if is_request_id(id) {
        Ok(())
    } else {
        Err(EhrError::invalid(
            "request_id",
            format!("{} is not a lower-case hyphenated UUID v4", quote(id)),
        ))
    }
}

/// Checks a network id or requester code, naming the field.
pub fn check_name(what: &'static str, name: &str) -> Result<(), EhrError> {
    if is_name(name) {
        Ok(())
    } else {
        Err(EhrError::invalid(
            what,
            format!("{} is not {NAME_RULE}", quote(name)),
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
                "created_at ({created} ms) is more than {} minutes after the transaction timestamp ({now_ms} ms)",
                MAX_CLOCK_SKEW_MS / 60_000
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
        if !is_category(category) {
            return Err(EhrError::invalid(
                "categories",
                format!("{} is not a FHIR resource type name", quote(category)),
            ));
        }
        if categories[..index].contains(category) {
            return Err(EhrError::invalid(
                "categories",
                format!("{} is listed twice", quote(category)),
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
    let mut seen = std::collections::HashSet::with_capacity(reply.records.len());
    for digest in &reply.records {
        if split_record_id(&digest.record_id).is_none() {
            return Err(EhrError::invalid(
                "records",
                format!(
                    "{} is not a record id ({RECORD_ID_RULE})",
                    quote(&digest.record_id)
                ),
            ));
        }
        if digest.sha256.len() != 32 {
            return Err(EhrError::invalid(
                "records",
                format!("the hash of {} is not 32 bytes", digest.record_id),
            ));
        }
        if !seen.insert(digest.record_id.as_str()) {
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
            if reply.reason.is_empty() || reply.reason.len() > MAX_REASON_BYTES {
                return Err(EhrError::invalid(
                    "reason",
                    format!("a refusal must say why, in at most {MAX_REASON_BYTES} bytes"),
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
    fn garbage_is_an_error() {
        assert!(parse_signed_request(&[0xff, 0xff, 0xff]).is_err());
        assert!(parse_signed_reply(&[0x0a, 0x05, 0x01]).is_err());
        assert!(parse_request_envelope(&[]).is_err());
        assert!(matches!(
            parse_request_envelope(&vec![0; MAX_REQUEST_BYTES + ENVELOPE_OVERHEAD_BYTES + 1]),
            Err(EhrError::TooLarge { .. })
        ));
    }
}
