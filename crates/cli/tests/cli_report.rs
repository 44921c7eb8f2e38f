//! `entra-onboard report`, `dashboard` and `profiles --export/--import`, run as an admin
//! would, against a store in a temporary ENTRA_ONBOARD_HOME.

use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_entra-onboard");

fn run(args: &[&str], home: &Path) -> Output {
    Command::new(BIN)
        .args(args)
        .env("ENTRA_ONBOARD_HOME", home)
        .env_remove("ENTRA_ONBOARD_EXPORT_DIR")
        .output()
        .expect("run entra-onboard")
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

const ACME_ID: &str = "11111111-2222-4333-8444-555555555555";
const CONTOSO_ID: &str = "66666666-7777-4888-9999-aaaaaaaaaaaa";

fn acme(updated_at: &str, name: &str) -> String {
    format!(
        r#"{{
  "id": "{ACME_ID}",
  "name": "{name}",
  "tenant_id": "72f988bf-86f1-41af-91ab-2d7cd011db47",
  "client_id": "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9",
  "agent_url": "https://acme.halopsa.com",
  "sso_for": "both",
  "credential": {{
    "kind": "certificate",
    "thumbprint": "A1B2C3D4E5F60718293A4B5C6D7E8F9012345678",
    "thumbprint_sha256": "00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF",
    "expires_on": "2020-01-31"
  }},
  "verified": {{ "verified_at": "2019-12-01T10:00:00Z", "signed_in_as": "it@acme.example" }},
  "updated_at": "{updated_at}"
}}"#
    )
}

fn contoso() -> String {
    format!(
        r#"{{
  "id": "{CONTOSO_ID}",
  "name": "Contoso",
  "authority": "http://127.0.0.1:8400",
  "tenant_type": "multi",
  "tenant_id": "5a4db0c5-7e1a-4a47-8000-000000000001",
  "client_id": "5a4db0c5-a991-4d30-8000-000000000002",
  "agent_url": "https://contoso.halopsa.com",
  "allowed_tenants": ["5a4db0c5-7e1a-4a47-8000-000000000001"],
  "credential": {{ "kind": "secret", "secret_hint": "SAN", "expires_on": "2999-01-01" }},
  "admin_consent": {{ "status": "consented" }},
  "customer_tenants": [
    {{ "tenant": "fabrikam.com", "consent": {{ "status": "declined", "aadsts": 65004 }} }},
    {{ "tenant": "tailspin.com" }}
  ],
  "updated_at": "2025-01-01T00:00:00Z"
}}"#
    )
}

/// A home with a profile store holding `profiles` (file name → JSON).
fn home_with(profiles: &[(&str, String)]) -> tempfile::TempDir {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("profiles");
    std::fs::create_dir_all(&dir).unwrap();
    for (file, json) in profiles {
        std::fs::write(dir.join(file), json).unwrap();
    }
    home
}

#[test]
fn report_to_stdout_and_to_a_file() {
    let home = tempfile::tempdir().unwrap();
    let profile = home.path().join("acme.json");
    std::fs::write(&profile, acme("2025-01-01T00:00:00Z", "Acme <Corp>")).unwrap();

    let out = run(&["report", profile.to_str().unwrap()], home.path());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let html = stdout(&out);
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("Acme &lt;Corp&gt;"));
    assert!(!html.contains("Acme <Corp>"));
    assert!(html.contains("A1B2C3D4E5F60718293A4B5C6D7E8F9012345678"));
    assert!(html.contains("The certificate expired on 2020-01-31: replace it now."));
    assert!(html.contains("Remove the redirect URI http://localhost/entra-onboard/callback"));
    assert!(html.contains(concat!("Entra Onboard ", env!("CARGO_PKG_VERSION"))));

    let file = home.path().join("out").join("acme report.html");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    let out = run(
        &[
            "report",
            profile.to_str().unwrap(),
            "--output",
            file.to_str().unwrap(),
        ],
        home.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("Wrote the handover report"));
    let written = std::fs::read_to_string(&file).unwrap();
    assert!(written.contains("Acme &lt;Corp&gt;"));
}

#[test]
fn report_of_a_bad_file_exits_2() {
    let home = tempfile::tempdir().unwrap();
    let profile = home.path().join("bad.json");
    std::fs::write(&profile, r#"{"tenantid":"x"}"#).unwrap();
    let out = run(&["report", profile.to_str().unwrap()], home.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("tenantid"), "{}", stderr(&out));
}

#[test]
fn dashboard_json_and_text() {
    let home = home_with(&[
        (
            &format!("{ACME_ID}.json"),
            acme("2025-02-01T00:00:00Z", "Acme"),
        ),
        (&format!("{CONTOSO_ID}.json"), contoso()),
        ("broken.json", "{ not a profile".into()),
    ]);
    let out = run(&["dashboard", "--format", "json"], home.path());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let d: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let customers = d["customers"].as_array().unwrap();
    assert_eq!(customers.len(), 2);
    // Most recently saved first.
    let (a, c) = (&customers[0], &customers[1]);
    assert_eq!(a["name"], "Acme");
    assert_eq!(a["expiry"], "expired");
    assert!(a["daysLeft"].as_i64().unwrap() < 0);
    assert_eq!(a["credentialKind"], "certificate");
    assert_eq!(a["signedInAs"], "it@acme.example");
    assert_eq!(a["sandbox"], false);
    assert_eq!(c["name"], "Contoso");
    assert_eq!(c["sandbox"], true);
    assert_eq!(c["expiry"], "ok");
    assert_eq!(c["verifiedAt"], serde_json::Value::Null);
    assert_eq!(
        c["consent"],
        serde_json::json!({"consented":1,"declined":1,"failed":0,"pending":1,"total":3})
    );
    assert_eq!(d["unreadable"][0]["file"], "broken.json");
    assert_eq!(d["unreadable"][0]["code"], "profile.parse");

    let out = run(&["dashboard"], home.path());
    let text = stdout(&out);
    assert!(text.contains("Acme"), "{text}");
    assert!(text.contains("EXPIRED 2020-01-31"), "{text}");
    assert!(text.contains("Contoso [SANDBOX]"), "{text}");
    assert!(text.contains("NOT verified"), "{text}");
    assert!(text.contains("consent 1/3, 1 declined"), "{text}");
    assert!(text.contains("broken.json"), "{text}");

    let out = run(
        &["dashboard", "--format", "json", "--search", "contoso"],
        home.path(),
    );
    let d: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(d["customers"].as_array().unwrap().len(), 1);
    assert_eq!(d["customers"][0]["name"], "Contoso");
}

#[test]
fn empty_dashboard() {
    let home = tempfile::tempdir().unwrap();
    let out = run(&["dashboard"], home.path());
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).contains("none yet"));
}

#[test]
fn export_then_import_on_a_new_computer() {
    let old = home_with(&[
        (
            &format!("{ACME_ID}.json"),
            acme("2025-02-01T00:00:00Z", "Acme"),
        ),
        (&format!("{CONTOSO_ID}.json"), contoso()),
    ]);
    let bundle = old.path().join("bundle.json");
    let out = run(
        &["profiles", "--export", bundle.to_str().unwrap()],
        old.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("Exported 2 profiles"));
    let text = std::fs::read_to_string(&bundle).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["format"], "entra-onboard-profiles");
    assert_eq!(v["version"], 1);

    let new = tempfile::tempdir().unwrap();
    let out = run(
        &[
            "profiles",
            "--import",
            bundle.to_str().unwrap(),
            "--format",
            "json",
        ],
        new.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let sum: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(sum["imported"].as_array().unwrap().len(), 2);
    let note = sum["secretsNote"].as_str().unwrap();
    assert!(
        note.contains("Acme") && note.contains("Contoso") && note.contains("step 3"),
        "{note}"
    );

    // The list shows both; the plain `profiles` command still works.
    let out = run(&["profiles", "--format", "json"], new.path());
    let list: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 2);
    let out = run(&["profiles", "--show", ACME_ID], new.path());
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).contains("\"updated_at\": \"2025-02-01T00:00:00Z\""));

    // Importing again changes nothing.
    let out = run(
        &["profiles", "--import", bundle.to_str().unwrap()],
        new.path(),
    );
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stdout(&out).contains(
            "Imported 0, replaced 0, unchanged 2, conflicts 0 (not replaced), rejected 0"
        ),
        "{}",
        stdout(&out)
    );
    // A small import is listed whole: no separate list is written.
    assert!(!stdout(&out).contains("The full list"), "{}", stdout(&out));
    assert!(!new.path().join("imports").exists());
}

#[test]
fn a_changed_copy_is_a_conflict_until_replace() {
    let home = home_with(&[(
        &format!("{ACME_ID}.json"),
        acme("2025-02-01T00:00:00Z", "Acme"),
    )]);
    let file = home.path().join("profiles").join(format!("{ACME_ID}.json"));
    let before = std::fs::read_to_string(&file).unwrap();
    let newer = home.path().join("acme-newer.json");
    std::fs::write(&newer, acme("2026-01-01T00:00:00Z", "Acme Renamed")).unwrap();
    let newer = newer.to_str().unwrap();

    // Without --replace: listed with the field that differs, nothing replaced, exit 1.
    let out = run(&["profiles", "--import", newer], home.path());
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains(
            "Imported 0, replaced 0, unchanged 0, conflicts 1 (not replaced), rejected 0"
        ),
        "{text}"
    );
    assert!(text.contains("NOT replaced"), "{text}");
    assert!(text.contains("name: Acme -> Acme Renamed"), "{text}");
    assert!(
        text.contains("verified: "),
        "losing this computer's pass is shown: {text}"
    );
    assert!(
        text.contains("run the import again with --replace"),
        "{text}"
    );
    assert!(!text.contains("Keychain:"), "{text}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), before, "untouched");

    let out = run(
        &["profiles", "--import", newer, "--format", "json"],
        home.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    let sum: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(sum["replaced"], serde_json::json!([]));
    assert_eq!(sum["conflicts"][0]["id"], ACME_ID);
    assert_eq!(
        sum["conflicts"][0]["identityChanges"],
        serde_json::json!([])
    );

    // With --replace: replaced (same identity, so no keychain is needed), exit 0.
    let out = run(&["profiles", "--import", newer, "--replace"], home.path());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("replaced 1"), "{text}");
    assert!(
        text.contains("replaced by the file's copy; changed: name, verified"),
        "{text}"
    );
    let out = run(&["profiles", "--show", ACME_ID], home.path());
    let shown = stdout(&out);
    assert!(shown.contains("Acme Renamed"), "{shown}");
    assert!(shown.contains("\"verified\": null"), "{shown}");

    let out = run(&["profiles", "--replace"], home.path());
    assert_eq!(out.status.code(), Some(2), "--replace needs --import");
}

#[test]
fn imports_clear_evidence_and_paths_and_refuse_bad_ids_and_tenants() {
    let home = tempfile::tempdir().unwrap();
    let bundle = home.path().join("hostile.json");
    let contoso = contoso().replace(
        r#""kind": "secret","#,
        r#""kind": "secret", "certificate_file": "/home/victim/.ssh/id_rsa","#,
    );
    assert!(contoso.contains("id_rsa"));
    std::fs::write(
        &bundle,
        format!(
            r#"{{"format":"entra-onboard-profiles","version":1,"profiles":[
                {acme},
                {contoso},
                {{"name":"Upper","id":"{upper}"}},
                {{"name":"Injected","customer_tenants":[{{"tenant":"common/oauth2/v2.0/authorize?client_id=x&redirect_uri=https://evil.example/&y="}}]}}
            ]}}"#,
            acme = acme("2025-02-01T00:00:00Z", "Acme"),
            upper = ACME_ID.replace('-', ""),
        ),
    )
    .unwrap();
    let out = run(
        &[
            "profiles",
            "--import",
            bundle.to_str().unwrap(),
            "--format",
            "json",
        ],
        home.path(),
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let sum: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(sum["imported"].as_array().unwrap().len(), 2);
    let rejected = sum["rejected"].as_array().unwrap();
    assert_eq!(rejected.len(), 2);
    assert_eq!(rejected[0]["position"], 3);
    assert_eq!(rejected[0]["code"], "transfer.bad_id");
    assert_eq!(rejected[1]["position"], 4);
    assert_eq!(rejected[1]["code"], "transfer.bad_tenant");
    assert!(
        rejected[1]["reason"]
            .as_str()
            .unwrap()
            .contains("customer_tenants[0].tenant"),
        "{}",
        rejected[1]
    );

    let out = run(&["profiles", "--show", ACME_ID], home.path());
    let acme = stdout(&out);
    assert!(acme.contains("\"verified\": null"), "{acme}");
    assert!(!acme.contains("it@acme.example"), "{acme}");
    let out = run(&["profiles", "--show", CONTOSO_ID], home.path());
    let contoso = stdout(&out);
    assert!(!contoso.contains("id_rsa"), "{contoso}");
    assert!(contoso.contains("\"admin_consent\": null"), "{contoso}");
    assert!(
        !contoso.contains("consented")
            && !contoso.contains("declined")
            && !contoso.contains("65004"),
        "{contoso}"
    );
    let out = run(&["dashboard", "--format", "json"], home.path());
    let d: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    for c in d["customers"].as_array().unwrap() {
        assert_eq!(c["verifiedAt"], serde_json::Value::Null);
        assert_eq!(c["consent"]["consented"], 0);
    }
}

#[test]
fn import_with_rejections_exits_1_and_bad_files_exit_2() {
    let home = tempfile::tempdir().unwrap();
    let bundle = home.path().join("mixed.json");
    std::fs::write(
        &bundle,
        r#"{"format":"entra-onboard-profiles","version":1,"exported_at":"2025-01-01T00:00:00Z",
            "profiles":[{"name":"Ok"},{"name":"Typo","tenantid":"x"}]}"#,
    )
    .unwrap();
    let out = run(
        &["profiles", "--import", bundle.to_str().unwrap()],
        home.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.contains("Imported 1") && text.contains("rejected 1"),
        "{text}"
    );
    assert!(text.contains("tenantid"), "{text}");

    let not = home.path().join("not.json");
    std::fs::write(&not, "[]").unwrap();
    let out = run(
        &["profiles", "--import", not.to_str().unwrap()],
        home.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("not an Entra Onboard export"),
        "{}",
        stderr(&out)
    );

    let out = run(
        &["profiles", "--import", "x.json", "--export", "y.json"],
        home.path(),
    );
    assert_eq!(out.status.code(), Some(2), "the flags conflict");
}

/// A partner's bundle of 1,000 customers: the terminal gets the counts, the first few of
/// each kind and where the whole list is, not a thousand names on one line.
#[test]
fn a_large_import_is_summarised_with_the_full_list_in_a_file() {
    let profiles: Vec<serde_json::Value> = (0..1000)
        .map(|i| {
            serde_json::json!({
                "id": format!("00000000-0000-4000-8000-{i:012}"),
                "name": format!("Customer {i:04}"),
                "tenant_id": "72f988bf-86f1-41af-91ab-2d7cd011db47",
                "client_id": "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9",
                "agent_url": format!("https://c{i:04}.halopsa.com"),
                "credential": { "kind": "secret", "expires_on": "2030-01-31" },
                "updated_at": "2025-02-01T00:00:00Z",
            })
        })
        .collect();
    let home = tempfile::tempdir().unwrap();
    let bundle = home.path().join("bundle.json");
    std::fs::write(
        &bundle,
        serde_json::json!({
            "format": "entra-onboard-profiles",
            "version": 1,
            "exported_at": "2025-02-01T00:00:00Z",
            "profiles": profiles,
        })
        .to_string(),
    )
    .unwrap();

    let out = run(
        &["profiles", "--import", bundle.to_str().unwrap()],
        home.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines.len() < 20, "{} lines:\n{text}", lines.len());
    assert!(
        lines.iter().all(|l| l.chars().count() < 600),
        "a line too long to read:\n{text}"
    );
    assert!(
        text.starts_with("Imported 1000, replaced 0, unchanged 0"),
        "{text}"
    );
    assert!(text.contains("  + Customer 0000  (00000000-0000-4000-8000-000000000000)"));
    assert!(text.contains("  + Customer 0009  ("));
    assert!(!text.contains("Customer 0010  ("), "{text}");
    assert!(text.contains("  … and 990 more imported"), "{text}");
    assert!(
        text.contains("for 1000 customers: Customer 0000, Customer 0001, Customer 0002, Customer 0003, Customer 0004 and 995 more."),
        "{text}"
    );

    // Where the whole list is: a private file in the app's folder, every customer in it.
    let last = lines.last().unwrap();
    let path = last
        .strip_prefix("The full list: ")
        .unwrap_or_else(|| panic!("no pointer to the full list: {last}"));
    let path = Path::new(path);
    assert!(path.starts_with(home.path().join("imports")), "{path:?}");
    let full = std::fs::read_to_string(path).unwrap();
    for i in [0, 10, 500, 999] {
        assert!(
            full.contains(&format!(
                "  + Customer {i:04}  (00000000-0000-4000-8000-{i:012})"
            )),
            "customer {i} missing from the full list"
        );
        assert!(full.contains(&format!("  - Customer {i:04}\n")));
    }
    assert!(!full.contains("more imported"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "the list is private: {mode:o}");
    }

    // Again: all unchanged, summarised the same way.
    let out = run(
        &["profiles", "--import", bundle.to_str().unwrap()],
        home.path(),
    );
    let text = stdout(&out);
    assert!(text.contains("unchanged 1000"), "{text}");
    assert!(text.contains("  … and 990 more unchanged"), "{text}");
    assert!(text.lines().count() < 20, "{text}");
}
