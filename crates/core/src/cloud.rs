//! The Microsoft clouds an app registration can live in, and their endpoints.
//!
//! Sources: entra-docs `authentication-national-cloud.md` (login hosts), Microsoft Graph
//! `concepts/deployments.md` (Graph hosts), `Get-MgEnvironment` (PowerShell environment
//! names), workload identity federation docs (token-exchange audiences). M365 GCC
//! (moderate) uses the worldwide endpoints, so it is `global` here.
//!
//! Deliberately left out: the newer sovereign clouds (Bleu, Delos, GovSG); they are not
//! generally available to service-desk tenants.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// A Microsoft cloud. Apps must be registered separately in each; tokens do not cross.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, TS)]
#[serde(rename_all = "kebab-case")]
#[ts(export)]
pub enum Cloud {
    /// Worldwide (including Microsoft 365 GCC moderate).
    #[default]
    Global,
    /// US Government L4 (GCC High).
    Usgov,
    /// US Government L5 (DoD).
    UsgovDod,
    /// China, operated by 21Vianet.
    China,
}

impl Cloud {
    /// Every cloud, in the order the wizard offers them.
    pub const ALL: [Cloud; 4] = [Cloud::Global, Cloud::Usgov, Cloud::UsgovDod, Cloud::China];

    /// The name used in profiles and on the command line.
    pub fn id(self) -> &'static str {
        match self {
            Cloud::Global => "global",
            Cloud::Usgov => "usgov",
            Cloud::UsgovDod => "usgov-dod",
            Cloud::China => "china",
        }
    }

    /// What the admin reads.
    pub fn label(self) -> &'static str {
        match self {
            Cloud::Global => "Global (worldwide, incl. GCC)",
            Cloud::Usgov => "US Government (GCC High)",
            Cloud::UsgovDod => "US Government (DoD)",
            Cloud::China => "China (21Vianet)",
        }
    }

    /// The Entra sign-in host.
    pub fn login_host(self) -> &'static str {
        match self {
            Cloud::Global => "login.microsoftonline.com",
            Cloud::Usgov | Cloud::UsgovDod => "login.microsoftonline.us",
            Cloud::China => "login.partner.microsoftonline.cn",
        }
    }

    /// Other hosts Microsoft documents as sign-in hosts for the same cloud. China has two in
    /// use: entra-docs name `login.partner.microsoftonline.cn`, Graph PowerShell and MSAL
    /// `login.chinacloudapi.cn`.
    pub fn login_host_aliases(self) -> &'static [&'static str] {
        match self {
            Cloud::China => &["login.chinacloudapi.cn"],
            _ => &[],
        }
    }

    /// The Microsoft Graph host.
    pub fn graph_host(self) -> &'static str {
        match self {
            Cloud::Global => "graph.microsoft.com",
            Cloud::Usgov => "graph.microsoft.us",
            Cloud::UsgovDod => "dod-graph.microsoft.us",
            Cloud::China => "microsoftgraph.chinacloudapi.cn",
        }
    }

    /// `Connect-MgGraph -Environment` value.
    pub fn graph_powershell_environment(self) -> &'static str {
        match self {
            Cloud::Global => "Global",
            Cloud::Usgov => "USGov",
            Cloud::UsgovDod => "USGovDoD",
            Cloud::China => "China",
        }
    }

    /// `Connect-AzureAD -AzureEnvironmentName` / `Connect-AzAccount -Environment` value.
    pub fn azure_environment(self) -> &'static str {
        match self {
            Cloud::Global => "AzureCloud",
            Cloud::Usgov | Cloud::UsgovDod => "AzureUSGovernment",
            Cloud::China => "AzureChinaCloud",
        }
    }

    /// Default audience of a federated identity credential in this cloud.
    pub fn token_exchange_audience(self) -> &'static str {
        match self {
            Cloud::Global => "api://AzureADTokenExchange",
            Cloud::Usgov | Cloud::UsgovDod => "api://AzureADTokenExchangeUSGov",
            Cloud::China => "api://AzureADTokenExchangeChina",
        }
    }

    /// The Entra admin centre host, for "open the portal" hints.
    pub fn portal_host(self) -> &'static str {
        match self {
            Cloud::Global => "entra.microsoft.com",
            Cloud::Usgov | Cloud::UsgovDod => "entra.microsoft.us",
            Cloud::China => "entra.microsoftonline.cn",
        }
    }

    /// The cloud whose Graph host is `host`, if any.
    pub fn from_graph_host(host: &str) -> Option<Cloud> {
        Cloud::ALL.into_iter().find(|c| c.graph_host() == host)
    }
}

/// A cloud's endpoints as the UI shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct CloudInfo {
    /// Profile value (`global`, `usgov`, `usgov-dod`, `china`).
    pub id: Cloud,
    /// Human-readable name.
    pub label: String,
    /// Entra sign-in host.
    pub login_host: String,
    /// Microsoft Graph host.
    pub graph_host: String,
    /// `Connect-MgGraph -Environment` value.
    pub powershell_environment: String,
    /// Default federated-credential audience.
    pub token_exchange_audience: String,
}

impl From<Cloud> for CloudInfo {
    fn from(c: Cloud) -> Self {
        CloudInfo {
            id: c,
            label: c.label().into(),
            login_host: c.login_host().into(),
            graph_host: c.graph_host().into(),
            powershell_environment: c.graph_powershell_environment().into(),
            token_exchange_audience: c.token_exchange_audience().into(),
        }
    }
}

/// Every cloud with its endpoints, for the basics step's picker.
pub fn all_clouds() -> Vec<CloudInfo> {
    Cloud::ALL.into_iter().map(CloudInfo::from).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_names_match_profile_docs() {
        for c in Cloud::ALL {
            let json = serde_json::to_string(&c).unwrap();
            assert_eq!(json, format!("\"{}\"", c.id()));
            assert_eq!(serde_json::from_str::<Cloud>(&json).unwrap(), c);
        }
    }

    #[test]
    fn dod_has_its_own_graph_but_shares_login() {
        assert_eq!(Cloud::UsgovDod.login_host(), Cloud::Usgov.login_host());
        assert_ne!(Cloud::UsgovDod.graph_host(), Cloud::Usgov.graph_host());
        assert_eq!(
            Cloud::from_graph_host("dod-graph.microsoft.us"),
            Some(Cloud::UsgovDod)
        );
    }
}
