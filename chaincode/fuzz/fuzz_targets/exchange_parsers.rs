//! The first byte picks a parser, the rest is its input: every parser the
//! contract runs on bytes from outside must return an error, never panic,
//! whatever it is given. Parsed messages go on through the format checks
//! and signature verification, as the contract would take them.

#![no_main]

use ehrx_chaincode::ehr::{fhir, messages};
use libfuzzer_sys::fuzz_target;

/// A transaction time well inside the range of real timestamps.
const NOW_MS: i64 = 1_704_067_200_000;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    match selector % 5 {
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
        _ => {
            let _ = fhir::check(bytes);
        }
    }
});
