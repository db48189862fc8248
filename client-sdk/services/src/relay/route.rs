//! From a chaincode event to what leaves the network: which events are
//! forwarded, to which network, in which attested envelope.
//!
//! Pure functions, so the routing rules are tested without a peer or a
//! socket. Ed25519 signatures are deterministic, so attesting the same
//! message twice (after a crash before the checkpoint was saved) yields
//! the same envelope bytes, which the receiving chaincode recognises as a
//! resend.

use ed25519_dalek::SigningKey;
use ehrx_proto::exchange::{ForwardedEnvelope, forwarded_envelope::Payload};

use super::envelope::{EnvelopeError, Kind, Summary, summarize};
// RequestValidated and ReplyReady carry only the request id: the signed
// message is read from the network's private data (`GetSignedRequest`,
// `GetSignedReply`), so no block holds it. A break-glass disclosure's
// BreakGlass event names its request the same way.
use ehrx_client::ehr::interface::{
    event::{BREAK_GLASS, REPLY_READY, REQUEST_VALIDATED},
    rules::is_request_id,
};
use ehrx_client::fabric::ChaincodeEvent;

/// What to do with one event.
#[derive(Debug, Clone, PartialEq)]
pub enum Route {
    /// Read this message and deliver it.
    Forward(Pending),
    /// Not for another network (e.g. `RequestAccepted`): only checkpoint it.
    Ignore,
}

/// A message an event names, to read and deliver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    /// Request or reply.
    pub kind: Kind,
    /// The exchange it belongs to.
    pub request_id: String,
}

/// An envelope ready to deliver.
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    /// What it carries and where it goes.
    pub summary: Summary,
    /// The attested envelope.
    pub envelope: ForwardedEnvelope,
}

impl Outgoing {
    /// The network to deliver to.
    pub fn destination(&self) -> &str {
        &self.summary.to_network
    }

    /// The exchange it belongs to.
    pub fn request_id(&self) -> &str {
        &self.summary.request_id
    }
}

/// Routes one event of this network's chaincode: a forwardable event
/// names the message to read and deliver.
pub fn route(event: &ChaincodeEvent) -> Result<Route, EnvelopeError> {
    let kind = match event.event_name.as_str() {
        REQUEST_VALIDATED => Kind::Request,
        REPLY_READY | BREAK_GLASS => Kind::Reply,
        _ => return Ok(Route::Ignore),
    };
    match std::str::from_utf8(&event.payload) {
        Ok(request_id) if is_request_id(request_id) => Ok(Route::Forward(Pending {
            kind,
            request_id: request_id.to_owned(),
        })),
        _ => Err(EnvelopeError::Malformed {
            what: "event payload",
            reason: format!("{} bytes, not a request id", event.payload.len()),
        }),
    }
}

/// The envelope of `signed`, the message `pending` names as this network
/// stored it, attested by `network_id` with `network_key`.
pub fn attest(
    pending: &Pending,
    signed: Vec<u8>,
    network_id: &str,
    network_key: &SigningKey,
) -> Result<Outgoing, EnvelopeError> {
    let payload = match pending.kind {
        Kind::Request => Payload::SignedRequest(signed),
        Kind::Reply => Payload::SignedReply(signed),
    };
    let summary = summarize(&payload)?;
    if summary.request_id != pending.request_id {
        return Err(EnvelopeError::Malformed {
            what: "stored message",
            reason: format!(
                "it is for request {}, the event named {}",
                summary.request_id, pending.request_id
            ),
        });
    }
    Ok(Outgoing {
        summary,
        envelope: ForwardedEnvelope::attest(payload, network_id, network_key),
    })
}

#[cfg(test)]
mod tests {
    use ehrx_proto::exchange::{Reply, Request};
    use prost::Message as _;

    use super::*;
    use crate::relay::envelope::{test_signed_reply, test_signed_request};
    use ehrx_client::ehr::interface::event;

    const ID: &str = "0f0e0d0c-0b0a-4908-8706-050403020100";

    fn key() -> SigningKey {
        SigningKey::from_bytes(&[3; 32])
    }

    fn event(name: &str, payload: Vec<u8>) -> ChaincodeEvent {
        ChaincodeEvent {
            block_number: 5,
            transaction_id: "tx5".into(),
            chaincode_name: "ehrx".into(),
            event_name: name.into(),
            payload,
        }
    }

    fn pending(kind: Kind) -> Pending {
        Pending {
            kind,
            request_id: ID.into(),
        }
    }

    fn request_payload() -> Vec<u8> {
        test_signed_request(&Request {
            request_id: ID.into(),
            source_network: "net1".into(),
            destination_network: "net2".into(),
            ..Default::default()
        })
    }

    #[test]
    fn events_name_the_message_by_request_id_only() {
        assert_eq!(
            route(&event(REQUEST_VALIDATED, ID.into())),
            Ok(Route::Forward(pending(Kind::Request)))
        );
        // A break-glass disclosure's event goes back as a reply too.
        for name in [REPLY_READY, BREAK_GLASS] {
            assert_eq!(
                route(&event(name, ID.into())),
                Ok(Route::Forward(pending(Kind::Reply))),
                "{name}"
            );
        }
    }

    #[test]
    fn a_validated_request_goes_to_its_destination_attested() {
        let payload = request_payload();
        let outgoing = attest(&pending(Kind::Request), payload.clone(), "net1", &key()).unwrap();
        assert_eq!(outgoing.destination(), "net2");
        assert_eq!(outgoing.request_id(), ID);
        assert_eq!(outgoing.summary.kind, Kind::Request);
        let verified = outgoing
            .envelope
            .verify_attestation("net1", |id| (id == "net1").then(|| key().verifying_key()))
            .unwrap();
        // The stored bytes travel unchanged.
        assert_eq!(verified, &Payload::SignedRequest(payload));
    }

    #[test]
    fn a_ready_reply_goes_back_to_the_network_that_asked() {
        let reply = Reply {
            request_id: ID.into(),
            replying_network: "net1".into(),
            receiving_network: "net2".into(),
            ..Default::default()
        };
        let outgoing = attest(
            &pending(Kind::Reply),
            test_signed_reply(&reply),
            "net1",
            &key(),
        )
        .unwrap();
        assert_eq!(outgoing.destination(), "net2");
        assert_eq!(outgoing.summary.kind, Kind::Reply);
        assert!(matches!(
            outgoing.envelope.payload,
            Some(Payload::SignedReply(_))
        ));
    }

    #[test]
    fn a_stored_message_of_another_request_is_refused() {
        let other = Pending {
            kind: Kind::Request,
            request_id: "1f0e0d0c-0b0a-4908-8706-050403020100".into(),
        };
        assert!(matches!(
            attest(&other, request_payload(), "net1", &key()),
            Err(EnvelopeError::Malformed { .. })
        ));
    }

    #[test]
    fn attesting_twice_gives_identical_bytes() {
        let first = attest(&pending(Kind::Request), request_payload(), "net1", &key()).unwrap();
        let second = attest(&pending(Kind::Request), request_payload(), "net1", &key()).unwrap();
        assert_eq!(
            first.envelope.encode_to_vec(),
            second.envelope.encode_to_vec()
        );
    }

    #[test]
    fn other_events_are_ignored_and_garbage_is_an_error() {
        for name in [
            event::REQUEST_ACCEPTED,
            event::REPLY_ACCEPTED,
            event::SECURITY_FLAGGED,
            "",
        ] {
            assert_eq!(route(&event(name, vec![0xff])), Ok(Route::Ignore));
        }
        for garbage in [vec![0xff, 0xff], request_payload(), b"not-a-uuid".to_vec()] {
            assert!(matches!(
                route(&event(REQUEST_VALIDATED, garbage)),
                Err(EnvelopeError::Malformed { .. })
            ));
        }
        assert!(matches!(
            attest(&pending(Kind::Request), vec![0xff, 0xff], "net1", &key()),
            Err(EnvelopeError::Malformed { .. })
        ));
    }
}
