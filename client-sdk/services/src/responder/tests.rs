//! The responder's decisions without a network: how gateway failures read,
//! the back-off, and events it skips or ignores.

use std::sync::Arc;

use super::*;
use ehrx_client::fabric::{
    CallError, Identity, InMemoryCheckpointer, P256Signer, SigningIdentity, error::ErrorDetail,
};
use ehrx_client::proto::exchange::Request;

fn endorse_error(peer_message: &str) -> fabric::Error {
    let status = hlf_testpeer::status_with_detail(
        tonic::Code::Aborted,
        "failed to endorse transaction, see attached details for more info",
        peer_message,
    );
    fabric::Error::Endorse(CallError::new("tx1", status))
}

#[test]
fn the_contracts_refusals_are_told_apart_by_code() {
    let lost = endorse_error(
        "chaincode response 500, [ALREADY_REPLIED] request 1 already has a reply; exactly one reply per request is accepted",
    );
    assert!(matches!(failure(&lost), Failure::LostRace(_)));
    let denied = endorse_error(
        "chaincode response 500, [ACCESS_DENIED] access denied: x is not a registered responder",
    );
    assert!(matches!(failure(&denied), Failure::Denied(_)));
    let flagged =
        endorse_error("chaincode response 500, [FLAGGED] identity x of M is flagged (rate)");
    assert!(matches!(failure(&flagged), Failure::Denied(_)));
    let refused =
        endorse_error("chaincode response 500, [BAD_ARGUMENT] invalid records: hash mismatch");
    assert_eq!(
        failure(&refused),
        Failure::Refused("[BAD_ARGUMENT] invalid records: hash mismatch".into())
    );
    // Refused for want of consent: the reason goes back in a refusal, code
    // and all.
    let no_consent = endorse_error(
        "chaincode response 500, [NO_CONSENT] no consent: no active consent permits this requester of net1",
    );
    assert_eq!(
        failure(&no_consent),
        Failure::NoConsent(
            "[NO_CONSENT] no consent: no active consent permits this requester of net1".into()
        )
    );
    let evaluate = fabric::Error::Evaluate(CallError::new(
        "tx2",
        tonic::Status::unknown(
            "evaluate call to endorser returned error: chaincode response 500, [ALREADY_REPLIED] request 1 already has a reply",
        ),
    ));
    assert!(matches!(failure(&evaluate), Failure::LostRace(_)));
    // The decision follows the code, not the words: a reworded message
    // with the same code means the same, the old words without a code
    // are just a refusal.
    let reworded = endorse_error("chaincode response 500, [ALREADY_REPLIED] beaten to it");
    assert!(matches!(failure(&reworded), Failure::LostRace(_)));
    let uncoded = endorse_error("chaincode response 500, request 1 already has a reply");
    assert!(matches!(failure(&uncoded), Failure::Refused(_)));
    let ledger = endorse_error("chaincode response 500, [LEDGER] GetState failed");
    assert_eq!(failure(&ledger), Failure::Transient);

    let unavailable = fabric::Error::Endorse(CallError::new(
        "tx3",
        tonic::Status::unavailable("connection refused"),
    ));
    assert_eq!(failure(&unavailable), Failure::Transient);
    let mismatch = endorse_error("ProposalResponsePayloads do not match");
    assert_eq!(failure(&mismatch), Failure::Transient);
    let commit = fabric::Error::Commit {
        transaction_id: "tx4".into(),
        code: TxValidationCode::EndorsementPolicyFailure,
        block_number: 3,
    };
    assert_eq!(failure(&commit), Failure::Transient);
    // The details were decoded from the status.
    assert_eq!(
        lost.details(),
        [ErrorDetail {
            address: "peer0.org1:7051".into(),
            msp_id: "Net1Org1MSP".into(),
            message: "chaincode response 500, [ALREADY_REPLIED] request 1 already has a reply; exactly one reply per request is accepted".into(),
        }]
    );
}

#[test]
fn only_gateway_and_stream_failures_are_retried() {
    let gateway = Error::Gateway {
        request_id: "r".into(),
        source: fabric::Error::Nonce("no entropy".into()),
    };
    assert!(gateway.is_transient());
    let denied = Error::Denied {
        request_id: "r".into(),
        message: "access denied".into(),
    };
    assert!(!denied.is_transient());
}

/// A responder whose gateway never connects: enough for events that need
/// no call.
fn offline_responder() -> Responder<InMemoryCheckpointer> {
    let key = p256::ecdsa::SigningKey::from_slice(&[5; 32]).unwrap();
    let identity = Identity::new("Net2Org1MSP", b"certificate".to_vec());
    let signer = Arc::new(P256Signer::new(key));
    let channel = tonic::transport::Endpoint::from_static("http://127.0.0.1:9").connect_lazy();
    let gateway = Gateway::new(channel, SigningIdentity::new(identity, signer));
    let settings = EhrSettings {
        network_id: "net2".into(),
        channel: "ehrchannel".into(),
        chaincode: "ehrx".into(),
        organizations: vec!["Net2Org1MSP".into(), "Net2Org2MSP".into()],
    };
    Responder::new(&gateway, settings, InMemoryCheckpointer::new())
}

fn event(name: &str, payload: &[u8]) -> ChaincodeEvent {
    ChaincodeEvent {
        block_number: 4,
        transaction_id: "tx".into(),
        chaincode_name: "ehrx".into(),
        event_name: name.into(),
        payload: payload.to_vec(),
    }
}

#[tokio::test]
async fn events_a_responder_does_not_answer_are_ignored() {
    let responder = offline_responder();
    for name in [event::REQUEST_VALIDATED, event::REPLY_READY, "Other"] {
        assert_eq!(
            responder.handle_event(&event(name, b"x")).await.unwrap(),
            Handled::Ignored
        );
    }
}

#[tokio::test]
async fn malformed_payloads_are_skipped_not_retried() {
    let responder = offline_responder();
    let handled = responder
        .handle_event(&event(event::REQUEST_ACCEPTED, &[0xff, 0xff]))
        .await
        .unwrap();
    assert!(matches!(handled, Handled::Malformed { reason } if reason.contains("request id")));
    // The event names the request only; a signed request there is not
    // what the contract emits.
    let signed = crate::relay::envelope::test_signed_request(&Request {
        request_id: "00000000-0000-4000-8000-000000000001".into(),
        ..Default::default()
    });
    let handled = responder
        .handle_event(&event(event::REQUEST_ACCEPTED, &signed))
        .await
        .unwrap();
    assert!(matches!(handled, Handled::Malformed { .. }));
    let handled = responder
        .handle_event(&event(event::REQUEST_REJECTED, b"{\"id\":1}"))
        .await
        .unwrap();
    assert!(matches!(handled, Handled::Malformed { reason } if reason.contains("RequestRejected")));
}

#[tokio::test]
async fn an_unreachable_gateway_is_a_transient_error() {
    let responder = offline_responder();
    let request_id = "00000000-0000-4000-8000-000000000001";
    let error = responder
        .handle_event(&event(event::REQUEST_ACCEPTED, request_id.as_bytes()))
        .await
        .unwrap_err();
    assert!(error.is_transient(), "{error}");
    assert!(error.to_string().contains(request_id), "{error}");
}

#[test]
fn a_refusal_is_tried_again_twice_before_the_request_is_skipped() {
    // The first refusal and the second are retried (a lagging peer); the
    // third is taken as the contract's answer.
    assert!(retries_refusal(0));
    assert!(retries_refusal(1));
    assert!(!retries_refusal(2));
}

#[test]
fn each_request_falls_to_one_responder_the_same_everywhere() {
    let ids: Vec<String> = (0..4000)
        .map(|n| format!("00000000-0000-4000-8000-{n:012}"))
        .collect();
    // Deterministic, and within range.
    for id in &ids {
        assert_eq!(claimant(id, 2), claimant(id, 2));
        assert!(claimant(id, 3) < 3);
    }
    // Spread evenly: each of 2 (and of 3) gets its share within 5%.
    for of in [2u32, 3] {
        let share = ids.len() / of as usize;
        for index in 0..of {
            let got = ids.iter().filter(|id| claimant(id, of) == index).count();
            assert!(got.abs_diff(share) * 20 < share, "{index} of {of}: {got}");
        }
    }
    // One responder claims everything; 0 is read as 1.
    assert!(
        ids.iter()
            .all(|id| claimant(id, 1) == 0 && claimant(id, 0) == 0)
    );
}

#[test]
fn only_another_responders_requests_wait_for_the_takeover_time() {
    let takeover_after = Duration::from_secs(10);
    let first = Claim::Split {
        index: 0,
        of: 2,
        takeover_after,
    };
    let second = Claim::Split {
        index: 1,
        of: 2,
        takeover_after,
    };
    for n in 0..50 {
        let id = format!("request-{n}");
        // Exactly one of the two answers at once.
        let waits = [first.wait_before(&id), second.wait_before(&id)];
        assert_eq!(waits.iter().filter(|w| w.is_none()).count(), 1, "{id}");
        assert!(waits.contains(&Some(takeover_after)), "{id}");
        assert_eq!(Claim::Compete.wait_before(&id), None);
    }
}

#[test]
fn the_request_of_an_answerable_event_is_read_from_its_payload() {
    let id = "00000000-0000-4000-8000-000000000007";
    let accepted = event(event::REQUEST_ACCEPTED, id.as_bytes());
    assert_eq!(request_id_of(&accepted).as_deref(), Some(id));
    let rejected = event(
        event::REQUEST_REJECTED,
        br#"{"request_id":"r-8","reason":"rate limit"}"#,
    );
    assert_eq!(request_id_of(&rejected).as_deref(), Some("r-8"));
    assert_eq!(
        request_id_of(&event(event::REQUEST_ACCEPTED, b"\xff")),
        None
    );
    assert_eq!(request_id_of(&event("RecordStored", b"{}")), None);
}

#[tokio::test]
async fn a_responder_whose_peer_does_not_answer_is_not_ready() {
    let mut responder =
        offline_responder().with_retry(Duration::from_millis(10), Duration::from_millis(20));
    let status = responder.status();
    assert!(!status.readiness().is_ready());
    responder
        .run_until(tokio::time::sleep(Duration::from_millis(300)))
        .await
        .unwrap();
    assert!(!status.readiness().is_ready());
    let waiting_for = status.readiness().waiting_for().unwrap();
    assert!(
        waiting_for.starts_with("its network's peer or event stream: "),
        "{waiting_for}"
    );
}
