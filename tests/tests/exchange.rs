//! The whole exchange across the two real networks: a doctor on network I
//! requests a patient's history from network II. Network I verifies the
//! request (Alg. 1), its relay carries it to II's relay over mutual TLS,
//! network II verifies it (Alg. 2), II's responders race to seal and submit
//! the reply, and the reply comes back and is verified on I (Alg. 3). The
//! doctor then reads it, decrypted and checked record by record; anyone
//! else is refused.

// Marks the helpers below as test code too, for clippy's unwrap rules.
#![cfg(test)]

use ehrx_lab::exchange::{ExchangeSetup, received_digests, uploaded_digests};
use ehrx_lab::networks::Networks;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_doctor_on_network_i_reads_a_patients_history_from_network_ii() -> anyhow::Result<()> {
    let networks = Networks::up()?;

    // Each network's admin: its id, the other network in the lookup table,
    // its relay; on I a requester with a long-term X25519 key, on II an
    // uploader and a responder per organisation.
    let mut setup = ExchangeSetup::configure(&networks).await?;

    // Network II holds a synthetic patient's records.
    let (patient_ref, uploaded) = setup.upload_patient(7).await?;
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

    setup.stop().await?;
    networks.down()
}
