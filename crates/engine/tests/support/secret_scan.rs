//! Searches folders for secret bytes: the "secrets stay off disk" checks of the CLI test
//! (engine/tests/secrets_off_disk.rs) and of the app's end-to-end test (tests/e2e.rs).
//!
//! Each secret is looked for as UTF-8 and as UTF-16 (little and big endian): WebKit keeps
//! local storage and IndexedDB strings as UTF-16, so a plain UTF-8 search would miss a
//! secret the webview persisted. Symbolic links are not followed (they could leave the
//! folder under test); unreadable entries are reported, not skipped silently.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// A secret's byte patterns, each with the name of its encoding.
type Encodings = Vec<(&'static str, Vec<u8>)>;

/// The byte patterns of `secret` as it could sit in a file.
fn patterns(secret: &str) -> Encodings {
    let le: Vec<u8> = secret.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let be: Vec<u8> = secret.encode_utf16().flat_map(u16::to_be_bytes).collect();
    vec![
        ("UTF-8", secret.as_bytes().to_vec()),
        ("UTF-16LE", le),
        ("UTF-16BE", be),
    ]
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

fn files_under(root: &Path, out: &mut Vec<PathBuf>, problems: &mut Vec<String>) {
    if std::fs::symlink_metadata(root).is_ok_and(|m| m.is_file()) {
        out.push(root.to_path_buf());
        return;
    }
    let entries = match std::fs::read_dir(root) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
        Err(e) => {
            problems.push(format!("{}: cannot list: {e}", root.display()));
            return;
        }
    };
    for entry in entries {
        let Ok(entry) = entry else { continue };
        let path = entry.path();
        match entry.file_type() {
            Ok(t) if t.is_dir() => files_under(&path, out, problems),
            Ok(t) if t.is_file() => out.push(path),
            Ok(_) => {}
            Err(e) => problems.push(format!("{}: {e}", path.display())),
        }
    }
}

/// Every regular file under `roots` (folders or files) that holds one of `secrets`
/// (`(label, value)`), as `"<path>: <label> (<encoding>)"` (the first encoding found), plus
/// any file that could not be read. Empty = clean.
pub fn hits(roots: &[PathBuf], secrets: &[(&str, &str)]) -> Vec<String> {
    assert!(
        secrets.iter().all(|(_, s)| s.len() >= 8),
        "a secret this short would match by chance"
    );
    let mut files = Vec::new();
    let mut problems = Vec::new();
    for root in roots {
        files_under(root, &mut files, &mut problems);
    }
    let wanted: Vec<(&str, Encodings)> = secrets
        .iter()
        .map(|(label, s)| (*label, patterns(s)))
        .collect();
    for f in &files {
        let bytes = match std::fs::read(f) {
            Ok(b) => b,
            // A file removed while scanning (a cache the app was still tidying) is fine.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                problems.push(format!("{}: cannot read: {e}", f.display()));
                continue;
            }
        };
        for (label, encodings) in &wanted {
            // One line per secret and file: UTF-16LE text preceded by a NUL also reads as
            // UTF-16BE one byte on.
            if let Some((enc, _)) = encodings.iter().find(|(_, n)| contains(&bytes, n)) {
                problems.push(format!("{}: {label} ({enc})", f.display()));
            }
        }
    }
    problems
}

/// How many regular files are under `roots` (so a test can show it searched something).
pub fn count_files(roots: &[PathBuf]) -> usize {
    let mut files = Vec::new();
    let mut problems = Vec::new();
    for root in roots {
        files_under(root, &mut files, &mut problems);
    }
    files.len()
}

#[test]
fn the_scan_finds_a_planted_secret_in_each_encoding() {
    let dir = std::env::temp_dir().join(format!("secret-scan-self-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("deep/er")).unwrap();
    let secret = "Q7~planted-secret-value";
    std::fs::write(dir.join("clean.txt"), b"nothing here").unwrap();
    std::fs::write(
        dir.join("deep/utf8.json"),
        format!("{{\"v\":\"{secret}\"}}"),
    )
    .unwrap();
    let le: Vec<u8> = secret.encode_utf16().flat_map(u16::to_le_bytes).collect();
    std::fs::write(
        dir.join("deep/er/storage.sqlite3"),
        [&b"x\0"[..], &le].concat(),
    )
    .unwrap();
    let be: Vec<u8> = secret.encode_utf16().flat_map(u16::to_be_bytes).collect();
    std::fs::write(dir.join("be.bin"), [&b"x"[..], &be].concat()).unwrap();
    let found = hits(std::slice::from_ref(&dir), &[("the secret", secret)]);
    // A single file as a root is searched too.
    let one = hits(&[dir.join("deep/utf8.json")], &[("the secret", secret)]);
    let none = hits(&[dir.join("clean.txt")], &[("the secret", secret)]);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(found.len(), 3, "{found:?}");
    assert!(
        found
            .iter()
            .any(|h| h.ends_with("be.bin: the secret (UTF-16BE)")),
        "{found:?}"
    );
    assert_eq!(one.len(), 1, "{one:?}");
    assert!(none.is_empty(), "{none:?}");
    assert!(
        found
            .iter()
            .any(|h| h.ends_with("utf8.json: the secret (UTF-8)")),
        "{found:?}"
    );
    assert!(
        found
            .iter()
            .any(|h| h.ends_with("storage.sqlite3: the secret (UTF-16LE)")),
        "{found:?}"
    );
}
