//! The access review (part of the doctor, `doctor --access`): who Conditional Access lets
//! into the service desk's app, and on what terms — the guides' "MFA is enforced
//! automatically via your Entra policies" made concrete.
//!
//! Reads (all GET, Policy.Read.All and Application.Read.All, delegated):
//! - `GET /identity/conditionalAccess/policies`
//!   (<https://learn.microsoft.com/graph/api/conditionalaccessroot-list-policies?view=graph-rest-1.0>);
//! - `GET /policies/identitySecurityDefaultsEnforcementPolicy`
//!   (<https://learn.microsoft.com/graph/api/identitysecuritydefaultsenforcementpolicy-get?view=graph-rest-1.0>);
//! - the app's service principal (`appRoleAssignmentRequired`:
//!   <https://learn.microsoft.com/graph/api/resources/serviceprincipal?view=graph-rest-1.0>).
//!
//! A policy applies to the app when `conditions.applications.includeApplications` holds
//! `All` or the app id and `excludeApplications` does not hold the app id
//! (conditionalAccessApplications resource). It requires MFA when `grantControls.
//! builtInControls` holds `mfa` or `grantControls.authenticationStrength` is set; it
//! blocks when `builtInControls` holds `block`. `state` is `enabled`, `disabled` or
//! `enabledForReportingButNotEnforced` (report-only: logged, not enforced).
//!
//! Every finding says why it matters and what to change; nothing is written.
//!
//! Left out: evaluating conditions (locations, platforms, risk, device filters — named,
//! not evaluated), resolving group and role ids to names, named locations, authentication
//! strength details, per-user MFA (legacy), sign-in logs.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use ts_rs::TS;

use super::finding::Finding;
use super::{GraphClient, GraphError, odata_string, with_query};
use crate::validation::Severity;

/// One Conditional Access policy as it bears on the app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct CaPolicySummary {
    /// Policy id.
    pub id: String,
    /// displayName.
    pub display_name: String,
    /// `enabled`, `disabled` or `enabledForReportingButNotEnforced`.
    pub state: String,
    /// The policy covers the app (All cloud apps or the app id, not excluded).
    pub applies: bool,
    /// The app is named in `excludeApplications`.
    pub app_excluded: bool,
    /// Who it targets, in words (e.g. "all users except 2 groups").
    pub users: String,
    /// MFA (or an authentication strength) is required.
    pub requires_mfa: bool,
    /// Access is blocked.
    pub blocks: bool,
    /// Other grant controls (compliantDevice, domainJoinedDevice, …).
    pub other_controls: Vec<String>,
    /// Conditions that narrow it (locations, platforms, client app types, risk…), named
    /// but not evaluated.
    pub conditions: Vec<String>,
}

/// The access review.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct AccessReview {
    /// Security defaults on (`None`: could not be read).
    pub security_defaults: Option<bool>,
    /// The enterprise app's "Assignment required?" (`None`: no service principal, or not
    /// readable).
    pub assignment_required: Option<bool>,
    /// Every policy read, those that apply first.
    pub policies: Vec<CaPolicySummary>,
    /// Findings, errors first.
    pub findings: Vec<Finding>,
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn count(n: usize, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

/// Who a policy's `conditions.users` targets, in words.
pub fn describe_users(u: &Value) -> String {
    let inc_users = strings(&u["includeUsers"]);
    let inc_groups = strings(&u["includeGroups"]).len();
    let inc_roles = strings(&u["includeRoles"]).len();
    let exc = strings(&u["excludeUsers"]).len()
        + strings(&u["excludeGroups"]).len()
        + strings(&u["excludeRoles"]).len();
    let mut parts = Vec::new();
    if inc_users.iter().any(|x| x == "All") {
        parts.push("all users".to_string());
    } else {
        if inc_users.iter().any(|x| x == "GuestsOrExternalUsers") {
            parts.push("guests and external users".into());
        }
        let named = inc_users
            .iter()
            .filter(|x| !matches!(x.as_str(), "All" | "None" | "GuestsOrExternalUsers"))
            .count();
        if named > 0 {
            parts.push(count(named, "user"));
        }
        if inc_groups > 0 {
            parts.push(count(inc_groups, "group"));
        }
        if inc_roles > 0 {
            parts.push(count(inc_roles, "directory role"));
        }
    }
    if parts.is_empty() {
        return "nobody".into();
    }
    let mut s = parts.join(", ");
    if exc > 0 {
        s.push_str(&format!(" except {}", count(exc, "user/group/role")));
    }
    s
}

/// Summarises one policy for the app `app_id`.
pub fn summarise(p: &Value, app_id: &str) -> CaPolicySummary {
    let apps = &p["conditions"]["applications"];
    let include = strings(&apps["includeApplications"]);
    let exclude = strings(&apps["excludeApplications"]);
    let app_excluded = exclude.iter().any(|a| a.eq_ignore_ascii_case(app_id));
    let included = include
        .iter()
        .any(|a| a == "All" || a.eq_ignore_ascii_case(app_id));
    let grant = &p["grantControls"];
    let controls = strings(&grant["builtInControls"]);
    let requires_mfa =
        controls.iter().any(|c| c == "mfa") || grant["authenticationStrength"].is_object();
    let blocks = controls.iter().any(|c| c == "block");
    let other_controls = controls
        .into_iter()
        .filter(|c| c != "mfa" && c != "block")
        .collect();
    let c = &p["conditions"];
    let mut conditions = Vec::new();
    if c["locations"].is_object() {
        conditions.push("locations".into());
    }
    if c["platforms"].is_object() {
        conditions.push("device platforms".into());
    }
    let client_apps = strings(&c["clientAppTypes"]);
    if !client_apps.is_empty() && !client_apps.iter().any(|x| x == "all") {
        conditions.push(format!("client apps: {}", client_apps.join(", ")));
    }
    if !strings(&c["userRiskLevels"]).is_empty() {
        conditions.push("user risk".into());
    }
    if !strings(&c["signInRiskLevels"]).is_empty() {
        conditions.push("sign-in risk".into());
    }
    if c["devices"].is_object() {
        conditions.push("device filter".into());
    }
    CaPolicySummary {
        id: p["id"].as_str().unwrap_or_default().into(),
        display_name: p["displayName"].as_str().unwrap_or_default().into(),
        state: p["state"].as_str().unwrap_or_default().into(),
        applies: included && !app_excluded,
        app_excluded,
        users: describe_users(&c["users"]),
        requires_mfa,
        blocks,
        other_controls,
        conditions,
    }
}

fn targets_all_users(p: &Value) -> bool {
    let u = &p["conditions"]["users"];
    strings(&u["includeUsers"]).iter().any(|x| x == "All")
        && strings(&u["excludeUsers"]).is_empty()
        && strings(&u["excludeGroups"]).is_empty()
        && strings(&u["excludeRoles"]).is_empty()
}

/// Derives the findings from what was read (pure; [`access_review`] reads and calls it).
pub fn review(
    app_id: &str,
    policies: Option<&[Value]>,
    security_defaults: Option<bool>,
    service_principal: Option<&Value>,
) -> AccessReview {
    let mut findings = Vec::new();
    let mut add = |id: &str, severity: Severity, message: String, fix: &str| {
        findings.push(Finding {
            id: id.into(),
            severity,
            message,
            fix: fix.into(),
            auto_fix: None,
        })
    };
    let mut summaries: Vec<CaPolicySummary> = Vec::new();
    let mut enforced_mfa = false;
    if let Some(list) = policies {
        for p in list {
            let s = summarise(p, app_id);
            let cond = if s.conditions.is_empty() {
                String::new()
            } else {
                format!(" (only when: {})", s.conditions.join("; "))
            };
            match (s.state.as_str(), s.applies, s.app_excluded) {
                ("enabled", true, _) if s.blocks => add(
                    "access.block",
                    if targets_all_users(p) && s.conditions.is_empty() {
                        Severity::Error
                    } else {
                        Severity::Warning
                    },
                    format!(
                        "Policy \"{}\" blocks the service desk's app for {}{cond}: those agents and portal users cannot sign in with SSO at all.",
                        s.display_name, s.users
                    ),
                    "Entra admin center > Protection > Conditional Access: exclude the service desk's app, or exclude the agent and portal user groups from this policy.",
                ),
                ("enabled", true, _) if s.requires_mfa => {
                    enforced_mfa = true;
                    add(
                        "access.mfa_enforced",
                        Severity::Info,
                        format!(
                            "Policy \"{}\" requires MFA for the service desk's app for {}{cond}. Users outside it sign in without MFA.",
                            s.display_name, s.users
                        ),
                        "Nothing to change if it covers your agents and portal users; widen it if not.",
                    )
                }
                ("enabledForReportingButNotEnforced", true, _) if s.blocks || s.requires_mfa => {
                    add(
                        "access.report_only",
                        Severity::Warning,
                        format!(
                            "Policy \"{}\" would {} the service desk's app for {} but is report-only: it is logged, not enforced.",
                            s.display_name,
                            if s.blocks { "block" } else { "require MFA for" },
                            s.users
                        ),
                        "Check its sign-in log impact, then switch it to On; until then it protects nothing.",
                    )
                }
                ("enabled", false, true) if s.requires_mfa || s.blocks => add(
                    "access.app_excluded",
                    Severity::Warning,
                    format!(
                        "Policy \"{}\" {} for all other apps but excludes the service desk's app, so it does not apply to service-desk sign-ins.",
                        s.display_name,
                        if s.blocks { "blocks" } else { "requires MFA" }
                    ),
                    "Remove the app from the policy's excluded cloud apps unless the exclusion is deliberate.",
                ),
                _ => {}
            }
            summaries.push(s);
        }
        summaries.sort_by_key(|s| !s.applies);
    } else {
        add(
            "access.policies_unreadable",
            Severity::Warning,
            "The Conditional Access policies could not be read, so whether MFA is required for the service desk is unknown.".into(),
            "Sign in with a role that can read them (Security Reader, Global Reader or Conditional Access Administrator) and consent to Policy.Read.All.",
        );
    }
    match security_defaults {
        Some(true) => add(
            "access.security_defaults_on",
            Severity::Info,
            "Security defaults are on: users must register for MFA and are asked for it when Entra judges it necessary (always for administrators); Conditional Access policies cannot be used alongside them.".into(),
            "Fine for a small tenant. To require MFA for every service-desk sign-in, turn security defaults off and use a Conditional Access policy.",
        ),
        Some(false) if policies.is_some() && !enforced_mfa => add(
            "access.no_mfa",
            Severity::Warning,
            "No enabled Conditional Access policy requires MFA for the service desk's app and security defaults are off: \"MFA is enforced automatically\" does not hold, agents and portal users sign in with a password alone.".into(),
            "Create a Conditional Access policy requiring MFA for the app (or all cloud apps) for the agent and portal user groups, report-only first.",
        ),
        _ => {}
    }
    if let Some(sp) = service_principal {
        if sp["appRoleAssignmentRequired"].as_bool() == Some(true) {
            add(
                "access.assignment_required",
                Severity::Warning,
                "The enterprise app has \"Assignment required?\" = Yes: anyone not assigned to it (directly or through a group) is refused with AADSTS50105, including portal users the sync created.".into(),
                "Enterprise applications > the app > Users and groups: assign the technician and end-user groups; or set \"Assignment required?\" to No under Properties.",
            );
        }
    } else {
        add(
            "access.service_principal_missing",
            Severity::Warning,
            "The app has no service principal in this tenant, so no Conditional Access policy can target it by id yet and assignment cannot be checked.".into(),
            "Grant admin consent (step 4), which creates it, then run the access review again.",
        );
    }
    findings.sort_by_key(|f| f.severity);
    AccessReview {
        security_defaults,
        assignment_required: service_principal
            .and_then(|s| s["appRoleAssignmentRequired"].as_bool()),
        policies: summaries,
        findings,
    }
}

fn forbidden(e: &GraphError) -> bool {
    matches!(e.status(), Some(401 | 403))
}

/// Reads policies, security defaults and the service principal of `app_id`, and reviews
/// them. A refusal to read one of them is a finding, not an error.
pub async fn access_review(client: &GraphClient, app_id: &str) -> Result<AccessReview, GraphError> {
    let policies = match client.get("/identity/conditionalAccess/policies").await {
        Ok(v) => Some(v["value"].as_array().cloned().unwrap_or_default()),
        Err(e) if forbidden(&e) => None,
        Err(e) => return Err(e),
    };
    let defaults = match client
        .get("/policies/identitySecurityDefaultsEnforcementPolicy")
        .await
    {
        Ok(v) => v["isEnabled"].as_bool(),
        Err(e) if forbidden(&e) => None,
        Err(e) => return Err(e),
    };
    let sp = client
        .get(&with_query(
            "/servicePrincipals",
            &[
                ("$filter", &format!("appId eq {}", odata_string(app_id))),
                (
                    "$select",
                    "id,appId,appRoleAssignmentRequired,accountEnabled",
                ),
            ],
        ))
        .await?;
    let sp = sp["value"].as_array().and_then(|a| a.first()).cloned();
    Ok(review(app_id, policies.as_deref(), defaults, sp.as_ref()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn users_in_words() {
        assert_eq!(
            describe_users(&json!({"includeUsers": ["All"], "excludeGroups": ["g"]})),
            "all users except 1 user/group/role"
        );
        assert_eq!(
            describe_users(&json!({"includeGroups": ["a", "b"], "includeRoles": ["r"]})),
            "2 groups, 1 directory role"
        );
        assert_eq!(describe_users(&json!({"includeUsers": ["None"]})), "nobody");
    }

    #[test]
    fn authentication_strength_counts_as_mfa() {
        let p = json!({"id": "1", "displayName": "P", "state": "enabled",
            "conditions": {"applications": {"includeApplications": ["All"]}, "users": {"includeUsers": ["All"]}},
            "grantControls": {"operator": "OR", "builtInControls": [], "authenticationStrength": {"id": "00000000-0000-0000-0000-000000000002"}}});
        let s = summarise(&p, "app");
        assert!(s.applies && s.requires_mfa && !s.blocks);
    }
}
