//! The SSO test against a real, independent OpenID provider (npm `oidc-provider`,
//! configured like Entra in crates/engine/tests/oidc-peer/peer.mjs), driven end to end
//! through the CLI: `$BROWSER` is crates/engine/tests/scripted-browser.mjs, which follows the provider's redirects and
//! POSTs the form_post page to the loopback listener, as a browser does.
//!
//! Needs `npm ci --prefix crates/engine/tests/oidc-peer` first; without it these tests FAIL (they
//! never pass silently).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

#[path = "../../engine/tests/support/oidc_peer.rs"]
mod oidc_peer;

use oidc_peer::{CERT_CLIENT, SECRET, SECRET_CLIENT, TENANT, tests_dir};

fn start_peer() -> oidc_peer::Peer {
    oidc_peer::start(None)
}

fn profile(dir: &Path, port: u16, client: &str) -> PathBuf {
    let path = dir.join(format!("{client}.json"));
    let json = serde_json::json!({
        "name": "Provider test",
        "agent_url": "https://acme.halopsa.com",
        "tenant_id": TENANT,
        "client_id": client,
        "authority": format!("http://127.0.0.1:{port}"),
        "sso_for": "both",
        "features": {"import": true},
    });
    std::fs::write(&path, json.to_string()).unwrap();
    path
}

fn run_cli(args: &[&str], stdin: Option<&str>) -> (i32, serde_json::Value) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_entra-onboard"));
    cmd.args(args)
        .env(
            "BROWSER",
            format!(
                "node {}",
                tests_dir().join("scripted-browser.mjs").display()
            ),
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(s) = stdin {
        writeln!(input, "{s}").unwrap();
    }
    drop(input);
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(!stdout.contains(SECRET), "the secret must never be printed");
    let json = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"));
    (out.status.code().unwrap_or(-1), json)
}

fn assert_passed(code: i32, report: &serde_json::Value, credential: &str) {
    assert_eq!(report["ok"], true, "{report:#}");
    assert_eq!(code, 0);
    let ids: Vec<&str> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "discovery",
            "callback",
            "id_token",
            "credential",
            "token_id_token",
            "consent"
        ]
    );
    assert!(
        report["checks"][3]["detail"]
            .as_str()
            .unwrap()
            .contains(credential)
    );
    assert_eq!(report["claims"]["preferred_username"], "admin@contoso.test");
    assert_eq!(report["claims"]["tid"], TENANT);
    assert_eq!(
        report["claims"]["roles"],
        serde_json::json!(["User.Read.All", "Organization.Read.All"])
    );
    assert!(report["error"].is_null());
    assert!(report["timings_ms"]["verdict"].is_u64());
}

#[test]
fn passes_with_a_client_secret_and_with_a_certificate() {
    let peer = start_peer();
    let dir = tempfile::tempdir().unwrap();

    let p = profile(dir.path(), peer.port, SECRET_CLIENT);
    let p = p.to_str().unwrap();
    let (code, report) = run_cli(
        &[
            "sso-test",
            p,
            "--secret-stdin",
            "--format",
            "json",
            "--timeout",
            "20",
        ],
        Some(SECRET),
    );
    assert_passed(code, &report, "client secret");

    let p = profile(dir.path(), peer.port, CERT_CLIENT);
    let cert = tests_dir().join("fixtures/client-cert.pem");
    let key = tests_dir().join("fixtures/client-key.pem");
    let (code, report) = run_cli(
        &[
            "sso-test",
            p.to_str().unwrap(),
            "--cert",
            cert.to_str().unwrap(),
            "--key",
            key.to_str().unwrap(),
            "--format",
            "json",
            "--timeout",
            "20",
        ],
        None,
    );
    assert_passed(code, &report, "certificate");
}

#[test]
fn a_wrong_secret_fails_at_the_credential_check() {
    let peer = start_peer();
    let dir = tempfile::tempdir().unwrap();
    let p = profile(dir.path(), peer.port, SECRET_CLIENT);
    let (code, report) = run_cli(
        &[
            "sso-test",
            p.to_str().unwrap(),
            "--secret-stdin",
            "--format",
            "json",
            "--timeout",
            "20",
        ],
        Some("not-the-secret"),
    );
    assert_eq!(code, 1, "{report:#}");
    let checks = report["checks"].as_array().unwrap();
    let last = checks.last().unwrap();
    assert_eq!(
        (last["id"].as_str(), last["ok"].as_bool()),
        (Some("credential"), Some(false)),
        "{report:#}"
    );
    assert_eq!(report["checks"][2]["ok"], true, "the sign-in itself worked");
    assert_eq!(report["error"]["code"], "oauth.invalid_client");
}

#[test]
fn no_credential_is_a_setup_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = profile(dir.path(), 9, SECRET_CLIENT);
    let out = Command::new(env!("CARGO_BIN_EXE_entra-onboard"))
        .args(["sso-test", p.to_str().unwrap()])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--secret-stdin"));
}

/// `--record` writes "verified" into the profile after a pass, and only after a pass.
#[test]
fn record_marks_the_profile_verified_only_when_the_test_passes() {
    let peer = start_peer();
    let dir = tempfile::tempdir().unwrap();
    let p = profile(dir.path(), peer.port, SECRET_CLIENT);
    let path = p.to_str().unwrap();
    let args = [
        "sso-test",
        path,
        "--secret-stdin",
        "--record",
        "--format",
        "json",
        "--timeout",
        "20",
    ];

    let (code, report) = run_cli(&args, Some("Q7~a-wrong-secret-value-0000000000"));
    assert_eq!(code, 1, "{report:#}");
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
    assert!(
        saved.get("verified").is_none_or(|v| v.is_null()),
        "{saved:#}"
    );

    let (code, report) = run_cli(&args, Some(SECRET));
    assert_passed(code, &report, "client secret");
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
    assert_eq!(saved["verified"]["signed_in_as"], "admin@contoso.test");
    assert!(saved["verified"]["verified_at"].is_string());
    assert!(!saved.to_string().contains(SECRET));
}
