#![cfg(test)]
//! The client identity helper on certificates shaped like Fabric CA's:
//! several OUs, an escaped common name, and the attribute extension.

use ehrx_testkit::pki::{Ca, extension};
use hlf_protos::msp::SerializedIdentity;
use hlf_shim::{
    client_identity::{ClientIdentity, IdentityError},
    testing::{Invocation, MemoryLedger},
};
use prost::Message;

const ATTRIBUTES: &str = "1.2.3.4.5.6.7.8.1";

fn creator(msp_id: &str, cert_pem: &str) -> Vec<u8> {
    SerializedIdentity {
        mspid: msp_id.into(),
        id_bytes: cert_pem.as_bytes().to_vec(),
    }
    .encode_to_vec()
}

#[tokio::test]
async fn id_ous_and_attributes_as_fabric_reports_them() {
    let ca = Ca::new("CN=ca.org1.example.com,O=org1.example.com,C=US", 11);
    let attrs = br#"{"attrs":{"hf.EnrollmentID":"doctor1","role":"physician"}}"#;
    let user = ca.issue(
        "C=US,ST=North Carolina,O=Hyperledger,OU=client+OU=org1,CN=Doe\\, John",
        12,
        vec![extension(ATTRIBUTES, attrs)],
    );
    let ledger = MemoryLedger::new();
    let tx = ledger
        .begin(&Invocation::new(["F"]).creator(creator("Org1MSP", &user.cert_pem)))
        .unwrap();
    let identity = ClientIdentity::from_stub(tx.stub()).unwrap();

    assert_eq!(identity.msp_id(), "Org1MSP");
    // A multi-valued RDN is a DER SET, sorted by encoding; Go sees this order too.
    assert_eq!(identity.organizational_units(), ["org1", "client"]);
    assert_eq!(
        identity.id(),
        "x509::CN=Doe\\, John,OU=org1+OU=client,O=Hyperledger,ST=North Carolina,C=US::CN=ca.org1.example.com,O=org1.example.com,C=US"
    );
    assert_eq!(identity.attribute("role"), Some("physician"));
    assert_eq!(identity.attribute("hf.EnrollmentID"), Some("doctor1"));
    identity.assert_attribute("role", "physician").unwrap();
    assert!(matches!(
        identity.assert_attribute("role", "nurse"),
        Err(IdentityError::AttributeMismatch {
            actual: Some(_),
            ..
        })
    ));
    assert_eq!(identity.certificate(), &user.certificate);
}

#[test]
fn malformed_attribute_json_is_an_error() {
    let ca = Ca::new("CN=ca,O=o,C=US", 13);
    let user = ca.issue("CN=u", 14, vec![extension(ATTRIBUTES, b"{not json")]);
    assert!(matches!(
        ClientIdentity::from_creator(&creator("M", &user.cert_pem)),
        Err(IdentityError::Attributes(_))
    ));
}

#[tokio::test]
async fn a_transaction_without_a_creator_has_no_identity() {
    let ledger = MemoryLedger::new();
    let tx = ledger.begin(&Invocation::new(["F"])).unwrap();
    assert!(matches!(
        ClientIdentity::from_stub(tx.stub()),
        Err(IdentityError::Certificate(_))
    ));
}
