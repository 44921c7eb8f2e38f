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

use url::Url;

use crate::ids::ClientId;
use crate::plan::{ConsentPlan, PlannedRedirect, RedirectPurpose};
use crate::profile::Profile;
use crate::steps::basics::{Basics, TenantRef, is_multi};
use crate::validation::Issues;

const STEP: u8 = 4;

/// `state` of the copyable link (see the module docs).
pub const LINK_STATE: &str = "entra-onboard";

/// Roles that can grant tenant-wide admin consent (grant-admin-consent.md).
pub fn who_can_consent() -> Vec<String> {
    vec![
        "Global Administrator".into(),
        "Privileged Role Administrator — needed when the app has Microsoft Graph application permissions".into(),
        "Cloud Application Administrator or Application Administrator — delegated permissions only".into(),
    ]
}

/// Builds an admin-consent URL. Every part is already validated; this only assembles and
/// encodes.
pub fn admin_consent_url(
    authority: &str,
    tenant_segment: &str,
    client_id: &ClientId,
    graph_host: &str,
    redirect_uri: &str,
    state: &str,
) -> Url {
    let mut url = Url::parse(&format!("{authority}/{tenant_segment}/v2.0/adminconsent"))
        .expect("authority and tenant segment are validated");
    url.query_pairs_mut()
        .append_pair("client_id", client_id.as_str())
        .append_pair("scope", &format!("https://{graph_host}/.default"))
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("state", state);
    url
}

/// The tenant part of consent and sign-in URLs for this profile.
pub fn tenant_segment(p: &Profile, b: &Basics) -> Option<String> {
    if is_multi(p) {
        Some("organizations".into())
    } else {
        b.tenant
            .as_ref()
            .map(|t: &TenantRef| t.as_str().to_string())
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
    let url = admin_consent_url(
        &b.authority,
        &segment,
        client_id,
        p.cloud.graph_host(),
        &redirect.uri,
        LINK_STATE,
    );
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
        tenant_segment: segment,
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

/// The consent link to open in the browser, checked: https on the cloud's login host, or
/// the profile's own loopback authority (tests, sandbox). The URL is rebuilt from the
/// profile here, never taken from the webview.
pub fn link_to_open(p: &Profile) -> Result<Url, OpenLinkError> {
    let plan = crate::plan::plan(p);
    let link = plan.consent.ok_or(OpenLinkError::NoLink)?;
    let url = Url::parse(&link.url).map_err(|_| OpenLinkError::NotLoginHost(link.url.clone()))?;
    check_login_url(p, &url)?;
    Ok(url)
}

/// Accepts `url` only if it is https on the profile cloud's login host (or an alias), or
/// starts with the profile's loopback authority override.
pub fn check_login_url(p: &Profile, url: &Url) -> Result<(), OpenLinkError> {
    let host = url.host_str().unwrap_or_default();
    let on_login_host = url.scheme() == "https"
        && (host == p.cloud.login_host() || p.cloud.login_host_aliases().contains(&host));
    let mut issues = Issues::default();
    let b = crate::steps::basics::check(p, &mut issues);
    let on_loopback_authority =
        b.authority_is_loopback && url.as_str().starts_with(&format!("{}/", b.authority));
    if on_login_host || on_loopback_authority {
        Ok(())
    } else {
        Err(OpenLinkError::NotLoginHost(url.to_string()))
    }
}
