//! `medguard report`: the single-file HTML report from everything in the store.

use crate::{GlobalArgs, exit};
use anyhow::Context;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Write the HTML report to this file.
    #[arg(long, value_name = "FILE")]
    pub html: PathBuf,
}

pub fn run(g: &GlobalArgs, args: Args) -> anyhow::Result<i32> {
    let store = g.open_store()?;
    let html = medguard_report::render_html(&store)?;
    std::fs::write(&args.html, html)
        .with_context(|| format!("failed to write the report {}", args.html.display()))?;
    if !g.quiet {
        eprintln!("report written to {}", args.html.display());
    }
    Ok(exit::OK)
}
