//! The chaincode server's command line: each flag falls back to the
//! environment variable a peer's `connection.json` deployment sets, so the
//! same binary runs under a peer or by hand. The shim itself reads only the
//! environment ([`ServerConfig::from_env`]); clap stays up here.

use hlf_shim::{ServerConfig, ServerError};

/// The server's command-line flags; each falls back to its environment
/// variable, so the same binary runs from a peer's `connection.json`
/// deployment (environment) or by hand (flags).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ServerArgs {
    /// The package id the peer knows the chaincode by (`label:hash`).
    #[arg(long, env = "CHAINCODE_ID")]
    pub chaincode_id: Option<String>,
    /// The address to listen on, `host:port`.
    #[arg(long, env = "CHAINCODE_SERVER_ADDRESS")]
    pub address: Option<String>,
    /// The server's TLS private key (PEM).
    #[arg(long, env = "CHAINCODE_TLS_KEY_FILE")]
    pub tls_key_file: Option<String>,
    /// The server's TLS certificate (PEM).
    #[arg(long, env = "CHAINCODE_TLS_CERT_FILE")]
    pub tls_cert_file: Option<String>,
    /// The CA of the peers' client certificates; turns on mutual TLS.
    #[arg(long, env = "CHAINCODE_TLS_CLIENT_CA_FILE")]
    pub tls_client_ca_file: Option<String>,
    /// Runtime worker threads, 1 to 256; 1 (the default) runs everything
    /// on one thread, which costs the least CPU per transaction.
    #[arg(long, env = "CHAINCODE_WORKER_THREADS")]
    pub worker_threads: Option<String>,
}

impl ServerArgs {
    /// The configuration these flags describe, checked as
    /// [`ServerConfig::from_lookup`] checks the environment.
    pub fn into_config(self) -> Result<ServerConfig, ServerError> {
        ServerConfig::from_lookup(|name| {
            let value = match name {
                "CHAINCODE_ID" => &self.chaincode_id,
                "CHAINCODE_SERVER_ADDRESS" => &self.address,
                "CHAINCODE_TLS_KEY_FILE" => &self.tls_key_file,
                "CHAINCODE_TLS_CERT_FILE" => &self.tls_cert_file,
                "CHAINCODE_TLS_CLIENT_CA_FILE" => &self.tls_client_ca_file,
                _ => &None,
            };
            value.clone().filter(|v| !v.is_empty())
        })
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        server: ServerArgs,
    }

    fn from_flags(flags: &[&str]) -> Result<ServerConfig, ServerError> {
        let cli = Cli::try_parse_from(std::iter::once("chaincode").chain(flags.iter().copied()))
            .map_err(|e| ServerError::InvalidVariable {
                name: "flags",
                reason: e.to_string(),
            })?;
        cli.server.into_config()
    }

    #[test]
    fn flags_configure_the_server_like_the_environment() {
        let plain =
            from_flags(&["--chaincode-id", "ehrx_1:ab", "--address", "127.0.0.1:7099"]).unwrap();
        assert_eq!(plain.chaincode_id, "ehrx_1:ab");
        assert_eq!(plain.address, "127.0.0.1:7099");
        assert_eq!(plain.tls, None);
        let mutual = from_flags(&[
            "--chaincode-id",
            "ehrx_1:ab",
            "--address",
            "127.0.0.1:7099",
            "--tls-key-file",
            "k.pem",
            "--tls-cert-file",
            "c.pem",
            "--tls-client-ca-file",
            "ca.pem",
        ])
        .unwrap();
        let tls = mutual.tls.unwrap();
        assert_eq!(tls.client_ca, Some(PathBuf::from("ca.pem")));
    }

    #[test]
    fn half_configured_flags_are_refused_by_name() {
        assert!(matches!(
            from_flags(&["--address", "127.0.0.1:7099"]),
            Err(ServerError::MissingVariable("CHAINCODE_ID"))
        ));
        assert!(matches!(
            from_flags(&[
                "--chaincode-id",
                "x",
                "--address",
                "a:1",
                "--tls-cert-file",
                "c.pem"
            ]),
            Err(ServerError::MissingVariable("CHAINCODE_TLS_KEY_FILE"))
        ));
    }
}
