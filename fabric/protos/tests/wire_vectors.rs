//! Fixed wire vectors: bytes worked out by hand from the protobuf encoding
//! rules (tag = field_number << 3 | wire_type) and the field numbers of
//! hyperledger/fabric-protos. Each message must encode to exactly these bytes
//! and decode back from them, which pins every field number used here.

// Marks the helpers below as test code too, for clippy's unwrap rules.
#![cfg(test)]

mod shared;

use hlf_protos::{common, gateway, kvrwset, msp, orderer, peer, queryresult, rwset};
use prost::Message;
use shared::{at_block, filtered_transaction};

/// Asserts `msg` encodes to `hex` (spaces ignored) and decodes back from it.
fn check<M: Message + Default + PartialEq + std::fmt::Debug>(msg: &M, hex: &str) {
    let expected = hex::decode(hex.replace(' ', "")).unwrap();
    assert_eq!(hex::encode(msg.encode_to_vec()), hex::encode(&expected));
    assert_eq!(&M::decode(expected.as_slice()).unwrap(), msg);
}

fn ts(seconds: i64) -> Option<prost_types::Timestamp> {
    Some(prost_types::Timestamp { seconds, nanos: 0 })
}

#[test]
fn channel_header_minimal() {
    // type=3 (ENDORSER_TRANSACTION), channel "ch", tx "ab", epoch 0 (omitted).
    let h = common::ChannelHeader {
        r#type: common::HeaderType::EndorserTransaction as i32,
        channel_id: "ch".into(),
        tx_id: "ab".into(),
        epoch: 0,
        ..Default::default()
    };
    check(&h, "08 03  22 02 6368  2a 02 6162");
}

#[test]
fn channel_header_all_fields() {
    let h = common::ChannelHeader {
        r#type: common::HeaderType::DeliverSeekInfo as i32,
        version: 1,
        timestamp: ts(1),
        channel_id: "c".into(),
        tx_id: String::new(),
        epoch: 7,
        extension: vec![0xff],
        tls_cert_hash: vec![0x01],
    };
    check(
        &h,
        "08 05  10 01  1a 02 0801  22 01 63  30 07  3a 01 ff  42 01 01",
    );
}

#[test]
fn envelope_payload_headers() {
    check(
        &common::SignatureHeader {
            creator: vec![1],
            nonce: vec![2],
        },
        "0a 01 01  12 01 02",
    );
    check(
        &common::Payload {
            header: Some(common::Header {
                channel_header: vec![1],
                signature_header: vec![2],
            }),
            data: vec![3],
        },
        "0a 06 0a0101 120102  12 01 03",
    );
    check(
        &common::Envelope {
            payload: vec![1],
            signature: vec![2],
        },
        "0a 01 01  12 01 02",
    );
    check(
        &msp::SerializedIdentity {
            mspid: "Org1MSP".into(),
            id_bytes: vec![1],
        },
        "0a 07 4f726731 4d5350  12 01 01",
    );
}

#[test]
fn block() {
    let b = common::Block {
        header: Some(common::BlockHeader {
            number: 1,
            previous_hash: vec![1],
            data_hash: vec![2],
        }),
        data: Some(common::BlockData {
            data: vec![vec![3]],
        }),
        metadata: Some(common::BlockMetadata {
            metadata: vec![vec![], vec![4]],
        }),
    };
    check(
        &b,
        "0a 08 0801 120101 1a0102  12 03 0a0103  1a 05 0a00 0a0104",
    );
    check(
        &common::MetadataSignature {
            signature_header: vec![1],
            signature: vec![2],
            identifier_header: vec![3],
        },
        "0a 01 01  12 01 02  1a 01 03",
    );
    check(
        &common::OrdererBlockMetadata {
            last_config: Some(common::LastConfig { index: 9 }),
            consenter_metadata: vec![1],
        },
        "0a 02 0809  12 01 01",
    );
}

#[test]
fn proposal_side() {
    check(
        &peer::SignedProposal {
            proposal_bytes: vec![1],
            signature: vec![2],
        },
        "0a 01 01  12 01 02",
    );
    check(
        &peer::Proposal {
            header: vec![1],
            payload: vec![2],
            extension: vec![3],
        },
        "0a 01 01  12 01 02  1a 01 03",
    );
    // Field 1 is reserved: chaincode_id is field 2.
    check(
        &peer::ChaincodeHeaderExtension {
            chaincode_id: Some(peer::ChaincodeId {
                name: "cc".into(),
                ..Default::default()
            }),
        },
        "12 04 12 02 6363",
    );
    // TransientMap is field 2, a map entry message with key=1, value=2.
    check(
        &peer::ChaincodeProposalPayload {
            input: vec![5],
            transient_map: [("k".to_string(), vec![1])].into(),
        },
        "0a 01 05  12 06 0a016b 120101",
    );
    let spec = peer::ChaincodeSpec {
        r#type: peer::chaincode_spec::Type::Golang as i32,
        chaincode_id: Some(peer::ChaincodeId {
            name: "c".into(),
            ..Default::default()
        }),
        input: Some(peer::ChaincodeInput {
            args: vec![b"f".to_vec()],
            ..Default::default()
        }),
        timeout: 0,
    };
    check(&spec, "08 01  12 03 120163  1a 03 0a0166");
    check(
        &peer::ChaincodeInvocationSpec {
            chaincode_spec: Some(spec),
        },
        "0a 0c 0801 1203120163 1a030a0166",
    );
    check(
        &peer::ChaincodeId {
            path: "p".into(),
            name: "n".into(),
            version: "v".into(),
        },
        "0a 01 70  12 01 6e  1a 01 76",
    );
    check(
        &peer::ChaincodeInput {
            args: vec![b"f".to_vec()],
            decorations: [("d".to_string(), vec![2])].into(),
            is_init: true,
        },
        "0a 01 66  12 06 0a0164 120102  18 01",
    );
}

#[test]
fn response_side() {
    // Field 3 of ProposalResponse does not exist; response is field 4.
    check(
        &peer::ProposalResponse {
            version: 1,
            timestamp: None,
            response: Some(peer::Response {
                status: 200,
                ..Default::default()
            }),
            payload: vec![1],
            endorsement: Some(peer::Endorsement {
                endorser: vec![2],
                signature: vec![3],
            }),
            interest: Some(peer::ChaincodeInterest {
                chaincodes: vec![peer::ChaincodeCall {
                    name: "c".into(),
                    disregard_namespace_policy: true,
                    ..Default::default()
                }],
            }),
        },
        "08 01  22 03 08c801  2a 01 01  32 06 0a0102 120103  3a 07 0a05 0a0163 3001",
    );
    check(
        &peer::ProposalResponsePayload {
            proposal_hash: vec![1],
            extension: vec![2],
        },
        "0a 01 01  12 01 02",
    );
    // status 500 = varint f4 03.
    check(
        &peer::ChaincodeAction {
            results: vec![1],
            events: vec![2],
            response: Some(peer::Response {
                status: 500,
                message: "m".into(),
                payload: vec![],
            }),
            chaincode_id: Some(peer::ChaincodeId {
                name: "c".into(),
                ..Default::default()
            }),
        },
        "0a 01 01  12 01 02  1a 06 08f403 12016d  22 03 120163",
    );
}

#[test]
fn transaction_side() {
    check(
        &peer::TransactionAction {
            header: vec![1],
            payload: vec![2],
        },
        "0a 01 01  12 01 02",
    );
    check(
        &peer::ChaincodeActionPayload {
            chaincode_proposal_payload: vec![1],
            action: Some(peer::ChaincodeEndorsedAction {
                proposal_response_payload: vec![2],
                endorsements: vec![peer::Endorsement {
                    endorser: vec![3],
                    signature: vec![4],
                }],
            }),
        },
        "0a 01 01  12 0b 0a0102 1206 0a0103 120104",
    );
    check(
        &peer::ProcessedTransaction {
            transaction_envelope: Some(common::Envelope {
                payload: vec![1],
                signature: vec![],
            }),
            validation_code: peer::TxValidationCode::MvccReadConflict as i32,
        },
        "0a 03 0a0101  10 0b",
    );
    check(
        &peer::ChaincodeEvent {
            chaincode_id: "c".into(),
            tx_id: "t".into(),
            event_name: "e".into(),
            payload: vec![1],
        },
        "0a 01 63  12 01 74  1a 01 65  22 01 01",
    );
}

#[test]
fn chaincode_message_envelope() {
    let m = peer::ChaincodeMessage {
        r#type: peer::chaincode_message::Type::Completed as i32,
        timestamp: ts(1),
        payload: b"p".to_vec(),
        txid: "t".into(),
        proposal: Some(peer::SignedProposal {
            proposal_bytes: vec![1],
            signature: vec![2],
        }),
        chaincode_event: Some(peer::ChaincodeEvent {
            event_name: "e".into(),
            ..Default::default()
        }),
        channel_id: "c".into(),
    };
    check(
        &m,
        "08 06  12 02 0801  1a 01 70  22 01 74  2a 06 0a0101 120102  32 03 1a0165  3a 01 63",
    );
}

#[test]
fn shim_payloads() {
    check(
        &peer::GetState {
            key: "k".into(),
            collection: "c".into(),
        },
        "0a 01 6b  12 01 63",
    );
    check(
        &peer::PutState {
            key: "k".into(),
            value: vec![1],
            collection: "c".into(),
        },
        "0a 01 6b  12 01 01  1a 01 63",
    );
    // Field 2 of PutStateMetadata does not exist.
    check(
        &peer::PutStateMetadata {
            key: "k".into(),
            collection: "c".into(),
            metadata: Some(peer::StateMetadata {
                metakey: "m".into(),
                value: vec![1],
            }),
        },
        "0a 01 6b  1a 01 63  22 06 0a016d 120101",
    );
    check(
        &peer::GetStateByRange {
            start_key: "a".into(),
            end_key: "b".into(),
            collection: String::new(),
            metadata: vec![9],
        },
        "0a 01 61  12 01 62  22 01 09",
    );
    check(
        &peer::GetQueryResult {
            query: "q".into(),
            collection: "c".into(),
            metadata: vec![1],
        },
        "0a 01 71  12 01 63  1a 01 01",
    );
    check(
        &peer::QueryMetadata {
            page_size: 10,
            bookmark: "b".into(),
        },
        "08 0a  12 01 62",
    );
    check(
        &peer::QueryResponse {
            results: vec![peer::QueryResultBytes {
                result_bytes: vec![1],
            }],
            has_more: true,
            id: "i".into(),
            metadata: vec![2],
        },
        "0a 03 0a0101  10 01  1a 01 69  22 01 02",
    );
    check(
        &peer::QueryResponseMetadata {
            fetched_records_count: 3,
            bookmark: "b".into(),
        },
        "08 03  12 01 62",
    );
    check(
        &peer::GetStateMultiple {
            keys: vec!["a".into(), "b".into()],
            collection: "c".into(),
        },
        "0a 01 61  0a 01 62  12 01 63",
    );
    check(
        &peer::GetStateMultipleResult {
            values: vec![vec![1], vec![]],
        },
        "0a 01 01  0a 00",
    );
    check(
        &peer::WriteBatchState {
            rec: vec![peer::WriteRecord {
                key: "k".into(),
                value: vec![1],
                collection: "c".into(),
                metadata: Some(peer::StateMetadata {
                    metakey: "m".into(),
                    value: vec![],
                }),
                r#type: peer::write_record::Type::PutState as i32,
            }],
        },
        "0a 10 0a016b 120101 1a0163 2203 0a016d 2809",
    );
    // 1000 = varint e8 07, 300 = varint ac 02.
    check(
        &peer::ChaincodeAdditionalParams {
            use_write_batch: true,
            max_size_write_batch: 1000,
            use_get_multiple_keys: true,
            max_size_get_multiple_keys: 300,
        },
        "08 01  10 e807  18 01  20 ac02",
    );
    check(
        &peer::StateMetadataResult {
            entries: vec![peer::StateMetadata {
                metakey: "m".into(),
                value: vec![1],
            }],
        },
        "0a 06 0a016d 120101",
    );
}

#[test]
fn seek_info() {
    let s = orderer::SeekInfo {
        start: at_block(5),
        stop: Some(orderer::SeekPosition {
            r#type: Some(orderer::seek_position::Type::Newest(orderer::SeekNewest {})),
        }),
        behavior: orderer::seek_info::SeekBehavior::FailIfNotReady as i32,
        error_response: orderer::seek_info::SeekErrorResponse::BestEffort as i32,
        content_type: orderer::seek_info::SeekContentType::HeaderWithSig as i32,
    };
    check(&s, "0a 04 1a020805  12 02 0a00  18 01  20 01  28 01");
    check(
        &orderer::SeekPosition {
            r#type: Some(orderer::seek_position::Type::Oldest(orderer::SeekOldest {})),
        },
        "12 00",
    );
    check(
        &orderer::SeekPosition {
            r#type: Some(orderer::seek_position::Type::NextCommit(
                orderer::SeekNextCommit {},
            )),
        },
        "22 00",
    );
    // 200 = varint c8 01, 404 = varint 94 03.
    check(
        &orderer::BroadcastResponse {
            status: common::Status::Success as i32,
            info: "i".into(),
        },
        "08 c801  12 01 69",
    );
    check(
        &orderer::DeliverResponse {
            r#type: Some(orderer::deliver_response::Type::Status(
                common::Status::NotFound as i32,
            )),
        },
        "08 9403",
    );
}

#[test]
fn filtered_block() {
    let fb = peer::FilteredBlock {
        channel_id: "c".into(),
        number: 2,
        filtered_transactions: vec![filtered_transaction(
            "t",
            peer::TxValidationCode::MvccReadConflict,
            Some(peer::ChaincodeEvent {
                event_name: "e".into(),
                ..Default::default()
            }),
        )],
    };
    // Field 3 of FilteredBlock does not exist; transactions are field 4.
    let fb_hex = "0a 01 63  10 02  22 10 0a0174 1003 180b 2207 0a05 0a03 1a0165";
    check(&fb, fb_hex);
    check(
        &peer::DeliverResponse {
            r#type: Some(peer::deliver_response::Type::FilteredBlock(fb)),
        },
        &format!("1a 17 {fb_hex}"),
    );
    check(
        &peer::BlockAndPrivateData {
            block: Some(common::Block::default()),
            private_data_map: [(
                3u64,
                rwset::TxPvtReadWriteSet {
                    data_model: 0,
                    ns_pvt_rwset: vec![rwset::NsPvtReadWriteSet {
                        namespace: "n".into(),
                        collection_pvt_rwset: vec![],
                    }],
                },
            )]
            .into(),
        },
        // Map entry: key (field 1) = 3, value (field 2) = the private rwset.
        "0a 00  12 09 0803 1205 12030a016e",
    );
}

#[test]
fn gateway_messages() {
    check(
        &gateway::EndorseRequest {
            transaction_id: "t".into(),
            channel_id: "c".into(),
            proposed_transaction: Some(peer::SignedProposal {
                proposal_bytes: vec![1],
                signature: vec![2],
            }),
            endorsing_organizations: vec!["O".into()],
        },
        "0a 01 74  12 01 63  1a 06 0a0101 120102  22 01 4f",
    );
    check(
        &gateway::SubmitRequest {
            transaction_id: "t".into(),
            channel_id: "c".into(),
            prepared_transaction: Some(common::Envelope {
                payload: vec![1],
                signature: vec![],
            }),
        },
        "0a 01 74  12 01 63  1a 03 0a0101",
    );
    check(
        &gateway::CommitStatusRequest {
            transaction_id: "t".into(),
            channel_id: "c".into(),
            identity: vec![1],
        },
        "0a 01 74  12 01 63  1a 01 01",
    );
    check(
        &gateway::CommitStatusResponse {
            result: peer::TxValidationCode::MvccReadConflict as i32,
            block_number: 3,
        },
        "08 0b  10 03",
    );
    check(
        &gateway::EvaluateRequest {
            transaction_id: "t".into(),
            channel_id: String::new(),
            proposed_transaction: None,
            target_organizations: vec!["O".into()],
        },
        "0a 01 74  22 01 4f",
    );
    check(
        &gateway::ChaincodeEventsRequest {
            channel_id: "c".into(),
            chaincode_id: "cc".into(),
            identity: vec![1],
            start_position: Some(orderer::SeekPosition {
                r#type: Some(orderer::seek_position::Type::NextCommit(
                    orderer::SeekNextCommit {},
                )),
            }),
            after_transaction_id: "t".into(),
        },
        "0a 01 63  12 02 6363  1a 01 01  22 02 2200  2a 01 74",
    );
    check(
        &gateway::ChaincodeEventsResponse {
            events: vec![peer::ChaincodeEvent::default()],
            block_number: 4,
        },
        "0a 00  10 04",
    );
    check(
        &gateway::SignedChaincodeEventsRequest {
            request: vec![1],
            signature: vec![2],
        },
        "0a 01 01  12 01 02",
    );
    check(
        &gateway::ErrorDetail {
            address: "a".into(),
            msp_id: "m".into(),
            message: "x".into(),
        },
        "0a 01 61  12 01 6d  1a 01 78",
    );
    check(
        &gateway::ProposedTransaction {
            transaction_id: "t".into(),
            proposal: Some(peer::SignedProposal::default()),
            endorsing_organizations: vec!["O".into()],
        },
        "0a 01 74  12 00  1a 01 4f",
    );
    check(
        &gateway::PreparedTransaction {
            transaction_id: "t".into(),
            envelope: Some(common::Envelope::default()),
        },
        "0a 01 74  12 00",
    );
}

#[test]
fn ledger_messages() {
    let read = kvrwset::KvRead {
        key: "k".into(),
        version: Some(kvrwset::Version {
            block_num: 1,
            tx_num: 2,
        }),
    };
    check(&read, "0a 01 6b  12 04 0801 1002");
    check(
        &kvrwset::KvrwSet {
            reads: vec![read.clone()],
            range_queries_info: vec![kvrwset::RangeQueryInfo {
                start_key: "a".into(),
                end_key: "b".into(),
                itr_exhausted: true,
                reads_info: Some(kvrwset::range_query_info::ReadsInfo::RawReads(
                    kvrwset::QueryReads {
                        kv_reads: vec![read],
                    },
                )),
            }],
            writes: vec![kvrwset::KvWrite {
                key: "k".into(),
                is_delete: true,
                value: vec![1],
            }],
            metadata_writes: vec![kvrwset::KvMetadataWrite {
                key: "k".into(),
                entries: vec![kvrwset::KvMetadataEntry {
                    name: "n".into(),
                    value: vec![],
                }],
            }],
        },
        "0a 09 0a016b 12040801 1002  \
         12 15 0a0161 120162 1801 220b 0a09 0a016b 120408011002  \
         1a 08 0a016b 1001 1a0101  \
         22 08 0a016b 1203 0a016e",
    );
    check(
        &kvrwset::HashedRwSet {
            hashed_reads: vec![kvrwset::KvReadHash {
                key_hash: vec![1],
                version: None,
            }],
            hashed_writes: vec![kvrwset::KvWriteHash {
                key_hash: vec![2],
                is_delete: false,
                value_hash: vec![3],
                is_purge: true,
            }],
            metadata_writes: vec![kvrwset::KvMetadataWriteHash {
                key_hash: vec![4],
                entries: vec![],
            }],
        },
        "0a 03 0a0101  12 08 0a0102 1a0103 2001  1a 03 0a0104",
    );
    check(
        &kvrwset::QueryReadsMerkleSummary {
            max_degree: 1,
            max_level: 2,
            max_level_hashes: vec![vec![3]],
        },
        "08 01  10 02  1a 01 03",
    );
    check(
        &kvrwset::RangeQueryInfo {
            reads_info: Some(kvrwset::range_query_info::ReadsInfo::ReadsMerkleHashes(
                kvrwset::QueryReadsMerkleSummary::default(),
            )),
            ..Default::default()
        },
        "2a 00",
    );
    check(
        &rwset::TxReadWriteSet {
            data_model: rwset::tx_read_write_set::DataModel::Kv as i32,
            ns_rwset: vec![rwset::NsReadWriteSet {
                namespace: "n".into(),
                rwset: vec![1],
                collection_hashed_rwset: vec![rwset::CollectionHashedReadWriteSet {
                    collection_name: "c".into(),
                    hashed_rwset: vec![2],
                    pvt_rwset_hash: vec![3],
                }],
            }],
        },
        "12 11 0a016e 120101 1a09 0a0163 120102 1a0103",
    );
    check(
        &rwset::TxPvtReadWriteSet {
            data_model: 0,
            ns_pvt_rwset: vec![rwset::NsPvtReadWriteSet {
                namespace: "n".into(),
                collection_pvt_rwset: vec![rwset::CollectionPvtReadWriteSet {
                    collection_name: "c".into(),
                    rwset: vec![1],
                }],
            }],
        },
        "12 0b 0a016e 1206 0a0163 120101",
    );
    check(
        &queryresult::Kv {
            namespace: "n".into(),
            key: "k".into(),
            value: vec![1],
        },
        "0a 01 6e  12 01 6b  1a 01 01",
    );
    check(
        &queryresult::KeyModification {
            tx_id: "t".into(),
            value: vec![1],
            timestamp: ts(2),
            is_delete: true,
        },
        "0a 01 74  12 01 01  1a 02 0802  20 01",
    );
}

#[test]
fn policies() {
    check(
        &common::SignaturePolicyEnvelope {
            version: 0,
            rule: Some(common::SignaturePolicy {
                r#type: Some(common::signature_policy::Type::NOutOf(
                    common::signature_policy::NOutOf {
                        n: 1,
                        rules: vec![common::SignaturePolicy {
                            r#type: Some(common::signature_policy::Type::SignedBy(0)),
                        }],
                    },
                )),
            }),
            identities: vec![common::MspPrincipal {
                principal_classification: common::msp_principal::Classification::Identity as i32,
                principal: vec![1],
            }],
        },
        "12 08 1206 0801 1202 0800  1a 05 0802 120101",
    );
}
