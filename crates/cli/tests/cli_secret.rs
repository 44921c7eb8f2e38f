//! `entra-onboard secret …` against the REAL Secret Service (no mock). They fail, on
//! purpose, without a D-Bus session; run them as:
//!
//! ```sh
//! dbus-run-session -- bash -c 'export XDG_DATA_HOME=$(mktemp -d); echo -n test | gnome-keyring-daemon --unlock --components=secrets >/dev/null; cargo test -p entra-onboard-engine --test keychain; cargo test -p entra-onboard --test cli_secret'
//! ```
//!
//! Each test sets its own ENTRA_ONBOARD_KEYCHAIN_SERVICE, so nothing touches the app's
//! real entries.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const RUN_UNDER: &str = "dbus-run-session -- bash -c 'export XDG_DATA_HOME=$(mktemp -d); echo -n test | gnome-keyring-daemon --unlock --components=secrets >/dev/null; cargo test -p entra-onboard-engine --test keychain; cargo test -p entra-onboard --test cli_secret'";

const SECRET: &str = "Q7w8Q~Zx1yT9kLmN0pQrStUvWxYz0123456789ab";

fn require_session_bus() {
    if cfg!(target_os = "linux")
        && std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none_or(|v| v.is_empty())
    {
        panic!(
            "no D-Bus session: the keychain CLI tests need a real Secret Service. Run them as:\n  {RUN_UNDER}"
        );
    }
}

struct Fixture {
    dir: tempfile::TempDir,
    service: String,
    profile: PathBuf,
}

impl Fixture {
    fn new(profile_json: &str) -> Fixture {
        require_session_bus();
        let dir = tempfile::tempdir().unwrap();
        let profile = dir.path().join("acme.json");
        std::fs::write(&profile, profile_json).unwrap();
        Fixture {
            dir,
            service: format!("com.entraonboard.test.{}", uuid::Uuid::new_v4().simple()),
            profile,
        }
    }

    fn with_id() -> (Fixture, String) {
        let id = uuid::Uuid::new_v4().to_string();
        let f = Fixture::new(&format!(
            r#"{{"id":"{id}","name":"Acme","agent_url":"https://acme.halopsa.com","credential":{{"kind":"certificate","thumbprint":"AB12"}}}}"#
        ));
        (f, id)
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_entra-onboard"));
        cmd.args(args)
            .env("ENTRA_ONBOARD_KEYCHAIN_SERVICE", &self.service)
            .env("ENTRA_ONBOARD_HOME", self.dir.path().join("home"));
        cmd
    }

    fn run(&self, args: &[&str], stdin: &str) -> Output {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // The CLI may refuse (and exit) before it reads stdin; a closed pipe is then expected.
        match child.stdin.take().unwrap().write_all(stdin.as_bytes()) {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
            other => other.unwrap(),
        }
        child.wait_with_output().unwrap()
    }

    fn path(&self) -> &str {
        self.profile.to_str().unwrap()
    }

    fn profile_text(&self) -> String {
        std::fs::read_to_string(&self.profile).unwrap()
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn assert_no_secret(out: &Output, secret: &str) {
    assert!(
        !text(&out.stdout).contains(secret),
        "stdout shows the secret"
    );
    assert!(
        !text(&out.stderr).contains(secret),
        "stderr shows the secret"
    );
}

fn in_a_year() -> String {
    (chrono::Local::now().date_naive() + chrono::Days::new(365)).to_string()
}

#[test]
fn set_status_delete() {
    let (f, id) = Fixture::with_id();
    let expires = in_a_year();

    let out = f.run(&["secret", "status", f.path()], "");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("No client secret"),
        "{}",
        text(&out.stdout)
    );

    // One trailing newline, as `echo` or a file gives it, is removed.
    let out = f.run(
        &["secret", "set", f.path(), "--expires", &expires],
        &format!("{SECRET}\n"),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_no_secret(&out, SECRET);
    let stdout = text(&out.stdout);
    assert!(
        stdout.starts_with("Stored in Secret Service") || !cfg!(target_os = "linux"),
        "{stdout}"
    );
    assert!(stdout.contains("hint Q7w…"), "{stdout}");
    assert!(stdout.contains(&format!("expires {expires}")), "{stdout}");

    // The profile records kind, hint and expiry — never the value — and keeps its id.
    let saved = f.profile_text();
    assert!(
        !saved.contains(SECRET) && !saved.contains("Zx1yT9"),
        "{saved}"
    );
    let p = entra_onboard_engine::Profile::from_json(&saved).unwrap();
    assert_eq!(p.id, id);
    assert_eq!(
        p.credential.kind,
        entra_onboard_engine::profile::CredentialKind::Secret
    );
    assert_eq!(p.credential.secret_hint.as_deref(), Some("Q7w"));
    assert_eq!(
        p.credential.expires_on.map(|d| d.to_string()),
        Some(expires.clone())
    );
    assert_eq!(p.credential.thumbprint, None);

    // Really in the Secret Service, under the profile's id.
    #[cfg(target_os = "linux")]
    {
        let found = Command::new("secret-tool")
            .args([
                "lookup",
                "service",
                &f.service,
                "username",
                &format!("{id}/client-secret"),
            ])
            .output()
            .expect("secret-tool (apt package libsecret-tools) is needed by these tests");
        assert_eq!(text(&found.stdout), SECRET);
    }

    let out = f.run(&["secret", "status", f.path()], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_no_secret(&out, SECRET);
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("is stored in")
            && stdout.contains("hint Q7w…")
            && stdout.contains(&expires),
        "{stdout}"
    );

    let out = f.run(&["secret", "status", f.path(), "--format", "json"], "");
    assert_eq!(out.status.code(), Some(0));
    assert_no_secret(&out, SECRET);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["stored"], true);
    assert_eq!(v["profile_id"], id.as_str());
    assert_eq!(v["secret_hint"], "Q7w");
    assert_eq!(v["hint_matches"], true);
    assert_eq!(v["expires_on"], expires.as_str());
    assert_eq!(v["certificate_password_stored"], false);

    let out = f.run(&["secret", "delete", f.path()], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("stays valid in Entra"));
    let out = f.run(&["secret", "status", f.path(), "--format", "json"], "");
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["stored"], false);

    // Deleting again is fine.
    assert_eq!(
        f.run(&["secret", "delete", f.path()], "").status.code(),
        Some(0)
    );
}

#[test]
fn the_secret_id_is_refused() {
    let (f, id) = Fixture::with_id();
    let before = f.profile_text();
    let guid = "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9";
    let out = f.run(&["secret", "set", f.path()], &format!("{guid}\n"));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains(
            "That is the Secret ID; paste the Value (the column next to it, shown only once when the secret was created)."
        ),
        "{}",
        text(&out.stderr)
    );
    assert_no_secret(&out, guid);
    assert_eq!(
        f.profile_text(),
        before,
        "a refused secret must not touch the profile"
    );
    let out = f.run(&["secret", "status", f.path(), "--format", "json"], "");
    assert_eq!(out.status.code(), Some(1), "nothing stored for {id}");
}

#[test]
fn bad_values_and_dates_are_refused_without_echo() {
    let (f, _) = Fixture::with_id();
    let before = f.profile_text();
    for (input, expect) in [
        ("", "empty"),
        (&format!("{SECRET}\n\n") as &str, "line break"),
        (&format!(" {SECRET}"), "space"),
        ("Q7w8Q~Zx1yT9", "at least 16"),
    ] {
        let out = f.run(&["secret", "set", f.path()], input);
        assert_eq!(out.status.code(), Some(2), "{input:?}");
        assert!(
            text(&out.stderr).contains(expect),
            "{input:?}: {}",
            text(&out.stderr)
        );
        if !input.trim().is_empty() {
            assert_no_secret(&out, input.trim());
        }
    }
    for date in ["2001-01-01", "2999-01-01"] {
        let out = f.run(&["secret", "set", f.path(), "--expires", date], SECRET);
        assert_eq!(out.status.code(), Some(2), "{date}");
        assert!(text(&out.stderr).contains(date));
        assert_no_secret(&out, SECRET);
    }
    let out = f.run(
        &["secret", "set", f.path(), "--expires", "31/03/2027"],
        SECRET,
    );
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(f.profile_text(), before);
}

#[test]
fn a_profile_without_an_id_is_refused_with_a_fix() {
    let f = Fixture::new(r#"{"name":"Acme","agent_url":"https://acme.halopsa.com"}"#);
    let out = f.run(&["secret", "set", f.path()], SECRET);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("has no \"id\"") && stderr.contains("Add a line such as"),
        "{stderr}"
    );
    assert_no_secret(&out, SECRET);
}

#[test]
fn the_value_is_never_an_argument() {
    let (f, _) = Fixture::with_id();
    let out = f.run(&["secret", "set", f.path(), SECRET], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(!f.profile_text().contains(SECRET));
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(files_under(&path));
        } else {
            found.push(path);
        }
    }
    found
}

#[cfg(target_os = "linux")]
#[test]
fn without_a_session_bus_set_fails_closed_with_guidance() {
    let (f, _) = Fixture::with_id();
    let before = f.profile_text();
    let home = f.dir.path();
    let mut cmd = f.command(&["secret", "set", f.path()]);
    cmd.env(
        "DBUS_SESSION_BUS_ADDRESS",
        "unix:path=/nonexistent/entra-onboard-test-bus",
    )
    .env("HOME", home)
    .env("XDG_DATA_HOME", home.join("data"))
    .env("XDG_CONFIG_HOME", home.join("config"))
    .env("XDG_CACHE_HOME", home.join("cache"))
    .env("XDG_RUNTIME_DIR", home.join("run"))
    .env_remove("DISPLAY")
    .env_remove("WAYLAND_DISPLAY")
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(SECRET.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("keychain is not available") && stderr.contains("dbus-run-session"),
        "{stderr}"
    );
    assert_no_secret(&out, SECRET);
    assert_eq!(f.profile_text(), before);
    // Nothing written anywhere as a stand-in: the folder holds only the profile.
    assert_eq!(files_under(home), vec![f.profile.clone()]);
}

/// `profiles --import` of a bundle that gives a customer another tenant and agent URL: left
/// alone (and its secret kept) without --replace; with it, replaced and the secret deleted,
/// so the old secret never answers for the new identity.
#[test]
fn an_import_replacing_who_the_customer_is_deletes_the_stored_secret() {
    let id = uuid::Uuid::new_v4().to_string();
    let f = Fixture::new(&format!(
        r#"{{"id":"{id}","name":"Acme","tenant_id":"72f988bf-86f1-41af-91ab-2d7cd011db47","agent_url":"https://acme.halopsa.com"}}"#
    ));
    let out = f.run(&["secret", "set", f.path()], SECRET);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // The customer is in the app's store as `secret set` left it.
    let out = f.run(&["profiles", "--import", f.path()], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));

    let bundle = f.dir.path().join("moved.json");
    std::fs::write(
        &bundle,
        f.profile_text()
            .replace(
                "72f988bf-86f1-41af-91ab-2d7cd011db47",
                "5a4db0c5-7e1a-4a47-8000-000000000001",
            )
            .replace("https://acme.halopsa.com", "https://evil.example"),
    )
    .unwrap();
    let bundle = bundle.to_str().unwrap();

    let out = f.run(&["profiles", "--import", bundle], "");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("conflicts 1 (not replaced)"), "{stdout}");
    assert!(
        stdout.contains("tenant_id: 72f988bf-86f1-41af-91ab-2d7cd011db47 -> 5a4db0c5"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Replacing it deletes its stored secret"),
        "{stdout}"
    );
    assert!(stdout.contains("--replace"), "{stdout}");
    let out = f.run(&["secret", "status", f.path()], "");
    assert_eq!(out.status.code(), Some(0), "kept: {}", text(&out.stdout));

    let out = f.run(
        &[
            "profiles",
            "--import",
            bundle,
            "--replace",
            "--format",
            "json",
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert_no_secret(&out, SECRET);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["replaced"][0]["id"], id.as_str());
    assert_eq!(v["keychainRemoved"][0]["id"], id.as_str());
    assert_eq!(
        v["keychainRemoved"][0]["because"],
        serde_json::json!(["tenant_id", "agent_url"])
    );
    let out = f.run(&["secret", "status", f.path(), "--format", "json"], "");
    assert_eq!(out.status.code(), Some(1), "the secret was deleted");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["stored"], false);
}

/// CSP's Partner Center app: `--app partner-center` stores its secret under its own entry
/// and records its own hint and expiry, leaving the main app's alone; `delete --app`
/// removes only that app's entries.
#[test]
fn the_partner_center_app_has_its_own_secret() {
    let (f, _id) = Fixture::with_id();
    let p = f.path().to_string();
    let pc_secret = "Pcx8Q~Zx1yT9kLmN0pQrStUvWxYz0123456789ab";
    let exp = in_a_year();
    let out = f.run(
        &["secret", "set", &p, "--expires", &exp],
        &format!("{SECRET}\n"),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = f.run(
        &[
            "secret",
            "set",
            &p,
            "--app",
            "partner-center",
            "--expires",
            &exp,
        ],
        &format!("{pc_secret}\n"),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("Partner Center app's secret stored"),
        "{}",
        text(&out.stdout)
    );
    assert_no_secret(&out, pc_secret);
    let saved = std::fs::read_to_string(&f.profile).unwrap();
    let v: serde_json::Value = serde_json::from_str(&saved).unwrap();
    assert_eq!(v["credential"]["secret_hint"], "Q7w");
    assert_eq!(v["partner_center"]["credential"]["secret_hint"], "Pcx");
    assert!(!saved.contains(pc_secret) && !saved.contains(SECRET));

    let out = f.run(
        &[
            "secret",
            "status",
            &p,
            "--app",
            "partner-center",
            "--format",
            "json",
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(0));
    let st: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (st["app"].as_str(), st["hint_matches"].as_bool()),
        (Some("partner-center"), Some(true))
    );

    let out = f.run(&["secret", "delete", &p, "--app", "partner-center"], "");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        f.run(&["secret", "status", &p, "--app", "partner-center"], "")
            .status
            .code(),
        Some(1)
    );
    assert_eq!(
        f.run(&["secret", "status", &p], "").status.code(),
        Some(0),
        "the main app's secret stays"
    );
    f.run(&["secret", "delete", &p], "");
}
