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
//! the others. A profile whose id is already on this computer replaces it only when the
//! imported copy is newer (`updated_at`); an older or equal copy is skipped, so importing
//! the same bundle twice changes nothing. A profile without an id gets a new one. A single
//! profile file (as the CLI uses) is accepted as well as a bundle.
//!
//! Deliberately left out: merging two edited copies field by field (the newer one wins,
//! whole), moving keychain entries (the OS keychain is per computer by design), and
//! encrypting the bundle (there is nothing secret in it).

use std::path::Path;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use ts_rs::TS;

use crate::profile::{CredentialKind, Profile, ProfileError, ProfileStore};

/// The bundle's `format` value.
pub const BUNDLE_FORMAT: &str = "entra-onboard-profiles";
/// The bundle format version this build writes and reads.
pub const BUNDLE_VERSION: u32 = 1;
/// Largest import accepted. A bundle of a thousand customers is a few megabytes.
pub const MAX_IMPORT_BYTES: usize = 20 * 1024 * 1024;

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
            if let Some(h) = p.credential.secret_hint.as_mut() {
                *h = h.chars().take(3).collect();
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

/// A profile that was imported or replaced.
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

/// A profile left as it was on this computer.
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

/// A profile in the file that could not be imported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct RejectedProfile {
    /// Its position in the file (1 = first).
    pub position: usize,
    /// Its name, when one could be read.
    pub name: Option<String>,
    /// Stable code (`profile.parse`, `profile.too_new`, `transfer.bad_id`, `profile.io`, …).
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
    /// Already here, replaced by the newer copy from the file.
    pub replaced: Vec<ImportedProfile>,
    /// Already here and as new or newer than the file's copy: left as it was.
    pub skipped: Vec<SkippedProfile>,
    /// Not imported, with the reason.
    pub rejected: Vec<RejectedProfile>,
    /// What the admin must redo: secrets and certificate passwords are not in the file.
    pub secrets_note: String,
    /// Names of the imported or replaced customers whose secret or certificate must be set
    /// up again in step 3.
    pub needs_credentials: Vec<String>,
}

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
        }
    }
}

/// Reads an import file, refusing anything over [`MAX_IMPORT_BYTES`] before reading it.
pub fn read_import_file(path: &Path) -> Result<String, TransferError> {
    let io = |e: std::io::Error| TransferError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    };
    let size = std::fs::metadata(path).map_err(io)?.len();
    if size > MAX_IMPORT_BYTES as u64 {
        return Err(TransferError::TooLarge {
            size,
            limit: MAX_IMPORT_BYTES,
        });
    }
    let bytes = std::fs::read(path).map_err(io)?;
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
pub fn import_bundle(store: &ProfileStore, text: &str) -> Result<ImportSummary, TransferError> {
    let list = entries(text)?;
    let mut sum = ImportSummary::default();
    for (i, value) in list.into_iter().enumerate() {
        let position = i + 1;
        let name_in_file = value
            .get("name")
            .and_then(Value::as_str)
            .map(str::to_string);
        let reject = |sum: &mut ImportSummary, code: &str, reason: String| {
            sum.rejected.push(RejectedProfile {
                position,
                name: name_in_file.clone(),
                code: code.into(),
                reason,
            })
        };
        if !value.is_object() {
            reject(
                &mut sum,
                "profile.parse",
                "this entry is not a profile (not a JSON object)".into(),
            );
            continue;
        }
        let mut p = match Profile::from_json(&value.to_string()) {
            Ok(p) => p,
            Err(e) => {
                reject(&mut sum, e.code(), e.to_string());
                continue;
            }
        };
        // A hint longer than three characters could be a pasted secret: refuse it rather
        // than store it (export never writes one).
        if p.credential
            .secret_hint
            .as_ref()
            .is_some_and(|h| h.chars().count() > 3)
        {
            reject(
                &mut sum,
                "transfer.secret_in_profile",
                "its secret hint is longer than three characters and could be the secret itself; keep only the first three characters and import again".into(),
            );
            continue;
        }
        let id = p.id.trim().to_string();
        if !id.is_empty() {
            let Ok(uuid) = uuid::Uuid::parse_str(&id) else {
                reject(
                    &mut sum,
                    "transfer.bad_id",
                    format!(
                        "its id {id:?} is not a UUID; remove the \"id\" line to import it as a new customer"
                    ),
                );
                continue;
            };
            p.id = uuid.hyphenated().to_string();
            match store.load(&p.id) {
                Ok(existing) => {
                    if p.updated_at <= existing.updated_at {
                        sum.skipped.push(SkippedProfile {
                            id: p.id.clone(),
                            name: p.name.clone(),
                            reason: "this computer already has this customer, saved at the same time or later".into(),
                        });
                        continue;
                    }
                    match store.save_imported(&p) {
                        Ok(saved) => sum.replaced.push(imported(&saved)),
                        Err(e) => reject(&mut sum, e.code(), e.to_string()),
                    }
                    continue;
                }
                Err(ProfileError::NotFound(_)) => {}
                Err(e) => {
                    reject(
                        &mut sum,
                        e.code(),
                        format!(
                            "this computer has a profile with the same id that cannot be read ({e}); fix or delete that file, then import again"
                        ),
                    );
                    continue;
                }
            }
        }
        match store.save_imported(&p) {
            Ok(saved) => sum.imported.push(imported(&saved)),
            Err(e) => reject(&mut sum, e.code(), e.to_string()),
        }
    }
    sum.needs_credentials = sum
        .imported
        .iter()
        .chain(&sum.replaced)
        .filter(|p| {
            matches!(
                p.credential_kind,
                CredentialKind::Secret | CredentialKind::Certificate
            )
        })
        .map(|p| display_name(&p.name))
        .collect();
    sum.secrets_note = secrets_note(&sum.needs_credentials);
    Ok(sum)
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

fn secrets_note(needs: &[String]) -> String {
    if needs.is_empty() {
        "Client secrets and certificate passwords are never in an export file; none of the imported customers uses one, so there is nothing to re-enter.".into()
    } else {
        format!(
            "Client secrets and certificate passwords are not in the export file (they stay in the old computer's keychain). In step 3, re-enter the client secret (or create a new one) or import the certificate's .pfx with its password (or generate a new certificate) for: {}.",
            needs.join(", ")
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

    #[test]
    fn round_trip_then_newer_replaces_and_older_is_skipped() {
        let from = tempfile::tempdir().unwrap();
        let to = tempfile::tempdir().unwrap();
        let (from, to) = (ProfileStore::at(from.path()), ProfileStore::at(to.path()));
        let a = from.save_imported(&full_profile("Acme")).unwrap();
        let mut b = full_profile("Contoso");
        b.credential = Default::default();
        let b = from.save_imported(&b).unwrap();
        let bundle = export_bundle(&from.scan().unwrap().profiles, Utc::now());

        let sum = import_bundle(&to, &bundle).unwrap();
        assert_eq!(sum.imported.len(), 2);
        assert!(sum.rejected.is_empty());
        assert_eq!(
            to.load(&a.id).unwrap(),
            a,
            "imported exactly, timestamps kept"
        );
        assert_eq!(sum.needs_credentials, ["Acme"]);
        assert!(sum.secrets_note.contains("Acme"), "{}", sum.secrets_note);
        assert!(sum.secrets_note.contains("step 3"));
        assert!(!sum.secrets_note.contains("Contoso"));

        // Again: nothing changes.
        let sum = import_bundle(&to, &bundle).unwrap();
        assert!(sum.imported.is_empty() && sum.replaced.is_empty());
        assert_eq!(sum.skipped.len(), 2);
        assert!(sum.needs_credentials.is_empty());

        // A newer copy of Acme replaces; an older copy of Contoso is skipped.
        let mut a2 = a.clone();
        a2.name = "Acme (renamed)".into();
        a2.updated_at = Some(t("2025-07-01T00:00:00Z"));
        let mut b_old = b.clone();
        b_old.name = "Contoso (old)".into();
        b_old.updated_at = Some(t("2024-01-01T00:00:00Z"));
        let sum = import_bundle(&to, &export_bundle(&[a2, b_old], Utc::now())).unwrap();
        assert_eq!(sum.replaced.len(), 1);
        assert_eq!(sum.replaced[0].name, "Acme (renamed)");
        assert_eq!(sum.skipped.len(), 1);
        assert_eq!(sum.skipped[0].id, b.id);
        assert_eq!(to.load(&a.id).unwrap().name, "Acme (renamed)");
        assert_eq!(to.load(&b.id).unwrap().name, "Contoso");
    }

    #[test]
    fn single_profiles_and_bad_entries() {
        let dir = tempfile::tempdir().unwrap();
        let store = ProfileStore::at(dir.path());
        // A single CLI profile without an id gets a new one.
        let sum = import_bundle(
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
        let sum = import_bundle(&store, bundle).unwrap();
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
        let code = |text: &str| import_bundle(&store, text).unwrap_err().code();
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
        let err = import_bundle(&store, &big).unwrap_err();
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
            "transfer.too_large"
        );
        assert_eq!(
            read_import_file(&dir.path().join("missing.json"))
                .unwrap_err()
                .code(),
            "transfer.io"
        );
    }
}
