//! The profile files: the store that keeps one JSON file per customer in the app's folder,
//! reading a profile from any path, and the atomic write every file the app saves goes
//! through. The profile itself (its fields, parsing, [`ProfileError`]) is the core's
//! [`crate::profile`] model; this is only where it meets the disk.
//!
//! Within one process every save goes through one write lock per store (shared by its
//! clones), and a read-merge-save ([`ProfileStore::hold_writes`]) holds it throughout: the
//! webview's autosave, which keeps the stored copy's evidence, cannot write back a rotation
//! state or a consent the engine replaced while it merged.
//!
//! Left out: locking between two processes saving the same profile (the last rename wins,
//! and neither file is ever half-written).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::Utc;
use serde::Serialize;
use ts_rs::TS;

use crate::profile::{Profile, ProfileError, ProfileSummary, SCHEMA_VERSION};

/// Largest profile file read (the store and any path given). A real profile is a few
/// kilobytes, even with thousands of customer tenants a few megabytes.
pub const MAX_PROFILE_FILE_BYTES: u64 = crate::bounded::MAX_PROFILE_BYTES;

impl From<crate::bounded::ReadError> for ProfileError {
    fn from(e: crate::bounded::ReadError) -> Self {
        ProfileError::File {
            code: e.code(),
            not_found: e.is_not_found(),
            message: e.to_string(),
        }
    }
}

/// A `.json` file in the profile folder that could not be read as a profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct UnreadableProfile {
    /// The file's name, e.g. `0b6c….json`.
    pub file: String,
    /// The file's full path, to open or remove it.
    pub path: String,
    /// Stable error code (`profile.parse`, `profile.too_new`, `profile.io`).
    pub code: String,
    /// What is wrong with it, for the admin.
    pub message: String,
}

/// What [`ProfileStore::scan`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreScan {
    /// Every readable profile, most recently saved first.
    pub profiles: Vec<Profile>,
    /// Every `.json` file that is not a readable profile, by file name.
    pub unreadable: Vec<UnreadableProfile>,
}

/// Reads a profile from any path (the CLI's `<profile.json>`).
/// Bounded: a regular file of at most [`MAX_PROFILE_FILE_BYTES`] (see [`crate::bounded`]).
pub fn read_file(path: &Path) -> Result<Profile, ProfileError> {
    let text = crate::bounded::read_to_string(path, MAX_PROFILE_FILE_BYTES, "a profile")?;
    Profile::from_json(&text)
}

/// Profiles on disk: `<config dir>/entra-onboard/profiles/<id>.json`.
#[derive(Debug, Clone)]
pub struct ProfileStore {
    dir: PathBuf,
    /// Held by every save; shared by clones, so the app's copies of the store take turns.
    writes: Arc<Mutex<()>>,
}

/// No other save through this store (or a clone of it) happens while this is held: for a
/// load, a merge and a save that must see no write in between. See
/// [`ProfileStore::hold_writes`].
pub struct WritesHeld<'a> {
    store: &'a ProfileStore,
    _guard: MutexGuard<'a, ()>,
}

impl WritesHeld<'_> {
    /// [`ProfileStore::save`] into the held store.
    pub fn save(&self, profile: &Profile) -> Result<Profile, ProfileError> {
        let mut p = profile.clone();
        p.updated_at = Some(Utc::now());
        self.store.write_profile(p)
    }
}

/// The folder everything of this app lives in: `$ENTRA_ONBOARD_HOME` when set (tests,
/// portable installs), else the OS config folder.
pub fn app_home() -> Result<PathBuf, ProfileError> {
    if let Some(home) = std::env::var_os("ENTRA_ONBOARD_HOME").filter(|h| !h.is_empty()) {
        return Ok(PathBuf::from(home));
    }
    dirs::config_dir()
        .map(|d| d.join("entra-onboard"))
        .ok_or(ProfileError::NoConfigDir)
}

impl ProfileStore {
    /// The store in [`app_home`].
    pub fn open_default() -> Result<ProfileStore, ProfileError> {
        Ok(ProfileStore::at(app_home()?.join("profiles")))
    }

    /// A store in `dir` (created on first save).
    pub fn at(dir: impl Into<PathBuf>) -> ProfileStore {
        ProfileStore {
            dir: dir.into(),
            writes: Arc::new(Mutex::new(())),
        }
    }

    /// Holds off every other save of this store until the returned value is dropped; save
    /// through it meanwhile ([`WritesHeld::save`]; [`Self::save`] would wait for itself). A
    /// save that panicked elsewhere does not block the others: the lock guards no data.
    pub fn hold_writes(&self) -> WritesHeld<'_> {
        WritesHeld {
            store: self,
            _guard: self.writes.lock().unwrap_or_else(|p| p.into_inner()),
        }
    }

    /// Where the profiles are.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path_for(&self, id: &str) -> Result<PathBuf, ProfileError> {
        // Ids come from the webview too: only a UUID can become a file name, so no id can
        // walk out of the folder.
        let id = uuid::Uuid::parse_str(id).map_err(|_| ProfileError::BadId(id.to_string()))?;
        Ok(self.dir.join(format!("{}.json", id.hyphenated())))
    }

    fn io(path: &Path, e: std::io::Error) -> ProfileError {
        ProfileError::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        }
    }

    /// Every profile, most recently saved first. A file that cannot be read is skipped
    /// rather than hiding all the others.
    pub fn list(&self) -> Result<Vec<ProfileSummary>, ProfileError> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Self::io(&self.dir, e)),
        };
        let mut out: Vec<ProfileSummary> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .filter_map(|p| read_file(&p).ok())
            .map(|p| ProfileSummary::from(&p))
            .collect();
        out.sort_by(|a, b| {
            b.updated_at
                .cmp(&a.updated_at)
                .then_with(|| a.name.cmp(&b.name))
        });
        Ok(out)
    }

    /// Every profile file in the store, read in full, most recently saved first — and every
    /// `.json` file that could not be read, with the reason, so a dashboard can show "this
    /// file is damaged" instead of a customer silently disappearing (which [`Self::list`]
    /// does, to keep pickers simple). Files over [`MAX_PROFILE_FILE_BYTES`] are reported
    /// rather than read.
    pub fn scan(&self) -> Result<StoreScan, ProfileError> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(StoreScan::default()),
            Err(e) => return Err(Self::io(&self.dir, e)),
        };
        let mut scan = StoreScan::default();
        let mut paths: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        paths.sort();
        for path in paths {
            let file = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            match read_file(&path) {
                Ok(p) => scan.profiles.push(p),
                Err(e) => scan.unreadable.push(UnreadableProfile {
                    file,
                    path: path.display().to_string(),
                    code: e.code().to_string(),
                    message: e.to_string(),
                }),
            }
        }
        scan.profiles.sort_by(|a, b| {
            b.updated_at
                .cmp(&a.updated_at)
                .then_with(|| a.name.cmp(&b.name))
        });
        Ok(scan)
    }

    /// Loads one profile.
    pub fn load(&self, id: &str) -> Result<Profile, ProfileError> {
        let path = self.path_for(id)?;
        match read_file(&path) {
            Err(ProfileError::File {
                not_found: true, ..
            }) => Err(ProfileError::NotFound(id.to_string())),
            r => r,
        }
    }

    /// Saves (creating or replacing) atomically, stamping `updated_at` and the schema
    /// version. A profile without an id gets one. Saving never validates: a half-finished
    /// profile is saved as it is, so nothing typed is lost.
    pub fn save(&self, profile: &Profile) -> Result<Profile, ProfileError> {
        self.hold_writes().save(profile)
    }

    /// Saves a profile brought from another computer, keeping its `updated_at` (so a later
    /// import can tell which copy is newer) instead of stamping it now. Otherwise as
    /// [`Self::save`].
    pub fn save_imported(&self, profile: &Profile) -> Result<Profile, ProfileError> {
        let _held = self.hold_writes();
        let mut p = profile.clone();
        p.updated_at.get_or_insert_with(Utc::now);
        self.write_profile(p)
    }

    fn write_profile(&self, mut p: Profile) -> Result<Profile, ProfileError> {
        if p.id.is_empty() {
            p.id = uuid::Uuid::new_v4().to_string();
        }
        p.schema_version = SCHEMA_VERSION;
        p.created_at.get_or_insert_with(Utc::now);
        let path = self.path_for(&p.id)?;
        fs::create_dir_all(&self.dir).map_err(|e| Self::io(&self.dir, e))?;
        write_atomic(&path, p.to_json().as_bytes()).map_err(|e| Self::io(&path, e))?;
        Ok(p)
    }

    /// Deletes one profile's file. (Keychain entries are removed by the caller, which
    /// knows about the keychain.)
    pub fn delete(&self, id: &str) -> Result<(), ProfileError> {
        let _held = self.hold_writes();
        let path = self.path_for(id)?;
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(ProfileError::NotFound(id.to_string()))
            }
            Err(e) => Err(Self::io(&path, e)),
        }
    }
}

/// Writes `bytes` to `path` through a temporary file in the same folder and a rename, so a
/// crash or a full disk leaves either the old file or the new one, never half of one.
///
/// The path is checked first ([`entra_onboard_core::paths::check_path`]: no network share,
/// device path or reserved device name), and on Windows the file is made readable by this
/// user only before anything is written to it (the 0600 of Unix; see [`restrict_to_owner`]).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    entra_onboard_core::paths::check_path(
        &path.to_string_lossy(),
        entra_onboard_core::paths::Style::native(),
    )
    .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e.to_string()))?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", uuid::Uuid::new_v4().simple()));
    let result = (|| {
        let mut opts = fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            // Customer names and tenant ids are not secrets, but they are nobody else's
            // business on a shared machine.
            opts.mode(0o600);
        }
        let mut f = opts.open(&tmp)?;
        restrict_to_owner(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Windows: leaves `path` to this user alone — inherited permissions removed, full control
/// for the signed-in user — with `icacls` (part of every Windows since Vista), before any
/// byte is written, so a private key or a profile is never readable by others even in a
/// shared export folder (`ENTRA_ONBOARD_EXPORT_DIR` on a file server's mapped drive). Under
/// the user's own profile folder (Downloads, AppData) this matches what Windows already
/// does; elsewhere it is what makes the file private. A failure stops the write.
#[cfg(windows)]
fn restrict_to_owner(path: &Path) -> std::io::Result<()> {
    let user = match (std::env::var("USERDOMAIN"), std::env::var("USERNAME")) {
        (Ok(d), Ok(u)) if !d.is_empty() && !u.is_empty() => format!("{d}\\{u}"),
        (_, Ok(u)) if !u.is_empty() => u,
        _ => {
            return Err(std::io::Error::other(
                "cannot tell which Windows user this is (USERNAME is not set), so the file could not be made private",
            ));
        }
    };
    let args = entra_onboard_core::paths::owner_only_acl_args(&path.to_string_lossy(), &user);
    let out = std::process::Command::new("icacls").args(&args).output()?;
    if out.status.success() {
        Ok(())
    } else {
        Err(std::io::Error::other(format!(
            "could not make {} private to {user} (icacls: {})",
            path.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

/// Unix: the file is created with mode 0600 (see [`write_atomic`]); nothing more to do.
#[cfg(not(windows))]
fn restrict_to_owner(_path: &Path) -> std::io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::DateTime;

    #[test]
    fn store_round_trip_and_delete() {
        let dir = tempfile::tempdir().unwrap();
        let store = ProfileStore::at(dir.path().join("profiles"));
        assert!(store.list().unwrap().is_empty());
        let mut p = Profile::new("Acme");
        p.tenant_id = "not yet".into();
        let saved = store.save(&p).unwrap();
        assert!(saved.updated_at.is_some());
        let back = store.load(&saved.id).unwrap();
        assert_eq!(back, saved);
        assert_eq!(back.tenant_id, "not yet", "saving never rewrites input");
        assert_eq!(store.list().unwrap().len(), 1);
        store.delete(&saved.id).unwrap();
        assert!(matches!(
            store.load(&saved.id),
            Err(ProfileError::NotFound(_))
        ));
        // no temp files left behind
        assert_eq!(fs::read_dir(store.dir()).unwrap().count(), 0);
    }

    #[test]
    fn scan_reports_unreadable_files_instead_of_dropping_them() {
        let dir = tempfile::tempdir().unwrap();
        let store = ProfileStore::at(dir.path());
        let good = store.save(&Profile::new("Acme")).unwrap();
        fs::write(dir.path().join("broken.json"), "{ not json").unwrap();
        fs::write(dir.path().join("future.json"), r#"{"schema_version":99}"#).unwrap();
        fs::write(dir.path().join("notes.txt"), "ignored").unwrap();
        let scan = store.scan().unwrap();
        assert_eq!(scan.profiles.len(), 1);
        assert_eq!(scan.profiles[0].id, good.id);
        let files: Vec<(&str, &str)> = scan
            .unreadable
            .iter()
            .map(|u| (u.file.as_str(), u.code.as_str()))
            .collect();
        assert_eq!(
            files,
            [
                ("broken.json", "profile.parse"),
                ("future.json", "profile.too_new")
            ]
        );
        // list() still hides them (pickers), but scan() does not.
        assert_eq!(store.list().unwrap().len(), 1);
        assert!(
            ProfileStore::at(dir.path().join("missing"))
                .scan()
                .unwrap()
                .profiles
                .is_empty()
        );
    }

    #[cfg(unix)]
    #[test]
    fn store_reads_are_bounded_to_regular_files() {
        let dir = tempfile::tempdir().unwrap();
        let store = ProfileStore::at(dir.path());
        let good = store.save(&Profile::new("Acme")).unwrap();
        // A device behind a profile-looking name, a FIFO (no writer: the open must not
        // hang) and a sparse file over the cap: each listed, none read into memory.
        std::os::unix::fs::symlink("/dev/zero", dir.path().join("zero.json")).unwrap();
        assert!(
            std::process::Command::new("mkfifo")
                .arg(dir.path().join("pipe.json"))
                .status()
                .unwrap()
                .success()
        );
        let big = fs::File::create(dir.path().join("big.json")).unwrap();
        big.set_len(MAX_PROFILE_FILE_BYTES + 1).unwrap();
        let scan = store.scan().unwrap();
        assert_eq!(scan.profiles.len(), 1);
        let files: Vec<(&str, &str)> = scan
            .unreadable
            .iter()
            .map(|u| (u.file.as_str(), u.code.as_str()))
            .collect();
        assert_eq!(
            files,
            [
                ("big.json", "file.too_large"),
                ("pipe.json", "file.not_regular"),
                ("zero.json", "file.not_regular")
            ]
        );
        assert_eq!(store.list().unwrap().len(), 1);
        // load() by id goes through the same read.
        let id = uuid::Uuid::new_v4().to_string();
        std::os::unix::fs::symlink("/dev/zero", dir.path().join(format!("{id}.json"))).unwrap();
        assert_eq!(store.load(&id).unwrap_err().code(), "file.not_regular");
        assert!(store.load(&good.id).is_ok());
    }

    #[test]
    fn save_imported_keeps_updated_at() {
        let dir = tempfile::tempdir().unwrap();
        let store = ProfileStore::at(dir.path());
        let mut p = Profile::new("Acme");
        let then = "2024-01-02T03:04:05Z".parse::<DateTime<Utc>>().unwrap();
        p.updated_at = Some(then);
        let saved = store.save_imported(&p).unwrap();
        assert_eq!(store.load(&saved.id).unwrap().updated_at, Some(then));
        assert_ne!(store.save(&p).unwrap().updated_at, Some(then));
    }

    #[test]
    fn ids_cannot_escape_the_folder() {
        let dir = tempfile::tempdir().unwrap();
        let store = ProfileStore::at(dir.path());
        for bad in ["../../etc/passwd", "x.json", ""] {
            assert!(
                matches!(store.load(bad), Err(ProfileError::BadId(_))),
                "{bad}"
            );
        }
    }

    #[cfg(unix)]
    #[test]
    fn files_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let store = ProfileStore::at(dir.path());
        let p = store.save(&Profile::new("Acme")).unwrap();
        let mode = fs::metadata(dir.path().join(format!("{}.json", p.id)))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
