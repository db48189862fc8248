//! `ehrx reply show`: read a reply as its requester. The library fetches
//! it, checks the responder's signature, decrypts it and checks every
//! record against its listed hash; this command finds the reply key and
//! renders the records as a clinical summary (text, or an HTML page with
//! a provenance banner), and can write them as a FHIR IPS document for the
//! clinician's own EHR. A reply that fails verification is never shown:
//! the HTML page then carries a red banner and no records, and the command
//! fails.
//!
//! The reply key comes from the key store `ehrx request` saved it in; a
//! requester whose store is gone can still read with their requester key,
//! since replies are sealed to it: the request's networks then come from
//! its status on the ledger.

use std::path::Path;

use anyhow::{Context as _, anyhow};
use serde::Serialize;
use serde_json::value::RawValue;

use ehrx_client::ehr::{
    ClinicalSummary, Error as EhrError, FileKeyStore, KeyStore as _, Provenance, ReplyKey,
    RequestEntry, VerifiedReply, failure_html, ips_document, render::dates::now_unix_ms,
};

use crate::{
    args::{ReplyCommand, ReplyShowArgs, TargetArgs},
    keys,
    output::Output,
    target::Target,
};

/// A read reply, as reported with `--json`.
#[derive(Debug, Serialize)]
struct Shown<'a> {
    request_id: &'a str,
    replying_network: &'a str,
    responder_msp_id: &'a str,
    /// Whether the reply holds the patient's whole history there in the
    /// requested categories.
    complete: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    html_file: Option<&'a Path>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fhir_ips_file: Option<&'a Path>,
    records: Vec<ShownRecord<'a>>,
}

#[derive(Debug, Serialize)]
struct ShownRecord<'a> {
    record_id: &'a str,
    category: &'a str,
    sha256: String,
    /// The exact bytes received (hash-checked), not a re-encoding: every
    /// number keeps its text.
    resource: &'a RawValue,
}

/// `ehrx reply …`.
pub async fn run(target: &TargetArgs, out: &Output, command: ReplyCommand) -> anyhow::Result<()> {
    let ReplyCommand::Show(args) = command;
    let client = Target::load(target)?.client().await?;
    let id = &args.request_id;
    // What the ledger says of the request: the banner's facts, and the
    // networks when the reply key comes from the requester key.
    let status = client
        .request_status(id)
        .await
        .with_context(|| format!("looking up request {id}"));
    let key = reply_key(&args, &status)?;
    let status = status.ok();
    let reply = match client.read_reply(&key).await {
        Ok(reply) => reply,
        Err(EhrError::Reply(error)) if error.is_verification_failure() => {
            let mut shown = String::new();
            if let Some(html) = &args.html {
                let provenance = Provenance::from_request(
                    id,
                    &key.destination_network,
                    status.as_ref(),
                    now_unix_ms(),
                );
                std::fs::write(html, failure_html(&provenance, &error.to_string()))
                    .with_context(|| format!("writing the failure page to {}", html.display()))?;
                shown = format!(" ({} shows the failure, and no records)", html.display());
            }
            return Err(anyhow!(error).context(format!(
                "the reply to request {id} failed verification; nothing of it is shown{shown}"
            )));
        }
        Err(error) => {
            return Err(error).with_context(|| format!("reading the reply to request {id}"));
        }
    };
    let provenance = Provenance::from_reply(&reply, status.as_ref(), now_unix_ms());
    let summary = ClinicalSummary::from_resources(reply.resources());
    // Everything is formed before anything is written.
    let ips = match &args.fhir_ips {
        Some(_) => Some(
            ips_document(
                reply.records.iter().map(|r| r.content.as_slice()),
                &provenance,
            )
            .context("forming the IPS document")?,
        ),
        None => None,
    };
    if let Some(html) = &args.html {
        std::fs::write(html, summary.to_html_with_provenance(&provenance))
            .with_context(|| format!("writing the summary to {}", html.display()))?;
    }
    if let (Some(path), Some(ips)) = (&args.fhir_ips, &ips) {
        std::fs::write(path, ips)
            .with_context(|| format!("writing the IPS document to {}", path.display()))?;
    }
    let shown = shown(&reply, &args)?;
    out.emit(&shown, || {
        let mut written = Vec::new();
        if let Some(html) = &args.html {
            written.push(format!("summary written to {}", html.display()));
        }
        if let Some(path) = &args.fhir_ips {
            written.push(format!("IPS document written to {}", path.display()));
        }
        if written.is_empty() {
            summary.to_text_with_provenance(&provenance)
        } else {
            format!(
                "reply to request {} from {}: {} record(s) verified; {}",
                reply.request_id,
                reply.replying_network,
                reply.records.len(),
                written.join("; ")
            )
        }
    })
}

fn shown<'a>(reply: &'a VerifiedReply, args: &'a ReplyShowArgs) -> anyhow::Result<Shown<'a>> {
    Ok(Shown {
        request_id: &reply.request_id,
        replying_network: &reply.replying_network,
        responder_msp_id: &reply.responder_msp_id,
        complete: reply.complete,
        html_file: args.html.as_deref(),
        fhir_ips_file: args.fhir_ips.as_deref(),
        records: reply
            .records
            .iter()
            .map(|r| {
                Ok(ShownRecord {
                    record_id: &r.record_id,
                    category: &r.category,
                    sha256: hex::encode(r.sha256),
                    resource: serde_json::from_slice(&r.content)
                        .with_context(|| format!("record {} is not JSON", r.record_id))?,
                })
            })
            .collect::<anyhow::Result<_>>()?,
    })
}

/// The request's reply key: from the key store, else from the requester
/// key and the request's networks on the ledger (`status`).
fn reply_key(
    args: &ReplyShowArgs,
    status: &anyhow::Result<RequestEntry>,
) -> anyhow::Result<ReplyKey> {
    let id = &args.request_id;
    if let Some(dir) = &args.key_store {
        let store = FileKeyStore::open(dir)
            .with_context(|| format!("opening the key store {}", dir.display()))?;
        if let Some(key) = store
            .load(id)
            .with_context(|| format!("reading the reply key of {id} in {}", dir.display()))?
        {
            return Ok(key);
        }
        if args.requester_key.is_none() {
            return Err(anyhow!(
                "the key store {} has no key for request {id}; give --requester-key to read it with the requester's key",
                dir.display()
            ));
        }
    }
    let requester_key = match &args.requester_key {
        Some(path) => keys::load_requester_key(path)?,
        None => return Err(anyhow!("give --key-store or --requester-key")),
    };
    let status = status.as_ref().map_err(|e| anyhow!("{e:#}"))?;
    Ok(ReplyKey {
        request_id: id.clone(),
        source_network: status.source_network.clone(),
        destination_network: status.destination_network.clone(),
        decryption_key: requester_key.decryption_key().clone(),
    })
}
