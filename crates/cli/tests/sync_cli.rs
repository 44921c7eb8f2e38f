//! `entra-onboard sync-preview` and `doctor --access` as a script runs them: token on
//! stdin, the double's URL; exit codes 0 / 1 / 2 and the CSV.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use entra_onboard_engine::profile::Profile;
use entra_onboard_engine::steps::sync::FieldMapping;
use entra_onboard_engine::sync_preview::csv;
use entra_onboard_sandbox::directory::{self, AGENTS_GROUP, DirectoryParams};
use entra_onboard_sandbox::graph::GraphDouble;

const BIN: &str = env!("CARGO_BIN_EXE_entra-onboard");

async fn run(args: Vec<String>, stdin: String, home: std::path::PathBuf) -> Output {
    tokio::task::spawn_blocking(move || {
        let mut child = Command::new(BIN)
            .args(&args)
            .env("ENTRA_ONBOARD_HOME", &home)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap()
}

fn profile(tenant: &str) -> Profile {
    let mut p = Profile::new("Acme");
    p.tenant_id = tenant.into();
    p.client_id = "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9".into();
    p.agent_url = "https://acme.halopsa.com".into();
    p.features.import = true;
    p.sync.technician_groups = vec![AGENTS_GROUP.into()];
    p.sync.field_mappings = vec![FieldMapping {
        entra: "mail".into(),
        halo: "Email".into(),
    }];
    p
}

#[tokio::test]
async fn sync_preview_exit_codes_json_and_csv() {
    let g = GraphDouble::start().await.unwrap();
    g.set_directory(directory::generate(&DirectoryParams {
        users: 250,
        ..DirectoryParams::default()
    }));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("acme.json");
    let mut p = profile(&g.tenant_id());
    // The CLI follows the profile's practice authority for both the token and Graph.
    p.authority = Some(g.origin());
    std::fs::write(&file, p.to_json()).unwrap();
    let out_csv = dir.path().join("preview.csv");
    let args = |extra: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = vec![
            "sync-preview".into(),
            file.to_str().unwrap().into(),
            "--token-stdin".into(),
        ];
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    let token = format!("{}\n", g.token());

    let out = run(
        args(&["--format", "json", "--csv", out_csv.to_str().unwrap()]),
        token.clone(),
        dir.path().into(),
    )
    .await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["totals"]["read"], 250);
    assert_eq!(j["ok"], true);
    assert!(j["matching"]["byRule"].is_array());
    assert!(j.get("rows").is_none());
    let text = std::fs::read_to_string(&out_csv).unwrap();
    let records = csv::parse(&text).unwrap();
    assert_eq!(records.len(), 251);
    assert_eq!(records[0], csv::HEADER);

    // Text output names the counts.
    let out = run(args(&[]), token.clone(), dir.path().into()).await;
    assert_eq!(out.status.code(), Some(0));
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(
        s.contains("technicians") && s.contains("service accounts"),
        "{s}"
    );

    // A missing permission: exit 1, "grant" and the consent link in the output.
    g.set_granted_roles(Some(&["GroupMember.Read.All"]));
    let out = run(args(&[]), token.clone(), dir.path().into()).await;
    assert_eq!(out.status.code(), Some(1));
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(
        s.contains("Grant User.Read.All") && s.contains("/v2.0/adminconsent?"),
        "{s}"
    );
    assert!(!s.contains("panicked") && !String::from_utf8_lossy(&out.stderr).contains("panicked"));

    // Bad input: import off.
    let mut p = profile(&g.tenant_id());
    p.authority = Some(g.origin());
    p.features.import = false;
    std::fs::write(&file, p.to_json()).unwrap();
    let out = run(args(&[]), token.clone(), dir.path().into()).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("sync_preview.profile"));
}

#[tokio::test]
async fn doctor_access_flag() {
    let g = GraphDouble::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("acme.json");
    let mut p = Profile::new("Acme");
    p.agent_url = "https://acme.halopsa.com".into();
    p.authority = Some(g.origin());
    std::fs::write(&file, p.to_json()).unwrap();
    let base = |cmd: &str| -> Vec<String> {
        vec![
            cmd.into(),
            file.to_str().unwrap().into(),
            "--token-stdin".into(),
        ]
    };
    let token = format!("{}\n", g.token());
    let out = run(base("apply"), token.clone(), dir.path().into()).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let app = entra_onboard_engine::profile::read_file(&file)
        .unwrap()
        .client_id;
    g.set_conditional_access_policies(vec![serde_json::json!({
        "id": "p1", "displayName": "Block all", "state": "enabled",
        "conditions": {"applications": {"includeApplications": [app]}, "users": {"includeUsers": ["All"]}},
        "grantControls": {"operator": "OR", "builtInControls": ["block"]}
    })]);
    let mut args = base("doctor");
    args.push("--access".into());
    let out = run(args.clone(), token.clone(), dir.path().into()).await;
    assert_eq!(out.status.code(), Some(1));
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(
        s.contains("Access review:") && s.contains("[access.block]"),
        "{s}"
    );
    // Without --access the same registration is clean.
    let out = run(base("doctor"), token, dir.path().into()).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
