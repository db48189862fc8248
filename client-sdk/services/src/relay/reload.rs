//! Taking a new configuration without a restart: another network joins
//! (or leaves, or its relay moves), so the remotes the outbound side
//! dials and the CAs whose relays the inbound side admits change.
//!
//! A reload is all or nothing. The new configuration may differ only in
//! `remotes` and `listen.client_ca` ([`RelayConfig::check_reload`]); the
//! files it names are read, the listener's TLS settings are built and
//! every remote's channel is set up, and only if all of that works do the
//! outbound side (from its next attempt) and the listener (a new server on
//! the same socket) switch. Otherwise the running configuration stays and
//! the reason is logged and shown on the health endpoint.

use std::sync::Arc;

use tokio::sync::{mpsc, watch};
use tracing::{error, info};

use super::{
    config::{RelayConfig, TlsFiles},
    error::RelayError,
    inbound,
    remote::Remotes,
    shutdown::Shutdown,
    status::RelayStatus,
};

/// Where a taken configuration goes: the outbound side's remotes and the
/// listener's TLS files.
#[derive(Debug)]
pub struct Targets {
    /// The remotes the outbound side dials.
    pub remotes: watch::Sender<Remotes>,
    /// The listener's TLS files.
    pub tls: watch::Sender<TlsFiles>,
}

/// What `next` would run with, if a relay running `current` can take it.
pub fn prepare(
    current: &RelayConfig,
    next: &RelayConfig,
) -> Result<(Remotes, TlsFiles), RelayError> {
    current.check_reload(next)?;
    let tls = next.tls_files()?;
    // Refused settings (a bundle that is not PEM, say) fail here, before
    // the listener would use them.
    inbound::server(inbound::server_tls(&tls))?;
    let remotes = Remotes::new(next, &tls)?;
    Ok((remotes, tls))
}

/// Takes each configuration from `reloads` that [`prepare`] accepts, until
/// shutdown. With no more reloads to come it just waits for shutdown, so
/// that ending never looks like a failure of the relay.
pub async fn follow(
    mut current: RelayConfig,
    mut reloads: mpsc::Receiver<RelayConfig>,
    targets: Targets,
    status: Arc<RelayStatus>,
    mut shutdown: Shutdown,
) -> Result<(), RelayError> {
    loop {
        let next = tokio::select! {
            () = shutdown.recv() => return Ok(()),
            next = reloads.recv() => next,
        };
        let Some(next) = next else {
            shutdown.recv().await;
            return Ok(());
        };
        match prepare(&current, &next) {
            Ok((remotes, tls)) => {
                targets.remotes.send_replace(remotes);
                targets.tls.send_replace(tls);
                status.reloaded();
                info!(
                    network = %next.network_id,
                    remotes = ?next.remotes.keys().collect::<Vec<_>>(),
                    client_ca = %next.listen.client_ca.display(),
                    "configuration reloaded"
                );
                current = next;
            }
            Err(error) => {
                error!(network = %current.network_id, %error, "configuration not reloaded; the running one stays");
                status.reload_refused(error.to_string());
            }
        }
    }
}
