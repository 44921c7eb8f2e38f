//! The Entra Onboard desktop shell: a window, the app state and the command table. All
//! behaviour is in the `entra-onboard` engine; see `commands.rs`.

mod commands;
mod error;
mod models;

use std::collections::HashMap;
use std::sync::Mutex;

use entra_onboard::profile::{ProfileStore, Verification};
use entra_onboard::sso_test::CancellationToken;

/// State shared by commands.
pub struct AppState {
    /// Where profiles live.
    pub store: ProfileStore,
    /// The SSO test running now, if any (one at a time: each opens a browser tab).
    sso_test: Mutex<Option<CancellationToken>>,
    /// Passing SSO tests of this session, by profile id, until "mark verified" takes them.
    passes: Mutex<HashMap<String, Verification>>,
}

impl AppState {
    fn new(store: ProfileStore) -> Self {
        AppState {
            store,
            sso_test: Mutex::new(None),
            passes: Mutex::new(HashMap::new()),
        }
    }

    /// Registers a new SSO test; refused while another one runs.
    fn begin_sso_test(&self) -> Result<CancellationToken, error::Error> {
        let mut slot = self.sso_test.lock().unwrap_or_else(|p| p.into_inner());
        if slot.is_some() {
            return Err(error::Error {
                code: "sso_test.busy",
                message: "An SSO test is already running; finish or cancel it first.".into(),
            });
        }
        let token = CancellationToken::new();
        *slot = Some(token.clone());
        Ok(token)
    }

    fn end_sso_test(&self) {
        *self.sso_test.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    fn cancel_sso_test(&self) {
        if let Some(t) = &*self.sso_test.lock().unwrap_or_else(|p| p.into_inner()) {
            t.cancel();
        }
    }

    fn record_pass(&self, profile_id: &str, v: Verification) {
        self.passes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(profile_id.to_string(), v);
    }

    fn take_pass(&self, profile_id: &str) -> Result<Verification, error::Error> {
        self.passes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(profile_id)
            .cloned()
            .ok_or(error::Error {
                code: "sso_test.no_pass",
                message: "There is no passing SSO test for this customer in this session; run the test first.".into(),
            })
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
    tauri::Builder::default()
        .plugin(tauri_plugin_clipboard_manager::init())
        .manage(AppState::new(store))
        .invoke_handler(tauri::generate_handler![
            commands::list_profiles,
            commands::new_profile,
            commands::load_profile,
            commands::save_profile,
            commands::delete_profile,
            commands::plan_profile,
            commands::list_clouds,
            commands::open_consent_link,
            commands::copy_text,
            commands::credential_status,
            commands::store_secret,
            commands::run_sso_test,
            commands::cancel_sso_test,
            commands::mark_verified,
        ])
        .run(tauri::generate_context!())
        .expect("error while running Entra Onboard");
}
