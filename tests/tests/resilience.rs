//! Faults during an exchange on the two real networks (design §6, §8):
//! nothing is lost and nothing is applied twice.
//!
//! - Network I's relay is killed while a request is pending (once before
//!   it could deliver, once mid-delivery) and restarted from its checkpoint
//!   file: each exchange completes, and each request and reply exists
//!   exactly once on both networks.
//! - Network II is stopped (all its processes) while a request is pending
//!   and started again with its state: the relays retry and the exchange
//!   completes, once.

// Marks the helpers below as test code too, for clippy's unwrap rules.
#![cfg(test)]

use std::time::Duration;

use ehrx_client::ehr::interface::OutcomeKind;
use ehrx_client::ehr::{
    EhrClient, HistoryOutcome, HistoryRequest, PendingRequest, RequestStatus, UploadedRecord,
};
use ehrx_client::fabric::Contract;
use ehrx_lab::exchange::{ExchangeSetup, Service, received_digests, uploaded_digests};
use ehrx_lab::networks::Networks;
use ehrx_lab::relaying::with_patient_and_relays;
use ehrx_proto::exchange::Purpose;
use serde_json::Value;

fn history(patient_ref: ehrx_client::ehr::PatientRef) -> HistoryRequest {
    HistoryRequest {
        patient_ref,
        destination_network: "net2".into(),
        categories: Vec::new(),
        purpose: Purpose::Treatment,
    }
}

/// Kinds of the audit entries about `subject` that concern `request_id`.
async fn audit_kinds(admin: &Contract, subject: &str, request_id: &str) -> Vec<String> {
    let trail: Value =
        serde_json::from_slice(&admin.evaluate("AuditTrail", [subject]).await.unwrap()).unwrap();
    trail
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["request_id"] == request_id)
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect()
}

fn count(kinds: &[String], kind: &str) -> usize {
    kinds.iter().filter(|k| *k == kind).count()
}

/// Kills a relay task and waits until it is gone (its listeners closed).
async fn kill(relay: Service) {
    relay.abort();
    let killed = relay.await;
    assert!(
        killed.as_ref().is_err_and(|e| e.is_cancelled()),
        "the relay was still running when killed: {killed:?}"
    );
}

/// Whether network II has taken the request in.
async fn delivered(admin2: &Contract, request_id: &str) -> bool {
    admin2
        .evaluate("GetRequestStatus", [request_id])
        .await
        .is_ok()
}

/// The request completed: the doctor reads every uploaded record, and the
/// request, its acceptance, the disclosure and the reply exist once each.
async fn completed_exactly_once(
    setup: &ExchangeSetup<'_>,
    doctor: &EhrClient,
    pending: &PendingRequest,
    uploaded: &[UploadedRecord],
) {
    let id = pending.request_id();
    let outcome = doctor
        .await_outcome(pending, Duration::from_secs(120))
        .await
        .unwrap();
    assert_eq!(outcome, HistoryOutcome::ReplyReady, "request {id}");
    let reply = doctor.read_reply(&pending.reply_key).await.unwrap();
    let received = received_digests(&reply);
    let expected = uploaded_digests(uploaded);
    assert_eq!(received, expected, "every uploaded record, intact");

    assert_eq!(
        doctor.request_status(id).await.unwrap().status,
        RequestStatus::Fulfilled
    );
    let listed = doctor.list_requests().await.unwrap();
    assert_eq!(listed.iter().filter(|r| r.request_id == id).count(), 1);
    let admin1 = setup.contract_as("net1", "Admin").await.unwrap();
    let admin2 = setup.contract_as("net2", "Admin").await.unwrap();
    let incoming: Value =
        serde_json::from_slice(&admin2.evaluate("GetRequestStatus", [id]).await.unwrap()).unwrap();
    assert_eq!(incoming["status"], "replied", "{incoming}");

    let patient = hex::encode(&pending.request.patient_ref);
    let on_1 = audit_kinds(&admin1, &patient, id).await;
    let on_2 = audit_kinds(&admin2, &patient, id).await;
    assert_eq!(count(&on_1, "request_submitted"), 1, "network I: {on_1:?}");
    assert_eq!(count(&on_1, "reply_received"), 1, "network I: {on_1:?}");
    assert_eq!(count(&on_2, "request_accepted"), 1, "network II: {on_2:?}");
    assert_eq!(count(&on_2, "disclosure"), 1, "network II: {on_2:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_relay_of_network_i_killed_mid_flight_and_restarted() -> anyhow::Result<()> {
    let networks = Networks::up()?;
    let mut setup = ExchangeSetup::configure(&networks).await?;
    let (patient_ref, uploaded) = setup.upload_patient(21).await?;
    let admin2 = setup.contract_as("net2", "Admin").await?;
    setup.start_responders().await?;
    let doctor = setup.doctor().await?;

    // Before delivery: network II's relay is not up yet, so relay I keeps
    // retrying the request; it is killed, II's relay starts, and relay I
    // restarts from its checkpoint file.
    let relay1 = setup.spawn_relay("net1")?;
    let (first, submitted) = doctor.submit_request(&history(patient_ref)).await?;
    assert_eq!(submitted.outcome, OutcomeKind::Validated);
    tokio::time::sleep(Duration::from_secs(2)).await;
    kill(relay1).await;
    assert!(!delivered(&admin2, first.request_id()).await);
    let relay2 = setup.spawn_relay("net2")?;
    setup.adopt(relay2);
    let relay1 = setup.spawn_relay("net1")?;
    completed_exactly_once(&setup, &doctor, &first, &uploaded).await;

    // Mid-delivery: both relays run; relay I is killed while network II is
    // committing the request (before relay I has the receipt), restarted
    // from its checkpoint, and delivers the identical envelope again.
    let (second, submitted) = doctor.submit_request(&history(patient_ref)).await?;
    assert_eq!(submitted.outcome, OutcomeKind::Validated);
    tokio::time::sleep(Duration::from_millis(400)).await;
    kill(relay1).await;
    eprintln!(
        "relay I killed; network II had the request already: {}",
        delivered(&admin2, second.request_id()).await
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let relay1 = setup.spawn_relay("net1")?;
    setup.adopt(relay1);
    completed_exactly_once(&setup, &doctor, &second, &uploaded).await;

    setup.stop().await?;
    networks.down()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn network_ii_stopped_and_restarted_while_a_request_is_pending() -> anyhow::Result<()> {
    let networks = Networks::up()?;
    let (mut setup, patient_ref, uploaded) = with_patient_and_relays(&networks, 22).await?;
    setup.start_responders().await?;
    let doctor = setup.doctor().await?;

    // A first exchange with both networks up.
    let (first, _) = doctor.submit_request(&history(patient_ref)).await?;
    completed_exactly_once(&setup, &doctor, &first, &uploaded).await;

    // Network II goes down (orderer, peers, chaincode services); a request
    // is made on I meanwhile and cannot be delivered.
    networks.stop_network("net2")?;
    let (pending, submitted) = doctor.submit_request(&history(patient_ref)).await?;
    assert_eq!(submitted.outcome, OutcomeKind::Validated);
    assert_eq!(
        doctor
            .await_outcome(&pending, Duration::from_secs(10))
            .await?,
        HistoryOutcome::TimedOut,
        "nothing can happen while network II is down"
    );

    // Network II comes back with its ledger; the relays' retries complete
    // the exchange, once.
    networks.start_network("net2")?;
    completed_exactly_once(&setup, &doctor, &pending, &uploaded).await;

    setup.stop().await?;
    networks.down()
}
