#![cfg(test)]
//! Properties: any bytes as any argument of any EHR function, from any
//! caller, give an error or a JSON outcome, never a panic; every error is
//! in the wire form `[CODE] text` and at most `MAX_ERROR_BYTES` long; and
//! hostile JSON (arrays, repeated keys, deep nesting, huge strings, NUL
//! bytes, arbitrary bytes) to the JSON functions is refused with its code,
//! writing nothing.

use ehrx_chaincode::shim::testing::Outcome;
use ehrx_chaincode_testing::*;
use ehrx_interface::{
    ContractFailure, ErrorCode,
    limits::{MAX_ERROR_BYTES, MAX_JSON_DEPTH},
    names::function,
};
use proptest::prelude::*;
use serde_json::{Value, json};
use std::sync::OnceLock;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

/// One set-up pair of networks for all cases (setting up costs far more
/// than a call); state left by earlier cases only widens what later ones
/// explore.
fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| runtime().block_on(World::new()))
}

fn check(outcome: &Outcome) -> Result<(), TestCaseError> {
    match outcome.response.status {
        200 => {
            prop_assert!(
                serde_json::from_slice::<serde_json::Value>(&outcome.response.payload).is_ok(),
                "a success must carry JSON"
            );
        }
        500 => {
            prop_assert!(!outcome.committed);
            let message = &outcome.response.message;
            prop_assert!(message.len() <= MAX_ERROR_BYTES, "{} bytes", message.len());
            prop_assert!(
                ContractFailure::from_wire(message).is_some(),
                "not in the wire form: {message}"
            );
        }
        other => prop_assert!(false, "unexpected status {other}"),
    }
    Ok(())
}

/// Valid messages of each kind, to mutate.
fn seeds(world: &World) -> Vec<(&'static str, Vec<u8>)> {
    let request = world.request(1);
    let signed_request = world.sign_request(&request, &world.doctor);
    let signed_reply = world.sign_reply(&world.reply_ok(&request), &world.responder);
    vec![
        ("SubmitRequest", signed_request.clone()),
        ("AcceptRequest", world.forward_request(&signed_request)),
        ("SubmitReply", signed_reply.clone()),
        ("AcceptReply", world.forward_reply(&signed_reply)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn any_arguments_to_any_function_never_panic(
        function in prop::sample::select(function::ALL),
        args in prop::collection::vec(
            prop_oneof![
                prop::collection::vec(any::<u8>(), 0..200),
                hostile_json().prop_map(|(_, bytes)| bytes),
            ],
            0..3,
        ),
        caller in 0usize..6,
        transient in prop::option::of(prop::collection::vec(any::<u8>(), 0..100)),
    ) {
        let world = world();
        runtime().block_on(async {
            let stranger = world.net1.person("stranger", 17);
            let people = [
                &world.net1.admin,
                &world.doctor,
                &world.net1.relay,
                &world.net2.relay,
                &world.responder,
                &stranger,
            ];
            let mut all = vec![function.as_bytes().to_vec()];
            all.extend(args);
            let mut invocation = invocation(all).creator(people[caller].creator.clone());
            if let Some(record) = transient {
                invocation = invocation.transient("record", record);
            }
            for net in [&world.net1, &world.net2] {
                check(&net.invoke(invocation.clone()).await)?;
            }
            Ok::<(), TestCaseError>(())
        })?;
    }

    #[test]
    fn mutated_messages_never_panic(
        seed in 0usize..4,
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in prop::option::of(any::<prop::sample::Index>()),
    ) {
        let world = world();
        runtime().block_on(async {
            let seeds = seeds(world);
            let (function, mut bytes) = seeds[seed].clone();
            for (index, value) in flips {
                let at = index.index(bytes.len());
                bytes[at] ^= value;
            }
            if let Some(cut) = cut {
                bytes.truncate(cut.index(bytes.len() + 1));
            }
            let callers = [&world.doctor, &world.net2.relay, &world.responder, &world.net1.relay];
            let (net, who) = match function {
                "SubmitRequest" => (&world.net1, callers[0]),
                "AcceptRequest" => (&world.net2, callers[1]),
                "SubmitReply" => (&world.net2, callers[2]),
                _ => (&world.net1, callers[3]),
            };
            // The proof comes second: an empty one, so the mutated
            // envelope is what is judged.
            let outcome = if function.starts_with("Accept") {
                net.call(who, &[function.as_bytes(), &bytes, b""]).await
            } else {
                net.call(who, &[function.as_bytes(), &bytes]).await
            };
            check(&outcome)?;
            Ok::<(), TestCaseError>(())
        })?;
    }
}

/// What a piece of hostile JSON is, and so which code refuses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hostile {
    /// A JSON array where an object is required.
    Array,
    /// An object repeating a key, at some depth.
    RepeatedKey,
    /// Nesting deeper than allowed.
    Deep,
    /// A well-formed object with a huge string, or NUL characters, in a
    /// field: refused for some reason, by code.
    Value,
    /// Any bytes at all.
    Bytes,
}

/// A valid argument of each JSON function, to corrupt.
fn valid_fields(function: &str) -> Value {
    let key = "ab".repeat(32);
    match function {
        "ConfigureNetwork" => json!({"network_id": NET2, "rate_limit_max": 5}),
        "PutRemoteNetwork" => json!({"network_id": "net7", "network_key": key, "status": "active"}),
        "RegisterRequester" => json!({"requester_code": "N-7", "msp_id": "Net2Org1MSP",
            "certificate": "PEM", "privileges": ["request"], "encryption_key": key}),
        "PutEhr" => json!({"patient_ref": key, "records": ["Observation/obs-7"]}),
        "PutNetworkTrust" => json!({"network_id": NET1, "channel": "channel", "organizations":
            [{"msp_id": "Net1Org1MSP", "root_certificates": ["PEM"]}], "policy": {"at_least": 1}}),
        _ => json!({"msp_id": "Net2Org1MSP", "certificate": "PEM"}),
    }
}

fn hostile_json() -> impl Strategy<Value = (Hostile, Vec<u8>)> {
    let function = prop::sample::select(JSON_FUNCTIONS);
    prop_oneof![
        function.clone().prop_map(|f| {
            let fields: Vec<Value> = valid_fields(f)
                .as_object()
                .map(|o| o.values().cloned().collect())
                .unwrap_or_default();
            (
                Hostile::Array,
                Value::Array(fields).to_string().into_bytes(),
            )
        }),
        (function.clone(), 0usize..4, any::<bool>()).prop_map(|(f, depth, same)| {
            let valid = valid_fields(f).to_string();
            let body = &valid[1..valid.len() - 1];
            let repeated = if same {
                format!("{{{body},{body}}}")
            } else {
                format!("{{{body},\"x\":1,\"x\":2}}")
            };
            let mut text = repeated;
            for _ in 0..depth {
                text = format!("{{\"a\":[{text}]}}");
            }
            (Hostile::RepeatedKey, text.into_bytes())
        }),
        (MAX_JSON_DEPTH..4 * MAX_JSON_DEPTH, any::<bool>()).prop_map(|(depth, arrays)| {
            let text = if arrays {
                format!("{{\"a\":{}{}}}", "[".repeat(depth), "]".repeat(depth))
            } else {
                format!("{}1{}", "{\"a\":".repeat(depth + 1), "}".repeat(depth + 1))
            };
            (Hostile::Deep, text.into_bytes())
        }),
        (
            function,
            1usize..200_000,
            prop::sample::select(&["x", "\\u0000", "\u{0}"][..])
        )
            .prop_map(|(f, length, unit)| {
                let mut fields = valid_fields(f);
                let huge = unit.repeat(length / unit.len() + 1);
                if let Some(first) = fields.as_object_mut().and_then(|o| o.values_mut().next()) {
                    *first = Value::String(huge.replace("\\u0000", "\u{0}"));
                }
                (Hostile::Value, fields.to_string().into_bytes())
            }),
        prop::collection::vec(any::<u8>(), 0..2000).prop_map(|b| (Hostile::Bytes, b)),
    ]
}

/// The functions taking one JSON argument.
const JSON_FUNCTIONS: &[&str] = &[
    function::CONFIGURE_NETWORK,
    function::PUT_REMOTE_NETWORK,
    function::PUT_NETWORK_TRUST,
    function::REGISTER_REQUESTER,
    function::REGISTER_RESPONDER,
    function::REGISTER_RELAY,
    function::REGISTER_UPLOADER,
    function::CLEAR_FLAG,
    function::PUT_EHR,
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn hostile_json_is_refused_with_its_code_writing_nothing(
        function in prop::sample::select(JSON_FUNCTIONS),
        (kind, argument) in hostile_json(),
    ) {
        let world = world();
        runtime().block_on(async {
            let net = &world.net2;
            let caller = if function == function::PUT_EHR { &world.uploader } else { &net.admin };
            let mut invocation = invocation([function.as_bytes().to_vec(), argument])
                .creator(caller.creator.clone());
            if function == function::PUT_EHR {
                invocation = invocation
                    .transient("Observation/obs-7", br#"{"resourceType":"Observation","id":"obs-7"}"#.to_vec());
            }
            let before = snapshot(&net.ledger);
            let outcome = net.invoke(invocation).await;
            prop_assert_eq!(outcome.response.status, 500, "{:?} was accepted", kind);
            check(&outcome)?;
            prop_assert!(outcome.event.is_none());
            prop_assert!(before == snapshot(&net.ledger), "a refused call wrote");
            let code = ContractFailure::from_wire(&outcome.response.message).map(|f| f.code);
            let expected = match kind {
                Hostile::Array => Some(ErrorCode::NotAnObject),
                Hostile::RepeatedKey => Some(ErrorCode::DuplicateKey),
                Hostile::Deep => Some(ErrorCode::TooDeep),
                Hostile::Value | Hostile::Bytes => None,
            };
            if expected.is_some() {
                prop_assert_eq!(code, expected, "{}", outcome.response.message);
            }
            Ok::<(), TestCaseError>(())
        })?;
    }
}
