//! One sanitiser for text that came from outside — the network (a callback, a token
//! endpoint, Graph), a CSV or a profile — before it reaches a terminal, a report or the UI.
//!
//! [`clean`] makes a string safe to show on one line:
//!
//! - C0 and C1 control characters (`U+0000`–`U+001F`, `U+007F`–`U+009F`) are removed. ESC
//!   (`U+001B`) would otherwise let a hostile value recolour, move the cursor, retitle or
//!   clear the admin's terminal; CR could overwrite what was printed before it.
//! - Bidirectional formatting characters are removed: the embeddings and overrides
//!   `U+202A`–`U+202E`, the isolates `U+2066`–`U+2069`, and the marks `U+200E`, `U+200F`,
//!   `U+061C`. They reorder what is displayed ("Trojan Source"), so a tenant name or an
//!   error could read differently from what it is.
//! - Line and tab characters (`\t`, `\n`, `\r`, VT, FF, NEL `U+0085`, and the Unicode
//!   line/paragraph separators `U+2028`/`U+2029`) are removed *as controls*, but a run of
//!   them becomes one space rather than nothing. Every field this is applied to is shown
//!   on one line, so a line break must not start a forged line ("SSO test: PASSED");
//!   Entra's `error_description` uses `\r\n` between "…application." and "Trace ID: …",
//!   which would otherwise run the words together.
//!
//! Deliberately left alone: every other character, including other invisible ones
//! (zero-width joiners are needed by some scripts) and HTML-significant ones — escaping for
//! HTML is the page templates' job (maud, in the engine and the sandbox); this
//! function does not replace it. Values that are *compared* (a `state`, an `iss`, a tenant
//! GUID) are compared raw and cleaned only where they are shown, so cleaning can never make
//! two different values equal.

use std::borrow::Cow;

/// True for the characters [`clean`] removes (see the module docs).
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{202A}'..='\u{202E}'
                | '\u{2066}'..='\u{2069}'
                | '\u{200E}'
                | '\u{200F}'
                | '\u{061C}'
                | '\u{2028}'
                | '\u{2029}'
        )
}

/// Line and tab characters: removed like any control, but a run of them leaves one space.
fn is_break(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{0B}' | '\u{0C}' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}'
    )
}

/// `s` without C0/C1 control and bidi formatting characters, for showing on one line.
/// Borrows when there is nothing to remove.
pub fn clean(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut gap = false;
    for c in s.chars() {
        if is_break(c) {
            gap = true;
        } else if !is_unsafe(c) {
            if gap && !out.is_empty() && !out.ends_with(' ') && c != ' ' {
                out.push(' ');
            }
            gap = false;
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// [`clean`] for an owned value (no copy when it is already clean).
pub fn cleaned(s: String) -> String {
    match clean(&s) {
        Cow::Borrowed(_) => s,
        Cow::Owned(c) => c,
    }
}

/// [`cleaned`] through an `Option`.
pub fn cleaned_opt(s: Option<String>) -> Option<String> {
    s.map(cleaned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_and_bidi_are_removed() {
        assert_eq!(clean("a\u{1b}[2Jb\u{7}c\u{0}d\u{9b}31m"), "a[2Jbcd31m");
        assert_eq!(clean("Contoso\u{202E}gnp.exe\u{202C}"), "Contosognp.exe");
        for c in [
            '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}', '\u{2067}',
            '\u{2068}', '\u{2069}', '\u{200E}', '\u{200F}', '\u{061C}', '\u{7f}', '\u{80}',
            '\u{9f}',
        ] {
            assert_eq!(clean(&format!("x{c}y")), "xy", "U+{:04X}", c as u32);
        }
    }

    #[test]
    fn line_breaks_become_one_space() {
        assert_eq!(
            clean("AADSTS65004: User declined.\r\nTrace ID: 1\r\nCorrelation ID: 2"),
            "AADSTS65004: User declined. Trace ID: 1 Correlation ID: 2"
        );
        assert_eq!(clean("a\tb"), "a b");
        assert_eq!(clean("a \nb"), "a b");
        assert_eq!(clean("\n\nab\r\n"), "ab");
        assert_eq!(clean("x\u{2028}y\u{85}z"), "x y z");
        assert_eq!(clean("fake\rSSO test: PASSED"), "fake SSO test: PASSED");
    }

    #[test]
    fn clean_text_is_borrowed_unchanged() {
        for s in [
            "",
            "Contoso Ltd",
            "Zürich · 東京 · مرحبا",
            "a\u{200D}b",
            "<b>&",
        ] {
            assert!(matches!(clean(s), Cow::Borrowed(b) if b == s), "{s}");
        }
        assert_eq!(cleaned("ok".into()), "ok");
        assert_eq!(cleaned_opt(Some("o\u{1b}k".into())).as_deref(), Some("ok"));
    }

    #[test]
    fn nothing_unsafe_survives_any_input() {
        // Every code point in the ranges that matter, mixed with text.
        let all: String = (0u32..0x3000).filter_map(char::from_u32).collect();
        let out = clean(&all);
        assert!(!out.chars().any(is_unsafe));
        assert!(out.contains("ABC") && out.contains('\u{200D}'));
    }
}
