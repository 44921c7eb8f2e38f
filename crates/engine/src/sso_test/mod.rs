//! The SSO test: one browser trip that proves the sign-in works, with real tokens.
//!
//! In order: discovery from `<authority>/<tenant|organizations>/v2.0`; a loopback
//! listener on an ephemeral port; the system browser opens the authorize URL with
//! `response_type=code id_token`, `response_mode=form_post`, `openid profile email`,
//! `state`, `nonce` and PKCE S256. What comes back proves, in one trip:
//!
//! 1. the sign-in the service desk does works — the front-channel ID token (so
//!    "ID tokens not enabled", AADSTS700054, is caught) is validated ([`oidc`]);
//! 2. the stored credential works — the code is redeemed with PKCE and the secret or a
//!    certificate assertion ([`crate::oauth`]); that ID token is validated too;
//! 3. consent exists — a client-credentials token for `https://<graph>/.default`, whose
//!    `roles` are read (not validated: a Graph token is Graph's to validate).
//!
//! The credential is a parameter ([`ClientCredential`]); the GUI cancels with a
//! [`CancellationToken`] and hears [`SsoProgress`] through a callback. Failures of the
//! test are a report with `ok: false` and an explained error; only a profile that cannot
//! be tested (or a listener that cannot bind) is an `Err`.
//!
//! Public sign-up (Azure AD B2C, External ID; issue 14 point 7): discovery is the
//! service's own ([`signup`]), the ID tokens are checked against its issuer format (and
//! B2C's user flow in `tfp`), and step 3 is left out: a public sign-up app asks for no
//! Microsoft Graph permission.
//!
//! Left out: federated credentials, `prompt=select_account`, refresh tokens, v1.0 tokens.

pub mod oidc;
pub mod report;
pub mod signup;

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use ts_rs::TS;

pub use crate::loopback::Limits;
pub use crate::oauth::{ClientCredential, pem_block};
pub use report::{Check, ClaimsSummary, Mfa, ReportError, SsoReport, Timings};
pub use tokio_util::sync::CancellationToken;

/// The report's error code when the test was cancelled (Cancel, or the screen was left).
pub const CANCELLED_CODE: &str = "sso_test.cancelled";

use crate::browser::BrowserError;
use crate::loopback;
use crate::oauth::{self, Authorization, AuthorizeRequest, TokenEndpoint, TokenError};
use crate::profile::{Profile, SignInScope};
use crate::steps::basics::{self, TenantRef};
use crate::steps::consent::tenant_segment;
use crate::target::{Endpoint, Target, TenantSegment};
use oidc::{Expected, IdClaims, IssuerRule, Jwks, OidcError};

/// Opens the authorize URL. The default is [`crate::browser::open`] (honours `$BROWSER`).
pub type BrowserFn = Arc<dyn Fn(&Endpoint) -> Result<(), BrowserError> + Send + Sync>;
/// Hears progress.
pub type ProgressFn = Arc<dyn Fn(&SsoProgress) + Send + Sync>;

/// Default wait for the admin to sign in.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(180);
/// Longest wait for the browser to come back, in seconds (the SSO test, consent capture,
/// the Graph sign-in): an hour is far longer than any sign-in. The CLI refuses more
/// (`--timeout`); options built in code are clamped to it by [`deadline_after`].
pub const MAX_TIMEOUT_SECS: u64 = 3600;

/// The deadline `timeout` from now, clamped to [`MAX_TIMEOUT_SECS`]: `Instant + Duration`
/// panics when the sum cannot be represented, so no caller's options may reach it.
pub fn deadline_after(timeout: Duration) -> tokio::time::Instant {
    let now = tokio::time::Instant::now();
    now.checked_add(timeout.min(Duration::from_secs(MAX_TIMEOUT_SECS)))
        .unwrap_or(now)
}

/// How to run the test.
#[derive(Clone)]
pub struct SsoTestOptions {
    /// Hard limit on waiting for the browser to come back.
    pub timeout: Duration,
    /// Per-connection limits of the loopback listener.
    pub limits: Limits,
    /// Timeout of each call to the provider.
    pub http_timeout: Duration,
    /// Opens the system browser.
    pub open_browser: BrowserFn,
    /// Progress callback (the GUI forwards these as events).
    pub progress: Option<ProgressFn>,
}

impl Default for SsoTestOptions {
    fn default() -> Self {
        SsoTestOptions {
            timeout: DEFAULT_TIMEOUT,
            limits: Limits::default(),
            http_timeout: Duration::from_secs(30),
            open_browser: Arc::new(crate::browser::open),
            progress: None,
        }
    }
}

/// What the test is doing now.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(tag = "kind", rename_all = "camelCase")]
#[ts(export)]
pub enum SsoProgress {
    /// Discovery done.
    Discovered {
        /// The provider's issuer.
        issuer: String,
    },
    /// The listener is up.
    Listening {
        /// The redirect URI in the request.
        #[serde(rename = "redirectUri")]
        redirect_uri: String,
    },
    /// The browser was asked to open the link.
    BrowserOpened {
        /// The link (no secrets: state, nonce and the PKCE challenge only).
        url: String,
    },
    /// No browser could be opened: show the link for copying.
    BrowserFailed {
        /// The link.
        url: String,
        /// Why.
        message: String,
    },
    /// The listener refused a request and keeps waiting.
    Ignored {
        /// Why.
        reason: String,
    },
    /// The sign-in response arrived.
    CallbackReceived,
    /// Redeeming the code.
    Redeeming,
    /// Asking for the app-only Graph token.
    CheckingConsent,
    /// Done.
    Finished {
        /// The verdict.
        ok: bool,
    },
}

/// The test could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SsoTestError {
    /// The profile lacks what the test needs.
    #[error("the profile cannot be tested yet: {0}")]
    Profile(String),
    /// The loopback listener could not start.
    #[error(transparent)]
    Listener(loopback::LoopbackError),
    /// The HTTP client could not be built.
    #[error("could not set up HTTPS: {0}")]
    Http(String),
}

impl SsoTestError {
    /// Stable code for the UI.
    pub fn code(&self) -> &'static str {
        match self {
            SsoTestError::Profile(_) => "sso_test.profile",
            SsoTestError::Listener(e) => e.code(),
            SsoTestError::Http(_) => "sso_test.http",
        }
    }

    /// As a failed report, for `--format json` with exit code 2.
    pub fn to_report(&self) -> SsoReport {
        SsoReport {
            error: Some(ReportError {
                code: self.code().into(),
                message: self.to_string(),
                fix: match self {
                    SsoTestError::Profile(_) => "Fix the fields named above in step 1, then run the test again.".into(),
                    _ => "Run the test again; if it repeats, restart the computer's network stack or report it.".into(),
                },
                step: matches!(self, SsoTestError::Profile(_)).then_some(1),
            }),
            ..SsoReport::default()
        }
    }
}

/// What the profile resolves to for the test.
struct TestTarget {
    target: Target,
    segment: TenantSegment,
    client_id: String,
    multi: bool,
    allowed_tenants: Option<Vec<String>>,
    graph_scope: String,
    needs_roles: bool,
    /// Public sign-up: the tenant GUID when the profile has one (the issuer names it).
    signup: Option<Option<crate::ids::TenantId>>,
}

fn resolve(p: &Profile) -> Result<TestTarget, SsoTestError> {
    // Step 1 is checked here once; the test passes what it resolved down.
    let b = basics::resolve(p);
    let bad = b.errors_on(&[
        "tenant_id",
        "client_id",
        "authority",
        "cloud",
        "public_signup.tenant_name",
        "public_signup.user_flow",
    ]);
    if !bad.is_empty() {
        return Err(SsoTestError::Profile(bad.join(" ")));
    }
    let (Some(client), Some(segment), Some(target)) = (
        b.client_id.as_ref(),
        tenant_segment(p, &b),
        b.target.clone(),
    ) else {
        return Err(SsoTestError::Profile(
            "tenant_id, client_id and an allowed authority are required".into(),
        ));
    };
    // A public sign-up app is never multi-tenant (step 1 says so); test it as single.
    let multi = basics::is_multi(p) && !p.public_signup.variant.is_public();
    if !multi && matches!(b.tenant, Some(TenantRef::Domain(_))) {
        // Works: discovery maps the domain to the tenant GUID, which the token must carry.
    }
    let graph = p
        .sso
        .graph_endpoint
        .as_deref()
        .map(|g| {
            g.trim()
                .trim_end_matches('/')
                .trim_start_matches("https://")
                .to_string()
        })
        .filter(|g| !g.is_empty())
        .unwrap_or_else(|| p.cloud.graph_host().to_string());
    Ok(TestTarget {
        target,
        segment,
        client_id: client.as_str().to_string(),
        multi,
        allowed_tenants: (multi && p.sso.sign_in_scope == SignInScope::Restricted).then(|| {
            basics::allowed_tenant_ids(p)
                .iter()
                .map(|t| t.as_str().to_string())
                .collect()
        }),
        graph_scope: format!("https://{graph}/.default"),
        needs_roles: p.features.import || p.features.csp,
        signup: p
            .public_signup
            .variant
            .is_public()
            .then(|| match &b.tenant {
                Some(TenantRef::Id(t)) => Some(t.clone()),
                _ => None,
            }),
    })
}

impl TestTarget {
    /// The scopes of the sign-in: B2C's documented `openid offline_access` (Microsoft
    /// Learn, azure/active-directory-b2c/openid-connect), else `openid profile email`.
    fn scope(&self) -> &'static str {
        match self.target.signup() {
            Some(crate::target::SignupService::B2c { .. }) => "openid offline_access",
            _ => "openid profile email",
        }
    }
}

fn ms(d: Duration) -> Option<u64> {
    Some(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Runs the SSO test for `profile` with `credential`. Returns a report for every outcome
/// of the test itself (pass or fail); `Err` only when it cannot start.
pub async fn run(
    profile: &Profile,
    credential: &ClientCredential,
    options: &SsoTestOptions,
    cancel: &CancellationToken,
) -> Result<SsoReport, SsoTestError> {
    let target = resolve(profile)?;
    let http = crate::http::http_client(options.http_timeout).map_err(SsoTestError::Http)?;
    let started = Instant::now();
    let mut run = Run {
        report: SsoReport::default(),
        progress: options.progress.clone(),
    };
    let result = tokio::select! {
        r = run.steps(&target, credential, options, cancel, &http) => r,
        _ = cancel.cancelled() => Err(StepError::Cancelled),
    };
    match result {
        Ok(()) => {
            run.report.ok = run.report.checks.iter().all(|c| c.ok) && run.report.error.is_none()
        }
        Err(StepError::Setup(e)) => return Err(e),
        Err(StepError::Cancelled) => {
            run.report.error = Some(ReportError {
                code: CANCELLED_CODE.into(),
                message: "The test was cancelled.".into(),
                fix: "Run it again when ready.".into(),
                step: None,
            });
        }
        Err(StepError::Failed) => {}
    }
    run.report.timings_ms.total = ms(started.elapsed());
    run.report.tested_at = Some(chrono::Utc::now());
    run.report.clean_text();
    run.emit(SsoProgress::Finished { ok: run.report.ok });
    Ok(run.report)
}

enum StepError {
    Setup(SsoTestError),
    Cancelled,
    /// A check failed; the report says which.
    Failed,
}

struct Run {
    report: SsoReport,
    progress: Option<ProgressFn>,
}

impl Run {
    fn emit(&self, p: SsoProgress) {
        if let Some(f) = &self.progress {
            f(&p);
        }
    }

    fn pass(&mut self, id: &str, detail: String) {
        self.report.checks.push(Check {
            id: id.into(),
            ok: true,
            detail,
        });
    }

    fn fail(&mut self, id: &str, detail: String, error: ReportError) -> StepError {
        self.report.checks.push(Check {
            id: id.into(),
            ok: false,
            detail,
        });
        self.report.error = Some(error);
        StepError::Failed
    }

    fn fail_oidc(&mut self, id: &str, what: &str, e: &OidcError) -> StepError {
        let (fix, step) = match e {
            OidcError::Discovery { .. } | OidcError::DiscoveryMismatch(_) => (
                "Check the tenant ID, tenant type and cloud (or the login host override) in step 1.",
                Some(1),
            ),
            OidcError::Claim { claim: "tfp", .. } => (
                "Check the user flow in step 1: it must be the one the app signs in with (Azure AD B2C > User flows), including its B2C_1_ prefix.",
                Some(1),
            ),
            OidcError::TenantNotAllowed(_) => (
                "Add the tenant to the allowed tenants in step 6, or sign in with an account of an allowed tenant.",
                Some(6),
            ),
            OidcError::Claim { claim: "tid", .. } => (
                "Sign in with an account of the app's tenant, or check the tenant ID in step 1.",
                Some(1),
            ),
            OidcError::Claim {
                claim: "iat" | "exp" | "nbf",
                ..
            } => (
                "Check this computer's clock and time zone, then run the test again.",
                None,
            ),
            _ => (
                "The provider sent a token that must not be trusted. Run the test again; if it repeats, the login host (step 1) is not Microsoft's or something is interfering.",
                None,
            ),
        };
        let message = format!("{what}: {e}");
        self.fail(
            id,
            message.clone(),
            ReportError {
                code: e.code(),
                message,
                fix: fix.into(),
                step,
            },
        )
    }

    fn fail_token(&mut self, id: &str, what: &str, e: &TokenError) -> StepError {
        let error = match e {
            TokenError::Endpoint {
                error,
                description,
                codes,
                ..
            } => report::explain_oauth(error, description, codes),
            TokenError::Credential(_) => ReportError {
                code: e.code().into(),
                message: e.to_string(),
                fix: "Choose the certificate and its private key again in step 3.".into(),
                step: Some(3),
            },
            _ => ReportError {
                code: e.code().into(),
                message: e.to_string(),
                fix: "Check the network connection to the login host and run the test again."
                    .into(),
                step: None,
            },
        };
        self.fail(id, format!("{what}: {}", error.message), error)
    }

    async fn steps(
        &mut self,
        t: &TestTarget,
        credential: &ClientCredential,
        options: &SsoTestOptions,
        cancel: &CancellationToken,
        http: &reqwest::Client,
    ) -> Result<(), StepError> {
        // Discovery and keys, before the browser so the callback never waits for them.
        let started = Instant::now();
        let discovered = match &t.signup {
            Some(tid) => signup::discover(http, &t.target, &t.segment, tid.as_ref()).await,
            None => oidc::discover(http, &t.target, &t.segment).await,
        };
        let (disc, endpoints, rule) = match discovered {
            Ok(d) => d,
            Err(e) => return Err(self.fail_oidc("discovery", "Discovery failed", &e)),
        };
        let jwks = Jwks::new(endpoints.jwks.clone());
        if let Err(e) = jwks.prefetch(http).await {
            return Err(self.fail_oidc("discovery", "The signing keys could not be read", &e));
        }
        self.report.timings_ms.discovery = ms(started.elapsed());
        self.pass(
            "discovery",
            format!(
                "Configuration of {} read; signing keys fetched.",
                disc.issuer
            ),
        );
        self.emit(SsoProgress::Discovered {
            issuer: disc.issuer.clone(),
        });
        let home_tenant = match &rule {
            IssuerRule::Exact(iss) => iss
                .strip_prefix(&t.target.issuer_prefix())
                .and_then(|r| r.strip_suffix("/v2.0"))
                .map(str::to_string),
            IssuerRule::Template(_) => None,
            IssuerRule::B2c { tenant, .. } | IssuerRule::ExternalId { tenant, .. } => {
                Some(tenant.clone())
            }
        };

        // Listener first, then the browser.
        let listener = loopback::Listener::bind()
            .await
            .map_err(|e| StepError::Setup(SsoTestError::Listener(e)))?;
        let redirect_uri = listener.redirect_uri();
        self.emit(SsoProgress::Listening {
            redirect_uri: redirect_uri.clone(),
        });
        let nonce = oauth::random_token();
        // The authorize endpoint was checked against the target by `discover`; oauth2 adds
        // PKCE S256 and `state`, and the link stays an Endpoint on that target.
        let authorization = oauth::authorize(
            &endpoints.authorize,
            &AuthorizeRequest {
                client_id: &t.client_id,
                redirect_uri: &redirect_uri,
                response_type: "code id_token",
                scope: t.scope(),
                extra: &[("response_mode", "form_post"), ("nonce", &nonce)],
            },
        )
        .map_err(|e| StepError::Setup(SsoTestError::Http(e)))?;
        let url = authorization.url();
        match (options.open_browser)(url) {
            Ok(()) => self.emit(SsoProgress::BrowserOpened {
                url: url.to_string(),
            }),
            Err(e) => self.emit(SsoProgress::BrowserFailed {
                url: url.to_string(),
                message: e.to_string(),
            }),
        }

        let waited = Instant::now();
        let deadline = deadline_after(options.timeout);
        let progress = self.progress.clone();
        let mut ignored = loopback::IgnoredLog::default();
        let state = authorization.state();
        let outcome = loopback::wait(listener, state, options.limits, deadline, cancel, |why| {
            // Only the kept reasons go to the UI, so a flood of requests cannot grow its list.
            if ignored.push(why)
                && let Some(f) = &progress
            {
                f(&SsoProgress::Ignored {
                    reason: why.to_string(),
                });
            }
        })
        .await;
        (
            self.report.ignored_requests,
            self.report.ignored_requests_total,
        ) = ignored.into_parts();
        self.report.timings_ms.browser = ms(waited.elapsed());
        let cb = match outcome {
            Ok(cb) => cb,
            Err(loopback::LoopbackError::Cancelled) => return Err(StepError::Cancelled),
            Err(e) => {
                let secs = options.timeout.as_secs();
                return Err(self.fail(
                    "callback",
                    format!("No sign-in response arrived within {secs} s."),
                    ReportError {
                        code: e.code().into(),
                        message: format!("No sign-in response arrived within {secs} s."),
                        fix: "Finish the sign-in in the browser that opened (or open the link yourself), then run the test again.".into(),
                        step: None,
                    },
                ));
            }
        };
        let verdict_started = Instant::now();
        self.emit(SsoProgress::CallbackReceived);
        let result = self
            .after_callback(
                t,
                credential,
                http,
                &disc,
                &endpoints,
                &rule,
                &jwks,
                cb,
                &nonce,
                authorization,
                home_tenant,
            )
            .await;
        self.report.timings_ms.verdict = ms(verdict_started.elapsed());
        result
    }

    /// The callback itself: no OAuth error, form_post, the issuer (RFC 9207) and both the
    /// code and the front-channel ID token present.
    fn check_callback(
        &mut self,
        disc: &oidc::Discovery,
        rule: &IssuerRule,
        cb: loopback::Callback,
        redirect_uri: &str,
    ) -> Result<(crate::ids::Sensitive<String>, crate::ids::Sensitive<String>), StepError> {
        if let Some(error) = &cb.error {
            let e = report::explain_oauth(
                error,
                cb.error_description.as_deref().unwrap_or_default(),
                &[],
            );
            return Err(self.fail(
                "callback",
                format!("The sign-in returned an error: {}", e.message),
                e,
            ));
        }
        if cb.via != loopback::Via::FormPost {
            let m = "The response came back in the URL instead of response_mode=form_post.";
            return Err(self.fail("callback", m.into(), bad_callback(m)));
        }
        if let Some(iss) = &cb.iss
            && let Some(want) = rule.exact()
            && iss != want
        {
            let m = format!("The response names issuer '{iss}', not '{want}' (mix-up).");
            return Err(self.fail("callback", m.clone(), bad_callback(&m)));
        }
        // With an ID token in the response its `iss` does the job (RFC 9207 §2.4,
        // RFC 9700 §4.4.2), and providers leave the parameter out then.
        if cb.iss.is_none()
            && cb.id_token.is_none()
            && disc.authorization_response_iss_parameter_supported
        {
            let m = "The provider promises an 'iss' in the response (RFC 9207) but sent none.";
            return Err(self.fail("callback", m.into(), bad_callback(m)));
        }
        let (Some(code), Some(front)) = (cb.code, cb.id_token) else {
            let m = "The response has no authorization code or no ID token.";
            return Err(self.fail(
                "callback",
                m.into(),
                ReportError {
                    code: "callback.incomplete".into(),
                    message: m.into(),
                    fix: "Authentication > Implicit grant and hybrid flows: tick 'ID tokens' (step 2).".into(),
                    step: Some(2),
                },
            ));
        };
        self.pass("callback", format!("The browser returned to {redirect_uri} with a form_post response and the right state."));
        Ok((code, front))
    }

    /// (3) Consent: an app-only Graph token, and the application permissions it carries
    /// when import or CSP needs them.
    async fn check_consent(
        &mut self,
        t: &TestTarget,
        token_client: &TokenEndpoint<'_>,
        claims: &IdClaims,
    ) -> Result<(), StepError> {
        self.emit(SsoProgress::CheckingConsent);
        let consent_started = Instant::now();
        let app_token = match token_client.client_credentials(&t.graph_scope).await {
            Ok(tk) => tk,
            Err(e) => {
                return Err(self.fail_token(
                    "consent",
                    "No app-only token for Microsoft Graph",
                    &e,
                ));
            }
        };
        self.report.timings_ms.consent = ms(consent_started.elapsed());
        let roles: Vec<String> = oidc::unverified_payload(app_token.access_token.expose())
            .and_then(|p| p.get("roles").and_then(|r| r.as_array()).cloned())
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        self.report.claims = Some(summary(claims, roles.clone()));
        if roles.is_empty() && t.needs_roles {
            let m = "The app-only Graph token has no application permissions, but import or CSP needs them.";
            return Err(self.fail(
                "consent",
                m.into(),
                ReportError {
                    code: "consent.no_roles".into(),
                    message: m.into(),
                    fix: "Add the application permissions and grant admin consent with the link in step 4.".into(),
                    step: Some(4),
                },
            ));
        }
        let granted = if roles.is_empty() {
            "no application permissions".to_string()
        } else {
            roles.join(", ")
        };
        self.pass(
            "consent",
            format!(
                "App-only token for {} issued; granted: {granted}.",
                t.graph_scope
            ),
        );
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    async fn after_callback(
        &mut self,
        t: &TestTarget,
        credential: &ClientCredential,
        http: &reqwest::Client,
        disc: &oidc::Discovery,
        endpoints: &oidc::ProviderEndpoints,
        rule: &IssuerRule,
        jwks: &Jwks,
        cb: loopback::Callback,
        nonce: &str,
        authorization: Authorization,
        home_tenant: Option<String>,
    ) -> Result<(), StepError> {
        let redirect_uri = authorization.redirect_uri().to_string();
        let cb_iss = cb.iss.clone();
        let (code, front) = self.check_callback(disc, rule, cb, &redirect_uri)?;

        // (1) The service desk's sign-in: the front-channel ID token.
        let now = chrono::Utc::now().timestamp();
        let expected = Expected {
            issuer: rule,
            client_id: &t.client_id,
            nonce,
            tenant: home_tenant.as_deref(),
            allowed_tenants: t.allowed_tenants.as_deref(),
            code: Some(code.expose()),
            now,
        };
        let claims = match oidc::validate(http, jwks, front.expose(), &expected).await {
            Ok(c) => c,
            Err(e) => {
                return Err(self.fail_oidc(
                    "id_token",
                    "The ID token from the sign-in is not valid",
                    &e,
                ));
            }
        };
        if let Some(iss) = &cb_iss
            && *iss != claims.iss
        {
            let m = format!(
                "The response names issuer '{iss}', but the token is from '{}' (mix-up).",
                claims.iss
            );
            return Err(self.fail("id_token", m.clone(), bad_callback(&m)));
        }
        self.pass(
            "id_token",
            format!(
                "The service desk's sign-in works: a valid RS256 ID token from {} for {} (key {}).",
                claims.iss,
                claims.preferred_username.as_deref().unwrap_or(&claims.sub),
                claims.kid.as_deref().unwrap_or("-")
            ),
        );
        self.report.claims = Some(summary(&claims, Vec::new()));

        // (2) The credential: redeem the code.
        self.emit(SsoProgress::Redeeming);
        let token_endpoint =
            match tenant_endpoint(&endpoints.token, &t.segment, &claims.tid, t.multi) {
                Ok(e) => e,
                Err(m) => return Err(self.fail("credential", m.clone(), bad_callback(&m))),
            };
        let redeem_started = Instant::now();
        let token_client =
            TokenEndpoint::new(http, &token_endpoint, &t.client_id, Some(credential));
        let tokens = match token_client.redeem_code(&code, authorization, None).await {
            Ok(tk) => tk,
            Err(e) => {
                return Err(self.fail_token(
                    "credential",
                    &format!("The {} did not work", credential.label()),
                    &e,
                ));
            }
        };
        self.report.timings_ms.redeem = ms(redeem_started.elapsed());
        self.pass(
            "credential",
            format!(
                "The stored {} works: the authorization code was redeemed with PKCE.",
                credential.label()
            ),
        );
        let Some(back) = tokens.id_token else {
            let m = "The token endpoint returned no ID token.";
            return Err(self.fail("token_id_token", m.into(), bad_callback(m)));
        };
        let expected_back = Expected {
            code: None,
            now: chrono::Utc::now().timestamp(),
            ..expected
        };
        match oidc::validate(http, jwks, back.expose(), &expected_back).await {
            Ok(c) if c.sub == claims.sub && c.tid == claims.tid => {
                self.pass(
                    "token_id_token",
                    "The token endpoint's ID token is valid and names the same user.".into(),
                );
            }
            Ok(_) => {
                let m = "The token endpoint's ID token names another user than the sign-in.";
                return Err(self.fail("token_id_token", m.into(), bad_callback(m)));
            }
            Err(e) => {
                return Err(self.fail_oidc(
                    "token_id_token",
                    "The ID token from the token endpoint is not valid",
                    &e,
                ));
            }
        }

        // (3) Consent: an app-only token for Graph. A public sign-up app has no Graph
        // permission to consent to, so its test ends with the sign-in and the credential.
        if t.signup.is_some() {
            return Ok(());
        }
        self.check_consent(t, &token_client, &claims).await
    }
}

/// The report error for a callback or token that is not what the flow requires.
fn bad_callback(msg: &str) -> ReportError {
    ReportError {
        code: "callback.invalid".into(),
        message: msg.to_string(),
        fix: "Run the test again; if it repeats, check the redirect URI and 'ID tokens' in step 2."
            .into(),
        step: Some(2),
    }
}

/// For a multi-tenant app the discovered endpoints say `organizations`; the code and the
/// client-credentials grant go to the signed-in user's tenant instead (Entra refuses
/// client credentials on /organizations, AADSTS9001023). The tenant is a validated GUID
/// and replaces one whole path segment, so the endpoint stays on the target.
fn tenant_endpoint(
    endpoint: &Endpoint,
    segment: &TenantSegment,
    tid: &str,
    multi: bool,
) -> Result<Endpoint, String> {
    if !multi {
        return Ok(endpoint.clone());
    }
    let tenant = crate::ids::TenantId::parse(tid)
        .map(|t| TenantSegment::id(&t))
        .ok_or_else(|| "The ID token's tid is not a tenant ID.".to_string())?;
    Ok(endpoint.replace_segment(segment, &tenant))
}

fn summary(c: &IdClaims, roles: Vec<String>) -> ClaimsSummary {
    ClaimsSummary {
        name: c.name.clone(),
        preferred_username: c.preferred_username.clone(),
        oid: c.oid.clone(),
        tid: c.tid.clone(),
        amr: c.amr.clone(),
        mfa: Mfa::from_amr(c.amr.as_deref()),
        roles,
    }
}

/// The report as text, for the CLI.
pub fn render_text(r: &SsoReport) -> String {
    use std::fmt::Write as _;
    // For the terminal: every field cleaned (a report built elsewhere included), so a
    // value cannot carry an escape sequence or a line of its own.
    let mut r = r.clone();
    r.clean_text();
    let r = &r;
    let mut s = String::new();
    let _ = writeln!(s, "SSO test: {}", if r.ok { "PASSED" } else { "FAILED" });
    for c in &r.checks {
        let _ = writeln!(
            s,
            "  {} {}: {}",
            if c.ok { "✓" } else { "✗" },
            c.id,
            c.detail
        );
    }
    if let Some(c) = &r.claims {
        let _ = writeln!(s, "\nSigned in:");
        let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
        let _ = writeln!(
            s,
            "  name: {}\n  preferred_username: {}\n  oid: {}\n  tid: {}",
            show(&c.name),
            show(&c.preferred_username),
            show(&c.oid),
            c.tid
        );
        let _ = writeln!(
            s,
            "  amr: {}",
            c.amr
                .as_ref()
                .map(|a| a.join(", "))
                .unwrap_or_else(|| "-".into())
        );
        let _ = writeln!(s, "  MFA: {}", c.mfa.label());
        let _ = writeln!(
            s,
            "  app roles: {}",
            if c.roles.is_empty() {
                "-".into()
            } else {
                c.roles.join(", ")
            }
        );
    }
    if let Some(e) = &r.error {
        let step = e.step.map(|n| format!(" (step {n})")).unwrap_or_default();
        let _ = writeln!(
            s,
            "\nError {}: {}\n  fix{step}: {}",
            e.code, e.message, e.fix
        );
    }
    if !r.ignored_requests.is_empty() {
        let more = r
            .ignored_requests_total
            .saturating_sub(r.ignored_requests.len() as u64);
        let _ = writeln!(
            s,
            "\nIgnored while waiting: {}{}",
            r.ignored_requests.join("; "),
            if more > 0 {
                format!("; and {more} more")
            } else {
                String::new()
            }
        );
    }
    let t = &r.timings_ms;
    let f = |v: Option<u64>| v.map(|n| format!("{n} ms")).unwrap_or_else(|| "-".into());
    let _ = writeln!(
        s,
        "\nTimings: discovery {}, browser {}, callback→verdict {}, total {}",
        f(t.discovery),
        f(t.browser),
        f(t.verdict),
        f(t.total)
    );
    s
}
