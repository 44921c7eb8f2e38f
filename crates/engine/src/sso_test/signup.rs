//! Discovery for public sign-up (issue 14 point 7): Azure AD B2C and Microsoft Entra
//! External ID publish one OpenID configuration per user flow (B2C) or tenant (External
//! ID), at the authority the core builds ([`Target::signup_discovery`]).
//!
//! The document is accepted only when every endpoint is on the profile's own sign-up host
//! ([`Target::check_login`]) and its issuer is exactly the format Microsoft documents for
//! the service and this tenant ([`Target::signup_issuer`]): B2C
//! `https://<tenant>.b2clogin.com/<tenant id>/v2.0/`, External ID
//! `https://<tenant id>.ciamlogin.com/<tenant id>/v2.0`. A B2C user flow switched to the
//! `tfp` issuer format (`…/tfp/<tenant id>/<policy>/v2.0/`) is refused with that fix.

use crate::ids::TenantId;
use crate::target::{SignupService, Target, TenantSegment};

use super::oidc::{Discovery, IssuerRule, OidcError, ProviderEndpoints, get_json};

/// Fetches and checks the sign-up service's configuration. `tenant_id` is the tenant GUID
/// when the profile has one; with only a domain, the GUID is read from the issuer and the
/// issuer must still have the documented shape for it.
pub async fn discover(
    http: &reqwest::Client,
    target: &Target,
    segment: &TenantSegment,
    tenant_id: Option<&TenantId>,
) -> Result<(Discovery, ProviderEndpoints, IssuerRule), OidcError> {
    let (Some(service), Some(url)) = (target.signup(), target.signup_discovery(segment)) else {
        return Err(OidcError::DiscoveryMismatch(
            "the profile is not a public sign-up profile".into(),
        ));
    };
    let err = |reason: String| OidcError::Discovery {
        url: url.to_string(),
        reason,
    };
    let doc = get_json(http, &url).await.map_err(err)?;
    let d: Discovery =
        serde_json::from_value(doc).map_err(|e| err(format!("missing fields: {e}")))?;
    let check = |name: &'static str, endpoint: &str| {
        target
            .check_login(name, endpoint)
            .map_err(|e| OidcError::DiscoveryMismatch(e.to_string()))
    };
    let endpoints = ProviderEndpoints {
        authorize: check("authorization_endpoint", &d.authorization_endpoint)?,
        token: check("token_endpoint", &d.token_endpoint)?,
        jwks: check("jwks_uri", &d.jwks_uri)?,
    };
    // The tenant GUID: the profile's, or the one the issuer names (`…/<guid>/v2.0[/]`).
    let tid = match tenant_id {
        Some(t) => Some(t.clone()),
        None => d
            .issuer
            .trim_end_matches('/')
            .strip_suffix("/v2.0")
            .and_then(|r| r.rsplit('/').next())
            .and_then(TenantId::parse),
    };
    let want = tid.as_ref().and_then(|t| target.signup_issuer(t));
    let (Some(tid), Some(want)) = (tid, want) else {
        return Err(OidcError::DiscoveryMismatch(format!(
            "issuer {} does not name a tenant ID",
            d.issuer
        )));
    };
    if d.issuer != want {
        let hint = if d.issuer.contains("/tfp/") {
            " (the user flow's 'Issuer (iss) claim' is set to the tfp format; set it back to https://<domain>/<tenant GUID>/v2.0/ under the user flow's Properties > Token compatibility settings)"
        } else {
            ""
        };
        return Err(OidcError::DiscoveryMismatch(format!(
            "issuer {} is not {} ({}'s documented issuer for this tenant){hint}",
            d.issuer,
            want,
            service.name()
        )));
    }
    if let Some(modes) = &d.response_modes_supported
        && !modes.iter().any(|m| m == "form_post")
    {
        return Err(OidcError::DiscoveryMismatch(
            "the provider does not support response_mode=form_post".into(),
        ));
    }
    let rule = match service {
        SignupService::B2c { user_flow, .. } => IssuerRule::B2c {
            issuer: d.issuer.clone(),
            tenant: tid.as_str().to_string(),
            user_flow: user_flow.clone(),
        },
        SignupService::ExternalId { .. } => IssuerRule::ExternalId {
            issuer: d.issuer.clone(),
            tenant: tid.as_str().to_string(),
        },
    };
    Ok((d, endpoints, rule))
}
