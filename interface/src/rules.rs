//! The id rules and the one parser of "32 bytes as lower-case hex".

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::limits::{MAX_CATEGORY_BYTES, MAX_FHIR_ID_BYTES, MAX_MSP_ID_BYTES, MAX_NAME_BYTES};

/// The privilege `SubmitRequest` needs: a requester holding it may ask
/// other networks for a patient's history.
pub const PRIVILEGE_REQUEST: &str = "request";

/// Every privilege a requester can hold. A requester registered with none
/// stays bound to their code but may not request (a suspension that keeps
/// their history attributable).
pub const PRIVILEGES: &[&str] = &[PRIVILEGE_REQUEST];

/// A network id or requester code: 1 to 64 of `A-Z a-z 0-9 - . _`.
pub fn is_name(name: &str) -> bool {
    (1..=MAX_NAME_BYTES).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
}

/// What [`is_name`] accepts, for messages.
pub const NAME_RULE: &str = "1 to 64 of A-Z a-z 0-9 - . _";

/// A FHIR id (a record id): 1 to 64 of `A-Z a-z 0-9 - .`.
pub fn is_fhir_id(id: &str) -> bool {
    (1..=MAX_FHIR_ID_BYTES).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.'))
}

/// What [`is_fhir_id`] accepts, for messages.
pub const FHIR_ID_RULE: &str = "1 to 64 of A-Z a-z 0-9 - .";

/// A record's id on the ledger: its resource type, a slash and its FHIR
/// id (`Observation/1`), unique per network, so `Observation/1` and
/// `Condition/1` are two records.
pub fn record_id(resource_type: &str, id: &str) -> String {
    format!("{resource_type}/{id}")
}

/// The resource type and FHIR id of a well-formed record id, if it is one.
pub fn split_record_id(record_id: &str) -> Option<(&str, &str)> {
    let (resource_type, id) = record_id.split_once('/')?;
    (is_category(resource_type) && is_fhir_id(id)).then_some((resource_type, id))
}

/// What [`split_record_id`] accepts, for messages.
pub const RECORD_ID_RULE: &str =
    "Type/id: a FHIR resource type name, a slash, a FHIR id (1 to 64 of A-Z a-z 0-9 - .)";

/// A category: a FHIR resource type name, an upper-case ASCII letter then
/// ASCII letters, at most 64.
pub fn is_category(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_uppercase())
        && name.len() <= MAX_CATEGORY_BYTES
        && bytes.all(|b| b.is_ascii_alphabetic())
}

/// A request id: a lower-case hyphenated UUID v4 (version nibble 4,
/// variant 8, 9, a or b).
pub fn is_request_id(id: &str) -> bool {
    let bytes = id.as_bytes();
    bytes.len() == 36
        && bytes.iter().enumerate().all(|(i, &b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            14 => b == b'4',
            19 => matches!(b, b'8' | b'9' | b'a' | b'b'),
            _ => matches!(b, b'0'..=b'9' | b'a'..=b'f'),
        })
}

/// An MSP id: 1 to 128 characters, none a control character.
pub fn is_msp_id(msp_id: &str) -> bool {
    (1..=MAX_MSP_ID_BYTES).contains(&msp_id.len()) && !msp_id.chars().any(char::is_control)
}

/// Whether `privileges` are all known and none is listed twice; `Err`
/// names the first offender.
pub fn check_privileges(privileges: &[String]) -> Result<(), PrivilegeError> {
    for (index, privilege) in privileges.iter().enumerate() {
        if !PRIVILEGES.contains(&privilege.as_str()) {
            return Err(PrivilegeError::Unknown(crate::quote(privilege)));
        }
        if privileges[..index].contains(privilege) {
            return Err(PrivilegeError::Repeated(crate::quote(privilege)));
        }
    }
    Ok(())
}

/// Why a privilege list is refused (the privilege quoted, cut short).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrivilegeError {
    /// Not one of [`PRIVILEGES`].
    #[error("{0} is not a privilege (known: {PRIVILEGES:?})")]
    Unknown(String),
    /// Listed twice.
    #[error("{0} is listed twice")]
    Repeated(String),
}

/// 32 bytes written as exactly 64 lower-case hex digits: patient refs,
/// SHA-256 hashes, Ed25519 network keys and X25519 encryption keys in JSON.
/// One spelling per value, so equal keys compare equal as text on the
/// ledger.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key32([u8; 32]);

/// Why text is not a [`Key32`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Key32Error {
    /// Not 64 characters long.
    #[error("is {0} bytes long, expected 64 lower-case hex digits (32 bytes)")]
    Length(usize),
    /// A character other than `0-9 a-f`.
    #[error("has a character other than 0-9 a-f at byte {0}")]
    Digit(usize),
}

impl Key32 {
    /// The key of these bytes.
    pub const fn new(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// Parses 64 lower-case hex digits; nothing else (no upper case, no
    /// whitespace, no prefix).
    pub fn parse(text: &str) -> Result<Self, Key32Error> {
        let digits = text.as_bytes();
        if digits.len() != 64 {
            return Err(Key32Error::Length(digits.len()));
        }
        let nibble = |at: usize| -> Result<u8, Key32Error> {
            match digits.get(at) {
                Some(&b @ b'0'..=b'9') => Ok(b - b'0'),
                Some(&b @ b'a'..=b'f') => Ok(b - b'a' + 10),
                _ => Err(Key32Error::Digit(at)),
            }
        };
        let mut bytes = [0u8; 32];
        for (index, byte) in bytes.iter_mut().enumerate() {
            *byte = (nibble(2 * index)? << 4) | nibble(2 * index + 1)?;
        }
        Ok(Self(bytes))
    }

    /// The 32 bytes.
    pub const fn bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The 64 lower-case hex digits.
    pub fn to_hex(&self) -> String {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut text = String::with_capacity(64);
        for byte in self.0 {
            text.push(char::from(DIGITS[usize::from(byte >> 4)]));
            text.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
        }
        text
    }
}

impl From<[u8; 32]> for Key32 {
    fn from(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }
}

impl std::str::FromStr for Key32 {
    type Err = Key32Error;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

impl fmt::Display for Key32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Key32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Key32({})", self.to_hex())
    }
}

impl Serialize for Key32 {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Key32 {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A string rule's name, the rule, what it accepts and what it refuses.
    type RuleCase<'a> = (&'a str, fn(&str) -> bool, &'a [&'a str], &'a [&'a str]);

    /// Each string rule: what it accepts, then what it refuses.
    #[test]
    fn string_rules_accept_and_refuse() {
        let (a64, a65) = ("a".repeat(64), "a".repeat(65));
        let long_category = format!("A{}", "a".repeat(64));
        let long_msp_id = "M".repeat(129);
        let rules: [RuleCase<'_>; 5] = [
            (
                "names",
                is_name,
                &["net1", "DR-1.a_b", &a64],
                &["", &a65, "net 1", "net\u{0}1", "né"],
            ),
            (
                "FHIR ids (no underscores)",
                is_fhir_id,
                &["obs-1.2"],
                &["obs_1", "", &a65],
            ),
            (
                "categories (resource type names)",
                is_category,
                &["Observation"],
                &["observation", "Obs1", "", &long_category],
            ),
            (
                "request ids (lower-case UUID v4)",
                is_request_id,
                &["0f8fad5b-d9cb-469f-a165-70867728950e"],
                &[
                    "0F8FAD5B-D9CB-469F-A165-70867728950E",
                    "0f8fad5b-d9cb-169f-a165-70867728950e",
                    "0f8fad5b-d9cb-469f-c165-70867728950e",
                    "0f8fad5bd9cb469fa16570867728950e",
                ],
            ),
            (
                "MSP ids (no control characters)",
                is_msp_id,
                &["Net1Org1MSP"],
                &["", "a\nb", &long_msp_id],
            ),
        ];
        for (what, rule, accepted, refused) in rules {
            for text in accepted {
                assert!(rule(text), "{what}: {text:?} refused");
            }
            for text in refused {
                assert!(!rule(text), "{what}: {text:?} accepted");
            }
        }
    }

    #[test]
    fn privileges_are_known_and_distinct() {
        assert_eq!(check_privileges(&[]), Ok(()));
        assert_eq!(check_privileges(&["request".into()]), Ok(()));
        assert!(matches!(
            check_privileges(&["request_history".into()]),
            Err(PrivilegeError::Unknown(_))
        ));
        assert!(matches!(
            check_privileges(&["request".into(), "request".into()]),
            Err(PrivilegeError::Repeated(_))
        ));
    }

    #[test]
    fn key32_has_one_spelling() {
        let text = "00ff".repeat(16);
        let key = Key32::parse(&text).unwrap();
        assert_eq!(key.bytes()[1], 0xff);
        assert_eq!(key.to_hex(), text);
        assert_eq!(
            Key32::parse(&text.to_uppercase()),
            Err(Key32Error::Digit(2))
        );
        assert_eq!(Key32::parse(&text[..62]), Err(Key32Error::Length(62)));
        assert_eq!(
            Key32::parse(&format!(" {}", &text[1..])),
            Err(Key32Error::Digit(0))
        );
        assert_eq!(Key32::parse(&"é".repeat(32)), Err(Key32Error::Digit(0)));
        let json = serde_json::to_string(&key).unwrap();
        assert_eq!(json, format!("\"{text}\""));
        assert_eq!(serde_json::from_str::<Key32>(&json).unwrap(), key);
        assert!(serde_json::from_str::<Key32>("\"00\"").is_err());
    }
}
