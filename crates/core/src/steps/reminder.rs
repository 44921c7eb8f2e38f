//! Step 3 — the rotation reminder: an iCalendar file (RFC 5545) the admin imports into
//! their calendar, so the credential is replaced before sign-in and sync stop
//! (AADSTS7000222 for a lapsed secret, AADSTS7000274 for a lapsed certificate).
//!
//! One all-day event on the expiry date itself — the day it stops working, which is what
//! the admin must not miss and what Entra's "Expires" column shows — with a display alarm
//! 30 days before it ([`ALARM_DAYS_BEFORE`]), enough time to create a new credential, get
//! it into the service desk and test it. The event is marked free (`TRANSP:TRANSPARENT`)
//! so it does not block the day.
//!
//! The `UID` is derived from the profile, the app, the credential and its expiry date, so
//! exporting the same reminder again updates the calendar entry instead of adding a second
//! one, and a new credential gets a new entry.
//!
//! What is in it: the customer's name, the Application (client) ID, the tenant, the
//! service-desk address, the expiry date and, for a certificate, its public thumbprint.
//! What is never in it: the secret, its hint, or the `.pfx` password.
//!
//! Output rules: CRLF line ends, lines folded at 75 octets without splitting a UTF-8
//! character (§3.1), TEXT values escaped (`\\`, `\;`, `\,`, `\n`) and stripped of other
//! control characters (§3.3.11).
//!
//! Written here, not with the `icalendar` crate's builder (the tests parse the file back
//! with that crate's parser). Its writer, checked at 0.17.17, would need a workaround for
//! most of what Outlook and Google read: its folding leaves a 76-octet continuation line
//! whenever the rest of a line is exactly 75 octets; it writes a wall-clock `DTSTAMP` and a
//! random `UID` into the `VALARM` (where RFC 5545 has neither), so the same reminder is not
//! the same file twice; `all_day()` ends the event on its start day (DTEND is exclusive);
//! a chrono duration becomes `-PT2592000S` rather than `-P30D`; and a CR or other control
//! character in a TEXT value reaches the file unescaped. The tests below would fail on each.
//!
//! Left out: time zones (all-day dates are floating by design), recurrence (each credential
//! has one expiry), a second alarm (calendar apps let the admin add one).

use chrono::{DateTime, NaiveDate, Utc};
use sha2::{Digest, Sha256};

use crate::profile::{CredentialKind, Profile};

/// How many days before expiry the alarm fires.
pub const ALARM_DAYS_BEFORE: u32 = 30;

/// Why no reminder can be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReminderError {
    /// No secret or certificate chosen (a federated credential does not expire).
    #[error(
        "there is nothing to remind about: the reminder is for a client secret or certificate, and {0}"
    )]
    NoExpiringCredential(&'static str),
    /// No expiry recorded.
    #[error(
        "the credential's expiry date is not recorded; enter the 'Expires' date from Certificates & secrets in step 3 first"
    )]
    NoExpiry,
    /// Already lapsed.
    #[error(
        "the credential expired on {0}; a reminder is too late. Create a new one in step 3 and make the reminder for it"
    )]
    Expired(NaiveDate),
}

impl ReminderError {
    /// Stable code for the UI.
    pub fn code(&self) -> &'static str {
        match self {
            ReminderError::NoExpiringCredential(_) => "reminder.no_credential",
            ReminderError::NoExpiry => "reminder.no_expiry",
            ReminderError::Expired(_) => "reminder.expired",
        }
    }
}

/// The `.ics` text of the rotation reminder for `p`'s credential. `now` is the `DTSTAMP`
/// and decides whether the credential has already lapsed.
pub fn rotation_reminder(p: &Profile, now: DateTime<Utc>) -> Result<String, ReminderError> {
    let c = &p.credential;
    let what = match c.kind {
        CredentialKind::Secret => "client secret",
        CredentialKind::Certificate => "certificate",
        CredentialKind::Federated => {
            return Err(ReminderError::NoExpiringCredential(
                "a federated credential does not expire",
            ));
        }
        CredentialKind::None => {
            return Err(ReminderError::NoExpiringCredential(
                "no credential is chosen yet",
            ));
        }
    };
    let expires = c.expires_on.ok_or(ReminderError::NoExpiry)?;
    if expires <= now.date_naive() {
        return Err(ReminderError::Expired(expires));
    }
    let customer = if p.name.trim().is_empty() {
        "the service desk"
    } else {
        p.name.trim()
    };
    let app = if p.client_id.trim().is_empty() {
        "(client ID not recorded)".to_string()
    } else {
        p.client_id.trim().to_string()
    };
    let summary = format!("Renew the Entra {what} of {customer} (app {app})");
    let mut description = format!(
        "The {what} that the service desk of {customer} uses to sign in to Microsoft Entra ID expires on {expires}.\n\
         \n\
         Application (client) ID: {app}\n"
    );
    if !p.tenant_id.trim().is_empty() {
        description.push_str(&format!("Directory (tenant) ID: {}\n", p.tenant_id.trim()));
    }
    if !p.agent_url.trim().is_empty() {
        description.push_str(&format!("Service desk: {}\n", p.agent_url.trim()));
    }
    if c.kind == CredentialKind::Certificate
        && let Some(t) = &c.thumbprint
    {
        description.push_str(&format!("Certificate thumbprint (SHA-1): {t}\n"));
    }
    description.push_str(&format!(
        "\nBefore that day: open Entra Onboard, make a new {what} for this customer in step 3, \
         add it under App registrations > Certificates & secrets, enter it in the service desk, \
         run the SSO test, then delete the old one in Entra.\n\
         This reminder holds no secret."
    ));

    let uid = {
        let mut h = Sha256::new();
        for part in [
            p.id.as_str(),
            p.client_id.trim(),
            what,
            &expires.to_string(),
            c.thumbprint.as_deref().unwrap_or_default(),
        ] {
            h.update(part.as_bytes());
            h.update([0]);
        }
        let digest = h.finalize();
        let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        format!("{hex}@entra-onboard")
    };
    let next_day = expires.succ_opt().unwrap_or(expires);

    let mut lines: Vec<String> = vec![
        "BEGIN:VCALENDAR".into(),
        "VERSION:2.0".into(),
        "PRODID:-//Entra Onboard//Credential rotation reminder//EN".into(),
        "CALSCALE:GREGORIAN".into(),
        "METHOD:PUBLISH".into(),
        "BEGIN:VEVENT".into(),
        format!("UID:{uid}"),
        format!("DTSTAMP:{}", now.format("%Y%m%dT%H%M%SZ")),
        format!("DTSTART;VALUE=DATE:{}", expires.format("%Y%m%d")),
        format!("DTEND;VALUE=DATE:{}", next_day.format("%Y%m%d")),
        format!("SUMMARY:{}", escape_text(&summary)),
        format!("DESCRIPTION:{}", escape_text(&description)),
        "TRANSP:TRANSPARENT".into(),
        "BEGIN:VALARM".into(),
        "ACTION:DISPLAY".into(),
        format!("DESCRIPTION:{}", escape_text(&summary)),
        format!("TRIGGER:-P{ALARM_DAYS_BEFORE}D"),
        "END:VALARM".into(),
        "END:VEVENT".into(),
        "END:VCALENDAR".into(),
    ];
    let mut out = String::new();
    for line in lines.drain(..) {
        out.push_str(&fold(&line));
        out.push_str("\r\n");
    }
    Ok(out)
}

/// Escapes an RFC 5545 TEXT value (§3.3.11): backslash, semicolon, comma and line breaks;
/// other control characters (which TEXT may not contain) are dropped. A CRLF or lone CR
/// counts as one line break.
pub fn escape_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push_str("\\n");
            }
            '\n' => out.push_str("\\n"),
            '\t' => out.push(' '),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Folds a content line (§3.1): at most 75 octets per physical line, continuation lines
/// starting with one space (which counts toward their 75), never inside a UTF-8 sequence.
/// Returns the folded line without the final CRLF.
pub fn fold(line: &str) -> String {
    const MAX: usize = 75;
    let mut out = String::with_capacity(line.len() + line.len() / MAX * 3);
    let mut used = 0;
    for c in line.chars() {
        let n = c.len_utf8();
        if used + n > MAX {
            out.push_str("\r\n ");
            used = 1;
        }
        out.push(c);
        used += n;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::CredentialMeta;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-03-31T09:30:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn profile() -> Profile {
        Profile {
            id: "6f1c2f0e-8b9a-4c1d-9e2f-3a4b5c6d7e8f".into(),
            name: "Acme, Inc; \"North\" \\ Süd — a rather long customer name that needs folding"
                .into(),
            client_id: "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9".into(),
            tenant_id: "72f988bf-86f1-41af-91ab-2d7cd011db47".into(),
            agent_url: "https://acme.halopsa.com".into(),
            credential: CredentialMeta {
                kind: CredentialKind::Secret,
                expires_on: NaiveDate::from_ymd_opt(2027, 3, 31),
                secret_hint: Some("Q7w".into()),
                ..CredentialMeta::default()
            },
            ..Profile::default()
        }
    }

    #[test]
    fn lines_are_crlf_and_at_most_75_octets() {
        let ics = rotation_reminder(&profile(), now()).unwrap();
        assert!(ics.ends_with("\r\n"));
        for line in ics.split("\r\n").filter(|l| !l.is_empty()) {
            assert!(line.len() <= 75, "{} octets: {line:?}", line.len());
            assert!(!line.contains('\n') && !line.contains('\r'));
        }
        assert!(ics.contains("\r\n "), "the long lines are folded");
    }

    #[test]
    fn parses_back_with_an_independent_parser() {
        let p = profile();
        let ics = rotation_reminder(&p, now()).unwrap();
        let unfolded = icalendar::parser::unfold(&ics);
        let cal = icalendar::parser::read_calendar(&unfolded).unwrap();
        let prop = |c: &icalendar::parser::Component, name: &str| {
            c.find_prop(name)
                .unwrap_or_else(|| panic!("no {name}"))
                .val
                .clone()
                .unescape_text()
                .as_str()
                .to_string()
        };
        assert_eq!(cal.components.len(), 1);
        let ev = &cal.components[0];
        assert_eq!(ev.name.as_str(), "VEVENT");
        assert_eq!(prop(ev, "DTSTART"), "20270331");
        assert_eq!(
            ev.find_prop("DTSTART").unwrap().params[0].key.as_str(),
            "VALUE"
        );
        assert_eq!(prop(ev, "DTEND"), "20270401");
        assert_eq!(prop(ev, "DTSTAMP"), "20260331T093000Z");
        assert!(prop(ev, "UID").ends_with("@entra-onboard"));
        let summary = prop(ev, "SUMMARY");
        assert!(summary.contains(p.name.as_str()), "{summary}");
        assert!(summary.contains(p.client_id.as_str()), "{summary}");
        let description = prop(ev, "DESCRIPTION");
        assert!(description.contains("expires on 2027-03-31.\n\nApplication"));
        let alarm = &ev.components[0];
        assert_eq!(alarm.name.as_str(), "VALARM");
        assert_eq!(prop(alarm, "TRIGGER"), "-P30D");
        assert_eq!(prop(alarm, "ACTION"), "DISPLAY");
    }

    #[test]
    fn no_secret_or_hint_is_in_it() {
        let ics = rotation_reminder(&profile(), now()).unwrap();
        assert!(!ics.contains("Q7w"));
        assert!(!icalendar::parser::unfold(&ics).contains("Q7w"));
    }

    #[test]
    fn certificates_carry_their_thumbprint() {
        let mut p = profile();
        p.credential.kind = CredentialKind::Certificate;
        p.credential.thumbprint = Some("80DAA44196C8CB494872C3EDBF1485BA3C515869".into());
        let ics = icalendar::parser::unfold(&rotation_reminder(&p, now()).unwrap());
        assert!(ics.contains("80DAA44196C8CB494872C3EDBF1485BA3C515869"));
        assert!(ics.contains("SUMMARY:Renew the Entra certificate of"));
    }

    #[test]
    fn same_credential_same_uid_new_credential_new_uid() {
        let uid = |p: &Profile| {
            let ics = icalendar::parser::unfold(&rotation_reminder(p, now()).unwrap());
            ics.lines()
                .find(|l| l.starts_with("UID:"))
                .unwrap()
                .to_string()
        };
        let mut p = profile();
        let a = uid(&p);
        assert_eq!(a, uid(&p));
        p.credential.expires_on = NaiveDate::from_ymd_opt(2027, 4, 30);
        assert_ne!(a, uid(&p));
    }

    #[test]
    fn escaping_and_folding_rules() {
        assert_eq!(
            escape_text("a,b;c\\d\r\ne\nf\rg\u{7}"),
            "a\\,b\\;c\\\\d\\ne\\nf\\ng"
        );
        // a multi-byte character is never split
        let line = format!("SUMMARY:{}", "é".repeat(60));
        for part in fold(&line).split("\r\n") {
            assert!(part.len() <= 75);
            assert!(std::str::from_utf8(part.as_bytes()).is_ok());
        }
        assert_eq!(fold(&line).replace("\r\n ", ""), line);
    }

    #[test]
    fn folding_holds_for_every_length() {
        // Every remainder length, ASCII and multi-byte: the last continuation line of a
        // fold is where writers go one octet over (a space plus 75 octets).
        let mut p = profile();
        for n in 0..160 {
            for filler in ["x", "é", "老", "😀", " "] {
                p.name = format!("{}{}", "x".repeat(n % 7), filler.repeat(n));
                let ics = rotation_reminder(&p, now()).unwrap();
                for line in ics.split("\r\n") {
                    assert!(line.len() <= 75, "{} octets: {line:?}", line.len());
                    assert!(!line.contains('\r') && !line.contains('\n'));
                }
                let unfolded = icalendar::parser::unfold(&ics);
                assert!(unfolded.contains(&escape_text(p.name.trim())), "{unfolded}");
            }
        }
    }

    #[test]
    fn the_same_reminder_is_the_same_file_and_the_alarm_is_minimal() {
        let p = profile();
        let ics = rotation_reminder(&p, now()).unwrap();
        assert_eq!(ics, rotation_reminder(&p, now()).unwrap());
        let unfolded = icalendar::parser::unfold(&ics);
        let cal = icalendar::parser::read_calendar(&unfolded).unwrap();
        let alarm = &cal.components[0].components[0];
        let mut names: Vec<&str> = alarm.properties.iter().map(|p| p.name.as_str()).collect();
        names.sort_unstable();
        assert_eq!(names, ["ACTION", "DESCRIPTION", "TRIGGER"]);
    }

    #[test]
    fn refusals() {
        let mut p = profile();
        p.credential.expires_on = None;
        assert_eq!(
            rotation_reminder(&p, now()).unwrap_err().code(),
            "reminder.no_expiry"
        );
        p.credential.expires_on = NaiveDate::from_ymd_opt(2026, 3, 31);
        assert_eq!(
            rotation_reminder(&p, now()).unwrap_err().code(),
            "reminder.expired"
        );
        p.credential.kind = CredentialKind::Federated;
        assert_eq!(
            rotation_reminder(&p, now()).unwrap_err().code(),
            "reminder.no_credential"
        );
    }
}
