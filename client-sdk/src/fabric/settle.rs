//! Read-your-writes across peers. A submit returns once the gateway's own
//! peer has committed the transaction; the other peers commit it a moment
//! later. A transaction that depends on the first one and is endorsed by
//! another organisation's peer in that moment does not see its writes (a
//! configuration call, then a call that reads the configuration). Waiting
//! until every peer has committed the first closes that gap.

use std::time::Duration;

use super::{
    ConfigError, ConnectionError, Error, Gateway, NetworkDescription, SigningIdentity, Status,
};

/// Why a peer could not confirm a commit.
#[derive(Debug, thiserror::Error)]
pub enum SettleError {
    /// The peer's entry in the description is unusable.
    #[error("peer {peer}: {source}")]
    Config {
        /// The peer.
        peer: String,
        /// What is wrong with its entry.
        source: ConfigError,
    },
    /// The peer cannot be reached.
    #[error("peer {peer}: {source}")]
    Connect {
        /// The peer.
        peer: String,
        /// Why.
        source: ConnectionError,
    },
    /// The peer's gateway answered the commit status with an error.
    #[error("peer {peer}: {source}")]
    Status {
        /// The peer.
        peer: String,
        /// The gateway's error.
        source: Error,
    },
    /// The peer did not commit the transaction in time.
    #[error("peer {peer} has not committed transaction {transaction_id} after {timeout:?}")]
    Timeout {
        /// The peer.
        peer: String,
        /// The transaction.
        transaction_id: String,
        /// How long it was given.
        timeout: Duration,
    },
}

/// Waits until every peer of `description` has committed `transaction_id`
/// (each peer's gateway answers its commit status only once it has), and
/// returns each peer's status, in the description's order. `identity` must
/// be a channel member; `timeout` applies to each peer.
pub async fn wait_for_every_peer(
    description: &NetworkDescription,
    identity: &SigningIdentity,
    transaction_id: &str,
    timeout: Duration,
) -> Result<Vec<Status>, SettleError> {
    let mut statuses = Vec::new();
    for peer in description.organizations.iter().flat_map(|org| &org.peers) {
        let name = || peer.name.clone();
        let channel = peer
            .connection()
            .map_err(|source| SettleError::Config {
                peer: name(),
                source,
            })?
            .connect()
            .await
            .map_err(|source| SettleError::Connect {
                peer: name(),
                source,
            })?;
        let commit = Gateway::new(channel, identity.clone())
            .network(&description.channel)
            .commit(transaction_id);
        let status = tokio::time::timeout(timeout, commit.status())
            .await
            .map_err(|_| SettleError::Timeout {
                peer: name(),
                transaction_id: transaction_id.to_owned(),
                timeout,
            })?
            .map_err(|source| SettleError::Status {
                peer: name(),
                source,
            })?;
        statuses.push(status);
    }
    Ok(statuses)
}
