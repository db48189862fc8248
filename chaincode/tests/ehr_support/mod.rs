#![cfg(test)]
//! Fixtures for the EHR contract tests: two networks on in-memory ledgers,
//! real certificates (P-256, issued by a throwaway CA per network), real
//! Ed25519 network keys, real HPKE sealing, and a ledger snapshot to prove
//! that a refused call wrote nothing.

// Each test crate uses a different part of the fixtures.
#![allow(dead_code)]

use std::{collections::BTreeMap, sync::Arc};

use ed25519_dalek::SigningKey;
use ehrx_chaincode::{
    ehr,
    proto::exchange::{
        ForwardedEnvelope, Purpose, Record, RecordBundle, RecordDigest, Reply, ReplyStatus,
        Request, SignedReply, SignedRequest, ValidationProof,
        forwarded_envelope::Payload,
        proof::testing as proof_testing,
        seal::{DecryptionKey, SealContext, seal},
    },
    shim::{
        contract::ContractChaincode,
        testing::{Invocation, MemoryLedger, Outcome},
    },
};
use hlf_identity::{PrivateKey, Signer};
use hlf_protos::msp::SerializedIdentity;
use hlf_protos::peer::ChaincodeEvent;
use prost::Message;
use prost_types::Timestamp;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::common::pki::Ca;

pub const NET1: &str = "net1";
pub const NET2: &str = "net2";
/// The channel of the in-memory ledgers, which proofs name.
pub const CHANNEL: &str = "channel";
/// 2024-01-01T00:00:00Z, where the in-memory ledger's clock starts.
pub const EPOCH: i64 = 1_704_067_200;

/// Every object type of the state layout (see `ehr::state`).
const OBJECT_TYPES: &[&str] = &[
    "ehrx.config",
    "ehrx.network",
    "ehrx.trust",
    "ehrx.trust-retiring",
    "ehrx.challenge",
    "ehrx.requester",
    "ehrx.requester-of",
    "ehrx.role",
    "ehrx.flag",
    "ehrx.rate",
    "ehrx.request",
    "ehrx.requests-of",
    "ehrx.record",
    "ehrx.patient-record",
    "ehrx.audit",
];

/// A client identity with its signing key.
#[derive(Clone)]
pub struct Person {
    pub msp_id: String,
    pub cert_pem: String,
    pub creator: Vec<u8>,
    pub signer: Arc<dyn Signer>,
}

impl Person {
    pub fn issue(ca: &Ca, msp_id: &str, subject: &str, seed: u8) -> Self {
        let issued = ca.issue(subject, seed, Vec::new());
        let creator = SerializedIdentity {
            mspid: msp_id.to_owned(),
            id_bytes: issued.cert_pem.clone().into_bytes(),
        }
        .encode_to_vec();
        Self {
            msp_id: msp_id.to_owned(),
            cert_pem: issued.cert_pem,
            creator,
            signer: PrivateKey::from_pem(&issued.key_pem).unwrap().into_signer(),
        }
    }

    /// `{"msp_id", "certificate"}`.
    pub fn identity_json(&self) -> String {
        json!({"msp_id": self.msp_id, "certificate": self.cert_pem}).to_string()
    }
}

/// Everything on a ledger a contract can write: public state (composite
/// and simple keys), both private collections, and the events.
#[derive(Debug, PartialEq)]
pub struct Snapshot {
    state: BTreeMap<String, Vec<u8>>,
    private: BTreeMap<(String, String), Vec<u8>>,
    events: Vec<ChaincodeEvent>,
}

pub async fn snapshot(ledger: &MemoryLedger) -> Snapshot {
    let transaction = ledger.begin(&Invocation::new(["snapshot"])).unwrap();
    let stub = transaction.stub();
    let mut state = BTreeMap::new();
    for object_type in OBJECT_TYPES {
        for kv in stub
            .get_state_by_partial_composite_key(object_type, &[])
            .await
            .unwrap()
            .collect()
            .await
            .unwrap()
        {
            state.insert(kv.key, kv.value);
        }
    }
    for kv in stub
        .get_state_by_range("", "")
        .await
        .unwrap()
        .collect()
        .await
        .unwrap()
    {
        state.insert(kv.key, kv.value);
    }
    let mut private = BTreeMap::new();
    for collection in [ehr::state::RECORDS, ehr::state::REPLIES] {
        for kv in stub
            .get_private_data_by_range(collection, "", "")
            .await
            .unwrap()
            .collect()
            .await
            .unwrap()
        {
            private.insert((collection.to_owned(), kv.key), kv.value);
        }
    }
    Snapshot {
        state,
        private,
        events: ledger.events(),
    }
}

/// One network: its ledger, chaincode, network key, admin and relay.
pub struct Network {
    pub id: &'static str,
    pub ledger: MemoryLedger,
    pub chaincode: ContractChaincode,
    pub key: SigningKey,
    pub ca: Ca,
    pub msp_id: String,
    pub admin: Person,
    pub relay: Person,
    /// The org's peer: it endorses this network's proofs of validation.
    pub peer: Person,
}

impl Network {
    /// An unconfigured network `id` (number `n`, used for key seeds).
    pub fn new(id: &'static str, n: u8) -> Self {
        let msp_id = format!("Net{n}Org1MSP");
        let ca = Ca::new(
            &format!("CN=ca.org1.{id}.example.com,O=org1.{id},C=US"),
            10 * n,
        );
        let admin = Person::issue(
            &ca,
            &msp_id,
            &format!("CN=Admin@org1.{id},OU=admin,O=org1.{id}"),
            10 * n + 1,
        );
        let relay = Person::issue(
            &ca,
            &msp_id,
            &format!("CN=relay@org1.{id},OU=client,O=org1.{id}"),
            10 * n + 2,
        );
        let peer = Person::issue(
            &ca,
            &msp_id,
            &format!("CN=peer0.org1.{id},OU=peer,O=org1.{id}"),
            10 * n + 3,
        );
        Self {
            id,
            ledger: MemoryLedger::new(),
            chaincode: ehr::chaincode(),
            key: SigningKey::from_bytes(&[n; 32]),
            ca,
            msp_id,
            admin,
            relay,
            peer,
        }
    }

    /// A client of this network's org.
    pub fn person(&self, name: &str, seed: u8) -> Person {
        Person::issue(
            &self.ca,
            &self.msp_id,
            &format!("CN={name}@org1.{},OU=client,O=org1.{}", self.id, self.id),
            seed,
        )
    }

    pub async fn invoke(&self, invocation: Invocation) -> Outcome {
        self.ledger.invoke(&self.chaincode, &invocation).await
    }

    pub async fn call(&self, who: &Person, args: &[&[u8]]) -> Outcome {
        self.invoke(Invocation::new(args.iter().map(|a| a.to_vec())).creator(who.creator.clone()))
            .await
    }

    /// Calls and expects success; returns the JSON result.
    pub async fn ok(&self, who: &Person, args: &[&[u8]]) -> Value {
        let outcome = self.call(who, args).await;
        assert_eq!(
            outcome.response.status,
            200,
            "{:?} failed: {}",
            String::from_utf8_lossy(args[0]),
            outcome.response.message
        );
        assert!(outcome.committed);
        serde_json::from_slice(&outcome.response.payload).unwrap()
    }

    /// Calls `invocation`, expects an error, checks that nothing was
    /// written, and returns the message.
    pub async fn refused(&self, invocation: Invocation) -> String {
        let before = snapshot(&self.ledger).await;
        let outcome = self.invoke(invocation).await;
        assert_eq!(
            outcome.response.status,
            500,
            "expected an error, got {}",
            String::from_utf8_lossy(&outcome.response.payload)
        );
        assert!(!outcome.committed);
        assert!(outcome.event.is_none());
        assert_eq!(before, snapshot(&self.ledger).await, "a refused call wrote");
        outcome.response.message
    }

    /// [`Self::refused`] for a plain call.
    pub async fn err(&self, who: &Person, args: &[&[u8]]) -> String {
        self.refused(Invocation::new(args.iter().map(|a| a.to_vec())).creator(who.creator.clone()))
            .await
    }

    /// ConfigureNetwork with defaults.
    pub async fn configure(&self) {
        let config = json!({"network_id": self.id}).to_string();
        self.ok(&self.admin, &[b"ConfigureNetwork", config.as_bytes()])
            .await;
    }

    /// Adds `other` to the lookup table.
    pub async fn trust(&self, other: &Network) {
        let entry = json!({
            "network_id": other.id,
            "network_key": hex::encode(other.key.verifying_key().to_bytes()),
            "status": "active",
        })
        .to_string();
        self.ok(&self.admin, &[b"PutRemoteNetwork", entry.as_bytes()])
            .await;
    }

    /// The trust `other`'s proofs need here: its one org and CA, its
    /// channel, every org must endorse.
    pub fn trust_json(&self, other: &Network) -> Value {
        json!({
            "network_id": other.id,
            "channel": CHANNEL,
            "organizations": [{
                "msp_id": other.msp_id,
                "root_certificates": [other.ca.issued.cert_pem],
            }],
            "policy": "all",
        })
    }

    /// PutNetworkTrust of `other`.
    pub async fn trust_peers(&self, other: &Network) {
        let trust = self.trust_json(other).to_string();
        self.ok(&self.admin, &[b"PutNetworkTrust", trust.as_bytes()])
            .await;
    }

    /// `function` (`ProveRequest` or `ProveReply`) on this network by its
    /// relay, endorsed by its peer as Fabric's gateway would return it: a
    /// serialised ValidationProof.
    pub async fn prove(
        &self,
        function: &str,
        request_id: &str,
        signed_sha256: &str,
        nonce: &str,
    ) -> Vec<u8> {
        let args: [&[u8]; 4] = [
            function.as_bytes(),
            request_id.as_bytes(),
            signed_sha256.as_bytes(),
            nonce.as_bytes(),
        ];
        let outcome = self.call(&self.relay, &args).await;
        assert_eq!(outcome.response.status, 200, "{}", outcome.response.message);
        self.endorse(&args, 200, &outcome.response.payload, &[&self.peer])
    }

    /// A proof of `args` answered `status` with `result`, endorsed by
    /// `endorsers` (with this network's MSP id).
    pub fn endorse(
        &self,
        args: &[&[u8]],
        status: i32,
        result: &[u8],
        endorsers: &[&Person],
    ) -> Vec<u8> {
        let (proposal, hash) = proof_testing::proposal(CHANNEL, "ehrx", args, &self.relay.creator);
        let payload = proof_testing::response_payload(&hash, "ehrx", status, result);
        ValidationProof {
            proposal,
            endorsements: endorsers
                .iter()
                .map(|who| {
                    proof_testing::endorse(
                        &payload,
                        &who.msp_id,
                        &who.cert_pem,
                        who.signer.as_ref(),
                    )
                })
                .collect(),
            proposal_response_payload: payload,
        }
        .encode_to_vec()
    }

    pub async fn register(&self, function: &str, who: &Person) {
        self.ok(
            &self.admin,
            &[function.as_bytes(), who.identity_json().as_bytes()],
        )
        .await;
    }

    /// PutEhr by `uploader`.
    pub fn put_ehr(
        uploader: &Person,
        record_id: &str,
        patient: &[u8; 32],
        category: &str,
        content: &[u8],
    ) -> Invocation {
        let metadata = json!({
            "record_id": record_id,
            "patient_ref": hex::encode(patient),
            "category": category,
        })
        .to_string();
        Invocation::new([b"PutEhr".to_vec(), metadata.into_bytes()])
            .creator(uploader.creator.clone())
            .transient("record", content.to_vec())
    }

    /// Wraps `payload` with this network's attestation.
    pub fn attest(&self, payload: Payload) -> Vec<u8> {
        ForwardedEnvelope::attest(payload, self.id, &self.key).encode_to_vec()
    }
}

pub fn condition() -> Vec<u8> {
    br#"{"resourceType":"Condition","id":"cond-1","code":{"text":"Asthma"}}"#.to_vec()
}

pub fn observation() -> Vec<u8> {
    br#"{"resourceType":"Observation","id":"obs-1","status":"final"}"#.to_vec()
}

/// A request id, UUID v4 shaped.
pub fn request_id(n: u64) -> String {
    format!("00000000-0000-4000-8000-{n:012x}")
}

/// The two networks with everything registered: the doctor on net1, the
/// responder, uploader and two records of the patient on net2.
pub struct World {
    pub net1: Network,
    pub net2: Network,
    pub doctor: Person,
    pub doctor_key: DecryptionKey,
    pub doctor_public: Vec<u8>,
    pub responder: Person,
    pub uploader: Person,
    pub patient: [u8; 32],
}

impl World {
    pub async fn new() -> Self {
        let net1 = Network::new(NET1, 1);
        let net2 = Network::new(NET2, 2);
        let doctor = net1.person("doctor", 13);
        let responder = net2.person("responder", 23);
        let uploader = net2.person("uploader", 24);
        let (doctor_key, doctor_public) = DecryptionKey::generate();
        let patient = [7u8; 32];

        net1.configure().await;
        net1.trust(&net2).await;
        net1.trust_peers(&net2).await;
        net1.register("RegisterRelay", &net1.relay).await;
        let requester = json!({
            "requester_code": "DOC-1",
            "msp_id": doctor.msp_id,
            "certificate": doctor.cert_pem,
            "privileges": ["request"],
            "encryption_key": hex::encode(&doctor_public),
        })
        .to_string();
        net1.ok(&net1.admin, &[b"RegisterRequester", requester.as_bytes()])
            .await;

        net2.configure().await;
        net2.trust(&net1).await;
        net2.trust_peers(&net1).await;
        net2.register("RegisterRelay", &net2.relay).await;
        net2.register("RegisterResponder", &responder).await;
        net2.register("RegisterUploader", &uploader).await;
        for (id, category, content) in [
            ("cond-1", "Condition", condition()),
            ("obs-1", "Observation", observation()),
        ] {
            let outcome = net2
                .invoke(Network::put_ehr(
                    &uploader, id, &patient, category, &content,
                ))
                .await;
            assert_eq!(outcome.response.status, 200, "{}", outcome.response.message);
        }
        Self {
            net1,
            net2,
            doctor,
            doctor_key,
            doctor_public,
            responder,
            uploader,
            patient,
        }
    }

    /// A well-formed request `n` from the doctor for every category.
    pub fn request(&self, n: u64) -> Request {
        Request {
            request_id: request_id(n),
            source_network: NET1.into(),
            destination_network: NET2.into(),
            requester_code: "DOC-1".into(),
            patient_ref: self.patient.to_vec(),
            purpose: Purpose::Treatment as i32,
            categories: Vec::new(),
            created_at: Some(Timestamp {
                seconds: EPOCH,
                nanos: 0,
            }),
            requester_encryption_key: self.doctor_public.clone(),
        }
    }

    /// `request` signed by `who`, serialised.
    pub fn sign_request(&self, request: &Request, who: &Person) -> Vec<u8> {
        SignedRequest::sign(request, who.creator.clone(), who.signer.as_ref())
            .unwrap()
            .encode_to_vec()
    }

    /// A signed request as net1's relay forwards it.
    pub fn forward_request(&self, signed: &[u8]) -> Vec<u8> {
        self.net1.attest(Payload::SignedRequest(signed.to_vec()))
    }

    /// A challenge net2 issues for net1's next proof: its nonce.
    pub async fn challenge(&self) -> String {
        let out = self
            .net2
            .ok(&self.net2.relay, &[b"IssueChallenge", NET1.as_bytes()])
            .await;
        out["nonce"].as_str().unwrap().to_owned()
    }

    /// net1's proof, for a fresh challenge of net2, that it validated
    /// `signed` (which must have been submitted there).
    pub async fn prove(&self, signed: &[u8]) -> Vec<u8> {
        let nonce = self.challenge().await;
        self.prove_for(signed, &nonce).await
    }

    /// net1's proof for challenge `nonce` that it validated `signed`.
    pub async fn prove_for(&self, signed: &[u8], nonce: &str) -> Vec<u8> {
        let wrapper = SignedRequest::decode(signed).unwrap();
        let request = Request::decode(wrapper.request.as_slice()).unwrap();
        let hash = hex::encode(Sha256::digest(signed));
        self.net1
            .prove("ProveRequest", &request.request_id, &hash, nonce)
            .await
    }

    /// What net1's peers would endorse had `signed` been validated there,
    /// for a fresh challenge: for net2's own checks of requests a source
    /// vouches for, whatever that source's ledger holds.
    pub async fn vouched(&self, signed: &[u8]) -> Vec<u8> {
        let nonce = self.challenge().await;
        let wrapper = SignedRequest::decode(signed).unwrap();
        let request = Request::decode(wrapper.request.as_slice()).unwrap();
        let hash = hex::encode(Sha256::digest(signed));
        let statement = json!({
            "network_id": NET1,
            "request_id": request.request_id,
            "signed_request_sha256": hash,
            "nonce": nonce,
            "validated": true,
        })
        .to_string();
        let args: [&[u8]; 4] = [
            b"ProveRequest",
            request.request_id.as_bytes(),
            hash.as_bytes(),
            nonce.as_bytes(),
        ];
        self.net1
            .endorse(&args, 200, statement.as_bytes(), &[&self.net1.peer])
    }

    /// net2's proof, for a fresh challenge of net1, that it stored the
    /// signed reply `signed` (which must have been submitted there).
    pub async fn prove_reply(&self, signed: &[u8]) -> Vec<u8> {
        let out = self
            .net1
            .ok(&self.net1.relay, &[b"IssueChallenge", NET2.as_bytes()])
            .await;
        let nonce = out["nonce"].as_str().unwrap().to_owned();
        let (request_id, hash) = reply_facts(signed);
        self.net2
            .prove("ProveReply", &request_id, &hash, &nonce)
            .await
    }

    /// What net2's peers would endorse had the reply `signed` been stored
    /// there, for a fresh challenge of net1.
    pub async fn vouched_reply(&self, signed: &[u8]) -> Vec<u8> {
        let out = self
            .net1
            .ok(&self.net1.relay, &[b"IssueChallenge", NET2.as_bytes()])
            .await;
        let nonce = out["nonce"].as_str().unwrap().to_owned();
        let (request_id, hash) = reply_facts(signed);
        let statement = json!({
            "network_id": NET2,
            "request_id": request_id,
            "signed_reply_sha256": hash,
            "nonce": nonce,
            "validated": true,
        })
        .to_string();
        let args: [&[u8]; 4] = [
            b"ProveReply",
            request_id.as_bytes(),
            hash.as_bytes(),
            nonce.as_bytes(),
        ];
        self.net2
            .endorse(&args, 200, statement.as_bytes(), &[&self.net2.peer])
    }

    /// The arguments of AcceptReply for `signed`, forwarded by net2's
    /// relay with a fresh proof.
    pub async fn accept_reply_args(&self, signed: &[u8]) -> [Vec<u8>; 3] {
        [
            b"AcceptReply".to_vec(),
            self.forward_reply(signed),
            self.prove_reply(signed).await,
        ]
    }

    /// The arguments of AcceptRequest for `signed`, forwarded by net1's
    /// relay with a fresh proof.
    pub async fn accept_args(&self, signed: &[u8]) -> [Vec<u8>; 3] {
        [
            b"AcceptRequest".to_vec(),
            self.forward_request(signed),
            self.prove(signed).await,
        ]
    }

    /// An OK reply to `request` disclosing both records, sealed to the
    /// doctor.
    pub fn reply_ok(&self, request: &Request) -> Reply {
        let records = [
            ("cond-1", "Condition", condition()),
            ("obs-1", "Observation", observation()),
        ];
        let context = SealContext {
            request_id: &request.request_id,
            replying_network: NET2,
            receiving_network: NET1,
        };
        let bundle = RecordBundle {
            records: records
                .iter()
                .map(|(id, category, content)| Record {
                    record_id: (*id).into(),
                    category: (*category).into(),
                    content: content.clone(),
                })
                .collect(),
        };
        Reply {
            request_id: request.request_id.clone(),
            replying_network: NET2.into(),
            receiving_network: NET1.into(),
            status: ReplyStatus::Ok as i32,
            reason: String::new(),
            records: records
                .iter()
                .map(|(id, category, content)| RecordDigest {
                    record_id: (*id).into(),
                    category: (*category).into(),
                    sha256: Sha256::digest(content).to_vec(),
                })
                .collect(),
            sealed_records: Some(
                seal(&request.requester_encryption_key, &context, &bundle).unwrap(),
            ),
            created_at: Some(Timestamp {
                seconds: EPOCH,
                nanos: 0,
            }),
        }
    }

    /// A refusal of `request`.
    pub fn reply_refusal(&self, request: &Request, status: ReplyStatus) -> Reply {
        Reply {
            request_id: request.request_id.clone(),
            replying_network: NET2.into(),
            receiving_network: NET1.into(),
            status: status as i32,
            reason: "no consent on file".into(),
            records: Vec::new(),
            sealed_records: None,
            created_at: Some(Timestamp {
                seconds: EPOCH,
                nanos: 0,
            }),
        }
    }

    pub fn sign_reply(&self, reply: &Reply, who: &Person) -> Vec<u8> {
        SignedReply::sign(reply, who.creator.clone(), who.signer.as_ref())
            .unwrap()
            .encode_to_vec()
    }

    /// A signed reply as net2's relay forwards it.
    pub fn forward_reply(&self, signed: &[u8]) -> Vec<u8> {
        self.net2.attest(Payload::SignedReply(signed.to_vec()))
    }

    /// Runs request `n` through SubmitRequest and AcceptRequest; returns
    /// the request and its signed bytes.
    pub async fn accepted_request(&self, n: u64) -> (Request, Vec<u8>) {
        let request = self.request(n);
        let signed = self.sign_request(&request, &self.doctor);
        let out = self
            .net1
            .ok(&self.doctor, &[b"SubmitRequest", &signed])
            .await;
        assert_eq!(out["outcome"], "validated", "{out}");
        let [function, envelope, proof] = self.accept_args(&signed).await;
        let out = self
            .net2
            .ok(&self.net2.relay, &[&function, &envelope, &proof])
            .await;
        assert_eq!(out["outcome"], "accepted", "{out}");
        (request, signed)
    }

    /// Runs request `n` through to an OK reply submitted on net2; returns
    /// the request and the signed reply.
    pub async fn replied_request(&self, n: u64) -> (Request, Vec<u8>) {
        let (request, _) = self.accepted_request(n).await;
        let signed = self.sign_reply(&self.reply_ok(&request), &self.responder);
        let out = self
            .net2
            .ok(&self.responder, &[b"SubmitReply", &signed])
            .await;
        assert_eq!(out["outcome"], "submitted", "{out}");
        (request, signed)
    }
}

/// The request id of a signed reply, and the hex SHA-256 of its bytes.
pub fn reply_facts(signed: &[u8]) -> (String, String) {
    let wrapper = SignedReply::decode(signed).unwrap();
    let reply = Reply::decode(wrapper.reply.as_slice()).unwrap();
    (reply.request_id, hex::encode(Sha256::digest(signed)))
}

/// The last committed event of `ledger`.
pub fn last_event(ledger: &MemoryLedger) -> ChaincodeEvent {
    ledger.events().pop().unwrap()
}
