// Declaring the app's commands makes Tauri generate an `allow-<command>` permission for
// each, so a command is callable from the webview only if capabilities/main.json grants it.
const COMMANDS: &[&str] = &[
    "list_profiles",
    "new_profile",
    "load_profile",
    "save_profile",
    "delete_profile",
    "plan_profile",
    "explain_error",
    "list_clouds",
    "open_consent_link",
    "copy_text",
    "copy_stored_value",
    "check_secret_typed",
    "credential_status",
    "store_secret",
    "run_sso_test",
    "cancel_browser_flow",
    "graph_sign_in",
    "graph_sign_out",
    "apply_registration",
    "check_registration",
    "fix_registration",
    "secret_expiry_options",
    "create_certificate",
    "import_certificate",
    "export_reminder",
    "consent_roles",
    "capture_consent",
    "tenant_tracker",
    "select_tenants",
    "import_tenants",
    "remove_tenant",
    "allow_consented_tenants",
    "export_tenants",
    "start_sandbox",
    "new_practice_profile",
    "open_sandbox_portal",
    "export_script",
    "customer_page",
    "export_report",
    "export_profiles",
    "import_profiles",
    "app_info",
    "sync_preview",
    "export_sync_csv",
    "mark_verified",
    "export_teams_package",
];

fn main() {
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS)),
    )
    .expect("failed to run tauri-build");
}
