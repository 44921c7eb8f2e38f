//! The one error type commands return. It reaches the UI as `{code, message}`: the UI
//! branches on `code` (stable, from the engine) and shows `message`; it never parses text.
//!
//! [`ERROR_CODES`] lists every code an [`Error`] can carry, and the UI's `code` is typed
//! with the union of them (`ui/src/lib/bindings/ErrorCode.ts`, written by `cargo test`), so
//! a typo in a comparison is a type error. A test reads the engine's `code()` functions
//! and this crate's sources and fails when a code is missing from the list or the list
//! holds one no code path returns. Deliberately a superset: it lists every code of the
//! engine's error types, including a few no command happens to reach today (the consent
//! redirect's own errors, for one), since listing by reachability would mean following
//! every `From` by hand.

use serde::Serialize;
use ts_rs::TS;

/// A command failure as the UI receives it.
#[derive(Debug, Serialize, TS)]
#[ts(export, rename = "CommandError")]
pub struct Error {
    /// Stable machine-readable code, e.g. `profile.not_found`.
    #[ts(as = "ErrorCode")]
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
    entra_onboard_engine::guards::GuardError,
    entra_onboard_engine::teams::TeamsPackageError,
    entra_onboard_engine::graph::rotate::RotateError,
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

/// Every code an [`Error`] can carry, sorted (see the module docs).
pub const ERROR_CODES: &[&str] = &[
    "apply.no_profile_id",
    "apply.profile",
    "authority.has_path",
    "authority.loopback_https",
    "authority.not_a_url",
    "authority.not_https",
    "authority.not_microsoft",
    "authority.not_signup_host",
    "authority.other_loopback",
    "authority.port",
    "authority.scheme",
    "authority.userinfo",
    "browser.launch",
    "browser_flow.busy",
    "certificate.common_name",
    "certificate.expired",
    "certificate.file_exists",
    "certificate.generate",
    "certificate.invalid",
    "certificate.io",
    "certificate.key_mismatch",
    "certificate.key_size",
    "certificate.no_certificate",
    "certificate.no_private_key",
    "certificate.not_rsa",
    "certificate.not_yet_valid",
    "certificate.pfx_password",
    "certificate.pfx_too_large",
    "certificate.pfx_unreadable",
    "certificate.validity",
    "certificate.weak_key",
    "clipboard",
    "consent.bad_state",
    "consent.duplicate_param",
    "consent.incomplete",
    "consent.missing_state",
    "consent.no_link",
    "consent.not_login_host",
    "consent_capture.bad_tenant",
    "consent_capture.profile",
    "credential.not_stored",
    "csp.flavor",
    "csp.no_script",
    "doctor.fix_not_offered",
    "doctor.profile",
    "export.io",
    "file.io",
    "file.not_regular",
    "file.not_utf8",
    "file.path_refused",
    "file.too_large",
    "graph.api",
    "graph.bad_response",
    "graph.config",
    "graph.not_signed_in",
    "graph.token",
    "graph.transport",
    "graph_signin.profile",
    "graph_signin.refused",
    "graph_signin.token",
    "handover.io",
    "keychain.bad_profile_id",
    "keychain.platform",
    "keychain.too_long",
    "keychain.unavailable",
    "loopback.bind",
    "loopback.cancelled",
    "loopback.timeout",
    "profile.bad_id",
    "profile.io",
    "profile.no_config_dir",
    "profile.not_found",
    "profile.parse",
    "profile.too_new",
    "public_signup.cloud",
    "public_signup.tenant_name",
    "public_signup.user_flow",
    "reminder.expired",
    "reminder.no_credential",
    "reminder.no_expiry",
    "rotate.app",
    "rotate.in_progress",
    "rotate.kind",
    "rotate.no_client_id",
    "rotate.nothing_in_progress",
    "rotate.policy_blocks_secret",
    "rotate.profile",
    "rotate.same_secret",
    "sandbox.bind",
    "sandbox.certificate",
    "sandbox.key",
    "sandbox.redirect_uri",
    "sandbox.unknown_app",
    "secret.empty",
    "secret.expiry_past",
    "secret.expiry_too_far",
    "secret.is_secret_id",
    "secret.months_out_of_range",
    "secret.no_profile_id",
    "secret.too_long",
    "secret.too_short",
    "secret.whitespace",
    "sso_test.http",
    "sso_test.no_credential",
    "sso_test.no_pass",
    "sso_test.pass_other_profile",
    "sso_test.pass_stale",
    "sso_test.pass_superseded",
    "sso_test.pass_used",
    "sso_test.profile",
    "sync_preview.cancelled",
    "sync_preview.existing_users",
    "sync_preview.none",
    "sync_preview.profile",
    "target.leaves",
    "teams.profile",
    "teams.write",
    "tenants.empty_input",
    "tenants.too_large",
    "token.bad_response",
    "token.credential",
    "token.refused",
    "token.transport",
    "transfer.io",
    "transfer.not_a_bundle",
    "transfer.parse",
    "transfer.too_large",
    "transfer.too_new",
];

/// The TypeScript union of [`ERROR_CODES`] (`type ErrorCode = "apply.no_profile_id" | …`).
/// Never built: it only gives ts-rs the type of [`Error::code`].
pub struct ErrorCode;

impl TS for ErrorCode {
    type WithoutGenerics = Self;
    type OptionInnerType = Self;

    fn docs() -> Option<String> {
        Some("/**\n * Every code a command error can carry (src-tauri/src/error.rs `ERROR_CODES`).\n */\n".into())
    }

    fn name(_: &ts_rs::Config) -> String {
        "ErrorCode".into()
    }

    fn inline(_: &ts_rs::Config) -> String {
        ERROR_CODES
            .iter()
            .map(|c| format!("\"{c}\""))
            .collect::<Vec<_>>()
            .join(" | ")
    }

    fn decl(cfg: &ts_rs::Config) -> String {
        format!("type ErrorCode = {};", Self::inline(cfg))
    }

    fn decl_concrete(cfg: &ts_rs::Config) -> String {
        Self::decl(cfg)
    }

    fn output_path() -> Option<std::path::PathBuf> {
        Some("ErrorCode.ts".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;
    use std::path::{Path, PathBuf};

    /// Every `.rs` file under `dir`.
    fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let path = e.path();
            if path.is_dir() {
                rust_files(&path, out);
            } else if path.extension().is_some_and(|x| x == "rs") {
                out.push(path);
            }
        }
    }

    /// The string literals in `text`.
    fn literals(text: &str) -> impl Iterator<Item = &str> {
        text.split('"').skip(1).step_by(2)
    }

    /// The literals returned by each `fn code(&self) -> &'static str` of a type named
    /// `…Error` in `src` (a `UrlProblem`'s codes are plan issues, not command errors;
    /// delegations such as `e.code()` are covered by the delegate's own function).
    fn engine_codes(src: &str, found: &mut BTreeSet<String>) {
        const SIGNATURE: &str = "fn code(&self) -> &'static str {";
        let mut rest = src;
        let mut offset = 0;
        while let Some(at) = rest.find(SIGNATURE) {
            let start = offset + at;
            let ty = src[..start]
                .rfind("\nimpl ")
                .map(|i| &src[i + 6..])
                .and_then(|s| s.split([' ', '<', '{']).next())
                .unwrap_or_default();
            let body_start = start + SIGNATURE.len();
            let mut depth = 1;
            let mut end = body_start;
            for (i, c) in src[body_start..].char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    _ => {}
                }
                if depth == 0 {
                    end = body_start + i;
                    break;
                }
            }
            if ty.ends_with("Error") {
                found.extend(literals(&src[body_start..end]).map(str::to_string));
            }
            offset = body_start;
            rest = &src[body_start..];
        }
    }

    /// The codes this crate builds by hand (`code: "…"`).
    fn app_codes(src: &str, found: &mut BTreeSet<String>) {
        for piece in src.split("code: \"").skip(1) {
            if let Some(code) = piece.split('"').next() {
                found.insert(code.to_string());
            }
        }
    }

    #[test]
    fn the_list_holds_exactly_the_codes_the_sources_return() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut found = BTreeSet::new();
        // The engine's error types, wherever its crates live.
        let mut files = Vec::new();
        for dir in ["engine/src", "crates"] {
            rust_files(&root.join(dir), &mut files);
        }
        for f in &files {
            engine_codes(&std::fs::read_to_string(f).unwrap(), &mut found);
        }
        let mut app = Vec::new();
        rust_files(&root.join("src-tauri/src"), &mut app);
        for f in &app {
            let text = std::fs::read_to_string(f).unwrap();
            // Test modules build errors of their own; the list is about what commands return.
            let text = text
                .split("#[cfg(test)]\nmod tests")
                .next()
                .unwrap_or_default();
            app_codes(text, &mut found);
        }
        let listed: BTreeSet<String> = ERROR_CODES.iter().map(|c| c.to_string()).collect();
        let missing: Vec<_> = found.difference(&listed).collect();
        let stale: Vec<_> = listed.difference(&found).collect();
        assert!(
            missing.is_empty() && stale.is_empty(),
            "add to ERROR_CODES: {missing:?}; remove from it: {stale:?}"
        );
    }

    #[test]
    fn the_list_is_sorted_and_has_no_duplicates() {
        assert!(ERROR_CODES.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn the_scan_sees_codes_and_skips_what_is_not_an_error_code() {
        let src = r#"
impl KeychainError {
    pub fn code(&self) -> &'static str {
        match self {
            KeychainError::Unavailable { .. } => "keychain.unavailable",
            KeychainError::Platform(e) => e.code(),
        }
    }
}
impl UrlProblem {
    pub fn code(&self) -> &'static str {
        "not_https"
    }
}
"#;
        let mut found = BTreeSet::new();
        engine_codes(src, &mut found);
        assert_eq!(found, BTreeSet::from(["keychain.unavailable".to_string()]));
        let mut app = BTreeSet::new();
        app_codes("Error { code: \"csp.flavor\", message }", &mut app);
        assert_eq!(app, BTreeSet::from(["csp.flavor".to_string()]));
    }

    #[test]
    fn the_typescript_union_is_every_listed_code() {
        let cfg = ts_rs::Config::default();
        let decl = ErrorCode::decl(&cfg);
        assert!(decl.starts_with("type ErrorCode = \"apply.no_profile_id\" | "));
        assert_eq!(decl.matches(" | ").count() + 1, ERROR_CODES.len());
        assert!(decl.contains("\"loopback.cancelled\""));
        // The command error's code field is that union, not `string`.
        assert!(Error::decl(&cfg).contains("code: ErrorCode"));
    }
}
