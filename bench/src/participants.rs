//! The clients a benchmark drives on network I: one Fabric identity per
//! worker, each registered as a requester (with its own code and X25519
//! key) and, when asked, as an uploader.
//!
//! One identity per worker because the contract's rate limit keeps a
//! window per requester, read and written by each `SubmitRequest`: two
//! requests of one requester in the same block conflict (MVCC), so one
//! requester commits at most one request per block. Many doctors each
//! asking now and then is also the realistic load.

use std::sync::Arc;

use anyhow::Context as _;
use ehrx_client::ehr::interface::{NetworkConfig, RequesterRegistration, limits, rules};
use ehrx_client::ehr::interface::{OutcomeKind, function};
use ehrx_client::ehr::{
    EhrClient, EhrSettings, HistoryRequest, InMemoryKeyStore, PendingRequest, RequesterKey,
};
use ehrx_client::fabric::{Contract, Gateway};
use ehrx_lab::NetworkDescription;
use ehrx_lab::exchange::{ExchangeSetup, gateway_as, org, wait_for_peers};
use ehrx_lab::networks::Networks;

/// Users of network I's org1 that the exchange setup already gave a role
/// that holds a requester code (User2 is the setup's doctor) or that runs
/// in the background (User3 is the relay).
const TAKEN: [(&str, &str); 2] = [("org1", "User2"), ("org1", "User3")];

/// The showcase chaincode, whose `Put` is the baseline write.
pub const SHOWCASE: &str = "showcase";

/// The rate limit the benchmarks set on network I: the contract's maximum
/// per window, over a one-second window so the stored window stays as
/// small as under the default one-per-minute limit.
pub const RATE_LIMIT_MAX: u32 = *limits::RATE_LIMIT_MAX.end();
pub const RATE_LIMIT_WINDOW_SECONDS: u32 = 1;

/// One worker's identity on network I.
#[derive(Debug, Clone)]
pub struct Participant {
    /// The registered requester (and uploader), with a key store for
    /// reply keys.
    pub client: EhrClient,
    /// The showcase chaincode as the same identity, over the same
    /// connection, for the baseline `Put`.
    pub showcase: Contract,
}

/// Both networks configured for the exchange, as the end-to-end tests do
/// (every peer has committed the configuration when it returns).
pub async fn configure(networks: &Networks) -> anyhow::Result<ExchangeSetup<'_>> {
    ExchangeSetup::configure(networks).await
}

/// Users per organisation so that every worker has its own identity:
/// network I's organisations have `2 × users − 2` free client users (the
/// setup's doctor and relay hold two), and the relay needs three.
pub fn users_needed(workers: usize) -> usize {
    (workers + 2).div_ceil(2).max(3)
}

/// Client users of `net` that no other role uses, alternating between
/// organisations so the workers spread over both gateway peers.
pub fn free_users(net: &NetworkDescription) -> Vec<(String, String)> {
    let per_org: Vec<Vec<(String, String)>> = net
        .organizations
        .iter()
        .map(|organization| {
            let short = short_org_name(&organization.name);
            let mut users: Vec<(String, String)> = organization
                .users
                .iter()
                .filter(|user| user.role == "client")
                .filter(|user| !TAKEN.contains(&(short.as_str(), user.name.as_str())))
                .map(|user| (short.clone(), user.name.clone()))
                .collect();
            users.sort_by_key(|(_, name)| user_number(name));
            users
        })
        .collect();
    let longest = per_org.iter().map(Vec::len).max().unwrap_or(0);
    (0..longest)
        .flat_map(|i| {
            per_org
                .iter()
                .filter_map(move |users| users.get(i).cloned())
        })
        .collect()
}

/// `Org1` or `org1` (as `network.json` names it) → `org1`.
fn short_org_name(name: &str) -> String {
    name.to_ascii_lowercase()
}

/// `User12` → 12, so users sort by number, not text.
fn user_number(name: &str) -> u32 {
    name.trim_start_matches(|c: char| !c.is_ascii_digit())
        .parse()
        .unwrap_or(u32::MAX)
}

/// Raises network I's rate limit so the benchmarks measure the contract's
/// work rather than its refusal.
pub async fn raise_rate_limit(net: &NetworkDescription) -> anyhow::Result<()> {
    let gateway = gateway_as(org(net, "org1")?, "Admin").await?;
    let admin = &EhrClient::new(&gateway, EhrSettings::from_description(net));
    let config = &NetworkConfig {
        network_id: net.name.clone(),
        rate_limit_max: RATE_LIMIT_MAX,
        rate_limit_window_seconds: RATE_LIMIT_WINDOW_SECONDS,
        consent_required: false,
        break_glass: false,
    };
    let committed = admin
        .admin()
        .configure_network(config)
        .await
        .context("raising the rate limit on network I")?;
    // Every worker's first request may be endorsed by any peer.
    wait_for_peers(net, &committed.status.transaction_id).await
}

/// Registers `count` identities of network I as requesters (and as
/// uploaders when `uploaders`), one after another (the admin's
/// transactions would conflict with each other), and connects each.
pub async fn enroll(
    net: &NetworkDescription,
    count: usize,
    uploaders: bool,
) -> anyhow::Result<Vec<Participant>> {
    let free = free_users(net);
    if free.len() < count {
        anyhow::bail!(
            "{count} workers need {count} client identities on {}, but it has {} free; \
             start the networks with more users (NETWORK_USERS_PER_ORG, --users-per-org)",
            net.name,
            free.len()
        );
    }
    let admin_gateway = gateway_as(org(net, "org1")?, "Admin").await?;
    let settings = EhrSettings::from_description(net);
    let admin = EhrClient::new(&admin_gateway, settings.clone());
    let mut participants = Vec::with_capacity(count);
    let mut last_registration = None;
    for (index, (org_name, user)) in free.into_iter().take(count).enumerate() {
        let name = format!("{org_name}/{user}");
        let gateway: Gateway = gateway_as(org(net, &org_name)?, &user)
            .await
            .with_context(|| format!("connecting as {name}"))?;
        let identity = gateway.identity().identity().clone();
        let key = RequesterKey::generate().context("generating a requester key")?;
        let code = format!("BENCH-{index:03}");
        let (admin, registration) = (
            &admin,
            &RequesterRegistration::new(
                code.clone(),
                ehrx_client::ehr::member_identity(&identity),
                vec![rules::PRIVILEGE_REQUEST.into()],
                key.public_key(),
            ),
        );
        let mut committed = admin
            .admin()
            .register_requester(registration)
            .await
            .with_context(|| format!("registering {name} as requester {code}"))?;
        if uploaders {
            committed = admin
                .admin()
                .register_uploader(&ehrx_client::ehr::member_identity(&identity))
                .await
                .with_context(|| format!("registering {name} as uploader"))?;
        }
        last_registration = Some(committed.status.transaction_id);
        let client = EhrClient::new(&gateway, settings.clone())
            .with_requester_code(code.clone())
            .with_requester_key(key)
            .with_key_store(Arc::new(InMemoryKeyStore::new()));
        let showcase = gateway.network(&net.channel).contract(SHOWCASE);
        tracing::debug!(participant = %name, %code, "enrolled");
        participants.push(Participant { client, showcase });
    }
    // The registrations are independent of each other; the workers' first
    // transactions need all of them on every peer.
    if let Some(transaction_id) = last_registration {
        wait_for_peers(net, &transaction_id).await?;
    }
    Ok(participants)
}

/// Files `history` as `client` and fails unless the contract validated it.
pub async fn submit_validated(
    client: &EhrClient,
    history: &HistoryRequest,
) -> anyhow::Result<PendingRequest> {
    let (pending, submitted) = client
        .submit_request(history)
        .await
        .context(function::SUBMIT_REQUEST)?;
    anyhow::ensure!(
        submitted.outcome == OutcomeKind::Validated,
        "SubmitRequest rejected: {}",
        submitted.reason.unwrap_or_default()
    );
    Ok(pending)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_worker_gets_its_own_identity() {
        assert_eq!(users_needed(1), 3);
        assert_eq!(users_needed(4), 3);
        assert_eq!(users_needed(5), 4);
        assert_eq!(users_needed(16), 9);
        // 9 users per org: 18 client users, 2 taken, 16 free.
        assert_eq!(2 * users_needed(16) - 2, 16);
    }

    fn description(users_per_org: usize) -> NetworkDescription {
        let users: Vec<serde_json::Value> = std::iter::once("Admin".to_string())
            .chain((1..=users_per_org).map(|n| format!("User{n}")))
            .map(|name| {
                serde_json::json!({
                    "name": name,
                    "role": if name == "Admin" { "admin" } else { "client" },
                    "key_type": "p256", "msp_dir": "m", "cert": "c", "key": "k",
                    "tls_cert": "t", "tls_key": "u"
                })
            })
            .collect();
        let org = |name: &str| {
            serde_json::json!({
                "name": name, "msp_id": format!("Net1{}MSP", name), "domain": "d",
                "msp_dir": "m", "ca_cert": "c", "tls_ca_cert": "t", "peers": [], "users": users
            })
        };
        let json = serde_json::json!({
            "name": "net1", "title": "Network I", "channel": "ehrchannel",
            "fabric_version": "3.1.5", "channel_capability": "V3_0", "orderer_type": "raft", "orderers": [],
            "organizations": [org("org1"), org("org2")]
        });
        NetworkDescription::from_json(json.to_string().as_bytes()).unwrap()
    }

    #[test]
    fn free_users_skip_admins_and_taken_roles_and_alternate_orgs() {
        let free = free_users(&description(4));
        let names: Vec<String> = free.iter().map(|(o, u)| format!("{o}/{u}")).collect();
        assert_eq!(
            names,
            [
                "org1/User1",
                "org2/User1",
                "org1/User4",
                "org2/User2",
                "org2/User3",
                "org2/User4"
            ]
        );
    }

    #[test]
    fn users_sort_by_number() {
        let free = free_users(&description(11));
        let org1: Vec<&str> = free
            .iter()
            .filter(|(o, _)| o == "org1")
            .map(|(_, u)| u.as_str())
            .collect();
        assert_eq!(
            org1,
            [
                "User1", "User4", "User5", "User6", "User7", "User8", "User9", "User10", "User11"
            ]
        );
        assert_eq!(free.len(), 9 + 11);
    }
}
