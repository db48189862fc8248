//! The experiment's scenarios on the two running networks. Each one acts as
//! a doctor, an outsider, an insider or a hostile network would, then looks
//! at the ledger for the evidence (outcomes, chain heights, request states,
//! audit entries) and reports what it saw; a scenario never panics, and an
//! error it hits becomes a failed row.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use ed25519_dalek::SigningKey;
use prost::Message as _;
use serde_json::json;

use ehrx_client::ehr::interface::OutcomeKind;
use ehrx_client::ehr::interface::{self, ErrorCode, error_code, function};
use ehrx_client::ehr::replies::{decode_signed_reply, verify_reply};
use ehrx_client::ehr::{
    ClinicalSummary, EhrClient, Error as EhrError, HistoryOutcome, HistoryRequest, PatientRef,
    Provenance, ReplyError, ReplyKey, RequestStatus, RequesterKey, UploadedRecord,
    render::dates::now_unix_ms,
};
use ehrx_client::fabric::{self, Contract, Gateway, Identity, SigningIdentity};
use ehrx_proto::exchange::forwarded_envelope::Payload;
use ehrx_proto::exchange::{Purpose, Reply, SignedReply};

use super::report::ExchangeSample;
use ehrx_lab::exchange::{
    ExchangeSetup, network_signing_key, org, received_digests, uploaded_digests, wait_for_peers,
};
use ehrx_lab::forge::{
    I_TO_II, UserKeys, attested, audit_kinds, audit_trail, fresh_request_id, height,
    request_status, signed_refusal, signed_request, user_keys,
};
use ehrx_lab::measure::millis;

/// What a scenario is expected to show, before it runs.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Scenario {
    pub id: &'static str,
    pub title: &'static str,
    pub group: &'static str,
    pub expected: &'static str,
}

const EXCHANGE: &str = "the exchange";
const SECURITY: &str = "security analysis";
const FUTURE: &str = "future work";
const TRUST: &str = "trust across networks";
const CONSENT: &str = "patient consent";
const LEDGER: &str = "the ledger";

/// The scenarios in report order (they run in another order, see `run`).
pub const SCENARIOS: [Scenario; 30] = [
    Scenario {
        id: "exchange",
        title: "a doctor on I requests a patient's history from II and reads it",
        group: EXCHANGE,
        expected: "reply ready on I; every record uploaded on II received, decrypted and hash-checked; a clinical summary",
    },
    Scenario {
        id: "outsider",
        title: "an outsider (a CA not part of I) submits a well-formed request",
        group: SECURITY,
        expected: "refused by I; no request stored; chain height unchanged",
    },
    Scenario {
        id: "insider_flagged",
        title: "an insider repeats requests beyond the rate limit",
        group: SECURITY,
        expected: "requests up to the limit validated; the next one flags the requester (a committed security event); later ones dropped with nothing written",
    },
    Scenario {
        id: "other_user_reads",
        title: "another user of I tries to read the doctor's reply",
        group: SECURITY,
        expected: "refused; the attempt is audited",
    },
    Scenario {
        id: "forged_attestation",
        title: "a request forged at II with a bad network attestation",
        group: FUTURE,
        expected: "refused by II; nothing stored; chain height unchanged",
    },
    Scenario {
        id: "replay",
        title: "a request id replayed (other bytes; then the same envelope again)",
        group: FUTURE,
        expected: "other bytes refused with nothing written; the same envelope returns the stored outcome, accepted exactly once",
    },
    Scenario {
        id: "reply_never_requested",
        title: "a reply to a request never sent",
        group: FUTURE,
        expected: "refused by I; nothing stored; chain height unchanged",
    },
    Scenario {
        id: "reply_wrong_network",
        title: "a reply from a network other than the destination",
        group: FUTURE,
        expected: "refused by I (from III in its own name, and attested with III's key in II's name); the request stays open",
    },
    Scenario {
        id: "tampered_reply",
        title: "a sealed reply tampered with in transit",
        group: FUTURE,
        expected: "detected by the requester: the signature fails; re-signed, the sealed records do not open",
    },
    Scenario {
        id: "stolen_relay_request",
        title: "a thief with relay I's network key and TLS files forges a request never submitted on I and delivers it to II's relay",
        group: TRUST,
        expected: "refused by II with no proof and with a proof by peers the thief minted (BAD_PROOF); no request stored on II; chain height of II unchanged after the thief's challenge",
    },
    Scenario {
        id: "one_org_request_proof",
        title: "a request validated on I, proven by the peers of one of I's two organisations (II's policy for I: all)",
        group: TRUST,
        expected: "refused by II (BAD_PROOF); nothing stored; chain height unchanged; the challenge is not used up: the proof of both organisations is then accepted",
    },
    Scenario {
        id: "wrong_request_proof",
        title: "a proof by I's peers for a different request, or for other bytes under the same request id",
        group: TRUST,
        expected: "refused by II (BAD_PROOF); I's peers will not prove a hash they did not validate (BAD_ARGUMENT); nothing stored; chain height unchanged",
    },
    Scenario {
        id: "replayed_request_proof",
        title: "a request proof replayed: reused after it was accepted once, re-endorsed for its used-up challenge, or for a nonce never issued",
        group: TRUST,
        expected: "refused by II (BAD_CHALLENGE); nothing stored; chain height unchanged; the accepted delivery again returns its stored outcome, accepted once",
    },
    Scenario {
        id: "unregistered_ca_request_proof",
        title: "a request validated on I, with a proof signed by peers of a CA not registered for I",
        group: TRUST,
        expected: "refused by II (BAD_PROOF); nothing stored; chain height unchanged; I's registered peers' proof for the same challenge is then accepted",
    },
    Scenario {
        id: "stolen_relay_reply",
        title: "a thief with relay II's network key and TLS files forges a reply to an open request of I and delivers it to I's relay",
        group: TRUST,
        expected: "refused by I with no proof and with a proof by peers the thief minted (BAD_PROOF); the request stays open with no reply; chain height of I unchanged after the thief's challenge",
    },
    Scenario {
        id: "one_org_reply_proof",
        title: "a reply stored on II, proven by the peers of one of II's two organisations (I's policy for II: all)",
        group: TRUST,
        expected: "refused by I (BAD_PROOF); the request stays open; chain height unchanged; the proof of both organisations is then taken",
    },
    Scenario {
        id: "wrong_reply_proof",
        title: "a proof by II's peers for the reply to a different request, or for other reply bytes",
        group: TRUST,
        expected: "refused by I (BAD_PROOF); II's peers will not prove a hash they did not store (BAD_ARGUMENT); the requests stay open; chain height unchanged",
    },
    Scenario {
        id: "replayed_reply_proof",
        title: "a reply proof replayed: reused after it was accepted once, re-endorsed for its used-up challenge, or for a nonce never issued",
        group: TRUST,
        expected: "refused by I (BAD_CHALLENGE); the other request stays open; chain height unchanged; the accepted delivery again returns its stored outcome, received once",
    },
    Scenario {
        id: "unregistered_ca_reply_proof",
        title: "a reply stored on II, with a proof signed by peers of a CA not registered for II",
        group: TRUST,
        expected: "refused by I (BAD_PROOF); the request stays open; chain height unchanged; II's registered peers' proof for the same challenge is then taken",
    },
    Scenario {
        id: "rotation",
        title: "II rotates I's CA roots in its lookup table with a grace (I's peers still on the old CA)",
        group: TRUST,
        expected: "a request proven inside the grace is accepted; after the stated cut-over refused (BAD_PROOF), nothing stored, chain height unchanged; with I's roots put back it is accepted",
    },
    Scenario {
        id: "live_join",
        title: "network III joins while I and II run, set up through the admin API; the running relays reload their configuration",
        group: TRUST,
        expected: "no node or relay of I or II restarted; I→III and III→II exchanges complete with every record verified",
    },
    Scenario {
        id: "consent_none",
        title: "II requires consent; a doctor on I requests a patient who gave none",
        group: CONSENT,
        expected: "refused with the reason ([NO_CONSENT]); I's request failed with no record; II audited a refusal and no disclosure",
    },
    Scenario {
        id: "consent_expired",
        title: "the patient's only consent has expired",
        group: CONSENT,
        expected: "refused ([NO_CONSENT]); II audited a refusal and no disclosure",
    },
    Scenario {
        id: "consent_revoked",
        title: "the consent is revoked on II right after I validated the request",
        group: CONSENT,
        expected: "refused ([NO_CONSENT]); II audited a refusal and no disclosure",
    },
    Scenario {
        id: "consent_other_purpose_category",
        title: "consents for referral only and for conditions only; a treatment request for conditions and observations",
        group: CONSENT,
        expected: "refused, not filtered ([NO_CONSENT]); with a consent for treatment and every category, disclosed and marked with its id",
    },
    Scenario {
        id: "break_glass",
        title: "an emergency request with no consent for it; II's policy allows break-glass",
        group: CONSENT,
        expected: "disclosed; the disclosure entry marked break-glass; a break_glass security entry; a BreakGlass event on II",
    },
    Scenario {
        id: "disclosure_report",
        title: "the patient's accounting of disclosures on II",
        group: CONSENT,
        expected: "exactly the two disclosures above, with consent id or break-glass; text, HTML and a FHIR AuditEvent Bundle",
    },
    Scenario {
        id: "no_metadata_in_blocks",
        title: "after every scenario, every block of I's, II's and III's channels read with qscc",
        group: LEDGER,
        expected: "no patient ref, requester code, record id or patient name in any block; the exchange's request id (the control) found",
    },
    Scenario {
        id: "response_time",
        title: "response time of back-to-back exchanges (request submitted → reply decrypted)",
        group: EXCHANGE,
        expected: "every timed exchange completes with a verified reply; p50/p95/p99 reported",
    },
    Scenario {
        id: "services",
        title: "relays and responders run throughout",
        group: EXCHANGE,
        expected: "no relay or responder failed; all stop cleanly",
    },
];

/// What a scenario saw: facts, and the checks that failed.
#[derive(Debug, Default)]
pub struct Evidence {
    facts: Vec<String>,
    failures: Vec<String>,
}

impl Evidence {
    /// Something observed.
    pub fn fact(&mut self, text: impl Into<String>) {
        self.facts.push(text.into());
    }

    /// A fact that must hold; recorded as a failure when it does not.
    pub fn check(&mut self, holds: bool, text: impl Into<String>) {
        let text = text.into();
        if holds {
            self.facts.push(text);
        } else {
            self.failures.push(text);
        }
    }

    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }

    /// The observed column: the facts, then what did not hold.
    pub fn observed(&self) -> String {
        let mut text = self.facts.join("; ");
        if !self.failures.is_empty() {
            if !text.is_empty() {
                text.push_str("; ");
            }
            text.push_str("NOT AS EXPECTED: ");
            text.push_str(&self.failures.join("; "));
        }
        text
    }
}

/// The first line of an error, shortened: enough to show why it was refused
/// (a refusal naming an identity spends ~200 characters on its name).
pub fn brief(error: &impl std::fmt::Display) -> String {
    let text = error.to_string();
    let line = text.lines().next().unwrap_or_default();
    if line.chars().count() > 320 {
        format!("{}…", line.chars().take(320).collect::<String>())
    } else {
        line.to_owned()
    }
}

/// The networks, identities and data the scenarios share.
#[derive(Debug)]
pub struct Lab<'a> {
    pub setup: ExchangeSetup<'a>,
    /// The registered doctor on network I.
    pub doctor: EhrClient,
    /// Patients stored on network II, with their records.
    pub patients: Vec<(PatientRef, Vec<UploadedRecord>)>,
    /// How long a request may take to be answered.
    pub timeout: Duration,
    /// Where the scenarios leave files (the rendered summary).
    pub out_dir: PathBuf,
    /// The reply the exchange scenario read, for the attacks on it.
    pub reply_key: Option<ReplyKey>,
}

impl Lab<'_> {
    pub(crate) fn history(&self, index: usize) -> anyhow::Result<HistoryRequest> {
        let (patient_ref, _) = self
            .patients
            .get(index % self.patients.len().max(1))
            .context("no patient was loaded on network II")?;
        Ok(HistoryRequest {
            patient_ref: *patient_ref,
            destination_network: self.setup.net2.name.clone(),
            categories: Vec::new(),
            purpose: Purpose::Treatment,
        })
    }

    fn reply_key(&self) -> anyhow::Result<&ReplyKey> {
        self.reply_key
            .as_ref()
            .context("no reply to work on: the exchange scenario did not complete")
    }

    pub(crate) async fn admin(&self, net: &str) -> anyhow::Result<Contract> {
        self.setup.contract_as(net, "Admin").await
    }

    /// The registered relay identity's view of `net`'s contract: forged
    /// envelopes enter through the same door a relay uses.
    pub(crate) async fn relay(&self, net: &str) -> anyhow::Result<Contract> {
        self.setup.contract_as(net, "User3").await
    }

    /// One timed exchange for patient `index`: submission to the verified,
    /// decrypted reply.
    pub async fn timed_exchange(&self, index: usize) -> anyhow::Result<ExchangeSample> {
        let history = self.history(index)?;
        let started = Instant::now();
        let requested = self.doctor.request_history(&history, self.timeout).await?;
        let ready = started.elapsed();
        if requested.outcome != HistoryOutcome::ReplyReady {
            anyhow::bail!(
                "request {} ended {:?}",
                requested.pending.request_id(),
                requested.outcome
            );
        }
        let reply = self.doctor.read_reply(&requested.pending.reply_key).await?;
        let total = started.elapsed();
        Ok(ExchangeSample {
            until_ready_ms: millis(ready),
            read_ms: millis(total - ready),
            total_ms: millis(total),
            records: reply.records.len(),
        })
    }
}

/// The doctor requests the first patient's history and reads it.
pub async fn exchange(lab: &mut Lab<'_>) -> anyhow::Result<Evidence> {
    let mut evidence = Evidence::default();
    let history = lab.history(0)?;
    let uploaded = &lab.patients[0].1;
    let started = Instant::now();
    let requested = lab.doctor.request_history(&history, lab.timeout).await?;
    let ready = requested.outcome == HistoryOutcome::ReplyReady;
    evidence.check(ready, format!("outcome {:?}", requested.outcome));
    if !ready {
        return Ok(evidence);
    }
    let reply = lab.doctor.read_reply(&requested.pending.reply_key).await?;
    evidence.fact(format!(
        "reply ready and read in {:.1} s",
        started.elapsed().as_secs_f64()
    ));
    evidence.check(
        reply.replying_network == "net2",
        format!("replied by {}", reply.replying_network),
    );
    let received = received_digests(&reply);
    let expected = uploaded_digests(uploaded);
    let intact = expected
        .iter()
        .filter(|(id, hash)| received.get(*id) == Some(hash))
        .count();
    evidence.check(
        received == expected,
        format!(
            "{intact} of {} uploaded records received, decrypted and SHA-256 checked ({} received)",
            expected.len(),
            received.len()
        ),
    );
    let summary = ClinicalSummary::from_resources(reply.resources());
    evidence.check(
        !summary.patients.is_empty()
            && !summary.conditions.is_empty()
            && !summary.observations.is_empty(),
        format!(
            "summary: {} patient, {} conditions, {} medications, {} allergies, {} observations, {} encounters",
            summary.patients.len(),
            summary.conditions.len(),
            summary.medications.len(),
            summary.allergies.len(),
            summary.observations.len(),
            summary.encounters.len()
        ),
    );
    let provenance = Provenance::from_reply(&reply, None, now_unix_ms());
    for (name, contents) in [
        (
            "exchange-summary.txt",
            summary.to_text_with_provenance(&provenance),
        ),
        (
            "exchange-summary.html",
            summary.to_html_with_provenance(&provenance),
        ),
    ] {
        let path = lab.out_dir.join(name);
        std::fs::write(&path, contents).with_context(|| format!("writing {}", path.display()))?;
    }
    lab.reply_key = Some(requested.pending.reply_key);
    Ok(evidence)
}

/// The genuine reply verifies; with one ciphertext bit flipped the
/// responder's signature fails, and re-signed by a genuine responder the
/// sealed records still do not open.
pub async fn tampered_reply(lab: &Lab<'_>) -> anyhow::Result<Evidence> {
    let mut evidence = Evidence::default();
    let key = lab.reply_key()?;
    let doctor = lab.setup.contract_as("net1", "User2").await?;
    doctor
        .submit(function::GET_REPLY, [&key.request_id])
        .await?;
    let got: serde_json::Value = serde_json::from_slice(
        &doctor
            .evaluate(function::GET_SIGNED_REPLY, [&key.request_id])
            .await?,
    )?;
    let genuine = decode_signed_reply(got["signed"].as_str().unwrap_or_default())?;
    evidence.check(
        verify_reply(&genuine, key).is_ok(),
        "the genuine reply verifies",
    );
    let mut reply = Reply::decode(genuine.reply.as_slice())?;
    let sealed = reply
        .sealed_records
        .as_mut()
        .context("the reply has no sealed records")?;
    let first = sealed
        .ciphertext
        .first_mut()
        .context("the sealed records are empty")?;
    *first ^= 0x01;
    let mut tampered = genuine.clone();
    tampered.reply = reply.encode_to_vec();
    let detected = verify_reply(&tampered, key);
    evidence.check(
        matches!(detected, Err(ReplyError::Signature(_))),
        format!("one bit flipped: {}", outcome_text(&detected)),
    );
    let responder = user_keys(org(lab.setup.net2, "org1")?, "User1")?;
    let resigned = SignedReply::sign(&reply, responder.creator, responder.signer.as_ref())?;
    let detected = verify_reply(&resigned, key);
    evidence.check(
        matches!(detected, Err(ReplyError::Decrypt(_))),
        format!("re-signed by a responder: {}", outcome_text(&detected)),
    );
    Ok(evidence)
}

fn outcome_text<T>(result: &Result<T, impl std::fmt::Display>) -> String {
    match result {
        Ok(_) => "accepted".into(),
        Err(error) => format!("detected ({})", brief(error)),
    }
}

/// "refused (<the peers' reason>)" for a failed gateway call: the reason a
/// peer or the contract gave, not the gateway's generic wrapper.
pub(crate) fn refusal_text<T>(result: &Result<T, fabric::Error>) -> String {
    match result {
        Ok(_) => "accepted".into(),
        Err(error) => format!("refused ({})", brief(&peer_reason(error))),
    }
}

/// The first endpoint's message of a failed call, or the error itself.
fn peer_reason(error: &fabric::Error) -> String {
    error
        .details()
        .first()
        .map(|detail| detail.message.clone())
        .unwrap_or_else(|| error.to_string())
}

/// As [`refusal_text`], for the EHR API's errors.
fn ehr_refusal_text<T>(result: &Result<T, EhrError>) -> String {
    match result {
        Ok(_) => "accepted".into(),
        Err(EhrError::Fabric(error)) => format!("refused ({})", brief(&peer_reason(error))),
        Err(other) => format!("refused ({})", brief(other)),
    }
}

/// Another user of network I asks for the doctor's reply.
pub async fn other_user_reads(lab: &Lab<'_>) -> anyhow::Result<Evidence> {
    let mut evidence = Evidence::default();
    let key = lab.reply_key()?;
    let nosy = lab.setup.client_as("User1").await?;
    let refused = nosy.read_reply(key).await;
    evidence.check(
        matches!(refused, Err(EhrError::Reply(ReplyError::Refused { .. }))),
        format!("User1 of Net1Org1MSP: {}", ehr_refusal_text(&refused)),
    );
    let admin = lab.admin("net1").await?;
    let patient = lab.history(0)?.patient_ref.to_hex();
    let trail = audit_trail(&admin, &patient).await?;
    let refusals: Vec<&serde_json::Value> = trail
        .iter()
        .filter(|e| e["kind"] == "retrieval_refused" && e["request_id"] == key.request_id.as_str())
        .collect();
    evidence.check(
        refusals.len() == 1
            && refusals[0]["actor_id"]
                .as_str()
                .is_some_and(|actor| actor.contains("User1@org1.net1")),
        format!(
            "{} retrieval_refused audit entry for the request, naming User1",
            refusals.len()
        ),
    );
    Ok(evidence)
}

/// An insider (a second registered requester) submits requests in a burst
/// under the design's default limit of one per minute.
pub async fn insider_flagged(lab: &Lab<'_>, limit: u32) -> anyhow::Result<Evidence> {
    let mut evidence = Evidence::default();
    lab.setup.set_rate_limit("net1", limit).await?;
    let insider = lab
        .setup
        .register_requester("org2", "User1", "DR-0002", RequesterKey::generate()?)
        .await?;
    let history = lab.history(1)?;
    let mut outcomes = Vec::new();
    for _ in 0..limit {
        let (_, submitted) = insider.submit_request(&history).await?;
        outcomes.push(format!("{:?}", submitted.outcome).to_lowercase());
        evidence.check(
            submitted.outcome == OutcomeKind::Validated,
            "within the limit: validated",
        );
    }
    let (_, flagged) = insider.submit_request(&history).await?;
    evidence.check(
        flagged.outcome == OutcomeKind::Rejected
            && flagged
                .reason
                .as_deref()
                .unwrap_or_default()
                .contains("flag"),
        format!(
            "request {} over the limit: {:?} ({})",
            limit + 1,
            flagged.outcome,
            flagged.reason.as_deref().unwrap_or("no reason")
        ),
    );
    // The flag committed first on the insider's own (org2's) peer; the
    // admin reads through org1's, which may commit it a moment later.
    let admin = lab.admin("net1").await?;
    let flags = || async {
        let kinds = audit_kinds(&admin, "security", None).await?;
        anyhow::Ok(kinds.iter().filter(|k| *k == "flagged").count())
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut flagged_events = flags().await?;
    while flagged_events == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
        flagged_events = flags().await?;
    }
    evidence.check(
        flagged_events == 1,
        format!("{flagged_events} 'flagged' security event committed"),
    );
    let before = height(lab.setup.net1)?;
    let dropped = insider.submit_request(&history).await;
    evidence.check(
        dropped.is_err(),
        format!("the next request: {}", ehr_refusal_text(&dropped)),
    );
    evidence.check(
        height(lab.setup.net1)? == before,
        "nothing committed for it",
    );
    Ok(evidence)
}

/// Network II's user submits a request on network I, as itself and with
/// its certificate under network I's MSP id.
pub async fn outsider(lab: &Lab<'_>) -> anyhow::Result<Evidence> {
    let mut evidence = Evidence::default();
    let (net1, net2) = (lab.setup.net1, lab.setup.net2);
    let admin = lab.admin("net1").await?;
    let outsider_org = org(net2, "org1")?;
    let outsider_keys = user_keys(outsider_org, "User1")?;
    let cert_path = &outsider_org.user("User1")?.cert;
    let outsider_cert =
        std::fs::read(cert_path).with_context(|| format!("reading {}", cert_path.display()))?;
    let peer = org(net1, "org1")?
        .peers
        .first()
        .context("network I's org1 has no peer")?;
    let history = lab.history(0)?;
    let encryption_key = *lab.setup.requester_key.public_key();
    let before = height(net1)?;
    for (msp_id, label) in [
        (outsider_org.msp_id.as_str(), "as Net2Org1MSP"),
        ("Net1Org1MSP", "posing as Net1Org1MSP"),
    ] {
        let identity = SigningIdentity::new(
            Identity::new(msp_id, outsider_cert.clone()),
            outsider_keys.signer.clone(),
        );
        let keys = UserKeys {
            signer: outsider_keys.signer.clone(),
            creator: identity.creator().to_vec(),
        };
        let gateway = Gateway::new(peer.connection()?.connect().await?, identity);
        let id = fresh_request_id();
        let request = signed_request(
            I_TO_II,
            &id,
            &history.patient_ref,
            &encryption_key,
            Purpose::Treatment,
            &keys,
        )?;
        let contract = gateway.network(&net1.channel).contract("ehrx");
        let submitted = interface::submit(&contract, function::SUBMIT_REQUEST, [request]).await;
        evidence.check(
            submitted.is_err(),
            format!("{label}: {}", refusal_text(&submitted)),
        );
        evidence.check(
            request_status(&admin, &id).await.is_err(),
            "no request stored",
        );
    }
    let after = height(net1)?;
    evidence.check(
        after == before,
        format!("chain height of I {before} → {after}"),
    );
    Ok(evidence)
}

/// The doctor's genuine request, attested by a key that is not network
/// I's, delivered to network II.
pub async fn forged_attestation(lab: &Lab<'_>) -> anyhow::Result<Evidence> {
    let doctor = user_keys(org(lab.setup.net1, "org1")?, "User2")?;
    let id = fresh_request_id();
    let forged = attested(
        Payload::SignedRequest(signed_request(
            I_TO_II,
            &id,
            &lab.history(0)?.patient_ref,
            lab.setup.requester_key.public_key(),
            Purpose::Treatment,
            &doctor,
        )?),
        "net1",
        &SigningKey::from_bytes(&[9; 32]),
    );
    refused_without_trace(
        lab,
        "net2",
        function::ACCEPT_REQUEST,
        &[&forged, b""],
        &id,
        "attestation",
    )
    .await
}

/// Delivers `envelope` to `net`'s contract as its relay would, and checks
/// that it is refused with `reason` in the peers' answer, that no request
/// `id` exists there, and that the chain did not grow: the evidence.
async fn refused_without_trace(
    lab: &Lab<'_>,
    net: &str,
    function: &str,
    args: &[&[u8]],
    id: &str,
    reason: &str,
) -> anyhow::Result<Evidence> {
    let mut evidence = Evidence::default();
    let network = lab.setup.net(net)?;
    let before = height(network)?;
    let refused = interface::submit(&lab.relay(net).await?, function, args).await;
    evidence.check(
        refused
            .as_ref()
            .is_err_and(|e| e.to_string().contains(reason)),
        format!("{function} on {net}: {}", refusal_text(&refused)),
    );
    evidence.check(
        request_status(&lab.admin(net).await?, id).await.is_err(),
        "no request stored",
    );
    let after = height(network)?;
    evidence.check(
        after == before,
        format!("chain height of {net} {before} → {after}"),
    );
    Ok(evidence)
}

/// A genuine delivery (validated on I, with I's proof), then its id again
/// with other bytes, then the identical envelope again.
pub async fn replay(lab: &Lab<'_>) -> anyhow::Result<Evidence> {
    let mut evidence = Evidence::default();
    let net2 = lab.setup.net2;
    let (relay, admin) = (lab.relay("net2").await?, lab.admin("net2").await?);
    let doctor = user_keys(org(lab.setup.net1, "org1")?, "User2")?;
    let net1_key = network_signing_key("net1")?;
    let patient = lab.history(0)?.patient_ref;
    let id = fresh_request_id();
    let envelope = |purpose| -> anyhow::Result<Vec<u8>> {
        Ok(attested(
            Payload::SignedRequest(signed_request(
                I_TO_II,
                &id,
                &patient,
                lab.setup.requester_key.public_key(),
                purpose,
                &doctor,
            )?),
            "net1",
            &net1_key,
        ))
    };
    // Network II takes only what network I's peers prove they validated.
    let signed = signed_request(
        I_TO_II,
        &id,
        &patient,
        lab.setup.requester_key.public_key(),
        Purpose::Treatment,
        &doctor,
    )?;
    let doctor = lab.setup.contract_as("net1", "User2").await?;
    let submitted = interface::submit(&doctor, function::SUBMIT_REQUEST, [&signed]).await?;
    wait_for_peers(lab.setup.net1, &submitted.status.transaction_id).await?;
    let proof = lab.setup.validation_proof("net1", "net2", &signed).await?;
    let genuine = attested(Payload::SignedRequest(signed), "net1", &net1_key);
    let first: serde_json::Value = serde_json::from_slice(
        &interface::submit(&relay, function::ACCEPT_REQUEST, [&genuine, &proof])
            .await?
            .result,
    )?;
    evidence.check(
        first["outcome"] == "accepted",
        format!("first delivery: {}", first["outcome"]),
    );
    let stored = request_status(&admin, &id).await?;
    let before = height(net2)?;
    let replayed = interface::submit(
        &relay,
        function::ACCEPT_REQUEST,
        [envelope(Purpose::Emergency)?, Vec::new()],
    )
    .await;
    evidence.check(
        replayed
            .as_ref()
            .is_err_and(|e| error_code(e) == Some(ErrorCode::Replay)),
        format!("same id, other bytes: {}", refusal_text(&replayed)),
    );
    evidence.check(height(net2)? == before, "nothing committed for it");
    // A resend needs no new proof: it learns the stored outcome only.
    let again: serde_json::Value = serde_json::from_slice(
        &interface::submit(&relay, function::ACCEPT_REQUEST, [&genuine, &Vec::new()])
            .await?
            .result,
    )?;
    evidence.check(
        again == first,
        "the same envelope again returns the stored outcome",
    );
    evidence.check(
        request_status(&admin, &id).await? == stored,
        "request state unchanged",
    );
    let accepted = audit_kinds(&admin, &patient.to_hex(), Some(&id)).await?;
    evidence.check(
        accepted == ["request_accepted"],
        format!("audit: {accepted:?}"),
    );
    Ok(evidence)
}

/// A reply, genuinely signed and attested by network II, to a request id
/// network I never sent.
pub async fn reply_never_requested(lab: &Lab<'_>) -> anyhow::Result<Evidence> {
    let id = fresh_request_id();
    let envelope = attested(
        Payload::SignedReply(signed_refusal(&id, "net2", org(lab.setup.net2, "org1")?)?),
        "net2",
        &network_signing_key("net2")?,
    );
    refused_without_trace(
        lab,
        "net1",
        function::ACCEPT_REPLY,
        &[&envelope, b""],
        &id,
        "does not exist",
    )
    .await
}

/// The doctor's open request to II is answered by network III, a genuine
/// lookup table entry of network I with its own key: in its own name, and
/// in II's name with its own key.
pub async fn reply_wrong_network(lab: &Lab<'_>) -> anyhow::Result<Evidence> {
    let mut evidence = Evidence::default();
    let net1 = lab.setup.net1;
    let (open, submitted) = lab.doctor.submit_request(&lab.history(0)?).await?;
    evidence.check(
        submitted.outcome == OutcomeKind::Validated,
        "the doctor's request to II is open",
    );
    let open_id = open.request_id().to_owned();
    let net3_key = SigningKey::from_bytes(&[3; 32]);
    lab.setup
        .admin_submit(
            "net1",
            function::PUT_REMOTE_NETWORK,
            json!({"network_id": "net3", "network_key": hex::encode(net3_key.verifying_key().as_bytes()), "status": "active"}),
        )
        .await?;
    let relay = lab.relay("net1").await?;
    let responder = org(lab.setup.net2, "org1")?;
    let before = height(net1)?;
    let from_net3 = attested(
        Payload::SignedReply(signed_refusal(&open_id, "net3", responder)?),
        "net3",
        &net3_key,
    );
    let refused =
        interface::submit(&relay, function::ACCEPT_REPLY, [&from_net3, &Vec::new()]).await;
    evidence.check(
        refused.is_err(),
        format!("III in its own name: {}", refusal_text(&refused)),
    );
    let posing = attested(
        Payload::SignedReply(signed_refusal(&open_id, "net2", responder)?),
        "net2",
        &net3_key,
    );
    let refused = interface::submit(&relay, function::ACCEPT_REPLY, [&posing, &Vec::new()]).await;
    evidence.check(
        refused
            .as_ref()
            .is_err_and(|e| error_code(e) == Some(ErrorCode::BadSignature)),
        format!("III as II: {}", refusal_text(&refused)),
    );
    let after = height(net1)?;
    evidence.check(
        after == before,
        format!("chain height of I {before} → {after}"),
    );
    let state = lab.doctor.request_status(&open_id).await?.status;
    evidence.check(
        state == RequestStatus::Validated,
        format!("request still {state:?}"),
    );
    let patient = lab.history(0)?.patient_ref.to_hex();
    let audit = audit_kinds(&lab.admin("net1").await?, &patient, Some(&open_id)).await?;
    evidence.check(
        audit == ["request_submitted"],
        format!("no reply recorded (audit: {audit:?})"),
    );
    Ok(evidence)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evidence_lists_facts_then_failures() {
        let mut evidence = Evidence::default();
        evidence.fact("ran");
        evidence.check(true, "refused");
        assert!(evidence.passed());
        assert_eq!(evidence.observed(), "ran; refused");
        evidence.check(false, "height 3 → 4");
        assert!(!evidence.passed());
        assert_eq!(
            evidence.observed(),
            "ran; refused; NOT AS EXPECTED: height 3 → 4"
        );
        let mut only_failure = Evidence::default();
        only_failure.check(false, "x");
        assert_eq!(only_failure.observed(), "NOT AS EXPECTED: x");
    }

    #[test]
    fn brief_keeps_the_first_line_and_shortens_it() {
        assert_eq!(brief(&"refused\ndetails"), "refused");
        let long = "x".repeat(400);
        assert_eq!(brief(&long).chars().count(), 321);
        let fits = "y".repeat(320);
        assert_eq!(brief(&fits), fits, "320 characters are kept whole");
    }

    #[test]
    fn scenario_ids_are_unique() {
        let mut ids: Vec<&str> = SCENARIOS.iter().map(|s| s.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), SCENARIOS.len());
    }
}
