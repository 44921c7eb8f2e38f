//! The AADSTS error catalogue: what an Entra sign-in or token error means for *this* setup,
//! how to fix it, and which wizard step fixes it.
//!
//! Entra reports errors as `error` + `error_description`, where the description starts
//! with `AADSTS<number>:` (and the token endpoint's JSON also has `error_codes`). Microsoft
//! asks apps not to key logic on the description text, only on the code; so this module
//! extracts the code, looks it up here, and shows the description verbatim next to our
//! explanation. Codes not in the table are shown verbatim with a generic fix.
//!
//! The table is data (one [`AadstsEntry`] per code) so it can be reviewed against
//! Microsoft's reference (learn.microsoft.com/entra/identity-platform/reference-error-codes)
//! without reading code. Steps: 1 basics, 2 redirect URIs and app registration, 3
//! credential, 4 consent, 5 CSP, 6 service-desk settings; `None` = not fixed in the wizard
//! (the account or a tenant policy).
//!
//! Left out: localisation, and live text lookups (`login.microsoftonline.com/error?code=`).

use serde::Serialize;
use ts_rs::TS;

/// One known AADSTS code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct AadstsEntry {
    /// The number after `AADSTS`.
    pub code: u32,
    /// Microsoft's name for it (or a short label).
    pub name: &'static str,
    /// What it means in this setup.
    pub cause: &'static str,
    /// What to do.
    pub fix: &'static str,
    /// The wizard step (1–6) that fixes it; `None` when the fix is outside the wizard.
    pub step: Option<u8>,
}

const fn e(
    code: u32,
    name: &'static str,
    cause: &'static str,
    fix: &'static str,
    step: Option<u8>,
) -> AadstsEntry {
    AadstsEntry {
        code,
        name,
        cause,
        fix,
        step,
    }
}

/// Every code the wizard explains. Sorted by code (checked by a test).
pub const CATALOGUE: &[AadstsEntry] = &[
    e(
        16000,
        "InteractionRequired",
        "The account that signed in does not exist in the tenant the app signs in to.",
        "Sign in with an account of the app's tenant, or make the app multi-tenant and add the user's tenant to the allowed list.",
        Some(1),
    ),
    e(
        50011,
        "InvalidReplyTo",
        "The redirect URI sent in the sign-in request is not registered on the app (or differs in scheme, case, trailing slash or platform).",
        "Register the exact URI on the app's Web platform (Authentication > Web > Redirect URIs).",
        Some(2),
    ),
    e(
        50012,
        "AuthenticationFailed",
        "Client authentication failed: the certificate assertion's signature or thumbprint is not accepted.",
        "Upload the certificate's public part to Certificates & secrets (RSA 2048 or more) and use the matching private key.",
        Some(3),
    ),
    e(
        50020,
        "UserUnauthorized",
        "The user is from another tenant, and this app only accepts its own tenant's users.",
        "Make the app multi-tenant with an allowed-tenant list, or invite the user as a guest.",
        Some(1),
    ),
    e(
        50034,
        "UserAccountNotFound",
        "The account does not exist in the tenant the sign-in went to.",
        "Check the tenant ID and sign in with an account from that tenant.",
        Some(1),
    ),
    e(
        50048,
        "SubjectMismatchesIssuer",
        "The client assertion's iss and sub are not both the app's client ID.",
        "Make iss and sub of the assertion the Application (client) ID.",
        Some(3),
    ),
    e(
        50057,
        "UserDisabled",
        "The account that signed in is disabled in the tenant.",
        "Sign in with an enabled account, or ask an administrator to enable this one (Entra admin center > Users > the user > Account status). For Halo users synced from Entra, the next sync also marks them inactive.",
        None,
    ),
    e(
        50074,
        "UserStrongAuthClientAuthNRequiredInterrupt",
        "Multi-factor authentication is required and was not completed.",
        "Complete MFA in the browser; this is a tenant policy, not an app setting.",
        None,
    ),
    e(
        50076,
        "UserStrongAuthClientAuthNRequired",
        "A policy requires multi-factor authentication for this sign-in.",
        "Complete MFA; review Conditional Access with the tenant's admin if it keeps failing.",
        None,
    ),
    e(
        50079,
        "UserStrongAuthEnrollmentRequired",
        "The user must register for multi-factor authentication first.",
        "Register MFA methods (aka.ms/mfasetup), then retry.",
        None,
    ),
    e(
        50105,
        "EntitlementGrantsNotFound",
        "The user is not assigned to the app and the enterprise app requires assignment.",
        "Assign the user or their group to the enterprise app, or set 'Assignment required' to No.",
        Some(4),
    ),
    e(
        50173,
        "FreshTokenNeeded",
        "The grant was revoked (password change or admin action).",
        "Sign in again.",
        None,
    ),
    e(
        50194,
        "InvalidMultiTenantApp",
        "The app is single-tenant but the sign-in used /common or /organizations.",
        "Use the tenant-specific authority (tenant type 'Single'), or make the app multi-tenant in Entra.",
        Some(1),
    ),
    e(
        51004,
        "UserAccountNotInDirectory",
        "The account is not in the tenant's directory.",
        "Sign in with an account of the app's tenant, or invite the user as a guest.",
        Some(1),
    ),
    e(
        53000,
        "DeviceNotCompliant",
        "Conditional Access requires a compliant device.",
        "Sign in from a compliant device or have the admin review the policy.",
        None,
    ),
    e(
        53003,
        "BlockedByConditionalAccess",
        "A Conditional Access policy blocked the sign-in.",
        "Ask the tenant's admin to check the sign-in log and the policy that applied.",
        None,
    ),
    e(
        54005,
        "OAuth2AuthorizationCodeAlreadyRedeemed",
        "The authorization code was already used.",
        "Run the test again (a new sign-in gives a new code).",
        None,
    ),
    e(
        65001,
        "DelegationDoesNotExist",
        "Admin consent has not been granted for this app in the tenant.",
        "Open the admin-consent link from step 4 as an admin of the tenant and accept.",
        Some(4),
    ),
    e(
        65004,
        "UserDeclinedConsent",
        "Consent was declined (Cancel was clicked).",
        "Run the admin-consent link again and accept.",
        Some(4),
    ),
    e(
        70001,
        "UnauthorizedClient",
        "The application is disabled in the tenant.",
        "Enterprise applications > the app > Properties: set 'Enabled for users to sign-in?' to Yes.",
        Some(4),
    ),
    e(
        70002,
        "InvalidClient",
        "The client secret does not match.",
        "Enter the secret's Value (not its Secret ID) again, or create a new secret.",
        Some(3),
    ),
    e(
        70005,
        "UnsupportedResponseType",
        "The app does not allow the requested response type (or 'openid' is missing for id_token).",
        "Authentication > Implicit grant and hybrid flows: tick 'ID tokens'.",
        Some(2),
    ),
    e(
        70021,
        "NoMatchingFederatedIdentityRecord",
        "No federated credential matches the presented token's issuer, subject and audience (or it was created moments ago).",
        "Wait a minute and retry; compare issuer, subject and audience exactly.",
        Some(3),
    ),
    e(
        70043,
        "BadTokenDueToSignInFrequency",
        "The session is older than the tenant's sign-in frequency.",
        "Sign in again.",
        None,
    ),
    e(
        90002,
        "InvalidTenantName",
        "The tenant was not found — often the wrong cloud or a typo in the tenant ID.",
        "Check the tenant ID and the cloud (global, US Government, China) in step 1.",
        Some(1),
    ),
    e(
        90038,
        "NationalCloudTenantRedirection",
        "The tenant belongs to another national cloud.",
        "Pick the tenant's cloud in step 1.",
        Some(1),
    ),
    e(
        90072,
        "PassThroughUserMfaError",
        "The account signed in through another tenant (a guest) but does not exist in this tenant, so it cannot satisfy this tenant's MFA; for synced users, the on-premises ImmutableID may not match.",
        "Invite the user as a guest (B2B) in the app's tenant first, or sign in with an account of that tenant; for a multi-tenant service-desk app, add the user's home tenant to the allowed tenants.",
        Some(1),
    ),
    e(
        90094,
        "AdminConsentRequired",
        "Only an administrator can consent to this app's permissions.",
        "Have an admin open the admin-consent link from step 4.",
        Some(4),
    ),
    e(
        90095,
        "AdminConsentRequiredRequestAccess",
        "The tenant's admin-consent workflow intercepted the sign-in.",
        "Have an admin approve the request, or open the admin-consent link from step 4 as an admin.",
        Some(4),
    ),
    e(
        90099,
        "ApplicationNotAuthorizedForPartnerDelegatedAdmin",
        "A partner (GDAP/CSP) admin signed in to a customer tenant where the app is not consented.",
        "Consent the app in the customer tenant (CSP step, or the customer's admin opens the consent link).",
        Some(5),
    ),
    e(
        500011,
        "InvalidResourceServicePrincipalNotFound",
        "The requested API (resource) has no service principal in the tenant.",
        "Check the Graph host for the cloud in step 1, and the API permissions on the app.",
        Some(4),
    ),
    e(
        500113,
        "NoReplyAddressRegistered",
        "The app registration has no redirect URI at all, so Entra has nowhere to send the sign-in.",
        "Add the service desk's redirect URI on the app's Web platform (Authentication > Add a platform > Web).",
        Some(2),
    ),
    e(
        500212,
        "NotAllowedByOutboundPolicyTenant",
        "The user's home tenant has an outbound cross-tenant access policy that does not allow access to the app's tenant.",
        "An administrator of the user's home tenant allows the app's tenant (External Identities > Cross-tenant access settings > Outbound), or the user signs in with an account of the app's tenant.",
        None,
    ),
    e(
        500213,
        "NotAllowedByInboundPolicyTenant",
        "The app's tenant has an inbound cross-tenant access policy that does not allow users from the user's home tenant.",
        "An administrator of the app's tenant allows the user's organisation (External Identities > Cross-tenant access settings > Inbound), or adds the user as a guest.",
        None,
    ),
    e(
        501481,
        "InvalidCodeChallenge",
        "The PKCE code_verifier does not match the code challenge.",
        "Run the test again; report it if it repeats.",
        None,
    ),
    e(
        530035,
        "BlockedBySecurityDefaults",
        "Security defaults blocked the sign-in: legacy authentication, or a sign-in security defaults judged unsafe.",
        "Use modern authentication (the service desk's \"Sign in with Microsoft\") and complete MFA registration; if the tenant needs exceptions, replace security defaults with Conditional Access policies (Entra ID P1).",
        None,
    ),
    e(
        650052,
        "OrgNotSubscribedToService",
        "The tenant is not subscribed to a service the app's permissions need.",
        "Remove that API permission or use a tenant with the service.",
        Some(4),
    ),
    e(
        650056,
        "MisconfiguredApplication",
        "The app's requested permissions are misconfigured.",
        "Review API permissions on the app and grant admin consent again.",
        Some(4),
    ),
    e(
        650057,
        "InvalidResource",
        "The requested resource is not in the app's API permissions.",
        "Add the permission in API permissions and grant admin consent.",
        Some(4),
    ),
    e(
        700011,
        "UnauthorizedClientAppNotFoundInOrgIdTenant",
        "The app was not found in the tenant.",
        "Check the client ID and tenant ID, then run admin consent in that tenant.",
        Some(1),
    ),
    e(
        700016,
        "UnauthorizedClient_DoesNotMatchRequest",
        "The application was not found in the directory: wrong client ID, wrong tenant, wrong cloud, or not consented there.",
        "Check the client ID and tenant ID in step 1; for another tenant run the admin-consent link (step 4).",
        Some(1),
    ),
    e(
        700025,
        "InvalidClientPublicClientWithCredential",
        "The app is marked as a public client, so it may not send a secret or certificate.",
        "Authentication: set 'Allow public client flows' to No and use the Web platform.",
        Some(2),
    ),
    e(
        700027,
        "InvalidClientAssertion",
        "The client assertion's signature is not valid for any certificate on the app.",
        "Upload the certificate whose private key is used (Certificates & secrets), RSA 2048 or more.",
        Some(3),
    ),
    e(
        700054,
        "ResponseTypeNotEnabled",
        "'ID tokens' is not enabled for the app, so the service desk's sign-in (which asks for an ID token) fails.",
        "Authentication > Implicit grant and hybrid flows: tick 'ID tokens' and save.",
        Some(2),
    ),
    e(
        700082,
        "ExpiredOrRevokedGrantInactiveToken",
        "The refresh token expired after 90 days without use.",
        "Sign in again.",
        None,
    ),
    e(
        900432,
        "ConfidentialClientNotSupportedInCrossCloudRequest",
        "A confidential client was used across national clouds.",
        "Pick the tenant's cloud in step 1 and use an app registered there.",
        Some(1),
    ),
    e(
        900971,
        "NoReplyAddressProvided",
        "The sign-in request carried no redirect URI and the app has none to fall back on.",
        "Register the service desk's redirect URI on the app (Authentication > Web) and check that the service desk sends it.",
        Some(2),
    ),
    e(
        7000112,
        "UnauthorizedClientApplicationDisabled",
        "The application is disabled.",
        "Enterprise applications > the app > Properties: enable sign-in.",
        Some(4),
    ),
    e(
        7000215,
        "InvalidClientSecretProvided",
        "The client secret is wrong — usually the Secret ID (a GUID) was copied instead of the secret's Value.",
        "In Certificates & secrets create a new secret and copy its Value (shown once).",
        Some(3),
    ),
    e(
        7000218,
        "InvalidClientCredentialsRequired",
        "No secret or certificate was sent.",
        "Store the client secret or certificate in step 3.",
        Some(3),
    ),
    e(
        7000222,
        "InvalidClientSecretExpiredKeysProvided",
        "The client secret has expired.",
        "Create a new secret in Certificates & secrets, store it in step 3, and record its expiry.",
        Some(3),
    ),
    e(
        7000229,
        "MissingServicePrincipal",
        "The app has no service principal (enterprise app) in the tenant.",
        "Grant admin consent in that tenant (step 4), which creates it.",
        Some(4),
    ),
    e(
        9001023,
        "GrantTypeNotSupportedOverCommon",
        "This grant is not supported on /common or /consumers.",
        "Use the tenant ID (or /organizations) in the authority.",
        Some(1),
    ),
];

/// The entry for `code`, if the wizard knows it.
pub fn lookup(code: u32) -> Option<&'static AadstsEntry> {
    CATALOGUE
        .binary_search_by_key(&code, |e| e.code)
        .ok()
        .map(|i| &CATALOGUE[i])
}

/// The first `AADSTS<digits>` number in an error description.
pub fn extract_code(description: &str) -> Option<u32> {
    let at = description.find("AADSTS")?;
    let digits: String = description[at + 6..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// The redirect URI that AADSTS50011 quotes ("The redirect URI 'http://…' specified in the
/// request does not match …").
pub fn quoted_redirect_uri(description: &str) -> Option<String> {
    let after = &description[description.find("redirect URI")?..];
    let start = after.find('\'')? + 1;
    let len = after[start..].find('\'')?;
    Some(after[start..start + len].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_is_sorted_and_unique() {
        for pair in CATALOGUE.windows(2) {
            assert!(
                pair[0].code < pair[1].code,
                "{} before {}",
                pair[0].code,
                pair[1].code
            );
        }
    }

    #[test]
    fn codes_from_the_notes_are_all_known() {
        for code in [
            50011, 700054, 70005, 7000215, 7000222, 70002, 7000218, 700025, 700027, 50012, 50048,
            700016, 700011, 500011, 7000229, 50020, 50034, 51004, 16000, 50194, 65001, 65004,
            90094, 90095, 650056, 650057, 650052, 90099, 50105, 50076, 50079, 50074, 53003, 53000,
            50173, 700082, 70043, 90002, 90038, 900432, 9001023, 54005, 501481, 7000112, 70001,
            70021, 90072, 500113, 50057, 500212, 500213, 530035, 900971,
        ] {
            assert!(lookup(code).is_some(), "AADSTS{code} missing");
        }
        for entry in CATALOGUE {
            assert!(entry.step.is_none_or(|s| (1..=6).contains(&s)));
        }
    }

    #[test]
    fn codes_and_uris_are_extracted() {
        let d = "AADSTS50011: The redirect URI 'http://localhost:5123/entra-onboard/callback' specified in the request does not match the redirect URIs configured for the application 'x'.";
        assert_eq!(extract_code(d), Some(50011));
        assert_eq!(
            quoted_redirect_uri(d).as_deref(),
            Some("http://localhost:5123/entra-onboard/callback")
        );
        assert_eq!(extract_code("no code here"), None);
        assert_eq!(extract_code("AADSTS: nothing"), None);
    }
}
