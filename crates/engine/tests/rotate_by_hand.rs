//! Rotating the client secret by hand (issue 15, without Graph rights) and the shared proof
//! of both paths, against the practice sandbox: the admin's portal work is played by the
//! sandbox's own API (a secret added beside the demo one), the proof is a real test sign-in
//! through the scripted browser whose code is redeemed with the new secret, plus the
//! app-only token. The next secret lives in an in-memory store (the keychain's own test
//! covers the real one).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{NaiveDate, Utc};
use entra_onboard_core::rotation::{CustomerApp, RotationOutcome, RotationState};
use entra_onboard_engine::graph::rotate::{self, NextSecretStore, RotateContext, RotateReport};
use entra_onboard_engine::graph::session::GraphSession;
use entra_onboard_engine::graph::signin::SigninOptions;
use entra_onboard_engine::ids::Sensitive;
use entra_onboard_engine::profile::{CredentialKind, Profile};
use entra_onboard_engine::rotate_by_hand::{self as by_hand, ByHandContext};
use entra_onboard_engine::rotation_proof;
use entra_onboard_engine::sso_test::{BrowserFn, CancellationToken, SsoTestOptions};
use entra_onboard_sandbox::idp::{SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET};
use entra_onboard_sandbox::practice::PracticeSandbox;

#[path = "support/scripted_browser.rs"]
mod scripted_browser;
use scripted_browser::scripted_browser;

#[derive(Default)]
struct Mem {
    current: Mutex<HashMap<String, String>>,
    next: Mutex<HashMap<String, String>>,
    fail_promote: AtomicBool,
}

impl NextSecretStore for Mem {
    fn set_next(&self, id: &str, _: CustomerApp, v: &Sensitive<String>) -> Result<(), String> {
        self.next
            .lock()
            .unwrap()
            .insert(id.into(), v.expose().clone());
        Ok(())
    }
    fn next(&self, id: &str, _: CustomerApp) -> Result<Option<Sensitive<String>>, String> {
        Ok(self
            .next
            .lock()
            .unwrap()
            .get(id)
            .cloned()
            .map(Sensitive::new))
    }
    fn delete_next(&self, id: &str, _: CustomerApp) -> Result<(), String> {
        self.next.lock().unwrap().remove(id);
        Ok(())
    }
    fn promote(&self, id: &str, _: CustomerApp) -> Result<(), String> {
        if self.fail_promote.swap(false, Ordering::SeqCst) {
            return Err("the keychain is locked (test)".into());
        }
        let v = self.next.lock().unwrap().remove(id).ok_or("no next")?;
        self.current.lock().unwrap().insert(id.into(), v);
        Ok(())
    }
    fn current(&self, id: &str, _: CustomerApp) -> Result<Option<Sensitive<String>>, String> {
        Ok(self
            .current
            .lock()
            .unwrap()
            .get(id)
            .cloned()
            .map(Sensitive::new))
    }
}

struct World {
    sb: PracticeSandbox,
    profile: Profile,
    store: Mem,
    saved: Arc<Mutex<Vec<Profile>>>,
}

async fn world() -> World {
    let sb = PracticeSandbox::start(Some(0), entra_onboard_sandbox::Seed::DemoApp)
        .await
        .expect("sandbox starts");
    // Consented (step 4 done), as a customer whose secret is due: the proof's sign-in
    // needs it, exactly like the SSO test.
    sb.provider()
        .grant_admin_consent(SANDBOX_CLIENT_ID)
        .unwrap();
    let mut p = sb.practice_profile("By Hand Co");
    p.credential.kind = CredentialKind::Secret;
    p.credential.secret_hint = Some(SANDBOX_CLIENT_SECRET.chars().take(3).collect());
    p.credential.expires_on = NaiveDate::from_ymd_opt(2099, 1, 1);
    let store = Mem::default();
    store
        .current
        .lock()
        .unwrap()
        .insert(p.id.clone(), SANDBOX_CLIENT_SECRET.into());
    World {
        sb,
        profile: p,
        store,
        saved: Arc::new(Mutex::new(Vec::new())),
    }
}

fn expiry() -> NaiveDate {
    Utc::now().date_naive() + chrono::Months::new(6)
}

fn options(browser: BrowserFn) -> SsoTestOptions {
    SsoTestOptions {
        timeout: Duration::from_secs(60),
        open_browser: browser,
        ..SsoTestOptions::default()
    }
}

impl World {
    /// The admin's "New client secret" in the sandbox's portal (its form, answered as JSON):
    /// a Value Entra shows once.
    async fn new_secret_in_portal(&self) -> String {
        let answer: serde_json::Value = reqwest::Client::new()
            .post(format!("{}/sandbox/new-secret", self.sb.base_url()))
            .header("accept", "application/json")
            .form(&[
                ("client_id", SANDBOX_CLIENT_ID),
                ("description", "Entra Onboard rotation"),
                ("days", "180"),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        answer["value"].as_str().unwrap().to_string()
    }

    fn next_value(&self) -> Option<String> {
        self.store
            .next
            .lock()
            .unwrap()
            .get(&self.profile.id)
            .cloned()
    }

    fn saved_states(&self) -> Vec<Option<RotationState>> {
        self.saved
            .lock()
            .unwrap()
            .iter()
            .map(|p| p.rotation.as_ref().map(|r| r.state))
            .collect()
    }

    fn ctx_parts(&self, browser: BrowserFn, cancel: CancellationToken) -> rotate::Prover {
        rotation_proof::prover(&self.profile, CustomerApp::Main, options(browser), cancel).unwrap()
    }

    async fn call<F>(&mut self, browser: BrowserFn, cancel: CancellationToken, f: F) -> RotateReport
    where
        F: for<'a, 'b> FnOnce(
            &'a mut Profile,
            &'a mut ByHandContext<'b>,
        ) -> std::pin::Pin<
            Box<dyn std::future::Future<Output = RotateReport> + 'a>,
        >,
    {
        let saved = self.saved.clone();
        let mut save = move |p: &Profile| {
            saved.lock().unwrap().push(p.clone());
            Ok(())
        };
        let prover = self.ctx_parts(browser, cancel);
        let mut ctx = ByHandContext {
            store: &self.store,
            prover,
            save: &mut save,
            who: None,
            now: None,
        };
        let mut p = self.profile.clone();
        let r = f(&mut p, &mut ctx).await;
        self.profile = p;
        r
    }

    async fn begin(&mut self, value: &str) -> RotateReport {
        let value = Sensitive::new(value.to_string());
        let exp = expiry();
        self.call(
            scripted_browser(),
            CancellationToken::new(),
            move |p, ctx| {
                Box::pin(async move {
                    by_hand::begin(p, CustomerApp::Main, value, exp, ctx)
                        .await
                        .expect("starts")
                })
            },
        )
        .await
    }

    async fn proceed(&mut self, browser: BrowserFn, cancel: CancellationToken) -> RotateReport {
        self.call(browser, cancel, |p, ctx| {
            Box::pin(async move { by_hand::proceed(p, true, ctx).await.expect("proceeds") })
        })
        .await
    }

    async fn roll_back(&mut self) -> RotateReport {
        self.call(scripted_browser(), CancellationToken::new(), |p, ctx| {
            Box::pin(async move {
                by_hand::roll_back(p, "the admin chose to roll back", ctx).expect("rolls back")
            })
        })
        .await
    }
}

/// The admin closes the browser: the sign-in never comes back (the cancel the app's
/// "Cancel" sends, played at the moment the browser would open).
fn closed_browser(cancel: CancellationToken) -> BrowserFn {
    Arc::new(move |_| {
        cancel.cancel();
        Ok(())
    })
}

fn assert_no_value(w: &World, r: &RotateReport, value: &str) {
    assert!(!serde_json::to_string(r).unwrap().contains(value));
    for p in w.saved.lock().unwrap().iter() {
        assert!(
            !p.to_json().contains(value),
            "no saved profile holds the value"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pasted_secret_is_stored_proven_twice_made_current_and_recorded() {
    let mut w = world().await;
    let new = w.new_secret_in_portal().await;
    let r = w.begin(&new).await;
    assert!(r.ok, "{r:#?}");
    let rot = r.rotation.clone().unwrap();
    assert!(rot.by_hand);
    assert_eq!(rot.state, RotationState::WaitingForHalo);
    assert_eq!(
        w.saved_states(),
        vec![
            Some(RotationState::NewAdded),
            Some(RotationState::StoredAsNext),
            Some(RotationState::Proven),
            Some(RotationState::WaitingForHalo),
        ],
        "saved after every step"
    );
    // The proof: a browser sign-in whose code was redeemed with the new secret, and the
    // app-only token.
    let proof = r
        .steps
        .iter()
        .find(|s| s.state == RotationState::Proven)
        .unwrap();
    let how = proof.detail.clone().unwrap();
    assert!(how.contains("redeemed with the new secret"), "{how}");
    assert!(how.contains("app-only token"), "{how}");
    assert!(r.halo.iter().any(|h| h.setting == "Client Secret"));
    assert_eq!(w.next_value().as_deref(), Some(new.as_str()));
    assert!(r.requests.is_empty(), "no Graph request by hand");
    assert_no_value(&w, &r, &new);

    // "Halo is updated".
    let r = w
        .proceed(scripted_browser(), CancellationToken::new())
        .await;
    assert!(r.ok, "{r:#?}");
    let again = r
        .steps
        .iter()
        .find(|s| s.state == RotationState::ProvenAgain)
        .unwrap();
    assert!(again.detail.as_deref().unwrap().contains("redeemed"));
    assert!(w.profile.rotation.is_none());
    let rec = r.record.clone().unwrap();
    assert_eq!(rec.outcome, RotationOutcome::Completed);
    assert_eq!(rec.signed_in_as.as_deref(), Some("by hand"));
    assert_eq!(rec.expires_on, Some(expiry()));
    assert_eq!(w.profile.credential.secret_hint.as_deref(), Some(&new[..3]));
    assert_eq!(w.profile.credential.expires_on, Some(expiry()));
    assert_eq!(
        w.store.current.lock().unwrap().get(&w.profile.id),
        Some(&new)
    );
    assert!(w.next_value().is_none());
    // The admin is told which secret to delete in the portal: the old one, by hint and expiry.
    let told = r.handover.join("\n");
    assert!(
        told.contains(
            "delete the OLD secret (the one whose Value starts SAN…, expires 2099-01-01)"
        ),
        "{told}"
    );
    assert_no_value(&w, &r, &new);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_value_entra_does_not_know_fails_the_proof_and_rolls_back() {
    let mut w = world().await;
    // Not created in the portal (a typo, another app's): the code redemption is refused.
    let r = w.begin("NOT~a-secret-of-this-app-0123456789").await;
    assert!(!r.ok && r.rolled_back, "{r:#?}");
    let e = r.error.clone().unwrap();
    assert_eq!(e.code, "rotate.proof_failed");
    assert!(e.message.contains("AADSTS7000215"), "{}", e.message);
    assert!(w.next_value().is_none(), "the next secret is deleted");
    assert!(w.profile.rotation.is_none());
    assert_eq!(w.profile.rotations[0].outcome, RotationOutcome::RolledBack);
    assert!(
        r.handover
            .iter()
            .any(|h| h.contains("delete the NEW secret"))
    );
    assert_eq!(w.profile.credential.secret_hint.as_deref(), Some("SAN"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_browser_fails_the_second_proof_with_that_said_and_rolls_back() {
    let mut w = world().await;
    let new = w.new_secret_in_portal().await;
    assert!(w.begin(&new).await.ok);
    let cancel = CancellationToken::new();
    let r = w.proceed(closed_browser(cancel.clone()), cancel).await;
    assert!(!r.ok && r.rolled_back, "{r:#?}");
    let e = r.error.unwrap();
    assert!(e.message.contains("did not finish"), "{}", e.message);
    // Halo may hold the new one: put the old back, and delete the new one in the portal.
    assert!(
        r.handover
            .iter()
            .any(|h| h.contains("put the old one back"))
    );
    assert!(
        r.handover
            .iter()
            .any(|h| h.contains("delete the NEW secret"))
    );
    assert!(w.next_value().is_none());
    assert_eq!(w.profile.credential.secret_hint.as_deref(), Some("SAN"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_rotation_resumes_from_its_saved_state() {
    let mut w = world().await;
    let new = w.new_secret_in_portal().await;
    assert!(w.begin(&new).await.ok);
    // The app closed right after storing: the file says "stored as next". Finishing proves
    // and stops at Halo again; then "Halo is updated" completes.
    let at_stored = w.saved.lock().unwrap()[1].clone();
    assert_eq!(
        at_stored.rotation.as_ref().unwrap().state,
        RotationState::StoredAsNext
    );
    w.profile = at_stored;
    let saved = w.saved.clone();
    let mut save = move |p: &Profile| {
        saved.lock().unwrap().push(p.clone());
        Ok(())
    };
    let mut ctx = ByHandContext {
        store: &w.store,
        prover: w.ctx_parts(scripted_browser(), CancellationToken::new()),
        save: &mut save,
        who: None,
        now: None,
    };
    let mut p = w.profile.clone();
    let r = by_hand::proceed(&mut p, false, &mut ctx).await.unwrap();
    assert!(r.ok, "{r:#?}");
    assert_eq!(r.rotation.unwrap().state, RotationState::WaitingForHalo);
    w.profile = p;
    // A keychain that cannot promote stops after the old one was handed to the admin:
    // rolling back is refused from there, finishing again completes.
    w.store.fail_promote.store(true, Ordering::SeqCst);
    let r = w
        .proceed(scripted_browser(), CancellationToken::new())
        .await;
    assert!(!r.ok, "{r:#?}");
    assert_eq!(r.rotation.unwrap().state, RotationState::OldRemoved);
    let rb = w.roll_back().await;
    assert_eq!(rb.error.unwrap().code, "rotate.cannot_roll_back");
    let r = w
        .proceed(scripted_browser(), CancellationToken::new())
        .await;
    assert!(r.ok, "{r:#?}");
    assert_eq!(
        w.profile.rotations.last().unwrap().outcome,
        RotationOutcome::Completed
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_rolls_back_while_waiting_for_halo_and_a_graph_call_is_refused() {
    let mut w = world().await;
    let new = w.new_secret_in_portal().await;
    assert!(w.begin(&new).await.ok);
    let r = w.roll_back().await;
    assert!(r.ok && r.rolled_back, "{r:#?}");
    assert!(w.next_value().is_none());
    let told = r.handover.join("\n");
    assert!(
        told.contains("delete the NEW secret (description \"Entra Onboard rotation"),
        "{told}"
    );
    assert!(
        told.contains(&format!("Value starts {}…", &new[..3])),
        "{told}"
    );
    assert_eq!(
        w.profile.rotations[0].reason.as_deref(),
        Some("the admin chose to roll back")
    );
    // Pasting the secret Halo uses now is refused before anything is stored.
    w.saved.lock().unwrap().clear();
    let value = Sensitive::new(SANDBOX_CLIENT_SECRET.to_string());
    let exp = expiry();
    let saved = w.saved.clone();
    let mut save = move |p: &Profile| {
        saved.lock().unwrap().push(p.clone());
        Ok(())
    };
    let mut ctx = ByHandContext {
        store: &w.store,
        prover: w.ctx_parts(scripted_browser(), CancellationToken::new()),
        save: &mut save,
        who: None,
        now: None,
    };
    let mut p = w.profile.clone();
    let e = by_hand::begin(&mut p, CustomerApp::Main, value, exp, &mut ctx)
        .await
        .unwrap_err();
    assert_eq!(e.code(), "rotate.same_secret");
    assert!(w.saved.lock().unwrap().is_empty() && p.rotation.is_none());
}

/// The Graph path proves with the same function: a test sign-in redeemed with the new
/// secret, before Halo and after.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_graph_path_proves_with_the_same_sign_in() {
    let mut w = world().await;
    let signin = SigninOptions {
        timeout: Duration::from_secs(30),
        open_browser: scripted_browser(),
        ..SigninOptions::default()
    };
    let session = GraphSession::sign_in_with(&w.profile, signin, &CancellationToken::new())
        .await
        .expect("graph sign-in against the sandbox");
    let mut save = |_: &Profile| Ok(());
    let mut ctx = RotateContext {
        client: session.client(),
        store: &w.store,
        prover: w.ctx_parts(scripted_browser(), CancellationToken::new()),
        save: &mut save,
        signed_in_as: session.user.clone(),
        now: None,
    };
    let r = rotate::begin(&mut w.profile, CustomerApp::Main, 12, &mut ctx)
        .await
        .unwrap();
    assert!(r.ok, "{r:#?}");
    let how = r
        .steps
        .iter()
        .find(|s| s.state == RotationState::Proven)
        .unwrap();
    assert!(
        how.detail
            .as_deref()
            .unwrap()
            .contains("redeemed with the new secret")
    );
    let r = rotate::proceed(&mut w.profile, true, &mut ctx)
        .await
        .unwrap();
    assert!(r.ok, "{r:#?}");
    let again = r
        .steps
        .iter()
        .find(|s| s.state == RotationState::ProvenAgain)
        .unwrap();
    assert!(
        again
            .detail
            .as_deref()
            .unwrap()
            .contains("redeemed with the new secret")
    );
    // A by-hand rotation is never finished through Graph.
    let mut hand = w.profile.clone();
    let mut r =
        entra_onboard_core::rotation::start(&hand, CustomerApp::Main, "x".into(), Utc::now())
            .unwrap();
    r.by_hand = true;
    hand.rotation = Some(r);
    let e = rotate::proceed(&mut hand, true, &mut ctx)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("done by hand"), "{e}");
}
