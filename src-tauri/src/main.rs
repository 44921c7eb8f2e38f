// Keeps a console window from opening next to the app on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    // First, before any thread exists: it sets an environment variable WebKitGTK reads.
    #[cfg(target_os = "linux")]
    entra_onboard_app::linux_rendering_defaults();
    entra_onboard_app::run();
}
