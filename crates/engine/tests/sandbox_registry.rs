//! The sandbox is ONE registry (issue 13): what Microsoft Graph creates or changes is what
//! its sign-in provider enforces. From an empty practice sandbox: sign in to Graph (the
//! scripted browser clicks the sandbox's page), "Create it for me" (the engine's apply, the
//! new secret caught by a sink where the desktop uses the keychain), then the SSO test
//! passes with the secret apply created — the path that used to fail with AADSTS7000215.
//! Then each change made through Graph shows at sign-in: a removed redirect URI is
//! AADSTS50011, a removed secret AADSTS7000215, removed consent AADSTS65001, a deleted app
//! AADSTS700016; a certificate uploaded through Graph signs in.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use entra_onboard_engine::graph::apply::{self, ApplyOptions, CredentialRequest, SecretSink};
use entra_onboard_engine::graph::session::GraphSession;
use entra_onboard_engine::graph::signin::SigninOptions;
use entra_onboard_engine::graph::with_query;
use entra_onboard_engine::ids::Sensitive;
use entra_onboard_engine::profile::Profile;
use entra_onboard_engine::sso_test::{
    self, CancellationToken, ClientCredential, SsoReport, SsoTestOptions,
};
use entra_onboard_sandbox::Seed;
use entra_onboard_sandbox::practice::PracticeSandbox;
use serde_json::json;

#[path = "support/scripted_browser.rs"]
mod scripted_browser;
use scripted_browser::{scripted_browser, tests_dir};

async fn sso(p: &Profile, credential: &ClientCredential) -> SsoReport {
    let options = SsoTestOptions {
        timeout: Duration::from_secs(30),
        open_browser: scripted_browser(),
        ..SsoTestOptions::default()
    };
    sso_test::run(p, credential, &options, &CancellationToken::new())
        .await
        .expect("the SSO test runs")
}

fn failed_with(r: &SsoReport, code: &str) {
    assert!(!r.ok, "expected {code}: {r:#?}");
    assert_eq!(
        r.error.as_ref().map(|e| e.code.as_str()),
        Some(code),
        "{r:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_graph_creates_and_changes_is_what_sign_in_enforces() {
    let sb = PracticeSandbox::start(Some(0), Seed::Empty).await.unwrap();
    assert!(sb.info().apps.is_empty(), "the sandbox starts empty");
    let mut p = sb.practice_profile("Registry Co");
    assert!(p.client_id.is_empty() && p.agent_url.is_empty(), "{p:#?}");
    p.agent_url = "https://registry.halopsa.com".into();

    // One Graph sign-in, then "Create it for me" with a new secret and admin consent.
    let cancel = CancellationToken::new();
    let signin = SigninOptions {
        timeout: Duration::from_secs(30),
        open_browser: scripted_browser(),
        ..SigninOptions::default()
    };
    let session = GraphSession::sign_in_with(&p, signin, &cancel)
        .await
        .expect("Graph sign-in against the empty sandbox");
    let caught: Arc<Mutex<Option<Sensitive<String>>>> = Arc::default();
    let c = caught.clone();
    let sink: SecretSink = Box::new(move |s: &Sensitive<String>| {
        *c.lock().unwrap() = Some(s.clone());
        Ok(())
    });
    let options = ApplyOptions {
        credential: CredentialRequest::Secret {
            months: 6,
            force: false,
        },
        grant_consent: true,
        ..ApplyOptions::default()
    };
    let report = apply::apply(&p, session.client(), &options, None, Some(sink))
        .await
        .expect("apply runs");
    assert!(report.ok, "{report:#?}");
    assert!(report.created_application);
    apply::update_profile(&mut p, &report);
    let app = report.application.clone().unwrap();
    assert_eq!(p.client_id, app.app_id);
    let secret = caught.lock().unwrap().take().expect("apply made a secret");
    let with_secret = ClientCredential::Secret(secret.clone());

    // The sign-in provider knows the app Graph created: the test passes, consent and all.
    let r = sso(&p, &with_secret).await;
    assert!(r.ok, "the app created through Graph signs in: {r:#?}");
    let roles = &r.claims.as_ref().unwrap().roles;
    assert!(!roles.is_empty(), "apply's admin consent is seen: {r:#?}");

    // The portal page shows what Graph made.
    let portal = reqwest::get(format!("{}/", sb.base_url()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(portal.contains(&app.app_id), "portal lists the new app");
    assert!(portal.contains("Granted: "), "and its consent");
    let info = sb.info();
    assert_eq!(info.apps.len(), 1);
    assert!(info.apps[0].consented);
    assert_eq!(info.apps[0].secret_ids.len(), 1);

    let g = session.client();
    let object = format!("/applications/{}", app.object_id);

    // A federated credential added through Graph is listed on the portal page.
    g.post(
        &format!("{object}/federatedIdentityCredentials"),
        &json!({"name": "halo-agent", "issuer": "https://registry.halopsa.com/auth",
                "subject": "agent-1", "audiences": ["api://AzureADTokenExchange"]}),
    )
    .await
    .expect("federated credential added");
    let portal = reqwest::get(format!("{}/", sb.base_url()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(portal.contains("halo-agent") && portal.contains("agent-1"));

    // A certificate uploaded through Graph (keyCredentials) signs in.
    let cert_pem = std::fs::read_to_string(tests_dir().join("fixtures/client-cert.pem")).unwrap();
    let key_pem = std::fs::read_to_string(tests_dir().join("fixtures/client-key.pem")).unwrap();
    let with_cert =
        ClientCredential::certificate_from_pem(&cert_pem, Sensitive::new(key_pem)).unwrap();
    failed_with(&sso(&p, &with_cert).await, "AADSTS700027");
    let der_b64: String = cert_pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    g.patch(
        &object,
        &json!({"keyCredentials": [{"type": "AsymmetricX509Cert", "usage": "Verify", "key": der_b64}]}),
    )
    .await
    .expect("certificate uploaded");
    let r = sso(&p, &with_cert).await;
    assert!(
        r.ok,
        "the certificate uploaded through Graph signs in: {r:#?}"
    );

    // The secret removed through Graph stops working at once.
    let key_id = info.apps[0].secret_ids[0].clone();
    g.post(
        &format!("{object}/removePassword"),
        &json!({"keyId": key_id}),
    )
    .await
    .expect("secret removed");
    failed_with(&sso(&p, &with_secret).await, "AADSTS7000215");

    // Consent removed through Graph: sign-in answers AADSTS65001.
    let filter = format!(
        "clientId eq '{}'",
        report.service_principal_id.clone().unwrap()
    );
    let grants = g
        .get(&with_query(
            "/oauth2PermissionGrants",
            &[("$filter", &filter)],
        ))
        .await
        .unwrap();
    for gr in grants["value"].as_array().unwrap() {
        g.send(
            "DELETE",
            &format!("/oauth2PermissionGrants/{}", gr["id"].as_str().unwrap()),
            None,
        )
        .await
        .expect("grant deleted");
    }
    failed_with(&sso(&p, &with_cert).await, "AADSTS65001");
    assert!(!sb.info().apps[0].consented);

    // The wizard's redirect URI removed through Graph: the sign-in page is AADSTS50011
    // (an error page, never a redirect, so it is read here rather than by the SSO test).
    assert!(authorize_page(&sb, &p.client_id).await.is_none());
    g.patch(&object, &json!({"web": {"redirectUris": []}}))
        .await
        .expect("redirect URIs cleared");
    let page = authorize_page(&sb, &p.client_id).await.unwrap();
    assert!(page.contains("AADSTS50011"), "{page}");

    // The app deleted through Graph no longer exists for sign-in.
    g.send("DELETE", &object, None).await.expect("app deleted");
    assert!(sb.info().apps.is_empty());
    let page = authorize_page(&sb, &p.client_id).await.unwrap();
    assert!(page.contains("AADSTS700016"), "{page}");
}

/// The provider's answer to the SSO test's authorize request for `client_id`: `None` when
/// it is the sign-in page (the request is accepted), else the error page's text.
async fn authorize_page(sb: &PracticeSandbox, client_id: &str) -> Option<String> {
    let mut u = url::Url::parse(&format!(
        "{}/{}/oauth2/v2.0/authorize",
        sb.base_url(),
        entra_onboard_sandbox::idp::SANDBOX_TENANT_ID
    ))
    .unwrap();
    u.query_pairs_mut()
        .append_pair("client_id", client_id)
        .append_pair("response_type", "code id_token")
        .append_pair("response_mode", "form_post")
        .append_pair(
            "redirect_uri",
            "http://localhost:38999/entra-onboard/callback",
        )
        .append_pair("scope", "openid profile email")
        .append_pair("nonce", "n")
        .append_pair(
            "code_challenge",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        )
        .append_pair("code_challenge_method", "S256");
    let page = reqwest::get(u).await.unwrap().text().await.unwrap();
    (!page.contains("name=\"user\"")).then_some(page)
}
