//! Rotating the client secret without downtime, through Microsoft Graph (issue 15). The
//! rules — states, rollback per state, the plan, the record — are the core's
//! [`entra_onboard_core::rotation`]; this module sends the requests and keeps the profile's
//! rotation state saved after every step.
//!
//! Two calls, because a person acts in between: [`begin`] reads the app and the tenant's
//! app-management policy, adds the new secret beside the old one, stores it in the keychain
//! as the *next* secret and proves it, then stops at "waiting for Halo". [`proceed`] (on the
//! admin's "Halo is updated", or to finish an interrupted rotation) proves it again, removes
//! the old secret by its `keyId`, makes the new one current and records it. [`roll_back`]
//! undoes whatever a state left behind.
//!
//! Failure rules: any failure before the old secret is removed rolls back at once (the new
//! secret removed from Entra and the keychain; the old one untouched and current) — except
//! a failed `removePassword` of the old secret: by then Halo uses the new one, both still
//! sign in, so the rotation stays at "proven again" and says to run it again (rolling back
//! there would take Halo's working secret away). A rollback that cannot reach Graph keeps
//! the rotation in the profile and names the Secret ID to remove: nothing is orphaned
//! silently.
//!
//! Graph: application-list (filter by appId), tenantappmanagementpolicy-get,
//! application-list-appmanagementpolicies, application-addpassword,
//! application-removepassword — all under <https://learn.microsoft.com/graph/api/> (v1.0).
//! Proof: the client-credentials grant with the new secret
//! (<https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow>),
//! the same app-only token the SSO test asks for.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Value, json};
use ts_rs::TS;

use super::{GraphClient, GraphError, GraphRequest, odata_string, with_query};
use crate::ids::Sensitive;
use crate::keychain::Keychain;
use crate::oauth::{ClientCredential, TokenEndpoint};
use crate::profile::Profile;
use crate::target::{Target, TenantSegment};
use entra_onboard_core::rotation::{
    self as rules, CustomerApp, RollbackStep, RotationInProgress, RotationRecord, RotationState,
    SecretPolicy,
};
use entra_onboard_core::steps::sso::SettingRow;

/// Where a rotation keeps the new secret until it is current. The keychain in the app and
/// the CLI; tests use one that can fail on purpose.
pub trait NextSecretStore: Send + Sync {
    /// Stores the next secret of `app`.
    fn set_next(
        &self,
        profile_id: &str,
        app: CustomerApp,
        value: &Sensitive<String>,
    ) -> Result<(), String>;
    /// The next secret of `app`, if stored.
    fn next(&self, profile_id: &str, app: CustomerApp)
    -> Result<Option<Sensitive<String>>, String>;
    /// Deletes the next secret of `app` (absent is fine).
    fn delete_next(&self, profile_id: &str, app: CustomerApp) -> Result<(), String>;
    /// Makes the next secret of `app` its current one: written as current first, then the
    /// next entry deleted, so a failure in between leaves the value in both, never in neither.
    fn promote(&self, profile_id: &str, app: CustomerApp) -> Result<(), String>;

    // A certificate rotation keeps the new .pfx password as its "next" value (see
    // `rotate::cert`). By default in the same slot as a next secret (a store keeping one
    // value per app); the keychain keeps it under an account of its own.

    /// Stores the next .pfx password of `app`.
    fn set_next_password(
        &self,
        profile_id: &str,
        app: CustomerApp,
        value: &Sensitive<String>,
    ) -> Result<(), String> {
        self.set_next(profile_id, app, value)
    }
    /// The next .pfx password of `app`, if stored.
    fn next_password(
        &self,
        profile_id: &str,
        app: CustomerApp,
    ) -> Result<Option<Sensitive<String>>, String> {
        self.next(profile_id, app)
    }
    /// Deletes the next .pfx password of `app` (absent is fine).
    fn delete_next_password(&self, profile_id: &str, app: CustomerApp) -> Result<(), String> {
        self.delete_next(profile_id, app)
    }
    /// Makes the next .pfx password of `app` the current one (current written first).
    fn promote_password(&self, profile_id: &str, app: CustomerApp) -> Result<(), String> {
        self.promote(profile_id, app)
    }
    /// The current certificate's .pfx password of `app` (it signs the proof of possession).
    fn current_password(
        &self,
        _profile_id: &str,
        _app: CustomerApp,
    ) -> Result<Option<Sensitive<String>>, String> {
        Err("this store keeps no certificate passwords".into())
    }
    /// The current secret of `app`, when the store can read it: a rotation by hand refuses
    /// it pasted as the "new" one. `None` when unknown.
    fn current(
        &self,
        _profile_id: &str,
        _app: CustomerApp,
    ) -> Result<Option<Sensitive<String>>, String> {
        Ok(None)
    }
}

impl NextSecretStore for Keychain {
    fn set_next(
        &self,
        id: &str,
        app: CustomerApp,
        value: &Sensitive<String>,
    ) -> Result<(), String> {
        self.set_next_secret(id, app, value)
            .map_err(|e| e.to_string())
    }
    fn next(&self, id: &str, app: CustomerApp) -> Result<Option<Sensitive<String>>, String> {
        self.get_next_secret(id, app).map_err(|e| e.to_string())
    }
    fn delete_next(&self, id: &str, app: CustomerApp) -> Result<(), String> {
        self.delete_next_secret(id, app).map_err(|e| e.to_string())
    }
    fn promote(&self, id: &str, app: CustomerApp) -> Result<(), String> {
        let Some(v) = self.get_next_secret(id, app).map_err(|e| e.to_string())? else {
            return Err("the next secret is not in the keychain any more".into());
        };
        self.set_app_secret(id, app, &v)
            .map_err(|e| e.to_string())?;
        self.delete_next_secret(id, app).map_err(|e| e.to_string())
    }
    fn set_next_password(
        &self,
        id: &str,
        app: CustomerApp,
        value: &Sensitive<String>,
    ) -> Result<(), String> {
        self.set_next_certificate_password(id, app, value)
            .map_err(|e| e.to_string())
    }
    fn next_password(
        &self,
        id: &str,
        app: CustomerApp,
    ) -> Result<Option<Sensitive<String>>, String> {
        self.get_next_certificate_password(id, app)
            .map_err(|e| e.to_string())
    }
    fn delete_next_password(&self, id: &str, app: CustomerApp) -> Result<(), String> {
        self.delete_next_certificate_password(id, app)
            .map_err(|e| e.to_string())
    }
    fn promote_password(&self, id: &str, app: CustomerApp) -> Result<(), String> {
        let Some(v) = self
            .get_next_certificate_password(id, app)
            .map_err(|e| e.to_string())?
        else {
            return Err("the next .pfx password is not in the keychain any more".into());
        };
        self.set_app_certificate_password(id, app, &v)
            .map_err(|e| e.to_string())?;
        self.delete_next_certificate_password(id, app)
            .map_err(|e| e.to_string())
    }
    fn current_password(
        &self,
        id: &str,
        app: CustomerApp,
    ) -> Result<Option<Sensitive<String>>, String> {
        self.get_app_certificate_password(id, app)
            .map_err(|e| e.to_string())
    }
    fn current(&self, id: &str, app: CustomerApp) -> Result<Option<Sensitive<String>>, String> {
        self.get_app_secret(id, app).map_err(|e| e.to_string())
    }
}

pub(crate) mod cert;
pub use cert::app_only_cert_prover;

/// The proof for `app`'s kind of credential: a secret's ([`app_only_prover`]) or a
/// certificate's ([`app_only_cert_prover`]).
pub fn prover_for(profile: &Profile, app: CustomerApp) -> Result<Prover, RotateError> {
    let kind = match &profile.rotation {
        Some(r) => r.kind,
        None => profile.credential_of(app).kind,
    };
    if kind == crate::profile::CredentialKind::Certificate {
        app_only_cert_prover(profile, app)
    } else {
        app_only_prover(profile, app)
    }
}

/// Proves a secret signs in; `Ok` says how (one line).
pub type Prover = Arc<
    dyn Fn(Sensitive<String>) -> Pin<Box<dyn Future<Output = Result<String, String>> + Send>>
        + Send
        + Sync,
>;

/// The proof the SSO test's consent check makes: an app-only Graph token from the profile's
/// tenant for `app` with `secret`. Only the profile's [`Target`] is contacted.
pub fn app_only_prover(profile: &Profile, app: CustomerApp) -> Result<Prover, RotateError> {
    let target = Target::from_profile(profile)
        .map_err(|e| RotateError::Profile(format!("authority: {e}. {}", e.fix())))?;
    let segment = TenantSegment::tenant(&profile.tenant_id).ok_or_else(|| {
        RotateError::Profile(
            "tenant_id: not a tenant ID or domain; fix it in step 1 (the proof asks this tenant for a token)".into(),
        )
    })?;
    let client_id = rules::client_id_of(profile, app).trim().to_string();
    Ok(Arc::new(move |secret: Sensitive<String>| {
        let target = target.clone();
        let segment = segment.clone();
        let client_id = client_id.clone();
        Box::pin(async move {
            let http = crate::http::http_client(Duration::from_secs(30))
                .map_err(|e| format!("could not set up HTTP: {e}"))?;
            let endpoint = target.token(&segment);
            let credential = ClientCredential::Secret(secret);
            TokenEndpoint::new(&http, &endpoint, &client_id, Some(&credential))
                .client_credentials(&target.graph_default_scope())
                .await
                .map(|_| "Entra issued an app-only token with the new secret".to_string())
                .map_err(|e| e.to_string())
        })
    }))
}

/// A by-hand rotation is finished or rolled back by [`crate::rotate_by_hand`], never here
/// (Graph would look for Secret IDs it never had).
const BY_HAND_ELSEWHERE: &str = "rotation: this rotation is done by hand in the portal; finish or roll it back by hand (entra-onboard rotate <profile> --finish | --rollback, or the by-hand panel)";

/// Why a rotation could not run at all (a failed *step* is in the report instead).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RotateError {
    /// The core refused to start (kind, client id, one in progress, app).
    #[error(transparent)]
    Rule(#[from] rules::RotationError),
    /// The profile is not ready (id, authority, tenant).
    #[error("{0}")]
    Profile(String),
    /// Nothing in progress to finish or roll back.
    #[error("rotation: no rotation is in progress for this customer")]
    NothingInProgress,
    /// A rotation by hand refused what was pasted or typed (nothing was stored).
    #[error(transparent)]
    ByHand(#[from] entra_onboard_core::rotation_by_hand::ByHandError),
}

impl RotateError {
    /// Stable code.
    pub fn code(&self) -> &'static str {
        match self {
            RotateError::Rule(e) => e.code(),
            RotateError::Profile(_) => "rotate.profile",
            RotateError::NothingInProgress => "rotate.nothing_in_progress",
            RotateError::ByHand(e) => e.code(),
        }
    }
}

/// One step's outcome, as the CLI prints and the app lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct RotateStepLine {
    /// The state reached (or aimed at).
    pub state: RotationState,
    /// What was done.
    pub label: String,
    /// Whether it worked.
    pub ok: bool,
    /// Detail (never a value).
    pub detail: Option<String>,
}

/// A failure with its cause and fix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct RotateFailure {
    /// Stable code (`rotate.proof_failed`, `graph.api`, …).
    pub code: String,
    /// What happened.
    pub message: String,
    /// What to do.
    pub fix: String,
}

/// What a rotation call did.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct RotateReport {
    /// True when the call reached what it aimed at without a failure.
    pub ok: bool,
    /// The rotation still in progress (saved in the profile), if any.
    pub rotation: Option<RotationInProgress>,
    /// The record written when it completed or was rolled back.
    pub record: Option<RotationRecord>,
    /// True when this call rolled the rotation back.
    pub rolled_back: bool,
    /// The steps, in order.
    pub steps: Vec<RotateStepLine>,
    /// Where the new value goes in Halo (while waiting for Halo).
    pub halo: Vec<SettingRow>,
    /// What the app-management policy said.
    pub policy_notes: Vec<String>,
    /// What the admin must do by hand now (put the old secret back in Halo, remove a Secret
    /// ID a failed rollback left).
    pub handover: Vec<String>,
    /// The failure, if any.
    pub error: Option<RotateFailure>,
    /// Every Graph request sent (never a token or a secret).
    pub requests: Vec<GraphRequest>,
}

impl RotateReport {
    /// Adds a step line (every rotation path reports the same way).
    pub(crate) fn line(
        &mut self,
        state: RotationState,
        label: &str,
        ok: bool,
        detail: Option<String>,
    ) {
        self.steps.push(RotateStepLine {
            state,
            label: label.into(),
            ok,
            detail,
        });
    }

    /// Marks the call failed with `code`, `message` and the admin's `fix`.
    pub(crate) fn fail(&mut self, code: &str, message: String, fix: &str) {
        self.ok = false;
        self.error = Some(RotateFailure {
            code: code.into(),
            message,
            fix: fix.into(),
        });
    }
}

/// Persists the profile after each step (the store in the app, the file in the CLI).
pub type Saver<'a> = &'a mut (dyn FnMut(&Profile) -> Result<(), String> + Send);

/// What a rotation needs.
pub struct RotateContext<'a> {
    /// Graph, signed in once.
    pub client: &'a GraphClient,
    /// Where the next secret lives.
    pub store: &'a dyn NextSecretStore,
    /// How a secret is proven.
    pub prover: Prover,
    /// Saves the profile after every step.
    pub save: Saver<'a>,
    /// Who signed in (recorded).
    pub signed_in_as: Option<String>,
    /// The clock (tests fix it).
    pub now: Option<DateTime<Utc>>,
}

struct Run<'a, 'b> {
    ctx: &'b mut RotateContext<'a>,
    report: RotateReport,
    log_start: usize,
}

impl Run<'_, '_> {
    fn now(&self) -> DateTime<Utc> {
        self.ctx.now.unwrap_or_else(Utc::now)
    }

    /// Moves `p`'s rotation to `state` and saves. A failed save is a failure (the state on
    /// disk would lag behind Entra's).
    fn advance(&mut self, p: &mut Profile, state: RotationState) -> Result<(), String> {
        if let Some(r) = p.rotation.as_mut() {
            r.state = state;
        }
        p.updated_at = Some(self.now());
        (self.ctx.save)(p).map_err(|e| format!("the customer could not be saved: {e}"))
    }

    fn finish(mut self, p: &Profile) -> RotateReport {
        self.report.rotation = p.rotation.clone();
        self.report.requests = self.ctx.client.sent().split_off(self.log_start);
        self.report
    }
}

fn graph_fix(e: &GraphError) -> &'static str {
    match e.status() {
        Some(401) => "Sign in again: the Graph token was refused or expired.",
        Some(403) => {
            "The signed-in account lacks the role: use an Application Administrator or Cloud Application Administrator (or the app's owner), or rotate by hand in the Entra admin centre."
        }
        _ => "Run it again; if it fails the same way, quote the request-id to Microsoft support.",
    }
}

fn profile_key(p: &Profile) -> Result<String, RotateError> {
    crate::vault::profile_key(p).map_err(|_| {
        RotateError::Profile(
            "id: save the customer first: the new secret is stored in the keychain under its id"
                .into(),
        )
    })
}

/// The application object of `p` (by appId).
async fn find_app(client: &GraphClient, client_id: &str) -> Result<Value, RotateFailure> {
    let client_id = client_id.trim();
    let path = with_query(
        "/applications",
        &[("$filter", &format!("appId eq {}", odata_string(client_id)))],
    );
    let v = client.get(&path).await.map_err(|e| RotateFailure {
        code: e.code().into(),
        message: format!("Reading the app registration: {e}"),
        fix: graph_fix(&e).into(),
    })?;
    v["value"]
        .as_array()
        .and_then(|a| a.first())
        .cloned()
        .ok_or_else(|| RotateFailure {
            code: "rotate.app_not_found".into(),
            message: format!(
                "No app registration with Application (client) ID {client_id} in the tenant you signed in to."
            ),
            fix: "Check the client ID (step 1) and sign in as an admin of the tenant that holds the app.".into(),
        })
}

/// The password policy that applies to `app` (engine apply's reading, as the core's type).
async fn read_policy(client: &GraphClient, app: &Value) -> Result<SecretPolicy, GraphError> {
    let default = client.get("/policies/defaultAppManagementPolicy").await?;
    let id = app["id"].as_str().unwrap_or_default();
    let assigned = client
        .get(&format!("/applications/{id}/appManagementPolicies"))
        .await?;
    let created = app["createdDateTime"]
        .as_str()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(Utc::now);
    let p = super::apply::password_policy(
        &default,
        assigned["value"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or(&[]),
        created,
    );
    Ok(SecretPolicy {
        blocked: p.blocked,
        max_lifetime: p.max_lifetime,
    })
}

fn passwords(app: &Value) -> Vec<Value> {
    app["passwordCredentials"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// The old secret's Secret ID: the one whose hint is the profile's (and, when several
/// share it, whose expiry date is the profile's). `Ok(None)`: not on the app (expired and
/// removed already). `Err`: ambiguous — nothing is removed on a guess.
fn old_key_id(app: &Value, r: &RotationInProgress) -> Result<Option<String>, String> {
    let Some(hint) = r.old_hint.as_deref() else {
        return Ok(None);
    };
    let same: Vec<Value> = passwords(app)
        .into_iter()
        .filter(|c| c["hint"].as_str() == Some(hint))
        .collect();
    let pick: Vec<&Value> = if same.len() > 1 {
        same.iter()
            .filter(|c| {
                c["endDateTime"]
                    .as_str()
                    .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                    .map(|t| Some(t.date_naive()) == r.old_expires_on)
                    .unwrap_or(false)
            })
            .collect()
    } else {
        same.iter().collect()
    };
    match pick.as_slice() {
        [] if same.is_empty() => Ok(None),
        [one] => Ok(one["keyId"].as_str().map(str::to_string)),
        _ => Err(format!(
            "{} secrets on the app start with {hint}… (Secret IDs {}), so which one Halo uses is not certain",
            same.len(),
            same.iter()
                .filter_map(|c| c["keyId"].as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// The read phase: the app, the old secret's keyId, the app-management policy and the
/// lifetime it allows. `Err` when the run stopped (the report says why); nothing is written.
async fn read_phase(
    run: &mut Run<'_, '_>,
    p: &Profile,
    rotation: &mut RotationInProgress,
    months: u32,
    now: DateTime<Utc>,
) -> Result<(Value, rules::LifetimeChoice), ()> {
    // Read before anything is written: the app, the old secret's keyId, the policy.
    let app_json = match find_app(run.ctx.client, rules::client_id_of(p, rotation.app)).await {
        Ok(a) => a,
        Err(f) => {
            run.report.ok = false;
            run.report.error = Some(f);
            return Err(());
        }
    };
    match old_key_id(&app_json, rotation) {
        Ok(k) => rotation.old_key_id = k,
        Err(why) => {
            run.report.fail(
                "rotate.old_ambiguous",
                format!("Nothing was changed: {why}."),
                "In Entra (App registrations > the app > Certificates & secrets), remove the secrets Halo does not use, then rotate again.",
            );
            return Err(());
        }
    }
    let policy = match read_policy(run.ctx.client, &app_json).await {
        Ok(pol) => pol,
        Err(e) => {
            let fix = "The signed-in account needs Policy.Read.All to read the app-management policy (Application Administrator can); sign in with such an account and rotate again.";
            run.report.fail(
                e.code(),
                format!("Reading the app-management policy: {e}"),
                fix,
            );
            return Err(());
        }
    };
    if let Some((iso, _)) = &policy.max_lifetime {
        run.report
            .policy_notes
            .push(format!("Secrets may live at most {iso}."));
    }
    let lifetime = match rules::choose_lifetime(now, months, &policy) {
        Ok(l) => l,
        Err(e) => {
            if let Some(b) = &policy.blocked {
                run.report.policy_notes.push(format!("Blocked: {b}."));
            }
            run.report.fail(e.code(), e.to_string(), "Use a certificate (step 3) or ask the tenant's admin to exclude this app from the policy.");
            return Err(());
        }
    };
    run.report.line(
        RotationState::Planned,
        "Read the app and the tenant's app-management policy",
        true,
        Some(match (&rotation.old_key_id, &lifetime.note) {
            (Some(k), None) => format!("old secret: Secret ID {k}"),
            (Some(k), Some(n)) => format!("old secret: Secret ID {k}; new lifetime {n}"),
            (None, n) => format!(
                "the old secret is not on the app any more (nothing to remove){}",
                n.as_ref()
                    .map(|n| format!("; new lifetime {n}"))
                    .unwrap_or_default()
            ),
        }),
    );
    Ok((app_json, lifetime))
}

/// Starts a rotation of `app`'s secret: reads, adds the new secret beside the old, stores
/// it as next, proves it, and stops at "waiting for Halo" (or rolls back on a failure).
pub async fn begin(
    p: &mut Profile,
    app: CustomerApp,
    months: u32,
    ctx: &mut RotateContext<'_>,
) -> Result<RotateReport, RotateError> {
    if p.rotation.is_none() && is_certificate(p.credential_of(app).kind) {
        return cert::begin(p, app, months, ctx).await;
    }
    let key = profile_key(p)?;
    let now = ctx.now.unwrap_or_else(Utc::now);
    let mut rotation = rules::start(p, app, uuid::Uuid::new_v4().to_string(), now)?;
    rotation.signed_in_as = ctx.signed_in_as.clone();
    let mut run = Run {
        log_start: ctx.client.sent().len(),
        ctx,
        report: empty_report(),
    };
    let Ok((app_json, lifetime)) = read_phase(&mut run, p, &mut rotation, months, now).await else {
        return Ok(run.finish(p));
    };
    // Saved before the secret is requested, under the name the new secret will carry: a
    // crash between Graph's answer and the next save is then found by that name.
    let name = rotation.secret_name();
    p.rotation = Some(rotation);
    if let Err(e) = run.advance(p, RotationState::Planned) {
        p.rotation = None;
        run.report.fail(
            "rotate.save",
            format!("Nothing was changed: {e}"),
            "Check that the customer's file can be written, then rotate again.",
        );
        return Ok(run.finish(p));
    }
    let object_id = app_json["id"].as_str().unwrap_or_default().to_string();
    let body = json!({"passwordCredential": {
        "displayName": name,
        "endDateTime": lifetime.end.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    }});
    let created = match run
        .ctx
        .client
        .post(&format!("/applications/{object_id}/addPassword"), &body)
        .await
    {
        Ok(v) => v,
        Err(e) => {
            let fix = graph_fix(&e);
            let msg = format!("Adding the new secret: {e}");
            return Ok(fail_and_roll_back(run, p, e.code(), msg, fix).await);
        }
    };
    let value = created["secretText"]
        .as_str()
        .map(|s| Sensitive::new(s.to_string()));
    if let Some(r) = p.rotation.as_mut() {
        r.new_key_id = created["keyId"].as_str().map(str::to_string);
        r.new_hint = created["hint"]
            .as_str()
            .map(str::to_string)
            .or_else(|| value.as_ref().map(|v| v.expose().chars().take(3).collect()));
        r.new_expires_on = created["endDateTime"]
            .as_str()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.date_naive());
    }
    let detail = p.rotation.as_ref().map(|r| {
        format!(
            "Secret ID {}, hint {}…, expires {}",
            r.new_key_id.clone().unwrap_or_default(),
            r.new_hint.clone().unwrap_or_default(),
            r.new_expires_on.map(|d| d.to_string()).unwrap_or_default()
        )
    });
    run.report.line(
        RotationState::NewAdded,
        "Add the new secret beside the old one",
        true,
        detail,
    );
    if let Err(e) = run.advance(p, RotationState::NewAdded) {
        return Ok(fail_and_roll_back(
            run,
            p,
            "rotate.save",
            e,
            "Check that the customer's file can be written, then rotate again.",
        )
        .await);
    }
    let Some(value) = value else {
        return Ok(fail_and_roll_back(
            run,
            p,
            "rotate.no_secret_text",
            "Graph returned no secretText for the new secret".into(),
            "Rotate again.",
        )
        .await);
    };
    if let Err(e) = run.ctx.store.set_next(&key, app, &value) {
        let msg = format!("Storing the new secret in the keychain: {e}");
        return Ok(fail_and_roll_back(
            run,
            p,
            "rotate.keychain",
            msg,
            "Unlock the keychain (see step 3), then rotate again.",
        )
        .await);
    }
    run.report.line(
        RotationState::StoredAsNext,
        "Store it in the keychain as the next secret",
        true,
        None,
    );
    if let Err(e) = run.advance(p, RotationState::StoredAsNext) {
        return Ok(fail_and_roll_back(
            run,
            p,
            "rotate.save",
            e,
            "Check that the customer's file can be written, then rotate again.",
        )
        .await);
    }
    Ok(continue_from(run, p, &key, false).await)
}

/// Goes on from the saved state: proves (before Halo), or — with `halo_updated` — proves
/// again, removes the old secret and records. Finishes an interrupted rotation too.
pub async fn proceed(
    p: &mut Profile,
    halo_updated: bool,
    ctx: &mut RotateContext<'_>,
) -> Result<RotateReport, RotateError> {
    let key = profile_key(p)?;
    let Some(r) = &p.rotation else {
        return Err(RotateError::NothingInProgress);
    };
    if r.by_hand {
        return Err(RotateError::Profile(BY_HAND_ELSEWHERE.into()));
    }
    if is_certificate(r.kind) {
        return cert::proceed(p, halo_updated, ctx).await;
    }
    let run = Run {
        log_start: ctx.client.sent().len(),
        ctx,
        report: empty_report(),
    };
    // Before Halo was shown where to paste, "Halo is updated" cannot be true yet.
    let halo_updated = halo_updated && r.state >= RotationState::WaitingForHalo;
    if !rules::resume(r.state).can_finish {
        let mut run = run;
        run.report.fail(
            "rotate.cannot_finish",
            format!("The rotation stopped at \"{}\": {}", r.state.label(), rules::resume(r.state).advice),
            "Roll it back (entra-onboard rotate <profile> --rollback, or \"Roll back\" in the app), then rotate again.",
        );
        return Ok(run.finish(p));
    }
    Ok(continue_from(run, p, &key, halo_updated).await)
}

async fn prove(
    run: &mut Run<'_, '_>,
    key: &str,
    app: CustomerApp,
) -> Result<String, (String, String)> {
    let value = match run.ctx.store.next(key, app) {
        Ok(Some(v)) => v,
        Ok(None) => {
            return Err((
                "rotate.next_missing".into(),
                "the next secret is not in the keychain".into(),
            ));
        }
        Err(e) => return Err(("rotate.keychain".into(), e)),
    };
    (run.ctx.prover)(value)
        .await
        .map_err(|e| ("rotate.proof_failed".into(), e))
}

async fn continue_from(
    mut run: Run<'_, '_>,
    p: &mut Profile,
    key: &str,
    halo_updated: bool,
) -> RotateReport {
    loop {
        let Some((state, app)) = p.rotation.as_ref().map(|r| (r.state, r.app)) else {
            return run.finish(p);
        };
        match state {
            RotationState::StoredAsNext | RotationState::WaitingForHalo
                if state == RotationState::StoredAsNext || halo_updated =>
            {
                let (label, next) = if state == RotationState::StoredAsNext {
                    ("Prove the new secret", RotationState::Proven)
                } else {
                    (
                        "Prove the new secret again (Halo is updated)",
                        RotationState::ProvenAgain,
                    )
                };
                match prove(&mut run, key, app).await {
                    Ok(how) => run.report.line(next, label, true, Some(how)),
                    Err((code, why)) => {
                        run.report.line(next, label, false, Some(why.clone()));
                        return fail_and_roll_back(run, p, &code, format!("{label}: {why}"), "Nothing is left behind: the old secret is still current. Check the sign-in (step 2's doctor), then rotate again.").await;
                    }
                }
                if let Err(e) = run.advance(p, next) {
                    return fail_and_roll_back(
                        run,
                        p,
                        "rotate.save",
                        e,
                        "Check that the customer's file can be written, then rotate again.",
                    )
                    .await;
                }
            }
            RotationState::Proven => {
                run.report.halo = rules::halo_rows(p, app);
                run.report.line(
                    RotationState::WaitingForHalo,
                    "Paste the new Value into Halo, save, then say \"Halo is updated\"",
                    true,
                    None,
                );
                if let Err(e) = run.advance(p, RotationState::WaitingForHalo) {
                    return fail_and_roll_back(
                        run,
                        p,
                        "rotate.save",
                        e,
                        "Check that the customer's file can be written, then rotate again.",
                    )
                    .await;
                }
            }
            RotationState::WaitingForHalo => {
                // Not updated yet: wait (the report carries where to paste).
                run.report.halo = rules::halo_rows(p, app);
                return run.finish(p);
            }
            RotationState::ProvenAgain => {
                if let Err(()) = remove_old(&mut run, p).await {
                    return run.finish(p);
                }
                if let Err(e) = run.advance(p, RotationState::OldRemoved) {
                    run.report.fail("rotate.save", e, "The old secret is removed; check that the customer's file can be written, then finish the rotation again.");
                    return run.finish(p);
                }
            }
            RotationState::OldRemoved => {
                if let Err(e) = run.ctx.store.promote(key, app) {
                    run.report.fail(
                        "rotate.keychain",
                        format!("Making the new secret current in the keychain: {e}"),
                        "The old secret is already removed from Entra and the new one is in the keychain as the next secret: unlock the keychain and finish the rotation again.",
                    );
                    return run.finish(p);
                }
                let now = run.now();
                let record = p
                    .rotation
                    .as_ref()
                    .map(|r| RotationRecord::of(r, rules::RotationOutcome::Completed, now, None));
                rules::complete(p, now);
                p.updated_at = Some(now);
                if let Err(e) = (run.ctx.save)(p) {
                    run.report.fail("rotate.save", format!("the customer could not be saved: {e}"), "The rotation is done in Entra and the keychain; re-enter the new expiry in step 3 if it does not show.");
                }
                run.report.line(
                    RotationState::Recorded,
                    "Make the new secret current, update the expiry and the reminder, record the rotation",
                    true,
                    record.as_ref().and_then(|r| r.expires_on).map(|d| {
                        format!("expires {d}; the reminder (.ics, step 3 or `entra-onboard reminder`) follows the new date")
                    }),
                );
                run.report.record = record;
                return run.finish(p);
            }
            RotationState::Planned | RotationState::NewAdded | RotationState::Recorded => {
                return run.finish(p);
            }
            RotationState::StoredAsNext => unreachable!("handled by the first arm"),
        }
    }
}

/// Removes the old secret by its keyId. On failure the rotation stays at "proven again":
/// Halo uses the new one and both sign in, so nothing is rolled back.
async fn remove_old(run: &mut Run<'_, '_>, p: &Profile) -> Result<(), ()> {
    let Some(r) = p.rotation.as_ref() else {
        return Err(());
    };
    let Some(old) = r.old_key_id.clone() else {
        run.report.line(
            RotationState::OldRemoved,
            "Remove the old secret",
            true,
            Some("it was not on the app (nothing to remove)".into()),
        );
        return Ok(());
    };
    let app = match find_app(run.ctx.client, rules::client_id_of(p, r.app)).await {
        Ok(a) => a,
        Err(f) => {
            run.report.fail(
                &f.code,
                format!(
                    "{} Halo uses the new secret and both still sign in.",
                    f.message
                ),
                &f.fix,
            );
            return Err(());
        }
    };
    if !passwords(&app)
        .iter()
        .any(|c| c["keyId"].as_str() == Some(&old))
    {
        run.report.line(
            RotationState::OldRemoved,
            "Remove the old secret",
            true,
            Some(format!("Secret ID {old} is already gone")),
        );
        return Ok(());
    }
    let object_id = app["id"].as_str().unwrap_or_default();
    match run
        .ctx
        .client
        .post(
            &format!("/applications/{object_id}/removePassword"),
            &json!({"keyId": old}),
        )
        .await
    {
        Ok(_) => {
            run.report.line(
                RotationState::OldRemoved,
                "Remove the old secret by its Secret ID",
                true,
                Some(format!("Secret ID {old}")),
            );
            Ok(())
        }
        Err(e) => {
            run.report.line(
                RotationState::OldRemoved,
                "Remove the old secret by its Secret ID",
                false,
                Some(e.to_string()),
            );
            run.report.fail(
                e.code(),
                format!("Removing the old secret (Secret ID {old}): {e}. Nothing is broken: Halo uses the new secret and both still sign in."),
                "Finish the rotation again (entra-onboard rotate <profile> --finish, or \"Finish\" in the app); it picks up here.",
            );
            Err(())
        }
    }
}

fn is_certificate(kind: crate::profile::CredentialKind) -> bool {
    kind == crate::profile::CredentialKind::Certificate
}

fn empty_report() -> RotateReport {
    RotateReport {
        ok: true,
        rotation: None,
        record: None,
        rolled_back: false,
        steps: Vec::new(),
        halo: Vec::new(),
        policy_notes: Vec::new(),
        handover: Vec::new(),
        error: None,
        requests: Vec::new(),
    }
}

async fn fail_and_roll_back(
    mut run: Run<'_, '_>,
    p: &mut Profile,
    code: &str,
    message: String,
    fix: &str,
) -> RotateReport {
    run.report.fail(code, message.clone(), fix);
    undo(&mut run, p, &message).await;
    run.finish(p)
}

/// Rolls back a rotation in progress at the admin's request (or to clean up an
/// interrupted one).
pub async fn roll_back(
    p: &mut Profile,
    reason: &str,
    ctx: &mut RotateContext<'_>,
) -> Result<RotateReport, RotateError> {
    profile_key(p)?;
    let Some(r) = &p.rotation else {
        return Err(RotateError::NothingInProgress);
    };
    if r.by_hand {
        return Err(RotateError::Profile(BY_HAND_ELSEWHERE.into()));
    }
    if is_certificate(r.kind) {
        return cert::roll_back(p, reason, ctx).await;
    }
    let mut run = Run {
        log_start: ctx.client.sent().len(),
        ctx,
        report: empty_report(),
    };
    if !r.state.can_roll_back() {
        run.report.fail(
            "rotate.cannot_roll_back",
            format!("The rotation is at \"{}\": the old secret is already removed from Entra, so there is nothing to go back to.", r.state.label()),
            "Finish it instead (entra-onboard rotate <profile> --finish, or \"Finish\" in the app).",
        );
        return Ok(run.finish(p));
    }
    if !undo(&mut run, p, reason).await {
        run.report.ok = false;
    }
    Ok(run.finish(p))
}

/// The rollback steps for the current state; true when all done (the rotation is then
/// recorded as rolled back and cleared). Any step that fails keeps the rotation in the
/// profile and says what is left.
async fn undo(run: &mut Run<'_, '_>, p: &mut Profile, reason: &str) -> bool {
    let Some(r) = p.rotation.clone() else {
        return true;
    };
    let key = match crate::vault::profile_key(p) {
        Ok(k) => k,
        Err(_) => return false,
    };
    let mut all = true;
    for step in rules::rollback_steps(r.state) {
        match step {
            RollbackStep::RemoveNewFromEntra => {
                if let Err(why) = remove_new(run, p, &r).await {
                    all = false;
                    run.report.handover.push(why);
                }
            }
            RollbackStep::DeleteNextFromKeychain => {
                if let Err(e) = run.ctx.store.delete_next(&key, r.app) {
                    all = false;
                    run.report.handover.push(format!(
                        "The new secret is still in the keychain as the next secret ({e}); roll back again once the keychain is unlocked."
                    ));
                } else {
                    run.report.line(r.state, "Roll back: delete the next secret from the keychain", true, None);
                }
            }
            RollbackStep::RestoreOldInHalo => run.report.handover.push(
                "If you already pasted the new secret into Halo, put the old one back: step 3 (or the settings sheet) copies the current secret, which is still the old one.".into(),
            ),
        }
    }
    if !all {
        return false;
    }
    let now = run.now();
    let record = RotationRecord::of(&r, rules::RotationOutcome::RolledBack, now, Some(reason));
    rules::rolled_back(p, now, reason);
    p.updated_at = Some(now);
    if let Err(e) = (run.ctx.save)(p) {
        run.report.handover.push(format!(
            "Rolled back in Entra and the keychain, but the customer could not be saved ({e}); the next start may show the rotation again: roll it back once more (safe to repeat)."
        ));
    }
    run.report.rolled_back = true;
    run.report.record = Some(record);
    true
}

/// Removes the rotation's new secret from Entra: by its Secret ID, or — when the ID never
/// came back (interrupted at "planned") — every secret carrying the rotation's name.
async fn remove_new(
    run: &mut Run<'_, '_>,
    p: &Profile,
    r: &RotationInProgress,
) -> Result<(), String> {
    let left = |ids: &str| {
        format!(
            "The new secret ({ids}) may still be on the app: remove it under Certificates & secrets in Entra, or roll back again."
        )
    };
    let app = match find_app(run.ctx.client, rules::client_id_of(p, r.app)).await {
        Ok(a) => a,
        Err(f) => return Err(format!("{} ({})", left(&r.secret_name()), f.message)),
    };
    let targets: Vec<String> = passwords(&app)
        .iter()
        .filter(|c| {
            r.new_key_id
                .as_deref()
                .is_some_and(|k| c["keyId"].as_str() == Some(k))
                || c["displayName"].as_str() == Some(r.secret_name().as_str())
        })
        .filter_map(|c| c["keyId"].as_str().map(str::to_string))
        .collect();
    // Never the old one, whatever a name says.
    let targets: Vec<String> = targets
        .into_iter()
        .filter(|k| Some(k) != r.old_key_id.as_ref())
        .collect();
    if targets.is_empty() {
        run.report.line(
            r.state,
            "Roll back: the new secret is not on the app",
            true,
            None,
        );
        return Ok(());
    }
    let object_id = app["id"].as_str().unwrap_or_default().to_string();
    for k in targets {
        match run
            .ctx
            .client
            .post(
                &format!("/applications/{object_id}/removePassword"),
                &json!({"keyId": k}),
            )
            .await
        {
            Ok(_) => run.report.line(
                r.state,
                "Roll back: remove the new secret from Entra",
                true,
                Some(format!("Secret ID {k}")),
            ),
            Err(e) => return Err(format!("{} ({e})", left(&format!("Secret ID {k}")))),
        }
    }
    Ok(())
}

/// What the desktop app asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, Serialize, TS)]
#[serde(rename_all = "camelCase", tag = "kind")]
#[ts(export, rename = "RotateAction")]
pub enum RotateAction {
    /// Start a rotation of `app` with a secret valid `months`.
    Begin {
        /// Which app registration.
        app: CustomerApp,
        /// Lifetime asked for.
        months: u32,
    },
    /// Continue: prove before Halo, or — after Halo was shown — "Halo is updated".
    HaloUpdated,
    /// Undo the rotation in progress.
    RollBack,
}

/// What the rotation screen shows before and between calls: the plan, or why it cannot
/// start, and an interrupted rotation's choices. Pure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct RotationView {
    /// The plan, when a rotation can start.
    pub plan: Option<rules::RotationPlan>,
    /// Why it cannot start (`{code, message}`), when it cannot.
    pub blocked: Option<RotateFailure>,
    /// The rotation in progress, if any.
    pub in_progress: Option<RotationInProgress>,
    /// What an interrupted rotation offers.
    pub resume: Option<rules::ResumeChoice>,
    /// Where the new value goes in Halo while one is in progress.
    pub halo: Vec<SettingRow>,
}

/// The rotation screen's state for `app` of `p`.
pub fn view(p: &Profile, app: CustomerApp, months: u32) -> RotationView {
    if let Some(r) = &p.rotation {
        return RotationView {
            plan: None,
            blocked: None,
            in_progress: Some(r.clone()),
            resume: Some(rules::resume_of(r)),
            halo: rules::halo_rows(p, r.app),
        };
    }
    match rules::check_start(p, app) {
        Ok(()) => RotationView {
            plan: Some(rules::plan(p, app, months)),
            blocked: None,
            in_progress: None,
            resume: None,
            halo: Vec::new(),
        },
        Err(e) => RotationView {
            plan: None,
            blocked: Some(RotateFailure {
                code: e.code().into(),
                message: e.to_string(),
                fix: "See the message.".into(),
            }),
            in_progress: None,
            resume: None,
            halo: Vec::new(),
        },
    }
}

/// The desktop app's entry: one call per button, with the signed-in session, the keychain
/// and the store (the profile is saved after every step). Returns the report and the
/// profile as saved.
pub async fn run_for_session(
    session: &super::session::GraphSession,
    store: &crate::profile::ProfileStore,
    keychain: &Keychain,
    mut profile: Profile,
    action: RotateAction,
) -> Result<(RotateReport, Profile), RotateError> {
    let app = match (action, &profile.rotation) {
        (_, Some(r)) => r.app,
        (RotateAction::Begin { app, .. }, None) => app,
        _ => return Err(RotateError::NothingInProgress),
    };
    // The shared proof: a test sign-in redeemed with the new secret and an app-only token.
    let prover = crate::rotation_proof::prover(
        &profile,
        app,
        crate::sso_test::SsoTestOptions::default(),
        crate::sso_test::CancellationToken::new(),
    )?;
    let mut save = |p: &Profile| store.save(p).map(|_| ()).map_err(|e| e.to_string());
    let mut ctx = RotateContext {
        client: session.client(),
        store: keychain,
        prover,
        save: &mut save,
        signed_in_as: session.user.clone(),
        now: None,
    };
    let report = match action {
        RotateAction::Begin { app, months } => begin(&mut profile, app, months, &mut ctx).await?,
        RotateAction::HaloUpdated => proceed(&mut profile, true, &mut ctx).await?,
        RotateAction::RollBack => {
            roll_back(&mut profile, "rolled back by the admin", &mut ctx).await?
        }
    };
    Ok((report, profile))
}

/// The rotation's next secret, for the desktop app to copy to the clipboard (never to the
/// webview). Only while one is in progress and stored.
pub fn next_secret(keychain: &Keychain, p: &Profile) -> Result<Sensitive<String>, RotateError> {
    let r = p.rotation.as_ref().ok_or(RotateError::NothingInProgress)?;
    if is_certificate(r.kind) {
        return cert::next_password(keychain, p);
    }
    if r.state < RotationState::StoredAsNext {
        return Err(RotateError::Profile(
            "rotation: the new secret is not stored yet; roll this rotation back and rotate again"
                .into(),
        ));
    }
    let key = profile_key(p)?;
    NextSecretStore::next(keychain, &key, r.app)
        .map_err(RotateError::Profile)?
        .ok_or_else(|| {
            RotateError::Profile(
                "rotation: the new secret is not in the keychain; roll this rotation back and rotate again".into(),
            )
        })
}
