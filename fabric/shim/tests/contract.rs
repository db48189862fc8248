#![cfg(test)]
//! The contract layer on the in-memory ledger: routing, typed arguments,
//! errors as responses, hooks and GetMetadata.

use std::sync::{Arc, Mutex};

use hlf_shim::{
    Stub,
    contract::{Args, Contract, ContractChaincode, ContractError, Json, Param},
    testing::{Invocation, MemoryLedger},
};

#[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
struct Asset {
    id: String,
    owner: String,
}

async fn create(stub: Stub, args: Args) -> Result<(), ContractError> {
    let asset: Asset = args.json("asset")?;
    if stub.get_state(&asset.id).await?.is_some() {
        return Err(ContractError::rejected(format!(
            "asset {} already exists",
            asset.id
        )));
    }
    stub.put_state(&asset.id, args.bytes("asset")?.to_vec())
        .await?;
    stub.set_event("Created", asset.id.into_bytes())?;
    Ok(())
}

async fn read(stub: Stub, args: Args) -> Result<Json<Asset>, ContractError> {
    let id = args.string("id")?;
    let bytes = stub
        .get_state(id)
        .await?
        .ok_or_else(|| ContractError::rejected(format!("asset {id} does not exist")))?;
    serde_json::from_slice(&bytes)
        .map(Json)
        .map_err(|source| ContractError::Json {
            parameter: "stored".into(),
            source,
        })
}

async fn echo(_: Stub, args: Args) -> Result<String, ContractError> {
    Ok(args.string("text")?.to_owned())
}

fn chaincode(log: Arc<Mutex<Vec<String>>>) -> ContractChaincode {
    let before_log = Arc::clone(&log);
    let after_log = log;
    let assets = Contract::new("assets", "1.0")
        .submit("Create", &[Param::json("asset")], create)
        .evaluate("Read", &[Param::string("id")], read)
        .before(move |_stub, function| {
            let log = Arc::clone(&before_log);
            async move {
                log.lock().unwrap().push(format!("before {function}"));
                Ok(())
            }
        })
        .after(move |_stub, function, payload| {
            let log = Arc::clone(&after_log);
            async move {
                log.lock()
                    .unwrap()
                    .push(format!("after {function} {}", payload.len()));
                Ok(())
            }
        });
    let tools = Contract::new("tools", "0.1")
        .evaluate("Echo", &[Param::string("text")], echo)
        .submit("Guarded", &[], |_stub: Stub, _args: Args| async {
            Ok::<_, ContractError>(b"ran".to_vec())
        })
        .before(|_stub, function| async move {
            if function == "Guarded" {
                Err(ContractError::rejected("not allowed"))
            } else {
                Ok(())
            }
        });
    ContractChaincode::new().with(assets).with(tools)
}

fn asset_json(id: &str) -> Vec<u8> {
    serde_json::to_vec(&Asset {
        id: id.into(),
        owner: "alice".into(),
    })
    .unwrap()
}

#[tokio::test]
async fn default_and_named_contracts() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let cc = chaincode(Arc::clone(&log));
    let ledger = MemoryLedger::new();
    let created = ledger
        .invoke(
            &cc,
            &Invocation::new([b"Create".to_vec(), asset_json("a1")]),
        )
        .await;
    assert_eq!(created.response.status, 200, "{}", created.response.message);
    assert!(created.committed);
    assert_eq!(created.event.unwrap().event_name, "Created");
    let read = ledger
        .invoke(&cc, &Invocation::new(["assets:Read", "a1"]))
        .await;
    assert_eq!(
        serde_json::from_slice::<Asset>(&read.response.payload)
            .unwrap()
            .owner,
        "alice"
    );
    let echo = ledger
        .invoke(&cc, &Invocation::new(["tools:Echo", "hi"]))
        .await;
    assert_eq!(echo.response.payload, b"hi");
    assert_eq!(
        *log.lock().unwrap(),
        [
            "before Create",
            "after Create 0",
            "before Read",
            &format!("after Read {}", read.response.payload.len())
        ]
    );
}

#[tokio::test]
async fn errors_become_500_responses_and_nothing_is_written() {
    let cc = chaincode(Arc::default());
    let ledger = MemoryLedger::new();
    ledger
        .invoke(
            &cc,
            &Invocation::new([b"Create".to_vec(), asset_json("a1")]),
        )
        .await;
    let cases: Vec<(Invocation, &str)> = vec![
        (
            Invocation::new([b"Create".to_vec(), asset_json("a1")]),
            "asset a1 already exists",
        ),
        (
            Invocation::new(["Create", "{not json"]),
            "argument asset is not the expected JSON",
        ),
        (
            Invocation::new(["Create"]),
            "Create takes 1 argument(s) (asset), got 0",
        ),
        (
            Invocation::new(["Read", "a1", "extra"]),
            "Read takes 1 argument(s) (id), got 2",
        ),
        (
            Invocation::new(["Nope"]),
            "function \"Nope\" does not exist in contract \"assets\"",
        ),
        (
            Invocation::new(["ghost:Read", "a1"]),
            "contract \"ghost\" does not exist",
        ),
        (
            Invocation::new(Vec::<Vec<u8>>::new()),
            "no function name given",
        ),
        (
            Invocation::new([b"Read".to_vec(), vec![b'a', 0xff]]),
            "argument id is not valid UTF-8 (invalid byte at 1)",
        ),
        (
            Invocation::new([vec![0xc3]]),
            "function name is not valid UTF-8",
        ),
        (Invocation::new(["tools:Guarded"]), "not allowed"),
        (
            Invocation::new(["Read", "missing"]),
            "asset missing does not exist",
        ),
    ];
    for (invocation, message) in cases {
        let outcome = ledger.invoke(&cc, &invocation).await;
        assert_eq!(outcome.response.status, 500, "{invocation:?}");
        assert!(
            outcome.response.message.contains(message),
            "{:?} does not contain {message:?}",
            outcome.response.message
        );
        assert!(!outcome.committed);
    }
    assert_eq!(
        ledger.events().len(),
        1,
        "failed transactions emit no event"
    );
}

#[tokio::test]
async fn get_metadata_describes_contracts() {
    let cc = chaincode(Arc::default());
    let ledger = MemoryLedger::new();
    let outcome = ledger
        .invoke(
            &cc,
            &Invocation::new(["org.hyperledger.fabric:GetMetadata"]),
        )
        .await;
    assert_eq!(outcome.response.status, 200);
    let metadata: serde_json::Value = serde_json::from_slice(&outcome.response.payload).unwrap();
    let assets = &metadata["contracts"]["assets"];
    assert_eq!(assets["default"], true);
    assert_eq!(metadata["contracts"]["tools"]["default"], false);
    assert_eq!(assets["transactions"][0]["name"], "Create");
    assert_eq!(assets["transactions"][0]["tag"][0], "submit");
    assert_eq!(assets["transactions"][0]["parameters"][0]["name"], "asset");
    assert_eq!(assets["transactions"][1]["tag"][0], "evaluate");
}

#[tokio::test]
async fn init_without_a_function_succeeds_and_with_one_routes() {
    let cc = chaincode(Arc::default());
    let ledger = MemoryLedger::new();
    assert_eq!(
        ledger
            .invoke(&cc, &Invocation::new(Vec::<Vec<u8>>::new()).init())
            .await
            .response
            .status,
        200
    );
    let outcome = ledger
        .invoke(
            &cc,
            &Invocation::new([b"Create".to_vec(), asset_json("i")]).init(),
        )
        .await;
    assert_eq!(outcome.response.status, 200);
    assert!(ledger.state_of("i").is_some());
}

#[tokio::test]
async fn undeclared_parameters_are_a_clear_error() {
    let cc = ContractChaincode::new().with(Contract::new("c", "1").evaluate(
        "F",
        &[Param::string("a")],
        |_s: Stub, args: Args| async move { args.string("b").map(str::to_owned) },
    ));
    let outcome = MemoryLedger::new()
        .invoke(&cc, &Invocation::new(["F", "x"]))
        .await;
    assert_eq!(outcome.response.message, "parameter \"b\" is not declared");
}

#[tokio::test]
async fn an_endorsement_commits_only_when_told_to() {
    let cc = chaincode(Arc::default());
    let ledger = MemoryLedger::new().with_system_clock();
    let create = Invocation::new([b"Create".to_vec(), asset_json("e1")]).tx_id("client-tx-1");
    let endorsed = ledger.endorse(&cc, &create).await;
    assert_eq!(endorsed.tx_id(), "client-tx-1");
    assert_eq!(endorsed.response().status, 200);
    assert_eq!(endorsed.event().unwrap().event_name, "Created");
    // Endorsed is not committed: no state, no event, and a second
    // endorsement of the same asset still sees none.
    assert_eq!(ledger.state_of("e1"), None);
    assert!(ledger.events().is_empty());
    let again = ledger.endorse(&cc, &create).await;
    assert_eq!(again.response().status, 200);
    drop(again);

    let outcome = endorsed.commit().await;
    assert!(outcome.committed);
    assert_eq!(outcome.tx_id, "client-tx-1");
    assert!(ledger.state_of("e1").is_some());
    assert_eq!(ledger.events()[0].tx_id, "client-tx-1");
    // The system clock stamped the history entry with today, not 2024.
    let stamped = ledger.history_of("e1")[0].timestamp.unwrap().seconds;
    assert!(stamped > 1_750_000_000, "{stamped}");

    // A refused endorsement commits nothing, even when told to.
    let refused = ledger.endorse(&cc, &create).await;
    assert_eq!(refused.response().status, 500);
    assert!(refused.event().is_none());
    assert!(!refused.commit().await.committed);
    assert_eq!(ledger.events().len(), 1);
}

/// `Seal(owner; secret in the transient map)`: echoes both.
async fn seal(_: Stub, args: Args) -> Result<String, ContractError> {
    Ok(format!(
        "{} {}",
        args.string("owner")?,
        args.string("secret")?
    ))
}

#[tokio::test]
async fn transient_parameters_come_from_the_transient_map_exactly() {
    let chaincode = ContractChaincode::new().with(Contract::new("vault", "1").submit(
        "Seal",
        &[
            Param::string("owner"),
            Param::string("secret").in_transient(),
        ],
        seal,
    ));
    let ledger = MemoryLedger::new();
    let call = |invocation: Invocation| {
        let ledger = ledger.clone();
        let chaincode = &chaincode;
        async move { ledger.invoke(chaincode, &invocation).await.response }
    };
    let ok = call(Invocation::new(["Seal", "ann"]).transient("secret", b"s3".to_vec())).await;
    assert_eq!(ok.status, 200, "{}", ok.message);
    assert_eq!(ok.payload, b"ann s3");
    for (invocation, expected) in [
        (Invocation::new(["Seal", "ann"]), "lacks \"secret\""),
        (
            Invocation::new(["Seal", "ann"])
                .transient("secret", b"s3".to_vec())
                .transient("other", b"x".to_vec()),
            "\"other\", which is not a parameter",
        ),
        (
            Invocation::new(["Seal", "ann", "s3"]).transient("secret", b"s3".to_vec()),
            "takes 1 argument(s) (owner), got 2",
        ),
    ] {
        let response = call(invocation).await;
        assert_eq!(response.status, 500);
        assert!(response.message.contains(expected), "{}", response.message);
    }
    let metadata = chaincode.metadata();
    let parameters = &metadata["contracts"]["vault"]["transactions"][0]["parameters"];
    assert_eq!(parameters[1]["name"], "secret");
    assert_eq!(parameters[1]["transient"], true);
    assert_eq!(parameters[0].get("transient"), None);
}
