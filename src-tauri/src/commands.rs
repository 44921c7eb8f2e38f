//! Tauri commands: one-line adapters over the engine. Every rule lives in `entra-onboard`;
//! a command only picks the engine call, passes validated arguments and maps the error.
//!
//! Arguments from the webview are untrusted: profile ids are checked by the store (only a
//! UUID becomes a file name), and `open_consent_link` takes a profile, never a URL — Rust
//! rebuilds the link and checks its host before the browser sees it.

use std::sync::Arc;

use chrono::NaiveDate;
use entra_onboard::cloud::{CloudInfo, all_clouds};
use entra_onboard::ids::Sensitive;
use entra_onboard::keychain::Keychain;
use entra_onboard::plan::Plan;
use entra_onboard::profile::{Profile, ProfileSummary};
use entra_onboard::sso_test::{self, SsoProgress, SsoReport, SsoTestOptions};
use entra_onboard::steps::consent;
use entra_onboard::vault::{self, CredentialStatus};
use tauri::{AppHandle, Emitter, State};
use tauri_plugin_clipboard_manager::ClipboardExt;

use crate::AppState;
use crate::error::{Error, Result};
use crate::models::{AppliedRegistration, GraphSignedIn, StoredSecret};
use entra_onboard::graph::apply::{ApplyProgressFn, ApplyStep};
use entra_onboard::graph::doctor::{DoctorReport, FixAction};
use entra_onboard::graph::session::{self, ApplyRequest, GraphSession};
use entra_onboard::graph::signin::{SigninProgress, SigninProgressFn};

/// Every saved profile, most recent first.
#[tauri::command]
pub fn list_profiles(state: State<'_, AppState>) -> Result<Vec<ProfileSummary>> {
    Ok(state.store.list()?)
}

/// Creates and saves an empty profile named `name`.
#[tauri::command]
pub fn new_profile(state: State<'_, AppState>, name: String) -> Result<Profile> {
    Ok(state.store.save(&Profile::new(&name))?)
}

/// Loads a profile by id.
#[tauri::command]
pub fn load_profile(state: State<'_, AppState>, id: String) -> Result<Profile> {
    Ok(state.store.load(&id)?)
}

/// Saves a profile as typed (valid or not) and returns the stored copy.
#[tauri::command]
pub fn save_profile(state: State<'_, AppState>, profile: Profile) -> Result<Profile> {
    Ok(state.store.save(&profile)?)
}

/// Deletes a customer: its keychain entries, then its profile.
#[tauri::command]
pub fn delete_profile(state: State<'_, AppState>, id: String) -> Result<()> {
    Ok(entra_onboard::customers::delete_customer(
        &state.store,
        &id,
    )?)
}

/// The plan for a profile (pure; called on every edit).
#[tauri::command]
pub fn plan_profile(profile: Profile) -> Plan {
    entra_onboard::plan(&profile)
}

/// The clouds the basics step offers.
#[tauri::command]
pub fn list_clouds() -> Vec<CloudInfo> {
    all_clouds()
}

/// Opens the profile's admin-consent link in the system browser.
#[tauri::command]
pub fn open_consent_link(profile: Profile) -> Result<()> {
    Ok(entra_onboard::browser::open(&consent::link_to_open(
        &profile,
    )?)?)
}

/// Copies text (a URI, an id, a script) to the clipboard. Never called with a secret.
#[tauri::command]
pub fn copy_text(app: tauri::AppHandle, text: String) -> Result<()> {
    Ok(app.clipboard().write_text(text)?)
}

/// What the keychain holds for this customer (never the values).
#[tauri::command]
pub async fn credential_status(profile: Profile) -> Result<CredentialStatus> {
    let kc = Keychain::open()?;
    Ok(vault::status(&kc, &profile)?)
}

/// Step 3's "Store in keychain": checks the pasted value and expiry, stores the value in the
/// OS keychain, records hint and expiry in the profile and saves it. The value is not kept
/// anywhere else and is never sent back.
#[tauri::command]
pub async fn store_secret(
    state: State<'_, AppState>,
    profile: Profile,
    secret: String,
    expires_on: Option<NaiveDate>,
) -> Result<StoredSecret> {
    let secret = Sensitive::new(secret);
    let mut profile = profile;
    let kc = Keychain::open()?;
    let today = chrono::Local::now().date_naive();
    let status = vault::store_secret(&kc, &mut profile, &secret, expires_on, today)?;
    let profile = state.store.save(&profile)?;
    Ok(StoredSecret { profile, status })
}

/// Runs the loopback SSO test with the customer's stored credential. Progress arrives as
/// `sso-progress` events; the report is the answer. Only one test runs at a time.
#[tauri::command]
pub async fn run_sso_test(
    app: AppHandle,
    state: State<'_, AppState>,
    profile: Profile,
) -> Result<SsoReport> {
    let kc = Keychain::open()?;
    let credential = vault::test_credential(&kc, &profile).map_err(Error::credential)?;
    let cancel = state.begin_browser_flow()?;
    let progress: sso_test::ProgressFn = Arc::new(move |p: &SsoProgress| {
        let _ = app.emit("sso-progress", p);
    });
    let options = SsoTestOptions {
        progress: Some(progress),
        ..SsoTestOptions::default()
    };
    let result = sso_test::run(&profile, &credential, &options, &cancel).await;
    state.end_browser_flow();
    let report = result.unwrap_or_else(|e| e.to_report());
    if let Some(v) = report.verification() {
        state.record_pass(&profile.id, v);
    }
    Ok(report)
}

/// Cancels the browser wait in progress: the SSO test, the Graph sign-in or the consent
/// capture (a no-op when none runs).
#[tauri::command]
pub fn cancel_browser_flow(state: State<'_, AppState>) {
    state.cancel_browser_flow();
}

/// Marks the customer "verified" with the result of the SSO test that just passed in this
/// window (the webview cannot claim a pass the engine did not see), and saves it.
#[tauri::command]
pub async fn mark_verified(state: State<'_, AppState>, profile: Profile) -> Result<Profile> {
    let mut profile = profile;
    profile.verified = Some(state.take_pass(&profile.id)?);
    Ok(state.store.save(&profile)?)
}

/// Signs the admin in to Microsoft Graph for this customer (browser from Rust, loopback).
/// Progress arrives as `graph-signin` events. The token stays in this process.
#[tauri::command]
pub async fn graph_sign_in(
    app: AppHandle,
    state: State<'_, AppState>,
    profile: Profile,
) -> Result<GraphSignedIn> {
    let cancel = state.begin_browser_flow()?;
    let progress: SigninProgressFn = Arc::new(move |p: &SigninProgress| {
        let _ = app.emit("graph-signin", p);
    });
    let result = GraphSession::sign_in(&profile, Some(progress), &cancel).await;
    state.end_browser_flow();
    let session = state.set_graph(&profile.id, result?);
    Ok(GraphSignedIn {
        user: session.user.clone(),
        tenant_id: session.tenant_id.clone(),
    })
}

/// Forgets the Graph sign-in.
#[tauri::command]
pub fn graph_sign_out(state: State<'_, AppState>) {
    state.sign_out_graph();
}

/// "Create it for me": creates or repairs the registration, stores a new secret in the
/// keychain, saves the profile. Each operation arrives as an `apply-step` event.
#[tauri::command]
pub async fn apply_registration(
    app: AppHandle,
    state: State<'_, AppState>,
    profile: Profile,
    request: ApplyRequest,
) -> Result<AppliedRegistration> {
    let session = state.graph_for(&profile.id)?;
    let kc = if request.add_secret && !request.dry_run {
        Some(Keychain::open()?)
    } else {
        None
    };
    let mut profile = profile;
    let progress: ApplyProgressFn = Arc::new(move |s: &ApplyStep| {
        let _ = app.emit("apply-step", s);
    });
    let report = session::apply_for(
        &session,
        &mut profile,
        &request,
        kc.as_ref(),
        Some(progress),
    )
    .await?;
    let profile = state.store.save(&profile)?;
    Ok(AppliedRegistration { report, profile })
}

/// "Check a live registration": the doctor's findings against the plan.
#[tauri::command]
pub async fn check_registration(
    state: State<'_, AppState>,
    profile: Profile,
) -> Result<DoctorReport> {
    let session = state.graph_for(&profile.id)?;
    let report = session::doctor_for(&session, &profile).await?;
    state.offer_fixes(
        &profile.id,
        report
            .findings
            .iter()
            .filter_map(|f| f.auto_fix.clone())
            .collect(),
    );
    Ok(report)
}

/// One finding's one-click fix; progress as `apply-step` events.
#[tauri::command]
pub async fn fix_registration(
    app: AppHandle,
    state: State<'_, AppState>,
    profile: Profile,
    action: FixAction,
) -> Result<AppliedRegistration> {
    let session = state.graph_for(&profile.id)?;
    state.check_fix_offered(&profile.id, &action)?;
    let kc = if matches!(action, FixAction::AddSecret) {
        Some(Keychain::open()?)
    } else {
        None
    };
    let mut profile = profile;
    let progress: ApplyProgressFn = Arc::new(move |s: &ApplyStep| {
        let _ = app.emit("apply-step", s);
    });
    let report =
        session::fix_for(&session, &mut profile, &action, kc.as_ref(), Some(progress)).await?;
    let profile = state.store.save(&profile)?;
    Ok(AppliedRegistration { report, profile })
}
