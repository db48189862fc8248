//! The one strict JSON reader for everything the contract parses from a
//! caller: JSON arguments ([`parse_object`]) and FHIR records
//! ([`parse_record`]).
//!
//! serde's derived `Deserialize` takes a JSON array for a struct (fields
//! by position) and keeps the last of two equal keys, so `["net1",100,60]`
//! passed for a configuration object and `{"id":"a","id":"b"}` was read as
//! `b` while a hash or a human saw `a`. This reader first builds the value
//! with its own visitor, which refuses a repeated key at any depth and
//! nesting deeper than [`MAX_JSON_DEPTH`]; then it requires an object at
//! the top and, for arguments, refuses fields the target type does not
//! name. Every error quotes at most a short prefix of the input.

use std::cell::RefCell;
use std::fmt;

use serde::de::{
    self, DeserializeOwned, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor,
};
use serde_json::{Map, Value};

use crate::{
    code::{ContractFailure, ErrorCode, quote, truncate},
    limits::{MAX_CONFIG_FILE_BYTES, MAX_JSON_ARGUMENT_BYTES, MAX_JSON_DEPTH, MAX_RECORD_BYTES},
};

/// How much of a parser's own message an error keeps, in bytes.
const MAX_PARSER_REASON_BYTES: usize = 200;

/// Why a JSON argument or record is refused. `what` names the argument.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InterfaceError {
    /// Larger than its limit.
    #[error("{what} is {size} bytes, larger than the limit of {limit}")]
    TooLarge {
        /// The argument.
        what: &'static str,
        /// Its size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// Not well-formed JSON (or not UTF-8).
    #[error("{what} is not well-formed JSON: {reason}")]
    Malformed {
        /// The argument.
        what: &'static str,
        /// The parser's complaint, cut short.
        reason: String,
    },
    /// Not an object at the top.
    #[error("{what} must be a JSON object, not {found}")]
    NotAnObject {
        /// The argument.
        what: &'static str,
        /// What it is instead.
        found: &'static str,
    },
    /// An object repeats a key.
    #[error("{what} repeats the key {key}")]
    DuplicateKey {
        /// The argument.
        what: &'static str,
        /// The key, quoted and cut short.
        key: String,
    },
    /// Nested too deep.
    #[error("{what} nests arrays and objects deeper than {MAX_JSON_DEPTH} levels")]
    TooDeep {
        /// The argument.
        what: &'static str,
    },
    /// A field the type does not have.
    #[error("{what} has the unknown field {field}")]
    UnknownField {
        /// The argument.
        what: &'static str,
        /// The field, quoted and cut short.
        field: String,
    },
    /// Well-formed, but not the expected shape (a missing field, a wrong
    /// type, an unknown enum value).
    #[error("{what} is not the expected JSON: {reason}")]
    Shape {
        /// The argument.
        what: &'static str,
        /// The deserialiser's complaint, cut short.
        reason: String,
    },
}

impl InterfaceError {
    /// The code a caller acts on.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::TooLarge { .. } => ErrorCode::TooLarge,
            Self::Malformed { .. } | Self::Shape { .. } => ErrorCode::BadArgument,
            Self::NotAnObject { .. } => ErrorCode::NotAnObject,
            Self::DuplicateKey { .. } => ErrorCode::DuplicateKey,
            Self::TooDeep { .. } => ErrorCode::TooDeep,
            Self::UnknownField { .. } => ErrorCode::UnknownField,
        }
    }

    /// The refusal the contract returns.
    pub fn failure(&self) -> ContractFailure {
        ContractFailure::new(self.code(), self)
    }
}

/// Parses a JSON argument into `T`: at most [`MAX_JSON_ARGUMENT_BYTES`],
/// an object at the top, no repeated key at any depth, at most
/// [`MAX_JSON_DEPTH`] levels, no field `T` does not name.
pub fn parse_object<T: DeserializeOwned>(
    what: &'static str,
    bytes: &[u8],
) -> Result<T, InterfaceError> {
    parse_object_within(what, bytes, MAX_JSON_ARGUMENT_BYTES)
}

/// As [`parse_object`], for an argument whose limit is `limit` bytes
/// (`PutEhr`'s metadata lists up to thousands of record ids).
pub fn parse_object_within<T: DeserializeOwned>(
    what: &'static str,
    bytes: &[u8],
    limit: usize,
) -> Result<T, InterfaceError> {
    let object = parse_strict(what, bytes, limit)?;
    let unknown = RefCell::new(None);
    let failed = RefCell::new(None);
    T::deserialize(Strict {
        value: Value::Object(object),
        top: Some(Top {
            unknown: &unknown,
            failed: &failed,
        }),
    })
    .map_err(|error| match (unknown.take(), failed.take()) {
        (Some(field), _) => InterfaceError::UnknownField { what, field },
        (None, Some(field)) => InterfaceError::Shape {
            what,
            reason: truncate(&format!("field {field}: {error}"), MAX_PARSER_REASON_BYTES),
        },
        (None, None) => InterfaceError::Shape {
            what,
            reason: truncate(&error.to_string(), MAX_PARSER_REASON_BYTES),
        },
    })
}

/// Parses a configuration file (the relay's, a responder's, the CLI's
/// setup file) into `T` with the same rules as [`parse_object`], up to
/// [`MAX_CONFIG_FILE_BYTES`].
pub fn parse_config<T: DeserializeOwned>(
    what: &'static str,
    bytes: &[u8],
) -> Result<T, InterfaceError> {
    parse_object_within(what, bytes, MAX_CONFIG_FILE_BYTES)
}

/// Parses a FHIR record: at most [`MAX_RECORD_BYTES`], an object at the
/// top, no repeated key at any depth, at most [`MAX_JSON_DEPTH`] levels.
pub fn parse_record(bytes: &[u8]) -> Result<Map<String, Value>, InterfaceError> {
    parse_strict("the record", bytes, MAX_RECORD_BYTES)
}

fn parse_strict(
    what: &'static str,
    bytes: &[u8],
    limit: usize,
) -> Result<Map<String, Value>, InterfaceError> {
    if bytes.len() > limit {
        return Err(InterfaceError::TooLarge {
            what,
            size: bytes.len(),
            limit,
        });
    }
    let refusal = RefCell::new(None);
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let parsed = Checked {
        depth: 1,
        refusal: &refusal,
    }
    .deserialize(&mut deserializer)
    .and_then(|value| deserializer.end().map(|()| value));
    let value = match (parsed, refusal.take()) {
        (_, Some(Refusal::Duplicate(key))) => {
            return Err(InterfaceError::DuplicateKey { what, key });
        }
        (_, Some(Refusal::TooDeep)) => return Err(InterfaceError::TooDeep { what }),
        (Err(error), None) => {
            return Err(InterfaceError::Malformed {
                what,
                reason: truncate(&error.to_string(), MAX_PARSER_REASON_BYTES),
            });
        }
        (Ok(value), None) => value,
    };
    match value {
        Value::Object(object) => Ok(object),
        other => Err(InterfaceError::NotAnObject {
            what,
            found: kind(&other),
        }),
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// What the visitor refused, kept aside because serde's error type only
/// carries text.
enum Refusal {
    Duplicate(String),
    TooDeep,
}

/// Builds a [`Value`] at nesting `depth` (the top is 1), refusing repeated
/// keys and containers deeper than [`MAX_JSON_DEPTH`].
#[derive(Clone, Copy)]
struct Checked<'a> {
    depth: usize,
    refusal: &'a RefCell<Option<Refusal>>,
}

impl Checked<'_> {
    fn child(self) -> Self {
        Self {
            depth: self.depth + 1,
            ..self
        }
    }

    fn enter<E: de::Error>(self) -> Result<(), E> {
        if self.depth > MAX_JSON_DEPTH {
            self.refusal.replace(Some(Refusal::TooDeep));
            return Err(E::custom("nested too deep"));
        }
        Ok(())
    }
}

impl<'de> DeserializeSeed<'de> for Checked<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Checked<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<Value, E> {
        Ok(Value::Bool(value))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Value, E> {
        Ok(Value::from(value))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Value, E> {
        Ok(Value::from(value))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Value, E> {
        // Only reached without `arbitrary_precision` (see visit_map).
        serde_json::Number::from_f64(value)
            .map(Value::Number)
            .ok_or_else(|| E::custom("a number that is not finite"))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Value, E> {
        Ok(Value::String(value.to_owned()))
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<Value, E> {
        Ok(Value::String(value))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        self.enter()?;
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(self.child())? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        let Some(first) = map.next_key::<String>()? else {
            self.enter()?;
            return Ok(Value::Object(object));
        };
        // With `arbitrary_precision`, serde_json hands every number to
        // `deserialize_any` visitors as a one-entry map under a private
        // key, the text as an owned string: kept as it is, never read as
        // f64. The same key spelled in a document is refused (NumberText).
        if first == NUMBER_TOKEN {
            let text = map.next_value_seed(NumberText)?;
            return text
                .parse::<serde_json::Number>()
                .map(Value::Number)
                .map_err(|e| de::Error::custom(format!("a malformed number: {e}")));
        }
        self.enter()?;
        let mut key = Some(first);
        while let Some(name) = key {
            if object.contains_key(&name) {
                self.refusal.replace(Some(Refusal::Duplicate(quote(&name))));
                return Err(de::Error::custom("a repeated key"));
            }
            let value = map.next_value_seed(self.child())?;
            object.insert(name, value);
            key = map.next_key::<String>()?;
        }
        Ok(Value::Object(object))
    }
}

/// The key under which serde_json's `arbitrary_precision` feature passes a
/// number to a `deserialize_any` visitor (a test below fails if it ever
/// changes: numbers would then stop parsing).
const NUMBER_TOKEN: &str = "$serde_json::private::Number";

/// A number's text, as serde_json passes it: an owned string. The key
/// [`NUMBER_TOKEN`] written in a document comes with a string read from
/// the document (borrowed or unescaped), which is refused, so an object
/// cannot pass for a number.
struct NumberText;

impl<'de> DeserializeSeed<'de> for NumberText {
    type Value = String;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<String, D::Error> {
        deserializer.deserialize_string(self)
    }
}

impl<'de> Visitor<'de> for NumberText {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a number")
    }

    fn visit_string<E: de::Error>(self, text: String) -> Result<String, E> {
        Ok(text)
    }

    fn visit_str<E: de::Error>(self, _text: &str) -> Result<String, E> {
        Err(E::custom(format!("the key {NUMBER_TOKEN:?} is reserved")))
    }
}

/// The entries of an object, each value read strictly ([`Strict`]); at
/// the top, remembering which field a value's error belongs to, so the
/// refusal can name it.
struct Entries<'a> {
    entries: serde_json::map::IntoIter,
    current: Option<(String, Value)>,
    failed: Option<&'a RefCell<Option<String>>>,
}

impl Entries<'_> {
    fn below(object: Map<String, Value>) -> Self {
        Entries {
            entries: object.into_iter(),
            current: None,
            failed: None,
        }
    }
}

impl<'de> MapAccess<'de> for Entries<'_> {
    type Error = serde_json::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Self::Error> {
        let Some((key, value)) = self.entries.next() else {
            return Ok(None);
        };
        let parsed =
            seed.deserialize(de::value::StrDeserializer::<serde_json::Error>::new(&key))?;
        self.current = Some((key, value));
        Ok(Some(parsed))
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, Self::Error> {
        let (key, value) = self
            .current
            .take()
            .ok_or_else(|| de::Error::custom("a value without its key"))?;
        seed.deserialize(Strict::below(value)).inspect_err(|_| {
            if let Some(failed) = self.failed {
                failed.replace(Some(quote(&key)));
            }
        })
    }
}

/// A value read strictly: a struct only from an object that names none
/// but its fields (serde's `Value` would take an array for a struct, by
/// position, and leave unknown fields to each type's
/// `deny_unknown_fields`), and the same for the values inside, at any
/// depth. At the top (`top`), the refusal of an unknown field, or of a
/// field's value, is kept aside, so that it names the field cut short
/// instead of echoing it whole.
struct Strict<'a> {
    value: Value,
    top: Option<Top<'a>>,
}

/// Where the top-level object's refusals are kept.
#[derive(Clone, Copy)]
struct Top<'a> {
    unknown: &'a RefCell<Option<String>>,
    failed: &'a RefCell<Option<String>>,
}

impl Strict<'_> {
    fn below(value: Value) -> Self {
        Strict { value, top: None }
    }
}

impl<'de> Deserializer<'de> for Strict<'_> {
    type Error = serde_json::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.value {
            Value::Array(items) => visitor.visit_seq(StrictItems(items.into_iter())),
            Value::Object(object) => visitor.visit_map(Entries::below(object)),
            other => other.deserialize_any(visitor),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        let Value::Object(object) = self.value else {
            return Err(de::Error::custom(format!(
                "expected a JSON object, found {}",
                kind(&self.value)
            )));
        };
        if let Some(field) = object.keys().find(|key| !fields.contains(&key.as_str())) {
            return Err(match self.top {
                Some(top) => {
                    top.unknown.replace(Some(quote(field)));
                    de::Error::custom("unknown field")
                }
                None => de::Error::custom(format!("unknown field {}", quote(field))),
            });
        }
        visitor.visit_map(Entries {
            entries: object.into_iter(),
            current: None,
            failed: self.top.map(|top| top.failed),
        })
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.value {
            Value::Null => visitor.visit_none(),
            other => visitor.visit_some(Strict::below(other)),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        // Unit variants are strings; a variant with data is a one-key
        // object, read by `Value` (its data is a number or a string here).
        self.value.deserialize_enum(name, variants, visitor)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple
        tuple_struct map identifier ignored_any
    }
}

/// The items of an array below the top, each read strictly.
struct StrictItems(std::vec::IntoIter<Value>);

impl<'de> SeqAccess<'de> for StrictItems {
    type Error = serde_json::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Self::Error> {
        self.0
            .next()
            .map(|value| seed.deserialize(Strict::below(value)))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;
    use crate::limits::MAX_ERROR_BYTES;

    #[derive(Debug, PartialEq, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Arg {
        name: String,
        #[serde(default)]
        count: u32,
        #[serde(default)]
        tags: Vec<String>,
    }

    fn parse(text: &str) -> Result<Arg, InterfaceError> {
        parse_object("arg", text.as_bytes())
    }

    #[test]
    fn an_object_parses() {
        assert_eq!(
            parse(r#"{"name":"a","count":2,"tags":["x"]}"#).unwrap(),
            Arg {
                name: "a".into(),
                count: 2,
                tags: vec!["x".into()]
            }
        );
    }

    #[derive(Debug, PartialEq, Deserialize)]
    struct Inner {
        msp_id: String,
        #[serde(default)]
        roots: Vec<String>,
    }

    #[derive(Debug, PartialEq, Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum Policy {
        All,
        AtLeast(u32),
    }

    #[derive(Debug, PartialEq, Deserialize)]
    struct Outer {
        orgs: Vec<Inner>,
        #[serde(default)]
        first: Option<Inner>,
        policy: Policy,
        #[serde(default)]
        extra: Option<serde_json::Value>,
    }

    #[test]
    fn nested_objects_are_read_as_strictly_as_the_top() {
        let ok = parse_object::<Outer>(
            "outer",
            br#"{"orgs":[{"msp_id":"A","roots":["r"]}],"first":{"msp_id":"B"},"policy":{"at_least":1},"extra":{"any":[1,{"x":null}]}}"#,
        )
        .unwrap();
        assert_eq!(ok.orgs[0].roots, ["r"]);
        assert_eq!(ok.first.unwrap().msp_id, "B");
        assert_eq!(ok.policy, Policy::AtLeast(1));
        assert_eq!(ok.extra.unwrap()["any"][1]["x"], Value::Null);
        let all = parse_object::<Outer>("outer", br#"{"orgs":[],"policy":"all"}"#).unwrap();
        assert_eq!(all.policy, Policy::All);

        for (text, named) in [
            // An array where a nested object goes, in a list and alone.
            (
                r#"{"orgs":[["A",["r"]]],"policy":"all"}"#,
                "expected a JSON object, found an array",
            ),
            (
                r#"{"orgs":[],"first":["B",[]],"policy":"all"}"#,
                "expected a JSON object, found an array",
            ),
            (
                r#"{"orgs":[{"msp_id":"A"},"A"],"policy":"all"}"#,
                "expected a JSON object, found a string",
            ),
            // A field the nested struct does not name, cut short when long.
            (
                r#"{"orgs":[{"msp_id":"A","rots":[]}],"policy":"all"}"#,
                "unknown field \"rots\"",
            ),
            (r#"{"orgs":[],"policy":{"at_least":"1"}}"#, "invalid type"),
        ] {
            let error = parse_object::<Outer>("outer", text.as_bytes()).unwrap_err();
            assert_eq!(error.code(), ErrorCode::BadArgument, "{text}");
            assert!(error.to_string().contains(named), "{text}: {error}");
            assert!(
                error.to_string().contains("field \"orgs\"")
                    || error.to_string().contains("field \"first\"")
                    || error.to_string().contains("field \"policy\""),
                "{text}: {error}"
            );
        }
        let long = format!(
            r#"{{"orgs":[{{"msp_id":"A","{}":1}}],"policy":"all"}}"#,
            "k".repeat(100_000)
        );
        let error = parse_object::<Outer>("outer", long.as_bytes()).unwrap_err();
        assert!(
            error.to_string().len() <= MAX_ERROR_BYTES,
            "{}",
            error.to_string().len()
        );
    }

    #[test]
    fn only_an_object_is_accepted_at_the_top() {
        for (text, found) in [
            (r#"["a",2,[]]"#, "an array"),
            (r#""a""#, "a string"),
            ("1", "a number"),
            ("null", "null"),
            ("true", "a boolean"),
        ] {
            assert_eq!(
                parse(text),
                Err(InterfaceError::NotAnObject { what: "arg", found }),
                "{text}"
            );
        }
        assert_eq!(parse("[]").unwrap_err().code(), ErrorCode::NotAnObject);
    }

    #[test]
    fn repeated_keys_are_refused_at_any_depth() {
        let error = parse(r#"{"name":"a","name":"b"}"#).unwrap_err();
        assert_eq!(
            error,
            InterfaceError::DuplicateKey {
                what: "arg",
                key: "\"name\"".into()
            }
        );
        assert_eq!(error.code(), ErrorCode::DuplicateKey);
        let nested = parse_record(br#"{"a":[{"b":{"c":1,"c":2}}]}"#).unwrap_err();
        assert_eq!(nested.code(), ErrorCode::DuplicateKey);
        // Equal after unescaping is equal.
        let escaped = parse_record(br#"{"id":"a","\u0069d":"b"}"#).unwrap_err();
        assert_eq!(escaped.code(), ErrorCode::DuplicateKey);
    }

    /// A record whose field `a` holds `inner` in `arrays` nested arrays:
    /// `arrays + 1` levels deep.
    fn nested(arrays: usize, inner: &str) -> String {
        format!(
            "{{\"a\":{}{inner}{}}}",
            "[".repeat(arrays),
            "]".repeat(arrays)
        )
    }

    #[test]
    fn nesting_is_bounded() {
        let ok = nested(MAX_JSON_DEPTH - 1, "");
        assert!(parse_record(ok.as_bytes()).is_ok());
        let deep = nested(MAX_JSON_DEPTH, "");
        assert_eq!(
            parse_record(deep.as_bytes()),
            Err(InterfaceError::TooDeep { what: "the record" })
        );
        let hostile = "[".repeat(100_000);
        assert_eq!(
            parse_record(hostile.as_bytes()).unwrap_err().code(),
            ErrorCode::TooDeep
        );
    }

    #[test]
    fn unknown_fields_are_named_briefly() {
        let field = "f".repeat(60_000);
        let error = parse(&format!(r#"{{"name":"a","{field}":1}}"#)).unwrap_err();
        assert_eq!(error.code(), ErrorCode::UnknownField);
        assert!(error.to_string().len() < 200, "{error}");
        assert!(error.to_string().contains("(60000 bytes)"), "{error}");
    }

    #[test]
    fn every_error_is_bounded() {
        let huge = "x".repeat(1 << 16);
        let cases = [
            format!(r#"{{"name":5,"count":"{huge}"}}"#),
            format!(r#"{{"name":"{huge}","count":"{huge}"}}"#),
            format!(r#"{{"name":"a","{huge}":1,"{huge}":2}}"#),
            format!(r#"{{"{huge}"#),
            format!("\"{huge}\""),
            "{\"name\":\"a\u{0}\"}".to_owned(),
        ];
        for case in cases {
            let error = parse(&case).unwrap_err();
            let wire = error.failure().to_wire();
            assert!(wire.len() <= 300, "{} bytes: {wire}", wire.len());
            assert!(wire.len() <= MAX_ERROR_BYTES);
        }
        let big = parse(&"{}".repeat(MAX_JSON_ARGUMENT_BYTES)).unwrap_err();
        assert_eq!(big.code(), ErrorCode::TooLarge);
    }

    #[test]
    fn malformed_json_and_trailing_bytes_are_refused() {
        for text in ["", "{", r#"{"name":"a"} x"#, "\u{0}", r#"{"name":"a",}"#] {
            assert_eq!(
                parse(text).unwrap_err().code(),
                ErrorCode::BadArgument,
                "{text:?}"
            );
        }
        assert_eq!(
            parse_object::<Arg>("arg", &[b'{', 0xff, b'}'])
                .unwrap_err()
                .code(),
            ErrorCode::BadArgument
        );
    }

    #[test]
    fn wrong_shapes_are_bad_arguments() {
        assert_eq!(parse("{}").unwrap_err().code(), ErrorCode::BadArgument);
        let named = parse(r#"{"name":"a","count":"x"}"#).unwrap_err();
        assert!(named.to_string().contains("field \"count\""), "{named}");
        assert_eq!(
            parse(r#"{"name":"a","count":-1}"#).unwrap_err().code(),
            ErrorCode::BadArgument
        );
    }

    #[test]
    fn numbers_keep_their_digits() {
        // Digits and decimals exactly as written, however many; serde_json
        // spells an exponent one way (`e`, with its sign).
        for (text, kept) in [
            ("9.071778718846515", "9.071778718846515"),
            ("0.1000", "0.1000"),
            ("1e400", "1e+400"),
            ("-1E-400", "-1e-400"),
            ("2.50E+3", "2.50e+3"),
            (
                "123456789012345678901234567890",
                "123456789012345678901234567890",
            ),
            (
                "0.30000000000000000000000001",
                "0.30000000000000000000000001",
            ),
            ("-0", "-0"),
            ("5", "5"),
            ("-17", "-17"),
            ("18446744073709551616", "18446744073709551616"),
        ] {
            let json =
                format!(r#"{{"resourceType":"Observation","id":"o","v":{text},"a":[{text}]}}"#);
            let record = parse_record(json.as_bytes()).unwrap();
            assert_eq!(record["v"].to_string(), kept);
            assert_eq!(record["a"][0].to_string(), kept);
            assert!(record["v"].is_number(), "{text}");
            let again = serde_json::to_string(&Value::Object(record)).unwrap();
            assert!(again.contains(&format!(r#""v":{kept}"#)), "{again}");
        }
    }

    #[test]
    fn numbers_count_no_depth_and_arguments_read_them() {
        let ok = nested(MAX_JSON_DEPTH - 1, "1");
        assert!(parse_record(ok.as_bytes()).is_ok());
        assert_eq!(
            parse(r#"{"name":"a","count":4000000000}"#).unwrap().count,
            4_000_000_000
        );
        assert_eq!(
            parse(r#"{"name":"a","count":1.5}"#).unwrap_err().code(),
            ErrorCode::BadArgument
        );
        assert_eq!(
            parse(r#"{"name":"a","count":1e400}"#).unwrap_err().code(),
            ErrorCode::BadArgument
        );
    }

    #[test]
    fn the_number_key_written_in_a_document_is_refused() {
        for text in [
            r#"{"v":{"$serde_json::private::Number":"1"}}"#,
            r#"{"v":{"\u0024serde_json::private::Number":"1"}}"#,
            r#"{"v":{"$serde_json::private::Number":1}}"#,
        ] {
            assert_eq!(
                parse_record(text.as_bytes()).unwrap_err().code(),
                ErrorCode::BadArgument,
                "{text}"
            );
        }
    }

    #[test]
    fn records_keep_every_value() {
        let record = parse_record(
            br#"{"resourceType":"Observation","id":"o","v":1.5,"n":null,"b":[true,-2]}"#,
        )
        .unwrap();
        assert_eq!(record["v"], 1.5);
        assert_eq!(record["b"][1], -2);
        assert!(record["n"].is_null());
        let big = vec![b' '; MAX_RECORD_BYTES + 1];
        assert_eq!(parse_record(&big).unwrap_err().code(), ErrorCode::TooLarge);
    }
}
