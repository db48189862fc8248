//! `patient_ref`: who a record is about, without saying who that is.
//!
//! Patient identifiers (name, date of birth, SSN) never leave the SDK. Both
//! networks normalise them the same way and key them with HMAC-SHA-256
//! under the consortium-wide [`MatchingKey`], so the same person typed
//! slightly differently on two networks gets the same [`PatientRef`], while
//! someone without the key cannot test guesses against the ledger.
//!
//! Normalisation:
//! - name: Unicode NFKD, combining marks dropped (so "José" = "Jose"),
//!   lower case, hyphens and whitespace become one space, other punctuation
//!   (apostrophes, periods, commas) is dropped, trimmed. Word order is kept:
//!   "Smith John" and "John Smith" are different names;
//! - date of birth: `YYYY-MM-DD`, a real calendar date from 1800 on;
//! - SSN: spaces and hyphens dropped, then exactly nine ASCII digits.
//!
//! The keyed message is the domain tag [`DOMAIN`] and the three normalised
//! fields, each preceded by its length as a big-endian `u64`, so no two
//! different triples share a message.

use std::{fmt, fs, path::Path};

use hmac::{Hmac, KeyInit as _, Mac as _};
use sha2::Sha256;
use unicode_normalization::{UnicodeNormalization as _, char::is_combining_mark};

use super::interface::Key32;

/// The domain and version tag that starts every keyed message.
pub const DOMAIN: &[u8] = b"ehrx.v1/patient-ref";

/// Why identifiers or a matching key were refused.
#[derive(Debug, thiserror::Error)]
pub enum PatientError {
    /// The name has no letters or digits.
    #[error("the patient's name is empty after normalisation")]
    EmptyName,
    /// The date of birth is not a `YYYY-MM-DD` date from 1800 on.
    #[error("the date of birth {0:?} is not a valid YYYY-MM-DD date")]
    DateOfBirth(String),
    /// The SSN is not nine digits.
    #[error("the SSN is not nine digits (spaces and hyphens allowed)")]
    Ssn,
    /// The matching key is not 32 bytes of hex.
    #[error("the matching key is not 64 hex digits (32 bytes)")]
    MatchingKey,
    /// A patient_ref is not 64 hex digits.
    #[error("a patient_ref is 64 hex digits (32 bytes)")]
    PatientRef,
    /// The matching key file could not be read.
    #[error("cannot read the matching key file {path}: {source}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// A patient's identifiers as typed at a hospital.
#[derive(Clone, PartialEq, Eq)]
pub struct PatientIdentifiers {
    /// Full name, in the order the hospital records it.
    pub name: String,
    /// `YYYY-MM-DD`.
    pub date_of_birth: String,
    /// Social security number, with or without hyphens.
    pub ssn: String,
}

impl fmt::Debug for PatientIdentifiers {
    // Identifiers are personal data: keep them out of logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PatientIdentifiers(..)")
    }
}

/// Identifiers after normalisation: what is keyed.
#[derive(Clone, PartialEq, Eq)]
pub struct NormalizedIdentifiers {
    name: String,
    date_of_birth: String,
    ssn: String,
}

impl fmt::Debug for NormalizedIdentifiers {
    // Still personal data.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NormalizedIdentifiers(..)")
    }
}

impl NormalizedIdentifiers {
    /// The normalised name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The date of birth, `YYYY-MM-DD`.
    pub fn date_of_birth(&self) -> &str {
        &self.date_of_birth
    }

    /// The nine SSN digits.
    pub fn ssn(&self) -> &str {
        &self.ssn
    }

    /// The exact message the matching key signs (see the module docs).
    pub fn canonical_encoding(&self) -> Vec<u8> {
        let parts = [
            DOMAIN,
            self.name.as_bytes(),
            self.date_of_birth.as_bytes(),
            self.ssn.as_bytes(),
        ];
        let mut message = Vec::with_capacity(parts.iter().map(|p| p.len() + 8).sum());
        for part in parts {
            message.extend_from_slice(&(part.len() as u64).to_be_bytes());
            message.extend_from_slice(part);
        }
        message
    }
}

impl PatientIdentifiers {
    /// Identifiers from their three parts.
    pub fn new(
        name: impl Into<String>,
        date_of_birth: impl Into<String>,
        ssn: impl Into<String>,
    ) -> Self {
        Self {
            name: name.into(),
            date_of_birth: date_of_birth.into(),
            ssn: ssn.into(),
        }
    }

    /// Normalises and checks the identifiers.
    pub fn normalize(&self) -> Result<NormalizedIdentifiers, PatientError> {
        Ok(NormalizedIdentifiers {
            name: normalize_name(&self.name)?,
            date_of_birth: normalize_date_of_birth(&self.date_of_birth)?,
            ssn: normalize_ssn(&self.ssn)?,
        })
    }

    /// The patient's reference under `key`.
    pub fn patient_ref(&self, key: &MatchingKey) -> Result<PatientRef, PatientError> {
        Ok(key.patient_ref(&self.normalize()?))
    }
}

fn normalize_name(name: &str) -> Result<String, PatientError> {
    let mut out = String::with_capacity(name.len());
    let mut pending_space = false;
    for c in name.nfkd().filter(|c| !is_combining_mark(*c)) {
        if c.is_whitespace() || c == '-' {
            pending_space = !out.is_empty();
        } else if c.is_alphanumeric() {
            if pending_space {
                out.push(' ');
                pending_space = false;
            }
            out.extend(c.to_lowercase());
        }
    }
    if out.is_empty() {
        return Err(PatientError::EmptyName);
    }
    Ok(out)
}

/// Days in `month` of `year` (proleptic Gregorian), 0 for a month out of range.
pub(crate) fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        _ => 0,
    }
}

fn normalize_date_of_birth(date: &str) -> Result<String, PatientError> {
    let date = date.trim();
    let bad = || PatientError::DateOfBirth(date.to_string());
    let bytes = date.as_bytes();
    let shape_ok = bytes.len() == 10
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && bytes
            .iter()
            .enumerate()
            .all(|(i, b)| i == 4 || i == 7 || b.is_ascii_digit());
    if !shape_ok {
        return Err(bad());
    }
    let number = |range: std::ops::Range<usize>| date[range].parse::<u32>().map_err(|_| bad());
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    if year < 1800 || day == 0 || day > days_in_month(year, month) {
        return Err(bad());
    }
    Ok(date.to_string())
}

fn normalize_ssn(ssn: &str) -> Result<String, PatientError> {
    let digits: String = ssn
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    if digits.len() != 9 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(PatientError::Ssn);
    }
    Ok(digits)
}

/// The consortium-wide key under which patient identifiers are hashed.
#[derive(Clone, PartialEq, Eq)]
pub struct MatchingKey([u8; 32]);

/// 32 bytes from 64 hex digits (surrounding whitespace ignored), read by
/// the interface's one parser of them.
fn hex32(text: &str) -> Option<[u8; 32]> {
    Key32::parse(text.trim()).ok().map(|key| *key.bytes())
}

impl fmt::Debug for MatchingKey {
    // Never print key material.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MatchingKey(..)")
    }
}

impl MatchingKey {
    /// A key from its 32 bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// A key from 64 hex digits (surrounding whitespace ignored).
    pub fn from_hex(text: &str) -> Result<Self, PatientError> {
        hex32(text).map(Self).ok_or(PatientError::MatchingKey)
    }

    /// A key from a file holding 64 hex digits.
    pub fn from_file(path: &Path) -> Result<Self, PatientError> {
        let text = fs::read_to_string(path).map_err(|source| PatientError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_hex(&text)
    }

    /// HMAC-SHA-256 of the identifiers' canonical encoding.
    pub fn patient_ref(&self, identifiers: &NormalizedIdentifiers) -> PatientRef {
        // RFC 2104 pads a key shorter than the hash's 64-byte block with
        // zeros; padding it here gives the infallible fixed-size constructor.
        let mut block = [0u8; 64];
        block[..32].copy_from_slice(&self.0);
        let mut mac = <Hmac<Sha256>>::new(&block.into());
        mac.update(&identifiers.canonical_encoding());
        PatientRef(mac.finalize().into_bytes().into())
    }
}

/// A patient's reference: 32 bytes, shown and stored as hex.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PatientRef([u8; 32]);

impl PatientRef {
    /// A reference from its bytes (e.g. read back from a request).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// A reference from 64 hex digits.
    pub fn from_hex(text: &str) -> Result<Self, PatientError> {
        hex32(text).map(Self).ok_or(PatientError::PatientRef)
    }

    /// Its bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lower-case hex, as the contract takes it.
    pub fn to_hex(&self) -> String {
        self.key().to_hex()
    }

    /// As the contract's JSON carries it.
    pub fn key(&self) -> Key32 {
        Key32::new(self.0)
    }
}

impl fmt::Debug for PatientRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PatientRef({})", self.to_hex())
    }
}

impl fmt::Display for PatientRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> MatchingKey {
        let mut bytes = [0u8; 32];
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = i as u8;
        }
        MatchingKey::from_bytes(bytes)
    }

    /// The documented encoding, built by hand.
    fn encoding(name: &str, dob: &str, ssn: &str) -> Vec<u8> {
        let mut out = Vec::new();
        for part in [
            &b"ehrx.v1/patient-ref"[..],
            name.as_bytes(),
            dob.as_bytes(),
            ssn.as_bytes(),
        ] {
            out.extend_from_slice(&(part.len() as u64).to_be_bytes());
            out.extend_from_slice(part);
        }
        out
    }

    #[test]
    fn fixed_vectors() {
        // Expected values computed outside Rust (Python's hmac module) on
        // the encoding built by `encoding` above.
        let cases = [
            (
                PatientIdentifiers::new("  José  María O'Neil-Smith ", "1980-02-29", "123-45-6789"),
                "jose maria oneil smith",
                "c7fdcf380a0b05d47b6a2fb8284fb885e91cd61ebbc892172546cbdfcb642fa8",
            ),
            (
                PatientIdentifiers::new("Ada LOVELACE", "1815-12-10", "900 12 3456"),
                "ada lovelace",
                "76680cc655657625c39a4a13d6bedea656eedada48f8f19b7f3d412aa51a601a",
            ),
        ];
        for (identifiers, name, expected) in cases {
            let normalized = identifiers.normalize().unwrap();
            assert_eq!(normalized.name(), name);
            assert_eq!(
                normalized.canonical_encoding(),
                encoding(name, normalized.date_of_birth(), normalized.ssn())
            );
            let mut mac = <Hmac<Sha256>>::new_from_slice(&key().0).unwrap();
            mac.update(&encoding(
                name,
                normalized.date_of_birth(),
                normalized.ssn(),
            ));
            let direct = hex::encode(mac.finalize().into_bytes());
            assert_eq!(direct, expected);
            assert_eq!(identifiers.patient_ref(&key()).unwrap().to_hex(), expected);
        }
    }

    #[test]
    fn spellings_of_one_person_match() {
        let reference =
            PatientIdentifiers::new("José María O'Neil-Smith", "1980-02-29", "123456789")
                .patient_ref(&key())
                .unwrap();
        for (name, dob, ssn) in [
            ("jose maria oneil smith", "1980-02-29", "123-45-6789"),
            ("JOSE MARIA ONEIL SMITH", " 1980-02-29 ", " 123 45 6789 "),
            (
                "Jose\u{301} Mari\u{301}a O’Neil Smith",
                "1980-02-29",
                "123456789",
            ),
            ("José\tMaría\n O.Neil - Smith", "1980-02-29", "123456789"),
            ("ＪＯＳＥ MARIA ONEIL SMITH", "1980-02-29", "123456789"),
        ] {
            let other = PatientIdentifiers::new(name, dob, ssn)
                .patient_ref(&key())
                .unwrap();
            assert_eq!(other, reference, "{name:?}");
        }
    }

    #[test]
    fn different_people_or_keys_do_not_match() {
        let base = PatientIdentifiers::new("Ada Lovelace", "1815-12-10", "900123456");
        let reference = base.patient_ref(&key()).unwrap();
        let variants = [
            PatientIdentifiers::new("Ada Byron", "1815-12-10", "900123456"),
            PatientIdentifiers::new("Ada Lovelace", "1815-12-11", "900123456"),
            PatientIdentifiers::new("Ada Lovelace", "1815-12-10", "900123457"),
            // Word order is part of the name.
            PatientIdentifiers::new("Lovelace Ada", "1815-12-10", "900123456"),
        ];
        for variant in variants {
            assert_ne!(variant.patient_ref(&key()).unwrap(), reference);
        }
        let other_key = MatchingKey::from_bytes([7; 32]);
        assert_ne!(base.patient_ref(&other_key).unwrap(), reference);
    }

    #[test]
    fn field_boundaries_cannot_shift() {
        // Without length prefixes these two would key the same bytes.
        let a = NormalizedIdentifiers {
            name: "ab".into(),
            date_of_birth: "c".into(),
            ssn: "d".into(),
        };
        let b = NormalizedIdentifiers {
            name: "a".into(),
            date_of_birth: "bc".into(),
            ssn: "d".into(),
        };
        assert_ne!(a.canonical_encoding(), b.canonical_encoding());
    }

    #[test]
    fn bad_identifiers_are_refused() {
        let check = |name: &str, dob: &str, ssn: &str| {
            PatientIdentifiers::new(name, dob, ssn)
                .normalize()
                .unwrap_err()
        };
        assert!(matches!(
            check(" - '. ", "1980-01-01", "123456789"),
            PatientError::EmptyName
        ));
        for dob in [
            "1980-2-29",
            "1981-02-29",
            "1900-02-29",
            "1980-13-01",
            "1980-00-10",
            "1799-12-31",
            "19800101",
            "1980-01-01x",
            "１９８０-01-01",
        ] {
            assert!(
                matches!(check("A", dob, "123456789"), PatientError::DateOfBirth(_)),
                "{dob}"
            );
        }
        PatientIdentifiers::new("A", "2000-02-29", "123456789")
            .normalize()
            .unwrap();
        for ssn in [
            "12345678",
            "1234567890",
            "12345678a",
            "123.45.6789",
            "１２３456789",
        ] {
            assert!(
                matches!(check("A", "1980-01-01", ssn), PatientError::Ssn),
                "{ssn}"
            );
        }
    }

    #[test]
    fn matching_keys_load_from_hex_and_files_and_never_print() {
        let hex_key = "00".repeat(31) + "ff";
        let key = MatchingKey::from_hex(&format!(" {hex_key}\n")).unwrap();
        assert_eq!(format!("{key:?}"), "MatchingKey(..)");
        assert!(matches!(
            MatchingKey::from_hex("abcd"),
            Err(PatientError::MatchingKey)
        ));
        assert!(matches!(
            MatchingKey::from_hex(&"zz".repeat(32)),
            Err(PatientError::MatchingKey)
        ));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("matching.key");
        fs::write(&path, format!("{hex_key}\n")).unwrap();
        assert_eq!(MatchingKey::from_file(&path).unwrap(), key);
        assert!(matches!(
            MatchingKey::from_file(&dir.path().join("missing")),
            Err(PatientError::Io { .. })
        ));
        let identifiers = PatientIdentifiers::new("Ada", "1815-12-10", "900123456");
        assert_eq!(format!("{identifiers:?}"), "PatientIdentifiers(..)");
    }

    #[test]
    fn patient_refs_round_trip_through_hex() {
        let reference = PatientIdentifiers::new("Ada", "1815-12-10", "900123456")
            .patient_ref(&key())
            .unwrap();
        assert_eq!(
            PatientRef::from_hex(&reference.to_hex()).unwrap(),
            reference
        );
        assert_eq!(reference.to_string(), reference.to_hex());
        assert!(PatientRef::from_hex("00").is_err());
    }
}
