//! `entra-onboard explain`, run as an admin would: the pasted text as an argument or on
//! standard input, with and without a customer profile.

use std::io::Write as _;
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_entra-onboard");

fn explain(args: &[&str], stdin: Option<&str>) -> (i32, String) {
    let mut child = Command::new(BIN)
        .arg("explain")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run entra-onboard");
    let mut input = child.stdin.take().unwrap();
    input
        .write_all(stdin.unwrap_or_default().as_bytes())
        .unwrap();
    drop(input);
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
    )
}

#[test]
fn a_pasted_entra_page_is_explained_with_the_profiles_redirect_uris() {
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("acme.json");
    std::fs::write(
        &profile,
        r#"{"name": "Acme", "agent_url": "https://acme.halopsa.com", "sso_for": "agents",
            "tenant_id": "72f988bf-86f1-41af-91ab-2d7cd011db47",
            "client_id": "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9"}"#,
    )
    .unwrap();
    let page = "Sign in\nSorry, but we're having trouble signing you in.\n\
        AADSTS50011: The redirect URI 'https://acme.halopsa.com/auth/' specified in the request does not match the redirect URIs configured for the application '0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9'.\n\
        Request Id: 1b2c Correlation Id: 3d4e";
    let (code, out) = explain(&["--profile", profile.to_str().unwrap()], Some(page));
    assert_eq!(code, 0, "{out}");
    assert!(
        out.starts_with("AADSTS50011 — InvalidReplyTo (step 2)"),
        "{out}"
    );
    assert!(
        out.contains("Check: The request used the redirect URI https://acme.halopsa.com/auth/"),
        "{out}"
    );
    assert!(out.contains("Check: Registered for "), "{out}");
    assert!(out.contains("https://acme.halopsa.com/auth"), "{out}");
}

#[test]
fn halo_messages_without_a_code_and_json_output() {
    let (code, out) = explain(&["AD user not found", "--format", "json"], None);
    assert_eq!(code, 0, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["recognised"], true);
    assert_eq!(v["findings"][0]["step"], 6);
    assert!(
        v["findings"][0]["fix"]
            .as_str()
            .unwrap()
            .contains("Web Access Level")
    );
}

#[test]
fn text_it_does_not_know_is_said_so_with_exit_1() {
    let (code, out) = explain(&["-"], Some("The server is busy. Try again."));
    assert_eq!(code, 1);
    assert!(out.starts_with("Not recognised"), "{out}");
    let (code, out) = explain(&["AADSTS123456789"], None);
    assert_eq!(code, 1);
    assert!(out.contains("Not in this tool's catalogue"), "{out}");
}
