//! Rotating the app's credential without downtime (issue 15): the state machine, its
//! rollback rules, the plan both the CLI and the app show, and the record kept afterwards.
//!
//! The order is the one that never leaves Halo without a working credential: the new secret
//! is added **beside** the old one (an app holds several; both sign in during the overlap),
//! stored in the keychain as the *next* credential (the current one stays untouched), proven,
//! pasted into Halo by the admin, proven again, and only then is the old one removed by its
//! `keyId` and the next one made current.
//!
//! ```text
//! Planned → NewAdded → StoredAsNext → Proven → WaitingForHalo → ProvenAgain → OldRemoved → Recorded
//! ```
//!
//! Every state before `OldRemoved` rolls back to "old current, new gone" ([`rollback_steps`]);
//! from `OldRemoved` on there is nothing to go back to and the rotation is finished instead
//! ([`resume`]). The state in progress is kept in the profile ([`RotationInProgress`], saved
//! after every transition), so an app closed halfway shows it at the next start and never
//! leaves a credential in Entra that nobody knows about: before the new secret is requested
//! the state is saved with the name it will carry, so even a crash between Graph's answer
//! and the save is found again by that name.
//!
//! Sources:
//! - The CSP guide's "Token expiration" row (shared/reference/microsoft-csp-integration-guide.md):
//!   "Create a new client secret on azure and then disconnect app on halo, update to the new
//!   client secret on halo then reauthorise the application on Halo. The secret key expiry
//!   may be on the multi tenant app registration or the single tenant app registration."
//! - addPassword / removePassword (by `keyId`):
//!   <https://learn.microsoft.com/graph/api/application-addpassword?view=graph-rest-1.0>,
//!   <https://learn.microsoft.com/graph/api/application-removepassword?view=graph-rest-1.0>.
//! - The tenant's app-management policy (`GET /policies/defaultAppManagementPolicy`) and the
//!   app's own (`GET /applications/{id}/appManagementPolicies`): `passwordAddition` blocks new
//!   secrets, `passwordLifetime` caps their lifetime (`maxLifetime`, an ISO 8601 duration):
//!   <https://learn.microsoft.com/graph/api/resources/passwordcredentialconfiguration>,
//!   <https://learn.microsoft.com/graph/api/tenantappmanagementpolicy-get?view=graph-rest-1.0>.
//! - The longest secret Entra's portal offers is 24 months (how-to-add-credentials).

use chrono::{DateTime, Months, NaiveDate, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

pub use crate::profile::CustomerApp;
use crate::profile::{CredentialKind, Profile};
use crate::steps::halo_screens;
use crate::steps::sso::{CONNECTION_SCREEN, SettingRow};

mod cert;
pub use cert::{PROOF_AUDIENCE, PROOF_LIFETIME_SECS, proof_claims, resume_of};

/// Longest lifetime of a new secret, in months (the Entra portal's longest choice).
pub const MAX_MONTHS: u32 = 24;
/// Lifetime when none is asked for (step 3's default).
pub const DEFAULT_MONTHS: u32 = 12;
/// The prefix of the `displayName` a rotation gives its new secret; the rest is the
/// rotation's id, so an interrupted rotation finds its secret again by name.
pub const NAME_PREFIX: &str = "Entra Onboard rotation ";
/// How many rotations the profile's history keeps (newest last).
pub const HISTORY_MAX: usize = 50;

/// Where a rotation stands. The order is the order of the steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum RotationState {
    /// Decided, nothing sent yet (the new secret's name is saved, see the module doc).
    Planned,
    /// The new secret exists in Entra beside the old one.
    NewAdded,
    /// The new secret is in the keychain as the *next* credential.
    StoredAsNext,
    /// The new secret signed in (an app-only token).
    Proven,
    /// Waiting for the admin to paste it into Halo and say "Halo is updated".
    WaitingForHalo,
    /// Proven again after Halo was updated.
    ProvenAgain,
    /// The old secret is gone from Entra; the next one is current.
    OldRemoved,
    /// Done and recorded.
    Recorded,
}

impl RotationState {
    /// Every state, in order.
    pub const ALL: [RotationState; 8] = [
        RotationState::Planned,
        RotationState::NewAdded,
        RotationState::StoredAsNext,
        RotationState::Proven,
        RotationState::WaitingForHalo,
        RotationState::ProvenAgain,
        RotationState::OldRemoved,
        RotationState::Recorded,
    ];

    /// The admin's words for it.
    pub fn label(self) -> &'static str {
        match self {
            RotationState::Planned => "planned, nothing changed yet",
            RotationState::NewAdded => "new secret added in Entra beside the old one",
            RotationState::StoredAsNext => "new secret stored in the keychain as the next one",
            RotationState::Proven => "new secret proven (test sign-in and app-only token)",
            RotationState::WaitingForHalo => "waiting for Halo to be updated",
            RotationState::ProvenAgain => "new secret proven again after Halo was updated",
            RotationState::OldRemoved => "old secret removed; the new one is current",
            RotationState::Recorded => "done and recorded",
        }
    }

    /// Whether going back still leaves the old credential current and working.
    pub fn can_roll_back(self) -> bool {
        self < RotationState::OldRemoved
    }
}

/// A rotation in progress, kept in the profile until it is recorded or rolled back. Never
/// a value: hints, thumbprints and Secret IDs only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
#[ts(export)]
pub struct RotationInProgress {
    /// The rotation's id (a UUID); the new secret's name ends with it.
    pub id: String,
    /// Which app registration.
    pub app: CustomerApp,
    /// Secret or certificate.
    pub kind: CredentialKind,
    /// Where it stands.
    pub state: RotationState,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// Who signed in to Graph for it.
    pub signed_in_as: Option<String>,
    /// The old secret's Secret ID (`keyId`) in Entra, when it was found there.
    pub old_key_id: Option<String>,
    /// The old secret's hint (first three characters, as Entra lists it).
    pub old_hint: Option<String>,
    /// The old certificate's SHA-1 thumbprint.
    pub old_thumbprint: Option<String>,
    /// The old credential's expiry.
    #[ts(type = "string | null")]
    pub old_expires_on: Option<NaiveDate>,
    /// The new secret's Secret ID.
    pub new_key_id: Option<String>,
    /// The new secret's hint.
    pub new_hint: Option<String>,
    /// The new certificate's SHA-1 thumbprint.
    pub new_thumbprint: Option<String>,
    /// The new credential's expiry.
    #[ts(type = "string | null")]
    pub new_expires_on: Option<NaiveDate>,
    /// A certificate rotation's new password-protected .pfx on this computer (for Halo's
    /// upload and, once current, the SSO test). Not a secret; absent for a secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub new_certificate_file: Option<String>,
    /// Done by hand in the Entra portal (no Graph rights): the admin adds and deletes the
    /// secrets, the tool stores, proves and records ([`crate::rotation_by_hand`]). Absent in
    /// files written before it: a Graph rotation.
    #[serde(default)]
    pub by_hand: bool,
}

impl RotationInProgress {
    /// The `displayName` the new secret carries in Entra.
    pub fn secret_name(&self) -> String {
        format!("{NAME_PREFIX}{}", self.id)
    }
}

/// How a rotation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum RotationOutcome {
    /// The new credential is current, the old one removed.
    Completed,
    /// Rolled back: the old credential is current, the new one removed.
    RolledBack,
}

/// One rotation in the profile's history (and the handover report). Never a value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
#[ts(export)]
pub struct RotationRecord {
    /// When it ended.
    pub at: DateTime<Utc>,
    /// Which app registration.
    pub app: CustomerApp,
    /// Secret or certificate.
    pub kind: CredentialKind,
    /// Completed or rolled back.
    pub outcome: RotationOutcome,
    /// Who signed in to Graph for it.
    pub signed_in_as: Option<String>,
    /// The old credential: hint or thumbprint, and its Secret ID.
    pub old: Option<String>,
    /// The new credential: hint or thumbprint, and its Secret ID.
    pub new: Option<String>,
    /// The new credential's expiry (completed rotations).
    #[ts(type = "string | null")]
    pub expires_on: Option<NaiveDate>,
    /// Why it was rolled back (one line).
    pub reason: Option<String>,
}

fn describe(hint: &Option<String>, thumb: &Option<String>, key: &Option<String>) -> Option<String> {
    let what = match (hint, thumb) {
        (Some(h), _) => Some(format!("secret {}…", h.chars().take(3).collect::<String>())),
        (None, Some(t)) => Some(format!("certificate {t}")),
        _ => None,
    };
    // A certificate's ID in Entra is its key ID; a secret's is its Secret ID.
    let id = if hint.is_none() && thumb.is_some() {
        "key ID"
    } else {
        "Secret ID"
    };
    match (what, key) {
        (Some(w), Some(k)) => Some(format!("{w} ({id} {k})")),
        (Some(w), None) => Some(w),
        (None, Some(k)) => Some(format!("Secret ID {k}")),
        (None, None) => None,
    }
}

impl RotationRecord {
    /// The record of `r` ending with `outcome` at `at`.
    pub fn of(
        r: &RotationInProgress,
        outcome: RotationOutcome,
        at: DateTime<Utc>,
        reason: Option<&str>,
    ) -> RotationRecord {
        RotationRecord {
            at,
            app: r.app,
            kind: r.kind,
            outcome,
            signed_in_as: r.signed_in_as.clone(),
            old: describe(&r.old_hint, &r.old_thumbprint, &r.old_key_id),
            new: describe(&r.new_hint, &r.new_thumbprint, &r.new_key_id),
            expires_on: match outcome {
                RotationOutcome::Completed => r.new_expires_on,
                RotationOutcome::RolledBack => None,
            },
            reason: reason
                .and_then(|s| s.lines().map(str::trim).find(|l| !l.is_empty()))
                .map(|l| l.chars().take(200).collect()),
        }
    }
}

/// Appends `record` to the profile's history, keeping the newest [`HISTORY_MAX`].
pub fn push_history(p: &mut Profile, record: RotationRecord) {
    p.rotations.push(record);
    let extra = p.rotations.len().saturating_sub(HISTORY_MAX);
    p.rotations.drain(..extra);
}

/// One thing a rollback does, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum RollbackStep {
    /// Remove the new secret from Entra by its Secret ID (or, when the ID never came back,
    /// by the name the rotation gave it).
    RemoveNewFromEntra,
    /// Delete the next credential from the keychain.
    DeleteNextFromKeychain,
    /// Tell the admin to put the old value back in Halo (they may have pasted the new one).
    RestoreOldInHalo,
}

/// What rolling back from `state` does; empty when there is nothing to undo (`Planned` with
/// no secret found by its name is handled by the engine) or nothing *can* be undone (from
/// `OldRemoved` on: finish instead).
pub fn rollback_steps(state: RotationState) -> Vec<RollbackStep> {
    use RollbackStep::*;
    match state {
        // A crash may have come after Graph created the secret and before the state was
        // saved: the engine looks for it by name.
        RotationState::Planned | RotationState::NewAdded => vec![RemoveNewFromEntra],
        RotationState::StoredAsNext | RotationState::Proven => {
            vec![RemoveNewFromEntra, DeleteNextFromKeychain]
        }
        RotationState::WaitingForHalo | RotationState::ProvenAgain => {
            vec![RemoveNewFromEntra, DeleteNextFromKeychain, RestoreOldInHalo]
        }
        RotationState::OldRemoved | RotationState::Recorded => Vec::new(),
    }
}

/// What an interrupted rotation can do next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct ResumeChoice {
    /// Where it stopped.
    pub state: RotationState,
    /// Where it stopped, in words.
    pub state_label: String,
    /// Whether it can be finished from here.
    pub can_finish: bool,
    /// Whether it can be rolled back from here (the old credential still exists).
    pub can_roll_back: bool,
    /// What the admin should know, in one or two sentences.
    pub advice: String,
}

/// What an interrupted rotation in `state` offers.
pub fn resume(state: RotationState) -> ResumeChoice {
    let (can_finish, advice) = match state {
        RotationState::Planned | RotationState::NewAdded => (
            false,
            "The new secret's Value was never stored (Entra shows it once), so it cannot be used: roll back to remove it from Entra, then rotate again.",
        ),
        RotationState::StoredAsNext | RotationState::Proven => (
            true,
            "The new secret is in Entra and the keychain; Halo still uses the old one. Finish to prove it and paste it into Halo, or roll back.",
        ),
        RotationState::WaitingForHalo | RotationState::ProvenAgain => (
            true,
            "The new secret may already be in Halo. Finish once Halo uses it (the old one is then removed), or roll back and put the old one back in Halo.",
        ),
        RotationState::OldRemoved => (
            true,
            "The old secret is already removed from Entra: finish to make the new one current and record it.",
        ),
        RotationState::Recorded => (true, "Nothing left to do."),
    };
    ResumeChoice {
        state,
        state_label: state.label().into(),
        can_finish,
        can_roll_back: state.can_roll_back(),
        advice: advice.into(),
    }
}

/// What the tenant's app-management policy allows for a new secret (read by the engine).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecretPolicy {
    /// Set when adding a secret is blocked: which policy.
    pub blocked: Option<String>,
    /// The longest lifetime allowed: as written (ISO 8601 duration and the policy), in days.
    pub max_lifetime: Option<(String, i64)>,
}

/// The lifetime chosen for a new secret: `months` (clamped to 1–[`MAX_MONTHS`]) and no more
/// than the policy's `passwordLifetime` (one day short of it, so clock skew between this
/// computer and Entra cannot push it over).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct LifetimeChoice {
    /// When the new secret stops working.
    pub end: DateTime<Utc>,
    /// Why it is shorter than asked, when it is.
    pub note: Option<String>,
}

/// Chooses the new secret's lifetime, or says why no secret may be added.
pub fn choose_lifetime(
    now: DateTime<Utc>,
    months: u32,
    policy: &SecretPolicy,
) -> Result<LifetimeChoice, RotationError> {
    if let Some(why) = &policy.blocked {
        return Err(RotationError::PolicyBlocksSecret(why.clone()));
    }
    let months = months.clamp(1, MAX_MONTHS);
    let mut end = now.checked_add_months(Months::new(months)).unwrap_or(now);
    let mut note = None;
    if let Some((iso, days)) = &policy.max_lifetime {
        let cap_days = days.saturating_sub(1).max(1);
        let cap = TimeDelta::try_days(cap_days)
            .and_then(|d| now.checked_add_signed(d))
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        if end > cap {
            end = cap;
            note = Some(format!(
                "{cap_days} days instead of {months} months: the policy allows at most {iso}"
            ));
        }
    }
    Ok(LifetimeChoice { end, note })
}

/// Why a rotation cannot start (before anything is sent).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RotationError {
    /// The credential kind has nothing to rotate here.
    #[error("credential.kind: {0}")]
    Kind(String),
    /// The app has no client ID yet.
    #[error(
        "client_id: this customer has no Application (client) ID yet, so there is no app registration to rotate; fill it in step 1 or run \"Create it for me\" first"
    )]
    NoClientId,
    /// Another rotation is in progress.
    #[error(
        "rotation: a rotation started {0} is still in progress; finish it or roll it back first (entra-onboard rotate <profile> --finish | --rollback)"
    )]
    InProgress(String),
    /// The tenant's policy blocks new secrets.
    #[error(
        "Nothing was changed: {0}, so a new client secret cannot be added. Ask the tenant's admin to exclude this app from the policy, or switch to a certificate in step 3."
    )]
    PolicyBlocksSecret(String),
    /// The app is not supported yet.
    #[error("--app: {0}")]
    App(String),
}

impl RotationError {
    /// Stable code.
    pub fn code(&self) -> &'static str {
        match self {
            RotationError::Kind(_) => "rotate.kind",
            RotationError::NoClientId => "rotate.no_client_id",
            RotationError::InProgress(_) => "rotate.in_progress",
            RotationError::PolicyBlocksSecret(_) => "rotate.policy_blocks_secret",
            RotationError::App(_) => "rotate.app",
        }
    }
}

/// The Application (client) ID of `app`.
pub fn client_id_of(p: &Profile, app: CustomerApp) -> &str {
    match app {
        CustomerApp::Main => &p.client_id,
        CustomerApp::PartnerCenter => &p.partner_center.client_id,
    }
}

/// Whether `p` can start a rotation of `app` (nothing in progress, a client ID, a secret).
pub fn check_start(p: &Profile, app: CustomerApp) -> Result<(), RotationError> {
    if let Some(r) = &p.rotation {
        return Err(RotationError::InProgress(
            r.started_at.format("%Y-%m-%d %H:%M UTC").to_string(),
        ));
    }
    if client_id_of(p, app).trim().is_empty() {
        return Err(match app {
            CustomerApp::Main => RotationError::NoClientId,
            CustomerApp::PartnerCenter => RotationError::App(
                "this customer has no Partner Center app yet (step 5: its Application ID); rotate --app main, or register it first".into(),
            ),
        });
    }
    match p.credential_of(app).kind {
        CredentialKind::Secret => Ok(()),
        // The new certificate is added beside the old one with Graph's addKey, whose proof
        // of possession is signed by the current certificate (see `cert_plan_steps`).
        CredentialKind::Certificate if p.credential_of(app).thumbprint.is_none() => {
            Err(RotationError::Kind(
                "this app's certificate has no recorded thumbprint, so the old one cannot be found on the app; create or import it in step 3 first".into(),
            ))
        }
        CredentialKind::Certificate => Ok(()),
        CredentialKind::Federated => Err(RotationError::Kind(
            "a federated credential has no secret to rotate: Halo's own tokens sign in".into(),
        )),
        CredentialKind::None => Err(RotationError::Kind(
            "no credential is chosen in step 3, so there is nothing to rotate".into(),
        )),
    }
}

/// One step of the plan as the admin reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct RotationPlanStep {
    /// The state reached when this step is done.
    pub reaches: RotationState,
    /// What happens.
    pub what: String,
    /// What rolling back after it does.
    pub rollback: String,
}

/// The whole plan: the steps, the Halo screen and fields to update, the policy rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct RotationPlan {
    /// Which app registration.
    pub app: CustomerApp,
    /// Secret or certificate.
    pub kind: CredentialKind,
    /// The current credential as the profile records it (hint or thumbprint, expiry).
    pub current: String,
    /// Lifetime asked for, in months.
    pub months: u32,
    /// The steps, in order.
    pub steps: Vec<RotationPlanStep>,
    /// Where the new value goes in Halo (the settings sheet's rows).
    pub halo: Vec<SettingRow>,
    /// The Graph requests it sends (paths, no ids yet).
    pub requests: Vec<String>,
}

fn rollback_words(state: RotationState) -> String {
    if state == RotationState::Planned {
        return "nothing was sent yet (a secret created just before a crash is found by the name the rotation gave it and removed)".into();
    }
    let steps = rollback_steps(state);
    if steps.is_empty() {
        return "nothing to roll back: the old secret is gone, so the rotation is finished instead"
            .into();
    }
    steps
        .iter()
        .map(|s| match s {
            RollbackStep::RemoveNewFromEntra => "remove the new secret from Entra by its Secret ID",
            RollbackStep::DeleteNextFromKeychain => "delete the next secret from the keychain",
            RollbackStep::RestoreOldInHalo => {
                "put the old secret back in Halo (copy it from step 3)"
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Where the new credential goes in Halo: the connection's credential rows (the settings
/// sheet's), then — when Halo's integration uses a connect button — pressing it again, as
/// the CSP guide's "Token expiration" row says (disconnect, update the secret, re-authorise).
pub fn halo_rows(p: &Profile, app: CustomerApp) -> Vec<SettingRow> {
    if p.credential_of(app).kind == CredentialKind::Certificate {
        return cert::halo_rows(p, app);
    }
    if app == CustomerApp::PartnerCenter {
        return partner_center_rows();
    }
    let mut rows: Vec<SettingRow> = crate::steps::sso::credential_rows(p)
        .into_iter()
        .map(|mut r| {
            if r.stored.is_some() {
                r.value = "the NEW Value (copied when the rotation reaches this step)".into();
                r.note = Some("Replace the old Value. The new one is copied from the keychain; the clipboard is cleared after 60 seconds.".into());
            }
            r
        })
        .collect();
    if let Some((button, _)) = halo_screens::connect_button(p) {
        rows.push(SettingRow {
            screen: CONNECTION_SCREEN.into(),
            setting: button.into(),
            value: "Press it again after saving".into(),
            note: Some("Halo re-authorises with the new secret (the CSP guide's \"Token expiration\": disconnect, update the secret, re-authorise).".into()),
            stored: None,
        });
    }
    rows
}

/// Where the Partner Center app's secret goes: the CSP integration's details, then its
/// "Authorize Application" again (the CSP guide: "update to the new client secret on halo
/// then reauthorise the application on Halo").
fn partner_center_rows() -> Vec<SettingRow> {
    const CSP_DETAILS: &str = "Configuration > Integrations > Microsoft CSP > Details";
    vec![
        SettingRow {
            screen: CSP_DETAILS.into(),
            setting: "Azure Application for Microsoft Partner Center: Secret".into(),
            value: "the NEW Value (copied when the rotation reaches this step)".into(),
            note: Some(
                "Replace the old Value, then Save. The clipboard is cleared after 60 seconds."
                    .into(),
            ),
            stored: None,
        },
        SettingRow {
            screen: CSP_DETAILS.into(),
            setting: "Authorize Application".into(),
            value: "Press it again after saving".into(),
            note: Some("As a Partner Center user with GDAP and strong MFA (the CSP guide).".into()),
            stored: None,
        },
    ]
}

/// The plan for rotating `app` of `p` with a new secret valid `months`.
pub fn plan(p: &Profile, app: CustomerApp, months: u32) -> RotationPlan {
    let c = p.credential_of(app);
    let current = match (c.kind, &c.secret_hint, &c.thumbprint) {
        (CredentialKind::Secret, Some(h), _) => {
            format!("client secret {}…", h.chars().take(3).collect::<String>())
        }
        (CredentialKind::Certificate, _, Some(t)) => format!("certificate {t}"),
        _ => "(none recorded)".into(),
    } + &c
        .expires_on
        .map(|d| format!(", expires {d}"))
        .unwrap_or_default();
    let months = months.clamp(1, MAX_MONTHS);
    if c.kind == CredentialKind::Certificate {
        return RotationPlan {
            app,
            kind: c.kind,
            current,
            months,
            steps: cert::plan_steps(months),
            halo: halo_rows(p, app),
            requests: cert::requests(),
        };
    }
    let step = |reaches: RotationState, what: String| RotationPlanStep {
        reaches,
        what,
        rollback: rollback_words(reaches),
    };
    let steps = vec![
        step(
            RotationState::Planned,
            "Sign in to Microsoft Graph once; read the app and the tenant's app-management policy (is adding a secret blocked? the longest lifetime allowed)".into(),
        ),
        step(
            RotationState::NewAdded,
            format!("Add a new client secret beside the old one ({months} months, or less when the policy caps it); both work from now on"),
        ),
        step(
            RotationState::StoredAsNext,
            "Store the new Value in the keychain as the NEXT secret; the current one stays".into(),
        ),
        step(
            RotationState::Proven,
            "Prove the new secret: a test sign-in in the browser whose code is redeemed with it, and an app-only token with it".into(),
        ),
        step(
            RotationState::WaitingForHalo,
            "Paste the new Value into Halo where shown below, save, and say \"Halo is updated\"".into(),
        ),
        step(
            RotationState::ProvenAgain,
            "Prove the new secret again".into(),
        ),
        step(
            RotationState::OldRemoved,
            "Remove the old secret from Entra by its Secret ID; the new one becomes current".into(),
        ),
        step(
            RotationState::Recorded,
            "Update the expiry and the reminder; record the rotation (date, who signed in, old and new hints — never a value)".into(),
        ),
    ];
    RotationPlan {
        app,
        kind: c.kind,
        current,
        months,
        steps,
        halo: halo_rows(p, app),
        requests: vec![
            "GET /applications?$filter=appId eq '<client id>'".into(),
            "GET /policies/defaultAppManagementPolicy".into(),
            "GET /applications/<object id>/appManagementPolicies".into(),
            "POST /applications/<object id>/addPassword".into(),
            "POST /applications/<object id>/removePassword {keyId: <old Secret ID>}".into(),
        ],
    }
}

/// A new rotation of `p`'s `app`, planned at `now` (nothing sent). `id` is a fresh UUID.
pub fn start(
    p: &Profile,
    app: CustomerApp,
    id: String,
    now: DateTime<Utc>,
) -> Result<RotationInProgress, RotationError> {
    check_start(p, app)?;
    Ok(RotationInProgress {
        id,
        app,
        kind: p.credential_of(app).kind,
        state: RotationState::Planned,
        started_at: now,
        signed_in_as: None,
        old_key_id: None,
        old_hint: p.credential_of(app).secret_hint.clone(),
        old_thumbprint: p.credential_of(app).thumbprint.clone(),
        old_expires_on: p.credential_of(app).expires_on,
        new_key_id: None,
        new_hint: None,
        new_thumbprint: None,
        new_expires_on: None,
        new_certificate_file: None,
        by_hand: false,
    })
}

/// Makes the rotation's new secret the profile's current one (after the old was removed):
/// hint and expiry; the rotation is recorded and cleared.
pub fn complete(p: &mut Profile, now: DateTime<Utc>) {
    let Some(r) = p.rotation.take() else { return };
    if r.kind == CredentialKind::Secret {
        let c = p.credential_of_mut(r.app);
        c.secret_hint = r.new_hint.clone();
        c.expires_on = r.new_expires_on;
    }
    if r.kind == CredentialKind::Certificate {
        cert::make_current(p.credential_of_mut(r.app), &r);
    }
    push_history(
        p,
        RotationRecord::of(&r, RotationOutcome::Completed, now, None),
    );
}

/// Records a rollback and clears the rotation; the profile's credential is untouched.
pub fn rolled_back(p: &mut Profile, now: DateTime<Utc>, reason: &str) {
    let Some(r) = p.rotation.take() else { return };
    push_history(
        p,
        RotationRecord::of(&r, RotationOutcome::RolledBack, now, Some(reason)),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::CredentialMeta;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn secret_profile() -> Profile {
        Profile {
            id: "0b6f3c9e-1a2b-4c3d-8e9f-0a1b2c3d4e5f".into(),
            client_id: "11111111-2222-3333-4444-555555555555".into(),
            credential: CredentialMeta {
                kind: CredentialKind::Secret,
                secret_hint: Some("abc".into()),
                expires_on: NaiveDate::from_ymd_opt(2026, 12, 1),
                ..CredentialMeta::default()
            },
            ..Profile::new("Acme")
        }
    }

    #[test]
    fn states_roll_back_until_the_old_one_is_removed() {
        for s in RotationState::ALL {
            assert_eq!(
                s.can_roll_back(),
                !rollback_steps(s).is_empty(),
                "{s:?}: rollback steps and can_roll_back agree"
            );
            assert_eq!(resume(s).can_roll_back, s.can_roll_back());
        }
        assert!(RotationState::ProvenAgain.can_roll_back());
        assert!(!RotationState::OldRemoved.can_roll_back());
        // After Halo may hold the new value, the admin is told to put the old one back.
        assert!(
            rollback_steps(RotationState::WaitingForHalo).contains(&RollbackStep::RestoreOldInHalo)
        );
        assert!(!rollback_steps(RotationState::Proven).contains(&RollbackStep::RestoreOldInHalo));
        // Before the value is in the keychain there is nothing to delete there.
        assert_eq!(
            rollback_steps(RotationState::NewAdded),
            vec![RollbackStep::RemoveNewFromEntra]
        );
        // A value never stored cannot be finished with.
        assert!(!resume(RotationState::NewAdded).can_finish);
        assert!(resume(RotationState::OldRemoved).can_finish);
    }

    #[test]
    fn the_policy_caps_or_blocks() {
        let now = t("2026-01-10T00:00:00Z");
        let free = choose_lifetime(now, 12, &SecretPolicy::default()).unwrap();
        assert_eq!(free.end, t("2027-01-10T00:00:00Z"));
        assert!(free.note.is_none());
        // Asking for more than 24 months gets 24.
        let long = choose_lifetime(now, 99, &SecretPolicy::default()).unwrap();
        assert_eq!(long.end, t("2028-01-10T00:00:00Z"));
        let capped = SecretPolicy {
            blocked: None,
            max_lifetime: Some(("P90D (the tenant's default)".into(), 90)),
        };
        let c = choose_lifetime(now, 12, &capped).unwrap();
        assert_eq!(c.end, now + TimeDelta::days(89));
        assert!(c.note.unwrap().contains("P90D"));
        let blocked = SecretPolicy {
            blocked: Some("the tenant's default blocks adding client secrets".into()),
            max_lifetime: None,
        };
        let e = choose_lifetime(now, 12, &blocked).unwrap_err();
        assert_eq!(e.code(), "rotate.policy_blocks_secret");
        assert!(e.to_string().contains("Nothing was changed"));
    }

    #[test]
    fn only_a_secret_of_the_main_app_starts_and_one_at_a_time() {
        let p = secret_profile();
        let r = start(
            &p,
            CustomerApp::Main,
            "r1".into(),
            t("2026-01-10T00:00:00Z"),
        )
        .unwrap();
        assert_eq!(r.state, RotationState::Planned);
        assert_eq!(r.old_hint.as_deref(), Some("abc"));
        assert_eq!(r.secret_name(), "Entra Onboard rotation r1");
        let mut busy = p.clone();
        busy.rotation = Some(r);
        assert_eq!(
            check_start(&busy, CustomerApp::Main).unwrap_err().code(),
            "rotate.in_progress"
        );
        assert_eq!(
            check_start(&p, CustomerApp::PartnerCenter)
                .unwrap_err()
                .code(),
            "rotate.app"
        );
        let mut fed = p.clone();
        fed.credential.kind = CredentialKind::Federated;
        assert_eq!(
            check_start(&fed, CustomerApp::Main).unwrap_err().code(),
            "rotate.kind"
        );
        let mut no_app = p.clone();
        no_app.client_id.clear();
        assert_eq!(
            check_start(&no_app, CustomerApp::Main).unwrap_err().code(),
            "rotate.no_client_id"
        );
    }

    #[test]
    fn completing_makes_the_new_current_and_records_no_value() {
        let mut p = secret_profile();
        let mut r = start(
            &p,
            CustomerApp::Main,
            "r1".into(),
            t("2026-01-10T00:00:00Z"),
        )
        .unwrap();
        r.state = RotationState::OldRemoved;
        r.signed_in_as = Some("admin@acme.example".into());
        r.old_key_id = Some("old-key".into());
        r.new_key_id = Some("new-key".into());
        r.new_hint = Some("xyz".into());
        r.new_expires_on = NaiveDate::from_ymd_opt(2027, 1, 10);
        p.rotation = Some(r);
        complete(&mut p, t("2026-01-10T01:00:00Z"));
        assert!(p.rotation.is_none());
        assert_eq!(p.credential.secret_hint.as_deref(), Some("xyz"));
        assert_eq!(
            p.credential.expires_on,
            NaiveDate::from_ymd_opt(2027, 1, 10)
        );
        let rec = p.rotations.last().unwrap();
        assert_eq!(rec.outcome, RotationOutcome::Completed);
        assert_eq!(rec.old.as_deref(), Some("secret abc… (Secret ID old-key)"));
        assert_eq!(rec.new.as_deref(), Some("secret xyz… (Secret ID new-key)"));
        assert_eq!(rec.signed_in_as.as_deref(), Some("admin@acme.example"));
        // The profile round-trips with the history, and an old file without it still loads.
        let back = Profile::from_json(&p.to_json()).unwrap();
        assert_eq!(back, p);
        assert!(
            !p.to_json().contains("\"rotation\""),
            "no rotation in progress is written as absent"
        );
    }

    #[test]
    fn rolling_back_keeps_the_old_credential_and_records_why() {
        let mut p = secret_profile();
        let before = p.credential.clone();
        let mut r = start(
            &p,
            CustomerApp::Main,
            "r1".into(),
            t("2026-01-10T00:00:00Z"),
        )
        .unwrap();
        r.state = RotationState::Proven;
        r.new_hint = Some("xyz".into());
        p.rotation = Some(r);
        // An interrupted rotation survives a save and a load.
        let saved = Profile::from_json(&p.to_json()).unwrap();
        assert_eq!(
            saved.rotation.as_ref().unwrap().state,
            RotationState::Proven
        );
        rolled_back(
            &mut p,
            t("2026-01-10T01:00:00Z"),
            "the proof failed: AADSTS7000215\nmore",
        );
        assert_eq!(p.credential, before);
        let rec = p.rotations.last().unwrap();
        assert_eq!(rec.outcome, RotationOutcome::RolledBack);
        assert_eq!(
            rec.reason.as_deref(),
            Some("the proof failed: AADSTS7000215")
        );
        assert!(rec.expires_on.is_none());
    }

    #[test]
    fn history_is_bounded() {
        let mut p = secret_profile();
        let r = start(&p, CustomerApp::Main, "r".into(), t("2026-01-10T00:00:00Z")).unwrap();
        for _ in 0..HISTORY_MAX + 5 {
            push_history(
                &mut p,
                RotationRecord::of(
                    &r,
                    RotationOutcome::RolledBack,
                    t("2026-01-10T00:00:00Z"),
                    None,
                ),
            );
        }
        assert_eq!(p.rotations.len(), HISTORY_MAX);
    }

    #[test]
    fn the_plan_names_halos_screen_and_field_and_every_rollback() {
        let mut p = secret_profile();
        p.features.import = true;
        let plan = plan(&p, CustomerApp::Main, 12);
        assert_eq!(plan.current, "client secret abc…, expires 2026-12-01");
        assert_eq!(plan.steps.len(), RotationState::ALL.len());
        let secret_row = plan
            .halo
            .iter()
            .find(|r| r.setting == "Client Secret")
            .unwrap();
        assert_eq!(secret_row.screen, CONNECTION_SCREEN);
        assert!(secret_row.stored.is_some());
        assert!(secret_row.value.contains("NEW"));
        // Import uses a connect button: pressing it again is the last row.
        assert!(plan.halo.last().unwrap().value.contains("again"));
        assert!(plan.steps[6].rollback.contains("nothing to roll back"));
        assert!(
            plan.steps[4]
                .rollback
                .contains("put the old secret back in Halo")
        );
    }
}

/// The same rotation by hand, for an admin without Graph rights (Application Administrator
/// or the app's owner can add and remove secrets in the portal): the portal steps in the
/// same safe order, each with the proof that follows it. Portal paths: Entra admin centre >
/// App registrations > the app > Certificates & secrets
/// (<https://learn.microsoft.com/entra/identity-platform/how-to-add-credentials>).
pub fn checklist(p: &Profile, app: CustomerApp, today: NaiveDate) -> Vec<RotationPlanStep> {
    let c = p.credential_of(app);
    let old = c
        .secret_hint
        .as_deref()
        .map(|h| {
            format!(
                "the one whose Value starts {}…",
                h.chars().take(3).collect::<String>()
            )
        })
        .unwrap_or_else(|| "the one Halo uses now".into());
    let client = client_id_of(p, app).trim();
    let portal = format!(
        "Entra admin centre > App registrations > All applications > (Application ID {client}) > Certificates & secrets > Client secrets"
    );
    let halo = halo_rows(p, app)
        .iter()
        .map(|r| format!("{} > {}", r.screen, r.setting))
        .collect::<Vec<_>>()
        .join("; then ");
    let step = |reaches, what: String, rollback: &str| RotationPlanStep {
        reaches,
        what,
        rollback: rollback.into(),
    };
    vec![
        step(
            RotationState::NewAdded,
            format!(
                "{portal}: New client secret, description \"Entra Onboard rotation {today}\", the longest expiry your tenant allows (at most 24 months). Leave the old secret ({old}) alone."
            ),
            "delete the new secret in the same list",
        ),
        step(
            RotationState::StoredAsNext,
            "Copy the new secret's Value (shown once; not the Secret ID) and paste it into Entra Onboard as the next secret.".into(),
            "delete the new secret in the portal; nothing else changed",
        ),
        step(
            RotationState::Proven,
            "Entra Onboard proves it: a test sign-in in the browser whose code is redeemed with the new secret, and an app-only token with it (the old one still works).".into(),
            "delete the new secret in the portal",
        ),
        step(
            RotationState::WaitingForHalo,
            format!("In Halo: {halo}. Save."),
            "put the old Value back in Halo (step 3 copies it) and delete the new secret in the portal",
        ),
        step(
            RotationState::ProvenAgain,
            "Entra Onboard proves the new secret again (the same sign-in and token).".into(),
            "put the old Value back in Halo and delete the new secret in the portal",
        ),
        step(
            RotationState::OldRemoved,
            format!("{portal}: delete the old secret ({old}); keep the new one."),
            "nothing to roll back: finish instead",
        ),
        step(
            RotationState::Recorded,
            "Entra Onboard makes the new secret current, updates the expiry and the reminder, and records the rotation.".into(),
            "nothing to roll back",
        ),
    ]
}

#[cfg(test)]
mod checklist_tests {
    use super::*;
    use crate::profile::CredentialMeta;

    #[test]
    fn the_checklist_keeps_the_safe_order_and_names_the_portal_and_halo() {
        let p = Profile {
            client_id: "22222222-3333-4444-5555-666666666666".into(),
            credential: CredentialMeta {
                kind: CredentialKind::Secret,
                secret_hint: Some("abc".into()),
                ..CredentialMeta::default()
            },
            ..Profile::new("Acme")
        };
        let today = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        let steps = checklist(&p, CustomerApp::Main, today);
        let states: Vec<RotationState> = steps.iter().map(|s| s.reaches).collect();
        let mut sorted = states.clone();
        sorted.sort();
        assert_eq!(states, sorted, "the states only move forward");
        assert!(
            steps[0]
                .what
                .contains("Application ID 22222222-3333-4444-5555-666666666666")
        );
        assert!(
            steps[0]
                .what
                .contains("Leave the old secret (the one whose Value starts abc…)")
        );
        assert!(
            steps[3]
                .what
                .contains("Microsoft Entra ID > Details > Client Secret")
        );
        // The old one goes only after Halo was updated and the new one proven again.
        let removal = steps
            .iter()
            .position(|s| s.what.contains("delete the old secret"))
            .unwrap();
        let halo = steps
            .iter()
            .position(|s| s.reaches == RotationState::WaitingForHalo)
            .unwrap();
        assert!(removal > halo);
    }
}
