//! The Entra Onboard desktop shell: a window, the app state and the command table. All
//! behaviour is in the `entra-onboard` engine; see `commands.rs`.

mod commands;
mod error;

use entra_onboard::profile::ProfileStore;

/// State shared by commands.
pub struct AppState {
    /// Where profiles live.
    pub store: ProfileStore,
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
        .manage(AppState { store })
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
        ])
        .run(tauri::generate_context!())
        .expect("error while running Entra Onboard");
}
