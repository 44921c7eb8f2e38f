//! `doctor` against the Graph test double: one finding per problem, and fixes that work.
//! (The CLI's `apply`/`doctor` exit codes: crates/cli/tests/graph_cli.rs.)

use std::sync::Arc;

use chrono::{Duration as Days, Utc};
use entra_onboard_engine::graph::apply::{ApplyOptions, apply};
use entra_onboard_engine::graph::doctor::{FixAction, doctor, fix};
use entra_onboard_engine::graph::{GraphClient, StaticToken};
use entra_onboard_engine::ids::Sensitive;
use entra_onboard_engine::profile::{CredentialKind, Profile, SsoFor, Verification};
use entra_onboard_engine::validation::Severity;
use entra_onboard_sandbox::graph::GraphDouble;
use serde_json::json;

const AGENT: &str = "https://acme.halopsa.com/auth/account/azureresponse";
const PORTAL: &str = "https://acme.halopsa.com/portal/auth/account/azureresponse";
const LOOPBACK: &str = "http://localhost/entra-onboard/callback";

fn client(g: &GraphDouble) -> GraphClient {
    GraphClient::new(
        &g.target(),
        Arc::new(StaticToken::new(Sensitive::new(g.token()))),
    )
    .unwrap()
}

fn profile(client_id: &str) -> Profile {
    let mut p = Profile::new("Acme Service Desk");
    p.agent_url = "https://acme.halopsa.com".into();
    p.sso_for = SsoFor::Both;
    p.client_id = client_id.into();
    p
}

/// A registration exactly as planned (made by apply), and its profile.
async fn healthy(g: &GraphDouble) -> Profile {
    let c = client(g);
    let mut p = profile("");
    let r = apply(&p, &c, &ApplyOptions::default(), None, None)
        .await
        .unwrap();
    assert!(r.ok, "{r:#?}");
    entra_onboard_engine::graph::apply::update_profile(&mut p, &r);
    p
}

fn ids(r: &entra_onboard_engine::graph::doctor::DoctorReport) -> Vec<&str> {
    r.findings.iter().map(|f| f.id.as_str()).collect()
}

#[tokio::test]
async fn a_registration_made_by_apply_is_clean() {
    let g = GraphDouble::start().await.unwrap();
    let p = healthy(&g).await;
    let r = doctor(&p, &client(&g), Utc::now()).await.unwrap();
    assert!(r.ok && r.findings.is_empty(), "{:#?}", r.findings);
    assert_eq!(r.exit_code(), 0);
    assert!(r.requests.iter().all(|q| q.method == "GET"));
}

#[tokio::test]
async fn each_problem_is_one_finding() {
    let g = GraphDouble::start().await.unwrap();
    let app = g.insert_application(json!({
        "displayName": "Acme Service Desk",
        "signInAudience": "AzureADMultipleOrgs",
        "web": {"redirectUris": [
            "https://acme.halopsa.com/Auth/account/azureresponse",
            format!("{PORTAL}/"),
            "https://old.example/callback"
        ], "implicitGrantSettings": {"enableIdTokenIssuance": false}},
        "passwordCredentials": [
            {"keyId": "k1", "hint": "abc", "displayName": "old", "endDateTime": (Utc::now() - Days::days(3)).to_rfc3339()},
            {"keyId": "k2", "hint": "def", "displayName": "soon", "endDateTime": (Utc::now() + Days::days(10)).to_rfc3339()}
        ]
    }));
    let mut p = profile(app["appId"].as_str().unwrap());
    p.credential.kind = CredentialKind::Secret;
    p.credential.secret_hint = Some("xyz".into());
    let r = doctor(&p, &client(&g), Utc::now()).await.unwrap();
    let found = ids(&r);
    for want in [
        "audience.wrong",
        "redirect.near_miss",
        "redirect.extra",
        "id_tokens.off",
        "permissions.missing",
        "credential.expired",
        "credential.expiring",
        "credential.secret_not_on_app",
        "service_principal.missing",
        "redirect.wizard_missing",
    ] {
        assert!(found.contains(&want), "{want} missing from {found:?}");
    }
    // Both near misses are named, case and trailing slash.
    let near: Vec<&str> = r
        .findings
        .iter()
        .filter(|f| f.id == "redirect.near_miss")
        .map(|f| f.message.as_str())
        .collect();
    assert_eq!(near.len(), 2);
    assert!(
        near.iter().any(|m| m.contains("case"))
            && near.iter().any(|m| m.contains("trailing slash"))
    );
    assert!(!r.ok);
    assert_eq!(r.exit_code(), 1);
    // Errors come first.
    assert_eq!(r.findings[0].severity, Severity::Error);
    let sp = r
        .findings
        .iter()
        .find(|f| f.id == "service_principal.missing")
        .unwrap();
    assert!(sp.message.contains("AADSTS7000229"));
    assert_eq!(sp.auto_fix, Some(FixAction::CreateServicePrincipal));
    // The expired secret is an error only when nothing else is valid: here one is.
    let expired = r
        .findings
        .iter()
        .find(|f| f.id == "credential.expired")
        .unwrap();
    assert_eq!(expired.severity, Severity::Warning);
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(
        json["findings"][0]["autoFix"]["kind"].is_string(),
        r.findings[0].auto_fix.is_some()
    );
}

#[tokio::test]
async fn missing_consent_and_the_loopback_uri_after_onboarding() {
    let g = GraphDouble::start().await.unwrap();
    let mut p = healthy(&g).await;
    p.features.import = true;
    p.verified = Some(Verification {
        verified_at: Utc::now(),
        signed_in_as: None,
    });
    let c = client(&g);
    let r = doctor(&p, &c, Utc::now()).await.unwrap();
    let found = ids(&r);
    assert!(found.contains(&"consent.missing"), "{found:?}");
    assert!(found.contains(&"redirect.wizard_uri_present"), "{found:?}");
    assert!(!found.contains(&"redirect.wizard_missing"));
    let loopback = r
        .findings
        .iter()
        .find(|f| f.id == "redirect.wizard_uri_present")
        .unwrap();
    assert_eq!(
        loopback.auto_fix,
        Some(FixAction::RemoveRedirectUris {
            uris: vec![LOOPBACK.into()]
        })
    );
    // One-click fixes clear them.
    for f in r.findings.iter().filter_map(|f| f.auto_fix.clone()) {
        let out = fix(&p, &c, &f, None, None).await.unwrap();
        assert!(out.ok, "{out:#?}");
    }
    let after = doctor(&p, &c, Utc::now()).await.unwrap();
    assert!(
        after.ok && after.findings.is_empty(),
        "{:#?}",
        after.findings
    );
    let app = &g.applications()[0];
    assert_eq!(
        app["web"]["redirectUris"],
        json!([AGENT, PORTAL, "https://acme.halopsa.com/azure/auth"])
    );
}

#[tokio::test]
async fn a_missing_delegated_consent_is_a_warning() {
    let g = GraphDouble::start().await.unwrap();
    let app = g.insert_application(json!({"displayName": "Acme Service Desk", "signInAudience": "AzureADMyOrg",
        "web": {"redirectUris": [AGENT, PORTAL, LOOPBACK], "implicitGrantSettings": {"enableIdTokenIssuance": true}},
        "requiredResourceAccess": [{"resourceAppId": "00000003-0000-0000-c000-000000000000", "resourceAccess": [
            {"id": "37f7f235-527c-4136-accd-4a02d197296e", "type": "Scope"},
            {"id": "14dad69e-099b-42c9-810b-d002981feec1", "type": "Scope"},
            {"id": "64a6cdd6-aab1-4aaf-94b8-3cc8405e90d0", "type": "Scope"}]}]}));
    let sp = g.insert_service_principal(app["appId"].as_str().unwrap());
    g.insert_grant(sp["id"].as_str().unwrap(), "openid");
    let p = profile(app["appId"].as_str().unwrap());
    let r = doctor(&p, &client(&g), Utc::now()).await.unwrap();
    assert_eq!(ids(&r), vec!["consent.delegated_missing"]);
    assert!(r.findings[0].message.contains("profile, email"));
    assert!(r.ok, "a warning does not fail the check");
}

#[tokio::test]
async fn an_unknown_app_is_one_error_with_apply_as_the_fix() {
    let g = GraphDouble::start().await.unwrap();
    let p = profile("0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9");
    let r = doctor(&p, &client(&g), Utc::now()).await.unwrap();
    assert_eq!(ids(&r), vec!["application.missing"]);
    assert_eq!(r.findings[0].auto_fix, Some(FixAction::Apply));
    assert_eq!(r.exit_code(), 1);
}
