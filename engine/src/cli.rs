//! The `entra-onboard` command line: everything the wizard does, scriptable.
//!
//! Exit codes: 0 success, 1 a test or check failed, 2 bad input or setup (an invalid
//! profile, an unreadable file). Machine-readable output with `--format json`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use std::sync::Arc;

use crate::ids::Sensitive;
use crate::plan::{Plan, plan};
use crate::sso_test::{
    CancellationToken, ClientCredential, ProgressFn, SsoProgress, SsoTestOptions, render_text,
};
use crate::profile::{Profile, ProfileStore};
use crate::steps::csp::{Flavor, to_ps1};
use crate::validation::Severity;

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
    /// Print the admin-consent link (step 4); with --open, open it in the browser.
    Consent {
        /// The profile JSON file.
        profile: PathBuf,
        /// Open the link in the default browser (honours $BROWSER on Linux).
        #[arg(long)]
        open: bool,
    },
    /// Print the AdminAgents elevation script (step 5, CSP).
    Script {
        /// The profile JSON file.
        profile: PathBuf,
        /// Which PowerShell flavour.
        #[arg(long, value_enum, default_value_t = Flavor::Graph)]
        flavor: Flavor,
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
        /// Seconds to wait for the browser to come back.
        #[arg(long, default_value_t = 180, value_name = "SECS")]
        timeout: u64,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Read the client secret from standard input (first line). Secrets are never
        /// taken from arguments or environment variables.
        #[arg(long, conflicts_with_all = ["cert", "key"])]
        secret_stdin: bool,
        /// Certificate credential: the certificate (PEM) uploaded to the app.
        #[arg(long, value_name = "PEM", requires = "key")]
        cert: Option<PathBuf>,
        /// Certificate credential: its RSA private key (PEM).
        #[arg(long, value_name = "PEM", requires = "cert")]
        key: Option<PathBuf>,
    },
    /// List the profiles saved by the desktop app, or export one to a file.
    Profiles {
        /// Print one profile's JSON by id instead of the list.
        #[arg(long, value_name = "ID")]
        show: Option<String>,
        /// Output format for the list.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
}

/// Runs the CLI with the process arguments.
pub fn main() -> ExitCode {
    run(std::env::args_os(), &mut std::io::stdout(), &mut std::io::stderr())
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

fn load(path: &std::path::Path) -> Result<Profile, String> {
    Profile::read_file(path).map_err(|e| format!("{}: {e}", path.display()))
}

fn execute(command: Command, out: &mut dyn Write) -> Result<ExitCode, String> {
    let w = |e: std::io::Error| e.to_string();
    match command {
        Command::Plan { profile, format } => {
            let p = load(&profile)?;
            let plan = plan(&p);
            match format {
                Format::Json => {
                    serde_json::to_writer_pretty(&mut *out, &plan).map_err(|e| e.to_string())?;
                    writeln!(out).map_err(w)?;
                }
                Format::Text => write!(out, "{}", render_plan(&p, &plan)).map_err(w)?,
            }
            Ok(if plan.valid { ExitCode::SUCCESS } else { ExitCode::from(2) })
        }
        Command::Consent { profile, open } => {
            let p = load(&profile)?;
            let plan = plan(&p);
            let Some(consent) = plan.consent else {
                let errors: Vec<String> = plan.errors().map(|i| format!("  {}: {}", i.field, i.message)).collect();
                return Err(format!("no consent link yet; fix these first:\n{}", errors.join("\n")));
            };
            writeln!(out, "{}", consent.url).map_err(w)?;
            if open {
                let url = crate::steps::consent::link_to_open(&p).map_err(|e| e.to_string())?;
                crate::browser::open(&url).map_err(|e| e.to_string())?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Script { profile, flavor, output } => {
            let p = load(&profile)?;
            let plan = plan(&p);
            let mut issues = crate::validation::Issues::default();
            let b = crate::steps::basics::check(&p, &mut issues);
            let Some(app) = b.client_id else {
                let msg = plan
                    .issues
                    .iter()
                    .find(|i| i.field == "client_id" && i.severity == Severity::Error)
                    .map(|i| format!("client_id: {} {}", i.message, i.fix))
                    .unwrap_or_else(|| "client_id is not valid".into());
                return Err(msg);
            };
            let script = crate::steps::csp::script(&app, p.cloud, flavor);
            match output {
                Some(path) => {
                    crate::profile::write_atomic(&path, to_ps1(&script).as_bytes())
                        .map_err(|e| format!("{}: {e}", path.display()))?;
                    writeln!(out, "Wrote {}", path.display()).map_err(w)?;
                }
                None => write!(out, "{script}").map_err(w)?,
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::SsoTest {
            profile,
            timeout,
            format,
            secret_stdin,
            cert,
            key,
        } => {
            let p = load(&profile)?;
            let credential = read_credential(secret_stdin, cert.as_deref(), key.as_deref())?;
            sso_test(&p, &credential, timeout, format, out)
        }
        Command::Profiles { show, format } => {
            let store = ProfileStore::open_default().map_err(|e| e.to_string())?;
            if let Some(id) = show {
                let p = store.load(&id).map_err(|e| e.to_string())?;
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
                        writeln!(out, "  {}  {}  {}  ({verified})", s.id, s.name, s.agent_url).map_err(w)?;
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn read_credential(
    secret_stdin: bool,
    cert: Option<&std::path::Path>,
    key: Option<&std::path::Path>,
) -> Result<ClientCredential, String> {
    if secret_stdin {
        let mut line = String::new();
        std::io::stdin()
            .read_line(&mut line)
            .map_err(|e| format!("reading the secret from stdin: {e}"))?;
        let secret = line.trim_end_matches(['\r', '\n']).to_string();
        if secret.is_empty() {
            return Err("--secret-stdin: standard input is empty".into());
        }
        return Ok(ClientCredential::Secret(Sensitive::new(secret)));
    }
    if let (Some(cert), Some(key)) = (cert, key) {
        let cert_pem =
            std::fs::read_to_string(cert).map_err(|e| format!("{}: {e}", cert.display()))?;
        let key_pem = Sensitive::new(
            std::fs::read_to_string(key).map_err(|e| format!("{}: {e}", key.display()))?,
        );
        return ClientCredential::certificate_from_pem(&cert_pem, key_pem)
            .map_err(|e| e.to_string());
    }
    Err(
        "no credential: pass --secret-stdin (and pipe the secret in) or --cert <pem> --key <pem>"
            .into(),
    )
}

fn sso_test(
    p: &Profile,
    credential: &ClientCredential,
    timeout: u64,
    format: Format,
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
    Ok(code)
}

/// The plan as text, the way an admin reads it during a call.
pub fn render_plan(p: &Profile, plan: &Plan) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let name = if p.name.trim().is_empty() { "(unnamed profile)" } else { p.name.trim() };
    let _ = writeln!(s, "Entra Onboard plan for {name}");
    let _ = writeln!(s, "Cloud: {} (sign-in {}, Graph {})", plan.cloud.label, plan.cloud.login_host, plan.cloud.graph_host);
    let _ = writeln!(s);
    let errors = plan.issues.iter().filter(|i| i.severity == Severity::Error).count();
    let warnings = plan.issues.iter().filter(|i| i.severity == Severity::Warning).count();
    if errors > 0 {
        let _ = writeln!(s, "{errors} error(s) to fix:");
        for i in plan.issues.iter().filter(|i| i.severity == Severity::Error) {
            let _ = writeln!(s, "  ✗ step {} · {}: {}\n      fix: {}", i.step, i.field, i.message, i.fix);
        }
        let _ = writeln!(s);
    }
    if warnings > 0 {
        let _ = writeln!(s, "{warnings} warning(s):");
        for i in plan.issues.iter().filter(|i| i.severity == Severity::Warning) {
            let _ = writeln!(s, "  ! step {} · {}: {}\n      fix: {}", i.step, i.field, i.message, i.fix);
        }
        let _ = writeln!(s);
    }
    let _ = writeln!(s, "Step 2 — redirect URIs (platform: Web)");
    for r in &plan.redirect_uris {
        let tag = if r.remove_after_onboarding { "  [remove after onboarding]" } else { "" };
        let _ = writeln!(s, "  {}\n      {}{tag}", r.uri, r.description);
    }
    let _ = writeln!(s, "\nOn the app registration:");
    for (n, c) in plan.registration_checklist.iter().enumerate() {
        let _ = writeln!(s, "  {}. {c}", n + 1);
    }
    let _ = writeln!(s, "\nStep 4 — admin consent");
    match &plan.consent {
        Some(c) => {
            let _ = writeln!(s, "  {}\n  Who can consent: {}", c.url, c.who_can_consent.join("; "));
        }
        None => {
            let _ = writeln!(s, "  (not available until steps 1 and 2 have no errors)");
        }
    }
    if let Some(scripts) = &plan.csp_scripts {
        let _ = writeln!(s, "\nStep 5 — CSP: AdminAgents script (Microsoft Graph PowerShell)");
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
    let _ = writeln!(s, "\n{}", if plan.valid { "The plan is valid." } else { "The plan has errors (exit code 2)." });
    s
}
