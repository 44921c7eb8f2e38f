//! The sandbox tenant's identity provider (crates/sandbox): the SSO test passes
//! against it, unchanged, with the demo secret (MFA and password-only users) and with a
//! certificate; its errors are Entra's (AADSTS7000215, 700027, 700054, 50011, 65004…);
//! admin consent answers like Entra; the delegated public-client flow works. (The CLI
//! against it: crates/cli/tests/sandbox_cli.rs.)
//!
//! The browser is crates/engine/tests/scripted-browser.mjs (needs `node`), which follows redirects,
//! clicks the first named button of the sandbox's pages (or the one named by
//! `SCRIPTED_BROWSER_CHOICE`) and auto-submits form_post pages.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use entra_onboard_engine::browser::BrowserError;
use entra_onboard_engine::ids::Sensitive;
use entra_onboard_engine::profile::Profile;
use entra_onboard_engine::sso_test::{
    self, CancellationToken, ClientCredential, Mfa, SsoReport, SsoTestOptions,
};
use entra_onboard_sandbox::idp::{
    DEMO_USERS, SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, SANDBOX_HEADER, SANDBOX_PUBLIC_CLIENT_ID,
    SANDBOX_REQUIRED_ROLES, SANDBOX_SECRET_ID, SANDBOX_SP_OBJECT_ID, SANDBOX_TENANT_ID,
    SandboxOptions,
};
use entra_onboard_sandbox::{SandboxHandle, is_sandbox_authority, start};
use serde_json::{Value, json};
use url::Url;

fn tests_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests")
}

async fn sandbox(consented: bool) -> SandboxHandle {
    start(SandboxOptions {
        pre_consented: consented,
        ..SandboxOptions::default()
    })
    .await
    .expect("the sandbox starts")
}

fn profile(base: &str, extra: Value) -> Profile {
    let mut p = json!({
        "name": "Sandbox practice",
        "agent_url": "https://acme.halopsa.com",
        "tenant_id": SANDBOX_TENANT_ID,
        "client_id": SANDBOX_CLIENT_ID,
        "authority": base,
        "sso_for": "both",
        "features": {"import": true},
    });
    for (k, v) in extra.as_object().unwrap() {
        p[k] = v.clone();
    }
    Profile::from_json(&p.to_string()).expect("a valid profile")
}

/// Opens the URL with the scripted browser, choosing `choice` on the sandbox's pages.
fn options(choice: Option<&str>) -> SsoTestOptions {
    let choice = choice.map(str::to_string);
    SsoTestOptions {
        timeout: Duration::from_secs(30),
        open_browser: Arc::new(move |url: &entra_onboard_engine::target::Endpoint| {
            let mut cmd = std::process::Command::new("node");
            cmd.arg(tests_dir().join("scripted-browser.mjs"))
                .arg(url.as_str())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            match &choice {
                Some(c) => cmd.env("SCRIPTED_BROWSER_CHOICE", c),
                None => cmd.env_remove("SCRIPTED_BROWSER_CHOICE"),
            };
            let mut child = cmd
                .spawn()
                .map_err(|e| BrowserError::Launch(format!("node: {e}")))?;
            std::thread::spawn(move || child.wait());
            Ok(())
        }),
        ..SsoTestOptions::default()
    }
}

fn secret(s: &str) -> ClientCredential {
    ClientCredential::Secret(Sensitive::new(s.to_string()))
}

async fn run(p: &Profile, c: &ClientCredential, choice: Option<&str>) -> SsoReport {
    sso_test::run(p, c, &options(choice), &CancellationToken::new())
        .await
        .expect("the test can start")
}

fn check_ids(r: &SsoReport) -> Vec<(&str, bool)> {
    r.checks.iter().map(|c| (c.id.as_str(), c.ok)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sso_test_passes_with_the_demo_secret_for_both_demo_users() {
    let sb = sandbox(true).await;
    let p = profile(sb.base_url(), json!({}));

    let r = run(&p, &secret(SANDBOX_CLIENT_SECRET), None).await;
    assert!(r.ok, "{r:#?}");
    assert_eq!(
        check_ids(&r),
        [
            ("discovery", true),
            ("callback", true),
            ("id_token", true),
            ("credential", true),
            ("token_id_token", true),
            ("consent", true)
        ]
    );
    let c = r.claims.as_ref().unwrap();
    assert_eq!(
        c.preferred_username.as_deref(),
        Some(DEMO_USERS[0].username)
    );
    assert_eq!(c.tid, SANDBOX_TENANT_ID);
    assert_eq!(c.mfa, Mfa::Yes);
    assert_eq!(c.roles, SANDBOX_REQUIRED_ROLES);
    assert!(r.verification().is_some());

    let r = run(
        &p,
        &secret(SANDBOX_CLIENT_SECRET),
        Some(DEMO_USERS[1].username),
    )
    .await;
    assert!(r.ok, "{r:#?}");
    let c = r.claims.as_ref().unwrap();
    assert_eq!(
        c.preferred_username.as_deref(),
        Some(DEMO_USERS[1].username)
    );
    assert_eq!(c.amr.as_deref(), Some(&["pwd".to_string()][..]));
    assert_eq!(c.mfa, Mfa::No);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sso_test_passes_for_a_multi_tenant_profile_through_organizations() {
    let sb = sandbox(true).await;
    let p = profile(
        sb.base_url(),
        json!({"tenant_type": "multi", "allowed_tenants": [SANDBOX_TENANT_ID]}),
    );
    let r = run(&p, &secret(SANDBOX_CLIENT_SECRET), None).await;
    assert!(r.ok, "{r:#?}");
    assert!(
        r.checks[0].detail.contains("{tenantid}"),
        "{:?}",
        r.checks[0]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unregistered_certificate_is_refused_with_aadsts700027() {
    let sb = sandbox(true).await;
    let p = profile(sb.base_url(), json!({}));
    let cred = ClientCredential::certificate_from_pem(
        &std::fs::read_to_string(tests_dir().join("fixtures/client-cert.pem")).unwrap(),
        Sensitive::new(
            std::fs::read_to_string(tests_dir().join("fixtures/client-key.pem")).unwrap(),
        ),
    )
    .unwrap();
    let r = run(&p, &cred, None).await;
    assert!(!r.ok);
    let e = r.error.as_ref().unwrap();
    assert_eq!(e.code, "AADSTS700027", "{e:#?}");
    assert_eq!(
        r.checks.last().map(|c| (c.id.as_str(), c.ok)),
        Some(("credential", false))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_secret_or_the_secret_id_gives_aadsts7000215() {
    let sb = sandbox(true).await;
    let p = profile(sb.base_url(), json!({}));
    for wrong in [
        "SANDBOX~a-wrong-secret-value_000000000000",
        SANDBOX_SECRET_ID,
    ] {
        let r = run(&p, &secret(wrong), None).await;
        assert!(!r.ok);
        assert_eq!(
            check_ids(&r),
            [
                ("discovery", true),
                ("callback", true),
                ("id_token", true),
                ("credential", false)
            ],
            "the sign-in itself works"
        );
        let e = r.error.as_ref().unwrap();
        assert_eq!(e.code, "AADSTS7000215");
        assert_eq!(e.step, Some(3));
        assert!(e.message.contains("not the client secret ID"), "{e:#?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn id_tokens_not_enabled_gives_aadsts700054_in_the_form_post() {
    let sb = sandbox(true).await;
    sb.state()
        .set_id_tokens_enabled(SANDBOX_CLIENT_ID, false)
        .unwrap();
    let p = profile(sb.base_url(), json!({}));
    let r = run(&p, &secret(SANDBOX_CLIENT_SECRET), None).await;
    let e = r.error.as_ref().unwrap();
    assert_eq!(e.code, "AADSTS700054", "{r:#?}");
    assert_eq!(e.step, Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_admin_consent_sign_in_is_aadsts65001_and_without_app_roles_the_token_has_none() {
    let sb = sandbox(false).await;
    let p = profile(sb.base_url(), json!({}));
    let r = run(&p, &secret(SANDBOX_CLIENT_SECRET), None).await;
    assert!(!r.ok);
    assert_eq!(r.error.as_ref().unwrap().code, "AADSTS65001", "{r:#?}");
    assert_eq!(r.error.as_ref().unwrap().step, Some(4));

    // Delegated consent only, through the Graph side of the same registry: the sign-in
    // works, the app-only token has no roles.
    sb.graph()
        .insert_grant(SANDBOX_SP_OBJECT_ID, "openid profile email");
    let r = run(&p, &secret(SANDBOX_CLIENT_SECRET), None).await;
    assert!(!r.ok);
    assert_eq!(r.error.as_ref().unwrap().code, "consent.no_roles", "{r:#?}");
    assert_eq!(r.error.as_ref().unwrap().step, Some(4));
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .unwrap()
}

fn query_of(location: &str) -> Vec<(String, String)> {
    Url::parse(location)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

fn get<'a>(q: &'a [(String, String)], k: &str) -> Option<&'a str> {
    q.iter().find(|(a, _)| a == k).map(|(_, v)| v.as_str())
}

fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).expect("the hidden field") + marker.len();
    html[start..start + html[start..].find('"').unwrap()].to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unregistered_redirect_uri_gets_the_aadsts50011_page_not_a_redirect() {
    let sb = sandbox(false).await;
    let h = http();
    let bad = "http://localhost:5123/wrong/callback";
    for path in ["oauth2/v2.0/authorize", "v2.0/adminconsent"] {
        let mut u = Url::parse(&format!("{}/{SANDBOX_TENANT_ID}/{path}", sb.base_url())).unwrap();
        u.query_pairs_mut()
            .append_pair("client_id", SANDBOX_CLIENT_ID)
            .append_pair("response_type", "code id_token")
            .append_pair("response_mode", "form_post")
            .append_pair("redirect_uri", bad)
            .append_pair("scope", "openid")
            .append_pair("state", "s")
            .append_pair("nonce", "n");
        let res = h.get(u).send().await.unwrap();
        assert_eq!(res.status(), 400);
        assert!(res.headers().get("location").is_none());
        assert!(res.headers().get(SANDBOX_HEADER).is_some());
        let body = res.text().await.unwrap();
        assert!(body.contains("SANDBOX"));
        // The page's text (maud leaves `'` unescaped in text; `<`, `>`, `&`, `"` are escaped).
        assert!(
            body.contains(&format!("AADSTS50011: The redirect URI '{bad}' specified in the request does not match the redirect URIs configured for the application '{SANDBOX_CLIENT_ID}'")),
            "{body}"
        );
    }
    // What the wizard's catalogue makes of Entra's text (quoted URI, plan's URI, step 2).
    let text = format!(
        "AADSTS50011: The redirect URI '{bad}' specified in the request does not match the redirect URIs configured for the application '{SANDBOX_CLIENT_ID}'."
    );
    let e = sso_test::report::explain_oauth("invalid_request", &text, &[]);
    assert_eq!(e.code, "AADSTS50011");
    assert!(e.message.contains(bad));
    // The registered URI on any port is accepted.
    let mut u = Url::parse(&format!(
        "{}/{SANDBOX_TENANT_ID}/v2.0/adminconsent",
        sb.base_url()
    ))
    .unwrap();
    u.query_pairs_mut()
        .append_pair("client_id", SANDBOX_CLIENT_ID)
        .append_pair(
            "redirect_uri",
            "http://localhost:40123/entra-onboard/callback",
        )
        .append_pair("scope", "https://graph.microsoft.com/.default");
    assert_eq!(h.get(u).send().await.unwrap().status(), 200);
}

/// Follows the sandbox's post/redirect/get to the final redirect to the app.
async fn decide(
    h: &reqwest::Client,
    base: &str,
    page: &str,
    path: &str,
    field: &str,
    value: &str,
) -> String {
    let txn = hidden(page, "txn");
    let res = h
        .post(format!("{base}{path}"))
        .form(&[("txn", txn.as_str()), (field, value)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let next = res.headers()["location"].to_str().unwrap().to_string();
    let res = h.get(format!("{base}{next}")).send().await.unwrap();
    assert_eq!(res.status(), 302);
    let location = res.headers()["location"].to_str().unwrap().to_string();
    // The stored answer is given once.
    let again = h.get(format!("{base}{next}")).send().await.unwrap();
    assert_eq!(again.status(), 400);
    location
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_consent_accept_and_cancel_redirect_like_entra() {
    let sb = sandbox(false).await;
    let h = http();
    let base = sb.base_url().to_string();
    let redirect = "http://localhost:47001/entra-onboard/callback";
    let consent_page = |state: &'static str| {
        let mut u = Url::parse(&format!("{base}/organizations/v2.0/adminconsent")).unwrap();
        u.query_pairs_mut()
            .append_pair("client_id", SANDBOX_CLIENT_ID)
            .append_pair("scope", "https://graph.microsoft.com/.default")
            .append_pair("redirect_uri", redirect)
            .append_pair("state", state);
        let h = h.clone();
        async move { h.get(u).send().await.unwrap().text().await.unwrap() }
    };

    let page = consent_page("st-cancel").await;
    assert!(page.contains("SANDBOX") && page.contains("User.Read.All"));
    let loc = decide(&h, &base, &page, "/sandbox/consent", "decision", "cancel").await;
    assert!(loc.starts_with(redirect));
    let q = query_of(&loc);
    assert_eq!(get(&q, "error"), Some("access_denied"));
    assert_eq!(get(&q, "error_subcodes"), Some("cancel"));
    assert_eq!(
        get(&q, "admin_consent"),
        Some("True"),
        "Entra sends it with the error too"
    );
    assert_eq!(get(&q, "state"), Some("st-cancel"));
    let desc = get(&q, "error_description").unwrap();
    assert!(
        desc.starts_with("AADSTS65004: User declined to consent"),
        "{desc}"
    );
    assert!(desc.contains("Trace ID: ") && desc.contains("Correlation ID: "));
    assert_eq!(
        sso_test::report::explain_oauth("access_denied", desc, &[]).code,
        "AADSTS65004"
    );
    assert!(
        sb.state()
            .granted_roles(SANDBOX_CLIENT_ID)
            .unwrap()
            .is_empty()
    );

    let page = consent_page("st-accept").await;
    let loc = decide(&h, &base, &page, "/sandbox/consent", "decision", "accept").await;
    let q = query_of(&loc);
    assert_eq!(get(&q, "error"), None);
    assert_eq!(get(&q, "admin_consent"), Some("True"));
    assert_eq!(get(&q, "tenant"), Some(SANDBOX_TENANT_ID));
    assert_eq!(get(&q, "state"), Some("st-accept"));
    assert_eq!(
        get(&q, "scope"),
        Some("https://graph.microsoft.com/.default")
    );
    assert_eq!(
        sb.state().granted_roles(SANDBOX_CLIENT_ID).unwrap(),
        SANDBOX_REQUIRED_ROLES
    );
    assert_eq!(sb.info().apps[0].granted_roles, SANDBOX_REQUIRED_ROLES);
    assert!(sb.info().apps[0].consented, "delegated consent too");
}

/// DNS rebinding: a page on another name that resolves here still sends its own `Host`;
/// the sandbox (and the Graph double beside it) answers it with 421 and nothing else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_requests_addressed_to_its_own_loopback_origin_are_answered() {
    let sb = sandbox(true).await;
    let practice = entra_onboard_sandbox::practice::PracticeSandbox::start(
        Some(0),
        entra_onboard_sandbox::Seed::DemoApp,
    )
    .await
    .unwrap();
    let h = http();
    for base in [sb.base_url().to_string(), practice.base_url()] {
        let port = Url::parse(&base).unwrap().port().unwrap();
        for path in ["/sandbox/info", "/v1.0/organization", "/"] {
            for host in [
                format!("evil.example:{port}"),
                "evil.example".to_string(),
                format!("127.0.0.1:{}", port.wrapping_add(1)),
            ] {
                let res = h
                    .get(format!("{base}{path}"))
                    .header("host", &host)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(res.status(), 421, "{base}{path} as {host}");
                let body = res.text().await.unwrap();
                assert!(
                    body.contains("practice sandbox") && !body.contains(SANDBOX_CLIENT_ID),
                    "{body}"
                );
            }
        }
        // A rebinding page cannot get a token with the (public) demo secret either.
        let res = h
            .post(format!("{base}/{SANDBOX_TENANT_ID}/oauth2/v2.0/token"))
            .header("host", format!("evil.example:{port}"))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", SANDBOX_CLIENT_ID),
                ("client_secret", SANDBOX_CLIENT_SECRET),
                ("scope", "https://graph.microsoft.com/.default"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 421);
        // Its own names are answered.
        for host in [format!("127.0.0.1:{port}"), format!("localhost:{port}")] {
            let res = h
                .get(format!("{base}/sandbox/info"))
                .header("host", &host)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200, "{host}");
        }
    }
}

/// A page elsewhere posting the consent form (or to the token endpoint) is refused with
/// 403 and changes nothing; the sandbox's own page posting it, as a browser does
/// (`Origin` its own, `Sec-Fetch-Site: same-origin`), works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cross_origin_form_posts_are_refused() {
    let sb = sandbox(false).await;
    let h = http();
    let base = sb.base_url().to_string();
    let mut u = Url::parse(&format!("{base}/organizations/v2.0/adminconsent")).unwrap();
    u.query_pairs_mut()
        .append_pair("client_id", SANDBOX_CLIENT_ID)
        .append_pair("scope", "https://graph.microsoft.com/.default")
        .append_pair(
            "redirect_uri",
            "http://localhost:47001/entra-onboard/callback",
        )
        .append_pair("state", "st");
    let page = h.get(u).send().await.unwrap().text().await.unwrap();
    let txn = hidden(&page, "txn");
    let other_port = format!("http://127.0.0.1:{}", sb.addr().port().wrapping_add(1));
    for headers in [
        vec![("origin", "https://evil.example")],
        vec![("origin", "null")],
        vec![
            ("origin", other_port.as_str()),
            ("sec-fetch-site", "same-site"),
        ],
        vec![("sec-fetch-site", "cross-site")],
    ] {
        let mut req = h
            .post(format!("{base}/sandbox/consent"))
            .form(&[("txn", txn.as_str()), ("decision", "accept")]);
        for (k, v) in &headers {
            req = req.header(*k, *v);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), 403, "{headers:?}");
        assert!(res.text().await.unwrap().contains("own pages"));
        assert!(
            sb.state()
                .granted_roles(SANDBOX_CLIENT_ID)
                .unwrap()
                .is_empty(),
            "nothing granted by {headers:?}"
        );
    }
    let res = h
        .post(format!("{base}/{SANDBOX_TENANT_ID}/oauth2/v2.0/token"))
        .header("origin", "https://evil.example")
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", SANDBOX_CLIENT_ID),
            ("client_secret", SANDBOX_CLIENT_SECRET),
            ("scope", "https://graph.microsoft.com/.default"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    // The page's own post, as a browser sends it.
    let res = h
        .post(format!("{base}/sandbox/consent"))
        .header("origin", base.as_str())
        .header("sec-fetch-site", "same-origin")
        .form(&[("txn", txn.as_str()), ("decision", "accept")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let next = res.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(
        h.get(format!("{base}{next}"))
            .send()
            .await
            .unwrap()
            .status(),
        302
    );
    assert_eq!(
        sb.state().granted_roles(SANDBOX_CLIENT_ID).unwrap(),
        SANDBOX_REQUIRED_ROLES
    );
}

async fn token(
    h: &reqwest::Client,
    base: &str,
    tenant: &str,
    form: &[(&str, &str)],
) -> (u16, Value) {
    let res = h
        .post(format!("{base}/{tenant}/oauth2/v2.0/token"))
        .form(form)
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

fn assert_aadsts(body: &Value, error: &str, code: u32) {
    assert_eq!(body["error"], error, "{body:#}");
    assert_eq!(body["error_codes"], json!([code]), "{body:#}");
    let d = body["error_description"].as_str().unwrap();
    assert!(d.starts_with(&format!("AADSTS{code}: ")), "{d}");
    for k in ["timestamp", "trace_id", "correlation_id"] {
        assert!(body[k].is_string(), "{k} in {body:#}");
    }
}

fn pkce() -> (String, String) {
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".to_string();
    (
        verifier,
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".to_string(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_delegated_public_client_flow_works_with_login_hint_and_pkce() {
    let sb = sandbox(false).await;
    let h = http();
    let base = sb.base_url();
    let redirect = "http://localhost:38111/";
    let (verifier, challenge) = pkce();
    let authorize = |hint: Option<&str>| {
        let mut u = Url::parse(&format!("{base}/organizations/oauth2/v2.0/authorize")).unwrap();
        u.query_pairs_mut()
            .append_pair("client_id", SANDBOX_PUBLIC_CLIENT_ID)
            .append_pair("response_type", "code")
            .append_pair("redirect_uri", redirect)
            .append_pair("response_mode", "query")
            .append_pair(
                "scope",
                "https://graph.microsoft.com/Application.ReadWrite.All",
            )
            .append_pair("state", "st")
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256");
        if let Some(hint) = hint {
            u.query_pairs_mut().append_pair("login_hint", hint);
        }
        u
    };
    // Without a hint: the sign-in page with both demo users.
    let page = h
        .get(authorize(None))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(DEMO_USERS[0].username) && page.contains(DEMO_USERS[1].username));
    // With a hint: straight back with a code in the query.
    let res = h
        .get(authorize(Some(DEMO_USERS[0].username)))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302);
    let q = query_of(res.headers()["location"].to_str().unwrap());
    assert_eq!(get(&q, "state"), Some("st"));
    let code = get(&q, "code").unwrap().to_string();

    let redeem = |code: String, verifier: String| {
        let h = h.clone();
        let base = base.to_string();
        async move {
            token(
                &h,
                &base,
                "organizations",
                &[
                    ("grant_type", "authorization_code"),
                    ("client_id", SANDBOX_PUBLIC_CLIENT_ID),
                    ("code", &code),
                    ("redirect_uri", redirect),
                    ("code_verifier", &verifier),
                    (
                        "scope",
                        "https://graph.microsoft.com/Application.ReadWrite.All",
                    ),
                ],
            )
            .await
        }
    };
    let (status, body) = redeem(code.clone(), verifier.clone()).await;
    assert_eq!(status, 200, "{body:#}");
    assert_eq!(body["token_type"], "Bearer");
    let at = body["access_token"].as_str().unwrap();
    let claims = sb.state().verify_access_token(at).expect("a sandbox token");
    assert_eq!(claims["scp"], "Application.ReadWrite.All");
    assert_eq!(claims["upn"], DEMO_USERS[0].username);
    assert_eq!(claims["tid"], SANDBOX_TENANT_ID);
    assert!(
        body.get("id_token").is_none(),
        "no openid scope, no ID token"
    );

    let (status, body) = redeem(code, verifier.clone()).await;
    assert_eq!(status, 400);
    assert_aadsts(&body, "invalid_grant", 54005);

    let res = h
        .get(authorize(Some(DEMO_USERS[1].username)))
        .send()
        .await
        .unwrap();
    let q = query_of(res.headers()["location"].to_str().unwrap());
    let (_, body) = redeem(get(&q, "code").unwrap().to_string(), "x".repeat(43)).await;
    assert_aadsts(&body, "invalid_grant", 501481);

    // A public client must not present a secret.
    let res = h
        .get(authorize(Some(DEMO_USERS[1].username)))
        .send()
        .await
        .unwrap();
    let q = query_of(res.headers()["location"].to_str().unwrap());
    let (_, body) = token(
        &h,
        base,
        SANDBOX_TENANT_ID,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", SANDBOX_PUBLIC_CLIENT_ID),
            ("client_secret", "SANDBOX~something-something-long"),
            ("code", get(&q, "code").unwrap()),
            ("redirect_uri", redirect),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    assert_aadsts(&body, "invalid_request", 700025);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorize_enforces_pkce_s256_and_nonce_by_answering_the_redirect_uri() {
    let sb = sandbox(false).await;
    let h = http();
    let (_, challenge) = pkce();
    type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, u32);
    let cases: [Case; 4] = [
        (
            &[("code_challenge_method", "S256")],
            "invalid_request",
            900144,
        ),
        (
            &[
                ("code_challenge", &challenge),
                ("code_challenge_method", "plain"),
            ],
            "invalid_request",
            50149,
        ),
        (
            &[
                ("code_challenge", "short"),
                ("code_challenge_method", "S256"),
            ],
            "invalid_request",
            501491,
        ),
        (
            &[
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
                ("response_type", "code id_token"),
                ("response_mode", "fragment"),
                ("nonce", ""),
            ],
            "invalid_request",
            900144,
        ),
    ];
    for (extra, error, code) in cases {
        let mut u = Url::parse(&format!(
            "{}/{SANDBOX_TENANT_ID}/oauth2/v2.0/authorize",
            sb.base_url()
        ))
        .unwrap();
        {
            let mut q = u.query_pairs_mut();
            q.append_pair("client_id", SANDBOX_CLIENT_ID)
                .append_pair("redirect_uri", "http://localhost:1/entra-onboard/callback")
                .append_pair("scope", "openid")
                .append_pair("state", "st");
            if !extra.iter().any(|(k, _)| *k == "response_type") {
                q.append_pair("response_type", "code");
            }
            for (k, v) in extra {
                q.append_pair(k, v);
            }
        }
        let res = h.get(u).send().await.unwrap();
        assert_eq!(res.status(), 302, "{extra:?}");
        let loc = res.headers()["location"]
            .to_str()
            .unwrap()
            .replace('#', "?");
        let q = query_of(&loc);
        assert_eq!(get(&q, "error"), Some(error), "{extra:?}");
        assert_eq!(get(&q, "state"), Some("st"));
        assert!(
            get(&q, "error_description")
                .unwrap()
                .starts_with(&format!("AADSTS{code}:")),
            "{extra:?}: {q:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_endpoint_errors_are_entras() {
    let sb = sandbox(true).await;
    let h = http();
    let base = sb.base_url();
    let cc = |scope: &'static str, secret: &'static str| {
        [
            ("grant_type", "client_credentials"),
            ("client_id", SANDBOX_CLIENT_ID),
            ("client_secret", secret),
            ("scope", scope),
        ]
    };
    let (status, body) = token(
        &h,
        base,
        SANDBOX_TENANT_ID,
        &cc(
            "https://graph.microsoft.com/.default",
            SANDBOX_CLIENT_SECRET,
        ),
    )
    .await;
    assert_eq!(status, 200, "{body:#}");
    let claims = sb
        .state()
        .verify_access_token(body["access_token"].as_str().unwrap())
        .unwrap();
    assert_eq!(claims["roles"], json!(SANDBOX_REQUIRED_ROLES));
    assert_eq!(claims["idtyp"], "app");

    let (status, body) = token(
        &h,
        base,
        SANDBOX_TENANT_ID,
        &cc(
            "https://graph.microsoft.com/.default",
            "SANDBOX~wrong-wrong-wrong-wrong",
        ),
    )
    .await;
    assert_eq!(status, 401);
    assert_aadsts(&body, "invalid_client", 7000215);
    let (_, body) = token(
        &h,
        base,
        SANDBOX_TENANT_ID,
        &cc(
            "https://graph.microsoft.com/User.Read",
            SANDBOX_CLIENT_SECRET,
        ),
    )
    .await;
    assert_aadsts(&body, "invalid_scope", 1002012);
    let (_, body) = token(
        &h,
        base,
        "common",
        &cc(
            "https://graph.microsoft.com/.default",
            SANDBOX_CLIENT_SECRET,
        ),
    )
    .await;
    assert_aadsts(&body, "invalid_request", 9001023);
    let (_, body) = token(
        &h,
        base,
        "contoso.example",
        &cc(
            "https://graph.microsoft.com/.default",
            SANDBOX_CLIENT_SECRET,
        ),
    )
    .await;
    assert_aadsts(&body, "invalid_request", 90002);
    let (_, body) = token(
        &h,
        base,
        SANDBOX_TENANT_ID,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", SANDBOX_CLIENT_ID),
            ("scope", "https://graph.microsoft.com/.default"),
        ],
    )
    .await;
    assert_aadsts(&body, "invalid_client", 7000218);
    let (_, body) = token(
        &h,
        base,
        SANDBOX_TENANT_ID,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "5a4db0c5-ffff-4000-8000-000000000099"),
            ("client_secret", SANDBOX_CLIENT_SECRET),
            ("scope", "https://graph.microsoft.com/.default"),
        ],
    )
    .await;
    assert_aadsts(&body, "unauthorized_client", 700016);
    let (_, body) = token(
        &h,
        base,
        SANDBOX_TENANT_ID,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", SANDBOX_CLIENT_ID),
            ("client_secret", SANDBOX_CLIENT_SECRET),
            ("code", "sandbox.made-up"),
            ("redirect_uri", "http://localhost/entra-onboard/callback"),
            ("code_verifier", "x"),
        ],
    )
    .await;
    assert_aadsts(&body, "invalid_grant", 70000);

    // HTTP Basic works like client_secret_post.
    let res = h
        .post(format!("{base}/{SANDBOX_TENANT_ID}/oauth2/v2.0/token"))
        .basic_auth(SANDBOX_CLIENT_ID, Some(SANDBOX_CLIENT_SECRET))
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", "https://graph.microsoft.com/.default"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    // An expired secret: AADSTS7000222.
    let expired = "SANDBOX~an-expired-practice-secret_0000";
    sb.state()
        .add_secret(
            SANDBOX_CLIENT_ID,
            Sensitive::new(expired.into()),
            chrono::Utc::now() - chrono::Duration::days(1),
        )
        .unwrap();
    let (_, body) = token(
        &h,
        base,
        SANDBOX_TENANT_ID,
        &cc("https://graph.microsoft.com/.default", expired),
    )
    .await;
    assert_aadsts(&body, "invalid_client", 7000222);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_keys_and_portal_are_entra_shaped_and_labelled_sandbox() {
    let sb = sandbox(false).await;
    let h = http();
    let base = sb.base_url();
    assert!(base.starts_with("http://127.0.0.1:"));
    assert!(is_sandbox_authority(base));

    for (seg, issuer) in [
        (
            SANDBOX_TENANT_ID.to_string(),
            format!("{base}/{SANDBOX_TENANT_ID}/v2.0"),
        ),
        (
            "sandbox.invalid".to_string(),
            format!("{base}/{SANDBOX_TENANT_ID}/v2.0"),
        ),
        (
            "organizations".to_string(),
            format!("{base}/{{tenantid}}/v2.0"),
        ),
        ("common".to_string(), format!("{base}/{{tenantid}}/v2.0")),
    ] {
        let res = h
            .get(format!(
                "{base}/{seg}/v2.0/.well-known/openid-configuration"
            ))
            .send()
            .await
            .unwrap();
        assert!(res.headers().get(SANDBOX_HEADER).is_some());
        assert_eq!(res.headers()["cache-control"], "no-store");
        let d: Value = res.json().await.unwrap();
        assert_eq!(d["issuer"], issuer, "{seg}");
        let keys: Value = h
            .get(d["jwks_uri"].as_str().unwrap())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(keys["keys"][0]["kty"], "RSA");
        assert!(keys["keys"][0]["kid"].is_string());
    }
    let res = h
        .get(format!(
            "{base}/contoso.example/v2.0/.well-known/openid-configuration"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_aadsts(&res.json().await.unwrap(), "invalid_request", 90002);

    let portal = h.get(format!("{base}/")).send().await.unwrap();
    assert!(
        portal.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'none'")
    );
    let portal = portal.text().await.unwrap();
    for must in [
        "SANDBOX",
        "Sandbox (practice) tenant",
        SANDBOX_TENANT_ID,
        SANDBOX_CLIENT_ID,
        SANDBOX_CLIENT_SECRET,
        SANDBOX_SECRET_ID,
        "http://localhost/entra-onboard/callback",
        "Paste the Value, not the Secret ID",
    ] {
        assert!(portal.contains(must), "the portal shows {must}");
    }
    assert!(!portal.contains("src=\"http"), "no external resources");
    // Every ID and the secret Value has a Copy button; no developer text for a trainee.
    for value in [SANDBOX_TENANT_ID, SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET] {
        assert!(
            portal.contains(&format!("data-copy=\"{value}\"")),
            "a Copy button for {value}"
        );
    }
    assert!(
        !portal.contains(&format!("data-copy=\"{SANDBOX_SECRET_ID}\"")),
        "the Secret ID is not offered for copying"
    );
    assert!(!portal.contains("IdpState"), "no developer text");
}
