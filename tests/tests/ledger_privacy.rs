//! No exchange metadata on the channel ledger (issue 15, item 4): after a
//! whole exchange on the two real networks (a synthetic patient uploaded
//! on II, a doctor on I requests the history, both relays and II's
//! responders carry and answer it, the doctor reads the reply, another
//! user is refused it), every block of both channels is read with qscc
//! `GetBlockByNumber` through the SDK's gateway client, and its raw bytes
//! are searched for what the exchange must not disclose to a channel
//! member: the patient ref (hex and raw), the requester code, every
//! record id (and its FHIR id alone), and the patient's and
//! practitioners' names. None may be found.
//!
//! What the blocks may still hold: opaque ids (request ids), keyed hashes
//! (private data key and value hashes), network ids, and the
//! certificates of the identities that sign transactions.

// Marks the helpers below as test code too, for clippy's unwrap rules.
#![cfg(test)]

use ehrx_client::ehr::synthetic::SyntheticPatient;
use ehrx_lab::exchange::REQUESTER_CODE;
use ehrx_lab::ledger::{Secret, scan};
use ehrx_lab::networks::Networks;
use ehrx_lab::relaying::with_patient_and_relays;

/// The synthetic patient of this test.
const SEED: u64 = 15;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_block_of_either_channel_names_a_patient_requester_or_record() -> anyhow::Result<()> {
    let networks = Networks::up()?;

    // The whole exchange.
    let (mut setup, patient_ref, uploaded) = with_patient_and_relays(&networks, SEED).await?;
    setup.start_responders().await?;
    let doctor = setup.doctor().await?;
    let requested = setup.request_from_net2(&doctor, patient_ref).await?;
    let reply = doctor.read_reply(&requested.pending.reply_key).await?;
    assert_eq!(reply.records.len(), uploaded.len(), "the whole history");
    let nosy = setup.client_as("User1").await?;
    assert!(
        nosy.read_reply(&requested.pending.reply_key).await.is_err(),
        "only the requester may read the reply"
    );
    setup.stop_services().await?;

    // What must not be on either ledger.
    let patient = SyntheticPatient::generate(SEED);
    let mut secrets = vec![
        Secret::new("requester code", REQUESTER_CODE),
        Secret::new("patient name", patient.identifiers.name.clone()),
    ];
    secrets.extend(Secret::of_patient(
        "the patient",
        &patient_ref,
        &uploaded,
        &patient.resources,
    ));
    assert!(
        secrets.iter().filter(|s| s.what.contains(": name")).count() >= 2,
        "the patient's and a practitioner's names are searched for"
    );

    // The control: the request id is opaque and in the blocks (the events
    // name it), so the search does see what the blocks hold.
    let request_id = requested.pending.request_id().as_bytes().to_vec();
    let scan = scan(&[setup.net1, setup.net2], &secrets, &request_id).await?;
    assert!(
        scan.blocks > 10,
        "both channels' blocks were read ({})",
        scan.blocks
    );
    assert!(
        scan.control_seen >= 2,
        "the request id is in blocks of both channels ({})",
        scan.control_seen
    );
    eprintln!(
        "{} blocks scanned for {} secrets: none found",
        scan.blocks,
        secrets.len()
    );
    assert!(
        scan.found.is_empty(),
        "{} finding(s):\n{}",
        scan.found.len(),
        scan.found.join("\n")
    );

    setup.stop().await?;
    networks.down()
}
