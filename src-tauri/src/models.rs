//! Shapes that only the desktop shell sends to the UI (the engine's own types are used
//! everywhere else). Their TypeScript is generated like the engine's (`cargo test` writes
//! `ui/src/lib/bindings/`), so the UI cannot drift from them.

use entra_onboard_engine::graph::apply::ApplyReport;
use entra_onboard_engine::profile::Profile;
use entra_onboard_engine::sso_test::SsoReport;
use entra_onboard_engine::steps::certificate::CertificateInfo;
use entra_onboard_engine::steps::consent_capture::ConsentOutcome;
use entra_onboard_engine::steps::tenants::{AllowSummary, MergeSummary, TenantImport};
use entra_onboard_engine::vault::CreatedCertificate;
use entra_onboard_engine::vault::CredentialStatus;
use serde::Serialize;
use ts_rs::TS;

/// The answer to `store_secret`: the saved profile and what the keychain now holds.
#[derive(Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct StoredSecret {
    /// The profile as saved, with the new hint and expiry.
    pub profile: Profile,
    /// What is stored now (never the value).
    pub status: CredentialStatus,
}

/// Who signed in to Graph.
#[derive(Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct GraphSignedIn {
    /// The admin's sign-in name, when the token says.
    pub user: Option<String>,
    /// The tenant of the token.
    pub tenant_id: Option<String>,
}

/// The answer to `apply_registration` / `fix_registration`.
#[derive(Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct AppliedRegistration {
    /// What was done, step by step, and what exists.
    pub report: ApplyReport,
    /// The profile as saved (client id and credential facts filled in).
    pub profile: Profile,
    /// True when the SSO test follows at once: this run made the customer's registration
    /// from nothing and left a usable credential (the engine's `test_follows_apply`).
    pub test_next: bool,
}

/// The answer to `create_certificate`.
#[derive(Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct CertificateCreated {
    /// The profile as saved, with the certificate recorded.
    pub profile: Profile,
    /// The certificate and the files written.
    pub certificate: CreatedCertificate,
}

/// The answer to `import_certificate`.
#[derive(Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct CertificateImported {
    /// The profile as saved.
    pub profile: Profile,
    /// What the .pfx holds.
    pub info: CertificateInfo,
}

/// The answer to `capture_consent`.
#[derive(Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct ConsentCaptured {
    /// The profile as saved, with the outcome recorded.
    pub profile: Profile,
    /// Consented, declined or failed, with the AADSTS hint.
    pub outcome: ConsentOutcome,
}

/// The answer to `import_tenants`.
#[derive(Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct TenantsImported {
    /// The profile as saved.
    pub profile: Profile,
    /// Good rows and the refused ones with their line numbers.
    pub import: TenantImport,
    /// How many were added or already there.
    pub merge: MergeSummary,
}

/// The answer to `allow_consented_tenants`.
#[derive(Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct TenantsAllowed {
    /// The profile as saved.
    pub profile: Profile,
    /// What was added to the allowed tenants.
    pub summary: AllowSummary,
}

/// What the About line shows.
#[derive(Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct AppInfo {
    /// Product name.
    pub name: String,
    /// Version (from Cargo.toml).
    pub version: String,
    /// The keychain service name entries are stored under.
    pub keychain_service: String,
}

/// The answer to `run_sso_test`.
#[derive(Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct SsoTestRun {
    /// What the test found.
    pub report: SsoReport,
    /// The profile as saved with the outcome (`last_test`, and `verified` for a pass: a
    /// passing test saves the customer as verified). `None` when saving failed.
    pub profile: Option<Profile>,
    /// Why the outcome could not be saved (the report is still good).
    pub save_error: Option<crate::error::Error>,
    /// A pass the save could not record: "Save as verified" tries again with it, once.
    /// `None` when the test failed or the pass was recorded.
    pub pass_id: Option<String>,
}

/// The answer to `copy_stored_value`: when the clipboard will be cleared.
#[derive(Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct CopiedValue {
    /// Seconds until the clipboard is cleared (if it still holds the value).
    pub clears_after_seconds: u32,
}

/// The answer to `rotate_credential`.
#[derive(Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct RotatedCredential {
    /// What was done, step by step; where the new value goes in Halo while waiting.
    pub report: entra_onboard_engine::graph::rotate::RotateReport,
    /// The profile as saved (the rotation in progress, or the new hint, expiry and record).
    pub profile: Profile,
}
