//! Where an event listener got to, so a restarted listener resumes exactly
//! after the last event it processed: no event lost, none repeated.
//!
//! A checkpoint is a block number and, within that block, the last
//! transaction processed. After a whole block `n` the checkpoint is block
//! `n + 1` with no transaction; after a chaincode event it is that event's
//! block and transaction, and the gateway skips the block's events up to and
//! including that transaction on resume. The file checkpointer replaces its
//! file atomically (write a temporary file, sync, rename), so a crash
//! mid-write leaves the previous checkpoint, never a torn one.

use std::{
    fs,
    io::Write as _,
    path::{Path, PathBuf},
};

use serde::{Deserialize, Serialize};

use super::chaincode_event::ChaincodeEvent;

/// A position in a channel's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The block to resume from.
    #[serde(rename = "blockNumber")]
    pub block_number: u64,
    /// The last transaction of that block already processed, if any.
    #[serde(
        rename = "transactionId",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub transaction_id: Option<String>,
}

/// Why a checkpoint could not be read or stored.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// Reading or writing the checkpoint file failed.
    #[error("checkpoint file {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The checkpoint file holds something else than a checkpoint.
    #[error("checkpoint file {} is corrupt: {source}", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What the JSON parser said.
        source: serde_json::Error,
    },
}

/// Records how far a listener got.
pub trait Checkpointer {
    /// The stored position, or `None` before anything was processed.
    fn checkpoint(&self) -> Option<Checkpoint>;

    /// Stores a position.
    fn save(&mut self, checkpoint: Checkpoint) -> Result<(), CheckpointError>;

    /// Block `block_number` was processed completely.
    fn checkpoint_block(&mut self, block_number: u64) -> Result<(), CheckpointError> {
        self.save(Checkpoint {
            block_number: block_number.saturating_add(1),
            transaction_id: None,
        })
    }

    /// Transaction `transaction_id` of block `block_number` was processed.
    fn checkpoint_transaction(
        &mut self,
        block_number: u64,
        transaction_id: &str,
    ) -> Result<(), CheckpointError> {
        self.save(Checkpoint {
            block_number,
            transaction_id: Some(transaction_id.to_string()),
        })
    }

    /// The chaincode event was processed.
    fn checkpoint_chaincode_event(
        &mut self,
        event: &ChaincodeEvent,
    ) -> Result<(), CheckpointError> {
        self.checkpoint_transaction(event.block_number, &event.transaction_id)
    }
}

/// A checkpointer that lives as long as the process: for listeners that are
/// recreated within one run (after a peer restart, say).
#[derive(Debug, Clone, Default)]
pub struct InMemoryCheckpointer {
    checkpoint: Option<Checkpoint>,
}

impl InMemoryCheckpointer {
    /// An empty checkpointer.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Checkpointer for InMemoryCheckpointer {
    fn checkpoint(&self) -> Option<Checkpoint> {
        self.checkpoint.clone()
    }

    fn save(&mut self, checkpoint: Checkpoint) -> Result<(), CheckpointError> {
        self.checkpoint = Some(checkpoint);
        Ok(())
    }
}

/// A checkpointer kept in a JSON file (`{"blockNumber":…,"transactionId":…}`,
/// the layout of Fabric's Go client), for listeners that survive restarts.
#[derive(Debug)]
pub struct FileCheckpointer {
    path: PathBuf,
    checkpoint: Option<Checkpoint>,
}

impl FileCheckpointer {
    /// Opens the checkpoint at `path`; a missing file means no checkpoint yet.
    pub fn open(path: impl Into<PathBuf>) -> Result<Self, CheckpointError> {
        let path = path.into();
        let checkpoint = load_json(&path)?;
        Ok(Self { path, checkpoint })
    }

    /// The checkpoint file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Reads the JSON file at `path` (as [`save_json_durably`] writes it);
/// `None` when there is no file yet.
pub fn load_json<T: serde::de::DeserializeOwned>(
    path: &Path,
) -> Result<Option<T>, CheckpointError> {
    match fs::read(path) {
        Ok(bytes) => {
            serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|source| CheckpointError::Corrupt {
                    path: path.to_path_buf(),
                    source,
                })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(CheckpointError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Replaces the checkpoint file at `path` with `value` as JSON, durably
/// (see [`replace_file_durably`]).
pub fn save_json_durably(
    path: &Path,
    value: &impl serde::Serialize,
) -> Result<(), CheckpointError> {
    let bytes = serde_json::to_vec(value).map_err(|source| CheckpointError::Corrupt {
        path: path.to_path_buf(),
        source,
    })?;
    replace_file_durably(path, &bytes).map_err(|source| CheckpointError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Replaces the file at `path` with `bytes` so that a crash leaves either
/// the old content or the new, never a torn file: a temporary file beside
/// it (same folder, so the rename stays within one file system and is
/// atomic) is written and synced, renamed over `path`, and the folder is
/// synced so that the rename itself is durable. For any state file that
/// must survive a crash, such as a checkpoint.
pub fn replace_file_durably(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    let temporary = path.with_file_name(name);
    let mut file = fs::File::create(&temporary)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    fs::rename(&temporary, path)?;
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    fs::File::open(folder)?.sync_all()
}

impl Checkpointer for FileCheckpointer {
    fn checkpoint(&self) -> Option<Checkpoint> {
        self.checkpoint.clone()
    }

    fn save(&mut self, checkpoint: Checkpoint) -> Result<(), CheckpointError> {
        save_json_durably(&self.path, &checkpoint)?;
        self.checkpoint = Some(checkpoint);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(block_number: u64, transaction_id: Option<&str>) -> Checkpoint {
        Checkpoint {
            block_number,
            transaction_id: transaction_id.map(str::to_owned),
        }
    }

    fn event(block_number: u64, transaction_id: &str) -> ChaincodeEvent {
        ChaincodeEvent {
            block_number,
            transaction_id: transaction_id.into(),
            chaincode_name: "ehr".into(),
            event_name: "Stored".into(),
            payload: Vec::new(),
        }
    }

    #[test]
    fn in_memory_checkpoints_follow_blocks_and_events() {
        let mut checkpointer = InMemoryCheckpointer::new();
        assert_eq!(checkpointer.checkpoint(), None);
        checkpointer.checkpoint_block(4).unwrap();
        assert_eq!(checkpointer.checkpoint(), Some(at(5, None)));
        checkpointer
            .checkpoint_chaincode_event(&event(7, "tx7"))
            .unwrap();
        assert_eq!(checkpointer.checkpoint(), Some(at(7, Some("tx7"))));
    }

    #[test]
    fn file_checkpoint_round_trips_across_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("listener.json");
        let mut checkpointer = FileCheckpointer::open(&path).unwrap();
        assert_eq!(checkpointer.checkpoint(), None);
        assert!(!path.exists(), "opening alone writes nothing");

        checkpointer
            .checkpoint_chaincode_event(&event(12, "abc"))
            .unwrap();
        let reopened = FileCheckpointer::open(&path).unwrap();
        assert_eq!(reopened.checkpoint(), Some(at(12, Some("abc"))));
        // Fabric's Go client's layout, so either can resume the other's listener.
        let json: serde_json::Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"blockNumber": 12, "transactionId": "abc"})
        );

        checkpointer.checkpoint_block(12).unwrap();
        let reopened = FileCheckpointer::open(&path).unwrap();
        assert_eq!(reopened.checkpoint(), Some(at(13, None)));
    }

    #[test]
    fn file_checkpoint_writes_are_atomic() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("listener.json");
        let mut checkpointer = FileCheckpointer::open(&path).unwrap();
        checkpointer.checkpoint_transaction(3, "t3").unwrap();
        // Only the checkpoint is left behind: the temporary file was renamed.
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("listener.json")]);

        // A crash while writing leaves a torn temporary file, which neither
        // hides the last checkpoint nor stops the next save.
        let temporary = dir.path().join("listener.json.tmp");
        fs::write(&temporary, b"{\"blockNum").unwrap();
        let mut reopened = FileCheckpointer::open(&path).unwrap();
        assert_eq!(reopened.checkpoint().unwrap().block_number, 3);
        reopened.checkpoint_transaction(4, "t4").unwrap();
        assert!(!temporary.exists());
        assert_eq!(
            FileCheckpointer::open(&path).unwrap().checkpoint().unwrap(),
            at(4, Some("t4"))
        );
    }

    #[test]
    fn json_files_load_when_present_and_name_their_path_otherwise() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        assert_eq!(load_json::<Vec<u32>>(&path).unwrap(), None);
        save_json_durably(&path, &[1, 2]).unwrap();
        assert_eq!(load_json::<Vec<u32>>(&path).unwrap(), Some(vec![1, 2]));
        let error = load_json::<String>(&path).unwrap_err();
        assert!(matches!(&error, CheckpointError::Corrupt { path: p, .. } if *p == path));
        let error = load_json::<String>(dir.path()).unwrap_err();
        assert!(matches!(&error, CheckpointError::Io { path: p, .. } if p == dir.path()));
    }

    #[test]
    fn a_corrupt_checkpoint_file_is_a_typed_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("listener.json");
        fs::write(&path, b"not json").unwrap();
        assert!(matches!(
            FileCheckpointer::open(&path),
            Err(CheckpointError::Corrupt { .. })
        ));
    }
}
