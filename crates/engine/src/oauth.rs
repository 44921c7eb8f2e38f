//! OAuth 2.0 for every flow — the SSO test, the admin's Graph sign-in, the sync preview's
//! app-only tokens — on the `oauth2` crate: authorize links with PKCE (S256), `state` and
//! extra parameters ([`authorize`]); the authorization code redeemed with a client secret,
//! a certificate assertion or as a public client, and the client-credentials grant
//! ([`TokenEndpoint`]).
//!
//! **The trust boundary** ([`crate::target`]): oauth2's `AuthUrl` and `TokenUrl` are made
//! only from an [`Endpoint`], so only a `Target` decides where a code, a secret or an
//! assertion goes. The HTTP client oauth2 is handed is bound to that one token Endpoint and
//! refuses to send anywhere else; the authorize link comes back as an `Endpoint` too (the
//! pairs oauth2 added, appended to the Endpoint it was given).
//!
//! **HTTP**: our reqwest client ([`crate::http::http_client`]: no redirects, no
//! proxies from the environment, timeouts) behind oauth2's [`AsyncHttpClient`], the answer
//! read to at most 256 KiB. Not oauth2's own reqwest feature: it is built for reqwest
//! 0.12, ours is 0.13 (so oauth2 runs with no default features).
//!
//! **Certificates**: a client assertion as Entra documents it (certificate-credentials.md,
//! 2025), sent as the extra parameters `client_assertion_type` and `client_assertion` with
//! no client secret: a JWT signed PS256 by [`crate::jws`] with header `x5t#S256` =
//! base64url(SHA-256(certificate DER)), `aud` = the token endpoint, `iss` = `sub` = the
//! client ID, a fresh `jti`, `nbf`/`iat` = now and a five-minute `exp`. A secret goes in the
//! request body (`client_secret_post`), as Entra's samples do.
//!
//! **Errors**: Entra's error answer (`error`, `error_description`, `error_codes`) becomes
//! [`TokenError::Endpoint`] so the AADSTS catalogue can explain it. Nothing secret is ever
//! put in an error.
//!
//! Left out: ID-token validation — that is ours, strict, in [`crate::sso_test::oidc`]
//! (`openidconnect` does not model Entra's multi-tenant `{tenantid}` issuer); federated
//! credentials (no assertion to present from a desktop), refresh tokens, the device code
//! flow, mTLS, HTTP Basic client authentication.

use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU16, Ordering};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use oauth2::basic::{
    BasicRevocationErrorResponse, BasicTokenIntrospectionResponse, BasicTokenType,
};
use oauth2::{
    AsyncHttpClient, AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken,
    EndpointNotSet, EndpointSet, HttpRequest, HttpResponse, PkceCodeChallenge, PkceCodeVerifier,
    RedirectUrl, RequestTokenError, ResponseType, Scope, StandardRevocableToken,
    StandardTokenResponse, TokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use url::Url;

use crate::ids::Sensitive;
use crate::sso_test::oidc::transport;
use crate::target::Endpoint;

/// Largest token-endpoint answer read (a token answer is a few kilobytes).
const MAX_RESPONSE_BYTES: usize = 256 * 1024;
/// `client_assertion_type` of a JWT client assertion (RFC 7523).
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A fresh random value for `state` or `nonce`: 32 random bytes, base64url (43 characters).
pub fn random_token() -> String {
    CsrfToken::new_random_len(32).into_secret()
}

/// What to ask the authorize endpoint for.
#[derive(Debug, Clone, Copy)]
pub struct AuthorizeRequest<'a> {
    /// The app (or public client) signing in.
    pub client_id: &'a str,
    /// Where the answer comes back (the loopback listener's URI, sent exactly as given).
    pub redirect_uri: &'a str,
    /// `code`, or `code id_token` for the hybrid flow.
    pub response_type: &'a str,
    /// Space-separated scopes.
    pub scope: &'a str,
    /// Parameters oauth2 does not manage: `response_mode`, `nonce`, `prompt`.
    pub extra: &'a [(&'a str, &'a str)],
}

/// An authorize link, and what its answer is checked and redeemed with. The PKCE verifier
/// never leaves this value and is used up by [`TokenEndpoint::redeem_code`].
pub struct Authorization {
    url: Endpoint,
    state: String,
    redirect: RedirectUrl,
    verifier: PkceCodeVerifier,
}

impl Authorization {
    /// The link for the browser: still an [`Endpoint`] on the target.
    pub fn url(&self) -> &Endpoint {
        &self.url
    }

    /// The `state` the answer must carry.
    pub fn state(&self) -> &str {
        &self.state
    }

    /// The redirect URI, exactly as sent.
    pub fn redirect_uri(&self) -> &str {
        self.redirect.as_str()
    }
}

/// The authorize link on `endpoint` (an authorize [`Endpoint`] from a `Target` or a
/// discovery document checked against one), with PKCE S256 and a fresh `state`. Fails only
/// when the redirect URI is not a URL.
pub fn authorize(
    endpoint: &Endpoint,
    request: &AuthorizeRequest<'_>,
) -> Result<Authorization, String> {
    let redirect = RedirectUrl::new(request.redirect_uri.to_string()).map_err(|e| {
        format!(
            "the redirect URI '{}' is not a URL: {e}",
            request.redirect_uri
        )
    })?;
    let client = oauth2::basic::BasicClient::new(ClientId::new(request.client_id.to_string()))
        .set_auth_uri(AuthUrl::from_url(endpoint.url().clone()));
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let response_type = ResponseType::new(request.response_type.to_string());
    let mut builder = client
        .authorize_url(|| CsrfToken::new_random_len(32))
        .set_response_type(&response_type)
        .set_redirect_uri(Cow::Borrowed(&redirect))
        .set_pkce_challenge(challenge)
        .add_scopes(
            request
                .scope
                .split_whitespace()
                .map(|s| Scope::new(s.to_string())),
        );
    for (name, value) in request.extra {
        builder = builder.add_extra_param(*name, *value);
    }
    let (built, state) = builder.url();
    Ok(Authorization {
        url: on_endpoint(endpoint, &built),
        state: state.into_secret(),
        redirect,
        verifier,
    })
}

/// oauth2 returns a `Url`; the browser opens only an [`Endpoint`]. oauth2 appended its pairs
/// to the endpoint's own URL, so appending the same pairs to the Endpoint gives the same link
/// — built by [`Endpoint::with_query`], which cannot change the origin or the path.
fn on_endpoint(endpoint: &Endpoint, built: &Url) -> Endpoint {
    let own = endpoint.query_pairs().count();
    let added: Vec<(String, String)> = built
        .query_pairs()
        .skip(own)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let pairs: Vec<(&str, &str)> = added
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let link = endpoint.with_query(&pairs);
    debug_assert_eq!(link.url(), built, "oauth2 changed more than the query");
    link
}

/// How the app proves who it is at the token endpoint.
#[derive(Debug, Clone)]
pub enum ClientCredential {
    /// A client secret (the secret's Value).
    Secret(Sensitive<String>),
    /// A certificate uploaded to the app, and its private key.
    Certificate {
        /// The certificate, DER.
        cert_der: Vec<u8>,
        /// The RSA private key, PEM (PKCS#1 or PKCS#8).
        key_pem: Sensitive<String>,
    },
}

impl ClientCredential {
    /// A certificate credential from a PEM certificate and a PEM private key. Checks that
    /// the key can sign, so a bad file is a setup error, not a failed test.
    pub fn certificate_from_pem(
        cert_pem: &str,
        key_pem: Sensitive<String>,
    ) -> Result<Self, TokenError> {
        let cert_der = pem_block(cert_pem, "CERTIFICATE").ok_or_else(|| {
            TokenError::Credential("the certificate file has no PEM CERTIFICATE block".into())
        })?;
        crate::jws::key_from_pem(key_pem.expose())
            .map_err(|e| TokenError::Credential(format!("the key file: {e}")))?;
        Ok(ClientCredential::Certificate { cert_der, key_pem })
    }

    /// "client secret" or "certificate", for messages.
    pub fn label(&self) -> &'static str {
        match self {
            ClientCredential::Secret(_) => "client secret",
            ClientCredential::Certificate { .. } => "certificate",
        }
    }
}

/// base64url SHA-256 of the certificate: the `x5t#S256` Entra matches against the
/// uploaded certificate.
pub fn x5t_s256(cert_der: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(cert_der))
}

fn client_assertion(
    client_id: &str,
    token_endpoint: &str,
    cert_der: &[u8],
    key_pem: &Sensitive<String>,
) -> Result<String, TokenError> {
    let key = crate::jws::key_from_pem(key_pem.expose())
        .map_err(|e| TokenError::Credential(format!("the certificate's key: {e}")))?;
    let header = serde_json::json!({"typ": "JWT", "x5t#S256": x5t_s256(cert_der)});
    let now = chrono::Utc::now().timestamp();
    let claims = serde_json::json!({
        "aud": token_endpoint,
        "iss": client_id,
        "sub": client_id,
        "jti": uuid::Uuid::new_v4().to_string(),
        "nbf": now,
        "iat": now,
        "exp": now + 300,
    });
    crate::jws::sign(&header, &claims, &key, crate::jws::RsaAlg::Ps256)
        .map_err(|e| TokenError::Credential(format!("could not sign the assertion: {e}")))
}

/// The first PEM block with `label`, decoded.
pub fn pem_block(pem: &str, label: &str) -> Option<Vec<u8>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = pem.find(&begin)? + begin.len();
    let len = pem[start..].find(&end)?;
    let b64: String = pem[start..start + len]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    STANDARD.decode(b64).ok()
}

/// The token endpoint said no, or could not be reached.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// An OAuth error response.
    #[error("the token endpoint refused: {error}: {description}")]
    Endpoint {
        /// HTTP status.
        status: u16,
        /// `error`.
        error: String,
        /// `error_description` (Entra: starts with `AADSTS…`).
        description: String,
        /// Entra's `error_codes`.
        codes: Vec<u32>,
    },
    /// Network, timeout, or not an OAuth response.
    #[error("the token endpoint could not be used: {0}")]
    Transport(String),
    /// A success response we cannot use.
    #[error("the token endpoint's answer is not usable: {0}")]
    BadResponse(String),
    /// The credential could not be used (bad key file).
    #[error("the credential cannot be used: {0}")]
    Credential(String),
}

impl TokenError {
    /// Stable code for the UI.
    pub fn code(&self) -> &'static str {
        match self {
            TokenError::Endpoint { .. } => "token.refused",
            TokenError::Transport(_) => "token.transport",
            TokenError::BadResponse(_) => "token.bad_response",
            TokenError::Credential(_) => "token.credential",
        }
    }
}

/// A token response. Secrets stay wrapped.
#[derive(Debug)]
pub struct Tokens {
    /// The access token.
    pub access_token: Sensitive<String>,
    /// The ID token (code grant).
    pub id_token: Option<Sensitive<String>>,
}

/// Entra's error answer: RFC 6749 §5.2 plus `error_codes` (the AADSTS numbers).
#[derive(Debug, Deserialize, Serialize)]
struct EntraError {
    error: String,
    error_description: Option<String>,
    #[serde(default)]
    error_codes: Vec<u32>,
}

impl fmt::Display for EntraError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}",
            self.error,
            self.error_description.as_deref().unwrap_or_default()
        )
    }
}

impl oauth2::ErrorResponse for EntraError {}

/// The `id_token` of a code grant's answer, beside oauth2's standard fields.
#[derive(Deserialize, Serialize)]
struct IdTokenField {
    #[serde(default)]
    id_token: Option<String>,
}

impl fmt::Debug for IdTokenField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IdTokenField(<redacted>)")
    }
}

impl oauth2::ExtraTokenFields for IdTokenField {}

type EntraTokens = StandardTokenResponse<IdTokenField, BasicTokenType>;

/// oauth2's client with only a token URL set.
type TokenClient = oauth2::Client<
    EntraError,
    EntraTokens,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

/// One app at one token [`Endpoint`]: the code grant and the client-credentials grant.
pub struct TokenEndpoint<'a> {
    http: &'a reqwest::Client,
    endpoint: &'a Endpoint,
    client_id: &'a str,
    credential: Option<&'a ClientCredential>,
}

impl<'a> TokenEndpoint<'a> {
    /// `credential` is `None` for a public client (the Graph sign-in).
    pub fn new(
        http: &'a reqwest::Client,
        endpoint: &'a Endpoint,
        client_id: &'a str,
        credential: Option<&'a ClientCredential>,
    ) -> Self {
        TokenEndpoint {
            http,
            endpoint,
            client_id,
            credential,
        }
    }

    fn client(&self) -> TokenClient {
        let client = oauth2::Client::new(ClientId::new(self.client_id.to_string()))
            .set_token_uri(TokenUrl::from_url(self.endpoint.url().clone()))
            .set_auth_type(AuthType::RequestBody);
        match self.credential {
            Some(ClientCredential::Secret(s)) => {
                client.set_client_secret(ClientSecret::new(s.expose().clone()))
            }
            _ => client,
        }
    }

    /// `client_assertion_type` and `client_assertion` for a certificate; nothing otherwise.
    fn assertion(&self) -> Result<Vec<(&'static str, String)>, TokenError> {
        match self.credential {
            Some(ClientCredential::Certificate { cert_der, key_pem }) => Ok(vec![
                ("client_assertion_type", JWT_BEARER.to_string()),
                (
                    "client_assertion",
                    client_assertion(self.client_id, self.endpoint.as_str(), cert_der, key_pem)?,
                ),
            ]),
            _ => Ok(Vec::new()),
        }
    }

    /// Redeems `code` with the PKCE verifier and redirect URI of `authorization`, and the
    /// credential. `scope` is sent along when given (the Graph sign-in names its scopes).
    pub async fn redeem_code(
        &self,
        code: &Sensitive<String>,
        authorization: Authorization,
        scope: Option<&str>,
    ) -> Result<Tokens, TokenError> {
        let client = self.client();
        let assertion = self.assertion()?;
        let mut request = client
            .exchange_code(AuthorizationCode::new(code.expose().clone()))
            .set_pkce_verifier(authorization.verifier)
            .set_redirect_uri(Cow::Owned(authorization.redirect));
        for (name, value) in &assertion {
            request = request.add_extra_param(*name, value.as_str());
        }
        if let Some(scope) = scope {
            // Not a parameter of the code grant in RFC 6749, so oauth2 has no setter; Entra
            // takes it (oauth2-auth-code-flow.md, "Redeem a code for an access token").
            request = request.add_extra_param("scope", scope);
        }
        let http = EndpointHttp::new(self.http, self.endpoint);
        let result = request.request_async(&http).await;
        http.tokens(result)
    }

    /// The client-credentials grant for `scope` (`https://<graph host>/.default`).
    pub async fn client_credentials(&self, scope: &str) -> Result<Tokens, TokenError> {
        if self.credential.is_none() {
            return Err(TokenError::Credential(
                "a public client has no credential for the client-credentials grant".into(),
            ));
        }
        let client = self.client();
        let assertion = self.assertion()?;
        let mut request = client
            .exchange_client_credentials()
            .add_scope(Scope::new(scope.to_string()));
        for (name, value) in &assertion {
            request = request.add_extra_param(*name, value.as_str());
        }
        let http = EndpointHttp::new(self.http, self.endpoint);
        let result = request.request_async(&http).await;
        http.tokens(result)
    }
}

/// Why the HTTP exchange itself failed.
#[derive(Debug, thiserror::Error)]
enum HttpFailure {
    #[error("{0}")]
    Transport(String),
    #[error("the response is too large")]
    TooLarge,
    #[error("a request for {0}, which is not the token endpoint, was not sent")]
    Elsewhere(String),
}

/// Our reqwest client as oauth2's HTTP client, bound to one token [`Endpoint`]: it sends
/// nowhere else, reads at most [`MAX_RESPONSE_BYTES`], and remembers the status so a
/// non-OAuth failure can be told by it.
///
/// It owns clones (reqwest's client is a shared handle) rather than borrowing: a borrowed
/// lifetime here makes the flows' futures only "Send for some lifetime", which Tauri's
/// async commands cannot accept.
struct EndpointHttp {
    http: reqwest::Client,
    endpoint: Endpoint,
    status: AtomicU16,
}

impl EndpointHttp {
    fn new(http: &reqwest::Client, endpoint: &Endpoint) -> Self {
        EndpointHttp {
            http: http.clone(),
            endpoint: endpoint.clone(),
            status: AtomicU16::new(0),
        }
    }

    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, HttpFailure> {
        // oauth2 built the request from the TokenUrl made of this Endpoint: a request for
        // anything else is a bug, and is refused rather than sent.
        let asked = request.uri().to_string();
        if asked != self.endpoint.as_str() {
            return Err(HttpFailure::Elsewhere(asked));
        }
        let (parts, body) = request.into_parts();
        let mut res = self
            .http
            .request(parts.method, self.endpoint.url().clone())
            .headers(parts.headers)
            .body(body)
            .send()
            .await
            .map_err(|e| HttpFailure::Transport(transport(&e)))?;
        let status = res.status();
        self.status.store(status.as_u16(), Ordering::Relaxed);
        let headers = res.headers().clone();
        let mut body = Vec::new();
        while let Some(chunk) = res
            .chunk()
            .await
            .map_err(|e| HttpFailure::Transport(transport(&e)))?
        {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_RESPONSE_BYTES {
                return Err(HttpFailure::TooLarge);
            }
        }
        let mut response = HttpResponse::new(body);
        *response.status_mut() = status;
        *response.headers_mut() = headers;
        Ok(response)
    }

    /// oauth2's outcome in our terms.
    fn tokens(
        &self,
        result: Result<EntraTokens, RequestTokenError<HttpFailure, EntraError>>,
    ) -> Result<Tokens, TokenError> {
        let status = self.status.load(Ordering::Relaxed);
        let tokens = match result {
            Ok(t) => t,
            Err(RequestTokenError::ServerResponse(e)) => {
                return Err(TokenError::Endpoint {
                    status,
                    // Shown in reports and the terminal: no control or bidi characters.
                    error: crate::text::cleaned(e.error),
                    description: crate::text::cleaned(e.error_description.unwrap_or_default()),
                    codes: e.error_codes,
                });
            }
            Err(RequestTokenError::Request(HttpFailure::TooLarge)) => {
                return Err(TokenError::BadResponse(HttpFailure::TooLarge.to_string()));
            }
            Err(RequestTokenError::Request(e)) => return Err(TokenError::Transport(e.to_string())),
            // Nothing was received: oauth2 could not build the request.
            Err(RequestTokenError::Other(m)) if status == 0 => {
                return Err(TokenError::Transport(m));
            }
            Err(_) if status != 200 => {
                let status = reqwest::StatusCode::from_u16(status)
                    .map(|s| s.to_string())
                    .unwrap_or_else(|_| status.to_string());
                return Err(TokenError::Transport(format!(
                    "HTTP {status} without an OAuth error"
                )));
            }
            Err(RequestTokenError::Parse(e, _)) => {
                let inner = e.inner();
                let why = if !inner.is_data() {
                    "not a JSON token response".to_string()
                } else if let Some(field) = inner
                    .to_string()
                    .strip_prefix("missing field `")
                    .and_then(|rest| rest.split('`').next())
                {
                    format!("no {field}")
                } else {
                    // The path only: a value could be anything the server chose to send.
                    format!("'{}' has the wrong type", e.path())
                };
                return Err(TokenError::BadResponse(why));
            }
            Err(RequestTokenError::Other(m)) => return Err(TokenError::BadResponse(m)),
        };
        if *tokens.token_type() != BasicTokenType::Bearer {
            return Err(TokenError::BadResponse("token_type is not Bearer".into()));
        }
        Ok(Tokens {
            access_token: Sensitive::new(tokens.access_token().secret().clone()),
            id_token: tokens.extra_fields().id_token.clone().map(Sensitive::new),
        })
    }
}

impl<'c> AsyncHttpClient<'c> for EndpointHttp {
    type Error = HttpFailure;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, HttpFailure>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(self.send(request))
    }
}

/// A one-shot token endpoint for tests of the flows that use this module.
#[cfg(test)]
pub(crate) mod testing {
    use crate::target::Target;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// What the token endpoint received.
    pub(crate) struct Seen {
        pub(crate) head: String,
        pub(crate) form: Vec<(String, String)>,
    }

    impl Seen {
        pub(crate) fn get(&self, name: &str) -> Option<&str> {
            self.form
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        }
    }

    /// A token endpoint on 127.0.0.1 that answers one request with `status`, `ctype` and
    /// `body`, and hands back what it was sent.
    pub(crate) async fn endpoint_once(
        status: u16,
        ctype: &'static str,
        body: String,
    ) -> (Target, tokio::task::JoinHandle<Seen>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let target = Target::practice(&format!("http://127.0.0.1:{port}")).unwrap();
        let task = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            let (head, mut rest) = loop {
                let n = s.read(&mut chunk).await.unwrap();
                buf.extend_from_slice(&chunk[..n]);
                if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    break (
                        String::from_utf8_lossy(&buf[..i]).to_string(),
                        buf[i + 4..].to_vec(),
                    );
                }
            };
            let len: usize = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse().unwrap())
                })
                .unwrap_or(0);
            while rest.len() < len {
                let n = s.read(&mut chunk).await.unwrap();
                rest.extend_from_slice(&chunk[..n]);
            }
            let answer = format!(
                "HTTP/1.1 {status} X\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = s.write_all(answer.as_bytes()).await;
            let _ = s.shutdown().await;
            Seen {
                head,
                form: url::form_urlencoded::parse(&rest).into_owned().collect(),
            }
        });
        (target, task)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_blocks() {
        let pem = "junk\n-----BEGIN CERTIFICATE-----\nAAEC\nAw==\n-----END CERTIFICATE-----\n";
        assert_eq!(pem_block(pem, "CERTIFICATE"), Some(vec![0, 1, 2, 3]));
        assert_eq!(pem_block(pem, "PRIVATE KEY"), None);
    }

    #[test]
    fn credential_debug_is_redacted() {
        let c = ClientCredential::Secret(Sensitive::new("abc~DEF".into()));
        assert!(!format!("{c:?}").contains("abc~DEF"));
    }

    use super::testing::{Seen, endpoint_once};
    use crate::target::{Target, TenantSegment};
    use std::time::Duration;

    fn pairs(u: &Url) -> Vec<(String, String)> {
        u.query_pairs().into_owned().collect()
    }

    fn one<'p>(q: &'p [(String, String)], name: &str) -> &'p str {
        let found: Vec<&str> = q
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect();
        assert_eq!(found.len(), 1, "{name} in {q:?}");
        found[0]
    }

    fn hybrid(endpoint: &Endpoint) -> Authorization {
        authorize(
            endpoint,
            &AuthorizeRequest {
                client_id: "aaaaaaaa-0000-4000-8000-000000000001",
                redirect_uri: "http://localhost:5555/callback",
                response_type: "code id_token",
                scope: "openid profile email",
                extra: &[("response_mode", "form_post"), ("nonce", "n0nce")],
            },
        )
        .unwrap()
    }

    #[test]
    fn the_authorize_link_stays_on_the_endpoint_with_pkce_state_and_extras() {
        let target = Target::practice("http://127.0.0.1:9").unwrap();
        let endpoint = target.authorize(&TenantSegment::organizations());
        let a = hybrid(&endpoint);
        let u = a.url().url();
        assert_eq!(u.origin(), endpoint.url().origin());
        assert_eq!(u.path(), "/organizations/oauth2/v2.0/authorize");
        let q = pairs(u);
        assert_eq!(one(&q, "response_type"), "code id_token");
        assert_eq!(one(&q, "client_id"), "aaaaaaaa-0000-4000-8000-000000000001");
        assert_eq!(one(&q, "redirect_uri"), "http://localhost:5555/callback");
        assert_eq!(one(&q, "scope"), "openid profile email");
        assert_eq!(one(&q, "response_mode"), "form_post");
        assert_eq!(one(&q, "nonce"), "n0nce");
        assert_eq!(one(&q, "state"), a.state());
        assert_eq!(a.state().len(), 43, "32 random bytes");
        assert_eq!(one(&q, "code_challenge_method"), "S256");
        assert_eq!(
            one(&q, "code_challenge"),
            URL_SAFE_NO_PAD.encode(Sha256::digest(a.verifier.secret().as_bytes()))
        );
        assert_eq!(q.len(), 9, "{q:?}");
        assert_eq!(a.redirect_uri(), "http://localhost:5555/callback");
        let b = hybrid(&endpoint);
        assert_ne!(a.state(), b.state());
        assert_ne!(a.verifier.secret(), b.verifier.secret());
    }

    #[test]
    fn an_endpoints_own_query_is_kept_once() {
        let target = Target::practice("http://127.0.0.1:9").unwrap();
        let client = crate::ids::ClientId::parse("aaaaaaaa-0000-4000-8000-000000000001").unwrap();
        let with_query = target.admin_consent(
            &TenantSegment::organizations(),
            &client,
            "http://localhost:1/",
            "s",
        );
        let a = hybrid(&with_query);
        let q = pairs(a.url().url());
        assert_eq!(q[..4], pairs(with_query.url())[..]);
        assert_eq!(q.len(), 4 + 9);
        assert!(a.url().as_str().starts_with(with_query.as_str()));
    }

    #[test]
    fn a_redirect_uri_that_is_not_a_url_is_an_error_not_a_panic() {
        let target = Target::practice("http://127.0.0.1:9").unwrap();
        let e = authorize(
            &target.authorize(&TenantSegment::organizations()),
            &AuthorizeRequest {
                client_id: "c",
                redirect_uri: "not a url",
                response_type: "code",
                scope: "",
                extra: &[],
            },
        )
        .err()
        .unwrap();
        assert!(e.contains("not a URL"), "{e}");
    }

    fn http() -> reqwest::Client {
        crate::http::http_client(Duration::from_secs(10)).unwrap()
    }

    const CLIENT: &str = "aaaaaaaa-0000-4000-8000-000000000001";
    const BEARER: &str = r#"{"access_token":"at","token_type":"Bearer","expires_in":3599}"#;

    async fn client_credentials_with(
        credential: &ClientCredential,
        status: u16,
        ctype: &'static str,
        body: String,
    ) -> (Result<Tokens, TokenError>, Seen, Endpoint) {
        let (target, seen) = endpoint_once(status, ctype, body).await;
        let endpoint = target.token(&TenantSegment::organizations());
        let http = http();
        let r = TokenEndpoint::new(&http, &endpoint, CLIENT, Some(credential))
            .client_credentials("https://graph.microsoft.com/.default")
            .await;
        (r, seen.await.unwrap(), endpoint)
    }

    fn secret() -> ClientCredential {
        ClientCredential::Secret(Sensitive::new("s3cret~value".into()))
    }

    #[tokio::test]
    async fn a_secret_goes_in_the_body_of_a_post_to_the_endpoint() {
        let (r, seen, _) =
            client_credentials_with(&secret(), 200, "application/json", BEARER.into()).await;
        assert_eq!(r.unwrap().access_token.expose(), "at");
        assert!(
            seen.head
                .starts_with("POST /organizations/oauth2/v2.0/token HTTP/1.1"),
            "{}",
            seen.head
        );
        assert!(!seen.head.to_ascii_lowercase().contains("authorization:"));
        assert_eq!(seen.get("grant_type"), Some("client_credentials"));
        assert_eq!(seen.get("client_id"), Some(CLIENT));
        assert_eq!(seen.get("client_secret"), Some("s3cret~value"));
        assert_eq!(
            seen.get("scope"),
            Some("https://graph.microsoft.com/.default")
        );
        assert_eq!(seen.get("client_assertion"), None);
    }

    #[tokio::test]
    async fn a_certificate_sends_a_ps256_assertion_for_the_endpoint_and_no_secret() {
        let cert = include_str!("../tests/fixtures/client-cert.pem");
        let key = include_str!("../tests/fixtures/client-key.pem");
        let credential =
            ClientCredential::certificate_from_pem(cert, Sensitive::new(key.into())).unwrap();
        let (r, seen, endpoint) =
            client_credentials_with(&credential, 200, "application/json", BEARER.into()).await;
        assert!(r.is_ok());
        assert_eq!(seen.get("client_secret"), None);
        assert_eq!(seen.get("client_id"), Some(CLIENT));
        assert_eq!(seen.get("client_assertion_type"), Some(JWT_BEARER));
        let jwt = seen.get("client_assertion").unwrap();
        let header: serde_json::Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(jwt.split('.').next().unwrap())
                .unwrap(),
        )
        .unwrap();
        assert_eq!(header["alg"], "PS256");
        let ClientCredential::Certificate { cert_der, .. } = &credential else {
            unreachable!()
        };
        assert_eq!(header["x5t#S256"], x5t_s256(cert_der));
        let claims = crate::sso_test::oidc::unverified_payload(jwt).unwrap();
        assert_eq!(claims["aud"], endpoint.as_str());
        assert_eq!(claims["iss"], CLIENT);
        assert_eq!(claims["sub"], CLIENT);
    }

    #[tokio::test]
    async fn entras_error_answer_keeps_its_aadsts_codes() {
        let body = r#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.\u001b[2J","error_codes":[7000215]}"#;
        let (r, _, _) =
            client_credentials_with(&secret(), 401, "application/json", body.into()).await;
        match r.unwrap_err() {
            TokenError::Endpoint {
                status,
                error,
                description,
                codes,
            } => {
                assert_eq!(status, 401);
                assert_eq!(error, "invalid_client");
                assert!(description.starts_with("AADSTS7000215: Invalid client secret"));
                assert!(!description.contains('\u{1b}'), "cleaned: {description:?}");
                assert_eq!(codes, [7000215]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn answers_that_are_not_oauth_are_explained_not_trusted() {
        let cases: Vec<(u16, &'static str, String, &str, &str)> = vec![
            (
                500,
                "text/html",
                "<h1>oops</h1>".into(),
                "token.transport",
                "HTTP 500 Internal Server Error without an OAuth error",
            ),
            (
                302,
                "text/plain",
                String::new(),
                "token.transport",
                "HTTP 302 Found without an OAuth error",
            ),
            (
                400,
                "application/json",
                r#"{"error_codes":[1]}"#.into(),
                "token.transport",
                "without an OAuth error",
            ),
            (
                200,
                "application/json",
                r#"{"token_type":"Bearer"}"#.into(),
                "token.bad_response",
                "no access_token",
            ),
            (
                200,
                "application/json",
                r#"{"access_token":"at","token_type":"mac"}"#.into(),
                "token.bad_response",
                "token_type is not Bearer",
            ),
            (
                200,
                "application/json",
                "{not json".into(),
                "token.bad_response",
                "not a JSON token response",
            ),
            (
                200,
                "application/json",
                format!(
                    r#"{{"access_token":"{}","token_type":"Bearer"}}"#,
                    "a".repeat(MAX_RESPONSE_BYTES)
                ),
                "token.bad_response",
                "too large",
            ),
        ];
        for (status, ctype, body, code, says) in cases {
            let (r, _, _) = client_credentials_with(&secret(), status, ctype, body).await;
            let e = r.unwrap_err();
            assert_eq!(e.code(), code, "{status}: {e}");
            assert!(e.to_string().contains(says), "{status}: {e}");
        }
    }

    #[tokio::test]
    async fn a_public_client_redeems_with_the_pkce_verifier_and_no_credential() {
        let body = r#"{"access_token":"at","token_type":"bearer","id_token":"h.p.s"}"#;
        let (target, seen) =
            endpoint_once(200, "application/json; charset=utf-8", body.into()).await;
        let segment = TenantSegment::organizations();
        let authorization = hybrid(&target.authorize(&segment));
        let verifier = authorization.verifier.secret().clone();
        let endpoint = target.token(&segment);
        let http = http();
        let tokens = TokenEndpoint::new(&http, &endpoint, CLIENT, None)
            .redeem_code(
                &Sensitive::new("the-code".into()),
                authorization,
                Some("https://graph.microsoft.com/User.Read"),
            )
            .await
            .unwrap();
        assert_eq!(tokens.id_token.unwrap().expose(), "h.p.s");
        let seen = seen.await.unwrap();
        assert_eq!(seen.get("grant_type"), Some("authorization_code"));
        assert_eq!(seen.get("code"), Some("the-code"));
        assert_eq!(seen.get("code_verifier"), Some(verifier.as_str()));
        assert_eq!(
            seen.get("redirect_uri"),
            Some("http://localhost:5555/callback")
        );
        assert_eq!(seen.get("client_id"), Some(CLIENT));
        assert_eq!(
            seen.get("scope"),
            Some("https://graph.microsoft.com/User.Read")
        );
        assert_eq!(seen.get("client_secret"), None);
        assert_eq!(seen.get("client_assertion"), None);
    }

    #[tokio::test]
    async fn a_public_client_gets_no_client_credentials_token() {
        let target = Target::practice("http://127.0.0.1:9").unwrap();
        let endpoint = target.token(&TenantSegment::organizations());
        let http = http();
        let e = TokenEndpoint::new(&http, &endpoint, CLIENT, None)
            .client_credentials("https://graph.microsoft.com/.default")
            .await
            .unwrap_err();
        assert_eq!(e.code(), "token.credential");
    }
}
