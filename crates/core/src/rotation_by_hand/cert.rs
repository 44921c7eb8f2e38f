//! Rotating a **certificate** by hand, for an admin without Graph rights (issue 15:
//! "Without Graph rights: the same flow as a guided checklist with the portal steps and the
//! same proofs"; "Certificates: a new certificate (reusing step 3's generator) added beside
//! the old one"). The states, their order and the record are [`crate::rotation`]'s; what
//! differs from the secret by hand ([`super`]):
//!
//! - the tool makes the new certificate (step 3's generator), writes its .pfx beside the old
//!   one and a .cer for the portal, and keeps the .pfx password as the keychain's *next*
//!   one — all before the admin does anything, so the rotation reaches "stored as next"
//!   first and the admin's upload comes after it;
//! - the admin uploads the .cer in the Entra admin centre (App registrations > the app >
//!   Certificates & secrets > Certificates > Upload certificate; .cer, .pem or .crt,
//!   <https://learn.microsoft.com/entra/identity-platform/how-to-add-credentials>) and says
//!   "uploaded"; the proof then signs with the new certificate. Until Entra has it, the token
//!   endpoint answers AADSTS700027 ("Client assertion contains an invalid signature": the
//!   certificate is not uploaded to the app registration,
//!   <https://learn.microsoft.com/azure/developer/java/sdk/troubleshooting-authentication-service-principal>),
//!   which is **not** a reason to roll back: the admin uploads (or waits a minute) and proves
//!   again;
//! - the old certificate is deleted by the admin, named by its thumbprint and expiry (the
//!   portal's Certificates list shows both); a rollback tells the admin to delete the new one
//!   there if it was uploaded.

use chrono::{DateTime, Months, NaiveDate, Utc};

use super::{BY_HAND, ByHandError, ByHandPlan, description, expiry_bounds, expiry_from_months};
use crate::profile::{CredentialKind, Profile};
use crate::rotation::{
    self, CustomerApp, ResumeChoice, RotationError, RotationInProgress, RotationPlanStep,
    RotationState,
};
use crate::steps::credential;

/// The AADSTS code Entra answers while the new certificate is not on the app yet.
pub const NOT_UPLOADED_CODE: &str = "AADSTS700027";

/// The Entra admin centre's list where the app's certificates are uploaded and deleted.
pub fn portal_path(p: &Profile, app: CustomerApp) -> String {
    format!(
        "Entra admin centre > App registrations > All applications > (Application ID {}) > Certificates & secrets > Certificates",
        rotation::client_id_of(p, app).trim()
    )
}

/// Whether a failed proof means "Entra does not have the new certificate (yet)": the admin
/// has not uploaded it, uploaded another file, or the upload has not reached the token
/// service. Retry, never roll back, on it.
pub fn is_not_uploaded(why: &str) -> bool {
    why.contains(NOT_UPLOADED_CODE)
}

/// The new certificate's lifetime in whole months for an expiry the admin chose: the most
/// months from `today` that end on or before `expires_on` (at least 1). Refused as step 3
/// refuses a typed expiry (tomorrow to [`rotation::MAX_MONTHS`] months).
pub fn months_until(today: NaiveDate, expires_on: NaiveDate) -> Result<u32, ByHandError> {
    credential::check_secret_expiry(expires_on, today).map_err(ByHandError::Expiry)?;
    Ok((1..=rotation::MAX_MONTHS)
        .rev()
        .find(|m| {
            today
                .checked_add_months(Months::new(*m))
                .is_some_and(|d| d <= expires_on)
        })
        .unwrap_or(1))
}

fn thumb_words(thumb: Option<&str>, expires: Option<NaiveDate>) -> String {
    let t = thumb.unwrap_or("(not recorded)");
    match expires {
        Some(d) => format!("thumbprint {t}, expires {d}"),
        None => format!("thumbprint {t}"),
    }
}

fn cer_of(r: &RotationInProgress) -> String {
    r.new_certificate_file
        .as_deref()
        .map(|f| {
            std::path::Path::new(f)
                .with_extension("cer")
                .display()
                .to_string()
        })
        .unwrap_or_else(|| "the new .cer (written when the rotation starts)".into())
}

/// The by-hand checklist for a certificate, in the safe order, each step with what going
/// back from it means.
pub fn checklist(p: &Profile, app: CustomerApp, today: NaiveDate) -> Vec<RotationPlanStep> {
    let c = p.credential_of(app);
    let portal = portal_path(p, app);
    let old = thumb_words(c.thumbprint.as_deref(), c.expires_on);
    let halo = rotation::halo_rows(p, app)
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
            RotationState::StoredAsNext,
            "Entra Onboard makes a new self-signed certificate as step 3 does, writes its password-protected .pfx beside the old one and a .cer for the portal, and keeps the .pfx password in the keychain as the NEXT one (the current certificate stays)".into(),
            "the new .pfx, .cer and the next password are deleted; nothing changed in Entra",
        ),
        step(
            RotationState::StoredAsNext,
            format!(
                "{portal}: Upload certificate, pick the new .cer, description \"{}\", Add. Leave the old certificate ({old}) alone. Then say \"uploaded\".",
                description(today)
            ),
            "delete the new certificate in the same list if you uploaded it; the new files and password are deleted",
        ),
        step(
            RotationState::Proven,
            format!(
                "Entra Onboard proves it: a test sign-in in the browser whose code is redeemed with a client assertion the new certificate signs, and an app-only token with it. Until Entra has the upload it answers {NOT_UPLOADED_CODE} (the key was not found): upload it, wait a minute and prove again; nothing is rolled back for that."
            ),
            "delete the new certificate in the portal",
        ),
        step(
            RotationState::WaitingForHalo,
            format!(
                "In Halo: {halo}. The new .pfx password is copied for you (cleared after 60 s). Then say \"Halo is updated\"."
            ),
            "point Halo's connection back at the old certificate; delete the new one in the portal",
        ),
        step(
            RotationState::ProvenAgain,
            "Entra Onboard proves the new certificate again.".into(),
            "point Halo back at the old certificate; delete the new one in the portal",
        ),
        step(
            RotationState::OldRemoved,
            format!("{portal}: delete the OLD certificate ({old}). Keep the new one."),
            "nothing to roll back: Halo uses the new certificate",
        ),
        step(
            RotationState::Recorded,
            "Entra Onboard makes the new .pfx and its password current, updates the expiry and the reminder, and records the rotation (old and new thumbprints, \"by hand\"; never a key or password).".into(),
            "nothing to roll back",
        ),
    ]
}

/// What the by-hand panel and `rotate --by-hand --dry-run` show for a certificate.
pub fn plan(p: &Profile, app: CustomerApp, today: NaiveDate) -> ByHandPlan {
    let (earliest_expiry, latest_expiry) = expiry_bounds(today);
    ByHandPlan {
        app,
        kind: CredentialKind::Certificate,
        portal: portal_path(p, app),
        description: description(today),
        steps: checklist(p, app, today),
        halo: rotation::halo_rows(p, app),
        earliest_expiry,
        latest_expiry,
        default_expiry: expiry_from_months(today, rotation::DEFAULT_MONTHS),
    }
}

/// A by-hand certificate rotation of `p`'s `app`, planned at `now`: nothing made yet. The
/// engine fills in the new thumbprint, expiry and .pfx path before it writes a file.
pub fn start(
    p: &Profile,
    app: CustomerApp,
    id: String,
    now: DateTime<Utc>,
    who: Option<String>,
) -> Result<RotationInProgress, RotationError> {
    rotation::check_start(p, app)?;
    if p.credential_of(app).kind != CredentialKind::Certificate {
        return Err(RotationError::Kind(
            "this app's credential is not a certificate; rotate --by-hand pastes a new secret instead".into(),
        ));
    }
    let mut r = rotation::start(p, app, id, now)?;
    r.by_hand = true;
    r.signed_in_as = Some(who.unwrap_or_else(|| BY_HAND.into()));
    Ok(r)
}

/// The admin's upload: which file, where, and what to leave alone.
pub fn upload_instruction(p: &Profile, r: &RotationInProgress) -> String {
    format!(
        "In {}: Upload certificate, pick {} (description \"{}\"), Add. Keep the old certificate ({}). Then say \"uploaded\".",
        portal_path(p, r.app),
        cer_of(r),
        description(r.started_at.date_naive()),
        thumb_words(r.old_thumbprint.as_deref(), r.old_expires_on),
    )
}

/// The proof failed because Entra does not have the new certificate yet: what to do.
pub fn not_uploaded_fix(p: &Profile, r: &RotationInProgress) -> String {
    format!(
        "Nothing was rolled back. Upload {} in {} (Upload certificate; the new one shows thumbprint {}), wait a minute for Entra to pick it up, then prove again (\"I uploaded it\" in the app, Enter, or entra-onboard rotate <profile> --finish).",
        cer_of(r),
        portal_path(p, r.app),
        r.new_thumbprint.as_deref().unwrap_or("(see the .cer)"),
    )
}

/// Deleting the old certificate in the portal: the admin's last step, after the second proof.
pub fn delete_old_instruction(p: &Profile, r: &RotationInProgress) -> String {
    format!(
        "In {}: delete the OLD certificate ({}). Keep the new one ({}).",
        portal_path(p, r.app),
        thumb_words(r.old_thumbprint.as_deref(), r.old_expires_on),
        thumb_words(r.new_thumbprint.as_deref(), r.new_expires_on),
    )
}

/// What a by-hand certificate rollback leaves to the admin (the tool deletes the new .pfx,
/// .cer and the next password itself).
pub fn rollback_handover(p: &Profile, r: &RotationInProgress) -> Vec<String> {
    let new = thumb_words(r.new_thumbprint.as_deref(), r.new_expires_on);
    let portal = portal_path(p, r.app);
    let mut out = Vec::new();
    match r.state {
        RotationState::OldRemoved | RotationState::Recorded => return out,
        // Not proven yet: the admin may or may not have uploaded it.
        RotationState::Planned | RotationState::NewAdded | RotationState::StoredAsNext => {
            out.push(format!(
                "If you uploaded the new certificate ({new}): delete it in {portal}. Leave the old one: it is still current."
            ))
        }
        _ => out.push(format!(
            "In {portal}: delete the NEW certificate ({new}). Leave the old one: it is still current."
        )),
    }
    if r.state >= RotationState::WaitingForHalo {
        out.push(format!(
            "If you already switched Halo to the new certificate, point its connection back at the old one ({}): it is still on the app and current.",
            r.old_thumbprint.as_deref().unwrap_or("the one step 3 shows")
        ));
    }
    out
}

/// What an interrupted by-hand certificate rotation offers.
pub fn resume(r: &RotationInProgress) -> ResumeChoice {
    let mut c = rotation::resume_of(r);
    match r.state {
        RotationState::Planned | RotationState::NewAdded => {
            c.can_finish = false;
            c.state_label = "new certificate being written".into();
            c.advice = "The new .pfx may be half written and its password not stored: roll back (nothing changed in Entra unless you uploaded it), then rotate again.".into();
        }
        RotationState::StoredAsNext => {
            c.state_label = "waiting for the new .cer to be uploaded in the portal".into();
            c.advice = "The new .pfx and .cer are beside the old ones. Upload the .cer in the portal, then finish (\"I uploaded it\") to prove it — or roll back.".into();
        }
        RotationState::ProvenAgain | RotationState::WaitingForHalo => {
            c.advice = "The new certificate may already be in Halo. Finish once Halo uses it (you then delete the old one in the portal), or roll back, point Halo back at the old one and delete the new one in the portal.".into();
        }
        _ => {}
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::CredentialMeta;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn profile() -> Profile {
        Profile {
            id: "0b6f3c9e-1a2b-4c3d-8e9f-0a1b2c3d4e5f".into(),
            client_id: "22222222-3333-4444-5555-666666666666".into(),
            credential: CredentialMeta {
                kind: CredentialKind::Certificate,
                thumbprint: Some("AA11".into()),
                certificate_file: Some("/certs/Acme.pfx".into()),
                expires_on: NaiveDate::from_ymd_opt(2026, 12, 1),
                ..CredentialMeta::default()
            },
            ..Profile::new("Acme")
        }
    }

    fn started() -> RotationInProgress {
        let mut r = start(
            &profile(),
            CustomerApp::Main,
            "r1".into(),
            t("2026-11-30T10:00:00Z"),
            None,
        )
        .unwrap();
        r.new_thumbprint = Some("CC33".into());
        r.new_expires_on = Some(date(2027, 11, 30));
        r.new_certificate_file = Some("/certs/Acme-r1.pfx".into());
        r
    }

    #[test]
    fn a_certificate_starts_by_hand_and_a_secret_does_not() {
        let r = started();
        assert!(r.by_hand);
        assert_eq!(r.kind, CredentialKind::Certificate);
        assert_eq!(r.state, RotationState::Planned);
        assert_eq!(r.signed_in_as.as_deref(), Some(BY_HAND));
        assert_eq!(r.old_thumbprint.as_deref(), Some("AA11"));
        let mut p = profile();
        p.credential.kind = CredentialKind::Secret;
        assert_eq!(
            start(&p, CustomerApp::Main, "r".into(), Utc::now(), None)
                .unwrap_err()
                .code(),
            "rotate.kind"
        );
        let mut busy = profile();
        busy.rotation = Some(r);
        assert_eq!(
            start(&busy, CustomerApp::Main, "r".into(), Utc::now(), None)
                .unwrap_err()
                .code(),
            "rotate.in_progress"
        );
    }

    #[test]
    fn the_expiry_becomes_whole_months_and_is_bounded() {
        let today = date(2026, 11, 30);
        assert_eq!(months_until(today, date(2027, 11, 30)).unwrap(), 12);
        assert_eq!(months_until(today, date(2027, 12, 15)).unwrap(), 12);
        assert_eq!(months_until(today, date(2026, 12, 10)).unwrap(), 1);
        assert_eq!(months_until(today, date(2028, 11, 30)).unwrap(), 24);
        assert_eq!(
            months_until(today, today).unwrap_err().code(),
            "secret.expiry_past"
        );
        assert_eq!(
            months_until(today, date(2029, 1, 1)).unwrap_err().code(),
            "secret.expiry_too_far"
        );
    }

    #[test]
    fn the_checklist_uploads_the_cer_in_the_certificates_list_and_never_speaks_of_a_secret() {
        let plan = plan(&profile(), CustomerApp::Main, date(2026, 11, 30));
        assert_eq!(plan.kind, CredentialKind::Certificate);
        assert!(
            plan.portal
                .ends_with("Certificates & secrets > Certificates")
        );
        assert!(plan.steps[1].what.contains("Upload certificate"));
        assert!(
            plan.steps[1]
                .what
                .contains("thumbprint AA11, expires 2026-12-01")
        );
        assert!(plan.steps[2].what.contains("AADSTS700027"));
        assert!(plan.steps[5].what.contains("delete the OLD certificate"));
        for s in &plan.steps {
            assert!(!s.what.contains("client secret"), "{}", s.what);
        }
        assert!(plan.halo.iter().any(|h| h.setting == "Password"));
    }

    #[test]
    fn instructions_name_the_cer_and_the_thumbprints() {
        let p = profile();
        let mut r = started();
        let u = upload_instruction(&p, &r);
        assert!(u.contains("/certs/Acme-r1.cer"), "{u}");
        assert!(u.contains("Keep the old certificate (thumbprint AA11"));
        assert!(not_uploaded_fix(&p, &r).contains("Nothing was rolled back"));
        r.state = RotationState::StoredAsNext;
        let h = rollback_handover(&p, &r);
        assert_eq!(h.len(), 1);
        assert!(h[0].starts_with("If you uploaded the new certificate (thumbprint CC33"));
        r.state = RotationState::WaitingForHalo;
        let h = rollback_handover(&p, &r);
        assert!(h[0].contains("delete the NEW certificate (thumbprint CC33, expires 2027-11-30)"));
        assert!(h[1].contains("point its connection back at the old one (AA11)"));
        r.state = RotationState::OldRemoved;
        assert!(rollback_handover(&p, &r).is_empty());
        let d = delete_old_instruction(&p, &r);
        assert!(
            d.contains("delete the OLD certificate (thumbprint AA11, expires 2026-12-01)"),
            "{d}"
        );
        assert!(d.contains("Keep the new one (thumbprint CC33"));
    }

    #[test]
    fn resume_waits_for_the_upload_and_not_uploaded_is_recognised() {
        let mut r = started();
        assert!(!resume(&r).can_finish, "planned: files may be half written");
        assert!(resume(&r).can_roll_back);
        r.state = RotationState::StoredAsNext;
        let c = resume(&r);
        assert!(c.can_finish && c.can_roll_back);
        assert!(c.advice.contains("Upload the .cer"));
        r.state = RotationState::OldRemoved;
        assert!(!resume(&r).can_roll_back);
        assert!(is_not_uploaded(
            "The certificate … [Reason - The key was not found.] (AADSTS700027). Upload …"
        ));
        assert!(!is_not_uploaded(
            "the test sign-in did not finish (loopback.timeout)"
        ));
    }
}
