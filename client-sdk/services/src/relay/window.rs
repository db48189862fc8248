//! The window of deliveries: which events read from the stream are settled,
//! and how far the checkpoint may move.
//!
//! Every event read gets a sequence number in commit order. An event that
//! leaves the network (a validated request, a ready reply) is *open* until
//! its delivery settles: a receipt, a final refusal. Any other event (one
//! that stays home, or one whose payload cannot be read) is settled when
//! read. The checkpoint is the last event of the longest run of settled
//! events from the start, so it never passes an open one, also not within
//! one block: the gateway resumes a block after the named transaction,
//! which must then be the last settled one before the first open one.
//! Envelopes that settled after an open one are saved beside the
//! checkpoint ([`Progress::settled`]), so a restart delivers only the open
//! ones again.
//!
//! The window holds the envelopes past the checkpoint, open or settled, and
//! is full at the configured bound: the outbound side then reads nothing
//! more until the first open one settles. So an unreachable destination
//! holds up the others only once it holds the start of a full window.
//! Events that stay home are not counted, and a run of them behind an open
//! envelope is kept as one entry, so memory stays bounded by the window.

use std::collections::VecDeque;

use ehrx_client::fabric::{ChaincodeEvent, Checkpoint};

use super::checkpoint::Progress;

/// An event's place in the order the stream gave it.
pub type Seq = u64;

/// What became of an event read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Read {
    /// Its envelope is to be delivered; settle it with this number.
    Deliver(Seq),
    /// It settled before a restart; it is not delivered again.
    SettledBefore,
    /// It needs no delivery.
    Done,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// An envelope whose delivery has not settled.
    Open,
    /// An envelope whose delivery settled, behind an open one.
    Settled,
    /// Events that needed no delivery (the last of a run).
    Passed,
}

#[derive(Debug)]
struct Entry {
    seq: Seq,
    position: Checkpoint,
    state: State,
}

/// The events past the checkpoint.
#[derive(Debug)]
pub struct Window {
    checkpoint: Option<Checkpoint>,
    entries: VecDeque<Entry>,
    /// Envelopes saved as settled before a restart and not read again yet.
    carried: VecDeque<Checkpoint>,
    next_seq: Seq,
    bound: usize,
    changed: bool,
}

fn position(event: &ChaincodeEvent) -> Checkpoint {
    Checkpoint {
        block_number: event.block_number,
        transaction_id: Some(event.transaction_id.clone()),
    }
}

impl Window {
    /// A window resuming from `progress`, holding at most `bound` envelopes.
    pub fn new(progress: Progress, bound: usize) -> Self {
        Self {
            checkpoint: progress.checkpoint,
            entries: VecDeque::new(),
            carried: progress.settled.into(),
            next_seq: 0,
            bound: bound.max(1),
            changed: false,
        }
    }

    /// The checkpoint: every event up to it is settled.
    pub fn checkpoint(&self) -> Option<&Checkpoint> {
        self.checkpoint.as_ref()
    }

    /// Envelopes read whose delivery has not settled.
    pub fn open(&self) -> usize {
        self.count(State::Open)
    }

    /// Whether the window holds as many envelopes as it may.
    pub fn is_full(&self) -> bool {
        self.count(State::Open) + self.count(State::Settled) >= self.bound
    }

    fn count(&self, state: State) -> usize {
        self.entries.iter().filter(|e| e.state == state).count()
    }

    /// Takes in the next event of the stream; `forward` says whether it
    /// carries an envelope to deliver.
    pub fn read(&mut self, event: &ChaincodeEvent, forward: bool) -> Read {
        let position = position(event);
        // Saved entries the stream has gone past without giving them
        // again are not coming (a checkpoint file from another history).
        while self
            .carried
            .front()
            .is_some_and(|c| c.block_number < position.block_number)
        {
            self.carried.pop_front();
            self.changed = true;
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        let (state, read) = if !forward {
            (State::Passed, Read::Done)
        } else if let Some(at) = self.carried.iter().position(|c| *c == position) {
            self.carried.remove(at);
            (State::Settled, Read::SettledBefore)
        } else {
            (State::Open, Read::Deliver(seq))
        };
        match self.entries.back_mut() {
            // A run of events that needed no delivery: only its last matters.
            Some(last) if last.state == State::Passed && state == State::Passed => {
                last.position = position;
            }
            _ => self.entries.push_back(Entry {
                seq,
                position,
                state,
            }),
        }
        self.advance();
        read
    }

    /// The delivery of event `seq` settled.
    pub fn settle(&mut self, seq: Seq) {
        if let Ok(at) = self.entries.binary_search_by_key(&seq, |e| e.seq)
            && let Some(entry) = self.entries.get_mut(at)
            && entry.state == State::Open
        {
            entry.state = State::Settled;
            self.changed = true;
            self.advance();
        }
    }

    /// Moves the checkpoint over the settled events at the front.
    fn advance(&mut self) {
        while let Some(front) = self.entries.front()
            && front.state != State::Open
        {
            if let Some(entry) = self.entries.pop_front() {
                self.checkpoint = Some(entry.position);
                self.changed = true;
            }
        }
    }

    /// The progress to save, if it changed since the last call.
    pub fn take_changes(&mut self) -> Option<Progress> {
        if !std::mem::take(&mut self.changed) {
            return None;
        }
        let settled = self
            .entries
            .iter()
            .filter(|e| e.state == State::Settled)
            .map(|e| e.position.clone())
            .chain(self.carried.iter().cloned())
            .collect();
        Some(Progress {
            checkpoint: self.checkpoint.clone(),
            settled,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(block_number: u64, tx: &str) -> ChaincodeEvent {
        ChaincodeEvent {
            block_number,
            transaction_id: tx.into(),
            chaincode_name: "ehrx".into(),
            event_name: "RequestValidated".into(),
            payload: Vec::new(),
        }
    }

    fn at(block_number: u64, tx: &str) -> Checkpoint {
        Checkpoint {
            block_number,
            transaction_id: Some(tx.into()),
        }
    }

    /// Progress up to `checkpoint`, with `settled` after it.
    fn progress(checkpoint: Checkpoint, settled: Vec<Checkpoint>) -> Progress {
        Progress {
            checkpoint: Some(checkpoint),
            settled,
        }
    }

    fn deliver(window: &mut Window, event: &ChaincodeEvent) -> Seq {
        match window.read(event, true) {
            Read::Deliver(seq) => seq,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_checkpoint_stops_before_the_first_open_envelope_also_within_a_block() {
        let mut window = Window::new(Progress::default(), 16);
        assert_eq!(window.read(&event(1, "a"), false), Read::Done);
        assert_eq!(
            window.take_changes(),
            Some(progress(at(1, "a"), Vec::new()))
        );
        let b = deliver(&mut window, &event(2, "b"));
        let c = deliver(&mut window, &event(2, "c"));
        let d = deliver(&mut window, &event(2, "d"));
        assert_eq!(window.read(&event(3, "e"), false), Read::Done);
        assert_eq!(window.take_changes(), None);
        assert_eq!(window.open(), 3);

        // The last of the block first: saved beside the checkpoint.
        window.settle(d);
        assert_eq!(
            window.take_changes(),
            Some(progress(at(1, "a"), vec![at(2, "d")]))
        );
        // Then the first: the checkpoint moves to it, inside block 2,
        // and not past the one still open.
        window.settle(b);
        assert_eq!(
            window.take_changes(),
            Some(progress(at(2, "b"), vec![at(2, "d")]))
        );
        // A second settlement of the same, or of nothing, changes nothing.
        window.settle(b);
        window.settle(99);
        assert_eq!(window.take_changes(), None);
        window.settle(c);
        assert_eq!(
            window.take_changes(),
            Some(progress(at(3, "e"), Vec::new()))
        );
        assert_eq!(window.open(), 0);
    }

    #[test]
    fn the_window_counts_envelopes_past_the_checkpoint_not_events_that_stay_home() {
        let mut window = Window::new(Progress::default(), 3);
        let first = deliver(&mut window, &event(1, "a"));
        for n in 0..50 {
            assert_eq!(
                window.read(&event(2 + n, &format!("x{n}")), false),
                Read::Done
            );
        }
        // The run of events behind the open one is one entry.
        assert_eq!(window.entries.len(), 2);
        let second = deliver(&mut window, &event(60, "b"));
        window.settle(second);
        assert!(!window.is_full());
        let _third = deliver(&mut window, &event(61, "c"));
        // Open, settled behind it, open: full.
        assert!(window.is_full());
        assert_eq!(window.open(), 2);
        window.settle(first);
        assert!(!window.is_full());
        assert_eq!(window.checkpoint(), Some(&at(60, "b")));
    }

    #[test]
    fn a_restart_skips_what_settled_and_delivers_the_rest() {
        let saved = progress(at(1, "a"), vec![at(2, "c"), at(4, "e")]);
        let mut window = Window::new(saved, 16);
        let b = deliver(&mut window, &event(2, "b"));
        assert_eq!(window.read(&event(2, "c"), true), Read::SettledBefore);
        let d = deliver(&mut window, &event(3, "d"));
        assert_eq!(window.read(&event(4, "e"), true), Read::SettledBefore);
        assert_eq!(window.take_changes(), None);
        window.settle(d);
        assert_eq!(
            window.take_changes(),
            Some(progress(
                at(1, "a"),
                vec![at(2, "c"), at(3, "d"), at(4, "e")]
            ))
        );
        window.settle(b);
        assert_eq!(
            window.take_changes(),
            Some(progress(at(4, "e"), Vec::new()))
        );
    }

    #[test]
    fn saved_entries_are_kept_until_read_again_and_dropped_once_passed() {
        let saved = Progress {
            checkpoint: None,
            settled: vec![at(2, "stale"), at(5, "e")],
        };
        let mut window = Window::new(saved, 16);
        let a = deliver(&mut window, &event(1, "a"));
        window.settle(a);
        // Still ahead of the stream: saved with the new checkpoint.
        assert_eq!(
            window.take_changes(),
            Some(progress(at(1, "a"), vec![at(2, "stale"), at(5, "e")]))
        );
        // Block 3 without the entry saved for block 2: it is not coming.
        assert_eq!(window.read(&event(3, "c"), false), Read::Done);
        assert_eq!(
            window.take_changes(),
            Some(progress(at(3, "c"), vec![at(5, "e")]))
        );
        assert_eq!(window.read(&event(5, "e"), true), Read::SettledBefore);
        assert_eq!(
            window.take_changes(),
            Some(progress(at(5, "e"), Vec::new()))
        );
    }
}
