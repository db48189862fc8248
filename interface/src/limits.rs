//! Every size, length and range the contract enforces. A client checks
//! against the same numbers before it spends a transaction.

use std::ops::RangeInclusive;

/// The largest FHIR record `PutEhr` stores, in bytes.
pub const MAX_RECORD_BYTES: usize = 1024 * 1024;
/// The most records one `PutEhr` (one upload, one transaction) stores:
/// as many as a reply may list.
pub const MAX_UPLOAD_RECORDS: usize = MAX_REPLY_RECORDS;
/// The largest upload, the records' bytes together: as large as a reply
/// (which carries them sealed), far below the 100 MiB gRPC messages
/// between the client, the peers and the chaincode.
pub const MAX_UPLOAD_BYTES: usize = MAX_REPLY_BYTES;
/// The largest `PutEhr` metadata (the patient ref and the record ids, at
/// most 130 bytes each, of [`MAX_UPLOAD_RECORDS`] records).
pub const MAX_UPLOAD_METADATA_BYTES: usize = 2 * 1024 * 1024;
/// The largest JSON argument (configuration, registration, metadata), in
/// bytes: a certificate PEM is a few KiB, so this leaves ample room while
/// keeping a hostile argument cheap to refuse.
pub const MAX_JSON_ARGUMENT_BYTES: usize = 64 * 1024;
/// The largest configuration file the relay, the responders and the CLI's
/// setup read (read with the same strict reader as the contract's
/// arguments): room for hundreds of requesters with their certificates.
pub const MAX_CONFIG_FILE_BYTES: usize = 4 * 1024 * 1024;
/// The deepest nesting of arrays and objects in a JSON argument or record.
/// FHIR resources nest a dozen levels at most.
pub const MAX_JSON_DEPTH: usize = 64;
/// The largest FHIR `Consent` resource `PutConsent` reads, in bytes.
pub const MAX_CONSENT_BYTES: usize = 64 * 1024;
/// The most consents one patient has on one network (revoked ones
/// included): each check reads them all, so the list stays small.
pub const MAX_CONSENTS_PER_PATIENT: usize = 64;
/// The longest refusal reason of a reply, in bytes.
pub const MAX_REASON_BYTES: usize = 1024;
/// Network ids and requester codes are at most this long.
pub const MAX_NAME_BYTES: usize = 64;
/// FHIR ids (record ids) are at most this long.
pub const MAX_FHIR_ID_BYTES: usize = 64;
/// FHIR resource type names (categories) are at most this long.
pub const MAX_CATEGORY_BYTES: usize = 64;
/// MSP ids are at most this long.
pub const MAX_MSP_ID_BYTES: usize = 128;
/// The most categories a request may name.
pub const MAX_CATEGORIES: usize = 32;
/// The most records a reply may list.
pub const MAX_REPLY_RECORDS: usize = 10_000;
/// The largest signed request or request envelope payload, in bytes.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;
/// The largest signed reply (sealed records included), in bytes.
pub const MAX_REPLY_BYTES: usize = 16 * 1024 * 1024;
/// Room a forwarded envelope needs around its payload for the attestation.
pub const ENVELOPE_OVERHEAD_BYTES: usize = 1024;
/// The largest proof of validation `AcceptRequest` reads, in bytes: a
/// proposal, a response and a few endorsements with their certificates.
pub const MAX_PROOF_BYTES: usize = 64 * 1024;
/// The most organisations a lookup table entry trusts.
pub const MAX_TRUSTED_ORGS: usize = 16;
/// The most CA roots one trusted organisation registers.
pub const MAX_ROOTS_PER_ORG: usize = 4;
/// The longest a replaced network trust entry keeps counting after
/// `PutNetworkTrust` replaces it, in seconds: a week.
pub const MAX_TRUST_GRACE_SECONDS: u32 = 7 * 24 * 3600;
/// How long a challenge stays usable, in transaction time: from the
/// transaction that issued it to the one that accepts a proof carrying it.
/// Long enough for one relay round trip and an endorsement on the source,
/// short enough that a proof cannot be stockpiled.
pub const CHALLENGE_MAX_AGE_MS: i64 = 2 * 60 * 1000;
/// The most challenges one `IssueChallenges` commits: a relay keeping
/// challenges ready fetches them in batches, so one transaction (and one
/// call against the issuing relay's per-caller limit) serves this many
/// deliveries.
pub const MAX_CHALLENGES_PER_CALL: u32 = 16;
/// The most expired challenges one `PurgeChallenges` deletes, so the
/// transaction stays small; the next call takes the rest.
pub const MAX_CHALLENGES_PURGED: usize = 500;
/// How far a message's creation time may be ahead of the transaction's.
pub const MAX_CLOCK_SKEW_MS: i64 = 5 * 60 * 1000;
/// Requests one requester may submit per window.
pub const RATE_LIMIT_MAX: RangeInclusive<u32> = 1..=10_000;
/// The rate-limit window, in seconds (at most a day).
pub const RATE_LIMIT_WINDOW_SECONDS: RangeInclusive<u32> = 1..=86_400;
/// `rate_limit_max` when `ConfigureNetwork` does not give one (the
/// design's one request per minute).
pub const DEFAULT_RATE_LIMIT_MAX: u32 = 1;
/// `rate_limit_window_seconds` when `ConfigureNetwork` does not give one.
pub const DEFAULT_RATE_LIMIT_WINDOW_SECONDS: u32 = 60;
/// The longest error message the contract returns, code included, in
/// bytes: an error never grows with its input.
pub const MAX_ERROR_BYTES: usize = 512;
/// How much of an input an error message quotes, in bytes (escaped).
pub const MAX_QUOTE_BYTES: usize = 64;
