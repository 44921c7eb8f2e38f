//! Step 3 — the credential the service desk uses: a client secret, a certificate or a
//! federated credential.
//!
//! The profile records the *kind*, the expiry and a three-character hint; a secret's value
//! goes to the OS keychain (the engine's `keychain` module) after [`check_secret_value`] has refused the
//! usual paste mistakes. Certificate generation is not here yet. Checks that depend on
//! today's date (expiring soon, expired) are not in [`check`], because the plan is pure: see
//! [`expiry_status`] and [`check_secret_expiry`].

use chrono::{Months, NaiveDate};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::profile::{CredentialKind, Profile};
use crate::validation::Issues;

const STEP: u8 = 3;

/// Microsoft's maximum client-secret lifetime (how-to-add-credentials.md).
pub const SECRET_MAX_MONTHS: u32 = 24;
/// The lifetime the expiry chooser starts on. Microsoft recommends less than 12 months;
/// 12 is what the portal's own "Recommended" choices top out at and a yearly rotation is
/// what admins can keep up with.
pub const SECRET_DEFAULT_MONTHS: u32 = 12;
/// The lifetimes the expiry chooser offers, in months (the portal's 3, 6, 12, 18 and 24).
pub const SECRET_MONTH_CHOICES: [u32; 5] = [3, 6, 12, 18, 24];
/// Smallest RSA key Entra accepts (AADSTS700027 below it); certificate creation and import
/// (the engine's `steps::certificate`) apply the same limit.
pub const MIN_KEY_BITS: u32 = 2048;

/// One choice of the expiry chooser.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct ExpiryChoice {
    /// Lifetime in months.
    pub months: u32,
    /// The date the secret stops working if created today.
    pub expires_on: NaiveDate,
    /// True for the preselected choice ([`SECRET_DEFAULT_MONTHS`]).
    pub default: bool,
}

/// The expiry a new secret gets by default: [`SECRET_DEFAULT_MONTHS`] after `today`.
pub fn default_secret_expiry(today: NaiveDate) -> NaiveDate {
    // Only a clock at the end of the calendar has no date 12 months on.
    secret_expiry_after(today, SECRET_DEFAULT_MONTHS).unwrap_or(NaiveDate::MAX)
}

/// `today` + `months`, for 1 to [`SECRET_MAX_MONTHS`] months.
pub fn secret_expiry_after(today: NaiveDate, months: u32) -> Result<NaiveDate, SecretValueError> {
    if months == 0 || months > SECRET_MAX_MONTHS {
        return Err(SecretValueError::MonthsOutOfRange(months));
    }
    today
        .checked_add_months(Months::new(months))
        .ok_or(SecretValueError::MonthsOutOfRange(months))
}

/// The expiry chooser's choices for a secret created `today`.
pub fn secret_expiry_choices(today: NaiveDate) -> Vec<ExpiryChoice> {
    SECRET_MONTH_CHOICES
        .iter()
        .filter_map(|&months| {
            Some(ExpiryChoice {
                months,
                expires_on: secret_expiry_after(today, months).ok()?,
                default: months == SECRET_DEFAULT_MONTHS,
            })
        })
        .collect()
}

/// Everything the app's expiry chooser shows for a secret created `today`: the preset
/// choices and the range a typed date must fall in — the range [`check_secret_expiry`]
/// accepts, so the date picker cannot offer a day the engine then refuses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct SecretExpiryOptions {
    /// The preset lifetimes, dated from today; exactly one is the default.
    pub choices: Vec<ExpiryChoice>,
    /// The preselected lifetime, in months ([`SECRET_DEFAULT_MONTHS`]).
    pub default_months: u32,
    /// The earliest expiry accepted: tomorrow.
    pub earliest: NaiveDate,
    /// The latest expiry accepted: [`latest_secret_expiry`].
    pub latest: NaiveDate,
    /// Microsoft's maximum lifetime, in months ([`SECRET_MAX_MONTHS`]), for the hint.
    pub max_months: u32,
}

/// The latest expiry a secret created `today` can have: [`SECRET_MAX_MONTHS`] months on
/// (that day included).
pub fn latest_secret_expiry(today: NaiveDate) -> NaiveDate {
    // Only a clock at the end of the calendar has no date 24 months on.
    today
        .checked_add_months(Months::new(SECRET_MAX_MONTHS))
        .unwrap_or(NaiveDate::MAX)
}

/// The expiry chooser for a secret created `today`.
pub fn secret_expiry_options(today: NaiveDate) -> SecretExpiryOptions {
    SecretExpiryOptions {
        choices: secret_expiry_choices(today),
        default_months: SECRET_DEFAULT_MONTHS,
        earliest: today.succ_opt().unwrap_or(NaiveDate::MAX),
        latest: latest_secret_expiry(today),
        max_months: SECRET_MAX_MONTHS,
    }
}

/// Checks step 3.
pub fn check(p: &Profile, issues: &mut Issues) {
    let c = &p.credential;
    match c.kind {
        CredentialKind::None => issues.warn(
            STEP,
            "credential.kind",
            "credential.kind.none",
            "No credential chosen yet. The service desk needs one for import and CSP, and the SSO test proves it works.",
            "Choose a client secret (simplest), a certificate (Microsoft's recommendation) or a federated credential (Halo's \"Federated Credentials\").",
        ),
        CredentialKind::Secret | CredentialKind::Certificate if c.expires_on.is_none() => issues.warn(
            STEP,
            "credential.expires_on",
            "credential.expires_on.missing",
            "The credential's expiry date is not recorded. When it lapses, sign-in and sync stop (AADSTS7000222).",
            "Enter the 'Expires' date shown in Certificates & secrets so the wizard can remind you before it lapses.",
        ),
        _ => {}
    }
    if c.kind == CredentialKind::Federated {
        // Halo's Method 3: its own rules (crate::steps::federated).
        super::federated::check(p, issues);
    }
    if c.kind == CredentialKind::Certificate {
        if let Some(t) = &c.thumbprint
            && !(t.len() == 40 && t.chars().all(|ch| ch.is_ascii_hexdigit()))
        {
            issues.error(
                STEP,
                "credential.thumbprint",
                "credential.thumbprint.invalid",
                "The certificate thumbprint is not 40 hexadecimal characters (a SHA-1 thumbprint as Entra lists it).",
                "Copy the Thumbprint column from Certificates & secrets, without spaces or colons, or generate the certificate here.",
            );
        }
        if let Some(bits) = c.key_bits
            && bits < MIN_KEY_BITS
        {
            issues.error(
                STEP,
                "credential.key_bits",
                "credential.key_bits.weak",
                format!("The certificate's RSA key has {bits} bits; Entra ID refuses keys under 2048 bits (AADSTS700027)."),
                "Generate a new certificate here (RSA 2048 or more) and upload its .cer.",
            );
        }
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

/// Shortest secret accepted. Graph's addPassword makes 16–64 characters, the Entra portal 40.
pub const SECRET_MIN_CHARS: usize = 16;
/// Longest secret accepted: far above anything Entra issues, well inside what every OS
/// keychain stores.
pub const SECRET_MAX_CHARS: usize = 512;

/// What the profile may keep about a valid secret value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretFacts {
    /// The first three characters, as Entra lists them ([`CredentialMeta::secret_hint`]).
    ///
    /// [`CredentialMeta::secret_hint`]: crate::profile::CredentialMeta::secret_hint
    pub hint: String,
}

/// Why a pasted secret value, or its expiry, is refused. Messages never quote the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SecretValueError {
    /// Nothing was entered.
    #[error("The secret is empty; paste the Value shown when the secret was created.")]
    Empty,
    /// A GUID: the Secret ID column, not the Value.
    #[error(
        "That is the Secret ID; paste the Value (the column next to it, shown only once when the secret was created)."
    )]
    IsSecretId,
    /// Spaces, tabs or line breaks anywhere (usually a copy that took too much).
    #[error(
        "The secret contains a space, tab or line break; Entra secrets have none. Copy the Value again with the copy button next to it."
    )]
    Whitespace,
    /// Fewer than [`SECRET_MIN_CHARS`] characters.
    #[error(
        "The secret has {0} characters; Entra secrets have at least {SECRET_MIN_CHARS} (the portal makes 40). Copy the whole Value with the copy button next to it."
    )]
    TooShort(usize),
    /// More than [`SECRET_MAX_CHARS`] characters.
    #[error(
        "The secret has {0} characters, more than the {SECRET_MAX_CHARS} accepted; that is not a single Entra secret Value."
    )]
    TooLong(usize),
    /// The expiry date is today or earlier.
    #[error(
        "The expiry date {0} is not in the future; a secret that has lapsed cannot sign in (AADSTS7000222). Create a new secret."
    )]
    ExpiryNotInFuture(NaiveDate),
    /// The expiry date is further out than Microsoft allows.
    #[error(
        "The expiry date {0} is more than {SECRET_MAX_MONTHS} months away, longer than Entra allows for a secret; check the 'Expires' column in Certificates & secrets."
    )]
    ExpiryTooFar(NaiveDate),
    /// A lifetime outside 1–24 months was chosen.
    #[error(
        "A lifetime of {0} months is not possible; Entra allows 1 to {SECRET_MAX_MONTHS} months for a secret (12 recommended)."
    )]
    MonthsOutOfRange(u32),
}

impl SecretValueError {
    /// Stable code for the UI.
    pub fn code(&self) -> &'static str {
        match self {
            SecretValueError::Empty => "secret.empty",
            SecretValueError::IsSecretId => "secret.is_secret_id",
            SecretValueError::Whitespace => "secret.whitespace",
            SecretValueError::TooShort(_) => "secret.too_short",
            SecretValueError::TooLong(_) => "secret.too_long",
            SecretValueError::ExpiryNotInFuture(_) => "secret.expiry_past",
            SecretValueError::ExpiryTooFar(_) => "secret.expiry_too_far",
            SecretValueError::MonthsOutOfRange(_) => "secret.months_out_of_range",
        }
    }
}

/// Checks a pasted client-secret value before it is stored, refusing the usual mistakes:
/// the Secret ID (a GUID) instead of the Value, a copy with surrounding or inner whitespace,
/// a truncated copy. Nothing is trimmed: a value that needs fixing is refused, so what is
/// stored is exactly what Entra issued.
pub fn check_secret_value(value: &str) -> Result<SecretFacts, SecretValueError> {
    if value.is_empty() {
        return Err(SecretValueError::Empty);
    }
    // Checked before whitespace: " <guid> " is still the Secret ID, the more useful message.
    if crate::ids::parse_guid(value).is_some() {
        return Err(SecretValueError::IsSecretId);
    }
    if value.chars().any(char::is_whitespace) {
        return Err(SecretValueError::Whitespace);
    }
    let n = value.chars().count();
    if n < SECRET_MIN_CHARS {
        return Err(SecretValueError::TooShort(n));
    }
    if n > SECRET_MAX_CHARS {
        return Err(SecretValueError::TooLong(n));
    }
    Ok(SecretFacts {
        hint: value.chars().take(3).collect(),
    })
}

/// What can already be said about a secret while it is typed or just pasted: the Secret ID
/// (a GUID) instead of the Value, or whitespace. Length is left to [`check_secret_value`]
/// when it is stored, since a value being typed is short until it is finished.
pub fn check_secret_as_typed(value: &str) -> Option<SecretValueError> {
    match check_secret_value(value) {
        Err(e @ (SecretValueError::IsSecretId | SecretValueError::Whitespace)) => Some(e),
        _ => None,
    }
}

/// Checks the expiry date typed for a new secret: after `today` and at most
/// [`SECRET_MAX_MONTHS`] months away (Microsoft's maximum).
pub fn check_secret_expiry(
    expires_on: NaiveDate,
    today: NaiveDate,
) -> Result<(), SecretValueError> {
    if expires_on <= today {
        return Err(SecretValueError::ExpiryNotInFuture(expires_on));
    }
    // A secret created today for 24 months expires on today + 24 months; allow that day.
    if expires_on > latest_secret_expiry(today) {
        return Err(SecretValueError::ExpiryTooFar(expires_on));
    }
    Ok(())
}

/// A value the keychain holds for a profile that the admin must also enter in the service
/// desk: the client secret, or the password of the certificate's .pfx (asked when the .pfx
/// is uploaded). The desktop app copies it to the clipboard from Rust; it never reaches
/// the webview.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub enum StoredValue {
    /// The client secret's Value.
    ClientSecret,
    /// The password protecting the certificate's .pfx file.
    CertificatePassword,
}

#[cfg(test)]
mod tests {
    use super::*;

    const PORTAL_SECRET: &str = "Abc8Q~xY1zT9kLmN0pQrStUvWxYz0123456789ab";

    fn code(v: &str) -> &'static str {
        check_secret_value(v).unwrap_err().code()
    }

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn while_typing_only_the_secret_id_and_whitespace_are_flagged() {
        let typed = |v: &str| check_secret_as_typed(v).map(|e| e.code());
        assert_eq!(
            typed("0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9"),
            Some("secret.is_secret_id")
        );
        assert_eq!(typed("Abc8Q~xY1z T9"), Some("secret.whitespace"));
        // Half a Value is not wrong yet, and a whole one never is.
        assert_eq!(typed(""), None);
        assert_eq!(typed("Abc8Q~"), None);
        assert_eq!(typed(PORTAL_SECRET), None);
    }

    #[test]
    fn a_portal_secret_is_accepted_and_hinted() {
        assert_eq!(PORTAL_SECRET.len(), 40);
        assert_eq!(check_secret_value(PORTAL_SECRET).unwrap().hint, "Abc");
        assert!(check_secret_value(&"a".repeat(SECRET_MIN_CHARS)).is_ok());
        assert!(check_secret_value(&"a".repeat(SECRET_MAX_CHARS)).is_ok());
    }

    #[test]
    fn the_secret_id_is_refused() {
        assert_eq!(
            code("0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9"),
            "secret.is_secret_id"
        );
        assert_eq!(
            code(" 0A1B2C3D-4E5F-6071-8293-A4B5C6D7E8F9\n"),
            "secret.is_secret_id"
        );
        let msg = check_secret_value("0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9")
            .unwrap_err()
            .to_string();
        assert_eq!(
            msg,
            "That is the Secret ID; paste the Value (the column next to it, shown only once when the secret was created)."
        );
    }

    #[test]
    fn whitespace_anywhere_is_refused() {
        for v in [
            format!(" {PORTAL_SECRET}"),
            format!("{PORTAL_SECRET} "),
            format!("{PORTAL_SECRET}\n"),
            format!("{PORTAL_SECRET}\r\n"),
            "Abc8Q~xY1zT9\nkLmN0pQrStUvWxYz0123456789ab".to_string(),
            "Abc8Q~xY1zT9\tkLmN0pQrStUvWxYz0123456789ab".to_string(),
            "Abc8Q~xY1zT9\u{a0}kLmN0pQrStUvWxYz0123456789ab".to_string(),
        ] {
            assert_eq!(code(&v), "secret.whitespace", "{v:?}");
        }
    }

    #[test]
    fn length_limits() {
        assert_eq!(code(""), "secret.empty");
        assert_eq!(code("Abc8Q~xY1zT9kLm"), "secret.too_short");
        assert_eq!(code(&"a".repeat(SECRET_MAX_CHARS + 1)), "secret.too_long");
    }

    #[test]
    fn messages_never_quote_the_value() {
        for v in [
            "Abc8Q~xY1zT9kLm",
            "Abc8Q~xY1zT9 kLmN0pQrStUvWxYz0123456789ab",
        ] {
            let msg = check_secret_value(v).unwrap_err().to_string();
            assert!(!msg.contains("Abc8Q"), "{msg}");
        }
    }

    #[test]
    fn the_expiry_chooser_defaults_to_12_months_and_stops_at_24() {
        let today = d("2025-03-31");
        assert_eq!(default_secret_expiry(today), d("2026-03-31"));
        // month ends clamp rather than overflow into the next month
        assert_eq!(default_secret_expiry(d("2024-02-29")), d("2025-02-28"));
        let choices = secret_expiry_choices(today);
        assert_eq!(
            choices.iter().map(|c| c.months).collect::<Vec<_>>(),
            [3, 6, 12, 18, 24]
        );
        assert_eq!(choices.iter().filter(|c| c.default).count(), 1);
        assert!(choices.iter().find(|c| c.default).unwrap().months == 12);
        for c in &choices {
            assert!(check_secret_expiry(c.expires_on, today).is_ok(), "{c:?}");
        }
        assert_eq!(secret_expiry_after(today, 24).unwrap(), d("2027-03-31"));
        assert_eq!(
            secret_expiry_after(today, 25).unwrap_err().code(),
            "secret.months_out_of_range"
        );
        assert_eq!(
            secret_expiry_after(today, 0).unwrap_err().code(),
            "secret.months_out_of_range"
        );
    }

    #[test]
    fn the_chooser_offers_exactly_the_range_the_engine_accepts() {
        let today = d("2025-03-31");
        let o = secret_expiry_options(today);
        assert_eq!(o.choices, secret_expiry_choices(today));
        assert_eq!(o.default_months, SECRET_DEFAULT_MONTHS);
        assert!(
            o.choices
                .iter()
                .any(|c| c.default && c.months == o.default_months)
        );
        assert_eq!(o.max_months, SECRET_MAX_MONTHS);
        assert_eq!((o.earliest, o.latest), (d("2025-04-01"), d("2027-03-31")));
        // The picker's bounds are accepted; one day outside either is refused.
        assert!(check_secret_expiry(o.earliest, today).is_ok());
        assert!(check_secret_expiry(o.latest, today).is_ok());
        assert!(check_secret_expiry(o.earliest.pred_opt().unwrap(), today).is_err());
        assert!(check_secret_expiry(o.latest.succ_opt().unwrap(), today).is_err());
        // The longest preset is the cap itself.
        assert_eq!(o.choices.last().map(|c| c.expires_on), Some(o.latest));
        // A clock at the end of the calendar gives bounds, not a panic.
        let end = secret_expiry_options(NaiveDate::MAX);
        assert_eq!((end.earliest, end.latest), (NaiveDate::MAX, NaiveDate::MAX));
        assert!(end.choices.is_empty());
    }

    #[test]
    fn expiry_must_be_future_and_within_24_months() {
        let today = d("2025-03-31");
        assert!(check_secret_expiry(d("2025-04-01"), today).is_ok());
        assert!(check_secret_expiry(d("2027-03-31"), today).is_ok());
        assert_eq!(
            check_secret_expiry(d("2027-04-01"), today)
                .unwrap_err()
                .code(),
            "secret.expiry_too_far"
        );
        assert_eq!(
            check_secret_expiry(today, today).unwrap_err().code(),
            "secret.expiry_past"
        );
        assert_eq!(
            check_secret_expiry(d("2024-01-01"), today)
                .unwrap_err()
                .code(),
            "secret.expiry_past"
        );
    }
}
