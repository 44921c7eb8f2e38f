//! The self-service portal as a Microsoft Teams personal tab (the seeds' "works in-browser
//! and as an embedded Teams tab").
//!
//! Two things make the tab: a **Teams app package** (manifest.json plus two icons, zipped)
//! that a Teams administrator uploads, and three settings on the **app registration** that let
//! Teams sign the portal user in silently (Teams tab SSO). This module holds the rules and the
//! data, with no I/O: the manifest model built from a profile, its checks, what the
//! registration needs and the admin's steps. The engine draws the icons and writes the zip
//! (`entra_onboard_engine::teams`); `apply --teams-tab` sets the registration through Graph.
//!
//! Sources (Microsoft Learn):
//! - manifest fields and limits: <https://learn.microsoft.com/microsoftteams/platform/resources/schema/manifest-schema>
//!   (the JSON schema itself ships in the npm package `@microsoft/app-manifest`, which the
//!   schema test in `crates/cli/tests/teams-schema/` validates against);
//! - tab SSO registration (Application ID URI, scope, pre-authorised Teams clients, access
//!   token version): <https://learn.microsoft.com/microsoftteams/platform/tabs/how-to/authentication/tab-sso-register-aad>;
//! - `webApplicationInfo`: <https://learn.microsoft.com/microsoftteams/platform/tabs/how-to/authentication/tab-sso-manifest>;
//! - identifier URI formats: <https://learn.microsoft.com/entra/identity-platform/identifier-uri-restrictions>;
//! - the upload: <https://learn.microsoft.com/microsoftteams/upload-custom-apps> and pinning:
//!   <https://learn.microsoft.com/microsoftteams/teams-app-setup-policies>.

use serde::Serialize;
use ts_rs::TS;

use crate::profile::Profile;
use crate::steps::basics::Basics;
use crate::validation::{Issue, Severity, host_of};

/// The manifest schema version written. The newest non-preview version whose schema the npm
/// package `@microsoft/app-manifest` (1.1.2) ships and validates; `$schema` names it.
pub const MANIFEST_VERSION: &str = "1.30";

/// `$schema` of the manifest (the URL form Microsoft's validator maps to its bundled copy).
pub const MANIFEST_SCHEMA: &str =
    "https://developer.microsoft.com/json-schemas/teams/v1.30/MicrosoftTeams.schema.json";

/// The manifest's file name in the package (apps-package: "manifest.json").
pub const MANIFEST_FILE: &str = "manifest.json";
/// The color icon's file name in the package.
pub const COLOR_ICON_FILE: &str = "color.png";
/// The outline icon's file name in the package.
pub const OUTLINE_ICON_FILE: &str = "outline.png";
/// The color icon: "a full color 192x192 PNG icon" (manifest-schema, icons).
pub const COLOR_ICON_SIZE: u32 = 192;
/// The outline icon: "a transparent 32x32 PNG outline icon. The border color must be white"
/// (manifest-schema, icons).
pub const OUTLINE_ICON_SIZE: u32 = 32;

/// `accentColor` (required; "#" and six hex digits), also the color icon's background.
pub const ACCENT_COLOR: &str = "#1F5FAD";

/// The app version written when none is given. Teams replaces an uploaded app only with a
/// higher version (manifest-schema, version), so an update needs `--version`.
pub const DEFAULT_APP_VERSION: &str = "1.0.0";

/// The delegated scope the app exposes for Teams (tab-sso-register-aad, "To configure API
/// scope"; `access_as_user` is the name Microsoft's samples and Teams Toolkit use).
pub const SCOPE_NAME: &str = "access_as_user";

/// The access token version the registration must accept (tab-sso-register-aad, "Configure
/// access token version": `accessTokenAcceptedVersion` 2, Graph's
/// `api.requestedAccessTokenVersion`).
pub const ACCESS_TOKEN_VERSION: u8 = 2;

/// The Teams clients to pre-authorise, exactly as tab-sso-register-aad's table lists them
/// ("To configure authorized client application"). A tab runs only in Teams' web or
/// desktop/mobile client ("For a Teams tab app, you need either Web or SPA"), so the
/// Microsoft 365 and Outlook rows of that table are not added.
pub const TEAMS_CLIENTS: [(&str, &str); 2] = [
    (
        "1fec8e78-bce4-4aaf-ab1b-5451cc387264",
        "Teams mobile or desktop application",
    ),
    (
        "5e3ce6c0-2b1f-4285-8d4b-75ee78787346",
        "Teams web application",
    ),
];

/// The namespace of the manifest id (UUID v5 of the client ID): one fixed, random UUID for
/// this app, so the same app registration always gets the same Teams app id and an upload of a
/// newer package updates the app instead of adding a second one.
const MANIFEST_ID_NAMESPACE: uuid::Uuid =
    uuid::Uuid::from_u128(0x5d0c_94f1_7a4e_4c2b_9e51_3f8a_61d2_b7c4);

/// The scope's id (UUID v5 of the client ID in another namespace): stable, so a second
/// `apply` finds the scope it added rather than adding another.
const SCOPE_ID_NAMESPACE: uuid::Uuid =
    uuid::Uuid::from_u128(0x0b7e_2a9c_43d1_4f86_a5c0_8e19_d4f3_6a27);

// Lengths from the schema (manifest-schema: name.short 30, name.full 100, description.short
// 80, description.full 4000, developer.name 32, staticTabs.entityId 64, name 128).
const NAME_SHORT_MAX: usize = 30;
const NAME_FULL_MAX: usize = 100;
const DESCRIPTION_SHORT_MAX: usize = 80;
const DESCRIPTION_FULL_MAX: usize = 4000;
const DEVELOPER_NAME_MAX: usize = 32;
/// `anyHttpUrl` and `validDomains` items: at most 2048 characters.
const URL_MAX: usize = 2048;

/// One Teams client to pre-authorise on the registration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct TeamsClientApp {
    /// Its application (client) ID.
    pub app_id: String,
    /// Which Teams client it is.
    pub label: String,
}

/// What the portal-as-a-Teams-tab needs, derived from the profile: shown in the plan, used
/// for the package and by `apply --teams-tab`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct TeamsTabPlan {
    /// The Teams app id (`id` in the manifest): UUID v5 of the client ID.
    pub teams_app_id: String,
    /// The portal the tab shows (`contentUrl`).
    pub portal_url: String,
    /// The Application ID URI to set on the registration, `api://<portal host>/<client id>`
    /// (also `webApplicationInfo.resource`).
    pub application_id_uri: String,
    /// The scope's name (`access_as_user`).
    pub scope_name: String,
    /// The stable id to give the scope when `apply` adds it.
    pub scope_id: String,
    /// The Teams clients to pre-authorise for the scope.
    pub preauthorized_clients: Vec<TeamsClientApp>,
    /// The manifest's `validDomains`.
    pub valid_domains: Vec<String>,
    /// What to do on the app registration (Expose an API, Manifest), in order.
    pub registration_steps: Vec<String>,
    /// What the Teams administrator does with the package, in order.
    pub admin_steps: Vec<String>,
    /// Worth knowing before uploading (e.g. portal users do not sign in with Entra).
    pub notes: Vec<String>,
}

/// The portal-as-a-Teams-tab part of the plan: the plan when the profile allows a package,
/// else what stops it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct TeamsTab {
    /// The plan, when nothing blocks the package.
    pub ready: Option<TeamsTabPlan>,
    /// Why there is no package yet (each names its field and fix).
    pub blockers: Vec<Issue>,
}

/// manifest.json, field for field (only what the package uses). Serialised as Teams reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TeamsManifest {
    /// The schema URL.
    #[serde(rename = "$schema")]
    pub schema: String,
    /// [`MANIFEST_VERSION`].
    pub manifest_version: String,
    /// The app's own version (semver `MAJOR.MINOR.PATCH`).
    pub version: String,
    /// The Teams app id (a GUID).
    pub id: String,
    /// Who made the app (the customer: it is their line-of-business app).
    pub developer: ManifestDeveloper,
    /// The app's names.
    pub name: ManifestText,
    /// The app's descriptions.
    pub description: ManifestText,
    /// The icons' file names in the package.
    pub icons: ManifestIcons,
    /// The color icon's background and accent.
    pub accent_color: String,
    /// The portal as a personal tab.
    pub static_tabs: Vec<ManifestStaticTab>,
    /// Domains the tab may load.
    pub valid_domains: Vec<String>,
    /// Teams tab SSO: the app registration and its Application ID URI.
    pub web_application_info: ManifestWebApplicationInfo,
}

/// `developer`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ManifestDeveloper {
    /// At most 32 characters.
    pub name: String,
    /// https URL.
    pub website_url: String,
    /// https URL.
    pub privacy_url: String,
    /// https URL.
    pub terms_of_use_url: String,
}

/// `name` and `description` (`short` and `full`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ManifestText {
    /// Short form.
    pub short: String,
    /// Full form.
    pub full: String,
}

/// `icons`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ManifestIcons {
    /// The 32x32 outline icon.
    pub outline: String,
    /// The 192x192 color icon.
    pub color: String,
}

/// One `staticTabs` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ManifestStaticTab {
    /// Unique within the app.
    pub entity_id: String,
    /// The tab's title.
    pub name: String,
    /// What Teams shows in the tab.
    pub content_url: String,
    /// What "open in browser" opens.
    pub website_url: String,
    /// `personal` only: static tabs are pinned to the app's personal experience.
    pub scopes: Vec<String>,
    /// `personalTab`.
    pub context: Vec<String>,
}

/// `webApplicationInfo`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ManifestWebApplicationInfo {
    /// The app registration's client ID.
    pub id: String,
    /// The Application ID URI.
    pub resource: String,
}

const STEP: u8 = 6;

fn blocker(field: &str, code: &str, message: String, fix: &str) -> Issue {
    Issue {
        field: field.into(),
        step: if field == "version" { STEP } else { 1 },
        severity: Severity::Error,
        code: code.into(),
        message,
        fix: fix.into(),
    }
}

/// The first `max` characters (code points, as JSON Schema's `maxLength` counts), with "…"
/// in place of the last one when cut.
fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let kept: String = s.chars().take(max.saturating_sub(1)).collect();
    format!("{}…", kept.trim_end())
}

/// The customer name as shown in Teams: trimmed and cleaned of control characters.
fn display_name(p: &Profile) -> String {
    crate::text::clean(p.name.trim()).trim().to_string()
}

/// The Teams tab for `p`, from step 1 as already resolved (`b`).
pub fn tab(p: &Profile, b: &Basics) -> TeamsTab {
    match tab_plan(p, b) {
        Ok(plan) => TeamsTab {
            ready: Some(plan),
            blockers: Vec::new(),
        },
        Err(blockers) => TeamsTab {
            ready: None,
            blockers,
        },
    }
}

/// The Teams tab plan, or every reason there is none.
pub fn tab_plan(p: &Profile, b: &Basics) -> Result<TeamsTabPlan, Vec<Issue>> {
    let mut blockers = Vec::new();
    let name = display_name(p);
    if name.is_empty() {
        blockers.push(blocker(
            "name",
            "teams.name",
            "The Teams app is named after the customer, and the name is empty.".into(),
            "Give the customer a name in step 1.",
        ));
    }
    let client = b.client_id.as_ref();
    if client.is_none() {
        blockers.push(blocker(
            "client_id",
            "teams.client_id",
            "The Teams app signs users in through the app registration (webApplicationInfo.id is its Application (client) ID), and there is no valid client ID yet.".into(),
            "Enter the Application (client) ID in step 1, or let \"Create it for me\" make the registration.",
        ));
    }
    // Basics only keeps https URLs; the tab's contentUrl must be https as well
    // (manifest-schema: "The https:// URL that points to the entity UI").
    let portal = b
        .portal_url
        .as_deref()
        .filter(|u| u.starts_with("https://"));
    let portal_host = portal.and_then(host_of);
    if portal_host.is_none() {
        let field = if p
            .portal_url
            .as_deref()
            .is_some_and(|s| !s.trim().is_empty())
        {
            "portal_url"
        } else {
            "agent_url"
        };
        blockers.push(blocker(
            field,
            "teams.portal_url",
            "The Teams tab shows the self-service portal, and its https address is not known yet.".into(),
            "Enter the agent URL (the portal is <agent URL>/portal) or the portal's own https address in step 1.",
        ));
    }
    if let Some(url) = portal
        && url.chars().count() > URL_MAX
    {
        blockers.push(blocker(
            "portal_url",
            "teams.portal_url_long",
            format!("The portal address is longer than the {URL_MAX} characters a Teams manifest URL may have."),
            "Use the portal's shorter address.",
        ));
    }
    let (Some(client), Some(portal), Some(host), true) =
        (client, portal, portal_host, blockers.is_empty())
    else {
        return Err(blockers);
    };
    let client = client.as_str();
    // tab-sso-register-aad: "The application ID URI format must be:
    // api://fully-qualified-domain-name.com/{AppID}" with the domain the tab is served from
    // (lower case, which host_of gives); identifier-uri-restrictions lists
    // api://<string>/<appId> among the supported formats.
    let application_id_uri = format!("api://{host}/{client}");

    // validDomains: the portal's host, and the service desk's agent and authorisation hosts
    // when different (the portal's sign-in goes through them). Identity providers are left
    // out on purpose: "Do not include the domains of identity providers you want to support
    // in your app" (manifest-schema, validDomains), so no login.microsoftonline.com.
    let mut valid_domains = vec![host.clone()];
    for other in [b.agent_url.as_deref(), b.auth_url.as_deref()]
        .into_iter()
        .flatten()
        .filter_map(host_of)
    {
        if !valid_domains.contains(&other) {
            valid_domains.push(other);
        }
    }

    let mut notes = Vec::new();
    if !p.sso_for.users() {
        notes.push("Portal users do not sign in with Microsoft Entra in this profile (SSO is for agents only): the tab shows the portal's own login page. Choose users or both in step 1 for a signed-in tab.".into());
    }
    let preauthorized_clients: Vec<TeamsClientApp> = TEAMS_CLIENTS
        .iter()
        .map(|(id, label)| TeamsClientApp {
            app_id: (*id).into(),
            label: (*label).into(),
        })
        .collect();
    Ok(TeamsTabPlan {
        teams_app_id: derived_id(&MANIFEST_ID_NAMESPACE, client),
        portal_url: portal.to_string(),
        registration_steps: registration_steps(&application_id_uri, &preauthorized_clients),
        admin_steps: admin_steps(&name),
        application_id_uri,
        scope_name: SCOPE_NAME.into(),
        scope_id: derived_id(&SCOPE_ID_NAMESPACE, client),
        preauthorized_clients,
        valid_domains,
        notes,
    })
}

fn derived_id(namespace: &uuid::Uuid, client_id: &str) -> String {
    uuid::Uuid::new_v5(namespace, client_id.to_ascii_lowercase().as_bytes())
        .hyphenated()
        .to_string()
}

/// What to set on the app registration (tab-sso-register-aad, in its order).
fn registration_steps(uri: &str, clients: &[TeamsClientApp]) -> Vec<String> {
    let mut steps = vec![
        format!("Expose an API > Application ID URI > Add: set it to {uri}"),
        format!(
            "Expose an API > Add a scope: name {SCOPE_NAME}, who can consent \"Admins and users\", display names and descriptions as you like, state Enabled"
        ),
    ];
    for c in clients {
        steps.push(format!(
            "Expose an API > Add a client application: {} ({}), authorised scope {uri}/{SCOPE_NAME}",
            c.app_id, c.label
        ));
    }
    steps.push(format!(
        "Manifest: set \"accessTokenAcceptedVersion\" (Microsoft Graph: api.requestedAccessTokenVersion) to {ACCESS_TOKEN_VERSION}"
    ));
    // tab-sso-register-aad: "You don't need to enter Redirect URI for enabling SSO for a tab
    // app." The portal's own redirect URI (step 2) still serves its sign-in page.
    steps.push("No extra redirect URI: Teams tab SSO needs none; the portal's redirect URI from step 2 stays as it is.".into());
    steps
}

/// What the Teams administrator does (upload-custom-apps; teams-app-setup-policies).
fn admin_steps(name: &str) -> Vec<String> {
    vec![
        "Microsoft Teams admin center (admin.teams.microsoft.com) > Teams apps > Manage apps > Org-wide app settings: under Custom apps, \"Allow interaction with custom apps\" must be on.".into(),
        "Teams apps > Manage apps > Upload new app > Upload: choose the package (.zip) this wizard saved. Only a Teams Administrator or Global Administrator can do this.".into(),
        format!("Everyone in the organisation can then find \"{}\" under \"Built for your org\" in the Teams store; to limit who may use it, assign an app permission policy.", cut(name, NAME_SHORT_MAX)),
        "To pin it for people: Teams apps > Setup policies > the Global (Org-wide default) policy or a new one > Pinned apps > Add apps > search the app's name > Add > Save.".into(),
        "Later changes: save a package with a higher version, then Manage apps > the app > Update (the permission and setup policies stay).".into(),
    ]
}

/// Checks an app version as the schema's `semver` definition does: three dot-separated
/// numbers without leading zeros (`1.0.0`, `2.10.3`).
pub fn check_version(v: &str) -> Result<(), Issue> {
    let ok = v.len() <= 256 && {
        let parts: Vec<&str> = v.split('.').collect();
        parts.len() == 3
            && parts.iter().all(|p| {
                !p.is_empty()
                    && p.bytes().all(|c| c.is_ascii_digit())
                    && (p.len() == 1 || !p.starts_with('0'))
            })
    };
    if ok {
        Ok(())
    } else {
        Err(blocker(
            "version",
            "teams.version",
            format!(
                "The Teams app version {:?} is not MAJOR.MINOR.PATCH (three numbers, no leading zeros).",
                crate::text::clean(v)
            ),
            "Use e.g. 1.0.0 for the first upload and a higher one (1.0.1, 1.1.0) for each update.",
        ))
    }
}

/// The manifest for `p`, with the app `version`.
pub fn manifest(p: &Profile, plan: &TeamsTabPlan, version: &str) -> Result<TeamsManifest, Issue> {
    check_version(version)?;
    let name = display_name(p);
    let client = plan
        .application_id_uri
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_string();
    let portal = plan.portal_url.clone();
    Ok(TeamsManifest {
        schema: MANIFEST_SCHEMA.into(),
        manifest_version: MANIFEST_VERSION.into(),
        version: version.into(),
        id: plan.teams_app_id.clone(),
        // An org's own line-of-business app: the customer is its developer, and the portal
        // is the only site we know of theirs (the admin centre does not check these for
        // custom apps; the store would).
        developer: ManifestDeveloper {
            name: cut(&name, DEVELOPER_NAME_MAX),
            website_url: portal.clone(),
            privacy_url: portal.clone(),
            terms_of_use_url: portal.clone(),
        },
        name: ManifestText {
            short: cut(&name, NAME_SHORT_MAX),
            full: cut(&format!("{name} self-service portal"), NAME_FULL_MAX),
        },
        description: ManifestText {
            short: cut(
                "Raise and follow your service desk requests in Teams.",
                DESCRIPTION_SHORT_MAX,
            ),
            full: cut(
                &format!(
                    "The {name} self-service portal ({portal}) inside Microsoft Teams: log a ticket, follow its progress and read the knowledge base.{}",
                    if p.sso_for.users() {
                        " You are signed in with your Microsoft 365 account."
                    } else {
                        ""
                    }
                ),
                DESCRIPTION_FULL_MAX,
            ),
        },
        icons: ManifestIcons {
            outline: OUTLINE_ICON_FILE.into(),
            color: COLOR_ICON_FILE.into(),
        },
        accent_color: ACCENT_COLOR.into(),
        static_tabs: vec![ManifestStaticTab {
            entity_id: "portal".into(),
            name: "Portal".into(),
            content_url: portal.clone(),
            website_url: portal,
            scopes: vec!["personal".into()],
            context: vec!["personalTab".into()],
        }],
        valid_domains: plan.valid_domains.clone(),
        web_application_info: ManifestWebApplicationInfo {
            id: client,
            resource: plan.application_id_uri.clone(),
        },
    })
}

impl TeamsManifest {
    /// Pretty JSON, as written to manifest.json.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("a manifest always serialises");
        s.push('\n');
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::SsoFor;
    use crate::steps::basics;

    fn profile() -> Profile {
        Profile {
            name: "Acme".into(),
            tenant_id: "8eaef023-2b34-4da1-9baa-8bc8c9d6a490".into(),
            client_id: "11111111-2222-3333-4444-555555555555".into(),
            agent_url: "https://acme.halopsa.com".into(),
            sso_for: SsoFor::Both,
            ..Profile::default()
        }
    }

    fn plan_of(p: &Profile) -> Result<TeamsTabPlan, Vec<Issue>> {
        tab_plan(p, &basics::resolve(p))
    }

    #[test]
    fn the_tab_plan_follows_learn() {
        let t = plan_of(&profile()).unwrap();
        assert_eq!(t.portal_url, "https://acme.halopsa.com/portal");
        assert_eq!(
            t.application_id_uri,
            "api://acme.halopsa.com/11111111-2222-3333-4444-555555555555"
        );
        assert_eq!(t.valid_domains, vec!["acme.halopsa.com"]);
        let ids: Vec<&str> = t
            .preauthorized_clients
            .iter()
            .map(|c| c.app_id.as_str())
            .collect();
        assert_eq!(
            ids,
            [
                "1fec8e78-bce4-4aaf-ab1b-5451cc387264",
                "5e3ce6c0-2b1f-4285-8d4b-75ee78787346"
            ]
        );
        assert!(t.notes.is_empty());
        assert!(t.admin_steps.iter().any(|s| s.contains("Upload new app")));
    }

    #[test]
    fn the_id_is_stable_per_client_and_differs_between_clients() {
        let a = plan_of(&profile()).unwrap();
        let mut renamed = profile();
        renamed.name = "Acme Ltd".into();
        renamed.client_id = renamed.client_id.to_uppercase();
        assert_eq!(plan_of(&renamed).unwrap().teams_app_id, a.teams_app_id);
        let mut other = profile();
        other.client_id = "99999999-2222-3333-4444-555555555555".into();
        let b = plan_of(&other).unwrap();
        assert_ne!(b.teams_app_id, a.teams_app_id);
        assert_ne!(b.scope_id, a.scope_id);
        assert_eq!(
            uuid::Uuid::parse_str(&a.teams_app_id)
                .unwrap()
                .get_version_num(),
            5
        );
    }

    #[test]
    fn a_portal_elsewhere_adds_the_agent_host_and_names_the_portal_host() {
        let mut p = profile();
        p.portal_url = Some("https://Support.Acme.com/portal".into());
        p.auth_url = Some("https://acme.halopsa.com/auth".into());
        let t = plan_of(&p).unwrap();
        assert_eq!(
            t.valid_domains,
            vec!["support.acme.com", "acme.halopsa.com"]
        );
        assert!(t.application_id_uri.starts_with("api://support.acme.com/"));
        assert!(
            !t.valid_domains
                .iter()
                .any(|d| d.contains("microsoftonline"))
        );
    }

    #[test]
    fn blockers_name_their_fields() {
        let p = Profile::default();
        let fields: Vec<String> = plan_of(&p)
            .unwrap_err()
            .into_iter()
            .map(|i| i.field)
            .collect();
        assert_eq!(fields, ["name", "client_id", "agent_url"]);
        let mut p = profile();
        p.portal_url = Some("http://support.acme.com".into());
        let errs = plan_of(&p).unwrap_err();
        assert_eq!(errs[0].field, "portal_url");
    }

    #[test]
    fn agents_only_sso_is_noted() {
        let mut p = profile();
        p.sso_for = SsoFor::Agents;
        assert_eq!(plan_of(&p).unwrap().notes.len(), 1);
    }

    #[test]
    fn names_fit_the_schema() {
        let mut p = profile();
        p.name = "A".repeat(100);
        let t = plan_of(&p).unwrap();
        let m = manifest(&p, &t, "1.0.0").unwrap();
        assert_eq!(m.name.short.chars().count(), 30);
        assert!(m.name.full.chars().count() <= 100);
        assert_ne!(m.name.short, m.name.full);
        assert_eq!(m.developer.name.chars().count(), 32);
        assert!(m.description.short.chars().count() <= 80);
        assert_eq!(
            m.web_application_info.id,
            "11111111-2222-3333-4444-555555555555"
        );
        assert_eq!(m.static_tabs[0].content_url, t.portal_url);
    }

    #[test]
    fn versions_are_semver() {
        for ok in ["1.0.0", "0.0.1", "10.20.30"] {
            assert!(check_version(ok).is_ok(), "{ok}");
        }
        for bad in [
            "1.0",
            "01.0.0",
            "1.0.0-beta",
            "",
            "1..0",
            "v1.0.0",
            "1.0.0.0",
        ] {
            assert_eq!(check_version(bad).unwrap_err().field, "version", "{bad}");
        }
    }
}
