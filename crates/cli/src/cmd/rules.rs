//! `medguard rules check DIR`: which Sigma rules load, which do not, and why.

use crate::{GlobalArgs, exit, output};
use medguard_detect::engine::{EngineOptions, load_engine};
use std::io::Write;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub action: Action,
}

#[derive(Debug, clap::Subcommand)]
pub enum Action {
    /// Load every rule under the folders and report each one that does not load, with the reason.
    Check {
        /// Folders or files of Sigma rules.
        #[arg(required = true, value_name = "DIR")]
        dirs: Vec<PathBuf>,
        /// Also check medguard's built-in healthcare rules.
        #[arg(long)]
        builtin: bool,
        /// Logsource mapping (processing pipeline YAML) to check the rules against.
        #[arg(long, value_name = "FILE")]
        mapping: Option<PathBuf>,
    },
}

pub fn run(g: &GlobalArgs, args: Args) -> anyhow::Result<i32> {
    let Action::Check {
        dirs,
        builtin,
        mapping,
    } = args.action;
    let (_, report) = load_engine(&EngineOptions {
        rule_dirs: dirs,
        builtin,
        mapping,
    })?;
    let stdout = std::io::stdout();
    let mut w = stdout.lock();
    if g.json {
        for i in &report.issues {
            output::json_line(&mut w, "rule_issue", i)?;
        }
        output::json_line(
            &mut w,
            "rules_summary",
            &serde_json::json!({
                "files": report.files,
                "rules": report.rules,
                "correlations": report.correlations,
                "failed": report.failed,
                "loaded_percent": report.loaded_percent(),
            }),
        )?;
    } else {
        for i in &report.issues {
            writeln!(
                w,
                "NOT LOADED {}{}: {}",
                i.file,
                i.rule
                    .as_deref()
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default(),
                i.reason
            )?;
        }
        writeln!(
            w,
            "{} files: {} rules and {} correlations loaded, {} not loaded ({:.2} % loaded)",
            report.files,
            report.rules,
            report.correlations,
            report.failed,
            report.loaded_percent()
        )?;
    }
    Ok(if report.failed > 0 {
        exit::PARTIAL
    } else {
        exit::OK
    })
}
