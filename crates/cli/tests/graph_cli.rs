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

/// `apply --teams-tab` (issue 14 point 8): what the portal-as-a-Teams-tab needs, written
/// through Graph to the double, once; a profile without a client ID is refused by name.
#[tokio::test]
async fn apply_teams_tab_sets_the_api_once() {
    let g = GraphDouble::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("acme.json");
    let mut p = profile("");
    p.authority = Some(g.origin());
    std::fs::write(&file, p.to_json()).unwrap();
    let f = file.to_str().unwrap().to_string();
    let token = g.token();
    let home = dir.path().to_path_buf();
    let go = |args: Vec<&str>| {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let (token, home) = (token.clone(), home.clone());
        tokio::task::spawn_blocking(move || {
            run(
                &args.iter().map(String::as_str).collect::<Vec<_>>(),
                &token,
                &home,
            )
        })
    };

    // No client ID yet: the Teams tab cannot be planned, and the error names the field.
    let out = go(vec!["apply", &f, "--teams-tab", "--token-stdin"])
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("client_id"));
    assert!(g.writes().is_empty());

    // Create the registration, then add the Teams tab settings.
    let out = go(vec!["apply", &f, "--token-stdin"]).await.unwrap();
    assert_eq!(out.status.code(), Some(0));
    let out = go(vec!["apply", &f, "--teams-tab", "--token-stdin"])
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("Expose the API for the Teams tab"), "{text}");
    assert!(text.contains("Pre-authorise"), "{text}");
    let app = g.applications()[0].clone();
    let app_id = app["appId"].as_str().unwrap();
    assert_eq!(
        app["identifierUris"],
        json!([format!("api://acme.halopsa.com/{app_id}")])
    );
    assert_eq!(app["api"]["requestedAccessTokenVersion"], 2);
    let scope = &app["api"]["oauth2PermissionScopes"][0];
    assert_eq!(scope["value"], "access_as_user");
    assert_eq!(scope["isEnabled"], true);
    let pre: Vec<&str> = app["api"]["preAuthorizedApplications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            assert_eq!(p["delegatedPermissionIds"], json!([scope["id"]]));
            p["appId"].as_str().unwrap()
        })
        .collect();
    assert_eq!(
        pre,
        [
            "1fec8e78-bce4-4aaf-ab1b-5451cc387264",
            "5e3ce6c0-2b1f-4285-8d4b-75ee78787346"
        ]
    );

    // A second run sends no write.
    let writes = g.writes().len();
    let out = go(vec!["apply", &f, "--teams-tab", "--token-stdin"])
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(g.writes().len(), writes, "the second run wrote");
}

/// `apply --credential federated` adds Halo's federated credential (step 3's values) and
/// `doctor` then finds it; an incomplete step 3 is exit 2 naming the field, before any
/// sign-in or write.
#[tokio::test]
async fn apply_adds_the_federated_credential_halo_shows() {
    use entra_onboard_engine::profile::{CredentialKind, FederatedCredential};
    let g = GraphDouble::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("acme.json");
    let mut p = profile("");
    p.authority = Some(g.origin());
    p.credential.kind = CredentialKind::Federated;
    p.credential.federated = Some(FederatedCredential {
        name: "halo-production".into(),
        issuer: "http://acme.halopsa.com/auth".into(),
        subject: "halo-agent-7f3c".into(),
        audience: Some("api://AzureADTokenExchange".into()),
        agent: String::new(),
    });
    std::fs::write(&file, p.to_json()).unwrap();
    let f = file.to_str().unwrap().to_string();
    let (token, home) = (g.token(), dir.path().to_path_buf());
    let go = |args: Vec<String>| {
        let (token, home) = (token.clone(), home.clone());
        tokio::task::spawn_blocking(move || {
            run(
                &args.iter().map(String::as_str).collect::<Vec<_>>(),
                &token,
                &home,
            )
        })
    };
    let apply_args = vec![
        "apply".to_string(),
        f.clone(),
        "--credential".into(),
        "federated".into(),
        "--token-stdin".into(),
    ];
    let out = go(apply_args.clone()).await.unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("credential.federated.issuer"), "{err}");
    assert!(g.requests().is_empty(), "nothing was sent");

    p.credential.federated.as_mut().unwrap().issuer = "https://acme.halopsa.com/auth".into();
    std::fs::write(&file, p.to_json()).unwrap();
    let out = go(apply_args).await.unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Other issuer"), "{text}");
    let post = g
        .writes()
        .into_iter()
        .find(|w| w.path.ends_with("/federatedIdentityCredentials"))
        .expect("the credential was added");
    assert_eq!(
        post.body.unwrap(),
        json!({"name": "halo-production", "issuer": "https://acme.halopsa.com/auth",
               "subject": "halo-agent-7f3c", "audiences": ["api://AzureADTokenExchange"],
               "description": "Halo service desk (Federated Credentials), added by Entra Onboard"})
    );
    let saved = Profile::from_json(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(saved.credential.kind, CredentialKind::Federated);
    assert!(!saved.client_id.is_empty());

    let out = go(vec![
        "doctor".into(),
        f,
        "--format".into(),
        "json".into(),
        "--token-stdin".into(),
    ])
    .await
    .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ids: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["id"].as_str())
        .collect();
    assert!(
        !ids.iter().any(|i| i.starts_with("credential.federated")),
        "{ids:?}"
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
