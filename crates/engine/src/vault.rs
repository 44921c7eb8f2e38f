//! What the wizard keeps in the OS keychain for a profile, and what the profile records
//! about it. The CLI (`secret set|status`) and the desktop app (step 3) both go through
//! here, so the checks, the hint and the expiry are the same everywhere.
//!
//! The profile never holds a secret: only the kind, the first three characters (the hint
//! Entra shows too) and the expiry date. Deliberately not here: certificate files (see the
//! certificate step), and any fallback store — a keychain that fails is an error.

use chrono::NaiveDate;
use serde::Serialize;
use ts_rs::TS;

use crate::ids::Sensitive;
use crate::keychain::{Keychain, KeychainError};
use crate::profile::{CredentialKind, CustomerApp, Profile};
use crate::steps::certificate::{
    self, CertificateError, CertificateFiles, CertificateInfo, CertificateRequest,
};
use crate::steps::credential::{SecretValueError, check_secret_expiry, check_secret_value};

/// Why a secret could not be stored or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VaultError {
    /// The value or its expiry was refused (the message says which and how to fix it).
    #[error("{0}")]
    Value(#[from] SecretValueError),
    /// The profile has no id yet, so there is no name for its keychain entry.
    #[error(
        "this customer has not been saved yet, so its secret has nowhere to go; wait for \"Saved\" and try again"
    )]
    NoProfileId,
    /// The keychain refused or is unavailable.
    #[error(transparent)]
    Keychain(#[from] KeychainError),
    /// A certificate could not be made, read or written.
    #[error(transparent)]
    Certificate(#[from] CertificateError),
    /// Nothing of that kind is stored for this profile.
    #[error("no {what} for this customer is stored in {store}; {fix}")]
    NotStored {
        /// What was asked for ("client secret", ".pfx password").
        what: &'static str,
        /// The keychain, as the admin knows it.
        store: &'static str,
        /// Where to store one.
        fix: &'static str,
    },
    /// The app's own folder for imported certificates could not be written.
    #[error("could not keep a copy of the certificate in {path}: {message}")]
    Io {
        /// The folder.
        path: String,
        /// Why.
        message: String,
    },
}

impl VaultError {
    /// Stable code for the UI.
    pub fn code(&self) -> &'static str {
        match self {
            VaultError::Value(e) => e.code(),
            VaultError::NoProfileId => "secret.no_profile_id",
            VaultError::Keychain(e) => e.code(),
            VaultError::Certificate(e) => e.code(),
            VaultError::NotStored { .. } => "credential.not_stored",
            VaultError::Io { .. } => "certificate.io",
        }
    }
}

/// What is stored for a profile, as step 3 shows it. Never the value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct CredentialStatus {
    /// The keychain, as the admin knows it ("Secret Service", "macOS Keychain", …).
    pub store: String,
    /// Whether a client secret is stored for this profile.
    pub secret_stored: bool,
    /// The first three characters of the stored secret, from the profile.
    pub secret_hint: Option<String>,
    /// `false` when the stored secret does not start with the profile's hint (one of them
    /// belongs to another secret); `None` when there is nothing to compare.
    pub hint_matches: Option<bool>,
    /// The recorded expiry.
    #[ts(type = "string | null")]
    pub expires_on: Option<NaiveDate>,
    /// Whether a certificate (PFX) password is stored for this profile.
    pub certificate_password_stored: bool,
}

/// The canonical id a profile's entries are stored under.
pub fn profile_key(p: &Profile) -> Result<String, VaultError> {
    uuid::Uuid::parse_str(p.id.trim())
        .map(|u| u.hyphenated().to_string())
        .map_err(|_| VaultError::NoProfileId)
}

/// Checks `value` and `expires_on` (against `today`), stores the value in the keychain under
/// the profile's id and records the hint and expiry in `profile`. Nothing is changed when a
/// check fails, and the profile is only changed after the keychain has the value.
pub fn store_secret(
    keychain: &Keychain,
    profile: &mut Profile,
    value: &Sensitive<String>,
    expires_on: Option<NaiveDate>,
    today: NaiveDate,
) -> Result<CredentialStatus, VaultError> {
    store_app_secret(
        keychain,
        profile,
        CustomerApp::Main,
        value,
        expires_on,
        today,
    )
}

/// [`store_secret`] for one of the profile's apps: CSP's Partner Center app has its own
/// keychain entry, hint and expiry, and never touches the main app's.
pub fn store_app_secret(
    keychain: &Keychain,
    profile: &mut Profile,
    app: CustomerApp,
    value: &Sensitive<String>,
    expires_on: Option<NaiveDate>,
    today: NaiveDate,
) -> Result<CredentialStatus, VaultError> {
    let key = profile_key(profile)?;
    if let Some(d) = expires_on {
        check_secret_expiry(d, today)?;
    }
    let facts = check_secret_value(value.expose())?;
    keychain.set_app_secret(&key, app, value)?;
    let c = profile.credential_of_mut(app);
    c.kind = CredentialKind::Secret;
    c.secret_hint = Some(facts.hint);
    // A new secret has a new expiry: keeping the old secret's date would be wrong.
    c.expires_on = expires_on;
    // Certificate facts describe a certificate, not this secret.
    c.thumbprint = None;
    c.thumbprint_sha256 = None;
    c.certificate_subject = None;
    c.key_bits = None;
    app_status(keychain, profile, app)
}

/// What the keychain holds for `profile`. The comparison with the hint is made in memory.
pub fn status(keychain: &Keychain, profile: &Profile) -> Result<CredentialStatus, VaultError> {
    app_status(keychain, profile, CustomerApp::Main)
}

/// [`status`] for one of the profile's apps.
pub fn app_status(
    keychain: &Keychain,
    profile: &Profile,
    app: CustomerApp,
) -> Result<CredentialStatus, VaultError> {
    let key = profile_key(profile)?;
    let stored = keychain.get_app_secret(&key, app)?;
    let meta = profile.credential_of(app);
    let hint = meta.secret_hint.clone();
    let hint_matches = match (&stored, hint.as_deref()) {
        (Some(v), Some(h)) => Some(v.expose().starts_with(h)),
        _ => None,
    };
    Ok(CredentialStatus {
        store: keychain.store_name().to_string(),
        secret_stored: stored.is_some(),
        secret_hint: hint,
        hint_matches,
        expires_on: meta.expires_on,
        certificate_password_stored: keychain.get_app_certificate_password(&key, app)?.is_some(),
    })
}

/// Deletes the keychain entries of the Partner Center app and clears its credential record
/// (the main app's entries stay).
pub fn delete_app_credential(
    keychain: &Keychain,
    profile: &mut Profile,
    app: CustomerApp,
) -> Result<(), VaultError> {
    let key = profile_key(profile)?;
    keychain.delete_app(&key, app)?;
    *profile.credential_of_mut(app) = Default::default();
    Ok(())
}

pub use entra_onboard_core::steps::credential::StoredValue;

/// The stored value `which` of `profile`, or [`VaultError::NotStored`] saying how to store one.
pub fn stored_value(
    keychain: &Keychain,
    profile: &Profile,
    which: StoredValue,
) -> Result<Sensitive<String>, VaultError> {
    let key = profile_key(profile)?;
    let (value, what, fix) = match which {
        StoredValue::ClientSecret => (
            keychain.get_secret(&key)?,
            "client secret",
            "paste its Value in step 3 first",
        ),
        StoredValue::CertificatePassword => (
            keychain.get_certificate_password(&key)?,
            ".pfx password",
            "create or import the certificate in step 3 first",
        ),
    };
    value.ok_or(VaultError::NotStored {
        what,
        store: keychain.store_name(),
        fix,
    })
}

/// The stored client secret of `profile`, or an error that says how to store one.
pub fn stored_secret(keychain: &Keychain, profile: &Profile) -> Result<Sensitive<String>, String> {
    let key = profile_key(profile).map_err(|e| e.to_string())?;
    match keychain.get_secret(&key).map_err(|e| e.to_string())? {
        Some(s) => Ok(s),
        None => Err(format!(
            "no client secret for this customer is stored in {}: paste it in step 3 (or run `entra-onboard secret set`) first",
            keychain.store_name()
        )),
    }
}

/// The credential the SSO test uses for `profile`: its stored client secret. (A certificate
/// profile is tested with the certificate's key; see the certificate step.)
pub fn test_credential(
    keychain: &Keychain,
    profile: &Profile,
) -> Result<crate::sso_test::ClientCredential, String> {
    match profile.credential.kind {
        CredentialKind::Secret => {
            stored_secret(keychain, profile).map(crate::sso_test::ClientCredential::Secret)
        }
        CredentialKind::Certificate => certificate_credential(keychain, profile),
        CredentialKind::None => Err(
            "no credential chosen: pick a client secret or a certificate in step 3 and store it first"
                .into(),
        ),
        CredentialKind::Federated => Err(
            "a federated credential cannot be tested from this computer: the tokens come from the other identity provider. Switch step 3 to a secret or certificate to test the sign-in here"
                .into(),
        ),
    }
}

/// A certificate made in step 3: what it is and where its files went.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct CreatedCertificate {
    /// Subject, validity, key size and thumbprints.
    pub info: CertificateInfo,
    /// The files written: `.cer` (upload to Entra), `.pem`, `.pfx` (for the service desk).
    pub files: CertificateFiles,
    /// Where the .pfx password is.
    pub password_store: String,
}

/// Step 3, "Create a certificate" (an empty common name means the default one): generates it, writes the files into `dir`, stores the
/// .pfx password in the keychain (or takes the files back) and records the certificate in
/// `profile`.
pub fn create_certificate(
    keychain: &Keychain,
    profile: &mut Profile,
    request: &CertificateRequest,
    dir: &std::path::Path,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<CreatedCertificate, VaultError> {
    create_app_certificate(keychain, profile, CustomerApp::Main, request, dir, now)
}

/// [`create_certificate`] for one of the customer's apps (CSP's Partner Center app has a
/// certificate of its own: its own files, `<customer>-partner-center-<expiry>.*`, its own
/// keychain entry for the password, its own record in the profile).
pub fn create_app_certificate(
    keychain: &Keychain,
    profile: &mut Profile,
    app: CustomerApp,
    request: &CertificateRequest,
    dir: &std::path::Path,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<CreatedCertificate, VaultError> {
    let key = profile_key(profile)?;
    // No name typed: "<customer> service desk (Entra Onboard)", as `cert new` does.
    // The Partner Center app's default is its own ("<customer> Partner Center app"), also
    // when the request carries the main app's default (`CertificateRequest::for_profile`).
    let mut request = request.clone();
    let main_default = certificate::default_common_name(profile);
    if request.common_name.trim().is_empty() {
        request.common_name = main_default.clone();
    }
    if app == CustomerApp::PartnerCenter && request.common_name == main_default {
        request.common_name = certificate::partner_center_common_name(profile);
    }
    let c = certificate::generate(&request, now)?;
    let files = CertificateFiles::for_app(dir, profile, app, &c.info);
    certificate::write_files(&c, &files, false)?;
    if let Err(e) = keychain.set_app_certificate_password(&key, app, &c.pfx_password) {
        // Nobody could open the .pfx without its password: take the files back.
        for f in [&files.cer, &files.pem, &files.pfx] {
            let _ = std::fs::remove_file(f);
        }
        return Err(e.into());
    }
    let meta = profile.credential_of_mut(app);
    c.record_in(meta);
    meta.certificate_file = Some(files.pfx.display().to_string());
    Ok(CreatedCertificate {
        info: c.info.clone(),
        files,
        password_store: keychain.store_name().to_string(),
    })
}

/// Step 3, "Import a .pfx": checks it (RSA ≥ 2048, not expired, has its key), keeps a copy
/// in `keep_dir` (still encrypted with its password) for the SSO test, stores the password
/// in the keychain and records the certificate in `profile`.
pub fn import_certificate(
    keychain: &Keychain,
    profile: &mut Profile,
    pfx: &[u8],
    password: Sensitive<String>,
    keep_dir: &std::path::Path,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<CertificateInfo, VaultError> {
    import_app_certificate(
        keychain,
        profile,
        CustomerApp::Main,
        pfx,
        password,
        keep_dir,
        now,
    )
}

/// [`import_certificate`] for one of the customer's apps: CSP's Partner Center app keeps its
/// copy as `<profile id>-partner-center.pfx` and its password in its own keychain entry.
pub fn import_app_certificate(
    keychain: &Keychain,
    profile: &mut Profile,
    app: CustomerApp,
    pfx: &[u8],
    password: Sensitive<String>,
    keep_dir: &std::path::Path,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<CertificateInfo, VaultError> {
    let key = profile_key(profile)?;
    if pfx.len() > certificate::MAX_PFX_BYTES {
        return Err(CertificateError::PfxTooLarge(pfx.len()).into());
    }
    let c = certificate::import_pfx(pfx, password, now)?;
    let io = |e: std::io::Error| VaultError::Io {
        path: keep_dir.display().to_string(),
        message: e.to_string(),
    };
    std::fs::create_dir_all(keep_dir).map_err(io)?;
    let path = keep_dir.join(match app {
        CustomerApp::Main => format!("{key}.pfx"),
        CustomerApp::PartnerCenter => format!("{key}-partner-center.pfx"),
    });
    crate::profile::write_atomic(&path, pfx).map_err(|e| VaultError::Io {
        path: keep_dir.display().to_string(),
        message: e.to_string(),
    })?;
    keychain.set_app_certificate_password(&key, app, &c.pfx_password)?;
    let meta = profile.credential_of_mut(app);
    c.record_in(meta);
    meta.certificate_file = Some(path.display().to_string());
    Ok(c.info.clone())
}

/// The certificate credential for the SSO test: the profile's .pfx opened with the password
/// from the keychain.
fn certificate_credential(
    keychain: &Keychain,
    profile: &Profile,
) -> Result<crate::sso_test::ClientCredential, String> {
    let c = stored_certificate(keychain, profile, CustomerApp::Main)?;
    c.client_credential().map_err(|e| e.to_string())
}

/// The certificate `app` uses, read back: its .pfx (the path the profile records, which
/// only an engine call ever sets) opened with the password from the keychain. For the SSO
/// test (its key) and for `apply` (its public part, to upload).
pub fn stored_certificate(
    keychain: &Keychain,
    profile: &Profile,
    app: CustomerApp,
) -> Result<certificate::CertificateWithKey, String> {
    let key = profile_key(profile).map_err(|e| e.to_string())?;
    let step = match app {
        CustomerApp::Main => "step 3",
        CustomerApp::PartnerCenter => "step 5 (entra-onboard cert new --app partner-center)",
    };
    let Some(path) = profile.credential_of(app).certificate_file.as_deref() else {
        return Err(format!(
            "this app uses a certificate: create or import it in {step} first, so it can be used"
        ));
    };
    let bytes = crate::bounded::read_file(
        std::path::Path::new(path),
        certificate::MAX_PFX_BYTES as u64,
        "a .pfx certificate",
    )
    .map_err(|e| {
        format!("the certificate file cannot be used ({e}); create or import it again in {step}")
    })?;
    let password = keychain
        .get_app_certificate_password(&key, app)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| {
            format!(
                "the certificate's password is not in {}; import the .pfx again in {step}",
                keychain.store_name()
            )
        })?;
    certificate::import_pfx(&bytes, password, chrono::Utc::now()).map_err(|e| e.to_string())
}
