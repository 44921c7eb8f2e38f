//! Step 5 — CSP's two app registrations, modelled in one customer.
//!
//! Halo's Microsoft CSP guide (`../shared/reference/microsoft-csp-integration-guide.md`)
//! needs two registrations in the partner tenant:
//!
//! | app | account type | redirect URI | API permissions | Halo section |
//! |---|---|---|---|---|
//! | Partner Center | single tenant | `<agent>/azure/auth` | Microsoft Partner Center `user_impersonation` only | "Azure Application for Microsoft Partner Center" |
//! | multi-tenant | any organisational directory | `<agent>/config/integrations/microsoftcsp` | Microsoft Graph application permissions | "Azure Application for Azure Active Directory & Intune" |
//!
//! The multi-tenant app is the profile's own app (steps 1–4); the Partner Center app is
//! [`crate::profile::PartnerCenterApp`]. Its permission list is fixed
//! ([`permissions::required_partner_center`]): no sync, import or CSP setting adds a Graph
//! permission to it ("There should only be one API Permission on the list for the single
//! tenant app registration" — the guide's "Required scopes requested by app" row).
//!
//! Its admin consent is given in the partner tenant itself (the app is single-tenant), so
//! the link carries the tenant ID, never `organizations`.

use serde::Serialize;
use ts_rs::TS;

use crate::ids::{ClientId, parse_guid};
use crate::permissions::{self, PARTNER_CENTER_APP_ID, RequiredPermission};
use crate::profile::{CredentialKind, CredentialMeta, Profile};
use crate::steps::basics::{Basics, TenantRef};
use crate::steps::consent::{self, ConsentPlan, LINK_STATE, OpenLinkError};
use crate::target::{Endpoint, TenantSegment};
use crate::validation::Issues;

const STEP: u8 = 5;

/// Halo's CSP guide, as stored with the project.
pub const GUIDE: &str =
    "Halo: Microsoft CSP Integration (shared/reference/microsoft-csp-integration-guide.md)";

/// `signInAudience` of the Partner Center app: single tenant.
pub const SIGN_IN_AUDIENCE: &str = "AzureADMyOrg";

/// The account type to choose for it in the Entra admin centre.
pub const ACCOUNT_TYPE: &str = "Accounts in this organizational directory only (Single tenant)";

/// The Partner Center app's redirect URI for a normalised agent URL (the guide's
/// "Single Tenant App Registration Redirect URI: https://examplehalo.halopsa.com/azure/auth").
pub fn redirect_uri(agent_url: &str) -> String {
    format!("{agent_url}/azure/auth")
}

/// The multi-tenant app's CSP redirect URI (the guide's "Multi Tenant App Registration
/// Redirect URI: https://examplehalo.halopsa.com/config/integrations/microsoftcsp").
pub fn multi_tenant_redirect_uri(agent_url: &str) -> String {
    format!("{agent_url}/config/integrations/microsoftcsp")
}

/// The name the Partner Center app is created and found by (`apply`, `doctor`).
pub fn display_name(p: &Profile) -> String {
    format!("{} Partner Center", p.name.trim())
}

/// Which of CSP's two registrations a row describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub enum CspAppRole {
    /// The single-tenant Partner Center app.
    PartnerCenter,
    /// The multi-tenant app (the profile's own app).
    MultiTenant,
}

/// One of CSP's two registrations, as step 5 lists them side by side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct CspAppSummary {
    /// Partner Center or multi-tenant.
    pub role: CspAppRole,
    /// Its heading, e.g. "Partner Center app (single tenant)".
    pub title: String,
    /// Its Application (client) ID, when a valid one is entered.
    pub client_id: Option<String>,
    /// The account type to choose in Entra.
    pub account_type: String,
    /// The redirect URIs to register on it (Web platform).
    pub redirect_uris: Vec<String>,
    /// Its API permissions, in words ("Microsoft Partner Center: user_impersonation (delegated)").
    pub permissions: Vec<String>,
    /// Its credential as recorded ("Client secret · expires 2026-07-01"), never the value.
    pub credential: String,
    /// Where its ID and secret go in Halo (Configuration > Integrations > Microsoft CSP).
    pub halo_section: String,
}

/// A rule about the Partner Center app, with where it comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct PartnerCenterRule {
    /// Stable id (`pc.only_one_permission`, `pc.strong_mfa`, …).
    pub id: String,
    /// The rule, in the admin's words.
    pub text: String,
    /// The source (guide section or Microsoft Learn URL).
    pub source: String,
}

/// Step 5's Partner Center part: both apps, the Partner Center app's registration rows,
/// its rules and its consent link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct PartnerCenterPlan {
    /// The two registrations CSP needs: Partner Center first (the guide's order).
    pub apps: Vec<CspAppSummary>,
    /// The name it is created and found by.
    pub display_name: String,
    /// What to do in Entra for the Partner Center app, in order.
    pub checklist: Vec<String>,
    /// Its one API permission.
    pub permission: RequiredPermission,
    /// The rules Halo's authorisation of it depends on.
    pub rules: Vec<PartnerCenterRule>,
    /// The admin-consent link in the partner tenant (absent until its client ID, the
    /// tenant and the agent URL are valid).
    pub consent: Option<ConsentPlan>,
}

fn rule(id: &str, text: &str, source: &str) -> PartnerCenterRule {
    PartnerCenterRule {
        id: id.into(),
        text: text.into(),
        source: source.into(),
    }
}

/// The rules of the Partner Center app, each with its source.
pub fn rules() -> Vec<PartnerCenterRule> {
    vec![
        rule(
            "pc.only_one_permission",
            "The Partner Center app has exactly one API permission, Microsoft Partner Center > Delegated > user_impersonation. It never gets a Microsoft Graph permission (remove the default User.Read), whatever import or sync needs: those go on the multi-tenant app.",
            "Halo CSP guide: \"This permission can be removed as it is not required\"; Common Errors, \"Required scopes requested by app\": \"There should only be one API Permission on the list for the single tenant app registration.\"",
        ),
        rule(
            "pc.not_listed",
            "If Microsoft Partner Center is not under \"APIs my organization uses\", search for fa3d9a0c-3fb0-42cc-9193-47c7ecd2edbd there.",
            "Halo CSP guide, Registering an Azure Application",
        ),
        rule(
            "pc.authorising_user",
            "Authorise it in Halo (\"Authorize Application\") as a user with Partner Center access and permanent delegated admin rights (the GDAP roles Halo needs: Directory Reader, Global Reader, User Administrator or License Administrator) to every customer tenant.",
            "Halo CSP guide: \"consent with a user who has Partner Center access AND permanent delegated admin (and relevant GDAP permissions) to all tenants\"",
        ),
        rule(
            "pc.strong_mfa",
            "That user must be prompted for Microsoft Entra MFA with a strong method — Microsoft Authenticator or a TOTP code, not SMS or a voice call. Partner Center's API checks the token's authentication-method (amr) claim for MFA on every app + user call.",
            "Halo CSP guide: \"This MUST be Azure MFA only and specifically using a Strong method (TOTP/Authenticator App)\"; https://learn.microsoft.com/partner-center/developer/partner-center-authentication (\"Use multifactor authentication when accessing the Partner Center API using app + user authentication\"); https://learn.microsoft.com/powershell/partnercenter/test-partner-security-requirements (the amr claim must list mfa)",
        ),
        rule(
            "pc.no_mfa_exclusion",
            "A Conditional Access policy that skips MFA for that user (a trusted IP range or named location, an excluded user or group) breaks the authorisation: with no MFA prompt the app is not authorised. Sign in from outside the exclusion, or take the user out of it, before clicking Authorize Application.",
            "Halo CSP guide: \"if there is no prompt because of conditional access for certain IPs for example then the app will not be authorised as MFA is a requirement\"; https://learn.microsoft.com/entra/identity/conditional-access/concept-assignment-network",
        ),
        rule(
            "pc.token_expiration",
            "Each app has its own secret and expiry. When Halo reports a token expiration, find which app's secret lapsed (it is marked red in that app's Certificates & secrets), create a new one, disconnect in Halo, enter it, then authorise again.",
            "Halo CSP guide, Common Errors, \"Token expiration\"",
        ),
    ]
}

/// The credential as a line for the two-app list (never the value).
pub fn credential_line(c: &CredentialMeta) -> String {
    let expiry = c
        .expires_on
        .map(|d| format!(" · expires {d}"))
        .unwrap_or_default();
    match c.kind {
        CredentialKind::None => "No credential recorded yet".into(),
        CredentialKind::Secret => format!(
            "Client secret{}{expiry}",
            // At most the three characters Entra shows: a hand-edited profile holding
            // more could be holding the secret itself.
            c.secret_hint
                .as_deref()
                .map(|h| format!(" · hint {}…", h.trim().chars().take(3).collect::<String>()))
                .unwrap_or_default()
        ),
        CredentialKind::Certificate => format!(
            "Certificate{}{expiry}",
            c.thumbprint
                .as_deref()
                .map(|t| format!(" · thumbprint {t}"))
                .unwrap_or_default()
        ),
        CredentialKind::Federated => "Federated credential".into(),
    }
}

/// The Partner Center app's client ID, when it is valid and not another app's.
fn check_client_id(p: &Profile, b: &Basics, issues: &mut Issues) -> Option<ClientId> {
    let field = "partner_center.client_id";
    let raw = p.partner_center.client_id.trim();
    if raw.is_empty() {
        issues.warn(
            STEP,
            field,
            "partner_center.client_id.required",
            "Halo's CSP integration needs a second, single-tenant Partner Center app, and its Application (client) ID is not entered yet.",
            "Register it as step 5 lists (or let \"Create it for me\" do it), then enter its Application (client) ID here.",
        );
        return None;
    }
    let Some(id) = ClientId::parse(raw) else {
        issues.error(
            STEP,
            field,
            "partner_center.client_id.not_guid",
            format!("'{raw}' is not a client ID. A client ID looks like 0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9."),
            "Copy 'Application (client) ID' from the Partner Center app's Overview page.",
        );
        return None;
    };
    if id.as_str() == PARTNER_CENTER_APP_ID {
        issues.error(
            STEP,
            field,
            "partner_center.client_id.microsoft_app",
            format!("{PARTNER_CENTER_APP_ID} is Microsoft Partner Center itself (the API), not your app."),
            "Use the Application (client) ID of the single-tenant app you registered for Halo.",
        );
        return None;
    }
    let main = b
        .client_id
        .as_ref()
        .map(|c| c.as_str().to_string())
        .or_else(|| parse_guid(&p.client_id));
    if main.as_deref() == Some(id.as_str()) {
        issues.error(
            STEP,
            field,
            "partner_center.same_as_main_app",
            "The Partner Center app and the multi-tenant app have the same client ID. Halo's CSP guide needs two registrations: the multi-tenant one carries Microsoft Graph permissions, the Partner Center one only user_impersonation.",
            "Register a separate single-tenant app for Partner Center and enter its client ID here.",
        );
        return None;
    }
    Some(id)
}

/// Its credential: a secret or a certificate with a recorded expiry.
fn check_credential(p: &Profile, issues: &mut Issues) {
    let c = &p.partner_center.credential;
    match c.kind {
        CredentialKind::None => issues.warn(
            STEP,
            "partner_center.credential.kind",
            "partner_center.credential.none",
            "No credential recorded for the Partner Center app: Halo needs its own client secret (or certificate), separate from the multi-tenant app's.",
            "Store its secret in step 5 (or let \"Create it for me\" add one).",
        ),
        CredentialKind::Federated => issues.error(
            STEP,
            "partner_center.credential.kind",
            "partner_center.credential.federated",
            "Halo authorises the Partner Center app with its Application ID and a secret; a federated credential has nothing to enter there.",
            "Use a client secret (the guide's way) or a certificate for the Partner Center app.",
        ),
        CredentialKind::Secret | CredentialKind::Certificate if c.expires_on.is_none() => {
            issues.warn(
                STEP,
                "partner_center.credential.expires_on",
                "partner_center.credential.expires_on.missing",
                "The Partner Center app's credential expiry is not recorded; when it lapses Halo reports a token expiration.",
                "Enter the 'Expires' date from its Certificates & secrets.",
            )
        }
        _ => {}
    }
    if c.secret_hint
        .as_ref()
        .is_some_and(|h| h.chars().count() > 3)
    {
        issues.error(
            STEP,
            "partner_center.credential.secret_hint",
            "partner_center.credential.secret_hint.too_long",
            "The Partner Center secret hint holds more than three characters; the profile must never hold a secret.",
            "Store the secret in step 5; the profile keeps only its first three characters.",
        );
    }
}

/// The admin-consent link for the Partner Center app: in the partner tenant (single
/// tenant, so never `organizations`), returning to its own redirect URI. The `/.default`
/// scope asks for the app's statically declared permission (user_impersonation).
fn consent_link(b: &Basics, client: &ClientId) -> Option<ConsentPlan> {
    let target = b.target.as_ref()?;
    let agent = b.agent_url.as_ref()?;
    let segment = match b.tenant.as_ref()? {
        TenantRef::Id(id) => TenantSegment::id(id),
        TenantRef::Domain(d) => TenantSegment::tenant(d)?,
    };
    let redirect = redirect_uri(agent);
    let url = target.admin_consent(&segment, client, &redirect, LINK_STATE);
    Some(ConsentPlan {
        url: url.to_string(),
        tenant_segment: segment.to_string(),
        redirect_uri: redirect,
        who_can_consent: vec![
            "Global Administrator".into(),
            "Cloud Application Administrator or Application Administrator (its one permission is delegated)".into(),
        ],
    })
}

fn apps(p: &Profile, b: &Basics, pc_client: Option<&ClientId>) -> Vec<CspAppSummary> {
    let agent = b.agent_url.as_deref();
    let main_perms: Vec<String> = permissions::required(p)
        .iter()
        .map(|r| {
            format!(
                "Microsoft Graph: {} ({})",
                r.value,
                match r.kind {
                    permissions::PermissionKind::Role => "application",
                    permissions::PermissionKind::Scope => "delegated",
                }
            )
        })
        .collect();
    vec![
        CspAppSummary {
            role: CspAppRole::PartnerCenter,
            title: "Partner Center app (single tenant)".into(),
            client_id: pc_client.map(|c| c.as_str().to_string()),
            account_type: ACCOUNT_TYPE.into(),
            redirect_uris: agent.map(redirect_uri).into_iter().collect(),
            permissions: vec![
                "Microsoft Partner Center: user_impersonation (delegated) — the only one".into(),
            ],
            credential: credential_line(&p.partner_center.credential),
            halo_section: "Microsoft CSP > Details > Azure Application for Microsoft Partner Center: Application ID and Secret, then Authorize Application".into(),
        },
        CspAppSummary {
            role: CspAppRole::MultiTenant,
            title: "Multi-tenant app (users and devices)".into(),
            client_id: b.client_id.as_ref().map(|c| c.as_str().to_string()),
            account_type: "Accounts in any organizational directory (Multitenant)".into(),
            redirect_uris: agent.map(multi_tenant_redirect_uri).into_iter().collect(),
            permissions: main_perms,
            credential: credential_line(&p.credential),
            halo_section: "Microsoft CSP > Details > Azure Application for Azure Active Directory & Intune: Application ID and Application Secret".into(),
        },
    ]
}

/// The Partner Center app's registration rows, in order.
fn checklist(p: &Profile, b: &Basics) -> Vec<String> {
    let redirect = b
        .agent_url
        .as_deref()
        .map(redirect_uri)
        .unwrap_or_else(|| "<agent URL>/azure/auth".into());
    vec![
        format!(
            "Entra admin centre (partner tenant) > App registrations > New registration: name it \"{}\" and choose \"{ACCOUNT_TYPE}\".",
            display_name(p)
        ),
        format!("Authentication > Add a platform > Web: add {redirect} (exactly; paths are case-sensitive)."),
        "API permissions: remove User.Read, then Add a permission > APIs my organization uses > Microsoft Partner Center > Delegated > user_impersonation. It must be the only permission.".into(),
        "API permissions: Grant admin consent for the partner tenant.".into(),
        "Certificates & secrets: New client secret for this app (its own; not the multi-tenant app's), and record its expiry.".into(),
        "Halo: Configuration > Integrations > Microsoft CSP > Details: enter its Application ID and secret under \"Azure Application for Microsoft Partner Center\", Save, then Authorize Application as a Partner Center user with GDAP and strong MFA.".into(),
    ]
}

/// Plans the Partner Center part of step 5 (`None` while CSP is off).
pub fn plan(p: &Profile, b: &Basics, issues: &mut Issues) -> Option<PartnerCenterPlan> {
    if !p.features.csp {
        return None;
    }
    let client = check_client_id(p, b, issues);
    check_credential(p, issues);
    Some(PartnerCenterPlan {
        apps: apps(p, b, client.as_ref()),
        display_name: display_name(p),
        checklist: checklist(p, b),
        permission: permissions::PARTNER_CENTER_PERMISSION,
        rules: rules(),
        consent: client.as_ref().and_then(|c| consent_link(b, c)),
    })
}

/// The Partner Center app's consent link to open in the browser, rebuilt from the profile
/// (never taken from the webview) and accepted only on the profile's target.
pub fn link_to_open(p: &Profile) -> Result<Endpoint, OpenLinkError> {
    let mut issues = Issues::default();
    let b = crate::steps::basics::check(p, &mut issues);
    let link = plan(p, &b, &mut issues)
        .and_then(|pc| pc.consent)
        .ok_or(OpenLinkError::NoLink)?;
    consent::check_login_url(p, &link.url)
}
