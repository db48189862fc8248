//! Two networks on in-memory ledgers, each running the real `ehrx`
//! chaincode: real certificates (P-256, issued by a throwaway CA per
//! network), real Ed25519 network keys, real HPKE sealing, proofs of
//! validation endorsed with the networks' peer keys, and a ledger snapshot
//! to prove that a refused call wrote nothing.

use std::{collections::BTreeMap, sync::Arc};

use base64::Engine as _;
use ed25519_dalek::SigningKey;
use ehrx_chaincode::{
    ehr::{self, state},
    proto::exchange::{
        ForwardedEnvelope, Purpose, Record, RecordBundle, Reply, ReplyStatus, Request, SignedReply,
        SignedRequest, ValidationProof,
        forwarded_envelope::Payload,
        proof::testing as proof_testing,
        seal::{DecryptionKey, SealContext, seal},
    },
    shim::{
        contract::ContractChaincode,
        testing::{Invocation, MemoryLedger, Outcome},
    },
};
use ehrx_interface::{
    ContractFailure, ErrorCode, Key32,
    limits::{DEFAULT_RATE_LIMIT_MAX, DEFAULT_RATE_LIMIT_WINDOW_SECONDS, MAX_ERROR_BYTES},
    names::{CHAINCODE, Forwarded, function, private},
    rules::{PRIVILEGE_REQUEST, record_id},
    types::{
        AuditEntry, Challenge, EhrUpload, MemberIdentity, NetworkConfig, NetworkStatus,
        NetworkTrust, Outcome as ExchangeOutcome, OutcomeKind, RemoteNetwork, ReplyProof,
        RequestProof, RequestRecords, RequesterRegistration, TrustedOrganization,
        VerificationPolicy,
    },
};
use ehrx_testkit::pki::Ca;
use hlf_identity::{PrivateKey, Signer};
use hlf_protos::{msp::SerializedIdentity, peer::ChaincodeEvent};
use prost::Message;
use prost_types::Timestamp;
use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;
use sha2::{Digest, Sha256};

pub const NET1: &str = "net1";
pub const NET2: &str = "net2";
/// The channel of the in-memory ledgers, which proofs name.
pub const CHANNEL: &str = "channel";
/// 2024-01-01T00:00:00Z, where the in-memory ledger's clock starts.
pub const EPOCH: i64 = 1_704_067_200;
/// The doctor's requester code on net1.
pub const DOCTOR_CODE: &str = "DOC-1";

/// `value` as the JSON text of an argument.
pub fn json(value: &impl Serialize) -> String {
    serde_json::to_string(value).unwrap()
}

/// A contract result, parsed as `T`.
pub fn parse<T: DeserializeOwned>(payload: &[u8]) -> T {
    serde_json::from_slice(payload).unwrap_or_else(|e| {
        panic!(
            "unreadable result {}: {e}",
            String::from_utf8_lossy(payload)
        )
    })
}

/// The JSON result of a call of `function` that must have succeeded and
/// committed.
pub fn succeeded(function: &str, outcome: &Outcome) -> Value {
    assert_eq!(
        outcome.response.status, 200,
        "{function:?} failed: {}",
        outcome.response.message
    );
    assert!(outcome.committed);
    parse(&outcome.response.payload)
}

/// Fails unless `message` (a refusal, a reason) mentions `expected`.
#[track_caller]
pub fn assert_mentions(message: &str, expected: &str) {
    assert!(
        message.contains(expected),
        "{expected:?} is not in {message:?}"
    );
}

/// The code of a refusal; fails unless the message is in the wire form
/// `[CODE] text` and within the contract's bound.
pub fn code(message: &str) -> ErrorCode {
    assert!(
        message.len() <= MAX_ERROR_BYTES,
        "{} bytes: {}…",
        message.len(),
        &message[..message.floor_char_boundary(200)]
    );
    match ContractFailure::from_wire(message) {
        Some(failure) => failure.code,
        None => panic!("not in the wire form: {message}"),
    }
}

/// An exchange function's result, which must have `expected` as outcome.
pub fn assert_outcome(result: &Value, expected: OutcomeKind) -> ExchangeOutcome {
    let outcome: ExchangeOutcome = serde_json::from_value(result.clone()).unwrap();
    assert_eq!(outcome.outcome, expected, "{result}");
    outcome
}

/// A client identity with its signing key.
#[derive(Debug, Clone)]
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

    /// An identity of MSP `msp_id` issued by a CA that calls itself
    /// `ca_subject` (seeded with `seed`, the identity with `seed + 1`), a
    /// CA no network registered unless a test does.
    pub fn of_another_ca(ca_subject: &str, msp_id: &str, subject: &str, seed: u8) -> (Ca, Self) {
        let ca = Ca::new(ca_subject, seed);
        let person = Self::issue(&ca, msp_id, subject, seed + 1);
        (ca, person)
    }

    /// Its registry entry.
    pub fn member(&self) -> MemberIdentity {
        MemberIdentity {
            msp_id: self.msp_id.clone(),
            certificate: self.cert_pem.clone(),
        }
    }

    /// Its registry entry as JSON.
    pub fn identity_json(&self) -> String {
        json(&self.member())
    }
}

/// Everything on a ledger a contract can write: every committed value of
/// the public state and the private collections, and the events.
#[derive(Debug, PartialEq)]
pub struct Snapshot {
    contents: BTreeMap<(String, String), Vec<u8>>,
    events: Vec<ChaincodeEvent>,
}

pub fn snapshot(ledger: &MemoryLedger) -> Snapshot {
    Snapshot {
        contents: ledger.contents(),
        events: ledger.events(),
    }
}

/// A request or a reply: signed by its author and submitted where it is
/// made (see [`World::submit`]).
pub trait Filed {
    /// Which of the two it is.
    const KIND: Forwarded;
    /// The outcome of a successful submission.
    const FILED: OutcomeKind;
    /// The request it is or answers.
    fn request_id(&self) -> &str;
    /// The message signed by `who`, serialised.
    fn signed_by(&self, who: &Person) -> Vec<u8>;
}

/// `Filed` for a message whose signed form is `$signed`.
macro_rules! filed {
    ($message:ty, $signed:ident, $kind:ident, $filed:ident) => {
        impl Filed for $message {
            const KIND: Forwarded = Forwarded::$kind;
            const FILED: OutcomeKind = OutcomeKind::$filed;
            fn request_id(&self) -> &str {
                &self.request_id
            }
            fn signed_by(&self, who: &Person) -> Vec<u8> {
                $signed::sign(self, who.creator.clone(), who.signer.as_ref())
                    .unwrap()
                    .encode_to_vec()
            }
        }
    };
}

filed!(Request, SignedRequest, Request, Validated);
filed!(Reply, SignedReply, Reply, Submitted);

/// The invocation of `args` (function name first) as the SDK sends it:
/// the parameters a function takes in the transient map
/// ([`function::transient_params`]) go there under their names, the rest
/// stay arguments (so extra ones reach the contract, to be refused).
pub fn invocation<A: Into<Vec<u8>>>(args: impl IntoIterator<Item = A>) -> Invocation {
    let mut args = args.into_iter().map(Into::into);
    let Some(name) = args.next() else {
        return Invocation::new(Vec::<Vec<u8>>::new());
    };
    let (positional, transient) = function::split_args(&String::from_utf8_lossy(&name), args);
    transient.into_iter().fold(
        Invocation::new(std::iter::once(name).chain(positional)),
        |invocation, (param, arg)| invocation.transient(param, arg),
    )
}

/// The subject of network `id`'s CA.
fn ca_subject(id: &str) -> String {
    format!("CN=ca.org1.{id}.example.com,O=org1.{id},C=US")
}

/// The subject of `common_name` in `unit` of network `id`'s org.
fn subject(id: &str, common_name: &str, unit: &str) -> String {
    format!("CN={common_name},OU={unit},O=org1.{id}")
}

/// One network: its ledger, chaincode, network key, admin and relay.
#[derive(Debug)]
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
    /// The ledger secret [`Network::configure`] sets.
    pub secret: [u8; 32],
}

impl Network {
    /// An unconfigured network `id` (number `n`, used for key seeds).
    pub fn new(id: &'static str, n: u8) -> Self {
        Self::on(id, n, MemoryLedger::new())
    }

    /// An unconfigured network `id` on `ledger`.
    pub fn on(id: &'static str, n: u8, ledger: MemoryLedger) -> Self {
        let msp_id = format!("Net{n}Org1MSP");
        let ca = Ca::new(&ca_subject(id), 10 * n);
        let member = |common_name: &str, unit: &str, seed: u8| {
            Person::issue(&ca, &msp_id, &subject(id, common_name, unit), seed)
        };
        let admin = member(&format!("Admin@org1.{id}"), "admin", 10 * n + 1);
        let relay = member(&format!("relay@org1.{id}"), "client", 10 * n + 2);
        let peer = member(&format!("peer0.org1.{id}"), "peer", 10 * n + 3);
        Self {
            id,
            ledger,
            chaincode: ehr::chaincode(),
            key: SigningKey::from_bytes(&[n; 32]),
            ca,
            msp_id,
            admin,
            relay,
            peer,
            secret: [0xc0 ^ n; 32],
        }
    }

    /// The committed value of `key` of a private family (see
    /// `ehrx_chaincode::ehr::state`), without its pad, if any.
    pub fn private_state(&self, key: &str) -> Option<Vec<u8>> {
        let secret = state::Secret::new(self.secret);
        let sealed = secret.seal_key(key).unwrap();
        let padded = self.ledger.private_of(state::STATE, &sealed)?;
        Some(padded[32..].to_vec())
    }

    /// The signed request validated here that a `RequestValidated` event
    /// (`payload`: the request id) names.
    pub fn signed_request(&self, payload: &[u8]) -> Vec<u8> {
        let request_id = std::str::from_utf8(payload).unwrap();
        self.private_state(&state::key::signed_request(request_id).unwrap())
            .unwrap()
    }

    /// The committed content of record `record_id`, if any.
    pub fn record_content(&self, record_id: &str) -> Option<Vec<u8>> {
        let key = state::Secret::new(self.secret).record_key(record_id);
        self.ledger.private_of(state::RECORDS, &key)
    }

    /// An impostor: `common_name` of this network's org and MSP in unit
    /// `unit`, issued by a CA with this network's CA's name but another
    /// key (seeded with `seed`, the identity with `seed + 1`).
    pub fn impostor(&self, common_name: &str, unit: &str, seed: u8) -> Person {
        let subject = subject(self.id, common_name, unit);
        Person::of_another_ca(&ca_subject(self.id), &self.msp_id, &subject, seed).1
    }

    /// A client of this network's org.
    pub fn person(&self, name: &str, seed: u8) -> Person {
        let common_name = format!("{name}@org1.{}", self.id);
        let subject = subject(self.id, &common_name, "client");
        Person::issue(&self.ca, &self.msp_id, &subject, seed)
    }

    pub async fn invoke(&self, invocation: Invocation) -> Outcome {
        self.ledger.invoke(&self.chaincode, &invocation).await
    }

    pub async fn call(&self, who: &Person, args: &[&[u8]]) -> Outcome {
        self.invoke(invocation(args.iter().map(|a| a.to_vec())).creator(who.creator.clone()))
            .await
    }

    /// Calls and expects success; returns the JSON result.
    pub async fn ok(&self, who: &Person, args: &[&[u8]]) -> Value {
        let outcome = self.call(who, args).await;
        succeeded(&String::from_utf8_lossy(args[0]), &outcome)
    }

    /// Calls `invocation`, expects an error, checks that nothing was
    /// written, and returns the message.
    pub async fn refused(&self, invocation: Invocation) -> String {
        let before = snapshot(&self.ledger);
        let outcome = self.invoke(invocation).await;
        assert_eq!(
            outcome.response.status,
            500,
            "expected an error, got {}",
            String::from_utf8_lossy(&outcome.response.payload)
        );
        assert!(!outcome.committed);
        assert!(outcome.event.is_none());
        assert_eq!(before, snapshot(&self.ledger), "a refused call wrote");
        outcome.response.message
    }

    /// [`Self::refused`] for a plain call.
    pub async fn err(&self, who: &Person, args: &[&[u8]]) -> String {
        self.refused(invocation(args.iter().map(|a| a.to_vec())).creator(who.creator.clone()))
            .await
    }

    /// An admin call of `function` with `argument` as JSON, expecting
    /// success.
    pub async fn admin(&self, function: &str, argument: &impl Serialize) -> Value {
        let argument = json(argument);
        self.ok(&self.admin, &[function.as_bytes(), argument.as_bytes()])
            .await
    }

    /// An admin call of `function` with `argument` (any bytes), which
    /// must be refused, writing nothing: the message.
    pub async fn admin_refused(&self, function: &str, argument: impl AsRef<[u8]>) -> String {
        self.err(&self.admin, &[function.as_bytes(), argument.as_ref()])
            .await
    }

    /// ConfigureNetwork with the default rate limit.
    pub async fn configure(&self) {
        let config = NetworkConfig {
            network_id: self.id.into(),
            rate_limit_max: DEFAULT_RATE_LIMIT_MAX,
            rate_limit_window_seconds: DEFAULT_RATE_LIMIT_WINDOW_SECONDS,
            consent_required: false,
            break_glass: false,
        };
        let invocation = invocation([
            function::CONFIGURE_NETWORK.as_bytes().to_vec(),
            json(&config).into_bytes(),
        ])
        .creator(self.admin.creator.clone())
        .transient(private::LEDGER_SECRET, self.secret.to_vec());
        succeeded(function::CONFIGURE_NETWORK, &self.invoke(invocation).await);
    }

    /// ConfigureNetwork again, now requiring consent, with break-glass
    /// allowed or not.
    pub async fn require_consent(&self, break_glass: bool) {
        let config = NetworkConfig {
            network_id: self.id.into(),
            rate_limit_max: DEFAULT_RATE_LIMIT_MAX,
            rate_limit_window_seconds: DEFAULT_RATE_LIMIT_WINDOW_SECONDS,
            consent_required: true,
            break_glass,
        };
        self.admin(function::CONFIGURE_NETWORK, &config).await;
    }

    /// `function` (PutConsent, RevokeConsent) by `who` with `consent`
    /// (any bytes) in the transient map.
    pub fn consent_call(function: &str, who: &Person, consent: &[u8]) -> Invocation {
        Invocation::new([function.as_bytes().to_vec()])
            .creator(who.creator.clone())
            .transient(ehrx_interface::names::CONSENT_TRANSIENT, consent.to_vec())
    }

    /// Adds `other` to the lookup table with `status`.
    pub async fn put_remote(&self, other: &Network, status: NetworkStatus) {
        let entry = RemoteNetwork::new(other.id, &other.key.verifying_key().to_bytes(), status);
        self.admin(function::PUT_REMOTE_NETWORK, &entry).await;
    }

    /// Adds `other` to the lookup table.
    pub async fn trust(&self, other: &Network) {
        self.put_remote(other, NetworkStatus::Active).await;
    }

    /// The trust `other`'s proofs need here: its one org and CA, its
    /// channel, every org must endorse.
    pub fn trust_json(&self, other: &Network) -> Value {
        let trust = NetworkTrust {
            network_id: other.id.into(),
            channel: CHANNEL.into(),
            organizations: vec![TrustedOrganization {
                msp_id: other.msp_id.clone(),
                root_certificates: vec![other.ca.issued.cert_pem.clone()],
            }],
            policy: VerificationPolicy::All,
            previous_grace_seconds: 0,
        };
        serde_json::to_value(trust).unwrap()
    }

    /// PutNetworkTrust of `other`.
    pub async fn trust_peers(&self, other: &Network) {
        self.admin(function::PUT_NETWORK_TRUST, &self.trust_json(other))
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
        let (proposal, hash) =
            proof_testing::proposal(CHANNEL, CHAINCODE, args, &self.relay.creator);
        let payload = proof_testing::response_payload(&hash, CHAINCODE, status, result);
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

    /// Registers `who` with `function` (RegisterRelay, RegisterResponder,
    /// RegisterUploader).
    pub async fn register(&self, function: &str, who: &Person) {
        self.admin(function, &who.member()).await;
    }

    /// PutEhr by `uploader` of one record, `category`/`id`.
    pub fn put_ehr(
        uploader: &Person,
        id: &str,
        patient: &[u8; 32],
        category: &str,
        content: &[u8],
    ) -> Invocation {
        Network::upload(uploader, patient, &[(category, id, content)])
    }

    /// PutEhr by `uploader` of `records` (type, id, content), in order,
    /// as one upload.
    pub fn upload(
        uploader: &Person,
        patient: &[u8; 32],
        records: &[(&str, &str, &[u8])],
    ) -> Invocation {
        let metadata = EhrUpload {
            patient_ref: Key32::new(*patient),
            records: records
                .iter()
                .map(|(category, id, _)| record_id(category, id))
                .collect(),
        };
        let mut invocation = invocation([
            function::PUT_EHR.as_bytes().to_vec(),
            json(&metadata).into_bytes(),
        ])
        .creator(uploader.creator.clone());
        for (category, id, content) in records {
            invocation = invocation.transient(&record_id(category, id), content.to_vec());
        }
        invocation
    }

    /// PutEhr by `uploader` of one record, which must succeed: the
    /// upload's result.
    pub async fn store(
        &self,
        uploader: &Person,
        id: &str,
        patient: &[u8; 32],
        category: &str,
        content: &[u8],
    ) -> Value {
        let invocation = Network::put_ehr(uploader, id, patient, category, content);
        succeeded(function::PUT_EHR, &self.invoke(invocation).await)
    }

    /// GetRequestStatus of `request_id`, as `who` sees it.
    pub async fn status(&self, who: &Person, request_id: &str) -> Value {
        self.ok(
            who,
            &[
                function::GET_REQUEST_STATUS.as_bytes(),
                request_id.as_bytes(),
            ],
        )
        .await
    }

    /// The audit trail of `subject` (a patient ref in hex, `admin` or
    /// `security`), read by the admin.
    pub async fn audit_trail(&self, subject: &str) -> Vec<AuditEntry> {
        let trail = self
            .ok(
                &self.admin,
                &[function::AUDIT_TRAIL.as_bytes(), subject.as_bytes()],
            )
            .await;
        serde_json::from_value(trail).unwrap()
    }

    /// The kinds of the audit entries of `subject`, oldest first.
    pub async fn audit_kinds(&self, subject: &str) -> Vec<&'static str> {
        self.audit_trail(subject)
            .await
            .iter()
            .map(|entry| entry.kind.name())
            .collect()
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

/// The patient's two records on net2: (id, category, content).
fn stored_records() -> [(&'static str, &'static str, Vec<u8>); 2] {
    [
        ("cond-1", "Condition", condition()),
        ("obs-1", "Observation", observation()),
    ]
}

/// A request id, UUID v4 shaped.
pub fn request_id(n: u64) -> String {
    format!("00000000-0000-4000-8000-{n:012x}")
}

fn at_epoch() -> Option<Timestamp> {
    Some(Timestamp {
        seconds: EPOCH,
        nanos: 0,
    })
}

/// The request id a signed request or reply names, and the hex SHA-256
/// of its bytes: what a proof of it states.
pub fn facts(kind: Forwarded, signed: &[u8]) -> (String, String) {
    let request_id = match kind {
        Forwarded::Request => {
            let wrapper = SignedRequest::decode(signed).unwrap();
            Request::decode(wrapper.request.as_slice())
                .unwrap()
                .request_id
        }
        Forwarded::Reply => {
            let wrapper = SignedReply::decode(signed).unwrap();
            Reply::decode(wrapper.reply.as_slice()).unwrap().request_id
        }
    };
    (request_id, hex::encode(Sha256::digest(signed)))
}

/// The request id of a signed reply, and the hex SHA-256 of its bytes.
pub fn reply_facts(signed: &[u8]) -> (String, String) {
    facts(Forwarded::Reply, signed)
}

/// The last committed event of `ledger`.
pub fn last_event(ledger: &MemoryLedger) -> ChaincodeEvent {
    ledger.events().pop().unwrap()
}

/// The two networks with everything registered: the doctor on net1, the
/// responder, uploader and two records of the patient on net2.
#[derive(Debug)]
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
    /// The world on ledgers whose clock starts at [`EPOCH`].
    pub async fn new() -> Self {
        Self::on(MemoryLedger::new).await
    }

    /// The world on ledgers of the given kind.
    pub async fn on(ledger: impl Fn() -> MemoryLedger) -> Self {
        let net1 = Network::on(NET1, 1, ledger());
        let net2 = Network::on(NET2, 2, ledger());
        let doctor = net1.person("doctor", 13);
        let responder = net2.person("responder", 23);
        let uploader = net2.person("uploader", 24);
        let (doctor_key, doctor_public) = DecryptionKey::generate();
        let patient = [7u8; 32];

        for (net, other) in [(&net1, &net2), (&net2, &net1)] {
            net.configure().await;
            net.trust(other).await;
            net.trust_peers(other).await;
            net.register(function::REGISTER_RELAY, &net.relay).await;
        }
        let encryption_key = <[u8; 32]>::try_from(doctor_public.as_slice()).unwrap();
        let requester = RequesterRegistration::new(
            DOCTOR_CODE,
            doctor.member(),
            vec![PRIVILEGE_REQUEST.into()],
            &encryption_key,
        );
        net1.admin(function::REGISTER_REQUESTER, &requester).await;
        net2.register(function::REGISTER_RESPONDER, &responder)
            .await;
        net2.register(function::REGISTER_UPLOADER, &uploader).await;
        for (id, category, content) in stored_records() {
            net2.store(&uploader, id, &patient, category, &content)
                .await;
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
            requester_code: DOCTOR_CODE.into(),
            patient_ref: self.patient.to_vec(),
            purpose: Purpose::Treatment as i32,
            categories: Vec::new(),
            created_at: at_epoch(),
            requester_encryption_key: self.doctor_public.clone(),
        }
    }

    /// `request` signed by `who`, serialised.
    pub fn sign_request(&self, request: &Request, who: &Person) -> Vec<u8> {
        request.signed_by(who)
    }

    /// The network that proves `kind` of message and the one that checks
    /// the proof: requests go from net1 to net2, replies back.
    fn sides(&self, kind: Forwarded) -> (&Network, &Network) {
        match kind {
            Forwarded::Request => (&self.net1, &self.net2),
            Forwarded::Reply => (&self.net2, &self.net1),
        }
    }

    /// A signed message as the relay of the network it comes from
    /// forwards it.
    fn forward(&self, kind: Forwarded, signed: &[u8]) -> Vec<u8> {
        let payload = match kind {
            Forwarded::Request => Payload::SignedRequest(signed.to_vec()),
            Forwarded::Reply => Payload::SignedReply(signed.to_vec()),
        };
        self.sides(kind).0.attest(payload)
    }

    /// A signed request as net1's relay forwards it.
    pub fn forward_request(&self, signed: &[u8]) -> Vec<u8> {
        self.forward(Forwarded::Request, signed)
    }

    /// A signed reply as net2's relay forwards it.
    pub fn forward_reply(&self, signed: &[u8]) -> Vec<u8> {
        self.forward(Forwarded::Reply, signed)
    }

    /// A challenge the checking network issues for the proving network's
    /// next proof of `kind`: its nonce.
    async fn issue_challenge(&self, kind: Forwarded) -> String {
        let (prover, verifier) = self.sides(kind);
        let out = verifier
            .ok(
                &verifier.relay,
                &[function::ISSUE_CHALLENGE.as_bytes(), prover.id.as_bytes()],
            )
            .await;
        serde_json::from_value::<Challenge>(out)
            .unwrap()
            .nonce
            .to_hex()
    }

    /// A challenge net2 issues for net1's next proof: its nonce.
    pub async fn challenge(&self) -> String {
        self.issue_challenge(Forwarded::Request).await
    }

    /// The proving network's proof for challenge `nonce` that it holds
    /// `signed` (which must have been submitted there).
    async fn proof(&self, kind: Forwarded, signed: &[u8], nonce: &str) -> Vec<u8> {
        let (request_id, hash) = facts(kind, signed);
        self.sides(kind)
            .0
            .prove(kind.prove_function(), &request_id, &hash, nonce)
            .await
    }

    /// net1's proof, for a fresh challenge of net2, that it validated
    /// `signed` (which must have been submitted there).
    pub async fn prove(&self, signed: &[u8]) -> Vec<u8> {
        let nonce = self.challenge().await;
        self.prove_for(signed, &nonce).await
    }

    /// net1's proof for challenge `nonce` that it validated `signed`.
    pub async fn prove_for(&self, signed: &[u8], nonce: &str) -> Vec<u8> {
        self.proof(Forwarded::Request, signed, nonce).await
    }

    /// net2's proof, for a fresh challenge of net1, that it stored the
    /// signed reply `signed` (which must have been submitted there).
    pub async fn prove_reply(&self, signed: &[u8]) -> Vec<u8> {
        let nonce = self.issue_challenge(Forwarded::Reply).await;
        self.proof(Forwarded::Reply, signed, &nonce).await
    }

    /// What net1's ProveRequest answers for `signed` and `nonce`.
    pub fn request_statement(&self, signed: &[u8], nonce: &str) -> Value {
        self.statement(Forwarded::Request, signed, nonce)
    }

    /// What the proving network's Prove function answers for `signed`
    /// and `nonce`.
    fn statement(&self, kind: Forwarded, signed: &[u8], nonce: &str) -> Value {
        let (request_id, hash) = facts(kind, signed);
        let network_id = self.sides(kind).0.id.to_owned();
        let (hash, nonce) = (Key32::parse(&hash).unwrap(), Key32::parse(nonce).unwrap());
        match kind {
            Forwarded::Request => serde_json::to_value(RequestProof {
                network_id,
                request_id,
                signed_request_sha256: hash,
                nonce,
                validated: true,
            }),
            Forwarded::Reply => serde_json::to_value(ReplyProof {
                network_id,
                request_id,
                signed_reply_sha256: hash,
                nonce,
                validated: true,
            }),
        }
        .unwrap()
    }

    /// A proof of `kind` for `signed` and `nonce` whose endorsed result
    /// is `result`, endorsed by `endorsers` of the proving network.
    fn endorsed(
        &self,
        kind: Forwarded,
        signed: &[u8],
        nonce: &str,
        result: &[u8],
        endorsers: &[&Person],
    ) -> Vec<u8> {
        let (request_id, hash) = facts(kind, signed);
        let args: [&[u8]; 4] = [
            kind.prove_function().as_bytes(),
            request_id.as_bytes(),
            hash.as_bytes(),
            nonce.as_bytes(),
        ];
        self.sides(kind).0.endorse(&args, 200, result, endorsers)
    }

    /// A proof that net1 validated `signed` for `nonce`, with `result` as
    /// the endorsed answer, endorsed by `endorsers`.
    pub fn endorsed_request(
        &self,
        signed: &[u8],
        nonce: &str,
        result: &[u8],
        endorsers: &[&Person],
    ) -> Vec<u8> {
        self.endorsed(Forwarded::Request, signed, nonce, result, endorsers)
    }

    /// What the proving network's peers would endorse had `signed` been
    /// validated (or stored) there, for a fresh challenge: for the other
    /// network's own checks, whatever the proving ledger holds.
    async fn vouch(&self, kind: Forwarded, signed: &[u8]) -> Vec<u8> {
        let nonce = self.issue_challenge(kind).await;
        let statement = self.statement(kind, signed, &nonce).to_string();
        let peer = &self.sides(kind).0.peer;
        self.endorsed(kind, signed, &nonce, statement.as_bytes(), &[peer])
    }

    /// What net1's peers would endorse had `signed` been validated there.
    pub async fn vouched(&self, signed: &[u8]) -> Vec<u8> {
        self.vouch(Forwarded::Request, signed).await
    }

    /// What net2's peers would endorse had the reply `signed` been stored
    /// there.
    pub async fn vouched_reply(&self, signed: &[u8]) -> Vec<u8> {
        self.vouch(Forwarded::Reply, signed).await
    }

    /// The arguments of AcceptRequest (or AcceptReply) for `signed`,
    /// forwarded by the relay of its network with a fresh proof.
    async fn forwarded(&self, kind: Forwarded, signed: &[u8]) -> [Vec<u8>; 3] {
        let nonce = self.issue_challenge(kind).await;
        [
            kind.accept_function().as_bytes().to_vec(),
            self.forward(kind, signed),
            self.proof(kind, signed, &nonce).await,
        ]
    }

    /// The arguments of AcceptRequest for `signed`, forwarded by net1's
    /// relay with a fresh proof.
    pub async fn accept_args(&self, signed: &[u8]) -> [Vec<u8>; 3] {
        self.forwarded(Forwarded::Request, signed).await
    }

    /// The arguments of AcceptReply for `signed`, forwarded by net2's
    /// relay with a fresh proof.
    pub async fn accept_reply_args(&self, signed: &[u8]) -> [Vec<u8>; 3] {
        self.forwarded(Forwarded::Reply, signed).await
    }

    /// `signed` forwarded with a fresh proof and taken in by the other
    /// network's relay (AcceptRequest on net2, AcceptReply on net1).
    pub async fn deliver(&self, kind: Forwarded, signed: &[u8]) -> Outcome {
        let [function, envelope, proof] = self.forwarded(kind, signed).await;
        let verifier = self.sides(kind).1;
        verifier
            .call(&verifier.relay, &[&function, &envelope, &proof])
            .await
    }

    /// AcceptRequest of `signed` on net2 with net1's fresh proof, which
    /// must succeed: its result.
    pub async fn accept(&self, signed: &[u8]) -> Value {
        let outcome = self.deliver(Forwarded::Request, signed).await;
        succeeded(function::ACCEPT_REQUEST, &outcome)
    }

    /// AcceptRequest of `signed`, forwarded by net1's relay with `proof`,
    /// which must succeed: its result.
    pub async fn accept_with(&self, signed: &[u8], proof: &[u8]) -> Value {
        let envelope = self.forward_request(signed);
        let args: [&[u8]; 3] = [function::ACCEPT_REQUEST.as_bytes(), &envelope, proof];
        self.net2.ok(&self.net2.relay, &args).await
    }

    /// AcceptReply of `signed` on net1 with net2's fresh proof, which must
    /// succeed: its result.
    pub async fn accept_reply(&self, signed: &[u8]) -> Value {
        let outcome = self.deliver(Forwarded::Reply, signed).await;
        succeeded(function::ACCEPT_REPLY, &outcome)
    }

    /// An OK reply from net2 to request `request_id` listing `records`
    /// and sealing them to `key`.
    fn sealed_reply(request_id: &str, key: &[u8], records: Vec<Record>) -> Reply {
        let context = SealContext {
            request_id,
            replying_network: NET2,
            receiving_network: NET1,
        };
        let digests = records.iter().map(Record::digest).collect();
        let sealed = seal(key, &context, &RecordBundle { records }).unwrap();
        Reply {
            request_id: request_id.into(),
            replying_network: NET2.into(),
            receiving_network: NET1.into(),
            status: ReplyStatus::Ok as i32,
            reason: String::new(),
            records: digests,
            sealed_records: Some(sealed),
            created_at: at_epoch(),
        }
    }

    /// An OK reply to `request` disclosing both records, sealed to the
    /// doctor.
    pub fn reply_ok(&self, request: &Request) -> Reply {
        let records = stored_records()
            .into_iter()
            .map(|(id, category, content)| Record {
                record_id: record_id(category, id),
                category: category.into(),
                content,
            })
            .collect();
        Self::sealed_reply(
            &request.request_id,
            &request.requester_encryption_key,
            records,
        )
    }

    /// GetRequestRecords of `request_id` by the responder on net2.
    pub async fn request_records(&self, request_id: &str) -> RequestRecords {
        let out = self
            .net2
            .ok(
                &self.responder,
                &[
                    function::GET_REQUEST_RECORDS.as_bytes(),
                    request_id.as_bytes(),
                ],
            )
            .await;
        serde_json::from_value(out).unwrap()
    }

    /// The OK reply a responder forms from what GetRequestRecords
    /// returned: every record, each checked against its listed hash.
    pub fn reply_from(&self, fetched: &RequestRecords) -> Reply {
        assert_eq!(fetched.source_network, NET1);
        let records = fetched
            .records
            .iter()
            .map(|record| {
                let content = base64::engine::general_purpose::STANDARD
                    .decode(&record.content)
                    .unwrap();
                assert_eq!(
                    Sha256::digest(&content).as_slice(),
                    record.sha256.bytes(),
                    "{}",
                    record.record_id
                );
                Record {
                    record_id: record.record_id.clone(),
                    category: record.category.clone(),
                    content,
                }
            })
            .collect();
        Self::sealed_reply(
            &fetched.request_id,
            fetched.requester_encryption_key.bytes(),
            records,
        )
    }

    /// A refusal of request `request_id` with `status` and `reason`.
    pub fn refusal(&self, request_id: &str, status: ReplyStatus, reason: &str) -> Reply {
        Reply {
            request_id: request_id.into(),
            replying_network: NET2.into(),
            receiving_network: NET1.into(),
            status: status as i32,
            reason: reason.into(),
            records: Vec::new(),
            sealed_records: None,
            created_at: at_epoch(),
        }
    }

    /// A refusal of `request`.
    pub fn reply_refusal(&self, request: &Request, status: ReplyStatus) -> Reply {
        self.refusal(&request.request_id, status, "no consent on file")
    }

    /// `reply` signed by `who`, serialised.
    pub fn sign_reply(&self, reply: &Reply, who: &Person) -> Vec<u8> {
        reply.signed_by(who)
    }

    /// Where `kind` of message is made, by whom and with which function:
    /// requests by the doctor on net1 (SubmitRequest), replies by the
    /// responder on net2 (SubmitReply).
    fn author(&self, kind: Forwarded) -> (&Network, &Person, &'static str) {
        match kind {
            Forwarded::Request => (&self.net1, &self.doctor, function::SUBMIT_REQUEST),
            Forwarded::Reply => (&self.net2, &self.responder, function::SUBMIT_REPLY),
        }
    }

    /// `message` signed and submitted by its author, which must succeed
    /// for its request: the signed bytes.
    pub async fn submit<M: Filed>(&self, message: &M) -> Vec<u8> {
        let (network, author, function) = self.author(M::KIND);
        let signed = message.signed_by(author);
        let out = network.ok(author, &[function.as_bytes(), &signed]).await;
        assert_eq!(
            assert_outcome(&out, M::FILED).request_id,
            message.request_id()
        );
        signed
    }

    /// `message` signed and submitted by its author, which must be
    /// refused, writing nothing: the message.
    pub async fn submit_refused<M: Filed>(&self, message: &M) -> String {
        let signed = message.signed_by(self.author(M::KIND).1);
        self.filing_refused(M::KIND, &signed).await
    }

    /// `signed` (any bytes) submitted by the author of `kind`, which must
    /// be refused, writing nothing: the message.
    pub async fn filing_refused(&self, kind: Forwarded, signed: &[u8]) -> String {
        let (network, author, function) = self.author(kind);
        network.err(author, &[function.as_bytes(), signed]).await
    }

    /// `envelope` with `proof` delivered by the relay of the network that
    /// takes `kind` in (AcceptRequest on net2, AcceptReply on net1), which
    /// must refuse it, writing nothing: the message.
    pub async fn delivery_refused(&self, kind: Forwarded, envelope: &[u8], proof: &[u8]) -> String {
        let verifier = self.sides(kind).1;
        let function = kind.accept_function().as_bytes();
        verifier
            .err(&verifier.relay, &[function, envelope, proof])
            .await
    }

    /// Request `n` for a patient net2 has no records of, which net2 takes
    /// in on net1's word (never submitted there) and rejects.
    pub async fn rejected_request(&self, n: u64) -> Request {
        let mut request = self.request(n);
        request.patient_ref = vec![8; 32];
        let signed = self.sign_request(&request, &self.doctor);
        let envelope = self.forward_request(&signed);
        let proof = self.vouched(&signed).await;
        let out = self
            .net2
            .ok(
                &self.net2.relay,
                &[function::ACCEPT_REQUEST.as_bytes(), &envelope, &proof],
            )
            .await;
        assert_outcome(&out, OutcomeKind::Rejected);
        request
    }

    /// Runs request `n` through SubmitRequest and AcceptRequest; returns
    /// the request and its signed bytes.
    pub async fn accepted_request(&self, n: u64) -> (Request, Vec<u8>) {
        let request = self.request(n);
        let signed = self.submit(&request).await;
        assert_outcome(&self.accept(&signed).await, OutcomeKind::Accepted);
        (request, signed)
    }

    /// Runs request `n` through to an OK reply submitted on net2; returns
    /// the request and the signed reply.
    pub async fn replied_request(&self, n: u64) -> (Request, Vec<u8>) {
        let (request, _) = self.accepted_request(n).await;
        let signed = self.submit(&self.reply_ok(&request)).await;
        (request, signed)
    }
}
