//! No input panics (issue 11, point 6): property tests that feed arbitrary profiles, CSVs,
//! ID-token claims and dates through the public engine functions. Each property is
//! "an error or a value, never a panic", plus the specific rule where there is one
//! (out-of-range numeric claims are a failure on that claim). 256 cases each, so the
//! suite stays fast; proptest shrinks and prints any failing input.
//!
//! The loopback callback parser is property-tested next to it, in
//! `crates/engine/src/loopback/props.rs` (it is private).

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use proptest::prelude::*;
use serde_json::{Value, json};

use entra_onboard_engine::profile::{
    ConsentRecord, ConsentStatus, CredentialKind, CredentialMeta, CustomerTenant,
    FederatedCredential, Profile, SignInScope, SsoFor, TenantType, Verification,
};
use entra_onboard_engine::sso_test::oidc::{Expected, IssuerRule, check_claims};
use entra_onboard_engine::steps::{credential, reminder, tenants};
use entra_onboard_engine::{dashboard, handover, plan};

fn config() -> ProptestConfig {
    ProptestConfig::with_cases(256)
}

// ---------------------------------------------------------------- strategies

/// Any date chrono can hold, from -262143-01-01 to +262142-12-31.
fn any_date() -> BoxedStrategy<NaiveDate> {
    let (lo, hi) = (
        NaiveDate::MIN.num_days_from_ce(),
        NaiveDate::MAX.num_days_from_ce(),
    );
    prop_oneof![
        // The ends of the calendar, where arithmetic overflows, and today's neighbourhood.
        Just(NaiveDate::MIN),
        Just(NaiveDate::MAX),
        (lo..lo + 400).prop_map(|d| NaiveDate::from_num_days_from_ce_opt(d).unwrap()),
        (hi - 400..=hi).prop_map(|d| NaiveDate::from_num_days_from_ce_opt(d).unwrap()),
        (738_000i32..742_000).prop_map(|d| NaiveDate::from_num_days_from_ce_opt(d).unwrap()),
        (lo..=hi).prop_map(|d| NaiveDate::from_num_days_from_ce_opt(d).unwrap()),
    ]
    .boxed()
}

/// Any instant chrono can hold.
fn any_instant() -> BoxedStrategy<DateTime<Utc>> {
    let (lo, hi) = (
        DateTime::<Utc>::MIN_UTC.timestamp(),
        DateTime::<Utc>::MAX_UTC.timestamp(),
    );
    prop_oneof![Just(lo), Just(hi), 1_600_000_000i64..2_000_000_000, lo..=hi,]
        .prop_map(|t| DateTime::from_timestamp(t, 0).unwrap())
        .boxed()
}

/// Strings a hostile or careless profile can hold: any Unicode, URL- and GUID-shaped
/// text, control characters, and long values.
fn text() -> BoxedStrategy<String> {
    prop_oneof![
        Just(String::new()),
        any::<String>(),
        "[ -~]{0,60}",
        Just("72f988bf-86f1-41af-91ab-2d7cd011db47".to_string()),
        Just("0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9".to_string()),
        "https://[a-z0-9.-]{0,30}(:[0-9]{0,6})?(/[ -~]{0,20})?",
        "http://(127\\.0\\.0\\.1|localhost|\\[::1\\]):[0-9]{1,6}[ -~]{0,10}",
        "[a-z0-9-]{1,20}\\.(onmicrosoft\\.com|com|example)",
        "[\\x00-\\x1f\\u{202e}\\u{200f}a-z]{0,20}",
        "[a-z]{2000,4000}",
    ]
    .boxed()
}

fn opt_text() -> BoxedStrategy<Option<String>> {
    prop::option::of(text()).boxed()
}

fn consent_record() -> BoxedStrategy<ConsentRecord> {
    (
        prop_oneof![
            Just(ConsentStatus::Pending),
            Just(ConsentStatus::Consented),
            Just(ConsentStatus::Declined),
            Just(ConsentStatus::Failed),
        ],
        opt_text(),
        prop::option::of(any::<u32>()),
        opt_text(),
        opt_text(),
        prop::option::of(any_instant()),
    )
        .prop_map(
            |(status, tenant_id, aadsts, error, message, at)| ConsentRecord {
                status,
                tenant_id,
                aadsts,
                error,
                message,
                hint: None,
                at,
            },
        )
        .boxed()
}

fn credential_meta() -> BoxedStrategy<CredentialMeta> {
    (
        prop_oneof![
            Just(CredentialKind::None),
            Just(CredentialKind::Secret),
            Just(CredentialKind::Certificate),
            Just(CredentialKind::Federated),
        ],
        prop::option::of(any_date()),
        opt_text(),
        opt_text(),
        prop::option::of(any::<u32>()),
        prop::option::of((text(), text(), text(), opt_text())),
    )
        .prop_map(
            |(kind, expires_on, hint, thumbprint, key_bits, federated)| CredentialMeta {
                kind,
                expires_on,
                secret_hint: hint,
                thumbprint: thumbprint.clone(),
                thumbprint_sha256: thumbprint,
                certificate_subject: None,
                key_bits,
                certificate_file: None,
                federated: federated.map(|(name, issuer, subject, audience)| FederatedCredential {
                    name,
                    issuer,
                    subject,
                    audience,
                    agent: String::new(),
                }),
            },
        )
        .boxed()
}

/// A profile with arbitrary values in every field that matters to the plan.
fn any_profile() -> BoxedStrategy<Profile> {
    let ids = (text(), text(), text(), text(), opt_text());
    let urls = (text(), opt_text(), opt_text(), opt_text(), opt_text());
    let kinds = (
        0usize..4,
        prop_oneof![Just(TenantType::Single), Just(TenantType::Multi)],
        prop_oneof![
            Just(SsoFor::Agents),
            Just(SsoFor::Users),
            Just(SsoFor::Both)
        ],
        any::<bool>(),
        any::<bool>(),
    );
    let sso = (
        prop::collection::vec(any::<bool>(), 9),
        prop_oneof![Just(SignInScope::Restricted), Just(SignInScope::All)],
        opt_text(),
    );
    let lists = (
        prop::collection::vec(text(), 0..4),
        prop::collection::vec((text(), opt_text(), consent_record()), 0..4),
        prop::option::of(consent_record()),
        prop::option::of((any_instant(), opt_text())),
        prop::collection::vec(text(), 0..3),
        any::<u32>(),
    );
    (ids, urls, kinds, sso, credential_meta(), lists)
        .prop_map(
            |(
                (id, name, tenant_id, client_id, authority),
                (agent_url, portal_url, auth_url, federated_domain, graph_endpoint),
                (cloud, tenant_type, sso_for, import, csp),
                (toggles, sign_in_scope, service_group),
                credential,
                (allowed, customers, admin_consent, verified, groups, interval),
            )| {
                let mut p = Profile {
                    id,
                    name,
                    tenant_id,
                    client_id,
                    authority,
                    agent_url,
                    portal_url,
                    auth_url,
                    cloud: entra_onboard_engine::cloud::Cloud::ALL[cloud],
                    tenant_type,
                    sso_for,
                    credential,
                    allowed_tenants: allowed,
                    admin_consent,
                    verified: verified.map(|(verified_at, signed_in_as)| Verification {
                        verified_at,
                        signed_in_as,
                    }),
                    customer_tenants: customers
                        .into_iter()
                        .map(|(tenant, name, consent)| CustomerTenant {
                            tenant,
                            name,
                            consent,
                        })
                        .collect(),
                    ..Profile::default()
                };
                p.features.import = import;
                p.features.csp = csp;
                p.sso.published = toggles[0];
                p.sso.auto_create_users = toggles[1];
                p.sso.auto_redirect_agents = toggles[2];
                p.sso.auto_redirect_users = toggles[3];
                p.sso.use_unique_identifier = toggles[4];
                p.sso.single_logout = toggles[5];
                p.sso.remember_me = toggles[6];
                p.sso.bypass_2fa = toggles[7];
                p.sso.sign_in_scope = sign_in_scope;
                p.sso.federated_domain = federated_domain;
                p.sso.graph_endpoint = graph_endpoint;
                p.sync.technician_groups = groups;
                p.sync.service_account_group = service_group;
                p.sync.interval_minutes = interval;
                p
            },
        )
        .boxed()
}

/// Any JSON value, nested a few levels.
fn any_json() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|n| json!(n)),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(text(), inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
    .boxed()
}

/// Everything a profile feeds: the plan, the handover report, the dashboard card, the
/// reminder, the tenant tracker and its CSV export.
fn use_profile(p: &Profile, now: DateTime<Utc>) {
    let today = now.date_naive();
    let plan = plan(p);
    let _ = handover::handover_html(p, &plan, now, "0.0.0");
    let _ = handover::follow_ups(p, &plan, today);
    let _ = handover::report_file_stem(p, now);
    let card = dashboard::CustomerCard::of(p, today);
    let _ = card.matches("acme");
    let _ = card.needs_attention();
    let _ = reminder::rotation_reminder(p, now);
    let _ = tenants::tracker(p);
    let _ = tenants::export_csv(p);
    let _ = p.to_json();
    // The Teams app package (issue 14 point 8): built or refused, never a panic, and bounded.
    if let Ok(pkg) = entra_onboard_engine::teams::build(p, "1.0.0") {
        assert!(pkg.zip.len() <= entra_onboard_engine::teams::MAX_PACKAGE_BYTES);
    }
}

// ---------------------------------------------------------------- profiles

proptest! {
    #![proptest_config(config())]

    #[test]
    fn profile_parsing_of_arbitrary_bytes_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        if let Ok(p) = Profile::from_json(&String::from_utf8_lossy(&bytes)) {
            use_profile(&p, Utc::now());
        }
    }

    #[test]
    fn profile_parsing_of_arbitrary_json_never_panics(
        fields in prop::collection::btree_map(
            prop_oneof![
                Just("name".to_string()), Just("tenant_id".to_string()),
                Just("client_id".to_string()), Just("agent_url".to_string()),
                Just("authority".to_string()), Just("cloud".to_string()),
                Just("credential".to_string()), Just("customer_tenants".to_string()),
                Just("admin_consent".to_string()), Just("schema_version".to_string()),
                Just("allowed_tenants".to_string()), Just("sync".to_string()),
                text(),
            ],
            any_json(),
            0..6,
        )
    ) {
        let text = Value::Object(fields.into_iter().collect()).to_string();
        if let Ok(p) = Profile::from_json(&text) {
            use_profile(&p, Utc::now());
        }
    }

    #[test]
    fn plan_and_reports_of_any_profile_never_panic(p in any_profile(), now in any_instant()) {
        use_profile(&p, now);
        // What is saved reads back as the same profile.
        let back = Profile::from_json(&p.to_json());
        prop_assert_eq!(back.ok(), Some(p));
    }
}

// ---------------------------------------------------------------- dates

proptest! {
    #![proptest_config(config())]

    #[test]
    fn date_math_never_panics(
        expires in any_date(),
        today in any_date(),
        now in any_instant(),
        months in prop_oneof![0u32..30, any::<u32>()],
    ) {
        let by = handover::rotate_by(expires);
        prop_assert!(by <= expires);
        let (_, days) = dashboard::expiry_level(Some(expires), today);
        prop_assert_eq!(days, Some((expires - today).num_days()));
        let _ = credential::expiry_status(Some(expires), today);
        let _ = credential::default_secret_expiry(today);
        let _ = credential::secret_expiry_choices(today);
        // The chooser's bounds are always ones the check accepts (when there is a day left).
        let o = credential::secret_expiry_options(today);
        if o.earliest < o.latest {
            prop_assert!(credential::check_secret_expiry(o.earliest, today).is_ok());
            prop_assert!(credential::check_secret_expiry(o.latest, today).is_ok());
        }
        if let Ok(d) = credential::secret_expiry_after(today, months) {
            prop_assert!(d > today);
        }
        let _ = credential::check_secret_expiry(expires, today);
        let (not_before, not_after) = entra_onboard_engine::steps::certificate::validity(now, months);
        prop_assert!(not_before <= not_after);

        let mut p = Profile::new("Acme");
        p.credential.kind = CredentialKind::Secret;
        p.credential.expires_on = Some(expires);
        p.credential.secret_hint = Some("abc".into());
        p.admin_consent = Some(ConsentRecord { status: ConsentStatus::Consented, at: Some(now), ..ConsentRecord::default() });
        use_profile(&p, now);
    }

    #[test]
    fn policy_lifetimes_never_panic(iso in prop_oneof![
        "P[0-9.]{0,400}[YMWD]",
        "PT[0-9.]{0,400}[HMS]",
        any::<String>(),
    ]) {
        if let Some(days) = entra_onboard_engine::graph::apply::iso_duration_days(&iso) {
            prop_assert!(days >= 0);
        }
    }
}

#[test]
fn report_of_a_profile_expiring_at_the_start_of_the_calendar() {
    // The case from the issue: `report` panicked on subtracting 30 days.
    let p = Profile::from_json(
        r#"{"name":"Acme","credential":{"kind":"secret","expires_on":"-262143-01-01"}}"#,
    )
    .unwrap();
    let html = handover::handover_html(&p, &plan(&p), Utc::now(), "0.0.0");
    assert!(html.contains("-262143-01-01"));
    assert_eq!(
        handover::rotate_by(NaiveDate::MIN + chrono::Days::new(3)),
        NaiveDate::MIN
    );
}

// ---------------------------------------------------------------- CSV import

proptest! {
    #![proptest_config(config())]

    #[test]
    fn tenant_csv_import_never_panics(
        rows in prop::collection::vec(
            prop::collection::vec(prop_oneof![text(), "[,\"\r\n =+@-]{0,6}"], 0..4),
            0..20,
        ),
        raw in any::<String>(),
    ) {
        let csv: String = rows.iter().map(|r| r.join(",")).collect::<Vec<_>>().join("\r\n");
        for input in [csv.as_str(), raw.as_str()] {
            if let Ok(import) = tenants::parse_tenant_list(input) {
                let mut p = Profile::new("Acme");
                p.client_id = "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9".into();
                let merged = tenants::add_tenants(&mut p, &import.rows);
                prop_assert!(merged.added <= import.rows.len());
                let _ = tenants::tracker(&p);
                let _ = tenants::export_csv(&p);
            }
        }
    }
}

// ---------------------------------------------------------------- ID-token claims

const T: &str = "11111111-2222-3333-4444-555555555555";
const C: &str = "aaaaaaaa-0000-4000-8000-000000000001";
const TWO_53: i64 = 1 << 53;

fn claims(exp: Value, iat: Value, nbf: Option<Value>) -> Value {
    let mut c = json!({"iss": format!("https://login.example/{T}/v2.0"), "aud": C, "tid": T,
        "sub": "s", "nonce": "n", "exp": exp, "iat": iat});
    if let Some(nbf) = nbf {
        c["nbf"] = nbf;
    }
    c
}

fn check(c: &Value, now: i64) -> Result<(), String> {
    let rule = IssuerRule::Exact(format!("https://login.example/{T}/v2.0"));
    let x = Expected {
        issuer: &rule,
        client_id: C,
        nonce: "n",
        tenant: Some(T),
        allowed_tenants: None,
        code: None,
        now,
    };
    check_claims(c, &x).map(|_| ()).map_err(|e| e.code())
}

/// Numbers at and beyond every edge: i64 and u64 extremes, ±2^53, huge floats.
fn numeric_claim() -> BoxedStrategy<Value> {
    prop_oneof![
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|n| json!(n)),
        prop_oneof![
            Just(i64::MIN),
            Just(i64::MAX),
            Just(-TWO_53 - 1),
            Just(TWO_53 + 1),
            Just(-TWO_53),
            Just(TWO_53),
        ]
        .prop_map(|n| json!(n)),
        prop_oneof![Just(1e300), Just(-1e300), Just(9.3e18), Just(-9.3e18)].prop_map(|f| json!(f)),
        any_json(),
    ]
    .boxed()
}

fn out_of_range(v: &Value) -> bool {
    match v {
        Value::Number(n) => match n.as_i64() {
            Some(i) => !(-TWO_53..=TWO_53).contains(&i),
            None => n.is_u64() || n.as_f64().is_none_or(|f| f.abs() > TWO_53 as f64),
        },
        _ => false,
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn claim_checks_never_panic(
        exp in numeric_claim(),
        iat in numeric_claim(),
        nbf in prop::option::of(numeric_claim()),
        now in prop_oneof![any::<i64>(), 1_600_000_000i64..2_000_000_000],
    ) {
        let _ = check(&claims(exp, iat, nbf), now);
    }

    #[test]
    fn an_out_of_range_exp_fails_on_exp(exp in numeric_claim(), now in 0i64..(1 << 40)) {
        let result = check(&claims(exp.clone(), json!(now), None), now);
        if out_of_range(&exp) {
            prop_assert_eq!(result, Err("id_token.exp".to_string()));
        }
    }

    #[test]
    fn an_out_of_range_iat_or_nbf_fails_on_that_claim(
        v in numeric_claim(),
        now in 0i64..(1 << 40),
    ) {
        let exp = json!(now + 3600);
        if out_of_range(&v) {
            prop_assert_eq!(check(&claims(exp.clone(), v.clone(), None), now), Err("id_token.iat".to_string()));
            prop_assert_eq!(check(&claims(exp, json!(now), Some(v)), now), Err("id_token.nbf".to_string()));
        }
    }
}

#[test]
fn the_claims_from_the_issue_are_refused_on_their_claim() {
    let now = 1_800_000_000;
    assert_eq!(
        check(&claims(json!(now + 60), json!(now), None), now),
        Ok(())
    );
    assert_eq!(
        check(&claims(json!(1e300), json!(now), None), now),
        Err("id_token.exp".into())
    );
    assert_eq!(
        check(&claims(json!(i64::MIN), json!(now), None), now),
        Err("id_token.exp".into())
    );
    assert_eq!(
        check(&claims(json!(now + 60), json!(i64::MIN), None), now),
        Err("id_token.iat".into())
    );
    assert_eq!(
        check(&claims(json!(u64::MAX), json!(now), None), now),
        Err("id_token.exp".into())
    );
    // A fractional NumericDate (RFC 7519 allows one) inside the range is still a date.
    assert_eq!(
        check(&claims(json!(now as f64 + 60.5), json!(now), None), now),
        Ok(())
    );
    // The clock at either end of i64 does not overflow either.
    let _ = check(&claims(json!(TWO_53), json!(-TWO_53), None), i64::MAX);
    let _ = check(&claims(json!(-TWO_53), json!(TWO_53), None), i64::MIN);
}

// ---------------------------------------------------------------- timeouts

#[test]
fn any_wait_gives_a_deadline_within_the_cap() {
    use std::time::Duration;
    let cap = Duration::from_secs(entra_onboard_engine::sso_test::MAX_TIMEOUT_SECS);
    let before = tokio::time::Instant::now();
    // Options built in code (the desktop app, a library caller) cannot overflow the clock.
    for wait in [Duration::MAX, Duration::from_secs(u64::MAX), cap * 2] {
        let deadline = entra_onboard_engine::sso_test::deadline_after(wait);
        assert!(deadline <= tokio::time::Instant::now() + cap);
        assert!(deadline >= before + cap);
    }
    let short = entra_onboard_engine::sso_test::deadline_after(Duration::from_secs(5));
    assert!(short <= tokio::time::Instant::now() + Duration::from_secs(5));
}

#[test]
fn an_overflowing_timeout_is_an_argument_error() {
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("acme.json");
    std::fs::write(&profile, r#"{"name":"Acme"}"#).unwrap();
    let p = profile.display().to_string();
    for args in [
        vec!["sso-test", &p, "--timeout", "18446744073709551615"],
        vec![
            "consent",
            &p,
            "--capture",
            "--timeout",
            "18446744073709551615",
        ],
        vec!["apply", &p, "--timeout", "18446744073709551615"],
        vec!["doctor", &p, "--timeout", "3601"],
        vec!["tenants", "consent", &p, "--all", "--timeout", "0"],
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_entra-onboard"))
            .args(&args)
            .env("ENTRA_ONBOARD_HOME", dir.path())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains("for '--timeout <SECS>'") && err.contains("is not in 1..=3600"),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn report_cli_of_a_profile_expiring_at_the_start_of_the_calendar() {
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("acme.json");
    std::fs::write(
        &profile,
        r#"{"name":"Acme","credential":{"kind":"secret","expires_on":"-262143-01-01"}}"#,
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_entra-onboard"))
        .args(["report", &profile.display().to_string()])
        .env("ENTRA_ONBOARD_HOME", dir.path())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("expired"));
}
