//! The end-of-run checks: each exchange completed exactly once, none
//! stuck, and both networks' audit trails agree with the run's log.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;

use super::workers::{Exchange, Outcome};

/// What the checks found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Verdict {
    pub exchanges: usize,
    pub verified: usize,
    pub refused: usize,
    /// Exchanges that did not complete: never filed, or a reply without
    /// the uploaded records.
    pub lost: usize,
    /// Exchanges with more than one request on network I.
    pub duplicated: usize,
    /// Filed, but no outcome by the deadline.
    pub stuck: usize,
    /// Requests network I lists for the run's requesters that the run
    /// never filed.
    pub untracked: Vec<String>,
    /// Where an audit trail disagrees with the run's log, one line each.
    pub audit_disagreements: Vec<String>,
    /// Examples of the failures above, one line each (at most 20).
    pub examples: Vec<String>,
}

impl Verdict {
    /// No loss, duplicate, stuck exchange or disagreement.
    pub fn passed(&self) -> bool {
        self.lost == 0
            && self.duplicated == 0
            && self.stuck == 0
            && self.untracked.is_empty()
            && self.audit_disagreements.is_empty()
            && self.verified + self.refused == self.exchanges
    }

    fn example(&mut self, line: String) {
        if self.examples.len() < 20 {
            self.examples.push(line);
        }
    }
}

/// Audit entry kinds of one network, per request id.
pub type Trail = BTreeMap<String, Vec<String>>;

/// The entries of `AuditTrail` answers (JSON arrays), by request id.
pub fn trail_of(answers: &[Value]) -> Trail {
    let mut trail = Trail::new();
    for entry in answers.iter().filter_map(Value::as_array).flatten() {
        if let (Some(id), Some(kind)) = (entry["request_id"].as_str(), entry["kind"].as_str()) {
            trail
                .entry(id.to_owned())
                .or_default()
                .push(kind.to_owned());
        }
    }
    trail
}

fn count(kinds: Option<&Vec<String>>, kind: &str) -> usize {
    kinds.map_or(0, |k| k.iter().filter(|k| *k == kind).count())
}

/// Checks the run's `log` against the requests network I lists for its
/// requesters (`listed`) and the audit trails of network I (`on_1`) and
/// network II (`on_2`).
pub fn check(log: &[Exchange], listed: &BTreeSet<String>, on_1: &Trail, on_2: &Trail) -> Verdict {
    let mut verdict = Verdict {
        exchanges: log.len(),
        ..Verdict::default()
    };
    let mut filed = BTreeSet::new();
    let mut landed_ids = BTreeSet::new();
    for exchange in log {
        filed.extend(exchange.attempts.iter().cloned());
        let landed: Vec<&String> = exchange
            .attempts
            .iter()
            .filter(|id| listed.contains(*id))
            .collect();
        landed_ids.extend(landed.iter().map(|id| (*id).clone()));
        if landed.len() > 1 {
            verdict.duplicated += 1;
            verdict.example(format!(
                "exchange {} landed {} times: {landed:?}",
                exchange.index,
                landed.len()
            ));
        }
        match &exchange.outcome {
            Outcome::Verified => verdict.verified += 1,
            Outcome::Refused(_) => verdict.refused += 1,
            Outcome::Stuck => {
                verdict.stuck += 1;
                verdict.example(format!(
                    "exchange {} stuck: {:?}",
                    exchange.index, exchange.request_id
                ));
            }
            Outcome::NotFiled(why) | Outcome::Mismatch(why) => {
                verdict.lost += 1;
                verdict.example(format!("exchange {} lost: {why}", exchange.index));
            }
        }
        let Some(id) = &exchange.request_id else {
            continue;
        };
        if !listed.contains(id) {
            verdict.audit_disagreements.push(format!(
                "{id} (exchange {}) is not listed on network I",
                exchange.index
            ));
        }
        let (one, two) = (on_1.get(id), on_2.get(id));
        let mut expect = |what: &str, got: usize, want: usize| {
            if got != want {
                verdict.audit_disagreements.push(format!(
                    "{id} (exchange {}): {what} {got} times, expected {want}",
                    exchange.index
                ));
            }
        };
        expect("request_submitted on I", count(one, "request_submitted"), 1);
        match exchange.outcome {
            Outcome::Verified => {
                expect("reply_received on I", count(one, "reply_received"), 1);
                expect("request_accepted on II", count(two, "request_accepted"), 1);
                expect("disclosure on II", count(two, "disclosure"), 1);
            }
            _ => expect("disclosure on II", count(two, "disclosure"), 0),
        }
    }
    verdict.untracked = listed.difference(&filed).cloned().collect();
    for (network, trail) in [("I", on_1), ("II", on_2)] {
        for id in trail.keys().filter(|id| !landed_ids.contains(*id)) {
            verdict.audit_disagreements.push(format!(
                "network {network} audits request {id}, which the run did not file"
            ));
        }
    }
    verdict
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn exchange(index: usize, attempts: &[&str], outcome: Outcome) -> Exchange {
        Exchange {
            index,
            worker: 0,
            patient: 0,
            attempts: attempts.iter().map(|s| s.to_string()).collect(),
            request_id: attempts.last().map(|s| s.to_string()),
            failed_submissions: attempts.len().saturating_sub(1),
            started_at: 0.0,
            ended_at: 1.0,
            outcome,
        }
    }

    fn trails(ids: &[&str]) -> (Trail, Trail) {
        let mut one = Vec::new();
        let mut two = Vec::new();
        for id in ids {
            one.push(json!({"kind": "request_submitted", "request_id": id}));
            one.push(json!({"kind": "reply_received", "request_id": id}));
            two.push(json!({"kind": "request_accepted", "request_id": id}));
            two.push(json!({"kind": "disclosure", "request_id": id}));
        }
        // Entries without a request (uploads) are not about exchanges.
        two.push(json!({"kind": "record_stored"}));
        (
            trail_of(&[Value::Array(one)]),
            trail_of(&[Value::Array(two)]),
        )
    }

    fn listed(ids: &[&str]) -> BTreeSet<String> {
        ids.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_clean_run_passes() {
        let log = [
            exchange(0, &["a"], Outcome::Verified),
            exchange(1, &["x", "b"], Outcome::Verified),
        ];
        let (one, two) = trails(&["a", "b"]);
        let verdict = check(&log, &listed(&["a", "b"]), &one, &two);
        assert!(verdict.passed(), "{verdict:?}");
        assert_eq!(verdict.verified, 2);
    }

    #[test]
    fn a_second_landing_is_a_duplicate_and_a_stray_request_is_untracked() {
        let log = [exchange(0, &["a", "b"], Outcome::Verified)];
        let (one, two) = trails(&["b"]);
        let verdict = check(&log, &listed(&["a", "b", "z"]), &one, &two);
        assert_eq!(verdict.duplicated, 1);
        assert_eq!(verdict.untracked, vec!["z".to_string()]);
        assert!(!verdict.passed());
    }

    #[test]
    fn lost_stuck_and_audit_disagreements_fail_the_run() {
        let log = [
            exchange(0, &[], Outcome::NotFiled("down".into())),
            exchange(1, &["s"], Outcome::Stuck),
            exchange(2, &["c"], Outcome::Verified),
        ];
        // c was disclosed twice on II, and II audits a request nobody filed.
        let (one, mut two) = trails(&["c"]);
        two.entry("c".into()).or_default().push("disclosure".into());
        two.insert("ghost".into(), vec!["request_accepted".into()]);
        let verdict = check(&log, &listed(&["s", "c"]), &one, &two);
        assert_eq!((verdict.lost, verdict.stuck), (1, 1));
        assert!(
            verdict
                .audit_disagreements
                .iter()
                .any(|d| d.contains("disclosure on II 2 times"))
        );
        assert!(
            verdict
                .audit_disagreements
                .iter()
                .any(|d| d.contains("ghost"))
        );
        assert!(!verdict.passed());
    }
}
