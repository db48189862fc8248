//! Following a chaincode's events through stream failures: the stream, the
//! opening of it, or the wait before reopening it, as one cancel-safe
//! source of events for a `select!` loop that also has work in flight
//! (the relay's outbound side, the responders).

use std::{future::Future, pin::Pin, time::Duration};

use ehrx_client::fabric::{ChaincodeEvent, Checkpoint, Error};
use tokio::time::Sleep;
use tracing::info;

use crate::relay::ledger::{EventSource, EventStream};

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
