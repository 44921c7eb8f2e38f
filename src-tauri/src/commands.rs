//! Tauri commands: one-line adapters over the engine. Every rule lives in `entra-onboard-core`;
//! a command only picks the engine call, passes validated arguments and maps the error.
//!
//! Arguments from the webview are untrusted: profile ids are checked by the store (only a
//! UUID becomes a file name), and `open_consent_link` takes a profile, never a URL — Rust
//! rebuilds the link and checks its host before the browser sees it. Every profile the
//! webview sends to be saved passes through `evidence::from_ui` first: `verified`, consent
//! records and the certificate file are the stored copy's, whatever the webview sent, and
//! only an engine call that saw a pass or an answer changes them.

use std::sync::Arc;

use chrono::NaiveDate;
use entra_onboard_engine::cloud::{CloudInfo, all_clouds};
use entra_onboard_engine::explain::Explanation;
use entra_onboard_engine::ids::Sensitive;
use entra_onboard_engine::keychain::Keychain;
use entra_onboard_engine::plan::Plan;
use entra_onboard_engine::profile::{CustomerApp, Profile, ProfileSummary};
use entra_onboard_engine::sso_test::{self, SsoProgress, SsoTestOptions};
use entra_onboard_engine::steps::consent;
use entra_onboard_engine::vault::{self, CredentialStatus, StoredValue};
use tauri::{AppHandle, Emitter, State};
use tauri_plugin_clipboard_manager::ClipboardExt;

use crate::AppState;
use crate::error::{Error, Result};
use crate::models::{
    AppInfo, AppliedRegistration, CertificateCreated, CertificateImported, ConsentCaptured,
    CopiedValue, GraphSignedIn, RotatedCredential, SsoTestRun, StoredSecret, TenantsAllowed,
    TenantsImported,
};
use entra_onboard_engine::customer_list::{CustomerPage, CustomerQuery};
use entra_onboard_engine::evidence;
use entra_onboard_engine::exports;
use entra_onboard_engine::graph::apply::{ApplyProgressFn, ApplyStep};
use entra_onboard_engine::graph::doctor::{DoctorReport, FixAction};
use entra_onboard_engine::graph::rotate::{self, RotateAction, RotationView};
use entra_onboard_engine::graph::session::{self, ApplyRequest, GraphSession};
use entra_onboard_engine::graph::signin::{SigninProgress, SigninProgressFn};
use entra_onboard_engine::handover;
use entra_onboard_engine::rotate_by_hand::{
    self, ByHandAction as RotateByHandAction, ByHandView as RotationByHandView,
};
use entra_onboard_engine::steps::certificate::CertificateRequest;
use entra_onboard_engine::steps::consent_capture::{
    self, ConsentCaptureOptions, ConsentProgress, ConsentProgressFn, ConsentRole,
};
use entra_onboard_engine::steps::credential::{self, SecretExpiryOptions};
use entra_onboard_engine::steps::reminder;
use entra_onboard_engine::steps::tenants::{self, Selection, Tracker};
use entra_onboard_engine::sync_preview::{PreviewProgress, PreviewProgressFn, SyncPreview};
use entra_onboard_engine::teams;
use entra_onboard_engine::transfer::{self, ExportOutcome, ImportSummary};
use entra_onboard_sandbox::SandboxInfo;

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

/// Saves a profile as typed (valid or not), keeping the stored evidence, and returns the
/// stored copy.
#[tauri::command]
pub fn save_profile(state: State<'_, AppState>, profile: Profile) -> Result<Profile> {
    let saved = evidence::save_from_ui(&state.store, profile)?;
    state.cards.invalidate_profile(&saved.id);
    Ok(saved)
}

/// Deletes a customer: its keychain entries, then its profile.
#[tauri::command]
pub fn delete_profile(state: State<'_, AppState>, id: String) -> Result<()> {
    state.cards.invalidate_profile(&id);
    Ok(entra_onboard_engine::customers::delete_customer(
        &state.store,
        &id,
    )?)
}

/// The plan for a profile (pure; called on every edit).
#[tauri::command]
pub fn plan_profile(profile: Profile) -> Plan {
    entra_onboard_core::plan(&profile)
}

/// What pasted error text means: AADSTS codes and the guides' service-desk messages, with,
/// for the open customer, the exact values to compare. Unrecognised text is said so. The
/// engine reads at most `explain::MAX_TEXT` bytes of it.
#[tauri::command]
pub fn explain_error(text: String, profile: Option<Profile>) -> Explanation {
    entra_onboard_engine::explain::explain(&text, profile.as_ref())
}

/// The clouds the basics step offers.
#[tauri::command]
pub fn list_clouds() -> Vec<CloudInfo> {
    all_clouds()
}

/// Opens the profile's admin-consent link in the system browser.
#[tauri::command]
pub fn open_consent_link(profile: Profile) -> Result<()> {
    Ok(entra_onboard_engine::browser::open(
        &consent::link_to_open(&profile)?,
    )?)
}

/// Copies text (a URI, an id, a script) to the clipboard. Never called with a secret.
#[tauri::command]
pub fn copy_text(app: tauri::AppHandle, text: String) -> Result<()> {
    Ok(app.clipboard().write_text(text)?)
}

/// How long a secret copied for the service desk stays on the clipboard.
const CLEAR_CLIPBOARD_AFTER: std::time::Duration = std::time::Duration::from_secs(60);

/// Copies a value the keychain holds (the client secret, the .pfx password) for the admin
/// to paste into the service desk: read from the keychain and written here, so it never
/// crosses the webview. The write is marked sensitive (clipboard managers leave it out of
/// their history), and after [`CLEAR_CLIPBOARD_AFTER`] the clipboard is cleared if it
/// still holds the value — anything the admin copied since is left alone.
#[tauri::command]
pub async fn copy_stored_value(
    app: AppHandle,
    profile: Profile,
    which: StoredValue,
) -> Result<CopiedValue> {
    let kc = Keychain::open()?;
    copy_secret(&app, vault::stored_value(&kc, &profile, which)?)
}

/// Writes `value` to the clipboard as a secret and clears it after [`CLEAR_CLIPBOARD_AFTER`]
/// when it still holds it.
fn copy_secret(app: &AppHandle, value: Sensitive<String>) -> Result<CopiedValue> {
    app.clipboard().write_secret(value.expose().as_str())?;
    let handle = app.clone();
    std::thread::spawn(move || {
        std::thread::sleep(CLEAR_CLIPBOARD_AFTER);
        let clipboard = handle.clipboard();
        if clipboard.read_text().is_ok_and(|t| t == *value.expose()) {
            let _ = clipboard.clear();
        }
    });
    Ok(CopiedValue {
        // 60: a u32 so the TypeScript binding is a number, not a bigint.
        clears_after_seconds: CLEAR_CLIPBOARD_AFTER
            .as_secs()
            .try_into()
            .unwrap_or(u32::MAX),
    })
}

/// Step 3, as the secret is typed: the engine's verdict on what is already certain (the
/// Secret ID pasted instead of the Value, whitespace), or nothing. The value is only checked.
#[tauri::command]
pub fn check_secret_typed(secret: String) -> Option<Error> {
    let secret = Sensitive::new(secret);
    credential::check_secret_as_typed(secret.expose()).map(|e| Error {
        code: e.code(),
        message: e.to_string(),
    })
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
    let kc = Keychain::open()?;
    let today = chrono::Local::now().date_naive();
    let (profile, status) = evidence::update_from_ui(&state.store, profile, |p| {
        vault::store_secret(&kc, p, &secret, expires_on, today).map_err(Error::from)
    })?;
    Ok(StoredSecret { profile, status })
}

/// What the keychain holds for one of the customer's apps (CSP's Partner Center app has
/// its own entry); never the values.
#[tauri::command]
pub async fn app_credential_status(profile: Profile, app: CustomerApp) -> Result<CredentialStatus> {
    let kc = Keychain::open()?;
    Ok(vault::app_status(&kc, &profile, app)?)
}

/// [`store_secret`] for one of the customer's apps: CSP's Partner Center app's secret goes
/// to its own keychain entry, hint and expiry.
#[tauri::command]
pub async fn store_app_secret(
    state: State<'_, AppState>,
    profile: Profile,
    app: CustomerApp,
    secret: String,
    expires_on: Option<NaiveDate>,
) -> Result<StoredSecret> {
    let secret = Sensitive::new(secret);
    let kc = Keychain::open()?;
    let today = chrono::Local::now().date_naive();
    let (profile, status) = evidence::update_from_ui(&state.store, profile, |p| {
        vault::store_app_secret(&kc, p, app, &secret, expires_on, today).map_err(Error::from)
    })?;
    Ok(StoredSecret { profile, status })
}

/// Runs the loopback SSO test with the customer's stored credential. Progress arrives as
/// `sso-progress` events; the answer is the report and, for a pass, the id "Save as
/// verified" needs. Only one test runs at a time.
#[tauri::command]
pub async fn run_sso_test(
    app: AppHandle,
    state: State<'_, AppState>,
    profile: Profile,
) -> Result<SsoTestRun> {
    let kc = Keychain::open()?;
    let credential = vault::test_credential(&kc, &profile).map_err(Error::credential)?;
    let cancel = state.begin_browser_flow()?;
    let app_front = app.clone();
    let progress: sso_test::ProgressFn = Arc::new(move |p: &SsoProgress| {
        let _ = app.emit("sso-progress", p);
    });
    let options = SsoTestOptions {
        progress: Some(progress),
        ..SsoTestOptions::default()
    };
    let result = sso_test::run(&profile, &credential, &options, &cancel).await;
    state.end_browser_flow();
    crate::bring_to_front(&app_front);
    let report = result.unwrap_or_else(|e| e.to_report());
    let recorded = evidence::record_test(
        &state.store,
        &state.passes,
        profile,
        &report,
        chrono::Utc::now(),
    );
    let (profile, save_error) = match recorded.saved {
        Ok(p) => (Some(p), None),
        Err(e) => (None, Some(e.into())),
    };
    Ok(SsoTestRun {
        report,
        profile,
        save_error,
        pass_id: recorded.open_pass,
    })
}

/// Cancels the browser wait in progress: the SSO test, the Graph sign-in or the consent
/// capture (a no-op when none runs).
#[tauri::command]
pub fn cancel_browser_flow(state: State<'_, AppState>) {
    state.cancel_browser_flow();
}

/// Marks the customer "verified" with the pass `pass_id` of an SSO test this window ran
/// (the webview cannot claim a pass the engine did not see; a pass counts once), and saves.
#[tauri::command]
pub async fn mark_verified(
    state: State<'_, AppState>,
    profile: Profile,
    pass_id: String,
) -> Result<Profile> {
    Ok(evidence::mark_verified(
        &state.store,
        &state.passes,
        profile,
        &pass_id,
    )?)
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
    let app_front = app.clone();
    let progress: SigninProgressFn = Arc::new(move |p: &SigninProgress| {
        let _ = app.emit("graph-signin", p);
    });
    let result = GraphSession::sign_in(&profile, Some(progress), &cancel).await;
    state.end_browser_flow();
    crate::bring_to_front(&app_front);
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
    let mut profile = evidence::from_ui(&state.store, profile)?;
    let before = profile.clone();
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
    let test_next = session::test_follows_apply(&before, &report, &profile);
    Ok(AppliedRegistration {
        report,
        profile,
        test_next,
    })
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
    let mut profile = evidence::from_ui(&state.store, profile)?;
    let progress: ApplyProgressFn = Arc::new(move |s: &ApplyStep| {
        let _ = app.emit("apply-step", s);
    });
    let report =
        session::fix_for(&session, &mut profile, &action, kc.as_ref(), Some(progress)).await?;
    let profile = state.store.save(&profile)?;
    Ok(AppliedRegistration {
        report,
        profile,
        test_next: false,
    })
}

// ---- Step 3: certificates, secret expiry, reminders -------------------------------------

/// The expiry chooser for a new secret: the choices (3–24 months, 12 by default) as dates
/// from today, and the range a typed date must fall in.
#[tauri::command]
pub fn secret_expiry_options() -> SecretExpiryOptions {
    credential::secret_expiry_options(chrono::Local::now().date_naive())
}

/// "Create a certificate": files to the Downloads folder, the .pfx password to the
/// keychain, the certificate recorded in the profile (saved).
#[tauri::command]
pub async fn create_certificate(
    state: State<'_, AppState>,
    profile: Profile,
    request: CertificateRequest,
) -> Result<CertificateCreated> {
    let kc = Keychain::open()?;
    let dir = exports::export_dir().map_err(Error::export)?;
    let (profile, certificate) = evidence::update_from_ui(&state.store, profile, |p| {
        vault::create_certificate(&kc, p, &request, &dir, chrono::Utc::now()).map_err(Error::from)
    })?;
    // Practice: the sandbox plays Entra, so "upload the .cer" happens here.
    if entra_onboard_sandbox::practice::is_practice(&profile)
        && let Ok(pem) = entra_onboard_engine::bounded::read_file(
            &certificate.files.pem,
            entra_onboard_engine::bounded::MAX_PEM_BYTES,
            "a PEM certificate",
        )
    {
        let _ = state
            .sandbox()
            .await?
            .provider()
            .register_certificate(&profile.client_id, &pem);
    }
    Ok(CertificateCreated {
        profile,
        certificate,
    })
}

/// "Import a .pfx": the file's bytes and its password (typed into a password box), checked,
/// kept in the app's folder still encrypted, the password in the keychain.
#[tauri::command]
pub async fn import_certificate(
    state: State<'_, AppState>,
    profile: Profile,
    pfx: Vec<u8>,
    password: String,
) -> Result<CertificateImported> {
    let password = Sensitive::new(password);
    let kc = Keychain::open()?;
    let keep = entra_onboard_engine::profile::app_home()?.join("certificates");
    let (profile, info) = evidence::update_from_ui(&state.store, profile, |p| {
        vault::import_certificate(&kc, p, &pfx, password, &keep, chrono::Utc::now())
            .map_err(Error::from)
    })?;
    Ok(CertificateImported { profile, info })
}

/// Writes the rotation reminder (.ics, alarm 30 days before expiry) to Downloads.
#[tauri::command]
pub fn export_reminder(profile: Profile) -> Result<String> {
    let ics = reminder::rotation_reminder(&profile, chrono::Utc::now())?;
    export_file(
        &format!("{} credential expiry", profile.name),
        "ics",
        ics.as_bytes(),
    )
}

// ---- Step 4 and 5: captured consent, the customer tracker ---------------------------------

/// Who can grant admin consent, for the step 4 explanation.
#[tauri::command]
pub fn consent_roles() -> Vec<ConsentRole> {
    consent_capture::consent_roles()
}

/// Opens the admin-consent link (home tenant, or `tenant` from the tracker) with the
/// loopback redirect and records the answer in the profile (saved). Progress arrives as
/// `consent-progress` events; Cancel is `cancel_browser_flow`.
#[tauri::command]
pub async fn capture_consent(
    app: AppHandle,
    state: State<'_, AppState>,
    profile: Profile,
    tenant: Option<String>,
) -> Result<ConsentCaptured> {
    let cancel = state.begin_browser_flow()?;
    let app_front = app.clone();
    let progress: ConsentProgressFn = Arc::new(move |p: &ConsentProgress| {
        let _ = app.emit("consent-progress", p);
    });
    let options = ConsentCaptureOptions {
        progress: Some(progress),
        ..ConsentCaptureOptions::default()
    };
    let result = consent_capture::capture(&profile, tenant.as_deref(), &options, &cancel).await;
    state.end_browser_flow();
    crate::bring_to_front(&app_front);
    let outcome = result?;
    let (profile, ()) = evidence::update_from_ui(&state.store, profile, |p| {
        consent_capture::record_consent(p, tenant.as_deref(), &outcome, chrono::Utc::now());
        Ok::<_, Error>(())
    })?;
    Ok(ConsentCaptured { profile, outcome })
}

/// The consent tracker: one row per customer tenant with its link and status.
#[tauri::command]
pub fn tenant_tracker(profile: Profile) -> Tracker {
    tenants::tracker(&profile)
}

/// The tenants a consent run goes through ("Consent all pending", "Retry failed"), in the
/// profile's order: the engine's selection, the same as `entra-onboard tenants consent`.
#[tauri::command]
pub fn select_tenants(profile: Profile, selection: Selection) -> Vec<String> {
    tenants::select(&profile, &selection)
}

/// Adds pasted or imported (CSV) customer tenants; bad rows come back with line numbers.
#[tauri::command]
pub fn import_tenants(
    state: State<'_, AppState>,
    profile: Profile,
    text: String,
) -> Result<TenantsImported> {
    let import = tenants::parse_tenant_list(&text)?;
    let (profile, merge) = evidence::update_from_ui(&state.store, profile, |p| {
        Ok::<_, Error>(tenants::add_tenants(p, &import.rows))
    })?;
    Ok(TenantsImported {
        profile,
        import,
        merge,
    })
}

/// Removes one customer tenant from the tracker.
#[tauri::command]
pub fn remove_tenant(
    state: State<'_, AppState>,
    profile: Profile,
    tenant: String,
) -> Result<Profile> {
    let (profile, ()) = evidence::update_from_ui(&state.store, profile, |p| {
        tenants::remove_tenant(p, &tenant);
        Ok::<_, Error>(())
    })?;
    Ok(profile)
}

/// Adds every consented customer tenant to `allowed_tenants` (step 6) in one click.
#[tauri::command]
pub fn allow_consented_tenants(
    state: State<'_, AppState>,
    profile: Profile,
) -> Result<TenantsAllowed> {
    let (profile, summary) = evidence::update_from_ui(&state.store, profile, |p| {
        Ok::<_, Error>(tenants::add_consented_to_allowed(p))
    })?;
    Ok(TenantsAllowed { profile, summary })
}

/// Writes the tracker as CSV to Downloads; returns the path.
#[tauri::command]
pub fn export_tenants(profile: Profile) -> Result<String> {
    let csv = tenants::export_csv(&profile);
    export_file(
        &format!("{} customer consent", profile.name),
        "csv",
        csv.as_bytes(),
    )
}

// ---- The practice sandbox --------------------------------------------------------------

/// Starts the practice sandbox (once) and says where it is.
#[tauri::command]
pub async fn start_sandbox(state: State<'_, AppState>) -> Result<SandboxInfo> {
    Ok(state.sandbox().await?.info())
}

/// Creates a practice customer pointing at the sandbox (started if needed).
#[tauri::command]
pub async fn new_practice_profile(state: State<'_, AppState>, name: String) -> Result<Profile> {
    let sandbox = state.sandbox().await?;
    Ok(state.store.save(&sandbox.practice_profile(&name))?)
}

/// Opens the sandbox's "portal" page (its app registration, like Entra's) in the browser.
#[tauri::command]
pub async fn open_sandbox_portal(state: State<'_, AppState>) -> Result<()> {
    let info = state.sandbox().await?.info();
    Ok(entra_onboard_engine::browser::open(
        &info.portal_endpoint()?,
    )?)
}

/// "Save as .ps1": the step 5 script in the chosen flavour (`graph`, `azureAd`, `az`),
/// rebuilt by the engine from the profile, ASCII with CRLF line ends, to Downloads.
#[tauri::command]
pub fn export_script(profile: Profile, flavor: String) -> Result<String> {
    let plan = entra_onboard_core::plan(&profile);
    let scripts = plan.csp_scripts.ok_or(Error {
        code: "csp.no_script",
        message: "there is no script yet: turn on CSP and enter a valid application (client) ID in step 1".into(),
    })?;
    let (text, suffix) = match flavor.as_str() {
        "graph" => (scripts.graph, "graph"),
        "azureAd" => (scripts.azure_ad, "azuread"),
        "az" => (scripts.az, "az"),
        _ => {
            return Err(Error {
                code: "csp.flavor",
                message: format!("unknown script flavour {flavor:?}"),
            });
        }
    };
    export_file(
        &format!("{} AdminAgents {suffix}", profile.name),
        "ps1",
        entra_onboard_core::steps::csp::to_ps1(&text).as_bytes(),
    )
}

// ---- Dashboard, handover report, moving to a new computer --------------------------------

/// The start screen, one page at a time: the cards in view (verification, expiry warnings at
/// 60/30/7 days, consent coverage, remaining errors) for the search, filters and order
/// asked, with the list's length; unreadable profile files are listed, not hidden. From the
/// app's card cache, so typing and scrolling read no profile file.
#[tauri::command]
pub fn customer_page(state: State<'_, AppState>, query: CustomerQuery) -> Result<CustomerPage> {
    Ok(state
        .cards
        .page(&state.store, chrono::Local::now().date_naive(), &query)?)
}

/// Writes the customer's handover report (HTML, printable to PDF, no secrets) to Downloads
/// and opens it in the browser, where File > Print makes the PDF.
#[tauri::command]
pub fn export_report(app: AppHandle, profile: Profile) -> Result<String> {
    let version = app.package_info().version.to_string();
    let path = handover::export_handover(&profile, chrono::Utc::now(), &version)?;
    // Best effort: the path is shown either way.
    let _ = entra_onboard_engine::browser::open_file(&path);
    Ok(path.display().to_string())
}

/// Exports every profile (no secrets) to one JSON file in Downloads, for a new computer.
#[tauri::command]
pub fn export_profiles(state: State<'_, AppState>) -> Result<ExportOutcome> {
    Ok(transfer::export_store(&state.store, chrono::Utc::now())?)
}

/// Imports profiles from an exported file's text (or one profile's JSON); secrets must be
/// entered again (the summary names who needs it). Customers already here with other values
/// come back as conflicts and are left alone; the UI shows their changed fields and, once
/// the admin confirms, calls again with those ids in `replace`.
#[tauri::command]
pub fn import_profiles(
    state: State<'_, AppState>,
    text: String,
    replace: Option<Vec<String>>,
) -> Result<ImportSummary> {
    let replace = replace.map_or(transfer::Replace::Nothing, transfer::Replace::Only);
    state.cards.invalidate();
    Ok(transfer::import_bundle(
        &state.store,
        &text,
        &replace,
        Keychain::open,
    )?)
}

/// The app's name and version, for the footer and the About line.
#[tauri::command]
pub fn app_info(app: AppHandle) -> AppInfo {
    AppInfo {
        name: app.package_info().name.clone(),
        version: app.package_info().version.to_string(),
        keychain_service: entra_onboard_engine::keychain::service_name(),
    }
}

// ---- Provisioning: the sync preview ---------------------------------------------------------

/// "Preview the sync": reads the directory with the app's stored credential (app-only) and
/// says what the first sync would do. Progress arrives as `sync-progress` events; Cancel is
/// `cancel_browser_flow`. The rows stay here for `export_sync_csv`.
#[tauri::command]
pub async fn sync_preview(
    app: AppHandle,
    state: State<'_, AppState>,
    profile: Profile,
) -> Result<SyncPreview> {
    let kc = Keychain::open()?;
    let credential = vault::test_credential(&kc, &profile).map_err(Error::credential)?;
    let cancel = state.begin_browser_flow()?;
    let progress: PreviewProgressFn = Arc::new(move |p: &PreviewProgress| {
        let _ = app.emit("sync-progress", p);
    });
    let result = entra_onboard_engine::sync_preview::run_for_profile(
        &profile,
        &credential,
        Some(progress),
        &cancel,
    )
    .await;
    state.end_browser_flow();
    let preview = result?;
    state.keep_preview(&profile.id, preview.clone());
    Ok(preview)
}

/// Writes the last preview of this customer as CSV (one row per user) to Downloads.
#[tauri::command]
pub fn export_sync_csv(state: State<'_, AppState>, profile: Profile) -> Result<String> {
    let preview = state.preview_of(&profile.id)?;
    let mut bytes = Vec::new();
    entra_onboard_engine::sync_preview::csv::write_csv(&preview, &mut bytes)
        .map_err(Error::export)?;
    export_file(&format!("{} sync preview", profile.name), "csv", &bytes)
}

/// Writes a file for the admin to the export folder (Downloads) and returns its path.
fn export_file(stem: &str, ext: &str, bytes: &[u8]) -> Result<String> {
    let path = exports::write_export(stem, ext, bytes).map_err(Error::export)?;
    Ok(path.display().to_string())
}

// ---- The portal as a Teams tab ----------------------------------------------------------------

/// "Save the Teams app package": the self-service portal as a Teams personal tab (manifest
/// and two icons, zipped; no secret in it), built by the engine from the profile, written to
/// Downloads under a new name. `version` (MAJOR.MINOR.PATCH, checked by the engine) defaults
/// to 1.0.0; an update of an uploaded app needs a higher one.
#[tauri::command]
pub fn export_teams_package(profile: Profile, version: Option<String>) -> Result<String> {
    let version = version.unwrap_or_else(|| teams::DEFAULT_APP_VERSION.to_string());
    let (path, _) = teams::export_package(&profile, version.trim())?;
    Ok(path.display().to_string())
}

/// The rotation screen (issue 15): the plan, why a rotation cannot start, or an interrupted
/// rotation's choices and where the new value goes in Halo.
#[tauri::command]
pub fn rotation_view(profile: Profile, app: CustomerApp, months: u32) -> RotationView {
    rotate::view(&profile, app, months)
}

/// Rotate the credential: begin, "Halo is updated" or roll back, with the Graph sign-in
/// of this customer; the profile is saved after every step.
#[tauri::command]
pub async fn rotate_credential(
    state: State<'_, AppState>,
    profile: Profile,
    action: RotateAction,
) -> Result<RotatedCredential> {
    let session = state.graph_for(&profile.id)?;
    let profile = evidence::from_ui(&state.store, profile)?;
    let (report, profile) =
        rotate::run_for_session(&session, &state.store, &Keychain::open()?, profile, action)
            .await?;
    Ok(RotatedCredential { report, profile })
}

/// The by-hand rotation panel (issue 15, without Graph rights): the portal checklist and
/// the expiry bounds, or the by-hand rotation in progress and what rolling back leaves.
#[tauri::command]
pub fn rotation_by_hand_view(profile: Profile, app: CustomerApp) -> RotationByHandView {
    rotate_by_hand::view(&profile, app, chrono::Local::now().date_naive())
}

/// A rotation by hand: the pasted Value (its own argument, wrapped at once; stored only in
/// the keychain) with the portal's expiry, "Halo is updated" or roll back. The proofs sign
/// in through the browser (one browser flow at a time; "Cancel" stops it); the signed-in
/// Graph user, if any, is recorded, else "by hand".
#[tauri::command]
pub async fn rotate_by_hand(
    app: AppHandle,
    state: State<'_, AppState>,
    profile: Profile,
    action: RotateByHandAction,
    secret: Option<String>,
) -> Result<RotatedCredential> {
    let secret = secret.map(Sensitive::new);
    let profile = evidence::from_ui(&state.store, profile)?;
    let who = state
        .graph_for(&profile.id)
        .ok()
        .and_then(|s| s.user.clone());
    let keychain = Keychain::open()?;
    let cancel = state.begin_browser_flow()?;
    let result = rotate_by_hand::run_in_app(
        &state.store,
        &keychain,
        profile,
        action,
        secret,
        who,
        cancel,
    )
    .await;
    state.end_browser_flow();
    crate::bring_to_front(&app);
    let (report, profile) = result?;
    Ok(RotatedCredential { report, profile })
}

/// Copies the rotation's new secret for Halo from the keychain (a sensitive write, cleared
/// after 60 seconds); it never crosses the webview.
#[tauri::command]
pub async fn copy_next_secret(
    app: AppHandle,
    state: State<'_, AppState>,
    profile: Profile,
) -> Result<CopiedValue> {
    let profile = evidence::from_ui(&state.store, profile)?;
    copy_secret(&app, rotate::next_secret(&Keychain::open()?, &profile)?)
}
