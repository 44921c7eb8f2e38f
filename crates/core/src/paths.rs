//! File paths an admin names (a certificate to read, a file to write) checked against the
//! rules of the strictest platform the tool runs on: Windows.
//!
//! Why on every platform: profiles, scripts and exports move between a partner's Windows
//! laptop and a colleague's Mac, and the checks are pure string rules, so they are tested on
//! Linux and behave the same everywhere. What is refused, and why:
//!
//! - **UNC paths** (`\\host\share\file`, and `//host/share` on Windows): opening one makes
//!   Windows authenticate to that host with the user's NTLM credentials — a pasted path to an
//!   attacker's host leaks a crackable hash — and a network share is not where a private key
//!   or a secret-bearing export belongs.
//! - **Device and extended paths** (`\\?\`, `\\.\`, `//?/`, `//./`): they skip Windows' path
//!   normalisation and reach devices and raw volumes directly.
//! - **Reserved device names** as any component (on Unix: as the file's own name) (`CON`, `PRN`, `AUX`, `NUL`, `COM0`–`COM9`,
//!   `LPT0`–`LPT9`, the superscript-digit forms `COM¹ COM² COM³ LPT¹ LPT² LPT³`, `CONIN$`,
//!   `CONOUT$`), also with an extension (`NUL.txt`): writing to one writes to the device.
//! - **Components ending in a dot or a space**: Windows strips them, so `report.html.` and
//!   `report.html` are the same file and a check made on one name applies to another.
//! - **A colon after the drive** (`report.html:hidden`): an NTFS alternate data stream, a
//!   file hidden inside another; and the other characters Windows never allows in a name
//!   (`< > " | ? *` and control characters).
//!
//! Source: Microsoft, "Naming Files, Paths, and Namespaces"
//! (<https://learn.microsoft.com/windows/win32/fileio/naming-a-file>): reserved names,
//! superscript digits, "Do not end a file or directory name with a space or a period",
//! UNC and `\\?\` / `\\.\` prefixes; `CONIN$`/`CONOUT$` from "CreateFile — Consoles"
//! (<https://learn.microsoft.com/windows/win32/api/fileapi/nf-fileapi-createfilea#consoles>).
//!
//! Left out: the 260-character `MAX_PATH` (long paths are allowed by Rust's std on Windows
//! through its own `\\?\` handling), symbolic links and junctions (the OS resolves them; the
//! bounded reader checks what was opened), and short 8.3 names.

use std::fmt;

/// Why a path is refused. Each message names the rule and the fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathRefusal {
    /// A network share path.
    #[error(
        "{0:?} is a network share (UNC) path. Copy the file to this computer (for example Downloads) and use that path: opening a share sends your Windows sign-in to that host"
    )]
    Unc(String),
    /// A device or extended-length path.
    #[error(
        "{0:?} is a Windows device path (\\\\?\\ or \\\\.\\). Use an ordinary path such as C:\\Users\\you\\Downloads\\file"
    )]
    Device(String),
    /// A reserved device name as a file or folder name.
    #[error(
        "{component:?} in {path:?} is a name Windows reserves for a device. Choose another file name, for example {suggestion:?}"
    )]
    Reserved {
        /// The whole path as given.
        path: String,
        /// The offending component.
        component: String,
        /// The same name made safe.
        suggestion: String,
    },
    /// A component ending in a dot or a space.
    #[error(
        "{component:?} in {path:?} ends with a dot or a space, which Windows removes (it would be a different file). Remove the trailing dot or space"
    )]
    TrailingDotOrSpace {
        /// The whole path as given.
        path: String,
        /// The offending component.
        component: String,
    },
    /// A character Windows does not allow in a name (or a stream separator).
    #[error(
        "{component:?} in {path:?} contains {ch}, which Windows does not allow in a file name (a colon there names a hidden data stream). Remove it"
    )]
    BadCharacter {
        /// The whole path as given.
        path: String,
        /// The offending component.
        component: String,
        /// The character, shown readably.
        ch: ShownChar,
    },
    /// An empty path.
    #[error("the file path is empty. Type or choose a file")]
    Empty,
}

/// A character as shown in a message (control characters by code).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShownChar(pub char);

impl fmt::Display for ShownChar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_control() {
            write!(f, "a control character (U+{:04X})", self.0 as u32)
        } else {
            write!(f, "'{}'", self.0)
        }
    }
}

/// How separators are read: on Windows `/` and `\` both separate; elsewhere only `/` does,
/// but a leading `\\` is still refused (a Windows path pasted on a Mac or in a profile that
/// travels).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// `\` and `/` separate components; `C:` starts a drive path.
    Windows,
    /// `/` separates; `\` is an ordinary character except in a leading `\\`.
    Unix,
}

impl Style {
    /// The style of the platform this was built for.
    pub const fn native() -> Self {
        if cfg!(windows) {
            Style::Windows
        } else {
            Style::Unix
        }
    }
}

/// Names Windows reserves for devices, upper case, without extension.
const RESERVED: &[&str] = &[
    "CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$", "COM0", "COM1", "COM2", "COM3", "COM4",
    "COM5", "COM6", "COM7", "COM8", "COM9", "COM¹", "COM²", "COM³", "LPT0", "LPT1", "LPT2", "LPT3",
    "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9", "LPT¹", "LPT²", "LPT³",
];

/// True when `name` (one component) is a reserved device name, with or without an
/// extension: Windows looks at the part before the first dot, trailing spaces removed.
pub fn is_reserved_name(name: &str) -> bool {
    let base = name.split('.').next().unwrap_or("").trim_end_matches(' ');
    let upper = base.to_uppercase();
    RESERVED.contains(&upper.as_str())
}

/// Checks a path an admin named, for reading or writing. `Ok` says nothing about whether
/// the file exists; it says the name is one the tool will open.
pub fn check_path(path: &str, style: Style) -> Result<(), PathRefusal> {
    if path.is_empty() {
        return Err(PathRefusal::Empty);
    }
    let owned = || path.to_string();
    let b = path.as_bytes();
    let sep = |c: u8| c == b'\\' || (style == Style::Windows && c == b'/');
    // `\\?\`, `\\.\` (and `//?/`, `//./` on Windows): device namespace.
    if b.len() >= 2 && sep(b[0]) && sep(b[1]) {
        if b.len() >= 3 && (b[2] == b'?' || b[2] == b'.') && (b.len() == 3 || sep(b[3])) {
            return Err(PathRefusal::Device(owned()));
        }
        return Err(PathRefusal::Unc(owned()));
    }
    // NT object-manager prefix (`\??\`), reachable through some APIs.
    if path.starts_with("\\??\\") {
        return Err(PathRefusal::Device(owned()));
    }
    let body = match style {
        // `C:` (a drive) is the one place a colon belongs.
        Style::Windows if b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':' => &path[2..],
        _ => path,
    };
    let split: Vec<&str> = match style {
        Style::Windows => body.split(['\\', '/']).collect(),
        Style::Unix => body.split('/').collect(),
    };
    let last = split.len().saturating_sub(1);
    for (i, component) in split.into_iter().enumerate() {
        if component.is_empty() || component == "." || component == ".." {
            continue;
        }
        // On Unix only the file's own name is held to Windows' rules: a folder that already
        // exists there (a user called `aux`, a volume named `Disk:1`) is not the admin's
        // choice, and the file written into it is what later travels to Windows.
        if style == Style::Unix && i != last {
            continue;
        }
        check_component(path, component)?;
    }
    Ok(())
}

fn check_component(path: &str, component: &str) -> Result<(), PathRefusal> {
    if let Some(ch) = component
        .chars()
        .find(|c| matches!(c, '<' | '>' | ':' | '"' | '|' | '?' | '*') || c.is_control())
    {
        return Err(PathRefusal::BadCharacter {
            path: path.into(),
            component: component.into(),
            ch: ShownChar(ch),
        });
    }
    if component.ends_with('.') || component.ends_with(' ') {
        return Err(PathRefusal::TrailingDotOrSpace {
            path: path.into(),
            component: component.into(),
        });
    }
    if is_reserved_name(component) {
        return Err(PathRefusal::Reserved {
            path: path.into(),
            component: component.into(),
            // A prefix, not a suffix: Windows reads the name up to its first dot.
            suggestion: format!("file-{component}"),
        });
    }
    Ok(())
}

/// A file-name stem made from a customer name: ASCII letters, digits, `-`, `_` and `.`
/// only, no leading or trailing dot or dash, at most 80 characters, never a reserved device
/// name, never empty. What [`check_path`] accepts on every platform.
pub fn safe_file_stem(name: &str) -> String {
    let s: String = name
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '-'
            }
        })
        .take(80)
        .collect();
    let s = s.trim_matches(['.', '-']).to_string();
    if s.is_empty() {
        "customer".into()
    } else if is_reserved_name(&s) {
        // A prefix, not a suffix: Windows reads the name up to its first dot.
        format!("customer-{s}")
    } else {
        s
    }
}

/// The arguments for Windows' `icacls` that leave `path` readable and writable by `user`
/// only: inherited entries removed (`/inheritance:r`) and full control granted to the user
/// (`/grant:r`, replacing any grant). What 0600 is on Unix; used for files holding a private
/// key, a secret-bearing export or a profile. `user` is `DOMAIN\name` as Windows reports it
/// (`USERDOMAIN`, `USERNAME`). Source: "icacls"
/// (<https://learn.microsoft.com/windows-server/administration/windows-commands/icacls>).
pub fn owner_only_acl_args(path: &str, user: &str) -> Vec<String> {
    vec![
        path.to_string(),
        "/inheritance:r".into(),
        "/grant:r".into(),
        format!("{user}:F"),
        // Quiet: success messages are not the admin's business; failures still print.
        "/q".into(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn refused(p: &str, style: Style) -> PathRefusal {
        check_path(p, style).unwrap_err()
    }

    #[test]
    fn unc_and_device_paths_are_refused_on_every_platform() {
        for style in [Style::Windows, Style::Unix] {
            assert!(matches!(
                refused(r"\\evil\share\cert.pfx", style),
                PathRefusal::Unc(_)
            ));
            assert!(matches!(
                refused(r"\\?\C:\x\cert.pfx", style),
                PathRefusal::Device(_)
            ));
            assert!(matches!(
                refused(r"\\.\COM1", style),
                PathRefusal::Device(_)
            ));
            assert!(matches!(
                refused(r"\\?\UNC\host\share", style),
                PathRefusal::Device(_)
            ));
        }
        assert!(matches!(
            refused("//host/share/x", Style::Windows),
            PathRefusal::Unc(_)
        ));
        assert!(matches!(
            refused("//?/C:/x", Style::Windows),
            PathRefusal::Device(_)
        ));
        // On Unix `//tmp/x` is `/tmp/x`.
        assert_eq!(check_path("//tmp/x", Style::Unix), Ok(()));
    }

    #[test]
    fn reserved_names_with_or_without_extension_are_refused() {
        for name in [
            "CON", "con", "Nul.txt", "COM1.pfx", "lpt9", "COM¹", "conout$", "AUX .txt",
        ] {
            let p = format!(r"C:\Users\a\Downloads\{name}");
            assert!(
                matches!(refused(&p, Style::Windows), PathRefusal::Reserved { .. }),
                "{name}"
            );
            let p = format!("/home/a/{name}");
            assert!(
                matches!(refused(&p, Style::Unix), PathRefusal::Reserved { .. }),
                "{name}"
            );
        }
        for ok in ["CONSOLE.txt", "nul-report.html", "COM10", "acme.CON", "LPT"] {
            assert_eq!(check_path(&format!("/x/{ok}"), Style::Unix), Ok(()), "{ok}");
        }
        let e = refused(r"C:\a\con\b.pfx", Style::Windows).to_string();
        assert!(e.contains("\"con\"") && e.contains("file-con"), "{e}");
    }

    #[test]
    fn trailing_dots_spaces_and_streams_are_refused() {
        assert!(matches!(
            refused(r"C:\a\report.html.", Style::Windows),
            PathRefusal::TrailingDotOrSpace { .. }
        ));
        assert!(matches!(
            refused(r"C:\a\folder \x", Style::Windows),
            PathRefusal::TrailingDotOrSpace { .. }
        ));
        assert!(matches!(
            refused("/a/folder/x.pfx ", Style::Unix),
            PathRefusal::TrailingDotOrSpace { .. }
        ));
        let e = refused(r"C:\a\report.html:hidden", Style::Windows);
        assert!(
            matches!(
                e,
                PathRefusal::BadCharacter {
                    ch: ShownChar(':'),
                    ..
                }
            ),
            "{e:?}"
        );
        assert!(
            refused("/a/b\u{1}c", Style::Unix)
                .to_string()
                .contains("U+0001")
        );
        // The drive's colon, `.` and `..` are fine.
        assert_eq!(
            check_path(r"C:\Users\a\..\b\.\cert.pfx", Style::Windows),
            Ok(())
        );
        assert_eq!(check_path("C:cert.pfx", Style::Windows), Ok(()));
        assert_eq!(check_path("./out/report.html", Style::Unix), Ok(()));
        assert_eq!(check_path("", Style::Unix), Err(PathRefusal::Empty));
    }

    #[test]
    fn safe_stems_are_accepted_paths() {
        assert_eq!(safe_file_stem(" Acme / Corp: HQ "), "Acme---Corp--HQ");
        assert_eq!(safe_file_stem("../.."), "customer");
        assert_eq!(safe_file_stem("CON"), "customer-CON");
        assert_eq!(safe_file_stem("Nul."), "customer-Nul");
        assert_eq!(safe_file_stem("con.x"), "customer-con.x");
        assert_eq!(safe_file_stem(&"x".repeat(200)).len(), 80);
    }

    #[test]
    fn acl_arguments_grant_only_the_user() {
        assert_eq!(
            owner_only_acl_args(r"C:\Users\a\Downloads\acme.pfx", r"CONTOSO\alice"),
            [
                r"C:\Users\a\Downloads\acme.pfx",
                "/inheritance:r",
                "/grant:r",
                r"CONTOSO\alice:F",
                "/q"
            ]
        );
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,64}") {
            let _ = check_path(&s, Style::Windows);
            let _ = check_path(&s, Style::Unix);
        }

        #[test]
        fn every_safe_stem_passes_the_check(name in "\\PC{0,120}", ext in "(pfx|pem|html|csv|ps1)") {
            let stem = safe_file_stem(&name);
            let file = format!("{stem}.{ext}");
            prop_assert_eq!(check_path(&file, Style::Windows), Ok(()));
            prop_assert_eq!(check_path(&file, Style::Unix), Ok(()));
        }
    }
}
