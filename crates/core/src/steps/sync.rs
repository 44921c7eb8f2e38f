//! Step 6 (sync section) — what the service desk's Entra user import needs: which groups
//! become technicians and end users, site mappings, field mappings, the matching order,
//! service accounts, "licences that make a user active" (CSP), the sync frequency and the
//! last-sign-in mapping.
//!
//! The settings follow Halo's Azure Active Directory and Microsoft CSP integration guides
//! (`shared/reference/microsoft-csp-integration-guide.md`):
//! - matching: "existing users will be updated if their unique Azure id matches"; otherwise
//!   the fields name, email address and network login are tried "in the order in which you
//!   add them", and each needs a field mapping to that service-desk field;
//! - "ignore the accountEnabled property": users are not made inactive during a sync;
//! - the service-account group: "users not in a group with this name will be created as
//!   Service Accounts" — Halo compares the group's *name*;
//! - "licences that make a user active" (CSP, v2.147): users without one of them become
//!   service users;
//! - the last sign-in date (v2.139) needs AuditLog.Read.All and a P1/P2 licence in every
//!   tenant, or the sync errors ("Neither tenant is B2C or tenant doesn't have premium
//!   license");
//! - site mappings: per customer tenant for CSP ("only customers with an Azure tenant id
//!   can be mapped to"), with "Generate Mappings" making one unfiltered mapping per tenant
//!   ([`generate_site_mappings`]);
//! - the sync runs from the Task Scheduler, "typically every 15–60 minutes".
//!
//! Issues use step 6 and fields prefixed `sync.`: the sync settings sit on the same
//! service-desk screens as the SSO settings, and a separate step would split one screen
//! of the service desk across two of the wizard.
//!
//! Left out: Halo's own field list (the wizard cannot read the installed version's; only
//! the three matching targets are recognised by name), site-mapping filters beyond tenant,
//! group and domain, device import.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::ids::{is_fqdn, parse_guid};
use crate::profile::{Profile, TenantType};
use crate::steps::basics::{Basics, TenantRef};
use crate::steps::sso::SettingRow;
use crate::validation::Issues;

const STEP: u8 = 6;
const SCREEN: &str = "Configuration > Integrations > Microsoft Entra ID (Azure Active Directory)";
const CSP_SCREEN: &str = "Configuration > Integrations > Microsoft CSP";

/// Sync frequency Halo's guide calls typical.
pub const TYPICAL_INTERVAL: std::ops::RangeInclusive<u32> = 15..=60;
/// Below this the scheduler is hammering Graph (throttling); above it, leavers keep access
/// for more than a day.
pub const ALLOWED_INTERVAL: std::ops::RangeInclusive<u32> = 5..=1440;

/// Where the Graph user properties below come from.
pub const USER_PROPERTIES_SOURCE: &str =
    "https://learn.microsoft.com/graph/api/resources/user?view=graph-rest-1.0";

/// Graph v1.0 user properties a field mapping may read ([`USER_PROPERTIES_SOURCE`]):
/// string-valued (or string-collection) properties returned with `$select`. Relationships
/// (`manager`), `signInActivity` (its own setting) and secrets are not mappable.
pub const USER_PROPERTIES: &[&str] = &[
    "id",
    "displayName",
    "givenName",
    "surname",
    "mail",
    "userPrincipalName",
    "onPremisesSamAccountName",
    "onPremisesUserPrincipalName",
    "onPremisesDomainName",
    "onPremisesDistinguishedName",
    "onPremisesImmutableId",
    "onPremisesSecurityIdentifier",
    "jobTitle",
    "department",
    "companyName",
    "officeLocation",
    "employeeId",
    "employeeType",
    "mobilePhone",
    "businessPhones",
    "faxNumber",
    "streetAddress",
    "city",
    "state",
    "postalCode",
    "country",
    "usageLocation",
    "preferredLanguage",
    "mailNickname",
    "otherMails",
    "proxyAddresses",
    "userType",
    "employeeHireDate",
    "createdDateTime",
];

/// One rule of the matching order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum MatchRule {
    /// The unique Azure (Entra object) id stored by an earlier import.
    AzureId,
    /// The service desk's name field.
    Name,
    /// The email address field.
    Email,
    /// The network login field.
    NetworkLogin,
}

impl MatchRule {
    /// The service-desk field this rule compares ([`normalize_halo_field`] form); `None`
    /// for the Azure id, which needs no mapping.
    pub fn halo_field(self) -> Option<&'static str> {
        match self {
            MatchRule::AzureId => None,
            MatchRule::Name => Some("name"),
            MatchRule::Email => Some("email"),
            MatchRule::NetworkLogin => Some("networklogin"),
        }
    }

    /// The Entra attribute used when no field mapping names it.
    pub fn default_attribute(self) -> &'static str {
        match self {
            MatchRule::AzureId => "id",
            MatchRule::Name => "displayName",
            MatchRule::Email => "mail",
            MatchRule::NetworkLogin => "onPremisesSamAccountName",
        }
    }

    /// Label for reports.
    pub fn label(self) -> &'static str {
        match self {
            MatchRule::AzureId => "Azure id",
            MatchRule::Name => "name",
            MatchRule::Email => "email",
            MatchRule::NetworkLogin => "network login",
        }
    }
}

/// A site mapping: which users go to which site. Empty filters match everyone (what
/// "Generate Mappings" makes).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(default, deny_unknown_fields)]
#[ts(export)]
pub struct SiteMapping {
    /// The service desk's site (or customer/site for CSP).
    pub site: String,
    /// The customer's tenant id (required for CSP; empty = the app's own tenant).
    pub tenant_id: Option<String>,
    /// Only members of this group (object id or display name).
    pub group: Option<String>,
    /// Only users whose sign-in name (UPN) is in this domain.
    pub domain: Option<String>,
}

/// One field mapping: an Entra user property into a service-desk field.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(default, deny_unknown_fields)]
#[ts(export)]
pub struct FieldMapping {
    /// The Graph user property, e.g. `mail` ([`USER_PROPERTIES`]).
    pub entra: String,
    /// The service-desk field, e.g. `Email Address`, `Network Login`.
    pub halo: String,
}

/// The sync settings (part of step 6).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(default, deny_unknown_fields)]
#[ts(export)]
pub struct SyncSettings {
    /// Groups whose (transitive) members become technicians (agents).
    pub technician_groups: Vec<String>,
    /// Groups whose members become end users; empty = every user.
    pub user_groups: Vec<String>,
    /// Site mappings, first match wins; empty = everyone to the default site.
    pub site_mappings: Vec<SiteMapping>,
    /// Field mappings.
    pub field_mappings: Vec<FieldMapping>,
    /// Matching order; the Azure id always comes first.
    pub matching_order: Vec<MatchRule>,
    /// "Ignore the accountEnabled property": disabled accounts are not made inactive.
    pub ignore_account_enabled: bool,
    /// Users not in the group with this name become service accounts.
    pub service_account_group: Option<String>,
    /// CSP: users without one of these licences (SKU part numbers like `SPE_E3`, or skuId
    /// GUIDs) become service users.
    pub active_licences: Vec<String>,
    /// Minutes between scheduled syncs.
    pub interval_minutes: u32,
    /// Map the last sign-in date (AuditLog.Read.All, Entra ID P1/P2 in every tenant).
    pub map_last_sign_in: bool,
}

impl Default for SyncSettings {
    fn default() -> Self {
        SyncSettings {
            technician_groups: Vec::new(),
            user_groups: Vec::new(),
            site_mappings: Vec::new(),
            // The default matching order needs its email mapping (the guide: "you must
            // ensure that you have created a field mapping to each of these Halo fields").
            field_mappings: vec![FieldMapping {
                entra: "mail".into(),
                halo: "Email Address".into(),
            }],
            matching_order: vec![MatchRule::AzureId, MatchRule::Email],
            ignore_account_enabled: false,
            service_account_group: None,
            active_licences: Vec::new(),
            interval_minutes: 30,
            map_last_sign_in: false,
        }
    }
}

impl SyncSettings {
    /// True when nothing differs from the defaults.
    pub fn is_default(&self) -> bool {
        *self == SyncSettings::default()
    }

    /// True when any group is configured (memberships must be read).
    pub fn uses_groups(&self) -> bool {
        !self.technician_groups.is_empty()
            || !self.user_groups.is_empty()
            || self.service_account_group.is_some()
            || self.site_mappings.iter().any(|m| m.group.is_some())
    }

    /// The Entra attribute a rule reads: the one mapped to its service-desk field, else
    /// its default.
    pub fn attribute_for(&self, rule: MatchRule) -> String {
        if let Some(target) = rule.halo_field()
            && let Some(m) = self
                .field_mappings
                .iter()
                .find(|m| normalize_halo_field(&m.halo) == target)
            && let Some(p) = user_property(&m.entra)
        {
            return p.to_string();
        }
        rule.default_attribute().to_string()
    }
}

/// `Email Address`, `email_address`, `E-mail` → `email`; `Network Login` → `networklogin`.
pub fn normalize_halo_field(s: &str) -> String {
    let n: String = s
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect();
    match n.as_str() {
        "emailaddress" | "email" | "emailaddr" => "email".into(),
        "networklogin" | "login" | "networkusername" => "networklogin".into(),
        "name" | "username" | "fullname" => "name".into(),
        _ => n,
    }
}

/// The canonical spelling of a Graph user property, case-insensitively.
pub fn user_property(s: &str) -> Option<&'static str> {
    USER_PROPERTIES
        .iter()
        .copied()
        .find(|p| p.eq_ignore_ascii_case(s.trim()))
}

/// Sync applies when the import or CSP is on.
pub fn applies(p: &Profile) -> bool {
    p.features.import || p.features.csp
}

/// "Generate Mappings": the profile's site mappings plus one unfiltered mapping for every
/// allowed/customer tenant that has none yet (named after the tenant id, to be renamed to
/// the customer's site). A single-tenant profile gets one for its own tenant.
pub fn generate_site_mappings(p: &Profile) -> Vec<SiteMapping> {
    let mut out = p.sync.site_mappings.clone();
    let mut tenants: Vec<String> = Vec::new();
    if p.tenant_type == TenantType::Multi || p.features.csp {
        tenants.extend(p.allowed_tenants.iter().filter_map(|t| parse_guid(t)));
    }
    if tenants.is_empty()
        && let Some(t) = parse_guid(&p.tenant_id)
    {
        tenants.push(t);
    }
    for t in tenants {
        let mapped = out
            .iter()
            .any(|m| m.tenant_id.as_deref().and_then(parse_guid).as_deref() == Some(&t));
        if !mapped {
            let site = if p.tenant_type == TenantType::Single && !p.name.trim().is_empty() {
                p.name.trim().to_string()
            } else {
                format!("Tenant {t}")
            };
            out.push(SiteMapping {
                site,
                tenant_id: Some(t),
                group: None,
                domain: None,
            });
        }
    }
    out
}

fn check_group(issues: &mut Issues, field: String, g: &str, what: &str) {
    let t = g.trim();
    if t.is_empty() {
        issues.error(
            STEP,
            field,
            "sync.group_empty",
            format!("A {what} entry is empty."),
            "Enter the group's Object ID or its exact display name, or remove the row.",
        );
    } else if parse_guid(t).is_none()
        && (t.chars().count() > 256 || t.chars().any(char::is_control))
    {
        issues.error(
            STEP,
            field,
            "sync.group_invalid",
            format!("The {what} '{t}' is neither an Object ID nor a usable group name."),
            "Copy the group's Object ID (Entra admin center > Groups) or its display name (at most 256 characters).",
        );
    }
}

fn same_group(a: &str, b: &str) -> bool {
    match (parse_guid(a), parse_guid(b)) {
        (Some(x), Some(y)) => x == y,
        _ => a.trim().eq_ignore_ascii_case(b.trim()),
    }
}

/// Checks the sync settings and returns their settings-sheet rows.
pub fn check(p: &Profile, b: &Basics, issues: &mut Issues) -> Vec<SettingRow> {
    let s = &p.sync;
    if !applies(p) {
        if *s != SyncSettings::default() {
            issues.info(
                STEP,
                "sync",
                "sync.unused",
                "Sync settings are filled in, but neither the user import nor CSP is turned on, so they are not used.",
                "Turn on the import (or CSP) in step 1, or leave these settings.",
            );
        }
        return Vec::new();
    }

    check_groups(s, issues);
    check_site_mappings(p, b, issues);
    let targets = check_field_mappings(s, issues);
    check_matching_order(s, &targets, issues);
    check_licences(p, issues);
    check_frequency(s, issues);
    if s.map_last_sign_in {
        issues.warn(
            STEP,
            "sync.map_last_sign_in",
            "sync.last_sign_in_premium",
            "The last sign-in date needs the AuditLog.Read.All permission and a Microsoft Entra ID P1 or P2 licence in every tenant synced; without the licence the sync fails for that tenant.",
            "Check each tenant's licences (the sync preview does), or turn this off.",
        );
    }

    sheet(p)
}

/// Technician, end-user and service-account groups: each usable, none listed twice or in
/// both lists.
fn check_groups(s: &SyncSettings, issues: &mut Issues) {
    for (i, g) in s.technician_groups.iter().enumerate() {
        check_group(
            issues,
            format!("sync.technician_groups[{i}]"),
            g,
            "technician group",
        );
    }
    for (i, g) in s.user_groups.iter().enumerate() {
        check_group(
            issues,
            format!("sync.user_groups[{i}]"),
            g,
            "end-user group",
        );
    }
    for (list, field) in [
        (&s.technician_groups, "sync.technician_groups"),
        (&s.user_groups, "sync.user_groups"),
    ] {
        for (i, g) in list.iter().enumerate() {
            if list[..i].iter().any(|h| same_group(g, h)) {
                issues.warn(
                    STEP,
                    format!("{field}[{i}]"),
                    "sync.group_duplicate",
                    format!("'{}' is listed twice.", g.trim()),
                    "Remove the duplicate row.",
                );
            }
        }
    }
    for (i, g) in s.user_groups.iter().enumerate() {
        if s.technician_groups.iter().any(|t| same_group(g, t)) {
            issues.warn(
                STEP,
                format!("sync.user_groups[{i}]"),
                "sync.group_both",
                format!("'{}' is both a technician group and an end-user group; its members are imported as technicians.", g.trim()),
                "Keep each group in one list.",
            );
        }
    }
    if s.technician_groups.is_empty() {
        issues.info(
            STEP,
            "sync.technician_groups",
            "sync.no_technicians",
            "No technician group: technicians are not synced from Entra.",
            "Add the group your service-desk agents are in, if agents should be created and updated from Entra.",
        );
    }
    if let Some(g) = &s.service_account_group {
        check_group(
            issues,
            "sync.service_account_group".into(),
            g,
            "service-account group",
        );
        if parse_guid(g).is_some() {
            issues.warn(
                STEP,
                "sync.service_account_group",
                "sync.service_group_is_id",
                "The service desk matches this group by its name, not its Object ID.",
                "Enter the group's display name exactly as Entra shows it.",
            );
        }
    }
}

/// Site mappings: a site each, a tenant that the app reads (and, for CSP, one at all), a
/// usable group and domain, no mapping hidden behind an earlier one with the same filter.
fn check_site_mappings(p: &Profile, b: &Basics, issues: &mut Issues) {
    let s = &p.sync;
    let multi = p.features.csp || p.tenant_type == TenantType::Multi;
    let home = match &b.tenant {
        Some(TenantRef::Id(t)) => Some(t.as_str().to_string()),
        _ => None,
    };
    for (i, m) in s.site_mappings.iter().enumerate() {
        let f = |k: &str| format!("sync.site_mappings[{i}].{k}");
        if m.site.trim().is_empty() {
            issues.error(
                STEP,
                f("site"),
                "sync.site_required",
                format!("Site mapping {} has no site.", i + 1),
                "Name the service-desk site (as spelled in the service desk) the users go to.",
            );
        }
        match m.tenant_id.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            None if p.features.csp => issues.error(
                STEP,
                f("tenant_id"),
                "sync.site_tenant_required",
                format!("Site mapping {} has no tenant id; CSP maps only customers with an Azure tenant id.", i + 1),
                "Enter the customer's Directory (tenant) ID, or use 'Generate mappings'.",
            ),
            None => {}
            Some(t) => match parse_guid(t) {
                None => issues.error(
                    STEP,
                    f("tenant_id"),
                    "sync.site_tenant_not_guid",
                    format!("Site mapping {}: '{t}' is not a tenant ID.", i + 1),
                    "Use the Directory (tenant) ID (a GUID), not a domain.",
                ),
                Some(g) if !multi && home.as_ref().is_some_and(|h| *h != g) => issues.warn(
                    STEP,
                    f("tenant_id"),
                    "sync.site_tenant_foreign",
                    format!("Site mapping {} names another tenant, but a single-tenant import only reads its own tenant.", i + 1),
                    "Remove the tenant id, or use a multi-tenant app with CSP.",
                ),
                Some(g)
                    if multi
                        && !p.allowed_tenants.iter().any(|a| parse_guid(a).as_ref() == Some(&g))
                        && home.as_ref() != Some(&g) =>
                {
                    issues.warn(
                        STEP,
                        f("tenant_id"),
                        "sync.site_tenant_not_allowed",
                        format!("Site mapping {}'s tenant is not in the allowed tenants list, so its users could not sign in.", i + 1),
                        "Add the tenant to the allowed tenants (step 6), or remove the mapping.",
                    )
                }
                Some(_) => {}
            },
        }
        if let Some(g) = &m.group {
            check_group(issues, f("group"), g, "site-mapping group");
        }
        if let Some(d) = m.domain.as_deref().map(str::trim)
            && !is_fqdn(d)
        {
            issues.error(
                STEP,
                f("domain"),
                "sync.site_domain_invalid",
                format!("Site mapping {}: '{d}' is not a domain name.", i + 1),
                "Enter the domain part of the users' sign-in names, e.g. contoso.com.",
            );
        }
        if s.site_mappings[..i].iter().any(|o| {
            o.tenant_id.as_deref().and_then(parse_guid)
                == m.tenant_id.as_deref().and_then(parse_guid)
                && o.group.as_deref().map(str::to_lowercase)
                    == m.group.as_deref().map(str::to_lowercase)
                && o.domain.as_deref().map(str::to_lowercase)
                    == m.domain.as_deref().map(str::to_lowercase)
        }) {
            issues.warn(
                STEP,
                f("site"),
                "sync.site_shadowed",
                format!("Site mapping {} has the same filter as an earlier one, so it never receives a user.", i + 1),
                "Give it a different tenant, group or domain, or remove it.",
            );
        }
    }
    if p.features.csp && s.site_mappings.is_empty() {
        issues.warn(
            STEP,
            "sync.site_mappings",
            "sync.site_mappings_missing",
            "CSP is on but there are no site mappings, so no customer's users are imported.",
            "Use 'Generate mappings' for one mapping per customer tenant.",
        );
    }
}

/// Field mappings: a Graph user property each (as Graph spells it), each service-desk
/// field filled once. Returns the service-desk fields filled (normalised).
fn check_field_mappings(s: &SyncSettings, issues: &mut Issues) -> Vec<String> {
    let mut targets: Vec<String> = Vec::new();
    for (i, m) in s.field_mappings.iter().enumerate() {
        let f = |k: &str| format!("sync.field_mappings[{i}].{k}");
        let e = m.entra.trim();
        match user_property(e) {
            _ if e.is_empty() => issues.error(
                STEP,
                f("entra"),
                "sync.field_entra_required",
                format!("Field mapping {} has no Entra attribute.", i + 1),
                "Pick a user property, e.g. mail or jobTitle.",
            ),
            Some(canon) if canon != e => issues.warn(
                STEP,
                f("entra"),
                "sync.field_entra_case",
                format!("'{e}' is spelled '{canon}' in Microsoft Graph."),
                format!("Write '{canon}'."),
            ),
            Some(_) => {}
            None if e.eq_ignore_ascii_case("signInActivity") || e.eq_ignore_ascii_case("lastSignInDateTime") => issues.error(
                STEP,
                f("entra"),
                "sync.field_entra_sign_in",
                "The last sign-in date is not a field mapping.",
                "Remove this row and turn on 'map the last sign-in date' instead.",
            ),
            None if e.eq_ignore_ascii_case("manager") => issues.error(
                STEP,
                f("entra"),
                "sync.field_entra_relationship",
                "'manager' is a relationship, not a user property; the import cannot map it as a field.",
                "Remove this row.",
            ),
            None => issues.error(
                STEP,
                f("entra"),
                "sync.field_entra_unknown",
                format!("'{e}' is not a Microsoft Graph user property the import can read."),
                format!("Use one of: {}.", USER_PROPERTIES.join(", ")),
            ),
        }
        let h = normalize_halo_field(&m.halo);
        if h.is_empty() {
            issues.error(
                STEP,
                f("halo"),
                "sync.field_halo_required",
                format!("Field mapping {} has no service-desk field.", i + 1),
                "Name the service-desk field it fills, e.g. Email Address.",
            );
        } else if targets.contains(&h) {
            issues.error(
                STEP,
                f("halo"),
                "sync.field_halo_duplicate",
                format!(
                    "Two field mappings fill the service-desk field '{}'.",
                    m.halo.trim()
                ),
                "Keep one mapping per service-desk field.",
            );
        } else {
            targets.push(h);
        }
    }
    targets
}

/// The matching order: not empty, each rule once, the Azure id first, and a field mapping
/// for each rule that needs one (`targets`: the service-desk fields mapped).
fn check_matching_order(s: &SyncSettings, targets: &[String], issues: &mut Issues) {
    if s.matching_order.is_empty() {
        issues.error(
            STEP,
            "sync.matching_order",
            "sync.matching_empty",
            "The matching order is empty, so every sync would create duplicates of existing users.",
            "Use at least the Azure id, then email.",
        );
    }
    for (i, r) in s.matching_order.iter().enumerate() {
        let field = format!("sync.matching_order[{i}]");
        if s.matching_order[..i].contains(r) {
            issues.error(
                STEP,
                field,
                "sync.matching_duplicate",
                format!("'{}' appears twice in the matching order.", r.label()),
                "Each rule once: the Azure id, then name / email / network login in the order to try.",
            );
            continue;
        }
        if *r == MatchRule::AzureId && i != 0 {
            issues.error(
                STEP,
                field.clone(),
                "sync.matching_azure_id_first",
                "The service desk always tries the unique Azure id first.",
                "Move 'Azure id' to the top of the matching order.",
            );
        }
        if let Some(target) = r.halo_field()
            && !targets.iter().any(|t| t == target)
        {
            issues.error(
                STEP,
                field,
                "sync.matching_unmapped",
                format!(
                    "Matching on {} needs a field mapping to the service desk's {} field.",
                    r.label(),
                    r.label()
                ),
                format!(
                    "Add a field mapping, e.g. {} → {}.",
                    r.default_attribute(),
                    r.label()
                ),
            );
        }
    }
    if !s.matching_order.is_empty() && !s.matching_order.contains(&MatchRule::AzureId) {
        issues.info(
            STEP,
            "sync.matching_order",
            "sync.matching_no_azure_id",
            "The unique Azure id is not in the matching order; the service desk still uses it once an import has stored it.",
            "Add 'Azure id' first to say so explicitly.",
        );
    }
}

/// "Licences that make a user active": SKU part numbers or skuIds, and CSP only.
fn check_licences(p: &Profile, issues: &mut Issues) {
    let s = &p.sync;
    for (i, l) in s.active_licences.iter().enumerate() {
        let t = l.trim();
        let ok = parse_guid(t).is_some()
            || (!t.is_empty()
                && t.len() <= 64
                && t.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'));
        if !ok {
            issues.error(
                STEP,
                format!("sync.active_licences[{i}]"),
                "sync.licence_invalid",
                format!("'{t}' is neither a SKU part number (like SPE_E3) nor a skuId."),
                "Copy the licence's SKU part number or skuId (Graph subscribedSkus).",
            );
        }
    }
    if !s.active_licences.is_empty() && !p.features.csp {
        issues.warn(
            STEP,
            "sync.active_licences",
            "sync.licences_csp_only",
            "The service desk applies 'licences that make a user active' in the CSP integration only.",
            "Turn on CSP in step 1, or use the service-account group instead.",
        );
    }
}

/// The sync interval: allowed, and usual.
fn check_frequency(s: &SyncSettings, issues: &mut Issues) {
    let n = s.interval_minutes;
    if !ALLOWED_INTERVAL.contains(&n) {
        issues.error(
            STEP,
            "sync.interval_minutes",
            "sync.interval_out_of_range",
            format!("A sync every {n} minutes is outside 5–1440 minutes."),
            "Use 15–60 minutes: more often invites Graph throttling, less often leaves leavers with access for over a day.",
        );
    } else if !TYPICAL_INTERVAL.contains(&n) {
        issues.warn(
            STEP,
            "sync.interval_minutes",
            "sync.interval_unusual",
            format!("A sync every {n} minutes is outside the usual 15–60."),
            if n < 15 {
                "Large directories may be throttled; 15 minutes is the usual minimum."
            } else {
                "Leavers keep service-desk access until the next sync; 60 minutes is the usual maximum."
            },
        );
    }
}

fn sheet(p: &Profile) -> Vec<SettingRow> {
    let s = &p.sync;
    let screen = if p.features.csp { CSP_SCREEN } else { SCREEN };
    let row = |setting: &str, value: String, note: Option<&str>| SettingRow {
        screen: screen.into(),
        setting: setting.into(),
        value,
        note: note.map(str::to_string),
        stored: None,
    };
    let list = |v: &[String]| {
        if v.is_empty() {
            "(none)".to_string()
        } else {
            v.iter().map(|x| x.trim()).collect::<Vec<_>>().join(", ")
        }
    };
    let mut rows = vec![
        row(
            "Technician groups",
            list(&s.technician_groups),
            Some("Members (nested included) become agents."),
        ),
        row(
            "User groups",
            if s.user_groups.is_empty() {
                "(all users)".into()
            } else {
                list(&s.user_groups)
            },
            None,
        ),
        row(
            "Matching order",
            s.matching_order
                .iter()
                .map(|r| r.label())
                .collect::<Vec<_>>()
                .join(" → "),
            None,
        ),
        row(
            "Ignore accountEnabled",
            if s.ignore_account_enabled {
                "On"
            } else {
                "Off"
            }
            .into(),
            Some("Off: disabled Entra accounts are made inactive at the next sync."),
        ),
    ];
    for m in &s.field_mappings {
        rows.push(row(
            "Field mapping",
            format!("{} → {}", m.entra.trim(), m.halo.trim()),
            None,
        ));
    }
    for m in &s.site_mappings {
        let mut filter = Vec::new();
        if let Some(t) = &m.tenant_id {
            filter.push(format!("tenant {}", t.trim()));
        }
        if let Some(g) = &m.group {
            filter.push(format!("group {}", g.trim()));
        }
        if let Some(d) = &m.domain {
            filter.push(format!("domain {}", d.trim()));
        }
        rows.push(row(
            "Site mapping",
            format!(
                "{} ← {}",
                m.site.trim(),
                if filter.is_empty() {
                    "everyone".into()
                } else {
                    filter.join(", ")
                }
            ),
            None,
        ));
    }
    if let Some(g) = &s.service_account_group {
        rows.push(row(
            "Service-account group",
            g.trim().into(),
            Some("Users not in this group are created as service accounts."),
        ));
    }
    if !s.active_licences.is_empty() {
        rows.push(row(
            "Licences that make a user active",
            list(&s.active_licences),
            Some("Users without one of them are marked as service users."),
        ));
    }
    rows.push(row(
        "Last sign-in date mapping",
        if s.map_last_sign_in { "On" } else { "Off" }.into(),
        s.map_last_sign_in
            .then_some("Needs AuditLog.Read.All and Entra ID P1/P2."),
    ));
    rows.push(SettingRow {
        screen: "Configuration > Integrations > Halo Integrator / Task Scheduler".into(),
        setting: "Sync frequency".into(),
        value: format!("every {} minutes", s.interval_minutes),
        note: Some("Keep the scheduler running, or leavers are not de-provisioned.".into()),
        stored: None,
    });
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validation::{Issue, Severity};

    const T1: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
    const T2: &str = "11111111-2222-3333-4444-555555555555";

    fn profile() -> Profile {
        let mut p = Profile {
            name: "Acme".into(),
            tenant_id: T1.into(),
            client_id: "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9".into(),
            agent_url: "https://acme.halopsa.com".into(),
            ..Profile::default()
        };
        p.features.import = true;
        p.sync.field_mappings = vec![FieldMapping {
            entra: "mail".into(),
            halo: "Email Address".into(),
        }];
        p
    }

    fn run(p: &Profile) -> Vec<Issue> {
        let mut issues = Issues::default();
        let b = crate::steps::basics::check(p, &mut issues);
        let mut out = Issues::default();
        check(p, &b, &mut out);
        out.0
    }

    fn has(issues: &[Issue], code: &str, field: &str, sev: Severity) -> bool {
        issues
            .iter()
            .any(|i| i.code == code && i.field == field && i.severity == sev)
    }

    #[test]
    fn defaults_with_an_email_mapping_are_clean() {
        let issues = run(&profile());
        assert!(
            issues.iter().all(|i| i.severity == Severity::Info),
            "{issues:#?}"
        );
        let mut p = profile();
        p.sync = SyncSettings::default();
        assert!(run(&p).iter().all(|i| i.severity == Severity::Info));
        // Clearing the mappings while matching on email is an error.
        p.sync.field_mappings.clear();
        assert!(has(
            &run(&p),
            "sync.matching_unmapped",
            "sync.matching_order[1]",
            Severity::Error
        ));
    }

    #[test]
    fn matching_order_is_a_permutation_with_azure_id_first_and_mapped_fields() {
        let mut p = profile();
        p.sync.matching_order = vec![
            MatchRule::Email,
            MatchRule::AzureId,
            MatchRule::Email,
            MatchRule::NetworkLogin,
        ];
        let i = run(&p);
        assert!(has(
            &i,
            "sync.matching_azure_id_first",
            "sync.matching_order[1]",
            Severity::Error
        ));
        assert!(has(
            &i,
            "sync.matching_duplicate",
            "sync.matching_order[2]",
            Severity::Error
        ));
        assert!(has(
            &i,
            "sync.matching_unmapped",
            "sync.matching_order[3]",
            Severity::Error
        ));
        assert!(!i.iter().any(|x| x.field == "sync.matching_order[0]"));
        p.sync.matching_order.clear();
        assert!(has(
            &run(&p),
            "sync.matching_empty",
            "sync.matching_order",
            Severity::Error
        ));
        // A network-login mapping with another spelling satisfies the rule.
        p.sync.matching_order = vec![MatchRule::AzureId, MatchRule::NetworkLogin];
        p.sync.field_mappings.push(FieldMapping {
            entra: "onPremisesSamAccountName".into(),
            halo: "network_login".into(),
        });
        assert!(run(&p).iter().all(|x| x.severity == Severity::Info));
        assert_eq!(
            p.sync.attribute_for(MatchRule::NetworkLogin),
            "onPremisesSamAccountName"
        );
    }

    #[test]
    fn field_mappings_are_checked_against_graph_user_properties() {
        let mut p = profile();
        p.sync.field_mappings = vec![
            FieldMapping {
                entra: "Mail".into(),
                halo: "Email".into(),
            },
            FieldMapping {
                entra: "favouriteColour".into(),
                halo: "Colour".into(),
            },
            FieldMapping {
                entra: "manager".into(),
                halo: "Manager".into(),
            },
            FieldMapping {
                entra: "jobTitle".into(),
                halo: "email address".into(),
            },
            FieldMapping {
                entra: "signInActivity".into(),
                halo: "Last login".into(),
            },
            FieldMapping {
                entra: "".into(),
                halo: "".into(),
            },
        ];
        let i = run(&p);
        assert!(has(
            &i,
            "sync.field_entra_case",
            "sync.field_mappings[0].entra",
            Severity::Warning
        ));
        assert!(has(
            &i,
            "sync.field_entra_unknown",
            "sync.field_mappings[1].entra",
            Severity::Error
        ));
        assert!(has(
            &i,
            "sync.field_entra_relationship",
            "sync.field_mappings[2].entra",
            Severity::Error
        ));
        assert!(has(
            &i,
            "sync.field_halo_duplicate",
            "sync.field_mappings[3].halo",
            Severity::Error
        ));
        assert!(has(
            &i,
            "sync.field_entra_sign_in",
            "sync.field_mappings[4].entra",
            Severity::Error
        ));
        assert!(has(
            &i,
            "sync.field_entra_required",
            "sync.field_mappings[5].entra",
            Severity::Error
        ));
        assert!(has(
            &i,
            "sync.field_halo_required",
            "sync.field_mappings[5].halo",
            Severity::Error
        ));
        // The case-insensitive match still serves the email rule.
        assert_eq!(p.sync.attribute_for(MatchRule::Email), "mail");
    }

    #[test]
    fn interval_bounds() {
        let mut p = profile();
        for (n, code, sev) in [
            (4, "sync.interval_out_of_range", Severity::Error),
            (1441, "sync.interval_out_of_range", Severity::Error),
            (10, "sync.interval_unusual", Severity::Warning),
            (120, "sync.interval_unusual", Severity::Warning),
        ] {
            p.sync.interval_minutes = n;
            assert!(has(&run(&p), code, "sync.interval_minutes", sev), "{n}");
        }
        for n in [5, 15, 60, 1440] {
            p.sync.interval_minutes = n;
            assert!(
                !run(&p)
                    .iter()
                    .any(|i| i.code == "sync.interval_out_of_range"),
                "{n}"
            );
        }
    }

    #[test]
    fn groups_sites_and_licences() {
        let mut p = profile();
        p.features.csp = true;
        p.tenant_type = TenantType::Multi;
        p.allowed_tenants = vec![T1.into()];
        p.sync.technician_groups = vec!["Agents".into(), "agents".into(), " ".into()];
        p.sync.user_groups = vec!["Agents".into()];
        p.sync.service_account_group = Some(T2.into());
        p.sync.site_mappings = vec![
            SiteMapping {
                site: "".into(),
                tenant_id: None,
                group: None,
                domain: Some("not a domain".into()),
            },
            SiteMapping {
                site: "B".into(),
                tenant_id: Some(T2.into()),
                ..Default::default()
            },
            SiteMapping {
                site: "C".into(),
                tenant_id: Some(T2.into()),
                ..Default::default()
            },
        ];
        p.sync.active_licences = vec!["SPE_E3".into(), "E3; drop".into()];
        p.sync.map_last_sign_in = true;
        let i = run(&p);
        assert!(has(
            &i,
            "sync.group_duplicate",
            "sync.technician_groups[1]",
            Severity::Warning
        ));
        assert!(has(
            &i,
            "sync.group_empty",
            "sync.technician_groups[2]",
            Severity::Error
        ));
        assert!(has(
            &i,
            "sync.group_both",
            "sync.user_groups[0]",
            Severity::Warning
        ));
        assert!(has(
            &i,
            "sync.service_group_is_id",
            "sync.service_account_group",
            Severity::Warning
        ));
        assert!(has(
            &i,
            "sync.site_required",
            "sync.site_mappings[0].site",
            Severity::Error
        ));
        assert!(has(
            &i,
            "sync.site_tenant_required",
            "sync.site_mappings[0].tenant_id",
            Severity::Error
        ));
        assert!(has(
            &i,
            "sync.site_domain_invalid",
            "sync.site_mappings[0].domain",
            Severity::Error
        ));
        assert!(has(
            &i,
            "sync.site_tenant_not_allowed",
            "sync.site_mappings[1].tenant_id",
            Severity::Warning
        ));
        assert!(has(
            &i,
            "sync.site_shadowed",
            "sync.site_mappings[2].site",
            Severity::Warning
        ));
        assert!(has(
            &i,
            "sync.licence_invalid",
            "sync.active_licences[1]",
            Severity::Error
        ));
        assert!(!i.iter().any(|x| x.field == "sync.active_licences[0]"));
        assert!(has(
            &i,
            "sync.last_sign_in_premium",
            "sync.map_last_sign_in",
            Severity::Warning
        ));
    }

    #[test]
    fn generated_site_mappings_cover_each_tenant_once() {
        let mut p = profile();
        p.features.csp = true;
        p.tenant_type = TenantType::Multi;
        p.allowed_tenants = vec![T1.into(), T2.into(), "junk".into()];
        p.sync.site_mappings = vec![SiteMapping {
            site: "Acme HQ".into(),
            tenant_id: Some(T1.to_uppercase()),
            ..Default::default()
        }];
        let m = generate_site_mappings(&p);
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].site, "Acme HQ");
        assert_eq!(m[1].tenant_id.as_deref(), Some(T2));
        assert!(m[1].group.is_none() && m[1].domain.is_none());
        // Idempotent.
        p.sync.site_mappings = m.clone();
        assert_eq!(generate_site_mappings(&p), m);
        // Single tenant: one mapping for the home tenant, named after the customer.
        let q = profile();
        let m = generate_site_mappings(&q);
        assert_eq!(m.len(), 1);
        assert_eq!(
            (m[0].site.as_str(), m[0].tenant_id.as_deref()),
            ("Acme", Some(T1))
        );
    }

    #[test]
    fn nothing_is_checked_while_import_is_off() {
        let mut p = profile();
        p.features.import = false;
        p.sync.interval_minutes = 1;
        let i = run(&p);
        assert_eq!(i.len(), 1);
        assert_eq!(i[0].code, "sync.unused");
    }
}
