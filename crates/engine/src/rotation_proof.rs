//! The proof a rotation makes of its new secret, before Halo is touched ("proven") and after
//! ("proven again") — one function for the Graph path ([`crate::graph::rotate`]) and the
//! by-hand one ([`crate::rotate_by_hand`]). Issue 15: "prove it (SSO test code redemption
//! and an app-only token with the new one)".
//!
//! For the connection's app it is the SSO test itself ([`crate::sso_test::run`]) with the
//! new secret as the credential: the browser signs in on the loopback, the authorization
//! code is redeemed with PKCE and the new secret (what Halo does at every sign-in), and an
//! app-only token is asked for with it (what Halo's import and CSP sync do). A public
//! sign-up app asks for no Graph permission, so its proof ends with the redemption, as its
//! SSO test does.
//!
//! A certificate rotation proves the new certificate the same way: the value handed to the
//! proof is then the new certificate's PEM bundle (see `graph::rotate::cert`), and the code
//! is redeemed with a client assertion signed by it.
//!
//! CSP's Partner Center app gets the app-only token only: its redirect URI is Halo's
//! (`<agent>/azure/auth`), so no authorization code can come back to this computer.
//!
//! A sign-in that does not finish (the browser closed, the admin cancelled, the timeout) is
//! a failed proof with that said; the rotation's rules then roll back.
//! Sources: <https://learn.microsoft.com/entra/identity-platform/v2-oauth2-auth-code-flow>
//! (redeeming the code with a client secret),
//! <https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow>.

use std::sync::Arc;

use crate::graph::rotate::{Prover, RotateError, prover_for};
use crate::ids::Sensitive;
use crate::oauth::ClientCredential;
use crate::profile::{CredentialKind, Profile};
use crate::sso_test::{self, CancellationToken, SsoReport, SsoTestOptions};
use entra_onboard_core::rotation::CustomerApp;

/// The error code of an SSO test whose browser never came back (see `loopback`).
const TIMEOUT_CODES: [&str; 2] = ["loopback.timeout", sso_test::CANCELLED_CODE];

/// The rotation's proof for `app` of `profile`: the SSO test with the new secret (code
/// redemption and the app-only token), or — for the Partner Center app — the app-only
/// token. `options` opens the browser (tests: the scripted one) and bounds the wait;
/// `cancel` stops a sign-in the admin gave up on.
pub fn prover(
    profile: &Profile,
    app: CustomerApp,
    options: SsoTestOptions,
    cancel: CancellationToken,
) -> Result<Prover, RotateError> {
    if app == CustomerApp::PartnerCenter {
        return prover_for(profile, app);
    }
    // Checked before anything is created: a profile the SSO test cannot run would fail
    // every proof, and the rotation would add a secret only to roll it back.
    prover_for(profile, app)?;
    let kind = match &profile.rotation {
        Some(r) => r.kind,
        None => profile.credential_of(app).kind,
    };
    let certificate = kind == CredentialKind::Certificate;
    let profile = profile.clone();
    Ok(Arc::new(move |value: Sensitive<String>| {
        let profile = profile.clone();
        let options = options.clone();
        let cancel = cancel.clone();
        Box::pin(async move {
            let (credential, what) = if certificate {
                // The bundle holds both PEM blocks: the certificate, and its key.
                let c = ClientCredential::certificate_from_pem(value.expose(), value.clone())
                    .map_err(|e| e.to_string())?;
                (c, "certificate")
            } else {
                (ClientCredential::Secret(value), "secret")
            };
            let report = sso_test::run(&profile, &credential, &options, &cancel)
                .await
                .map_err(|e| format!("the test sign-in could not start: {e}"))?;
            verdict(&report, what)
        })
    }))
}

/// Whether the SSO test `r` proved the secret. Missing application permissions
/// (`consent.no_roles`) still prove it: the code was redeemed and Entra issued the app-only
/// token with it; consent is step 4's business, not the secret's.
fn verdict(r: &SsoReport, what: &str) -> Result<String, String> {
    let passed = |id: &str| r.checks.iter().any(|c| c.id == id && c.ok);
    let who = r
        .claims
        .as_ref()
        .and_then(|c| c.preferred_username.clone())
        .map(|u| format!(" as {u}"))
        .unwrap_or_default();
    let token = if passed("consent")
        || r.error
            .as_ref()
            .is_some_and(|e| e.code == "consent.no_roles")
    {
        " and Entra issued an app-only token with it"
    } else {
        ""
    };
    match &r.error {
        None if r.ok => Ok(format!(
            "a test sign-in{who} was redeemed with the new {what}{token}"
        )),
        Some(e) if e.code == "consent.no_roles" && passed("credential") => Ok(format!(
            "a test sign-in{who} was redeemed with the new {what}{token} (it carries no application permissions yet: step 4)"
        )),
        Some(e) if TIMEOUT_CODES.contains(&e.code.as_str()) => Err(format!(
            "the test sign-in in the browser did not finish ({}): {} The new {what} was not proven",
            e.code, e.message
        )),
        Some(e) => Err(format!("{} ({}). {}", e.message, e.code, e.fix)),
        None => Err("the test sign-in did not pass".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sso_test::{Check, ReportError};

    fn report(checks: &[(&str, bool)], error: Option<&str>) -> SsoReport {
        SsoReport {
            ok: error.is_none() && checks.iter().all(|c| c.1),
            checks: checks
                .iter()
                .map(|(id, ok)| Check {
                    id: (*id).into(),
                    ok: *ok,
                    detail: String::new(),
                })
                .collect(),
            error: error.map(|code| ReportError {
                code: code.into(),
                message: format!("{code} happened."),
                fix: "Do the fix.".into(),
                step: None,
            }),
            ..SsoReport::default()
        }
    }

    #[test]
    fn the_verdict_needs_the_redemption_and_names_what_failed() {
        let ok = report(
            &[("callback", true), ("credential", true), ("consent", true)],
            None,
        );
        assert!(verdict(&ok, "secret").unwrap().contains("app-only token"));
        let no_roles = report(
            &[("credential", true), ("consent", false)],
            Some("consent.no_roles"),
        );
        assert!(verdict(&no_roles, "secret").unwrap().contains("step 4"));
        let bad = report(&[("credential", false)], Some("AADSTS7000215"));
        let e = verdict(&bad, "secret").unwrap_err();
        assert!(
            e.contains("AADSTS7000215") && e.contains("Do the fix"),
            "{e}"
        );
        for code in TIMEOUT_CODES {
            let e =
                verdict(&report(&[("callback", false)], Some(code)), "certificate").unwrap_err();
            assert!(e.contains("did not finish"), "{e}");
        }
    }
}
