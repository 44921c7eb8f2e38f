//! Sync preview over a generated directory served by the Graph double: prints wall time
//! (median over N runs), pages, requests and peak memory (VmHWM from /proc/self/status,
//! Linux only) before and after the preview.
//!
//! The double runs in this process, so the peak includes its directory; the "before"
//! figure is taken once the directory is generated and loaded, and the difference is
//! what the preview itself added at most.
//!
//! Run: `cargo run --release -p entra-onboard-engine --example bench_sync -- [users] [runs]`
//! (defaults 50000 and 3).

use std::sync::Arc;
use std::time::Instant;

use entra_onboard_engine::graph::{GraphClient, StaticToken};
use entra_onboard_engine::ids::Sensitive;
use entra_onboard_engine::profile::Profile;
use entra_onboard_engine::steps::sync::{FieldMapping, MatchRule};
use entra_onboard_engine::sync_preview::{
    CancellationToken, PreviewOptions, PreviewProgress, PreviewProgressFn, PreviewTenant, csv,
    preview,
};
use entra_onboard_sandbox::directory::{
    self, AGENTS_GROUP, DirectoryParams, PORTAL_GROUP, STAFF_GROUP,
};
use entra_onboard_sandbox::graph::GraphDouble;

fn vm_hwm_kib() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    s.lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn mib(k: Option<u64>) -> String {
    k.map(|k| format!("{:.1} MiB", k as f64 / 1024.0))
        .unwrap_or_else(|| "n/a".into())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut args = std::env::args().skip(1);
    let users: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(50_000);
    let runs: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(3).max(1);

    let g = GraphDouble::start().await.expect("double");
    let t0 = Instant::now();
    g.set_directory(directory::generate(&DirectoryParams {
        users,
        ..DirectoryParams::default()
    }));
    let generated = t0.elapsed();
    let before = vm_hwm_kib();

    let mut p = Profile::new("Bench");
    p.tenant_id = g.tenant_id();
    p.client_id = "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9".into();
    p.agent_url = "https://bench.halopsa.com".into();
    p.features.import = true;
    p.sync.technician_groups = vec![AGENTS_GROUP.into()];
    p.sync.user_groups = vec![PORTAL_GROUP.into()];
    p.sync.service_account_group = Some(STAFF_GROUP.into());
    p.sync.field_mappings = vec![
        FieldMapping {
            entra: "mail".into(),
            halo: "Email".into(),
        },
        FieldMapping {
            entra: "onPremisesSamAccountName".into(),
            halo: "Network Login".into(),
        },
    ];
    p.sync.matching_order = vec![
        MatchRule::AzureId,
        MatchRule::Email,
        MatchRule::NetworkLogin,
    ];

    let mut times = Vec::new();
    let mut group_times = Vec::new();
    let mut last = None;
    for _ in 0..runs {
        // When the first user page arrives, the group members have all been read.
        let first_page: Arc<std::sync::Mutex<Option<Instant>>> = Arc::default();
        let progress: PreviewProgressFn = {
            let first_page = first_page.clone();
            Arc::new(move |e: &PreviewProgress| {
                if let PreviewProgress::Page { pages: 1, .. } = e {
                    *first_page.lock().unwrap() = Some(Instant::now());
                }
            })
        };
        let client = GraphClient::new(
            &g.target(),
            Arc::new(StaticToken::new(Sensitive::new(g.token()))),
        )
        .expect("client");
        let tenants = vec![PreviewTenant {
            tenant_id: g.tenant_id(),
            client,
        }];
        let start = Instant::now();
        let r = preview(
            &p,
            &tenants,
            &PreviewOptions::default(),
            Some(progress),
            &CancellationToken::new(),
        )
        .await
        .expect("preview");
        times.push(start.elapsed());
        if let Some(t) = *first_page.lock().unwrap() {
            group_times.push(t - start);
        }
        last = Some(r);
    }
    let after = vm_hwm_kib();
    times.sort();
    group_times.sort();
    let r = last.expect("one run");
    let mut csv_bytes = Vec::new();
    let c0 = Instant::now();
    csv::write_csv(&r, &mut csv_bytes).expect("csv");
    let csv_time = c0.elapsed();

    println!("sync preview over the Graph double");
    println!("  users                 {}", r.totals.read);
    println!(
        "  outcome               {} technicians, {} end users, {} service accounts, {} made inactive, {} not imported",
        r.totals.technicians,
        r.totals.end_users,
        r.totals.service_accounts,
        r.totals.deactivated,
        r.totals.not_imported
    );
    println!(
        "  user pages / requests {} / {}",
        r.tenants[0].pages, r.requests
    );
    println!(
        "  generate directory    {:.0} ms",
        generated.as_secs_f64() * 1000.0
    );
    println!(
        "  preview (median of {runs}) {:.0} ms (min {:.0}, max {:.0})",
        times[times.len() / 2].as_secs_f64() * 1000.0,
        times[0].as_secs_f64() * 1000.0,
        times[times.len() - 1].as_secs_f64() * 1000.0
    );
    if let Some(g) = group_times.get(group_times.len() / 2) {
        println!(
            "  of which group members {:.0} ms (until the first user page)",
            g.as_secs_f64() * 1000.0
        );
    }
    println!(
        "  CSV                   {:.1} MiB in {:.0} ms",
        csv_bytes.len() as f64 / 1048576.0,
        csv_time.as_secs_f64() * 1000.0
    );
    println!("  VmHWM before preview  {}", mib(before));
    println!("  VmHWM after preview   {}", mib(after));
    if let (Some(b), Some(a)) = (before, after) {
        println!("  preview added (peak)  {}", mib(Some(a.saturating_sub(b))));
    }
}
