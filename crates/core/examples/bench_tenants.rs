//! The customer consent tracker at partner scale (issue 4: 500 tenants without freezing):
//! parse a 500-row CSV (with a header, names, and some bad rows), merge it into a profile,
//! build the tracker table with one consent link per tenant, and export it as CSV.
//!
//! `cargo run --release -p entra-onboard-core --example bench_tenants [tenants] [runs]`

use std::time::{Duration, Instant};

use entra_onboard_core::profile::{Features, Profile, TenantType};
use entra_onboard_core::steps::tenants::{add_tenants, export_csv, parse_tenant_list, tracker};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(500);
    let runs: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(51);
    let mut csv = String::from("Company name,Tenant ID,Primary domain\r\n");
    for i in 0..n {
        if i % 2 == 0 {
            csv.push_str(&format!(
                "\"Customer {i}, Ltd\",{:08x}-1111-4222-8333-{:012x},\r\n",
                i, i
            ));
        } else {
            csv.push_str(&format!("Customer {i},,customer{i}.onmicrosoft.com\r\n"));
        }
    }
    csv.push_str("Bad,not-a-guid,\r\n,,\r\n");
    let base = Profile {
        name: "Partner".into(),
        tenant_id: "72f988bf-86f1-41af-91ab-2d7cd011db47".into(),
        client_id: "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9".into(),
        agent_url: "https://partner.halopsa.com".into(),
        tenant_type: TenantType::Multi,
        features: Features {
            csp: true,
            import: false,
        },
        ..Profile::default()
    };
    let (mut parse, mut build, mut export, mut total) = (vec![], vec![], vec![], vec![]);
    for _ in 0..runs {
        let mut p = base.clone();
        let t0 = Instant::now();
        let import = parse_tenant_list(&csv).expect("parse");
        let t1 = Instant::now();
        add_tenants(&mut p, &import.rows);
        let table = tracker(&p);
        let t2 = Instant::now();
        let out = export_csv(&p);
        let t3 = Instant::now();
        assert_eq!(import.rows.len(), n);
        assert_eq!(import.rejected.len(), 2);
        assert!(table.rows.iter().all(|r| r.consent_url.is_some()));
        assert!(out.len() > n * 100);
        parse.push(t1 - t0);
        build.push(t2 - t1);
        export.push(t3 - t2);
        total.push(t3 - t0);
    }
    println!(
        "{n} tenants, median over {runs} runs: parse {:.2} ms, merge + tracker with {n} consent links {:.2} ms, CSV export {:.2} ms, total {:.2} ms",
        ms(median(parse)),
        ms(median(build)),
        ms(median(export)),
        ms(median(total))
    );
}
