//! The `ehrx` command-line tool run as child processes, the way an admin,
//! a doctor or an uploader runs it: one-shot commands with their exit
//! status and output, and the long-lived relays and responders, which are
//! stopped (SIGTERM, then SIGKILL) when their guard is dropped, also when a
//! test fails.
//!
//! The binary belongs to another package, so `CARGO_BIN_EXE_ehrx` is not
//! available here: [`ehrx_binary`] builds it once per test process with the
//! same cargo, which honours `CARGO_TARGET_DIR` and any cargo config, and
//! takes the path cargo reports.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow, bail};
use serde_json::Value;

use crate::NetworkDescription;
use crate::networks::{description_path, network_home, repo_root, without_cargo_test_env};

/// How long a one-shot command may take unless told otherwise: `request`
/// waits up to its own `--timeout` (120 s by default) on top of start-up.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(180);

/// The environment the CLI reads its identity and log filter from; cleared
/// so a developer's shell cannot change what a test runs.
const CLEARED_ENV: &[&str] = &["EHRX_NETWORK", "EHRX_ORG", "EHRX_USER", "RUST_LOG"];

/// Builds `ehrx` (once per process) and returns its path.
pub fn ehrx_binary() -> anyhow::Result<PathBuf> {
    static BINARY: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BINARY
        .get_or_init(|| build_ehrx().map_err(|e| format!("{e:#}")))
        .clone()
        .map_err(|e| anyhow!("building ehrx: {e}"))
}

fn build_ehrx() -> anyhow::Result<PathBuf> {
    let mut command = Command::new(env!("CARGO"));
    without_cargo_test_env(&mut command);
    let output = command
        .current_dir(repo_root())
        .args([
            "build",
            "-p",
            "ehrx-cli",
            "--bin",
            "ehrx",
            "--message-format=json-render-diagnostics",
        ])
        .stderr(Stdio::inherit())
        .output()
        .context("running cargo build")?;
    if !output.status.success() {
        bail!(
            "cargo build -p ehrx-cli --bin ehrx failed with {}",
            output.status
        );
    }
    // One JSON message per line; the binary's artifact names its path.
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|message| {
            message["reason"] == "compiler-artifact" && message["target"]["name"] == "ehrx"
        })
        .find_map(|message| message["executable"].as_str().map(PathBuf::from))
        .context("cargo reported no executable for ehrx")
}

/// The `ehrx` binary, run in a working directory, optionally as one
/// identity (`--network --org --user`, given before every subcommand).
#[derive(Debug, Clone)]
pub struct Ehrx {
    binary: PathBuf,
    dir: PathBuf,
    identity: Vec<OsString>,
}

impl Ehrx {
    /// The CLI run in `dir`, with no identity; builds it if needed.
    pub fn new(dir: &Path) -> anyhow::Result<Self> {
        Ok(Self {
            binary: ehrx_binary()?,
            dir: dir.to_path_buf(),
            identity: Vec::new(),
        })
    }

    /// The same CLI acting as `user` of `org` in the network described by
    /// `network_json`.
    pub fn as_user(&self, network_json: &Path, org: &str, user: &str) -> Self {
        let mut identity: Vec<OsString> = vec!["--network".into(), network_json.into()];
        identity.extend(["--org", org, "--user", user].map(OsString::from));
        Self {
            identity,
            ..self.clone()
        }
    }

    fn command<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut command = Command::new(&self.binary);
        command
            .current_dir(&self.dir)
            .args(&self.identity)
            .args(args)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null());
        for name in CLEARED_ENV {
            command.env_remove(name);
        }
        command
    }

    /// Starts a one-shot command; [`Running::finish`] collects it.
    pub fn start<I, S>(&self, args: I) -> anyhow::Result<Running>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut command = self.command(args);
        let shown = shown(&command);
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {shown}"))?;
        // Both pipes are drained as the command runs, so a chatty command
        // cannot block on a full pipe.
        let stdout = drain(child.stdout.take());
        let stderr = drain(child.stderr.take());
        Ok(Running {
            shown,
            started: Instant::now(),
            child,
            stdout,
            stderr,
        })
    }

    /// Runs a command to its end ([`DEFAULT_TIMEOUT`] at most), whatever
    /// its exit status.
    pub fn run<I, S>(&self, args: I) -> anyhow::Result<Run>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.start(args)?.finish(DEFAULT_TIMEOUT)
    }

    /// Writes `<net>.pub` in the working directory: network `net`'s public
    /// key as `ehrx admin network-key` prints it from its relay's secret
    /// key file, for the other admins' setup files. Returns the key (hex).
    pub fn publish_network_key(&self, net: &str) -> anyhow::Result<String> {
        let secret = network_home().join(net).join("relay/network-key.hex");
        let run = self.ok([
            OsStr::new("admin"),
            OsStr::new("network-key"),
            OsStr::new("--key-file"),
            secret.as_os_str(),
        ])?;
        let path = self.dir.join(format!("{net}.pub"));
        std::fs::write(&path, &run.stdout)
            .with_context(|| format!("writing {}", path.display()))?;
        Ok(run.stdout.trim().to_owned())
    }

    /// Runs a command that must succeed (exit status 0).
    pub fn ok<I, S>(&self, args: I) -> anyhow::Result<Run>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.run(args)?.success()
    }

    /// `ehrx --json ehr synthetic --seed <seed> --count <count>` with the
    /// tests' consortium key `matching.key`: stores synthetic patients and
    /// returns what it printed (each patient's identifiers and records).
    pub fn synthetic(&self, seed: &str, count: &str) -> anyhow::Result<Run> {
        self.ok([
            "--json",
            "ehr",
            "synthetic",
            "--seed",
            seed,
            "--count",
            count,
            "--matching-key",
            "matching.key",
        ])
    }

    /// `ehrx --json reply show <request_id>` with the reply keys in the
    /// tests' key store `reply-keys`: the reply, parsed.
    pub fn reply_json(&self, request_id: &str) -> anyhow::Result<Value> {
        self.ok(["--json"].into_iter().chain(reply_args(request_id)))?
            .json()
    }

    /// Starts a long-lived command (`relay`, `responder`) named `name`, its
    /// stdout and stderr going to `<dir>/<name>.log`.
    pub fn spawn_service<I, S>(&self, name: &str, args: I) -> anyhow::Result<Service>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let log = self.dir.join(format!("{name}.log"));
        let file = File::create(&log).with_context(|| format!("creating {}", log.display()))?;
        let mut command = self.command(args);
        let shown = shown(&command);
        let child = command
            .stdout(file.try_clone()?)
            .stderr(file)
            .spawn()
            .with_context(|| format!("starting {shown}"))?;
        Ok(Service {
            name: name.to_string(),
            log,
            child: Some(child),
        })
    }

    /// `ehrx relay --config <net's relay config> [extra…]`, named
    /// `relay-<net>`.
    pub fn spawn_relay(&self, net: &str, extra: &[&str]) -> anyhow::Result<Service> {
        let config = crate::exchange::relay_config_path(net);
        let args = [
            OsStr::new("relay"),
            OsStr::new("--config"),
            config.as_os_str(),
        ];
        self.spawn_service(
            &format!("relay-{net}"),
            args.into_iter().chain(extra.iter().map(OsStr::new)),
        )
    }

    /// `ehrx responder --config <config>`, named `responder-<name>`.
    pub fn spawn_responder(&self, name: &str, config: &Path) -> anyhow::Result<Service> {
        self.spawn_service(
            &format!("responder-{name}"),
            [
                OsStr::new("responder"),
                OsStr::new("--config"),
                config.as_os_str(),
            ],
        )
    }
}

/// The command line as a person would type it, for messages.
fn shown(command: &Command) -> String {
    let program = Path::new(command.get_program())
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    std::iter::once(program)
        .chain(command.get_args().map(|a| a.to_string_lossy().into_owned()))
        .collect::<Vec<_>>()
        .join(" ")
}

fn drain<R: Read + Send + 'static>(pipe: Option<R>) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            // A read error ends the capture; what was read is kept.
            let _ = pipe.read_to_end(&mut bytes);
        }
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// A one-shot command still running.
#[derive(Debug)]
pub struct Running {
    shown: String,
    started: Instant,
    child: Child,
    stdout: JoinHandle<String>,
    stderr: JoinHandle<String>,
}

impl Running {
    /// Waits for the command to end; one still running after `timeout` is
    /// killed and reported as an error with what it printed.
    pub fn finish(mut self, timeout: Duration) -> anyhow::Result<Run> {
        let deadline = Instant::now() + timeout;
        let status = loop {
            if let Some(status) = self.child.try_wait()? {
                break Some(status);
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let joined = |handle: JoinHandle<String>| {
            handle
                .join()
                .unwrap_or_else(|_| "(output lost)".to_string())
        };
        let run = Run {
            command: self.shown,
            code: status.and_then(|s| s.code()),
            stdout: joined(self.stdout),
            stderr: joined(self.stderr),
        };
        if status.is_none() {
            bail!("timed out after {timeout:?}, killed: {run}");
        }
        // The flow as a person would have typed it, with timings, in the
        // test's output (shown with --nocapture or on failure).
        eprintln!(
            "$ {}  [exit {}, {:.1?}]",
            run.command,
            run.code
                .map_or_else(|| "by a signal".into(), |c| c.to_string()),
            self.started.elapsed()
        );
        if run.code != Some(0) {
            for line in run.stderr.lines() {
                eprintln!("  {line}");
            }
        }
        Ok(run)
    }
}

/// A finished one-shot command.
#[derive(Debug, Clone)]
pub struct Run {
    /// The command line.
    pub command: String,
    /// The exit code (`None` if a signal ended it).
    pub code: Option<i32>,
    /// What it printed on stdout.
    pub stdout: String,
    /// What it printed on stderr.
    pub stderr: String,
}

impl Run {
    /// The run, if it exited with status 0; else an error with its output.
    pub fn success(self) -> anyhow::Result<Self> {
        if self.code != Some(0) {
            bail!("{self}");
        }
        Ok(self)
    }

    /// Stdout as JSON (for commands run with `--json`).
    pub fn json(&self) -> anyhow::Result<Value> {
        serde_json::from_str(&self.stdout).with_context(|| format!("stdout is not JSON: {self}"))
    }
}

impl fmt::Display for Run {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let code = self
            .code
            .map_or_else(|| "a signal".to_string(), |c| c.to_string());
        write!(
            f,
            "`{}` exited with {code}\n--- stdout\n{}--- stderr\n{}---",
            self.command, self.stdout, self.stderr
        )
    }
}

/// A long-lived `ehrx` process. Dropping it stops it.
#[derive(Debug)]
pub struct Service {
    name: String,
    log: PathBuf,
    child: Option<Child>,
}

impl Service {
    /// The service's name (its log is `<name>.log`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `relay` or `responder`, by its name (`relay-…` or another): the
    /// word its log lines start with, e.g. `relay ready`.
    pub fn role(&self) -> &'static str {
        if self.name.starts_with("relay") {
            "relay"
        } else {
            "responder"
        }
    }

    /// Everything the service logged so far.
    pub fn log(&self) -> String {
        std::fs::read(&self.log)
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .unwrap_or_default()
    }

    /// Waits until the log contains `needle`; fails at `timeout` or if the
    /// process ends first, with the log.
    pub fn wait_for_log(&mut self, needle: &str, timeout: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            if self.log().contains(needle) {
                return Ok(());
            }
            if let Some(child) = self.child.as_mut()
                && let Some(status) = child.try_wait()?
            {
                bail!(
                    "{} exited with {status} before logging {needle:?}:\n{}",
                    self.name,
                    self.log()
                );
            }
            if Instant::now() >= deadline {
                bail!(
                    "{} did not log {needle:?} within {timeout:?}:\n{}",
                    self.name,
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Sends SIGHUP (a relay reloads its configuration file).
    pub fn hangup(&self) -> anyhow::Result<()> {
        let Some(child) = self.child.as_ref() else {
            bail!("{} was already stopped", self.name);
        };
        let status = Command::new("kill")
            .args(["-HUP", &child.id().to_string()])
            .status()
            .context("running kill -HUP")?;
        if !status.success() {
            bail!(
                "kill -HUP {} ({}) failed with {status}",
                child.id(),
                self.name
            );
        }
        Ok(())
    }

    /// How the process ended, or `None` while it runs (also after
    /// [`Self::kill`] or [`Self::stop`], which reap it).
    pub fn exited(&mut self) -> anyhow::Result<Option<ExitStatus>> {
        match self.child.as_mut() {
            Some(child) => Ok(child.try_wait()?),
            None => Ok(None),
        }
    }

    /// Sends SIGKILL at once, as a crash would, and reaps the process; its
    /// exit status, or `None` if it had already been stopped.
    pub fn kill(&mut self) -> anyhow::Result<Option<ExitStatus>> {
        let Some(mut child) = self.child.take() else {
            return Ok(None);
        };
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        child.kill()?;
        Ok(Some(child.wait()?))
    }

    /// The process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Sends SIGTERM and waits up to `timeout` for the process to end; a
    /// process still running then is killed. Returns how it ended (`None`
    /// when it had to be killed).
    pub fn stop(&mut self, timeout: Duration) -> anyhow::Result<Option<ExitStatus>> {
        let Some(mut child) = self.child.take() else {
            bail!("{} was already stopped", self.name);
        };
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        // By pid, and only this child: std has no SIGTERM of its own.
        let sent = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let deadline = Instant::now() + timeout;
        if sent.is_ok_and(|s| s.success()) {
            while Instant::now() < deadline {
                if let Some(status) = child.try_wait()? {
                    return Ok(Some(status));
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        child.kill()?;
        child.wait()?;
        Ok(None)
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if self.child.is_some() {
            // Errors cannot propagate from drop; `stop` kills as a last resort.
            let _ = self.stop(Duration::from_secs(10));
        }
    }
}

/// Services stopped together: [`Services::stop_all`] at the end of a test,
/// or the drop of each on the way out of a failed one.
#[derive(Debug, Default)]
pub struct Services(Vec<Service>);

impl Services {
    /// The walkthrough's services, run by `ehrx` in `dir`: the relays of
    /// I and II (`ehrx relay`, their configuration files) and a responder
    /// per organisation of `net2` (`ehrx responder`, User1 of each), once
    /// each has logged that it started (within `timeout`).
    pub fn walkthrough(
        ehrx: &Ehrx,
        dir: &Path,
        net2: &NetworkDescription,
        timeout: Duration,
    ) -> anyhow::Result<Self> {
        let mut services = Self::default();
        for net in ["net1", "net2"] {
            services.push(ehrx.spawn_relay(net, &[])?);
        }
        for (index, org) in net2.organizations.iter().enumerate() {
            let name = format!("org{}", index + 1);
            let config =
                write_responder_config(dir, "net2", &name, &org.msp_id, serde_json::json!({}))?;
            services.push(ehrx.spawn_responder(&name, &config)?);
        }
        for service in services.iter_mut() {
            let started = format!("{} started", service.role());
            service.wait_for_log(&started, timeout)?;
        }
        Ok(services)
    }

    /// Adds a running service.
    pub fn push(&mut self, service: Service) {
        self.0.push(service);
    }

    /// The running services.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut Service> {
        self.0.iter_mut()
    }

    /// Stops every service with SIGTERM; fails unless each ended by itself
    /// within `timeout` with status 0 (a graceful shutdown).
    pub fn stop_all(&mut self, timeout: Duration) -> anyhow::Result<()> {
        let mut failures = Vec::new();
        for mut service in self.0.drain(..) {
            match service.stop(timeout) {
                Ok(Some(status)) if status.success() => {}
                Ok(Some(status)) => failures.push(format!(
                    "{} ended with {status}:\n{}",
                    service.name,
                    service.log()
                )),
                Ok(None) => failures.push(format!(
                    "{} did not stop within {timeout:?} of SIGTERM and was killed:\n{}",
                    service.name,
                    service.log()
                )),
                Err(e) => failures.push(format!("stopping {}: {e:#}", service.name)),
            }
        }
        if !failures.is_empty() {
            bail!("{}", failures.join("\n\n"));
        }
        Ok(())
    }
}

/// A relay's `GET /healthz` answer, waiting up to `timeout` for it to
/// answer 200.
pub fn healthz(address: &str, timeout: Duration) -> anyhow::Result<Value> {
    let deadline = Instant::now() + timeout;
    loop {
        let answer = std::net::TcpStream::connect(address).and_then(|mut stream| {
            use std::io::Write as _;
            stream.set_read_timeout(Some(Duration::from_secs(5)))?;
            write!(
                stream,
                "GET /healthz HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
            )?;
            let mut answer = String::new();
            stream.read_to_string(&mut answer)?;
            Ok(answer)
        });
        if let Ok(answer) = &answer
            && answer.starts_with("HTTP/1.1 200")
            && let Some((_, body)) = answer.split_once("\r\n\r\n")
        {
            return serde_json::from_str(body).with_context(|| format!("health report {body:?}"));
        }
        if Instant::now() >= deadline {
            bail!("no health report at {address} within {timeout:?}: {answer:?}");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// `base/test`, emptied: a test's working directory, kept after the run
/// (with the services' logs) for a look when something failed.
pub fn fresh_dir(base: &Path, test: &str) -> anyhow::Result<PathBuf> {
    let dir = base.join(test);
    if dir.exists() {
        std::fs::remove_dir_all(&dir).with_context(|| format!("emptying {}", dir.display()))?;
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

/// Writes `value` to `path` as pretty JSON (a setup or service file).
pub fn write_json(path: &Path, value: &Value) -> anyhow::Result<()> {
    std::fs::write(path, serde_json::to_string_pretty(value)?)
        .with_context(|| format!("writing {}", path.display()))
}

/// The `trust` section of a setup file for `other`: its channel, every
/// organisation's CA root certificate file, every organisation endorsing.
pub fn setup_trust(other: &NetworkDescription) -> Value {
    let organizations: Vec<Value> = other
        .organizations
        .iter()
        .map(|org| serde_json::json!({"msp_id": org.msp_id, "root_certificate_files": [org.ca_cert]}))
        .collect();
    serde_json::json!({"channel": other.channel, "organizations": organizations, "policy": "all"})
}

/// The setup files of the CLI walkthrough in `dir`, as each admin writes
/// them: `setup-net1.json` (network I's rate limit, II in its lookup table,
/// the doctor `doctor_code` as User2 with `doctor.key`, the relay User3) and
/// `setup-net2.json` (I in its lookup table, the relay User3, the uploader
/// User2, a responder User1 in each organisation). The other networks'
/// public keys are `net1.pub` and `net2.pub` in `dir`.
pub fn write_walkthrough_setup(
    dir: &Path,
    net1: &NetworkDescription,
    net2: &NetworkDescription,
    doctor_code: &str,
) -> anyhow::Result<()> {
    let responders: Vec<Value> = net2
        .organizations
        .iter()
        .map(|org| serde_json::json!({"user": "User1", "org": org.msp_id}))
        .collect();
    write_json(
        &dir.join("setup-net1.json"),
        &serde_json::json!({
            "network": {"network_id": "net1", "rate_limit_max": 5, "rate_limit_window_seconds": 60},
            "remote_networks": [{"network_id": "net2", "network_key_file": "net2.pub", "trust": setup_trust(net2)}],
            "requesters": [{"code": doctor_code, "user": "User2", "requester_key_file": "doctor.key"}],
            "relays": [{"user": "User3"}],
        }),
    )?;
    write_json(
        &dir.join("setup-net2.json"),
        &serde_json::json!({
            "network": {"network_id": "net2", "rate_limit_max": 5},
            "remote_networks": [{"network_id": "net1", "network_key_file": "net1.pub", "trust": setup_trust(net1)}],
            "relays": [{"user": "User3"}],
            "uploaders": [{"user": "User2"}],
            "responders": responders,
        }),
    )
}

/// Writes `responder-<name>.json` in `dir`: a responder of network `net`
/// answering as User1 of `msp_id`, with `extra` fields (e.g.
/// `health_address`) added. Returns its path.
pub fn write_responder_config(
    dir: &Path,
    net: &str,
    name: &str,
    msp_id: &str,
    extra: Value,
) -> anyhow::Result<PathBuf> {
    let mut config = serde_json::json!({
        "network_description": description_path(net),
        "identity": {"msp_id": msp_id, "user": "User1"},
        "checkpoint_file": format!("responder-{name}-checkpoint.json"),
        "retry": {"initial_ms": 200, "max_ms": 5000},
    });
    if let (Some(fields), Value::Object(extra)) = (config.as_object_mut(), extra) {
        fields.extend(extra);
    }
    let path = dir.join(format!("responder-{name}.json"));
    write_json(&path, &config)?;
    Ok(path)
}

/// The options of `ehrx request` naming the requester `code` and where
/// the tests' doctor keeps their keys: the requester key `doctor.key` and
/// the reply key store `reply-keys`, in the working directory.
pub fn requester_args(code: &str) -> [&str; 6] {
    [
        "--requester-code",
        code,
        "--requester-key",
        "doctor.key",
        "--key-store",
        "reply-keys",
    ]
}

/// `reply show <request_id>` with the reply keys in the tests' key store
/// `reply-keys`.
pub fn reply_args(request_id: &str) -> [&str; 5] {
    ["reply", "show", request_id, "--key-store", "reply-keys"]
}

/// The options naming a patient by the identifiers `ehrx ehr synthetic`
/// printed for it (`name`, `date_of_birth`, `ssn`), keyed with the
/// matching key file `matching.key`.
pub fn patient_args(patient: &Value) -> anyhow::Result<Vec<String>> {
    let field = |name: &str| {
        patient[name]
            .as_str()
            .map(str::to_owned)
            .with_context(|| format!("the patient has no {name}: {patient}"))
    };
    Ok(vec![
        "--patient-name".into(),
        field("name")?,
        "--dob".into(),
        field("date_of_birth")?,
        "--ssn".into(),
        field("ssn")?,
        "--matching-key".into(),
        "matching.key".into(),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt as _;

    /// A shell in place of `ehrx`: the service machinery is the same.
    fn shell(test: &str) -> Ehrx {
        let dir = std::env::temp_dir().join(format!("ehrx-lab-{test}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Ehrx {
            binary: PathBuf::from("/bin/sh"),
            dir,
            identity: Vec::new(),
        }
    }

    #[test]
    fn a_killed_service_is_reaped_and_a_crashed_one_reports_its_exit() {
        let sh = shell("kill");
        let mut sleeper = sh.spawn_service("sleeper", ["-c", "sleep 30"]).unwrap();
        assert_eq!(sleeper.exited().unwrap(), None);
        let status = sleeper.kill().unwrap().unwrap();
        assert_eq!(status.signal(), Some(9), "SIGKILL, as a crash");
        assert_eq!(sleeper.pid(), None);
        assert_eq!(sleeper.kill().unwrap(), None, "already gone");

        let mut crashing = sh
            .spawn_service("crashing", ["-c", "echo checkpoint: no space; exit 3"])
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        let status = loop {
            if let Some(status) = crashing.exited().unwrap() {
                break status;
            }
            assert!(Instant::now() < deadline, "the shell did not exit");
            std::thread::sleep(Duration::from_millis(20));
        };
        assert_eq!(status.code(), Some(3));
        assert!(crashing.log().contains("no space"));
        std::fs::remove_dir_all(&sh.dir).unwrap();
    }
}
