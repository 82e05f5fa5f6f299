//! `medguard demo`: a virtual practice on loopback (its devices, and a file share of synthetic
//! patient data), scanned, stored and reported, with no setup.

use crate::cmd::scan::{self, Job};
use crate::{GlobalArgs, exit};
use anyhow::Context;
use medguard_discover::scan::{Profile, ScanOptions};
use medguard_discover::sim::practice::Practice;
use medguard_discover::targets::Target;
use medguard_store::SqliteStore;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where to write the HTML report (default: demo-report.html beside the demo store).
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// The loopback block the simulated devices live on (first three octets, 127.x.y).
    #[arg(long, default_value = "127.88.0", value_name = "127.X.Y")]
    pub net: String,
}

fn parse_net(s: &str) -> anyhow::Result<[u8; 3]> {
    let parts: Vec<u8> = s
        .split('.')
        .map(|p| p.parse::<u8>())
        .collect::<Result<_, _>>()
        .with_context(|| format!("failed to parse --net {s:?}: expected 127.X.Y"))?;
    match parts.as_slice() {
        [127, b, c] => Ok([127, *b, *c]),
        _ => anyhow::bail!("failed to parse --net {s:?}: expected 127.X.Y (loopback only)"),
    }
}

pub fn run(g: &GlobalArgs, args: Args) -> anyhow::Result<i32> {
    let net = parse_net(&args.net)?;
    // The demo never mixes with the real inventory unless --db says so.
    let db = match &g.db {
        Some(p) => p.clone(),
        None => SqliteStore::default_path()?.with_file_name("demo.db"),
    };
    let report = args
        .report
        .clone()
        .unwrap_or_else(|| db.with_file_name("demo-report.html"));
    let mut store = SqliteStore::open(&db)
        .with_context(|| format!("failed to open the demo store {}", db.display()))?;
    let rt = scan::runtime()?;
    let practice = rt.block_on(Practice::start(net))?;
    if !g.quiet && !g.json {
        eprintln!("virtual practice started on {}.0/24:", args.net);
        for d in &practice.devices {
            let ports: Vec<String> = d.ports.iter().map(|(t, p)| format!("{p}/{t}")).collect();
            eprintln!("  {:<13} {:<48} {}", d.ip, d.role, ports.join(" "));
        }
        eprintln!(
            "  {:<13} a switched-off device (answers nothing)",
            silent_ip(net)
        );
    }
    let mut opts = ScanOptions::for_profile(Profile::Default);
    let ports = practice.ports();
    for p in ports.tcp {
        if !opts.ports.tcp.contains(&p) {
            opts.ports.tcp.push(p);
        }
    }
    for p in ports.udp {
        if !opts.ports.udp.contains(&p) {
            opts.ports.udp.push(p);
        }
    }
    opts.probe_ports = practice.probe_ports();
    let mut targets: Vec<Target> = practice
        .addresses()
        .into_iter()
        .map(|ip| Target { ip, hostname: None })
        .collect();
    targets.push(Target {
        ip: silent_ip(net),
        hostname: None,
    });
    let job = Job {
        source: "demo",
        targets_text: format!("{}.10-21 (virtual practice)", args.net),
        targets,
        opts,
        fail_on: None,
    };
    let outcome = scan::execute(g, &rt, &mut store, job)?;
    drop(practice);
    // The practice's file share: synthetic exports, letters, messages and images (the PHI corpus
    // at its smallest, regenerated each run), scanned for patient data into the same store.
    let share = db.with_file_name("demo-share");
    if share.exists() {
        std::fs::remove_dir_all(&share)
            .with_context(|| format!("failed to clear the demo share {}", share.display()))?;
    }
    medguard_phi::corpus::generate(&share, 7, 1)
        .with_context(|| format!("failed to write the demo share {}", share.display()))?;
    let key = db.with_file_name("demo-phi.key");
    let hasher = medguard_phi::Hasher::load_or_create(&key)
        .with_context(|| format!("failed to prepare the hashing key {}", key.display()))?;
    let phi = super::phi::scan_into(&mut store, std::slice::from_ref(&share), &hasher)?;
    let html = medguard_report::render_html(&store).context("failed to render the report")?;
    std::fs::write(&report, html)
        .with_context(|| format!("failed to write the report {}", report.display()))?;
    if !g.quiet && !g.json {
        eprintln!(
            "\n{} simulated devices scanned; patient data in {} of the {} files of the practice \
             share {}.\nReport: {}\nInventory: medguard --db {} inventory\n\
             Patient data: medguard --db {} phi show",
            outcome.up,
            phi.files_with_phi,
            phi.files_scanned,
            share.display(),
            report.display(),
            db.display(),
            db.display()
        );
    }
    Ok(if outcome.code == exit::FINDINGS {
        exit::OK
    } else {
        outcome.code
    })
}

/// An address in the practice's block where nothing listens.
fn silent_ip(net: [u8; 3]) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(net[0], net[1], net[2], 20))
}
