//! The shell owns the evidence.
//!
//! A profile mixes two kinds of field. Most are *typed*: the admin may set them to anything
//! (and the webview autosaves them as typed). A few are *evidence*: they say that something
//! happened outside the wizard, and only the engine, having seen it happen, may write them:
//!
//! - `verified`: an SSO test passed ([`SeenPasses`] holds the passes the engine produced);
//! - `last_test`: the outcome of the last SSO test, pass or fail ([`record_test`]);
//! - `admin_consent` and each `customer_tenants[i].consent`: Entra answered a consent
//!   request ([`crate::steps::consent_capture::record_consent`], from an answer the
//!   loopback listener parsed);
//! - `credential.certificate_file`: the path of a .pfx the engine itself kept or wrote (a
//!   path from the webview could point the SSO test at any file).
//!
//! Everything the webview sends goes through [`from_ui`] (or [`save_from_ui`]): the stored
//! copy's evidence wins whatever the webview sent, and a profile the store does not know
//! yet starts with none. "Save as verified" ([`mark_verified`]) needs the id of a pass the
//! engine recorded in this process; a pass counts once, for the profile it was produced
//! for, and only while that profile's sign-in settings are the ones that were tested.
//!
//! Deliberately left out: passes do not survive a restart (they live in memory; run the
//! test again), and there is no history of tests — the profile keeps the last pass and the
//! last outcome only. The webview can still *remove* a customer tenant row (that is typed data); it cannot
//! give a row a consent it did not get.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use crate::cloud::Cloud;
use crate::profile::{
    ConsentRecord, CredentialKind, LastTest, Profile, ProfileError, ProfileStore, TenantType,
    Verification,
};
use crate::sso_test::SsoReport;
use crate::steps::tenants::tenant_key;

/// `incoming` (from the webview) with `stored`'s evidence: `verified`, `admin_consent`,
/// each customer tenant's consent record (matched by tenant) and the certificate file.
/// Every typed field is `incoming`'s. A customer tenant row the stored copy does not have
/// starts with no consent recorded.
pub fn merge_from_ui(stored: &Profile, incoming: Profile) -> Profile {
    let mut p = incoming;
    p.verified = stored.verified.clone();
    p.last_test = stored.last_test.clone();
    p.admin_consent = stored.admin_consent.clone();
    // A rotation's state and history are written by the engine as it rotates, never typed.
    p.rotation = stored.rotation.clone();
    p.rotations = stored.rotations.clone();
    p.credential.certificate_file = stored.credential.certificate_file.clone();
    // CSP's Partner Center app's certificate file, likewise: only an engine call sets it.
    p.partner_center.credential.certificate_file =
        stored.partner_center.credential.certificate_file.clone();
    let records: HashMap<String, &ConsentRecord> = stored
        .customer_tenants
        .iter()
        .map(|t| (tenant_key(&t.tenant), &t.consent))
        .collect();
    for row in &mut p.customer_tenants {
        row.consent = records
            .get(&tenant_key(&row.tenant))
            .map(|r| (*r).clone())
            .unwrap_or_default();
    }
    p
}

/// `incoming` with no evidence at all: what a profile the store has never seen may hold.
pub fn without_evidence(incoming: Profile) -> Profile {
    merge_from_ui(&Profile::default(), incoming)
}

/// The profile a webview sent, made safe to act on and to save: its typed fields with the
/// stored copy's evidence ([`merge_from_ui`]). A profile not in the store yet (or whose
/// file no longer parses, so its evidence cannot be trusted) keeps no evidence. Any other
/// store failure (a bad id, an unreadable folder, a file from a newer app) is returned.
pub fn from_ui(store: &ProfileStore, incoming: Profile) -> Result<Profile, ProfileError> {
    if incoming.id.is_empty() {
        return Ok(without_evidence(incoming));
    }
    match store.load(&incoming.id) {
        Ok(stored) => Ok(merge_from_ui(&stored, incoming)),
        Err(ProfileError::NotFound(_) | ProfileError::Parse(_)) => Ok(without_evidence(incoming)),
        Err(e) => Err(e),
    }
}

/// [`from_ui`], then saves: the desktop's "save the profile as typed".
/// No other save of the store comes between reading the evidence and writing it back.
pub fn save_from_ui(store: &ProfileStore, incoming: Profile) -> Result<Profile, ProfileError> {
    update_from_ui(store, incoming, |_| Ok(())).map(|(p, ())| p)
}

/// [`from_ui`], `change`, then saves, with no other save of the store in between: for the
/// commands that act on the webview's profile and record the result (store a secret,
/// import tenants, record a consent). `change` should be quick: every save of the store
/// waits for it. Nothing is saved when it fails.
pub fn update_from_ui<T, E>(
    store: &ProfileStore,
    incoming: Profile,
    change: impl FnOnce(&mut Profile) -> Result<T, E>,
) -> Result<(Profile, T), E>
where
    E: From<ProfileError>,
{
    let held = store.hold_writes();
    let mut p = from_ui(store, incoming)?;
    let out = change(&mut p)?;
    Ok((held.save(&p)?, out))
}

/// "Save as verified": the webview's profile ([`from_ui`]) with `verified` set from the
/// pass `pass_id` that [`SeenPasses::record`] handed out, consumed by this call. Saved.
pub fn mark_verified(
    store: &ProfileStore,
    passes: &SeenPasses,
    incoming: Profile,
    pass_id: &str,
) -> Result<Profile, EvidenceError> {
    let held = store.hold_writes();
    let mut p = from_ui(store, incoming)?;
    let (id, pass) = passes.take_entry(&p, pass_id)?;
    p.verified = Some(pass.verification.clone());
    match held.save(&p) {
        Ok(saved) => Ok(saved),
        Err(e) => {
            // Nothing was recorded: the pass is still good for another try.
            passes.put_back(id, pass);
            Err(e.into())
        }
    }
}

/// What [`record_test`] did.
#[derive(Debug)]
pub struct RecordedTest {
    /// The stored profile (`last_test` set, and `verified` too when the test passed), or why
    /// it could not be saved.
    pub saved: Result<Profile, EvidenceError>,
    /// The id of a pass that is still open because the save failed: "Save as verified" can
    /// try again with it. `None` when the test failed or its pass was recorded.
    pub open_pass: Option<String>,
}

/// The outcome of an SSO test the engine ran on `tested` (the webview's profile, as sent
/// to the test), recorded and saved as part of the test's result: `last_test` always, and
/// — the rule that makes "Save as verified" part of a passing test rather than a click of
/// its own — `verified` when the test passed. The pass goes through [`SeenPasses`] as
/// "Save as verified" takes it, so the same checks apply (this profile, these settings,
/// once). Typed fields are saved as sent, with the stored evidence ([`from_ui`]).
pub fn record_test(
    store: &ProfileStore,
    passes: &SeenPasses,
    tested: Profile,
    report: &SsoReport,
    now: chrono::DateTime<chrono::Utc>,
) -> RecordedTest {
    let pass_id = passes.record(&tested, report);
    let failed = |e: EvidenceError, open_pass: Option<String>| RecordedTest {
        saved: Err(e),
        open_pass,
    };
    let held = store.hold_writes();
    let mut p = match from_ui(store, tested) {
        Ok(p) => p,
        Err(e) => return failed(e.into(), pass_id),
    };
    let error = report.error.as_ref();
    // A test the admin cancelled (or left the screen of) proved nothing either way: the
    // last real outcome stays.
    if error.is_none_or(|e| e.code != crate::sso_test::CANCELLED_CODE) {
        p.last_test = Some(LastTest::new(
            report.ok,
            report.tested_at.unwrap_or(now),
            error.map(|e| e.code.as_str()),
            error.map(|e| e.message.as_str()),
        ));
    }
    let taken = match &pass_id {
        Some(id) => match passes.take_entry(&p, id) {
            Ok(entry) => Some(entry),
            // Cannot happen for the profile just tested; reported, not hidden.
            Err(e) => return failed(e, None),
        },
        None => None,
    };
    if let Some((_, pass)) = &taken {
        p.verified = Some(pass.verification.clone());
    }
    match held.save(&p) {
        Ok(profile) => RecordedTest {
            saved: Ok(profile),
            open_pass: None,
        },
        Err(e) => {
            // Nothing was recorded: the pass is still good for "Save as verified".
            let open_pass = taken.map(|(id, pass)| {
                passes.put_back(id.clone(), pass);
                id
            });
            failed(e.into(), open_pass)
        }
    }
}

/// Why a pass cannot verify this profile.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EvidenceError {
    /// No pass with that id was produced in this session.
    #[error(
        "there is no passing SSO test with that id in this session (passes are kept in memory until the app closes); run the SSO test in Test & save, then \"Save as verified\" from its report"
    )]
    NoPass,
    /// The pass was already used.
    #[error(
        "this passing SSO test was already used to save \"verified\"; a pass counts once: run the SSO test again to verify again"
    )]
    PassUsed,
    /// A later test ran for the same customer.
    #[error(
        "a later SSO test ran for this customer since this one passed; \"Save as verified\" from the latest test's report (run it again if it did not pass)"
    )]
    Superseded,
    /// The pass was for another customer.
    #[error(
        "this passing SSO test was for another customer; run the SSO test for this customer, then \"Save as verified\""
    )]
    OtherProfile,
    /// The sign-in settings changed since the test.
    #[error(
        "the customer's sign-in settings changed since the test passed ({fields}); run the SSO test again with the settings as they are now"
    )]
    Changed {
        /// The profile fields that differ, e.g. `tenant_id, client_id`.
        fields: String,
    },
    /// Loading or saving the profile failed.
    #[error(transparent)]
    Profile(#[from] ProfileError),
}

impl EvidenceError {
    /// Stable code for the UI.
    pub fn code(&self) -> &'static str {
        match self {
            EvidenceError::NoPass => "sso_test.no_pass",
            EvidenceError::PassUsed => "sso_test.pass_used",
            EvidenceError::Superseded => "sso_test.pass_superseded",
            EvidenceError::OtherProfile => "sso_test.pass_other_profile",
            EvidenceError::Changed { .. } => "sso_test.pass_stale",
            EvidenceError::Profile(e) => e.code(),
        }
    }
}

/// What an SSO test proved: the settings it signed in with. "Save as verified" compares
/// them with the profile being saved.
#[derive(Debug, Clone, PartialEq)]
struct Tested {
    cloud: Cloud,
    authority: Option<String>,
    tenant_type: TenantType,
    tenant_id: String,
    client_id: String,
    allowed_tenants: Vec<String>,
    credential_kind: CredentialKind,
    secret_hint: Option<String>,
    thumbprint_sha256: Option<String>,
}

impl Tested {
    fn of(p: &Profile) -> Tested {
        Tested {
            cloud: p.cloud,
            authority: p.authority.clone(),
            tenant_type: p.tenant_type,
            tenant_id: p.tenant_id.clone(),
            client_id: p.client_id.clone(),
            allowed_tenants: p.allowed_tenants.clone(),
            credential_kind: p.credential.kind,
            secret_hint: p.credential.secret_hint.clone(),
            thumbprint_sha256: p.credential.thumbprint_sha256.clone(),
        }
    }

    /// The profile fields that differ from `other`, by their profile names.
    fn changed(&self, other: &Tested) -> Vec<&'static str> {
        let mut out = Vec::new();
        let mut diff = |same: bool, field| {
            if !same {
                out.push(field);
            }
        };
        diff(self.cloud == other.cloud, "cloud");
        diff(self.authority == other.authority, "authority");
        diff(self.tenant_type == other.tenant_type, "tenant_type");
        diff(self.tenant_id == other.tenant_id, "tenant_id");
        diff(self.client_id == other.client_id, "client_id");
        diff(
            self.allowed_tenants == other.allowed_tenants,
            "allowed_tenants",
        );
        diff(
            self.credential_kind == other.credential_kind,
            "credential.kind",
        );
        diff(
            self.secret_hint == other.secret_hint,
            "credential.secret_hint",
        );
        diff(
            self.thumbprint_sha256 == other.thumbprint_sha256,
            "credential.thumbprint_sha256",
        );
        out
    }
}

/// A pass the engine produced and nobody used yet.
#[derive(Debug, Clone)]
struct Pass {
    profile_id: String,
    tested: Tested,
    verification: Verification,
}

/// Why a pass id is no longer open.
#[derive(Debug, Clone, Copy)]
enum Retired {
    Used,
    Superseded,
}

/// How many retired pass ids are remembered (for a precise error); older ones are simply
/// unknown.
const RETIRED_KEPT: usize = 256;

#[derive(Debug, Default)]
struct Passes {
    open: HashMap<String, Pass>,
    retired: VecDeque<(String, Retired)>,
}

impl Passes {
    fn retire(&mut self, id: String, why: Retired) {
        if self.retired.len() >= RETIRED_KEPT {
            self.retired.pop_front();
        }
        self.retired.push_back((id, why));
    }
}

/// The SSO test passes of this session, held by the shell: recorded from a report the
/// engine produced ([`Self::record`]), taken once by [`mark_verified`].
#[derive(Debug, Default)]
pub struct SeenPasses {
    inner: Mutex<Passes>,
}

impl SeenPasses {
    /// An empty store.
    pub fn new() -> SeenPasses {
        SeenPasses::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Passes> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records the outcome of an SSO test the engine ran on `tested`. Any earlier unused
    /// pass of the same profile is retired (the latest test is the one that counts, so a
    /// failed test cannot be followed by saving an older pass). When `report` passed, returns
    /// the new pass's id (random, 128 bits) for "Save as verified".
    pub fn record(&self, tested: &Profile, report: &SsoReport) -> Option<String> {
        let mut passes = self.lock();
        let earlier: Vec<String> = passes
            .open
            .iter()
            .filter(|(_, p)| p.profile_id == tested.id)
            .map(|(id, _)| id.clone())
            .collect();
        for id in earlier {
            passes.open.remove(&id);
            passes.retire(id, Retired::Superseded);
        }
        let verification = report.verification()?;
        let id = uuid::Uuid::new_v4().simple().to_string();
        passes.open.insert(
            id.clone(),
            Pass {
                profile_id: tested.id.clone(),
                tested: Tested::of(tested),
                verification,
            },
        );
        Some(id)
    }

    /// Consumes the pass `pass_id` for `profile` and returns what it verified. Refused —
    /// and left unconsumed — when it was produced for another profile or for other
    /// sign-in settings; refused when it was used or superseded already.
    pub fn take(&self, profile: &Profile, pass_id: &str) -> Result<Verification, EvidenceError> {
        self.take_entry(profile, pass_id)
            .map(|(_, p)| p.verification)
    }

    fn take_entry(
        &self,
        profile: &Profile,
        pass_id: &str,
    ) -> Result<(String, Pass), EvidenceError> {
        let mut passes = self.lock();
        let Some(pass) = passes.open.get(pass_id) else {
            return Err(match passes.retired.iter().find(|(id, _)| id == pass_id) {
                Some((_, Retired::Used)) => EvidenceError::PassUsed,
                Some((_, Retired::Superseded)) => EvidenceError::Superseded,
                None => EvidenceError::NoPass,
            });
        };
        if pass.profile_id != profile.id {
            return Err(EvidenceError::OtherProfile);
        }
        let changed = pass.tested.changed(&Tested::of(profile));
        if !changed.is_empty() {
            return Err(EvidenceError::Changed {
                fields: changed.join(", "),
            });
        }
        let id = pass_id.to_string();
        let pass = passes
            .open
            .remove(&id)
            .expect("found above, under the same lock");
        passes.retire(id.clone(), Retired::Used);
        Ok((id, pass))
    }

    /// Reopens a pass whose save failed.
    fn put_back(&self, id: String, pass: Pass) {
        let mut passes = self.lock();
        passes.retired.retain(|(r, _)| *r != id);
        passes.open.insert(id, pass);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::{ConsentStatus, CustomerTenant};

    const T1: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";

    fn consented() -> ConsentRecord {
        ConsentRecord {
            status: ConsentStatus::Consented,
            at: Some(chrono::Utc::now()),
            ..ConsentRecord::default()
        }
    }

    fn verification(who: &str) -> Verification {
        Verification {
            verified_at: chrono::Utc::now(),
            signed_in_as: Some(who.into()),
        }
    }

    /// A passing report, as the SSO test produces it.
    fn passing_report(who: &str) -> SsoReport {
        use crate::sso_test::{Check, ClaimsSummary, Mfa};
        SsoReport {
            ok: true,
            checks: vec![Check {
                id: "callback".into(),
                ok: true,
                detail: "ok".into(),
            }],
            claims: Some(ClaimsSummary {
                name: None,
                preferred_username: Some(who.into()),
                oid: None,
                tid: T1.into(),
                amr: None,
                mfa: Mfa::NotVisible,
                roles: Vec::new(),
            }),
            tested_at: Some(chrono::Utc::now()),
            ..SsoReport::default()
        }
    }

    fn failing_report() -> SsoReport {
        let mut r = passing_report("x");
        r.ok = false;
        r
    }

    fn customer() -> Profile {
        let mut p = Profile::new("Acme");
        p.tenant_id = T1.into();
        p.client_id = "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9".into();
        p
    }

    #[test]
    fn stored_evidence_survives_a_hostile_save() {
        let dir = tempfile::tempdir().unwrap();
        let store = ProfileStore::at(dir.path());
        let mut stored = customer();
        stored.customer_tenants = vec![
            CustomerTenant {
                tenant: "contoso.onmicrosoft.com".into(),
                name: None,
                consent: consented(),
            },
            CustomerTenant {
                tenant: "fabrikam.onmicrosoft.com".into(),
                name: None,
                consent: ConsentRecord::default(),
            },
        ];
        stored.credential.certificate_file = Some("/home/a/kept.pfx".into());
        let stored = store.save(&stored).unwrap();

        // The webview claims a pass, a consent and a consented row it never got, points
        // the certificate at another file, revokes a real consent and edits a typed field.
        let mut hostile = stored.clone();
        hostile.name = "Acme (renamed)".into();
        hostile.verified = Some(verification("mallory@evil.example"));
        hostile.admin_consent = Some(consented());
        hostile.customer_tenants[0].consent = ConsentRecord::default();
        hostile.customer_tenants[1].consent = consented();
        hostile.customer_tenants.push(CustomerTenant {
            tenant: "new.onmicrosoft.com".into(),
            name: Some("New".into()),
            consent: consented(),
        });
        hostile.credential.certificate_file = Some("/etc/shadow".into());
        hostile.partner_center.credential.certificate_file = Some("/etc/shadow".into());

        let saved = save_from_ui(&store, hostile).unwrap();
        assert_eq!(
            saved.name, "Acme (renamed)",
            "typed fields are the webview's"
        );
        assert_eq!(saved.verified, None);
        assert_eq!(saved.admin_consent, None);
        assert_eq!(
            saved.customer_tenants[0].consent, stored.customer_tenants[0].consent,
            "a real consent cannot be revoked from the webview"
        );
        assert_eq!(saved.customer_tenants[1].consent, ConsentRecord::default());
        assert_eq!(saved.customer_tenants[2].tenant, "new.onmicrosoft.com");
        assert_eq!(saved.customer_tenants[2].consent, ConsentRecord::default());
        assert_eq!(
            saved.credential.certificate_file.as_deref(),
            Some("/home/a/kept.pfx")
        );
        assert_eq!(
            saved.partner_center.credential.certificate_file, None,
            "the Partner Center app's certificate path cannot come from the webview either"
        );
        assert_eq!(store.load(&stored.id).unwrap(), saved);
    }

    #[test]
    fn an_autosave_during_an_engine_save_never_writes_back_older_evidence() {
        // The engine is recording evidence (a rotation step, a consent, a pass) while the
        // webview autosaves a typed edit. The autosave reads the stored evidence, merges and
        // writes: it must wait for the engine's write, or it writes the older evidence
        // back after it.
        let dir = tempfile::tempdir().unwrap();
        let store = ProfileStore::at(dir.path());
        let mut p = customer();
        p.verified = Some(verification("before@acme.example"));
        let p = store.save(&p).unwrap();
        let mut typed = p.clone();
        typed.name = "Acme (typed during the engine's save)".into();
        typed.verified = None;

        let held = store.hold_writes();
        let webview = store.clone();
        let autosave = std::thread::spawn(move || save_from_ui(&webview, typed).unwrap());
        std::thread::sleep(std::time::Duration::from_millis(300));
        assert_eq!(
            store.load(&p.id).unwrap(),
            p,
            "the autosave wrote while the engine held the store"
        );
        let mut engine = p.clone();
        engine.verified = Some(verification("after@acme.example"));
        held.save(&engine).unwrap();
        drop(held);
        let saved = autosave.join().unwrap();

        let on_disk = store.load(&p.id).unwrap();
        assert_eq!(on_disk, saved);
        assert_eq!(on_disk.name, "Acme (typed during the engine's save)");
        assert_eq!(
            on_disk.verified.and_then(|v| v.signed_in_as).as_deref(),
            Some("after@acme.example"),
            "the engine's evidence survives the autosave"
        );
    }

    #[test]
    fn update_from_ui_keeps_the_evidence_and_saves_nothing_when_the_change_fails() {
        let dir = tempfile::tempdir().unwrap();
        let store = ProfileStore::at(dir.path());
        let mut stored = customer();
        stored.admin_consent = Some(consented());
        let stored = store.save(&stored).unwrap();
        let mut incoming = stored.clone();
        incoming.admin_consent = None;
        incoming.name = "Acme (typed)".into();

        let refused: Result<(Profile, ()), ProfileError> =
            update_from_ui(&store, incoming.clone(), |p| {
                p.name = "half-done".into();
                Err(ProfileError::NotFound("x".into()))
            });
        assert!(refused.is_err());
        assert_eq!(store.load(&stored.id).unwrap(), stored, "nothing saved");

        let (saved, n) =
            update_from_ui(&store, incoming, |p| Ok::<_, ProfileError>(p.name.len())).unwrap();
        assert_eq!(n, "Acme (typed)".len(), "the change saw the typed fields");
        assert_eq!(saved.admin_consent, stored.admin_consent, "evidence kept");
        assert_eq!(store.load(&stored.id).unwrap(), saved);
    }

    #[test]
    fn stored_verification_and_consent_are_kept_when_the_webview_drops_them() {
        let dir = tempfile::tempdir().unwrap();
        let store = ProfileStore::at(dir.path());
        let mut stored = customer();
        stored.verified = Some(verification("alice@acme.example"));
        stored.admin_consent = Some(consented());
        let stored = store.save(&stored).unwrap();
        let mut stale = stored.clone();
        stale.verified = None;
        stale.admin_consent = None;
        let saved = save_from_ui(&store, stale).unwrap();
        assert_eq!(saved.verified, stored.verified);
        assert_eq!(saved.admin_consent, stored.admin_consent);
    }

    #[test]
    fn a_profile_the_store_does_not_know_starts_without_evidence() {
        let dir = tempfile::tempdir().unwrap();
        let store = ProfileStore::at(dir.path());
        let mut p = customer();
        p.verified = Some(verification("mallory@evil.example"));
        p.admin_consent = Some(consented());
        p.credential.certificate_file = Some("/etc/shadow".into());
        p.partner_center.credential.certificate_file = Some("/etc/shadow".into());
        let saved = save_from_ui(&store, p.clone()).unwrap();
        assert_eq!(saved.verified, None);
        assert_eq!(saved.admin_consent, None);
        assert_eq!(saved.credential.certificate_file, None);
        assert_eq!(saved.partner_center.credential.certificate_file, None);
        assert_eq!(saved.id, p.id);

        // Same with no id at all (the store gives it one).
        p.id.clear();
        let saved = save_from_ui(&store, p).unwrap();
        assert!(!saved.id.is_empty());
        assert_eq!(saved.verified, None);
    }

    #[test]
    fn a_bad_id_is_refused_not_saved() {
        let dir = tempfile::tempdir().unwrap();
        let store = ProfileStore::at(dir.path());
        let mut p = customer();
        p.id = "../../escape".into();
        assert!(matches!(
            save_from_ui(&store, p),
            Err(ProfileError::BadId(_))
        ));
    }

    #[test]
    fn a_pass_is_consumed_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = ProfileStore::at(dir.path());
        let passes = SeenPasses::new();
        let p = store.save(&customer()).unwrap();
        let id = passes
            .record(&p, &passing_report("alice@acme.example"))
            .unwrap();

        let saved = mark_verified(&store, &passes, p.clone(), &id).unwrap();
        assert_eq!(
            saved
                .verified
                .as_ref()
                .and_then(|v| v.signed_in_as.as_deref()),
            Some("alice@acme.example")
        );
        let again = mark_verified(&store, &passes, p.clone(), &id).unwrap_err();
        assert!(matches!(again, EvidenceError::PassUsed), "{again}");
        assert_eq!(again.code(), "sso_test.pass_used");
        assert!(again.to_string().contains("run the SSO test again"));
    }

    #[test]
    fn an_invented_pass_id_verifies_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = ProfileStore::at(dir.path());
        let passes = SeenPasses::new();
        let p = store.save(&customer()).unwrap();
        let e = mark_verified(&store, &passes, p.clone(), "0123456789abcdef").unwrap_err();
        assert!(matches!(e, EvidenceError::NoPass), "{e}");
        assert_eq!(store.load(&p.id).unwrap().verified, None);
    }

    #[test]
    fn a_failed_test_produces_no_pass() {
        let passes = SeenPasses::new();
        assert_eq!(passes.record(&customer(), &failing_report()), None);
    }

    #[test]
    fn a_pass_for_profile_a_cannot_verify_b() {
        let dir = tempfile::tempdir().unwrap();
        let store = ProfileStore::at(dir.path());
        let passes = SeenPasses::new();
        let a = store.save(&customer()).unwrap();
        // B is a copy of A's settings under another id: only the id differs.
        let mut b = a.clone();
        b.id = uuid::Uuid::new_v4().to_string();
        let b = store.save(&b).unwrap();
        let id = passes
            .record(&a, &passing_report("alice@acme.example"))
            .unwrap();

        let e = mark_verified(&store, &passes, b.clone(), &id).unwrap_err();
        assert!(matches!(e, EvidenceError::OtherProfile), "{e}");
        assert_eq!(store.load(&b.id).unwrap().verified, None);
        // Refusing B did not spend A's pass.
        assert!(mark_verified(&store, &passes, a, &id).is_ok());
    }

    #[test]
    fn a_pass_does_not_verify_settings_that_were_not_tested() {
        let dir = tempfile::tempdir().unwrap();
        let store = ProfileStore::at(dir.path());
        let passes = SeenPasses::new();
        let p = store.save(&customer()).unwrap();
        let id = passes
            .record(&p, &passing_report("alice@acme.example"))
            .unwrap();
        let mut changed = p.clone();
        changed.tenant_id = "contoso.onmicrosoft.com".into();
        changed.authority = Some("http://127.0.0.1:9".into());
        let e = mark_verified(&store, &passes, changed, &id).unwrap_err();
        assert!(matches!(e, EvidenceError::Changed { .. }), "{e}");
        assert!(e.to_string().contains("authority, tenant_id"), "{e}");
        assert_eq!(e.code(), "sso_test.pass_stale");
        // A typed field the test does not depend on may change.
        let mut renamed = p.clone();
        renamed.name = "Acme Ltd".into();
        assert!(mark_verified(&store, &passes, renamed, &id).is_ok());
    }

    #[test]
    fn a_later_test_retires_an_unused_pass() {
        let dir = tempfile::tempdir().unwrap();
        let store = ProfileStore::at(dir.path());
        let passes = SeenPasses::new();
        let p = store.save(&customer()).unwrap();
        let first = passes
            .record(&p, &passing_report("alice@acme.example"))
            .unwrap();
        // The next test fails: the earlier pass can no longer be saved.
        assert_eq!(passes.record(&p, &failing_report()), None);
        let e = mark_verified(&store, &passes, p.clone(), &first).unwrap_err();
        assert!(matches!(e, EvidenceError::Superseded), "{e}");
        // Another customer's test does not retire this one's pass.
        let second = passes
            .record(&p, &passing_report("alice@acme.example"))
            .unwrap();
        assert_ne!(first, second);
        passes.record(&customer(), &passing_report("bob@other.example"));
        assert!(passes.take(&p, &second).is_ok());
    }

    #[test]
    fn a_pass_put_back_after_a_failed_save_is_usable_again() {
        // (A failing save cannot be staged portably here: tests may run as root.)
        let passes = SeenPasses::new();
        let p = customer();
        let id = passes
            .record(&p, &passing_report("alice@acme.example"))
            .unwrap();
        let (taken, pass) = passes.take_entry(&p, &id).unwrap();
        assert!(matches!(passes.take(&p, &id), Err(EvidenceError::PassUsed)));
        passes.put_back(taken, pass);
        assert!(passes.take(&p, &id).is_ok());
        assert!(matches!(passes.take(&p, &id), Err(EvidenceError::PassUsed)));
    }

    fn report_failing_with(code: &str, message: &str) -> SsoReport {
        let mut r = failing_report();
        r.error = Some(crate::sso_test::ReportError {
            code: code.into(),
            message: message.into(),
            fix: "Grant admin consent in step 4.".into(),
            step: Some(4),
        });
        r
    }

    #[test]
    fn a_passing_test_saves_the_customer_as_verified_with_its_outcome() {
        let dir = tempfile::tempdir().unwrap();
        let store = ProfileStore::at(dir.path());
        let stored = store.save(&customer()).unwrap();
        let passes = SeenPasses::new();
        let mut tested = stored.clone();
        tested.name = "Acme (typed during the test)".into();

        let r = record_test(
            &store,
            &passes,
            tested,
            &passing_report("alice@acme.example"),
            chrono::Utc::now(),
        );
        let saved = r.saved.unwrap();
        assert_eq!(r.open_pass, None, "the pass is spent by the save");
        assert_eq!(
            saved.verified.as_ref().unwrap().signed_in_as.as_deref(),
            Some("alice@acme.example")
        );
        let last = saved.last_test.clone().unwrap();
        assert!(last.ok);
        assert_eq!((last.code, last.reason), (None, None));
        assert_eq!(saved.name, "Acme (typed during the test)");
        assert_eq!(store.load(&stored.id).unwrap(), saved);

        // The webview's next autosave, holding neither, cannot drop them.
        let mut stale = saved.clone();
        stale.verified = None;
        stale.last_test = None;
        let again = save_from_ui(&store, stale).unwrap();
        assert_eq!(again.verified, saved.verified);
        assert_eq!(again.last_test, saved.last_test);
    }

    #[test]
    fn a_failing_test_is_recorded_with_a_one_line_reason_and_keeps_the_earlier_pass() {
        let dir = tempfile::tempdir().unwrap();
        let store = ProfileStore::at(dir.path());
        let mut stored = customer();
        stored.verified = Some(verification("alice@acme.example"));
        let stored = store.save(&stored).unwrap();
        let passes = SeenPasses::new();
        let long = format!(
            "  The app needs admin consent.\nTrace ID: 0000\n{}",
            "x".repeat(10)
        );
        let r = record_test(
            &store,
            &passes,
            stored.clone(),
            &report_failing_with("AADSTS65001", &long),
            chrono::Utc::now(),
        );
        let saved = r.saved.unwrap();
        assert_eq!(r.open_pass, None);
        let last = saved.last_test.unwrap();
        assert!(!last.ok);
        assert_eq!(last.code.as_deref(), Some("AADSTS65001"));
        assert_eq!(last.reason.as_deref(), Some("The app needs admin consent."));
        assert_eq!(
            saved.verified, stored.verified,
            "a failure does not erase the pass"
        );
    }

    #[test]
    fn a_cancelled_test_leaves_the_last_outcome_alone() {
        let dir = tempfile::tempdir().unwrap();
        let store = ProfileStore::at(dir.path());
        let stored = store.save(&customer()).unwrap();
        let passes = SeenPasses::new();
        let first = record_test(
            &store,
            &passes,
            stored.clone(),
            &report_failing_with("AADSTS65001", "needs consent"),
            chrono::Utc::now(),
        );
        let before = first.saved.unwrap().last_test;
        let r = record_test(
            &store,
            &passes,
            stored,
            &report_failing_with(crate::sso_test::CANCELLED_CODE, "The test was cancelled."),
            chrono::Utc::now(),
        );
        assert_eq!(r.saved.unwrap().last_test, before);
    }

    #[test]
    fn a_long_reason_is_cut_to_the_limit() {
        let at = chrono::Utc::now();
        let t = LastTest::new(false, at, Some("x"), Some(&"é".repeat(500)));
        let reason = t.reason.unwrap();
        assert_eq!(reason.chars().count(), LastTest::REASON_MAX);
        assert!(reason.ends_with('…'));
        let blank = LastTest::new(false, at, Some(" "), Some("\n \n"));
        assert_eq!((blank.code, blank.reason), (None, None));
    }

    #[test]
    fn the_webview_cannot_claim_a_last_test() {
        let dir = tempfile::tempdir().unwrap();
        let store = ProfileStore::at(dir.path());
        let stored = store.save(&customer()).unwrap();
        let mut hostile = stored.clone();
        hostile.last_test = Some(LastTest::new(true, chrono::Utc::now(), None, None));
        assert_eq!(save_from_ui(&store, hostile).unwrap().last_test, None);
    }

    #[test]
    fn a_pass_whose_save_failed_stays_open_for_save_as_verified() {
        // A store whose folder is a file: loading fails (even as root), nothing is saved.
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("not-a-folder");
        std::fs::write(&file, b"x").unwrap();
        let broken = ProfileStore::at(&file);
        let passes = SeenPasses::new();
        let p = customer();
        let r = record_test(
            &broken,
            &passes,
            p.clone(),
            &passing_report("alice@acme.example"),
            chrono::Utc::now(),
        );
        assert!(r.saved.is_err());
        let open = r.open_pass.expect("the pass stays open");
        let good = ProfileStore::at(dir.path().join("profiles"));
        let saved = mark_verified(&good, &passes, p, &open).unwrap();
        assert!(saved.verified.is_some());
        // A failed test whose save failed leaves nothing open.
        let r = record_test(
            &broken,
            &passes,
            customer(),
            &failing_report(),
            chrono::Utc::now(),
        );
        assert!(r.saved.is_err());
        assert_eq!(r.open_pass, None);
    }
}
