//! Benchmark helper for `bench/intel.sh`.
//!
//! * `bench_match import STORE.db FILE...`: import feed files exactly as `medguard intel import`
//!   does (one transaction per file) and print the time;
//! * `bench_match STORE.db [ASSETS=10000]`: match N synthetic assets (services + SBOM components that
//!   name products of the synthetic NVD corpus) against the loaded store and print the timings.

use medguard_intel::{MatchOptions, Matcher};
use medguard_model::{Asset, Category, Sbom, SbomComponent, Service, Transport};
use medguard_store::SqliteStore;
use std::time::Instant;

fn import(mut args: impl Iterator<Item = String>) {
    let Some(db) = args.next() else {
        eprintln!("usage: bench_match import STORE.db FILE...");
        std::process::exit(2);
    };
    let mut store = match SqliteStore::open(std::path::Path::new(&db)) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("failed to open {db}: {e}");
            std::process::exit(1);
        }
    };
    let t = Instant::now();
    let mut records = 0;
    for f in args {
        match medguard_intel::import_file(&mut store, std::path::Path::new(&f), None) {
            Ok(r) => records += r.records,
            Err(e) => {
                eprintln!("failed to import {f}: {e}");
                std::process::exit(1);
            }
        }
    }
    println!(
        "imported={records} import_s={:.3}",
        t.elapsed().as_secs_f64()
    );
}

fn main() {
    let mut args = std::env::args().skip(1).peekable();
    if args.peek().map(String::as_str) == Some("import") {
        args.next();
        return import(args);
    }
    let Some(db) = args.next() else {
        eprintln!("usage: bench_match STORE.db [ASSETS]");
        std::process::exit(2);
    };
    let n: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(10_000);
    let t0 = Instant::now();
    let store = match SqliteStore::open(std::path::Path::new(&db)) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("failed to open {db}: {e}");
            std::process::exit(1);
        }
    };
    let open = t0.elapsed();
    // Deterministic pseudo-random numbers (xorshift), no extra dependency.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut rnd = |m: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % m
    };
    let mut assets = Vec::with_capacity(n);
    let mut sboms = Vec::with_capacity(n);
    for i in 0..n {
        let services = (0..3)
            .map(|k| Service {
                port: 1000 + k,
                transport: Transport::Tcp,
                protocol: "http".into(),
                product: Some(format!("product{}", rnd(40_000))),
                version: Some(format!("{}.{}", rnd(20), rnd(20))),
                banner: None,
                tls: None,
                attributes: Default::default(),
            })
            .chain(std::iter::once(Service {
                port: 22,
                transport: Transport::Tcp,
                protocol: "ssh".into(),
                product: Some("OpenSSH".into()),
                version: Some("8.9p1".into()),
                banner: None,
                tls: None,
                attributes: Default::default(),
            }))
            .collect();
        assets.push(Asset {
            ip: Some(std::net::IpAddr::from([
                10,
                (i >> 16) as u8,
                (i >> 8) as u8,
                i as u8,
            ])),
            category: if i % 5 == 0 {
                Category::Imaging
            } else {
                Category::Workstation
            },
            vendor: Some(format!("vendor{}", rnd(3000))),
            model: Some(format!("product{}", rnd(40_000))),
            firmware: Some(format!("{}.{}.{}", rnd(20), rnd(20), rnd(20))),
            os: Some("Windows 10 Pro".into()),
            services,
            ..Asset::default()
        });
        sboms.push(Sbom {
            format: "cyclonedx-json".into(),
            subject: String::new(),
            components: (0..5)
                .map(|_| {
                    let v = rnd(3000);
                    let p = rnd(40_000);
                    SbomComponent {
                        name: format!("product{p}"),
                        version: format!("{}.{}", rnd(20), rnd(20)),
                        cpe: Some(format!("cpe:2.3:a:vendor{v}:product{p}:*:*:*:*:*:*:*:*")),
                        ..Default::default()
                    }
                })
                .collect(),
        });
    }
    let t1 = Instant::now();
    let mut m = match Matcher::new(&store, MatchOptions::default()) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("failed to load: {e}");
            std::process::exit(1);
        }
    };
    let load = t1.elapsed();
    let t2 = Instant::now();
    let mut found = 0usize;
    for (a, s) in assets.iter().zip(&sboms) {
        match m.match_asset(a, &[s]) {
            Ok(v) => found += v.len(),
            Err(e) => {
                eprintln!("failed to match: {e}");
                std::process::exit(1);
            }
        }
    }
    let first = t2.elapsed();
    // A second pass over the same assets: the per-product caches are warm ("after load").
    let t3 = Instant::now();
    for (a, s) in assets.iter().zip(&sboms) {
        let _ = m.match_asset(a, &[s]);
    }
    let warm = t3.elapsed();
    println!(
        "assets={n} components_per_asset={} matches={found} open_s={:.3} load_s={:.3} match_cold_s={:.3} match_warm_s={:.3}",
        3 + 1 + 1 + 5,
        open.as_secs_f64(),
        load.as_secs_f64(),
        first.as_secs_f64(),
        warm.as_secs_f64()
    );
}
