//! Rotating a **certificate** by hand (issue 15, without Graph rights). The rules are the
//! core's [`entra_onboard_core::rotation_by_hand::cert`]; the files and the keychain slots
//! are the Graph certificate path's ([`crate::graph::rotate`]'s `cert`: the same generator,
//! the new .pfx beside the old one, its password as the keychain's *next* one); the proof is
//! the shared [`crate::rotation_proof`] given the new certificate's PEM bundle.
//!
//! The order: make the certificate, write the .pfx and the .cer, store the password
//! ("stored as next", saved) — then the admin uploads the .cer in the portal and says
//! "uploaded"; the proof follows. A proof answered with AADSTS700027 (Entra does not have
//! the certificate yet) keeps the rotation where it is, so the admin uploads and proves
//! again; any other failed proof rolls back as every rotation does. After Halo is updated
//! and the second proof, the admin is told which old certificate to delete (thumbprint,
//! expiry), and the new .pfx and password become current.
//!
//! Calls: [`begin`], then the parent's `proceed` (uploaded, Halo updated, finish) and
//! `roll_back`, which hand a certificate rotation to this module's [`proceed`] and
//! [`roll_back`].

use chrono::{NaiveDate, Utc};

use super::{ByHandContext, Run, SAVE_FIX, empty_report, profile_key};
use crate::graph::rotate::cert::{delete_new_files, new_files, new_request, next_cert, open_pfx};
use crate::graph::rotate::{RotateError, RotateReport};
use crate::profile::Profile;
use crate::steps::certificate;
use entra_onboard_core::rotation::{
    self as rules, CustomerApp, RotationOutcome, RotationRecord, RotationState,
};
use entra_onboard_core::rotation_by_hand::cert as hand;

const PROOF_FIX: &str = "Nothing is left behind: the old certificate is still current. Check the sign-in (Test & save), then rotate again; delete the new certificate in the portal if you uploaded it.";

/// Starts a by-hand certificate rotation: a new certificate valid until about `expires_on`
/// (whole months, as step 3 makes them), its .pfx and .cer beside the old .pfx, its password
/// as the keychain's next one. Stops at "stored as next", waiting for the admin's upload
/// (the report's `handover` says what to upload where). A refused expiry is an `Err`.
pub async fn begin(
    p: &mut Profile,
    app: CustomerApp,
    expires_on: NaiveDate,
    ctx: &mut ByHandContext<'_>,
) -> Result<RotateReport, RotateError> {
    let key = profile_key(p)?;
    let now = ctx.now.unwrap_or_else(Utc::now);
    let months = hand::months_until(now.date_naive(), expires_on)?;
    let mut rotation = hand::start(
        p,
        app,
        uuid::Uuid::new_v4().to_string(),
        now,
        ctx.who.clone(),
    )?;
    let mut run = Run {
        ctx,
        report: empty_report(),
    };
    let new = match certificate::generate(&new_request(p, app, months), now) {
        Ok(c) => c,
        Err(e) => {
            run.report.fail(
                e.code(),
                format!("Nothing was changed: {e}"),
                "Rotate again.",
            );
            return Ok(run.finish(p));
        }
    };
    let Some(files) = new_files(p, app, &new.info, &rotation.id) else {
        run.report.fail(
            "rotate.old_certificate",
            "Nothing was changed: no .pfx is recorded for the current certificate, so there is no folder to write the new one beside.".into(),
            "Import the current .pfx in step 3, then rotate again.",
        );
        return Ok(run.finish(p));
    };
    // Saved before a file is written: a crash after it leaves the paths to delete.
    rotation.new_thumbprint = Some(new.info.thumbprints.sha1_hex.clone());
    rotation.new_expires_on = Some(new.info.expires_on);
    rotation.new_certificate_file = Some(files.pfx.display().to_string());
    p.rotation = Some(rotation);
    if let Err(e) = run.advance(p, RotationState::Planned) {
        p.rotation = None;
        run.report
            .fail("rotate.save", format!("Nothing was changed: {e}"), SAVE_FIX);
        return Ok(run.finish(p));
    }
    if let Err(e) = certificate::write_files(&new, &files, false) {
        return Ok(fail_and_roll_back(
            run,
            p,
            &key,
            e.code(),
            format!("Writing the new certificate's files: {e}"),
            "Check that the folder of the current .pfx can be written, then rotate again.",
        ));
    }
    if let Err(e) = run
        .ctx
        .store
        .set_next_password(&key, app, &new.pfx_password)
    {
        return Ok(fail_and_roll_back(
            run,
            p,
            &key,
            "rotate.keychain",
            format!("Storing the new .pfx password in the keychain: {e}"),
            "Unlock the keychain (see step 3), then rotate again.",
        ));
    }
    run.report.line(
        RotationState::StoredAsNext,
        "Make a new certificate as step 3 does; write its .pfx beside the old one and a .cer for the portal; keep the .pfx password in the keychain as the next one",
        true,
        Some(format!(
            "certificate {}, expires {}; {}",
            new.info.thumbprints.sha1_hex,
            new.info.expires_on,
            files.cer.display()
        )),
    );
    if let Err(e) = run.advance(p, RotationState::StoredAsNext) {
        return Ok(fail_and_roll_back(run, p, &key, "rotate.save", e, SAVE_FIX));
    }
    waiting_for_upload(&mut run, p);
    Ok(run.finish(p))
}

/// The report's "upload it" line and to-do.
fn waiting_for_upload(run: &mut Run<'_, '_>, p: &Profile) {
    let Some(r) = p.rotation.as_ref() else {
        return;
    };
    // The instruction itself is the report's to-do (said once).
    run.report.line(
        RotationState::StoredAsNext,
        "Upload the new .cer in the portal beside the old certificate (you), then say \"uploaded\"",
        true,
        None,
    );
    run.report.handover.push(hand::upload_instruction(p, r));
}

/// Goes on from the saved state: on "uploaded" (or a finish at "stored as next") proves the
/// new certificate — a proof Entra answers with AADSTS700027 keeps the rotation for another
/// try; with `halo_updated`, proves again, says which old certificate to delete and makes
/// the new one current.
pub async fn proceed(
    p: &mut Profile,
    halo_updated: bool,
    ctx: &mut ByHandContext<'_>,
) -> Result<RotateReport, RotateError> {
    let key = profile_key(p)?;
    let Some(r) = &p.rotation else {
        return Err(RotateError::NothingInProgress);
    };
    let halo_updated = halo_updated && r.state >= RotationState::WaitingForHalo;
    let choice = hand::resume(r);
    let mut run = Run {
        ctx,
        report: empty_report(),
    };
    if !choice.can_finish {
        run.report.fail(
            "rotate.cannot_finish",
            format!("The rotation stopped at \"{}\": {}", choice.state_label, choice.advice),
            "Roll it back (entra-onboard rotate <profile> --rollback, or \"Roll back\" in the app), then rotate again.",
        );
        return Ok(run.finish(p));
    }
    Ok(continue_from(run, p, &key, halo_updated).await)
}

async fn prove(run: &mut Run<'_, '_>, p: &Profile, key: &str) -> Result<String, (String, String)> {
    let Some(r) = p.rotation.as_ref() else {
        return Err(("rotate.nothing_in_progress".into(), "no rotation".into()));
    };
    let cert = next_cert(run.ctx.store, r, key).map_err(|e| ("rotate.next_missing".into(), e))?;
    (run.ctx.prover)(cert.pem_bundle())
        .await
        .map_err(|e| ("rotate.proof_failed".into(), e))
}

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
                        "Prove the new certificate (a test sign-in redeemed with it, an app-only token)",
                        RotationState::Proven,
                    )
                } else {
                    (
                        "Prove the new certificate again (Halo is updated)",
                        RotationState::ProvenAgain,
                    )
                };
                match prove(&mut run, p, key).await {
                    Ok(how) => run.report.line(next, label, true, Some(how)),
                    // Not on the app (yet): the admin uploads and proves again.
                    Err((_, why))
                        if state == RotationState::StoredAsNext && hand::is_not_uploaded(&why) =>
                    {
                        run.report.line(next, label, false, Some(why.clone()));
                        let Some(r) = p.rotation.as_ref() else {
                            return run.finish(p);
                        };
                        let fix = hand::not_uploaded_fix(p, r);
                        run.report.fail(
                            "rotate.not_uploaded",
                            format!(
                                "Entra does not have the new certificate ({}) yet: {why}",
                                r.new_thumbprint.as_deref().unwrap_or_default()
                            ),
                            &fix,
                        );
                        run.report.handover.push(hand::upload_instruction(p, r));
                        return run.finish(p);
                    }
                    Err((code, why)) => {
                        run.report.line(next, label, false, Some(why.clone()));
                        return fail_and_roll_back(
                            run,
                            p,
                            key,
                            &code,
                            format!("{label}: {why}"),
                            PROOF_FIX,
                        );
                    }
                }
                if let Err(e) = run.advance(p, next) {
                    return fail_and_roll_back(run, p, key, "rotate.save", e, SAVE_FIX);
                }
            }
            RotationState::StoredAsNext => unreachable!("handled by the first arm"),
            RotationState::Proven => {
                run.report.halo = rules::halo_rows(p, app);
                run.report.line(
                    RotationState::WaitingForHalo,
                    "Upload the new .pfx in Halo, point the connection at it, save, then say \"Halo is updated\"",
                    true,
                    None,
                );
                if let Err(e) = run.advance(p, RotationState::WaitingForHalo) {
                    return fail_and_roll_back(run, p, key, "rotate.save", e, SAVE_FIX);
                }
            }
            RotationState::WaitingForHalo => {
                run.report.halo = rules::halo_rows(p, app);
                return run.finish(p);
            }
            RotationState::ProvenAgain => {
                // From here the admin deletes the old certificate: nothing can go back to it.
                let Some(r) = p.rotation.as_ref() else {
                    return run.finish(p);
                };
                let instruction = hand::delete_old_instruction(p, r);
                if let Err(e) = run.advance(p, RotationState::OldRemoved) {
                    run.report.fail("rotate.save", e, "Halo uses the new certificate and both still sign in; check that the customer's file can be written, then finish again.");
                    return run.finish(p);
                }
                run.report.line(
                    RotationState::OldRemoved,
                    "Delete the old certificate in the portal (you)",
                    true,
                    Some(instruction.clone()),
                );
                run.report.handover.push(instruction);
            }
            RotationState::OldRemoved => return make_current(run, p, key),
            RotationState::Planned | RotationState::NewAdded | RotationState::Recorded => {
                return run.finish(p);
            }
        }
    }
}

/// The new .pfx and its password become current, the profile records the new certificate
/// (thumbprints, subject, expiry) and the rotation is recorded.
fn make_current(mut run: Run<'_, '_>, p: &mut Profile, key: &str) -> RotateReport {
    let Some(r) = p.rotation.clone() else {
        return run.finish(p);
    };
    // Read while the password is still the next one; a finish run again after it moved
    // reads it with the current one.
    let (info, promoted) = match next_cert(run.ctx.store, &r, key) {
        Ok(c) => (Some(c.info.clone()), false),
        Err(_) => {
            let moved = r.new_certificate_file.as_deref().and_then(|f| {
                let pw = run.ctx.store.current_password(key, r.app).ok()??;
                open_pfx(f, pw).ok()
            });
            (moved.map(|c| c.info.clone()), true)
        }
    };
    let Some(info) = info else {
        run.report.fail(
            "rotate.keychain",
            "Making the new certificate current: its .pfx cannot be opened with the next password from the keychain".into(),
            "Halo uses the new certificate and its .pfx is beside the old one: unlock the keychain and finish the rotation again.",
        );
        return run.finish(p);
    };
    if !promoted && let Err(e) = run.ctx.store.promote_password(key, r.app) {
        run.report.fail(
            "rotate.keychain",
            format!("Making the new .pfx password current in the keychain: {e}"),
            "Halo uses the new certificate and its password is in the keychain as the next one: unlock the keychain and finish the rotation again.",
        );
        return run.finish(p);
    }
    let now = run.now();
    let record = RotationRecord::of(&r, RotationOutcome::Completed, now, None);
    rules::complete(p, now);
    let meta = p.credential_of_mut(r.app);
    let file = meta.certificate_file.clone();
    certificate::record_certificate(meta, &info);
    meta.certificate_file = file;
    p.updated_at = Some(now);
    if let Err(e) = (run.ctx.save)(p) {
        run.report.fail("rotate.save", format!("the customer could not be saved: {e}"), "The new .pfx password is current in the keychain; import the new .pfx in step 3 if the old one still shows.");
    }
    run.report.line(
        RotationState::Recorded,
        "Make the new certificate current, update the expiry and the reminder, record the rotation",
        true,
        record.expires_on.map(|d| {
            format!("expires {d}; the reminder (.ics, step 3 or `entra-onboard reminder`) follows the new date; the old .pfx is no longer used")
        }),
    );
    run.report.record = Some(record);
    run.finish(p)
}

fn fail_and_roll_back(
    mut run: Run<'_, '_>,
    p: &mut Profile,
    key: &str,
    code: &str,
    message: String,
    fix: &str,
) -> RotateReport {
    run.report.fail(code, message.clone(), fix);
    undo(&mut run, p, key, &message);
    run.finish(p)
}

/// Rolls back a by-hand certificate rotation: the new .pfx, .cer and next password are
/// deleted; the admin is told to delete the new certificate in the portal if uploaded.
/// Refused from "old certificate deleted" on: finish instead.
pub fn roll_back(
    p: &mut Profile,
    reason: &str,
    ctx: &mut ByHandContext<'_>,
) -> Result<RotateReport, RotateError> {
    let key = profile_key(p)?;
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
            format!("The rotation is at \"{}\": Halo uses the new certificate and the old one is being deleted in the portal, so there is nothing to go back to.", r.state.label()),
            "Finish it instead (entra-onboard rotate <profile> --finish, or \"Finish\" in the app).",
        );
        return Ok(run.finish(p));
    }
    if !undo(&mut run, p, &key, reason) {
        run.report.ok = false;
    }
    Ok(run.finish(p))
}

/// True when rolled back (recorded and cleared). A keychain that cannot delete keeps the
/// rotation, so the admin can roll back again.
fn undo(run: &mut Run<'_, '_>, p: &mut Profile, key: &str, reason: &str) -> bool {
    let Some(r) = p.rotation.clone() else {
        return true;
    };
    // Every state: a crash may have come after the store and before the save, and an
    // absent password or file is fine to delete.
    if let Err(e) = run.ctx.store.delete_next_password(key, r.app) {
        run.report.handover.push(format!(
            "The new .pfx password is still in the keychain as the next one ({e}); roll back again once the keychain is unlocked."
        ));
        return false;
    }
    delete_new_files(&r);
    run.report.line(
        r.state,
        "Roll back: delete the new .pfx, .cer and the next password from the keychain",
        true,
        None,
    );
    run.report.handover.extend(hand::rollback_handover(p, &r));
    let now = run.now();
    let record = RotationRecord::of(&r, RotationOutcome::RolledBack, now, Some(reason));
    rules::rolled_back(p, now, reason);
    p.updated_at = Some(now);
    if let Err(e) = (run.ctx.save)(p) {
        run.report.handover.push(format!(
            "Rolled back on this computer, but the customer could not be saved ({e}); the next start may show the rotation again: roll it back once more (safe to repeat)."
        ));
    }
    run.report.rolled_back = true;
    run.report.record = Some(record);
    true
}
