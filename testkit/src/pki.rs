//! A throwaway PKI for tests: a CA and certificates it signs, with P-256
//! keys derived from fixed seeds (signing is deterministic, RFC 6979).

use std::{str::FromStr, time::Duration};

use p256::{
    ecdsa::{DerSignature, SigningKey},
    pkcs8::{EncodePrivateKey, LineEnding},
};
use x509_cert::{
    Certificate, TbsCertificate,
    builder::{
        Builder, CertificateBuilder,
        profile::{BuilderProfile, cabf::Root},
    },
    der::{
        EncodePem,
        asn1::{Ia5String, OctetString, UtcTime},
        oid::ObjectIdentifier,
    },
    ext::{
        Extension, ToExtension,
        pkix::{ExtendedKeyUsage, SubjectAltName, name::GeneralName},
    },
    name::Name,
    serial_number::SerialNumber,
    spki::{SubjectPublicKeyInfo, SubjectPublicKeyInfoRef},
    time::{Time, Validity},
};

/// A certificate and its private key, both PEM.
#[derive(Debug)]
pub struct Issued {
    pub cert_pem: String,
    pub key_pem: String,
    pub certificate: Certificate,
}

/// A certificate authority.
#[derive(Debug)]
pub struct Ca {
    name: Name,
    key: CaKey,
    pub issued: Issued,
}

/// The CA's own key: P-256, as cryptogen's CAs, or Ed25519.
#[derive(Debug)]
enum CaKey {
    P256(SigningKey),
    Ed25519(ed25519_dalek::SigningKey),
}

impl CaKey {
    fn sign<P: BuilderProfile>(&self, builder: CertificateBuilder<P>) -> Certificate {
        match self {
            CaKey::P256(key) => builder.build::<_, DerSignature>(key).unwrap(),
            CaKey::Ed25519(key) => builder.build::<_, ed25519_dalek::Signature>(key).unwrap(),
        }
    }
}

/// 2020-01-01 to 2049-12-31, whatever the day: a certificate is then the
/// same on every run, and valid both at the wall clock and at the
/// in-memory ledgers' transaction times (which start in 2024).
pub fn validity() -> Validity {
    let at = |seconds: u64| {
        Time::UtcTime(UtcTime::from_unix_duration(Duration::from_secs(seconds)).unwrap())
    };
    Validity::new(at(1_577_836_800), at(2_524_607_999))
}

fn key(seed: u8) -> SigningKey {
    SigningKey::from_slice(&[seed; 32]).unwrap()
}

fn issued(certificate: Certificate, key: &SigningKey) -> Issued {
    Issued {
        cert_pem: certificate.to_pem(LineEnding::LF).unwrap(),
        key_pem: key.to_pkcs8_pem(LineEnding::LF).unwrap().to_string(),
        certificate,
    }
}

impl Ca {
    pub fn new(subject: &str, seed: u8) -> Self {
        let name = Name::from_str(subject).unwrap();
        let key = key(seed);
        let builder = CertificateBuilder::new(
            Root::new(false, name.clone()).unwrap(),
            SerialNumber::from(u32::from(seed)),
            validity(),
            SubjectPublicKeyInfo::from_key(key.verifying_key()).unwrap(),
        )
        .unwrap();
        let certificate = builder.build::<_, DerSignature>(&key).unwrap();
        let issued = issued(certificate, &key);
        Self {
            name,
            key: CaKey::P256(key),
            issued,
        }
    }

    /// A CA whose own key is Ed25519 (from `seed`); what it issues still
    /// has P-256 keys.
    pub fn new_ed25519(subject: &str, seed: u8) -> Self {
        let name = Name::from_str(subject).unwrap();
        let key = ed25519_dalek::SigningKey::from_bytes(&[seed; 32]);
        let builder = CertificateBuilder::new(
            Root::new(false, name.clone()).unwrap(),
            SerialNumber::from(u32::from(seed)),
            validity(),
            SubjectPublicKeyInfo::from_key(&key.verifying_key()).unwrap(),
        )
        .unwrap();
        let key = CaKey::Ed25519(key);
        let certificate = key.sign(builder);
        let issued = Issued {
            cert_pem: certificate.to_pem(LineEnding::LF).unwrap(),
            key_pem: String::new(),
            certificate,
        };
        Self { name, key, issued }
    }

    /// A leaf certificate for `localhost` and 127.0.0.1, good for TLS
    /// servers and clients, with the full `subject` and extra extensions.
    pub fn issue(&self, subject: &str, seed: u8, extensions: Vec<Extension>) -> Issued {
        let profile = Leaf {
            issuer: self.name.clone(),
            subject: Name::from_str(subject).unwrap(),
        };
        let leaf = key(seed);
        let mut builder = CertificateBuilder::new(
            profile,
            SerialNumber::from(u32::from(seed)),
            validity(),
            SubjectPublicKeyInfo::from_key(leaf.verifying_key()).unwrap(),
        )
        .unwrap();
        for extension in extensions {
            builder.add_extension(extension).unwrap();
        }
        issued(self.key.sign(builder), &leaf)
    }
}

/// An end-entity profile that keeps the whole subject (Fabric identities
/// carry OUs, which the CA/B Forum profiles strip).
#[derive(Debug)]
struct Leaf {
    issuer: Name,
    subject: Name,
}

impl BuilderProfile for Leaf {
    fn get_issuer(&self, _subject: &Name) -> Name {
        self.issuer.clone()
    }

    fn get_subject(&self) -> Name {
        self.subject.clone()
    }

    fn build_extensions(
        &self,
        _spk: SubjectPublicKeyInfoRef<'_>,
        _issuer_spk: SubjectPublicKeyInfoRef<'_>,
        tbs: &TbsCertificate,
    ) -> x509_cert::builder::Result<Vec<Extension>> {
        let names = SubjectAltName(vec![
            GeneralName::DnsName(Ia5String::new("localhost").unwrap()),
            GeneralName::IpAddress(OctetString::new(vec![127, 0, 0, 1]).unwrap()),
        ]);
        let usage = ExtendedKeyUsage(vec![
            ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.1"),
            ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.2"),
        ]);
        Ok(vec![
            (&names).to_extension(tbs.subject(), &[]).unwrap(),
            (&usage).to_extension(tbs.subject(), &[]).unwrap(),
        ])
    }
}

/// A P-256 key from `seed` and a self-signed certificate for it naming
/// `subject`, as PEM: an identity that no CA vouches for, which is all a
/// stand-in peer or a signature check needs.
pub fn self_signed_p256(seed: u8, subject: &str) -> (SigningKey, String) {
    let key = key(seed);
    let certificate = CertificateBuilder::new(
        Root::new(false, Name::from_str(subject).unwrap()).unwrap(),
        SerialNumber::from(1u32),
        validity(),
        SubjectPublicKeyInfo::from_key(key.verifying_key()).unwrap(),
    )
    .unwrap()
    .build::<_, DerSignature>(&key)
    .unwrap()
    .to_pem(LineEnding::LF)
    .unwrap();
    (key, certificate)
}

/// A non-critical extension with raw contents.
pub fn extension(oid: &str, value: &[u8]) -> Extension {
    Extension {
        extn_id: ObjectIdentifier::new(oid).unwrap(),
        critical: false,
        extn_value: OctetString::new(value.to_vec()).unwrap(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_leaf_names_its_ca_as_issuer_and_keeps_its_whole_subject() {
        let ca = Ca::new("CN=ca.org1,O=org1,C=US", 1);
        let leaf = ca.issue("CN=User1,OU=client,O=org1,C=US", 2, Vec::new());
        let tbs = leaf.certificate.tbs_certificate();
        assert_eq!(
            tbs.issuer(),
            ca.issued.certificate.tbs_certificate().subject()
        );
        assert!(
            tbs.subject().to_string().contains("OU=client"),
            "{}",
            tbs.subject()
        );
        assert!(leaf.key_pem.starts_with("-----BEGIN PRIVATE KEY-----"));
    }

    #[test]
    fn a_seed_gives_the_same_key_every_time() {
        let (a, pem_a) = self_signed_p256(7, "CN=User1,O=org1,C=US");
        let (b, _) = self_signed_p256(7, "CN=User1,O=org1,C=US");
        assert_eq!(a.verifying_key(), b.verifying_key());
        assert!(pem_a.starts_with("-----BEGIN CERTIFICATE-----"));
        assert_ne!(
            self_signed_p256(8, "CN=User1,O=org1,C=US")
                .0
                .verifying_key(),
            a.verifying_key()
        );
    }
}
