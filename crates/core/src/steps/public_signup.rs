//! Public sign-up SSO (issue 14 point 7): "anyone ... including personal Microsoft
//! accounts" signs up to the Halo portal through **Azure AD B2C** or its successor
//! **Microsoft Entra External ID** (Halo's B2B guide: "you will need to use B2C SSO. This is
//! typically used by organisations using HaloCRM").
//!
//! The variant is chosen in step 1 ([`crate::profile::PublicSignup`]); the names it needs
//! (tenant name, user flow) are checked by the trust boundary
//! ([`crate::target::SignupService`]), because they become the host and path every
//! sign-in goes to. This module says what changes in steps 2–6:
//!
//! | | Azure AD B2C | External ID |
//! |---|---|---|
//! | where the app lives | the B2C tenant (Azure portal > Azure AD B2C) | the external tenant (Entra admin center) |
//! | what to create | app registration + a "Sign up and sign in" user flow | app registration + a user flow, the app added to it |
//! | authority | `https://<tenant>.b2clogin.com/<tenant>.onmicrosoft.com/<user flow>/v2.0` | `https://<subdomain>.ciamlogin.com/<tenant id>/v2.0` |
//! | issuer (`iss`) | `https://<tenant>.b2clogin.com/<tenant id>/v2.0/` | `https://<tenant id>.ciamlogin.com/<tenant id>/v2.0` |
//! | user-flow claim | `tfp` (`acr` on older policies) | — |
//!
//! Sources (Microsoft Learn): Azure AD B2C is closed to new customers — "Effective May 1,
//! 2025, Azure AD B2C will no longer be available to purchase for new customers"
//! (learn.microsoft.com/azure/active-directory-b2c/whats-new-docs, and the banner of every
//! B2C page); B2C endpoints, claims and the issuer/`tfp` compatibility settings:
//! learn.microsoft.com/azure/active-directory-b2c/tokens-overview; registering a B2C web
//! app: .../active-directory-b2c/tutorial-register-applications; the user-flow prefix:
//! azure-docs includes/active-directory-b2c-app-integration-add-user-flow.md; External ID
//! endpoints and issuer: learn.microsoft.com/entra/identity-platform/security-tokens
//! ("Token endpoints and issuers"); adding the app to a user flow:
//! learn.microsoft.com/entra/external-id/customers/how-to-user-flow-add-application.
//!
//! Left out: Halo's own B2C screen labels (Halo's "Microsoft Entra ID: Single Sign-On
//! (B2C)" guide, usehalo.com/guides/2443, was not readable when this was written, so the
//! settings sheet says which values to enter and asks to confirm the labels there); B2C
//! custom domains; "Create it for me" and the doctor (they drive a workforce tenant through
//! Graph).

use serde::Serialize;
use ts_rs::TS;

use crate::profile::{Profile, SignupVariant, TenantType};
use crate::steps::basics::{Basics, TenantRef};
use crate::steps::redirects::{PlannedRedirect, WIZARD_REDIRECT_URI};
use crate::steps::sso::SettingRow;
use crate::target::{SignupService, TenantSegment};
use crate::validation::Issues;

/// Azure AD B2C's end of sale, as Microsoft Learn words it (whats-new-docs banner).
pub const B2C_CLOSED: &str = "Effective May 1, 2025, Azure AD B2C is no longer available to purchase for new customers (Microsoft Learn); existing B2C tenants keep working. A new customer uses Microsoft Entra External ID, its successor.";

/// What the public sign-up variant resolves to, for steps 1, 2 and 6.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct PublicSignupPlan {
    /// B2C or External ID.
    pub variant: SignupVariant,
    /// "Azure AD B2C" or "Microsoft Entra External ID".
    pub service: String,
    /// The sign-in host (`contoso.b2clogin.com`, `contoso.ciamlogin.com`, or the practice
    /// provider's origin).
    pub host: String,
    /// The authority to give the service desk; absent while the tenant ID is missing
    /// (External ID) or a name is wrong.
    pub authority: Option<String>,
    /// Its OpenID configuration (`<authority>/.well-known/openid-configuration`).
    pub discovery_url: Option<String>,
    /// The `iss` the ID tokens carry (with `<tenant ID>` when only a domain was typed).
    pub issuer: String,
    /// B2C: the user flow and the claim that names it.
    pub user_flow_claim: Option<String>,
    /// Facts the admin should know (B2C's end of sale, what the SSO test checks).
    pub notes: Vec<String>,
}

/// The service of a public sign-up profile, or `None` (workforce, or a name the trust
/// boundary refused; step 1 reports that).
fn service(b: &Basics) -> Option<&SignupService> {
    b.target.as_ref().and_then(|t| t.signup())
}

/// Step 1's checks and the resolved plan for a B2C or External ID profile; `None` for a
/// workforce profile. The tenant name and user flow are checked (and reported) by the
/// trust boundary in step 1.
pub fn check(p: &Profile, b: &Basics, issues: &mut Issues) -> Option<PublicSignupPlan> {
    let variant = p.public_signup.variant;
    if !variant.is_public() {
        return None;
    }
    if variant == SignupVariant::B2c {
        issues.info(
            1,
            "public_signup.variant",
            "public_signup.b2c_closed",
            B2C_CLOSED,
            "Use Azure AD B2C only for a customer who already has a B2C tenant; otherwise choose External ID.",
        );
    }
    // The trust boundary stops at the first bad name; a wrong user flow is still worth
    // saying while the tenant name is being fixed.
    if variant == SignupVariant::B2c
        && !b
            .errors
            .iter()
            .any(|i| i.field == "public_signup.user_flow")
        && let Err(e) = crate::target::check_user_flow(&p.public_signup.user_flow)
    {
        let m = e.to_string();
        let message = match (m.get(..1), m.get(1..)) {
            (Some(first), Some(rest)) => format!("{}{rest}.", first.to_uppercase()),
            _ => m,
        };
        issues.error(1, e.field(), e.code(), message, e.fix());
    }
    if p.tenant_type == TenantType::Multi {
        issues.error(
            1,
            "tenant_type",
            "public_signup.tenant_type",
            "A public sign-up app is registered in one B2C or external tenant; its user flow is what lets anyone sign up, so it is not a multi-tenant app.",
            "Choose 'Single tenant' and enter the B2C or external tenant's Directory (tenant) ID.",
        );
    }
    if p.features.import || p.features.csp {
        issues.warn(
            1,
            if p.features.import {
                "features.import"
            } else {
                "features.csp"
            },
            "public_signup.workforce_feature",
            "Import and CSP read a workforce Entra tenant through Microsoft Graph; they are not part of public sign-up.",
            "Set them up as a separate workforce customer profile, and turn them off here.",
        );
    }
    if !p.sso_for.users() {
        issues.warn(
            1,
            "sso_for",
            "public_signup.agents_only",
            "Public sign-up is for the self-service portal's users (anyone can sign up); agents normally sign in with workforce SSO.",
            "Choose 'Users' (or 'Both' if agents also sign in through this tenant).",
        );
    }
    issues.info(
        4,
        "public_signup.variant",
        "public_signup.consent",
        "No admin-consent link for public sign-up: the app only asks for openid and offline_access.",
        match variant {
            SignupVariant::B2c => "Tick 'Grant admin consent to openid and offline_access permissions' when registering the app in the B2C tenant (step 2).",
            _ => "In the external tenant: the app's API permissions > 'Grant admin consent for <tenant>' (step 2).",
        },
    );

    let svc = service(b)?;
    let target = b.target.as_ref()?;
    let segment = match &b.tenant {
        Some(TenantRef::Id(t)) => Some(TenantSegment::id(t)),
        Some(TenantRef::Domain(d)) => TenantSegment::tenant(d),
        None => None,
    };
    // B2C's path names the tenant by name; External ID's by the tenant ID (or domain).
    let authority = match svc {
        SignupService::B2c { .. } => target.signup_authority(&TenantSegment::organizations()),
        SignupService::ExternalId { .. } => {
            segment.as_ref().and_then(|s| target.signup_authority(s))
        }
    };
    let discovery_url = match svc {
        SignupService::B2c { .. } => target.signup_discovery(&TenantSegment::organizations()),
        SignupService::ExternalId { .. } => {
            segment.as_ref().and_then(|s| target.signup_discovery(s))
        }
    };
    let issuer = match &b.tenant {
        Some(TenantRef::Id(t)) => target.signup_issuer(t),
        _ => None,
    }
    .unwrap_or_else(|| match svc {
        SignupService::B2c { .. } => format!("{}/<tenant ID>/v2.0/", target.authority()),
        SignupService::ExternalId { .. } if target.is_practice() => {
            format!("{}/<tenant ID>/v2.0", target.authority())
        }
        SignupService::ExternalId { .. } => {
            "https://<tenant ID>.ciamlogin.com/<tenant ID>/v2.0".to_string()
        }
    });
    let user_flow_claim = match svc {
        SignupService::B2c { user_flow, .. } => Some(format!(
            "tfp = {user_flow} (the user flow's 'Claim representing policy ID'; acr on older policies)"
        )),
        SignupService::ExternalId { .. } => None,
    };
    let mut notes = Vec::new();
    if variant == SignupVariant::B2c {
        notes.push(B2C_CLOSED.to_string());
    }
    notes.push(format!(
        "The SSO test signs in through {} and checks the ID token's issuer, audience, nonce{} and signature against this tenant's published keys.",
        svc.name(),
        if variant == SignupVariant::B2c {
            ", user flow (tfp)"
        } else {
            ", tenant (tid)"
        }
    ));
    Some(PublicSignupPlan {
        variant,
        service: svc.name().to_string(),
        host: target
            .authority()
            .trim_start_matches("https://")
            .to_string(),
        authority: authority.map(|e| e.to_string()),
        discovery_url: discovery_url.map(|e| e.to_string()),
        issuer,
        user_flow_claim,
        notes,
    })
}

/// Step 2's checklist for a public sign-up app (instead of the workforce one).
pub fn checklist(p: &Profile, redirects: &[PlannedRedirect]) -> Vec<String> {
    let n = redirects.len();
    let mut out = Vec::new();
    match p.public_signup.variant {
        SignupVariant::B2c => {
            out.push(format!(
                "{B2C_CLOSED} Continue only with the customer's existing B2C tenant."
            ));
            out.push("Azure portal > Directories + subscriptions: switch to the Azure AD B2C directory, then search for and open Azure AD B2C.".into());
            out.push("Azure AD B2C > App registrations > New registration: a name users may see; Supported account types: \"Accounts in any identity provider or organizational directory (for authenticating users with user flows)\"; Redirect URI: Web and the first URI below; tick \"Grant admin consent to openid and offline_access permissions\".".into());
            out.push(format!("Authentication > Web: add all {n} redirect URIs in this plan (paste each exactly; paths are case-sensitive)."));
            out.push("Authentication > Implicit grant and hybrid flows: tick \"ID tokens\" (the wizard's test asks for code and ID token together).".into());
            out.push(
                "Certificates & secrets > New client secret: copy its Value into step 3.".into(),
            );
            out.push("Azure AD B2C > User flows > New user flow > \"Sign up and sign in\": give it a name (B2C puts B2C_1_ in front of it), choose the identity providers (e.g. Email signup; add Microsoft account for personal accounts) and the application claims (Display Name, Email Addresses). Type its full name, e.g. B2C_1_signupsignin1, into step 1.".into());
            out.push("The user flow > Properties > Token compatibility settings: keep \"Issuer (iss) claim\" at https://<domain>/<B2C tenant GUID>/v2.0/ and \"Claim representing policy ID\" at tfp (the defaults; the SSO test checks both).".into());
            out.push("App registration > Overview: copy the Application (client) ID and the Directory (tenant) ID into step 1; the tenant name is the first part of <name>.onmicrosoft.com.".into());
        }
        SignupVariant::ExternalId => {
            out.push("Microsoft Entra admin center > Settings > Directories + subscriptions: switch to the external tenant (made with the \"External\" configuration).".into());
            out.push("App registrations > New registration: a name users may see; \"Accounts in this organizational directory only\"; Redirect URI: Web and the first URI below.".into());
            out.push(format!("Authentication > Web: add all {n} redirect URIs in this plan (paste each exactly; paths are case-sensitive)."));
            out.push(
                "Authentication > Implicit grant and hybrid flows: tick \"ID tokens\".".into(),
            );
            out.push("API permissions: Microsoft Graph delegated openid and offline_access, then \"Grant admin consent for <tenant>\".".into());
            out.push(
                "Certificates & secrets > New client secret: copy its Value into step 3.".into(),
            );
            out.push("External Identities > User flows > New user flow (sign up and sign in), then that user flow > Applications > Add application: this app (an app has exactly one user flow).".into());
            out.push("Overview: copy the Application (client) ID and the Directory (tenant) ID into step 1; the tenant subdomain is the first part of <subdomain>.onmicrosoft.com (and <subdomain>.ciamlogin.com).".into());
        }
        SignupVariant::Workforce => {}
    }
    out.push(format!(
        "After onboarding, remove {WIZARD_REDIRECT_URI}: the service desk does not need it."
    ));
    out
}

/// Step 6: what to enter in Halo for public sign-up.
pub fn settings_rows(
    plan: &PublicSignupPlan,
    p: &Profile,
    redirects: &[PlannedRedirect],
) -> Vec<SettingRow> {
    let screen =
        "Halo: Single Sign-On (B2C) — Halo's guide \"Microsoft Entra ID: Single Sign-On (B2C)\"";
    let confirm = Some(
        "Confirm the label on Halo's B2C screen: Halo's B2C guide was not available when this sheet was written."
            .to_string(),
    );
    let row = |setting: &str, value: String, note: Option<String>| SettingRow {
        screen: screen.into(),
        setting: setting.into(),
        value,
        note,
        stored: None,
    };
    let mut rows = Vec::new();
    let tenant_name = p.public_signup.tenant_name.trim().to_ascii_lowercase();
    match plan.variant {
        SignupVariant::B2c => {
            rows.push(row(
                "Tenant (domain)",
                format!("{tenant_name}.onmicrosoft.com"),
                confirm.clone(),
            ));
            rows.push(row(
                "Sign-up and sign-in policy (user flow)",
                p.public_signup.user_flow.trim().to_string(),
                Some(
                    "Exactly as Azure AD B2C > User flows lists it, B2C_1_ prefix included.".into(),
                ),
            ));
        }
        _ => {
            rows.push(row(
                "Tenant ID",
                p.tenant_id.trim().to_string(),
                Some("The external tenant's Directory (tenant) ID.".into()),
            ));
        }
    }
    rows.push(row(
        "Application (client) ID",
        p.client_id.trim().to_string(),
        Some(format!(
            "Of the app registered in the {} tenant.",
            plan.service
        )),
    ));
    rows.push(row(
        "Client secret",
        "The secret Value stored in step 3 (copy it from there)".into(),
        Some("The Value, never the Secret ID.".into()),
    ));
    if let Some(a) = &plan.authority {
        rows.push(row(
            "Authority / metadata address",
            a.clone(),
            Some(format!(
                "OpenID configuration: {}",
                plan.discovery_url.clone().unwrap_or_default()
            )),
        ));
    }
    for r in redirects.iter().filter(|r| !r.remove_after_onboarding) {
        rows.push(row(
            "Redirect URI (must match the app registration)",
            r.uri.clone(),
            confirm.clone(),
        ));
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::plan;
    use crate::profile::PublicSignup;

    const TID: &str = "7b0f2b4e-2d5a-4c51-9c1e-0a6f0d3c8e21";
    const CID: &str = "0a1b2c3d-4e5f-4071-8293-a4b5c6d7e8f9";

    fn profile(variant: SignupVariant, name: &str, flow: &str) -> Profile {
        Profile {
            name: "Acme CRM".into(),
            agent_url: "https://acme.halocrm.com".into(),
            tenant_id: TID.into(),
            client_id: CID.into(),
            sso_for: crate::profile::SsoFor::Users,
            public_signup: PublicSignup {
                variant,
                tenant_name: name.into(),
                user_flow: flow.into(),
            },
            ..Profile::default()
        }
    }

    fn codes(p: &Profile) -> Vec<(String, String)> {
        plan(p)
            .issues
            .iter()
            .map(|i| (i.field.clone(), i.code.clone()))
            .collect()
    }

    #[test]
    fn b2c_plan_has_the_documented_authority_issuer_and_user_flow() {
        let p = profile(SignupVariant::B2c, "Contoso", "B2C_1_signupsignin1");
        let plan = plan(&p);
        assert!(plan.valid, "{:?}", plan.issues);
        let s = plan.public_signup.expect("a public sign-up plan");
        assert_eq!(s.host, "contoso.b2clogin.com");
        assert_eq!(
            s.authority.as_deref(),
            Some("https://contoso.b2clogin.com/contoso.onmicrosoft.com/B2C_1_signupsignin1/v2.0")
        );
        assert_eq!(
            s.discovery_url.as_deref(),
            Some(
                "https://contoso.b2clogin.com/contoso.onmicrosoft.com/B2C_1_signupsignin1/v2.0/.well-known/openid-configuration"
            )
        );
        assert_eq!(
            s.issuer,
            format!("https://contoso.b2clogin.com/{TID}/v2.0/")
        );
        assert!(
            s.user_flow_claim
                .unwrap()
                .starts_with("tfp = B2C_1_signupsignin1")
        );
        assert!(s.notes[0].contains("May 1, 2025"));
        assert_eq!(plan.authority, "https://contoso.b2clogin.com");
        // Steps 2, 4 and 6 change: B2C's checklist, no consent link, Halo's B2C rows.
        assert!(
            plan.registration_checklist
                .iter()
                .any(|l| l.contains("User flows > New user flow"))
        );
        assert!(plan.consent.is_none());
        assert!(!plan.create_registration);
        assert!(
            plan.settings_sheet
                .iter()
                .any(|r| r.value == "B2C_1_signupsignin1")
        );
        assert!(
            plan.settings_sheet
                .iter()
                .any(|r| r.value == "contoso.onmicrosoft.com")
        );
        assert!(codes(&p).contains(&(
            "public_signup.variant".into(),
            "public_signup.b2c_closed".into()
        )));
    }

    #[test]
    fn external_id_plan_uses_the_tenant_id_host_for_the_issuer() {
        let p = profile(SignupVariant::ExternalId, "contoso", "");
        let plan = plan(&p);
        assert!(plan.valid, "{:?}", plan.issues);
        let s = plan.public_signup.unwrap();
        assert_eq!(
            s.authority.as_deref(),
            Some(format!("https://contoso.ciamlogin.com/{TID}/v2.0").as_str())
        );
        assert_eq!(s.issuer, format!("https://{TID}.ciamlogin.com/{TID}/v2.0"));
        assert!(s.user_flow_claim.is_none());
        assert!(
            plan.registration_checklist
                .iter()
                .any(|l| l.contains("Add application"))
        );
        assert!(
            plan.settings_sheet
                .iter()
                .any(|r| r.setting == "Tenant ID" && r.value == TID)
        );
    }

    #[test]
    fn names_are_checked_with_the_field_and_the_fix() {
        let cases = [
            (
                SignupVariant::B2c,
                "contoso.onmicrosoft.com",
                "B2C_1_x",
                "public_signup.tenant_name",
                "Type only 'contoso'",
            ),
            (
                SignupVariant::B2c,
                "",
                "B2C_1_x",
                "public_signup.tenant_name",
                "Type the tenant name",
            ),
            (
                SignupVariant::B2c,
                "con toso",
                "B2C_1_x",
                "public_signup.tenant_name",
                "as it appears",
            ),
            (
                SignupVariant::B2c,
                "contoso",
                "signupsignin1",
                "public_signup.user_flow",
                "type B2C_1_signupsignin1",
            ),
            (
                SignupVariant::B2c,
                "contoso",
                "B2C_1_",
                "public_signup.user_flow",
                "after the prefix",
            ),
            (
                SignupVariant::B2c,
                "contoso",
                "B2C_1_a/b?c",
                "public_signup.user_flow",
                "letters, digits",
            ),
            (
                SignupVariant::B2c,
                "contoso",
                "",
                "public_signup.user_flow",
                "User flows",
            ),
            (
                SignupVariant::ExternalId,
                "contoso.ciamlogin.com",
                "",
                "public_signup.tenant_name",
                "Type only 'contoso'",
            ),
            (
                SignupVariant::ExternalId,
                "-contoso",
                "",
                "public_signup.tenant_name",
                "as it appears",
            ),
        ];
        for (variant, name, flow, field, fix) in cases {
            let p = profile(variant, name, flow);
            let plan = plan(&p);
            let issue = plan
                .issues
                .iter()
                .find(|i| i.field == field)
                .unwrap_or_else(|| panic!("{name}/{flow}: no issue on {field}: {:?}", plan.issues));
            assert_eq!(issue.code, field, "{name}/{flow}");
            assert!(issue.fix.contains(fix), "{name}/{flow}: {}", issue.fix);
            assert!(!plan.valid);
            assert!(
                plan.public_signup.is_none(),
                "nothing derived from a refused name"
            );
        }
        // Both names wrong: both are said.
        let c = codes(&profile(
            SignupVariant::B2c,
            "contoso.onmicrosoft.com",
            "susi",
        ));
        assert!(c.contains(&(
            "public_signup.tenant_name".into(),
            "public_signup.tenant_name".into()
        )));
        assert!(c.contains(&(
            "public_signup.user_flow".into(),
            "public_signup.user_flow".into()
        )));
        assert_eq!(
            c.iter()
                .filter(|(f, _)| f == "public_signup.user_flow")
                .count(),
            1
        );
        let c = codes(&profile(SignupVariant::B2c, "contoso", "susi"));
        assert_eq!(
            c.iter()
                .filter(|(f, _)| f == "public_signup.user_flow")
                .count(),
            1
        );
        // Case in a user flow and custom policies are fine.
        assert!(
            plan(&profile(
                SignupVariant::B2c,
                "contoso",
                "b2c_1a_signup_signin"
            ))
            .valid
        );
    }

    #[test]
    fn other_rules_of_the_variant() {
        let mut p = profile(SignupVariant::ExternalId, "contoso", "");
        p.tenant_type = TenantType::Multi;
        p.features.import = true;
        p.sso_for = crate::profile::SsoFor::Agents;
        let c = codes(&p);
        assert!(c.contains(&("tenant_type".into(), "public_signup.tenant_type".into())));
        assert!(c.contains(&(
            "features.import".into(),
            "public_signup.workforce_feature".into()
        )));
        assert!(c.contains(&("sso_for".into(), "public_signup.agents_only".into())));
        p.cloud = crate::cloud::Cloud::Usgov;
        p.tenant_type = TenantType::Single;
        assert!(codes(&p).contains(&("cloud".into(), "public_signup.cloud".into())));
        // A domain typed as the tenant ID: the authority uses it, the issuer is a template.
        let mut p = profile(SignupVariant::ExternalId, "contoso", "");
        p.tenant_id = "contoso.onmicrosoft.com".into();
        let s = plan(&p).public_signup.unwrap();
        assert!(
            s.authority
                .unwrap()
                .ends_with("/contoso.onmicrosoft.com/v2.0")
        );
        assert_eq!(
            s.issuer,
            "https://<tenant ID>.ciamlogin.com/<tenant ID>/v2.0"
        );
    }

    #[test]
    fn workforce_is_unchanged() {
        let mut p = profile(SignupVariant::Workforce, "contoso", "B2C_1_x");
        p.sso_for = crate::profile::SsoFor::Agents;
        let plan = plan(&p);
        assert!(plan.public_signup.is_none());
        assert_eq!(plan.authority, "https://login.microsoftonline.com");
        assert!(plan.consent.is_some());
        assert!(
            !codes(&p)
                .iter()
                .any(|(_, c)| c.starts_with("public_signup."))
        );
    }

    #[test]
    fn practice_authority_serves_the_variant_on_its_own_origin() {
        let mut p = profile(SignupVariant::B2c, "sandboxb2c", "B2C_1_signupsignin");
        p.authority = Some("http://127.0.0.1:8123".into());
        let s = plan(&p).public_signup.unwrap();
        assert_eq!(
            s.discovery_url.as_deref(),
            Some(
                "http://127.0.0.1:8123/sandboxb2c.onmicrosoft.com/B2C_1_signupsignin/v2.0/.well-known/openid-configuration"
            )
        );
        assert_eq!(s.issuer, format!("http://127.0.0.1:8123/{TID}/v2.0/"));
        p.public_signup.variant = SignupVariant::ExternalId;
        let s = plan(&p).public_signup.unwrap();
        assert_eq!(s.issuer, format!("http://127.0.0.1:8123/{TID}/v2.0"));
    }
}
