//! The browser side: authorize, the sign-in and consent pages' answers, admin consent,
//! logout.
//!
//! Order of checks at authorize, as Entra: the tenant, the app and the redirect URI are
//! checked first and fail with an error *page* (nothing can be sent to an unchecked
//! redirect URI); everything after that fails by sending `error`/`error_description`
//! (and `state`) back to the redirect URI in the requested response mode.
//!
//! A choice on a page is a POST; its answer is stored and the browser is sent (303) to
//! `/sandbox/complete?txn=…`, which answers once: the form_post page or a redirect.

use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::errors::{self, AadError};
use super::keys::{half_hash, random};
use super::signup::Flavor;
use super::{
    Completed, DEMO_USERS, IdpState, IssuedCode, Mode, Params, Pending, PendingKind,
    SANDBOX_TENANT_ID, Segment, pages, segment,
};

const OIDC_SCOPES: [&str; 4] = ["openid", "profile", "email", "offline_access"];

fn redirect(location: &str, status: StatusCode) -> Response {
    let mut res = status.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res
}

/// Sends `params` to `redirect_uri` in `mode`.
fn answer(redirect_uri: &str, mode: Mode, params: &[(String, String)]) -> Response {
    let encoded = || {
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params)
            .finish()
    };
    match mode {
        Mode::FormPost => pages::form_post(redirect_uri, params),
        Mode::Query => {
            let sep = if redirect_uri.contains('?') { '&' } else { '?' };
            redirect(
                &format!("{redirect_uri}{sep}{}", encoded()),
                StatusCode::FOUND,
            )
        }
        Mode::Fragment => redirect(&format!("{redirect_uri}#{}", encoded()), StatusCode::FOUND),
    }
}

fn with_state(mut params: Vec<(String, String)>, state: Option<&str>) -> Vec<(String, String)> {
    if let Some(s) = state {
        params.push(("state".into(), s.into()));
    }
    params
}

/// `GET /{tenant}/oauth2/v2.0/authorize`: the client checked (errors as pages), then the
/// request (errors back to the redirect URI), then the sign-in page — or, with a
/// `login_hint` naming a demo user, the answer straight away.
pub(crate) async fn authorize(
    State(s): State<IdpState>,
    Path(tenant): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let flavor = match segment(&tenant) {
        None => return pages::error(&errors::tenant_not_found(&tenant)),
        Some(Segment::External) => Flavor::ExternalId,
        Some(_) => Flavor::Workforce,
    };
    authorize_as(&s, flavor, q)
}

/// Authorize for a tenant already checked, signing the user in as `flavor`'s tenant does.
pub(crate) fn authorize_as(s: &IdpState, flavor: Flavor, q: Option<String>) -> Response {
    let s = s.clone();
    let p = Params::query(q);
    let client = match registered_client(&s, &p) {
        Ok(c) => c,
        Err(page) => return *page,
    };
    let state = p.get("state");

    // From here on errors go back to the (registered) redirect URI.
    let types: Vec<&str> = p
        .get("response_type")
        .unwrap_or("")
        .split(' ')
        .filter(|t| !t.is_empty())
        .collect();
    let mode = match response_mode(&p, &types) {
        Ok(m) => m,
        Err((default_mode, e)) => {
            return answer(
                client.redirect_uri,
                default_mode,
                &with_state(e.redirect_params(), state),
            );
        }
    };
    let kind = match sign_in_request(&p, &types, mode, client.id_tokens_enabled, flavor) {
        Ok(k) => k,
        Err(e) => {
            return answer(
                client.redirect_uri,
                mode,
                &with_state(e.redirect_params(), state),
            );
        }
    };
    let pending = Pending {
        created: Instant::now(),
        client_id: client.client_id.to_string(),
        redirect_uri: client.redirect_uri.to_string(),
        mode,
        state: state.map(str::to_string),
        kind,
    };
    // A login_hint naming a demo user skips the page (no password in the sandbox).
    if let Some(hint) = p.get("login_hint")
        && let Some(user) = DEMO_USERS
            .iter()
            .position(|u| u.username.eq_ignore_ascii_case(hint))
    {
        let params = issue(&s, &pending, user);
        return answer(&pending.redirect_uri, pending.mode, &params);
    }
    let txn = random(24);
    {
        let mut d = s.data();
        d.sweep();
        d.pending.insert(txn.clone(), pending);
    }
    pages::sign_in(&txn, &client.app_name, &DEMO_USERS)
}

/// The client of an authorize request, checked before anything is sent to its redirect URI.
struct Client<'p> {
    client_id: &'p str,
    redirect_uri: &'p str,
    app_name: String,
    id_tokens_enabled: bool,
}

/// The tenant, the app and its registered redirect URI; any of them wrong is an error
/// page (nothing can be sent to an unchecked redirect URI).
fn registered_client<'p>(s: &IdpState, p: &'p Params) -> Result<Client<'p>, Box<Response>> {
    let Some(client_id) = p.get("client_id") else {
        return Err(Box::new(pages::error(&errors::missing("client_id"))));
    };
    let Some(redirect_uri) = p.get("redirect_uri") else {
        return Err(Box::new(pages::error(&errors::missing("redirect_uri"))));
    };
    let Some(app) = s.app(client_id) else {
        return Err(Box::new(pages::error(&errors::app_not_found(client_id))));
    };
    if !app.redirect_registered(redirect_uri) {
        return Err(Box::new(pages::error(&errors::redirect_mismatch(
            redirect_uri,
            client_id,
        ))));
    }
    Ok(Client {
        client_id,
        redirect_uri,
        app_name: app.name,
        id_tokens_enabled: app.id_tokens_enabled,
    })
}

/// The response mode asked for, or the default for the response types (fragment when a
/// token is in the front channel, else query). An unknown mode is answered in the default.
fn response_mode(p: &Params, types: &[&str]) -> Result<Mode, (Mode, AadError)> {
    let default_mode = if types.contains(&"id_token") || types.contains(&"token") {
        Mode::Fragment
    } else {
        Mode::Query
    };
    match p.get("response_mode") {
        None => Ok(default_mode),
        Some("query") => Ok(Mode::Query),
        Some("fragment") => Ok(Mode::Fragment),
        Some("form_post") => Ok(Mode::FormPost),
        Some(other) => Err((
            default_mode,
            AadError::new(
                "invalid_request",
                900144,
                format!(
                    "The value '{other}' of the parameter 'response_mode' is not supported; use query, fragment or form_post."
                ),
            ),
        )),
    }
}

/// The sign-in request's rules, in Entra's order: response types (no implicit access
/// token; an ID token needs a non-query mode, the app's "ID tokens" setting, the openid
/// scope and a nonce), PKCE S256 for a code, and no silent sign-in.
fn sign_in_request(
    p: &Params,
    types: &[&str],
    mode: Mode,
    id_tokens_enabled: bool,
    flavor: Flavor,
) -> Result<PendingKind, AadError> {
    let code = types.contains(&"code");
    let id_token = types.contains(&"id_token");
    if types.is_empty() {
        return Err(errors::missing("response_type"));
    }
    if let Some(t) = types
        .iter()
        .find(|t| !matches!(**t, "code" | "id_token" | "token"))
    {
        return Err(AadError::new(
            "unsupported_response_type",
            70005,
            format!("response_type '{t}' is not supported."),
        ));
    }
    if types.contains(&"token") {
        return Err(AadError::new(
            "unsupported_response_type",
            70005,
            "response_type 'token' is not enabled for the application.",
        ));
    }
    if id_token && mode == Mode::Query {
        return Err(AadError::new(
            "invalid_request",
            70005,
            "response_mode 'query' is not allowed when response_type includes 'id_token'; use form_post or fragment.",
        ));
    }
    if id_token && !id_tokens_enabled {
        return Err(AadError::new(
            "unsupported_response_type",
            700054,
            "response_type 'id_token' is not enabled for the application.",
        ));
    }
    let Some(scope) = p.get("scope") else {
        return Err(errors::missing("scope"));
    };
    let scopes: Vec<String> = scope
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    if id_token && !scopes.iter().any(|s| s == "openid") {
        return Err(AadError::new(
            "invalid_request",
            70005,
            "response_type 'id_token' requires the 'openid' scope.",
        ));
    }
    let nonce = p.get("nonce").map(str::to_string);
    if id_token && nonce.is_none() {
        return Err(errors::missing("nonce"));
    }
    let challenge = p.get("code_challenge").unwrap_or_default().to_string();
    if code {
        check_pkce(p, &challenge)?;
    }
    if p.get("prompt") == Some("none") {
        return Err(AadError::new(
            "login_required",
            50058,
            "A silent sign-in request was sent but no user is signed in.",
        ));
    }
    Ok(PendingKind::SignIn {
        code,
        id_token,
        scopes,
        nonce,
        challenge,
        flavor,
    })
}

/// PKCE S256 for every code: the sandbox is stricter than Entra (which requires PKCE only
/// for SPAs) because every client of the wizard sends it.
fn check_pkce(p: &Params, challenge: &str) -> Result<(), AadError> {
    if challenge.is_empty() {
        return Err(errors::missing("code_challenge"));
    }
    if p.get("code_challenge_method") != Some("S256") {
        return Err(AadError::new(
            "invalid_request",
            50149,
            "Invalid Code_Challenge_method parameter. The sandbox accepts only S256.",
        ));
    }
    if challenge.len() != 43 {
        return Err(AadError::new(
            "invalid_request",
            501491,
            "Invalid size of Code_Challenge parameter.",
        ));
    }
    Ok(())
}

/// The sign-in answer for `user`: a code and/or an ID token, with `state` and
/// `session_state`, as Entra sends them.
fn issue(s: &IdpState, p: &Pending, user: usize) -> Vec<(String, String)> {
    let PendingKind::SignIn {
        code: want_code,
        id_token,
        scopes,
        nonce,
        challenge,
        flavor,
    } = &p.kind
    else {
        return Vec::new();
    };
    // Consent is checked after the user is known, as Entra does; the registry may have
    // changed since the request arrived (Graph, the consent page).
    match s.app(&p.client_id) {
        None => {
            return with_state(
                errors::app_not_found(&p.client_id).redirect_params(),
                p.state.as_deref(),
            );
        }
        Some(app) if !app.consented_to(&flavor.needs_consent(scopes)) => {
            return with_state(
                errors::not_consented(&app.client_id, &app.name).redirect_params(),
                p.state.as_deref(),
            );
        }
        Some(_) => {}
    }
    let mut params = Vec::new();
    let mut code_value = None;
    if *want_code {
        let c = format!("sandbox.{}", random(48));
        let mut d = s.data();
        d.sweep();
        d.codes.insert(
            c.clone(),
            IssuedCode {
                created: Instant::now(),
                client_id: p.client_id.clone(),
                redirect_uri: p.redirect_uri.clone(),
                challenge: challenge.clone(),
                nonce: nonce.clone(),
                user,
                scopes: scopes.clone(),
                flavor: *flavor,
            },
        );
        params.push(("code".to_string(), c.clone()));
        code_value = Some(c);
    }
    if *id_token {
        let mut claims = id_token_claims(s, *flavor, &p.client_id, user, nonce.as_deref(), scopes);
        if let Some(c) = &code_value {
            claims["c_hash"] = json!(half_hash(c));
        }
        params.push(("id_token".into(), s.0.key.sign(&claims)));
    }
    let mut params = with_state(params, p.state.as_deref());
    params.push(("session_state".into(), uuid::Uuid::new_v4().to_string()));
    params
}

/// The claims of a v2.0 ID token for `user` and `client_id`.
pub(crate) fn id_token_claims(
    s: &IdpState,
    flavor: Flavor,
    client_id: &str,
    user: usize,
    nonce: Option<&str>,
    scopes: &[String],
) -> serde_json::Value {
    let u = &DEMO_USERS[user];
    let now = chrono::Utc::now().timestamp();
    let mut c = json!({
        "aud": client_id,
        "iss": s.issuer(),
        "iat": now,
        "nbf": now,
        "exp": now + super::TOKEN_LIFETIME_SECS,
        "amr": u.amr,
        "name": u.name,
        "oid": u.oid,
        "preferred_username": u.username,
        "sub": pairwise_sub(client_id, u.oid),
        "tid": SANDBOX_TENANT_ID,
        "uti": random(16),
        "ver": "2.0",
    });
    if let Some(n) = nonce {
        c["nonce"] = json!(n);
    }
    if scopes.iter().any(|s| s == "email") {
        c["email"] = json!(u.username);
    }
    flavor.shape(&mut c, s.base_url(), u);
    c
}

/// Entra's `sub` is pairwise: the same user has a different `sub` per app.
pub(crate) fn pairwise_sub(client_id: &str, oid: &str) -> String {
    use base64::Engine as _;
    use sha2::Digest as _;
    let d = sha2::Sha256::digest(format!("{client_id}|{oid}|sandbox").as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(d)
}

/// The scopes without the OpenID ones and without the Graph prefix (`scp`).
pub(crate) fn resource_scopes(scopes: &[String]) -> Vec<String> {
    scopes
        .iter()
        .filter(|s| !OIDC_SCOPES.contains(&s.as_str()))
        .map(|s| {
            s.strip_prefix(super::GRAPH_RESOURCE)
                .map(|r| r.trim_start_matches('/'))
                .unwrap_or(s)
                .to_string()
        })
        .collect()
}

fn expired_page() -> Response {
    pages::message(
        StatusCode::BAD_REQUEST,
        "This page has expired",
        "The sign-in or consent request is no longer waiting (it was answered already, or ten minutes passed). Start again from the wizard.",
    )
}

fn complete_redirect(s: &IdpState, c: Completed) -> Response {
    let txn = random(24);
    {
        let mut d = s.data();
        d.sweep();
        d.completed.insert(txn.clone(), c);
    }
    redirect(
        &format!("/sandbox/complete?txn={txn}"),
        StatusCode::SEE_OTHER,
    )
}

/// `POST /sandbox/signin` (`txn`, and `user=<username>` or `action=cancel`).
pub(crate) async fn signin(State(s): State<IdpState>, body: Bytes) -> Response {
    let f = Params::parse(&body);
    let Some(p) = f.get("txn").and_then(|t| s.data().pending.remove(t)) else {
        return expired_page();
    };
    if !matches!(p.kind, PendingKind::SignIn { .. }) {
        return expired_page();
    }
    let params = if f.get("action") == Some("cancel") {
        with_state(errors::declined().redirect_params(), p.state.as_deref())
    } else {
        let Some(user) = f.get("user").and_then(|u| {
            DEMO_USERS
                .iter()
                .position(|d| d.username.eq_ignore_ascii_case(u))
        }) else {
            return pages::message(
                StatusCode::BAD_REQUEST,
                "Pick an account",
                "Choose one of the demo accounts on the sign-in page.",
            );
        };
        issue(&s, &p, user)
    };
    complete_redirect(
        &s,
        Completed {
            created: Instant::now(),
            redirect_uri: p.redirect_uri,
            mode: p.mode,
            params,
        },
    )
}

/// `GET /sandbox/complete?txn=…`: the stored answer, once.
pub(crate) async fn complete(State(s): State<IdpState>, RawQuery(q): RawQuery) -> Response {
    let p = Params::query(q);
    match p.get("txn").and_then(|t| s.data().completed.remove(t)) {
        Some(c) => answer(&c.redirect_uri, c.mode, &c.params),
        None => expired_page(),
    }
}

/// `GET /{tenant}/v2.0/adminconsent`.
pub(crate) async fn admin_consent(
    State(s): State<IdpState>,
    Path(tenant): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let p = Params::query(q);
    if segment(&tenant).is_none() {
        return pages::error(&errors::tenant_not_found(&tenant));
    }
    let Some(client_id) = p.get("client_id") else {
        return pages::error(&errors::missing("client_id"));
    };
    let Some(redirect_uri) = p.get("redirect_uri") else {
        return pages::error(&errors::missing("redirect_uri"));
    };
    let (name, roles) = {
        let Some(app) = s.app(client_id) else {
            return pages::error(&errors::app_not_found(client_id));
        };
        if !app.redirect_registered(redirect_uri) {
            return pages::error(&errors::redirect_mismatch(redirect_uri, client_id));
        }
        (app.name, app.required_roles)
    };
    let state = p.get("state");
    let Some(scope) = p.get("scope") else {
        let mut params = with_state(errors::missing("scope").redirect_params(), state);
        params.push(("admin_consent".into(), "True".into()));
        return answer(redirect_uri, Mode::Query, &params);
    };
    let txn = random(24);
    {
        let mut d = s.data();
        d.sweep();
        d.pending.insert(
            txn.clone(),
            Pending {
                created: Instant::now(),
                client_id: client_id.to_string(),
                redirect_uri: redirect_uri.to_string(),
                mode: Mode::Query,
                state: state.map(str::to_string),
                kind: PendingKind::Consent {
                    scope: scope.to_string(),
                },
            },
        );
    }
    pages::consent(&txn, &name, client_id, &roles)
}

/// `POST /sandbox/consent` (`txn`, `decision=accept|cancel`).
pub(crate) async fn consent_decision(State(s): State<IdpState>, body: Bytes) -> Response {
    let f = Params::parse(&body);
    let Some(p) = f.get("txn").and_then(|t| s.data().pending.remove(t)) else {
        return expired_page();
    };
    let PendingKind::Consent { scope } = &p.kind else {
        return expired_page();
    };
    let params = match f.get("decision") {
        Some("accept") => {
            if s.grant_admin_consent(&p.client_id).is_err() {
                return expired_page();
            }
            with_state(
                vec![
                    ("admin_consent".into(), "True".into()),
                    ("tenant".into(), SANDBOX_TENANT_ID.into()),
                ],
                p.state.as_deref(),
            )
            .into_iter()
            .chain([("scope".to_string(), scope.clone())])
            .collect()
        }
        _ => {
            // Entra sends admin_consent=True with the error too: read `error` first.
            let mut v = with_state(errors::declined().redirect_params(), p.state.as_deref());
            v.push(("admin_consent".into(), "True".into()));
            v
        }
    };
    complete_redirect(
        &s,
        Completed {
            created: Instant::now(),
            redirect_uri: p.redirect_uri,
            mode: Mode::Query,
            params,
        },
    )
}

/// `GET /{tenant}/oauth2/v2.0/logout`: a "signed out" page, or a redirect to a
/// `post_logout_redirect_uri` registered on some app.
pub(crate) async fn logout(
    State(s): State<IdpState>,
    Path(tenant): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let p = Params::query(q);
    if segment(&tenant).is_none() {
        return pages::error(&errors::tenant_not_found(&tenant));
    }
    if let Some(uri) = p.get("post_logout_redirect_uri") {
        let known = s.apps().iter().any(|a| a.redirect_registered(uri));
        if known {
            let params = with_state(Vec::new(), p.get("state"));
            if params.is_empty() {
                return redirect(uri, StatusCode::FOUND);
            }
            return answer(uri, Mode::Query, &params);
        }
    }
    pages::message(
        StatusCode::OK,
        "You signed out",
        "You signed out of the sandbox (practice) tenant. It keeps no session, so there was nothing to clear.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scp_strips_oidc_scopes_and_the_graph_prefix() {
        let s: Vec<String> = [
            "openid",
            "https://graph.microsoft.com/User.Read",
            "Application.ReadWrite.All",
            "offline_access",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(
            resource_scopes(&s),
            ["User.Read", "Application.ReadWrite.All"]
        );
    }

    #[test]
    fn sub_is_pairwise() {
        let u = DEMO_USERS[0].oid;
        assert_ne!(pairwise_sub("a", u), pairwise_sub("b", u));
        assert_eq!(pairwise_sub("a", u).len(), 43);
    }

    #[test]
    fn segments() {
        assert_eq!(segment(SANDBOX_TENANT_ID), Some(Segment::Tenant));
        assert_eq!(segment("SANDBOX.invalid"), Some(Segment::Tenant));
        assert_eq!(segment("organizations"), Some(Segment::Organizations));
        assert_eq!(segment("contoso.com"), None);
    }
}
