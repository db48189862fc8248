//! Encode→decode round trips of nested messages, the enum values and the
//! gRPC service and method names, checked against Fabric's.

// Marks the helpers below as test code too, for clippy's unwrap rules.
#![cfg(test)]

mod shared;

use std::collections::BTreeSet;

use hlf_protos::{FILE_DESCRIPTOR_SET, common, gateway, orderer, peer};
use peer::chaincode_message::Type as MsgType;
use prost::Message;
use shared::{at_block, filtered_transaction};

/// Encodes, decodes, and checks the copy equals the original; returns bytes.
fn round_trip<M: Message + Default + PartialEq + std::fmt::Debug>(msg: &M) -> Vec<u8> {
    let bytes = msg.encode_to_vec();
    assert_eq!(&M::decode(bytes.as_slice()).unwrap(), msg);
    bytes
}

fn ts() -> Option<prost_types::Timestamp> {
    Some(prost_types::Timestamp {
        seconds: 1_700_000_000,
        nanos: 123_456_789,
    })
}

fn proposal_header(tx_id: &str) -> common::Header {
    let extension = round_trip(&peer::ChaincodeHeaderExtension {
        chaincode_id: Some(peer::ChaincodeId {
            name: "ehr".into(),
            ..Default::default()
        }),
    });
    let channel_header = common::ChannelHeader {
        r#type: common::HeaderType::EndorserTransaction as i32,
        version: 0,
        timestamp: ts(),
        channel_id: "ehr-channel".into(),
        tx_id: tx_id.into(),
        epoch: 0,
        extension,
        tls_cert_hash: vec![],
    };
    let signature_header = common::SignatureHeader {
        creator: round_trip(&hlf_protos::msp::SerializedIdentity {
            mspid: "Org1MSP".into(),
            id_bytes: b"-----BEGIN CERTIFICATE-----\n...".to_vec(),
        }),
        nonce: vec![7; 24],
    };
    common::Header {
        channel_header: round_trip(&channel_header),
        signature_header: round_trip(&signature_header),
    }
}

#[test]
fn envelope_payload_header_nesting() {
    let header = proposal_header("tx1");
    let payload = common::Payload {
        header: Some(header.clone()),
        data: round_trip(&peer::Transaction {
            actions: vec![peer::TransactionAction {
                header: header.signature_header.clone(),
                payload: vec![1, 2, 3],
            }],
        }),
    };
    let env = common::Envelope {
        payload: round_trip(&payload),
        signature: vec![0x30, 0x44, 0x02],
    };
    let bytes = round_trip(&env);

    // Unwrap layer by layer.
    let env2 = common::Envelope::decode(bytes.as_slice()).unwrap();
    let payload2 = common::Payload::decode(env2.payload.as_slice()).unwrap();
    let header2 = payload2.header.unwrap();
    let ch = common::ChannelHeader::decode(header2.channel_header.as_slice()).unwrap();
    assert_eq!(ch.tx_id, "tx1");
    assert_eq!(ch.r#type, common::HeaderType::EndorserTransaction as i32);
    let ext = peer::ChaincodeHeaderExtension::decode(ch.extension.as_slice()).unwrap();
    assert_eq!(ext.chaincode_id.unwrap().name, "ehr");
    let tx = peer::Transaction::decode(payload2.data.as_slice()).unwrap();
    assert_eq!(tx.actions[0].payload, vec![1, 2, 3]);
}

fn signed_proposal() -> peer::SignedProposal {
    let invocation = peer::ChaincodeInvocationSpec {
        chaincode_spec: Some(peer::ChaincodeSpec {
            r#type: peer::chaincode_spec::Type::Golang as i32,
            chaincode_id: Some(peer::ChaincodeId {
                name: "ehr".into(),
                ..Default::default()
            }),
            input: Some(peer::ChaincodeInput {
                args: vec![b"SubmitRequest".to_vec(), b"{}".to_vec()],
                decorations: [("d".to_string(), vec![1])].into(),
                is_init: false,
            }),
            timeout: 0,
        }),
    };
    let ccpp = peer::ChaincodeProposalPayload {
        input: round_trip(&invocation),
        transient_map: [(
            "record".to_string(),
            b"{\"resourceType\":\"Patient\"}".to_vec(),
        )]
        .into(),
    };
    let proposal = peer::Proposal {
        header: round_trip(&proposal_header("tx2")),
        payload: round_trip(&ccpp),
        extension: vec![],
    };
    peer::SignedProposal {
        proposal_bytes: round_trip(&proposal),
        signature: vec![9; 70],
    }
}

#[test]
fn signed_proposal_nesting() {
    let sp = signed_proposal();
    round_trip(&sp);
    let proposal = peer::Proposal::decode(sp.proposal_bytes.as_slice()).unwrap();
    let ccpp = peer::ChaincodeProposalPayload::decode(proposal.payload.as_slice()).unwrap();
    assert!(ccpp.transient_map.contains_key("record"));
    let cis = peer::ChaincodeInvocationSpec::decode(ccpp.input.as_slice()).unwrap();
    let input = cis.chaincode_spec.unwrap().input.unwrap();
    assert_eq!(input.args[0], b"SubmitRequest");
}

/// A payload message for every ChaincodeMessage type that carries one.
fn payload_for(t: MsgType) -> Vec<u8> {
    let key = "patient/1".to_string();
    let col = "recordsCollection".to_string();
    let meta = peer::StateMetadata {
        metakey: "VALIDATION_PARAMETER".into(),
        value: vec![1],
    };
    match t {
        MsgType::Undefined | MsgType::Keepalive | MsgType::Registered => vec![],
        MsgType::Register => round_trip(&peer::ChaincodeId {
            name: "ehr:abc123".into(),
            ..Default::default()
        }),
        MsgType::Ready => round_trip(&peer::ChaincodeAdditionalParams {
            use_write_batch: true,
            max_size_write_batch: 1000,
            use_get_multiple_keys: true,
            max_size_get_multiple_keys: 1000,
        }),
        MsgType::Init | MsgType::Transaction => round_trip(&peer::ChaincodeInput {
            args: vec![b"f".to_vec()],
            ..Default::default()
        }),
        MsgType::Completed => round_trip(&peer::Response {
            status: 200,
            message: String::new(),
            payload: b"ok".to_vec(),
        }),
        MsgType::Error => b"boom".to_vec(),
        MsgType::GetState | MsgType::GetPrivateDataHash => round_trip(&peer::GetState {
            key,
            collection: col,
        }),
        MsgType::PutState => round_trip(&peer::PutState {
            key,
            value: b"v".to_vec(),
            collection: col,
        }),
        MsgType::DelState => round_trip(&peer::DelState {
            key,
            collection: col,
        }),
        MsgType::InvokeChaincode => round_trip(&peer::ChaincodeSpec {
            chaincode_id: Some(peer::ChaincodeId {
                name: "other".into(),
                ..Default::default()
            }),
            ..Default::default()
        }),
        MsgType::Response => round_trip(&peer::QueryResponse {
            results: vec![peer::QueryResultBytes {
                result_bytes: round_trip(&hlf_protos::queryresult::Kv {
                    namespace: "ehr".into(),
                    key: key.clone(),
                    value: b"v".to_vec(),
                }),
            }],
            has_more: true,
            id: "it1".into(),
            metadata: round_trip(&peer::QueryResponseMetadata {
                fetched_records_count: 1,
                bookmark: key,
            }),
        }),
        MsgType::GetStateByRange => round_trip(&peer::GetStateByRange {
            start_key: "a".into(),
            end_key: "z".into(),
            collection: col,
            metadata: round_trip(&peer::QueryMetadata {
                page_size: 10,
                bookmark: String::new(),
            }),
        }),
        MsgType::GetQueryResult => round_trip(&peer::GetQueryResult {
            query: "{\"selector\":{}}".into(),
            collection: col,
            metadata: vec![],
        }),
        MsgType::QueryStateNext => round_trip(&peer::QueryStateNext { id: "it1".into() }),
        MsgType::QueryStateClose => round_trip(&peer::QueryStateClose { id: "it1".into() }),
        MsgType::GetHistoryForKey => round_trip(&peer::GetHistoryForKey { key }),
        MsgType::GetStateMetadata => round_trip(&peer::GetStateMetadata {
            key,
            collection: col,
        }),
        MsgType::PutStateMetadata => round_trip(&peer::PutStateMetadata {
            key,
            collection: col,
            metadata: Some(meta),
        }),
        MsgType::PurgePrivateData => round_trip(&peer::PurgePrivateState {
            key,
            collection: col,
        }),
        MsgType::WriteBatchState => round_trip(&peer::WriteBatchState {
            rec: vec![
                peer::WriteRecord {
                    key: key.clone(),
                    value: b"v".to_vec(),
                    collection: String::new(),
                    metadata: None,
                    r#type: peer::write_record::Type::PutState as i32,
                },
                peer::WriteRecord {
                    key,
                    value: vec![],
                    collection: col,
                    metadata: Some(meta),
                    r#type: peer::write_record::Type::PutStateMetadata as i32,
                },
            ],
        }),
        MsgType::GetStateMultiple => round_trip(&peer::GetStateMultiple {
            keys: vec![key, "patient/2".into()],
            collection: col,
        }),
    }
}

/// Fabric's ChaincodeMessage.Type values, from fabric-protos.
const MSG_TYPES: &[(&str, i32)] = &[
    ("UNDEFINED", 0),
    ("REGISTER", 1),
    ("REGISTERED", 2),
    ("INIT", 3),
    ("READY", 4),
    ("TRANSACTION", 5),
    ("COMPLETED", 6),
    ("ERROR", 7),
    ("GET_STATE", 8),
    ("PUT_STATE", 9),
    ("DEL_STATE", 10),
    ("INVOKE_CHAINCODE", 11),
    ("RESPONSE", 13),
    ("GET_STATE_BY_RANGE", 14),
    ("GET_QUERY_RESULT", 15),
    ("QUERY_STATE_NEXT", 16),
    ("QUERY_STATE_CLOSE", 17),
    ("KEEPALIVE", 18),
    ("GET_HISTORY_FOR_KEY", 19),
    ("GET_STATE_METADATA", 20),
    ("PUT_STATE_METADATA", 21),
    ("GET_PRIVATE_DATA_HASH", 22),
    ("PURGE_PRIVATE_DATA", 23),
    ("WRITE_BATCH_STATE", 24),
    ("GET_STATE_MULTIPLE", 25),
];

#[test]
fn chaincode_message_every_type() {
    for &(name, number) in MSG_TYPES {
        let t = MsgType::from_str_name(name).unwrap();
        assert_eq!(t as i32, number, "{name}");
        assert_eq!(MsgType::try_from(number).unwrap(), t);

        let msg = peer::ChaincodeMessage {
            r#type: t as i32,
            timestamp: ts(),
            payload: payload_for(t),
            txid: "tx3".into(),
            proposal: (t == MsgType::Transaction).then(signed_proposal),
            chaincode_event: (t == MsgType::Completed).then(|| peer::ChaincodeEvent {
                chaincode_id: "ehr".into(),
                tx_id: "tx3".into(),
                event_name: "RequestValidated".into(),
                payload: b"{}".to_vec(),
            }),
            channel_id: "ehr-channel".into(),
        };
        let bytes = round_trip(&msg);
        let back = peer::ChaincodeMessage::decode(bytes.as_slice()).unwrap();
        assert_eq!(back.r#type(), t);
        assert_eq!(back.payload, payload_for(t));
    }
    // 12 was never assigned.
    assert!(MsgType::try_from(12).is_err());
}

#[test]
fn tx_validation_codes() {
    let expected: &[(&str, i32)] = &[
        ("VALID", 0),
        ("NIL_ENVELOPE", 1),
        ("BAD_PAYLOAD", 2),
        ("BAD_COMMON_HEADER", 3),
        ("BAD_CREATOR_SIGNATURE", 4),
        ("INVALID_ENDORSER_TRANSACTION", 5),
        ("INVALID_CONFIG_TRANSACTION", 6),
        ("UNSUPPORTED_TX_PAYLOAD", 7),
        ("BAD_PROPOSAL_TXID", 8),
        ("DUPLICATE_TXID", 9),
        ("ENDORSEMENT_POLICY_FAILURE", 10),
        ("MVCC_READ_CONFLICT", 11),
        ("PHANTOM_READ_CONFLICT", 12),
        ("UNKNOWN_TX_TYPE", 13),
        ("TARGET_CHAIN_NOT_FOUND", 14),
        ("MARSHAL_TX_ERROR", 15),
        ("NIL_TXACTION", 16),
        ("EXPIRED_CHAINCODE", 17),
        ("CHAINCODE_VERSION_CONFLICT", 18),
        ("BAD_HEADER_EXTENSION", 19),
        ("BAD_CHANNEL_HEADER", 20),
        ("BAD_RESPONSE_PAYLOAD", 21),
        ("BAD_RWSET", 22),
        ("ILLEGAL_WRITESET", 23),
        ("INVALID_WRITESET", 24),
        ("INVALID_CHAINCODE", 25),
        ("NOT_VALIDATED", 254),
        ("INVALID_OTHER_REASON", 255),
    ];
    for &(name, number) in expected {
        let code = peer::TxValidationCode::from_str_name(name).unwrap();
        assert_eq!(code as i32, number, "{name}");
    }
    // Every defined code is in the table.
    let defined = (0..=255)
        .filter(|n| peer::TxValidationCode::try_from(*n).is_ok())
        .count();
    assert_eq!(defined, expected.len());
}

#[test]
fn common_enums() {
    use common::{BlockMetadataIndex as B, HeaderType as H, Status as S};
    // Header types, statuses and block metadata slots, with their numbers.
    let numbered = [
        (H::Message as i32, 0),
        (H::Config as i32, 1),
        (H::ConfigUpdate as i32, 2),
        (H::EndorserTransaction as i32, 3),
        (H::OrdererTransaction as i32, 4),
        (H::DeliverSeekInfo as i32, 5),
        (H::ChaincodePackage as i32, 6),
        (S::Unknown as i32, 0),
        (S::Success as i32, 200),
        (S::BadRequest as i32, 400),
        (S::Forbidden as i32, 403),
        (S::NotFound as i32, 404),
        (S::RequestEntityTooLarge as i32, 413),
        (S::InternalServerError as i32, 500),
        (S::NotImplemented as i32, 501),
        (S::ServiceUnavailable as i32, 503),
        (B::Signatures as i32, 0),
        (B::LastConfig as i32, 1),
        (B::TransactionsFilter as i32, 2),
        (B::Orderer as i32, 3),
        (B::CommitHash as i32, 4),
    ];
    for (index, (value, number)) in numbered.into_iter().enumerate() {
        assert_eq!(value, number, "entry {index}");
    }
    assert_eq!(peer::MetaDataKeys::ValidationParameter as i32, 0);
    assert_eq!(peer::MetaDataKeys::ValidationParameterV2 as i32, 1);
    let wr = peer::write_record::Type::from_str_name("PURGE_PRIVATE_DATA").unwrap();
    assert_eq!(wr as i32, 23);
}

#[test]
fn gateway_endorse_request() {
    let req = gateway::EndorseRequest {
        transaction_id: "tx2".into(),
        channel_id: "ehr-channel".into(),
        proposed_transaction: Some(signed_proposal()),
        endorsing_organizations: vec!["Org1MSP".into(), "Org2MSP".into()],
    };
    round_trip(&req);
    let resp = gateway::EndorseResponse {
        prepared_transaction: Some(common::Envelope {
            payload: vec![1; 100],
            signature: vec![],
        }),
    };
    round_trip(&resp);
    round_trip(&gateway::CommitStatusResponse {
        result: peer::TxValidationCode::Valid as i32,
        block_number: 42,
    });
}

#[test]
fn deliver_response_filtered_block() {
    let resp = peer::DeliverResponse {
        r#type: Some(peer::deliver_response::Type::FilteredBlock(
            peer::FilteredBlock {
                channel_id: "ehr-channel".into(),
                number: 17,
                filtered_transactions: vec![
                    filtered_transaction(
                        "tx2",
                        peer::TxValidationCode::Valid,
                        Some(peer::ChaincodeEvent {
                            chaincode_id: "ehr".into(),
                            tx_id: "tx2".into(),
                            event_name: "RequestValidated".into(),
                            payload: vec![],
                        }),
                    ),
                    filtered_transaction("tx4", peer::TxValidationCode::MvccReadConflict, None),
                ],
            },
        )),
    };
    round_trip(&resp);
    round_trip(&peer::DeliverResponse {
        r#type: Some(peer::deliver_response::Type::Status(
            common::Status::Success as i32,
        )),
    });
}

#[test]
fn seek_info_round_trip() {
    let seek = orderer::SeekInfo {
        start: at_block(5),
        stop: at_block(u64::MAX),
        behavior: orderer::seek_info::SeekBehavior::BlockUntilReady as i32,
        error_response: orderer::seek_info::SeekErrorResponse::Strict as i32,
        content_type: orderer::seek_info::SeekContentType::Block as i32,
    };
    round_trip(&seek);
}

/// Reads the services of one package from the compiled descriptor set.
fn methods(package: &str, service: &str) -> Vec<(String, bool, bool)> {
    let fds = prost_types::FileDescriptorSet::decode(FILE_DESCRIPTOR_SET).unwrap();
    fds.file
        .iter()
        .filter(|f| f.package() == package)
        .flat_map(|f| f.service.iter())
        .filter(|s| s.name() == service)
        .flat_map(|s| s.method.iter())
        .map(|m| {
            (
                m.name().to_string(),
                m.client_streaming(),
                m.server_streaming(),
            )
        })
        .collect()
}

#[test]
fn services_match_fabric() {
    let m = |name: &str, client, server| (name.to_string(), client, server);
    // Each service's gRPC path and its methods (name, whether the client
    // and the server stream).
    let services = [
        (
            "gateway.Gateway",
            vec![
                m("Endorse", false, false),
                m("Submit", false, false),
                m("CommitStatus", false, false),
                m("Evaluate", false, false),
                m("ChaincodeEvents", false, true),
            ],
        ),
        ("protos.ChaincodeSupport", vec![m("Register", true, true)]),
        ("protos.Chaincode", vec![m("Connect", true, true)]),
        ("protos.Endorser", vec![m("ProcessProposal", false, false)]),
        (
            "protos.Deliver",
            vec![
                m("Deliver", true, true),
                m("DeliverFiltered", true, true),
                m("DeliverWithPrivateData", true, true),
            ],
        ),
        (
            "orderer.AtomicBroadcast",
            vec![m("Broadcast", true, true), m("Deliver", true, true)],
        ),
    ];
    for (path, expected) in &services {
        let (package, service) = path.split_once('.').unwrap();
        assert_eq!(&methods(package, service), expected, "{path}");
    }
    // The gRPC paths the generated servers answer to.
    let paths: BTreeSet<&str> = services.iter().map(|(path, _)| *path).collect();
    assert_eq!(
        paths,
        BTreeSet::from([
            gateway::gateway_server::SERVICE_NAME,
            peer::chaincode_support_server::SERVICE_NAME,
            peer::chaincode_server::SERVICE_NAME,
            peer::endorser_server::SERVICE_NAME,
            peer::deliver_server::SERVICE_NAME,
            orderer::atomic_broadcast_server::SERVICE_NAME,
        ])
    );
}
