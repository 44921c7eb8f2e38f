//! Remembers the main window's size between runs: saved to `<app home>/window.json` when
//! the window is resized (the last size wins), restored at start-up. Only the size, not the
//! position: a position from another monitor layout could put the window off screen.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use tauri::{LogicalSize, Manager, Runtime, WebviewWindow};

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
struct Size {
    width: f64,
    height: f64,
}

/// Sizes outside this range are ignored (a corrupt file must not make the window unusable).
const MIN: f64 = 600.0;
const MAX: f64 = 10_000.0;

fn file() -> Option<PathBuf> {
    entra_onboard_engine::profile::app_home()
        .ok()
        .map(|h| h.join("window.json"))
}

fn load() -> Option<Size> {
    let bytes = entra_onboard_engine::bounded::read_file(
        &file()?,
        entra_onboard_engine::bounded::MAX_STATE_BYTES,
        "the window size",
    )
    .ok()?;
    let s: Size = serde_json::from_slice(&bytes).ok()?;
    let ok = |v: f64| v.is_finite() && (MIN..=MAX).contains(&v);
    (ok(s.width) && ok(s.height)).then_some(s)
}

/// Restores the saved size and keeps saving it as the admin resizes the window.
pub fn remember<R: Runtime>(app: &tauri::App<R>) {
    let Some(window) = app.get_webview_window("main") else {
        return;
    };
    if let Some(s) = load() {
        let _ = window.set_size(LogicalSize::new(s.width, s.height));
    }
    let w: WebviewWindow<R> = window.clone();
    window.on_window_event(move |event| {
        if let tauri::WindowEvent::Resized(physical) = event
            && let Ok(scale) = w.scale_factor()
        {
            let logical = physical.to_logical::<f64>(scale);
            let size = Size {
                width: logical.width,
                height: logical.height,
            };
            if let (Some(path), Ok(json)) = (file(), serde_json::to_vec(&size)) {
                if let Some(dir) = path.parent() {
                    let _ = std::fs::create_dir_all(dir);
                }
                // Best effort: losing the size is harmless.
                let _ = entra_onboard_engine::profile::write_atomic(&path, &json);
            }
        }
    });
}
