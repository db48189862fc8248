//! Who submitted the transaction: MSP id, X.509 certificate, a stable id
//! string, organisational units and Fabric CA attributes.
//!
//! The id string is formatted exactly as Fabric's Go `cid` package formats
//! it (`x509::<subject DN>::<issuer DN>`), so ids stored by Go chaincodes
//! and by this one compare equal. Go builds the DN from its parsed name:
//! only the well-known attribute types, in a fixed order (SERIALNUMBER, CN,
//! OU, O, POSTALCODE, STREET, L, ST, C), all values of one type joined by
//! `+`, and RFC 2253 escaping. Attributes come from the Fabric CA extension
//! `1.2.3.4.5.6.7.8.1`, whose value is JSON `{"attrs":{...}}`.

use std::collections::HashMap;

use hlf_protos::msp::SerializedIdentity;
use prost::Message;
use x509_cert::{
    Certificate,
    attr::AttributeTypeAndValue,
    der::Tagged,
    der::{DecodePem, Tag, oid::ObjectIdentifier},
    name::Name,
};

use crate::{error::StubError, stub::Stub};

/// Fabric CA's attribute extension.
pub const ATTRIBUTES_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.3.4.5.6.7.8.1");

/// The attribute types Go's DN formatting keeps, in its output order.
const DN_ORDER: [(&str, &str); 9] = [
    ("2.5.4.5", "SERIALNUMBER"),
    ("2.5.4.3", "CN"),
    ("2.5.4.11", "OU"),
    ("2.5.4.10", "O"),
    ("2.5.4.17", "POSTALCODE"),
    ("2.5.4.9", "STREET"),
    ("2.5.4.7", "L"),
    ("2.5.4.8", "ST"),
    ("2.5.4.6", "C"),
];

/// Why the submitter's identity could not be read.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// The transaction has no creator (no proposal).
    #[error(transparent)]
    NoCreator(#[from] StubError),
    /// The creator is not a serialised `msp.SerializedIdentity`.
    #[error("the creator is not a serialised identity: {0}")]
    Identity(#[from] prost::DecodeError),
    /// The identity bytes are not a PEM X.509 certificate (an Idemix
    /// identity, for example).
    #[error("the creator's identity is not a PEM X.509 certificate: {0}")]
    Certificate(x509_cert::der::Error),
    /// The attribute extension does not hold `{"attrs":{...}}` JSON.
    #[error("the certificate's attribute extension is not valid JSON: {0}")]
    Attributes(#[from] serde_json::Error),
    /// An attribute required by the contract is missing or different.
    #[error("attribute {name} is {actual:?}, expected {expected:?}")]
    AttributeMismatch {
        /// The attribute.
        name: String,
        /// The value required.
        expected: String,
        /// The value found, if any.
        actual: Option<String>,
    },
}

/// The submitter of a transaction, as its X.509 certificate describes it.
#[derive(Debug, Clone)]
pub struct ClientIdentity {
    msp_id: String,
    certificate: Certificate,
    id: String,
    organizational_units: Vec<String>,
    attributes: HashMap<String, String>,
}

#[derive(serde::Deserialize)]
struct AttributeExtension {
    #[serde(default)]
    attrs: HashMap<String, String>,
}

impl ClientIdentity {
    /// The identity of the submitter of `stub`'s transaction.
    pub fn from_stub(stub: &Stub) -> Result<Self, IdentityError> {
        Self::from_creator(stub.creator()?)
    }

    /// Reads a serialised `msp.SerializedIdentity`.
    pub fn from_creator(creator: &[u8]) -> Result<Self, IdentityError> {
        let identity = SerializedIdentity::decode(creator)?;
        let certificate =
            Certificate::from_pem(&identity.id_bytes).map_err(IdentityError::Certificate)?;
        let tbs = certificate.tbs_certificate();
        let id = format!(
            "x509::{}::{}",
            distinguished_name(tbs.subject()),
            distinguished_name(tbs.issuer())
        );
        let organizational_units = values_of(tbs.subject(), "2.5.4.11");
        let attributes = match tbs
            .extensions()
            .into_iter()
            .flatten()
            .find(|e| e.extn_id == ATTRIBUTES_OID)
        {
            Some(extension) => {
                serde_json::from_slice::<AttributeExtension>(extension.extn_value.as_bytes())?.attrs
            }
            None => HashMap::new(),
        };
        Ok(Self {
            msp_id: identity.mspid,
            certificate,
            id,
            organizational_units,
            attributes,
        })
    }

    /// `x509::<subject DN>::<issuer DN>`, as Fabric's Go `cid.GetID` before
    /// its base64 step: this is the readable form.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The MSP the identity belongs to.
    pub fn msp_id(&self) -> &str {
        &self.msp_id
    }

    /// The parsed certificate.
    pub fn certificate(&self) -> &Certificate {
        &self.certificate
    }

    /// The subject's organisational units, in certificate order.
    pub fn organizational_units(&self) -> &[String] {
        &self.organizational_units
    }

    /// Whether the subject has organisational unit `ou`.
    pub fn has_ou(&self, ou: &str) -> bool {
        self.organizational_units.iter().any(|unit| unit == ou)
    }

    /// A Fabric CA attribute, if the certificate carries it.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes.get(name).map(String::as_str)
    }

    /// Fails unless attribute `name` has value `expected`.
    pub fn assert_attribute(&self, name: &str, expected: &str) -> Result<(), IdentityError> {
        match self.attribute(name) {
            Some(actual) if actual == expected => Ok(()),
            actual => Err(IdentityError::AttributeMismatch {
                name: name.to_owned(),
                expected: expected.to_owned(),
                actual: actual.map(str::to_owned),
            }),
        }
    }
}

/// The DN of `name` as Go's `cid` package prints it.
fn distinguished_name(name: &Name) -> String {
    let mut rdns = Vec::new();
    for (oid, label) in DN_ORDER {
        let mut values = values_of(name, oid);
        // Go keeps a single common name and serial number: the last one seen.
        if matches!(label, "CN" | "SERIALNUMBER") && values.len() > 1 {
            values.drain(..values.len() - 1);
        }
        if !values.is_empty() {
            let parts: Vec<String> = values
                .iter()
                .map(|v| format!("{label}={}", escape(v)))
                .collect();
            rdns.push(parts.join("+"));
        }
    }
    rdns.join(",")
}

/// The string values of attribute type `oid`, in certificate order; values
/// that are not strings are skipped, as Go skips them.
fn values_of(name: &Name, oid: &str) -> Vec<String> {
    name.iter()
        .filter(|atv| atv.oid.to_string() == oid)
        .filter_map(string_value)
        .collect()
}

fn string_value(atv: &AttributeTypeAndValue) -> Option<String> {
    let bytes = atv.value.value();
    match atv.value.tag() {
        Tag::Utf8String | Tag::PrintableString | Tag::Ia5String | Tag::TeletexString => {
            Some(String::from_utf8_lossy(bytes).into_owned())
        }
        Tag::BmpString => {
            let units: Vec<u16> = bytes
                .chunks_exact(2)
                .map(|pair| u16::from_be_bytes([pair[0], pair[1]]))
                .collect();
            Some(String::from_utf16_lossy(&units))
        }
        _ => None,
    }
}

/// RFC 2253 escaping as Go applies it.
fn escape(value: &str) -> String {
    let last = value.chars().count().saturating_sub(1);
    let mut escaped = String::with_capacity(value.len());
    for (index, c) in value.chars().enumerate() {
        let edge = (index == 0 && (c == ' ' || c == '#')) || (index == last && c == ' ');
        if edge || matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

#[cfg(test)]
mod tests {
    use hlf_protos::{
        common::{Header, SignatureHeader},
        peer::{Proposal, SignedProposal},
    };

    use super::*;

    /// A real proposal from `User1@org1.net1.example.com` on a local network.
    const SIGNED_PROPOSAL: &[u8] =
        include_bytes!("../../protos/tests/fixtures/signed-proposal.bin");

    fn fixture_creator() -> Vec<u8> {
        let signed = SignedProposal::decode(SIGNED_PROPOSAL).unwrap();
        let proposal = Proposal::decode(signed.proposal_bytes.as_slice()).unwrap();
        let header = Header::decode(proposal.header.as_slice()).unwrap();
        SignatureHeader::decode(header.signature_header.as_slice())
            .unwrap()
            .creator
    }

    #[test]
    fn reads_a_real_cryptogen_identity() {
        let identity = ClientIdentity::from_creator(&fixture_creator()).unwrap();
        assert_eq!(identity.msp_id(), "Net1Org1MSP");
        assert!(
            identity
                .id()
                .starts_with("x509::CN=User1@org1.net1.example.com,OU=client,"),
            "{}",
            identity.id()
        );
        assert!(
            identity.id().contains("::CN=ca.org1.net1.example.com,"),
            "{}",
            identity.id()
        );
        assert!(identity.has_ou("client"));
        assert!(!identity.has_ou("admin"));
        assert_eq!(identity.attribute("hf.EnrollmentID"), None);
        assert!(matches!(
            identity.assert_attribute("role", "doctor"),
            Err(IdentityError::AttributeMismatch { actual: None, .. })
        ));
    }

    #[test]
    fn rejects_non_certificates() {
        let idemix = SerializedIdentity {
            mspid: "M".into(),
            id_bytes: b"not a certificate".to_vec(),
        };
        assert!(matches!(
            ClientIdentity::from_creator(&idemix.encode_to_vec()),
            Err(IdentityError::Certificate(_))
        ));
        assert!(matches!(
            ClientIdentity::from_creator(&[0xff]),
            Err(IdentityError::Identity(_))
        ));
    }

    #[test]
    fn escapes_like_go() {
        assert_eq!(escape("a,b+c"), "a\\,b\\+c");
        assert_eq!(escape(" #x "), "\\ #x\\ ");
        assert_eq!(escape("#x"), "\\#x");
        assert_eq!(escape("plain"), "plain");
    }
}
