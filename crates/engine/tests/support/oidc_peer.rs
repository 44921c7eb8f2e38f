//! The `oidc-provider` peer (crates/engine/tests/oidc-peer/peer.mjs), configured like Entra,
//! as a child process. Shared (`#[path]`-included) by the CLI's provider tests and the app's
//! end-to-end test, so both talk to the same independent provider.
//!
//! Needs `npm ci --prefix crates/engine/tests/oidc-peer`; without it the caller FAILS (never
//! passes silently).
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

pub const TENANT: &str = "11111111-2222-3333-4444-555555555555";
pub const SECRET_CLIENT: &str = "aaaaaaaa-0000-4000-8000-000000000001";
pub const CERT_CLIENT: &str = "aaaaaaaa-0000-4000-8000-000000000002";
pub const SECRET: &str = "Q7~test-only-secret.value_1234567890";
/// The user the peer signs in.
pub const USER: &str = "admin@contoso.test";

/// crates/engine/tests (the peer, the scripted browser, the fixtures), from whichever
/// package includes this file: the workspace root (the app) or a crate under crates/.
pub fn tests_dir() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.ancestors()
        .map(|dir| dir.join("crates/engine/tests"))
        .find(|dir| dir.is_dir())
        .unwrap_or_else(|| here.join("tests"))
}

/// `$BROWSER` for the scripted browser that follows the peer's redirects.
pub fn scripted_browser() -> String {
    format!(
        "node {}",
        tests_dir().join("scripted-browser.mjs").display()
    )
}

/// The running peer; killed on drop.
pub struct Peer {
    child: Child,
    /// Its port on 127.0.0.1.
    pub port: u16,
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Peer {
    /// The authority to put in a profile's `authority` override.
    pub fn authority(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// Starts the peer with a secret client ([`SECRET`]) and a certificate client whose
/// certificate is `cert_pem` (default: the fixture).
pub fn start(cert_pem: Option<&Path>) -> Peer {
    let dir = tests_dir().join("oidc-peer");
    assert!(
        dir.join("node_modules/oidc-provider").is_dir(),
        "run npm ci in engine/tests/oidc-peer (npm ci --prefix engine/tests/oidc-peer)"
    );
    let fixture = tests_dir().join("fixtures/client-cert.pem");
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
        .arg(cert_pem.unwrap_or(&fixture))
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
