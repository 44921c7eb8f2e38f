//! Step 4 — the admin-consent link.
//!
//! `https://<login host>/<tenant>/v2.0/adminconsent?client_id=…&scope=https://<graph host>/.default&redirect_uri=…&state=…`
//! (entra-docs `v2-admin-consent.md`): the tenant id for a single-tenant app, `organizations`
//! for a multi-tenant one (the consenting admin's own tenant) — never `common`, which
//! personal accounts cannot use. `scope` must be `/.default` to consent to application
//! permissions; `redirect_uri` must be registered exactly.
//!
//! The link in the plan carries a fixed `state`: it sends the admin to the service desk,
//! which is where the answer lands, so there is nothing for the wizard to check. Capturing
//! the answer on the wizard's loopback listener uses a fresh random `state` per attempt.

use serde::Serialize;
use ts_rs::TS;

use crate::profile::Profile;
use crate::steps::basics::{self, Basics, TenantRef, is_multi};
use crate::steps::redirects::{self, PlannedRedirect, RedirectPurpose};
use crate::target::{Endpoint, Target, TenantSegment};
use crate::validation::Issues;

const STEP: u8 = 4;

/// `state` of the copyable link (see the module docs).
pub const LINK_STATE: &str = "entra-onboard";

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

/// Roles that can grant tenant-wide admin consent (grant-admin-consent.md).
pub fn who_can_consent() -> Vec<String> {
    vec![
        "Global Administrator".into(),
        "Privileged Role Administrator — needed when the app has Microsoft Graph application permissions".into(),
        "Cloud Application Administrator or Application Administrator — delegated permissions only".into(),
    ]
}

/// The tenant part of consent and sign-in URLs for this profile: `organizations` for a
/// multi-tenant app, else its tenant (GUID or domain).
pub fn tenant_segment(p: &Profile, b: &Basics) -> Option<TenantSegment> {
    if is_multi(p) {
        Some(TenantSegment::organizations())
    } else {
        b.tenant.as_ref().map(|t: &TenantRef| match t {
            TenantRef::Id(id) => TenantSegment::id(id),
            TenantRef::Domain(d) => {
                TenantSegment::tenant(d).unwrap_or_else(TenantSegment::organizations)
            }
        })
    }
}

/// Plans step 4. `None` while what the link needs is missing (step 1 says why).
pub fn plan(
    p: &Profile,
    b: &Basics,
    redirects: &[PlannedRedirect],
    issues: &mut Issues,
) -> Option<ConsentPlan> {
    let client_id = b.client_id.as_ref()?;
    let target = b.target.as_ref()?;
    let segment = tenant_segment(p, b)?;
    let Some(redirect) = redirects
        .iter()
        .find(|r| !r.purposes.contains(&RedirectPurpose::WizardTest))
    else {
        if b.agent_url.is_some() {
            issues.error(
                STEP,
                "sso_for",
                "consent.no_redirect",
                "There is no service-desk redirect URI for the consent link to return to.",
                "Turn on SSO for agents or users, import, or CSP in step 1.",
            );
        }
        return None;
    };
    let url = target.admin_consent(&segment, client_id, &redirect.uri, LINK_STATE);
    if is_multi(p) {
        issues.info(
            STEP,
            "tenant_type",
            "consent.per_tenant",
            "A multi-tenant app needs admin consent in every customer tenant whose users sign in.",
            "Send this link to each customer's admin (or open it signed in as that admin); 'organizations' lets Entra pick the admin's own tenant.",
        );
    }
    Some(ConsentPlan {
        url: url.to_string(),
        tenant_segment: segment.to_string(),
        redirect_uri: redirect.uri.clone(),
        who_can_consent: who_can_consent(),
    })
}

/// Why a URL may not be opened in the system browser.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum OpenLinkError {
    /// The profile's plan has no consent link.
    #[error("there is no consent link yet: fix the errors in steps 1 and 2 first")]
    NoLink,
    /// The link is not on the cloud's Microsoft login host over https (or the profile's
    /// loopback test authority).
    #[error(
        "refusing to open {0}: only https links to the Microsoft login host of the profile's cloud are opened"
    )]
    NotLoginHost(String),
}

impl OpenLinkError {
    /// Stable code for the UI.
    pub fn code(&self) -> &'static str {
        match self {
            OpenLinkError::NoLink => "consent.no_link",
            OpenLinkError::NotLoginHost(_) => "consent.not_login_host",
        }
    }
}

/// The consent link to open in the browser, rebuilt from the profile here (never taken
/// from the webview) and on the profile's [`Target`].
pub fn link_to_open(p: &Profile) -> Result<Endpoint, OpenLinkError> {
    // The same inputs `plan()` gives step 4 (basics, then the redirect URIs), without
    // reaching up to the plan: the other steps do not change the link.
    let mut issues = Issues::default();
    let b = basics::check(p, &mut issues);
    let redirects = redirects::derive(p, &b, &mut issues);
    let link = plan(p, &b, &redirects, &mut issues).ok_or(OpenLinkError::NoLink)?;
    check_login_url(p, &link.url)
}

/// Accepts `url` only on the profile's [`Target`]: https on the cloud's login host (or a
/// documented alias), or the profile's practice provider.
pub fn check_login_url(p: &Profile, url: &str) -> Result<Endpoint, OpenLinkError> {
    Target::from_profile(p)
        .and_then(|t| t.check_login("link", url))
        .map_err(|_| OpenLinkError::NotLoginHost(url.to_string()))
}
