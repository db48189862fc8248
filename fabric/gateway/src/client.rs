//! The gRPC side of a gateway, shared by every stage: the tonic clients
//! with Fabric's 100 MiB message limit, and the deadline of each call.
//!
//! It knows only wire messages, never the stages built on it, so every
//! stage module depends on it and it on none of them.

use std::{future::Future, time::Duration};

use hlf_protos::{common, gateway, peer};
use tonic::transport::Channel;

use super::{
    error::{CallError, Error},
    identity::SigningIdentity,
};

use hlf_protos::MAX_GRPC_MESSAGE_SIZE as MAX_MESSAGE_SIZE;

/// Default deadlines of the unary gateway calls, which each stage can
/// override for one call with its `timeout` method. Event streams have
/// none unless given one: they live as long as the listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Evaluate: one peer runs the chaincode.
    pub evaluate: Duration,
    /// Endorse: several peers run the chaincode.
    pub endorse: Duration,
    /// Submit: the orderer accepts the transaction.
    pub submit: Duration,
    /// Commit status: waits until the transaction is in a block.
    pub commit_status: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            evaluate: Duration::from_secs(5),
            endorse: Duration::from_secs(15),
            submit: Duration::from_secs(5),
            commit_status: Duration::from_secs(60),
        }
    }
}

/// The gRPC side shared by every stage of one gateway.
#[derive(Debug)]
pub(crate) struct Client {
    gateway: GatewayClient,
    deliver: peer::deliver_client::DeliverClient<Channel>,
    pub(crate) identity: SigningIdentity,
    timeouts: Timeouts,
}

fn request<T>(message: T, timeout: Duration) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.set_timeout(timeout);
    request
}

/// The generated client of Fabric's Gateway service on our channel.
type GatewayClient = gateway::gateway_client::GatewayClient<Channel>;

/// Runs a unary call with `timeout` as its deadline on both sides: the peer
/// learns it from `grpc-timeout`, and the client stops waiting when it
/// passes whatever the connection does (a peer or a proxy that never
/// answers, an answer the transport cannot read).
async fn unary<T>(
    message: impl Future<Output = Result<tonic::Response<T>, tonic::Status>>,
    timeout: Duration,
) -> Result<T, tonic::Status> {
    match tokio::time::timeout(timeout, message).await {
        Ok(answer) => answer.map(tonic::Response::into_inner),
        Err(_) => Err(tonic::Status::deadline_exceeded(format!(
            "no answer within {timeout:?}"
        ))),
    }
}

impl Client {
    pub(crate) fn new(channel: Channel, identity: SigningIdentity, timeouts: Timeouts) -> Self {
        let gateway = gateway::gateway_client::GatewayClient::new(channel.clone())
            .max_decoding_message_size(MAX_MESSAGE_SIZE)
            .max_encoding_message_size(MAX_MESSAGE_SIZE);
        let deliver = peer::deliver_client::DeliverClient::new(channel)
            .max_decoding_message_size(MAX_MESSAGE_SIZE)
            .max_encoding_message_size(MAX_MESSAGE_SIZE);
        Self {
            gateway,
            deliver,
            identity,
            timeouts,
        }
    }

    pub(crate) fn timeouts(&self) -> &Timeouts {
        &self.timeouts
    }

    /// One unary Gateway call: `call` on a clone of the gateway client with
    /// `message` and `timeout` (see [`unary`]); a failure becomes the error
    /// `kind` makes of it, naming `transaction_id`.
    async fn gateway_call<M, T, F>(
        &self,
        transaction_id: &str,
        message: M,
        timeout: Duration,
        kind: fn(CallError) -> Error,
        call: impl FnOnce(GatewayClient, tonic::Request<M>) -> F,
    ) -> Result<T, Error>
    where
        F: Future<Output = Result<tonic::Response<T>, tonic::Status>>,
    {
        unary(
            call(self.gateway.clone(), request(message, timeout)),
            timeout,
        )
        .await
        .map_err(|status| kind(CallError::new(transaction_id, status)))
    }

    pub(crate) async fn evaluate(
        &self,
        message: gateway::EvaluateRequest,
        timeout: Duration,
    ) -> Result<gateway::EvaluateResponse, Error> {
        let id = message.transaction_id.clone();
        self.gateway_call(
            &id,
            message,
            timeout,
            Error::Evaluate,
            |mut g, m| async move { g.evaluate(m).await },
        )
        .await
    }

    pub(crate) async fn endorse(
        &self,
        message: gateway::EndorseRequest,
        timeout: Duration,
    ) -> Result<gateway::EndorseResponse, Error> {
        let id = message.transaction_id.clone();
        self.gateway_call(
            &id,
            message,
            timeout,
            Error::Endorse,
            |mut g, m| async move { g.endorse(m).await },
        )
        .await
    }

    pub(crate) async fn submit(
        &self,
        message: gateway::SubmitRequest,
        timeout: Duration,
    ) -> Result<(), Error> {
        let id = message.transaction_id.clone();
        self.gateway_call(
            &id,
            message,
            timeout,
            Error::Submit,
            |mut g, m| async move { g.submit(m).await },
        )
        .await
        .map(drop)
    }

    pub(crate) async fn commit_status(
        &self,
        transaction_id: &str,
        message: gateway::SignedCommitStatusRequest,
        timeout: Duration,
    ) -> Result<gateway::CommitStatusResponse, Error> {
        self.gateway_call(
            transaction_id,
            message,
            timeout,
            Error::CommitStatus,
            |mut g, m| async move { g.commit_status(m).await },
        )
        .await
    }

    /// Resolves when the peer sends the response headers, which a Fabric
    /// peer does only with the first event; callers run it in a task, which
    /// also keeps the stream's deadline (dropping the call cancels it at
    /// the peer, so the peer needs no `grpc-timeout`).
    pub(crate) async fn chaincode_events(
        &self,
        message: gateway::SignedChaincodeEventsRequest,
    ) -> Result<tonic::Streaming<gateway::ChaincodeEventsResponse>, Error> {
        self.gateway
            .clone()
            .chaincode_events(message)
            .await
            .map(tonic::Response::into_inner)
            .map_err(|status| Error::Events(CallError::new("", status)))
    }

    /// As [`Self::chaincode_events`]: resolves with the first block.
    pub(crate) async fn deliver(
        &self,
        kind: BlockEventsKind,
        envelope: common::Envelope,
    ) -> Result<tonic::Streaming<peer::DeliverResponse>, Error> {
        use tokio_stream::StreamExt as _;
        // The peer reads the next seek request only after serving this one to
        // its end, which with an open-ended stop is never; the request side
        // stays open, as Fabric's own clients leave it, rather than
        // half-closing it.
        let requests = tokio_stream::once(envelope).chain(tokio_stream::pending());
        let mut deliver = self.deliver.clone();
        let response = match kind {
            BlockEventsKind::Block => deliver.deliver(requests).await,
            BlockEventsKind::Filtered => deliver.deliver_filtered(requests).await,
            BlockEventsKind::WithPrivateData => deliver.deliver_with_private_data(requests).await,
        };
        response
            .map(tonic::Response::into_inner)
            .map_err(|status| Error::Events(CallError::new("", status)))
    }
}

/// Which of the peer's Deliver calls to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockEventsKind {
    /// `Deliver`: full blocks.
    Block,
    /// `DeliverFiltered`: blocks reduced to ids, codes and event names.
    Filtered,
    /// `DeliverWithPrivateData`: full blocks plus readable private data.
    WithPrivateData,
}
