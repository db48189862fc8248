//! The fault soak (issue 16): many exchanges from network I to network II
//! while a seeded injector kills relays, responders, chaincode servers,
//! peers and orderers, cuts and slows the relays' WAN links, kills a relay
//! in the middle of a checkpoint write, fills the disk under a relay's
//! checkpoint, and upgrades the EHR chaincode on the live channel. At the
//! end every exchange must have completed exactly once (a verified reply,
//! or a documented refusal), none stuck, the audit trails of both
//! networks must agree with the run's own log, and nothing it started may
//! still run.
//!
//! The relays and responders run as `ehrx` processes, so that a kill is a
//! real SIGKILL; the Fabric nodes and chaincode servers are killed and
//! restarted through `scripts/network.sh kill|restart|upgrade`.

pub mod faults;
pub mod services;
pub mod summary;
pub mod verify;
pub mod workers;

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

/// The networks of a soak: three Raft orderers each (ordering survives the
/// loss of one) and the relays' links through the WAN proxy; for `up` and
/// for every `network.sh` call of the injector.
pub const NETWORK_ENV: [(&str, &str); 3] = [
    ("NETWORK_ORDERER", "raft"),
    ("NETWORK_RAFT_ORDERERS", "3"),
    ("NETWORK_WAN", "toxiproxy"),
];

/// What a soak run does; the defaults are the full soak of issue 16.
#[derive(Debug, Clone, Serialize)]
pub struct Params {
    /// Exchanges to complete.
    pub exchanges: usize,
    /// Exchanges in flight at once (one requester identity each).
    pub concurrency: usize,
    /// Seeds the injector's choices and timings.
    pub seed: u64,
    /// Faults of each kind to inject.
    pub faults_per_kind: usize,
    /// Synthetic patients on network II, asked for in turn.
    pub patients: usize,
    /// How long an injected outage lasts before its repair, at most
    /// (at least a quarter of it), in milliseconds.
    pub max_outage_ms: u64,
    /// Quiet time between two faults of one injector lane, at most, in
    /// milliseconds.
    pub max_gap_ms: u64,
    /// How long one exchange may take before it counts as stuck.
    pub exchange_timeout_secs: u64,
    /// The whole run's bound.
    pub max_minutes: u64,
    /// Where the report, logs and service files go.
    pub out_dir: PathBuf,
}

impl Params {
    pub fn exchange_timeout(&self) -> Duration {
        Duration::from_secs(self.exchange_timeout_secs)
    }

    /// Checks the bounds; a clear message for each.
    pub fn check(&self) -> anyhow::Result<()> {
        let count = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
        let bounds = [
            ("--exchanges", count(self.exchanges), 1, 100_000),
            ("--concurrency", count(self.concurrency), 1, 32),
            ("--faults-per-kind", count(self.faults_per_kind), 0, 1000),
            ("--patients", count(self.patients), 1, 16),
            ("--max-outage-ms", self.max_outage_ms, 100, 60_000),
            ("--max-gap-ms", self.max_gap_ms, 0, 60_000),
            (
                "--exchange-timeout-secs",
                self.exchange_timeout_secs,
                10,
                3600,
            ),
            ("--max-minutes", self.max_minutes, 1, 600),
        ];
        for (flag, value, least, most) in bounds {
            anyhow::ensure!(
                (least..=most).contains(&value),
                "{flag} must be {}",
                if least == 0 {
                    format!("at most {most}")
                } else {
                    format!("{least} to {most}")
                }
            );
        }
        Ok(())
    }
}

/// Small parameters for unit tests.
#[cfg(test)]
pub fn tests_params() -> Params {
    tests::params()
}

#[cfg(test)]
mod tests {
    use super::*;

    pub fn params() -> Params {
        Params {
            exchanges: 100,
            concurrency: 4,
            seed: 1,
            faults_per_kind: 2,
            patients: 2,
            max_outage_ms: 3000,
            max_gap_ms: 2000,
            exchange_timeout_secs: 300,
            max_minutes: 5,
            out_dir: PathBuf::from("out"),
        }
    }

    #[test]
    fn parameters_out_of_bounds_are_refused_with_their_name() {
        assert!(params().check().is_ok());
        type Edit = fn(&mut Params);
        let cases: [(&str, Edit); 9] = [
            ("--exchanges must be 1 to 100000", |p| p.exchanges = 0),
            ("--concurrency must be 1 to 32", |p| p.concurrency = 33),
            ("--faults-per-kind must be at most 1000", |p| {
                p.faults_per_kind = 1001
            }),
            ("--patients must be 1 to 16", |p| p.patients = 0),
            ("--max-outage-ms must be 100 to 60000", |p| {
                p.max_outage_ms = 10
            }),
            ("--max-gap-ms must be at most 60000", |p| {
                p.max_gap_ms = 60_001
            }),
            ("--exchange-timeout-secs must be 10 to 3600", |p| {
                p.exchange_timeout_secs = 3601
            }),
            ("--max-minutes must be 1 to 600", |p| p.max_minutes = 0),
            ("--max-minutes must be 1 to 600", |p| p.max_minutes = 601),
        ];
        for (message, edit) in cases {
            let mut p = params();
            edit(&mut p);
            let error = p.check().unwrap_err().to_string();
            assert_eq!(error, message);
        }
    }
}
