//! What the wizard tells the admin about their input: [`Issue`]s, and the URL rules that
//! several steps share.
//!
//! Every issue names the profile field it is about (the same name as in the profile JSON,
//! so a CLI user can find it), a stable `code` the UI may branch on, a message that says
//! what is wrong and a `fix` that says what to do. Validation never changes or drops what
//! was typed; it only reports.

use serde::Serialize;
use ts_rs::TS;
use url::Url;

/// How much an issue matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(export)]
pub enum Severity {
    /// The plan cannot be used until this is fixed.
    Error,
    /// The plan works, but something will probably go wrong later (lockout, expiry, …).
    Warning,
    /// Worth knowing; nothing to fix.
    Info,
}

/// One finding about a profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct Issue {
    /// The profile field, as named in the profile JSON (`tenant_id`, `sso.federated_domain`,
    /// `allowed_tenants[2]`).
    pub field: String,
    /// The wizard step (1–6) where the field is edited.
    pub step: u8,
    /// Error, warning or info.
    pub severity: Severity,
    /// Stable machine-readable code, e.g. `tenant_id.not_guid`.
    pub code: String,
    /// What is wrong, in the admin's words.
    pub message: String,
    /// What to do about it.
    pub fix: String,
}

/// Collects issues for one profile.
#[derive(Debug, Default)]
pub struct Issues(pub Vec<Issue>);

impl Issues {
    /// Adds an issue.
    pub fn push(
        &mut self,
        severity: Severity,
        step: u8,
        field: impl Into<String>,
        code: &str,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) {
        self.0.push(Issue {
            field: field.into(),
            step,
            severity,
            code: code.to_string(),
            message: message.into(),
            fix: fix.into(),
        });
    }

    /// Adds an error.
    pub fn error(
        &mut self,
        step: u8,
        field: impl Into<String>,
        code: &str,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) {
        self.push(Severity::Error, step, field, code, message, fix);
    }

    /// Adds a warning.
    pub fn warn(
        &mut self,
        step: u8,
        field: impl Into<String>,
        code: &str,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) {
        self.push(Severity::Warning, step, field, code, message, fix);
    }

    /// Adds an info note.
    pub fn info(
        &mut self,
        step: u8,
        field: impl Into<String>,
        code: &str,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) {
        self.push(Severity::Info, step, field, code, message, fix);
    }

    /// True when any issue is an error.
    pub fn has_errors(&self) -> bool {
        self.0.iter().any(|i| i.severity == Severity::Error)
    }

    /// True when an error is recorded for `field`.
    pub fn has_error_for(&self, field: &str) -> bool {
        self.0
            .iter()
            .any(|i| i.severity == Severity::Error && i.field == field)
    }
}

/// Why a service-desk URL was refused. The caller turns it into an [`Issue`] for its field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UrlProblem {
    /// Nothing typed.
    Empty,
    /// Not a URL at all.
    Unparseable,
    /// `http://` (or another scheme) where Entra requires https.
    NotHttps(String),
    /// `user:pass@` in the URL.
    HasCredentials,
    /// `?…` or `#…` in the URL.
    HasQueryOrFragment,
    /// A `*` in the host.
    Wildcard,
}

impl UrlProblem {
    /// Stable code suffix.
    pub fn code(&self) -> &'static str {
        match self {
            UrlProblem::Empty => "required",
            UrlProblem::Unparseable => "not_a_url",
            UrlProblem::NotHttps(_) => "not_https",
            UrlProblem::HasCredentials => "has_credentials",
            UrlProblem::HasQueryOrFragment => "has_query",
            UrlProblem::Wildcard => "wildcard",
        }
    }

    /// (message, fix) for the admin, given what the field is called.
    pub fn explain(&self, what: &str, example: &str) -> (String, String) {
        match self {
            UrlProblem::Empty => (
                format!("The {what} is required."),
                format!("Enter the address you open in the browser, e.g. {example}."),
            ),
            UrlProblem::Unparseable => (
                format!("The {what} is not a web address."),
                format!("Enter a full address starting with https://, e.g. {example}."),
            ),
            UrlProblem::NotHttps(scheme) => (
                format!(
                    "The {what} uses {scheme}://; Entra only accepts https redirect URIs for web apps."
                ),
                "Use the https:// address of the service desk.".to_string(),
            ),
            UrlProblem::HasCredentials => (
                format!("The {what} contains a user name or password."),
                "Remove the part before @ — never put credentials in a URL.".to_string(),
            ),
            UrlProblem::HasQueryOrFragment => (
                format!(
                    "The {what} contains ?… or #…, which redirect URIs built from it must not."
                ),
                "Remove everything from the ? or # onwards.".to_string(),
            ),
            UrlProblem::Wildcard => (
                format!("The {what} contains a wildcard (*)."),
                "Use the exact host name; Entra does not accept wildcards for this app."
                    .to_string(),
            ),
        }
    }
}

/// Normalises a service-desk base URL: https only, no credentials, no query or fragment,
/// host lower-cased (the `url` crate does that), trailing slash dropped.
///
/// The *path* keeps its case: Entra matches redirect URI paths case-sensitively.
pub fn normalize_base_url(input: &str) -> Result<String, UrlProblem> {
    let s = input.trim();
    if s.is_empty() {
        return Err(UrlProblem::Empty);
    }
    if s.contains('*') {
        return Err(UrlProblem::Wildcard);
    }
    // "acme.halopsa.com" is what people paste most often: say https is missing rather
    // than "not a URL" — but do not guess it for them, the fix is theirs to accept.
    let url = Url::parse(s).map_err(|_| UrlProblem::Unparseable)?;
    if url.scheme() != "https" {
        if url.cannot_be_a_base() || url.host_str().is_none() {
            return Err(UrlProblem::Unparseable);
        }
        return Err(UrlProblem::NotHttps(url.scheme().to_string()));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(UrlProblem::Unparseable);
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(UrlProblem::HasCredentials);
    }
    if url.query().is_some() || url.fragment().is_some() || s.ends_with('?') || s.ends_with('#') {
        return Err(UrlProblem::HasQueryOrFragment);
    }
    let mut out = url.to_string();
    while out.ends_with('/') {
        out.pop();
    }
    Ok(out)
}

/// The host of an already-normalised URL.
pub fn host_of(url: &str) -> Option<String> {
    Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
}

/// Characters Microsoft does not allow in a redirect URI (reply-url.md).
pub const REDIRECT_URI_FORBIDDEN: [char; 7] = ['!', '$', '\'', '(', ')', ',', ';'];

/// Microsoft's maximum redirect URI length (reply-url.md).
pub const REDIRECT_URI_MAX_LEN: usize = 256;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_host_case_and_trailing_slash() {
        assert_eq!(
            normalize_base_url(" https://ACME.HaloPSA.com/ ").unwrap(),
            "https://acme.halopsa.com"
        );
        assert_eq!(
            normalize_base_url("https://Halo.Example.org/Halo/").unwrap(),
            "https://halo.example.org/Halo"
        );
    }

    #[test]
    fn refuses_what_entra_would_refuse() {
        assert_eq!(normalize_base_url(""), Err(UrlProblem::Empty));
        assert_eq!(
            normalize_base_url("http://acme.halopsa.com"),
            Err(UrlProblem::NotHttps("http".into()))
        );
        assert_eq!(
            normalize_base_url("acme.halopsa.com"),
            Err(UrlProblem::Unparseable)
        );
        assert_eq!(
            normalize_base_url("https://acme.halopsa.com/?x=1"),
            Err(UrlProblem::HasQueryOrFragment)
        );
        assert_eq!(
            normalize_base_url("https://acme.halopsa.com/#top"),
            Err(UrlProblem::HasQueryOrFragment)
        );
        assert_eq!(
            normalize_base_url("https://admin:pw@acme.halopsa.com"),
            Err(UrlProblem::HasCredentials)
        );
        assert_eq!(
            normalize_base_url("https://*.halopsa.com"),
            Err(UrlProblem::Wildcard)
        );
    }
}
