//! Stand-ins for Microsoft services that run on this computer: for tests, for the
//! desktop app's "Practice with the sandbox" and for `entra-onboard sandbox`. Everything
//! here is clearly a sandbox — it listens on 127.0.0.1 only, its identifiers are fixed
//! and obviously fake, every page says SANDBOX — and none of it is used against a real
//! tenant.
//!
//! - [`idp`]: the sandbox tenant's identity provider (discovery, JWKS, authorize with a
//!   sign-in page and two demo users, token, admin consent, a "portal" page), served with
//!   the Graph routes on one port.
//! - [`graph`]: an in-memory Microsoft Graph v1.0 subset (the routes automation uses),
//!   with fault injection and a request log. Its applications, credentials, service
//!   principals and consent are the one registry the provider enforces
//!   (`graph::registry`).
//! - [`directory`]: the users, groups and licences it serves, and a generator of
//!   synthetic directories.
//!
//! - [`practice`]: both on one port, as "Practice with the sandbox" runs them.
//!
//! [`start`] serves the provider and Microsoft Graph (`/v1.0`) on one port, over one
//! registry.
//!
//! It depends on the rules (`entra-onboard-core`) but not on the engine: it is the other
//! side of the wire from the flows it stands in for, so it has its own PEM reader, HTML
//! escaping and app-management policy reader — a misreading in the engine fails against it
//! instead of passing its own test. Production crates never depend on it; the app and the
//! CLI do (practice is a product feature), and the engine's tests take it as a
//! dev-dependency.
//!
//! Every server here answers only requests addressed to its own loopback origin and refuses
//! cross-origin form posts ([`guard`]).

pub mod directory;
pub mod graph;
mod guard;
pub mod idp;
mod jws;
pub mod practice;

pub use idp::{
    SandboxAppInfo, SandboxError, SandboxHandle, SandboxInfo, SandboxOptions, Seed,
    is_sandbox_authority, start,
};
