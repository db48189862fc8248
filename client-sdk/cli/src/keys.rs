//! Key files the CLI makes and reads: a requester's X25519 key (written
//! owner-only by the library, never overwritten here, since replies sealed
//! to a lost key are lost), and the public half of a network's Ed25519 key
//! for the other networks' lookup tables.

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
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|e| anyhow!("no randomness for the network key: {e}"))?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            anyhow!(
                "{} already exists; a network key is never overwritten (the other networks' lookup tables hold its public half)",
                path.display()
            )
        } else {
            anyhow!("creating the network key {}: {e}", path.display())
        }
    })?;
    std::io::Write::write_all(&mut file, format!("{}\n", hex::encode(secret)).as_bytes())
        .with_context(|| format!("writing the network key {}", path.display()))?;
    network_public_key(path)
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

    #[test]
    fn a_requester_key_is_written_privately_once_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("doctor.key");
        let key = generate_requester_key(&path).unwrap();
        assert_eq!(
            load_requester_key(&path).unwrap().public_key(),
            key.public_key()
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
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
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        let again = generate_network_key(&path).unwrap_err().to_string();
        assert!(again.contains("already exists"), "{again}");
        assert_eq!(network_public_key(&path).unwrap(), public, "unchanged");
        let other = generate_network_key(&dir.path().join("other.hex")).unwrap();
        assert_ne!(other, public, "each key is fresh");
    }

    #[test]
    fn unreadable_requester_keys_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.key");
        std::fs::write(&path, "not hex").unwrap();
        let text = format!("{:#}", load_requester_key(&path).unwrap_err());
        assert!(
            text.contains("bad.key") && text.contains("malformed"),
            "{text}"
        );
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
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("network-key.hex");
        std::fs::write(
            &path,
            "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60\n",
        )
        .unwrap();
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
