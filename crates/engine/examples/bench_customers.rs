//! The customer list over a partner's scale (issue 18): what a keystroke in the search box
//! and a scroll step cost with the app's card cache, against re-reading every profile (the
//! dashboard's scan) each time. Prints figures; not a test.
//!
//! `cargo run --release -p entra-onboard-engine --example bench_customers [customers] [runs]`

use std::time::{Duration, Instant};

use chrono::NaiveDate;
use entra_onboard_engine::customer_list::{CardCache, CustomerFilter, CustomerQuery, CustomerSort};
use entra_onboard_engine::dashboard::dashboard;
use entra_onboard_engine::profile::{CredentialKind, Profile, ProfileStore};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let runs: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(9);
    let dir = tempfile::tempdir().expect("a temporary folder");
    let store = ProfileStore::at(dir.path());
    let today: NaiveDate = "2025-06-01".parse().unwrap();
    for i in 0..n {
        let mut p = Profile::new(&format!("Customer {i:04}"));
        p.agent_url = format!("https://c{i:04}.halopsa.com");
        p.tenant_id = "72f988bf-86f1-41af-91ab-2d7cd011db47".into();
        p.client_id = "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9".into();
        p.credential.kind = CredentialKind::Secret;
        p.credential.expires_on = Some(today + chrono::Duration::days((i % 400) as i64 - 20));
        store.save(&p).expect("save");
    }
    // As in the app, the folder has settled since its last write: its stamp is trusted
    // (within `RACY` of a write every query compares the files' stamps too).
    std::thread::sleep(entra_onboard_engine::customer_list::RACY + Duration::from_millis(500));

    // Before: every keystroke re-read and re-planned every profile.
    let scan = median(
        (0..runs)
            .map(|_| {
                let t = Instant::now();
                let d = dashboard(&store, today).expect("dashboard");
                assert_eq!(d.customers.len(), n);
                t.elapsed()
            })
            .collect(),
    );

    // The cache: the first page reads every file once ...
    let cache = CardCache::new();
    let page = |search: &str, filters: Vec<CustomerFilter>, offset: usize| CustomerQuery {
        search: search.into(),
        filters,
        sort: CustomerSort::Expiry,
        offset,
        limit: 24,
    };
    let t = Instant::now();
    let first = cache
        .page(&store, today, &page("", vec![], 0))
        .expect("page");
    let cold = t.elapsed();
    assert_eq!(first.total, n);

    // ... then each keystroke of a search, each scroll step and each filter reads none.
    let typed = "customer 0999";
    let mut keys = Vec::new();
    let mut scrolls = Vec::new();
    for _ in 0..runs {
        for end in 1..=typed.len() {
            let t = Instant::now();
            cache
                .page(&store, today, &page(&typed[..end], vec![], 0))
                .expect("page");
            keys.push(t.elapsed());
        }
        for offset in (0..n).step_by(n.div_ceil(20).max(1)) {
            let t = Instant::now();
            cache
                .page(&store, today, &page("", vec![], offset))
                .expect("page");
            scrolls.push(t.elapsed());
        }
    }
    let t = Instant::now();
    let expiring = cache
        .page(&store, today, &page("", vec![CustomerFilter::Expiring], 0))
        .expect("page");
    let filter = t.elapsed();
    assert_eq!(cache.files_read(), n as u64, "queries read no file");

    println!("{n} customers, medians of {runs} runs (release build recommended):");
    println!(
        "  dashboard scan (read + plan every profile)     {:>8.2} ms",
        ms(scan)
    );
    println!(
        "  first page, cold cache (reads every file once)  {:>8.2} ms",
        ms(cold)
    );
    println!(
        "  search keystroke, cached                        {:>8.2} ms  (max {:.2} ms over {} keystrokes)",
        ms(median(keys.clone())),
        ms(*keys.iter().max().unwrap()),
        keys.len()
    );
    println!(
        "  scroll step (a page of 24 at an offset), cached {:>8.2} ms",
        ms(median(scrolls))
    );
    println!(
        "  filter \"expiring\" ({} match), cached           {:>8.2} ms",
        expiring.total,
        ms(filter)
    );
    println!(
        "  files read by the cache over all queries: {}",
        cache.files_read()
    );
}
