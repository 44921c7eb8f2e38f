//! Rotating a **certificate** without downtime (issue 15), through Microsoft Graph. The
//! states, rollback rules, plan and record are the core's ([`entra_onboard_core::rotation`],
//! its `cert` part for the words and Halo's rows); the order is the secret's: a new
//! certificate (made as step 3 makes one) is added **beside** the old one, its password-
//! protected .pfx written beside the old .pfx and its password kept in the keychain as the
//! *next* one, proven, uploaded to Halo by the admin, proven again, and only then is the old
//! certificate removed by its key ID and the new one made current.
//!
//! Graph: `addKey` and `removeKey`, each with a proof of possession — a JWT signed with the
//! private key of one of the app's current, valid certificates. The old certificate (whose
//! .pfx and password this program holds) signs the addition and any rollback; the new one
//! signs the old one's removal.
//! - <https://learn.microsoft.com/graph/api/application-addkey?view=graph-rest-1.0>
//! - <https://learn.microsoft.com/graph/api/application-removekey?view=graph-rest-1.0>
//! - <https://learn.microsoft.com/graph/application-rollkey-prooftoken> (claims `aud`,
//!   `iss` = the application's object id, `nbf`, `exp` ≤ `nbf` + 10 min; the sample signs
//!   with X509SigningCredentials, whose header names the certificate by `x5t`/`kid`).
//!
//! Update application (PATCH `keyCredentials`) is not used: it must resend every key with
//! its `key`, and a mistake there removes the certificate Halo signs with. An app whose
//! current certificate has expired cannot use `addKey` (the docs say so); the admin is told
//! to make a new certificate in step 3 and add it with "Create it for me" instead.
//!
//! The proof: the client-credentials grant with a client assertion signed by the new
//! certificate (<https://learn.microsoft.com/entra/identity-platform/certificate-credentials>),
//! the same app-only token the SSO test asks for.
//!
//! Failure rules are the secret's (see the parent module): anything before the old
//! certificate is removed rolls back at once (the new key removed from Entra, the new .pfx
//! and its password deleted); a failed removal of the old one keeps the rotation at "proven
//! again"; nothing is orphaned silently.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Months, TimeDelta, Utc};
use serde_json::{Value, json};

use super::{
    GraphClient, GraphError, NextSecretStore, Prover, RotateContext, RotateError, RotateReport,
    Run, empty_report, find_app, graph_fix, profile_key,
};
use crate::ids::Sensitive;
use crate::keychain::Keychain;
use crate::oauth::{ClientCredential, TokenEndpoint};
use crate::profile::Profile;
use crate::steps::certificate::{self, CertificateFiles, CertificateRequest, CertificateWithKey};
use crate::target::{Target, TenantSegment};
use entra_onboard_core::rotation::{
    self as rules, CustomerApp, RollbackStep, RotationInProgress, RotationRecord, RotationState,
};

const FIX_SAVE: &str = "Check that the customer's file can be written, then rotate again.";

/// The proof a certificate rotation makes: an app-only Graph token from the profile's tenant
/// for `app`, with a client assertion signed by the certificate in the PEM bundle it is given
/// ([`CertificateWithKey::pem_bundle`]: the certificate and its key). Only the profile's
/// [`Target`] is contacted.
pub fn app_only_cert_prover(profile: &Profile, app: CustomerApp) -> Result<Prover, RotateError> {
    let target = Target::from_profile(profile)
        .map_err(|e| RotateError::Profile(format!("authority: {e}. {}", e.fix())))?;
    let segment = TenantSegment::tenant(&profile.tenant_id).ok_or_else(|| {
        RotateError::Profile(
            "tenant_id: not a tenant ID or domain; fix it in step 1 (the proof asks this tenant for a token)".into(),
        )
    })?;
    let client_id = rules::client_id_of(profile, app).trim().to_string();
    Ok(Arc::new(move |bundle: Sensitive<String>| {
        let target = target.clone();
        let segment = segment.clone();
        let client_id = client_id.clone();
        Box::pin(async move {
            // The bundle holds both PEM blocks: the certificate is read from it, and the key.
            let credential =
                ClientCredential::certificate_from_pem(bundle.expose(), bundle.clone())
                    .map_err(|e| e.to_string())?;
            let http = crate::http::http_client(Duration::from_secs(30))
                .map_err(|e| format!("could not set up HTTP: {e}"))?;
            let endpoint = target.token(&segment);
            TokenEndpoint::new(&http, &endpoint, &client_id, Some(&credential))
                .client_credentials(&target.graph_default_scope())
                .await
                .map(|_| {
                    "Entra issued an app-only token for a client assertion signed by the new certificate"
                        .to_string()
                })
                .map_err(|e| e.to_string())
        })
    }))
}

/// The proof of possession for the application object `object_id`, signed by `cert`.
fn sign_proof(cert: &CertificateWithKey, object_id: &str) -> Result<String, String> {
    let bundle = cert.pem_bundle();
    let key = crate::jws::key_from_pem(bundle.expose())
        .map_err(|e| format!("the certificate's key: {e}"))?;
    let t = &cert.info.thumbprints;
    let header = json!({"typ": "JWT", "x5t": t.sha1_base64url, "kid": t.sha1_hex});
    let claims = rules::proof_claims(object_id, Utc::now().timestamp());
    crate::jws::sign(&header, &claims, &key, crate::jws::RsaAlg::Rs256).map_err(|e| e.to_string())
}

pub(crate) fn open_pfx(
    path: &str,
    password: Sensitive<String>,
) -> Result<CertificateWithKey, String> {
    let bytes = crate::bounded::read_file(
        Path::new(path),
        certificate::MAX_PFX_BYTES as u64,
        "a .pfx certificate",
    )
    .map_err(|e| e.to_string())?;
    certificate::import_pfx(&bytes, password, Utc::now()).map_err(|e| e.to_string())
}

/// The app's current certificate with its key: its .pfx and the password in the keychain.
fn current_cert(
    store: &dyn NextSecretStore,
    p: &Profile,
    key: &str,
    app: CustomerApp,
) -> Result<CertificateWithKey, String> {
    let path = p
        .credential_of(app)
        .certificate_file
        .as_deref()
        .ok_or("no .pfx is recorded for the current certificate")?;
    let pw = store
        .current_password(key, app)?
        .ok_or("the current certificate's .pfx password is not in the keychain")?;
    open_pfx(path, pw)
}

/// The rotation's new certificate with its key: the new .pfx and the next password.
pub(crate) fn next_cert(
    store: &dyn NextSecretStore,
    r: &RotationInProgress,
    key: &str,
) -> Result<CertificateWithKey, String> {
    let path = r
        .new_certificate_file
        .as_deref()
        .ok_or("the new .pfx was never written")?;
    let pw = store
        .next_password(key, r.app)?
        .ok_or("the new .pfx password is not in the keychain")?;
    open_pfx(path, pw)
}

fn key_credentials(app: &Value) -> Vec<Value> {
    app["keyCredentials"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// Whether a keyCredential is the certificate with SHA-1 thumbprint `hex`: Graph's
/// `customKeyIdentifier` defaults to the thumbprint (keycredential resource), shown as hex
/// or as base64 of its bytes.
fn is_certificate(k: &Value, hex: &str) -> bool {
    let bytes: Option<Vec<u8>> = (0..hex.len())
        .step_by(2)
        .map(|i| {
            hex.get(i..i + 2)
                .and_then(|b| u8::from_str_radix(b, 16).ok())
        })
        .collect();
    let b64 = bytes.map(|b| STANDARD.encode(b)).unwrap_or_default();
    k["customKeyIdentifier"]
        .as_str()
        .is_some_and(|c| c.eq_ignore_ascii_case(hex) || (!b64.is_empty() && c == b64))
}

/// The `asymmetricKeyLifetime` restriction that applies to `app` (an enabled policy assigned
/// to the app replaces the tenant default, as for secrets): as written, and in days.
fn key_policy(
    default: &Value,
    assigned: &[Value],
    created: DateTime<Utc>,
) -> Option<(String, i64)> {
    let (name, restrictions) = match assigned
        .iter()
        .find(|p| p["isEnabled"].as_bool() != Some(false))
    {
        Some(p) => (
            format!(
                "the app management policy \"{}\" assigned to this app",
                p["displayName"].as_str().unwrap_or("(unnamed)")
            ),
            p["restrictions"]["keyCredentials"].clone(),
        ),
        None if default["isEnabled"].as_bool() == Some(true) => (
            "the tenant's default app management policy".to_string(),
            default["applicationRestrictions"]["keyCredentials"].clone(),
        ),
        None => return None,
    };
    restrictions.as_array().into_iter().flatten().find_map(|r| {
        let applies = r["state"].as_str() != Some("disabled")
            && r["restrictForAppsCreatedAfterDateTime"]
                .as_str()
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .is_none_or(|t| created > t);
        if !applies || r["restrictionType"].as_str() != Some("asymmetricKeyLifetime") {
            return None;
        }
        let iso = r["maxLifetime"].as_str()?;
        let days = super::super::apply::iso_duration_days(iso)?;
        Some((format!("{iso} ({name})"), days))
    })
}

async fn read_key_policy(
    client: &GraphClient,
    app: &Value,
) -> Result<Option<(String, i64)>, GraphError> {
    let default = client.get("/policies/defaultAppManagementPolicy").await?;
    let id = app["id"].as_str().unwrap_or_default();
    let assigned = client
        .get(&format!("/applications/{id}/appManagementPolicies"))
        .await?;
    let created = app["createdDateTime"]
        .as_str()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(Utc::now);
    Ok(key_policy(
        &default,
        assigned["value"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or(&[]),
        created,
    ))
}

/// The new certificate's validity in whole months: `months` (1–24), or fewer when the
/// policy caps it (one day short of the cap, for clock skew). `Err` when not even a month fits.
fn capped_months(
    now: DateTime<Utc>,
    months: u32,
    cap: Option<&(String, i64)>,
) -> Result<(u32, Option<String>), String> {
    let months = months.clamp(1, certificate::MAX_MONTHS);
    let Some((iso, days)) = cap else {
        return Ok((months, None));
    };
    let limit = TimeDelta::try_days(days.saturating_sub(1))
        .and_then(|d| now.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    let fit = (1..=months).rev().find(|m| {
        now.checked_add_months(Months::new(*m))
            .is_some_and(|end| end <= limit)
    });
    match fit {
        Some(m) if m == months => Ok((m, None)),
        Some(m) => Ok((
            m,
            Some(format!(
                "{m} months instead of {months}: the policy allows at most {iso}"
            )),
        )),
        None => Err(format!(
            "the app-management policy allows certificates of at most {iso}, less than the one month a certificate made here lasts"
        )),
    }
}

/// What the new certificate is asked to be: the current one's name and key size.
pub(crate) fn new_request(p: &Profile, app: CustomerApp, months: u32) -> CertificateRequest {
    let meta = p.credential_of(app);
    let common_name = meta
        .certificate_subject
        .as_deref()
        .and_then(|s| s.strip_prefix("CN="))
        .map(|s| s.split(',').next().unwrap_or(s).trim().to_string())
        .filter(|s| !s.is_empty() && s.chars().count() <= certificate::MAX_COMMON_NAME_CHARS)
        .unwrap_or_else(|| match app {
            CustomerApp::Main => certificate::default_common_name(p),
            CustomerApp::PartnerCenter => certificate::partner_center_common_name(p),
        });
    let key_bits = meta
        .key_bits
        .filter(|b| certificate::KEY_SIZES.contains(b))
        .unwrap_or(certificate::DEFAULT_KEY_BITS);
    CertificateRequest {
        common_name,
        key_bits,
        months,
    }
}

/// Where the new certificate's files go: beside the old .pfx, named as step 3 names them
/// plus the rotation's id, so they never replace a file (step 3 refuses to overwrite).
pub(crate) fn new_files(
    p: &Profile,
    app: CustomerApp,
    info: &certificate::CertificateInfo,
    id: &str,
) -> Option<CertificateFiles> {
    let dir: PathBuf = p
        .credential_of(app)
        .certificate_file
        .as_deref()
        .and_then(|f| Path::new(f).parent())
        .filter(|d| !d.as_os_str().is_empty())?
        .to_path_buf();
    let base = CertificateFiles::for_app(&dir, p, app, info);
    let stem = base.pfx.file_stem()?.to_string_lossy().into_owned();
    let short: String = id.chars().take(8).collect();
    Some(CertificateFiles::in_dir(&dir, &format!("{stem}-{short}")))
}

/// Deletes the rotation's new .pfx, .cer and .pem (absent is fine). Never the old ones:
/// only the paths the rotation itself named.
pub(crate) fn delete_new_files(r: &RotationInProgress) {
    let Some(pfx) = r.new_certificate_file.as_deref().map(PathBuf::from) else {
        return;
    };
    for f in [pfx.with_extension("cer"), pfx.with_extension("pem"), pfx] {
        let _ = std::fs::remove_file(f);
    }
}

/// The read phase: the app, the old certificate on it (by thumbprint), the policy's lifetime
/// cap. `Err` when the run stopped (the report says why); nothing is written.
async fn read_phase(
    run: &mut Run<'_, '_>,
    p: &Profile,
    rotation: &mut RotationInProgress,
    old: &CertificateWithKey,
    months: u32,
    now: DateTime<Utc>,
) -> Result<(Value, u32), ()> {
    let app_json = match find_app(run.ctx.client, rules::client_id_of(p, rotation.app)).await {
        Ok(a) => a,
        Err(f) => {
            run.report.ok = false;
            run.report.error = Some(f);
            return Err(());
        }
    };
    let old_thumb = old.info.thumbprints.sha1_hex.clone();
    if let Some(recorded) = rotation.old_thumbprint.as_deref()
        && !recorded.eq_ignore_ascii_case(&old_thumb)
    {
        run.report.fail(
            "rotate.old_mismatch",
            format!("Nothing was changed: the .pfx recorded for this app holds certificate {old_thumb}, but the customer records {recorded}."),
            "Import the .pfx Halo uses (step 3), then rotate again.",
        );
        return Err(());
    }
    let on_app: Vec<Value> = key_credentials(&app_json)
        .into_iter()
        .filter(|k| is_certificate(k, &old_thumb))
        .collect();
    let Some(old_key) = on_app.first() else {
        run.report.fail(
            "rotate.old_not_on_app",
            format!("Nothing was changed: the current certificate ({old_thumb}) is not on the app registration, so Graph cannot check a proof of possession signed with it."),
            "Upload it in Entra (App registrations > the app > Certificates & secrets > Upload certificate, the .cer from step 3) or run \"Create it for me\", then rotate again.",
        );
        return Err(());
    };
    rotation.old_key_id = old_key["keyId"].as_str().map(str::to_string);
    let cap = match read_key_policy(run.ctx.client, &app_json).await {
        Ok(c) => c,
        Err(e) => {
            run.report.fail(
                e.code(),
                format!("Reading the app-management policy: {e}"),
                "The signed-in account needs Policy.Read.All to read the app-management policy (Application Administrator can); sign in with such an account and rotate again.",
            );
            return Err(());
        }
    };
    if let Some((iso, _)) = &cap {
        run.report
            .policy_notes
            .push(format!("Certificates may live at most {iso}."));
    }
    let (months, note) = match capped_months(now, months, cap.as_ref()) {
        Ok(m) => m,
        Err(why) => {
            run.report.fail(
                "rotate.policy_caps_certificate",
                format!("Nothing was changed: {why}."),
                "Ask the tenant's admin to allow longer certificate lifetimes for this app, or rotate by hand in the Entra admin centre.",
            );
            return Err(());
        }
    };
    run.report.line(
        RotationState::Planned,
        "Read the app, the current certificate on it and the tenant's app-management policy",
        true,
        Some(format!(
            "old certificate {old_thumb}, key ID {}{}",
            rotation.old_key_id.clone().unwrap_or_default(),
            note.map(|n| format!("; new lifetime {n}"))
                .unwrap_or_default()
        )),
    );
    Ok((app_json, months))
}

/// A failed step before the old certificate is removed: code, message, fix (then rolled back).
type StepFailure = (String, String, &'static str);

/// `addKey`: the new certificate's public part, proven with the old certificate's key.
async fn add_key(
    run: &mut Run<'_, '_>,
    old: &CertificateWithKey,
    new: &CertificateWithKey,
    object_id: &str,
    name: &str,
) -> Result<Value, StepFailure> {
    let proof = sign_proof(old, object_id).map_err(|e| {
        (
            "rotate.proof_of_possession".to_string(),
            format!("Signing the proof of possession with the current certificate: {e}"),
            "Import the current .pfx again in step 3, then rotate again.",
        )
    })?;
    let body = json!({
        "keyCredential": {
            "type": "AsymmetricX509Cert",
            "usage": "Verify",
            "key": STANDARD.encode(&new.cert_der),
            "displayName": name,
        },
        "passwordCredential": null,
        "proof": proof,
    });
    run.ctx
        .client
        .post(&format!("/applications/{object_id}/addKey"), &body)
        .await
        .map_err(|e| {
            (
                e.code().to_string(),
                format!("Adding the new certificate: {e}"),
                graph_fix(&e),
            )
        })
}

/// Writes the new certificate's files beside the old ones and keeps its .pfx password in
/// the keychain as the next one; on a failure, the files written are taken back.
fn store_new(
    run: &mut Run<'_, '_>,
    p: &Profile,
    key: &str,
    new: &CertificateWithKey,
    files: &CertificateFiles,
) -> Result<(), StepFailure> {
    let Some(r) = p.rotation.as_ref() else {
        return Ok(());
    };
    if let Err(e) = certificate::write_files(new, files, false) {
        delete_new_files(r);
        return Err((
            e.code().to_string(),
            format!("Writing the new certificate's files: {e}"),
            "Check that the folder of the current .pfx can be written, then rotate again.",
        ));
    }
    if let Err(e) = run
        .ctx
        .store
        .set_next_password(key, r.app, &new.pfx_password)
    {
        delete_new_files(r);
        return Err((
            "rotate.keychain".to_string(),
            format!("Storing the new .pfx password in the keychain: {e}"),
            "Unlock the keychain (see step 3), then rotate again.",
        ));
    }
    Ok(())
}

/// Starts a certificate rotation of `app`: reads, makes the new certificate, adds it beside
/// the old one, stores it as next, proves it, and stops at "waiting for Halo" (or rolls back
/// on a failure).
pub(super) async fn begin(
    p: &mut Profile,
    app: CustomerApp,
    months: u32,
    ctx: &mut RotateContext<'_>,
) -> Result<RotateReport, RotateError> {
    let key = profile_key(p)?;
    let now = ctx.now.unwrap_or_else(Utc::now);
    let mut rotation = rules::start(p, app, uuid::Uuid::new_v4().to_string(), now)?;
    rotation.signed_in_as = ctx.signed_in_as.clone();
    let mut run = Run {
        log_start: ctx.client.sent().len(),
        ctx,
        report: empty_report(),
    };
    // The current certificate signs the proof of possession: without it nothing can be added.
    let old = match current_cert(run.ctx.store, p, &key, app) {
        Ok(c) => c,
        Err(why) => {
            run.report.fail(
                "rotate.old_certificate",
                format!("Nothing was changed: the current certificate cannot sign Graph's proof of possession ({why})."),
                "Graph's addKey needs the current, unexpired certificate and its key: import its .pfx again in step 3 — or, when it has expired, create a new certificate there and add it with \"Create it for me\".",
            );
            return Ok(run.finish(p));
        }
    };
    let Ok((app_json, months)) = read_phase(&mut run, p, &mut rotation, &old, months, now).await
    else {
        return Ok(run.finish(p));
    };
    let new = match certificate::generate(&new_request(p, app, months), now) {
        Ok(c) => c,
        Err(e) => {
            run.report.fail(
                e.code(),
                format!("Nothing was changed: {e}"),
                "Rotate again.",
            );
            return Ok(run.finish(p));
        }
    };
    let Some(files) = new_files(p, app, &new.info, &rotation.id) else {
        run.report.fail(
            "rotate.old_certificate",
            "Nothing was changed: the current .pfx has no folder to write the new one beside."
                .into(),
            "Import the .pfx again in step 3, then rotate again.",
        );
        return Ok(run.finish(p));
    };
    // Saved before the request, with the new thumbprint: a crash between Graph's answer and
    // the next save is then found on the app by that thumbprint.
    rotation.new_thumbprint = Some(new.info.thumbprints.sha1_hex.clone());
    rotation.new_expires_on = Some(new.info.expires_on);
    rotation.new_certificate_file = Some(files.pfx.display().to_string());
    let name = rotation.secret_name();
    p.rotation = Some(rotation);
    if let Err(e) = run.advance(p, RotationState::Planned) {
        p.rotation = None;
        run.report
            .fail("rotate.save", format!("Nothing was changed: {e}"), FIX_SAVE);
        return Ok(run.finish(p));
    }
    let object_id = app_json["id"].as_str().unwrap_or_default().to_string();
    let created = match add_key(&mut run, &old, &new, &object_id, &name).await {
        Ok(v) => v,
        Err((code, msg, fix)) => {
            return Ok(fail_and_roll_back(run, p, &key, &code, msg, fix).await);
        }
    };
    if let Some(r) = p.rotation.as_mut() {
        r.new_key_id = created["keyId"].as_str().map(str::to_string);
    }
    run.report.line(
        RotationState::NewAdded,
        "Add the new certificate beside the old one (addKey, proven with the old one)",
        true,
        Some(format!(
            "certificate {}, key ID {}, expires {}",
            new.info.thumbprints.sha1_hex,
            created["keyId"].as_str().unwrap_or("(not returned)"),
            new.info.expires_on
        )),
    );
    if let Err(e) = run.advance(p, RotationState::NewAdded) {
        return Ok(fail_and_roll_back(run, p, &key, "rotate.save", e, FIX_SAVE).await);
    }
    if let Err((code, msg, fix)) = store_new(&mut run, p, &key, &new, &files) {
        return Ok(fail_and_roll_back(run, p, &key, &code, msg, fix).await);
    }
    run.report.line(
        RotationState::StoredAsNext,
        "Write the new .pfx beside the old one; keep its password in the keychain as the next one",
        true,
        Some(files.pfx.display().to_string()),
    );
    if let Err(e) = run.advance(p, RotationState::StoredAsNext) {
        return Ok(fail_and_roll_back(run, p, &key, "rotate.save", e, FIX_SAVE).await);
    }
    Ok(continue_from(run, p, &key, false).await)
}

/// Goes on from the saved state (see the parent's `proceed`).
pub(super) async fn proceed(
    p: &mut Profile,
    halo_updated: bool,
    ctx: &mut RotateContext<'_>,
) -> Result<RotateReport, RotateError> {
    let key = profile_key(p)?;
    let Some(r) = &p.rotation else {
        return Err(RotateError::NothingInProgress);
    };
    let mut run = Run {
        log_start: ctx.client.sent().len(),
        ctx,
        report: empty_report(),
    };
    let halo_updated = halo_updated && r.state >= RotationState::WaitingForHalo;
    if !rules::resume(r.state).can_finish {
        run.report.fail(
            "rotate.cannot_finish",
            format!("The rotation stopped at \"{}\": the new certificate's .pfx was never stored, so it cannot be used.", r.state.label()),
            "Roll it back (entra-onboard rotate <profile> --rollback, or \"Roll back\" in the app): that removes it from Entra; then rotate again.",
        );
        return Ok(run.finish(p));
    }
    Ok(continue_from(run, p, &key, halo_updated).await)
}

async fn prove(run: &mut Run<'_, '_>, p: &Profile, key: &str) -> Result<String, (String, String)> {
    let Some(r) = p.rotation.as_ref() else {
        return Err(("rotate.nothing_in_progress".into(), "no rotation".into()));
    };
    let cert = next_cert(run.ctx.store, r, key).map_err(|e| ("rotate.next_missing".into(), e))?;
    (run.ctx.prover)(cert.pem_bundle())
        .await
        .map_err(|e| ("rotate.proof_failed".into(), e))
}

async fn continue_from(
    mut run: Run<'_, '_>,
    p: &mut Profile,
    key: &str,
    halo_updated: bool,
) -> RotateReport {
    loop {
        let Some((state, app)) = p.rotation.as_ref().map(|r| (r.state, r.app)) else {
            return run.finish(p);
        };
        match state {
            RotationState::StoredAsNext | RotationState::WaitingForHalo
                if state == RotationState::StoredAsNext || halo_updated =>
            {
                let (label, next) = if state == RotationState::StoredAsNext {
                    ("Prove the new certificate", RotationState::Proven)
                } else {
                    (
                        "Prove the new certificate again (Halo is updated)",
                        RotationState::ProvenAgain,
                    )
                };
                match prove(&mut run, p, key).await {
                    Ok(how) => run.report.line(next, label, true, Some(how)),
                    Err((code, why)) => {
                        run.report.line(next, label, false, Some(why.clone()));
                        return fail_and_roll_back(run, p, key, &code, format!("{label}: {why}"), "Nothing is left behind: the old certificate is still current. Check the sign-in (step 2's doctor), then rotate again.").await;
                    }
                }
                if let Err(e) = run.advance(p, next) {
                    return fail_and_roll_back(run, p, key, "rotate.save", e, FIX_SAVE).await;
                }
            }
            RotationState::Proven => {
                run.report.halo = rules::halo_rows(p, app);
                run.report.line(
                    RotationState::WaitingForHalo,
                    "Upload the new .pfx in Halo, point the connection at it, save, then say \"Halo is updated\"",
                    true,
                    None,
                );
                if let Err(e) = run.advance(p, RotationState::WaitingForHalo) {
                    return fail_and_roll_back(run, p, key, "rotate.save", e, FIX_SAVE).await;
                }
            }
            RotationState::WaitingForHalo => {
                run.report.halo = rules::halo_rows(p, app);
                return run.finish(p);
            }
            RotationState::ProvenAgain => {
                if remove_old(&mut run, p, key).await.is_err() {
                    return run.finish(p);
                }
                if let Err(e) = run.advance(p, RotationState::OldRemoved) {
                    run.report.fail("rotate.save", e, "The old certificate is removed; check that the customer's file can be written, then finish the rotation again.");
                    return run.finish(p);
                }
            }
            RotationState::OldRemoved => return make_current(run, p, key),
            _ => return run.finish(p),
        }
    }
}

/// Removes the old certificate by its key ID, proven with the new one. On failure the
/// rotation stays at "proven again": Halo uses the new one and both sign in.
async fn remove_old(run: &mut Run<'_, '_>, p: &Profile, key: &str) -> Result<(), ()> {
    const LABEL: &str =
        "Remove the old certificate by its key ID (removeKey, proven with the new one)";
    let Some(r) = p.rotation.clone() else {
        return Err(());
    };
    let Some(old) = r.old_key_id.clone() else {
        run.report.line(
            RotationState::OldRemoved,
            LABEL,
            true,
            Some("it was not on the app (nothing to remove)".into()),
        );
        return Ok(());
    };
    let both = "Nothing is broken: Halo uses the new certificate and both still sign in.";
    let again = "Finish the rotation again (entra-onboard rotate <profile> --finish, or \"Halo is updated\" in the app); it picks up here.";
    let app_json = match find_app(run.ctx.client, rules::client_id_of(p, r.app)).await {
        Ok(a) => a,
        Err(f) => {
            run.report
                .fail(&f.code, format!("{} {both}", f.message), &f.fix);
            return Err(());
        }
    };
    if !key_credentials(&app_json)
        .iter()
        .any(|k| k["keyId"].as_str() == Some(&old))
    {
        run.report.line(
            RotationState::OldRemoved,
            LABEL,
            true,
            Some(format!("key ID {old} is already gone")),
        );
        return Ok(());
    }
    let object_id = app_json["id"].as_str().unwrap_or_default();
    let proof = match next_cert(run.ctx.store, &r, key).and_then(|c| sign_proof(&c, object_id)) {
        Ok(j) => j,
        Err(e) => {
            run.report.fail(
                "rotate.next_missing",
                format!("Signing the proof with the new certificate: {e}. {both}"),
                again,
            );
            return Err(());
        }
    };
    match run
        .ctx
        .client
        .post(
            &format!("/applications/{object_id}/removeKey"),
            &json!({"keyId": old, "proof": proof}),
        )
        .await
    {
        Ok(_) => {
            run.report.line(
                RotationState::OldRemoved,
                LABEL,
                true,
                Some(format!("key ID {old}")),
            );
            Ok(())
        }
        Err(e) => {
            run.report
                .line(RotationState::OldRemoved, LABEL, false, Some(e.to_string()));
            run.report.fail(
                e.code(),
                format!("Removing the old certificate (key ID {old}): {e}. {both}"),
                again,
            );
            Err(())
        }
    }
}

/// The old certificate is gone from Entra: the new .pfx and its password become current,
/// the profile records the new certificate, the rotation is recorded.
fn make_current(mut run: Run<'_, '_>, p: &mut Profile, key: &str) -> RotateReport {
    let Some(r) = p.rotation.clone() else {
        return run.finish(p);
    };
    // Read the new certificate while its password is still the next one; a finish run again
    // after the password moved reads it with the current one.
    let (info, promoted) = match next_cert(run.ctx.store, &r, key) {
        Ok(c) => (Some(c.info.clone()), false),
        Err(_) => {
            let moved = r.new_certificate_file.as_deref().and_then(|f| {
                let pw = run.ctx.store.current_password(key, r.app).ok()??;
                open_pfx(f, pw).ok()
            });
            (moved.map(|c| c.info.clone()), true)
        }
    };
    if info.is_none() {
        run.report.fail(
            "rotate.keychain",
            "Making the new certificate current: its .pfx cannot be opened with the next password from the keychain".into(),
            "The old certificate is already removed from Entra and the new .pfx is beside it: unlock the keychain and finish the rotation again.",
        );
        return run.finish(p);
    }
    if !promoted && let Err(e) = run.ctx.store.promote_password(key, r.app) {
        run.report.fail(
            "rotate.keychain",
            format!("Making the new .pfx password current in the keychain: {e}"),
            "The old certificate is already removed from Entra and the new password is in the keychain as the next one: unlock the keychain and finish the rotation again.",
        );
        return run.finish(p);
    }
    let now = run.now();
    let record = RotationRecord::of(&r, rules::RotationOutcome::Completed, now, None);
    rules::complete(p, now);
    if let Some(info) = &info {
        let meta = p.credential_of_mut(r.app);
        let file = meta.certificate_file.clone();
        certificate::record_certificate(meta, info);
        meta.certificate_file = file;
    }
    p.updated_at = Some(now);
    if let Err(e) = (run.ctx.save)(p) {
        run.report.fail("rotate.save", format!("the customer could not be saved: {e}"), "The rotation is done in Entra and the keychain; import the new .pfx in step 3 if the old one still shows.");
    }
    run.report.line(
        RotationState::Recorded,
        "Make the new certificate current, update the expiry and the reminder, record the rotation",
        true,
        record.expires_on.map(|d| {
            format!("expires {d}; the reminder (.ics, step 3 or `entra-onboard reminder`) follows the new date; the old .pfx is no longer used")
        }),
    );
    run.report.record = Some(record);
    run.finish(p)
}

async fn fail_and_roll_back(
    mut run: Run<'_, '_>,
    p: &mut Profile,
    key: &str,
    code: &str,
    message: String,
    fix: &str,
) -> RotateReport {
    run.report.fail(code, message.clone(), fix);
    undo(&mut run, p, key, &message).await;
    run.finish(p)
}

/// Rolls back a certificate rotation at the admin's request (see the parent's `roll_back`).
pub(super) async fn roll_back(
    p: &mut Profile,
    reason: &str,
    ctx: &mut RotateContext<'_>,
) -> Result<RotateReport, RotateError> {
    let key = profile_key(p)?;
    let Some(r) = &p.rotation else {
        return Err(RotateError::NothingInProgress);
    };
    let mut run = Run {
        log_start: ctx.client.sent().len(),
        ctx,
        report: empty_report(),
    };
    if !r.state.can_roll_back() {
        run.report.fail(
            "rotate.cannot_roll_back",
            format!("The rotation is at \"{}\": the old certificate is already removed from Entra, so there is nothing to go back to.", r.state.label()),
            "Finish it instead (entra-onboard rotate <profile> --finish, or \"Halo is updated\" in the app).",
        );
        return Ok(run.finish(p));
    }
    if !undo(&mut run, p, &key, reason).await {
        run.report.ok = false;
    }
    Ok(run.finish(p))
}

/// The rollback steps for the current state; true when all done (the rotation is then
/// recorded as rolled back and cleared). A step that fails keeps the rotation and says
/// what is left.
async fn undo(run: &mut Run<'_, '_>, p: &mut Profile, key: &str, reason: &str) -> bool {
    let Some(r) = p.rotation.clone() else {
        return true;
    };
    let mut all = true;
    for step in rules::rollback_steps(r.state) {
        match step {
            RollbackStep::RemoveNewFromEntra => {
                if let Err(why) = remove_new(run, p, key, &r).await {
                    all = false;
                    run.report.handover.push(why);
                }
            }
            RollbackStep::DeleteNextFromKeychain => {
                if let Err(e) = run.ctx.store.delete_next_password(key, r.app) {
                    all = false;
                    run.report.handover.push(format!(
                        "The new .pfx password is still in the keychain as the next one ({e}); roll back again once the keychain is unlocked."
                    ));
                } else {
                    delete_new_files(&r);
                    run.report.line(r.state, "Roll back: delete the new .pfx and its password from the keychain", true, None);
                }
            }
            RollbackStep::RestoreOldInHalo => run.report.handover.push(format!(
                "If you already switched Halo to the new certificate, point its connection back at the old one ({}): it is still on the app and current.",
                r.old_thumbprint.as_deref().unwrap_or("the one step 3 shows")
            )),
        }
    }
    // Stopped between writing the new .pfx and saving "stored": clean what may be there.
    if r.state == RotationState::NewAdded {
        let _ = run.ctx.store.delete_next_password(key, r.app);
        delete_new_files(&r);
    }
    if !all {
        return false;
    }
    let now = run.now();
    let record = RotationRecord::of(&r, rules::RotationOutcome::RolledBack, now, Some(reason));
    rules::rolled_back(p, now, reason);
    p.updated_at = Some(now);
    if let Err(e) = (run.ctx.save)(p) {
        run.report.handover.push(format!(
            "Rolled back in Entra and the keychain, but the customer could not be saved ({e}); the next start may show the rotation again: roll it back once more (safe to repeat)."
        ));
    }
    run.report.rolled_back = true;
    run.report.record = Some(record);
    true
}

/// Removes the rotation's new certificate from Entra: by its key ID, or — when the ID never
/// came back (interrupted at "planned") — by the thumbprint recorded before the request.
/// Never the old one. The proof is signed by the old certificate (still current), or by the
/// new one when the old cannot be read.
async fn remove_new(
    run: &mut Run<'_, '_>,
    p: &Profile,
    key: &str,
    r: &RotationInProgress,
) -> Result<(), String> {
    let left = |what: &str, why: &str| {
        format!(
            "The new certificate ({what}) may still be on the app: remove it under Certificates & secrets > Certificates in Entra, or roll back again ({why})."
        )
    };
    let what = r.new_thumbprint.clone().unwrap_or_else(|| r.secret_name());
    let app_json = match find_app(run.ctx.client, rules::client_id_of(p, r.app)).await {
        Ok(a) => a,
        Err(f) => return Err(left(&what, &f.message)),
    };
    let targets: Vec<String> = key_credentials(&app_json)
        .iter()
        .filter(|k| {
            r.new_key_id
                .as_deref()
                .is_some_and(|id| k["keyId"].as_str() == Some(id))
                || r.new_thumbprint
                    .as_deref()
                    .is_some_and(|t| is_certificate(k, t))
        })
        .filter(|k| {
            !r.old_thumbprint
                .as_deref()
                .is_some_and(|t| is_certificate(k, t))
        })
        .filter_map(|k| k["keyId"].as_str().map(str::to_string))
        .filter(|k| Some(k) != r.old_key_id.as_ref())
        .collect();
    if targets.is_empty() {
        run.report.line(
            r.state,
            "Roll back: the new certificate is not on the app",
            true,
            None,
        );
        return Ok(());
    }
    let object_id = app_json["id"].as_str().unwrap_or_default().to_string();
    let signer = current_cert(run.ctx.store, p, key, r.app)
        .or_else(|_| next_cert(run.ctx.store, r, key))
        .map_err(|e| left(&what, &format!("no certificate to sign the proof: {e}")))?;
    for k in targets {
        let proof = sign_proof(&signer, &object_id).map_err(|e| left(&what, &e))?;
        match run
            .ctx
            .client
            .post(
                &format!("/applications/{object_id}/removeKey"),
                &json!({"keyId": k, "proof": proof}),
            )
            .await
        {
            Ok(_) => run.report.line(
                r.state,
                "Roll back: remove the new certificate from Entra",
                true,
                Some(format!("key ID {k}")),
            ),
            Err(e) => return Err(left(&format!("key ID {k}"), &e.to_string())),
        }
    }
    Ok(())
}

/// The rotation's new .pfx password, for the desktop app to copy to the clipboard for Halo's
/// upload (never to the webview). Only while one is in progress and stored.
pub(super) fn next_password(
    keychain: &Keychain,
    p: &Profile,
) -> Result<Sensitive<String>, RotateError> {
    let r = p.rotation.as_ref().ok_or(RotateError::NothingInProgress)?;
    if r.state < RotationState::StoredAsNext {
        return Err(RotateError::Profile(
            "rotation: the new .pfx is not stored yet; roll this rotation back and rotate again"
                .into(),
        ));
    }
    let key = profile_key(p)?;
    NextSecretStore::next_password(keychain, &key, r.app)
        .map_err(RotateError::Profile)?
        .ok_or_else(|| {
            RotateError::Profile(
                "rotation: the new .pfx password is not in the keychain; roll this rotation back and rotate again".into(),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn a_lifetime_cap_shortens_the_certificate_in_whole_months_or_stops() {
        let now = t("2026-01-10T00:00:00Z");
        assert_eq!(capped_months(now, 12, None).unwrap(), (12, None));
        assert_eq!(capped_months(now, 99, None).unwrap().0, 24);
        let cap = ("P90D (the tenant's default)".to_string(), 90);
        let (m, note) = capped_months(now, 12, Some(&cap)).unwrap();
        assert_eq!(m, 2, "two months fit in 89 days, three do not");
        assert!(note.unwrap().contains("P90D"));
        let tiny = ("P20D".to_string(), 20);
        assert!(
            capped_months(now, 12, Some(&tiny))
                .unwrap_err()
                .contains("P20D")
        );
    }

    #[test]
    fn the_key_policy_is_read_from_the_assigned_policy_first() {
        let default = json!({"isEnabled": true, "applicationRestrictions": {"keyCredentials": [
            {"restrictionType": "asymmetricKeyLifetime", "maxLifetime": "P180D", "state": "enabled"}
        ]}});
        let created = t("2026-01-10T00:00:00Z");
        assert_eq!(key_policy(&default, &[], created).unwrap().1, 180);
        let assigned = json!({"displayName": "short", "restrictions": {"keyCredentials": [
            {"restrictionType": "asymmetricKeyLifetime", "maxLifetime": "P30D"}
        ]}});
        let (iso, days) = key_policy(&default, &[assigned], created).unwrap();
        assert_eq!(days, 30);
        assert!(iso.contains("\"short\""));
        let off = json!({"isEnabled": false});
        assert!(key_policy(&off, &[], created).is_none());
    }

    #[test]
    fn a_key_is_matched_by_its_thumbprint_as_hex_or_base64() {
        let hex = "0A1B2C";
        assert!(is_certificate(
            &json!({"customKeyIdentifier": "0a1b2c"}),
            hex
        ));
        assert!(is_certificate(&json!({"customKeyIdentifier": "Chss"}), hex));
        assert!(!is_certificate(
            &json!({"customKeyIdentifier": "FFFF"}),
            hex
        ));
        assert!(!is_certificate(&json!({}), hex));
    }
}
