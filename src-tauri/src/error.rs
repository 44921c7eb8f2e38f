//! The one error type commands return. It reaches the UI as `{code, message}`: the UI
//! branches on `code` (stable, from the engine) and shows `message`; it never parses text.

use serde::Serialize;

/// A command failure as the UI receives it.
#[derive(Debug, Serialize)]
pub struct Error {
    /// Stable machine-readable code, e.g. `profile.not_found`.
    pub code: &'static str,
    /// What happened and what to do, for the admin.
    pub message: String,
}

/// Commands' result type.
pub type Result<T> = std::result::Result<T, Error>;

macro_rules! from_engine_error {
    ($($t:ty),* $(,)?) => {$(
        impl From<$t> for Error {
            fn from(e: $t) -> Self {
                Error { code: e.code(), message: e.to_string() }
            }
        }
    )*};
}

from_engine_error!(
    entra_onboard_engine::profile::ProfileError,
    entra_onboard_engine::steps::consent::OpenLinkError,
    entra_onboard_engine::browser::BrowserError,
    entra_onboard_engine::customers::DeleteError,
    entra_onboard_engine::keychain::KeychainError,
    entra_onboard_engine::vault::VaultError,
    entra_onboard_engine::graph::session::SessionError,
    entra_onboard_engine::steps::reminder::ReminderError,
    entra_onboard_engine::steps::tenants::TenantsError,
    entra_onboard_engine::steps::consent_capture::ConsentCaptureError,
    entra_onboard_sandbox::SandboxError,
    entra_onboard_engine::handover::HandoverError,
    entra_onboard_engine::transfer::TransferError,
    entra_onboard_engine::sync_preview::PreviewError,
    entra_onboard_engine::target::TargetError,
    entra_onboard_engine::evidence::EvidenceError,
);

impl Error {
    /// A file for the admin could not be written to the Downloads folder.
    pub fn export(e: std::io::Error) -> Self {
        Error {
            code: "export.io",
            message: format!(
                "could not write to the Downloads folder: {e}. Check that it exists and is writable."
            ),
        }
    }

    /// No usable credential for the SSO test (the message says what to do in step 3).
    pub fn credential(message: String) -> Self {
        Error {
            code: "sso_test.no_credential",
            message,
        }
    }
}

impl From<tauri_plugin_clipboard_manager::Error> for Error {
    fn from(e: tauri_plugin_clipboard_manager::Error) -> Self {
        Error {
            code: "clipboard",
            message: format!("could not copy to the clipboard: {e}"),
        }
    }
}
