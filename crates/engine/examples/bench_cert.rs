//! Certificate generation time (issue 4 target: ≤ 1 s median for RSA-2048 in release):
//! key generation, the self-signed certificate, the encrypted .pfx and reading it back —
//! everything `cert new` does before writing files.
//!
//! `cargo run --release -p entra-onboard-engine --example bench_cert [runs]`

use std::time::{Duration, Instant};

use entra_onboard_engine::steps::certificate::{CertificateRequest, generate};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let runs: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(21);
    for (bits, n) in [
        (2048u32, runs),
        (3072, runs.div_ceil(3)),
        (4096, runs.div_ceil(3)),
    ] {
        let req = CertificateRequest {
            common_name: "Bench service desk (Entra Onboard)".into(),
            key_bits: bits,
            months: 12,
        };
        let mut times = Vec::with_capacity(n);
        for _ in 0..n {
            let t = Instant::now();
            let c = generate(&req, chrono::Utc::now()).expect("generate");
            times.push(t.elapsed());
            assert_eq!(c.info.key_bits, bits);
        }
        let max = *times.iter().max().unwrap();
        println!(
            "RSA-{bits}: median {:>8.1} ms, max {:>8.1} ms over {n} runs (key + certificate + .pfx)",
            median(times).as_secs_f64() * 1e3,
            max.as_secs_f64() * 1e3
        );
    }
}
