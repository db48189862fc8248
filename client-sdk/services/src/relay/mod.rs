//! The relay: one per network, the only path between networks.
//!
//! ```text
//! own chaincode events ──> outbound ══gRPC/mTLS══> other relay's inbound ──> AcceptRequest/AcceptReply
//!   (from checkpoint)        │ a window of deliveries,   (IssueChallenge; submit, await commit, receipt)
//!                            │ each: attest, challenge,
//!                            │ prove (endorse only), deliver;
//!                            │ checkpoint past what is settled
//! ```
//!
//! Modules, in the order data flows: [`config`] (the file an admin writes),
//! [`ledger`] (the relay's contacts with its own network, as traits),
//! [`envelope`] and [`route`] (which events leave, for where, in which
//! attested envelope), [`remote`] and [`outbound`] (pipelined delivery
//! with retries), [`window`] and [`checkpoint`] (how far the checkpoint
//! may move, and the file it is kept in), [`inbound`] (the gRPC service that takes envelopes
//! in), [`reload`] (a new configuration without a restart: networks
//! joining), [`status`] and [`health`] (what the relay reports), with
//! [`shutdown`] and [`error`] beside them (the back-off is [`crate::backoff`]).
//!
//! Nothing is lost and nothing is applied twice: the checkpoint moves past
//! an envelope only after the destination's receipt, which it sends only
//! after its commit, and never past one still open; the envelopes settled
//! behind an open one are saved with it, so a restart delivers again only
//! those without a receipt. Such a resend carries identical envelope bytes
//! (Ed25519 is deterministic) that the destination's chaincode recognises
//! before it looks at the (fresh) proof of validation that goes with them.
//!
//! ```no_run
//! use std::path::Path;
//!
//! use ehrx_services::relay::{Relay, RelayConfig};
//!
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! let config = RelayConfig::load(Path::new("relay-net1.json"))?;
//! Relay::run(config, async {
//!     let _ = tokio::signal::ctrl_c().await;
//! })
//! .await?;
//! # Ok(())
//! # }
//! ```

pub mod checkpoint;
pub mod config;
pub mod envelope;
pub mod error;
pub mod health;
pub mod inbound;
pub mod ledger;
pub mod limit;
pub mod outbound;
pub mod prefetch;
pub mod purge;
pub mod reload;
pub mod remote;
pub mod route;
pub mod shutdown;
pub mod status;
pub mod window;

use crate::backoff::Backoff;
use std::{future::Future, net::SocketAddr, sync::Arc};

use tokio::{
    net::TcpListener,
    sync::{mpsc, watch},
    task::JoinSet,
};
use tracing::{error, info};

pub use config::{ConfigError, RelayConfig};
pub use error::RelayError;
pub use ledger::{EventSource, EventStream, GatewayEvents, GatewaySubmitter, Submitter};

use self::{
    checkpoint::CheckpointFile,
    inbound::Inbound,
    outbound::{Outbound, Pacing},
    remote::Remotes,
    shutdown::ShutdownTrigger,
    status::RelayStatus,
};
use ehrx_client::fabric::{Gateway, NetworkDescription};

/// One network's relay: its configuration and its two contacts with its
/// own network.
#[derive(Debug)]
pub struct Relay<E = GatewayEvents, S = GatewaySubmitter> {
    config: RelayConfig,
    events: E,
    submitter: S,
}

impl Relay {
    /// Runs the relay of `config` against its Fabric network until
    /// `shutdown` completes.
    pub async fn run(
        config: RelayConfig,
        shutdown: impl Future<Output = ()> + Send,
    ) -> Result<(), RelayError> {
        Self::connect(config)?.serve(shutdown).await
    }

    /// As [`Self::run`], taking each configuration sent on `reloads`
    /// without a restart (see [`reload`]).
    pub async fn run_with_reloads(
        config: RelayConfig,
        reloads: mpsc::Receiver<RelayConfig>,
        shutdown: impl Future<Output = ()> + Send,
    ) -> Result<(), RelayError> {
        Self::connect(config)?
            .serve_with_reloads(reloads, shutdown)
            .await
    }

    /// Sets up the gateway side from the network description: the relay's
    /// identity, a connection to its organisation's first peer (made on
    /// first use and remade after a peer restart), and submissions endorsed
    /// by every organisation of the network.
    pub fn connect(config: RelayConfig) -> Result<Self, RelayError> {
        let description = NetworkDescription::load(&config.network_description)?;
        let organization = description.organization(&config.identity.msp_id)?;
        let identity = organization.signing_identity(&config.identity.user)?;
        let peer = organization
            .peers
            .first()
            .ok_or_else(|| RelayError::NoPeer(organization.msp_id.clone()))?;
        let gateway = Gateway::new(peer.connection()?.connect_lazy()?, identity);
        let network = gateway.network(&description.channel);
        let endorsers = description
            .organizations
            .iter()
            .map(|organization| organization.msp_id.clone())
            .collect();
        let events = GatewayEvents::new(network.clone(), &config.chaincode);
        let submitter = GatewaySubmitter::new(network.contract(&config.chaincode), endorsers);
        Ok(Self::new(config, events, submitter))
    }
}

async fn bind(field: &'static str, address: SocketAddr) -> Result<TcpListener, RelayError> {
    TcpListener::bind(address)
        .await
        .map_err(|source| RelayError::Bind {
            field,
            address,
            source,
        })
}

impl<E: EventSource, S: Submitter> Relay<E, S> {
    /// A relay whose events come from `events` and whose deliveries are
    /// submitted through `submitter`.
    pub fn new(config: RelayConfig, events: E, submitter: S) -> Self {
        Self {
            config,
            events,
            submitter,
        }
    }

    /// Reads the credentials and checkpoint, binds both listeners, then
    /// runs the outbound task, the gRPC service and the health endpoint
    /// until `shutdown` completes or one of them fails. Shutting down stops
    /// new connections, lets deliveries in flight (both ways) finish their
    /// attempt, and keeps the checkpoint of what settled.
    pub async fn serve(self, shutdown: impl Future<Output = ()> + Send) -> Result<(), RelayError> {
        let (_none_to_come, reloads) = mpsc::channel(1);
        self.serve_with_reloads(reloads, shutdown).await
    }

    /// As [`Self::serve`], also taking each configuration sent on
    /// `reloads` that differs only in what a running relay can change:
    /// its remotes and the CAs of the relays it admits (see [`reload`]).
    pub async fn serve_with_reloads(
        self,
        reloads: mpsc::Receiver<RelayConfig>,
        shutdown: impl Future<Output = ()> + Send,
    ) -> Result<(), RelayError> {
        let config = self.config;
        let network_key = config.network_key()?;
        let tls = config.tls_files()?;
        // Bad certificates or keys are reported here, before anything listens.
        inbound::server(inbound::server_tls(&tls))?;
        let (remotes, remotes_seen) = watch::channel(Remotes::new(&config, &tls)?);
        let (tls, tls_seen) = watch::channel(tls);
        let checkpoints = CheckpointFile::open(&config.checkpoint_file)?;
        let status = Arc::new(RelayStatus::new(
            config.network_id.clone(),
            checkpoints.progress().checkpoint.clone(),
            config.max_in_flight,
        ));
        let grpc_listener = bind("listen.address", config.listen.address).await?;
        let health_listener = bind("health_address", config.health_address).await?;

        let trigger = ShutdownTrigger::new();
        let mut tasks = JoinSet::new();
        let outbound = Outbound::new(
            network_key,
            self.events,
            checkpoints,
            self.submitter.clone(),
            remotes_seen,
            Pacing {
                backoff: Backoff::from(config.retry),
                max_in_flight: config.max_in_flight,
                challenge_prefetch: config.challenge_prefetch,
            },
            Arc::clone(&status),
        );
        tasks.spawn(outbound.run(trigger.subscribe()));
        if let Some(every) = config.challenge_purge_interval() {
            tasks.spawn(purge::run(
                self.submitter.clone(),
                every,
                trigger.subscribe(),
            ));
        }
        tasks.spawn(inbound::serve(
            Inbound::new(config.network_id.clone(), self.submitter)
                .with_challenge_limit(config.challenges),
            grpc_listener,
            tls_seen,
            trigger.subscribe(),
        ));
        tasks.spawn(reload::follow(
            config.clone(),
            reloads,
            reload::Targets { remotes, tls },
            Arc::clone(&status),
            trigger.subscribe(),
        ));
        tasks.spawn(health::serve(
            health_listener,
            Arc::clone(&status),
            trigger.subscribe(),
        ));
        info!(
            network = %config.network_id,
            listen = %config.listen.address,
            health = %config.health_address,
            "relay started"
        );

        let mut failure = None;
        tokio::select! {
            () = shutdown => info!(network = %config.network_id, "relay shutting down"),
            Some(joined) = tasks.join_next() => failure = task_failure(joined),
        }
        trigger.trigger();
        while let Some(joined) = tasks.join_next().await {
            if let Some(error) = task_failure(joined) {
                failure.get_or_insert(error);
            }
        }
        match failure {
            Some(error) => {
                error!(network = %config.network_id, %error, "relay stopped");
                Err(error)
            }
            None => {
                info!(network = %config.network_id, checkpoint = ?status.snapshot().checkpoint, "relay stopped");
                Ok(())
            }
        }
    }
}

/// The error a finished task ended with, if any.
fn task_failure(
    joined: Result<Result<(), RelayError>, tokio::task::JoinError>,
) -> Option<RelayError> {
    match joined {
        Ok(Ok(())) => None,
        Ok(Err(error)) => Some(error),
        Err(error) => Some(RelayError::Task(error.to_string())),
    }
}
