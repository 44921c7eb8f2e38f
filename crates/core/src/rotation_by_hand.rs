//! Rotating a client secret **by hand**, for an admin without Graph rights (issue 15: "the
//! same flow as a guided checklist with the portal steps and the same proofs"). The states,
//! their order and what each rollback means are [`crate::rotation`]'s; this module holds
//! what differs when a person does the Entra side in the portal:
//!
//! - the new secret is created by the admin (Entra admin centre > App registrations > the
//!   app > Certificates & secrets > New client secret) and its **Value** pasted here; the
//!   tool never sees a Secret ID, so rollbacks and the final removal are *instructions*
//!   naming the secret by its description, the first characters of its Value (the portal's
//!   Value column shows them, the hint) and its expiry;
//! - the expiry is the one the admin chose in the portal (its choices run from 90 days to
//!   24 months, <https://learn.microsoft.com/entra/identity-platform/how-to-add-credentials>),
//!   checked as step 3 checks a typed expiry and bounded by [`rotation::MAX_MONTHS`];
//! - the value must not be the secret Halo uses now: the proofs would pass with it and the
//!   admin would then delete the only working secret.

use chrono::{DateTime, Months, NaiveDate, Utc};
use serde::Serialize;
use ts_rs::TS;

use crate::profile::{CredentialKind, Profile};
use crate::rotation::{
    self, CustomerApp, ResumeChoice, RollbackStep, RotationError, RotationInProgress,
    RotationPlanStep, RotationState,
};
use crate::steps::credential::{self, SecretValueError};
use crate::steps::sso::SettingRow;

pub mod cert;

/// Who the history names when nobody signed in for the rotation.
pub const BY_HAND: &str = "by hand";

/// Why a by-hand rotation cannot start. Nothing is stored when it is returned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ByHandError {
    /// The customer cannot rotate (kind, client ID, one in progress).
    #[error(transparent)]
    Rule(#[from] RotationError),
    /// The pasted Value is not a secret Value.
    #[error("new secret: {0}")]
    Value(SecretValueError),
    /// The expiry is not one Entra can have given.
    #[error("expires_on: {0}")]
    Expiry(SecretValueError),
    /// The pasted Value is the secret Halo uses now.
    #[error(
        "new secret: this is the secret Halo uses now, not a new one. In the portal, press \"New client secret\" and paste the Value it shows once (the old secret must stay until the end)."
    )]
    SameAsCurrent,
}

impl ByHandError {
    /// Stable code.
    pub fn code(&self) -> &'static str {
        match self {
            ByHandError::Rule(e) => e.code(),
            ByHandError::Value(e) | ByHandError::Expiry(e) => e.code(),
            ByHandError::SameAsCurrent => "rotate.same_secret",
        }
    }
}

/// The Entra admin centre's list where the app's secrets are added and deleted.
pub fn portal_path(p: &Profile, app: CustomerApp) -> String {
    format!(
        "Entra admin centre > App registrations > All applications > (Application ID {}) > Certificates & secrets > Client secrets",
        rotation::client_id_of(p, app).trim()
    )
}

/// The description the checklist asks the admin to give the new secret (the portal's
/// Description column), so the rollback can name it.
pub fn description(today: NaiveDate) -> String {
    format!("Entra Onboard rotation {today}")
}

/// The expiries the admin may enter: tomorrow to [`rotation::MAX_MONTHS`] months from today.
pub fn expiry_bounds(today: NaiveDate) -> (NaiveDate, NaiveDate) {
    let earliest = today.succ_opt().unwrap_or(today);
    let latest = today
        .checked_add_months(Months::new(rotation::MAX_MONTHS))
        .unwrap_or(today);
    (earliest, latest)
}

/// The expiry `months` from `today` (clamped to 1–[`rotation::MAX_MONTHS`]): what the CLI
/// records when only `--months` is given.
pub fn expiry_from_months(today: NaiveDate, months: u32) -> NaiveDate {
    today
        .checked_add_months(Months::new(months.clamp(1, rotation::MAX_MONTHS)))
        .unwrap_or(today)
}

/// What the by-hand panel and `rotate --by-hand` show before a rotation starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export, rename = "RotationByHandPlan")]
pub struct ByHandPlan {
    /// Which app registration.
    pub app: CustomerApp,
    /// What is rotated: a secret (the admin pastes the new Value) or a certificate (the
    /// tool makes it; the admin uploads its .cer).
    pub kind: CredentialKind,
    /// The portal list where secrets (or certificates) are added and deleted.
    pub portal: String,
    /// The description to give the new secret.
    pub description: String,
    /// The checklist, in the safe order, with each step's rollback.
    pub steps: Vec<RotationPlanStep>,
    /// Where the new Value goes in Halo.
    pub halo: Vec<SettingRow>,
    /// The earliest and latest expiry accepted (ISO dates).
    #[ts(type = "string")]
    pub earliest_expiry: NaiveDate,
    /// The latest expiry accepted.
    #[ts(type = "string")]
    pub latest_expiry: NaiveDate,
    /// The expiry offered until the admin types the portal's (12 months).
    #[ts(type = "string")]
    pub default_expiry: NaiveDate,
}

/// The by-hand plan for `app` of `p` (a certificate's is [`cert::plan`]).
pub fn plan(p: &Profile, app: CustomerApp, today: NaiveDate) -> ByHandPlan {
    if p.credential_of(app).kind == CredentialKind::Certificate {
        return cert::plan(p, app, today);
    }
    let (earliest_expiry, latest_expiry) = expiry_bounds(today);
    ByHandPlan {
        app,
        kind: CredentialKind::Secret,
        portal: portal_path(p, app),
        description: description(today),
        steps: rotation::checklist(p, app, today),
        halo: rotation::halo_rows(p, app),
        earliest_expiry,
        latest_expiry,
        default_expiry: expiry_from_months(today, rotation::DEFAULT_MONTHS),
    }
}

/// A by-hand rotation of `p`'s `app` with the pasted `value`, which the admin created in
/// the portal to expire on `expires_on`; `current` is the secret in the keychain now (when
/// it can be read). Starts at [`RotationState::NewAdded`]: the new secret exists in Entra
/// (the admin made it) and nothing is stored yet. Never holds the value.
#[allow(clippy::too_many_arguments)]
pub fn start(
    p: &Profile,
    app: CustomerApp,
    id: String,
    now: DateTime<Utc>,
    value: &str,
    expires_on: NaiveDate,
    current: Option<&str>,
    who: Option<String>,
) -> Result<RotationInProgress, ByHandError> {
    rotation::check_start(p, app)?;
    let facts = credential::check_secret_value(value).map_err(ByHandError::Value)?;
    credential::check_secret_expiry(expires_on, now.date_naive()).map_err(ByHandError::Expiry)?;
    if current.is_some_and(|c| c == value) {
        return Err(ByHandError::SameAsCurrent);
    }
    let mut r = rotation::start(p, app, id, now)?;
    r.by_hand = true;
    r.state = RotationState::NewAdded;
    r.signed_in_as = Some(who.unwrap_or_else(|| BY_HAND.into()));
    r.new_hint = Some(facts.hint);
    r.new_expires_on = Some(expires_on);
    Ok(r)
}

fn secret_words(hint: Option<&str>, expires: Option<NaiveDate>) -> String {
    let hint = hint
        .map(|h| {
            format!(
                "whose Value starts {}…",
                h.chars().take(3).collect::<String>()
            )
        })
        .unwrap_or_else(|| "Halo used until now".into());
    match expires {
        Some(d) => format!("the one {hint}, expires {d}"),
        None => format!("the one {hint}"),
    }
}

/// Deleting the old secret in the portal: the admin's last step, after the second proof.
pub fn delete_old_instruction(p: &Profile, r: &RotationInProgress) -> String {
    format!(
        "In {}: delete the OLD secret ({}). Keep the new one ({}).",
        portal_path(p, r.app),
        secret_words(r.old_hint.as_deref(), r.old_expires_on),
        secret_words(r.new_hint.as_deref(), r.new_expires_on),
    )
}

/// What a by-hand rollback leaves to the admin, in order: the rules' rollback steps for the
/// rotation's state, with the Entra side as an instruction (the keychain's next secret is
/// deleted by the tool).
pub fn rollback_handover(p: &Profile, r: &RotationInProgress) -> Vec<String> {
    let started = r.started_at.date_naive();
    rotation::rollback_steps(r.state)
        .into_iter()
        .filter_map(|s| match s {
            RollbackStep::RemoveNewFromEntra => Some(format!(
                "In {}: delete the NEW secret (description \"{}\", {}). Leave the old one: it is still current.",
                portal_path(p, r.app),
                description(started),
                secret_words(r.new_hint.as_deref(), r.new_expires_on),
            )),
            RollbackStep::DeleteNextFromKeychain => None,
            RollbackStep::RestoreOldInHalo => Some(
                "If you already pasted the new secret into Halo, put the old one back: step 3 (or the settings sheet) copies the current secret, which is still the old one.".into(),
            ),
        })
        .collect()
}

/// What an interrupted by-hand rotation offers: the rules' choice, in the portal's words.
pub fn resume(state: RotationState) -> ResumeChoice {
    let mut c = rotation::resume(state);
    match state {
        RotationState::Planned | RotationState::NewAdded => {
            c.advice = "The new secret's Value was never stored here: roll back (then delete the new secret in the portal), and rotate again.".into();
        }
        RotationState::ProvenAgain | RotationState::WaitingForHalo => {
            c.advice = "The new secret may already be in Halo. Finish once Halo uses it (you then delete the old one in the portal), or roll back, put the old one back in Halo and delete the new one in the portal.".into();
        }
        _ => {}
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::{CredentialKind, CredentialMeta};

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn profile() -> Profile {
        Profile {
            id: "0b6f3c9e-1a2b-4c3d-8e9f-0a1b2c3d4e5f".into(),
            client_id: "22222222-3333-4444-5555-666666666666".into(),
            credential: CredentialMeta {
                kind: CredentialKind::Secret,
                secret_hint: Some("abc".into()),
                expires_on: NaiveDate::from_ymd_opt(2026, 12, 1),
                ..CredentialMeta::default()
            },
            ..Profile::new("Acme")
        }
    }

    const NEW: &str = "xyZ8Q~new-secret-value-0123456789abcdef";
    const OLD: &str = "abc8Q~old-secret-value-0123456789abcdef";

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn a_pasted_value_starts_at_new_added_with_its_hint_expiry_and_who() {
        let now = t("2026-11-30T10:00:00Z");
        let r = start(
            &profile(),
            CustomerApp::Main,
            "r1".into(),
            now,
            NEW,
            date(2027, 11, 30),
            Some(OLD),
            None,
        )
        .unwrap();
        assert!(r.by_hand);
        assert_eq!(r.state, RotationState::NewAdded);
        assert_eq!(r.new_hint.as_deref(), Some("xyZ"));
        assert_eq!(r.new_expires_on, Some(date(2027, 11, 30)));
        assert_eq!(r.signed_in_as.as_deref(), Some(BY_HAND));
        assert_eq!(r.old_hint.as_deref(), Some("abc"));
        let json = serde_json::to_string(&r).unwrap();
        assert!(!json.contains(NEW), "never the value");
        // Saved and loaded as part of a profile; an old file without the field is a Graph one.
        let mut p = profile();
        p.rotation = Some(r.clone());
        assert_eq!(Profile::from_json(&p.to_json()).unwrap().rotation, Some(r));
        let old_file = json.replace(",\"by_hand\":true", "");
        let back: RotationInProgress = serde_json::from_str(&old_file).unwrap();
        assert!(!back.by_hand);
        // The signed-in user when one is known.
        let r = start(
            &profile(),
            CustomerApp::Main,
            "r2".into(),
            now,
            NEW,
            date(2027, 11, 30),
            None,
            Some("admin@acme.example".into()),
        )
        .unwrap();
        assert_eq!(r.signed_in_as.as_deref(), Some("admin@acme.example"));
    }

    #[test]
    fn wrong_values_and_expiries_are_refused_by_field() {
        let now = t("2026-11-30T10:00:00Z");
        let go = |value: &str, exp: NaiveDate, current: Option<&str>| {
            start(
                &profile(),
                CustomerApp::Main,
                "r".into(),
                now,
                value,
                exp,
                current,
                None,
            )
            .unwrap_err()
        };
        let ok_date = date(2027, 6, 1);
        let e = go("5a0e1c3b-6f7d-4e2a-9b8c-1d2e3f4a5b6c", ok_date, None);
        assert_eq!(e.code(), "secret.is_secret_id");
        assert!(e.to_string().starts_with("new secret:"));
        assert_eq!(go("short", ok_date, None).code(), "secret.too_short");
        assert_eq!(
            go(&format!("{NEW} "), ok_date, None).code(),
            "secret.whitespace"
        );
        assert_eq!(go(OLD, ok_date, Some(OLD)).code(), "rotate.same_secret");
        let e = go(NEW, date(2026, 11, 30), None);
        assert_eq!(e.code(), "secret.expiry_past");
        assert!(e.to_string().starts_with("expires_on:"));
        assert_eq!(
            go(NEW, date(2029, 1, 1), None).code(),
            "secret.expiry_too_far"
        );
        let mut busy = profile();
        busy.rotation = Some(
            start(
                &profile(),
                CustomerApp::Main,
                "r0".into(),
                now,
                NEW,
                ok_date,
                None,
                None,
            )
            .unwrap(),
        );
        let e = start(
            &busy,
            CustomerApp::Main,
            "r".into(),
            now,
            NEW,
            ok_date,
            None,
            None,
        )
        .unwrap_err();
        assert_eq!(e.code(), "rotate.in_progress");
    }

    #[test]
    fn the_bounds_are_tomorrow_to_max_months_and_match_the_expiry_check() {
        let today = date(2026, 11, 30);
        let (lo, hi) = expiry_bounds(today);
        assert_eq!((lo, hi), (date(2026, 12, 1), date(2028, 11, 30)));
        assert!(credential::check_secret_expiry(lo, today).is_ok());
        assert!(credential::check_secret_expiry(hi, today).is_ok());
        assert!(credential::check_secret_expiry(hi.succ_opt().unwrap(), today).is_err());
        assert_eq!(expiry_from_months(today, 99), hi);
        assert_eq!(expiry_from_months(today, 6), date(2027, 5, 30));
        let plan = plan(&profile(), CustomerApp::Main, today);
        assert_eq!(plan.default_expiry, date(2027, 11, 30));
        assert_eq!(plan.description, "Entra Onboard rotation 2026-11-30");
        assert!(
            plan.portal
                .contains("Application ID 22222222-3333-4444-5555-666666666666")
        );
        assert!(plan.halo.iter().any(|h| h.setting == "Client Secret"));
    }

    #[test]
    fn rollback_and_removal_are_instructions_naming_the_secret() {
        let p = profile();
        let mut r = start(
            &p,
            CustomerApp::Main,
            "r1".into(),
            t("2026-11-30T10:00:00Z"),
            NEW,
            date(2027, 11, 30),
            None,
            None,
        )
        .unwrap();
        let h = rollback_handover(&p, &r);
        assert_eq!(h.len(), 1, "{h:?}");
        assert!(h[0].contains("delete the NEW secret"));
        assert!(h[0].contains("\"Entra Onboard rotation 2026-11-30\""));
        assert!(h[0].contains("Value starts xyZ…, expires 2027-11-30"));
        r.state = RotationState::WaitingForHalo;
        let h = rollback_handover(&p, &r);
        assert!(h.iter().any(|x| x.contains("put the old one back")));
        r.state = RotationState::OldRemoved;
        assert!(rollback_handover(&p, &r).is_empty());
        let d = delete_old_instruction(&p, &r);
        assert!(
            d.contains(
                "delete the OLD secret (the one whose Value starts abc…, expires 2026-12-01)"
            ),
            "{d}"
        );
        assert!(d.contains("Keep the new one (the one whose Value starts xyZ…"));
        assert!(
            resume(RotationState::NewAdded)
                .advice
                .contains("delete the new secret in the portal")
        );
        assert!(!resume(RotationState::NewAdded).can_finish);
        assert!(resume(RotationState::ProvenAgain).can_finish);
    }
}
