//! Where the outbound side got to, kept across restarts in one file.
//!
//! Deliveries settle out of commit order, so a block number and a
//! transaction id alone would make a restarted relay deliver again every
//! envelope that settled after the first one still open. The file also
//! lists those, so a restart delivers exactly the envelopes that were not
//! settled:
//!
//! ```json
//! {"blockNumber":12,"transactionId":"ab…","settled":[{"blockNumber":13,"transactionId":"cd…"}]}
//! ```
//!
//! `blockNumber` and `transactionId` are the layout of Fabric's Go client's
//! file checkpointer and of [`FileCheckpointer`](ehrx_client::fabric::FileCheckpointer),
//! which read this file as the checkpoint it is (every event up to that
//! transaction is settled) and ignore `settled`. Before the first event is
//! settled, the checkpoint is block 0 without a transaction: the relay
//! starts from the first block either way. The file is replaced
//! atomically (a temporary file, synced, renamed, the folder synced), so a
//! crash leaves the previous state, never a torn one; the list and the
//! checkpoint change together.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use ehrx_client::fabric::{Checkpoint, CheckpointError, load_json, save_json_durably};

/// The outbound side's progress.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Progress {
    /// Every event up to this one is settled; `None` before the first.
    pub checkpoint: Option<Checkpoint>,
    /// Events after the checkpoint that are settled too, in commit order,
    /// each with its transaction.
    pub settled: Vec<Checkpoint>,
}

/// The file's layout.
#[derive(Serialize, Deserialize)]
struct Layout {
    #[serde(rename = "blockNumber")]
    block_number: u64,
    #[serde(
        rename = "transactionId",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    transaction_id: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    settled: Vec<Checkpoint>,
}

impl From<Layout> for Progress {
    fn from(layout: Layout) -> Self {
        let checkpoint = match (layout.block_number, layout.transaction_id) {
            // What [`Layout::from`] writes for no checkpoint.
            (0, None) => None,
            (block_number, transaction_id) => Some(Checkpoint {
                block_number,
                transaction_id,
            }),
        };
        Self {
            checkpoint,
            settled: layout.settled,
        }
    }
}

impl From<&Progress> for Layout {
    fn from(progress: &Progress) -> Self {
        let (block_number, transaction_id) = match &progress.checkpoint {
            Some(checkpoint) => (checkpoint.block_number, checkpoint.transaction_id.clone()),
            None => (0, None),
        };
        Self {
            block_number,
            transaction_id,
            settled: progress.settled.clone(),
        }
    }
}

/// The outbound side's progress in a file.
#[derive(Debug)]
pub struct CheckpointFile {
    path: PathBuf,
    progress: Progress,
}

impl CheckpointFile {
    /// Opens the file at `path`; a missing file means nothing settled yet.
    pub fn open(path: impl Into<PathBuf>) -> Result<Self, CheckpointError> {
        let path = path.into();
        let progress = load_json::<Layout>(&path)?
            .map(Progress::from)
            .unwrap_or_default();
        Ok(Self { path, progress })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The progress last saved (or read).
    pub fn progress(&self) -> &Progress {
        &self.progress
    }

    /// Replaces the saved progress.
    pub fn save(&mut self, progress: Progress) -> Result<(), CheckpointError> {
        save_json_durably(&self.path, &Layout::from(&progress))?;
        self.progress = progress;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;
    use ehrx_client::fabric::{Checkpointer as _, FileCheckpointer};

    fn at(block_number: u64, tx: &str) -> Checkpoint {
        Checkpoint {
            block_number,
            transaction_id: Some(tx.into()),
        }
    }

    #[test]
    fn progress_round_trips_and_reads_as_a_plain_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("relay-checkpoint.json");
        let mut file = CheckpointFile::open(&path).unwrap();
        assert_eq!(file.progress(), &Progress::default());
        assert!(!path.exists(), "opening alone writes nothing");

        let progress = Progress {
            checkpoint: Some(at(12, "ab")),
            settled: vec![at(12, "cd"), at(14, "ef")],
        };
        file.save(progress.clone()).unwrap();
        assert_eq!(CheckpointFile::open(&path).unwrap().progress(), &progress);
        let json: serde_json::Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"blockNumber": 12, "transactionId": "ab", "settled": [
                {"blockNumber": 12, "transactionId": "cd"},
                {"blockNumber": 14, "transactionId": "ef"}]})
        );
        // A reader of plain checkpoints sees the checkpoint.
        assert_eq!(
            FileCheckpointer::open(&path).unwrap().checkpoint(),
            Some(at(12, "ab"))
        );

        // Nothing settled yet, but something after it: block 0, no transaction.
        let early = Progress {
            checkpoint: None,
            settled: vec![at(3, "gh")],
        };
        file.save(early.clone()).unwrap();
        assert_eq!(CheckpointFile::open(&path).unwrap().progress(), &early);
        let json: serde_json::Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
        assert_eq!(json["blockNumber"], 0);
        assert!(json.get("transactionId").is_none(), "{json}");
    }

    #[test]
    fn a_plain_checkpoint_file_is_read_and_garbage_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("checkpoint.json");
        let mut plain = FileCheckpointer::open(&path).unwrap();
        plain.checkpoint_transaction(7, "tx7").unwrap();
        assert_eq!(
            CheckpointFile::open(&path).unwrap().progress(),
            &Progress {
                checkpoint: Some(at(7, "tx7")),
                settled: Vec::new(),
            }
        );

        fs::write(&path, b"{not json").unwrap();
        assert!(matches!(
            CheckpointFile::open(&path).unwrap_err(),
            CheckpointError::Corrupt { .. }
        ));
    }
}
