//! Brings the networks up for a test (two, and more joining while they
//! run) and guarantees they go down again.
//!
//! The networks use fixed ports, so at most one test in a process may hold
//! them: [`Networks::up`] takes a process-wide lock, and the drop of the
//! returned guard (also on panic) runs `scripts/network.sh down`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, MutexGuard, OnceLock};

use anyhow::{Context, bail};

use crate::NetworkDescription;

static NETWORKS_LOCK: Mutex<()> = Mutex::new(());

/// The repository root (the parent of this crate).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(".."))
}

/// Where `scripts/network.sh` keeps the networks' state.
pub fn network_home() -> PathBuf {
    std::env::var_os("NETWORK_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join(".network"))
}

/// Where `scripts/install-fabric.sh` installs Fabric: `FABRIC_HOME`, else
/// `.fabric`.
pub fn fabric_home() -> PathBuf {
    std::env::var_os("FABRIC_HOME").map_or_else(|| repo_root().join(".fabric"), PathBuf::from)
}

/// Where the active Fabric release's binaries are: `<fabric home>/bin`,
/// resolved, since it links to `releases/<release>/bin` and
/// `/proc/<pid>/exe` names the target.
pub fn fabric_bin_dir() -> PathBuf {
    let link = fabric_home().join("bin");
    std::fs::canonicalize(&link).unwrap_or(link)
}

/// How many networks may join after `up` (net3 to net5).
const JOINING: usize = 3;

#[derive(Debug)]
pub struct Networks {
    descriptions: Vec<NetworkDescription>,
    /// Networks that joined while the others ran, by number (net3 first);
    /// set once, so what `get` lent out stays put.
    joined: [OnceLock<NetworkDescription>; JOINING],
    stopped: bool,
    _lock: MutexGuard<'static, ()>,
}

impl Networks {
    /// Runs `scripts/network.sh up` and loads the descriptions.
    pub fn up() -> anyhow::Result<Self> {
        Self::up_with_env(&[])
    }

    /// As [`Self::up`], with extra environment variables for `network.sh`
    /// (e.g. `NETWORK_USERS_PER_ORG`), set for `up` only.
    pub fn up_with_env(env: &[(&str, &str)]) -> anyhow::Result<Self> {
        // A test that panicked while holding the lock has already torn down.
        let lock = NETWORKS_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        // A failed `up` cleans up after itself, and must not stop networks
        // someone else started, so the guard exists only once `up` succeeded.
        run_script_in(&["up"], env)?;
        let mut networks = Networks {
            descriptions: Vec::new(),
            joined: Default::default(),
            stopped: false,
            _lock: lock,
        };
        for name in network_names()? {
            networks.load(&name)?;
        }
        Ok(networks)
    }

    fn load(&mut self, name: &str) -> anyhow::Result<()> {
        self.descriptions
            .push(NetworkDescription::load(&description_path(name))?);
        Ok(())
    }

    /// Brings network `name` (`net3` to `net5`) up beside the running ones
    /// (`scripts/network.sh add <name>`), which keep running untouched,
    /// and loads its description. Their relays' configuration files gain a
    /// route to it, taken on a reload.
    pub fn add(&self, name: &str) -> anyhow::Result<&NetworkDescription> {
        let slot = name
            .strip_prefix("net")
            .and_then(|n| n.parse::<usize>().ok())
            .and_then(|n| n.checked_sub(3))
            .and_then(|index| self.joined.get(index))
            .with_context(|| format!("{name} cannot join: net3 to net{} can", 2 + JOINING))?;
        anyhow::ensure!(slot.get().is_none(), "{name} has already joined");
        run_script_with(&["add", name])?;
        let description = NetworkDescription::load(&description_path(name))?;
        Ok(slot.get_or_init(|| description))
    }

    /// Every network: those of `up`, then those that joined.
    pub fn every(&self) -> impl Iterator<Item = &NetworkDescription> {
        self.descriptions
            .iter()
            .chain(self.joined.iter().filter_map(OnceLock::get))
    }

    pub fn all(&self) -> &[NetworkDescription] {
        &self.descriptions
    }

    pub fn get(&self, name: &str) -> anyhow::Result<&NetworkDescription> {
        self.every()
            .find(|d| d.name == name)
            .with_context(|| format!("no network named {name}"))
    }

    /// The processes `up` and `add` started (Fabric nodes and chaincode
    /// services), as [`node_pids`] names them.
    pub fn node_pids(&self) -> anyhow::Result<Vec<(String, u32)>> {
        let names: Vec<&str> = self.every().map(|net| net.name.as_str()).collect();
        node_pids(&names)
    }

    /// Stops the processes of one network (`scripts/network.sh stop <net>`),
    /// keeping its state; the other network keeps running.
    pub fn stop_network(&self, name: &str) -> anyhow::Result<()> {
        self.get(name)?;
        run_script_with(&["stop", name])
    }

    /// Starts a network stopped by [`Self::stop_network`] again with its
    /// state (`scripts/network.sh start <net>`).
    pub fn start_network(&self, name: &str) -> anyhow::Result<()> {
        self.get(name)?;
        run_script_with(&["start", name])
    }

    /// Stops the networks now and reports a failure of `down`.
    pub fn down(mut self) -> anyhow::Result<()> {
        self.stopped = true;
        run_script("down")
    }
}

impl Drop for Networks {
    fn drop(&mut self) {
        if !self.stopped {
            // Errors cannot propagate from drop; `down` logs its own failures.
            let _ = run_script("down");
        }
    }
}

/// The processes `network.sh` started for networks `nets`, from their pid
/// files, each named `<net>/<node>` (every network has an `orderer`), in
/// order.
pub fn node_pids(nets: &[&str]) -> anyhow::Result<Vec<(String, u32)>> {
    let mut pids = Vec::new();
    for net in nets {
        let nodes = network_home().join(net).join("nodes");
        for entry in std::fs::read_dir(&nodes).with_context(|| format!("{}", nodes.display()))? {
            let dir = entry?.path();
            let pid_file = dir.join("pid");
            let text = std::fs::read_to_string(&pid_file)
                .with_context(|| format!("{}", pid_file.display()))?;
            let node = dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            pids.push((
                format!("{net}/{node}"),
                text.trim()
                    .parse()
                    .with_context(|| format!("{}", pid_file.display()))?,
            ));
        }
    }
    pids.sort_unstable();
    Ok(pids)
}

/// Network `net`'s `network.json`.
pub fn description_path(net: &str) -> PathBuf {
    network_home().join(net).join("network.json")
}

/// The networks `network.sh` brought up, in order, from the list it keeps
/// in `<network home>/networks`.
pub fn network_names() -> anyhow::Result<Vec<String>> {
    let path = network_home().join("networks");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    Ok(text.split_whitespace().map(str::to_owned).collect())
}

fn run_script(command: &str) -> anyhow::Result<()> {
    run_script_with(&[command])
}

fn run_script_with(args: &[&str]) -> anyhow::Result<()> {
    run_script_in(args, &[])
}

fn run_script_in(args: &[&str], env: &[(&str, &str)]) -> anyhow::Result<()> {
    let script = repo_root().join("scripts/network.sh");
    let command = args.join(" ");
    let mut process = Command::new(&script);
    // `up` builds the chaincode with cargo.
    without_cargo_test_env(&mut process);
    let status = process
        .args(args)
        .envs(env.iter().copied())
        .status()
        .with_context(|| format!("running {} {command}", script.display()))?;
    if !status.success() {
        bail!("{} {command} failed with {status}", script.display());
    }
    Ok(())
}

/// Removes what cargo sets for a running test (`CARGO_MANIFEST_DIR`,
/// `CARGO_PKG_*`...) from a command's environment. A cargo run by the test
/// would otherwise see them, and build scripts that watch them (ring's
/// does) would be dirty, so each build inside a test and each `cargo test`
/// around it would rebuild their dependents for the other.
pub fn without_cargo_test_env(command: &mut Command) {
    for (name, _) in std::env::vars_os() {
        let Some(name) = name.to_str() else { continue };
        let set_for_tests = name.starts_with("CARGO_PKG_")
            || name.starts_with("CARGO_MANIFEST_")
            || name.starts_with("CARGO_BIN_")
            || matches!(
                name,
                "CARGO_CRATE_NAME" | "CARGO_PRIMARY_PACKAGE" | "CARGO_TARGET_TMPDIR"
            );
        if set_for_tests {
            command.env_remove(name);
        }
    }
}

/// True while a process with this pid exists (Linux `/proc`).
pub fn process_alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// Pids of running processes whose executable lies in `dir` and whose
/// environment names `home` (every node `network.sh` starts has its state
/// folders there), so networks that others run from the same Fabric
/// install, with another `NETWORK_HOME`, do not count.
pub fn processes_running_from(dir: &Path, home: &Path) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let home = home.as_os_str().as_encoded_bytes();
    entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|exe| exe.starts_with(dir))
        })
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .is_ok_and(|environ| environ.windows(home.len()).any(|w| w == home))
        })
        .collect()
}
