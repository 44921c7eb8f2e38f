//! An in-memory Microsoft Graph v1.0 subset on 127.0.0.1: the routes the automation uses,
//! shaped as the Graph v1.0 documentation shows them (each route cites its page), with
//! fault injection and a request log.
//!
//! Used by the engine's tests (`crates/engine/tests/graph_*.rs`) and, as library code, by the
//! desktop sandbox. Start it with [`GraphDouble::start`], point a
//! `GraphClient` (the engine's `graph` module) at [`GraphDouble::base_url`] with [`GraphDouble::token`],
//! and inspect [`GraphDouble::requests`] and the tenant's objects afterwards.
//!
//! Faults ([`Faults`]): throttling (`429`/`503` with `Retry-After`) for the next requests;
//! replication lag (a freshly created service principal answers `404` for its next N
//! uses); failing a given request (e.g. halfway through an apply); refusing consent
//! (`403`). App-management policies are data: set the tenant default or assign a policy
//! to an app, and `addPassword` enforces them as Graph does, read by the double's own
//! [`policy`] reader (not the engine's).
//!
//! The directory side ([`super::directory`]) serves users, groups with `transitiveMembers`
//! and subscribed SKUs, paged as Graph pages them (`$top`, default 100 and at most 999;
//! `@odata.nextLink` carrying an opaque `$skiptoken`), with `$select` honoured; and the
//! Conditional Access policies and security defaults the access review reads. Those routes
//! check the caller's permissions against a knob ([`GraphDouble::set_granted_roles`]) and
//! answer Graph's `403 Authorization_RequestDenied` when none of the permissions the
//! route's documentation lists is granted.
//!
//! The applications, service principals, role assignments and grants are the sandbox's
//! one registry ([`registry`]): served beside the sign-in provider (`crate::idp::start`),
//! what these routes change is what sign-in enforces.
//!
//! Deliberately simple: `$filter` understands `<property> eq '<value>'` joined by `and`;
//! `$select` matters for `keyCredentials` (whose `key` Graph returns only then) and the
//! directory routes; an uploaded key's dates are the certificate's (a year from upload when
//! it cannot be read); the application routes are not paged; no `$expand`, `$count` or
//! `$search`; deleted objects are forgotten, not kept in deleted items.

use std::collections::VecDeque;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use chrono::{DateTime, Months, Utc};
use serde::Serialize;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use entra_onboard_core::ids::Sensitive;
use entra_onboard_core::permissions::GRAPH_APP_ID;
use entra_onboard_core::permissions::{PermissionKind, TABLE};

use crate::directory::Directory;

mod policy;
pub(crate) mod registry;
mod rollkey;

/// The token the double accepts unless told otherwise.
pub const SANDBOX_TOKEN: &str = "sandbox-graph-token";

/// Decides whether a bearer token is good (the desktop sandbox: a token its own provider
/// issued). Without one, the double accepts only [`SANDBOX_TOKEN`].
pub type TokenCheck = Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// One request as the double received it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoggedRequest {
    /// `GET`, `POST`, `PATCH`…
    pub method: String,
    /// Path below `/v1.0`, with the query percent-decoded (`/applications?$filter=appId eq '…'`).
    pub path: String,
    /// The JSON body, if any.
    pub body: Option<Value>,
}

impl LoggedRequest {
    /// True for anything but GET.
    pub fn is_write(&self) -> bool {
        self.method != "GET"
    }
}

/// One failure to inject on matching requests.
#[derive(Debug, Clone)]
pub struct FailRule {
    /// Method to match.
    pub method: String,
    /// Substring of the decoded path to match.
    pub path_contains: String,
    /// Status to answer.
    pub status: u16,
    /// Graph `error.code`.
    pub code: String,
    /// Graph `error.message`.
    pub message: String,
    /// How many matching requests fail (then it is used up).
    pub times: u32,
}

/// Fault injection knobs.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// The next requests answer these statuses (429 or 503) with `Retry-After: <secs>`.
    pub throttle: VecDeque<(u16, Option<u64>)>,
    /// A service principal created from now on answers 404 to its next N uses (GET by id,
    /// or as `principalId`/`clientId` of a grant), as if not replicated yet.
    pub sp_replication_misses: u32,
    /// An application created from now on makes `POST /servicePrincipals` for its appId
    /// answer 400 "does not reference a valid application object" N times.
    pub app_replication_misses: u32,
    /// Failures to inject.
    pub fail: Vec<FailRule>,
    /// Consent writes (appRoleAssignedTo, oauth2PermissionGrants) answer 403.
    pub deny_consent: bool,
}

/// The sandbox tenant's objects: the one registry ([`registry`]) the Graph routes change
/// and the sign-in provider enforces, plus the directory and the double's knobs.
#[derive(Default)]
pub(crate) struct Tenant {
    tenant_id: String,
    token: String,
    token_check: Option<TokenCheck>,
    applications: Vec<Value>,
    service_principals: Vec<Value>,
    app_role_assignments: Vec<Value>,
    grants: Vec<Value>,
    default_policy: Value,
    app_policies: Vec<Value>,
    /// (policy id, application object id)
    policy_assignments: Vec<(String, String)>,
    log: Vec<LoggedRequest>,
    faults: Faults,
    /// (object id, remaining misses)
    fresh_sps: Vec<(String, u32)>,
    /// (appId, remaining misses)
    fresh_apps: Vec<(String, u32)>,
    /// `http://127.0.0.1:<port>/v1.0`, for `@odata.nextLink`.
    base_url: String,
    /// Users, groups and licences.
    directory: Directory,
    /// user id → index in `directory.users`.
    user_index: std::collections::HashMap<String, usize>,
    /// group id → (nested groups as JSON, transitive user ids): computed once per group
    /// rather than per page, so paging stays linear for a 50,000-member group.
    members: std::collections::HashMap<String, Arc<GroupMembers>>,
    /// Conditional Access policies.
    ca_policies: Vec<Value>,
    /// identitySecurityDefaultsEnforcementPolicy.isEnabled.
    security_defaults: bool,
    /// Permissions the caller holds (None = every permission).
    granted_roles: Option<Vec<String>>,
    /// The tenant has no Entra ID P1/P2 (signInActivity is refused).
    non_premium: bool,
    /// Secret Values by `keyId`: Graph returns a Value once, from `addPassword`; the
    /// sign-in provider checks presented secrets against these.
    secret_values: std::collections::HashMap<String, Sensitive<String>>,
    /// (application object id, federatedIdentityCredential).
    federated: Vec<(String, Value)>,
}

/// A group's nested groups (as JSON) and transitive user ids.
type GroupMembers = (Vec<Value>, Vec<String>);

/// The registry, shared by the Graph routes and the sign-in provider.
pub(crate) type Registry = Arc<Mutex<Tenant>>;
type Shared = Registry;

/// Microsoft Graph's default app-management policy of a new tenant (not enabled).
fn default_policy() -> Value {
    json!({
        "id": "00000000-0000-0000-0000-000000000000",
        "displayName": "Default app management tenant policy",
        "description": "Default tenant policy that enforces app management restrictions on applications and service principals.",
        "isEnabled": false,
        "applicationRestrictions": {"passwordCredentials": [], "keyCredentials": []},
        "servicePrincipalRestrictions": {"passwordCredentials": [], "keyCredentials": []}
    })
}

/// A new tenant served at `origin` (`http://127.0.0.1:<port>`): Microsoft Graph's service
/// principal and, as in a CSP partner tenant, Microsoft Partner Center's. Bearer tokens are checked by `check`, or else must equal `token`.
pub(crate) fn new_registry(
    origin: &str,
    tenant_id: &str,
    token: &str,
    check: Option<TokenCheck>,
) -> Registry {
    Arc::new(Mutex::new(Tenant {
        base_url: format!("{origin}/v1.0"),
        tenant_id: tenant_id.to_string(),
        token: token.to_string(),
        token_check: check,
        service_principals: vec![
            graph_service_principal(),
            partner_center_service_principal(),
        ],
        default_policy: default_policy(),
        ..Tenant::default()
    }))
}

/// The Graph routes over `registry`, for serving beside the sign-in provider on one port:
/// `/v1.0/...` only, so the provider's pages answer every other path.
pub(crate) fn router(registry: Registry) -> Router {
    Router::new()
        .route("/v1.0", axum::routing::any(handle))
        .route("/v1.0/{*rest}", axum::routing::any(handle))
        .with_state(registry)
}

/// A running Graph double. Dropping it stops the server.
pub struct GraphDouble {
    addr: SocketAddr,
    state: Shared,
    stop: CancellationToken,
}

impl Drop for GraphDouble {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

fn uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn now() -> DateTime<Utc> {
    Utc::now()
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// A new application's service principal as Graph creates it (no app roles or scopes of
/// its own). One shape for the Graph route, the seeding helpers and the consent page.
fn new_service_principal(id: &str, app_id: &Value, display_name: &Value) -> Value {
    json!({"id": id, "appId": app_id, "displayName": display_name, "servicePrincipalType": "Application",
           "appRoleAssignmentRequired": false, "accountEnabled": true, "appRoles": [], "oauth2PermissionScopes": []})
}

/// Microsoft Graph's own service principal, with the app roles and delegated scopes of
/// the wizard's permission table (serviceprincipal resource: appRoles,
/// oauth2PermissionScopes).
fn graph_service_principal() -> Value {
    let mut roles: Vec<Value> = Vec::new();
    let mut scopes: Vec<Value> = Vec::new();
    for p in TABLE {
        match p.kind {
            PermissionKind::Role => {
                if !roles.iter().any(|r| r["id"] == p.id) {
                    roles.push(json!({"id": p.id, "value": p.value, "allowedMemberTypes": ["Application"], "isEnabled": true, "displayName": p.value, "description": p.why}));
                }
            }
            PermissionKind::Scope => {
                if !scopes.iter().any(|r| r["id"] == p.id) {
                    scopes.push(json!({"id": p.id, "value": p.value, "type": "User", "isEnabled": true, "adminConsentDisplayName": p.value}));
                }
            }
        }
    }
    json!({"id": uuid(), "appId": GRAPH_APP_ID, "displayName": "Microsoft Graph", "servicePrincipalType": "Application", "appRoleAssignmentRequired": false,
           "accountEnabled": true, "appRoles": roles, "oauth2PermissionScopes": scopes})
}

/// Microsoft Partner Center's service principal, as it is in a CSP partner tenant: the API
/// the Partner Center app's one permission (`user_impersonation`, delegated) is on, so its
/// `requiredResourceAccess` resolves and consent can be granted on it. Ids from the
/// wizard's permission data (Microsoft's secure application model script).
fn partner_center_service_principal() -> Value {
    let p = &entra_onboard_core::permissions::PARTNER_CENTER_PERMISSION;
    json!({"id": uuid(), "appId": p.resource_app_id, "displayName": "Microsoft Partner Center", "servicePrincipalType": "Application",
           "appRoleAssignmentRequired": false, "accountEnabled": true, "appRoles": [],
           "oauth2PermissionScopes": [{"id": p.id, "value": p.value, "type": "Admin", "isEnabled": true, "adminConsentDisplayName": "Access Partner Center"}]})
}

impl GraphDouble {
    /// Starts an empty sandbox tenant (the service principals of Microsoft Graph and Microsoft Partner Center only) on an
    /// ephemeral 127.0.0.1 port, accepting the bearer token [`SANDBOX_TOKEN`].
    pub async fn start() -> std::io::Result<GraphDouble> {
        let listener =
            tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await?;
        let addr = listener.local_addr()?;
        let state = new_registry(&format!("http://{addr}"), &uuid(), SANDBOX_TOKEN, None);
        let stop = CancellationToken::new();
        let app = Router::new()
            .fallback(handle)
            .with_state(state.clone())
            // Its own origin only, no cross-origin posts, as every sandbox server.
            .layer(axum::middleware::from_fn_with_state(
                addr.port(),
                super::guard::guard,
            ));
        let s = stop.clone();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move { s.cancelled().await })
                .await;
        });
        Ok(GraphDouble { addr, state, stop })
    }

    /// A handle on the registry of a sandbox served elsewhere (the sign-in provider's
    /// server at `addr`), for seeding and reading; it serves nothing itself.
    pub(crate) fn attached(addr: SocketAddr, registry: Registry) -> GraphDouble {
        GraphDouble {
            addr,
            state: registry,
            stop: CancellationToken::new(),
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut Tenant) -> R) -> R {
        let mut t = self.state.lock().expect("graph double state");
        f(&mut t)
    }

    /// `http://127.0.0.1:<port>/v1.0`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1.0", self.addr)
    }

    /// `http://127.0.0.1:<port>`: what a profile's `authority` names to practise against
    /// this double (its Graph base is that origin's `/v1.0`).
    pub fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The practice [`Target`](entra_onboard_core::target::Target) of this double, for the
    /// engine's `GraphClient` in tests.
    pub fn target(&self) -> entra_onboard_core::target::Target {
        entra_onboard_core::target::Target::practice(&self.origin())
            .unwrap_or_else(|e| unreachable!("the double listens on 127.0.0.1: {e}"))
    }

    /// The bearer token it accepts.
    pub fn token(&self) -> String {
        self.with(|t| t.token.clone())
    }

    /// The sandbox tenant's id.
    pub fn tenant_id(&self) -> String {
        self.with(|t| t.tenant_id.clone())
    }

    /// Every request received, in order.
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.with(|t| t.log.clone())
    }

    /// The writes received, in order.
    pub fn writes(&self) -> Vec<LoggedRequest> {
        self.requests()
            .into_iter()
            .filter(LoggedRequest::is_write)
            .collect()
    }

    /// Forgets the request log.
    pub fn clear_log(&self) {
        self.with(|t| t.log.clear());
    }

    /// Changes the fault knobs.
    pub fn faults(&self, f: impl FnOnce(&mut Faults)) {
        self.with(|t| f(&mut t.faults));
    }

    /// Adds an application as if created earlier; missing ids and defaults are filled in.
    /// Returns it as stored.
    pub fn insert_application(&self, app: Value) -> Value {
        let app = new_application(app, now());
        self.with(|t| t.applications.push(app.clone()));
        app
    }

    /// Adds the service principal of `app_id`. Returns it.
    pub fn insert_service_principal(&self, app_id: &str) -> Value {
        self.with(|t| {
            let name = t
                .applications
                .iter()
                .find(|a| a["appId"] == app_id)
                .and_then(|a| a["displayName"].as_str())
                .unwrap_or_default()
                .to_string();
            let sp = new_service_principal(&uuid(), &json!(app_id), &json!(name));
            t.service_principals.push(sp.clone());
            sp
        })
    }

    /// Grants an application permission (appRoleAssignment) to `sp_id` on Microsoft Graph.
    pub fn insert_app_role_assignment(&self, sp_id: &str, app_role_id: &str) {
        self.with(|t| {
            let graph = graph_sp_id(t);
            t.app_role_assignments.push(json!({"id": uuid(), "principalId": sp_id, "resourceId": graph, "appRoleId": app_role_id, "principalType": "ServicePrincipal", "createdDateTime": ts(now())}));
        });
    }

    /// Grants delegated `scope` for all users to `sp_id` on Microsoft Graph.
    pub fn insert_grant(&self, sp_id: &str, scope: &str) {
        self.with(|t| {
            let graph = graph_sp_id(t);
            t.grants.push(json!({"id": uuid(), "clientId": sp_id, "consentType": "AllPrincipals", "principalId": null, "resourceId": graph, "scope": scope}));
        });
    }

    /// Replaces the tenant's default app-management policy.
    pub fn set_default_policy(&self, policy: Value) {
        self.with(|t| t.default_policy = policy);
    }

    /// Turns on the tenant default "block password addition" for apps created after 2020
    /// (what new tenants may have).
    pub fn block_password_addition(&self) {
        self.set_default_policy(json!({
            "id": "00000000-0000-0000-0000-000000000000",
            "displayName": "Default app management tenant policy",
            "isEnabled": true,
            "applicationRestrictions": {"passwordCredentials": [
                {"restrictionType": "passwordAddition", "state": "enabled", "maxLifetime": null, "restrictForAppsCreatedAfterDateTime": "2020-01-01T00:00:00Z"}
            ], "keyCredentials": []}
        }));
    }

    /// Creates an appManagementPolicy and assigns it to the application `object_id`.
    pub fn assign_app_policy(&self, object_id: &str, policy: Value) {
        self.with(|t| {
            let mut p = policy;
            if p["id"].is_null() {
                p["id"] = json!(uuid());
            }
            let id = p["id"].as_str().unwrap_or_default().to_string();
            t.app_policies.push(p);
            t.policy_assignments.push((id, object_id.to_string()));
        });
    }

    /// Every application.
    pub fn applications(&self) -> Vec<Value> {
        self.with(|t| t.applications.clone())
    }

    /// Every service principal (Microsoft Graph's included).
    pub fn service_principals(&self) -> Vec<Value> {
        self.with(|t| t.service_principals.clone())
    }

    /// Every appRoleAssignment.
    pub fn app_role_assignments(&self) -> Vec<Value> {
        self.with(|t| t.app_role_assignments.clone())
    }

    /// Every oauth2PermissionGrant.
    pub fn grants(&self) -> Vec<Value> {
        self.with(|t| t.grants.clone())
    }

    /// Replaces the directory (users, groups, licences).
    pub fn set_directory(&self, directory: Directory) {
        self.with(|t| {
            t.user_index = directory
                .users
                .iter()
                .enumerate()
                .map(|(i, u)| (u.id.clone(), i))
                .collect();
            t.directory = directory;
            t.members.clear();
        });
    }

    /// The permissions (values such as `User.Read.All`) the caller holds on the directory,
    /// policy and licence routes; `None` (the default) grants everything.
    pub fn set_granted_roles(&self, roles: Option<&[&str]>) {
        self.with(|t| t.granted_roles = roles.map(|r| r.iter().map(|s| s.to_string()).collect()));
    }

    /// Whether the tenant has Entra ID P1/P2 (default yes); without it `signInActivity`
    /// is refused as Graph refuses it.
    pub fn set_premium(&self, premium: bool) {
        self.with(|t| t.non_premium = !premium);
    }

    /// Replaces the Conditional Access policies (conditionalAccessPolicy resources).
    pub fn set_conditional_access_policies(&self, policies: Vec<Value>) {
        self.with(|t| t.ca_policies = policies);
    }

    /// Turns security defaults on or off.
    pub fn set_security_defaults(&self, enabled: bool) {
        self.with(|t| t.security_defaults = enabled);
    }

    /// Edits the service principal of `app_id` in place (e.g. `appRoleAssignmentRequired`).
    pub fn edit_service_principal(&self, app_id: &str, f: impl FnOnce(&mut Value)) {
        self.with(|t| {
            if let Some(s) = t
                .service_principals
                .iter_mut()
                .find(|s| s["appId"] == app_id)
            {
                f(s);
            }
        });
    }

    /// Edits an application in place (e.g. to age a secret).
    pub fn edit_application(&self, app_id: &str, f: impl FnOnce(&mut Value)) {
        self.with(|t| {
            if let Some(a) = t.applications.iter_mut().find(|a| a["appId"] == app_id) {
                f(a);
            }
        });
    }
}

fn graph_sp_id(t: &Tenant) -> String {
    t.service_principals
        .iter()
        .find(|s| s["appId"] == GRAPH_APP_ID)
        .and_then(|s| s["id"].as_str())
        .unwrap_or_default()
        .to_string()
}

/// An application object with Graph's defaults (application resource type:
/// signInAudience defaults to AzureADandPersonalMicrosoftAccount; empty collections).
fn new_application(mut input: Value, created: DateTime<Utc>) -> Value {
    let mut app = json!({
        "id": uuid(),
        "appId": uuid(),
        "displayName": null,
        "createdDateTime": ts(created),
        "signInAudience": "AzureADandPersonalMicrosoftAccount",
        "publisherDomain": "sandbox.onmicrosoft.example",
        "identifierUris": [],
        "web": {"homePageUrl": null, "logoutUrl": null, "redirectUris": [],
                "implicitGrantSettings": {"enableAccessTokenIssuance": false, "enableIdTokenIssuance": false}},
        "requiredResourceAccess": [],
        "passwordCredentials": [],
        "keyCredentials": [],
    });
    if let Some(obj) = input.as_object_mut() {
        let web = obj.remove("web");
        for (k, v) in obj.iter() {
            app[k.as_str()] = v.clone();
        }
        if let Some(w) = web {
            merge_web(&mut app, &w);
        }
    }
    app
}

fn merge_web(app: &mut Value, web: &Value) {
    for (k, v) in web.as_object().into_iter().flatten() {
        if k == "implicitGrantSettings" {
            for (ik, iv) in v.as_object().into_iter().flatten() {
                app["web"]["implicitGrantSettings"][ik.as_str()] = iv.clone();
            }
        } else {
            app["web"][k.as_str()] = v.clone();
        }
    }
}

/// A Graph error response (https://learn.microsoft.com/graph/errors).
fn error(status: u16, code: &str, message: &str) -> Response {
    let body = json!({"error": {"code": code, "message": message, "innerError": {
        "date": Utc::now().format("%Y-%m-%dT%H:%M:%S").to_string(),
        "request-id": uuid(), "client-request-id": uuid()}}});
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        [("content-type", "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn ok(status: u16, body: Value) -> Response {
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
        [("content-type", "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

fn collection(context: &str, items: Vec<Value>) -> Response {
    ok(
        200,
        json!({"@odata.context": format!("https://graph.microsoft.com/v1.0/$metadata#{context}"), "value": items}),
    )
}

fn not_found(id: &str) -> Response {
    error(
        404,
        "Request_ResourceNotFound",
        &format!(
            "Resource '{id}' does not exist or one of its queried reference-property objects are not present."
        ),
    )
}

/// `prop eq 'value' [and …]` → pairs. Quotes doubled inside values are unescaped.
fn parse_filter(f: &str) -> Option<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut rest = f.trim();
    loop {
        let (prop, after) = rest.split_once(" eq ")?;
        let after = after.trim_start().strip_prefix('\'')?;
        let mut value = String::new();
        let mut chars = after.char_indices().peekable();
        let mut end = None;
        while let Some((i, c)) = chars.next() {
            if c == '\'' {
                if chars.peek().map(|(_, n)| *n) == Some('\'') {
                    value.push('\'');
                    chars.next();
                } else {
                    end = Some(i + 1);
                    break;
                }
            } else {
                value.push(c);
            }
        }
        out.push((prop.trim().to_string(), value));
        let tail = after[end?..].trim();
        if tail.is_empty() {
            return Some(out);
        }
        rest = tail.strip_prefix("and ")?.trim();
    }
}

fn matches(item: &Value, filter: &[(String, String)]) -> bool {
    filter.iter().all(|(k, v)| {
        item[k.as_str()]
            .as_str()
            .is_some_and(|x| x.eq_ignore_ascii_case(v))
    })
}

fn query_param(query: &str, name: &str) -> Option<String> {
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Permissions that allow listing users (user-list: User.Read.All least privileged for
/// applications; the broader ones also work).
const USER_READ: &[&str] = &[
    "User.Read.All",
    "User.ReadBasic.All",
    "User.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
];

/// Permissions that allow reading groups and their members (group-list-transitivemembers).
const GROUP_READ: &[&str] = &[
    "GroupMember.Read.All",
    "Group.Read.All",
    "GroupMember.ReadWrite.All",
    "Group.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
];

/// Graph's answer when the token holds none of `any_of`
/// (https://learn.microsoft.com/graph/errors: 403 Authorization_RequestDenied).
fn denied(t: &Tenant, any_of: &[&str]) -> Option<Response> {
    let granted = t.granted_roles.as_ref()?;
    if any_of.iter().any(|p| granted.iter().any(|g| g == p)) {
        return None;
    }
    Some(error(
        403,
        "Authorization_RequestDenied",
        "Insufficient privileges to complete the operation.",
    ))
}

fn selected(query: &str) -> Vec<String> {
    query_param(query, "$select")
        .map(|s| {
            s.split(',')
                .map(|x| x.trim().to_string())
                .filter(|x| !x.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

fn group_json(g: &crate::directory::DirGroup) -> Value {
    json!({"id": g.id, "displayName": g.display_name, "securityEnabled": true, "mailEnabled": false, "groupTypes": []})
}

/// `(offset, page size)` from `$skiptoken` and `$top` (default 100, at most 999, as the
/// user-list page documents).
fn window(query: &str) -> Result<(usize, usize), Box<Response>> {
    let top = match query_param(query, "$top") {
        None => 100,
        Some(v) => match v.trim().parse::<usize>() {
            Ok(n) if (1..=999).contains(&n) => n,
            _ => {
                return Err(Box::new(error(
                    400,
                    "Request_BadRequest",
                    &format!(
                        "Invalid page size specified: '{v}'. Must be between 1 and 999 inclusive."
                    ),
                )));
            }
        },
    };
    let offset = match query_param(query, "$skiptoken") {
        None => 0,
        Some(tok) => match tok
            .strip_prefix("RFNwdAI")
            .and_then(|b| {
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(b)
                    .ok()
            })
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| s.parse::<usize>().ok())
        {
            Some(o) => o,
            None => {
                return Err(Box::new(error(
                    400,
                    "Request_BadRequest",
                    "The specified page token value has expired and can no longer be included in your request.",
                )));
            }
        },
    };
    Ok((offset, top))
}

/// A collection page, with `@odata.nextLink` (every query option kept, `$skiptoken`
/// replaced) when more remain.
fn paged(
    base: &str,
    path: &str,
    context: &str,
    query: &str,
    items: Vec<Value>,
    end: usize,
    total: usize,
) -> Response {
    let mut body = json!({"@odata.context": format!("https://graph.microsoft.com/v1.0/$metadata#{context}"), "value": items});
    if end < total {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
            if k != "$skiptoken" {
                q.append_pair(&k, &v);
            }
        }
        let token = format!(
            "RFNwdAI{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(end.to_string())
        );
        q.append_pair("$skiptoken", &token);
        body["@odata.nextLink"] = json!(format!("{base}{path}?{}", q.finish()));
    }
    ok(200, body)
}

/// Graph leaves `key` out of keyCredentials unless `$select=keyCredentials` is asked for
/// on a single object (keycredential resource type).
fn without_keys(app: &Value) -> Value {
    let mut a = app.clone();
    if let Some(keys) = a["keyCredentials"].as_array_mut() {
        for k in keys {
            k["key"] = Value::Null;
        }
    }
    if let Some(pw) = a["passwordCredentials"].as_array_mut() {
        for p in pw {
            p["secretText"] = Value::Null;
        }
    }
    a
}

async fn handle(
    State(state): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let raw_path = uri.path().to_string();
    let query = uri.query().unwrap_or_default().to_string();
    let decoded_query = percent_encoding::percent_decode_str(&query)
        .decode_utf8_lossy()
        .to_string();
    let json_body: Option<Value> = if body.is_empty() {
        None
    } else {
        match serde_json::from_slice(&body) {
            Ok(v) => Some(v),
            Err(_) => return error(400, "BadRequest", "Unable to read JSON request payload."),
        }
    };
    let Some(path) = raw_path.strip_prefix("/v1.0") else {
        return error(404, "NotFound", "Only /v1.0 is served by this sandbox.");
    };
    let path = path.to_string();
    let mut t = state.lock().expect("graph double state");
    t.log.push(LoggedRequest {
        method: method.to_string(),
        path: if decoded_query.is_empty() {
            path.clone()
        } else {
            format!("{path}?{decoded_query}")
        },
        body: json_body.clone(),
    });
    let presented = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let good = match (&t.token_check, presented) {
        (Some(check), Some(token)) => check(token),
        (None, Some(token)) => token == t.token,
        (_, None) => false,
    };
    if !good {
        return error(
            401,
            "InvalidAuthenticationToken",
            "Access token validation failure. Invalid audience.",
        );
    }
    // Throttling (https://learn.microsoft.com/graph/throttling).
    if let Some((status, after)) = t.faults.throttle.pop_front() {
        let mut r = error(
            status,
            if status == 429 {
                "TooManyRequests"
            } else {
                "ServiceUnavailable"
            },
            "Too many requests. Retry after the time in the Retry-After header.",
        );
        if let Some(secs) = after
            && let Ok(v) = secs.to_string().parse()
        {
            r.headers_mut().insert("retry-after", v);
        }
        return r;
    }
    let m = method.as_str().to_string();
    let full = if decoded_query.is_empty() {
        path.clone()
    } else {
        format!("{path}?{decoded_query}")
    };
    if let Some(rule) = t
        .faults
        .fail
        .iter_mut()
        .find(|r| r.times > 0 && r.method == m && full.contains(&r.path_contains))
    {
        rule.times -= 1;
        let (s, c, msg) = (rule.status, rule.code.clone(), rule.message.clone());
        return error(s, &c, &msg);
    }
    // Replication lag of a fresh service principal.
    let referenced: Vec<String> = {
        let mut v = vec![path.clone()];
        if let Some(b) = &json_body {
            for k in ["principalId", "clientId"] {
                if let Some(s) = b[k].as_str() {
                    v.push(s.to_string());
                }
            }
        }
        v
    };
    if let Some(fresh) = t
        .fresh_sps
        .iter_mut()
        .find(|(id, n)| *n > 0 && referenced.iter().any(|r| r.contains(id.as_str())))
    {
        fresh.1 -= 1;
        let id = fresh.0.clone();
        return not_found(&id);
    }
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    route(&mut t, &m, &segs, &decoded_query, json_body)
}

/// One Graph request as the routes see it.
struct Request<'a> {
    method: &'a str,
    segs: &'a [&'a str],
    query: &'a str,
    /// The JSON body (`null` without one).
    body: Value,
    /// The `$filter`, parsed: `property eq 'value'` clauses joined by `and`.
    filter: Option<Vec<(String, String)>>,
}

/// Routes one request to the group of Graph routes its first segment names, after refusing
/// a `$filter` the double cannot evaluate.
fn route(t: &mut Tenant, m: &str, segs: &[&str], query: &str, body: Option<Value>) -> Response {
    let filter = query_param(query, "$filter");
    let filter = match filter.as_deref().map(parse_filter) {
        Some(None) => {
            return error(
                400,
                "BadRequest",
                "Invalid filter clause: only 'property eq 'value'' joined by 'and' is supported here.",
            );
        }
        Some(Some(f)) => Some(f),
        None => None,
    };
    let r = Request {
        method: m,
        segs,
        query,
        body: body.unwrap_or(Value::Null),
        filter,
    };
    match segs.first().copied().unwrap_or_default() {
        "applications" => applications(t, r),
        "servicePrincipals" => service_principals(t, r),
        "oauth2PermissionGrants" => permission_grants(t, r),
        "policies" | "identity" => policies(t, r),
        "users" | "groups" | "subscribedSkus" => directory(t, r),
        _ => unknown_segment(segs),
    }
}

/// Graph's answer to a path it does not serve.
fn unknown_segment(segs: &[&str]) -> Response {
    error(
        400,
        "BadRequest",
        &format!(
            "Resource not found for the segment '{}'.",
            segs.last().copied().unwrap_or_default()
        ),
    )
}

/// `/applications`: list, create, get, update, add a password, list its policies.
fn applications(t: &mut Tenant, r: Request) -> Response {
    let Request {
        method,
        segs,
        query,
        body,
        filter,
    } = r;
    match (method, segs) {
        // https://learn.microsoft.com/graph/api/application-list?view=graph-rest-1.0
        ("GET", ["applications"]) => {
            let items = t
                .applications
                .iter()
                .filter(|a| filter.as_ref().is_none_or(|f| matches(a, f)))
                .map(without_keys)
                .collect();
            collection("applications", items)
        }
        // https://learn.microsoft.com/graph/api/application-post-applications?view=graph-rest-1.0
        ("POST", ["applications"]) => {
            if body["displayName"].as_str().is_none_or(str::is_empty) {
                return error(
                    400,
                    "Request_BadRequest",
                    "Property 'displayName' is required.",
                );
            }
            let app = new_application(body, now());
            if t.faults.app_replication_misses > 0 {
                let misses = t.faults.app_replication_misses;
                t.fresh_apps
                    .push((app["appId"].as_str().unwrap_or_default().into(), misses));
            }
            t.applications.push(app.clone());
            let mut out = without_keys(&app);
            out["@odata.context"] =
                json!("https://graph.microsoft.com/v1.0/$metadata#applications/$entity");
            ok(201, out)
        }
        // https://learn.microsoft.com/graph/api/application-get?view=graph-rest-1.0
        ("GET", ["applications", id]) => match t.applications.iter().find(|a| a["id"] == *id) {
            None => not_found(id),
            Some(a) => {
                let select = query_param(query, "$select").unwrap_or_default();
                if select.split(',').any(|s| s.trim() == "keyCredentials") {
                    ok(
                        200,
                        json!({"id": a["id"], "keyCredentials": a["keyCredentials"]}),
                    )
                } else {
                    ok(200, without_keys(a))
                }
            }
        },
        // https://learn.microsoft.com/graph/api/application-update?view=graph-rest-1.0
        ("PATCH", ["applications", id]) => update_application(t, id, body),
        // https://learn.microsoft.com/graph/api/application-addpassword?view=graph-rest-1.0
        ("POST", ["applications", id, "addPassword"]) => add_password(t, id, body),
        // https://learn.microsoft.com/graph/api/application-removepassword?view=graph-rest-1.0
        ("POST", ["applications", id, "removePassword"]) => remove_password(t, id, &body),
        // https://learn.microsoft.com/graph/api/application-addkey?view=graph-rest-1.0
        ("POST", ["applications", id, "addKey"]) => rollkey::add_key(t, id, &body),
        // https://learn.microsoft.com/graph/api/application-removekey?view=graph-rest-1.0
        ("POST", ["applications", id, "removeKey"]) => rollkey::remove_key(t, id, &body),
        // https://learn.microsoft.com/graph/api/application-delete?view=graph-rest-1.0
        ("DELETE", ["applications", id]) => delete_application(t, id),
        // https://learn.microsoft.com/graph/api/application-list-federatedidentitycredentials?view=graph-rest-1.0
        ("GET", ["applications", id, "federatedIdentityCredentials"]) => {
            if !t.applications.iter().any(|a| a["id"] == *id) {
                return not_found(id);
            }
            let items = t
                .federated
                .iter()
                .filter(|(app, _)| app == id)
                .map(|(_, f)| f.clone())
                .collect();
            collection("applications('id')/federatedIdentityCredentials", items)
        }
        // https://learn.microsoft.com/graph/api/application-post-federatedidentitycredentials?view=graph-rest-1.0
        ("POST", ["applications", id, "federatedIdentityCredentials"]) => {
            add_federated(t, id, body)
        }
        // https://learn.microsoft.com/graph/api/federatedidentitycredential-delete?view=graph-rest-1.0
        ("DELETE", ["applications", id, "federatedIdentityCredentials", fid]) => {
            let before = t.federated.len();
            t.federated
                .retain(|(app, f)| !(app == id && (f["id"] == *fid || f["name"] == *fid)));
            if t.federated.len() == before {
                return not_found(fid);
            }
            no_content()
        }
        // https://learn.microsoft.com/graph/api/application-list-appmanagementpolicies?view=graph-rest-1.0
        ("GET", ["applications", id, "appManagementPolicies"]) => {
            if !t.applications.iter().any(|a| a["id"] == *id) {
                return not_found(id);
            }
            let items = t
                .policy_assignments
                .iter()
                .filter(|(_, app)| app == id)
                .filter_map(|(pid, _)| t.app_policies.iter().find(|p| p["id"] == *pid).cloned())
                .collect();
            collection("appManagementPolicies", items)
        }
        _ => unknown_segment(segs),
    }
}

/// `/servicePrincipals`: list, create, get, and the app role assignments both ways.
fn service_principals(t: &mut Tenant, r: Request) -> Response {
    let Request {
        method,
        segs,
        body,
        filter,
        ..
    } = r;
    match (method, segs) {
        // https://learn.microsoft.com/graph/api/serviceprincipal-list?view=graph-rest-1.0
        ("GET", ["servicePrincipals"]) => {
            let items = t
                .service_principals
                .iter()
                .filter(|s| filter.as_ref().is_none_or(|f| matches(s, f)))
                .cloned()
                .collect();
            collection("servicePrincipals", items)
        }
        // https://learn.microsoft.com/graph/api/serviceprincipal-post-serviceprincipals?view=graph-rest-1.0
        ("POST", ["servicePrincipals"]) => create_service_principal(t, body),
        // https://learn.microsoft.com/graph/api/serviceprincipal-get?view=graph-rest-1.0
        ("GET", ["servicePrincipals", id]) => {
            match t.service_principals.iter().find(|s| s["id"] == *id) {
                Some(s) => ok(200, s.clone()),
                None => not_found(id),
            }
        }
        // https://learn.microsoft.com/graph/api/serviceprincipal-list-approleassignments?view=graph-rest-1.0
        ("GET", ["servicePrincipals", id, "appRoleAssignments"]) => {
            role_assignments(t, id, "principalId")
        }
        // https://learn.microsoft.com/graph/api/serviceprincipal-list-approleassignedto?view=graph-rest-1.0
        ("GET", ["servicePrincipals", id, "appRoleAssignedTo"]) => {
            role_assignments(t, id, "resourceId")
        }
        // https://learn.microsoft.com/graph/api/serviceprincipal-post-approleassignedto?view=graph-rest-1.0
        ("POST", ["servicePrincipals", id, "appRoleAssignedTo"]) => assign_app_role(t, id, body),
        // https://learn.microsoft.com/graph/api/serviceprincipal-delete-approleassignedto?view=graph-rest-1.0
        ("DELETE", ["servicePrincipals", id, "appRoleAssignedTo", aid]) => {
            let before = t.app_role_assignments.len();
            t.app_role_assignments
                .retain(|a| !(a["resourceId"] == *id && a["id"] == *aid));
            if t.app_role_assignments.len() == before {
                return not_found(aid);
            }
            no_content()
        }
        _ => unknown_segment(segs),
    }
}

/// The app role assignments where service principal `id` is the `side` (`principalId`:
/// the roles it was granted; `resourceId`: the roles granted on its API).
fn role_assignments(t: &Tenant, id: &str, side: &str) -> Response {
    if !t.service_principals.iter().any(|s| s["id"] == *id) {
        return not_found(id);
    }
    let items = t
        .app_role_assignments
        .iter()
        .filter(|a| a[side] == *id)
        .cloned()
        .collect();
    collection("appRoleAssignments", items)
}

/// `/oauth2PermissionGrants`: list, create, update the scopes.
fn permission_grants(t: &mut Tenant, r: Request) -> Response {
    let Request {
        method,
        segs,
        body,
        filter,
        ..
    } = r;
    match (method, segs) {
        // https://learn.microsoft.com/graph/api/oauth2permissiongrant-list?view=graph-rest-1.0
        ("GET", ["oauth2PermissionGrants"]) => {
            let items = t
                .grants
                .iter()
                .filter(|g| filter.as_ref().is_none_or(|f| matches(g, f)))
                .cloned()
                .collect();
            collection("oauth2PermissionGrants", items)
        }
        // https://learn.microsoft.com/graph/api/oauth2permissiongrant-post-oauth2permissiongrants?view=graph-rest-1.0
        ("POST", ["oauth2PermissionGrants"]) => create_grant(t, body),
        // https://learn.microsoft.com/graph/api/oauth2permissiongrant-update?view=graph-rest-1.0
        ("PATCH", ["oauth2PermissionGrants", id]) => {
            if t.faults.deny_consent {
                return error(
                    403,
                    "Authorization_RequestDenied",
                    "Insufficient privileges to complete the operation.",
                );
            }
            let Some(g) = t.grants.iter_mut().find(|g| g["id"] == *id) else {
                return not_found(id);
            };
            if let Some(s) = body["scope"].as_str() {
                g["scope"] = json!(s);
            }
            no_content()
        }
        // https://learn.microsoft.com/graph/api/oauth2permissiongrant-delete?view=graph-rest-1.0
        ("DELETE", ["oauth2PermissionGrants", id]) => {
            let before = t.grants.len();
            t.grants.retain(|g| g["id"] != *id);
            if t.grants.len() == before {
                return not_found(id);
            }
            no_content()
        }
        _ => unknown_segment(segs),
    }
}

/// `/policies` and `/identity`: app management policies, Conditional Access, security
/// defaults.
fn policies(t: &mut Tenant, r: Request) -> Response {
    let Request { method, segs, .. } = r;
    match (method, segs) {
        // https://learn.microsoft.com/graph/api/tenantappmanagementpolicy-get?view=graph-rest-1.0
        ("GET", ["policies", "defaultAppManagementPolicy"]) => {
            let mut p = t.default_policy.clone();
            p["@odata.context"] = json!(
                "https://graph.microsoft.com/v1.0/$metadata#policies/defaultAppManagementPolicy/$entity"
            );
            ok(200, p)
        }
        // https://learn.microsoft.com/graph/api/appmanagementpolicy-list?view=graph-rest-1.0
        ("GET", ["policies", "appManagementPolicies"]) => {
            collection("policies/appManagementPolicies", t.app_policies.clone())
        }
        // https://learn.microsoft.com/graph/api/conditionalaccessroot-list-policies?view=graph-rest-1.0
        ("GET", ["identity", "conditionalAccess", "policies"]) => {
            if let Some(r) = denied(t, &["Policy.Read.All", "Policy.Read.ConditionalAccess"]) {
                return r;
            }
            collection("identity/conditionalAccess/policies", t.ca_policies.clone())
        }
        // https://learn.microsoft.com/graph/api/identitysecuritydefaultsenforcementpolicy-get?view=graph-rest-1.0
        ("GET", ["policies", "identitySecurityDefaultsEnforcementPolicy"]) => {
            if let Some(r) = denied(t, &["Policy.Read.All"]) {
                return r;
            }
            ok(
                200,
                json!({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#policies/identitySecurityDefaultsEnforcementPolicy/$entity",
                       "id": "00000000-0000-0000-0000-000000000005", "displayName": "Security Defaults",
                       "description": "Security defaults is a set of basic identity security mechanisms recommended by Microsoft.",
                       "isEnabled": t.security_defaults}),
            )
        }
        _ => unknown_segment(segs),
    }
}

/// The directory: `/users`, `/groups` (and their transitive members),
/// `/subscribedSkus`.
fn directory(t: &mut Tenant, r: Request) -> Response {
    let Request {
        method,
        segs,
        query,
        filter,
        ..
    } = r;
    match (method, segs) {
        // https://learn.microsoft.com/graph/api/user-list?view=graph-rest-1.0
        ("GET", ["users"]) => list_users(t, query),
        // https://learn.microsoft.com/graph/api/group-list?view=graph-rest-1.0
        ("GET", ["groups"]) => {
            if let Some(r) = denied(t, GROUP_READ) {
                return r;
            }
            let items = t
                .directory
                .groups
                .iter()
                .map(group_json)
                .filter(|g| filter.as_ref().is_none_or(|f| matches(g, f)))
                .collect();
            collection("groups", items)
        }
        // https://learn.microsoft.com/graph/api/group-get?view=graph-rest-1.0
        ("GET", ["groups", id]) => {
            if let Some(r) = denied(t, GROUP_READ) {
                return r;
            }
            match t.directory.groups.iter().find(|g| g.id == *id) {
                Some(g) => ok(200, group_json(g)),
                None => not_found(id),
            }
        }
        // https://learn.microsoft.com/graph/api/group-list-transitivemembers?view=graph-rest-1.0
        ("GET", ["groups", id, "transitiveMembers"]) => transitive_members(t, id, query),
        // https://learn.microsoft.com/graph/api/subscribedsku-list?view=graph-rest-1.0
        ("GET", ["subscribedSkus"]) => subscribed_skus(t),
        _ => unknown_segment(segs),
    }
}

/// Updates an application: `web` merged, `keyCredentials` replaced whole (each needs its
/// `key`), `id`/`appId` read-only.
/// <https://learn.microsoft.com/graph/api/application-update?view=graph-rest-1.0>
fn update_application(t: &mut Tenant, id: &str, body: Value) -> Response {
    let Some(a) = t.applications.iter_mut().find(|a| a["id"] == id) else {
        return not_found(id);
    };
    for (k, v) in body.as_object().into_iter().flatten() {
        match k.as_str() {
            "web" => merge_web(a, v),
            "keyCredentials" => {
                let mut keys = Vec::new();
                for kc in v.as_array().into_iter().flatten() {
                    let mut kc = kc.clone();
                    if kc["key"].is_null() {
                        return error(
                            400,
                            "Request_BadRequest",
                            "Key credential 'key' is required when updating keyCredentials.",
                        );
                    }
                    if kc["keyId"].is_null() {
                        kc["keyId"] = json!(uuid());
                    }
                    if kc["startDateTime"].is_null() {
                        kc["startDateTime"] = json!(ts(now()));
                    }
                    if kc["endDateTime"].is_null() {
                        // The certificate's own expiry, as Graph takes it; a year from
                        // now for a key the double cannot read.
                        let not_after = kc["key"]
                            .as_str()
                            .and_then(|k| base64::engine::general_purpose::STANDARD.decode(k).ok())
                            .and_then(|der| crate::idp::keys::RegisteredCert::parse(&der).ok())
                            .map(|c| c.not_after);
                        kc["endDateTime"] = json!(ts(not_after.unwrap_or_else(|| now()
                            .checked_add_months(Months::new(12))
                            .unwrap_or(now()))));
                    }
                    keys.push(kc);
                }
                a["keyCredentials"] = Value::Array(keys);
            }
            "id" | "appId" => {
                return error(
                    400,
                    "Request_BadRequest",
                    &format!("Property '{k}' is read-only."),
                );
            }
            "api" => {
                if let Some(msg) = unknown_preauthorized_scope(a, v) {
                    return error(400, "Request_BadRequest", &msg);
                }
                a["api"] = v.clone();
            }
            _ => a[k.as_str()] = v.clone(),
        }
    }
    no_content()
}

/// A pre-authorised client may only name a delegated scope the application already has
/// (preAuthorizedApplication: `delegatedPermissionIds` are ids of the app's
/// `oauth2PermissionScopes`). The double is conservative: the scope must exist *before* the
/// request, which is why `apply --teams-tab` adds the scope and the pre-authorisation in two
/// requests. <https://learn.microsoft.com/graph/api/resources/preauthorizedapplication?view=graph-rest-1.0>
fn unknown_preauthorized_scope(app: &Value, api: &Value) -> Option<String> {
    let known: Vec<&str> = app["api"]["oauth2PermissionScopes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["id"].as_str())
        .collect();
    api["preAuthorizedApplications"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|p| p["delegatedPermissionIds"].as_array().into_iter().flatten())
        .filter_map(Value::as_str)
        .find(|id| !known.contains(id))
        .map(|id| format!("Permission {id} referenced by preAuthorizedApplications does not exist on the application."))
}

/// Adds a client secret, unless the tenant's or the app's management policy refuses it
/// (checked by the double's own policy reader).
/// <https://learn.microsoft.com/graph/api/application-addpassword?view=graph-rest-1.0>
fn add_password(t: &mut Tenant, id: &str, body: Value) -> Response {
    let Some(idx) = t.applications.iter().position(|a| a["id"] == id) else {
        return not_found(id);
    };
    let created = t.applications[idx]["createdDateTime"]
        .as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|d| d.with_timezone(&Utc))
        .unwrap_or_else(now);
    let assigned: Vec<Value> = t
        .policy_assignments
        .iter()
        .filter(|(_, app)| app == id)
        .filter_map(|(pid, _)| t.app_policies.iter().find(|p| p["id"] == *pid).cloned())
        .collect();
    let pc = &body["passwordCredential"];
    let start = now();
    let end = match pc["endDateTime"].as_str() {
        Some(s) => match DateTime::parse_from_rfc3339(s) {
            Ok(d) => d.with_timezone(&Utc),
            Err(_) => return error(400, "Request_BadRequest", "Invalid endDateTime."),
        },
        // Default: startDateTime + 2 years (application-addpassword.md).
        None => start.checked_add_months(Months::new(24)).unwrap_or(start),
    };
    match policy::check_password(&t.default_policy, &assigned, created, start, end) {
        Ok(()) => {}
        // [U] The exact code Graph uses for a blocked password addition is not in
        // the stored documentation; the lifetime one below is (azure-cli #28522).
        Err(policy::Refusal::Blocked) => {
            return error(
                400,
                "CredentialTypeNotAllowedAsPerAppPolicy",
                "Credential type not allowed as per assigned policy.",
            );
        }
        Err(policy::Refusal::TooLong) => {
            return error(
                400,
                "CredentialInvalidLifetimeAsPerAppPolicy",
                "Credential lifetime exceeds the max value allowed as per assigned policy.",
            );
        }
    }
    let mut bytes = [0u8; 30];
    getrandom::fill(&mut bytes).expect("random");
    let secret = format!(
        "sbx{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(bytes)
            .replace(['-', '_'], "~")
    );
    let cred = json!({
        "customKeyIdentifier": null,
        "displayName": pc["displayName"],
        "endDateTime": ts(end),
        "hint": &secret[..3],
        "keyId": uuid(),
        "secretText": secret,
        "startDateTime": ts(start),
    });
    let mut stored = cred.clone();
    stored["secretText"] = Value::Null;
    if let Some(list) = t.applications[idx]["passwordCredentials"].as_array_mut() {
        list.push(stored);
    }
    // The Value the sign-in provider will accept (the registry keeps it; Graph never
    // returns it again).
    if let Some(key_id) = cred["keyId"].as_str() {
        t.secret_values
            .insert(key_id.to_string(), Sensitive::new(secret.clone()));
    }
    let mut out = cred;
    out["@odata.context"] =
        json!("https://graph.microsoft.com/v1.0/$metadata#microsoft.graph.passwordCredential");
    ok(200, out)
}

/// Removes a client secret by its `keyId`; its Value stops working at once.
/// <https://learn.microsoft.com/graph/api/application-removepassword?view=graph-rest-1.0>
fn remove_password(t: &mut Tenant, id: &str, body: &Value) -> Response {
    let Some(app) = t.applications.iter_mut().find(|a| a["id"] == id) else {
        return not_found(id);
    };
    let Some(key_id) = body["keyId"].as_str() else {
        return error(400, "Request_BadRequest", "Property 'keyId' is required.");
    };
    let Some(list) = app["passwordCredentials"].as_array_mut() else {
        return not_found(key_id);
    };
    let before = list.len();
    list.retain(|p| p["keyId"].as_str() != Some(key_id));
    if list.len() == before {
        return error(
            400,
            "Request_BadRequest",
            &format!("No password credential found with keyId '{key_id}'."),
        );
    }
    t.secret_values.remove(key_id);
    no_content()
}

/// Deletes an application with its secrets, federated credentials and service principal
/// (Graph moves it to deleted items; the double forgets it).
/// <https://learn.microsoft.com/graph/api/application-delete?view=graph-rest-1.0>
fn delete_application(t: &mut Tenant, id: &str) -> Response {
    let Some(pos) = t.applications.iter().position(|a| a["id"] == id) else {
        return not_found(id);
    };
    let app = t.applications.remove(pos);
    for p in app["passwordCredentials"].as_array().into_iter().flatten() {
        if let Some(k) = p["keyId"].as_str() {
            t.secret_values.remove(k);
        }
    }
    t.federated.retain(|(a, _)| a != id);
    let sps: Vec<String> = t
        .service_principals
        .iter()
        .filter(|s| s["appId"] == app["appId"])
        .filter_map(|s| s["id"].as_str().map(str::to_string))
        .collect();
    t.service_principals.retain(|s| s["appId"] != app["appId"]);
    t.app_role_assignments
        .retain(|a| !sps.iter().any(|sp| a["principalId"] == sp.as_str()));
    t.grants
        .retain(|g| !sps.iter().any(|sp| g["clientId"] == sp.as_str()));
    no_content()
}

/// Adds a federated identity credential: `name`, `issuer`, `subject` and `audiences`
/// required, `name` unique per app, at most 20 per app (federatedidentitycredential
/// resource type).
/// <https://learn.microsoft.com/graph/api/application-post-federatedidentitycredentials?view=graph-rest-1.0>
fn add_federated(t: &mut Tenant, id: &str, body: Value) -> Response {
    if !t.applications.iter().any(|a| a["id"] == id) {
        return not_found(id);
    }
    for k in ["name", "issuer", "subject"] {
        if body[k].as_str().is_none_or(str::is_empty) {
            return error(
                400,
                "Request_BadRequest",
                &format!("Property '{k}' is required."),
            );
        }
    }
    if body["audiences"].as_array().is_none_or(|a| a.len() != 1) {
        return error(
            400,
            "Request_BadRequest",
            "Property 'audiences' must hold exactly one value.",
        );
    }
    let mine: Vec<&Value> = t
        .federated
        .iter()
        .filter(|(a, _)| a == id)
        .map(|(_, f)| f)
        .collect();
    if mine.iter().any(|f| f["name"] == body["name"]) {
        return error(
            409,
            "Request_MultipleObjectsWithSameKeyValue",
            "A federated identity credential with this name already exists on the application.",
        );
    }
    if mine.len() >= 20 {
        return error(
            400,
            "Request_BadRequest",
            "An application can have at most 20 federated identity credentials.",
        );
    }
    let f = json!({"id": uuid(), "name": body["name"], "issuer": body["issuer"], "subject": body["subject"],
                   "audiences": body["audiences"], "description": body["description"]});
    t.federated.push((id.to_string(), f.clone()));
    let mut out = f;
    out["@odata.context"] = json!(format!(
        "https://graph.microsoft.com/v1.0/$metadata#applications('{id}')/federatedIdentityCredentials/$entity"
    ));
    ok(201, out)
}

/// Creates the service principal of an application (after the replication misses a fault
/// asks for).
/// <https://learn.microsoft.com/graph/api/serviceprincipal-post-serviceprincipals?view=graph-rest-1.0>
fn create_service_principal(t: &mut Tenant, body: Value) -> Response {
    let Some(app_id) = body["appId"].as_str().map(str::to_string) else {
        return error(400, "Request_BadRequest", "Property 'appId' is required.");
    };
    if let Some(f) = t
        .fresh_apps
        .iter_mut()
        .find(|(a, n)| *a == app_id && *n > 0)
    {
        f.1 -= 1;
        return error(
            400,
            "Request_BadRequest",
            &format!(
                "The appId '{app_id}' of the service principal does not reference a valid application object."
            ),
        );
    }
    let Some(app) = t
        .applications
        .iter()
        .find(|a| a["appId"] == app_id.as_str())
    else {
        return error(
            400,
            "Request_BadRequest",
            &format!(
                "The appId '{app_id}' of the service principal does not reference a valid application object."
            ),
        );
    };
    if t.service_principals
        .iter()
        .any(|s| s["appId"] == app_id.as_str())
    {
        return error(
            409,
            "Request_MultipleObjectsWithSameKeyValue",
            "Another object with the same value for property servicePrincipalNames already exists.",
        );
    }
    let mut sp = new_service_principal(&uuid(), &json!(app_id), &app["displayName"]);
    sp["@odata.context"] =
        json!("https://graph.microsoft.com/v1.0/$metadata#servicePrincipals/$entity");
    if t.faults.sp_replication_misses > 0 {
        let n = t.faults.sp_replication_misses;
        t.fresh_sps
            .push((sp["id"].as_str().unwrap_or_default().into(), n));
    }
    t.service_principals.push(sp.clone());
    ok(201, sp)
}

/// Grants an application permission: an app role of resource `id` assigned to a principal.
/// <https://learn.microsoft.com/graph/api/serviceprincipal-post-approleassignedto?view=graph-rest-1.0>
fn assign_app_role(t: &mut Tenant, id: &str, body: Value) -> Response {
    if t.faults.deny_consent {
        return error(
            403,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
        );
    }
    let Some(resource) = t.service_principals.iter().find(|s| s["id"] == id).cloned() else {
        return not_found(id);
    };
    let principal = body["principalId"].as_str().unwrap_or_default().to_string();
    if !t
        .service_principals
        .iter()
        .any(|s| s["id"] == principal.as_str())
    {
        return not_found(&principal);
    }
    let role = body["appRoleId"].as_str().unwrap_or_default().to_string();
    if body["resourceId"].as_str() != Some(id) {
        return error(
            400,
            "Request_BadRequest",
            "resourceId must be the service principal in the URL.",
        );
    }
    if !resource["appRoles"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|r| r["id"] == role.as_str())
    {
        return error(
            400,
            "Request_BadRequest",
            "Permission being assigned was not found on application",
        );
    }
    if t.app_role_assignments.iter().any(|a| {
        a["principalId"] == principal.as_str()
            && a["appRoleId"] == role.as_str()
            && a["resourceId"] == id
    }) {
        return error(
            409,
            "Request_BadRequest",
            "Permission being assigned already exists on the object",
        );
    }
    let a = json!({"id": uuid(), "principalId": principal, "principalType": "ServicePrincipal", "resourceId": id, "resourceDisplayName": resource["displayName"],
                   "appRoleId": role, "createdDateTime": ts(now())});
    t.app_role_assignments.push(a.clone());
    ok(201, a)
}

/// Grants delegated permissions (admin consent for all principals, or for one).
/// <https://learn.microsoft.com/graph/api/oauth2permissiongrant-post-oauth2permissiongrants?view=graph-rest-1.0>
fn create_grant(t: &mut Tenant, body: Value) -> Response {
    if t.faults.deny_consent {
        return error(
            403,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
        );
    }
    let client = body["clientId"].as_str().unwrap_or_default().to_string();
    let resource = body["resourceId"].as_str().unwrap_or_default().to_string();
    if !t
        .service_principals
        .iter()
        .any(|s| s["id"] == client.as_str())
    {
        return not_found(&client);
    }
    if !t
        .service_principals
        .iter()
        .any(|s| s["id"] == resource.as_str())
    {
        return not_found(&resource);
    }
    if body["consentType"].as_str() != Some("AllPrincipals") && body["principalId"].is_null() {
        return error(
            400,
            "Request_BadRequest",
            "principalId is required when consentType is Principal.",
        );
    }
    if t.grants.iter().any(|g| {
        g["clientId"] == client.as_str()
            && g["resourceId"] == resource.as_str()
            && g["consentType"] == body["consentType"]
    }) {
        return error(
            409,
            "Request_MultipleObjectsWithSameKeyValue",
            "Permission entry already exists.",
        );
    }
    let g = json!({"id": uuid(), "clientId": client, "consentType": body["consentType"], "principalId": body["principalId"], "resourceId": resource, "scope": body["scope"]});
    t.grants.push(g.clone());
    ok(201, g)
}

/// Users, paged; `signInActivity` needs AuditLog.Read.All and a premium tenant, as in
/// Graph.
/// <https://learn.microsoft.com/graph/api/user-list?view=graph-rest-1.0>
fn list_users(t: &Tenant, query: &str) -> Response {
    let select = selected(query);
    if let Some(r) = denied(t, USER_READ) {
        return r;
    }
    if select
        .iter()
        .any(|s| s.eq_ignore_ascii_case("signInActivity"))
    {
        // signInActivity: AuditLog.Read.All, and a P1/P2 tenant
        // (https://learn.microsoft.com/graph/api/resources/signinactivity?view=graph-rest-1.0).
        if let Some(r) = denied(t, &["AuditLog.Read.All"]) {
            return r;
        }
        if t.non_premium {
            return error(
                403,
                "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
                "Neither tenant is B2C or tenant doesn't have premium license",
            );
        }
    }
    let (offset, top) = match window(query) {
        Ok(w) => w,
        Err(r) => return *r,
    };
    let end = (offset + top).min(t.directory.users.len());
    let items = t.directory.users[offset.min(end)..end]
        .iter()
        .map(|u| u.to_json(&select))
        .collect();
    paged(
        &t.base_url,
        "/users",
        "users",
        query,
        items,
        end,
        t.directory.users.len(),
    )
}

/// A group's members, nested groups included, paged (the expansion is cached per
/// group).
/// <https://learn.microsoft.com/graph/api/group-list-transitivemembers?view=graph-rest-1.0>
fn transitive_members(t: &mut Tenant, id: &str, query: &str) -> Response {
    if let Some(r) = denied(t, GROUP_READ) {
        return r;
    }
    if !t.directory.groups.iter().any(|g| g.id == id) {
        return not_found(id);
    }
    let select = selected(query);
    let cached = t.members.get(id).cloned();
    let entry = match cached {
        Some(e) => e,
        None => {
            // Nested groups are members too (Graph lists them as #microsoft.graph.group).
            let mut nested: Vec<Value> = Vec::new();
            let mut stack = vec![id.to_string()];
            while let Some(g) = stack.pop() {
                for m in t
                    .directory
                    .groups
                    .iter()
                    .filter(|x| x.id == g)
                    .flat_map(|x| x.members.iter())
                {
                    if let Some(sub) = t.directory.groups.iter().find(|x| x.id == *m)
                        && !nested.iter().any(|n| n["id"] == sub.id.as_str())
                    {
                        let mut j = group_json(sub);
                        j["@odata.type"] = json!("#microsoft.graph.group");
                        nested.push(j);
                        stack.push(sub.id.clone());
                    }
                }
            }
            let users = t.directory.transitive_users(id);
            let e = Arc::new((nested, users));
            t.members.insert(id.to_string(), e.clone());
            e
        }
    };
    let (nested, users) = (&entry.0, &entry.1);
    let total = nested.len() + users.len();
    let (offset, top) = match window(query) {
        Ok(w) => w,
        Err(r) => return *r,
    };
    let end = (offset + top).min(total);
    let items = (offset.min(end)..end)
        .filter_map(|k| {
            if k < nested.len() {
                return Some(nested[k].clone());
            }
            let uid = &users[k - nested.len()];
            let u = &t.directory.users[*t.user_index.get(uid)?];
            let mut j = u.to_json(&select);
            j["@odata.type"] = json!("#microsoft.graph.user");
            Some(j)
        })
        .collect();
    paged(
        &t.base_url,
        &format!("/groups/{id}/transitiveMembers"),
        "directoryObjects",
        query,
        items,
        end,
        total,
    )
}

/// The tenant's licences, with how many users hold each.
/// <https://learn.microsoft.com/graph/api/subscribedsku-list?view=graph-rest-1.0>
fn subscribed_skus(t: &Tenant) -> Response {
    if let Some(r) = denied(
        t,
        &[
            "Organization.Read.All",
            "LicenseAssignment.Read.All",
            "Directory.Read.All",
            "Organization.ReadWrite.All",
            "Directory.ReadWrite.All",
        ],
    ) {
        return r;
    }
    let items = t
        .directory
        .skus
        .iter()
        .map(|s| {
            let used = t.directory.users.iter().filter(|u| u.licences.contains(&s.sku_id)).count();
            json!({"id": format!("{}_{}", t.tenant_id, s.sku_id), "skuId": s.sku_id, "skuPartNumber": s.sku_part_number,
                   "appliesTo": "User", "capabilityStatus": "Enabled", "consumedUnits": used,
                   "prepaidUnits": {"enabled": used + 10, "suspended": 0, "warning": 0, "lockedOut": 0}})
        })
        .collect();
    collection("subscribedSkus", items)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters() {
        assert_eq!(
            parse_filter("displayName eq 'O''Brien' and appId eq 'x'"),
            Some(vec![
                ("displayName".into(), "O'Brien".into()),
                ("appId".into(), "x".into())
            ])
        );
        assert_eq!(parse_filter("startswith(displayName,'a')"), None);
    }

    #[test]
    fn pre_authorised_clients_name_a_scope_the_app_already_has() {
        let scope = json!({"id": "s1", "value": "access_as_user"});
        let api = |scopes: Value| {
            json!({"oauth2PermissionScopes": scopes,
                   "preAuthorizedApplications": [{"appId": "c", "delegatedPermissionIds": ["s1"]}]})
        };
        // Scope and pre-authorisation in one request: refused.
        let bare = json!({"api": {"oauth2PermissionScopes": []}});
        assert!(unknown_preauthorized_scope(&bare, &api(json!([scope]))).is_some());
        // The scope already on the app: accepted.
        let with = json!({"api": {"oauth2PermissionScopes": [scope]}});
        assert_eq!(
            unknown_preauthorized_scope(&with, &api(json!([scope]))),
            None
        );
    }
}
