//! The `medguard` binary: argument parsing and wiring only. Each subcommand lives in `cmd/`.

mod cmd;
mod exit;
mod output;

use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "medguard",
    version,
    about = "Find and fix cyber threats in a medical or dental practice",
    long_about = "medguard finds every device on a practice network and what is wrong with it, finds \
patient data where it should not be, knows which devices carry known vulnerabilities, catches attacks \
in the logs and turns the evidence into a HIPAA risk analysis and a plan.\n\nExit codes: 0 ok, \
1 error, 2 usage error, 3 completed with per-item errors, 4 findings at or above --fail-on."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, clap::Args)]
pub struct GlobalArgs {
    /// The store file (SQLite). Default: the per-user data directory.
    #[arg(long, global = true, env = "MEDGUARD_DB")]
    pub db: Option<PathBuf>,
    /// Machine-readable JSON Lines on stdout (see docs/json-schema.md).
    #[arg(long, global = true)]
    pub json: bool,
    /// No progress bars or chatter on stderr.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// When to use colour: auto, always, never (NO_COLOR is honoured).
    #[arg(long, global = true, default_value = "auto")]
    pub color: output::ColorChoice,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Everything known about the practice's devices: first/last seen, what changed.
    Inventory(cmd::inventory::Args),
    /// Find patient data (PHI) in files, shares, archives and mailboxes; rank files by risk.
    Phi(cmd::phi::Args),
    /// Write the report (single-file HTML) from everything medguard knows.
    Report(cmd::report::Args),
    /// Discover, identify and assess every device on a network, store it, show what changed.
    Scan(cmd::scan::Args),
    /// Scan a virtual practice on loopback (simulated devices), store it and write the report.
    Demo(cmd::demo::Args),
    /// The vulnerability knowledge base: `update` (download), `import` (offline files), `status`.
    Intel(cmd::intel::Args),
    /// Known vulnerabilities, advisories, recalls and end-of-life software per device, most urgent first.
    Vulns(cmd::vulns::Args),
    /// Attach a maker's SBOM (CycloneDX/SPDX) or MDS2 form to a device.
    Sbom(cmd::sbom::Args),
    /// Bring other tools' results (nmap XML) into the inventory.
    Import(cmd::import::Args),
    /// HIPAA risk questionnaire, pre-filled from evidence (or `--answers FILE`); stores a dated assessment.
    Assess(cmd::assess::Args),
    /// The risk register of the latest assessment: scenarios, likelihood, impact, residual risk.
    Risk(cmd::risk::Args),
    /// The prioritised remediation plan with owners and due dates; `plan update` tracks progress.
    Plan(cmd::plan::Args),
    /// Breach notification decision support for an incident (four factors, safe harbor, deadlines).
    Incident(cmd::incident::Args),
    /// Catch attacks in log files (EVTX, Windows XML/JSON, syslog, JSON Lines, EHR audit exports) with Sigma rules.
    Detect(cmd::detect::Args),
    /// Receive syslog live (UDP, TCP, TLS), detect attacks as they happen, store and print alerts.
    Watch(cmd::watch::Args),
    /// Sigma rule tools: `rules check DIR` lists every rule that does not load, and why.
    Rules(cmd::rules::Args),
}

fn main() {
    // A panic's message can quote what was being read (a file's text, a device's reply): only
    // where it happened is printed, never the message.
    std::panic::set_hook(Box::new(|info| {
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!("medguard: internal error{at} (a bug, please report it)");
    }));
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            // --help and --version are not errors; everything else clap rejects is a usage error.
            let _ = err.print();
            std::process::exit(if err.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            });
        }
    };
    let code = match run(cli) {
        Ok(code) => code,
        Err(err) => {
            if exit::is_broken_pipe(&err) {
                exit::OK
            } else {
                eprintln!("medguard: error: {err:#}");
                exit::ERROR
            }
        }
    };
    std::process::exit(code);
}

fn run(cli: Cli) -> anyhow::Result<i32> {
    let g = &cli.global;
    match cli.command {
        Command::Inventory(args) => cmd::inventory::run(g, args),
        Command::Phi(args) => cmd::phi::run(g, args),
        Command::Report(args) => cmd::report::run(g, args),
        Command::Scan(args) => cmd::scan::run(g, args),
        Command::Demo(args) => cmd::demo::run(g, args),
        Command::Intel(args) => cmd::intel::run(g, args),
        Command::Vulns(args) => cmd::vulns::run(g, args),
        Command::Sbom(args) => cmd::sbom::run(g, args),
        Command::Import(args) => cmd::import::run(g, args),
        Command::Assess(args) => cmd::assess::run(g, args),
        Command::Risk(args) => cmd::risk::run(g, args),
        Command::Plan(args) => cmd::plan::run(g, args),
        Command::Incident(args) => cmd::incident::run(g, args),
        Command::Detect(args) => cmd::detect::run(g, args),
        Command::Watch(args) => cmd::watch::run(g, args),
        Command::Rules(args) => cmd::rules::run(g, args),
    }
}
