//! The customer profile: everything the wizard knows about one service desk ↔ Entra
//! connection, and the store that keeps profiles on disk.
//!
//! A profile is JSON with a schema version, one file per customer in the OS config folder,
//! written atomically (temp file + rename). It keeps what the admin typed *as typed* —
//! validation reports on it, never rewrites it — and it never contains a secret: secrets
//! live in the OS keychain, the profile only records their kind, hint and expiry.
//!
//! Field names are snake_case because this is a file format admins read and edit (and the
//! CLI takes); the IPC-only types elsewhere use camelCase.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

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

/// A federated identity credential as typed (step 3). Entra matches `issuer` and `subject`
/// exactly against the external token's `iss` and `sub`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(default, deny_unknown_fields)]
#[ts(export)]
pub struct FederatedCredential {
    /// The credential's name on the app (3–120 characters, letters, digits, `-` and `_`);
    /// empty = let the admin choose in Entra.
    pub name: String,
    /// The external identity provider's issuer URL, exactly as its tokens' `iss`.
    pub issuer: String,
    /// The external workload's identifier, exactly as its tokens' `sub`.
    pub subject: String,
    /// The audience the external token carries; `None` = the cloud's default
    /// (`api://AzureADTokenExchange`, `…USGov`, `…China`).
    pub audience: Option<String>,
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
    /// The admin consent captured in the app's own tenant (step 4).
    pub admin_consent: Option<ConsentRecord>,
    /// Partners: the customer tenants that must each consent (step 5).
    pub customer_tenants: Vec<CustomerTenant>,
    /// When the profile was created.
    pub created_at: Option<DateTime<Utc>>,
    /// When it was last saved.
    pub updated_at: Option<DateTime<Utc>>,
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
            features: Features::default(),
            credential: CredentialMeta::default(),
            sso: SsoToggles::default(),
            allowed_tenants: Vec::new(),
            sync: crate::steps::sync::SyncSettings::default(),
            verified: None,
            admin_consent: None,
            customer_tenants: Vec::new(),
            created_at: None,
            updated_at: None,
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

    /// Reads a profile from any path (the CLI's `<profile.json>`).
    /// Bounded: a regular file of at most [`MAX_PROFILE_FILE_BYTES`] (see [`crate::bounded`]).
    pub fn read_file(path: &Path) -> Result<Profile, ProfileError> {
        let text = crate::bounded::read_to_string(path, MAX_PROFILE_FILE_BYTES, "a profile")?;
        Profile::from_json(&text)
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
            sandbox: crate::sandbox::practice::is_practice(p),
        }
    }
}

/// Largest profile file read (the store and any path given). A real profile is a few
/// kilobytes, even with thousands of customer tenants a few megabytes.
pub const MAX_PROFILE_FILE_BYTES: u64 = crate::bounded::MAX_PROFILE_BYTES;

/// A `.json` file in the profile folder that could not be read as a profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct UnreadableProfile {
    /// The file's name, e.g. `0b6c….json`.
    pub file: String,
    /// The file's full path, to open or remove it.
    pub path: String,
    /// Stable error code (`profile.parse`, `profile.too_new`, `profile.io`).
    pub code: String,
    /// What is wrong with it, for the admin.
    pub message: String,
}

/// What [`ProfileStore::scan`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreScan {
    /// Every readable profile, most recently saved first.
    pub profiles: Vec<Profile>,
    /// Every `.json` file that is not a readable profile, by file name.
    pub unreadable: Vec<UnreadableProfile>,
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
    /// The file is not a regular file, too large, unreadable or not UTF-8.
    #[error(transparent)]
    File(#[from] crate::bounded::ReadError),
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
            ProfileError::File(e) => e.code(),
        }
    }
}

/// Profiles on disk: `<config dir>/entra-onboard/profiles/<id>.json`.
#[derive(Debug, Clone)]
pub struct ProfileStore {
    dir: PathBuf,
}

/// The folder everything of this app lives in: `$ENTRA_ONBOARD_HOME` when set (tests,
/// portable installs), else the OS config folder.
pub fn app_home() -> Result<PathBuf, ProfileError> {
    if let Some(home) = std::env::var_os("ENTRA_ONBOARD_HOME").filter(|h| !h.is_empty()) {
        return Ok(PathBuf::from(home));
    }
    dirs::config_dir()
        .map(|d| d.join("entra-onboard"))
        .ok_or(ProfileError::NoConfigDir)
}

impl ProfileStore {
    /// The store in [`app_home`].
    pub fn open_default() -> Result<ProfileStore, ProfileError> {
        Ok(ProfileStore::at(app_home()?.join("profiles")))
    }

    /// A store in `dir` (created on first save).
    pub fn at(dir: impl Into<PathBuf>) -> ProfileStore {
        ProfileStore { dir: dir.into() }
    }

    /// Where the profiles are.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path_for(&self, id: &str) -> Result<PathBuf, ProfileError> {
        // Ids come from the webview too: only a UUID can become a file name, so no id can
        // walk out of the folder.
        let id = uuid::Uuid::parse_str(id).map_err(|_| ProfileError::BadId(id.to_string()))?;
        Ok(self.dir.join(format!("{}.json", id.hyphenated())))
    }

    fn io(path: &Path, e: std::io::Error) -> ProfileError {
        ProfileError::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        }
    }

    /// Every profile, most recently saved first. A file that cannot be read is skipped
    /// rather than hiding all the others.
    pub fn list(&self) -> Result<Vec<ProfileSummary>, ProfileError> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Self::io(&self.dir, e)),
        };
        let mut out: Vec<ProfileSummary> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .filter_map(|p| Profile::read_file(&p).ok())
            .map(|p| ProfileSummary::from(&p))
            .collect();
        out.sort_by(|a, b| {
            b.updated_at
                .cmp(&a.updated_at)
                .then_with(|| a.name.cmp(&b.name))
        });
        Ok(out)
    }

    /// Every profile file in the store, read in full, most recently saved first — and every
    /// `.json` file that could not be read, with the reason, so a dashboard can show "this
    /// file is damaged" instead of a customer silently disappearing (which [`Self::list`]
    /// does, to keep pickers simple). Files over [`MAX_PROFILE_FILE_BYTES`] are reported
    /// rather than read.
    pub fn scan(&self) -> Result<StoreScan, ProfileError> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(StoreScan::default()),
            Err(e) => return Err(Self::io(&self.dir, e)),
        };
        let mut scan = StoreScan::default();
        let mut paths: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        paths.sort();
        for path in paths {
            let file = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            match Profile::read_file(&path) {
                Ok(p) => scan.profiles.push(p),
                Err(e) => scan.unreadable.push(UnreadableProfile {
                    file,
                    path: path.display().to_string(),
                    code: e.code().to_string(),
                    message: e.to_string(),
                }),
            }
        }
        scan.profiles.sort_by(|a, b| {
            b.updated_at
                .cmp(&a.updated_at)
                .then_with(|| a.name.cmp(&b.name))
        });
        Ok(scan)
    }

    /// Loads one profile.
    pub fn load(&self, id: &str) -> Result<Profile, ProfileError> {
        let path = self.path_for(id)?;
        match Profile::read_file(&path) {
            Err(ProfileError::File(e)) if e.is_not_found() => {
                Err(ProfileError::NotFound(id.to_string()))
            }
            r => r,
        }
    }

    /// Saves (creating or replacing) atomically, stamping `updated_at` and the schema
    /// version. A profile without an id gets one. Saving never validates: a half-finished
    /// profile is saved as it is, so nothing typed is lost.
    pub fn save(&self, profile: &Profile) -> Result<Profile, ProfileError> {
        let mut p = profile.clone();
        p.updated_at = Some(Utc::now());
        self.write_profile(p)
    }

    /// Saves a profile brought from another computer, keeping its `updated_at` (so a later
    /// import can tell which copy is newer) instead of stamping it now. Otherwise as
    /// [`Self::save`].
    pub fn save_imported(&self, profile: &Profile) -> Result<Profile, ProfileError> {
        let mut p = profile.clone();
        p.updated_at.get_or_insert_with(Utc::now);
        self.write_profile(p)
    }

    fn write_profile(&self, mut p: Profile) -> Result<Profile, ProfileError> {
        if p.id.is_empty() {
            p.id = uuid::Uuid::new_v4().to_string();
        }
        p.schema_version = SCHEMA_VERSION;
        p.created_at.get_or_insert_with(Utc::now);
        let path = self.path_for(&p.id)?;
        fs::create_dir_all(&self.dir).map_err(|e| Self::io(&self.dir, e))?;
        write_atomic(&path, p.to_json().as_bytes()).map_err(|e| Self::io(&path, e))?;
        Ok(p)
    }

    /// Deletes one profile's file. (Keychain entries are removed by the caller, which
    /// knows about the keychain.)
    pub fn delete(&self, id: &str) -> Result<(), ProfileError> {
        let path = self.path_for(id)?;
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(ProfileError::NotFound(id.to_string()))
            }
            Err(e) => Err(Self::io(&path, e)),
        }
    }
}

/// Writes `bytes` to `path` through a temporary file in the same folder and a rename, so a
/// crash or a full disk leaves either the old file or the new one, never half of one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", uuid::Uuid::new_v4().simple()));
    let result = (|| {
        let mut opts = fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            // Customer names and tenant ids are not secrets, but they are nobody else's
            // business on a shared machine.
            opts.mode(0o600);
        }
        let mut f = opts.open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
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
    fn unknown_fields_are_named() {
        let err = Profile::from_json(r#"{"tenantid":"x"}"#).unwrap_err();
        assert!(err.to_string().contains("tenantid"), "{err}");
    }

    #[test]
    fn newer_schema_is_refused() {
        let err = Profile::from_json(r#"{"schema_version":99}"#).unwrap_err();
        assert_eq!(err.code(), "profile.too_new");
    }

    #[test]
    fn store_round_trip_and_delete() {
        let dir = tempfile::tempdir().unwrap();
        let store = ProfileStore::at(dir.path().join("profiles"));
        assert!(store.list().unwrap().is_empty());
        let mut p = Profile::new("Acme");
        p.tenant_id = "not yet".into();
        let saved = store.save(&p).unwrap();
        assert!(saved.updated_at.is_some());
        let back = store.load(&saved.id).unwrap();
        assert_eq!(back, saved);
        assert_eq!(back.tenant_id, "not yet", "saving never rewrites input");
        assert_eq!(store.list().unwrap().len(), 1);
        store.delete(&saved.id).unwrap();
        assert!(matches!(
            store.load(&saved.id),
            Err(ProfileError::NotFound(_))
        ));
        // no temp files left behind
        assert_eq!(fs::read_dir(store.dir()).unwrap().count(), 0);
    }

    #[test]
    fn scan_reports_unreadable_files_instead_of_dropping_them() {
        let dir = tempfile::tempdir().unwrap();
        let store = ProfileStore::at(dir.path());
        let good = store.save(&Profile::new("Acme")).unwrap();
        fs::write(dir.path().join("broken.json"), "{ not json").unwrap();
        fs::write(dir.path().join("future.json"), r#"{"schema_version":99}"#).unwrap();
        fs::write(dir.path().join("notes.txt"), "ignored").unwrap();
        let scan = store.scan().unwrap();
        assert_eq!(scan.profiles.len(), 1);
        assert_eq!(scan.profiles[0].id, good.id);
        let files: Vec<(&str, &str)> = scan
            .unreadable
            .iter()
            .map(|u| (u.file.as_str(), u.code.as_str()))
            .collect();
        assert_eq!(
            files,
            [
                ("broken.json", "profile.parse"),
                ("future.json", "profile.too_new")
            ]
        );
        // list() still hides them (pickers), but scan() does not.
        assert_eq!(store.list().unwrap().len(), 1);
        assert!(
            ProfileStore::at(dir.path().join("missing"))
                .scan()
                .unwrap()
                .profiles
                .is_empty()
        );
    }

    #[cfg(unix)]
    #[test]
    fn store_reads_are_bounded_to_regular_files() {
        let dir = tempfile::tempdir().unwrap();
        let store = ProfileStore::at(dir.path());
        let good = store.save(&Profile::new("Acme")).unwrap();
        // A device behind a profile-looking name, a FIFO (no writer: the open must not
        // hang) and a sparse file over the cap: each listed, none read into memory.
        std::os::unix::fs::symlink("/dev/zero", dir.path().join("zero.json")).unwrap();
        assert!(
            std::process::Command::new("mkfifo")
                .arg(dir.path().join("pipe.json"))
                .status()
                .unwrap()
                .success()
        );
        let big = fs::File::create(dir.path().join("big.json")).unwrap();
        big.set_len(MAX_PROFILE_FILE_BYTES + 1).unwrap();
        let scan = store.scan().unwrap();
        assert_eq!(scan.profiles.len(), 1);
        let files: Vec<(&str, &str)> = scan
            .unreadable
            .iter()
            .map(|u| (u.file.as_str(), u.code.as_str()))
            .collect();
        assert_eq!(
            files,
            [
                ("big.json", "file.too_large"),
                ("pipe.json", "file.not_regular"),
                ("zero.json", "file.not_regular")
            ]
        );
        assert_eq!(store.list().unwrap().len(), 1);
        // load() by id goes through the same read.
        let id = uuid::Uuid::new_v4().to_string();
        std::os::unix::fs::symlink("/dev/zero", dir.path().join(format!("{id}.json"))).unwrap();
        assert_eq!(store.load(&id).unwrap_err().code(), "file.not_regular");
        assert!(store.load(&good.id).is_ok());
    }

    #[test]
    fn save_imported_keeps_updated_at() {
        let dir = tempfile::tempdir().unwrap();
        let store = ProfileStore::at(dir.path());
        let mut p = Profile::new("Acme");
        let then = "2024-01-02T03:04:05Z".parse::<DateTime<Utc>>().unwrap();
        p.updated_at = Some(then);
        let saved = store.save_imported(&p).unwrap();
        assert_eq!(store.load(&saved.id).unwrap().updated_at, Some(then));
        assert_ne!(store.save(&p).unwrap().updated_at, Some(then));
    }

    #[test]
    fn ids_cannot_escape_the_folder() {
        let dir = tempfile::tempdir().unwrap();
        let store = ProfileStore::at(dir.path());
        for bad in ["../../etc/passwd", "x.json", ""] {
            assert!(
                matches!(store.load(bad), Err(ProfileError::BadId(_))),
                "{bad}"
            );
        }
    }

    #[cfg(unix)]
    #[test]
    fn files_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let store = ProfileStore::at(dir.path());
        let p = store.save(&Profile::new("Acme")).unwrap();
        let mode = fs::metadata(dir.path().join(format!("{}.json", p.id)))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
