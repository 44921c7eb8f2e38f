//! The `entra-onboard` binary, run as an admin or a script would run it.

use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_entra-onboard");

fn run(args: &[&str], home: &std::path::Path) -> Output {
    Command::new(BIN)
        .args(args)
        .env("ENTRA_ONBOARD_HOME", home)
        .output()
        .expect("run entra-onboard")
}

fn write(dir: &std::path::Path, name: &str, json: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, json).unwrap();
    path.display().to_string()
}

const VALID: &str = r#"{
  "name": "Acme",
  "tenant_id": "72f988bf-86f1-41af-91ab-2d7cd011db47",
  "client_id": "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9",
  "agent_url": "https://acme.halopsa.com",
  "sso_for": "both"
}"#;

#[test]
fn plan_text_for_a_valid_profile_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "acme.json", VALID);
    let out = run(&["plan", &f], dir.path());
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("https://acme.halopsa.com/auth/account/azureresponse"));
    assert!(stdout.contains("https://acme.halopsa.com/portal/auth/account/azureresponse"));
    assert!(stdout.contains("adminconsent?client_id=0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9"));
    assert!(stdout.contains("The plan is valid."));
}

#[test]
fn plan_json_lists_every_field_error_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "bad.json",
        r#"{"name":"","tenant_id":"acme","client_id":"","agent_url":"http://acme.halopsa.com"}"#,
    );
    let out = run(&["plan", &f, "--format", "json"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(plan["valid"], false);
    let mut fields: Vec<&str> = plan["issues"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["severity"] == "error")
        .map(|i| i["field"].as_str().unwrap())
        .collect();
    fields.sort();
    assert_eq!(fields, ["agent_url", "client_id", "name", "tenant_id"]);
    for i in plan["issues"].as_array().unwrap() {
        assert!(i["fix"].as_str().is_some_and(|f| !f.is_empty()));
    }
}

#[test]
fn plan_text_errors_name_field_and_fix() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "bad.json",
        r#"{"name":"A","tenant_id":"common"}"#,
    );
    let out = run(&["plan", &f], dir.path());
    assert_eq!(out.status.code(), Some(2));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains("tenant_id: 'common' is not a tenant"),
        "{stdout}"
    );
    assert!(stdout.contains("fix: "));
}

#[test]
fn unreadable_or_malformed_profile_exits_2_with_location() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.json").display().to_string();
    let out = run(&["plan", &missing], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nope.json"));

    let f = write(dir.path(), "typo.json", r#"{"name":"A","tenantid":"x"}"#);
    let out = run(&["plan", &f], dir.path());
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("unknown field `tenantid`"), "{stderr}");
    assert!(stderr.contains("line 1"), "{stderr}");
}

#[test]
fn consent_prints_the_link_and_open_uses_browser() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "acme.json", VALID);
    let out = run(&["consent", &f], dir.path());
    assert_eq!(out.status.code(), Some(0));
    let link = String::from_utf8(out.stdout).unwrap();
    assert!(link.trim().starts_with(
        "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0/adminconsent?"
    ));

    // --open hands exactly that link to $BROWSER.
    let seen = dir.path().join("opened.txt");
    let browser = dir.path().join("browser.sh");
    std::fs::write(
        &browser,
        format!("#!/bin/sh\nprintf '%s' \"$1\" > '{}'\n", seen.display()),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&browser, std::fs::Permissions::from_mode(0o755)).unwrap();
        let out = Command::new(BIN)
            .args(["consent", &f, "--open"])
            .env("BROWSER", &browser)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        for _ in 0..50 {
            if seen.exists() && std::fs::metadata(&seen).unwrap().len() > 0 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        assert_eq!(std::fs::read_to_string(&seen).unwrap(), link.trim());
    }
}

#[test]
fn script_writes_crlf_ps1_and_refuses_a_bad_id() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "acme.json", VALID);
    let ps1 = dir.path().join("elevate.ps1");
    let out = run(
        &[
            "script",
            &f,
            "--flavor",
            "graph",
            "--output",
            ps1.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(0));
    let text = std::fs::read_to_string(&ps1).unwrap();
    assert!(text.is_ascii());
    assert!(text.contains("New-MgGroupMemberByRef"));
    assert!(
        text.lines().count() > 5 && text.split('\n').all(|l| l.is_empty() || l.ends_with('\r'))
    );

    let bad = write(
        dir.path(),
        "bad.json",
        r#"{"client_id":"x'; Stop-Computer; '"}"#,
    );
    let out = run(&["script", &bad], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty(), "no script for an invalid id");
    assert!(String::from_utf8_lossy(&out.stderr).contains("client_id"));
}

#[test]
fn profiles_lists_the_app_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = entra_onboard_engine::ProfileStore::at(dir.path().join("profiles"));
    let saved = store
        .save(&entra_onboard_engine::Profile::new("Contoso"))
        .unwrap();
    let out = run(&["profiles", "--format", "json"], dir.path());
    assert_eq!(out.status.code(), Some(0));
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list[0]["name"], "Contoso");
    assert_eq!(list[0]["id"], saved.id.as_str());
    let out = run(&["profiles", "--show", &saved.id], dir.path());
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"name\": \"Contoso\""));
}

#[test]
fn help_reads_like_documentation() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(&["--help"], dir.path());
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8(out.stdout).unwrap();
    for needle in [
        "plan",
        "consent",
        "script",
        "profiles",
        "agent_url",
        "Entra ID",
    ] {
        assert!(help.contains(needle), "{needle} missing from --help");
    }
}

const CSP: &str = r#"{
  "name": "Acme",
  "tenant_id": "72f988bf-86f1-41af-91ab-2d7cd011db47",
  "client_id": "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9",
  "agent_url": "https://acme.halopsa.com",
  "tenant_type": "multi",
  "allowed_tenants": ["72f988bf-86f1-41af-91ab-2d7cd011db47"],
  "features": {"csp": true},
  "partner_center": {"client_id": "1b2c3d4e-5f60-4172-8394-a5b6c7d8e9f0"}
}"#;

#[test]
fn plan_shows_both_csp_apps() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "csp.json", CSP);
    let out = run(&["plan", &f], dir.path());
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("Step 5 — CSP: two app registrations"),
        "{stdout}"
    );
    assert!(stdout.contains("Partner Center app (single tenant)"));
    assert!(stdout.contains("client id: 1b2c3d4e-5f60-4172-8394-a5b6c7d8e9f0"));
    assert!(stdout.contains("redirect URI: https://acme.halopsa.com/azure/auth"));
    assert!(
        stdout.contains("redirect URI: https://acme.halopsa.com/config/integrations/microsoftcsp")
    );
    assert!(
        stdout.contains("Microsoft Partner Center: user_impersonation (delegated) — the only one")
    );
    assert!(stdout.contains("not SMS"));
    assert!(!stdout.contains("own customer profile"));

    let out = run(&["plan", &f, "--format", "json"], dir.path());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let pc = &v["partnerCenter"];
    assert_eq!(pc["apps"][0]["role"], "partnerCenter");
    assert_eq!(
        pc["permission"]["resourceAppId"],
        "fa3d9a0c-3fb0-42cc-9193-47c7ecd2edbd"
    );
    assert_eq!(
        pc["consent"]["tenantSegment"],
        "72f988bf-86f1-41af-91ab-2d7cd011db47"
    );

    // Its own consent link, in the partner tenant; without CSP there is none.
    let out = run(&["consent", &f, "--app", "partner-center"], dir.path());
    let link = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(link.starts_with("https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0/adminconsent?client_id=1b2c3d4e-5f60-4172-8394-a5b6c7d8e9f0"), "{link}");
    let f2 = write(dir.path(), "plain.json", VALID);
    let out = run(&["consent", &f2, "--app", "partner-center"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("csp"));
}
