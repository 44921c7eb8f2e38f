//! The Entra Onboard desktop shell: a window, the app state and the command table. All
//! behaviour is in the crates (`entra-onboard-core` rules, `entra-onboard-engine` flows, the
//! `entra-onboard-sandbox` practice tenant); see `commands.rs`.

mod commands;
mod error;
mod models;
// Only writes `ui/src/lib/bindings/rules.ts` when the tests run: nothing calls it at run time.
#[cfg(test)]
mod rules;
mod window_size;

use std::collections::HashMap;
use std::sync::Mutex;

use std::sync::Arc;

use tauri::Manager;

use entra_onboard_engine::customer_list::CardCache;
use entra_onboard_engine::evidence::SeenPasses;
use entra_onboard_engine::graph::doctor::FixAction;
use entra_onboard_engine::graph::session::GraphSession;
use entra_onboard_engine::guards::{BrowserFlows, OfferedFixes};
use entra_onboard_engine::profile::ProfileStore;
use entra_onboard_engine::sso_test::CancellationToken;
use entra_onboard_sandbox::practice::PracticeSandbox;

/// State shared by commands.
pub struct AppState {
    /// Where profiles live.
    pub store: ProfileStore,
    /// The browser flow waiting now (SSO test, Graph sign-in, consent capture): one at a time.
    browser_flows: BrowserFlows,
    /// The admin's Graph sign-in, by profile id (one at a time).
    graph: Mutex<Option<(String, Arc<GraphSession>)>>,
    /// The fixes the last doctor run offered, by profile id: the only ones `fix_registration`
    /// accepts (the webview cannot invent a write).
    offered_fixes: OfferedFixes,
    /// The last sync preview per profile id (its rows feed the CSV export).
    previews: Mutex<HashMap<String, Arc<entra_onboard_engine::sync_preview::SyncPreview>>>,
    /// The practice sandbox, once started.
    sandbox: tokio::sync::OnceCell<Arc<PracticeSandbox>>,
    /// Passing SSO tests of this session, until "Save as verified" takes one (once).
    passes: SeenPasses,
    /// The customer list's cards, so search, filters and scrolling read no profile file
    /// (refreshed per query from the files' stamps; forgotten on the app's own writes).
    cards: CardCache,
}

impl AppState {
    fn new(store: ProfileStore) -> Self {
        AppState {
            store,
            browser_flows: BrowserFlows::new(),
            graph: Mutex::new(None),
            offered_fixes: OfferedFixes::new(),
            sandbox: tokio::sync::OnceCell::new(),
            previews: Mutex::new(HashMap::new()),
            passes: SeenPasses::new(),
            cards: CardCache::new(),
        }
    }

    /// Registers a new browser flow; refused while another one waits.
    fn begin_browser_flow(&self) -> Result<CancellationToken, error::Error> {
        Ok(self.browser_flows.begin()?)
    }

    fn end_browser_flow(&self) {
        self.browser_flows.end();
    }

    fn cancel_browser_flow(&self) {
        self.browser_flows.cancel();
    }

    fn set_graph(&self, profile_id: &str, session: GraphSession) -> Arc<GraphSession> {
        let s = Arc::new(session);
        *self.graph.lock().unwrap_or_else(|p| p.into_inner()) =
            Some((profile_id.to_string(), s.clone()));
        s
    }

    fn graph_for(&self, profile_id: &str) -> Result<Arc<GraphSession>, error::Error> {
        match &*self.graph.lock().unwrap_or_else(|p| p.into_inner()) {
            Some((id, s)) if id == profile_id => Ok(s.clone()),
            _ => Err(error::Error {
                code: "graph.not_signed_in",
                message: "Sign in to Microsoft Graph for this customer first.".into(),
            }),
        }
    }

    fn offer_fixes(&self, profile_id: &str, fixes: Vec<FixAction>) {
        self.offered_fixes.offer(profile_id, fixes);
    }

    fn check_fix_offered(&self, profile_id: &str, fix: &FixAction) -> Result<(), error::Error> {
        Ok(self.offered_fixes.check(profile_id, fix)?)
    }

    /// The practice sandbox, started on first use.
    async fn sandbox(&self) -> Result<Arc<PracticeSandbox>, error::Error> {
        Ok(self
            .sandbox
            .get_or_try_init(|| async {
                PracticeSandbox::start(None, entra_onboard_sandbox::Seed::Empty)
                    .await
                    .map(Arc::new)
            })
            .await?
            .clone())
    }

    fn keep_preview(&self, profile_id: &str, p: entra_onboard_engine::sync_preview::SyncPreview) {
        self.previews
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(profile_id.to_string(), Arc::new(p));
    }

    fn preview_of(
        &self,
        profile_id: &str,
    ) -> Result<Arc<entra_onboard_engine::sync_preview::SyncPreview>, error::Error> {
        self.previews
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(profile_id)
            .cloned()
            .ok_or(error::Error {
                code: "sync_preview.none",
                message: "Run \"Preview the sync\" first; the CSV is made from its result.".into(),
            })
    }

    fn sign_out_graph(&self) {
        *self.graph.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }
}

/// Brings the wizard's window back in front of the browser after a browser flow ended (the
/// callback arrived, or it failed or was cancelled), so the admin does not have to find
/// the app again. Best effort: a window manager may refuse focus; nothing depends on it.
pub(crate) fn bring_to_front(app: &tauri::AppHandle) {
    for w in app.webview_windows().into_values() {
        let _ = w.unminimize();
        let _ = w.show();
        let _ = w.set_focus();
    }
}

/// Linux only (WebKitGTK; Windows' WebView2 and macOS' WKWebView are not affected): draws the
/// page without WebKit's accelerated compositing unless the admin chose otherwise.
///
/// Why (issue 16, measured by `scripts/bench-app.sh`): the wizard is forms and lists, with no
/// animation or video that compositing would help, and on a machine without a usable GPU
/// (a VM, a remote desktop, Xvfb) WebKit composites through software GL. There the composited
/// layers cost about 90 MiB in the web process with 50 customers (277 vs 187 MiB) and every
/// scrolled frame of the customer list or the consent tracker goes through them (24 vs 16 ms
/// per frame with 1,000 customers). `WEBKIT_DISABLE_COMPOSITING_MODE` is WebKitGTK's own
/// switch, read when the web process starts; it is also the usual workaround for blank
/// WebKitGTK windows on some GPU drivers. An admin who wants compositing back starts the app
/// with `ENTRA_ONBOARD_GPU_COMPOSITING=1`; a `WEBKIT_DISABLE_COMPOSITING_MODE` already set is
/// left alone.
#[cfg(target_os = "linux")]
pub fn linux_rendering_defaults() {
    let keep_gpu = std::env::var_os("ENTRA_ONBOARD_GPU_COMPOSITING").is_some_and(|v| v == "1");
    if !keep_gpu && std::env::var_os("WEBKIT_DISABLE_COMPOSITING_MODE").is_none() {
        // SAFETY: called first thing in `main`, before any thread is spawned, so nothing
        // reads the environment concurrently.
        unsafe { std::env::set_var("WEBKIT_DISABLE_COMPOSITING_MODE", "1") };
    }
}

/// Starts the app.
pub fn run() {
    let store = match ProfileStore::open_default() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("Entra Onboard cannot start: {e}");
            std::process::exit(2);
        }
    };
    // scripts/bench-app.sh measures start-up to this line: the wizard's page has loaded. Off
    // unless ENTRA_ONBOARD_BENCH=1, so a normal start prints nothing.
    let bench = std::env::var_os("ENTRA_ONBOARD_BENCH").is_some_and(|v| v == "1");
    tauri::Builder::default()
        .plugin(tauri_plugin_clipboard_manager::init())
        .manage(AppState::new(store))
        .on_page_load(move |_, payload| {
            if bench && payload.event() == tauri::webview::PageLoadEvent::Finished {
                println!("bench: page-load-finished");
            }
        })
        .setup(|app| {
            window_size::remember(app);
            // scripts/run.sh starts the practice sandbox with the app, so "Practice with the
            // sandbox" answers at once (it also starts on first use without this).
            if std::env::var("ENTRA_ONBOARD_SANDBOX").as_deref() == Ok("1") {
                let handle = app.handle().clone();
                tauri::async_runtime::spawn(async move {
                    let state = handle.state::<AppState>();
                    if let Err(e) = state.sandbox().await {
                        eprintln!("The practice sandbox did not start: {}", e.message);
                    }
                });
            }
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::list_profiles,
            commands::new_profile,
            commands::load_profile,
            commands::save_profile,
            commands::delete_profile,
            commands::plan_profile,
            commands::explain_error,
            commands::list_clouds,
            commands::open_consent_link,
            commands::copy_text,
            commands::copy_stored_value,
            commands::check_secret_typed,
            commands::credential_status,
            commands::store_secret,
            commands::app_credential_status,
            commands::store_app_secret,
            commands::run_sso_test,
            commands::cancel_browser_flow,
            commands::graph_sign_in,
            commands::graph_sign_out,
            commands::apply_registration,
            commands::check_registration,
            commands::fix_registration,
            commands::secret_expiry_options,
            commands::create_certificate,
            commands::import_certificate,
            commands::export_reminder,
            commands::consent_roles,
            commands::capture_consent,
            commands::tenant_tracker,
            commands::select_tenants,
            commands::import_tenants,
            commands::remove_tenant,
            commands::allow_consented_tenants,
            commands::export_tenants,
            commands::start_sandbox,
            commands::new_practice_profile,
            commands::open_sandbox_portal,
            commands::export_script,
            commands::customer_page,
            commands::export_report,
            commands::export_profiles,
            commands::import_profiles,
            commands::app_info,
            commands::sync_preview,
            commands::export_sync_csv,
            commands::mark_verified,
            commands::export_teams_package,
            commands::rotation_view,
            commands::rotate_credential,
            commands::copy_next_secret,
            commands::rotation_by_hand_view,
            commands::rotate_by_hand,
        ])
        .run(tauri::generate_context!())
        .expect("error while running Entra Onboard");
}
