//! `plan(profile) -> Plan`: the one pure function behind every screen and the CLI.
//!
//! It runs each step's rules in order and gathers what the admin must do in Entra and in
//! the service desk, plus every issue found. No I/O, no clock, no randomness: the same
//! profile always gives the same plan, which is what lets the UI re-plan on every
//! keystroke and the CLI print the same thing the GUI shows.

use serde::Serialize;
use ts_rs::TS;

use crate::cloud::CloudInfo;
use crate::profile::Profile;
use crate::steps::{basics, consent, credential, csp, redirects, sso, sync};
use crate::validation::{Issue, Issues, Severity};

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

/// The admin-consent link of step 4.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct ConsentPlan {
    /// The full link to open or send to the consenting admin.
    pub url: String,
    /// The tenant part of the link: the tenant id, or `organizations` for a multi-tenant app.
    pub tenant_segment: String,
    /// Where Entra sends the admin afterwards (one of the registered redirect URIs).
    pub redirect_uri: String,
    /// Roles that can grant the consent.
    pub who_can_consent: Vec<String>,
}

/// The AdminAgents elevation script of step 5, in three flavours.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct CspScripts {
    /// Microsoft Graph PowerShell (the default; AzureAD is retired).
    pub graph: String,
    /// The legacy AzureAD module version from Halo's CSP guide.
    pub azure_ad: String,
    /// Az PowerShell, the guide's fallback.
    pub az: String,
}

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
    pub stored: Option<crate::vault::StoredValue>,
}

/// Everything the wizard derives from a profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct Plan {
    /// True when there is no error (warnings allowed).
    pub valid: bool,
    /// The cloud and its endpoints.
    pub cloud: CloudInfo,
    /// The login base URL in use (`https://<login host>` or the profile's override).
    pub authority: String,
    /// True when the login host is a loopback provider (the practice sandbox or a test
    /// provider): every screen labels such a customer SANDBOX.
    pub sandbox: bool,
    /// Step 1: the portal URL in effect (`<agent_url>/portal` when not set).
    pub effective_portal_url: Option<String>,
    /// Step 2: what to do on the app registration, in order.
    pub registration_checklist: Vec<String>,
    /// Step 2: the redirect URIs to register.
    pub redirect_uris: Vec<PlannedRedirect>,
    /// Step 4: the admin-consent link (absent until tenant, client and a redirect URI are valid).
    pub consent: Option<ConsentPlan>,
    /// Step 5: the AdminAgents scripts (CSP only, once the client id is valid).
    pub csp_scripts: Option<CspScripts>,
    /// Step 6: what to set in the service desk.
    pub settings_sheet: Vec<SettingRow>,
    /// Every error, warning and note, in step order.
    pub issues: Vec<Issue>,
}

impl Plan {
    /// The errors only.
    pub fn errors(&self) -> impl Iterator<Item = &Issue> {
        self.issues.iter().filter(|i| i.severity == Severity::Error)
    }
}

/// Derives the plan for `profile`. Pure: see the module docs.
pub fn plan(profile: &Profile) -> Plan {
    let mut issues = Issues::default();
    let b = basics::check(profile, &mut issues);
    let redirect_uris = redirects::derive(profile, &b, &mut issues);
    let registration_checklist = redirects::checklist(profile, &redirect_uris);
    credential::check(profile, &mut issues);
    let consent = consent::plan(profile, &b, &redirect_uris, &mut issues);
    let csp_scripts = csp::scripts(profile, &b, &mut issues);
    let mut settings_sheet = sso::check(profile, &b, &mut issues);
    settings_sheet.extend(sync::check(profile, &b, &mut issues));

    let mut issues = issues.0;
    // Stable order: by step, errors first within a step; insertion order otherwise.
    issues.sort_by_key(|i| (i.step, i.severity));
    Plan {
        valid: !issues.iter().any(|i| i.severity == Severity::Error),
        cloud: profile.cloud.into(),
        authority: b.authority.clone(),
        sandbox: crate::sandbox::practice::is_practice(profile),
        effective_portal_url: b.portal_url.clone(),
        registration_checklist,
        redirect_uris,
        consent,
        csp_scripts,
        settings_sheet,
        issues,
    }
}
