//! Key files the CLI makes and reads: a requester's X25519 key (written
//! owner-only by the library, never overwritten here, since replies sealed
//! to a lost key are lost), a network's Ed25519 key and its public half
//! for the other networks' lookup tables, and the consortium's matching
//! key with a fingerprint its members compare.

use std::path::Path;

use anyhow::{Context as _, anyhow, bail};
use serde::Serialize;

use ehrx_client::ehr::{RequesterKey, interface::Key32};

use crate::{args::KeysCommand, output::Output};

/// What `keys requester` reports.
#[derive(Debug, Serialize)]
struct GeneratedKey<'a> {
    file: &'a Path,
    public_key: String,
}

/// What `keys matching` reports: never the key itself.
#[derive(Debug, Serialize)]
struct MatchingKeyFile<'a> {
    file: &'a Path,
    created: bool,
    fingerprint: String,
}

/// `ehrx keys …`.
pub fn run(out: &Output, command: KeysCommand) -> anyhow::Result<()> {
    match command {
        KeysCommand::Requester { out: file } => {
            let key = generate_requester_key(&file)?;
            let public_key = hex::encode(key.public_key());
            out.emit(
                &GeneratedKey {
                    file: &file,
                    public_key: public_key.clone(),
                },
                || format!("{public_key}\n"),
            )
        }
        KeysCommand::Matching {
            out: new,
            fingerprint,
        } => {
            let (file, created) = match (new, fingerprint) {
                (Some(file), _) => {
                    write_fresh_secret(
                        &file,
                        "a matching key is never overwritten (every patient_ref of the consortium depends on it)",
                    )?;
                    (file, true)
                }
                (None, Some(file)) => (file, false),
                (None, None) => bail!("give --out or --fingerprint"),
            };
            let fingerprint = matching_key_fingerprint(&file)?;
            out.emit(
                &MatchingKeyFile {
                    file: &file,
                    created,
                    fingerprint: fingerprint.clone(),
                },
                || {
                    if created {
                        format!(
                            "matching key written to {} (owner-only)\nfingerprint {fingerprint}\n\
                             hand the file to every member network's admin out of band (in person, or encrypted to them);\n\
                             each checks it with `ehrx keys matching --fingerprint <file>` against this fingerprint\n",
                            file.display()
                        )
                    } else {
                        format!("fingerprint {fingerprint}\n")
                    }
                },
            )
        }
        KeysCommand::Network { out: file } => {
            let public_key = hex::encode(generate_network_key(&file)?);
            out.emit(
                &GeneratedKey {
                    file: &file,
                    public_key: public_key.clone(),
                },
                || format!("{public_key}\n"),
            )
        }
    }
}

/// Writes a fresh network key (an Ed25519 secret, 64 hex digits, readable
/// by the owner only) to `path`, which must not exist yet, and returns its
/// public key.
pub fn generate_network_key(path: &Path) -> anyhow::Result<[u8; 32]> {
    write_fresh_secret(
        path,
        "a network key is never overwritten (the other networks' lookup tables hold its public half)",
    )?;
    network_public_key(path)
}

/// Writes 32 fresh random bytes as 64 hex digits to `path`, readable by
/// the owner only; `path` must not exist yet (`never` says why, when it does).
fn write_fresh_secret(path: &Path, never: &str) -> anyhow::Result<()> {
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|e| anyhow!("no randomness for the key: {e}"))?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            anyhow!("{} already exists; {never}", path.display())
        } else {
            anyhow!("creating the key {}: {e}", path.display())
        }
    })?;
    std::io::Write::write_all(&mut file, format!("{}\n", hex::encode(secret)).as_bytes())
        .with_context(|| format!("writing the key {}", path.display()))
}

/// The fingerprint of a matching key file: the first 16 bytes of the
/// SHA-256 of its 32 bytes, in groups of four hex digits. Members compare
/// it to be sure they hold the same key; it does not reveal the key.
pub fn matching_key_fingerprint(path: &Path) -> anyhow::Result<String> {
    use sha2::Digest as _;
    let key = hex32_file(path, "matching key")?;
    let digest = sha2::Sha256::digest(key);
    Ok(digest[..16]
        .chunks(2)
        .map(hex::encode)
        .collect::<Vec<_>>()
        .join(":"))
}

/// Writes a fresh requester key to `path`, which must not exist yet.
pub fn generate_requester_key(path: &Path) -> anyhow::Result<RequesterKey> {
    if path.exists() {
        bail!(
            "{} already exists; a requester key is never overwritten (replies sealed to it could no longer be read)",
            path.display()
        );
    }
    let key = RequesterKey::generate().context("generating a requester key")?;
    key.save(path)
        .with_context(|| format!("writing the requester key {}", path.display()))?;
    Ok(key)
}

/// The requester key in a file written by `keys requester`.
pub fn load_requester_key(path: &Path) -> anyhow::Result<RequesterKey> {
    RequesterKey::load(path)
        .with_context(|| format!("reading the requester key {}", path.display()))
}

/// 32 bytes from 64 hex digits (surrounding whitespace ignored); `what`
/// names the value in the error.
pub fn hex32(text: &str, what: &str) -> anyhow::Result<[u8; 32]> {
    Key32::parse(text.trim())
        .map(|key| *key.bytes())
        .map_err(|e| anyhow!("{what} {e}"))
}

/// 32 bytes from a file of 64 hex digits.
pub fn hex32_file(path: &Path, what: &str) -> anyhow::Result<[u8; 32]> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading {what} file {}", path.display()))?;
    hex32(&text, &format!("{what} file {}", path.display()))
}

/// The public key of a network's Ed25519 secret key file.
pub fn network_public_key(secret_file: &Path) -> anyhow::Result<[u8; 32]> {
    let secret = hex32_file(secret_file, "network key")?;
    Ok(ed25519_dalek::SigningKey::from_bytes(&secret)
        .verifying_key()
        .to_bytes())
}

/// Checks that 32 bytes are an Ed25519 public key.
pub fn check_ed25519_public(key: &[u8; 32], what: &str) -> anyhow::Result<()> {
    ed25519_dalek::VerifyingKey::from_bytes(key)
        .map(|_| ())
        .map_err(|_| anyhow!("{what} is not a valid Ed25519 public key"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{assert_owner_only, file, temp_file};

    #[test]
    fn a_requester_key_is_written_privately_once_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("doctor.key");
        let key = generate_requester_key(&path).unwrap();
        assert_eq!(
            load_requester_key(&path).unwrap().public_key(),
            key.public_key()
        );
        assert_owner_only(&path);
        let again = generate_requester_key(&path).unwrap_err().to_string();
        assert!(again.contains("already exists"), "{again}");
        assert_eq!(
            load_requester_key(&path).unwrap().public_key(),
            key.public_key()
        );
    }

    #[test]
    fn a_network_key_is_written_privately_once_and_its_public_half_derived() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("network-key.hex");
        let public = generate_network_key(&path).unwrap();
        assert_eq!(network_public_key(&path).unwrap(), public);
        check_ed25519_public(&public, "the public key").unwrap();
        assert_owner_only(&path);
        let again = generate_network_key(&path).unwrap_err().to_string();
        assert!(again.contains("already exists"), "{again}");
        assert_eq!(network_public_key(&path).unwrap(), public, "unchanged");
        let other = generate_network_key(&dir.path().join("other.hex")).unwrap();
        assert_ne!(other, public, "each key is fresh");
    }

    #[test]
    fn a_matching_key_is_written_privately_once_and_fingerprinted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("matching.key");
        write_fresh_secret(&path, "never").unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.len(), 65, "{text:?}");
        // The SDK reads it as the consortium's key.
        ehrx_client::ehr::MatchingKey::from_file(&path).unwrap();
        assert_owner_only(&path);
        let again = write_fresh_secret(&path, "never").unwrap_err().to_string();
        assert!(again.contains("already exists; never"), "{again}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text, "unchanged");
        let fingerprint = matching_key_fingerprint(&path).unwrap();
        assert_eq!(fingerprint.len(), 39, "{fingerprint}");
        assert!(!text.contains(&fingerprint.replace(':', "")));
        // A known key's fingerprint: SHA-256 of 32 zero bytes begins 66687aad.
        let zero = file(dir.path(), "zero.key", "00".repeat(32));
        assert_eq!(
            matching_key_fingerprint(&zero).unwrap(),
            "6668:7aad:f862:bd77:6c8f:c18b:8e9f:8e20"
        );
    }

    #[test]
    fn unreadable_key_files_name_the_file() {
        let (_dir, path) = temp_file("bad.key", "not hex");
        for (text, says) in [
            (
                format!("{:#}", load_requester_key(&path).unwrap_err()),
                "malformed",
            ),
            (
                format!("{:#}", matching_key_fingerprint(&path).unwrap_err()),
                "matching key file",
            ),
        ] {
            assert!(text.contains("bad.key") && text.contains(says), "{text}");
        }
    }

    #[test]
    fn hex_keys_must_be_32_bytes_of_hex() {
        assert_eq!(
            hex32(&format!(" {} \n", "01".repeat(32)), "k").unwrap(),
            [1; 32]
        );
        let short = hex32("abcd", "the key").unwrap_err().to_string();
        assert!(short.contains("the key is 4 bytes long"), "{short}");
        let not_hex = hex32(&"zz".repeat(32), "the key").unwrap_err().to_string();
        assert!(
            not_hex.contains("the key has a character other than 0-9 a-f"),
            "{not_hex}"
        );
    }

    #[test]
    fn a_network_key_file_gives_the_rfc8032_public_key() {
        // RFC 8032 §7.1, test 1.
        let (dir, path) = temp_file(
            "network-key.hex",
            "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60\n",
        );
        let public = network_public_key(&path).unwrap();
        assert_eq!(
            hex::encode(public),
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
        );
        check_ed25519_public(&public, "k").unwrap();
        let missing = format!(
            "{:#}",
            network_public_key(&dir.path().join("nope")).unwrap_err()
        );
        assert!(
            missing.contains("network key file") && missing.contains("nope"),
            "{missing}"
        );
    }
}
