//! The pages the loopback listener answers the browser with: sign-in or consent received,
//! the error Microsoft returned, and "not accepted" / "not found" for anything else. Each
//! tells the admin to return to the wizard; none links or redirects anywhere, loads
//! anything or runs a script (the listener sends CSP `default-src 'none'`).
//!
//! Templates are maud's: checked at compile time, every value HTML-escaped. The only
//! values are Microsoft's `error` and `error_description`, cleaned of control and bidi
//! characters ([`crate::text::clean`]) before escaping.

use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::Callback;
use crate::text::clean;

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:36em;margin:4em auto;padding:0 1em;line-height:1.5}";

fn page(title: &str, body: Markup) -> String {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { (title) }
                style { (PreEscaped(STYLE)) }
            }
            body { h1 { (title) } (body) }
        }
    }
    .into_string()
}

/// A sign-in response with the right state.
pub(super) fn sign_in_received() -> String {
    page(
        "Sign-in received",
        html! { p { "Entra Onboard is checking the result. Return to the Entra Onboard wizard to see it; you can close this tab." } },
    )
}

/// An admin-consent response with the right state.
pub(super) fn consent_received() -> String {
    page(
        "Consent received",
        html! { p { "Entra Onboard has recorded the answer. Return to the Entra Onboard wizard to see it; you can close this tab." } },
    )
}

/// A request refused (wrong or missing state, bad method or body, too slow).
pub(super) fn not_accepted() -> String {
    page(
        "Not accepted",
        html! { p { "This request does not belong to the running sign-in test and was ignored. Return to the Entra Onboard wizard." } },
    )
}

/// Any other path.
pub(super) fn not_found() -> String {
    page(
        "Not found",
        html! { p { "Return to the Entra Onboard wizard." } },
    )
}

/// A response with the right state that carries Microsoft's `error`.
pub(super) fn error(cb: &Callback) -> String {
    let error = cb.error.as_deref().unwrap_or_default();
    let description = cb.error_description.as_deref().unwrap_or_default();
    page(
        if cb.admin_consent.is_some() {
            "Consent not granted"
        } else {
            "Sign-in failed"
        },
        html! {
            p { "Microsoft returned an error: " code { (clean(error)) } }
            p { (clean(description)) }
            p { "Return to the Entra Onboard wizard: it explains the error and which step fixes it. You can close this tab." }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loopback::Via;

    fn callback(error: &str, description: &str) -> Callback {
        Callback {
            via: Via::Query,
            code: None,
            id_token: None,
            iss: None,
            error: Some(error.into()),
            error_description: Some(description.into()),
            admin_consent: None,
            tenant: None,
            scope: None,
        }
    }

    #[test]
    fn error_page_is_escaped() {
        let html = error(&callback("<script>", "\"'&"));
        assert!(!html.contains("<script>"));
        // maud leaves `'` as is: every attribute it writes is double-quoted.
        assert!(html.contains("&lt;script&gt;") && html.contains("&quot;'&amp;"));
    }

    #[test]
    fn error_page_is_cleaned_of_controls_and_bidi() {
        let html = error(&callback(
            "invalid\u{1b}[31m_client",
            "AADSTS7000215:\u{202E} bad\r\nTrace ID: 1",
        ));
        assert!(!html.chars().any(crate::text::is_unsafe), "{html}");
        assert!(html.contains("<code>invalid[31m_client</code>"));
        assert!(html.contains("AADSTS7000215: bad Trace ID: 1"));
    }

    #[test]
    fn every_page_is_a_whole_document_that_names_the_wizard() {
        for html in [
            sign_in_received(),
            consent_received(),
            not_accepted(),
            not_found(),
            error(&callback("access_denied", "")),
        ] {
            assert!(html.starts_with(
                "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>"
            ));
            assert!(html.ends_with("</body></html>"));
            assert!(html.contains("Return to the Entra Onboard wizard"));
            for banned in [
                "<script",
                "href=",
                "src=",
                "<form",
                "<meta http-equiv=\"refresh\"",
            ] {
                assert!(!html.contains(banned), "{banned} in {html}");
            }
        }
    }
}
