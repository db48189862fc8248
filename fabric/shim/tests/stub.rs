#![cfg(test)]
//! Every stub operation against the in-memory ledger, with a v2.5-like peer
//! (one request per key) and a v3-like one (write batches, multi-key reads).

use hlf_protos::queryresult::Kv;
use hlf_shim::{
    StubError, composite_key,
    endorsement::{KeyEndorsementPolicy, Role},
    link::PeerCapabilities,
    stub::{StateIterator, VALIDATION_PARAMETER},
    testing::{Invocation, MemoryLedger},
};
use prost_types::Timestamp;
use sha2::{Digest, Sha256};

const V3: PeerCapabilities = PeerCapabilities {
    write_batch: Some(100),
    get_multiple: Some(100),
};

fn ledgers() -> [MemoryLedger; 2] {
    [
        MemoryLedger::new(),
        MemoryLedger::new().with_capabilities(V3),
    ]
}

fn call() -> Invocation {
    Invocation::new(["Fn"])
}

/// Every result of a range or partial-key query, in order.
async fn all(query: impl Future<Output = Result<StateIterator, StubError>>) -> Vec<Kv> {
    query.await.unwrap().collect().await.unwrap()
}

/// The keys of query results.
fn keys(results: &[Kv]) -> Vec<String> {
    results.iter().map(|kv| kv.key.clone()).collect()
}

#[tokio::test]
async fn put_get_delete_with_committed_reads() {
    for ledger in ledgers() {
        ledger.seed_state("a", b"old");
        let tx = ledger.begin(&call()).unwrap();
        let stub = tx.stub();
        stub.put_state("a", b"new".to_vec()).await.unwrap();
        stub.put_state("b", b"fresh".to_vec()).await.unwrap();
        // Fabric reads the committed state, never the transaction's writes.
        assert_eq!(stub.get_state("a").await.unwrap(), Some(b"old".to_vec()));
        assert_eq!(stub.get_state("b").await.unwrap(), None);
        assert_eq!(ledger.state_of("a"), Some(b"old".to_vec()));
        tx.commit().await.unwrap();
        assert_eq!(ledger.state_of("a"), Some(b"new".to_vec()));

        let tx = ledger.begin(&call()).unwrap();
        tx.stub().del_state("a").await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(ledger.state_of("a"), None);
        assert_eq!(ledger.state_of("b"), Some(b"fresh".to_vec()));
    }
}

#[tokio::test]
async fn uncommitted_transactions_leave_no_trace() {
    let ledger = MemoryLedger::new();
    let tx = ledger.begin(&call()).unwrap();
    tx.stub().put_state("k", b"v".to_vec()).await.unwrap();
    tx.stub().set_event("E", b"p".to_vec()).unwrap();
    drop(tx);
    assert_eq!(ledger.state_of("k"), None);
    assert!(ledger.events().is_empty());
    assert!(ledger.history_of("k").is_empty());
}

#[tokio::test]
async fn empty_keys_are_refused() {
    for ledger in ledgers() {
        let tx = ledger.begin(&call()).unwrap();
        assert!(matches!(
            tx.stub().put_state("", b"v".to_vec()).await,
            Err(StubError::EmptyKey)
        ));
    }
}

#[tokio::test]
async fn get_multiple_states_in_order() {
    for ledger in ledgers() {
        ledger.seed_state("x", b"1");
        ledger.seed_state("z", b"3");
        let tx = ledger.begin(&call()).unwrap();
        let values = tx
            .stub()
            .get_multiple_states(&["z", "y", "x"])
            .await
            .unwrap();
        assert_eq!(values, [Some(b"3".to_vec()), None, Some(b"1".to_vec())]);
        assert!(tx.stub().get_multiple_states(&[]).await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn get_multiple_is_not_sent_to_a_peer_that_did_not_offer_it() {
    // A ledger that would refuse GET_STATE_MULTIPLE, read through a stub
    // that was told the peer offers nothing: every key goes as GET_STATE.
    let ledger = MemoryLedger::new();
    ledger.seed_state("x", b"1");
    let tx = ledger.begin(&call()).unwrap();
    assert_eq!(
        tx.stub().get_multiple_states(&["x"]).await.unwrap(),
        [Some(b"1".to_vec())]
    );
}

#[tokio::test]
async fn range_queries_iterate_across_batches() {
    for ledger in ledgers() {
        let ledger = ledger.with_query_batch(2);
        for key in ["k1", "k2", "k3", "k4", "k5"] {
            ledger.seed_state(key, key.as_bytes());
        }
        ledger.seed_state(&composite_key::create("t", &["a"]).unwrap(), b"composite");
        let tx = ledger.begin(&call()).unwrap();
        let keys = keys(&all(tx.stub().get_state_by_range("k2", "k5")).await);
        assert_eq!(keys, ["k2", "k3", "k4"]);
        // An open start excludes composite keys, as in Fabric.
        let every = all(tx.stub().get_state_by_range("", "")).await;
        assert_eq!(every.len(), 5);
        assert_eq!(every[0].value, b"k1");
        let mut iterator = tx.stub().get_state_by_range("k1", "").await.unwrap();
        assert_eq!(iterator.next().await.unwrap().unwrap().key, "k1");
        iterator.close().await.unwrap();
        assert!(
            all(tx.stub().get_state_by_range("k5", "k1"))
                .await
                .is_empty()
        );
    }
}

#[tokio::test]
async fn composite_prefixes_are_refused_in_simple_ranges() {
    let ledger = MemoryLedger::new();
    let tx = ledger.begin(&call()).unwrap();
    assert!(matches!(
        tx.stub().get_state_by_range("\u{0}t", "").await,
        Err(StubError::ReservedKeyPrefix { .. })
    ));
}

#[tokio::test]
async fn paginated_ranges_return_fabric_bookmarks() {
    let ledger = MemoryLedger::new().with_query_batch(1);
    for key in ["a", "b", "c", "d", "e"] {
        ledger.seed_state(key, b"v");
    }
    let tx = ledger.begin(&call()).unwrap();
    let mut bookmark = String::new();
    let mut pages = Vec::new();
    loop {
        let page = tx
            .stub()
            .get_state_by_range_with_pagination("", "", 2, &bookmark)
            .await
            .unwrap();
        let fetched = page.fetched_records;
        let keys = keys(&page.results.collect().await.unwrap());
        assert_eq!(usize::try_from(fetched).unwrap(), keys.len());
        pages.push(keys);
        bookmark = page.bookmark;
        if bookmark.is_empty() {
            break;
        }
    }
    assert_eq!(pages, [vec!["a", "b"], vec!["c", "d"], vec!["e"]]);
}

#[tokio::test]
async fn partial_composite_key_queries() {
    for ledger in ledgers() {
        for (patient, record) in [("p1", "r1"), ("p1", "r2"), ("p10", "r1"), ("p2", "r1")] {
            ledger.seed_state(
                &composite_key::create("record", &[patient, record]).unwrap(),
                record.as_bytes(),
            );
        }
        let tx = ledger.begin(&call()).unwrap();
        let found = all(tx
            .stub()
            .get_state_by_partial_composite_key("record", &["p1"]))
        .await;
        let split: Vec<(String, Vec<String>)> = found
            .iter()
            .map(|kv| composite_key::split(&kv.key).unwrap())
            .collect();
        assert_eq!(
            split,
            [
                ("record".into(), vec!["p1".into(), "r1".into()]),
                ("record".into(), vec!["p1".into(), "r2".into()])
            ]
        );
        let page = tx
            .stub()
            .get_state_by_partial_composite_key_with_pagination("record", &[], 3, "")
            .await
            .unwrap();
        assert_eq!(page.results.collect().await.unwrap().len(), 3);
        assert!(!page.bookmark.is_empty());
        assert!(matches!(
            tx.stub()
                .get_state_by_partial_composite_key("rec\u{0}", &[])
                .await,
            Err(StubError::CompositeKey(_))
        ));
    }
}

#[tokio::test]
async fn history_newest_first_with_deletes() {
    for ledger in ledgers() {
        for step in [Some("v1"), Some("v2"), None] {
            let tx = ledger.begin(&call()).unwrap();
            match step {
                Some(value) => tx
                    .stub()
                    .put_state("k", value.as_bytes().to_vec())
                    .await
                    .unwrap(),
                None => tx.stub().del_state("k").await.unwrap(),
            }
            tx.commit().await.unwrap();
        }
        let tx = ledger.begin(&call()).unwrap();
        let iterator = tx.stub().get_history_for_key("k").await.unwrap();
        let history = iterator.collect().await.unwrap();
        let seen: Vec<(bool, Vec<u8>)> = history
            .iter()
            .map(|m| (m.is_delete, m.value.clone()))
            .collect();
        assert_eq!(
            seen,
            [
                (true, vec![]),
                (false, b"v2".to_vec()),
                (false, b"v1".to_vec())
            ]
        );
        assert!(history[0].timestamp.unwrap().seconds > history[2].timestamp.unwrap().seconds);
    }
}

#[tokio::test]
async fn private_data_with_hashes_ranges_and_purge() {
    for ledger in ledgers() {
        let tx = ledger.begin(&call()).unwrap();
        let stub = tx.stub();
        stub.put_private_data("secrets", "k1", b"one".to_vec())
            .await
            .unwrap();
        stub.put_private_data("secrets", "k2", b"two".to_vec())
            .await
            .unwrap();
        stub.put_private_data("secrets", "k3", b"three".to_vec())
            .await
            .unwrap();
        assert_eq!(stub.get_private_data("secrets", "k1").await.unwrap(), None);
        tx.commit().await.unwrap();

        let tx = ledger.begin(&call()).unwrap();
        let stub = tx.stub();
        assert_eq!(
            stub.get_private_data("secrets", "k1").await.unwrap(),
            Some(b"one".to_vec())
        );
        assert_eq!(
            stub.get_state("k1").await.unwrap(),
            None,
            "private data stays out of the public state"
        );
        assert_eq!(
            stub.get_private_data_hash("secrets", "k2").await.unwrap(),
            Some(Sha256::digest(b"two").to_vec())
        );
        assert_eq!(
            stub.get_private_data_hash("secrets", "nope").await.unwrap(),
            None
        );
        assert_eq!(
            stub.get_multiple_private_data("secrets", &["k2", "k1"])
                .await
                .unwrap(),
            [Some(b"two".to_vec()), Some(b"one".to_vec())]
        );
        let keys = keys(&all(stub.get_private_data_by_range("secrets", "k2", "")).await);
        assert_eq!(keys, ["k2", "k3"]);
        // As on a peer: a private data query makes the transaction
        // read-only (it is not re-validated at commit), and a write before
        // one refuses it (a batching stub sends its writes at the end).
        let refused = match stub.del_private_data("secrets", "k1").await {
            Err(error) => error.to_string(),
            Ok(()) => tx.commit().await.unwrap_err().to_string(),
        };
        assert!(refused.contains("Writes are not allowed"), "{refused}");
        let tx = ledger.begin(&call()).unwrap();
        let stub = tx.stub();
        stub.put_state("p", b"1".to_vec()).await.unwrap();
        let refused = match stub.get_private_data_by_range("secrets", "k2", "").await {
            Err(error) => error.to_string(),
            Ok(_) => tx
                .commit()
                .await
                .map_or_else(|e| e.to_string(), |_| String::new()),
        };
        assert!(refused.contains("pvt data"), "{refused}");
        let tx = ledger.begin(&call()).unwrap();
        let stub = tx.stub();
        stub.del_private_data("secrets", "k1").await.unwrap();
        stub.purge_private_data("secrets", "k2").await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(ledger.private_of("secrets", "k1"), None);
        assert_eq!(ledger.private_of("secrets", "k2"), None);
        assert_eq!(ledger.private_of("secrets", "k3"), Some(b"three".to_vec()));
        assert!(
            ledger.history_of("k3").is_empty(),
            "Fabric keeps no history of private data"
        );

        let tx = ledger.begin(&call()).unwrap();
        assert!(matches!(
            tx.stub().get_private_data("", "k").await,
            Err(StubError::EmptyCollection)
        ));
        assert!(matches!(
            tx.stub().put_private_data("", "k", vec![1]).await,
            Err(StubError::EmptyCollection)
        ));
    }
}

#[tokio::test]
async fn private_partial_composite_key_query() {
    let ledger = MemoryLedger::new();
    ledger.seed_private("c", &composite_key::create("t", &["a", "1"]).unwrap(), b"x");
    ledger.seed_private("c", &composite_key::create("t", &["b", "1"]).unwrap(), b"y");
    let tx = ledger.begin(&call()).unwrap();
    let found = all(tx
        .stub()
        .get_private_data_by_partial_composite_key("c", "t", &["b"]))
    .await;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].value, b"y");
}

#[tokio::test]
async fn rich_queries_are_refused_like_leveldb() {
    let ledger = MemoryLedger::new();
    let tx = ledger.begin(&call()).unwrap();
    let error = tx.stub().get_query_result("{}").await.unwrap_err();
    assert!(
        matches!(
            error,
            StubError::Peer {
                request: "GET_QUERY_RESULT",
                ..
            }
        ),
        "{error}"
    );
    assert!(
        tx.stub()
            .get_private_data_query_result("c", "{}")
            .await
            .is_err()
    );
    assert!(
        tx.stub()
            .get_query_result_with_pagination("{}", 10, "")
            .await
            .is_err()
    );
}

#[tokio::test]
async fn validation_parameters_public_and_private() {
    for ledger in ledgers() {
        let mut policy = KeyEndorsementPolicy::new();
        policy.add_orgs(Role::Peer, ["Org1MSP", "Org2MSP"]);
        let tx = ledger.begin(&call()).unwrap();
        tx.stub().put_state("k", b"v".to_vec()).await.unwrap();
        tx.stub()
            .set_state_validation_parameter("k", policy.to_bytes())
            .await
            .unwrap();
        tx.stub()
            .put_private_data("c", "p", b"v".to_vec())
            .await
            .unwrap();
        tx.stub()
            .set_private_data_validation_parameter("c", "p", policy.to_bytes())
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(
            ledger.metadata_of("", "k").get(VALIDATION_PARAMETER),
            Some(&policy.to_bytes())
        );

        let tx = ledger.begin(&call()).unwrap();
        let stored = tx
            .stub()
            .get_state_validation_parameter("k")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(KeyEndorsementPolicy::from_bytes(&stored).unwrap(), policy);
        assert_eq!(
            tx.stub()
                .get_private_data_validation_parameter("c", "p")
                .await
                .unwrap(),
            Some(policy.to_bytes())
        );
        assert_eq!(
            tx.stub()
                .get_state_validation_parameter("other")
                .await
                .unwrap(),
            None
        );
    }
}

#[tokio::test]
async fn events_need_a_name_and_appear_on_commit() {
    let ledger = MemoryLedger::new();
    let tx = ledger.begin(&call()).unwrap();
    assert!(matches!(
        tx.stub().set_event("", vec![]),
        Err(StubError::EmptyEventName)
    ));
    tx.stub().set_event("first", b"1".to_vec()).unwrap();
    tx.stub().set_event("second", b"2".to_vec()).unwrap();
    let tx_id = tx.stub().tx_id().to_owned();
    tx.commit().await.unwrap();
    let events = ledger.events();
    assert_eq!(events.len(), 1, "the last event of a transaction wins");
    assert_eq!(
        (events[0].event_name.as_str(), events[0].tx_id.as_str()),
        ("second", tx_id.as_str())
    );
}

#[tokio::test]
async fn proposal_fields() {
    let ledger = MemoryLedger::new();
    let timestamp = Timestamp {
        seconds: 1_800_000_000,
        nanos: 5,
    };
    let invocation = Invocation::new(["Fn", "arg"])
        .creator(b"creator".to_vec())
        .transient("secret", b"s".to_vec())
        .timestamp(timestamp);
    let tx = ledger.begin(&invocation).unwrap();
    let stub = tx.stub();
    assert_eq!(stub.args(), [b"Fn".to_vec(), b"arg".to_vec()]);
    assert_eq!(stub.creator().unwrap(), b"creator");
    assert_eq!(
        stub.transient().unwrap().get("secret"),
        Some(&b"s".to_vec())
    );
    assert_eq!(stub.tx_timestamp().unwrap(), timestamp);
    assert_eq!(stub.channel_id(), "channel");
    assert!(!stub.signed_proposal().unwrap().proposal_bytes.is_empty());
    // binding = SHA-256(nonce ‖ creator ‖ epoch as 8 little-endian bytes); the
    // in-memory ledger's nonce is SHA-256 of the transaction id.
    let nonce = Sha256::digest(stub.tx_id().as_bytes());
    let expected = Sha256::new()
        .chain_update(nonce)
        .chain_update(b"creator")
        .chain_update(0u64.to_le_bytes())
        .finalize();
    assert_eq!(stub.binding().unwrap(), expected.as_slice());
}

#[tokio::test]
async fn invoking_an_absent_chaincode_is_a_peer_error() {
    let ledger = MemoryLedger::new();
    let tx = ledger.begin(&call()).unwrap();
    let error = tx
        .stub()
        .invoke_chaincode("other", vec![b"f".to_vec()], "")
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            StubError::Peer {
                request: "INVOKE_CHAINCODE",
                ..
            }
        ),
        "{error}"
    );
}

#[tokio::test]
async fn contents_lists_every_committed_value_of_every_collection() {
    let ledger = MemoryLedger::new();
    ledger.seed_state("a", b"1");
    ledger.seed_private("secrets", "s", b"2");
    let tx = ledger.begin(&call()).unwrap();
    tx.stub()
        .put_state("uncommitted", b"3".to_vec())
        .await
        .unwrap();
    drop(tx);
    let contents: Vec<((String, String), Vec<u8>)> = ledger.contents().into_iter().collect();
    assert_eq!(
        contents,
        [
            ((String::new(), "a".into()), b"1".to_vec()),
            (("secrets".into(), "s".into()), b"2".to_vec()),
        ]
    );
}
