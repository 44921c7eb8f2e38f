//! The admin's delegated sign-in for Graph automation: authorization code + PKCE (S256) as
//! a public client, on the loopback listener of the SSO test, in the profile's cloud.
//!
//! The redirect URI is `http://localhost:<port>/` — root path — because that is what
//! Microsoft's first-party public clients register (`http://localhost`); Entra ignores the
//! port of loopback redirect URIs but matches the path (reply-url.md). The code comes back
//! as a query (`response_mode=query`, the default for `response_type=code`).
//!
//! Scopes are exactly what the chosen operations need ([`scopes_for_apply`],
//! [`scopes_for_doctor`]), each qualified with the cloud's Graph host
//! (`https://graph.microsoft.us/Application.ReadWrite.All` in GCC High). No
//! `offline_access`: one sign-in serves one run; nothing is kept after it.
//!
//! Left out: device code flow (Conditional Access often blocks it, and it is phishable),
//! token caching, refresh tokens, WAM/broker sign-in.

use std::sync::Arc;
use std::time::Duration;

use super::StaticToken;
use crate::loopback::{self, Limits, Listener, LoopbackError};
use crate::oauth::{self, Authorization, AuthorizeRequest, TokenEndpoint, TokenError};
use crate::profile::Profile;
use crate::sso_test::{BrowserFn, CancellationToken};
use crate::steps::basics;
use crate::target::{Target, TenantSegment};
use crate::validation::Issues;
use serde::Serialize;
use ts_rs::TS;

/// The default public client: **Microsoft Graph Command Line Tools**
/// (`14d82eec-204b-4c2f-b7e8-296a70dab67e`, the client behind `Connect-MgGraph`).
///
/// Why this one: it is a Microsoft first-party *public* client present in every tenant of
/// every cloud where Microsoft Graph PowerShell works (Global, USGov, USGovDoD, China); it
/// registers `http://localhost` as a redirect URI, so an auth-code + PKCE sign-in on any
/// loopback port works; and it may request any Graph delegated permission dynamically, so
/// the wizard asks for exactly the scopes the chosen steps need. Admins already know its
/// consent prompt from Graph PowerShell, and tenants that restrict it do so knowingly —
/// then [`SigninOptions::client_id`] takes the id of an own public client app with
/// `http://localhost` registered under "Mobile and desktop applications".
///
/// Not chosen: Azure PowerShell's client (`1950a258-…`, used by CIPP with device code) —
/// its pre-authorised scopes are fixed and it is aimed at Azure Resource Manager.
pub const DEFAULT_CLIENT_ID: &str = "14d82eec-204b-4c2f-b7e8-296a70dab67e";

/// What the sign-in does now (the GUI shows it; the CLI prints it to stderr).
#[derive(Debug, Clone, Serialize, TS)]
#[serde(tag = "kind", rename_all = "camelCase")]
#[ts(export, rename = "GraphSigninProgress")]
pub enum SigninProgress {
    /// The browser was asked to open the sign-in page.
    BrowserOpened {
        /// The link (state and PKCE challenge only; no secret).
        url: String,
    },
    /// No browser: show the link for copying.
    BrowserFailed {
        /// The link.
        url: String,
        /// Why.
        message: String,
    },
    /// The answer arrived; redeeming the code.
    Redeeming,
}

/// Hears sign-in progress.
pub type SigninProgressFn = Arc<dyn Fn(&SigninProgress) + Send + Sync>;

/// How to sign in.
#[derive(Clone)]
pub struct SigninOptions {
    /// The public client id ([`DEFAULT_CLIENT_ID`] unless the tenant blocks it).
    pub client_id: String,
    /// Longest wait for the browser to come back.
    pub timeout: Duration,
    /// Opens the system browser.
    pub open_browser: BrowserFn,
    /// Progress.
    pub progress: Option<SigninProgressFn>,
}

impl Default for SigninOptions {
    fn default() -> Self {
        SigninOptions {
            client_id: DEFAULT_CLIENT_ID.into(),
            timeout: Duration::from_secs(300),
            open_browser: Arc::new(crate::browser::open),
            progress: None,
        }
    }
}

/// The sign-in did not produce a token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SigninError {
    /// The profile cannot say where to sign in.
    #[error("cannot sign in for this profile: {0}")]
    Profile(String),
    /// The loopback listener failed, timed out or was cancelled.
    #[error(transparent)]
    Listener(#[from] LoopbackError),
    /// Entra answered the sign-in with an error.
    #[error("the sign-in was refused: {error}: {description}")]
    Refused {
        /// OAuth `error`.
        error: String,
        /// `error_description` (AADSTS…).
        description: String,
    },
    /// The token endpoint failed.
    #[error("no Graph token: {0}")]
    Token(String),
}

impl SigninError {
    /// Stable code for the UI.
    pub fn code(&self) -> &'static str {
        match self {
            SigninError::Profile(_) => "graph_signin.profile",
            SigninError::Listener(e) => e.code(),
            SigninError::Refused { .. } => "graph_signin.refused",
            SigninError::Token(_) => "graph_signin.token",
        }
    }
}

/// A signed-in admin: the Graph token and what it says about itself.
pub struct SignedIn {
    /// The token, ready for [`super::GraphClient`].
    pub token: StaticToken,
    /// The tenant the admin signed in to (`tid`, read without validation: Graph validates).
    pub tenant_id: Option<String>,
    /// Who signed in (`upn`/`unique_name`), for the progress line.
    pub user: Option<String>,
    /// The delegated scopes granted (`scp`).
    pub scopes: Vec<String>,
}

/// The Graph permissions `apply` needs for these choices.
pub fn scopes_for_apply(credential: bool, consent: bool, app_roles: bool) -> Vec<&'static str> {
    let mut s = vec!["Application.ReadWrite.All"];
    if consent {
        if app_roles {
            s.push("AppRoleAssignment.ReadWrite.All");
        }
        s.push("DelegatedPermissionGrant.ReadWrite.All");
    }
    if credential {
        // The app-management policies are read before a secret is added.
        s.push("Policy.Read.All");
    }
    s
}

/// The Graph permissions `doctor` needs: read applications, service principals and their
/// grants (oauth2PermissionGrants need Directory.Read.All to list).
pub fn scopes_for_doctor() -> Vec<&'static str> {
    vec!["Application.Read.All", "Directory.Read.All"]
}

/// The profile's [`Target`] and tenant segment: its tenant when valid, else
/// `organizations` (the admin's own tenant). An authority the trust boundary refuses is an
/// error before anything is opened.
pub fn authority_for(profile: &Profile) -> Result<(Target, TenantSegment), SigninError> {
    let mut issues = Issues::default();
    let b = basics::check(profile, &mut issues);
    let target = workforce_target(profile)?;
    let segment = match &b.tenant {
        Some(basics::TenantRef::Id(t)) => TenantSegment::id(t),
        Some(basics::TenantRef::Domain(d)) => {
            TenantSegment::tenant(d).unwrap_or_else(TenantSegment::organizations)
        }
        None => TenantSegment::organizations(),
    };
    Ok((target, segment))
}

/// The profile's [`Target`] for the Graph automation, without step 1's other checks: the
/// trust boundary's answer, and a public sign-up profile refused (the Graph automation
/// drives a workforce tenant; B2C and External ID apps are registered by hand with step 2's
/// checklist, issue 14 point 7).
pub fn workforce_target(profile: &Profile) -> Result<Target, SigninError> {
    let target = Target::from_profile(profile)
        .map_err(|e| SigninError::Profile(format!("authority: {e}. {}", e.fix())))?;
    if let Some(service) = target.signup() {
        return Err(SigninError::Profile(format!(
            "public_signup: Create it for me, the doctor and the sync preview work on workforce tenants, not {}. Register the app with step 2's checklist.",
            service.name()
        )));
    }
    Ok(target)
}

/// The authorize link on `target` with PKCE and a fresh `state` (exposed for tests and for
/// showing it).
pub fn authorize_url(
    target: &Target,
    segment: &TenantSegment,
    client_id: &str,
    redirect_uri: &str,
    scope: &str,
) -> Result<Authorization, SigninError> {
    oauth::authorize(
        &target.authorize(segment),
        &AuthorizeRequest {
            client_id,
            redirect_uri,
            response_type: "code",
            scope,
            extra: &[("response_mode", "query"), ("prompt", "select_account")],
        },
    )
    .map_err(SigninError::Token)
}

/// Signs the admin in and returns a Graph token with `scopes` (unqualified names such as
/// `Application.ReadWrite.All`).
pub async fn sign_in(
    profile: &Profile,
    scopes: &[&str],
    options: &SigninOptions,
    cancel: &CancellationToken,
) -> Result<SignedIn, SigninError> {
    if crate::ids::parse_guid(&options.client_id).is_none() {
        return Err(SigninError::Profile(format!(
            "the sign-in client id {:?} is not a GUID",
            options.client_id
        )));
    }
    let (target, segment) = authority_for(profile)?;
    let graph = target.cloud().graph_host();
    let scope = scopes
        .iter()
        .map(|s| format!("https://{graph}/{s}"))
        .collect::<Vec<_>>()
        .join(" ");
    let listener = Listener::bind().await?.with_callback_path("/");
    let redirect_uri = listener.redirect_uri();
    let authorization =
        authorize_url(&target, &segment, &options.client_id, &redirect_uri, &scope)?;
    let url = authorization.url();
    let emit = |p: SigninProgress| {
        if let Some(f) = &options.progress {
            f(&p);
        }
    };
    match (options.open_browser)(url) {
        Ok(()) => emit(SigninProgress::BrowserOpened {
            url: url.to_string(),
        }),
        Err(e) => emit(SigninProgress::BrowserFailed {
            url: url.to_string(),
            message: e.to_string(),
        }),
    }
    let deadline = crate::sso_test::deadline_after(options.timeout);
    let cb = loopback::wait(
        listener,
        authorization.state(),
        Limits::default(),
        deadline,
        cancel,
        |_| {},
    )
    .await?;
    if let Some(error) = cb.error {
        return Err(SigninError::Refused {
            error,
            description: cb.error_description.unwrap_or_default(),
        });
    }
    let code = cb
        .code
        .ok_or_else(|| SigninError::Token("the answer has no authorization code".into()))?;
    emit(SigninProgress::Redeeming);
    let http = crate::http::http_client(Duration::from_secs(30)).map_err(SigninError::Token)?;
    let token_endpoint = target.token(&segment);
    // A public client: no secret, no assertion; PKCE binds the code to this sign-in.
    let tokens = TokenEndpoint::new(&http, &token_endpoint, &options.client_id, None)
        .redeem_code(&code, authorization, Some(&scope))
        .await
        .map_err(|e| match e {
            TokenError::Endpoint {
                error, description, ..
            } => SigninError::Refused { error, description },
            other => SigninError::Token(other.to_string()),
        })?;
    let claims =
        crate::sso_test::oidc::unverified_payload(tokens.access_token.expose()).unwrap_or_default();
    let text = |k: &str| claims.get(k).and_then(|v| v.as_str()).map(str::to_string);
    Ok(SignedIn {
        tenant_id: text("tid"),
        user: text("upn").or_else(|| text("unique_name")),
        scopes: text("scp")
            .map(|s| s.split(' ').map(str::to_string).collect())
            .unwrap_or_default(),
        token: StaticToken::new(tokens.access_token),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorize_url_asks_only_for_the_given_scopes_in_the_profiles_cloud() {
        let p = Profile {
            cloud: crate::cloud::Cloud::Usgov,
            tenant_id: "72f988bf-86f1-41af-91ab-2d7cd011db47".into(),
            ..Profile::default()
        };
        let (target, segment) = authority_for(&p).unwrap();
        assert_eq!(target.authority(), "https://login.microsoftonline.us");
        assert_eq!(segment.as_str(), "72f988bf-86f1-41af-91ab-2d7cd011db47");
        let authorization = authorize_url(
            &target,
            &segment,
            DEFAULT_CLIENT_ID,
            "http://localhost:5555/",
            "https://graph.microsoft.us/Application.ReadWrite.All",
        )
        .unwrap();
        let url = authorization.url();
        let q: Vec<(String, String)> = url.url().query_pairs().into_owned().collect();
        let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(
            get("scope"),
            Some("https://graph.microsoft.us/Application.ReadWrite.All")
        );
        assert_eq!(get("code_challenge_method"), Some("S256"));
        assert_eq!(get("redirect_uri"), Some("http://localhost:5555/"));
        assert!(!url.as_str().contains("offline_access"));
    }

    #[test]
    fn scopes_follow_the_choices() {
        assert_eq!(
            scopes_for_apply(false, false, false),
            ["Application.ReadWrite.All"]
        );
        assert_eq!(
            scopes_for_apply(true, true, true),
            [
                "Application.ReadWrite.All",
                "AppRoleAssignment.ReadWrite.All",
                "DelegatedPermissionGrant.ReadWrite.All",
                "Policy.Read.All"
            ]
        );
    }

    /// A browser that follows the link at once: the loopback gets `code` and the link's
    /// `state` in the query, as Entra's `response_mode=query` sends them.
    fn browser_with_code(code: &'static str) -> BrowserFn {
        Arc::new(move |url: &crate::target::Endpoint| {
            let q: Vec<(String, String)> = url.url().query_pairs().into_owned().collect();
            let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
            let redirect = url::Url::parse(&get("redirect_uri").unwrap()).unwrap();
            let state = get("state").unwrap();
            let port = redirect.port().unwrap();
            std::thread::spawn(move || {
                use std::io::{Read, Write};
                let mut s = std::net::TcpStream::connect(("localhost", port)).unwrap();
                let req = format!(
                    "GET /?code={code}&state={state} HTTP/1.1\r\nHost: localhost:{port}\r\nConnection: close\r\n\r\n"
                );
                s.write_all(req.as_bytes()).unwrap();
                let _ = s.read_to_end(&mut Vec::new());
            });
            Ok(())
        })
    }

    async fn sign_in_against(
        status: u16,
        body: &str,
    ) -> (Result<SignedIn, SigninError>, crate::oauth::testing::Seen) {
        let (target, seen) =
            crate::oauth::testing::endpoint_once(status, "application/json", body.into()).await;
        let p = Profile {
            tenant_id: "72f988bf-86f1-41af-91ab-2d7cd011db47".into(),
            authority: Some(target.authority().to_string()),
            ..Profile::default()
        };
        let options = SigninOptions {
            timeout: Duration::from_secs(20),
            open_browser: browser_with_code("the-code"),
            ..SigninOptions::default()
        };
        let r = sign_in(
            &p,
            &["Application.ReadWrite.All"],
            &options,
            &CancellationToken::new(),
        )
        .await;
        (r, seen.await.unwrap())
    }

    #[tokio::test]
    async fn the_code_is_redeemed_as_a_public_client_with_pkce_and_the_scopes() {
        let payload = base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            r#"{"tid":"72f988bf-86f1-41af-91ab-2d7cd011db47","upn":"admin@contoso.example","scp":"Application.ReadWrite.All"}"#,
        );
        let body = format!(r#"{{"access_token":"h.{payload}.s","token_type":"Bearer"}}"#);
        let (r, seen) = sign_in_against(200, &body).await;
        let signed_in = r.unwrap();
        assert_eq!(signed_in.user.as_deref(), Some("admin@contoso.example"));
        assert_eq!(signed_in.scopes, ["Application.ReadWrite.All"]);
        assert!(
            seen.head
                .starts_with("POST /72f988bf-86f1-41af-91ab-2d7cd011db47/oauth2/v2.0/token "),
            "{}",
            seen.head
        );
        assert_eq!(seen.get("grant_type"), Some("authorization_code"));
        assert_eq!(seen.get("code"), Some("the-code"));
        assert_eq!(seen.get("client_id"), Some(DEFAULT_CLIENT_ID));
        assert!(seen.get("code_verifier").is_some_and(|v| v.len() >= 43));
        assert!(
            seen.get("redirect_uri")
                .is_some_and(|v| v.starts_with("http://localhost:") && v.ends_with('/'))
        );
        assert_eq!(
            seen.get("scope"),
            Some("https://graph.microsoft.com/Application.ReadWrite.All")
        );
        assert_eq!(seen.get("client_secret"), None);
    }

    #[tokio::test]
    async fn a_refused_redemption_is_entras_error_not_a_transport_failure() {
        let (r, _) = sign_in_against(
            400,
            r#"{"error":"invalid_grant","error_description":"AADSTS70008: The provided authorization code has expired.","error_codes":[70008]}"#,
        )
        .await;
        match r.err().unwrap() {
            SigninError::Refused { error, description } => {
                assert_eq!(error, "invalid_grant");
                assert!(description.starts_with("AADSTS70008"), "{description}");
            }
            other => panic!("{other}"),
        }
    }

    #[test]
    fn a_tenantless_profile_signs_in_to_organizations() {
        let (_, segment) = authority_for(&Profile::default()).unwrap();
        assert_eq!(segment.as_str(), "organizations");
    }

    #[test]
    fn a_look_alike_authority_is_refused_before_any_browser() {
        let p = Profile {
            authority: Some("https://login.microsoftonline.com.evil.example".into()),
            ..Profile::default()
        };
        assert_eq!(
            authority_for(&p).unwrap_err().code(),
            "graph_signin.profile"
        );
    }
}
