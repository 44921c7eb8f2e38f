//! Step 5 — the customer consent tracker for partners (CSP / GDAP).
//!
//! Under GDAP, membership of AdminAgents no longer gives the app access to customer
//! tenants: each customer tenant must consent to it. The tracker keeps the list of
//! customer tenants in the profile ([`Profile::customer_tenants`]) with each one's last
//! consent result, builds one consent link per tenant, and exports the table.
//!
//! **Import** ([`parse_tenant_list`]): pasted text or a CSV file, comma-, semicolon- or
//! tab-separated (guessed from the first line), RFC 4180 quoting. A header row is optional
//! and recognised by its names (`Tenant ID`, `Customer ID`, `Microsoft ID`, `Domain`,
//! `Primary domain`, `Name`, `Company name`, …); without one, the first cell that is a
//! tenant ID (GUID) or a domain is the tenant and the next non-empty cell the name.
//! Rows that are not usable — empty, no GUID or domain, a duplicate — are listed with their
//! line numbers and a reason; every good row is kept. Lines that are entirely blank are
//! skipped without comment.
//!
//! **Export** ([`export_csv`]): RFC 4180 (CRLF, quotes doubled, fields quoted when needed),
//! and every cell that a spreadsheet would run as a formula (starting with `=`, `+`, `-`,
//! `@`, tab or carriage return) is prefixed with `'` (OWASP "CSV injection").
//!
//! **Allowed tenants** ([`add_consented_to_allowed`]): the consented tenants' GUIDs go into
//! `allowed_tenants` (multi-tenant apps with a restricted sign-in scope). For a row
//! imported as a domain, the GUID is the one Entra named in the consent redirect; the
//! redirect carried this attempt's random `state`, so only the admin's own browser could
//! have produced it, and the summary says which GUIDs came from a redirect so the admin
//! can compare them with Partner Center.
//!
//! Left out: fetching the customer list from Partner Center (needs a Partner Center app
//! and GDAP roles this wizard does not ask for), and resolving domains to tenant IDs over
//! the network before consent.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::ids::parse_guid;
use crate::profile::{ConsentStatus, CustomerTenant, Profile};
use crate::steps::basics;
use crate::steps::consent::LINK_STATE;
use crate::target::{Target, TenantSegment};
use crate::validation::Issues;

/// Largest import accepted, in bytes (500 tenants with names are ~50 KB).
pub const MAX_INPUT_BYTES: usize = 4 * 1024 * 1024;
/// Most tenant rows kept from one import; further rows are listed as refused.
pub const MAX_ROWS: usize = 5000;
/// Longest customer name kept.
pub const MAX_NAME_CHARS: usize = 200;

/// A good row of an import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct TenantRow {
    /// Line number in the input (1-based; where the row starts).
    pub line: usize,
    /// Tenant ID (lower-case GUID) or domain (lower case).
    pub tenant: String,
    /// True when `tenant` is a GUID, false for a domain.
    pub is_guid: bool,
    /// Customer name, when the row has one.
    pub name: Option<String>,
}

/// A refused row of an import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct RejectedRow {
    /// Line number in the input (1-based).
    pub line: usize,
    /// The row as read (cells joined by `, `, cut at 120 characters).
    pub text: String,
    /// Stable code: `tenants.empty`, `tenants.not_tenant`, `tenants.duplicate`,
    /// `tenants.too_many`, `tenants.malformed`.
    pub code: String,
    /// Why, for the admin.
    pub reason: String,
}

/// The result of an import: good rows and refused rows, both in input order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct TenantImport {
    /// Rows to keep.
    pub rows: Vec<TenantRow>,
    /// Rows refused, with line numbers.
    pub rejected: Vec<RejectedRow>,
    /// True when the first line was taken as a header.
    pub header: bool,
}

/// An import that cannot be read at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TenantsError {
    /// More than [`MAX_INPUT_BYTES`].
    #[error(
        "the list is {0} bytes; the most accepted is 4 MB. Split it, or check that this is the customer list"
    )]
    TooLarge(usize),
    /// Nothing usable and nothing refused: the input is empty.
    #[error("the list is empty; paste one tenant ID or domain per line, or choose a CSV file")]
    Empty,
}

impl TenantsError {
    /// Stable code for the UI.
    pub fn code(&self) -> &'static str {
        match self {
            TenantsError::TooLarge(_) => "tenants.too_large",
            TenantsError::Empty => "tenants.empty_input",
        }
    }
}

/// The comparison key of a tenant: the canonical GUID, or the lower-case domain without a
/// trailing dot.
pub fn tenant_key(t: &str) -> String {
    parse_guid(t).unwrap_or_else(|| t.trim().trim_end_matches('.').to_ascii_lowercase())
}

/// `Some((canonical, is_guid))` when `cell` is a tenant ID or a domain: the same rule and
/// spelling as a tenant in a link ([`TenantSegment::tenant`]).
fn as_tenant(cell: &str) -> Option<(String, bool)> {
    let segment = TenantSegment::tenant(cell)?;
    Some((segment.as_str().to_string(), parse_guid(cell).is_some()))
}

fn clean_name(s: &str) -> Option<String> {
    // A CSV cell: no control or bidi characters reach the tracker, the CLI or the export.
    let s = crate::text::clean(s);
    let s = s.trim();
    (!s.is_empty()).then(|| s.chars().take(MAX_NAME_CHARS).collect())
}

fn norm_header(s: &str) -> String {
    s.chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_ascii_lowercase()
}

const ID_HEADERS: &[&str] = &[
    "tenantid",
    "tenant",
    "customerid",
    "customertenantid",
    "microsoftid",
    "directoryid",
    "id",
];
const DOMAIN_HEADERS: &[&str] = &[
    "domain",
    "domainname",
    "primarydomain",
    "primarydomainname",
    "defaultdomain",
    "tenantdomain",
];
const NAME_HEADERS: &[&str] = &[
    "name",
    "companyname",
    "customername",
    "customer",
    "company",
    "displayname",
    "organization",
    "organisation",
    "organizationname",
    "organisationname",
];

#[derive(Default)]
struct Columns {
    id: Option<usize>,
    domain: Option<usize>,
    name: Option<usize>,
}

fn header_columns(cells: &[String]) -> Option<Columns> {
    if cells.iter().any(|c| as_tenant(c).is_some()) {
        return None;
    }
    let mut cols = Columns::default();
    for (i, c) in cells.iter().enumerate() {
        let h = norm_header(c);
        if cols.id.is_none() && ID_HEADERS.contains(&h.as_str()) {
            cols.id = Some(i);
        } else if cols.domain.is_none() && DOMAIN_HEADERS.contains(&h.as_str()) {
            cols.domain = Some(i);
        } else if cols.name.is_none() && NAME_HEADERS.contains(&h.as_str()) {
            cols.name = Some(i);
        }
    }
    (cols.id.is_some() || cols.domain.is_some()).then_some(cols)
}

fn sniff_delimiter(text: &str) -> u8 {
    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    if first.contains('\t') {
        b'\t'
    } else if first.matches(';').count() > first.matches(',').count() {
        b';'
    } else {
        b','
    }
}

fn shown(cells: &[String]) -> String {
    let s = cells.join(", ");
    if s.chars().count() > 120 {
        format!("{}…", s.chars().take(119).collect::<String>())
    } else {
        s
    }
}

/// Parses a pasted list or CSV of customer tenants (see the module docs).
pub fn parse_tenant_list(text: &str) -> Result<TenantImport, TenantsError> {
    if text.len() > MAX_INPUT_BYTES {
        return Err(TenantsError::TooLarge(text.len()));
    }
    let text = text.strip_prefix('\u{feff}').unwrap_or(text); // Excel's UTF-8 BOM
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(sniff_delimiter(text))
        .from_reader(text.as_bytes());
    let mut out = TenantImport::default();
    let mut columns: Option<Columns> = None;
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut first = true;
    // The csv crate's own line numbers miss blank lines and CRLF ends, so the line is
    // counted from the record's byte offset: past any line breaks the reader skipped, then
    // the newlines before it (counted incrementally; records come in order).
    let bytes = text.as_bytes();
    let (mut counted_to, mut newlines) = (0usize, 0usize);
    let mut line_at = |byte: u64| -> usize {
        let mut at = (byte as usize).min(bytes.len());
        while at < bytes.len() && matches!(bytes[at], b'\r' | b'\n') {
            at += 1;
        }
        if at >= counted_to {
            newlines += bytes[counted_to..at]
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
            counted_to = at;
        }
        newlines + 1
    };
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| line_at(p.byte()));
                out.rejected.push(RejectedRow {
                    line,
                    text: String::new(),
                    code: "tenants.malformed".into(),
                    reason: format!("this line cannot be read as CSV: {e}"),
                });
                continue;
            }
        };
        let line = record.position().map_or(0, |p| line_at(p.byte()));
        let cells: Vec<String> = record.iter().map(|c| c.trim().to_string()).collect();
        if cells.len() == 1 && cells[0].is_empty() {
            continue; // a blank line
        }
        if first {
            first = false;
            if let Some(cols) = header_columns(&cells) {
                columns = Some(cols);
                out.header = true;
                continue;
            }
        }
        let reject = |code: &str, reason: String| RejectedRow {
            line,
            text: shown(&cells),
            code: code.into(),
            reason,
        };
        if cells.iter().all(String::is_empty) {
            out.rejected.push(reject(
                "tenants.empty",
                "the row is empty (only separators)".into(),
            ));
            continue;
        }
        let found = match &columns {
            Some(cols) => {
                let cell = |i: Option<usize>| {
                    i.and_then(|i| cells.get(i))
                        .map(String::as_str)
                        .unwrap_or("")
                };
                let (id, domain) = (cell(cols.id), cell(cols.domain));
                let name = clean_name(cell(cols.name));
                if !id.is_empty() {
                    // A domain in the ID column is still a tenant the admin meant.
                    match as_tenant(id) {
                        Some((t, g)) => Ok((t, g, name)),
                        None => Err(format!(
                            "'{}' is not a tenant ID (GUID) or a domain such as contoso.onmicrosoft.com",
                            shown(&[id.to_string()])
                        )),
                    }
                } else if !domain.is_empty() {
                    match as_tenant(domain) {
                        Some((d, g)) => Ok((d, g, name)),
                        None => Err(format!(
                            "'{}' is not a domain such as contoso.onmicrosoft.com",
                            shown(&[domain.to_string()])
                        )),
                    }
                } else {
                    Err("the row has no tenant ID or domain".to_string())
                }
            }
            None => positional(&cells),
        };
        let (tenant, is_guid, name) = match found {
            Ok(t) => t,
            Err(reason) => {
                out.rejected.push(reject("tenants.not_tenant", reason));
                continue;
            }
        };
        if let Some(&earlier) = seen.get(&tenant) {
            out.rejected.push(reject(
                "tenants.duplicate",
                format!("{tenant} is already on line {earlier}"),
            ));
            continue;
        }
        if out.rows.len() >= MAX_ROWS {
            out.rejected.push(reject(
                "tenants.too_many",
                format!("only the first {MAX_ROWS} tenants of one import are kept"),
            ));
            continue;
        }
        seen.insert(tenant.clone(), line);
        out.rows.push(TenantRow {
            line,
            tenant,
            is_guid,
            name,
        });
    }
    if out.rows.is_empty() && out.rejected.is_empty() {
        return Err(TenantsError::Empty);
    }
    Ok(out)
}

/// A row without a header: the first tenant-like cell (or the first word of a cell, for
/// space-separated pastes) is the tenant; the first other non-empty cell the name.
fn positional(cells: &[String]) -> Result<(String, bool, Option<String>), String> {
    for (i, c) in cells.iter().enumerate() {
        let (tenant, rest) = match as_tenant(c) {
            Some(t) => (t, None),
            None => match c.split_once(char::is_whitespace) {
                Some((head, rest)) => match as_tenant(head) {
                    Some(t) => (t, clean_name(rest)),
                    None => continue,
                },
                None => continue,
            },
        };
        let name = rest.or_else(|| {
            cells
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .find_map(|(_, c)| clean_name(c))
        });
        return Ok((tenant.0, tenant.1, name));
    }
    let first = cells
        .iter()
        .find(|c| !c.is_empty())
        .cloned()
        .unwrap_or_default();
    Err(format!(
        "'{}' is not a tenant ID (GUID) or a domain such as contoso.onmicrosoft.com",
        shown(&[first])
    ))
}

/// What [`add_tenants`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct MergeSummary {
    /// Tenants added to the tracker.
    pub added: usize,
    /// Tenants that were already in it (their status is kept).
    pub already_present: Vec<String>,
}

/// Adds imported rows to the profile's tracker. Tenants already tracked keep their status
/// (a name is filled in if they had none).
pub fn add_tenants(p: &mut Profile, rows: &[TenantRow]) -> MergeSummary {
    let mut index: HashMap<String, usize> = p
        .customer_tenants
        .iter()
        .enumerate()
        .map(|(i, t)| (tenant_key(&t.tenant), i))
        .collect();
    let mut summary = MergeSummary::default();
    for row in rows {
        let key = tenant_key(&row.tenant);
        if let Some(&i) = index.get(&key) {
            let existing = &mut p.customer_tenants[i];
            if existing.name.is_none() {
                existing.name = row.name.clone();
            }
            summary.already_present.push(row.tenant.clone());
            continue;
        }
        index.insert(key, p.customer_tenants.len());
        p.customer_tenants.push(CustomerTenant {
            tenant: row.tenant.clone(),
            name: row.name.clone(),
            consent: Default::default(),
        });
        summary.added += 1;
    }
    summary
}

/// Removes a tenant from the tracker; true when it was there.
pub fn remove_tenant(p: &mut Profile, tenant: &str) -> bool {
    let key = tenant_key(tenant);
    let before = p.customer_tenants.len();
    p.customer_tenants.retain(|t| tenant_key(&t.tenant) != key);
    p.customer_tenants.len() != before
}

/// One line of the tracker table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct TrackerRow {
    /// Tenant ID or domain.
    pub tenant: String,
    /// Customer name.
    pub name: Option<String>,
    /// Pending, consented, declined or failed.
    pub status: ConsentStatus,
    /// The tenant GUID Entra named when consent was captured.
    pub tenant_id: Option<String>,
    /// AADSTS code of the last failure.
    pub aadsts: Option<u32>,
    /// What to do about the last failure.
    pub hint: Option<String>,
    /// Entra's description of the last failure.
    pub message: Option<String>,
    /// When the status was recorded.
    pub updated_at: Option<DateTime<Utc>>,
    /// The consent link to send to this customer's admin (returns to the service desk);
    /// `None` until steps 1–2 allow one.
    pub consent_url: Option<String>,
}

/// Counts per status.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct TrackerCounts {
    /// Not yet consented (or no answer came back).
    pub pending: usize,
    /// Consented.
    pub consented: usize,
    /// Declined.
    pub declined: usize,
    /// Failed.
    pub failed: usize,
}

/// The tracker table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct Tracker {
    /// One row per customer tenant, in the profile's order.
    pub rows: Vec<TrackerRow>,
    /// Counts per status.
    pub counts: TrackerCounts,
    /// How many tenants a retry ([`Selection::Failed`]: failed or declined) goes through.
    pub retryable: usize,
    /// Why there are no links yet (what to fix in steps 1–2).
    pub links_unavailable: Option<String>,
}

/// The link builder for one profile: what every per-tenant link shares, computed once.
pub struct LinkBuilder {
    target: Target,
    client: crate::ids::ClientId,
    redirect_uri: String,
}

impl LinkBuilder {
    /// `Err(why)` while the profile cannot have consent links (no valid client ID, or no
    /// service-desk redirect URI).
    pub fn new(p: &Profile) -> Result<LinkBuilder, String> {
        let mut issues = Issues::default();
        let b = basics::check(p, &mut issues);
        let client = b
            .client_id
            .clone()
            .ok_or("the Application (client) ID in step 1 is missing or not a GUID")?;
        let target = b
            .target
            .clone()
            .ok_or("the login host override in step 1 is not allowed (see its error)")?;
        let redirects = crate::steps::redirects::derive(p, &b, &mut issues);
        // The CSP integration's own redirect URI when there is one (it is the CSP app the
        // customers consent to), else the first service-desk one, as in step 4.
        use crate::steps::redirects::RedirectPurpose;
        let redirect = redirects
            .iter()
            .find(|r| r.purposes.contains(&RedirectPurpose::Csp))
            .or_else(|| {
                redirects
                    .iter()
                    .find(|r| !r.purposes.contains(&RedirectPurpose::WizardTest))
            })
            .ok_or(
                "there is no service-desk redirect URI yet (agent URL and features in step 1)",
            )?;
        Ok(LinkBuilder {
            target,
            client,
            redirect_uri: redirect.uri.clone(),
        })
    }

    /// The admin-consent link for one customer tenant; `None` unless `tenant` is a GUID
    /// or a domain (a row from an old file or a hand-edited profile gets no link rather
    /// than a link with its text spliced into the path).
    pub fn link(&self, tenant: &str) -> Option<String> {
        let segment = TenantSegment::tenant(tenant)?;
        Some(
            self.target
                .admin_consent(&segment, &self.client, &self.redirect_uri, LINK_STATE)
                .to_string(),
        )
    }
}

/// The tracker table of `p`.
pub fn tracker(p: &Profile) -> Tracker {
    let links = LinkBuilder::new(p);
    let mut counts = TrackerCounts::default();
    let rows = p
        .customer_tenants
        .iter()
        .map(|t| {
            match t.consent.status {
                ConsentStatus::Pending => counts.pending += 1,
                ConsentStatus::Consented => counts.consented += 1,
                ConsentStatus::Declined => counts.declined += 1,
                ConsentStatus::Failed => counts.failed += 1,
            }
            // Names and messages come from a CSV, a profile file or Entra: cleaned for
            // the table, the CLI and the export (the stored profile is left as it is).
            let show =
                |s: &Option<String>| s.as_deref().map(|v| crate::text::clean(v).into_owned());
            TrackerRow {
                tenant: t.tenant.clone(),
                name: show(&t.name),
                status: t.consent.status,
                tenant_id: show(&t.consent.tenant_id),
                aadsts: t.consent.aadsts,
                hint: show(&t.consent.hint),
                message: show(&t.consent.message),
                updated_at: t.consent.at,
                consent_url: links.as_ref().ok().and_then(|l| l.link(&t.tenant)),
            }
        })
        .collect();
    Tracker {
        rows,
        counts,
        retryable: select(p, &Selection::Failed).len(),
        links_unavailable: links.err(),
    }
}

/// Which tenants a consent run goes through. The app sends it as `"pending"`,
/// `"failed"`, `"notConsented"`, `"all"` or `{"one": "<tenant>"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub enum Selection {
    /// Every tenant.
    All,
    /// Those not consented and not attempted (pending).
    Pending,
    /// Those that failed or were declined (retry).
    Failed,
    /// Every tenant that is not consented yet (pending, declined, failed).
    NotConsented,
    /// One tenant.
    One(String),
}

/// The tenants of `p` that `s` selects, in the profile's order.
pub fn select(p: &Profile, s: &Selection) -> Vec<String> {
    p.customer_tenants
        .iter()
        .filter(|t| match s {
            Selection::All => true,
            Selection::Pending => t.consent.status == ConsentStatus::Pending,
            Selection::Failed => matches!(
                t.consent.status,
                ConsentStatus::Failed | ConsentStatus::Declined
            ),
            Selection::NotConsented => t.consent.status != ConsentStatus::Consented,
            Selection::One(one) => tenant_key(one) == tenant_key(&t.tenant),
        })
        .map(|t| t.tenant.clone())
        .collect()
}

/// The error codes after which a consent run over several tenants goes on to the next
/// tenant; after any other error it stops. No answer in time (`loopback.timeout`: the
/// customer's admin closed the tab or is away) leaves that tenant pending and is worth
/// skipping. A cancel (`loopback.cancelled`) is the partner asking to stop, and any other
/// failure — the listener cannot bind, the browser will not start, the profile cannot make
/// links — would fail the same way for every tenant left. Answers from Entra (consented,
/// declined, failed with an AADSTS code) are not errors: they are recorded and the run
/// goes on. The CLI (`tenants consent`) and the app follow this one list.
pub const CONSENT_RUN_GOES_ON_AFTER: [&str; 1] = ["loopback.timeout"];

/// True when a consent run goes on to the next tenant after a capture failed with `code`
/// (see [`CONSENT_RUN_GOES_ON_AFTER`]).
pub fn consent_run_goes_on_after(code: &str) -> bool {
    CONSENT_RUN_GOES_ON_AFTER.contains(&code)
}

/// Guards a cell against spreadsheet formula injection (see the module docs).
pub fn guard_cell(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

/// The tracker as CSV (RFC 4180, CRLF, with a header row).
pub fn export_csv(p: &Profile) -> String {
    let t = tracker(p);
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .quote_style(csv::QuoteStyle::Necessary)
        .from_writer(Vec::new());
    let header = [
        "tenant",
        "name",
        "status",
        "tenant_id",
        "aadsts",
        "hint",
        "message",
        "updated_at",
        "consent_link",
    ];
    w.write_record(header).expect("writing to memory");
    for r in &t.rows {
        let status = match r.status {
            ConsentStatus::Pending => "pending",
            ConsentStatus::Consented => "consented",
            ConsentStatus::Declined => "declined",
            ConsentStatus::Failed => "failed",
        };
        let cells = [
            r.tenant.clone(),
            r.name.clone().unwrap_or_default(),
            status.to_string(),
            r.tenant_id.clone().unwrap_or_default(),
            r.aadsts.map(|c| format!("AADSTS{c}")).unwrap_or_default(),
            r.hint.clone().unwrap_or_default(),
            r.message.clone().unwrap_or_default(),
            r.updated_at
                .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                .unwrap_or_default(),
            r.consent_url.clone().unwrap_or_default(),
        ];
        w.write_record(cells.iter().map(|c| guard_cell(c)))
            .expect("writing to memory");
    }
    String::from_utf8(w.into_inner().expect("writing to memory")).expect("CSV of UTF-8 is UTF-8")
}

/// What [`add_consented_to_allowed`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct AllowSummary {
    /// Tenant IDs added to `allowed_tenants`.
    pub added: Vec<String>,
    /// Of those, the ones taken from the consent redirect (rows imported as a domain).
    pub from_consent_redirect: Vec<String>,
    /// Consented tenants already allowed.
    pub already_allowed: usize,
    /// Consented domain rows whose tenant ID is not known (nothing added for them).
    pub unresolved_domains: Vec<String>,
}

/// Adds every consented customer tenant's ID to `allowed_tenants` (see the module docs).
pub fn add_consented_to_allowed(p: &mut Profile) -> AllowSummary {
    let mut allowed: Vec<String> = p
        .allowed_tenants
        .iter()
        .filter_map(|t| parse_guid(t))
        .collect();
    let mut s = AllowSummary::default();
    for t in &p.customer_tenants {
        if t.consent.status != ConsentStatus::Consented {
            continue;
        }
        let (id, from_redirect) = match parse_guid(&t.tenant) {
            Some(g) => (g, false),
            None => match t.consent.tenant_id.as_deref().and_then(parse_guid) {
                Some(g) => (g, true),
                None => {
                    s.unresolved_domains.push(t.tenant.clone());
                    continue;
                }
            },
        };
        if allowed.contains(&id) {
            s.already_allowed += 1;
            continue;
        }
        allowed.push(id.clone());
        p.allowed_tenants.push(id.clone());
        if from_redirect {
            s.from_consent_redirect.push(id.clone());
        }
        s.added.push(id);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::ConsentRecord;

    const A: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
    const B: &str = "99999999-8888-4777-8666-555555555555";

    fn codes(i: &TenantImport) -> Vec<(usize, &str)> {
        i.rejected
            .iter()
            .map(|r| (r.line, r.code.as_str()))
            .collect()
    }

    #[test]
    fn a_pasted_list_one_per_line() {
        let i = parse_tenant_list(&format!(
            "{A}\n\nContoso.OnMicrosoft.com\n  {{{}}}  \nnot a tenant\n{A}\n",
            B.to_uppercase()
        ))
        .unwrap();
        assert!(!i.header);
        let got: Vec<(usize, &str, bool)> = i
            .rows
            .iter()
            .map(|r| (r.line, r.tenant.as_str(), r.is_guid))
            .collect();
        assert_eq!(
            got,
            [
                (1, A, true),
                (3, "contoso.onmicrosoft.com", false),
                (4, B, true)
            ]
        );
        assert_eq!(
            codes(&i),
            [(5, "tenants.not_tenant"), (6, "tenants.duplicate")]
        );
        assert!(
            i.rejected[1].reason.contains("line 1"),
            "{:?}",
            i.rejected[1]
        );
    }

    #[test]
    fn csv_with_a_header_in_any_column_order() {
        let csv = format!(
            "Company name,Primary domain,Microsoft ID\r\n\
             \"Contoso, Ltd\",contoso.com,{A}\r\n\
             Fabrikam,fabrikam.com,\r\n\
             Broken,,not-a-guid\r\n\
             ,,\r\n\
             \"Quoted \"\"Name\"\"\",,{B}\r\n"
        );
        let i = parse_tenant_list(&csv).unwrap();
        assert!(i.header);
        let got: Vec<(usize, &str, Option<&str>)> = i
            .rows
            .iter()
            .map(|r| (r.line, r.tenant.as_str(), r.name.as_deref()))
            .collect();
        assert_eq!(
            got,
            [
                (2, A, Some("Contoso, Ltd")),
                (3, "fabrikam.com", Some("Fabrikam")),
                (6, B, Some("Quoted \"Name\""))
            ]
        );
        assert_eq!(codes(&i), [(4, "tenants.not_tenant"), (5, "tenants.empty")]);
        assert!(i.rejected[0].reason.contains("not-a-guid"));
    }

    #[test]
    fn semicolons_tabs_and_name_first() {
        let i = parse_tenant_list(&format!("Contoso;{A}\nFabrikam;fabrikam.com\n")).unwrap();
        assert_eq!(i.rows[0].name.as_deref(), Some("Contoso"));
        assert_eq!(i.rows[1].tenant, "fabrikam.com");
        let i = parse_tenant_list(&format!("{A}\tContoso Ltd\n")).unwrap();
        assert_eq!(i.rows[0].name.as_deref(), Some("Contoso Ltd"));
        // space-separated paste: tenant then name
        let i = parse_tenant_list(&format!("{A}   Contoso Ltd\n")).unwrap();
        assert_eq!(
            (i.rows[0].tenant.as_str(), i.rows[0].name.as_deref()),
            (A, Some("Contoso Ltd"))
        );
    }

    #[test]
    fn multi_line_quoted_cells_keep_the_right_line_numbers() {
        let i = parse_tenant_list(&format!("\"Contoso\nLtd\",{A}\nbad,row\n{B},x\n")).unwrap();
        assert_eq!(i.rows[0].line, 1);
        assert_eq!(
            i.rows[0].name.as_deref(),
            Some("Contoso Ltd"),
            "a line break in a name is shown as a space (crate::text::clean)"
        );
        assert_eq!(codes(&i), [(3, "tenants.not_tenant")]);
        assert_eq!(i.rows[1].line, 4);
        // Escape sequences and bidi overrides never reach the tracker or the terminal.
        let i = parse_tenant_list(&format!(
            "{A},\"\u{1b}]0;pwned\u{7}Fab\u{202E}moc.exe\u{2066}\u{1b}[2J\"\n"
        ))
        .unwrap();
        assert_eq!(i.rows[0].name.as_deref(), Some("]0;pwnedFabmoc.exe[2J"));
    }

    #[test]
    fn empty_and_oversized_inputs() {
        assert_eq!(
            parse_tenant_list("").unwrap_err().code(),
            "tenants.empty_input"
        );
        assert_eq!(
            parse_tenant_list("\n\n \n").unwrap_err().code(),
            "tenants.empty_input"
        );
        let big = "a".repeat(MAX_INPUT_BYTES + 1);
        assert_eq!(
            parse_tenant_list(&big).unwrap_err().code(),
            "tenants.too_large"
        );
        // reserved tenant words are not tenants
        let i = parse_tenant_list("common\norganizations\n").unwrap();
        assert_eq!(
            codes(&i),
            [(1, "tenants.not_tenant"), (2, "tenants.not_tenant")]
        );
        // a BOM from Excel is not part of the first cell
        let i = parse_tenant_list(&format!("\u{feff}Tenant ID\n{A}\n")).unwrap();
        assert!(i.header);
        assert_eq!(i.rows.len(), 1);
    }

    fn profile() -> Profile {
        Profile {
            tenant_id: A.into(),
            client_id: "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9".into(),
            agent_url: "https://acme.halopsa.com".into(),
            tenant_type: crate::profile::TenantType::Multi,
            features: crate::profile::Features {
                csp: true,
                import: false,
            },
            ..Profile::default()
        }
    }

    #[test]
    fn merging_keeps_status_and_tracker_builds_one_link_per_tenant() {
        let mut p = profile();
        let i = parse_tenant_list(&format!("{B},Fabrikam\ncontoso.com\n")).unwrap();
        assert_eq!(add_tenants(&mut p, &i.rows).added, 2);
        p.customer_tenants[0].consent.status = ConsentStatus::Consented;
        let again = parse_tenant_list(&format!("{B}\nnew.example.com\n")).unwrap();
        let s = add_tenants(&mut p, &again.rows);
        assert_eq!(
            (s.added, s.already_present.clone()),
            (1, vec![B.to_string()])
        );
        assert_eq!(
            p.customer_tenants[0].consent.status,
            ConsentStatus::Consented
        );
        let t = tracker(&p);
        assert_eq!(t.links_unavailable, None);
        assert_eq!(t.counts.consented, 1);
        assert_eq!(t.counts.pending, 2);
        let link = url::Url::parse(t.rows[1].consent_url.as_ref().unwrap()).unwrap();
        assert_eq!(link.path(), "/contoso.com/v2.0/adminconsent");
        let q: HashMap<String, String> = link.query_pairs().into_owned().collect();
        assert_eq!(q["client_id"], "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9");
        assert_eq!(
            q["redirect_uri"],
            "https://acme.halopsa.com/config/integrations/microsoftcsp"
        );
        assert!(remove_tenant(&mut p, "CONTOSO.COM"));
        assert_eq!(p.customer_tenants.len(), 2);
    }

    #[test]
    fn without_a_client_id_there_are_no_links_and_the_tracker_says_why() {
        let mut p = profile();
        p.client_id.clear();
        p.customer_tenants.push(CustomerTenant {
            tenant: B.into(),
            ..Default::default()
        });
        let t = tracker(&p);
        assert_eq!(t.rows[0].consent_url, None);
        assert!(t.links_unavailable.unwrap().contains("client"));
    }

    #[test]
    fn tracker_text_from_a_profile_file_is_cleaned() {
        let mut p = profile();
        p.customer_tenants = vec![CustomerTenant {
            tenant: B.into(),
            name: Some("Fab\u{202E}rikam\u{1b}[2J".into()),
            consent: ConsentRecord {
                status: ConsentStatus::Failed,
                message: Some("AADSTS90094:\u{1b}]0;x\u{7} no\r\nTrace ID: 1".into()),
                hint: Some("\u{2067}fix\u{2069}".into()),
                ..Default::default()
            },
        }];
        let row = &tracker(&p).rows[0];
        assert_eq!(row.name.as_deref(), Some("Fabrikam[2J"));
        assert_eq!(
            row.message.as_deref(),
            Some("AADSTS90094:]0;x no Trace ID: 1")
        );
        assert_eq!(row.hint.as_deref(), Some("fix"));
        assert!(!export_csv(&p).contains('\u{1b}'));
    }

    #[test]
    fn export_is_rfc4180_and_guards_formulas() {
        let mut p = profile();
        p.customer_tenants = vec![
            CustomerTenant {
                tenant: B.into(),
                name: Some("=HYPERLINK(\"http://evil\",\"x\")".into()),
                consent: ConsentRecord {
                    status: ConsentStatus::Failed,
                    aadsts: Some(90094),
                    message: Some("AADSTS90094: line one,\nline two".into()),
                    ..Default::default()
                },
            },
            CustomerTenant {
                tenant: "contoso.com".into(),
                name: Some("@SUM(A1) +1 -1".into()),
                ..Default::default()
            },
        ];
        let out = export_csv(&p);
        assert!(out.starts_with(
            "tenant,name,status,tenant_id,aadsts,hint,message,updated_at,consent_link\r\n"
        ));
        assert!(
            out.contains("\"'=HYPERLINK(\"\"http://evil\"\",\"\"x\"\")\""),
            "{out}"
        );
        assert!(out.contains(",'@SUM(A1) +1 -1,"), "{out}");
        // Shown on one line (cleaned like every tracker text), still quoted for its comma.
        assert!(out.contains("\"AADSTS90094: line one, line two\""), "{out}");
        // read back by a CSV reader: same number of fields everywhere
        let mut r = csv::ReaderBuilder::new().from_reader(out.as_bytes());
        let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), 2);
        assert!(rows.iter().all(|r| r.len() == 9));
        assert_eq!(&rows[0][2], "failed");
        assert_eq!(&rows[0][4], "AADSTS90094");
        assert!(rows.iter().all(|r| r[1].starts_with('\'')));
    }

    #[test]
    fn consented_tenants_go_to_allowed_tenants_once() {
        let mut p = profile();
        p.allowed_tenants = vec![A.to_uppercase()];
        let consented = |tenant: &str, id: Option<&str>| CustomerTenant {
            tenant: tenant.into(),
            name: None,
            consent: ConsentRecord {
                status: ConsentStatus::Consented,
                tenant_id: id.map(str::to_string),
                ..Default::default()
            },
        };
        p.customer_tenants = vec![
            consented(A, Some(A)),
            consented(B, Some(B)),
            consented("contoso.com", Some("11111111-2222-3333-4444-555555555555")),
            consented("fabrikam.com", None),
            CustomerTenant {
                tenant: "22222222-2222-3333-4444-555555555555".into(),
                ..Default::default()
            },
        ];
        let s = add_consented_to_allowed(&mut p);
        assert_eq!(s.added, [B, "11111111-2222-3333-4444-555555555555"]);
        assert_eq!(
            s.from_consent_redirect,
            ["11111111-2222-3333-4444-555555555555"]
        );
        assert_eq!(s.already_allowed, 1);
        assert_eq!(s.unresolved_domains, ["fabrikam.com"]);
        assert_eq!(p.allowed_tenants.len(), 3);
        let again = add_consented_to_allowed(&mut p);
        assert!(again.added.is_empty());
        assert_eq!(again.already_allowed, 3);
    }

    #[test]
    fn selections() {
        let mut p = profile();
        for (t, s) in [
            ("a.com", ConsentStatus::Pending),
            ("b.com", ConsentStatus::Consented),
            ("c.com", ConsentStatus::Declined),
            ("d.com", ConsentStatus::Failed),
        ] {
            p.customer_tenants.push(CustomerTenant {
                tenant: t.into(),
                name: None,
                consent: ConsentRecord {
                    status: s,
                    ..Default::default()
                },
            });
        }
        assert_eq!(select(&p, &Selection::Pending), ["a.com"]);
        assert_eq!(select(&p, &Selection::Failed), ["c.com", "d.com"]);
        assert_eq!(
            select(&p, &Selection::NotConsented),
            ["a.com", "c.com", "d.com"]
        );
        assert_eq!(select(&p, &Selection::One("B.COM".into())), ["b.com"]);
        assert_eq!(select(&p, &Selection::All).len(), 4);
        // The tracker's retry count is the retry selection's, declined included.
        assert_eq!(tracker(&p).retryable, 2);
    }

    #[test]
    fn the_app_sends_a_selection_as_a_name_or_one_tenant() {
        let parse = |j: &str| serde_json::from_str::<Selection>(j).unwrap();
        assert_eq!(parse(r#""pending""#), Selection::Pending);
        assert_eq!(parse(r#""failed""#), Selection::Failed);
        assert_eq!(parse(r#""notConsented""#), Selection::NotConsented);
        assert_eq!(parse(r#""all""#), Selection::All);
        assert_eq!(
            parse(r#"{"one":"contoso.com"}"#),
            Selection::One("contoso.com".into())
        );
        assert!(serde_json::from_str::<Selection>(r#""declined""#).is_err());
    }

    #[test]
    fn a_consent_run_skips_a_tenant_without_an_answer_and_stops_on_anything_else() {
        assert!(consent_run_goes_on_after("loopback.timeout"));
        for code in [
            "loopback.cancelled",
            "loopback.bind",
            "browser.launch",
            "consent_capture.profile",
            "consent_capture.bad_tenant",
            "",
        ] {
            assert!(!consent_run_goes_on_after(code), "{code}");
        }
    }
}
