//! `ehrx relay` and `ehrx responder`: the long-lived services, run until
//! SIGTERM or Ctrl-C (SIGHUP reloads the relay's configuration). Both stop gracefully: the library finishes the work
//! in hand and keeps the checkpoint of the last settled event, so a
//! restart resumes where this run stopped.
//!
//! Both connect lazily, so a service started before its peer (or while it
//! restarts) waits and retries instead of failing at start-up.

use std::future::Future;

use anyhow::Context as _;
use tracing::info;

use ehrx_client::{
    ehr::EhrSettings,
    fabric::{FileCheckpointer, NetworkDescription},
};
use ehrx_services::{
    relay::{Relay, RelayConfig},
    responder::{Responder, health},
};

use crate::{
    args::{ConfigArgs, RelayArgs},
    responder_config::ResponderConfig,
    target::{Connect, gateway_as},
};

/// Completes at the first SIGTERM or Ctrl-C. The handlers are installed
/// here, before the service starts, so no early signal is missed.
fn shutdown_signal() -> anyhow::Result<impl Future<Output = ()> + Send + 'static> {
    #[cfg(unix)]
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("installing the SIGTERM handler")?;
    Ok(async move {
        #[cfg(unix)]
        tokio::select! {
            _ = tokio::signal::ctrl_c() => info!("Ctrl-C: stopping"),
            _ = terminate.recv() => info!("SIGTERM: stopping"),
        }
        #[cfg(not(unix))]
        if tokio::signal::ctrl_c().await.is_ok() {
            info!("Ctrl-C: stopping");
        }
    })
}

/// The relay's configuration file, with the network key given on the
/// command line in place of its `network_key_file`.
fn relay_config(args: &RelayArgs) -> anyhow::Result<RelayConfig> {
    let mut config = RelayConfig::load(&args.config)?;
    if let Some(key) = &args.network_key_file {
        config.network_key_file.clone_from(key);
    }
    Ok(config)
}

/// `ehrx relay --config <relay.json> [--network-key-file <key>]`. SIGHUP
/// reads the file again and hands it to the running relay, which takes
/// changed `remotes` and `listen.client_ca` (another network joining)
/// without a restart.
pub async fn run_relay(args: RelayArgs) -> anyhow::Result<()> {
    let config = relay_config(&args)?;
    let network = config.network_id.clone();
    let (reload, reloads) = tokio::sync::mpsc::channel(1);
    #[cfg(unix)]
    {
        let mut hangups = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
            .context("installing the SIGHUP handler")?;
        let path = args.config.clone();
        let key = args.network_key_file.clone();
        tokio::spawn(async move {
            let args = RelayArgs {
                config: path,
                network_key_file: key,
            };
            let path = &args.config;
            while hangups.recv().await.is_some() {
                match relay_config(&args) {
                    Ok(config) => {
                        info!(config = %path.display(), "SIGHUP: reloading the configuration");
                        if reload.send(config).await.is_err() {
                            return;
                        }
                    }
                    Err(error) => {
                        tracing::error!(%error, "SIGHUP: configuration not reloaded; the running one stays");
                    }
                }
            }
        });
    }
    #[cfg(not(unix))]
    drop(reload);
    Relay::run_with_reloads(config, reloads, shutdown_signal()?)
        .await
        .with_context(|| format!("the relay of {network} ({})", args.config.display()))
}

/// `ehrx responder --config <responder.json>`.
pub async fn run_responder(args: ConfigArgs) -> anyhow::Result<()> {
    let config = ResponderConfig::load(&args.config)?;
    let path = &config.network_description;
    let description = NetworkDescription::load(path)
        .with_context(|| format!("loading the network description {}", path.display()))?;
    let identity = &config.identity;
    let org = description
        .organization(&identity.msp_id)
        .with_context(|| format!("`identity.msp_id` in {}", args.config.display()))?;
    org.user(&identity.user)
        .with_context(|| format!("`identity.user` in {}", args.config.display()))?;
    let gateway = gateway_as(org, &identity.user, Connect::Lazy).await?;

    let mut settings = EhrSettings::from_description(&description);
    if let Some(chaincode) = &config.chaincode {
        settings.chaincode.clone_from(chaincode);
    }
    if let Some(network_id) = &config.network_id {
        settings.network_id.clone_from(network_id);
    }
    let checkpointer = FileCheckpointer::open(&config.checkpoint_file).with_context(|| {
        format!(
            "opening the checkpoint {}",
            config.checkpoint_file.display()
        )
    })?;
    let shutdown = shutdown_signal()?;
    info!(
        network = %settings.network_id,
        msp_id = %org.msp_id,
        user = %identity.user,
        peer = %org.peers.first().map_or("", |peer| peer.address.as_str()),
        "responder started"
    );
    let mut responder = Responder::new(&gateway, settings, checkpointer)
        .with_retry(config.retry.initial(), config.retry.max())
        .with_max_in_flight(config.max_in_flight)
        .with_claim(config.claim.claim());
    // Its health endpoint, if the file names one: bound before the
    // responder starts, so a port in use is an error at once.
    let health_server = match config.health_address {
        Some(address) => {
            let listener = tokio::net::TcpListener::bind(address)
                .await
                .with_context(|| format!("binding `health_address` {address}"))?;
            info!(health = %address, "responder health endpoint: /healthz, /readyz");
            Some(tokio::spawn(health::serve(
                listener,
                responder.status(),
                std::future::pending(),
            )))
        }
        None => None,
    };
    let outcome = responder
        .run_until(shutdown)
        .await
        .with_context(|| format!("the responder {} of {}", identity.user, org.msp_id));
    if let Some(server) = health_server {
        server.abort();
    }
    outcome?;
    info!(checkpoint = ?responder.checkpointer().path(), "responder stopped");
    Ok(())
}
