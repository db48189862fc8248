//! Patient consent on the running networks (issue 15): network II requires
//! consent and allows break-glass for these rows, then goes back to its
//! setting before them. One fresh patient on II is theirs alone, so its
//! accounting of disclosures must list exactly the two disclosures the rows
//! allow (one by consent, one by break-glass).
//!
//! Every row checks the outcome on I and the ledger of II: the refusal's
//! audit entry, no disclosure entry for a refused request, the marks of
//! the allowed ones.

use std::time::Duration;

use anyhow::Context as _;

use ehrx_client::ehr::interface::{
    AuditEntry, AuditKind, Key32,
    consent::{ConsentStatus, ConsentTerms, EMERGENCY_PURPOSE, Recipient},
    event,
};
use ehrx_client::ehr::render::dates::now_unix_ms;
use ehrx_client::ehr::{
    EhrClient, EhrSettings, HistoryOutcome, HistoryRequest, PatientRef, RequestStatus,
};
use ehrx_lab::exchange::{REQUESTER_CODE, gateway_as, org};
use ehrx_proto::exchange::Purpose;

use super::scenarios::{Evidence, Lab};

const DAY_MS: i64 = 24 * 3600 * 1000;
/// The synthetic patient (seed) the consent rows alone ask about.
const PATIENT_SEED: u64 = 15_015;

/// What the consent rows share: II's admin, their patient, and the
/// requests they expect disclosed.
#[derive(Debug)]
pub struct ConsentLab {
    admin: EhrClient,
    patient: PatientRef,
    /// Requests disclosed by the rows, with the basis each must show
    /// (`Some(consent id)` or `None` for break-glass).
    pub disclosed: Vec<(String, Option<String>)>,
}

impl ConsentLab {
    /// II requires consent and allows break-glass; a fresh patient is
    /// stored on II.
    pub async fn start(lab: &Lab<'_>) -> anyhow::Result<Self> {
        lab.setup.set_consent_policy("net2", true, true).await?;
        let (patient, _) = lab.setup.upload_patient(PATIENT_SEED).await?;
        let net2 = lab.setup.net2;
        let gateway = gateway_as(org(net2, "org1")?, "Admin").await?;
        let admin = EhrClient::new(&gateway, EhrSettings::from_description(net2));
        Ok(Self {
            admin,
            patient,
            disclosed: Vec::new(),
        })
    }

    /// II back to not requiring consent, as the rows after these expect.
    pub async fn finish(lab: &Lab<'_>) -> anyhow::Result<()> {
        lab.setup.set_consent_policy("net2", false, false).await
    }

    /// A consent of the patient for I's doctor's network.
    fn terms(&self, id: &str) -> ConsentTerms {
        let now = now_unix_ms();
        ConsentTerms {
            consent_id: id.into(),
            status: ConsentStatus::Active,
            patient_ref: self.patient.key(),
            start_ms: now - DAY_MS,
            end_ms: now + DAY_MS,
            recipients: vec![Recipient::Network("net1".into())],
            purposes: vec!["PURPOSE_TREATMENT".into()],
            categories: Vec::new(),
        }
    }

    async fn put(&self, terms: &ConsentTerms) -> anyhow::Result<()> {
        self.admin
            .put_consent(terms.to_fhir().to_string().as_bytes())
            .await
            .with_context(|| format!("storing consent {}", terms.consent_id))?;
        Ok(())
    }

    fn history(&self, purpose: Purpose, categories: &[&str]) -> HistoryRequest {
        HistoryRequest {
            patient_ref: self.patient,
            destination_network: "net2".into(),
            categories: categories.iter().map(|c| c.to_string()).collect(),
            purpose,
        }
    }

    /// II's audit entries about the patient, once one concerns
    /// `request_id` with `kind` (II's org1 peer may lag the relay's by a
    /// block).
    async fn trail_with(
        &self,
        request_id: &str,
        kind: AuditKind,
    ) -> anyhow::Result<Vec<AuditEntry>> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        loop {
            let trail = self
                .admin
                .admin()
                .patient_audit_trail(&self.patient)
                .await?;
            let found = trail
                .iter()
                .any(|e| e.kind == kind && e.request_id.as_deref() == Some(request_id));
            if found || tokio::time::Instant::now() >= deadline {
                return Ok(trail);
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }

    /// The request is refused for want of consent: its reason on I says
    /// NO_CONSENT, II audited the refusal and disclosed nothing.
    async fn expect_refused(
        &self,
        lab: &Lab<'_>,
        evidence: &mut Evidence,
        history: &HistoryRequest,
        label: &str,
    ) -> anyhow::Result<()> {
        let requested = lab.doctor.request_history(history, lab.timeout).await?;
        let request_id = requested.pending.request_id().to_owned();
        self.check_refused(lab, evidence, &request_id, &requested.outcome, label)
            .await
    }

    async fn check_refused(
        &self,
        lab: &Lab<'_>,
        evidence: &mut Evidence,
        request_id: &str,
        outcome: &HistoryOutcome,
        label: &str,
    ) -> anyhow::Result<()> {
        let reason = match outcome {
            HistoryOutcome::Refused { reason, .. } => reason.clone().unwrap_or_default(),
            other => format!("{other:?}"),
        };
        evidence.check(
            matches!(outcome, HistoryOutcome::Refused { .. }) && reason.contains("[NO_CONSENT]"),
            format!("{label}: refused on I with {reason:?}"),
        );
        let status = lab.doctor.request_status(request_id).await?;
        let empty = status
            .reply
            .as_ref()
            .is_none_or(|r| r.record_ids.is_empty());
        evidence.check(
            status.status == RequestStatus::Failed && empty,
            format!(
                "{label}: I's entry {:?} with {} record(s)",
                status.status,
                status.reply.map_or(0, |r| r.record_ids.len())
            ),
        );
        let trail = self.trail_with(request_id, AuditKind::Refusal).await?;
        let of_request = |kind: AuditKind| {
            trail
                .iter()
                .filter(|e| e.kind == kind && e.request_id.as_deref() == Some(request_id))
                .count()
        };
        evidence.check(
            of_request(AuditKind::Refusal) == 1 && of_request(AuditKind::Disclosure) == 0,
            format!(
                "{label}: II's audit holds {} refusal and {} disclosure entries for it",
                of_request(AuditKind::Refusal),
                of_request(AuditKind::Disclosure)
            ),
        );
        Ok(())
    }

    /// The request is answered with records; II's disclosure entry names
    /// `consent` (or break-glass when `None`).
    async fn expect_disclosed(
        &mut self,
        lab: &Lab<'_>,
        evidence: &mut Evidence,
        history: &HistoryRequest,
        consent: Option<&str>,
    ) -> anyhow::Result<String> {
        let requested = lab.doctor.request_history(history, lab.timeout).await?;
        let request_id = requested.pending.request_id().to_owned();
        let ready = requested.outcome == HistoryOutcome::ReplyReady;
        evidence.check(ready, format!("outcome {:?}", requested.outcome));
        if !ready {
            return Ok(request_id);
        }
        let reply = lab.doctor.read_reply(&requested.pending.reply_key).await?;
        evidence.check(
            !reply.records.is_empty(),
            format!("{} record(s) received and verified", reply.records.len()),
        );
        let trail = self.trail_with(&request_id, AuditKind::Disclosure).await?;
        let entry = trail.iter().find(|e| {
            e.kind == AuditKind::Disclosure && e.request_id.as_deref() == Some(&request_id)
        });
        let mark = entry.and_then(|e| e.disclosed.clone());
        evidence.check(
            mark.as_ref().is_some_and(|m| {
                m.consent_id.as_deref() == consent
                    && m.break_glass == consent.is_none()
                    && m.requester_code == REQUESTER_CODE
            }),
            format!("II's disclosure entry is marked {mark:?}"),
        );
        self.disclosed
            .push((request_id.clone(), consent.map(str::to_owned)));
        Ok(request_id)
    }
}

/// A request for treatment, of every category, refused for want of
/// consent (`label` names the case).
async fn treatment_refused(
    lab: &Lab<'_>,
    consent: &ConsentLab,
    label: &str,
) -> anyhow::Result<Evidence> {
    let mut evidence = Evidence::default();
    let history = consent.history(Purpose::Treatment, &[]);
    consent
        .expect_refused(lab, &mut evidence, &history, label)
        .await?;
    Ok(evidence)
}

/// No consent: refused with the reason, nothing disclosed.
pub async fn none(lab: &Lab<'_>, consent: &ConsentLab) -> anyhow::Result<Evidence> {
    treatment_refused(lab, consent, "no consent").await
}

/// A consent whose period has ended: refused.
pub async fn expired(lab: &Lab<'_>, consent: &ConsentLab) -> anyhow::Result<Evidence> {
    let mut terms = consent.terms("expired");
    terms.start_ms -= 30 * DAY_MS;
    terms.end_ms = now_unix_ms() - DAY_MS;
    consent.put(&terms).await?;
    treatment_refused(lab, consent, "expired consent").await
}

/// A consent revoked on II right after I validated the request (so while
/// it travels or waits for its reply): refused.
pub async fn revoked(lab: &Lab<'_>, consent: &ConsentLab) -> anyhow::Result<Evidence> {
    let mut evidence = Evidence::default();
    consent.put(&consent.terms("revoked")).await?;
    let history = consent.history(Purpose::Treatment, &[]);
    let (pending, _) = lab.doctor.submit_request(&history).await?;
    consent
        .admin
        .revoke_consent(&consent.patient.key(), "revoked")
        .await?;
    let listed = consent.admin.list_consents(&consent.patient.key()).await?;
    evidence.check(
        listed.iter().any(|c| {
            c.terms.consent_id == "revoked"
                && c.terms.status == ConsentStatus::Inactive
                && c.revoked_at_ms.is_some()
        }),
        "consent revoked on II after the request was validated on I",
    );
    let outcome = lab.doctor.await_outcome(&pending, lab.timeout).await?;
    consent
        .check_refused(
            lab,
            &mut evidence,
            pending.request_id(),
            &outcome,
            "revoked in flight",
        )
        .await?;
    Ok(evidence)
}

/// A consent for referrals only, and one for conditions only: a
/// treatment request for conditions and observations is refused (not
/// filtered); the consent for its purpose and every category then allows
/// it.
pub async fn other_purpose_or_category(
    lab: &Lab<'_>,
    consent: &mut ConsentLab,
) -> anyhow::Result<Evidence> {
    let mut evidence = Evidence::default();
    let mut referral = consent.terms("referral-only");
    referral.purposes = vec!["PURPOSE_REFERRAL".into()];
    consent.put(&referral).await?;
    let mut conditions = consent.terms("conditions-only");
    conditions.categories = vec!["Condition".into()];
    consent.put(&conditions).await?;
    let history = consent.history(Purpose::Treatment, &["Condition", "Observation"]);
    consent
        .expect_refused(lab, &mut evidence, &history, "other purpose or category")
        .await?;
    consent.put(&consent.terms("treatment")).await?;
    consent
        .expect_disclosed(lab, &mut evidence, &history, Some("treatment"))
        .await?;
    Ok(evidence)
}

/// An emergency with no consent for it, II's policy allowing break-glass:
/// disclosed, marked, a security entry and a `BreakGlass` event.
pub async fn break_glass(lab: &Lab<'_>, consent: &mut ConsentLab) -> anyhow::Result<Evidence> {
    let mut evidence = Evidence::default();
    let history = consent.history(Purpose::Emergency, &[]);
    let request_id = consent
        .expect_disclosed(lab, &mut evidence, &history, None)
        .await?;
    let security = consent
        .admin
        .admin()
        .audit_trail(ehrx_client::ehr::interface::AuditSubject::Security)
        .await?;
    evidence.check(
        security.iter().any(|e| {
            e.kind == AuditKind::BreakGlass && e.request_id.as_deref() == Some(&request_id)
        }),
        "a break_glass entry in II's security trail",
    );
    let raised = break_glass_event(&consent.admin, &request_id).await?;
    evidence.check(raised, "a BreakGlass event for it on II's channel");
    evidence.fact(format!("purpose {EMERGENCY_PURPOSE}"));
    Ok(evidence)
}

/// Whether II's channel carries a `BreakGlass` event for `request_id`.
async fn break_glass_event(client: &EhrClient, request_id: &str) -> anyhow::Result<bool> {
    let events = client
        .network()
        .chaincode_events(client.settings().chaincode.clone())
        .start_block(0)
        .build();
    let mut stream = events.events().await?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while let Ok(Some(next)) = tokio::time::timeout_at(deadline, stream.next()).await {
        let event = next?;
        if event.event_name != event::BREAK_GLASS {
            continue;
        }
        // Like ReplyReady, it names the request only (no exchange
        // metadata in blocks).
        if event.payload == request_id.as_bytes() {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The patient's accounting of disclosures lists exactly the rows'
/// disclosures, each with its basis, in the three forms.
pub async fn report(consent: &ConsentLab) -> anyhow::Result<Evidence> {
    let mut evidence = Evidence::default();
    let report = consent.admin.disclosures(&consent.patient.key()).await?;
    let listed: Vec<(String, Option<String>)> = report
        .disclosures
        .iter()
        .map(|d| {
            (
                d.request_id.clone(),
                if d.break_glass {
                    None
                } else {
                    d.consent_id.clone()
                },
            )
        })
        .collect();
    evidence.check(
        listed == consent.disclosed,
        format!(
            "the report lists {listed:?}; the rows disclosed {:?}",
            consent.disclosed
        ),
    );
    let text = report.to_text();
    let html = report.to_html();
    let bundle = report.to_fhir();
    evidence.check(
        consent
            .disclosed
            .iter()
            .all(|(id, _)| text.contains(id.as_str()) && html.contains(id.as_str())),
        "text and HTML name every disclosed request",
    );
    evidence.check(
        bundle["resourceType"] == "Bundle"
            && bundle["total"] == consent.disclosed.len()
            && bundle["entry"].as_array().is_some_and(|e| {
                e.iter()
                    .all(|e| e["resource"]["resourceType"] == "AuditEvent")
            }),
        format!("a FHIR Bundle of {} AuditEvent(s)", bundle["total"]),
    );
    evidence.fact(format!(
        "patient {}",
        Key32::new(*consent.patient.as_bytes())
    ));
    Ok(evidence)
}
