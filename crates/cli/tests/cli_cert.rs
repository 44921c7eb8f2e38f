//! `entra-onboard cert new` and `cert import` against the REAL Secret Service (no mock),
//! ending in an SSO test that reads the .pfx password back from the keychain. Like
//! cli_secret.rs these fail, on purpose, without a D-Bus session; run them as:
//!
//! ```sh
//! dbus-run-session -- bash -c 'export XDG_DATA_HOME=$(mktemp -d); echo -n test | gnome-keyring-daemon --unlock --components=secrets >/dev/null; cargo test -p entra-onboard --test cli_cert'
//! ```
//!
//! Also needs `npm ci --prefix crates/engine/tests/oidc-peer` for the provider.

mod peer;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn require_session_bus() {
    if cfg!(target_os = "linux")
        && std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none_or(|v| v.is_empty())
    {
        panic!(
            "no D-Bus session: the certificate keychain tests need a real Secret Service; see the top of crates/cli/tests/cli_cert.rs"
        );
    }
}

fn cli(service: &str, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_entra-onboard"))
        .args(args)
        .env("ENTRA_ONBOARD_KEYCHAIN_SERVICE", service)
        .env("BROWSER", peer::browser_env())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    child.wait_with_output().unwrap()
}

fn service() -> String {
    format!("com.entraonboard.test.{}", uuid::Uuid::new_v4().simple())
}

fn read(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn cert_new_then_the_sso_test_with_the_password_from_the_keychain() {
    require_session_bus();
    let service = service();
    let dir = tempfile::tempdir().unwrap();
    // The profile first (with a placeholder port), to generate for it; the provider then
    // trusts the generated certificate, and the profile gets the provider's port.
    let profile = peer::profile(dir.path(), 9);
    let ps = profile.to_str().unwrap();
    let out_dir = dir.path().join("certs");
    let out = cli(
        &service,
        &[
            "cert",
            "new",
            ps,
            "--out",
            out_dir.to_str().unwrap(),
            "--format",
            "json",
        ],
        "",
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let pem = v["files"]["pem"].as_str().unwrap().to_string();
    let pfx = v["files"]["pfx"].as_str().unwrap().to_string();
    let p = read(&profile);
    assert_eq!(p["credential"]["kind"], "certificate");
    assert_eq!(
        p["credential"]["thumbprint"],
        v["certificate"]["thumbprints"]["sha1Hex"]
    );
    assert_eq!(p["credential"]["key_bits"], 2048);

    // `secret status` sees the stored certificate password
    let out = cli(&service, &["secret", "status", ps, "--format", "json"], "");
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["certificate_password_stored"], true, "{status}");

    let peer = peer::start(Path::new(&pem));
    let mut p = read(&profile);
    p["authority"] = format!("http://127.0.0.1:{}", peer.port).into();
    std::fs::write(&profile, p.to_string()).unwrap();
    let out = cli(
        &service,
        &[
            "sso-test",
            ps,
            "--pfx",
            &pfx,
            "--format",
            "json",
            "--timeout",
            "20",
        ],
        "",
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    peer::assert_passed_with_certificate(out.status.code().unwrap_or(-1), &report);

    // a second `cert new` the same day into the same folder would reuse the file names:
    // refused, and the first .pfx is untouched
    let before = std::fs::read(&pfx).unwrap();
    let out = cli(
        &service,
        &["cert", "new", ps, "--out", out_dir.to_str().unwrap()],
        "",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("already exists"));
    assert_eq!(std::fs::read(&pfx).unwrap(), before);

    let _ = cli(&service, &["secret", "delete", ps], "");
}

#[test]
fn cert_import_stores_the_password_and_records_the_certificate() {
    require_session_bus();
    let service = service();
    let dir = tempfile::tempdir().unwrap();
    let profile = peer::profile(dir.path(), 9);
    let ps = profile.to_str().unwrap();
    let pfx = peer::tests_dir().join("fixtures/client-legacy-3des.pfx");
    let out = cli(
        &service,
        &["cert", "import", ps, pfx.to_str().unwrap()],
        "test-only\n",
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("80DAA44196C8CB494872C3EDBF1485BA3C515869"),
        "{stdout}"
    );
    assert!(!stdout.contains("test-only"));
    assert_eq!(
        read(&profile)["credential"]["thumbprint"],
        "80DAA44196C8CB494872C3EDBF1485BA3C515869"
    );
    // and the SSO test opens the .pfx with the stored password
    let peer = peer::start(&peer::tests_dir().join("fixtures/client-cert.pem"));
    let mut p = read(&profile);
    p["authority"] = format!("http://127.0.0.1:{}", peer.port).into();
    std::fs::write(&profile, p.to_string()).unwrap();
    let out = cli(
        &service,
        &[
            "sso-test",
            ps,
            "--pfx",
            pfx.to_str().unwrap(),
            "--format",
            "json",
            "--timeout",
            "20",
        ],
        "",
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    peer::assert_passed_with_certificate(out.status.code().unwrap_or(-1), &report);
    let _ = cli(&service, &["secret", "delete", ps], "");
}

/// CSP's Partner Center app gets a certificate of its own (`--app partner-center`): its
/// own files and keychain entry, recorded on its own record; the main app's is untouched.
/// Without CSP the option is refused by name.
#[test]
fn cert_new_for_the_partner_center_app_is_its_own() {
    require_session_bus();
    let service = service();
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("acme.json");
    let write = |csp: bool| {
        std::fs::write(
            &profile,
            serde_json::json!({
                "id": "6f1c2f0e-8b9a-4c1d-9e2f-3a4b5c6d7e8f",
                "name": "Acme",
                "agent_url": "https://acme.halopsa.com",
                "tenant_id": "72f988bf-86f1-41af-91ab-2d7cd011db47",
                "tenant_type": "multi",
                "features": {"csp": csp},
            })
            .to_string(),
        )
        .unwrap();
    };
    let ps = profile.to_str().unwrap();
    let out_dir = dir.path().join("certs");
    let od = out_dir.to_str().unwrap();

    write(false);
    let out = cli(
        &service,
        &["cert", "new", ps, "--out", od, "--app", "partner-center"],
        "",
    );
    assert_ne!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("CSP"));

    write(true);
    let out = cli(
        &service,
        &["cert", "new", ps, "--out", od, "--app", "partner-center"],
        "",
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("for the Partner Center app"), "{text}");
    let p = read(&profile);
    assert_eq!(
        p["partner_center"]["credential"]["kind"], "certificate",
        "{p:#}"
    );
    assert!(p["partner_center"]["credential"]["thumbprint"].is_string());
    let pfx = p["partner_center"]["credential"]["certificate_file"]
        .as_str()
        .unwrap();
    assert!(pfx.contains("partner-center"), "{pfx}");
    assert!(Path::new(pfx).exists());
    assert_ne!(
        p["credential"]["kind"], "certificate",
        "the main app's record is untouched"
    );
}
