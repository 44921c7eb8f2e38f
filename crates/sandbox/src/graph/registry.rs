//! The sandbox tenant's ONE registry: the Graph double's applications, service principals,
//! app role assignments and delegated grants, read by the sign-in provider.
//!
//! Whatever the Graph routes create or change — an application, its redirect URIs, its
//! "ID tokens" setting, a secret (`addPassword`, `removePassword`), a certificate
//! (`keyCredentials`), a federated credential, a service principal, admin consent
//! (`appRoleAssignedTo`, `oauth2PermissionGrants`) — is exactly what the provider
//! enforces at sign-in and at the token endpoint, because the provider reads this same
//! state ([`Tenant::registered_app`]) instead of keeping its own. The provider's own
//! changes (the consent page's Accept, `IdpState::register_certificate`…) are written here
//! as Graph objects too, so the Graph routes and the portal page see them.
//!
//! Secret Values are kept beside the objects (`Tenant::secret_values`, by `keyId`), as
//! Entra keeps them: Graph returns a Value once, from `addPassword`, and never again.
//!
//! Left out: the provider does not accept federated-credential assertions (it cannot fetch
//! an outside issuer's keys); they are stored, listed and shown only. Apps from other
//! tenants, `publicClient`/`spa` redirect URIs and `isFallbackPublicClient` are not read.

use base64::Engine as _;
use chrono::{DateTime, Months, Utc};
use serde_json::{Value, json};

use entra_onboard_core::ids::Sensitive;
use entra_onboard_core::permissions::{GRAPH_APP_ID, PermissionKind, TABLE};

use super::{Tenant, graph_sp_id, new_service_principal, now, ts, uuid};
use crate::idp::keys::RegisteredCert;

/// The OpenID scopes: Graph's delegated scopes that sign-in itself asks for.
const OIDC_SCOPES: [&str; 4] = ["openid", "profile", "email", "offline_access"];

/// A client secret as the provider checks it.
pub(crate) struct AppSecret {
    /// The Secret ID (`keyId`).
    pub(crate) id: String,
    /// The Value, when this registry created it (always, in the sandbox).
    pub(crate) value: Option<Sensitive<String>>,
    /// `displayName`.
    pub(crate) description: String,
    /// `endDateTime`.
    pub(crate) expires: DateTime<Utc>,
}

/// A federated identity credential, for the portal page.
pub(crate) struct AppFederated {
    /// `name`.
    pub(crate) name: String,
    /// `issuer`.
    pub(crate) issuer: String,
    /// `subject`.
    pub(crate) subject: String,
    /// `audiences`.
    pub(crate) audiences: Vec<String>,
}

/// An application registration as the sign-in provider sees it: a snapshot of the Graph
/// objects, taken under the registry's lock and used after it is released.
pub(crate) struct RegisteredApp {
    /// `appId`.
    pub(crate) client_id: String,
    /// `id` (the application object).
    pub(crate) object_id: String,
    /// `displayName`.
    pub(crate) name: String,
    /// A public client (only the provider's built-in Graph sign-in client is one).
    pub(crate) public_client: bool,
    /// `web.redirectUris`.
    pub(crate) redirect_uris: Vec<String>,
    /// `web.implicitGrantSettings.enableIdTokenIssuance`.
    pub(crate) id_tokens_enabled: bool,
    /// `passwordCredentials`, with their Values.
    pub(crate) secrets: Vec<AppSecret>,
    /// `keyCredentials` whose `key` is a certificate the provider can read.
    pub(crate) certificates: Vec<RegisteredCert>,
    /// `federatedIdentityCredentials`.
    pub(crate) federated: Vec<AppFederated>,
    /// Application permissions on Microsoft Graph the app asks for (`requiredResourceAccess`).
    pub(crate) required_roles: Vec<String>,
    /// Application permissions granted (app role assignments of its service principal).
    pub(crate) granted_roles: Vec<String>,
    /// Its service principal's object id, if it has one.
    pub(crate) service_principal: Option<String>,
    /// Delegated scopes consented for all users (the AllPrincipals grants of its service
    /// principal); `None` when there is no such grant.
    pub(crate) consented_scopes: Option<Vec<String>>,
}

impl RegisteredApp {
    /// Entra's redirect URI match against every registered URI.
    pub(crate) fn redirect_registered(&self, uri: &str) -> bool {
        self.redirect_uris
            .iter()
            .any(|r| crate::idp::redirect_matches(r, uri))
    }

    /// Whether a sign-in asking for `scopes` is consented: the provider's built-in public
    /// client always is; any other app needs a service principal and a tenant-wide
    /// delegated grant naming every requested scope (`.default` needs any grant). The
    /// sandbox's users cannot consent for themselves, as in a tenant where user consent is
    /// turned off, so a missing grant is AADSTS65001 rather than a consent prompt.
    pub(crate) fn consented_to(&self, scopes: &[String]) -> bool {
        if self.public_client {
            return true;
        }
        let Some(have) = &self.consented_scopes else {
            return false;
        };
        scopes
            .iter()
            .map(|s| {
                s.strip_prefix(crate::idp::GRAPH_RESOURCE)
                    .map(|r| r.trim_start_matches('/'))
                    .unwrap_or(s)
            })
            .filter(|s| *s != ".default")
            .all(|s| have.iter().any(|h| h.eq_ignore_ascii_case(s)))
    }
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect()
}

fn date(v: &Value) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(v.as_str()?)
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

/// The value of a Graph permission id, from Microsoft Graph's service principal.
fn permission_value(graph_sp: Option<&Value>, list: &str, id: &str) -> Option<String> {
    graph_sp?[list]
        .as_array()?
        .iter()
        .find(|r| r["id"].as_str().is_some_and(|x| x.eq_ignore_ascii_case(id)))
        .and_then(|r| r["value"].as_str())
        .map(str::to_string)
}

/// The app's `requiredResourceAccess` entries on Microsoft Graph (`{id, type}`).
fn graph_access(app: &Value) -> Vec<Value> {
    app["requiredResourceAccess"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["resourceAppId"] == GRAPH_APP_ID)
        .flat_map(|r| r["resourceAccess"].as_array().cloned().unwrap_or_default())
        .collect()
}

/// The id of a Graph permission by value and kind, from the wizard's permission table.
fn permission_id(value: &str, kind: PermissionKind) -> Option<&'static str> {
    TABLE
        .iter()
        .find(|p| p.kind == kind && p.value.eq_ignore_ascii_case(value))
        .map(|p| p.id)
}

impl Tenant {
    fn graph_sp(&self) -> Option<&Value> {
        self.service_principals
            .iter()
            .find(|s| s["appId"] == GRAPH_APP_ID)
    }

    fn app_json(&self, client_id: &str) -> Option<&Value> {
        self.applications.iter().find(|a| {
            a["appId"]
                .as_str()
                .is_some_and(|x| x.eq_ignore_ascii_case(client_id.trim()))
        })
    }

    fn app_json_mut(&mut self, client_id: &str) -> Option<&mut Value> {
        self.applications.iter_mut().find(|a| {
            a["appId"]
                .as_str()
                .is_some_and(|x| x.eq_ignore_ascii_case(client_id.trim()))
        })
    }

    fn sp_of(&self, client_id: &str) -> Option<String> {
        self.service_principals
            .iter()
            .find(|s| {
                s["appId"]
                    .as_str()
                    .is_some_and(|x| x.eq_ignore_ascii_case(client_id.trim()))
            })
            .and_then(|s| s["id"].as_str())
            .map(str::to_string)
    }

    /// The app registration `client_id` (its `appId`), as the provider enforces it.
    pub(crate) fn registered_app(&self, client_id: &str) -> Option<RegisteredApp> {
        let a = self.app_json(client_id)?;
        Some(self.view(a))
    }

    /// Every app registration, in creation order.
    pub(crate) fn registered_apps(&self) -> Vec<RegisteredApp> {
        self.applications.iter().map(|a| self.view(a)).collect()
    }

    fn view(&self, a: &Value) -> RegisteredApp {
        let client_id = a["appId"].as_str().unwrap_or_default().to_string();
        let graph_sp = self.graph_sp();
        let graph_sp_id = graph_sp.and_then(|g| g["id"].as_str()).unwrap_or_default();
        let secrets = a["passwordCredentials"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| {
                let id = p["keyId"].as_str().unwrap_or_default().to_string();
                AppSecret {
                    value: self.secret_values.get(&id).cloned(),
                    id,
                    description: p["displayName"].as_str().unwrap_or_default().to_string(),
                    expires: date(&p["endDateTime"]).unwrap_or(DateTime::<Utc>::MIN_UTC),
                }
            })
            .collect();
        let certificates = a["keyCredentials"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|k| {
                let der = base64::engine::general_purpose::STANDARD
                    .decode(k["key"].as_str()?)
                    .ok()?;
                RegisteredCert::parse(&der).ok()
            })
            .collect();
        let federated = self
            .federated
            .iter()
            .filter(|(app, _)| a["id"].as_str() == Some(app.as_str()))
            .map(|(_, f)| AppFederated {
                name: f["name"].as_str().unwrap_or_default().to_string(),
                issuer: f["issuer"].as_str().unwrap_or_default().to_string(),
                subject: f["subject"].as_str().unwrap_or_default().to_string(),
                audiences: strings(&f["audiences"]),
            })
            .collect();
        let required_roles = graph_access(a)
            .iter()
            .filter(|x| x["type"] == "Role")
            .filter_map(|x| permission_value(graph_sp, "appRoles", x["id"].as_str()?))
            .collect();
        let service_principal = self.sp_of(&client_id);
        let sp = service_principal.as_deref().unwrap_or("\u{0}");
        let granted_roles = self
            .app_role_assignments
            .iter()
            .filter(|r| r["principalId"] == sp && r["resourceId"] == graph_sp_id)
            .filter_map(|r| permission_value(graph_sp, "appRoles", r["appRoleId"].as_str()?))
            .collect();
        let grants: Vec<&Value> = self
            .grants
            .iter()
            .filter(|g| g["clientId"] == sp && g["consentType"] == "AllPrincipals")
            .collect();
        let consented_scopes = (!grants.is_empty()).then(|| {
            grants
                .iter()
                .flat_map(|g| g["scope"].as_str().unwrap_or_default().split_whitespace())
                .map(str::to_string)
                .collect()
        });
        let web = &a["web"];
        RegisteredApp {
            client_id,
            object_id: a["id"].as_str().unwrap_or_default().to_string(),
            name: a["displayName"].as_str().unwrap_or_default().to_string(),
            public_client: false,
            redirect_uris: strings(&web["redirectUris"]),
            id_tokens_enabled: web["implicitGrantSettings"]["enableIdTokenIssuance"]
                .as_bool()
                .unwrap_or(false),
            secrets,
            certificates,
            federated,
            required_roles,
            granted_roles,
            service_principal,
            consented_scopes,
        }
    }

    /// Adds a client secret with this Value, as `addPassword` does. Returns its Secret ID,
    /// or `None` when there is no such app.
    pub(crate) fn add_app_secret(
        &mut self,
        client_id: &str,
        key_id: Option<&str>,
        value: Sensitive<String>,
        description: &str,
        expires: DateTime<Utc>,
    ) -> Option<String> {
        let id = key_id.map(str::to_string).unwrap_or_else(uuid);
        let hint: String = value.expose().chars().take(3).collect();
        let cred = json!({
            "customKeyIdentifier": null, "displayName": description, "endDateTime": ts(expires),
            "hint": hint, "keyId": id, "secretText": null, "startDateTime": ts(now()),
        });
        self.app_json_mut(client_id)?["passwordCredentials"]
            .as_array_mut()?
            .push(cred);
        self.secret_values.insert(id.clone(), value);
        Some(id)
    }

    /// Uploads a certificate (its DER) to an app's `keyCredentials`, as the portal's
    /// "Upload certificate" does; the same certificate twice is kept once.
    pub(crate) fn add_app_certificate(
        &mut self,
        client_id: &str,
        der: &[u8],
        cert: &RegisteredCert,
    ) -> Option<()> {
        let key = base64::engine::general_purpose::STANDARD.encode(der);
        let list = self.app_json_mut(client_id)?["keyCredentials"].as_array_mut()?;
        if !list.iter().any(|k| k["key"] == key.as_str()) {
            list.push(json!({
                "customKeyIdentifier": cert.thumbprint, "displayName": cert.subject,
                "endDateTime": ts(cert.not_after), "keyId": uuid(), "startDateTime": ts(now()),
                "type": "AsymmetricX509Cert", "usage": "Verify", "key": key,
            }));
        }
        Some(())
    }

    /// Edits an app's `web` settings (redirect URIs, ID tokens). `None`: no such app.
    pub(crate) fn edit_web(&mut self, client_id: &str, f: impl FnOnce(&mut Value)) -> Option<()> {
        let app = self.app_json_mut(client_id)?;
        f(&mut app["web"]);
        Some(())
    }

    /// Sets the application permissions on Microsoft Graph an app asks for, keeping its
    /// delegated ones. Values not in the wizard's permission table are ignored.
    pub(crate) fn set_required_roles(&mut self, client_id: &str, roles: &[String]) -> Option<()> {
        let app = self.app_json_mut(client_id)?;
        let mut access: Vec<Value> = graph_access(app)
            .into_iter()
            .filter(|x| x["type"] != "Role")
            .collect();
        access.extend(
            roles
                .iter()
                .filter_map(|r| permission_id(r, PermissionKind::Role))
                .map(|id| json!({"id": id, "type": "Role"})),
        );
        let mut others: Vec<Value> = app["requiredResourceAccess"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|r| r["resourceAppId"] != GRAPH_APP_ID)
            .cloned()
            .collect();
        others.push(json!({"resourceAppId": GRAPH_APP_ID, "resourceAccess": access}));
        app["requiredResourceAccess"] = Value::Array(others);
        Some(())
    }

    /// Admin consent, as Accept on the consent page gives it: the app's service principal
    /// (created if missing), an app role assignment per application permission it asks
    /// for, and a tenant-wide delegated grant of its delegated permissions.
    pub(crate) fn grant_consent(&mut self, client_id: &str) -> Option<()> {
        let app = self.app_json(client_id)?.clone();
        let sp = match self.sp_of(client_id) {
            Some(sp) => sp,
            None => {
                let sp = new_service_principal(&uuid(), &app["appId"], &app["displayName"]);
                self.service_principals.push(sp.clone());
                sp["id"].as_str().unwrap_or_default().to_string()
            }
        };
        let graph = graph_sp_id(self);
        let access = graph_access(&app);
        for role in access.iter().filter(|x| x["type"] == "Role") {
            let given = self.app_role_assignments.iter().any(|a| {
                a["principalId"] == sp.as_str()
                    && a["resourceId"] == graph.as_str()
                    && a["appRoleId"] == role["id"]
            });
            if !given {
                self.app_role_assignments.push(json!({"id": uuid(), "principalId": sp, "principalType": "ServicePrincipal", "resourceId": graph,
                    "resourceDisplayName": "Microsoft Graph", "appRoleId": role["id"], "createdDateTime": ts(now())}));
            }
        }
        let graph_sp = self.graph_sp().cloned();
        let mut scopes: Vec<String> = access
            .iter()
            .filter(|x| x["type"] == "Scope")
            .filter_map(|x| {
                permission_value(
                    graph_sp.as_ref(),
                    "oauth2PermissionScopes",
                    x["id"].as_str()?,
                )
            })
            .collect();
        // The OpenID scopes come with any consent (Entra's consent screen always includes
        // "Sign you in and read your profile").
        for s in ["openid", "profile", "email"] {
            if !scopes.iter().any(|x| x == s) {
                scopes.push(s.to_string());
            }
        }
        match self
            .grants
            .iter_mut()
            .find(|g| g["clientId"] == sp.as_str() && g["consentType"] == "AllPrincipals")
        {
            Some(g) => {
                let mut have: Vec<String> = g["scope"]
                    .as_str()
                    .unwrap_or_default()
                    .split_whitespace()
                    .map(str::to_string)
                    .collect();
                for s in scopes {
                    if !have.contains(&s) {
                        have.push(s);
                    }
                }
                g["scope"] = json!(have.join(" "));
            }
            None => self.grants.push(json!({"id": uuid(), "clientId": sp, "consentType": "AllPrincipals", "principalId": null,
                                             "resourceId": graph, "scope": scopes.join(" ")})),
        }
        Some(())
    }

    /// Removes every app role assignment and delegated grant of the app's service principal.
    pub(crate) fn revoke_consent(&mut self, client_id: &str) -> Option<()> {
        self.app_json(client_id)?;
        if let Some(sp) = self.sp_of(client_id) {
            self.app_role_assignments
                .retain(|a| a["principalId"] != sp.as_str());
            self.grants.retain(|g| g["clientId"] != sp.as_str());
        }
        Some(())
    }
}

/// The demo app registration, as the sandbox seeds it: a Web app with the wizard's
/// redirect URI and ID tokens on, asking for the import feature's application permissions
/// and the OpenID scopes. Its one secret and service principal are added by
/// [`seed_demo_app`].
fn demo_app_json() -> Value {
    use crate::idp::{SANDBOX_APP_NAME, SANDBOX_APP_OBJECT_ID, SANDBOX_CLIENT_ID};
    use entra_onboard_core::steps::redirects::WIZARD_REDIRECT_URI;
    let mut access: Vec<Value> = crate::idp::SANDBOX_REQUIRED_ROLES
        .iter()
        .filter_map(|r| permission_id(r, PermissionKind::Role))
        .map(|id| json!({"id": id, "type": "Role"}))
        .collect();
    access.extend(
        OIDC_SCOPES[..3]
            .iter()
            .filter_map(|s| permission_id(s, PermissionKind::Scope))
            .map(|id| json!({"id": id, "type": "Scope"})),
    );
    json!({
        "id": SANDBOX_APP_OBJECT_ID,
        "appId": SANDBOX_CLIENT_ID,
        "displayName": SANDBOX_APP_NAME,
        "signInAudience": "AzureADMyOrg",
        "web": {"redirectUris": [WIZARD_REDIRECT_URI],
                "implicitGrantSettings": {"enableIdTokenIssuance": true, "enableAccessTokenIssuance": false}},
        "requiredResourceAccess": [{"resourceAppId": GRAPH_APP_ID, "resourceAccess": access}],
    })
}

/// Seeds the demo app: the registration, its service principal (not consented yet) and
/// the demo secret whose Value is public ([`crate::idp::SANDBOX_CLIENT_SECRET`]).
pub(crate) fn seed_demo_app(t: &mut Tenant) {
    use crate::idp::{
        SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, SANDBOX_SECRET_ID, SANDBOX_SP_OBJECT_ID,
    };
    let app = super::new_application(demo_app_json(), now());
    let name = app["displayName"].clone();
    t.applications.push(app);
    t.service_principals.push(new_service_principal(
        SANDBOX_SP_OBJECT_ID,
        &json!(SANDBOX_CLIENT_ID),
        &name,
    ));
    let expires = now()
        .checked_add_months(Months::new(12))
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    t.add_app_secret(
        SANDBOX_CLIENT_ID,
        Some(SANDBOX_SECRET_ID),
        Sensitive::new(SANDBOX_CLIENT_SECRET.to_string()),
        "Sandbox practice secret",
        expires,
    );
}
