//! The cost of a proof of validation (issue 12): for a request validated on
//! network I, what network II's challenge costs (`IssueChallenge`, a
//! commit on II), what having I's peers endorse `ProveRequest` costs (an
//! endorsement by every organisation of I, never ordered), how many bytes
//! the proof is, and the CPU one verification takes, as the chaincode does
//! it on every endorsing peer of II.
//!
//! Baselines in the same run: each timing is also given as a multiple of
//! the `Put (during)` probe's p50 commit; the verification as a multiple of
//! verifying one P-256 signature (what checking the requester's signature
//! alone costs).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use ehrx_client::ehr::PatientRef;
use ehrx_client::ehr::interface::{self, function};
use ehrx_client::proto::exchange::ValidationProof;
use ehrx_client::proto::exchange::proof::{self, CaRoot, Expected, TrustedOrg};
use ehrx_client::proto::exchange::{Purpose, SignedRequest};
use ehrx_lab::exchange::{ExchangeSetup, issue_challenge, org};
use ehrx_lab::forge::{I_TO_II, fresh_request_id, signed_request, user_keys};
use ehrx_lab::report::Table;
use ehrx_services::relay::Submitter as _;
use prost::Message as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::progress::Progress;
use crate::report::Row;
use crate::stats::Tally;

pub const CHALLENGE: &str = "proof: IssueChallenge on II";
pub const ENDORSE: &str = "proof: ProveRequest endorsed on I";
pub const VERIFY: &str = "proof: verify (CPU)";
pub const SIGNATURE: &str = "P-256 verify (CPU, baseline)";

/// The proofs' sizes, which timings cannot carry.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Sizes {
    /// Each proof's encoded size in bytes.
    pub proof_bytes: Vec<usize>,
    /// Endorsements per proof.
    pub endorsements: usize,
}

/// Makes `samples` proofs for requests validated on network I, timing the
/// challenge and the endorsement, then verifies the last one `verifications`
/// times, and one P-256 signature as often.
pub async fn measure(
    setup: &ExchangeSetup<'_>,
    samples: usize,
    verifications: usize,
    progress: &Progress,
) -> anyhow::Result<(Vec<Row>, Sizes)> {
    let (from, to) = (setup.net1.name.clone(), setup.net2.name.clone());
    let doctor = user_keys(org(setup.net1, "org1")?, "User2")?;
    let requester = setup.contract_as(&from, "User2").await?;
    let relay_ii = setup.contract_as(&to, "User3").await?;
    let prover = setup.prover(&from).await?;
    let (mut challenges, mut endorsements) = (Tally::default(), Tally::default());
    let mut sizes = Sizes {
        proof_bytes: Vec::new(),
        endorsements: 0,
    };
    let mut last = None;
    let bar = progress.bar(samples, "proofs of validation".into());
    let started = Instant::now();
    for _ in 0..samples {
        let id = fresh_request_id();
        let signed = signed_request(
            I_TO_II,
            &id,
            &PatientRef::from_bytes([7; 32]),
            setup.requester_key.public_key(),
            Purpose::Treatment,
            &doctor,
        )?;
        interface::submit(&requester, function::SUBMIT_REQUEST, [&signed])
            .await
            .context("SubmitRequest on I")?;
        let begun = Instant::now();
        let nonce = issue_challenge(&relay_ii, &from)
            .await
            .context("on II")?
            .nonce
            .to_string();
        challenges.success(begun.elapsed(), &[]);
        let hash = hex::encode(Sha256::digest(&signed));
        let begun = Instant::now();
        let bytes = prover
            .prove(function::PROVE_REQUEST, &id, &hash, &nonce)
            .await
            .context("ProveRequest on I")?;
        endorsements.success(begun.elapsed(), &[]);
        sizes.proof_bytes.push(bytes.len());
        last = Some((bytes, id, hash, nonce, signed));
        bar.inc(1);
    }
    bar.finish_and_clear();
    challenges.elapsed = started.elapsed();
    endorsements.elapsed = started.elapsed();
    let (bytes, id, hash, nonce, signed) = last.context("no proof was made")?;
    let proof = ValidationProof::decode(bytes.as_slice()).context("decoding the proof")?;
    sizes.endorsements = proof.endorsements.len();

    // Verification as II's chaincode does it, against I's CA roots.
    let orgs = setup
        .net1
        .organizations
        .iter()
        .map(|org| {
            let pem = std::fs::read(&org.ca_cert)
                .with_context(|| format!("reading {}", org.ca_cert.display()))?;
            Ok(TrustedOrg {
                msp_id: org.msp_id.clone(),
                roots: vec![CaRoot::from_pem(&pem).context("a CA root of network I")?],
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let args: [&[u8]; 4] = [
        function::PROVE_REQUEST.as_bytes(),
        id.as_bytes(),
        hash.as_bytes(),
        nonce.as_bytes(),
    ];
    let expected = Expected {
        channel: &setup.net1.channel,
        chaincode: "ehrx",
        args: &args,
        at_unix_seconds: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| {
                i64::try_from(since.as_secs()).unwrap_or(i64::MAX)
            }),
    };
    let verify = time_each(verifications, || {
        let proof = ValidationProof::decode(bytes.as_slice())?;
        proof::verify(&proof, &orgs, orgs.len(), &expected)?;
        Ok(())
    })?;
    // The baseline: one P-256 signature check over the signed request's
    // bytes, DER-decoded as the requester's signature is.
    let message = SignedRequest::decode(signed.as_slice())?.request;
    let key = p256::ecdsa::SigningKey::from_slice(&[0x42; 32])?;
    let signature: p256::ecdsa::Signature = p256::ecdsa::signature::Signer::sign(&key, &message);
    let der = signature.to_der();
    let public = *key.verifying_key();
    let baseline = time_each(verifications, || {
        use p256::ecdsa::signature::Verifier as _;
        let signature = p256::ecdsa::Signature::from_der(der.as_bytes())?;
        public.verify(&message, &signature)?;
        Ok(())
    })?;
    Ok((
        vec![
            Row::new(crate::exchange::BENCHMARK, CHALLENGE, 1, challenges),
            Row::new(crate::exchange::BENCHMARK, ENDORSE, 1, endorsements),
            Row::new(crate::exchange::BENCHMARK, VERIFY, 1, verify),
            Row::new(crate::exchange::BENCHMARK, SIGNATURE, 1, baseline),
        ],
        sizes,
    ))
}

/// Runs `work` `times` times on this thread, one sample each.
fn time_each(times: usize, mut work: impl FnMut() -> anyhow::Result<()>) -> anyhow::Result<Tally> {
    let mut tally = Tally::default();
    let started = Instant::now();
    for _ in 0..times {
        let begun = Instant::now();
        work()?;
        tally.success(begun.elapsed().max(Duration::from_nanos(1)), &[]);
    }
    tally.elapsed = started.elapsed();
    Ok(tally)
}

/// The rows this module makes, by kind.
pub const KINDS: [&str; 4] = [CHALLENGE, ENDORSE, VERIFY, SIGNATURE];

/// The summary's table: the challenge and the endorsement in ms and in
/// `Put` commits of the same run (the probe at 1 in flight), the
/// verification in µs and in P-256 signature checks, and the proof's size;
/// `None` when no proof was measured.
pub fn table(rows: &[Row], sizes: Option<&Sizes>, exchange_rows: &[Row]) -> Option<Table> {
    let find = |kind: &str| rows.iter().find(|row| row.kind == kind);
    let p50 = |row: Option<&Row>| row.and_then(|row| row.latency_ms.map(|l| l.p50));
    let p95 = |row: Option<&Row>| row.and_then(|row| row.latency_ms.map(|l| l.p95));
    let (_, probe) = crate::exchange::kinds("raft");
    let put = crate::report::find_row(exchange_rows, &probe, 1)
        .and_then(|row| row.latency_ms.map(|l| l.p50));
    let signature = p50(find(SIGNATURE));
    let ratio = |value: Option<f64>, base: Option<f64>| match (value, base) {
        (Some(value), Some(base)) if base > 0.0 => format!("{:.2}×", value / base),
        _ => "–".to_string(),
    };
    let fixed = |value: Option<f64>, scale: f64, digits: usize| {
        value.map_or_else(|| "–".to_string(), |v| format!("{:.digits$}", v * scale))
    };
    // Round trips in ms against a Put commit; local checks in µs against
    // one P-256 signature verification.
    let mut lines = Vec::new();
    for (kind, unit, scale, base_name, base) in [
        (CHALLENGE, "ms", 1.0, "Put commit on I", put),
        (ENDORSE, "ms", 1.0, "Put commit on I", put),
        (VERIFY, "µs", 1000.0, "P-256 verify", signature),
        (SIGNATURE, "µs", 1000.0, "P-256 verify", signature),
    ] {
        let row = find(kind)?;
        lines.push(vec![
            kind.to_string(),
            format!("{} {unit}", fixed(p50(Some(row)), scale, 0)),
            format!("{} {unit}", fixed(p95(Some(row)), scale, 0)),
            format!("{} {base_name}", ratio(p50(Some(row)), base)),
        ]);
    }
    if let Some(sizes) = sizes {
        let mut bytes = sizes.proof_bytes.clone();
        bytes.sort_unstable();
        let median = bytes.get(bytes.len() / 2).copied().unwrap_or_default();
        lines.push(vec![
            "proof size".to_string(),
            format!("{median} bytes"),
            format!("{} endorsements", sizes.endorsements),
            String::new(),
        ]);
    }
    Some(Table::new(&["", "p50", "p95", "p50 as"], lines))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn row(kind: &str, level: usize, ms: &[f64]) -> Row {
        let mut tally = Tally::default();
        for &ms in ms {
            tally.success(Duration::from_secs_f64(ms / 1000.0), &[]);
        }
        tally.elapsed = Duration::from_secs(1);
        Row::new(crate::exchange::BENCHMARK, kind, level, tally)
    }

    #[test]
    fn the_table_gives_each_cost_against_its_baseline() {
        let (_, probe) = crate::exchange::kinds("raft");
        let exchange = vec![row(&probe, 1, &[200.0, 200.0])];
        let rows = vec![
            row(CHALLENGE, 1, &[240.0]),
            row(ENDORSE, 1, &[50.0]),
            row(VERIFY, 1, &[0.6]),
            row(SIGNATURE, 1, &[0.1]),
        ];
        let sizes = Sizes {
            proof_bytes: vec![5000, 5100, 5050],
            endorsements: 2,
        };
        let text = table(&rows, Some(&sizes), &exchange).unwrap().markdown();
        assert!(
            text.contains(
                "| proof: IssueChallenge on II | 240 ms | 240 ms | 1.20× Put commit on I |"
            ),
            "{text}"
        );
        assert!(
            text.contains("| proof: verify (CPU) | 600 µs | 600 µs | 6.00× P-256 verify |"),
            "{text}"
        );
        assert!(
            text.contains("| proof size | 5050 bytes | 2 endorsements |  |"),
            "{text}"
        );
        // Nothing measured: no table.
        assert_eq!(table(&[], None, &exchange), None);
    }
}
