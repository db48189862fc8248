//! `chaincode/INTERFACE.md` is the interface's description for people; it
//! must name every function, event and error code this crate defines.

use crate::{
    ErrorCode,
    names::{event, function},
};

const INTERFACE_MD: &str = include_str!("../../chaincode/INTERFACE.md");

#[test]
fn interface_md_lists_every_function_event_and_code() {
    let missing: Vec<String> = function::ALL
        .iter()
        .chain(event::ALL)
        .copied()
        .chain(ErrorCode::ALL.iter().map(|code| code.as_str()))
        .filter(|name| !INTERFACE_MD.contains(&format!("`{name}`")))
        .map(str::to_owned)
        .collect();
    assert!(missing.is_empty(), "INTERFACE.md does not name {missing:?}");
}
