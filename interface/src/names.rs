//! Names both sides must spell the same way.

/// The chaincode name the networks deploy the contract under, and the
/// contract's own name (its default contract, so bare function names
/// reach it).
pub const CHAINCODE: &str = "ehrx";

/// Audit-trail subjects other than a patient ref.
pub mod audit_subject {
    /// Registry and configuration changes.
    pub const ADMIN: &str = "admin";
    /// Flags and other security events.
    pub const SECURITY: &str = "security";
}

/// Names of the contract's private data collections and of the transient
/// keys that carry what must not appear in a block.
pub mod private {
    /// Record contents (FHIR JSON).
    pub const RECORDS: &str = "ehrRecords";
    /// Signed replies.
    pub const REPLIES: &str = "ehrReplies";
    /// The contract's exchange metadata (requests, requester registry, rate
    /// windows, record metadata and index, audit trail), under keyed-hash
    /// keys.
    pub const STATE: &str = "ehrState";
    /// `ConfigureNetwork`'s transient key: the network's 32-byte ledger
    /// secret, the key of every keyed hash that names state in a block.
    pub const LEDGER_SECRET: &str = "ledger_secret";
}

/// Contract function names.
pub mod function {
    /// Admin: the network's own id and rate limit.
    pub const CONFIGURE_NETWORK: &str = "ConfigureNetwork";
    /// Admin: add or update a network in the lookup table.
    pub const PUT_REMOTE_NETWORK: &str = "PutRemoteNetwork";
    /// Admin: drop a network from the lookup table.
    pub const REMOVE_REMOTE_NETWORK: &str = "RemoveRemoteNetwork";
    /// Admin: a remote network's organisations, CA roots and the policy
    /// its proofs of validation must meet.
    pub const PUT_NETWORK_TRUST: &str = "PutNetworkTrust";
    /// Admin: register a requester (doctor, nurse).
    pub const REGISTER_REQUESTER: &str = "RegisterRequester";
    /// Admin: register a responder identity.
    pub const REGISTER_RESPONDER: &str = "RegisterResponder";
    /// Admin: register a relay identity.
    pub const REGISTER_RELAY: &str = "RegisterRelay";
    /// Admin: register an identity allowed to upload records.
    pub const REGISTER_UPLOADER: &str = "RegisterUploader";
    /// Admin: register an identity that stores and revokes consents for
    /// patients.
    pub const REGISTER_CONSENT_MANAGER: &str = "RegisterConsentManager";
    /// Admin: clear a flagged identity.
    pub const CLEAR_FLAG: &str = "ClearFlag";
    /// Admin: the audit entries of one subject (evaluated).
    pub const AUDIT_TRAIL: &str = "AuditTrail";
    /// Store one upload of a patient's records, all or nothing (contents
    /// in the transient map, each under its record id).
    pub const PUT_EHR: &str = "PutEhr";
    /// Admin or consent manager: store a patient's FHIR R4 `Consent`
    /// (in the transient map under [`CONSENT_TRANSIENT`](super::CONSENT_TRANSIENT)).
    pub const PUT_CONSENT: &str = "PutConsent";
    /// Admin or consent manager: revoke a consent (a
    /// `ConsentRevocation` in the transient map under
    /// [`CONSENT_TRANSIENT`](super::CONSENT_TRANSIENT)).
    pub const REVOKE_CONSENT: &str = "RevokeConsent";
    /// Admin or consent manager: a patient's consents (evaluated).
    pub const LIST_CONSENTS: &str = "ListConsents";
    /// File a signed request (Algorithm 1).
    pub const SUBMIT_REQUEST: &str = "SubmitRequest";
    /// Relay: deliver a forwarded request with its proof of validation
    /// (Algorithm 2).
    pub const ACCEPT_REQUEST: &str = "AcceptRequest";
    /// Relay (destination): commit a fresh nonce a source network's proof
    /// of validation must carry.
    pub const ISSUE_CHALLENGE: &str = "IssueChallenge";
    /// Relay (destination): commit several fresh nonces in one
    /// transaction, for a relay that keeps challenges ready.
    pub const ISSUE_CHALLENGES: &str = "IssueChallenges";
    /// Relay (destination): delete the challenges that expired unused.
    pub const PURGE_CHALLENGES: &str = "PurgeChallenges";
    /// Relay (source): state that a request was validated here, for a
    /// challenge; endorsed, never submitted, it is the proof of validation.
    pub const PROVE_REQUEST: &str = "ProveRequest";
    /// Relay (source): the signed request of a request validated here,
    /// which the `RequestValidated` event names by id only (evaluated).
    pub const GET_SIGNED_REQUEST: &str = "GetSignedRequest";
    /// Relay (destination): the signed reply stored here, which the
    /// `ReplyReady` event names by id only (evaluated).
    pub const GET_SIGNED_REPLY: &str = "GetSignedReply";
    /// A request's entry (evaluated).
    pub const GET_REQUEST_STATUS: &str = "GetRequestStatus";
    /// The caller's requests (evaluated).
    pub const LIST_REQUESTS: &str = "ListRequests";
    /// A responder reads the records of an accepted request, to seal them.
    pub const GET_REQUEST_RECORDS: &str = "GetRequestRecords";
    /// Responder: answer an accepted request.
    pub const SUBMIT_REPLY: &str = "SubmitReply";
    /// Relay: deliver a forwarded reply with its proof of validation
    /// (Algorithm 3).
    pub const ACCEPT_REPLY: &str = "AcceptReply";
    /// Relay (replying network): state that a reply was stored here, for a
    /// challenge; endorsed, never submitted, it is the reply's proof.
    pub const PROVE_REPLY: &str = "ProveReply";
    /// Fetch a reply; submitted, so a refusal is recorded.
    pub const GET_REPLY: &str = "GetReply";

    /// The parameters `function` takes in the transient map, in order,
    /// rather than as arguments: the exchange's signed messages, which
    /// name patients, requesters and records, so that no block holds
    /// them. Empty for a function whose parameters are all arguments.
    pub fn transient_params(function: &str) -> &'static [&'static str] {
        match function {
            // PutEhr's transient map holds each record's content under its
            // record id besides.
            PUT_EHR => &["metadata"],
            REGISTER_REQUESTER => &["requester"],
            SUBMIT_REQUEST => &["signed_request"],
            SUBMIT_REPLY => &["signed_reply"],
            ACCEPT_REQUEST | ACCEPT_REPLY => &["forwarded_envelope", "validation_proof"],
            _ => &[],
        }
    }

    /// An entry of a call's transient map: the parameter's name, its bytes.
    pub type TransientEntry = (&'static str, Vec<u8>);

    /// The arguments of a call of `function`, in order, split as a client
    /// sends them: (the transaction arguments, the transient map's
    /// entries). The first [`transient_params`] of them go to the
    /// transient map under their parameters' names; the rest stay
    /// arguments (extra ones reach the contract, which refuses them).
    pub fn split_args(
        function: &str,
        args: impl IntoIterator<Item = Vec<u8>>,
    ) -> (Vec<Vec<u8>>, Vec<TransientEntry>) {
        let names = transient_params(function.strip_prefix("ehrx:").unwrap_or(function));
        let mut positional = Vec::new();
        let mut transient = Vec::new();
        for (index, arg) in args.into_iter().enumerate() {
            match names.get(index) {
                Some(name) => transient.push((*name, arg)),
                None => positional.push(arg),
            }
        }
        (positional, transient)
    }

    /// Every function, in the order `INTERFACE.md` lists them.
    pub const ALL: &[&str] = &[
        CONFIGURE_NETWORK,
        PUT_REMOTE_NETWORK,
        REMOVE_REMOTE_NETWORK,
        PUT_NETWORK_TRUST,
        REGISTER_REQUESTER,
        REGISTER_RESPONDER,
        REGISTER_RELAY,
        REGISTER_UPLOADER,
        REGISTER_CONSENT_MANAGER,
        CLEAR_FLAG,
        AUDIT_TRAIL,
        PUT_EHR,
        PUT_CONSENT,
        REVOKE_CONSENT,
        LIST_CONSENTS,
        SUBMIT_REQUEST,
        GET_SIGNED_REQUEST,
        PROVE_REQUEST,
        ISSUE_CHALLENGE,
        ISSUE_CHALLENGES,
        PURGE_CHALLENGES,
        ACCEPT_REQUEST,
        GET_REQUEST_RECORDS,
        SUBMIT_REPLY,
        GET_SIGNED_REPLY,
        PROVE_REPLY,
        ACCEPT_REPLY,
        GET_REPLY,
        GET_REQUEST_STATUS,
        LIST_REQUESTS,
    ];
}

/// The transient-map key of `PutConsent`'s resource and
/// `RevokeConsent`'s revocation: neither enters a block.
pub const CONSENT_TRANSIENT: &str = "consent";

/// Which exchange message crosses between networks: a validated request
/// going to the network that holds the records, or a reply going back.
/// Each is taken in by one function and proven by another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forwarded {
    /// A signed request, taken in by `AcceptRequest`, proven by
    /// `ProveRequest`.
    Request,
    /// A signed reply, taken in by `AcceptReply`, proven by `ProveReply`.
    Reply,
}

impl Forwarded {
    /// The function that takes this kind of message in.
    pub fn accept_function(self) -> &'static str {
        match self {
            Self::Request => function::ACCEPT_REQUEST,
            Self::Reply => function::ACCEPT_REPLY,
        }
    }

    /// The function a relay reads the signed message with, on the network
    /// whose event named it.
    pub fn fetch_function(self) -> &'static str {
        match self {
            Self::Request => function::GET_SIGNED_REQUEST,
            Self::Reply => function::GET_SIGNED_REPLY,
        }
    }

    /// The function whose endorsed result proves the sending network
    /// validated this kind of message.
    pub fn prove_function(self) -> &'static str {
        match self {
            Self::Request => function::PROVE_REQUEST,
            Self::Reply => function::PROVE_REPLY,
        }
    }
}

/// Chaincode event names.
pub mod event {
    /// Source: a request passed Algorithm 1 (payload: the request id; the
    /// relay reads the signed request with `GetSignedRequest`).
    pub const REQUEST_VALIDATED: &str = "RequestValidated";
    /// Source: a requester exceeded the rate and was flagged (payload: a
    /// [`Notice`](crate::types::Notice)).
    pub const SECURITY_FLAGGED: &str = "SecurityFlagged";
    /// Destination: a forwarded request passed Algorithm 2 (payload: the
    /// request id).
    pub const REQUEST_ACCEPTED: &str = "RequestAccepted";
    /// Destination: a forwarded request was rejected (payload: a
    /// [`Notice`](crate::types::Notice)).
    pub const REQUEST_REJECTED: &str = "RequestRejected";
    /// Destination: a responder's reply was stored (payload: the request
    /// id; the relay reads the signed reply with `GetSignedReply`).
    pub const REPLY_READY: &str = "ReplyReady";
    /// Source: a reply came back and passed Algorithm 3 (payload: the
    /// request id).
    pub const REPLY_ACCEPTED: &str = "ReplyAccepted";
    /// Destination: a reply disclosed records without a consent, for an
    /// emergency (break-glass). It takes [`REPLY_READY`]'s place (a
    /// transaction has one event) with the same payload, the signed
    /// reply, so the relay forwards it as it does a ready reply.
    pub const BREAK_GLASS: &str = "BreakGlass";

    /// Every event.
    pub const ALL: &[&str] = &[
        REQUEST_VALIDATED,
        SECURITY_FLAGGED,
        REQUEST_ACCEPTED,
        REQUEST_REJECTED,
        REPLY_READY,
        REPLY_ACCEPTED,
        BREAK_GLASS,
    ];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_forwarded_message_has_its_own_accept_and_prove_functions() {
        let kinds = [Forwarded::Request, Forwarded::Reply];
        for kind in kinds {
            assert!(function::ALL.contains(&kind.accept_function()));
            assert!(function::ALL.contains(&kind.prove_function()));
            assert_ne!(kind.accept_function(), kind.prove_function());
        }
        assert_eq!(Forwarded::Request.accept_function(), "AcceptRequest");
        let (positional, transient) = function::split_args(
            "ehrx:AcceptRequest",
            [b"e".to_vec(), b"p".to_vec(), b"x".to_vec()],
        );
        assert_eq!(positional, [b"x".to_vec()]);
        assert_eq!(
            transient,
            [
                ("forwarded_envelope", b"e".to_vec()),
                ("validation_proof", b"p".to_vec())
            ]
        );
        let (positional, transient) = function::split_args("GetReply", [b"id".to_vec()]);
        assert_eq!((positional, transient), (vec![b"id".to_vec()], vec![]));
        for kind in kinds {
            assert_eq!(
                function::transient_params(kind.accept_function()),
                ["forwarded_envelope", "validation_proof"]
            );
            assert!(function::transient_params(kind.prove_function()).is_empty());
        }
        assert_eq!(Forwarded::Reply.prove_function(), "ProveReply");
        assert_ne!(
            Forwarded::Request.prove_function(),
            Forwarded::Reply.prove_function()
        );
    }
}
