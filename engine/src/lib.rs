//! # Entra Onboard engine
//!
//! Everything the Entra Onboard wizard knows and does, with no desktop dependency: the
//! customer [`profile`], [`validation`], one module per wizard step in [`steps`], the pure
//! [`plan`] that ties them together, the OS [`keychain`] that holds the secrets, and the
//! helpers the CLI and the desktop shell share.
//! The desktop app (`src-tauri/`) is a thin shell of one-line commands over this crate;
//! the `entra-onboard` CLI is another.
//!
//! Deliberately not here: anything only a desktop can do (windows, the clipboard, file
//! dialogs). Opening the system browser *is* here ([`browser`]) because the CLI needs it
//! too.

pub mod aadsts;
pub mod bounded;
pub mod browser;
pub mod cli;
pub mod cli_creds;
pub mod cli_report;
pub mod cli_sandbox;
pub mod cloud;
pub mod customers;
pub mod dashboard;
pub mod evidence;
pub mod exports;
pub mod graph;
pub mod handover;
pub mod ids;
pub mod jws;
pub mod keychain;
pub mod plan;
pub mod profile;
pub mod sandbox;
pub mod sso_test;
pub mod steps;
pub mod sync_preview;
pub mod target;
pub mod text;
pub mod transfer;
pub mod validation;
pub mod vault;

pub use plan::{Plan, plan};
pub use profile::{Profile, ProfileStore};
