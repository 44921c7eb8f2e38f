//! `entra-onboard rotate` for a customer whose credential is a certificate (issue 15): the
//! plan (addKey/removeKey with a proof of possession, Halo's certificate upload), the
//! refusals, and a whole rotation against the practice sandbox with the real keychain. The
//! last test needs the Secret Service: run it under /work/notes/run-engine-tests.sh or
//! scripts/test.sh.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use entra_onboard_engine::ids::Sensitive;
use entra_onboard_engine::profile::Profile;
use entra_onboard_engine::steps::certificate::{self, CertificateFiles, CertificateRequest};
use entra_onboard_sandbox::idp::SANDBOX_CLIENT_ID;
use entra_onboard_sandbox::practice::PracticeSandbox;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_entra-onboard");

fn tests_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../engine/tests")
}

fn certificate_profile() -> Value {
    json!({
        "id": "0b6f3c9e-1a2b-4c3d-8e9f-0a1b2c3d4e5f",
        "name": "Acme",
        "agent_url": "https://acme.halopsa.com",
        "tenant_id": "11111111-2222-3333-4444-555555555555",
        "client_id": "22222222-3333-4444-5555-666666666666",
        "features": {"import": true},
        "credential": {"kind": "certificate", "thumbprint": "0A1B2C3D4E5F60718293A4B5C6D7E8F901234567",
                       "certificate_file": "/certs/Acme-2026-12-31.pfx", "expires_on": "2026-12-31"}
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
fn help_says_how_a_certificate_is_rotated() {
    let out = run(&["rotate", "--help"]);
    assert!(out.status.success());
    let s = text(&out.stdout);
    for needle in [
        "certificate",
        "addKey",
        "proof of possession",
        "removeKey",
        ".pfx",
    ] {
        assert!(s.contains(needle), "help lacks {needle:?}:\n{s}");
    }
}

#[test]
fn a_certificate_dry_run_prints_add_key_halos_upload_and_sends_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), &certificate_profile());
    let before = std::fs::read(&path).unwrap();
    let out = run(&["rotate", path.to_str().unwrap(), "--dry-run"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let s = text(&out.stdout);
    assert!(
        s.contains("certificate 0A1B2C3D4E5F60718293A4B5C6D7E8F901234567, expires 2026-12-31"),
        "{s}"
    );
    assert!(s.contains("/addKey") && s.contains("/removeKey"), "{s}");
    assert!(!s.contains("addPassword"), "{s}");
    assert!(
        s.contains("Configuration > Advanced Settings > Certificates > Password"),
        "{s}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), before, "untouched");
    let out = run(&[
        "rotate",
        path.to_str().unwrap(),
        "--dry-run",
        "--format",
        "json",
    ]);
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(plan["kind"], "certificate");
    assert_eq!(plan["steps"].as_array().unwrap().len(), 8);

    // By hand: the certificate's checklist (made here, the .cer uploaded in the portal),
    // never the secret's.
    let out = run(&["rotate", path.to_str().unwrap(), "--by-hand", "--dry-run"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let s = text(&out.stdout);
    assert!(
        s.contains("Certificates & secrets > Certificates: Upload certificate"),
        "{s}"
    );
    assert!(s.contains("AADSTS700027"), "{s}");
    assert!(
        s.contains("delete the OLD certificate (thumbprint 0A1B2C3D4E5F60718293A4B5C6D7E8F901234567, expires 2026-12-31)"),
        "{s}"
    );
    assert!(!s.contains("New client secret"), "{s}");
    assert_eq!(std::fs::read(&path).unwrap(), before, "untouched");
    // Without a thumbprint the old one cannot be found on the app.
    let mut v = certificate_profile();
    v["credential"]["thumbprint"] = Value::Null;
    let path = write(dir.path(), &v);
    let out = run(&["rotate", path.to_str().unwrap(), "--dry-run"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("thumbprint"));
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

/// Needs the Secret Service (the .pfx passwords live in the real keychain).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_certificate_rotation_against_the_practice_sandbox() {
    let sb = PracticeSandbox::start(Some(0), entra_onboard_sandbox::Seed::DemoApp)
        .await
        .unwrap();
    // The proof is a test sign-in too (redeemed with the new certificate), which needs
    // consent (step 4), as the SSO test does.
    sb.provider()
        .grant_admin_consent(entra_onboard_sandbox::idp::SANDBOX_CLIENT_ID)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let old = certificate::generate(
        &CertificateRequest {
            common_name: "Rotation Co service desk (Entra Onboard)".into(),
            key_bits: 2048,
            months: 12,
        },
        chrono::Utc::now(),
    )
    .unwrap();
    let files = CertificateFiles::in_dir(dir.path(), "Rotation-Co");
    certificate::write_files(&old, &files, false).unwrap();
    sb.provider()
        .register_certificate(SANDBOX_CLIENT_ID, old.cert_pem().as_bytes())
        .unwrap();
    let mut p: Profile = sb.practice_profile("Rotation Co");
    old.record_in(&mut p.credential);
    p.credential.certificate_file = Some(files.pfx.display().to_string());
    let path = dir.path().join("practice.json");
    std::fs::write(&path, p.to_json()).unwrap();
    let service = format!("com.entraonboard.test.{}", uuid::Uuid::new_v4().simple());
    let kc = entra_onboard_engine::keychain::Keychain::open_with_service(&service).unwrap();
    kc.set_app_certificate_password(
        &p.id,
        entra_onboard_engine::keychain::CustomerApp::Main,
        &old.pfx_password,
    )
    .unwrap();

    let out = rotate_cmd(&path, &service, &[]).output().await.unwrap();
    let s = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{s}\n{}", text(&out.stderr));
    assert!(s.contains("Now update Halo"), "{s}");
    // The proof redeemed a test sign-in's code with the new certificate (issue 15).
    assert!(s.contains("redeemed with the new certificate"), "{s}");
    assert!(s.contains("The new .pfx to upload in Halo"), "{s}");
    assert!(s.contains("it is not printed"), "{s}");
    let saved = Profile::from_json(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let r = saved.rotation.expect("the rotation is saved");
    let new_pfx = PathBuf::from(r.new_certificate_file.clone().unwrap());
    assert!(new_pfx.exists() && s.contains(&new_pfx.display().to_string()));
    assert_eq!(
        sb.graph().applications()[0]["keyCredentials"]
            .as_array()
            .unwrap()
            .len(),
        2,
        "both during the overlap"
    );

    let out = rotate_cmd(&path, &service, &["--finish"])
        .output()
        .await
        .unwrap();
    let s = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{s}\n{}", text(&out.stderr));
    assert!(s.contains("Done: certificate"), "{s}");
    let done = Profile::from_json(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert!(done.rotation.is_none());
    assert_eq!(done.credential.thumbprint, r.new_thumbprint);
    assert_eq!(done.credential.certificate_file, r.new_certificate_file);
    let keys = sb.graph().applications()[0]["keyCredentials"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["keyId"], json!(r.new_key_id));
    // The keychain's current .pfx password opens the new .pfx.
    let pw = kc
        .get_app_certificate_password(&done.id, entra_onboard_engine::keychain::CustomerApp::Main)
        .unwrap()
        .unwrap();
    assert!(
        !s.contains(pw.expose().as_str()),
        "never printed without --show"
    );
    let bytes = std::fs::read(&new_pfx).unwrap();
    certificate::import_pfx(
        &bytes,
        Sensitive::new(pw.expose().clone()),
        chrono::Utc::now(),
    )
    .unwrap();
    kc.delete_all(&done.id).unwrap();
}

/// Answers on standard input (a pipe, as a script would give them).
async fn with_stdin(mut c: tokio::process::Command, input: &str) -> std::process::Output {
    use tokio::io::AsyncWriteExt;
    c.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input.as_bytes()).await.unwrap();
    drop(stdin);
    child.wait_with_output().await.unwrap()
}

/// Needs the Secret Service. `rotate --by-hand` of a certificate driven by standard input:
/// "uploaded" before the upload fails with AADSTS700027 and keeps the rotation; after the
/// sandbox portal's upload, --finish proves it, waits for "Halo is updated" on stdin and
/// names the old certificate to delete.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_rotation_by_hand_waits_for_the_upload_on_stdin() {
    let sb = PracticeSandbox::start(Some(0), entra_onboard_sandbox::Seed::DemoApp)
        .await
        .unwrap();
    sb.provider()
        .grant_admin_consent(SANDBOX_CLIENT_ID)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let old = certificate::generate(
        &CertificateRequest {
            common_name: "Hand Co service desk (Entra Onboard)".into(),
            key_bits: 2048,
            months: 12,
        },
        chrono::Utc::now(),
    )
    .unwrap();
    let files = CertificateFiles::in_dir(dir.path(), "Hand-Co");
    certificate::write_files(&old, &files, false).unwrap();
    sb.provider()
        .register_certificate(SANDBOX_CLIENT_ID, old.cert_pem().as_bytes())
        .unwrap();
    let mut p: Profile = sb.practice_profile("Hand Co");
    old.record_in(&mut p.credential);
    p.credential.certificate_file = Some(files.pfx.display().to_string());
    let path = dir.path().join("practice.json");
    std::fs::write(&path, p.to_json()).unwrap();
    let service = format!("com.entraonboard.test.{}", uuid::Uuid::new_v4().simple());
    let kc = entra_onboard_engine::keychain::Keychain::open_with_service(&service).unwrap();
    kc.set_app_certificate_password(
        &p.id,
        entra_onboard_engine::keychain::CustomerApp::Main,
        &old.pfx_password,
    )
    .unwrap();

    // Enter ("uploaded") before uploading, then the end of input ("later").
    let out = with_stdin(
        rotate_cmd(&path, &service, &["--by-hand", "--months", "6"]),
        "\n",
    )
    .await;
    let s = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{s}\n{}", text(&out.stderr));
    assert!(s.contains("Upload certificate"), "{s}");
    assert!(s.contains("AADSTS700027"), "{s}");
    assert!(s.contains("Nothing was rolled back"), "{s}");
    assert!(s.contains("--finish"), "{s}");
    let saved = Profile::from_json(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let r = saved.rotation.expect("kept for another try");
    assert!(r.by_hand);
    let cer = PathBuf::from(r.new_certificate_file.clone().unwrap()).with_extension("cer");
    assert!(s.contains(&cer.display().to_string()), "{s}");

    // The admin uploads the .cer in the (sandbox) portal.
    let up = reqwest::Client::new()
        .post(format!(
            "{}/sandbox/upload-certificate?client_id={SANDBOX_CLIENT_ID}",
            sb.base_url()
        ))
        .body(std::fs::read(&cer).unwrap())
        .send()
        .await
        .unwrap();
    assert!(up.status().is_success() || up.status().is_redirection());

    // --finish proves it, shows Halo's rows and takes "Halo is updated" from stdin.
    let out = with_stdin(rotate_cmd(&path, &service, &["--finish"]), "\n").await;
    let s = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{s}\n{}", text(&out.stderr));
    assert!(s.contains("redeemed with the new certificate"), "{s}");
    assert!(s.contains("Now update Halo"), "{s}");
    assert!(s.contains("The new .pfx to upload in Halo"), "{s}");
    assert!(
        s.contains(&format!(
            "delete the OLD certificate (thumbprint {}",
            old.info.thumbprints.sha1_hex
        )),
        "{s}"
    );
    assert!(s.contains("Done: certificate"), "{s}");
    let done = Profile::from_json(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert!(done.rotation.is_none());
    assert_eq!(done.credential.thumbprint, r.new_thumbprint);
    assert_eq!(done.rotations[0].signed_in_as.as_deref(), Some("by hand"));
    let pw = kc
        .get_app_certificate_password(&done.id, entra_onboard_engine::keychain::CustomerApp::Main)
        .unwrap()
        .unwrap();
    assert!(
        !s.contains(pw.expose().as_str()),
        "never printed without --show"
    );
    kc.delete_all(&done.id).unwrap();
}
