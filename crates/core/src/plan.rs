//! `plan(profile) -> Plan`: the one pure function behind every screen and the CLI.
//!
//! It runs each step's rules in order (each step in [`crate::steps`] owns its output
//! types, re-exported here) and gathers what the admin must do in Entra and in
//! the service desk, plus every issue found. No I/O, no clock, no randomness: the same
//! profile always gives the same plan, which is what lets the UI re-plan on every
//! keystroke and the CLI print the same thing the GUI shows.

use serde::Serialize;
use ts_rs::TS;

use crate::cloud::CloudInfo;
use crate::profile::Profile;
use crate::steps::{
    basics, consent, credential, csp, federated, partner_center, public_signup, redirects, sso,
    sync,
};
use crate::validation::{Issue, Issues, Severity};

// Each step owns the types it produces; the plan only assembles them.
pub use crate::steps::consent::ConsentPlan;
pub use crate::steps::csp::CspScripts;
pub use crate::steps::federated::FederatedSetup;
pub use crate::steps::partner_center::PartnerCenterPlan;
pub use crate::steps::public_signup::PublicSignupPlan;
pub use crate::steps::redirects::{PlannedRedirect, RedirectPurpose};
pub use crate::steps::sso::SettingRow;

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
    /// Steps 1 and 2: no client ID yet, so the app registration is still to be made:
    /// "Create it for me" is offered where the admin lands, and it runs the SSO test after
    /// creating it ([`basics::registration_missing`]).
    pub create_registration: bool,
    /// Step 1: the portal URL in effect (`<agent_url>/portal` when not set).
    pub effective_portal_url: Option<String>,
    /// Step 2: what to do on the app registration, in order.
    pub registration_checklist: Vec<String>,
    /// Step 2: the redirect URIs to register.
    pub redirect_uris: Vec<PlannedRedirect>,
    /// Step 3: what to pick in Halo and paste in Entra for a federated credential (kind
    /// `federated` only).
    pub federated_setup: Option<FederatedSetup>,
    /// Step 4: the admin-consent link (absent until tenant, client and a redirect URI are valid).
    pub consent: Option<ConsentPlan>,
    /// Step 5: the AdminAgents scripts (CSP only, once the client id is valid).
    pub csp_scripts: Option<CspScripts>,
    /// Step 5: CSP's second, single-tenant Partner Center app and both apps side by side
    /// (CSP only).
    pub partner_center: Option<PartnerCenterPlan>,
    /// Step 6: what to set in the service desk.
    pub settings_sheet: Vec<SettingRow>,
    /// Public sign-up (Azure AD B2C or External ID): the authority, discovery and issuer
    /// the variant uses; absent for a workforce profile (issue 14 point 7).
    pub public_signup: Option<PublicSignupPlan>,
    /// Every error, warning and note, in step order.
    pub issues: Vec<Issue>,
    /// Optional: the self-service portal as a Microsoft Teams tab (the package and what the
    /// registration needs), or what stops it. Its blockers are not in `issues`: the tab is
    /// an extra, so it never makes the plan invalid.
    pub teams_tab: crate::teams::TeamsTab,
    /// Step 1 resolved (tenant, client, target): a flow that plans passes this down
    /// instead of checking step 1 again. Not sent to the UI.
    #[serde(skip)]
    #[ts(skip)]
    pub basics: basics::Basics,
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
    let public = profile.public_signup.variant.is_public();
    let signup = public_signup::check(profile, &b, &mut issues);
    let registration_checklist = if public {
        public_signup::checklist(profile, &redirect_uris)
    } else {
        redirects::checklist(profile, &redirect_uris)
    };
    credential::check(profile, &mut issues);
    // Public sign-up has no admin-consent link and none of Halo's Entra SSO/sync screens:
    // its own rows replace them (steps/public_signup.rs).
    let consent = if public {
        None
    } else {
        consent::plan(profile, &b, &redirect_uris, &mut issues)
    };
    let csp_scripts = csp::scripts(profile, &b, &mut issues);
    let partner_center = partner_center::plan(profile, &b, &mut issues);
    let settings_sheet = match &signup {
        Some(s) => public_signup::settings_rows(s, profile, &redirect_uris),
        None if public => Vec::new(),
        None => {
            let mut rows = sso::check(profile, &b, &mut issues);
            rows.extend(sync::check(profile, &b, &mut issues));
            rows
        }
    };

    let teams_tab = crate::teams::tab(profile, &b);
    let mut issues = issues.0;
    // Stable order: by step, errors first within a step; insertion order otherwise.
    issues.sort_by_key(|i| (i.step, i.severity));
    Plan {
        valid: !issues.iter().any(|i| i.severity == Severity::Error),
        cloud: profile.cloud.into(),
        authority: b.authority.clone(),
        sandbox: profile.is_practice(),
        // "Create it for me" drives a workforce tenant through Graph.
        create_registration: !public && basics::registration_missing(profile),
        effective_portal_url: b.portal_url.clone(),
        registration_checklist,
        redirect_uris,
        federated_setup: federated::setup(profile, &b),
        consent,
        csp_scripts,
        partner_center,
        settings_sheet,
        public_signup: signup,
        issues,
        teams_tab,
        basics: b,
    }
}
