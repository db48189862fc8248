//! Turns by key: the transactions of one client that read and write the
//! same keys of the ledger go one at a time, each once the one before has
//! committed, while those on other keys go at once. Two such transactions
//! endorsed together would not both commit: the later in the block fails
//! `MVCC_READ_CONFLICT`, and endorsing it again only repeats the race.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, PoisonError, Weak};

use tokio::sync::{Mutex as Turn, OwnedMutexGuard};

/// One queue per key, kept only while someone holds or awaits its turn.
#[derive(Debug)]
pub(crate) struct Turns<K> {
    queues: Mutex<HashMap<K, Weak<Turn<()>>>>,
}

impl<K> Default for Turns<K> {
    fn default() -> Self {
        Self {
            queues: Mutex::new(HashMap::new()),
        }
    }
}

impl<K: Hash + Eq> Turns<K> {
    /// Waits for `key`'s turn, which lasts until the guard is dropped.
    /// Turns of one key come in the order they were asked for.
    pub(crate) async fn take(&self, key: K) -> OwnedMutexGuard<()> {
        let queue = {
            // A panic while the map was held cannot leave it inconsistent:
            // every change below is a single insert or removal.
            let mut queues = self.queues.lock().unwrap_or_else(PoisonError::into_inner);
            queues.retain(|_, queue| queue.strong_count() > 0);
            match queues.get(&key).and_then(Weak::upgrade) {
                Some(queue) => queue,
                None => {
                    let queue = Arc::new(Turn::new(()));
                    queues.insert(key, Arc::downgrade(&queue));
                    queue
                }
            }
        };
        queue.lock_owned().await
    }

    /// How many keys have a turn held or awaited.
    #[cfg(test)]
    fn keys(&self) -> usize {
        let queues = self.queues.lock().unwrap_or_else(PoisonError::into_inner);
        queues
            .values()
            .filter(|queue| queue.strong_count() > 0)
            .count()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn one_key_waits_its_turn_and_other_keys_do_not() {
        let turns = Turns::default();
        let first = turns.take("a").await;
        // Another key's turn comes at once.
        let other = tokio::time::timeout(Duration::from_secs(1), turns.take("b")).await;
        assert!(other.is_ok());
        // The same key's does not while the first is held...
        let same = tokio::time::timeout(Duration::from_millis(50), turns.take("a")).await;
        assert!(same.is_err());
        // ...and does once it is released.
        drop(first);
        let same = tokio::time::timeout(Duration::from_secs(1), turns.take("a")).await;
        assert!(same.is_ok());
    }

    #[tokio::test]
    async fn turns_come_in_order_and_queues_go_when_unused() {
        let turns = Arc::new(Turns::default());
        let order = Arc::new(Mutex::new(Vec::new()));
        let held = turns.take(7).await;
        let mut waiting = Vec::new();
        for n in 0..5 {
            let (turns, order) = (Arc::clone(&turns), Arc::clone(&order));
            waiting.push(tokio::spawn(async move {
                let _turn = turns.take(7).await;
                order.lock().unwrap().push(n);
                tokio::task::yield_now().await;
            }));
            // Each asks before the next is spawned.
            tokio::task::yield_now().await;
        }
        drop(held);
        for task in waiting {
            task.await.unwrap();
        }
        assert_eq!(*order.lock().unwrap(), [0, 1, 2, 3, 4]);
        assert_eq!(turns.keys(), 0, "no queue outlives its last turn");
        for key in 0..100 {
            drop(turns.take(key).await);
        }
        assert_eq!(turns.keys(), 0);
    }
}
