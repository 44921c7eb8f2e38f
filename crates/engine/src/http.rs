//! The one HTTP client builder for every outgoing call: the SSO test's discovery, keys and
//! token endpoint, the Graph sign-in and Graph itself, the sync preview.
//!
//! Left out on purpose: redirects (a token endpoint must answer itself), proxies from the
//! environment (a variable must not route tokens elsewhere), cookies. TLS is always
//! verified (rustls).

use std::time::Duration;

/// The HTTP client for every provider call: no redirects (the token endpoint must answer
/// itself), no proxies from the environment, TLS verified, timeouts.
pub fn http_client(timeout: Duration) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .user_agent(concat!("entra-onboard/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| e.to_string())
}
