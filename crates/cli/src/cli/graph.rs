//! `entra-onboard apply` and `entra-onboard doctor`: the Graph automation on the command
//! line. `cli.rs` only declares the two subcommands and calls [`run_apply`] and
//! [`run_doctor`].
//!
//! The Graph token comes from the admin's browser sign-in ([`crate::graph::signin`]) unless the
//! hidden `--token-stdin` is given (tests, the sandbox, scripts that already hold one).
//! Graph is always the profile's [`Target`]'s: the cloud's Graph host, or the practice
//! provider's own origin — never a URL given on the command line.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, ValueEnum};

use crate::cli::Format;
use crate::graph::apply::{ApplyOptions, ApplyReport, CredentialRequest, SecretSink, StepStatus};
use crate::graph::doctor::DoctorReport;
use crate::graph::signin::{self, SigninOptions};
use crate::graph::{GraphClient, StaticToken, TokenSource};
use crate::ids::Sensitive;
use crate::keychain::Keychain;
use crate::profile::{CredentialKind, CustomerApp, Profile};
use crate::sso_test::CancellationToken;
use crate::target::Target;
use crate::validation::Severity;

/// Which credential `apply` adds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CredentialChoice {
    /// None.
    None,
    /// A client secret (created by Graph, stored straight in the OS keychain).
    Secret,
    /// A certificate (`--cert`, public part only).
    Certificate,
    /// The federated credential Halo shows (step 3's issuer, subject and audience: Halo's
    /// "Federated Credentials"), Entra scenario "Other issuer".
    Federated,
}

/// How to reach Graph (shared by apply and doctor).
#[derive(Debug, Args)]
pub struct GraphArgs {
    /// Public client used for the admin's sign-in (default: Microsoft Graph Command Line
    /// Tools, 14d82eec-204b-4c2f-b7e8-296a70dab67e).
    #[arg(long, value_name = "GUID")]
    pub signin_client_id: Option<String>,
    /// Seconds to wait for the sign-in in the browser (1 to 3600).
    #[arg(long, default_value_t = 300, value_name = "SECS", value_parser = crate::cli::timeout_secs())]
    pub timeout: u64,
    /// Read the Graph access token from standard input instead of signing in.
    #[arg(long, hide = true)]
    pub token_stdin: bool,
}

/// `entra-onboard apply`.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The profile JSON file (updated with the new client id and credential facts).
    pub profile: PathBuf,
    /// Print the requests it would send; send no write.
    #[arg(long)]
    pub dry_run: bool,
    /// Credential to add.
    #[arg(long, value_enum, default_value_t = CredentialChoice::None)]
    pub credential: CredentialChoice,
    /// The certificate (PEM) for `--credential certificate`.
    #[arg(long, value_name = "PEM")]
    pub cert: Option<PathBuf>,
    /// Lifetime of a new client secret in months (at most 24; shortened to the tenant's
    /// policy).
    #[arg(long, default_value_t = 12, value_name = "MONTHS")]
    pub secret_months: u32,
    /// Add a secret even when a valid one exists (the stored value was lost).
    #[arg(long)]
    pub new_secret: bool,
    /// Remove redirect URIs the plan does not list (kept otherwise).
    #[arg(long)]
    pub prune_redirect_uris: bool,
    /// Remove the wizard's loopback test URI (after onboarding).
    #[arg(long)]
    pub remove_test_uri: bool,
    /// Do not grant admin consent (leave it to step 4).
    #[arg(long)]
    pub no_consent: bool,
    /// Also set what the self-service portal as a Teams tab needs (see teams-package): the
    /// Application ID URI api://<portal host>/<client id>, the access_as_user scope, the
    /// Teams clients pre-authorised for it, access token version 2.
    #[arg(long)]
    pub teams_tab: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    #[command(flatten)]
    pub graph: GraphArgs,
}

/// `entra-onboard doctor`.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// The profile JSON file.
    pub profile: PathBuf,
    /// Also review access: Conditional Access policies that apply to the app (MFA, block,
    /// report-only), security defaults and "assignment required" (asks for Policy.Read.All).
    #[arg(long)]
    pub access: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    #[command(flatten)]
    pub graph: GraphArgs,
}

pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())
}

/// Signs in (or reads the token) and builds the client.
async fn connect(p: &Profile, g: &GraphArgs, scopes: &[&str]) -> Result<GraphClient, String> {
    connect_as(p, g, scopes).await.map(|(c, _)| c)
}

/// [`connect`], and who signed in (none with `--token-stdin`).
pub(crate) async fn connect_as(
    p: &Profile,
    g: &GraphArgs,
    scopes: &[&str],
) -> Result<(GraphClient, Option<String>), String> {
    let mut user = None;
    // The trust boundary first: nothing is opened or sent for a refused authority.
    let target = Target::from_profile(p).map_err(|e| format!("authority: {e}. {}", e.fix()))?;
    let token: Arc<dyn TokenSource> = if g.token_stdin {
        Arc::new(StaticToken::new(crate::cli::read_token_stdin()?))
    } else {
        let options = SigninOptions {
            client_id: g
                .signin_client_id
                .clone()
                .unwrap_or_else(|| signin::DEFAULT_CLIENT_ID.into()),
            timeout: Duration::from_secs(g.timeout.max(1)),
            progress: Some(Arc::new(|e: &signin::SigninProgress| match e {
                signin::SigninProgress::BrowserOpened { .. } => {
                    eprintln!(
                        "Opened the browser: sign in as an admin of the tenant, then come back here."
                    )
                }
                signin::SigninProgress::BrowserFailed { url, message } => {
                    eprintln!("{message}\nOpen this link yourself:\n  {url}")
                }
                signin::SigninProgress::Redeeming => {}
            })),
            ..SigninOptions::default()
        };
        eprintln!("Signing in to Microsoft Graph for: {}", scopes.join(", "));
        let signed = signin::sign_in(p, scopes, &options, &CancellationToken::new())
            .await
            .map_err(|e| format!("{} ({})", e, e.code()))?;
        if let Some(u) = &signed.user {
            eprintln!("Signed in as {u}.");
        }
        user = signed.user.clone();
        Arc::new(signed.token)
    };
    let client = GraphClient::new(&target, token).map_err(|e| e.to_string())?;
    Ok((client, user))
}

fn load(path: &Path) -> Result<Profile, String> {
    crate::cli::load(path)
}

fn profile_id(p: &Profile, path: &Path) -> Result<String, String> {
    uuid::Uuid::parse_str(p.id.trim())
        .map(|u| u.hyphenated().to_string())
        .map_err(|_| {
            format!(
                "{}: the profile needs an \"id\" (a UUID) to store the new secret in the keychain under; add one or save the profile from the desktop app",
                path.display()
            )
        })
}

/// Runs `entra-onboard apply`. Exit 0 ok, 1 a Graph step failed, 2 bad input or sign-in.
pub fn run_apply(a: ApplyArgs, out: &mut dyn Write) -> Result<ExitCode, String> {
    let mut p = load(&a.profile)?;
    let credential = match a.credential {
        CredentialChoice::None => CredentialRequest::None,
        CredentialChoice::Secret => CredentialRequest::Secret {
            months: a.secret_months,
            force: a.new_secret,
        },
        CredentialChoice::Certificate => {
            let path = a
                .cert
                .as_ref()
                .ok_or("--credential certificate needs --cert <file.pem>")?;
            let pem = crate::bounded::read_to_string(
                path,
                crate::bounded::MAX_PEM_BYTES,
                "a PEM certificate",
            )
            .map_err(|e| e.to_string())?;
            let der = crate::sso_test::pem_block(&pem, "CERTIFICATE")
                .ok_or_else(|| format!("{}: no PEM CERTIFICATE block", path.display()))?;
            CredentialRequest::Certificate { cert_der: der }
        }
        CredentialChoice::Federated => {
            crate::graph::apply::federated_request(&p).map_err(|e| format!("{e} ({})", e.code()))?
        }
    };
    // CSP: the Partner Center app gets its own credential — its own certificate when it
    // is set to one (read back from its .pfx and keychain entry), otherwise its own secret
    // when a secret is asked for; a certificate given here is the main app's.
    let pc_keychain = if p.features.csp
        && p.partner_center.credential.kind == CredentialKind::Certificate
        && !a.dry_run
    {
        Some(Keychain::open().map_err(|e| e.to_string())?)
    } else {
        None
    };
    let (pc_credential, pc_note) =
        crate::graph::session::partner_center_credential(&p, pc_keychain.as_ref(), &credential);
    // The keychain is opened before anything is created, so a missing keychain stops the
    // run instead of leaving a secret in Entra that nobody has.
    let keychain = if matches!(credential, CredentialRequest::Secret { .. }) && !a.dry_run {
        let id = profile_id(&p, &a.profile)?;
        Some((id, Keychain::open().map_err(|e| e.to_string())?))
    } else {
        None
    };
    let sink_for = |app: CustomerApp| -> Option<SecretSink> {
        keychain.clone().map(|(id, kc)| -> SecretSink {
            Box::new(move |s: &Sensitive<String>| {
                kc.set_app_secret(&id, app, s).map_err(|e| e.to_string())
            })
        })
    };
    let sink = sink_for(CustomerApp::Main);
    let pc_sink = match pc_credential {
        CredentialRequest::Secret { .. } => sink_for(CustomerApp::PartnerCenter),
        _ => None,
    };
    let options = ApplyOptions {
        credential,
        prune_redirect_uris: a.prune_redirect_uris,
        remove_wizard_uri: a.remove_test_uri,
        grant_consent: !a.no_consent,
        dry_run: a.dry_run,
        teams_tab: a.teams_tab,
        ..ApplyOptions::default()
    };
    let roles = crate::graph::permissions::required(&p)
        .iter()
        .any(|r| r.kind == crate::graph::permissions::PermissionKind::Role);
    let scopes = signin::scopes_for_apply(
        // The policy read (Policy.Read.All) is for secrets and certificates only.
        matches!(
            options.credential,
            CredentialRequest::Secret { .. } | CredentialRequest::Certificate { .. }
        ),
        options.grant_consent,
        roles,
    );
    let format = a.format;
    let rt = runtime()?;
    let report = rt.block_on(async {
        let client = connect(&p, &a.graph, &scopes).await?;
        let progress: crate::graph::apply::ApplyProgressFn = Arc::new(move |s| {
            if format == Format::Text && s.status == StepStatus::Running {
                eprintln!("… {}", s.label);
            }
        });
        let mut report =
            crate::graph::apply::apply(&p, &client, &options, Some(progress.clone()), sink)
                .await
                .map_err(|e| format!("{e} ({})", e.code()))?;
        if p.features.csp {
            // CSP's second app, after the first: its report is nested in the first's.
            crate::graph::apply::update_profile(&mut p, &report);
            let pc_options = ApplyOptions {
                credential: pc_credential,
                remove_wizard_uri: false,
                prune_redirect_uris: false,
                ..options.clone()
            };
            let pc = match crate::graph::apply::apply_partner_center(
                &p,
                &client,
                &pc_options,
                Some(progress),
                pc_sink,
            )
            .await
            {
                Ok(r) => r,
                Err(e) => crate::graph::apply::not_started(&e, pc_options.dry_run),
            };
            let mut pc = pc;
            pc.exists.extend(pc_note);
            report.ok &= pc.ok;
            report.partner_center = Some(Box::new(pc));
        }
        Ok::<_, String>(report)
    })?;
    let mut changed = crate::graph::apply::update_profile(&mut p, &report);
    if let Some(pc) = &report.partner_center {
        changed |= crate::graph::apply::update_partner_center(&mut p, pc);
    }
    if changed {
        p.updated_at = Some(chrono::Utc::now());
        crate::profile::write_atomic(&a.profile, p.to_json().as_bytes()).map_err(|e| {
            format!(
                "the registration is done, but {} could not be updated: {e}",
                a.profile.display()
            )
        })?;
    }
    let w = |e: std::io::Error| e.to_string();
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, &report).map_err(|e| e.to_string())?;
            writeln!(out).map_err(w)?;
        }
        Format::Text => write!(out, "{}", render_apply(&report)).map_err(w)?,
    }
    Ok(if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The apply report as text.
pub fn render_apply(r: &ApplyReport) -> String {
    let mut s = String::new();
    if r.dry_run {
        s.push_str("Dry run: these are the requests; no write was sent.\n\n");
        for q in &r.requests {
            s.push_str(&format!("{} {}\n", q.method, q.url));
            if let Some(b) = &q.body {
                let pretty = serde_json::to_string_pretty(b).unwrap_or_default();
                for line in pretty.lines() {
                    s.push_str(&format!("    {line}\n"));
                }
            }
        }
        s.push('\n');
    }
    for st in &r.steps {
        let mark = match st.status {
            StepStatus::Ok => "✓",
            StepStatus::Failed => "✗",
            StepStatus::Skipped => "–",
            StepStatus::Running => "…",
        };
        s.push_str(&format!("{mark} {}", st.label));
        if let Some(d) = &st.detail {
            s.push_str(&format!(" — {d}"));
        }
        s.push('\n');
        if let Some(e) = &st.error {
            s.push_str(&format!(
                "    Graph: {} {}: {}{}\n",
                e.status,
                e.code,
                e.message,
                e.request_id
                    .as_deref()
                    .map(|r| format!(" (request-id {r})"))
                    .unwrap_or_default()
            ));
        }
    }
    s.push_str("\nWhat exists now:\n");
    for e in &r.exists {
        s.push_str(&format!("  • {e}\n"));
    }
    for n in &r.policy_notes {
        s.push_str(&format!("  Policy: {n}\n"));
    }
    if !r.handover.is_empty() {
        s.push_str("\nLeft to do by hand:\n");
        for h in &r.handover {
            s.push_str(&format!("  • {h}\n"));
        }
    }
    if let Some(e) = &r.error {
        s.push_str(&format!(
            "\nFailed ({}): {}\nFix: {}\n",
            e.code, e.message, e.fix
        ));
    } else if !r.dry_run {
        s.push_str("\nDone.\n");
    }
    if let Some(pc) = &r.partner_center {
        s.push_str("\n== CSP: the Partner Center app (single tenant) ==\n");
        s.push_str(&render_apply(pc));
    }
    s
}

/// Runs `entra-onboard doctor`. Exit 0 clean, 1 findings with errors, 2 bad input or the
/// check could not run.
pub fn run_doctor(a: DoctorArgs, out: &mut dyn Write) -> Result<ExitCode, String> {
    let p = load(&a.profile)?;
    let rt = runtime()?;
    let report = rt.block_on(async {
        let mut scopes = signin::scopes_for_doctor();
        if a.access {
            scopes.push("Policy.Read.All");
        }
        let client = connect(&p, &a.graph, &scopes).await?;
        if a.access {
            crate::graph::doctor::doctor_with_access(&p, &client, chrono::Utc::now()).await
        } else {
            crate::graph::doctor::doctor(&p, &client, chrono::Utc::now()).await
        }
        .map_err(|e| format!("{e} ({})", e.code()))
    })?;
    let w = |e: std::io::Error| e.to_string();
    match a.format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, &report).map_err(|e| e.to_string())?;
            writeln!(out).map_err(w)?;
        }
        Format::Text => write!(out, "{}", render_doctor(&report)).map_err(w)?,
    }
    Ok(ExitCode::from(report.exit_code()))
}

/// The doctor report as text.
pub fn render_doctor(r: &DoctorReport) -> String {
    let mut s = String::new();
    if let Some(a) = &r.application {
        s.push_str(&format!(
            "App registration \"{}\" (client id {})\n\n",
            a.display_name, a.app_id
        ));
    }
    if r.findings.is_empty() {
        s.push_str("No findings: the registration matches the plan.\n");
    }
    for f in &r.findings {
        let sev = match f.severity {
            Severity::Error => "ERROR",
            Severity::Warning => "warning",
            Severity::Info => "info",
        };
        s.push_str(&format!(
            "{sev} [{}] {}\n    Fix: {}\n",
            f.id, f.message, f.fix
        ));
        if f.auto_fix.is_some() {
            s.push_str("    (entra-onboard apply can do this)\n");
        }
    }
    if let Some(a) = &r.access {
        s.push_str("\nAccess review:\n");
        s.push_str(&format!(
            "  Security defaults: {}\n  Assignment required: {}\n",
            match a.security_defaults {
                Some(true) => "on",
                Some(false) => "off",
                None => "unknown",
            },
            match a.assignment_required {
                Some(true) => "yes",
                Some(false) => "no",
                None => "unknown",
            }
        ));
        for p in &a.policies {
            s.push_str(&format!(
                "  {} \"{}\" [{}]: {}; {}{}\n",
                if p.applies { "applies" } else { "n/a    " },
                p.display_name,
                p.state,
                p.users,
                if p.blocks {
                    "blocks"
                } else if p.requires_mfa {
                    "requires MFA"
                } else {
                    "no MFA"
                },
                if p.app_excluded {
                    " (app excluded)"
                } else {
                    ""
                }
            ));
        }
        for f in &a.findings {
            let sev = match f.severity {
                Severity::Error => "ERROR",
                Severity::Warning => "warning",
                Severity::Info => "info",
            };
            s.push_str(&format!(
                "{sev} [{}] {}\n    Fix: {}\n",
                f.id, f.message, f.fix
            ));
        }
    }
    if let Some(pc) = &r.partner_center {
        s.push_str("\n== CSP: the Partner Center app (single tenant) ==\n");
        s.push_str(&render_doctor(pc));
    }
    s
}
