//! Step 4 (and step 5 per customer) — admin consent, captured: the wizard opens the
//! admin-consent link itself, with its own loopback redirect URI and a fresh `state`, and
//! reads Entra's answer on the loopback listener of the SSO test
//! ([`crate::loopback`]).
//!
//! Entra's answer (entra-docs `v2-admin-consent.md`,
//! <https://learn.microsoft.com/entra/identity-platform/v2-admin-consent>) is a redirect to
//! `redirect_uri` with, on success, `admin_consent=True&tenant=<guid>&scope=…&state=…`
//! and, on failure, `error=…&error_description=AADSTS…&admin_consent=True&state=…` — the
//! `admin_consent=True` is there on errors too, so [`interpret`] reads `error` **first**.
//! The `state` must be the one sent (checked in constant time); a wrong or missing one is
//! refused and the wait goes on. The `tenant` Entra names is recorded but trusted for
//! nothing: Microsoft warns it can be forged. When the link named a tenant GUID and the
//! answer names another one, the outcome is a failure.
//!
//! The redirect URI is `http://localhost:<port>/entra-onboard/callback`; Entra ignores the
//! port of `http://localhost` redirect URIs, so the plan's wizard redirect URI (step 2)
//! covers it. Remove that URI after onboarding, as the plan says.
//!
//! Left out: Partner Center's `applicationconsents` API (needs a Partner Center app and
//! a GDAP role; the customer's admin or a GDAP admin uses the link instead), and checking
//! consent through Graph (the SSO test's app-only token proves it).

use std::sync::Arc;
use std::time::Duration;

use crate::ids::{TenantId, parse_guid};
use crate::loopback::{self, Limits, LoopbackError};
use crate::profile::{ConsentRecord, ConsentStatus, CustomerTenant, Profile, TenantType};
use crate::sso_test::BrowserFn;
use crate::steps::basics::{self, Basics};
use crate::target::{Endpoint, TenantSegment};
use chrono::{DateTime, Utc};
use serde::Serialize;
use subtle::ConstantTimeEq as _;
use tokio_util::sync::CancellationToken;
use ts_rs::TS;

/// Default wait for the admin to finish consenting.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

/// One role that can grant tenant-wide admin consent, and what it can grant
/// (grant-admin-consent.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct ConsentRole {
    /// The Entra role's name.
    pub role: String,
    /// What it may consent to.
    pub can_grant: String,
    /// True when it can consent to Microsoft Graph application permissions (import, CSP).
    pub graph_application_permissions: bool,
}

/// Who can consent, as data for the UI.
pub fn consent_roles() -> Vec<ConsentRole> {
    vec![
        ConsentRole {
            role: "Global Administrator".into(),
            can_grant: "Any permission of any API.".into(),
            graph_application_permissions: true,
        },
        ConsentRole {
            role: "Privileged Role Administrator".into(),
            can_grant: "Any permission of any API, including Microsoft Graph application permissions (needed for import and CSP).".into(),
            graph_application_permissions: true,
        },
        ConsentRole {
            role: "Cloud Application Administrator / Application Administrator".into(),
            can_grant: "Delegated permissions only: not Microsoft Graph application permissions.".into(),
            graph_application_permissions: false,
        },
    ]
}

/// What one consent attempt came to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct ConsentOutcome {
    /// Consented, declined or failed (never pending: a missing answer is an error).
    pub status: ConsentStatus,
    /// The tenant GUID Entra named (informational only).
    pub tenant_id: Option<String>,
    /// OAuth `error`, on failure.
    pub error: Option<String>,
    /// Entra's `error_description`, verbatim.
    pub error_description: Option<String>,
    /// The AADSTS code in the description.
    pub aadsts: Option<u32>,
    /// What it means, from the AADSTS catalogue (or a general explanation).
    pub message: String,
    /// What to do next.
    pub fix: Option<String>,
    /// The wizard step that fixes it.
    pub step: Option<u8>,
}

impl ConsentOutcome {
    /// As the profile keeps it.
    pub fn to_record(&self, at: DateTime<Utc>) -> ConsentRecord {
        ConsentRecord {
            status: self.status,
            tenant_id: self.tenant_id.clone(),
            aadsts: self.aadsts,
            error: self.error.clone(),
            message: self.error_description.clone().or_else(|| {
                (self.status != ConsentStatus::Consented).then(|| self.message.clone())
            }),
            hint: self.fix.clone(),
            at: Some(at),
        }
    }
}

/// The consent-relevant fields of a redirect.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConsentFields {
    /// `admin_consent`.
    pub admin_consent: Option<String>,
    /// `tenant`.
    pub tenant: Option<String>,
    /// `error`.
    pub error: Option<String>,
    /// `error_description`.
    pub error_description: Option<String>,
}

/// Why a redirect is not a consent answer at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConsentRedirectError {
    /// No `state`.
    #[error("the answer has no state, so it cannot be matched to this consent request")]
    MissingState,
    /// Another `state`.
    #[error("the answer's state does not match this consent request (forged or stale)")]
    BadState,
    /// A parameter twice.
    #[error("the answer has the parameter '{0}' twice")]
    Duplicate(String),
    /// Neither `error` nor `admin_consent`.
    #[error("the answer has neither admin_consent nor an error")]
    Incomplete,
}

impl ConsentRedirectError {
    /// Stable code for the UI.
    pub fn code(&self) -> &'static str {
        match self {
            ConsentRedirectError::MissingState => "consent.missing_state",
            ConsentRedirectError::BadState => "consent.bad_state",
            ConsentRedirectError::Duplicate(_) => "consent.duplicate_param",
            ConsentRedirectError::Incomplete => "consent.incomplete",
        }
    }
}

/// Parses the query string of a consent redirect: `state` first (it must be
/// `expected_state`), then [`interpret`]. Pure, for tests and for any caller that gets
/// the redirect some other way.
pub fn parse_consent_redirect(
    query: &str,
    expected_state: &str,
    expected_tenant: Option<&str>,
) -> Result<ConsentOutcome, ConsentRedirectError> {
    let mut seen: Vec<(String, String)> = Vec::new();
    for (k, v) in url::form_urlencoded::parse(query.trim_start_matches('?').as_bytes()) {
        if seen.iter().any(|(s, _)| *s == k) {
            return Err(ConsentRedirectError::Duplicate(
                crate::text::clean(&k).chars().take(20).collect(),
            ));
        }
        seen.push((k.into_owned(), v.into_owned()));
    }
    let get = |name: &str| seen.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    match get("state") {
        None => return Err(ConsentRedirectError::MissingState),
        Some(s) if !bool::from(s.as_bytes().ct_eq(expected_state.as_bytes())) => {
            return Err(ConsentRedirectError::BadState);
        }
        Some(_) => {}
    }
    interpret(
        &ConsentFields {
            admin_consent: get("admin_consent"),
            tenant: get("tenant"),
            error: get("error"),
            error_description: get("error_description"),
        },
        expected_tenant,
    )
}

/// Reads a consent answer whose `state` is already checked: **error first**, then
/// `admin_consent=True`. `expected_tenant` is the tenant the link named (GUID or domain),
/// `None` for `organizations`.
pub fn interpret(
    f: &ConsentFields,
    expected_tenant: Option<&str>,
) -> Result<ConsentOutcome, ConsentRedirectError> {
    let tenant_id = f.tenant.as_deref().and_then(parse_guid);
    // Entra's words are shown in the UI, the CLI and the tracker: cleaned of control and
    // bidi characters (whatever path the fields came by).
    let error_description = crate::text::cleaned_opt(f.error_description.clone());
    let error = f.error.as_deref().map(crate::text::clean);
    if let Some(error) = error.as_deref().filter(|e| !e.is_empty()) {
        let description = error_description.clone().unwrap_or_default();
        let aadsts = crate::aadsts::extract_code(&description);
        let entry = aadsts.and_then(crate::aadsts::lookup);
        let declined = aadsts == Some(65004) || (aadsts.is_none() && error == "access_denied");
        let (message, fix, step) = match entry {
            Some(e) => (e.cause.to_string(), Some(e.fix.to_string()), e.step),
            None if declined => (
                "Consent was declined (Cancel was clicked).".to_string(),
                Some("Run the admin-consent link again and accept.".to_string()),
                Some(4),
            ),
            None => (
                format!("Entra refused the consent: {error}."),
                Some("Sign in as a Global Administrator or Privileged Role Administrator of the tenant and run the consent again; Microsoft's description above names the cause.".to_string()),
                Some(4),
            ),
        };
        return Ok(ConsentOutcome {
            status: if declined {
                ConsentStatus::Declined
            } else {
                ConsentStatus::Failed
            },
            tenant_id,
            error: Some(error.to_string()),
            error_description,
            aadsts,
            message,
            fix,
            step,
        });
    }
    let Some(admin_consent) = f.admin_consent.as_deref() else {
        return Err(ConsentRedirectError::Incomplete);
    };
    if !admin_consent.eq_ignore_ascii_case("true") {
        return Ok(ConsentOutcome {
            status: ConsentStatus::Failed,
            tenant_id,
            error: None,
            error_description: None,
            aadsts: None,
            message: format!(
                "Entra answered admin_consent={} without an error.",
                crate::text::clean(admin_consent)
            ),
            fix: Some("Run the admin-consent link again as an administrator and accept.".into()),
            step: Some(4),
        });
    }
    if let (Some(want), Some(got)) = (expected_tenant.and_then(parse_guid), tenant_id.clone())
        && want != got
    {
        return Ok(ConsentOutcome {
            status: ConsentStatus::Failed,
            tenant_id,
            error: None,
            error_description: None,
            aadsts: None,
            message: format!(
                "Consent was granted, but Entra names tenant {got} instead of {want}: the answer was not for this tenant."
            ),
            fix: Some(
                "Sign in with an administrator of the intended tenant and run the consent again."
                    .into(),
            ),
            step: Some(4),
        });
    }
    Ok(ConsentOutcome {
        status: ConsentStatus::Consented,
        tenant_id,
        error: None,
        error_description: None,
        aadsts: None,
        message: "Admin consent granted.".into(),
        fix: None,
        step: None,
    })
}

/// What the capture is doing now.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(tag = "kind", rename_all = "camelCase")]
#[ts(export)]
pub enum ConsentProgress {
    /// The listener is up.
    Listening {
        /// The redirect URI in the link.
        #[serde(rename = "redirectUri")]
        redirect_uri: String,
    },
    /// The browser was asked to open the link.
    BrowserOpened {
        /// The link (no secrets in it).
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
}

/// Hears progress.
pub type ConsentProgressFn = Arc<dyn Fn(&ConsentProgress) + Send + Sync>;

/// How to run a capture.
#[derive(Clone)]
pub struct ConsentCaptureOptions {
    /// Hard limit on waiting for the browser to come back.
    pub timeout: Duration,
    /// Per-connection limits of the loopback listener.
    pub limits: Limits,
    /// Opens the system browser.
    pub open_browser: BrowserFn,
    /// Progress callback.
    pub progress: Option<ConsentProgressFn>,
}

impl Default for ConsentCaptureOptions {
    fn default() -> Self {
        ConsentCaptureOptions {
            timeout: DEFAULT_TIMEOUT,
            limits: Limits::default(),
            open_browser: Arc::new(crate::browser::open),
            progress: None,
        }
    }
}

/// A capture could not start or got no answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConsentCaptureError {
    /// The profile lacks what the link needs.
    #[error("the consent link cannot be built yet: {0}")]
    Profile(String),
    /// The customer tenant is neither a GUID nor a domain.
    #[error("{0:?} is not a tenant ID (GUID) or a domain such as contoso.onmicrosoft.com")]
    BadTenant(String),
    /// The link would not go to the cloud's login host.
    #[error(transparent)]
    NotLoginHost(crate::steps::consent::OpenLinkError),
    /// Listening failed, timed out or was cancelled.
    #[error(transparent)]
    Listener(LoopbackError),
}

impl ConsentCaptureError {
    /// Stable code for the UI (`loopback.timeout`, `loopback.cancelled`, … for the
    /// listener).
    pub fn code(&self) -> &'static str {
        match self {
            ConsentCaptureError::Profile(_) => "consent_capture.profile",
            ConsentCaptureError::BadTenant(_) => "consent_capture.bad_tenant",
            ConsentCaptureError::NotLoginHost(e) => e.code(),
            ConsentCaptureError::Listener(e) => e.code(),
        }
    }
}

/// The tenant segment of a capture link: a customer tenant as given (GUID or domain,
/// validated; anything else is refused, so nothing but a tenant reaches the URL path),
/// else the profile's tenant (single-tenant) or `organizations`.
pub fn capture_segment(
    p: &Profile,
    b: &Basics,
    tenant: Option<&str>,
) -> Result<TenantSegment, ConsentCaptureError> {
    if let Some(t) = tenant {
        return TenantSegment::tenant(t)
            .ok_or_else(|| ConsentCaptureError::BadTenant(t.trim().to_string()));
    }
    crate::steps::consent::tenant_segment(p, b)
        .ok_or_else(|| ConsentCaptureError::Profile("tenant_id is missing or not valid".into()))
}

/// The admin-consent link of a capture, for `segment`, `redirect_uri` and `state`, on the
/// profile's [`crate::target::Target`] (`b`: the profile's step 1, resolved).
pub fn capture_url(
    b: &Basics,
    segment: &TenantSegment,
    redirect_uri: &str,
    state: &str,
) -> Result<Endpoint, ConsentCaptureError> {
    let bad = b.errors_on(&["client_id", "authority"]);
    if !bad.is_empty() {
        return Err(ConsentCaptureError::Profile(bad.join(" ")));
    }
    let client = b
        .client_id
        .as_ref()
        .ok_or_else(|| ConsentCaptureError::Profile("client_id is required".into()))?;
    let target = b
        .target
        .as_ref()
        .ok_or_else(|| ConsentCaptureError::Profile("authority is not allowed".into()))?;
    Ok(target.admin_consent(segment, client, redirect_uri, state))
}

fn random_state() -> String {
    use base64::Engine as _;
    let mut buf = [0u8; 32];
    getrandom::fill(&mut buf).expect("the OS random generator failed");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}

/// Opens the admin-consent link for `tenant` (see [`capture_segment`]) in the browser and
/// waits for Entra's answer on the loopback listener. A declined or failed consent is an
/// `Ok` outcome; no answer in time, a cancel, or a profile without a link is an `Err`.
pub async fn capture(
    p: &Profile,
    tenant: Option<&str>,
    options: &ConsentCaptureOptions,
    cancel: &CancellationToken,
) -> Result<ConsentOutcome, ConsentCaptureError> {
    // Step 1 is checked once for the capture; both the segment and the link use it.
    let b = basics::resolve(p);
    let segment = capture_segment(p, &b, tenant)?;
    let listener = loopback::Listener::bind()
        .await
        .map_err(ConsentCaptureError::Listener)?;
    let redirect_uri = listener.redirect_uri();
    let state = random_state();
    let url = capture_url(&b, &segment, &redirect_uri, &state)?;
    let emit = |e: ConsentProgress| {
        if let Some(f) = &options.progress {
            f(&e);
        }
    };
    emit(ConsentProgress::Listening {
        redirect_uri: redirect_uri.clone(),
    });
    match (options.open_browser)(&url) {
        Ok(()) => emit(ConsentProgress::BrowserOpened {
            url: url.to_string(),
        }),
        Err(e) => emit(ConsentProgress::BrowserFailed {
            url: url.to_string(),
            message: e.to_string(),
        }),
    }
    let deadline = crate::sso_test::deadline_after(options.timeout);
    // Only the first reasons go to the UI: a flood of stray requests cannot grow its list.
    let mut ignored = loopback::IgnoredLog::default();
    let cb = loopback::wait(listener, &state, options.limits, deadline, cancel, |why| {
        if ignored.push(why) {
            emit(ConsentProgress::Ignored {
                reason: why.to_string(),
            })
        }
    })
    .await
    .map_err(ConsentCaptureError::Listener)?;
    let expected = (!segment.is_shared()).then_some(segment.as_str());
    let fields = ConsentFields {
        admin_consent: cb.admin_consent,
        tenant: cb.tenant,
        error: cb.error,
        error_description: cb.error_description,
    };
    // The listener accepted it because it carries a result and the right state; an answer
    // with a code but neither error nor admin_consent is not a consent answer.
    interpret(&fields, expected).or_else(|e| {
        Ok(ConsentOutcome {
            status: ConsentStatus::Failed,
            tenant_id: None,
            error: None,
            error_description: None,
            aadsts: None,
            message: format!("The browser came back, but {e}."),
            fix: Some("Open the admin-consent link again; if it repeats, check the redirect URIs of step 2.".into()),
            step: Some(4),
        })
    })
}

/// Records `outcome` on the record of the tenant that was asked, and only there:
/// - `tenant` names a customer tenant: that tenant's row (added when it is not listed yet);
/// - `tenant` names the home tenant, or is `None` for a single-tenant app (the link named
///   the home tenant): the profile's own [`Profile::admin_consent`];
/// - `None` for a multi-tenant app (the `organizations` link, answered by whichever
///   tenant's admin signed in): the home record when Entra names the home tenant or no
///   tenant, else the row of the tenant Entra names.
///
/// The home tenant's record never changes for an answer about another tenant. Returns true
/// when a customer row was written.
pub fn record_consent(
    p: &mut Profile,
    tenant: Option<&str>,
    outcome: &ConsentOutcome,
    at: DateTime<Utc>,
) -> bool {
    let record = outcome.to_record(at);
    let customer = match tenant {
        Some(t) => (!is_home_tenant(p, t)).then(|| t.to_string()),
        None if p.tenant_type == TenantType::Multi => outcome
            .tenant_id
            .as_deref()
            .filter(|t| !is_home_tenant(p, t))
            .map(str::to_string),
        None => None,
    };
    let Some(t) = customer else {
        p.admin_consent = Some(record);
        return false;
    };
    let key = crate::steps::tenants::tenant_key(&t);
    match p
        .customer_tenants
        .iter_mut()
        .find(|r| crate::steps::tenants::tenant_key(&r.tenant) == key)
    {
        Some(row) => row.consent = record,
        None => p.customer_tenants.push(CustomerTenant {
            tenant: key,
            consent: record,
            ..CustomerTenant::default()
        }),
    }
    true
}

/// True when `t` names the profile's own tenant (the same GUID, or the same domain when
/// the profile names its tenant by domain).
pub fn is_home_tenant(p: &Profile, t: &str) -> bool {
    if let (Some(a), Some(b)) = (TenantId::parse(t), TenantId::parse(&p.tenant_id)) {
        return a == b;
    }
    let home = p.tenant_id.trim();
    !home.is_empty()
        && crate::steps::tenants::tenant_key(t) == crate::steps::tenants::tenant_key(home)
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATE: &str = "s-123";
    const T: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";

    fn parse(q: &str) -> Result<ConsentOutcome, ConsentRedirectError> {
        parse_consent_redirect(q, STATE, Some(T))
    }

    #[test]
    fn success() {
        let o = parse(&format!(
            "admin_consent=True&tenant={T}&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default&state={STATE}"
        ))
        .unwrap();
        assert_eq!(o.status, ConsentStatus::Consented);
        assert_eq!(o.tenant_id.as_deref(), Some(T));
        assert_eq!(o.error, None);
    }

    #[test]
    fn an_error_wins_over_admin_consent_true() {
        let o = parse(&format!(
            "admin_consent=True&error=consent_required&error_description=AADSTS65004%3A+User+declined+to+consent&state={STATE}"
        ))
        .unwrap();
        assert_eq!(o.status, ConsentStatus::Declined);
        assert_eq!(o.aadsts, Some(65004));
        assert_eq!(
            o.fix.as_deref(),
            Some("Run the admin-consent link again and accept.")
        );
        let o = parse(&format!(
            "error=invalid_request&error_description=AADSTS90094%3A+admin+needed&admin_consent=True&tenant={T}&state={STATE}"
        ))
        .unwrap();
        assert_eq!(o.status, ConsentStatus::Failed);
        assert_eq!(o.aadsts, Some(90094));
        assert_eq!(o.step, Some(4));
        assert!(
            o.error_description
                .unwrap()
                .starts_with("AADSTS90094: admin needed")
        );
        // unknown code: failed with a general fix
        let o = parse(&format!(
            "error=server_error&error_description=AADSTS1&state={STATE}"
        ))
        .unwrap();
        assert_eq!((o.status, o.aadsts), (ConsentStatus::Failed, Some(1)));
        assert!(o.fix.unwrap().contains("Privileged Role Administrator"));
        // access_denied without a code is a decline
        let o = parse(&format!("error=access_denied&state={STATE}")).unwrap();
        assert_eq!(o.status, ConsentStatus::Declined);
    }

    #[test]
    fn entras_words_reach_the_outcome_without_control_or_bidi_characters() {
        let o = parse(&format!(
            "error=invalid%1B_request&error_description=AADSTS90094%3A%1B%5D0%3Bx%07+admin%E2%80%AE+needed%0D%0ATrace+ID%3A+1&state={STATE}"
        ))
        .unwrap();
        assert_eq!(o.error.as_deref(), Some("invalid_request"));
        assert_eq!(
            o.error_description.as_deref(),
            Some("AADSTS90094:]0;x admin needed Trace ID: 1")
        );
        let o = parse(&format!("admin_consent=%1B%5B2JNo&state={STATE}")).unwrap();
        assert!(!o.message.contains('\u{1b}'), "{}", o.message);
        let e = parse(&format!("%1Bx=1&%1Bx=2&state={STATE}")).unwrap_err();
        assert_eq!(e, ConsentRedirectError::Duplicate("x".into()));
    }

    #[test]
    fn bad_or_missing_state_is_refused_even_with_consent() {
        let q = format!("admin_consent=True&tenant={T}");
        assert_eq!(parse(&q).unwrap_err().code(), "consent.missing_state");
        assert_eq!(
            parse(&format!("{q}&state=other")).unwrap_err().code(),
            "consent.bad_state"
        );
        assert_eq!(
            parse("error=access_denied&state=x").unwrap_err().code(),
            "consent.bad_state",
            "an error with the wrong state is not ours either"
        );
        assert_eq!(
            parse(&format!("{q}&state={STATE}&state={STATE}"))
                .unwrap_err()
                .code(),
            "consent.duplicate_param"
        );
    }

    #[test]
    fn missing_params() {
        assert_eq!(
            parse(&format!("state={STATE}")).unwrap_err().code(),
            "consent.incomplete"
        );
        assert_eq!(
            parse(&format!("tenant={T}&state={STATE}"))
                .unwrap_err()
                .code(),
            "consent.incomplete"
        );
        // consent without a tenant is still consent (the tenant is informational)
        let o = parse(&format!("admin_consent=True&state={STATE}")).unwrap();
        assert_eq!((o.status, o.tenant_id), (ConsentStatus::Consented, None));
        let o = parse(&format!("admin_consent=False&state={STATE}")).unwrap();
        assert_eq!(o.status, ConsentStatus::Failed);
    }

    #[test]
    fn consent_for_another_tenant_is_a_failure() {
        let other = "99999999-8888-4777-8666-555555555555";
        let o = parse(&format!("admin_consent=True&tenant={other}&state={STATE}")).unwrap();
        assert_eq!(o.status, ConsentStatus::Failed);
        assert!(o.message.contains(other));
        // with `organizations` (or a domain) any tenant is the answer
        let o = parse_consent_redirect(
            &format!("admin_consent=True&tenant={other}&state={STATE}"),
            STATE,
            Some("contoso.com"),
        )
        .unwrap();
        assert_eq!(o.status, ConsentStatus::Consented);
    }

    #[test]
    fn capture_links_are_built_from_the_profile() {
        let mut p = Profile {
            tenant_id: T.into(),
            client_id: "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9".into(),
            agent_url: "https://acme.halopsa.com".into(),
            ..Profile::default()
        };
        let b = basics::resolve(&p);
        assert_eq!(capture_segment(&p, &b, None).unwrap().as_str(), T);
        assert_eq!(
            capture_segment(&p, &b, Some(" Contoso.OnMicrosoft.com "))
                .unwrap()
                .as_str(),
            "contoso.onmicrosoft.com"
        );
        assert_eq!(
            capture_segment(&p, &b, Some("common/oauth2/v2.0/authorize?client_id=x&y="))
                .unwrap_err()
                .code(),
            "consent_capture.bad_tenant"
        );
        let seg = TenantSegment::tenant(T).unwrap();
        assert_eq!(
            capture_segment(&p, &b, Some("common")).unwrap_err().code(),
            "consent_capture.bad_tenant"
        );
        let url = capture_url(
            &b,
            &seg,
            "http://localhost:5000/entra-onboard/callback",
            "st",
        )
        .unwrap();
        assert_eq!(url.host_str(), Some("login.microsoftonline.com"));
        assert_eq!(url.path(), format!("/{T}/v2.0/adminconsent"));
        let q: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        assert!(q.contains(&(
            "redirect_uri".into(),
            "http://localhost:5000/entra-onboard/callback".into()
        )));
        assert!(q.contains(&("state".into(), "st".into())));
        assert!(q.contains(&(
            "scope".into(),
            "https://graph.microsoft.com/.default".into()
        )));
        p.client_id = "nope".into();
        assert_eq!(
            capture_url(&basics::resolve(&p), &seg, "http://localhost:1/x", "s")
                .unwrap_err()
                .code(),
            "consent_capture.profile"
        );
    }

    #[test]
    fn recording_goes_to_the_customer_row_or_the_profile() {
        let mut p = Profile::default();
        p.customer_tenants.push(crate::profile::CustomerTenant {
            tenant: "contoso.com".into(),
            ..Default::default()
        });
        let o = parse(&format!("admin_consent=True&tenant={T}&state={STATE}")).unwrap();
        let at = Utc::now();
        assert!(record_consent(&mut p, Some("Contoso.com"), &o, at));
        assert_eq!(
            p.customer_tenants[0].consent.status,
            ConsentStatus::Consented
        );
        assert_eq!(p.customer_tenants[0].consent.tenant_id.as_deref(), Some(T));
        assert!(p.admin_consent.is_none());
        assert!(!record_consent(&mut p, None, &o, at));
        assert_eq!(p.admin_consent.unwrap().at, Some(at));
    }

    const B: &str = "bbbbbbbb-0000-4000-8000-00000000000b";

    fn parse_for(q: &str, expected: Option<&str>) -> ConsentOutcome {
        parse_consent_redirect(q, STATE, expected).unwrap()
    }

    fn home() -> Profile {
        Profile {
            tenant_id: T.into(),
            ..Profile::default()
        }
    }

    #[test]
    fn an_answer_for_another_tenant_never_touches_the_home_record() {
        let at = Utc::now();
        // `consent --capture --tenant B` for a tenant that is not in the tracker yet.
        let mut p = home();
        let o = parse_for(
            &format!("admin_consent=True&tenant={B}&state={STATE}"),
            Some(B),
        );
        assert!(record_consent(&mut p, Some(B), &o, at));
        assert!(p.admin_consent.is_none(), "home tenant untouched");
        assert_eq!(p.customer_tenants.len(), 1);
        assert_eq!(p.customer_tenants[0].tenant, B);
        assert_eq!(
            p.customer_tenants[0].consent.status,
            ConsentStatus::Consented
        );
        // A refusal for B likewise.
        let refused = parse_for(
            &format!("error=access_denied&error_description=AADSTS65004&state={STATE}"),
            Some(B),
        );
        assert!(record_consent(&mut p, Some(B), &refused, at));
        assert!(p.admin_consent.is_none());
        assert_eq!(
            p.customer_tenants.len(),
            1,
            "the same row, not a second one"
        );
        // The home tenant asked by id (any spelling) goes on the home record.
        assert!(!record_consent(
            &mut p,
            Some(&T.to_uppercase()),
            &parse(&format!("admin_consent=True&tenant={T}&state={STATE}")).unwrap(),
            at
        ));
        assert_eq!(
            p.admin_consent.as_ref().unwrap().status,
            ConsentStatus::Consented
        );
    }

    #[test]
    fn a_multi_tenant_organizations_answer_goes_to_the_tenant_that_answered() {
        let at = Utc::now();
        let mut p = home();
        p.tenant_type = TenantType::Multi;
        let o = parse_for(
            &format!("admin_consent=True&tenant={B}&state={STATE}"),
            None,
        );
        assert!(record_consent(&mut p, None, &o, at));
        assert!(p.admin_consent.is_none());
        assert_eq!(p.customer_tenants[0].tenant, B);
        let o = parse(&format!("admin_consent=True&tenant={T}&state={STATE}")).unwrap();
        assert!(!record_consent(&mut p, None, &o, at));
        assert!(p.admin_consent.is_some());
    }

    #[test]
    fn roles_say_who_can_consent_to_graph_application_permissions() {
        let roles = consent_roles();
        let names: Vec<&str> = roles
            .iter()
            .filter(|r| r.graph_application_permissions)
            .map(|r| r.role.as_str())
            .collect();
        assert_eq!(
            names,
            ["Global Administrator", "Privileged Role Administrator"]
        );
    }
}
