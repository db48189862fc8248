//! A Fabric external builder for chaincode-as-a-service packages.
//!
//! The peer runs `bin/detect`, `bin/build` and `bin/release` of every
//! configured external builder (see Fabric's "external builders and
//! launchers"). This one binary is installed under all three names and picks
//! its role from the name it was started as. It accepts packages whose
//! `metadata.json` has `"type": "ccaas"`, checks that the package's
//! `connection.json` is one the peer can dial, and releases it to
//! `chaincode/server/connection.json`, which makes the peer connect to the
//! chaincode server instead of launching anything.
//!
//! We ship our own because the builder nested in Fabric's repository is not
//! served by the Go module proxy for the Fabric release we install.

mod builder;
mod connection;

use std::path::PathBuf;
use std::process::ExitCode;

use builder::{BuilderError, Role};

fn main() -> ExitCode {
    let mut args = std::env::args_os();
    let program = args.next().map(PathBuf::from).unwrap_or_default();
    let args: Vec<PathBuf> = args.map(PathBuf::from).collect();
    let outcome = Role::from_program(&program).and_then(|role| role.run(&args));
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        // Not our package type: a quiet refusal lets the peer try the next builder.
        Err(BuilderError::NotCcaas) => ExitCode::FAILURE,
        Err(err) => {
            // The peer copies a builder's stderr into its own log.
            #[allow(clippy::print_stderr)]
            {
                eprintln!("ccaas-builder: {err}");
            }
            ExitCode::FAILURE
        }
    }
}
