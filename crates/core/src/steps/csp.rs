//! Step 5 — CSP / GDAP: the PowerShell script that makes the app's service principal a
//! member of the partner tenant's AdminAgents group, as Halo's CSP guide requires.
//!
//! Three flavours: Microsoft Graph PowerShell (default — the AzureAD and MSOnline modules
//! are retired), the AzureAD script from Halo's guide, and Az PowerShell (the guide's
//! fallback). Only a validated, canonical [`ClientId`] is ever interpolated, so nothing the
//! admin typed can become PowerShell code. Scripts are ASCII with `\n` line ends; saving
//! as `.ps1` converts to CRLF.
//!
//! Under GDAP, AdminAgents membership no longer grants access to customer tenants: each
//! customer tenant must also consent. Every flavour says so in a comment.
//!
//! Least privilege for the Graph flavour (Microsoft Graph "Add members",
//! <https://learn.microsoft.com/graph/api/group-post-members?view=graph-rest-1.0>): adding a
//! **servicePrincipal** member needs delegated `GroupMember.ReadWrite.All` **and**
//! `Application.ReadWrite.All` (the page's per-member-type table; GroupMember.ReadWrite.All
//! is its least privileged group permission, and a service principal member also needs
//! write access to the service principal). The signed-in user needs a role with
//! `microsoft.directory/groups/members/update`; the least privileged the page lists for a
//! security group are Groups Administrator, User Administrator, Directory Writers (or
//! being an owner of the group). A **role-assignable** group (`isAssignableToRole`) needs
//! `RoleManagement.ReadWrite.Directory` as well and a Privileged Role Administrator; whether
//! AdminAgents is one differs by tenant, so the script reads it and says so rather than
//! asking everyone for the larger scope.

use serde::Serialize;
use ts_rs::TS;

use crate::cloud::Cloud;
use crate::ids::ClientId;
use crate::profile::{Profile, TenantType};
use crate::steps::basics::Basics;
use crate::validation::Issues;

const STEP: u8 = 5;

/// The AdminAgents elevation script of step 5, in three flavours.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct CspScripts {
    /// Microsoft Graph PowerShell (the default; AzureAD is retired).
    pub graph: String,
    /// The legacy AzureAD module version from Halo's CSP guide.
    pub azure_ad: String,
    /// Az PowerShell, the guide's fallback.
    pub az: String,
}

/// Which script. (The CLI's `--flavor` mirrors it; no command-line parsing here.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// Microsoft Graph PowerShell (recommended).
    Graph,
    /// Legacy AzureAD module (retired by Microsoft; from Halo's guide).
    Azuread,
    /// Az PowerShell.
    Az,
}

const GDAP_NOTE: &str = "\
# Under GDAP, membership of AdminAgents no longer gives this app access to your
# customers' tenants. Each customer tenant must ALSO grant admin consent to the app
# (Entra Onboard step 5: one consent link per customer, opened as that customer's admin).";

fn header(app: &ClientId, cloud: Cloud, flavor: &str) -> String {
    format!(
        "# Entra Onboard - add the app's service principal to the AdminAgents group\n\
         # Run in the CSP PARTNER tenant, signed in as a Groups Administrator or User\n\
         # Administrator (Microsoft's least privileged roles for adding group members; a\n\
         # Global Administrator works too). If AdminAgents is role-assignable, a Privileged\n\
         # Role Administrator instead (the Graph version checks and says so).\n\
         # App (client) ID: {app}\n\
         # Cloud: {}\n\
         # Flavour: {flavor}\n\
         #\n\
         {GDAP_NOTE}\n",
        cloud.label()
    )
}

/// The script in `flavor` for `app` in `cloud`.
pub fn script(app: &ClientId, cloud: Cloud, flavor: Flavor) -> String {
    let s = match flavor {
        Flavor::Graph => format!(
            "{header}\
#Requires -Modules Microsoft.Graph.Authentication, Microsoft.Graph.Groups, Microsoft.Graph.Applications
# Install once if needed:  Install-Module Microsoft.Graph -Scope CurrentUser
$ErrorActionPreference = 'Stop'
$AppId = '{app}'

# Least privileged scopes for adding a service principal to a group (Graph \"Add members\"):
# GroupMember.ReadWrite.All and Application.ReadWrite.All.
Connect-MgGraph -Environment {env} -Scopes 'GroupMember.ReadWrite.All', 'Application.ReadWrite.All' -NoWelcome

$group = Get-MgGroup -Filter \"displayName eq 'AdminAgents'\" -Property Id, DisplayName, IsAssignableToRole
if (-not $group) {{ throw 'No AdminAgents group here. Sign in to the CSP partner tenant and run this again.' }}
if ($group.IsAssignableToRole) {{
    # A role-assignable group also needs RoleManagement.ReadWrite.Directory, and the
    # signed-in user must be a Privileged Role Administrator (Graph \"Add members\").
    Write-Host 'AdminAgents is role-assignable here: reconnecting with RoleManagement.ReadWrite.Directory (sign in as a Privileged Role Administrator).'
    Connect-MgGraph -Environment {env} -Scopes 'GroupMember.ReadWrite.All', 'Application.ReadWrite.All', 'RoleManagement.ReadWrite.Directory' -NoWelcome
}}

$sp = Get-MgServicePrincipal -Filter \"appId eq '$AppId'\"
if (-not $sp) {{ throw \"No service principal for $AppId in this tenant. Grant admin consent to the app first (Entra Onboard step 4), then run this again.\" }}

$already = Get-MgGroupMember -GroupId $group.Id -All | Where-Object {{ $_.Id -eq $sp.Id }}
if ($already) {{
    Write-Host \"$($sp.DisplayName) is already a member of AdminAgents. Nothing to do.\"
}} else {{
    New-MgGroupMemberByRef -GroupId $group.Id -OdataId \"https://{graph}/v1.0/directoryObjects/$($sp.Id)\"
    Write-Host \"Added $($sp.DisplayName) to AdminAgents.\"
}}
",
            header = header(app, cloud, "Microsoft Graph PowerShell"),
            env = cloud.graph_powershell_environment(),
            graph = cloud.graph_host(),
        ),
        Flavor::Azuread => format!(
            "{header}\
# The AzureAD module is retired by Microsoft; prefer the Microsoft Graph version.
# Install once if needed:  Install-Module AzureAD
$ErrorActionPreference = 'Stop'
Connect-AzureAD -AzureEnvironmentName {env}
$group = Get-AzureADGroup -Filter \"displayName eq 'AdminAgents'\"
$sp = Get-AzureADServicePrincipal -Filter \"appId eq '{app}'\"
Add-AzureADGroupMember -ObjectId $group.ObjectId -RefObjectId $sp.ObjectId
",
            header = header(app, cloud, "AzureAD (legacy)"),
            env = cloud.azure_environment(),
        ),
        Flavor::Az => format!(
            "{header}\
# Install once if needed:  Install-Module Az.Resources -Scope CurrentUser
$ErrorActionPreference = 'Stop'
Connect-AzAccount -Environment {env}
$group = Get-AzADGroup -DisplayName 'AdminAgents'
$sp = Get-AzADServicePrincipal -ApplicationId '{app}'
if (-not $group) {{ throw 'No AdminAgents group here. Sign in to the CSP partner tenant and run this again.' }}
if (-not $sp) {{ throw 'No service principal for the app in this tenant. Grant admin consent first (Entra Onboard step 4).' }}
Add-AzADGroupMember -TargetGroupObjectId $group.Id -MemberObjectId $sp.Id
",
            header = header(app, cloud, "Az PowerShell"),
            env = cloud.azure_environment(),
        ),
    };
    debug_assert!(
        s.is_ascii(),
        "scripts must stay ASCII for Windows PowerShell 5.1"
    );
    s
}

/// The text as a `.ps1` file: CRLF line ends (Windows PowerShell 5.1 reads ASCII + CRLF
/// reliably whatever the code page).
pub fn to_ps1(script: &str) -> String {
    script.replace("\r\n", "\n").replace('\n', "\r\n")
}

/// Plans step 5: the three scripts, when CSP is on and the client id is valid.
pub fn scripts(p: &Profile, b: &Basics, issues: &mut Issues) -> Option<CspScripts> {
    if !p.features.csp {
        return None;
    }
    if p.tenant_type != TenantType::Multi {
        issues.error(
            STEP,
            "tenant_type",
            "csp.needs_multi_tenant",
            "The CSP integration reaches customers' tenants, so its app must be multi-tenant.",
            "Choose 'Multi-tenant' in step 1 (and 'Accounts in any organizational directory' on the app registration).",
        );
    }
    let app = b.client_id.as_ref()?;
    issues.info(
        STEP,
        "features.csp",
        "csp.gdap_consent",
        "Under GDAP, AdminAgents membership no longer grants access to customer tenants; each customer tenant must consent to the app.",
        "After running the script, send the step 4 consent link to each customer's admin.",
    );
    issues.info(
        STEP,
        "features.csp",
        "csp.script_role",
        "The Graph script asks only for GroupMember.ReadWrite.All and Application.ReadWrite.All, Microsoft's least privileged permissions for adding a service principal to a group; it adds RoleManagement.ReadWrite.Directory only if AdminAgents is role-assignable.",
        "Run it in the partner tenant as a Groups Administrator or User Administrator (a Global Administrator works too); if it says AdminAgents is role-assignable, as a Privileged Role Administrator.",
    );
    Some(CspScripts {
        graph: script(app, p.cloud, Flavor::Graph),
        azure_ad: script(app, p.cloud, Flavor::Azuread),
        az: script(app, p.cloud, Flavor::Az),
    })
}
