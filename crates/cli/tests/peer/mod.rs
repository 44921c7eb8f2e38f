//! The independent OpenID provider of crates/engine/tests/oidc-peer (npm `oidc-provider`), started with
//! any client certificate — so the certificate a test has just generated can be the one
//! the provider trusts. The process is started by crates/engine/tests/support/oidc_peer.rs
//! (shared with sso_test_provider.rs and the app's e2e). Needs
//! `npm ci --prefix crates/engine/tests/oidc-peer`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

#[path = "../../../engine/tests/support/oidc_peer.rs"]
mod oidc_peer;

// Not every test binary uses every name.
#[allow(unused_imports)]
pub use oidc_peer::{CERT_CLIENT, Peer, SECRET, SECRET_CLIENT, TENANT, tests_dir};

/// Starts the provider; `cert_pem` is the certificate whose key the certificate client
/// signs its assertions with.
pub fn start(cert_pem: &Path) -> Peer {
    oidc_peer::start(Some(cert_pem))
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
