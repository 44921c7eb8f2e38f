//! Step 1 — basics: service-desk URLs, tenant type, cloud, tenant and client ids.
//!
//! Resolves what was typed into canonical values ([`Basics`]) for the later steps, and
//! reports every problem against the field it came from. A field with an error resolves to
//! `None`, so later steps skip what depends on it instead of reporting the same mistake
//! again in other words.
//!
//! Step 1 is checked once per operation: [`crate::plan::plan`] keeps its result in
//! [`crate::plan::Plan::basics`], a flow that needs only step 1 calls [`resolve`], and both
//! pass the [`Basics`] down instead of checking the profile again (a flow that checked in
//! three places could tell three different stories about a profile edited in between).

use crate::ids::{ClientId, TenantId, is_fqdn, parse_guid};
use crate::profile::{Profile, TenantType};
use crate::target::Target;
use crate::validation::{Issue, Issues, Severity, UrlProblem, host_of, normalize_base_url};

const STEP: u8 = 1;

/// The tenant as it can appear in an authority URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TenantRef {
    /// A Directory (tenant) ID.
    Id(TenantId),
    /// A verified domain such as `contoso.onmicrosoft.com`.
    Domain(String),
}

impl TenantRef {
    /// The text that goes into a URL.
    pub fn as_str(&self) -> &str {
        match self {
            TenantRef::Id(t) => t.as_str(),
            TenantRef::Domain(d) => d,
        }
    }
}

/// Step 1, resolved. `None` means "missing or wrong; an issue says why".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Basics {
    /// Home tenant of the app.
    pub tenant: Option<TenantRef>,
    /// The app.
    pub client_id: Option<ClientId>,
    /// Agent URL, normalised.
    pub agent_url: Option<String>,
    /// Portal URL in effect (typed, or `<agent_url>/portal`), normalised.
    pub portal_url: Option<String>,
    /// On-premise authorization URL, normalised.
    pub auth_url: Option<String>,
    /// Login base URL (`https://<cloud login host>` or the override), no trailing slash.
    pub authority: String,
    /// True when the authority is a loopback override (tests, the sandbox).
    pub authority_is_loopback: bool,
    /// Where this profile may connect: `None` when the authority override is refused
    /// (an `authority` error says why), so nothing can be sent or opened.
    pub target: Option<Target>,
    /// The errors step 1 found (also added to the caller's issues), so a flow handed a
    /// `Basics` can say which field stops it without checking again.
    pub errors: Vec<Issue>,
}

impl Basics {
    /// `field: message` for each step-1 error on one of `fields`, in the order found: what a
    /// flow that cannot start without those fields reports.
    pub fn errors_on(&self, fields: &[&str]) -> Vec<String> {
        self.errors
            .iter()
            .filter(|i| fields.contains(&i.field.as_str()))
            .map(|i| format!("{}: {}", i.field, i.message))
            .collect()
    }
}

/// Checks step 1 for a flow that needs only step 1 (its issues go nowhere else; the
/// errors stay in [`Basics::errors`]).
pub fn resolve(p: &Profile) -> Basics {
    check(p, &mut Issues::default())
}

/// Checks step 1 and resolves it, adding its issues to `issues`.
pub fn check(p: &Profile, issues: &mut Issues) -> Basics {
    #[cfg(debug_assertions)]
    CHECKS.with(|c| c.set(c.get() + 1));
    let first = issues.0.len();
    let mut b = check_fields(p, issues);
    b.errors = issues.0[first..]
        .iter()
        .filter(|i| i.severity == Severity::Error)
        .cloned()
        .collect();
    b
}

#[cfg(debug_assertions)]
thread_local! {
    static CHECKS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// How many times step 1 was checked on this thread (debug builds only): tests use it to
/// prove an operation checks the profile once. Not an API.
#[cfg(debug_assertions)]
#[doc(hidden)]
pub fn checks_on_this_thread() -> usize {
    CHECKS.with(std::cell::Cell::get)
}

fn check_fields(p: &Profile, issues: &mut Issues) -> Basics {
    let mut b = Basics {
        authority: format!("https://{}", p.cloud.login_host()),
        ..Basics::default()
    };

    if p.name.trim().is_empty() {
        issues.error(
            STEP,
            "name",
            "name.required",
            "The customer name is empty.",
            "Give the connection a name you will recognise in the customer list, e.g. the customer's company name.",
        );
    } else if p.name.chars().count() > 100 {
        issues.error(
            STEP,
            "name",
            "name.too_long",
            "The customer name is longer than 100 characters.",
            "Shorten it; it is a label for lists and reports.",
        );
    }

    b.tenant = check_tenant(p, issues);
    b.client_id = check_client(p, issues);
    if let (Some(TenantRef::Id(t)), Some(c)) = (&b.tenant, &b.client_id)
        && t.as_str() == c.as_str()
    {
        issues.error(
            STEP,
            "client_id",
            "client_id.same_as_tenant",
            "The client ID is the same as the tenant ID; one of them was pasted into the wrong box.",
            "On the app's Overview page, copy 'Application (client) ID' here and 'Directory (tenant) ID' into Tenant ID.",
        );
        b.client_id = None;
    }

    b.agent_url = url_field(
        issues,
        "agent_url",
        &p.agent_url,
        "service desk address",
        "https://yourcompany.halopsa.com",
    );
    b.portal_url = match p.portal_url.as_deref().map(str::trim) {
        Some(s) if !s.is_empty() => url_field(
            issues,
            "portal_url",
            s,
            "self-service portal address",
            "https://yourcompany.halopsa.com/portal",
        ),
        _ => b.agent_url.as_ref().map(|a| format!("{a}/portal")),
    };
    b.auth_url = match p.auth_url.as_deref().map(str::trim) {
        Some(s) if !s.is_empty() => url_field(
            issues,
            "auth_url",
            s,
            "authorization URL",
            "https://halo.yourcompany.com/auth",
        ),
        _ => None,
    };
    if let (Some(agent), Some(portal)) = (&b.agent_url, &b.portal_url)
        && p.portal_url
            .as_deref()
            .is_some_and(|s| !s.trim().is_empty())
        && host_of(agent) != host_of(portal)
    {
        issues.info(
            STEP,
            "portal_url",
            "portal_url.other_host",
            "The portal is on a different host from the agent application, so it gets its own redirect URI.",
            "Make sure the portal address is exactly what users open (Halo's guide shows portals on their own domain under /portal).",
        );
    }

    check_portal_path(p, &b, issues);
    check_authority(p, issues, &mut b);
    b
}

/// A typed portal address with no path. Halo serves the portal under `/portal`, also on a
/// portal domain of its own: the CSP SSO guide registers
/// `https://{YOUR HALO PORTAL DOMAIN}/portal/auth/account/azureresponse` "if the portal is a
/// different URL from the Agent App" (shared/reference/entra-csp-sso-itsm-guide.md). A bare
/// host would give `https://host/auth/account/azureresponse`, which Halo's portal does not
/// send, so it is said rather than used silently; what was typed is kept (it may be right
/// for a portal served at the root).
fn check_portal_path(p: &Profile, b: &Basics, issues: &mut Issues) {
    let Some(portal) = &b.portal_url else { return };
    if p.portal_url.as_deref().is_none_or(|s| s.trim().is_empty()) {
        return;
    }
    let Ok(u) = url::Url::parse(portal) else {
        return;
    };
    if !matches!(u.path(), "" | "/") {
        return;
    }
    let with_portal = format!("{}/portal", portal.trim_end_matches('/'));
    let same_host = b.agent_url.as_deref().and_then(host_of) == host_of(portal);
    issues.warn(
        STEP,
        "portal_url",
        "portal_url.no_portal_path",
        if same_host {
            format!("The portal address {portal} has no path, so the portal's redirect URI would be the agent application's. Halo serves the portal under /portal ({with_portal}).")
        } else {
            format!("The portal address {portal} has no path. Halo's guide registers a portal on its own domain as https://{{PORTAL DOMAIN}}/portal/auth/account/azureresponse, so Halo expects {with_portal}.")
        },
        format!("Enter {with_portal} as the portal address (or clear it if the portal is the agent URL's /portal). Keep the bare host only if users open the portal at its root."),
    );
}

fn check_tenant(p: &Profile, issues: &mut Issues) -> Option<TenantRef> {
    let raw = p.tenant_id.trim();
    if raw.is_empty() {
        issues.error(
            STEP,
            "tenant_id",
            "tenant_id.required",
            "The tenant ID is empty.",
            "In the Entra admin centre open App registrations > your app > Overview and copy 'Directory (tenant) ID'.",
        );
        return None;
    }
    if let Some(t) = TenantId::parse(raw) {
        return Some(TenantRef::Id(t));
    }
    let lower = raw.to_ascii_lowercase();
    if matches!(lower.as_str(), "common" | "organizations" | "consumers") {
        issues.error(
            STEP,
            "tenant_id",
            "tenant_id.not_a_tenant",
            format!("'{raw}' is not a tenant: it is a shared sign-in endpoint."),
            "Enter the Directory (tenant) ID of the tenant where the app is registered. For a multi-tenant app choose 'Multi-tenant' as the tenant type instead.",
        );
        return None;
    }
    if is_fqdn(&lower) {
        issues.warn(
            STEP,
            "tenant_id",
            "tenant_id.domain",
            format!("'{raw}' is a domain, not the tenant ID. Sign-in works with a verified domain, but Halo asks for the ID."),
            "Prefer the 'Directory (tenant) ID' GUID from the app's Overview page; domains can be renamed or removed.",
        );
        return Some(TenantRef::Domain(lower));
    }
    issues.error(
        STEP,
        "tenant_id",
        "tenant_id.not_guid",
        format!("'{raw}' is not a tenant ID. A tenant ID looks like 72f988bf-86f1-41af-91ab-2d7cd011db47."),
        "Copy 'Directory (tenant) ID' from the app's Overview page in the Entra admin centre.",
    );
    None
}

fn check_client(p: &Profile, issues: &mut Issues) -> Option<ClientId> {
    let raw = p.client_id.trim();
    if raw.is_empty() {
        issues.error(
            STEP,
            "client_id",
            "client_id.required",
            "No application (client) ID yet: it comes from the app registration.",
            "Create the app in step 2 first, or let it be created for you there (\"Create it for me\" fills this in). For an app that already exists, copy 'Application (client) ID' from its Overview page.",
        );
        return None;
    }
    let Some(id) = ClientId::parse(raw) else {
        issues.error(
            STEP,
            "client_id",
            "client_id.not_guid",
            format!("'{raw}' is not a client ID. A client ID looks like 0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9."),
            "Copy 'Application (client) ID' from the app's Overview page — not the Object ID and not a secret.",
        );
        return None;
    };
    // First-party Microsoft apps people paste from sign-in logs or API permission screens.
    const MICROSOFT_APPS: [(&str, &str); 3] = [
        ("00000003-0000-0000-c000-000000000000", "Microsoft Graph"),
        ("00000002-0000-0000-c000-000000000000", "Azure AD Graph"),
        (
            "fa3d9a0c-3fb0-42cc-9193-47c7ecd2edbd",
            "Microsoft Partner Center",
        ),
    ];
    if let Some((_, name)) = MICROSOFT_APPS.iter().find(|(g, _)| *g == id.as_str()) {
        issues.error(
            STEP,
            "client_id",
            "client_id.microsoft_app",
            format!("{} is the id of {name}, a Microsoft API, not your app.", id.as_str()),
            "Use the Application (client) ID of the app registration you created for the service desk.",
        );
        return None;
    }
    Some(id)
}

fn url_field(
    issues: &mut Issues,
    field: &str,
    value: &str,
    what: &str,
    example: &str,
) -> Option<String> {
    match normalize_base_url(value) {
        Ok(u) => Some(u),
        Err(problem) => {
            let (message, fix) = problem.explain(what, example);
            let fix = if problem == UrlProblem::Unparseable && !value.contains("://") {
                format!("Add https:// in front: https://{}", value.trim())
            } else {
                fix
            };
            issues.error(
                STEP,
                field,
                &format!("{field}.{}", problem.code()),
                message,
                fix,
            );
            None
        }
    }
}

fn check_authority(p: &Profile, issues: &mut Issues, b: &mut Basics) {
    // One rule for every path (plan, CLI, GUI, flows): `Target::from_profile`. An authority
    // it refuses is an error here, and every flow refuses the profile for the same reason.
    match Target::from_profile(p) {
        Ok(t) => {
            if t.is_practice() {
                issues.info(
                    STEP,
                    "authority",
                    "authority.loopback",
                    "This profile signs in against a provider on this computer (a test or sandbox tenant), not Microsoft.",
                    "Clear the login host override before using the profile with a real tenant.",
                );
            }
            b.authority = t.authority().to_string();
            b.authority_is_loopback = t.is_practice();
            b.target = Some(t);
        }
        Err(e) => {
            let mut message = e.to_string();
            if let Some(first) = message.get(..1) {
                message = format!("{}{}.", first.to_uppercase(), &message[1..]);
            }
            // A public sign-up name the trust boundary refuses is about that field.
            issues.error(STEP, e.field(), e.code(), message, e.fix());
        }
    }
}

/// True when the customer has no application (client) ID yet: its app registration does
/// not exist for the wizard, so "Create it for me" creates it — and, having made it, goes
/// straight on to the SSO test (the engine's `graph::session::test_follows_apply`).
pub fn registration_missing(p: &Profile) -> bool {
    p.client_id.trim().is_empty()
}

/// True for a multi-tenant app.
pub fn is_multi(p: &Profile) -> bool {
    p.tenant_type == TenantType::Multi
}

/// Parses every entry of `allowed_tenants` that is a GUID (helper shared by later steps).
pub fn allowed_tenant_ids(p: &Profile) -> Vec<TenantId> {
    p.allowed_tenants
        .iter()
        .filter_map(|t| parse_guid(t).and_then(|g| TenantId::parse(&g)))
        .collect()
}
