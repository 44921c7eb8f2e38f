//! `entra-onboard teams-package`: the self-service portal as a Teams personal tab. The
//! package is read back with an independent zip reader and PNG decoder, and its manifest is
//! validated against Microsoft's published JSON schema (the copy in the npm package
//! `@microsoft/app-manifest`, installed by `npm ci --prefix crates/cli/tests/teams-schema`).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_entra-onboard");
const CLIENT: &str = "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9";
const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";

fn run(args: &[&str], home: &Path) -> Output {
    Command::new(BIN)
        .args(args)
        .env("ENTRA_ONBOARD_HOME", home)
        .output()
        .expect("run entra-onboard")
}

fn profile_json(extra: &str) -> String {
    format!(
        r#"{{
  "name": "Acme",
  "tenant_id": "{TENANT}",
  "client_id": "{CLIENT}",
  "agent_url": "https://acme.halopsa.com",
  "sso_for": "both",
  "credential": {{"kind": "secret", "secret_hint": "Q7~", "thumbprint": "0123456789ABCDEF0123456789ABCDEF01234567"}}{extra}
}}"#
    )
}

fn write_profile(dir: &Path, json: &str) -> String {
    let path = dir.join("acme.json");
    std::fs::write(&path, json).unwrap();
    path.display().to_string()
}

/// The package's entries, in order, read with the `zip` crate.
fn entries(zip_path: &Path) -> Vec<(String, Vec<u8>)> {
    let file = std::fs::File::open(zip_path).unwrap();
    let mut archive = zip::ZipArchive::new(file).expect("a valid zip");
    (0..archive.len())
        .map(|i| {
            let mut f = archive.by_index(i).unwrap();
            let mut bytes = Vec::new();
            f.read_to_end(&mut bytes).unwrap();
            (f.name().to_string(), bytes)
        })
        .collect()
}

fn png_rgba(bytes: &[u8]) -> (u32, u32, Vec<u8>) {
    let mut dec = png::Decoder::new(std::io::Cursor::new(bytes));
    dec.set_transformations(png::Transformations::EXPAND);
    let mut reader = dec.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.color_type, png::ColorType::Rgba, "icons carry alpha");
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf)
}

fn package(dir: &Path, profile: &str, name: &str, extra_args: &[&str]) -> (PathBuf, Output) {
    let out = dir.join(name);
    let mut args = vec![
        "teams-package",
        "--profile",
        profile,
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra_args);
    (out.clone(), run(&args, dir))
}

fn manifest_of(zip_path: &Path) -> serde_json::Value {
    let e = entries(zip_path);
    let m = e.iter().find(|(n, _)| n == "manifest.json").unwrap();
    serde_json::from_slice(&m.1).unwrap()
}

#[test]
fn the_package_holds_the_manifest_and_two_icons_of_the_right_sizes() {
    let dir = tempfile::tempdir().unwrap();
    let f = write_profile(dir.path(), &profile_json(""));
    let (zip_path, out) = package(dir.path(), &f, "acme-teams.zip", &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("Upload new app"), "{stdout}");
    assert!(
        stdout.contains("1fec8e78-bce4-4aaf-ab1b-5451cc387264"),
        "{stdout}"
    );

    let e = entries(&zip_path);
    let names: Vec<&str> = e.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["manifest.json", "color.png", "outline.png"]);

    let (w, h, px) = png_rgba(&e[1].1);
    assert_eq!((w, h), (192, 192), "color icon");
    assert!(
        px.chunks(4).all(|p| p[3] == 255),
        "the color icon is opaque"
    );
    let (w, h, px) = png_rgba(&e[2].1);
    assert_eq!((w, h), (32, 32), "outline icon");
    // Teams: "white with transparent background": every pixel is transparent or white.
    assert!(
        px.chunks(4)
            .all(|p| p[3] == 0 || (p[..3] == [255, 255, 255] && p[3] == 255))
    );
    assert!(px.chunks(4).any(|p| p[3] == 0) && px.chunks(4).any(|p| p[3] == 255));

    let m = manifest_of(&zip_path);
    assert_eq!(m["manifestVersion"], "1.30");
    assert_eq!(m["version"], "1.0.0");
    assert_eq!(m["icons"]["color"], "color.png");
    assert_eq!(m["icons"]["outline"], "outline.png");
    assert_eq!(m["webApplicationInfo"]["id"], CLIENT);
    assert_eq!(
        m["webApplicationInfo"]["resource"],
        format!("api://acme.halopsa.com/{CLIENT}")
    );
    assert_eq!(m["validDomains"], serde_json::json!(["acme.halopsa.com"]));
    let tab = &m["staticTabs"][0];
    assert_eq!(tab["scopes"], serde_json::json!(["personal"]));
    assert_eq!(tab["contentUrl"], "https://acme.halopsa.com/portal");
    let id = m["id"].as_str().unwrap();
    assert_ne!(id, CLIENT, "the Teams app id is its own");
    assert!(uuid_like(id));

    // Nothing but public values: no credential detail, no tenant, no identity provider.
    let raw = std::fs::read(&zip_path).unwrap();
    let text = String::from_utf8_lossy(&raw);
    for absent in [
        "Q7~",
        "0123456789ABCDEF",
        TENANT,
        "secret",
        "login.microsoftonline.com",
    ] {
        assert!(!text.contains(absent), "{absent} is in the package");
    }
}

fn uuid_like(s: &str) -> bool {
    s.len() == 36
        && s.chars()
            .enumerate()
            .all(|(i, c)| matches!(i, 8 | 13 | 18 | 23) == (c == '-'))
}

#[test]
fn the_same_profile_gives_the_same_package_and_a_version_bump_only_changes_the_version() {
    let dir = tempfile::tempdir().unwrap();
    let f = write_profile(dir.path(), &profile_json(""));
    let (a, _) = package(dir.path(), &f, "a.zip", &[]);
    let (b, _) = package(dir.path(), &f, "b.zip", &[]);
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    let (c, out) = package(
        dir.path(),
        &f,
        "c.zip",
        &["--version", "1.0.1", "--format", "json"],
    );
    assert_eq!(out.status.code(), Some(0));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["manifest"]["version"], "1.0.1");
    assert_eq!(json["teamsTab"]["scopeName"], "access_as_user");
    let (ma, mc) = (manifest_of(&a), manifest_of(&c));
    assert_eq!(ma["id"], mc["id"], "an update keeps the Teams app id");
    assert_eq!(mc["version"], "1.0.1");
}

#[test]
fn what_blocks_the_package_is_named_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let f = write_profile(
        dir.path(),
        r#"{"name":"Acme","tenant_id":"72f988bf-86f1-41af-91ab-2d7cd011db47","agent_url":"https://acme.halopsa.com"}"#,
    );
    let (zip_path, out) = package(dir.path(), &f, "x.zip", &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("client_id"), "{stderr}");
    assert!(!zip_path.exists());

    let f = write_profile(dir.path(), &profile_json(""));
    let (zip_path, out) = package(dir.path(), &f, "y.zip", &["--version", "1.0"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("version"), "{stderr}");
    assert!(!zip_path.exists());
}

#[test]
fn help_explains_the_registration_and_the_upload() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(&["teams-package", "--help"], dir.path());
    let help = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0));
    for needle in [
        "--profile",
        "--out",
        "--version",
        "access_as_user",
        "5e3ce6c0-2b1f-4285-8d4b-75ee78787346",
        "Upload new app",
        "Setup policies",
    ] {
        assert!(help.contains(needle), "{needle} missing in:\n{help}");
    }
}

#[test]
fn the_plan_shows_what_the_registration_needs_for_the_tab() {
    let dir = tempfile::tempdir().unwrap();
    let f = write_profile(dir.path(), &profile_json(""));
    let out = run(&["plan", &f], dir.path());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("Teams tab"), "{stdout}");
    assert!(
        stdout.contains(&format!("api://acme.halopsa.com/{CLIENT}")),
        "{stdout}"
    );
    let out = run(&["plan", &f, "--format", "json"], dir.path());
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let tab = &plan["teamsTab"]["ready"];
    assert_eq!(
        tab["preauthorizedClients"][1]["appId"],
        "5e3ce6c0-2b1f-4285-8d4b-75ee78787346"
    );
}

// ---- Microsoft's schema ----------------------------------------------------------------------

fn schema_tool() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/teams-schema")
}

/// Runs the schema validator on `manifest`; FAILS (never passes silently) when the npm
/// package is not installed.
fn validate(manifest: &Path) -> (bool, String) {
    let tool = schema_tool();
    assert!(
        tool.join("node_modules/@microsoft/app-manifest").is_dir(),
        "the schema validator is not installed: run npm ci --prefix {}",
        tool.display()
    );
    let out = Command::new("node")
        .arg(tool.join("validate.mjs"))
        .arg(manifest)
        .output()
        .expect("node");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    match out.status.code() {
        Some(0) => (true, stdout),
        Some(1) => (false, stdout),
        _ => panic!(
            "the validator could not run: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

fn extract_manifest(zip_path: &Path, to: &Path) -> PathBuf {
    let e = entries(zip_path);
    let path = to.join(format!(
        "{}.manifest.json",
        zip_path.file_stem().unwrap().to_string_lossy()
    ));
    std::fs::write(&path, &e[0].1).unwrap();
    path
}

#[test]
fn the_manifest_passes_microsofts_published_schema() {
    let dir = tempfile::tempdir().unwrap();
    // The common case, an agents-only profile with a long name, and a portal on its own host
    // with an on-premise authorisation URL: every shape the wizard writes.
    let cases = [
        profile_json(""),
        profile_json(&format!(
            r#", "name": "{}", "sso_for": "agents""#,
            "Ä".repeat(100)
        ))
        .replacen(r#""name": "Acme","#, "", 1)
        .replacen(r#""sso_for": "both","#, "", 1),
        profile_json(
            r#", "portal_url": "https://support.acme.example/portal", "auth_url": "https://halo.acme.example/auth""#,
        ),
    ];
    for (i, json) in cases.iter().enumerate() {
        let f = write_profile(dir.path(), json);
        let (zip_path, out) = package(dir.path(), &f, &format!("case{i}.zip"), &[]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "case {i}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let manifest = extract_manifest(&zip_path, dir.path());
        let (ok, report) = validate(&manifest);
        assert!(ok, "case {i} fails Microsoft's schema: {report}");
    }

    // The validator can fail: an over-long short name and a non-https tab are refused.
    let f = write_profile(dir.path(), &profile_json(""));
    let (zip_path, _) = package(dir.path(), &f, "bad.zip", &[]);
    let manifest = extract_manifest(&zip_path, dir.path());
    let mut m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&manifest).unwrap()).unwrap();
    m["name"]["short"] = "x".repeat(31).into();
    m["staticTabs"][0]["contentUrl"] = "ftp://acme.halopsa.com/portal".into();
    std::fs::write(&manifest, m.to_string()).unwrap();
    let (ok, report) = validate(&manifest);
    assert!(!ok);
    assert!(
        report.contains("/name/short") && report.contains("/staticTabs/0/contentUrl"),
        "{report}"
    );
}
