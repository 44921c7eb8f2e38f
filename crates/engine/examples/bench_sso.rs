//! Benchmark of the SSO test. Prints figures; asserts nothing.
//!
//! 1. callback → verdict with the key set cached (target ≤ 50 ms), against the in-process
//!    provider of tests/common: front ID token, code redemption, back ID token,
//!    client-credentials token.
//! 2. the full loopback round trip against the real provider (npm oidc-provider in
//!    tests/oidc-peer, target ≤ 300 ms): discovery, keys, listener, scripted browser
//!    (tests/scripted-browser.mjs), verdict. Skipped when `npm ci` has not been run there.
//!
//! `cargo run -p entra-onboard-engine --release --example bench_sso`

#[path = "../tests/common/mod.rs"]
mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use entra_onboard_engine::Profile;
use entra_onboard_engine::ids::Sensitive;
use entra_onboard_engine::sso_test::{self, CancellationToken, ClientCredential, SsoTestOptions};
use serde_json::json;

const RUNS: usize = 20;

fn stats(name: &str, mut v: Vec<u64>, target: u64) {
    v.sort_unstable();
    let median = v[v.len() / 2];
    let p90 = v[(v.len() * 9) / 10 - 1];
    println!(
        "{name}: median {median} ms, p90 {p90} ms, min {} ms, max {} ms over {} runs (target ≤ {target} ms)",
        v[0],
        v[v.len() - 1],
        v.len()
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // 1. In-process provider.
    let h = common::start(common::Scenario::default()).await;
    let p = Profile::from_json(
        &json!({"name": "bench", "agent_url": "https://acme.halopsa.com", "tenant_id": common::TENANT,
                "client_id": common::CLIENT, "authority": h.authority()})
        .to_string(),
    )
    .unwrap();
    let seen: common::Seen = Arc::new(Mutex::new(Vec::new()));
    let opts = SsoTestOptions {
        timeout: Duration::from_secs(10),
        open_browser: Arc::new(move |url| {
            tokio::spawn(common::browse(
                url.url().clone(),
                common::BrowserPlan::default(),
                seen.clone(),
            ));
            Ok(())
        }),
        ..SsoTestOptions::default()
    };
    let cred = ClientCredential::Secret(Sensitive::new("s3cret".into()));
    let mut verdict = Vec::new();
    let mut total = Vec::new();
    for _ in 0..RUNS {
        let r = sso_test::run(&p, &cred, &opts, &CancellationToken::new())
            .await
            .unwrap();
        assert!(r.ok, "{r:#?}");
        verdict.push(r.timings_ms.verdict.unwrap());
        total.push(r.timings_ms.total.unwrap());
    }
    stats(
        "callback→verdict, keys cached (in-process provider)",
        verdict,
        50,
    );
    stats(
        "full round trip (in-process provider, in-process browser)",
        total,
        300,
    );

    // 2. The real provider.
    let tests = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    if !tests.join("oidc-peer/node_modules/oidc-provider").is_dir() {
        println!("real provider: skipped (run npm ci --prefix crates/engine/tests/oidc-peer)");
        return;
    }
    let secret = "bench-secret-value";
    let mut child = Command::new("node")
        .arg(tests.join("oidc-peer/peer.mjs"))
        .args([
            "--tenant",
            common::TENANT,
            "--secret-client",
            common::CLIENT,
        ])
        .args([
            "--cert-client",
            "aaaaaaaa-0000-4000-8000-000000000002",
            "--cert",
        ])
        .arg(tests.join("fixtures/client-cert.pem"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("node");
    writeln!(child.stdin.take().unwrap(), "{secret}").unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let port: u16 = loop {
        if let Some(p) = lines.next().unwrap().unwrap().strip_prefix("PORT=") {
            break p.parse().unwrap();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    let p = Profile::from_json(
        &json!({"name": "bench", "agent_url": "https://acme.halopsa.com", "tenant_id": common::TENANT,
                "client_id": common::CLIENT, "authority": format!("http://127.0.0.1:{port}")})
        .to_string(),
    )
    .unwrap();
    let script = tests.join("scripted-browser.mjs");
    let opts = SsoTestOptions {
        timeout: Duration::from_secs(20),
        open_browser: Arc::new(move |url| {
            Command::new("node")
                .arg(&script)
                .arg(url.as_str())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .map(|_| ())
                .map_err(|e| entra_onboard_engine::browser::BrowserError::Launch(e.to_string()))
        }),
        ..SsoTestOptions::default()
    };
    let cred = ClientCredential::Secret(Sensitive::new(secret.into()));
    let (mut verdict, mut total, mut browser) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..10 {
        let r = sso_test::run(&p, &cred, &opts, &CancellationToken::new())
            .await
            .unwrap();
        assert!(r.ok, "{r:#?}");
        verdict.push(r.timings_ms.verdict.unwrap());
        total.push(r.timings_ms.total.unwrap());
        browser.push(r.timings_ms.browser.unwrap());
    }
    stats("callback→verdict, keys cached (oidc-provider)", verdict, 50);
    stats(
        "browser leg incl. node start of the scripted browser (oidc-provider)",
        browser,
        300,
    );
    stats("full loopback round trip (oidc-provider)", total, 300);
    let _ = child.kill();
    let _ = child.wait();
}
