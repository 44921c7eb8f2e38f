//! `entra-onboard rotate` (issue 15): the plan without sending anything, the refusals, and a
//! whole rotation against the practice sandbox (sign-in through the scripted browser, the
//! new secret in the real keychain as the next secret). The last test needs the Secret
//! Service, like cli_secret: run it under /work/notes/run-engine-tests.sh or scripts/test.sh.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use entra_onboard_engine::profile::{CredentialKind, Profile};
use entra_onboard_sandbox::idp::{SANDBOX_CLIENT_SECRET, SANDBOX_SECRET_ID};
use entra_onboard_sandbox::practice::PracticeSandbox;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_entra-onboard");

fn tests_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../engine/tests")
}

fn secret_profile() -> Value {
    json!({
        "id": "0b6f3c9e-1a2b-4c3d-8e9f-0a1b2c3d4e5f",
        "name": "Acme",
        "agent_url": "https://acme.halopsa.com",
        "tenant_id": "11111111-2222-3333-4444-555555555555",
        "client_id": "22222222-3333-4444-5555-666666666666",
        "features": {"import": true},
        "credential": {"kind": "secret", "secret_hint": "abc", "expires_on": "2026-12-31"}
    })
}

fn write(dir: &Path, v: &Value) -> PathBuf {
    let path = dir.join("acme.json");
    std::fs::write(&path, v.to_string()).unwrap();
    path
}

fn run(args: &[&str]) -> std::process::Output {
    std::process::Command::new(BIN)
        .args(args)
        .env("BROWSER", "/bin/false")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn help_explains_the_order_and_the_flags() {
    let out = run(&["rotate", "--help"]);
    assert!(out.status.success());
    let s = text(&out.stdout);
    for needle in [
        "beside the old one",
        "--dry-run",
        "--finish",
        "--rollback",
        "--show",
        "--by-hand",
        "--expires",
        "--app",
        "partner-center",
        "rolls back",
    ] {
        assert!(s.contains(needle), "help lacks {needle:?}:\n{s}");
    }
}

#[test]
fn a_dry_run_prints_the_plan_and_halos_field_and_sends_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), &secret_profile());
    let before = std::fs::read(&path).unwrap();
    // BROWSER=/bin/false and no token: any sign-in would fail, so exit 0 proves none.
    let out = run(&["rotate", path.to_str().unwrap(), "--dry-run"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let s = text(&out.stdout);
    assert!(s.contains("Dry run: nothing is sent"));
    assert!(s.contains("client secret abc…, expires 2026-12-31"));
    assert!(
        s.contains("Microsoft Entra ID > Details > Client Secret"),
        "{s}"
    );
    assert!(s.contains("removePassword"));
    assert_eq!(
        std::fs::read(&path).unwrap(),
        before,
        "the profile is untouched"
    );

    let out = run(&[
        "rotate",
        path.to_str().unwrap(),
        "--dry-run",
        "--format",
        "json",
        "--months",
        "6",
    ]);
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(plan["months"], 6);
    assert_eq!(plan["steps"].as_array().unwrap().len(), 8);
    assert_eq!(plan["app"], "main");
}

#[test]
fn by_hand_prints_the_portal_checklist_in_the_safe_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), &secret_profile());
    let out = run(&["rotate", path.to_str().unwrap(), "--by-hand", "--dry-run"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let s = text(&out.stdout);
    assert!(
        s.contains("Certificates & secrets > Client secrets: New client secret"),
        "{s}"
    );
    let new_at = s.find("New client secret").unwrap();
    let halo_at = s
        .find("Microsoft Entra ID > Details > Client Secret")
        .unwrap();
    let old_at = s.find("delete the old secret").unwrap();
    assert!(new_at < halo_at && halo_at < old_at, "{s}");
}

#[test]
fn what_cannot_be_rotated_is_refused_with_the_field_and_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), &secret_profile());
    let p = path.to_str().unwrap();
    let out = run(&["rotate", p, "--dry-run", "--app", "partner-center"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("no Partner Center app yet"),
        "{}",
        text(&out.stderr)
    );

    let mut fed = secret_profile();
    fed["credential"] = json!({"kind": "federated"});
    let path = write(dir.path(), &fed);
    let out = run(&["rotate", path.to_str().unwrap(), "--dry-run"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("rotate.kind"));

    let path = write(dir.path(), &secret_profile());
    let out = run(&["rotate", path.to_str().unwrap(), "--finish"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("no rotation is in progress"));

    let out = run(&["rotate", path.to_str().unwrap(), "--months", "30"]);
    assert_eq!(out.status.code(), Some(2), "at most 24 months");
}

#[test]
fn an_interrupted_rotation_is_shown_with_what_it_offers() {
    let dir = tempfile::tempdir().unwrap();
    let mut v = secret_profile();
    v["rotation"] = json!({
        "id": "r1", "app": "main", "kind": "secret", "state": "waiting_for_halo",
        "started_at": "2026-11-30T10:00:00Z", "signed_in_as": null,
        "old_key_id": "k-old", "old_hint": "abc", "old_thumbprint": null, "old_expires_on": "2026-12-31",
        "new_key_id": "k-new", "new_hint": "xyz", "new_thumbprint": null, "new_expires_on": "2027-11-30"
    });
    let path = write(dir.path(), &v);
    let out = run(&["rotate", path.to_str().unwrap(), "--dry-run"]);
    assert_eq!(out.status.code(), Some(0));
    let s = text(&out.stdout);
    assert!(
        s.contains("is in progress: waiting for Halo to be updated"),
        "{s}"
    );
    assert!(s.contains("--finish") && s.contains("--rollback"));
    // A second rotation cannot start over it.
    let out = run(&["rotate", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("rotate.in_progress"));
}

fn rotate_cmd(path: &Path, service: &str, extra: &[&str]) -> tokio::process::Command {
    let mut c = tokio::process::Command::new(BIN);
    c.arg("rotate")
        .arg(path)
        .args(["--timeout", "30"])
        .args(extra)
        .env(
            "BROWSER",
            format!(
                "node {}",
                tests_dir().join("scripted-browser.mjs").display()
            ),
        )
        .env_remove("SCRIPTED_BROWSER_CHOICE")
        .env("ENTRA_ONBOARD_KEYCHAIN_SERVICE", service)
        .stdin(Stdio::null());
    c
}

/// Needs the Secret Service (the new secret goes to the real keychain).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_rotation_against_the_practice_sandbox() {
    let sb = PracticeSandbox::start(Some(0), entra_onboard_sandbox::Seed::DemoApp)
        .await
        .unwrap();
    // The proof is a test sign-in too, which needs consent (step 4), as the SSO test does.
    sb.provider()
        .grant_admin_consent(entra_onboard_sandbox::idp::SANDBOX_CLIENT_ID)
        .unwrap();
    let mut p: Profile = sb.practice_profile("Rotation Co");
    p.credential.kind = CredentialKind::Secret;
    p.credential.secret_hint = Some("SAN".into());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("practice.json");
    std::fs::write(&path, p.to_json()).unwrap();
    let service = format!("com.entraonboard.test.{}", uuid::Uuid::new_v4().simple());

    // No terminal: it stops at "waiting for Halo", saved in the profile, exit 0.
    let out = rotate_cmd(&path, &service, &[]).output().await.unwrap();
    let s = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{s}\n{}", text(&out.stderr));
    assert!(s.contains("Now update Halo"), "{s}");
    assert!(s.contains("it is not printed"), "{s}");
    assert!(s.contains("--finish"));
    let saved = Profile::from_json(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let r = saved.rotation.expect("the rotation is saved");
    assert_eq!(
        r.state,
        entra_onboard_engine::rotation::RotationState::WaitingForHalo
    );
    let apps = sb.graph().applications();
    assert_eq!(
        apps[0]["passwordCredentials"].as_array().unwrap().len(),
        2,
        "both during the overlap"
    );

    // "Halo is updated": --finish proves again, removes the old one and records.
    let out = rotate_cmd(&path, &service, &["--finish"])
        .output()
        .await
        .unwrap();
    let s = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{s}\n{}", text(&out.stderr));
    assert!(s.contains("Done:"), "{s}");
    assert!(!s.contains(SANDBOX_CLIENT_SECRET));
    let done = Profile::from_json(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert!(done.rotation.is_none());
    assert_eq!(done.rotations.len(), 1);
    assert_ne!(done.credential.secret_hint.as_deref(), Some("SAN"));
    let keys: Vec<String> = sb.graph().applications()[0]["passwordCredentials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["keyId"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(keys, vec![r.new_key_id.clone().unwrap()]);
    assert!(!keys.contains(&SANDBOX_SECRET_ID.to_string()));
    // The keychain's current secret is the new one now.
    let kc = entra_onboard_engine::keychain::Keychain::open_with_service(&service).unwrap();
    let current = kc.get_secret(&done.id).unwrap().unwrap();
    assert_eq!(
        &current.expose()[..3],
        done.credential.secret_hint.as_deref().unwrap()
    );
    kc.delete_all(&done.id).unwrap();
}

/// `rotate --by-hand` with the Value on standard input (never an argument).
fn by_hand_cmd(path: &Path, service: &str, extra: &[&str]) -> tokio::process::Command {
    let mut c = rotate_cmd(path, service, extra);
    c.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

async fn with_stdin(mut c: tokio::process::Command, input: &str) -> std::process::Output {
    use tokio::io::AsyncWriteExt;
    let mut child = c.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input.as_bytes()).await.unwrap();
    drop(stdin);
    child.wait_with_output().await.unwrap()
}

/// Needs the Secret Service. The admin's portal work is played by the sandbox's API.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotation_by_hand_reads_the_value_from_stdin_proves_it_and_finishes() {
    let sb = PracticeSandbox::start(Some(0), entra_onboard_sandbox::Seed::DemoApp)
        .await
        .unwrap();
    let client_id = entra_onboard_sandbox::idp::SANDBOX_CLIENT_ID;
    sb.provider().grant_admin_consent(client_id).unwrap();
    let mut p: Profile = sb.practice_profile("By Hand Co");
    p.credential.kind = CredentialKind::Secret;
    p.credential.secret_hint = Some("SAN".into());
    p.credential.expires_on = chrono::NaiveDate::from_ymd_opt(2099, 1, 1);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("practice.json");
    std::fs::write(&path, p.to_json()).unwrap();
    let service = format!("com.entraonboard.test.{}", uuid::Uuid::new_v4().simple());
    let kc = entra_onboard_engine::keychain::Keychain::open_with_service(&service).unwrap();
    kc.set_secret(
        &p.id,
        &entra_onboard_engine::ids::Sensitive::new(SANDBOX_CLIENT_SECRET.to_string()),
    )
    .unwrap();
    let expires = (chrono::Utc::now().date_naive() + chrono::Months::new(6)).to_string();

    // The Secret ID pasted instead of the Value: refused by field, nothing saved.
    let before = std::fs::read(&path).unwrap();
    let out = with_stdin(
        by_hand_cmd(&path, &service, &["--by-hand", "--expires", &expires]),
        &format!("{SANDBOX_SECRET_ID}\n"),
    )
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    assert!(
        text(&out.stderr).contains("secret.is_secret_id"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(std::fs::read(&path).unwrap(), before);

    // The admin's "New client secret" in the portal; its Value on stdin.
    let value = format!("HND~{}", uuid::Uuid::new_v4().simple());
    sb.provider()
        .add_secret(
            client_id,
            entra_onboard_engine::ids::Sensitive::new(value.clone()),
            chrono::Utc::now() + chrono::TimeDelta::days(180),
        )
        .unwrap();
    let out = with_stdin(
        by_hand_cmd(&path, &service, &["--by-hand", "--expires", &expires]),
        &format!("{value}\n"),
    )
    .await;
    let s = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{s}\n{}", text(&out.stderr));
    assert!(s.contains("New client secret"), "the checklist first: {s}");
    assert!(s.contains("redeemed with the new secret"), "{s}");
    assert!(
        s.contains("Now update Halo") && s.contains("--finish"),
        "{s}"
    );
    assert!(
        !s.contains(&value) && !text(&out.stderr).contains(&value),
        "never echoed"
    );
    let saved = Profile::from_json(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let r = saved.rotation.expect("saved in progress");
    assert!(r.by_hand);
    assert_eq!(
        r.state,
        entra_onboard_engine::rotation::RotationState::WaitingForHalo
    );
    assert!(!std::fs::read_to_string(&path).unwrap().contains(&value));
    assert_eq!(
        kc.get_next_secret(&saved.id, entra_onboard_engine::rotation::CustomerApp::Main)
            .unwrap()
            .unwrap()
            .expose(),
        &value
    );

    // --finish continues it by hand (no Graph sign-in: BROWSER only serves the proof).
    let out = rotate_cmd(&path, &service, &["--finish"])
        .output()
        .await
        .unwrap();
    let s = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{s}\n{}", text(&out.stderr));
    assert!(
        s.contains("delete the OLD secret (the one whose Value starts SAN…, expires 2099-01-01)"),
        "{s}"
    );
    assert!(s.contains("now delete the old"), "{s}");
    let done = Profile::from_json(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert!(done.rotation.is_none());
    assert_eq!(done.credential.secret_hint.as_deref(), Some("HND"));
    assert_eq!(
        done.credential.expires_on.map(|d| d.to_string()),
        Some(expires.clone())
    );
    assert_eq!(done.rotations[0].signed_in_as.as_deref(), Some("by hand"));
    assert_eq!(kc.get_secret(&done.id).unwrap().unwrap().expose(), &value);

    // Another one, rolled back with --rollback: out of the keychain, the portal step said.
    let third = format!("TRD~{}", uuid::Uuid::new_v4().simple());
    sb.provider()
        .add_secret(
            client_id,
            entra_onboard_engine::ids::Sensitive::new(third.clone()),
            chrono::Utc::now() + chrono::TimeDelta::days(180),
        )
        .unwrap();
    let out = with_stdin(
        by_hand_cmd(&path, &service, &["--by-hand", "--months", "3"]),
        &format!("{third}\n"),
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let out = rotate_cmd(&path, &service, &["--rollback"])
        .output()
        .await
        .unwrap();
    let s = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{s}\n{}", text(&out.stderr));
    assert!(
        s.contains("delete the NEW secret") && s.contains("Value starts TRD…"),
        "{s}"
    );
    let back = Profile::from_json(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert!(back.rotation.is_none());
    assert_eq!(back.credential.secret_hint.as_deref(), Some("HND"));
    assert!(
        kc.get_next_secret(&back.id, entra_onboard_engine::rotation::CustomerApp::Main)
            .unwrap()
            .is_none()
    );
    kc.delete_all(&back.id).unwrap();
}
