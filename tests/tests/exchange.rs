//! The whole exchange across the two real networks: a doctor on network I
//! requests a patient's history from network II. Network I verifies the
//! request (Alg. 1), its relay carries it to II's relay over mutual TLS,
//! network II verifies it (Alg. 2), II's responders race to seal and submit
//! the reply, and the reply comes back and is verified on I (Alg. 3). The
//! doctor then reads it, decrypted and checked record by record; anyone
//! else is refused.

// Marks the helpers below as test code too, for clippy's unwrap rules.
#![cfg(test)]

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use ehrx_client::ehr::{
    EhrClient, HistoryOutcome, HistoryRequest, PatientRef, RequestedHistory, RequesterKey,
};
use ehrx_client::proto::exchange::Purpose;
use ehrx_lab::exchange::{ExchangeSetup, ResponderSharing, received_digests, uploaded_digests};
use ehrx_lab::forge::audit_trail;
use ehrx_lab::networks::Networks;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_doctor_on_network_i_reads_a_patients_history_from_network_ii() -> anyhow::Result<()> {
    let networks = Networks::up()?;

    // Each network's admin: its id, the other network in the lookup table,
    // its relay; on I a requester with a long-term X25519 key, on II an
    // uploader and a responder per organisation.
    let mut setup = ExchangeSetup::configure(&networks).await?;

    // Network II holds a synthetic patient's records, each uploaded on its
    // own and all at once by one uploader: the SDK files them in turn.
    let (patient_ref, uploaded) = setup.upload_patient_at_once(7).await?;
    assert!(
        uploaded.len() >= 5,
        "a realistic history: {} records",
        uploaded.len()
    );

    // Both relays and network II's two responders run until the test ends.
    setup.start_relays()?;
    setup.start_responders().await?;

    // The doctor on network I asks, waits for the outcome, and reads.
    let client = setup.doctor().await?;
    let requested = setup.request_from_net2(&client, patient_ref).await?;

    let reply = client.read_reply(&requested.pending.reply_key).await?;
    assert_eq!(reply.replying_network, "net2");
    let received = received_digests(&reply);
    let expected = uploaded_digests(&uploaded);
    assert_eq!(received, expected, "every uploaded record, intact");

    // Retrieval privilege: another user of network I is refused.
    let nosy = setup.client_as("User1").await?;
    let refused = nosy.read_reply(&requested.pending.reply_key).await;
    assert!(refused.is_err(), "only the requester may read the reply");

    // 32 exchanges at once, 8 from each of four doctors, through the
    // pipelined relays and the responders answering concurrently
    // (competing, as in the paper): each completes, with exactly one
    // reply, received once. A doctor's concurrent requests conflict over
    // its rate-limit window (one commits per block); the SDK files the
    // others again.
    setup.set_rate_limit("net1", 1000).await?;
    let mut doctors = vec![client.clone()];
    for (n, (org, user)) in [("org1", "User3"), ("org2", "User2"), ("org2", "User3")]
        .into_iter()
        .enumerate()
    {
        let key = RequesterKey::generate()?;
        let code = format!("DR-10{n}");
        doctors.push(setup.register_requester(org, user, &code, key).await?);
    }
    let mut many = Vec::new();
    for doctor in &doctors {
        many.push((doctor, start(doctor, patient_ref, 8)));
    }
    for (doctor, started) in many {
        let done = finish(started).await?;
        exactly_once(&setup, doctor, patient_ref, &done, &expected).await?;
    }

    // The responders split the requests instead, and only org1's runs:
    // org2's share is answered by org1's after the takeover time.
    setup.stop_services().await?;
    setup.responders = ResponderSharing::Split {
        takeover_after: Duration::from_secs(3),
    };
    setup.start_relays()?;
    setup.start_responder(setup.net2, 0, "User1").await?;
    let taken_over = finish(start(&client, patient_ref, 8)).await?;
    exactly_once(&setup, &client, patient_ref, &taken_over, &expected).await?;

    setup.stop().await?;
    networks.down()
}

type Requests = tokio::task::JoinSet<Result<RequestedHistory, ehrx_client::ehr::Error>>;

/// Starts filing `count` requests for `patient_ref` from network II at
/// once, each waiting for its outcome.
fn start(client: &EhrClient, patient_ref: PatientRef, count: usize) -> Requests {
    let mut tasks = Requests::new();
    for _ in 0..count {
        let client = client.clone();
        let request = HistoryRequest {
            patient_ref,
            destination_network: "net2".into(),
            categories: Vec::new(),
            purpose: Purpose::Treatment,
        };
        tasks.spawn(async move {
            client
                .request_history(&request, Duration::from_secs(120))
                .await
        });
    }
    tasks
}

/// Waits for every request of `tasks`; each must have been answered.
async fn finish(mut tasks: Requests) -> anyhow::Result<Vec<RequestedHistory>> {
    let mut done = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        let requested = joined??;
        anyhow::ensure!(
            requested.outcome == HistoryOutcome::ReplyReady,
            "request {} ended {:?}",
            requested.pending.request_id(),
            requested.outcome
        );
        done.push(requested);
    }
    Ok(done)
}

/// Each of `requested` has exactly one disclosure on II and one reply
/// received on I (the patient's audit trails), and its reply holds every
/// uploaded record.
async fn exactly_once(
    setup: &ExchangeSetup<'_>,
    client: &EhrClient,
    patient_ref: PatientRef,
    requested: &[RequestedHistory],
    expected: &BTreeMap<String, [u8; 32]>,
) -> anyhow::Result<()> {
    let ids: BTreeSet<&str> = requested.iter().map(|r| r.pending.request_id()).collect();
    assert_eq!(ids.len(), requested.len(), "distinct requests");
    let patient = patient_ref.to_hex();
    for (net, kind) in [("net2", "disclosure"), ("net1", "reply_received")] {
        let trail = audit_trail(&setup.contract_as(net, "Admin").await?, &patient).await?;
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for entry in trail.iter().filter(|e| e["kind"] == kind) {
            if let Some(id) = entry["request_id"].as_str() {
                *counts.entry(id).or_default() += 1;
            }
        }
        for id in &ids {
            assert_eq!(counts.get(id), Some(&1), "{kind} of {id} on {net}");
        }
    }
    for one in requested {
        let reply = client.read_reply(&one.pending.reply_key).await?;
        assert_eq!(&received_digests(&reply), expected);
    }
    Ok(())
}
