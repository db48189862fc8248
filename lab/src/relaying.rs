//! An exchange ready to carry requests, as several end-to-end tests start
//! one: both networks configured, a synthetic patient's records on network
//! II, and both relays running.

use ehrx_client::ehr::{PatientRef, UploadedRecord};

use crate::exchange::ExchangeSetup;
use crate::networks::Networks;

/// [`ExchangeSetup::configure`] on `networks`, synthetic patient `seed`
/// uploaded to network II ([`ExchangeSetup::upload_patient`]) and both
/// relays started: the setup, the patient's ref and the records stored.
pub async fn with_patient_and_relays(
    networks: &Networks,
    seed: u64,
) -> anyhow::Result<(ExchangeSetup<'_>, PatientRef, Vec<UploadedRecord>)> {
    let mut setup = ExchangeSetup::configure(networks).await?;
    let (patient, uploaded) = setup.upload_patient(seed).await?;
    setup.start_relays()?;
    Ok((setup, patient, uploaded))
}
