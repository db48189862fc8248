//! The end-to-end tests live in `tests/`; this library is the paper's
//! experiment (`src/bin/experiment.rs` runs it), built on the lab crate
//! (`ehrx-lab`) that the tests and the benchmarks share.

pub mod experiment;
