//! The one trust boundary: where this tool may connect, send a credential, open a browser,
//! or print a link for the admin to act on.
//!
//! A [`Target`] is built once from a profile (its `cloud` and optional `authority`
//! override) and is the only way any code gets a login host, a token or authorize
//! endpoint, a discovery document's address, an admin-consent link or the Microsoft Graph
//! base. Every such address is an [`Endpoint`], which only a `Target` can make; code that
//! sends a secret, an assertion or a token, or opens the browser, takes an `&Endpoint`,
//! never a string.
//!
//! Allowed, and nothing else:
//! - **Microsoft**: `https://` on the profile cloud's login host, or one of the aliases
//!   Microsoft documents for that cloud ([`Cloud::login_host_aliases`]), exact host match,
//!   no port other than 443, no user name or password, no path, query or fragment. Graph is
//!   that cloud's Graph host.
//! - **Practice** (the sandbox, the test providers): exactly `http://127.0.0.1:<port>`,
//!   `http://localhost:<port>` or `http://[::1]:<port>`. Its Graph base is that same
//!   origin (`…/v1.0`), so a practice profile never reaches Microsoft and a real one never
//!   reaches this computer.
//!
//! Refused: look-alike hosts (`login.microsoftonline.com.evil.example`), other 127.x
//! addresses, other IP literals, user info (`user@host`), other schemes, https on
//! loopback, paths. [`is_loopback_origin`] is the one loopback test of the code base.
//!
//! - **Public sign-up** (issue 14 point 7), only for a profile whose sign-in variant is
//!   Azure AD B2C or Microsoft Entra External ID ([`SignupService`]): exactly
//!   `https://<tenant name>.b2clogin.com` or `https://<subdomain>.ciamlogin.com`, the one
//!   host derived from the profile's validated tenant name — never another tenant's, and a
//!   workforce profile still refuses both domains. Its practice form is the same three
//!   loopback origins, serving Microsoft's paths on that origin.
//!
//! Left out: B2C/External ID custom domains (Azure Front Door) and their sovereign-cloud
//! hosts (`b2clogin.cn`); a profile with one of those is refused rather than guessed at.

use std::fmt;

use url::{Host, Url};

use crate::cloud::Cloud;
use crate::ids::{ClientId, TenantId, is_fqdn, parse_guid};

/// Why an authority (or a URL offered by a provider) is not one this tool may use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TargetError {
    /// Not a URL at all.
    #[error("the login host override '{0}' is not a URL")]
    NotAUrl(String),
    /// A scheme other than https (Microsoft) or http (practice on this computer).
    #[error("the login host override uses {scheme}:// ({url})")]
    Scheme {
        /// The scheme found.
        scheme: String,
        /// What was given.
        url: String,
    },
    /// `user@host` or `user:password@host`.
    #[error("the login host override '{0}' contains a user name or password (…@)")]
    Userinfo(String),
    /// A path, query or fragment after the host.
    #[error("the login host override '{0}' has a path, ?query or #fragment after the host")]
    HasPath(String),
    /// http on a host that is not this computer's loopback.
    #[error("the login host override '{0}' uses http:// for a host that is not this computer")]
    NotHttps(String),
    /// https on loopback: the practice providers speak http only.
    #[error("'{0}' is https on this computer; practice providers are http://127.0.0.1:<port>")]
    LoopbackHttps(String),
    /// A loopback address other than the three allowed spellings, e.g. 127.0.0.2.
    #[error("'{0}' is not one of the allowed practice addresses")]
    OtherLoopback(String),
    /// A port on a Microsoft login host.
    #[error("'{0}' names a port; Microsoft's login hosts are reached on the standard https port")]
    Port(String),
    /// An https host that is not the cloud's Microsoft login host.
    #[error("{host} is not the Microsoft login host of the {cloud} cloud ({expected})")]
    NotMicrosoft {
        /// The host given.
        host: String,
        /// The cloud's label.
        cloud: &'static str,
        /// The cloud's login host.
        expected: &'static str,
    },
    /// The B2C tenant name / External ID subdomain is not one host label.
    #[error("the tenant name '{value}' {reason}")]
    SignupTenantName {
        /// What was typed.
        value: String,
        /// Why it is refused.
        reason: String,
        /// What to type instead.
        fix: String,
    },
    /// The B2C user flow is not a B2C policy name.
    #[error("the user flow '{value}' {reason}")]
    UserFlow {
        /// What was typed.
        value: String,
        /// Why it is refused.
        reason: String,
        /// What to type instead.
        fix: String,
    },
    /// Public sign-up is modelled for the Global cloud only.
    #[error("{service} is set up here for the Global cloud only, not {cloud}")]
    SignupCloud {
        /// B2C or External ID.
        service: &'static str,
        /// The profile's cloud.
        cloud: &'static str,
    },
    /// A login host override that is not the variant's own host.
    #[error("{host} is not this {service} tenant's sign-in host ({expected})")]
    NotSignupHost {
        /// The host given.
        host: String,
        /// B2C or External ID.
        service: &'static str,
        /// The derived host.
        expected: String,
    },
    /// A URL a provider offered (discovery, paging) that leaves the target.
    #[error("{what} {url} is not on {expected}")]
    Leaves {
        /// What the URL was for.
        what: &'static str,
        /// The URL.
        url: String,
        /// Where it had to be.
        expected: String,
    },
}

impl TargetError {
    /// Stable code (the plan issue's code on the `authority` field).
    pub fn code(&self) -> &'static str {
        match self {
            TargetError::NotAUrl(_) => "authority.not_a_url",
            TargetError::Scheme { .. } => "authority.scheme",
            TargetError::Userinfo(_) => "authority.userinfo",
            TargetError::HasPath(_) => "authority.has_path",
            TargetError::NotHttps(_) => "authority.not_https",
            TargetError::LoopbackHttps(_) => "authority.loopback_https",
            TargetError::OtherLoopback(_) => "authority.other_loopback",
            TargetError::Port(_) => "authority.port",
            TargetError::NotMicrosoft { .. } => "authority.not_microsoft",
            TargetError::SignupTenantName { .. } => "public_signup.tenant_name",
            TargetError::UserFlow { .. } => "public_signup.user_flow",
            TargetError::SignupCloud { .. } => "public_signup.cloud",
            TargetError::NotSignupHost { .. } => "authority.not_signup_host",
            TargetError::Leaves { .. } => "target.leaves",
        }
    }

    /// The profile field the error is about (for the plan issue).
    pub fn field(&self) -> &'static str {
        match self {
            TargetError::SignupTenantName { .. } => "public_signup.tenant_name",
            TargetError::UserFlow { .. } => "public_signup.user_flow",
            TargetError::SignupCloud { .. } => "cloud",
            _ => "authority",
        }
    }

    /// What to do about it, for the plan issue and the CLI.
    pub fn fix(&self) -> String {
        match self {
            TargetError::NotMicrosoft { expected, .. } => format!(
                "Leave the login host override empty to use https://{expected}, or pick the cloud the tenant is in. Only Microsoft's own login hosts (or a practice provider at http://127.0.0.1:<port>) are used."
            ),
            TargetError::Leaves { .. } => {
                "The provider is not behaving like Entra; nothing was sent to that address. Check the login host override in step 1.".into()
            }
            TargetError::SignupTenantName { fix, .. } | TargetError::UserFlow { fix, .. } => {
                fix.clone()
            }
            TargetError::SignupCloud { .. } => {
                "Choose the Global cloud in step 1 (Azure AD B2C and External ID tenants in other clouds are not modelled).".into()
            }
            TargetError::NotSignupHost { expected, .. } => format!(
                "Leave the login host override empty to use {expected} (derived from the tenant name), or enter a practice provider as http://127.0.0.1:<port>."
            ),
            _ => "Leave the login host override empty to use the cloud's Microsoft login host, or enter a practice provider as exactly http://127.0.0.1:<port>, http://localhost:<port> or http://[::1]:<port>.".into(),
        }
    }
}

/// A tenant as it may appear in a login or consent URL path: a canonical GUID, a
/// lower-case domain, or one of Entra's shared segments. Nothing else can be built, so a
/// path segment can never carry `/`, `?`, `&` or `#`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct TenantSegment(String);

impl TenantSegment {
    /// `organizations`: any work or school account's home tenant.
    pub fn organizations() -> TenantSegment {
        TenantSegment("organizations".into())
    }

    /// `common`: work, school and personal accounts.
    pub fn common() -> TenantSegment {
        TenantSegment("common".into())
    }

    /// A tenant ID.
    pub fn id(t: &TenantId) -> TenantSegment {
        TenantSegment(t.as_str().to_string())
    }

    /// A GUID (canonicalised) or a domain (lower-cased, trailing dot dropped); `None` for
    /// anything else, including `common`, `organizations` and `consumers`, which callers
    /// choose explicitly.
    pub fn tenant(input: &str) -> Option<TenantSegment> {
        let t = input.trim();
        if let Some(g) = parse_guid(t) {
            return Some(TenantSegment(g));
        }
        let d = t.trim_end_matches('.').to_ascii_lowercase();
        if is_fqdn(&d) && !matches!(d.as_str(), "common" | "organizations" | "consumers") {
            return Some(TenantSegment(d));
        }
        None
    }

    /// The text in the URL path.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True for `organizations` / `common` (the issuer is Entra's `{tenantid}` template).
    pub fn is_shared(&self) -> bool {
        matches!(self.0.as_str(), "organizations" | "common")
    }
}

impl fmt::Debug for TenantSegment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TenantSegment({})", self.0)
    }
}

impl fmt::Display for TenantSegment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Which public sign-up service a profile's sign-ins go to, with its validated names: the
/// only way a `*.b2clogin.com` or `*.ciamlogin.com` host enters a [`Target`].
#[derive(Clone, PartialEq, Eq)]
pub enum SignupService {
    /// Azure AD B2C: `https://<tenant>.b2clogin.com/<tenant>.onmicrosoft.com/<user flow>/v2.0`
    /// (Microsoft Learn, azure/active-directory-b2c/tokens-overview, "Endpoints" and
    /// "Validate signature").
    B2c {
        /// The tenant name, lower-case (`contoso` of `contoso.onmicrosoft.com`).
        tenant: String,
        /// The user flow, as typed (B2C policy names are case-insensitive).
        user_flow: String,
    },
    /// Microsoft Entra External ID (external tenant):
    /// `https://<subdomain>.ciamlogin.com/<tenant id>/v2.0` (Microsoft Learn,
    /// entra/identity-platform/security-tokens, "Token endpoints and issuers").
    ExternalId {
        /// The subdomain, lower-case (`contoso` of `contoso.ciamlogin.com`).
        subdomain: String,
    },
}

impl fmt::Debug for SignupService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SignupService::B2c { tenant, user_flow } => write!(f, "B2c({tenant}, {user_flow})"),
            SignupService::ExternalId { subdomain } => write!(f, "ExternalId({subdomain})"),
        }
    }
}

/// The product names, for messages.
pub const B2C_NAME: &str = "Azure AD B2C";
/// The product name of External ID, for messages.
pub const EXTERNAL_ID_NAME: &str = "Microsoft Entra External ID";

impl SignupService {
    /// Azure AD B2C with `tenant_name` and `user_flow` as typed; errors name the field and
    /// what to type.
    pub fn b2c(tenant_name: &str, user_flow: &str) -> Result<SignupService, TargetError> {
        let tenant = signup_label(tenant_name, "b2clogin.com")?;
        let user_flow = check_user_flow(user_flow)?;
        Ok(SignupService::B2c { tenant, user_flow })
    }

    /// External ID with the tenant subdomain as typed.
    pub fn external_id(subdomain: &str) -> Result<SignupService, TargetError> {
        Ok(SignupService::ExternalId {
            subdomain: signup_label(subdomain, "ciamlogin.com")?,
        })
    }

    /// The product name.
    pub fn name(&self) -> &'static str {
        match self {
            SignupService::B2c { .. } => B2C_NAME,
            SignupService::ExternalId { .. } => EXTERNAL_ID_NAME,
        }
    }

    /// The sign-in host: `<tenant>.b2clogin.com` or `<subdomain>.ciamlogin.com`.
    pub fn host(&self) -> String {
        match self {
            SignupService::B2c { tenant, .. } => format!("{tenant}.b2clogin.com"),
            SignupService::ExternalId { subdomain } => format!("{subdomain}.ciamlogin.com"),
        }
    }
}

/// One DNS label (RFC 1123 §2.1: letters, digits and hyphens, 1–63 characters, no hyphen
/// at either end), lower-cased: the only thing that can stand in front of `.b2clogin.com`
/// or `.ciamlogin.com` and still name this tenant's host.
fn signup_label(raw: &str, domain: &str) -> Result<String, TargetError> {
    let t = raw.trim();
    let bad = |reason: &str, fix: String| TargetError::SignupTenantName {
        value: raw.to_string(),
        reason: reason.to_string(),
        fix,
    };
    let example = format!("contoso (for contoso.onmicrosoft.com and contoso.{domain})");
    if t.is_empty() {
        return Err(bad(
            "is empty",
            format!(
                "Type the tenant name, the first part of its .onmicrosoft.com domain, e.g. {example}."
            ),
        ));
    }
    let lower = t.to_ascii_lowercase();
    if let Some(first) = lower.split('.').next()
        && lower.contains('.')
    {
        return Err(bad(
            "is a domain or address, not the tenant name",
            format!("Type only '{first}': the wizard builds {first}.{domain} from it."),
        ));
    }
    let label_ok = (1..=63).contains(&lower.len())
        && lower
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !lower.starts_with('-')
        && !lower.ends_with('-');
    if !label_ok {
        return Err(bad(
            "is not a host name label (letters, digits and hyphens, at most 63 characters)",
            format!(
                "Type the tenant name as it appears in its .onmicrosoft.com domain, e.g. {example}."
            ),
        ));
    }
    Ok(lower)
}

/// A B2C user flow as the portal lists it: Azure AD B2C puts `B2C_1_` in front of a user
/// flow's name (`susi` becomes `B2C_1_susi`) and custom policies start `B2C_1A_`
/// (azure-docs includes/active-directory-b2c-app-integration-add-user-flow.md). It is a
/// URL path segment, so only letters, digits, `_` and `-` are accepted.
pub fn check_user_flow(raw: &str) -> Result<String, TargetError> {
    let t = raw.trim();
    let bad = |reason: &str, fix: String| TargetError::UserFlow {
        value: raw.to_string(),
        reason: reason.to_string(),
        fix,
    };
    if t.is_empty() {
        return Err(bad(
            "is empty",
            "Type the sign-up and sign-in user flow's name as Azure AD B2C > User flows lists it, e.g. B2C_1_signupsignin1.".into(),
        ));
    }
    if !t
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(bad(
            "contains characters a user flow name cannot have",
            "Copy the name from Azure AD B2C > User flows (letters, digits, _ and - only), e.g. B2C_1_signupsignin1.".into(),
        ));
    }
    let upper = t.to_ascii_uppercase();
    let rest = upper
        .strip_prefix("B2C_1A_")
        .or_else(|| upper.strip_prefix("B2C_1_"));
    match rest {
        Some(r) if !r.is_empty() => Ok(t.to_string()),
        Some(_) => Err(bad(
            "is only the prefix",
            "Add the user flow's own name after the prefix, e.g. B2C_1_signupsignin1.".into(),
        )),
        None => Err(bad(
            "does not start with B2C_1_ (user flows) or B2C_1A_ (custom policies)",
            format!(
                "Azure AD B2C puts B2C_1_ in front of the name you gave the user flow: type B2C_1_{t} if that is the one."
            ),
        )),
    }
}

/// A URL checked to be on a [`Target`]: only a `Target` makes one. Everything that sends a
/// credential or a token, or opens the browser, takes this.
#[derive(Clone, PartialEq, Eq)]
pub struct Endpoint(Url);

impl Endpoint {
    /// The URL.
    pub fn url(&self) -> &Url {
        &self.0
    }

    /// The URL as text.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// A copy with one more `name=value` query pair (encoded). The origin and path cannot
    /// change, so the result is still on the same target.
    pub fn with_query(&self, pairs: &[(&str, &str)]) -> Endpoint {
        let mut u = self.0.clone();
        {
            let mut q = u.query_pairs_mut();
            for (k, v) in pairs {
                q.append_pair(k, v);
            }
        }
        Endpoint(u)
    }
}

impl Endpoint {
    /// A copy with the path segment `from` replaced by `to` (the first one only). Whole
    /// segments are swapped through the URL API, so the origin cannot change.
    pub fn replace_segment(&self, from: &TenantSegment, to: &TenantSegment) -> Endpoint {
        let mut u = self.0.clone();
        let segments: Vec<String> = u
            .path_segments()
            .map(|s| s.map(str::to_string).collect())
            .unwrap_or_default();
        if let Some(i) = segments.iter().position(|s| s == from.as_str())
            && let Ok(mut path) = u.path_segments_mut()
        {
            path.clear();
            for (j, seg) in segments.iter().enumerate() {
                path.push(if j == i { to.as_str() } else { seg });
            }
        }
        Endpoint(u)
    }
}

/// Read-only access to the URL's parts (`host_str`, `path`, `query_pairs`); an `Endpoint`
/// cannot be changed except through its own methods.
impl std::ops::Deref for Endpoint {
    type Target = Url;
    fn deref(&self) -> &Url {
        &self.0
    }
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Endpoint({})", self.0)
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Microsoft,
    Practice,
}

/// Where one profile's sign-ins, tokens, consent links and Graph calls go (module docs).
#[derive(Clone, PartialEq, Eq)]
pub struct Target {
    kind: Kind,
    cloud: Cloud,
    /// Origin of the login host: `https://login.microsoftonline.com`, no trailing slash.
    login: Url,
    /// Hosts a provider may name for its own endpoints (the login host and the cloud's
    /// documented aliases; for practice, the one origin).
    graph: Url,
    /// Set for a public sign-up profile: `login` is then that service's host (or practice).
    signup: Option<SignupService>,
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Target({:?}, {}, {}, {:?})",
            self.kind, self.login, self.graph, self.signup
        )
    }
}

/// True when `url` is exactly a practice origin: `http://127.0.0.1:<port>`,
/// `http://localhost:<port>` or `http://[::1]:<port>` (a trailing `/` allowed), with no
/// user info, path, query or fragment. The one loopback test of the code base.
pub fn is_loopback_origin(url: &Url) -> bool {
    url.scheme() == "http"
        && url.username().is_empty()
        && url.password().is_none()
        && matches!(url.path(), "" | "/")
        && url.query().is_none()
        && url.fragment().is_none()
        && is_loopback_host(url.host())
}

/// True when `s` is a practice authority (the same rules as a profile's override), so
/// the profile is labelled SANDBOX. Microsoft's login hosts are never loopback.
pub fn is_loopback_authority(s: &str) -> bool {
    Target::practice(s).is_ok()
}

/// How a practice authority must begin (a port always follows).
const PRACTICE_PREFIXES: [&str; 3] = ["http://127.0.0.1:", "http://localhost:", "http://[::1]:"];

fn is_loopback_host(h: Option<Host<&str>>) -> bool {
    match h {
        Some(Host::Domain(d)) => d == "localhost",
        Some(Host::Ipv4(a)) => a == std::net::Ipv4Addr::LOCALHOST,
        Some(Host::Ipv6(a)) => a == std::net::Ipv6Addr::LOCALHOST,
        None => false,
    }
}

fn is_any_loopback(h: Option<Host<&str>>) -> bool {
    match h {
        Some(Host::Domain(d)) => d == "localhost" || d.ends_with(".localhost"),
        Some(Host::Ipv4(a)) => a.is_loopback() || a.is_unspecified(),
        Some(Host::Ipv6(a)) => a.is_loopback() || a.is_unspecified(),
        None => false,
    }
}

impl Target {
    /// The target of a profile: its cloud, and its `authority` override when one is set.
    pub fn from_profile(p: &crate::profile::Profile) -> Result<Target, TargetError> {
        use crate::profile::SignupVariant;
        let s = &p.public_signup;
        let service = match s.variant {
            SignupVariant::Workforce => return Target::new(p.cloud, p.authority.as_deref()),
            SignupVariant::B2c => SignupService::b2c(&s.tenant_name, &s.user_flow)?,
            SignupVariant::ExternalId => SignupService::external_id(&s.tenant_name)?,
        };
        Target::for_signup(p.cloud, p.authority.as_deref(), service)
    }

    /// The target of a public sign-up profile: the service's own host, or a practice
    /// provider; any other override (Microsoft's workforce host included) is refused.
    pub fn for_signup(
        cloud: Cloud,
        authority: Option<&str>,
        service: SignupService,
    ) -> Result<Target, TargetError> {
        if cloud != Cloud::Global {
            return Err(TargetError::SignupCloud {
                service: service.name(),
                cloud: cloud.label(),
            });
        }
        let host = service.host();
        let raw = authority.map(str::trim).filter(|s| !s.is_empty());
        let mut t = match raw {
            None => Target::microsoft(cloud),
            Some(raw) => {
                let parsed = Url::parse(raw).ok();
                let exact = parsed.as_ref().is_some_and(|u| {
                    u.scheme() == "https"
                        && u.host_str() == Some(host.as_str())
                        && u.port().is_none()
                        && u.username().is_empty()
                        && u.password().is_none()
                        && matches!(u.path(), "" | "/")
                        && u.query().is_none()
                        && u.fragment().is_none()
                });
                if exact {
                    Target::microsoft(cloud)
                } else {
                    match Target::new(cloud, Some(raw)) {
                        Ok(t) if t.is_practice() => t,
                        Ok(_) | Err(TargetError::NotMicrosoft { .. }) => {
                            return Err(TargetError::NotSignupHost {
                                host: parsed
                                    .as_ref()
                                    .and_then(|u| u.host_str().map(str::to_string))
                                    .unwrap_or_else(|| raw.to_string()),
                                service: service.name(),
                                expected: format!("https://{host}"),
                            });
                        }
                        Err(e) => return Err(e),
                    }
                }
            }
        };
        if !t.is_practice() {
            t.login = Url::parse(&format!("https://{host}"))
                .map_err(|_| TargetError::NotAUrl(host.clone()))?;
        }
        t.signup = Some(service);
        Ok(t)
    }

    /// The target for `cloud` with an optional authority override (empty = none).
    pub fn new(cloud: Cloud, authority: Option<&str>) -> Result<Target, TargetError> {
        let Some(raw) = authority.map(str::trim).filter(|s| !s.is_empty()) else {
            return Ok(Target::microsoft(cloud));
        };
        let url = Url::parse(raw)
            .ok()
            .filter(|u| u.has_host())
            .ok_or_else(|| TargetError::NotAUrl(raw.to_string()))?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(TargetError::Userinfo(raw.to_string()));
        }
        if !matches!(url.path(), "" | "/") || url.query().is_some() || url.fragment().is_some() {
            return Err(TargetError::HasPath(raw.to_string()));
        }
        match url.scheme() {
            "http" => {
                // The text itself must spell one of the three practice origins: the URL
                // parser would also turn `127.1` or `2130706433` into 127.0.0.1, and an
                // admin reading the profile should see exactly what is used.
                let lower = raw.to_ascii_lowercase();
                let spelled = PRACTICE_PREFIXES.iter().any(|p| lower.starts_with(p));
                if is_loopback_host(url.host()) && spelled {
                    Target::practice_url(url, cloud)
                } else if is_any_loopback(url.host()) {
                    Err(TargetError::OtherLoopback(raw.to_string()))
                } else {
                    Err(TargetError::NotHttps(raw.to_string()))
                }
            }
            "https" => {
                if is_any_loopback(url.host()) {
                    return Err(TargetError::LoopbackHttps(raw.to_string()));
                }
                let host = match url.host() {
                    Some(Host::Domain(d)) => d.to_string(),
                    Some(other) => {
                        return Err(TargetError::NotMicrosoft {
                            host: other.to_string(),
                            cloud: cloud.label(),
                            expected: cloud.login_host(),
                        });
                    }
                    None => return Err(TargetError::NotAUrl(raw.to_string())),
                };
                if host != cloud.login_host() && !cloud.login_host_aliases().contains(&&*host) {
                    return Err(TargetError::NotMicrosoft {
                        host,
                        cloud: cloud.label(),
                        expected: cloud.login_host(),
                    });
                }
                if url.port().is_some() {
                    return Err(TargetError::Port(raw.to_string()));
                }
                let mut t = Target::microsoft(cloud);
                t.login = origin_of(&url);
                Ok(t)
            }
            other => Err(TargetError::Scheme {
                scheme: other.to_string(),
                url: raw.to_string(),
            }),
        }
    }

    /// A practice provider at `origin` (the sandbox, a test peer, the Graph double); the
    /// same rules as a practice `authority`. Its cloud is Global (scopes name
    /// `graph.microsoft.com`, as the sandbox expects), and its Graph is the same origin.
    pub fn practice(origin: &str) -> Result<Target, TargetError> {
        match Target::new(Cloud::Global, Some(origin))? {
            t if t.is_practice() => Ok(t),
            _ => Err(TargetError::NotHttps(origin.to_string())),
        }
    }

    fn practice_url(url: Url, cloud: Cloud) -> Result<Target, TargetError> {
        let login = origin_of(&url);
        let graph = Url::parse(&format!("{}/v1.0", trim(&login)))
            .map_err(|_| TargetError::NotAUrl(url.to_string()))?;
        Ok(Target {
            kind: Kind::Practice,
            cloud,
            login,
            graph,
            signup: None,
        })
    }

    fn microsoft(cloud: Cloud) -> Target {
        // Both parse: the hosts are constants.
        let login = Url::parse(&format!("https://{}", cloud.login_host()))
            .unwrap_or_else(|_| unreachable!("cloud login hosts are valid URLs"));
        let graph = Url::parse(&format!("https://{}/v1.0", cloud.graph_host()))
            .unwrap_or_else(|_| unreachable!("cloud graph hosts are valid URLs"));
        Target {
            kind: Kind::Microsoft,
            cloud,
            login,
            graph,
            signup: None,
        }
    }

    /// The public sign-up service, for a B2C or External ID profile.
    pub fn signup(&self) -> Option<&SignupService> {
        self.signup.as_ref()
    }

    /// The public sign-up authority: `<login>/<tenant>.onmicrosoft.com/<user flow>/v2.0`
    /// (B2C) or `<login>/<tenant>/v2.0` (External ID, `tenant` = the tenant ID or domain).
    /// `None` for a workforce target.
    pub fn signup_authority(&self, tenant: &TenantSegment) -> Option<Endpoint> {
        let mut u = self.login.clone();
        {
            let mut path = u.path_segments_mut().ok()?;
            path.clear();
            match self.signup.as_ref()? {
                SignupService::B2c { tenant, user_flow } => {
                    path.push(&format!("{tenant}.onmicrosoft.com"))
                        .push(user_flow);
                }
                SignupService::ExternalId { .. } => {
                    path.push(tenant.as_str());
                }
            }
            path.push("v2.0");
        }
        Some(Endpoint(u))
    }

    /// `<signup authority>/.well-known/openid-configuration`.
    pub fn signup_discovery(&self, tenant: &TenantSegment) -> Option<Endpoint> {
        let mut e = self.signup_authority(tenant)?;
        if let Ok(mut path) = e.0.path_segments_mut() {
            path.push(".well-known").push("openid-configuration");
        }
        Some(e)
    }

    /// The issuer the service puts in its tokens for the tenant GUID `tid`: B2C
    /// `https://<tenant>.b2clogin.com/<tid>/v2.0/` (tokens-overview, the `iss` row and
    /// "Compatibility": the default issuer format), External ID
    /// `https://<tid>.ciamlogin.com/<tid>/v2.0` (security-tokens: the issuer's host is the
    /// tenant ID, not the subdomain). In practice the host is the provider's origin.
    pub fn signup_issuer(&self, tid: &TenantId) -> Option<String> {
        let tid = tid.as_str();
        Some(match (self.signup.as_ref()?, self.kind) {
            (SignupService::B2c { .. }, _) => format!("{}/{tid}/v2.0/", self.authority()),
            (SignupService::ExternalId { .. }, Kind::Practice) => {
                format!("{}/{tid}/v2.0", self.authority())
            }
            (SignupService::ExternalId { .. }, Kind::Microsoft) => {
                format!("https://{tid}.ciamlogin.com/{tid}/v2.0")
            }
        })
    }

    /// True for a practice provider on this computer (labelled SANDBOX everywhere).
    pub fn is_practice(&self) -> bool {
        self.kind == Kind::Practice
    }

    /// The cloud whose scopes and hosts apply.
    pub fn cloud(&self) -> Cloud {
        self.cloud
    }

    /// The login origin, without a trailing slash (`https://login.microsoftonline.com`),
    /// for display and for comparing issuers.
    pub fn authority(&self) -> &str {
        trim(&self.login)
    }

    /// The Graph base without a trailing slash (`https://graph.microsoft.com/v1.0`).
    pub fn graph_base(&self) -> &str {
        trim(&self.graph)
    }

    /// `scope` value for app-only Graph tokens: `https://<graph host>/.default`. For
    /// practice the cloud's host, which the sandbox expects as the audience.
    pub fn graph_default_scope(&self) -> String {
        format!("https://{}/.default", self.cloud.graph_host())
    }

    fn login_path(&self, segment: &TenantSegment, rest: &str) -> Endpoint {
        let mut u = self.login.clone();
        // Path segments are set through the URL API, so they are encoded, not spliced.
        if let Ok(mut path) = u.path_segments_mut() {
            path.clear().push(segment.as_str());
            for part in rest.split('/') {
                path.push(part);
            }
        }
        Endpoint(u)
    }

    /// `<login>/<tenant>/oauth2/v2.0/authorize` (no query yet).
    pub fn authorize(&self, segment: &TenantSegment) -> Endpoint {
        self.login_path(segment, "oauth2/v2.0/authorize")
    }

    /// `<login>/<tenant>/oauth2/v2.0/token`.
    pub fn token(&self, segment: &TenantSegment) -> Endpoint {
        self.login_path(segment, "oauth2/v2.0/token")
    }

    /// `<login>/<tenant>/v2.0/.well-known/openid-configuration`.
    pub fn discovery(&self, segment: &TenantSegment) -> Endpoint {
        self.login_path(segment, "v2.0/.well-known/openid-configuration")
    }

    /// The issuer Entra uses for `segment` (`<login>/<tenant>/v2.0`), as text.
    pub fn issuer_prefix(&self) -> String {
        format!("{}/", self.authority())
    }

    /// The v2 admin-consent link: path `/<tenant>/v2.0/adminconsent` and exactly one
    /// `client_id`, `scope`, `redirect_uri` and `state` (entra-docs `v2-admin-consent.md`).
    pub fn admin_consent(
        &self,
        segment: &TenantSegment,
        client_id: &ClientId,
        redirect_uri: &str,
        state: &str,
    ) -> Endpoint {
        self.login_path(segment, "v2.0/adminconsent").with_query(&[
            ("client_id", client_id.as_str()),
            ("scope", &self.graph_default_scope()),
            ("redirect_uri", redirect_uri),
            ("state", state),
        ])
    }

    /// A Graph URL: the base plus `path_and_query` (which code writes, starting with `/`).
    pub fn graph(&self, path_and_query: &str) -> Result<Endpoint, TargetError> {
        let text = format!("{}{}", self.graph_base(), path_and_query);
        let u = Url::parse(&text).map_err(|_| TargetError::Leaves {
            what: "Graph path",
            url: text.clone(),
            expected: self.graph_base().to_string(),
        })?;
        self.check_graph("Graph path", u.as_str())
    }

    /// Accepts a login-side URL a provider offered (a discovery document's token endpoint
    /// or key set) only when it is on this target's login origin (or, for Microsoft, one
    /// of the cloud's documented login hosts, over https on the standard port).
    pub fn check_login(&self, what: &'static str, url: &str) -> Result<Endpoint, TargetError> {
        let leaves = || TargetError::Leaves {
            what,
            url: url.to_string(),
            expected: self.authority().to_string(),
        };
        let u = Url::parse(url).map_err(|_| leaves())?;
        if !u.username().is_empty() || u.password().is_some() {
            return Err(leaves());
        }
        let ok = match self.kind {
            Kind::Practice => u.origin() == self.login.origin(),
            // A public sign-up target: exactly its own host, nothing of the workforce's.
            Kind::Microsoft if self.signup.is_some() => {
                u.scheme() == "https" && u.port().is_none() && u.host_str() == self.login.host_str()
            }
            Kind::Microsoft => {
                u.scheme() == "https"
                    && u.port().is_none()
                    && u.host_str().is_some_and(|h| {
                        h == self.cloud.login_host() || self.cloud.login_host_aliases().contains(&h)
                    })
            }
        };
        if ok { Ok(Endpoint(u)) } else { Err(leaves()) }
    }

    /// Accepts a Graph URL a server offered (`@odata.nextLink`) only on this target's
    /// Graph origin and under its base path.
    pub fn check_graph(&self, what: &'static str, url: &str) -> Result<Endpoint, TargetError> {
        let leaves = || TargetError::Leaves {
            what,
            url: url.to_string(),
            expected: self.graph_base().to_string(),
        };
        let u = Url::parse(url).map_err(|_| leaves())?;
        let ok = u.origin() == self.graph.origin()
            && u.username().is_empty()
            && u.password().is_none()
            && (u.path() == self.graph.path()
                || u.path().starts_with(&format!("{}/", self.graph.path())));
        if ok { Ok(Endpoint(u)) } else { Err(leaves()) }
    }
}

fn origin_of(u: &Url) -> Url {
    let mut o = u.clone();
    o.set_path("");
    o.set_query(None);
    o.set_fragment(None);
    o
}

fn trim(u: &Url) -> &str {
    u.as_str().trim_end_matches('/')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(cloud: Cloud, a: &str) -> Target {
        Target::new(cloud, Some(a)).unwrap_or_else(|e| panic!("{a}: {e}"))
    }

    fn err(cloud: Cloud, a: &str) -> &'static str {
        Target::new(cloud, Some(a))
            .map(|t| panic!("{a} was accepted as {t:?}"))
            .unwrap_err()
            .code()
    }

    #[test]
    fn default_is_the_clouds_microsoft_hosts() {
        for c in Cloud::ALL {
            let t = Target::new(c, None).unwrap();
            assert!(!t.is_practice());
            assert_eq!(t.authority(), format!("https://{}", c.login_host()));
            assert_eq!(t.graph_base(), format!("https://{}/v1.0", c.graph_host()));
            assert_eq!(Target::new(c, Some("  ")).unwrap(), t);
        }
    }

    #[test]
    fn microsoft_hosts_exact_match_and_documented_aliases_only() {
        ok(Cloud::Global, "https://login.microsoftonline.com");
        ok(Cloud::Global, "https://LOGIN.microsoftonline.com/");
        ok(Cloud::China, "https://login.chinacloudapi.cn");
        assert_eq!(
            err(
                Cloud::Global,
                "https://login.microsoftonline.com.evil.example"
            ),
            "authority.not_microsoft"
        );
        assert_eq!(
            err(
                Cloud::Global,
                "https://evil.example/login.microsoftonline.com"
            ),
            "authority.has_path"
        );
        assert_eq!(
            err(Cloud::Global, "https://login.microsoftonline.us"),
            "authority.not_microsoft",
            "another cloud's host"
        );
        assert_eq!(
            err(Cloud::Global, "https://login.microsoftonline.com."),
            "authority.not_microsoft",
            "trailing dot is another name"
        );
        assert_eq!(
            err(Cloud::Global, "https://user@login.microsoftonline.com"),
            "authority.userinfo"
        );
        assert_eq!(
            err(
                Cloud::Global,
                "https://login.microsoftonline.com@evil.example"
            ),
            "authority.userinfo"
        );
        assert_eq!(
            err(Cloud::Global, "https://login.microsoftonline.com:8443"),
            "authority.port"
        );
        assert_eq!(
            err(Cloud::Global, "https://20.190.1.1"),
            "authority.not_microsoft"
        );
        assert_eq!(
            err(Cloud::Global, "https://[2001:db8::1]"),
            "authority.not_microsoft"
        );
        assert_eq!(
            err(Cloud::Global, "ftp://login.microsoftonline.com"),
            "authority.scheme"
        );
        assert_eq!(
            err(Cloud::Global, "http://login.microsoftonline.com"),
            "authority.not_https"
        );
        assert_eq!(err(Cloud::Global, "not a url"), "authority.not_a_url");
    }

    #[test]
    fn practice_is_exactly_three_loopback_spellings() {
        for a in [
            "http://127.0.0.1:8080",
            "http://localhost:8080/",
            "http://[::1]:8080",
        ] {
            let t = ok(Cloud::Global, a);
            assert!(t.is_practice(), "{a}");
            assert_eq!(t.graph_base(), format!("{}/v1.0", t.authority()));
        }
        assert_eq!(
            err(Cloud::Global, "http://127.0.0.2:8080"),
            "authority.other_loopback"
        );
        assert_eq!(
            err(Cloud::Global, "http://127.1:8080"),
            "authority.other_loopback"
        );
        assert_eq!(
            err(Cloud::Global, "http://2130706433:8080"),
            "authority.other_loopback"
        );
        assert_eq!(
            err(Cloud::Global, "http://localhost"),
            "authority.other_loopback"
        );
        assert_eq!(
            err(Cloud::Global, "http://0.0.0.0:8080"),
            "authority.other_loopback"
        );
        assert_eq!(
            err(Cloud::Global, "http://foo.localhost:8080"),
            "authority.other_loopback"
        );
        assert_eq!(
            err(Cloud::Global, "https://127.0.0.1:8080"),
            "authority.loopback_https"
        );
        assert_eq!(
            err(Cloud::Global, "http://a@127.0.0.1:8080"),
            "authority.userinfo"
        );
        assert_eq!(
            err(Cloud::Global, "http://127.0.0.1:8080/x"),
            "authority.has_path"
        );
        assert_eq!(
            err(Cloud::Global, "http://127.0.0.1:8080/?q"),
            "authority.has_path"
        );
        assert_eq!(
            err(Cloud::Global, "http://10.0.0.1:8080"),
            "authority.not_https"
        );
        assert!(Target::practice("https://login.microsoftonline.com").is_err());
        assert!(is_loopback_authority("http://127.0.0.1:1"));
        assert!(!is_loopback_authority("http://127.0.0.1.nip.io:1"));
    }

    #[test]
    fn endpoints_are_built_not_concatenated() {
        let t = Target::new(Cloud::Global, None).unwrap();
        let seg = TenantSegment::tenant("Contoso.onmicrosoft.com.").unwrap();
        assert_eq!(
            t.token(&seg).as_str(),
            "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"
        );
        assert!(
            TenantSegment::tenant(
                "common/oauth2/v2.0/authorize?client_id=x&redirect_uri=https://evil.example/&y="
            )
            .is_none()
        );
        assert!(TenantSegment::tenant("common").is_none());
        assert!(TenantSegment::tenant("a/b.com").is_none());
        let client = ClientId::parse("aaaaaaaa-0000-4000-8000-000000000001").unwrap();
        let link = t.admin_consent(
            &seg,
            &client,
            "https://acme.example/cb?x=1&client_id=y",
            "s",
        );
        let u = link.url();
        assert_eq!(u.path(), "/contoso.onmicrosoft.com/v2.0/adminconsent");
        for name in ["client_id", "scope", "redirect_uri", "state"] {
            assert_eq!(
                u.query_pairs().filter(|(k, _)| k == name).count(),
                1,
                "{name}"
            );
        }
        assert_eq!(u.query_pairs().count(), 4);
    }

    #[test]
    fn provider_urls_must_stay_on_the_target() {
        let t = Target::new(Cloud::Global, None).unwrap();
        assert!(
            t.check_login(
                "token_endpoint",
                "https://login.microsoftonline.com/x/oauth2/v2.0/token"
            )
            .is_ok()
        );
        for bad in [
            "https://login.microsoftonline.com.evil.example/x",
            "http://login.microsoftonline.com/x",
            "https://login.microsoftonline.com:444/x",
            "https://u@login.microsoftonline.com/x",
            "https://evil.example/x",
        ] {
            assert!(t.check_login("token_endpoint", bad).is_err(), "{bad}");
        }
        assert!(
            t.check_graph(
                "next",
                "https://graph.microsoft.com/v1.0/users?$skiptoken=a"
            )
            .is_ok()
        );
        assert!(
            t.check_graph("next", "https://graph.microsoft.com/beta/users")
                .is_err()
        );
        assert!(
            t.check_graph("next", "https://graph.microsoft.com.evil/v1.0/users")
                .is_err()
        );
        let p = Target::practice("http://127.0.0.1:9").unwrap();
        assert!(p.check_login("jwks_uri", "http://127.0.0.1:9/keys").is_ok());
        assert!(
            p.check_login("jwks_uri", "http://localhost:9/keys")
                .is_err()
        );
        assert!(
            p.check_login("jwks_uri", "http://127.0.0.1:10/keys")
                .is_err()
        );
        assert!(p.graph("/users?$top=1").is_ok());
    }

    fn signup_profile(
        variant: &str,
        name: &str,
        authority: Option<&str>,
    ) -> crate::profile::Profile {
        let mut p = crate::profile::Profile::from_json(&format!(
            r#"{{"public_signup":{{"variant":"{variant}","tenant_name":"{name}","user_flow":"B2C_1_susi"}}}}"#
        ))
        .unwrap();
        p.authority = authority.map(str::to_string);
        p
    }

    #[test]
    fn workforce_profiles_still_refuse_b2c_and_ciam_hosts() {
        for host in [
            "https://contoso.b2clogin.com",
            "https://contoso.ciamlogin.com",
            "https://login.b2clogin.com",
        ] {
            assert_eq!(
                err(Cloud::Global, host),
                "authority.not_microsoft",
                "{host}"
            );
            let p = signup_profile("workforce", "contoso", Some(host));
            assert_eq!(
                Target::from_profile(&p).unwrap_err().code(),
                "authority.not_microsoft"
            );
        }
        let t = Target::new(Cloud::Global, None).unwrap();
        assert!(t.signup().is_none());
        for url in [
            "https://contoso.b2clogin.com/contoso.onmicrosoft.com/B2C_1_susi/oauth2/v2.0/token",
            "https://contoso.ciamlogin.com/x/oauth2/v2.0/token",
        ] {
            assert!(t.check_login("token_endpoint", url).is_err(), "{url}");
        }
    }

    #[test]
    fn signup_targets_allow_only_their_own_host() {
        let b2c = Target::from_profile(&signup_profile("b2c", "Contoso", None)).unwrap();
        assert_eq!(b2c.authority(), "https://contoso.b2clogin.com");
        assert!(!b2c.is_practice());
        assert!(b2c
            .check_login("jwks_uri", "https://contoso.b2clogin.com/contoso.onmicrosoft.com/b2c_1_susi/discovery/v2.0/keys")
            .is_ok());
        for bad in [
            "https://fabrikam.b2clogin.com/x",
            "https://contoso.ciamlogin.com/x",
            "https://login.microsoftonline.com/x",
            "https://contoso.b2clogin.com.evil.example/x",
            "https://contoso.b2clogin.com:444/x",
            "http://contoso.b2clogin.com/x",
            "https://u@contoso.b2clogin.com/x",
        ] {
            assert!(b2c.check_login("token_endpoint", bad).is_err(), "{bad}");
        }
        let ext = Target::from_profile(&signup_profile("external_id", "contoso", None)).unwrap();
        assert_eq!(ext.authority(), "https://contoso.ciamlogin.com");
        assert!(
            ext.check_login("t", "https://contoso.ciamlogin.com/x/oauth2/v2.0/token")
                .is_ok()
        );
        assert!(
            ext.check_login("t", "https://contoso.b2clogin.com/x")
                .is_err()
        );
        assert!(
            ext.check_login("t", "https://fabrikam.ciamlogin.com/x")
                .is_err()
        );
        let tid = TenantId::parse("7b0f2b4e-2d5a-4c51-9c1e-0a6f0d3c8e21").unwrap();
        assert_eq!(
            ext.signup_issuer(&tid).unwrap(),
            "https://7b0f2b4e-2d5a-4c51-9c1e-0a6f0d3c8e21.ciamlogin.com/7b0f2b4e-2d5a-4c51-9c1e-0a6f0d3c8e21/v2.0"
        );
        assert_eq!(
            b2c.signup_issuer(&tid).unwrap(),
            "https://contoso.b2clogin.com/7b0f2b4e-2d5a-4c51-9c1e-0a6f0d3c8e21/v2.0/"
        );
    }

    #[test]
    fn signup_overrides_are_the_derived_host_or_practice_only() {
        let ok = |v: &str, a: &str| Target::from_profile(&signup_profile(v, "contoso", Some(a)));
        assert!(
            !ok("b2c", "https://contoso.b2clogin.com/")
                .unwrap()
                .is_practice()
        );
        assert!(
            !ok("external_id", "https://CONTOSO.ciamlogin.com")
                .unwrap()
                .is_practice()
        );
        let p = ok("b2c", "http://127.0.0.1:8123").unwrap();
        assert!(p.is_practice());
        assert!(p.signup().is_some());
        assert!(p.check_login("t", "http://127.0.0.1:8123/x").is_ok());
        assert!(
            p.check_login("t", "https://contoso.b2clogin.com/x")
                .is_err()
        );
        for (v, a, code) in [
            (
                "b2c",
                "https://fabrikam.b2clogin.com",
                "authority.not_signup_host",
            ),
            (
                "b2c",
                "https://contoso.ciamlogin.com",
                "authority.not_signup_host",
            ),
            (
                "b2c",
                "https://login.microsoftonline.com",
                "authority.not_signup_host",
            ),
            (
                "external_id",
                "https://contoso.b2clogin.com",
                "authority.not_signup_host",
            ),
            (
                "external_id",
                "https://contoso.ciamlogin.com:8443",
                "authority.not_signup_host",
            ),
            (
                "external_id",
                "https://contoso.ciamlogin.com/contoso",
                "authority.has_path",
            ),
            ("b2c", "http://127.0.0.2:8123", "authority.other_loopback"),
        ] {
            assert_eq!(ok(v, a).unwrap_err().code(), code, "{v} {a}");
        }
        let mut p = signup_profile("b2c", "contoso", None);
        p.cloud = Cloud::China;
        assert_eq!(
            Target::from_profile(&p).unwrap_err().code(),
            "public_signup.cloud"
        );
        p.cloud = Cloud::Global;
        p.public_signup.tenant_name = "contoso/../x".into();
        let e = Target::from_profile(&p).unwrap_err();
        assert_eq!(
            (e.code(), e.field()),
            ("public_signup.tenant_name", "public_signup.tenant_name")
        );
    }
}
