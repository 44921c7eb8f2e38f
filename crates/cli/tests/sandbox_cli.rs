//! The CLI against the sandbox tenant: `sso-test` with a certificate passes against it, and
//! `entra-onboard sandbox` prints what a trainee needs and serves until stopped. (The
//! provider itself: crates/engine/tests/sandbox.rs.)
//!
//! The browser is crates/engine/tests/scripted-browser.mjs (needs `node`).

use std::path::{Path, PathBuf};
use std::process::Stdio;

use entra_onboard_engine::profile::Profile;
use entra_onboard_sandbox::idp::{
    SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, SANDBOX_SECRET_ID, SANDBOX_TENANT_ID, SandboxOptions,
};
use entra_onboard_sandbox::{SandboxHandle, start};
use serde_json::{Value, json};

/// The engine's test assets (fixtures, the scripted browser).
fn tests_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../engine/tests")
}

async fn sandbox(consented: bool) -> SandboxHandle {
    start(SandboxOptions {
        pre_consented: consented,
        ..SandboxOptions::default()
    })
    .await
    .expect("the sandbox starts")
}

fn profile(base: &str, extra: Value) -> Profile {
    let mut p = json!({
        "name": "Sandbox practice",
        "agent_url": "https://acme.halopsa.com",
        "tenant_id": SANDBOX_TENANT_ID,
        "client_id": SANDBOX_CLIENT_ID,
        "authority": base,
        "sso_for": "both",
        "features": {"import": true},
    });
    for (k, v) in extra.as_object().unwrap() {
        p[k] = v.clone();
    }
    Profile::from_json(&p.to_string()).expect("a valid profile")
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sso_test_passes_with_a_certificate_through_the_cli() {
    let sb = sandbox(true).await;
    let cert = tests_dir().join("fixtures/client-cert.pem");
    let key = tests_dir().join("fixtures/client-key.pem");
    let info = sb
        .state()
        .register_certificate(SANDBOX_CLIENT_ID, &std::fs::read(&cert).unwrap())
        .unwrap();
    assert_eq!(info.thumbprint.len(), 40);

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sandbox.json");
    std::fs::write(&path, profile(sb.base_url(), json!({})).to_json()).unwrap();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_entra-onboard"))
        .arg("sso-test")
        .arg(&path)
        .arg("--cert")
        .arg(&cert)
        .arg("--key")
        .arg(&key)
        .args(["--format", "json", "--timeout", "30"])
        .env(
            "BROWSER",
            format!(
                "node {}",
                tests_dir().join("scripted-browser.mjs").display()
            ),
        )
        .env_remove("SCRIPTED_BROWSER_CHOICE")
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)));
    assert_eq!(report["ok"], true, "{report:#}");
    assert_eq!(out.status.code(), Some(0));
    assert!(
        report["checks"][3]["detail"]
            .as_str()
            .unwrap()
            .contains("certificate"),
        "{report:#}"
    );
    assert_eq!(report["claims"]["mfa"], "yes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_sandbox_prints_its_details_and_serves_until_stopped() {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_entra-onboard"))
        .args(["sandbox", "--format", "json"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    use tokio::io::AsyncBufReadExt as _;
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let line = lines.next_line().await.unwrap().expect("one JSON line");
    let info: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(info["tenantId"], SANDBOX_TENANT_ID);
    assert_eq!(info["apps"][0]["clientId"], SANDBOX_CLIENT_ID);
    assert_eq!(info["apps"][0]["secretIds"][0], SANDBOX_SECRET_ID);
    assert!(
        !line.contains(SANDBOX_CLIENT_SECRET),
        "no secret Value in the JSON"
    );
    let base = info["baseUrl"].as_str().unwrap();
    let d: Value = http()
        .get(format!(
            "{base}/{SANDBOX_TENANT_ID}/v2.0/.well-known/openid-configuration"
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(d["issuer"], format!("{base}/{SANDBOX_TENANT_ID}/v2.0"));
    // Microsoft Graph on the same port: a request without a token is Graph's 401, not a 404.
    assert_eq!(info["graphUrl"], format!("{base}/v1.0"));
    let res = http()
        .get(format!("{base}/v1.0/applications"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "InvalidAuthenticationToken");
    child.kill().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_sandbox_empty_starts_with_no_app_registration() {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_entra-onboard"))
        .args(["sandbox", "--empty", "--format", "json"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    use tokio::io::AsyncBufReadExt as _;
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let line = lines.next_line().await.unwrap().expect("one JSON line");
    let info: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(info["apps"], json!([]), "{line}");
    let base = info["baseUrl"].as_str().unwrap();
    // The demo app is not there: the provider says so as Entra would.
    let page = http()
        .get(format!(
            "{base}/{SANDBOX_TENANT_ID}/oauth2/v2.0/authorize?client_id={SANDBOX_CLIENT_ID}&redirect_uri=http://localhost/entra-onboard/callback"
        ))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("AADSTS700016"), "{page}");
    child.kill().await.unwrap();
}
