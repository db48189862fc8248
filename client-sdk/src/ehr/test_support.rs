//! Test identities shared by the EHR modules' unit tests.

use std::{str::FromStr as _, time::Duration};

use x509_cert::{
    builder::{Builder as _, CertificateBuilder, profile::cabf::Root},
    der::{EncodePem as _, pem::LineEnding},
    name::Name,
    serial_number::SerialNumber,
    spki::SubjectPublicKeyInfoOwned,
    time::Validity,
};

/// A P-256 key from a seed byte and its self-signed PEM certificate.
pub(crate) fn p256_credentials(seed: u8) -> (p256::ecdsa::SigningKey, String) {
    let key = p256::ecdsa::SigningKey::from_slice(&[seed; 32]).unwrap();
    let spki = SubjectPublicKeyInfoOwned::from_key(key.verifying_key()).unwrap();
    let subject = Name::from_str("CN=User1@org1.example.com,O=org1,C=US").unwrap();
    let certificate = CertificateBuilder::new(
        Root::new(false, subject).unwrap(),
        SerialNumber::from(1u32),
        Validity::from_now(Duration::from_secs(3600)).unwrap(),
        spki,
    )
    .unwrap()
    .build::<_, p256::ecdsa::DerSignature>(&key)
    .unwrap()
    .to_pem(LineEnding::LF)
    .unwrap();
    (key, certificate)
}
