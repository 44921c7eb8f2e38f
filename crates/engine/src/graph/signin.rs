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
use crate::ids::Sensitive;
use crate::loopback::{self, Limits, Listener, LoopbackError};
use crate::profile::Profile;
use crate::sso_test::{BrowserFn, CancellationToken};
use crate::steps::basics;
use crate::target::{Endpoint, Target, TenantSegment};
use crate::validation::Issues;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
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

/// Largest token-endpoint answer read.
const MAX_TOKEN_RESPONSE_BYTES: usize = 256 * 1024;

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

fn random_b64(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).expect("the OS random generator failed");
    URL_SAFE_NO_PAD.encode(buf)
}

/// The profile's [`Target`] and tenant segment: its tenant when valid, else
/// `organizations` (the admin's own tenant). An authority the trust boundary refuses is an
/// error before anything is opened.
pub fn authority_for(profile: &Profile) -> Result<(Target, TenantSegment), SigninError> {
    let mut issues = Issues::default();
    let b = basics::check(profile, &mut issues);
    let target = Target::from_profile(profile)
        .map_err(|e| SigninError::Profile(format!("authority: {e}. {}", e.fix())))?;
    let segment = match &b.tenant {
        Some(basics::TenantRef::Id(t)) => TenantSegment::id(t),
        Some(basics::TenantRef::Domain(d)) => {
            TenantSegment::tenant(d).unwrap_or_else(TenantSegment::organizations)
        }
        None => TenantSegment::organizations(),
    };
    Ok((target, segment))
}

/// Builds the authorize URL on `target` (exposed for tests and for showing it).
pub fn authorize_url(
    target: &Target,
    segment: &TenantSegment,
    client_id: &str,
    redirect_uri: &str,
    scope: &str,
    state: &str,
    challenge: &str,
) -> Endpoint {
    target.authorize(segment).with_query(&[
        ("client_id", client_id),
        ("response_type", "code"),
        ("redirect_uri", redirect_uri),
        ("response_mode", "query"),
        ("scope", scope),
        ("state", state),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
        ("prompt", "select_account"),
    ])
}

#[derive(Deserialize)]
struct RawToken {
    access_token: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
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
    let state = random_b64(24);
    let verifier = Sensitive::new(random_b64(48));
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.expose().as_bytes()));
    let url = authorize_url(
        &target,
        &segment,
        &options.client_id,
        &redirect_uri,
        &scope,
        &state,
        &challenge,
    );
    let emit = |p: SigninProgress| {
        if let Some(f) = &options.progress {
            f(&p);
        }
    };
    match (options.open_browser)(&url) {
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
        &state,
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
    let form = [
        ("grant_type", "authorization_code"),
        ("client_id", options.client_id.as_str()),
        ("code", code.expose().as_str()),
        ("redirect_uri", redirect_uri.as_str()),
        ("code_verifier", verifier.expose().as_str()),
        ("scope", scope.as_str()),
    ];
    let mut res = http
        .post(token_endpoint.url().clone())
        .header("accept", "application/json")
        .form(&form)
        .send()
        .await
        .map_err(|e| SigninError::Token(crate::sso_test::oidc::transport(&e)))?;
    // Bounded: a token answer is a few kilobytes.
    let mut body = Vec::new();
    while let Some(chunk) = res
        .chunk()
        .await
        .map_err(|e| SigninError::Token(crate::sso_test::oidc::transport(&e)))?
    {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_TOKEN_RESPONSE_BYTES {
            return Err(SigninError::Token(
                "the token endpoint's answer is too large".into(),
            ));
        }
    }
    let raw: RawToken = serde_json::from_slice(&body)
        .map_err(|_| SigninError::Token("the token endpoint did not answer with JSON".into()))?;
    if let Some(error) = raw.error {
        // Shown in the terminal and the UI: no control or bidi characters.
        return Err(SigninError::Refused {
            error: crate::text::cleaned(error),
            description: crate::text::cleaned(raw.error_description.unwrap_or_default()),
        });
    }
    let access = raw
        .access_token
        .ok_or_else(|| SigninError::Token("no access_token in the answer".into()))?;
    let claims = crate::sso_test::oidc::unverified_payload(&access).unwrap_or_default();
    let text = |k: &str| claims.get(k).and_then(|v| v.as_str()).map(str::to_string);
    Ok(SignedIn {
        tenant_id: text("tid"),
        user: text("upn").or_else(|| text("unique_name")),
        scopes: text("scp")
            .map(|s| s.split(' ').map(str::to_string).collect())
            .unwrap_or_default(),
        token: StaticToken::new(Sensitive::new(access)),
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
        let url = authorize_url(
            &target,
            &segment,
            DEFAULT_CLIENT_ID,
            "http://localhost:5555/",
            "https://graph.microsoft.us/Application.ReadWrite.All",
            "st",
            "ch",
        );
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
