//! Stand-ins for Microsoft services that run on this computer: for tests, and for the
//! desktop app's "Practice with the sandbox". Everything here is clearly a sandbox — it
//! listens on 127.0.0.1 only and its objects carry sandbox names — and none of it is used
//! against a real tenant.
//!
//! - [`graph`]: an in-memory Microsoft Graph v1.0 subset (the routes automation uses),
//!   with fault injection and a request log.
//! - [`directory`]: the users, groups and licences it serves, and a generator of
//!   synthetic directories.
//!
//! Left out (issue 6 adds them): the sign-in side (discovery, authorize, token, JWKS,
//! admin consent).

pub mod directory;
pub mod graph;
