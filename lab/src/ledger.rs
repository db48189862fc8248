//! Searching every block of a channel for what must not be there (issue
//! 15, item 4: no exchange metadata on the channel ledger): the blocks are
//! read with qscc `GetBlockByNumber` through the SDK's gateway client and
//! their raw bytes searched for each [`Secret`].

use std::collections::BTreeSet;

use anyhow::Context as _;
use ehrx_client::ehr::{PatientRef, UploadedRecord};
use ehrx_client::fabric::{Contract, protos::common::BlockchainInfo};
use prost::Message as _;
use serde_json::Value;

use crate::NetworkDescription;
use crate::exchange::{gateway_as, org};

/// One thing that must not be in any block: what it is, and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Secret {
    pub what: String,
    pub bytes: Vec<u8>,
}

impl Secret {
    pub fn new(what: impl Into<String>, bytes: impl Into<Vec<u8>>) -> Self {
        Self {
            what: what.into(),
            bytes: bytes.into(),
        }
    }

    /// What a patient's upload must not leave in a block: the patient ref
    /// (hex and raw), every record id and its FHIR id alone, and every
    /// name in `resources` (see [`names`]).
    pub fn of_patient(
        label: &str,
        patient_ref: &PatientRef,
        uploaded: &[UploadedRecord],
        resources: &[Value],
    ) -> Vec<Self> {
        let mut secrets = vec![
            Self::new(format!("{label}: patient ref (hex)"), patient_ref.to_hex()),
            Self::new(
                format!("{label}: patient ref (raw)"),
                patient_ref.as_bytes().to_vec(),
            ),
        ];
        for record in uploaded {
            secrets.push(Self::new(
                format!("{label}: record id {}", record.record_id),
                record.record_id.clone(),
            ));
            if let Some((_, id)) = record.record_id.split_once('/') {
                secrets.push(Self::new(
                    format!("{label}: FHIR id of {}", record.record_id),
                    id,
                ));
            }
        }
        for name in names(resources) {
            secrets.push(Self::new(format!("{label}: name {name:?}"), name));
        }
        secrets
    }
}

/// Every `name` of `resources` (Patient, Practitioner...): each `text`,
/// `family` and `given` of 4 characters or more (shorter ones would match
/// random bytes).
pub fn names(resources: &[Value]) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for resource in resources {
        let Some(names) = resource["name"].as_array() else {
            continue;
        };
        for name in names {
            let mut parts: Vec<&str> = Vec::new();
            parts.extend(name["text"].as_str());
            parts.extend(name["family"].as_str());
            if let Some(given) = name["given"].as_array() {
                parts.extend(given.iter().filter_map(Value::as_str));
            }
            found.extend(
                parts
                    .into_iter()
                    .filter(|part| part.chars().count() >= 4)
                    .map(str::to_owned),
            );
        }
    }
    found
}

/// Every block of `net`'s channel, in order, through qscc (as org1's
/// `User1`).
pub async fn blocks(net: &NetworkDescription) -> anyhow::Result<Vec<Vec<u8>>> {
    let gateway = gateway_as(org(net, "org1")?, "User1").await?;
    let qscc: Contract = gateway.network(&net.channel).contract("qscc");
    let info = BlockchainInfo::decode(
        qscc.evaluate("GetChainInfo", [net.channel.as_str()])
            .await
            .with_context(|| format!("qscc GetChainInfo on {}", net.name))?
            .as_slice(),
    )?;
    let mut blocks = Vec::new();
    for number in 0..info.height {
        let number = number.to_string();
        blocks.push(
            qscc.evaluate("GetBlockByNumber", [net.channel.as_str(), number.as_str()])
                .await
                .with_context(|| format!("qscc GetBlockByNumber {number} on {}", net.name))?,
        );
    }
    Ok(blocks)
}

/// Where `needle` occurs in `haystack`.
pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return None;
    }
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

/// What a scan of some channels saw.
#[derive(Debug, Default)]
pub struct Scan {
    /// Blocks read.
    pub blocks: usize,
    /// Blocks holding the control (something that must be there).
    pub control_seen: usize,
    /// Each secret found: network, block, what, and the bytes around it.
    pub found: Vec<String>,
}

/// Reads every block of each of `nets` and searches it for each of
/// `secrets`, and for `control`, which a working search must find.
pub async fn scan(
    nets: &[&NetworkDescription],
    secrets: &[Secret],
    control: &[u8],
) -> anyhow::Result<Scan> {
    let mut scan = Scan::default();
    for net in nets {
        for (number, block) in blocks(net).await?.iter().enumerate() {
            scan.blocks += 1;
            scan.control_seen += usize::from(find(block, control).is_some());
            for secret in secrets {
                if let Some(at) = find(block, &secret.bytes) {
                    let around = &block
                        [at.saturating_sub(48)..(at + secret.bytes.len() + 16).min(block.len())];
                    scan.found.push(format!(
                        "{} block {number}: {} at byte {at}: {:?}",
                        net.name,
                        secret.what,
                        String::from_utf8_lossy(around)
                    ));
                }
            }
        }
    }
    Ok(scan)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_of_four_characters_or_more_are_searched_for() {
        let resources = [
            json!({"resourceType": "Patient", "name": [{"family": "Lovelace", "given": ["Ada", "Augusta"], "text": "Ada Lovelace"}]}),
            json!({"resourceType": "Practitioner", "name": [{"family": "Babbage"}]}),
            json!({"resourceType": "Observation", "name": "not a list"}),
        ];
        let found: Vec<String> = names(&resources).into_iter().collect();
        assert_eq!(found, ["Ada Lovelace", "Augusta", "Babbage", "Lovelace"]);
    }

    #[test]
    fn find_locates_bytes_and_never_an_empty_needle() {
        assert_eq!(find(b"abcabc", b"ca"), Some(2));
        assert_eq!(find(b"abc", b"abcd"), None);
        assert_eq!(find(b"abc", b""), None);
    }

    #[test]
    fn a_patient_is_its_ref_its_record_ids_and_names() {
        let patient_ref = PatientRef::from_hex(&"ab".repeat(32)).unwrap();
        let uploaded = [UploadedRecord {
            record_id: "Observation/obs-1".into(),
            category: "Observation".into(),
            sha256: [0; 32],
            stored: ehrx_client::ehr::interface::Stored::Stored,
            transaction_id: "tx".into(),
            block_number: 1,
        }];
        let secrets = Secret::of_patient(
            "p",
            &patient_ref,
            &uploaded,
            &[json!({"name": [{"family": "Hopper"}]})],
        );
        let bytes: Vec<&[u8]> = secrets.iter().map(|s| s.bytes.as_slice()).collect();
        assert!(bytes.contains(&"ab".repeat(32).as_bytes()));
        assert!(bytes.contains(&&[0xab; 32][..]));
        assert!(bytes.contains(&&b"Observation/obs-1"[..]));
        assert!(bytes.contains(&&b"obs-1"[..]));
        assert!(bytes.contains(&&b"Hopper"[..]));
    }
}
