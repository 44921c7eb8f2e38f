//! The OS keychain: where a profile's client secret and certificate password live.
//!
//! A profile file never holds a secret (see [`crate::profile`]); the secret goes to the
//! platform's own store — the Secret Service (GNOME Keyring, KWallet) on Linux, the login
//! Keychain on macOS, Credential Manager on Windows — under a service name for this app and an
//! account `<profile id>/client-secret` or `<profile id>/certificate-password`.
//!
//! Why so strict about *which* store: keyring v3 silently falls back to an in-memory mock
//! when no platform feature is compiled in, and a mock's `set` succeeds while the secret is
//! gone at the next start (the failure several apps shipped with). So [`Keychain::open`]
//! refuses any store that does not persist until deleted, and then proves the real store
//! works with a write, read and delete of a probe entry. When there is no usable store the
//! answer is [`KeychainError::Unavailable`] with what to do — never a file instead.
//!
//! Left out on purpose: certificates themselves (a PFX does not fit Windows' 2560-byte limit;
//! only its password lives here), listing entries (Secret Service has no per-app view and
//! the profile list already says which ids exist), and any cache: every call goes to the OS.

use std::sync::{Arc, Mutex};

use keyring::credential::{CredentialBuilder, CredentialPersistence};

use crate::ids::Sensitive;

/// Service name of release builds.
pub const SERVICE_RELEASE: &str = "com.entraonboard.desktop";
/// Service name of debug builds, so a developer's `cargo run` never touches the secrets of an
/// installed copy.
pub const SERVICE_DEV: &str = "com.entraonboard.desktop.dev";
/// Environment variable that overrides the service name (tests, side-by-side installs).
pub const SERVICE_ENV: &str = "ENTRA_ONBOARD_KEYCHAIN_SERVICE";

/// Largest value stored, in UTF-8 bytes. Windows Credential Manager holds at most 2560
/// bytes, and keyring stores a password as UTF-16 there (≈1280 characters); 1024 UTF-8 bytes
/// fits that on every platform with room to spare. Secrets are at most 512 characters.
pub const MAX_VALUE_BYTES: usize = 1024;

const CLIENT_SECRET: &str = "client-secret";
const CERTIFICATE_PASSWORD: &str = "certificate-password";
/// The CSP Partner Center app's own entries: a second registration has its own secret and
/// certificate, so it never shares (or overwrites) the main app's.
const PC_CLIENT_SECRET: &str = "partner-center-client-secret";
const PC_CERTIFICATE_PASSWORD: &str = "partner-center-certificate-password";

/// Which of a customer's app registrations an entry belongs to.
pub use entra_onboard_core::profile::CustomerApp;

fn secret_kind(app: CustomerApp) -> &'static str {
    match app {
        CustomerApp::Main => CLIENT_SECRET,
        CustomerApp::PartnerCenter => PC_CLIENT_SECRET,
    }
}

/// A rotation's new client secret until it becomes current (issue 15): beside the current
/// one, so Halo's working secret is never overwritten before the new one is proven.
fn next_secret_kind(app: CustomerApp) -> &'static str {
    match app {
        CustomerApp::Main => "client-secret-next",
        CustomerApp::PartnerCenter => "partner-center-client-secret-next",
    }
}

/// A certificate rotation's new .pfx password until its certificate is current (issue 15),
/// beside the current one for the same reason as [`next_secret_kind`].
fn next_password_kind(app: CustomerApp) -> &'static str {
    match app {
        CustomerApp::Main => "certificate-password-next",
        CustomerApp::PartnerCenter => "partner-center-certificate-password-next",
    }
}

fn password_kind(app: CustomerApp) -> &'static str {
    match app {
        CustomerApp::Main => CERTIFICATE_PASSWORD,
        CustomerApp::PartnerCenter => PC_CERTIFICATE_PASSWORD,
    }
}
/// Account of the entry written and deleted by [`Keychain::open`]; not a UUID, so it can
/// never collide with a profile's entries.
const PROBE_ACCOUNT: &str = "keychain-probe";

/// Keychain calls of this process run one at a time: the Secret Service's D-Bus transport
/// fails on concurrent calls and Windows does not serialise reads and writes of one entry.
static SERIAL: Mutex<()> = Mutex::new(());

/// Probes of this process run one at a time: they share one account, so two opens racing
/// (the app runs commands concurrently) would read each other's value and call a working
/// store broken.
static PROBE: Mutex<()> = Mutex::new(());

/// What went wrong with the keychain.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeychainError {
    /// No usable store: no D-Bus session, no Secret Service, a locked keychain whose unlock
    /// prompt was dismissed, or a store that would not keep the secret.
    #[error("the OS keychain is not available. {guidance}")]
    Unavailable {
        /// What the admin can do about it (and the underlying cause).
        guidance: String,
    },
    /// The value (or an entry name) is longer than the store accepts.
    #[error("the {what} is too long for the OS keychain (at most {limit})")]
    TooLong {
        /// What was too long ("value", or the attribute the store named).
        what: String,
        /// The limit, as the store counts it.
        limit: usize,
    },
    /// The profile id is not a UUID (and could otherwise name another app's entries).
    #[error("{0:?} is not a profile id (a UUID); save the profile first so it has one")]
    BadProfileId(String),
    /// Any other failure reported by the store.
    #[error("the OS keychain failed: {0}")]
    Platform(String),
}

impl KeychainError {
    /// Stable code for the UI.
    pub fn code(&self) -> &'static str {
        match self {
            KeychainError::Unavailable { .. } => "keychain.unavailable",
            KeychainError::TooLong { .. } => "keychain.too_long",
            KeychainError::BadProfileId(_) => "keychain.bad_profile_id",
            KeychainError::Platform(_) => "keychain.platform",
        }
    }
}

/// The OS keychain, opened and proven to work.
#[derive(Clone)]
pub struct Keychain {
    service: String,
    // Kept from `open` (not the crate-global default) so nothing can swap in another store
    // after the persistence check.
    builder: Arc<CredentialBuilder>,
}

impl std::fmt::Debug for Keychain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keychain")
            .field("service", &self.service)
            .field("store", &self.store_name())
            .finish()
    }
}

/// The service name for this build: [`SERVICE_ENV`] when set, else [`SERVICE_DEV`] in debug
/// builds and [`SERVICE_RELEASE`] in release builds.
pub fn service_name() -> String {
    match std::env::var(SERVICE_ENV) {
        Ok(s) if !s.trim().is_empty() => s.trim().to_string(),
        _ if cfg!(debug_assertions) => SERVICE_DEV.to_string(),
        _ => SERVICE_RELEASE.to_string(),
    }
}

impl Keychain {
    /// Opens the OS keychain under this build's [`service_name`].
    ///
    /// Fails with [`KeychainError::Unavailable`] (with guidance) when there is no Secret
    /// Service, it is locked and the unlock was dismissed, or the store is a mock.
    pub fn open() -> Result<Keychain, KeychainError> {
        Keychain::open_with_service(&service_name())
    }

    /// Opens the OS keychain under another service name (tests use one per run).
    pub fn open_with_service(service: &str) -> Result<Keychain, KeychainError> {
        let service = service.trim();
        if service.is_empty() {
            // An empty service is a wildcard on macOS: it would match other apps' items.
            return Err(KeychainError::Platform(
                "the keychain service name is empty".into(),
            ));
        }
        let builder: Arc<CredentialBuilder> =
            Arc::from(keyring::default::default_credential_builder());
        check_persistence(&builder.persistence())?;
        let keychain = Keychain {
            service: service.to_string(),
            builder,
        };
        keychain.probe()?;
        Ok(keychain)
    }

    /// Where secrets go, as the admin knows it.
    pub fn store_name(&self) -> &'static str {
        store_name()
    }

    /// The service name entries are stored under.
    pub fn service(&self) -> &str {
        &self.service
    }

    /// Stores (or replaces) the client secret of a profile.
    pub fn set_secret(
        &self,
        profile_id: &str,
        secret: &Sensitive<String>,
    ) -> Result<(), KeychainError> {
        self.set(&account(profile_id, CLIENT_SECRET)?, secret)
    }

    /// The client secret of a profile, `None` when none is stored.
    pub fn get_secret(&self, profile_id: &str) -> Result<Option<Sensitive<String>>, KeychainError> {
        self.get(&account(profile_id, CLIENT_SECRET)?)
    }

    /// Stores (or replaces) the password of a profile's certificate (PFX).
    pub fn set_certificate_password(
        &self,
        profile_id: &str,
        pw: &Sensitive<String>,
    ) -> Result<(), KeychainError> {
        self.set(&account(profile_id, CERTIFICATE_PASSWORD)?, pw)
    }

    /// The certificate password of a profile, `None` when none is stored.
    pub fn get_certificate_password(
        &self,
        profile_id: &str,
    ) -> Result<Option<Sensitive<String>>, KeychainError> {
        self.get(&account(profile_id, CERTIFICATE_PASSWORD)?)
    }

    /// Stores (or replaces) the client secret of one of a profile's apps.
    pub fn set_app_secret(
        &self,
        profile_id: &str,
        app: CustomerApp,
        secret: &Sensitive<String>,
    ) -> Result<(), KeychainError> {
        self.set(&account(profile_id, secret_kind(app))?, secret)
    }

    /// The client secret of one of a profile's apps, `None` when none is stored.
    pub fn get_app_secret(
        &self,
        profile_id: &str,
        app: CustomerApp,
    ) -> Result<Option<Sensitive<String>>, KeychainError> {
        self.get(&account(profile_id, secret_kind(app))?)
    }

    /// Stores (or replaces) the certificate (PFX) password of one of a profile's apps.
    pub fn set_app_certificate_password(
        &self,
        profile_id: &str,
        app: CustomerApp,
        pw: &Sensitive<String>,
    ) -> Result<(), KeychainError> {
        self.set(&account(profile_id, password_kind(app))?, pw)
    }

    /// The certificate password of one of a profile's apps, `None` when none is stored.
    pub fn get_app_certificate_password(
        &self,
        profile_id: &str,
        app: CustomerApp,
    ) -> Result<Option<Sensitive<String>>, KeychainError> {
        self.get(&account(profile_id, password_kind(app))?)
    }

    /// Deletes the entries of one of a profile's apps (its secret, a rotation's next secret
    /// and the certificate password).
    pub fn delete_app(&self, profile_id: &str, app: CustomerApp) -> Result<(), KeychainError> {
        let secret = account(profile_id, secret_kind(app))?;
        let next = account(profile_id, next_secret_kind(app))?;
        let password = account(profile_id, password_kind(app))?;
        let next_password = account(profile_id, next_password_kind(app))?;
        self.delete(&secret)?;
        self.delete(&next)?;
        self.delete(&next_password)?;
        self.delete(&password)
    }

    /// Stores (or replaces) a certificate rotation's next .pfx password of one of a
    /// profile's apps (`<id>/certificate-password-next`, `<id>/partner-center-…-next`).
    pub fn set_next_certificate_password(
        &self,
        profile_id: &str,
        app: CustomerApp,
        pw: &Sensitive<String>,
    ) -> Result<(), KeychainError> {
        self.set(&account(profile_id, next_password_kind(app))?, pw)
    }

    /// A certificate rotation's next .pfx password, `None` when none is stored.
    pub fn get_next_certificate_password(
        &self,
        profile_id: &str,
        app: CustomerApp,
    ) -> Result<Option<Sensitive<String>>, KeychainError> {
        self.get(&account(profile_id, next_password_kind(app))?)
    }

    /// Deletes a certificate rotation's next .pfx password (absent is fine).
    pub fn delete_next_certificate_password(
        &self,
        profile_id: &str,
        app: CustomerApp,
    ) -> Result<(), KeychainError> {
        self.delete(&account(profile_id, next_password_kind(app))?)
    }

    /// Stores (or replaces) a rotation's next client secret of one of a profile's apps
    /// (`<id>/client-secret-next`, `<id>/partner-center-client-secret-next`).
    pub fn set_next_secret(
        &self,
        profile_id: &str,
        app: CustomerApp,
        secret: &Sensitive<String>,
    ) -> Result<(), KeychainError> {
        self.set(&account(profile_id, next_secret_kind(app))?, secret)
    }

    /// A rotation's next client secret of one of a profile's apps, `None` when none is stored.
    pub fn get_next_secret(
        &self,
        profile_id: &str,
        app: CustomerApp,
    ) -> Result<Option<Sensitive<String>>, KeychainError> {
        self.get(&account(profile_id, next_secret_kind(app))?)
    }

    /// Deletes a rotation's next client secret (absent is fine).
    pub fn delete_next_secret(
        &self,
        profile_id: &str,
        app: CustomerApp,
    ) -> Result<(), KeychainError> {
        self.delete(&account(profile_id, next_secret_kind(app))?)
    }

    /// Deletes every entry of a profile, for each of its apps (deleting a profile calls
    /// this). Entries that do not exist are fine.
    pub fn delete_all(&self, profile_id: &str) -> Result<(), KeychainError> {
        self.delete_app(profile_id, CustomerApp::Main)?;
        self.delete_app(profile_id, CustomerApp::PartnerCenter)
    }

    /// Proves the store answers and keeps what it is given: the persistence flag alone would
    /// not notice a missing D-Bus session or a locked keyring until the first real secret.
    fn probe(&self) -> Result<(), KeychainError> {
        let value = Sensitive::new(format!("probe-{}", uuid::Uuid::new_v4().simple()));
        let _probe = PROBE.lock().unwrap_or_else(|p| p.into_inner());
        // At open time any failure (no D-Bus session shows up as a platform failure) means
        // there is no usable store, which is what the admin needs to hear.
        let as_unavailable = |e: KeychainError| match e {
            KeychainError::Platform(detail) => unavailable(&detail),
            other => other,
        };
        self.set(PROBE_ACCOUNT, &value).map_err(as_unavailable)?;
        let read = self.get(PROBE_ACCOUNT).map_err(as_unavailable)?;
        self.delete(PROBE_ACCOUNT).map_err(as_unavailable)?;
        if read.as_ref().map(|r| r.expose()) != Some(value.expose()) {
            return Err(unavailable_with(
                "The store accepted a value but did not return it, so it would lose secrets",
            ));
        }
        Ok(())
    }

    fn entry(&self, account: &str) -> Result<keyring::Entry, KeychainError> {
        let credential = self
            .builder
            .build(None, &self.service, account)
            .map_err(map_err)?;
        Ok(keyring::Entry::new_with_credential(credential))
    }

    fn set(&self, account: &str, value: &Sensitive<String>) -> Result<(), KeychainError> {
        if value.expose().len() > MAX_VALUE_BYTES {
            return Err(KeychainError::TooLong {
                what: "value".into(),
                limit: MAX_VALUE_BYTES,
            });
        }
        let _serial = lock();
        self.entry(account)?
            .set_password(value.expose())
            .map_err(map_err)
    }

    fn get(&self, account: &str) -> Result<Option<Sensitive<String>>, KeychainError> {
        let _serial = lock();
        match self.entry(account)?.get_password() {
            Ok(v) => Ok(Some(Sensitive::new(v))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(map_err(e)),
        }
    }

    fn delete(&self, account: &str) -> Result<(), KeychainError> {
        let _serial = lock();
        match self.entry(account)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            // Another program wrote a duplicate under our names: deleting means all of them.
            Err(keyring::Error::Ambiguous(all)) => {
                for c in all {
                    match c.delete_credential() {
                        Ok(()) | Err(keyring::Error::NoEntry) => {}
                        Err(e) => return Err(map_err(e)),
                    }
                }
                Ok(())
            }
            Err(e) => Err(map_err(e)),
        }
    }
}

fn lock() -> std::sync::MutexGuard<'static, ()> {
    // A panic while holding the lock leaves nothing half-done in *our* state.
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

/// `<profile id>/<kind>`, with the id checked to be a UUID (canonical lower case), so a
/// crafted id cannot address another profile's or another app's entries.
fn account(profile_id: &str, kind: &str) -> Result<String, KeychainError> {
    let id = uuid::Uuid::parse_str(profile_id.trim())
        .map_err(|_| KeychainError::BadProfileId(profile_id.to_string()))?;
    Ok(format!("{}/{kind}", id.hyphenated()))
}

/// Refuses a store that would not keep a secret until it is deleted (keyring's mock keeps
/// it in the entry, the kernel keyutils store until reboot).
fn check_persistence(p: &CredentialPersistence) -> Result<(), KeychainError> {
    match p {
        CredentialPersistence::UntilDelete => Ok(()),
        CredentialPersistence::EntryOnly | CredentialPersistence::ProcessOnly => {
            Err(unavailable_with(
                "This build only has an in-memory store, which loses secrets when the app closes (it was built without a platform keychain)",
            ))
        }
        _ => Err(unavailable_with(
            "This build's store does not keep secrets until they are deleted (it was built without a platform keychain)",
        )),
    }
}

fn map_err(e: keyring::Error) -> KeychainError {
    match e {
        keyring::Error::NoStorageAccess(inner) => unavailable(&inner.to_string()),
        keyring::Error::TooLong(what, limit) => KeychainError::TooLong { what, limit: limit as usize },
        keyring::Error::BadEncoding(_) => KeychainError::Platform(
            "a stored value is not UTF-8 text; delete it (entra-onboard secret delete) and store it again".into(),
        ),
        keyring::Error::Ambiguous(items) => KeychainError::Platform(format!(
            "{} entries match one name (another program wrote a duplicate); delete them (entra-onboard secret delete) and store the value again",
            items.len()
        )),
        other => KeychainError::Platform(other.to_string()),
    }
}

fn unavailable(detail: &str) -> KeychainError {
    unavailable_with(&format!("The store said: {detail}"))
}

fn unavailable_with(detail: &str) -> KeychainError {
    KeychainError::Unavailable {
        guidance: format!("{} {detail}.", guidance()),
    }
}

/// What to do when the store cannot be used, per platform.
pub fn guidance() -> &'static str {
    if cfg!(target_os = "macos") {
        "Unlock your login keychain (Keychain Access) and choose Allow when macOS asks whether Entra Onboard may use it. Entra Onboard never keeps secrets in a file instead."
    } else if cfg!(windows) {
        "Windows Credential Manager could not be used for this account; sign in with a normal (not temporary or mandatory) Windows profile. Entra Onboard never keeps secrets in a file instead."
    } else {
        "Secrets are kept in the Secret Service: start GNOME Keyring or KWallet in your desktop session, or unlock it; on a server or SSH session run inside `dbus-run-session` after `gnome-keyring-daemon --unlock --components=secrets`. Entra Onboard never keeps secrets in a file instead."
    }
}

fn store_name() -> &'static str {
    if cfg!(target_os = "macos") {
        "macOS Keychain"
    } else if cfg!(windows) {
        "Windows Credential Manager"
    } else {
        "Secret Service (GNOME Keyring / KWallet)"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mock_store_is_refused() {
        let mock = keyring::mock::default_credential_builder();
        let err = check_persistence(&mock.persistence()).unwrap_err();
        assert_eq!(err.code(), "keychain.unavailable");
        assert!(err.to_string().contains("in-memory"), "{err}");
        assert!(check_persistence(&CredentialPersistence::ProcessOnly).is_err());
        assert!(check_persistence(&CredentialPersistence::UntilReboot).is_err());
    }

    #[test]
    fn this_build_has_a_persistent_store() {
        // Fails when the keyring features in Cargo.toml are lost and the mock takes over.
        let builder = keyring::default::default_credential_builder();
        check_persistence(&builder.persistence()).unwrap();
    }

    #[test]
    fn accounts_are_canonical_uuids() {
        assert_eq!(
            account(" 0A1B2C3D-4E5F-6071-8293-A4B5C6D7E8F9 ", CLIENT_SECRET).unwrap(),
            "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9/client-secret"
        );
        for bad in [
            "",
            "acme",
            "../x",
            "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9/client-secret",
        ] {
            assert_eq!(
                account(bad, CLIENT_SECRET).unwrap_err().code(),
                "keychain.bad_profile_id",
                "{bad:?}"
            );
        }
    }

    #[test]
    fn each_app_has_its_own_accounts() {
        let id = "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9";
        let all: Vec<String> = [CustomerApp::Main, CustomerApp::PartnerCenter]
            .into_iter()
            .flat_map(|a| {
                [
                    account(id, secret_kind(a)).unwrap(),
                    account(id, password_kind(a)).unwrap(),
                ]
            })
            .collect();
        assert_eq!(all[0], format!("{id}/client-secret"));
        assert_eq!(all[2], format!("{id}/partner-center-client-secret"));
        for (i, a) in all.iter().enumerate() {
            assert!(all.iter().skip(i + 1).all(|b| b != a), "{a} twice");
        }
    }

    #[test]
    fn service_names_differ_per_build() {
        assert_ne!(SERVICE_DEV, SERVICE_RELEASE);
        if std::env::var_os(SERVICE_ENV).is_none() {
            let expected = if cfg!(debug_assertions) {
                SERVICE_DEV
            } else {
                SERVICE_RELEASE
            };
            assert_eq!(service_name(), expected);
        }
    }

    #[test]
    fn unavailable_tells_what_to_do() {
        let e = unavailable("Unable to autolaunch a dbus-daemon without a $DISPLAY");
        let text = e.to_string();
        assert!(text.contains("never keeps secrets in a file"), "{text}");
        assert!(text.contains("autolaunch"), "{text}");
        if cfg!(target_os = "linux") {
            assert!(text.contains("dbus-run-session"), "{text}");
        }
    }

    #[test]
    fn codes_are_stable() {
        assert_eq!(
            KeychainError::Platform("x".into()).code(),
            "keychain.platform"
        );
        assert_eq!(
            KeychainError::TooLong {
                what: "value".into(),
                limit: 1
            }
            .code(),
            "keychain.too_long"
        );
    }
}
