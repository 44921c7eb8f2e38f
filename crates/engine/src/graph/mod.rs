//! A small Microsoft Graph v1.0 client, and what the wizard does with it: create or repair
//! the app registration ([`apply`]), check a live one ([`doctor`]), and the delegated
//! sign-in that gets the token for both ([`signin`]), and the Conditional Access review
//! ([`access_review`], `doctor --access`).
//!
//! The client is deliberately thin: JSON in, JSON out, one base URL per cloud
//! (`https://<graph host>/v1.0`, from [`Cloud::graph_host`]) or an override for the test
//! double and the sandbox. What it adds over `reqwest`:
//!
//! - the bearer token comes from a [`TokenSource`], so tests and the sandbox inject one;
//! - `429` and `503` are retried after `Retry-After` (seconds), a bounded number of times,
//!   and a wait longer than the policy allows is an error rather than a hang
//!   (<https://learn.microsoft.com/graph/throttling>);
//! - a failure carries Graph's error body — `error.code`, `error.message` and
//!   `innerError.request-id`/`date` (<https://learn.microsoft.com/graph/errors>) — because
//!   the status line alone made failures undiagnosable (CIPP learned this the hard way);
//! - every request actually sent is recorded (method, URL, JSON body; never the token), so
//!   a dry run and the tests can show exactly what went over the wire.
//!
//! Left out: paging (`@odata.nextLink`; every list here is filtered to one object or a
//! handful), batching, `$count`/ConsistencyLevel queries, token refresh (a delegated token
//! lives an hour or more, far longer than an apply), beta endpoints.

pub mod access_review;
pub mod apply;
pub mod doctor;
pub mod federated;
pub mod finding;
pub mod rotate;
pub mod session;
pub mod signin;
pub mod teams_tab;

/// The permissions each feature needs, as data (they are rules, so they live in the core).
pub use entra_onboard_core::permissions;

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use ts_rs::TS;

use crate::cloud::Cloud;
use crate::ids::Sensitive;
use crate::target::Target;

pub use permissions::GRAPH_APP_ID;

/// Largest Graph response read (an application object with many credentials is a few KB).
const MAX_RESPONSE_BYTES: usize = 4 * 1024 * 1024;

/// Supplies the bearer token for each request.
pub trait TokenSource: Send + Sync {
    /// The access token for Microsoft Graph.
    fn bearer(&self) -> Result<Sensitive<String>, GraphError>;
}

/// A token obtained elsewhere: the delegated sign-in, `--token-stdin`, a test.
pub struct StaticToken(Sensitive<String>);

impl StaticToken {
    /// Wraps a token.
    pub fn new(token: Sensitive<String>) -> StaticToken {
        StaticToken(token)
    }
}

impl TokenSource for StaticToken {
    fn bearer(&self) -> Result<Sensitive<String>, GraphError> {
        if self.0.expose().is_empty() {
            return Err(GraphError::Token("the access token is empty".into()));
        }
        Ok(self.0.clone())
    }
}

/// Waits between retries. Tests pass one that records the delay and returns at once, so
/// "Retry-After was honoured" is asserted without timing anything.
pub type Sleeper = Arc<dyn Fn(Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// The real sleeper.
pub fn tokio_sleeper() -> Sleeper {
    Arc::new(|d| Box::pin(tokio::time::sleep(d)))
}

/// How throttling (`429`) and unavailability (`503`) are retried.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// Longest single wait accepted; a longer `Retry-After` ends the attempt with the error.
    pub max_delay: Duration,
    /// Wait when the response has no usable `Retry-After` (doubled per retry).
    pub base_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 4,
            max_delay: Duration::from_secs(120),
            base_delay: Duration::from_secs(2),
        }
    }
}

/// Graph's error body (<https://learn.microsoft.com/graph/errors>), as the UI shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct GraphErrorBody {
    /// HTTP status.
    pub status: u16,
    /// `error.code`, e.g. `Authorization_RequestDenied`, `Request_ResourceNotFound`.
    pub code: String,
    /// `error.message`.
    pub message: String,
    /// `error.innerError.request-id`: quote it to Microsoft support.
    pub request_id: Option<String>,
    /// `error.innerError.date`.
    pub date: Option<String>,
}

impl GraphErrorBody {
    /// Parses Graph's `{"error":{…}}`; anything else becomes a body with the status and a
    /// short excerpt, so a proxy's HTML error page is still shown (never a token: responses
    /// do not carry the request's Authorization header).
    ///
    /// Every string is cleaned ([`crate::text::clean`]): it is shown in the terminal, the
    /// UI and reports.
    pub fn parse(status: u16, body: &[u8]) -> GraphErrorBody {
        let mut b = Self::parse_raw(status, body);
        b.code = crate::text::cleaned(b.code);
        b.message = crate::text::cleaned(b.message);
        b.request_id = crate::text::cleaned_opt(b.request_id);
        b.date = crate::text::cleaned_opt(b.date);
        b
    }

    fn parse_raw(status: u16, body: &[u8]) -> GraphErrorBody {
        let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let e = &v["error"];
        if let Some(code) = e["code"].as_str() {
            let inner = if e["innerError"].is_object() {
                &e["innerError"]
            } else {
                &e["innererror"]
            };
            return GraphErrorBody {
                status,
                code: code.to_string(),
                message: e["message"].as_str().unwrap_or_default().to_string(),
                request_id: inner["request-id"].as_str().map(str::to_string),
                date: inner["date"].as_str().map(str::to_string),
            };
        }
        let excerpt: String = String::from_utf8_lossy(body).chars().take(200).collect();
        GraphErrorBody {
            status,
            code: format!("http_{status}"),
            message: if excerpt.trim().is_empty() {
                format!("HTTP {status} with no error body")
            } else {
                excerpt
            },
            request_id: None,
            date: None,
        }
    }
}

/// A Graph call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GraphError {
    /// Graph answered with an error.
    #[error("Microsoft Graph refused {method} {path}: {} ({}, HTTP {}){}", body.message, body.code, body.status,
        body.request_id.as_deref().map(|r| format!("; request-id {r}")).unwrap_or_default())]
    Api {
        /// The method.
        method: String,
        /// The path below the base URL.
        path: String,
        /// Graph's error body (boxed: keeps `Result<_, GraphError>` small).
        body: Box<GraphErrorBody>,
    },
    /// No answer: network, TLS, timeout.
    #[error("Microsoft Graph could not be reached: {0}")]
    Transport(String),
    /// An answer that is not the JSON Graph documents.
    #[error("Microsoft Graph's answer is not usable: {0}")]
    BadResponse(String),
    /// No token.
    #[error("no access token for Microsoft Graph: {0}")]
    Token(String),
    /// The base URL is not usable.
    #[error("the Graph URL is not usable: {0}")]
    Config(String),
}

impl GraphError {
    /// Stable code for the UI.
    pub fn code(&self) -> &'static str {
        match self {
            GraphError::Api { .. } => "graph.api",
            GraphError::Transport(_) => "graph.transport",
            GraphError::BadResponse(_) => "graph.bad_response",
            GraphError::Token(_) => "graph.token",
            GraphError::Config(_) => "graph.config",
        }
    }

    /// Graph's own `error.code`, when Graph answered.
    pub fn graph_code(&self) -> Option<&str> {
        self.body().map(|b| b.code.as_str())
    }

    /// The HTTP status, when Graph answered.
    pub fn status(&self) -> Option<u16> {
        self.body().map(|b| b.status)
    }

    /// Graph's error body, when Graph answered.
    pub fn body(&self) -> Option<&GraphErrorBody> {
        match self {
            GraphError::Api { body, .. } => Some(body),
            _ => None,
        }
    }
}

/// One request, as sent or as a dry run would send it.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct GraphRequest {
    /// `GET`, `POST`, `PATCH`, `DELETE`.
    pub method: String,
    /// The full URL.
    pub url: String,
    /// The JSON body, if any. Never holds a secret: Graph creates secrets itself.
    pub body: Option<Value>,
}

/// `body` as logged: the proof of possession of `addKey`/`removeKey` (a signed JWT that
/// lets its holder change the app's keys for ten minutes) replaced by a placeholder.
fn without_proof(body: &Value) -> Value {
    let mut b = body.clone();
    if b.get("proof").is_some_and(Value::is_string) {
        b["proof"] = Value::from("(proof of possession, not shown)");
    }
    b
}

impl GraphRequest {
    /// True for anything that changes the tenant.
    pub fn is_write(&self) -> bool {
        self.method != "GET"
    }
}

/// Characters escaped in an OData query value: enough for `$filter=appId eq '…'` to
/// survive any proxy; `$`, `=` and `,` in keys stay readable.
const QUERY: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'&')
    .add(b'+')
    .add(b'<')
    .add(b'>')
    .add(b'\'')
    .add(b'?')
    .add(b'`');

/// `path?k=v&…` with the values percent-encoded.
pub fn with_query(path: &str, params: &[(&str, &str)]) -> String {
    let q: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{k}={}", utf8_percent_encode(v, QUERY)))
        .collect();
    format!("{path}?{}", q.join("&"))
}

/// An OData string literal: single quotes doubled (OData ABNF `SQUOTE-in-string`), so a
/// display name with an apostrophe cannot break out of the filter.
pub fn odata_string(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// The Graph client. Cheap to clone; clones share the request log.
#[derive(Clone)]
pub struct GraphClient {
    http: reqwest::Client,
    target: Target,
    token: Arc<dyn TokenSource>,
    retry: RetryPolicy,
    sleeper: Sleeper,
    log: Arc<Mutex<Vec<GraphRequest>>>,
    waits: Arc<Mutex<Vec<Duration>>>,
}

impl GraphClient {
    /// A client for the Graph of `target` (the cloud's Graph host, or the practice
    /// provider's own origin): the token is only ever sent there.
    pub fn new(target: &Target, token: Arc<dyn TokenSource>) -> Result<GraphClient, GraphError> {
        let http =
            crate::http::http_client(Duration::from_secs(30)).map_err(GraphError::Transport)?;
        Ok(GraphClient {
            http,
            target: target.clone(),
            token,
            retry: RetryPolicy::default(),
            sleeper: tokio_sleeper(),
            log: Arc::default(),
            waits: Arc::default(),
        })
    }

    /// The v1.0 endpoint of `cloud`'s Graph host.
    pub fn for_cloud(cloud: Cloud, token: Arc<dyn TokenSource>) -> Result<GraphClient, GraphError> {
        let target = Target::new(cloud, None).map_err(|e| GraphError::Config(e.to_string()))?;
        GraphClient::new(&target, token)
    }

    /// Replaces the retry policy.
    pub fn with_retry(mut self, retry: RetryPolicy) -> GraphClient {
        self.retry = retry;
        self
    }

    /// Replaces the sleeper (tests).
    pub fn with_sleeper(mut self, sleeper: Sleeper) -> GraphClient {
        self.sleeper = sleeper;
        self
    }

    /// The base URL, without a trailing slash.
    pub fn base(&self) -> &str {
        self.target.graph_base()
    }

    /// The full URL of `path` (which starts with `/`), for display.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base())
    }

    /// The sleeper in use (apply reuses it for replication back-off).
    pub fn sleeper(&self) -> &Sleeper {
        &self.sleeper
    }

    /// Every request sent so far, retries included, in order.
    pub fn sent(&self) -> Vec<GraphRequest> {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Every throttling wait so far.
    pub fn waits(&self) -> Vec<Duration> {
        self.waits.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> Result<Value, GraphError> {
        self.send("GET", path, None).await
    }

    /// `POST path` with a JSON body.
    pub async fn post(&self, path: &str, body: &Value) -> Result<Value, GraphError> {
        self.send("POST", path, Some(body)).await
    }

    /// `PATCH path` with a JSON body.
    pub async fn patch(&self, path: &str, body: &Value) -> Result<Value, GraphError> {
        self.send("PATCH", path, Some(body)).await
    }

    /// Sends one request, retrying `429`/`503` per the [`RetryPolicy`]. `Ok(Value::Null)`
    /// for `204 No Content`.
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, GraphError> {
        // Built on the target: a path cannot move the token to another origin.
        let endpoint = self
            .target
            .graph(path)
            .map_err(|e| GraphError::Config(e.to_string()))?;
        let url = self.url(path);
        let m = reqwest::Method::from_bytes(method.as_bytes())
            .map_err(|_| GraphError::Config(format!("bad method {method}")))?;
        let mut attempt = 0u32;
        loop {
            let token = self.token.bearer()?;
            if let Ok(mut log) = self.log.lock() {
                log.push(GraphRequest {
                    method: method.to_string(),
                    url: url.clone(),
                    body: body.map(without_proof),
                });
            }
            let mut req = self
                .http
                .request(m.clone(), endpoint.url().clone())
                .bearer_auth(token.expose())
                .header("accept", "application/json");
            if let Some(b) = body {
                req = req.json(b);
            }
            let mut res = req
                .send()
                .await
                .map_err(|e| GraphError::Transport(crate::sso_test::oidc::transport(&e)))?;
            let status = res.status().as_u16();
            let retry_after = res
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            let mut bytes = Vec::new();
            while let Some(chunk) = res
                .chunk()
                .await
                .map_err(|e| GraphError::Transport(crate::sso_test::oidc::transport(&e)))?
            {
                bytes.extend_from_slice(&chunk);
                if bytes.len() > MAX_RESPONSE_BYTES {
                    return Err(GraphError::BadResponse("the response is too large".into()));
                }
            }
            if (200..300).contains(&status) {
                if bytes.is_empty() {
                    return Ok(Value::Null);
                }
                return serde_json::from_slice(&bytes)
                    .map_err(|_| GraphError::BadResponse(format!("{method} {path}: not JSON")));
            }
            let err = GraphError::Api {
                method: method.to_string(),
                path: path.to_string(),
                body: Box::new(GraphErrorBody::parse(status, &bytes)),
            };
            if !matches!(status, 429 | 503) || attempt >= self.retry.max_retries {
                return Err(err);
            }
            let wait = retry_after
                .unwrap_or_else(|| self.retry.base_delay.saturating_mul(1 << attempt.min(6)));
            if wait > self.retry.max_delay {
                return Err(err);
            }
            if let Ok(mut w) = self.waits.lock() {
                w.push(wait);
            }
            (self.sleeper)(wait).await;
            attempt += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_are_parsed() {
        let b = br#"{"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges to complete the operation.","innerError":{"date":"2025-01-01T00:00:00","request-id":"abc","client-request-id":"abc"}}}"#;
        let e = GraphErrorBody::parse(403, b);
        assert_eq!(e.code, "Authorization_RequestDenied");
        assert_eq!(e.request_id.as_deref(), Some("abc"));
        let e = GraphErrorBody::parse(502, b"<html>Bad gateway</html>");
        assert_eq!(e.code, "http_502");
        assert!(e.message.contains("Bad gateway"));
        // A hostile or broken answer cannot drive the terminal or reorder the text.
        let b = "{\"error\":{\"code\":\"Bad\\u001b[31m\",\"message\":\"no\\u202e\\r\\nSSO test: PASSED\",\"innerError\":{\"request-id\":\"r\\u0007\"}}}";
        let e = GraphErrorBody::parse(400, b.as_bytes());
        assert_eq!(
            (e.code.as_str(), e.message.as_str(), e.request_id.as_deref()),
            ("Bad[31m", "no SSO test: PASSED", Some("r"))
        );
        let e = GraphErrorBody::parse(502, "<p>\u{1b}[2J\u{2066}x</p>".as_bytes());
        assert_eq!(e.message, "<p>[2Jx</p>");
    }

    #[test]
    fn filters_are_escaped() {
        assert_eq!(odata_string("O'Brien IT"), "'O''Brien IT'");
        assert_eq!(
            with_query(
                "/applications",
                &[(
                    "$filter",
                    &format!("displayName eq {}", odata_string("A&B"))
                )]
            ),
            "/applications?$filter=displayName%20eq%20%27A%26B%27"
        );
    }

    #[test]
    fn the_base_is_the_targets_graph() {
        let t: Arc<dyn TokenSource> = Arc::new(StaticToken::new(Sensitive::new("t".into())));
        let practice = Target::practice("http://127.0.0.1:9").unwrap();
        let c = GraphClient::new(&practice, t.clone()).unwrap();
        assert_eq!(c.base(), "http://127.0.0.1:9/v1.0");
        let c = GraphClient::for_cloud(Cloud::Usgov, t).unwrap();
        assert_eq!(c.base(), "https://graph.microsoft.us/v1.0");
    }

    #[tokio::test]
    async fn a_path_cannot_leave_the_graph_base() {
        let t: Arc<dyn TokenSource> = Arc::new(StaticToken::new(Sensitive::new("t".into())));
        let c = GraphClient::for_cloud(Cloud::Global, t).unwrap();
        for path in ["@evil.example/x", ".evil.example/x", "/../../beta/users"] {
            let e = c.get(path).await.unwrap_err();
            assert_eq!(e.code(), "graph.config", "{path}");
        }
        assert!(c.sent().is_empty(), "nothing was sent");
    }
}
