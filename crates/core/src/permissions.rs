//! The Microsoft Graph permissions each enabled feature needs, as data.
//!
//! Every identifier comes from Microsoft's generated permission table
//! (microsoftgraph/microsoft-graph-docs-contrib `concepts/includes/permissions-ids.md`,
//! published as <https://learn.microsoft.com/graph/permissions-reference>). Each row says
//! which feature needs it and why, so a reviewer can check one line against one source.
//!
//! Sign-in needs only the OpenID Connect scopes: Halo's guides say to remove the default
//! `User.Read` ("remove the default 'User.Read' permission unless the integration
//! configuration requires it"). The import and CSP rows are this wizard's reading of what
//! reading users and groups needs; Halo's integration page shows the list for the installed
//! version and its guide says that list wins, so the wizard says so next to them.
//!
//! Partner Center's `user_impersonation` is not in [`TABLE`]: it belongs to the CSP
//! integration's second, single-tenant "Partner Center" app ([`PARTNER_CENTER_PERMISSION`],
//! [`required_partner_center`]), which declares exactly that one permission and never a
//! Microsoft Graph one, whatever the sync or import settings say.
//!
//! Left out: `offline_access` (the service desk asks for it dynamically when it wants
//! refresh tokens).

use serde::Serialize;
use ts_rs::TS;

use crate::profile::Profile;

/// The Microsoft Graph application id (`appId` of its service principal in every tenant).
/// Source: <https://learn.microsoft.com/graph/permissions-reference> ("GET
/// …/servicePrincipals(appId='00000003-0000-0000-c000-000000000000')").
pub const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";

/// Where the identifiers come from.
pub const SOURCE: &str = "https://learn.microsoft.com/graph/permissions-reference (ids: microsoftgraph/microsoft-graph-docs-contrib concepts/includes/permissions-ids.md)";

/// Delegated (`Scope`) or application (`Role`), as `requiredResourceAccess` spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub enum PermissionKind {
    /// Delegated: acts as the signed-in user; granted with an oauth2PermissionGrant.
    Scope,
    /// Application: acts as the app itself; granted with an appRoleAssignment.
    Role,
}

impl PermissionKind {
    /// `Scope` or `Role`.
    pub fn as_str(self) -> &'static str {
        match self {
            PermissionKind::Scope => "Scope",
            PermissionKind::Role => "Role",
        }
    }
}

/// Which feature of the profile needs a permission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub enum PermissionFeature {
    /// Agent or portal sign-in (SSO).
    SignIn,
    /// User/agent import.
    Import,
    /// Microsoft CSP integration (the multi-tenant app).
    Csp,
    /// Sync: reading the configured groups' (transitive) members.
    SyncGroups,
    /// Sync: licence names (subscribedSkus) for "licences that make a user active".
    SyncLicences,
    /// Sync: the last sign-in date (`signInActivity`).
    SyncLastSignIn,
    /// The CSP integration's single-tenant Partner Center app (never the main app).
    PartnerCenter,
}

/// One permission the app registration should declare.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct RequiredPermission {
    /// The resource's `appId` (Microsoft Graph).
    pub resource_app_id: &'static str,
    /// The permission's value, e.g. `User.Read.All`.
    pub value: &'static str,
    /// The permission's id (a GUID) for `requiredResourceAccess`.
    pub id: &'static str,
    /// Delegated or application.
    pub kind: PermissionKind,
    /// The feature that needs it.
    pub feature: PermissionFeature,
    /// Why, in the admin's words.
    pub why: &'static str,
    /// Where the id was taken from (and, for the sync rows, the API page that names the
    /// permission).
    pub source: &'static str,
    /// Broader permissions that already include this one: the row is not requested when
    /// one of them is (least privilege without asking twice).
    pub covered_by: &'static [&'static str],
}

const fn row(
    value: &'static str,
    id: &'static str,
    kind: PermissionKind,
    feature: PermissionFeature,
    why: &'static str,
) -> RequiredPermission {
    RequiredPermission {
        resource_app_id: GRAPH_APP_ID,
        value,
        id,
        kind,
        feature,
        why,
        source: SOURCE,
        covered_by: &[],
    }
}

/// A sync row: its source names the API page too, and it is skipped when a broader
/// permission in `covered_by` is requested anyway.
const fn sync_row(
    value: &'static str,
    id: &'static str,
    feature: PermissionFeature,
    why: &'static str,
    source: &'static str,
    covered_by: &'static [&'static str],
) -> RequiredPermission {
    RequiredPermission {
        resource_app_id: GRAPH_APP_ID,
        value,
        id,
        kind: PermissionKind::Role,
        feature,
        why,
        source,
        covered_by,
    }
}

use PermissionFeature::{
    Csp, Import, PartnerCenter, SignIn, SyncGroups, SyncLastSignIn, SyncLicences,
};
use PermissionKind::{Role, Scope};

/// The whole table.
pub const TABLE: &[RequiredPermission] = &[
    row(
        "openid",
        "37f7f235-527c-4136-accd-4a02d197296e",
        Scope,
        SignIn,
        "Sign users in (OpenID Connect); consenting once for everyone spares users a consent prompt.",
    ),
    row(
        "profile",
        "14dad69e-099b-42c9-810b-d002981feec1",
        Scope,
        SignIn,
        "The signed-in user's name in the ID token, to match the agent or user.",
    ),
    row(
        "email",
        "64a6cdd6-aab1-4aaf-94b8-3cc8405e90d0",
        Scope,
        SignIn,
        "The signed-in user's email address, which the service desk matches on by default.",
    ),
    row(
        "User.Read.All",
        "df021288-bdef-4463-88db-98f22de89214",
        Role,
        Import,
        "Read every user to import agents and users (check against Halo's integration page).",
    ),
    row(
        "Group.Read.All",
        "5b567255-7703-4780-807c-7be8301ae99b",
        Role,
        Import,
        "Read groups to import by group membership (check against Halo's integration page).",
    ),
    row(
        "User.Read.All",
        "df021288-bdef-4463-88db-98f22de89214",
        Role,
        Csp,
        "Read users in customer tenants for CSP (check against Halo's CSP integration page).",
    ),
    row(
        "Directory.Read.All",
        "7ab1d382-f21e-4acd-a863-ba3e13f7da61",
        Role,
        Csp,
        "Read customers' directories (licences, devices) for CSP (check against Halo's CSP integration page).",
    ),
    sync_row(
        "GroupMember.Read.All",
        "98830695-27a2-44f7-8c18-0c3ebc9698f6",
        SyncGroups,
        "Read the members (nested included) of the technician, end-user, service-account and site-mapping groups.",
        "https://learn.microsoft.com/graph/api/group-list-transitivemembers?view=graph-rest-1.0 (application: GroupMember.Read.All least privileged; Group.Read.All, Directory.Read.All higher); id: permissions-ids.md",
        &["Group.Read.All", "Directory.Read.All"],
    ),
    sync_row(
        "Organization.Read.All",
        "498476ce-e0fe-48b0-b801-37ba7e2685c6",
        SyncLicences,
        "Read the tenant's licences (subscribedSkus) to resolve 'licences that make a user active'.",
        "https://learn.microsoft.com/graph/api/subscribedsku-list?view=graph-rest-1.0 (application: Organization.Read.All; newer versions of the page name LicenseAssignment.Read.All least privileged, whose id is not in the stored permissions-ids.md, so the documented alternative is used); id: permissions-ids.md",
        &["Directory.Read.All"],
    ),
    sync_row(
        "AuditLog.Read.All",
        "b0afded3-3588-46d8-8b3d-9842eff778da",
        SyncLastSignIn,
        "Read signInActivity for the last sign-in date (also needs Entra ID P1/P2; Halo's CSP guide calls it delegated, the app-only sync and preview need the application permission).",
        "https://learn.microsoft.com/graph/api/resources/signinactivity?view=graph-rest-1.0 (\"requires a Microsoft Entra ID P1 or P2 license and the AuditLog.Read.All permission\"); id: permissions-ids.md",
        &[],
    ),
];

/// The permissions `profile` needs, each once (a permission two features need appears with
/// the first feature).
pub fn required(profile: &Profile) -> Vec<&'static RequiredPermission> {
    let mut out: Vec<&'static RequiredPermission> = Vec::new();
    let sync = crate::steps::sync::applies(profile);
    let s = &profile.sync;
    for p in TABLE {
        let on = match p.feature {
            SignIn => true,
            Import => profile.features.import,
            Csp => profile.features.csp,
            SyncGroups => sync && s.uses_groups(),
            SyncLicences => sync && !s.active_licences.is_empty(),
            SyncLastSignIn => sync && s.map_last_sign_in,
            // The Partner Center app's permission is never the main app's.
            PartnerCenter => false,
        };
        if on && !out.iter().any(|o| o.id == p.id && o.kind == p.kind) {
            out.push(p);
        }
    }
    // Drop what a broader permission already grants (the table lists broad rows first).
    let values: Vec<&str> = out.iter().map(|p| p.value).collect();
    out.retain(|p| !p.covered_by.iter().any(|c| values.contains(c)));
    out
}

/// The application id of Microsoft Partner Center (the resource of the Partner Center
/// app's one permission). Source: Halo's CSP guide ("adding the ID
/// fa3d9a0c-3fb0-42cc-9193-47c7ecd2edbd into the applications search bar") and
/// Microsoft's secure application model script
/// (<https://learn.microsoft.com/powershell/partnercenter/secure-app-model>,
/// `$partnerCenterAppAccess = … ResourceAppId = "fa3d9a0c-…"`).
pub const PARTNER_CENTER_APP_ID: &str = "fa3d9a0c-3fb0-42cc-9193-47c7ecd2edbd";

/// Where the Partner Center permission's ids come from.
pub const PARTNER_CENTER_SOURCE: &str = "https://learn.microsoft.com/powershell/partnercenter/secure-app-model ($partnerCenterAppAccess: ResourceAppId fa3d9a0c-3fb0-42cc-9193-47c7ecd2edbd, ResourceAccess Id 1cebfa2a-fb4d-419e-b5f9-839b4383e05a, Type Scope); Halo's Microsoft CSP guide (\"Select Microsoft Partner Center and then add user_impersonation\")";

/// The Partner Center app's one API permission: Microsoft Partner Center
/// `user_impersonation`, delegated. The scope id is the one Microsoft's secure application
/// model script declares (see [`PARTNER_CENTER_SOURCE`]); Microsoft's Partner Center
/// reference pages name the permission only by value, so the doctor also accepts a
/// declaration matched by value on the resource's service principal.
pub const PARTNER_CENTER_PERMISSION: RequiredPermission = RequiredPermission {
    resource_app_id: PARTNER_CENTER_APP_ID,
    value: "user_impersonation",
    id: "1cebfa2a-fb4d-419e-b5f9-839b4383e05a",
    kind: PermissionKind::Scope,
    feature: PermissionFeature::PartnerCenter,
    why: "Access Partner Center as the signed-in partner user: Halo reads your CSP customers and their licences with it.",
    source: PARTNER_CENTER_SOURCE,
    covered_by: &[],
};

/// The Partner Center app's permissions: exactly one, whatever else the profile turns on
/// (Halo's CSP guide: "There should only be one API Permission on the list for the single
/// tenant app registration").
pub fn required_partner_center() -> Vec<&'static RequiredPermission> {
    vec![&PARTNER_CENTER_PERMISSION]
}

/// The application permission that covers a Graph read the sync preview makes, for
/// "grant X" findings: `users`, `users+signInActivity`, `groups`, `subscribedSkus`.
pub fn for_read(what: &str) -> Option<&'static RequiredPermission> {
    let value = match what {
        "users" => "User.Read.All",
        "signInActivity" => "AuditLog.Read.All",
        "groups" => "GroupMember.Read.All",
        "subscribedSkus" => "Organization.Read.All",
        _ => return None,
    };
    TABLE
        .iter()
        .find(|p| p.value == value && p.kind == PermissionKind::Role)
}

/// `requiredResourceAccess` for `perms`, grouped by resource, in table order.
pub fn required_resource_access(perms: &[&RequiredPermission]) -> serde_json::Value {
    let mut resources: Vec<(&str, Vec<serde_json::Value>)> = Vec::new();
    for p in perms {
        let access = serde_json::json!({"id": p.id, "type": p.kind.as_str()});
        match resources.iter_mut().find(|(r, _)| *r == p.resource_app_id) {
            Some((_, list)) => list.push(access),
            None => resources.push((p.resource_app_id, vec![access])),
        }
    }
    serde_json::Value::Array(
        resources
            .into_iter()
            .map(|(r, list)| serde_json::json!({"resourceAppId": r, "resourceAccess": list}))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_guids_and_consistent() {
        for p in TABLE {
            assert!(crate::ids::parse_guid(p.id).is_some(), "{}", p.value);
            // The same value always has the same id and kind in the table.
            for q in TABLE.iter().filter(|q| q.value == p.value) {
                assert_eq!((q.id, q.kind), (p.id, p.kind));
            }
        }
    }

    #[test]
    fn sync_choices_add_exactly_their_permissions() {
        use crate::steps::sync::SiteMapping;
        let names = |p: &Profile| -> Vec<&str> { required(p).iter().map(|r| r.value).collect() };
        let mut p = Profile::default();
        p.features.import = true;
        p.sync.map_last_sign_in = true;
        p.sync.active_licences = vec!["SPE_E3".into()];
        p.sync.site_mappings = vec![SiteMapping {
            site: "A".into(),
            group: Some("Staff".into()),
            ..SiteMapping::default()
        }];
        // Group.Read.All (import) covers the group reads; licences need Organization.Read.All.
        assert_eq!(
            names(&p),
            [
                "openid",
                "profile",
                "email",
                "User.Read.All",
                "Group.Read.All",
                "Organization.Read.All",
                "AuditLog.Read.All"
            ]
        );
        // CSP's Directory.Read.All covers licences and groups.
        p.features.import = false;
        p.features.csp = true;
        assert_eq!(
            names(&p),
            [
                "openid",
                "profile",
                "email",
                "User.Read.All",
                "Directory.Read.All",
                "AuditLog.Read.All"
            ]
        );
        // Sync settings do nothing while neither import nor CSP is on.
        p.features.csp = false;
        assert_eq!(names(&p), ["openid", "profile", "email"]);
        for r in TABLE
            .iter()
            .filter(|r| !r.covered_by.is_empty() || r.source != SOURCE)
        {
            assert!(
                r.source.starts_with("https://learn.microsoft.com/graph/"),
                "{}",
                r.value
            );
        }
    }

    #[test]
    fn the_partner_center_app_has_one_permission_whatever_is_on() {
        let mut p = Profile::default();
        p.features.import = true;
        p.features.csp = true;
        p.sync.map_last_sign_in = true;
        let pc = required_partner_center();
        assert_eq!(pc.len(), 1);
        assert_eq!(pc[0].resource_app_id, PARTNER_CENTER_APP_ID);
        assert_eq!((pc[0].value, pc[0].kind), ("user_impersonation", Scope));
        assert!(crate::ids::parse_guid(pc[0].id).is_some());
        // And the main app never declares it.
        assert!(
            required(&p)
                .iter()
                .all(|r| r.resource_app_id == GRAPH_APP_ID)
        );
        assert_eq!(
            required_resource_access(&pc),
            serde_json::json!([{"resourceAppId": PARTNER_CENTER_APP_ID,
                "resourceAccess": [{"id": "1cebfa2a-fb4d-419e-b5f9-839b4383e05a", "type": "Scope"}]}])
        );
    }

    #[test]
    fn sign_in_only_needs_openid_scopes() {
        let p = Profile::default();
        let names: Vec<&str> = required(&p).iter().map(|r| r.value).collect();
        assert_eq!(names, ["openid", "profile", "email"]);
        let mut p = Profile::default();
        p.features.import = true;
        p.features.csp = true;
        let names: Vec<&str> = required(&p).iter().map(|r| r.value).collect();
        assert_eq!(
            names,
            [
                "openid",
                "profile",
                "email",
                "User.Read.All",
                "Group.Read.All",
                "Directory.Read.All"
            ]
        );
    }
}
