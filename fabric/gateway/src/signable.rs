//! The messages a client signs on use unless they came signed (offline
//! signing): signed bytes beside a signature field.

use hlf_protos::{common, gateway};

use crate::{
    client::Client,
    error::{Error, Signed, decode},
};

/// A message made of the bytes a signature covers and that signature.
pub(crate) trait Signable: prost::Message + Clone {
    /// The bytes the signature covers.
    fn signed_bytes(&self) -> &[u8];
    /// The signature, empty until signed.
    fn signature_mut(&mut self) -> &mut Vec<u8>;
}

impl Signable for gateway::SignedCommitStatusRequest {
    fn signed_bytes(&self) -> &[u8] {
        &self.request
    }
    fn signature_mut(&mut self) -> &mut Vec<u8> {
        &mut self.signature
    }
}

impl Signable for gateway::SignedChaincodeEventsRequest {
    fn signed_bytes(&self) -> &[u8] {
        &self.request
    }
    fn signature_mut(&mut self) -> &mut Vec<u8> {
        &mut self.signature
    }
}

impl Signable for common::Envelope {
    fn signed_bytes(&self) -> &[u8] {
        &self.payload
    }
    fn signature_mut(&mut self) -> &mut Vec<u8> {
        &mut self.signature
    }
}

/// The offline-signing methods of a type whose `client` signs and whose
/// field `$field` is the [`Signable`] message it sends: `bytes` (the
/// serialised message), `digest` (what to sign) and `signed_message` (the
/// message as sent, signed here unless a signature was given). The
/// requests for commit status, chaincode events and blocks share them;
/// their types keep the methods as their own.
macro_rules! offline_signing {
    ($field:ident: $message:ty) => {
        #[doc = concat!("The serialised `", stringify!($message), "`, for offline signing.")]
        pub fn bytes(&self) -> Vec<u8> {
            prost::Message::encode_to_vec(&self.$field)
        }

        /// What to sign: the digest of the bytes the signature covers.
        pub fn digest(&self) -> Vec<u8> {
            $crate::signable::digest(&self.client, &self.$field)
        }

        /// The message as sent: signed here unless a signature was given.
        pub(crate) fn signed_message(&self) -> Result<$message, $crate::error::Error> {
            $crate::signable::signed(&self.client, &self.$field)
        }
    };
}
pub(crate) use offline_signing;

/// A message signed elsewhere: `from`'s bytes decoded as `M` (or
/// [`Error::Malformed`] naming `what`), with `from`'s signature in place.
pub(crate) fn from_signed<M: Signable + Default>(
    from: Signed<'_>,
    what: &'static str,
) -> Result<M, Error> {
    let mut message: M = decode(from.bytes, what)?;
    *message.signature_mut() = from.signature;
    Ok(message)
}

/// What `client`'s identity signs for `message`: the digest of its signed
/// bytes.
pub(crate) fn digest(client: &Client, message: &impl Signable) -> Vec<u8> {
    client.identity.digest(message.signed_bytes())
}

/// `message` as sent: signed by `client`'s identity unless a signature was
/// given.
pub(crate) fn signed<M: Signable>(client: &Client, message: &M) -> Result<M, Error> {
    let mut signed = message.clone();
    if signed.signature_mut().is_empty() {
        *signed.signature_mut() = client.identity.sign_message(message.signed_bytes())?;
    }
    Ok(signed)
}
