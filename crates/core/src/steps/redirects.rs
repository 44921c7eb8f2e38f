//! Step 2 — the redirect URIs to register, derived exactly as Halo's guides say:
//!
//! | purpose | URI |
//! |---|---|
//! | agent SSO | `<agent_url>/auth/account/azureresponse` (or `<auth_url>/account/azureresponse`) |
//! | user (portal) SSO | `<portal_url>/auth/account/azureresponse` (or `<auth_url>/account/azureresponse`) |
//! | user/agent import | `<agent_url>/azure/auth` |
//! | CSP | `<agent_url>/config/integrations/microsoftcsp` |
//! | this wizard's test | `http://localhost/entra-onboard/callback` (remove after onboarding) |
//!
//! All on the `Web` platform. The wizard's loopback URI has no port: Entra ignores the port
//! of `http://localhost` redirect URIs, so the SSO test can listen on any free port.

use serde::Serialize;
use ts_rs::TS;

use crate::profile::Profile;
use crate::steps::basics::Basics;
use crate::validation::{Issues, REDIRECT_URI_FORBIDDEN, REDIRECT_URI_MAX_LEN};

const STEP: u8 = 2;

/// The redirect URI the wizard's own SSO test and consent capture use, as registered.
pub const WIZARD_REDIRECT_URI: &str = "http://localhost/entra-onboard/callback";

/// The path the loopback listener serves.
pub const WIZARD_CALLBACK_PATH: &str = "/entra-onboard/callback";

/// Which part of the service desk a redirect URI serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub enum RedirectPurpose {
    /// Agent (technician) sign-in.
    AgentSso,
    /// Self-service portal sign-in.
    UserSso,
    /// User/agent import from Entra.
    Import,
    /// Microsoft CSP integration.
    Csp,
    /// This wizard's own SSO test (remove after onboarding).
    WizardTest,
}

/// One redirect URI to register on the app (Authentication blade).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct PlannedRedirect {
    /// The exact URI to paste.
    pub uri: String,
    /// Entra platform to add it under (always `Web` for the service desk).
    pub platform: String,
    /// What it is for (one URI can serve several purposes).
    pub purposes: Vec<RedirectPurpose>,
    /// Plain-language description.
    pub description: String,
    /// True for the wizard's own loopback URI: take it off once onboarding is done.
    pub remove_after_onboarding: bool,
}

fn describe(purposes: &[RedirectPurpose]) -> String {
    let parts: Vec<&str> = purposes
        .iter()
        .map(|p| match p {
            RedirectPurpose::AgentSso => "agent sign-in (SSO)",
            RedirectPurpose::UserSso => "self-service portal sign-in (SSO)",
            RedirectPurpose::Import => "user and agent import",
            RedirectPurpose::Csp => "Microsoft CSP integration",
            RedirectPurpose::WizardTest => {
                "this wizard's SSO test and consent capture — remove after onboarding"
            }
        })
        .collect();
    let mut s = parts.join(", ");
    if let Some(first) = s.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    s
}

/// Derives the redirect URIs for the enabled features, checking Microsoft's limits. An
/// error on a derived URI is reported against the URL field it was built from.
pub fn derive(p: &Profile, b: &Basics, issues: &mut Issues) -> Vec<PlannedRedirect> {
    // (uri, purpose, source field)
    let mut wanted: Vec<(String, RedirectPurpose, &str)> = Vec::new();
    if p.sso_for.agents() {
        match (&b.auth_url, &b.agent_url) {
            (Some(auth), _) => wanted.push((
                format!("{auth}/account/azureresponse"),
                RedirectPurpose::AgentSso,
                "auth_url",
            )),
            (None, Some(agent)) => wanted.push((
                format!("{agent}/auth/account/azureresponse"),
                RedirectPurpose::AgentSso,
                "agent_url",
            )),
            _ => {}
        }
    }
    if p.sso_for.users() {
        match (&b.auth_url, &b.portal_url) {
            (Some(auth), _) => wanted.push((
                format!("{auth}/account/azureresponse"),
                RedirectPurpose::UserSso,
                "auth_url",
            )),
            (None, Some(portal)) => wanted.push((
                format!("{portal}/auth/account/azureresponse"),
                RedirectPurpose::UserSso,
                "portal_url",
            )),
            _ => {}
        }
    }
    if let Some(agent) = &b.agent_url {
        if p.features.import {
            wanted.push((
                format!("{agent}/azure/auth"),
                RedirectPurpose::Import,
                "agent_url",
            ));
        }
        if p.features.csp {
            wanted.push((
                format!("{agent}/config/integrations/microsoftcsp"),
                RedirectPurpose::Csp,
                "agent_url",
            ));
        }
    }

    let mut out: Vec<PlannedRedirect> = Vec::new();
    for (uri, purpose, field) in wanted {
        if !check_uri(&uri, field, issues) {
            continue;
        }
        // Entra stores a URI once; one registration serves every purpose that shares it.
        if let Some(existing) = out.iter_mut().find(|r| r.uri == uri) {
            existing.purposes.push(purpose);
            existing.description = describe(&existing.purposes);
            continue;
        }
        out.push(PlannedRedirect {
            description: describe(&[purpose]),
            uri,
            platform: "Web".into(),
            purposes: vec![purpose],
            remove_after_onboarding: false,
        });
    }
    out.push(PlannedRedirect {
        uri: WIZARD_REDIRECT_URI.into(),
        platform: "Web".into(),
        purposes: vec![RedirectPurpose::WizardTest],
        description: describe(&[RedirectPurpose::WizardTest]),
        remove_after_onboarding: true,
    });

    if b.auth_url.is_some() {
        issues.info(
            STEP,
            "auth_url",
            "auth_url.in_use",
            "The SSO redirect URIs use your authorization URL instead of <agent URL>/auth.",
            "Check it against Halo: Configuration > Integrations > Halo API > Authorisation Server URL.",
        );
    }
    out
}

/// Microsoft's rules for one redirect URI (reply-url.md): at most 256 characters, none of
/// `! $ ' ( ) , ;`. https is already guaranteed by step 1.
fn check_uri(uri: &str, field: &str, issues: &mut Issues) -> bool {
    let mut ok = true;
    if uri.chars().count() > REDIRECT_URI_MAX_LEN {
        issues.error(
            STEP,
            field,
            &format!("{field}.redirect_too_long"),
            format!(
                "The redirect URI built from this address is {} characters; Entra allows {REDIRECT_URI_MAX_LEN}: {uri}",
                uri.chars().count()
            ),
            "Use a shorter address for the service desk (a shorter host name or path).",
        );
        ok = false;
    }
    let bad: String = uri
        .chars()
        .filter(|c| REDIRECT_URI_FORBIDDEN.contains(c))
        .collect();
    if !bad.is_empty() {
        let mut shown: Vec<char> = bad.chars().collect();
        shown.dedup();
        let shown: Vec<String> = shown.iter().map(|c| format!("'{c}'")).collect();
        issues.error(
            STEP,
            field,
            &format!("{field}.redirect_forbidden_chars"),
            format!(
                "The redirect URI built from this address contains {}, which Entra does not allow in redirect URIs.",
                shown.join(" ")
            ),
            "Remove ! $ ' ( ) , ; from the address.",
        );
        ok = false;
    }
    ok
}

/// What to do on the app registration, in order, for the Entra admin centre.
pub fn checklist(p: &Profile, redirects: &[PlannedRedirect]) -> Vec<String> {
    let audience = if crate::steps::basics::is_multi(p) {
        "Accounts in any organizational directory (Multitenant)"
    } else {
        "Accounts in this organizational directory only (Single tenant)"
    };
    let mut out = vec![
        format!(
            "Entra admin centre > App registrations > New registration: give it a name your users may see, and choose \"{audience}\"."
        ),
        format!(
            "Authentication > Add a platform > Web, then add all {} redirect URIs in this plan (paste each exactly; paths are case-sensitive).",
            redirects.len()
        ),
        "Authentication > Implicit grant and hybrid flows: tick \"ID tokens\" — the service desk's sign-in needs them (without it sign-in fails with AADSTS700054).".to_string(),
        "API permissions: remove the default User.Read permission unless the service desk's import needs it.".to_string(),
        "Overview: copy the Application (client) ID and Directory (tenant) ID into step 1.".to_string(),
    ];
    if p.features.csp {
        out.push(
            "CSP: this is the multi-tenant app (Graph permissions, redirect <agent URL>/config/integrations/microsoftcsp). Halo's CSP integration also needs a second, single-tenant Partner Center app in the same tenant (redirect <agent URL>/azure/auth, only Microsoft Partner Center user_impersonation): step 5 lists it, and \"Create it for me\" makes both.".to_string(),
        );
    }
    out.push(format!(
        "After onboarding, remove {WIZARD_REDIRECT_URI}: the service desk does not need it."
    ));
    out
}
