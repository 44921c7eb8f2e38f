//! The `entra-onboard` command line: everything the wizard does, scriptable. One module
//! per group of commands: [`creds`] (cert, reminder, consent capture, tenants), [`graph`]
//! (apply, doctor), [`sync`] (sync-preview), [`report`] (report, dashboard, profile
//! export/import), [`sandbox`], [`teams_tab`] (teams-package); the rest is here.
//!
//! Exit codes: 0 success, 1 a test or check failed, 2 bad input or setup (an invalid
//! profile, an unreadable file). Machine-readable output with `--format json`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use chrono::NaiveDate;
use clap::{Parser, Subcommand, ValueEnum};

use std::sync::Arc;

use crate::ids::Sensitive;
use crate::keychain::Keychain;
use crate::plan::{Plan, plan};
use crate::profile::{Profile, ProfileStore};
use crate::sso_test::{
    CancellationToken, ClientCredential, ProgressFn, SsoProgress, SsoTestOptions, render_text,
};
use crate::steps::credential::check_secret_expiry;
use crate::steps::csp::{Flavor, to_ps1};
use crate::validation::Severity;

mod creds;
mod graph;
mod report;
mod rotate;
mod rotate_by_hand;
mod sandbox;
mod sync;
mod teams_tab;

const ABOUT: &str = "Connect a service desk (HaloITSM, HaloPSA, HaloCRM) to Microsoft Entra ID, \
step by step, and prove the sign-in works.";

const LONG_ABOUT: &str = "\
Connect a service desk (HaloITSM, HaloPSA, HaloCRM) to Microsoft Entra ID, step by step,
and prove the sign-in works.

A profile is a JSON file describing one customer's connection. The smallest useful one:

  {
    \"name\": \"Acme\",
    \"agent_url\": \"https://acme.halopsa.com\",
    \"tenant_id\": \"<Directory (tenant) ID>\",
    \"client_id\": \"<Application (client) ID>\",
    \"sso_for\": \"both\"
  }

`entra-onboard plan acme.json` then prints the redirect URIs to register, the admin-consent
link, the CSP script and the settings to make in the service desk, with every problem named
by field. Profiles made in the desktop app live in the folder `entra-onboard profiles` prints.";

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Readable text.
    Text,
    /// JSON (stable field names; for scripts).
    Json,
}

/// `--app`: which of the customer's app registrations (CSP has two).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum AppArg {
    /// The profile's own app (SSO, import; CSP's multi-tenant app).
    #[default]
    Main,
    /// CSP's single-tenant Partner Center app.
    PartnerCenter,
}

impl From<AppArg> for crate::profile::CustomerApp {
    fn from(a: AppArg) -> Self {
        match a {
            AppArg::Main => crate::profile::CustomerApp::Main,
            AppArg::PartnerCenter => crate::profile::CustomerApp::PartnerCenter,
        }
    }
}

/// `script --flavor`: the core's [`Flavor`], spelled for the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum FlavorArg {
    /// Microsoft Graph PowerShell (recommended).
    Graph,
    /// Legacy AzureAD module (retired by Microsoft; from Halo's guide).
    Azuread,
    /// Az PowerShell.
    Az,
}

impl From<FlavorArg> for Flavor {
    fn from(f: FlavorArg) -> Flavor {
        match f {
            FlavorArg::Graph => Flavor::Graph,
            FlavorArg::Azuread => Flavor::Azuread,
            FlavorArg::Az => Flavor::Az,
        }
    }
}

#[derive(Debug, Parser)]
#[command(name = "entra-onboard", version, about = ABOUT, long_about = LONG_ABOUT)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print the plan for a profile: redirect URIs, consent link, CSP script, settings
    /// sheet and every problem. Exit 0 when valid, 2 when any error is found.
    Plan {
        /// The profile JSON file.
        profile: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Explain an error: paste what Halo, Entra or the browser showed (an AADSTS code
    /// anywhere in it, or one of the service-desk messages the guides list) and get the
    /// cause, the fix and the wizard step; with --profile, the exact values to compare.
    /// Text it does not recognise is said so (exit 1), never guessed.
    Explain {
        /// The pasted text; "-" or none reads standard input (at most 64 KiB).
        text: Option<String>,
        /// A customer profile JSON file, for the values to check.
        #[arg(long)]
        profile: Option<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Print the admin-consent link (step 4); with --open, open it in the browser; with
    /// --capture, open it with the wizard's loopback redirect and record Entra's answer in
    /// the profile (exit 0 consented, 1 declined, failed or no answer).
    Consent {
        /// The profile JSON file.
        profile: PathBuf,
        /// Open the link in the default browser (honours $BROWSER on Linux).
        #[arg(long, conflicts_with = "capture")]
        open: bool,
        /// Which app: `partner-center` prints CSP's Partner Center app's link, in the
        /// partner tenant.
        #[arg(long, value_enum, default_value_t = AppArg::Main, conflicts_with = "capture")]
        app: AppArg,
        /// Capture the answer on this computer's loopback and record it in the profile.
        #[arg(long)]
        capture: bool,
        /// With --capture: a customer tenant (ID or domain) instead of the profile's own.
        #[arg(long, value_name = "ID", requires = "capture")]
        tenant: Option<String>,
        /// With --capture: seconds to wait for the answer (1 to 3600).
        #[arg(long, default_value_t = 300, value_name = "SECS", value_parser = timeout_secs())]
        timeout: u64,
        /// With --capture: output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Generate or import the app's certificate credential (step 3).
    Cert {
        #[command(subcommand)]
        action: crate::cli::creds::CertAction,
    },
    /// Write the credential's rotation reminder as an .ics calendar file (an all-day event
    /// on the expiry date, alarm 30 days before; no secret in it).
    Reminder {
        /// The profile JSON file.
        profile: PathBuf,
        /// The .ics file to write.
        #[arg(long, value_name = "FILE")]
        output: PathBuf,
    },
    /// Partners: the customer tenants that must each consent (step 5) — import, list,
    /// consent, export, allow.
    Tenants {
        #[command(subcommand)]
        action: crate::cli::creds::TenantsAction,
    },
    /// Print the AdminAgents elevation script (step 5, CSP).
    Script {
        /// The profile JSON file.
        profile: PathBuf,
        /// Which PowerShell flavour.
        #[arg(long, value_enum, default_value_t = FlavorArg::Graph)]
        flavor: FlavorArg,
        /// Write a .ps1 file (ASCII, CRLF) instead of printing.
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Prove the sign-in works with real tokens: opens the browser once, validates the
    /// ID tokens, redeems the code with the credential and asks for an app-only Graph
    /// token. Exit 0 passed, 1 a check failed, 2 bad input or setup.
    SsoTest {
        /// The profile JSON file.
        profile: PathBuf,
        /// Seconds to wait for the browser to come back (1 to 3600).
        #[arg(long, default_value_t = 180, value_name = "SECS", value_parser = timeout_secs())]
        timeout: u64,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Read the client secret from standard input (first line) instead of the keychain.
        /// Secrets are never taken from arguments or environment variables. Without this
        /// or --cert/--key, the secret stored with `secret set` is used.
        #[arg(long, conflicts_with_all = ["cert", "key", "pfx"])]
        secret_stdin: bool,
        /// Certificate credential: the certificate (PEM) uploaded to the app.
        #[arg(long, value_name = "PEM", requires = "key")]
        cert: Option<PathBuf>,
        /// Certificate credential: its RSA private key (PEM).
        #[arg(long, value_name = "PEM", requires = "cert")]
        key: Option<PathBuf>,
        /// After a passing test, record "verified on <date> as <user>" in the profile file
        /// (the desktop app's customer list shows it). A failed test changes nothing.
        #[arg(long)]
        record: bool,
        /// Certificate credential from a .pfx (made by `cert new` or checked by `cert
        /// import`); its password comes from the keychain, or standard input with
        /// --pfx-password-stdin.
        #[arg(long, value_name = "PFX", conflicts_with_all = ["cert", "key"])]
        pfx: Option<PathBuf>,
        /// Read the .pfx password from standard input instead of the keychain.
        #[arg(long, requires = "pfx")]
        pfx_password_stdin: bool,
    },
    /// List the profiles saved by the desktop app, print one, or move them all to another
    /// computer (--export, then --import there; no secrets travel).
    Profiles {
        /// Print one profile's JSON by id instead of the list.
        #[arg(long, value_name = "ID", conflicts_with_all = ["export", "import"])]
        show: Option<String>,
        /// Write every profile to one JSON file (no secrets in it) for another computer.
        #[arg(long, value_name = "FILE", conflicts_with = "import")]
        export: Option<PathBuf>,
        /// Import an export file (or a single profile file). A customer already here with
        /// other values is a conflict: listed and left alone unless --replace. Exit 1 when a
        /// profile in it was rejected or left as a conflict.
        #[arg(long, value_name = "FILE")]
        import: Option<PathBuf>,
        /// With --import: replace the customers already here with the file's copies (a
        /// changed tenant, client id, cloud, authority or agent URL also deletes their
        /// keychain entries).
        #[arg(long, requires = "import")]
        replace: bool,
        /// Output format for the list.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Run the sandbox (practice) tenant on 127.0.0.1 until Ctrl-C: an Entra-like sign-in
    /// and Microsoft Graph on one port, with a demo app, secret and users, for practising
    /// every step with no Microsoft tenant. What Graph creates or changes (apply, doctor)
    /// is what its sign-in enforces. Prints the base URL to put in a profile's "authority".
    Sandbox {
        /// Port on 127.0.0.1 (default: a free one).
        #[arg(long)]
        port: Option<u16>,
        /// Start with admin consent already granted for the demo app.
        #[arg(long, conflicts_with = "empty")]
        consented: bool,
        /// Start with no app registration: create one with `apply`, as in a new tenant.
        #[arg(long)]
        empty: bool,
        /// Output format (json: one line with the sandbox's details).
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Write the handover report of a profile: a standalone HTML page (print it to PDF)
    /// for the customer with what was configured and the follow-ups. No secrets in it.
    Report {
        /// The profile JSON file.
        profile: PathBuf,
        /// The .html file to write (default: standard output).
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Every customer in the app's store: verified or not, credential expiry (warnings at
    /// 60/30/7 days), consent coverage, remaining problems, and unreadable profile files.
    Dashboard {
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Only customers whose name, service desk address or tenant ID contain every word.
        #[arg(long, value_name = "WORDS")]
        search: Option<String>,
    },
    /// Store, check or delete a profile's client secret in the OS keychain.
    #[command(long_about = SECRET_ABOUT)]
    Secret {
        #[command(subcommand)]
        action: SecretAction,
    },
    /// Create or repair the app registration through Microsoft Graph (signs you in once in
    /// the browser). Idempotent; --dry-run prints the requests. Exit 0 done, 1 a step
    /// failed (the output says what exists), 2 bad input or sign-in.
    Apply(crate::cli::graph::ApplyArgs),
    /// Check a live app registration against the plan (redirect URIs, ID tokens, audience,
    /// credentials, service principal, consent). Exit 0 clean, 1 findings with errors, 2
    /// bad input or the check could not run.
    Doctor(crate::cli::graph::DoctorArgs),
    /// Replace the app's client secret without downtime: a new secret beside the old one,
    /// proven, pasted into Halo, proven again, then the old one removed; any failure rolls
    /// back. --dry-run prints the plan and sends nothing.
    #[command(long_about = crate::cli::rotate::ROTATE_ABOUT)]
    Rotate(crate::cli::rotate::RotateArgs),
    /// Preview the first user/technician sync with the app's own credential: technicians,
    /// end users, service accounts, accounts made inactive, matching and email collisions,
    /// per site; --csv writes one line per user. Reads only. Exit 0 ok, 1 blocking problems
    /// (e.g. a permission to grant), 2 bad input.
    SyncPreview(crate::cli::sync::SyncPreviewArgs),
    /// Write the Teams app package (manifest + two icons, zipped) that shows the
    /// self-service portal as a personal tab in Microsoft Teams, and print what the app
    /// registration needs for Teams sign-in and how to upload it. Exit 0 written, 2 bad input.
    #[command(long_about = crate::cli::teams_tab::TEAMS_ABOUT)]
    TeamsPackage(crate::cli::teams_tab::TeamsPackageArgs),
}

const SECRET_ABOUT: &str = "\
Store, check or delete a profile's client secret in the OS keychain (Secret Service on Linux,
Keychain on macOS, Credential Manager on Windows), under the profile's `id`.

The profile file records only the kind of credential, its expiry and the first three
characters (Entra's \"hint\"); the value itself never goes to a file, an argument or the
output. When no keychain is usable these commands stop with exit code 2 and say what to do.";

#[derive(Debug, Subcommand)]
enum SecretAction {
    /// Store the client secret's Value, read from standard input, and record its hint and
    /// expiry in the profile.
    #[command(long_about = SECRET_SET_ABOUT)]
    Set {
        /// The profile JSON file (it must have an `id`).
        profile: PathBuf,
        /// The 'Expires' date shown in Certificates & secrets (YYYY-MM-DD), at most 24
        /// months away.
        #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
        expires: Option<NaiveDate>,
        /// Which app's secret: `partner-center` for CSP's Partner Center app (its own
        /// keychain entry, hint and expiry).
        #[arg(long, value_enum, default_value_t = AppArg::Main)]
        app: AppArg,
    },
    /// Say whether a client secret is stored for the profile, with its hint and expiry.
    /// Exit 0 when one is stored, 1 when not.
    Status {
        /// The profile JSON file.
        profile: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Which app's secret.
        #[arg(long, value_enum, default_value_t = AppArg::Main)]
        app: AppArg,
    },
    /// Delete the profile's client secret and certificate password from the keychain. The
    /// secret stays valid in Entra until you delete it under Certificates & secrets.
    Delete {
        /// The profile JSON file.
        profile: PathBuf,
        /// Only this app's entries (without it: every app's).
        #[arg(long, value_enum)]
        app: Option<AppArg>,
    },
}

const SECRET_SET_ABOUT: &str = "\
Store the client secret's Value in the OS keychain and record its hint and expiry in the
profile.

The value is read from standard input only, never from an argument (arguments end up in shell
history and process lists). At a terminal it is asked for without echo; from a pipe or file,
exactly one trailing line break is removed:

  entra-onboard secret set acme.json --expires 2027-03-31 < secret.txt

It must be the Value column of Certificates & secrets, not the Secret ID, with no spaces or
line breaks. The profile's `credential` is then set to kind \"secret\" with the hint and expiry.";

fn parse_date(s: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| format!("{s:?} is not a date in the form YYYY-MM-DD"))
}

/// Runs the CLI with the process arguments.
pub fn main() -> ExitCode {
    run(
        std::env::args_os(),
        &mut std::io::stdout(),
        &mut std::io::stderr(),
    )
}

/// Runs the CLI with explicit arguments and streams (used by tests).
pub fn run<I, T>(args: I, out: &mut dyn Write, err: &mut dyn Write) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = if e.use_stderr() {
                write!(err, "{}", e.render())
            } else {
                write!(out, "{}", e.render())
            };
            return ExitCode::from(code);
        }
    };
    match execute(cli.command, out) {
        Ok(code) => code,
        Err(message) => {
            let _ = writeln!(err, "error: {message}");
            ExitCode::from(2)
        }
    }
}

/// `--timeout SECS`: 1 to [`crate::sso_test::MAX_TIMEOUT_SECS`], so a typo (or
/// `18446744073709551615`) is a clear argument error, not an overflowing deadline.
pub(crate) fn timeout_secs() -> clap::builder::RangedU64ValueParser<u64> {
    clap::value_parser!(u64).range(1..=crate::sso_test::MAX_TIMEOUT_SECS)
}

pub(crate) fn load(path: &std::path::Path) -> Result<Profile, String> {
    crate::profile::read_file(path).map_err(|e| match e {
        // A refused read already names the file.
        e @ crate::profile::ProfileError::File { .. } => e.to_string(),
        e => format!("{}: {e}", path.display()),
    })
}

/// Runs one command: each command's work is its own function (here or in a submodule).
fn execute(command: Command, out: &mut dyn Write) -> Result<ExitCode, String> {
    match command {
        Command::Plan { profile, format } => plan_cmd(&profile, format, out),
        Command::Explain {
            text,
            profile,
            format,
        } => explain_cmd(text, profile.as_deref(), format, out),
        Command::Consent {
            profile,
            capture: true,
            tenant,
            timeout,
            format,
            ..
        } => crate::cli::creds::consent_capture(&profile, tenant.as_deref(), timeout, format, out),
        Command::Cert { action } => crate::cli::creds::cert(action, out),
        Command::Reminder { profile, output } => {
            crate::cli::creds::reminder(&profile, &output, out)
        }
        Command::Tenants { action } => crate::cli::creds::tenants_cmd(action, out),
        Command::Consent {
            profile,
            open,
            app: AppArg::PartnerCenter,
            ..
        } => partner_center_consent_link(&profile, open, out),
        Command::Consent { profile, open, .. } => consent_link(&profile, open, out),
        Command::Script {
            profile,
            flavor,
            output,
        } => script_cmd(&profile, flavor, output.as_deref(), out),
        Command::SsoTest {
            profile,
            timeout,
            format,
            secret_stdin,
            cert,
            key,
            record,
            pfx,
            pfx_password_stdin,
        } => {
            let p = load(&profile)?;
            let credential = match pfx {
                Some(pfx) => crate::cli::creds::pfx_credential(&p, &pfx, pfx_password_stdin)?,
                None => read_credential(&p, secret_stdin, cert.as_deref(), key.as_deref())?,
            };
            sso_test(
                &p,
                &credential,
                timeout,
                format,
                record.then_some(&profile),
                out,
            )
        }
        Command::Sandbox {
            port,
            consented,
            empty,
            format,
        } => crate::cli::sandbox::run(port, consented, empty, format, out),
        Command::Report { profile, output } => {
            crate::cli::report::report(&profile, output.as_deref(), out)
        }
        Command::Dashboard { format, search } => {
            crate::cli::report::dashboard_cmd(format, search.as_deref(), out)
        }
        Command::Profiles {
            export: Some(file), ..
        } => crate::cli::report::export_profiles(&file, out),
        Command::Profiles {
            import: Some(file),
            replace,
            format,
            ..
        } => crate::cli::report::import_profiles(&file, replace, format, out),
        Command::Profiles { show, format, .. } => list_profiles(show.as_deref(), format, out),
        Command::Secret { action } => secret(action, out),
        Command::Apply(args) => crate::cli::graph::run_apply(args, out),
        Command::Doctor(args) => crate::cli::graph::run_doctor(args, out),
        Command::Rotate(args) => crate::cli::rotate::run(args, out),
        Command::SyncPreview(args) => crate::cli::sync::run(args, out),
        Command::TeamsPackage(args) => crate::cli::teams_tab::run(args, out),
    }
}

/// `plan`: the plan as text or JSON (exit 2 when it has errors).
fn plan_cmd(profile: &Path, format: Format, out: &mut dyn Write) -> Result<ExitCode, String> {
    let w = |e: std::io::Error| e.to_string();
    let p = load(profile)?;
    let plan = plan(&p);
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, &plan).map_err(|e| e.to_string())?;
            writeln!(out).map_err(w)?;
        }
        Format::Text => write!(out, "{}", render_plan(&p, &plan)).map_err(w)?,
    }
    Ok(if plan.valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

/// `explain`: what a pasted error means, from the catalogue only.
fn explain_cmd(
    text: Option<String>,
    profile: Option<&Path>,
    format: Format,
    out: &mut dyn Write,
) -> Result<ExitCode, String> {
    use entra_onboard_engine::explain::{MAX_TEXT, explain};
    let w = |e: std::io::Error| e.to_string();
    let text = match text.as_deref() {
        None | Some("-") => crate::bounded::read_stdin(MAX_TEXT as u64, "the error text")
            .map_err(|e| e.to_string())?,
        Some(t) => t.to_string(),
    };
    let p = profile.map(load).transpose()?;
    let e = explain(&text, p.as_ref());
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, &e).map_err(|e| e.to_string())?;
            writeln!(out).map_err(w)?;
        }
        Format::Text => {
            for f in &e.findings {
                let step = f
                    .step
                    .map(|s| format!("step {s}"))
                    .unwrap_or_else(|| "outside the wizard".into());
                writeln!(out, "{} — {} ({step})", f.matched, f.name).map_err(w)?;
                writeln!(out, "  Cause: {}", f.cause).map_err(w)?;
                writeln!(out, "  Fix:   {}", f.fix).map_err(w)?;
                for c in &f.check {
                    writeln!(out, "  Check: {}", entra_onboard_engine::text::clean(c))
                        .map_err(w)?;
                }
            }
            if let Some(n) = &e.note {
                writeln!(out, "{n}").map_err(w)?;
            }
        }
    }
    Ok(if e.recognised {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// `consent`: prints the admin-consent link, and with `--open` opens it in the browser
/// (only on the profile's login host).
fn consent_link(profile: &Path, open: bool, out: &mut dyn Write) -> Result<ExitCode, String> {
    let w = |e: std::io::Error| e.to_string();
    let p = load(profile)?;
    let plan = plan(&p);
    let Some(consent) = plan.consent else {
        let errors: Vec<String> = plan
            .errors()
            .map(|i| format!("  {}: {}", i.field, i.message))
            .collect();
        return Err(format!(
            "no consent link yet; fix these first:\n{}",
            errors.join("\n")
        ));
    };
    writeln!(out, "{}", consent.url).map_err(w)?;
    if open {
        // The link printed is the one opened, checked against the profile's login host
        // (what `link_to_open` does, without planning again).
        let url =
            crate::steps::consent::check_login_url(&p, &consent.url).map_err(|e| e.to_string())?;
        crate::browser::open(&url).map_err(|e| e.to_string())?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `consent --app partner-center`: the Partner Center app's admin-consent link, in the
/// partner tenant (it is single tenant).
fn partner_center_consent_link(
    profile: &Path,
    open: bool,
    out: &mut dyn Write,
) -> Result<ExitCode, String> {
    let w = |e: std::io::Error| e.to_string();
    let p = load(profile)?;
    let plan = plan(&p);
    let Some(pc) = plan.partner_center else {
        return Err("the Partner Center app is part of the CSP integration: turn on \"features\": {\"csp\": true} first".into());
    };
    let Some(consent) = pc.consent else {
        let problems: Vec<String> = plan
            .issues
            .iter()
            .filter(|i| i.severity != Severity::Info)
            .filter(|i| i.step == 1 || i.field.starts_with("partner_center.client_id"))
            .map(|i| format!("  {}: {}", i.field, i.message))
            .collect();
        return Err(format!(
            "no consent link for the Partner Center app yet; fix these first:\n{}",
            problems.join("\n")
        ));
    };
    writeln!(out, "{}", consent.url).map_err(w)?;
    if open {
        let url =
            crate::steps::consent::check_login_url(&p, &consent.url).map_err(|e| e.to_string())?;
        crate::browser::open(&url).map_err(|e| e.to_string())?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `script`: the AdminAgents elevation script, printed or written as a .ps1 (ASCII, CRLF).
fn script_cmd(
    profile: &Path,
    flavor: FlavorArg,
    output: Option<&Path>,
    out: &mut dyn Write,
) -> Result<ExitCode, String> {
    let w = |e: std::io::Error| e.to_string();
    let p = load(profile)?;
    let plan = plan(&p);
    let Some(app) = &plan.basics.client_id else {
        let msg = plan
            .issues
            .iter()
            .find(|i| i.field == "client_id" && i.severity == Severity::Error)
            .map(|i| format!("client_id: {} {}", i.message, i.fix))
            .unwrap_or_else(|| "client_id is not valid".into());
        return Err(msg);
    };
    let script = crate::steps::csp::script(app, p.cloud, flavor.into());
    match output {
        Some(path) => {
            crate::profile::write_atomic(path, to_ps1(&script).as_bytes())
                .map_err(|e| format!("{}: {e}", path.display()))?;
            writeln!(out, "Wrote {}", path.display()).map_err(w)?;
        }
        None => write!(out, "{script}").map_err(w)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// `profiles` (without export/import): the saved profiles, or one with `--show`.
fn list_profiles(
    show: Option<&str>,
    format: Format,
    out: &mut dyn Write,
) -> Result<ExitCode, String> {
    let w = |e: std::io::Error| e.to_string();
    let store = ProfileStore::open_default().map_err(|e| e.to_string())?;
    if let Some(id) = show {
        let p = store.load(id).map_err(|e| e.to_string())?;
        write!(out, "{}", p.to_json()).map_err(w)?;
        return Ok(ExitCode::SUCCESS);
    }
    let list = store.list().map_err(|e| e.to_string())?;
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, &list).map_err(|e| e.to_string())?;
            writeln!(out).map_err(w)?;
        }
        Format::Text => {
            writeln!(out, "Profiles in {}", store.dir().display()).map_err(w)?;
            if list.is_empty() {
                writeln!(out, "  (none yet — create one in the desktop app)").map_err(w)?;
            }
            for s in list {
                let verified = s
                    .verified_at
                    .map(|d| format!("verified {}", d.format("%Y-%m-%d")))
                    .unwrap_or_else(|| "not verified".into());
                // Names and URLs may come from an imported file: cleaned for the terminal.
                writeln!(
                    out,
                    "  {}  {}  {}  ({verified})",
                    s.id,
                    crate::text::clean(&s.name),
                    crate::text::clean(&s.agent_url)
                )
                .map_err(w)?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The profile's id, which names its keychain entries; a profile without one has nowhere
/// for its secret to go.
pub(crate) fn keychain_id(p: &Profile, path: &std::path::Path) -> Result<String, String> {
    match uuid::Uuid::parse_str(p.id.trim()) {
        Ok(id) => Ok(id.hyphenated().to_string()),
        Err(_) => {
            let what = if p.id.trim().is_empty() {
                "has no \"id\"".to_string()
            } else {
                format!("has an \"id\" ({:?}) that is not a UUID", p.id)
            };
            Err(format!(
                "{}: the profile {what}, and its secret is stored under that id. Add a line such as \"id\": \"{}\" to the file, or save the profile from the desktop app, which gives it one.",
                path.display(),
                uuid::Uuid::new_v4()
            ))
        }
    }
}

fn secret(action: SecretAction, out: &mut dyn Write) -> Result<ExitCode, String> {
    let w = |e: std::io::Error| e.to_string();
    match action {
        SecretAction::Set {
            profile,
            expires,
            app,
        } => {
            let app = crate::profile::CustomerApp::from(app);
            let mut p = load(&profile)?;
            keychain_id(&p, &profile)?;
            let today = chrono::Local::now().date_naive();
            if let Some(date) = expires {
                // Checked before the secret is read, so a typo in the date costs no paste.
                check_secret_expiry(date, today).map_err(|e| e.to_string())?;
            }
            let value = read_secret()?;
            let keychain = Keychain::open().map_err(|e| e.to_string())?;
            let status =
                crate::vault::store_app_secret(&keychain, &mut p, app, &value, expires, today)
                    .map_err(|e| e.to_string())?;
            p.updated_at = Some(chrono::Utc::now());
            crate::profile::write_atomic(&profile, p.to_json().as_bytes()).map_err(|e| {
                format!(
                    "the secret is stored, but {} could not be updated: {e}",
                    profile.display()
                )
            })?;
            let hint = status.secret_hint.unwrap_or_default();
            let expiry = match expires {
                Some(d) => format!("expires {d}"),
                None => "expiry not recorded (add --expires YYYY-MM-DD)".into(),
            };
            let whose = match app {
                crate::profile::CustomerApp::PartnerCenter => "Partner Center app's secret stored",
                crate::profile::CustomerApp::Main => "Stored",
            };
            writeln!(
                out,
                "{whose} in {} · hint {hint}… · {expiry}",
                keychain.store_name(),
            )
            .map_err(w)?;
            Ok(ExitCode::SUCCESS)
        }
        SecretAction::Status {
            profile,
            format,
            app,
        } => {
            let app = crate::profile::CustomerApp::from(app);
            let p = load(&profile)?;
            let id = keychain_id(&p, &profile)?;
            let keychain = Keychain::open().map_err(|e| e.to_string())?;
            let st = crate::vault::app_status(&keychain, &p, app).map_err(|e| e.to_string())?;
            let expires_on = p.credential_of(app).expires_on;
            let hint = st.secret_hint.as_deref();
            let hint_matches = st.hint_matches;
            let today = chrono::Local::now().date_naive();
            match format {
                Format::Json => {
                    let v = serde_json::json!({
                        "stored": st.secret_stored,
                        "store": keychain.store_name(),
                        "service": keychain.service(),
                        "profile_id": id,
                        "secret_hint": hint,
                        "hint_matches": hint_matches,
                        "expires_on": expires_on,
                        "certificate_password_stored": st.certificate_password_stored,
                        "app": match app {
                            crate::profile::CustomerApp::Main => "main",
                            crate::profile::CustomerApp::PartnerCenter => "partner-center",
                        },
                    });
                    serde_json::to_writer_pretty(&mut *out, &v).map_err(|e| e.to_string())?;
                    writeln!(out).map_err(w)?;
                }
                Format::Text => {
                    let name = crate::text::clean(if p.name.trim().is_empty() {
                        id.as_str()
                    } else {
                        p.name.trim()
                    });
                    let name = match app {
                        crate::profile::CustomerApp::PartnerCenter => {
                            format!("the Partner Center app of {name}")
                        }
                        crate::profile::CustomerApp::Main => name.into_owned(),
                    };
                    if st.secret_stored {
                        let hint = hint.map(|h| format!(" · hint {h}…")).unwrap_or_default();
                        let expiry = match expires_on {
                            None => " · expiry not recorded".to_string(),
                            Some(d) if d < today => format!(" · EXPIRED {d}"),
                            Some(d) => {
                                format!(" · expires {d} (in {} days)", (d - today).num_days())
                            }
                        };
                        writeln!(
                            out,
                            "A client secret for {name} is stored in {}{hint}{expiry}",
                            keychain.store_name()
                        )
                        .map_err(w)?;
                        if hint_matches == Some(false) {
                            writeln!(out, "  ! The stored secret does not start with the profile's hint: one of them belongs to another secret. Store the current Value again with `entra-onboard secret set`.").map_err(w)?;
                        }
                    } else {
                        writeln!(
                            out,
                            "No client secret for {name} is stored in {}. Store one with: entra-onboard secret set {}",
                            keychain.store_name(),
                            profile.display()
                        )
                        .map_err(w)?;
                    }
                }
            }
            Ok(if st.secret_stored {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        SecretAction::Delete { profile, app } => {
            let p = load(&profile)?;
            let id = keychain_id(&p, &profile)?;
            let keychain = Keychain::open().map_err(|e| e.to_string())?;
            match app {
                None => keychain.delete_all(&id),
                Some(a) => keychain.delete_app(&id, a.into()),
            }
            .map_err(|e| e.to_string())?;
            writeln!(
                out,
                "Deleted the client secret and certificate password of this profile from {} (if there were any). The secret itself stays valid in Entra until you delete it under Certificates & secrets.",
                keychain.store_name()
            )
            .map_err(w)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Reads the secret from standard input: without echo at a terminal, else the whole input
/// minus exactly one trailing line break (anything more is refused by the value check).
fn read_secret() -> Result<Sensitive<String>, String> {
    use std::io::IsTerminal;
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        let v = rpassword::prompt_password("Paste the client secret Value (input hidden): ")
            .map_err(|e| format!("could not read the secret from the terminal: {e}"))?;
        return Ok(Sensitive::new(v));
    }
    // Bounded: a secret is at most 512 characters; a larger input is a wrong file.
    let mut text =
        crate::bounded::read_stdin(crate::bounded::MAX_STDIN_SECRET_BYTES, "a client secret")
            .map_err(|e| e.to_string())?;
    if text.ends_with("\r\n") {
        text.truncate(text.len() - 2);
    } else if text.ends_with('\n') {
        text.truncate(text.len() - 1);
    }
    Ok(Sensitive::new(text))
}

pub(crate) fn read_credential(
    p: &Profile,
    secret_stdin: bool,
    cert: Option<&std::path::Path>,
    key: Option<&std::path::Path>,
) -> Result<ClientCredential, String> {
    if secret_stdin {
        let secret = crate::bounded::read_stdin_line(
            crate::bounded::MAX_STDIN_SECRET_BYTES,
            "a client secret",
        )
        .map_err(|e| format!("--secret-stdin: {e}"))?;
        if secret.is_empty() {
            return Err("--secret-stdin: standard input is empty".into());
        }
        return Ok(ClientCredential::Secret(Sensitive::new(secret)));
    }
    if let (Some(cert), Some(key)) = (cert, key) {
        use crate::bounded::{MAX_PEM_BYTES, read_to_string};
        let cert_pem =
            read_to_string(cert, MAX_PEM_BYTES, "a PEM certificate").map_err(|e| e.to_string())?;
        let key_pem = Sensitive::new(
            read_to_string(key, MAX_PEM_BYTES, "a PEM private key").map_err(|e| e.to_string())?,
        );
        return ClientCredential::certificate_from_pem(&cert_pem, key_pem)
            .map_err(|e| e.to_string());
    }
    // The default: the secret `secret set` stored in the OS keychain for this profile.
    if p.id.trim().is_empty() {
        return Err(
            "no credential: the profile has no id, so nothing is in the keychain for it; \
            pass --secret-stdin (and pipe the secret in) or --cert <pem> --key <pem>"
                .into(),
        );
    }
    let kc = Keychain::open().map_err(|e| e.to_string())?;
    crate::vault::stored_secret(&kc, p)
        .map(ClientCredential::Secret)
        .map_err(|e| format!("{e}; or pass --secret-stdin or --cert <pem> --key <pem>"))
}

fn sso_test(
    p: &Profile,
    credential: &ClientCredential,
    timeout: u64,
    format: Format,
    record: Option<&std::path::Path>,
    out: &mut dyn Write,
) -> Result<ExitCode, String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let progress: ProgressFn = Arc::new(move |event: &SsoProgress| match event {
        SsoProgress::BrowserOpened { .. } if format == Format::Text => {
            eprintln!("Opened the browser: sign in there, then come back here.");
        }
        SsoProgress::BrowserFailed { url, message } => {
            eprintln!("{message}\nOpen this link yourself:\n  {url}");
        }
        SsoProgress::Ignored { reason } if format == Format::Text => {
            eprintln!("(ignored {reason})")
        }
        _ => {}
    });
    let options = SsoTestOptions {
        timeout: std::time::Duration::from_secs(timeout.max(1)),
        progress: Some(progress),
        ..SsoTestOptions::default()
    };
    let cancel = CancellationToken::new();
    let result = runtime.block_on(crate::sso_test::run(p, credential, &options, &cancel));
    let (report, code) = match result {
        Ok(r) => {
            let code = if r.ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            };
            (r, code)
        }
        Err(e) => (e.to_report(), ExitCode::from(2)),
    };
    let w = |e: std::io::Error| e.to_string();
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, &report).map_err(|e| e.to_string())?;
            writeln!(out).map_err(w)?;
        }
        Format::Text => write!(out, "{}", render_text(&report)).map_err(w)?,
    }
    if let (Some(path), Some(v)) = (record, report.verification()) {
        let mut p = p.clone();
        p.verified = Some(v);
        p.updated_at = Some(chrono::Utc::now());
        crate::profile::write_atomic(path, p.to_json().as_bytes()).map_err(|e| {
            format!(
                "the test passed, but {} could not be updated: {e}",
                path.display()
            )
        })?;
        if format == Format::Text {
            writeln!(out, "Recorded as verified in {}.", path.display()).map_err(w)?;
        }
    }
    Ok(code)
}

/// The plan as text, the way an admin reads it during a call.
pub fn render_plan(p: &Profile, plan: &Plan) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let name = crate::text::clean(if p.name.trim().is_empty() {
        "(unnamed profile)"
    } else {
        p.name.trim()
    });
    let _ = writeln!(s, "Entra Onboard plan for {name}");
    let _ = writeln!(
        s,
        "Cloud: {} (sign-in {}, Graph {})",
        plan.cloud.label, plan.cloud.login_host, plan.cloud.graph_host
    );
    render_public_signup(&mut s, plan);
    let _ = writeln!(s);
    let errors = plan
        .issues
        .iter()
        .filter(|i| i.severity == Severity::Error)
        .count();
    let warnings = plan
        .issues
        .iter()
        .filter(|i| i.severity == Severity::Warning)
        .count();
    if errors > 0 {
        let _ = writeln!(s, "{} to fix:", crate::wording::count_len(errors, "error"));
        for i in plan.issues.iter().filter(|i| i.severity == Severity::Error) {
            let _ = writeln!(
                s,
                "  ✗ step {} · {}: {}\n      fix: {}",
                i.step, i.field, i.message, i.fix
            );
        }
        let _ = writeln!(s);
    }
    if warnings > 0 {
        let _ = writeln!(s, "{}:", crate::wording::count_len(warnings, "warning"));
        for i in plan
            .issues
            .iter()
            .filter(|i| i.severity == Severity::Warning)
        {
            let _ = writeln!(
                s,
                "  ! step {} · {}: {}\n      fix: {}",
                i.step, i.field, i.message, i.fix
            );
        }
        let _ = writeln!(s);
    }
    let _ = writeln!(s, "Step 2 — redirect URIs (platform: Web)");
    for r in &plan.redirect_uris {
        let tag = if r.remove_after_onboarding {
            "  [remove after onboarding]"
        } else {
            ""
        };
        let _ = writeln!(s, "  {}\n      {}{tag}", r.uri, r.description);
    }
    let _ = writeln!(s, "\nOn the app registration:");
    for (n, c) in plan.registration_checklist.iter().enumerate() {
        let _ = writeln!(s, "  {}. {c}", n + 1);
    }
    let _ = writeln!(s, "\nStep 4 — admin consent");
    match &plan.consent {
        Some(c) => {
            let _ = writeln!(
                s,
                "  {}\n  Who can consent: {}",
                c.url,
                c.who_can_consent.join("; ")
            );
        }
        None if p.public_signup.variant.is_public() => {
            let _ = writeln!(
                s,
                "  (none for public sign-up: consent to openid and offline_access is given when the app is registered; see step 2)"
            );
        }
        None => {
            let _ = writeln!(s, "  (not available until steps 1 and 2 have no errors)");
        }
    }
    render_partner_center(&mut s, plan);
    if let Some(scripts) = &plan.csp_scripts {
        let _ = writeln!(
            s,
            "\nStep 5 — CSP: AdminAgents script (Microsoft Graph PowerShell)"
        );
        for line in scripts.graph.lines() {
            let _ = writeln!(s, "  {line}");
        }
    }
    let _ = writeln!(s, "\nStep 6 — settings sheet");
    let mut screen = "";
    for r in &plan.settings_sheet {
        if r.screen != screen {
            screen = &r.screen;
            let _ = writeln!(s, "  {screen}");
        }
        let _ = writeln!(s, "    {}: {}", r.setting, r.value);
    }
    crate::cli::teams_tab::render_plan_section(&mut s, &plan.teams_tab);
    let _ = writeln!(
        s,
        "\n{}",
        if plan.valid {
            "The plan is valid."
        } else {
            "The plan has errors (exit code 2)."
        }
    );
    s
}

/// The public sign-up variant's authority, discovery and issuer (B2C / External ID).
fn render_public_signup(s: &mut String, plan: &Plan) {
    use std::fmt::Write as _;
    if let Some(ps) = &plan.public_signup {
        let _ = writeln!(
            s,
            "Public sign-up: {} (sign-in host {})",
            ps.service, ps.host
        );
        let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
        let _ = writeln!(s, "  Authority: {}", show(&ps.authority));
        let _ = writeln!(s, "  OpenID configuration: {}", show(&ps.discovery_url));
        let _ = writeln!(s, "  Issuer (iss): {}", ps.issuer);
        if let Some(f) = &ps.user_flow_claim {
            let _ = writeln!(s, "  User flow claim: {f}");
        }
        for n in &ps.notes {
            let _ = writeln!(s, "  Note: {n}");
        }
    }
}

/// Step 5's two app registrations (CSP's Partner Center app beside the multi-tenant one).
fn render_partner_center(s: &mut String, plan: &Plan) {
    use std::fmt::Write as _;
    if let Some(pc) = &plan.partner_center {
        let _ = writeln!(s, "\nStep 5 — CSP: two app registrations");
        for a in &pc.apps {
            let _ = writeln!(
                s,
                "  {}\n      client id: {}\n      account type: {}\n      redirect URI: {}\n      API permissions: {}\n      credential: {}\n      in Halo: {}",
                a.title,
                a.client_id.as_deref().unwrap_or("(not entered yet)"),
                a.account_type,
                a.redirect_uris.join(", "),
                a.permissions.join("; "),
                a.credential,
                a.halo_section
            );
        }
        let _ = writeln!(s, "\n  On the Partner Center app:");
        for (n, c) in pc.checklist.iter().enumerate() {
            let _ = writeln!(s, "    {}. {c}", n + 1);
        }
        let _ = writeln!(s, "\n  Rules:");
        for r in &pc.rules {
            let _ = writeln!(s, "    • {}\n      source: {}", r.text, r.source);
        }
        match &pc.consent {
            Some(c) => {
                let _ = writeln!(
                    s,
                    "\n  Partner Center app admin consent (partner tenant):\n    {}",
                    c.url
                );
            }
            None => {
                let _ = writeln!(
                    s,
                    "\n  Partner Center app admin consent: (once its client ID is entered)"
                );
            }
        }
    }
}

/// `--token-stdin` of `apply`, `doctor` and `sync-preview`: the first line of standard
/// input, bounded like every secret read from a pipe.
pub(crate) fn read_token_stdin() -> Result<crate::ids::Sensitive<String>, String> {
    let text = crate::bounded::read_stdin(crate::bounded::MAX_STDIN_SECRET_BYTES, "a token")
        .map_err(|e| e.to_string())?;
    let token = text.lines().next().unwrap_or_default().trim().to_string();
    if token.is_empty() {
        return Err("--token-stdin: standard input holds no token".into());
    }
    Ok(crate::ids::Sensitive::new(token))
}
