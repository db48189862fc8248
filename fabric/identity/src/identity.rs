//! Who signs: an X.509 identity (MSP id + PEM certificate) and the signing
//! identity that pairs it with a [`Signer`].
//!
//! Fabric names the creator of every message by the bytes of a
//! `msp.SerializedIdentity`, so [`Identity::creator`] is computed once and
//! reused everywhere. Keys and certificates are loaded in one place, from an
//! MSP folder (as cryptogen and fabric-ca lay it out) or from PEM files, and
//! the key is checked against the certificate at load time so a wrong key is
//! reported here rather than as an opaque rejection from the peer.

use std::{
    fs,
    path::{Path, PathBuf},
    sync::Arc,
};

use hlf_protos::msp;
use prost::Message as _;
use x509_cert::der::DecodePem as _;

use crate::sign::{PrivateKey, SignError, Signer};

/// Why an identity could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// A file or folder could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// What was being read.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The certificate is not a PEM X.509 certificate.
    #[error("{} is not a PEM X.509 certificate: {reason}", path.display())]
    Certificate {
        /// The certificate file.
        path: PathBuf,
        /// What the parser said.
        reason: String,
    },
    /// The private key could not be read.
    #[error("{}: {source}", path.display())]
    Key {
        /// The key file.
        path: PathBuf,
        /// What was wrong with it.
        source: SignError,
    },
    /// The MSP folder has no `signcerts/*.pem`.
    #[error("no certificate in {}/signcerts", dir.display())]
    NoCertificate {
        /// The MSP folder.
        dir: PathBuf,
    },
    /// No key in the MSP folder's keystore belongs to its certificate.
    #[error("no key in {}/keystore matches the certificate {}", dir.display(), certificate.display())]
    NoMatchingKey {
        /// The MSP folder.
        dir: PathBuf,
        /// The certificate the key should match.
        certificate: PathBuf,
    },
    /// The key is not the certificate's key.
    #[error("the key {} does not belong to the certificate {}", key.display(), certificate.display())]
    KeyMismatch {
        /// The certificate file.
        certificate: PathBuf,
        /// The key file.
        key: PathBuf,
    },
}

/// An X.509 identity: an MSP id and a PEM certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    msp_id: String,
    certificate_pem: Vec<u8>,
}

impl Identity {
    /// An identity from its MSP id and PEM certificate bytes.
    pub fn new(msp_id: impl Into<String>, certificate_pem: impl Into<Vec<u8>>) -> Self {
        Self {
            msp_id: msp_id.into(),
            certificate_pem: certificate_pem.into(),
        }
    }

    /// The MSP id, e.g. `Net1Org1MSP`.
    pub fn msp_id(&self) -> &str {
        &self.msp_id
    }

    /// The PEM certificate.
    pub fn certificate_pem(&self) -> &[u8] {
        &self.certificate_pem
    }

    /// The serialised `msp.SerializedIdentity`: the creator bytes Fabric puts
    /// in signature headers and requests.
    pub fn creator(&self) -> Vec<u8> {
        msp::SerializedIdentity {
            mspid: self.msp_id.clone(),
            id_bytes: self.certificate_pem.clone(),
        }
        .encode_to_vec()
    }
}

/// An identity with the key that signs for it.
#[derive(Debug, Clone)]
pub struct SigningIdentity {
    identity: Identity,
    creator: Vec<u8>,
    signer: Arc<dyn Signer>,
}

impl SigningIdentity {
    /// Pairs an identity with a signer as given: use this for keys held
    /// elsewhere (an HSM), which cannot be checked against the certificate here.
    pub fn new(identity: Identity, signer: Arc<dyn Signer>) -> Self {
        let creator = identity.creator();
        Self {
            identity,
            creator,
            signer,
        }
    }

    /// Loads a PEM certificate and a PEM private key, and checks they belong
    /// together.
    pub fn from_pem_files(
        msp_id: impl Into<String>,
        certificate: &Path,
        key: &Path,
    ) -> Result<Self, IdentityError> {
        let certificate_pem = read(certificate)?;
        let public_key = certificate_public_key(certificate, &certificate_pem)?;
        let private_key = read_key(key)?;
        if private_key.public_key() != public_key {
            return Err(IdentityError::KeyMismatch {
                certificate: certificate.to_path_buf(),
                key: key.to_path_buf(),
            });
        }
        Ok(Self::new(
            Identity::new(msp_id, certificate_pem),
            private_key.into_signer(),
        ))
    }

    /// Loads an MSP folder: the first `signcerts/*.pem` (by name) and the key
    /// in `keystore/` that belongs to it. cryptogen names the key `priv_sk`;
    /// fabric-ca names it `<ski>_sk` and may leave older keys beside it after
    /// re-enrolment, hence the search by public key rather than by name.
    pub fn from_msp_dir(msp_id: impl Into<String>, dir: &Path) -> Result<Self, IdentityError> {
        let certificate = sorted_entries(&dir.join("signcerts"))?
            .into_iter()
            .find(|path| path.extension().is_some_and(|ext| ext == "pem"))
            .ok_or_else(|| IdentityError::NoCertificate {
                dir: dir.to_path_buf(),
            })?;
        let certificate_pem = read(&certificate)?;
        let public_key = certificate_public_key(&certificate, &certificate_pem)?;
        for key in sorted_entries(&dir.join("keystore"))? {
            // Other files (a README, a key of another kind) are skipped: only
            // the key that matches counts.
            let Ok(private_key) = read_key(&key) else {
                continue;
            };
            if private_key.public_key() == public_key {
                return Ok(Self::new(
                    Identity::new(msp_id, certificate_pem),
                    private_key.into_signer(),
                ));
            }
        }
        Err(IdentityError::NoMatchingKey {
            dir: dir.to_path_buf(),
            certificate,
        })
    }

    /// The identity.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// The serialised identity (see [`Identity::creator`]).
    pub fn creator(&self) -> &[u8] {
        &self.creator
    }

    /// What has to be signed for `message` (see [`Signer::digest`]).
    pub fn digest(&self, message: &[u8]) -> Vec<u8> {
        self.signer.digest(message)
    }

    /// Signs a digest made by [`Self::digest`].
    pub fn sign(&self, digest: &[u8]) -> Result<Vec<u8>, SignError> {
        self.signer.sign(digest)
    }

    /// Signs `message` (see [`Signer::sign_message`]): the same signature
    /// as [`Self::sign`] of its digest, made as fast as the key allows.
    pub fn sign_message(&self, message: &[u8]) -> Result<Vec<u8>, SignError> {
        self.signer.sign_message(message)
    }
}

/// A signing identity signs exchange messages with the key that signs its
/// transactions, so a request's signer is always the transaction's creator.
impl Signer for SigningIdentity {
    fn digest(&self, message: &[u8]) -> Vec<u8> {
        self.signer.digest(message)
    }

    fn sign(&self, digest: &[u8]) -> Result<Vec<u8>, SignError> {
        self.signer.sign(digest)
    }

    fn sign_message(&self, message: &[u8]) -> Result<Vec<u8>, SignError> {
        self.signer.sign_message(message)
    }
}

fn read(path: &Path) -> Result<Vec<u8>, IdentityError> {
    fs::read(path).map_err(|source| IdentityError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn read_key(path: &Path) -> Result<PrivateKey, IdentityError> {
    let bytes = read(path)?;
    let pem = std::str::from_utf8(&bytes).map_err(|_| IdentityError::Key {
        path: path.to_path_buf(),
        source: SignError::UnsupportedKey,
    })?;
    PrivateKey::from_pem(pem).map_err(|source| IdentityError::Key {
        path: path.to_path_buf(),
        source,
    })
}

/// The raw subject public key of a PEM certificate: the form
/// [`PrivateKey::public_key`] returns.
fn certificate_public_key(path: &Path, pem: &[u8]) -> Result<Vec<u8>, IdentityError> {
    let certificate =
        x509_cert::Certificate::from_pem(pem).map_err(|e| IdentityError::Certificate {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
    Ok(certificate
        .tbs_certificate()
        .subject_public_key_info()
        .subject_public_key
        .raw_bytes()
        .to_vec())
}

fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>, IdentityError> {
    let io_error = |source| IdentityError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut paths = Vec::new();
    for entry in fs::read_dir(dir).map_err(io_error)? {
        let path = entry.map_err(io_error)?.path();
        if path.is_file() {
            paths.push(path);
        }
    }
    paths.sort();
    Ok(paths)
}

#[cfg(test)]
mod tests {
    use std::{str::FromStr as _, time::Duration};

    use p256::pkcs8::{EncodePrivateKey as _, LineEnding};
    use x509_cert::{
        builder::{Builder as _, CertificateBuilder, profile::cabf::Root},
        der::EncodePem as _,
        name::Name,
        serial_number::SerialNumber,
        spki::SubjectPublicKeyInfoOwned,
        time::Validity,
    };

    use super::*;

    fn p256_key(seed: u8) -> p256::ecdsa::SigningKey {
        p256::ecdsa::SigningKey::from_bytes(&[seed; 32].into()).unwrap()
    }

    fn builder(spki: SubjectPublicKeyInfoOwned) -> CertificateBuilder<Root> {
        let subject = Name::from_str("CN=User1@org1.net1.example.com,O=org1,C=US").unwrap();
        CertificateBuilder::new(
            Root::new(false, subject).unwrap(),
            SerialNumber::from(1u32),
            Validity::from_now(Duration::from_secs(3600)).unwrap(),
            spki,
        )
        .unwrap()
    }

    /// A self-signed certificate for a P-256 key, as PEM.
    fn p256_certificate(key: &p256::ecdsa::SigningKey) -> String {
        let spki = SubjectPublicKeyInfoOwned::from_key(key.verifying_key()).unwrap();
        builder(spki)
            .build::<_, p256::ecdsa::DerSignature>(key)
            .unwrap()
            .to_pem(LineEnding::LF)
            .unwrap()
    }

    /// A self-signed certificate for an Ed25519 key, as PEM.
    fn ed25519_certificate(key: &ed25519_dalek::SigningKey) -> String {
        let spki = SubjectPublicKeyInfoOwned::from_key(&key.verifying_key()).unwrap();
        builder(spki)
            .build::<_, ed25519_dalek::Signature>(key)
            .unwrap()
            .to_pem(LineEnding::LF)
            .unwrap()
    }

    /// An MSP folder: `signcerts/cert.pem` and the given keystore files.
    fn msp_dir(certificate: &str, keys: &[(&str, String)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("signcerts")).unwrap();
        fs::create_dir(dir.path().join("keystore")).unwrap();
        fs::write(dir.path().join("signcerts/cert.pem"), certificate).unwrap();
        for (name, pem) in keys {
            fs::write(dir.path().join("keystore").join(name), pem).unwrap();
        }
        dir
    }

    fn pkcs8(key: &p256::ecdsa::SigningKey) -> String {
        key.to_pkcs8_pem(LineEnding::LF).unwrap().to_string()
    }

    #[test]
    fn creator_is_a_serialized_identity() {
        let identity = Identity::new("Net1Org1MSP", b"PEM".to_vec());
        let decoded = msp::SerializedIdentity::decode(identity.creator().as_slice()).unwrap();
        assert_eq!(decoded.mspid, "Net1Org1MSP");
        assert_eq!(decoded.id_bytes, b"PEM");
    }

    #[test]
    fn a_cryptogen_msp_folder_loads() {
        let key = p256_key(1);
        let certificate = p256_certificate(&key);
        let dir = msp_dir(&certificate, &[("priv_sk", pkcs8(&key))]);
        let signing = SigningIdentity::from_msp_dir("Net1Org1MSP", dir.path()).unwrap();
        assert_eq!(signing.identity().msp_id(), "Net1Org1MSP");
        assert_eq!(signing.identity().certificate_pem(), certificate.as_bytes());
        assert_eq!(signing.creator(), signing.identity().creator());

        use p256::ecdsa::signature::Verifier as _;
        let digest = signing.digest(b"message");
        let signature = p256::ecdsa::Signature::from_der(&signing.sign(&digest).unwrap()).unwrap();
        key.verifying_key().verify(b"message", &signature).unwrap();
    }

    #[test]
    fn a_fabric_ca_keystore_is_searched_for_the_matching_key() {
        let key = p256_key(2);
        let dir = msp_dir(
            &p256_certificate(&key),
            &[
                // An older key left by a re-enrolment, and a stray file.
                ("0a0a_sk", pkcs8(&p256_key(3))),
                ("README", "not a key".to_string()),
                ("f00d_sk", pkcs8(&key)),
            ],
        );
        let signing = SigningIdentity::from_msp_dir("Net1Org2MSP", dir.path()).unwrap();
        let digest = signing.digest(b"m");
        assert_eq!(
            signing.sign(&digest).unwrap(),
            crate::sign::P256Signer::new(key).sign(&digest).unwrap()
        );
    }

    #[test]
    fn an_ed25519_identity_loads_from_pem_files() {
        let key = ed25519_dalek::SigningKey::from_bytes(&[4; 32]);
        let dir = tempfile::tempdir().unwrap();
        let certificate = dir.path().join("cert.pem");
        let key_file = dir.path().join("key.pem");
        fs::write(&certificate, ed25519_certificate(&key)).unwrap();
        fs::write(
            &key_file,
            key.to_pkcs8_pem(LineEnding::LF).unwrap().as_bytes(),
        )
        .unwrap();
        let signing =
            SigningIdentity::from_pem_files("Net1Org1MSP", &certificate, &key_file).unwrap();
        assert_eq!(signing.digest(b"whole message"), b"whole message");
        let signature =
            ed25519_dalek::Signature::from_slice(&signing.sign(b"whole message").unwrap()).unwrap();
        key.verifying_key()
            .verify_strict(b"whole message", &signature)
            .unwrap();
    }

    #[test]
    fn a_wrong_key_is_refused_at_load_time() {
        let dir = tempfile::tempdir().unwrap();
        let certificate = dir.path().join("cert.pem");
        let key_file = dir.path().join("key.pem");
        fs::write(&certificate, p256_certificate(&p256_key(5))).unwrap();
        fs::write(&key_file, pkcs8(&p256_key(6))).unwrap();
        assert!(matches!(
            SigningIdentity::from_pem_files("M", &certificate, &key_file),
            Err(IdentityError::KeyMismatch { .. })
        ));

        let msp = msp_dir(
            &p256_certificate(&p256_key(5)),
            &[("priv_sk", pkcs8(&p256_key(6)))],
        );
        assert!(matches!(
            SigningIdentity::from_msp_dir("M", msp.path()),
            Err(IdentityError::NoMatchingKey { .. })
        ));
    }

    #[test]
    fn missing_and_malformed_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            SigningIdentity::from_msp_dir("M", dir.path()),
            Err(IdentityError::Io { .. })
        ));
        fs::create_dir(dir.path().join("signcerts")).unwrap();
        assert!(matches!(
            SigningIdentity::from_msp_dir("M", dir.path()),
            Err(IdentityError::NoCertificate { .. })
        ));
        let certificate = dir.path().join("signcerts/cert.pem");
        fs::write(&certificate, "not a certificate").unwrap();
        let key_file = dir.path().join("key.pem");
        fs::write(&key_file, pkcs8(&p256_key(7))).unwrap();
        assert!(matches!(
            SigningIdentity::from_pem_files("M", &certificate, &key_file),
            Err(IdentityError::Certificate { .. })
        ));
        fs::write(&certificate, p256_certificate(&p256_key(7))).unwrap();
        fs::write(&key_file, "garbage").unwrap();
        let error = SigningIdentity::from_pem_files("M", &certificate, &key_file).unwrap_err();
        assert!(matches!(error, IdentityError::Key { .. }));
        assert!(error.to_string().contains("key.pem"), "{error}");
    }
}
