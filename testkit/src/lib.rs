//! Helpers that several crates' tests need, written once: certificates and
//! keys from fixed seeds, so a test's identities are the same on every run.
//! Test code: it panics on a malformed subject rather than returning errors.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod pki;

pub use pki::{Ca, Issued, extension, self_signed_p256, validity};
