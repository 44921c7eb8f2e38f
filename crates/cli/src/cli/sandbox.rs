//! `entra-onboard sandbox [--port N] [--consented | --empty] [--format json]`: runs the
//! sandbox tenant ([`entra_onboard_sandbox`]) — its sign-in provider and Microsoft Graph on
//! one port, over one registry — in the foreground until Ctrl-C, after printing what a
//! trainee needs: the base URL for the profile's `authority`, the tenant ID, the Graph
//! address, and (unless `--empty`) the demo app's client ID with the demo secret's Value
//! (fake and public) next to its Secret ID; the demo users.

use std::io::Write;
use std::process::ExitCode;

use crate::cli::Format;
use entra_onboard_sandbox::Seed;
use entra_onboard_sandbox::idp::{
    DEMO_USERS, SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, SANDBOX_SECRET_ID, SANDBOX_TENANT_NAME,
    SandboxOptions,
};

/// The text printed when the sandbox is up.
pub fn banner(info: &entra_onboard_sandbox::SandboxInfo) -> String {
    let users: Vec<String> = DEMO_USERS
        .iter()
        .map(|u| {
            format!(
                "{} ({})",
                u.username,
                if u.mfa {
                    "password + MFA"
                } else {
                    "password only"
                }
            )
        })
        .collect();
    let demo = info.apps.iter().find(|a| a.client_id == SANDBOX_CLIENT_ID);
    let app = match demo {
        Some(a) => format!(
            "\n  Client ID:            {client}\
\n  Client secret Value:  {SANDBOX_CLIENT_SECRET}   <- paste this one\
\n  Secret ID:            {SANDBOX_SECRET_ID}   <- not this one\
\n  Redirect URIs:        {redirects}",
            client = a.client_id,
            redirects = a.redirect_uris.join(", "),
        ),
        None => "\n  App registrations:    none yet (started empty)".to_string(),
    };
    let (fields, then) = match demo {
        Some(a) => (
            format!(",\n  \"client_id\": \"{}\"", a.client_id),
            "Then: entra-onboard sso-test <profile.json> --secret-stdin   (paste the Value)",
        ),
        None => (
            String::new(),
            "Then: entra-onboard apply <profile.json> --credential secret   (signs in, creates the app\
\n      here, stores its new secret in the keychain), and\
\n      entra-onboard sso-test <profile.json>",
        ),
    };
    format!(
        "SANDBOX — {SANDBOX_TENANT_NAME} on this computer. Not Microsoft; nothing here is real.\n\
\n  Portal:               {portal}\
\n  Base URL (authority): {base}\
\n  Microsoft Graph:      {graph}\
\n  Tenant ID:            {tenant}{app}\
\n  Demo users:           {users}\
\n\nPoint a profile at it by adding these fields (remove \"authority\" before using the profile\
\nwith a real tenant):\
\n\n  \"authority\": \"{base}\",\
\n  \"tenant_id\": \"{tenant}\"{fields}\
\n\n{then}\
\nPress Ctrl-C to stop the sandbox.\n",
        portal = info.portal_url,
        base = info.base_url,
        graph = info.graph_url,
        tenant = info.tenant_id,
        users = users.join(", "),
    )
}

/// Runs the sandbox until Ctrl-C.
pub fn run(
    port: Option<u16>,
    consented: bool,
    empty: bool,
    format: Format,
    out: &mut dyn Write,
) -> Result<ExitCode, String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("could not start the async runtime: {e}"))?;
    runtime.block_on(async {
        let handle = entra_onboard_sandbox::start(SandboxOptions {
            port,
            pre_consented: consented,
            seed: if empty { Seed::Empty } else { Seed::DemoApp },
        })
        .await
        .map_err(|e| e.to_string())?;
        let info = handle.info();
        let text = match format {
            Format::Json => serde_json::to_string(&info).map_err(|e| e.to_string())? + "\n",
            Format::Text => banner(&info),
        };
        out.write_all(text.as_bytes())
            .and_then(|()| out.flush())
            .map_err(|e| e.to_string())?;
        tokio::signal::ctrl_c()
            .await
            .map_err(|e| format!("could not wait for Ctrl-C: {e}"))?;
        handle.shutdown().await;
        Ok(ExitCode::SUCCESS)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_banner_names_the_value_and_the_secret_id() {
        let info = entra_onboard_sandbox::idp::IdpState::new("http://127.0.0.1:5555")
            .unwrap()
            .info();
        let text = banner(&info);
        assert!(text.contains("SANDBOX"));
        assert!(text.contains(&format!("Client secret Value:  {SANDBOX_CLIENT_SECRET}")));
        assert!(text.contains(SANDBOX_SECRET_ID));
        assert!(text.contains("\"authority\": \"http://127.0.0.1:5555\""));
        assert!(text.contains("Microsoft Graph:      http://127.0.0.1:5555/v1.0"));
    }

    #[test]
    fn an_empty_sandbox_has_no_demo_secret_and_says_how_to_create_the_app() {
        let info =
            entra_onboard_sandbox::idp::IdpState::with_seed("http://127.0.0.1:5555", Seed::Empty)
                .unwrap()
                .info();
        assert!(info.apps.is_empty());
        let text = banner(&info);
        assert!(!text.contains(SANDBOX_CLIENT_SECRET), "{text}");
        assert!(text.contains("none yet (started empty)"), "{text}");
        assert!(text.contains("entra-onboard apply"), "{text}");
    }
}
