//! Shapes that only the desktop shell sends to the UI (the engine's own types are used
//! everywhere else).

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
