//! `entra-onboard sync-preview <profile.json>`: the sync preview on the command line.
//! `cli.rs` only declares the subcommand and calls [`run`].
//!
//! The app-only token comes from the stored credential (the keychain, as `sso-test`), or
//! `--secret-stdin` / `--cert --key`; the hidden `--token-stdin` takes a Graph token as is.
//! Login and Graph are always the profile's [`Target`]'s (a practice authority's origin
//! for both), exactly as on the desktop — never a URL given on the command line.
//!
//! Exit codes: 0 the preview ran and found nothing blocking; 1 it found blocking problems
//! (a missing permission, a tenant without P1/P2 for the last sign-in); 2 bad input (no
//! import, invalid sync settings, no credential) or the preview could not run.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;

use crate::cli::Format;
use crate::graph::{GraphClient, StaticToken};
use crate::sso_test::CancellationToken;
use crate::sync_preview::{
    ExistingUsers, PreviewOptions, PreviewProgress, PreviewProgressFn, PreviewTenant,
    app_only_client, csv, preview_planned, preview_tenants, render_text,
};
use crate::target::Target;

/// `entra-onboard sync-preview`.
#[derive(Debug, Args)]
pub struct SyncPreviewArgs {
    /// The profile JSON file.
    pub profile: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Also write one line per user to this CSV file.
    #[arg(long, value_name = "FILE")]
    pub csv: Option<PathBuf>,
    /// An export of the service desk's users (CSV with columns such as azure id, name,
    /// email, network login) to judge matching against; without it a first sync is assumed.
    #[arg(long, value_name = "CSV")]
    pub existing: Option<PathBuf>,
    /// Read the client secret from standard input (first line) instead of the keychain.
    #[arg(long, conflicts_with_all = ["cert", "key", "token_stdin"])]
    pub secret_stdin: bool,
    /// Certificate credential: the certificate (PEM) uploaded to the app.
    #[arg(long, value_name = "PEM", requires = "key")]
    pub cert: Option<PathBuf>,
    /// Certificate credential: its RSA private key (PEM).
    #[arg(long, value_name = "PEM", requires = "cert")]
    pub key: Option<PathBuf>,
    /// Read a Graph access token from standard input instead of asking the token endpoint.
    #[arg(long, hide = true)]
    pub token_stdin: bool,
}

/// Runs `entra-onboard sync-preview`.
pub fn run(a: SyncPreviewArgs, out: &mut dyn Write) -> Result<ExitCode, String> {
    let p = crate::cli::load(&a.profile)?;
    let existing = match &a.existing {
        Some(path) => {
            let text = crate::bounded::read_to_string(
                path,
                crate::bounded::MAX_EXISTING_USERS_BYTES,
                "a Halo users CSV",
            )
            .map_err(|e| e.to_string())?;
            Some(ExistingUsers::from_csv(&text).map_err(|e| format!("{}: {e}", path.display()))?)
        }
        None => None,
    };
    // The trust boundary first: nothing is read from stdin, the keychain or the network
    // for a refused authority.
    let target = Target::from_profile(&p).map_err(|e| format!("authority: {e}. {}", e.fix()))?;
    // Step 1 is resolved once: the tenants, their tokens and the preview use this plan.
    let plan = crate::plan::plan(&p);
    let tenants = preview_tenants(&p, &plan.basics);
    if tenants.is_empty() {
        return Err("no tenant to read: set tenant_id (or, for CSP, site mappings)".into());
    }
    let token = if a.token_stdin {
        Some(crate::cli::read_token_stdin()?)
    } else {
        None
    };
    let credential = if token.is_none() {
        Some(crate::cli::read_credential(
            &p,
            a.secret_stdin,
            a.cert.as_deref(),
            a.key.as_deref(),
        )?)
    } else {
        None
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let format = a.format;
    let progress: PreviewProgressFn = Arc::new(move |e: &PreviewProgress| {
        if format != Format::Text {
            return;
        }
        match e {
            PreviewProgress::Tenant {
                tenant_id,
                index,
                total,
            } => eprintln!("Reading tenant {tenant_id} ({index}/{total})…"),
            PreviewProgress::Page { pages, users, .. } if pages % 10 == 0 => {
                eprintln!("  … {users} users ({pages} pages)")
            }
            _ => {}
        }
    });
    let cancel = CancellationToken::new();
    let result = runtime.block_on(async {
        let mut targets = Vec::new();
        for t in &tenants {
            let client = match (&token, &credential) {
                (Some(tok), _) => {
                    GraphClient::new(&target, Arc::new(StaticToken::new(tok.clone())))
                        .map_err(|e| e.to_string())?
                }
                (None, Some(c)) => app_only_client(&p, &plan.basics, t, c)
                    .await
                    .map_err(|e| format!("{e} ({})", e.code()))?,
                (None, None) => return Err("no credential".to_string()),
            };
            targets.push(PreviewTenant {
                tenant_id: t.clone(),
                client,
            });
        }
        let options = PreviewOptions {
            existing,
            keep_rows: a.csv.is_some(),
            ..PreviewOptions::default()
        };
        preview_planned(&p, &plan, &targets, &options, Some(progress), &cancel)
            .await
            .map_err(|e| format!("{e} ({})", e.code()))
    })?;
    if let Some(path) = &a.csv {
        let mut buf = Vec::new();
        csv::write_csv(&result, &mut buf).map_err(|e| e.to_string())?;
        crate::profile::write_atomic(path, &buf).map_err(|e| format!("{}: {e}", path.display()))?;
        if format == Format::Text {
            eprintln!("Wrote {} rows to {}.", result.rows.len(), path.display());
        }
    }
    let w = |e: std::io::Error| e.to_string();
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, &result).map_err(|e| e.to_string())?;
            writeln!(out).map_err(w)?;
        }
        Format::Text => write!(out, "{}", render_text(&result)).map_err(w)?,
    }
    Ok(ExitCode::from(result.exit_code()))
}
