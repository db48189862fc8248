//! The `ehrx` CLI on networks I and II acting as the people of the CLI
//! walkthrough (see [`write_walkthrough_setup`]): each network's admin and
//! org1's users, so that a CLI test names who acts instead of spelling
//! out each identity.
//!
//! [`write_walkthrough_setup`]: crate::ehrx_cli::write_walkthrough_setup

use crate::ehrx_cli::Ehrx;
use crate::exchange::org;
use crate::networks::{Networks, description_path};

/// The people of org1 on networks I and II, each the `ehrx` CLI acting as
/// them, and org1's MSP id on each network.
#[derive(Debug, Clone)]
pub struct Cast {
    /// I's admin.
    pub net1_admin: Ehrx,
    /// I's doctor (User2), the walkthrough's requester.
    pub doctor: Ehrx,
    /// Another user of I (User1), who is not the doctor.
    pub colleague: Ehrx,
    /// II's admin.
    pub net2_admin: Ehrx,
    /// II's uploader (User2).
    pub uploader: Ehrx,
    /// II's responder (User1).
    pub responder: Ehrx,
    /// User3 of II: the walkthrough's relay identity, which a test may
    /// also register as a consent manager.
    pub net2_user3: Ehrx,
    /// org1's MSP id on I.
    pub msp1: String,
    /// org1's MSP id on II.
    pub msp2: String,
}

impl Cast {
    /// The cast of `ehrx` (in its working directory) on `networks`, which
    /// must include net1 and net2.
    pub fn of(ehrx: &Ehrx, networks: &Networks) -> anyhow::Result<Self> {
        let msp1 = org(networks.get("net1")?, "org1")?.msp_id.clone();
        let msp2 = org(networks.get("net2")?, "org1")?.msp_id.clone();
        let on1 = |user: &str| ehrx.as_user(&description_path("net1"), &msp1, user);
        let on2 = |user: &str| ehrx.as_user(&description_path("net2"), &msp2, user);
        Ok(Self {
            net1_admin: on1("Admin"),
            doctor: on1("User2"),
            colleague: on1("User1"),
            net2_admin: on2("Admin"),
            uploader: on2("User2"),
            responder: on2("User1"),
            net2_user3: on2("User3"),
            msp1,
            msp2,
        })
    }
}
