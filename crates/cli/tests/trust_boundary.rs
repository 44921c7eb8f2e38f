//! The trust boundary, from the outside: a profile whose `authority` is not the cloud's
//! Microsoft login host (or a practice provider at exactly http://127.0.0.1:<port>,
//! localhost or [::1]) is refused by every command *before* any connection, browser
//! launch or printed link. Hostile hosts here are real listeners on this machine (other
//! loopback addresses, https on loopback, userinfo tricks) that count every connection: the
//! count must stay zero. Look-alike DNS names cannot resolve here, so for those the refusal
//! itself is checked.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_entra-onboard");

/// A TCP listener that counts connections until dropped.
struct Trap {
    port: u16,
    hits: Arc<AtomicUsize>,
}

impl Trap {
    fn on(ip: &str) -> Trap {
        let l = TcpListener::bind((ip, 0)).expect("bind a trap listener");
        l.set_nonblocking(true).unwrap();
        let port = l.local_addr().unwrap().port();
        let hits = Arc::new(AtomicUsize::new(0));
        let h = hits.clone();
        std::thread::spawn(move || {
            // Bounded: the test binary ends long before this loop would.
            for _ in 0..6_000 {
                if let Ok((_s, _)) = l.accept() {
                    h.fetch_add(1, Ordering::SeqCst);
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        });
        Trap { port, hits }
    }

    fn hits(&self) -> usize {
        // Give a late connection the chance to be counted.
        std::thread::sleep(Duration::from_millis(50));
        self.hits.load(Ordering::SeqCst)
    }
}

fn profile(dir: &Path, authority: &str, extra: serde_json::Value) -> String {
    let mut p = serde_json::json!({
        "id": "3f0d3c1e-0000-4000-8000-0000000000aa",
        "name": "Acme",
        "tenant_id": "72f988bf-86f1-41af-91ab-2d7cd011db47",
        "client_id": "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9",
        "agent_url": "https://acme.halopsa.com",
        "sso_for": "both",
        "authority": authority,
        "features": {"import": true},
        "sync": {"technician_groups": ["Halo Agents"], "field_mappings": [{"entra": "mail", "halo": "Email"}]}
    });
    if let (Some(o), Some(e)) = (p.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            o.insert(k.clone(), v.clone());
        }
    }
    let path = dir.join("acme.json");
    std::fs::write(&path, p.to_string()).unwrap();
    path.display().to_string()
}

/// Runs the CLI with a recording "browser" and `stdin`.
fn run(args: &[&str], dir: &Path, stdin: &str) -> Output {
    let opened = dir.join("browser-opened");
    let mut child = Command::new(BIN)
        .args(args)
        .env("ENTRA_ONBOARD_HOME", dir.join("home"))
        .env("BROWSER", format!("touch {}", opened.display()))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run entra-onboard");
    use std::io::Write as _;
    let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    child.wait_with_output().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Every command that could reach the authority, each refused with exit 2 and nothing
/// opened, printed or sent.
fn assert_every_command_refuses(authority: &str, trap: Option<&Trap>) {
    let dir = tempfile::tempdir().unwrap();
    let f = profile(dir.path(), authority, serde_json::json!({}));
    let secret = "k7Q8Q~abcdefghijklmnopqrstuvwxyz0123456\n";
    let commands: Vec<(Vec<&str>, &str)> = vec![
        (vec!["consent", &f], ""),
        (vec!["consent", &f, "--open"], ""),
        (vec!["consent", &f, "--capture", "--timeout", "2"], ""),
        (
            vec!["sso-test", &f, "--secret-stdin", "--timeout", "2"],
            secret,
        ),
        (vec!["sync-preview", &f, "--secret-stdin"], secret),
        (vec!["sync-preview", &f, "--token-stdin"], "eyJ0.eyJ0.sig\n"),
        (vec!["apply", &f, "--timeout", "2"], ""),
        (vec!["doctor", &f, "--timeout", "2"], ""),
        (vec!["doctor", &f, "--token-stdin"], "eyJ0.eyJ0.sig\n"),
    ];
    for (args, stdin) in commands {
        let out = run(&args, dir.path(), stdin);
        let all = text(&out);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{authority}: `{}` must refuse\n{all}",
            args.join(" ")
        );
        assert!(
            all.contains("authority"),
            "{authority}: `{}` names the field\n{all}",
            args.join(" ")
        );
        assert!(
            !String::from_utf8_lossy(&out.stdout).contains("adminconsent"),
            "{authority}: `{}` printed a link\n{all}",
            args.join(" ")
        );
        assert!(
            !dir.path().join("browser-opened").exists(),
            "{authority}: `{}` opened the browser",
            args.join(" ")
        );
        if let Some(t) = trap {
            assert_eq!(
                t.hits(),
                0,
                "{authority}: `{}` connected to the hostile host",
                args.join(" ")
            );
        }
    }
    // The plan says why, as an error on the field.
    let out = run(&["plan", &f, "--format", "json"], dir.path(), "");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(plan["consent"].is_null(), "no consent link in the plan");
    let issue = plan["issues"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["field"] == "authority")
        .unwrap_or_else(|| panic!("{authority}: no authority issue"));
    assert_eq!(issue["severity"], "error", "{authority}");
    assert!(
        issue["fix"].as_str().unwrap().contains("empty"),
        "the fix says what to do"
    );
}

#[test]
fn look_alike_microsoft_hosts_are_refused_everywhere() {
    for a in [
        "https://login.microsoftonline.com.evil.example",
        "https://login.microsoftonline.com@evil.example",
        "https://evil.example",
        "https://login.microsoftonline.us",
        "https://20.190.151.68",
    ] {
        assert_every_command_refuses(a, None);
    }
}

#[test]
fn other_loopback_spellings_get_no_connection() {
    let other = Trap::on("127.0.0.2");
    assert_every_command_refuses(&format!("http://127.0.0.2:{}", other.port), Some(&other));
    let local = Trap::on("127.0.0.1");
    for a in [
        format!("https://127.0.0.1:{}", local.port),
        format!("http://admin@127.0.0.1:{}", local.port),
        format!("http://127.0.0.1:{}/common", local.port),
        format!("http://127.1:{}", local.port),
    ] {
        assert_every_command_refuses(&a, Some(&local));
    }
}

#[test]
fn a_practice_authority_is_allowed_and_labelled() {
    let dir = tempfile::tempdir().unwrap();
    let f = profile(dir.path(), "http://127.0.0.1:8400", serde_json::json!({}));
    let out = run(&["consent", &f], dir.path(), "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let link = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let u = url::Url::parse(&link).unwrap();
    assert_eq!(u.origin().ascii_serialization(), "http://127.0.0.1:8400");
    assert_eq!(
        u.path(),
        "/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0/adminconsent"
    );
}

#[test]
fn a_customer_tenant_cannot_smuggle_parameters_into_a_link() {
    let dir = tempfile::tempdir().unwrap();
    let hostile = "common/oauth2/v2.0/authorize?client_id=x&redirect_uri=https://evil.example/&y=";
    let f = profile(
        dir.path(),
        "",
        serde_json::json!({
            "tenant_type": "multi",
            "features": {"csp": true},
            "customer_tenants": [
                {"tenant": hostile, "consent": {"status": "pending"}},
                {"tenant": "contoso.onmicrosoft.com", "consent": {"status": "pending"}}
            ]
        }),
    );
    let out = run(&["tenants", "list", &f, "--format", "json"], dir.path(), "");
    let all = text(&out);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("tenants list JSON: {e}\n{all}"));
    let rows = v["rows"].as_array().unwrap();
    for r in rows {
        if let Some(link) = r["consentUrl"].as_str() {
            let u = url::Url::parse(link).unwrap();
            assert!(u.path().ends_with("/v2.0/adminconsent"), "{link}");
            assert_eq!(u.path_segments().unwrap().count(), 3, "{link}");
            for name in ["client_id", "scope", "redirect_uri", "state"] {
                assert_eq!(
                    u.query_pairs().filter(|(k, _)| k == name).count(),
                    1,
                    "{name} in {link}"
                );
            }
            assert!(!link.contains("evil.example"), "{link}");
        }
    }
    assert!(
        rows.iter().any(|r| r["consentUrl"]
            .as_str()
            .is_some_and(|l| l.contains("/contoso.onmicrosoft.com/"))),
        "the good row keeps its link: {all}"
    );
    let csv = dir.path().join("t.csv");
    let out = run(
        &["tenants", "export", &f, "--output", csv.to_str().unwrap()],
        dir.path(),
        "",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let exported = std::fs::read_to_string(&csv).unwrap();
    for line in exported.lines().filter(|l| l.contains("adminconsent")) {
        assert!(!line.contains("client_id=x"), "{line}");
    }
    assert_eq!(
        exported
            .lines()
            .filter(|l| l.contains("adminconsent"))
            .count(),
        1,
        "only the good row has a link: {exported}"
    );
}
