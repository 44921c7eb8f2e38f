//! Public sign-up (issue 14 point 7) through the `entra-onboard` binary: `plan` shows the
//! B2C / External ID authority, discovery and issuer and exits 2 with the field and fix
//! for a bad tenant name or user flow; a workforce profile still refuses a b2clogin.com
//! override; `sso-test` passes against the sandbox's B2C-style tenant.
//!
//! The browser is crates/engine/tests/scripted-browser.mjs (needs `node`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use entra_onboard_sandbox::idp::{
    SANDBOX_B2C_TENANT_ID, SANDBOX_B2C_TENANT_NAME, SANDBOX_B2C_USER_FLOW, SANDBOX_CLIENT_ID,
    SANDBOX_CLIENT_SECRET, SandboxOptions,
};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_entra-onboard");
const TID: &str = "7b0f2b4e-2d5a-4c51-9c1e-0a6f0d3c8e21";

fn run(args: &[&str], home: &Path) -> Output {
    Command::new(BIN)
        .args(args)
        .env("ENTRA_ONBOARD_HOME", home)
        .output()
        .expect("run entra-onboard")
}

fn write(dir: &Path, v: &Value) -> String {
    let path = dir.join("crm.json");
    std::fs::write(&path, v.to_string()).unwrap();
    path.display().to_string()
}

fn crm(signup: Value) -> Value {
    json!({
        "name": "Acme CRM",
        "tenant_id": TID,
        "client_id": "0a1b2c3d-4e5f-4071-8293-a4b5c6d7e8f9",
        "agent_url": "https://acme.halocrm.com",
        "sso_for": "users",
        "public_signup": signup,
    })
}

#[test]
fn plan_shows_the_b2c_and_external_id_authorities() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        &crm(
            json!({"variant": "b2c", "tenant_name": "contoso", "user_flow": "B2C_1_signupsignin1"}),
        ),
    );
    let out = run(&["plan", &f], dir.path());
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{text}");
    for want in [
        "Public sign-up: Azure AD B2C (sign-in host contoso.b2clogin.com)",
        "Authority: https://contoso.b2clogin.com/contoso.onmicrosoft.com/B2C_1_signupsignin1/v2.0",
        &format!("Issuer (iss): https://contoso.b2clogin.com/{TID}/v2.0/"),
        "tfp = B2C_1_signupsignin1",
        "May 1, 2025",
        "none for public sign-up",
        "Sign-up and sign-in policy (user flow): B2C_1_signupsignin1",
    ] {
        assert!(text.contains(want), "{want}\n{text}");
    }
    assert!(!text.contains("adminconsent"), "{text}");

    let f = write(
        dir.path(),
        &crm(json!({"variant": "external_id", "tenant_name": "contoso"})),
    );
    let out = run(&["plan", &f, "--format", "json"], dir.path());
    assert_eq!(out.status.code(), Some(0));
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        plan["publicSignup"]["authority"],
        format!("https://contoso.ciamlogin.com/{TID}/v2.0")
    );
    assert_eq!(
        plan["publicSignup"]["issuer"],
        format!("https://{TID}.ciamlogin.com/{TID}/v2.0")
    );
}

#[test]
fn plan_names_the_field_and_the_fix_for_bad_names_and_hosts() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        &crm(
            json!({"variant": "b2c", "tenant_name": "contoso.onmicrosoft.com", "user_flow": "signupsignin1"}),
        ),
    );
    let out = run(&["plan", &f, "--format", "json"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    let issues = plan["issues"].as_array().unwrap();
    let find = |field: &str| {
        issues
            .iter()
            .find(|i| i["field"] == field)
            .unwrap_or_else(|| panic!("no issue on {field}: {issues:#?}"))
    };
    assert!(
        find("public_signup.tenant_name")["fix"]
            .as_str()
            .unwrap()
            .contains("Type only 'contoso'")
    );

    let f = write(
        dir.path(),
        &crm(json!({"variant": "b2c", "tenant_name": "contoso", "user_flow": "signupsignin1"})),
    );
    let out = run(&["plan", &f], dir.path());
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text.contains("public_signup.user_flow"), "{text}");
    assert!(text.contains("type B2C_1_signupsignin1"), "{text}");

    // The trust boundary: a workforce profile may not point at a B2C host, and a B2C
    // profile may not point at another tenant's.
    let mut v = crm(json!({"variant": "workforce"}));
    v["authority"] = json!("https://contoso.b2clogin.com");
    let out = run(
        &["plan", &write(dir.path(), &v), "--format", "json"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stdout).contains("authority.not_microsoft"));
    let mut v = crm(json!({"variant": "b2c", "tenant_name": "contoso", "user_flow": "B2C_1_x"}));
    v["authority"] = json!("https://fabrikam.b2clogin.com");
    let out = run(
        &["plan", &write(dir.path(), &v), "--format", "json"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stdout).contains("authority.not_signup_host"));
}

fn engine_tests() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../engine/tests")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sso_test_passes_against_the_sandbox_b2c_tenant() {
    let sb = entra_onboard_sandbox::start(SandboxOptions {
        pre_consented: true,
        ..SandboxOptions::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut v = crm(json!({
        "variant": "b2c",
        "tenant_name": SANDBOX_B2C_TENANT_NAME,
        "user_flow": SANDBOX_B2C_USER_FLOW,
    }));
    v["tenant_id"] = json!(SANDBOX_B2C_TENANT_ID);
    v["client_id"] = json!(SANDBOX_CLIENT_ID);
    v["authority"] = json!(sb.base_url());
    let f = write(dir.path(), &v);
    let mut child = tokio::process::Command::new(BIN)
        .args([
            "sso-test",
            &f,
            "--secret-stdin",
            "--format",
            "json",
            "--timeout",
            "30",
        ])
        .env("ENTRA_ONBOARD_HOME", dir.path())
        .env(
            "BROWSER",
            format!(
                "node {}",
                engine_tests().join("scripted-browser.mjs").display()
            ),
        )
        .env_remove("SCRIPTED_BROWSER_CHOICE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use tokio::io::AsyncWriteExt as _;
        let mut stdin = child.stdin.take().unwrap();
        stdin
            .write_all(format!("{SANDBOX_CLIENT_SECRET}\n").as_bytes())
            .await
            .unwrap();
    }
    let out = child.wait_with_output().await.unwrap();
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)));
    assert_eq!(report["ok"], true, "{report:#}");
    assert_eq!(out.status.code(), Some(0));
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
            "token_id_token"
        ]
    );
    assert_eq!(report["claims"]["tid"], SANDBOX_B2C_TENANT_ID);
}
