//! "Practice with the sandbox": the sandbox provider and the Graph double on ONE loopback
//! port, as the desktop app (and `scripts/run.sh`) runs it. The Graph routes accept only
//! access tokens the sandbox provider issued, and start with the demo app registered, so
//! the wizard's Graph buttons, the SSO test and the consent capture all work against it.
//!
//! Profiles point at it through their `authority` override (`http://127.0.0.1:<port>`);
//! its [`Target`](entra_onboard_core::target::Target) then sends Graph calls to `<authority>/v1.0` on the
//! same port. The port is fixed ([`PRACTICE_PORT`]) when free,
//! so practice profiles keep working across restarts.
//!
//! Left out: the provider and the Graph double keep separate stores, so an app created
//! through "Create it for me" in the sandbox exists in Graph but cannot sign in; practise
//! the SSO test with the demo app.

use std::sync::{Arc, OnceLock};

use serde_json::json;

use super::graph::GraphDouble;
use super::idp::{
    self, IdpState, SANDBOX_APP_NAME, SANDBOX_CLIENT_ID, SANDBOX_TENANT_ID, SandboxError,
    SandboxHandle, SandboxInfo, SandboxOptions,
};
use entra_onboard_core::profile::Profile;
use entra_onboard_core::steps::redirects::WIZARD_REDIRECT_URI;

/// The port practice profiles use when it is free.
pub const PRACTICE_PORT: u16 = 47_123;

/// A running practice sandbox.
pub struct PracticeSandbox {
    handle: SandboxHandle,
    graph: GraphDouble,
}

impl std::fmt::Debug for PracticeSandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PracticeSandbox")
            .field("base_url", &self.handle.base_url())
            .finish_non_exhaustive()
    }
}

impl PracticeSandbox {
    /// Starts it on [`PRACTICE_PORT`], or any free port when that one is taken (`port`
    /// overrides). Needs a Tokio runtime.
    pub async fn start(port: Option<u16>) -> Result<PracticeSandbox, SandboxError> {
        match Self::start_on(port.unwrap_or(PRACTICE_PORT)).await {
            Ok(s) => Ok(s),
            Err(SandboxError::Bind { .. }) if port.is_none() => Self::start_on(0).await,
            Err(e) => Err(e),
        }
    }

    async fn start_on(port: u16) -> Result<PracticeSandbox, SandboxError> {
        // The Graph routes are built before the provider exists; they check tokens through
        // the provider once it is up.
        let provider: Arc<OnceLock<IdpState>> = Arc::new(OnceLock::new());
        let p = provider.clone();
        let check = Arc::new(move |token: &str| {
            p.get()
                .is_some_and(|s| s.verify_access_token(token).is_some())
        });
        let (routes, graph) = GraphDouble::sandbox_router(SANDBOX_TENANT_ID, check, |g| {
            g.insert_application(json!({
                "appId": SANDBOX_CLIENT_ID,
                "displayName": SANDBOX_APP_NAME,
                "signInAudience": "AzureADMyOrg",
                "web": {
                    "redirectUris": [WIZARD_REDIRECT_URI],
                    "implicitGrantSettings": {"enableIdTokenIssuance": true, "enableAccessTokenIssuance": false}
                }
            }));
            g.insert_service_principal(SANDBOX_CLIENT_ID);
            // A made-up directory so "Preview the sync" has people to sort: 250 users in
            // the sandbox's own domain, some disabled, duplicated or in no group.
            g.set_directory(super::directory::generate(
                &super::directory::DirectoryParams {
                    users: 250,
                    domains: vec![idp::SANDBOX_TENANT_DOMAIN.into()],
                    ..Default::default()
                },
            ));
        });
        let handle = idp::start(SandboxOptions {
            port: Some(port),
            pre_consented: false,
            extra_routes: Some(routes),
        })
        .await?;
        let _ = provider.set(handle.state().clone());
        Ok(PracticeSandbox { handle, graph })
    }

    /// What the app shows about it (no secret value).
    pub fn info(&self) -> SandboxInfo {
        self.handle.info()
    }

    /// `http://127.0.0.1:<port>`: the `authority` of practice profiles.
    pub fn base_url(&self) -> String {
        self.handle.base_url().to_string()
    }

    /// The Graph side (seeding, the request log).
    pub fn graph(&self) -> &GraphDouble {
        &self.graph
    }

    /// The provider's state (consent, certificates).
    pub fn provider(&self) -> &IdpState {
        self.handle.state()
    }

    /// A new practice customer: the sandbox's tenant and demo app, the login host pointing
    /// here, and an obviously fake service desk.
    pub fn practice_profile(&self, name: &str) -> Profile {
        let mut p = Profile::new(if name.trim().is_empty() {
            "Sandbox practice"
        } else {
            name
        });
        p.authority = Some(self.base_url());
        p.tenant_id = SANDBOX_TENANT_ID.into();
        p.client_id = SANDBOX_CLIENT_ID.into();
        p.agent_url = "https://practice.halopsa.com".into();
        // Agents and users, with the user import: the demo app's permissions need consent,
        // so step 4 matters in practice too.
        p.sso_for = entra_onboard_core::profile::SsoFor::Both;
        p.features.import = true;
        // The practice directory's groups (see sandbox::directory).
        p.sync.technician_groups = vec![super::directory::AGENTS_GROUP.into()];
        p.sync.user_groups = vec![super::directory::PORTAL_GROUP.into()];
        p
    }
}

/// Whether `p` is a sandbox customer (its login host is a loopback provider).
pub fn is_practice(p: &Profile) -> bool {
    p.is_practice()
}
