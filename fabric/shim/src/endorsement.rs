//! Key-level endorsement: which organisations must endorse the next change
//! of one key, overriding the chaincode's policy for that key.
//!
//! The policy travels as a serialised `common.SignaturePolicyEnvelope` in
//! the key's `VALIDATION_PARAMETER` metadata. It is built the way Fabric's
//! Go helper builds it (principals as MSP roles sorted by MSP id, one
//! signature from each), so policies set here and by Go chaincodes read back
//! the same on either side.

use std::collections::BTreeMap;

use hlf_protos::common::{
    MspPrincipal, SignaturePolicy, SignaturePolicyEnvelope,
    msp_principal::Classification,
    signature_policy::{NOutOf, Type as Rule},
};
use prost::Message;

/// `common.MSPRole`, which the `proto` crate does not need elsewhere: a
/// principal naming a role within one MSP.
#[derive(Clone, PartialEq, Message)]
struct MspRole {
    #[prost(string, tag = "1")]
    msp_identifier: String,
    #[prost(enumeration = "Role", tag = "2")]
    role: i32,
}

/// The roles a key-level policy can require, with `common.MSPRole`'s numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum Role {
    /// Any identity of the organisation.
    Member = 0,
    /// An admin of the organisation.
    Admin = 1,
    /// A client of the organisation (NodeOUs).
    Client = 2,
    /// A peer of the organisation (NodeOUs): the usual choice, since
    /// endorsements are signed by peers.
    Peer = 3,
    /// An orderer of the organisation (NodeOUs).
    Orderer = 4,
}

/// Why a stored validation parameter could not be read.
#[derive(Debug, thiserror::Error)]
pub enum EndorsementError {
    /// The bytes are not a `SignaturePolicyEnvelope` (or a principal inside
    /// it is not an `MSPRole`).
    #[error("cannot decode the key's endorsement policy: {0}")]
    Decode(#[from] prost::DecodeError),
    /// A principal names a role number Fabric does not define.
    #[error("the key's endorsement policy names unknown MSP role {0}")]
    UnknownRole(i32),
}

/// "One endorsement from each of these organisations, in these roles."
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyEndorsementPolicy {
    orgs: BTreeMap<String, Role>,
}

impl KeyEndorsementPolicy {
    /// An empty policy (no organisation yet).
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads a stored validation parameter. Principals that are not MSP
    /// roles are skipped, as Fabric's helper does.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, EndorsementError> {
        let envelope = SignaturePolicyEnvelope::decode(bytes)?;
        let mut orgs = BTreeMap::new();
        for principal in envelope.identities {
            if principal.principal_classification == Classification::Role as i32 {
                let role = MspRole::decode(principal.principal.as_slice())?;
                let parsed = Role::try_from(role.role)
                    .map_err(|_| EndorsementError::UnknownRole(role.role))?;
                orgs.insert(role.msp_identifier, parsed);
            }
        }
        Ok(Self { orgs })
    }

    /// Requires an endorsement by `role` from each of `msp_ids`.
    pub fn add_orgs<S: Into<String>>(
        &mut self,
        role: Role,
        msp_ids: impl IntoIterator<Item = S>,
    ) -> &mut Self {
        for msp_id in msp_ids {
            self.orgs.insert(msp_id.into(), role);
        }
        self
    }

    /// Drops the requirement for each of `msp_ids`.
    pub fn del_orgs<'a>(&mut self, msp_ids: impl IntoIterator<Item = &'a str>) -> &mut Self {
        for msp_id in msp_ids {
            self.orgs.remove(msp_id);
        }
        self
    }

    /// The organisations required, sorted by MSP id, with their roles.
    pub fn orgs(&self) -> impl Iterator<Item = (&str, Role)> {
        self.orgs.iter().map(|(id, role)| (id.as_str(), *role))
    }

    /// The serialised `SignaturePolicyEnvelope`, ready for
    /// `Stub::set_state_validation_parameter`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let identities = self
            .orgs
            .iter()
            .map(|(msp_id, role)| MspPrincipal {
                principal_classification: Classification::Role as i32,
                principal: MspRole {
                    msp_identifier: msp_id.clone(),
                    role: *role as i32,
                }
                .encode_to_vec(),
            })
            .collect();
        let rules = (0..self.orgs.len())
            .map(|index| SignaturePolicy {
                r#type: Some(Rule::SignedBy(signed_by(index))),
            })
            .collect();
        SignaturePolicyEnvelope {
            version: 0,
            rule: Some(SignaturePolicy {
                r#type: Some(Rule::NOutOf(NOutOf {
                    n: signed_by(self.orgs.len()),
                    rules,
                })),
            }),
            identities,
        }
        .encode_to_vec()
    }
}

/// Policy indices are int32 on the wire; no policy has 2^31 organisations.
fn signed_by(index: usize) -> i32 {
    i32::try_from(index).unwrap_or(i32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_an_all_of_policy_sorted_by_msp_id() {
        let mut policy = KeyEndorsementPolicy::new();
        policy.add_orgs(Role::Peer, ["Org2MSP", "Org1MSP"]);
        let envelope = SignaturePolicyEnvelope::decode(policy.to_bytes().as_slice()).unwrap();
        let msps: Vec<String> = envelope
            .identities
            .iter()
            .map(|p| {
                MspRole::decode(p.principal.as_slice())
                    .unwrap()
                    .msp_identifier
            })
            .collect();
        assert_eq!(msps, ["Org1MSP", "Org2MSP"]);
        let Some(SignaturePolicy {
            r#type: Some(Rule::NOutOf(n_of)),
        }) = envelope.rule
        else {
            panic!("expected an n-out-of rule");
        };
        assert_eq!(n_of.n, 2);
        assert_eq!(n_of.rules[1].r#type, Some(Rule::SignedBy(1)));
    }

    #[test]
    fn round_trips_and_edits() {
        let mut policy = KeyEndorsementPolicy::new();
        policy
            .add_orgs(Role::Peer, ["A", "B"])
            .add_orgs(Role::Member, ["C"])
            .del_orgs(["B"]);
        let read = KeyEndorsementPolicy::from_bytes(&policy.to_bytes()).unwrap();
        assert_eq!(read, policy);
        assert_eq!(
            read.orgs().collect::<Vec<_>>(),
            [("A", Role::Peer), ("C", Role::Member)]
        );
    }

    #[test]
    fn matches_fabrics_encoding_of_one_peer_role() {
        let mut policy = KeyEndorsementPolicy::new();
        policy.add_orgs(Role::Peer, ["O"]);
        // Envelope{rule: NOutOf{n:1, rules:[SignedBy 0]}, identities:[ROLE, MSPRole{"O", PEER}]}.
        let expected = [
            0x12, 0x08, 0x12, 0x06, 0x08, 0x01, 0x12, 0x02, 0x08, 0x00, //
            0x1a, 0x07, 0x12, 0x05, 0x0a, 0x01, b'O', 0x10, 0x03,
        ];
        assert_eq!(policy.to_bytes(), expected);
    }

    #[test]
    fn rejects_garbage_and_unknown_roles() {
        assert!(matches!(
            KeyEndorsementPolicy::from_bytes(&[0xff, 0xff]),
            Err(EndorsementError::Decode(_))
        ));
        let bad = SignaturePolicyEnvelope {
            identities: vec![MspPrincipal {
                principal_classification: Classification::Role as i32,
                principal: MspRole {
                    msp_identifier: "A".into(),
                    role: 9,
                }
                .encode_to_vec(),
            }],
            ..SignaturePolicyEnvelope::default()
        };
        assert!(matches!(
            KeyEndorsementPolicy::from_bytes(&bad.encode_to_vec()),
            Err(EndorsementError::UnknownRole(9))
        ));
    }
}
