//! The `entra-onboard` binary: see [`cli`].

mod cli;

// The CLI is a shell over the engine: its modules are imported at the crate root, so the
// commands name them as `crate::profile`, `crate::steps`, `crate::graph`, … (the rules
// among them are the core's, re-exported by the engine).
use entra_onboard_engine::{
    bounded, browser, dashboard, graph, handover, ids, keychain, plan, profile, sso_test, steps,
    sync_preview, target, teams, text, transfer, validation, vault, wording,
};

fn main() -> std::process::ExitCode {
    cli::main()
}
