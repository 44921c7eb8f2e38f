//! The sandbox tenant's identity provider: an Entra-like OpenID provider on 127.0.0.1 so
//! that a trainee, a trainer or the README's run command can walk every wizard step and a
//! passing SSO test with no Microsoft tenant.
//!
//! What it serves (paths as Entra's, `{tenant}` = [`SANDBOX_TENANT_ID`],
//! [`SANDBOX_TENANT_DOMAIN`], `organizations` or `common`):
//!
//! - `GET /{tenant}/v2.0/.well-known/openid-configuration` — discovery; the issuer is
//!   `<base>/<tenant id>/v2.0`, or Entra's `<base>/{tenantid}/v2.0` template for
//!   `organizations`/`common`.
//! - `GET /{tenant}/discovery/v2.0/keys` — the JWKS (one RSA-2048 key generated at start,
//!   RS256, with a `kid`).
//! - `GET /{tenant}/oauth2/v2.0/authorize` — `code id_token` + `form_post` (the SSO test)
//!   and `code` + `query` (the delegated public-client sign-in of the Graph automation);
//!   PKCE S256 required for every code; `nonce` required with an ID token; `state` echoed.
//!   A sign-in page offers the two [`DEMO_USERS`] (`amr` with and without `mfa`);
//!   a `login_hint` naming one of them skips the page.
//! - `POST /{tenant}/oauth2/v2.0/token` — `authorization_code` (client secret in the body
//!   or HTTP Basic, a certificate client assertion PS256/RS256 matched by `x5t#S256` or
//!   `x5t`, or nothing for a public client) and `client_credentials` for
//!   `https://graph.microsoft.com/.default` (the access token's `roles` are the app's
//!   granted application permissions).
//! - `GET /{tenant}/v2.0/adminconsent` — a consent page with Accept / Cancel; answers
//!   `admin_consent=True&tenant=…&state=…&scope=…` or, on Cancel,
//!   `error=access_denied&error_subcodes=cancel&error_description=AADSTS65004…` with
//!   `admin_consent=True`, as Entra does.
//! - `GET /{tenant}/oauth2/v2.0/logout`, `GET /` (the "portal": the tenant and its app
//!   registrations with the secret's Value and Secret ID to copy), `GET /error?code=N`,
//!   `GET /sandbox/info` (JSON [`SandboxInfo`]).
//!
//! Public sign-up (issue 14 point 7), on the same origin and over the same app registry:
//! an **Azure AD B2C**-style tenant at `/{SANDBOX_B2C_TENANT_NAME}.onmicrosoft.com/
//! {SANDBOX_B2C_USER_FLOW}/…` (discovery, keys, authorize, token; issuer
//! `<base>/<B2C tenant id>/v2.0/`, the user flow in `tfp`, no `tid`) and an **External
//! ID**-style tenant at `/{SANDBOX_EXTERNAL_TENANT_ID}/…` (issuer `<base>/<tenant id>/v2.0`
//! standing in for `https://<tenant id>.ciamlogin.com/<tenant id>/v2.0`); see [`signup`].
//!
//! Redirect URIs match as in Entra (reply-url.md): exact scheme, host and path (the path
//! case-sensitively), the port ignored for `localhost`/`127.0.0.1`. A redirect URI that is
//! not registered gets Entra's AADSTS50011 error *page*, never a redirect; errors after the
//! redirect URI is validated go back to it. Errors carry Entra's fields (see [`errors`]).
//!
//! It can never be confused with a real tenant: it listens on 127.0.0.1 only, so every
//! issuer and endpoint is `http://127.0.0.1:<port>/…`; every page has a SANDBOX banner;
//! every response has the `x-entra-onboard-sandbox` header; its identifiers are fixed,
//! documented and obviously fake (GUIDs starting `5a4db0c5`, the `.invalid` domain, a
//! secret Value starting `SANDBOX~`).
//!
//! State is in memory behind an `Arc` ([`IdpState`]); pending sign-ins and codes expire
//! after ten minutes and are capped in number.
//!
//! Left out, deliberately: refresh tokens and `offline_access`, sessions/SSO cookies
//! (every authorize shows the picker), `prompt` other than `none`, the device-code flow,
//! federated credentials, client-assertion `jti` replay detection, v1.0 endpoints and
//! tokens, SAML, multi-tenant apps from other tenants (there is one tenant), the
//! "need admin approval" page for a non-admin at the consent endpoint, `userinfo`.

mod errors;
mod flows;
pub(crate) mod keys;
mod pages;
mod signup;
mod token;

use entra_onboard_core::target::{Endpoint, Target, TargetError};
use std::collections::{HashMap, VecDeque};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{DefaultBodyLimit, Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use ts_rs::TS;
use url::Url;

use entra_onboard_core::ids::Sensitive;
use entra_onboard_core::validation::{REDIRECT_URI_FORBIDDEN, REDIRECT_URI_MAX_LEN};
use keys::{RegisteredCert, SigningKey};

/// Directory (tenant) ID of the sandbox tenant. Fixed and obviously fake: every sandbox
/// GUID starts with `5a4db0c5` ("sandbox").
pub const SANDBOX_TENANT_ID: &str = "5a4db0c5-7e1a-4a47-8000-000000000001";
/// Display name of the sandbox tenant.
pub const SANDBOX_TENANT_NAME: &str = "Sandbox (practice) tenant";
/// The tenant's domain: `.invalid` is reserved (RFC 2606) and never resolves.
pub const SANDBOX_TENANT_DOMAIN: &str = "sandbox.invalid";
/// Application (client) ID of the demo app registration.
pub const SANDBOX_CLIENT_ID: &str = "5a4db0c5-a991-4d30-8000-000000000002";
/// Display name of the demo app registration.
pub const SANDBOX_APP_NAME: &str = "Sandbox demo app (Halo SSO practice)";
/// Object ID of the demo app registration.
pub const SANDBOX_APP_OBJECT_ID: &str = "5a4db0c5-0b1e-4c70-8000-000000000005";
/// Object ID of the demo app's service principal (the `oid` of its app-only tokens).
pub const SANDBOX_SP_OBJECT_ID: &str = "5a4db0c5-5e1f-4000-8000-000000000004";
/// The demo client secret's **Value** (what the trainee pastes). Public and fake: it is
/// printed by `entra-onboard sandbox` and shown on the portal page; it works only here.
pub const SANDBOX_CLIENT_SECRET: &str = "SANDBOX~practice-secret.NOT-REAL_0123456789";
/// The demo client secret's **Secret ID** (a GUID; pasting it instead of the Value gives
/// AADSTS7000215, as in Entra).
pub const SANDBOX_SECRET_ID: &str = "5a4db0c5-5ec1-4e70-8000-000000000003";
/// The public client the Graph automation signs in with by default (Microsoft Graph
/// Command Line Tools' well-known id), registered in the sandbox with `http://localhost`.
pub const SANDBOX_PUBLIC_CLIENT_ID: &str = "14d82eec-204b-4c2f-b7e8-296a70dab67e";
/// Application permissions the demo app asks for (what the import feature needs).
pub const SANDBOX_REQUIRED_ROLES: [&str; 2] = ["User.Read.All", "Group.Read.All"];
/// Microsoft Graph, the only resource the sandbox issues access tokens for.
pub const GRAPH_RESOURCE: &str = "https://graph.microsoft.com";
/// Header on every response.
pub const SANDBOX_HEADER: &str = "x-entra-onboard-sandbox";

/// The sandbox's Azure AD B2C-style tenant name (`sandboxb2c.onmicrosoft.com`).
pub const SANDBOX_B2C_TENANT_NAME: &str = "sandboxb2c";
/// Its tenant ID (the GUID in its issuer).
pub const SANDBOX_B2C_TENANT_ID: &str = "5a4db0c5-b2c0-4000-8000-000000000020";
/// Its one sign-up and sign-in user flow.
pub const SANDBOX_B2C_USER_FLOW: &str = "B2C_1_signupsignin";
/// The sandbox's External ID-style tenant subdomain (`sandboxexternal.ciamlogin.com` in
/// real life; here every host is the sandbox's origin).
pub const SANDBOX_EXTERNAL_SUBDOMAIN: &str = "sandboxexternal";
/// Its tenant ID.
pub const SANDBOX_EXTERNAL_TENANT_ID: &str = "5a4db0c5-e7e1-4000-8000-000000000021";

/// How long a sign-in page, a code or a consent prompt stays usable (Entra's codes live
/// about ten minutes).
const PENDING_TTL: Duration = Duration::from_secs(600);
/// Cap on pending sign-ins and unredeemed codes, so a loop of requests cannot grow memory.
const MAX_PENDING: usize = 1000;
/// Lifetime of issued tokens.
const TOKEN_LIFETIME_SECS: i64 = 3599;

/// A demo user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoUser {
    /// `preferred_username` / `upn`.
    pub username: &'static str,
    /// `name`.
    pub name: &'static str,
    /// `oid`.
    pub oid: &'static str,
    /// `amr`.
    pub amr: &'static [&'static str],
    /// Whether `amr` includes `mfa`.
    pub mfa: bool,
    /// Directory role, for the portal page.
    pub role: &'static str,
}

/// The two demo users: an administrator who signed in with MFA, and a user with only a
/// password (so the SSO report shows "MFA: yes" and "MFA: no").
pub const DEMO_USERS: [DemoUser; 2] = [
    DemoUser {
        username: "admin@sandbox.invalid",
        name: "Sandbox Admin",
        oid: "5a4db0c5-ad01-4000-8000-000000000010",
        amr: &["pwd", "mfa"],
        mfa: true,
        role: "Global Administrator",
    },
    DemoUser {
        username: "user@sandbox.invalid",
        name: "Sandbox User",
        oid: "5a4db0c5-0fe1-4000-8000-000000000011",
        amr: &["pwd"],
        mfa: false,
        role: "User (no admin role)",
    },
];

/// True when `url` is a practice authority on this computer — the sandbox or a test
/// provider, never Microsoft — so the UI labels the profile SANDBOX. The trust boundary's
/// one loopback rule ([`entra_onboard_core::target::is_loopback_authority`]).
pub use entra_onboard_core::target::is_loopback_authority as is_sandbox_authority;

/// The sandbox could not start, or a change to its state was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SandboxError {
    /// The port could not be bound.
    #[error("the sandbox could not listen on 127.0.0.1:{port}: {reason}")]
    Bind {
        /// The port asked for (0 = any).
        port: u16,
        /// Why.
        reason: String,
    },
    /// The signing key could not be made.
    #[error("the sandbox's signing key could not be generated: {0}")]
    Key(String),
    /// The certificate is not usable.
    #[error("the certificate cannot be registered: {0}")]
    Certificate(String),
    /// No such app in the sandbox.
    #[error("the sandbox has no app with client ID {0}")]
    UnknownApp(String),
    /// The redirect URI is not one Entra would accept.
    #[error("the redirect URI cannot be registered: {0}")]
    RedirectUri(String),
}

impl SandboxError {
    /// Stable code for the UI.
    pub fn code(&self) -> &'static str {
        match self {
            SandboxError::Bind { .. } => "sandbox.bind",
            SandboxError::Key(_) => "sandbox.key",
            SandboxError::Certificate(_) => "sandbox.certificate",
            SandboxError::UnknownApp(_) => "sandbox.unknown_app",
            SandboxError::RedirectUri(_) => "sandbox.redirect_uri",
        }
    }
}

/// The claims of a Microsoft Graph access token `key` signed (signature and expiry
/// checked), or `None`.
fn graph_token_claims(key: &SigningKey, token: &str) -> Option<Value> {
    key.verify(token)
        .filter(|c| c.get("aud").and_then(Value::as_str) == Some(GRAPH_RESOURCE))
}

/// What the GUI shows about a running sandbox. No secret Value in it (the demo Value is
/// the public constant [`SANDBOX_CLIENT_SECRET`]; the portal page shows it).
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct SandboxInfo {
    /// `http://127.0.0.1:<port>`: the profile's `authority` (login host override).
    pub base_url: String,
    /// The portal page (`<base>/`).
    pub portal_url: String,
    /// Directory (tenant) ID.
    pub tenant_id: String,
    /// Tenant display name ("Sandbox (practice) tenant").
    pub tenant_name: String,
    /// Tenant domain (`sandbox.invalid`).
    pub tenant_domain: String,
    /// `<base>/v1.0`: the Microsoft Graph routes on the same port.
    pub graph_url: String,
    /// The tenant's app registrations (the demo app when it was seeded, and whatever was
    /// created since).
    pub apps: Vec<SandboxAppInfo>,
    /// The demo users.
    pub demo_users: Vec<DemoUserInfo>,
}

impl SandboxInfo {
    /// The portal page as an [`Endpoint`] of the sandbox's own practice target, for the
    /// browser.
    pub fn portal_endpoint(&self) -> Result<Endpoint, TargetError> {
        Target::practice(&self.base_url)?.check_login("portal page", &self.portal_url)
    }
}

/// An app registration in the sandbox, for the GUI (no secret Value).
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct SandboxAppInfo {
    /// Application (client) ID.
    pub client_id: String,
    /// Display name.
    pub name: String,
    /// Registered redirect URIs.
    pub redirect_uris: Vec<String>,
    /// Secret IDs of its client secrets (never the Values).
    pub secret_ids: Vec<String>,
    /// SHA-1 thumbprints of its certificates.
    pub certificate_thumbprints: Vec<String>,
    /// Application permissions granted (admin consent).
    pub granted_roles: Vec<String>,
    /// Whether an administrator consented to its delegated permissions (sign-in needs it).
    pub consented: bool,
}

/// A demo user, for the GUI.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct DemoUserInfo {
    /// Sign-in name.
    pub username: String,
    /// Display name.
    pub name: String,
    /// Whether the user's `amr` includes `mfa`.
    pub mfa: bool,
}

/// What a registered certificate looks like, for the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateInfo {
    /// Upper-case hex SHA-1 thumbprint (the portal's "Thumbprint").
    pub thumbprint: String,
    /// base64url SHA-256 of the DER (what `x5t#S256` must say).
    pub x5t_s256: String,
    /// Expiry.
    pub not_after: chrono::DateTime<chrono::Utc>,
}

/// An app registration as the provider enforces it: read from the sandbox's one
/// registry (the Graph double's objects), or the built-in public client.
pub(crate) type App = crate::graph::registry::RegisteredApp;

/// Entra's redirect URI match (reply-url.md): scheme, host and path exact (path
/// case-sensitive), query exact, no fragment; the port is ignored for loopback hosts.
pub fn redirect_matches(registered: &str, requested: &str) -> bool {
    let (Ok(r), Ok(q)) = (Url::parse(registered), Url::parse(requested)) else {
        return false;
    };
    if r.scheme() != q.scheme() || r.host_str() != q.host_str() || q.fragment().is_some() {
        return false;
    }
    let loopback = matches!(r.host_str(), Some("localhost" | "127.0.0.1"));
    if !loopback && r.port_or_known_default() != q.port_or_known_default() {
        return false;
    }
    r.path() == q.path() && r.query() == q.query()
}

/// A response mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Query,
    Fragment,
    FormPost,
}

/// An authorize or consent request waiting for the user's choice.
struct Pending {
    created: Instant,
    client_id: String,
    redirect_uri: String,
    mode: Mode,
    state: Option<String>,
    kind: PendingKind,
}

enum PendingKind {
    SignIn {
        code: bool,
        id_token: bool,
        scopes: Vec<String>,
        nonce: Option<String>,
        challenge: String,
        /// Which kind of tenant signs the user in (workforce, B2C, External ID).
        flavor: signup::Flavor,
    },
    Consent {
        scope: String,
    },
}

/// A finished choice waiting for the browser to pick it up (post/redirect/get).
struct Completed {
    created: Instant,
    redirect_uri: String,
    mode: Mode,
    params: Vec<(String, String)>,
}

/// An authorization code.
struct IssuedCode {
    created: Instant,
    client_id: String,
    redirect_uri: String,
    challenge: String,
    nonce: Option<String>,
    user: usize,
    scopes: Vec<String>,
    flavor: signup::Flavor,
}

#[derive(Default)]
struct Data {
    pending: HashMap<String, Pending>,
    completed: HashMap<String, Completed>,
    codes: HashMap<String, IssuedCode>,
    /// Recently redeemed codes (for AADSTS54005 rather than "not valid").
    redeemed: VecDeque<String>,
}

impl Data {
    /// Drops what has expired and, past the cap, the oldest.
    fn sweep(&mut self) {
        fn cap<T>(m: &mut HashMap<String, T>, created: impl Fn(&T) -> Instant) {
            m.retain(|_, v| created(v).elapsed() < PENDING_TTL);
            while m.len() >= MAX_PENDING {
                let Some(oldest) = m
                    .iter()
                    .min_by_key(|(_, v)| created(v))
                    .map(|(k, _)| k.clone())
                else {
                    break;
                };
                m.remove(&oldest);
            }
        }
        cap(&mut self.pending, |p| p.created);
        cap(&mut self.completed, |c| c.created);
        cap(&mut self.codes, |c| c.created);
        while self.redeemed.len() > MAX_PENDING {
            self.redeemed.pop_front();
        }
    }
}

struct Inner {
    base_url: String,
    key: Arc<SigningKey>,
    data: Mutex<Data>,
    /// The tenant's app registrations, service principals and consent: shared with the
    /// Graph routes, so what Graph changes is what sign-in enforces.
    registry: crate::graph::Registry,
}

/// The sandbox provider's state: apps, pending sign-ins, codes and the signing key.
/// Cheap to clone (an `Arc`).
#[derive(Clone)]
pub struct IdpState(Arc<Inner>);

impl std::fmt::Debug for IdpState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdpState")
            .field("base_url", &self.0.base_url)
            .finish_non_exhaustive()
    }
}

/// What a new sandbox tenant holds besides Microsoft Graph and the built-in public client.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Seed {
    /// The demo app registration ([`SANDBOX_CLIENT_ID`]) with its public demo secret.
    #[default]
    DemoApp,
    /// No app registration: a trainee creates one through Graph ("Create it for me") or
    /// the API, as in a real empty tenant.
    Empty,
}

/// The public client the Graph automation signs in with: Microsoft's, so it is not an app
/// registration of the tenant and needs no consent here.
fn public_client_app() -> App {
    App {
        client_id: SANDBOX_PUBLIC_CLIENT_ID.into(),
        object_id: "5a4db0c5-0b1e-4c70-8000-000000000006".into(),
        name: "Microsoft Graph Command Line Tools (sandbox stand-in)".into(),
        public_client: true,
        redirect_uris: vec!["http://localhost".into()],
        id_tokens_enabled: false,
        secrets: Vec::new(),
        certificates: Vec::new(),
        federated: Vec::new(),
        required_roles: Vec::new(),
        granted_roles: Vec::new(),
        service_principal: None,
        consented_scopes: None,
    }
}

impl IdpState {
    /// A fresh sandbox tenant with the demo app (not consented yet) served at `base_url`
    /// (`http://127.0.0.1:<port>`, no trailing slash). Generates the signing key.
    pub fn new(base_url: &str) -> Result<IdpState, SandboxError> {
        Self::with_seed(base_url, Seed::DemoApp)
    }

    /// A fresh sandbox tenant holding what `seed` says.
    pub fn with_seed(base_url: &str, seed: Seed) -> Result<IdpState, SandboxError> {
        let key = Arc::new(SigningKey::generate().map_err(SandboxError::Key)?);
        let base_url = base_url.trim_end_matches('/').to_string();
        // Graph accepts exactly the access tokens this provider issued for Graph.
        let k = key.clone();
        let check: crate::graph::TokenCheck =
            Arc::new(move |token: &str| graph_token_claims(&k, token).is_some());
        let registry = crate::graph::new_registry(&base_url, SANDBOX_TENANT_ID, "", Some(check));
        if seed == Seed::DemoApp {
            let mut t = registry.lock().unwrap_or_else(|p| p.into_inner());
            crate::graph::registry::seed_demo_app(&mut t);
        }
        Ok(IdpState(Arc::new(Inner {
            base_url,
            key,
            data: Mutex::new(Data::default()),
            registry,
        })))
    }

    fn data(&self) -> MutexGuard<'_, Data> {
        // A panic while holding the lock leaves consistent data (every change is one
        // assignment), so a poisoned lock is still usable.
        self.0.data.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn registry(&self) -> MutexGuard<'_, crate::graph::Tenant> {
        self.0.registry.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The registry, for the Graph routes served beside the provider.
    pub(crate) fn shared_registry(&self) -> crate::graph::Registry {
        self.0.registry.clone()
    }

    /// The app `client_id` as sign-in enforces it now (a snapshot).
    pub(crate) fn app(&self, client_id: &str) -> Option<App> {
        if client_id
            .trim()
            .eq_ignore_ascii_case(SANDBOX_PUBLIC_CLIENT_ID)
        {
            return Some(public_client_app());
        }
        self.registry().registered_app(client_id)
    }

    /// Every app registration, then the built-in public client.
    pub(crate) fn apps(&self) -> Vec<App> {
        let mut apps = self.registry().registered_apps();
        apps.push(public_client_app());
        apps
    }

    /// Runs `f` on the registry's app `client_id`; `UnknownApp` when there is none.
    fn edit<R>(
        &self,
        client_id: &str,
        f: impl FnOnce(&mut crate::graph::Tenant) -> Option<R>,
    ) -> Result<R, SandboxError> {
        f(&mut self.registry()).ok_or_else(|| SandboxError::UnknownApp(client_id.to_string()))
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> &str {
        &self.0.base_url
    }

    /// The tenant's issuer, `<base>/<tenant id>/v2.0`.
    pub fn issuer(&self) -> String {
        format!("{}/{SANDBOX_TENANT_ID}/v2.0", self.0.base_url)
    }

    /// Uploads a certificate (PEM or DER, public part only) to an app, as uploading a
    /// `.cer` in the portal does (it becomes one of the app's `keyCredentials`). RSA ≥ 2048
    /// bits only (Entra's minimum).
    pub fn register_certificate(
        &self,
        client_id: &str,
        cert: &[u8],
    ) -> Result<CertificateInfo, SandboxError> {
        let (c, der) = RegisteredCert::parse_with_der(cert).map_err(SandboxError::Certificate)?;
        if c.key_bits < 2048 {
            return Err(SandboxError::Certificate(format!(
                "RSA key size {} is less than the minimum required 2048 bits",
                c.key_bits
            )));
        }
        if self.app(client_id).is_some_and(|a| a.public_client) {
            return Err(SandboxError::Certificate(
                "a public client has no credentials".into(),
            ));
        }
        self.edit(client_id, |t| t.add_app_certificate(client_id, &der, &c))?;
        Ok(CertificateInfo {
            thumbprint: c.thumbprint.clone(),
            x5t_s256: c.x5t_s256.clone(),
            not_after: c.not_after,
        })
    }

    /// Adds a client secret with this Value and expiry (e.g. an expired one to practise
    /// AADSTS7000222). Returns its Secret ID.
    pub fn add_secret(
        &self,
        client_id: &str,
        value: Sensitive<String>,
        expires: chrono::DateTime<chrono::Utc>,
    ) -> Result<String, SandboxError> {
        self.edit(client_id, |t| {
            t.add_app_secret(
                client_id,
                None,
                value,
                "Added through the sandbox API",
                expires,
            )
        })
    }

    /// The portal's "New client secret": a fresh Value (shaped like the Graph double's),
    /// `description` and expiry `days` from now (Entra's recommended 180 when absent).
    /// Returns the Value and its Secret ID; a rotation by hand practises with it.
    pub fn new_secret(
        &self,
        client_id: &str,
        description: &str,
        days: i64,
    ) -> Result<(Sensitive<String>, String), SandboxError> {
        let mut bytes = [0u8; 30];
        getrandom::fill(&mut bytes)
            .map_err(|e| SandboxError::UnknownApp(format!("{client_id} ({e})")))?;
        use base64::Engine as _;
        let value = format!(
            "prt{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(bytes)
                .replace(['-', '_'], "~")
        );
        let expires = chrono::Utc::now() + chrono::TimeDelta::days(days.clamp(1, 730));
        let description = if description.trim().is_empty() {
            "New client secret"
        } else {
            description.trim()
        };
        let id = self.edit(client_id, |t| {
            t.add_app_secret(
                client_id,
                None,
                Sensitive::new(value.clone()),
                description,
                expires,
            )
        })?;
        Ok((Sensitive::new(value), id))
    }

    /// Registers a redirect URI on an app (Authentication blade). Refuses what Entra
    /// refuses: not https (except http://localhost and http://127.0.0.1), a fragment, more
    /// than 256 characters, the characters `! $ ' ( ) , ;`.
    pub fn add_redirect_uri(&self, client_id: &str, uri: &str) -> Result<(), SandboxError> {
        let bad = |m: &str| Err(SandboxError::RedirectUri(format!("{uri}: {m}")));
        if uri.len() > REDIRECT_URI_MAX_LEN {
            return bad("longer than 256 characters");
        }
        if uri.contains(REDIRECT_URI_FORBIDDEN) {
            return bad("contains one of ! $ ' ( ) , ;");
        }
        let Ok(u) = Url::parse(uri) else {
            return bad("not an absolute URL");
        };
        let loopback = matches!(u.host_str(), Some("localhost" | "127.0.0.1"));
        if !(u.scheme() == "https" || (u.scheme() == "http" && loopback)) {
            return bad("must start with https:// (http:// only for localhost)");
        }
        if u.fragment().is_some() {
            return bad("must not contain a fragment (#…)");
        }
        self.edit(client_id, |t| {
            t.edit_web(client_id, |web| {
                let mut uris = web["redirectUris"].as_array().cloned().unwrap_or_default();
                if !uris.iter().any(|r| r == uri) {
                    uris.push(json!(uri));
                }
                web["redirectUris"] = Value::Array(uris);
            })
        })
    }

    /// Removes a redirect URI (exact string). Returns whether it was registered.
    pub fn remove_redirect_uri(&self, client_id: &str, uri: &str) -> Result<bool, SandboxError> {
        self.edit(client_id, |t| {
            let mut removed = false;
            t.edit_web(client_id, |web| {
                if let Some(uris) = web["redirectUris"].as_array_mut() {
                    let before = uris.len();
                    uris.retain(|r| r != uri);
                    removed = uris.len() != before;
                }
            })?;
            Some(removed)
        })
    }

    /// The app's redirect URIs.
    pub fn redirect_uris(&self, client_id: &str) -> Result<Vec<String>, SandboxError> {
        self.app(client_id)
            .map(|a| a.redirect_uris)
            .ok_or_else(|| SandboxError::UnknownApp(client_id.to_string()))
    }

    /// Ticks or clears "ID tokens" (implicit grant and hybrid flows); cleared gives
    /// AADSTS700054 to `response_type=code id_token`, as in Entra.
    pub fn set_id_tokens_enabled(&self, client_id: &str, on: bool) -> Result<(), SandboxError> {
        self.edit(client_id, |t| {
            t.edit_web(client_id, |web| {
                web["implicitGrantSettings"]["enableIdTokenIssuance"] = json!(on);
            })
        })
    }

    /// Sets the application permissions an app asks for (API permissions blade).
    pub fn set_required_roles(
        &self,
        client_id: &str,
        roles: Vec<String>,
    ) -> Result<(), SandboxError> {
        self.edit(client_id, |t| t.set_required_roles(client_id, &roles))
    }

    /// Grants admin consent for the app's permissions, as Accept on the consent page
    /// does: its service principal, its application permissions and a tenant-wide grant
    /// of its delegated ones.
    pub fn grant_admin_consent(&self, client_id: &str) -> Result<(), SandboxError> {
        self.edit(client_id, |t| t.grant_consent(client_id))
    }

    /// Revokes every granted permission, application and delegated: sign-in then answers
    /// AADSTS65001.
    pub fn revoke_admin_consent(&self, client_id: &str) -> Result<(), SandboxError> {
        self.edit(client_id, |t| t.revoke_consent(client_id))
    }

    /// Application permissions granted to the app.
    pub fn granted_roles(&self, client_id: &str) -> Result<Vec<String>, SandboxError> {
        self.app(client_id)
            .map(|a| a.granted_roles)
            .ok_or_else(|| SandboxError::UnknownApp(client_id.to_string()))
    }

    /// Verifies an access token this sandbox issued (signature and expiry) and returns its
    /// claims — for the Graph double to accept the sandbox's tokens.
    pub fn verify_access_token(&self, token: &str) -> Option<Value> {
        graph_token_claims(&self.0.key, token)
    }

    /// What the GUI shows.
    pub fn info(&self) -> SandboxInfo {
        let apps = self
            .registry()
            .registered_apps()
            .into_iter()
            .map(|a| SandboxAppInfo {
                client_id: a.client_id,
                name: a.name,
                redirect_uris: a.redirect_uris,
                secret_ids: a.secrets.into_iter().map(|x| x.id).collect(),
                certificate_thumbprints: a.certificates.into_iter().map(|c| c.thumbprint).collect(),
                granted_roles: a.granted_roles,
                consented: a.consented_scopes.is_some(),
            })
            .collect();
        SandboxInfo {
            base_url: self.0.base_url.clone(),
            portal_url: format!("{}/", self.0.base_url),
            graph_url: format!("{}/v1.0", self.0.base_url),
            tenant_id: SANDBOX_TENANT_ID.into(),
            tenant_name: SANDBOX_TENANT_NAME.into(),
            tenant_domain: SANDBOX_TENANT_DOMAIN.into(),
            apps,
            demo_users: DEMO_USERS
                .iter()
                .map(|u| DemoUserInfo {
                    username: u.username.into(),
                    name: u.name.into(),
                    mfa: u.mfa,
                })
                .collect(),
        }
    }
}

/// Which tenant a path segment names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Segment {
    Tenant,
    Organizations,
    Common,
    /// The External ID-style tenant (public sign-up).
    External,
}

fn segment(s: &str) -> Option<Segment> {
    if s.eq_ignore_ascii_case(SANDBOX_TENANT_ID) || s.eq_ignore_ascii_case(SANDBOX_TENANT_DOMAIN) {
        Some(Segment::Tenant)
    } else if s.eq_ignore_ascii_case(SANDBOX_EXTERNAL_TENANT_ID) {
        Some(Segment::External)
    } else if s == "organizations" {
        Some(Segment::Organizations)
    } else if s == "common" {
        Some(Segment::Common)
    } else {
        None
    }
}

/// Query or form parameters; the first value of a name wins.
#[derive(Debug, Default)]
pub(crate) struct Params(Vec<(String, String)>);

impl Params {
    fn parse(raw: &[u8]) -> Params {
        Params(url::form_urlencoded::parse(raw).into_owned().collect())
    }

    fn query(raw: Option<String>) -> Params {
        Params::parse(raw.unwrap_or_default().as_bytes())
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }
}

pub(crate) fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut res = (status, body.to_string()).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    res
}

async fn discovery(State(s): State<IdpState>, Path(tenant): Path<String>) -> Response {
    let Some(seg) = segment(&tenant) else {
        return errors::tenant_not_found(&tenant).json(s.base_url());
    };
    let b = s.base_url();
    let (issuer, path) = match seg {
        Segment::Tenant => (s.issuer(), SANDBOX_TENANT_ID.to_string()),
        Segment::Organizations => (format!("{b}/{{tenantid}}/v2.0"), "organizations".into()),
        Segment::Common => (format!("{b}/{{tenantid}}/v2.0"), "common".into()),
        Segment::External => (
            signup::Flavor::ExternalId.issuer(b),
            SANDBOX_EXTERNAL_TENANT_ID.into(),
        ),
    };
    json_response(
        StatusCode::OK,
        &json!({
            "token_endpoint": format!("{b}/{path}/oauth2/v2.0/token"),
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "jwks_uri": format!("{b}/{path}/discovery/v2.0/keys"),
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": issuer,
            "request_uri_parameter_supported": false,
            "authorization_endpoint": format!("{b}/{path}/oauth2/v2.0/authorize"),
            "end_session_endpoint": format!("{b}/{path}/oauth2/v2.0/logout"),
            "http_logout_supported": true,
            "frontchannel_logout_supported": true,
            "code_challenge_methods_supported": ["S256"],
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nbf", "auth_time", "amr", "nonce", "name", "preferred_username", "email", "oid", "tid", "ver", "c_hash", "at_hash"],
            "tenant_region_scope": "SANDBOX",
            "cloud_instance_name": "sandbox.invalid",
            "sandbox": true,
        }),
    )
}

async fn jwks(State(s): State<IdpState>, Path(tenant): Path<String>) -> Response {
    let issuer = match segment(&tenant) {
        Some(Segment::Tenant) => s.issuer(),
        Some(Segment::External) => signup::Flavor::ExternalId.issuer(s.base_url()),
        Some(_) => format!("{}/{{tenantid}}/v2.0", s.base_url()),
        None => return errors::tenant_not_found(&tenant).json(s.base_url()),
    };
    json_response(StatusCode::OK, &s.0.key.jwks(&issuer))
}

async fn portal(State(s): State<IdpState>) -> Response {
    let apps: Vec<pages::PortalApp> = s
        .apps()
        .into_iter()
        .map(|a| pages::PortalApp {
            public_client: a.public_client,
            secrets: a
                .secrets
                .iter()
                .map(|x| pages::PortalSecret {
                    description: x.description.clone(),
                    expires: x.expires.format("%Y-%m-%d").to_string(),
                    value: x.value.as_ref().map(|v| v.expose().clone()),
                    id: x.id.clone(),
                })
                .collect(),
            certificates: a
                .certificates
                .iter()
                .map(|c| {
                    (
                        c.thumbprint.clone(),
                        c.subject.clone(),
                        c.not_after.format("%Y-%m-%d").to_string(),
                    )
                })
                .collect(),
            federated: a
                .federated
                .iter()
                .map(|f| {
                    (
                        f.name.clone(),
                        f.issuer.clone(),
                        f.subject.clone(),
                        f.audiences.join(", "),
                    )
                })
                .collect(),
            id_tokens: a.id_tokens_enabled,
            service_principal: a.service_principal.is_some(),
            consented_scopes: a.consented_scopes,
            name: a.name,
            client_id: a.client_id,
            object_id: a.object_id,
            redirect_uris: a.redirect_uris,
            required_roles: a.required_roles,
            granted_roles: a.granted_roles,
        })
        .collect();
    pages::portal(s.base_url(), &apps, &DEMO_USERS)
}

async fn error_lookup(RawQuery(q): RawQuery) -> Response {
    let p = Params::query(q);
    let code: String = p
        .get("code")
        .unwrap_or("")
        .chars()
        .filter(char::is_ascii_digit)
        .take(10)
        .collect();
    pages::message(
        StatusCode::OK,
        &format!("AADSTS{code}"),
        &format!(
            "The sandbox mimics this Entra error. Microsoft's current text for it is at https://login.microsoftonline.com/error?code={code}."
        ),
    )
}

/// `POST /sandbox/new-secret` (`client_id`, `description`, `days`): the portal's "New client
/// secret" button. A browser is sent back to the portal, which lists the Value (real Entra
/// shows it once); `Accept: application/json` gets `{value, secretId}` (the e2e's admin).
async fn new_secret(
    State(s): State<IdpState>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let f = Params::parse(&body);
    let days = f.get("days").and_then(|d| d.parse().ok()).unwrap_or(180);
    let made = s.new_secret(
        f.get("client_id").unwrap_or_default(),
        f.get("description").unwrap_or_default(),
        days,
    );
    let wants_json = headers
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"));
    match made {
        Ok((value, id)) if wants_json => json_response(
            StatusCode::OK,
            &serde_json::json!({"value": value.expose(), "secretId": id}),
        ),
        Ok(_) => axum::response::Redirect::to("/").into_response(),
        Err(e) => pages::message(StatusCode::BAD_REQUEST, "No such app", &e.to_string()),
    }
}

/// `POST /sandbox/upload-certificate`: the portal's "Upload certificate" (Certificates &
/// secrets > Certificates; Entra takes a .cer, .pem or .crt holding the public key only,
/// <https://learn.microsoft.com/entra/identity-platform/how-to-add-credentials>). A form
/// (`client_id`, `certificate`: the PEM text) from the portal page, or the file's bytes as
/// the body (PEM or DER, the .cer a rotation by hand writes) with `?client_id=`. The
/// certificate becomes one of the app's keyCredentials, as [`IdpState::register_certificate`]
/// does. A browser goes back to the portal; `Accept: application/json` gets
/// `{thumbprint, expires}`.
async fn upload_certificate(
    State(s): State<IdpState>,
    RawQuery(q): RawQuery,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let is_form = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let query = Params::query(q);
    let (client_id, cert): (String, Vec<u8>) = if is_form {
        let f = Params::parse(&body);
        (
            f.get("client_id").unwrap_or_default().to_string(),
            f.get("certificate").unwrap_or_default().as_bytes().to_vec(),
        )
    } else {
        (
            query.get("client_id").unwrap_or_default().to_string(),
            body.to_vec(),
        )
    };
    let wants_json = headers
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"));
    match s.register_certificate(&client_id, &cert) {
        Ok(info) if wants_json => json_response(
            StatusCode::OK,
            &serde_json::json!({
                "thumbprint": info.thumbprint,
                "expires": info.not_after.format("%Y-%m-%d").to_string(),
            }),
        ),
        Ok(_) => axum::response::Redirect::to("/").into_response(),
        Err(e) => pages::message(
            StatusCode::BAD_REQUEST,
            "The certificate was not uploaded",
            &e.to_string(),
        ),
    }
}

async fn info(State(s): State<IdpState>) -> Response {
    json_response(
        StatusCode::OK,
        &serde_json::to_value(s.info()).unwrap_or_default(),
    )
}

async fn not_found() -> Response {
    pages::message(
        StatusCode::NOT_FOUND,
        "Not found",
        "The sandbox does not serve this address. The portal is at /.",
    )
}

/// The provider's routes, for serving alone ([`start`]) or merged with other sandbox
/// routes (the Graph double): no fallback is set, so `Router::merge` with a router that
/// has one works. Every response gets the [`SANDBOX_HEADER`] header and `no-store`.
pub fn idp_router(state: IdpState) -> Router {
    Router::new()
        .route("/", get(portal))
        .route("/error", get(error_lookup))
        .route("/sandbox/info", get(info))
        .route("/sandbox/signin", post(flows::signin))
        .route("/sandbox/consent", post(flows::consent_decision))
        .route("/sandbox/complete", get(flows::complete))
        .route("/sandbox/new-secret", post(new_secret))
        .route("/sandbox/upload-certificate", post(upload_certificate))
        .route(
            "/{tenant}/v2.0/.well-known/openid-configuration",
            get(discovery),
        )
        .route("/{tenant}/discovery/v2.0/keys", get(jwks))
        .route("/{tenant}/oauth2/v2.0/authorize", get(flows::authorize))
        .route("/{tenant}/oauth2/v2.0/token", post(token::token))
        .route("/{tenant}/oauth2/v2.0/logout", get(flows::logout))
        .route("/{tenant}/v2.0/adminconsent", get(flows::admin_consent))
        .route(
            "/{tenant}/{policy}/v2.0/.well-known/openid-configuration",
            get(signup::b2c_discovery),
        )
        .route(
            "/{tenant}/{policy}/discovery/v2.0/keys",
            get(signup::b2c_jwks),
        )
        .route(
            "/{tenant}/{policy}/oauth2/v2.0/authorize",
            get(signup::b2c_authorize),
        )
        .route(
            "/{tenant}/{policy}/oauth2/v2.0/token",
            post(signup::b2c_token),
        )
        .with_state(state)
        .layer(DefaultBodyLimit::max(64 * 1024))
        .layer(axum::middleware::map_response(mark))
}

/// The SANDBOX marker and `no-store` on every response.
async fn mark(mut res: Response) -> Response {
    let h = res.headers_mut();
    h.insert(
        SANDBOX_HEADER,
        HeaderValue::from_static("practice tenant on this computer; not Microsoft"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    res
}

/// How to start the sandbox.
#[derive(Default)]
pub struct SandboxOptions {
    /// Port on 127.0.0.1; `None` or `Some(0)` picks a free one.
    pub port: Option<u16>,
    /// Start with admin consent already granted for the demo app.
    pub pre_consented: bool,
    /// What the tenant holds at start (the demo app, or nothing).
    pub seed: Seed,
}

/// A running sandbox. Dropping it stops the server; [`SandboxHandle::shutdown`] stops it
/// and waits.
pub struct SandboxHandle {
    state: IdpState,
    addr: SocketAddr,
    stop: CancellationToken,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for SandboxHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxHandle")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl SandboxHandle {
    /// `http://127.0.0.1:<port>` — the profile's `authority`.
    pub fn base_url(&self) -> &str {
        self.state.base_url()
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// [`SANDBOX_TENANT_ID`].
    pub fn tenant_id(&self) -> &'static str {
        SANDBOX_TENANT_ID
    }

    /// [`SANDBOX_CLIENT_ID`].
    pub fn client_id(&self) -> &'static str {
        SANDBOX_CLIENT_ID
    }

    /// The provider's state (register a certificate, grant consent…).
    pub fn state(&self) -> &IdpState {
        &self.state
    }

    /// The Graph side of the same registry (seeding, the request log); its base is
    /// `<base>/v1.0` on this port.
    pub fn graph(&self) -> crate::graph::GraphDouble {
        crate::graph::GraphDouble::attached(self.addr, self.state.shared_registry())
    }

    /// What the GUI shows.
    pub fn info(&self) -> SandboxInfo {
        self.state.info()
    }

    /// Stops the server and waits for it to finish.
    pub async fn shutdown(mut self) {
        self.stop.cancel();
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

impl Drop for SandboxHandle {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Starts the sandbox on 127.0.0.1 (never another interface) and returns at once; it
/// serves until the handle is dropped or shut down. Needs a Tokio runtime.
pub async fn start(options: SandboxOptions) -> Result<SandboxHandle, SandboxError> {
    let port = options.port.unwrap_or(0);
    let listener = tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
        .await
        .map_err(|e| SandboxError::Bind {
            port,
            reason: e.to_string(),
        })?;
    let addr = listener.local_addr().map_err(|e| SandboxError::Bind {
        port,
        reason: e.to_string(),
    })?;
    let state = IdpState::with_seed(&format!("http://{addr}"), options.seed)?;
    if options.pre_consented && options.seed == Seed::DemoApp {
        state.grant_admin_consent(SANDBOX_CLIENT_ID)?;
    }
    // The provider and Microsoft Graph (`/v1.0/...`) on one port, over one registry.
    let app = idp_router(state.clone())
        .merge(crate::graph::router(state.shared_registry()))
        .fallback(not_found)
        // Only its own origin, no cross-origin posts (DNS rebinding, CSRF): see `guard`.
        .layer(axum::middleware::from_fn_with_state(
            addr.port(),
            super::guard::guard,
        ))
        // The marker again after the merge, so the extra routes and refusals carry it too.
        .layer(axum::middleware::map_response(mark));
    let stop = CancellationToken::new();
    let s = stop.clone();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async move { s.cancelled().await })
            .await;
    });
    Ok(SandboxHandle {
        state,
        addr,
        stop,
        task: Some(task),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use entra_onboard_core::steps::redirects::WIZARD_REDIRECT_URI;

    #[test]
    fn sandbox_authority_is_loopback_only() {
        assert!(is_sandbox_authority("http://127.0.0.1:8123"));
        assert!(is_sandbox_authority("http://localhost:8123/"));
        assert!(is_sandbox_authority("http://[::1]:8123"));
        assert!(!is_sandbox_authority("https://login.microsoftonline.com"));
        assert!(!is_sandbox_authority("https://127.0.0.1.example.com"));
        assert!(!is_sandbox_authority("http://10.0.0.1"));
        assert!(!is_sandbox_authority("not a url"));
    }

    #[test]
    fn redirect_uri_matching_is_entras() {
        let reg = WIZARD_REDIRECT_URI;
        assert!(redirect_matches(
            reg,
            "http://localhost:51234/entra-onboard/callback"
        ));
        assert!(redirect_matches(reg, reg));
        assert!(!redirect_matches(
            reg,
            "http://localhost:51234/Entra-Onboard/callback"
        ));
        assert!(!redirect_matches(
            reg,
            "http://localhost:51234/entra-onboard/callback/"
        ));
        assert!(!redirect_matches(
            reg,
            "https://localhost/entra-onboard/callback"
        ));
        assert!(!redirect_matches(
            reg,
            "http://127.0.0.1:5/entra-onboard/callback"
        ));
        assert!(redirect_matches(
            "http://localhost",
            "http://localhost:4000/"
        ));
        assert!(redirect_matches(
            "https://acme.halopsa.com/auth",
            "https://ACME.halopsa.com/auth"
        ));
        assert!(!redirect_matches(
            "https://acme.halopsa.com/auth",
            "https://acme.halopsa.com:8443/auth"
        ));
        assert!(!redirect_matches(reg, "not a url"));
    }

    #[test]
    fn identifiers_are_fixed_guids_and_the_secret_passes_step_3() {
        for id in [
            SANDBOX_TENANT_ID,
            SANDBOX_CLIENT_ID,
            SANDBOX_SECRET_ID,
            SANDBOX_SP_OBJECT_ID,
            SANDBOX_APP_OBJECT_ID,
            DEMO_USERS[0].oid,
            DEMO_USERS[1].oid,
        ] {
            assert_eq!(entra_onboard_core::ids::parse_guid(id).as_deref(), Some(id));
            assert!(id.starts_with("5a4db0c5"));
        }
        assert!(
            entra_onboard_core::steps::credential::check_secret_value(SANDBOX_CLIENT_SECRET)
                .is_ok()
        );
        assert!(
            entra_onboard_core::steps::credential::check_secret_value(SANDBOX_SECRET_ID).is_err()
        );
        assert!(SANDBOX_CLIENT_SECRET.starts_with("SANDBOX~"));
    }

    #[test]
    fn state_api() {
        let s = IdpState::new("http://127.0.0.1:9").unwrap();
        assert!(s.granted_roles(SANDBOX_CLIENT_ID).unwrap().is_empty());
        s.grant_admin_consent(SANDBOX_CLIENT_ID).unwrap();
        assert_eq!(
            s.granted_roles(SANDBOX_CLIENT_ID).unwrap(),
            SANDBOX_REQUIRED_ROLES
        );
        assert_eq!(
            s.granted_roles("nope").unwrap_err().code(),
            "sandbox.unknown_app"
        );
        assert!(
            s.add_redirect_uri(SANDBOX_CLIENT_ID, "http://acme.example/x")
                .is_err()
        );
        assert!(
            s.add_redirect_uri(SANDBOX_CLIENT_ID, "https://acme.example/a(b)")
                .is_err()
        );
        s.add_redirect_uri(SANDBOX_CLIENT_ID, "https://acme.halopsa.com/auth")
            .unwrap();
        assert!(
            s.remove_redirect_uri(SANDBOX_CLIENT_ID, "https://acme.halopsa.com/auth")
                .unwrap()
        );
        let err = s
            .register_certificate(SANDBOX_CLIENT_ID, b"not a cert")
            .unwrap_err();
        assert_eq!(err.code(), "sandbox.certificate");
        let info = s.info();
        assert_eq!(info.apps.len(), 1, "the demo app only");
        assert_eq!(info.apps[0].secret_ids, [SANDBOX_SECRET_ID]);
        assert!(
            !serde_json::to_string(&info)
                .unwrap()
                .contains(SANDBOX_CLIENT_SECRET)
        );
    }
}
