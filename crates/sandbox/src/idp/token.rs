//! `POST /{tenant}/oauth2/v2.0/token`: client authentication, then the
//! `authorization_code` or `client_credentials` grant.
//!
//! Client authentication, as Entra: a confidential app presents exactly one of a client
//! secret (`client_secret` in the body, or HTTP Basic with the form-encoded id and secret,
//! RFC 6749 §2.3.1) or a client assertion (`private_key_jwt`: PS256 or RS256, found by
//! `x5t#S256` or `x5t` among the app's certificates, `iss` = `sub` = client id, `aud` =
//! the token endpoint, `nbf`/`exp` around now); a public client presents none.
//!
//! Access tokens are for Microsoft Graph only and are shaped like Graph's v1.0 tokens
//! (`aud` `https://graph.microsoft.com`, `iss` `<base>/<tenant>/`, `scp` or `roles`,
//! `idtyp`), signed with the sandbox key so the Graph double can check them
//! ([`super::IdpState::verify_access_token`]).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use jsonwebtoken::Algorithm;
use serde_json::{Value, json};
use subtle::ConstantTimeEq as _;

use super::errors::{self, AadError};
use super::flows::{id_token_claims, pairwise_sub, resource_scopes};
use super::keys::{jwt_header, s256};
use super::{
    App, DEMO_USERS, GRAPH_RESOURCE, IdpState, PENDING_TTL, Params, SANDBOX_TENANT_DOMAIN,
    SANDBOX_TENANT_ID, SANDBOX_TENANT_NAME, Segment, TOKEN_LIFETIME_SECS, json_response, segment,
};

/// Clock skew allowed on a client assertion's `nbf`/`exp`.
const ASSERTION_SKEW_SECS: i64 = 300;
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// Microsoft Graph's application id, accepted as the resource of `/.default`.
const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";

/// How the client proved itself (`azpacr`: 0 public, 1 secret, 2 certificate).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Auth {
    Public,
    Secret,
    Certificate,
}

impl Auth {
    fn azpacr(self) -> &'static str {
        match self {
            Auth::Public => "0",
            Auth::Secret => "1",
            Auth::Certificate => "2",
        }
    }
}

pub(crate) async fn token(
    State(s): State<IdpState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match handle(&s, &tenant, &headers, &body) {
        Ok(v) => json_response(StatusCode::OK, &v),
        Err(e) => e.json(s.base_url()),
    }
}

fn basic_auth(headers: &HeaderMap) -> Option<(String, String)> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = v.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(super::keys::b64_std(rest)?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let dec = |s: &str| {
        percent_encoding::percent_decode_str(&s.replace('+', " "))
            .decode_utf8()
            .ok()
            .map(|c| c.into_owned())
    };
    Some((dec(id)?, dec(secret)?))
}

fn handle(s: &IdpState, tenant: &str, headers: &HeaderMap, body: &[u8]) -> Result<Value, AadError> {
    let seg = segment(tenant).ok_or_else(|| errors::tenant_not_found(tenant))?;
    handle_in(s, Some(seg), headers, body)
}

/// The token endpoint for a tenant already checked: `seg` is `None` for the B2C user
/// flow's endpoint, which redeems codes but issues no app-only Graph token.
pub(crate) fn handle_in(
    s: &IdpState,
    seg: Option<Segment>,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Value, AadError> {
    let f = Params::parse(body);
    let grant = f
        .get("grant_type")
        .ok_or_else(|| errors::missing("grant_type"))?;
    let basic = basic_auth(headers);
    let client_id = match (f.get("client_id"), &basic) {
        (Some(a), Some((b, _))) if !a.eq_ignore_ascii_case(b) => {
            return Err(AadError::new(
                "invalid_request",
                9002313,
                "Invalid request. Request is malformed or invalid. (The client_id in the body and in the Authorization header differ.)",
            ));
        }
        (Some(a), _) => a.to_string(),
        (None, Some((b, _))) => b.clone(),
        (None, None) => return Err(errors::missing("client_id")),
    };
    let app = s
        .app(&client_id)
        .ok_or_else(|| errors::app_not_found(&client_id).status(StatusCode::BAD_REQUEST))?;
    let secret = f
        .get("client_secret")
        .map(str::to_string)
        .or_else(|| basic.map(|(_, s)| s));
    let auth = authenticate(s, &app, &f, secret.as_deref())?;
    let service_principal = app.service_principal.clone();
    let granted = app.granted_roles.clone();
    match grant {
        "authorization_code" => code_grant(s, &client_id, auth, &f),
        "client_credentials" => match seg {
            Some(seg) => {
                client_credentials(s, seg, &client_id, service_principal, granted, auth, &f)
            }
            None => Err(AadError::new(
                "unauthorized_client",
                700016,
                "The sandbox's B2C user flow endpoint redeems sign-in codes only; app-only tokens come from the tenant's own token endpoint.",
            )),
        },
        other => Err(AadError::new(
            "unsupported_grant_type",
            70003,
            format!("The app requested an unsupported grant type '{other}'."),
        )),
    }
}

fn authenticate(
    s: &IdpState,
    app: &App,
    f: &Params,
    secret: Option<&str>,
) -> Result<Auth, AadError> {
    let assertion = f.get("client_assertion");
    if app.public_client {
        if secret.is_some() || assertion.is_some() {
            return Err(errors::public_client_credential());
        }
        return Ok(Auth::Public);
    }
    match (secret, assertion) {
        (Some(_), Some(_)) => Err(AadError::new(
            "invalid_request",
            9002313,
            "Invalid request. Request is malformed or invalid. (Send either a client secret or a client assertion, not both.)",
        )),
        (Some(given), None) => {
            let hit = app.secrets.iter().find(|x| {
                x.value
                    .as_ref()
                    .is_some_and(|v| bool::from(v.expose().as_bytes().ct_eq(given.as_bytes())))
            });
            match hit {
                None => Err(errors::invalid_secret(&app.client_id)),
                Some(x) if x.expires < chrono::Utc::now() => {
                    Err(errors::expired_secret(&app.client_id))
                }
                Some(_) => Ok(Auth::Secret),
            }
        }
        (None, Some(jwt)) => {
            if f.get("client_assertion_type") != Some(JWT_BEARER) {
                return Err(errors::assertion(
                    50027,
                    format!(
                        "JWT token is invalid or malformed. (client_assertion_type must be {JWT_BEARER}.)"
                    ),
                ));
            }
            check_assertion(s, app, jwt)?;
            Ok(Auth::Certificate)
        }
        (None, None) => Err(errors::no_credential()),
    }
}

fn check_assertion(s: &IdpState, app: &App, jwt: &str) -> Result<(), AadError> {
    let malformed = || errors::assertion(50027, "JWT token is invalid or malformed.");
    let header = jwt_header(jwt).ok_or_else(malformed)?;
    let alg = match header.get("alg").and_then(Value::as_str) {
        Some("PS256") => Algorithm::PS256,
        Some("RS256") => Algorithm::RS256,
        other => {
            return Err(errors::assertion(
                700027,
                format!(
                    "Client assertion failed signature validation. [Reason - The algorithm '{}' is not supported; use PS256 (or RS256).]",
                    other.unwrap_or("(none)")
                ),
            ));
        }
    };
    let s256 = header.get("x5t#S256").and_then(Value::as_str);
    let sha1 = header.get("x5t").and_then(Value::as_str);
    let Some(thumb) = s256.or(sha1) else {
        return Err(errors::assertion(
            700027,
            "Client assertion failed signature validation. [Reason - The assertion has no 'x5t#S256' (or 'x5t') header naming the certificate.]",
        ));
    };
    let cert = app.certificates.iter().find(|c| match s256 {
        Some(t) => c.x5t_s256 == t,
        None => c.x5t == thumb,
    });
    let Some(cert) = cert else {
        return Err(errors::assertion(
            700027,
            format!(
                "The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '{thumb}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '{}'.]",
                app.client_id
            ),
        ));
    };
    let claims = cert
        .verify_assertion(jwt, alg)
        .map_err(|_| errors::assertion(700027, "Client assertion failed signature validation."))?;
    let now = chrono::Utc::now().timestamp();
    if cert.not_after.timestamp() < now {
        return Err(errors::assertion(
            700027,
            format!(
                "Client assertion contains an invalid signature. [Reason - The key used is expired., Thumbprint of key used by client: '{thumb}', Found key 'Start=…, End={}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '{}'.]",
                cert.not_after.format("%m/%d/%Y %H:%M:%S"),
                app.client_id
            ),
        ));
    }
    let text = |k: &str| claims.get(k).and_then(Value::as_str).map(str::to_string);
    let iss = text("iss").unwrap_or_default();
    if text("sub").as_deref() != Some(iss.as_str()) {
        return Err(errors::assertion(
            50048,
            "Subject mismatches Issuer claim in the client assertion.",
        ));
    }
    if !iss.eq_ignore_ascii_case(&app.client_id) {
        return Err(errors::assertion(
            700021,
            "Client assertion application identifier doesn't match 'client_id' parameter.",
        ));
    }
    let b = s.base_url();
    let aud_ok = |a: &str| {
        [
            SANDBOX_TENANT_ID,
            SANDBOX_TENANT_DOMAIN,
            "organizations",
            "common",
        ]
        .iter()
        .any(|t| {
            a.eq_ignore_ascii_case(&format!("{b}/{t}/oauth2/v2.0/token"))
                || a.eq_ignore_ascii_case(&format!("{b}/{t}/oauth2/token"))
        })
    };
    let aud_matches = match claims.get("aud") {
        Some(Value::String(a)) => aud_ok(a),
        Some(Value::Array(v)) => v.iter().filter_map(Value::as_str).any(aud_ok),
        _ => false,
    };
    if !aud_matches {
        return Err(errors::assertion(
            700023,
            "Client assertion audience claim does not match Realm issuer.",
        ));
    }
    let num = |k: &str| claims.get(k).and_then(Value::as_i64);
    let (nbf, exp) = (num("nbf").unwrap_or(now), num("exp"));
    let in_time =
        exp.is_some_and(|e| now < e + ASSERTION_SKEW_SECS) && nbf <= now + ASSERTION_SKEW_SECS;
    if !in_time {
        return Err(errors::assertion(
            700024,
            format!(
                "Client assertion is not within its valid time range. Current time: {now}, assertion valid from {nbf} to {}.",
                exp.map(|e| e.to_string())
                    .unwrap_or_else(|| "(no exp)".into())
            ),
        ));
    }
    Ok(())
}

fn code_grant(s: &IdpState, client_id: &str, auth: Auth, f: &Params) -> Result<Value, AadError> {
    let code = f.get("code").ok_or_else(|| errors::missing("code"))?;
    let issued = {
        let mut d = s.data();
        let issued = d.codes.remove(code);
        if issued.is_none() && d.redeemed.iter().any(|c| c == code) {
            return Err(errors::invalid_grant(
                54005,
                "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.",
            ));
        }
        if issued.is_some() {
            d.redeemed.push_back(code.to_string());
            d.sweep();
        }
        issued
    };
    let Some(issued) = issued else {
        return Err(errors::invalid_grant(
            70000,
            "The provided value for the 'code' parameter is not valid.",
        ));
    };
    if issued.created.elapsed() >= PENDING_TTL {
        return Err(errors::invalid_grant(
            70008,
            "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.",
        ));
    }
    if !issued.client_id.eq_ignore_ascii_case(client_id) {
        return Err(errors::invalid_grant(
            70000,
            "The provided value for the 'code' parameter is not valid. The code was issued to another application.",
        ));
    }
    let redirect_uri = f
        .get("redirect_uri")
        .ok_or_else(|| errors::missing("redirect_uri"))?;
    if redirect_uri != issued.redirect_uri {
        return Err(errors::invalid_grant(
            500112,
            format!(
                "The reply address '{redirect_uri}' does not match the reply address '{}' provided when requesting Authorization code.",
                issued.redirect_uri
            ),
        ));
    }
    let verifier = f
        .get("code_verifier")
        .ok_or_else(|| errors::missing("code_verifier"))?;
    if !bool::from(s256(verifier).as_bytes().ct_eq(issued.challenge.as_bytes())) {
        return Err(errors::invalid_grant(
            501481,
            "The Code_Verifier does not match the code_challenge supplied in the authorization request.",
        ));
    }
    let u = &DEMO_USERS[issued.user];
    let now = chrono::Utc::now().timestamp();
    let scp = resource_scopes(&issued.scopes);
    let access = json!({
        "aud": GRAPH_RESOURCE,
        "iss": format!("{}/{SANDBOX_TENANT_ID}/", s.base_url()),
        "iat": now,
        "nbf": now,
        "exp": now + TOKEN_LIFETIME_SECS,
        "amr": u.amr,
        "app_displayname": "sandbox",
        "appid": client_id,
        "azp": client_id,
        "azpacr": auth.azpacr(),
        "idtyp": "user",
        "name": u.name,
        "oid": u.oid,
        "scp": if scp.is_empty() { "User.Read".to_string() } else { scp.join(" ") },
        "sub": pairwise_sub(GRAPH_APP_ID, u.oid),
        "tid": SANDBOX_TENANT_ID,
        "unique_name": u.username,
        "upn": u.username,
        "ver": "1.0",
    });
    let mut scope: Vec<String> = issued
        .scopes
        .iter()
        .filter(|x| x.as_str() != "offline_access")
        .cloned()
        .collect();
    if scp.is_empty() {
        scope.push(format!("{GRAPH_RESOURCE}/User.Read"));
    }
    let mut res = json!({
        "token_type": "Bearer",
        "scope": scope.join(" "),
        "expires_in": TOKEN_LIFETIME_SECS,
        "ext_expires_in": TOKEN_LIFETIME_SECS,
        "access_token": s.0.key.sign(&access),
    });
    if issued.scopes.iter().any(|x| x == "openid") {
        let claims = id_token_claims(
            s,
            issued.flavor,
            client_id,
            issued.user,
            issued.nonce.as_deref(),
            &issued.scopes,
        );
        res["id_token"] = json!(s.0.key.sign(&claims));
    }
    Ok(res)
}

fn client_credentials(
    s: &IdpState,
    seg: Segment,
    client_id: &str,
    service_principal: Option<String>,
    granted: Vec<String>,
    auth: Auth,
    f: &Params,
) -> Result<Value, AadError> {
    if seg != Segment::Tenant {
        return Err(AadError::new(
            "invalid_request",
            9001023,
            "The grant type is not supported over the /common or /organizations endpoints. Please use the tenant-specific endpoint.",
        ));
    }
    if auth == Auth::Public {
        return Err(errors::no_credential());
    }
    let scope = f.get("scope").ok_or_else(|| errors::missing("scope"))?;
    let Some(resource) = scope
        .strip_suffix("/.default")
        .filter(|_| !scope.contains(' '))
    else {
        return Err(AadError::new(
            "invalid_scope",
            1002012,
            format!(
                "The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."
            ),
        ));
    };
    let resource = resource.trim_end_matches('/');
    if !(resource.eq_ignore_ascii_case(GRAPH_RESOURCE)
        || resource.eq_ignore_ascii_case(GRAPH_APP_ID))
    {
        return Err(AadError::new(
            "invalid_resource",
            500011,
            format!(
                "The resource principal named {resource} was not found in the tenant named {SANDBOX_TENANT_NAME}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant. (The sandbox issues tokens for Microsoft Graph only.)"
            ),
        ));
    }
    // An app-only token is for the app's service principal in this tenant; without one
    // Entra refuses it (AADSTS7000229).
    let Some(sp) = service_principal else {
        return Err(AadError::new(
            "invalid_client",
            7000229,
            format!(
                "The client application {client_id} is missing service principal in the tenant {SANDBOX_TENANT_ID}."
            ),
        )
        .status(StatusCode::BAD_REQUEST));
    };
    let now = chrono::Utc::now().timestamp();
    let mut access = json!({
        "aud": GRAPH_RESOURCE,
        "iss": format!("{}/{SANDBOX_TENANT_ID}/", s.base_url()),
        "iat": now,
        "nbf": now,
        "exp": now + TOKEN_LIFETIME_SECS,
        "app_displayname": "sandbox",
        "appid": client_id,
        "azp": client_id,
        "azpacr": auth.azpacr(),
        "idtyp": "app",
        "oid": sp,
        "sub": sp,
        "tid": SANDBOX_TENANT_ID,
        "ver": "1.0",
    });
    // Entra leaves `roles` out when nothing is granted.
    if !granted.is_empty() {
        access["roles"] = json!(granted);
    }
    Ok(json!({
        "token_type": "Bearer",
        "expires_in": TOKEN_LIFETIME_SECS,
        "ext_expires_in": TOKEN_LIFETIME_SECS,
        "access_token": s.0.key.sign(&access),
    }))
}
