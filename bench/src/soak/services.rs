//! The exchange's services as `ehrx` processes the injector can kill: each
//! network's relay and a responder per organisation of network II, and the
//! small tmpfs under network II's relay checkpoint that the disk-full
//! fault fills.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::time::Duration;

use anyhow::{Context as _, bail};
use ehrx_lab::NetworkDescription;
use ehrx_lab::ehrx_cli::{Ehrx, Service, write_json};
use ehrx_lab::exchange::{org, relay_config_path};
use ehrx_lab::networks::description_path;
use serde_json::{Value, json};

/// How long a (re)started service may take to say it started.
const START_TIMEOUT: Duration = Duration::from_secs(90);

/// The relay whose checkpoint sits on the small tmpfs.
pub const TMPFS_RELAY: &str = "net2";

/// A tmpfs mounted for the run and unmounted when dropped.
#[derive(Debug)]
pub struct Tmpfs {
    dir: PathBuf,
    mounted: bool,
}

impl Tmpfs {
    /// Mounts a tmpfs of `kib` KiB at `dir` (created); needs root.
    pub fn mount(dir: &Path, kib: u64) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let status = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={kib}k,mode=0700"),
                "tmpfs",
            ])
            .arg(dir)
            .status()
            .context("running mount")?;
        if !status.success() {
            bail!(
                "mounting a tmpfs at {} failed ({status}); the disk-full fault needs root",
                dir.display()
            );
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            mounted: true,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Fills the file system with `filler` until it is full; returns the
    /// bytes written.
    pub fn fill(&self) -> anyhow::Result<u64> {
        fill_until_full(&self.dir.join("filler"))
    }

    /// Gives the space back.
    pub fn drain(&self) -> anyhow::Result<()> {
        match std::fs::remove_file(self.dir.join("filler")) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }

    /// Unmounts now, reporting a failure.
    pub fn unmount(mut self) -> anyhow::Result<()> {
        self.mounted = false;
        unmount(&self.dir)
    }
}

fn unmount(dir: &Path) -> anyhow::Result<()> {
    let status = Command::new("umount")
        .arg(dir)
        .status()
        .context("running umount")?;
    anyhow::ensure!(
        status.success(),
        "umount {} failed: {status}",
        dir.display()
    );
    Ok(())
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        if self.mounted {
            // Errors cannot propagate from drop; soak.sh unmounts as well.
            let _ = unmount(&self.dir);
        }
    }
}

/// Writes zeros to `path` until the file system refuses more (ENOSPC);
/// returns how many bytes went in. Any other error is an error.
pub fn fill_until_full(path: &Path) -> anyhow::Result<u64> {
    use std::io::Write as _;
    let mut file =
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let chunk = vec![0u8; 16 * 1024];
    let mut written = 0u64;
    loop {
        match file.write(&chunk) {
            Ok(0) => return Ok(written),
            Ok(n) => written += n as u64,
            Err(e) if e.raw_os_error() == Some(28) => return Ok(written),
            Err(e) => return Err(e).with_context(|| format!("filling {}", path.display())),
        }
    }
}

/// One long-lived `ehrx` service and how to start it again.
#[derive(Debug)]
struct Slot {
    name: String,
    args: Vec<String>,
    ehrx: Ehrx,
    /// Where its files go.
    dir: PathBuf,
    service: Option<Service>,
    starts: u32,
    /// What it logs once ready.
    ready: &'static str,
}

impl Slot {
    fn start(&mut self) -> anyhow::Result<()> {
        self.starts += 1;
        // A log per start: a crash's log is kept for the report.
        let mut service = self
            .ehrx
            .spawn_service(&format!("{}.{}", self.name, self.starts), &self.args)?;
        // For scripts/soak.sh, should this process die without stopping it.
        if let Some(pid) = service.pid() {
            std::fs::write(self.dir.join(format!("{}.pid", self.name)), pid.to_string())?;
        }
        service
            .wait_for_log(self.ready, START_TIMEOUT)
            .with_context(|| format!("starting {} (start {})", self.name, self.starts))?;
        self.service = Some(service);
        Ok(())
    }
}

/// The relays and responders of the run.
#[derive(Debug)]
pub struct Fleet {
    slots: BTreeMap<String, Slot>,
    checkpoints: BTreeMap<String, PathBuf>,
}

impl Fleet {
    /// Starts both relays (network II's with its checkpoint in
    /// `checkpoint_dir`) and a responder per organisation of `net2`,
    /// writing their files and logs to `dir`.
    pub fn start(
        dir: &Path,
        net2: &NetworkDescription,
        checkpoint_dir: &Path,
    ) -> anyhow::Result<Self> {
        let ehrx = Ehrx::new(dir)?;
        let mut slots = BTreeMap::new();
        let mut checkpoints = BTreeMap::new();
        for net in ["net1", TMPFS_RELAY] {
            let mut config: Value = serde_json::from_slice(
                &std::fs::read(relay_config_path(net))
                    .with_context(|| format!("reading {net}'s relay configuration"))?,
            )?;
            if net == TMPFS_RELAY {
                config["checkpoint_file"] =
                    json!(checkpoint_dir.join("checkpoint.json").to_string_lossy());
            }
            let checkpoint = PathBuf::from(
                config["checkpoint_file"]
                    .as_str()
                    .context("a relay configuration without checkpoint_file")?,
            );
            let path = dir.join(format!("relay-{net}.json"));
            write_json(&path, &config)?;
            checkpoints.insert(format!("relay-{net}"), checkpoint);
            slots.insert(
                format!("relay-{net}"),
                Slot {
                    name: format!("relay-{net}"),
                    args: vec!["relay".into(), "--config".into(), path_arg(&path)],
                    ehrx: ehrx.clone(),
                    dir: dir.to_path_buf(),
                    service: None,
                    starts: 0,
                    ready: "relay started",
                },
            );
        }
        for short in ["org1", "org2"] {
            let msp_id = &org(net2, short)?.msp_id;
            let path = dir.join(format!("responder-{short}.json"));
            write_json(
                &path,
                &json!({
                    "network_description": description_path(&net2.name),
                    "identity": {"msp_id": msp_id, "user": "User1"},
                    "checkpoint_file": dir.join(format!("responder-{short}-checkpoint.json")),
                    "retry": {"initial_ms": 200, "max_ms": 5000},
                }),
            )?;
            let name = format!("responder-{short}");
            slots.insert(
                name.clone(),
                Slot {
                    name,
                    args: vec!["responder".into(), "--config".into(), path_arg(&path)],
                    ehrx: ehrx.clone(),
                    dir: dir.to_path_buf(),
                    service: None,
                    starts: 0,
                    ready: "responder started",
                },
            );
        }
        let mut fleet = Self { slots, checkpoints };
        for slot in fleet.slots.values_mut() {
            slot.start()?;
        }
        Ok(fleet)
    }

    /// Names of the services, e.g. `relay-net1`, `responder-org2`.
    pub fn names(&self) -> Vec<String> {
        self.slots.keys().cloned().collect()
    }

    fn slot(&mut self, name: &str) -> anyhow::Result<&mut Slot> {
        self.slots
            .get_mut(name)
            .with_context(|| format!("no service {name}"))
    }

    /// The checkpoint file of relay `name`.
    pub fn checkpoint(&self, name: &str) -> anyhow::Result<&Path> {
        self.checkpoints
            .get(name)
            .map(PathBuf::as_path)
            .with_context(|| format!("no relay {name}"))
    }

    /// SIGKILLs service `name`; its exit status.
    pub fn kill(&mut self, name: &str) -> anyhow::Result<Option<ExitStatus>> {
        match self.slot(name)?.service.as_mut() {
            Some(service) => service.kill(),
            None => Ok(None),
        }
    }

    /// The process id of service `name`, while it runs.
    pub fn pid(&mut self, name: &str) -> anyhow::Result<Option<u32>> {
        Ok(self.slot(name)?.service.as_ref().and_then(Service::pid))
    }

    /// How service `name` ended, if it did by itself.
    pub fn exited(&mut self, name: &str) -> anyhow::Result<Option<ExitStatus>> {
        match self.slot(name)?.service.as_mut() {
            Some(service) => service.exited(),
            None => Ok(None),
        }
    }

    /// The log of the current start of service `name`.
    pub fn log(&mut self, name: &str) -> anyhow::Result<String> {
        Ok(self
            .slot(name)?
            .service
            .as_ref()
            .map(Service::log)
            .unwrap_or_default())
    }

    /// Starts service `name` again (after a kill or a crash) and waits
    /// until it says it started.
    pub fn restart(&mut self, name: &str) -> anyhow::Result<()> {
        let slot = self.slot(name)?;
        if let Some(mut old) = slot.service.take() {
            // Reaped if it crashed; killed if it somehow still runs.
            old.kill()?;
        }
        slot.start()
    }

    /// Stops every service (SIGTERM, then SIGKILL after 20 s).
    pub fn stop_all(&mut self) -> anyhow::Result<()> {
        let mut outcome = Ok(());
        for slot in self.slots.values_mut() {
            if let Some(mut service) = slot.service.take()
                && let Err(error) = service.stop(Duration::from_secs(20))
                && outcome.is_ok()
            {
                outcome = Err(error);
            }
            let _ = std::fs::remove_file(slot.dir.join(format!("{}.pid", slot.name)));
        }
        outcome
    }
}

fn path_arg(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_file_system_stops_the_filler_without_error() {
        // /dev/full refuses every write with ENOSPC, like a full tmpfs.
        let written = fill_until_full(Path::new("/dev/full")).unwrap();
        assert_eq!(written, 0);
    }

    #[test]
    fn another_write_error_is_reported() {
        let error = fill_until_full(Path::new("/nonexistent-dir/filler")).unwrap_err();
        assert!(error.to_string().contains("creating"), "{error}");
    }
}
