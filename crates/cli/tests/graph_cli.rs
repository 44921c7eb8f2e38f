//! `apply` and `doctor` from the command line, as a script runs them, against the Graph
//! test double: token on stdin, the double's URL as the profile's practice authority, exit
//! codes, the new client id written back. (The doctor's findings themselves:
//! crates/engine/tests/graph_doctor.rs.)

use std::io::Write;
use std::process::{Command, Stdio};

use entra_onboard_engine::profile::{Profile, SsoFor};
use entra_onboard_sandbox::graph::GraphDouble;
use serde_json::json;

fn profile(client_id: &str) -> Profile {
    let mut p = Profile::new("Acme Service Desk");
    p.agent_url = "https://acme.halopsa.com".into();
    p.sso_for = SsoFor::Both;
    p.client_id = client_id.into();
    p
}

const BIN: &str = env!("CARGO_BIN_EXE_entra-onboard");

fn run(args: &[&str], token: &str, home: &std::path::Path) -> std::process::Output {
    let mut child = Command::new(BIN)
        .args(args)
        .env("ENTRA_ONBOARD_HOME", home)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let _ = child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{token}\n").as_bytes());
    child.wait_with_output().unwrap()
}

#[tokio::test]
async fn apply_dry_run_then_apply_then_doctor() {
    let g = GraphDouble::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("acme.json");
    // Graph is the profile's target: the double's origin as a practice authority.
    let mut p = profile("");
    p.authority = Some(g.origin());
    std::fs::write(&file, p.to_json()).unwrap();
    let f = file.to_str().unwrap();
    let token = g.token();
    let common = ["--token-stdin"];

    let mut args = vec!["apply", f, "--dry-run", "--format", "json"];
    args.extend(common);
    let out = tokio::task::spawn_blocking({
        let (args, token, home) = (
            args.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            token.clone(),
            dir.path().to_path_buf(),
        );
        move || {
            run(
                &args.iter().map(String::as_str).collect::<Vec<_>>(),
                &token,
                &home,
            )
        }
    })
    .await
    .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["dryRun"], true);
    assert!(g.writes().is_empty());

    let mut args = vec!["apply", f];
    args.extend(common);
    let out = tokio::task::spawn_blocking({
        let (args, token, home) = (
            args.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            token.clone(),
            dir.path().to_path_buf(),
        );
        move || {
            run(
                &args.iter().map(String::as_str).collect::<Vec<_>>(),
                &token,
                &home,
            )
        }
    })
    .await
    .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("✓ Create the app registration"), "{text}");
    // The new client id was written back to the profile.
    let saved = entra_onboard_engine::profile::read_file(&file).unwrap();
    assert_eq!(
        saved.client_id,
        g.applications()[0]["appId"].as_str().unwrap()
    );

    let mut args = vec!["doctor", f, "--format", "json"];
    args.extend(common);
    let out = tokio::task::spawn_blocking({
        let (args, token, home) = (
            args.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            token.clone(),
            dir.path().to_path_buf(),
        );
        move || {
            run(
                &args.iter().map(String::as_str).collect::<Vec<_>>(),
                &token,
                &home,
            )
        }
    })
    .await
    .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["ok"], true);

    // A finding with an error: exit 1.
    g.edit_application(&saved.client_id, |a| {
        a["web"]["implicitGrantSettings"]["enableIdTokenIssuance"] = json!(false)
    });
    let mut args = vec!["doctor", f];
    args.extend(common);
    let out = tokio::task::spawn_blocking({
        let (args, token, home) = (
            args.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            token.clone(),
            dir.path().to_path_buf(),
        );
        move || {
            run(
                &args.iter().map(String::as_str).collect::<Vec<_>>(),
                &token,
                &home,
            )
        }
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("id_tokens.off"));
}

#[test]
fn bad_input_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        &["doctor", "/nonexistent.json", "--token-stdin"],
        "t",
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    let file = dir.path().join("p.json");
    let mut p = profile("");
    p.authority = Some("https://login.microsoftonline.com.evil.example".into());
    std::fs::write(&file, p.to_json()).unwrap();
    let out = run(
        &["apply", file.to_str().unwrap(), "--token-stdin"],
        "t",
        dir.path(),
    );
    assert_eq!(
        out.status.code(),
        Some(2),
        "a look-alike login host is refused before any Graph call"
    );
}

async fn run_async(args: &[&str], token: &str, home: &std::path::Path) -> std::process::Output {
    let (args, token, home) = (
        args.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        token.to_string(),
        home.to_path_buf(),
    );
    tokio::task::spawn_blocking(move || {
        run(
            &args.iter().map(String::as_str).collect::<Vec<_>>(),
            &token,
            &home,
        )
    })
    .await
    .unwrap()
}

/// CSP from the command line: one `apply` makes both app registrations and writes both
/// client ids back; `doctor` checks both (exit 0 clean, 1 once the Partner Center app has
/// a Graph permission); `consent --app partner-center` prints its link in the partner
/// tenant.
#[tokio::test]
async fn apply_and_doctor_cover_the_csp_partner_center_app() {
    let g = GraphDouble::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("acme.json");
    let mut p = profile("");
    p.authority = Some(g.origin());
    p.tenant_type = entra_onboard_engine::profile::TenantType::Multi;
    p.tenant_id = g.tenant_id();
    p.allowed_tenants = vec![g.tenant_id()];
    p.features.csp = true;
    std::fs::write(&file, p.to_json()).unwrap();
    let f = file.to_str().unwrap();
    let token = g.token();

    let out = run_async(&["apply", f, "--token-stdin"], &token, dir.path()).await;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("== CSP: the Partner Center app (single tenant) =="),
        "{text}"
    );
    assert!(
        text.contains("Create the app registration \"Acme Service Desk Partner Center\""),
        "{text}"
    );
    let saved = entra_onboard_engine::profile::read_file(&file).unwrap();
    assert_eq!(g.applications().len(), 2);
    assert!(!saved.client_id.is_empty() && !saved.partner_center.client_id.is_empty());
    assert_ne!(saved.client_id, saved.partner_center.client_id);

    let out = run_async(
        &["doctor", f, "--token-stdin", "--format", "json"],
        &token,
        dir.path(),
    )
    .await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["partnerCenter"]["ok"], true, "{report:#}");
    assert_eq!(
        report["partnerCenter"]["application"]["appId"],
        saved.partner_center.client_id.as_str()
    );

    g.edit_application(&saved.partner_center.client_id, |a| {
        a["requiredResourceAccess"]
            .as_array_mut()
            .unwrap()
            .push(json!({"resourceAppId": "00000003-0000-0000-c000-000000000000",
                "resourceAccess": [{"id": "e1fe6dd8-ba31-4d61-89e7-88639da4683d", "type": "Scope"}]}));
    });
    let out = run_async(&["doctor", f, "--token-stdin"], &token, dir.path()).await;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("[partner_center.permissions.extra]"),
        "{text}"
    );

    let out = run_async(
        &["consent", f, "--app", "partner-center"],
        &token,
        dir.path(),
    )
    .await;
    let link = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{link}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        link.contains(&format!("/{}/v2.0/adminconsent?", g.tenant_id())),
        "{link}"
    );
    assert!(
        link.contains(&format!("client_id={}", saved.partner_center.client_id)),
        "{link}"
    );
    assert!(link.contains("azure%2Fauth"), "{link}");
}
