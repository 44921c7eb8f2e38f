//! The wizard steps. Their rules are the core's (`entra_onboard_core::steps`, re-exported
//! here under the same names); the two parts of a step that do I/O live in this crate:
//!
//! | step | module | what |
//! |---|---|---|
//! | 3 | [`certificate`] | create or import a certificate (RSA keys, X.509, PKCS#12) |
//! | 4, 5 | [`consent_capture`] | open the consent link and record Entra's answer on the loopback |

pub mod certificate;
pub mod consent_capture;

pub use entra_onboard_core::steps::*;
