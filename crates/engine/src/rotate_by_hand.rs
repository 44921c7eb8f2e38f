//! Rotating the client secret by hand, for an admin without Graph rights (issue 15): the
//! admin adds and deletes the secrets in the Entra portal; this module stores the pasted
//! Value as the keychain's *next* secret, proves it (the shared [`crate::rotation_proof`]:
//! a test sign-in redeemed with it and an app-only token), waits for Halo, proves it again
//! and then makes it current and records the rotation — saving the profile after every
//! step, exactly like the Graph path ([`crate::graph::rotate`], whose report and store it
//! shares). The rules are the core's [`entra_onboard_core::rotation`] and
//! [`entra_onboard_core::rotation_by_hand`].
//!
//! What differs from the Graph path: nothing is sent to Graph, so whatever Graph would do
//! is an instruction in the report's `handover` — "delete the NEW secret in the portal" on
//! a rollback, "delete the OLD secret in the portal" once the new one is proven again and
//! current.
//!
//! Calls: [`begin`] (the pasted Value and the portal's expiry; stops at "waiting for
//! Halo"), [`proceed`] (on "Halo is updated", or to finish an interrupted rotation),
//! [`roll_back`].

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use ts_rs::TS;

use crate::graph::rotate::{
    NextSecretStore, Prover, RotateError, RotateFailure, RotateReport, Saver,
};
use crate::ids::Sensitive;
use crate::keychain::Keychain;
use crate::profile::Profile;
use crate::sso_test::{CancellationToken, SsoTestOptions};
use entra_onboard_core::rotation::{
    self as rules, CustomerApp, ResumeChoice, RotationInProgress, RotationOutcome, RotationRecord,
    RotationState,
};
use entra_onboard_core::rotation_by_hand::{self as hand, ByHandPlan};
use entra_onboard_core::steps::sso::SettingRow;

pub mod cert;

fn is_certificate(r: &RotationInProgress) -> bool {
    r.kind == crate::profile::CredentialKind::Certificate
}

/// What a by-hand rotation needs (no Graph client).
pub struct ByHandContext<'a> {
    /// Where the next secret lives (the keychain; tests use one that can fail).
    pub store: &'a dyn NextSecretStore,
    /// How the new secret is proven ([`crate::rotation_proof::prover`]).
    pub prover: Prover,
    /// Saves the profile after every step.
    pub save: Saver<'a>,
    /// Who is recorded: the signed-in user when one is known, else "by hand".
    pub who: Option<String>,
    /// The clock (tests fix it).
    pub now: Option<DateTime<Utc>>,
}

struct Run<'a, 'b> {
    ctx: &'b mut ByHandContext<'a>,
    report: RotateReport,
}

const SAVE_FIX: &str = "Check that the customer's file can be written, then rotate again.";

impl Run<'_, '_> {
    fn now(&self) -> DateTime<Utc> {
        self.ctx.now.unwrap_or_else(Utc::now)
    }

    fn advance(&mut self, p: &mut Profile, state: RotationState) -> Result<(), String> {
        if let Some(r) = p.rotation.as_mut() {
            r.state = state;
        }
        p.updated_at = Some(self.now());
        (self.ctx.save)(p).map_err(|e| format!("the customer could not be saved: {e}"))
    }

    fn finish(mut self, p: &Profile) -> RotateReport {
        self.report.rotation = p.rotation.clone();
        self.report
    }

    /// Fails with `code`, rolls back what the state left and finishes.
    fn fail_and_roll_back(
        mut self,
        p: &mut Profile,
        code: &str,
        message: String,
        fix: &str,
    ) -> RotateReport {
        self.report.fail(code, message.clone(), fix);
        undo(&mut self, p, &message);
        self.finish(p)
    }
}

fn empty_report() -> RotateReport {
    RotateReport {
        ok: true,
        rotation: None,
        record: None,
        rolled_back: false,
        steps: Vec::new(),
        halo: Vec::new(),
        policy_notes: Vec::new(),
        handover: Vec::new(),
        error: None,
        requests: Vec::new(),
    }
}

fn profile_key(p: &Profile) -> Result<String, RotateError> {
    crate::vault::profile_key(p).map_err(|_| {
        RotateError::Profile(
            "id: save the customer first: the new secret is stored in the keychain under its id"
                .into(),
        )
    })
}

/// Starts a rotation by hand with the `value` the admin pasted from the portal, which
/// expires on `expires_on` (as the portal chose): stores it as the next secret, proves it
/// and stops at "waiting for Halo" — or rolls back on a failure. A refused value or expiry
/// is an `Err` and nothing is stored.
pub async fn begin(
    p: &mut Profile,
    app: CustomerApp,
    value: Sensitive<String>,
    expires_on: NaiveDate,
    ctx: &mut ByHandContext<'_>,
) -> Result<RotateReport, RotateError> {
    let key = profile_key(p)?;
    let now = ctx.now.unwrap_or_else(Utc::now);
    // Unreadable (locked keychain) is "unknown": storing the next secret says so at once.
    let current = ctx.store.current(&key, app).ok().flatten();
    let rotation = hand::start(
        p,
        app,
        uuid::Uuid::new_v4().to_string(),
        now,
        value.expose(),
        expires_on,
        current.as_ref().map(|c| c.expose().as_str()),
        ctx.who.clone(),
    )?;
    let mut run = Run {
        ctx,
        report: empty_report(),
    };
    let detail = format!(
        "hint {}…, expires {expires_on}",
        rotation.new_hint.clone().unwrap_or_default()
    );
    p.rotation = Some(rotation);
    if let Err(e) = run.advance(p, RotationState::NewAdded) {
        p.rotation = None;
        run.report
            .fail("rotate.save", format!("Nothing was stored: {e}"), SAVE_FIX);
        return Ok(run.finish(p));
    }
    run.report.line(
        RotationState::NewAdded,
        "You added the new secret in the portal beside the old one",
        true,
        Some(detail),
    );
    if let Err(e) = run.ctx.store.set_next(&key, app, &value) {
        let msg = format!("Storing the new secret in the keychain: {e}");
        return Ok(run.fail_and_roll_back(
            p,
            "rotate.keychain",
            msg,
            "Unlock the keychain (see step 3), then rotate again.",
        ));
    }
    run.report.line(
        RotationState::StoredAsNext,
        "Store it in the keychain as the next secret",
        true,
        None,
    );
    if let Err(e) = run.advance(p, RotationState::StoredAsNext) {
        return Ok(run.fail_and_roll_back(p, "rotate.save", e, SAVE_FIX));
    }
    Ok(continue_from(run, p, &key, false).await)
}

/// Goes on from the saved state: proves (before Halo), or — with `halo_updated` — proves
/// again, makes the new secret current and records it, telling the admin to delete the
/// old one in the portal. Finishes an interrupted by-hand rotation too.
pub async fn proceed(
    p: &mut Profile,
    halo_updated: bool,
    ctx: &mut ByHandContext<'_>,
) -> Result<RotateReport, RotateError> {
    if p.rotation.as_ref().is_some_and(is_certificate) {
        return cert::proceed(p, halo_updated, ctx).await;
    }
    let key = profile_key(p)?;
    let Some(r) = &p.rotation else {
        return Err(RotateError::NothingInProgress);
    };
    let halo_updated = halo_updated && r.state >= RotationState::WaitingForHalo;
    let choice = hand::resume(r.state);
    let mut run = Run {
        ctx,
        report: empty_report(),
    };
    if !choice.can_finish {
        run.report.fail(
            "rotate.cannot_finish",
            format!("The rotation stopped at \"{}\": {}", r.state.label(), choice.advice),
            "Roll it back (entra-onboard rotate <profile> --rollback, or \"Roll back\" in the app), then rotate again.",
        );
        return Ok(run.finish(p));
    }
    Ok(continue_from(run, p, &key, halo_updated).await)
}

async fn prove(
    run: &mut Run<'_, '_>,
    key: &str,
    app: CustomerApp,
) -> Result<String, (String, String)> {
    let value = match run.ctx.store.next(key, app) {
        Ok(Some(v)) => v,
        Ok(None) => {
            return Err((
                "rotate.next_missing".into(),
                "the next secret is not in the keychain".into(),
            ));
        }
        Err(e) => return Err(("rotate.keychain".into(), e)),
    };
    (run.ctx.prover)(value)
        .await
        .map_err(|e| ("rotate.proof_failed".into(), e))
}

const PROOF_FIX: &str = "The old secret is still current. Check the new secret in the portal (its Value, not its Secret ID) and the sign-in (Test & save), then rotate again.";

async fn continue_from(
    mut run: Run<'_, '_>,
    p: &mut Profile,
    key: &str,
    halo_updated: bool,
) -> RotateReport {
    loop {
        let Some((state, app)) = p.rotation.as_ref().map(|r| (r.state, r.app)) else {
            return run.finish(p);
        };
        match state {
            RotationState::StoredAsNext | RotationState::WaitingForHalo
                if state == RotationState::StoredAsNext || halo_updated =>
            {
                let (label, next) = if state == RotationState::StoredAsNext {
                    (
                        "Prove the new secret (a test sign-in redeemed with it, an app-only token)",
                        RotationState::Proven,
                    )
                } else {
                    (
                        "Prove the new secret again (Halo is updated)",
                        RotationState::ProvenAgain,
                    )
                };
                match prove(&mut run, key, app).await {
                    Ok(how) => run.report.line(next, label, true, Some(how)),
                    Err((code, why)) => {
                        run.report.line(next, label, false, Some(why.clone()));
                        return run.fail_and_roll_back(
                            p,
                            &code,
                            format!("{label}: {why}"),
                            PROOF_FIX,
                        );
                    }
                }
                if let Err(e) = run.advance(p, next) {
                    return run.fail_and_roll_back(p, "rotate.save", e, SAVE_FIX);
                }
            }
            RotationState::Proven => {
                run.report.halo = rules::halo_rows(p, app);
                run.report.line(
                    RotationState::WaitingForHalo,
                    "Paste the new Value into Halo, save, then say \"Halo is updated\"",
                    true,
                    None,
                );
                if let Err(e) = run.advance(p, RotationState::WaitingForHalo) {
                    return run.fail_and_roll_back(p, "rotate.save", e, SAVE_FIX);
                }
            }
            RotationState::WaitingForHalo => {
                run.report.halo = rules::halo_rows(p, app);
                return run.finish(p);
            }
            RotationState::ProvenAgain => {
                // From here the admin deletes the old secret: nothing can go back to it.
                let Some(r) = p.rotation.as_ref() else {
                    return run.finish(p);
                };
                let instruction = hand::delete_old_instruction(p, r);
                if let Err(e) = run.advance(p, RotationState::OldRemoved) {
                    run.report.fail("rotate.save", e, "Halo uses the new secret and both still sign in; check that the customer's file can be written, then finish again.");
                    return run.finish(p);
                }
                run.report.line(
                    RotationState::OldRemoved,
                    "Delete the old secret in the portal (you)",
                    true,
                    Some(instruction.clone()),
                );
                run.report.handover.push(instruction);
            }
            RotationState::OldRemoved => return record(run, p, key, app),
            RotationState::Planned | RotationState::NewAdded | RotationState::Recorded => {
                return run.finish(p);
            }
            RotationState::StoredAsNext => unreachable!("handled by the first arm"),
        }
    }
}

/// Makes the next secret current (keychain, then the profile's hint and expiry) and records.
fn record(mut run: Run<'_, '_>, p: &mut Profile, key: &str, app: CustomerApp) -> RotateReport {
    if let Err(e) = run.ctx.store.promote(key, app) {
        run.report.fail(
            "rotate.keychain",
            format!("Making the new secret current in the keychain: {e}"),
            "Halo uses the new secret and it is in the keychain as the next one: unlock the keychain and finish the rotation again.",
        );
        return run.finish(p);
    }
    let now = run.now();
    let record = p
        .rotation
        .as_ref()
        .map(|r| RotationRecord::of(r, RotationOutcome::Completed, now, None));
    rules::complete(p, now);
    p.updated_at = Some(now);
    if let Err(e) = (run.ctx.save)(p) {
        run.report.fail("rotate.save", format!("the customer could not be saved: {e}"), "The new secret is current in the keychain; re-enter its expiry in step 3 if it does not show.");
    }
    run.report.line(
        RotationState::Recorded,
        "Make the new secret current, update the expiry and the reminder, record the rotation",
        true,
        record.as_ref().and_then(|r| r.expires_on).map(|d| {
            format!("expires {d}; the reminder (.ics, step 3 or `entra-onboard reminder`) follows the new date")
        }),
    );
    run.report.record = record;
    run.finish(p)
}

/// Rolls back a by-hand rotation: the next secret leaves the keychain and the admin is told
/// to delete the new secret in the portal (and to put the old one back in Halo when it may
/// be there). Refused from "old secret removed" on: finish instead.
pub fn roll_back(
    p: &mut Profile,
    reason: &str,
    ctx: &mut ByHandContext<'_>,
) -> Result<RotateReport, RotateError> {
    if p.rotation.as_ref().is_some_and(is_certificate) {
        return cert::roll_back(p, reason, ctx);
    }
    profile_key(p)?;
    let Some(r) = &p.rotation else {
        return Err(RotateError::NothingInProgress);
    };
    let mut run = Run {
        ctx,
        report: empty_report(),
    };
    if !r.state.can_roll_back() {
        run.report.fail(
            "rotate.cannot_roll_back",
            format!("The rotation is at \"{}\": Halo uses the new secret and the old one is being deleted in the portal, so there is nothing to go back to.", r.state.label()),
            "Finish it instead (entra-onboard rotate <profile> --finish, or \"Finish\" in the app).",
        );
        return Ok(run.finish(p));
    }
    if !undo(&mut run, p, reason) {
        run.report.ok = false;
    }
    Ok(run.finish(p))
}

/// The by-hand rollback; true when done (recorded and cleared). A keychain that cannot
/// delete keeps the rotation, so the admin can roll back again.
fn undo(run: &mut Run<'_, '_>, p: &mut Profile, reason: &str) -> bool {
    let Some(r) = p.rotation.clone() else {
        return true;
    };
    let Ok(key) = crate::vault::profile_key(p) else {
        return false;
    };
    {
        // Every state: a crash may have come after the store and before the save, and an
        // absent next secret is fine to delete.
        if let Err(e) = run.ctx.store.delete_next(&key, r.app) {
            run.report.handover.push(format!(
                "The new secret is still in the keychain as the next secret ({e}); roll back again once the keychain is unlocked."
            ));
            return false;
        }
        run.report.line(
            r.state,
            "Roll back: delete the next secret from the keychain",
            true,
            None,
        );
    }
    run.report.handover.extend(hand::rollback_handover(p, &r));
    let now = run.now();
    let record = RotationRecord::of(&r, RotationOutcome::RolledBack, now, Some(reason));
    rules::rolled_back(p, now, reason);
    p.updated_at = Some(now);
    if let Err(e) = (run.ctx.save)(p) {
        run.report.handover.push(format!(
            "Rolled back in the keychain, but the customer could not be saved ({e}); the next start may show the rotation again: roll it back once more (safe to repeat)."
        ));
    }
    run.report.rolled_back = true;
    run.report.record = Some(record);
    true
}

/// What the by-hand panel shows before and between calls. Pure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export, rename = "RotationByHandView")]
pub struct ByHandView {
    /// The checklist and the expiry bounds, when a rotation can start.
    pub plan: Option<ByHandPlan>,
    /// Why it cannot start, when it cannot.
    pub blocked: Option<RotateFailure>,
    /// The by-hand rotation in progress, if any.
    pub in_progress: Option<RotationInProgress>,
    /// What it offers.
    pub resume: Option<ResumeChoice>,
    /// Where the new value goes in Halo while one is in progress.
    pub halo: Vec<SettingRow>,
    /// What rolling back now leaves to the admin in the portal.
    pub rollback_handover: Vec<String>,
    /// A certificate rotation waiting for the admin's upload: which .cer, where (then "I
    /// uploaded it").
    pub upload: Option<String>,
}

/// The by-hand panel's state for `app` of `p` on `today`.
pub fn view(p: &Profile, app: CustomerApp, today: NaiveDate) -> ByHandView {
    if let Some(r) = &p.rotation {
        let (resume, rollback_handover) = if is_certificate(r) {
            (hand::cert::resume(r), hand::cert::rollback_handover(p, r))
        } else {
            (hand::resume(r.state), hand::rollback_handover(p, r))
        };
        return ByHandView {
            plan: None,
            blocked: None,
            in_progress: Some(r.clone()),
            resume: Some(resume),
            halo: rules::halo_rows(p, r.app),
            rollback_handover,
            upload: if is_certificate(r) && r.state == RotationState::StoredAsNext {
                Some(hand::cert::upload_instruction(p, r))
            } else {
                None
            },
        };
    }
    match rules::check_start(p, app) {
        Ok(()) => ByHandView {
            plan: Some(hand::plan(p, app, today)),
            blocked: None,
            in_progress: None,
            resume: None,
            halo: Vec::new(),
            rollback_handover: Vec::new(),
            upload: None,
        },
        Err(e) => ByHandView {
            plan: None,
            blocked: Some(RotateFailure {
                code: e.code().into(),
                message: e.to_string(),
                fix: "See the message.".into(),
            }),
            in_progress: None,
            resume: None,
            halo: Vec::new(),
            rollback_handover: Vec::new(),
            upload: None,
        },
    }
}

/// What the desktop app's by-hand panel asks for. The pasted Value travels beside it (the
/// command's own argument), never inside a type that could be logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, Serialize, TS)]
#[serde(rename_all = "camelCase", tag = "kind")]
#[ts(export, rename = "RotateByHandAction")]
pub enum ByHandAction {
    /// The admin pasted the new secret's Value; it expires on `expiresOn` (the portal's).
    #[serde(rename_all = "camelCase")]
    Begin {
        /// Which app registration.
        app: CustomerApp,
        /// The expiry the admin chose in the portal.
        #[ts(type = "string")]
        expires_on: NaiveDate,
    },
    /// A certificate rotation: "I uploaded it" (the new .cer is in the portal); proves it.
    Uploaded,
    /// "Halo is updated" (or finish an interrupted rotation).
    HaloUpdated,
    /// Undo the rotation in progress.
    RollBack,
}

/// The desktop app's entry: one call per button, with the keychain and the store (saved
/// after every step); `who` is the Graph user signed in for this customer, if any. Returns
/// the report and the profile as saved.
pub async fn run_in_app(
    store: &crate::profile::ProfileStore,
    keychain: &Keychain,
    mut profile: Profile,
    action: ByHandAction,
    value: Option<Sensitive<String>>,
    who: Option<String>,
    cancel: CancellationToken,
) -> Result<(RotateReport, Profile), RotateError> {
    let app = match (action, &profile.rotation) {
        (_, Some(r)) => r.app,
        (ByHandAction::Begin { app, .. }, None) => app,
        _ => return Err(RotateError::NothingInProgress),
    };
    if profile.rotation.as_ref().is_some_and(|r| !r.by_hand) {
        return Err(RotateError::Profile(
            "rotation: the rotation in progress was started through Microsoft Graph; finish or roll it back with Graph".into(),
        ));
    }
    let prover = crate::rotation_proof::prover(&profile, app, SsoTestOptions::default(), cancel)?;
    let mut save = |p: &Profile| store.save(p).map(|_| ()).map_err(|e| e.to_string());
    let mut ctx = ByHandContext {
        store: keychain,
        prover,
        save: &mut save,
        who,
        now: None,
    };
    let report = match action {
        // A certificate is made here (nothing pasted); the admin uploads its .cer.
        ByHandAction::Begin { app, expires_on }
            if profile.credential_of(app).kind == crate::profile::CredentialKind::Certificate =>
        {
            cert::begin(&mut profile, app, expires_on, &mut ctx).await?
        }
        ByHandAction::Begin { app, expires_on } => {
            let value = value.unwrap_or_default();
            begin(&mut profile, app, value, expires_on, &mut ctx).await?
        }
        ByHandAction::Uploaded => proceed(&mut profile, false, &mut ctx).await?,
        ByHandAction::HaloUpdated => proceed(&mut profile, true, &mut ctx).await?,
        ByHandAction::RollBack => roll_back(&mut profile, "rolled back by the admin", &mut ctx)?,
    };
    Ok((report, profile))
}
