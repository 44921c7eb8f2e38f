//! The independent OpenID provider of tests/oidc-peer (npm `oidc-provider`), started with
//! any client certificate — so the certificate a test has just generated can be the one
//! the provider trusts. Same harness as sso_test_provider.rs, parameterised by the
//! certificate. Needs `npm ci --prefix engine/tests/oidc-peer`.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

pub const TENANT: &str = "11111111-2222-3333-4444-555555555555";
pub const SECRET_CLIENT: &str = "aaaaaaaa-0000-4000-8000-000000000001";
pub const CERT_CLIENT: &str = "aaaaaaaa-0000-4000-8000-000000000002";
pub const SECRET: &str = "Q7~test-only-secret.value_1234567890";

pub fn tests_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests")
}

pub struct Peer {
    child: Child,
    pub port: u16,
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the provider; `cert_pem` is the certificate whose key the certificate client
/// signs its assertions with.
pub fn start(cert_pem: &Path) -> Peer {
    let dir = tests_dir().join("oidc-peer");
    assert!(
        dir.join("node_modules/oidc-provider").is_dir(),
        "run npm ci in engine/tests/oidc-peer (npm ci --prefix engine/tests/oidc-peer)"
    );
    let mut child = Command::new("node")
        .arg(dir.join("peer.mjs"))
        .args([
            "--tenant",
            TENANT,
            "--secret-client",
            SECRET_CLIENT,
            "--cert-client",
            CERT_CLIENT,
        ])
        .arg("--cert")
        .arg(cert_pem)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("node must be installed to run the provider tests");
    writeln!(child.stdin.take().unwrap(), "{SECRET}").unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let port = loop {
        let line = lines
            .next()
            .expect("the peer exited before printing its port")
            .unwrap();
        if let Some(p) = line.strip_prefix("PORT=") {
            break p.trim().parse().unwrap();
        }
    };
    // Keep draining: the peer dies of EPIPE if its stdout closes.
    std::thread::spawn(move || for _ in lines {});
    Peer { child, port }
}

/// A profile for the certificate client against the peer, with an `id` (for the keychain).
pub fn profile(dir: &Path, port: u16) -> PathBuf {
    let path = dir.join("cert-client.json");
    let json = serde_json::json!({
        "id": uuid::Uuid::new_v4().to_string(),
        "name": "Provider test",
        "agent_url": "https://acme.halopsa.com",
        "tenant_id": TENANT,
        "client_id": CERT_CLIENT,
        "authority": format!("http://127.0.0.1:{port}"),
        "sso_for": "both",
        "features": {"import": true},
    });
    std::fs::write(&path, json.to_string()).unwrap();
    path
}

/// `$BROWSER` for the scripted browser.
pub fn browser_env() -> String {
    format!(
        "node {}",
        tests_dir().join("scripted-browser.mjs").display()
    )
}

/// Asserts an `sso-test --format json` report passed with a certificate.
pub fn assert_passed_with_certificate(code: i32, report: &serde_json::Value) {
    assert_eq!(report["ok"], true, "{report:#}");
    assert_eq!(code, 0);
    let credential = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "credential")
        .expect("a credential check");
    assert_eq!(credential["ok"], true);
    assert!(
        credential["detail"]
            .as_str()
            .unwrap()
            .contains("certificate"),
        "{credential}"
    );
    assert_eq!(
        report["claims"]["roles"],
        serde_json::json!(["User.Read.All", "Organization.Read.All"])
    );
}
