//! Step 6, the settings sheet's rows for Halo's other screens: which button connects the
//! integration, the Advanced Settings 2FA row, the per-customer portal redirect, and the
//! CSP integration's tenant, licence, top-level and site-mapping settings. The rows join
//! the sheet's groups by screen name ([`crate::steps::sso::check`] appends them).
//!
//! Sources (shared/reference/):
//! - microsoft-auth-methods-guide.md: "If using delegated permissions … a 'Sign in with
//!   Microsoft' button"; "If using application permissions … an 'Authorise Application'
//!   button"; the certificate entry under Configuration > Advanced Settings > Certificates
//!   ("giving it a name, uploading the file, entering the password");
//! - microsoft-csp-integration-guide.md: the default relationship type for new tenants
//!   (DAP or GDAP) and a "grant Admin Consent" option per GDAP tenant, signed in as that
//!   tenant's administrator; licence import types ("Your Subscriptions" needs a Microsoft
//!   Gold/Tier 1 membership, otherwise "All Subscribed SKUs"); the top level for imported
//!   customers; adding CSP tenants to the SSO allowed tenants; automatic site mappings when
//!   a tenant id is assigned; "Most Azure Tenants will be using GDAP now";
//! - entra-sso-b2b-guide.md: "Allow Halo 2FA if logging in with Azure Single Sign-On" (needs
//!   Halo 2FA and "Don't ask again on this browser"), and auto-redirect "on a client by
//!   client basis … at the client's profile under Settings tab > Self Service Portal".

use crate::permissions::{self, PermissionKind};
use crate::profile::{ConsentStatus, CredentialKind, Profile, SignInScope, TenantType};
use crate::steps::sso::{ADVANCED_SCREEN, CONNECTION_SCREEN, SettingRow};

/// The CSP integration's screen (the same name `sync` uses, so the rows share a group).
pub const CSP_SCREEN: &str = "Configuration > Integrations > Microsoft CSP";
/// Where one customer's portal redirect is set.
pub const CUSTOMER_PORTAL_SCREEN: &str =
    "Customers > (each customer) > Settings > Self Service Portal";
/// Halo's button for application permissions.
pub const AUTHORISE_APPLICATION: &str = "Authorise Application";
/// Halo's button for delegated permissions.
pub const SIGN_IN_WITH_MICROSOFT: &str = "Sign in with Microsoft";

fn row(screen: &str, setting: &str, value: impl Into<String>, note: Option<String>) -> SettingRow {
    SettingRow {
        screen: screen.into(),
        setting: setting.into(),
        value: value.into(),
        note,
        stored: None,
    }
}

fn on_off(b: bool) -> String {
    if b { "On".into() } else { "Off".into() }
}

/// Which of Halo's two connect buttons this profile uses, and why; `None` for sign-in only
/// (SSO needs neither).
pub fn connect_button(p: &Profile) -> Option<(&'static str, String)> {
    if p.credential.kind == CredentialKind::Federated {
        return Some((
            AUTHORISE_APPLICATION,
            "Halo's federated credential is authorised with this button (Method 3).".into(),
        ));
    }
    if !p.features.import && !p.features.csp {
        return None;
    }
    let perms = permissions::required(p);
    let roles: Vec<&str> = perms
        .iter()
        .filter(|r| r.kind == PermissionKind::Role)
        .map(|r| r.value)
        .collect();
    Some(if roles.is_empty() {
        (
            SIGN_IN_WITH_MICROSOFT,
            "This profile's integration permissions are delegated: sign in with an account that may read what is imported.".into(),
        )
    } else {
        (
            AUTHORISE_APPLICATION,
            format!(
                "This profile uses application permissions ({}), so Halo authorises without a sign-in; \"{SIGN_IN_WITH_MICROSOFT}\" is the delegated-permissions button.",
                roles.join(", ")
            ),
        )
    })
}

/// The rows for Halo's other screens, in screen order.
pub fn rows(p: &Profile) -> Vec<SettingRow> {
    let mut out = Vec::new();
    if let Some((button, why)) = connect_button(p) {
        out.push(row(
            CONNECTION_SCREEN,
            button,
            "(click it after saving)",
            Some(why),
        ));
    }
    let s = &p.sso;
    out.push(row(
        ADVANCED_SCREEN,
        "Allow Halo 2FA if logging in with Azure Single Sign-On",
        on_off(s.allow_2fa_with_sso),
        Some(if s.allow_2fa_with_sso && s.bypass_2fa {
            "Has no effect while 'Bypass Halo 2FA if logging in with Single Sign-On' is on.".into()
        } else {
            "Needs Halo 2FA and 'Don't ask again on this browser' on; then a device that passed Halo 2FA is not asked again after SSO.".into()
        }),
    ));
    if p.sso_for.users() {
        out.push(row(
            CUSTOMER_PORTAL_SCREEN,
            "Automatically redirect this customer's users to Azure",
            if s.auto_redirect_users {
                "(not needed: on for every user)".to_string()
            } else {
                "(on for each customer whose users must use SSO)".to_string()
            },
            Some("Per customer; only after a passing SSO test.".into()),
        ));
    }
    if p.features.csp {
        out.extend(csp_rows(p));
    }
    out
}

/// The CSP integration's tenant tab: relationship types and consent per GDAP tenant,
/// licence import types, top level, allowed tenants and site mappings.
fn csp_rows(p: &Profile) -> Vec<SettingRow> {
    let mut out = vec![row(
        CSP_SCREEN,
        "Default relationship type for new tenants",
        "GDAP",
        Some("Most tenants use GDAP now; DAP only where Partner Center still shows a DAP relationship.".into()),
    )];
    for t in &p.customer_tenants {
        let id = t.tenant.trim();
        let who = match t.name.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
            Some(n) => format!("{n} ({id})"),
            None => id.to_string(),
        };
        let consent = match t.consent.status {
            ConsentStatus::Consented => "the wizard's tracker recorded consent",
            ConsentStatus::Pending => "no consent recorded yet",
            ConsentStatus::Declined => "consent was declined",
            ConsentStatus::Failed => "the last consent failed",
        };
        out.push(row(
            CSP_SCREEN,
            &format!("Relationship type: {who}"),
            "GDAP",
            Some(format!(
                "Then \"grant Admin Consent\" for it, signed in as that tenant's administrator (not your Partner Center account), with MFA ({consent})."
            )),
        ));
    }
    out.push(row(
        CSP_SCREEN,
        "Licence import types",
        "All Subscribed SKUs",
        Some(
            "The two 'Your Subscriptions' options need a Microsoft Gold/Tier 1 membership.".into(),
        ),
    ));
    out.push(row(
        CSP_SCREEN,
        "Top level for imported customers",
        "(only if you use top levels: choose one)",
        None,
    ));
    let restricted =
        p.tenant_type == TenantType::Multi && p.sso.sign_in_scope == SignInScope::Restricted;
    out.push(row(
        CSP_SCREEN,
        "Add imported tenants to the SSO allowed tenants list",
        on_off(restricted),
        Some(if restricted {
            "Keeps the restricted sign-in list in step with the imported customers.".into()
        } else {
            "Not needed: the sign-in scope is not a restricted list.".into()
        }),
    ));
    out.push(row(
        CSP_SCREEN,
        "Automatically create a site mapping when a tenant id is assigned to a customer",
        "On",
        Some("Otherwise use 'Generate Mappings' again for each new customer.".into()),
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::{ConsentRecord, CustomerTenant, SsoFor};

    fn settings(rows: &[SettingRow]) -> Vec<(&str, &str, &str)> {
        rows.iter()
            .map(|r| (r.screen.as_str(), r.setting.as_str(), r.value.as_str()))
            .collect()
    }

    #[test]
    fn the_connect_button_follows_the_permission_type() {
        let mut p = Profile::default();
        assert_eq!(connect_button(&p), None, "sign-in only needs neither");
        p.features.import = true;
        let (b, why) = connect_button(&p).unwrap();
        assert_eq!(b, "Authorise Application");
        assert!(why.contains("User.Read.All"), "{why}");
        p.features.import = false;
        p.credential.kind = CredentialKind::Federated;
        assert_eq!(connect_button(&p).unwrap().0, "Authorise Application");
    }

    #[test]
    fn csp_rows_name_each_gdap_tenant_and_its_consent() {
        let mut p = Profile {
            tenant_type: TenantType::Multi,
            ..Profile::default()
        };
        p.features.csp = true;
        p.customer_tenants = vec![
            CustomerTenant {
                tenant: "contoso.onmicrosoft.com".into(),
                name: Some("Contoso".into()),
                consent: ConsentRecord {
                    status: ConsentStatus::Consented,
                    ..ConsentRecord::default()
                },
            },
            CustomerTenant {
                tenant: "fabrikam.onmicrosoft.com".into(),
                name: None,
                consent: ConsentRecord::default(),
            },
        ];
        let r = rows(&p);
        let s = settings(&r);
        assert!(s.contains(&(
            CSP_SCREEN,
            "Default relationship type for new tenants",
            "GDAP"
        )));
        assert!(s.contains(&(
            CSP_SCREEN,
            "Relationship type: Contoso (contoso.onmicrosoft.com)",
            "GDAP"
        )));
        assert!(s.contains(&(
            CSP_SCREEN,
            "Relationship type: fabrikam.onmicrosoft.com",
            "GDAP"
        )));
        let contoso = r.iter().find(|x| x.setting.contains("Contoso")).unwrap();
        assert!(
            contoso
                .note
                .as_deref()
                .unwrap()
                .contains("grant Admin Consent")
        );
        assert!(
            contoso
                .note
                .as_deref()
                .unwrap()
                .contains("recorded consent")
        );
        assert!(s.contains(&(CSP_SCREEN, "Licence import types", "All Subscribed SKUs")));
        assert!(s.contains(&(
            CSP_SCREEN,
            "Add imported tenants to the SSO allowed tenants list",
            "On"
        )));
        p.sso.sign_in_scope = SignInScope::All;
        assert!(settings(&rows(&p)).contains(&(
            CSP_SCREEN,
            "Add imported tenants to the SSO allowed tenants list",
            "Off"
        )));
        p.features.csp = false;
        assert!(!rows(&p).iter().any(|r| r.screen == CSP_SCREEN));
    }

    #[test]
    fn two_fa_and_the_per_customer_redirect() {
        let mut p = Profile {
            sso_for: SsoFor::Agents,
            ..Profile::default()
        };
        p.sso.allow_2fa_with_sso = true;
        let r = rows(&p);
        let twofa = r
            .iter()
            .find(|x| x.setting.starts_with("Allow Halo 2FA"))
            .unwrap();
        assert_eq!(
            (twofa.screen.as_str(), twofa.value.as_str()),
            (ADVANCED_SCREEN, "On")
        );
        assert!(
            !r.iter().any(|x| x.screen == CUSTOMER_PORTAL_SCREEN),
            "agents only"
        );
        p.sso.bypass_2fa = true;
        let r = rows(&p);
        let twofa = r
            .iter()
            .find(|x| x.setting.starts_with("Allow Halo 2FA"))
            .unwrap();
        assert!(twofa.note.as_deref().unwrap().contains("no effect"));
        p.sso_for = SsoFor::Both;
        let r = rows(&p);
        assert!(
            r.iter()
                .any(|x| x.screen == CUSTOMER_PORTAL_SCREEN && x.value.starts_with("(on for each"))
        );
        p.sso.auto_redirect_users = true;
        assert!(
            rows(&p)
                .iter()
                .any(|x| x.screen == CUSTOMER_PORTAL_SCREEN && x.value.contains("not needed"))
        );
    }
}
