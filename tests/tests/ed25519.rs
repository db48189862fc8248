//! Ed25519 client identities end to end. On a V3_0 channel (Fabric 3) a
//! doctor whose Fabric identity is Ed25519 requests a patient's history
//! from network II, whose responders are Ed25519 users too, so the request
//! and the reply are both Ed25519-signed and both chaincodes verify them.
//! On a V2_0 channel (Fabric 2.5 LTS) the same user is refused: by the SDK
//! with an error naming the capability, and by the peers themselves.

// Marks the helpers below as test code too, for clippy's unwrap rules.
#![cfg(test)]

use ehrx_client::ehr::{RequesterKey, interface::function};
use ehrx_client::fabric::config::ConfigError;
use ehrx_client::fabric::{Gateway, SigningIdentity};
use ehrx_lab::exchange::{
    ExchangeSetup, ed25519_user, identity, org, received_digests, uploaded_digests,
};
use ehrx_lab::networks::Networks;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ed25519_doctor_exchanges_on_v3_and_is_refused_on_v2() -> anyhow::Result<()> {
    let networks = Networks::up()?;
    let net1 = networks.get("net1")?;
    let doctor_org = org(net1, "org1")?;
    let doctor_user = ed25519_user(doctor_org)?;
    assert_eq!(doctor_org.user(&doctor_user)?.key_type, "ed25519");

    if net1.channel_capability != "V3_0" {
        refused_on_v2(net1, &doctor_user).await?;
        return networks.down();
    }

    let mut setup = ExchangeSetup::configure(&networks).await?;
    let doctor = setup
        .register_requester(
            "org1",
            &doctor_user,
            "DR-ED25519",
            RequesterKey::generate()?,
        )
        .await?;
    for org_name in ["org1", "org2"] {
        let responder_org = org(setup.net2, org_name)?;
        let member = identity(responder_org, &ed25519_user(responder_org)?)?;
        setup
            .admin_submit("net2", function::REGISTER_RESPONDER, member)
            .await?;
    }
    let (patient_ref, uploaded) = setup.upload_patient(11).await?;

    setup.start_relays()?;
    // Only the Ed25519 responders run: whichever wins, the reply is signed
    // with an Ed25519 key.
    setup.start_responders_as(ed25519_user).await?;

    let requested = setup.request_from_net2(&doctor, patient_ref).await?;
    let reply = doctor.read_reply(&requested.pending.reply_key).await?;
    assert_eq!(received_digests(&reply), uploaded_digests(&uploaded));

    setup.stop().await?;
    networks.down()
}

/// On V2_0 the SDK refuses the identity before sending anything, naming the
/// capability; and the peers refuse it too when it is sent regardless.
async fn refused_on_v2(net1: &ehrx_lab::NetworkDescription, user: &str) -> anyhow::Result<()> {
    let doctor_org = org(net1, "org1")?;
    let err = doctor_org
        .signing_identity(user)
        .err()
        .ok_or_else(|| anyhow::anyhow!("the SDK accepted an Ed25519 user on V2_0"))?;
    assert!(
        matches!(&err, ConfigError::Ed25519NeedsV3 { capability, .. } if capability == "V2_0"),
        "{err}"
    );
    assert!(err.to_string().contains("V3_0"), "{err}");

    let credentials = doctor_org.user(user)?;
    let identity = SigningIdentity::from_pem_files(
        doctor_org.msp_id.clone(),
        &credentials.cert,
        &credentials.key,
    )?;
    let peer = doctor_org
        .peers
        .first()
        .ok_or_else(|| anyhow::anyhow!("org1 has no peer"))?;
    let gateway = Gateway::new(peer.connection()?.connect().await?, identity);
    let contract = gateway.network(&net1.channel).contract("ehrx");
    let refused = contract.evaluate("AuditTrail", ["admin"]).await;
    assert!(
        refused.is_err(),
        "a Fabric 2.5 peer accepted an Ed25519-signed proposal"
    );
    Ok(())
}
