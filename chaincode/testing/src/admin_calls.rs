//! Admin calls tests make in one line: a network's rate limit, and a
//! remote network taken out of the lookup table.

use ehrx_interface::{names::function, types::NetworkConfig};

use crate::world::Network;

impl Network {
    /// ConfigureNetwork allowing `max` requests per requester every
    /// `window_seconds`, consent not required, no break-glass.
    pub async fn configure_rate(&self, max: u32, window_seconds: u32) {
        let config = NetworkConfig {
            network_id: self.id.into(),
            rate_limit_max: max,
            rate_limit_window_seconds: window_seconds,
            consent_required: false,
            break_glass: false,
        };
        self.admin(function::CONFIGURE_NETWORK, &config).await;
    }

    /// RemoveRemoteNetwork of `remote`, which must succeed.
    pub async fn remove_remote(&self, remote: &str) {
        self.ok(&self.admin, &[b"RemoveRemoteNetwork", remote.as_bytes()])
            .await;
    }
}
