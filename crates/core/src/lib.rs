//! # Entra Onboard core
//!
//! The rules, with no I/O: what a valid profile is and what the wizard derives from it.
//! The customer [`profile`] model, [`ids`] and [`validation`], the [`cloud`]s, the one
//! validated login [`target`] every URL is built from, the Entra error catalogue
//! ([`aadsts`]), the one sanitiser for text shown to the admin ([`text`]), the Microsoft
//! Graph [`permissions`] as data, one module per wizard step in
//! [`steps`], and the pure [`plan`] that assembles them.
//!
//! Deliberately not here (see `entra-onboard-engine`): files, the keychain, the network,
//! the browser, certificates and anything async. The only impure things are the clock and
//! random ids of [`Profile::new`]. Cargo enforces the direction: this crate depends on no
//! other Entra Onboard crate, and scripts/test.sh checks that no async runtime, HTTP,
//! keychain, CLI or crypto crate is among its dependencies.

pub mod aadsts;
pub mod cloud;
pub mod explain;
pub mod ids;
pub mod paths;
pub mod permissions;
pub mod plan;
pub mod profile;
pub mod rotation;
pub mod rotation_by_hand;
pub mod steps;
pub mod target;
pub mod teams;
pub mod text;
pub mod validation;
pub mod wording;

pub use plan::{Plan, plan};
pub use profile::Profile;
