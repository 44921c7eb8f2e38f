//! The loopback listener that receives a browser's answer (RFC 8252 §7.3): the SSO test's
//! sign-in response, the admin-consent redirect ([`crate::steps::consent_capture`]) and
//! the Graph sign-in ([`crate::graph::signin`]).
//!
//! One ephemeral port bound on 127.0.0.1 *and* [::1] before the browser opens (the
//! redirect URI says `localhost`, which a browser may resolve either way; Entra ignores
//! the port of `http://localhost` URIs), serving exactly one path.
//!
//! HTTP/1 is hyper's (`hyper::server::conn::http1`, compiled in anyway through reqwest
//! and axum): the request line, headers and body framing are parsed by a well-kept parser,
//! not by hand. What this module adds is the limits, all in [`Limits`] and
//! `http1_builder`: headers at most [`Limits::max_header_bytes`] (hyper answers 431),
//! the body at most [`Limits::max_body_bytes`] (`http_body_util::Limited`; 413), the whole
//! request within [`Limits::read_timeout`] of the connection's accept (hyper's header read
//! timeout, then the same deadline for the body), one request per connection (keep-alive
//! off, `Connection: close`), so a slow-loris cannot block the real callback.
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
//! terminal or report (a raw control character in the request line or a header never gets
//! past hyper's parser at all). `state`, `code`, `id_token`, `iss`, `tenant` and
//! `admin_consent` are left raw: they are compared or validated, and cleaning could make a
//! wrong value match; whoever shows them cleans them. [`IgnoredLog`] keeps the refusals
//! for the report, bounded.
//!
//! Accepted: `POST <callback path>` with an `application/x-www-form-urlencoded` body
//! (`response_mode=form_post`), and `GET <callback path>?…` (error redirects, and the
//! `admin_consent=True&tenant=…` redirect of `/adminconsent`, see
//! [`crate::steps::consent_capture`]). Anything else gets 404/405/413/415/400 (or
//! hyper's own 400/414/431 for what does not parse) and the wait goes on. A response
//! whose `state` is missing or wrong is refused with 400 and the wait goes on. The first
//! response with the right `state` ends the wait; the listener is closed when [`wait`]
//! returns.
//!
//! Every page ([`pages`]) is a maud template with every value HTML-escaped, `no-store`, has no external resources
//! (CSP `default-src 'none'`) and tells the admin to return to the wizard. The page never
//! redirects anywhere (no open redirector, RFC 9700 §4.11.1).
//!
//! Left out: HTTP/2, keep-alive, absolute-form request targets (`POST http://…`, a
//! proxy's form: 404), header limits below hyper's 8 KiB minimum buffer.

mod pages;

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::{Body, Bytes, Incoming};
use hyper::header::{self, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use subtle::ConstantTimeEq as _;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
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
    /// Request line plus headers (hyper's `max_header_size`; its read buffer is at least
    /// 8 KiB whatever this says, but a complete head over this is refused with 431).
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

/// Binds a listening socket on `addr` that no other process can bind too.
///
/// On Windows a second socket may bind the same address and port with `SO_REUSEADDR` and
/// steal the connections (and with them the authorization code); `SO_EXCLUSIVEADDRUSE`,
/// set before `bind`, refuses that. RFC 8252 §8.3 asks native apps for exactly this, and
/// Microsoft's "SO_EXCLUSIVEADDRUSE socket option"
/// (<https://learn.microsoft.com/windows/win32/winsock/so-exclusiveaddruse>) says it must be
/// set before the bind. On Linux and macOS another user cannot take a bound port (the
/// `SO_REUSEADDR` tokio sets there only allows rebinding after `TIME_WAIT`), so nothing more
/// is done.
fn bind_exclusive(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    #[cfg(windows)]
    exclusive_address_use(&socket)?;
    #[cfg(unix)]
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    // A handful of connections at once is the browser's worst case (page, favicon, a retry).
    socket.listen(16)
}

/// Sets `SO_EXCLUSIVEADDRUSE` (see [`bind_exclusive`]).
#[cfg(windows)]
fn exclusive_address_use(socket: &tokio::net::TcpSocket) -> std::io::Result<()> {
    use std::os::windows::io::AsRawSocket;
    use windows_sys::Win32::Networking::WinSock::{SO_EXCLUSIVEADDRUSE, SOL_SOCKET, setsockopt};
    let on: i32 = 1;
    // SAFETY: the socket is open and owned by `socket` for the whole call; `optval` points
    // at a live i32 and `optlen` is its size, as setsockopt requires.
    let rc = unsafe {
        setsockopt(
            socket.as_raw_socket() as usize,
            SOL_SOCKET,
            SO_EXCLUSIVEADDRUSE,
            (&on as *const i32).cast::<u8>(),
            std::mem::size_of::<i32>() as i32,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

impl Listener {
    /// Binds one ephemeral port on 127.0.0.1 and the same port on [::1] (when this
    /// computer has IPv6). Never binds a non-loopback interface.
    pub async fn bind() -> Result<Listener, LoopbackError> {
        let mut last = String::new();
        for _ in 0..8 {
            let v4 = bind_exclusive(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
                .map_err(|e| LoopbackError::Bind(e.to_string()))?;
            let port = v4
                .local_addr()
                .map_err(|e| LoopbackError::Bind(e.to_string()))?
                .port();
            match bind_exclusive(SocketAddr::from((Ipv6Addr::LOCALHOST, port))) {
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
            let event = serve(stream, state, path, limits, read_done, evict).await;
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

/// hyper's HTTP/1 server connection with the listener's limits: the whole head within
/// `max_header_bytes` (hyper answers 431) and `read_timeout` (hyper closes the connection;
/// [`serve`] answers 408 if part of a request had arrived), one request per connection.
fn http1_builder(limits: Limits) -> http1::Builder {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.read_timeout)
        // hyper's read buffer cannot be smaller than 8 KiB; `max_header_size` is the exact cap.
        .max_buf_size(limits.max_header_bytes.max(8 * 1024))
        .max_header_size(limits.max_header_bytes)
        .max_headers(100)
        .keep_alive(false)
        // A client may shut down its sending side once its request is out (`nc -N`, some
        // scripts): the answer still goes back, as it did before hyper.
        .half_close(true)
        .title_case_headers(true);
    builder
}

/// Serves one connection: one request, answered, then closed. Generic over the stream so
/// the property tests can feed it arbitrary bytes. The [`Event`] is returned only once the
/// answer is written (or the browser is gone), because [`wait`] returning closes every
/// connection still open.
async fn serve<S>(
    stream: S,
    expected_state: Arc<str>,
    callback_path: &'static str,
    limits: Limits,
    read_done: Arc<AtomicBool>,
    evict: CancellationToken,
) -> Event
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    // The whole request (head and body) must arrive within `read_timeout` of the accept.
    let deadline = Instant::now() + limits.read_timeout;
    // What the one request decided; taken after the connection ends.
    let decided: Arc<Mutex<Option<Event>>> = Arc::default();
    let service = {
        let (decided, read_done) = (decided.clone(), read_done.clone());
        service_fn(move |request: Request<Incoming>| {
            let (decided, read_done, state) =
                (decided.clone(), read_done.clone(), expected_state.clone());
            async move {
                let (status, page, event) =
                    answer(request, &state, callback_path, limits, deadline, &read_done).await;
                if let Ok(mut slot) = decided.lock() {
                    *slot = Some(event);
                }
                Ok::<_, Infallible>(page_response(status, page))
            }
        })
    };
    let mut conn = http1_builder(limits).serve_connection(
        TokioIo::new(Watched {
            inner: stream,
            got_bytes: false,
        }),
        service,
    );
    // Evicted to make room for a newer connection: only while the request is still
    // arriving. Once it has (`read_done`), the eviction is ignored and the answer goes out.
    let evicted = async {
        evict.cancelled().await;
        if read_done.load(Ordering::Acquire) {
            std::future::pending::<()>().await;
        }
    };
    let ended = tokio::select! {
        ended = &mut conn => ended,
        () = evicted => {
            return Event::Ignored(
                "a connection that had not sent its request was closed to make room for a new one".into(),
            );
        }
    };
    read_done.store(true, Ordering::Release);
    // The request was read and decided (even if the browser left before the answer was
    // written, the decision stands, as a callback whose page was not shown still counts).
    if let Some(event) = decided.lock().ok().and_then(|mut slot| slot.take()) {
        return event;
    }
    match ended {
        Ok(()) => Event::Ignored("a connection closed without a request".into()),
        Err(e) if e.is_timeout() => {
            let mut stream = conn.into_parts().io.into_inner();
            if !stream.got_bytes {
                // Nothing was sent (an idle or pre-opened connection): close, no answer,
                // so a browser that pre-connected simply opens a new connection.
                return Event::Ignored(
                    "a connection sent nothing and was closed (timed out)".into(),
                );
            }
            // hyper closes a connection whose head is late without a word; a client that
            // sent half a request is told why. Nothing else was written to it.
            let _ = stream.write_all(REQUEST_TIMEOUT).await;
            let _ = stream.shutdown().await;
            Event::Ignored("a connection sent its request too slowly (timed out)".into())
        }
        // hyper has already answered these (431/414, 400) before closing.
        Err(e) if e.is_parse_too_large() => {
            Event::Ignored("request headers or target too large (431/414)".into())
        }
        Err(e) if e.is_parse() => {
            Event::Ignored("a request that is not well-formed HTTP/1.1 (400)".into())
        }
        Err(e) if e.is_incomplete_message() => {
            Event::Ignored("a connection closed in the middle of its request".into())
        }
        Err(_) => Event::Ignored("a connection failed before its request was read".into()),
    }
}

/// The answer to a late head (see [`serve`]): written directly, as hyper has given up on
/// the connection. No body, so no page to secure.
const REQUEST_TIMEOUT: &[u8] = b"HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n";

/// Reads the body within the limits and decides: the status, the page and what the wait
/// hears. Sets `read_done` once nothing more will be read.
async fn answer(
    request: Request<Incoming>,
    expected_state: &str,
    callback_path: &str,
    limits: Limits,
    deadline: Instant,
    read_done: &AtomicBool,
) -> (StatusCode, Page, Event) {
    let (head, body) = request.into_parts();
    let refused =
        |status: StatusCode, why: &str| (status, Page::Ignored, Event::Ignored(why.into()));
    // A declared length over the cap is refused before a byte of it is read.
    if body
        .size_hint()
        .upper()
        .is_some_and(|n| n > limits.max_body_bytes as u64)
    {
        read_done.store(true, Ordering::Release);
        return refused(
            StatusCode::PAYLOAD_TOO_LARGE,
            "request body too large (413)",
        );
    }
    let collected = tokio::time::timeout_at(
        deadline,
        Limited::new(body, limits.max_body_bytes).collect(),
    )
    .await;
    read_done.store(true, Ordering::Release);
    let body = match collected {
        Err(_) => {
            return refused(
                StatusCode::REQUEST_TIMEOUT,
                "a connection sent its request too slowly (timed out)",
            );
        }
        Ok(Err(e)) if e.is::<LengthLimitError>() => {
            return refused(
                StatusCode::PAYLOAD_TOO_LARGE,
                "request body too large (413)",
            );
        }
        Ok(Err(_)) => return refused(StatusCode::BAD_REQUEST, "truncated body (400)"),
        Ok(Ok(body)) => body.to_bytes(),
    };
    match route(&head, &body, expected_state, callback_path) {
        Ok(mut cb) => {
            // Shown in the browser page, the report and the UI; never compared as a value
            // that decides anything but the explanation.
            cb.error = cleaned_opt(cb.error);
            cb.error_description = cleaned_opt(cb.error_description);
            cb.scope = cleaned_opt(cb.scope);
            let page = if cb.error.is_some() {
                Page::Html(pages::error(&cb))
            } else if cb.admin_consent.is_some() {
                Page::Html(pages::consent_received())
            } else {
                Page::Html(pages::sign_in_received())
            };
            (StatusCode::OK, page, Event::Valid(cb))
        }
        Err((status, why)) => {
            let page = if status == StatusCode::NOT_FOUND {
                Page::Html(pages::not_found())
            } else {
                Page::Ignored
            };
            // The reason quotes the request (its method, a parameter name): cleaned here,
            // once, for every consumer.
            (status, page, Event::Ignored(clean(&why).into_owned()))
        }
    }
}

/// A stream that notes whether any byte arrived: a connection that sent nothing before
/// its deadline is closed silently, one that sent part of a request gets 408.
struct Watched<S> {
    inner: S,
    got_bytes: bool,
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            this.got_bytes = true;
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod props;

/// Decides what a well-formed request is. `Err((status, why))` = refuse and keep waiting.
fn route(
    r: &hyper::http::request::Parts,
    body: &[u8],
    expected_state: &str,
    callback_path: &str,
) -> Result<Callback, (StatusCode, String)> {
    // Origin-form only (`/path?query`): an absolute-form target is a proxy's request.
    if r.uri.scheme().is_some() || r.uri.path() != callback_path {
        return Err((StatusCode::NOT_FOUND, "a request for another path".into()));
    }
    let query = r.uri.query().unwrap_or_default();
    let host_ok = r
        .headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .is_some_and(|h| {
            let host = h.rsplit_once(':').map_or(h, |(host, _)| host);
            matches!(host, "localhost" | "127.0.0.1" | "[::1]")
        });
    if !host_ok {
        return Err((
            StatusCode::BAD_REQUEST,
            "a request with a Host that is not this computer".into(),
        ));
    }
    let (via, raw) = match r.method.as_str() {
        "POST" => {
            let ct = r
                .headers
                .get(header::CONTENT_TYPE)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).to_ascii_lowercase())
                .unwrap_or_default();
            if !ct.starts_with("application/x-www-form-urlencoded") {
                return Err((
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "a POST that is not a form".into(),
                ));
            }
            (Via::FormPost, body)
        }
        "GET" => (Via::Query, query.as_bytes()),
        _ => {
            return Err((
                StatusCode::METHOD_NOT_ALLOWED,
                format!(
                    "a {} request",
                    r.method.as_str().chars().take(10).collect::<String>()
                ),
            ));
        }
    };
    let mut fields: Vec<(String, String)> = Vec::new();
    for (k, v) in url::form_urlencoded::parse(raw) {
        if fields.iter().any(|(seen, _)| *seen == k) {
            return Err((
                StatusCode::BAD_REQUEST,
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
            StatusCode::BAD_REQUEST,
            "a request without code, id_token, admin_consent or error".into(),
        ));
    }
    match take("state") {
        None => {
            return Err((
                StatusCode::BAD_REQUEST,
                "a response without state (refused; still waiting)".into(),
            ));
        }
        Some(s) if !bool::from(s.as_bytes().ct_eq(expected_state.as_bytes())) => {
            return Err((
                StatusCode::BAD_REQUEST,
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

/// The page a request gets (templates in `loopback/pages.rs`).
enum Page {
    Html(String),
    /// The "not accepted" page.
    Ignored,
}

/// Every answer: the page, `no-store`, no referrer, nothing loaded or framed, and the
/// connection closed after it (hyper writes the status line and `Content-Length`).
fn page_response(status: StatusCode, page: Page) -> Response<Full<Bytes>> {
    let body = match page {
        Page::Html(s) => Bytes::from(s),
        Page::Ignored => Bytes::from(pages::not_accepted()),
    };
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
        (header::CACHE_CONTROL, "no-store"),
        (header::PRAGMA, "no-cache"),
        (header::REFERRER_POLICY, "no-referrer"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'none'; frame-ancestors 'none'",
        ),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::CONNECTION, "close"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    /// A request as hyper hands it over: the parsed head and the whole body.
    struct Req {
        head: hyper::http::request::Parts,
        body: Vec<u8>,
    }

    fn req(method: &str, target: &str, body: &str) -> Req {
        let (head, ()) = Request::builder()
            .method(method)
            .uri(target)
            .header("Host", "localhost:1234")
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(())
            .expect("a valid test request")
            .into_parts();
        Req {
            head,
            body: body.as_bytes().to_vec(),
        }
    }

    fn route(
        r: &Req,
        expected_state: &str,
        callback_path: &str,
    ) -> Result<Callback, (StatusCode, String)> {
        super::route(&r.head, &r.body, expected_state, callback_path)
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
        evil.head
            .headers
            .insert(header::HOST, HeaderValue::from_static("evil.example:80"));
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
        // ESC and a bidi override in the method (hyper's parser refuses the request, so
        // the method is never quoted); an OSC title sequence and a bidi override in a
        // parameter name given twice (quoted, cleaned).
        let method = format!(
            "\u{1b}[2J\u{202E}PUT {WIZARD_CALLBACK_PATH} HTTP/1.1\r\nHost: localhost:{port}\r\n\r\n"
        );
        let dup = "%1B%5D0%3Bpwned%07%E2%80%AEx=1&%1B%5D0%3Bpwned%07%E2%80%AEx=2&code=c&state=s";
        for (request, status, words) in [
            (method.into_bytes(), "400", "not well-formed"),
            (
                format!("PUT {WIZARD_CALLBACK_PATH} HTTP/1.1\r\nHost: localhost:{port}\r\n\r\n")
                    .into_bytes(),
                "405",
                "PUT request",
            ),
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

    /// One connection served over an in-memory stream: sends `bytes`, shuts the sending
    /// side down if `then_close`, and returns the decision and the whole answer.
    async fn serve_bytes(bytes: &[u8], limits: Limits, then_close: bool) -> (Event, String) {
        let (mut client, server) = tokio::io::duplex(256 * 1024);
        let serving = serve(
            server,
            Arc::from("s"),
            WIZARD_CALLBACK_PATH,
            limits,
            Arc::new(AtomicBool::new(false)),
            CancellationToken::new(),
        );
        let browser = async {
            let _ = client.write_all(bytes).await;
            if then_close {
                let _ = client.shutdown().await;
            }
            let mut answer = Vec::new();
            let _ = client.read_to_end(&mut answer).await;
            String::from_utf8_lossy(&answer).into_owned()
        };
        tokio::join!(serving, browser)
    }

    fn ignored(event: &Event) -> &str {
        match event {
            Event::Ignored(why) => why,
            Event::Valid(cb) => panic!("a callback: {cb:?}"),
        }
    }

    #[tokio::test]
    async fn headers_over_the_limit_get_431_from_hyper() {
        let big = format!(
            "GET {WIZARD_CALLBACK_PATH}?code=c&state=s HTTP/1.1\r\nHost: localhost\r\nX-Pad: {}\r\n\r\n",
            "a".repeat(9 * 1024)
        );
        let (event, answer) = serve_bytes(big.as_bytes(), Limits::default(), false).await;
        assert!(answer.starts_with("HTTP/1.1 431 "), "{answer:?}");
        assert!(ignored(&event).contains("too large"), "{event:?}");
        // The limit is the configured one, not hyper's buffer: 2 KiB of headers are
        // refused when the limit says 1 KiB, and accepted under the default.
        let limits = Limits {
            max_header_bytes: 1024,
            ..Limits::default()
        };
        let padded = format!(
            "GET {WIZARD_CALLBACK_PATH}?code=c&state=s HTTP/1.1\r\nHost: localhost\r\nX-Pad: {}\r\n\r\n",
            "a".repeat(2 * 1024)
        );
        let (_, answer) = serve_bytes(padded.as_bytes(), limits, false).await;
        assert!(answer.starts_with("HTTP/1.1 431 "), "{answer:?}");
        let (event, answer) = serve_bytes(padded.as_bytes(), Limits::default(), false).await;
        assert!(answer.starts_with("HTTP/1.1 200 "), "{answer:?}");
        assert!(matches!(event, Event::Valid(_)));
    }

    #[tokio::test]
    async fn bodies_over_the_limit_get_413_declared_or_chunked() {
        let limits = Limits {
            max_body_bytes: 100,
            ..Limits::default()
        };
        let form = format!("code=c&state=s&pad={}", "a".repeat(200));
        // Declared: refused before the body is read.
        let (event, answer) = serve_bytes(&form_post(1234, &form), limits, false).await;
        assert!(answer.starts_with("HTTP/1.1 413 "), "{answer:?}");
        assert!(ignored(&event).contains("too large"), "{event:?}");
        // Chunked: no length up front, so `Limited` stops it once it passes the cap.
        let chunked = format!(
            "POST {WIZARD_CALLBACK_PATH} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{form}\r\n0\r\n\r\n",
            form.len()
        );
        let (event, answer) = serve_bytes(chunked.as_bytes(), limits, false).await;
        assert!(answer.starts_with("HTTP/1.1 413 "), "{answer:?}");
        assert!(ignored(&event).contains("too large"), "{event:?}");
        // Under the cap, chunked is read like any other body.
        let small = "code=c&state=s";
        let chunked = format!(
            "POST {WIZARD_CALLBACK_PATH} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{small}\r\n0\r\n\r\n",
            small.len()
        );
        let (event, answer) = serve_bytes(chunked.as_bytes(), limits, false).await;
        assert!(answer.starts_with("HTTP/1.1 200 "), "{answer:?}");
        assert!(matches!(event, Event::Valid(_)));
    }

    #[tokio::test]
    async fn a_body_that_stops_arriving_gets_408_at_the_deadline() {
        // The head is complete, half the declared body never comes: the same per-connection
        // deadline that bounds the head bounds the body.
        let limits = Limits {
            read_timeout: Duration::from_millis(300),
            ..Limits::default()
        };
        let mut partial = form_post(1234, "code=c&state=s");
        partial.truncate(partial.len() - 5);
        let (event, answer) = serve_bytes(&partial, limits, false).await;
        assert!(answer.starts_with("HTTP/1.1 408 "), "{answer:?}");
        assert!(ignored(&event).contains("too slowly"), "{event:?}");
        // Half a head: hyper gives up on it, the listener still says 408.
        let (event, answer) = serve_bytes(
            b"POST /entra-onboard/callback HTTP/1.1\r\nHo",
            limits,
            false,
        )
        .await;
        assert!(answer.starts_with("HTTP/1.1 408 "), "{answer:?}");
        assert!(ignored(&event).contains("too slowly"), "{event:?}");
        // Nothing at all: closed without a word.
        let (event, answer) = serve_bytes(b"", limits, false).await;
        assert_eq!(answer, "");
        assert!(ignored(&event).contains("sent nothing"), "{event:?}");
    }

    #[tokio::test]
    async fn one_request_per_connection() {
        // A wrong-state request with the right one pipelined behind it on the same
        // connection: the first is answered and the connection closed; the second is
        // never read (the browser opens a new connection for each navigation).
        let mut two = form_post(1234, "code=c&state=WRONG");
        two.extend_from_slice(&form_post(1234, "code=c&state=s"));
        let (event, answer) = serve_bytes(&two, Limits::default(), false).await;
        assert!(ignored(&event).contains("wrong state"), "{event:?}");
        assert_eq!(answer.matches("HTTP/1.1 ").count(), 1, "{answer:?}");
        assert!(answer.contains("Connection: close\r\n"), "{answer:?}");
    }

    #[tokio::test]
    async fn a_client_that_half_closes_after_its_request_is_still_answered() {
        let (event, answer) =
            serve_bytes(&form_post(1234, "code=c&state=s"), Limits::default(), true).await;
        assert!(answer.starts_with("HTTP/1.1 200 "), "{answer:?}");
        assert!(matches!(event, Event::Valid(_)));
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
