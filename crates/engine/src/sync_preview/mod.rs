//! "Preview the sync": read the directory the way the service desk's first sync will, and
//! say what it would do — N technicians, N end users, N service accounts, N disabled
//! accounts that would be made inactive, who is matched by which rule, who matches nobody,
//! which email addresses collide, per site — without changing anything anywhere.
//!
//! It reads with an app-only token (the stored credential's client-credentials grant,
//! [`app_only_client`]), so a missing application permission shows up here exactly as it
//! would in the scheduled sync; such a `403` becomes a [`PreviewFinding`] "grant X" with
//! the admin-consent link, not an error.
//!
//! Reads, per tenant (one for a single-tenant import; every mapped customer tenant for
//! CSP): the configured groups (by id, or `$filter=displayName eq '…'`) and their
//! `transitiveMembers` (ids only), `subscribedSkus` when licences decide who is active, and
//! `users` with `$select` of only the fields the sync uses (`signInActivity` only when the
//! last-sign-in mapping is on), `$top=999`, following `@odata.nextLink` page by page.
//!
//! Streaming and bounded: each page is classified and dropped; what stays is, per user, a
//! compact [`PreviewRow`] for the CSV (optional, [`PreviewOptions::keep_rows`]), one
//! lower-cased email per user for collision counting, and the group members' ids as
//! 16-byte UUIDs. Progress is reported per page; a [`CancellationToken`] stops between
//! and during requests.
//!
//! Matching: Halo matches on the stored Azure id first, then name / email / network login
//! in the configured order. The preview cannot see the service desk's users unless given
//! an export ([`ExistingUsers`]); without one it assumes a first sync (no Azure ids
//! stored yet) and attributes each user to the first rule it *has a value for*
//! ([`MatchBasis::KeysOnly`]) — users with none are created new on every run that cannot
//! match them.
//!
//! Left out: devices, Partner Center (CSP customer discovery: tenants come from the site
//! mappings or allowed tenants), writing anything to the service desk, `$count` and delta
//! queries, token refresh (one token per tenant per run).

pub mod csv;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use ts_rs::TS;
use uuid::Uuid;

pub use tokio_util::sync::CancellationToken;

use crate::graph::permissions;
use crate::graph::{GraphClient, GraphError, StaticToken, odata_string, with_query};
use crate::ids::parse_guid;
use crate::oauth::ClientCredential;
use crate::plan::Plan;
use crate::profile::{Profile, TenantType};
use crate::steps::basics::Basics;
use crate::steps::consent;
use crate::steps::sync::{MatchRule, SyncSettings, applies, user_property};
use crate::target::{Target, TenantSegment};
use crate::validation::Severity;

/// Users per page asked for (Graph's maximum for `users`).
pub const PAGE_SIZE: u32 = 999;
/// Examples kept per list (duplicates, unmatched users).
pub const MAX_EXAMPLES: usize = 50;

/// What the first sync would do with a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub enum Outcome {
    /// Created or updated as a technician (agent).
    Technician,
    /// Created or updated as an active end user.
    EndUser,
    /// Created as a service account / service user (no tickets, not billed).
    ServiceAccount,
    /// Disabled in Entra: made inactive (de-provisioned) by the sync.
    Deactivated,
    /// Not imported (no site mapping or not in an end-user group).
    NotImported,
}

impl Outcome {
    /// CSV / text label.
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Technician => "technician",
            Outcome::EndUser => "end user",
            Outcome::ServiceAccount => "service account",
            Outcome::Deactivated => "deactivated",
            Outcome::NotImported => "not imported",
        }
    }
}

/// How matching was judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub enum MatchBasis {
    /// Against an export of the service desk's users.
    ExistingUsers,
    /// First sync assumed: by which identifiers each user has.
    KeysOnly,
}

/// One user as the CSV shows it (kept only when [`PreviewOptions::keep_rows`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviewRow {
    /// The tenant read.
    pub tenant_id: String,
    /// The site it would land in.
    pub site: Option<String>,
    /// Entra object id.
    pub object_id: String,
    /// displayName.
    pub display_name: String,
    /// userPrincipalName.
    pub user_principal_name: String,
    /// The email the service desk would store (the attribute mapped to email).
    pub email: Option<String>,
    /// The network login (the attribute mapped to it).
    pub network_login: Option<String>,
    /// accountEnabled.
    pub account_enabled: bool,
    /// What the sync would do.
    pub outcome: Outcome,
    /// Why, in a few words.
    pub reason: &'static str,
    /// The matching rule that matched (or could match).
    pub matched_by: Option<MatchRule>,
    /// Another user has the same email.
    pub duplicate_email: bool,
    /// Last sign-in (when mapped).
    pub last_sign_in: Option<String>,
}

/// Users per outcome.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct Counts {
    /// Users read from Entra.
    pub read: u32,
    /// Technicians.
    pub technicians: u32,
    /// Active end users.
    pub end_users: u32,
    /// Service accounts.
    pub service_accounts: u32,
    /// Disabled accounts that would be made inactive.
    pub deactivated: u32,
    /// Users that would not be imported.
    pub not_imported: u32,
}

impl Counts {
    fn add(&mut self, o: Outcome) {
        self.read += 1;
        match o {
            Outcome::Technician => self.technicians += 1,
            Outcome::EndUser => self.end_users += 1,
            Outcome::ServiceAccount => self.service_accounts += 1,
            Outcome::Deactivated => self.deactivated += 1,
            Outcome::NotImported => self.not_imported += 1,
        }
    }
}

/// The counts of one site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct SiteCounts {
    /// The site (`null`: no site mapping configured — the default site).
    pub site: Option<String>,
    /// The tenant.
    pub tenant_id: String,
    /// The counts (`notImported` is always 0 here).
    pub counts: Counts,
}

/// Users per matching rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct RuleCount {
    /// The rule.
    pub rule: MatchRule,
    /// The Entra attribute it reads.
    pub attribute: String,
    /// Imported users attributed to it.
    pub users: u32,
}

/// How the imported users would be matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct MatchingSummary {
    /// Against an export, or by identifiers only.
    pub basis: MatchBasis,
    /// Per rule, in the matching order.
    pub by_rule: Vec<RuleCount>,
    /// Imported users no rule matches (created new).
    pub unmatched: u32,
    /// Some of them (UPNs).
    pub unmatched_examples: Vec<String>,
}

/// One email address shared by several users.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct DuplicateEmail {
    /// The address (lower-cased).
    pub email: String,
    /// The users' UPNs.
    pub users: Vec<String>,
}

/// Email collisions among imported users.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct DuplicateSummary {
    /// Addresses used by more than one user.
    pub emails: u32,
    /// Users sharing one of them.
    pub users: u32,
    /// Some of them.
    pub examples: Vec<DuplicateEmail>,
}

/// How often a mapped field has a value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct FieldCoverage {
    /// The Entra attribute.
    pub entra: String,
    /// The service-desk field.
    pub halo: String,
    /// Imported users with a value.
    pub present: u32,
    /// Imported users without.
    pub missing: u32,
}

/// A licence and who holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct LicenceUse {
    /// The tenant.
    pub tenant_id: String,
    /// skuId.
    pub sku_id: String,
    /// skuPartNumber, when subscribedSkus could be read.
    pub sku_part_number: Option<String>,
    /// Users read holding it.
    pub users: u32,
    /// One of the "licences that make a user active".
    pub makes_active: bool,
}

/// One tenant read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct TenantRead {
    /// The tenant.
    pub tenant_id: String,
    /// Users read.
    pub users: u32,
    /// User pages read.
    pub pages: u32,
    /// All pages were read (false after a blocking problem).
    pub complete: bool,
}

/// Something the admin must know or do, found while reading.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct PreviewFinding {
    /// Stable id: `permission.missing`, `licence.premium_required`, `group.not_found`,
    /// `licence.unknown`, `licence.none_resolved`, `duplicates.email`, `matching.unmatched`.
    pub id: String,
    /// Error (the sync would fail or do harm), warning, info.
    pub severity: Severity,
    /// The tenant it concerns.
    pub tenant_id: Option<String>,
    /// What was found, and why it matters.
    pub message: String,
    /// What to do.
    pub fix: String,
    /// The application permission to grant (`permission.missing`).
    pub permission: Option<String>,
    /// The admin-consent link that grants it, for that tenant.
    pub consent_url: Option<String>,
}

/// The preview.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct SyncPreview {
    /// False when a finding is an error (a blocking problem such as a missing permission).
    pub ok: bool,
    /// Every tenant read.
    pub tenants: Vec<TenantRead>,
    /// All tenants together.
    pub totals: Counts,
    /// Per site (imported users only).
    pub sites: Vec<SiteCounts>,
    /// Matching.
    pub matching: MatchingSummary,
    /// Email collisions.
    pub duplicates: DuplicateSummary,
    /// Mapped fields' coverage.
    pub field_coverage: Vec<FieldCoverage>,
    /// Licences seen (when licences decide who is active).
    pub licences: Vec<LicenceUse>,
    /// Findings, errors first.
    pub findings: Vec<PreviewFinding>,
    /// Graph requests sent (retries included).
    pub requests: u32,
    /// Throttling waits honoured.
    pub throttled: u32,
    /// Wall time.
    pub elapsed_ms: u32,
    /// One row per user read, for the CSV (not serialised: the GUI asks for the CSV).
    #[serde(skip)]
    #[ts(skip)]
    pub rows: Vec<PreviewRow>,
}

impl SyncPreview {
    /// 0 ok, 1 blocking problems.
    pub fn exit_code(&self) -> u8 {
        if self.ok { 0 } else { 1 }
    }
}

/// Progress, per step and per page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "camelCase")]
#[ts(export)]
pub enum PreviewProgress {
    /// Starting a tenant.
    #[serde(rename_all = "camelCase")]
    Tenant {
        /// The tenant.
        tenant_id: String,
        /// 1-based.
        index: u32,
        /// Tenants in all.
        total: u32,
    },
    /// Group members read.
    #[serde(rename_all = "camelCase")]
    Groups {
        /// The tenant.
        tenant_id: String,
        /// Groups done (0 while the first group's member pages are still being read).
        groups: u32,
        /// Members read so far.
        members: u32,
    },
    /// A page of users processed.
    #[serde(rename_all = "camelCase")]
    Page {
        /// The tenant.
        tenant_id: String,
        /// Pages so far in this tenant.
        pages: u32,
        /// Users so far, all tenants.
        users: u32,
    },
    /// Finished.
    #[serde(rename_all = "camelCase")]
    Done {
        /// Users read.
        users: u32,
    },
}

/// Receives [`PreviewProgress`].
pub type PreviewProgressFn = Arc<dyn Fn(&PreviewProgress) + Send + Sync>;

/// The preview could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PreviewError {
    /// The profile cannot be previewed (import off, sync settings with errors, no tenant).
    #[error("cannot preview this profile: {0}")]
    Profile(String),
    /// Cancelled.
    #[error("the preview was cancelled")]
    Cancelled,
    /// Graph failed in a way that is not a finding (network, server error after retries).
    #[error(transparent)]
    Graph(#[from] GraphError),
    /// No app-only token.
    #[error("no app-only token for tenant {tenant}: {source}")]
    Token {
        /// The tenant.
        tenant: String,
        /// The token endpoint's answer.
        source: crate::oauth::TokenError,
    },
    /// The export of the service desk's users could not be read.
    #[error("the existing-users file is not usable: {0}")]
    Existing(String),
}

impl PreviewError {
    /// Stable code for the UI.
    pub fn code(&self) -> &'static str {
        match self {
            PreviewError::Profile(_) => "sync_preview.profile",
            PreviewError::Cancelled => "sync_preview.cancelled",
            PreviewError::Graph(e) => e.code(),
            PreviewError::Token { source, .. } => source.code(),
            PreviewError::Existing(_) => "sync_preview.existing_users",
        }
    }
}

/// The service desk's current users (an export), to judge matching against.
#[derive(Debug, Clone, Default)]
pub struct ExistingUsers {
    keys: HashMap<MatchRule, HashSet<String>>,
    /// Rows read.
    pub count: usize,
}

fn norm(s: &str) -> String {
    s.trim().to_lowercase()
}

impl ExistingUsers {
    /// Adds one user's identifiers (empty ones are ignored).
    pub fn add(&mut self, rule: MatchRule, value: &str) {
        let v = norm(value);
        if !v.is_empty() {
            self.keys.entry(rule).or_default().insert(v);
        }
    }

    /// True when a user with this identifier exists.
    pub fn has(&self, rule: MatchRule, value: &str) -> bool {
        self.keys
            .get(&rule)
            .is_some_and(|k| k.contains(&norm(value)))
    }

    /// Reads a CSV export with a header naming any of: `azure id` / `azure_id`, `name`,
    /// `email` / `email address`, `network login` / `network_login` (case and spacing
    /// ignored). Other columns are ignored.
    pub fn from_csv(text: &str) -> Result<ExistingUsers, PreviewError> {
        let mut records = csv::parse(text)
            .map_err(PreviewError::Existing)?
            .into_iter();
        let header = records
            .next()
            .ok_or_else(|| PreviewError::Existing("the file is empty".into()))?;
        let cols: Vec<Option<MatchRule>> = header
            .iter()
            .map(|h| {
                let n: String = h
                    .chars()
                    .filter(|c| c.is_alphanumeric())
                    .flat_map(char::to_lowercase)
                    .collect();
                match n.as_str() {
                    "azureid" | "objectid" | "azureobjectid" => Some(MatchRule::AzureId),
                    "name" => Some(MatchRule::Name),
                    "email" | "emailaddress" => Some(MatchRule::Email),
                    "networklogin" | "login" => Some(MatchRule::NetworkLogin),
                    _ => None,
                }
            })
            .collect();
        if cols.iter().all(Option::is_none) {
            return Err(PreviewError::Existing(
                "the header names none of: azure id, name, email, network login".into(),
            ));
        }
        let mut e = ExistingUsers::default();
        for r in records {
            e.count += 1;
            for (v, c) in r.iter().zip(&cols) {
                if let Some(rule) = c {
                    e.add(*rule, v);
                }
            }
        }
        Ok(e)
    }
}

/// Knobs.
#[derive(Debug, Clone)]
pub struct PreviewOptions {
    /// The service desk's users, to judge matching against.
    pub existing: Option<ExistingUsers>,
    /// `$top` for users and members (1–999).
    pub page_size: u32,
    /// Keep one [`PreviewRow`] per user for the CSV.
    pub keep_rows: bool,
}

impl Default for PreviewOptions {
    fn default() -> Self {
        PreviewOptions {
            existing: None,
            page_size: PAGE_SIZE,
            keep_rows: true,
        }
    }
}

/// One tenant to read, with a client holding an app-only token for it.
pub struct PreviewTenant {
    /// The tenant id (or, single tenant, the domain typed in step 1).
    pub tenant_id: String,
    /// Graph, as the app in that tenant.
    pub client: GraphClient,
}

/// The tenants a preview reads: the app's own tenant for a single-tenant import; for CSP
/// every tenant named by a site mapping, else the allowed tenants. `b`: the profile's step
/// 1, resolved ([`crate::plan::Plan::basics`] or [`crate::steps::basics::resolve`]).
pub fn preview_tenants(p: &Profile, b: &Basics) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    if p.features.csp {
        for m in &p.sync.site_mappings {
            if let Some(t) = m.tenant_id.as_deref().and_then(parse_guid)
                && !out.contains(&t)
            {
                out.push(t);
            }
        }
        if out.is_empty() {
            out.extend(p.allowed_tenants.iter().filter_map(|t| parse_guid(t)));
            out.dedup();
        }
    }
    if out.is_empty()
        && let Some(t) = &b.tenant
    {
        out.push(t.as_str().to_string());
    }
    out
}

/// A Graph client with an app-only token for `tenant`, from the client-credentials grant
/// with `credential` at the profile's [`Target`] — its cloud's login and Graph hosts, or
/// the practice provider's origin for both. The secret or assertion goes nowhere else.
/// `b`: the profile's step 1, resolved once for the whole preview.
pub async fn app_only_client(
    p: &Profile,
    b: &Basics,
    tenant: &str,
    credential: &ClientCredential,
) -> Result<GraphClient, PreviewError> {
    let client_id = b.client_id.as_ref().ok_or_else(|| {
        PreviewError::Profile("client_id: enter the Application (client) ID in step 1".into())
    })?;
    let target = Target::from_profile(p)
        .map_err(|e| PreviewError::Profile(format!("authority: {e}. {}", e.fix())))?;
    if let Some(service) = target.signup() {
        return Err(PreviewError::Profile(format!(
            "public_signup: the sync preview reads a workforce directory, not {}",
            service.name()
        )));
    }
    let segment = TenantSegment::tenant(tenant).ok_or_else(|| {
        PreviewError::Profile(format!(
            "tenant '{}' is not a tenant ID or domain",
            tenant.trim()
        ))
    })?;
    let http = crate::http::http_client(Duration::from_secs(30))
        .map_err(|e| PreviewError::Graph(GraphError::Transport(e)))?;
    let token_endpoint = target.token(&segment);
    let tokens = crate::oauth::TokenEndpoint::new(
        &http,
        &token_endpoint,
        client_id.as_str(),
        Some(credential),
    )
    .client_credentials(&target.graph_default_scope())
    .await
    .map_err(|source| PreviewError::Token {
        tenant: tenant.to_string(),
        source,
    })?;
    let token = Arc::new(StaticToken::new(tokens.access_token));
    Ok(GraphClient::new(&target, token)?)
}

/// The admin-consent link for `tenant` (the plan's link; a multi-tenant app's with the
/// tenant put in place of `organizations`). `plan`: the profile's plan.
pub fn consent_url_for(p: &Profile, plan: &Plan, tenant: &str) -> Option<String> {
    let c = plan.consent.as_ref()?;
    let segment = TenantSegment::tenant(tenant);
    let Some(segment) = segment.filter(|_| p.tenant_type != TenantType::Single) else {
        return Some(c.url.clone());
    };
    let b = &plan.basics;
    Some(
        b.target
            .as_ref()?
            .admin_consent(
                &segment,
                b.client_id.as_ref()?,
                &c.redirect_uri,
                consent::LINK_STATE,
            )
            .to_string(),
    )
}

/// What a group reference resolved to in one tenant.
struct GroupSet {
    members: HashSet<Uuid>,
    found: bool,
}

fn uid(s: &str) -> Option<Uuid> {
    Uuid::parse_str(s).ok()
}

/// Reading stopped on a Graph error: a finding or a real error.
enum Stop {
    Finding(Box<PreviewFinding>),
    Error(PreviewError),
}

impl From<PreviewError> for Stop {
    fn from(e: PreviewError) -> Self {
        Stop::Error(e)
    }
}

/// One preview: what it reads with, and the findings so far.
struct Run<'a> {
    profile: &'a Profile,
    plan: &'a Plan,
    options: &'a PreviewOptions,
    progress: Option<PreviewProgressFn>,
    cancel: &'a CancellationToken,
    findings: Vec<PreviewFinding>,
    users_total: u32,
}

impl Run<'_> {
    fn emit(&self, e: PreviewProgress) {
        if let Some(p) = &self.progress {
            p(&e);
        }
    }

    async fn get(&self, client: &GraphClient, path: &str) -> Result<Value, PreviewError> {
        if self.cancel.is_cancelled() {
            return Err(PreviewError::Cancelled);
        }
        tokio::select! {
            _ = self.cancel.cancelled() => Err(PreviewError::Cancelled),
            r = client.get(path) => r.map_err(PreviewError::Graph),
        }
    }

    fn permission_finding(&self, tenant: &str, read: &str, err: &GraphError) -> PreviewFinding {
        let perm = permissions::for_read(read);
        let name = perm.map(|p| p.value).unwrap_or("the missing permission");
        let why = perm.map(|p| p.why).unwrap_or_default();
        PreviewFinding {
            id: "permission.missing".into(),
            severity: Severity::Error,
            tenant_id: Some(tenant.into()),
            message: format!(
                "Graph refused to list {read} in tenant {tenant} ({}): the app lacks the application permission {name}, so the sync fails the same way. {why}",
                err.graph_code().unwrap_or("403")
            ),
            fix: format!(
                "Grant {name}: add it under API permissions > Microsoft Graph > Application permissions (entra-onboard apply does), then open the admin-consent link as a Global Administrator or Privileged Role Administrator of that tenant."
            ),
            permission: Some(name.into()),
            consent_url: consent_url_for(self.profile, self.plan, tenant),
        }
    }

    fn stop_on(&self, tenant: &str, read: &str, e: PreviewError) -> Stop {
        match &e {
            PreviewError::Graph(g) if g.status() == Some(403) => {
                Stop::Finding(Box::new(self.permission_finding(tenant, read, g)))
            }
            _ => Stop::Error(e),
        }
    }

    /// Calls `f` with each page's `value`, following `@odata.nextLink`.
    async fn pages(
        &mut self,
        client: &GraphClient,
        first: String,
        mut f: impl FnMut(&mut Self, &[Value]),
    ) -> Result<u32, PreviewError> {
        let mut path = first;
        let mut pages = 0u32;
        loop {
            let page = self.get(client, &path).await?;
            pages += 1;
            let items = page["value"].as_array().map(Vec::as_slice).unwrap_or(&[]);
            f(self, items);
            let Some(next) = page["@odata.nextLink"].as_str() else {
                return Ok(pages);
            };
            // The token only ever goes to the Graph base it was made for.
            path = next
                .strip_prefix(client.base())
                .filter(|r| r.starts_with('/'))
                .ok_or_else(|| {
                    PreviewError::Graph(GraphError::BadResponse(format!(
                        "@odata.nextLink leaves {}: {next}",
                        client.base()
                    )))
                })?
                .to_string();
        }
    }

    async fn resolve_group(
        &mut self,
        client: &GraphClient,
        tenant: &str,
        reference: &str,
    ) -> Result<GroupSet, Stop> {
        let r = reference.trim();
        let id = match parse_guid(r) {
            Some(g) => {
                let path = with_query(&format!("/groups/{g}"), &[("$select", "id,displayName")]);
                match self.get(client, &path).await {
                    Ok(v) => v["id"].as_str().map(str::to_string),
                    Err(PreviewError::Graph(e)) if e.status() == Some(404) => None,
                    Err(e) => return Err(self.stop_on(tenant, "groups", e)),
                }
            }
            None => {
                let path = with_query(
                    "/groups",
                    &[
                        ("$filter", &format!("displayName eq {}", odata_string(r))),
                        ("$select", "id,displayName"),
                    ],
                );
                let v = self
                    .get(client, &path)
                    .await
                    .map_err(|e| self.stop_on(tenant, "groups", e))?;
                let list = v["value"].as_array().cloned().unwrap_or_default();
                if list.len() > 1 {
                    self.findings.push(PreviewFinding {
                        id: "group.ambiguous".into(),
                        severity: Severity::Warning,
                        tenant_id: Some(tenant.into()),
                        message: format!("{} groups in tenant {tenant} are named '{r}'; the preview used the first, the service desk may pick another.", list.len()),
                        fix: "Rename the groups apart, or use the group's Object ID.".into(),
                        permission: None,
                        consent_url: None,
                    });
                }
                list.first()
                    .and_then(|g| g["id"].as_str())
                    .map(str::to_string)
            }
        };
        let Some(id) = id else {
            return Ok(GroupSet {
                members: HashSet::new(),
                found: false,
            });
        };
        let mut members = HashSet::new();
        let first = with_query(
            &format!("/groups/{id}/transitiveMembers"),
            &[
                ("$select", "id"),
                ("$top", &self.options.page_size.to_string()),
            ],
        );
        let tenant_s = tenant.to_string();
        self.pages(client, first, |run, items| {
            for m in items {
                let is_user = m["@odata.type"]
                    .as_str()
                    .is_none_or(|t| t == "#microsoft.graph.user");
                if is_user && let Some(u) = m["id"].as_str().and_then(uid) {
                    members.insert(u);
                }
            }
            run.emit(PreviewProgress::Groups {
                tenant_id: tenant_s.clone(),
                groups: 0,
                members: members.len() as u32,
            });
        })
        .await
        .map_err(|e| self.stop_on(tenant, "groups", e))?;
        Ok(GroupSet {
            members,
            found: true,
        })
    }
}

/// Per-tenant group lookups, by reference as typed.
struct TenantGroups {
    by_ref: HashMap<String, GroupSet>,
}

impl TenantGroups {
    fn member(&self, reference: &str, user: Option<&Uuid>) -> bool {
        match (self.by_ref.get(&norm(reference)), user) {
            (Some(g), Some(u)) => g.members.contains(u),
            _ => false,
        }
    }
}

fn value_of(u: &Value, attr: &str) -> Option<String> {
    let v = &u[attr];
    let s = match v {
        Value::String(s) => s.clone(),
        Value::Array(a) => a.first().and_then(Value::as_str)?.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

/// The `$select` of the users request.
pub fn user_select(s: &SyncSettings) -> Vec<String> {
    let mut sel: Vec<String> = [
        "id",
        "displayName",
        "mail",
        "userPrincipalName",
        "onPremisesSamAccountName",
        "accountEnabled",
        "assignedLicenses",
    ]
    .iter()
    .map(|x| x.to_string())
    .collect();
    for m in &s.field_mappings {
        if let Some(p) = user_property(&m.entra)
            && !sel.iter().any(|x| x == p)
        {
            sel.push(p.to_string());
        }
    }
    if s.map_last_sign_in {
        sel.push("signInActivity".into());
    }
    sel
}

/// Runs the preview over `tenants` (see the module docs).
pub async fn preview(
    profile: &Profile,
    tenants: &[PreviewTenant],
    options: &PreviewOptions,
    progress: Option<PreviewProgressFn>,
    cancel: &CancellationToken,
) -> Result<SyncPreview, PreviewError> {
    let plan = crate::plan::plan(profile);
    preview_planned(profile, &plan, tenants, options, progress, cancel).await
}

/// [`preview`] with the profile's plan already made: a caller that resolved step 1 to pick
/// the tenants and get their tokens passes the same plan, so one preview checks the
/// profile once. Reads tenant after tenant into one [`Tally`], then summarises it.
pub async fn preview_planned(
    profile: &Profile,
    plan: &Plan,
    tenants: &[PreviewTenant],
    options: &PreviewOptions,
    progress: Option<PreviewProgressFn>,
    cancel: &CancellationToken,
) -> Result<SyncPreview, PreviewError> {
    let started = Instant::now();
    check_previewable(profile, plan, tenants)?;
    let mut run = Run {
        profile,
        plan,
        options,
        progress,
        cancel,
        findings: Vec::new(),
        users_total: 0,
    };
    let mut tally = Tally::new(&profile.sync, options);
    let refs = group_refs(&profile.sync);
    for (ti, t) in tenants.iter().enumerate() {
        run.emit(PreviewProgress::Tenant {
            tenant_id: t.tenant_id.clone(),
            index: ti as u32 + 1,
            total: tenants.len() as u32,
        });
        run.read_tenant(t, tenants.len(), &refs, &mut tally).await?;
    }
    let preview = tally.finish(&mut run, started);
    run.emit(PreviewProgress::Done {
        users: run.users_total,
    });
    Ok(preview)
}

/// Refuses a profile the preview cannot read for: import off, sync settings with errors,
/// no tenant.
fn check_previewable(
    profile: &Profile,
    plan: &Plan,
    tenants: &[PreviewTenant],
) -> Result<(), PreviewError> {
    if !applies(profile) {
        return Err(PreviewError::Profile(
            "features.import: turn on the user import (or CSP) in step 1 first".into(),
        ));
    }
    let bad: Vec<String> = plan
        .issues
        .iter()
        .filter(|i| i.severity == Severity::Error && i.field.starts_with("sync"))
        .map(|i| format!("{}: {}", i.field, i.message))
        .collect();
    if !bad.is_empty() {
        return Err(PreviewError::Profile(bad.join("; ")));
    }
    if tenants.is_empty() {
        return Err(PreviewError::Profile(
            "no tenant to read: enter the tenant id (or, for CSP, site mappings)".into(),
        ));
    }
    Ok(())
}

/// Every group the settings name, as typed (deduplicated case-insensitively): technician,
/// end-user and service-account groups, and the site mappings' groups.
fn group_refs(s: &SyncSettings) -> Vec<String> {
    let mut refs: Vec<String> = Vec::new();
    for r in s
        .technician_groups
        .iter()
        .chain(&s.user_groups)
        .chain(s.service_account_group.iter())
        .chain(s.site_mappings.iter().filter_map(|m| m.group.as_ref()))
    {
        if !r.trim().is_empty() && !refs.iter().any(|x| norm(x) == norm(r)) {
            refs.push(r.clone());
        }
    }
    refs
}

/// One user from a users page, with the fields classifying it reads.
struct UserRead<'u> {
    json: &'u Value,
    object_id: &'u str,
    oid: Option<Uuid>,
    upn: &'u str,
    enabled: bool,
    /// skuIds of the assigned licences, lower-cased.
    licences: Vec<String>,
}

impl<'u> UserRead<'u> {
    fn new(u: &'u Value) -> UserRead<'u> {
        let object_id = u["id"].as_str().unwrap_or_default();
        UserRead {
            json: u,
            object_id,
            oid: uid(object_id),
            upn: u["userPrincipalName"].as_str().unwrap_or_default(),
            enabled: u["accountEnabled"].as_bool().unwrap_or(true),
            licences: u["assignedLicenses"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|l| l["skuId"].as_str().map(str::to_lowercase))
                .collect(),
        }
    }
}

/// What one tenant's users are classified against: its groups and active licences.
struct TenantRules<'a> {
    tenant: &'a str,
    /// Only one tenant is read (a site mapping without a tenant applies to it).
    single: bool,
    groups: &'a TenantGroups,
    licences_on: bool,
    active_skus: &'a HashSet<String>,
}

/// What the first sync would do with one user.
struct Classified {
    /// `Err`: site mappings exist and none matches; `Ok(None)`: the default site.
    site: Result<Option<String>, ()>,
    outcome: Outcome,
    reason: &'static str,
}

/// The site of `u`: the first mapping whose tenant, group and domain filters all match.
fn site_of(s: &SyncSettings, r: &TenantRules, u: &UserRead) -> Result<Option<String>, ()> {
    if s.site_mappings.is_empty() {
        return Ok(None);
    }
    s.site_mappings
        .iter()
        .find(|m| {
            let tenant_ok = match m.tenant_id.as_deref().and_then(parse_guid) {
                Some(mt) => parse_guid(r.tenant).as_deref() == Some(mt.as_str()),
                None => r.single,
            };
            let group_ok = m
                .group
                .as_deref()
                .is_none_or(|g| r.groups.member(g, u.oid.as_ref()));
            let domain_ok = m.domain.as_deref().is_none_or(|d| {
                u.upn
                    .rsplit_once('@')
                    .is_some_and(|(_, ud)| ud.eq_ignore_ascii_case(d.trim()))
            });
            tenant_ok && group_ok && domain_ok
        })
        .map(|m| Some(m.site.trim().to_string()))
        .ok_or(())
}

/// The sync's rules for one user, in the service desk's order: site, groups, disabled,
/// technician, service account (group or licence), end user.
fn classify(s: &SyncSettings, r: &TenantRules, u: &UserRead) -> Classified {
    let site = site_of(s, r, u);
    let member = |g: &String| r.groups.member(g, u.oid.as_ref());
    let tech = s.technician_groups.iter().any(member);
    let in_user_group = s.user_groups.is_empty() || s.user_groups.iter().any(member);
    let (outcome, reason) = match (&site, tech, in_user_group) {
        (Err(()), _, _) => (Outcome::NotImported, "no site mapping matches"),
        (_, false, false) => (Outcome::NotImported, "not in an end-user group"),
        _ if !u.enabled && !s.ignore_account_enabled => {
            (Outcome::Deactivated, "account disabled in Entra")
        }
        (_, true, _) => (Outcome::Technician, "in a technician group"),
        _ if s
            .service_account_group
            .as_deref()
            .is_some_and(|g| !r.groups.member(g, u.oid.as_ref())) =>
        {
            (Outcome::ServiceAccount, "not in the service-account group")
        }
        _ if r.licences_on && !u.licences.iter().any(|l| r.active_skus.contains(l)) => (
            Outcome::ServiceAccount,
            "no licence that makes a user active",
        ),
        _ => (Outcome::EndUser, "end user"),
    };
    Classified {
        site,
        outcome,
        reason,
    }
}

impl<'a> Run<'a> {
    /// Reads one tenant — groups, licences, users — into `tally`. A missing permission
    /// stops this tenant with a finding (the others are still read); any other Graph
    /// failure stops the preview.
    async fn read_tenant(
        &mut self,
        t: &PreviewTenant,
        tenants: usize,
        refs: &[String],
        tally: &mut Tally,
    ) -> Result<(), PreviewError> {
        let client = &t.client;
        let log_start = client.sent().len();
        let waits_start = client.waits().len();
        let mut read = TenantRead {
            tenant_id: t.tenant_id.clone(),
            users: 0,
            pages: 0,
            complete: false,
        };
        self.read_tenant_parts(t, tenants, refs, tally, &mut read)
            .await?;
        tally.requests += (client.sent().len() - log_start) as u32;
        tally.throttled += (client.waits().len() - waits_start) as u32;
        tally.tenant_reads.push(read);
        Ok(())
    }

    /// The three reads of a tenant, in order; `Ok` also when a finding stopped them.
    async fn read_tenant_parts(
        &mut self,
        t: &PreviewTenant,
        tenants: usize,
        refs: &[String],
        tally: &mut Tally,
        read: &mut TenantRead,
    ) -> Result<(), PreviewError> {
        let (client, tenant) = (&t.client, t.tenant_id.as_str());
        let Some(groups) = self.read_groups(client, tenant, refs).await? else {
            return Ok(());
        };
        let licences_on = !self.profile.sync.active_licences.is_empty();
        let active_skus = if licences_on {
            self.read_licences(client, tenant, tally).await?
        } else {
            HashSet::new()
        };
        let Some(first) = self.first_users_page(client, tenant).await? else {
            return Ok(());
        };
        let rules = TenantRules {
            tenant,
            single: tenants == 1,
            groups: &groups,
            licences_on,
            active_skus: &active_skus,
        };
        self.read_users(client, first, &rules, tally, read).await
    }

    /// Groups (first): each reference resolved and its transitive members read. `None`
    /// when a missing permission stopped the tenant (the finding is recorded).
    async fn read_groups(
        &mut self,
        client: &GraphClient,
        tenant: &str,
        refs: &[String],
    ) -> Result<Option<TenantGroups>, PreviewError> {
        let profile: &'a Profile = self.profile;
        let s = &profile.sync;
        let mut groups = TenantGroups {
            by_ref: HashMap::new(),
        };
        for (gi, r) in refs.iter().enumerate() {
            match self.resolve_group(client, tenant, r).await {
                Ok(g) => {
                    if !g.found {
                        let service = s
                            .service_account_group
                            .as_ref()
                            .is_some_and(|x| norm(x) == norm(r));
                        self.findings.push(PreviewFinding {
                            id: "group.not_found".into(),
                            severity: Severity::Warning,
                            tenant_id: Some(tenant.into()),
                            message: if service {
                                format!("The service-account group '{}' is not in tenant {tenant}: every end user there would become a service account.", r.trim())
                            } else {
                                format!("Group '{}' is not in tenant {tenant}, so nobody there is a member of it.", r.trim())
                            },
                            fix: "Check the group's name or Object ID (Entra admin center > Groups).".into(),
                            permission: None,
                            consent_url: None,
                        });
                    }
                    groups.by_ref.insert(norm(r), g);
                    self.emit(PreviewProgress::Groups {
                        tenant_id: tenant.into(),
                        groups: gi as u32 + 1,
                        members: groups.by_ref.values().map(|g| g.members.len() as u32).sum(),
                    });
                }
                Err(Stop::Finding(f)) => {
                    self.findings.push(*f);
                    return Ok(None);
                }
                Err(Stop::Error(e)) => return Err(e),
            }
        }
        Ok(Some(groups))
    }

    /// Licences (second, only when licences decide who is active): the tenant's SKUs,
    /// and which of them the "licences that make a user active" name. Returns their skuIds.
    async fn read_licences(
        &mut self,
        client: &GraphClient,
        tenant: &str,
        tally: &mut Tally,
    ) -> Result<HashSet<String>, PreviewError> {
        let mut active_skus: HashSet<String> = HashSet::new();
        let path = with_query("/subscribedSkus", &[("$select", "skuId,skuPartNumber")]);
        let mut known: Vec<(String, String)> = Vec::new();
        match self.get(client, &path).await {
            Ok(v) => {
                for k in v["value"].as_array().into_iter().flatten() {
                    if let (Some(id), Some(part)) =
                        (k["skuId"].as_str(), k["skuPartNumber"].as_str())
                    {
                        known.push((id.to_lowercase(), part.to_string()));
                        tally
                            .sku_names
                            .insert((tenant.into(), id.to_lowercase()), part.to_string());
                    }
                }
            }
            Err(e) => match self.stop_on(tenant, "subscribedSkus", e) {
                Stop::Finding(f) => self.findings.push(*f),
                Stop::Error(e) => return Err(e),
            },
        }
        let profile: &'a Profile = self.profile;
        for l in &profile.sync.active_licences {
            let l = l.trim();
            if let Some(g) = parse_guid(l) {
                active_skus.insert(g);
            } else if let Some((id, _)) = known.iter().find(|(_, p)| p.eq_ignore_ascii_case(l)) {
                active_skus.insert(id.clone());
            } else if !known.is_empty() {
                self.findings.push(PreviewFinding {
                    id: "licence.unknown".into(),
                    severity: Severity::Warning,
                    tenant_id: Some(tenant.into()),
                    message: format!(
                        "Tenant {tenant} has no licence '{l}'; it makes nobody active there."
                    ),
                    fix: format!(
                        "Use one of the tenant's SKU part numbers: {}.",
                        known
                            .iter()
                            .map(|(_, p)| p.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    permission: None,
                    consent_url: None,
                });
            }
        }
        if active_skus.is_empty() {
            self.findings.push(PreviewFinding {
                id: "licence.none_resolved".into(),
                severity: Severity::Warning,
                tenant_id: Some(tenant.into()),
                message: format!("None of the 'licences that make a user active' could be found in tenant {tenant}: every end user there would become a service user."),
                fix: "Check the licence names against the tenant's subscriptions.".into(),
                permission: None,
                consent_url: None,
            });
        }
        tally.active_ids_all.extend(active_skus.iter().cloned());
        Ok(active_skus)
    }

    /// Users (third): the first request. With the last-sign-in mapping on, one user is
    /// probed first: a refusal of `signInActivity` is a finding and the read goes on
    /// without it.
    /// `None` when the users themselves cannot be read (the finding is recorded).
    async fn first_users_page(
        &mut self,
        client: &GraphClient,
        tenant: &str,
    ) -> Result<Option<String>, PreviewError> {
        let profile: &'a Profile = self.profile;
        let s = &profile.sync;
        let page_size = self.options.page_size.to_string();
        let mut select = user_select(s);
        let users_path = |select: &[String]| {
            with_query(
                "/users",
                &[("$select", &select.join(",")), ("$top", &page_size)],
            )
        };
        if !s.map_last_sign_in {
            return Ok(Some(users_path(&select)));
        }
        let probe = with_query("/users", &[("$select", &select.join(",")), ("$top", "1")]);
        let e = match self.get(client, &probe).await {
            Ok(_) => return Ok(Some(users_path(&select))),
            Err(PreviewError::Graph(e)) if e.status() == Some(403) => e,
            Err(e) => return Err(e),
        };
        select.retain(|x| x != "signInActivity");
        let first = users_path(&select);
        if e.graph_code() == Some("Authentication_RequestFromNonPremiumTenantOrB2CTenant") {
            self.findings.push(PreviewFinding {
                id: "licence.premium_required".into(),
                severity: Severity::Error,
                tenant_id: Some(tenant.into()),
                message: format!("Tenant {tenant} has no Microsoft Entra ID P1/P2 licence, so the last sign-in date cannot be read and the service desk's sync fails there (\"Neither tenant is B2C or tenant doesn't have premium license\")."),
                fix: "Turn off the last-sign-in mapping, or license the tenant with Entra ID P1 or P2.".into(),
                permission: None,
                consent_url: None,
            });
            return Ok(Some(first));
        }
        // Which permission is missing shows when the plain read works.
        let plain = with_query("/users", &[("$select", "id"), ("$top", "1")]);
        match self.get(client, &plain).await {
            Ok(_) => {
                let f = self.permission_finding(tenant, "signInActivity", &e);
                self.findings.push(f);
                Ok(Some(first))
            }
            Err(PreviewError::Graph(e2)) if e2.status() == Some(403) => {
                let f = self.permission_finding(tenant, "users", &e2);
                self.findings.push(f);
                Ok(None)
            }
            Err(e2) => Err(e2),
        }
    }

    /// Users (third), page by page from `first`: each classified and counted, then dropped.
    async fn read_users(
        &mut self,
        client: &GraphClient,
        first: String,
        rules: &TenantRules<'_>,
        tally: &mut Tally,
        read: &mut TenantRead,
    ) -> Result<(), PreviewError> {
        let (profile, options): (&'a Profile, &'a PreviewOptions) = (self.profile, self.options);
        let s = &profile.sync;
        let existing = options.existing.as_ref();
        let keep = options.keep_rows;
        let page_result = self
            .pages(client, first, |run, items| {
                for u in items {
                    let user = UserRead::new(u);
                    let c = classify(s, rules, &user);
                    tally.add_user(s, existing, keep, rules, &user, c);
                    read.users += 1;
                    run.users_total += 1;
                }
                read.pages += 1;
                run.emit(PreviewProgress::Page {
                    tenant_id: rules.tenant.into(),
                    pages: read.pages,
                    users: run.users_total,
                });
            })
            .await;
        match page_result {
            Ok(_) => read.complete = true,
            Err(e) => match self.stop_on(rules.tenant, "users", e) {
                Stop::Finding(f) => self.findings.push(*f),
                Stop::Error(e) => return Err(e),
            },
        }
        Ok(())
    }
}

/// What the preview keeps while it reads, over every tenant and page: counts, matching,
/// collisions, coverage, licences and (optionally) the rows. Bounded by the settings and
/// the examples' cap, except the rows and one email per user.
struct Tally {
    basis: MatchBasis,
    rules: Vec<MatchRule>,
    /// The Entra attribute each rule reads, in rule order.
    attrs: Vec<String>,
    email_attr: String,
    login_attr: String,
    by_rule: Vec<u32>,
    unmatched: u32,
    unmatched_examples: Vec<String>,
    totals: Counts,
    sites: BTreeMap<(String, Option<String>), Counts>,
    /// email → (users, first UPN); collisions keep (email, UPN) of every user involved.
    emails: HashMap<String, (u32, String)>,
    collisions: Vec<(String, String)>,
    /// (present, missing) per field mapping.
    coverage: Vec<(u32, u32)>,
    licence_use: BTreeMap<(String, String), u32>,
    sku_names: HashMap<(String, String), String>,
    active_ids_all: HashSet<String>,
    tenant_reads: Vec<TenantRead>,
    rows: Vec<PreviewRow>,
    requests: u32,
    throttled: u32,
}

impl Tally {
    fn new(s: &SyncSettings, options: &PreviewOptions) -> Tally {
        let rules: Vec<MatchRule> = s.matching_order.clone();
        Tally {
            basis: if options.existing.is_some() {
                MatchBasis::ExistingUsers
            } else {
                MatchBasis::KeysOnly
            },
            attrs: rules.iter().map(|r| s.attribute_for(*r)).collect(),
            by_rule: vec![0u32; rules.len()],
            rules,
            email_attr: s.attribute_for(MatchRule::Email),
            login_attr: s.attribute_for(MatchRule::NetworkLogin),
            unmatched: 0,
            unmatched_examples: Vec::new(),
            totals: Counts::default(),
            sites: BTreeMap::new(),
            emails: HashMap::new(),
            collisions: Vec::new(),
            coverage: vec![(0, 0); s.field_mappings.len()],
            licence_use: BTreeMap::new(),
            sku_names: HashMap::new(),
            active_ids_all: HashSet::new(),
            tenant_reads: Vec::new(),
            rows: Vec::new(),
            requests: 0,
            throttled: 0,
        }
    }

    /// Counts one classified user: licences, outcome and site, then for an imported user
    /// its matching rule, mapped fields and email.
    fn add_user(
        &mut self,
        s: &SyncSettings,
        existing: Option<&ExistingUsers>,
        keep: bool,
        r: &TenantRules,
        u: &UserRead,
        c: Classified,
    ) {
        if r.licences_on {
            for l in &u.licences {
                *self
                    .licence_use
                    .entry((r.tenant.to_string(), l.clone()))
                    .or_default() += 1;
            }
        }
        self.totals.add(c.outcome);
        let site = c.site.ok().flatten();
        let imported = c.outcome != Outcome::NotImported;
        let mut matched_by = None;
        if imported {
            self.sites
                .entry((r.tenant.to_string(), site.clone()))
                .or_default()
                .add(c.outcome);
            matched_by = self.match_user(existing, u);
            self.count_coverage(s, u.json);
        }
        let email = value_of(u.json, &self.email_attr);
        if imported && let Some(e) = &email {
            self.note_email(norm(e), u.upn);
        }
        if keep {
            self.rows.push(PreviewRow {
                tenant_id: r.tenant.to_string(),
                site,
                object_id: u.object_id.to_string(),
                display_name: u.json["displayName"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                user_principal_name: u.upn.to_string(),
                email,
                network_login: value_of(u.json, &self.login_attr),
                account_enabled: u.enabled,
                outcome: c.outcome,
                reason: c.reason,
                matched_by,
                duplicate_email: false,
                last_sign_in: u.json["signInActivity"]["lastSignInDateTime"]
                    .as_str()
                    .map(str::to_string),
            });
        }
    }

    /// The first rule, in the matching order, that matches `u` (against the export, or —
    /// a first sync — any rule but the Azure id the user has a value for).
    fn match_user(&mut self, existing: Option<&ExistingUsers>, u: &UserRead) -> Option<MatchRule> {
        for (k, rule) in self.rules.iter().enumerate() {
            let Some(v) = value_of(u.json, &self.attrs[k]) else {
                continue;
            };
            let hit = match existing {
                Some(e) => e.has(*rule, &v),
                // A first sync has no stored Azure ids to match.
                None => *rule != MatchRule::AzureId,
            };
            if hit {
                self.by_rule[k] += 1;
                return Some(*rule);
            }
        }
        self.unmatched += 1;
        if self.unmatched_examples.len() < MAX_EXAMPLES {
            self.unmatched_examples.push(u.upn.to_string());
        }
        None
    }

    /// Whether each mapped field has a value for this user.
    fn count_coverage(&mut self, s: &SyncSettings, u: &Value) {
        for (k, m) in s.field_mappings.iter().enumerate() {
            let attr = user_property(&m.entra).unwrap_or_default();
            if value_of(u, attr).is_some() {
                self.coverage[k].0 += 1;
            } else {
                self.coverage[k].1 += 1;
            }
        }
    }

    /// Records an imported user's (lower-cased) email; a second user with it starts a
    /// collision, which keeps both.
    fn note_email(&mut self, key: String, upn: &str) {
        match self.emails.get_mut(&key) {
            Some((n, first_upn)) => {
                if *n == 1 {
                    self.collisions.push((key.clone(), first_upn.clone()));
                }
                *n += 1;
                self.collisions.push((key, upn.to_string()));
            }
            None => {
                self.emails.insert(key, (1, upn.to_string()));
            }
        }
    }

    /// The email collisions, with the rows that share an address marked and a finding when
    /// there are any.
    fn duplicates(&mut self, findings: &mut Vec<PreviewFinding>) -> DuplicateSummary {
        let mut dup = DuplicateSummary::default();
        let mut groups_by_email: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (e, u) in std::mem::take(&mut self.collisions) {
            groups_by_email.entry(e).or_default().push(u);
        }
        dup.emails = groups_by_email.len() as u32;
        dup.users = groups_by_email.values().map(|v| v.len() as u32).sum();
        dup.examples = groups_by_email
            .iter()
            .take(MAX_EXAMPLES)
            .map(|(e, u)| DuplicateEmail {
                email: e.clone(),
                users: u.clone(),
            })
            .collect();
        if !groups_by_email.is_empty() {
            for r in self.rows.iter_mut() {
                if r.outcome != Outcome::NotImported
                    && let Some(e) = &r.email
                {
                    r.duplicate_email = self.emails.get(&norm(e)).is_some_and(|(n, _)| *n > 1);
                }
            }
            findings.push(PreviewFinding {
                id: "duplicates.email".into(),
                severity: Severity::Warning,
                tenant_id: None,
                message: format!(
                    "{} email addresses are shared by {} users: matching on email would merge them into one service-desk user, or the sync would stop on them.",
                    dup.emails, dup.users
                ),
                fix: "Give each user their own address in Entra, or match on the Azure id / network login before email.".into(),
                permission: None,
                consent_url: None,
            });
        }
        self.emails = HashMap::new();
        dup
    }

    /// The summary: duplicates, unmatched users and licences turned into the report, with
    /// every finding sorted errors first.
    fn finish(mut self, run: &mut Run<'_>, started: Instant) -> SyncPreview {
        let duplicates = self.duplicates(&mut run.findings);
        if self.unmatched > 0 {
            let unmatched = self.unmatched;
            run.findings.push(PreviewFinding {
                id: "matching.unmatched".into(),
                severity: Severity::Info,
                tenant_id: None,
                message: match self.basis {
                    MatchBasis::ExistingUsers => format!("{unmatched} users match no existing service-desk user and would be created new."),
                    MatchBasis::KeysOnly => format!("{unmatched} users have none of the matching fields, so the service desk can only ever create them new."),
                },
                fix: "Fill in the matched fields in Entra, or add a rule whose field they have.".into(),
                permission: None,
                consent_url: None,
            });
        }
        let licences = self
            .licence_use
            .into_iter()
            .map(|((t, id), n)| LicenceUse {
                sku_part_number: self.sku_names.get(&(t.clone(), id.clone())).cloned(),
                makes_active: self.active_ids_all.contains(&id),
                tenant_id: t,
                sku_id: id,
                users: n,
            })
            .collect();
        let mut findings = std::mem::take(&mut run.findings);
        findings.sort_by_key(|f| f.severity);
        let s = &run.profile.sync;
        SyncPreview {
            ok: !findings.iter().any(|f| f.severity == Severity::Error),
            tenants: self.tenant_reads,
            totals: self.totals,
            sites: self
                .sites
                .into_iter()
                .map(|((tenant_id, site), counts)| SiteCounts {
                    site,
                    tenant_id,
                    counts,
                })
                .collect(),
            matching: MatchingSummary {
                basis: self.basis,
                by_rule: self
                    .rules
                    .iter()
                    .zip(self.attrs)
                    .zip(self.by_rule)
                    .map(|((rule, attribute), users)| RuleCount {
                        rule: *rule,
                        attribute,
                        users,
                    })
                    .collect(),
                unmatched: self.unmatched,
                unmatched_examples: self.unmatched_examples,
            },
            duplicates,
            field_coverage: s
                .field_mappings
                .iter()
                .zip(self.coverage)
                .map(|(m, (present, missing))| FieldCoverage {
                    entra: m.entra.trim().to_string(),
                    halo: m.halo.trim().to_string(),
                    present,
                    missing,
                })
                .collect(),
            licences,
            findings,
            requests: self.requests,
            throttled: self.throttled,
            elapsed_ms: started.elapsed().as_millis() as u32,
            rows: self.rows,
        }
    }
}

/// The preview as text, for the CLI.
pub fn render_text(p: &SyncPreview) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let t = &p.totals;
    let _ = writeln!(
        s,
        "The first sync would, from {} users read in {}:",
        t.read,
        crate::wording::count_len(p.tenants.len(), "tenant")
    );
    let _ = writeln!(s, "  {:>7}  technicians", t.technicians);
    let _ = writeln!(s, "  {:>7}  end users", t.end_users);
    let _ = writeln!(s, "  {:>7}  service accounts", t.service_accounts);
    let _ = writeln!(
        s,
        "  {:>7}  disabled accounts made inactive (de-provisioned)",
        t.deactivated
    );
    let _ = writeln!(s, "  {:>7}  not imported", t.not_imported);
    if p.sites.len() > 1 || p.sites.iter().any(|x| x.site.is_some()) {
        let _ = writeln!(s, "\nPer site:");
        for x in &p.sites {
            let c = &x.counts;
            let _ = writeln!(
                s,
                "  {} ({}): {} technicians, {} end users, {} service accounts, {} made inactive",
                x.site.as_deref().unwrap_or("(default site)"),
                x.tenant_id,
                c.technicians,
                c.end_users,
                c.service_accounts,
                c.deactivated
            );
        }
    }
    let _ = writeln!(
        s,
        "\nMatching ({}):",
        match p.matching.basis {
            MatchBasis::ExistingUsers => "against the service desk's users",
            MatchBasis::KeysOnly => "first sync: by the fields each user has",
        }
    );
    for r in &p.matching.by_rule {
        let _ = writeln!(
            s,
            "  {:>7}  by {} ({})",
            r.users,
            r.rule.label(),
            r.attribute
        );
    }
    let _ = writeln!(s, "  {:>7}  match nobody", p.matching.unmatched);
    if p.duplicates.emails > 0 {
        let _ = writeln!(
            s,
            "\n{} email addresses are shared by {} users, e.g.:",
            p.duplicates.emails, p.duplicates.users
        );
        for d in p.duplicates.examples.iter().take(5) {
            let _ = writeln!(s, "  {}: {}", d.email, d.users.join(", "));
        }
    }
    if !p.findings.is_empty() {
        let _ = writeln!(s);
    }
    for f in &p.findings {
        let sev = match f.severity {
            Severity::Error => "ERROR",
            Severity::Warning => "warning",
            Severity::Info => "info",
        };
        let _ = writeln!(s, "{sev} [{}] {}\n    Fix: {}", f.id, f.message, f.fix);
        if let Some(u) = &f.consent_url {
            let _ = writeln!(s, "    Consent link: {u}");
        }
    }
    let _ = writeln!(
        s,
        "\n{} Graph requests, {} throttling waits, {} ms.",
        p.requests, p.throttled, p.elapsed_ms
    );
    s
}

/// The desktop's "Preview the sync": every tenant the profile reads, each with an app-only
/// token from `credential`, Graph where the profile's cloud (or loopback sandbox) has it.
/// Rows are kept for the CSV export.
pub async fn run_for_profile(
    profile: &Profile,
    credential: &ClientCredential,
    progress: Option<PreviewProgressFn>,
    cancel: &CancellationToken,
) -> Result<SyncPreview, PreviewError> {
    // Step 1 is resolved once: the tenants, their tokens and the preview use this plan.
    let plan = crate::plan::plan(profile);
    let mut targets = Vec::new();
    for t in preview_tenants(profile, &plan.basics) {
        let client = app_only_client(profile, &plan.basics, &t, credential).await?;
        targets.push(PreviewTenant {
            tenant_id: t,
            client,
        });
    }
    if targets.is_empty() {
        return Err(PreviewError::Profile(
            "tenant_id: no tenant to read; enter the directory (tenant) ID in step 1 (CSP: add site mappings or allowed tenants)".into(),
        ));
    }
    preview_planned(
        profile,
        &plan,
        &targets,
        &PreviewOptions::default(),
        progress,
        cancel,
    )
    .await
}
