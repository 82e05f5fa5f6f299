//! `medguard assess`: the guided HIPAA risk questionnaire, pre-filled from evidence, in the
//! terminal or from an answers file; finishing it stores a dated, immutable risk assessment.

use crate::{GlobalArgs, exit, output};
use anyhow::Context;
use chrono::Utc;
use medguard_risk::Catalog;
use medguard_risk::answers;
use medguard_risk::assess::{self as flow};
use medguard_risk::engine::Inputs;
use medguard_risk::questionnaire::{self, ItemKind, Outcome};
use medguard_store::RiskStore;
use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Answers from a TOML file (see docs/json-schema.md, "answers file"); questions it leaves
    /// out are asked on a terminal, or recorded as gaps when there is none.
    #[arg(long, value_name = "FILE")]
    pub answers: Option<PathBuf>,
    /// List every question id with its text (to write an answers file) and exit.
    #[arg(long)]
    pub list: bool,
    /// Finish the assessment even if questions remain unanswered (they count as gaps).
    #[arg(long)]
    pub finish: bool,
}

pub fn run(g: &GlobalArgs, args: Args) -> anyhow::Result<i32> {
    let catalog = Catalog::embedded().context("failed to load the risk catalog")?;
    if args.list {
        return list(g, &catalog);
    }
    let mut store = g.open_store()?;
    let draft = flow::draft(&mut store, &catalog)?;
    let now = Utc::now;
    if let Some(path) = &args.answers {
        let text = read_capped(path, answers::MAX_BYTES)?;
        let name = path.display().to_string();
        let file = answers::parse(&name, &text, &catalog)?;
        let n = flow::import(&mut store, &draft, &file, &format!("file:{name}"), now())?;
        if !g.quiet {
            eprintln!("imported {n} answer(s) from {name}");
        }
    }
    let (facts, errors) = flow::gather(&store, now());
    for e in &errors {
        eprintln!("medguard: warning: {e:#}; its evidence is left out");
    }
    let stored = store.answers(draft.id)?;
    let tracking = store.action_tracking()?;
    let inputs = Inputs {
        catalog: &catalog,
        facts: &facts,
        answers: &stored,
        tracking: &tracking,
        id: draft.id,
        assessed_at: now(),
    };
    let items = questionnaire::pending(&inputs);
    let interactive = std::io::stdin().is_terminal() || args.answers.is_none();
    let mut stopped = false;
    if !items.is_empty() && interactive && !args.finish {
        let decided = catalog.controls.len()
            - catalog
                .controls
                .iter()
                .filter(|c| {
                    items
                        .iter()
                        .any(|i| matches!(&i.kind, ItemKind::Control { control, .. } if *control == c.id))
                })
                .count();
        let mut err = std::io::stderr().lock();
        writeln!(
            err,
            "Risk assessment: {} question(s) to go. Evidence already settles or rules out {} of {} safeguards.\n\
             Answer y (yes), p (partly), n (no) or ? (don't know: it becomes a gap with a note). \
             Type q to stop; your answers are saved and `medguard assess` resumes.",
            items.len(),
            decided,
            catalog.controls.len()
        )?;
        let stdin = std::io::stdin();
        let mut input = stdin.lock();
        let draft_id = draft.id;
        let outcome = questionnaire::run(&items, &mut input, &mut err, &now, &mut |a| {
            store
                .save_answers(draft_id, std::slice::from_ref(&a))
                .map_err(std::io::Error::other)
        })?;
        stopped = outcome != Outcome::Complete;
        if let Outcome::Stopped { answered } = outcome {
            writeln!(
                err,
                "Saved {answered} answer(s); {} left. Run `medguard assess` to continue.",
                items.len() - answered
            )?;
        }
    }
    if stopped {
        return Ok(exit::OK);
    }
    let snap = flow::finish(&mut store, &catalog, draft.id, &facts, now())?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if g.json {
        output::json_line(
            &mut out,
            "assessment",
            &serde_json::json!({
                "id": snap.id,
                "practice": snap.practice,
                "assessed_at": snap.assessed_at,
                "catalog_version": snap.catalog_version,
                "totals": snap.totals,
                "unanswered": questionnaire::pending(&Inputs { answers: &snap.answers, ..inputs }).len(),
            }),
        )?;
        return Ok(exit::OK);
    }
    writeln!(
        out,
        "Risk assessment {} for {} finished on {}.",
        snap.id,
        snap.practice,
        snap.assessed_at.format("%Y-%m-%d")
    )?;
    writeln!(
        out,
        "Safeguards in place: {} of {}. Risks: {}.",
        snap.totals.controls_in_place,
        snap.totals.controls_total,
        crate::cmd::risk::level_counts(&snap.totals)
    )?;
    writeln!(out, "Most urgent actions:")?;
    for a in snap.plan.iter().take(5) {
        writeln!(out, "  {}. {} (by {}, {})", a.rank, a.title, a.due, a.owner)?;
    }
    writeln!(
        out,
        "See `medguard risk`, `medguard plan` and `medguard report --html F --kind risk-analysis`."
    )?;
    Ok(exit::OK)
}

fn list(g: &GlobalArgs, catalog: &Catalog) -> anyhow::Result<i32> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for p in &catalog.profile {
        if g.json {
            output::json_line(
                &mut out,
                "question",
                &serde_json::json!({"id": p.id, "section": "practice", "kind": p.kind, "text": p.text}),
            )?;
        } else {
            writeln!(out, "[practice] {:<26} {}", p.id, p.text)?;
        }
    }
    for s in &catalog.scope {
        if g.json {
            output::json_line(
                &mut out,
                "question",
                &serde_json::json!({"id": s.id, "section": "answers", "kind": "scope", "text": s.text, "why": s.why}),
            )?;
        } else {
            writeln!(out, "[answers]  {:<26} {}", s.id, s.text)?;
        }
    }
    for q in &catalog.questions {
        if g.json {
            output::json_line(
                &mut out,
                "question",
                &serde_json::json!({"id": q.id, "section": "answers", "kind": "control", "control": q.control, "text": q.text, "why": q.why, "allow_na": q.allow_na, "applies_if": q.applies_if}),
            )?;
        } else {
            writeln!(out, "[answers]  {:<26} ({}) {}", q.id, q.control, q.text)?;
        }
    }
    Ok(exit::OK)
}

/// Read a text file of at most `max` bytes.
pub fn read_capped(path: &std::path::Path, max: usize) -> anyhow::Result<String> {
    let f =
        std::fs::File::open(path).with_context(|| format!("failed to open {}", path.display()))?;
    let mut buf = Vec::new();
    f.take(max as u64 + 1)
        .read_to_end(&mut buf)
        .with_context(|| format!("failed to read {}", path.display()))?;
    if buf.len() > max {
        anyhow::bail!("{} is larger than {max} bytes", path.display());
    }
    String::from_utf8(buf)
        .with_context(|| format!("failed to read {}: not UTF-8 text", path.display()))
}
