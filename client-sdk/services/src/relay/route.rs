//! From a chaincode event to what leaves the network: which events are
//! forwarded, to which network, in which attested envelope.
//!
//! Pure functions, so the routing rules are tested without a peer or a
//! socket. Ed25519 signatures are deterministic, so routing the same event
//! twice (after a crash before the checkpoint was saved) yields the same
//! envelope bytes, which the receiving chaincode recognises as a resend.

use ed25519_dalek::SigningKey;
use ehrx_proto::exchange::{ForwardedEnvelope, forwarded_envelope::Payload};

use super::envelope::{EnvelopeError, Summary, summarize};
// RequestValidated carries the SignedRequest bytes, ReplyReady the
// SignedReply bytes: exactly what is forwarded.
use ehrx_client::ehr::interface::event::{BREAK_GLASS, REPLY_READY, REQUEST_VALIDATED};
use ehrx_client::fabric::ChaincodeEvent;

/// What to do with one event.
#[derive(Debug, Clone, PartialEq)]
pub enum Route {
    /// Deliver this envelope.
    Forward(Outgoing),
    /// Not for another network (e.g. `RequestAccepted`): only checkpoint it.
    Ignore,
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
/// becomes an envelope attested by `network_id` with `network_key`.
pub fn route(
    event: &ChaincodeEvent,
    network_id: &str,
    network_key: &SigningKey,
) -> Result<Route, EnvelopeError> {
    let payload = match event.event_name.as_str() {
        REQUEST_VALIDATED => Payload::SignedRequest(event.payload.clone()),
        // A break-glass disclosure's event carries its reply the same way.
        REPLY_READY | BREAK_GLASS => Payload::SignedReply(event.payload.clone()),
        _ => return Ok(Route::Ignore),
    };
    let summary = summarize(&payload)?;
    Ok(Route::Forward(Outgoing {
        summary,
        envelope: ForwardedEnvelope::attest(payload, network_id, network_key),
    }))
}

#[cfg(test)]
mod tests {
    use ehrx_proto::exchange::{Reply, Request};
    use prost::Message as _;

    use super::*;
    use crate::relay::envelope::{Kind, test_signed_reply, test_signed_request};
    use ehrx_client::ehr::interface::event;

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

    fn request_payload() -> Vec<u8> {
        test_signed_request(&Request {
            request_id: "0f0e0d0c-0b0a-4908-8706-050403020100".into(),
            source_network: "net1".into(),
            destination_network: "net2".into(),
            ..Default::default()
        })
    }

    #[test]
    fn a_validated_request_goes_to_its_destination_attested() {
        let payload = request_payload();
        let Route::Forward(outgoing) =
            route(&event(REQUEST_VALIDATED, payload.clone()), "net1", &key()).unwrap()
        else {
            panic!("not forwarded");
        };
        assert_eq!(outgoing.destination(), "net2");
        assert_eq!(
            outgoing.request_id(),
            "0f0e0d0c-0b0a-4908-8706-050403020100"
        );
        assert_eq!(outgoing.summary.kind, Kind::Request);
        let verified = outgoing
            .envelope
            .verify_attestation("net1", |id| (id == "net1").then(|| key().verifying_key()))
            .unwrap();
        // The event's bytes travel unchanged.
        assert_eq!(verified, &Payload::SignedRequest(payload));
    }

    #[test]
    fn a_ready_reply_goes_back_to_the_network_that_asked() {
        let reply = Reply {
            request_id: "r9".into(),
            replying_network: "net1".into(),
            receiving_network: "net2".into(),
            ..Default::default()
        };
        // A break-glass disclosure's event goes back the same way.
        for name in [REPLY_READY, BREAK_GLASS] {
            let payload = test_signed_reply(&reply);
            let Route::Forward(outgoing) = route(&event(name, payload), "net1", &key()).unwrap()
            else {
                panic!("{name} not forwarded");
            };
            assert_eq!(outgoing.destination(), "net2");
            assert_eq!(outgoing.summary.kind, Kind::Reply);
            assert!(matches!(
                outgoing.envelope.payload,
                Some(Payload::SignedReply(_))
            ));
        }
    }

    #[test]
    fn routing_twice_gives_identical_bytes() {
        let event = event(REQUEST_VALIDATED, request_payload());
        let first = route(&event, "net1", &key()).unwrap();
        let second = route(&event, "net1", &key()).unwrap();
        let bytes = |route: Route| match route {
            Route::Forward(outgoing) => outgoing.envelope.encode_to_vec(),
            Route::Ignore => Vec::new(),
        };
        assert_eq!(bytes(first), bytes(second));
    }

    #[test]
    fn other_events_are_ignored_and_garbage_is_an_error() {
        for name in [
            event::REQUEST_ACCEPTED,
            event::REPLY_ACCEPTED,
            event::SECURITY_FLAGGED,
            "",
        ] {
            assert_eq!(
                route(&event(name, vec![0xff]), "net1", &key()),
                Ok(Route::Ignore)
            );
        }
        assert!(matches!(
            route(&event(REQUEST_VALIDATED, vec![0xff, 0xff]), "net1", &key()),
            Err(EnvelopeError::Malformed { .. })
        ));
    }
}
