//! What the SSO test reports: per-check verdicts, a claims summary, the error explained
//! (code, message, fix, wizard step) and timings. The JSON shape is the CLI contract:
//! `{"ok", "checks": [{"id","ok","detail"}], "claims", "error": {"code","message","fix","step"} | null, "timings_ms"}`;
//! the GUI gets the same struct over IPC (ts-rs bindings).
//!
//! Claim names in [`ClaimsSummary`] are the token's own (`preferred_username`), not
//! camelCase, so what the admin reads matches what Microsoft documents.

use serde::Serialize;
use ts_rs::TS;

use crate::aadsts;
use crate::steps::redirects::WIZARD_REDIRECT_URI;

/// The result of one SSO test.
#[derive(Debug, Clone, Default, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct SsoReport {
    /// True when every check passed.
    pub ok: bool,
    /// The checks that ran, in order.
    pub checks: Vec<Check>,
    /// Who signed in (from the validated ID token).
    pub claims: Option<ClaimsSummary>,
    /// Why the test failed, explained; `None` when it passed.
    pub error: Option<ReportError>,
    /// How long each phase took.
    #[serde(rename = "timings_ms")]
    #[ts(rename = "timings_ms")]
    pub timings_ms: Timings,
    /// Requests the loopback listener refused while waiting (stray tabs, wrong state):
    /// the first 20 (`loopback::IgnoredLog::MAX`), cleaned of control characters.
    pub ignored_requests: Vec<String>,
    /// How many requests were refused in all (may exceed the length of the list).
    #[ts(type = "number")]
    pub ignored_requests_total: u64,
    /// When the test ended (this computer's clock, UTC).
    #[ts(type = "string | null")]
    pub tested_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl SsoReport {
    /// Runs every string in the report through [`crate::text::clean`]. [`super::run`] does
    /// this last, so whatever a check quoted — an issuer, a claim, Entra's description, a
    /// refused request — reaches the CLI, the JSON and the UI without control or bidi
    /// characters, whichever check put it there.
    pub fn clean_text(&mut self) {
        use crate::text::cleaned;
        let each = |v: &mut Vec<String>| {
            for s in v.iter_mut() {
                *s = cleaned(std::mem::take(s));
            }
        };
        for c in &mut self.checks {
            c.id = cleaned(std::mem::take(&mut c.id));
            c.detail = cleaned(std::mem::take(&mut c.detail));
        }
        if let Some(c) = &mut self.claims {
            for s in [&mut c.name, &mut c.preferred_username, &mut c.oid] {
                *s = s.take().map(cleaned);
            }
            c.tid = cleaned(std::mem::take(&mut c.tid));
            if let Some(a) = &mut c.amr {
                each(a);
            }
            each(&mut c.roles);
        }
        if let Some(e) = &mut self.error {
            e.code = cleaned(std::mem::take(&mut e.code));
            e.message = cleaned(std::mem::take(&mut e.message));
            e.fix = cleaned(std::mem::take(&mut e.fix));
        }
        each(&mut self.ignored_requests);
    }

    /// The record a passing test leaves on the profile ("verified on <date> as <user>");
    /// `None` for a failed test, so a failure can never mark a profile verified.
    pub fn verification(&self) -> Option<crate::profile::Verification> {
        if !self.ok || self.error.is_some() || self.checks.iter().any(|c| !c.ok) {
            return None;
        }
        Some(crate::profile::Verification {
            verified_at: self.tested_at.unwrap_or_else(chrono::Utc::now),
            signed_in_as: self
                .claims
                .as_ref()
                .and_then(|c| c.preferred_username.clone()),
        })
    }
}

/// One check.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct Check {
    /// Stable id: `discovery`, `callback`, `id_token`, `credential`, `token_id_token`, `consent`.
    pub id: String,
    /// Passed.
    pub ok: bool,
    /// What was seen, in words.
    pub detail: String,
}

/// Whether the token shows multi-factor authentication.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum Mfa {
    /// `amr` contains `mfa` (or `ngcmfa`).
    Yes,
    /// `amr` is present without MFA.
    No,
    /// The token has no `amr` (v2.0 Entra ID tokens usually do not): enforce MFA with
    /// Conditional Access instead of reading it here.
    NotVisible,
}

impl Mfa {
    /// From the `amr` claim.
    pub fn from_amr(amr: Option<&[String]>) -> Mfa {
        match amr {
            None => Mfa::NotVisible,
            Some(a) if a.iter().any(|m| m == "mfa" || m == "ngcmfa") => Mfa::Yes,
            Some(_) => Mfa::No,
        }
    }

    /// For people.
    pub fn label(self) -> &'static str {
        match self {
            Mfa::Yes => "yes",
            Mfa::No => "no",
            Mfa::NotVisible => "not visible in this token",
        }
    }
}

/// Who signed in. Field names are the token's claim names.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct ClaimsSummary {
    /// Display name.
    pub name: Option<String>,
    /// Sign-in name (mutable; display only).
    pub preferred_username: Option<String>,
    /// User object id in the tenant.
    pub oid: Option<String>,
    /// Tenant id.
    pub tid: String,
    /// Authentication methods, when present.
    pub amr: Option<Vec<String>>,
    /// MFA as far as the token shows it.
    pub mfa: Mfa,
    /// Application permissions (`roles`) of the app-only Graph token.
    pub roles: Vec<String>,
}

/// The failure, explained.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct ReportError {
    /// `AADSTS<n>` for Entra errors, else a stable code like `id_token.nonce`.
    pub code: String,
    /// What happened (Entra's description verbatim where there is one).
    pub message: String,
    /// What to do.
    pub fix: String,
    /// Wizard step (1–6) that fixes it, if any.
    pub step: Option<u8>,
}

/// Milliseconds per phase.
#[derive(Debug, Clone, Default, Serialize, TS)]
#[ts(export)]
pub struct Timings {
    /// Discovery and the key set.
    pub discovery: Option<u64>,
    /// Waiting for the browser (the admin signing in).
    pub browser: Option<u64>,
    /// From the callback to the verdict (token calls and validation).
    pub verdict: Option<u64>,
    /// Code redemption.
    pub redeem: Option<u64>,
    /// Client-credentials grant.
    pub consent: Option<u64>,
    /// Everything.
    pub total: Option<u64>,
}

/// Explains an OAuth error from the callback or the token endpoint.
pub fn explain_oauth(error: &str, description: &str, codes: &[u32]) -> ReportError {
    // Both come from the network (a callback or a token endpoint) and are quoted below.
    let (error, description) = (
        &*crate::text::clean(error),
        &*crate::text::clean(description),
    );
    let code = aadsts::extract_code(description).or_else(|| codes.first().copied());
    let said = if description.is_empty() {
        error.to_string()
    } else {
        description.to_string()
    };
    match code.map(|c| (c, aadsts::lookup(c))) {
        Some((50011, Some(entry))) => {
            let message = match aadsts::quoted_redirect_uri(description) {
                Some(quoted) => format!(
                    "{} Entra received '{quoted}'; the plan registers '{WIZARD_REDIRECT_URI}'. {} Microsoft said: {said}",
                    entry.cause,
                    redirect_difference(&quoted, WIZARD_REDIRECT_URI)
                ),
                None => format!("{} Microsoft said: {said}", entry.cause),
            };
            ReportError {
                code: "AADSTS50011".into(),
                message,
                fix: format!("Add {WIZARD_REDIRECT_URI} under Authentication > Web > Redirect URIs (step 2)."),
                step: entry.step,
            }
        }
        Some((n, Some(entry))) => ReportError {
            code: format!("AADSTS{n}"),
            message: format!("{} Microsoft said: {said}", entry.cause),
            fix: entry.fix.to_string(),
            step: entry.step,
        },
        Some((n, None)) => ReportError {
            code: format!("AADSTS{n}"),
            message: said,
            fix: format!("Look the code up at https://login.microsoftonline.com/error?code={n}."),
            step: None,
        },
        None => ReportError {
            code: format!("oauth.{}", error.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_').take(40).collect::<String>()),
            message: format!("The provider returned '{error}': {said}"),
            fix: "Read the message; if it names a setting, fix it in the matching step and run the test again.".into(),
            step: None,
        },
    }
}

/// How a redirect URI Entra quoted differs from the planned one (ports of localhost
/// are ignored, as Entra does).
pub fn redirect_difference(quoted: &str, planned: &str) -> String {
    let (Ok(q), Ok(p)) = (url::Url::parse(quoted), url::Url::parse(planned)) else {
        return "The quoted URI is not a URL.".into();
    };
    let mut diffs = Vec::new();
    if q.scheme() != p.scheme() {
        diffs.push(format!("scheme {} instead of {}", q.scheme(), p.scheme()));
    }
    if q.host_str() != p.host_str() {
        diffs.push(format!(
            "host {} instead of {}",
            q.host_str().unwrap_or_default(),
            p.host_str().unwrap_or_default()
        ));
    }
    if q.path() != p.path() {
        let how = if q.path().eq_ignore_ascii_case(p.path()) {
            " (only letter case differs; paths are case-sensitive)"
        } else {
            ""
        };
        diffs.push(format!("path {} instead of {}{how}", q.path(), p.path()));
    }
    if diffs.is_empty() {
        "They differ only in the port, which Entra ignores for localhost: so the URI is not registered on the app, or it is registered under another platform (SPA, Mobile and desktop) instead of Web.".into()
    } else {
        format!("Difference: {}.", diffs.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mfa_labels() {
        assert_eq!(Mfa::from_amr(None), Mfa::NotVisible);
        assert_eq!(Mfa::from_amr(Some(&["pwd".into()])), Mfa::No);
        assert_eq!(Mfa::from_amr(Some(&["pwd".into(), "mfa".into()])), Mfa::Yes);
    }

    #[test]
    fn known_unknown_and_plain_errors() {
        let e = explain_oauth(
            "invalid_request",
            "AADSTS700054: response_type 'id_token' is not enabled for the application.",
            &[],
        );
        assert_eq!((e.code.as_str(), e.step), ("AADSTS700054", Some(2)));
        let e = explain_oauth(
            "invalid_client",
            "AADSTS7000215: Invalid client secret provided.",
            &[7000215],
        );
        assert_eq!((e.code.as_str(), e.step), ("AADSTS7000215", Some(3)));
        let e = explain_oauth("invalid_request", "AADSTS1234567: Something new.", &[]);
        assert_eq!(e.code, "AADSTS1234567");
        assert!(e.message.contains("Something new."));
        let e = explain_oauth("access_denied", "", &[]);
        assert_eq!(e.code, "oauth.access_denied");
    }

    #[test]
    fn redirect_mismatch_is_described() {
        let e = explain_oauth(
            "invalid_request",
            "AADSTS50011: The redirect URI 'http://localhost:5000/Entra-Onboard/callback' specified in the request does not match the redirect URIs configured for the application.",
            &[],
        );
        assert!(
            e.message
                .contains("http://localhost:5000/Entra-Onboard/callback"),
            "{}",
            e.message
        );
        assert!(
            e.message.contains("only letter case differs"),
            "{}",
            e.message
        );
        let d = redirect_difference(
            "http://localhost:5000/entra-onboard/callback",
            WIZARD_REDIRECT_URI,
        );
        assert!(d.contains("only in the port"));
    }
}
