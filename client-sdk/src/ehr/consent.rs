//! Patient consent and the accounting of disclosures, as an org admin or a
//! registered consent manager sees them.
//!
//! A consent is a FHIR R4 `Consent` resource ([`ConsentTerms`] reads and
//! writes it); it is checked here with the contract's own reader before a
//! transaction is spent, and travels in the transient map, so no block
//! carries it. [`Disclosures`] is a patient's accounting of disclosures,
//! built from the ledger's audit entries only, as text, HTML or a FHIR
//! `Bundle` of `AuditEvent` resources.

use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use super::{
    EhrClient,
    error::{Error, parse_result},
    interface::{
        AuditEntry, AuditKind, Changed, Key32,
        consent::{ConsentEntry, ConsentReceipt, ConsentRevocation, ConsentTerms},
        function,
        names::CONSENT_TRANSIENT,
    },
    peer_lag::retry_unwritten,
    render::{dates::rfc3339_unix_ms, escape},
};

impl EhrClient {
    /// Stores (or replaces, by id) a patient's consent given as a FHIR R4
    /// `Consent` resource; checked here first with the contract's reader.
    /// Returns the terms stored and the contract's receipt.
    pub async fn put_consent(
        &self,
        resource: &[u8],
    ) -> Result<(ConsentTerms, ConsentReceipt), Error> {
        let terms = ConsentTerms::from_fhir(resource).map_err(Error::Consent)?;
        let receipt = self
            .consent_call(function::PUT_CONSENT, resource.to_vec())
            .await?;
        Ok((terms, receipt))
    }

    /// Revokes a patient's consent: inactive from the revoking
    /// transaction on.
    pub async fn revoke_consent(
        &self,
        patient_ref: &Key32,
        consent_id: &str,
    ) -> Result<ConsentReceipt, Error> {
        let revocation = ConsentRevocation {
            patient_ref: *patient_ref,
            consent_id: consent_id.to_owned(),
        };
        let bytes = serde_json::to_vec(&revocation)
            .map_err(|e| Error::unexpected(function::REVOKE_CONSENT, e))?;
        self.consent_call(function::REVOKE_CONSENT, bytes).await
    }

    /// A patient's consents on this network, revoked ones too.
    pub async fn list_consents(&self, patient_ref: &Key32) -> Result<Vec<ConsentEntry>, Error> {
        let result = self
            .contract()
            .evaluate(function::LIST_CONSENTS, [patient_ref.to_hex()])
            .await?;
        parse_result(function::LIST_CONSENTS, &result)
    }

    /// `function` with `payload` in the transient map, endorsed by every
    /// organisation (the consent is private data), committed once the
    /// endorsers' receipt names the hash of exactly what was sent. Endorsed
    /// again, as uploads are, when nothing was written: a lost conflict
    /// (another change to the patient's consents in the same block) or an
    /// endorser a block behind.
    async fn consent_call(
        &self,
        function: &'static str,
        payload: Vec<u8>,
    ) -> Result<ConsentReceipt, Error> {
        let sent: [u8; 32] = Sha256::digest(&payload).into();
        retry_unwritten(&sent, || self.consent_once(function, &payload, &sent)).await
    }

    /// One attempt of [`Self::consent_call`].
    async fn consent_once(
        &self,
        function: &'static str,
        payload: &[u8],
        sent: &[u8; 32],
    ) -> Result<ConsentReceipt, Error> {
        let transaction = self
            .contract()
            .proposal(function)
            .transient(CONSENT_TRANSIENT, payload.to_vec())
            .endorsing_organizations(self.settings().organizations.iter().cloned())
            .build()?
            .endorse()
            .await?;
        let changed: Changed<ConsentReceipt> = parse_result(function, transaction.result())?;
        if changed.value.sha256.bytes() != sent {
            return Err(Error::unexpected(
                function,
                format!(
                    "the endorsers read {}, not the {} sent",
                    changed.value.sha256,
                    Key32::new(*sent)
                ),
            ));
        }
        transaction.submit().await?.status().await?.into_result()?;
        Ok(changed.value)
    }

    /// The patient's accounting of disclosures on this network, from the
    /// ledger's audit entries (an org admin's call).
    pub async fn disclosures(&self, patient_ref: &Key32) -> Result<Disclosures, Error> {
        let patient = super::PatientRef::from_bytes(*patient_ref.bytes());
        let trail = self.admin().patient_audit_trail(&patient).await?;
        Ok(Disclosures::from_trail(patient_ref, &trail))
    }
}

/// One disclosure of a patient's records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disclosure {
    /// When, Unix milliseconds of transaction time.
    pub at_ms: i64,
    /// The request it answered.
    pub request_id: String,
    /// The receiving network.
    pub network: String,
    /// The requester's code there (empty for entries older than consent).
    pub requester_code: String,
    /// The request's purpose (empty for entries older than consent).
    pub purpose: String,
    /// The records disclosed.
    pub record_ids: Vec<String>,
    /// The consent that permitted it.
    pub consent_id: Option<String>,
    /// Whether it was a break-glass disclosure.
    pub break_glass: bool,
    /// The transaction.
    pub tx_id: String,
    /// Who submitted the reply: MSP.
    pub responder_msp_id: String,
}

impl Disclosure {
    /// What allowed it, for people.
    pub fn basis(&self) -> String {
        match (&self.consent_id, self.break_glass) {
            (_, true) => "BREAK-GLASS (emergency, no consent)".to_owned(),
            (Some(id), false) => format!("consent {id}"),
            (None, false) => "consent not required by the network".to_owned(),
        }
    }
}

/// A patient's accounting of disclosures on one network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disclosures {
    /// The patient.
    pub patient_ref: Key32,
    /// Every disclosure, oldest first.
    pub disclosures: Vec<Disclosure>,
}

impl Disclosures {
    /// The disclosures among a patient's audit entries (refusals, reads
    /// and consent changes are not disclosures).
    pub fn from_trail(patient_ref: &Key32, trail: &[AuditEntry]) -> Self {
        let disclosures = trail
            .iter()
            .filter(|entry| entry.kind == AuditKind::Disclosure)
            .map(|entry| {
                let disclosed = entry.disclosed.clone();
                Disclosure {
                    at_ms: entry.at_ms,
                    request_id: entry.request_id.clone().unwrap_or_default(),
                    network: entry.network.clone().unwrap_or_default(),
                    requester_code: disclosed
                        .as_ref()
                        .map(|d| d.requester_code.clone())
                        .unwrap_or_default(),
                    purpose: disclosed
                        .as_ref()
                        .map(|d| d.purpose.clone())
                        .unwrap_or_default(),
                    record_ids: entry.record_ids.clone(),
                    consent_id: disclosed.as_ref().and_then(|d| d.consent_id.clone()),
                    break_glass: disclosed.as_ref().is_some_and(|d| d.break_glass),
                    tx_id: entry.tx_id.clone(),
                    responder_msp_id: entry.actor_msp_id.clone(),
                }
            })
            .collect();
        Self {
            patient_ref: *patient_ref,
            disclosures,
        }
    }

    /// A plain-text report, one block per disclosure.
    pub fn to_text(&self) -> String {
        let mut out = format!(
            "Accounting of disclosures for patient {}: {} disclosure(s)\n",
            self.patient_ref,
            self.disclosures.len()
        );
        for d in &self.disclosures {
            out.push_str(&format!(
                "\n{}  to {} / {}  purpose {}\n  basis: {}\n  request {}  tx {}\n  records ({}): {}\n",
                rfc3339_unix_ms(d.at_ms),
                d.network,
                d.requester_code,
                d.purpose,
                d.basis(),
                d.request_id,
                d.tx_id,
                d.record_ids.len(),
                d.record_ids.join(", ")
            ));
        }
        out
    }

    /// A standalone HTML page with one table row per disclosure.
    pub fn to_html(&self) -> String {
        let rows: String = self
            .disclosures
            .iter()
            .map(|d| {
                format!(
                    "<tr{}><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                    if d.break_glass { " class=\"break-glass\"" } else { "" },
                    escape(&rfc3339_unix_ms(d.at_ms)),
                    escape(&d.network),
                    escape(&d.requester_code),
                    escape(&d.purpose),
                    escape(&d.basis()),
                    escape(&d.record_ids.join(", ")),
                    escape(&d.request_id),
                )
            })
            .collect();
        format!(
            "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Accounting of disclosures</title>\
             <style>table{{border-collapse:collapse}}td,th{{border:1px solid #999;padding:4px}}\
             .break-glass{{background:#fdd}}</style></head><body>\n\
             <h1>Accounting of disclosures</h1>\n<p>Patient {}: {} disclosure(s)</p>\n\
             <table><tr><th>Date</th><th>Recipient network</th><th>Requester</th><th>Purpose</th>\
             <th>Basis</th><th>Records</th><th>Request</th></tr>\n{rows}</table></body></html>\n",
            self.patient_ref,
            self.disclosures.len()
        )
    }

    /// A FHIR R4 `Bundle` (type `collection`) of one `AuditEvent` per
    /// disclosure: DICOM "Export" (110106) events with the recipient as a
    /// non-requestor agent, the purpose of use, the patient and each record
    /// as entities, and break-glass as the `BTG` purpose.
    pub fn to_fhir(&self) -> Value {
        let entries: Vec<Value> = self
            .disclosures
            .iter()
            .map(|d| {
                let mut purposes = vec![json!({"coding": [{"system": "urn:ehrx:purpose", "code": d.purpose}]})];
                if d.break_glass {
                    purposes.push(json!({"coding": [{
                        "system": "http://terminology.hl7.org/CodeSystem/v3-ActReason",
                        "code": "BTG", "display": "break the glass"}]}));
                }
                let mut entities = vec![json!({
                    "what": {"identifier": {"system": "urn:ehrx:patient-ref", "value": self.patient_ref.to_hex()}},
                    "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-entity-type", "code": "1", "display": "Person"},
                    "role": {"system": "http://terminology.hl7.org/CodeSystem/object-role", "code": "1", "display": "Patient"}
                })];
                entities.extend(d.record_ids.iter().map(|id| {
                    json!({
                        "what": {"reference": id},
                        "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-entity-type", "code": "2", "display": "System Object"}
                    })
                }));
                if let Some(consent) = &d.consent_id {
                    entities.push(json!({
                        "what": {"identifier": {"system": "urn:ehrx:consent", "value": consent}},
                        "type": {"system": "http://hl7.org/fhir/resource-types", "code": "Consent"}
                    }));
                }
                json!({
                    "fullUrl": format!("urn:uuid:{}", d.request_id),
                    "resource": {
                        "resourceType": "AuditEvent",
                        "type": {"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "110106", "display": "Export"},
                        "action": "R",
                        "recorded": rfc3339_unix_ms(d.at_ms),
                        "outcome": "0",
                        "purposeOfEvent": purposes,
                        "agent": [
                            {"who": {"identifier": {"system": "urn:ehrx:msp", "value": d.responder_msp_id}}, "requestor": false},
                            {"who": {"identifier": {"system": "urn:ehrx:requester", "value": format!("{}/{}", d.network, d.requester_code)}}, "requestor": true}
                        ],
                        "source": {"observer": {"identifier": {"system": "urn:ehrx:transaction", "value": d.tx_id}}},
                        "entity": entities
                    }
                })
            })
            .collect();
        json!({"resourceType": "Bundle", "type": "collection", "total": entries.len(), "entry": entries})
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ehr::interface::Disclosed;

    fn entry(kind: AuditKind, at_ms: i64, disclosed: Option<Disclosed>) -> AuditEntry {
        AuditEntry {
            kind,
            subject: "07".repeat(32),
            request_id: Some(format!("req-{at_ms}")),
            record_ids: vec!["Condition/c1".into(), "Observation/<o>".into()],
            network: Some("net1".into()),
            actor_msp_id: "Net2Org1MSP".into(),
            actor_id: "x509::responder".into(),
            detail: "d".into(),
            at_ms,
            tx_id: format!("tx{at_ms}"),
            disclosed,
        }
    }

    fn report() -> Disclosures {
        let mark = |consent: Option<&str>, break_glass: bool| {
            Some(Disclosed {
                requester_code: "DR-1".into(),
                purpose: "PURPOSE_TREATMENT".into(),
                consent_id: consent.map(str::to_owned),
                break_glass,
            })
        };
        let trail = vec![
            entry(AuditKind::RecordStored, 1, None),
            entry(
                AuditKind::Disclosure,
                1_700_000_000_000,
                mark(Some("c-1"), false),
            ),
            entry(AuditKind::Refusal, 3, None),
            entry(AuditKind::ConsentRevoked, 4, None),
            entry(AuditKind::Disclosure, 1_700_000_100_000, mark(None, true)),
        ];
        Disclosures::from_trail(&Key32::new([7; 32]), &trail)
    }

    #[test]
    fn only_disclosures_are_listed_with_their_basis() {
        let report = report();
        assert_eq!(report.disclosures.len(), 2);
        assert_eq!(report.disclosures[0].basis(), "consent c-1");
        assert!(report.disclosures[1].basis().contains("BREAK-GLASS"));
        let text = report.to_text();
        assert!(text.contains("2 disclosure(s)"), "{text}");
        assert!(text.contains("2023-11-14T22:13:20"), "{text}");
        assert!(text.contains("to net1 / DR-1"), "{text}");
        let html = report.to_html();
        assert!(html.contains("Observation/&lt;o&gt;"), "escaped: {html}");
        assert!(html.contains("class=\"break-glass\""));
        assert_eq!(html.matches("<tr").count(), 3);
    }

    #[test]
    fn the_fhir_report_is_a_bundle_of_audit_events() {
        let bundle = report().to_fhir();
        assert_eq!(bundle["resourceType"], "Bundle");
        assert_eq!(bundle["total"], 2);
        let events = bundle["entry"].as_array().unwrap();
        for event in events {
            assert_eq!(event["resource"]["resourceType"], "AuditEvent");
            assert_eq!(
                event["resource"]["entity"][0]["what"]["identifier"]["value"],
                "07".repeat(32)
            );
        }
        let first = &events[0]["resource"];
        assert_eq!(
            first["entity"].as_array().unwrap().len(),
            4,
            "patient, 2 records, consent"
        );
        assert_eq!(first["agent"][1]["who"]["identifier"]["value"], "net1/DR-1");
        let second = &events[1]["resource"];
        assert_eq!(second["purposeOfEvent"][1]["coding"][0]["code"], "BTG");
        assert_eq!(
            Disclosures::from_trail(&Key32::new([1; 32]), &[]).to_fhir()["total"],
            0
        );
    }
}
