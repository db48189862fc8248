//! `ehrx consent put|revoke|list` and `ehrx audit disclosures|watch`:
//! patients' consents on this network, their accounting of disclosures
//! (text, HTML or a FHIR `AuditEvent` Bundle, from the ledger's audit
//! entries only) and the break-glass events an admin follows.

use std::time::SystemTime;

use anyhow::{Context as _, anyhow, bail};
use serde::Serialize;

use ehrx_client::{
    ehr::{
        PatientRef,
        interface::{
            Key32, RequestEntry,
            consent::{
                ConsentEntry, ConsentReceipt, ConsentStatus, ConsentTerms, Recipient, instant,
            },
            event,
            rules::is_request_id,
        },
    },
    proto::exchange::Purpose,
};

use crate::{
    args::{AuditCommand, ConsentCommand, ConsentPutArgs, ReportFormat, TargetArgs},
    output::{Output, table_of, utc_time},
    target::Target,
};

/// `ehrx consent …`.
pub async fn run(target: &TargetArgs, out: &Output, command: ConsentCommand) -> anyhow::Result<()> {
    let client = Target::load(target)?.client().await?;
    match command {
        ConsentCommand::Put(args) => {
            let resource = match &args.file {
                Some(file) => {
                    std::fs::read(file).with_context(|| format!("reading {}", file.display()))?
                }
                None => terms_of(&args)?.to_fhir().to_string().into_bytes(),
            };
            let (terms, receipt) = client
                .put_consent(&resource)
                .await
                .context("storing the consent")?;
            let stored = Stored {
                consent: terms,
                receipt,
            };
            out.emit(&stored, || {
                format!(
                    "consent {} stored at {} (SHA-256 {})",
                    stored.consent.consent_id,
                    utc_time(u64::try_from(stored.receipt.at_ms).unwrap_or_default()),
                    stored.receipt.sha256
                )
            })
        }
        ConsentCommand::Revoke { patient, id } => {
            let receipt = client
                .revoke_consent(&patient_arg(&patient)?, &id)
                .await
                .with_context(|| format!("revoking consent {id}"))?;
            out.emit(&receipt, || {
                format!(
                    "consent {id} revoked at {}",
                    utc_time(u64::try_from(receipt.at_ms).unwrap_or_default())
                )
            })
        }
        ConsentCommand::List { patient } => {
            let all = client
                .list_consents(&patient_arg(&patient)?)
                .await
                .context("listing the patient's consents")?;
            out.emit_list(&all, "no consents", consent_table)
        }
    }
}

/// `ehrx audit disclosures|watch`.
pub async fn run_audit(
    target: &TargetArgs,
    out: &Output,
    command: AuditCommand,
) -> anyhow::Result<()> {
    let client = Target::load(target)?.client().await?;
    match command {
        AuditCommand::Disclosures { patient, format } => {
            let report = client
                .disclosures(&patient_arg(&patient)?)
                .await
                .context("reading the patient's audit trail")?;
            let printed = match format {
                ReportFormat::Text => report.to_text(),
                ReportFormat::Html => report.to_html(),
                ReportFormat::Fhir => {
                    serde_json::to_string_pretty(&report.to_fhir()).context("writing the bundle")?
                }
            };
            Output::new(false).emit(&(), || printed)
        }
        AuditCommand::Watch {
            from_block,
            count,
            timeout,
        } => {
            let deadline = timeout.map(|t| tokio::time::Instant::now() + t);
            let request = client
                .network()
                .chaincode_events(client.settings().chaincode.clone())
                .start_block(from_block)
                .build();
            let mut events = request.events().await.context("opening the event stream")?;
            let mut seen = 0;
            while count.is_none_or(|count| seen < count) {
                let next = match deadline {
                    Some(deadline) => {
                        match tokio::time::timeout_at(deadline, events.next()).await {
                            Ok(next) => next,
                            Err(_) => break,
                        }
                    }
                    None => events.next().await,
                };
                let event = match next {
                    Some(event) => event.context("reading the event stream")?,
                    None => bail!("the peer ended the event stream"),
                };
                if event.event_name != event::BREAK_GLASS {
                    continue;
                }
                // The event names the request only (no exchange metadata in
                // blocks); its entry, which an admin may read, says the rest.
                let request_id = BreakGlassNotice::request_id(&event.payload)?;
                let entry = client
                    .request_status(&request_id)
                    .await
                    .with_context(|| format!("reading request {request_id}"))?;
                let notice =
                    BreakGlassNotice::of(&entry, event.block_number, &event.transaction_id);
                seen += 1;
                if out.is_json() {
                    println!(
                        "{}",
                        serde_json::to_string(&notice).context("writing the event")?
                    );
                } else {
                    println!(
                        "BREAK-GLASS block {} tx {}: request {} disclosed {} record(s) to {} at {}",
                        notice.block_number,
                        notice.transaction_id,
                        notice.request_id,
                        notice.records,
                        notice.receiving_network,
                        notice.created_at
                    );
                }
            }
            Ok(())
        }
    }
}

/// What `ehrx consent put` prints: the terms sent and the contract's
/// receipt.
#[derive(Debug, Serialize)]
struct Stored {
    consent: ConsentTerms,
    receipt: ConsentReceipt,
}

/// A break-glass event, as `ehrx audit watch` prints it.
#[derive(Debug, Serialize)]
struct BreakGlassNotice {
    block_number: u64,
    transaction_id: String,
    request_id: String,
    receiving_network: String,
    records: usize,
    created_at: String,
}

impl BreakGlassNotice {
    /// The request a BreakGlass event's payload names.
    fn request_id(payload: &[u8]) -> anyhow::Result<String> {
        match std::str::from_utf8(payload) {
            Ok(id) if is_request_id(id) => Ok(id.to_owned()),
            _ => bail!(
                "a BreakGlass event whose payload ({} bytes) is not a request id",
                payload.len()
            ),
        }
    }

    /// From the request's entry on this network (it received the request
    /// and sent the reply).
    fn of(entry: &RequestEntry, block_number: u64, transaction_id: &str) -> Self {
        let reply = entry.reply.as_ref();
        Self {
            block_number,
            transaction_id: transaction_id.to_owned(),
            request_id: entry.request_id.clone(),
            receiving_network: entry.source_network.clone(),
            records: reply.map_or(0, |r| r.record_ids.len()),
            created_at: reply
                .and_then(|r| u64::try_from(r.at_ms).ok())
                .map(utc_time)
                .unwrap_or_default(),
        }
    }
}

/// A patient ref in either case of hex.
fn patient_arg(text: &str) -> anyhow::Result<Key32> {
    Ok(PatientRef::from_hex(&text.to_ascii_lowercase())
        .map_err(|_| anyhow!("{text:?} is not a patient ref (64 hex digits)"))?
        .key())
}

/// The terms `ehrx consent put`'s options describe.
fn terms_of(args: &ConsentPutArgs) -> anyhow::Result<ConsentTerms> {
    let (Some(patient), Some(id), Some(until)) = (&args.patient, &args.id, &args.until) else {
        bail!("give --file, or --patient, --id and --until");
    };
    let start_ms = match &args.from {
        Some(from) => instant("--from", Some(from), false)?,
        None => i64::try_from(
            SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .context("the clock is before 1970")?
                .as_millis(),
        )?,
    };
    let pair = |text: &str, what: &str| -> anyhow::Result<(String, String)> {
        text.split_once('/')
            .map(|(a, b)| (a.to_owned(), b.to_owned()))
            .ok_or_else(|| anyhow!("{what} {text:?} is not <network>/<id>"))
    };
    let mut recipients: Vec<Recipient> = args
        .to_network
        .iter()
        .cloned()
        .map(Recipient::Network)
        .collect();
    for org in &args.to_org {
        let (network, msp_id) = pair(org, "--to-org")?;
        recipients.push(Recipient::Organization { network, msp_id });
    }
    for requester in &args.to_requester {
        let (network, requester_code) = pair(requester, "--to-requester")?;
        recipients.push(Recipient::Requester {
            network,
            requester_code,
        });
    }
    let terms = ConsentTerms {
        consent_id: id.clone(),
        status: ConsentStatus::Active,
        patient_ref: patient_arg(patient)?,
        start_ms,
        end_ms: instant("--until", Some(until), true)?,
        recipients,
        purposes: args
            .purposes
            .iter()
            .map(|p| Purpose::from(*p).as_str_name().to_owned())
            .collect(),
        categories: args.categories.clone(),
    };
    // The contract's own reader: a consent it would refuse fails here.
    ConsentTerms::from_fhir(terms.to_fhir().to_string().as_bytes())
        .context("the consent these options describe")
}

fn consent_table(consents: &[ConsentEntry]) -> String {
    table_of(
        &[
            "CONSENT",
            "STATUS",
            "IN FORCE (UTC)",
            "TO",
            "PURPOSES",
            "CATEGORIES",
        ],
        consents,
        |c| {
            let t = &c.terms;
            vec![
                t.consent_id.clone(),
                format!("{:?}", t.status).to_lowercase(),
                format!(
                    "{} – {}",
                    utc_time(u64::try_from(t.start_ms).unwrap_or_default()),
                    utc_time(u64::try_from(t.end_ms).unwrap_or_default())
                ),
                t.recipients
                    .iter()
                    .map(|r| match r {
                        Recipient::Network(n) => n.clone(),
                        Recipient::Organization { network, msp_id } => {
                            format!("{network}/{msp_id}")
                        }
                        Recipient::Requester {
                            network,
                            requester_code,
                        } => format!("{network}/{requester_code}"),
                    })
                    .collect::<Vec<_>>()
                    .join(" "),
                t.purposes.join(" "),
                if t.categories.is_empty() {
                    "all".to_owned()
                } else {
                    t.categories.join(" ")
                },
            ]
        },
    )
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::*;
    use crate::args::{Cli, Command};

    fn put_args(extra: &[&str]) -> ConsentPutArgs {
        let mut argv = vec!["ehrx", "consent", "put"];
        argv.extend_from_slice(extra);
        match Cli::try_parse_from(argv).unwrap().command {
            Command::Consent(ConsentCommand::Put(args)) => args,
            other => panic!("{other:?}"),
        }
    }

    /// The options of consent `c-1` of `patient` to network `net1`, then
    /// `more`.
    fn consent_to_net1<'a>(patient: &'a str, more: &[&'a str]) -> Vec<&'a str> {
        let mut options = vec!["--patient", patient, "--id", "c-1", "--to-network", "net1"];
        options.extend_from_slice(more);
        options
    }

    #[test]
    fn options_build_the_consent_the_contract_reads() {
        let patient = "AB".repeat(32);
        let args = put_args(&consent_to_net1(
            &patient,
            &[
                "--to-org",
                "net3/Org1MSP",
                "--to-requester",
                "net4/DR-1",
                "--purpose",
                "treatment",
                "--purpose",
                "emergency",
                "--category",
                "Condition",
                "--from",
                "2026-01-01",
                "--until",
                "2026-12-31",
            ],
        ));
        let terms = terms_of(&args).unwrap();
        assert_eq!(terms.patient_ref.to_hex(), "ab".repeat(32));
        assert_eq!(terms.recipients.len(), 3);
        assert_eq!(terms.purposes, ["PURPOSE_TREATMENT", "PURPOSE_EMERGENCY"]);
        assert_eq!(terms.end_ms - terms.start_ms, 365 * 24 * 3600 * 1000);
        let text = consent_table(&[ConsentEntry {
            terms,
            stored_at_ms: 0,
            stored_by_msp_id: "M".into(),
            stored_by: "x".into(),
            revoked_at_ms: None,
        }]);
        assert!(text.contains("net3/Org1MSP"), "{text}");
    }

    #[test]
    fn options_the_contract_would_refuse_fail_before_any_call() {
        let patient = "ab".repeat(32);
        let good = consent_to_net1(
            &patient,
            &["--purpose", "treatment", "--until", "2026-12-31"],
        );
        assert!(terms_of(&put_args(&good)).is_ok());
        // Each case changes one option of the good ones (or drops the purpose).
        for (option, value) in [
            ("--purpose", None),
            ("--id", Some("c 1")),
            ("--to-network", Some("net1/")),
            ("--patient", Some("zz")),
            ("--until", Some("soon")),
        ] {
            let mut bad: Vec<&str> = Vec::new();
            for pair in good.chunks(2) {
                match (pair[0] == option, value) {
                    (true, Some(value)) => bad.extend([pair[0], value]),
                    (true, None) => {}
                    (false, _) => bad.extend(pair),
                }
            }
            assert!(terms_of(&put_args(&bad)).is_err(), "{bad:?}");
        }
        assert!(
            Cli::try_parse_from(["ehrx", "consent", "put", "--file", "f", "--id", "x"]).is_err()
        );
        assert!(Cli::try_parse_from(["ehrx", "consent", "put", "--id", "x"]).is_err());
    }

    #[test]
    fn a_break_glass_event_names_its_request() {
        let id = "0f0e0d0c-0b0a-4908-8706-050403020100";
        assert_eq!(BreakGlassNotice::request_id(id.as_bytes()).unwrap(), id);
        assert!(BreakGlassNotice::request_id(b"\xff\xff").is_err());
        assert!(BreakGlassNotice::request_id(b"not an id").is_err());
        assert!(BreakGlassNotice::request_id(&[b'a'; 1 << 20]).is_err());
    }
}
