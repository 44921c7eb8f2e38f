//! Step 6 — the service desk's SSO settings, checked against the rules in Halo's SSO (B2B)
//! guide, and the settings sheet that says exactly what to set on which screen.
//!
//! Rules (guide section in brackets):
//! - auto-create unmatched users only with a single-tenant app ["Automatically create…"];
//! - a multi-tenant app with a restricted sign-in scope needs at least one tenant id
//!   ["Azure Tenant Sign-In Scope"]; every entry must be a tenant GUID;
//! - auto-redirect before a passing SSO test can lock everyone out of the login screen;
//! - auto-redirect for a group that does not use SSO is impossible;
//! - the federated (ADFS) domain is a fully qualified domain name ["Federated Domain"];
//! - the unique identifier only works for agents/users imported from Entra or CSP.

use serde::Serialize;
use ts_rs::TS;
use url::Url;

use crate::cloud::Cloud;
use crate::ids::{is_fqdn, parse_guid};
use crate::profile::{CredentialKind, Profile, SignInScope, SsoFor, TenantType};
use crate::steps::basics::{Basics, TenantRef};
use crate::steps::credential::StoredValue;
use crate::validation::Issues;

const STEP: u8 = 6;
const SSO_SCREEN: &str = "Configuration > Integrations > Microsoft Entra ID > Single Sign On";
pub(crate) const ADVANCED_SCREEN: &str = "Configuration > Advanced Settings";
/// The connection's details tab, where Halo takes the app's credential.
pub(crate) const CONNECTION_SCREEN: &str =
    "Configuration > Integrations > Microsoft Entra ID > Details";
/// Where Halo keeps uploaded certificates (it asks for the .pfx password on upload).
pub(crate) const CERTIFICATES_SCREEN: &str = "Configuration > Advanced Settings > Certificates";

/// One line of the settings sheet: what to set where in the service desk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct SettingRow {
    /// The screen, e.g. `Configuration > Integrations > Microsoft Entra ID > Single Sign On`.
    pub screen: String,
    /// The setting's label on that screen.
    pub setting: String,
    /// The value to set.
    pub value: String,
    /// Why, or a caveat.
    pub note: Option<String>,
    /// Set when the value is a secret kept in the keychain (`value` then only describes it):
    /// the desktop app copies it to the clipboard from Rust, never through the webview.
    pub stored: Option<StoredValue>,
}

fn yes_no(b: bool) -> String {
    if b { "On".into() } else { "Off".into() }
}

fn row(screen: &str, setting: &str, value: impl Into<String>, note: Option<&str>) -> SettingRow {
    SettingRow {
        screen: screen.into(),
        setting: setting.into(),
        value: value.into(),
        note: note.map(str::to_string),
        stored: None,
    }
}

/// A row whose value is kept in the keychain: `value` only describes it.
fn stored_row(
    screen: &str,
    setting: &str,
    value: impl Into<String>,
    note: &str,
    stored: StoredValue,
) -> SettingRow {
    SettingRow {
        stored: Some(stored),
        ..row(screen, setting, value, Some(note))
    }
}

/// Where the app's credential goes in Halo: the certificate (.pfx and its password) is
/// uploaded first, then the connection is told which credential to use.
pub(crate) fn credential_rows(p: &Profile) -> Vec<SettingRow> {
    let c = &p.credential;
    match c.kind {
        CredentialKind::Secret => vec![
            row(CONNECTION_SCREEN, "Credential Type", "Client Secret", None),
            stored_row(
                CONNECTION_SCREEN,
                "Client Secret",
                // Only the three characters Entra shows too, whatever a hand-edited profile holds.
                match &c.secret_hint {
                    Some(h) => format!(
                        "the stored Value ({}…)",
                        h.chars().take(3).collect::<String>()
                    ),
                    None => "(store the Value in step 3)".into(),
                },
                "The Value, not the Secret ID. Copied from the keychain; the clipboard is cleared after 60 seconds.",
                StoredValue::ClientSecret,
            ),
        ],
        CredentialKind::Certificate => {
            let pfx = c
                .certificate_file
                .as_deref()
                .and_then(|f| std::path::Path::new(f).file_name())
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "(create or import it in step 3)".into());
            let thumbprint = c
                .thumbprint
                .clone()
                .unwrap_or_else(|| "(create or import it in step 3)".into());
            vec![
                row(
                    CERTIFICATES_SCREEN,
                    "Name",
                    format!("{} (Entra)", p.name.trim()),
                    Some("Any name: the connection picks the certificate by it below."),
                ),
                row(
                    CERTIFICATES_SCREEN,
                    "Certificate file (.pfx)",
                    pfx,
                    Some(
                        "Upload the .pfx made or imported in step 3, not the .cer (that one goes to Entra).",
                    ),
                ),
                stored_row(
                    CERTIFICATES_SCREEN,
                    "Password",
                    "the .pfx password",
                    "Asked when the .pfx is uploaded. Copied from the keychain; the clipboard is cleared after 60 seconds.",
                    StoredValue::CertificatePassword,
                ),
                row(CONNECTION_SCREEN, "Credential Type", "Certificate", None),
                row(
                    CONNECTION_SCREEN,
                    "Certificate",
                    thumbprint,
                    Some(
                        "The certificate uploaded above; Halo and Entra show this SHA-1 thumbprint.",
                    ),
                ),
            ]
        }
        // Halo's Method 3: Credential Type and Agent (the three values it then shows go to
        // Entra, step 3).
        CredentialKind::Federated => crate::steps::federated::halo_first_rows(p),
        CredentialKind::None => vec![row(
            CONNECTION_SCREEN,
            "Credential Type",
            "(choose a client secret or a certificate in step 3)",
            None,
        )],
    }
}

/// Checks step 6 and returns the settings sheet.
pub fn check(p: &Profile, b: &Basics, issues: &mut Issues) -> Vec<SettingRow> {
    check_auto_create(p, issues);
    let allowed = check_allowed_tenants(p, issues);
    check_sign_in_scope(p, b, &allowed, issues);
    check_auto_redirect(p, issues);
    check_federated_domain(p, issues);
    let graph = graph_endpoint(p, issues);
    check_toggles(p, issues);
    settings_sheet(p, b, &allowed, graph)
}

/// "Automatically create unmatched users": single-tenant only, and only useful with SSO
/// for users.
fn check_auto_create(p: &Profile, issues: &mut Issues) {
    let s = &p.sso;
    let multi = p.tenant_type == TenantType::Multi;
    if s.auto_create_users && multi {
        issues.error(
            STEP,
            "sso.auto_create_users",
            "sso.auto_create_multi",
            "Halo only creates unmatched users automatically with a single-tenant app.",
            "Turn off 'Automatically create unmatched users', or use a single-tenant app.",
        );
    }
    if s.auto_create_users && !p.sso_for.users() {
        issues.warn(
            STEP,
            "sso.auto_create_users",
            "sso.auto_create_no_users",
            "Unmatched users are created when they sign in to the portal, but SSO is not on for users.",
            "Set 'who signs in with Entra' to users or both in step 1, or turn this off.",
        );
    }
}

/// The allowed tenants, each a tenant GUID listed once. Returns the GUIDs, in order.
fn check_allowed_tenants(p: &Profile, issues: &mut Issues) -> Vec<String> {
    // Allowed tenants: every entry must be a tenant GUID, whatever the scope — a wrong entry
    // is a wrong entry even while it is unused.
    let mut seen: Vec<String> = Vec::new();
    for (i, t) in p.allowed_tenants.iter().enumerate() {
        let field = format!("allowed_tenants[{i}]");
        match parse_guid(t) {
            None if t.trim().is_empty() => issues.error(
                STEP,
                field,
                "allowed_tenants.empty",
                format!("Allowed tenant {} is empty.", i + 1),
                "Enter a tenant ID or remove the row.",
            ),
            None => issues.error(
                STEP,
                field,
                "allowed_tenants.not_guid",
                format!("Allowed tenant {} ('{}') is not a tenant ID.", i + 1, t.trim()),
                "Halo's restricted list takes Directory (tenant) IDs (GUIDs), not domains or names.",
            ),
            Some(g) if seen.contains(&g) => issues.warn(
                STEP,
                field,
                "allowed_tenants.duplicate",
                format!("Allowed tenant {} is listed twice.", i + 1),
                "Remove the duplicate row.",
            ),
            Some(g) => seen.push(g),
        }
    }
    seen
}

/// The sign-in scope of a multi-tenant app (a restricted list needs a tenant; "all" is
/// risky); a single-tenant app ignores the list. `seen`: the allowed tenant GUIDs.
fn check_sign_in_scope(p: &Profile, b: &Basics, seen: &[String], issues: &mut Issues) {
    let s = &p.sso;
    if p.tenant_type == TenantType::Multi {
        match s.sign_in_scope {
            SignInScope::Restricted if p.allowed_tenants.iter().all(|t| parse_guid(t).is_none()) => {
                issues.error(
                    STEP,
                    "allowed_tenants",
                    "allowed_tenants.required",
                    "The sign-in scope is a restricted list, but the list has no tenant ID, so nobody could sign in.",
                    "Add the tenant IDs whose users may sign in (your own and each customer's), or choose 'all tenants'.",
                );
            }
            SignInScope::Restricted => {
                if let Some(TenantRef::Id(home)) = &b.tenant
                    && !seen.iter().any(|t| t == home.as_str())
                {
                    issues.info(
                        STEP,
                        "allowed_tenants",
                        "allowed_tenants.home_missing",
                        "Your own tenant (where the app is registered) is not in the allowed list, so your own staff cannot sign in.",
                        "Add your tenant ID if your agents sign in with it.",
                    );
                }
            }
            SignInScope::All => issues.warn(
                STEP,
                "sso.sign_in_scope",
                "sso.scope_all",
                "Users of any Entra tenant in the world can attempt to sign in.",
                "Prefer 'Allow users from a restricted list' with your customers' tenant IDs (Halo's recommendation).",
            ),
        }
    } else if !p.allowed_tenants.is_empty() {
        issues.info(
            STEP,
            "allowed_tenants",
            "allowed_tenants.ignored",
            "Allowed tenants only apply to a multi-tenant app; this one is single-tenant.",
            "Leave the list empty, or switch the tenant type to multi-tenant in step 1.",
        );
    }
}

/// Auto-redirect per group: only with SSO on for the group, and a lockout risk before a
/// passing SSO test.
fn check_auto_redirect(p: &Profile, issues: &mut Issues) {
    let s = &p.sso;
    let verified = p.verified.is_some();
    for (on, group, sso_on, field) in [
        (
            s.auto_redirect_agents,
            "agents",
            p.sso_for.agents(),
            "sso.auto_redirect_agents",
        ),
        (
            s.auto_redirect_users,
            "users",
            p.sso_for.users(),
            "sso.auto_redirect_users",
        ),
    ] {
        if !on {
            continue;
        }
        if !sso_on {
            issues.error(
                STEP,
                field,
                "sso.redirect_without_sso",
                format!("Auto-redirect for {group} is on, but SSO is not on for {group}."),
                format!("Turn on SSO for {group} in step 1, or turn off auto-redirect."),
            );
        } else if !verified {
            issues.warn(
                STEP,
                field,
                "sso.redirect_lockout",
                format!(
                    "Auto-redirect hides Halo's login screen from {group}. If SSO is misconfigured, they (and you) are locked out."
                ),
                "Turn this on only after the SSO test passes, and keep one local admin login you can reach directly.",
            );
        }
    }
}

/// The federated (ADFS) domain is a host name.
fn check_federated_domain(p: &Profile, issues: &mut Issues) {
    let s = &p.sso;
    if let Some(d) = s
        .federated_domain
        .as_deref()
        .map(str::trim)
        .filter(|d| !d.is_empty())
        && !is_fqdn(d)
    {
        issues.error(
            STEP,
            "sso.federated_domain",
            "sso.federated_domain.not_fqdn",
            format!("'{d}' is not a fully qualified domain name."),
            "Enter only the ADFS server's host name, e.g. adfs.contoso.com — no https://, no path. Leave it empty if sign-ins are not forwarded to ADFS.",
        );
    }
}

/// The Graph endpoint in effect (typed, or the cloud's): https, and of the profile's cloud.
fn graph_endpoint(p: &Profile, issues: &mut Issues) -> String {
    let s = &p.sso;
    match s
        .graph_endpoint
        .as_deref()
        .map(str::trim)
        .filter(|g| !g.is_empty())
    {
        None => format!("https://{}", p.cloud.graph_host()),
        Some(g) => {
            match Url::parse(g).ok().filter(|u| u.scheme() == "https").and_then(|u| u.host_str().map(str::to_string)) {
                None => issues.error(
                    STEP,
                    "sso.graph_endpoint",
                    "sso.graph_endpoint.invalid",
                    format!("'{g}' is not an https Graph endpoint."),
                    format!("Leave it empty to use the cloud's (https://{}).", p.cloud.graph_host()),
                ),
                Some(host) => match Cloud::from_graph_host(&host) {
                    Some(c) if c == p.cloud => {}
                    Some(c) => issues.error(
                        STEP,
                        "sso.graph_endpoint",
                        "sso.graph_endpoint.other_cloud",
                        format!("{host} belongs to {}, but the profile's cloud is {}. Tokens do not cross clouds.", c.label(), p.cloud.label()),
                        "Pick the matching cloud in step 1, or clear the Graph endpoint.",
                    ),
                    None => issues.warn(
                        STEP,
                        "sso.graph_endpoint",
                        "sso.graph_endpoint.unknown",
                        format!("{host} is not a Microsoft Graph host."),
                        format!("Leave it empty to use https://{}.", p.cloud.graph_host()),
                    ),
                },
            }
            g.to_string()
        }
    }
}

/// The unique identifier (needs an import), "published" (needs a passing test) and
/// bypassing Halo's 2FA (MFA then rests on Entra).
fn check_toggles(p: &Profile, issues: &mut Issues) {
    let s = &p.sso;
    let verified = p.verified.is_some();
    if s.use_unique_identifier && !p.features.import && !p.features.csp {
        issues.warn(
            STEP,
            "sso.use_unique_identifier",
            "sso.unique_id_without_import",
            "Signing in by unique identifier only works for agents and users imported from Entra or CSP, and import is off.",
            "Turn on user/agent import in step 1, or sign in by email address.",
        );
    }
    if s.published && !verified {
        issues.warn(
            STEP,
            "sso.published",
            "sso.published_unverified",
            "SSO is marked published, but no SSO test has passed for this profile yet.",
            "Run the SSO test on the 'Test & save' page before publishing.",
        );
    }
    if s.bypass_2fa {
        issues.info(
            STEP,
            "sso.bypass_2fa",
            "sso.bypass_2fa",
            "SSO sign-ins will skip Halo's own 2FA, so MFA depends entirely on Entra.",
            "Make sure a Conditional Access policy (or security defaults) requires MFA for this app.",
        );
    }
}

/// The settings sheet: every SSO setting, in the order of the service desk's screens,
/// after where the app's credential goes.
fn settings_sheet(p: &Profile, b: &Basics, seen: &[String], graph: String) -> Vec<SettingRow> {
    let s = &p.sso;
    let multi = p.tenant_type == TenantType::Multi;
    let mut sheet = credential_rows(p);
    sheet.extend([
        row(
            SSO_SCREEN,
            "Tenant/Application Type",
            if multi {
                "Multi Tenant"
            } else {
                "Single Tenant"
            },
            None,
        ),
        row(
            SSO_SCREEN,
            "Azure Tenant ID",
            b.tenant
                .as_ref()
                .map(|t| t.as_str().to_string())
                .unwrap_or_else(|| "(fix step 1)".into()),
            None,
        ),
        row(
            SSO_SCREEN,
            "Azure Application ID",
            b.client_id
                .as_ref()
                .map(|c| c.to_string())
                .unwrap_or_else(|| "(fix step 1)".into()),
            None,
        ),
        row(
            SSO_SCREEN,
            "Federated Domain",
            s.federated_domain
                .clone()
                .filter(|d| !d.trim().is_empty())
                .unwrap_or_else(|| "(leave empty)".into()),
            Some("Only when sign-ins are forwarded to an ADFS server."),
        ),
    ]);
    if multi {
        let scope = match s.sign_in_scope {
            SignInScope::Restricted => "Allow users from a restricted list",
            SignInScope::All => "Allow all Azure tenants",
        };
        sheet.push(row(SSO_SCREEN, "Azure Tenant Sign-In Scope", scope, None));
        if s.sign_in_scope == SignInScope::Restricted {
            sheet.push(row(
                SSO_SCREEN,
                "Allowed tenants",
                seen.join(", "),
                Some("With CSP, Halo can add imported tenants to this list automatically (CSP > Tenants)."),
            ));
        }
    }
    sheet.push(row(
        SSO_SCREEN,
        "Graph Endpoint",
        graph,
        Some("The default is right for almost everyone."),
    ));
    sheet.push(row(
        SSO_SCREEN,
        "Allow Single Sign-On for Agents and/or Users",
        match p.sso_for {
            SsoFor::Agents => "Agents",
            SsoFor::Users => "Users",
            SsoFor::Both => "Agents and Users",
        },
        None,
    ));
    if !multi {
        sheet.push(row(
            SSO_SCREEN,
            "Automatically create unmatched users that login with Azure AD",
            yes_no(s.auto_create_users),
            None,
        ));
    }
    sheet.push(row(
        SSO_SCREEN,
        "Automatically redirect Agents to Azure without showing the Halo login screen",
        yes_no(s.auto_redirect_agents),
        Some("Only after a passing SSO test."),
    ));
    sheet.push(row(
        SSO_SCREEN,
        "Automatically redirect Users to Azure without showing the Halo login screen",
        yes_no(s.auto_redirect_users),
        Some("Only after a passing SSO test."),
    ));
    sheet.push(row(
        SSO_SCREEN,
        "Use the unique identifier of the Agent/User for single sign-on instead of their email address",
        yes_no(s.use_unique_identifier),
        None,
    ));
    sheet.push(row(
        SSO_SCREEN,
        "Enable Single-Logout (SLO)",
        yes_no(s.single_logout),
        Some("Signing out of Halo then signs the user out of Microsoft 365 too, and the other way round."),
    ));
    sheet.push(row(
        SSO_SCREEN,
        "Published",
        yes_no(s.published),
        Some("Tick this last, once everything above is set and the SSO test has passed."),
    ));
    sheet.push(row(
        ADVANCED_SCREEN,
        "Remember Me when using a SSO method",
        yes_no(s.remember_me),
        None,
    ));
    sheet.push(row(
        ADVANCED_SCREEN,
        "Bypass Halo 2FA if logging in with Single Sign-On",
        yes_no(s.bypass_2fa),
        None,
    ));
    // Halo's other screens (connect button, 2FA, per-customer redirect, CSP tenants): the
    // UI groups rows by screen, so appending keeps each screen together.
    sheet.extend(crate::steps::halo_screens::rows(p));
    sheet
}
