//! Admin consent captured end to end (issue 4, step 4 and the step-5 tracker): the CLI
//! opens the consent link with its loopback redirect URI, `$BROWSER` is the scripted
//! browser (crates/engine/tests/scripted-browser.mjs), and the "login host" is a small in-test server that
//! behaves like Entra's `/{tenant}/v2.0/adminconsent` endpoint as Microsoft documents it
//! (https://learn.microsoft.com/entra/identity-platform/v2-admin-consent, "Successful
//! response" / "Error response"): a redirect to `redirect_uri` with
//! `admin_consent=True&tenant=…&scope=…&state=…`, or with
//! `error=…&error_description=AADSTS…&admin_consent=True&state=…`.
//!
//! The server checks what Entra checks of the request (client_id, the loopback
//! redirect_uri, scope `/.default`, a state) and answers per tenant as scripted below.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const CLIENT: &str = "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9";
const HOME: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const OK: &str = "11111111-2222-4333-8444-555555555555";
const FLAKY: &str = "22222222-2222-4333-8444-555555555555"; // fails once, then consents
const SILENT: &str = "33333333-2222-4333-8444-555555555555"; // never redirects
const FORGED: &str = "44444444-2222-4333-8444-555555555555"; // redirects with a wrong state
const CONTOSO_ID: &str = "55555555-2222-4333-8444-555555555555"; // contoso.com's tenant

/// The engine's test assets (the scripted browser).
fn tests_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../engine/tests")
}

/// Starts the fake /adminconsent endpoint on its own thread; returns its port and the
/// requests it saw (tenant, query).
/// The requests the fake endpoint saw: (tenant segment, query).
type Seen = Arc<Mutex<Vec<(String, HashMap<String, String>)>>>;

fn start_entra() -> (u16, Seen) {
    let seen: Seen = Arc::default();
    let log = seen.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap().port()).unwrap();
            let attempts: Arc<Mutex<HashMap<String, u32>>> = Arc::default();
            loop {
                let (mut s, _) = listener.accept().await.unwrap();
                let (log, attempts) = (log.clone(), attempts.clone());
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 16 * 1024];
                    let mut n = 0;
                    while !buf[..n].windows(4).any(|w| w == b"\r\n\r\n") {
                        match s.read(&mut buf[n..]).await {
                            Ok(0) | Err(_) => return,
                            Ok(k) => n += k,
                        }
                    }
                    let head = String::from_utf8_lossy(&buf[..n]).to_string();
                    let target = head.split(' ').nth(1).unwrap_or("/").to_string();
                    let url = url::Url::parse(&format!("http://x{target}")).unwrap();
                    let q: HashMap<String, String> = url.query_pairs().into_owned().collect();
                    let segs: Vec<&str> = url.path().trim_start_matches('/').split('/').collect();
                    let tenant = segs[0].to_string();
                    log.lock().unwrap().push((tenant.clone(), q.clone()));
                    let valid = segs[1..] == ["v2.0", "adminconsent"]
                        && q.get("client_id").map(String::as_str) == Some(CLIENT)
                        && q.get("scope").map(String::as_str)
                            == Some("https://graph.microsoft.com/.default")
                        && q.get("redirect_uri").is_some_and(|r| {
                            r.starts_with("http://localhost:") && r.ends_with("/entra-onboard/callback")
                        })
                        && q.contains_key("state");
                    if !valid {
                        let body = "AADSTS900144: bad request";
                        let _ = s
                            .write_all(format!("HTTP/1.1 400 Bad Request\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()).as_bytes())
                            .await;
                        return;
                    }
                    let attempt = {
                        let mut a = attempts.lock().unwrap();
                        let e = a.entry(tenant.clone()).or_insert(0);
                        *e += 1;
                        *e
                    };
                    let state = q["state"].clone();
                    let scope = "https://graph.microsoft.com/User.Read.All";
                    let answer: Option<Vec<(&str, String)>> = match tenant.as_str() {
                        SILENT => None,
                        FORGED => Some(vec![
                            ("admin_consent", "True".into()),
                            ("tenant", FORGED.into()),
                            ("state", format!("{state}x")),
                        ]),
                        "declined.example.com" => Some(vec![
                            ("error", "access_denied".into()),
                            ("error_description", "AADSTS65004: User declined to consent to access the app.\r\nTrace ID: 0".into()),
                            ("admin_consent", "True".into()),
                            ("state", state),
                        ]),
                        FLAKY if attempt == 1 => Some(vec![
                            ("error", "invalid_request".into()),
                            ("error_description", "AADSTS90094: The grant requires admin permission.".into()),
                            ("admin_consent", "True".into()),
                            ("state", state),
                        ]),
                        t => Some(vec![
                            ("admin_consent", "True".into()),
                            ("tenant", if t == "contoso.com" { CONTOSO_ID.into() } else { t.to_string() }),
                            ("scope", scope.into()),
                            ("state", state),
                        ]),
                    };
                    let response = match answer {
                        None => {
                            let body = "<html><body>Sign in to continue…</body></html>";
                            format!("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len())
                        }
                        Some(fields) => {
                            let mut loc = url::Url::parse(&q["redirect_uri"]).unwrap();
                            {
                                let mut qp = loc.query_pairs_mut();
                                for (k, v) in &fields {
                                    qp.append_pair(k, v);
                                }
                            }
                            format!("HTTP/1.1 302 Found\r\nLocation: {loc}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                        }
                    };
                    let _ = s.write_all(response.as_bytes()).await;
                    let _ = s.shutdown().await;
                });
            }
        });
    });
    (rx.recv().unwrap(), seen)
}

fn write_profile(dir: &Path, port: u16, multi: bool) -> PathBuf {
    let path = dir.join("acme.json");
    let mut json = serde_json::json!({
        "id": "6f1c2f0e-8b9a-4c1d-9e2f-3a4b5c6d7e8f",
        "name": "Acme",
        "agent_url": "https://acme.halopsa.com",
        "tenant_id": HOME,
        "client_id": CLIENT,
        "authority": format!("http://127.0.0.1:{port}"),
        "sso_for": "both",
    });
    if multi {
        json["tenant_type"] = "multi".into();
        json["features"] = serde_json::json!({"csp": true});
    }
    std::fs::write(&path, json.to_string()).unwrap();
    path
}

fn cli(args: &[&str], stdin: &str) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_entra-onboard"))
        .args(args)
        .env(
            "BROWSER",
            format!(
                "node {}",
                tests_dir().join("scripted-browser.mjs").display()
            ),
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

fn json(s: &str) -> serde_json::Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("not JSON ({e}): {s}"))
}

fn read(path: &Path) -> serde_json::Value {
    json(&std::fs::read_to_string(path).unwrap())
}

#[test]
fn the_home_tenant_consent_is_captured_and_recorded() {
    let (port, seen) = start_entra();
    let dir = tempfile::tempdir().unwrap();
    let mut p = write_profile(dir.path(), port, false);
    // the home tenant consents: this single-tenant profile's link names HOME
    let (code, out, err) = cli(
        &[
            "consent",
            p.to_str().unwrap(),
            "--capture",
            "--format",
            "json",
            "--timeout",
            "20",
        ],
        "",
    );
    assert_eq!(code, 0, "{out}\n{err}");
    let o = json(&out);
    assert_eq!(o["status"], "consented");
    assert_eq!(o["tenantId"], HOME);
    let profile = read(&p);
    assert_eq!(profile["admin_consent"]["status"], "consented");
    assert_eq!(profile["admin_consent"]["tenant_id"], HOME);
    assert!(profile["admin_consent"]["at"].is_string());
    let (tenant, q) = seen.lock().unwrap()[0].clone();
    assert_eq!(tenant, HOME);
    assert_eq!(
        q["state"].len(),
        43,
        "a fresh 256-bit state, not the link's fixed one"
    );

    // a forged answer (wrong state) is refused and the wait runs out: still pending
    p = write_profile(dir.path(), port, false);
    let (code, out, err) = cli(
        &[
            "consent",
            p.to_str().unwrap(),
            "--capture",
            "--tenant",
            FORGED,
            "--timeout",
            "3",
        ],
        "",
    );
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(out.contains("No answer"), "{out}");
    assert!(
        err.contains("wrong state"),
        "the refusal is reported: {err}"
    );
    assert!(read(&p)["admin_consent"].is_null());
}

#[test]
fn the_customer_tracker_consents_retries_and_allows() {
    let (port, _) = start_entra();
    let dir = tempfile::tempdir().unwrap();
    let p = write_profile(dir.path(), port, true);
    let ps = p.to_str().unwrap();
    let csv = dir.path().join("customers.csv");
    std::fs::write(
        &csv,
        format!(
            "Tenant ID,Name\r\n{OK},Okay Ltd\r\n{FLAKY},Flaky plc\r\ndeclined.example.com,Declines Inc\r\ncontoso.com,Contoso\r\nnot-a-tenant,Bad\r\n{OK},Dup\r\n"
        ),
    )
    .unwrap();
    let (code, out, _) = cli(&["tenants", "import", ps, csv.to_str().unwrap()], "");
    assert_eq!(code, 1, "a row was refused: {out}");
    assert!(
        out.contains("line 6: 'not-a-tenant' is not a tenant ID"),
        "{out}"
    );
    assert!(
        out.contains(&format!("line 7: {OK} is already on line 2")),
        "{out}"
    );
    // a second, pasted list: semicolon-separated, nothing new
    let (code, out, _) = cli(
        &["tenants", "import", ps, "-", "--format", "json"],
        "declined.example.com;Declines Inc\ncontoso.com;Contoso\n",
    );
    assert_eq!(code, 0, "{out}");
    let v = json(&out);
    assert_eq!(
        (v["tracked"].as_u64(), v["merge"]["added"].as_u64()),
        (Some(4), Some(0))
    );

    let (code, out, err) = cli(
        &[
            "tenants",
            "consent",
            ps,
            "--pending",
            "--format",
            "json",
            "--timeout",
            "20",
        ],
        "",
    );
    assert_eq!(code, 1, "not all consented: {out}\n{err}");
    let results = json(&out);
    let status: Vec<(&str, &str)> = results
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["tenant"].as_str().unwrap(),
                r["outcome"]["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        status,
        [
            (OK, "consented"),
            (FLAKY, "failed"),
            ("declined.example.com", "declined"),
            ("contoso.com", "consented")
        ]
    );
    let profile = read(&p);
    let rows = profile["customer_tenants"].as_array().unwrap();
    assert_eq!(rows[1]["consent"]["aadsts"], 90094);
    assert!(
        rows[1]["consent"]["hint"]
            .as_str()
            .unwrap()
            .contains("admin")
    );
    assert_eq!(rows[2]["consent"]["aadsts"], 65004);
    assert_eq!(rows[3]["consent"]["tenant_id"], CONTOSO_ID);

    // retry the failed and declined ones: FLAKY consents now, the decline stays
    let (code, out, _) = cli(
        &[
            "tenants",
            "consent",
            ps,
            "--failed",
            "--format",
            "json",
            "--timeout",
            "20",
        ],
        "",
    );
    assert_eq!(code, 1, "{out}");
    let rows = read(&p)["customer_tenants"].clone();
    assert_eq!(rows[1]["consent"]["status"], "consented");
    assert!(
        rows[1]["consent"]["aadsts"].is_null(),
        "the old failure is replaced"
    );
    assert_eq!(rows[2]["consent"]["status"], "declined");

    // consented tenants into allowed_tenants, the domain one through the captured GUID
    let (code, out, _) = cli(&["tenants", "allow", ps, "--format", "json"], "");
    assert_eq!(code, 0, "{out}");
    let s = json(&out);
    assert_eq!(s["added"], serde_json::json!([OK, FLAKY, CONTOSO_ID]));
    assert_eq!(
        s["from_consent_redirect"],
        serde_json::Value::Null,
        "camelCase: {s}"
    );
    assert_eq!(s["fromConsentRedirect"], serde_json::json!([CONTOSO_ID]));
    assert_eq!(
        read(&p)["allowed_tenants"],
        serde_json::json!([OK, FLAKY, CONTOSO_ID])
    );

    // the export names each status, and the list has a link per tenant
    let out_csv = dir.path().join("out.csv");
    let (code, _, _) = cli(
        &[
            "tenants",
            "export",
            ps,
            "--output",
            out_csv.to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(code, 0);
    let text = std::fs::read_to_string(&out_csv).unwrap();
    assert!(
        text.contains("declined.example.com,Declines Inc,declined,,AADSTS65004,"),
        "{text}"
    );
    let (_, out, _) = cli(&["tenants", "list", ps, "--format", "json"], "");
    let t = json(&out);
    assert_eq!(t["counts"]["consented"], 3);
    assert!(t["rows"].as_array().unwrap().iter().all(|r| {
        r["consentUrl"]
            .as_str()
            .unwrap()
            .contains("/v2.0/adminconsent?client_id=")
    }));
}

#[test]
fn no_answer_leaves_the_tenant_pending() {
    let (port, _) = start_entra();
    let dir = tempfile::tempdir().unwrap();
    let p = write_profile(dir.path(), port, true);
    let ps = p.to_str().unwrap();
    let (code, _, _) = cli(&["tenants", "import", ps, "-"], &format!("{SILENT}\n"));
    assert_eq!(code, 0);
    let (code, out, _) = cli(
        &[
            "tenants",
            "consent",
            ps,
            "--tenant",
            SILENT,
            "--format",
            "json",
            "--timeout",
            "2",
        ],
        "",
    );
    assert_eq!(code, 1, "{out}");
    assert_eq!(json(&out)[0]["error"]["code"], "loopback.timeout");
    assert_eq!(
        read(&p)["customer_tenants"][0]["consent"]["status"],
        "pending"
    );
    // a tenant that is not tracked is bad input
    let (code, _, err) = cli(&["tenants", "consent", ps, "--tenant", OK], "");
    assert_eq!(code, 2);
    assert!(err.contains("tenants import"), "{err}");
}
