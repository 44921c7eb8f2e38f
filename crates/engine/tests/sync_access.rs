//! The access review (doctor --access) against the Graph double with seeded Conditional
//! Access policies: MFA required, block, report-only, the app excluded, security defaults,
//! assignment required, and a refusal to read policies.

use std::sync::Arc;

use chrono::Utc;
use entra_onboard_engine::graph::apply::{ApplyOptions, apply, update_profile};
use entra_onboard_engine::graph::doctor::{DoctorReport, doctor, doctor_with_access};
use entra_onboard_engine::graph::{GraphClient, StaticToken};
use entra_onboard_engine::ids::Sensitive;
use entra_onboard_engine::profile::{Profile, SsoFor};
use entra_onboard_engine::validation::Severity;
use entra_onboard_sandbox::graph::GraphDouble;
use serde_json::{Value, json};

fn client(g: &GraphDouble) -> GraphClient {
    GraphClient::new(
        &g.target(),
        Arc::new(StaticToken::new(Sensitive::new(g.token()))),
    )
    .unwrap()
}

async fn healthy(g: &GraphDouble) -> Profile {
    let mut p = Profile::new("Acme Service Desk");
    p.agent_url = "https://acme.halopsa.com".into();
    p.sso_for = SsoFor::Both;
    let r = apply(&p, &client(g), &ApplyOptions::default(), None, None)
        .await
        .unwrap();
    assert!(r.ok);
    update_profile(&mut p, &r);
    p
}

/// A conditionalAccessPolicy resource (conditionalaccesspolicy.md shape).
fn policy(
    name: &str,
    state: &str,
    apps: &[&str],
    excluded: &[&str],
    users: Value,
    controls: &[&str],
) -> Value {
    json!({
        "id": uuid::Uuid::new_v4().to_string(),
        "displayName": name,
        "state": state,
        "conditions": {
            "clientAppTypes": ["all"],
            "applications": {"includeApplications": apps, "excludeApplications": excluded},
            "users": users,
        },
        "grantControls": {"operator": "OR", "builtInControls": controls, "authenticationStrength": null},
    })
}

fn ids(r: &DoctorReport) -> Vec<(String, Severity)> {
    r.access
        .as_ref()
        .unwrap()
        .findings
        .iter()
        .map(|f| (f.id.clone(), f.severity))
        .collect()
}

fn has(r: &DoctorReport, id: &str, sev: Severity) -> bool {
    ids(r).iter().any(|(i, s)| i == id && *s == sev)
}

#[tokio::test]
async fn no_policy_and_no_security_defaults_means_no_mfa() {
    let g = GraphDouble::start().await.unwrap();
    let p = healthy(&g).await;
    let r = doctor_with_access(&p, &client(&g), Utc::now())
        .await
        .unwrap();
    assert!(has(&r, "access.no_mfa", Severity::Warning), "{:?}", ids(&r));
    assert_eq!(r.access.as_ref().unwrap().security_defaults, Some(false));
    assert_eq!(r.access.as_ref().unwrap().assignment_required, Some(false));
    assert!(r.ok);
    // Reads only, and the plain doctor does not read policies.
    assert!(r.requests.iter().all(|q| q.method == "GET"));
    assert!(
        r.requests
            .iter()
            .any(|q| q.url.ends_with("/identity/conditionalAccess/policies"))
    );
    g.clear_log();
    let plain = doctor(&p, &client(&g), Utc::now()).await.unwrap();
    assert!(plain.access.is_none());
    assert!(
        !g.requests()
            .iter()
            .any(|q| q.path.contains("conditionalAccess"))
    );
}

#[tokio::test]
async fn seeded_policies_become_findings() {
    let g = GraphDouble::start().await.unwrap();
    let p = healthy(&g).await;
    let app = p.client_id.clone();
    g.set_conditional_access_policies(vec![
        policy(
            "MFA for staff",
            "enabled",
            &["All"],
            &[],
            json!({"includeGroups": ["g1"], "excludeUsers": ["u1"]}),
            &["mfa"],
        ),
        policy(
            "Block legacy",
            "enabled",
            &[app.as_str()],
            &[],
            json!({"includeUsers": ["All"]}),
            &["block"],
        ),
        policy(
            "Block risky (report-only)",
            "enabledForReportingButNotEnforced",
            &["All"],
            &[],
            json!({"includeUsers": ["All"]}),
            &["block"],
        ),
        policy(
            "MFA everywhere but the desk",
            "enabled",
            &["All"],
            &[app.as_str()],
            json!({"includeUsers": ["All"]}),
            &["mfa"],
        ),
        policy(
            "Old policy",
            "disabled",
            &["All"],
            &[],
            json!({"includeUsers": ["All"]}),
            &["mfa"],
        ),
        policy(
            "Other app only",
            "enabled",
            &["00000002-0000-0ff1-ce00-000000000000"],
            &[],
            json!({"includeUsers": ["All"]}),
            &["mfa"],
        ),
    ]);
    let r = doctor_with_access(&p, &client(&g), Utc::now())
        .await
        .unwrap();
    let a = r.access.as_ref().unwrap();
    assert!(has(&r, "access.mfa_enforced", Severity::Info));
    assert!(has(&r, "access.block", Severity::Error), "{:?}", ids(&r));
    assert!(has(&r, "access.report_only", Severity::Warning));
    assert!(has(&r, "access.app_excluded", Severity::Warning));
    assert!(!has(&r, "access.no_mfa", Severity::Warning));
    // A blocking policy for all users makes the doctor fail.
    assert!(!r.ok);
    let mfa = a
        .policies
        .iter()
        .find(|x| x.display_name == "MFA for staff")
        .unwrap();
    assert!(mfa.applies && mfa.requires_mfa && !mfa.blocks);
    assert_eq!(mfa.users, "1 group except 1 user/group/role");
    let other = a
        .policies
        .iter()
        .find(|x| x.display_name == "Other app only")
        .unwrap();
    assert!(!other.applies);
    let excluded = a
        .policies
        .iter()
        .find(|x| x.display_name == "MFA everywhere but the desk")
        .unwrap();
    assert!(excluded.app_excluded && !excluded.applies);
    // Findings explain why and what to change.
    let block = a.findings.iter().find(|f| f.id == "access.block").unwrap();
    assert!(block.message.contains("Block legacy") && block.message.contains("all users"));
    assert!(block.fix.contains("exclude"));
    // Policies that apply are listed first.
    assert!(a.policies.iter().take_while(|x| x.applies).count() >= 2);
    assert!(
        a.policies
            .iter()
            .skip_while(|x| x.applies)
            .all(|x| !x.applies)
    );
}

#[tokio::test]
async fn security_defaults_and_assignment_required() {
    let g = GraphDouble::start().await.unwrap();
    let p = healthy(&g).await;
    g.set_security_defaults(true);
    g.edit_service_principal(&p.client_id, |sp| {
        sp["appRoleAssignmentRequired"] = json!(true)
    });
    let r = doctor_with_access(&p, &client(&g), Utc::now())
        .await
        .unwrap();
    assert!(has(&r, "access.security_defaults_on", Severity::Info));
    assert!(!has(&r, "access.no_mfa", Severity::Warning));
    assert!(has(&r, "access.assignment_required", Severity::Warning));
    let f = r
        .access
        .as_ref()
        .unwrap()
        .findings
        .iter()
        .find(|f| f.id == "access.assignment_required")
        .unwrap();
    assert!(f.message.contains("AADSTS50105"));
    assert_eq!(r.access.as_ref().unwrap().assignment_required, Some(true));
}

#[tokio::test]
async fn unreadable_policies_are_a_finding_not_an_error() {
    let g = GraphDouble::start().await.unwrap();
    let p = healthy(&g).await;
    g.set_granted_roles(Some(&["Application.Read.All"]));
    let r = doctor_with_access(&p, &client(&g), Utc::now())
        .await
        .unwrap();
    assert!(has(&r, "access.policies_unreadable", Severity::Warning));
    assert_eq!(r.access.as_ref().unwrap().security_defaults, None);
}
