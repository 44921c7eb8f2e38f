//! Secrets stay off disk, measured: the CLI's practice flow — `secret set`, an SSO test with
//! the secret, `cert new`, an SSO test with the .pfx (password from the keychain), `cert
//! import` of that .pfx and an SSO test recorded as verified — against the sandbox tenant,
//! then every file the CLI could have written (the app's home, the XDG config, data and
//! cache folders and `$HOME`, all pointed at throw-away folders, and the certificate output
//! folder) is searched for the client secret and the .pfx password, as UTF-8 and UTF-16.
//! So is everything the CLI printed. Zero hits, else the test names the file.
//!
//! Needs the REAL Secret Service (like cli_secret.rs) and `node` for the scripted browser:
//!
//! ```sh
//! dbus-run-session -- bash -c 'echo -n x | gnome-keyring-daemon --unlock --components=secrets >/dev/null; cargo test -p entra-onboard --test secrets_off_disk'
//! ```

#[path = "../../engine/tests/support/secret_scan.rs"]
mod secret_scan;

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

use entra_onboard_engine::keychain::Keychain;
use entra_onboard_sandbox::idp::{SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, SandboxOptions};
use entra_onboard_sandbox::start;
use serde_json::Value;
use tokio::io::AsyncWriteExt;

fn require_session_bus() {
    if cfg!(target_os = "linux")
        && std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none_or(|v| v.is_empty())
    {
        panic!(
            "no D-Bus session: this test needs a real Secret Service; see the top of tests/secrets_off_disk.rs"
        );
    }
}

/// The throw-away folders the CLI runs with.
struct Folders {
    home: PathBuf,
    user_home: PathBuf,
    config: PathBuf,
    data: PathBuf,
    cache: PathBuf,
    out: PathBuf,
}

impl Folders {
    fn new(root: &Path) -> Folders {
        let f = Folders {
            home: root.join("app-home"),
            user_home: root.join("user-home"),
            config: root.join("xdg-config"),
            data: root.join("xdg-data"),
            cache: root.join("xdg-cache"),
            out: root.join("certificates-out"),
        };
        for d in [&f.home, &f.user_home, &f.config, &f.data, &f.cache] {
            std::fs::create_dir_all(d).unwrap();
        }
        f
    }

    fn all(&self) -> Vec<PathBuf> {
        [
            &self.home,
            &self.user_home,
            &self.config,
            &self.data,
            &self.cache,
            &self.out,
        ]
        .into_iter()
        .cloned()
        .collect()
    }
}

struct Cli<'a> {
    service: &'a str,
    folders: &'a Folders,
    /// Everything the CLI printed, searched at the end too.
    printed: Vec<u8>,
}

impl Cli<'_> {
    async fn run(&mut self, args: &[&str], stdin: &str) -> Output {
        let f = self.folders;
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_entra-onboard"))
            .args(args)
            .env("ENTRA_ONBOARD_KEYCHAIN_SERVICE", self.service)
            .env("ENTRA_ONBOARD_HOME", &f.home)
            .env("HOME", &f.user_home)
            .env("XDG_CONFIG_HOME", &f.config)
            .env("XDG_DATA_HOME", &f.data)
            .env("XDG_CACHE_HOME", &f.cache)
            .env(
                "BROWSER",
                format!(
                    "node {}",
                    Path::new(env!("CARGO_MANIFEST_DIR"))
                        .join("../engine/tests/scripted-browser.mjs")
                        .display()
                ),
            )
            .env_remove("SCRIPTED_BROWSER_CHOICE")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut input = child.stdin.take().unwrap();
        input.write_all(stdin.as_bytes()).await.unwrap();
        drop(input);
        let out = child.wait_with_output().await.unwrap();
        self.printed.extend_from_slice(&out.stdout);
        self.printed.extend_from_slice(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(0),
            "entra-onboard {args:?}:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    async fn sso_test(&mut self, profile: &str, extra: &[&str]) -> Value {
        let mut args = vec!["sso-test", profile, "--format", "json", "--timeout", "60"];
        args.extend_from_slice(extra);
        let out = self.run(&args, "").await;
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(report["ok"], true, "{report:#}");
        report
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_practice_flow_leaves_no_secret_on_disk() {
    require_session_bus();
    let sb = start(SandboxOptions {
        pre_consented: true,
        ..SandboxOptions::default()
    })
    .await
    .expect("the sandbox starts");
    let root = tempfile::tempdir().unwrap();
    let folders = Folders::new(root.path());
    let service = format!(
        "com.entraonboard.test.offdisk.{}",
        uuid::Uuid::new_v4().simple()
    );
    let mut cli = Cli {
        service: &service,
        folders: &folders,
        printed: Vec::new(),
    };

    // A practice profile in the app's own profile folder, where the CLI writes it back.
    let id = uuid::Uuid::new_v4().to_string();
    std::fs::create_dir_all(folders.home.join("profiles")).unwrap();
    let profile = folders.home.join(format!("profiles/{id}.json"));
    let json = serde_json::json!({
        "id": id,
        "name": "Off-disk practice",
        "agent_url": "https://practice.halopsa.com",
        "tenant_id": sb.tenant_id(),
        "client_id": SANDBOX_CLIENT_ID,
        "authority": sb.base_url(),
        "sso_for": "both",
        "features": {"import": true},
    });
    std::fs::write(&profile, json.to_string()).unwrap();
    let ps = profile.to_str().unwrap();

    // The secret: stored, then used by the SSO test from the keychain.
    cli.run(
        &["secret", "set", ps],
        &format!("{SANDBOX_CLIENT_SECRET}\n"),
    )
    .await;
    cli.sso_test(ps, &[]).await;

    // A new certificate, "uploaded" to the sandbox, then the SSO test with its .pfx.
    let out_dir = folders.out.to_str().unwrap().to_string();
    let out = cli
        .run(
            &["cert", "new", ps, "--out", &out_dir, "--format", "json"],
            "",
        )
        .await;
    let created: Value = serde_json::from_slice(&out.stdout).unwrap();
    let pem = created["files"]["pem"].as_str().unwrap().to_string();
    let pfx = created["files"]["pfx"].as_str().unwrap().to_string();
    sb.state()
        .register_certificate(SANDBOX_CLIENT_ID, &std::fs::read(&pem).unwrap())
        .unwrap();
    cli.sso_test(ps, &["--pfx", &pfx]).await;

    // The .pfx password, as the keychain holds it (the engine's own vault API).
    let kc = Keychain::open_with_service(&service).unwrap();
    let password = kc
        .get_certificate_password(&id)
        .unwrap()
        .expect("cert new stored the .pfx password")
        .expose()
        .clone();
    assert!(password.len() >= 16);

    // The same .pfx imported (the password typed on stdin), then a recorded SSO test.
    cli.run(&["cert", "import", ps, &pfx], &format!("{password}\n"))
        .await;
    let report = cli.sso_test(ps, &["--pfx", &pfx, "--record"]).await;
    assert!(
        report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == "credential"
                && c["detail"].as_str().unwrap_or("").contains("certificate")),
        "{report:#}"
    );
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&profile).unwrap()).unwrap();
    assert!(saved["verified"].is_object(), "{saved:#}");

    // Now search: nothing the CLI wrote, nor anything it printed, holds either secret.
    let secrets = [
        ("the client secret", SANDBOX_CLIENT_SECRET),
        ("the .pfx password", password.as_str()),
    ];
    let roots = folders.all();
    let searched = secret_scan::count_files(&roots);
    assert!(
        searched >= 4,
        "only {searched} files to search: the flow wrote less than expected"
    );
    let hits = secret_scan::hits(&roots, &secrets);
    let printed = root.path().join("cli-output.txt");
    std::fs::write(&printed, &cli.printed).unwrap();
    let printed_hits = secret_scan::hits(std::slice::from_ref(&printed), &secrets);
    let _ = kc.delete_all(&id);
    assert!(
        hits.is_empty(),
        "secret bytes on disk after the CLI flow:\n{}",
        hits.join("\n")
    );
    assert!(
        printed_hits.is_empty(),
        "the CLI printed a secret:\n{}",
        printed_hits.join("\n")
    );
}
