//! `entra-onboard teams-package --profile acme.json --out acme-teams.zip [--version 1.0.1]`:
//! the self-service portal as a Microsoft Teams personal tab. Writes the Teams app package
//! (manifest.json, color.png 192x192, outline.png 32x32) and prints what the app
//! registration needs for Teams sign-in and how the Teams administrator uploads it.
//!
//! Exit codes as everywhere: 0 written, 2 bad input (the profile lacks what the package
//! needs, a bad version, an unwritable file).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::cli::Format;

/// The arguments of `teams-package`.
#[derive(Debug, clap::Args)]
pub struct TeamsPackageArgs {
    /// The profile JSON file.
    #[arg(long, value_name = "FILE")]
    profile: PathBuf,
    /// The .zip file to write (replaced if it exists; its folder must exist).
    #[arg(long, value_name = "FILE", visible_alias = "output")]
    out: PathBuf,
    /// The Teams app version, MAJOR.MINOR.PATCH. Teams replaces an uploaded app only with a
    /// higher version: use 1.0.1, 1.1.0 … for updates.
    #[arg(long, value_name = "X.Y.Z", default_value = crate::teams::DEFAULT_APP_VERSION)]
    version: String,
    /// Output format (json: the path, the manifest and what the registration needs).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

/// `teams-package --help`.
pub const TEAMS_ABOUT: &str = "\
Write the Teams app package that shows the service desk's self-service portal as a personal
tab in Microsoft Teams: a .zip with manifest.json (schema 1.30), color.png (192x192) and
outline.png (32x32, white on transparent). No secret is in it: only the app's client ID, the
portal and service-desk host names and the customer name.

Teams signs portal users in silently (tab SSO) when the app registration exposes an API:
  - Application ID URI  api://<portal host>/<client id>
  - a scope named access_as_user
  - the Teams clients 1fec8e78-bce4-4aaf-ab1b-5451cc387264 (desktop and mobile) and
    5e3ce6c0-2b1f-4285-8d4b-75ee78787346 (web) pre-authorised for that scope
  - accessTokenAcceptedVersion 2
`entra-onboard apply <profile> --teams-tab` sets these through Microsoft Graph; the output of
this command lists them for the Entra admin centre too.

Then a Teams Administrator uploads the .zip: Teams admin center > Teams apps > Manage apps >
Upload new app, and pins it for people with an app setup policy (Teams apps > Setup policies >
Pinned apps > Add apps).

  entra-onboard teams-package --profile acme.json --out acme-teams.zip";

/// Runs `teams-package`.
pub fn run(args: TeamsPackageArgs, out: &mut dyn Write) -> Result<ExitCode, String> {
    let w = |e: std::io::Error| e.to_string();
    let p = crate::cli::load(&args.profile)?;
    let package = crate::teams::write_package(&p, args.version.trim(), &args.out)
        .map_err(|e| package_error(&args.profile, &e))?;
    match args.format {
        Format::Json => {
            let v = serde_json::json!({
                "path": args.out.display().to_string(),
                "bytes": package.zip.len(),
                "manifest": package.manifest,
                "teamsTab": package.plan,
            });
            serde_json::to_writer_pretty(&mut *out, &v).map_err(|e| e.to_string())?;
            writeln!(out).map_err(w)?;
        }
        Format::Text => write!(out, "{}", render(&args.out, &package)).map_err(w)?,
    }
    Ok(ExitCode::SUCCESS)
}

fn package_error(profile: &Path, e: &crate::teams::TeamsPackageError) -> String {
    match e {
        crate::teams::TeamsPackageError::Profile(_) => format!(
            "{}: no Teams package yet; fix these first:\n{e}",
            profile.display()
        ),
        _ => e.to_string(),
    }
}

fn render(path: &Path, package: &crate::teams::TeamsPackage) -> String {
    use std::fmt::Write as _;
    let plan = &package.plan;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Wrote the Teams app package to {} (version {}, Teams app id {})",
        path.display(),
        package.manifest.version,
        plan.teams_app_id
    );
    let _ = writeln!(
        s,
        "  Personal tab: {}",
        crate::text::clean(&plan.portal_url)
    );
    let _ = writeln!(s, "  validDomains: {}", plan.valid_domains.join(", "));
    for n in &plan.notes {
        let _ = writeln!(s, "  ! {n}");
    }
    let _ = writeln!(
        s,
        "\nOn the app registration (or run `entra-onboard apply <profile> --teams-tab`):"
    );
    for (i, step) in plan.registration_steps.iter().enumerate() {
        let _ = writeln!(s, "  {}. {}", i + 1, crate::text::clean(step));
    }
    let _ = writeln!(s, "\nIn the Microsoft Teams admin center:");
    for (i, step) in plan.admin_steps.iter().enumerate() {
        let _ = writeln!(s, "  {}. {}", i + 1, crate::text::clean(step));
    }
    s
}

/// The plan's optional Teams section: what the registration needs, or what stops the package.
pub fn render_plan_section(s: &mut String, tab: &crate::teams::TeamsTab) {
    use std::fmt::Write as _;
    let _ = writeln!(
        s,
        "\nOptional — the portal as a Teams tab (entra-onboard teams-package)"
    );
    match &tab.ready {
        Some(plan) => {
            let _ = writeln!(
                s,
                "  Personal tab: {}",
                crate::text::clean(&plan.portal_url)
            );
            for step in &plan.registration_steps {
                let _ = writeln!(s, "    {}", crate::text::clean(step));
            }
        }
        None => {
            for i in &tab.blockers {
                let _ = writeln!(s, "  not yet: {}: {}", i.field, i.message);
            }
        }
    }
}
