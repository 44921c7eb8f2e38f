//! One module per wizard step. Each takes the profile (and what earlier steps resolved),
//! records [`Issue`](crate::validation::Issue)s and returns what its screen shows.
//!
//! | step | module | screen |
//! |---|---|---|
//! | 1 | [`basics`] | service-desk URLs, tenant type, cloud, tenant and client ids |
//! | 2 | [`redirects`] | redirect URIs to register |
//! | 3 | [`credential`] | secret, certificate or federated credential |
//! | 3 | [`federated`] | the federated credential Halo issues (its Method 3) |
//! | 4 | [`consent`] | the admin-consent link |
//! | 5 | [`csp`] | the AdminAgents elevation script |
//! | 6 | [`sso`] | SSO toggles and the settings sheet |
//! | 6 | [`halo_screens`] | the sheet's rows for Halo's other screens (connect button, 2FA, CSP tenants) |
//! | 6 | [`sync`] | user/technician sync settings (fields `sync.*`) |
//! | 3 | [`reminder`] | the credential rotation reminder (`.ics`) |
//! | 5 | [`tenants`] | the customer consent tracker: parsing, links, CSV |
//! | 5 | [`partner_center`] | CSP's second, single-tenant Partner Center app |
//! | 1–6 | [`public_signup`] | public sign-up through Azure AD B2C or External ID |
//!
//! The parts of steps 3–5 that do I/O — creating and importing certificates, capturing
//! the consent answer on the loopback — are the engine's `steps::certificate` and
//! `steps::consent_capture`.

pub mod basics;
pub mod consent;
pub mod credential;
pub mod csp;
pub mod federated;
pub mod halo_screens;
pub mod partner_center;
pub mod public_signup;
pub mod redirects;
pub mod reminder;
pub mod sso;
pub mod sync;
pub mod tenants;
