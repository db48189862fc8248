//! `ehrx reply show`: read a reply as its requester. The library fetches
//! it, checks the responder's signature, decrypts it and checks every
//! record against its listed hash; this command finds the reply key and
//! renders the records as a clinical summary (text, or an HTML page).
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
    ClinicalSummary, EhrClient, FileKeyStore, KeyStore as _, ReplyKey, VerifiedReply,
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
    let key = reply_key(&client, &args).await?;
    let reply = client
        .read_reply(&key)
        .await
        .with_context(|| format!("reading the reply to request {}", args.request_id))?;
    let summary = ClinicalSummary::from_resources(reply.resources());
    if let Some(html) = &args.html {
        std::fs::write(html, summary.to_html())
            .with_context(|| format!("writing the summary to {}", html.display()))?;
    }
    let shown = shown(&reply, args.html.as_deref())?;
    out.emit(&shown, || match &args.html {
        Some(html) => format!(
            "reply to request {} from {}: {} record(s) verified; summary written to {}",
            reply.request_id,
            reply.replying_network,
            reply.records.len(),
            html.display()
        ),
        None => format!("{}\n{}", summary.to_text(), reply.completeness()),
    })
}

fn shown<'a>(reply: &'a VerifiedReply, html_file: Option<&'a Path>) -> anyhow::Result<Shown<'a>> {
    Ok(Shown {
        request_id: &reply.request_id,
        replying_network: &reply.replying_network,
        responder_msp_id: &reply.responder_msp_id,
        complete: reply.complete,
        html_file,
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
/// key and the request's networks on the ledger.
async fn reply_key(client: &EhrClient, args: &ReplyShowArgs) -> anyhow::Result<ReplyKey> {
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
    let status = client
        .request_status(id)
        .await
        .with_context(|| format!("looking up request {id}"))?;
    Ok(ReplyKey {
        request_id: id.clone(),
        source_network: status.source_network,
        destination_network: status.destination_network,
        decryption_key: requester_key.decryption_key().clone(),
    })
}
