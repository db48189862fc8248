//! The other networks' relays, as the outbound side reaches them: one
//! lazily connected mutual-TLS channel per network id, so a relay that is
//! down at start-up (or restarts later) is simply dialled again on the
//! next attempt.
//!
//! A failed call is sorted into what retrying can fix (the destination is
//! unreachable, overloaded, slow, or its network could not commit yet) and
//! what it cannot (the destination's chaincode refused the envelope).

use ehrx_client::ehr::interface::limits;
use std::{collections::BTreeMap, time::Duration};

use ehrx_proto::exchange::{
    ChallengeBatch, ChallengeGrant, ChallengeRequest, Delivery, DeliveryReceipt, ForwardedEnvelope,
    relay_client::RelayClient,
};
use prost::Message as _;
use tonic::{Code, Status, transport::Channel};

use super::{
    config::{ConfigError, RelayConfig, TlsFiles},
    error::RelayError,
};
use ehrx_client::fabric::ConnectionBuilder;

/// The largest envelope carried: the largest signed reply the contract
/// takes, with a generous margin for the envelope and the gRPC message
/// around it.
pub const MAX_ENVELOPE_SIZE: usize = limits::MAX_REPLY_BYTES + 1024 * 1024;

/// Why a delivery did not produce a receipt.
#[derive(Debug, Clone, thiserror::Error)]
pub enum DeliveryError {
    /// No relay is configured for the destination network.
    #[error("no relay is configured for network {0:?}")]
    UnknownNetwork(String),
    /// The destination refused the envelope for good.
    #[error("refused: {}", .0.message())]
    Refused(Status),
    /// The delivery may succeed later.
    #[error("{:?}: {}", .0.code(), .0.message())]
    Failed(Status),
}

impl DeliveryError {
    /// The destination's gRPC status code, if it answered.
    pub fn code(&self) -> Option<Code> {
        match self {
            Self::UnknownNetwork(_) => None,
            Self::Refused(status) | Self::Failed(status) => Some(status.code()),
        }
    }
}

/// Whether a status from a destination relay is final: its chaincode
/// refused the envelope, or the envelope (or this relay) is not acceptable
/// to it. Anything else may go away by itself and is retried.
pub fn is_refusal(code: Code) -> bool {
    matches!(
        code,
        Code::FailedPrecondition | Code::InvalidArgument | Code::PermissionDenied
    )
}

/// Clients of the other networks' relays.
#[derive(Debug, Clone)]
pub struct Remotes {
    clients: BTreeMap<String, RelayClient<Channel>>,
    timeout: Duration,
}

impl Remotes {
    /// One lazily connected client per configured remote, presenting the
    /// relay's client certificate.
    pub fn new(config: &RelayConfig, tls: &TlsFiles) -> Result<Self, RelayError> {
        let mut clients = BTreeMap::new();
        for (network_id, remote) in &config.remotes {
            let ca = tls
                .remote_cas
                .get(network_id)
                .ok_or_else(|| ConfigError::Invalid {
                    field: format!("remotes.{network_id}.tls_ca"),
                    reason: "was not loaded".into(),
                })?;
            let channel = ConnectionBuilder::new(remote.address.clone())
                .tls_ca_pem(ca.clone())
                .server_name(remote.server_name.clone())
                .client_tls(tls.client_cert.clone(), tls.client_key.clone())
                .connect_lazy()?;
            let client = RelayClient::new(channel)
                .max_decoding_message_size(MAX_ENVELOPE_SIZE)
                .max_encoding_message_size(MAX_ENVELOPE_SIZE);
            clients.insert(network_id.clone(), client);
        }
        Ok(Self {
            clients,
            timeout: config.deliver_timeout(),
        })
    }

    fn client(&self, network_id: &str) -> Result<RelayClient<Channel>, DeliveryError> {
        self.clients
            .get(network_id)
            .cloned()
            .ok_or_else(|| DeliveryError::UnknownNetwork(network_id.to_string()))
    }

    /// Asks `network_id`'s relay for a challenge that a proof of
    /// validation by network `from_network` must carry there.
    pub async fn challenge(
        &self,
        network_id: &str,
        from_network: &str,
    ) -> Result<ChallengeGrant, DeliveryError> {
        let mut client = self.client(network_id)?;
        let request = self.challenge_request(from_network, 1);
        let answer = tokio::time::timeout(self.timeout, client.challenge(request)).await;
        self.settle(answer, "challenge")
    }

    /// Asks `network_id`'s relay for `count` challenges at once (it gives
    /// at most [`limits::MAX_CHALLENGES_PER_CALL`]). A relay without the call
    /// answers `Unimplemented`.
    pub async fn challenges(
        &self,
        network_id: &str,
        from_network: &str,
        count: u32,
    ) -> Result<Vec<ChallengeGrant>, DeliveryError> {
        let mut client = self.client(network_id)?;
        let request = self.challenge_request(from_network, count);
        let answer = tokio::time::timeout(self.timeout, client.challenges(request)).await;
        let batch: ChallengeBatch = self.settle(answer, "challenges")?;
        Ok(batch.grants)
    }

    /// A challenge call of `from_network` for `count`, with this side's
    /// deadline.
    fn challenge_request(
        &self,
        from_network: &str,
        count: u32,
    ) -> tonic::Request<ChallengeRequest> {
        let mut request = tonic::Request::new(ChallengeRequest {
            network_id: from_network.to_string(),
            count,
        });
        request.set_timeout(self.timeout);
        request
    }

    /// Delivers `envelope` with its proof of validation to `network_id`'s
    /// relay and waits for its receipt.
    pub async fn deliver(
        &self,
        network_id: &str,
        envelope: ForwardedEnvelope,
        validation_proof: Vec<u8>,
    ) -> Result<DeliveryReceipt, DeliveryError> {
        let mut client = self.client(network_id)?;
        let mut request = tonic::Request::new(Delivery {
            forwarded_envelope: envelope.encode_to_vec(),
            validation_proof,
        });
        // Tells the other side how long this side waits, and enforces it
        // here too, since a lost answer must not stall the relay.
        request.set_timeout(self.timeout);
        let answer = tokio::time::timeout(self.timeout, client.deliver(request)).await;
        self.settle(answer, "receipt")
    }

    fn settle<T>(
        &self,
        answer: Result<Result<tonic::Response<T>, Status>, tokio::time::error::Elapsed>,
        what: &str,
    ) -> Result<T, DeliveryError> {
        let status = match answer {
            Ok(Ok(response)) => return Ok(response.into_inner()),
            Ok(Err(status)) => status,
            Err(_) => Status::deadline_exceeded(format!(
                "no {what} within {} ms",
                self.timeout.as_millis()
            )),
        };
        Err(classify(status))
    }
}

/// A failed call's status, as final or worth retrying.
pub fn classify(status: Status) -> DeliveryError {
    if is_refusal(status.code()) {
        DeliveryError::Refused(status)
    } else {
        DeliveryError::Failed(status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_chaincode_and_envelope_refusals_are_final() {
        for code in [
            Code::FailedPrecondition,
            Code::InvalidArgument,
            Code::PermissionDenied,
        ] {
            assert!(is_refusal(code), "{code:?}");
        }
        for code in [
            Code::Unavailable,
            Code::DeadlineExceeded,
            Code::Unknown,
            Code::Internal,
            Code::Cancelled,
            Code::ResourceExhausted,
            Code::Unauthenticated,
            Code::Aborted,
        ] {
            assert!(!is_refusal(code), "{code:?}");
        }
    }
}
