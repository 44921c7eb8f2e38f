//! Rotating a **certificate** (issue 15): the plan's words, Halo's rows and the claims of
//! the proof of possession. The states, rollback rules and record are the secret's
//! ([`super`]); only what is added and removed differs.
//!
//! Graph adds a certificate beside the old one with `addKey` and removes the old one with
//! `removeKey`; both need a *proof of possession*: a JWT signed with the private key of one
//! of the app's existing, valid certificates — here the current one, whose .pfx and
//! password this program holds. Update application (PATCH `keyCredentials`) would have to
//! resend the whole collection, and an app with no valid certificate left cannot use
//! `addKey` at all (the admin then creates a new one in step 3 instead).
//!
//! Sources:
//! - <https://learn.microsoft.com/graph/api/application-addkey?view=graph-rest-1.0>: body
//!   `keyCredential` (`type` `AsymmetricX509Cert`, `usage` `Verify`, `key` the base64 DER),
//!   `passwordCredential` null, `proof`; answers `200 OK` with the new keyCredential.
//! - <https://learn.microsoft.com/graph/api/application-removekey?view=graph-rest-1.0>: body
//!   `keyId`, `proof`; answers `204 No Content`.
//! - <https://learn.microsoft.com/graph/application-rollkey-prooftoken>: the proof's claims
//!   `aud` `00000003-0000-0000-c000-000000000000` (Microsoft Graph's appId; older versions
//!   of the page said `00000002-…`, Azure AD Graph's), `iss` the application's object id
//!   (not its appId), `nbf`, and `exp` = `nbf` + 10 minutes at most; signed by the
//!   certificate (the sample's X509SigningCredentials puts its `x5t` in the header).
//! - The tenant's app-management policy caps a certificate's lifetime with the
//!   `asymmetricKeyLifetime` restriction of `keyCredentials`:
//!   <https://learn.microsoft.com/graph/api/resources/keycredentialconfiguration>.

use serde_json::{Value, json};

use super::{RotationInProgress, RotationPlanStep, RotationState, rollback_steps};
use crate::profile::{CredentialMeta, CustomerApp, Profile};
use crate::steps::sso::{CERTIFICATES_SCREEN, CONNECTION_SCREEN, SettingRow};

/// The proof's audience: Microsoft Graph's appId (rollkey-prooftoken).
pub const PROOF_AUDIENCE: &str = "00000003-0000-0000-c000-000000000000";
/// The proof's lifetime: "Expiration time should be nbf + 10 mins".
pub const PROOF_LIFETIME_SECS: i64 = 600;

/// The claims of a proof of possession for the application object `object_id`, valid from
/// `now` (seconds since the epoch) for [`PROOF_LIFETIME_SECS`].
pub fn proof_claims(object_id: &str, now: i64) -> Value {
    json!({
        "aud": PROOF_AUDIENCE,
        "iss": object_id,
        "nbf": now,
        "exp": now + PROOF_LIFETIME_SECS,
    })
}

/// What an interrupted rotation `r` offers ([`super::resume`]), in the words of its kind:
/// a certificate's states and advice speak of the certificate and its .pfx.
pub fn resume_of(r: &RotationInProgress) -> super::ResumeChoice {
    let mut c = super::resume(r.state);
    if r.kind != crate::profile::CredentialKind::Certificate {
        return c;
    }
    let (label, advice) = match r.state {
        RotationState::Planned | RotationState::NewAdded => (
            "new certificate added in Entra beside the old one",
            "The new certificate's .pfx was never stored, so it cannot be used: roll back to remove it from Entra, then rotate again.",
        ),
        RotationState::StoredAsNext | RotationState::Proven => (
            "new certificate stored as the next one",
            "The new certificate is in Entra and its .pfx beside the old one; Halo still uses the old one. Finish to prove it and upload it to Halo, or roll back.",
        ),
        RotationState::WaitingForHalo | RotationState::ProvenAgain => (
            "waiting for Halo to use the new certificate",
            "The new certificate may already be in Halo. Finish once Halo uses it (the old one is then removed), or roll back and point Halo back at the old one.",
        ),
        RotationState::OldRemoved => (
            "old certificate removed; the new one is current",
            "The old certificate is already removed from Entra: finish to make the new one current and record it.",
        ),
        RotationState::Recorded => ("done and recorded", "Nothing left to do."),
    };
    c.state_label = label.into();
    c.advice = advice.into();
    c
}

fn rollback_words(state: RotationState) -> String {
    if state == RotationState::Planned {
        return "nothing was sent yet (a certificate added just before a crash is found by its thumbprint, recorded before the request, and removed)".into();
    }
    let steps = rollback_steps(state);
    if steps.is_empty() {
        return "nothing to roll back: the old certificate is gone, so the rotation is finished instead".into();
    }
    steps
        .iter()
        .map(|s| match s {
            super::RollbackStep::RemoveNewFromEntra => {
                "remove the new certificate from Entra by its key ID (removeKey, proven with the old certificate)"
            }
            super::RollbackStep::DeleteNextFromKeychain => {
                "delete the new .pfx and its password from the keychain"
            }
            super::RollbackStep::RestoreOldInHalo => {
                "point Halo's connection back at the old certificate"
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The certificate rotation's steps, for a new certificate valid `months`.
pub(super) fn plan_steps(months: u32) -> Vec<RotationPlanStep> {
    let step = |reaches: RotationState, what: &str| RotationPlanStep {
        reaches,
        what: what.into(),
        rollback: rollback_words(reaches),
    };
    vec![
        step(
            RotationState::Planned,
            "Sign in to Microsoft Graph once; read the app, find the current certificate by its thumbprint, read the tenant's app-management policy (the longest certificate lifetime allowed); make a new self-signed RSA certificate as step 3 does",
        ),
        RotationPlanStep {
            reaches: RotationState::NewAdded,
            what: format!(
                "Add the new certificate beside the old one ({months} months, or less when the policy caps it) with Graph's addKey, proven with the current certificate's key; both sign in from now on"
            ),
            rollback: rollback_words(RotationState::NewAdded),
        },
        step(
            RotationState::StoredAsNext,
            "Write the new password-protected .pfx beside the old one and keep its password in the keychain as the NEXT one; the current certificate stays",
        ),
        step(
            RotationState::Proven,
            "Prove the new certificate: an app-only token from Entra with a client assertion it signs",
        ),
        step(
            RotationState::WaitingForHalo,
            "Upload the new .pfx in Halo (its password is copied for you), point the connection at it, save, and say \"Halo is updated\"",
        ),
        step(
            RotationState::ProvenAgain,
            "Prove the new certificate again",
        ),
        step(
            RotationState::OldRemoved,
            "Remove the old certificate from Entra by its key ID (removeKey, proven with the new certificate); the new one becomes current",
        ),
        step(
            RotationState::Recorded,
            "Update the expiry and the reminder; record the rotation (date, who signed in, old and new thumbprints — never a key or password)",
        ),
    ]
}

/// The Graph requests a certificate rotation sends.
pub(super) fn requests() -> Vec<String> {
    vec![
        "GET /applications?$filter=appId eq '<client id>'".into(),
        "GET /policies/defaultAppManagementPolicy".into(),
        "GET /applications/<object id>/appManagementPolicies".into(),
        "POST /applications/<object id>/addKey {keyCredential, passwordCredential: null, proof}"
            .into(),
        "POST /applications/<object id>/removeKey {keyId: <old key ID>, proof}".into(),
    ]
}

fn file_name(path: Option<&str>) -> Option<String> {
    path.and_then(|f| std::path::Path::new(f).file_name())
        .map(|n| n.to_string_lossy().into_owned())
}

/// Where the new certificate goes in Halo: uploaded as a new entry beside the old one
/// (Halo asks for the .pfx password on upload), then the connection pointed at it. The
/// new file and thumbprint are the rotation's, once it has them.
pub(super) fn halo_rows(p: &Profile, app: CustomerApp) -> Vec<SettingRow> {
    let r = p.rotation.as_ref().filter(|r| r.app == app);
    let row = |screen: &str, setting: &str, value: String, note: &str| SettingRow {
        screen: screen.into(),
        setting: setting.into(),
        value,
        note: Some(note.into()),
        stored: None,
    };
    let pfx = file_name(r.and_then(|r| r.new_certificate_file.as_deref()))
        .unwrap_or_else(|| "the NEW .pfx (written when the rotation reaches this step)".into());
    let thumbprint = r
        .and_then(|r| r.new_thumbprint.clone())
        .unwrap_or_else(|| "the NEW certificate's SHA-1 thumbprint".into());
    let expiry = r
        .and_then(|r| r.new_expires_on)
        .map(|d| format!(" until {d}"))
        .unwrap_or_default();
    let which = match app {
        CustomerApp::Main => "",
        CustomerApp::PartnerCenter => " Partner Center",
    };
    let mut rows = vec![
        row(
            CERTIFICATES_SCREEN,
            "Name",
            format!("{}{which} (Entra){expiry}", p.name.trim()),
            "A NEW entry beside the old one: the old certificate keeps Halo working until the switch below.",
        ),
        row(
            CERTIFICATES_SCREEN,
            "Certificate file (.pfx)",
            pfx,
            "Upload the new .pfx the rotation wrote beside the old one.",
        ),
        row(
            CERTIFICATES_SCREEN,
            "Password",
            "the NEW .pfx password (\"Copy the new .pfx password\" copies it)".into(),
            "Asked when the .pfx is uploaded. Copied from the keychain; the clipboard is cleared after 60 seconds.",
        ),
    ];
    match app {
        CustomerApp::Main => {
            rows.push(row(
                CONNECTION_SCREEN,
                "Certificate",
                thumbprint,
                "Pick the new certificate (Halo and Entra show this SHA-1 thumbprint), then Save.",
            ));
            if let Some((button, _)) = crate::steps::halo_screens::connect_button(p) {
                rows.push(row(
                    CONNECTION_SCREEN,
                    button,
                    "Press it again after saving".into(),
                    "Halo re-authorises with the new certificate.",
                ));
            }
        }
        CustomerApp::PartnerCenter => {
            const CSP_DETAILS: &str = "Configuration > Integrations > Microsoft CSP > Details";
            rows.push(row(
                CSP_DETAILS,
                "Azure Application for Microsoft Partner Center: Certificate",
                thumbprint,
                "Pick the new certificate, then Save.",
            ));
            rows.push(row(
                CSP_DETAILS,
                "Authorize Application",
                "Press it again after saving".into(),
                "As a Partner Center user with GDAP and strong MFA (the CSP guide).",
            ));
        }
    }
    rows
}

/// Makes the rotation's new certificate the app's current one in the profile: thumbprint,
/// expiry, .pfx. The engine then records the rest it reads from the certificate (SHA-256
/// thumbprint, subject, key size); until it does, those of the old one are cleared rather
/// than left describing another certificate.
pub(super) fn make_current(c: &mut CredentialMeta, r: &RotationInProgress) {
    c.thumbprint = r.new_thumbprint.clone();
    c.expires_on = r.new_expires_on;
    if r.new_certificate_file.is_some() {
        c.certificate_file = r.new_certificate_file.clone();
    }
    c.thumbprint_sha256 = None;
    c.certificate_subject = None;
    c.key_bits = None;
}

#[cfg(test)]
mod tests {
    use super::super::*;
    use crate::profile::{CredentialKind, CredentialMeta};
    use chrono::{DateTime, NaiveDate, Utc};

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn cert_profile() -> Profile {
        Profile {
            id: "0b6f3c9e-1a2b-4c3d-8e9f-0a1b2c3d4e5f".into(),
            client_id: "11111111-2222-3333-4444-555555555555".into(),
            credential: CredentialMeta {
                kind: CredentialKind::Certificate,
                thumbprint: Some("AA11".into()),
                thumbprint_sha256: Some("BB22".into()),
                certificate_subject: Some("CN=old".into()),
                key_bits: Some(2048),
                certificate_file: Some("/certs/Acme-2026-12-01.pfx".into()),
                expires_on: NaiveDate::from_ymd_opt(2026, 12, 1),
                ..CredentialMeta::default()
            },
            ..Profile::new("Acme")
        }
    }

    #[test]
    fn a_certificate_starts_and_its_plan_uses_add_key_with_a_proof() {
        let p = cert_profile();
        check_start(&p, CustomerApp::Main).unwrap();
        let plan = plan(&p, CustomerApp::Main, 12);
        assert_eq!(plan.kind, CredentialKind::Certificate);
        assert_eq!(plan.current, "certificate AA11, expires 2026-12-01");
        assert_eq!(plan.steps.len(), RotationState::ALL.len());
        assert!(plan.steps[1].what.contains("addKey"));
        assert!(plan.requests.iter().any(|r| r.contains("/addKey")));
        assert!(plan.requests.iter().any(|r| r.contains("/removeKey")));
        assert!(!plan.requests.iter().any(|r| r.contains("Password")));
        // Every rollback speaks of the certificate, never of a secret.
        for s in &plan.steps {
            assert!(!s.rollback.contains("secret"), "{}", s.rollback);
        }
        assert!(plan.steps[4].rollback.contains("old certificate"));
        assert!(plan.steps[6].rollback.contains("nothing to roll back"));
        // Halo: a new entry under Certificates, its password copied, the connection switched.
        let pw = plan.halo.iter().find(|r| r.setting == "Password").unwrap();
        assert!(pw.screen.ends_with("Certificates"));
        assert!(pw.value.contains("NEW"));
        assert!(
            pw.stored.is_none(),
            "never the current password's copy button"
        );
        assert!(plan.halo.iter().any(|r| r.setting == "Certificate"));
    }

    #[test]
    fn a_certificate_without_a_thumbprint_cannot_be_found_so_it_does_not_start() {
        let mut p = cert_profile();
        p.credential.thumbprint = None;
        assert_eq!(
            check_start(&p, CustomerApp::Main).unwrap_err().code(),
            "rotate.kind"
        );
    }

    #[test]
    fn halo_shows_the_new_file_and_thumbprint_once_the_rotation_has_them() {
        let mut p = cert_profile();
        let mut r = start(
            &p,
            CustomerApp::Main,
            "r1".into(),
            t("2026-01-10T00:00:00Z"),
        )
        .unwrap();
        assert_eq!(r.old_thumbprint.as_deref(), Some("AA11"));
        r.new_thumbprint = Some("CC33".into());
        r.new_certificate_file = Some("/certs/Acme-2027-01-10-r1.pfx".into());
        r.new_expires_on = NaiveDate::from_ymd_opt(2027, 1, 10);
        p.rotation = Some(r);
        let rows = halo_rows(&p, CustomerApp::Main);
        let file = rows.iter().find(|r| r.setting.contains(".pfx")).unwrap();
        assert_eq!(file.value, "Acme-2027-01-10-r1.pfx");
        let cert = rows.iter().find(|r| r.setting == "Certificate").unwrap();
        assert_eq!(cert.value, "CC33");
        assert!(rows[0].value.contains("2027-01-10"));
    }

    #[test]
    fn completing_makes_the_new_certificate_current_and_records_thumbprints_only() {
        let mut p = cert_profile();
        let mut r = start(
            &p,
            CustomerApp::Main,
            "r1".into(),
            t("2026-01-10T00:00:00Z"),
        )
        .unwrap();
        r.state = RotationState::OldRemoved;
        r.old_key_id = Some("old-key".into());
        r.new_key_id = Some("new-key".into());
        r.new_thumbprint = Some("CC33".into());
        r.new_certificate_file = Some("/certs/new.pfx".into());
        r.new_expires_on = NaiveDate::from_ymd_opt(2027, 1, 10);
        p.rotation = Some(r);
        // Saved and loaded halfway, the new file survives.
        let back = Profile::from_json(&p.to_json()).unwrap();
        assert_eq!(
            back.rotation.unwrap().new_certificate_file.as_deref(),
            Some("/certs/new.pfx")
        );
        complete(&mut p, t("2026-01-10T01:00:00Z"));
        assert_eq!(p.credential.thumbprint.as_deref(), Some("CC33"));
        assert_eq!(
            p.credential.certificate_file.as_deref(),
            Some("/certs/new.pfx")
        );
        assert_eq!(
            p.credential.expires_on,
            NaiveDate::from_ymd_opt(2027, 1, 10)
        );
        assert!(
            p.credential.thumbprint_sha256.is_none(),
            "the old one's is not kept"
        );
        let rec = p.rotations.last().unwrap();
        assert_eq!(rec.kind, CredentialKind::Certificate);
        assert_eq!(
            rec.old.as_deref(),
            Some("certificate AA11 (key ID old-key)")
        );
        assert_eq!(
            rec.new.as_deref(),
            Some("certificate CC33 (key ID new-key)")
        );
    }

    #[test]
    fn an_interrupted_certificate_rotation_speaks_of_the_certificate() {
        let p = cert_profile();
        let mut r = start(
            &p,
            CustomerApp::Main,
            "r1".into(),
            t("2026-01-10T00:00:00Z"),
        )
        .unwrap();
        for s in RotationState::ALL {
            r.state = s;
            let c = resume_of(&r);
            assert!(!c.advice.contains("secret"), "{s:?}: {}", c.advice);
            assert!(!c.state_label.contains("secret"), "{s:?}");
            assert_eq!(c.can_finish, resume(s).can_finish);
            assert_eq!(c.can_roll_back, resume(s).can_roll_back);
        }
    }

    #[test]
    fn the_proof_has_the_documented_claims() {
        let c = proof_claims("obj-1", 1_000);
        assert_eq!(c["aud"], PROOF_AUDIENCE);
        assert_eq!(c["iss"], "obj-1");
        assert_eq!(c["nbf"], 1_000);
        assert_eq!(c["exp"], 1_600);
    }

    #[test]
    fn the_partner_center_app_rotates_its_certificate_in_the_csp_screen() {
        let mut p = cert_profile();
        p.features.csp = true;
        p.partner_center.client_id = "22222222-3333-4444-5555-666666666666".into();
        p.partner_center.credential = p.credential.clone();
        check_start(&p, CustomerApp::PartnerCenter).unwrap();
        let rows = halo_rows(&p, CustomerApp::PartnerCenter);
        assert!(rows.iter().any(|r| r.screen.contains("Microsoft CSP")));
        assert!(rows[0].value.contains("Partner Center"));
    }
}
