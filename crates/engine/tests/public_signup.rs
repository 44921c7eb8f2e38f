//! The SSO test for public sign-up (issue 14 point 7) against the sandbox's Azure AD
//! B2C-style and External ID-style tenants: it passes in each variant, and fails on a
//! wrong user flow or an issuer for another tenant. (The claim rules themselves, `tfp`
//! and `tid` included, are unit-tested in `sso_test::oidc`.)
//!
//! The browser is crates/engine/tests/scripted-browser.mjs (needs `node`).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use entra_onboard_engine::browser::BrowserError;
use entra_onboard_engine::ids::Sensitive;
use entra_onboard_engine::profile::Profile;
use entra_onboard_engine::sso_test::{
    self, CancellationToken, ClientCredential, SsoReport, SsoTestOptions,
};
use entra_onboard_sandbox::idp::{
    SANDBOX_B2C_TENANT_ID, SANDBOX_B2C_TENANT_NAME, SANDBOX_B2C_USER_FLOW, SANDBOX_CLIENT_ID,
    SANDBOX_CLIENT_SECRET, SANDBOX_EXTERNAL_SUBDOMAIN, SANDBOX_EXTERNAL_TENANT_ID, SandboxOptions,
};
use entra_onboard_sandbox::{SandboxHandle, start};
use serde_json::json;

fn tests_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests")
}

async fn sandbox() -> SandboxHandle {
    start(SandboxOptions {
        pre_consented: true,
        ..SandboxOptions::default()
    })
    .await
    .expect("the sandbox starts")
}

fn profile(base: &str, variant: &str, tenant_id: &str, name: &str, flow: &str) -> Profile {
    Profile::from_json(
        &json!({
            "name": "Public sign-up practice",
            "agent_url": "https://acme.halocrm.com",
            "tenant_id": tenant_id,
            "client_id": SANDBOX_CLIENT_ID,
            "authority": base,
            "sso_for": "users",
            "public_signup": {"variant": variant, "tenant_name": name, "user_flow": flow},
        })
        .to_string(),
    )
    .expect("a valid profile")
}

fn options() -> SsoTestOptions {
    SsoTestOptions {
        timeout: Duration::from_secs(30),
        open_browser: Arc::new(move |url: &entra_onboard_engine::target::Endpoint| {
            let mut child = std::process::Command::new("node")
                .arg(tests_dir().join("scripted-browser.mjs"))
                .arg(url.as_str())
                .env_remove("SCRIPTED_BROWSER_CHOICE")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .map_err(|e| BrowserError::Launch(format!("node: {e}")))?;
            std::thread::spawn(move || child.wait());
            Ok(())
        }),
        ..SsoTestOptions::default()
    }
}

async fn run(p: &Profile) -> SsoReport {
    let secret = ClientCredential::Secret(Sensitive::new(SANDBOX_CLIENT_SECRET.to_string()));
    sso_test::run(p, &secret, &options(), &CancellationToken::new())
        .await
        .expect("the test can start")
}

fn check_ids(r: &SsoReport) -> Vec<(&str, bool)> {
    r.checks.iter().map(|c| (c.id.as_str(), c.ok)).collect()
}

const PASSED: [(&str, bool); 5] = [
    ("discovery", true),
    ("callback", true),
    ("id_token", true),
    ("credential", true),
    ("token_id_token", true),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn b2c_sign_in_passes_with_the_user_flow_and_the_b2c_issuer() {
    let sb = sandbox().await;
    let p = profile(
        sb.base_url(),
        "b2c",
        SANDBOX_B2C_TENANT_ID,
        SANDBOX_B2C_TENANT_NAME,
        SANDBOX_B2C_USER_FLOW,
    );
    let r = run(&p).await;
    assert!(r.ok, "{r:#?}");
    // No Graph consent step: a public sign-up app has no Graph permission.
    assert_eq!(check_ids(&r), PASSED);
    let id = &r.checks[2].detail;
    assert!(
        id.contains(&format!("{}/{SANDBOX_B2C_TENANT_ID}/v2.0/", sb.base_url())),
        "{id}"
    );
    assert_eq!(r.claims.as_ref().unwrap().tid, SANDBOX_B2C_TENANT_ID);

    // The user flow's name is case-insensitive, as B2C's.
    let p = profile(
        sb.base_url(),
        "b2c",
        SANDBOX_B2C_TENANT_ID,
        SANDBOX_B2C_TENANT_NAME,
        &SANDBOX_B2C_USER_FLOW.to_ascii_lowercase(),
    );
    assert!(run(&p).await.ok);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn external_id_sign_in_passes_with_its_tenant() {
    let sb = sandbox().await;
    let p = profile(
        sb.base_url(),
        "external_id",
        SANDBOX_EXTERNAL_TENANT_ID,
        SANDBOX_EXTERNAL_SUBDOMAIN,
        "",
    );
    let r = run(&p).await;
    assert!(r.ok, "{r:#?}");
    assert_eq!(check_ids(&r), PASSED);
    assert_eq!(r.claims.as_ref().unwrap().tid, SANDBOX_EXTERNAL_TENANT_ID);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_user_flow_or_another_tenants_issuer_fails() {
    let sb = sandbox().await;
    let p = profile(
        sb.base_url(),
        "b2c",
        SANDBOX_B2C_TENANT_ID,
        SANDBOX_B2C_TENANT_NAME,
        "B2C_1_profileedit",
    );
    let r = run(&p).await;
    assert!(!r.ok);
    assert_eq!(check_ids(&r), [("discovery", false)]);
    let e = r.error.as_ref().unwrap();
    assert_eq!(e.code, "oidc.discovery");
    assert!(e.message.contains("B2C_1_profileedit"), "{}", e.message);

    // The B2C tenant's issuer names its own GUID, not the one in the profile.
    let p = profile(
        sb.base_url(),
        "b2c",
        SANDBOX_EXTERNAL_TENANT_ID,
        SANDBOX_B2C_TENANT_NAME,
        SANDBOX_B2C_USER_FLOW,
    );
    let r = run(&p).await;
    assert!(!r.ok);
    let e = r.error.as_ref().unwrap();
    assert_eq!(e.code, "oidc.discovery_mismatch");
    assert!(e.message.contains(SANDBOX_B2C_TENANT_ID), "{}", e.message);
    assert_eq!(e.step, Some(1));
}
