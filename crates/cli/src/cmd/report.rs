//! `medguard report`: the single-file HTML report from everything in the store.

use crate::{GlobalArgs, exit};
use anyhow::Context;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("output").required(true).multiple(true).args(["html", "pdf"])))]
pub struct Args {
    /// Write the HTML report to this file.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Write a risk report as PDF to this file (needs --kind).
    #[arg(long, value_name = "FILE", requires = "kind")]
    pub pdf: Option<PathBuf>,
    /// A risk report instead of the main report: risk-analysis, executive, insurer, hicp or
    /// nprm-readiness (from the latest `medguard assess`).
    #[arg(long, value_name = "KIND")]
    pub kind: Option<medguard_report::risk::Kind>,
}

pub fn run(g: &GlobalArgs, args: Args) -> anyhow::Result<i32> {
    let store = g.open_store()?;
    if let Some(path) = &args.html {
        let html = match args.kind {
            Some(kind) => medguard_report::risk::render(kind, &store)?,
            None => medguard_report::render_html(&store)?,
        };
        std::fs::write(path, html)
            .with_context(|| format!("failed to write the report {}", path.display()))?;
        if !g.quiet {
            eprintln!("report written to {}", path.display());
        }
    }
    if let (Some(path), Some(kind)) = (&args.pdf, args.kind) {
        let pdf = medguard_report::risk::render_pdf(kind, &store)?;
        std::fs::write(path, pdf)
            .with_context(|| format!("failed to write the report {}", path.display()))?;
        if !g.quiet {
            eprintln!("report written to {}", path.display());
        }
    }
    Ok(exit::OK)
}
