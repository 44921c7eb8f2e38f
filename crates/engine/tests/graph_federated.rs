//! Halo's federated credential (its Method 3) through Graph against the sandbox double:
//! `apply` adds exactly step 3's issuer, subject and audience once, the doctor reports a
//! missing or different one, and its one-click fix adds it.

use std::sync::Arc;

use chrono::Utc;
use entra_onboard_engine::graph::apply::{
    ApplyOptions, CredentialRequest, StepStatus, apply, federated_request, update_profile,
};
use entra_onboard_engine::graph::doctor::{FixAction, doctor, fix};
use entra_onboard_engine::graph::{GraphClient, StaticToken};
use entra_onboard_engine::ids::Sensitive;
use entra_onboard_engine::profile::{CredentialKind, FederatedCredential, Profile, SsoFor};
use entra_onboard_sandbox::graph::GraphDouble;
use serde_json::{Value, json};

const ISSUER: &str = "https://acme.halopsa.com/auth";
const SUBJECT: &str = "halo-agent-7f3c";
const AUDIENCE: &str = "api://AzureADTokenExchange";

fn client(g: &GraphDouble) -> GraphClient {
    GraphClient::new(
        &g.target(),
        Arc::new(StaticToken::new(Sensitive::new(g.token()))),
    )
    .unwrap()
}

fn profile() -> Profile {
    let mut p = Profile::new("Acme Service Desk");
    p.agent_url = "https://acme.halopsa.com".into();
    p.sso_for = SsoFor::Both;
    p.credential.kind = CredentialKind::Federated;
    p.credential.federated = Some(FederatedCredential {
        name: String::new(),
        issuer: ISSUER.into(),
        subject: SUBJECT.into(),
        audience: Some(AUDIENCE.into()),
        agent: "Integration Agent".into(),
    });
    p
}

fn options(p: &Profile) -> ApplyOptions {
    ApplyOptions {
        credential: federated_request(p).expect("step 3 is complete"),
        ..ApplyOptions::default()
    }
}

async fn on_app(c: &GraphClient, object_id: &str) -> Vec<Value> {
    c.get(&format!(
        "/applications/{object_id}/federatedIdentityCredentials"
    ))
    .await
    .unwrap()["value"]
        .as_array()
        .cloned()
        .unwrap()
}

/// Creates the registration with Halo's credential; returns the saved profile and the
/// application's object id.
async fn created(g: &GraphDouble) -> (Profile, String) {
    let c = client(g);
    let mut p = profile();
    let r = apply(&p, &c, &options(&p), None, None).await.unwrap();
    assert!(r.ok, "{r:#?}");
    update_profile(&mut p, &r);
    (p, r.application.unwrap().object_id)
}

#[tokio::test]
async fn apply_adds_halos_credential_once_with_its_three_values() {
    let g = GraphDouble::start().await.unwrap();
    let c = client(&g);
    let (p, object_id) = created(&g).await;
    let posts: Vec<Value> = g
        .writes()
        .into_iter()
        .filter(|w| w.path.ends_with("/federatedIdentityCredentials"))
        .map(|w| (w.method.clone(), w.path.clone()))
        .map(|(m, path)| json!([m, path]))
        .collect();
    assert_eq!(
        posts,
        [json!([
            "POST",
            format!("/applications/{object_id}/federatedIdentityCredentials")
        ])]
    );
    let fics = on_app(&c, &object_id).await;
    assert_eq!(fics.len(), 1);
    assert_eq!(fics[0]["issuer"], ISSUER);
    assert_eq!(fics[0]["subject"], SUBJECT);
    assert_eq!(fics[0]["audiences"], json!([AUDIENCE]));
    // No name was typed: the one it got is recorded, and the kind stays federated.
    assert_eq!(fics[0]["name"], "halo-acme");
    assert_eq!(p.credential.federated.as_ref().unwrap().name, "halo-acme");
    assert_eq!(p.credential.kind, CredentialKind::Federated);
    assert!(!p.client_id.is_empty());

    // A second run sends no write and says why it skipped the credential.
    g.clear_log();
    let r = apply(&p, &c, &options(&p), None, None).await.unwrap();
    assert!(r.ok, "{r:#?}");
    assert!(g.writes().is_empty(), "{:#?}", g.writes());
    let step = r
        .steps
        .iter()
        .find(|s| s.id == "add_federated_credential")
        .unwrap();
    assert_eq!(step.status, StepStatus::Skipped);
    assert!(step.detail.as_deref().unwrap().contains("halo-acme"));
    assert!(
        r.exists
            .iter()
            .any(|e| e.contains("Other issuer") && e.contains("halo-acme")),
        "{:?}",
        r.exists
    );
}

#[tokio::test]
async fn a_dry_run_lists_the_post_and_sends_nothing() {
    let g = GraphDouble::start().await.unwrap();
    let p = profile();
    let mut o = options(&p);
    o.dry_run = true;
    let r = apply(&p, &client(&g), &o, None, None).await.unwrap();
    assert!(r.ok && r.dry_run);
    assert!(g.writes().is_empty());
    let post = r
        .requests
        .iter()
        .find(|q| {
            q.url
                .ends_with("/applications/{applicationObjectId}/federatedIdentityCredentials")
        })
        .expect("the planned POST is listed");
    assert_eq!(post.method, "POST");
    assert_eq!(post.body.as_ref().unwrap()["audiences"], json!([AUDIENCE]));
}

#[tokio::test]
async fn doctor_reports_a_missing_one_and_its_fix_adds_it() {
    let g = GraphDouble::start().await.unwrap();
    let c = client(&g);
    let (p, object_id) = created(&g).await;
    let r = doctor(&p, &c, Utc::now()).await.unwrap();
    assert!(
        !r.findings
            .iter()
            .any(|f| f.id.starts_with("credential.federated")),
        "{:#?}",
        r.findings
    );
    // Someone deletes it in Entra.
    let id = on_app(&c, &object_id).await[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    c.send(
        "DELETE",
        &format!("/applications/{object_id}/federatedIdentityCredentials/{id}"),
        None,
    )
    .await
    .unwrap();
    let r = doctor(&p, &c, Utc::now()).await.unwrap();
    let missing = r
        .findings
        .iter()
        .find(|f| f.id == "credential.federated_missing")
        .unwrap_or_else(|| panic!("{:#?}", r.findings));
    assert!(missing.message.contains(ISSUER) && missing.message.contains("AADSTS70021"));
    assert!(!r.ok);
    assert_eq!(missing.auto_fix, Some(FixAction::AddFederatedCredential));
    let fixed = fix(&p, &c, &FixAction::AddFederatedCredential, None, None)
        .await
        .unwrap();
    assert!(fixed.ok, "{fixed:#?}");
    assert_eq!(on_app(&c, &object_id).await.len(), 1);
    let r = doctor(&p, &c, Utc::now()).await.unwrap();
    assert!(
        !r.findings
            .iter()
            .any(|f| f.id.starts_with("credential.federated")),
        "{:#?}",
        r.findings
    );
}

#[tokio::test]
async fn a_different_one_is_reported_and_never_overwritten() {
    let g = GraphDouble::start().await.unwrap();
    let c = client(&g);
    let (mut p, object_id) = created(&g).await;
    // Halo now shows another audience (or step 3 was corrected): Entra holds the old one.
    p.credential.federated.as_mut().unwrap().audience = Some("api://halo-acme".into());
    let r = doctor(&p, &c, Utc::now()).await.unwrap();
    let differs = r
        .findings
        .iter()
        .find(|f| f.id == "credential.federated_differs")
        .unwrap_or_else(|| panic!("{:#?}", r.findings));
    assert!(
        differs.message.contains("api://halo-acme"),
        "{}",
        differs.message
    );
    assert_eq!(differs.auto_fix, None);
    g.clear_log();
    let r = apply(&p, &c, &options(&p), None, None).await.unwrap();
    assert!(!r.ok);
    assert_eq!(r.error.as_ref().unwrap().code, "apply.federated_differs");
    assert!(
        g.writes().is_empty(),
        "nothing is written: {:#?}",
        g.writes()
    );
    assert_eq!(
        on_app(&c, &object_id).await[0]["audiences"],
        json!([AUDIENCE])
    );
}

#[test]
fn an_incomplete_step_3_cannot_be_applied_and_says_which_field() {
    let mut p = profile();
    p.credential.federated.as_mut().unwrap().issuer = "http://acme.halopsa.com/auth".into();
    let e = federated_request(&p).unwrap_err();
    assert!(e.to_string().contains("credential.federated.issuer"), "{e}");
    p.credential.kind = CredentialKind::Secret;
    assert!(federated_request(&p).is_err());
    assert!(matches!(
        federated_request(&profile()).unwrap(),
        CredentialRequest::Federated(s) if s.audience == AUDIENCE
    ));
}
