//! The desktop's practice sandbox end to end, through the same engine calls the app's
//! commands make: capture admin consent (step 4), prove the sign-in (Test & save), then
//! sign in to Graph and run "Check a live registration" against the sandbox's Graph routes —
//! all on one loopback port, with the scripted browser ($BROWSER stand-in) clicking the
//! sandbox's pages.

use std::time::Duration;

use entra_onboard_engine::graph::session::{self, GraphSession};
use entra_onboard_engine::graph::signin::SigninOptions;
use entra_onboard_engine::ids::Sensitive;
use entra_onboard_engine::sso_test::{self, CancellationToken, ClientCredential, SsoTestOptions};
use entra_onboard_engine::steps::consent_capture::{self, ConsentCaptureOptions};
use entra_onboard_sandbox::idp::SANDBOX_CLIENT_SECRET;
use entra_onboard_sandbox::practice::{PracticeSandbox, is_practice};

#[path = "support/scripted_browser.rs"]
mod scripted_browser;
use scripted_browser::scripted_browser;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn practice_consent_then_sso_test_then_graph_doctor() {
    let sb = PracticeSandbox::start(Some(0), entra_onboard_sandbox::Seed::DemoApp)
        .await
        .expect("sandbox starts");
    let p = sb.practice_profile("Practice Co");
    assert!(is_practice(&p));
    assert_eq!(
        entra_onboard_engine::target::Target::from_profile(&p)
            .unwrap()
            .graph_base(),
        format!("{}/v1.0", sb.base_url())
    );
    let cancel = CancellationToken::new();

    // Before consent, the app-only token has no roles: the SSO test says so.
    let sso_options = SsoTestOptions {
        timeout: Duration::from_secs(30),
        open_browser: scripted_browser(),
        ..SsoTestOptions::default()
    };
    let credential = ClientCredential::Secret(Sensitive::new(SANDBOX_CLIENT_SECRET.into()));
    let r = sso_test::run(&p, &credential, &sso_options, &cancel)
        .await
        .unwrap();
    assert!(!r.ok, "no consent yet: {r:#?}");

    // Step 4: the consent page's first button is Accept.
    let options = ConsentCaptureOptions {
        timeout: Duration::from_secs(30),
        open_browser: scripted_browser(),
        ..ConsentCaptureOptions::default()
    };
    let outcome = consent_capture::capture(&p, None, &options, &cancel)
        .await
        .expect("consent captured");
    let v = serde_json::to_value(&outcome).unwrap();
    assert_eq!(v["status"], "consented", "{v:#}");

    // Test & save now passes and would mark the customer verified.
    let r = sso_test::run(&p, &credential, &sso_options, &cancel)
        .await
        .unwrap();
    assert!(r.ok, "{r:#?}");
    let verified = r.verification().expect("a pass verifies");
    assert!(verified.signed_in_as.unwrap().ends_with("@sandbox.invalid"));

    // "Preview the sync" with the app's own credential reads the practice directory.
    let preview =
        entra_onboard_engine::sync_preview::run_for_profile(&p, &credential, None, &cancel)
            .await
            .expect("sync preview runs");
    assert_eq!(preview.totals.read, 250, "{:#?}", preview.totals);
    assert!(preview.totals.technicians > 0 && preview.totals.end_users > 0);

    // One Graph sign-in, then the doctor against the sandbox's Graph routes.
    let signin = SigninOptions {
        timeout: Duration::from_secs(30),
        open_browser: scripted_browser(),
        ..SigninOptions::default()
    };
    let session = GraphSession::sign_in_with(&p, signin, &cancel)
        .await
        .expect("graph sign-in against the sandbox");
    let report = session::doctor_for(&session, &p)
        .await
        .expect("doctor runs");
    let app = report.application.as_ref().expect("the demo app is found");
    assert_eq!(app.app_id, p.client_id);
    assert!(
        session
            .client()
            .sent()
            .iter()
            .all(|r| r.url.starts_with(&sb.base_url())),
        "no request left the sandbox"
    );
    // A token the sandbox did not issue is refused by its Graph routes.
    let forged = GraphSession::with_token(&p, Sensitive::new("forged".into())).unwrap();
    assert!(session::doctor_for(&forged, &p).await.is_err());
}

/// Step 1 is checked once per operation (issue 12): each flow resolves the profile's basics
/// once and passes them down. Counted on this thread — a current-thread runtime keeps every
/// engine call on it — by the core's debug-build counter.
#[cfg(debug_assertions)]
#[tokio::test(flavor = "current_thread")]
async fn each_operation_checks_step_1_once() {
    use entra_onboard_engine::graph::doctor::doctor_with_access;
    use entra_onboard_engine::graph::session::ApplyRequest;
    use entra_onboard_engine::steps::basics::checks_on_this_thread;

    let sb = PracticeSandbox::start(Some(0), entra_onboard_sandbox::Seed::DemoApp)
        .await
        .expect("sandbox starts");
    let mut p = sb.practice_profile("Practice Co");
    let cancel = CancellationToken::new();
    let credential = ClientCredential::Secret(Sensitive::new(SANDBOX_CLIENT_SECRET.into()));
    let mut checks = checks_on_this_thread();
    let mut once = |what: &str| {
        let now = checks_on_this_thread();
        assert_eq!(
            now - checks,
            1,
            "{what} checked step 1 {} times",
            now - checks
        );
        checks = now;
    };

    let sso_options = SsoTestOptions {
        timeout: Duration::from_secs(30),
        open_browser: scripted_browser(),
        ..SsoTestOptions::default()
    };
    sso_test::run(&p, &credential, &sso_options, &cancel)
        .await
        .unwrap();
    once("the SSO test");

    let options = ConsentCaptureOptions {
        timeout: Duration::from_secs(30),
        open_browser: scripted_browser(),
        ..ConsentCaptureOptions::default()
    };
    consent_capture::capture(&p, None, &options, &cancel)
        .await
        .expect("consent captured");
    once("the consent capture");

    entra_onboard_engine::sync_preview::run_for_profile(&p, &credential, None, &cancel)
        .await
        .expect("sync preview runs");
    once("the sync preview");

    let signin = SigninOptions {
        timeout: Duration::from_secs(30),
        open_browser: scripted_browser(),
        ..SigninOptions::default()
    };
    let session = GraphSession::sign_in_with(&p, signin, &cancel)
        .await
        .expect("graph sign-in against the sandbox");
    once("the Graph sign-in");

    session::doctor_for(&session, &p)
        .await
        .expect("doctor runs");
    once("the doctor");

    doctor_with_access(&p, session.client(), chrono::Utc::now())
        .await
        .expect("doctor --access runs");
    once("the doctor with the access review");

    let dry_run = ApplyRequest {
        add_secret: false,
        secret_months: 12,
        grant_consent: true,
        remove_wizard_uri: false,
        dry_run: true,
    };
    session::apply_for(&session, &mut p, &dry_run, None, None)
        .await
        .expect("apply (dry run) runs");
    once("apply");
}
