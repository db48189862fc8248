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
        anyhow::ensure!(
            (1..=100_000).contains(&self.exchanges),
            "--exchanges must be 1 to 100000"
        );
        anyhow::ensure!(
            (1..=32).contains(&self.concurrency),
            "--concurrency must be 1 to 32"
        );
        anyhow::ensure!(
            self.faults_per_kind <= 1000,
            "--faults-per-kind must be at most 1000"
        );
        anyhow::ensure!(
            (1..=16).contains(&self.patients),
            "--patients must be 1 to 16"
        );
        anyhow::ensure!(
            (100..=60_000).contains(&self.max_outage_ms),
            "--max-outage-ms must be 100 to 60000"
        );
        anyhow::ensure!(
            self.max_gap_ms <= 60_000,
            "--max-gap-ms must be at most 60000"
        );
        anyhow::ensure!(
            (10..=3600).contains(&self.exchange_timeout_secs),
            "--exchange-timeout-secs must be 10 to 3600"
        );
        anyhow::ensure!(
            (1..=600).contains(&self.max_minutes),
            "--max-minutes must be 1 to 600"
        );
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
        let cases: [(&str, Edit); 6] = [
            ("--exchanges", |p| p.exchanges = 0),
            ("--concurrency", |p| p.concurrency = 33),
            ("--faults-per-kind", |p| p.faults_per_kind = 1001),
            ("--patients", |p| p.patients = 0),
            ("--max-outage-ms", |p| p.max_outage_ms = 10),
            ("--max-minutes", |p| p.max_minutes = 0),
        ];
        for (name, edit) in cases {
            let mut p = params();
            edit(&mut p);
            let error = p.check().unwrap_err().to_string();
            assert!(error.contains(name), "{error}");
        }
    }
}
