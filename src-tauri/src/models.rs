//! Shapes that only the desktop shell sends to the UI (the engine's own types are used
//! everywhere else).

use entra_onboard::graph::apply::ApplyReport;
use entra_onboard::profile::Profile;
use entra_onboard::vault::CredentialStatus;
use serde::Serialize;

/// The answer to `store_secret`: the saved profile and what the keychain now holds.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredSecret {
    /// The profile as saved, with the new hint and expiry.
    pub profile: Profile,
    /// What is stored now (never the value).
    pub status: CredentialStatus,
}

/// Who signed in to Graph.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GraphSignedIn {
    /// The admin's sign-in name, when the token says.
    pub user: Option<String>,
    /// The tenant of the token.
    pub tenant_id: Option<String>,
}

/// The answer to `apply_registration` / `fix_registration`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppliedRegistration {
    /// What was done, step by step, and what exists.
    pub report: ApplyReport,
    /// The profile as saved (client id and credential facts filled in).
    pub profile: Profile,
}
