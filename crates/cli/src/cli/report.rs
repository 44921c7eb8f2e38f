//! The CLI of the handover report, the customer dashboard and profile export/import:
//!
//! - `entra-onboard report <profile.json> [--output report.html]`
//! - `entra-onboard dashboard [--format text|json] [--search WORDS]`
//! - `entra-onboard profiles --export bundle.json` / `--import bundle.json [--replace] [--format json]`
//!
//! Exit codes as everywhere: 0 done, 1 something was not imported (import only: rejected,
//! or a conflict left as it was), 2 bad input or setup.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use chrono::Utc;

use crate::cli::Format;
use crate::dashboard::{CustomerCard, Dashboard, ExpiryLevel, dashboard};
use crate::keychain::Keychain;
use crate::profile::{CredentialKind, ProfileStore};
use crate::transfer::{ImportSummary, Replace, export_bundle, import_bundle, read_import_file};

fn w(e: std::io::Error) -> String {
    e.to_string()
}

/// `report`: the handover report of one profile file, to `output` or standard output.
pub fn report(
    profile: &Path,
    output: Option<&Path>,
    out: &mut dyn Write,
) -> Result<ExitCode, String> {
    let p = crate::cli::load(profile)?;
    let plan = crate::plan(&p);
    let html = crate::handover::handover_html(&p, &plan, Utc::now(), env!("CARGO_PKG_VERSION"));
    match output {
        Some(path) => {
            crate::profile::write_atomic(path, html.as_bytes())
                .map_err(|e| format!("{}: {e}", path.display()))?;
            writeln!(out, "Wrote the handover report to {}", path.display()).map_err(w)?;
        }
        None => out.write_all(html.as_bytes()).map_err(w)?,
    }
    Ok(ExitCode::SUCCESS)
}

fn expiry_text(c: &CustomerCard) -> String {
    let (Some(date), Some(days)) = (c.expires_on, c.days_left) else {
        return match c.credential_kind {
            CredentialKind::None => "no credential".into(),
            CredentialKind::Federated => "federated (no expiry)".into(),
            _ => "expiry not recorded".into(),
        };
    };
    // With CSP's two apps, say whose credential it is (Halo's "Token expiration" does not).
    let whose = if c.app_expiries.len() > 1 {
        format!("{}: ", c.expiry_subject)
    } else {
        String::new()
    };
    whose
        + &match c.expiry {
            ExpiryLevel::Expired => format!("EXPIRED {date} ({} days ago)", -days),
            ExpiryLevel::Within7 => format!("expires {date} (in {days} days) !!!"),
            ExpiryLevel::Within30 => format!("expires {date} (in {days} days) !!"),
            ExpiryLevel::Within60 => format!("expires {date} (in {days} days) !"),
            _ => format!("expires {date} (in {days} days)"),
        }
}

/// The dashboard as text.
pub fn render_dashboard(d: &Dashboard, dir: &Path) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let _ = writeln!(s, "Customers in {}", dir.display());
    if d.customers.is_empty() && d.unreadable.is_empty() {
        let _ = writeln!(s, "  (none yet — create one in the desktop app)");
    }
    for c in &d.customers {
        let name = crate::text::clean(if c.name.trim().is_empty() {
            "(unnamed)"
        } else {
            c.name.trim()
        });
        let sandbox = if c.sandbox { " [SANDBOX]" } else { "" };
        let attention = if c.needs_attention() { "!" } else { " " };
        let _ = writeln!(
            s,
            "{attention} {name}{sandbox}  {}  ({})",
            c.agent_url, c.id
        );
        let verified = match (&c.verified_at, &c.signed_in_as) {
            (Some(t), Some(u)) => format!("verified {} as {u}", t.format("%Y-%m-%d")),
            (Some(t), None) => format!("verified {}", t.format("%Y-%m-%d")),
            _ => "NOT verified".into(),
        };
        let _ = writeln!(
            s,
            "    {verified} · {} · consent {}/{}{}{} · {}, {}",
            expiry_text(c),
            c.consent.consented,
            c.consent.total,
            if c.consent.declined > 0 {
                format!(", {} declined", c.consent.declined)
            } else {
                String::new()
            },
            if c.consent.failed > 0 {
                format!(", {} failed", c.consent.failed)
            } else {
                String::new()
            },
            crate::wording::count_len(c.errors, "error"),
            crate::wording::count_len(c.warnings, "warning")
        );
    }
    if !d.unreadable.is_empty() {
        let _ = writeln!(
            s,
            "\nFiles that could not be read ({}):",
            d.unreadable.len()
        );
        for u in &d.unreadable {
            let _ = writeln!(s, "  ✗ {}: {}", u.file, u.message);
        }
    }
    s
}

/// `dashboard`: every customer in the app's store.
pub fn dashboard_cmd(
    format: Format,
    search: Option<&str>,
    out: &mut dyn Write,
) -> Result<ExitCode, String> {
    let store = ProfileStore::open_default().map_err(|e| e.to_string())?;
    let today = chrono::Local::now().date_naive();
    let mut d = dashboard(&store, today).map_err(|e| e.to_string())?;
    if let Some(q) = search {
        d.customers.retain(|c| c.matches(q));
    }
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, &d).map_err(|e| e.to_string())?;
            writeln!(out).map_err(w)?;
        }
        Format::Text => write!(out, "{}", render_dashboard(&d, store.dir())).map_err(w)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// `profiles --export FILE`: every readable profile into one bundle file.
pub fn export_profiles(path: &Path, out: &mut dyn Write) -> Result<ExitCode, String> {
    let store = ProfileStore::open_default().map_err(|e| e.to_string())?;
    let scan = store.scan().map_err(|e| e.to_string())?;
    let text = export_bundle(&scan.profiles, Utc::now());
    crate::profile::write_atomic(path, text.as_bytes())
        .map_err(|e| format!("{}: {e}", path.display()))?;
    writeln!(
        out,
        "Exported {} to {}.\nThe file holds no secrets: on the new computer, re-enter each client secret or certificate password (or generate new ones) in step 3.",
        crate::wording::count_len(scan.profiles.len(), "profile"),
        path.display()
    )
    .map_err(w)?;
    for u in &scan.unreadable {
        writeln!(
            out,
            "  Not exported (cannot be read): {}: {}",
            u.file, u.message
        )
        .map_err(w)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `profiles --import FILE [--replace]`: a bundle or a single profile into the app's store.
/// Customers already here with different values are conflicts: listed and left alone
/// unless `replace`. Exit 1 when any profile in the file was rejected or left as a conflict.
pub fn import_profiles(
    path: &Path,
    replace: bool,
    format: Format,
    out: &mut dyn Write,
) -> Result<ExitCode, String> {
    let store = ProfileStore::open_default().map_err(|e| e.to_string())?;
    // A refused read already names the file.
    let text = read_import_file(path).map_err(|e| match e {
        crate::transfer::TransferError::File(e) => e.to_string(),
        e => format!("{}: {e}", path.display()),
    })?;
    let policy = if replace {
        Replace::All
    } else {
        Replace::Nothing
    };
    let sum = import_bundle(&store, &text, &policy, Keychain::open)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, &sum).map_err(|e| e.to_string())?;
            writeln!(out).map_err(w)?;
        }
        Format::Text => write!(out, "{}", import_text(&sum, store.dir())).map_err(w)?,
    }
    Ok(if sum.rejected.is_empty() && sum.conflicts.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Lines per kind (imported, replaced, unchanged, conflicts, rejected) the terminal shows
/// before "… and N more": a bundle of a thousand customers is summarised, and the whole list
/// goes to a file.
pub const IMPORT_LINES_SHOWN: usize = 10;

/// The import summary for the terminal: the counts and the first few of each kind. When
/// anything was left out, the whole summary is written to a file in the app's folder
/// (`imports/import-<time>.txt`, private to the user) and the last line says where.
pub fn import_text(sum: &ImportSummary, dir: &Path) -> String {
    let short = render_import_limited(sum, dir, Some(IMPORT_LINES_SHOWN));
    let full = render_import_limited(sum, dir, None);
    if short == full {
        return full;
    }
    let written = crate::profile::app_home()
        .map_err(|e| e.to_string())
        .and_then(|home| {
            let path = home.join("imports").join(format!(
                "import-{}.txt",
                Utc::now().format("%Y%m%dT%H%M%S%.3fZ")
            ));
            std::fs::create_dir_all(home.join("imports"))
                .and_then(|()| crate::profile::write_atomic(&path, full.as_bytes()))
                .map(|()| path)
                .map_err(|e| format!("{}: {e}", home.join("imports").display()))
        });
    match written {
        Ok(path) => format!("{short}The full list: {}\n", path.display()),
        Err(e) => format!(
            "{short}The full list could not be written ({e}); run the import with --format json to see it.\n"
        ),
    }
}

/// The import summary as text with at most `limit` lines per kind (`None`: every customer,
/// each on its own line).
fn render_import_limited(sum: &ImportSummary, dir: &Path, limit: Option<usize>) -> String {
    use std::fmt::Write as _;
    // Names come from the imported file: cleaned for the terminal.
    let name = |n: &str| {
        if n.trim().is_empty() {
            "(unnamed)".to_string()
        } else {
            crate::text::clean(n.trim()).into_owned()
        }
    };
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Imported {}, replaced {}, unchanged {}, conflicts {} (not replaced), rejected {} (into {}).",
        sum.imported.len(),
        sum.replaced.len(),
        sum.skipped.len(),
        sum.conflicts.len(),
        sum.rejected.len(),
        dir.display()
    );
    let take = |n: usize| limit.unwrap_or(n).min(n);
    let more = |s: &mut String, n: usize, what: &str| {
        if take(n) < n {
            let _ = writeln!(s, "  … and {} more {what}", n - take(n));
        }
    };
    for p in sum.imported.iter().take(take(sum.imported.len())) {
        let _ = writeln!(s, "  + {}  ({})", name(&p.name), p.id);
    }
    more(&mut s, sum.imported.len(), "imported");
    for p in sum.replaced.iter().take(take(sum.replaced.len())) {
        let _ = writeln!(
            s,
            "  ~ {}  ({}) replaced by the file's copy; changed: {}",
            name(&p.name),
            p.id,
            p.fields.join(", ")
        );
    }
    more(&mut s, sum.replaced.len(), "replaced");
    for p in sum.skipped.iter().take(take(sum.skipped.len())) {
        let _ = writeln!(
            s,
            "  = {}  ({}) unchanged: {}",
            name(&p.name),
            p.id,
            p.reason
        );
    }
    more(&mut s, sum.skipped.len(), "unchanged");
    for c in sum.conflicts.iter().take(take(sum.conflicts.len())) {
        let _ = writeln!(
            s,
            "  ! {}  ({}) is already on this computer{} with other values; NOT replaced. The file's copy would change:",
            name(&c.name),
            c.id,
            if c.name_here.trim() == c.name.trim() {
                String::new()
            } else {
                format!(" as {}", name(&c.name_here))
            }
        );
        for f in &c.changes {
            let _ = writeln!(s, "      {}: {} -> {}", f.field, f.here, f.incoming);
        }
        if c.more_changes > 0 {
            let _ = writeln!(
                s,
                "      … and {}",
                crate::wording::count_len(c.more_changes, "more field")
            );
        }
        if !c.identity_changes.is_empty() {
            let _ = writeln!(
                s,
                "      Replacing it deletes its stored secret and certificate password ({} changed).",
                c.identity_changes.join(", ")
            );
        }
    }
    more(&mut s, sum.conflicts.len(), "conflicts (not replaced)");
    for r in sum.rejected.iter().take(take(sum.rejected.len())) {
        let _ = writeln!(
            s,
            "  ✗ #{} {}: {}",
            r.position,
            r.name.as_deref().map(name).unwrap_or_default(),
            r.reason
        );
    }
    more(&mut s, sum.rejected.len(), "rejected");
    for k in &sum.keychain_removed {
        let _ = writeln!(s, "Keychain: {}.", k.message);
    }
    if !sum.conflicts.is_empty() {
        let _ = writeln!(
            s,
            "{} marked ! {} left exactly as they are on this computer. To replace them with the file's copies, run the import again with --replace.",
            crate::wording::count_len(sum.conflicts.len(), "customer"),
            if sum.conflicts.len() == 1 {
                "was"
            } else {
                "were"
            }
        );
    }
    let _ = writeln!(s, "{}", sum.secrets_note);
    // The note names the first few; the whole list is every name, one per line.
    if limit.is_none() && sum.needs_credentials.len() > crate::transfer::NAMES_SHOWN {
        let _ = writeln!(
            s,
            "Secret or certificate to set up again in step 3 ({}):",
            sum.needs_credentials.len()
        );
        for n in &sum.needs_credentials {
            let _ = writeln!(s, "  - {n}");
        }
    }
    s
}
