//! Errors shaped like Entra's: `error`, `error_description` starting with
//! `AADSTS<code>: ` and ending with the trace lines, `error_codes`, `timestamp`,
//! `trace_id`, `correlation_id`, `error_uri` (token endpoint JSON); the same fields minus
//! the JSON-only ones in front-channel redirects; an HTML page for what Entra does not
//! redirect (unknown tenant or app, unregistered redirect URI).
//!
//! The message texts follow Entra's live texts where the notes quote them
//! (microsoft-facts.md §2.3, §2.10) so the wizard's AADSTS catalogue and the
//! redirect-URI parser see what they will see from Microsoft.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

/// One AADSTS error.
#[derive(Debug, Clone)]
pub(crate) struct AadError {
    /// OAuth `error`.
    pub(crate) error: &'static str,
    /// The AADSTS number.
    pub(crate) code: u32,
    /// The text after `AADSTS<code>: `.
    pub(crate) message: String,
    /// HTTP status at the token endpoint.
    pub(crate) status: StatusCode,
    /// `error_subcodes` (front channel), e.g. `cancel`.
    pub(crate) subcode: Option<&'static str>,
}

/// Trace and correlation ids plus the timestamp, as Entra appends them.
pub(crate) struct Trace {
    pub(crate) trace_id: String,
    pub(crate) correlation_id: String,
    pub(crate) timestamp: String,
}

impl Trace {
    pub(crate) fn new() -> Trace {
        Trace {
            trace_id: uuid::Uuid::new_v4().to_string(),
            correlation_id: uuid::Uuid::new_v4().to_string(),
            timestamp: chrono::Utc::now().format("%Y-%m-%d %H:%M:%SZ").to_string(),
        }
    }
}

impl AadError {
    pub(crate) fn new(error: &'static str, code: u32, message: impl Into<String>) -> AadError {
        AadError {
            error,
            code,
            message: message.into(),
            status: StatusCode::BAD_REQUEST,
            subcode: None,
        }
    }

    pub(crate) fn status(mut self, status: StatusCode) -> AadError {
        self.status = status;
        self
    }

    /// `AADSTS<code>: <message>` without the trace lines.
    pub(crate) fn headline(&self) -> String {
        format!("AADSTS{}: {}", self.code, self.message)
    }

    /// `error_description` as Entra sends it.
    pub(crate) fn description(&self, t: &Trace) -> String {
        format!(
            "{}\r\nTrace ID: {}\r\nCorrelation ID: {}\r\nTimestamp: {}",
            self.headline(),
            t.trace_id,
            t.correlation_id,
            t.timestamp
        )
    }

    /// The token endpoint's JSON error.
    pub(crate) fn json(&self, base_url: &str) -> Response {
        let t = Trace::new();
        let body = json!({
            "error": self.error,
            "error_description": self.description(&t),
            "error_codes": [self.code],
            "timestamp": t.timestamp,
            "trace_id": t.trace_id,
            "correlation_id": t.correlation_id,
            "error_uri": format!("{base_url}/error?code={}", self.code),
        });
        let mut res = super::json_response(self.status, &body);
        if self.status == StatusCode::UNAUTHORIZED {
            res.headers_mut().insert(
                "www-authenticate",
                axum::http::HeaderValue::from_static("Basic realm=\"sandbox\""),
            );
        }
        res
    }

    /// Front-channel error parameters (without `state`, which the caller adds).
    pub(crate) fn redirect_params(&self) -> Vec<(String, String)> {
        let t = Trace::new();
        let mut v = vec![("error".to_string(), self.error.to_string())];
        if let Some(s) = self.subcode {
            v.push(("error_subcodes".into(), s.into()));
        }
        v.push(("error_description".into(), self.description(&t)));
        v
    }
}

// Constructors for the errors the sandbox gives, one per AADSTS code.

pub(crate) fn tenant_not_found(tenant: &str) -> AadError {
    AadError::new(
        "invalid_request",
        90002,
        format!(
            "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. (The sandbox knows one tenant: {} or {}.)",
            super::SANDBOX_TENANT_ID,
            super::SANDBOX_TENANT_DOMAIN
        ),
    )
}

pub(crate) fn missing(param: &str) -> AadError {
    AadError::new(
        "invalid_request",
        900144,
        format!("The request body must contain the following parameter: '{param}'."),
    )
}

pub(crate) fn app_not_found(client_id: &str) -> AadError {
    AadError::new(
        "unauthorized_client",
        700016,
        format!(
            "Application with identifier '{client_id}' was not found in the directory '{}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.",
            super::SANDBOX_TENANT_NAME
        ),
    )
}

pub(crate) fn redirect_mismatch(uri: &str, client_id: &str) -> AadError {
    AadError::new(
        "invalid_request",
        50011,
        format!(
            "The redirect URI '{uri}' specified in the request does not match the redirect URIs configured for the application '{client_id}'. Make sure the redirect URI sent in the request matches one added to your application in the Azure portal. Navigate to https://aka.ms/redirectUriMismatchError to learn more about how to fix this."
        ),
    )
}

pub(crate) fn declined() -> AadError {
    AadError {
        subcode: Some("cancel"),
        ..AadError::new(
            "access_denied",
            65004,
            "User declined to consent to access the app.",
        )
    }
}

/// AADSTS65001 (`DelegationDoesNotExist`): no administrator consented to the app's
/// delegated permissions, and the sandbox's users cannot consent for themselves.
pub(crate) fn not_consented(client_id: &str, name: &str) -> AadError {
    AadError::new(
        "consent_required",
        65001,
        format!(
            "The user or administrator has not consented to use the application with ID '{client_id}' named '{name}'. Send an interactive authorization request for this user and resource."
        ),
    )
}

pub(crate) fn invalid_secret(client_id: &str) -> AadError {
    AadError::new(
        "invalid_client",
        7000215,
        format!("Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{client_id}'."),
    )
    .status(StatusCode::UNAUTHORIZED)
}

pub(crate) fn expired_secret(client_id: &str) -> AadError {
    AadError::new(
        "invalid_client",
        7000222,
        format!("The provided client secret keys for app '{client_id}' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds."),
    )
    .status(StatusCode::UNAUTHORIZED)
}

pub(crate) fn no_credential() -> AadError {
    AadError::new(
        "invalid_client",
        7000218,
        "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
    )
    .status(StatusCode::UNAUTHORIZED)
}

pub(crate) fn public_client_credential() -> AadError {
    AadError::new(
        "invalid_request",
        700025,
        "Client is public so neither 'client_assertion' nor 'client_secret' should be presented.",
    )
}

pub(crate) fn assertion(code: u32, message: impl Into<String>) -> AadError {
    AadError::new("invalid_client", code, message).status(StatusCode::UNAUTHORIZED)
}

pub(crate) fn invalid_grant(code: u32, message: impl Into<String>) -> AadError {
    AadError::new("invalid_grant", code, message)
}
