//! `apply` against the Graph test double: the exact requests, idempotency, merging,
//! throttling, replication lag, policy blocks, partial failure and the dry run.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use entra_onboard_engine::graph::apply::{
    ApplyOptions, ApplyReport, CredentialRequest, ReplicationPolicy, SecretSink, StepStatus, apply,
};
use entra_onboard_engine::graph::{GraphClient, Sleeper, StaticToken};
use entra_onboard_engine::ids::Sensitive;
use entra_onboard_engine::profile::Profile;
use entra_onboard_sandbox::graph::{FailRule, GraphDouble};
use serde_json::{Value, json};

const GRAPH: &str = "00000003-0000-0000-c000-000000000000";

fn profile() -> Profile {
    let mut p = Profile::new("Acme Service Desk");
    p.agent_url = "https://acme.halopsa.com".into();
    p.sso_for = entra_onboard_engine::profile::SsoFor::Both;
    p
}

fn client(g: &GraphDouble) -> (GraphClient, Arc<Mutex<Vec<Duration>>>) {
    let slept: Arc<Mutex<Vec<Duration>>> = Arc::default();
    let s = slept.clone();
    let sleeper: Sleeper = Arc::new(move |d| {
        s.lock().unwrap().push(d);
        Box::pin(async {})
    });
    let c = GraphClient::new(
        &g.target(),
        Arc::new(StaticToken::new(Sensitive::new(g.token()))),
    )
    .unwrap()
    .with_sleeper(sleeper);
    (c, slept)
}

fn opts() -> ApplyOptions {
    ApplyOptions {
        replication: ReplicationPolicy {
            retries: 6,
            delay: Duration::from_secs(2),
        },
        ..ApplyOptions::default()
    }
}

fn sink() -> (SecretSink, Arc<Mutex<Option<String>>>) {
    let got: Arc<Mutex<Option<String>>> = Arc::default();
    let g = got.clone();
    (
        Box::new(move |s: &Sensitive<String>| {
            *g.lock().unwrap() = Some(s.expose().clone());
            Ok(())
        }),
        got,
    )
}

fn writes(g: &GraphDouble) -> Vec<(String, String)> {
    g.writes().into_iter().map(|r| (r.method, r.path)).collect()
}

fn graph_sp(g: &GraphDouble) -> String {
    g.service_principals()
        .into_iter()
        .find(|s| s["appId"] == GRAPH)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn run(p: &Profile, c: &GraphClient, o: &ApplyOptions, s: Option<SecretSink>) -> ApplyReport {
    apply(p, c, o, None, s).await.expect("apply starts")
}

#[tokio::test]
async fn a_fresh_create_sends_exactly_these_requests() {
    let g = GraphDouble::start().await.unwrap();
    let (c, _) = client(&g);
    let p = profile();
    let (s, got) = sink();
    let mut o = opts();
    o.credential = CredentialRequest::Secret {
        months: 6,
        force: false,
    };
    let r = run(&p, &c, &o, Some(s)).await;
    assert!(r.ok, "{r:#?}");
    let app = &g.applications()[0];
    let app_id = app["appId"].as_str().unwrap();
    let obj = app["id"].as_str().unwrap();
    let sp = g
        .service_principals()
        .into_iter()
        .find(|s| s["appId"] == app_id)
        .unwrap();
    let sp_id = sp["id"].as_str().unwrap();
    let gsp = graph_sp(&g);
    let log: Vec<(String, String)> = g
        .requests()
        .into_iter()
        .map(|r| (r.method, r.path))
        .collect();
    let expected: Vec<(String, String)> = [
        (
            "GET",
            "/applications?$filter=displayName eq 'Acme Service Desk'".to_string(),
        ),
        (
            "GET",
            format!("/servicePrincipals?$filter=appId eq '{GRAPH}'"),
        ),
        ("GET", "/policies/defaultAppManagementPolicy".to_string()),
        ("POST", "/applications".to_string()),
        ("POST", "/servicePrincipals".to_string()),
        ("POST", format!("/applications/{obj}/addPassword")),
        ("POST", "/oauth2PermissionGrants".to_string()),
    ]
    .into_iter()
    .map(|(m, p)| (m.to_string(), p))
    .collect();
    assert_eq!(log, expected);
    let reqs = g.requests();
    assert_eq!(
        reqs[3].body.as_ref().unwrap(),
        &json!({
            "displayName": "Acme Service Desk",
            "signInAudience": "AzureADMyOrg",
            "web": {
                "redirectUris": [
                    "https://acme.halopsa.com/auth/account/azureresponse",
                    "https://acme.halopsa.com/portal/auth/account/azureresponse",
                    "http://localhost/entra-onboard/callback"
                ],
                "implicitGrantSettings": {"enableIdTokenIssuance": true}
            },
            "requiredResourceAccess": [{"resourceAppId": GRAPH, "resourceAccess": [
                {"id": "37f7f235-527c-4136-accd-4a02d197296e", "type": "Scope"},
                {"id": "14dad69e-099b-42c9-810b-d002981feec1", "type": "Scope"},
                {"id": "64a6cdd6-aab1-4aaf-94b8-3cc8405e90d0", "type": "Scope"}
            ]}]
        })
    );
    assert_eq!(reqs[4].body.as_ref().unwrap(), &json!({"appId": app_id}));
    let pw = &reqs[5].body.as_ref().unwrap()["passwordCredential"];
    assert!(pw["endDateTime"].is_string(), "explicit endDateTime: {pw}");
    assert_eq!(
        reqs[6].body.as_ref().unwrap(),
        &json!({"clientId": sp_id, "consentType": "AllPrincipals", "resourceId": gsp, "scope": "openid profile email"})
    );
    // The secret went to the sink, and only there.
    let secret = got.lock().unwrap().clone().expect("secret stored");
    let cred = r.credential.clone().unwrap();
    assert!(cred.stored && secret.starts_with(cred.hint.as_deref().unwrap()));
    assert!(!serde_json::to_string(&r).unwrap().contains(&secret));
    assert!(r.created_application && r.created_service_principal);
    assert!(r.exists.iter().any(|e| e.contains(app_id)));
}

#[tokio::test]
async fn a_second_apply_sends_no_writes() {
    let g = GraphDouble::start().await.unwrap();
    let (c, _) = client(&g);
    let mut p = profile();
    p.features.import = true;
    let mut o = opts();
    o.credential = CredentialRequest::Secret {
        months: 12,
        force: false,
    };
    let (s, _) = sink();
    let first = run(&p, &c, &o, Some(s)).await;
    assert!(first.ok, "{first:#?}");
    // Application permissions were granted too.
    assert_eq!(g.app_role_assignments().len(), 2);
    // The second run finds everything by client id, as the CLI writes it back.
    entra_onboard_engine::graph::apply::update_profile(&mut p, &first);
    assert_eq!(p.client_id, first.application.as_ref().unwrap().app_id);
    g.clear_log();
    let (s, got) = sink();
    let second = run(&p, &c, &o, Some(s)).await;
    assert!(second.ok, "{second:#?}");
    assert_eq!(writes(&g), vec![], "{:#?}", g.requests());
    assert!(got.lock().unwrap().is_none());
    assert!(second.requests.iter().all(|r| r.method == "GET"));
    assert!(!second.created_application);
}

#[tokio::test]
async fn redirect_uris_are_merged_never_dropped_unless_asked() {
    let g = GraphDouble::start().await.unwrap();
    let (c, _) = client(&g);
    let existing = g.insert_application(json!({
        "displayName": "Acme Service Desk",
        "signInAudience": "AzureADMyOrg",
        "web": {"redirectUris": ["https://other.example/callback", "https://acme.halopsa.com/auth/account/azureresponse"],
                "implicitGrantSettings": {"enableIdTokenIssuance": true}, "logoutUrl": "https://acme.halopsa.com/logout"}
    }));
    let p = profile();
    let r = run(&p, &c, &opts(), None).await;
    assert!(r.ok, "{r:#?}");
    let patch = g
        .writes()
        .into_iter()
        .find(|w| w.method == "PATCH")
        .expect("a PATCH");
    assert_eq!(
        patch.path,
        format!("/applications/{}", existing["id"].as_str().unwrap())
    );
    assert_eq!(
        patch.body.as_ref().unwrap()["web"]["redirectUris"],
        json!([
            "https://other.example/callback",
            "https://acme.halopsa.com/auth/account/azureresponse",
            "https://acme.halopsa.com/portal/auth/account/azureresponse",
            "http://localhost/entra-onboard/callback"
        ])
    );
    assert_eq!(
        patch.body.as_ref().unwrap()["web"]["logoutUrl"],
        "https://acme.halopsa.com/logout"
    );
    // Asked to prune and to drop the loopback URI: exactly the service desk's.
    g.clear_log();
    let mut o = opts();
    o.prune_redirect_uris = true;
    o.remove_wizard_uri = true;
    let r = run(&p, &c, &o, None).await;
    assert!(r.ok, "{r:#?}");
    let app = g.applications().into_iter().next().unwrap();
    assert_eq!(
        app["web"]["redirectUris"],
        json!([
            "https://acme.halopsa.com/auth/account/azureresponse",
            "https://acme.halopsa.com/portal/auth/account/azureresponse"
        ])
    );
}

#[tokio::test]
async fn retry_after_is_honoured_on_429_and_503() {
    let g = GraphDouble::start().await.unwrap();
    let (c, slept) = client(&g);
    g.faults(|f| {
        f.throttle.push_back((429, Some(7)));
        f.throttle.push_back((503, Some(3)));
    });
    let r = run(&profile(), &c, &opts(), None).await;
    assert!(r.ok, "{r:#?}");
    assert_eq!(
        *slept.lock().unwrap(),
        vec![Duration::from_secs(7), Duration::from_secs(3)]
    );
    // The first request was sent three times.
    let log = g.requests();
    assert_eq!(log[0].path, log[1].path);
    assert_eq!(log[1].path, log[2].path);
}

#[tokio::test]
async fn throttling_beyond_the_retry_budget_fails_with_the_graph_body() {
    let g = GraphDouble::start().await.unwrap();
    let (c, _) = client(&g);
    g.faults(|f| {
        for _ in 0..10 {
            f.throttle.push_back((429, Some(1)));
        }
    });
    let r = run(&profile(), &c, &opts(), None).await;
    assert!(!r.ok);
    let e = r.error.unwrap();
    assert_eq!(e.code, "graph.api");
    assert_eq!(e.graph.unwrap().code, "TooManyRequests");
    assert_eq!(g.requests().len(), 5, "one try and four retries");
    assert!(g.applications().is_empty());
}

#[tokio::test]
async fn replication_404_on_a_fresh_service_principal_is_retried() {
    let g = GraphDouble::start().await.unwrap();
    let (c, slept) = client(&g);
    g.faults(|f| {
        f.sp_replication_misses = 2;
        f.app_replication_misses = 1;
    });
    let r = run(&profile(), &c, &opts(), None).await;
    assert!(r.ok, "{r:#?}");
    assert_eq!(g.grants().len(), 1);
    let posts: Vec<String> = g.writes().into_iter().map(|w| w.path).collect();
    assert_eq!(
        posts,
        vec![
            "/applications",
            "/servicePrincipals",
            "/servicePrincipals",
            "/oauth2PermissionGrants",
            "/oauth2PermissionGrants",
            "/oauth2PermissionGrants"
        ]
    );
    // Linear back-off: 2 s for the app, then 2 s and 4 s for the service principal.
    assert_eq!(
        *slept.lock().unwrap(),
        vec![
            Duration::from_secs(2),
            Duration::from_secs(2),
            Duration::from_secs(4)
        ]
    );
}

#[tokio::test]
async fn a_password_policy_block_is_explained_before_any_write() {
    let g = GraphDouble::start().await.unwrap();
    let (c, _) = client(&g);
    g.block_password_addition();
    let mut o = opts();
    o.credential = CredentialRequest::Secret {
        months: 6,
        force: false,
    };
    let r = run(&profile(), &c, &o, None).await;
    assert!(!r.ok);
    let e = r.error.as_ref().unwrap();
    assert_eq!(e.code, "apply.policy_blocks_secret");
    assert!(e.message.contains("passwordAddition"), "{}", e.message);
    assert!(e.fix.contains("certificate"), "{}", e.fix);
    assert_eq!(
        writes(&g),
        vec![],
        "nothing is written before the block is explained"
    );
    assert!(
        r.steps
            .iter()
            .any(|s| s.id == "add_password" && s.status == StepStatus::Failed)
    );
}

#[tokio::test]
async fn a_lifetime_cap_shortens_the_secret_instead_of_failing() {
    let g = GraphDouble::start().await.unwrap();
    let (c, _) = client(&g);
    g.set_default_policy(json!({"isEnabled": true, "applicationRestrictions": {"passwordCredentials": [
        {"restrictionType": "passwordLifetime", "maxLifetime": "P90D", "restrictForAppsCreatedAfterDateTime": "2019-01-01T00:00:00Z"}
    ]}}));
    let mut o = opts();
    o.credential = CredentialRequest::Secret {
        months: 24,
        force: false,
    };
    let (s, _) = sink();
    let r = run(&profile(), &c, &o, Some(s)).await;
    assert!(r.ok, "{r:#?}");
    let end = r.credential.unwrap().end_date_time.unwrap();
    assert!((end - chrono::Utc::now()).num_days() < 90);
    assert!(r.policy_notes.iter().any(|n| n.contains("P90D")));
}

#[tokio::test]
async fn a_failure_halfway_says_what_exists() {
    let g = GraphDouble::start().await.unwrap();
    let (c, _) = client(&g);
    g.faults(|f| {
        f.fail.push(FailRule {
            method: "POST".into(),
            path_contains: "/servicePrincipals".into(),
            status: 500,
            code: "Service_InternalServerError".into(),
            message: "Encountered an internal server error.".into(),
            times: 1,
        })
    });
    let mut o = opts();
    o.credential = CredentialRequest::Secret {
        months: 6,
        force: false,
    };
    let r = run(&profile(), &c, &o, None).await;
    assert!(!r.ok);
    let e = r.error.as_ref().unwrap();
    assert_eq!(
        e.graph.as_ref().unwrap().code,
        "Service_InternalServerError"
    );
    assert!(e.graph.as_ref().unwrap().request_id.is_some());
    let app = &g.applications()[0];
    assert!(
        r.exists[0].contains(app["appId"].as_str().unwrap())
            && r.exists[0].contains("created by this run")
    );
    assert!(
        r.exists
            .iter()
            .any(|x| x.contains("No service principal yet") && x.contains("AADSTS7000229"))
    );
    // Nothing after the failure was attempted.
    let status = |id: &str| r.steps.iter().find(|s| s.id == id).map(|s| s.status);
    assert_eq!(status("create_service_principal"), Some(StepStatus::Failed));
    assert_eq!(status("add_password"), Some(StepStatus::Skipped));
    assert_eq!(writes(&g).len(), 2);
    // Running again picks up where it stopped.
    let (s, _) = sink();
    let again = run(&profile(), &c, &o, Some(s)).await;
    assert!(again.ok, "{again:#?}");
    assert_eq!(g.applications().len(), 1);
}

#[tokio::test]
async fn consent_the_role_cannot_grant_is_handed_over() {
    let g = GraphDouble::start().await.unwrap();
    let (c, _) = client(&g);
    g.faults(|f| f.deny_consent = true);
    let mut p = profile();
    p.features.import = true;
    let r = run(&p, &c, &opts(), None).await;
    assert!(
        r.ok,
        "a refused consent is a hand-over, not a failure: {r:#?}"
    );
    assert!(r.handover.iter().any(|h| h.contains("step 4")));
    assert!(
        r.steps
            .iter()
            .any(|s| s.id == "grant_app_role:User.Read.All"
                && s.status == StepStatus::Skipped
                && s.error.as_ref().unwrap().code == "Authorization_RequestDenied")
    );
}

#[tokio::test]
async fn a_dry_run_sends_no_write_and_lists_them() {
    let g = GraphDouble::start().await.unwrap();
    let (c, _) = client(&g);
    let mut o = opts();
    o.dry_run = true;
    o.credential = CredentialRequest::Secret {
        months: 6,
        force: false,
    };
    let r = run(&profile(), &c, &o, None).await;
    assert!(r.ok && r.dry_run, "{r:#?}");
    assert_eq!(writes(&g), vec![]);
    assert!(g.applications().is_empty());
    let planned: Vec<(String, String)> = r
        .requests
        .iter()
        .filter(|q| q.is_write())
        .map(|q| {
            (
                q.method.clone(),
                q.url.trim_start_matches(&g.base_url()).to_string(),
            )
        })
        .collect();
    assert_eq!(
        planned,
        vec![
            ("POST".to_string(), "/applications".to_string()),
            ("POST".to_string(), "/servicePrincipals".to_string()),
            (
                "POST".to_string(),
                "/applications/{applicationObjectId}/addPassword".to_string()
            ),
            ("POST".to_string(), "/oauth2PermissionGrants".to_string()),
        ]
    );
    let sp_body: &Value = r
        .requests
        .iter()
        .find(|q| q.url.ends_with("/servicePrincipals") && q.is_write())
        .unwrap()
        .body
        .as_ref()
        .unwrap();
    assert_eq!(sp_body, &json!({"appId": "{appId}"}));
}

#[tokio::test]
async fn an_unknown_client_id_is_not_silently_replaced() {
    let g = GraphDouble::start().await.unwrap();
    let (c, _) = client(&g);
    let mut p = profile();
    p.client_id = "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9".into();
    let r = run(&p, &c, &opts(), None).await;
    assert_eq!(r.error.unwrap().code, "apply.app_not_found");
    assert_eq!(writes(&g), vec![]);
}

#[tokio::test]
async fn a_certificate_is_added_keeping_valid_keys_and_dropping_expired_ones() {
    let g = GraphDouble::start().await.unwrap();
    let (c, _) = client(&g);
    g.insert_application(json!({"displayName": "Acme Service Desk", "keyCredentials": [
        {"keyId": "11111111-1111-4111-8111-111111111111", "type": "AsymmetricX509Cert", "usage": "Verify", "key": "AAAA", "customKeyIdentifier": "old", "endDateTime": "2099-01-01T00:00:00Z"},
        {"keyId": "22222222-2222-4222-8222-222222222222", "type": "AsymmetricX509Cert", "usage": "Verify", "key": "BBBB", "customKeyIdentifier": "expired", "endDateTime": "2001-01-01T00:00:00Z"}
    ]}));
    let mut o = opts();
    o.credential = CredentialRequest::Certificate {
        cert_der: vec![1, 2, 3, 4],
    };
    let r = run(&profile(), &c, &o, None).await;
    assert!(r.ok, "{r:#?}");
    let app = &g.applications()[0];
    let keys: Vec<&str> = app["keyCredentials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["customKeyIdentifier"].as_str().unwrap())
        .collect();
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0], "old");
    assert!(r.credential.unwrap().thumbprint.is_some());
    // Idempotent: the same certificate is not uploaded twice.
    g.clear_log();
    let again = run(&profile(), &c, &o, None).await;
    assert!(again.ok);
    assert_eq!(writes(&g), vec![]);
}
