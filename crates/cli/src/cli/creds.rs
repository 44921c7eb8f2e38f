//! The CLI of steps 3–5 in depth: `cert new|import`, `reminder`, `consent --capture`,
//! `tenants import|export|list|consent|allow`, and the `.pfx` credential of `sso-test`.
//! Wired from [`crate::cli`]; exit codes as there (0 ok, 1 a check or consent failed,
//! 2 bad input or setup).
//!
//! Secrets: a `.pfx` password is read from the terminal without echo, or from standard
//! input — never from an argument — and goes to the OS keychain; generated passwords go
//! straight to the keychain and are never printed.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Subcommand;

use crate::cli::{AppArg, Format, keychain_id, load};
use crate::ids::Sensitive;
use crate::keychain::Keychain;
use crate::profile::CustomerApp;
use crate::profile::{ConsentStatus, Profile};
use crate::sso_test::{CancellationToken, ClientCredential};
use crate::steps::certificate::{self, CertificateInfo, CertificateRequest, KEY_SIZES, MAX_MONTHS};
use crate::steps::consent_capture::{
    self, ConsentCaptureError, ConsentCaptureOptions, ConsentOutcome, ConsentProgress,
    ConsentProgressFn,
};
use crate::steps::tenants::{self, Selection};

type CliResult = Result<ExitCode, String>;

fn w(e: std::io::Error) -> String {
    e.to_string()
}

fn json(out: &mut dyn Write, v: &impl serde::Serialize) -> Result<(), String> {
    serde_json::to_writer_pretty(&mut *out, v).map_err(|e| e.to_string())?;
    writeln!(out).map_err(w)
}

fn save(path: &Path, p: &mut Profile) -> Result<(), String> {
    p.updated_at = Some(chrono::Utc::now());
    crate::profile::write_atomic(path, p.to_json().as_bytes())
        .map_err(|e| format!("{} could not be updated: {e}", path.display()))
}

fn parse_key_size(s: &str) -> Result<u32, String> {
    s.parse::<u32>()
        .ok()
        .filter(|b| KEY_SIZES.contains(b))
        .ok_or_else(|| format!("{s:?}: choose 2048 (recommended), 3072 or 4096"))
}

fn parse_months(s: &str) -> Result<u32, String> {
    s.parse::<u32>()
        .ok()
        .filter(|m| (1..=MAX_MONTHS).contains(m))
        .ok_or_else(|| format!("{s:?}: choose 1 to {MAX_MONTHS} months (12 recommended)"))
}

/// `entra-onboard cert …`
#[derive(Debug, Subcommand)]
pub enum CertAction {
    /// Generate a self-signed RSA certificate for the app: writes <name>.cer (DER) and
    /// <name>.pem to upload to Entra, and <name>.pfx for the service desk. The .pfx
    /// password is generated and stored in the OS keychain (never printed); the profile
    /// records the thumbprints and expiry.
    New {
        /// The profile JSON file (it must have an `id`).
        profile: PathBuf,
        /// Folder to write the files to (existing files are never overwritten).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// RSA key size.
        #[arg(long, default_value_t = 2048, value_parser = parse_key_size)]
        key_size: u32,
        /// Validity in months (1–24).
        #[arg(long, default_value_t = 12, value_parser = parse_months)]
        months: u32,
        /// The certificate's common name; default `<customer> service desk (Entra Onboard)`
        /// (`<customer> Partner Center app (Entra Onboard)` with `--app partner-center`).
        #[arg(long, value_name = "CN")]
        name: Option<String>,
        /// Which app: `partner-center` makes CSP's Partner Center app its own certificate
        /// (its own files and keychain entry); `apply` then uploads it to that app.
        #[arg(long, value_enum, default_value_t = AppArg::Main)]
        app: AppArg,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Check an existing .pfx/.p12 (RSA ≥ 2048, not expired, has its private key) and
    /// make it the profile's credential. The password is asked for without echo, or read
    /// from standard input (one line) — never taken from an argument — and stored in the
    /// OS keychain. Exit 1 when the certificate is not usable, 2 when it cannot be read.
    Import {
        /// The profile JSON file (it must have an `id`).
        profile: PathBuf,
        /// The .pfx or .p12 file.
        pfx: PathBuf,
        /// Which app: `partner-center` for CSP's Partner Center app's own certificate.
        #[arg(long, value_enum, default_value_t = AppArg::Main)]
        app: AppArg,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
}

/// `entra-onboard tenants …`
#[derive(Debug, Subcommand)]
pub enum TenantsAction {
    /// Add customer tenants from a CSV file or a pasted list (`-` = standard input): one
    /// tenant ID or domain per row, optional name, optional header. Bad rows are listed
    /// with their line numbers; good rows are kept. Exit 1 when any row was refused.
    Import {
        /// The profile JSON file.
        profile: PathBuf,
        /// The CSV or text file, or `-`.
        file: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Write the tracker table as CSV (tenant, name, status, AADSTS, hint, consent link).
    Export {
        /// The profile JSON file.
        profile: PathBuf,
        /// The CSV file to write.
        #[arg(long, value_name = "FILE")]
        output: PathBuf,
    },
    /// Print the tracker: each customer tenant, its consent status and consent link.
    List {
        /// The profile JSON file.
        profile: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Open the admin-consent link of each selected tenant in the browser, one after the
    /// other, and record what Entra answers. Exit 0 when all consented, 1 otherwise.
    Consent {
        /// The profile JSON file.
        profile: PathBuf,
        /// Only this tenant (ID or domain).
        #[arg(long, value_name = "ID", conflicts_with_all = ["pending", "failed", "all"])]
        tenant: Option<String>,
        /// Every tenant still pending.
        #[arg(long, conflicts_with_all = ["failed", "all"])]
        pending: bool,
        /// Retry every tenant that failed or declined.
        #[arg(long, conflicts_with = "all")]
        failed: bool,
        /// Every tenant not consented yet.
        #[arg(long)]
        all: bool,
        /// Seconds to wait for each answer (1 to 3600).
        #[arg(long, default_value_t = 300, value_name = "SECS", value_parser = crate::cli::timeout_secs())]
        timeout: u64,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Add every consented tenant to `allowed_tenants`.
    Allow {
        /// The profile JSON file.
        profile: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
}

fn print_info(out: &mut dyn Write, i: &CertificateInfo) -> Result<(), String> {
    let t = &i.thumbprints;
    writeln!(
        out,
        "  subject: {}\n  key: {} {} bits, {}\n  valid: {} to {} (expires {})\n  thumbprint SHA-1:   {} (base64url {})\n  thumbprint SHA-256: {} (base64url {})",
        i.subject,
        i.key_algorithm,
        i.key_bits,
        i.signature_algorithm,
        i.not_before.format("%Y-%m-%d %H:%M UTC"),
        i.not_after.format("%Y-%m-%d %H:%M UTC"),
        i.expires_on,
        t.sha1_hex,
        t.sha1_base64url,
        t.sha256_hex,
        t.sha256_base64url
    )
    .map_err(w)
}

/// Runs `cert …`.
pub fn cert(action: CertAction, out: &mut dyn Write) -> CliResult {
    match action {
        CertAction::New {
            profile,
            out: dir,
            key_size,
            months,
            name,
            app,
            format,
        } => {
            let mut p = load(&profile)?;
            keychain_id(&p, &profile)?;
            let app = CustomerApp::from(app);
            if app == CustomerApp::PartnerCenter && !p.features.csp {
                return Err("--app partner-center: this customer has no CSP integration (features.csp); the Partner Center app exists only with it".into());
            }
            // The keychain first: a .pfx whose password cannot be kept is useless.
            let keychain = Keychain::open().map_err(|e| e.to_string())?;
            let mut req = CertificateRequest::for_profile(&p);
            req.key_bits = key_size;
            req.months = months;
            req.common_name = name.unwrap_or_default();
            let made = crate::vault::create_app_certificate(
                &keychain,
                &mut p,
                app,
                &req,
                &dir,
                chrono::Utc::now(),
            )
            .map_err(|e| e.to_string())?;
            let (c, files) = (&made, &made.files);
            save(&profile, &mut p)?;
            match format {
                Format::Json => json(
                    out,
                    &serde_json::json!({
                        "certificate": c.info,
                        "files": files,
                        "password_stored_in": keychain.store_name(),
                    }),
                )?,
                Format::Text => {
                    writeln!(
                        out,
                        "Generated a self-signed certificate{}:",
                        if app == CustomerApp::PartnerCenter {
                            " for the Partner Center app (entra-onboard apply uploads it to that app)"
                        } else {
                            ""
                        }
                    )
                    .map_err(w)?;
                    print_info(out, &c.info)?;
                    writeln!(
                        out,
                        "\nUpload to Entra (App registrations > Certificates & secrets > Certificates > Upload certificate):\n  {}\n  (the same certificate as PEM: {})\nFor the service desk:\n  {}\n  Its password is in {}; read it with the desktop app or your keychain tool.",
                        files.cer.display(),
                        files.pem.display(),
                        files.pfx.display(),
                        keychain.store_name()
                    )
                    .map_err(w)?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        CertAction::Import {
            profile,
            pfx,
            app,
            format,
        } => {
            let mut p = load(&profile)?;
            let app = CustomerApp::from(app);
            if app == CustomerApp::PartnerCenter && !p.features.csp {
                return Err("--app partner-center: this customer has no CSP integration (features.csp); the Partner Center app exists only with it".into());
            }
            let id = keychain_id(&p, &profile)?;
            let bytes = read_pfx(&pfx)?;
            let password = read_password("Password of the .pfx file (input hidden): ")?;
            let c = match certificate::import_pfx(&bytes, password, chrono::Utc::now()) {
                Ok(c) => c,
                Err(e) => {
                    use certificate::CertificateError as E;
                    let code = match e {
                        E::PfxUnreadable(_) | E::PfxPassword | E::PfxTooLarge(_) | E::Io { .. } => {
                            2
                        }
                        _ => 1,
                    };
                    if format == Format::Json {
                        json(
                            out,
                            &serde_json::json!({"ok": false, "code": e.code(), "message": e.to_string()}),
                        )?;
                    } else {
                        writeln!(out, "Not usable: {e}").map_err(w)?;
                    }
                    return Ok(ExitCode::from(code));
                }
            };
            let keychain = Keychain::open().map_err(|e| e.to_string())?;
            keychain
                .set_app_certificate_password(&id, app, &c.pfx_password)
                .map_err(|e| e.to_string())?;
            c.record_in(p.credential_of_mut(app));
            // Where the SSO test (and the desktop app, and apply) finds the key again.
            p.credential_of_mut(app).certificate_file = Some(
                std::fs::canonicalize(&pfx)
                    .unwrap_or_else(|_| pfx.clone())
                    .display()
                    .to_string(),
            );
            save(&profile, &mut p)?;
            match format {
                Format::Json => json(
                    out,
                    &serde_json::json!({"ok": true, "certificate": c.info, "password_stored_in": keychain.store_name()}),
                )?,
                Format::Text => {
                    writeln!(out, "The certificate can be used:").map_err(w)?;
                    print_info(out, &c.info)?;
                    writeln!(
                        out,
                        "Its password is stored in {}. Check that Entra lists the SHA-1 thumbprint above under Certificates & secrets.",
                        keychain.store_name()
                    )
                    .map_err(w)?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Reads a password: without echo at a terminal, else standard input minus one trailing
/// line break (bounded).
pub fn read_password(prompt: &str) -> Result<Sensitive<String>, String> {
    use std::io::IsTerminal;
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        return rpassword::prompt_password(prompt)
            .map(Sensitive::new)
            .map_err(|e| format!("could not read the password from the terminal: {e}"));
    }
    let mut text = crate::bounded::read_stdin(crate::bounded::MAX_STDIN_SECRET_BYTES, "a password")
        .map_err(|e| e.to_string())?;
    if text.ends_with("\r\n") {
        text.truncate(text.len() - 2);
    } else if text.ends_with('\n') {
        text.truncate(text.len() - 1);
    }
    Ok(Sensitive::new(text))
}

/// A `.pfx` named on the command line: a regular file of at most
/// [`certificate::MAX_PFX_BYTES`], the cap checked while reading.
fn read_pfx(pfx: &Path) -> Result<Vec<u8>, String> {
    crate::bounded::read_file(pfx, certificate::MAX_PFX_BYTES as u64, "a .pfx certificate")
        .map_err(|e| e.to_string())
}

/// The certificate credential of `sso-test --pfx`: the password from standard input
/// (`password_stdin`) or the keychain entry `cert new`/`cert import` stored.
pub fn pfx_credential(
    p: &Profile,
    pfx: &Path,
    password_stdin: bool,
) -> Result<ClientCredential, String> {
    let bytes = read_pfx(pfx)?;
    let password = if password_stdin {
        read_password("Password of the .pfx file (input hidden): ")?
    } else {
        if p.id.trim().is_empty() {
            return Err("the profile has no id, so no .pfx password is in the keychain for it; pass --pfx-password-stdin".into());
        }
        let kc = Keychain::open().map_err(|e| e.to_string())?;
        kc.get_certificate_password(&p.id)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| {
                format!(
                    "no .pfx password for this profile in {}: use `entra-onboard cert import`, or pass --pfx-password-stdin",
                    kc.store_name()
                )
            })?
    };
    let c =
        certificate::import_pfx(&bytes, password, chrono::Utc::now()).map_err(|e| e.to_string())?;
    c.client_credential().map_err(|e| e.to_string())
}

/// Runs `reminder`.
pub fn reminder(profile: &Path, output: &Path, out: &mut dyn Write) -> CliResult {
    let p = load(profile)?;
    let ics = crate::steps::reminder::rotation_reminder(&p, chrono::Utc::now())
        .map_err(|e| e.to_string())?;
    crate::profile::write_atomic(output, ics.as_bytes())
        .map_err(|e| format!("{}: {e}", output.display()))?;
    writeln!(
        out,
        "Wrote {}: an all-day event on {} with an alarm {} days before. Open it to add it to your calendar.",
        output.display(),
        p.credential.expires_on.map(|d| d.to_string()).unwrap_or_default(),
        crate::steps::reminder::ALARM_DAYS_BEFORE
    )
    .map_err(w)?;
    Ok(ExitCode::SUCCESS)
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())
}

fn capture_options(timeout: u64, format: Format) -> ConsentCaptureOptions {
    let progress: ConsentProgressFn = Arc::new(move |e: &ConsentProgress| match e {
        ConsentProgress::BrowserOpened { .. } if format == Format::Text => {
            eprintln!(
                "Opened the browser: sign in as an administrator and accept, then come back here."
            );
        }
        ConsentProgress::BrowserFailed { url, message } => {
            eprintln!("{message}\nOpen this link yourself:\n  {url}");
        }
        ConsentProgress::Ignored { reason } if format == Format::Text => {
            eprintln!("(ignored {reason})")
        }
        _ => {}
    });
    ConsentCaptureOptions {
        timeout: Duration::from_secs(timeout.max(1)),
        progress: Some(progress),
        ..ConsentCaptureOptions::default()
    }
}

fn outcome_text(o: &ConsentOutcome) -> String {
    let status = match o.status {
        ConsentStatus::Consented => "CONSENTED",
        ConsentStatus::Declined => "DECLINED",
        ConsentStatus::Failed => "FAILED",
        ConsentStatus::Pending => "PENDING",
    };
    let mut s = format!("{status}: {}", o.message);
    if let Some(t) = &o.tenant_id {
        s.push_str(&format!(" (tenant {t})"));
    }
    if let Some(d) = &o.error_description {
        s.push_str(&format!("\n  Entra: {d}"));
    }
    if let Some(f) = &o.fix {
        let step = o.step.map(|n| format!(" (step {n})")).unwrap_or_default();
        s.push_str(&format!("\n  fix{step}: {f}"));
    }
    s
}

/// Runs `consent --capture`: one capture for the profile's tenant (or `--tenant`), recorded
/// in the profile. Exit 0 consented, 1 declined, failed or no answer, 2 cannot start.
pub fn consent_capture(
    profile: &Path,
    tenant: Option<&str>,
    timeout: u64,
    format: Format,
    out: &mut dyn Write,
) -> CliResult {
    let mut p = load(profile)?;
    let rt = runtime()?;
    let options = capture_options(timeout, format);
    let cancel = CancellationToken::new();
    let result = rt.block_on(consent_capture::capture(&p, tenant, &options, &cancel));
    let outcome = match result {
        Ok(o) => o,
        Err(e) => return capture_error(&e, format, out),
    };
    consent_capture::record_consent(&mut p, tenant, &outcome, chrono::Utc::now());
    save(profile, &mut p)?;
    match format {
        Format::Json => json(out, &outcome)?,
        Format::Text => writeln!(out, "{}", outcome_text(&outcome)).map_err(w)?,
    }
    Ok(if outcome.status == ConsentStatus::Consented {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn capture_error(
    e: &ConsentCaptureError,
    format: Format,
    out: &mut dyn Write,
) -> Result<ExitCode, String> {
    let no_answer = matches!(e, ConsentCaptureError::Listener(l) if matches!(l.code(), "loopback.timeout" | "loopback.cancelled"));
    if !no_answer {
        return Err(e.to_string());
    }
    match format {
        Format::Json => json(
            out,
            &serde_json::json!({"status": "pending", "code": e.code(), "message": e.to_string()}),
        )?,
        Format::Text => writeln!(
            out,
            "No answer: {e}. The status stays pending; run the consent again when the admin is ready."
        )
        .map_err(w)?,
    }
    Ok(ExitCode::from(1))
}

/// Runs `tenants …`.
pub fn tenants_cmd(action: TenantsAction, out: &mut dyn Write) -> CliResult {
    match action {
        TenantsAction::Import {
            profile,
            file,
            format,
        } => tenants_import(&profile, &file, format, out),
        TenantsAction::Export { profile, output } => tenants_export(&profile, &output, out),
        TenantsAction::List { profile, format } => tenants_list(&profile, format, out),
        TenantsAction::Consent {
            profile,
            tenant,
            pending,
            failed,
            all,
            timeout,
            format,
        } => {
            let selection = consent_selection(tenant, pending, failed, all)?;
            tenants_consent(&profile, &selection, timeout, format, out)
        }
        TenantsAction::Allow { profile, format } => tenants_allow(&profile, format, out),
    }
}

/// `tenants import`: a CSV (or `-` for stdin) of customer tenants merged into the
/// tracker; refused rows listed by line (exit 1).
fn tenants_import(profile: &Path, file: &Path, format: Format, out: &mut dyn Write) -> CliResult {
    let mut p = load(profile)?;
    use crate::bounded::{self, ReadError};
    let limit = tenants::MAX_INPUT_BYTES as u64;
    let what = "a customer-tenant CSV";
    let text = if file.as_os_str() == "-" {
        bounded::read_stdin(limit, what)
    } else {
        bounded::read_to_string(file, limit, what)
    }
    .map_err(|e| match e {
        ReadError::NotUtf8 { path, .. } => {
            format!("{path}: not UTF-8 text; save the CSV as 'CSV UTF-8' and try again")
        }
        e => e.to_string(),
    })?;
    let import = tenants::parse_tenant_list(&text).map_err(|e| e.to_string())?;
    let merged = tenants::add_tenants(&mut p, &import.rows);
    save(profile, &mut p)?;
    match format {
        Format::Json => json(
            out,
            &serde_json::json!({"import": import, "merge": merged, "tracked": p.customer_tenants.len()}),
        )?,
        Format::Text => {
            writeln!(
                out,
                "Read {}{}: {} added, {} already tracked; {} now tracked.",
                crate::wording::count_len(import.rows.len(), "tenant"),
                if import.header {
                    " (header row found)"
                } else {
                    ""
                },
                merged.added,
                merged.already_present.len(),
                p.customer_tenants.len()
            )
            .map_err(w)?;
            if !import.rejected.is_empty() {
                writeln!(
                    out,
                    "{} refused:",
                    crate::wording::count_len(import.rejected.len(), "row")
                )
                .map_err(w)?;
                for r in &import.rejected {
                    writeln!(out, "  line {}: {} [{}]", r.line, r.reason, r.text).map_err(w)?;
                }
            }
        }
    }
    Ok(if import.rejected.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// `tenants export`: the tracker as CSV.
fn tenants_export(profile: &Path, output: &Path, out: &mut dyn Write) -> CliResult {
    let p = load(profile)?;
    let csv = tenants::export_csv(&p);
    crate::profile::write_atomic(output, csv.as_bytes())
        .map_err(|e| format!("{}: {e}", output.display()))?;
    writeln!(
        out,
        "Wrote {} ({}).",
        output.display(),
        crate::wording::count_len(p.customer_tenants.len(), "tenant")
    )
    .map_err(w)?;
    Ok(ExitCode::SUCCESS)
}

/// `tenants list`: each tenant's consent status, fix and link.
fn tenants_list(profile: &Path, format: Format, out: &mut dyn Write) -> CliResult {
    let p = load(profile)?;
    let t = tenants::tracker(&p);
    match format {
        Format::Json => json(out, &t)?,
        Format::Text => {
            let c = &t.counts;
            writeln!(
                out,
                "{}: {} consented, {} pending, {} declined, {} failed",
                crate::wording::count_len(t.rows.len(), "customer tenant"),
                c.consented,
                c.pending,
                c.declined,
                c.failed
            )
            .map_err(w)?;
            if let Some(why) = &t.links_unavailable {
                writeln!(out, "No consent links yet: {why}").map_err(w)?;
            }
            for r in &t.rows {
                let status = format!("{:?}", r.status).to_lowercase();
                writeln!(
                    out,
                    "  {:<10} {}  {}",
                    status,
                    r.tenant,
                    r.name.as_deref().unwrap_or("")
                )
                .map_err(w)?;
                if let Some(h) = &r.hint {
                    writeln!(out, "             fix: {h}").map_err(w)?;
                }
                if let Some(u) = &r.consent_url {
                    writeln!(out, "             {u}").map_err(w)?;
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Which tenants `tenants consent` asks: one, the pending, the failed, or all not consented.
fn consent_selection(
    tenant: Option<String>,
    pending: bool,
    failed: bool,
    all: bool,
) -> Result<Selection, String> {
    match (tenant, pending, failed, all) {
        (Some(t), ..) => Ok(Selection::One(t)),
        (None, true, _, _) => Ok(Selection::Pending),
        (None, _, true, _) => Ok(Selection::Failed),
        (None, _, _, true) => Ok(Selection::NotConsented),
        _ => Err("choose the tenants: --tenant <ID>, --pending, --failed or --all".into()),
    }
}

/// `tenants consent`: opens each chosen tenant's consent link in turn and records the
/// answer, saving after each (exit 1 unless all consented).
fn tenants_consent(
    profile: &Path,
    selection: &Selection,
    timeout: u64,
    format: Format,
    out: &mut dyn Write,
) -> CliResult {
    let mut p = load(profile)?;
    let chosen = tenants::select(&p, selection);
    if chosen.is_empty() {
        if let Selection::One(t) = selection {
            return Err(format!(
                "{t} is not in this profile's customer tenants; add it with `entra-onboard tenants import`"
            ));
        }
        writeln!(out, "No tenant matches; nothing to do.").map_err(w)?;
        return Ok(ExitCode::SUCCESS);
    }
    let rt = runtime()?;
    let options = capture_options(timeout, format);
    let cancel = CancellationToken::new();
    let mut results = Vec::new();
    let mut all_consented = true;
    for (n, t) in chosen.iter().enumerate() {
        if format == Format::Text {
            writeln!(out, "[{}/{}] {t}", n + 1, chosen.len()).map_err(w)?;
        }
        match rt.block_on(consent_capture::capture(&p, Some(t), &options, &cancel)) {
            Ok(o) => {
                all_consented &= o.status == ConsentStatus::Consented;
                consent_capture::record_consent(&mut p, Some(t), &o, chrono::Utc::now());
                // Saved after each tenant: an interrupted run keeps what it learnt.
                save(profile, &mut p)?;
                if format == Format::Text {
                    writeln!(out, "  {}", outcome_text(&o).replace('\n', "\n  ")).map_err(w)?;
                }
                results.push(serde_json::json!({"tenant": t, "outcome": o}));
            }
            Err(e) => {
                all_consented = false;
                // The app's tracker follows the same stop policy.
                if !tenants::consent_run_goes_on_after(e.code()) {
                    return Err(e.to_string());
                }
                if format == Format::Text {
                    writeln!(out, "  no answer ({e}); still pending").map_err(w)?;
                }
                results.push(serde_json::json!({"tenant": t, "error": {"code": e.code(), "message": e.to_string()}}));
            }
        }
    }
    if format == Format::Json {
        json(out, &results)?;
    }
    Ok(if all_consented {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// `tenants allow`: the consented tenants added to allowed_tenants.
fn tenants_allow(profile: &Path, format: Format, out: &mut dyn Write) -> CliResult {
    let mut p = load(profile)?;
    let s = tenants::add_consented_to_allowed(&mut p);
    save(profile, &mut p)?;
    match format {
        Format::Json => json(out, &s)?,
        Format::Text => {
            writeln!(
                out,
                "Added {} to allowed_tenants ({} already there).",
                crate::wording::count_len(s.added.len(), "tenant"),
                s.already_allowed
            )
            .map_err(w)?;
            for id in &s.from_consent_redirect {
                writeln!(out, "  {id}: tenant ID taken from the consent answer (the row was a domain); compare it with Partner Center").map_err(w)?;
            }
            for d in &s.unresolved_domains {
                writeln!(out, "  {d}: consented, but its tenant ID is unknown; replace the domain with the tenant ID").map_err(w)?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
