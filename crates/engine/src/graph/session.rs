//! One signed-in Graph session for the desktop app: sign in once, then "Create it for me"
//! (apply), "Check a live registration" (doctor) and each one-click fix reuse the token,
//! so the admin is not sent to the browser for every button. The CLI signs in per command
//! (see `graph/cli.rs`).
//!
//! The Graph base URL follows the profile: the cloud's Graph host, or — when the profile's
//! login host is a loopback provider (the sandbox, tests) — that provider's `/v1.0`, so a
//! sandbox profile can never send a request to Microsoft.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::apply::{
    self, ApplyOptions, ApplyProgressFn, ApplyReport, CredentialRequest, SecretSink,
};
use super::doctor::{self, DoctorReport, FixAction};
use super::signin::{self, SigninOptions, SigninProgressFn};
use super::{GraphClient, GraphError, TokenSource};
use crate::ids::Sensitive;
use crate::keychain::Keychain;
use crate::profile::{CredentialKind, CustomerApp, Profile};
use crate::sso_test::CancellationToken;
use crate::target::Target;

/// Why a Graph action could not run (a failed *step* is in the report instead).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// The admin's sign-in failed.
    #[error(transparent)]
    Signin(#[from] signin::SigninError),
    /// The Graph client could not be set up.
    #[error(transparent)]
    Graph(#[from] GraphError),
    /// The profile is not ready.
    #[error(transparent)]
    Apply(#[from] apply::ApplyError),
    /// The doctor could not run.
    #[error(transparent)]
    Doctor(#[from] doctor::DoctorError),
    /// A new secret needs the keychain, and it is not available.
    #[error(transparent)]
    Keychain(#[from] crate::keychain::KeychainError),
    /// The profile has no id to store a new secret under.
    #[error("save the customer first: a new secret is stored in the keychain under its id")]
    NoProfileId,
}

impl SessionError {
    /// Stable code for the UI.
    pub fn code(&self) -> &'static str {
        match self {
            SessionError::Signin(e) => e.code(),
            SessionError::Graph(e) => e.code(),
            SessionError::Apply(e) => e.code(),
            SessionError::Doctor(e) => e.code(),
            SessionError::Keychain(e) => e.code(),
            SessionError::NoProfileId => "apply.no_profile_id",
        }
    }
}

/// The profile's target, or why it is refused (before any sign-in or request).
fn target(profile: &Profile) -> Result<Target, SessionError> {
    // The same refusal as the sign-in's (a public sign-up profile, a refused authority),
    // without checking step 1 again (each operation checks it once, issue 12).
    super::signin::workforce_target(profile).map_err(SessionError::Signin)
}

/// A signed-in admin and a Graph client carrying the token.
pub struct GraphSession {
    client: GraphClient,
    /// Who signed in (display only).
    pub user: Option<String>,
    /// Tenant of the token.
    pub tenant_id: Option<String>,
}

impl std::fmt::Debug for GraphSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GraphSession")
            .field("user", &self.user)
            .field("tenant_id", &self.tenant_id)
            .finish_non_exhaustive()
    }
}

impl GraphSession {
    /// Signs the admin in on the loopback (browser from Rust) with every scope the desktop's
    /// Graph buttons need, so one sign-in serves apply, doctor and fixes.
    pub async fn sign_in(
        profile: &Profile,
        progress: Option<SigninProgressFn>,
        cancel: &CancellationToken,
    ) -> Result<GraphSession, SessionError> {
        let options = SigninOptions {
            timeout: Duration::from_secs(300),
            progress,
            ..SigninOptions::default()
        };
        Self::sign_in_with(profile, options, cancel).await
    }

    /// [`GraphSession::sign_in`] with explicit options (another browser, a shorter wait).
    pub async fn sign_in_with(
        profile: &Profile,
        options: SigninOptions,
        cancel: &CancellationToken,
    ) -> Result<GraphSession, SessionError> {
        let mut scopes = signin::scopes_for_apply(true, true, true);
        for s in signin::scopes_for_doctor() {
            if !scopes.contains(&s) {
                scopes.push(s);
            }
        }
        let target = target(profile)?;
        let signed = signin::sign_in(profile, &scopes, &options, cancel).await?;
        let token: Arc<dyn TokenSource> = Arc::new(signed.token);
        Ok(GraphSession {
            client: GraphClient::new(&target, token)?,
            user: signed.user,
            tenant_id: signed.tenant_id,
        })
    }

    /// A session from a token already held (tests, the sandbox).
    pub fn with_token(
        profile: &Profile,
        token: Sensitive<String>,
    ) -> Result<GraphSession, SessionError> {
        let target = target(profile)?;
        let token: Arc<dyn TokenSource> = Arc::new(super::StaticToken::new(token));
        Ok(GraphSession {
            client: GraphClient::new(&target, token)?,
            user: None,
            tenant_id: None,
        })
    }

    /// The client (for the request log).
    pub fn client(&self) -> &GraphClient {
        &self.client
    }
}

/// What "Create it for me" should do, as the UI asks for it.
#[derive(Debug, Clone, Deserialize, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct ApplyRequest {
    /// Add a client secret (stored straight into the keychain).
    pub add_secret: bool,
    /// Its lifetime in months (at most 24; shortened to the tenant policy's cap).
    pub secret_months: u32,
    /// Grant admin consent where the signed-in role allows.
    pub grant_consent: bool,
    /// Remove the wizard's loopback test URI (after onboarding).
    pub remove_wizard_uri: bool,
    /// Only list the requests; send no write.
    pub dry_run: bool,
}

fn secret_sink(
    keychain: Option<&Keychain>,
    profile: &Profile,
) -> Result<Option<SecretSink>, SessionError> {
    app_secret_sink(keychain, profile, CustomerApp::Main)
}

/// The keychain entry of `app`'s secret as a sink: the Partner Center app's secret goes to
/// its own entry, never over the main app's.
fn app_secret_sink(
    keychain: Option<&Keychain>,
    profile: &Profile,
    app: CustomerApp,
) -> Result<Option<SecretSink>, SessionError> {
    let Some(kc) = keychain else { return Ok(None) };
    let id = crate::vault::profile_key(profile).map_err(|_| SessionError::NoProfileId)?;
    let kc = kc.clone();
    Ok(Some(Box::new(move |s: &Sensitive<String>| {
        kc.set_app_secret(&id, app, s).map_err(|e| e.to_string())
    })))
}

/// Progress of the Partner Center app's run, told apart from the main app's.
fn partner_center_progress(progress: Option<ApplyProgressFn>) -> Option<ApplyProgressFn> {
    progress.map(|inner| -> ApplyProgressFn {
        std::sync::Arc::new(move |s: &super::apply::ApplyStep| {
            let mut s = s.clone();
            s.id = format!("partner_center.{}", s.id);
            s.label = format!("Partner Center app: {}", s.label);
            inner(&s)
        })
    })
}

/// CSP: creates or repairs the Partner Center app after the main one, with its own secret
/// (when one is asked for and it does not use a certificate) in its own keychain entry,
/// records it in `profile`, and nests its report in `report`.
pub async fn apply_partner_center_for(
    session: &GraphSession,
    profile: &mut Profile,
    options: &ApplyOptions,
    keychain: Option<&Keychain>,
    progress: Option<ApplyProgressFn>,
    report: &mut ApplyReport,
) -> Result<(), SessionError> {
    if !profile.features.csp {
        return Ok(());
    }
    let mut options = options.clone();
    let (credential, cert_note) = partner_center_credential(profile, keychain, &options.credential);
    options.credential = credential;
    // The main app's redirect fixes name the main app's URIs.
    options.remove_redirect_uris.clear();
    options.remove_wizard_uri = false;
    let wants_secret = matches!(options.credential, CredentialRequest::Secret { .. });
    let sink = if wants_secret && !options.dry_run {
        app_secret_sink(keychain, profile, CustomerApp::PartnerCenter)?
    } else {
        None
    };
    let progress = partner_center_progress(progress);
    let pc = match apply::apply_partner_center(profile, &session.client, &options, progress, sink)
        .await
    {
        Ok(r) => r,
        Err(e) => apply::not_started(&e, options.dry_run),
    };
    let mut pc = pc;
    pc.exists.extend(cert_note);
    apply::update_partner_center(profile, &pc);
    report.ok &= pc.ok;
    report.partner_center = Some(Box::new(pc));
    Ok(())
}

/// What `apply` adds to CSP's Partner Center app, given what the main app asked for
/// (`main`): a Partner Center app on a certificate gets *its own* certificate uploaded (read
/// back from its .pfx and keychain entry; never the main app's, and never a secret beside
/// it unasked); otherwise it gets a secret of its own when the main app asked for one. The
/// note says why a certificate could not be uploaded.
pub fn partner_center_credential(
    profile: &Profile,
    keychain: Option<&Keychain>,
    main: &CredentialRequest,
) -> (CredentialRequest, Option<String>) {
    if profile.partner_center.credential.kind == CredentialKind::Certificate {
        if profile.partner_center.credential.certificate_file.is_none() {
            return (
                CredentialRequest::None,
                Some("The Partner Center app is set to use a certificate, but none was created or imported yet: entra-onboard cert new --app partner-center (or import one), then apply again.".into()),
            );
        }
        let Some(kc) = keychain else {
            return (
                CredentialRequest::None,
                Some("The Partner Center app's certificate was not uploaded: its password is read from the OS keychain, which this run did not open.".into()),
            );
        };
        return match crate::vault::stored_certificate(kc, profile, CustomerApp::PartnerCenter) {
            Ok(c) => (
                CredentialRequest::Certificate {
                    cert_der: c.cert_der.clone(),
                },
                None,
            ),
            Err(e) => (
                CredentialRequest::None,
                Some(format!(
                    "The Partner Center app's certificate was not uploaded: {e}"
                )),
            ),
        };
    }
    match main {
        CredentialRequest::Secret { months, force } => (
            CredentialRequest::Secret {
                months: *months,
                force: *force,
            },
            None,
        ),
        _ => (CredentialRequest::None, None),
    }
}

/// "Create it for me": create or repair the registration, then record the client id and
/// any new credential in `profile`. A new secret goes to `keychain` and nowhere else.
pub async fn apply_for(
    session: &GraphSession,
    profile: &mut Profile,
    request: &ApplyRequest,
    keychain: Option<&Keychain>,
    progress: Option<ApplyProgressFn>,
) -> Result<ApplyReport, SessionError> {
    // A customer on Halo's federated credential gets that one (its step 3 values) instead
    // of a secret: a secret would replace the credential Halo is set up for.
    let federated = profile.credential.kind == crate::profile::CredentialKind::Federated;
    let credential = if federated {
        apply::federated_request(profile)?
    } else if request.add_secret {
        CredentialRequest::Secret {
            months: request.secret_months.clamp(1, 24),
            force: false,
        }
    } else {
        CredentialRequest::None
    };
    let add_secret = request.add_secret && !federated;
    let options = ApplyOptions {
        credential,
        grant_consent: request.grant_consent,
        remove_wizard_uri: request.remove_wizard_uri,
        dry_run: request.dry_run,
        ..ApplyOptions::default()
    };
    let sink = if add_secret && !request.dry_run {
        secret_sink(keychain, profile)?
    } else {
        None
    };
    if add_secret && !request.dry_run && sink.is_none() {
        return Err(SessionError::Keychain(
            crate::keychain::KeychainError::Unavailable {
                guidance: crate::keychain::guidance().to_string(),
            },
        ));
    }
    let mut report =
        apply::apply(profile, &session.client, &options, progress.clone(), sink).await?;
    apply::update_profile(profile, &report);
    apply_partner_center_for(session, profile, &options, keychain, progress, &mut report).await?;
    Ok(report)
}

/// Whether "Create it for me" goes straight on to the SSO test, so that one click takes a
/// customer with no registration to a proven sign-in. It does when the run wrote (not a
/// dry run), ended well, the customer had no client ID before it (the registration did not
/// exist for the wizard: [`entra_onboard_core::steps::basics::registration_missing`]) and
/// has one now, and a credential the test can use is recorded: a secret stored (by this
/// run or before) or a certificate. Repairing an existing registration does not start a
/// test of its own: the admin chose "Create it for me" to fix something, not to sign in.
pub fn test_follows_apply(before: &Profile, report: &ApplyReport, after: &Profile) -> bool {
    use crate::profile::CredentialKind;
    let usable = match after.credential.kind {
        CredentialKind::Secret => after.credential.secret_hint.is_some(),
        CredentialKind::Certificate => after.credential.thumbprint.is_some(),
        _ => false,
    };
    report.ok
        && !report.dry_run
        && entra_onboard_core::steps::basics::registration_missing(before)
        && !entra_onboard_core::steps::basics::registration_missing(after)
        && usable
}

/// "Check a live registration".
pub async fn doctor_for(
    session: &GraphSession,
    profile: &Profile,
) -> Result<DoctorReport, SessionError> {
    Ok(doctor::doctor(profile, &session.client, chrono::Utc::now()).await?)
}

/// One finding's one-click fix, then the profile updated as after apply.
pub async fn fix_for(
    session: &GraphSession,
    profile: &mut Profile,
    action: &FixAction,
    keychain: Option<&Keychain>,
    progress: Option<ApplyProgressFn>,
) -> Result<ApplyReport, SessionError> {
    let sink = if matches!(action, FixAction::AddSecret) {
        secret_sink(keychain, profile)?
    } else {
        None
    };
    let mut report = doctor::fix(profile, &session.client, action, progress.clone(), sink).await?;
    apply::update_profile(profile, &report);
    if matches!(action, FixAction::Apply) {
        // "Apply" converges the whole customer: with CSP on, both apps.
        apply_partner_center_for(
            session,
            profile,
            &action.apply_options(),
            keychain,
            progress,
            &mut report,
        )
        .await?;
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::CredentialKind;

    fn report(ok: bool, dry_run: bool) -> ApplyReport {
        ApplyReport {
            ok,
            dry_run,
            application: None,
            created_application: true,
            service_principal_id: None,
            created_service_principal: true,
            steps: Vec::new(),
            requests: Vec::new(),
            exists: Vec::new(),
            handover: Vec::new(),
            credential: None,
            policy_notes: Vec::new(),
            error: None,
            partner_center: None,
        }
    }

    fn created(before: &Profile) -> Profile {
        let mut p = before.clone();
        p.client_id = "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9".into();
        p.credential.kind = CredentialKind::Secret;
        p.credential.secret_hint = Some("abc".into());
        p
    }

    #[test]
    fn a_registration_made_from_nothing_is_tested_at_once() {
        let before = Profile::new("Acme");
        let after = created(&before);
        assert!(test_follows_apply(&before, &report(true, false), &after));
        // A certificate the customer already had serves as well.
        let mut cert = after.clone();
        cert.credential.kind = CredentialKind::Certificate;
        cert.credential.secret_hint = None;
        cert.credential.thumbprint = Some("AB".repeat(20));
        assert!(test_follows_apply(&before, &report(true, false), &cert));
    }

    #[test]
    fn no_test_after_a_repair_a_dry_run_a_failure_or_without_a_credential() {
        let before = Profile::new("Acme");
        let after = created(&before);
        assert!(
            !test_follows_apply(&after, &report(true, false), &after),
            "repair"
        );
        assert!(
            !test_follows_apply(&before, &report(true, true), &after),
            "dry run"
        );
        assert!(
            !test_follows_apply(&before, &report(false, false), &after),
            "failed"
        );
        assert!(
            !test_follows_apply(&before, &report(true, false), &before),
            "no client ID"
        );
        let mut no_secret = after.clone();
        no_secret.credential.secret_hint = None;
        assert!(
            !test_follows_apply(&before, &report(true, false), &no_secret),
            "no secret"
        );
    }
}
