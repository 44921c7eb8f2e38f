use super::*;
use crate::cloud::Cloud;
use crate::dashboard::{ConsentCoverage, expiry_level};
use crate::profile::{CredentialKind, LastTest, Profile};
use proptest::prelude::*;

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

const TODAY: &str = "2025-06-01";

/// A card as the dashboard would make it, without planning a profile (fast enough for a
/// property test over many lists).
fn card(id: &str, name: &str, expires_in: Option<i64>) -> CustomerCard {
    let today = d(TODAY);
    let expires_on = expires_in.map(|n| today + chrono::Duration::days(n));
    let (expiry, days_left) = expiry_level(expires_on, today);
    CustomerCard {
        id: id.into(),
        name: name.into(),
        agent_url: format!(
            "https://{}.halopsa.com",
            name.to_lowercase().replace(' ', "-")
        ),
        tenant_id: String::new(),
        cloud: Cloud::Global,
        sandbox: false,
        verified_at: None,
        signed_in_as: None,
        last_test: None,
        credential_kind: CredentialKind::Secret,
        expires_on,
        expiry,
        days_left: days_left.map(|x| x as i32),
        errors: 0,
        warnings: 0,
        consent: ConsentCoverage::default(),
        updated_at: None,
        expiring_app: crate::profile::CustomerApp::Main,
        expiry_subject: String::new(),
        app_expiries: Vec::new(),
        rotation: None,
        can_rotate: false,
    }
}

fn ids(p: &CustomerPage) -> Vec<&str> {
    p.cards.iter().map(|c| c.id.as_str()).collect()
}

fn q(search: &str, filters: &[CustomerFilter], sort: CustomerSort) -> CustomerQuery {
    CustomerQuery {
        search: search.into(),
        filters: filters.to_vec(),
        sort,
        offset: 0,
        limit: MAX_PAGE,
    }
}

#[test]
fn soonest_expiry_first_then_no_date_and_names_break_ties() {
    let cards = [
        card("a", "Zeta", None),
        card("b", "beta", Some(40)),
        card("c", "Alpha", Some(-3)),
        card("d", "Alpha", Some(40)),
        card("e", "Acme", None),
        card("f", "gamma", Some(5)),
    ];
    let by = |s| ids(&page(&cards, &[], &q("", &[], s))).join(",");
    assert_eq!(by(CustomerSort::Expiry), "c,f,d,b,e,a");
    assert_eq!(
        by(CustomerSort::Name),
        "e,c,d,b,f,a",
        "case-insensitive, ids break ties"
    );
    let mut recent = cards.clone();
    recent[0].updated_at = Some("2025-05-01T00:00:00Z".parse().unwrap());
    recent[5].updated_at = Some("2025-05-02T00:00:00Z".parse().unwrap());
    assert_eq!(
        ids(&page(&recent, &[], &q("", &[], CustomerSort::Recent))).join(","),
        "f,a,e,c,d,b",
        "most recently saved first, then never-saved by name"
    );
}

#[test]
fn each_filter_keeps_what_it_says_and_several_keep_what_passes_all() {
    let mut expiring = card("exp", "Expiring", Some(45));
    expiring.verified_at = Some("2025-05-01T00:00:00Z".parse().unwrap());
    let ok_far = {
        let mut c = card("far", "Far away", Some(61));
        c.verified_at = Some("2025-05-01T00:00:00Z".parse().unwrap());
        c
    };
    let expired = card("old", "Expired", Some(-1));
    let mut failed_test = card("fail", "Failed test", None);
    failed_test.last_test = Some(LastTest::new(
        false,
        chrono::Utc::now(),
        Some("AADSTS65001"),
        None,
    ));
    let mut passed_test = card("pass", "Passed test", None);
    passed_test.last_test = Some(LastTest::new(true, chrono::Utc::now(), None, None));
    passed_test.verified_at = Some("2025-05-01T00:00:00Z".parse().unwrap());
    let mut declined = card("decl", "Declined", None);
    declined.verified_at = Some("2025-05-01T00:00:00Z".parse().unwrap());
    declined.consent.declined = 1;
    let mut sandbox = card("sbx", "Sandbox practice", None);
    sandbox.sandbox = true;
    let cards = [
        expiring,
        ok_far,
        expired,
        failed_test,
        passed_test,
        declined,
        sandbox,
    ];
    let only = |f: &[CustomerFilter]| {
        let mut v: Vec<String> = page(&cards, &[], &q("", f, CustomerSort::Name))
            .cards
            .into_iter()
            .map(|c| c.id)
            .collect();
        v.sort();
        v.join(",")
    };
    use CustomerFilter::*;
    assert_eq!(only(&[Expiring]), "exp,old", "the 60-day warning and past");
    assert_eq!(
        only(&[Failing]),
        "decl,fail",
        "a failed test or a refused consent"
    );
    assert_eq!(only(&[Unverified]), "fail,old,sbx");
    assert_eq!(only(&[Sandbox]), "sbx");
    assert_eq!(only(&[Expiring, Unverified]), "old");
    assert_eq!(only(&[Sandbox, Failing]), "");
    let p = page(&cards, &[], &q("", &[], CustomerSort::Name));
    assert_eq!(
        p.counts,
        CustomerFilterCounts {
            expiring: 2,
            failing: 2,
            unverified: 3,
            sandbox: 1
        }
    );
    assert_eq!((p.total, p.customers), (7, 7));
    assert_eq!(p.practice_id.as_deref(), Some("sbx"));
}

#[test]
fn pages_are_clamped_and_an_offset_past_the_end_is_an_empty_page() {
    let cards: Vec<CustomerCard> = (0..(MAX_PAGE + 50))
        .map(|i| card(&format!("{i:04}"), &format!("Customer {i:04}"), None))
        .collect();
    let mut query = q("", &[], CustomerSort::Name);
    query.limit = usize::MAX;
    let p = page(&cards, &[], &query);
    assert_eq!(p.cards.len(), MAX_PAGE);
    assert_eq!(p.total, MAX_PAGE + 50);
    query.offset = usize::MAX;
    let p = page(&cards, &[], &query);
    assert!(p.cards.is_empty());
    assert_eq!((p.offset, p.total), (usize::MAX, MAX_PAGE + 50));
    query.offset = 0;
    query.search = "customer 0007".into();
    assert_eq!(ids(&page(&cards, &[], &query)), ["0007"]);
}

fn arb_card() -> impl Strategy<Value = CustomerCard> {
    (
        prop::sample::select(vec![
            "Contoso",
            "contoso",
            "Fabrikam",
            "Northwind",
            "",
            "Acme Ltd",
        ]),
        prop::option::of(-10i64..100),
        any::<bool>(),
        any::<bool>(),
        prop::option::of(any::<bool>()),
        0usize..2,
        prop::option::of(0i64..5),
    )
        .prop_map(|(name, exp, verified, sandbox, last_ok, declined, saved)| {
            let mut c = card("", name, exp);
            c.verified_at = verified.then(|| "2025-05-01T00:00:00Z".parse().unwrap());
            c.sandbox = sandbox;
            c.last_test = last_ok.map(|ok| LastTest::new(ok, chrono::Utc::now(), None, None));
            c.consent.declined = declined;
            c.updated_at = saved.map(|h| {
                "2025-05-01T00:00:00Z"
                    .parse::<chrono::DateTime<chrono::Utc>>()
                    .unwrap()
                    + chrono::Duration::hours(h)
            });
            c
        })
}

fn arb_query() -> impl Strategy<Value = CustomerQuery> {
    (
        prop::sample::select(vec![
            "",
            "contoso",
            "CONTOSO halopsa",
            "ltd acme",
            "zzz",
            " ",
        ]),
        prop::sample::subsequence(CustomerFilter::ALL.to_vec(), 0..=4),
        prop::sample::select(vec![
            CustomerSort::Expiry,
            CustomerSort::Name,
            CustomerSort::Recent,
        ]),
        1usize..12,
    )
        .prop_map(|(search, filters, sort, limit)| CustomerQuery {
            search: search.into(),
            filters,
            sort,
            offset: 0,
            limit,
        })
}

proptest! {
    /// Paging through any query, page after page, shows every matching card exactly once,
    /// in one order, and nothing else: a scrolled list never repeats or loses a customer.
    #[test]
    fn paging_covers_every_matching_card_exactly_once(
        mut cards in prop::collection::vec(arb_card(), 0..40),
        query in arb_query(),
    ) {
        for (i, c) in cards.iter_mut().enumerate() {
            c.id = format!("id-{i:03}");
        }
        let whole = page(&cards, &[], &CustomerQuery { limit: MAX_PAGE, ..query.clone() });
        let mut seen: Vec<String> = Vec::new();
        let mut offset = 0;
        loop {
            let p = page(&cards, &[], &CustomerQuery { offset, ..query.clone() });
            prop_assert_eq!(p.total, whole.total);
            prop_assert!(p.cards.len() <= query.limit);
            if p.cards.is_empty() {
                break;
            }
            seen.extend(p.cards.iter().map(|c| c.id.clone()));
            offset += query.limit;
        }
        let whole_ids: Vec<String> = whole.cards.iter().map(|c| c.id.clone()).collect();
        prop_assert_eq!(&seen, &whole_ids, "pages in sequence = the whole list");
        let unique: HashSet<&String> = seen.iter().collect();
        prop_assert_eq!(unique.len(), seen.len(), "no card twice");
        // Exactly the cards that pass the search and every filter.
        let mut expected: Vec<String> = cards
            .iter()
            .filter(|c| c.matches(&query.search) && query.filters.iter().all(|f| f.keeps(c)))
            .map(|c| c.id.clone())
            .collect();
        let mut got = seen.clone();
        expected.sort();
        got.sort();
        prop_assert_eq!(got, expected);
        // The order is the sort's: soonest expiry first (no date last) or by name.
        for w in whole.cards.windows(2) {
            match query.sort {
                CustomerSort::Expiry => {
                    let in_order = match (w[0].expires_on, w[1].expires_on) {
                        (Some(a), Some(b)) => a <= b,
                        (None, Some(_)) => false,
                        _ => true,
                    };
                    prop_assert!(in_order);
                }
                CustomerSort::Name => prop_assert!(w[0].name.to_lowercase() <= w[1].name.to_lowercase()),
                CustomerSort::Recent => prop_assert!(w[0].updated_at >= w[1].updated_at),
            }
        }
    }
}

fn saved(store: &ProfileStore, name: &str, expires: Option<&str>) -> Profile {
    let mut p = Profile::new(name);
    p.credential.kind = CredentialKind::Secret;
    p.credential.expires_on = expires.map(d);
    store.save(&p).unwrap()
}

#[test]
fn the_cache_reads_only_what_changed() {
    let dir = tempfile::tempdir().unwrap();
    let store = ProfileStore::at(dir.path());
    let cache = CardCache::new();
    let today = d(TODAY);
    let all = q("", &[], CustomerSort::Name);

    // No folder yet: an empty list, not an error.
    assert_eq!(cache.page(&store, today, &all).unwrap().customers, 0);
    let acme = saved(&store, "Acme", Some("2025-06-20"));
    let mut contoso = saved(&store, "Contoso", None);
    saved(&store, "Fabrikam", None);
    let p = cache.page(&store, today, &all).unwrap();
    assert_eq!(ids(&p).len(), 3);
    assert_eq!(cache.files_read(), 3);

    // Typing and scrolling: no file is read.
    for search in ["a", "ac", "acm", "acme"] {
        let p = cache
            .page(&store, today, &q(search, &[], CustomerSort::Expiry))
            .unwrap();
        assert_eq!(p.cards[0].name, "Acme");
    }
    cache
        .page(
            &store,
            today,
            &q("", &[CustomerFilter::Expiring], CustomerSort::Name),
        )
        .unwrap();
    assert_eq!(cache.files_read(), 3, "queries read nothing");

    // A save (from the app, the CLI or another process) is noticed by its stamp: one read.
    contoso.name = "Contoso Pharma".into();
    contoso = store.save(&contoso).unwrap();
    let p = cache
        .page(&store, today, &q("pharma", &[], CustomerSort::Name))
        .unwrap();
    assert_eq!(ids(&p), [contoso.id.as_str()]);
    assert_eq!(cache.files_read(), 4);

    // A delete: gone from the list, nothing read.
    store.delete(&acme.id).unwrap();
    let p = cache.page(&store, today, &all).unwrap();
    assert_eq!(p.customers, 2);
    assert_eq!(cache.files_read(), 4);

    // A damaged file is listed as unreadable, never dropped.
    std::fs::write(dir.path().join("damaged.json"), "{").unwrap();
    let p = cache.page(&store, today, &all).unwrap();
    assert_eq!(p.unreadable.len(), 1);
    assert_eq!(p.unreadable[0].file, "damaged.json");
    assert_eq!(cache.files_read(), 5);

    // The app's own change: forget one profile, or all (after an import).
    cache.invalidate_profile(&contoso.id);
    cache.page(&store, today, &all).unwrap();
    assert_eq!(cache.files_read(), 6);
    cache.invalidate();
    cache.page(&store, today, &all).unwrap();
    assert_eq!(cache.files_read(), 9);

    // The next day, expiry levels move: every card is made again.
    let later = cache.page(&store, d("2025-07-01"), &all).unwrap();
    assert_eq!(cache.files_read(), 12);
    assert_eq!(later.customers, 2);
}

#[test]
fn the_cache_agrees_with_the_dashboard() {
    let dir = tempfile::tempdir().unwrap();
    let store = ProfileStore::at(dir.path());
    for (i, exp) in [
        Some("2025-06-03"),
        None,
        Some("2025-05-01"),
        Some("2026-01-01"),
    ]
    .into_iter()
    .enumerate()
    {
        saved(&store, &format!("Customer {i}"), exp);
    }
    let mut practice = Profile::new("Sandbox practice");
    practice.authority = Some("http://127.0.0.1:47123".into());
    let practice = store.save(&practice).unwrap();
    let today = d(TODAY);
    let dash = crate::dashboard::dashboard(&store, today).unwrap();
    let cache = CardCache::new();
    let p = cache
        .page(&store, today, &q("", &[], CustomerSort::Recent))
        .unwrap();
    assert_eq!(
        p.cards, dash.customers,
        "same cards, same order as the CLI's dashboard"
    );
    assert_eq!(p.practice_id.as_deref(), Some(practice.id.as_str()));
    let soonest = cache
        .page(&store, today, &q("", &[], CustomerSort::Expiry))
        .unwrap();
    let names: Vec<&str> = soonest.cards.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Customer 2",
            "Customer 0",
            "Customer 3",
            "Customer 1",
            "Sandbox practice"
        ]
    );
}

#[test]
fn a_query_from_the_webview_deserialises_with_defaults() {
    let q: CustomerQuery = serde_json::from_str(r#"{"search":"acme","limit":20}"#).unwrap();
    assert_eq!(q.sort, CustomerSort::Expiry);
    assert!(q.filters.is_empty());
    assert_eq!(q.offset, 0);
    let q: CustomerQuery = serde_json::from_str(
        r#"{"filters":["expiring","failing","unverified","sandbox"],"sort":"name"}"#,
    )
    .unwrap();
    assert_eq!(q.filters, CustomerFilter::ALL);
    assert!(serde_json::from_str::<CustomerQuery>(r#"{"filters":["everything"]}"#).is_err());
}

#[test]
fn a_settled_folder_is_trusted_until_a_write_changes_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = ProfileStore::at(dir.path());
    let acme = saved(&store, "Acme", None);
    saved(&store, "Contoso", None);
    // The folder last changed a minute ago: its stamp can be trusted to show the next write.
    let settle = || {
        std::fs::File::open(dir.path())
            .unwrap()
            .set_modified(SystemTime::now() - std::time::Duration::from_secs(60))
            .unwrap();
    };
    settle();
    let cache = CardCache::new();
    let today = d(TODAY);
    let all = q("", &[], CustomerSort::Name);
    assert_eq!(cache.page(&store, today, &all).unwrap().customers, 2);
    assert_eq!(cache.files_read(), 2);
    for _ in 0..3 {
        cache.page(&store, today, &all).unwrap();
    }
    assert_eq!(cache.files_read(), 2);

    // A save renames a new file into the folder: the folder's stamp changes, the card too.
    let mut renamed = store.load(&acme.id).unwrap();
    renamed.name = "Acme Holdings".into();
    store.save(&renamed).unwrap();
    let p = cache
        .page(&store, today, &q("holdings", &[], CustomerSort::Name))
        .unwrap();
    assert_eq!(ids(&p), [acme.id.as_str()]);
    assert_eq!(cache.files_read(), 3);

    // A delete, even once the folder has settled again.
    settle();
    cache.page(&store, today, &all).unwrap();
    store.delete(&acme.id).unwrap();
    assert_eq!(cache.page(&store, today, &all).unwrap().customers, 1);
}

/// The banner's names: every customer with a rotation left in progress, whatever the
/// search, filters and window (issue 15 on issue 18's list).
#[test]
fn rotations_in_progress_are_named_whatever_the_window() {
    let mut cards: Vec<CustomerCard> = (0..50)
        .map(|i| card(&format!("{i:02}"), &format!("Customer {i:02}"), Some(i)))
        .collect();
    let resume = crate::rotation::ResumeChoice {
        state: crate::rotation::RotationState::WaitingForHalo,
        state_label: "waiting".into(),
        can_finish: true,
        can_roll_back: true,
        advice: String::new(),
    };
    cards[3].rotation = Some(resume.clone());
    cards[47].rotation = Some(resume);
    let mut query = q("Customer 1", &[], CustomerSort::Name);
    query.limit = 2;
    let p = page(&cards, &[], &query);
    assert_eq!(p.cards.len(), 2);
    assert_eq!(p.rotating, ["Customer 03", "Customer 47"]);
}
