//! Network III joins while I and II run (issue 12): `network.sh add net3`
//! brings it up beside them; the admins of all three enter each other in
//! their lookup tables; the running relays of I and II reload their
//! configuration files (a route to III, its relays' CA); III's relay and
//! responders start. Then a doctor on I reads a patient's history from III,
//! and a doctor on III one from II, and no node or relay of I or II was
//! restarted on the way.

use std::time::Instant;

use anyhow::Context as _;
use ehrx_client::ehr::{HistoryOutcome, HistoryRequest};
use ehrx_lab::exchange::{received_digests, uploaded_digests};
use ehrx_lab::networks::{Networks, node_pids};
use ehrx_proto::exchange::Purpose;

use super::scenarios::{Evidence, Lab};

/// The requester code of III's doctor.
const DOCTOR_ON_III: &str = "DR-0003";
/// Seed of the synthetic patient stored on III.
const PATIENT_SEED: u64 = 3000;

/// Pids of the processes `network.sh` started for I and II.
fn pids_of_i_and_ii(lab: &Lab<'_>) -> anyhow::Result<Vec<(String, u32)>> {
    node_pids(&[&lab.setup.net1.name, &lab.setup.net2.name])
}

pub async fn live_join<'a>(lab: &mut Lab<'a>, networks: &'a Networks) -> anyhow::Result<Evidence> {
    let mut evidence = Evidence::default();
    let before = pids_of_i_and_ii(lab)?;

    let started = Instant::now();
    let net3 = networks.add("net3")?;
    evidence.fact(format!(
        "{} ({}) up in {:.0} s",
        net3.title,
        net3.name,
        started.elapsed().as_secs_f64()
    ));
    let registered = Instant::now();
    let doctor3 = lab.setup.join(net3, DOCTOR_ON_III).await?;
    lab.setup.reload_relays().await?;
    lab.setup.start_relay(&net3.name)?;
    lab.setup
        .start_responders_on(net3, |_| Ok("User1".to_owned()))
        .await?;
    let (patient3, uploaded3) = lab.setup.upload_patient_to(net3, PATIENT_SEED).await?;
    evidence.fact(format!(
        "lookup tables of all three, relays reloaded, III's relay and responders started in {:.1} s",
        registered.elapsed().as_secs_f64()
    ));

    // I → III.
    let exchange = Instant::now();
    let requested = lab.setup.request_from(&lab.doctor, net3, patient3).await?;
    let reply = lab.doctor.read_reply(&requested.pending.reply_key).await?;
    let intact = received_digests(&reply) == uploaded_digests(&uploaded3);
    evidence.fact(format!("request {}", requested.pending.request_id()));
    evidence.check(
        intact && reply.replying_network == net3.name,
        format!(
            "I → III: {} of {} records received and hash-checked, replied by {}, in {:.1} s",
            reply.records.len(),
            uploaded3.len(),
            reply.replying_network,
            exchange.elapsed().as_secs_f64()
        ),
    );

    // III → II, for the first of II's patients.
    let (patient2, uploaded2) = lab.patients.first().context("no patient on II")?;
    let exchange = Instant::now();
    let request = HistoryRequest {
        patient_ref: *patient2,
        destination_network: lab.setup.net2.name.clone(),
        categories: Vec::new(),
        purpose: Purpose::Treatment,
    };
    let requested = doctor3.request_history(&request, lab.timeout).await?;
    anyhow::ensure!(
        requested.outcome == HistoryOutcome::ReplyReady,
        "III → II: request {} ended {:?}",
        requested.pending.request_id(),
        requested.outcome
    );
    let reply = doctor3.read_reply(&requested.pending.reply_key).await?;
    let intact = received_digests(&reply) == uploaded_digests(uploaded2);
    evidence.check(
        intact && reply.replying_network == lab.setup.net2.name,
        format!(
            "III → II: {} of {} records received and hash-checked, in {:.1} s",
            reply.records.len(),
            uploaded2.len(),
            exchange.elapsed().as_secs_f64()
        ),
    );

    let after = pids_of_i_and_ii(lab)?;
    evidence.check(
        after == before,
        format!(
            "the {} processes of I and II are the ones that ran before III joined",
            before.len()
        ),
    );
    Ok(evidence)
}
