//! "Check a live registration": read the application, its service principal, grants and
//! credentials back through Graph and compare them with [`crate::plan::plan`].
//!
//! Each [`Finding`] has a stable id, a severity, what is wrong and a plain-text fix; where
//! automation can repair it, an [`FixAction`] the GUI offers as one click and [`fix`] runs
//! (through [`apply`], which is idempotent and converges the whole registration to the
//! plan — a one-click fix never does less than the finding says, and never removes
//! anything but the URIs named in it).
//!
//! Redirect URIs are compared as Entra does (scheme and host case-insensitive, path exact),
//! and near misses are named: a URI that differs only in case or in a trailing slash is
//! the usual cause of AADSTS50011.
//!
//! Conditional Access, security defaults and "assignment required" are the access review
//! ([`doctor_with_access`], `doctor --access`).
//!
//! Left out: sign-in logs, owners, consent in customer tenants (the app-only token of the
//! SSO test proves those).

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use ts_rs::TS;

use super::apply::{
    self, AppSummary, ApplyError, ApplyOptions, ApplyProgressFn, ApplyReport, CredentialRequest,
    SecretSink, audience_for, same_redirect,
};
use super::permissions::{self, PermissionKind};
use super::{GRAPH_APP_ID, GraphClient, GraphError, GraphRequest, odata_string, with_query};
use crate::plan::{Plan, RedirectPurpose, plan};
use crate::profile::{CredentialKind, CredentialMeta, Profile};
use crate::steps::basics::Basics;
use crate::steps::redirects::WIZARD_REDIRECT_URI;
use crate::validation::Severity;

pub use super::finding::{Finding, FixAction};

/// Days before expiry a credential is reported.
pub const EXPIRY_WARNING_DAYS: i64 = 30;

impl FixAction {
    /// The apply options that carry out this fix.
    pub fn apply_options(&self) -> ApplyOptions {
        let mut o = ApplyOptions::default();
        match self {
            FixAction::RemoveRedirectUris { uris } => o.remove_redirect_uris = uris.clone(),
            FixAction::AddSecret => {
                o.credential = CredentialRequest::Secret {
                    months: 12,
                    force: true,
                }
            }
            _ => {}
        }
        o
    }
}

/// The doctor's verdict.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct DoctorReport {
    /// True when no finding is an error.
    pub ok: bool,
    /// The application checked, when found.
    pub application: Option<AppSummary>,
    /// Its service principal, when found.
    pub service_principal_id: Option<String>,
    /// Every finding, errors first.
    pub findings: Vec<Finding>,
    /// When the check ran.
    pub checked_at: DateTime<Utc>,
    /// The requests sent (all reads).
    pub requests: Vec<GraphRequest>,
    /// The access review (Conditional Access, security defaults, assignment required),
    /// when asked for ([`doctor_with_access`]).
    pub access: Option<super::access_review::AccessReview>,
    /// CSP: the check of the second, single-tenant Partner Center app
    /// ([`doctor_partner_center`]), when this customer has CSP on. Its errors count in `ok`.
    #[ts(optional = nullable)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partner_center: Option<Box<DoctorReport>>,
}

impl DoctorReport {
    /// 0 when clean (warnings allowed), 1 when any finding is an error.
    pub fn exit_code(&self) -> u8 {
        if self.ok { 0 } else { 1 }
    }
}

/// The check could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DoctorError {
    /// The profile does not say which registration to check.
    #[error("cannot check this profile: {0}")]
    Profile(String),
    /// Graph could not be read.
    #[error(transparent)]
    Graph(#[from] GraphError),
}

impl DoctorError {
    /// Stable code for the UI.
    pub fn code(&self) -> &'static str {
        match self {
            DoctorError::Profile(_) => "doctor.profile",
            DoctorError::Graph(e) => e.code(),
        }
    }
}

struct Findings(Vec<Finding>);

impl Findings {
    fn add(
        &mut self,
        id: &str,
        severity: Severity,
        message: String,
        fix: &str,
        auto_fix: Option<FixAction>,
    ) {
        self.0.push(Finding {
            id: id.into(),
            severity,
            message,
            fix: fix.into(),
            auto_fix,
        });
    }
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn date(v: &Value) -> Option<DateTime<Utc>> {
    v.as_str()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
}

/// How two redirect URIs nearly match, if they do.
fn near_miss(a: &str, b: &str) -> Option<&'static str> {
    if same_redirect(a, b) {
        return None;
    }
    if a.eq_ignore_ascii_case(b) {
        return Some("differs only in upper/lower case (paths are case-sensitive)");
    }
    if a.trim_end_matches('/') == b.trim_end_matches('/') {
        return Some("differs only in a trailing slash");
    }
    if a.trim_end_matches('/')
        .eq_ignore_ascii_case(b.trim_end_matches('/'))
    {
        return Some("differs in case and a trailing slash");
    }
    None
}

/// Reads the registration of `profile` and compares it with the plan. `now` decides what
/// "expired" and "expiring" mean.
pub async fn doctor(
    profile: &Profile,
    client: &GraphClient,
    now: DateTime<Utc>,
) -> Result<DoctorReport, DoctorError> {
    let plan = plan(profile);
    let mut report = doctor_planned(profile, &plan, client, now).await?;
    with_partner_center(&mut report, profile, &plan, client, now).await?;
    Ok(report)
}

/// Adds the Partner Center app's check to `report` when CSP is on; its errors make the
/// whole report not ok.
async fn with_partner_center(
    report: &mut DoctorReport,
    profile: &Profile,
    plan: &Plan,
    client: &GraphClient,
    now: DateTime<Utc>,
) -> Result<(), DoctorError> {
    if !profile.features.csp {
        return Ok(());
    }
    let pc = doctor_partner_center_planned(profile, plan, client, now).await?;
    report.ok &= pc.ok;
    report.partner_center = Some(Box::new(pc));
    Ok(())
}

/// Reads CSP's single-tenant Partner Center app back through Graph and compares it with
/// the plan: single tenant, redirect `<agent>/azure/auth`, exactly one API permission
/// (Microsoft Partner Center `user_impersonation`; a Graph permission on it is an error —
/// Halo's CSP guide, \"Required scopes requested by app\"), its own credential, its service
/// principal and the tenant-wide consent to that permission.
pub async fn doctor_partner_center(
    profile: &Profile,
    client: &GraphClient,
    now: DateTime<Utc>,
) -> Result<DoctorReport, DoctorError> {
    doctor_partner_center_planned(profile, &plan(profile), client, now).await
}

async fn doctor_partner_center_planned(
    profile: &Profile,
    plan: &Plan,
    client: &GraphClient,
    now: DateTime<Utc>,
) -> Result<DoctorReport, DoctorError> {
    use entra_onboard_core::steps::partner_center as pc;
    let log_start = client.sent().len();
    let pc_client = plan
        .partner_center
        .as_ref()
        .and_then(|p| p.apps.first())
        .and_then(|a| a.client_id.clone());
    let filter = match (pc_client, profile.name.trim()) {
        (Some(c), _) => format!("appId eq {}", odata_string(&c)),
        (None, name) if !name.is_empty() => {
            format!(
                "displayName eq {}",
                odata_string(&pc::display_name(profile))
            )
        }
        _ => {
            return Err(DoctorError::Profile(
                "partner_center.client_id: enter the Partner Center app's Application (client) ID to check".into(),
            ));
        }
    };
    let mut f = Findings(Vec::new());
    let mut report = DoctorReport {
        ok: true,
        application: None,
        service_principal_id: None,
        findings: Vec::new(),
        checked_at: now,
        requests: Vec::new(),
        access: None,
        partner_center: None,
    };
    let Some(app) = find_application(client, &filter, &mut f).await? else {
        return Ok(finish(report, label_partner_center(f), client, log_start));
    };
    let app_id = app["appId"].as_str().unwrap_or_default().to_string();
    report.application = Some(AppSummary {
        object_id: app["id"].as_str().unwrap_or_default().into(),
        app_id: app_id.clone(),
        display_name: app["displayName"].as_str().unwrap_or_default().into(),
    });
    let have = app["signInAudience"].as_str().unwrap_or_default();
    if have != pc::SIGN_IN_AUDIENCE {
        f.add(
            "audience.wrong",
            Severity::Error,
            format!("Supported account types is {have}; the Partner Center app must be single tenant ({}).", pc::SIGN_IN_AUDIENCE),
            "Authentication > Supported account types: \"Accounts in this organizational directory only\".",
            Some(FixAction::Apply),
        );
    }
    if let Some(agent) = plan.basics.agent_url.as_deref() {
        let want = pc::redirect_uri(agent);
        let existing = strings(&app["web"]["redirectUris"]);
        if !existing.iter().any(|e| same_redirect(e, &want)) {
            let near: Vec<String> = existing
                .iter()
                .filter_map(|e| near_miss(e, &want).map(|why| format!("{e} {why}")))
                .collect();
            f.add(
                if near.is_empty() { "redirect.missing" } else { "redirect.near_miss" },
                Severity::Error,
                format!(
                    "Redirect URI {want} is not registered on the Partner Center app{}; Halo's Authorize Application fails with \"Redirect URI specified does not match\".",
                    if near.is_empty() { String::new() } else { format!(" (registered instead: {})", near.join("; ")) }
                ),
                "Authentication > Web > Add URI: paste it exactly.",
                Some(FixAction::Apply),
            );
        }
    }
    check_partner_center_permissions(&app, &mut f);
    check_credentials(&profile.partner_center.credential, &app, now, &mut f);
    let perms = permissions::required_partner_center();
    report.service_principal_id = check_service_principal(
        client,
        &app_id,
        &perms,
        (
            permissions::PARTNER_CENTER_APP_ID,
            "the Partner Center permission",
        ),
        &mut f,
    )
    .await?;
    Ok(finish(report, label_partner_center(f), client, log_start))
}

/// Names the Partner Center app in each finding, so a list of both apps' findings says
/// which registration to open.
fn label_partner_center(f: Findings) -> Findings {
    Findings(
        f.0.into_iter()
            .map(|mut x| {
                x.id = format!("partner_center.{}", x.id);
                x.message = format!("Partner Center app: {}", x.message);
                x
            })
            .collect(),
    )
}

/// Exactly one declared API permission: Microsoft Partner Center `user_impersonation`.
fn check_partner_center_permissions(app: &Value, f: &mut Findings) {
    let want = &permissions::PARTNER_CENTER_PERMISSION;
    let declared = super::apply::declared_access(&app["requiredResourceAccess"]);
    let is_want = |(r, id, t): &(String, String, String)| {
        r == want.resource_app_id && id == want.id && t == want.kind.as_str()
    };
    if !declared.iter().any(is_want) {
        f.add(
            "permissions.missing",
            Severity::Error,
            "Microsoft Partner Center user_impersonation (delegated) is not declared: Halo's Authorize Application fails with \"Required scopes requested by app\".".into(),
            "API permissions > Add a permission > APIs my organization uses > Microsoft Partner Center > Delegated > user_impersonation (search fa3d9a0c-3fb0-42cc-9193-47c7ecd2edbd if it is not listed).",
            Some(FixAction::Apply),
        );
    }
    let extra: Vec<String> = declared
        .iter()
        .filter(|d| !is_want(d))
        .map(|(r, id, t)| {
            if r == GRAPH_APP_ID {
                format!("Microsoft Graph {id} ({t})")
            } else {
                format!("{r}/{id} ({t})")
            }
        })
        .collect();
    if !extra.is_empty() {
        f.add(
            "permissions.extra",
            Severity::Error,
            format!(
                "It declares other API permissions besides user_impersonation: {}. It must have exactly one (Halo's CSP guide); Graph permissions belong on the multi-tenant app.",
                extra.join(", ")
            ),
            "API permissions: remove every permission but Microsoft Partner Center user_impersonation (including the default User.Read).",
            Some(FixAction::Apply),
        );
    }
}

/// [`doctor`] with the profile's plan already made (step 1 is checked once per run). Each
/// part of the registration is one check below, in the order the findings read.
async fn doctor_planned(
    profile: &Profile,
    plan: &Plan,
    client: &GraphClient,
    now: DateTime<Utc>,
) -> Result<DoctorReport, DoctorError> {
    let log_start = client.sent().len();
    let filter = application_filter(profile, &plan.basics)?;
    let mut f = Findings(Vec::new());
    let mut report = DoctorReport {
        ok: true,
        application: None,
        service_principal_id: None,
        findings: Vec::new(),
        checked_at: now,
        requests: Vec::new(),
        access: None,
        partner_center: None,
    };
    let Some(app) = find_application(client, &filter, &mut f).await? else {
        return Ok(finish(report, f, client, log_start));
    };
    let app_id = app["appId"].as_str().unwrap_or_default().to_string();
    report.application = Some(AppSummary {
        object_id: app["id"].as_str().unwrap_or_default().into(),
        app_id: app_id.clone(),
        display_name: app["displayName"].as_str().unwrap_or_default().into(),
    });
    check_audience(profile, &app, &mut f);
    check_redirects(profile, plan, &app, &mut f);
    check_id_tokens(&app, &mut f);
    let perms = permissions::required(profile);
    check_declared_permissions(&perms, &app, &mut f);
    check_credentials(&profile.credential, &app, now, &mut f);
    if profile.credential.kind == CredentialKind::Federated {
        check_federated(client, profile, &app, &mut f).await?;
    }
    report.service_principal_id = check_service_principal(
        client,
        &app_id,
        &perms,
        (GRAPH_APP_ID, "Microsoft Graph"),
        &mut f,
    )
    .await?;
    Ok(finish(report, f, client, log_start))
}

/// The `$filter` that finds the registration: by client id, else by the profile's name.
fn application_filter(profile: &Profile, b: &Basics) -> Result<String, DoctorError> {
    match (&b.client_id, profile.name.trim()) {
        (Some(c), _) => Ok(format!("appId eq {}", odata_string(c.as_str()))),
        (None, name) if !name.is_empty() => Ok(format!("displayName eq {}", odata_string(name))),
        _ => Err(DoctorError::Profile(
            "client_id: enter the Application (client) ID to check (or a name to find it by)"
                .into(),
        )),
    }
}

/// The application `filter` finds (the first of several, with a warning); `None` and an
/// `application.missing` error when there is none.
async fn find_application(
    client: &GraphClient,
    filter: &str,
    f: &mut Findings,
) -> Result<Option<Value>, DoctorError> {
    let found = client
        .get(&with_query("/applications", &[("$filter", filter)]))
        .await?;
    let apps = found["value"].as_array().cloned().unwrap_or_default();
    let Some(app) = apps.first().cloned() else {
        f.add(
            "application.missing",
            Severity::Error,
            "No app registration with this client id (or name) is in the tenant that was signed in to.".into(),
            "Check the tenant and client id in step 1, or let the wizard create the registration.",
            Some(FixAction::Apply),
        );
        return Ok(None);
    };
    if apps.len() > 1 {
        f.add(
            "application.ambiguous",
            Severity::Warning,
            format!(
                "{} app registrations match; the first was checked.",
                apps.len()
            ),
            "Put the Application (client) ID in step 1 so the right one is checked.",
            None,
        );
    }
    Ok(Some(app))
}

/// Supported account types against the profile's tenant type.
fn check_audience(profile: &Profile, app: &Value, f: &mut Findings) {
    let want = audience_for(profile);
    let have = app["signInAudience"].as_str().unwrap_or_default();
    if have != want {
        f.add(
            "audience.wrong",
            Severity::Error,
            format!("Supported account types is {have}; the profile's tenant type needs {want}."),
            "Authentication > Supported account types: choose the one step 1 names.",
            Some(FixAction::SetAudience {
                audience: want.into(),
            }),
        );
    }
}

/// Planned redirect URIs that are missing (near misses named), registered ones the plan
/// does not list, and the wizard's test URI left behind after onboarding.
fn check_redirects(profile: &Profile, plan: &Plan, app: &Value, f: &mut Findings) {
    let existing = strings(&app["web"]["redirectUris"]);
    let onboarded = profile.verified.is_some();
    for r in &plan.redirect_uris {
        let wizard = r.purposes.contains(&RedirectPurpose::WizardTest);
        if existing.iter().any(|e| same_redirect(e, &r.uri)) || (wizard && onboarded) {
            continue;
        }
        let near: Vec<String> = existing
            .iter()
            .filter_map(|e| near_miss(e, &r.uri).map(|why| format!("{e} {why}")))
            .collect();
        let (id, severity) = if wizard {
            ("redirect.wizard_missing", Severity::Warning)
        } else if near.is_empty() {
            ("redirect.missing", Severity::Error)
        } else {
            ("redirect.near_miss", Severity::Error)
        };
        let mut message = format!(
            "Redirect URI {} ({}) is not registered.",
            r.uri, r.description
        );
        if !near.is_empty() {
            message.push_str(&format!(" Registered instead: {}.", near.join("; ")));
        }
        f.add(
            id,
            severity,
            message,
            "Authentication > Web > Add URI: paste it exactly (sign-in fails with AADSTS50011 otherwise).",
            Some(FixAction::AddRedirectUris { uris: vec![r.uri.clone()] }),
        );
    }
    for e in &existing {
        if plan.redirect_uris.iter().any(|r| same_redirect(e, &r.uri)) {
            if onboarded && same_redirect(e, WIZARD_REDIRECT_URI) {
                f.add(
                    "redirect.wizard_uri_present",
                    Severity::Warning,
                    format!("The wizard's test URI {WIZARD_REDIRECT_URI} is still registered, though onboarding is done."),
                    "Authentication > Web: delete it; the service desk does not need it.",
                    Some(FixAction::RemoveRedirectUris { uris: vec![e.clone()] }),
                );
            }
            continue;
        }
        let near = plan
            .redirect_uris
            .iter()
            .any(|r| near_miss(e, &r.uri).is_some());
        f.add(
            "redirect.extra",
            if near {
                Severity::Warning
            } else {
                Severity::Info
            },
            format!(
                "Redirect URI {e} is registered but not in the plan{}.",
                if near {
                    " (it nearly matches a planned one: probably a mistyped copy)"
                } else {
                    ""
                }
            ),
            "Keep it if something else uses this app; otherwise delete it under Authentication.",
            Some(FixAction::RemoveRedirectUris {
                uris: vec![e.clone()],
            }),
        );
    }
}

/// "ID tokens" under implicit grant and hybrid flows (the service desk's sign-in needs it).
fn check_id_tokens(app: &Value, f: &mut Findings) {
    if app["web"]["implicitGrantSettings"]["enableIdTokenIssuance"].as_bool() != Some(true) {
        f.add(
            "id_tokens.off",
            Severity::Error,
            "ID tokens are off; the service desk's sign-in fails with AADSTS700054.".into(),
            "Authentication > Implicit grant and hybrid flows: tick \"ID tokens\".",
            Some(FixAction::EnableIdTokens),
        );
    }
}

/// Graph permissions the features need that the registration does not declare.
fn check_declared_permissions(
    perms: &[&permissions::RequiredPermission],
    app: &Value,
    f: &mut Findings,
) {
    let declared: Vec<(String, String)> = app["requiredResourceAccess"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["resourceAppId"].as_str() == Some(GRAPH_APP_ID))
        .flat_map(|r| r["resourceAccess"].as_array().cloned().unwrap_or_default())
        .map(|a| {
            (
                a["id"].as_str().unwrap_or_default().to_ascii_lowercase(),
                a["type"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let undeclared: Vec<&str> = perms
        .iter()
        .filter(|p| {
            !declared
                .iter()
                .any(|(id, t)| id == p.id && t == p.kind.as_str())
        })
        .map(|p| p.value)
        .collect();
    if !undeclared.is_empty() {
        f.add(
            "permissions.missing",
            Severity::Warning,
            format!(
                "API permissions lack {} for the features turned on.",
                undeclared.join(", ")
            ),
            "API permissions > Add a permission > Microsoft Graph, then grant admin consent.",
            Some(FixAction::Apply),
        );
    }
}

/// Secrets and certificates on the app: expired or expiring ones, and whether the one the
/// profile uses is there.
fn check_credentials(meta: &CredentialMeta, app: &Value, now: DateTime<Utc>, f: &mut Findings) {
    let passwords = app["passwordCredentials"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let keys = app["keyCredentials"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let valid = |c: &Value| date(&c["endDateTime"]).is_none_or(|t| t > now);
    let any_valid = passwords.iter().chain(keys.iter()).any(valid);
    for (c, what) in passwords
        .iter()
        .map(|c| (c, "Client secret"))
        .chain(keys.iter().map(|c| (c, "Certificate")))
    {
        let Some(end) = date(&c["endDateTime"]) else {
            continue;
        };
        let name = c["displayName"]
            .as_str()
            .or(c["hint"].as_str())
            .unwrap_or("(unnamed)");
        let days = (end - now).num_days();
        if end <= now {
            f.add(
                "credential.expired",
                if any_valid { Severity::Warning } else { Severity::Error },
                format!("{what} \"{name}\" expired on {} (AADSTS7000222 if it is still in use).", end.format("%Y-%m-%d")),
                "Add a new one, update the service desk, then delete the expired one under Certificates & secrets.",
                (what == "Client secret").then_some(FixAction::AddSecret),
            );
        } else if days <= EXPIRY_WARNING_DAYS {
            f.add(
                "credential.expiring",
                Severity::Warning,
                format!("{what} \"{name}\" expires in {days} days ({}).", end.format("%Y-%m-%d")),
                "Add a new one now, update the service desk, and delete the old one after the switch.",
                (what == "Client secret").then_some(FixAction::AddSecret),
            );
        }
    }
    match meta.kind {
        CredentialKind::Secret => {
            if !passwords.iter().any(valid) {
                f.add(
                    "credential.none",
                    Severity::Error,
                    "The profile uses a client secret, but the app has no valid one.".into(),
                    "Certificates & secrets > New client secret, then store it in step 3.",
                    Some(FixAction::AddSecret),
                );
            } else if let Some(hint) = &meta.secret_hint
                && !passwords
                    .iter()
                    .any(|p| p["hint"].as_str() == Some(hint.as_str()))
            {
                f.add(
                    "credential.secret_not_on_app",
                    Severity::Error,
                    format!("No secret on the app starts with \"{hint}\": the stored secret was deleted or belongs to another app."),
                    "Create a new secret and store it in step 3.",
                    Some(FixAction::AddSecret),
                );
            }
        }
        CredentialKind::Certificate => {
            if let Some(tp) = &meta.thumbprint {
                let on_app = keys.iter().any(|k| {
                    k["customKeyIdentifier"].as_str().is_some_and(|c| {
                        c.eq_ignore_ascii_case(tp) || base64_thumbprint_matches(c, tp)
                    })
                });
                if !on_app {
                    f.add(
                        "credential.certificate_not_on_app",
                        Severity::Error,
                        format!("Certificate {tp} is not on the app; the service desk's sign-in with it fails (AADSTS700027)."),
                        "Certificates & secrets > Upload certificate: upload the .cer/.pem the service desk uses (or run apply with --cert).",
                        None,
                    );
                }
            }
        }
        _ => {}
    }
}

/// The federated credential Halo signs in with (step 3): on the app with exactly Halo's
/// issuer, subject and audience ([`super::federated::compare`]).
async fn check_federated(
    client: &GraphClient,
    profile: &Profile,
    app: &Value,
    f: &mut Findings,
) -> Result<(), DoctorError> {
    use super::federated::{FederatedState, collection_path, compare};
    let Some(spec) = crate::steps::federated::spec(profile) else {
        f.add(
            "credential.federated_incomplete",
            Severity::Warning,
            "The profile uses a federated credential, but step 3 does not hold Halo's issuer, subject and audience yet, so it cannot be compared.".into(),
            "Copy Halo's Issuer URL, Subject claim to validate and Audience claim to validate into step 3.",
            None,
        );
        return Ok(());
    };
    let id = app["id"].as_str().unwrap_or_default();
    let v = client.get(&collection_path(id)).await?;
    let existing = v["value"].as_array().cloned().unwrap_or_default();
    match compare(&existing, &spec) {
        FederatedState::Present { .. } => {}
        FederatedState::Missing => f.add(
            "credential.federated_missing",
            Severity::Error,
            format!("No federated credential on the app trusts Halo's issuer {} and subject {}: Halo's \"Authorise Application\" fails (AADSTS70021).", spec.issuer, spec.subject),
            "Certificates & secrets > Federated credentials > Add credential, scenario \"Other issuer\", with step 3's values (or let the wizard add it).",
            Some(FixAction::AddFederatedCredential),
        ),
        FederatedState::Differs { name, why } => f.add(
            "credential.federated_differs",
            Severity::Error,
            format!("The federated credential \"{name}\" does not match step 3: {why}. Halo's sign-in fails (AADSTS70021)."),
            "In Certificates & secrets > Federated credentials, edit it to Halo's values (or delete it and add Halo's).",
            None,
        ),
        FederatedState::Full => f.add(
            "credential.federated_full",
            Severity::Error,
            "Halo's federated credential is not on the app, and the app already holds 20, Microsoft's maximum.".into(),
            "Delete a federated credential the app no longer needs, then add Halo's.",
            None,
        ),
    }
    Ok(())
}

/// The app's service principal (enterprise app) in its home tenant: present, enabled, and
/// holding the consent the features need. Returns its object id when there is one.
async fn check_service_principal(
    client: &GraphClient,
    app_id: &str,
    perms: &[&permissions::RequiredPermission],
    resource: (&str, &str),
    f: &mut Findings,
) -> Result<Option<String>, DoctorError> {
    let sp = client
        .get(&with_query(
            "/servicePrincipals",
            &[("$filter", &format!("appId eq {}", odata_string(app_id)))],
        ))
        .await?;
    let Some(s) = sp["value"].as_array().and_then(|a| a.first()) else {
        f.add(
            "service_principal.missing",
            Severity::Error,
            "The app has no service principal (enterprise app) in its home tenant: app-only sign-ins fail with AADSTS7000229, and nobody can consent.".into(),
            "Grant admin consent (step 4), which creates it, or create it here.",
            Some(FixAction::CreateServicePrincipal),
        );
        return Ok(None);
    };
    let sp_id = s["id"].as_str().unwrap_or_default().to_string();
    if s["accountEnabled"].as_bool() == Some(false) {
        f.add(
            "service_principal.disabled",
            Severity::Error,
            "The enterprise app is disabled (\"Enabled for users to sign in?\" = No): sign-ins fail with AADSTS7000112.".into(),
            "Enterprise applications > the app > Properties: set \"Enabled for users to sign in?\" to Yes.",
            None,
        );
    }
    let graph = client
        .get(&with_query(
            "/servicePrincipals",
            &[("$filter", &format!("appId eq {}", odata_string(resource.0)))],
        ))
        .await?;
    let graph_id = graph["value"]
        .as_array()
        .and_then(|a| a.first())
        .and_then(|g| g["id"].as_str())
        .map(str::to_string);
    match graph_id {
        Some(g) => {
            check_application_consent(client, &sp_id, &g, perms, f).await?;
            check_delegated_consent(client, &sp_id, &g, perms, f).await?;
        }
        None if resource.0 != GRAPH_APP_ID => f.add(
            "consent.resource_missing",
            Severity::Warning,
            format!("{} cannot be checked: its API's service principal ({}) is not in this tenant.", resource.1, resource.0),
            "Sign in to the CSP partner tenant (Partner Center's service principal is there), then check again.",
            None,
        ),
        None => {}
    }
    Ok(Some(sp_id))
}

/// Admin consent to the application permissions (app role assignments on Graph's service
/// principal `graph_sp`).
async fn check_application_consent(
    client: &GraphClient,
    sp_id: &str,
    graph_sp: &str,
    perms: &[&permissions::RequiredPermission],
    f: &mut Findings,
) -> Result<(), DoctorError> {
    let roles: Vec<_> = perms
        .iter()
        .filter(|p| p.kind == PermissionKind::Role)
        .collect();
    if roles.is_empty() {
        return Ok(());
    }
    let assigned = client
        .get(&format!("/servicePrincipals/{sp_id}/appRoleAssignments"))
        .await?;
    let have: Vec<String> = assigned["value"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|a| a["resourceId"].as_str() == Some(graph_sp))
        .filter_map(|a| a["appRoleId"].as_str().map(str::to_ascii_lowercase))
        .collect();
    let missing: Vec<&str> = roles
        .iter()
        .filter(|r| !have.contains(&r.id.to_string()))
        .map(|r| r.value)
        .collect();
    if !missing.is_empty() {
        f.add(
            "consent.missing",
            Severity::Error,
            format!("Admin consent is missing for {} (application): import or CSP fails with AADSTS65001 or empty results.", missing.join(", ")),
            "Open the admin-consent link of step 4 as a Privileged Role Administrator or Global Administrator.",
            Some(FixAction::GrantConsent),
        );
    }
    Ok(())
}

/// Tenant-wide consent to the delegated permissions (an `AllPrincipals` grant on Graph's
/// service principal `graph_sp`).
async fn check_delegated_consent(
    client: &GraphClient,
    sp_id: &str,
    graph_sp: &str,
    perms: &[&permissions::RequiredPermission],
    f: &mut Findings,
) -> Result<(), DoctorError> {
    let scopes: Vec<&str> = perms
        .iter()
        .filter(|p| p.kind == PermissionKind::Scope)
        .map(|p| p.value)
        .collect();
    let grants = client
        .get(&with_query(
            "/oauth2PermissionGrants",
            &[("$filter", &format!("clientId eq {}", odata_string(sp_id)))],
        ))
        .await?;
    let granted: Vec<String> = grants["value"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|x| {
            x["consentType"].as_str() == Some("AllPrincipals")
                && x["resourceId"].as_str() == Some(graph_sp)
        })
        .flat_map(|x| {
            x["scope"]
                .as_str()
                .unwrap_or_default()
                .split_whitespace()
                .map(str::to_ascii_lowercase)
                .collect::<Vec<_>>()
        })
        .collect();
    let missing: Vec<&str> = scopes
        .iter()
        .copied()
        .filter(|s| !granted.contains(&s.to_ascii_lowercase()))
        .collect();
    if !missing.is_empty() {
        f.add(
            "consent.delegated_missing",
            Severity::Warning,
            format!("No tenant-wide consent for {}: each user is asked to consent at first sign-in, or blocked (AADSTS90094) where user consent is off.", missing.join(", ")),
            "Open the admin-consent link of step 4.",
            Some(FixAction::GrantConsent),
        );
    }
    Ok(())
}

/// [`doctor`] plus the access review ([`super::access_review`]) of the app found (or of
/// the profile's client id). `ok` is false when either has an error.
pub async fn doctor_with_access(
    profile: &Profile,
    client: &GraphClient,
    now: DateTime<Utc>,
) -> Result<DoctorReport, DoctorError> {
    let log_start = client.sent().len();
    let plan = plan(profile);
    let mut report = doctor_planned(profile, &plan, client, now).await?;
    with_partner_center(&mut report, profile, &plan, client, now).await?;
    let app_id = report
        .application
        .as_ref()
        .map(|a| a.app_id.clone())
        .or_else(|| plan.basics.client_id.map(|c| c.as_str().to_string()));
    if let Some(app_id) = app_id {
        let review = super::access_review::access_review(client, &app_id).await?;
        report.ok &= !review
            .findings
            .iter()
            .any(|f| f.severity == Severity::Error);
        report.access = Some(review);
    }
    report.requests = client.sent().split_off(log_start);
    Ok(report)
}

fn base64_thumbprint_matches(custom_key_identifier: &str, hex: &str) -> bool {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(custom_key_identifier)
        .map(|b| {
            b.iter()
                .map(|x| format!("{x:02X}"))
                .collect::<String>()
                .eq_ignore_ascii_case(hex)
        })
        .unwrap_or(false)
}

fn finish(
    mut report: DoctorReport,
    f: Findings,
    client: &GraphClient,
    log_start: usize,
) -> DoctorReport {
    let mut findings = f.0;
    findings.sort_by_key(|x| x.severity);
    report.ok = !findings.iter().any(|x| x.severity == Severity::Error);
    report.findings = findings;
    report.requests = client.sent().split_off(log_start);
    report
}

/// Carries out one finding's fix through [`apply`] (see the module docs).
pub async fn fix(
    profile: &Profile,
    client: &GraphClient,
    action: &FixAction,
    progress: Option<ApplyProgressFn>,
    secret_sink: Option<SecretSink>,
) -> Result<ApplyReport, ApplyError> {
    let mut options = action.apply_options();
    if matches!(action, FixAction::AddFederatedCredential) {
        options.credential = apply::federated_request(profile)?;
    }
    apply::apply(profile, client, &options, progress, secret_sink).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_misses_are_named() {
        let a = "https://acme.example/auth/account/azureresponse";
        assert!(
            near_miss("https://acme.example/Auth/account/azureresponse", a)
                .unwrap()
                .contains("case")
        );
        assert!(
            near_miss(&format!("{a}/"), a)
                .unwrap()
                .contains("trailing slash")
        );
        assert_eq!(near_miss(a, a), None);
        assert_eq!(near_miss("https://other.example/x", a), None);
    }

    #[test]
    fn fix_actions_serialise_tagged() {
        let j = serde_json::to_value(FixAction::RemoveRedirectUris {
            uris: vec!["u".into()],
        })
        .unwrap();
        assert_eq!(
            j,
            serde_json::json!({"kind": "removeRedirectUris", "uris": ["u"]})
        );
        let back: FixAction = serde_json::from_value(j).unwrap();
        assert!(matches!(back, FixAction::RemoveRedirectUris { .. }));
    }
}
