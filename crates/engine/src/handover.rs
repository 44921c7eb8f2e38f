//! The handover report: one standalone HTML page per customer, saying what was configured
//! and what is left to do. The partner sends it to the customer (or prints it to PDF from
//! the app), so it is written for the customer's IT: plain headings, tables, no jargon
//! about the wizard itself.
//!
//! The page is inert by construction: no script, no external resource (fonts, images,
//! styles are inline), a Content-Security-Policy meta that forbids everything but inline
//! styles, every value cleaned of control and bidi characters and HTML-escaped (the page is
//! a maud template, checked at compile time; maud escapes whatever it splices in), and
//! URLs shown as text rather than links (a profile
//! is typed input; a `javascript:` agent URL must not become clickable). Print CSS gives A4
//! pages, repeated table headers, no dark backgrounds and no section split mid-table where
//! avoidable.
//!
//! It never contains a secret: only the credential's kind, expiry, thumbprints and at most
//! the first three characters of a client secret (Entra's own "hint"), even if a
//! hand-edited profile holds more.
//!
//! Deliberately left out: the certificate's file path on the partner's computer (meaningless
//! to the customer), the admin-consent and CSP script texts (they are for doing the work,
//! not for the record), and the plan's informational notes (only errors and warnings
//! become follow-ups).

use std::path::PathBuf;

use chrono::{DateTime, NaiveDate, Utc};
use maud::{DOCTYPE, Markup, PreEscaped, Render, html};

use crate::plan::{Plan, RedirectPurpose};
use crate::profile::{ConsentRecord, ConsentStatus, CredentialKind, Profile, TenantType};
use crate::steps::redirects::WIZARD_REDIRECT_URI;
use crate::target::is_loopback_authority as is_sandbox_authority;
use crate::validation::Severity;

/// Every value in the report: from the profile (names, tenants, Entra's words) — cleaned of
/// control and bidi characters ([`crate::text::clean`]), then HTML-escaped by maud.
struct Clean<'a>(&'a str);

impl Render for Clean<'_> {
    fn render_to(&self, buffer: &mut String) {
        crate::text::clean(self.0).render_to(buffer);
    }
}

/// How long before expiry the report asks for the credential to be rotated (the same lead
/// time as the calendar reminder and the dashboard's "rotate now" badge).
pub const ROTATE_DAYS_BEFORE_EXPIRY: i64 = crate::dashboard::EXPIRY_SOON_DAYS;

/// The exact Content-Security-Policy of the report: nothing may load, only inline styles
/// apply.
pub const REPORT_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'";

/// One thing to do after the handover.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowUp {
    /// Needs doing now (expired or overdue credential, failed consent, plan error).
    pub urgent: bool,
    /// What to do.
    pub text: String,
    /// How, or why.
    pub detail: Option<String>,
}

/// The date on which the credential should be replaced: 30 days before it expires (the
/// first representable day for an expiry at the very start of the calendar, which a
/// hand-edited profile can hold).
pub fn rotate_by(expires_on: NaiveDate) -> NaiveDate {
    expires_on
        .checked_sub_days(chrono::Days::new(ROTATE_DAYS_BEFORE_EXPIRY.unsigned_abs()))
        .unwrap_or(NaiveDate::MIN)
}

fn credential_label(kind: CredentialKind) -> &'static str {
    match kind {
        CredentialKind::None => "None chosen yet",
        CredentialKind::Secret => "Client secret",
        CredentialKind::Certificate => "Certificate",
        CredentialKind::Federated => "Federated identity credential (no secret)",
    }
}

fn status_label(s: ConsentStatus) -> &'static str {
    match s {
        ConsentStatus::Pending => "Pending",
        ConsentStatus::Consented => "Consented",
        ConsentStatus::Declined => "Declined",
        ConsentStatus::Failed => "Failed",
    }
}

fn purpose_label(p: RedirectPurpose) -> &'static str {
    match p {
        RedirectPurpose::AgentSso => "Agent sign-in",
        RedirectPurpose::UserSso => "Portal user sign-in",
        RedirectPurpose::Import => "User import",
        RedirectPurpose::Csp => "Microsoft CSP integration",
        RedirectPurpose::WizardTest => "Onboarding test only",
    }
}

/// At most the first three characters of a secret hint: Entra shows exactly that much, and
/// anything longer in a (hand-edited) profile could be the secret itself.
fn safe_hint(hint: &str) -> String {
    hint.trim().chars().take(3).collect()
}

/// Everything left to do, most urgent first within each kind, as of `today`.
pub fn follow_ups(profile: &Profile, plan: &Plan, today: NaiveDate) -> Vec<FollowUp> {
    let mut out = Vec::new();
    let c = &profile.credential;
    if is_sandbox_authority(profile.authority.as_deref().unwrap_or("")) {
        out.push(FollowUp {
            urgent: true,
            text: "Repeat the onboarding against the real Microsoft tenant.".into(),
            detail: Some(
                "This profile points at the practice sandbox on the partner's computer; nothing in this report exists in Microsoft Entra ID."
                    .into(),
            ),
        });
    }
    if profile.verified.is_none() {
        out.push(FollowUp {
            urgent: true,
            text: "Run the SSO test until it passes.".into(),
            detail: Some(
                "No passing sign-in test is recorded, so the connection is not proven yet.".into(),
            ),
        });
    }
    if matches!(c.kind, CredentialKind::Secret | CredentialKind::Certificate) {
        let what = if c.kind == CredentialKind::Secret {
            "client secret"
        } else {
            "certificate"
        };
        match c.expires_on {
            Some(exp) if exp < today => out.push(FollowUp {
                urgent: true,
                text: format!("The {what} expired on {exp}: replace it now."),
                detail: Some(
                    "Sign-in, user import and the CSP integration stop working when the credential expires (AADSTS7000222)."
                        .into(),
                ),
            }),
            Some(exp) => {
                let by = rotate_by(exp);
                out.push(FollowUp {
                    urgent: by <= today,
                    text: format!("Rotate the {what} by {by} (it expires on {exp})."),
                    detail: Some(format!(
                        "Add the new {what} to the app registration, update it in the service desk, then delete the old one."
                    )),
                });
            }
            None => out.push(FollowUp {
                urgent: false,
                text: format!("Record the {what}'s expiry date."),
                detail: Some(
                    "It is shown under Certificates & secrets on the app registration; without it nobody is reminded before it lapses."
                        .into(),
                ),
            }),
        }
    }
    if profile.features.csp {
        partner_center_follow_ups(profile, today, &mut out);
    }
    if plan.redirect_uris.iter().any(|r| r.remove_after_onboarding) {
        out.push(FollowUp {
            urgent: false,
            text: format!(
                "Remove the redirect URI {WIZARD_REDIRECT_URI} from the app registration."
            ),
            detail: Some(
                "It was only for the onboarding test (app registration > Authentication); the service desk does not use it."
                    .into(),
            ),
        });
    }
    let home = profile.admin_consent.clone().unwrap_or_default();
    let consents = std::iter::once(("the home tenant".to_string(), &home)).chain(
        profile.customer_tenants.iter().map(|t| {
            let who = match &t.name {
                Some(n) if !n.trim().is_empty() => format!("{} ({})", n.trim(), t.tenant),
                _ => t.tenant.clone(),
            };
            (who, &t.consent)
        }),
    );
    for (who, rec) in consents {
        let detail = consent_detail(rec);
        match rec.status {
            ConsentStatus::Consented => {}
            ConsentStatus::Pending => out.push(FollowUp {
                urgent: false,
                text: format!("Get admin consent for {who}."),
                detail: Some("No consent has been recorded for this tenant yet.".into()),
            }),
            ConsentStatus::Declined | ConsentStatus::Failed => out.push(FollowUp {
                urgent: true,
                text: format!(
                    "Admin consent for {who} was {}: resolve it and ask again.",
                    status_label(rec.status).to_lowercase()
                ),
                detail: (!detail.is_empty()).then_some(detail),
            }),
        }
    }
    for i in plan.issues.iter().filter(|i| i.severity != Severity::Info) {
        out.push(FollowUp {
            urgent: i.severity == Severity::Error,
            text: format!(
                "{} {}",
                if i.severity == Severity::Error {
                    "Fix:"
                } else {
                    "Check:"
                },
                i.message
            ),
            detail: Some(i.fix.clone()),
        });
    }
    // Stable: urgent ones first, the order above otherwise.
    out.sort_by_key(|f| !f.urgent);
    out
}

/// The Partner Center app's own credential: its expiry is separate from the main app's, and
/// Halo's "Token expiration" error does not say which app's secret lapsed.
fn partner_center_follow_ups(profile: &Profile, today: NaiveDate, out: &mut Vec<FollowUp>) {
    let c = &profile.partner_center.credential;
    let redo = "Create a new secret on the Partner Center app (single tenant), then in Halo's Microsoft CSP integration disconnect, enter it and Authorize Application again (Halo CSP guide: Token expiration).";
    match (c.kind, c.expires_on) {
        (CredentialKind::Secret | CredentialKind::Certificate, Some(exp)) if exp < today => out
            .push(FollowUp {
                urgent: true,
                text: format!(
                    "The Partner Center app's credential expired on {exp}: replace it now."
                ),
                detail: Some(redo.into()),
            }),
        (CredentialKind::Secret | CredentialKind::Certificate, Some(exp)) => {
            let by = rotate_by(exp);
            out.push(FollowUp {
                urgent: by <= today,
                text: format!(
                    "Rotate the Partner Center app's credential by {by} (it expires on {exp})."
                ),
                detail: Some(redo.into()),
            })
        }
        _ => {}
    }
}

/// CSP's two app registrations side by side, and the rules the Partner Center app's
/// authorisation depends on.
fn partner_center_section(plan: &Plan) -> Markup {
    let Some(pc) = &plan.partner_center else {
        return html! {};
    };
    html! {
        section {
            h2 { "Microsoft CSP: the two app registrations" }
            table {
                thead { tr { th { "" } @for a in &pc.apps { th { (Clean(&a.title)) } } } }
                tbody {
                    tr { th { "Application (client) ID" } @for a in &pc.apps { td { (or_dash(a.client_id.as_deref().unwrap_or(""))) } } }
                    tr { th { "Supported account types" } @for a in &pc.apps { td { (Clean(&a.account_type)) } } }
                    tr { th { "Redirect URI" } @for a in &pc.apps { td { @for u in &a.redirect_uris { (code(u)) br; } } } }
                    tr { th { "API permissions" } @for a in &pc.apps { td { @for x in &a.permissions { (Clean(x)) br; } } } }
                    tr { th { "Credential" } @for a in &pc.apps { td { (Clean(&a.credential)) } } }
                    tr { th { "In Halo" } @for a in &pc.apps { td { (Clean(&a.halo_section)) } } }
                }
            }
            p.muted { "Partner Center app rules:" }
            ul { @for r in &pc.rules { li { (Clean(&r.text)) } } }
        }
    }
}

fn consent_detail(rec: &ConsentRecord) -> String {
    let mut parts = Vec::new();
    if let Some(code) = rec.aadsts {
        parts.push(format!("AADSTS{code}"));
    }
    if let Some(e) = rec.error.as_deref().filter(|e| !e.is_empty()) {
        parts.push(e.to_string());
    }
    if let Some(h) = rec
        .hint
        .as_deref()
        .or(rec.message.as_deref())
        .filter(|h| !h.is_empty())
    {
        parts.push(h.to_string());
    }
    parts.join(" · ")
}

fn fmt_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn or_dash(s: &str) -> Markup {
    html! {
        @if s.trim().is_empty() { "—" } @else { (Clean(s.trim())) }
    }
}

/// Two-column table of facts; the values are markup already.
fn facts(rows: &[(&str, Markup)]) -> Markup {
    html! {
        table.facts { tbody {
            @for (k, v) in rows {
                tr { th scope="row" { (Clean(k)) } td { (v) } }
            }
        } }
    }
}

fn code(s: &str) -> Markup {
    html! {
        @if s.trim().is_empty() { "—" } @else { code { (Clean(s.trim())) } }
    }
}

const STYLE: &str = r#"
:root{--ink:#1b1f24;--muted:#57606a;--line:#d0d7de;--soft:#f6f8fa;--accent:#0a5cad;--ok:#1a7f37;--okbg:#dafbe1;--bad:#b42318;--badbg:#fee4e2;--warn:#8a5a00;--warnbg:#fff4d6}
*{box-sizing:border-box}
html{background:#fff;color:var(--ink)}
body{font:14px/1.5 "Segoe UI",system-ui,-apple-system,"Helvetica Neue",Arial,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1.5rem;background:#fff;color:var(--ink)}
header{border-bottom:3px solid var(--accent);padding-bottom:.75rem;margin-bottom:1.25rem}
header .kicker{color:var(--accent);font-weight:600;letter-spacing:.04em;text-transform:uppercase;font-size:.8rem;margin:0}
h1{font-size:1.7rem;margin:.2rem 0}
header .meta{color:var(--muted);margin:0}
h2{font-size:1.1rem;margin:1.75rem 0 .5rem;padding-bottom:.25rem;border-bottom:1px solid var(--line);break-after:avoid;page-break-after:avoid}
table{border-collapse:collapse;width:100%;margin:.25rem 0 .75rem}
th,td{text-align:left;vertical-align:top;padding:.35rem .5rem;border-bottom:1px solid var(--line)}
thead th{background:var(--soft);font-weight:600;border-bottom:2px solid var(--line)}
thead{display:table-header-group}
tr{break-inside:avoid;page-break-inside:avoid}
table.facts th{width:32%;font-weight:600;color:var(--muted)}
code{font:12.5px/1.4 ui-monospace,"Cascadia Mono",Consolas,Menlo,monospace;overflow-wrap:anywhere}
.summary{display:grid;grid-template-columns:repeat(auto-fit,minmax(11rem,1fr));gap:.75rem;margin:1rem 0}
.card{border:1px solid var(--line);border-radius:6px;padding:.6rem .8rem;break-inside:avoid;page-break-inside:avoid}
.card .label{color:var(--muted);font-size:.8rem;text-transform:uppercase;letter-spacing:.03em}
.card .value{font-size:1.05rem;font-weight:600}
.card .sub{display:block;font-size:.85rem;font-weight:400;color:var(--muted);overflow-wrap:anywhere}
.ok{color:var(--ok)}.bad{color:var(--bad)}.warn{color:var(--warn)}
.badge{display:inline-block;padding:0 .45rem;border-radius:999px;font-size:.8rem;font-weight:600;border:1px solid currentColor}
.badge.ok{background:var(--okbg)}.badge.bad{background:var(--badbg)}.badge.warn{background:var(--warnbg)}
.sandbox{border:3px solid var(--bad);background:var(--badbg);color:var(--bad);padding:.8rem 1rem;margin:0 0 1.25rem;border-radius:6px;font-size:1.35rem;font-weight:700;text-align:center;letter-spacing:.02em}
.sandbox small{display:block;font-size:.85rem;font-weight:400;color:var(--ink)}
ol.followups{padding-left:1.4rem}
ol.followups li{margin:.35rem 0;break-inside:avoid;page-break-inside:avoid}
ol.followups .detail{color:var(--muted)}
.screen-name{font-weight:600;background:var(--soft)}
.muted{color:var(--muted)}
footer{margin-top:2rem;padding-top:.6rem;border-top:1px solid var(--line);color:var(--muted);font-size:.8rem}
@page{size:A4;margin:16mm 14mm 18mm}
@media print{
 html,body{background:#fff !important;color:#000}
 body{max-width:none;margin:0;padding:0;font-size:10.5pt}
 header{border-bottom-color:#000}
 .summary{grid-template-columns:repeat(4,1fr)}
 section{break-inside:auto}
 section.keep{break-inside:avoid;page-break-inside:avoid}
 h2{margin-top:1.2rem}
 .sandbox{border-color:#000;color:#000;background:#fff}
 thead th,.screen-name{background:#fff;border-bottom:1.5pt solid #000}
 .badge{background:#fff !important}
 footer{position:static}
}
"#;

/// The handover report of `profile` (with its `plan`) as a standalone HTML page, dated
/// `now`, naming the app version that made it.
pub fn handover_html(
    profile: &Profile,
    plan: &Plan,
    now: DateTime<Utc>,
    app_version: &str,
) -> String {
    let today = now.date_naive();
    let name = if profile.name.trim().is_empty() {
        "Unnamed customer".to_string()
    } else {
        profile.name.trim().to_string()
    };
    let sandbox = is_sandbox_authority(profile.authority.as_deref().unwrap_or(""));
    let title = format!("Entra ID handover — {name} — {today}");
    // The line breaks between sections only make the saved file readable as text.
    html! {
        (DOCTYPE) "\n"
        html lang="en" {
            head {
                meta charset="utf-8";
                meta http-equiv="Content-Security-Policy" content=(REPORT_CSP);
                meta name="referrer" content="no-referrer";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="color-scheme" content="light";
                meta name="generator" content={ "Entra Onboard " (Clean(app_version)) };
                title { (Clean(&title)) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                "\n"
                @if sandbox {
                    div.sandbox role="alert" {
                        "SANDBOX — practice data, not a real tenant"
                        small { "This report was made against the practice sandbox on the partner's computer. Nothing in it exists in Microsoft Entra ID." }
                    }
                    "\n"
                }
                header {
                    p.kicker { "Microsoft Entra ID single sign-on · handover report" }
                    h1 { (Clean(&name)) }
                    p.meta { "Prepared " (Clean(&fmt_time(now))) " · service desk " (or_dash(&profile.agent_url)) }
                }
                "\n"
                (summary_section(profile, plan, today)) "\n"
                (tenant_section(profile, plan)) "\n"
                (service_desk_section(profile, plan)) "\n"
                (redirects_section(plan)) "\n"
                (credential_section(profile)) "\n"
                (rotations_section(profile)) "\n"
                (partner_center_section(plan)) "\n"
                (consent_section(profile)) "\n"
                (settings_section(plan)) "\n"
                (sso_test_section(profile)) "\n"
                (follow_ups_section(profile, plan, today)) "\n"
                footer {
                    "Generated by Entra Onboard " (Clean(app_version)) " on " (Clean(&fmt_time(now)))
                    ". This report contains no secrets or passwords: client secrets and certificate private keys stay with the service desk and the partner's keychain."
                }
                "\n"
            }
        }
        "\n"
    }
    .into_string()
}

/// The four cards at the top: SSO test, configuration errors, credential expiry, consent.
fn summary_section(profile: &Profile, plan: &Plan, today: NaiveDate) -> Markup {
    let count = |s: Severity| plan.issues.iter().filter(|i| i.severity == s).count();
    let (errors, warnings) = (count(Severity::Error), count(Severity::Warning));
    let c = &profile.credential;
    let verified_card = match &profile.verified {
        Some(v) => html! {
            span.ok { "Verified" }
            span.sub {
                (Clean(&fmt_time(v.verified_at)))
                @if let Some(u) = &v.signed_in_as { " as " (Clean(u)) }
            }
        },
        None => html! { span.bad { "NOT verified" } span.sub { "no passing SSO test" } },
    };
    let errors_card = html! {
        @if errors == 0 { span.ok { "None" } } @else { span.bad { (errors) " remaining" } }
        span.sub { (crate::wording::count_len(warnings, "warning")) }
    };
    let expiry_card = match (c.kind, c.expires_on) {
        (CredentialKind::Secret | CredentialKind::Certificate, Some(exp)) => {
            let days = (exp - today).num_days();
            let class = if days < 0 {
                "bad"
            } else if days <= ROTATE_DAYS_BEFORE_EXPIRY {
                "warn"
            } else {
                "ok"
            };
            html! {
                span class=(class) { (exp) }
                span.sub {
                    @if days < 0 { "expired " (crate::wording::count_of(days.unsigned_abs(), "day")) " ago" } @else { (crate::wording::count_of(days.unsigned_abs(), "day")) " left" }
                }
            }
        }
        (CredentialKind::Federated, _) => html! { "No expiry" span.sub { "federated credential" } },
        (CredentialKind::None, _) => html! { span.warn { "No credential" } },
        _ => html! { span.warn { "Not recorded" } },
    };
    let coverage = crate::dashboard::ConsentCoverage::of(profile);
    let consent_class = if coverage.declined + coverage.failed > 0 {
        "bad"
    } else if coverage.consented == coverage.total {
        "ok"
    } else {
        "warn"
    };
    let consent_card = html! {
        span class=(consent_class) { (coverage.consented) " of " (crate::wording::count_len(coverage.total, "tenant")) }
        span.sub { "consented" }
    };
    html! {
        section.keep aria-label="Status summary" { div.summary {
            @for (label, value) in [
                ("SSO test", verified_card),
                ("Configuration errors", errors_card),
                ("Credential expiry", expiry_card),
                ("Admin consent", consent_card),
            ] {
                div.card { div.label { (label) } div.value { (value) } }
            }
        } }
    }
}

fn tenant_section(profile: &Profile, plan: &Plan) -> Markup {
    let mut rows = vec![
        ("Microsoft cloud", html! { (Clean(&plan.cloud.label)) }),
        ("Directory (tenant) ID", code(&profile.tenant_id)),
        (
            "Tenant type",
            html! {
                @match profile.tenant_type {
                    TenantType::Single => "Single tenant (this organisation only)",
                    TenantType::Multi => "Multi-tenant (any organisation)",
                }
            },
        ),
        ("Application (client) ID", code(&profile.client_id)),
        ("Sign-in authority", code(&plan.authority)),
    ];
    if profile.tenant_type == TenantType::Multi && !profile.allowed_tenants.is_empty() {
        rows.push((
            "Tenants allowed to sign in",
            html! {
                @for (i, t) in profile.allowed_tenants.iter().enumerate() {
                    @if i > 0 { br; }
                    (code(t))
                }
            },
        ));
    }
    html! { section.keep { h2 { "Tenant and application" } (facts(&rows)) } }
}

fn service_desk_section(profile: &Profile, plan: &Plan) -> Markup {
    let who = match profile.sso_for {
        crate::profile::SsoFor::Agents => "Agents",
        crate::profile::SsoFor::Users => "Portal users",
        crate::profile::SsoFor::Both => "Agents and portal users",
    };
    let mut rows = vec![
        ("Agent application", code(&profile.agent_url)),
        (
            "Self-service portal",
            code(plan.effective_portal_url.as_deref().unwrap_or("")),
        ),
    ];
    if let Some(a) = profile.auth_url.as_deref().filter(|a| !a.trim().is_empty()) {
        rows.push(("Authorisation server", code(a)));
    }
    rows.push(("Signs in with Entra ID", html! { (who) }));
    let mut integrations = Vec::new();
    if profile.features.import {
        integrations.push("User import from Entra ID");
    }
    if profile.features.csp {
        integrations.push("Microsoft CSP");
    }
    rows.push((
        "Other integrations",
        html! {
            @if integrations.is_empty() { "None" } @else { (integrations.join(", ")) }
        },
    ));
    html! { section.keep { h2 { "Service desk" } (facts(&rows)) } }
}

fn redirects_section(plan: &Plan) -> Markup {
    html! {
        section {
            h2 { "Redirect URIs registered (platform: Web)" }
            @if plan.redirect_uris.is_empty() {
                p.muted { "None yet: the service desk address is missing or invalid." }
            } @else {
                table {
                    thead { tr { th scope="col" { "Redirect URI" } th scope="col" { "Used for" } th scope="col" { "Note" } } }
                    tbody {
                        @for r in &plan.redirect_uris {
                            @let purposes: Vec<&str> = r.purposes.iter().map(|p| purpose_label(*p)).collect();
                            tr {
                                td { (code(&r.uri)) }
                                td { (Clean(&purposes.join(", "))) }
                                td {
                                    @if r.remove_after_onboarding {
                                        span class="badge warn" { "Remove after onboarding" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn credential_section(profile: &Profile) -> Markup {
    let c = &profile.credential;
    let mut rows = vec![("Kind", html! { (credential_label(c.kind)) })];
    match c.kind {
        CredentialKind::Secret => {
            let hint = c.secret_hint.as_deref().map(safe_hint).unwrap_or_default();
            rows.push((
                "Secret hint",
                html! {
                    @if hint.is_empty() { "—" } @else {
                        (code(&hint)) "… "
                        span.muted { "(first characters only, as Entra lists them; the secret itself is not in this report)" }
                    }
                },
            ));
        }
        CredentialKind::Certificate => {
            rows.push((
                "Thumbprint (SHA-1)",
                code(c.thumbprint.as_deref().unwrap_or("")),
            ));
            rows.push((
                "Thumbprint (SHA-256)",
                code(c.thumbprint_sha256.as_deref().unwrap_or("")),
            ));
            if let Some(s) = c.certificate_subject.as_deref() {
                rows.push(("Subject", code(s)));
            }
            if let Some(b) = c.key_bits {
                rows.push(("Key", html! { "RSA " (b) " bits" }));
            }
        }
        CredentialKind::Federated => {
            if let Some(f) = &c.federated {
                rows.push(("Issuer", code(&f.issuer)));
                rows.push(("Subject", code(&f.subject)));
                rows.push((
                    "Audience",
                    code(
                        f.audience
                            .as_deref()
                            .unwrap_or(profile.cloud.token_exchange_audience()),
                    ),
                ));
            }
        }
        CredentialKind::None => {}
    }
    if matches!(c.kind, CredentialKind::Secret | CredentialKind::Certificate) {
        rows.push((
            "Expires",
            html! {
                @match c.expires_on {
                    Some(d) => (d),
                    None => span.warn { "Not recorded" },
                }
            },
        ));
        if let Some(exp) = c.expires_on {
            rows.push(("Rotate by", html! { (rotate_by(exp)) }));
        }
    }
    html! { section.keep { h2 { "Credential" } (facts(&rows)) } }
}

/// The credential rotations (issue 15): when, which app, who signed in, old → new hint or
/// thumbprint and Secret ID, the outcome — never a value. Nothing when there were none.
fn rotations_section(profile: &Profile) -> Markup {
    use crate::rotation::{CustomerApp, RotationOutcome};
    if profile.rotations.is_empty() && profile.rotation.is_none() {
        return html! {};
    }
    html! {
        section.keep {
            h2 { "Credential rotations" }
            @if let Some(r) = &profile.rotation {
                p.warn { "A rotation started " (Clean(&fmt_time(r.started_at))) " is still in progress: " (r.state.label()) "." }
            }
            @if !profile.rotations.is_empty() {
                table {
                    thead { tr { th { "When" } th { "App" } th { "Signed in as" } th { "Old" } th { "New" } th { "Outcome" } } }
                    tbody {
                        @for r in profile.rotations.iter().rev() {
                            tr {
                                td { (Clean(&fmt_time(r.at))) }
                                td { @match r.app { CustomerApp::Main => "Main app", CustomerApp::PartnerCenter => "Partner Center app" } }
                                td { (or_dash(r.signed_in_as.as_deref().unwrap_or(""))) }
                                td { (or_dash(r.old.as_deref().unwrap_or(""))) }
                                td { (or_dash(r.new.as_deref().unwrap_or(""))) }
                                td {
                                    @match r.outcome {
                                        RotationOutcome::Completed => {
                                            "Completed" @if let Some(d) = r.expires_on { " (expires " (d) ")" }
                                        }
                                        RotationOutcome::RolledBack => {
                                            "Rolled back" @if let Some(w) = &r.reason { ": " (Clean(w)) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn consent_section(profile: &Profile) -> Markup {
    let home = profile.admin_consent.clone().unwrap_or_default();
    let row = |who: Markup, rec: &ConsentRecord| {
        let class = match rec.status {
            ConsentStatus::Consented => "ok",
            ConsentStatus::Pending => "warn",
            _ => "bad",
        };
        html! {
            tr {
                td { (who) }
                td { span class={ "badge " (class) } { (status_label(rec.status)) } }
                td {
                    @match rec.at {
                        Some(t) => (Clean(&fmt_time(t))),
                        None => "—",
                    }
                }
                td { (or_dash(&consent_detail(rec))) }
            }
        }
    };
    html! {
        section {
            h2 { "Admin consent" }
            table {
                thead { tr { th scope="col" { "Tenant" } th scope="col" { "Status" } th scope="col" { "Recorded" } th scope="col" { "Details" } } }
                tbody {
                    (row(html! { "Home tenant" br; (code(&profile.tenant_id)) }, &home))
                    @for t in &profile.customer_tenants {
                        @let who = html! {
                            @match t.name.as_deref().filter(|n| !n.trim().is_empty()) {
                                Some(n) => { (Clean(n.trim())) br; (code(&t.tenant)) },
                                None => (code(&t.tenant)),
                            }
                        };
                        (row(who, &t.consent))
                    }
                }
            }
        }
    }
}

fn settings_section(plan: &Plan) -> Markup {
    // A row naming the screen before the first setting of each screen.
    let screen_starts =
        |i: usize| i == 0 || plan.settings_sheet[i - 1].screen != plan.settings_sheet[i].screen;
    html! {
        section {
            h2 { "Service desk SSO settings" }
            @if plan.settings_sheet.is_empty() {
                p.muted { "Not available until the configuration errors are fixed." }
            } @else {
                table {
                    thead { tr { th scope="col" { "Setting" } th scope="col" { "Value" } th scope="col" { "Note" } } }
                    tbody {
                        @for (i, r) in plan.settings_sheet.iter().enumerate() {
                            @if screen_starts(i) {
                                tr { td colspan="3" class="screen-name" { (Clean(&r.screen)) } }
                            }
                            tr {
                                td { (Clean(&r.setting)) }
                                td { (code(&r.value)) }
                                td.muted { @if let Some(n) = &r.note { (Clean(n)) } }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn sso_test_section(profile: &Profile) -> Markup {
    let body = match &profile.verified {
        Some(v) => {
            let mut rows = vec![
                ("Result", html! { span class="badge ok" { "Passed" } }),
                ("Tested", html! { (Clean(&fmt_time(v.verified_at))) }),
            ];
            if let Some(u) = &v.signed_in_as {
                rows.push(("Signed in as", html! { (Clean(u)) }));
            }
            html! {
                (facts(&rows))
                p.muted { "A real sign-in through Microsoft Entra ID returned valid ID tokens for this app, and the credential was accepted by the token endpoint." }
            }
        }
        None => html! {
            p { span class="badge bad" { "Not verified" } " No passing SSO test has been recorded for this connection." }
        },
    };
    html! { section.keep { h2 { "SSO test" } (body) } }
}

fn follow_ups_section(profile: &Profile, plan: &Plan, today: NaiveDate) -> Markup {
    let todo = follow_ups(profile, plan, today);
    html! {
        section {
            h2 { "Follow-ups" }
            @if todo.is_empty() {
                p.ok { "Nothing left to do." }
            } @else {
                ol.followups {
                    @for f in &todo {
                        li {
                            @if f.urgent { span class="badge bad" { "Now" } " " }
                            (Clean(&f.text))
                            @if let Some(d) = &f.detail { br; span.detail { (Clean(d)) } }
                        }
                    }
                }
            }
        }
    }
}

/// The report's file name without extension: `Entra handover - <customer> - <date>`.
pub fn report_file_stem(profile: &Profile, now: DateTime<Utc>) -> String {
    let name = if profile.name.trim().is_empty() {
        "customer"
    } else {
        profile.name.trim()
    };
    format!("Entra-handover-{}-{}", name, now.date_naive())
}

/// Writes the report of `profile` to the export folder ([`crate::exports`], normally
/// Downloads) under a new name; returns the path.
pub fn export_handover(
    profile: &Profile,
    now: DateTime<Utc>,
    app_version: &str,
) -> Result<PathBuf, HandoverError> {
    let html = handover_html(profile, &crate::plan(profile), now, app_version);
    crate::exports::write_export(&report_file_stem(profile, now), "html", html.as_bytes())
        .map_err(|e| HandoverError::Io(e.to_string()))
}

/// Writing the report failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HandoverError {
    /// The export folder or file could not be written.
    #[error("could not write the handover report: {0}")]
    Io(String),
}

impl HandoverError {
    /// Stable code for the UI.
    pub fn code(&self) -> &'static str {
        match self {
            HandoverError::Io(_) => "handover.io",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::{CustomerTenant, Verification};

    fn now() -> DateTime<Utc> {
        "2025-06-01T09:30:00Z".parse().unwrap()
    }

    fn acme() -> Profile {
        let mut p = Profile::new("Acme Corp");
        p.tenant_id = "72f988bf-86f1-41af-91ab-2d7cd011db47".into();
        p.client_id = "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9".into();
        p.agent_url = "https://acme.halopsa.com".into();
        p.credential.kind = CredentialKind::Certificate;
        p.credential.thumbprint = Some("A1B2C3D4E5F60718293A4B5C6D7E8F9012345678".into());
        p.credential.thumbprint_sha256 =
            Some("00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF".into());
        p.credential.expires_on = Some("2026-03-31".parse().unwrap());
        p.credential.certificate_file = Some("/home/partner/secret-place/acme.pfx".into());
        p.verified = Some(Verification {
            verified_at: "2025-05-30T14:05:00Z".parse().unwrap(),
            signed_in_as: Some("it-admin@acme.example".into()),
        });
        p
    }

    fn report(p: &Profile) -> String {
        handover_html(p, &crate::plan(p), now(), "1.2.3")
    }

    #[test]
    fn includes_what_was_configured_and_the_follow_ups() {
        let html = report(&acme());
        for needle in [
            "Acme Corp",
            "2025-06-01",
            "72f988bf-86f1-41af-91ab-2d7cd011db47",
            "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9",
            "https://acme.halopsa.com/auth/account/azureresponse",
            "A1B2C3D4E5F60718293A4B5C6D7E8F9012345678",
            "00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF",
            "2026-03-31",
            // rotate by = expiry − 30 days
            "Rotate the certificate by 2026-03-01 (it expires on 2026-03-31).",
            "Remove the redirect URI http://localhost/entra-onboard/callback",
            "Verified",
            "2025-05-30 14:05 UTC",
            "it-admin@acme.example",
            "Get admin consent for the home tenant.",
            "Entra Onboard 1.2.3",
        ] {
            assert!(html.contains(needle), "missing {needle:?}");
        }
        assert!(
            !html.contains("SANDBOX"),
            "a real profile is not labelled a sandbox"
        );
        assert!(
            !html.contains("secret-place"),
            "the partner's file paths stay out of the report"
        );
    }

    #[test]
    fn csp_reports_both_apps_and_the_partner_center_expiry() {
        let mut p = acme();
        p.tenant_type = TenantType::Multi;
        p.features.csp = true;
        p.partner_center.client_id = "1b2c3d4e-5f60-4172-8394-a5b6c7d8e9f0".into();
        p.partner_center.credential.kind = CredentialKind::Secret;
        p.partner_center.credential.secret_hint = Some("Pc7~secret-leaked".into());
        p.partner_center.credential.expires_on = Some("2025-01-01".parse().unwrap());
        let html = report(&p);
        assert!(
            html.contains("Microsoft CSP: the two app registrations"),
            "{html}"
        );
        assert!(html.contains("Partner Center app (single tenant)"));
        assert!(html.contains("1b2c3d4e-5f60-4172-8394-a5b6c7d8e9f0"));
        assert!(html.contains("https://acme.halopsa.com/azure/auth"));
        assert!(html.contains("https://acme.halopsa.com/config/integrations/microsoftcsp"));
        assert!(html.contains("Microsoft Partner Center: user_impersonation"));
        assert!(html.contains("not SMS"));
        assert!(
            !html.contains("secret-leaked"),
            "only the three-character hint"
        );
        let plan = crate::plan::plan(&p);
        let f = follow_ups(&p, &plan, now().date_naive());
        let pc = f
            .iter()
            .find(|x| {
                x.text
                    .starts_with("The Partner Center app's credential expired")
            })
            .expect("the Partner Center app's lapsed secret is a follow-up");
        assert!(pc.urgent);
    }

    #[test]
    fn rotations_are_listed_without_a_value() {
        use crate::rotation::{CustomerApp, RotationOutcome, RotationRecord};
        let mut p = acme();
        assert!(!report(&p).contains("Credential rotations"));
        p.rotations.push(RotationRecord {
            at: now(),
            app: CustomerApp::Main,
            kind: CredentialKind::Secret,
            outcome: RotationOutcome::Completed,
            signed_in_as: Some("admin@acme.example".into()),
            old: Some("secret abc… (Secret ID k-old)".into()),
            new: Some("secret xyz… (Secret ID k-new)".into()),
            expires_on: NaiveDate::from_ymd_opt(2027, 11, 30),
            reason: None,
        });
        let html = report(&p);
        assert!(html.contains("Credential rotations"), "{html}");
        assert!(html.contains("k-old") && html.contains("k-new"));
        assert!(html.contains("admin@acme.example"));
        assert!(html.contains("Completed (expires 2027-11-30)"));
    }

    #[test]
    fn is_inert_html() {
        let html = report(&acme());
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains(&format!(
            "<meta http-equiv=\"Content-Security-Policy\" content=\"{REPORT_CSP}\">"
        )));
        let lower = html.to_lowercase();
        for banned in [
            "<script", "<link", "<img", "<iframe", "href=", "src=", "url(", "@import",
        ] {
            assert!(!lower.contains(banned), "found {banned:?}");
        }
        assert!(html.contains("@page{size:A4"));
        assert!(html.contains("@media print"));
    }

    #[test]
    fn escapes_hostile_input() {
        let mut p = acme();
        p.name = "<script>alert(1)</script>".into();
        p.agent_url = "javascript:alert('x')\"><img src=x onerror=alert(1)>".into();
        p.customer_tenants = vec![CustomerTenant {
            tenant: "contoso.com".into(),
            name: Some("<b onmouseover=alert(2)>Contoso</b>".into()),
            consent: ConsentRecord {
                status: ConsentStatus::Failed,
                message: Some("</td><script>x</script>".into()),
                ..ConsentRecord::default()
            },
        }];
        let html = report(&p);
        assert!(!html.contains("<script>"), "{html}");
        assert!(!html.contains("<img"));
        assert!(!html.contains("<b onmouseover"));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(html.contains("&lt;b onmouseover=alert(2)&gt;Contoso&lt;/b&gt;"));
        assert!(html.contains("&lt;/td&gt;&lt;script&gt;x&lt;/script&gt;"));
    }

    #[test]
    fn control_and_bidi_characters_from_the_profile_are_removed() {
        let mut p = acme();
        p.name = "Acme\u{202E}gnp.exe\u{1b}[2J".into();
        p.customer_tenants = vec![CustomerTenant {
            tenant: "contoso.com".into(),
            name: Some("Con\u{2066}toso\u{0}".into()),
            consent: ConsentRecord {
                status: ConsentStatus::Failed,
                message: Some("AADSTS65004:\u{1b}]0;x\u{7} no\r\nTrace ID: 1".into()),
                ..ConsentRecord::default()
            },
        }];
        let html = report(&p);
        assert!(!html.chars().any(|c| c != '\n' && crate::text::is_unsafe(c)));
        assert!(html.contains("Acmegnp.exe[2J") && html.contains("Contoso"));
        assert!(html.contains("AADSTS65004:]0;x no Trace ID: 1"), "{html}");
    }

    #[test]
    fn never_shows_more_than_the_three_character_hint() {
        let mut p = acme();
        p.credential = Default::default();
        p.credential.kind = CredentialKind::Secret;
        // A hand-edited profile with a whole secret pasted into the hint.
        p.credential.secret_hint = Some("Xy7~Qm9.abcdefghijklmnopqrstuvwxyz0123".into());
        p.credential.expires_on = Some("2025-06-20".parse().unwrap());
        let html = report(&p);
        assert!(html.contains("<code>Xy7</code>…"));
        assert!(!html.contains("Xy7~"), "more than the hint leaked");
        assert!(!html.contains("abcdefghij"));
        // 19 days left: rotation is overdue, so it is urgent and listed first-ish.
        assert!(html.contains("Rotate the client secret by 2025-05-21"));
        assert!(html.contains("19 days left"));
    }

    #[test]
    fn sandbox_profiles_get_a_banner() {
        let mut p = acme();
        p.authority = Some("http://127.0.0.1:8400".into());
        let html = report(&p);
        assert!(html.contains("SANDBOX — practice data, not a real tenant"));
        assert!(html.contains("Repeat the onboarding against the real Microsoft tenant."));
    }

    #[test]
    fn unverified_profile_with_errors_says_so() {
        let mut p = acme();
        p.verified = None;
        p.tenant_id = "acme".into();
        let html = report(&p);
        assert!(html.contains("NOT verified"));
        assert!(html.contains("Run the SSO test until it passes."));
        let plan = crate::plan(&p);
        let first_error = plan
            .errors()
            .next()
            .expect("an invalid tenant id is an error");
        assert!(html.contains(&html! { (Clean(&first_error.message)) }.into_string()));
        assert!(html.contains(" remaining"));
    }

    #[test]
    fn follow_ups_list_urgent_first_and_consent_failures() {
        let mut p = acme();
        p.customer_tenants = vec![CustomerTenant {
            tenant: "fabrikam.com".into(),
            name: Some("Fabrikam".into()),
            consent: ConsentRecord {
                status: ConsentStatus::Declined,
                aadsts: Some(65004),
                ..ConsentRecord::default()
            },
        }];
        let today = now().date_naive();
        let list = follow_ups(&p, &crate::plan(&p), today);
        let first_non_urgent = list.iter().position(|f| !f.urgent).unwrap_or(list.len());
        assert!(list[first_non_urgent..].iter().all(|f| !f.urgent));
        let declined = list
            .iter()
            .find(|f| f.text.contains("Fabrikam (fabrikam.com)"))
            .expect("declined consent is a follow-up");
        assert!(declined.urgent);
        assert!(declined.detail.as_deref().unwrap().contains("AADSTS65004"));
    }
}
