//! Rotating the client secret without downtime (issue 15), against the practice sandbox: its
//! sign-in provider and Graph routes share one registry, so a secret added through Graph
//! signs in at once and a removed one is refused at once. The happy path and every rollback
//! branch; the next secret lives in an in-memory store here (the keychain's own test covers
//! the real one), so a keychain failure can be played.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::NaiveDate;
use entra_onboard_core::rotation::{CustomerApp, RotationOutcome, RotationState};
use entra_onboard_engine::graph::rotate::{
    self, NextSecretStore, Prover, RotateContext, RotateReport, app_only_prover,
};
use entra_onboard_engine::graph::session::GraphSession;
use entra_onboard_engine::graph::signin::SigninOptions;
use entra_onboard_engine::ids::Sensitive;
use entra_onboard_engine::profile::{CredentialKind, Profile};
use entra_onboard_engine::sso_test::CancellationToken;
use entra_onboard_sandbox::graph::FailRule;
use entra_onboard_sandbox::idp::{SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, SANDBOX_SECRET_ID};
use entra_onboard_sandbox::practice::PracticeSandbox;
use serde_json::json;

#[path = "support/scripted_browser.rs"]
mod scripted_browser;
use scripted_browser::scripted_browser;

/// The keychain stand-in: current and next per profile, and a switch that makes storing
/// the next secret fail.
#[derive(Default)]
struct Mem {
    current: Mutex<HashMap<String, String>>,
    next: Mutex<HashMap<String, String>>,
    fail_set: AtomicBool,
    fail_promote: AtomicBool,
}

impl NextSecretStore for Mem {
    fn set_next(&self, id: &str, _: CustomerApp, v: &Sensitive<String>) -> Result<(), String> {
        if self.fail_set.load(Ordering::SeqCst) {
            return Err("the keychain is locked (test)".into());
        }
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
}

struct World {
    sb: PracticeSandbox,
    session: GraphSession,
    profile: Profile,
    store: Mem,
    saved: Arc<Mutex<Vec<Profile>>>,
}

async fn world() -> World {
    let sb = PracticeSandbox::start(Some(0), entra_onboard_sandbox::Seed::DemoApp)
        .await
        .expect("sandbox starts");
    let mut p = sb.practice_profile("Rotation Co");
    p.credential.kind = CredentialKind::Secret;
    p.credential.secret_hint = Some(SANDBOX_CLIENT_SECRET.chars().take(3).collect());
    p.credential.expires_on = NaiveDate::from_ymd_opt(2099, 1, 1);
    let signin = SigninOptions {
        timeout: Duration::from_secs(30),
        open_browser: scripted_browser(),
        ..SigninOptions::default()
    };
    let session = GraphSession::sign_in_with(&p, signin, &CancellationToken::new())
        .await
        .expect("graph sign-in against the sandbox");
    let store = Mem::default();
    store
        .current
        .lock()
        .unwrap()
        .insert(p.id.clone(), SANDBOX_CLIENT_SECRET.into());
    World {
        sb,
        session,
        profile: p,
        store,
        saved: Arc::new(Mutex::new(Vec::new())),
    }
}

impl World {
    fn secrets_on_app(&self) -> Vec<String> {
        let app = self
            .sb
            .graph()
            .applications()
            .into_iter()
            .find(|a| a["appId"] == SANDBOX_CLIENT_ID)
            .unwrap();
        app["passwordCredentials"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["keyId"].as_str().unwrap().to_string())
            .collect()
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

    async fn signs_in(&self, secret: &str) -> bool {
        let prover = app_only_prover(&self.profile, CustomerApp::Main).unwrap();
        prover(Sensitive::new(secret.to_string())).await.is_ok()
    }

    async fn begin_with(&mut self, prover: Prover) -> RotateReport {
        let saved = self.saved.clone();
        let mut save = move |p: &Profile| {
            saved.lock().unwrap().push(p.clone());
            Ok(())
        };
        let mut ctx = RotateContext {
            client: self.session.client(),
            store: &self.store,
            prover,
            save: &mut save,
            signed_in_as: self.session.user.clone(),
            now: None,
        };
        rotate::begin(&mut self.profile, CustomerApp::Main, 12, &mut ctx)
            .await
            .expect("rotation starts")
    }

    async fn begin(&mut self) -> RotateReport {
        let prover = app_only_prover(&self.profile, CustomerApp::Main).unwrap();
        self.begin_with(prover).await
    }

    async fn proceed_with(&mut self, prover: Prover) -> RotateReport {
        let saved = self.saved.clone();
        let mut save = move |p: &Profile| {
            saved.lock().unwrap().push(p.clone());
            Ok(())
        };
        let mut ctx = RotateContext {
            client: self.session.client(),
            store: &self.store,
            prover,
            save: &mut save,
            signed_in_as: None,
            now: None,
        };
        rotate::proceed(&mut self.profile, true, &mut ctx)
            .await
            .expect("proceeds")
    }

    async fn proceed(&mut self) -> RotateReport {
        let prover = app_only_prover(&self.profile, CustomerApp::Main).unwrap();
        self.proceed_with(prover).await
    }

    async fn roll_back(&mut self, p: &mut Profile) -> RotateReport {
        let saved = self.saved.clone();
        let mut save = move |p: &Profile| {
            saved.lock().unwrap().push(p.clone());
            Ok(())
        };
        let mut ctx = RotateContext {
            client: self.session.client(),
            store: &self.store,
            prover: app_only_prover(&self.profile, CustomerApp::Main).unwrap(),
            save: &mut save,
            signed_in_as: None,
            now: None,
        };
        rotate::roll_back(p, "the admin chose to roll back", &mut ctx)
            .await
            .expect("rolls back")
    }
}

/// A prover that fails on its `n`th call (1-based) and proves for real otherwise.
fn failing_prover(profile: &Profile, n: u32) -> Prover {
    let real = app_only_prover(profile, CustomerApp::Main).unwrap();
    let calls = Arc::new(AtomicU32::new(0));
    Arc::new(move |s| {
        let real = real.clone();
        let k = calls.fetch_add(1, Ordering::SeqCst) + 1;
        Box::pin(async move {
            if k == n {
                Err("AADSTS7000215: Invalid client secret provided (test)".to_string())
            } else {
                real(s).await
            }
        })
    })
}

fn assert_no_value_anywhere(w: &World, r: &RotateReport, value: &str) {
    let report = serde_json::to_string(r).unwrap();
    assert!(!report.contains(value), "the report holds no secret value");
    for p in w.saved.lock().unwrap().iter() {
        assert!(
            !p.to_json().contains(value),
            "no saved profile holds the value"
        );
    }
    assert!(!w.profile.to_json().contains(value));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotates_with_both_valid_during_the_overlap_and_the_old_refused_after() {
    let mut w = world().await;
    assert!(
        w.signs_in(SANDBOX_CLIENT_SECRET).await,
        "the old secret works at first"
    );
    let r = w.begin().await;
    assert!(r.ok, "{r:#?}");
    let rot = r.rotation.clone().expect("in progress");
    assert_eq!(rot.state, RotationState::WaitingForHalo);
    assert_eq!(rot.old_key_id.as_deref(), Some(SANDBOX_SECRET_ID));
    // Saved after every step, from before the request on.
    assert_eq!(
        w.saved_states(),
        vec![
            Some(RotationState::Planned),
            Some(RotationState::NewAdded),
            Some(RotationState::StoredAsNext),
            Some(RotationState::Proven),
            Some(RotationState::WaitingForHalo),
        ]
    );
    // Halo's screen and field, the Value itself never in the report.
    let secret_row = r
        .halo
        .iter()
        .find(|h| h.setting == "Client Secret")
        .unwrap();
    assert!(secret_row.screen.contains("Microsoft Entra ID > Details"));
    let new_value = w.next_value().expect("the new secret is the next one");
    assert_no_value_anywhere(&w, &r, &new_value);
    // The overlap: both sign in; the current one in the store is still the old one.
    assert!(w.signs_in(SANDBOX_CLIENT_SECRET).await);
    assert!(w.signs_in(&new_value).await);
    assert_eq!(w.secrets_on_app().len(), 2);
    assert_eq!(w.profile.credential.secret_hint.as_deref(), Some("SAN"));
    // Only reads before the one addPassword; no write is a removal yet.
    let writes: Vec<_> = r.requests.iter().filter(|q| q.is_write()).collect();
    assert_eq!(writes.len(), 1);
    assert!(writes[0].url.ends_with("/addPassword"));

    // "Halo is updated".
    let r = w.proceed().await;
    assert!(r.ok, "{r:#?}");
    assert!(r.rotation.is_none() && w.profile.rotation.is_none());
    let rec = r.record.clone().expect("recorded");
    assert_eq!(rec.outcome, RotationOutcome::Completed);
    assert!(rec.old.unwrap().contains(SANDBOX_SECRET_ID));
    assert!(rec.signed_in_as.unwrap().ends_with("@sandbox.invalid"));
    assert_eq!(w.profile.rotations.len(), 1);
    assert_eq!(
        w.profile.credential.secret_hint.as_deref(),
        Some(&new_value[..3])
    );
    assert_eq!(w.profile.credential.expires_on, rot.new_expires_on);
    // The old one is refused now; the new one is current in the store.
    assert!(
        !w.signs_in(SANDBOX_CLIENT_SECRET).await,
        "the old secret is refused after removal"
    );
    assert!(w.signs_in(&new_value).await);
    assert_eq!(w.secrets_on_app(), vec![rot.new_key_id.clone().unwrap()]);
    assert_eq!(
        w.store.current.lock().unwrap().get(&w.profile.id),
        Some(&new_value)
    );
    assert!(w.next_value().is_none());
    let removal = r
        .requests
        .iter()
        .find(|q| q.url.ends_with("/removePassword"))
        .unwrap();
    assert_eq!(removal.body, Some(json!({"keyId": SANDBOX_SECRET_ID})));
    assert_no_value_anywhere(&w, &r, &new_value);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_that_blocks_secrets_stops_before_any_write() {
    let mut w = world().await;
    w.sb.graph().block_password_addition();
    let r = w.begin().await;
    assert!(!r.ok);
    assert_eq!(r.error.unwrap().code, "rotate.policy_blocks_secret");
    assert!(
        r.requests.iter().all(|q| !q.is_write()),
        "{:#?}",
        r.requests
    );
    assert!(w.profile.rotation.is_none() && w.saved_states().is_empty());
    assert!(
        r.policy_notes
            .iter()
            .any(|n| n.contains("passwordAddition"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lifetime_cap_shortens_the_new_secret() {
    let mut w = world().await;
    w.sb.graph().set_default_policy(json!({
        "id": "00000000-0000-0000-0000-000000000000",
        "isEnabled": true,
        "applicationRestrictions": {"passwordCredentials": [
            {"restrictionType": "passwordLifetime", "state": "enabled", "maxLifetime": "P30D", "restrictForAppsCreatedAfterDateTime": "2000-01-01T00:00:00Z"}
        ], "keyCredentials": []}
    }));
    let r = w.begin().await;
    assert!(r.ok, "{r:#?}");
    let end = r.rotation.unwrap().new_expires_on.unwrap();
    let today = chrono::Utc::now().date_naive();
    assert!((end - today).num_days() <= 30, "{end}");
    assert!(r.policy_notes.iter().any(|n| n.contains("P30D")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_add_leaves_nothing_behind() {
    let mut w = world().await;
    w.sb.graph().faults(|f| {
        f.fail.push(FailRule {
            method: "POST".into(),
            path_contains: "addPassword".into(),
            status: 403,
            code: "Authorization_RequestDenied".into(),
            message: "Insufficient privileges to complete the operation.".into(),
            times: 1,
        })
    });
    let r = w.begin().await;
    assert!(!r.ok && r.rolled_back, "{r:#?}");
    assert_eq!(r.error.as_ref().unwrap().code, "graph.api");
    assert!(r.error.unwrap().fix.contains("Application Administrator"));
    assert_eq!(w.secrets_on_app(), vec![SANDBOX_SECRET_ID.to_string()]);
    assert!(w.profile.rotation.is_none());
    assert_eq!(w.profile.rotations[0].outcome, RotationOutcome::RolledBack);
    assert!(w.signs_in(SANDBOX_CLIENT_SECRET).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_keychain_failure_removes_the_new_secret_from_entra() {
    let mut w = world().await;
    w.store.fail_set.store(true, Ordering::SeqCst);
    let r = w.begin().await;
    assert!(!r.ok && r.rolled_back, "{r:#?}");
    assert_eq!(r.error.unwrap().code, "rotate.keychain");
    assert_eq!(w.secrets_on_app(), vec![SANDBOX_SECRET_ID.to_string()]);
    assert!(w.profile.rotation.is_none());
    assert_eq!(w.profile.credential.secret_hint.as_deref(), Some("SAN"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_first_proof_rolls_back_entra_and_the_keychain() {
    let mut w = world().await;
    let prover = failing_prover(&w.profile, 1);
    let r = w.begin_with(prover).await;
    assert!(!r.ok && r.rolled_back, "{r:#?}");
    assert_eq!(r.error.unwrap().code, "rotate.proof_failed");
    assert_eq!(w.secrets_on_app(), vec![SANDBOX_SECRET_ID.to_string()]);
    assert!(w.next_value().is_none(), "the next secret is deleted");
    assert!(
        r.handover.is_empty(),
        "Halo never saw the new one: {:?}",
        r.handover
    );
    assert!(w.signs_in(SANDBOX_CLIENT_SECRET).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_proof_after_halo_rolls_back_and_says_to_restore_halo() {
    let mut w = world().await;
    assert!(w.begin().await.ok);
    let prover = failing_prover(&w.profile, 1);
    let r = w.proceed_with(prover).await;
    assert!(!r.ok && r.rolled_back, "{r:#?}");
    assert!(
        r.handover
            .iter()
            .any(|h| h.contains("put the old one back"))
    );
    assert_eq!(w.secrets_on_app(), vec![SANDBOX_SECRET_ID.to_string()]);
    assert!(w.next_value().is_none());
    assert!(w.signs_in(SANDBOX_CLIENT_SECRET).await);
    assert_eq!(w.profile.credential.secret_hint.as_deref(), Some("SAN"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_removal_of_the_old_secret_keeps_both_and_finishes_on_retry() {
    let mut w = world().await;
    assert!(w.begin().await.ok);
    w.sb.graph().faults(|f| {
        f.fail.push(FailRule {
            method: "POST".into(),
            path_contains: "removePassword".into(),
            status: 503,
            code: "ServiceUnavailable".into(),
            message: "busy".into(),
            times: 5,
        })
    });
    let r = w.proceed().await;
    assert!(!r.ok && !r.rolled_back, "{r:#?}");
    assert_eq!(r.rotation.unwrap().state, RotationState::ProvenAgain);
    assert_eq!(w.secrets_on_app().len(), 2, "nothing was removed");
    assert!(r.error.unwrap().fix.contains("--finish"));
    // Once Graph answers again, finishing picks up there.
    w.sb.graph().faults(|f| f.fail.clear());
    let r = w.proceed().await;
    assert!(r.ok, "{r:#?}");
    assert!(!w.signs_in(SANDBOX_CLIENT_SECRET).await);
    assert_eq!(
        w.profile.rotations.last().unwrap().outcome,
        RotationOutcome::Completed
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_keychain_failure_after_removal_finishes_on_retry_never_rolls_back() {
    let mut w = world().await;
    assert!(w.begin().await.ok);
    w.store.fail_promote.store(true, Ordering::SeqCst);
    let r = w.proceed().await;
    assert!(!r.ok, "{r:#?}");
    assert_eq!(r.rotation.unwrap().state, RotationState::OldRemoved);
    let mut p = w.profile.clone();
    let rb = w.roll_back(&mut p).await;
    assert_eq!(rb.error.unwrap().code, "rotate.cannot_roll_back");
    let r = w.proceed().await;
    assert!(r.ok, "{r:#?}");
    assert!(w.profile.rotation.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_rotation_is_found_by_its_name_and_rolled_back() {
    let mut w = world().await;
    assert!(w.begin().await.ok);
    // The app closed right after the request was sent: the last save is "planned", no
    // Secret ID known. Rolling that back finds the secret by the name it was given.
    let mut at_planned = w.saved.lock().unwrap()[0].clone();
    assert_eq!(
        at_planned.rotation.as_ref().unwrap().state,
        RotationState::Planned
    );
    assert!(at_planned.rotation.as_ref().unwrap().new_key_id.is_none());
    let rb = w.roll_back(&mut at_planned).await;
    assert!(rb.ok && rb.rolled_back, "{rb:#?}");
    assert_eq!(w.secrets_on_app(), vec![SANDBOX_SECRET_ID.to_string()]);
    assert!(at_planned.rotation.is_none());
    // A rotation stopped before its Value was stored cannot be finished.
    let mut at_added = w.saved.lock().unwrap()[1].clone();
    assert_eq!(
        at_added.rotation.as_ref().unwrap().state,
        RotationState::NewAdded
    );
    std::mem::swap(&mut w.profile, &mut at_added);
    let r = w.proceed().await;
    assert_eq!(r.error.unwrap().code, "rotate.cannot_finish");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_can_roll_back_while_waiting_for_halo() {
    let mut w = world().await;
    assert!(w.begin().await.ok);
    let mut p = w.profile.clone();
    let r = w.roll_back(&mut p).await;
    assert!(r.ok && r.rolled_back, "{r:#?}");
    assert!(p.rotation.is_none());
    assert_eq!(w.secrets_on_app(), vec![SANDBOX_SECRET_ID.to_string()]);
    assert!(w.next_value().is_none());
    assert_eq!(
        p.rotations[0].reason.as_deref(),
        Some("the admin chose to roll back")
    );
}

/// CSP's Partner Center app rotates its own secret: its own client ID, credential record and
/// next-secret slot; the main app's secret is untouched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_partner_center_app_rotates_its_own_secret() {
    let mut w = world().await;
    let client = w.session.client();
    let app = client
        .post(
            "/applications",
            &json!({"displayName": "Rotation Co Partner Center", "signInAudience": "AzureADMyOrg"}),
        )
        .await
        .unwrap();
    let app_id = app["appId"].as_str().unwrap().to_string();
    let object_id = app["id"].as_str().unwrap().to_string();
    client
        .post("/servicePrincipals", &json!({"appId": app_id}))
        .await
        .unwrap();
    let first = client
        .post(
            &format!("/applications/{object_id}/addPassword"),
            &json!({"passwordCredential": {"displayName": "first"}}),
        )
        .await
        .unwrap();
    let old_value = first["secretText"].as_str().unwrap().to_string();
    w.profile.features.csp = true;
    w.profile.partner_center.client_id = app_id.clone();
    w.profile.partner_center.credential.kind = CredentialKind::Secret;
    w.profile.partner_center.credential.secret_hint = Some(old_value[..3].to_string());

    let saved = w.saved.clone();
    let mut save = move |p: &Profile| {
        saved.lock().unwrap().push(p.clone());
        Ok(())
    };
    let pc = CustomerApp::PartnerCenter;
    let mut ctx = RotateContext {
        client: w.session.client(),
        store: &w.store,
        prover: app_only_prover(&w.profile, pc).unwrap(),
        save: &mut save,
        signed_in_as: None,
        now: None,
    };
    let r = rotate::begin(&mut w.profile, pc, 6, &mut ctx)
        .await
        .unwrap();
    assert!(r.ok, "{r:#?}");
    assert!(r.halo[0].setting.contains("Partner Center"), "{:?}", r.halo);
    let r = rotate::proceed(&mut w.profile, true, &mut ctx)
        .await
        .unwrap();
    assert!(r.ok, "{r:#?}");
    let pc_app =
        w.sb.graph()
            .applications()
            .into_iter()
            .find(|a| a["appId"] == app_id.as_str())
            .unwrap();
    let keys = pc_app["passwordCredentials"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    assert_ne!(keys[0]["keyId"], first["keyId"], "the old one is removed");
    assert_eq!(w.profile.rotations[0].app, pc);
    // Its record holds the new expiry (sandbox secrets all start "sbx", so not the hint).
    assert!(w.profile.partner_center.credential.expires_on.is_some());
    assert_eq!(
        w.profile.partner_center.credential.expires_on,
        w.profile.rotations[0].expires_on
    );
    // The main app: untouched.
    assert_eq!(w.profile.credential.secret_hint.as_deref(), Some("SAN"));
    assert_eq!(w.secrets_on_app(), vec![SANDBOX_SECRET_ID.to_string()]);
    assert!(w.signs_in(SANDBOX_CLIENT_SECRET).await);
}
