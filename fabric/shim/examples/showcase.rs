//! A small key-value chaincode that exercises the shim's generic features
//! on a real peer (the end-to-end test `tests/tests/shim.rs` drives it with
//! Fabric's own `peer` CLI): state, events, private data and its hash,
//! paginated ranges, composite keys and history.
//!
//! Run as a chaincode service with the environment a peer's
//! `connection.json` deployment gives it: `CHAINCODE_ID=<package id>
//! CHAINCODE_SERVER_ADDRESS=127.0.0.1:7098 cargo run -p hlf-shim --example
//! showcase`, plus `CHAINCODE_TLS_KEY_FILE`, `CHAINCODE_TLS_CERT_FILE` and
//! `CHAINCODE_TLS_CLIENT_CA_FILE` for (mutual) TLS.

use hlf_shim::contract::{Args, Contract, ContractChaincode, ContractError, Json, Param};
use hlf_shim::server::shutdown_signal;
use hlf_shim::{ServerConfig, Stub, composite_key};
use serde::Serialize;

/// The private data collection the network's deployment defines.
const COLLECTION: &str = "ehrRecords";

#[derive(Serialize)]
struct Entry {
    key: String,
    value: String,
}

#[derive(Serialize)]
struct RangePage {
    entries: Vec<Entry>,
    bookmark: String,
}

#[derive(Serialize)]
struct Change {
    tx_id: String,
    value: String,
    is_delete: bool,
}

fn not_found(what: &str, key: &str) -> ContractError {
    ContractError::rejected(format!("{what} {key:?} does not exist"))
}

fn text(bytes: Vec<u8>) -> String {
    String::from_utf8_lossy(&bytes).into_owned()
}

async fn put(stub: Stub, args: Args) -> Result<(), ContractError> {
    let key = args.string("key")?;
    stub.put_state(key, args.bytes("value")?.to_vec()).await?;
    stub.set_event("Put", key.as_bytes().to_vec())?;
    Ok(())
}

async fn get(stub: Stub, args: Args) -> Result<Vec<u8>, ContractError> {
    let key = args.string("key")?;
    stub.get_state(key)
        .await?
        .ok_or_else(|| not_found("key", key))
}

async fn put_private(stub: Stub, args: Args) -> Result<(), ContractError> {
    let key = args.string("key")?;
    // Private values travel in the transient map, never in the arguments
    // that are written to the block.
    let value = stub.transient()?.get("value").cloned().ok_or_else(|| {
        ContractError::rejected("the private value must be in the transient map under \"value\"")
    })?;
    stub.put_private_data(COLLECTION, key, value).await?;
    Ok(())
}

async fn get_private(stub: Stub, args: Args) -> Result<Vec<u8>, ContractError> {
    let key = args.string("key")?;
    stub.get_private_data(COLLECTION, key)
        .await?
        .ok_or_else(|| not_found("private key", key))
}

async fn get_private_hash(stub: Stub, args: Args) -> Result<String, ContractError> {
    let key = args.string("key")?;
    let hash = stub.get_private_data_hash(COLLECTION, key).await?;
    Ok(hex::encode(
        hash.ok_or_else(|| not_found("private key", key))?,
    ))
}

async fn range(stub: Stub, args: Args) -> Result<Json<RangePage>, ContractError> {
    let page_size: i32 = args
        .string("pageSize")?
        .parse()
        .map_err(|_| ContractError::rejected("pageSize must be a positive integer"))?;
    let page = stub
        .get_state_by_range_with_pagination(
            args.string("start")?,
            args.string("end")?,
            page_size,
            args.string("bookmark")?,
        )
        .await?;
    let entries = page
        .results
        .collect()
        .await?
        .into_iter()
        .map(|kv| Entry {
            key: kv.key,
            value: text(kv.value),
        })
        .collect();
    Ok(Json(RangePage {
        entries,
        bookmark: page.bookmark,
    }))
}

async fn put_indexed(stub: Stub, args: Args) -> Result<String, ContractError> {
    let attributes: Vec<String> = args.json("attributes")?;
    let attributes: Vec<&str> = attributes.iter().map(String::as_str).collect();
    let key = composite_key::create(args.string("objectType")?, &attributes)
        .map_err(|e| ContractError::rejected(e.to_string()))?;
    stub.put_state(&key, args.bytes("value")?.to_vec()).await?;
    Ok(key)
}

async fn query_indexed(stub: Stub, args: Args) -> Result<Json<Vec<Entry>>, ContractError> {
    let prefix: Vec<String> = args.json("attributes")?;
    let prefix: Vec<&str> = prefix.iter().map(String::as_str).collect();
    let found = stub
        .get_state_by_partial_composite_key(args.string("objectType")?, &prefix)
        .await?
        .collect()
        .await?;
    let mut entries = Vec::with_capacity(found.len());
    for kv in found {
        let (_, attributes) =
            composite_key::split(&kv.key).map_err(|e| ContractError::rejected(e.to_string()))?;
        entries.push(Entry {
            key: attributes.join("/"),
            value: text(kv.value),
        });
    }
    Ok(Json(entries))
}

async fn history(stub: Stub, args: Args) -> Result<Json<Vec<Change>>, ContractError> {
    let changes = stub
        .get_history_for_key(args.string("key")?)
        .await?
        .collect()
        .await?;
    Ok(Json(
        changes
            .into_iter()
            .map(|m| Change {
                tx_id: m.tx_id,
                value: text(m.value),
                is_delete: m.is_delete,
            })
            .collect(),
    ))
}

fn chaincode() -> ContractChaincode {
    const KEY: &[Param] = &[Param::string("key")];
    ContractChaincode::new().with(
        Contract::new("showcase", "1.0")
            .submit("Put", &[Param::string("key"), Param::bytes("value")], put)
            .evaluate("Get", KEY, get)
            .submit("PutPrivate", KEY, put_private)
            .evaluate("GetPrivate", KEY, get_private)
            .evaluate("GetPrivateHash", KEY, get_private_hash)
            .evaluate(
                "Range",
                &[
                    Param::string("start"),
                    Param::string("end"),
                    Param::string("pageSize"),
                    Param::string("bookmark"),
                ],
                range,
            )
            .submit(
                "PutIndexed",
                &[
                    Param::string("objectType"),
                    Param::json("attributes"),
                    Param::bytes("value"),
                ],
                put_indexed,
            )
            .evaluate(
                "QueryIndexed",
                &[Param::string("objectType"), Param::json("attributes")],
                query_indexed,
            )
            .evaluate("History", KEY, history),
    )
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let config = ServerConfig::from_env()?;
    // One thread unless CHAINCODE_WORKER_THREADS says otherwise.
    let runtime = hlf_shim::runtime::runtime(hlf_shim::runtime::worker_threads_from_env()?)?;
    runtime.block_on(config.serve(chaincode(), shutdown_signal()))?;
    Ok(())
}
