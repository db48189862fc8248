//! Following a chaincode's events through stream failures: the stream, the
//! opening of it, or the wait before reopening it, as one cancel-safe
//! source of events for a `select!` loop that also has work in flight
//! (the relay's outbound side, the responders).

use std::{future::Future, pin::Pin, time::Duration};

use ehrx_client::fabric::{ChaincodeEvent, Checkpoint, Error};
use tokio::time::Sleep;
use tracing::{info, warn};

use crate::{
    backoff::Backoff,
    ready::Readiness,
    relay::ledger::{EventSource, EventStream},
};

/// A future opening the event stream.
type Opening<'a, S> = Pin<Box<dyn Future<Output = Result<S, Error>> + Send + 'a>>;

/// The event stream, or the way to it.
pub(crate) enum Feed<'a, S> {
    Opening(Opening<'a, S>),
    Open(S),
    /// Waiting before reopening it.
    Waiting(Pin<Box<Sleep>>),
    /// Shutting down: nothing more is read.
    Closed,
}

/// What the feed came up with.
pub(crate) enum FeedItem<S> {
    Opened(Result<S, Error>),
    Event(ChaincodeEvent),
    Failed(Error),
    Ended,
    Reopen,
}

impl<'a, S: EventStream> Feed<'a, S> {
    pub(crate) fn opening<E: EventSource<Stream = S>>(
        events: &'a E,
        position: Option<Checkpoint>,
        network_id: &str,
    ) -> Self {
        // The stream opens at once, but the gateway confirms the
        // subscription only with its first event (a refusal is the
        // stream's first item), so the follower says here where it listens from.
        info!(network = %network_id, ?position, "subscribing to chaincode events");
        Self::Opening(Box::pin(events.open(position)))
    }

    pub(crate) fn waiting(delay: Duration) -> Self {
        Self::Waiting(Box::pin(tokio::time::sleep(delay)))
    }

    /// The next thing that happens to the feed; cancel-safe, since the
    /// opening and the wait are kept in the feed and the stream's `next`
    /// takes nothing until it returns it.
    pub(crate) async fn next(&mut self) -> FeedItem<S> {
        match self {
            Self::Opening(opening) => FeedItem::Opened(opening.as_mut().await),
            Self::Open(stream) => match stream.next().await {
                Some(Ok(event)) => FeedItem::Event(event),
                Some(Err(error)) => FeedItem::Failed(error),
                None => FeedItem::Ended,
            },
            Self::Waiting(sleep) => {
                sleep.as_mut().await;
                FeedItem::Reopen
            }
            Self::Closed => std::future::pending().await,
        }
    }
}

/// A chaincode's events, followed through failures: opens the stream after
/// `position`, reports the service ready once it is open and not ready
/// while it is not, reopens it after the last event read with back-off,
/// and gives only the events. Cancel-safe like [`Feed`]: between events
/// its state is kept in it.
pub(crate) struct Follower<'a, E: EventSource> {
    events: &'a E,
    feed: Feed<'a, E::Stream>,
    position: Option<Checkpoint>,
    reopen: Backoff,
    /// The network, for the logs.
    network: String,
    /// `relay` or `responder`, for the logs.
    service: &'static str,
    readiness: &'a Readiness,
}

impl<'a, E: EventSource> Follower<'a, E> {
    pub(crate) fn new(
        events: &'a E,
        position: Option<Checkpoint>,
        reopen: Backoff,
        (network, service): (&str, &'static str),
        readiness: &'a Readiness,
    ) -> Self {
        Self {
            feed: Feed::opening(events, position.clone(), network),
            events,
            position,
            reopen,
            network: network.to_string(),
            service,
            readiness,
        }
    }

    /// Reads nothing more (shutting down).
    pub(crate) fn close(&mut self) {
        self.feed = Feed::Closed;
    }

    fn not_ready(&self, waiting_for: String) {
        if self.readiness.set_waiting(waiting_for.clone()) {
            warn!(network = %self.network, %waiting_for, "{} not ready", self.service);
        }
    }

    /// The next event; never returns once closed.
    pub(crate) async fn next(&mut self) -> ChaincodeEvent {
        loop {
            let network = self.network.as_str();
            match self.feed.next().await {
                FeedItem::Opened(Ok(stream)) => {
                    info!(%network, position = ?self.position, "following chaincode events");
                    if self.readiness.set_ready() {
                        info!(%network, "{} ready: its network's peer answered and its event stream is open", self.service);
                    }
                    self.feed = Feed::Open(stream);
                }
                FeedItem::Opened(Err(error)) => {
                    // Opening asks the peer first (`ready::probe`).
                    warn!(%network, %error, "cannot open the chaincode event stream");
                    self.not_ready(format!("its network's peer or event stream: {error}"));
                    self.feed = Feed::waiting(self.reopen.next_delay());
                }
                FeedItem::Event(event) => {
                    self.reopen.reset();
                    self.position = Some(Checkpoint {
                        block_number: event.block_number,
                        transaction_id: Some(event.transaction_id.clone()),
                    });
                    return event;
                }
                FeedItem::Failed(error) => {
                    warn!(%network, %error, "chaincode event stream failed; reopening it after the last event read");
                    self.not_ready(format!("its event stream, which failed: {error}"));
                    self.feed = Feed::waiting(self.reopen.next_delay());
                }
                FeedItem::Ended => {
                    info!(%network, "chaincode event stream ended; reopening it after the last event read");
                    self.not_ready("its event stream, which the peer ended".to_string());
                    self.feed = Feed::waiting(self.reopen.next_delay());
                }
                FeedItem::Reopen => {
                    self.feed = Feed::opening(self.events, self.position.clone(), network);
                }
            }
        }
    }
}
