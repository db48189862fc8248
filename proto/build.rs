//! Generates the `ehrx.v1` messages and the `Relay` service from
//! `protos/ehrx/v1/exchange.proto` with protox (pure Rust, no `protoc`).
//! Only `google/protobuf/timestamp.proto` is imported, which protox knows.

use std::{env, error::Error, path::PathBuf};

fn main() -> Result<(), Box<dyn Error>> {
    let protos = PathBuf::from(env::var("CARGO_MANIFEST_DIR")?).join("protos");
    println!("cargo:rerun-if-changed={}", protos.display());
    // Clients and servers without tonic's transport: the relay brings its own.
    tonic_prost_build::configure()
        .build_transport(false)
        .compile_fds(protox::compile(["ehrx/v1/exchange.proto"], [&protos])?)?;
    Ok(())
}
