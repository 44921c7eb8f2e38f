//! The keychain against the REAL Secret Service (no mock). They fail, on purpose, without a
//! D-Bus session; run them as:
//!
//! ```sh
//! dbus-run-session -- bash -c 'export XDG_DATA_HOME=$(mktemp -d); echo -n test | gnome-keyring-daemon --unlock --components=secrets >/dev/null; cargo test -p entra-onboard-engine --test keychain; cargo test -p entra-onboard --test cli_secret'
//! ```
//!
//! (`XDG_DATA_HOME` keeps the test keyring out of the home folder.) Every test uses its own
//! service name, so nothing here touches the app's real entries.

use std::path::Path;
use std::process::Command;

use entra_onboard_engine::ids::Sensitive;
use entra_onboard_engine::keychain::{Keychain, KeychainError};

const RUN_UNDER: &str = "dbus-run-session -- bash -c 'export XDG_DATA_HOME=$(mktemp -d); echo -n test | gnome-keyring-daemon --unlock --components=secrets >/dev/null; cargo test -p entra-onboard-engine --test keychain; cargo test -p entra-onboard --test cli_secret'";

/// Marks the child process of [`open_fails_closed_without_a_session_bus`].
const CHILD_ENV: &str = "ENTRA_ONBOARD_TEST_NO_BUS_CHILD";

/// These tests must not pass by accident on a machine with no Secret Service.
fn require_session_bus() {
    if cfg!(target_os = "linux")
        && std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none_or(|v| v.is_empty())
    {
        panic!(
            "no D-Bus session: the keychain tests need a real Secret Service. Run them as:\n  {RUN_UNDER}"
        );
    }
}

fn open() -> Keychain {
    require_session_bus();
    let service = format!("com.entraonboard.test.{}", uuid::Uuid::new_v4().simple());
    Keychain::open_with_service(&service)
        .unwrap_or_else(|e| panic!("{e}\nRun the tests as:\n  {RUN_UNDER}"))
}

fn profile_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn secret(s: &str) -> Sensitive<String> {
    Sensitive::new(s.to_string())
}

/// What `secret-tool` (libsecret, a different client) finds: proof the value is in the
/// Secret Service itself and not in some store inside this process.
#[cfg(target_os = "linux")]
fn secret_tool_lookup(service: &str, account: &str) -> Option<String> {
    let out = Command::new("secret-tool")
        .args(["lookup", "service", service, "username", account])
        .output()
        .expect("secret-tool (apt package libsecret-tools) is needed by these tests");
    out.status
        .success()
        .then(|| String::from_utf8(out.stdout).unwrap())
}

#[test]
fn set_get_delete_round_trip() {
    let k = open();
    let id = profile_id();
    assert!(k.get_secret(&id).unwrap().is_none());

    k.set_secret(&id, &secret("Abc8Q~first-value-0123456789abcdefghij"))
        .unwrap();
    assert_eq!(
        k.get_secret(&id).unwrap().unwrap().expose(),
        "Abc8Q~first-value-0123456789abcdefghij"
    );
    #[cfg(target_os = "linux")]
    assert_eq!(
        secret_tool_lookup(k.service(), &format!("{id}/client-secret")).as_deref(),
        Some("Abc8Q~first-value-0123456789abcdefghij")
    );

    // Replacing keeps one entry with the new value.
    k.set_secret(&id, &secret("Xyz8Q~second-value-0123456789abcdefghi"))
        .unwrap();
    assert_eq!(
        k.get_secret(&id).unwrap().unwrap().expose(),
        "Xyz8Q~second-value-0123456789abcdefghi"
    );

    // The certificate password is a separate entry.
    assert!(k.get_certificate_password(&id).unwrap().is_none());
    k.set_certificate_password(&id, &secret("pfx password with spaces"))
        .unwrap();
    assert_eq!(
        k.get_certificate_password(&id).unwrap().unwrap().expose(),
        "pfx password with spaces"
    );
    assert_eq!(
        k.get_secret(&id).unwrap().unwrap().expose(),
        "Xyz8Q~second-value-0123456789abcdefghi"
    );

    k.delete_all(&id).unwrap();
    assert!(k.get_secret(&id).unwrap().is_none());
    assert!(k.get_certificate_password(&id).unwrap().is_none());
    #[cfg(target_os = "linux")]
    assert_eq!(
        secret_tool_lookup(k.service(), &format!("{id}/client-secret")),
        None
    );
}

#[test]
fn a_second_open_sees_what_the_first_stored() {
    let k = open();
    let id = profile_id();
    k.set_secret(&id, &secret("Abc8Q~persisted-0123456789abcdefghijkl"))
        .unwrap();
    let again = Keychain::open_with_service(k.service()).unwrap();
    assert_eq!(
        again.get_secret(&id).unwrap().unwrap().expose(),
        "Abc8Q~persisted-0123456789abcdefghijkl"
    );
    again.delete_all(&id).unwrap();
}

#[test]
fn profiles_do_not_see_each_others_secrets() {
    let k = open();
    let (a, b) = (profile_id(), profile_id());
    k.set_secret(&a, &secret("AAA8Q~secret-of-a-0123456789abcdefghij"))
        .unwrap();
    assert!(k.get_secret(&b).unwrap().is_none());
    k.set_secret(&b, &secret("BBB8Q~secret-of-b-0123456789abcdefghij"))
        .unwrap();
    assert_eq!(
        k.get_secret(&a).unwrap().unwrap().expose(),
        "AAA8Q~secret-of-a-0123456789abcdefghij"
    );

    k.delete_all(&a).unwrap();
    assert!(k.get_secret(&a).unwrap().is_none());
    assert_eq!(
        k.get_secret(&b).unwrap().unwrap().expose(),
        "BBB8Q~secret-of-b-0123456789abcdefghij"
    );
    k.delete_all(&b).unwrap();
}

#[test]
fn services_do_not_see_each_others_secrets() {
    let (dev, other) = (open(), open());
    let id = profile_id();
    dev.set_secret(&id, &secret("Abc8Q~only-in-one-service-0123456789ab"))
        .unwrap();
    assert!(other.get_secret(&id).unwrap().is_none());
    dev.delete_all(&id).unwrap();
}

#[test]
fn deleting_missing_entries_is_fine() {
    let k = open();
    let id = profile_id();
    k.delete_all(&id).unwrap();
    k.delete_all(&id).unwrap();
}

#[test]
fn ids_and_sizes_are_checked() {
    let k = open();
    for bad in ["", "acme", "../../other-app", "*"] {
        let e = k
            .set_secret(bad, &secret("Abc8Q~0123456789abcdefghijklmnopqrstu"))
            .unwrap_err();
        assert_eq!(e.code(), "keychain.bad_profile_id", "{bad:?}");
        assert_eq!(
            k.get_secret(bad).unwrap_err().code(),
            "keychain.bad_profile_id"
        );
        assert_eq!(
            k.delete_all(bad).unwrap_err().code(),
            "keychain.bad_profile_id"
        );
    }
    let id = profile_id();
    let huge = secret(&"x".repeat(entra_onboard_engine::keychain::MAX_VALUE_BYTES + 1));
    assert!(matches!(
        k.set_secret(&id, &huge),
        Err(KeychainError::TooLong { .. })
    ));
    assert!(k.get_secret(&id).unwrap().is_none());
}

/// Runs in a child process without a session bus (see below); a no-op in a normal run.
#[test]
#[ignore = "child of open_fails_closed_without_a_session_bus"]
fn child_open_without_bus() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    match Keychain::open() {
        Ok(k) => println!("RESULT=opened {}", k.store_name()),
        Err(e) => println!("RESULT={}\nMESSAGE={e}", e.code()),
    }
}

fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(files_under(&path));
        } else {
            found.push(path);
        }
    }
    found
}

#[cfg(target_os = "linux")]
#[test]
fn open_fails_closed_without_a_session_bus() {
    require_session_bus();
    // Twice: with the variable pointing at no socket, and with it unset (libdbus then tries
    // $XDG_RUNTIME_DIR/bus and X11 autolaunch, both absent here).
    for bus in [Some("unix:path=/nonexistent/entra-onboard-test-bus"), None] {
        let tmp = tempfile::tempdir().unwrap();
        let home = tmp.path();
        let mut cmd = Command::new(std::env::current_exe().unwrap());
        cmd.args([
            "--exact",
            "child_open_without_bus",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, "1")
        .env("HOME", home)
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_CACHE_HOME", home.join("cache"))
        .env("XDG_RUNTIME_DIR", home.join("run"))
        .env("ENTRA_ONBOARD_HOME", home.join("app"))
        .env(
            "ENTRA_ONBOARD_KEYCHAIN_SERVICE",
            format!("com.entraonboard.test.{}", uuid::Uuid::new_v4().simple()),
        )
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY");
        match bus {
            Some(b) => cmd.env("DBUS_SESSION_BUS_ADDRESS", b),
            None => cmd.env_remove("DBUS_SESSION_BUS_ADDRESS"),
        };
        let out = cmd.output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "child failed: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            stdout.contains("RESULT=keychain.unavailable"),
            "bus {bus:?}: {stdout}"
        );
        assert!(stdout.contains("dbus-run-session"), "no guidance: {stdout}");
        assert!(stdout.contains("never keeps secrets in a file"), "{stdout}");
        // Failing closed means nothing was written as a stand-in store.
        assert_eq!(
            files_under(home),
            Vec::<std::path::PathBuf>::new(),
            "bus {bus:?}"
        );
    }
}

#[test]
fn deleting_a_customer_deletes_its_keychain_entries() {
    let kc = open();
    let dir = tempfile::tempdir().unwrap();
    let store = entra_onboard_engine::ProfileStore::at(dir.path());
    let mut p = entra_onboard_engine::Profile::new("Acme");
    p.credential.kind = entra_onboard_engine::profile::CredentialKind::Secret;
    let p = store.save(&p).unwrap();
    kc.set_secret(&p.id, &secret("s3cr3t-value~with.dots_and-more"))
        .unwrap();
    let other = profile_id();
    kc.set_secret(&other, &secret("another-secret-value-1234"))
        .unwrap();

    entra_onboard_engine::customers::delete_customer_with(&store, &p.id, || Ok(kc.clone()))
        .unwrap();

    assert!(kc.get_secret(&p.id).unwrap().is_none(), "secret removed");
    assert!(store.list().unwrap().is_empty(), "profile removed");
    assert!(
        kc.get_secret(&other).unwrap().is_some(),
        "other customers untouched"
    );
    kc.delete_all(&other).unwrap();
}

#[test]
fn a_customer_is_kept_when_the_keychain_refuses() {
    let dir = tempfile::tempdir().unwrap();
    let store = entra_onboard_engine::ProfileStore::at(dir.path());
    let mut p = entra_onboard_engine::Profile::new("Acme");
    p.credential.kind = entra_onboard_engine::profile::CredentialKind::Secret;
    let p = store.save(&p).unwrap();
    let err = entra_onboard_engine::customers::delete_customer_with(&store, &p.id, || {
        Err(KeychainError::Unavailable {
            guidance: "test".into(),
        })
    })
    .unwrap_err();
    assert_eq!(err.code(), "keychain.unavailable");
    assert_eq!(store.list().unwrap().len(), 1, "nothing deleted");
}

/// An import that replaces a customer with another tenant, app or host deletes its keychain
/// entries (secret and certificate password); one that keeps the identity leaves them.
#[test]
fn an_import_replacing_who_the_customer_is_deletes_its_keychain_entries() {
    use entra_onboard_engine::transfer::{Replace, export_bundle, import_bundle};
    let kc = open();
    let dir = tempfile::tempdir().unwrap();
    let store = entra_onboard_engine::ProfileStore::at(dir.path());
    let mut p = entra_onboard_engine::Profile::new("Acme");
    p.credential.kind = entra_onboard_engine::profile::CredentialKind::Certificate;
    p.tenant_id = "72f988bf-86f1-41af-91ab-2d7cd011db47".into();
    p.agent_url = "https://acme.halopsa.com".into();
    let p = store.save(&p).unwrap();
    kc.set_secret(&p.id, &secret("s3cr3t-value~with.dots_and-more"))
        .unwrap();
    kc.set_certificate_password(&p.id, &secret("pfx password"))
        .unwrap();
    let other = profile_id();
    kc.set_secret(&other, &secret("another-secret-value-1234"))
        .unwrap();

    // Same identity, new name: replaced, entries kept.
    let mut renamed = p.clone();
    renamed.name = "Acme Ltd".into();
    let sum = import_bundle(
        &store,
        &export_bundle(&[renamed.clone()], chrono::Utc::now()),
        &Replace::All,
        || Ok(kc.clone()),
    )
    .unwrap();
    assert_eq!(sum.replaced.len(), 1);
    assert!(sum.keychain_removed.is_empty());
    assert!(kc.get_secret(&p.id).unwrap().is_some());

    // Not asked to replace: a conflict, entries kept.
    let mut moved = renamed.clone();
    moved.tenant_id = "5a4db0c5-7e1a-4a47-8000-000000000001".into();
    let bundle = export_bundle(&[moved], chrono::Utc::now());
    let sum = import_bundle(&store, &bundle, &Replace::Nothing, || Ok(kc.clone())).unwrap();
    assert_eq!(sum.conflicts[0].identity_changes, ["tenant_id"]);
    assert!(kc.get_secret(&p.id).unwrap().is_some());
    assert!(kc.get_certificate_password(&p.id).unwrap().is_some());

    // Replaced: both entries gone, and the summary says so.
    let sum = import_bundle(&store, &bundle, &Replace::All, || Ok(kc.clone())).unwrap();
    assert_eq!(sum.replaced.len(), 1, "{:?}", sum.rejected);
    assert_eq!(sum.keychain_removed.len(), 1);
    assert_eq!(sum.keychain_removed[0].id, p.id);
    assert_eq!(sum.keychain_removed[0].because, ["tenant_id"]);
    assert!(kc.get_secret(&p.id).unwrap().is_none(), "secret removed");
    assert!(
        kc.get_certificate_password(&p.id).unwrap().is_none(),
        "certificate password removed"
    );
    assert_eq!(
        store.load(&p.id).unwrap().tenant_id,
        "5a4db0c5-7e1a-4a47-8000-000000000001"
    );
    assert!(
        kc.get_secret(&other).unwrap().is_some(),
        "other customers untouched"
    );
    kc.delete_all(&other).unwrap();
}

/// Step 3's store (shared by the app and `secret set`): a refused value changes nothing;
/// a good one lands in the keychain and only its hint and expiry in the profile.
#[test]
fn vault_stores_the_value_and_records_only_hint_and_expiry() {
    use entra_onboard_engine::profile::{CredentialKind, Profile};
    use entra_onboard_engine::vault;
    let kc = open();
    let mut p = Profile::new("Vault test");
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
    let expires = chrono::NaiveDate::from_ymd_opt(2027, 11, 22).unwrap();

    // Not saved yet: no id, no entry name.
    p.id.clear();
    let e = vault::store_secret(
        &kc,
        &mut p,
        &secret("Abc8Q~xY1zT9kLmN0pQrStUvWx"),
        None,
        today,
    )
    .unwrap_err();
    assert_eq!(e.code(), "secret.no_profile_id");
    p.id = profile_id();

    let before = p.clone();
    let e = vault::store_secret(
        &kc,
        &mut p,
        &secret("0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9"),
        Some(expires),
        today,
    )
    .unwrap_err();
    assert_eq!(e.code(), "secret.is_secret_id");
    let too_far = chrono::NaiveDate::from_ymd_opt(2029, 1, 1).unwrap();
    let e = vault::store_secret(
        &kc,
        &mut p,
        &secret("Abc8Q~xY1zT9kLmN0pQrStUvWx"),
        Some(too_far),
        today,
    )
    .unwrap_err();
    assert_eq!(e.code(), "secret.expiry_too_far");
    assert_eq!(p, before, "a refusal changes nothing");
    assert!(!vault::status(&kc, &p).unwrap().secret_stored);

    let st = vault::store_secret(
        &kc,
        &mut p,
        &secret("Abc8Q~xY1zT9kLmN0pQrStUvWx"),
        Some(expires),
        today,
    )
    .unwrap();
    assert!(st.secret_stored);
    assert_eq!(st.secret_hint.as_deref(), Some("Abc"));
    assert_eq!(st.hint_matches, Some(true));
    assert_eq!(st.expires_on, Some(expires));
    assert_eq!(p.credential.kind, CredentialKind::Secret);
    assert!(
        !p.to_json().contains("Abc8Q~xY1"),
        "no secret in the profile"
    );
    assert_eq!(
        vault::stored_secret(&kc, &p).unwrap().expose(),
        "Abc8Q~xY1zT9kLmN0pQrStUvWx"
    );

    // Another secret under the same hint-less profile: the mismatch is reported.
    p.credential.secret_hint = Some("Zzz".into());
    assert_eq!(vault::status(&kc, &p).unwrap().hint_matches, Some(false));
    kc.delete_all(&p.id).unwrap();
}

/// What the service desk must also be given ("Copy secret", "Copy password"): read from
/// the keychain for that profile only, and a clear "not stored" otherwise.
#[test]
fn stored_values_for_the_service_desk_come_from_the_keychain() {
    use entra_onboard_engine::profile::Profile;
    use entra_onboard_engine::vault::{self, StoredValue};
    let kc = open();
    let mut p = Profile::new("Copy test");
    p.id = profile_id();
    let e = vault::stored_value(&kc, &p, StoredValue::ClientSecret).unwrap_err();
    assert_eq!(e.code(), "credential.not_stored");
    assert!(e.to_string().contains("client secret"), "{e}");
    let e = vault::stored_value(&kc, &p, StoredValue::CertificatePassword).unwrap_err();
    assert!(e.to_string().contains(".pfx password"), "{e}");

    kc.set_secret(&p.id, &secret("Abc8Q~xY1zT9kLmN0pQrStUvWx"))
        .unwrap();
    kc.set_certificate_password(&p.id, &secret("pfx-password-0123456789"))
        .unwrap();
    assert_eq!(
        vault::stored_value(&kc, &p, StoredValue::ClientSecret)
            .unwrap()
            .expose(),
        "Abc8Q~xY1zT9kLmN0pQrStUvWx"
    );
    assert_eq!(
        vault::stored_value(&kc, &p, StoredValue::CertificatePassword)
            .unwrap()
            .expose(),
        "pfx-password-0123456789"
    );
    // Another customer sees neither.
    let mut other = p.clone();
    other.id = profile_id();
    assert!(vault::stored_value(&kc, &other, StoredValue::ClientSecret).is_err());
    kc.delete_all(&p.id).unwrap();
}

/// The desktop app opens the keychain from concurrent commands (a status read while a
/// secret is stored): every open must prove the store without tripping over another's probe.
#[test]
fn concurrent_opens_all_succeed() {
    require_session_bus();
    let service = format!("com.entraonboard.test.{}", uuid::Uuid::new_v4().simple());
    let handles: Vec<_> = (0..6)
        .map(|_| {
            let service = service.clone();
            std::thread::spawn(move || {
                (0..4)
                    .map(|_| Keychain::open_with_service(&service).map(|_| ()))
                    .collect::<Result<Vec<()>, _>>()
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap().unwrap_or_else(|e| panic!("{e}"));
    }
}

/// CSP's Partner Center app keeps its own secret, hint and expiry: storing it never
/// replaces the main app's, and deleting the customer deletes both.
#[test]
fn the_partner_center_app_has_its_own_keychain_entry() {
    use entra_onboard_engine::keychain::CustomerApp;
    use entra_onboard_engine::profile::{CredentialKind, Profile};
    use entra_onboard_engine::vault;
    let kc = open();
    let mut p = Profile::new("Two apps");
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
    let main_expiry = chrono::NaiveDate::from_ymd_opt(2027, 11, 22).unwrap();
    let pc_expiry = chrono::NaiveDate::from_ymd_opt(2027, 5, 1).unwrap();
    vault::store_secret(
        &kc,
        &mut p,
        &secret("Mai8Q~main-app-secret-0123456789"),
        Some(main_expiry),
        today,
    )
    .unwrap();
    let st = vault::store_app_secret(
        &kc,
        &mut p,
        CustomerApp::PartnerCenter,
        &secret("Pcx8Q~partner-center-secret-012345"),
        Some(pc_expiry),
        today,
    )
    .unwrap();
    assert!(st.secret_stored);
    assert_eq!(st.secret_hint.as_deref(), Some("Pcx"));
    assert_eq!(st.expires_on, Some(pc_expiry));
    // Each record holds its own app's facts; the main app's are untouched.
    assert_eq!(p.credential.secret_hint.as_deref(), Some("Mai"));
    assert_eq!(p.credential.expires_on, Some(main_expiry));
    assert_eq!(p.partner_center.credential.kind, CredentialKind::Secret);
    assert_eq!(p.partner_center.credential.expires_on, Some(pc_expiry));
    assert_eq!(
        kc.get_secret(&p.id).unwrap().unwrap().expose(),
        "Mai8Q~main-app-secret-0123456789"
    );
    assert_eq!(
        kc.get_app_secret(&p.id, CustomerApp::PartnerCenter)
            .unwrap()
            .unwrap()
            .expose(),
        "Pcx8Q~partner-center-secret-012345"
    );
    #[cfg(target_os = "linux")]
    assert_eq!(
        secret_tool_lookup(
            kc.service(),
            &format!("{}/partner-center-client-secret", p.id)
        )
        .as_deref(),
        Some("Pcx8Q~partner-center-secret-012345")
    );
    assert!(
        !p.to_json().contains("partner-center-secret"),
        "no secret in the profile"
    );
    assert_eq!(
        vault::app_status(&kc, &p, CustomerApp::PartnerCenter)
            .unwrap()
            .hint_matches,
        Some(true)
    );

    kc.delete_all(&p.id).unwrap();
    assert!(kc.get_secret(&p.id).unwrap().is_none());
    assert!(
        kc.get_app_secret(&p.id, CustomerApp::PartnerCenter)
            .unwrap()
            .is_none()
    );
}

/// A rotation's next secret (issue 15) lives beside the current one under its own account,
/// becomes current only by `promote`, and goes with the customer.
#[test]
fn the_next_secret_sits_beside_the_current_one_until_promoted() {
    use entra_onboard_engine::graph::rotate::NextSecretStore;
    use entra_onboard_engine::keychain::CustomerApp::{Main, PartnerCenter};
    let k = open();
    let id = profile_id();
    k.set_secret(&id, &secret("Abc8Q~current-value-0123456789abcdefgh"))
        .unwrap();
    k.set_next_secret(&id, Main, &secret("Xyz8Q~next-value-0123456789abcdefghijk"))
        .unwrap();
    assert_eq!(
        k.get_secret(&id).unwrap().unwrap().expose(),
        "Abc8Q~current-value-0123456789abcdefgh",
        "storing the next one leaves the current one alone"
    );
    #[cfg(target_os = "linux")]
    assert_eq!(
        secret_tool_lookup(k.service(), &format!("{id}/client-secret-next")).as_deref(),
        Some("Xyz8Q~next-value-0123456789abcdefghijk")
    );
    k.promote(&id, Main).unwrap();
    assert_eq!(
        k.get_secret(&id).unwrap().unwrap().expose(),
        "Xyz8Q~next-value-0123456789abcdefghijk"
    );
    assert!(k.get_next_secret(&id, Main).unwrap().is_none());
    assert!(k.promote(&id, Main).is_err(), "nothing to promote twice");
    k.set_next_secret(&id, Main, &secret("Nxt8Q~another-value-0123456789abcdefg"))
        .unwrap();
    // The Partner Center app's next secret is its own entry.
    k.set_next_secret(
        &id,
        PartnerCenter,
        &secret("Pcn8Q~partner-next-0123456789abcdefghi"),
    )
    .unwrap();
    assert_eq!(
        k.get_next_secret(&id, PartnerCenter)
            .unwrap()
            .unwrap()
            .expose(),
        "Pcn8Q~partner-next-0123456789abcdefghi"
    );
    k.promote(&id, PartnerCenter).unwrap();
    assert_eq!(
        k.get_app_secret(&id, PartnerCenter)
            .unwrap()
            .unwrap()
            .expose(),
        "Pcn8Q~partner-next-0123456789abcdefghi"
    );
    assert_eq!(
        k.get_secret(&id).unwrap().unwrap().expose(),
        "Xyz8Q~next-value-0123456789abcdefghijk",
        "the main app's is untouched"
    );
    k.delete_all(&id).unwrap();
    assert!(
        k.get_next_secret(&id, Main).unwrap().is_none(),
        "deleting the customer deletes the next one too"
    );
}

/// A certificate rotation's next .pfx password (issue 15) has its own account beside the
/// current password, becomes current only by `promote_password`, and goes with the customer.
#[test]
fn the_next_certificate_password_sits_beside_the_current_one_until_promoted() {
    use entra_onboard_engine::graph::rotate::NextSecretStore;
    use entra_onboard_engine::keychain::CustomerApp::{Main, PartnerCenter};
    let k = open();
    let id = profile_id();
    k.set_app_certificate_password(&id, Main, &secret("current-pfx-password"))
        .unwrap();
    k.set_next_password(&id, Main, &secret("next-pfx-password"))
        .unwrap();
    assert_eq!(
        k.current_password(&id, Main).unwrap().unwrap().expose(),
        "current-pfx-password"
    );
    assert!(
        k.get_next_secret(&id, Main).unwrap().is_none(),
        "not the next client secret's slot"
    );
    #[cfg(target_os = "linux")]
    assert_eq!(
        secret_tool_lookup(k.service(), &format!("{id}/certificate-password-next")).as_deref(),
        Some("next-pfx-password")
    );
    assert!(k.next_password(&id, PartnerCenter).unwrap().is_none());
    k.promote_password(&id, Main).unwrap();
    assert_eq!(
        k.get_app_certificate_password(&id, Main)
            .unwrap()
            .unwrap()
            .expose(),
        "next-pfx-password"
    );
    assert!(k.next_password(&id, Main).unwrap().is_none());
    assert!(
        k.promote_password(&id, Main).is_err(),
        "nothing to promote twice"
    );
    k.set_next_password(&id, Main, &secret("another-pfx-password"))
        .unwrap();
    k.delete_all(&id).unwrap();
    assert!(
        k.next_password(&id, Main).unwrap().is_none(),
        "deleting the customer deletes the next one too"
    );
}
