//! The SSO test against a hostile provider (tests/common): every bad token, error
//! response and junk request must end in the right verdict — never a hang or a panic.
//! Cases follow the OpenID RP conformance tests (security-checklist §2).

mod common;

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use entra_onboard_engine::Profile;
use entra_onboard_engine::ids::Sensitive;
use entra_onboard_engine::sso_test::{
    self, CancellationToken, ClientCredential, Limits, SsoReport, SsoTestOptions,
};
use serde_json::{Value, json};

fn profile(h: &Hostile) -> Profile {
    Profile::from_json(
        &json!({
            "name": "Hostile", "agent_url": "https://acme.halopsa.com", "tenant_id": TENANT,
            "client_id": CLIENT, "authority": h.authority(), "sso_for": "both",
        })
        .to_string(),
    )
    .unwrap()
}

fn multi_profile(h: &Hostile, allowed: &[&str]) -> Profile {
    Profile::from_json(
        &json!({
            "name": "Hostile", "agent_url": "https://acme.halopsa.com", "tenant_id": TENANT,
            "client_id": CLIENT, "authority": h.authority(), "sso_for": "both", "tenant_type": "multi",
            "sso": {"sign_in_scope": "restricted"}, "allowed_tenants": allowed,
        })
        .to_string(),
    )
    .unwrap()
}

fn options(plan: BrowserPlan, seen: Seen, timeout: Duration, limits: Limits) -> SsoTestOptions {
    SsoTestOptions {
        timeout,
        limits,
        http_timeout: Duration::from_secs(5),
        open_browser: Arc::new(move |url| {
            tokio::spawn(browse(url.url().clone(), plan.clone(), seen.clone()));
            Ok(())
        }),
        progress: None,
    }
}

async fn run_with(
    scenario: Scenario,
    plan: BrowserPlan,
    p: impl Fn(&Hostile) -> Profile,
) -> (SsoReport, Hostile, Vec<u16>) {
    let h = start(scenario).await;
    let seen: Seen = Arc::new(Mutex::new(Vec::new()));
    let opts = options(
        plan,
        seen.clone(),
        Duration::from_secs(5),
        Limits::default(),
    );
    let cred = ClientCredential::Secret(Sensitive::new("s3cret".into()));
    let report = sso_test::run(&p(&h), &cred, &opts, &CancellationToken::new())
        .await
        .unwrap();
    let seen = seen.lock().unwrap().clone();
    (report, h, seen)
}

async fn run(scenario: Scenario) -> (SsoReport, Hostile) {
    let (r, h, _) = run_with(scenario, BrowserPlan::default(), profile).await;
    (r, h)
}

fn mutate(f: impl Fn(&mut Value) + Send + Sync + 'static) -> Mutate {
    Arc::new(f)
}

/// The test failed at check `id` with error `code`.
fn assert_failed(r: &SsoReport, id: &str, code: &str) {
    assert!(!r.ok, "{r:#?}");
    let last = r.checks.last().expect("a check ran");
    assert_eq!((last.id.as_str(), last.ok), (id, false), "{r:#?}");
    assert_eq!(
        r.error.as_ref().map(|e| e.code.as_str()),
        Some(code),
        "{r:#?}"
    );
}

/// A bad front-channel token must stop the test before the token endpoint is called.
async fn front_rejected(scenario: Scenario, code: &str) {
    let (r, h) = run(scenario).await;
    assert_failed(&r, "id_token", code);
    assert_eq!(
        h.counters.token_calls.load(Ordering::SeqCst),
        0,
        "no token call after a bad ID token"
    );
}

#[tokio::test]
async fn a_well_behaved_provider_passes() {
    let (r, h) = run(Scenario::default()).await;
    assert!(r.ok, "{r:#?}");
    let c = r.claims.unwrap();
    assert_eq!(c.roles, ["User.Read.All"]);
    assert_eq!(c.mfa, sso_test::Mfa::Yes);
    assert_eq!(h.counters.jwks_fetches.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn bad_signature() {
    front_rejected(
        Scenario {
            front_sign: Sign::Rs256(Key::Attacker, Some("key-a")),
            ..Default::default()
        },
        "id_token.signature",
    )
    .await;
}

#[tokio::test]
async fn alg_none() {
    front_rejected(
        Scenario {
            front_sign: Sign::None,
            ..Default::default()
        },
        "id_token.alg",
    )
    .await;
}

#[tokio::test]
async fn hs256_keyed_with_the_public_key() {
    front_rejected(
        Scenario {
            front_sign: Sign::Hs256WithPublicKey,
            ..Default::default()
        },
        "id_token.alg",
    )
    .await;
}

#[tokio::test]
async fn wrong_issuer() {
    let front = mutate(|c| c["iss"] = json!(format!("{}1", c["iss"].as_str().unwrap())));
    front_rejected(
        Scenario {
            front,
            ..Default::default()
        },
        "id_token.iss",
    )
    .await;
}

#[tokio::test]
async fn wrong_audience() {
    front_rejected(
        Scenario {
            front: mutate(|c| c["aud"] = json!(format!("{CLIENT}1"))),
            ..Default::default()
        },
        "id_token.aud",
    )
    .await;
}

#[tokio::test]
async fn extra_audience_without_azp() {
    front_rejected(
        Scenario {
            front: mutate(|c| c["aud"] = json!([CLIENT, "other-api"])),
            ..Default::default()
        },
        "id_token.azp",
    )
    .await;
}

#[tokio::test]
async fn expired() {
    let front = mutate(|c| c["exp"] = json!(chrono::Utc::now().timestamp() - 360 - 300));
    front_rejected(
        Scenario {
            front,
            ..Default::default()
        },
        "id_token.exp",
    )
    .await;
}

#[tokio::test]
async fn issued_in_the_future() {
    let front = mutate(|c| c["iat"] = json!(chrono::Utc::now().timestamp() + 3600));
    front_rejected(
        Scenario {
            front,
            ..Default::default()
        },
        "id_token.iat",
    )
    .await;
}

#[tokio::test]
async fn missing_and_wrong_nonce() {
    let front = mutate(|c| {
        c.as_object_mut().unwrap().remove("nonce");
    });
    front_rejected(
        Scenario {
            front,
            ..Default::default()
        },
        "id_token.nonce",
    )
    .await;
    front_rejected(
        Scenario {
            front: mutate(|c| c["nonce"] = json!("replayed")),
            ..Default::default()
        },
        "id_token.nonce",
    )
    .await;
}

#[tokio::test]
async fn swapped_code_fails_c_hash() {
    front_rejected(
        Scenario {
            front: mutate(|c| c["c_hash"] = json!("AAAAAAAAAAAAAAAAAAAAAA")),
            ..Default::default()
        },
        "id_token.c_hash",
    )
    .await;
}

#[tokio::test]
async fn key_rotation_is_accepted_after_one_refetch() {
    let scenario = Scenario {
        jwks_first: vec![Key::A],
        jwks_later: vec![Key::B],
        front_sign: Sign::Rs256(Key::B, Some("key-b")),
        back_sign: Sign::Rs256(Key::B, Some("key-b")),
        ..Default::default()
    };
    let (r, h) = run(scenario).await;
    assert!(r.ok, "{r:#?}");
    assert_eq!(h.counters.jwks_fetches.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn unknown_kid_is_rejected_after_one_refetch() {
    let (r, h) = run(Scenario {
        front_sign: Sign::Rs256(Key::Attacker, Some("key-zzz")),
        ..Default::default()
    })
    .await;
    assert_failed(&r, "id_token", "id_token.unknown_kid");
    assert_eq!(
        h.counters.jwks_fetches.load(Ordering::SeqCst),
        2,
        "exactly one re-fetch"
    );
}

#[tokio::test]
async fn multi_tenant_allowed_and_not_allowed() {
    let scenario = Scenario {
        segment: "organizations".into(),
        tid: OTHER_TENANT.into(),
        ..Default::default()
    };
    let (r, _, _) = run_with(scenario.clone(), BrowserPlan::default(), |h| {
        multi_profile(h, &[OTHER_TENANT])
    })
    .await;
    assert!(
        r.ok,
        "template issuer filled with tid, tenant allowed: {r:#?}"
    );
    let (r, h, _) = run_with(scenario, BrowserPlan::default(), |h| {
        multi_profile(h, &[TENANT])
    })
    .await;
    assert_failed(&r, "id_token", "id_token.tenant_not_allowed");
    assert_eq!(r.error.unwrap().step, Some(6));
    assert_eq!(h.counters.token_calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn back_channel_token_is_validated_too() {
    let (r, _) = run(Scenario {
        back: mutate(|c| c["nonce"] = json!("other")),
        ..Default::default()
    })
    .await;
    assert_failed(&r, "token_id_token", "id_token.nonce");
    let (r, _) = run(Scenario {
        back: mutate(|c| c["sub"] = json!("someone-else")),
        ..Default::default()
    })
    .await;
    assert_failed(&r, "token_id_token", "callback.invalid");
}

#[tokio::test]
async fn wrong_state_is_refused_and_the_wait_goes_on() {
    let plan = BrowserPlan {
        wrong_state_first: true,
        ..Default::default()
    };
    let (r, _, seen) = run_with(Scenario::default(), plan, profile).await;
    assert!(r.ok, "{r:#?}");
    assert_eq!(seen, [400, 200]);
    assert!(
        r.ignored_requests.iter().any(|i| i.contains("wrong state")),
        "{:?}",
        r.ignored_requests
    );
}

#[tokio::test]
async fn only_a_wrong_state_ends_in_the_timeout() {
    let h = start(Scenario::default()).await;
    let seen: Seen = Arc::new(Mutex::new(Vec::new()));
    let plan = BrowserPlan {
        only_wrong_state: true,
        ..Default::default()
    };
    let opts = options(
        plan,
        seen.clone(),
        Duration::from_millis(1500),
        Limits::default(),
    );
    let cred = ClientCredential::Secret(Sensitive::new("s3cret".into()));
    let started = Instant::now();
    let r = sso_test::run(&profile(&h), &cred, &opts, &CancellationToken::new())
        .await
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(4));
    assert_failed(&r, "callback", "loopback.timeout");
    assert_eq!(*seen.lock().unwrap(), [400]);
}

#[tokio::test]
async fn cancel_ends_the_wait() {
    let h = start(Scenario::default()).await;
    let opts = options(
        BrowserPlan {
            idle: true,
            ..Default::default()
        },
        Seen::default(),
        Duration::from_secs(30),
        Limits::default(),
    );
    let cancel = CancellationToken::new();
    let c2 = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        c2.cancel();
    });
    let cred = ClientCredential::Secret(Sensitive::new("s3cret".into()));
    let started = Instant::now();
    let r = sso_test::run(&profile(&h), &cred, &opts, &cancel)
        .await
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(r.error.unwrap().code, "sso_test.cancelled");
}

fn error_fields(error: &str, description: &str) -> Option<Vec<(String, String)>> {
    Some(vec![
        ("error".into(), error.into()),
        ("error_description".into(), description.into()),
    ])
}

#[tokio::test]
async fn aadsts_errors_in_the_callback() {
    let cases = [
        (
            "AADSTS700054: response_type 'id_token' is not enabled for the application.",
            "AADSTS700054",
            Some(2),
        ),
        (
            "AADSTS65001: The user or administrator has not consented to use the application.",
            "AADSTS65001",
            Some(4),
        ),
        ("AADSTS9999999: Something new.", "AADSTS9999999", None),
    ];
    for (desc, code, step) in cases {
        let (r, h) = run(Scenario {
            callback_fields: error_fields("invalid_request", desc),
            ..Default::default()
        })
        .await;
        assert_failed(&r, "callback", code);
        let e = r.error.unwrap();
        assert_eq!(e.step, step, "{code}");
        assert!(
            e.message.contains(desc),
            "Microsoft's text is shown verbatim: {}",
            e.message
        );
        assert_eq!(h.counters.token_calls.load(Ordering::SeqCst), 0);
    }
    let desc = "AADSTS50011: The redirect URI 'http://localhost:53123/entra-onboard/callback' specified in the request does not match the redirect URIs configured for the application 'x'.";
    let (r, _) = run(Scenario {
        callback_fields: error_fields("invalid_request", desc),
        ..Default::default()
    })
    .await;
    assert_failed(&r, "callback", "AADSTS50011");
    let e = r.error.unwrap();
    assert_eq!(e.step, Some(2));
    assert!(
        e.message
            .contains("'http://localhost:53123/entra-onboard/callback'"),
        "{}",
        e.message
    );
    assert!(e.message.contains("only in the port"), "{}", e.message);
}

#[tokio::test]
async fn aadsts_errors_at_the_token_endpoint() {
    for (code, n) in [("AADSTS7000215", 7000215u32), ("AADSTS7000222", 7000222)] {
        let err = json!({"error": "invalid_client", "error_description": format!("{code}: Invalid client secret provided."), "error_codes": [n]});
        let (r, _) = run(Scenario {
            redeem_error: Some((401, err)),
            ..Default::default()
        })
        .await;
        assert_failed(&r, "credential", code);
        assert_eq!(r.error.unwrap().step, Some(3));
    }
    let err = json!({"error": "invalid_client", "error_description": "AADSTS7000229: The client application is missing service principal in the tenant."});
    let (r, _) = run(Scenario {
        cc_error: Some((400, err)),
        ..Default::default()
    })
    .await;
    assert_failed(&r, "consent", "AADSTS7000229");
    assert_eq!(r.error.unwrap().step, Some(4));
}

#[tokio::test]
async fn junk_requests_are_refused_and_the_callback_still_works() {
    let plan = BrowserPlan {
        junk: vec![Junk::OtherPath, Junk::Oversized, Junk::SlowLorisWaited],
        ..Default::default()
    };
    let h = start(Scenario::default()).await;
    let seen: Seen = Arc::new(Mutex::new(Vec::new()));
    let limits = Limits {
        read_timeout: Duration::from_millis(400),
        ..Limits::default()
    };
    let opts = options(plan, seen.clone(), Duration::from_secs(5), limits);
    let cred = ClientCredential::Secret(Sensitive::new("s3cret".into()));
    let r = sso_test::run(&profile(&h), &cred, &opts, &CancellationToken::new())
        .await
        .unwrap();
    assert!(r.ok, "{r:#?}");
    assert_eq!(*seen.lock().unwrap(), [404, 413, 408, 200]);
    assert_eq!(r.ignored_requests.len(), 3, "{:?}", r.ignored_requests);
}

#[tokio::test]
async fn a_slow_loris_does_not_block_the_callback() {
    let plan = BrowserPlan {
        junk: vec![Junk::SlowLorisOpen],
        ..Default::default()
    };
    let h = start(Scenario::default()).await;
    let opts = options(
        plan,
        Seen::default(),
        Duration::from_secs(5),
        Limits::default(),
    ); // 5 s read timeout
    let cred = ClientCredential::Secret(Sensitive::new("s3cret".into()));
    let started = Instant::now();
    let r = sso_test::run(&profile(&h), &cred, &opts, &CancellationToken::new())
        .await
        .unwrap();
    assert!(r.ok, "{r:#?}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}
