//! Public sign-up in the sandbox (issue 14 point 7): an Azure AD B2C-style tenant with one
//! user flow, and an External ID-style tenant, both on the sandbox's own origin and over
//! the same app registry, so a practice profile with either variant signs in and passes
//! the SSO test.
//!
//! Where Microsoft's services differ from a workforce tenant, the sandbox follows them
//! (Microsoft Learn): B2C's endpoints are per user flow
//! (`/<tenant>.onmicrosoft.com/<user flow>/…`), its issuer is `…/<tenant id>/v2.0/` with
//! a trailing slash, its ID tokens name the user flow in `tfp`, use the object ID as `sub`
//! and carry no `tid` (azure/active-directory-b2c/tokens-overview); External ID's issuer
//! has the tenant ID where a real one has `<tenant id>.ciamlogin.com` (the sandbox has one
//! host), and its tokens carry `tid` (entra/identity-platform/security-tokens).

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use super::errors::AadError;
use super::{
    DemoUser, IdpState, SANDBOX_B2C_TENANT_ID, SANDBOX_B2C_TENANT_NAME, SANDBOX_B2C_USER_FLOW,
    SANDBOX_EXTERNAL_TENANT_ID, SANDBOX_TENANT_ID, json_response,
};

/// Which kind of tenant signs a user in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Flavor {
    /// The workforce tenant (every path before public sign-up).
    #[default]
    Workforce,
    /// The B2C-style tenant's user flow.
    B2c,
    /// The External ID-style tenant.
    ExternalId,
}

impl Flavor {
    /// The issuer of this flavour's tokens on `base`.
    pub(crate) fn issuer(self, base: &str) -> String {
        match self {
            Flavor::Workforce => format!("{base}/{SANDBOX_TENANT_ID}/v2.0"),
            Flavor::B2c => format!("{base}/{SANDBOX_B2C_TENANT_ID}/v2.0/"),
            Flavor::ExternalId => format!("{base}/{SANDBOX_EXTERNAL_TENANT_ID}/v2.0"),
        }
    }

    /// The scopes a sign-in needs consent for: B2C grants openid and offline_access when
    /// the app is registered ("Grant admin consent to openid and offline_access
    /// permissions", azure/active-directory-b2c/tutorial-register-applications).
    pub(crate) fn needs_consent(self, scopes: &[String]) -> Vec<String> {
        scopes
            .iter()
            .filter(|s| self != Flavor::B2c || !matches!(s.as_str(), "openid" | "offline_access"))
            .cloned()
            .collect()
    }

    /// Turns the workforce ID-token claims `c` into this flavour's.
    pub(crate) fn shape(self, c: &mut Value, base: &str, u: &DemoUser) {
        match self {
            Flavor::Workforce => {}
            Flavor::ExternalId => {
                c["iss"] = json!(self.issuer(base));
                c["tid"] = json!(SANDBOX_EXTERNAL_TENANT_ID);
            }
            Flavor::B2c => {
                c["iss"] = json!(self.issuer(base));
                c["tfp"] = json!(SANDBOX_B2C_USER_FLOW);
                c["sub"] = json!(u.oid);
                c["emails"] = json!([u.username]);
                c["ver"] = json!("1.0");
                if let Some(m) = c.as_object_mut() {
                    for k in ["tid", "preferred_username", "amr", "uti"] {
                        m.remove(k);
                    }
                }
            }
        }
    }
}

/// The B2C tenant and user flow of a path, or the JSON error B2C-style answers with.
fn b2c_path(tenant: &str, policy: &str) -> Result<(), AadError> {
    let domain = format!("{SANDBOX_B2C_TENANT_NAME}.onmicrosoft.com");
    if !tenant.eq_ignore_ascii_case(&domain) {
        return Err(AadError::new(
            "invalid_tenant",
            90002,
            format!("Tenant '{tenant}' not found. The sandbox's B2C tenant is {domain}."),
        )
        .status(StatusCode::BAD_REQUEST));
    }
    if !policy.eq_ignore_ascii_case(SANDBOX_B2C_USER_FLOW) {
        return Err(AadError::new(
            "invalid_request",
            90008,
            format!(
                "The user flow '{policy}' does not exist in the sandbox's B2C tenant (it has {SANDBOX_B2C_USER_FLOW})."
            ),
        )
        .status(StatusCode::NOT_FOUND));
    }
    Ok(())
}

/// `GET /<tenant>.onmicrosoft.com/<user flow>/v2.0/.well-known/openid-configuration`.
pub(crate) async fn b2c_discovery(
    State(s): State<IdpState>,
    Path((tenant, policy)): Path<(String, String)>,
) -> Response {
    if let Err(e) = b2c_path(&tenant, &policy) {
        return e.json(s.base_url());
    }
    let at = format!("{}/{tenant}/{policy}", s.base_url());
    json_response(
        StatusCode::OK,
        &json!({
            "issuer": Flavor::B2c.issuer(s.base_url()),
            "authorization_endpoint": format!("{at}/oauth2/v2.0/authorize"),
            "token_endpoint": format!("{at}/oauth2/v2.0/token"),
            "end_session_endpoint": format!("{at}/oauth2/v2.0/logout"),
            "jwks_uri": format!("{at}/discovery/v2.0/keys"),
            "response_modes_supported": ["query", "fragment", "form_post"],
            "response_types_supported": ["code", "code id_token", "code token", "code id_token token", "id_token", "id_token token", "token", "token id_token"],
            "scopes_supported": ["openid"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            "claims_supported": ["name", "emails", "idp", "sub", "tfp", "iss", "iat", "exp", "aud", "acr", "nonce", "auth_time"],
            "sandbox": true,
        }),
    )
}

/// `GET /<tenant>.onmicrosoft.com/<user flow>/discovery/v2.0/keys`.
pub(crate) async fn b2c_jwks(
    State(s): State<IdpState>,
    Path((tenant, policy)): Path<(String, String)>,
) -> Response {
    if let Err(e) = b2c_path(&tenant, &policy) {
        return e.json(s.base_url());
    }
    json_response(
        StatusCode::OK,
        &s.0.key.jwks(&Flavor::B2c.issuer(s.base_url())),
    )
}

/// `GET /<tenant>.onmicrosoft.com/<user flow>/oauth2/v2.0/authorize`.
pub(crate) async fn b2c_authorize(
    State(s): State<IdpState>,
    Path((tenant, policy)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> Response {
    if let Err(e) = b2c_path(&tenant, &policy) {
        return super::pages::error(&e);
    }
    super::flows::authorize_as(&s, Flavor::B2c, q)
}

/// `POST /<tenant>.onmicrosoft.com/<user flow>/oauth2/v2.0/token`.
pub(crate) async fn b2c_token(
    State(s): State<IdpState>,
    Path((tenant, policy)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let result = b2c_path(&tenant, &policy)
        .and_then(|()| super::token::handle_in(&s, None, &headers, &body));
    match result {
        Ok(v) => json_response(StatusCode::OK, &v),
        Err(e) => e.json(s.base_url()),
    }
}
