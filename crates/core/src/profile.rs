//! The customer profile: everything the wizard knows about one service desk ↔ Entra
//! connection. (The store that keeps profiles on disk is the engine's `store` module.)
//!
//! A profile is JSON with a schema version, one file per customer in the OS config folder,
//! written atomically (temp file + rename). It keeps what the admin typed *as typed* —
//! validation reports on it, never rewrites it — and it never contains a secret: secrets
//! live in the OS keychain, the profile only records their kind, hint and expiry.
//!
//! Field names are snake_case because this is a file format admins read and edit (and the
//! CLI takes); the IPC-only types elsewhere use camelCase.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::cloud::Cloud;

/// The profile format this build writes. Older files are read and upgraded on save; newer
/// ones are refused rather than half-understood.
pub const SCHEMA_VERSION: u32 = 1;

/// Who the app registration is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(export)]
pub enum TenantType {
    /// Accounts in this organisational directory only (HaloITSM, one tenant).
    #[default]
    Single,
    /// Accounts in any organisational directory (HaloPSA with customers, CSP).
    Multi,
}

/// Halo's "Allow Single Sign-On for Agents and/or Users".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(export)]
pub enum SsoFor {
    /// Agents (technicians) only.
    #[default]
    Agents,
    /// Self-service portal users only.
    Users,
    /// Agents and users.
    Both,
}

impl SsoFor {
    /// True when agents sign in with Entra.
    pub fn agents(self) -> bool {
        matches!(self, SsoFor::Agents | SsoFor::Both)
    }
    /// True when portal users sign in with Entra.
    pub fn users(self) -> bool {
        matches!(self, SsoFor::Users | SsoFor::Both)
    }
}

/// Optional integrations beside SSO (which agents/users get SSO is [`SsoFor`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(default, deny_unknown_fields)]
#[ts(export)]
pub struct Features {
    /// User/agent import from Entra (Halo's Entra ID integration; redirect `/azure/auth`).
    pub import: bool,
    /// Microsoft CSP integration (the multi-tenant app; redirect
    /// `/config/integrations/microsoftcsp`, AdminAgents elevation, per-customer consent).
    pub csp: bool,
}

/// How the service desk proves it is the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(export)]
pub enum CredentialKind {
    /// Not chosen yet.
    #[default]
    None,
    /// A client secret (value kept in the OS keychain).
    Secret,
    /// A certificate (public part uploaded to Entra; private key with the service desk).
    Certificate,
    /// A federated identity credential (no secret at all).
    Federated,
}

/// What the profile records about the credential — never the credential itself.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(default, deny_unknown_fields)]
#[ts(export)]
pub struct CredentialMeta {
    /// Secret, certificate or federated credential.
    pub kind: CredentialKind,
    /// When the secret or certificate stops working.
    pub expires_on: Option<NaiveDate>,
    /// First three characters of a client secret, as Entra lists them ("hint").
    pub secret_hint: Option<String>,
    /// Certificate thumbprint (SHA-1 hex, as Entra lists it).
    pub thumbprint: Option<String>,
    /// Certificate SHA-256 thumbprint (upper-case hex): what a client assertion's
    /// `x5t#S256` header carries, base64url-encoded.
    pub thumbprint_sha256: Option<String>,
    /// The certificate's subject, e.g. `CN=Acme service desk (Entra Onboard)`.
    pub certificate_subject: Option<String>,
    /// RSA key size of the certificate, in bits.
    pub key_bits: Option<u32>,
    /// Where the certificate's password-protected .pfx is on this computer (the SSO test
    /// signs with its key; the password is in the keychain). Not a secret.
    pub certificate_file: Option<String>,
    /// The federated identity credential (kind `federated`): issuer, subject, audience.
    pub federated: Option<FederatedCredential>,
}

/// A federated identity credential as typed (step 3): the values Halo shows after choosing
/// Credential Type "Federated Credentials" and an Agent. Entra matches `issuer`, `subject`
/// and `audience` exactly against the token Halo presents.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(default, deny_unknown_fields)]
#[ts(export)]
pub struct FederatedCredential {
    /// The credential's name on the app (3–120 characters, letters, digits, `-` and `_`);
    /// empty = let the admin choose in Entra.
    pub name: String,
    /// Halo's "Issuer URL", exactly as its tokens' `iss`.
    pub issuer: String,
    /// Halo's "Subject claim to validate", exactly as its tokens' `sub`.
    pub subject: String,
    /// Halo's "Audience claim to validate" (required; `None` = not entered yet).
    pub audience: Option<String>,
    /// The Halo agent chosen beside "Federated Credentials" (for the settings sheet; empty =
    /// not noted).
    pub agent: String,
}

/// Who signs in to the service desk, and so which Microsoft service the app lives in
/// (issue 14 point 7; Halo's B2B guide: "If you would like anyone to be able to log in and
/// sign up to your Halo portal using various authentication sources including personal
/// Microsoft accounts, you will need to use B2C SSO ... typically ... HaloCRM").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum SignupVariant {
    /// Staff and managed customers' work accounts in Entra ID tenants (B2B SSO): every
    /// profile made before this choice existed.
    #[default]
    Workforce,
    /// Public sign-up through Azure AD B2C (`<tenant>.b2clogin.com` and a user flow).
    /// Closed to new customers since 1 May 2025; existing tenants keep working.
    B2c,
    /// Public sign-up through Microsoft Entra External ID, B2C's successor: an external
    /// tenant (`<subdomain>.ciamlogin.com`).
    ExternalId,
}

impl SignupVariant {
    /// True for B2C and External ID.
    pub fn is_public(self) -> bool {
        self != SignupVariant::Workforce
    }
}

/// The public sign-up variant and its names (step 1). Everything else — the app's tenant
/// ID (the B2C or external tenant's Directory ID) and client ID — is in the usual fields.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(default, deny_unknown_fields)]
#[ts(export)]
pub struct PublicSignup {
    /// Workforce (B2B), Azure AD B2C or External ID.
    pub variant: SignupVariant,
    /// B2C: the tenant name (`contoso` of `contoso.onmicrosoft.com` / `contoso.b2clogin.com`).
    /// External ID: the tenant subdomain (`contoso` of `contoso.ciamlogin.com`).
    pub tenant_name: String,
    /// B2C only: the sign-up and sign-in user flow, e.g. `B2C_1_signupsignin1`.
    pub user_flow: String,
}

/// Where an admin-consent attempt stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(export)]
pub enum ConsentStatus {
    /// Not attempted yet, or the attempt did not come back (timeout, cancel).
    #[default]
    Pending,
    /// Entra redirected back with `admin_consent=True` and no error.
    Consented,
    /// The admin declined (`access_denied`, AADSTS65004).
    Declined,
    /// Entra redirected back with another error.
    Failed,
}

/// The last admin-consent result for one tenant (step 4 / step 5).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(default, deny_unknown_fields)]
#[ts(export)]
pub struct ConsentRecord {
    /// Pending, consented, declined or failed.
    pub status: ConsentStatus,
    /// The tenant GUID Entra named in the redirect (informational: Microsoft warns it can
    /// be forged, so it never authorises anything by itself).
    pub tenant_id: Option<String>,
    /// The AADSTS code of a failure.
    pub aadsts: Option<u32>,
    /// The OAuth `error` of a failure (`access_denied`, `consent_required`, …).
    pub error: Option<String>,
    /// Entra's `error_description`, verbatim.
    pub message: Option<String>,
    /// What to do about the failure (from the AADSTS catalogue).
    pub hint: Option<String>,
    /// When the result was recorded.
    pub at: Option<DateTime<Utc>>,
}

/// A customer tenant of a partner (CSP/GDAP), each of which must consent (step 5).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(default, deny_unknown_fields)]
#[ts(export)]
pub struct CustomerTenant {
    /// Tenant ID (lower-case GUID) or verified domain, as imported.
    pub tenant: String,
    /// Customer name, for the list.
    pub name: Option<String>,
    /// The last consent result.
    pub consent: ConsentRecord,
}

/// The CSP integration's second app registration: Halo's single-tenant "Partner Center"
/// app, registered in the partner tenant (the profile's `tenant_id`) beside the
/// multi-tenant app the rest of the profile describes. Halo's Microsoft CSP guide needs
/// both: this one reads the managed tenants and licences from Partner Center (redirect
/// `<agent>/azure/auth`, exactly one API permission: Microsoft Partner Center
/// `user_impersonation`), the multi-tenant one reads users and devices through Graph.
/// Used only while `features.csp` is on; files written before it existed load empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(default, deny_unknown_fields)]
#[ts(export)]
pub struct PartnerCenterApp {
    /// Its Application (client) ID; empty = not registered yet.
    pub client_id: String,
    /// Its own credential (a secret or a certificate, with its own expiry; the value is in
    /// the keychain under a key of its own, never the main app's).
    pub credential: CredentialMeta,
    /// The admin consent captured for it in the partner tenant.
    pub admin_consent: Option<ConsentRecord>,
}

/// Which of a customer's app registrations something belongs to: the profile's own app, or
/// CSP's single-tenant Partner Center app ([`PartnerCenterApp`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub enum CustomerApp {
    /// The profile's own app (SSO, import, and CSP's multi-tenant app).
    #[default]
    Main,
    /// CSP's single-tenant Partner Center app.
    PartnerCenter,
}

impl CustomerApp {
    /// "the app" / "the Partner Center app", for messages.
    pub fn label(self) -> &'static str {
        match self {
            CustomerApp::Main => "the app",
            CustomerApp::PartnerCenter => "the Partner Center app",
        }
    }
}

impl Profile {
    /// The credential record of `app`.
    pub fn credential_of(&self, app: CustomerApp) -> &CredentialMeta {
        match app {
            CustomerApp::Main => &self.credential,
            CustomerApp::PartnerCenter => &self.partner_center.credential,
        }
    }

    /// The credential record of `app`, to change.
    pub fn credential_of_mut(&mut self, app: CustomerApp) -> &mut CredentialMeta {
        match app {
            CustomerApp::Main => &mut self.credential,
            CustomerApp::PartnerCenter => &mut self.partner_center.credential,
        }
    }
}

/// Halo's "Azure Tenant Sign-In Scope" (multi-tenant apps only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(export)]
pub enum SignInScope {
    /// "Allow users from a restricted list" — only `allowed_tenants` (recommended).
    #[default]
    Restricted,
    /// "Allow all Azure tenants".
    All,
}

/// The SSO settings of step 6, named after Halo's screens
/// (Configuration > Integrations > Microsoft Entra ID > Single Sign On, and
/// Configuration > Advanced Settings).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(default, deny_unknown_fields)]
#[ts(export)]
pub struct SsoToggles {
    /// "Published": SSO is live.
    pub published: bool,
    /// "Automatically create unmatched users that login with Azure AD" (single tenant only).
    pub auto_create_users: bool,
    /// "Automatically redirect Agents to Azure without showing the Halo login screen".
    pub auto_redirect_agents: bool,
    /// "Automatically redirect Users to Azure without showing the Halo login screen".
    pub auto_redirect_users: bool,
    /// "Use the unique identifier of the Agent/User for single sign-on instead of their email".
    pub use_unique_identifier: bool,
    /// "Enable Single-Logout (SLO)".
    pub single_logout: bool,
    /// "Azure Tenant Sign-In Scope" (multi-tenant only).
    pub sign_in_scope: SignInScope,
    /// "Federated Domain": the ADFS server's FQDN, when sign-ins are forwarded to ADFS.
    pub federated_domain: Option<String>,
    /// "Graph Endpoint" override, e.g. `https://graph.microsoft.us`; empty = the cloud's.
    pub graph_endpoint: Option<String>,
    /// Advanced Settings: "Remember Me when using a SSO method".
    pub remember_me: bool,
    /// Advanced Settings: "Bypass Halo 2FA if logging in with Single Sign-On".
    pub bypass_2fa: bool,
    /// Advanced Settings: "Allow Halo 2FA if logging in with Azure Single Sign-On" (Halo's
    /// 2FA "Don't ask again" cookie then also covers SSO sign-ins).
    pub allow_2fa_with_sso: bool,
}

/// The last passing SSO test.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
#[ts(export)]
pub struct Verification {
    /// When the test passed.
    pub verified_at: DateTime<Utc>,
    /// Who signed in (preferred_username), for the record.
    pub signed_in_as: Option<String>,
}

/// The outcome of the customer's last SSO test, pass or fail, so the customer list can
/// show a failure after a restart. Only the verdict, when and a one-line reason: never a
/// token, a claim beyond the verdict, or a secret. Evidence: written by the engine from a
/// report it produced, never from the webview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
#[ts(export)]
pub struct LastTest {
    /// True when the sign-in was proven.
    pub ok: bool,
    /// When the test ran.
    pub at: DateTime<Utc>,
    /// The stable error code of a failure (`AADSTS65001`, `id_token.nonce`, ...).
    pub code: Option<String>,
    /// Why it failed, on one line (at most [`LastTest::REASON_MAX`] characters).
    pub reason: Option<String>,
}

impl LastTest {
    /// The longest reason kept; a longer one is cut at a character boundary with "…".
    pub const REASON_MAX: usize = 200;

    /// A test's outcome; `reason` is reduced to its first line, trimmed and bounded.
    pub fn new(ok: bool, at: DateTime<Utc>, code: Option<&str>, reason: Option<&str>) -> LastTest {
        let one_line = |s: &str| {
            let line = s
                .lines()
                .map(str::trim)
                .find(|l| !l.is_empty())
                .unwrap_or("");
            if line.chars().count() > Self::REASON_MAX {
                let cut: String = line.chars().take(Self::REASON_MAX - 1).collect();
                format!("{}…", cut.trim_end())
            } else {
                line.to_string()
            }
        };
        LastTest {
            ok,
            at,
            code: code.map(one_line).filter(|s| !s.is_empty()),
            reason: reason.map(one_line).filter(|s| !s.is_empty()),
        }
    }
}

/// One customer's connection, as typed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(default, deny_unknown_fields)]
#[ts(export)]
pub struct Profile {
    /// Format version ([`SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// Stable id (a UUID) — the file name and the keychain account.
    pub id: String,
    /// Customer or connection name, shown in lists and reports.
    pub name: String,
    /// Microsoft cloud.
    pub cloud: Cloud,
    /// Override of the login host (e.g. `http://127.0.0.1:8080` for tests or the sandbox).
    pub authority: Option<String>,
    /// Single- or multi-tenant app.
    pub tenant_type: TenantType,
    /// Directory (tenant) ID where the app is registered.
    pub tenant_id: String,
    /// Application (client) ID.
    pub client_id: String,
    /// The agent application's address, e.g. `https://acme.halopsa.com`.
    pub agent_url: String,
    /// The self-service portal's address; empty = `<agent_url>/portal`.
    pub portal_url: Option<String>,
    /// Authorization server URL for on-premise installs where it is not `<agent_url>/auth`
    /// (Halo: Configuration > Integrations > Halo API).
    pub auth_url: Option<String>,
    /// Who signs in with Entra.
    pub sso_for: SsoFor,
    /// Workforce (B2B) SSO, or public sign-up through Azure AD B2C or External ID (absent in
    /// older files: workforce).
    pub public_signup: PublicSignup,
    /// Integrations beside SSO.
    pub features: Features,
    /// What kind of credential, its hint and expiry.
    pub credential: CredentialMeta,
    /// The SSO toggles of step 6.
    pub sso: SsoToggles,
    /// Tenant IDs allowed to sign in (multi-tenant with a restricted sign-in scope).
    pub allowed_tenants: Vec<String>,
    /// The user/technician sync settings (step 6; used when import or CSP is on). Always
    /// written, so the desktop UI always receives the whole record; files written before it
    /// existed load with the defaults.
    pub sync: crate::steps::sync::SyncSettings,
    /// Set when an SSO test passed.
    pub verified: Option<Verification>,
    /// The last SSO test's outcome, pass or fail (absent in files from before it existed).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional = nullable)]
    pub last_test: Option<LastTest>,
    /// The admin consent captured in the app's own tenant (step 4).
    pub admin_consent: Option<ConsentRecord>,
    /// Partners: the customer tenants that must each consent (step 5).
    pub customer_tenants: Vec<CustomerTenant>,
    /// CSP: the second, single-tenant Partner Center app (step 5). Always written; files
    /// from before it existed load it empty.
    pub partner_center: PartnerCenterApp,
    /// When the profile was created.
    pub created_at: Option<DateTime<Utc>>,
    /// When it was last saved.
    pub updated_at: Option<DateTime<Utc>>,
    /// A credential rotation in progress (issue 15), saved after every step so the next
    /// start shows an interrupted one. Absent when none is (and in files from before it).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional = nullable)]
    pub rotation: Option<crate::rotation::RotationInProgress>,
    /// Finished and rolled-back rotations, oldest first (never a value). Absent when empty.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[ts(optional, as = "Option<Vec<crate::rotation::RotationRecord>>")]
    pub rotations: Vec<crate::rotation::RotationRecord>,
}

impl Default for Profile {
    fn default() -> Self {
        Profile {
            schema_version: SCHEMA_VERSION,
            id: String::new(),
            name: String::new(),
            cloud: Cloud::Global,
            authority: None,
            tenant_type: TenantType::Single,
            tenant_id: String::new(),
            client_id: String::new(),
            agent_url: String::new(),
            portal_url: None,
            auth_url: None,
            sso_for: SsoFor::Agents,
            public_signup: PublicSignup::default(),
            features: Features::default(),
            credential: CredentialMeta::default(),
            sso: SsoToggles::default(),
            allowed_tenants: Vec::new(),
            sync: crate::steps::sync::SyncSettings::default(),
            verified: None,
            last_test: None,
            admin_consent: None,
            customer_tenants: Vec::new(),
            partner_center: PartnerCenterApp::default(),
            created_at: None,
            updated_at: None,
            rotation: None,
            rotations: Vec::new(),
        }
    }
}

impl Profile {
    /// A fresh profile with a new id.
    pub fn new(name: &str) -> Profile {
        Profile {
            id: uuid::Uuid::new_v4().to_string(),
            name: name.trim().to_string(),
            created_at: Some(Utc::now()),
            ..Profile::default()
        }
    }

    /// Parses a profile file's text. Errors say where (line, column) and what.
    pub fn from_json(text: &str) -> Result<Profile, ProfileError> {
        let p: Profile =
            serde_json::from_str(text).map_err(|e| ProfileError::Parse(e.to_string()))?;
        if p.schema_version > SCHEMA_VERSION {
            return Err(ProfileError::TooNew(p.schema_version));
        }
        Ok(p)
    }

    /// Whether this is a practice customer: its login host is a loopback provider (the
    /// practice sandbox or a test provider), so every screen labels it SANDBOX.
    pub fn is_practice(&self) -> bool {
        self.authority
            .as_deref()
            .is_some_and(crate::target::is_loopback_authority)
    }

    /// Pretty JSON, as written to disk.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("a profile always serialises");
        s.push('\n');
        s
    }
}

/// A line in the profile list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct ProfileSummary {
    /// Profile id.
    pub id: String,
    /// Customer name.
    pub name: String,
    /// Service desk address as typed.
    pub agent_url: String,
    /// Cloud.
    pub cloud: Cloud,
    /// When the last SSO test passed.
    pub verified_at: Option<DateTime<Utc>>,
    /// When it was last saved.
    pub updated_at: Option<DateTime<Utc>>,
    /// A practice customer (its login host is a loopback provider).
    pub sandbox: bool,
}

impl From<&Profile> for ProfileSummary {
    fn from(p: &Profile) -> Self {
        ProfileSummary {
            id: p.id.clone(),
            name: p.name.clone(),
            agent_url: p.agent_url.clone(),
            cloud: p.cloud,
            verified_at: p.verified.as_ref().map(|v| v.verified_at),
            updated_at: p.updated_at,
            sandbox: p.is_practice(),
        }
    }
}

/// Profile file and store failures.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProfileError {
    /// The JSON is malformed or has an unknown field.
    #[error("the profile is not valid JSON for this app: {0}")]
    Parse(String),
    /// Written by a newer Entra Onboard.
    #[error(
        "the profile has schema version {0}, newer than this app understands ({SCHEMA_VERSION}); update Entra Onboard"
    )]
    TooNew(u32),
    /// Reading or writing failed.
    #[error("could not access {path}: {message}")]
    Io {
        /// The file or folder.
        path: String,
        /// The OS error.
        message: String,
    },
    /// No profile with that id.
    #[error("no profile with id {0}")]
    NotFound(String),
    /// The id is not one this app made (and could be a path).
    #[error("{0:?} is not a profile id")]
    BadId(String),
    /// No config folder could be found.
    #[error("could not find a configuration folder for this user; set ENTRA_ONBOARD_HOME")]
    NoConfigDir,
    /// The file is not a regular file, too large, unreadable or not UTF-8 (the engine's
    /// bounded reader says which; the core does no I/O, so it only carries the answer).
    #[error("{message}")]
    File {
        /// The reader's stable code (`file.not_regular`, `file.too_large`, …).
        code: &'static str,
        /// What happened, naming the file and what to do.
        message: String,
        /// The file does not exist.
        not_found: bool,
    },
}

impl ProfileError {
    /// Stable code for the UI.
    pub fn code(&self) -> &'static str {
        match self {
            ProfileError::Parse(_) => "profile.parse",
            ProfileError::TooNew(_) => "profile.too_new",
            ProfileError::Io { .. } => "profile.io",
            ProfileError::NotFound(_) => "profile.not_found",
            ProfileError::BadId(_) => "profile.bad_id",
            ProfileError::NoConfigDir => "profile.no_config_dir",
            ProfileError::File { code, .. } => code,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimal_json_fills_defaults() {
        let p = Profile::from_json(r#"{"name":"Acme","agent_url":"https://acme.halopsa.com"}"#)
            .unwrap();
        assert_eq!(p.schema_version, SCHEMA_VERSION);
        assert_eq!(p.cloud, Cloud::Global);
        assert_eq!(p.tenant_type, TenantType::Single);
        assert_eq!(p.sso_for, SsoFor::Agents);
    }

    #[test]
    fn files_from_before_the_partner_center_app_load_it_empty() {
        let p = Profile::from_json(r#"{"name":"Acme","features":{"csp":true}}"#).unwrap();
        assert_eq!(p.partner_center, PartnerCenterApp::default());
        let mut q = p.clone();
        q.partner_center.client_id = "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9".into();
        q.partner_center.credential.kind = CredentialKind::Secret;
        let back = Profile::from_json(&q.to_json()).unwrap();
        assert_eq!(back.partner_center, q.partner_center);
        let err = Profile::from_json(r#"{"partner_center":{"clientid":"x"}}"#).unwrap_err();
        assert!(err.to_string().contains("clientid"), "{err}");
    }

    #[test]
    fn public_signup_defaults_to_workforce_and_round_trips() {
        let p = Profile::from_json(r#"{"name":"Acme"}"#).unwrap();
        assert_eq!(p.public_signup.variant, SignupVariant::Workforce);
        let p = Profile::from_json(
            r#"{"name":"Acme","public_signup":{"variant":"b2c","tenant_name":"contoso","user_flow":"B2C_1_susi"}}"#,
        )
        .unwrap();
        assert_eq!(p.public_signup.variant, SignupVariant::B2c);
        assert_eq!(Profile::from_json(&p.to_json()).unwrap(), p);
        let p = Profile::from_json(r#"{"public_signup":{"variant":"external_id"}}"#).unwrap();
        assert!(p.public_signup.variant.is_public());
        assert!(Profile::from_json(r#"{"public_signup":{"variant":"b2b"}}"#).is_err());
    }

    #[test]
    fn unknown_fields_are_named() {
        let err = Profile::from_json(r#"{"tenantid":"x"}"#).unwrap_err();
        assert!(err.to_string().contains("tenantid"), "{err}");
    }

    #[test]
    fn newer_schema_is_refused() {
        let err = Profile::from_json(r#"{"schema_version":99}"#).unwrap_err();
        assert_eq!(err.code(), "profile.too_new");
    }
}
