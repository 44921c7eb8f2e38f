//! `entra-onboard rotate --by-hand`: the rotation for an admin without Graph rights (issue
//! 15). The admin creates the new secret in the Entra portal; this reads its Value — hidden
//! at a terminal, the first line of standard input otherwise, never an argument — stores it
//! as the keychain's next secret, proves it (a test sign-in redeemed with it and an app-only
//! token), says where it goes in Halo and, on "Halo is updated", proves it again, makes it
//! current and says which old secret to delete in the portal. `--finish` and `--rollback`
//! continue a by-hand rotation. The flow is the engine's `rotate_by_hand`.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Arc;

use chrono::NaiveDate;

use super::rotate::{
    Answer, RotateArgs, ask_halo_updated, print_certificate, print_report, save_to,
};
use crate::cli::Format;
use crate::graph::rotate::{Prover, RotateError, RotateReport};
use crate::ids::Sensitive;
use crate::keychain::Keychain;
use crate::profile::{CredentialKind, Profile};
use crate::sso_test::{CancellationToken, ProgressFn, SsoProgress, SsoTestOptions};
use entra_onboard_engine::rotate_by_hand::{self as by_hand, ByHandContext};
use entra_onboard_engine::rotation::{self as rules, CustomerApp, RotationState};
use entra_onboard_engine::rotation_by_hand as hand;

fn w(e: std::io::Error) -> String {
    e.to_string()
}

fn err(e: RotateError) -> String {
    format!("{e} ({})", e.code())
}

pub(crate) fn prover(
    p: &Profile,
    app: CustomerApp,
    timeout: u64,
    format: Format,
) -> Result<Prover, String> {
    let progress: ProgressFn = Arc::new(move |event: &SsoProgress| match event {
        SsoProgress::BrowserOpened { .. } if format == Format::Text => {
            eprintln!(
                "Proving the new credential: a test sign-in opened in the browser; sign in there."
            );
        }
        SsoProgress::BrowserFailed { url, message } => {
            eprintln!("{message}\nOpen this link yourself:\n  {url}");
        }
        _ => {}
    });
    let options = SsoTestOptions {
        timeout: std::time::Duration::from_secs(timeout.max(1)),
        progress: Some(progress),
        ..SsoTestOptions::default()
    };
    entra_onboard_engine::rotation_proof::prover(p, app, options, CancellationToken::new())
        .map_err(err)
}

/// The new secret's Value: hidden at a terminal, else the first line of standard input.
fn read_value() -> Result<Sensitive<String>, String> {
    if std::io::stdin().is_terminal() {
        return rpassword::prompt_password("Paste the NEW secret's Value (input hidden): ")
            .map(Sensitive::new)
            .map_err(|e| format!("could not read the Value from the terminal: {e}"));
    }
    crate::bounded::read_stdin_line(crate::bounded::MAX_STDIN_SECRET_BYTES, "a client secret")
        .map(Sensitive::new)
        .map_err(|e| format!("new secret (standard input): {e}"))
}

/// The expiry the admin chose in the portal: `--expires`, else asked at a terminal (Enter
/// takes `--months` from today), else `--months` from today.
fn expiry(a: &RotateArgs, today: NaiveDate, out: &mut dyn Write) -> Result<NaiveDate, String> {
    if let Some(d) = a.expires {
        return Ok(d);
    }
    let from_months = hand::expiry_from_months(today, a.months);
    if !std::io::stdin().is_terminal() {
        return Ok(from_months);
    }
    write!(
        out,
        "The expiry you chose in the portal (YYYY-MM-DD, Enter for {from_months}): "
    )
    .map_err(w)?;
    out.flush().map_err(w)?;
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).map_err(w)?;
    let line = line.trim();
    if line.is_empty() {
        return Ok(from_months);
    }
    NaiveDate::parse_from_str(line, "%Y-%m-%d")
        .map_err(|_| format!("expires_on: '{line}' is not a date like 2027-06-30; run it again"))
}

fn print_checklist(p: &Profile, app: CustomerApp, out: &mut dyn Write) -> Result<(), String> {
    let plan = hand::plan(p, app, chrono::Utc::now().date_naive());
    writeln!(out, "Rotate {} by hand, in this order:\n", app.label()).map_err(w)?;
    for (i, st) in plan.steps.iter().enumerate() {
        writeln!(
            out,
            "{}. {}\n   if it goes wrong here: {}",
            i + 1,
            st.what,
            st.rollback
        )
        .map_err(w)?;
    }
    writeln!(
        out,
        "\nNow do step 1 in the portal, then paste the new secret's Value here (never the Secret ID).\n"
    )
    .map_err(w)
}

fn exit(report: &RotateReport, asked_rollback: bool) -> ExitCode {
    if report.ok && (!report.rolled_back || asked_rollback) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn waiting(r: &RotateReport) -> bool {
    r.rotation
        .as_ref()
        .is_some_and(|x| x.state == RotationState::WaitingForHalo)
}

/// `rotate --by-hand` with nothing in progress: the checklist, the pasted Value, the proof,
/// Halo, and — at a terminal — "Halo is updated".
pub fn begin(
    a: &RotateArgs,
    mut p: Profile,
    app: CustomerApp,
    out: &mut dyn Write,
) -> Result<ExitCode, String> {
    rules::check_start(&p, app).map_err(|e| format!("{e} ({})", e.code()))?;
    if p.credential_of(app).kind == CredentialKind::Certificate {
        return begin_certificate(a, p, app, out);
    }
    // The keychain first: without it the Value has nowhere to go.
    let keychain = Keychain::open().map_err(|e| e.to_string())?;
    if a.format == Format::Text {
        print_checklist(&p, app, out)?;
    }
    let today = chrono::Utc::now().date_naive();
    let expires_on = expiry(a, today, out)?;
    let value = read_value()?;
    let prover = prover(&p, app, a.graph.timeout, a.format)?;
    let rt = crate::cli::graph::runtime()?;
    let mut save = save_to(&a.profile);
    let mut ctx = ByHandContext {
        store: &keychain,
        prover,
        save: &mut save,
        who: None,
        now: None,
    };
    rt.block_on(async {
        let report = by_hand::begin(&mut p, app, value, expires_on, &mut ctx)
            .await
            .map_err(err)?;
        after(a, &mut p, report, &mut ctx, out).await
    })
}

/// `rotate --finish | --rollback` of a by-hand rotation.
pub fn resume(a: &RotateArgs, mut p: Profile, out: &mut dyn Write) -> Result<ExitCode, String> {
    let app = p.rotation.as_ref().map_or(a.app.into(), |r| r.app);
    let certificate = p
        .rotation
        .as_ref()
        .is_some_and(|r| r.kind == CredentialKind::Certificate);
    let keychain = Keychain::open().map_err(|e| e.to_string())?;
    let prover = prover(&p, app, a.graph.timeout, a.format)?;
    let rt = crate::cli::graph::runtime()?;
    let mut save = save_to(&a.profile);
    let mut ctx = ByHandContext {
        store: &keychain,
        prover,
        save: &mut save,
        who: None,
        now: None,
    };
    rt.block_on(async {
        if a.rollback {
            let report = by_hand::roll_back(
                &mut p,
                "rolled back by the admin (rotate --rollback)",
                &mut ctx,
            )
            .map_err(err)?;
            print_report(&report, a.format, out)?;
            return Ok(exit(&report, true));
        }
        let report = by_hand::proceed(&mut p, true, &mut ctx)
            .await
            .map_err(err)?;
        if certificate {
            return after_certificate(a, &mut p, report, &mut ctx, &keychain, out).await;
        }
        after(a, &mut p, report, &mut ctx, out).await
    })
}

/// `rotate --by-hand` of a certificate: the checklist, the new certificate made and stored,
/// then — on standard input, a terminal or a pipe — "uploaded", the proof, Halo and "Halo
/// is updated".
fn begin_certificate(
    a: &RotateArgs,
    mut p: Profile,
    app: CustomerApp,
    out: &mut dyn Write,
) -> Result<ExitCode, String> {
    // The keychain first: without it the new .pfx password has nowhere to go.
    let keychain = Keychain::open().map_err(|e| e.to_string())?;
    let today = chrono::Utc::now().date_naive();
    let expires_on = a
        .expires
        .unwrap_or_else(|| hand::expiry_from_months(today, a.months));
    if a.format == Format::Text {
        print_steps(
            &format!(
                "Rotate {}'s certificate by hand, in this order:",
                app.label()
            ),
            &hand::cert::checklist(&p, app, today),
            out,
        )?;
    }
    let prover = prover(&p, app, a.graph.timeout, a.format)?;
    let rt = crate::cli::graph::runtime()?;
    let mut save = save_to(&a.profile);
    let mut ctx = ByHandContext {
        store: &keychain,
        prover,
        save: &mut save,
        who: None,
        now: None,
    };
    rt.block_on(async {
        let report = by_hand::cert::begin(&mut p, app, expires_on, &mut ctx)
            .await
            .map_err(err)?;
        after_certificate(a, &mut p, report, &mut ctx, &keychain, out).await
    })
}

fn print_steps(
    title: &str,
    steps: &[rules::RotationPlanStep],
    out: &mut dyn Write,
) -> Result<(), String> {
    writeln!(out, "{title}\n").map_err(w)?;
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
    writeln!(out).map_err(w)
}

fn state_of(r: &RotateReport) -> Option<RotationState> {
    r.rotation.as_ref().map(|x| x.state)
}

/// "Uploaded" (Enter), "rollback", or "later" (also the end of standard input).
fn ask_uploaded(out: &mut dyn Write) -> Result<Answer, String> {
    write!(
        out,
        "\nWhen the .cer is uploaded in the portal, press Enter (\"uploaded\") to prove it; type \"rollback\" to undo, or \"later\" to stop here: "
    )
    .map_err(w)?;
    out.flush().map_err(w)?;
    let mut line = String::new();
    let n = std::io::stdin().read_line(&mut line).map_err(w)?;
    Ok(match line.trim().to_ascii_lowercase().as_str() {
        _ if n == 0 => Answer::Later,
        "" | "uploaded" | "done" | "yes" | "y" => Answer::Updated,
        "rollback" | "roll back" => Answer::RollBack,
        _ => Answer::Later,
    })
}

/// Prints each report and asks what the state waits for — the upload (again, after a proof
/// Entra answered with AADSTS700027), then Halo — until done, rolled back or "later".
/// Answers come from standard input (no value is read there for a certificate); with
/// `--format json` nothing is asked.
async fn after_certificate(
    a: &RotateArgs,
    p: &mut Profile,
    mut report: RotateReport,
    ctx: &mut ByHandContext<'_>,
    keychain: &Keychain,
    out: &mut dyn Write,
) -> Result<ExitCode, String> {
    let later = |out: &mut dyn Write, what: &str| {
        writeln!(
            out,
            "\nStopped here; the rotation is saved. {what}: entra-onboard rotate {} --finish (or --rollback to undo).",
            a.profile.display()
        )
        .map_err(w)
    };
    loop {
        print_report(&report, a.format, out)?;
        let not_uploaded = report
            .error
            .as_ref()
            .is_some_and(|e| e.code == "rotate.not_uploaded");
        let state = state_of(&report);
        if report.rolled_back || !(report.ok || not_uploaded) {
            return Ok(exit(&report, false));
        }
        if state == Some(RotationState::WaitingForHalo)
            && let Some(r) = p.rotation.as_ref()
        {
            let id = crate::vault::profile_key(p).map_err(|e| e.to_string())?;
            print_certificate(keychain, r, &id, a.show, out)?;
        }
        if a.format != Format::Text {
            return Ok(exit(&report, false));
        }
        match state {
            Some(RotationState::StoredAsNext) => match ask_uploaded(out)? {
                Answer::Updated => {
                    report = by_hand::proceed(p, false, ctx).await.map_err(err)?;
                }
                Answer::RollBack => {
                    report = by_hand::roll_back(p, "rolled back by the admin", ctx).map_err(err)?;
                    print_report(&report, a.format, out)?;
                    return Ok(exit(&report, true));
                }
                Answer::Later => {
                    later(out, "Once the .cer is uploaded")?;
                    return Ok(exit(&report, false));
                }
            },
            Some(RotationState::WaitingForHalo) => match ask_halo_updated(out)? {
                Answer::Updated => {
                    report = by_hand::proceed(p, true, ctx).await.map_err(err)?;
                }
                Answer::RollBack => {
                    report = by_hand::roll_back(p, "rolled back by the admin", ctx).map_err(err)?;
                    print_report(&report, a.format, out)?;
                    return Ok(exit(&report, true));
                }
                Answer::Later => {
                    later(out, "When Halo uses the new certificate")?;
                    return Ok(exit(&report, false));
                }
            },
            _ => return Ok(exit(&report, false)),
        }
    }
}

/// Prints the report; while waiting for Halo, says so and — at a terminal — asks.
async fn after(
    a: &RotateArgs,
    p: &mut Profile,
    mut report: RotateReport,
    ctx: &mut ByHandContext<'_>,
    out: &mut dyn Write,
) -> Result<ExitCode, String> {
    print_report(&report, a.format, out)?;
    if !(report.ok && waiting(&report)) {
        return Ok(exit(&report, false));
    }
    if a.format == Format::Text && std::io::stdin().is_terminal() {
        match ask_halo_updated(out)? {
            Answer::Updated => {
                report = by_hand::proceed(p, true, ctx).await.map_err(err)?;
                print_report(&report, a.format, out)?;
            }
            Answer::RollBack => {
                report = by_hand::roll_back(p, "rolled back by the admin", ctx).map_err(err)?;
                print_report(&report, a.format, out)?;
                return Ok(exit(&report, true));
            }
            Answer::Later => {}
        }
    } else if a.format == Format::Text {
        writeln!(
            out,
            "\nWhen Halo uses the new secret: entra-onboard rotate {} --finish (or --rollback to undo).",
            a.profile.display()
        )
        .map_err(w)?;
    }
    Ok(exit(&report, false))
}
