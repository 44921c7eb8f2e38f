//! `entra-onboard rotate`: replace the app's client secret without downtime (issue 15). The
//! rules are the core's `rotation`, the flow the engine's `graph::rotate`; this file only
//! reads the arguments, signs in once, saves the profile after every step and prints.
//!
//! The new secret's Value is never printed unless `--show` is given: it lives in the
//! keychain as the *next* secret until the old one is removed.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, ValueEnum};

use crate::cli::Format;
use crate::cli::graph::GraphArgs;
use crate::graph::rotate::{self, NextSecretStore, RotateContext, RotateReport};
use crate::keychain::Keychain;
use crate::profile::{CredentialKind, Profile};
use entra_onboard_engine::rotation::{self as rules, CustomerApp};

/// Help for `rotate`, in the admin's words.
pub const ROTATE_ABOUT: &str = "\
Replace the app's client secret without downtime (the CSP guide's \"Token expiration\" row,
done in an order that never leaves Halo without a working secret):

  1. sign in to Microsoft Graph once; read the app and the tenant's app-management policy
     (is adding a secret blocked? the longest lifetime allowed)
  2. add a NEW secret beside the old one (both work from now on)
  3. store it in the OS keychain as the next secret (the current one stays)
  4. prove it: a test sign-in in the browser whose code is redeemed with it, and an
     app-only token with it
  5. you paste it into Halo where the output says (it is printed only with --show), save,
     re-authorise, and press Enter (\"Halo is updated\")
  6. prove it again, remove the OLD secret by its Secret ID, make the new one current,
     update the expiry, record the rotation in the profile (never a value)

Any failure before the old secret is removed rolls back: the new secret is removed from
Entra and the keychain; the old one is untouched and still current. If the run stops while
waiting for Halo (Ctrl-C, no terminal), the rotation is kept in the profile: finish it with
--finish once Halo uses the new secret, or undo it with --rollback.

A customer whose credential is a certificate (step 3, or step 5's Partner Center app)
rotates a certificate the same way: a NEW self-signed certificate (as `cert new` makes it)
is added beside the old one with Graph's addKey, proven with a proof of possession signed
by the current certificate; its .pfx is written beside the old one and its password kept
in the keychain as the next one (printed only with --show); you upload the new .pfx in
Halo (Configuration > Advanced Settings > Certificates), point the connection at it, and
the old certificate is then removed by its key ID (removeKey). The record holds the old
and new thumbprints, never a key or password.
Without Graph rights, --by-hand: you create the new secret in the Entra portal and paste
its Value (hidden at a terminal, else the first line of standard input; never an argument);
the tool stores, proves (a test sign-in redeemed with it and an app-only token), waits for
Halo, proves again, makes it current and tells you which old secret to delete in the portal.
Give the expiry you chose there with --expires. --finish and --rollback continue either kind.
A certificate --by-hand: the tool makes the new certificate (as `cert new` does), writes
its .pfx beside the old one and a .cer, keeps the .pfx password as the keychain's next one,
and prints the .cer's path; you upload the .cer in the Entra admin centre (App
registrations > the app > Certificates & secrets > Certificates > Upload certificate) and
press Enter (\"uploaded\"; answers are read from standard input, a terminal or a pipe). Until
Entra has it the proof fails with AADSTS700027: nothing is rolled back, upload and press
Enter again (or --finish later). Then Halo as above; at the end it names the old
certificate to delete in the portal by thumbprint and expiry. --expires (or --months) sets
the new certificate's lifetime; --rollback deletes the new .pfx, .cer and password and
tells you to delete the new certificate in the portal if you uploaded it.

--dry-run prints the plan and sends nothing (no sign-in).
Exit codes: 0 done or waiting for Halo, 1 a step failed (rolled back, or what is left is
said), 2 bad input or sign-in.";

/// Which app registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AppArg {
    /// The connection's app (SSO, import, CSP's multi-tenant app).
    Main,
    /// CSP's Partner Center app (step 5).
    PartnerCenter,
}

impl From<AppArg> for CustomerApp {
    fn from(a: AppArg) -> Self {
        match a {
            AppArg::Main => CustomerApp::Main,
            AppArg::PartnerCenter => CustomerApp::PartnerCenter,
        }
    }
}

/// `entra-onboard rotate`.
#[derive(Debug, Args)]
pub struct RotateArgs {
    /// The profile JSON file (saved after every step).
    pub profile: PathBuf,
    /// Which app registration's secret.
    #[arg(long, value_enum, default_value_t = AppArg::Main)]
    pub app: AppArg,
    /// Lifetime of the new secret in months (1 to 24; shortened to the tenant's policy).
    #[arg(long, default_value_t = rules::DEFAULT_MONTHS, value_name = "MONTHS",
          value_parser = clap::value_parser!(u32).range(1..=24))]
    pub months: u32,
    /// Print the plan (steps, rollback per step, where the secret goes in Halo); send nothing.
    #[arg(long, conflicts_with_all = ["finish", "rollback"])]
    pub dry_run: bool,
    /// Halo uses the new secret: prove it again, remove the old one, record (finishes an
    /// interrupted rotation too).
    #[arg(long, conflicts_with = "rollback")]
    pub finish: bool,
    /// Undo the rotation in progress: remove the new secret from Entra and the keychain.
    #[arg(long)]
    pub rollback: bool,
    /// Without Graph rights: the same rotation with the portal steps done by you; the new
    /// Value is read hidden (or from standard input), stored, proven and recorded. With
    /// --dry-run: only the checklist.
    #[arg(long)]
    pub by_hand: bool,
    /// --by-hand: the expiry you chose for the new secret in the portal (YYYY-MM-DD; at most
    /// 24 months away). Without it: asked at a terminal, else --months from today.
    #[arg(long, value_name = "DATE")]
    pub expires: Option<chrono::NaiveDate>,
    /// Print the new secret's Value (to paste into Halo). Without it, the Value is never
    /// printed.
    #[arg(long)]
    pub show: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    #[command(flatten)]
    pub graph: GraphArgs,
}

pub(crate) fn save_to(path: &Path) -> impl FnMut(&Profile) -> Result<(), String> + Send + use<> {
    let path = path.to_path_buf();
    move |p: &Profile| {
        crate::profile::write_atomic(&path, p.to_json().as_bytes())
            .map_err(|e| format!("{}: {e}", path.display()))
    }
}

/// Runs `entra-onboard rotate`.
pub fn run(a: RotateArgs, out: &mut dyn Write) -> Result<ExitCode, String> {
    let mut p = crate::cli::load(&a.profile)?;
    let app: CustomerApp = a.app.into();
    if a.by_hand && a.dry_run {
        return by_hand(&p, app, a.format, out);
    }
    if a.dry_run {
        return dry_run(&p, app, a.months, a.format, out);
    }
    if (a.finish || a.rollback) && p.rotation.is_none() {
        return Err(
            "rotation: no rotation is in progress for this customer; start one with `entra-onboard rotate <profile>`".into(),
        );
    }
    // A by-hand rotation continues by hand, whichever flag started it.
    if (a.finish || a.rollback) && p.rotation.as_ref().is_some_and(|r| r.by_hand) {
        return super::rotate_by_hand::resume(&a, p, out);
    }
    if a.by_hand && !a.finish && !a.rollback {
        return super::rotate_by_hand::begin(&a, p, app, out);
    }
    if !a.finish && !a.rollback {
        rules::check_start(&p, app).map_err(|e| format!("{e} ({})", e.code()))?;
    }
    // The keychain first: without it nothing may be created in Entra.
    let keychain = Keychain::open().map_err(|e| e.to_string())?;
    let scopes = ["Application.ReadWrite.All", "Policy.Read.All"];
    let rt = crate::cli::graph::runtime()?;
    let format = a.format;
    rt.block_on(async {
        let (client, user) = crate::cli::graph::connect_as(&p, &a.graph, &scopes).await?;
        let in_progress_app = p.rotation.as_ref().map(|r| r.app).unwrap_or(app);
        // The shared proof: a test sign-in redeemed with the new secret, an app-only token.
        let prover = super::rotate_by_hand::prover(&p, in_progress_app, a.graph.timeout, format)?;
        let mut save = save_to(&a.profile);
        let mut ctx = RotateContext {
            client: &client,
            store: &keychain,
            prover,
            save: &mut save,
            signed_in_as: user,
            now: None,
        };
        let err = |e: rotate::RotateError| format!("{e} ({})", e.code());
        let mut report = if a.rollback {
            rotate::roll_back(
                &mut p,
                "rolled back by the admin (rotate --rollback)",
                &mut ctx,
            )
            .await
            .map_err(err)?
        } else if a.finish {
            rotate::proceed(&mut p, true, &mut ctx).await.map_err(err)?
        } else {
            rotate::begin(&mut p, app, a.months, &mut ctx)
                .await
                .map_err(err)?
        };
        print_report(&report, format, out)?;
        // Waiting for Halo in a terminal: show where (and, with --show, the Value), then
        // finish on Enter.
        if report.ok && waiting(&report) {
            print_value(&keychain, &p, in_progress_app, a.show, &a.profile, out)?;
            if format == Format::Text && std::io::stdin().is_terminal() {
                match ask_halo_updated(out)? {
                    Answer::Updated => {
                        report = rotate::proceed(&mut p, true, &mut ctx).await.map_err(err)?;
                        print_report(&report, format, out)?;
                    }
                    Answer::RollBack => {
                        report = rotate::roll_back(&mut p, "rolled back by the admin", &mut ctx)
                            .await
                            .map_err(err)?;
                        print_report(&report, format, out)?;
                    }
                    Answer::Later => {}
                }
            }
        }
        Ok(if report.ok && !report.rolled_back {
            ExitCode::SUCCESS
        } else if report.ok {
            // A rollback the admin asked for, done.
            if a.rollback {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        } else {
            ExitCode::from(1)
        })
    })
}

fn waiting(r: &RotateReport) -> bool {
    r.rotation
        .as_ref()
        .is_some_and(|x| x.state == rules::RotationState::WaitingForHalo)
}

pub(crate) enum Answer {
    Updated,
    RollBack,
    Later,
}

pub(crate) fn ask_halo_updated(out: &mut dyn Write) -> Result<Answer, String> {
    let w = |e: std::io::Error| e.to_string();
    write!(
        out,
        "\nWhen Halo is updated, press Enter to finish; type \"rollback\" to undo, or \"later\" to stop here: "
    )
    .map_err(w)?;
    out.flush().map_err(w)?;
    let mut line = String::new();
    let n = std::io::stdin().lock().read_line(&mut line).map_err(w)?;
    Ok(match line.trim().to_ascii_lowercase().as_str() {
        _ if n == 0 => Answer::Later,
        "" | "done" | "yes" | "y" => Answer::Updated,
        "rollback" | "roll back" => Answer::RollBack,
        _ => Answer::Later,
    })
}

fn print_value(
    keychain: &Keychain,
    p: &Profile,
    app: CustomerApp,
    show: bool,
    path: &Path,
    out: &mut dyn Write,
) -> Result<(), String> {
    let w = |e: std::io::Error| e.to_string();
    let id = crate::vault::profile_key(p).map_err(|e| e.to_string())?;
    if let Some(r) = p
        .rotation
        .as_ref()
        .filter(|r| r.kind == CredentialKind::Certificate)
    {
        print_certificate(keychain, r, &id, show, out)?;
    } else if show {
        let v = NextSecretStore::next(keychain, &id, app)?
            .ok_or("the new secret is not in the keychain")?;
        writeln!(
            out,
            "\nThe new secret's Value (shown because of --show):\n{}",
            v.expose()
        )
        .map_err(w)?;
    } else {
        writeln!(
            out,
            "\nThe new Value is in {} as this customer's next secret; it is not printed. Run with --show to print it, or copy it in the desktop app (Rotate).",
            keychain.store_name()
        )
        .map_err(w)?;
    }
    if !std::io::stdin().is_terminal() {
        writeln!(
            out,
            "When Halo uses it: entra-onboard rotate {} --finish (or --rollback to undo).",
            path.display()
        )
        .map_err(w)?;
    }
    Ok(())
}

/// Where a certificate rotation's new .pfx is, and — with `--show` — its password.
pub(crate) fn print_certificate(
    keychain: &Keychain,
    r: &rules::RotationInProgress,
    id: &str,
    show: bool,
    out: &mut dyn Write,
) -> Result<(), String> {
    let w = |e: std::io::Error| e.to_string();
    writeln!(
        out,
        "\nThe new .pfx to upload in Halo: {}",
        r.new_certificate_file.as_deref().unwrap_or("(not written)")
    )
    .map_err(w)?;
    if show {
        let v = NextSecretStore::next_password(keychain, id, r.app)?
            .ok_or("the new .pfx password is not in the keychain")?;
        writeln!(
            out,
            "Its password (shown because of --show):\n{}",
            v.expose()
        )
        .map_err(w)
    } else {
        writeln!(
            out,
            "Its password is in {} as this customer's next .pfx password; it is not printed. Run with --show to print it, or copy it in the desktop app (Rotate).",
            keychain.store_name()
        )
        .map_err(w)
    }
}

fn dry_run(
    p: &Profile,
    app: CustomerApp,
    months: u32,
    format: Format,
    out: &mut dyn Write,
) -> Result<ExitCode, String> {
    let w = |e: std::io::Error| e.to_string();
    if let Some(r) = &p.rotation {
        let choice = rules::resume_of(r);
        match format {
            Format::Json => {
                serde_json::to_writer_pretty(&mut *out, &serde_json::json!({
                    "inProgress": r, "resume": choice
                }))
                .map_err(|e| e.to_string())?;
                writeln!(out).map_err(w)?;
            }
            Format::Text => writeln!(
                out,
                "A rotation started {} is in progress: {}.\n{}\nFinish: --finish{}  Roll back: --rollback{}",
                r.started_at.format("%Y-%m-%d %H:%M UTC"),
                choice.state_label,
                choice.advice,
                if choice.can_finish { "" } else { " (not possible)" },
                if choice.can_roll_back { "" } else { " (not possible)" },
            )
            .map_err(w)?,
        }
        return Ok(ExitCode::SUCCESS);
    }
    rules::check_start(p, app).map_err(|e| format!("{e} ({})", e.code()))?;
    let plan = rules::plan(p, app, months);
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, &plan).map_err(|e| e.to_string())?;
            writeln!(out).map_err(w)?;
        }
        Format::Text => write!(out, "{}", render_plan(&plan)).map_err(w)?,
    }
    Ok(ExitCode::SUCCESS)
}

fn by_hand(
    p: &Profile,
    app: CustomerApp,
    format: Format,
    out: &mut dyn Write,
) -> Result<ExitCode, String> {
    let w = |e: std::io::Error| e.to_string();
    rules::check_start(p, app).map_err(|e| format!("{e} ({})", e.code()))?;
    let today = chrono::Utc::now().date_naive();
    // A certificate's checklist: made here, its .cer uploaded by you.
    let steps = if p.credential_of(app).kind == CredentialKind::Certificate {
        entra_onboard_engine::rotation_by_hand::cert::checklist(p, app, today)
    } else {
        rules::checklist(p, app, today)
    };
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, &steps).map_err(|e| e.to_string())?;
            writeln!(out).map_err(w)?;
        }
        Format::Text => {
            writeln!(
                out,
                "Rotate {} by hand, in this order (nothing is sent):\n",
                app.label()
            )
            .map_err(w)?;
            for (i, st) in steps.iter().enumerate() {
                writeln!(
                    out,
                    "{}. {}\n   if it goes wrong here: {}",
                    i + 1,
                    st.what,
                    st.rollback
                )
                .map_err(w)?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The plan as text.
pub fn render_plan(plan: &rules::RotationPlan) -> String {
    let mut s = format!(
        "Dry run: nothing is sent. Rotating {} (now: {}).\n\n",
        plan.app.label(),
        plan.current
    );
    for (i, st) in plan.steps.iter().enumerate() {
        s.push_str(&format!(
            "{}. {}\n   if it fails after this: {}\n",
            i + 1,
            st.what,
            st.rollback
        ));
    }
    s.push_str("\nWhere the new secret goes in Halo:\n");
    for r in &plan.halo {
        s.push_str(&format!("  {} > {}: {}\n", r.screen, r.setting, r.value));
        if let Some(n) = &r.note {
            s.push_str(&format!("      {n}\n"));
        }
    }
    s.push_str("\nGraph requests:\n");
    for q in &plan.requests {
        s.push_str(&format!("  {q}\n"));
    }
    s
}

pub(crate) fn print_report(
    r: &RotateReport,
    format: Format,
    out: &mut dyn Write,
) -> Result<(), String> {
    let w = |e: std::io::Error| e.to_string();
    if format == Format::Json {
        serde_json::to_writer_pretty(&mut *out, r).map_err(|e| e.to_string())?;
        return writeln!(out).map_err(w);
    }
    let mut s = String::new();
    for st in &r.steps {
        s.push_str(&format!(
            "{} {}{}\n",
            if st.ok { "✓" } else { "✗" },
            st.label,
            st.detail
                .as_deref()
                .map(|d| format!(" — {}", crate::text::clean(d)))
                .unwrap_or_default()
        ));
    }
    for n in &r.policy_notes {
        s.push_str(&format!("  Policy: {n}\n"));
    }
    if !r.halo.is_empty() {
        s.push_str("\nNow update Halo:\n");
        for h in &r.halo {
            s.push_str(&format!("  {} > {}: {}\n", h.screen, h.setting, h.value));
            if let Some(n) = &h.note {
                s.push_str(&format!("      {n}\n"));
            }
        }
    }
    if let Some(e) = &r.error {
        s.push_str(&format!(
            "\nFailed ({}): {}\nFix: {}\n",
            e.code,
            crate::text::clean(&e.message),
            e.fix
        ));
    }
    if r.rolled_back {
        let what = match r.record.as_ref().map(|x| x.kind) {
            Some(CredentialKind::Certificate) => "certificate",
            _ => "secret",
        };
        s.push_str(&format!("\nRolled back: the old {what} is still current and the new one is out of the keychain (see the steps above for Entra).\n"));
    }
    for h in &r.handover {
        s.push_str(&format!("  To do: {h}\n"));
    }
    if let Some(rec) = &r.record
        && rec.outcome == rules::RotationOutcome::Completed
    {
        let old = rec.old.clone().unwrap_or_else(|| "secret".into());
        s.push_str(&format!(
            "\nDone: {} is current{}; {}.\n",
            rec.new.clone().unwrap_or_default(),
            rec.expires_on
                .map(|d| format!(" (expires {d})"))
                .unwrap_or_default(),
            // By hand, the old one is the admin's to delete (the "To do" above).
            if r.handover.is_empty() {
                format!("the old {old} is removed")
            } else {
                format!("now delete the old {old} in the portal, as above")
            }
        ));
    }
    write!(out, "{s}").map_err(w)
}
