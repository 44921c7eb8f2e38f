//! Newtypes for the identifiers and secrets the wizard handles.
//!
//! A profile keeps what the admin typed as plain strings so that nothing is ever lost to a
//! validation error; these types are what validation *produces*. Once a value is a
//! [`TenantId`] or [`ClientId`] it is a canonical, lower-case GUID and safe to interpolate
//! into a URL or a PowerShell script.
//!
//! [`Sensitive`] wraps anything secret: its `Debug` prints `<redacted>` and it deliberately
//! has no `Serialize`, so a secret cannot reach a log line, a JSON file or the webview by
//! accident.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Parses a GUID in the 8-4-4-4-12 form Entra shows (braces and case tolerated) and returns
/// it in canonical lower case.
pub fn parse_guid(input: &str) -> Option<String> {
    let s = input.trim();
    let s = s
        .strip_prefix('{')
        .and_then(|s| s.strip_suffix('}'))
        .unwrap_or(s);
    let bytes = s.as_bytes();
    if bytes.len() != 36 {
        return None;
    }
    for (i, b) in bytes.iter().enumerate() {
        let dash = matches!(i, 8 | 13 | 18 | 23);
        if dash != (*b == b'-') {
            return None;
        }
        if !dash && !b.is_ascii_hexdigit() {
            return None;
        }
    }
    Some(s.to_ascii_lowercase())
}

/// True when `input` looks like a DNS name with at least two labels (`contoso.com`,
/// `contoso.onmicrosoft.com`): letters, digits and hyphens, no scheme, no path.
pub fn is_fqdn(input: &str) -> bool {
    let s = input.trim_end_matches('.');
    if s.len() > 253 || !s.contains('.') {
        return false;
    }
    let labels: Vec<&str> = s.split('.').collect();
    let tld = labels.last().copied().unwrap_or_default();
    if tld.chars().all(|c| c.is_ascii_digit()) {
        return false; // an IP address, not a domain
    }
    labels.iter().all(|l| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    })
}

macro_rules! guid_newtype {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Parses and canonicalises; `None` when `s` is not a GUID.
            pub fn parse(s: &str) -> Option<Self> {
                parse_guid(s).map(Self)
            }
            /// The canonical lower-case GUID.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(s: String) -> Result<Self, String> {
                Self::parse(&s).ok_or_else(|| format!("{s:?} is not a GUID"))
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }
    };
}

guid_newtype!(
    /// The Directory (tenant) ID of an Entra tenant, as a canonical GUID.
    TenantId
);
guid_newtype!(
    /// The Application (client) ID of an app registration, as a canonical GUID.
    ClientId
);

/// A secret value (client secret, certificate password, token). `Debug` is redacted and
/// there is no `Serialize`: the only way out is [`Sensitive::expose`], which is greppable.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Sensitive<T>(T);

impl<T> Sensitive<T> {
    /// Wraps a secret.
    pub fn new(value: T) -> Self {
        Self(value)
    }
    /// The secret itself. Every call site is a place a secret leaves its wrapper: keep them
    /// few and never pass the result to a logger, a file or the webview.
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> fmt::Debug for Sensitive<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl<T> From<T> for Sensitive<T> {
    fn from(value: T) -> Self {
        Self(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guid_is_canonicalised() {
        assert_eq!(
            parse_guid(" {0A1B2C3D-4E5F-6071-8293-A4B5C6D7E8F9} ").as_deref(),
            Some("0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9")
        );
    }

    #[test]
    fn non_guids_are_refused() {
        for bad in [
            "",
            "0a1b2c3d4e5f60718293a4b5c6d7e8f9",
            "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f",
            "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8fg",
            "0a1b2c3d-4e5f-6071-8293_a4b5c6d7e8f9",
            "'; Remove-Item -Recurse C:\\ ; '",
        ] {
            assert_eq!(parse_guid(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn fqdn_rules() {
        assert!(is_fqdn("contoso.com"));
        assert!(is_fqdn("adfs.corp.contoso.co.uk"));
        assert!(!is_fqdn("contoso"));
        assert!(!is_fqdn("https://contoso.com"));
        assert!(!is_fqdn("contoso.com/adfs"));
        assert!(!is_fqdn("10.0.0.1"));
        assert!(!is_fqdn("-bad.com"));
    }

    #[test]
    fn sensitive_debug_is_redacted() {
        let s = Sensitive::new("abc~def.ghi".to_string());
        assert_eq!(format!("{s:?}"), "<redacted>");
        assert_eq!(s.expose(), "abc~def.ghi");
    }

    #[test]
    fn newtypes_round_trip_through_serde() {
        let t: TenantId = serde_json::from_str("\"0A1B2C3D-4E5F-6071-8293-A4B5C6D7E8F9\"").unwrap();
        assert_eq!(t.as_str(), "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9");
        assert!(serde_json::from_str::<ClientId>("\"nope\"").is_err());
    }
}
