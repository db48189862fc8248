//! What a relay needs to know about a signed request or reply it carries:
//! its kind, its request id and which network it is for.
//!
//! The relay reads these fields without verifying any signature. It is a
//! courier: the source network's chaincode verified the message before the
//! event was emitted, and the destination's chaincode verifies it again on
//! arrival, so a check here would only duplicate theirs (and could drift
//! from them).

use ehrx_proto::exchange::{
    Reply, Request, SignedReply, SignedRequest, forwarded_envelope::Payload,
};

/// Which exchange message an envelope carries, with the functions that
/// take it in and prove it (defined once, in the interface).
pub use ehrx_client::ehr::interface::Forwarded as Kind;

/// Why a payload could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    /// The envelope carries neither a request nor a reply.
    #[error("the envelope carries no payload")]
    MissingPayload,
    /// The envelope carries no attestation by its source network.
    #[error("the envelope carries no attestation")]
    MissingAttestation,
    /// The bytes are not the message they claim to be.
    #[error("malformed {what}: {reason}")]
    Malformed {
        /// Which message.
        what: &'static str,
        /// What the decoder said.
        reason: String,
    },
    /// A field the relay routes by is empty.
    #[error("the {what} has an empty {field}")]
    Empty {
        /// Which message.
        what: &'static str,
        /// Which field.
        field: &'static str,
    },
}

/// The routing facts of one payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Request or reply.
    pub kind: Kind,
    /// The exchange's request id.
    pub request_id: String,
    /// The network the payload came from.
    pub from_network: String,
    /// The network the payload is for.
    pub to_network: String,
}

fn decode<M: prost::Message + Default>(
    what: &'static str,
    bytes: &[u8],
) -> Result<M, EnvelopeError> {
    M::decode(bytes).map_err(|e| EnvelopeError::Malformed {
        what,
        reason: e.to_string(),
    })
}

fn non_empty(
    what: &'static str,
    field: &'static str,
    value: String,
) -> Result<String, EnvelopeError> {
    if value.is_empty() {
        Err(EnvelopeError::Empty { what, field })
    } else {
        Ok(value)
    }
}

/// Reads the routing facts of a payload.
pub fn summarize(payload: &Payload) -> Result<Summary, EnvelopeError> {
    match payload {
        Payload::SignedRequest(bytes) => {
            let signed: SignedRequest = decode("signed request", bytes)?;
            let request: Request = decode("request", &signed.request)?;
            Ok(Summary {
                kind: Kind::Request,
                request_id: non_empty("request", "request_id", request.request_id)?,
                from_network: request.source_network,
                to_network: non_empty(
                    "request",
                    "destination_network",
                    request.destination_network,
                )?,
            })
        }
        Payload::SignedReply(bytes) => {
            let signed: SignedReply = decode("signed reply", bytes)?;
            let reply: Reply = decode("reply", &signed.reply)?;
            Ok(Summary {
                kind: Kind::Reply,
                request_id: non_empty("reply", "request_id", reply.request_id)?,
                from_network: reply.replying_network,
                to_network: non_empty("reply", "receiving_network", reply.receiving_network)?,
            })
        }
    }
}

/// The encoded signed request of `request`, with placeholder signature
/// fields; for tests that only route.
#[cfg(test)]
pub(crate) fn test_signed_request(request: &Request) -> Vec<u8> {
    use prost::Message as _;
    SignedRequest {
        request: request.encode_to_vec(),
        signature: vec![1; 64],
        signer: b"signer".to_vec(),
    }
    .encode_to_vec()
}

/// The encoded signed reply of `reply`, with placeholder signature fields;
/// for tests that only route.
#[cfg(test)]
pub(crate) fn test_signed_reply(reply: &Reply) -> Vec<u8> {
    use prost::Message as _;
    SignedReply {
        reply: reply.encode_to_vec(),
        signature: vec![2; 64],
        signer: b"responder".to_vec(),
    }
    .encode_to_vec()
}

#[cfg(test)]
mod tests {
    use prost::Message as _;

    use super::*;
    use ehrx_client::ehr::interface::function;

    #[test]
    fn a_request_is_for_its_destination() {
        let bytes = test_signed_request(&Request {
            request_id: "r1".into(),
            source_network: "net1".into(),
            destination_network: "net2".into(),
            ..Default::default()
        });
        let summary = summarize(&Payload::SignedRequest(bytes)).unwrap();
        assert_eq!(
            summary,
            Summary {
                kind: Kind::Request,
                request_id: "r1".into(),
                from_network: "net1".into(),
                to_network: "net2".into(),
            }
        );
        assert_eq!(summary.kind.accept_function(), function::ACCEPT_REQUEST);
    }

    #[test]
    fn a_reply_is_for_its_receiving_network() {
        let reply = Reply {
            request_id: "r1".into(),
            replying_network: "net2".into(),
            receiving_network: "net1".into(),
            ..Default::default()
        };
        let bytes = test_signed_reply(&reply);
        let summary = summarize(&Payload::SignedReply(bytes)).unwrap();
        assert_eq!(summary.kind, Kind::Reply);
        assert_eq!(summary.to_network, "net1");
        assert_eq!(summary.from_network, "net2");
        assert_eq!(summary.kind.accept_function(), function::ACCEPT_REPLY);
    }

    #[test]
    fn malformed_and_empty_payloads_are_named() {
        assert!(matches!(
            summarize(&Payload::SignedRequest(vec![0xff, 0xff])),
            Err(EnvelopeError::Malformed {
                what: "signed request",
                ..
            })
        ));
        let bad_inner = SignedReply {
            reply: vec![0x0a, 0x05],
            ..Default::default()
        }
        .encode_to_vec();
        assert!(matches!(
            summarize(&Payload::SignedReply(bad_inner)),
            Err(EnvelopeError::Malformed { what: "reply", .. })
        ));
        let no_destination = test_signed_request(&Request {
            request_id: "r1".into(),
            ..Default::default()
        });
        assert_eq!(
            summarize(&Payload::SignedRequest(no_destination)),
            Err(EnvelopeError::Empty {
                what: "request",
                field: "destination_network"
            })
        );
    }
}
