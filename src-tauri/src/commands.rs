//! Tauri commands: one-line adapters over the engine. Every rule lives in `entra-onboard`;
//! a command only picks the engine call, passes validated arguments and maps the error.
//!
//! Arguments from the webview are untrusted: profile ids are checked by the store (only a
//! UUID becomes a file name), and `open_consent_link` takes a profile, never a URL — Rust
//! rebuilds the link and checks its host before the browser sees it.

use entra_onboard::cloud::{CloudInfo, all_clouds};
use entra_onboard::plan::Plan;
use entra_onboard::profile::{Profile, ProfileSummary};
use entra_onboard::steps::consent;
use tauri::State;
use tauri_plugin_clipboard_manager::ClipboardExt;

use crate::AppState;
use crate::error::Result;

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
