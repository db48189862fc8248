#![cfg(test)]
//! Property: any bytes as any argument of any EHR function, from any
//! caller, give an error or a JSON outcome, never a panic.

mod common;
mod ehr_support;

use ehr_support::*;
use ehrx_chaincode::shim::testing::{Invocation, Outcome};
use proptest::prelude::*;
use std::sync::OnceLock;

const FUNCTIONS: &[&str] = &[
    "ConfigureNetwork",
    "PutRemoteNetwork",
    "RemoveRemoteNetwork",
    "RegisterRequester",
    "RegisterResponder",
    "RegisterRelay",
    "RegisterUploader",
    "ClearFlag",
    "AuditTrail",
    "PutEhr",
    "SubmitRequest",
    "AcceptRequest",
    "GetRequestStatus",
    "ListRequests",
    "GetRequestRecords",
    "SubmitReply",
    "AcceptReply",
    "GetReply",
];

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
            prop_assert!(!outcome.response.message.is_empty());
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
        function in prop::sample::select(FUNCTIONS),
        args in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..200), 0..3),
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
            let mut invocation = Invocation::new(all).creator(people[caller].creator.clone());
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
            check(&net.call(who, &[function.as_bytes(), &bytes]).await)?;
            Ok::<(), TestCaseError>(())
        })?;
    }
}
