//! Moving profiles to another computer: an export bundle (one JSON file with every
//! profile) and its import.
//!
//! ```json
//! {"format":"entra-onboard-profiles","version":1,"exported_at":"…","profiles":[{…}, …]}
//! ```
//!
//! Profiles hold no secrets by construction (secrets and certificate passwords live in the
//! OS keychain, which does not travel), so neither does a bundle; the export still cuts
//! every secret hint to Entra's three characters in case a profile was hand-edited. The
//! import says, per customer, what must be re-entered or re-generated in step 3.
//!
//! Import rules: each profile is checked as a profile file is ([`Profile::from_json`]:
//! unknown fields and newer schema versions are refused) and one bad profile does not stop
//! the others. A file is not trusted to speak for this computer:
//!
//! - An id must be a canonical UUID (lower case, 8-4-4-4-12): the id names the profile file
//!   and the keychain entries, so two spellings of one UUID must not both exist. A profile
//!   without an id gets a new one. An id twice in one file is refused the second time.
//! - Tenant strings (`tenant_id`, `allowed_tenants`, the customer tenants) must be a tenant
//!   GUID or a domain, as when typed: they end up in sign-in and consent links. An empty
//!   `tenant_id` or allowed-tenant row (not typed yet) is fine.
//! - What only this computer can know is cleared: `verified` (a pass seen elsewhere), the
//!   consent evidence (`admin_consent` and every customer tenant's record go back to "not
//!   asked") and file paths (`credential.certificate_file`).
//! - A profile whose id is already here is a **conflict** when anything the file can carry
//!   differs (the fields are listed): it is skipped unless the caller asked to replace it
//!   ([`Replace`]: the CLI's `--replace`, the app's confirmation). When nothing differs it is
//!   skipped as unchanged, so importing the same bundle twice changes nothing.
//! - A replacement that changes who the customer is — `authority`, `cloud`, `tenant_id`,
//!   `client_id` or `agent_url` — first deletes the customer's keychain entries, so the old
//!   secret never answers for another app or host; if the keychain cannot do that, the
//!   profile is not replaced.
//!
//! A single profile file (as the CLI uses) is accepted as well as a bundle.
//!
//! Deliberately left out: merging two edited copies field by field (a replacement is the
//! file's copy, whole), choosing by `updated_at` (a newer copy is still a conflict: the
//! admin decides), moving keychain entries (the OS keychain is per computer by design), and
//! encrypting the bundle (there is nothing secret in it).

use std::collections::HashSet;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use ts_rs::TS;

use crate::ids::{is_fqdn, parse_guid};
use crate::keychain::{Keychain, KeychainError};
use crate::profile::{ConsentRecord, CredentialKind, Profile, ProfileError, ProfileStore};
use crate::validation::normalize_base_url;

/// The bundle's `format` value.
pub const BUNDLE_FORMAT: &str = "entra-onboard-profiles";
/// The bundle format version this build writes and reads.
pub const BUNDLE_VERSION: u32 = 1;
/// Largest import accepted. A bundle of a thousand customers is a few megabytes.
pub const MAX_IMPORT_BYTES: usize = crate::bounded::MAX_BUNDLE_BYTES as usize;

#[derive(Serialize)]
struct BundleOut<'a> {
    format: &'static str,
    version: u32,
    exported_at: DateTime<Utc>,
    profiles: &'a [Profile],
}

/// The export file's text: every profile in `profiles`, dated `now`.
pub fn export_bundle(profiles: &[Profile], now: DateTime<Utc>) -> String {
    let cleaned: Vec<Profile> = profiles
        .iter()
        .map(|p| {
            let mut p = p.clone();
            // A profile never holds more than the hint; make sure a hand-edited one does
            // not carry a pasted secret to another computer.
            for c in [&mut p.credential, &mut p.partner_center.credential] {
                if let Some(h) = c.secret_hint.as_mut() {
                    *h = h.chars().take(3).collect();
                }
            }
            p
        })
        .collect();
    let mut s = serde_json::to_string_pretty(&BundleOut {
        format: BUNDLE_FORMAT,
        version: BUNDLE_VERSION,
        exported_at: now,
        profiles: &cleaned,
    })
    .expect("profiles always serialise");
    s.push('\n');
    s
}

/// A profile that was imported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct ImportedProfile {
    /// Its id on this computer (new when the file had none).
    pub id: String,
    /// Customer name.
    pub name: String,
    /// Its credential kind: secrets and certificates must be set up again in step 3.
    pub credential_kind: CredentialKind,
}

/// A customer on this computer replaced by the file's copy (asked for explicitly).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct ReplacedProfile {
    /// Profile id.
    pub id: String,
    /// Customer name (the file's).
    pub name: String,
    /// Its credential kind: secrets and certificates must be set up again in step 3.
    pub credential_kind: CredentialKind,
    /// The top-level fields that changed (`agent_url`, `credential`, `verified`, …).
    pub fields: Vec<String>,
}

/// A profile left as it was on this computer because the file's copy is the same.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct SkippedProfile {
    /// Profile id.
    pub id: String,
    /// Customer name (from the file).
    pub name: String,
    /// Why it was skipped.
    pub reason: String,
}

/// One field that differs between this computer's copy and the file's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct FieldChange {
    /// The field, as the plan names fields (`agent_url`, `credential.kind`,
    /// `allowed_tenants[0]`).
    pub field: String,
    /// Its value on this computer, shortened for display (`(none)` when absent).
    pub here: String,
    /// Its value after a replacement (the file's, with what an import clears cleared).
    pub incoming: String,
}

/// A profile in the file whose id is already on this computer with different values: not
/// imported unless the admin asks for it to replace this computer's copy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct ImportConflict {
    /// Profile id.
    pub id: String,
    /// Customer name in the file.
    pub name: String,
    /// Customer name on this computer.
    pub name_here: String,
    /// What a replacement would change, who-the-customer-is fields first (at most
    /// [`MAX_LISTED_CHANGES`]).
    pub changes: Vec<FieldChange>,
    /// How many more fields differ than are listed.
    pub more_changes: usize,
    /// The identity fields that differ (`authority`, `cloud`, `tenant_id`, `client_id`,
    /// `agent_url`): replacing deletes the customer's keychain entries.
    pub identity_changes: Vec<String>,
    /// When this computer's copy was last saved.
    #[ts(type = "string | null")]
    pub updated_here: Option<DateTime<Utc>>,
    /// When the file's copy was last saved.
    #[ts(type = "string | null")]
    pub updated_in_file: Option<DateTime<Utc>>,
}

/// Keychain entries deleted because a replacement changed who the customer is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct KeychainRemoval {
    /// Profile id.
    pub id: String,
    /// Customer name (the file's).
    pub name: String,
    /// The identity fields that changed.
    pub because: Vec<String>,
    /// What was deleted (the client secret and certificate password entries, if any).
    pub message: String,
}

/// A profile in the file that could not be imported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct RejectedProfile {
    /// Its position in the file (1 = first).
    pub position: usize,
    /// Its name, when one could be read.
    pub name: Option<String>,
    /// Stable code (`profile.parse`, `profile.too_new`, `transfer.bad_id`,
    /// `transfer.bad_tenant`, `transfer.duplicate_id`, `keychain.*`, `profile.io`, …).
    pub code: String,
    /// What is wrong and what to do.
    pub reason: String,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct ImportSummary {
    /// New on this computer.
    pub imported: Vec<ImportedProfile>,
    /// Already here, replaced by the file's copy because the caller asked for it.
    pub replaced: Vec<ReplacedProfile>,
    /// Already here with different values and not replaced (nothing of them was changed).
    pub conflicts: Vec<ImportConflict>,
    /// Already here and the same as the file's copy: left as it was.
    pub skipped: Vec<SkippedProfile>,
    /// Not imported, with the reason.
    pub rejected: Vec<RejectedProfile>,
    /// Keychain entries deleted because a replacement changed who the customer is.
    pub keychain_removed: Vec<KeychainRemoval>,
    /// What the admin must redo: secrets and certificate passwords are not in the file.
    pub secrets_note: String,
    /// Names of the imported or replaced customers whose secret or certificate must be set
    /// up again in step 3.
    pub needs_credentials: Vec<String>,
}

/// Which conflicts an import replaces.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Replace {
    /// None: every conflict is listed and skipped.
    #[default]
    Nothing,
    /// Every conflict (the CLI's `--replace`).
    All,
    /// Only these profile ids (what the admin confirmed in the app).
    Only(Vec<String>),
}

impl Replace {
    fn allows(&self, id: &str) -> bool {
        match self {
            Replace::Nothing => false,
            Replace::All => true,
            Replace::Only(ids) => ids.iter().any(|i| i == id),
        }
    }
}

/// Most changes listed per conflict; the rest are counted in
/// [`ImportConflict::more_changes`].
pub const MAX_LISTED_CHANGES: usize = 30;
/// Longest value shown in a [`FieldChange`], in characters.
const MAX_SHOWN_CHARS: usize = 80;
/// The fields that say who the customer is: a replacement changing any of them deletes the
/// customer's keychain entries.
/// `public_signup` is one: it decides the host a secret is sent to (issue 14 point 7).
pub const IDENTITY_FIELDS: [&str; 6] = [
    "authority",
    "cloud",
    "tenant_id",
    "client_id",
    "agent_url",
    "public_signup",
];

/// The import file as a whole could not be used (nothing was imported).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransferError {
    /// Larger than [`MAX_IMPORT_BYTES`].
    #[error(
        "the file is {size} bytes, more than the {limit} bytes an export of profiles can be; choose the .json file Entra Onboard exported"
    )]
    TooLarge {
        /// Its size.
        size: u64,
        /// The limit.
        limit: usize,
    },
    /// Not JSON.
    #[error("the file is not JSON: {0}. Choose the .json file Entra Onboard exported")]
    Parse(String),
    /// JSON, but neither a bundle nor a profile.
    #[error("{0}")]
    NotABundle(String),
    /// A bundle from a newer Entra Onboard.
    #[error(
        "the file is a version {0} export, newer than this app reads ({BUNDLE_VERSION}); update Entra Onboard"
    )]
    TooNew(u64),
    /// The file could not be read.
    #[error("could not read {path}: {message}")]
    Io {
        /// The file.
        path: String,
        /// The OS error.
        message: String,
    },
    /// The profile store could not be read.
    #[error(transparent)]
    Store(#[from] ProfileError),
    /// The import file is not a regular file, too large or unreadable.
    #[error(transparent)]
    File(#[from] crate::bounded::ReadError),
}

impl TransferError {
    /// Stable code for the UI.
    pub fn code(&self) -> &'static str {
        match self {
            TransferError::TooLarge { .. } => "transfer.too_large",
            TransferError::Parse(_) => "transfer.parse",
            TransferError::NotABundle(_) => "transfer.not_a_bundle",
            TransferError::TooNew(_) => "transfer.too_new",
            TransferError::Io { .. } => "transfer.io",
            TransferError::Store(e) => e.code(),
            TransferError::File(e) => e.code(),
        }
    }
}

/// Reads an import file: a regular file of at most [`MAX_IMPORT_BYTES`], the cap checked
/// while reading ([`crate::bounded`]).
pub fn read_import_file(path: &Path) -> Result<String, TransferError> {
    let bytes = crate::bounded::read_file(path, MAX_IMPORT_BYTES as u64, "a profile export")?;
    String::from_utf8(bytes).map_err(|_| TransferError::Parse("it is not UTF-8 text".into()))
}

/// The profiles in `text`: a bundle's list, or a single profile object.
fn entries(text: &str) -> Result<Vec<Value>, TransferError> {
    if text.len() > MAX_IMPORT_BYTES {
        return Err(TransferError::TooLarge {
            size: text.len() as u64,
            limit: MAX_IMPORT_BYTES,
        });
    }
    let v: Value = serde_json::from_str(text).map_err(|e| TransferError::Parse(e.to_string()))?;
    let Value::Object(obj) = v else {
        return Err(TransferError::NotABundle(
            "the file is JSON, but not an Entra Onboard export or profile (expected an object with \"format\": \"entra-onboard-profiles\", or a single profile)".into(),
        ));
    };
    match obj.get("format") {
        None => Ok(vec![Value::Object(obj)]),
        Some(Value::String(f)) if f == BUNDLE_FORMAT => {
            let version = obj.get("version").and_then(Value::as_u64).ok_or_else(|| {
                TransferError::NotABundle("the export has no \"version\" number".into())
            })?;
            if version > u64::from(BUNDLE_VERSION) {
                return Err(TransferError::TooNew(version));
            }
            match obj.get("profiles") {
                Some(Value::Array(list)) => Ok(list.clone()),
                _ => Err(TransferError::NotABundle(
                    "the export has no \"profiles\" list".into(),
                )),
            }
        }
        Some(other) => Err(TransferError::NotABundle(format!(
            "the file's format is {other}, not \"{BUNDLE_FORMAT}\": it was not exported by Entra Onboard"
        ))),
    }
}

/// Imports a bundle or a single profile (`text`) into `store`. Fails as a whole only when
/// the text is unusable; per-profile problems are listed in [`ImportSummary::rejected`].
///
/// Profiles already here with different values are replaced only as `replace` allows (the
/// rest are [`ImportSummary::conflicts`]). `open_keychain` is called, once, only when a
/// replacement changes an identity field and the customer's keychain entries must go.
pub fn import_bundle(
    store: &ProfileStore,
    text: &str,
    replace: &Replace,
    open_keychain: impl FnMut() -> Result<Keychain, KeychainError>,
) -> Result<ImportSummary, TransferError> {
    let list = entries(text)?;
    let mut run = Import {
        store,
        replace,
        open_keychain,
        keychain: None,
        seen_ids: HashSet::new(),
        sum: ImportSummary::default(),
    };
    for (i, value) in list.into_iter().enumerate() {
        let name_in_file = value
            .get("name")
            .and_then(Value::as_str)
            .map(str::to_string);
        if let Err(r) = run.entry(value) {
            run.sum.rejected.push(RejectedProfile {
                position: i + 1,
                name: name_in_file,
                code: r.code,
                reason: r.reason,
            });
        }
    }
    let mut sum = run.sum;
    sum.needs_credentials = sum
        .imported
        .iter()
        .map(|p| (&p.name, p.credential_kind))
        .chain(sum.replaced.iter().map(|p| (&p.name, p.credential_kind)))
        .filter(|(_, kind)| matches!(kind, CredentialKind::Secret | CredentialKind::Certificate))
        .map(|(name, _)| display_name(name))
        .collect();
    sum.secrets_note = secrets_note(&sum.needs_credentials);
    Ok(sum)
}

/// Why one entry of the file was not imported.
struct Rejection {
    code: String,
    reason: String,
}

impl Rejection {
    fn new(code: &str, reason: impl Into<String>) -> Rejection {
        Rejection {
            code: code.into(),
            reason: reason.into(),
        }
    }
}

/// One import: where profiles go, what may be replaced, the keychain (opened once, when
/// first needed) and what happened so far.
struct Import<'a, K> {
    store: &'a ProfileStore,
    replace: &'a Replace,
    open_keychain: K,
    keychain: Option<Keychain>,
    /// Ids seen earlier in the file (a second profile with one is refused).
    seen_ids: HashSet<String>,
    sum: ImportSummary,
}

impl<K: FnMut() -> Result<Keychain, KeychainError>> Import<'_, K> {
    /// One entry of the file: checked, then saved as new, skipped as unchanged, listed as a
    /// conflict, or replacing this computer's copy.
    fn entry(&mut self, value: Value) -> Result<(), Rejection> {
        let mut p = checked_profile(&value)?;
        clear_local_facts(&mut p);
        if p.id.is_empty() {
            return self.save_new(&p);
        }
        if !self.seen_ids.insert(p.id.clone()) {
            return Err(Rejection::new(
                "transfer.duplicate_id",
                format!(
                    "its id {} is used by an earlier profile in the same file; give one of them a new id (or remove its \"id\" line) and import again",
                    p.id
                ),
            ));
        }
        match self.store.load(&p.id) {
            Ok(existing) => self.merge(p, existing),
            Err(ProfileError::NotFound(_)) => self.save_new(&p),
            Err(e) => Err(Rejection::new(
                e.code(),
                format!(
                    "this computer has a profile with the same id that cannot be read ({e}); fix or delete that file, then import again"
                ),
            )),
        }
    }

    /// A customer this computer does not have.
    fn save_new(&mut self, p: &Profile) -> Result<(), Rejection> {
        let saved = self
            .store
            .save_imported(p)
            .map_err(|e| Rejection::new(e.code(), e.to_string()))?;
        self.sum.imported.push(imported(&saved));
        Ok(())
    }

    /// A customer this computer has (`existing`): skipped when the file has nothing new,
    /// a conflict unless replacing it is allowed, else replaced — after the keychain
    /// entries are deleted when an identity field changed.
    fn merge(&mut self, p: Profile, existing: Profile) -> Result<(), Rejection> {
        // What the file can carry is compared with this computer's copy minus what an
        // import clears anyway; equal means the file has nothing new for this customer.
        let mut comparable = existing.clone();
        clear_local_facts(&mut comparable);
        if field_changes(&comparable, &p).is_empty() {
            self.sum.skipped.push(SkippedProfile {
                id: p.id.clone(),
                name: p.name.clone(),
                reason: "this computer already has this customer with the same values".into(),
            });
            return Ok(());
        }
        let changes = field_changes(&existing, &p);
        let identity = identity_changes(&existing, &p);
        if !self.replace.allows(&p.id) {
            self.sum.conflicts.push(ImportConflict {
                id: p.id.clone(),
                name: p.name.clone(),
                name_here: existing.name.clone(),
                more_changes: changes.len().saturating_sub(MAX_LISTED_CHANGES),
                changes: changes.into_iter().take(MAX_LISTED_CHANGES).collect(),
                identity_changes: identity,
                updated_here: existing.updated_at,
                updated_in_file: p.updated_at,
            });
            return Ok(());
        }
        if !identity.is_empty() {
            self.forget_credentials(&p, identity)?;
        }
        let saved = self
            .store
            .save_imported(&p)
            .map_err(|e| Rejection::new(e.code(), e.to_string()))?;
        let mut fields: Vec<String> = Vec::new();
        for c in &changes {
            let top = top_field(&c.field).to_string();
            if !fields.contains(&top) {
                fields.push(top);
            }
        }
        self.sum.replaced.push(ReplacedProfile {
            id: saved.id.clone(),
            name: saved.name.clone(),
            credential_kind: saved.credential.kind,
            fields,
        });
        Ok(())
    }

    /// The old secret must never answer for another tenant, app or host: the keychain
    /// entries go first, and without them gone the profile is not replaced.
    fn forget_credentials(&mut self, p: &Profile, identity: Vec<String>) -> Result<(), Rejection> {
        let removed = match self.keychain.as_ref() {
            Some(k) => k.delete_all(&p.id),
            None => match (self.open_keychain)() {
                Ok(k) => self.keychain.insert(k).delete_all(&p.id),
                Err(e) => Err(e),
            },
        };
        if let Err(e) = removed {
            return Err(Rejection::new(
                e.code(),
                format!(
                    "not replaced: its {} changed, so this customer's stored secret and certificate password must be deleted first, and the keychain refused: {e}",
                    identity.join(", ")
                ),
            ));
        }
        self.sum.keychain_removed.push(KeychainRemoval {
            id: p.id.clone(),
            name: p.name.clone(),
            message: format!(
                "deleted the client secret and certificate password stored for {} (if there were any), because its {} changed; enter them again in step 3",
                display_name(&p.name),
                identity.join(", ")
            ),
            because: identity,
        });
        Ok(())
    }
}

/// One entry of the file as a profile, refused when it is not one, could carry a secret
/// (a hint longer than three characters: export never writes one), or has an id or tenant
/// this app would not write.
fn checked_profile(value: &Value) -> Result<Profile, Rejection> {
    if !value.is_object() {
        return Err(Rejection::new(
            "profile.parse",
            "this entry is not a profile (not a JSON object)",
        ));
    }
    let p = Profile::from_json(&value.to_string())
        .map_err(|e| Rejection::new(e.code(), e.to_string()))?;
    if p.credential
        .secret_hint
        .as_ref()
        .is_some_and(|h| h.chars().count() > 3)
    {
        return Err(Rejection::new(
            "transfer.secret_in_profile",
            "its secret hint is longer than three characters and could be the secret itself; keep only the first three characters and import again",
        ));
    }
    if !p.id.is_empty() && !is_canonical_uuid(&p.id) {
        return Err(Rejection::new(
            "transfer.bad_id",
            format!(
                "its id {:?} is not a canonical UUID (lower-case hex in 8-4-4-4-12 groups, like 3f2b8c1e-0d4a-4b6e-9f10-2a3b4c5d6e7f); write it that way, or remove the \"id\" line to import it as a new customer",
                shown(&p.id)
            ),
        ));
    }
    if let Err((field, value)) = check_tenants(&p) {
        return Err(Rejection::new(
            "transfer.bad_tenant",
            format!(
                "its {field} {:?} is not a tenant ID (a GUID like 72f988bf-86f1-41af-91ab-2d7cd011db47) or a domain (contoso.com); correct or remove it in the file and import again",
                shown(&value)
            ),
        ));
    }
    Ok(p)
}

/// True for a UUID written the one way this app writes it: lower-case, hyphenated.
fn is_canonical_uuid(id: &str) -> bool {
    uuid::Uuid::parse_str(id).is_ok_and(|u| u.hyphenated().to_string() == id)
}

/// The first tenant string that is neither a tenant GUID nor a domain, with its field name.
/// An empty `tenant_id` or allowed-tenant row is not typed yet, so it is accepted; a customer
/// tenant is only ever added with a value, so an empty one is refused.
fn check_tenants(p: &Profile) -> Result<(), (String, String)> {
    let ok = |s: &str| {
        let s = s.trim();
        parse_guid(s).is_some() || is_fqdn(s)
    };
    if !p.tenant_id.trim().is_empty() && !ok(&p.tenant_id) {
        return Err(("tenant_id".into(), p.tenant_id.clone()));
    }
    for (i, t) in p.allowed_tenants.iter().enumerate() {
        if !t.trim().is_empty() && !ok(t) {
            return Err((format!("allowed_tenants[{i}]"), t.clone()));
        }
    }
    for (i, t) in p.customer_tenants.iter().enumerate() {
        if !ok(&t.tenant) {
            return Err((format!("customer_tenants[{i}].tenant"), t.tenant.clone()));
        }
    }
    Ok(())
}

/// Clears what only the computer that saw it can vouch for: a passing test, consent answers
/// and paths to files on that computer.
fn clear_local_facts(p: &mut Profile) {
    p.verified = None;
    p.last_test = None;
    p.admin_consent = None;
    for t in &mut p.customer_tenants {
        t.consent = ConsentRecord::default();
    }
    p.credential.certificate_file = None;
    // A rotation in progress is about this computer's keychain.
    p.rotation = None;
    // The Partner Center app's: the same kinds of local facts.
    p.partner_center.admin_consent = None;
    p.partner_center.credential.certificate_file = None;
}

/// The identity fields that differ, compared as the plan reads them (GUIDs in any case, a
/// service-desk URL with or without its trailing slash).
fn identity_changes(here: &Profile, incoming: &Profile) -> Vec<String> {
    let guid = |s: &str| parse_guid(s).unwrap_or_else(|| s.trim().to_string());
    let authority = |a: &Option<String>| {
        a.as_deref()
            .map(|s| s.trim().trim_end_matches('/').to_string())
            .filter(|s| !s.is_empty())
    };
    let url = |s: &str| normalize_base_url(s).unwrap_or_else(|_| s.trim().to_string());
    let differs = [
        authority(&here.authority) != authority(&incoming.authority),
        here.cloud != incoming.cloud,
        guid(&here.tenant_id) != guid(&incoming.tenant_id),
        guid(&here.client_id) != guid(&incoming.client_id),
        url(&here.agent_url) != url(&incoming.agent_url),
        here.public_signup != incoming.public_signup,
    ];
    IDENTITY_FIELDS
        .iter()
        .zip(differs)
        .filter(|(_, d)| *d)
        .map(|(f, _)| f.to_string())
        .collect()
}

/// Every field that differs between two profiles, identity fields first. Timestamps and the
/// schema version are bookkeeping, not values.
fn field_changes(here: &Profile, incoming: &Profile) -> Vec<FieldChange> {
    let as_value = |p: &Profile| {
        let mut v = serde_json::to_value(p).unwrap_or(Value::Null);
        if let Value::Object(m) = &mut v {
            for k in ["updated_at", "created_at", "schema_version"] {
                m.remove(k);
            }
        }
        v
    };
    let mut out = Vec::new();
    diff_values(
        String::new(),
        &as_value(here),
        &as_value(incoming),
        &mut out,
    );
    out.sort_by_key(|c| !IDENTITY_FIELDS.contains(&top_field(&c.field)));
    out
}

fn diff_values(path: String, a: &Value, b: &Value, out: &mut Vec<FieldChange>) {
    if a == b {
        return;
    }
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                let null = Value::Null;
                diff_values(p, x.get(k).unwrap_or(&null), y.get(k).unwrap_or(&null), out);
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (a, b)) in x.iter().zip(y).enumerate() {
                diff_values(format!("{path}[{i}]"), a, b, out);
            }
        }
        _ => out.push(FieldChange {
            field: path,
            here: shown_value(a),
            incoming: shown_value(b),
        }),
    }
}

/// `credential` of `credential.kind`, `allowed_tenants` of `allowed_tenants[0]`.
fn top_field(field: &str) -> &str {
    field.split(['.', '[']).next().unwrap_or(field)
}

fn shown_value(v: &Value) -> String {
    match v {
        Value::Null => "(none)".into(),
        Value::String(s) => shown(s),
        other => shown(&other.to_string()),
    }
}

/// A value from a file made safe to print: control characters dropped (they could move a
/// terminal's cursor) and cut to [`MAX_SHOWN_CHARS`].
fn shown(s: &str) -> String {
    let clean = crate::text::clean(s).into_owned();
    if clean.chars().count() > MAX_SHOWN_CHARS {
        let mut cut: String = clean.chars().take(MAX_SHOWN_CHARS - 1).collect();
        cut.push('…');
        cut
    } else {
        clean
    }
}

fn imported(p: &Profile) -> ImportedProfile {
    ImportedProfile {
        id: p.id.clone(),
        name: p.name.clone(),
        credential_kind: p.credential.kind,
    }
}

fn display_name(n: &str) -> String {
    if n.trim().is_empty() {
        "(unnamed customer)".into()
    } else {
        crate::text::clean(n.trim()).into_owned()
    }
}

/// How many names a summary line shows before "and N more": a partner's bundle of a
/// thousand customers must not become one line of a thousand names. The full list stays in
/// [`ImportSummary::needs_credentials`].
pub const NAMES_SHOWN: usize = 5;

/// `names` for one line: all of them up to [`NAMES_SHOWN`], else the first few and how many
/// more ("A, B, C, D, E and 995 more").
pub fn name_list(names: &[String]) -> String {
    if names.len() <= NAMES_SHOWN {
        return names.join(", ");
    }
    format!(
        "{} and {} more",
        names[..NAMES_SHOWN].join(", "),
        names.len() - NAMES_SHOWN
    )
}

fn secrets_note(needs: &[String]) -> String {
    if needs.is_empty() {
        "Client secrets and certificate passwords are never in an export file; none of the imported customers uses one, so there is nothing to re-enter.".into()
    } else {
        format!(
            "Client secrets and certificate passwords are not in the export file (they stay in the old computer's keychain). In step 3, re-enter the client secret (or create a new one) or import the certificate's .pfx with its password (or generate a new certificate) for {}: {}.",
            crate::wording::count_len(needs.len(), "customer"),
            name_list(needs)
        )
    }
}

/// What [`export_store`] wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct ExportOutcome {
    /// The file written.
    pub path: String,
    /// How many profiles it holds.
    pub count: usize,
    /// Files in the profile folder that could not be read, so were not exported.
    pub unreadable: Vec<crate::profile::UnreadableProfile>,
}

/// Exports every readable profile in `store` to a new file in the export folder
/// ([`crate::exports`], normally Downloads).
pub fn export_store(
    store: &ProfileStore,
    now: DateTime<Utc>,
) -> Result<ExportOutcome, TransferError> {
    let scan = store.scan()?;
    let text = export_bundle(&scan.profiles, now);
    let path = crate::exports::write_export(
        &format!("entra-onboard-profiles-{}", now.date_naive()),
        "json",
        text.as_bytes(),
    )
    .map_err(|e| TransferError::Io {
        path: "the export folder".into(),
        message: e.to_string(),
    })?;
    Ok(ExportOutcome {
        path: path.display().to_string(),
        count: scan.profiles.len(),
        unreadable: scan.unreadable,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::{
        ConsentRecord, ConsentStatus, CustomerTenant, FederatedCredential, Verification,
    };

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn full_profile(name: &str) -> Profile {
        let mut p = Profile::new(name);
        p.tenant_id = "72f988bf-86f1-41af-91ab-2d7cd011db47".into();
        p.client_id = "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9".into();
        p.agent_url = "https://acme.halopsa.com".into();
        p.credential.kind = CredentialKind::Secret;
        p.credential.secret_hint = Some("Xy7".into());
        p.credential.expires_on = Some("2026-01-01".parse().unwrap());
        p.credential.thumbprint = Some("A1B2C3D4E5F60718293A4B5C6D7E8F9012345678".into());
        p.credential.federated = Some(FederatedCredential::default());
        p.admin_consent = Some(ConsentRecord {
            status: ConsentStatus::Consented,
            ..ConsentRecord::default()
        });
        p.customer_tenants = vec![CustomerTenant {
            tenant: "contoso.com".into(),
            ..CustomerTenant::default()
        }];
        p.verified = Some(Verification {
            verified_at: t("2025-05-01T00:00:00Z"),
            signed_in_as: Some("a@b.c".into()),
        });
        p.updated_at = Some(t("2025-05-02T00:00:00Z"));
        p
    }

    /// Every key anywhere in a JSON document.
    fn keys(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, v) in m {
                    out.push(k.clone());
                    keys(v, out);
                }
            }
            Value::Array(a) => a.iter().for_each(|v| keys(v, out)),
            _ => {}
        }
    }

    #[test]
    fn bundles_hold_no_secrets_by_construction() {
        let mut p = full_profile("Acme");
        // Even a hand-edited profile with a pasted secret in the hint loses it on export.
        p.credential.secret_hint = Some("Xy7~Qm9.abcdefghijklmnopqrstuvwxyz0123".into());
        let text = export_bundle(&[p], t("2025-06-01T00:00:00Z"));
        assert!(!text.contains("Xy7~"));
        let v: Value = serde_json::from_str(&text).unwrap();
        let mut all = Vec::new();
        keys(&v, &mut all);
        for k in &all {
            let k = k.to_lowercase();
            assert!(
                !(k.contains("password") || k.contains("private") || k.contains("pem"))
                    && (!k.contains("secret") || k == "secret_hint"),
                "a bundle must not have a field {k:?}"
            );
        }
        assert!(
            all.iter().any(|k| k == "secret_hint"),
            "walked the whole profile"
        );
        assert_eq!(v["format"], BUNDLE_FORMAT);
        assert_eq!(v["version"], 1);
        assert_eq!(v["exported_at"], "2025-06-01T00:00:00Z");
        assert_eq!(v["profiles"][0]["credential"]["secret_hint"], "Xy7");
    }

    /// A keychain opener that must not be called: no identity field changes.
    fn no_keychain() -> Result<Keychain, KeychainError> {
        panic!("the keychain was opened although no identity field changed")
    }

    /// A keychain that is not there (no Secret Service).
    fn unavailable() -> Result<Keychain, KeychainError> {
        Err(KeychainError::Unavailable {
            guidance: "no Secret Service in this test".into(),
        })
    }

    fn import(store: &ProfileStore, text: &str) -> Result<ImportSummary, TransferError> {
        import_bundle(store, text, &Replace::Nothing, no_keychain)
    }

    fn file_of(store: &ProfileStore, id: &str) -> String {
        std::fs::read_to_string(store.dir().join(format!("{id}.json"))).unwrap()
    }

    #[test]
    fn round_trip_then_changed_copies_are_conflicts_until_replaced() {
        let from = tempfile::tempdir().unwrap();
        let to = tempfile::tempdir().unwrap();
        let (from, to) = (ProfileStore::at(from.path()), ProfileStore::at(to.path()));
        let a = from.save_imported(&full_profile("Acme")).unwrap();
        let mut b = full_profile("Contoso");
        b.credential = Default::default();
        let b = from.save_imported(&b).unwrap();
        let bundle = export_bundle(&from.scan().unwrap().profiles, Utc::now());

        let sum = import(&to, &bundle).unwrap();
        assert_eq!(sum.imported.len(), 2);
        assert!(sum.rejected.is_empty() && sum.conflicts.is_empty());
        let mut expected = a.clone();
        clear_local_facts(&mut expected);
        assert_eq!(
            to.load(&a.id).unwrap(),
            expected,
            "imported as exported, timestamps kept, local facts cleared"
        );
        assert_eq!(sum.needs_credentials, ["Acme"]);
        assert!(sum.secrets_note.contains("Acme"), "{}", sum.secrets_note);
        assert!(sum.secrets_note.contains("step 3"));
        assert!(!sum.secrets_note.contains("Contoso"));

        // Again: nothing differs, nothing changes, no conflict.
        let sum = import(&to, &bundle).unwrap();
        assert!(sum.imported.is_empty() && sum.replaced.is_empty() && sum.conflicts.is_empty());
        assert_eq!(sum.skipped.len(), 2);
        assert!(sum.needs_credentials.is_empty());

        // A newer copy of Acme and an older copy of Contoso, both renamed: conflicts either
        // way, and the files on this computer stay byte for byte.
        let mut a2 = a.clone();
        a2.name = "Acme (renamed)".into();
        a2.updated_at = Some(t("2025-07-01T00:00:00Z"));
        let mut b_old = b.clone();
        b_old.name = "Contoso (old)".into();
        b_old.updated_at = Some(t("2024-01-01T00:00:00Z"));
        let changed = export_bundle(&[a2, b_old], Utc::now());
        let (before_a, before_b) = (file_of(&to, &a.id), file_of(&to, &b.id));
        let sum = import(&to, &changed).unwrap();
        assert!(sum.replaced.is_empty() && sum.imported.is_empty() && sum.skipped.is_empty());
        assert_eq!(sum.conflicts.len(), 2);
        let c = &sum.conflicts[0];
        assert_eq!(
            (c.id.as_str(), c.name.as_str(), c.name_here.as_str()),
            (a.id.as_str(), "Acme (renamed)", "Acme")
        );
        assert_eq!(
            c.changes,
            [FieldChange {
                field: "name".into(),
                here: "Acme".into(),
                incoming: "Acme (renamed)".into()
            }]
        );
        assert!(c.identity_changes.is_empty());
        assert_eq!(c.updated_in_file, Some(t("2025-07-01T00:00:00Z")));
        assert!(sum.needs_credentials.is_empty());
        assert_eq!(file_of(&to, &a.id), before_a);
        assert_eq!(file_of(&to, &b.id), before_b);

        // Replacing only the confirmed id (the app's confirmation) leaves the other one.
        let sum = import_bundle(
            &to,
            &changed,
            &Replace::Only(vec![a.id.clone()]),
            no_keychain,
        )
        .unwrap();
        assert_eq!(sum.replaced.len(), 1);
        assert_eq!(sum.replaced[0].name, "Acme (renamed)");
        assert_eq!(sum.replaced[0].fields, ["name"]);
        assert!(
            sum.keychain_removed.is_empty(),
            "the identity did not change"
        );
        assert_eq!(sum.needs_credentials, ["Acme (renamed)"]);
        assert_eq!(sum.conflicts.len(), 1);
        assert_eq!(sum.conflicts[0].id, b.id);
        assert_eq!(to.load(&a.id).unwrap().name, "Acme (renamed)");
        assert_eq!(file_of(&to, &b.id), before_b);

        // --replace: every conflict.
        let sum = import_bundle(&to, &changed, &Replace::All, no_keychain).unwrap();
        assert_eq!(sum.replaced.len(), 1);
        assert_eq!(
            sum.skipped.len(),
            1,
            "Acme is now the same as the file's copy"
        );
        assert_eq!(to.load(&b.id).unwrap().name, "Contoso (old)");
    }

    #[test]
    fn this_computers_evidence_shows_in_a_conflict_and_is_lost_only_by_replacing() {
        let dir = tempfile::tempdir().unwrap();
        let store = ProfileStore::at(dir.path());
        let mut here = full_profile("Acme");
        here.credential.certificate_file = Some("/home/me/.local/share/x.pfx".into());
        here.customer_tenants[0].consent.status = ConsentStatus::Consented;
        let here = store.save_imported(&here).unwrap();
        let mut incoming = here.clone();
        incoming.sso.published = true;
        let sum = import(&store, &export_bundle(&[incoming], Utc::now())).unwrap();
        let fields: Vec<&str> = sum.conflicts[0]
            .changes
            .iter()
            .map(|c| c.field.as_str())
            .collect();
        assert_eq!(
            fields,
            [
                "admin_consent",
                "credential.certificate_file",
                "customer_tenants[0].consent.status",
                "sso.published",
                "verified",
            ],
            "the admin sees that a replacement clears this computer's evidence"
        );
        let verified = &sum.conflicts[0].changes[4];
        assert!(verified.here.contains("2025-05-01"), "{verified:?}");
        assert_eq!(verified.incoming, "(none)");
        assert_eq!(store.load(&here.id).unwrap(), here, "untouched");
    }

    #[test]
    fn imported_entries_never_carry_verified_consent_or_paths() {
        let dir = tempfile::tempdir().unwrap();
        let store = ProfileStore::at(dir.path());
        let bundle = r#"{"format":"entra-onboard-profiles","version":1,"profiles":[{
            "id":"0f8fad5b-d9cb-469f-a165-70867728950e",
            "name":"Forged",
            "tenant_id":"contoso.onmicrosoft.com",
            "credential":{"kind":"certificate","certificate_file":"/etc/shadow","thumbprint":"AB12"},
            "verified":{"verified_at":"2025-01-01T00:00:00Z","signed_in_as":"ceo@contoso.com"},
            "admin_consent":{"status":"consented","tenant_id":"72f988bf-86f1-41af-91ab-2d7cd011db47","at":"2025-01-01T00:00:00Z"},
            "customer_tenants":[
                {"tenant":"fabrikam.com","name":"Fabrikam","consent":{"status":"consented","at":"2025-01-01T00:00:00Z"}},
                {"tenant":"72F988BF-86F1-41AF-91AB-2D7CD011DB47","consent":{"status":"declined","aadsts":65004}}
            ]
        }]}"#;
        let sum = import(&store, bundle).unwrap();
        assert_eq!(sum.imported.len(), 1, "{:?}", sum.rejected);
        let p = store.load("0f8fad5b-d9cb-469f-a165-70867728950e").unwrap();
        assert_eq!(p.verified, None);
        assert_eq!(p.admin_consent, None);
        assert!(
            p.customer_tenants
                .iter()
                .all(|t| t.consent == ConsentRecord::default())
        );
        assert_eq!(p.customer_tenants[0].name.as_deref(), Some("Fabrikam"));
        assert_eq!(p.credential.certificate_file, None);
        assert_eq!(
            p.credential.thumbprint.as_deref(),
            Some("AB12"),
            "facts stay"
        );
        let text = file_of(&store, &p.id);
        for word in ["/etc/shadow", "ceo@contoso.com", "consented", "declined"] {
            assert!(!text.contains(word), "{word} was imported: {text}");
        }
    }

    #[test]
    fn ids_must_be_canonical_uuids() {
        let dir = tempfile::tempdir().unwrap();
        let store = ProfileStore::at(dir.path());
        let canonical = "0f8fad5b-d9cb-469f-a165-70867728950e";
        let entries: Vec<String> = [
            "0F8FAD5B-D9CB-469F-A165-70867728950E",
            "{0f8fad5b-d9cb-469f-a165-70867728950e}",
            "0f8fad5bd9cb469fa16570867728950e",
            "urn:uuid:0f8fad5b-d9cb-469f-a165-70867728950e",
            " 0f8fad5b-d9cb-469f-a165-70867728950e",
            "../../etc/passwd",
            canonical,
        ]
        .iter()
        .map(|id| format!(r#"{{"name":"N","id":"{id}"}}"#))
        .collect();
        let bundle = format!(
            r#"{{"format":"entra-onboard-profiles","version":1,"profiles":[{}]}}"#,
            entries.join(",")
        );
        let sum = import(&store, &bundle).unwrap();
        let rejected: Vec<(usize, &str)> = sum
            .rejected
            .iter()
            .map(|r| (r.position, r.code.as_str()))
            .collect();
        assert_eq!(
            rejected,
            (1..=6).map(|i| (i, "transfer.bad_id")).collect::<Vec<_>>()
        );
        assert!(
            sum.rejected[0].reason.contains("canonical UUID"),
            "{}",
            sum.rejected[0].reason
        );
        assert_eq!(sum.imported.len(), 1);
        assert_eq!(sum.imported[0].id, canonical);
        assert_eq!(store.scan().unwrap().profiles.len(), 1);
    }

    #[test]
    fn tenant_strings_are_checked_as_when_typed() {
        let dir = tempfile::tempdir().unwrap();
        let store = ProfileStore::at(dir.path());
        let bundle = r#"{"format":"entra-onboard-profiles","version":1,"profiles":[
            {"name":"Shared endpoint","tenant_id":"common"},
            {"name":"Injected","customer_tenants":[{"tenant":"fabrikam.com"},{"tenant":"common/oauth2/v2.0/authorize?client_id=x&redirect_uri=https://evil.example/&y="}]},
            {"name":"Spaces","allowed_tenants":["72f988bf-86f1-41af-91ab-2d7cd011db47","contoso com"]},
            {"name":"Blank customer","customer_tenants":[{"tenant":" "}]},
            {"name":"Not typed yet","tenant_id":"","allowed_tenants":[""]},
            {"name":"Domains","tenant_id":"contoso.onmicrosoft.com","allowed_tenants":["{72F988BF-86F1-41AF-91AB-2D7CD011DB47}"],"customer_tenants":[{"tenant":"fabrikam.com."}]}
        ]}"#;
        let sum = import(&store, bundle).unwrap();
        let got: Vec<(usize, &str)> = sum
            .rejected
            .iter()
            .map(|r| (r.position, r.code.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (1, "transfer.bad_tenant"),
                (2, "transfer.bad_tenant"),
                (3, "transfer.bad_tenant"),
                (4, "transfer.bad_tenant"),
            ]
        );
        let reason = |i: usize| sum.rejected[i].reason.as_str();
        assert!(
            reason(0).starts_with("its tenant_id \"common\""),
            "{}",
            reason(0)
        );
        assert!(
            reason(1).contains("customer_tenants[1].tenant"),
            "{}",
            reason(1)
        );
        assert!(reason(2).contains("allowed_tenants[1]"), "{}", reason(2));
        assert!(
            reason(3).contains("customer_tenants[0].tenant"),
            "{}",
            reason(3)
        );
        assert_eq!(sum.imported.len(), 2);
    }

    #[test]
    fn an_id_twice_in_one_file_is_refused_the_second_time() {
        let dir = tempfile::tempdir().unwrap();
        let store = ProfileStore::at(dir.path());
        let id = "0f8fad5b-d9cb-469f-a165-70867728950e";
        let bundle = format!(
            r#"{{"format":"entra-onboard-profiles","version":1,"profiles":[{{"id":"{id}","name":"First"}},{{"id":"{id}","name":"Second"}}]}}"#
        );
        let sum = import_bundle(&store, &bundle, &Replace::All, no_keychain).unwrap();
        assert_eq!(sum.imported.len(), 1);
        assert_eq!(sum.rejected[0].code, "transfer.duplicate_id");
        assert_eq!(sum.rejected[0].position, 2);
        assert_eq!(store.load(id).unwrap().name, "First");
    }

    #[test]
    fn an_identity_change_is_replaced_only_once_the_keychain_entries_are_gone() {
        let dir = tempfile::tempdir().unwrap();
        let store = ProfileStore::at(dir.path());
        let here = store.save_imported(&full_profile("Acme")).unwrap();
        let mut incoming = here.clone();
        incoming.agent_url = "https://evil.example".into();
        incoming.authority = Some("http://127.0.0.1:9".into());
        incoming.sso.published = true;
        let bundle = export_bundle(&[incoming], Utc::now());

        let sum = import(&store, &bundle).unwrap();
        let c = &sum.conflicts[0];
        assert_eq!(c.identity_changes, ["authority", "agent_url"]);
        assert_eq!(
            c.changes
                .iter()
                .map(|c| c.field.as_str())
                .take(2)
                .collect::<Vec<_>>(),
            ["agent_url", "authority"],
            "who-the-customer-is fields first"
        );

        // The keychain cannot delete the old secret: the profile is not replaced.
        let before = file_of(&store, &here.id);
        let sum = import_bundle(&store, &bundle, &Replace::All, unavailable).unwrap();
        assert!(sum.replaced.is_empty() && sum.keychain_removed.is_empty());
        assert_eq!(sum.rejected[0].code, "keychain.unavailable");
        assert!(
            sum.rejected[0]
                .reason
                .starts_with("not replaced: its authority, agent_url changed"),
            "{}",
            sum.rejected[0].reason
        );
        assert_eq!(file_of(&store, &here.id), before);

        // Equivalent spellings are not identity changes (no keychain needed).
        let mut same = here.clone();
        same.tenant_id = here.tenant_id.to_uppercase();
        same.agent_url = format!(
            "{}/",
            here.agent_url.to_uppercase().replace("HTTPS", "https")
        );
        same.name = "Acme Ltd".into();
        let sum = import_bundle(
            &store,
            &export_bundle(&[same], Utc::now()),
            &Replace::All,
            no_keychain,
        )
        .unwrap();
        assert_eq!(sum.replaced.len(), 1, "{:?}", sum.rejected);
        assert!(sum.keychain_removed.is_empty());
    }

    #[test]
    fn shown_values_are_short_and_printable() {
        let dir = tempfile::tempdir().unwrap();
        let store = ProfileStore::at(dir.path());
        let mut base = full_profile("Acme");
        clear_local_facts(&mut base);
        let here = store.save_imported(&base).unwrap();
        let mut incoming = here.clone();
        incoming.name = format!("Acme\u{1b}[2J{}", "x".repeat(200));
        incoming.sync.technician_groups = (0..40).map(|i| format!("g{i}")).collect();
        let sum = import(&store, &export_bundle(&[incoming], Utc::now())).unwrap();
        let c = &sum.conflicts[0];
        let name = c.changes.iter().find(|f| f.field == "name").unwrap();
        assert!(!name.incoming.contains('\u{1b}'));
        assert_eq!(name.incoming.chars().count(), MAX_SHOWN_CHARS);
        assert!(name.incoming.ends_with('…'));
        assert_eq!(c.changes.len(), 2, "a list of another length is one change");
        assert_eq!(c.more_changes, 0);

        let mut many = here.clone();
        many.allowed_tenants = (0..40).map(|i| format!("t{i}.example")).collect();
        let mut here2 = here.clone();
        here2.allowed_tenants = (0..40).map(|i| format!("u{i}.example")).collect();
        store.save_imported(&here2).unwrap();
        let sum = import(&store, &export_bundle(&[many], Utc::now())).unwrap();
        assert_eq!(sum.conflicts[0].changes.len(), MAX_LISTED_CHANGES);
        assert_eq!(sum.conflicts[0].more_changes, 40 - MAX_LISTED_CHANGES);
    }

    #[test]
    fn single_profiles_and_bad_entries() {
        let dir = tempfile::tempdir().unwrap();
        let store = ProfileStore::at(dir.path());
        // A single CLI profile without an id gets a new one.
        let sum = import(
            &store,
            r#"{"name":"Fabrikam","agent_url":"https://f.halopsa.com"}"#,
        )
        .unwrap();
        assert_eq!(sum.imported.len(), 1);
        assert!(uuid::Uuid::parse_str(&sum.imported[0].id).is_ok());
        assert!(sum.secrets_note.contains("nothing to re-enter"));

        let bundle = r#"{"format":"entra-onboard-profiles","version":1,"exported_at":"2025-01-01T00:00:00Z","profiles":[
            {"name":"Typo","tenantid":"x"},
            {"name":"Future","schema_version":99},
            {"name":"Bad id","id":"../../etc/passwd"},
            {"name":"Leaky","credential":{"kind":"secret","secret_hint":"abcdefghijklmnop"}},
            42,
            {"name":"Fine"}
        ]}"#;
        let sum = import(&store, bundle).unwrap();
        let codes: Vec<(usize, &str)> = sum
            .rejected
            .iter()
            .map(|r| (r.position, r.code.as_str()))
            .collect();
        assert_eq!(
            codes,
            [
                (1, "profile.parse"),
                (2, "profile.too_new"),
                (3, "transfer.bad_id"),
                (4, "transfer.secret_in_profile"),
                (5, "profile.parse"),
            ]
        );
        assert!(sum.rejected[0].reason.contains("tenantid"));
        assert_eq!(sum.rejected[0].name.as_deref(), Some("Typo"));
        assert_eq!(sum.imported.len(), 1);
        assert_eq!(store.scan().unwrap().profiles.len(), 2);
    }

    #[test]
    fn whole_file_errors_have_codes() {
        let store = ProfileStore::at(tempfile::tempdir().unwrap().path());
        let code = |text: &str| import(&store, text).unwrap_err().code();
        assert_eq!(code("not json"), "transfer.parse");
        assert_eq!(code("[1,2]"), "transfer.not_a_bundle");
        assert_eq!(
            code(r#"{"format":"something-else","profiles":[]}"#),
            "transfer.not_a_bundle"
        );
        assert_eq!(
            code(r#"{"format":"entra-onboard-profiles","version":2,"profiles":[]}"#),
            "transfer.too_new"
        );
        assert_eq!(
            code(r#"{"format":"entra-onboard-profiles","version":1}"#),
            "transfer.not_a_bundle"
        );
        let big = " ".repeat(MAX_IMPORT_BYTES + 1);
        let err = import(&store, &big).unwrap_err();
        assert_eq!(err.code(), "transfer.too_large");
        assert!(err.to_string().contains("bytes"));
    }

    #[test]
    fn import_file_size_is_checked_before_reading() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.json");
        let f = std::fs::File::create(&path).unwrap();
        f.set_len(MAX_IMPORT_BYTES as u64 + 1).unwrap();
        assert_eq!(
            read_import_file(&path).unwrap_err().code(),
            "file.too_large"
        );
        assert_eq!(
            read_import_file(&dir.path().join("missing.json"))
                .unwrap_err()
                .code(),
            "file.io"
        );
        #[cfg(unix)]
        {
            let err = read_import_file(Path::new("/dev/zero")).unwrap_err();
            assert_eq!(err.code(), "file.not_regular");
            assert!(err.to_string().contains("a profile export"), "{err}");
        }
    }

    #[test]
    fn a_thousand_names_are_summarised_not_listed() {
        let names: Vec<String> = (0..1000).map(|i| format!("Customer {i:04}")).collect();
        assert_eq!(name_list(&names[..2]), "Customer 0000, Customer 0001");
        assert_eq!(
            name_list(&names[..NAMES_SHOWN]).matches(", ").count(),
            NAMES_SHOWN - 1
        );
        let line = name_list(&names);
        assert_eq!(
            line,
            "Customer 0000, Customer 0001, Customer 0002, Customer 0003, Customer 0004 and 995 more"
        );
        let note = secrets_note(&names);
        assert!(
            note.contains("for 1000 customers: Customer 0000,"),
            "{note}"
        );
        assert!(!note.contains("Customer 0005"), "{note}");
    }
}
