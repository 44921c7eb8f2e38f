//! Every file the CLI reads is a regular file read with a cap (issue 11, point 3): a
//! device, a FIFO or an oversized file given where a profile, an export, a CSV or a
//! certificate belongs is refused at once with exit 2 and a message that names the file,
//! what it is and what to do — instead of reading until memory runs out (or, for a FIFO,
//! waiting forever). No keychain and no network: every case stops before either.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

fn cli(args: &[&str], home: &Path, stdin: &[u8]) -> (i32, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_entra-onboard"))
        .args(args)
        .env("ENTRA_ONBOARD_HOME", home)
        .env(
            "ENTRA_ONBOARD_KEYCHAIN_SERVICE",
            "com.entraonboard.test.cli-bounded",
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let stdin = stdin.to_vec();
    // A writer thread: the binary may stop reading (and exit) before all of it is written.
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&stdin);
    });
    let out = child.wait_with_output().unwrap();
    let _ = writer.join();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

fn profile(dir: &Path) -> String {
    let path = dir.join("acme.json");
    std::fs::write(
        &path,
        serde_json::json!({
            "id": "6f1c2f0e-8b9a-4c1d-9e2f-3a4b5c6d7e8f",
            "name": "Acme",
            "agent_url": "https://acme.halopsa.com",
            "tenant_id": "72f988bf-86f1-41af-91ab-2d7cd011db47",
            "client_id": "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9",
        })
        .to_string(),
    )
    .unwrap();
    path.display().to_string()
}

#[cfg(unix)]
fn assert_refused_device(args: &[&str], what: &str) {
    let dir = tempfile::tempdir().unwrap();
    let (code, err) = cli(args, dir.path(), b"");
    assert_eq!(code, 2, "{args:?}: {err}");
    assert!(
        err.contains("/dev/zero is a character device, not a regular file"),
        "{args:?}: {err}"
    );
    assert!(err.contains(what), "{args:?} should name {what}: {err}");
    assert!(err.contains("save it to a file"), "{args:?}: {err}");
}

#[cfg(unix)]
#[test]
fn plan_of_dev_zero_exits_2_with_a_clear_message() {
    assert_refused_device(&["plan", "/dev/zero"], "a profile");
}

#[cfg(unix)]
#[test]
fn tenants_import_of_dev_zero_exits_2_and_leaves_the_profile() {
    let dir = tempfile::tempdir().unwrap();
    let p = profile(dir.path());
    let before = std::fs::read(&p).unwrap();
    assert_refused_device(
        &["tenants", "import", &p, "/dev/zero"],
        "a customer-tenant CSV",
    );
    assert_eq!(std::fs::read(&p).unwrap(), before);
}

#[cfg(unix)]
#[test]
fn every_other_file_argument_refuses_a_device() {
    let dir = tempfile::tempdir().unwrap();
    let p = profile(dir.path());
    assert_refused_device(&["profiles", "--import", "/dev/zero"], "a profile export");
    assert_refused_device(&["cert", "import", &p, "/dev/zero"], "a .pfx certificate");
    assert_refused_device(
        &["sso-test", &p, "--pfx", "/dev/zero"],
        "a .pfx certificate",
    );
    assert_refused_device(
        &["sso-test", &p, "--cert", "/dev/zero", "--key", &p],
        "a PEM certificate",
    );
    assert_refused_device(
        &["sso-test", &p, "--cert", &p, "--key", "/dev/zero"],
        "a PEM private key",
    );
    assert_refused_device(
        &["sync-preview", &p, "--existing", "/dev/zero"],
        "a Halo users CSV",
    );
    assert_refused_device(&["report", "/dev/zero"], "a profile");
}

#[cfg(unix)]
#[test]
fn a_fifo_as_the_profile_is_refused_instead_of_waiting_for_a_writer() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("profile.json");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let (code, err) = cli(&["plan", &fifo.display().to_string()], dir.path(), b"");
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("named pipe (FIFO), not a regular file"),
        "{err}"
    );
}

#[test]
fn an_oversized_csv_is_refused_by_what_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let p = profile(dir.path());
    // A sparse file one byte over the cap.
    let big = dir.path().join("customers.csv");
    let f = std::fs::File::create(&big).unwrap();
    f.set_len(entra_onboard_engine::bounded::MAX_TENANT_CSV_BYTES + 1)
        .unwrap();
    let (code, err) = cli(
        &["tenants", "import", &p, &big.display().to_string()],
        dir.path(),
        b"",
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("customers.csv is larger than 4 MiB") && err.contains("right file"),
        "{err}"
    );
    // The same cap on standard input (`-`).
    let piped = vec![b'a'; entra_onboard_engine::bounded::MAX_TENANT_CSV_BYTES as usize + 1];
    let (code, err) = cli(&["tenants", "import", &p, "-"], dir.path(), &piped);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("standard input is larger than 4 MiB"), "{err}");
}

#[test]
fn an_endless_secret_line_on_stdin_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let p = profile(dir.path());
    let endless = vec![b's'; 200 * 1024];
    let (code, err) = cli(&["sso-test", &p, "--secret-stdin"], dir.path(), &endless);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("--secret-stdin: standard input is larger than 64 KiB"),
        "{err}"
    );
}

/// Issue 17: a network-share or device path is refused before it is opened (opening a UNC
/// path makes Windows authenticate to that host), and a file is never written under a name
/// Windows reserves for a device. The rules are the same on every platform, so they are
/// tested here on Linux.
#[test]
fn network_share_device_and_reserved_paths_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let p = profile(dir.path());
    for (args, shown) in [
        (
            vec!["cert", "import", &p, r"\\attacker.example\share\cert.pfx"],
            "network share (UNC)",
        ),
        (
            vec!["sso-test", &p, "--pfx", r"\\?\C:\certs\cert.pfx"],
            "device path",
        ),
        (vec!["plan", r"\\.\PhysicalDrive0"], "device path"),
    ] {
        let (code, err) = cli(&args, dir.path(), b"");
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(shown), "{args:?}: {err}");
    }
    let out = dir.path().join("CON.ps1");
    let (code, err) = cli(
        &["script", &p, "--output", &out.display().to_string()],
        dir.path(),
        b"",
    );
    assert_ne!(code, 0, "{err}");
    assert!(
        err.contains("reserves for a device") && err.contains("file-CON.ps1"),
        "{err}"
    );
    assert!(!out.exists(), "nothing is written under a reserved name");
    let out = dir.path().join("report.html:hidden");
    let (code, err) = cli(
        &["report", &p, "--output", &out.display().to_string()],
        dir.path(),
        b"",
    );
    assert_ne!(code, 0, "{err}");
    assert!(err.contains("hidden data stream"), "{err}");
}
