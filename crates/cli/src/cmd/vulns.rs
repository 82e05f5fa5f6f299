//! `medguard vulns`: known vulnerabilities, advisories, recalls and end-of-life software on the
//! practice's devices, most urgent first.

use crate::{GlobalArgs, exit, output};
use anyhow::Context;
use medguard_intel::{MatchOptions, match_store};
use medguard_model::{MatchConfidence, Severity, VulnMatch};
use medguard_store::IntelStore;
use std::io::Write;

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Order: known exploited (CISA KEV) first, then EPSS probability, CVSS, \
reachable on the network, clinical device. Each line says what it means and what to do; the \
technical reason (CPE criteria and version range) follows."
)]
pub struct Args {
    /// Only vulnerabilities that CISA lists as exploited in real attacks.
    #[arg(long)]
    pub kev_only: bool,
    /// Also list CVEs whose version range could not be checked (version unknown).
    #[arg(long)]
    pub all: bool,
    /// Only this device (IP address or identity such as `mac:...`).
    #[arg(long, value_name = "ASSET")]
    pub asset: Option<String>,
    /// Show at most this many (0 = all).
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
    /// Exit with code 4 when a match at or above this severity is found.
    #[arg(long, value_name = "SEVERITY")]
    pub fail_on: Option<Severity>,
}

pub fn run(g: &GlobalArgs, args: Args) -> anyhow::Result<i32> {
    let mut store = g.open_store()?;
    let opts = MatchOptions {
        include_version_unknown: args.all,
        ..MatchOptions::default()
    };
    let all = match_store(&store, opts).context("failed to match")?;
    if !args.all {
        store.save_matches(&all)?;
    }
    let counts = store.intel_counts()?;
    let shown: Vec<&VulnMatch> = all
        .iter()
        .filter(|m| !args.kev_only || m.kev)
        .filter(|m| {
            args.asset
                .as_deref()
                .is_none_or(|a| m.ip.as_deref() == Some(a) || m.asset == a)
        })
        .collect();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let worst = shown.iter().map(|m| m.severity).max();
    if g.json {
        for m in &shown {
            output::json_line(&mut out, "vuln", m)?;
        }
        output::json_line(
            &mut out,
            "summary",
            &serde_json::json!({
                "matches": shown.len(),
                "kev": shown.iter().filter(|m| m.kev).count(),
                "devices": shown.iter().map(|m| &m.asset).collect::<std::collections::BTreeSet<_>>().len(),
                "cves_loaded": counts.cves,
            }),
        )?;
    } else {
        if counts.cves == 0 && counts.kev == 0 {
            writeln!(
                out,
                "No vulnerability knowledge loaded: run `medguard intel update` or `medguard intel import FILE...`.\n\
                 End-of-life software is still checked below."
            )?;
        }
        if shown.is_empty() {
            writeln!(
                out,
                "No known vulnerabilities found on the devices medguard knows."
            )?;
        }
        let kev = shown.iter().filter(|m| m.kev).count();
        let devices: std::collections::BTreeSet<&str> =
            shown.iter().map(|m| m.asset.as_str()).collect();
        if !shown.is_empty() {
            writeln!(
                out,
                "{} problems on {} devices; {} of them are being used in real attacks now.\n",
                shown.len(),
                devices.len(),
                kev
            )?;
        }
        let limit = if args.limit == 0 {
            usize::MAX
        } else {
            args.limit
        };
        for (i, m) in shown.iter().take(limit).enumerate() {
            let tag = if m.kev {
                "EXPLOITED"
            } else {
                m.severity.as_str()
            };
            writeln!(
                out,
                "{:>3}. [{}] {} — {}",
                i + 1,
                tag.to_uppercase(),
                m.asset_name,
                m.severity.plain()
            )?;
            writeln!(out, "     {}", m.plain)?;
            writeln!(out, "     Fix: {}", m.fix)?;
            let mut tech = format!("     {} · {}", m.id, m.component);
            if let Some(c) = m.cvss {
                tech.push_str(&format!(" · CVSS {c:.1}"));
            }
            if let Some(e) = m.epss {
                tech.push_str(&format!(" · EPSS {:.1}%", e * 100.0));
            }
            if m.confidence != MatchConfidence::Exact {
                tech.push_str(&format!(" · confidence {}", m.confidence.as_str()));
            }
            writeln!(out, "{tech}")?;
            writeln!(out, "     Why: {}\n", m.reason)?;
        }
        if shown.len() > limit {
            writeln!(
                out,
                "... and {} more (use --limit 0 to list all, --json for scripts).",
                shown.len() - limit
            )?;
        }
    }
    out.flush()?;
    Ok(match (args.fail_on, worst) {
        (Some(limit), Some(w)) if w >= limit => exit::FINDINGS,
        _ => exit::OK,
    })
}
