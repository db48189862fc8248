//! The Rust chaincode shim on a real network: Fabric's own `peer` CLI
//! reaches a contract served by the shim over mutual TLS, and gets the
//! expected results for state, private data and its hash, paginated range
//! queries, composite keys, history and events.

// Marks the helpers below as test code too, for clippy's unwrap rules.
#![cfg(test)]

use ehrx_client::fabric::Gateway;
use ehrx_lab::cli;
use ehrx_lab::networks::Networks;
use hlf_protos::peer::ProcessedTransaction;
use prost::Message;
use sha2::{Digest, Sha256};

const CC: &str = "showcase";

#[derive(serde::Deserialize, Debug, PartialEq)]
struct Entry {
    key: String,
    value: String,
}

#[derive(serde::Deserialize)]
struct RangePage {
    entries: Vec<Entry>,
    bookmark: String,
}

#[derive(serde::Deserialize)]
struct Change {
    tx_id: String,
    value: String,
    is_delete: bool,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fabric_cli_reaches_a_rust_chaincode_over_mutual_tls() -> anyhow::Result<()> {
    // `up` deploys the showcase chaincode to both networks.
    let networks = Networks::up()?;
    let net = networks.get("net1")?;
    let org = net.organization("Net1Org1MSP")?;
    let invoke = |args: &[&str]| cli::invoke(net, org, "User1", CC, args, &[]);
    let query = |args: &[&str]| cli::query(net, org, "User1", CC, args);

    // State: a write endorsed by both orgs, then a read.
    let first_put = invoke(&["Put", "k1", "v1"])?;
    assert_eq!(query(&["Get", "k1"])?, b"v1");

    // Private data: the value travels in the transient map, reads back, its
    // hash is the SHA-256 the peer keeps, and it is not in the block.
    let record = br#"{"resourceType":"Patient","id":"p1"}"#;
    let private_tx = cli::invoke(
        net,
        org,
        "User1",
        CC,
        &["PutPrivate", "p1"],
        &[("value", record)],
    )?;
    assert_eq!(query(&["GetPrivate", "p1"])?, record);
    assert_eq!(
        query(&["GetPrivateHash", "p1"])?,
        hex::encode(Sha256::digest(record)).into_bytes()
    );
    let processed = cli::query(
        net,
        org,
        "User1",
        "qscc",
        &["GetTransactionByID", &net.channel, &private_tx],
    )?;
    let transaction = ProcessedTransaction::decode(processed.as_slice())?;
    assert_eq!(transaction.validation_code, 0, "VALID");
    let block_bytes = transaction
        .transaction_envelope
        .map(|e| e.encode_to_vec())
        .unwrap_or_default();
    assert!(
        !block_bytes.windows(record.len()).any(|w| w == record),
        "private value leaked into the block"
    );

    // Paginated range query: pages of 2, following bookmarks, in key order.
    for key in ["r1", "r2", "r3", "r4", "r5"] {
        invoke(&["Put", key, &key.to_uppercase()])?;
    }
    let (mut keys, mut bookmark, mut pages) = (Vec::new(), String::new(), 0);
    loop {
        let page: RangePage =
            serde_json::from_slice(&query(&["Range", "r", "s", "2", &bookmark])?)?;
        assert!(page.entries.len() <= 2);
        pages += 1;
        keys.extend(page.entries.into_iter().map(|e| (e.key, e.value)));
        if page.bookmark.is_empty() || keys.len() == 5 {
            break;
        }
        bookmark = page.bookmark;
        assert!(pages < 5, "pagination does not end");
    }
    let expected: Vec<(String, String)> = ["r1", "r2", "r3", "r4", "r5"]
        .iter()
        .map(|k| (k.to_string(), k.to_uppercase()))
        .collect();
    assert_eq!(keys, expected);
    assert_eq!(pages, 3);

    // Composite keys: a partial-key query finds exactly one patient's entries.
    invoke(&["PutIndexed", "obs", r#"["p1","o1"]"#, "x"])?;
    invoke(&["PutIndexed", "obs", r#"["p1","o2"]"#, "y"])?;
    invoke(&["PutIndexed", "obs", r#"["p2","o3"]"#, "z"])?;
    let found: Vec<Entry> = serde_json::from_slice(&query(&["QueryIndexed", "obs", r#"["p1"]"#])?)?;
    assert_eq!(
        found,
        vec![
            Entry {
                key: "p1/o1".into(),
                value: "x".into()
            },
            Entry {
                key: "p1/o2".into(),
                value: "y".into()
            }
        ]
    );

    // History: both committed values of k1, newest first, with their tx ids.
    let second_put = invoke(&["Put", "k1", "v2"])?;
    let history: Vec<Change> = serde_json::from_slice(&query(&["History", "k1"])?)?;
    let history: Vec<(&str, &str, bool)> = history
        .iter()
        .map(|c| (c.tx_id.as_str(), c.value.as_str(), c.is_delete))
        .collect();
    assert_eq!(
        history,
        vec![
            (second_put.as_str(), "v2", false),
            (first_put.as_str(), "v1", false)
        ]
    );

    // Events: the shim's event of the first Put is on the ledger, read back
    // through the gateway's chaincode events.
    let peer = org
        .peers
        .first()
        .ok_or_else(|| anyhow::anyhow!("no peer"))?;
    let gateway = Gateway::new(
        peer.connection()?.connect().await?,
        org.signing_identity("User1")?,
    );
    let mut events = gateway
        .network(&net.channel)
        .chaincode_events(CC)
        .start_block(0)
        .build()
        .events()
        .await?;
    let event = tokio::time::timeout(std::time::Duration::from_secs(10), events.next())
        .await?
        .ok_or_else(|| anyhow::anyhow!("event stream ended"))??;
    assert_eq!(
        (event.event_name.as_str(), event.payload.as_slice()),
        ("Put", &b"k1"[..])
    );
    assert_eq!(event.transaction_id, first_put);

    // A function the contract lacks is an error that says so.
    let err = query(&["Nope"]).expect_err("unknown function");
    assert!(
        err.to_string()
            .contains(r#"function \"Nope\" does not exist"#),
        "{err}"
    );
    networks.down()
}
