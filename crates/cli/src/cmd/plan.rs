//! `medguard plan`: the prioritised remediation plan of the latest assessment, and updates to it
//! (status, owner, risk acceptance with owner, reason and review date).

use crate::{GlobalArgs, exit, output};
use chrono::{NaiveDate, Utc};
use medguard_model::risk::ActionStatus;
use medguard_risk::assess::{self as flow, ActionUpdate};
use std::io::Write;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// CSV on stdout instead of a table.
    #[arg(long, conflicts_with = "json")]
    pub csv: bool,
    #[command(subcommand)]
    pub action: Option<PlanCommand>,
}

#[derive(Debug, clap::Subcommand)]
pub enum PlanCommand {
    /// Change an action's status or owner, or accept its risk.
    Update {
        /// The action id, e.g. `control:C07` or `finding:telnet-enabled`.
        id: String,
        /// open, in-progress, done or accepted.
        #[arg(long, value_parser = parse_status)]
        status: Option<ActionStatus>,
        /// Who is responsible.
        #[arg(long)]
        owner: Option<String>,
        /// Why the risk is accepted (required with --status accepted).
        #[arg(long)]
        reason: Option<String>,
        /// When the acceptance must be reviewed, YYYY-MM-DD (required with --status accepted).
        #[arg(long, value_name = "DATE")]
        review_by: Option<NaiveDate>,
    },
}

fn parse_status(s: &str) -> Result<ActionStatus, String> {
    ActionStatus::parse(s).ok_or_else(|| {
        format!("unknown status {s:?} (expected open, in-progress, done or accepted)")
    })
}

pub fn run(g: &GlobalArgs, args: Args) -> anyhow::Result<i32> {
    let mut store = g.open_store()?;
    if let Some(PlanCommand::Update {
        id,
        status,
        owner,
        reason,
        review_by,
    }) = args.action
    {
        let t = flow::update_action(
            &mut store,
            &id,
            ActionUpdate {
                status,
                owner,
                reason,
                review_by,
            },
            Utc::now(),
        )?;
        let stdout = std::io::stdout();
        let mut out = stdout.lock();
        if g.json {
            output::json_line(&mut out, "action-update", &t)?;
        } else {
            writeln!(out, "{}: {}", t.action, t.status.as_str())?;
        }
        return Ok(exit::OK);
    }
    let (snap, plan) = flow::current_plan(&store)?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if g.json {
        for a in &plan {
            output::json_line(&mut out, "action", a)?;
        }
        output::json_line(
            &mut out,
            "summary",
            &serde_json::json!({
                "assessment": snap.id,
                "assessed_at": snap.assessed_at,
                "actions": plan.len(),
                "open": plan.iter().filter(|a| matches!(a.status, ActionStatus::Open | ActionStatus::InProgress)).count(),
            }),
        )?;
        return Ok(exit::OK);
    }
    if args.csv {
        let mut w = csv::Writer::from_writer(out);
        w.write_record([
            "rank",
            "id",
            "title",
            "risk",
            "cpg_essential",
            "known_exploited",
            "effort",
            "due",
            "due_basis",
            "owner",
            "status",
            "controls",
            "assets",
            "accepted_reason",
            "review_by",
        ])?;
        for a in &plan {
            w.write_record([
                a.rank.to_string(),
                a.id.clone(),
                a.title.clone(),
                a.risk.as_str().to_string(),
                a.cpg_essential.to_string(),
                a.known_exploited.to_string(),
                a.effort.clone(),
                a.due.to_string(),
                a.due_basis.clone(),
                a.owner.clone(),
                a.status.as_str().to_string(),
                a.controls.join(" "),
                a.assets.join("; "),
                a.acceptance
                    .as_ref()
                    .map(|x| x.reason.clone())
                    .unwrap_or_default(),
                a.acceptance
                    .as_ref()
                    .map(|x| x.review_by.to_string())
                    .unwrap_or_default(),
            ])?;
        }
        w.flush()?;
        return Ok(exit::OK);
    }
    writeln!(
        out,
        "Remediation plan for {} (assessment {}, {}): {} action(s), most urgent first.",
        snap.practice,
        snap.id,
        snap.assessed_at.format("%Y-%m-%d"),
        plan.len()
    )?;
    for a in &plan {
        let mut flags = Vec::new();
        if a.known_exploited {
            flags.push("known exploited");
        }
        if a.cpg_essential {
            flags.push("essential goal");
        }
        writeln!(
            out,
            "{:>3}. [{}] {} — due {} ({}), owner {}{}",
            a.rank,
            a.risk.as_str(),
            a.title,
            a.due,
            a.status.as_str(),
            a.owner,
            if flags.is_empty() {
                String::new()
            } else {
                format!(" [{}]", flags.join(", "))
            }
        )?;
        writeln!(
            out,
            "       id {} · effort {} · {}",
            a.id, a.effort, a.due_basis
        )?;
    }
    Ok(exit::OK)
}
