//! Where the desktop app puts files it makes for the admin (certificates, reminders, CSV
//! exports, handover reports): the Downloads folder, under a name that never overwrites an
//! existing file. `ENTRA_ONBOARD_EXPORT_DIR` overrides it (tests, managed desktops).
//!
//! Deliberately not here: a file-save dialog. The app tells the admin the full path and
//! can reveal it; nothing the webview names is ever written.

use std::path::{Path, PathBuf};

/// Environment variable that overrides the export folder.
pub const EXPORT_DIR_ENV: &str = "ENTRA_ONBOARD_EXPORT_DIR";

/// The folder exports go to (created if missing).
pub fn export_dir() -> std::io::Result<PathBuf> {
    let dir = match std::env::var_os(EXPORT_DIR_ENV).filter(|v| !v.is_empty()) {
        Some(d) => PathBuf::from(d),
        None => dirs::download_dir()
            .or_else(dirs::home_dir)
            .ok_or_else(|| std::io::Error::other("this user has no Downloads or home folder"))?,
    };
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// A file-name-safe version of `name` (customer names become file names): what
/// [`entra_onboard_core::paths::safe_file_stem`] makes — never a reserved Windows device
/// name, no trailing dot, at most 80 characters.
pub fn safe_name(name: &str) -> String {
    entra_onboard_core::paths::safe_file_stem(name)
}

/// `dir/<stem>.<ext>`, or `dir/<stem> (2).<ext>` … when taken.
pub fn unique_path(dir: &Path, stem: &str, ext: &str) -> PathBuf {
    let first = dir.join(format!("{stem}.{ext}"));
    if !first.exists() {
        return first;
    }
    (2..)
        .map(|n| dir.join(format!("{stem} ({n}).{ext}")))
        .find(|p| !p.exists())
        .expect("some free name")
}

/// Writes `bytes` to a new file `<stem>.<ext>` in the export folder; returns its path.
pub fn write_export(stem: &str, ext: &str, bytes: &[u8]) -> std::io::Result<PathBuf> {
    let dir = export_dir()?;
    let path = unique_path(&dir, &safe_name(stem), ext);
    crate::profile::write_atomic(&path, bytes)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_safe_and_never_overwrite() {
        assert_eq!(safe_name(" Acme / Corp: HQ "), "Acme---Corp--HQ");
        assert_eq!(safe_name("../.."), "customer");
        let dir = tempfile::tempdir().unwrap();
        let a = unique_path(dir.path(), "r", "html");
        std::fs::write(&a, "x").unwrap();
        let b = unique_path(dir.path(), "r", "html");
        assert_ne!(a, b);
        assert!(b.ends_with("r (2).html"));
    }
}
