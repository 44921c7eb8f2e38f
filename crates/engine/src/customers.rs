//! Operations on a whole customer that reach both the profile store and the OS keychain.
//!
//! Kept apart from [`crate::profile`] so the profile format stays free of platform
//! services, and apart from [`crate::keychain`] so the keychain knows nothing of files.

use crate::keychain::{Keychain, KeychainError};
use crate::profile::{CredentialKind, ProfileError, ProfileStore};

/// Deleting a customer failed; nothing was deleted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DeleteError {
    /// The profile could not be read or removed.
    #[error(transparent)]
    Profile(#[from] ProfileError),
    /// The profile has a credential in the keychain, and the keychain refused.
    #[error(
        "the customer was not deleted, because its secret could not be removed from the keychain: {0}"
    )]
    Keychain(#[from] KeychainError),
}

impl DeleteError {
    /// Stable code for the UI.
    pub fn code(&self) -> &'static str {
        match self {
            DeleteError::Profile(e) => e.code(),
            DeleteError::Keychain(e) => e.code(),
        }
    }
}

/// Deletes a customer: its keychain entries first (when it has a secret or certificate),
/// then its profile file. If the keychain is unavailable the profile stays, so a secret is
/// never left behind in the keychain with no profile pointing at it.
pub fn delete_customer(store: &ProfileStore, id: &str) -> Result<(), DeleteError> {
    delete_customer_with(store, id, Keychain::open)
}

/// [`delete_customer`] with the keychain supplied (tests use their own service name).
pub fn delete_customer_with(
    store: &ProfileStore,
    id: &str,
    open_keychain: impl FnOnce() -> Result<Keychain, KeychainError>,
) -> Result<(), DeleteError> {
    let profile = store.load(id)?;
    if matches!(
        profile.credential.kind,
        CredentialKind::Secret | CredentialKind::Certificate
    ) {
        open_keychain()?.delete_all(&profile.id)?;
    }
    store.delete(id)?;
    Ok(())
}
