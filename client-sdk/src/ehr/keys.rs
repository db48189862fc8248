//! The requester's keys: the X25519 key a reply's records are sealed to.
//!
//! A [`RequesterKey`] is a requester's long-term key pair; its public half
//! is registered with `RegisterRequester`, and the `ehrx` contract accepts
//! only requests that carry it. A [`ReplyKey`] is what reading one reply
//! needs: the request id, the two networks (bound into the sealing), and the
//! private key. Reply keys are kept in a [`KeyStore`] between a request and
//! the reading of its reply, so an application can read replies after a
//! restart. Files holding keys are written owner-only (0600 on Unix) and
//! atomically (temporary file, sync, rename, sync of the folder), so a
//! crash leaves the old file or the new one, never half of one.

use std::{
    collections::HashMap,
    fmt, fs,
    io::Write as _,
    path::{Path, PathBuf},
    sync::Mutex,
};

use hpke::{Deserializable as _, Kem as _, Serializable as _};
use serde::{Deserialize, Serialize};

use crate::{ehr::interface::Key32, proto::exchange::seal::DecryptionKey};

type Kem = hpke::kem::X25519HkdfSha256;

/// Why a key could not be stored or read.
#[derive(Debug, thiserror::Error)]
pub enum KeyStoreError {
    /// Reading or writing a key file failed.
    #[error("key file {path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A key file holds something else.
    #[error("key file {path} is malformed: {reason}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
    /// Bytes that are not an X25519 private key.
    #[error("not a 32-byte X25519 private key")]
    BadKey,
    /// A request id that cannot name a file (not a UUID).
    #[error("{0:?} is not a request id (a UUID)")]
    BadRequestId(String),
    /// The in-memory store's lock was poisoned by a panicking thread.
    #[error("the key store is unusable after a panic elsewhere")]
    Poisoned,
}

/// A requester's long-term X25519 key pair.
#[derive(Clone)]
pub struct RequesterKey {
    decryption_key: DecryptionKey,
    public_key: [u8; 32],
}

impl fmt::Debug for RequesterKey {
    // The public half identifies the key; the private half is never printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RequesterKey({})", hex::encode(self.public_key))
    }
}

impl RequesterKey {
    /// A fresh key pair from the OS random source.
    pub fn generate() -> Result<Self, KeyStoreError> {
        let (decryption_key, _) = DecryptionKey::generate();
        Self::from_bytes(&decryption_key.to_bytes())
    }

    /// The key pair of a 32-byte private key; the public half is derived.
    pub fn from_bytes(private_key: &[u8]) -> Result<Self, KeyStoreError> {
        let private = <Kem as hpke::Kem>::PrivateKey::from_bytes(private_key)
            .map_err(|_| KeyStoreError::BadKey)?;
        let public_key = Kem::sk_to_pk(&private).to_bytes().into();
        let decryption_key =
            DecryptionKey::from_bytes(private_key).map_err(|_| KeyStoreError::BadKey)?;
        Ok(Self {
            decryption_key,
            public_key,
        })
    }

    /// Reads a key file written by [`Self::save`]: the private key in hex.
    pub fn load(path: &Path) -> Result<Self, KeyStoreError> {
        let text = fs::read_to_string(path).map_err(io_error(path))?;
        let key = Key32::parse(text.trim()).map_err(|e| KeyStoreError::Malformed {
            path: path.to_path_buf(),
            reason: format!("the key {e}"),
        })?;
        Self::from_bytes(key.bytes())
    }

    /// Writes the private key in hex, owner-only and atomically.
    pub fn save(&self, path: &Path) -> Result<(), KeyStoreError> {
        write_private(path, hex::encode(self.decryption_key.to_bytes()).as_bytes())
    }

    /// The public key, to register and to put in requests.
    pub fn public_key(&self) -> &[u8; 32] {
        &self.public_key
    }

    /// The private key.
    pub fn decryption_key(&self) -> &DecryptionKey {
        &self.decryption_key
    }
}

/// What a requester keeps to read one reply: which request, between which
/// networks, and the private key its records are sealed to.
#[derive(Debug, Clone)]
pub struct ReplyKey {
    /// The request.
    pub request_id: String,
    /// The requesting network (receives the reply).
    pub source_network: String,
    /// The network asked (sends the reply).
    pub destination_network: String,
    /// The X25519 private key.
    pub decryption_key: DecryptionKey,
}

/// Where reply keys are kept between a request and the reading of its reply.
pub trait KeyStore: fmt::Debug + Send + Sync {
    /// Saves (or replaces) a key.
    fn save(&self, key: &ReplyKey) -> Result<(), KeyStoreError>;
    /// The key of a request, if stored.
    fn load(&self, request_id: &str) -> Result<Option<ReplyKey>, KeyStoreError>;
    /// Forgets a key (after its reply was read and kept elsewhere).
    fn remove(&self, request_id: &str) -> Result<(), KeyStoreError>;
}

/// Keys in memory, for tests and short-lived tools.
#[derive(Debug, Default)]
pub struct InMemoryKeyStore {
    keys: Mutex<HashMap<String, ReplyKey>>,
}

impl InMemoryKeyStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl KeyStore for InMemoryKeyStore {
    fn save(&self, key: &ReplyKey) -> Result<(), KeyStoreError> {
        let mut keys = self.keys.lock().map_err(|_| KeyStoreError::Poisoned)?;
        keys.insert(key.request_id.clone(), key.clone());
        Ok(())
    }

    fn load(&self, request_id: &str) -> Result<Option<ReplyKey>, KeyStoreError> {
        let keys = self.keys.lock().map_err(|_| KeyStoreError::Poisoned)?;
        Ok(keys.get(request_id).cloned())
    }

    fn remove(&self, request_id: &str) -> Result<(), KeyStoreError> {
        let mut keys = self.keys.lock().map_err(|_| KeyStoreError::Poisoned)?;
        keys.remove(request_id);
        Ok(())
    }
}

/// Keys in a folder (0700 on Unix), one JSON file per request,
/// `<request id>.json`.
#[derive(Debug, Clone)]
pub struct FileKeyStore {
    dir: PathBuf,
}

#[derive(Serialize, Deserialize)]
struct KeyFile {
    request_id: String,
    source_network: String,
    destination_network: String,
    /// Hex of the X25519 private key.
    decryption_key: String,
}

impl FileKeyStore {
    /// A store in `dir`, created if missing.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self, KeyStoreError> {
        let dir = dir.into();
        let mut builder = fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(&dir).map_err(io_error(&dir))?;
        Ok(Self { dir })
    }

    /// The file of a request; only UUID-shaped ids, so none can climb out
    /// of the folder.
    fn path(&self, request_id: &str) -> Result<PathBuf, KeyStoreError> {
        if uuid::Uuid::try_parse(request_id).is_err() {
            return Err(KeyStoreError::BadRequestId(request_id.to_string()));
        }
        Ok(self.dir.join(format!("{request_id}.json")))
    }
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> KeyStoreError + '_ {
    move |source| KeyStoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes `contents` to `path` owner-only and atomically (see the module
/// docs).
fn write_private(path: &Path, contents: &[u8]) -> Result<(), KeyStoreError> {
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".tmp");
    let temporary = PathBuf::from(temporary);
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&temporary).map_err(io_error(&temporary))?;
    file.write_all(contents).map_err(io_error(&temporary))?;
    file.sync_all().map_err(io_error(&temporary))?;
    fs::rename(&temporary, path).map_err(io_error(path))?;
    // The rename is durable only once the folder entry is.
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    fs::File::open(dir)
        .and_then(|dir| dir.sync_all())
        .map_err(io_error(dir))
}

impl KeyStore for FileKeyStore {
    fn save(&self, key: &ReplyKey) -> Result<(), KeyStoreError> {
        let path = self.path(&key.request_id)?;
        let contents = serde_json::to_vec_pretty(&KeyFile {
            request_id: key.request_id.clone(),
            source_network: key.source_network.clone(),
            destination_network: key.destination_network.clone(),
            decryption_key: hex::encode(key.decryption_key.to_bytes()),
        })
        .map_err(|e| KeyStoreError::Malformed {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        write_private(&path, &contents)
    }

    fn load(&self, request_id: &str) -> Result<Option<ReplyKey>, KeyStoreError> {
        let path = self.path(request_id)?;
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_error(&path)(e)),
        };
        let malformed = |reason: String| KeyStoreError::Malformed {
            path: path.clone(),
            reason,
        };
        // The strict reader: an array for the object, a repeated key or an
        // unknown field is a damaged (or forged) file, not a key.
        let file: KeyFile = ehrx_interface::parse_object("the key file", &bytes)
            .map_err(|e| malformed(e.to_string()))?;
        if file.request_id != request_id {
            return Err(malformed(format!("holds request {}", file.request_id)));
        }
        let key = Key32::parse(&file.decryption_key)
            .map_err(|e| malformed(format!("the decryption key {e}")))?;
        let decryption_key =
            DecryptionKey::from_bytes(key.bytes()).map_err(|e| malformed(e.to_string()))?;
        Ok(Some(ReplyKey {
            request_id: file.request_id,
            source_network: file.source_network,
            destination_network: file.destination_network,
            decryption_key,
        }))
    }

    fn remove(&self, request_id: &str) -> Result<(), KeyStoreError> {
        let path = self.path(request_id)?;
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_error(&path)(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::proto::exchange::{
        Record, RecordBundle,
        seal::{SealContext, seal},
    };

    const ID: &str = "6f1c1f7e-8a43-4d8b-9b1e-2f4b5f0e9a10";
    const OTHER_ID: &str = "0b7c4a52-64a4-4c1e-8f0e-8e0f3f4c2d11";

    fn reply_key(request_id: &str) -> ReplyKey {
        ReplyKey {
            request_id: request_id.into(),
            source_network: "net1".into(),
            destination_network: "net2".into(),
            decryption_key: DecryptionKey::generate().0,
        }
    }

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt as _;
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn a_requester_keys_public_half_opens_what_is_sealed_to_it() {
        let key = RequesterKey::generate().unwrap();
        let context = SealContext {
            request_id: ID,
            replying_network: "net2",
            receiving_network: "net1",
        };
        let bundle = RecordBundle {
            records: vec![Record::default()],
        };
        let sealed = seal(key.public_key(), &context, &bundle).unwrap();
        assert_eq!(
            key.decryption_key().open(&context, &sealed).unwrap(),
            bundle
        );
        assert_eq!(
            format!("{key:?}"),
            format!("RequesterKey({})", hex::encode(key.public_key()))
        );
    }

    #[test]
    fn a_requester_key_derives_the_rfc7748_public_key() {
        // RFC 7748 §6.1, Alice's key pair.
        let private =
            hex::decode("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")
                .unwrap();
        let key = RequesterKey::from_bytes(&private).unwrap();
        assert_eq!(
            hex::encode(key.public_key()),
            "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"
        );
        assert!(matches!(
            RequesterKey::from_bytes(&[1; 5]),
            Err(KeyStoreError::BadKey)
        ));
    }

    #[test]
    fn a_requester_key_file_round_trips_privately() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("requester.key");
        let key = RequesterKey::generate().unwrap();
        key.save(&path).unwrap();
        let loaded = RequesterKey::load(&path).unwrap();
        assert_eq!(loaded.public_key(), key.public_key());
        #[cfg(unix)]
        assert_eq!(mode(&path), 0o600);
        fs::write(&path, "not hex").unwrap();
        assert!(matches!(
            RequesterKey::load(&path),
            Err(KeyStoreError::Malformed { .. })
        ));
        assert!(matches!(
            RequesterKey::load(&dir.path().join("missing")),
            Err(KeyStoreError::Io { .. })
        ));
    }

    #[test]
    fn file_key_store_round_trips_privately_and_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileKeyStore::open(dir.path().join("keys")).unwrap();
        let key = reply_key(ID);
        assert!(store.load(ID).unwrap().is_none());
        store.save(&key).unwrap();

        // A new store on the same folder: as after a restart.
        let reopened = FileKeyStore::open(dir.path().join("keys")).unwrap();
        let loaded = reopened.load(ID).unwrap().unwrap();
        assert_eq!(loaded.request_id, ID);
        assert_eq!(loaded.source_network, "net1");
        assert_eq!(loaded.destination_network, "net2");
        assert_eq!(
            loaded.decryption_key.to_bytes(),
            key.decryption_key.to_bytes()
        );

        let entries: Vec<_> = fs::read_dir(dir.path().join("keys"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(entries, [format!("{ID}.json")], "no temporary file left");
        #[cfg(unix)]
        {
            assert_eq!(
                mode(&dir.path().join("keys").join(format!("{ID}.json"))),
                0o600
            );
            assert_eq!(mode(&dir.path().join("keys")), 0o700);
        }

        store.remove(ID).unwrap();
        store.remove(ID).unwrap();
        assert!(store.load(ID).unwrap().is_none());
    }

    #[test]
    fn file_key_store_refuses_bad_ids_and_bad_files() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileKeyStore::open(dir.path()).unwrap();
        assert!(matches!(
            store.load("../../etc/passwd"),
            Err(KeyStoreError::BadRequestId(_))
        ));
        assert!(matches!(
            store.save(&reply_key("x/y")),
            Err(KeyStoreError::BadRequestId(_))
        ));
        fs::write(dir.path().join(format!("{ID}.json")), b"{not json").unwrap();
        assert!(matches!(
            store.load(ID),
            Err(KeyStoreError::Malformed { .. })
        ));
        store.save(&reply_key(OTHER_ID)).unwrap();
        fs::rename(
            dir.path().join(format!("{OTHER_ID}.json")),
            dir.path().join(format!("{ID}.json")),
        )
        .unwrap();
        assert!(matches!(
            store.load(ID),
            Err(KeyStoreError::Malformed { .. })
        ));
        // A file in the store's format, bent: an array for the object, the
        // request id twice (the second one another request's).
        let path = dir.path().join(format!("{ID}.json"));
        let good = fs::read_to_string(dir.path().join(format!("{ID}.json"))).unwrap();
        let value: serde_json::Value = serde_json::from_str(&good).unwrap();
        let fields = [
            "request_id",
            "source_network",
            "destination_network",
            "decryption_key",
        ];
        let array = serde_json::Value::Array(fields.iter().map(|f| value[*f].clone()).collect());
        fs::write(&path, array.to_string()).unwrap();
        let error = store.load(ID).unwrap_err().to_string();
        assert!(error.contains("JSON object"), "{error}");
        let twice = good.replacen('{', &format!("{{\"request_id\":\"{ID}\","), 1);
        fs::write(&path, twice).unwrap();
        let error = store.load(ID).unwrap_err().to_string();
        assert!(error.contains("repeats the key"), "{error}");
    }

    #[test]
    fn in_memory_key_store_round_trips() {
        let store: Arc<dyn KeyStore> = Arc::new(InMemoryKeyStore::new());
        let key = reply_key("r-1");
        store.save(&key).unwrap();
        let loaded = store.load("r-1").unwrap().unwrap();
        assert_eq!(
            loaded.decryption_key.to_bytes(),
            key.decryption_key.to_bytes()
        );
        store.remove("r-1").unwrap();
        assert!(store.load("r-1").unwrap().is_none());
    }
}
