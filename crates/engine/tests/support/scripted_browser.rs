//! The system browser replaced by `tests/scripted-browser.mjs` (node), which clicks through
//! the sandbox's sign-in pages; shared by the engine tests that sign in to the practice
//! sandbox (`#[path = "support/scripted_browser.rs"] mod scripted_browser;`).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;

use entra_onboard_engine::browser::BrowserError;

/// `crates/engine/tests`.
pub fn tests_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests")
}

/// A browser that runs the scripted one on the URL, without waiting for it to finish.
pub fn scripted_browser() -> entra_onboard_engine::sso_test::BrowserFn {
    Arc::new(|url: &entra_onboard_engine::target::Endpoint| {
        let mut child = std::process::Command::new("node")
            .arg(tests_dir().join("scripted-browser.mjs"))
            .arg(url.as_str())
            .env_remove("SCRIPTED_BROWSER_CHOICE")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| BrowserError::Launch(format!("node: {e}")))?;
        std::thread::spawn(move || child.wait());
        Ok(())
    })
}
