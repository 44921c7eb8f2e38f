//! Opens a URL in the user's default browser — the system browser, never a webview
//! (RFC 8252 §8.12): the admin's password and MFA belong to the browser they trust.
//!
//! Callers pass only an [`Endpoint`], which only the profile's
//! [`Target`](crate::target::Target) can make (the trust boundary), or a file this tool
//! wrote itself ([`open_file`]). On Linux and the BSDs
//! `$BROWSER` is honoured first (a `:`-separated list of commands, `%s` replaced by the
//! URL), which is also how the tests drive a scripted "browser".

use std::process::{Command, Stdio};

use url::Url;

use crate::target::Endpoint;

/// Opening the browser failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BrowserError {
    /// No browser could be started.
    #[error("could not open a browser: {0}. Copy the link and open it yourself.")]
    Launch(String),
}

impl BrowserError {
    /// Stable code for the UI.
    pub fn code(&self) -> &'static str {
        "browser.launch"
    }
}

/// Opens `endpoint` in the default browser without waiting for it.
pub fn open(endpoint: &Endpoint) -> Result<(), BrowserError> {
    open_url(endpoint.url())
}

/// Opens a file this tool wrote (the handover report) in the default browser.
pub fn open_file(path: &std::path::Path) -> Result<(), BrowserError> {
    let url = Url::from_file_path(path).map_err(|()| {
        BrowserError::Launch(format!("{} is not an absolute path", path.display()))
    })?;
    open_url(&url)
}

fn open_url(url: &Url) -> Result<(), BrowserError> {
    #[cfg(all(unix, not(target_os = "macos")))]
    if let Some(list) = std::env::var_os("BROWSER").filter(|b| !b.is_empty()) {
        let list = list.to_string_lossy().into_owned();
        let mut last_err = String::from("$BROWSER is empty");
        for cmd in list.split(':').filter(|c| !c.trim().is_empty()) {
            match spawn_browser_command(cmd, url.as_str()) {
                Ok(()) => return Ok(()),
                Err(e) => last_err = format!("{cmd}: {e}"),
            }
        }
        return Err(BrowserError::Launch(last_err));
    }
    open::that_detached(url.as_str()).map_err(|e| BrowserError::Launch(e.to_string()))
}

#[cfg(all(unix, not(target_os = "macos")))]
fn spawn_browser_command(cmd: &str, url: &str) -> std::io::Result<()> {
    // `$BROWSER` is the user's own configuration: split on whitespace (no shell), and hand
    // the URL over as one argument so nothing in it is interpreted.
    let mut parts: Vec<String> = cmd.split_whitespace().map(str::to_string).collect();
    if parts.is_empty() {
        return Err(std::io::Error::other("empty command"));
    }
    if parts.iter().any(|p| p.contains("%s")) {
        for p in &mut parts {
            *p = p.replace("%s", url);
        }
    } else {
        parts.push(url.to_string());
    }
    Command::new(&parts[0])
        .args(&parts[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map(|_| ())
}
