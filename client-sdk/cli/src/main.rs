//! `ehrx`: the EHR exchange from the command line. Each step of an
//! exchange is one command on top of the `ehrx_client` library: an admin
//! sets a network up from a file, an uploader puts records, a doctor
//! requests a history and reads the reply, and the relay and responders
//! run as long-lived subcommands.
//!
//! Modules: [`args`] (the command line), [`target`] (which network and
//! identity a command acts as), [`patient`] (identifiers to a
//! `patient_ref`), [`keys`] (key files), [`setup`] (the admin's
//! declarative setup file), then one module per command family
//! ([`admin`], [`ehr`], [`request`], [`reply`], [`status`], [`consent`]), the
//! long-lived [`services`] with their [`responder_config`], and
//! [`output`] and [`progress`] for what the user sees.

mod admin;
mod args;
mod consent;
mod ehr;
mod keys;
mod output;
mod patient;
mod progress;
mod reply;
mod request;
mod responder_config;
mod services;
mod setup;
mod status;
mod target;
#[cfg(test)]
mod testing;
mod wait;

use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser as _;
use tracing_subscriber::EnvFilter;

use args::{Cli, Command, ServicesCommand};

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.command.is_service());
    match run(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {}", report(&error));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line. Library errors often print their
/// source in their own message too; a cause already said is not repeated.
fn report(error: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in error.chain() {
        let cause = cause.to_string();
        if text.contains(&cause) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&cause);
    }
    text
}

/// Logs go to stderr, filtered by RUST_LOG; services log their progress by
/// default, one-shot commands only warnings.
fn init_logging(service: bool) {
    let default = if service { "info" } else { "warn" };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let installed = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
    if let Err(error) = installed {
        eprintln!("warning: logs are off: {error}");
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    // One thread: the CLI waits on the network, and shares two cores with
    // the peers it talks to.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(dispatch(cli))
}

async fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    let out = output::Output::new(cli.json);
    let target = cli.target;
    match cli.command {
        Command::Admin(command) => admin::run(&target, &out, command).await?,
        Command::Keys(command) => keys::run(&out, command)?,
        Command::Ehr(command) => ehr::run(&target, &out, command).await?,
        Command::Request(command) => return request::run(&target, &out, command).await,
        Command::Reply(command) => reply::run(&target, &out, command).await?,
        Command::Status(command) => status::run_status(&target, &out, command).await?,
        Command::Audit(args) => match args.command {
            Some(command) => consent::run_audit(&target, &out, command).await?,
            None => status::run_audit(&target, &out, args).await?,
        },
        Command::Consent(command) => consent::run(&target, &out, command).await?,
        Command::Relay(command) => services::run_relay(command).await?,
        Command::Responder(command) => services::run_responder(command).await?,
        Command::Services(ServicesCommand::Wait(args)) => wait::run(&out, args).await?,
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_reports_say_each_cause_once() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let error = anyhow::Error::new(io)
            .context("cannot read x.json: no such file")
            .context("loading x");
        assert_eq!(
            report(&error),
            "loading x: cannot read x.json: no such file"
        );
        let error = anyhow::anyhow!("inner").context("outer");
        assert_eq!(report(&error), "outer: inner");
    }
}
