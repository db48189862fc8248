//! The first byte picks a parser, the rest is its input: every parser the
//! contract runs on bytes from outside must return an error, never panic,
//! whatever it is given. Parsed messages go on through the format checks
//! and signature verification, as the contract would take them. JSON
//! arguments go through the strict reader into each argument type; every
//! refusal must be in the wire form and bounded.

#![no_main]

use ehrx_chaincode::ehr::{fhir, messages};
use ehrx_interface::{
    ContractFailure, InterfaceError,
    limits::MAX_ERROR_BYTES,
    parse_object,
    types::{
        EhrMetadata, FlaggedIdentity, MemberIdentity, NetworkConfig, RemoteNetwork,
        RequesterRegistration,
    },
};
use libfuzzer_sys::fuzz_target;

/// A refusal must travel coded and bounded.
fn check_refusal<T>(parsed: Result<T, InterfaceError>) {
    if let Err(error) = parsed {
        let wire = error.failure().to_wire();
        assert!(wire.len() <= MAX_ERROR_BYTES);
        assert!(ContractFailure::from_wire(&wire).is_some());
    }
}

/// A transaction time well inside the range of real timestamps.
const NOW_MS: i64 = 1_704_067_200_000;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    match selector % 7 {
        0 => {
            if let Ok(parsed) = messages::parse_signed_request(bytes) {
                let _ = messages::check_request_format(&parsed.request, NOW_MS);
                let _ = parsed.signed.open();
            }
        }
        1 => {
            if let Ok(parsed) = messages::parse_signed_reply(bytes) {
                let _ = messages::check_reply_format(&parsed.reply, NOW_MS);
                let _ = parsed.signed.open();
            }
        }
        2 => {
            if let Ok((envelope, parsed)) = messages::parse_request_envelope(bytes) {
                let _ = envelope.verify_attestation(&parsed.request.source_network, |_| None);
            }
        }
        3 => {
            if let Ok((envelope, parsed)) = messages::parse_reply_envelope(bytes) {
                let _ = envelope.verify_attestation(&parsed.reply.replying_network, |_| None);
            }
        }
        4 => {
            if let Err(error) = fhir::check(bytes) {
                let _ = error.code();
            }
        }
        5 => {
            check_refusal(parse_object::<NetworkConfig>("config", bytes));
            check_refusal(parse_object::<RemoteNetwork>("network", bytes));
            check_refusal(parse_object::<RequesterRegistration>("requester", bytes));
        }
        _ => {
            check_refusal(parse_object::<MemberIdentity>("identity", bytes));
            check_refusal(parse_object::<FlaggedIdentity>("identity", bytes));
            check_refusal(parse_object::<EhrMetadata>("metadata", bytes));
        }
    }
});
