//! # Entra Onboard engine
//!
//! What the Entra Onboard wizard *does*, with no desktop dependency: the flows and every
//! piece of I/O. The loopback [`sso_test`], the captured admin consent
//! ([`steps::consent_capture`]), certificates ([`steps::certificate`]), Microsoft
//! [`graph`] (sign-in, apply, doctor, access review), the [`sync_preview`], the OAuth
//! plumbing all three share ([`oauth`], on the `oauth2` crate), the OS
//! [`keychain`] and what goes into it ([`vault`]), the profile files ([`profile`]'s
//! `ProfileStore`), [`transfer`] between laptops, [`exports`], the [`customers`]
//! [`dashboard`], the [`handover`] report, the Microsoft [`teams`] app package and opening the system
//! [`browser`].
//!
//! The rules come from `entra-onboard-core` and are re-exported under the same paths
//! ([`plan`], [`profile`], [`steps`], [`validation`], [`target`], …), so a caller needs only
//! this crate. The desktop app (`src-tauri/`) and the `entra-onboard` CLI (`crates/cli`)
//! are thin shells over it.
//!
//! Deliberately not here: anything only a desktop can do (windows, the clipboard, file
//! dialogs), command-line parsing, and the practice sandbox (`entra-onboard-sandbox`,
//! which this crate's tests use but its code never does). Opening the system browser *is*
//! here because the CLI needs it too.

pub mod bounded;
pub mod browser;
pub mod customer_list;
pub mod customers;
pub mod dashboard;
pub mod evidence;
pub mod exports;
pub mod graph;
pub mod guards;
pub mod handover;
pub mod http;
pub mod jws;
pub mod keychain;
pub mod loopback;
pub mod oauth;
pub mod rotate_by_hand;
pub mod rotation_proof;
pub mod sso_test;
pub mod steps;
mod store;
pub mod sync_preview;
pub mod teams;
pub mod transfer;
pub mod vault;

// `plan` is both the core's module and its `plan()` function: one import brings both.
pub use entra_onboard_core::{
    aadsts, cloud, explain, ids, plan, rotation, rotation_by_hand, target, text, validation,
    wording,
};

/// The customer profile: the model is the core's; the files are this crate's.
pub mod profile {
    pub use crate::store::{
        MAX_PROFILE_FILE_BYTES, ProfileStore, StoreScan, UnreadableProfile, app_home, read_file,
        write_atomic,
    };
    pub use entra_onboard_core::profile::*;
}

pub use plan::Plan;
pub use profile::{Profile, ProfileStore};
