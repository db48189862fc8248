//! Which network and identity a command acts as: the description file, an
//! organisation in it and one of its users, from `--network`, `--org` and
//! `--user` (or `EHRX_*`). The one place the CLI connects to a peer.

use std::path::PathBuf;

use anyhow::{Context as _, anyhow};

use ehrx_client::{
    ehr::{EhrClient, EhrSettings},
    fabric::{Gateway, NetworkDescription, config::Organization},
};

use crate::args::TargetArgs;

/// A loaded description with the organisation and user chosen in it.
#[derive(Debug)]
pub struct Target {
    /// The network.
    pub description: NetworkDescription,
    org: String,
    user: String,
}

impl Target {
    /// Reads the description and checks the organisation and user are in it.
    pub fn load(args: &TargetArgs) -> anyhow::Result<Self> {
        let path = required(&args.network, "--network", "EHRX_NETWORK")?;
        let org = required(&args.org, "--org", "EHRX_ORG")?.clone();
        let user = required(&args.user, "--user", "EHRX_USER")?.clone();
        let description = NetworkDescription::load(path)
            .with_context(|| format!("loading the network description {}", path.display()))?;
        let target = Self {
            description,
            org,
            user,
        };
        target.organization()?.user(&target.user).with_context(|| {
            format!(
                "--user {:?} is not a user of {} in {}",
                target.user,
                target.org,
                path.display()
            )
        })?;
        Ok(target)
    }

    /// The chosen organisation.
    pub fn organization(&self) -> anyhow::Result<&Organization> {
        self.org_named(&self.org)
    }

    /// Another organisation of the network, by MSP id or name.
    pub fn org_named(&self, name: &str) -> anyhow::Result<&Organization> {
        self.description.organization(name).with_context(|| {
            let known: Vec<_> = self
                .description
                .organizations
                .iter()
                .map(|org| org.msp_id.as_str())
                .collect();
            format!(
                "organisation {name:?} is not in network {} (it has {})",
                self.description.name,
                known.join(", ")
            )
        })
    }

    /// Connects to the organisation's first peer as the user.
    pub async fn gateway(&self) -> anyhow::Result<Gateway> {
        gateway_as(self.organization()?, &self.user, Connect::Now).await
    }

    /// An EHR client acting as the user.
    pub async fn client(&self) -> anyhow::Result<EhrClient> {
        let gateway = self.gateway().await?;
        Ok(EhrClient::new(
            &gateway,
            EhrSettings::from_description(&self.description),
        ))
    }
}

/// When a gateway's connection is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Connect {
    /// Before it is returned: an unreachable peer is an error here.
    Now,
    /// At its first call: a long-running service starts even while its
    /// peer is down, and reconnects on its own.
    Lazy,
}

/// A gateway to `org`'s first peer, signing as `user` of `org`.
pub async fn gateway_as(
    org: &Organization,
    user: &str,
    connect: Connect,
) -> anyhow::Result<Gateway> {
    let identity = org
        .signing_identity(user)
        .with_context(|| format!("loading the credentials of {user} of {}", org.msp_id))?;
    let peer = org
        .peers
        .first()
        .ok_or_else(|| anyhow!("organisation {} has no peer", org.msp_id))?;
    let connection = peer
        .connection()
        .with_context(|| format!("preparing the connection to peer {}", peer.name))?;
    let channel = match connect {
        Connect::Now => connection.connect().await,
        Connect::Lazy => connection.connect_lazy(),
    }
    .with_context(|| format!("connecting to peer {} at {}", peer.name, peer.address))?;
    Ok(Gateway::new(channel, identity))
}

fn required<'a, T>(value: &'a Option<T>, flag: &str, env: &str) -> anyhow::Result<&'a T> {
    value
        .as_ref()
        .ok_or_else(|| anyhow!("this command needs {flag} (or {env}), given before the subcommand"))
}

/// Resolves `path` against `base` unless it is absolute: files named in a
/// configuration file are relative to that file.
pub fn relative_to(base: &std::path::Path, path: &std::path::Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        base.join(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_identity_options_name_the_flag_and_variable() {
        let args = TargetArgs {
            network: None,
            org: Some("org1".into()),
            user: Some("Admin".into()),
        };
        let error = Target::load(&args).unwrap_err().to_string();
        assert!(
            error.contains("--network") && error.contains("EHRX_NETWORK"),
            "{error}"
        );
    }

    #[test]
    fn a_missing_description_names_the_file() {
        let args = TargetArgs {
            network: Some("/nonexistent/network.json".into()),
            org: Some("org1".into()),
            user: Some("Admin".into()),
        };
        let error = format!("{:#}", Target::load(&args).unwrap_err());
        assert!(error.contains("/nonexistent/network.json"), "{error}");
    }

    #[test]
    fn relative_paths_follow_the_config_file() {
        let base = std::path::Path::new("/etc/ehrx");
        assert_eq!(
            relative_to(base, std::path::Path::new("keys/r.key")),
            PathBuf::from("/etc/ehrx/keys/r.key")
        );
        assert_eq!(
            relative_to(base, std::path::Path::new("/abs")),
            PathBuf::from("/abs")
        );
    }
}
