//! Rotating a certificate by hand (issue 15, without Graph rights), against the practice
//! sandbox: the tool makes the certificate and writes the .pfx and .cer; the admin's portal
//! upload is played by the sandbox portal's "Upload certificate" (its form's endpoint, with
//! the .cer's bytes); the proof is a real test sign-in through the scripted browser whose
//! code is redeemed with a client assertion the new certificate signs. Before the upload the
//! sandbox answers AADSTS700027, as Entra does: the rotation waits for another try instead
//! of rolling back. The .pfx passwords live in an in-memory store, the files in a temp dir.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{Months, NaiveDate, Utc};
use entra_onboard_core::rotation::{CustomerApp, RotationOutcome, RotationState};
use entra_onboard_engine::graph::rotate::{NextSecretStore, Prover, RotateReport};
use entra_onboard_engine::ids::Sensitive;
use entra_onboard_engine::profile::Profile;
use entra_onboard_engine::rotate_by_hand::{self as by_hand, ByHandContext};
use entra_onboard_engine::rotation_proof;
use entra_onboard_engine::sso_test::{CancellationToken, SsoTestOptions};
use entra_onboard_engine::steps::certificate::{self, CertificateFiles, CertificateRequest};
use entra_onboard_sandbox::idp::SANDBOX_CLIENT_ID;
use entra_onboard_sandbox::practice::PracticeSandbox;

#[path = "support/scripted_browser.rs"]
mod scripted_browser;
use scripted_browser::scripted_browser;

/// The keychain stand-in: the current and next .pfx password per profile.
#[derive(Default)]
struct Mem {
    current: Mutex<HashMap<String, String>>,
    next: Mutex<HashMap<String, String>>,
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

struct World {
    sb: PracticeSandbox,
    profile: Profile,
    store: Mem,
    saved: Arc<Mutex<Vec<Profile>>>,
    dir: tempfile::TempDir,
    old_thumbprint: String,
}

async fn world() -> World {
    let sb = PracticeSandbox::start(Some(0), entra_onboard_sandbox::Seed::DemoApp)
        .await
        .expect("sandbox starts");
    // The proof's sign-in needs consent (step 4), as the SSO test does.
    sb.provider()
        .grant_admin_consent(SANDBOX_CLIENT_ID)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let old = certificate::generate(
        &CertificateRequest {
            common_name: "Hand Co service desk (Entra Onboard)".into(),
            key_bits: 2048,
            months: 12,
        },
        Utc::now(),
    )
    .unwrap();
    let files = CertificateFiles::in_dir(dir.path(), "Hand-Co-old");
    certificate::write_files(&old, &files, false).unwrap();
    sb.provider()
        .register_certificate(SANDBOX_CLIENT_ID, old.cert_pem().as_bytes())
        .unwrap();
    let mut p = sb.practice_profile("Hand Co");
    old.record_in(&mut p.credential);
    p.credential.certificate_file = Some(files.pfx.display().to_string());
    let store = Mem::default();
    store
        .current
        .lock()
        .unwrap()
        .insert(p.id.clone(), old.pfx_password.expose().clone());
    World {
        sb,
        profile: p,
        store,
        saved: Arc::new(Mutex::new(Vec::new())),
        dir,
        old_thumbprint: old.info.thumbprints.sha1_hex.clone(),
    }
}

fn expiry() -> NaiveDate {
    Utc::now().date_naive() + Months::new(6)
}

fn real_prover(p: &Profile) -> Prover {
    let options = SsoTestOptions {
        timeout: Duration::from_secs(60),
        open_browser: scripted_browser(),
        ..SsoTestOptions::default()
    };
    rotation_proof::prover(p, CustomerApp::Main, options, CancellationToken::new()).unwrap()
}

enum Act {
    Begin,
    Uploaded,
    HaloUpdated,
    RollBack,
}

impl World {
    async fn act(&mut self, act: Act, prover: Option<Prover>) -> RotateReport {
        let saved = self.saved.clone();
        let mut save = move |p: &Profile| {
            saved.lock().unwrap().push(p.clone());
            Ok(())
        };
        let prover = prover.unwrap_or_else(|| real_prover(&self.profile));
        let mut ctx = ByHandContext {
            store: &self.store,
            prover,
            save: &mut save,
            who: None,
            now: None,
        };
        let mut p = self.profile.clone();
        let r = match act {
            Act::Begin => by_hand::cert::begin(&mut p, CustomerApp::Main, expiry(), &mut ctx)
                .await
                .expect("starts"),
            Act::Uploaded => by_hand::proceed(&mut p, false, &mut ctx).await.unwrap(),
            Act::HaloUpdated => by_hand::proceed(&mut p, true, &mut ctx).await.unwrap(),
            Act::RollBack => by_hand::roll_back(&mut p, "the admin rolled back", &mut ctx).unwrap(),
        };
        self.profile = p;
        r
    }

    fn new_pfx(&self) -> PathBuf {
        PathBuf::from(
            self.profile
                .rotation
                .as_ref()
                .unwrap()
                .new_certificate_file
                .clone()
                .unwrap(),
        )
    }

    /// The admin's "Upload certificate" in the sandbox portal, with the .cer's bytes.
    async fn upload(&self, cer: &Path) -> String {
        let answer: serde_json::Value = reqwest::Client::new()
            .post(format!(
                "{}/sandbox/upload-certificate?client_id={SANDBOX_CLIENT_ID}",
                self.sb.base_url()
            ))
            .header("accept", "application/json")
            .body(std::fs::read(cer).unwrap())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        answer["thumbprint"].as_str().unwrap().to_string()
    }

    /// The portal page's own form: the .pem's text pasted into "Upload certificate".
    async fn upload_form(&self, pem_text: &str) -> reqwest::StatusCode {
        reqwest::Client::new()
            .post(format!("{}/sandbox/upload-certificate", self.sb.base_url()))
            .form(&[("client_id", SANDBOX_CLIENT_ID), ("certificate", pem_text)])
            .send()
            .await
            .unwrap()
            .status()
    }

    fn next_password(&self) -> Option<String> {
        self.store
            .next
            .lock()
            .unwrap()
            .get(&self.profile.id)
            .cloned()
    }

    fn files(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_made_here_uploaded_by_hand_is_proven_twice_and_made_current() {
    let mut w = world().await;
    let r = w.act(Act::Begin, None).await;
    assert!(r.ok, "{r:#?}");
    let rot = r.rotation.clone().unwrap();
    assert!(rot.by_hand);
    assert_eq!(
        rot.state,
        RotationState::StoredAsNext,
        "waits for the upload"
    );
    let pfx = w.new_pfx();
    let cer = pfx.with_extension("cer");
    assert!(pfx.exists() && cer.exists(), "{:?}", w.files());
    assert!(w.next_password().is_some());
    assert!(
        r.handover
            .iter()
            .any(|h| h.contains(&cer.display().to_string()) && h.contains("Upload certificate")),
        "{:?}",
        r.handover
    );
    let saved: Vec<_> = w
        .saved
        .lock()
        .unwrap()
        .iter()
        .map(|p| p.rotation.as_ref().map(|r| r.state))
        .collect();
    assert_eq!(
        saved,
        vec![
            Some(RotationState::Planned),
            Some(RotationState::StoredAsNext)
        ]
    );

    // "Uploaded" before uploading: Entra answers AADSTS700027; nothing is rolled back.
    let r = w.act(Act::Uploaded, None).await;
    assert!(!r.ok);
    assert!(!r.rolled_back);
    let e = r.error.clone().unwrap();
    assert_eq!(e.code, "rotate.not_uploaded", "{e:#?}");
    assert!(e.message.contains("AADSTS700027"), "{}", e.message);
    assert!(e.fix.contains("Nothing was rolled back"));
    assert_eq!(
        w.profile.rotation.as_ref().unwrap().state,
        RotationState::StoredAsNext
    );
    assert!(
        pfx.exists() && w.next_password().is_some(),
        "kept for the retry"
    );

    // The admin uploads the .cer in the portal; the proof passes.
    let thumb = w.upload(&cer).await;
    assert_eq!(Some(thumb.clone()), rot.new_thumbprint);
    let r = w.act(Act::Uploaded, None).await;
    assert!(r.ok, "{r:#?}");
    assert_eq!(
        r.rotation.as_ref().unwrap().state,
        RotationState::WaitingForHalo
    );
    let proof = r
        .steps
        .iter()
        .find(|s| s.state == RotationState::Proven)
        .unwrap();
    assert!(
        proof
            .detail
            .as_deref()
            .unwrap()
            .contains("redeemed with the new certificate"),
        "{proof:#?}"
    );
    // Halo's rows are the Graph certificate path's: the new .pfx and thumbprint.
    let file_row = r.halo.iter().find(|h| h.setting.contains(".pfx")).unwrap();
    assert_eq!(
        file_row.value,
        pfx.file_name().unwrap().to_string_lossy().to_string()
    );
    assert!(r.halo.iter().any(|h| h.value == thumb));

    // "Halo is updated": proven again, the old one named for deletion, the new one current.
    let new_password = w.next_password().unwrap();
    let r = w.act(Act::HaloUpdated, None).await;
    assert!(r.ok, "{r:#?}");
    assert!(w.profile.rotation.is_none());
    let delete = r
        .handover
        .iter()
        .find(|h| h.contains("delete the OLD certificate"))
        .unwrap();
    assert!(
        delete.contains(&format!("thumbprint {}", w.old_thumbprint)),
        "{delete}"
    );
    assert!(delete.contains("Keep the new one"));
    assert_eq!(w.profile.credential.thumbprint.as_deref(), Some(&thumb[..]));
    assert_eq!(
        w.profile.credential.certificate_file.as_deref(),
        Some(pfx.display().to_string().as_str())
    );
    assert!(w.profile.credential.thumbprint_sha256.is_some());
    assert_eq!(
        w.store.current.lock().unwrap()[&w.profile.id],
        new_password,
        "the new .pfx password is current"
    );
    assert!(w.next_password().is_none());
    let rec = w.profile.rotations.last().unwrap();
    assert_eq!(rec.outcome, RotationOutcome::Completed);
    assert_eq!(rec.signed_in_as.as_deref(), Some("by hand"));
    assert_eq!(
        rec.old.as_deref(),
        Some(format!("certificate {}", w.old_thumbprint).as_str())
    );
    assert_eq!(
        rec.new.as_deref(),
        Some(format!("certificate {thumb}").as_str())
    );
    for p in w.saved.lock().unwrap().iter() {
        assert!(!p.to_json().contains(&new_password), "never the password");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rollback_deletes_the_new_files_and_password_and_names_the_certificate_to_delete() {
    let mut w = world().await;
    let before = w.profile.credential.clone();
    w.act(Act::Begin, None).await;
    let pfx = w.new_pfx();
    let thumb = w.upload(&pfx.with_extension("cer")).await;
    let r = w.act(Act::Uploaded, None).await;
    assert!(r.ok, "{r:#?}");
    let r = w.act(Act::RollBack, None).await;
    assert!(r.ok && r.rolled_back, "{r:#?}");
    assert!(w.profile.rotation.is_none());
    assert!(!pfx.exists() && !pfx.with_extension("cer").exists());
    assert!(w.next_password().is_none());
    assert_eq!(w.profile.credential, before, "the old one is still current");
    assert!(
        r.handover
            .iter()
            .any(|h| h.contains(&format!("delete the NEW certificate (thumbprint {thumb}"))),
        "{:?}",
        r.handover
    );
    assert!(
        r.handover
            .iter()
            .any(|h| h.contains("point its connection back"))
    );
    assert_eq!(
        w.profile.rotations.last().unwrap().outcome,
        RotationOutcome::RolledBack
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_proof_other_than_not_uploaded_rolls_back() {
    let mut w = world().await;
    w.act(Act::Begin, None).await;
    let pfx = w.new_pfx();
    let failing: Prover = Arc::new(|_| {
        Box::pin(async {
            Err("the test sign-in in the browser did not finish (loopback.timeout)".to_string())
        })
    });
    let r = w.act(Act::Uploaded, Some(failing)).await;
    assert!(!r.ok && r.rolled_back, "{r:#?}");
    assert_eq!(r.error.unwrap().code, "rotate.proof_failed");
    assert!(!pfx.exists());
    assert!(w.next_password().is_none());
    assert!(
        r.handover
            .iter()
            .any(|h| h.starts_with("If you uploaded the new certificate"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_rotation_resumes_from_the_saved_profile() {
    let mut w = world().await;
    w.act(Act::Begin, None).await;
    // The app closed; the next start reads the saved profile.
    let saved = w.saved.lock().unwrap().last().unwrap().clone();
    w.profile = Profile::from_json(&saved.to_json()).unwrap();
    let v = by_hand::view(&w.profile, CustomerApp::Main, Utc::now().date_naive());
    let choice = v.resume.unwrap();
    assert!(choice.can_finish && choice.can_roll_back);
    assert!(
        choice.advice.contains("Upload the .cer"),
        "{}",
        choice.advice
    );
    assert!(v.upload.unwrap().contains(".cer"));
    assert!(v.rollback_handover[0].starts_with("If you uploaded"));
    // The portal page's form: a refused paste is said; the .pem's text is taken.
    assert_eq!(w.upload_form("not a certificate").await, 400);
    let pem = std::fs::read_to_string(w.new_pfx().with_extension("pem")).unwrap();
    let status = w.upload_form(&pem).await;
    assert!(status.is_success() || status.is_redirection(), "{status}");
    // "Finish" (halo updated) from "stored as next" proves, then waits for Halo.
    let r = w.act(Act::HaloUpdated, None).await;
    assert!(r.ok, "{r:#?}");
    assert_eq!(
        w.profile.rotation.as_ref().unwrap().state,
        RotationState::WaitingForHalo
    );
    let r = w.act(Act::HaloUpdated, None).await;
    assert!(r.ok, "{r:#?}");
    assert!(w.profile.rotation.is_none());

    // Interrupted while the files were being written ("planned"): finish is refused,
    // rollback cleans up.
    w.act(Act::Begin, None).await;
    let pfx = w.new_pfx();
    let mut p = w.profile.clone();
    p.rotation.as_mut().unwrap().state = RotationState::Planned;
    w.profile = p;
    let r = w.act(Act::HaloUpdated, None).await;
    assert_eq!(r.error.unwrap().code, "rotate.cannot_finish");
    let r = w.act(Act::RollBack, None).await;
    assert!(r.rolled_back);
    assert!(!pfx.exists());
}
