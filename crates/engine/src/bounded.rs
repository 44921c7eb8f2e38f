//! Bounded reads: the one way the engine, the CLI and the desktop shell read a file a user
//! named (a profile, an export, a CSV, a certificate) or the profile store holds, and the
//! one way they read piped standard input.
//!
//! Two rules, both checked on what is actually read, never on what the file system claims:
//!
//! - **Regular files only.** The file is opened first and the *opened* file's metadata is
//!   checked, so a path swapped between a check and the open cannot slip a device in.
//!   Devices (`/dev/zero`, `/dev/stdin`), FIFOs, sockets and directories are refused with
//!   [`ReadError::NotRegular`]. On Unix the open uses `O_NONBLOCK`, so opening a FIFO with
//!   no writer returns at once instead of hanging; the flag is then irrelevant, because
//!   non-blocking mode has no effect on reading a regular file.
//! - **A size cap enforced while reading.** At most `max + 1` bytes are read
//!   ([`Read::take`]); one byte more than the cap is [`ReadError::TooLarge`]. The size in
//!   the metadata is not trusted (files in `/proc` report 0, a file can grow while read).
//!
//! The caps are the `MAX_*` constants below, each with the reason for its size. Standard
//! input (`-` for a CSV, a piped secret or password) is read with the same cap rule by
//! [`read_stdin`] and [`read_stdin_line`].
//!
//! Deliberately left out: reading *writable* or append-only files, following anything but
//! the path given (symbolic links are followed as the OS does: the target is what is
//! checked), and any timeout — a regular file does not block.

use entra_onboard_core::paths::Style;
use std::fs::File;
use std::io::{BufRead, Read};
use std::path::Path;

const KIB: u64 = 1024;
const MIB: u64 = 1024 * 1024;

/// A profile file (`plan P`, the profile store). A real profile is a few kilobytes; the
/// tracker's 5,000 customer tenants with their consent records come to about 2 MB.
pub const MAX_PROFILE_BYTES: u64 = 20 * MIB;
/// A profile export (`profiles --import`): many profiles, each at most a few megabytes.
pub const MAX_BUNDLE_BYTES: u64 = 64 * MIB;
/// A customer-tenant CSV (`tenants import`): 5,000 rows with names are well under 1 MB.
pub const MAX_TENANT_CSV_BYTES: u64 = entra_onboard_core::steps::tenants::MAX_INPUT_BYTES as u64;
/// A `.pfx` (`cert import`, `sso-test --pfx`, the kept copy): a leaf, a chain and a key fit
/// in a few kilobytes.
pub const MAX_PFX_BYTES: u64 = 256 * KIB;
/// A PEM or `.cer` file (`--cert`, `--key`): a certificate chain or an RSA key in PEM is a
/// few kilobytes.
pub const MAX_PEM_BYTES: u64 = MIB;
/// The Halo users CSV of `sync-preview --existing`: 100,000 users at ~300 bytes a row.
pub const MAX_EXISTING_USERS_BYTES: u64 = 64 * MIB;
/// A secret, password or token piped on standard input: all are under a few kilobytes.
pub const MAX_STDIN_SECRET_BYTES: u64 = 64 * KIB;
/// Small state files the app keeps for itself (the window size).
pub const MAX_STATE_BYTES: u64 = 64 * KIB;

/// A read that was refused or failed. Every message names the file, the cause and the fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// A device, FIFO, socket or directory where a file was expected.
    #[error(
        "{path} is {kind}, not a regular file; {what} is read from a regular file only: save it to a file and give that file's path"
    )]
    NotRegular {
        /// The path as given.
        path: String,
        /// What it is ("a directory", "a character device", …).
        kind: &'static str,
        /// What was expected ("a profile", …).
        what: &'static str,
    },
    /// More bytes than the cap.
    #[error(
        "{path} is larger than {limit_text}, more than {what} can be; check that this is the right file"
    )]
    TooLarge {
        /// The path as given (or "standard input").
        path: String,
        /// The cap in bytes.
        limit: u64,
        /// The cap, readable ("20 MiB").
        limit_text: String,
        /// What was expected.
        what: &'static str,
    },
    /// Opening or reading failed (missing, no permission, an I/O error).
    #[error("could not read {path}: {message}")]
    Io {
        /// The path as given (or "standard input").
        path: String,
        /// The OS error.
        message: String,
        /// Its kind (so callers can tell "not found").
        kind: std::io::ErrorKind,
    },
    /// [`read_to_string`] on bytes that are not UTF-8.
    #[error("{path} is not UTF-8 text; {what} must be saved as UTF-8")]
    NotUtf8 {
        /// The path as given (or "standard input").
        path: String,
        /// What was expected.
        what: &'static str,
    },
    /// A path the tool never opens: a network share, a device path, a reserved device
    /// name ([`entra_onboard_core::paths`]).
    #[error("{0}")]
    Refused(#[from] entra_onboard_core::paths::PathRefusal),
}

impl ReadError {
    /// Stable code: `file.not_regular`, `file.too_large`, `file.io`, `file.not_utf8` or
    /// `file.path_refused`.
    pub fn code(&self) -> &'static str {
        match self {
            ReadError::Refused(_) => "file.path_refused",
            ReadError::NotRegular { .. } => "file.not_regular",
            ReadError::TooLarge { .. } => "file.too_large",
            ReadError::Io { .. } => "file.io",
            ReadError::NotUtf8 { .. } => "file.not_utf8",
        }
    }

    /// The file does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, ReadError::Io { kind, .. } if *kind == std::io::ErrorKind::NotFound)
    }
}

const STDIN: &str = "standard input";

fn readable_size(bytes: u64) -> String {
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else if bytes >= KIB && bytes.is_multiple_of(KIB) {
        format!("{} KiB", bytes / KIB)
    } else {
        format!("{bytes} bytes")
    }
}

fn too_large(path: String, max: u64, what: &'static str) -> ReadError {
    ReadError::TooLarge {
        path,
        limit: max,
        limit_text: readable_size(max),
        what,
    }
}

fn io_error(path: String, e: &std::io::Error) -> ReadError {
    ReadError::Io {
        path,
        message: e.to_string(),
        kind: e.kind(),
    }
}

fn open(path: &Path) -> std::io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // A FIFO opened for reading blocks until a writer appears; non-blocking, it opens
        // at once and is then refused below as not a regular file.
        options.custom_flags(libc::O_NONBLOCK);
    }
    options.open(path)
}

fn kind_of(ft: std::fs::FileType) -> &'static str {
    if ft.is_dir() {
        return "a directory";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_char_device() {
            return "a character device";
        }
        if ft.is_block_device() {
            return "a block device";
        }
        if ft.is_fifo() {
            return "a named pipe (FIFO)";
        }
        if ft.is_socket() {
            return "a socket";
        }
    }
    "not a regular file"
}

/// Reads at most `max` bytes from `r`; `Err(None)` when there were more.
fn read_capped(r: impl Read, max: u64) -> Result<Vec<u8>, Option<std::io::Error>> {
    let mut bytes = Vec::new();
    r.take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(Some)?;
    if bytes.len() as u64 > max {
        return Err(None);
    }
    Ok(bytes)
}

/// The bytes of the regular file at `path`, at most `max` of them. `what` names what the
/// file should be, for the message ("a profile", "a .pfx certificate").
pub fn read_file(path: &Path, max: u64, what: &'static str) -> Result<Vec<u8>, ReadError> {
    let shown = || path.display().to_string();
    // The name first: a UNC path must not even be opened (opening it authenticates to the
    // share's host).
    entra_onboard_core::paths::check_path(&path.to_string_lossy(), Style::native())?;
    let file = open(path).map_err(|e| io_error(shown(), &e))?;
    let meta = file.metadata().map_err(|e| io_error(shown(), &e))?;
    if !meta.is_file() {
        return Err(ReadError::NotRegular {
            path: shown(),
            kind: kind_of(meta.file_type()),
            what,
        });
    }
    read_capped(file, max).map_err(|e| match e {
        Some(e) => io_error(shown(), &e),
        None => too_large(shown(), max, what),
    })
}

/// As [`read_file`], as UTF-8 text.
pub fn read_to_string(path: &Path, max: u64, what: &'static str) -> Result<String, ReadError> {
    let bytes = read_file(path, max, what)?;
    String::from_utf8(bytes).map_err(|_| ReadError::NotUtf8 {
        path: path.display().to_string(),
        what,
    })
}

/// All of `r` (standard input in the CLI), at most `max` bytes. For `-` inputs.
pub fn read_all(r: impl Read, max: u64, what: &'static str) -> Result<Vec<u8>, ReadError> {
    read_capped(r, max).map_err(|e| match e {
        Some(e) => io_error(STDIN.into(), &e),
        None => too_large(STDIN.into(), max, what),
    })
}

/// All of standard input as UTF-8 text, at most `max` bytes.
pub fn read_stdin(max: u64, what: &'static str) -> Result<String, ReadError> {
    let bytes = read_all(std::io::stdin().lock(), max, what)?;
    String::from_utf8(bytes).map_err(|_| ReadError::NotUtf8 {
        path: STDIN.into(),
        what,
    })
}

/// The first line of `r` without its line break, at most `max` bytes. Stops at the line
/// break, so a writer that keeps its end open is not waited for.
pub fn read_line(r: impl BufRead, max: u64, what: &'static str) -> Result<String, ReadError> {
    let mut bytes = Vec::new();
    // Two bytes over the cap: room for a CRLF after a line of exactly `max` bytes.
    r.take(max.saturating_add(2))
        .read_until(b'\n', &mut bytes)
        .map_err(|e| io_error(STDIN.into(), &e))?;
    if bytes.last() == Some(&b'\n') {
        bytes.pop();
    }
    if bytes.last() == Some(&b'\r') {
        bytes.pop();
    }
    if bytes.len() as u64 > max {
        return Err(too_large(STDIN.into(), max, what));
    }
    String::from_utf8(bytes).map_err(|_| ReadError::NotUtf8 {
        path: STDIN.into(),
        what,
    })
}

/// The first line of standard input (see [`read_line`]).
pub fn read_stdin_line(max: u64, what: &'static str) -> Result<String, ReadError> {
    read_line(std::io::stdin().lock(), max, what)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_regular_file_up_to_the_cap() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.txt");
        std::fs::write(&path, "12345").unwrap();
        assert_eq!(read_file(&path, 5, "a test file").unwrap(), b"12345");
        assert_eq!(read_to_string(&path, 5, "a test file").unwrap(), "12345");
        let err = read_file(&path, 4, "a test file").unwrap_err();
        assert_eq!(err.code(), "file.too_large");
        let msg = err.to_string();
        assert!(msg.contains("f.txt") && msg.contains("4 bytes"), "{msg}");
    }

    #[test]
    fn an_over_cap_file_is_refused_without_trusting_its_size() {
        // A sparse file: metadata says 2 MiB + 1, nothing is allocated.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.json");
        let f = File::create(&path).unwrap();
        f.set_len(2 * MIB + 1).unwrap();
        let err = read_file(&path, 2 * MIB, "a profile").unwrap_err();
        assert_eq!(err.code(), "file.too_large");
        assert!(err.to_string().contains("2 MiB"), "{err}");
        // A file the metadata reports as empty but that has content (as in /proc) is still
        // capped by what is read.
        #[cfg(target_os = "linux")]
        {
            let p = Path::new("/proc/self/status");
            assert_eq!(std::fs::metadata(p).unwrap().len(), 0);
            assert_eq!(read_file(p, 10, "x").unwrap_err().code(), "file.too_large");
        }
    }

    #[test]
    fn missing_and_not_utf8() {
        let dir = tempfile::tempdir().unwrap();
        let err = read_file(&dir.path().join("nope"), 10, "a profile").unwrap_err();
        assert_eq!(err.code(), "file.io");
        assert!(err.is_not_found());
        let path = dir.path().join("bin");
        std::fs::write(&path, [0xff, 0xfe]).unwrap();
        assert_eq!(
            read_to_string(&path, 10, "a CSV").unwrap_err().code(),
            "file.not_utf8"
        );
    }

    #[test]
    fn a_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let err = read_file(dir.path(), 10, "a profile").unwrap_err();
        // Windows refuses to open a directory at all.
        assert!(
            matches!(err.code(), "file.not_regular" | "file.io"),
            "{err}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn devices_are_refused_before_reading() {
        let err = read_file(Path::new("/dev/zero"), MIB, "a profile").unwrap_err();
        assert_eq!(err.code(), "file.not_regular");
        let msg = err.to_string();
        assert!(
            msg.contains("/dev/zero") && msg.contains("character device"),
            "{msg}"
        );
        assert_eq!(
            read_file(Path::new("/dev/null"), MIB, "a profile")
                .unwrap_err()
                .code(),
            "file.not_regular"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_without_a_writer_is_refused_without_hanging() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pipe");
        let status = std::process::Command::new("mkfifo")
            .arg(&path)
            .status()
            .unwrap();
        assert!(status.success());
        // Without O_NONBLOCK this open would block forever (no writer ever comes).
        let err = read_file(&path, MIB, "a profile").unwrap_err();
        assert_eq!(err.code(), "file.not_regular");
        assert!(err.to_string().contains("named pipe"), "{err}");
    }

    #[test]
    fn piped_input_is_capped() {
        assert_eq!(read_all(&b"abc"[..], 3, "x").unwrap(), b"abc");
        let err = read_all(std::io::repeat(0), 1024, "a CSV").unwrap_err();
        assert_eq!(err.code(), "file.too_large");
        assert!(err.to_string().contains("standard input"), "{err}");
    }

    #[test]
    fn first_line_is_capped_and_stops_at_the_break() {
        assert_eq!(read_line(&b"secret\r\nmore"[..], 6, "x").unwrap(), "secret");
        assert_eq!(read_line(&b"secret"[..], 6, "x").unwrap(), "secret");
        assert_eq!(read_line(&b""[..], 6, "x").unwrap(), "");
        assert_eq!(
            read_line(&b"secret7\n"[..], 6, "x").unwrap_err().code(),
            "file.too_large"
        );
        // An endless line without a break (`yes | …`) ends at the cap.
        let endless = std::io::BufReader::new(std::io::repeat(b'y'));
        assert_eq!(
            read_line(endless, 64, "x").unwrap_err().code(),
            "file.too_large"
        );
    }
}
