//! Client side of the EHR exchange. The [`fabric`] module is the Fabric
//! Gateway client (`hlf-gateway`, which knows nothing of EHRs); the [`ehr`]
//! module, the API that hospital applications embed, builds on it. The
//! relay and the responders are services on top, in `ehrx-services`.
//!
//! # The EHR API
//!
//! An [`EhrClient`](ehr::EhrClient) is one user (a clinician, an uploader,
//! an admin) of one network's EHR contract:
//!
//! 1. [`patient_ref`](ehr::PatientIdentifiers::patient_ref): the patient's
//!    name, date of birth and SSN, normalised and keyed with HMAC-SHA-256
//!    under the consortium's [`MatchingKey`](ehr::MatchingKey); identifiers
//!    never leave the SDK;
//! 2. [`upload_record`](ehr::EhrClient::upload_record): a FHIR R4 resource
//!    or Bundle (transaction Bundles too), one record per resource keyed
//!    `Type/id`, the whole upload one transaction endorsed by every
//!    organisation;
//! 3. [`request_history`](ehr::EhrClient::request_history): sign and file a
//!    request to another network, then wait (with a deadline) for its
//!    outcome; the records are sealed to the requester's registered
//!    [`RequesterKey`](ehr::RequesterKey), and each request's reply key is
//!    kept in a [`KeyStore`](ehr::KeyStore);
//! 4. [`read_reply`](ehr::EhrClient::read_reply): fetch, verify the
//!    signature, decrypt, and check every record against its listed hash;
//! 5. [`ClinicalSummary`](ehr::ClinicalSummary): the records as text or as
//!    a standalone HTML page in the International Patient Summary's order,
//!    with a [`Provenance`](ehr::Provenance) banner and vital-sign trends,
//!    and [`ips_document`](ehr::ips_document): a FHIR IPS document Bundle.
//!
//! ```no_run
//! use std::{path::Path, sync::Arc, time::Duration};
//!
//! use ehrx_client::ehr::{
//!     ClinicalSummary, EhrClient, EhrSettings, FileKeyStore, HistoryOutcome, HistoryRequest,
//!     MatchingKey, PatientIdentifiers, RequesterKey,
//! };
//! use ehrx_client::fabric::{Gateway, NetworkDescription};
//! use ehrx_client::proto::exchange::Purpose;
//!
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! let net = NetworkDescription::load(Path::new(".network/net1/network.json"))?;
//! let org = net.organization("Net1Org1MSP")?;
//! let gateway = Gateway::new(
//!     org.peers[0].connection()?.connect().await?,
//!     org.signing_identity("User1")?,
//! );
//! let client = EhrClient::new(&gateway, EhrSettings::from_description(&net))
//!     // The code and the X25519 key an admin registered for this user.
//!     .with_requester_code("DR-0001")
//!     .with_requester_key(RequesterKey::load(Path::new("requester.key"))?)
//!     .with_key_store(Arc::new(FileKeyStore::open("reply-keys")?));
//!
//! let key = MatchingKey::from_file(Path::new("matching.key"))?;
//! let patient = PatientIdentifiers::new("Ada Lovelace", "1815-12-10", "900-12-3456")
//!     .patient_ref(&key)?;
//!
//! let requested = client
//!     .request_history(
//!         &HistoryRequest {
//!             patient_ref: patient,
//!             destination_network: "net2".into(),
//!             categories: Vec::new(),
//!             purpose: Purpose::Treatment,
//!         },
//!         Duration::from_secs(60),
//!     )
//!     .await?;
//! if requested.outcome == HistoryOutcome::ReplyReady {
//!     let reply = client.read_reply(&requested.pending.reply_key).await?;
//!     println!("{}", ClinicalSummary::from_resources(reply.resources()).to_text());
//! }
//! # Ok(())
//! # }
//! ```
//!
//! # The Fabric gateway client
//!
//! A transaction flows through one type per stage, as in Fabric's own
//! gateway clients:
//!
//! 1. a [`SigningIdentity`](fabric::SigningIdentity): an MSP id, an X.509
//!    certificate and a [`Signer`](fabric::Signer) (P-256 with low-S DER
//!    signatures, or Ed25519 on v3 channels; or your own, e.g. an HSM);
//! 2. a [`ConnectionBuilder`](fabric::ConnectionBuilder) makes the gRPC
//!    channel (TLS, mutual TLS, server-name override, Fabric-safe keepalive);
//!    one channel can serve many gateways;
//! 3. [`Gateway`](fabric::Gateway) → [`Network`](fabric::Network) (a
//!    channel) → [`Contract`](fabric::Contract) (a chaincode);
//! 4. [`Proposal`](fabric::Proposal) → evaluate, or endorse into a
//!    [`Transaction`](fabric::Transaction) → submit into a
//!    [`Commit`](fabric::Commit) → its [`Status`](fabric::Status).
//!
//! `Contract::evaluate`, `submit` and `submit_async` run the usual paths in
//! one call. Every stage exposes `bytes()` and `digest()`, and the gateway
//! rebuilds it from bytes plus a signature made elsewhere
//! (`Gateway::new_signed_*`), which is offline signing.
//!
//! Every call has a deadline: the gateway's [`Timeouts`](fabric::Timeouts)
//! by default, or one per call with the stage's `timeout` method. A
//! chaincode holding several contracts is reached with
//! [`Network::contract_with_name`](fabric::Network::contract_with_name).
//!
//! Events come from [`Network::chaincode_events`](fabric::Network::chaincode_events)
//! and the block event builders. A stream opens at once, before its first
//! block exists, so a listener can be opened and then the transaction it
//! waits for submitted; each stream is a `futures_core::Stream`, and
//! dropping it ends the call. A [`Checkpointer`](fabric::Checkpointer)
//! (in memory or [`FileCheckpointer`](fabric::FileCheckpointer)) records
//! the last event processed so a restarted listener resumes right after it.
//!
//! Failures are [`fabric::Error`] values naming the stage, the transaction
//! id, the validation code of a failed commit, and what each peer behind
//! the gateway answered.
//!
//! ```no_run
//! use std::path::Path;
//!
//! use ehrx_client::fabric::{
//!     Checkpointer, FileCheckpointer, Gateway, NetworkDescription,
//! };
//!
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! // Where the peers are and whose credentials to use: the description
//! // that `scripts/network.sh up` writes.
//! let net = NetworkDescription::load(Path::new(".network/net1/network.json"))?;
//! let org = net.organization("Net1Org1MSP")?;
//! let identity = org.signing_identity("User1")?;
//!
//! // Connect once; the channel can be shared by gateways of other users.
//! let channel = org.peers[0].connection()?.connect().await?;
//! let gateway = Gateway::new(channel, identity);
//! let network = gateway.network(&net.channel);
//!
//! // A query, run on one peer.
//! let info = network.contract("qscc").evaluate("GetChainInfo", [&net.channel]).await?;
//! println!("chain info: {} bytes", info.len());
//!
//! // A transaction: endorse, submit, and wait for the commit.
//! let contract = network.contract("ehr");
//! let committed = contract.submit("Put", ["key", "value"]).await?;
//! println!("committed in block {}", committed.status.block_number);
//!
//! // With transient data and named endorsers, stage by stage.
//! let transaction = contract
//!     .proposal("PutPrivate")
//!     .arg("key")
//!     .transient("record", b"{\"resourceType\":\"Patient\"}".to_vec())
//!     .endorsing_organizations(["Net1Org1MSP", "Net1Org2MSP"])
//!     .build()?
//!     .endorse()
//!     .await?;
//! let commit = transaction.submit().await?;
//! commit.status().await?.into_result()?;
//!
//! // Chaincode events, resuming after the last one processed.
//! let mut checkpointer = FileCheckpointer::open("listener-checkpoint.json")?;
//! let mut events = network
//!     .chaincode_events("ehr")
//!     .start_block(0)
//!     .checkpointer(&checkpointer)
//!     .build()
//!     .events()
//!     .await?;
//! while let Some(event) = events.next().await {
//!     let event = event?;
//!     println!("{} in block {}", event.event_name, event.block_number);
//!     checkpointer.checkpoint_chaincode_event(&event)?;
//! }
//! # Ok(())
//! # }
//! ```

pub use ehrx_proto as proto;
// The versions this crate's types come from: callers decode blocks and
// payloads with this `prost` and match `tonic::Code`s of call errors, with
// no risk of a second, mismatched version in their own dependencies.
pub use prost;
pub use tonic;

pub mod ehr;
pub mod fabric;
