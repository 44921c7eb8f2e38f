//! Step 3 — the credential the service desk uses: a client secret, a certificate or a
//! federated credential.
//!
//! This release records the *kind* and the expiry only; secret entry into the OS keychain
//! and certificate generation build on it. Checks that depend on today's date (expiring
//! soon, expired) are not here, because the plan is pure: see [`expiry_status`].

use chrono::NaiveDate;

use crate::profile::{CredentialKind, Profile};
use crate::validation::Issues;

const STEP: u8 = 3;

/// Microsoft's maximum client-secret lifetime (how-to-add-credentials.md).
pub const SECRET_MAX_MONTHS: u32 = 24;

/// Checks step 3.
pub fn check(p: &Profile, issues: &mut Issues) {
    let c = &p.credential;
    match c.kind {
        CredentialKind::None => issues.warn(
            STEP,
            "credential.kind",
            "credential.kind.none",
            "No credential chosen yet. The service desk needs one for import and CSP, and the SSO test proves it works.",
            "Choose a client secret (simplest), a certificate (Microsoft's recommendation) or a federated credential.",
        ),
        CredentialKind::Secret | CredentialKind::Certificate if c.expires_on.is_none() => issues.warn(
            STEP,
            "credential.expires_on",
            "credential.expires_on.missing",
            "The credential's expiry date is not recorded. When it lapses, sign-in and sync stop (AADSTS7000222).",
            "Enter the 'Expires' date shown in Certificates & secrets so the wizard can remind you before it lapses.",
        ),
        CredentialKind::Federated => issues.info(
            STEP,
            "credential.kind",
            "credential.kind.federated",
            "A federated credential only works if the service desk can present a token from an issuer it controls (e.g. a self-hosted install with a managed identity).",
            "Hosted Halo uses a secret or certificate; check with the vendor before choosing this.",
        ),
        _ => {}
    }
    if let Some(hint) = &c.secret_hint
        && hint.chars().count() > 3
    {
        issues.error(
            STEP,
            "credential.secret_hint",
            "credential.secret_hint.too_long",
            "The secret hint holds more than three characters; the profile must never hold a secret.",
            "Keep only the first three characters (Entra's 'hint'), or clear it.",
        );
    }
}

/// How close a credential is to lapsing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    /// No date recorded.
    Unknown,
    /// Already lapsed.
    Expired,
    /// Lapses within the given number of days.
    Soon(i64),
    /// More than 60 days left.
    Ok(i64),
}

/// Where `expires_on` stands relative to `today` (60-day warning window).
pub fn expiry_status(expires_on: Option<NaiveDate>, today: NaiveDate) -> Expiry {
    match expires_on {
        None => Expiry::Unknown,
        Some(d) if d < today => Expiry::Expired,
        Some(d) => {
            let days = (d - today).num_days();
            if days <= 60 {
                Expiry::Soon(days)
            } else {
                Expiry::Ok(days)
            }
        }
    }
}
