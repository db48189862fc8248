//! Issue 12: whoever steals network I's relay host holds its Ed25519
//! network key and its relay TLS files, and can mint certificates of his
//! own. With only that, he forges a request that was never submitted on
//! network I, naming his own sealing key, and delivers it to network II's
//! relay: network II refuses it, because no peer of network I's registered
//! CAs vouched for it, says why, and stores and discloses nothing. A
//! genuine request, validated on I and proven by I's peers, goes through
//! the very same door, so the refusal is the proof's doing. The same holds
//! the other way for a reply forged with relay II's key.

// Marks the helpers below as test code too, for clippy's unwrap rules.
#![cfg(test)]

use ehrx_client::ehr::interface::{self, ErrorCode, Forwarded, RequestStatus, function};
use ehrx_client::fabric::NetworkDescription;
use ehrx_lab::exchange::{org, wait_for_peers};
use ehrx_lab::forge::{I_TO_II, fresh_request_id, signed_request, stored_entry, user_keys};
use ehrx_lab::networks::Networks;
use ehrx_lab::relaying::with_patient_and_relays;
use ehrx_lab::thief::{Ca, Forgeries, StolenRelay};
use ehrx_lab::thief_messages::{forged_reply, forged_request};
use ehrx_proto::exchange::{Purpose, forwarded_envelope::Payload};

/// Both forgeries refused by the contract for want of a proof its peers
/// made: with none, and with peers of the thief's CA.
fn refused_both(forgeries: Forgeries) -> anyhow::Result<()> {
    let unproven = forgeries.unproven?;
    assert_eq!(unproven.code, ErrorCode::BadProof, "{unproven}");
    let minted = forgeries.minted?;
    assert_eq!(minted.code, ErrorCode::BadProof, "{minted}");
    assert!(
        minted
            .message
            .contains("not issued by a CA root registered"),
        "{minted}"
    );
    Ok(())
}

/// `thief`, holding `from`'s relay files, delivers `signed`, his forgery
/// of `kind` made with `ca`, to `to`'s relay: with no proof (the
/// attestation verifies, and is not enough), then with a proof "endorsed"
/// by peers he minted for every organisation of `from`, for a genuine
/// challenge of `to`. Both must be refused.
async fn forged_and_refused(
    thief: &StolenRelay,
    (from, to): (&NetworkDescription, &NetworkDescription),
    kind: Forwarded,
    (ca, signed): (Ca, Vec<u8>),
) -> anyhow::Result<()> {
    let grant = thief
        .challenge(&to.name)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    refused_both(
        thief
            .forgeries(&ca, from, &to.name, kind, &signed, &grant.nonce)
            .await?,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stolen_relay_key_cannot_make_network_ii_disclose() -> anyhow::Result<()> {
    let networks = Networks::up()?;
    let (setup, patient, _) = with_patient_and_relays(&networks, 7).await?;
    let (net1, net2) = (setup.net1, setup.net2);

    // What the thief holds: relay I's configuration, network key and TLS
    // files, so he reaches network II's relay as relay I does.
    let thief = StolenRelay::of(&net1.name)?;

    // A doctor of his own making, under network I's MSP id, asking for the
    // patient's history sealed to his own key.
    let id = fresh_request_id();
    let forgery = forged_request((net1, &net2.name), &id, &patient, 201)?;
    forged_and_refused(&thief, (net1, net2), Forwarded::Request, forgery).await?;

    // Nothing stored on network II, so nothing for a responder to answer.
    let admin2 = setup.contract_as(&net2.name, "Admin").await?;
    let stored = stored_entry(&admin2, &id).await?;
    assert!(
        stored.is_none(),
        "the forged request was stored: {stored:?}"
    );

    // The control: a request really validated on network I, with the proof
    // its peers endorse, through the same stolen door, is accepted.
    let real_doctor = user_keys(org(net1, "org1")?, "User2")?;
    let genuine_id = fresh_request_id();
    let genuine = signed_request(
        I_TO_II,
        &genuine_id,
        &patient,
        setup.requester_key.public_key(),
        Purpose::Treatment,
        &real_doctor,
    )?;
    let doctor = setup.contract_as(&net1.name, "User2").await?;
    let submitted = interface::submit(&doctor, function::SUBMIT_REQUEST, [&genuine]).await?;
    wait_for_peers(net1, &submitted.status.transaction_id).await?;
    let proof = setup
        .validation_proof(&net1.name, &net2.name, &genuine)
        .await?;
    let envelope = thief.attest(Payload::SignedRequest(genuine));
    // Relay I carries the same request at the same time; whichever commits
    // second conflicts once, and its retry gets the stored outcome.
    let receipt = thief
        .deliver(&net2.name, &envelope, &proof)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    assert!(
        receipt.outcome.contains("\"accepted\""),
        "{}",
        receipt.outcome
    );

    // The same the other way: whoever steals relay II forges a reply to
    // that open request, naming records II never disclosed, and delivers
    // it to relay I. No responder runs, so II stored no reply at all.
    let thief2 = StolenRelay::of(&net2.name)?;
    let forgery = forged_reply((net2, &net1.name), &genuine_id, 221)?;
    forged_and_refused(&thief2, (net2, net1), Forwarded::Reply, forgery).await?;
    // The doctor's request is still open on network I: no reply stored.
    let admin1 = setup.contract_as(&net1.name, "Admin").await?;
    let entry = stored_entry(&admin1, &genuine_id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the doctor's request is gone"))?;
    assert_eq!(entry.status, RequestStatus::Validated, "{entry:?}");
    assert!(entry.reply.is_none(), "{entry:?}");

    setup.stop().await?;
    networks.down()
}
