//! `ehrx admin …`: an organisation admin's commands. `setup` checks the
//! whole file offline, then applies it call by call, reporting what each
//! call set and where it committed; a failure stops at that call and says
//! which (the calls before it stand, and re-running the file is safe).

use std::time::Duration;

use anyhow::Context as _;
use serde::Serialize;

use ehrx_client::{
    ehr::{Admin, EhrClient, EhrSettings},
    fabric::{Committed, Identity, NetworkDescription, SigningIdentity, wait_for_every_peer},
};

use crate::{
    args::{AdminCommand, TargetArgs},
    keys,
    output::{Output, table_of},
    progress,
    setup::{Call, Role, Setup, Step},
    target::Target,
};

/// One applied call, as reported.
#[derive(Debug, Serialize)]
struct Applied {
    set: String,
    transaction_id: String,
    block_number: u64,
}

impl Applied {
    fn new(set: String, committed: &Committed) -> Self {
        Self {
            set,
            transaction_id: committed.status.transaction_id.clone(),
            block_number: committed.status.block_number,
        }
    }
}

/// `ehrx admin …`.
pub async fn run(target: &TargetArgs, out: &Output, command: AdminCommand) -> anyhow::Result<()> {
    match command {
        AdminCommand::Setup { file } => {
            let setup = Setup::load(&file)?;
            let target = Target::load(target)?;
            let default_org = target.organization()?.msp_id.clone();
            let steps = setup.plan(&target.description, &default_org)?;
            let gateway = target.gateway().await?;
            let client =
                EhrClient::new(&gateway, EhrSettings::from_description(&target.description));
            let settle = Settle {
                description: &target.description,
                identity: gateway.identity(),
            };
            let applied = apply(client.admin(), &steps, &settle, out).await?;
            out.emit(&applied, || {
                format!(
                    "network {} set up ({} calls applied):\n{}",
                    target.description.name,
                    applied.len(),
                    table_of(&["SET", "BLOCK", "TRANSACTION"], &applied, |a| {
                        vec![
                            a.set.clone(),
                            a.block_number.to_string(),
                            a.transaction_id.clone(),
                        ]
                    })
                )
            })
        }
        AdminCommand::ClearFlag { user, user_org } => {
            let target = Target::load(target)?;
            let org = match &user_org {
                Some(name) => target.org_named(name)?,
                None => target.organization()?,
            };
            let entry = org
                .user(&user)
                .with_context(|| format!("--user {user:?}"))?;
            let certificate = std::fs::read(&entry.cert).with_context(|| {
                format!(
                    "reading the certificate of {user} at {}",
                    entry.cert.display()
                )
            })?;
            let member =
                ehrx_client::ehr::member_identity(&Identity::new(org.msp_id.clone(), certificate));
            let client = target.client().await?;
            let committed = client
                .admin()
                .clear_flag(&member)
                .await
                .with_context(|| format!("clearing the flag of {user} of {}", org.msp_id))?;
            let applied = Applied::new(
                format!("flag cleared: {user} of {}", org.msp_id),
                &committed,
            );
            out.emit(&applied, || {
                format!("{} (transaction {})", applied.set, applied.transaction_id)
            })
        }
        AdminCommand::NetworkKey { key_file } => {
            let public = hex::encode(keys::network_public_key(&key_file)?);
            out.emit(&serde_json::json!({ "network_key": public }), || {
                public.clone()
            })
        }
    }
}

/// What `apply` needs to wait for every peer of the network.
struct Settle<'a> {
    description: &'a NetworkDescription,
    identity: &'a SigningIdentity,
}

/// How long each peer may take to commit the configuration.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(60);

/// Applies each step in order, stopping at the first failure. Every later
/// step reads the network's configuration, and may be endorsed by a peer
/// other than the gateway's, so after `ConfigureNetwork`, and at the end,
/// every peer must have committed what was applied.
async fn apply(
    admin: Admin<'_>,
    steps: &[Step],
    settle: &Settle<'_>,
    out: &Output,
) -> anyhow::Result<Vec<Applied>> {
    let bar = progress::bar(out, steps.len() as u64, "calls");
    let mut applied = Vec::with_capacity(steps.len());
    for step in steps {
        bar.set_message(step.summary.clone());
        let committed = match &step.call {
            Call::Configure(config) => admin.configure_network(config).await,
            Call::PutRemote(remote) => admin.put_remote_network(remote).await,
            Call::PutTrust(trust) => admin.put_network_trust(trust).await,
            Call::Requester(requester) => admin.register_requester(requester).await,
            Call::Member(Role::Responder, member) => admin.register_responder(member).await,
            Call::Member(Role::Relay, member) => admin.register_relay(member).await,
            Call::Member(Role::Uploader, member) => admin.register_uploader(member).await,
            Call::Member(Role::ConsentManager, member) => {
                admin.register_consent_manager(member).await
            }
        }
        .with_context(|| {
            format!(
                "setting {} ({} earlier call(s) applied; re-running the file is safe)",
                step.summary,
                applied.len()
            )
        })?;
        let last_step = applied.len() + 1 == steps.len();
        if matches!(step.call, Call::Configure(_)) || last_step {
            bar.set_message("waiting for every peer to commit");
            wait_for_every_peer(
                settle.description,
                settle.identity,
                &committed.status.transaction_id,
                SETTLE_TIMEOUT,
            )
            .await
            .with_context(|| format!("waiting for every peer to commit {}", step.summary))?;
        }
        applied.push(Applied::new(step.summary.clone(), &committed));
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(applied)
}
