//! The experiment's last check (issue 15, item 4): after every scenario,
//! no block of any channel (I, II and III) holds a patient ref, a
//! requester code, a record id or a name of the experiment's patients.

use ehrx_client::ehr::synthetic::SyntheticPatient;
use ehrx_lab::ledger::{Secret, scan};
use ehrx_lab::networks::Networks;

use super::scenarios::{Evidence, Lab};
use super::{NET1_FIRST_SEED, NET2_FIRST_SEED};
use ehrx_lab::exchange::REQUESTER_CODE;

/// The requester codes the scenarios register (I's doctors and III's).
const REQUESTER_CODES: [&str; 3] = [REQUESTER_CODE, "DR-0002", "DR-0003"];

/// How many of the findings a failed check quotes.
const QUOTED: usize = 5;

/// Reads every block of every network's channel and searches it for II's
/// patients (refs, record ids, names), I's patients' names and the
/// requester codes. The exchange's request id is the control: it is in
/// the blocks of I and II, so a search that sees nothing fails.
pub async fn no_metadata_in_blocks(lab: &Lab<'_>, networks: &Networks) -> anyhow::Result<Evidence> {
    let mut evidence = Evidence::default();
    let mut secrets: Vec<Secret> = REQUESTER_CODES
        .iter()
        .map(|code| Secret::new(format!("requester code {code}"), *code))
        .collect();
    for (index, (patient_ref, uploaded)) in lab.patients.iter().enumerate() {
        let synthetic = SyntheticPatient::generate(NET2_FIRST_SEED + index as u64);
        secrets.extend(Secret::of_patient(
            &format!("II's patient {index}"),
            patient_ref,
            uploaded,
            &synthetic.resources,
        ));
    }
    for index in 0..lab.patients.len() as u64 {
        let synthetic = SyntheticPatient::generate(NET1_FIRST_SEED + index);
        secrets.push(Secret::new(
            format!("I's patient {index}: name"),
            synthetic.identifiers.name.clone(),
        ));
    }
    let control = lab
        .reply_key
        .as_ref()
        .map(|key| key.request_id.clone())
        .unwrap_or_default();
    let nets: Vec<_> = networks.every().collect();
    let scan = scan(&nets, &secrets, control.as_bytes()).await?;
    evidence.fact(format!(
        "{} blocks of {} channels searched for {} secrets",
        scan.blocks,
        nets.len(),
        secrets.len()
    ));
    evidence.check(
        scan.control_seen >= 2,
        format!(
            "the exchange's request id (the control) in {} block(s)",
            scan.control_seen
        ),
    );
    evidence.check(
        scan.found.is_empty(),
        if scan.found.is_empty() {
            "none found".to_owned()
        } else {
            format!(
                "{} found, e.g. {}",
                scan.found.len(),
                scan.found[..scan.found.len().min(QUOTED)].join("; ")
            )
        },
    );
    Ok(evidence)
}
