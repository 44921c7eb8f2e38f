//! The token endpoint: redeeming the authorization code (with PKCE and the stored
//! credential) and the client-credentials grant that proves consent.
//!
//! The credential is a parameter ([`ClientCredential`]), never read here: the keychain, a
//! CLI option or the GUI supplies it. A certificate authenticates with a client
//! assertion as Entra documents it (certificate-credentials.md, 2025): a JWT signed PS256
//! with header `x5t#S256` = base64url(SHA-256(certificate DER)), `aud` = the token
//! endpoint, `iss` = `sub` = the client ID, a fresh `jti`, `nbf`/`iat` = now and a
//! five-minute `exp`.
//!
//! Errors from the endpoint are parsed (`error`, `error_description`, `error_codes`) so
//! the AADSTS catalogue can explain them. Nothing secret is ever put in an error.
//!
//! Left out: federated credentials (no assertion to present from a desktop), refresh
//! tokens, mTLS.

use crate::target::Endpoint;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::oidc::transport;
use crate::ids::Sensitive;

const MAX_RESPONSE_BYTES: usize = 256 * 1024;

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

    /// The form fields that authenticate the client at `token_endpoint`.
    fn auth_fields(
        &self,
        client_id: &str,
        token_endpoint: &Endpoint,
    ) -> Result<Vec<(&'static str, String)>, TokenError> {
        match self {
            ClientCredential::Secret(s) => Ok(vec![("client_secret", s.expose().clone())]),
            ClientCredential::Certificate { cert_der, key_pem } => {
                let assertion =
                    client_assertion(client_id, token_endpoint.as_str(), cert_der, key_pem)?;
                Ok(vec![
                    (
                        "client_assertion_type",
                        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".into(),
                    ),
                    ("client_assertion", assertion),
                ])
            }
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

#[derive(Deserialize)]
struct RawTokens {
    access_token: Option<String>,
    id_token: Option<String>,
    token_type: Option<String>,
}

#[derive(Deserialize)]
struct RawError {
    error: Option<String>,
    error_description: Option<String>,
    #[serde(default)]
    error_codes: Vec<u32>,
}

/// Redeems `code` with the PKCE verifier and the credential.
pub async fn redeem_code(
    http: &reqwest::Client,
    token_endpoint: &Endpoint,
    client_id: &str,
    credential: &ClientCredential,
    code: &Sensitive<String>,
    verifier: &Sensitive<String>,
    redirect_uri: &str,
) -> Result<Tokens, TokenError> {
    let mut form: Vec<(&str, String)> = vec![
        ("grant_type", "authorization_code".into()),
        ("client_id", client_id.into()),
        ("code", code.expose().clone()),
        ("code_verifier", verifier.expose().clone()),
        ("redirect_uri", redirect_uri.into()),
    ];
    form.extend(credential.auth_fields(client_id, token_endpoint)?);
    post(http, token_endpoint, &form).await
}

/// The client-credentials grant for `scope` (`https://<graph host>/.default`).
pub async fn client_credentials(
    http: &reqwest::Client,
    token_endpoint: &Endpoint,
    client_id: &str,
    credential: &ClientCredential,
    scope: &str,
) -> Result<Tokens, TokenError> {
    let mut form: Vec<(&str, String)> = vec![
        ("grant_type", "client_credentials".into()),
        ("client_id", client_id.into()),
        ("scope", scope.into()),
    ];
    form.extend(credential.auth_fields(client_id, token_endpoint)?);
    post(http, token_endpoint, &form).await
}

async fn post(
    http: &reqwest::Client,
    url: &Endpoint,
    form: &[(&str, String)],
) -> Result<Tokens, TokenError> {
    let mut res = http
        .post(url.url().clone())
        .header("accept", "application/json")
        .form(form)
        .send()
        .await
        .map_err(|e| TokenError::Transport(transport(&e)))?;
    let status = res.status();
    let mut body = Vec::new();
    while let Some(chunk) = res
        .chunk()
        .await
        .map_err(|e| TokenError::Transport(transport(&e)))?
    {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_RESPONSE_BYTES {
            return Err(TokenError::BadResponse("the response is too large".into()));
        }
    }
    if !status.is_success() {
        return match serde_json::from_slice::<RawError>(&body) {
            Ok(RawError {
                error: Some(error),
                error_description,
                error_codes,
            }) => Err(TokenError::Endpoint {
                status: status.as_u16(),
                // Shown in reports and the terminal: no control or bidi characters.
                error: crate::text::cleaned(error),
                description: crate::text::cleaned(error_description.unwrap_or_default()),
                codes: error_codes,
            }),
            _ => Err(TokenError::Transport(format!(
                "HTTP {status} without an OAuth error"
            ))),
        };
    }
    let raw: RawTokens = serde_json::from_slice(&body)
        .map_err(|_| TokenError::BadResponse("not a JSON token response".into()))?;
    if !raw
        .token_type
        .as_deref()
        .is_some_and(|t| t.eq_ignore_ascii_case("bearer"))
    {
        return Err(TokenError::BadResponse("token_type is not Bearer".into()));
    }
    let access_token = raw
        .access_token
        .ok_or_else(|| TokenError::BadResponse("no access_token".into()))?;
    Ok(Tokens {
        access_token: Sensitive::new(access_token),
        id_token: raw.id_token.map(Sensitive::new),
    })
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
}
