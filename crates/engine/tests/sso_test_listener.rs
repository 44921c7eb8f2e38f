//! The SSO test's loopback listener as the report sees it: hostile text in a callback, a
//! token endpoint's error or a stray request never reaches the report or the terminal with
//! control or bidi characters, and a flood of stray requests is counted, not all kept.
//! The provider is tests/common's; the "browser" is a task that talks to the listener.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use entra_onboard_engine::Profile;
use entra_onboard_engine::ids::Sensitive;
use entra_onboard_engine::sso_test::{
    self, CancellationToken, ClientCredential, Limits, SsoReport, SsoTestOptions,
};
use entra_onboard_engine::text::is_unsafe;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn profile(h: &Hostile) -> Profile {
    Profile::from_json(
        &json!({
            "name": "Hostile", "agent_url": "https://acme.halopsa.com", "tenant_id": TENANT,
            "client_id": CLIENT, "authority": h.authority(), "sso_for": "both",
        })
        .to_string(),
    )
    .unwrap()
}

/// Runs the test with `before` run by the browser before it delivers the callback.
async fn run<F, Fut>(scenario: Scenario, before: F) -> SsoReport
where
    F: Fn(u16) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let h = start(scenario).await;
    let before = Arc::new(before);
    let opts = SsoTestOptions {
        timeout: Duration::from_secs(20),
        limits: Limits::default(),
        http_timeout: Duration::from_secs(5),
        open_browser: Arc::new(move |url| {
            let url = url.url().clone();
            let port = url::Url::parse(
                &url.query_pairs()
                    .find(|(k, _)| k == "redirect_uri")
                    .unwrap()
                    .1,
            )
            .unwrap()
            .port()
            .unwrap();
            let before = before.clone();
            tokio::spawn(async move {
                before(port).await;
                browse(url, BrowserPlan::default(), Seen::default()).await;
            });
            Ok(())
        }),
        progress: None,
    };
    let cred = ClientCredential::Secret(Sensitive::new("s3cret".into()));
    sso_test::run(&profile(&h), &cred, &opts, &CancellationToken::new())
        .await
        .unwrap()
}

async fn nothing(_: u16) {}

/// Sends one raw request and waits for the whole answer.
async fn raw(port: u16, request: String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    s.write_all(request.as_bytes()).await.unwrap();
    let mut sink = Vec::new();
    let _ = s.read_to_end(&mut sink).await;
}

/// Every string in the report (as the UI gets it) and its text rendering are clean; no
/// line but the first starts with the verdict a hostile value tried to forge.
fn assert_clean(r: &SsoReport) {
    fn walk(v: &Value) {
        match v {
            Value::String(s) => assert!(!s.chars().any(is_unsafe), "{s:?}"),
            Value::Array(a) => a.iter().for_each(walk),
            Value::Object(o) => o.values().for_each(walk),
            _ => {}
        }
    }
    walk(&serde_json::to_value(r).unwrap());
    let text = sso_test::render_text(r);
    assert!(!text.chars().any(|c| c != '\n' && is_unsafe(c)), "{text:?}");
    assert!(
        !text
            .lines()
            .skip(1)
            .any(|l| l.starts_with("SSO test: PASSED")),
        "{text}"
    );
}

const NASTY: &str = "AADSTS50011: The redirect URI \u{1b}[2J\u{1b}]0;pwned\u{7}'http://localhost:1/x'\u{202E}gnp.exe\u{2066} specified in the request\r\nSSO test: PASSED";

#[tokio::test]
async fn an_error_description_with_escapes_and_bidi_reaches_no_report() {
    let r = run(
        Scenario {
            callback_fields: Some(vec![
                ("error".into(), "invalid\u{1b}[8m_request".into()),
                ("error_description".into(), NASTY.into()),
            ]),
            ..Default::default()
        },
        nothing,
    )
    .await;
    assert!(!r.ok);
    let e = r.error.as_ref().unwrap();
    assert_eq!(e.code, "AADSTS50011");
    assert!(
        e.message
            .contains("'http://localhost:1/x'gnp.exe specified in the request SSO test: PASSED"),
        "the words stay, on one line: {}",
        e.message
    );
    assert_clean(&r);
}

#[tokio::test]
async fn a_token_endpoint_error_with_escapes_reaches_no_report() {
    let err = json!({"error": "invalid_client", "error_description": format!("AADSTS7000215: Invalid client secret provided.\u{1b}[8m{NASTY}\u{202E}"), "error_codes": [7000215]});
    let r = run(
        Scenario {
            redeem_error: Some((401, err)),
            ..Default::default()
        },
        nothing,
    )
    .await;
    assert_eq!(r.error.as_ref().unwrap().code, "AADSTS7000215");
    assert_eq!(r.error.as_ref().unwrap().step, Some(3));
    assert_clean(&r);
}

#[tokio::test]
async fn a_flood_of_stray_requests_is_counted_and_the_kept_ones_are_clean() {
    let sent = Arc::new(Mutex::new(0u64));
    let counter = sent.clone();
    let r = run(Scenario::default(), move |port| {
        let counter = counter.clone();
        async move {
            for i in 0..60 {
                // A parameter name with an escape sequence and a bidi override, given twice:
                // echoed as "a response with '…' twice". (A raw escape in the method no
                // longer gets that far: the HTTP parser refuses it, unquoted.)
                raw(
                    port,
                    format!(
                        "GET /entra-onboard/callback?%1B%5B31m%E2%80%AEn{i}=1&%1B%5B31m%E2%80%AEn{i}=2 HTTP/1.1\r\nHost: localhost:{port}\r\n\r\n"
                    ),
                )
                .await;
                *counter.lock().unwrap() += 1;
            }
        }
    })
    .await;
    assert!(r.ok, "{r:#?}");
    assert_eq!(*sent.lock().unwrap(), 60);
    assert_eq!(r.ignored_requests.len(), 20, "{:?}", r.ignored_requests);
    // Every refusal is counted (the last few may still be on their way when the callback
    // ends the wait).
    assert!(
        (21..=60).contains(&r.ignored_requests_total),
        "{}",
        r.ignored_requests_total
    );
    assert!(
        r.ignored_requests[0].contains("n0' twice"),
        "{:?}",
        r.ignored_requests
    );
    let more = r.ignored_requests_total - 20;
    assert!(
        sso_test::render_text(&r).contains(&format!("; and {more} more")),
        "{}",
        sso_test::render_text(&r)
    );
    assert_clean(&r);
}
