//! Discovery, the signing keys (JWKS) and ID-token validation, the way the SSO test needs
//! them: strict, with Entra's rules on top of OpenID Connect Core §3.1.3.7.
//!
//! Signature checking is `jsonwebtoken`'s (aws-lc-rs backend); everything else is here
//! because the crate does not do it or does it loosely (security-checklist §3c): the
//! algorithm is pinned to RS256 before any key is looked at (so `none`, HS256 keyed with
//! the public key and friends never reach a verifier); claims are read with their JSON
//! types checked (a string `exp` is an error, not "absent"); `iss` is compared exactly
//! (for a multi-tenant app Entra's `{tenantid}` template is filled with the token's
//! `tid`); `aud` must be the client and nothing else; `azp` must be the client when
//! present and is required with several audiences; `exp`/`nbf` get at most
//! [`MAX_SKEW_SECS`] of skew; `iat` must be present, not in the future and fresh; `nonce`
//! must match (constant time); `sub` and `tid` must be present; `c_hash` must match the
//! code for a front-channel token.
//!
//! Keys: fetched once from the discovered `jwks_uri`; on an unknown `kid` the set is
//! fetched again once per test, then the token is refused. Unparseable or non-RSA keys are
//! skipped.
//!
//! Left out: Entra's per-key `issuer` in the common key set, app-specific signing keys
//! (`?appid=`), encrypted ID tokens, `acr`/`auth_time`/`max_age`.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq as _;
use tokio::sync::Mutex;

use crate::ids::parse_guid;
use crate::target::{Endpoint, Target, TenantSegment};

/// Clock skew allowed on `exp`, `nbf` and `iat`.
pub const MAX_SKEW_SECS: i64 = 300;
/// How old `iat` may be: the token was issued for the sign-in that just happened.
pub const MAX_AGE_SECS: i64 = 600;
/// Largest discovery or key-set document read.
const MAX_DOC_BYTES: usize = 512 * 1024;

/// Discovery, key or ID-token problem. Every variant is a failed check, not a crash.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum OidcError {
    /// The discovery document could not be fetched or read.
    #[error("could not read the provider's configuration at {url}: {reason}")]
    Discovery {
        /// Where.
        url: String,
        /// Why.
        reason: String,
    },
    /// The discovery document names another issuer or sends us to another host.
    #[error("the provider's configuration is not for this authority: {0}")]
    DiscoveryMismatch(String),
    /// The key set could not be fetched or read.
    #[error("could not read the provider's signing keys: {0}")]
    Jwks(String),
    /// Not a signed JWT.
    #[error("the ID token is not a signed JWT: {0}")]
    Malformed(String),
    /// `alg` is not RS256.
    #[error("the ID token is signed with '{0}'; only RS256 is accepted")]
    Algorithm(String),
    /// No published key has the token's `kid`, even after fetching the keys again.
    #[error(
        "the ID token is signed with a key the provider does not publish (kid '{0}'), even after fetching the keys again"
    )]
    UnknownKey(String),
    /// Signature does not verify.
    #[error("the ID token's signature is not valid")]
    Signature,
    /// A claim is missing, mistyped or wrong.
    #[error("the ID token's '{claim}' claim is not acceptable: {reason}")]
    Claim {
        /// Which claim.
        claim: &'static str,
        /// Why.
        reason: String,
    },
    /// The tenant is not allowed to sign in.
    #[error("the user's tenant {0} is not in the allowed-tenants list")]
    TenantNotAllowed(String),
}

impl OidcError {
    /// Stable code for the UI.
    pub fn code(&self) -> String {
        match self {
            OidcError::Discovery { .. } => "oidc.discovery".into(),
            OidcError::DiscoveryMismatch(_) => "oidc.discovery_mismatch".into(),
            OidcError::Jwks(_) => "oidc.jwks".into(),
            OidcError::Malformed(_) => "id_token.malformed".into(),
            OidcError::Algorithm(_) => "id_token.alg".into(),
            OidcError::UnknownKey(_) => "id_token.unknown_kid".into(),
            OidcError::Signature => "id_token.signature".into(),
            OidcError::Claim { claim, .. } => format!("id_token.{claim}"),
            OidcError::TenantNotAllowed(_) => "id_token.tenant_not_allowed".into(),
        }
    }

    fn claim(claim: &'static str, reason: impl Into<String>) -> OidcError {
        OidcError::Claim {
            claim,
            reason: reason.into(),
        }
    }
}

/// The parts of the discovery document the test uses.
#[derive(Debug, Clone, Deserialize)]
pub struct Discovery {
    /// Issuer (for /organizations Entra's template with `{tenantid}`).
    pub issuer: String,
    /// Authorize endpoint.
    pub authorization_endpoint: String,
    /// Token endpoint.
    pub token_endpoint: String,
    /// Key set.
    pub jwks_uri: String,
    /// RFC 9207 support.
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: bool,
    /// Response modes (checked for form_post when present).
    #[serde(default)]
    pub response_modes_supported: Option<Vec<String>>,
}

/// Fetches at most `MAX_DOC_BYTES` of JSON.
pub(crate) async fn get_json(http: &reqwest::Client, url: &Endpoint) -> Result<Value, String> {
    let mut res = http
        .get(url.url().clone())
        .send()
        .await
        .map_err(|e| transport(&e))?;
    let status = res.status();
    let mut body = Vec::new();
    while let Some(chunk) = res.chunk().await.map_err(|e| transport(&e))? {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_DOC_BYTES {
            return Err("the document is too large".into());
        }
    }
    if !status.is_success() {
        return Err(format!("HTTP {status}"));
    }
    serde_json::from_slice(&body).map_err(|e| format!("not JSON: {e}"))
}

/// A reqwest error in words (its URL is a provider endpoint; no secret is ever in a URL).
pub(crate) fn transport(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "could not connect".into()
    } else {
        e.to_string()
    }
}

/// What the discovered issuer must look like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IssuerRule {
    /// Exactly this.
    Exact(String),
    /// Entra's multi-tenant template (`…/{tenantid}/v2.0`), filled with the token's `tid`.
    Template(String),
    /// Azure AD B2C (public sign-up): exactly `issuer` (`https://<tenant>.b2clogin.com/
    /// <tenant id>/v2.0/`); the token need not carry `tid` (B2C names the tenant in `iss`)
    /// but must name the user flow in `tfp`, or `acr` on older policies (Microsoft Learn,
    /// azure/active-directory-b2c/tokens-overview: claims table and "Compatibility").
    B2c {
        /// The issuer.
        issuer: String,
        /// The B2C tenant's GUID, from the issuer.
        tenant: String,
        /// The user flow the sign-in used (compared without case: B2C policy ids are
        /// case-insensitive and its tokens carry them lower-cased).
        user_flow: String,
    },
    /// Microsoft Entra External ID (public sign-up): exactly `issuer`
    /// (`https://<tenant id>.ciamlogin.com/<tenant id>/v2.0`), and `tid` must be `tenant`.
    ExternalId {
        /// The issuer.
        issuer: String,
        /// The external tenant's GUID.
        tenant: String,
    },
}

impl IssuerRule {
    /// The issuer for a token with tenant `tid`.
    pub fn expected_for(&self, tid: &str) -> String {
        match self {
            IssuerRule::Exact(s) => s.clone(),
            IssuerRule::Template(t) => t.replace("{tenantid}", tid),
            IssuerRule::B2c { issuer, .. } | IssuerRule::ExternalId { issuer, .. } => {
                issuer.clone()
            }
        }
    }

    /// The one issuer allowed, when there is one (not the multi-tenant template).
    pub fn exact(&self) -> Option<&str> {
        match self {
            IssuerRule::Exact(s) => Some(s),
            IssuerRule::Template(_) => None,
            IssuerRule::B2c { issuer, .. } | IssuerRule::ExternalId { issuer, .. } => Some(issuer),
        }
    }
}

/// The provider's endpoints from its discovery document, each checked to be on the
/// profile's [`Target`]: the only addresses the code, the credential and the keys are
/// exchanged with.
#[derive(Debug, Clone)]
pub struct ProviderEndpoints {
    /// Where the browser signs in.
    pub authorize: Endpoint,
    /// Where the code is redeemed and app-only tokens are asked for.
    pub token: Endpoint,
    /// The signing keys.
    pub jwks: Endpoint,
}

/// Fetches `<authority>/<segment>/v2.0/.well-known/openid-configuration` from the
/// profile's [`Target`] and checks it belongs to it: the issuer is
/// `<authority>/<tenant>/v2.0` (the tenant GUID for a single-tenant app, `{tenantid}` for
/// /organizations), and every endpoint is on the target ([`Target::check_login`]), so
/// neither the code nor the credential can be sent elsewhere.
pub async fn discover(
    http: &reqwest::Client,
    target: &Target,
    segment: &TenantSegment,
) -> Result<(Discovery, ProviderEndpoints, IssuerRule), OidcError> {
    let url = target.discovery(segment);
    let authority = target.authority();
    let err = |reason: String| OidcError::Discovery {
        url: url.to_string(),
        reason,
    };
    let doc = get_json(http, &url).await.map_err(err)?;
    let d: Discovery =
        serde_json::from_value(doc).map_err(|e| err(format!("missing fields: {e}")))?;
    let check = |name: &'static str, endpoint: &str| {
        target
            .check_login(name, endpoint)
            .map_err(|e| OidcError::DiscoveryMismatch(e.to_string()))
    };
    let endpoints = ProviderEndpoints {
        authorize: check("authorization_endpoint", &d.authorization_endpoint)?,
        token: check("token_endpoint", &d.token_endpoint)?,
        jwks: check("jwks_uri", &d.jwks_uri)?,
    };
    let segment = segment.as_str();
    let tenant_part = d
        .issuer
        .strip_prefix(&format!("{authority}/"))
        .and_then(|rest| rest.strip_suffix("/v2.0"))
        .ok_or_else(|| {
            OidcError::DiscoveryMismatch(format!(
                "issuer {} is not {authority}/<tenant>/v2.0",
                d.issuer
            ))
        })?;
    let rule = if segment == "organizations" || segment == "common" {
        if tenant_part != "{tenantid}" {
            return Err(OidcError::DiscoveryMismatch(format!(
                "issuer {} is not the multi-tenant template",
                d.issuer
            )));
        }
        IssuerRule::Template(d.issuer.clone())
    } else {
        let Some(guid) = parse_guid(tenant_part).filter(|g| g == tenant_part) else {
            return Err(OidcError::DiscoveryMismatch(format!(
                "issuer {} does not name a tenant ID",
                d.issuer
            )));
        };
        if parse_guid(segment).is_some_and(|s| s != guid) {
            return Err(OidcError::DiscoveryMismatch(format!(
                "issuer {} is for another tenant than {segment}",
                d.issuer
            )));
        }
        IssuerRule::Exact(d.issuer.clone())
    };
    if let Some(modes) = &d.response_modes_supported
        && !modes.iter().any(|m| m == "form_post")
    {
        return Err(OidcError::DiscoveryMismatch(
            "the provider does not support response_mode=form_post".into(),
        ));
    }
    Ok((d, endpoints, rule))
}

/// The provider's signing keys, fetched once and again at most once on an unknown `kid`.
pub struct Jwks {
    uri: Endpoint,
    inner: Mutex<JwksState>,
}

struct JwksState {
    keys: Option<Vec<Jwk>>,
    refetched: bool,
    fetches: u32,
}

impl Jwks {
    /// An empty cache for `uri`.
    pub fn new(uri: Endpoint) -> Jwks {
        Jwks {
            uri,
            inner: Mutex::new(JwksState {
                keys: None,
                refetched: false,
                fetches: 0,
            }),
        }
    }

    /// Fetches the keys now (before the browser opens, so the callback does not wait).
    pub async fn prefetch(&self, http: &reqwest::Client) -> Result<(), OidcError> {
        let mut st = self.inner.lock().await;
        if st.keys.is_none() {
            st.keys = Some(self.fetch(http).await?);
            st.fetches += 1;
        }
        Ok(())
    }

    /// How many times the set was fetched.
    pub async fn fetches(&self) -> u32 {
        self.inner.lock().await.fetches
    }

    async fn fetch(&self, http: &reqwest::Client) -> Result<Vec<Jwk>, OidcError> {
        let doc = get_json(http, &self.uri).await.map_err(OidcError::Jwks)?;
        let keys = doc
            .get("keys")
            .and_then(Value::as_array)
            .ok_or_else(|| OidcError::Jwks("no 'keys' array".into()))?;
        // Skip keys we cannot use instead of refusing the whole set.
        Ok(keys
            .iter()
            .filter_map(|k| serde_json::from_value::<Jwk>(k.clone()).ok())
            .filter(|k| matches!(k.algorithm, AlgorithmParameters::RSA(_)))
            .filter(|k| {
                k.common
                    .public_key_use
                    .as_ref()
                    .is_none_or(|u| *u == jsonwebtoken::jwk::PublicKeyUse::Signature)
            })
            .collect())
    }

    /// The key for `kid`, fetching the set again once if it is unknown.
    async fn key(
        &self,
        http: &reqwest::Client,
        kid: Option<&str>,
    ) -> Result<DecodingKey, OidcError> {
        let mut st = self.inner.lock().await;
        if st.keys.is_none() {
            st.keys = Some(self.fetch(http).await?);
            st.fetches += 1;
        }
        loop {
            let keys = st.keys.as_deref().unwrap_or_default();
            let found: Vec<&Jwk> = match kid {
                Some(kid) => keys
                    .iter()
                    .filter(|k| k.common.key_id.as_deref() == Some(kid))
                    .collect(),
                None => keys.iter().collect(),
            };
            match (found.as_slice(), kid) {
                ([one], _) => {
                    return DecodingKey::from_jwk(one).map_err(|e| OidcError::Jwks(e.to_string()));
                }
                ([_, _, ..], None) => {
                    return Err(OidcError::Malformed(
                        "no 'kid' in the header and several keys published".into(),
                    ));
                }
                ([_, _, ..], Some(kid)) => {
                    return Err(OidcError::Jwks(format!("several keys share kid '{kid}'")));
                }
                ([], _) if !st.refetched => {
                    st.refetched = true;
                    st.keys = Some(self.fetch(http).await?);
                    st.fetches += 1;
                }
                ([], _) => return Err(OidcError::UnknownKey(kid.unwrap_or("(none)").to_string())),
            }
        }
    }
}

/// What a valid ID token must say.
#[derive(Debug, Clone)]
pub struct Expected<'a> {
    /// Issuer rule from discovery.
    pub issuer: &'a IssuerRule,
    /// The app.
    pub client_id: &'a str,
    /// The nonce sent in the authorize request.
    pub nonce: &'a str,
    /// For single-tenant apps: the tenant GUID the token must be for.
    pub tenant: Option<&'a str>,
    /// For restricted multi-tenant apps: the tenants allowed to sign in.
    pub allowed_tenants: Option<&'a [String]>,
    /// The code that came with a front-channel token (checks `c_hash`).
    pub code: Option<&'a str>,
    /// Now, seconds since the epoch.
    pub now: i64,
}

/// The claims of a valid ID token the report shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdClaims {
    /// Issuer.
    pub iss: String,
    /// Subject.
    pub sub: String,
    /// Tenant.
    pub tid: String,
    /// Display name.
    pub name: Option<String>,
    /// Sign-in name.
    pub preferred_username: Option<String>,
    /// User object id.
    pub oid: Option<String>,
    /// Authentication methods, when the token has them.
    pub amr: Option<Vec<String>>,
    /// The key that signed it.
    pub kid: Option<String>,
}

/// Validates an ID token and returns its claims.
pub async fn validate(
    http: &reqwest::Client,
    jwks: &Jwks,
    token: &str,
    expected: &Expected<'_>,
) -> Result<IdClaims, OidcError> {
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 3 {
        return Err(OidcError::Malformed(format!(
            "{} parts instead of 3",
            parts.len()
        )));
    }
    let header: Value = URL_SAFE_NO_PAD
        .decode(parts[0])
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| OidcError::Malformed("the header is not base64url JSON".into()))?;
    let alg = header
        .get("alg")
        .and_then(Value::as_str)
        .unwrap_or("(missing)");
    if alg != "RS256" {
        return Err(OidcError::Algorithm(alg.chars().take(20).collect()));
    }
    if header.get("crit").is_some() {
        return Err(OidcError::Malformed(
            "'crit' header parameters are not supported".into(),
        ));
    }
    if let Some(typ) = header.get("typ")
        && !typ.as_str().is_some_and(|t| t.eq_ignore_ascii_case("JWT"))
    {
        return Err(OidcError::Malformed("the 'typ' header is not JWT".into()));
    }
    let kid = match header.get("kid") {
        None => None,
        Some(Value::String(k)) => Some(k.as_str()),
        Some(_) => return Err(OidcError::Malformed("'kid' is not a string".into())),
    };
    let key = jwks.key(http, kid).await?;

    // Signature only; every claim is checked below with its type.
    let mut v = Validation::new(Algorithm::RS256);
    v.required_spec_claims.clear();
    v.validate_exp = false;
    v.validate_nbf = false;
    v.validate_aud = false;
    let data = jsonwebtoken::decode::<Value>(token, &key, &v).map_err(|e| match e.kind() {
        jsonwebtoken::errors::ErrorKind::InvalidSignature => OidcError::Signature,
        _ => OidcError::Malformed(e.to_string()),
    })?;
    let c = data.claims;
    let claims = check_claims(&c, expected)?;
    Ok(IdClaims {
        kid: kid.map(str::to_string),
        ..claims
    })
}

fn string_claim<'v>(c: &'v Value, name: &'static str) -> Result<Option<&'v str>, OidcError> {
    match c.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(OidcError::claim(name, "not a string")),
    }
}

fn required_str<'v>(c: &'v Value, name: &'static str) -> Result<&'v str, OidcError> {
    string_claim(c, name)?
        .filter(|s| !s.is_empty())
        .ok_or_else(|| OidcError::claim(name, "missing"))
}

/// Largest magnitude a numeric date claim may have: 2^53 seconds, the integers JSON
/// carries exactly (RFC 7493 §2.2). Anything beyond is not a date a provider issues, and
/// keeping to it makes every sum and difference below exact and overflow-free.
const MAX_NUMERIC_DATE: i64 = 1 << 53;

/// A NumericDate claim (RFC 7519 §2: seconds, possibly fractional) as whole seconds.
fn numeric(c: &Value, name: &'static str) -> Result<Option<i64>, OidcError> {
    let out_of_range = || {
        OidcError::claim(
            name,
            format!("not a date in seconds within ±2^53 ({MAX_NUMERIC_DATE})"),
        )
    };
    match c.get(name) {
        None => Ok(None),
        Some(Value::Number(n)) => {
            let secs = if let Some(i) = n.as_i64() {
                i
            } else if n.is_u64() {
                return Err(out_of_range());
            } else {
                // A fraction: only finite values inside the exact range, then truncated.
                let f = n
                    .as_f64()
                    .filter(|f| f.is_finite())
                    .ok_or_else(out_of_range)?;
                if f.abs() > MAX_NUMERIC_DATE as f64 {
                    return Err(out_of_range());
                }
                f.trunc() as i64
            };
            if !(-MAX_NUMERIC_DATE..=MAX_NUMERIC_DATE).contains(&secs) {
                return Err(out_of_range());
            }
            Ok(Some(secs))
        }
        Some(_) => Err(OidcError::claim(name, "not a number")),
    }
}

/// The token's tenant, and for public sign-up its tenant and B2C user flow: B2C's ID tokens
/// name the tenant in `iss`, not `tid` (a `tid` given must still agree), and the user flow
/// in `tfp` (or `acr` on older policies).
fn tenant_and_user_flow<'v>(c: &'v Value, x: &Expected<'v>) -> Result<&'v str, OidcError> {
    let tid = match (x.issuer, string_claim(c, "tid")?) {
        (IssuerRule::B2c { tenant, .. }, None) => tenant.as_str(),
        (_, t) => t
            .filter(|t| !t.is_empty())
            .ok_or_else(|| OidcError::claim("tid", "missing"))?,
    };
    if parse_guid(tid).as_deref() != Some(tid) {
        return Err(OidcError::claim("tid", "not a tenant GUID"));
    }
    if let IssuerRule::B2c { tenant, .. } | IssuerRule::ExternalId { tenant, .. } = x.issuer
        && tid != tenant
    {
        return Err(OidcError::claim(
            "tid",
            format!("'{tid}' instead of the sign-up tenant '{tenant}'"),
        ));
    }
    if let IssuerRule::B2c { user_flow, .. } = x.issuer {
        let named = match string_claim(c, "tfp")? {
            Some(f) => Some(f),
            None => string_claim(c, "acr")?,
        };
        match named {
            None => {
                return Err(OidcError::claim(
                    "tfp",
                    "missing: the token does not name its user flow (tfp, or acr on older policies)",
                ));
            }
            Some(f) if !f.eq_ignore_ascii_case(user_flow) => {
                return Err(OidcError::claim(
                    "tfp",
                    format!("the token is from the user flow '{f}', not '{user_flow}'"),
                ));
            }
            Some(_) => {}
        }
    }
    Ok(tid)
}

/// The claim checks of OIDC Core §3.1.3.7 (and §3.3.2.11 for `c_hash`) plus Entra's.
pub fn check_claims(c: &Value, x: &Expected<'_>) -> Result<IdClaims, OidcError> {
    let now = x.now;
    let tid = tenant_and_user_flow(c, x)?;
    let iss = required_str(c, "iss")?;
    let want = x.issuer.expected_for(tid);
    if iss != want {
        return Err(OidcError::claim(
            "iss",
            format!("'{iss}' instead of '{want}'"),
        ));
    }
    if let Some(t) = x.tenant
        && tid != t
    {
        return Err(OidcError::claim(
            "tid",
            format!("'{tid}' instead of the app's tenant '{t}'"),
        ));
    }
    if let Some(allowed) = x.allowed_tenants
        && !allowed.iter().any(|a| a == tid)
    {
        return Err(OidcError::TenantNotAllowed(tid.to_string()));
    }
    let auds: Vec<&str> = match c.get("aud") {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| {
                v.as_str()
                    .ok_or_else(|| OidcError::claim("aud", "not a string"))
            })
            .collect::<Result<_, _>>()?,
        None => return Err(OidcError::claim("aud", "missing")),
        Some(_) => return Err(OidcError::claim("aud", "not a string or list")),
    };
    if !auds.contains(&x.client_id) {
        return Err(OidcError::claim(
            "aud",
            format!("the token is for {auds:?}, not this app ({})", x.client_id),
        ));
    }
    let azp = string_claim(c, "azp")?;
    if auds.len() > 1 {
        match azp {
            None => {
                return Err(OidcError::claim(
                    "azp",
                    "missing although the token has several audiences",
                ));
            }
            Some(a) if a != x.client_id => {
                return Err(OidcError::claim("azp", format!("'{a}' is not this app")));
            }
            Some(_) => {}
        }
        if auds.iter().any(|a| *a != x.client_id) {
            return Err(OidcError::claim(
                "aud",
                format!("extra audiences this app does not trust: {auds:?}"),
            ));
        }
    } else if let Some(a) = azp
        && a != x.client_id
    {
        return Err(OidcError::claim("azp", format!("'{a}' is not this app")));
    }
    // Claims are within ±2^53 (see `numeric`); `now` is the clock, also input, so every
    // sum and difference saturates instead of overflowing.
    let exp = numeric(c, "exp")?.ok_or_else(|| OidcError::claim("exp", "missing"))?;
    if now >= exp.saturating_add(MAX_SKEW_SECS) {
        return Err(OidcError::claim(
            "exp",
            format!("expired {} s ago", now.saturating_sub(exp)),
        ));
    }
    if let Some(nbf) = numeric(c, "nbf")?
        && now.saturating_add(MAX_SKEW_SECS) < nbf
    {
        return Err(OidcError::claim(
            "nbf",
            format!("not valid for another {} s", nbf.saturating_sub(now)),
        ));
    }
    let iat = numeric(c, "iat")?.ok_or_else(|| OidcError::claim("iat", "missing"))?;
    if iat > now.saturating_add(MAX_SKEW_SECS) {
        return Err(OidcError::claim(
            "iat",
            format!(
                "issued {} s in the future (check this computer's clock)",
                iat.saturating_sub(now)
            ),
        ));
    }
    if iat < now.saturating_sub(MAX_AGE_SECS + MAX_SKEW_SECS) {
        return Err(OidcError::claim(
            "iat",
            format!(
                "issued {} s ago; not from this sign-in",
                now.saturating_sub(iat)
            ),
        ));
    }
    let nonce = string_claim(c, "nonce")?.ok_or_else(|| OidcError::claim("nonce", "missing"))?;
    if !bool::from(nonce.as_bytes().ct_eq(x.nonce.as_bytes())) {
        return Err(OidcError::claim(
            "nonce",
            "does not match this sign-in (a replayed or injected token)",
        ));
    }
    let sub = required_str(c, "sub")?;
    if let Some(code) = x.code {
        let c_hash =
            string_claim(c, "c_hash")?.ok_or_else(|| OidcError::claim("c_hash", "missing"))?;
        let digest = Sha256::digest(code.as_bytes());
        let want = URL_SAFE_NO_PAD.encode(&digest[..16]);
        if !bool::from(c_hash.as_bytes().ct_eq(want.as_bytes())) {
            return Err(OidcError::claim(
                "c_hash",
                "does not match the authorization code (a swapped code)",
            ));
        }
    }
    let amr = match c.get("amr") {
        None => None,
        Some(Value::Array(a)) => Some(
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
        ),
        Some(_) => return Err(OidcError::claim("amr", "not a list")),
    };
    Ok(IdClaims {
        iss: iss.to_string(),
        sub: sub.to_string(),
        tid: tid.to_string(),
        name: string_claim(c, "name")?.map(str::to_string),
        // B2C and External ID name the user by e-mail when there is no preferred_username.
        preferred_username: match string_claim(c, "preferred_username")? {
            Some(u) => Some(u.to_string()),
            None => string_claim(c, "email")?.map(str::to_string),
        },
        oid: string_claim(c, "oid")?.map(str::to_string),
        amr,
        kid: None,
    })
}

/// The payload of a JWT, *not* verified: for reading `roles` from a Graph token, which is
/// Graph's to validate, not ours.
pub fn unverified_payload(token: &str) -> Option<Value> {
    let payload = token.split('.').nth(1)?;
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const T: &str = "11111111-2222-3333-4444-555555555555";
    const C: &str = "aaaaaaaa-0000-4000-8000-000000000001";

    fn base(now: i64) -> Value {
        json!({"iss": format!("https://login.example/{T}/v2.0"), "aud": C, "tid": T, "sub": "s",
               "exp": now + 3600, "iat": now, "nonce": "n"})
    }

    fn check(c: &Value, now: i64) -> Result<IdClaims, OidcError> {
        let rule = IssuerRule::Exact(format!("https://login.example/{T}/v2.0"));
        let x = Expected {
            issuer: &rule,
            client_id: C,
            nonce: "n",
            tenant: Some(T),
            allowed_tenants: None,
            code: None,
            now,
        };
        check_claims(c, &x)
    }

    #[test]
    fn claim_rules() {
        let now = 1_800_000_000;
        assert!(check(&base(now), now).is_ok());
        let mut c = base(now);
        c["exp"] = json!(format!("{}", now + 3600));
        assert_eq!(
            check(&c, now).unwrap_err().code(),
            "id_token.exp",
            "a string exp is refused"
        );
        let mut c = base(now);
        c["aud"] = json!([C]);
        assert!(check(&c, now).is_ok(), "single-element aud array");
        c["aud"] = json!([C, "other"]);
        assert_eq!(check(&c, now).unwrap_err().code(), "id_token.azp");
        c["azp"] = json!(C);
        assert_eq!(check(&c, now).unwrap_err().code(), "id_token.aud");
        let mut c = base(now);
        c.as_object_mut().unwrap().remove("sub");
        assert_eq!(check(&c, now).unwrap_err().code(), "id_token.sub");
        let mut c = base(now);
        c["exp"] = json!(now - 301);
        assert_eq!(check(&c, now).unwrap_err().code(), "id_token.exp");
        c["exp"] = json!(now - 200);
        assert!(check(&c, now).is_ok(), "within skew");
    }

    #[test]
    fn b2c_rule_needs_the_user_flow_not_tid() {
        let now = 1_800_000_000;
        let iss = format!("https://contoso.b2clogin.com/{T}/v2.0/");
        let rule = IssuerRule::B2c {
            issuer: iss.clone(),
            tenant: T.into(),
            user_flow: "B2C_1_susi".into(),
        };
        let x = Expected {
            issuer: &rule,
            client_id: C,
            nonce: "n",
            tenant: Some(T),
            allowed_tenants: None,
            code: None,
            now,
        };
        let mut c = json!({"iss": iss, "aud": C, "sub": "s", "exp": now + 3600, "iat": now,
                           "nonce": "n", "tfp": "b2c_1_susi"});
        assert_eq!(
            check_claims(&c, &x).unwrap().tid,
            T,
            "no tid: the issuer's tenant"
        );
        c["tfp"] = json!("B2C_1_other");
        assert_eq!(check_claims(&c, &x).unwrap_err().code(), "id_token.tfp");
        c.as_object_mut().unwrap().remove("tfp");
        assert_eq!(check_claims(&c, &x).unwrap_err().code(), "id_token.tfp");
        c["acr"] = json!("b2c_1_susi");
        assert!(check_claims(&c, &x).is_ok(), "acr on older policies");
        c["iss"] = json!(format!(
            "https://contoso.b2clogin.com/tfp/{T}/b2c_1_susi/v2.0/"
        ));
        assert_eq!(check_claims(&c, &x).unwrap_err().code(), "id_token.iss");
        c["iss"] = json!(iss);
        c["tid"] = json!("aaaaaaaa-0000-4000-8000-00000000000f");
        assert_eq!(check_claims(&c, &x).unwrap_err().code(), "id_token.tid");
        let ext = IssuerRule::ExternalId {
            issuer: format!("https://{T}.ciamlogin.com/{T}/v2.0"),
            tenant: T.into(),
        };
        let x = Expected { issuer: &ext, ..x };
        let mut c = json!({"iss": format!("https://{T}.ciamlogin.com/{T}/v2.0"), "aud": C,
                           "sub": "s", "exp": now + 3600, "iat": now, "nonce": "n"});
        assert_eq!(check_claims(&c, &x).unwrap_err().code(), "id_token.tid");
        c["tid"] = json!(T);
        assert!(check_claims(&c, &x).is_ok());
        c["iss"] = json!(format!("https://contoso.ciamlogin.com/{T}/v2.0"));
        assert_eq!(check_claims(&c, &x).unwrap_err().code(), "id_token.iss");
    }

    #[test]
    fn multi_tenant_template() {
        let rule = IssuerRule::Template("https://login.example/{tenantid}/v2.0".into());
        assert_eq!(
            rule.expected_for(T),
            format!("https://login.example/{T}/v2.0")
        );
    }
}
