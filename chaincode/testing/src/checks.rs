//! Steps several test files take alike: a request announced by an event
//! naming only its id, a reply kept byte for byte for the relay, a
//! refusal's code and mention, a request accepted with a given proof, a
//! request submitted by someone the network must refuse, and a message
//! signed in one identity's name with another's key.

use ehrx_chaincode::{ehr::state, proto::exchange::Request, shim::testing::MemoryLedger};
use ehrx_interface::{ErrorCode, names::function, types::OutcomeKind};

use crate::world::{
    Filed, Network, Person, World, assert_mentions, assert_outcome, code, last_event,
};

/// Asserts that the last event committed on `ledger` is `event_name` and
/// that its payload is `request_id` alone.
#[track_caller]
pub fn assert_announced(ledger: &MemoryLedger, event_name: &str, request_id: &str) {
    let event = last_event(ledger);
    assert_eq!(event.event_name, event_name);
    assert_eq!(event.payload, request_id.as_bytes());
}

/// Fails unless the refusal `message` carries the code `expected` and
/// mentions `mention`.
#[track_caller]
pub fn assert_refusal(message: &str, expected: ErrorCode, mention: &str) {
    assert_eq!(code(message), expected, "{message}");
    assert_mentions(message, mention);
}

impl World {
    /// AcceptRequest of `signed` with `proof` by net2's relay, which must
    /// accept the request.
    pub async fn assert_accepted_with(&self, signed: &[u8], proof: &[u8]) {
        assert_outcome(
            &self.accept_with(signed, proof).await,
            OutcomeKind::Accepted,
        );
    }
}

impl Network {
    /// Asserts that this network announced `request_id` with
    /// `event_name` and keeps `signed_reply`, the exact bytes, in private
    /// data for its relay.
    pub fn assert_reply_kept(&self, event_name: &str, request_id: &str, signed_reply: &[u8]) {
        assert_announced(&self.ledger, event_name, request_id);
        assert_eq!(
            self.ledger.private_of(state::REPLIES, request_id),
            Some(signed_reply.to_vec())
        );
    }

    /// `request` signed by `who` and submitted by `who` here
    /// (SubmitRequest), which must be refused, writing nothing: the
    /// message.
    pub async fn request_refused(&self, who: &Person, request: &Request) -> String {
        let signed = request.signed_by(who);
        self.err(who, &[function::SUBMIT_REQUEST.as_bytes(), &signed])
            .await
    }
}

/// `message` signed in the name of `identity` but with the key of `key`:
/// a forgery whose signature does not verify.
pub fn forged<M: Filed>(message: &M, identity: &Person, key: &Person) -> Vec<u8> {
    message.signed_by(&Person {
        creator: identity.creator.clone(),
        ..key.clone()
    })
}
