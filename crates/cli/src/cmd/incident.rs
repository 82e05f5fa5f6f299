//! `medguard incident`: breach notification decision support for a recorded incident (four-factor
//! assessment, encryption safe harbor, deadlines), kept in the store.

use crate::{GlobalArgs, exit, output};
use anyhow::Context;
use medguard_risk::Catalog;
use medguard_risk::breach;
use medguard_store::RiskStore;
use std::io::Write;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: IncidentCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum IncidentCommand {
    /// Assess an incident described in a TOML file and record the decision.
    Assess {
        /// The incident file (see docs/json-schema.md, "incident file").
        file: PathBuf,
        /// Show the decision without recording it.
        #[arg(long)]
        dry_run: bool,
    },
    /// Every recorded incident and its conclusion.
    List,
}

pub fn run(g: &GlobalArgs, args: Args) -> anyhow::Result<i32> {
    let catalog = Catalog::embedded().context("failed to load the risk catalog")?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match args.command {
        IncidentCommand::Assess { file, dry_run } => {
            let text = crate::cmd::assess::read_capped(&file, breach::MAX_BYTES)?;
            let name = file.display().to_string();
            let inc = breach::parse(&name, &text, &catalog)?;
            let decision = breach::decide(&inc, &catalog);
            let mut id = None;
            if !dry_run {
                let mut store = g.open_store()?;
                id = Some(store.record_incident(
                    &inc.title,
                    &serde_json::to_value(&inc)?,
                    &serde_json::to_value(&decision)?,
                )?);
            }
            if g.json {
                let mut v = serde_json::to_value(&decision)?;
                if let (Some(id), Some(map)) = (id, v.as_object_mut()) {
                    map.insert("incident".into(), id.into());
                }
                output::json_line(&mut out, "breach-decision", &v)?;
                return Ok(exit::OK);
            }
            writeln!(
                out,
                "{} (discovered {})",
                decision.title, decision.discovered
            )?;
            writeln!(out, "{}", decision.summary)?;
            writeln!(out)?;
            for (i, s) in decision.steps.iter().enumerate() {
                writeln!(
                    out,
                    "{}. {}\n   {}  [{}]",
                    i + 1,
                    s.question,
                    s.answer,
                    s.citation
                )?;
            }
            if !decision.notices.is_empty() {
                writeln!(out, "\nNotices ({} affected):", decision.total_affected)?;
                for n in &decision.notices {
                    writeln!(
                        out,
                        "  by {}: {} — {} [{}]",
                        n.deadline, n.recipient, n.text, n.citation
                    )?;
                }
            }
            for s in &decision.state_notes {
                writeln!(
                    out,
                    "  state {} ({} affected), by {}: {} [{}; reviewed {}]",
                    s.state, s.affected, s.deadline, s.text, s.citation, s.reviewed
                )?;
            }
            for r in &decision.records {
                writeln!(out, "Keep: {} [{}]", r.text, r.citation)?;
            }
            writeln!(out, "{}", decision.disclaimer)?;
            if let Some(id) = id {
                writeln!(out, "Recorded as incident {id}.")?;
            }
        }
        IncidentCommand::List => {
            let store = g.open_store()?;
            for i in store.incidents()? {
                if g.json {
                    output::json_line(&mut out, "incident", &i)?;
                } else {
                    let conclusion = i
                        .decision
                        .get("conclusion")
                        .and_then(|c| c.as_str())
                        .unwrap_or("?");
                    writeln!(
                        out,
                        "{:>4} {} {} — {}",
                        i.id,
                        i.recorded_at.format("%Y-%m-%d"),
                        conclusion,
                        i.title
                    )?;
                }
            }
        }
    }
    Ok(exit::OK)
}
