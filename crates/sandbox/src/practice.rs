//! "Practice with the sandbox": the sandbox provider and the Graph double on ONE loopback
//! port, as the desktop app (and `scripts/run.sh`) runs it. The Graph routes accept only
//! access tokens the sandbox provider issued. The desktop starts it empty ([`Seed::Empty`]):
//! a trainee types the agent URL and lets "Create it for me" register the app, as in a
//! real tenant; the engine's tests may seed the demo app.
//!
//! Profiles point at it through their `authority` override (`http://127.0.0.1:<port>`);
//! its [`Target`](entra_onboard_core::target::Target) then sends Graph calls to `<authority>/v1.0` on the
//! same port. The port is fixed ([`PRACTICE_PORT`]) when free,
//! so practice profiles keep working across restarts.
//!
//! The provider and Graph share one registry: an app created through "Create it for me"
//! signs in; a secret removed through Graph stops working. The tenant lives in memory
//! while the app runs, so apps created in it are gone after a restart ("Reset" the
//! practice customer then).

use super::graph::GraphDouble;
use super::idp::{
    self, SANDBOX_CLIENT_ID, SANDBOX_TENANT_ID, SandboxError, SandboxHandle, SandboxInfo,
    SandboxOptions,
};
pub use super::idp::{IdpState, Seed};
use entra_onboard_core::profile::Profile;

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
    /// overrides), holding what `seed` says. Needs a Tokio runtime.
    pub async fn start(port: Option<u16>, seed: Seed) -> Result<PracticeSandbox, SandboxError> {
        match Self::start_on(port.unwrap_or(PRACTICE_PORT), seed).await {
            Ok(s) => Ok(s),
            Err(SandboxError::Bind { .. }) if port.is_none() => Self::start_on(0, seed).await,
            Err(e) => Err(e),
        }
    }

    async fn start_on(port: u16, seed: Seed) -> Result<PracticeSandbox, SandboxError> {
        let handle = idp::start(SandboxOptions {
            port: Some(port),
            pre_consented: false,
            seed,
        })
        .await?;
        let graph = handle.graph();
        // A made-up directory so "Preview the sync" has people to sort: 250 users in the
        // sandbox's own domain, some disabled, duplicated or in no group.
        graph.set_directory(super::directory::generate(
            &super::directory::DirectoryParams {
                users: 250,
                domains: vec![idp::SANDBOX_TENANT_DOMAIN.into()],
                ..Default::default()
            },
        ));
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

    /// A new practice customer: the sandbox's tenant, the login host pointing here and,
    /// when the sandbox holds the demo app, that app and an obviously fake service desk.
    /// In an empty sandbox the client ID and the agent URL are left for the trainee: the
    /// agent URL typed, the app created by "Create it for me".
    pub fn practice_profile(&self, name: &str) -> Profile {
        let mut p = Profile::new(if name.trim().is_empty() {
            "Sandbox practice"
        } else {
            name
        });
        p.authority = Some(self.base_url());
        p.tenant_id = SANDBOX_TENANT_ID.into();
        if self.provider().app(SANDBOX_CLIENT_ID).is_some() {
            p.client_id = SANDBOX_CLIENT_ID.into();
            p.agent_url = "https://practice.halopsa.com".into();
        }
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
