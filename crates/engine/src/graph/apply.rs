//! "Create it for me": create or repair the app registration through Microsoft Graph,
//! idempotently, in CIPP's proven order (find → create/update → service principal →
//! credential → consent), with every request visible.
//!
//! Two phases. **Read**: find the application by client id (or by display name when the
//! profile has none yet), its service principal, Microsoft Graph's service principal, the
//! existing grants, and — only when a credential is to be added — the tenant's
//! app-management policies. **Write**: the difference to the plan, as a list of requests.
//! A dry run stops between the two and returns that list (ids not known yet appear as
//! `{applicationObjectId}`, `{appId}`, `{servicePrincipalId}`). Running it twice sends no
//! write the second time: every write is computed from what is already there.
//!
//! What it never does: drop a redirect URI it did not plan unless asked
//! ([`ApplyOptions::prune_redirect_uris`]); drop a permission; delete an application,
//! credential or grant; store a secret anywhere but the sink it is given (the keychain);
//! create an exemption policy to get around a tenant's app-management policy (CIPP does;
//! that is the tenant owner's decision, so the block is explained and the certificate
//! path offered instead).
//!
//! Graph sources per request: application-list/post-applications/update/addpassword,
//! serviceprincipal-list/post-serviceprincipals/list-approleassignments/
//! post-approleassignedto, oauth2permissiongrant-list/post-oauth2permissiongrants/update,
//! tenantappmanagementpolicy-get, application-list-appmanagementpolicies — all under
//! <https://learn.microsoft.com/graph/api/> (v1.0).
//!
//! The federated credential Halo signs in with (its Method 3) is added with
//! application-post-federatedidentitycredentials ([`super::federated`]); one that exists
//! with other values is reported, never changed or deleted.
//!
//! Left out: key-credential policy checks (asymmetricKeyLifetime, trusted CAs), consent in
//! customer tenants (each customer's admin uses the step 4 link),
//! the CSP AdminAgents group membership (step 5's script).

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Months, Utc};
use serde::Serialize;
use serde_json::{Value, json};
use sha1::{Digest as _, Sha1};
use ts_rs::TS;

use super::permissions::{self, PermissionKind, RequiredPermission};
use super::{
    GRAPH_APP_ID, GraphClient, GraphError, GraphErrorBody, GraphRequest, odata_string, with_query,
};
use crate::ids::Sensitive;
use crate::plan::plan;
use crate::profile::{CredentialKind, Profile};
use crate::steps::basics;
use crate::steps::redirects::WIZARD_REDIRECT_URI;
use crate::validation::Severity;

/// Longest secret lifetime Entra accepts (how-to-add-credentials.md: 24 months).
pub const SECRET_MAX_MONTHS: u32 = 24;

/// An existing credential valid for longer than this is "good enough": no new one is added.
pub const CREDENTIAL_RENEW_DAYS: i64 = 30;

/// The credential to add.
#[derive(Debug, Clone, Default)]
pub enum CredentialRequest {
    /// None.
    #[default]
    None,
    /// A client secret via `addPassword`, valid for `months` (at most 24, and shortened to
    /// the tenant policy's cap). Skipped when a secret valid for more than 30 days exists,
    /// unless `force`.
    Secret {
        /// Lifetime in months.
        months: u32,
        /// Add one even when a valid secret exists (the old value was lost).
        force: bool,
    },
    /// A certificate (public part, DER) via PATCH `keyCredentials`, keeping the existing
    /// valid keys. Skipped when that certificate is already on the app.
    Certificate {
        /// The certificate, DER.
        cert_der: Vec<u8>,
    },
    /// The federated credential Halo shows (issuer, subject, audience), via POST
    /// `federatedIdentityCredentials`. Skipped when the app already trusts exactly that.
    /// Made by [`federated_request`].
    Federated(super::federated::FederatedSpec),
}

/// The federated credential of `profile` as an apply request: its step 3 values, checked
/// as Halo gives them. `Err` names the fields to fix when they are not ready.
pub fn federated_request(profile: &Profile) -> Result<CredentialRequest, ApplyError> {
    if profile.credential.kind != CredentialKind::Federated {
        return Err(ApplyError::Profile(
            "credential.kind: this customer does not use a federated credential; choose \"Federated credential\" in step 3 first.".into(),
        ));
    }
    match crate::steps::federated::spec(profile) {
        Some(s) => Ok(CredentialRequest::Federated(s)),
        None => {
            let problems: Vec<String> = plan(profile)
                .issues
                .iter()
                .filter(|i| {
                    i.severity == Severity::Error && i.field.starts_with("credential.federated")
                })
                .map(|i| format!("{}: {} {}", i.field, i.message, i.fix))
                .collect();
            Err(ApplyError::Profile(problems.join(" ")))
        }
    }
}

/// How many times, and how patiently, to retry a request that fails because a fresh
/// object has not replicated yet (404, or 400 "does not exist").
#[derive(Debug, Clone, Copy)]
pub struct ReplicationPolicy {
    /// Retries after the first attempt.
    pub retries: u32,
    /// First wait; grows linearly.
    pub delay: Duration,
}

impl Default for ReplicationPolicy {
    fn default() -> Self {
        // CIPP retries 4× with 2 s; a little more patience costs nothing here.
        ReplicationPolicy {
            retries: 6,
            delay: Duration::from_secs(2),
        }
    }
}

/// Choices for one run.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// The credential to add.
    pub credential: CredentialRequest,
    /// Remove redirect URIs the plan does not list (off: they are kept).
    pub prune_redirect_uris: bool,
    /// Remove the wizard's loopback URI (after onboarding).
    pub remove_wizard_uri: bool,
    /// Remove these redirect URIs (a doctor fix); planned ones listed here are not added.
    pub remove_redirect_uris: Vec<String>,
    /// Grant admin consent in the home tenant where the signed-in role allows.
    pub grant_consent: bool,
    /// Read, plan, and send no write.
    pub dry_run: bool,
    /// Replication back-off.
    pub replication: ReplicationPolicy,
    /// "Now" (tests); `None` = the clock.
    pub now: Option<DateTime<Utc>>,
    /// Also set what the portal-as-a-Teams-tab needs (Application ID URI, the
    /// `access_as_user` scope, the Teams clients pre-authorised, token version 2;
    /// [`super::teams_tab`]). Off: the registration is left as the plan's steps 1–2 want it.
    pub teams_tab: bool,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            credential: CredentialRequest::None,
            prune_redirect_uris: false,
            remove_wizard_uri: false,
            remove_redirect_uris: Vec::new(),
            grant_consent: true,
            dry_run: false,
            replication: ReplicationPolicy::default(),
            now: None,
            teams_tab: false,
        }
    }
}

/// Where an operation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub enum StepStatus {
    /// Under way.
    Running,
    /// Done.
    Ok,
    /// Failed; `error` says how.
    Failed,
    /// Not needed, not allowed, or not attempted; `detail` says which.
    Skipped,
}

/// One operation, as the progress callback hears it and the report keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct ApplyStep {
    /// Stable id: `find_application`, `create_application`, `update_application`,
    /// `create_service_principal`, `add_password`, `add_certificate`,
    /// `grant_app_role:<permission>`, `grant_delegated`, and the `read_*` steps.
    pub id: String,
    /// What the admin reads.
    pub label: String,
    /// Running, ok, failed or skipped.
    pub status: StepStatus,
    /// More words (why skipped, what changed).
    pub detail: Option<String>,
    /// Graph's error body on failure.
    pub error: Option<GraphErrorBody>,
}

/// Hears every step change.
pub type ApplyProgressFn = Arc<dyn Fn(&ApplyStep) + Send + Sync>;

/// Receives a new client secret the moment Graph returns it (the keychain in the app and
/// CLI; a closure in tests). An `Err` is reported as "created in Entra, not stored".
pub type SecretSink = Box<dyn FnOnce(&Sensitive<String>) -> Result<(), String> + Send>;

/// The application as found or created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct AppSummary {
    /// Object id (`id`), used in Graph URLs.
    pub object_id: String,
    /// Application (client) id.
    pub app_id: String,
    /// Display name.
    pub display_name: String,
}

/// A credential this run added (never the secret itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct CreatedCredential {
    /// Secret or certificate.
    pub kind: CredentialKind,
    /// The credential's keyId (the portal's "Secret ID"), when Graph returned it.
    pub key_id: Option<String>,
    /// First three characters of a secret (Entra's hint).
    pub hint: Option<String>,
    /// SHA-1 thumbprint (hex, upper case) of a certificate.
    pub thumbprint: Option<String>,
    /// When it stops working (secrets; certificates carry their own date).
    pub end_date_time: Option<DateTime<Utc>>,
    /// True when the secret reached the sink (keychain).
    pub stored: bool,
}

/// Why a run failed, with Graph's own words when it answered.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct ApplyFailure {
    /// Stable code, e.g. `apply.policy_blocks_secret`, `graph.api`.
    pub code: String,
    /// What went wrong.
    pub message: String,
    /// What to do.
    pub fix: String,
    /// Graph's error body.
    pub graph: Option<GraphErrorBody>,
}

/// The outcome of a run: what happened, what exists now, what is left to do by hand.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct ApplyReport {
    /// True when every operation succeeded or was not needed.
    pub ok: bool,
    /// True for a dry run: nothing was written.
    pub dry_run: bool,
    /// The application, when found or created.
    pub application: Option<AppSummary>,
    /// True when this run created it.
    pub created_application: bool,
    /// The service principal's object id, when it exists.
    pub service_principal_id: Option<String>,
    /// True when this run created it.
    pub created_service_principal: bool,
    /// Every operation and how it ended.
    pub steps: Vec<ApplyStep>,
    /// The requests in order: reads as sent, and the writes sent (or, in a dry run, the
    /// writes that would be sent).
    pub requests: Vec<GraphRequest>,
    /// What exists in the tenant now, in plain words (also after a failure halfway).
    pub exists: Vec<String>,
    /// What is left to do by hand.
    pub handover: Vec<String>,
    /// The credential added, if any.
    pub credential: Option<CreatedCredential>,
    /// What the tenant's app-management policy says about secrets, when it was read.
    pub policy_notes: Vec<String>,
    /// Why it failed.
    pub error: Option<ApplyFailure>,
    /// CSP: the run for the second, single-tenant Partner Center app
    /// ([`apply_partner_center`]), when this customer has CSP on.
    #[ts(optional = nullable)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partner_center: Option<Box<ApplyReport>>,
}

/// The run could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApplyError {
    /// The profile lacks what the registration needs.
    #[error("the profile is not ready for automation: {0}")]
    Profile(String),
}

impl ApplyError {
    /// Stable code for the UI.
    pub fn code(&self) -> &'static str {
        match self {
            ApplyError::Profile(_) => "apply.profile",
        }
    }
}

/// What the plan wants on the registration.
struct Desired {
    display_name: String,
    audience: &'static str,
    redirects: Vec<String>,
    remove: Vec<String>,
    prune: bool,
    perms: Vec<&'static RequiredPermission>,
    client_id: Option<String>,
    /// `--teams-tab`: what the Teams tab needs on the registration.
    teams: Option<crate::teams::TeamsTabPlan>,
    /// Halo's federated credential as the summary names it: `(name, issuer)`.
    federated: Option<(String, String)>,
    /// "ID tokens" on (the service desk's sign-in needs them; the Partner Center app does
    /// not sign anyone in to Halo).
    id_tokens: bool,
    /// The declared permissions must be exactly `perms` (the Partner Center app: "There
    /// should only be one API Permission on the list"); otherwise missing ones are added
    /// and nothing is removed.
    exclusive: bool,
    /// The API whose service principal consent is granted on: `(appId, name)`.
    resource: (&'static str, &'static str),
    /// A multi-tenant app: customers consent in their own tenants (handover line).
    multi: bool,
}

/// `AzureADMyOrg` or `AzureADMultipleOrgs` for the profile's tenant type.
pub fn audience_for(profile: &Profile) -> &'static str {
    if basics::is_multi(profile) {
        "AzureADMultipleOrgs"
    } else {
        "AzureADMyOrg"
    }
}

fn desired(profile: &Profile, options: &ApplyOptions) -> Result<Desired, ApplyError> {
    let plan = plan(profile);
    // Client and tenant may be empty (the registration is created, in the admin's own
    // tenant); later steps (credential, consent, CSP, SSO settings) do not block Graph.
    let blocking: Vec<String> = plan
        .issues
        .iter()
        .filter(|i| i.severity == Severity::Error && i.step <= 2)
        .filter(|i| !matches!(i.field.as_str(), "client_id" | "tenant_id"))
        .map(|i| format!("{}: {} {}", i.field, i.message, i.fix))
        .collect();
    if !blocking.is_empty() {
        return Err(ApplyError::Profile(blocking.join(" ")));
    }
    let display_name = profile.name.trim().to_string();
    if display_name.is_empty() {
        return Err(ApplyError::Profile(
            "name: the registration is found or created by name; give the profile a name.".into(),
        ));
    }
    let mut redirects: Vec<String> = plan.redirect_uris.iter().map(|r| r.uri.clone()).collect();
    if profile.verified.is_some() {
        // Onboarding is done (an SSO test passed): the loopback URI is not added again;
        // removing it stays an explicit choice.
        redirects.retain(|u| u != WIZARD_REDIRECT_URI);
    }
    let mut remove = options.remove_redirect_uris.clone();
    if options.remove_wizard_uri {
        remove.push(WIZARD_REDIRECT_URI.to_string());
    }
    redirects.retain(|u| !remove.iter().any(|r| same_redirect(u, r)));
    let teams = if options.teams_tab {
        match plan.teams_tab.ready {
            Some(t) => Some(t),
            None => {
                let why: Vec<String> = plan
                    .teams_tab
                    .blockers
                    .iter()
                    .map(|i| format!("{}: {} {}", i.field, i.message, i.fix))
                    .collect();
                return Err(ApplyError::Profile(format!(
                    "the Teams tab needs: {}",
                    why.join(" ")
                )));
            }
        }
    } else {
        None
    };
    let federated = profile.credential.federated.as_ref().map(|f| {
        (
            crate::steps::federated::name_in_effect(profile),
            f.issuer.clone(),
        )
    });
    Ok(Desired {
        teams,
        federated,
        display_name,
        audience: audience_for(profile),
        redirects,
        remove,
        prune: options.prune_redirect_uris,
        perms: permissions::required(profile),
        client_id: plan.basics.client_id.map(|c| c.as_str().to_string()),
        id_tokens: true,
        exclusive: false,
        resource: (GRAPH_APP_ID, "Microsoft Graph"),
        multi: basics::is_multi(profile),
    })
}

/// What the plan wants on CSP's Partner Center app: single tenant, `<agent>/azure/auth`,
/// exactly Microsoft Partner Center `user_impersonation` (never a Graph permission).
fn desired_partner_center(
    profile: &Profile,
    options: &ApplyOptions,
) -> Result<Desired, ApplyError> {
    use entra_onboard_core::steps::partner_center as pc;
    if !profile.features.csp {
        return Err(ApplyError::Profile(
            "features.csp: the Partner Center app is part of the CSP integration; turn CSP on in step 1.".into(),
        ));
    }
    let plan = plan(profile);
    let blocking: Vec<String> = plan
        .issues
        .iter()
        .filter(|i| i.severity == Severity::Error)
        .filter(|i| {
            (i.step <= 2 && !matches!(i.field.as_str(), "client_id" | "tenant_id"))
                || i.field == "partner_center.client_id"
        })
        .map(|i| format!("{}: {} {}", i.field, i.message, i.fix))
        .collect();
    if !blocking.is_empty() {
        return Err(ApplyError::Profile(blocking.join(" ")));
    }
    if profile.name.trim().is_empty() {
        return Err(ApplyError::Profile(
            "name: the Partner Center app is found or created by name; give the profile a name."
                .into(),
        ));
    }
    let Some(agent) = plan.basics.agent_url.as_deref() else {
        return Err(ApplyError::Profile(
            "agent_url: the Partner Center app's redirect URI is built from the agent URL; enter it in step 1.".into(),
        ));
    };
    let client_id = plan
        .partner_center
        .as_ref()
        .and_then(|p| p.apps.first())
        .and_then(|a| a.client_id.clone());
    Ok(Desired {
        display_name: pc::display_name(profile),
        audience: pc::SIGN_IN_AUDIENCE,
        redirects: vec![pc::redirect_uri(agent)],
        remove: options.remove_redirect_uris.clone(),
        prune: options.prune_redirect_uris,
        perms: permissions::required_partner_center(),
        client_id,
        id_tokens: false,
        exclusive: true,
        resource: (
            permissions::PARTNER_CENTER_APP_ID,
            "Microsoft Partner Center",
        ),
        multi: false,
        teams: None,
        federated: None,
    })
}

/// Compares redirect URIs as Entra does: scheme and host case-insensitive, the rest exact.
pub fn same_redirect(a: &str, b: &str) -> bool {
    match (url::Url::parse(a), url::Url::parse(b)) {
        (Ok(x), Ok(y)) => x.as_str() == y.as_str(),
        _ => a == b,
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

/// The redirect URIs after the merge: existing ones kept (unless pruned or removed), the
/// planned ones added in plan order.
fn merged_redirects(existing: &[String], d: &Desired) -> Vec<String> {
    let mut out: Vec<String> = if d.prune {
        Vec::new()
    } else {
        existing
            .iter()
            .filter(|u| !d.remove.iter().any(|r| same_redirect(u, r)))
            .cloned()
            .collect()
    };
    for want in &d.redirects {
        if !out.iter().any(|u| same_redirect(u, want)) {
            out.push(want.clone());
        }
    }
    out
}

/// `requiredResourceAccess` after adding what is missing (nothing is removed).
fn merged_access(existing: &Value, perms: &[&RequiredPermission]) -> (Value, Vec<String>) {
    let mut list: Vec<Value> = existing.as_array().cloned().unwrap_or_default();
    let mut added = Vec::new();
    for p in perms {
        let entry = match list
            .iter_mut()
            .find(|e| e["resourceAppId"].as_str() == Some(p.resource_app_id))
        {
            Some(e) => e,
            None => {
                list.push(json!({"resourceAppId": p.resource_app_id, "resourceAccess": []}));
                list.last_mut().expect("just pushed")
            }
        };
        let access = entry["resourceAccess"]
            .as_array_mut()
            .expect("resourceAccess is an array");
        let has = access.iter().any(|a| {
            a["id"]
                .as_str()
                .is_some_and(|id| id.eq_ignore_ascii_case(p.id))
                && a["type"].as_str() == Some(p.kind.as_str())
        });
        if !has {
            access.push(json!({"id": p.id, "type": p.kind.as_str()}));
            added.push(p.value.to_string());
        }
    }
    (Value::Array(list), added)
}

/// The PATCH body that brings `app` to the plan, and what it changes; `None` when nothing.
fn app_update(app: &Value, d: &Desired) -> Option<(Value, Vec<String>)> {
    let mut body = serde_json::Map::new();
    let mut changes = Vec::new();
    if app["signInAudience"].as_str() != Some(d.audience) {
        body.insert("signInAudience".into(), json!(d.audience));
        changes.push(format!("audience → {}", d.audience));
    }
    let web = &app["web"];
    let existing = strings(&web["redirectUris"]);
    let merged = merged_redirects(&existing, d);
    let id_tokens = !d.id_tokens
        || web["implicitGrantSettings"]["enableIdTokenIssuance"].as_bool() == Some(true);
    if merged != existing || !id_tokens {
        let added: Vec<&String> = merged.iter().filter(|u| !existing.contains(u)).collect();
        let removed: Vec<&String> = existing.iter().filter(|u| !merged.contains(u)).collect();
        if !added.is_empty() {
            changes.push(format!(
                "add redirect URIs {}",
                added
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if !removed.is_empty() {
            changes.push(format!(
                "remove redirect URIs {}",
                removed
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if !id_tokens {
            changes.push("turn on ID tokens".into());
        }
        // `web` is a complex property: send every part of it we know so a service that
        // replaces the whole value keeps the home page and logout URL.
        let mut w = serde_json::Map::new();
        for keep in ["homePageUrl", "logoutUrl"] {
            if !web[keep].is_null() {
                w.insert(keep.into(), web[keep].clone());
            }
        }
        w.insert("redirectUris".into(), json!(merged));
        w.insert(
            "implicitGrantSettings".into(),
            json!({
                "enableIdTokenIssuance": d.id_tokens || web["implicitGrantSettings"]["enableIdTokenIssuance"].as_bool().unwrap_or(false),
                "enableAccessTokenIssuance": web["implicitGrantSettings"]["enableAccessTokenIssuance"].as_bool().unwrap_or(false),
            }),
        );
        body.insert("web".into(), Value::Object(w));
    }
    if d.exclusive {
        let want = permissions::required_resource_access(&d.perms);
        if !same_access(&app["requiredResourceAccess"], &want) {
            body.insert("requiredResourceAccess".into(), want);
            changes.push(format!(
                "declare exactly {} (any other API permission removed)",
                d.perms
                    .iter()
                    .map(|p| p.value)
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    } else {
        let (access, added) = merged_access(&app["requiredResourceAccess"], &d.perms);
        if !added.is_empty() {
            body.insert("requiredResourceAccess".into(), access);
            changes.push(format!("declare permissions {}", added.join(", ")));
        }
    }
    (!body.is_empty()).then_some((Value::Object(body), changes))
}

/// The same permissions (resource, id case-insensitively, type), in any order.
fn same_access(have: &Value, want: &Value) -> bool {
    let sorted = |v: &Value| {
        let mut out = declared_access(v);
        out.sort();
        out
    };
    sorted(have) == sorted(want)
}

/// An app's `requiredResourceAccess` as `(resourceAppId, permission id, type)`, the ids lower
/// case (Graph returns GUIDs in either case). The one reader of that shape for `apply` and
/// the doctor.
pub(crate) fn declared_access(v: &Value) -> Vec<(String, String, String)> {
    v.as_array()
        .into_iter()
        .flatten()
        .flat_map(|r| {
            let res = r["resourceAppId"]
                .as_str()
                .unwrap_or_default()
                .to_ascii_lowercase();
            r["resourceAccess"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(move |a| {
                    (
                        res.clone(),
                        a["id"].as_str().unwrap_or_default().to_ascii_lowercase(),
                        a["type"].as_str().unwrap_or_default().to_string(),
                    )
                })
        })
        .collect()
}

fn create_body(d: &Desired) -> Value {
    json!({
        "displayName": d.display_name,
        "signInAudience": d.audience,
        "web": {
            "redirectUris": d.redirects,
            "implicitGrantSettings": {"enableIdTokenIssuance": d.id_tokens},
        },
        "requiredResourceAccess": permissions::required_resource_access(&d.perms),
    })
}

/// What the tenant's app-management policy says about adding a client secret.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PasswordPolicy {
    /// Set when adding a secret is blocked: which policy and since when.
    pub blocked: Option<String>,
    /// The longest lifetime allowed (ISO 8601 duration as written, and in days).
    pub max_lifetime: Option<(String, i64)>,
}

/// Days in an ISO 8601 duration (`P90D`, `P1Y6M`, `P4DT12H30M5S`), rounded down and
/// counting years as 365 and months as 30 days so the result never exceeds the policy.
pub fn iso_duration_days(s: &str) -> Option<i64> {
    let s = s.strip_prefix('P')?;
    let (date, time) = s.split_once('T').unwrap_or((s, ""));
    let mut days = 0f64;
    let mut num = String::new();
    for c in date.chars() {
        if c.is_ascii_digit() || c == '.' {
            num.push(c);
            continue;
        }
        let n: f64 = num.parse().ok()?;
        num.clear();
        days += n * match c {
            'Y' => 365.0,
            'M' => 30.0,
            'W' => 7.0,
            'D' => 1.0,
            _ => return None,
        };
    }
    for c in time.chars() {
        if c.is_ascii_digit() || c == '.' {
            num.push(c);
            continue;
        }
        let n: f64 = num.parse().ok()?;
        num.clear();
        days += n / match c {
            'H' => 24.0,
            'M' => 1440.0,
            'S' => 86400.0,
            _ => return None,
        };
    }
    if !num.is_empty() {
        return None;
    }
    Some(days.floor() as i64)
}

/// Evaluates the password restrictions that apply to an app created at `created` (now
/// for a new one): an enabled policy assigned to the app replaces the tenant default
/// (appManagementPolicy resource docs); a restriction counts when its `state` is not
/// `disabled` and the app was created after `restrictForAppsCreatedAfterDateTime`.
pub fn password_policy(
    tenant_default: &Value,
    app_policies: &[Value],
    created: DateTime<Utc>,
) -> PasswordPolicy {
    let assigned = app_policies
        .iter()
        .find(|p| p["isEnabled"].as_bool() != Some(false));
    let (name, restrictions) = match assigned {
        Some(p) => (
            format!(
                "the app management policy \"{}\" assigned to this app",
                p["displayName"].as_str().unwrap_or("(unnamed)")
            ),
            p["restrictions"]["passwordCredentials"].clone(),
        ),
        None if tenant_default["isEnabled"].as_bool() == Some(true) => (
            "the tenant's default app management policy (Entra ID > Enterprise apps > Application policies)".to_string(),
            tenant_default["applicationRestrictions"]["passwordCredentials"].clone(),
        ),
        None => return PasswordPolicy::default(),
    };
    let mut out = PasswordPolicy::default();
    for r in restrictions.as_array().into_iter().flatten() {
        if r["state"].as_str() == Some("disabled") {
            continue;
        }
        let applies = match r["restrictForAppsCreatedAfterDateTime"].as_str() {
            None => true,
            Some(t) => DateTime::parse_from_rfc3339(t)
                .map(|t| created > t)
                .unwrap_or(true),
        };
        if !applies {
            continue;
        }
        match r["restrictionType"].as_str() {
            Some("passwordAddition") => {
                out.blocked = Some(format!(
                    "{name} blocks adding client secrets (passwordAddition)"
                ));
            }
            Some("passwordLifetime") => {
                if let Some(iso) = r["maxLifetime"].as_str()
                    && let Some(days) = iso_duration_days(iso)
                {
                    out.max_lifetime = Some((format!("{iso} ({name})"), days));
                }
            }
            _ => {}
        }
    }
    out
}

/// SHA-1 of the certificate: hex for the profile and the portal, base64 for Graph's
/// `customKeyIdentifier`.
pub fn thumbprints(cert_der: &[u8]) -> (String, String) {
    let d = Sha1::digest(cert_der);
    let hex: String = d.iter().map(|b| format!("{b:02X}")).collect();
    (hex, STANDARD.encode(d))
}

#[derive(Debug, Clone)]
enum OpKind {
    CreateApp,
    UpdateApp,
    CreateSp,
    AddPassword,
    AddKey { thumbprint: String },
    AddFederated,
    GrantRole,
    Grant,
}

#[derive(Debug, Clone)]
struct Op {
    id: String,
    label: String,
    kind: OpKind,
    method: &'static str,
    path: String,
    body: Value,
    /// Retry 404 / 400 "does not exist" (objects created moments ago).
    replication: bool,
    /// A 403 hands over to step 4 instead of failing the run.
    consent: bool,
}

struct Run<'a> {
    client: &'a GraphClient,
    progress: Option<ApplyProgressFn>,
    report: ApplyReport,
}

impl Run<'_> {
    fn emit(
        &mut self,
        id: &str,
        label: &str,
        status: StepStatus,
        detail: Option<String>,
        error: Option<GraphErrorBody>,
    ) {
        let step = ApplyStep {
            id: id.into(),
            label: label.into(),
            status,
            detail,
            error,
        };
        if let Some(f) = &self.progress {
            f(&step);
        }
        if status != StepStatus::Running {
            self.report.steps.push(step);
        }
    }

    fn fail(&mut self, code: &str, message: String, fix: String, graph: Option<GraphErrorBody>) {
        self.report.ok = false;
        self.report.error = Some(ApplyFailure {
            code: code.into(),
            message,
            fix,
            graph,
        });
    }

    fn fail_graph(&mut self, e: &GraphError, what: &str) {
        let fix = match e.status() {
            Some(401) => "Sign in again: the Graph token was refused or expired.".to_string(),
            Some(403) => "The signed-in account lacks the role for this: use an Application Administrator (creating, updating) or Privileged Role Administrator (consent), or do this step by hand in the Entra admin centre.".to_string(),
            Some(429) | Some(503) => "Microsoft Graph is throttling or busy; wait a few minutes and run it again (it picks up where it stopped).".to_string(),
            _ => "Run it again: it is safe to repeat and picks up where it stopped. If it fails the same way, quote the request-id to Microsoft support.".to_string(),
        };
        self.fail(e.code(), format!("{what}: {e}"), fix, e.body().cloned());
    }

    /// A read step with progress.
    async fn read(&mut self, id: &str, label: &str, path: &str) -> Result<Value, ()> {
        self.emit(id, label, StepStatus::Running, None, None);
        match self.client.get(path).await {
            Ok(v) => {
                self.emit(id, label, StepStatus::Ok, None, None);
                Ok(v)
            }
            Err(e) => {
                self.emit(
                    id,
                    label,
                    StepStatus::Failed,
                    Some(e.to_string()),
                    e.body().cloned(),
                );
                self.fail_graph(&e, label);
                Err(())
            }
        }
    }
}

fn first(v: &Value) -> Option<Value> {
    v["value"].as_array().and_then(|a| a.first()).cloned()
}

fn substitute(v: &Value, vars: &[(&str, String)]) -> Value {
    match v {
        Value::String(s) => {
            let mut s = s.clone();
            for (k, val) in vars {
                s = s.replace(k, val);
            }
            Value::String(s)
        }
        Value::Array(a) => Value::Array(a.iter().map(|x| substitute(x, vars)).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| (k.clone(), substitute(x, vars)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn is_replication_miss(e: &GraphError) -> bool {
    let Some(b) = e.body() else { return false };
    b.status == 404
        || (b.status == 400
            && (b.code == "Request_ResourceNotFound"
                || b.message.contains("does not exist")
                || b.message.contains("does not reference a valid application")))
}

/// Creates or updates the registration for `profile`. `Err` only when it cannot start
/// (the profile); every Graph failure is a report with `ok: false` saying what exists.
pub async fn apply(
    profile: &Profile,
    client: &GraphClient,
    options: &ApplyOptions,
    progress: Option<ApplyProgressFn>,
    secret_sink: Option<SecretSink>,
) -> Result<ApplyReport, ApplyError> {
    let d = desired(profile, options)?;
    Ok(run_desired(&d, client, options, progress, secret_sink).await)
}

/// Creates or repairs CSP's single-tenant Partner Center app of `profile` in the tenant
/// signed in to (the partner tenant): found by its client ID (or, with none yet, by the
/// name `<customer> Partner Center`), redirect `<agent>/azure/auth`, exactly one API
/// permission (Microsoft Partner Center `user_impersonation`, any other removed), its own
/// secret into `secret_sink`, and admin consent for that permission in the partner
/// tenant. Same two phases, dry run and idempotence as [`apply`].
pub async fn apply_partner_center(
    profile: &Profile,
    client: &GraphClient,
    options: &ApplyOptions,
    progress: Option<ApplyProgressFn>,
    secret_sink: Option<SecretSink>,
) -> Result<ApplyReport, ApplyError> {
    let d = desired_partner_center(profile, options)?;
    Ok(run_desired(&d, client, options, progress, secret_sink).await)
}

async fn run_desired(
    d: &Desired,
    client: &GraphClient,
    options: &ApplyOptions,
    progress: Option<ApplyProgressFn>,
    secret_sink: Option<SecretSink>,
) -> ApplyReport {
    let now = options.now.unwrap_or_else(Utc::now);
    // The client may have been used before (doctor, an earlier run): report this run only.
    let log_start = client.sent().len();
    let mut run = Run {
        client,
        progress,
        report: ApplyReport {
            ok: true,
            dry_run: options.dry_run,
            application: None,
            created_application: false,
            service_principal_id: None,
            created_service_principal: false,
            steps: Vec::new(),
            requests: Vec::new(),
            exists: Vec::new(),
            handover: Vec::new(),
            credential: None,
            policy_notes: Vec::new(),
            error: None,
            partner_center: None,
        },
    };
    let writes = match read_and_plan(&mut run, d, options, now).await {
        Ok(w) => w,
        Err(()) => {
            run.report.requests = client.sent().split_off(log_start);
            finish(&mut run, d);
            return run.report;
        }
    };
    if options.dry_run {
        let planned: Vec<GraphRequest> = writes
            .iter()
            .map(|op| GraphRequest {
                method: op.method.into(),
                url: client.url(&op.path),
                body: Some(op.body.clone()),
            })
            .collect();
        for op in &writes {
            run.emit(
                &op.id,
                &op.label,
                StepStatus::Skipped,
                Some("dry run: not sent".into()),
                None,
            );
        }
        run.report.requests = client.sent().split_off(log_start);
        run.report.requests.extend(planned);
        finish(&mut run, d);
        return run.report;
    }
    execute(&mut run, writes, options, secret_sink).await;
    run.report.requests = client.sent().split_off(log_start);
    finish(&mut run, d);
    run.report
}

/// Phase 1: reads, then the list of writes. Each part below reads what it needs (with
/// progress), in the order the report lists the steps.
async fn read_and_plan(
    run: &mut Run<'_>,
    d: &Desired,
    options: &ApplyOptions,
    now: DateTime<Utc>,
) -> Result<Vec<Op>, ()> {
    let app = find_application(run, d).await?;
    let sp = match &app {
        Some(a) => read_service_principal(run, a).await?,
        None => None,
    };
    let consent = if options.grant_consent && !d.perms.is_empty() {
        Some(read_consent(run, d, sp.as_ref()).await?)
    } else {
        None
    };
    let credential_op = match &options.credential {
        CredentialRequest::None => None,
        CredentialRequest::Secret { months, force } => {
            plan_secret(run, app.as_ref(), *months, *force, now).await?
        }
        CredentialRequest::Certificate { cert_der } => {
            plan_certificate(run, app.as_ref(), cert_der, now).await?
        }
        CredentialRequest::Federated(spec) => plan_federated(run, app.as_ref(), spec).await?,
    };
    let mut ops = registration_ops(run, app.as_ref(), sp.is_none(), d);
    ops.extend(credential_op);
    if let Some(c) = &consent {
        ops.extend(consent_ops(run, d, c));
    }
    fill_known_ids(run, &mut ops);
    Ok(ops)
}

/// The registration: by client id, else by name. Several with the name, or none with the
/// client id, stop the run (the wizard does not guess, and does not create a second app).
async fn find_application(run: &mut Run<'_>, d: &Desired) -> Result<Option<Value>, ()> {
    let filter = match &d.client_id {
        Some(id) => format!("appId eq {}", odata_string(id)),
        None => format!("displayName eq {}", odata_string(&d.display_name)),
    };
    let found = run
        .read(
            "find_application",
            "Find the app registration",
            &with_query("/applications", &[("$filter", &filter)]),
        )
        .await?;
    let apps = found["value"].as_array().cloned().unwrap_or_default();
    if apps.len() > 1 {
        run.fail(
            "apply.ambiguous_name",
            format!(
                "{} app registrations are named \"{}\"; the wizard will not guess which one is the service desk's.",
                apps.len(),
                d.display_name
            ),
            "Put the right one's Application (client) ID in the profile (step 1), or rename the profile.".into(),
            None,
        );
        return Err(());
    }
    let app = apps.into_iter().next();
    if app.is_none()
        && let Some(id) = &d.client_id
    {
        run.fail(
            "apply.app_not_found",
            format!("No app registration with client id {id} is in the tenant you signed in to."),
            "Check the tenant (sign in to the tenant that holds the app), or clear the client id in step 1 to create a new registration.".into(),
            None,
        );
        return Err(());
    }
    if let Some(a) = &app {
        run.report.application = Some(AppSummary {
            object_id: a["id"].as_str().unwrap_or_default().into(),
            app_id: a["appId"].as_str().unwrap_or_default().into(),
            display_name: a["displayName"].as_str().unwrap_or_default().into(),
        });
    }
    Ok(app)
}

/// The service principal (enterprise app) of an existing registration, if there is one.
async fn read_service_principal(run: &mut Run<'_>, app: &Value) -> Result<Option<Value>, ()> {
    let filter = format!(
        "appId eq {}",
        odata_string(app["appId"].as_str().unwrap_or_default())
    );
    let v = run
        .read(
            "read_service_principal",
            "Find its service principal (enterprise app)",
            &with_query("/servicePrincipals", &[("$filter", &filter)]),
        )
        .await?;
    let sp = first(&v);
    run.report.service_principal_id = sp
        .as_ref()
        .and_then(|s| s["id"].as_str().map(str::to_string));
    Ok(sp)
}

/// The consent already in place, read before granting any.
struct ConsentState {
    /// Microsoft Graph's service principal in the tenant (`None`: not found).
    graph_sp: Option<String>,
    /// The app roles (application permissions) already granted on Graph, lower-cased.
    assigned_roles: Vec<String>,
    /// The tenant-wide (`AllPrincipals`) delegated grant on Graph, if any.
    grant: Option<Value>,
}

/// Graph's service principal and, when the app has one, what it is granted already.
async fn read_consent(
    run: &mut Run<'_>,
    d: &Desired,
    sp: Option<&Value>,
) -> Result<ConsentState, ()> {
    let mut state = ConsentState {
        graph_sp: None,
        assigned_roles: Vec::new(),
        grant: None,
    };
    let filter = format!("appId eq {}", odata_string(d.resource.0));
    let v = run
        .read(
            "read_graph_service_principal",
            &format!("Find {} in the tenant", d.resource.1),
            &with_query("/servicePrincipals", &[("$filter", &filter)]),
        )
        .await?;
    state.graph_sp = first(&v).and_then(|s| s["id"].as_str().map(str::to_string));
    let (Some(s), Some(g)) = (sp, &state.graph_sp) else {
        return Ok(state);
    };
    let sp_id = s["id"].as_str().unwrap_or_default();
    if d.perms.iter().any(|p| p.kind == PermissionKind::Role) {
        let v = run
            .read(
                "read_app_role_assignments",
                "Read the application permissions already granted",
                &format!("/servicePrincipals/{sp_id}/appRoleAssignments"),
            )
            .await?;
        state.assigned_roles = v["value"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|a| a["resourceId"].as_str() == Some(g))
            .filter_map(|a| a["appRoleId"].as_str().map(str::to_ascii_lowercase))
            .collect();
    }
    let filter = format!("clientId eq {}", odata_string(sp_id));
    let v = run
        .read(
            "read_permission_grants",
            "Read the delegated permissions already granted",
            &with_query("/oauth2PermissionGrants", &[("$filter", &filter)]),
        )
        .await?;
    state.grant = v["value"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|x| {
            x["consentType"].as_str() == Some("AllPrincipals")
                && x["resourceId"].as_str() == Some(g)
        })
        .cloned();
    Ok(state)
}

/// A new client secret, unless a valid one exists (and `force` is off). The tenant's app
/// management policies are read first: one that blocks secrets stops the run before any
/// write, and one that caps their lifetime shortens the new secret.
async fn plan_secret(
    run: &mut Run<'_>,
    app: Option<&Value>,
    months: u32,
    force: bool,
    now: DateTime<Utc>,
) -> Result<Option<Op>, ()> {
    let valid_until = app
        .and_then(|a| a["passwordCredentials"].as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|c| {
            c["endDateTime"]
                .as_str()
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        })
        .map(|t| t.with_timezone(&Utc))
        .max();
    let good = valid_until.filter(|t| (*t - now).num_days() > CREDENTIAL_RENEW_DAYS);
    if let (Some(t), false) = (good, force) {
        run.emit(
            "add_password",
            "Add a client secret",
            StepStatus::Skipped,
            Some(format!(
                "a client secret valid until {} already exists; pass force to add another",
                t.format("%Y-%m-%d")
            )),
            None,
        );
        return Ok(None);
    }
    let policy = read_password_policy(run, app, now).await?;
    if let Some(why) = &policy.blocked {
        run.report.policy_notes.push(format!("Blocked: {why}."));
        run.emit(
            "add_password",
            "Add a client secret",
            StepStatus::Failed,
            Some(why.clone()),
            None,
        );
        run.fail(
            "apply.policy_blocks_secret",
            format!("Nothing was changed: {why}, so adding a client secret would fail."),
            "Use a certificate instead (entra-onboard apply --credential certificate --cert <cert.pem>, or \"Certificate\" in step 3), or ask the tenant's admin to exclude this app from the policy.".into(),
            None,
        );
        return Err(());
    }
    let months = months.clamp(1, SECRET_MAX_MONTHS);
    let mut end = now.checked_add_months(Months::new(months)).unwrap_or(now);
    let mut detail = format!("valid {months} months");
    if let Some((iso, days)) = &policy.max_lifetime {
        // A lifetime past the end of the calendar (the policy is network input) caps
        // nothing.
        let cap_days = days.saturating_sub(1).max(1);
        let cap = chrono::TimeDelta::try_days(cap_days)
            .and_then(|d| now.checked_add_signed(d))
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        run.report
            .policy_notes
            .push(format!("Secrets may live at most {iso}."));
        if end > cap {
            end = cap;
            detail = format!("shortened to {cap_days} days: the policy allows at most {iso}");
        }
    }
    Ok(Some(Op {
        id: "add_password".into(),
        label: format!("Add a client secret ({detail})"),
        kind: OpKind::AddPassword,
        method: "POST",
        path: "/applications/{applicationObjectId}/addPassword".into(),
        body: json!({"passwordCredential": {
            "displayName": format!("Entra Onboard {}", now.format("%Y-%m-%d")),
            "endDateTime": end.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        }}),
        replication: true,
        consent: false,
    }))
}

/// The password policy that applies to `app` (a new app: created now): the tenant default
/// and the policies assigned to the app.
async fn read_password_policy(
    run: &mut Run<'_>,
    app: Option<&Value>,
    now: DateTime<Utc>,
) -> Result<PasswordPolicy, ()> {
    let default = run
        .read(
            "read_policies",
            "Read the tenant's app management policies",
            "/policies/defaultAppManagementPolicy",
        )
        .await?;
    let mut assigned = Vec::new();
    let mut created = now;
    if let Some(a) = app {
        let id = a["id"].as_str().unwrap_or_default();
        let v = run
            .read(
                "read_app_policies",
                "Read the policies assigned to this app",
                &format!("/applications/{id}/appManagementPolicies"),
            )
            .await?;
        assigned = v["value"].as_array().cloned().unwrap_or_default();
        if let Some(t) = a["createdDateTime"]
            .as_str()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        {
            created = t.with_timezone(&Utc);
        }
    }
    Ok(password_policy(&default, &assigned, created))
}

/// The certificate upload, unless it is on the app already.
async fn plan_certificate(
    run: &mut Run<'_>,
    app: Option<&Value>,
    cert_der: &[u8],
    now: DateTime<Utc>,
) -> Result<Option<Op>, ()> {
    let (hex, b64) = thumbprints(cert_der);
    let on_app = app
        .and_then(|a| a["keyCredentials"].as_array().cloned())
        .unwrap_or_default()
        .iter()
        .any(|k| {
            k["customKeyIdentifier"]
                .as_str()
                .is_some_and(|c| c == b64 || c.eq_ignore_ascii_case(&hex))
        });
    if on_app {
        run.emit(
            "add_certificate",
            "Upload the certificate",
            StepStatus::Skipped,
            Some(format!("certificate {hex} is already on the app")),
            None,
        );
        return Ok(None);
    }
    let mut keep = match app {
        Some(a) => valid_key_credentials(run, a, now).await?,
        None => Vec::new(),
    };
    keep.push(json!({
        "customKeyIdentifier": b64,
        "displayName": format!("CN=Entra Onboard {}", now.format("%Y-%m-%d")),
        "key": STANDARD.encode(cert_der),
        "type": "AsymmetricX509Cert",
        "usage": "Verify",
    }));
    Ok(Some(Op {
        id: "add_certificate".into(),
        label: "Upload the certificate".into(),
        kind: OpKind::AddKey { thumbprint: hex },
        method: "PATCH",
        path: "/applications/{applicationObjectId}".into(),
        body: json!({"keyCredentials": keep}),
        replication: true,
        consent: false,
    }))
}

/// The federated credential Halo issues tokens for, unless the app already trusts exactly
/// it. One with Halo's issuer and subject but another audience (or Halo's name but other
/// values), or an app already at 20, stops the run before any write: changing or deleting
/// a credential is left to the admin.
async fn plan_federated(
    run: &mut Run<'_>,
    app: Option<&Value>,
    spec: &super::federated::FederatedSpec,
) -> Result<Option<Op>, ()> {
    use super::federated::{FederatedState, collection_path, compare, create_body};
    const LABEL: &str = "Add the federated credential (Other issuer: Halo)";
    if let Some(a) = app {
        let id = a["id"].as_str().unwrap_or_default();
        let v = run
            .read(
                "read_federated_credentials",
                "Read the federated credentials already on the app",
                &collection_path(id),
            )
            .await?;
        let existing = v["value"].as_array().cloned().unwrap_or_default();
        match compare(&existing, spec) {
            FederatedState::Present { name } => {
                run.emit(
                    "add_federated_credential",
                    LABEL,
                    StepStatus::Skipped,
                    Some(format!("the app already trusts Halo's issuer, subject and audience (credential \"{name}\")")),
                    None,
                );
                return Ok(None);
            }
            FederatedState::Differs { name, why } => {
                run.emit(
                    "add_federated_credential",
                    LABEL,
                    StepStatus::Failed,
                    Some(why.clone()),
                    None,
                );
                run.fail(
                    "apply.federated_differs",
                    format!("Nothing was changed: the federated credential \"{name}\" is already on the app, but {why}."),
                    format!("In Entra (Certificates & secrets > Federated credentials), edit \"{name}\" to Halo's values or delete it, or give step 3 another name; then run it again."),
                    None,
                );
                return Err(());
            }
            FederatedState::Full => {
                run.emit(
                    "add_federated_credential",
                    LABEL,
                    StepStatus::Failed,
                    Some("the app already has 20 federated credentials".into()),
                    None,
                );
                run.fail(
                    "apply.federated_full",
                    "Nothing was changed: the app already holds 20 federated credentials, Microsoft's maximum, and none is Halo's.".into(),
                    "Delete one the app no longer needs (Certificates & secrets > Federated credentials), then run it again.".into(),
                    None,
                );
                return Err(());
            }
            FederatedState::Missing => {}
        }
    }
    Ok(Some(Op {
        id: "add_federated_credential".into(),
        label: format!("{LABEL}: \"{}\"", spec.name),
        kind: OpKind::AddFederated,
        method: "POST",
        path: collection_path("{applicationObjectId}"),
        body: create_body(spec),
        replication: true,
        consent: false,
    }))
}

/// The app's certificates that are still valid, with their keys, to send back: `key` is
/// only returned for a single object with `$select=keyCredentials` (keycredential.md), and
/// PATCH replaces the whole collection.
async fn valid_key_credentials(
    run: &mut Run<'_>,
    app: &Value,
    now: DateTime<Utc>,
) -> Result<Vec<Value>, ()> {
    let mut keep: Vec<Value> = Vec::new();
    if app["keyCredentials"].as_array().is_none_or(Vec::is_empty) {
        return Ok(keep);
    }
    let id = app["id"].as_str().unwrap_or_default();
    let v = run
        .read(
            "read_key_credentials",
            "Read the certificates already on the app",
            &with_query(
                &format!("/applications/{id}"),
                &[("$select", "keyCredentials")],
            ),
        )
        .await?;
    for k in v["keyCredentials"].as_array().into_iter().flatten() {
        let valid = k["endDateTime"]
            .as_str()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .is_none_or(|t| t > now);
        if valid && !k["key"].is_null() {
            let mut k = k.clone();
            if let Some(o) = k.as_object_mut() {
                o.retain(|name, _| {
                    matches!(
                        name.as_str(),
                        "customKeyIdentifier"
                            | "displayName"
                            | "endDateTime"
                            | "key"
                            | "keyId"
                            | "startDateTime"
                            | "type"
                            | "usage"
                    )
                });
            }
            keep.push(k);
        }
    }
    Ok(keep)
}

/// Create or update the registration, and create its service principal when it has none.
fn registration_ops(run: &mut Run<'_>, app: Option<&Value>, no_sp: bool, d: &Desired) -> Vec<Op> {
    let mut ops = Vec::new();
    match app {
        None => ops.push(Op {
            id: "create_application".into(),
            label: format!("Create the app registration \"{}\"", d.display_name),
            kind: OpKind::CreateApp,
            method: "POST",
            path: "/applications".into(),
            body: create_body(d),
            replication: false,
            consent: false,
        }),
        Some(a) => match app_update(a, d) {
            Some((body, changes)) => ops.push(Op {
                id: "update_application".into(),
                label: format!("Update the app registration: {}", changes.join("; ")),
                kind: OpKind::UpdateApp,
                method: "PATCH",
                path: "/applications/{applicationObjectId}".into(),
                body,
                replication: false,
                consent: false,
            }),
            None => run.emit(
                "update_application",
                "Update the app registration",
                StepStatus::Skipped,
                Some("already as planned".into()),
                None,
            ),
        },
    }
    if let Some(tab) = &d.teams {
        teams_ops(run, app, tab, d, &mut ops);
    }
    if no_sp {
        ops.push(Op {
            id: "create_service_principal".into(),
            label: "Create the service principal (enterprise app)".into(),
            kind: OpKind::CreateSp,
            method: "POST",
            path: "/servicePrincipals".into(),
            body: json!({"appId": "{appId}"}),
            replication: true,
            consent: false,
        });
    } else {
        run.emit(
            "create_service_principal",
            "Create the service principal",
            StepStatus::Skipped,
            Some("it exists".into()),
            None,
        );
    }
    ops
}

/// `--teams-tab`: the writes [`super::teams_tab`] computes from the application as read.
/// An application made by this run is not read back, so its Teams settings wait for the
/// next run (which finds it and adds them).
fn teams_ops(
    run: &mut Run<'_>,
    app: Option<&Value>,
    tab: &crate::teams::TeamsTabPlan,
    d: &Desired,
    ops: &mut Vec<Op>,
) {
    let label = "Set up the app registration for the Teams tab";
    let Some(a) = app else {
        run.emit(
            "teams_tab",
            label,
            StepStatus::Skipped,
            Some(
                "the application is new: run apply --teams-tab again to add the Teams tab settings"
                    .into(),
            ),
            None,
        );
        return;
    };
    let writes = super::teams_tab::writes(a, tab, &d.display_name);
    if writes.is_empty() {
        run.emit(
            "teams_tab",
            label,
            StepStatus::Skipped,
            Some("already as planned".into()),
            None,
        );
    }
    for w in writes {
        ops.push(Op {
            id: w.id.into(),
            label: w.label,
            kind: OpKind::UpdateApp,
            method: "PATCH",
            path: "/applications/{applicationObjectId}".into(),
            body: w.body,
            replication: false,
            consent: false,
        });
    }
}

/// Admin consent: each application permission not yet assigned, and the delegated
/// permissions in one tenant-wide grant (created, or extended with what it lacks).
fn consent_ops(run: &mut Run<'_>, d: &Desired, c: &ConsentState) -> Vec<Op> {
    let Some(g) = &c.graph_sp else {
        run.emit(
            "grant_consent",
            "Grant admin consent",
            StepStatus::Skipped,
            Some(format!(
                "{}'s service principal was not found in this tenant",
                d.resource.1
            )),
            None,
        );
        run.report
            .handover
            .push("Grant admin consent with the link in step 4.".into());
        return Vec::new();
    };
    let mut ops = Vec::new();
    for r in d.perms.iter().filter(|p| p.kind == PermissionKind::Role) {
        if c.assigned_roles.contains(&r.id.to_ascii_lowercase()) {
            continue;
        }
        ops.push(Op {
            id: format!("grant_app_role:{}", r.value),
            label: format!("Grant admin consent to {} (application)", r.value),
            kind: OpKind::GrantRole,
            method: "POST",
            path: format!("/servicePrincipals/{g}/appRoleAssignedTo"),
            body: json!({"principalId": "{servicePrincipalId}", "resourceId": g, "appRoleId": r.id}),
            replication: true,
            consent: true,
        });
    }
    let want: Vec<&str> = d
        .perms
        .iter()
        .filter(|p| p.kind == PermissionKind::Scope)
        .map(|s| s.value)
        .collect();
    ops.extend(delegated_grant_op(g, &want, c.grant.as_ref()));
    ops
}

/// The tenant-wide delegated grant on Graph (`g`) for `want`: a new grant, or the missing
/// scopes added to `grant`; `None` when nothing is missing.
fn delegated_grant_op(g: &str, want: &[&str], grant: Option<&Value>) -> Option<Op> {
    if want.is_empty() {
        return None;
    }
    let Some(gr) = grant else {
        return Some(Op {
            id: "grant_delegated".into(),
            label: format!(
                "Grant admin consent to {} (delegated, all users)",
                want.join(", ")
            ),
            kind: OpKind::Grant,
            method: "POST",
            path: "/oauth2PermissionGrants".into(),
            body: json!({"clientId": "{servicePrincipalId}", "consentType": "AllPrincipals", "resourceId": g, "scope": want.join(" ")}),
            replication: true,
            consent: true,
        });
    };
    let have: Vec<&str> = gr["scope"]
        .as_str()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    let missing: Vec<&str> = want
        .iter()
        .copied()
        .filter(|w| !have.iter().any(|h| h.eq_ignore_ascii_case(w)))
        .collect();
    if missing.is_empty() {
        return None;
    }
    let mut all: Vec<&str> = have.clone();
    all.extend(&missing);
    Some(Op {
        id: "grant_delegated".into(),
        label: format!(
            "Add {} to the admin consent (delegated)",
            missing.join(", ")
        ),
        kind: OpKind::Grant,
        method: "PATCH",
        path: format!(
            "/oauth2PermissionGrants/{}",
            gr["id"].as_str().unwrap_or_default()
        ),
        body: json!({"scope": all.join(" ")}),
        replication: false,
        consent: true,
    })
}

/// Fills in the ids known already; the rest are filled in as they are created.
fn fill_known_ids(run: &Run<'_>, ops: &mut [Op]) {
    let mut vars: Vec<(&str, String)> = Vec::new();
    if let Some(a) = &run.report.application {
        vars.push(("{applicationObjectId}", a.object_id.clone()));
        vars.push(("{appId}", a.app_id.clone()));
    }
    if let Some(s) = &run.report.service_principal_id {
        vars.push(("{servicePrincipalId}", s.clone()));
    }
    for op in ops {
        for (k, v) in &vars {
            op.path = op.path.replace(k, v);
        }
        op.body = substitute(&op.body, &vars);
    }
}

/// Phase 2: the writes, in order, stopping at the first failure (the rest are listed as
/// not attempted). Ids of objects created on the way are filled into the later writes.
async fn execute(
    run: &mut Run<'_>,
    ops: Vec<Op>,
    options: &ApplyOptions,
    mut secret_sink: Option<SecretSink>,
) {
    let mut vars: Vec<(&str, String)> = Vec::new();
    let mut failed_at: Option<String> = None;
    for op in ops {
        if let Some(f) = &failed_at {
            run.emit(
                &op.id,
                &op.label,
                StepStatus::Skipped,
                Some(format!("not attempted: {f} failed")),
                None,
            );
            continue;
        }
        let path = vars
            .iter()
            .fold(op.path.clone(), |p, (k, v)| p.replace(k, v));
        let body = substitute(&op.body, &vars);
        run.emit(&op.id, &op.label, StepStatus::Running, None, None);
        let v = match send(run, &op, &path, &body, options).await {
            Ok(v) => v,
            Err(e) if op.consent && e.status() == Some(403) => {
                hand_over_consent(run, &op, &e);
                continue;
            }
            Err(e) => {
                run.emit(
                    &op.id,
                    &op.label,
                    StepStatus::Failed,
                    Some(e.to_string()),
                    e.body().cloned(),
                );
                run.fail_graph(&e, &op.label);
                failed_at = Some(op.label.clone());
                continue;
            }
        };
        match record(run, &op, &v, &mut vars, &mut secret_sink) {
            Ok(detail) => run.emit(&op.id, &op.label, StepStatus::Ok, detail, None),
            Err(()) => failed_at = Some(op.label.clone()),
        }
    }
}

/// Sends one write; an object created moments ago that Graph does not see yet (a
/// replication miss) is retried with a growing delay.
async fn send(
    run: &Run<'_>,
    op: &Op,
    path: &str,
    body: &Value,
    options: &ApplyOptions,
) -> Result<Value, GraphError> {
    let mut attempt = 0;
    loop {
        match run.client.send(op.method, path, Some(body)).await {
            Err(e)
                if op.replication
                    && attempt < options.replication.retries
                    && is_replication_miss(&e) =>
            {
                attempt += 1;
                (run.client.sleeper())(options.replication.delay.saturating_mul(attempt)).await;
            }
            other => break other,
        }
    }
}

/// A consent write the signed-in role may not make: skipped, and handed over to step 4.
fn hand_over_consent(run: &mut Run<'_>, op: &Op, e: &GraphError) {
    run.emit(
        &op.id,
        &op.label,
        StepStatus::Skipped,
        Some("your role cannot grant this consent; handed over to step 4".into()),
        e.body().cloned(),
    );
    let h = "Grant admin consent with the link in step 4, signed in as a Privileged Role Administrator or Global Administrator (application permissions need one of them).".to_string();
    if !run.report.handover.contains(&h) {
        run.report.handover.push(h);
    }
}

/// Records what a successful write created (the application, the service principal, the
/// credential) and the ids later writes need. Returns the step's detail; `Err` when a new
/// secret could not be stored (the run stops there).
fn record(
    run: &mut Run<'_>,
    op: &Op,
    v: &Value,
    vars: &mut Vec<(&str, String)>,
    secret_sink: &mut Option<SecretSink>,
) -> Result<Option<String>, ()> {
    match &op.kind {
        OpKind::CreateApp => {
            let summary = AppSummary {
                object_id: v["id"].as_str().unwrap_or_default().into(),
                app_id: v["appId"].as_str().unwrap_or_default().into(),
                display_name: v["displayName"].as_str().unwrap_or_default().into(),
            };
            let detail = format!("client id {}", summary.app_id);
            vars.push(("{applicationObjectId}", summary.object_id.clone()));
            vars.push(("{appId}", summary.app_id.clone()));
            run.report.application = Some(summary);
            run.report.created_application = true;
            Ok(Some(detail))
        }
        OpKind::CreateSp => {
            let id = v["id"].as_str().unwrap_or_default().to_string();
            let detail = format!("object id {id}");
            vars.push(("{servicePrincipalId}", id.clone()));
            run.report.service_principal_id = Some(id);
            run.report.created_service_principal = true;
            Ok(Some(detail))
        }
        OpKind::AddPassword => record_secret(run, op, v, secret_sink.take()).map(|()| None),
        OpKind::AddKey { thumbprint } => {
            run.report.credential = Some(CreatedCredential {
                kind: CredentialKind::Certificate,
                key_id: None,
                hint: None,
                thumbprint: Some(thumbprint.clone()),
                end_date_time: None,
                stored: true,
            });
            Ok(None)
        }
        OpKind::AddFederated => {
            run.report.credential = Some(CreatedCredential {
                kind: CredentialKind::Federated,
                key_id: v["id"].as_str().map(str::to_string),
                hint: None,
                thumbprint: None,
                end_date_time: None,
                stored: true,
            });
            Ok(Some(
                "allow a few minutes for it to replicate before Halo's \"Authorise Application\" (AADSTS70021 until then)".into(),
            ))
        }
        OpKind::UpdateApp | OpKind::GrantRole | OpKind::Grant => Ok(None),
    }
}

/// The new client secret goes straight into `sink` (the keychain) and nowhere else. When
/// it cannot be stored, the run fails and says which Secret ID to delete.
fn record_secret(
    run: &mut Run<'_>,
    op: &Op,
    v: &Value,
    sink: Option<SecretSink>,
) -> Result<(), ()> {
    let secret = v["secretText"]
        .as_str()
        .map(|s| Sensitive::new(s.to_string()));
    let end = v["endDateTime"]
        .as_str()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc));
    let mut created = CreatedCredential {
        kind: CredentialKind::Secret,
        key_id: v["keyId"].as_str().map(str::to_string),
        hint: v["hint"].as_str().map(str::to_string).or_else(|| {
            secret
                .as_ref()
                .map(|s| s.expose().chars().take(3).collect())
        }),
        thumbprint: None,
        end_date_time: end,
        stored: false,
    };
    let stored = match (secret, sink) {
        (Some(s), Some(sink)) => sink(&s),
        (Some(_), None) => Err("no place to store it was given".into()),
        (None, _) => Err("Graph returned no secretText".into()),
    };
    if let Err(why) = stored {
        let key = created.key_id.clone().unwrap_or_default();
        run.report.credential = Some(created);
        run.emit(
            &op.id,
            &op.label,
            StepStatus::Failed,
            Some(format!("created in Entra but not stored: {why}")),
            None,
        );
        run.fail(
            "apply.secret_not_stored",
            format!("The client secret was created in Entra (Secret ID {key}) but could not be stored: {why}."),
            format!("Delete the secret with ID {key} under Certificates & secrets (its value is lost), fix the keychain, and run apply again."),
            None,
        );
        return Err(());
    }
    created.stored = true;
    run.report.credential = Some(created);
    Ok(())
}

/// Fills in the plain-language summary of what exists and what is left to do.
fn finish(run: &mut Run<'_>, d: &Desired) {
    let r = &mut run.report;
    let dry = if r.dry_run {
        " (dry run: nothing was changed)"
    } else {
        ""
    };
    match &r.application {
        Some(a) => r.exists.push(format!(
            "App registration \"{}\": client id {}, object id {}{}{dry}.",
            a.display_name,
            a.app_id,
            a.object_id,
            if r.created_application {
                ", created by this run"
            } else {
                ", already there"
            }
        )),
        None => r
            .exists
            .push(format!("No app registration was created{dry}.")),
    }
    if r.application.is_some() {
        match &r.service_principal_id {
            Some(id) => r.exists.push(format!(
                "Service principal (enterprise app) {id}{}.",
                if r.created_service_principal { ", created by this run" } else { ", already there" }
            )),
            None => r.exists.push(
                "No service principal yet: app-only sign-ins fail with AADSTS7000229 until it exists. Run apply again, or grant admin consent (step 4), which creates it.".into(),
            ),
        }
    }
    if let Some(c) = &r.credential {
        match c.kind {
            CredentialKind::Secret => r.exists.push(format!(
                "Client secret {}… (Secret ID {}), expires {}{}.",
                c.hint.clone().unwrap_or_default(),
                c.key_id.clone().unwrap_or_default(),
                c.end_date_time
                    .map(|t| t.format("%Y-%m-%d").to_string())
                    .unwrap_or_else(|| "(unknown)".into()),
                if c.stored {
                    ", stored in the keychain"
                } else {
                    " — NOT stored: delete it and run apply again"
                }
            )),
            CredentialKind::Federated => r.exists.push(format!(
                "Federated credential \"{}\" (Other issuer) on the app: it trusts Halo's issuer {}.",
                d.federated.as_ref().map(|f| f.0.as_str()).unwrap_or_default(),
                d.federated.as_ref().map(|f| f.1.as_str()).unwrap_or_default()
            )),
            _ => r.exists.push(format!(
                "Certificate {} uploaded to the app.",
                c.thumbprint.clone().unwrap_or_default()
            )),
        }
    }
    if r.credential.is_none()
        && let Some(s) = r.steps.iter().find(|s| {
            s.id == "add_federated_credential" && s.status == StepStatus::Skipped && !r.dry_run
        })
    {
        r.exists.push(format!(
            "Federated credential (Other issuer) on the app already: {}.",
            s.detail.clone().unwrap_or_default()
        ));
    }
    let granted: Vec<&str> = r
        .steps
        .iter()
        .filter(|s| s.status == StepStatus::Ok && s.id.starts_with("grant_"))
        .map(|s| s.label.as_str())
        .collect();
    if !granted.is_empty() {
        r.exists.push(format!(
            "Admin consent in the home tenant: {}.",
            granted.join("; ")
        ));
    }
    if d.multi && r.application.is_some() {
        r.handover.push(
            "Multi-tenant: each customer tenant's admin still consents with the link in step 4."
                .into(),
        );
    }
    if r.error.is_some() {
        r.ok = false;
    }
}

/// Writes what the run created into the profile: the client id (when it had none) and the
/// credential's kind, hint, thumbprint and expiry. Returns true when anything changed.
pub fn update_profile(profile: &mut Profile, report: &ApplyReport) -> bool {
    let before = profile.clone();
    if let Some(a) = &report.application
        && profile.client_id.trim().is_empty()
        && !report.dry_run
    {
        profile.client_id = a.app_id.clone();
    }
    if let Some(c) = &report.credential
        && c.stored
        && c.kind == CredentialKind::Federated
    {
        // The credential is Halo's values as typed; only the name it got is recorded, so
        // the doctor and the sheet name the same one.
        let name = crate::steps::federated::name_in_effect(profile);
        if let Some(f) = profile.credential.federated.as_mut()
            && f.name.is_empty()
        {
            f.name = name;
        }
    } else if let Some(c) = &report.credential
        && c.stored
    {
        profile.credential.kind = c.kind;
        profile.credential.secret_hint = c.hint.clone();
        profile.credential.thumbprint = c.thumbprint.clone();
        profile.credential.expires_on = c.end_date_time.map(|t| t.date_naive());
    }
    *profile != before
}

/// [`update_profile`] for CSP's Partner Center app: its client id (when it had none) and
/// its own credential record. Returns true when anything changed.
pub fn update_partner_center(profile: &mut Profile, report: &ApplyReport) -> bool {
    let before = profile.partner_center.clone();
    let pc = &mut profile.partner_center;
    if let Some(a) = &report.application
        && pc.client_id.trim().is_empty()
        && !report.dry_run
    {
        pc.client_id = a.app_id.clone();
    }
    if let Some(c) = &report.credential
        && c.stored
    {
        pc.credential.kind = c.kind;
        pc.credential.secret_hint = c.hint.clone();
        pc.credential.thumbprint = c.thumbprint.clone();
        pc.credential.expires_on = c.end_date_time.map(|t| t.date_naive());
    }
    profile.partner_center != before
}

/// A run that could not start, as a report (the Partner Center app after the main app
/// ran: the main app's report still stands, and this says what stopped the second one).
pub fn not_started(e: &ApplyError, dry_run: bool) -> ApplyReport {
    ApplyReport {
        ok: false,
        dry_run,
        application: None,
        created_application: false,
        service_principal_id: None,
        created_service_principal: false,
        steps: Vec::new(),
        requests: Vec::new(),
        exists: vec!["Nothing was changed for this app.".into()],
        handover: Vec::new(),
        credential: None,
        policy_notes: Vec::new(),
        error: Some(ApplyFailure {
            code: e.code().into(),
            message: e.to_string(),
            fix: "Fix the field named, then run it again (it is safe to repeat).".into(),
            graph: None,
        }),
        partner_center: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_durations() {
        assert_eq!(iso_duration_days("P90D"), Some(90));
        assert_eq!(iso_duration_days("P1Y"), Some(365));
        assert_eq!(iso_duration_days("P4DT12H30M5S"), Some(4));
        assert_eq!(iso_duration_days("P1Y6M"), Some(545));
        assert_eq!(iso_duration_days("90D"), None);
    }

    #[test]
    fn the_tenant_default_and_an_assigned_policy() {
        let t: DateTime<Utc> = "2025-06-01T00:00:00Z".parse().unwrap();
        let default = json!({"isEnabled": true, "applicationRestrictions": {"passwordCredentials": [
            {"restrictionType": "passwordAddition", "state": "enabled", "restrictForAppsCreatedAfterDateTime": "2025-01-01T00:00:00Z"},
            {"restrictionType": "passwordLifetime", "maxLifetime": "P90D", "restrictForAppsCreatedAfterDateTime": "2020-01-01T00:00:00Z"}
        ]}});
        let p = password_policy(&default, &[], t);
        assert!(p.blocked.as_deref().unwrap().contains("passwordAddition"));
        assert_eq!(p.max_lifetime.as_ref().unwrap().1, 90);
        // An older app is not caught by the addition restriction.
        let old: DateTime<Utc> = "2024-06-01T00:00:00Z".parse().unwrap();
        assert!(password_policy(&default, &[], old).blocked.is_none());
        // An assigned policy replaces the default.
        let exempt = json!({"displayName": "Exempt", "isEnabled": true, "restrictions": {"passwordCredentials": []}});
        assert_eq!(
            password_policy(&default, &[exempt], t),
            PasswordPolicy::default()
        );
        // A disabled default does nothing.
        let off = json!({"isEnabled": false, "applicationRestrictions": default["applicationRestrictions"].clone()});
        assert_eq!(password_policy(&off, &[], t), PasswordPolicy::default());
    }

    #[test]
    fn redirects_compare_like_entra() {
        assert!(same_redirect(
            "HTTPS://Acme.example/auth",
            "https://acme.example/auth"
        ));
        assert!(!same_redirect(
            "https://acme.example/Auth",
            "https://acme.example/auth"
        ));
        assert!(!same_redirect(
            "https://acme.example/auth/",
            "https://acme.example/auth"
        ));
    }
}
