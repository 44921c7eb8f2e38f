//! "Explain this error": text pasted from Halo, Entra or a browser → cause, fix, the
//! wizard step and, given a customer profile, the exact values to compare.
//!
//! What it recognises, and nothing else:
//! - every `AADSTS<number>` anywhere in the text, explained from the [`crate::aadsts`]
//!   catalogue (a number not in it is reported as unknown, with where to look it up);
//! - the service-desk messages the guides list without an AADSTS code ([`MESSAGES`]:
//!   Halo's CSP "Common Errors" table and the portal's "AD user not found").
//!
//! Text that matches neither is said to be unrecognised: nothing is guessed from loose
//! words. Matching is case-insensitive on the message's fixed words only, so pasted
//! tenant names, GUIDs and trace IDs around it do not matter.
//!
//! Left out: other languages (Halo and Entra in English only), and fetching Microsoft's
//! current text for an unknown code (no network here; the fix names the page).

use serde::Serialize;
use ts_rs::TS;

use crate::aadsts;
use crate::profile::Profile;

/// The most text read: a pasted page or log excerpt, not a whole log file.
pub const MAX_TEXT: usize = 64 * 1024;

/// One recognised error in the pasted text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct ExplainFinding {
    /// What was recognised: `AADSTS50011`, or the message's words as the guide gives them.
    pub matched: String,
    /// Microsoft's name for the code, or the guide's name for the message.
    pub name: String,
    /// What it means for a service-desk connection.
    pub cause: String,
    /// What to do.
    pub fix: String,
    /// The wizard step (1–6) that fixes it; `None` when the fix is outside the wizard.
    pub step: Option<u8>,
    /// Given a profile: the exact values to compare with what the error names.
    pub check: Vec<String>,
    /// False for an AADSTS number the catalogue does not know.
    pub known: bool,
}

/// What the pasted text says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct Explanation {
    /// At least one finding is known.
    pub recognised: bool,
    /// Every finding, in the order it appears in the text.
    pub findings: Vec<ExplainFinding>,
    /// Said when nothing was recognised (or only unknown codes).
    pub note: Option<String>,
}

/// What a message without an AADSTS code is about: decides which profile values to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Topic {
    Consent,
    Reauthorise,
    WebAccess,
    Redirects,
    PartnerCenterPermission,
    SecretValue,
    Premium,
}

/// A service-desk message the guides name, with the fixed words that identify it.
pub struct Message {
    /// Words that must all appear (lower case).
    words: &'static [&'static str],
    /// The guide's name for it.
    pub name: &'static str,
    /// Cause.
    pub cause: &'static str,
    /// Fix.
    pub fix: &'static str,
    /// Wizard step.
    pub step: Option<u8>,
    topic: Topic,
}

/// The non-AADSTS messages from the guides (`microsoft-csp-integration-guide.md`'s
/// "CSP: Common Errors", the Entra SSO guides).
pub const MESSAGES: &[Message] = &[
    Message {
        words: &["calling application", "cannot be established"],
        name: "Calling Application Error",
        cause: "The integration's application permissions have no admin consent in that customer tenant. DAP relationships usually got it automatically; GDAP relationships need it granted per tenant.",
        fix: "In Halo's CSP tenant mappings, choose GDAP for each tenant that uses it and press \"Grant Admin Consent\" for each, signing in as that tenant's admin with an MFA prompt. For a DAP tenant, grant admin consent on the app in that tenant (Enterprise applications > the app > Permissions).",
        step: Some(5),
        topic: Topic::Consent,
    },
    Message {
        words: &["compact token parsing"],
        name: "Compact Token Parsing Error",
        cause: "Halo holds a token it can no longer read (the connection was authorised with different settings or has gone stale).",
        fix: "In Halo, open the integration's Details tab, press Disconnect, then authorise again (an Entra administrator signs in).",
        step: Some(6),
        topic: Topic::Reauthorise,
    },
    Message {
        words: &["ad user not found"],
        name: "AD user not found",
        cause: "The user signed in with Microsoft, but their Halo user has no Web Access Level for the self-service portal.",
        fix: "In Halo, open the user's Permissions tab and set a Web Access Level (for a standard user, \"This Users Tickets\").",
        step: Some(6),
        topic: Topic::WebAccess,
    },
    Message {
        words: &["insufficient privileges"],
        name: "Insufficient privileges",
        cause: "Microsoft Graph refused the call for lack of rights. During Halo's CSP site mappings: the Partner Center sign-in for that customer tenant was not an admin of it, or had no MFA prompt. Elsewhere: the signed-in account lacks the admin role, or the app lacks the permission's admin consent.",
        fix: "For CSP site mappings, sign in again for the tenant the error names with one of its admin accounts and check you are asked for an MFA code (Halo returns to the CSP integration list when it worked). Otherwise sign in with an account holding the role the step names, or grant admin consent (step 4).",
        step: Some(5),
        topic: Topic::Consent,
    },
    Message {
        words: &["required scopes", "requested by app"],
        name: "Required scopes requested by app",
        cause: "The single-tenant Partner Center app asks for the wrong permission: it must have exactly one API permission, Microsoft Partner Center user_impersonation.",
        fix: "On the single-tenant app registration, remove every other API permission and add Microsoft Partner Center > Delegated > user_impersonation, then authorise again in Halo.",
        step: Some(2),
        topic: Topic::PartnerCenterPermission,
    },
    Message {
        words: &["redirect uri", "does not match"],
        name: "Redirect URI specified does not match redirect configured",
        cause: "The address Halo sends back to is not registered on the app registration Halo uses.",
        fix: "Register the exact URIs on the app's Web platform: the single-tenant app <agent URL>/azure/auth, the multi-tenant app <agent URL>/config/integrations/microsoftcsp.",
        step: Some(2),
        topic: Topic::Redirects,
    },
    Message {
        words: &["parameter length"],
        name: "Parameter Length Error",
        cause: "The secret's ID (a GUID) was pasted into Halo instead of the secret's Value.",
        fix: "Paste the Value (the column left of Secret ID in Certificates & secrets; shown once, when the secret is created). If it is gone, create a new secret.",
        step: Some(3),
        topic: Topic::SecretValue,
    },
    Message {
        words: &["premium license"],
        name: "Neither tenant is B2C or tenant doesn't have premium license",
        cause: "Importing users' last sign-in date needs Entra ID P1 or P2 in that tenant.",
        fix: "Turn off the last sign-in date import for tenants without P1/P2, or license them.",
        step: Some(6),
        topic: Topic::Premium,
    },
];

/// The AADSTS numbers in `text`, in order, each once.
fn codes(text: &str) -> Vec<u32> {
    let mut out: Vec<u32> = Vec::new();
    let upper = text.to_ascii_uppercase();
    let mut rest = upper.as_str();
    while let Some(at) = rest.find("AADSTS") {
        rest = &rest[at + 6..];
        let digits: String = rest
            .chars()
            .take_while(char::is_ascii_digit)
            .take(9)
            .collect();
        if let Ok(n) = digits.parse::<u32>()
            && !out.contains(&n)
        {
            out.push(n);
        }
    }
    out
}

/// The profile's values to compare for a code, by the catalogue's step and the code.
fn checks_for_code(code: u32, step: Option<u8>, p: &Profile, quoted: Option<&str>) -> Vec<String> {
    let plan = crate::plan::plan(p);
    let mut out = Vec::new();
    match (code, step) {
        (50011 | 500113 | 900971, _) | (_, Some(2)) => {
            if let Some(q) = quoted {
                out.push(format!("The request used the redirect URI {q}"));
            }
            for r in &plan.redirect_uris {
                out.push(format!("Registered for {}: {}", r.description, r.uri));
            }
        }
        (_, Some(1)) => {
            out.push(format!("Tenant ID: {}", field(&p.tenant_id)));
            out.push(format!("Client ID: {}", field(&p.client_id)));
            out.push(format!("Sign-in address: {}", plan.authority));
        }
        (_, Some(3)) => {
            out.push(format!("Client ID: {}", field(&p.client_id)));
            out.push(format!(
                "Credential in this profile: {}",
                kind_label(p.credential.kind)
            ));
            if let Some(exp) = &p.credential.expires_on {
                out.push(format!("Recorded expiry: {exp}"));
            }
        }
        (_, Some(4)) => {
            out.push(format!("Client ID: {}", field(&p.client_id)));
            out.push(
                "Admin consent: open the link in step 4 as an administrator of this tenant".into(),
            );
        }
        _ => {}
    }
    out
}

fn checks_for_topic(topic: Topic, p: &Profile) -> Vec<String> {
    let plan = crate::plan::plan(p);
    match topic {
        Topic::Redirects => plan
            .redirect_uris
            .iter()
            .map(|r| format!("Registered for {}: {}", r.description, r.uri))
            .collect(),
        Topic::Consent | Topic::PartnerCenterPermission => {
            vec![format!("Client ID: {}", field(&p.client_id))]
        }
        Topic::SecretValue => vec![format!(
            "Credential in this profile: {}",
            kind_label(p.credential.kind)
        )],
        Topic::WebAccess => vec![format!(
            "Portal: {}",
            plan.effective_portal_url.as_deref().unwrap_or("(not set)")
        )],
        Topic::Reauthorise | Topic::Premium => Vec::new(),
    }
}

fn kind_label(k: crate::profile::CredentialKind) -> &'static str {
    use crate::profile::CredentialKind::*;
    match k {
        None => "not chosen yet",
        Secret => "client secret",
        Certificate => "certificate",
        Federated => "federated credential",
    }
}

fn field(s: &str) -> &str {
    if s.trim().is_empty() { "(not set)" } else { s }
}

/// Explains `text` (at most [`MAX_TEXT`] bytes are read), with values from `profile`.
pub fn explain(text: &str, profile: Option<&Profile>) -> Explanation {
    let mut end = text.len().min(MAX_TEXT);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let text = &text[..end];
    let lower = text.to_lowercase();
    let mut found: Vec<(usize, ExplainFinding)> = Vec::new();
    for code in codes(text) {
        let at = text
            .to_ascii_uppercase()
            .find(&format!("AADSTS{code}"))
            .unwrap_or(0);
        let finding = match aadsts::lookup(code) {
            Some(e) => ExplainFinding {
                matched: format!("AADSTS{code}"),
                name: e.name.into(),
                cause: e.cause.into(),
                fix: e.fix.into(),
                step: e.step,
                check: profile
                    .map(|p| {
                        checks_for_code(
                            code,
                            e.step,
                            p,
                            aadsts::quoted_redirect_uri(&text[at..]).as_deref(),
                        )
                    })
                    .unwrap_or_default(),
                known: true,
            },
            None => ExplainFinding {
                matched: format!("AADSTS{code}"),
                name: "Not in this tool's catalogue".into(),
                cause: "This code is not one the wizard explains; nothing is guessed.".into(),
                fix: format!(
                    "Look the code up on Microsoft's error page (login.microsoftonline.com/error, code {code}) and read the text that came with it."
                ),
                step: None,
                check: Vec::new(),
                known: false,
            },
        };
        found.push((at, finding));
    }
    for m in MESSAGES {
        if m.words.iter().all(|w| lower.contains(w)) {
            // A redirect mismatch that carries AADSTS50011 is already explained by the code.
            if m.topic == Topic::Redirects && found.iter().any(|(_, f)| f.matched == "AADSTS50011")
            {
                continue;
            }
            let at = lower.find(m.words[0]).unwrap_or(0);
            found.push((
                at,
                ExplainFinding {
                    matched: m.words.join(" … "),
                    name: m.name.into(),
                    cause: m.cause.into(),
                    fix: m.fix.into(),
                    step: m.step,
                    check: profile
                        .map(|p| checks_for_topic(m.topic, p))
                        .unwrap_or_default(),
                    known: true,
                },
            ));
        }
    }
    found.sort_by_key(|(at, _)| *at);
    let findings: Vec<ExplainFinding> = found.into_iter().map(|(_, f)| f).collect();
    let recognised = findings.iter().any(|f| f.known);
    let note = (!recognised).then(|| {
        if findings.is_empty() {
            "Not recognised: the text has no AADSTS code and none of the service-desk messages this tool knows. Nothing is guessed — paste the whole message, including any AADSTS number.".to_string()
        } else {
            "Only codes this tool does not know: see Microsoft's error page for them.".to_string()
        }
    });
    Explanation {
        recognised,
        findings,
        note,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn profile() -> Profile {
        let mut p = Profile::new("Acme");
        p.agent_url = "https://acme.halopsa.com".into();
        p.tenant_id = "11111111-2222-3333-4444-555555555555".into();
        p.client_id = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee".into();
        p
    }

    #[test]
    fn a_code_anywhere_in_the_text_is_explained_with_the_profile_values() {
        let text = "Sorry, but we're having trouble signing you in.\nAADSTS50011: The redirect URI 'https://acme.halopsa.com/auth/x' specified in the request does not match the redirect URIs configured for the application 'aaaa'.";
        let e = explain(text, Some(&profile()));
        assert!(e.recognised);
        assert_eq!(e.findings.len(), 1, "the redirect message is not repeated");
        let f = &e.findings[0];
        assert_eq!(f.matched, "AADSTS50011");
        assert_eq!(f.name, "InvalidReplyTo");
        assert_eq!(f.step, Some(2));
        assert!(
            f.check[0].contains("https://acme.halopsa.com/auth/x"),
            "{:?}",
            f.check
        );
        assert!(
            f.check
                .iter()
                .any(|c| c.contains("https://acme.halopsa.com")),
            "{:?}",
            f.check
        );
    }

    #[test]
    fn the_new_codes_use_microsofts_names() {
        for (code, name) in [
            (50074, "UserStrongAuthClientAuthNRequiredInterrupt"),
            (530035, "BlockedBySecurityDefaults"),
            (500212, "NotAllowedByOutboundPolicyTenant"),
            (500213, "NotAllowedByInboundPolicyTenant"),
            (90072, "PassThroughUserMfaError"),
            (50057, "UserDisabled"),
        ] {
            let e = explain(&format!("error: aadsts{code} something"), None);
            assert_eq!(e.findings[0].name, name);
        }
        assert!(explain("AADSTS500113", None).recognised);
        assert!(explain("AADSTS900971: No reply address provided.", None).recognised);
    }

    #[test]
    fn the_guides_messages_without_a_code_are_recognised() {
        for (text, step) in [
            (
                "Error: the identity of the calling application cannot be established",
                Some(5),
            ),
            ("Compact Token Parsing Error", Some(6)),
            ("AD user not found", Some(6)),
            (
                "Insufficient Privileges: During Site Mappings (tenant contoso)",
                Some(5),
            ),
            ("Required scopes requested by app are not present", Some(2)),
            (
                "Redirect URI specified does not match redirect configured",
                Some(2),
            ),
        ] {
            let e = explain(text, Some(&profile()));
            assert!(e.recognised, "{text}");
            assert_eq!(e.findings[0].step, step, "{text}");
        }
        let e = explain("AD user not found", Some(&profile()));
        assert!(e.findings[0].fix.contains("Web Access Level"));
    }

    #[test]
    fn unknown_text_and_unknown_codes_are_never_guessed() {
        let e = explain("Something went wrong, please try again later.", None);
        assert!(!e.recognised);
        assert!(e.findings.is_empty());
        assert!(e.note.unwrap().starts_with("Not recognised"));
        let e = explain("AADSTS999999: made up", None);
        assert!(!e.recognised);
        assert!(!e.findings[0].known);
        assert!(e.note.is_some());
    }

    #[test]
    fn several_codes_are_listed_in_order_once_each() {
        let e = explain("AADSTS7000215 then AADSTS65001 then AADSTS7000215", None);
        let m: Vec<&str> = e.findings.iter().map(|f| f.matched.as_str()).collect();
        assert_eq!(m, ["AADSTS7000215", "AADSTS65001"]);
    }

    proptest! {
        #[test]
        fn no_text_panics(s in "\\PC{0,400}", n in proptest::option::of(0u64..99_999_999_999)) {
            let text = match n { Some(n) => format!("{s}AADSTS{n}{s}"), None => s };
            let e = explain(&text, Some(&profile()));
            prop_assert_eq!(e.recognised, e.findings.iter().any(|f| f.known));
        }
    }
}
