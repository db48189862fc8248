//! Compiles `protos/` (package `ehrx.v1`) with protox (pure Rust, no `protoc` needed) and
//! generates prost messages plus tonic clients and servers into `OUT_DIR`.

use std::{env, error::Error, fs, path::PathBuf};

use prost::Message as _;

/// Every file under `protos/`, relative to that directory.
const PROTOS: &[&str] = &["ehrx/v1/exchange.proto"];

fn main() -> Result<(), Box<dyn Error>> {
    let root = PathBuf::from(env::var("CARGO_MANIFEST_DIR")?).join("protos");
    println!("cargo:rerun-if-changed={}", root.display());

    let fds = protox::compile(PROTOS, [&root])?;

    let out_dir = PathBuf::from(env::var("OUT_DIR")?);
    fs::write(out_dir.join("file_descriptor_set.bin"), fds.encode_to_vec())?;

    // No transport: the generated `connect` helpers need tonic's transport
    // feature, and the one for `service Chaincode` would clash with its
    // `connect` RPC method anyway.
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .build_transport(false)
        .compile_fds(fds)?;
    Ok(())
}
