//! Fabric's composite keys: `U+0000 objectType U+0000 attr U+0000 ...`.
//!
//! The encoding must match Fabric's byte for byte, because keys written by a
//! Go or Node chaincode and keys written here share one namespace on the
//! ledger, and partial-key range queries rely on the layout: every key that
//! starts with a given prefix sorts between the prefix and the prefix
//! followed by U+10FFFF, the largest code point, which is why neither
//! delimiter may appear inside an attribute. Rust strings are always valid
//! UTF-8, so Fabric's UTF-8 check holds by construction.

/// Opens every composite key, so simple keys can never collide with one.
pub const NAMESPACE: char = '\u{0}';
/// Ends the object type and every attribute.
const DELIMITER: char = '\u{0}';
/// The largest code point, the exclusive end of a partial-key range.
pub const MAX_RUNE: char = '\u{10FFFF}';

/// Why a composite key could not be built or split.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompositeKeyError {
    /// An object type or attribute contains U+0000 or U+10FFFF.
    #[error(
        "{value:?} contains {forbidden:?} at byte {position}; U+0000 and U+10FFFF are not allowed in a composite key"
    )]
    ForbiddenCharacter {
        /// The object type or attribute.
        value: String,
        /// The forbidden character.
        forbidden: char,
        /// Its byte offset in `value`.
        position: usize,
    },
    /// The string to split does not have the composite key layout.
    #[error("{0:?} is not a composite key")]
    NotComposite(String),
}

/// Builds the composite key of `object_type` and `attributes`.
pub fn create(object_type: &str, attributes: &[&str]) -> Result<String, CompositeKeyError> {
    validate(object_type)?;
    let mut key = String::with_capacity(
        2 + object_type.len() + attributes.iter().map(|a| a.len() + 1).sum::<usize>(),
    );
    key.push(NAMESPACE);
    key.push_str(object_type);
    key.push(DELIMITER);
    for attribute in attributes {
        validate(attribute)?;
        key.push_str(attribute);
        key.push(DELIMITER);
    }
    Ok(key)
}

/// Splits a composite key into its object type and attributes.
pub fn split(key: &str) -> Result<(String, Vec<String>), CompositeKeyError> {
    let not_composite = || CompositeKeyError::NotComposite(key.to_owned());
    let body = key.strip_prefix(NAMESPACE).ok_or_else(not_composite)?;
    let body = body.strip_suffix(DELIMITER).ok_or_else(not_composite)?;
    let mut parts = body.split(DELIMITER).map(str::to_owned);
    let object_type = parts.next().ok_or_else(not_composite)?;
    Ok((object_type, parts.collect()))
}

/// The `[start, end)` range holding every key that begins with the partial
/// composite key of `object_type` and `attributes`.
pub fn partial_range(
    object_type: &str,
    attributes: &[&str],
) -> Result<(String, String), CompositeKeyError> {
    let start = create(object_type, attributes)?;
    let mut end = start.clone();
    end.push(MAX_RUNE);
    Ok((start, end))
}

fn validate(value: &str) -> Result<(), CompositeKeyError> {
    match value
        .char_indices()
        .find(|&(_, c)| c == DELIMITER || c == MAX_RUNE)
    {
        Some((position, forbidden)) => Err(CompositeKeyError::ForbiddenCharacter {
            value: value.to_owned(),
            forbidden,
            position,
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_like_fabric() {
        let key = create("record", &["patient-1", "42"]).unwrap();
        assert_eq!(key, "\u{0}record\u{0}patient-1\u{0}42\u{0}");
        assert_eq!(create("t", &[]).unwrap(), "\u{0}t\u{0}");
    }

    #[test]
    fn splits_what_it_creates() {
        let key = create("record", &["a", "", "ü"]).unwrap();
        let (object_type, attributes) = split(&key).unwrap();
        assert_eq!(object_type, "record");
        assert_eq!(attributes, ["a", "", "ü"]);
        assert_eq!(
            split(&create("t", &[]).unwrap()).unwrap(),
            ("t".to_owned(), vec![])
        );
    }

    #[test]
    fn rejects_forbidden_characters() {
        assert_eq!(
            create("rec\u{0}ord", &[]),
            Err(CompositeKeyError::ForbiddenCharacter {
                value: "rec\u{0}ord".into(),
                forbidden: '\u{0}',
                position: 3
            })
        );
        assert!(matches!(
            create("record", &["ok", "x\u{10FFFF}"]),
            Err(CompositeKeyError::ForbiddenCharacter {
                forbidden: '\u{10FFFF}',
                position: 1,
                ..
            })
        ));
    }

    #[test]
    fn refuses_to_split_simple_keys() {
        for key in ["plain", "", "\u{0}", "\u{0}unterminated"] {
            assert_eq!(
                split(key),
                Err(CompositeKeyError::NotComposite(key.into())),
                "{key:?}"
            );
        }
    }

    #[test]
    fn partial_range_covers_exactly_the_prefix() {
        let (start, end) = partial_range("record", &["p1"]).unwrap();
        let inside = create("record", &["p1", "zzz"]).unwrap();
        let sibling = create("record", &["p10"]).unwrap();
        assert!(start <= inside && inside < end);
        assert!(!(start <= sibling && sibling < end));
    }
}
