//! CSP's two app registrations against the sandbox's Graph double: "Create it for me"
//! (`apply_for`, the path the app and the CLI take) creates the multi-tenant app and the
//! single-tenant Partner Center app, the doctor finds both clean, a broken Partner Center
//! app is found and repaired, and its secret goes to its own sink.

use std::sync::{Arc, Mutex};

use chrono::Utc;
use entra_onboard_engine::graph::apply::{
    ApplyOptions, CredentialRequest, SecretSink, apply_partner_center, update_partner_center,
};
use entra_onboard_engine::graph::doctor::{FixAction, doctor};
use entra_onboard_engine::graph::session::{ApplyRequest, GraphSession, apply_for, fix_for};
use entra_onboard_engine::ids::Sensitive;
use entra_onboard_engine::profile::{CredentialKind, Profile, TenantType};
use entra_onboard_sandbox::graph::GraphDouble;
use serde_json::{Value, json};

const GRAPH: &str = "00000003-0000-0000-c000-000000000000";
const PARTNER_CENTER: &str = "fa3d9a0c-3fb0-42cc-9193-47c7ecd2edbd";
const USER_IMPERSONATION: &str = "1cebfa2a-fb4d-419e-b5f9-839b4383e05a";

fn profile(g: &GraphDouble) -> Profile {
    let mut p = Profile::new("Acme");
    p.authority = Some(g.origin());
    p.agent_url = "https://acme.halopsa.com".into();
    p.tenant_type = TenantType::Multi;
    p.tenant_id = g.tenant_id();
    p.allowed_tenants = vec![g.tenant_id()];
    p.features.csp = true;
    p
}

fn request() -> ApplyRequest {
    ApplyRequest {
        add_secret: false,
        secret_months: 6,
        grant_consent: true,
        remove_wizard_uri: false,
        dry_run: false,
    }
}

fn app<'a>(apps: &'a [Value], name: &str) -> &'a Value {
    apps.iter()
        .find(|a| a["displayName"] == name)
        .unwrap_or_else(|| panic!("no app {name}: {apps:#?}"))
}

fn sp_id(g: &GraphDouble, app_id: &str) -> String {
    g.service_principals()
        .into_iter()
        .find(|s| s["appId"] == app_id)
        .and_then(|s| s["id"].as_str().map(str::to_string))
        .unwrap_or_else(|| panic!("no service principal for {app_id}"))
}

/// One "Create it for me" with CSP on makes both apps, as the guide says.
async fn created(g: &GraphDouble) -> (GraphSession, Profile) {
    let mut p = profile(g);
    let s = GraphSession::with_token(&p, Sensitive::new(g.token())).unwrap();
    let r = apply_for(&s, &mut p, &request(), None, None).await.unwrap();
    assert!(r.ok, "{r:#?}");
    let pc = r
        .partner_center
        .as_ref()
        .expect("CSP on: the Partner Center app ran too");
    assert!(pc.ok && pc.created_application, "{pc:#?}");
    (s, p)
}

#[tokio::test]
async fn apply_creates_both_apps_and_the_doctor_finds_them_clean() {
    let g = GraphDouble::start().await.unwrap();
    let (s, p) = created(&g).await;
    let apps = g.applications();
    assert_eq!(apps.len(), 2);
    let main = app(&apps, "Acme");
    let pc = app(&apps, "Acme Partner Center");
    // The profile knows both, and they are two registrations.
    assert_eq!(p.client_id, main["appId"].as_str().unwrap());
    assert_eq!(p.partner_center.client_id, pc["appId"].as_str().unwrap());
    assert_ne!(p.client_id, p.partner_center.client_id);
    // The multi-tenant app: the CSP redirect and Graph permissions.
    assert_eq!(main["signInAudience"], "AzureADMultipleOrgs");
    assert!(
        main["web"]["redirectUris"]
            .as_array()
            .unwrap()
            .contains(&json!(
                "https://acme.halopsa.com/config/integrations/microsoftcsp"
            ))
    );
    assert!(
        main["requiredResourceAccess"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["resourceAppId"] == GRAPH)
    );
    // The Partner Center app: single tenant, one redirect, exactly one permission.
    assert_eq!(pc["signInAudience"], "AzureADMyOrg");
    assert_eq!(
        pc["web"]["redirectUris"],
        json!(["https://acme.halopsa.com/azure/auth"])
    );
    assert_eq!(
        pc["requiredResourceAccess"],
        json!([{"resourceAppId": PARTNER_CENTER, "resourceAccess": [{"id": USER_IMPERSONATION, "type": "Scope"}]}])
    );
    // Admin consent for user_impersonation, on Partner Center's service principal.
    let pc_sp = sp_id(&g, pc["appId"].as_str().unwrap());
    let resource = sp_id(&g, PARTNER_CENTER);
    let grants: Vec<Value> = g
        .grants()
        .into_iter()
        .filter(|x| x["clientId"] == pc_sp.as_str())
        .collect();
    assert_eq!(grants.len(), 1, "{grants:#?}");
    assert_eq!(grants[0]["resourceId"], resource.as_str());
    assert_eq!(grants[0]["scope"], "user_impersonation");
    assert_eq!(grants[0]["consentType"], "AllPrincipals");

    let d = doctor(&p, s.client(), Utc::now()).await.unwrap();
    let pcd = d
        .partner_center
        .as_ref()
        .expect("CSP on: both apps checked");
    assert!(d.ok, "{:#?}", (&d.findings, &pcd.findings));
    assert!(
        d.findings
            .iter()
            .all(|f| f.severity != entra_onboard_engine::validation::Severity::Error)
    );
    assert!(pcd.findings.is_empty(), "{:#?}", pcd.findings);
    assert_eq!(
        pcd.application.as_ref().unwrap().app_id,
        p.partner_center.client_id
    );

    // A second run sends no write for either app.
    let before = g.writes().len();
    let mut again = p.clone();
    let r = apply_for(&s, &mut again, &request(), None, None)
        .await
        .unwrap();
    assert!(r.ok, "{r:#?}");
    assert_eq!(g.writes().len(), before, "{:#?}", &g.writes()[before..]);
    assert_eq!(again, p);
}

#[tokio::test]
async fn a_partner_center_app_with_graph_permissions_is_found_and_repaired() {
    let g = GraphDouble::start().await.unwrap();
    let (s, mut p) = created(&g).await;
    // What the old advice ("its own customer profile" with import on) produced: Graph
    // permissions on it, and the import redirect typed with a trailing slash.
    g.edit_application(&p.partner_center.client_id, |a| {
        a["requiredResourceAccess"] = json!([
            {"resourceAppId": GRAPH, "resourceAccess": [{"id": "df021288-bdef-4463-88db-98f22de89214", "type": "Role"}]},
            {"resourceAppId": PARTNER_CENTER, "resourceAccess": [{"id": USER_IMPERSONATION, "type": "Scope"}]}
        ]);
        a["web"]["redirectUris"] = json!(["https://acme.halopsa.com/azure/auth/"]);
    });
    let d = doctor(&p, s.client(), Utc::now()).await.unwrap();
    assert!(!d.ok);
    let pcd = d.partner_center.as_ref().unwrap();
    let ids: Vec<&str> = pcd.findings.iter().map(|f| f.id.as_str()).collect();
    assert!(ids.contains(&"partner_center.permissions.extra"), "{ids:?}");
    assert!(
        ids.contains(&"partner_center.redirect.near_miss"),
        "{ids:?}"
    );
    let extra = pcd
        .findings
        .iter()
        .find(|f| f.id == "partner_center.permissions.extra")
        .unwrap();
    assert!(
        extra.message.starts_with("Partner Center app: "),
        "{}",
        extra.message
    );
    assert!(
        extra.message.contains("Microsoft Graph"),
        "{}",
        extra.message
    );
    assert_eq!(extra.auto_fix, Some(FixAction::Apply));

    let r = fix_for(&s, &mut p, &FixAction::Apply, None, None)
        .await
        .unwrap();
    assert!(r.ok, "{r:#?}");
    let d = doctor(&p, s.client(), Utc::now()).await.unwrap();
    let pcd = d.partner_center.as_ref().unwrap();
    assert!(
        d.ok && pcd
            .findings
            .iter()
            .all(|f| f.id == "partner_center.redirect.extra"),
        "{:#?}",
        pcd.findings
    );
    let pc = g
        .applications()
        .into_iter()
        .find(|a| a["appId"] == p.partner_center.client_id.as_str())
        .unwrap();
    assert_eq!(
        pc["requiredResourceAccess"],
        json!([{"resourceAppId": PARTNER_CENTER, "resourceAccess": [{"id": USER_IMPERSONATION, "type": "Scope"}]}])
    );
}

#[tokio::test]
async fn the_partner_center_secret_is_its_own() {
    let g = GraphDouble::start().await.unwrap();
    let (s, mut p) = created(&g).await;
    let got: Arc<Mutex<Option<String>>> = Arc::default();
    let sink_got = got.clone();
    let sink: SecretSink = Box::new(move |v: &Sensitive<String>| {
        *sink_got.lock().unwrap() = Some(v.expose().clone());
        Ok(())
    });
    let o = ApplyOptions {
        credential: CredentialRequest::Secret {
            months: 6,
            force: false,
        },
        ..ApplyOptions::default()
    };
    let r = apply_partner_center(&p, s.client(), &o, None, Some(sink))
        .await
        .unwrap();
    assert!(r.ok, "{r:#?}");
    let c = r.credential.as_ref().unwrap();
    assert!(c.stored);
    let value = got
        .lock()
        .unwrap()
        .clone()
        .expect("the sink got the secret");
    assert!(value.starts_with(c.hint.as_deref().unwrap()));
    assert!(update_partner_center(&mut p, &r));
    assert_eq!(p.partner_center.credential.kind, CredentialKind::Secret);
    assert!(p.partner_center.credential.expires_on.is_some());
    assert_eq!(
        p.credential.kind,
        CredentialKind::None,
        "the main app's record is untouched"
    );
    // The secret is on the Partner Center app, not on the main app.
    let apps = g.applications();
    assert_eq!(
        app(&apps, "Acme Partner Center")["passwordCredentials"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert!(
        app(&apps, "Acme")["passwordCredentials"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    // Its expiry is checked on its own: the doctor reports against the Partner Center app.
    g.edit_application(&p.partner_center.client_id, |a| {
        a["passwordCredentials"][0]["endDateTime"] =
            json!((Utc::now() + chrono::Duration::days(5)).to_rfc3339());
    });
    let d = doctor(&p, s.client(), Utc::now()).await.unwrap();
    let pcd = d.partner_center.as_ref().unwrap();
    assert!(
        pcd.findings
            .iter()
            .any(|f| f.id == "partner_center.credential.expiring"),
        "{:#?}",
        pcd.findings
    );
    assert!(
        !d.findings
            .iter()
            .any(|f| f.id.contains("credential.expiring"))
    );
}

/// CSP's Partner Center app on a certificate of its own (issue 14 point 1: "each its own
/// secret or certificate"): created into its own files and its own keychain entry, then
/// "Create it for me" uploads *that* certificate to the Partner Center app — not to the main
/// app, and with no secret beside it. Real Secret Service (run under dbus-run-session).
#[tokio::test]
async fn the_partner_center_certificate_is_its_own_and_apply_uploads_it() {
    use entra_onboard_engine::graph::session::partner_center_credential;
    use entra_onboard_engine::keychain::Keychain;
    use entra_onboard_engine::profile::CustomerApp;
    use entra_onboard_engine::steps::certificate::CertificateRequest;

    let g = GraphDouble::start().await.unwrap();
    let (s, mut p) = created(&g).await;
    let kc = Keychain::open_with_service(&format!(
        "com.entraonboard.test.pc-cert.{}",
        uuid::Uuid::new_v4().simple()
    ))
    .expect("a Secret Service (run under dbus-run-session with gnome-keyring)");
    let dir = tempfile::tempdir().unwrap();
    p.partner_center.credential.kind = CredentialKind::Certificate;

    // Not created yet: apply says so and uploads nothing.
    let (req, note) = partner_center_credential(&p, Some(&kc), &CredentialRequest::None);
    assert!(matches!(req, CredentialRequest::None));
    assert!(note.unwrap().contains("cert new --app partner-center"));

    let request = CertificateRequest::for_profile(&p);
    let made = entra_onboard_engine::vault::create_app_certificate(
        &kc,
        &mut p,
        CustomerApp::PartnerCenter,
        &request,
        dir.path(),
        Utc::now(),
    )
    .unwrap();
    assert!(
        made.info.subject.contains("Partner Center app"),
        "{}",
        made.info.subject
    );
    assert!(
        made.files
            .pfx
            .file_name()
            .unwrap()
            .to_string_lossy()
            .contains("partner-center"),
        "{:?}",
        made.files.pfx
    );
    assert_eq!(
        p.credential.kind,
        CredentialKind::None,
        "the main app's record is untouched"
    );
    assert!(
        kc.get_certificate_password(&p.id).unwrap().is_none(),
        "not the main app's entry"
    );
    assert!(
        kc.get_app_certificate_password(&p.id, CustomerApp::PartnerCenter)
            .unwrap()
            .is_some()
    );

    // A secret asked for the main app does not add one beside the certificate.
    let main_secret = CredentialRequest::Secret {
        months: 6,
        force: false,
    };
    let (req, note) = partner_center_credential(&p, Some(&kc), &main_secret);
    assert!(note.is_none());
    let CredentialRequest::Certificate { cert_der } = &req else {
        panic!("the Partner Center app's certificate: {req:?}");
    };
    let o = ApplyOptions {
        credential: req.clone(),
        ..ApplyOptions::default()
    };
    let r = apply_partner_center(&p, s.client(), &o, None, None)
        .await
        .unwrap();
    assert!(r.ok, "{r:#?}");
    let apps = g.applications();
    let pc = app(&apps, "Acme Partner Center");
    let keys = pc["keyCredentials"].as_array().unwrap();
    assert_eq!(keys.len(), 1, "{keys:#?}");
    use base64::Engine as _;
    assert_eq!(
        base64::engine::general_purpose::STANDARD
            .decode(keys[0]["key"].as_str().unwrap())
            .unwrap(),
        *cert_der
    );
    assert!(
        pc["passwordCredentials"]
            .as_array()
            .is_none_or(|a| a.is_empty())
    );
    let main = app(&apps, "Acme");
    assert!(
        main["keyCredentials"]
            .as_array()
            .is_none_or(|a| a.is_empty())
    );
    let _ = kc.delete_app(&p.id, CustomerApp::PartnerCenter);
}
