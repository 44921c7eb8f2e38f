//! The sandbox answers only itself. Any web page the admin has open can make the browser
//! send requests to `127.0.0.1:<port>`; two checks stop such a page from using the
//! sandbox (its sign-in, consent, token endpoint or Graph double):
//!
//! - **DNS rebinding.** A page on `evil.example` whose name is made to resolve to
//!   127.0.0.1 could read the sandbox's answers as its own. The browser still names the
//!   page's host in `Host`, so a request whose `Host` is not exactly this server's own
//!   loopback origin — `127.0.0.1:<port>`, `localhost:<port>` or `[::1]:<port>` with the
//!   bound port (the port may be left out only when it is 80) — gets **421** and a short
//!   text. One `Host` header, no other spelling of the address (`127.1`, `2130706433`,
//!   `localhost.`), and an absolute request target must name the same origin.
//! - **Cross-origin form posts.** A page elsewhere can post a form here without reading
//!   the answer. Every method other than GET, HEAD and OPTIONS is refused with **403**
//!   when its `Origin` header is present and is not `http://<its own Host>` (`null`
//!   included), or its `Sec-Fetch-Site` is present and is neither `same-origin` nor
//!   `none` (`cross-site` and `same-site`: another port on this computer is the same site
//!   but not the sandbox).
//!
//! The sandbox's own pages post forms to their own origin, and carry `Referrer-Policy:
//! same-origin` so that browsers send that origin in `Origin` (with `no-referrer` they send
//! `Origin: null`). Programs — the wizard's HTTP client, the CLI, the tests — send no
//! `Origin` and no `Sec-Fetch-Site`, so only the `Host` check applies to them.
//!
//! Left out: CORS (the sandbox sends no `Access-Control-*` headers, so a foreign page can
//! never read an answer), and checks on GET: a GET changes nothing here except starting a
//! sign-in, which a page could equally start by navigating.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Why a request was refused, or `None` to serve it. Pure, for tests.
pub(crate) fn refusal(
    port: u16,
    method: &Method,
    authority: Option<&str>,
    headers: &HeaderMap,
) -> Option<(StatusCode, String)> {
    let mut hosts = headers.get_all(header::HOST).iter();
    let host = match (hosts.next().map(|h| h.to_str()), hosts.next()) {
        (Some(Ok(h)), None) if own_host(h, port) => h,
        _ => {
            return Some((
                StatusCode::MISDIRECTED_REQUEST,
                format!(
                    "This is Entra Onboard's practice sandbox. It answers only requests addressed to http://127.0.0.1:{port} (or localhost or [::1] on that port); this one named another host."
                ),
            ));
        }
    };
    if authority.is_some_and(|a| !a.eq_ignore_ascii_case(host)) {
        return Some((
            StatusCode::MISDIRECTED_REQUEST,
            "The request's target names another host than its Host header.".into(),
        ));
    }
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return None;
    }
    let cross_site = headers
        .get("sec-fetch-site")
        .is_some_and(|v| !matches!(v.as_bytes(), b"same-origin" | b"none"));
    let foreign_origin = headers.get(header::ORIGIN).is_some_and(|o| {
        o.to_str().map_or(true, |o| {
            o.strip_prefix("http://")
                .is_none_or(|rest| !rest.eq_ignore_ascii_case(host))
        })
    });
    (cross_site || foreign_origin).then(|| {
        (
            StatusCode::FORBIDDEN,
            "The practice sandbox accepts a form only from its own pages; this one was sent from another site.".into(),
        )
    })
}

/// True for `127.0.0.1:<port>`, `localhost:<port>` (any letter case) or `[::1]:<port>`,
/// and the bare names when `port` is 80.
fn own_host(host: &str, port: u16) -> bool {
    let (name, given) = match host.rsplit_once(':') {
        // `[::1]` alone: the colon is inside the brackets.
        Some((n, p)) if !p.ends_with(']') => (n, Some(p)),
        _ => (host, None),
    };
    let port_ok = match given {
        // Exactly as a browser writes it (no `+`, no leading zeros).
        Some(p) => p == port.to_string(),
        None => port == 80,
    };
    port_ok && (name == "127.0.0.1" || name == "[::1]" || name.eq_ignore_ascii_case("localhost"))
}

/// The middleware: serves the request or answers the refusal as text. State: the bound
/// port.
pub(crate) async fn guard(State(port): State<u16>, req: Request, next: Next) -> Response {
    let authority = req.uri().authority().map(|a| a.as_str().to_owned());
    match refusal(port, req.method(), authority.as_deref(), req.headers()) {
        None => next.run(req).await,
        Some((status, text)) => {
            let mut res = (status, text).into_response();
            res.headers_mut().insert(
                header::CONTENT_TYPE,
                header::HeaderValue::from_static("text/plain; charset=utf-8"),
            );
            res
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    fn status(method: Method, pairs: &[(&'static str, &str)]) -> Option<u16> {
        refusal(47123, &method, None, &headers(pairs)).map(|(s, _)| s.as_u16())
    }

    #[test]
    fn only_its_own_loopback_origin_is_served() {
        for ok in [
            "127.0.0.1:47123",
            "localhost:47123",
            "LocalHost:47123",
            "[::1]:47123",
        ] {
            assert_eq!(status(Method::GET, &[("host", ok)]), None, "{ok}");
        }
        for bad in [
            "evil.example:47123",
            "evil.example",
            "127.0.0.1",
            "127.0.0.1:47124",
            "127.0.0.1:+47123",
            "127.0.0.1:047123",
            "127.1:47123",
            "2130706433:47123",
            "localhost.:47123",
            "127.0.0.2:47123",
            "[::1]",
            "[::ffff:127.0.0.1]:47123",
            "user@127.0.0.1:47123",
            "",
        ] {
            assert_eq!(status(Method::GET, &[("host", bad)]), Some(421), "{bad}");
        }
        assert_eq!(status(Method::GET, &[]), Some(421), "no Host");
        assert_eq!(
            status(
                Method::GET,
                &[("host", "127.0.0.1:47123"), ("host", "evil.example")]
            ),
            Some(421),
            "two Host headers"
        );
        let h = headers(&[("host", "127.0.0.1:47123")]);
        assert_eq!(
            refusal(47123, &Method::GET, Some("evil.example:47123"), &h).map(|r| r.0),
            Some(StatusCode::MISDIRECTED_REQUEST)
        );
        assert!(refusal(80, &Method::GET, None, &headers(&[("host", "localhost")])).is_none());
    }

    #[test]
    fn cross_origin_posts_are_refused() {
        let host = ("host", "127.0.0.1:47123");
        // Programs (no Origin) and the sandbox's own pages are served.
        assert_eq!(status(Method::POST, &[host]), None);
        assert_eq!(
            status(
                Method::POST,
                &[
                    host,
                    ("origin", "http://127.0.0.1:47123"),
                    ("sec-fetch-site", "same-origin")
                ]
            ),
            None
        );
        assert_eq!(
            status(
                Method::POST,
                &[
                    ("host", "localhost:47123"),
                    ("origin", "http://LOCALHOST:47123")
                ]
            ),
            None
        );
        for (origin, site) in [
            (Some("https://evil.example"), None),
            (Some("null"), None),
            (Some("http://127.0.0.1:8080"), Some("same-site")),
            (Some("http://localhost:47123"), None), // another origin than its own Host
            (Some("https://127.0.0.1:47123"), None),
            (None, Some("cross-site")),
            (None, Some("same-site")),
            (Some("http://127.0.0.1:47123"), Some("cross-site")),
        ] {
            let mut h = vec![host];
            if let Some(o) = origin {
                h.push(("origin", o));
            }
            if let Some(s) = site {
                h.push(("sec-fetch-site", s));
            }
            for m in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
                assert_eq!(status(m.clone(), &h), Some(403), "{m} {h:?}");
            }
            // Reading is not refused for its origin (the Host check covers rebinding).
            assert_eq!(status(Method::GET, &h), None, "{h:?}");
        }
    }
}
