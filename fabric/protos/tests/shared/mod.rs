//! What the wire-vector and round-trip tests build alike.

use hlf_protos::{
    common::HeaderType,
    orderer::{SeekPosition, SeekSpecified, seek_position::Type},
    peer::{
        ChaincodeEvent, FilteredChaincodeAction, FilteredTransaction, FilteredTransactionActions,
        TxValidationCode, filtered_transaction::Data,
    },
};

/// The seek position of block `number`.
pub fn at_block(number: u64) -> Option<SeekPosition> {
    Some(SeekPosition {
        r#type: Some(Type::Specified(SeekSpecified { number })),
    })
}

/// Endorser transaction `txid` of a filtered block, validated with `code`,
/// with `event` (if any) as its one chaincode action.
pub fn filtered_transaction(
    txid: &str,
    code: TxValidationCode,
    event: Option<ChaincodeEvent>,
) -> FilteredTransaction {
    FilteredTransaction {
        txid: txid.into(),
        r#type: HeaderType::EndorserTransaction as i32,
        tx_validation_code: code as i32,
        data: event.map(|event| {
            Data::TransactionActions(FilteredTransactionActions {
                chaincode_actions: vec![FilteredChaincodeAction {
                    chaincode_event: Some(event),
                }],
            })
        }),
    }
}
