//! The plan's rules, end to end through `plan()`: the redirect-URI derivation table, every
//! validation error, consent links per cloud, and the CSP scripts.

use entra_onboard_core::cloud::Cloud;
use entra_onboard_core::plan::{Plan, RedirectPurpose, plan};
use entra_onboard_core::profile::{Profile, SignInScope, SsoFor, TenantType};
use entra_onboard_core::steps::consent::{OpenLinkError, check_login_url, link_to_open};
use entra_onboard_core::steps::csp::{Flavor, script, to_ps1};
use entra_onboard_core::validation::Severity;

const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const CLIENT: &str = "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9";

fn base() -> Profile {
    Profile {
        name: "Acme".into(),
        tenant_id: TENANT.into(),
        client_id: CLIENT.into(),
        agent_url: "https://acme.halopsa.com".into(),
        ..Profile::default()
    }
}

fn uris(plan: &Plan) -> Vec<&str> {
    plan.redirect_uris.iter().map(|r| r.uri.as_str()).collect()
}

fn codes(plan: &Plan, severity: Severity) -> Vec<String> {
    plan.issues
        .iter()
        .filter(|i| i.severity == severity)
        .map(|i| i.code.clone())
        .collect()
}

fn error_for<'a>(plan: &'a Plan, field: &str) -> &'a entra_onboard_core::validation::Issue {
    plan.issues
        .iter()
        .find(|i| i.field == field && i.severity == Severity::Error)
        .unwrap_or_else(|| panic!("no error for {field}: {:#?}", plan.issues))
}

// ---- Step 2: the derivation table ---------------------------------------------------

#[test]
fn agents_only_same_host() {
    let p = plan(&base());
    assert!(p.valid, "{:#?}", p.issues);
    assert_eq!(
        uris(&p),
        [
            "https://acme.halopsa.com/auth/account/azureresponse",
            "http://localhost/entra-onboard/callback",
        ]
    );
    assert!(p.redirect_uris.iter().all(|r| r.platform == "Web"));
    assert!(p.redirect_uris[1].remove_after_onboarding);
    assert!(!p.redirect_uris[0].remove_after_onboarding);
}

#[test]
fn both_with_default_portal_import_and_csp() {
    let mut pr = base();
    pr.tenant_type = TenantType::Multi;
    pr.sso_for = SsoFor::Both;
    pr.features.import = true;
    pr.features.csp = true;
    pr.allowed_tenants = vec![TENANT.into()];
    let p = plan(&pr);
    assert!(p.valid, "{:#?}", p.issues);
    assert_eq!(
        uris(&p),
        [
            "https://acme.halopsa.com/auth/account/azureresponse",
            "https://acme.halopsa.com/portal/auth/account/azureresponse",
            "https://acme.halopsa.com/azure/auth",
            "https://acme.halopsa.com/config/integrations/microsoftcsp",
            "http://localhost/entra-onboard/callback",
        ]
    );
    assert_eq!(
        p.effective_portal_url.as_deref(),
        Some("https://acme.halopsa.com/portal")
    );
}

#[test]
fn portal_on_a_different_host() {
    let mut pr = base();
    pr.sso_for = SsoFor::Users;
    pr.portal_url = Some("https://Support.Acme.com/portal/".into());
    let p = plan(&pr);
    assert!(p.valid, "{:#?}", p.issues);
    assert_eq!(
        uris(&p),
        [
            "https://support.acme.com/portal/auth/account/azureresponse",
            "http://localhost/entra-onboard/callback",
        ]
    );
    assert!(codes(&p, Severity::Info).contains(&"portal_url.other_host".to_string()));
}

/// Issue 14 point 6: a portal on its own domain typed without a path is named, with the
/// /portal address Halo's CSP guide uses; what was typed is still what the URI uses.
#[test]
fn a_portal_without_a_path_is_named_with_the_portal_path_halo_expects() {
    let mut pr = base();
    pr.sso_for = SsoFor::Users;
    pr.portal_url = Some("https://support.acme.com".into());
    let p = plan(&pr);
    let w = p
        .issues
        .iter()
        .find(|i| i.code == "portal_url.no_portal_path")
        .unwrap_or_else(|| panic!("{:#?}", p.issues));
    assert_eq!(
        (w.field.as_str(), w.severity),
        ("portal_url", Severity::Warning)
    );
    assert!(
        w.message.contains("/portal/auth/account/azureresponse"),
        "{}",
        w.message
    );
    assert!(
        w.fix.contains("https://support.acme.com/portal"),
        "{}",
        w.fix
    );
    assert_eq!(
        uris(&p)[0],
        "https://support.acme.com/auth/account/azureresponse"
    );
    // On the agent's own host it would share the agent's URI.
    pr.portal_url = Some("https://acme.halopsa.com/".into());
    let p = plan(&pr);
    let w = p
        .issues
        .iter()
        .find(|i| i.code == "portal_url.no_portal_path")
        .unwrap();
    assert!(w.message.contains("agent application's"), "{}", w.message);
    // With a path, or not typed at all, nothing is said.
    for portal in [Some("https://support.acme.com/portal"), None, Some("  ")] {
        pr.portal_url = portal.map(str::to_string);
        let p = plan(&pr);
        assert!(
            !p.issues
                .iter()
                .any(|i| i.code == "portal_url.no_portal_path"),
            "{portal:?}"
        );
    }
}

#[test]
fn custom_auth_url_serves_agents_and_users_once() {
    let mut pr = base();
    pr.sso_for = SsoFor::Both;
    pr.auth_url = Some("https://halo.acme.local/authserver".into());
    let p = plan(&pr);
    assert!(p.valid, "{:#?}", p.issues);
    assert_eq!(
        p.redirect_uris[0].uri,
        "https://halo.acme.local/authserver/account/azureresponse"
    );
    assert_eq!(
        p.redirect_uris[0].purposes,
        [RedirectPurpose::AgentSso, RedirectPurpose::UserSso],
        "one registration serves both"
    );
    assert_eq!(p.redirect_uris.len(), 2);
}

#[test]
fn url_normalisation_reaches_the_uris() {
    let mut pr = base();
    pr.agent_url = "  HTTPS://ACME.HaloPSA.com/  ".into();
    let p = plan(&pr);
    assert_eq!(
        p.redirect_uris[0].uri,
        "https://acme.halopsa.com/auth/account/azureresponse"
    );
    // …but what was typed is not rewritten in the profile.
    assert_eq!(pr.agent_url, "  HTTPS://ACME.HaloPSA.com/  ");
}

#[test]
fn each_cloud_uses_its_own_hosts() {
    for (cloud, login, graph) in [
        (
            Cloud::Global,
            "login.microsoftonline.com",
            "graph.microsoft.com",
        ),
        (
            Cloud::Usgov,
            "login.microsoftonline.us",
            "graph.microsoft.us",
        ),
        (
            Cloud::UsgovDod,
            "login.microsoftonline.us",
            "dod-graph.microsoft.us",
        ),
        (
            Cloud::China,
            "login.partner.microsoftonline.cn",
            "microsoftgraph.chinacloudapi.cn",
        ),
    ] {
        let mut pr = base();
        pr.cloud = cloud;
        let p = plan(&pr);
        let c = p.consent.expect("consent link");
        assert!(
            c.url
                .starts_with(&format!("https://{login}/{TENANT}/v2.0/adminconsent?")),
            "{}",
            c.url
        );
        let url = url::Url::parse(&c.url).unwrap();
        let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(q["scope"], format!("https://{graph}/.default"));
        assert_eq!(q["client_id"], CLIENT);
        assert_eq!(
            q["redirect_uri"],
            "https://acme.halopsa.com/auth/account/azureresponse"
        );
        assert!(!q["state"].is_empty());
        assert_eq!(p.cloud.graph_host, graph);
    }
}

// ---- Step 2: Microsoft's redirect URI rules -----------------------------------------

#[test]
fn redirect_uri_over_256_characters_is_an_error_on_its_source_field() {
    let mut pr = base();
    pr.agent_url = format!("https://acme.halopsa.com/{}", "a".repeat(220));
    let p = plan(&pr);
    let e = error_for(&p, "agent_url");
    assert_eq!(e.code, "agent_url.redirect_too_long");
    assert_eq!(e.step, 2);
}

#[test]
fn forbidden_characters_are_errors() {
    for c in ['!', '$', '\'', '(', ')', ',', ';'] {
        let mut pr = base();
        pr.agent_url = format!("https://acme.halopsa.com/halo{c}x");
        let p = plan(&pr);
        let e = error_for(&p, "agent_url");
        assert_eq!(e.code, "agent_url.redirect_forbidden_chars", "{c}");
        assert!(e.message.contains(c), "{c}: {}", e.message);
        assert!(!p.valid);
    }
}

// ---- Step 1: validation errors name the field and the fix ------------------------------

#[test]
fn every_basics_error() {
    type Case = (&'static str, fn(&mut Profile), &'static str);
    let cases: &[Case] = &[
        ("name", |p| p.name = "  ".into(), "name.required"),
        ("name", |p| p.name = "x".repeat(101), "name.too_long"),
        (
            "tenant_id",
            |p| p.tenant_id = String::new(),
            "tenant_id.required",
        ),
        (
            "tenant_id",
            |p| p.tenant_id = "acme".into(),
            "tenant_id.not_guid",
        ),
        (
            "tenant_id",
            |p| p.tenant_id = "common".into(),
            "tenant_id.not_a_tenant",
        ),
        (
            "client_id",
            |p| p.client_id = String::new(),
            "client_id.required",
        ),
        (
            "client_id",
            |p| p.client_id = "12345".into(),
            "client_id.not_guid",
        ),
        (
            "client_id",
            |p| p.client_id = TENANT.into(),
            "client_id.same_as_tenant",
        ),
        (
            "client_id",
            |p| p.client_id = "00000003-0000-0000-c000-000000000000".into(),
            "client_id.microsoft_app",
        ),
        (
            "agent_url",
            |p| p.agent_url = String::new(),
            "agent_url.required",
        ),
        (
            "agent_url",
            |p| p.agent_url = "http://acme.halopsa.com".into(),
            "agent_url.not_https",
        ),
        (
            "agent_url",
            |p| p.agent_url = "acme.halopsa.com".into(),
            "agent_url.not_a_url",
        ),
        (
            "agent_url",
            |p| p.agent_url = "https://acme.halopsa.com?x=1".into(),
            "agent_url.has_query",
        ),
        (
            "agent_url",
            |p| p.agent_url = "https://u:p@acme.halopsa.com".into(),
            "agent_url.has_credentials",
        ),
        (
            "agent_url",
            |p| p.agent_url = "https://*.halopsa.com".into(),
            "agent_url.wildcard",
        ),
        (
            "portal_url",
            |p| p.portal_url = Some("ftp://x.com".into()),
            "portal_url.not_https",
        ),
        (
            "auth_url",
            |p| p.auth_url = Some("https://x.com/#a".into()),
            "auth_url.has_query",
        ),
        (
            "authority",
            |p| p.authority = Some("http://login.evil.com".into()),
            "authority.not_https",
        ),
        (
            "authority",
            |p| p.authority = Some("not a url".into()),
            "authority.not_a_url",
        ),
    ];
    for (field, mutate, code) in cases {
        let mut pr = base();
        mutate(&mut pr);
        let p = plan(&pr);
        let e = error_for(&p, field);
        assert_eq!(&e.code, code, "{field}");
        assert!(
            !e.message.is_empty() && !e.fix.is_empty(),
            "{code} must say what and how"
        );
        assert!(!p.valid, "{code}");
    }
}

#[test]
fn missing_https_gets_a_concrete_fix() {
    let mut pr = base();
    pr.agent_url = "acme.halopsa.com".into();
    let e = error_for(&plan(&pr), "agent_url").clone();
    assert_eq!(e.fix, "Add https:// in front: https://acme.halopsa.com");
}

#[test]
fn a_domain_for_the_tenant_is_a_warning_and_still_works() {
    let mut pr = base();
    pr.tenant_id = "Acme.onmicrosoft.com".into();
    let p = plan(&pr);
    assert!(p.valid);
    assert!(codes(&p, Severity::Warning).contains(&"tenant_id.domain".to_string()));
    assert!(
        p.consent
            .unwrap()
            .url
            .contains("/acme.onmicrosoft.com/v2.0/adminconsent")
    );
}

#[test]
fn loopback_authority_is_accepted_for_tests() {
    let mut pr = base();
    pr.authority = Some("http://127.0.0.1:8080/".into());
    let p = plan(&pr);
    assert!(p.valid, "{:#?}", p.issues);
    assert_eq!(p.authority, "http://127.0.0.1:8080");
    assert!(p.consent.unwrap().url.starts_with("http://127.0.0.1:8080/"));
}

// ---- Step 4: consent link --------------------------------------------------------------

#[test]
fn multi_tenant_consent_uses_organizations_never_common() {
    let mut pr = base();
    pr.tenant_type = TenantType::Multi;
    pr.allowed_tenants = vec![TENANT.into()];
    let c = plan(&pr).consent.unwrap();
    assert_eq!(c.tenant_segment, "organizations");
    assert!(c.url.contains("/organizations/v2.0/adminconsent?"));
    assert!(!c.url.contains("/common/"));
}

#[test]
fn no_consent_link_while_ids_are_wrong() {
    let mut pr = base();
    pr.client_id = "nope".into();
    assert!(plan(&pr).consent.is_none());
    assert_eq!(link_to_open(&pr), Err(OpenLinkError::NoLink));
}

#[test]
fn only_login_host_links_are_opened() {
    let pr = base();
    let url = link_to_open(&pr).unwrap();
    assert_eq!(url.host_str(), Some("login.microsoftonline.com"));
    for bad in [
        "http://login.microsoftonline.com/x",
        "https://login.microsoftonline.com.evil.com/x",
        "https://evil.com/login.microsoftonline.com/",
        "file:///etc/passwd",
        "https://login.microsoftonline.us/x",
    ] {
        assert!(check_login_url(&pr, bad).is_err(), "{bad}");
    }
    let mut china = base();
    china.cloud = Cloud::China;
    assert!(check_login_url(&china, "https://login.chinacloudapi.cn/x").is_ok());
}

// ---- Step 5: CSP scripts ------------------------------------------------------------------

#[test]
fn csp_script_per_cloud_and_flavour() {
    let app = entra_onboard_core::ids::ClientId::parse(CLIENT).unwrap();
    let g = script(&app, Cloud::UsgovDod, Flavor::Graph);
    assert!(g.contains("Connect-MgGraph -Environment USGovDoD"));
    assert!(g.contains("https://dod-graph.microsoft.us/v1.0/directoryObjects/"));
    assert!(g.contains(&format!("$AppId = '{CLIENT}'")));
    assert!(g.contains("GDAP"), "the GDAP consent note is in the script");
    let a = script(&app, Cloud::China, Flavor::Azuread);
    assert!(a.contains("Connect-AzureAD -AzureEnvironmentName AzureChinaCloud"));
    assert!(a.contains("Add-AzureADGroupMember"));
    let z = script(&app, Cloud::Global, Flavor::Az);
    assert!(z.contains("Connect-AzAccount -Environment AzureCloud"));
    for s in [&g, &a, &z] {
        assert!(s.is_ascii());
    }
    let ps1 = to_ps1(&g);
    assert!(ps1.contains("\r\n") && !ps1.replace("\r\n", "").contains('\n'));
}

/// Issue 14 point 5: the least privileged scopes Microsoft's "Add members" page names for
/// a service-principal member, the roles that may run it, and the larger scope only for a
/// role-assignable AdminAgents.
#[test]
fn the_graph_script_asks_for_the_least_that_adds_a_service_principal() {
    let app = entra_onboard_core::ids::ClientId::parse(CLIENT).unwrap();
    let g = script(&app, Cloud::Global, Flavor::Graph);
    let connects: Vec<&str> = g
        .lines()
        .filter(|l| l.trim_start().starts_with("Connect-MgGraph"))
        .collect();
    assert_eq!(connects.len(), 2, "{g}");
    assert!(
        connects[0].contains(
            "-Scopes 'GroupMember.ReadWrite.All', 'Application.ReadWrite.All' -NoWelcome"
        )
    );
    assert!(
        !connects[0].contains("Group.ReadWrite.All'") && !connects[0].contains("RoleManagement")
    );
    // The second connect only runs inside the role-assignable check.
    let check = g
        .find("if ($group.IsAssignableToRole)")
        .expect("the role-assignable check");
    assert!(g.find(connects[1]).unwrap() > check);
    assert!(connects[1].contains("'RoleManagement.ReadWrite.Directory'"));
    assert!(g.contains("Privileged Role Administrator"));
    assert!(g.contains("Groups Administrator or User"));
    assert!(!g.contains("signed in as a Global Administrator."));
    let mut pr = base();
    pr.tenant_type = TenantType::Multi;
    pr.features.csp = true;
    pr.allowed_tenants = vec![TENANT.into()];
    let p = plan(&pr);
    assert!(codes(&p, Severity::Info).contains(&"csp.script_role".to_string()));
}

#[test]
fn hostile_app_id_never_reaches_a_script() {
    let mut pr = base();
    pr.tenant_type = TenantType::Multi;
    pr.features.csp = true;
    pr.allowed_tenants = vec![TENANT.into()];
    pr.client_id = "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9'; Remove-Item -Recurse C:\\ ; '".into();
    let p = plan(&pr);
    assert!(p.csp_scripts.is_none());
    assert_eq!(error_for(&p, "client_id").code, "client_id.not_guid");
    // A braced, upper-case GUID is fine and is canonicalised before it is interpolated.
    pr.client_id = "{0A1B2C3D-4E5F-6071-8293-A4B5C6D7E8F9}".into();
    let p = plan(&pr);
    assert!(
        p.csp_scripts
            .unwrap()
            .graph
            .contains(&format!("'{CLIENT}'"))
    );
    assert!(entra_onboard_core::ids::ClientId::parse("'; whoami; '").is_none());
}

#[test]
fn csp_needs_a_multi_tenant_app() {
    let mut pr = base();
    pr.features.csp = true;
    let p = plan(&pr);
    assert_eq!(error_for(&p, "tenant_type").code, "csp.needs_multi_tenant");
}

// ---- Step 6: the guide's rules -------------------------------------------------------------

#[test]
fn sso_rules() {
    let mut pr = base();
    pr.tenant_type = TenantType::Multi;
    pr.sso.auto_create_users = true;
    pr.sso.sign_in_scope = SignInScope::Restricted;
    pr.sso.federated_domain = Some("https://adfs.acme.com".into());
    pr.allowed_tenants = vec!["acme.com".into(), String::new()];
    pr.sso.auto_redirect_users = true; // sso_for = agents
    let p = plan(&pr);
    assert_eq!(
        error_for(&p, "sso.auto_create_users").code,
        "sso.auto_create_multi"
    );
    assert_eq!(
        error_for(&p, "allowed_tenants").code,
        "allowed_tenants.required"
    );
    assert_eq!(
        error_for(&p, "allowed_tenants[0]").code,
        "allowed_tenants.not_guid"
    );
    assert_eq!(
        error_for(&p, "allowed_tenants[1]").code,
        "allowed_tenants.empty"
    );
    assert_eq!(
        error_for(&p, "sso.federated_domain").code,
        "sso.federated_domain.not_fqdn"
    );
    assert_eq!(
        error_for(&p, "sso.auto_redirect_users").code,
        "sso.redirect_without_sso"
    );
    assert!(p.issues.iter().all(|i| i.step >= 1 && i.step <= 6));
}

#[test]
fn auto_redirect_before_a_passing_test_is_a_lockout_warning() {
    let mut pr = base();
    pr.sso.auto_redirect_agents = true;
    let p = plan(&pr);
    assert!(p.valid);
    assert!(codes(&p, Severity::Warning).contains(&"sso.redirect_lockout".to_string()));
    pr.verified = Some(entra_onboard_core::profile::Verification {
        verified_at: chrono::Utc::now(),
        signed_in_as: None,
    });
    assert!(!codes(&plan(&pr), Severity::Warning).contains(&"sso.redirect_lockout".to_string()));
}

#[test]
fn graph_endpoint_from_another_cloud_is_an_error() {
    let mut pr = base();
    pr.sso.graph_endpoint = Some("https://graph.microsoft.us".into());
    assert_eq!(
        error_for(&plan(&pr), "sso.graph_endpoint").code,
        "sso.graph_endpoint.other_cloud"
    );
}

#[test]
fn settings_sheet_lists_what_to_set() {
    let mut pr = base();
    pr.sso_for = SsoFor::Both;
    pr.sso.remember_me = true;
    let p = plan(&pr);
    let get = |setting: &str| {
        p.settings_sheet
            .iter()
            .find(|r| r.setting == setting)
            .map(|r| r.value.as_str())
            .unwrap_or_else(|| panic!("no row {setting}"))
    };
    assert_eq!(get("Tenant/Application Type"), "Single Tenant");
    assert_eq!(get("Azure Tenant ID"), TENANT);
    assert_eq!(get("Azure Application ID"), CLIENT);
    assert_eq!(
        get("Allow Single Sign-On for Agents and/or Users"),
        "Agents and Users"
    );
    assert_eq!(get("Remember Me when using a SSO method"), "On");
    assert_eq!(get("Graph Endpoint"), "https://graph.microsoft.com");
    assert!(
        p.settings_sheet
            .iter()
            .all(|r| r.setting != "Azure Tenant Sign-In Scope")
    );
}

/// The sheet says where the credential goes in Halo: the secret on the connection, or the
/// .pfx and its password under Certificates first. Values kept in the keychain are marked
/// (the app copies them from Rust) and never appear in the sheet itself.
#[test]
fn settings_sheet_says_where_the_credential_goes() {
    use entra_onboard_core::profile::CredentialKind;
    use entra_onboard_core::steps::credential::StoredValue;

    let mut pr = base();
    pr.credential.kind = CredentialKind::Secret;
    // A hand-edited hint holding more than three characters shows only three.
    pr.credential.secret_hint = Some("Abcdefgh".into());
    let p = plan(&pr);
    let secret = p
        .settings_sheet
        .iter()
        .find(|r| r.setting == "Client Secret")
        .expect("a Client Secret row");
    assert_eq!(secret.stored, Some(StoredValue::ClientSecret));
    assert!(secret.value.contains("Abc…"), "{}", secret.value);
    assert!(!secret.value.contains("Abcd"), "{}", secret.value);
    assert!(p.settings_sheet.iter().all(|r| r.setting != "Password"));

    pr.credential.kind = CredentialKind::Certificate;
    pr.credential.thumbprint = Some("A".repeat(40));
    pr.credential.certificate_file = Some("/home/me/Downloads/acme-2027-01-01.pfx".into());
    let p = plan(&pr);
    let at = |setting: &str| {
        p.settings_sheet
            .iter()
            .position(|r| r.setting == setting)
            .unwrap_or_else(|| panic!("no row {setting}"))
    };
    let pfx = &p.settings_sheet[at("Certificate file (.pfx)")];
    assert_eq!(
        pfx.screen,
        "Configuration > Advanced Settings > Certificates"
    );
    assert_eq!(pfx.value, "acme-2027-01-01.pfx");
    let password = &p.settings_sheet[at("Password")];
    assert_eq!(password.stored, Some(StoredValue::CertificatePassword));
    assert_eq!(password.screen, pfx.screen);
    // Uploaded before the connection is pointed at it.
    assert!(at("Password") < at("Certificate"));
    assert_eq!(p.settings_sheet[at("Certificate")].value, "A".repeat(40));
    assert!(
        p.settings_sheet
            .iter()
            .all(|r| r.setting != "Client Secret")
    );
    // Only keychain rows are marked.
    assert_eq!(
        p.settings_sheet
            .iter()
            .filter(|r| r.stored.is_some())
            .count(),
        1
    );
}

#[test]
fn plan_is_pure() {
    let mut pr = base();
    pr.sso_for = SsoFor::Both;
    assert_eq!(plan(&pr), plan(&pr));
}

// ---- Step 5: CSP's two app registrations ------------------------------------------------

const PC_CLIENT: &str = "1b2c3d4e-5f60-4172-8394-a5b6c7d8e9f0";

fn csp() -> Profile {
    let mut pr = base();
    pr.tenant_type = TenantType::Multi;
    pr.features.csp = true;
    pr.allowed_tenants = vec![TENANT.into()];
    pr.partner_center.client_id = PC_CLIENT.into();
    pr
}

fn issue<'a>(plan: &'a Plan, code: &str) -> &'a entra_onboard_core::validation::Issue {
    plan.issues
        .iter()
        .find(|i| i.code == code)
        .unwrap_or_else(|| panic!("no {code}: {:#?}", plan.issues))
}

#[test]
fn csp_plans_both_apps_in_one_customer() {
    use entra_onboard_core::steps::partner_center::CspAppRole;
    let p = plan(&csp());
    let pc = p.partner_center.as_ref().expect("CSP is on");
    assert_eq!(pc.apps.len(), 2);
    let (single, multi) = (&pc.apps[0], &pc.apps[1]);
    assert_eq!(single.role, CspAppRole::PartnerCenter);
    assert_eq!(single.client_id.as_deref(), Some(PC_CLIENT));
    assert_eq!(
        single.redirect_uris,
        ["https://acme.halopsa.com/azure/auth"]
    );
    assert!(single.account_type.contains("Single tenant"));
    assert_eq!(single.permissions.len(), 1);
    assert!(single.permissions[0].contains("user_impersonation"));
    assert!(single.halo_section.contains("Microsoft Partner Center"));
    assert_eq!(multi.role, CspAppRole::MultiTenant);
    assert_eq!(multi.client_id.as_deref(), Some(CLIENT));
    assert_eq!(
        multi.redirect_uris,
        ["https://acme.halopsa.com/config/integrations/microsoftcsp"]
    );
    assert!(
        multi
            .permissions
            .iter()
            .all(|s| s.starts_with("Microsoft Graph"))
    );
    // The registration rows: single tenant, its redirect, the one permission.
    let rows = pc.checklist.join("\n");
    assert!(rows.contains("Accounts in this organizational directory only (Single tenant)"));
    assert!(rows.contains("https://acme.halopsa.com/azure/auth"));
    assert!(rows.contains("user_impersonation"));
    assert_eq!(pc.display_name, "Acme Partner Center");
    // Step 2 no longer sends the admin off to a second customer profile.
    let step2 = p.registration_checklist.join("\n");
    assert!(!step2.contains("own customer profile"), "{step2}");
    assert!(step2.contains("step 5"), "{step2}");
    // The rules cite the guide and Microsoft Learn.
    let ids: Vec<&str> = pc.rules.iter().map(|r| r.id.as_str()).collect();
    for id in [
        "pc.only_one_permission",
        "pc.authorising_user",
        "pc.strong_mfa",
        "pc.no_mfa_exclusion",
        "pc.token_expiration",
    ] {
        assert!(ids.contains(&id), "{id}");
    }
    let mfa = pc.rules.iter().find(|r| r.id == "pc.strong_mfa").unwrap();
    assert!(mfa.text.contains("not SMS"), "{}", mfa.text);
    assert!(
        mfa.source.contains("https://learn.microsoft.com/"),
        "{}",
        mfa.source
    );
    assert!(p.valid, "{:#?}", p.issues);
}

#[test]
fn the_partner_center_app_never_gets_graph_permissions() {
    let mut pr = csp();
    pr.features.import = true;
    pr.sync.map_last_sign_in = true;
    pr.sync.active_licences = vec!["SPE_E3".into()];
    let p = plan(&pr);
    let pc = p.partner_center.as_ref().unwrap();
    assert_eq!(
        pc.permission.resource_app_id,
        "fa3d9a0c-3fb0-42cc-9193-47c7ecd2edbd"
    );
    assert_eq!(pc.permission.value, "user_impersonation");
    assert_eq!(pc.apps[0].permissions.len(), 1);
    // The Graph permissions the sync needs land on the multi-tenant app only.
    assert!(
        pc.apps[1]
            .permissions
            .iter()
            .any(|s| s.contains("AuditLog.Read.All"))
    );
}

#[test]
fn partner_center_client_id_is_checked() {
    let mut pr = csp();
    pr.partner_center.client_id = String::new();
    let p = plan(&pr);
    assert_eq!(
        issue(&p, "partner_center.client_id.required").severity,
        Severity::Warning
    );
    assert!(
        p.valid,
        "a missing Partner Center app does not block the rest"
    );
    assert!(p.partner_center.as_ref().unwrap().consent.is_none());

    pr.partner_center.client_id = CLIENT.to_uppercase();
    let p = plan(&pr);
    assert_eq!(
        error_for(&p, "partner_center.client_id").code,
        "partner_center.same_as_main_app"
    );

    pr.partner_center.client_id = "fa3d9a0c-3fb0-42cc-9193-47c7ecd2edbd".into();
    let p = plan(&pr);
    assert_eq!(
        error_for(&p, "partner_center.client_id").code,
        "partner_center.client_id.microsoft_app"
    );

    pr.partner_center.client_id = "secret~value".into();
    let p = plan(&pr);
    let e = error_for(&p, "partner_center.client_id");
    assert_eq!(
        (e.code.as_str(), e.step),
        ("partner_center.client_id.not_guid", 5)
    );

    // CSP off: no Partner Center part and no issue about it.
    let mut off = csp();
    off.features.csp = false;
    off.partner_center.client_id = "junk".into();
    let p = plan(&off);
    assert!(p.partner_center.is_none());
    assert!(
        !p.issues
            .iter()
            .any(|i| i.field.starts_with("partner_center"))
    );
}

#[test]
fn partner_center_consent_is_in_the_partner_tenant() {
    let p = plan(&csp());
    let c = p.partner_center.as_ref().unwrap().consent.as_ref().unwrap();
    assert_eq!(
        c.tenant_segment, TENANT,
        "single tenant: never organizations"
    );
    assert_eq!(c.redirect_uri, "https://acme.halopsa.com/azure/auth");
    assert!(
        c.url.starts_with(&format!(
            "https://login.microsoftonline.com/{TENANT}/v2.0/adminconsent?"
        )),
        "{}",
        c.url
    );
    assert!(
        c.url.contains(&format!("client_id={PC_CLIENT}")),
        "{}",
        c.url
    );
    assert!(
        c.url
            .contains("redirect_uri=https%3A%2F%2Facme.halopsa.com%2Fazure%2Fauth"),
        "{}",
        c.url
    );
    // The main app's link stays the multi-tenant one.
    assert_eq!(p.consent.as_ref().unwrap().tenant_segment, "organizations");
    let opened = entra_onboard_core::steps::partner_center::link_to_open(&csp()).unwrap();
    assert_eq!(opened.as_str(), c.url);
}

#[test]
fn partner_center_credential_is_its_own() {
    use entra_onboard_core::profile::CredentialKind;
    let mut pr = csp();
    let p = plan(&pr);
    assert_eq!(
        issue(&p, "partner_center.credential.none").severity,
        Severity::Warning
    );
    pr.partner_center.credential.kind = CredentialKind::Secret;
    pr.partner_center.credential.secret_hint = Some("Pc7".into());
    pr.partner_center.credential.expires_on = Some("2026-07-01".parse().unwrap());
    let p = plan(&pr);
    assert!(
        !p.issues
            .iter()
            .any(|i| i.field.starts_with("partner_center.credential")),
        "{:#?}",
        p.issues
    );
    assert_eq!(
        p.partner_center.as_ref().unwrap().apps[0].credential,
        "Client secret · hint Pc7… · expires 2026-07-01"
    );
    pr.partner_center.credential.kind = CredentialKind::Federated;
    let p = plan(&pr);
    assert_eq!(
        error_for(&p, "partner_center.credential.kind").code,
        "partner_center.credential.federated"
    );
}
