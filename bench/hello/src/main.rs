//! Tauri "hello world": the baseline Entra Onboard's start-up time and memory are compared
//! with (scripts/bench-app.sh). Prints the same marker as the app's ENTRA_ONBOARD_BENCH hook
//! when the page has loaded.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    tauri::Builder::default()
        .on_page_load(|_, payload| {
            if payload.event() == tauri::webview::PageLoadEvent::Finished {
                println!("bench: page-load-finished");
            }
        })
        .run(tauri::generate_context!())
        .expect("error while running the hello-world app");
}
