//! The lab: what the end-to-end tests (`tests/`) and the benchmarks
//! (`bench/`) share to work with real Fabric networks on this machine.
//!
//! - [`networks`]: bring the local networks up for a test or a run and
//!   always down again, read their descriptions;
//! - [`exchange`]: set an exchange up through the contract's typed admin
//!   API (lookup tables, registries, uploads), start relays and responders
//!   ([`relaying`]: all three, as several tests start);
//! - [`forge`]: build the malicious messages the attack scenarios send;
//! - [`thief`]: what a stolen relay host gives its thief (the relay's
//!   network key and TLS files), and the identities and proofs he mints
//!   with a CA of his own;
//! - [`cli`] and [`ehrx_cli`]: ask Fabric's own CLIs about the networks (so
//!   tests check our networks with tools that are not ours), and run our
//!   `ehrx` CLI as its users would ([`cli_cast`]: as whom);
//! - [`measure`] and [`machine`]: latency summaries, timestamps, and what
//!   the machine was doing while it measured;
//! - [`plot`] and [`report`]: SVG charts of the results (lines over
//!   load, latency CDFs, grouped and stacked bars), and reports written
//!   both as Markdown and as an HTML page with the charts beside the
//!   tables;
//! - [`wan`]: delays, bandwidth caps and cuts on the emulated WAN between
//!   the relays (`NETWORK_WAN=toxiproxy`);
//! - [`browser`]: a page rendered by headless Chromium, its screenshot
//!   and its console.
//!
//! Dev-only: nothing here is a dependency of a shipped crate.

pub mod browser;
pub mod cli;
pub mod cli_cast;
pub mod ehrx_cli;
pub mod exchange;
pub mod forge;
pub mod ledger;
pub mod machine;
pub mod measure;
pub mod networks;
pub mod plot;
pub mod relaying;
pub mod report;
pub mod thief;
pub mod thief_messages;
pub mod wan;

/// The networks are described by the SDK's reader of `network.json`, so the
/// lab exercises the same description integrators use.
pub use ehrx_client::fabric::NetworkDescription;
