//! Stable error codes and the wire form of a refusal.
//!
//! A refused call is a Fabric error response (status 500) whose message is
//!
//! ```text
//! [CODE] human-readable text
//! ```
//!
//! `CODE` is one of [`ErrorCode`]'s names (upper-case ASCII and `_`), the
//! whole message is at most [`MAX_ERROR_BYTES`] bytes of UTF-8, and any
//! input the text quotes is cut to [`MAX_QUOTE_BYTES`] (see [`quote`]).
//! Clients act on the code; the text is for people and may be reworded.
//! The bracketed prefix (rather than a JSON object) keeps the message
//! readable where Fabric shows it (peer logs, `peer chaincode invoke`,
//! the gateway's `chaincode response 500, ...`) and trivially parseable.

use std::fmt;

use crate::limits::{MAX_ERROR_BYTES, MAX_QUOTE_BYTES};

macro_rules! codes {
    ($($(#[$doc:meta])* $variant:ident => $name:literal,)*) => {
        /// Why the contract refused a call, as a stable code.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum ErrorCode {
            $($(#[$doc])* $variant,)*
        }

        impl ErrorCode {
            /// Every code.
            pub const ALL: &[ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// The code as it travels: `BAD_ARGUMENT`, ...
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $name,)*
                }
            }

            /// The code named `name`, if it is one.
            pub fn from_name(name: &str) -> Option<Self> {
                match name {
                    $($name => Some(ErrorCode::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

codes! {
    /// An argument is malformed: wrong type, bad id, bad value, not
    /// UTF-8, not JSON, wrong number of arguments.
    BadArgument => "BAD_ARGUMENT",
    /// A JSON argument or record is not an object where one is required
    /// (an array, a string...).
    NotAnObject => "NOT_AN_OBJECT",
    /// A JSON object repeats a key, at any depth.
    DuplicateKey => "DUPLICATE_KEY",
    /// A JSON argument has a field the function does not take.
    UnknownField => "UNKNOWN_FIELD",
    /// JSON nested deeper than allowed.
    TooDeep => "TOO_DEEP",
    /// An argument or record is larger than allowed.
    TooLarge => "TOO_LARGE",
    /// No such contract or function.
    UnknownFunction => "UNKNOWN_FUNCTION",
    /// `ConfigureNetwork` has not run yet.
    NotConfigured => "NOT_CONFIGURED",
    /// The caller lacks the role, registration or privilege the call
    /// needs, or signed for someone else.
    AccessDenied => "ACCESS_DENIED",
    /// The caller is flagged; every transaction of theirs is refused until
    /// an admin clears the flag.
    Flagged => "FLAGGED",
    /// Something the call names does not exist (a request, a remote
    /// network, a flag).
    NotFound => "NOT_FOUND",
    /// Something the call would create exists already (a record id, a
    /// request id).
    AlreadyExists => "ALREADY_EXISTS",
    /// The request already has its one reply.
    AlreadyReplied => "ALREADY_REPLIED",
    /// The request has no reply yet (`GetReply`).
    NoReplyYet => "NO_REPLY_YET",
    /// The call does not fit the current state: a request not open for a
    /// reply, a remote network suspended, an id that cannot change, a
    /// timestamp older than the last one.
    Conflict => "CONFLICT",
    /// A forwarded request id was seen before with different bytes.
    Replay => "REPLAY",
    /// A signature or attestation does not verify.
    BadSignature => "BAD_SIGNATURE",
    /// A forwarded request's proof of validation by the source network's
    /// peers does not hold: malformed, for another call, not endorsed by
    /// peers of the registered CAs, or short of the verification policy.
    BadProof => "BAD_PROOF",
    /// The challenge a proof carries is unknown here, issued for another
    /// network, already used, or older than its maximum age.
    BadChallenge => "BAD_CHALLENGE",
    /// This peer does not hold the private data the call reads (it is not
    /// a member of the collection); another organisation's peer may.
    NotHeld => "NOT_HELD",
    /// Stored state does not parse or match its hash.
    Corrupt => "CORRUPT",
    /// No active consent of the patient permits this disclosure (recipient,
    /// purpose, categories, period), and break-glass does not apply.
    NoConsent => "NO_CONSENT",
    /// A ledger call failed (the peer's, not the caller's, problem).
    Ledger => "LEDGER",
    /// A contract bug.
    Internal => "INTERNAL",
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A refusal: its code and a bounded message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContractFailure {
    /// What a client acts on.
    pub code: ErrorCode,
    /// For people; never longer than the wire form allows.
    pub message: String,
}

impl ContractFailure {
    /// A refusal with `code`; `message` is cut to fit the wire form.
    pub fn new(code: ErrorCode, message: impl fmt::Display) -> Self {
        let budget = MAX_ERROR_BYTES - code.as_str().len() - 3;
        Self {
            code,
            message: truncate(&message.to_string(), budget),
        }
    }

    /// The wire form: `[CODE] message`, at most [`MAX_ERROR_BYTES`].
    pub fn to_wire(&self) -> String {
        let budget = MAX_ERROR_BYTES - self.code.as_str().len() - 3;
        format!("[{}] {}", self.code, truncate(&self.message, budget))
    }

    /// Reads a wire-form message; `None` unless it starts with a known
    /// `[CODE] `.
    pub fn from_wire(text: &str) -> Option<Self> {
        let rest = text.strip_prefix('[')?;
        let (name, message) = rest.split_once("] ")?;
        let code = ErrorCode::from_name(name)?;
        Some(Self {
            code,
            message: message.to_owned(),
        })
    }
}

impl fmt::Display for ContractFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_wire())
    }
}

/// `text` cut to at most `max` bytes on a character boundary, ending in
/// `…` when cut.
pub fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    const ELLIPSIS: &str = "…";
    let mut cut = max.saturating_sub(ELLIPSIS.len());
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}{ELLIPSIS}", &text[..cut])
}

/// `input` quoted for an error message: escaped as Rust escapes a string
/// literal, cut after [`MAX_QUOTE_BYTES`] escaped bytes with its full
/// length noted, so a message quoting any input stays small.
pub fn quote(input: &str) -> String {
    let mut quoted = String::from("\"");
    for c in input.chars() {
        let escaped: String = c.escape_debug().collect();
        if quoted.len() - 1 + escaped.len() > MAX_QUOTE_BYTES {
            quoted.push_str("\"…");
            quoted.push_str(&format!("({} bytes)", input.len()));
            return quoted;
        }
        quoted.push_str(&escaped);
    }
    quoted.push('"');
    quoted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips_through_the_wire_form() {
        for &code in ErrorCode::ALL {
            let failure = ContractFailure::new(code, "because");
            let wire = failure.to_wire();
            assert_eq!(wire, format!("[{}] because", code.as_str()));
            assert_eq!(ContractFailure::from_wire(&wire), Some(failure));
            assert!(
                code.as_str()
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b == b'_')
            );
        }
        assert_eq!(ErrorCode::from_name("NOPE"), None);
    }

    #[test]
    fn foreign_or_malformed_messages_carry_no_code() {
        assert_eq!(ContractFailure::from_wire("access denied"), None);
        assert_eq!(ContractFailure::from_wire("[NOPE] x"), None);
        assert_eq!(ContractFailure::from_wire("[FLAGGED]x"), None);
        assert_eq!(ContractFailure::from_wire(" [FLAGGED] x"), None);
    }

    #[test]
    fn messages_are_bounded() {
        let huge = "é".repeat(1 << 20);
        for &code in ErrorCode::ALL {
            let wire = ContractFailure::new(code, &huge).to_wire();
            assert!(wire.len() <= MAX_ERROR_BYTES, "{}", wire.len());
            assert!(wire.ends_with('…'));
            assert_eq!(ContractFailure::from_wire(&wire).unwrap().code, code);
        }
    }

    #[test]
    fn quotes_are_cut_and_say_how_long_the_input_was() {
        assert_eq!(quote("net1"), "\"net1\"");
        assert_eq!(quote("a\"b\n"), "\"a\\\"b\\n\"");
        let long = quote(&"x".repeat(1 << 20));
        assert!(long.len() < MAX_QUOTE_BYTES + 32, "{long}");
        assert!(long.ends_with("…(1048576 bytes)"), "{long}");
        let nuls = quote(&"\u{0}".repeat(1000));
        assert!(nuls.len() < MAX_QUOTE_BYTES + 32, "{nuls}");
    }

    #[test]
    fn truncation_respects_character_boundaries() {
        assert_eq!(truncate("abc", 3), "abc");
        let cut = truncate("ééééé", 6);
        assert!(cut.len() <= 6);
        assert!(cut.ends_with('…'));
    }
}
