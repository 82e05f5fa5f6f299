//! `medguard risk`: the risk register of the latest assessment (NIST SP 800-30 likelihood x impact,
//! inherent and residual risk, rationale), optionally as OSCAL assessment results.

use crate::{GlobalArgs, exit, output};
use anyhow::Context;
use medguard_model::risk::{AssessmentTotals, Level};
use medguard_store::RiskStore;
use std::io::Write;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Also write the assessment as OSCAL assessment results (JSON) to this file.
    #[arg(long, value_name = "FILE")]
    pub oscal: Option<PathBuf>,
    /// Show every scenario's rationale.
    #[arg(long, short)]
    pub verbose: bool,
}

/// "1 very high, 4 high, ..." from the totals.
pub fn level_counts(t: &AssessmentTotals) -> String {
    let parts: Vec<String> = Level::ALL
        .iter()
        .rev()
        .filter_map(|l| {
            let n = t.residual.get(l.as_str()).copied().unwrap_or(0);
            (n > 0).then(|| format!("{n} {}", l.plain().to_lowercase()))
        })
        .collect();
    if parts.is_empty() {
        "none".into()
    } else {
        parts.join(", ")
    }
}

pub fn run(g: &GlobalArgs, args: Args) -> anyhow::Result<i32> {
    let store = g.open_store()?;
    let Some(snap) = store.latest_snapshot()? else {
        anyhow::bail!(
            "failed to show the risk register: no assessment yet (run `medguard assess` first)"
        );
    };
    if let Some(path) = &args.oscal {
        let doc = medguard_risk::export::oscal(&snap);
        std::fs::write(path, serde_json::to_vec_pretty(&doc)?)
            .with_context(|| format!("failed to write {}", path.display()))?;
        if !g.quiet {
            eprintln!("OSCAL assessment results written to {}", path.display());
        }
    }
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if g.json {
        for s in &snap.register {
            output::json_line(&mut out, "risk", s)?;
        }
        output::json_line(
            &mut out,
            "summary",
            &serde_json::json!({
                "assessment": snap.id,
                "practice": snap.practice,
                "assessed_at": snap.assessed_at,
                "totals": snap.totals,
            }),
        )?;
        return Ok(exit::OK);
    }
    writeln!(
        out,
        "Risk register for {} (assessment {}, {}): {}.",
        snap.practice,
        snap.id,
        snap.assessed_at.format("%Y-%m-%d"),
        level_counts(&snap.totals)
    )?;
    writeln!(
        out,
        "{:<10} {:<10} {:<10} {:<10} SCENARIO",
        "RESIDUAL", "INHERENT", "LIKELIHOOD", "IMPACT"
    )?;
    for s in &snap.register {
        writeln!(
            out,
            "{:<10} {:<10} {:<10} {:<10} {}: {}",
            s.residual_risk.as_str(),
            s.inherent_risk.as_str(),
            s.residual_likelihood.as_str(),
            s.impact.as_str(),
            s.group_title,
            s.threat_title
        )?;
        if args.verbose {
            writeln!(out, "           {}", s.rationale)?;
            if !s.vulnerabilities.is_empty() {
                writeln!(
                    out,
                    "           Weaknesses: {}",
                    s.vulnerabilities.join("; ")
                )?;
            }
        }
    }
    Ok(exit::OK)
}
