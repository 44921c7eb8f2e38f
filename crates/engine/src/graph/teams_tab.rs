//! `apply --teams-tab`: what the app registration needs for the portal as a Teams tab with
//! single sign-on, as Microsoft Graph writes (tab-sso-register-aad, done through
//! `PATCH /applications/{id}`):
//!
//! 1. the Application ID URI `api://<portal host>/<client id>` added to `identifierUris`;
//!    the scope `access_as_user` added to `api.oauth2PermissionScopes` (kept if there); and
//!    `api.requestedAccessTokenVersion` set to 2 ("Configure access token version");
//! 2. the Teams clients added to `api.preAuthorizedApplications` for that scope.
//!
//! Two requests, because a pre-authorised client may only name a scope the application
//! already has. Each is computed from the application as read, so a second run sends
//! nothing, and nothing already there is dropped: `api` is a complex property, so every part
//! of it is sent back (as `app_update` does for `web`).
//!
//! Sources: <https://learn.microsoft.com/microsoftteams/platform/tabs/how-to/authentication/tab-sso-register-aad>,
//! <https://learn.microsoft.com/graph/api/resources/apiapplication?view=graph-rest-1.0>,
//! <https://learn.microsoft.com/graph/api/resources/permissionscope?view=graph-rest-1.0>,
//! <https://learn.microsoft.com/graph/api/resources/preauthorizedapplication?view=graph-rest-1.0>.

use serde_json::{Map, Value, json};

use crate::teams::{ACCESS_TOKEN_VERSION, TeamsTabPlan};

/// One write: its step id, label and PATCH body.
pub(super) struct TeamsWrite {
    pub id: &'static str,
    pub label: String,
    pub body: Value,
}

/// The scope as `apply` adds it: a delegated scope users may consent to themselves (Teams
/// asks the user on first use), enabled.
fn scope(tab: &TeamsTabPlan, name: &str) -> Value {
    json!({
        "id": tab.scope_id,
        "value": tab.scope_name,
        "type": "User",
        "isEnabled": true,
        "adminConsentDisplayName": format!("Open the {name} portal in Teams"),
        "adminConsentDescription": "Lets Microsoft Teams sign people in to the self-service portal tab with their Microsoft 365 account.",
        "userConsentDisplayName": format!("Open the {name} portal in Teams"),
        "userConsentDescription": "Lets Microsoft Teams sign you in to the self-service portal tab.",
    })
}

/// The writes that bring `app` to what the Teams tab needs; empty when it has all of it.
pub(super) fn writes(app: &Value, tab: &TeamsTabPlan, name: &str) -> Vec<TeamsWrite> {
    let mut out = Vec::new();
    let mut api: Map<String, Value> = app["api"].as_object().cloned().unwrap_or_default();

    // 1. Identifier URI, scope, token version.
    let mut body = Map::new();
    let mut changes = Vec::new();
    let mut uris: Vec<Value> = app["identifierUris"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if !uris
        .iter()
        .any(|u| u.as_str() == Some(tab.application_id_uri.as_str()))
    {
        uris.push(json!(tab.application_id_uri));
        body.insert("identifierUris".into(), Value::Array(uris));
        changes.push(format!("Application ID URI {}", tab.application_id_uri));
    }
    let mut scopes: Vec<Value> = api
        .get("oauth2PermissionScopes")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let existing = scopes
        .iter()
        .find(|s| s["value"].as_str() == Some(tab.scope_name.as_str()))
        .cloned();
    let scope_id = match &existing {
        Some(s) => s["id"].as_str().unwrap_or(&tab.scope_id).to_string(),
        None => {
            scopes.push(scope(tab, name));
            changes.push(format!("scope {}", tab.scope_name));
            tab.scope_id.clone()
        }
    };
    let mut api_changed = existing.is_none();
    api.insert("oauth2PermissionScopes".into(), Value::Array(scopes));
    if api
        .get("requestedAccessTokenVersion")
        .and_then(Value::as_u64)
        != Some(u64::from(ACCESS_TOKEN_VERSION))
    {
        api.insert(
            "requestedAccessTokenVersion".into(),
            json!(ACCESS_TOKEN_VERSION),
        );
        changes.push(format!("access token version {ACCESS_TOKEN_VERSION}"));
        api_changed = true;
    }
    if api_changed {
        body.insert("api".into(), Value::Object(api.clone()));
    }
    if !body.is_empty() {
        out.push(TeamsWrite {
            id: "expose_api_teams",
            label: format!("Expose the API for the Teams tab: {}", changes.join("; ")),
            body: Value::Object(body),
        });
    }

    // 2. The Teams clients, pre-authorised for the scope.
    let mut pre: Vec<Value> = api
        .get("preAuthorizedApplications")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut added = Vec::new();
    for client in &tab.preauthorized_clients {
        match pre
            .iter_mut()
            .find(|p| p["appId"].as_str() == Some(client.app_id.as_str()))
        {
            Some(p) => {
                let mut ids: Vec<Value> = p["delegatedPermissionIds"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                if !ids.iter().any(|i| i.as_str() == Some(scope_id.as_str())) {
                    ids.push(json!(scope_id));
                    p["delegatedPermissionIds"] = Value::Array(ids);
                    added.push(client.label.clone());
                }
            }
            None => {
                pre.push(json!({"appId": client.app_id, "delegatedPermissionIds": [scope_id]}));
                added.push(client.label.clone());
            }
        }
    }
    if !added.is_empty() {
        api.insert("preAuthorizedApplications".into(), Value::Array(pre));
        out.push(TeamsWrite {
            id: "preauthorize_teams",
            label: format!(
                "Pre-authorise {} for {}",
                added.join(" and "),
                tab.scope_name
            ),
            body: json!({ "api": Value::Object(api) }),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::{Profile, SsoFor};

    fn tab() -> TeamsTabPlan {
        let p = Profile {
            name: "Acme".into(),
            tenant_id: "8eaef023-2b34-4da1-9baa-8bc8c9d6a490".into(),
            client_id: "11111111-2222-3333-4444-555555555555".into(),
            agent_url: "https://acme.halopsa.com".into(),
            sso_for: SsoFor::Both,
            ..Profile::default()
        };
        crate::teams::tab_plan(&p, &crate::steps::basics::resolve(&p)).unwrap()
    }

    /// What Graph would hold after the writes (the double's merge: top-level replace).
    fn applied(mut app: Value, writes: &[TeamsWrite]) -> Value {
        for w in writes {
            for (k, v) in w.body.as_object().unwrap() {
                app[k] = v.clone();
            }
        }
        app
    }

    #[test]
    fn a_bare_app_gets_both_writes_and_a_second_run_none() {
        let t = tab();
        let app = json!({"id": "o", "appId": "11111111-2222-3333-4444-555555555555", "identifierUris": [], "api": {"acceptMappedClaims": null}});
        let w = writes(&app, &t, "Acme");
        assert_eq!(
            w.iter().map(|w| w.id).collect::<Vec<_>>(),
            ["expose_api_teams", "preauthorize_teams"]
        );
        let after = applied(app, &w);
        assert_eq!(after["identifierUris"][0], t.application_id_uri);
        assert_eq!(after["api"]["requestedAccessTokenVersion"], 2);
        assert_eq!(
            after["api"]["oauth2PermissionScopes"][0]["value"],
            "access_as_user"
        );
        let pre = after["api"]["preAuthorizedApplications"]
            .as_array()
            .unwrap();
        assert_eq!(pre.len(), 2);
        assert_eq!(pre[0]["delegatedPermissionIds"][0], t.scope_id);
        // Kept: what the app had in `api` before.
        assert!(
            after["api"]
                .as_object()
                .unwrap()
                .contains_key("acceptMappedClaims")
        );
        assert!(writes(&after, &t, "Acme").is_empty());
    }

    #[test]
    fn an_existing_scope_and_client_are_reused_not_duplicated() {
        let t = tab();
        let app = json!({
            "identifierUris": ["api://other", t.application_id_uri],
            "api": {
                "requestedAccessTokenVersion": 2,
                "oauth2PermissionScopes": [{"id": "aaaaaaaa-0000-4000-8000-000000000000", "value": "access_as_user"}],
                "preAuthorizedApplications": [{"appId": "1fec8e78-bce4-4aaf-ab1b-5451cc387264", "delegatedPermissionIds": ["bbbbbbbb-0000-4000-8000-000000000000"]}],
            }
        });
        let w = writes(&app, &t, "Acme");
        assert_eq!(w.len(), 1, "only the pre-authorisation is missing");
        let after = applied(app, &w);
        assert_eq!(after["identifierUris"].as_array().unwrap().len(), 2);
        let pre = after["api"]["preAuthorizedApplications"]
            .as_array()
            .unwrap();
        assert_eq!(
            pre[0]["delegatedPermissionIds"],
            json!([
                "bbbbbbbb-0000-4000-8000-000000000000",
                "aaaaaaaa-0000-4000-8000-000000000000"
            ])
        );
        assert_eq!(
            pre[1]["delegatedPermissionIds"],
            json!(["aaaaaaaa-0000-4000-8000-000000000000"])
        );
    }
}
