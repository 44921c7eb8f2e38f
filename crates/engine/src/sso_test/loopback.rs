//! The loopback listener that receives the sign-in response (RFC 8252 §7.3).
//!
//! Why hand-written rather than a web framework: it serves exactly one path, must never
//! be slowed down by a stray or hostile connection, and every limit should be visible in
//! one screen of code. So: one ephemeral port bound on 127.0.0.1 *and* [::1] before the
//! browser opens (the redirect URI says `localhost`, which a browser may resolve either
//! way; Entra ignores the port of `http://localhost` URIs); each connection in its own
//! task with a short deadline for the whole request (slow-loris cannot block the real
//! callback); one request per connection (`Connection: close`); caps on header and body
//! size.
//!
//! Idle connections cannot starve the callback: at most [`Limits::max_connections`] are
//! open at once, and when that many are open a new connection closes the *oldest one that
//! has not yet sent its whole request* to make room (a browser sends its request at once,
//! so the real callback is never the one waiting; a connection that has read its request
//! is never closed this way, so a callback being answered is never lost). A connection
//! that sent nothing before its deadline is closed without an answer (a browser's
//! unused pre-connection); one that sent part of a request gets 408.
//!
//! Everything the listener reports about a refused request, and the display fields of a
//! callback (`error`, `error_description`, `scope`), pass through [`crate::text::clean`]:
//! a request method or parameter name with ESC or bidi characters in it reaches no
//! terminal or report. `state`, `code`, `id_token`, `iss`, `tenant` and `admin_consent`
//! are left raw: they are compared or validated, and cleaning could make a wrong value
//! match; whoever shows them cleans them. [`IgnoredLog`] keeps the refusals for the
//! report, bounded.
//!
//! Accepted: `POST <callback path>` with an `application/x-www-form-urlencoded` body
//! (`response_mode=form_post`), and `GET <callback path>?…` (error redirects, and the
//! `admin_consent=True&tenant=…` redirect of `/adminconsent`, see
//! [`crate::steps::consent_capture`]). Anything
//! else gets 404/405/411/413/415/400 and the wait goes on. A response whose `state` is
//! missing or wrong is refused with 400 and the wait goes on. The first response with the
//! right `state` ends the wait; the listener is closed when [`wait`] returns.
//!
//! Every page ([`pages`]) is a maud template with every value HTML-escaped, `no-store`, has no external resources
//! (CSP `default-src 'none'`) and tells the admin to return to the wizard. The page never
//! redirects anywhere (no open redirector, RFC 9700 §4.11.1).
//!
//! Left out: HTTP/2, chunked request bodies (browsers send Content-Length for forms),
//! keep-alive.

#[path = "loopback_pages.rs"]
mod pages;

use std::collections::VecDeque;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use subtle::ConstantTimeEq as _;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::ids::Sensitive;
use crate::steps::redirects::WIZARD_CALLBACK_PATH;
use crate::text::{clean, cleaned_opt};

/// Limits on what one connection may send.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Request line plus headers.
    pub max_header_bytes: usize,
    /// Form body (an ID token plus code, state and session state fit easily).
    pub max_body_bytes: usize,
    /// Time for the whole request (head and body) to arrive, from the connection's
    /// accept. A browser sends its request at once; a few seconds is plenty.
    pub read_timeout: Duration,
    /// Connections open at once. When full, a new connection closes the oldest one that
    /// is still waiting for its request (see the module docs).
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_header_bytes: 8 * 1024,
            max_body_bytes: 64 * 1024,
            read_timeout: Duration::from_secs(5),
            max_connections: 32,
        }
    }
}

/// The requests refused while waiting, for the report: the first [`IgnoredLog::MAX`]
/// reasons (already cleaned by the listener) and how many there were in all, so a flood
/// of stray requests cannot grow memory, the report or the UI's list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IgnoredLog {
    reasons: Vec<String>,
    total: u64,
}

impl IgnoredLog {
    /// How many reasons are kept.
    pub const MAX: usize = 20;

    /// Counts one refusal and keeps its reason while there is room. Returns whether it was
    /// kept (callers forward only kept ones as progress, so the UI list is bounded too).
    pub fn push(&mut self, why: &str) -> bool {
        self.total = self.total.saturating_add(1);
        if self.reasons.len() < Self::MAX {
            self.reasons.push(clean(why).chars().take(200).collect());
            true
        } else {
            false
        }
    }

    /// The kept reasons, oldest first.
    pub fn reasons(&self) -> &[String] {
        &self.reasons
    }

    /// How many requests were refused in all.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// The kept reasons and the total, for the report.
    pub fn into_parts(self) -> (Vec<String>, u64) {
        (self.reasons, self.total)
    }
}

/// Listening failed or ended without a valid callback.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoopbackError {
    /// Neither 127.0.0.1 nor [::1] could be bound.
    #[error("could not listen on this computer's loopback address: {0}")]
    Bind(String),
    /// No valid callback before the deadline.
    #[error("no sign-in response arrived in time")]
    Timeout,
    /// The caller cancelled.
    #[error("the test was cancelled")]
    Cancelled,
}

impl LoopbackError {
    /// Stable code for the UI.
    pub fn code(&self) -> &'static str {
        match self {
            LoopbackError::Bind(_) => "loopback.bind",
            LoopbackError::Timeout => "loopback.timeout",
            LoopbackError::Cancelled => "loopback.cancelled",
        }
    }
}

/// How the response arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// `response_mode=form_post`.
    FormPost,
    /// A query string (Entra sends some errors this way).
    Query,
}

/// A callback whose `state` matched. Secrets stay wrapped.
#[derive(Debug)]
pub struct Callback {
    /// How it arrived.
    pub via: Via,
    /// The authorization code.
    pub code: Option<Sensitive<String>>,
    /// The front-channel ID token.
    pub id_token: Option<Sensitive<String>>,
    /// RFC 9207 issuer, when the provider sends it.
    pub iss: Option<String>,
    /// OAuth error code (`invalid_request`, …).
    pub error: Option<String>,
    /// Error description (Entra: `AADSTS…: …`).
    pub error_description: Option<String>,
    /// Admin consent (`/adminconsent` redirects): `True` — also on errors, so read
    /// `error` first.
    pub admin_consent: Option<String>,
    /// Admin consent: the tenant Entra names (informational only; it can be forged).
    pub tenant: Option<String>,
    /// Admin consent: the scopes Entra names.
    pub scope: Option<String>,
}

/// What happened to one connection, for the report and progress.
#[derive(Debug)]
pub enum Event {
    /// A request that did not end the wait, and why (never contains a secret).
    Ignored(String),
    /// The callback.
    Valid(Callback),
}

/// A bound listener: bound before the browser opens, so the redirect cannot race it.
pub struct Listener {
    sockets: Vec<TcpListener>,
    port: u16,
    path: &'static str,
}

impl Listener {
    /// Binds one ephemeral port on 127.0.0.1 and the same port on [::1] (when this
    /// computer has IPv6). Never binds a non-loopback interface.
    pub async fn bind() -> Result<Listener, LoopbackError> {
        let mut last = String::new();
        for _ in 0..8 {
            let v4 = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
                .await
                .map_err(|e| LoopbackError::Bind(e.to_string()))?;
            let port = v4
                .local_addr()
                .map_err(|e| LoopbackError::Bind(e.to_string()))?
                .port();
            match TcpListener::bind(SocketAddr::from((Ipv6Addr::LOCALHOST, port))).await {
                Ok(v6) => {
                    return Ok(Listener {
                        sockets: vec![v4, v6],
                        port,
                        path: WIZARD_CALLBACK_PATH,
                    });
                }
                // Taken on [::1] by someone else: try another port.
                Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => last = e.to_string(),
                // No IPv6 loopback here: 127.0.0.1 alone (RFC 8252 §7.3 "whichever is available").
                Err(_) => {
                    return Ok(Listener {
                        sockets: vec![v4],
                        port,
                        path: WIZARD_CALLBACK_PATH,
                    });
                }
            }
        }
        Err(LoopbackError::Bind(last))
    }

    /// Serves `path` instead of the wizard's callback path. The Graph sign-in uses `/`:
    /// Microsoft's first-party public clients register `http://localhost` with no path,
    /// and Entra matches loopback redirect paths exactly (only the port is ignored).
    pub fn with_callback_path(mut self, path: &'static str) -> Listener {
        self.path = path;
        self
    }

    /// The port, the same on both addresses.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://localhost:<port>/entra-onboard/callback` (or the path set with
    /// [`Listener::with_callback_path`]).
    pub fn redirect_uri(&self) -> String {
        format!("http://localhost:{}{}", self.port, self.path)
    }

    /// True when [::1] is bound too.
    pub fn dual_stack(&self) -> bool {
        self.sockets.len() == 2
    }
}

/// One open connection, as [`wait`] tracks it for eviction.
struct Conn {
    /// Set by the connection's task once its whole request has arrived; from then on it
    /// is never evicted.
    read_done: Arc<AtomicBool>,
    /// Closes the connection while it is still reading.
    evict: CancellationToken,
}

/// Serves the callback path until a response with `expected_state` arrives, the
/// `deadline` passes or `cancel` fires. `on_ignored` hears about every refused request
/// (the reason is already cleaned; keep it in an [`IgnoredLog`]).
pub async fn wait(
    listener: Listener,
    expected_state: &str,
    limits: Limits,
    deadline: Instant,
    cancel: &CancellationToken,
    mut on_ignored: impl FnMut(&str),
) -> Result<Callback, LoopbackError> {
    let (tx, mut rx) = mpsc::channel::<Event>(64);
    let state: Arc<str> = Arc::from(expected_state);
    let path = listener.path;
    let max = limits.max_connections.max(1);
    let mut open: VecDeque<Conn> = VecDeque::new();
    let mut tasks = JoinSet::new();
    let [first, rest @ ..] = listener.sockets.as_slice() else {
        return Err(LoopbackError::Bind("no socket".into()));
    };
    let second = rest.first();
    loop {
        let accepted = tokio::select! {
            biased;
            _ = cancel.cancelled() => return Err(LoopbackError::Cancelled),
            _ = tokio::time::sleep_until(deadline) => return Err(LoopbackError::Timeout),
            Some(event) = rx.recv() => match event {
                Event::Valid(cb) => return Ok(cb),
                Event::Ignored(why) => { on_ignored(&why); continue; }
            },
            r = first.accept() => r,
            r = accept_opt(second) => r,
        };
        let Ok((stream, _)) = accepted else { continue };
        // Forget connections that are done or past reading (their tasks end on their own).
        open.retain(|c| !c.read_done.load(Ordering::Acquire) && !c.evict.is_cancelled());
        if open.len() >= max {
            // Full: the oldest connection still waiting for its request makes room. It is
            // only closed while reading (the task ignores `evict` afterwards), so a request
            // that has arrived is always answered.
            if let Some(oldest) = open.pop_front() {
                oldest.evict.cancel();
            }
        }
        let conn = Conn {
            read_done: Arc::new(AtomicBool::new(false)),
            evict: CancellationToken::new(),
        };
        let (read_done, evict) = (conn.read_done.clone(), conn.evict.clone());
        open.push_back(conn);
        let (tx, state) = (tx.clone(), state.clone());
        tasks.spawn(async move {
            let event = serve(stream, &state, path, limits, &read_done, &evict).await;
            let _ = tx.send(event).await;
        });
        // Reap finished tasks so the set does not grow without bound.
        while tasks.try_join_next().is_some() {}
    }
}

async fn accept_opt(l: Option<&TcpListener>) -> std::io::Result<(TcpStream, SocketAddr)> {
    match l {
        Some(l) => l.accept().await,
        None => std::future::pending().await,
    }
}

struct Request {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

enum ReadError {
    Status(u16, &'static str),
    Closed,
}

async fn serve(
    mut stream: TcpStream,
    expected_state: &str,
    callback_path: &str,
    limits: Limits,
    read_done: &AtomicBool,
    evict: &CancellationToken,
) -> Event {
    let mut got_bytes = false;
    let read = tokio::select! {
        // Evicted to make room for a newer connection: close without a word (counted).
        _ = evict.cancelled() => {
            return Event::Ignored(
                "a connection that had not sent its request was closed to make room for a new one".into(),
            );
        }
        r = tokio::time::timeout(limits.read_timeout, read_request(&mut stream, limits, &mut got_bytes)) => r,
    };
    read_done.store(true, Ordering::Release);
    let request = match read {
        Err(_) if !got_bytes => {
            // Nothing was sent (an idle or pre-opened connection): close, no answer, so a
            // browser that pre-connected simply opens a new connection.
            return Event::Ignored("a connection sent nothing and was closed (timed out)".into());
        }
        Err(_) => {
            respond(&mut stream, 408, &pages::not_accepted()).await;
            return Event::Ignored("a connection sent its request too slowly (timed out)".into());
        }
        Ok(Err(ReadError::Closed)) => {
            return Event::Ignored("a connection closed without a request".into());
        }
        Ok(Err(ReadError::Status(status, why))) => {
            respond(&mut stream, status, &pages::not_accepted()).await;
            return Event::Ignored(format!("{why} ({status})"));
        }
        Ok(Ok(r)) => r,
    };
    match route(&request, expected_state, callback_path) {
        Ok(mut cb) => {
            // Shown in the browser page, the report and the UI; never compared as a value
            // that decides anything but the explanation.
            cb.error = cleaned_opt(cb.error);
            cb.error_description = cleaned_opt(cb.error_description);
            cb.scope = cleaned_opt(cb.scope);
            let page = if cb.error.is_some() {
                pages::error(&cb)
            } else if cb.admin_consent.is_some() {
                pages::consent_received()
            } else {
                pages::sign_in_received()
            };
            respond(&mut stream, 200, &page).await;
            Event::Valid(cb)
        }
        Err((status, why)) => {
            respond(
                &mut stream,
                status,
                &if status == 404 {
                    pages::not_found()
                } else {
                    pages::not_accepted()
                },
            )
            .await;
            // The reason quotes the request (its method, a parameter name): cleaned here,
            // once, for every consumer.
            Event::Ignored(clean(&why).into_owned())
        }
    }
}

// Generic over the reader so the parser can be fed arbitrary bytes in tests.
async fn read_request(
    stream: &mut (impl tokio::io::AsyncRead + Unpin),
    limits: Limits,
    got_bytes: &mut bool,
) -> Result<Request, ReadError> {
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            break i;
        }
        if buf.len() > limits.max_header_bytes {
            return Err(ReadError::Status(431, "request headers too large"));
        }
        let n = stream
            .read(&mut chunk)
            .await
            .map_err(|_| ReadError::Closed)?;
        if n == 0 {
            return Err(if buf.is_empty() {
                ReadError::Closed
            } else {
                ReadError::Status(400, "truncated request")
            });
        }
        *got_bytes = true;
        buf.extend_from_slice(&chunk[..n]);
    };
    if head_end > limits.max_header_bytes {
        return Err(ReadError::Status(431, "request headers too large"));
    }
    let head = std::str::from_utf8(&buf[..head_end])
        .map_err(|_| ReadError::Status(400, "request head is not UTF-8"))?;
    let mut lines = head.split("\r\n");
    let mut parts = lines.next().unwrap_or_default().split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ReadError::Status(400, "malformed request line"));
    };
    if !version.starts_with("HTTP/1.") {
        return Err(ReadError::Status(400, "not HTTP/1.x"));
    }
    let mut headers = Vec::new();
    for line in lines {
        let Some((k, v)) = line.split_once(':') else {
            return Err(ReadError::Status(400, "malformed header"));
        };
        if headers.len() >= 100 {
            return Err(ReadError::Status(431, "too many headers"));
        }
        headers.push((k.trim().to_string(), v.trim().to_string()));
    }
    let mut request = Request {
        method: method.to_string(),
        target: target.to_string(),
        headers,
        body: Vec::new(),
    };
    if request.header("transfer-encoding").is_some() {
        return Err(ReadError::Status(
            411,
            "chunked request bodies are not accepted",
        ));
    }
    let length = match request.header("content-length") {
        None => 0,
        Some(v) => v
            .parse::<usize>()
            .map_err(|_| ReadError::Status(400, "bad Content-Length"))?,
    };
    if length > limits.max_body_bytes {
        return Err(ReadError::Status(413, "request body too large"));
    }
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < length {
        let n = stream
            .read(&mut chunk)
            .await
            .map_err(|_| ReadError::Closed)?;
        if n == 0 {
            return Err(ReadError::Status(400, "truncated body"));
        }
        body.extend_from_slice(&chunk[..n]);
    }
    if body.len() > length {
        return Err(ReadError::Status(400, "more body than Content-Length"));
    }
    request.body = body;
    Ok(request)
}

#[cfg(test)]
#[path = "loopback_props.rs"]
mod props;

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Decides what a well-formed request is. `Err((status, why))` = refuse and keep waiting.
fn route(
    r: &Request,
    expected_state: &str,
    callback_path: &str,
) -> Result<Callback, (u16, String)> {
    let (path, query) = r.target.split_once('?').unwrap_or((r.target.as_str(), ""));
    if path != callback_path {
        return Err((404, "a request for another path".into()));
    }
    let host_ok = r.header("host").is_some_and(|h| {
        let host = h.rsplit_once(':').map_or(h, |(host, _)| host);
        matches!(host, "localhost" | "127.0.0.1" | "[::1]")
    });
    if !host_ok {
        return Err((
            400,
            "a request with a Host that is not this computer".into(),
        ));
    }
    let (via, raw) = match r.method.as_str() {
        "POST" => {
            let ct = r
                .header("content-type")
                .unwrap_or_default()
                .to_ascii_lowercase();
            if !ct.starts_with("application/x-www-form-urlencoded") {
                return Err((415, "a POST that is not a form".into()));
            }
            (Via::FormPost, r.body.as_slice())
        }
        "GET" => (Via::Query, query.as_bytes()),
        _ => {
            return Err((
                405,
                format!(
                    "a {} request",
                    r.method.chars().take(10).collect::<String>()
                ),
            ));
        }
    };
    let mut fields: Vec<(String, String)> = Vec::new();
    for (k, v) in url::form_urlencoded::parse(raw) {
        if fields.iter().any(|(seen, _)| *seen == k) {
            return Err((
                400,
                format!(
                    "a response with '{}' twice",
                    k.chars().take(20).collect::<String>()
                ),
            ));
        }
        fields.push((k.into_owned(), v.into_owned()));
    }
    let take = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let has_result = take("code").is_some()
        || take("id_token").is_some()
        || take("error").is_some()
        || take("admin_consent").is_some();
    if !has_result {
        return Err((
            400,
            "a request without code, id_token, admin_consent or error".into(),
        ));
    }
    match take("state") {
        None => {
            return Err((
                400,
                "a response without state (refused; still waiting)".into(),
            ));
        }
        Some(s) if !bool::from(s.as_bytes().ct_eq(expected_state.as_bytes())) => {
            return Err((
                400,
                "a response with the wrong state (refused; still waiting)".into(),
            ));
        }
        Some(_) => {}
    }
    Ok(Callback {
        via,
        code: take("code").map(Sensitive::new),
        id_token: take("id_token").map(Sensitive::new),
        iss: take("iss"),
        error: take("error"),
        error_description: take("error_description"),
        admin_consent: take("admin_consent"),
        tenant: take("tenant"),
        scope: take("scope"),
    })
}

async fn respond(stream: &mut TcpStream, status: u16, body: &str) {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        411 => "Length Required",
        413 => "Content Too Large",
        415 => "Unsupported Media Type",
        431 => "Request Header Fields Too Large",
        _ => "Error",
    };
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\n\
         Content-Type: text/html; charset=utf-8\r\n\
         Content-Length: {}\r\n\
         Cache-Control: no-store\r\n\
         Pragma: no-cache\r\n\
         Referrer-Policy: no-referrer\r\n\
         Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'; form-action 'none'; frame-ancestors 'none'\r\n\
         X-Content-Type-Options: nosniff\r\n\
         X-Frame-Options: DENY\r\n\
         Connection: close\r\n\r\n",
        body.len()
    );
    // Best effort: the browser may already be gone. Flush and shut down so it sees a
    // complete response rather than a reset (MSAL.NET #5474).
    let _ = stream.write_all(head.as_bytes()).await;
    let _ = stream.write_all(body.as_bytes()).await;
    let _ = stream.flush().await;
    let _ = stream.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(method: &str, target: &str, body: &str) -> Request {
        Request {
            method: method.into(),
            target: target.into(),
            headers: vec![
                ("Host".into(), "localhost:1234".into()),
                (
                    "Content-Type".into(),
                    "application/x-www-form-urlencoded".into(),
                ),
            ],
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn routes() {
        let p = WIZARD_CALLBACK_PATH;
        assert_eq!(
            route(&req("GET", "/favicon.ico", ""), "s", WIZARD_CALLBACK_PATH)
                .unwrap_err()
                .0,
            404
        );
        assert_eq!(
            route(&req("PUT", p, ""), "s", WIZARD_CALLBACK_PATH)
                .unwrap_err()
                .0,
            405
        );
        assert_eq!(
            route(&req("POST", p, "code=c&state=x"), "s", WIZARD_CALLBACK_PATH)
                .unwrap_err()
                .0,
            400
        );
        assert_eq!(
            route(&req("POST", p, "code=c"), "s", WIZARD_CALLBACK_PATH)
                .unwrap_err()
                .0,
            400
        );
        assert_eq!(
            route(
                &req("POST", p, "code=c&state=s&state=s"),
                "s",
                WIZARD_CALLBACK_PATH
            )
            .unwrap_err()
            .0,
            400
        );
        let cb = route(
            &req("POST", p, "code=c&id_token=t&state=s"),
            "s",
            WIZARD_CALLBACK_PATH,
        )
        .unwrap();
        assert_eq!(cb.via, Via::FormPost);
        assert_eq!(cb.code.unwrap().expose(), "c");
        let cb = route(
            &req(
                "GET",
                &format!("{p}?error=access_denied&error_description=AADSTS65004%3A+no&state=s"),
                "",
            ),
            "s",
            WIZARD_CALLBACK_PATH,
        )
        .unwrap();
        assert_eq!(cb.error_description.as_deref(), Some("AADSTS65004: no"));
        let cb = route(
            &req(
                "GET",
                &format!("{p}?admin_consent=True&tenant=t1&scope=x&state=s"),
                "",
            ),
            "s",
            WIZARD_CALLBACK_PATH,
        )
        .unwrap();
        assert_eq!(
            (cb.via, cb.admin_consent.as_deref(), cb.tenant.as_deref()),
            (Via::Query, Some("True"), Some("t1"))
        );
        assert_eq!(
            route(
                &req("GET", &format!("{p}?admin_consent=True&tenant=t1"), ""),
                "s",
                WIZARD_CALLBACK_PATH,
            )
            .unwrap_err()
            .0,
            400,
            "a consent answer without state is refused like any other"
        );
        let mut evil = req("POST", p, "code=c&state=s");
        evil.headers[0].1 = "evil.example:80".into();
        assert_eq!(route(&evil, "s", WIZARD_CALLBACK_PATH).unwrap_err().0, 400);
    }

    #[test]
    fn a_custom_callback_path_is_the_only_one_served() {
        let cb = route(&req("GET", "/?code=c&state=s", ""), "s", "/").unwrap();
        assert_eq!(cb.via, Via::Query);
        let wrong = route(
            &req("GET", &format!("{WIZARD_CALLBACK_PATH}?code=c&state=s"), ""),
            "s",
            "/",
        );
        assert_eq!(wrong.unwrap_err().0, 404);
    }

    #[tokio::test]
    async fn both_loopback_addresses_reach_the_listener() {
        let listener = Listener::bind().await.unwrap();
        let port = listener.port();
        let addr = if listener.dual_stack() {
            "[::1]"
        } else {
            "127.0.0.1"
        };
        let cancel = CancellationToken::new();
        let deadline = Instant::now() + Duration::from_secs(5);
        let waiter = tokio::spawn(async move {
            wait(listener, "s", Limits::default(), deadline, &cancel, |_| {}).await
        });
        let body = "code=c&id_token=t&state=s";
        let mut stream = TcpStream::connect(format!("{addr}:{port}")).await.unwrap();
        let req = format!(
            "POST {WIZARD_CALLBACK_PATH} HTTP/1.1\r\nHost: localhost:{port}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(req.as_bytes()).await.unwrap();
        let mut resp = String::new();
        stream.read_to_string(&mut resp).await.unwrap();
        assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
        assert!(
            resp.contains("Cache-Control: no-store")
                && resp.contains("Return to the Entra Onboard wizard")
        );
        assert!(waiter.await.unwrap().is_ok());
    }

    /// Sends `request` on a new connection and returns the whole response.
    async fn send(port: u16, request: &[u8]) -> String {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        stream.write_all(request).await.unwrap();
        let mut resp = Vec::new();
        let _ = stream.read_to_end(&mut resp).await;
        String::from_utf8_lossy(&resp).into_owned()
    }

    fn form_post(port: u16, body: &str) -> Vec<u8> {
        format!(
            "POST {WIZARD_CALLBACK_PATH} HTTP/1.1\r\nHost: localhost:{port}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    }

    #[tokio::test]
    async fn forty_idle_connections_do_not_starve_the_callback() {
        let listener = Listener::bind().await.unwrap();
        let port = listener.port();
        // A long read deadline: what lets the callback through must be the eviction of
        // idle connections, not their timing out.
        let limits = Limits {
            read_timeout: Duration::from_secs(120),
            ..Limits::default()
        };
        let cancel = CancellationToken::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        let waiter =
            tokio::spawn(
                async move { wait(listener, "s", limits, deadline, &cancel, |_| {}).await },
            );
        // More idle connections than the cap, held open, queued before the callback.
        let mut idle = Vec::new();
        for _ in 0..40 {
            idle.push(TcpStream::connect(("127.0.0.1", port)).await.unwrap());
        }
        let resp = send(port, &form_post(port, "code=c&id_token=t&state=s")).await;
        assert!(resp.starts_with("HTTP/1.1 200"), "{resp:?}");
        let cb = waiter
            .await
            .unwrap()
            .expect("the real callback ends the wait");
        assert_eq!(cb.code.unwrap().expose(), "c");
        drop(idle);
    }

    #[tokio::test]
    async fn an_evicted_or_silent_connection_is_closed_without_an_answer() {
        let listener = Listener::bind().await.unwrap();
        let port = listener.port();
        let limits = Limits {
            read_timeout: Duration::from_secs(120),
            max_connections: 2,
            ..Limits::default()
        };
        let (tx, mut rx) = mpsc::unbounded_channel::<String>();
        let cancel = CancellationToken::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        let waiter = tokio::spawn(async move {
            wait(listener, "s", limits, deadline, &cancel, |why| {
                let _ = tx.send(why.to_string());
            })
            .await
        });
        let mut oldest = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        let _second = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        let _third = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        // The third made room by closing the oldest, which gets no answer at all.
        let mut buf = Vec::new();
        oldest.read_to_end(&mut buf).await.unwrap();
        assert!(buf.is_empty(), "{:?}", String::from_utf8_lossy(&buf));
        assert!(rx.recv().await.unwrap().contains("to make room"));
        let resp = send(port, &form_post(port, "code=c&state=s")).await;
        assert!(resp.starts_with("HTTP/1.1 200"), "{resp:?}");
        assert!(waiter.await.unwrap().is_ok());
    }

    #[tokio::test]
    async fn control_and_bidi_characters_do_not_reach_the_log_or_the_callback() {
        let listener = Listener::bind().await.unwrap();
        let port = listener.port();
        let (tx, mut rx) = mpsc::unbounded_channel::<String>();
        let cancel = CancellationToken::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        let waiter = tokio::spawn(async move {
            wait(listener, "s", Limits::default(), deadline, &cancel, |why| {
                let _ = tx.send(why.to_string());
            })
            .await
        });
        let unsafe_char = |s: &str| s.chars().any(crate::text::is_unsafe);
        // ESC in the method; an OSC title sequence and a bidi override in a parameter name
        // given twice.
        let method = format!(
            "\u{1b}[2J\u{202E}PUT {WIZARD_CALLBACK_PATH} HTTP/1.1\r\nHost: localhost:{port}\r\n\r\n"
        );
        let dup = "%1B%5D0%3Bpwned%07%E2%80%AEx=1&%1B%5D0%3Bpwned%07%E2%80%AEx=2&code=c&state=s";
        for (request, status, words) in [
            (method.into_bytes(), "405", "PUT request"),
            (form_post(port, dup), "400", "twice"),
        ] {
            let resp = send(port, &request).await;
            assert!(resp.starts_with(&format!("HTTP/1.1 {status}")), "{resp:?}");
            let why = rx.recv().await.unwrap();
            assert!(!unsafe_char(&why), "{why:?}");
            assert!(why.contains(words), "{why:?}");
        }
        let resp = send(
            port,
            format!(
                "GET {WIZARD_CALLBACK_PATH}?error=access%1B_denied&error_description=AADSTS65004%3A+%1B%5B31mdeclined%E2%80%AE%E2%81%A6%0D%0ATrace+ID%3A+1&scope=a%1Bb&state=s HTTP/1.1\r\nHost: localhost:{port}\r\n\r\n"
            )
            .as_bytes(),
        )
        .await;
        assert!(resp.starts_with("HTTP/1.1 200") && !unsafe_char(&resp.replace("\r\n", "")));
        let cb = waiter.await.unwrap().unwrap();
        assert_eq!(
            cb.error_description.as_deref(),
            Some("AADSTS65004: [31mdeclined Trace ID: 1")
        );
        assert_eq!(cb.error.as_deref(), Some("access_denied"));
        assert_eq!(cb.scope.as_deref(), Some("ab"));
    }

    #[test]
    fn the_ignored_log_is_capped_and_counts_everything() {
        let mut log = IgnoredLog::default();
        for i in 0..1000 {
            let kept = log.push(&format!("request {i}\u{1b}[31m {}", "x".repeat(500)));
            assert_eq!(kept, i < IgnoredLog::MAX);
        }
        assert_eq!(log.total(), 1000);
        assert_eq!(log.reasons().len(), IgnoredLog::MAX);
        assert!(
            log.reasons()
                .iter()
                .all(|r| r.chars().count() <= 200 && !r.contains('\u{1b}'))
        );
        assert!(log.reasons()[0].starts_with("request 0[31m "));
    }

    #[test]
    fn debug_hides_code_and_token() {
        let cb = route(
            &req(
                "POST",
                WIZARD_CALLBACK_PATH,
                "code=SECRETCODE&id_token=TOKEN&state=s",
            ),
            "s",
            WIZARD_CALLBACK_PATH,
        )
        .unwrap();
        let dbg = format!("{cb:?}");
        assert!(!dbg.contains("SECRETCODE") && !dbg.contains("TOKEN"));
    }
}
