//! `ehrx status` and `ehrx audit`: what the ledger says about requests and
//! about who saw what, as a table or JSON.

use anyhow::{Context as _, anyhow};

use ehrx_client::ehr::{
    PatientRef, RequestEntry,
    interface::{AuditEntry, AuditSubject},
};

use crate::{
    args::{AuditArgs, StatusArgs, TargetArgs},
    output::{Output, json_name, table_of, utc_time},
    target::Target,
};

/// `ehrx status [<request-id>]`.
pub async fn run_status(target: &TargetArgs, out: &Output, args: StatusArgs) -> anyhow::Result<()> {
    let client = Target::load(target)?.client().await?;
    match &args.request_id {
        Some(id) => {
            let status = client
                .request_status(id)
                .await
                .with_context(|| format!("looking up request {id}"))?;
            out.emit(&status, || status_table(std::slice::from_ref(&status)))
        }
        None => {
            let all = client
                .list_requests()
                .await
                .context("listing your requests")?;
            out.emit_list(&all, "no requests", status_table)
        }
    }
}

fn status_table(statuses: &[RequestEntry]) -> String {
    table_of(
        &["REQUEST", "STATE", "FROM", "TO", "REASON"],
        statuses,
        |s| {
            vec![
                s.request_id.clone(),
                match s.refusal {
                    Some(refusal) => format!("{} ({})", json_name(s.status), json_name(refusal)),
                    None => json_name(s.status),
                },
                s.source_network.clone(),
                s.destination_network.clone(),
                s.reason
                    .clone()
                    .or_else(|| s.reply.as_ref().and_then(|r| r.reason.clone()))
                    .unwrap_or_default(),
            ]
        },
    )
}

/// `ehrx audit <patient-ref|admin|security>`.
pub async fn run_audit(target: &TargetArgs, out: &Output, args: AuditArgs) -> anyhow::Result<()> {
    let subject = subject_arg(args.subject.as_deref().unwrap_or_default())?;
    let subject = match subject.as_str() {
        "admin" => AuditSubject::Admin,
        "security" => AuditSubject::Security,
        patient => AuditSubject::Patient(patient),
    };
    let client = Target::load(target)?.client().await?;
    let entries = client
        .admin()
        .audit_trail(subject)
        .await
        .with_context(|| format!("reading the audit trail of {}", subject.as_arg()))?;
    out.emit_list(
        &entries,
        &format!("no audit entries for {}", subject.as_arg()),
        audit_table,
    )
}

/// `admin`, `security`, or a patient ref in the contract's lower-case hex.
fn subject_arg(text: &str) -> anyhow::Result<String> {
    match text {
        "admin" | "security" => Ok(text.to_string()),
        // People type hex in either case; the contract takes lower case.
        other => PatientRef::from_hex(&other.to_ascii_lowercase())
            .map(|patient| patient.to_hex())
            .map_err(|_| {
                anyhow!(
                    "{other:?} is neither `admin`, `security` nor a patient ref (64 hex digits)"
                )
            }),
    }
}

fn audit_table(entries: &[AuditEntry]) -> String {
    table_of(
        &["AT (UTC)", "KIND", "REQUEST", "NETWORK", "ACTOR", "TX"],
        entries,
        |e| {
            vec![
                utc_time(u64::try_from(e.at_ms).unwrap_or_default()),
                e.kind.name().to_owned(),
                e.request_id.clone().unwrap_or_default(),
                e.network.clone().unwrap_or_default(),
                e.actor_msp_id.clone(),
                e.tx_id.chars().take(12).collect(),
            ]
        },
    )
}

#[cfg(test)]
mod tests {
    use ehrx_client::ehr::interface::AuditKind;

    use super::*;

    #[test]
    fn audit_subjects_are_admin_security_or_a_patient_ref() {
        assert_eq!(subject_arg("admin").unwrap(), "admin");
        assert_eq!(subject_arg("security").unwrap(), "security");
        assert_eq!(subject_arg(&"AB".repeat(32)).unwrap(), "ab".repeat(32));
        let text = subject_arg("patients").unwrap_err().to_string();
        assert!(
            text.contains("neither `admin`, `security` nor a patient ref"),
            "{text}"
        );
        assert!(subject_arg(&"ab".repeat(31)).is_err());
    }

    #[test]
    fn tables_show_states_and_entries() {
        let entry: RequestEntry = serde_json::from_value(serde_json::json!({
            "request_id": "r-1", "direction": "outgoing", "status": "fulfilled",
            "source_network": "net1", "destination_network": "net2",
            "requester_code": "DR-1", "requester_msp_id": "M", "requester_id": "x509::a::b",
            "patient_ref": "ab".repeat(32), "purpose": "PURPOSE_TREATMENT", "categories": [],
            "created_at_ms": 1, "signed_request_sha256": "00".repeat(32), "recorded_at_ms": 1,
        }))
        .unwrap();
        let text = status_table(&[entry]);
        assert!(
            text.lines()
                .nth(1)
                .unwrap()
                .starts_with("r-1      fulfilled  net1"),
            "{text}"
        );
        let text = audit_table(&[AuditEntry {
            kind: AuditKind::Disclosure,
            subject: "ab".repeat(32),
            request_id: Some("r-1".into()),
            record_ids: vec![],
            network: Some("net1".into()),
            actor_msp_id: "Net2Org1MSP".into(),
            actor_id: "x509::CN=User1".into(),
            detail: String::new(),
            at_ms: 0,
            tx_id: "0123456789abcdef".into(),
            disclosed: None,
        }]);
        assert!(
            text.contains("1970-01-01 00:00:00  disclosure  r-1"),
            "{text}"
        );
        assert!(text.contains("0123456789ab\n"), "{text}");
    }
}
