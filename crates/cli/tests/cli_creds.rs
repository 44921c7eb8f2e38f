//! `entra-onboard reminder`, `cert import` refusals and `plan` for a federated credential,
//! through the real binary. No keychain and no network: every case here stops before the
//! keychain (see cli_cert.rs for the keychain path).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../engine/tests/fixtures")
}

fn write(dir: &Path, json: serde_json::Value) -> PathBuf {
    let path = dir.join("acme.json");
    std::fs::write(&path, json.to_string()).unwrap();
    path
}

fn cli(args: &[&str], stdin: &str) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_entra-onboard"))
        .args(args)
        // Never the developer's real keychain entries, should a case reach it.
        .env(
            "ENTRA_ONBOARD_KEYCHAIN_SERVICE",
            "com.entraonboard.test.cli-creds",
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

fn base() -> serde_json::Value {
    serde_json::json!({
        "id": "6f1c2f0e-8b9a-4c1d-9e2f-3a4b5c6d7e8f",
        "name": "Acme",
        "agent_url": "https://acme.halopsa.com",
        "tenant_id": "72f988bf-86f1-41af-91ab-2d7cd011db47",
        "client_id": "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9",
    })
}

#[test]
fn reminder_writes_an_ics_without_the_secret() {
    let dir = tempfile::tempdir().unwrap();
    let expires = (chrono::Utc::now().date_naive() + chrono::Months::new(12)).to_string();
    let mut p = base();
    p["credential"] =
        serde_json::json!({"kind": "secret", "expires_on": expires, "secret_hint": "Q7w"});
    let p = write(dir.path(), p);
    let ics = dir.path().join("rotate.ics");
    let (code, out, err) = cli(
        &[
            "reminder",
            p.to_str().unwrap(),
            "--output",
            ics.to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("alarm 30 days before"), "{out}");
    let text = std::fs::read_to_string(&ics).unwrap();
    assert!(text.starts_with("BEGIN:VCALENDAR\r\n") && text.ends_with("END:VCALENDAR\r\n"));
    assert!(text.contains(&format!("DTSTART;VALUE=DATE:{}", expires.replace('-', ""))));
    assert!(text.contains("TRIGGER:-P30D\r\n"));
    assert!(!text.contains("Q7w"));

    // no expiry recorded: bad input, and it says what to do
    let mut p2 = base();
    p2["credential"] = serde_json::json!({"kind": "secret"});
    let p2 = write(dir.path(), p2);
    let (code, _, err) = cli(
        &[
            "reminder",
            p2.to_str().unwrap(),
            "--output",
            ics.to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(code, 2);
    assert!(err.contains("'Expires' date"), "{err}");
}

#[test]
fn cert_import_refuses_unusable_files_before_touching_the_keychain() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), base());
    let ps = p.to_str().unwrap();
    let import = |file: &str, password: &str| {
        let f = fixtures().join(file);
        cli(
            &[
                "cert",
                "import",
                ps,
                f.to_str().unwrap(),
                "--format",
                "json",
            ],
            &format!("{password}\n"),
        )
    };
    let (code, out, _) = import("weak-1024.pfx", "test-only");
    assert_eq!(code, 1, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["code"], "certificate.weak_key");
    assert!(v["message"].as_str().unwrap().contains("at least 2048"));
    let (code, out, _) = import("cert-only.pfx", "test-only");
    assert_eq!(
        (code, out.contains("certificate.no_private_key")),
        (1, true),
        "{out}"
    );
    let (code, out, _) = import("client-legacy-3des.pfx", "wrong");
    assert_eq!(
        (code, out.contains("certificate.pfx_password")),
        (2, true),
        "{out}"
    );
    assert!(!out.contains("wrong"), "the typed password is never echoed");
    // the profile is untouched by a refusal
    let after: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
    assert_eq!(after, base());
}

#[test]
fn cert_new_refuses_bad_sizes_and_lifetimes_in_the_arguments() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), base());
    let out_dir = dir.path().join("out");
    for args in [["--key-size", "1024"], ["--months", "25"]] {
        let (code, _, err) = cli(
            &[
                "cert",
                "new",
                p.to_str().unwrap(),
                "--out",
                out_dir.to_str().unwrap(),
                args[0],
                args[1],
            ],
            "",
        );
        assert_eq!(code, 2, "{err}");
        assert!(err.contains("choose"), "{err}");
    }
    assert!(!out_dir.exists(), "nothing is written");
}

#[test]
fn plan_names_federated_credential_fields() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = base();
    p["credential"] = serde_json::json!({
        "kind": "federated",
        "federated": {"issuer": "http://issuer.example ", "subject": "repo:acme/*"}
    });
    let p = write(dir.path(), p);
    let (code, out, _) = cli(&["plan", p.to_str().unwrap(), "--format", "json"], "");
    assert_eq!(code, 2);
    let plan: serde_json::Value = serde_json::from_str(&out).unwrap();
    let codes: Vec<(&str, &str)> = plan["issues"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| {
            i["field"]
                .as_str()
                .unwrap()
                .starts_with("credential.federated")
        })
        .map(|i| (i["field"].as_str().unwrap(), i["code"].as_str().unwrap()))
        .collect();
    assert!(
        codes.contains(&(
            "credential.federated.issuer",
            "credential.federated.issuer.whitespace"
        )),
        "{codes:?}"
    );
    assert!(
        codes.contains(&(
            "credential.federated.subject",
            "credential.federated.subject.wildcard"
        )),
        "{codes:?}"
    );
    assert!(
        codes.contains(&("credential.federated", "credential.federated.replication")),
        "{codes:?}"
    );
}
