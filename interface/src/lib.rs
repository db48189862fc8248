//! The `ehrx` contract's interface, written once and compiled into both
//! the chaincode and the client SDK, so the two cannot drift: a renamed
//! function, a changed field or limit, or a new error code is a change
//! here that both sides pick up (or fail to compile against).
//!
//! - [`names`]: the chaincode, function and event names and the transient key;
//! - [`limits`]: every size, length and range the contract enforces;
//! - [`rules`]: the id rules and [`Key32`], the one parser of 32-byte hex;
//! - [`types`]: the JSON arguments and results, all refusing unknown fields;
//! - [`code`]: the stable [`ErrorCode`]s and their wire form, so clients
//!   decide by code, never by wording;
//! - [`consent`]: the FHIR R4 `Consent` resources the contract reads and
//!   the rule deciding whether one permits a disclosure;
//! - [`fhir`]: the shape of FHIR R4 JSON every record must have, checked
//!   by the contract and, before it submits, by the SDK;
//! - [`json`]: the one strict JSON reader (objects only, no duplicate
//!   keys, bounded depth and size, bounded error messages).
//!
//! `chaincode/INTERFACE.md` documents the same interface for people; a
//! test here checks it names every function and every code.

pub mod code;
pub mod consent;
pub mod fhir;
pub mod json;
pub mod limits;
pub mod names;
pub mod rules;
pub mod types;

pub use code::{ContractFailure, ErrorCode, quote};
pub use json::{InterfaceError, parse_object, parse_object_within, parse_record};
pub use rules::Key32;

#[cfg(test)]
mod docs_tests;
