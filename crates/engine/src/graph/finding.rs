//! A finding of a live check — the doctor's diff of the registration against the plan, and
//! the access review's — and what automation can do about it. Its own file because both
//! checks produce it and the desktop shell only ever applies a [`FixAction`] the last check
//! offered ([`crate::guards::OfferedFixes`]).

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::validation::Severity;

/// What automation can do about a finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "camelCase")]
#[ts(export)]
pub enum FixAction {
    /// Create or repair the whole registration to the plan.
    Apply,
    /// Add these redirect URIs.
    AddRedirectUris {
        /// The URIs.
        uris: Vec<String>,
    },
    /// Remove these redirect URIs.
    RemoveRedirectUris {
        /// The URIs.
        uris: Vec<String>,
    },
    /// Turn on ID tokens (implicit grant and hybrid flows).
    EnableIdTokens,
    /// Set the supported account types.
    SetAudience {
        /// `AzureADMyOrg` or `AzureADMultipleOrgs`.
        audience: String,
    },
    /// Create the service principal (enterprise app).
    CreateServicePrincipal,
    /// Grant admin consent in the home tenant.
    GrantConsent,
    /// Add a new client secret (into the keychain).
    AddSecret,
    /// Add the federated credential Halo shows (step 3's issuer, subject and audience).
    AddFederatedCredential,
}

/// One difference between the live registration and the plan.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct Finding {
    /// Stable id, e.g. `redirect.missing`, `service_principal.missing`.
    pub id: String,
    /// Error (sign-in fails or will), warning (soon, or risky), info.
    pub severity: Severity,
    /// What is wrong.
    pub message: String,
    /// What to do, in words.
    pub fix: String,
    /// What automation can do about it, when it can.
    pub auto_fix: Option<FixAction>,
}
