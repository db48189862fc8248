//! The seeded fault injector: a plan of faults drawn from the seed up
//! front, run by a few lanes in parallel (one per group of faults that
//! must not overlap), each fault injected, held for its outage and
//! repaired, then a quiet gap. The lanes are threads: every action is a
//! blocking process or HTTP call.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use ehrx_lab::networks::repo_root;
use ehrx_lab::wan::{Conditions, Wan};
use rand::rngs::Xoshiro256PlusPlus;
use rand::seq::SliceRandom as _;
use rand::{RngExt as _, SeedableRng as _};
use serde::Serialize;

use super::services::{Fleet, TMPFS_RELAY, Tmpfs};

/// The kinds of fault, each injected `faults_per_kind` times.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// SIGKILL a relay, restart it from its checkpoint.
    RelayKill,
    /// SIGKILL a responder of network II, restart it.
    ResponderKill,
    /// SIGKILL a network's EHR chaincode server, restart it.
    ChaincodeKill,
    /// SIGKILL one peer of a network, restart it.
    PeerKill,
    /// SIGKILL one of a network's three Raft orderers, restart it.
    OrdererKill,
    /// Cut every relay-to-relay link (the WAN proxy), restore it.
    LinkCut,
    /// Slow every relay-to-relay link (delay and a bandwidth cap).
    LinkSlow,
    /// SIGKILL network I's relay while its checkpoint's temporary file
    /// exists (between create and rename), restart it.
    CheckpointWriteKill,
    /// Fill the tmpfs under network II's relay checkpoint: the relay must
    /// stop loudly with its checkpoint intact and run again once space is
    /// back.
    DiskFull,
    /// Upgrade the EHR chaincode on a network's live channel (a new
    /// package and sequence, the service replaced, its state kept).
    ChaincodeUpgrade,
}

impl Kind {
    pub const ALL: [Kind; 10] = [
        Kind::RelayKill,
        Kind::ResponderKill,
        Kind::ChaincodeKill,
        Kind::PeerKill,
        Kind::OrdererKill,
        Kind::LinkCut,
        Kind::LinkSlow,
        Kind::CheckpointWriteKill,
        Kind::DiskFull,
        Kind::ChaincodeUpgrade,
    ];

    /// Its name in the report.
    pub fn name(self) -> &'static str {
        match self {
            Kind::RelayKill => "relay_kill",
            Kind::ResponderKill => "responder_kill",
            Kind::ChaincodeKill => "chaincode_kill",
            Kind::PeerKill => "peer_kill",
            Kind::OrdererKill => "orderer_kill",
            Kind::LinkCut => "link_cut",
            Kind::LinkSlow => "link_slow",
            Kind::CheckpointWriteKill => "checkpoint_write_kill",
            Kind::DiskFull => "disk_full",
            Kind::ChaincodeUpgrade => "chaincode_upgrade",
        }
    }

    /// The lane that runs it: faults of one lane never overlap (two
    /// relay faults at once, or a peer killed while the chaincode is
    /// being installed on it, would test the injector, not the system).
    fn lane(self) -> usize {
        match self {
            Kind::PeerKill | Kind::OrdererKill => 0,
            Kind::ChaincodeKill | Kind::ChaincodeUpgrade => 1,
            Kind::RelayKill | Kind::CheckpointWriteKill | Kind::DiskFull => 2,
            Kind::ResponderKill => 3,
            Kind::LinkCut | Kind::LinkSlow => 4,
        }
    }

    /// Faults that act on one network's Fabric nodes take its lock.
    fn needs_network_lock(self) -> bool {
        matches!(
            self,
            Kind::PeerKill | Kind::OrdererKill | Kind::ChaincodeKill | Kind::ChaincodeUpgrade
        )
    }
}

const LANES: usize = 5;
const NETWORKS: [&str; 2] = ["net1", "net2"];
const PEERS: [&str; 3] = ["peer0.org1", "peer1.org1", "peer0.org2"];
const ORDERERS: [&str; 3] = ["orderer", "orderer1", "orderer2"];
const RESPONDERS: [&str; 2] = ["responder-org1", "responder-org2"];

/// One planned fault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Planned {
    pub kind: Kind,
    /// The network acted on (`net1`, `net2`), where it matters.
    pub network: &'static str,
    /// Which node, service or link, for the report.
    pub target: String,
    /// How long the outage lasts before its repair.
    pub outage_ms: u64,
    /// Quiet time after the repair, before the lane's next fault.
    pub gap_ms: u64,
}

/// The whole plan: `per_kind` faults of each kind, spread over the lanes
/// in a seeded random order, with seeded targets and timings.
pub fn plan(seed: u64, per_kind: usize, max_outage_ms: u64, max_gap_ms: u64) -> Vec<Vec<Planned>> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut lanes: Vec<Vec<Planned>> = vec![Vec::new(); LANES];
    for kind in Kind::ALL {
        for _ in 0..per_kind {
            let network = NETWORKS[rng.random_range(0..NETWORKS.len())];
            let (network, target) = match kind {
                Kind::RelayKill => (network, format!("relay-{network}")),
                Kind::CheckpointWriteKill => ("net1", "relay-net1".to_owned()),
                Kind::DiskFull => (TMPFS_RELAY, format!("relay-{TMPFS_RELAY}")),
                Kind::ResponderKill => (
                    "net2",
                    RESPONDERS[rng.random_range(0..RESPONDERS.len())].to_owned(),
                ),
                Kind::ChaincodeKill | Kind::ChaincodeUpgrade => {
                    (network, "chaincode-ehrx".to_owned())
                }
                Kind::PeerKill => {
                    let peer = PEERS[rng.random_range(0..PEERS.len())];
                    (network, format!("{peer}.{network}.example.com"))
                }
                Kind::OrdererKill => (
                    network,
                    ORDERERS[rng.random_range(0..ORDERERS.len())].to_owned(),
                ),
                Kind::LinkCut | Kind::LinkSlow => (network, "every relay link".to_owned()),
            };
            lanes[kind.lane()].push(Planned {
                kind,
                network,
                target,
                outage_ms: rng.random_range(max_outage_ms / 4..=max_outage_ms),
                gap_ms: rng.random_range(0..=max_gap_ms),
            });
        }
    }
    for lane in &mut lanes {
        lane.shuffle(&mut rng);
    }
    lanes
}

/// What happened to one fault.
#[derive(Debug, Clone, Serialize)]
pub struct Record {
    #[serde(flatten)]
    pub planned: Planned,
    /// Seconds from the run's start to the injection.
    pub injected_at: f64,
    /// Seconds from the run's start to the end of the repair.
    pub repaired_at: f64,
    /// What the injector observed (exit status, checkpoint state, ...).
    pub observed: String,
    /// For a checkpoint-write kill: the temporary file was there when the
    /// relay died, i.e. the kill hit the write.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hit_write: Option<bool>,
    /// For a disk-full fault: the relay stopped by itself with an error
    /// that names its checkpoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed_loudly: Option<bool>,
    /// The checkpoint read back as valid JSON after the fault.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkpoint_intact: Option<bool>,
}

/// What the lanes share.
#[derive(Debug)]
pub struct Injector {
    pub start: Instant,
    pub fleet: Mutex<Fleet>,
    pub tmpfs: Tmpfs,
    pub wan: Wan,
    locks: BTreeMap<&'static str, Mutex<()>>,
    /// Set to stop the lanes early (the run failed or was interrupted).
    pub abort: AtomicBool,
    /// Faults repaired so far.
    pub done: AtomicUsize,
    records: Mutex<Vec<Record>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A lane that panicked leaves consistent data: each record is pushed whole.
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl Injector {
    pub fn new(start: Instant, fleet: Fleet, tmpfs: Tmpfs, wan: Wan) -> Self {
        Self {
            start,
            fleet: Mutex::new(fleet),
            tmpfs,
            wan,
            locks: NETWORKS.iter().map(|n| (*n, Mutex::new(()))).collect(),
            abort: AtomicBool::new(false),
            done: AtomicUsize::new(0),
            records: Mutex::new(Vec::new()),
        }
    }

    fn now(&self) -> f64 {
        self.start.elapsed().as_secs_f64()
    }

    /// Sleeps `ms`, in steps, returning early on abort.
    fn pause(&self, ms: u64) {
        let until = Instant::now() + Duration::from_millis(ms);
        while Instant::now() < until && !self.abort.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(50).min(until - Instant::now()));
        }
    }

    /// Runs every lane of `plan` to its end (or the abort) on threads of
    /// its own; the first failure of a repair, if any.
    pub fn run(&self, plan: Vec<Vec<Planned>>) -> anyhow::Result<()> {
        std::thread::scope(|scope| {
            let lanes: Vec<_> = plan
                .into_iter()
                .map(|lane| scope.spawn(move || self.run_lane(lane)))
                .collect();
            let mut outcome = Ok(());
            for lane in lanes {
                let result = lane
                    .join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("a fault lane panicked")));
                if let Err(error) = result {
                    self.abort.store(true, Ordering::Relaxed);
                    if outcome.is_ok() {
                        outcome = Err(error);
                    }
                }
            }
            outcome
        })
    }

    fn run_lane(&self, lane: Vec<Planned>) -> anyhow::Result<()> {
        for planned in lane {
            if self.abort.load(Ordering::Relaxed) {
                break;
            }
            let guard = planned
                .kind
                .needs_network_lock()
                .then(|| self.locks.get(planned.network).map(lock))
                .flatten();
            let record = self.inject(&planned).with_context(|| {
                format!(
                    "{} of {} ({})",
                    planned.kind.name(),
                    planned.target,
                    planned.network
                )
            })?;
            drop(guard);
            tracing::info!(
                kind = planned.kind.name(),
                target = %planned.target,
                network = planned.network,
                observed = %record.observed,
                "fault repaired"
            );
            lock(&self.records).push(record);
            self.done.fetch_add(1, Ordering::Relaxed);
            self.pause(planned.gap_ms);
        }
        Ok(())
    }

    /// Every fault injected so far.
    pub fn records(&self) -> Vec<Record> {
        lock(&self.records).clone()
    }

    fn inject(&self, planned: &Planned) -> anyhow::Result<Record> {
        let mut record = Record {
            planned: planned.clone(),
            injected_at: self.now(),
            repaired_at: 0.0,
            observed: String::new(),
            hit_write: None,
            failed_loudly: None,
            checkpoint_intact: None,
        };
        let net = planned.network;
        match planned.kind {
            Kind::RelayKill | Kind::ResponderKill => {
                let status = lock(&self.fleet).kill(&planned.target)?;
                record.observed = format!("killed: {status:?}");
                self.pause(planned.outage_ms);
                lock(&self.fleet).restart(&planned.target)?;
            }
            Kind::ChaincodeKill | Kind::PeerKill | Kind::OrdererKill => {
                network_sh(&["kill", net, &planned.target])?;
                record.observed = "killed".into();
                self.pause(planned.outage_ms);
                network_sh(&["restart", net, &planned.target])?;
            }
            Kind::ChaincodeUpgrade => {
                network_sh(&["upgrade", net, "ehrx"])?;
                record.observed = "upgraded".into();
            }
            Kind::LinkCut => {
                self.wan.set_enabled(false)?;
                record.observed = "links cut".into();
                self.pause(planned.outage_ms);
                self.wan.set_enabled(true)?;
            }
            Kind::LinkSlow => {
                // The outage's length picks the delay too: 100 to 400 ms.
                // Latency only: Toxiproxy 2.5's API hung for good when a
                // bandwidth toxic was removed from a link with stalled
                // connections (seen in the soak), which no repair survives.
                let delay = 100 + planned.outage_ms % 300;
                self.wan.set(Conditions {
                    one_way_delay_ms: delay,
                    rate_kib_per_s: None,
                })?;
                record.observed = format!("{delay} ms one way");
                self.pause(planned.outage_ms);
                self.wan.set(Conditions::default())?;
            }
            Kind::CheckpointWriteKill => {
                let (hit, status) = self.kill_during_write(&planned.target)?;
                let checkpoint = lock(&self.fleet).checkpoint(&planned.target)?.to_path_buf();
                record.hit_write = Some(hit);
                record.checkpoint_intact = Some(intact(&checkpoint));
                record.observed = format!("killed: {status:?}");
                self.pause(planned.outage_ms);
                lock(&self.fleet).restart(&planned.target)?;
            }
            Kind::DiskFull => {
                let (loud, observed) = self.fill_disk(&planned.target)?;
                let checkpoint = lock(&self.fleet).checkpoint(&planned.target)?.to_path_buf();
                record.failed_loudly = Some(loud);
                record.checkpoint_intact = Some(intact(&checkpoint));
                record.observed = observed;
                self.pause(planned.outage_ms);
                self.tmpfs.drain()?;
                lock(&self.fleet).restart(&planned.target)?;
            }
        }
        record.repaired_at = self.now();
        Ok(record)
    }

    /// Watches relay `name`'s checkpoint for its temporary file (written,
    /// synced, then renamed over the checkpoint) and SIGKILLs the relay the
    /// moment it is seen; after 20 s without one, kills it anyway.
    /// Whether the file was still there after the kill, and the exit.
    fn kill_during_write(
        &self,
        name: &str,
    ) -> anyhow::Result<(bool, Option<std::process::ExitStatus>)> {
        // The fleet stays locked while watching, so the kill is one
        // syscall away (the responder lane waits at most these 40 s).
        let mut fleet = lock(&self.fleet);
        let temporary = temporary_of(fleet.checkpoint(name)?);
        // A write the last kill interrupted left its temporary file: the
        // relay's next write replaces it, and only a later one counts.
        let deadline = Instant::now() + Duration::from_secs(20);
        while temporary.exists() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        while !temporary.exists() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_micros(100));
        }
        let status = fleet.kill(name)?;
        let hit = temporary.exists();
        Ok((hit, status))
    }

    /// Fills the tmpfs under relay `name`'s checkpoint and waits (60 s at
    /// most) for the relay to stop by itself; whether it did with an
    /// error naming its checkpoint, and what was seen.
    fn fill_disk(&self, name: &str) -> anyhow::Result<(bool, String)> {
        let filled = self.tmpfs.fill()?;
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let exited = lock(&self.fleet).exited(name)?;
            if let Some(status) = exited {
                let log = lock(&self.fleet).log(name)?;
                let loud = !status.success() && log.contains("checkpoint");
                let last = log.lines().last().unwrap_or_default().to_owned();
                return Ok((
                    loud,
                    format!("{filled} B filled; relay exited {status}: {last}"),
                ));
            }
            if Instant::now() >= deadline || self.abort.load(Ordering::Relaxed) {
                let status = lock(&self.fleet).kill(name)?;
                return Ok((
                    false,
                    format!(
                        "{filled} B filled; relay still ran (60 s or the abort), killed: {status:?}"
                    ),
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// The temporary file a durable replace of `path` writes first.
pub fn temporary_of(path: &Path) -> std::path::PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

/// Whether the checkpoint at `path` reads as JSON (absent counts as
/// intact: a relay that never settled anything has none yet).
pub fn intact(path: &Path) -> bool {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice::<serde_json::Value>(&bytes).is_ok(),
        Err(e) => e.kind() == std::io::ErrorKind::NotFound,
    }
}

/// Runs `scripts/network.sh` with `args`; its output goes to the run's log.
fn network_sh(args: &[&str]) -> anyhow::Result<()> {
    let output = Command::new(repo_root().join("scripts/network.sh"))
        .args(args)
        .envs(super::NETWORK_ENV)
        .output()
        .with_context(|| format!("running network.sh {}", args.join(" ")))?;
    if !output.status.success() {
        bail!(
            "network.sh {} failed ({}): {}",
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plan_follows_the_seed_and_has_each_kind_per_kind_times() {
        let a = plan(7, 20, 4000, 3000);
        assert_eq!(a, plan(7, 20, 4000, 3000), "same seed, same plan");
        assert_ne!(a, plan(8, 20, 4000, 3000), "another seed, another plan");
        let all: Vec<&Planned> = a.iter().flatten().collect();
        for kind in Kind::ALL {
            assert_eq!(
                all.iter().filter(|p| p.kind == kind).count(),
                20,
                "{kind:?}"
            );
        }
        for (index, lane) in a.iter().enumerate() {
            assert!(lane.iter().all(|p| p.kind.lane() == index));
        }
        assert!(
            all.iter()
                .all(|p| (1000..=4000).contains(&p.outage_ms) && p.gap_ms <= 3000)
        );
        assert!(all.iter().any(|p| p.network == "net1") && all.iter().any(|p| p.network == "net2"));
        assert!(
            all.iter()
                .filter(|p| p.kind == Kind::PeerKill)
                .all(|p| p.target.ends_with(&format!(".{}.example.com", p.network)))
        );
        assert!(plan(7, 0, 4000, 3000).iter().all(Vec::is_empty));
    }

    /// Regression (found by the soak): `network.sh restart` of a chaincode
    /// service exited 1 without a word, as the lookup of an operations port
    /// (none for a chaincode service) returned its last test's status under
    /// `set -e`. A stand-in service (a Python HTTP server on the ehrx
    /// chaincode port of net1 at base 43000) is restarted and killed.
    #[test]
    fn network_sh_restarts_and_kills_a_chaincode_service() {
        let home = std::env::temp_dir().join(format!("ehrx-soak-restart-{}", std::process::id()));
        let node = home.join("net1/nodes/chaincode-ehrx");
        std::fs::create_dir_all(&node).unwrap();
        std::fs::write(home.join("networks"), "net1 net2\n").unwrap();
        // A pid no process has: the node is down.
        std::fs::write(node.join("pid"), "999999999\n").unwrap();
        std::fs::write(
            node.join("command"),
            "python3 -m http.server --bind 127.0.0.1 43099 ",
        )
        .unwrap();
        let script = |args: &[&str]| {
            Command::new(repo_root().join("scripts/network.sh"))
                .args(args)
                .env("NETWORK_HOME", &home)
                .env("NETWORK_PORT_BASE", "43000")
                .output()
                .unwrap()
        };
        /// Kills what the script started, also when an assertion fails.
        struct Started(std::path::PathBuf);
        impl Drop for Started {
            fn drop(&mut self) {
                if let Ok(pid) = std::fs::read_to_string(&self.0) {
                    let _ = Command::new("kill").args(["-KILL", pid.trim()]).status();
                }
            }
        }
        let _started = Started(node.join("pid"));
        let restarted = script(&["restart", "net1", "chaincode-ehrx"]);
        assert!(restarted.status.success(), "{restarted:?}");
        let pid: u32 = std::fs::read_to_string(node.join("pid"))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert!(ehrx_lab::networks::process_alive(pid));
        let again = script(&["restart", "net1", "chaincode-ehrx"]);
        assert!(
            !again.status.success(),
            "a running node is not started twice"
        );
        let killed = script(&["kill", "net1", "chaincode-ehrx"]);
        assert!(killed.status.success(), "{killed:?}");
        let unknown = script(&["kill", "net1", "peer9"]);
        assert!(String::from_utf8_lossy(&unknown.stderr).contains("no node 'peer9'"));
        std::fs::remove_dir_all(&home).unwrap();
    }

    #[test]
    fn a_checkpoint_is_intact_when_absent_or_json_and_not_when_torn() {
        let dir = std::env::temp_dir().join(format!("ehrx-soak-intact-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("checkpoint.json");
        assert!(intact(&path));
        std::fs::write(&path, br#"{"block_number": 3}"#).unwrap();
        assert!(intact(&path));
        std::fs::write(&path, br#"{"block_num"#).unwrap();
        assert!(!intact(&path));
        assert_eq!(temporary_of(&path), dir.join("checkpoint.json.tmp"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
