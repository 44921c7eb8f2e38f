//! Rotating a certificate without downtime (issue 15), against the practice sandbox: Graph's
//! `addKey`/`removeKey` with a proof of possession signed by one of the app's certificates,
//! and the sign-in provider reading the same registry, so a certificate added signs in at
//! once and a removed one is refused at once. The happy path and every rollback branch;
//! the .pfx passwords live in an in-memory store (the keychain's own test covers the real
//! slots), the .pfx files in a temporary folder.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use entra_onboard_core::rotation::{CustomerApp, RotationOutcome, RotationState};
use entra_onboard_engine::graph::rotate::{
    self, NextSecretStore, Prover, RotateContext, RotateReport, app_only_cert_prover,
};
use entra_onboard_engine::graph::session::GraphSession;
use entra_onboard_engine::graph::signin::SigninOptions;
use entra_onboard_engine::ids::Sensitive;
use entra_onboard_engine::profile::Profile;
use entra_onboard_engine::sso_test::CancellationToken;
use entra_onboard_engine::steps::certificate::{
    self, CertificateFiles, CertificateRequest, CertificateWithKey,
};
use entra_onboard_sandbox::graph::FailRule;
use entra_onboard_sandbox::idp::SANDBOX_CLIENT_ID;
use entra_onboard_sandbox::practice::PracticeSandbox;
use serde_json::json;

#[path = "support/scripted_browser.rs"]
mod scripted_browser;
use scripted_browser::scripted_browser;

/// The keychain stand-in: current and next .pfx password per profile, and switches that
/// make storing or promoting the next one fail.
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
    fn current_password(
        &self,
        id: &str,
        _: CustomerApp,
    ) -> Result<Option<Sensitive<String>>, String> {
        Ok(self
            .current
            .lock()
            .unwrap()
            .get(id)
            .cloned()
            .map(Sensitive::new))
    }
}

/// Saves the profile after every step (here: into `World::saved`).
type Saver = dyn FnMut(&Profile) -> Result<(), String> + Send;

struct World {
    sb: PracticeSandbox,
    session: GraphSession,
    profile: Profile,
    store: Mem,
    saved: Arc<Mutex<Vec<Profile>>>,
    dir: tempfile::TempDir,
    old_thumbprint: String,
    old_pfx: PathBuf,
}

fn make_certificate(dir: &Path, base: &str) -> (CertificateWithKey, CertificateFiles) {
    let req = CertificateRequest {
        common_name: "Rotation Co service desk (Entra Onboard)".into(),
        key_bits: 2048,
        months: 12,
    };
    let c = certificate::generate(&req, chrono::Utc::now()).unwrap();
    let files = CertificateFiles::in_dir(dir, base);
    certificate::write_files(&c, &files, false).unwrap();
    (c, files)
}

async fn world() -> World {
    let sb = PracticeSandbox::start(Some(0), entra_onboard_sandbox::Seed::DemoApp)
        .await
        .expect("sandbox starts");
    let dir = tempfile::tempdir().unwrap();
    let (old, files) = make_certificate(dir.path(), "Rotation-Co-old");
    // As uploading the .cer in the portal does.
    sb.provider()
        .register_certificate(SANDBOX_CLIENT_ID, old.cert_pem().as_bytes())
        .unwrap();
    let mut p = sb.practice_profile("Rotation Co");
    old.record_in(&mut p.credential);
    p.credential.certificate_file = Some(files.pfx.display().to_string());
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
        .insert(p.id.clone(), old.pfx_password.expose().clone());
    World {
        sb,
        session,
        store,
        saved: Arc::new(Mutex::new(Vec::new())),
        old_thumbprint: old.info.thumbprints.sha1_hex.clone(),
        old_pfx: files.pfx,
        profile: p,
        dir,
    }
}

impl World {
    /// The app's certificates, by thumbprint.
    fn certificates_on_app(&self) -> Vec<String> {
        let app = self
            .sb
            .graph()
            .applications()
            .into_iter()
            .find(|a| a["appId"] == SANDBOX_CLIENT_ID)
            .unwrap();
        app["keyCredentials"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["customKeyIdentifier"].as_str().unwrap().to_string())
            .collect()
    }

    fn next_password(&self) -> Option<String> {
        self.store
            .next
            .lock()
            .unwrap()
            .get(&self.profile.id)
            .cloned()
    }

    fn old_password(&self) -> String {
        self.store.current.lock().unwrap()[&self.profile.id].clone()
    }

    fn files(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    fn saved_states(&self) -> Vec<Option<RotationState>> {
        self.saved
            .lock()
            .unwrap()
            .iter()
            .map(|p| p.rotation.as_ref().map(|r| r.state))
            .collect()
    }

    /// Whether the certificate in `pfx` signs in (an app-only token for a client assertion
    /// it signs), as Halo would.
    async fn signs_in(&self, pfx: &Path, password: &str) -> bool {
        let bytes = std::fs::read(pfx).unwrap();
        let c = certificate::import_pfx(
            &bytes,
            Sensitive::new(password.to_string()),
            chrono::Utc::now(),
        )
        .unwrap();
        let prover = app_only_cert_prover(&self.profile, CustomerApp::Main).unwrap();
        prover(c.pem_bundle()).await.is_ok()
    }

    fn ctx_parts(&self) -> Box<Saver> {
        let saved = self.saved.clone();
        Box::new(move |p: &Profile| {
            saved.lock().unwrap().push(p.clone());
            Ok(())
        })
    }

    async fn begin_with(&mut self, prover: Prover) -> RotateReport {
        let mut save = self.ctx_parts();
        let mut ctx = RotateContext {
            client: self.session.client(),
            store: &self.store,
            prover,
            save: &mut *save,
            signed_in_as: self.session.user.clone(),
            now: None,
        };
        rotate::begin(&mut self.profile, CustomerApp::Main, 12, &mut ctx)
            .await
            .expect("rotation starts")
    }

    async fn begin(&mut self) -> RotateReport {
        let prover = rotate::prover_for(&self.profile, CustomerApp::Main).unwrap();
        self.begin_with(prover).await
    }

    async fn proceed_with(&mut self, prover: Prover) -> RotateReport {
        let mut save = self.ctx_parts();
        let mut ctx = RotateContext {
            client: self.session.client(),
            store: &self.store,
            prover,
            save: &mut *save,
            signed_in_as: None,
            now: None,
        };
        rotate::proceed(&mut self.profile, true, &mut ctx)
            .await
            .expect("proceeds")
    }

    async fn proceed(&mut self) -> RotateReport {
        let prover = app_only_cert_prover(&self.profile, CustomerApp::Main).unwrap();
        self.proceed_with(prover).await
    }

    async fn roll_back(&mut self, p: &mut Profile) -> RotateReport {
        let mut save = self.ctx_parts();
        let mut ctx = RotateContext {
            client: self.session.client(),
            store: &self.store,
            prover: app_only_cert_prover(&self.profile, CustomerApp::Main).unwrap(),
            save: &mut *save,
            signed_in_as: None,
            now: None,
        };
        rotate::roll_back(p, "the admin chose to roll back", &mut ctx)
            .await
            .expect("rolls back")
    }

    fn fail_graph(&self, path: &str, status: u16, times: u32) {
        self.sb.graph().faults(|f| {
            f.fail.push(FailRule {
                method: "POST".into(),
                path_contains: path.into(),
                status,
                code: if status == 403 {
                    "Authorization_RequestDenied".into()
                } else {
                    "ServiceUnavailable".into()
                },
                message: "refused (test)".into(),
                times,
            })
        });
    }

    /// Only the old certificate on the app, its .pfx alone in the folder, the old one current.
    async fn assert_back_to_the_old_one(&self) {
        assert_eq!(
            self.certificates_on_app(),
            vec![self.old_thumbprint.clone()]
        );
        assert_eq!(
            self.files().iter().filter(|f| f.ends_with(".pfx")).count(),
            1
        );
        assert!(self.next_password().is_none());
        assert_eq!(
            self.profile.credential.thumbprint.as_deref(),
            Some(self.old_thumbprint.as_str())
        );
        assert!(self.signs_in(&self.old_pfx, &self.old_password()).await);
    }
}

/// A prover that fails on its `n`th call (1-based) and proves for real otherwise.
fn failing_prover(profile: &Profile, n: u32) -> Prover {
    let real = app_only_cert_prover(profile, CustomerApp::Main).unwrap();
    let calls = Arc::new(AtomicU32::new(0));
    Arc::new(move |s| {
        let real = real.clone();
        let k = calls.fetch_add(1, Ordering::SeqCst) + 1;
        Box::pin(async move {
            if k == n {
                Err("AADSTS700027: Client assertion failed signature validation (test)".into())
            } else {
                real(s).await
            }
        })
    })
}

fn assert_no_password_anywhere(w: &World, r: &RotateReport, password: &str) {
    let report = serde_json::to_string(r).unwrap();
    assert!(!report.contains(password), "the report holds no password");
    assert!(!report.contains("PRIVATE KEY"), "nor a key");
    assert!(
        !report.contains("eyJ"),
        "nor the proof of possession: {report}"
    );
    for p in w.saved.lock().unwrap().iter() {
        assert!(!p.to_json().contains(password));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotates_a_certificate_with_both_valid_during_the_overlap_and_the_old_refused_after() {
    let mut w = world().await;
    let old_password = w.old_password();
    assert!(w.signs_in(&w.old_pfx, &old_password).await);
    let r = w.begin().await;
    assert!(r.ok, "{r:#?}");
    let rot = r.rotation.clone().expect("in progress");
    assert_eq!(rot.state, RotationState::WaitingForHalo);
    assert_eq!(
        rot.old_thumbprint.as_deref(),
        Some(w.old_thumbprint.as_str())
    );
    assert!(rot.old_key_id.is_some());
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
    // Saved before the request with the thumbprint it will be found by.
    let first = w.saved.lock().unwrap()[0].rotation.clone().unwrap();
    assert_eq!(first.new_thumbprint, rot.new_thumbprint);
    // The new .pfx beside the old one; its password the next one in the store.
    let new_pfx = PathBuf::from(rot.new_certificate_file.clone().unwrap());
    assert_eq!(new_pfx.parent(), w.old_pfx.parent());
    assert!(new_pfx.exists());
    let new_password = w.next_password().expect("the next password");
    assert_ne!(new_password, old_password);
    // Halo: the new file by name, its password copied (not shown), the connection switched.
    let file_row = r.halo.iter().find(|h| h.setting.contains(".pfx")).unwrap();
    assert_eq!(
        file_row.value,
        new_pfx.file_name().unwrap().to_string_lossy()
    );
    let cert_row = r.halo.iter().find(|h| h.setting == "Certificate").unwrap();
    assert_eq!(Some(&cert_row.value), rot.new_thumbprint.as_ref());
    assert_no_password_anywhere(&w, &r, &new_password);
    // The overlap: both sign in.
    assert!(w.signs_in(&w.old_pfx, &old_password).await);
    assert!(w.signs_in(&new_pfx, &new_password).await);
    assert_eq!(w.certificates_on_app().len(), 2);
    // Reads, then one addKey; the proof is not in the report.
    let writes: Vec<_> = r.requests.iter().filter(|q| q.is_write()).collect();
    assert_eq!(writes.len(), 1, "{writes:#?}");
    assert!(writes[0].url.ends_with("/addKey"));
    let body = writes[0].body.as_ref().unwrap();
    assert_eq!(body["keyCredential"]["type"], "AsymmetricX509Cert");
    assert_eq!(body["keyCredential"]["usage"], "Verify");
    assert!(body["passwordCredential"].is_null());
    assert_eq!(body["proof"], "(proof of possession, not shown)");

    // "Halo is updated".
    let r = w.proceed().await;
    assert!(r.ok, "{r:#?}");
    assert!(w.profile.rotation.is_none());
    let rec = r.record.clone().expect("recorded");
    assert_eq!(rec.outcome, RotationOutcome::Completed);
    assert!(rec.old.unwrap().contains(&w.old_thumbprint));
    assert!(
        rec.new
            .unwrap()
            .contains(rot.new_thumbprint.as_deref().unwrap())
    );
    assert!(rec.signed_in_as.is_some());
    // The old one is refused now; the new one is current everywhere.
    assert!(
        !w.signs_in(&w.old_pfx, &old_password).await,
        "the old certificate is refused after removal"
    );
    assert!(w.signs_in(&new_pfx, &new_password).await);
    assert_eq!(
        w.certificates_on_app(),
        vec![rot.new_thumbprint.clone().unwrap()]
    );
    let c = &w.profile.credential;
    assert_eq!(c.thumbprint, rot.new_thumbprint);
    assert_eq!(c.certificate_file, rot.new_certificate_file);
    assert_eq!(c.expires_on, rot.new_expires_on);
    assert!(c.thumbprint_sha256.is_some() && c.certificate_subject.is_some());
    assert_eq!(
        w.old_password(),
        new_password,
        "the new password is current"
    );
    assert!(w.next_password().is_none());
    let removal = r
        .requests
        .iter()
        .find(|q| q.url.ends_with("/removeKey"))
        .unwrap();
    assert_eq!(
        removal.body.as_ref().unwrap()["keyId"],
        json!(rot.old_key_id)
    );
    assert_no_password_anywhere(&w, &r, &new_password);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sandbox_refuses_a_proof_not_signed_by_one_of_the_apps_certificates() {
    let w = world().await;
    let app =
        w.sb.graph()
            .applications()
            .into_iter()
            .find(|a| a["appId"] == SANDBOX_CLIENT_ID)
            .unwrap();
    let object_id = app["id"].as_str().unwrap().to_string();
    let (stranger, _) = make_certificate(w.dir.path(), "stranger");
    let sign = |c: &CertificateWithKey, iss: &str, aud: &str| {
        let key = entra_onboard_engine::jws::key_from_pem(c.pem_bundle().expose()).unwrap();
        let now = chrono::Utc::now().timestamp();
        entra_onboard_engine::jws::sign(
            &json!({"typ": "JWT", "x5t": c.info.thumbprints.sha1_base64url}),
            &json!({"aud": aud, "iss": iss, "nbf": now, "exp": now + 600}),
            &key,
            entra_onboard_engine::jws::RsaAlg::Rs256,
        )
        .unwrap()
    };
    let old_bytes = std::fs::read(&w.old_pfx).unwrap();
    let old = certificate::import_pfx(
        &old_bytes,
        Sensitive::new(w.old_password()),
        chrono::Utc::now(),
    )
    .unwrap();
    let graph = "00000003-0000-0000-c000-000000000000";
    let add = |proof: String| {
        json!({"keyCredential": {"type": "AsymmetricX509Cert", "usage": "Verify",
            "key": base64_der(&stranger)}, "passwordCredential": null, "proof": proof})
    };
    let path = format!("/applications/{object_id}/addKey");
    let client = w.session.client();
    // Signed by a certificate that is not on the app.
    let e = client
        .post(&path, &add(sign(&stranger, &object_id, graph)))
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(400));
    // The appId instead of the object id as the issuer.
    let e = client
        .post(&path, &add(sign(&old, SANDBOX_CLIENT_ID, graph)))
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(400));
    assert!(e.to_string().contains("object id"), "{e}");
    // Another audience.
    assert!(
        client
            .post(
                &path,
                &add(sign(&old, &object_id, "https://graph.microsoft.com"))
            )
            .await
            .is_err()
    );
    assert_eq!(w.certificates_on_app(), vec![w.old_thumbprint.clone()]);
    // The documented proof works.
    let added = client
        .post(&path, &add(sign(&old, &object_id, graph)))
        .await
        .unwrap();
    assert_eq!(added["type"], "AsymmetricX509Cert");
    assert!(added["key"].is_null(), "key is returned only on $select");
    assert_eq!(w.certificates_on_app().len(), 2);
}

fn base64_der(c: &CertificateWithKey) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(&c.cert_der)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_add_leaves_nothing_behind() {
    let mut w = world().await;
    w.fail_graph("addKey", 403, 1);
    let r = w.begin().await;
    assert!(!r.ok && r.rolled_back, "{r:#?}");
    assert_eq!(r.error.as_ref().unwrap().code, "graph.api");
    assert!(w.profile.rotation.is_none());
    assert_eq!(w.profile.rotations[0].outcome, RotationOutcome::RolledBack);
    w.assert_back_to_the_old_one().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_keychain_failure_removes_the_new_certificate_from_entra_and_its_files() {
    let mut w = world().await;
    w.store.fail_set.store(true, Ordering::SeqCst);
    let r = w.begin().await;
    assert!(!r.ok && r.rolled_back, "{r:#?}");
    assert_eq!(r.error.unwrap().code, "rotate.keychain");
    assert!(
        r.requests.iter().any(|q| q.url.ends_with("/removeKey")),
        "the new key was removed with a proof"
    );
    w.assert_back_to_the_old_one().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_first_proof_rolls_back_entra_the_keychain_and_the_files() {
    let mut w = world().await;
    let prover = failing_prover(&w.profile, 1);
    let r = w.begin_with(prover).await;
    assert!(!r.ok && r.rolled_back, "{r:#?}");
    assert_eq!(r.error.unwrap().code, "rotate.proof_failed");
    assert!(r.handover.is_empty(), "Halo never saw the new one");
    w.assert_back_to_the_old_one().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_proof_after_halo_rolls_back_and_says_to_point_halo_back() {
    let mut w = world().await;
    assert!(w.begin().await.ok);
    let prover = failing_prover(&w.profile, 1);
    let r = w.proceed_with(prover).await;
    assert!(!r.ok && r.rolled_back, "{r:#?}");
    assert!(
        r.handover
            .iter()
            .any(|h| h.contains("point its connection back") && h.contains(&w.old_thumbprint)),
        "{:?}",
        r.handover
    );
    w.assert_back_to_the_old_one().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_removal_of_the_old_certificate_keeps_both_and_finishes_on_retry() {
    let mut w = world().await;
    let old_password = w.old_password();
    assert!(w.begin().await.ok);
    w.fail_graph("removeKey", 503, 5);
    let r = w.proceed().await;
    assert!(!r.ok && !r.rolled_back, "{r:#?}");
    assert_eq!(r.rotation.unwrap().state, RotationState::ProvenAgain);
    assert_eq!(w.certificates_on_app().len(), 2, "nothing was removed");
    assert!(r.error.unwrap().fix.contains("--finish"));
    w.sb.graph().faults(|f| f.fail.clear());
    let r = w.proceed().await;
    assert!(r.ok, "{r:#?}");
    assert!(!w.signs_in(&w.old_pfx, &old_password).await);
    assert_eq!(w.certificates_on_app().len(), 1);
    assert_eq!(
        w.profile.rotations.last().unwrap().outcome,
        RotationOutcome::Completed
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_keychain_failure_after_removal_finishes_on_retry_never_rolls_back() {
    let mut w = world().await;
    let begun = w.begin().await;
    assert!(begun.ok);
    let new_thumbprint = begun.rotation.unwrap().new_thumbprint;
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
    assert_eq!(w.profile.credential.thumbprint, new_thumbprint);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_rotation_is_found_by_its_thumbprint_and_rolled_back() {
    let mut w = world().await;
    assert!(w.begin().await.ok);
    // The app closed right after addKey was sent: the last save is "planned", no key ID.
    let mut at_planned = w.saved.lock().unwrap()[0].clone();
    let r = at_planned.rotation.clone().unwrap();
    assert_eq!(r.state, RotationState::Planned);
    assert!(r.new_key_id.is_none());
    let rb = w.roll_back(&mut at_planned).await;
    assert!(rb.ok && rb.rolled_back, "{rb:#?}");
    assert_eq!(w.certificates_on_app(), vec![w.old_thumbprint.clone()]);
    assert!(at_planned.rotation.is_none());
    // Stopped before its .pfx was stored, a rotation cannot be finished.
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
    w.profile = p;
    w.assert_back_to_the_old_one().await;
    assert_eq!(
        w.profile.rotations[0].reason.as_deref(),
        Some("the admin chose to roll back")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_current_password_nothing_is_sent() {
    let mut w = world().await;
    w.store.current.lock().unwrap().clear();
    let r = w.begin().await;
    assert!(!r.ok && !r.rolled_back, "{r:#?}");
    assert_eq!(r.error.unwrap().code, "rotate.old_certificate");
    assert!(r.requests.iter().all(|q| !q.is_write()));
    assert!(w.profile.rotation.is_none() && w.saved_states().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_lifetime_cap_shortens_the_new_certificate() {
    let mut w = world().await;
    w.sb.graph().set_default_policy(json!({
        "id": "00000000-0000-0000-0000-000000000000",
        "isEnabled": true,
        "applicationRestrictions": {"passwordCredentials": [], "keyCredentials": [
            {"restrictionType": "asymmetricKeyLifetime", "state": "enabled", "maxLifetime": "P90D", "restrictForAppsCreatedAfterDateTime": "2000-01-01T00:00:00Z"}
        ]}
    }));
    let r = w.begin().await;
    assert!(r.ok, "{r:#?}");
    let end = r.rotation.unwrap().new_expires_on.unwrap();
    let today = chrono::Utc::now().date_naive();
    assert!((end - today).num_days() <= 90, "{end}");
    assert!(r.policy_notes.iter().any(|n| n.contains("P90D")));
}
