//! Hyperledger Fabric's wire protocol: the messages and services a chaincode
//! shim and a Fabric Gateway client need.
//!
//! The `.proto` files under `protos/` declare the subset of Fabric's messages
//! and services that the chaincode shim and the gateway client need, with
//! Fabric's own package, message and field names and field numbers, so the
//! bytes are interchangeable with Fabric v2.5 and v3.x peers and orderers.
//! They are compiled at build time with `protox` (no `protoc` needed) into
//! prost messages and tonic clients and servers (without tonic's transport:
//! callers bring their own channel or server).
//!
//! One module per protobuf package. prost refers to other packages as
//! `super::<package>::…`, so the modules sit side by side at the crate root
//! under the package names; Fabric's peer package is called `protos` and is
//! published here as [`peer`].

#![warn(missing_docs)]

macro_rules! generated {
    ($(#[$attr:meta])* $name:ident, $file:literal) => {
        $(#[$attr])*
        // Generated code is not ours to restyle; it is clean today, this
        // keeps a newer clippy from failing the build over it.
        #[allow(clippy::all, clippy::pedantic, missing_docs)]
        pub mod $name {
            include!(concat!(env!("OUT_DIR"), "/", $file));
        }
    };
}

generated!(
    /// Package `common`: envelopes, headers, blocks, signature policies.
    common,
    "common.rs"
);
generated!(
    /// Package `msp`: serialised identities.
    msp,
    "msp.rs"
);
generated!(
    /// Package `protos` (Fabric's peer package): proposals, transactions,
    /// the chaincode shim protocol, deliver and endorser services.
    peer,
    "protos.rs"
);
generated!(
    /// Package `orderer`: broadcast, deliver and seek positions.
    orderer,
    "orderer.rs"
);
generated!(
    /// Package `rwset`: transaction read/write sets, public and private.
    rwset,
    "rwset.rs"
);
generated!(
    /// Package `kvrwset`: key/value reads and writes inside a read/write set.
    kvrwset,
    "kvrwset.rs"
);
generated!(
    /// Package `queryresult`: results of range, rich and history queries.
    queryresult,
    "queryresult.rs"
);
generated!(
    /// Package `gateway`: the peer's Gateway service.
    gateway,
    "gateway.rs"
);

generated!(
    /// Package `google.rpc`: the gRPC status whose details carry the
    /// gateway's per-endpoint errors.
    google_rpc,
    "google.rpc.rs"
);

/// The generated code of other packages names the peer package `protos`.
use peer as protos;

/// Fabric's gRPC message size limit, both ways, as its peers and orderers
/// set it (tonic's default is 4 MiB): the shim and the gateway client both
/// configure their codecs with it.
pub const MAX_GRPC_MESSAGE_SIZE: usize = 100 * 1024 * 1024;

/// The compiled `FileDescriptorSet` of all the `.proto` files (with their
/// imports), for reflection and debugging.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/file_descriptor_set.bin"));

// The README's examples compile as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
