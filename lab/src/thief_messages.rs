//! The messages whoever steals a network's relay host forges with a CA of
//! his own (issue 12): a request never submitted on that network, by a
//! doctor he minted, sealed to his own key; and a reply to a request the
//! other network never answered, by a responder he minted. Shared by the
//! stolen-relay-key test and the experiment's stolen-relay rows, so both
//! forge the same messages.

use ehrx_client::ehr::PatientRef;
use ehrx_proto::exchange::{Purpose, ReplyStatus};

use crate::NetworkDescription;
use crate::exchange::org;
use crate::forge::{UserKeys, signed_reply, signed_request};
use crate::thief::{Ca, minted_user, thief_ca};

/// The key the thief's forged requests are sealed to: his own.
pub const THIEF_SEALING_KEY: [u8; 32] = [0x5a; 32];

/// A CA the thief of `from`'s relay made for its org1 (from `seed`), and
/// `user` of org1 he minted with it (from `seed + 1`).
fn thief_user(from: &NetworkDescription, user: &str, seed: u8) -> anyhow::Result<(Ca, UserKeys)> {
    let org1 = org(from, "org1")?;
    let ca = thief_ca(org1, seed);
    let keys = minted_user(&ca, org1, user, seed.wrapping_add(1))?;
    Ok((ca, keys))
}

/// A CA the thief of `from`'s relay made for its org1 (from `seed`), and
/// with it a request `id` for `patient`, from `from` to `to`, for an
/// emergency, signed by a `User2` he minted (from `seed + 1`) and sealed to
/// [`THIEF_SEALING_KEY`].
pub fn forged_request(
    (from, to): (&NetworkDescription, &str),
    id: &str,
    patient: &PatientRef,
    seed: u8,
) -> anyhow::Result<(Ca, Vec<u8>)> {
    let (ca, doctor) = thief_user(from, "User2", seed)?;
    let signed = signed_request(
        (&from.name, to),
        id,
        patient,
        &THIEF_SEALING_KEY,
        Purpose::Emergency,
        &doctor,
    )?;
    Ok((ca, signed))
}

/// A CA the thief of `from`'s relay made for its org1 (from `seed`), and
/// with it a `NOT_FOUND` reply of `from` to `to`'s request `id`, signed by
/// a `User1` he minted (from `seed + 1`).
pub fn forged_reply(
    (from, to): (&NetworkDescription, &str),
    id: &str,
    seed: u8,
) -> anyhow::Result<(Ca, Vec<u8>)> {
    let (ca, responder) = thief_user(from, "User1", seed)?;
    let signed = signed_reply(id, (&from.name, to), ReplyStatus::NotFound, &responder)?;
    Ok((ca, signed))
}

#[cfg(test)]
mod tests {
    use prost::Message as _;

    use ehrx_proto::exchange::{Reply, Request, SignedReply, SignedRequest};

    use ehrx_client::ehr::interface::Forwarded;

    use super::*;

    fn net1() -> NetworkDescription {
        serde_json::from_value(serde_json::json!({
            "name": "net1", "title": "Network I", "channel": "ehrchannel",
            "fabric_version": "3.1.5", "channel_capability": "V3_0",
            "orderer_type": "raft", "orderers": [],
            "organizations": [{
                "name": "org1", "msp_id": "Net1Org1MSP", "domain": "org1.net1.example.com",
                "msp_dir": "/msp", "ca_cert": "/ca.pem", "tls_ca_cert": "/tlsca.pem",
                "peers": [], "users": [],
            }],
        }))
        .unwrap()
    }

    /// The message inside `signed`, a signed message of `kind`, after
    /// checking it was signed by `user` of org1 minted by `ca` from `seed`.
    fn signed_by<M: prost::Message + Default>(
        kind: Forwarded,
        signed: &[u8],
        ca: &Ca,
        (user, seed): (&str, u8),
    ) -> M {
        let (message, signer) = match kind {
            Forwarded::Request => {
                let signed = SignedRequest::decode(signed).unwrap();
                (signed.request, signed.signer)
            }
            Forwarded::Reply => {
                let signed = SignedReply::decode(signed).unwrap();
                (signed.reply, signed.signer)
            }
        };
        let minted = minted_user(ca, org(&net1(), "org1").unwrap(), user, seed).unwrap();
        assert_eq!(signer, minted.creator);
        M::decode(message.as_slice()).unwrap()
    }

    #[test]
    fn a_forged_request_is_an_emergency_sealed_to_the_thief_by_a_doctor_of_his_ca() {
        let patient = PatientRef::from_bytes([7; 32]);
        let (ca, signed) = forged_request((&net1(), "net2"), "r-1", &patient, 201).unwrap();
        let request: Request = signed_by(Forwarded::Request, &signed, &ca, ("User2", 202));
        let expected = Request {
            request_id: "r-1".into(),
            source_network: "net1".into(),
            destination_network: "net2".into(),
            patient_ref: vec![7; 32],
            purpose: Purpose::Emergency as i32,
            requester_encryption_key: vec![0x5a; 32],
            ..request.clone()
        };
        assert_eq!(request, expected);
        // The same seed makes the same CA, so its peers can be minted again.
        let (again, _) = forged_request((&net1(), "net2"), "r-2", &patient, 201).unwrap();
        assert_eq!(again.issued.cert_pem, ca.issued.cert_pem);
        let (other, _) = forged_request((&net1(), "net2"), "r-1", &patient, 202).unwrap();
        assert_ne!(other.issued.cert_pem, ca.issued.cert_pem);
    }

    #[test]
    fn a_forged_reply_says_not_found_to_the_request_it_names() {
        let (ca, signed) = forged_reply((&net1(), "net2"), "r-9", 221).unwrap();
        let reply: Reply = signed_by(Forwarded::Reply, &signed, &ca, ("User1", 222));
        let expected = Reply {
            request_id: "r-9".into(),
            replying_network: "net1".into(),
            receiving_network: "net2".into(),
            status: ReplyStatus::NotFound as i32,
            ..reply.clone()
        };
        assert_eq!(reply, expected);
    }
}
