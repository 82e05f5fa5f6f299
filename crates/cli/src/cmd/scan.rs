//! `medguard scan`: discover, identify, assess and store the devices of a network.

use crate::{GlobalArgs, exit, output};
use anyhow::Context;
use medguard_discover::ports::PortList;
use medguard_discover::scan::{HostResult, Profile, ScanOptions, Scanner};
use medguard_discover::targets::{self, Scope, Target};
use medguard_model::{Asset, HostStatus, Severity};
use medguard_store::{Change, InventoryStore, SqliteStore};
use std::collections::{BTreeMap, HashSet};
use std::io::Write;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ProfileArg {
    /// Tens of connections per second per host, two at a time.
    Default,
    /// For fragile clinical devices: slower, one connection at a time, no payload probes.
    Gentle,
}

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  medguard scan 192.168.10.0/24\n  medguard scan 10.1.0.0/24 \
--profile gentle\n  medguard scan 10.1.0.5-40 --ports 1-1024,2575,U:161 --json\n  medguard scan \
@targets.txt --exclude 10.1.0.1 --fail-on high"
)]
pub struct Args {
    /// What to scan: addresses, CIDR blocks (192.168.1.0/24), ranges (10.0.0.1-20), hostnames, or
    /// @FILE with one per line.
    #[arg(required_unless_present = "list_probes", value_name = "TARGET")]
    pub targets: Vec<String>,
    /// How careful to be: `gentle` for fragile clinical devices.
    #[arg(long, value_enum, default_value = "default")]
    pub profile: ProfileArg,
    /// Ports, nmap style: `1-1024,2575,U:161`, or `all`. Default: the healthcare list.
    #[arg(long, short = 'p', conflicts_with = "top_ports")]
    pub ports: Option<String>,
    /// The N most important ports (healthcare list first).
    #[arg(long, value_name = "N")]
    pub top_ports: Option<usize>,
    /// Addresses, ranges or names never to touch (comma-separated; repeatable).
    #[arg(long, value_delimiter = ',')]
    pub exclude: Vec<String>,
    /// A file of addresses never to touch, one per line.
    #[arg(long, value_name = "FILE")]
    pub exclude_file: Option<PathBuf>,
    /// Allow public internet addresses (only ones you own and may scan).
    #[arg(long)]
    pub allow_public: bool,
    /// Refuse target lists larger than this.
    #[arg(long, default_value_t = targets::DEFAULT_MAX_HOSTS)]
    pub max_hosts: u64,
    /// Connections per second to one host (default 30, gentle 5).
    #[arg(long, value_name = "PER_SECOND")]
    pub host_rate: Option<f64>,
    /// Connections per second for the whole scan (default 1000, gentle 200).
    #[arg(long, value_name = "PER_SECOND")]
    pub max_rate: Option<f64>,
    /// Treat every address as up (skip host discovery), like nmap -Pn.
    #[arg(long)]
    pub no_ping: bool,
    /// Also run opt-in probes (default-credential checks); only with the owner's permission.
    #[arg(long)]
    pub opt_in_probes: bool,
    /// On ports nothing identified, try every safe probe (devices on non-standard ports).
    #[arg(long)]
    pub try_all_probes: bool,
    /// Run a probe on a non-standard port too, e.g. `smb:8445` or `dicom:5104` (repeatable).
    #[arg(long, value_name = "PROBE:PORT", value_parser = parse_service_port)]
    pub service_port: Vec<(String, u16)>,
    /// Exit with code 4 when a finding at or above this severity is found.
    #[arg(long, value_name = "SEVERITY")]
    pub fail_on: Option<Severity>,
    /// List the probes, what each sends and where, then exit.
    #[arg(long)]
    pub list_probes: bool,
}

/// One scan to run and record.
pub(crate) struct Job {
    pub source: &'static str,
    pub targets_text: String,
    pub targets: Vec<Target>,
    pub opts: ScanOptions,
    pub fail_on: Option<Severity>,
}

/// What a finished scan produced.
pub(crate) struct Outcome {
    /// The exit code the scan calls for.
    pub code: i32,
    /// Devices that answered.
    pub up: usize,
}

pub fn run(g: &GlobalArgs, args: Args) -> anyhow::Result<i32> {
    if args.list_probes {
        return list_probes(g);
    }
    let profile = match args.profile {
        ProfileArg::Default => Profile::Default,
        ProfileArg::Gentle => Profile::Gentle,
    };
    let mut opts = ScanOptions::for_profile(profile);
    if let Some(expr) = &args.ports {
        opts.ports = PortList::parse(expr)?;
    } else if let Some(n) = args.top_ports {
        anyhow::ensure!(n > 0, "failed to parse --top-ports: must be at least 1");
        opts.ports = PortList::top(n);
    }
    if let Some(r) = args.host_rate {
        anyhow::ensure!(r > 0.0, "failed to parse --host-rate: must be above 0");
        opts.host_rate = r;
    }
    if let Some(r) = args.max_rate {
        anyhow::ensure!(r > 0.0, "failed to parse --max-rate: must be above 0");
        opts.max_rate = r;
    }
    opts.assume_up = args.no_ping;
    opts.opt_in = args.opt_in_probes;
    opts.try_all_probes = args.try_all_probes;
    for (name, port) in &args.service_port {
        let udp = medguard_discover::probes::registry()
            .iter()
            .any(|p| p.name == name && p.transport == medguard_model::Transport::Udp);
        let list = if udp {
            &mut opts.ports.udp
        } else {
            &mut opts.ports.tcp
        };
        if !list.contains(port) {
            list.push(*port);
        }
    }
    opts.probe_ports = args.service_port.clone();

    let rt = runtime()?;
    let specs = targets::read_specs(&args.targets)?;
    let mut ex_specs = targets::read_specs(&args.exclude)?;
    if let Some(f) = &args.exclude_file {
        ex_specs.extend(targets::read_file(f)?);
    }
    let scope = Scope {
        allow_public: args.allow_public,
        max_hosts: args.max_hosts,
    };
    let list = rt.block_on(async {
        let ex = targets::exclusions(&ex_specs).await?;
        targets::expand(&specs, &ex, scope).await
    })?;
    let mut store = g.open_store()?;
    let job = Job {
        source: "scan",
        targets_text: args.targets.join(" "),
        targets: list,
        opts,
        fail_on: args.fail_on,
    };
    Ok(execute(g, &rt, &mut store, job)?.code)
}

fn parse_service_port(s: &str) -> Result<(String, u16), String> {
    let (name, port) = s
        .split_once(':')
        .ok_or_else(|| format!("expected PROBE:PORT, got {s:?}"))?;
    if !medguard_discover::probes::registry()
        .iter()
        .any(|p| p.name == name)
    {
        let names: Vec<&str> = medguard_discover::probes::registry()
            .iter()
            .map(|p| p.name)
            .collect();
        return Err(format!(
            "unknown probe {name:?} (known: {})",
            names.join(", ")
        ));
    }
    let port: u16 = port
        .parse()
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| format!("{port:?} is not a port number"))?;
    Ok((name.to_string(), port))
}

pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("failed to start the async runtime")
}

fn list_probes(g: &GlobalArgs) -> anyhow::Result<i32> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for p in medguard_discover::probes::registry() {
        if g.json {
            output::json_line(
                &mut out,
                "probe",
                &serde_json::json!({
                    "name": p.name,
                    "transport": p.transport,
                    "ports": p.ports,
                    "intrusiveness": format!("{:?}", p.intrusiveness).to_lowercase(),
                    "fallback": p.fallback,
                    "sends": p.sends,
                }),
            )?;
        } else {
            let ports: Vec<String> = p.ports.iter().map(|x| x.to_string()).collect();
            writeln!(
                out,
                "{} ({}/{}; {:?}{})\n    ports: {}\n    sends: {}\n",
                p.name,
                p.transport,
                if p.fallback {
                    "also tried on unidentified ports"
                } else {
                    "its ports only"
                },
                p.intrusiveness,
                match p.intrusiveness {
                    medguard_discover::Intrusiveness::Payload => ", skipped by --profile gentle",
                    medguard_discover::Intrusiveness::OptIn => ", only with --opt-in-probes",
                    _ => "",
                },
                ports.join(", "),
                p.sends
            )?;
        }
    }
    Ok(exit::OK)
}

fn asset_record(r: &HostResult) -> anyhow::Result<serde_json::Value> {
    let mut v = serde_json::to_value(&r.asset)?;
    if let serde_json::Value::Object(map) = &mut v {
        map.insert("identity".into(), r.asset.identity().into());
        if !r.errors.is_empty() {
            map.insert("errors".into(), serde_json::to_value(&r.errors)?);
        }
    }
    Ok(v)
}

/// Run a scan, record it in the store, and print the results.
pub(crate) fn execute(
    g: &GlobalArgs,
    rt: &tokio::runtime::Runtime,
    store: &mut SqliteStore,
    job: Job,
) -> anyhow::Result<Outcome> {
    let started = Instant::now();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let profile = job.opts.profile.as_str();
    let in_scope: HashSet<IpAddr> = job.targets.iter().map(|t| t.ip).collect();
    let scan_id = store
        .begin_scan(job.source, &job.targets_text, profile)
        .context("failed to record the scan start")?;
    if g.json {
        output::json_line(
            &mut out,
            "begin",
            &serde_json::json!({
                "scan_id": scan_id,
                "source": job.source,
                "targets": job.targets_text,
                "profile": profile,
                "hosts": job.targets.len(),
                "tcp_ports": job.opts.ports.tcp.len(),
                "udp_ports": job.opts.ports.udp.len(),
            }),
        )?;
    } else if !g.quiet {
        eprintln!(
            "scanning {} address(es), {} TCP + {} UDP port(s), profile {profile}",
            job.targets.len(),
            job.opts.ports.tcp.len(),
            job.opts.ports.udp.len()
        );
    }

    let scanner = Arc::new(Scanner::new(job.opts));
    let progress = scanner.progress();
    let bar = g.progress().then(|| {
        let bar = indicatif::ProgressBar::new(job.targets.len() as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} hosts  {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let worker = {
        let scanner = scanner.clone();
        let targets = job.targets;
        rt.spawn(async move { scanner.run(targets, tx).await })
    };

    let mut results: Vec<HostResult> = Vec::new();
    let mut changes: Vec<Change> = Vec::new();
    let mut partial = false;
    loop {
        let next = rt
            .block_on(async { tokio::time::timeout(Duration::from_millis(150), rx.recv()).await });
        if let Some(bar) = &bar {
            bar.set_position(progress.hosts_done.load(Ordering::Relaxed) as u64);
            bar.set_message(format!(
                "{} up, {}/{} ports checked, {} open",
                progress.hosts_up.load(Ordering::Relaxed),
                progress.ports_done.load(Ordering::Relaxed),
                progress.ports_total.load(Ordering::Relaxed),
                progress.open_ports.load(Ordering::Relaxed)
            ));
        }
        let r = match next {
            Ok(Some(r)) => r,
            Ok(None) => break,
            Err(_) => continue,
        };
        if r.errors.iter().any(|e| e.starts_with("host deadline")) {
            partial = true;
        }
        // Addresses that answered nothing are reported, not stored: a silent /24 would otherwise
        // fill the inventory with 250 empty devices. Known devices that went silent are marked
        // gone by finish_scan below.
        if r.asset.status == HostStatus::Up {
            let c = store
                .record_asset(scan_id, &r.asset)
                .context("failed to record a device in the store")?;
            changes.extend(c);
        }
        if g.json {
            output::json_line(&mut out, "asset", &asset_record(&r)?)?;
        } else if !g.quiet {
            for e in &r.errors {
                let line = format!(
                    "medguard: {}: {e}",
                    r.asset.ip.map(|i| i.to_string()).unwrap_or_default()
                );
                match &bar {
                    Some(b) => b.println(line),
                    None => eprintln!("{line}"),
                }
            }
        }
        results.push(r);
    }
    rt.block_on(worker).context("failed to finish the scan")?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    changes.extend(
        store
            .finish_scan(scan_id, &|a: &Asset| {
                a.ip.is_some_and(|ip| in_scope.contains(&ip))
            })
            .context("failed to record the scan end")?,
    );
    results.sort_by(|a, b| {
        b.asset
            .worst()
            .cmp(&a.asset.worst())
            .then(a.asset.ip.cmp(&b.asset.ip))
    });

    let up: Vec<&HostResult> = results
        .iter()
        .filter(|r| r.asset.status == HostStatus::Up)
        .collect();
    let mut by_sev: BTreeMap<Severity, usize> = BTreeMap::new();
    for r in &up {
        for f in &r.asset.findings {
            *by_sev.entry(f.severity).or_default() += 1;
        }
    }
    let error_count: usize = results.iter().map(|r| r.errors.len()).sum();
    if g.json {
        for c in &changes {
            output::json_line(&mut out, "change", c)?;
        }
        let findings: serde_json::Map<String, serde_json::Value> = Severity::ALL
            .iter()
            .map(|s| {
                (
                    s.as_str().to_string(),
                    by_sev.get(s).copied().unwrap_or(0).into(),
                )
            })
            .collect();
        let arp = scanner.arp_result();
        output::json_line(
            &mut out,
            "summary",
            &serde_json::json!({
                "scan_id": scan_id,
                "hosts": results.len(),
                "up": up.len(),
                "no_response": results.len() - up.len(),
                "services": up.iter().map(|r| r.asset.services.len()).sum::<usize>(),
                "findings": findings,
                "changes": changes.len(),
                "errors": error_count,
                "partial": partial,
                "host_discovery": scanner.host_discovery(),
                "arp": {
                    "asked": arp.asked,
                    "answered": arp.found.len(),
                    "errors": arp.errors,
                },
                "duration_ms": started.elapsed().as_millis() as u64,
            }),
        )?;
    } else {
        let assets: Vec<&Asset> = up.iter().map(|r| &r.asset).collect();
        print_table(&mut out, &assets, g.color())?;
        let silent = results.len() - up.len();
        if silent > 0 {
            writeln!(
                out,
                "{silent} address(es) did not answer (status no-response; not added to the inventory)."
            )?;
        }
        if !changes.is_empty() {
            writeln!(out, "\nChanges since the last scan:")?;
            for c in &changes {
                writeln!(
                    out,
                    "  {:<17} {:<28} {}",
                    c.kind.as_str(),
                    c.identity,
                    c.detail
                )?;
            }
        }
        let sev: Vec<String> = Severity::ALL
            .iter()
            .filter_map(|s| by_sev.get(s).map(|n| format!("{n} {s}")))
            .collect();
        writeln!(
            out,
            "\n{} device(s) found in {:.1}s; findings: {}.",
            up.len(),
            started.elapsed().as_secs_f64(),
            if sev.is_empty() {
                "none".to_string()
            } else {
                sev.join(", ")
            }
        )?;
    }
    out.flush()?;
    let worst = up.iter().filter_map(|r| r.asset.worst()).max();
    let code = match (job.fail_on, worst) {
        (Some(limit), Some(w)) if w >= limit => exit::FINDINGS,
        _ if partial => exit::PARTIAL,
        _ => exit::OK,
    };
    Ok(Outcome { code, up: up.len() })
}

fn paint(s: &str, sev: Option<Severity>, color: bool) -> String {
    if !color {
        return s.to_string();
    }
    let code = match sev {
        Some(Severity::Critical) => "1;31",
        Some(Severity::High) => "31",
        Some(Severity::Medium) => "33",
        Some(Severity::Low) => "36",
        _ => return s.to_string(),
    };
    format!("\x1b[{code}m{s}\x1b[0m")
}

fn cut(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// The summary table: one line per device, plain words first.
pub(crate) fn print_table(out: &mut impl Write, up: &[&Asset], color: bool) -> anyhow::Result<()> {
    if up.is_empty() {
        writeln!(out, "No devices answered.")?;
        return Ok(());
    }
    writeln!(
        out,
        "{:<15} {:<30} {:<26} {:<9} WHAT IT MEANS",
        "ADDRESS", "KIND", "VENDOR / MODEL", "WORST"
    )?;
    for a in up {
        let vm = match (&a.vendor, &a.model) {
            (Some(v), Some(m)) if m.starts_with(v.as_str()) => m.clone(),
            (Some(v), Some(m)) => format!("{v} {m}"),
            (Some(v), None) => v.clone(),
            (None, Some(m)) => m.clone(),
            (None, None) => "-".to_string(),
        };
        let worst = a.worst();
        let plain = match a.findings.first() {
            Some(f) => f.title.clone(),
            None => "No problems found by this scan".to_string(),
        };
        let worst_text = format!("{:<9}", worst.map(|s| s.as_str()).unwrap_or("-"));
        writeln!(
            out,
            "{:<15} {:<30} {:<26} {} {}",
            a.ip.map(|i| i.to_string()).unwrap_or_default(),
            cut(a.category.plain(), 30),
            cut(&vm, 26),
            paint(&worst_text, worst, color),
            plain
        )?;
        let more = a.findings.len().saturating_sub(1);
        if more > 0 {
            writeln!(out, "{:<84}(+{more} more finding(s))", "")?;
        }
    }
    Ok(())
}
