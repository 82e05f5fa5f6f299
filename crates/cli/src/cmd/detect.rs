//! `medguard detect`: read log files (EVTX, Windows XML/JSON exports, syslog, JSON Lines, EHR audit
//! exports), run the Sigma rules, store and print alerts.

use crate::{GlobalArgs, exit, output};
use anyhow::Context;
use medguard_detect::alerts::{AllowList, Folder, Guidance, Masker, TimelineRow};
use medguard_detect::engine::{EngineOptions, LoadReport, SigmaEngine};
use medguard_detect::readers::{self, ReadOptions, audit::AuditMap};
use medguard_model::{Alert, Severity};
use medguard_store::AlertStore;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Rule and alert settings shared by `detect` and `watch`.
#[derive(Debug, clap::Args)]
pub struct RuleArgs {
    /// A folder (or file) of Sigma rules to load, e.g. a SigmaHQ checkout's rules/ (repeatable).
    #[arg(long = "rules", value_name = "DIR")]
    pub rules: Vec<PathBuf>,
    /// Do not load medguard's built-in healthcare rules.
    #[arg(long)]
    pub no_builtin_rules: bool,
    /// Logsource mapping (processing pipeline YAML) to use instead of the built-in one.
    #[arg(long, value_name = "FILE")]
    pub mapping: Option<PathBuf>,
    /// Allow-list (TOML `[[allow]]` entries: rule, host, fields) of known-good activity.
    #[arg(long, value_name = "FILE")]
    pub allow: Option<PathBuf>,
    /// Fold repeats of an alert (same rule, host and group) within this many seconds into one.
    #[arg(long, default_value_t = 3600, value_name = "SECS")]
    pub window: i64,
}

impl RuleArgs {
    /// Load the engine and print load problems on stderr.
    pub fn engine(&self, g: &GlobalArgs) -> anyhow::Result<(SigmaEngine, LoadReport)> {
        let (engine, report) = medguard_detect::engine::load_engine(&EngineOptions {
            rule_dirs: self.rules.clone(),
            builtin: !self.no_builtin_rules,
            mapping: self.mapping.clone(),
        })
        .context("failed to load the rules")?;
        if !g.quiet {
            for i in &report.issues {
                eprintln!(
                    "medguard: rule not loaded: {}{}: {}",
                    i.file,
                    i.rule
                        .as_deref()
                        .map(|r| format!(" ({r})"))
                        .unwrap_or_default(),
                    i.reason
                );
            }
            eprintln!(
                "medguard: {} rules and {} correlations loaded ({:.1} %)",
                report.rules,
                report.correlations,
                report.loaded_percent()
            );
        }
        if engine.is_empty() {
            anyhow::bail!("failed to load any rule; give --rules DIR or drop --no-builtin-rules");
        }
        Ok((engine, report))
    }

    /// The alert folder with guidance, allow-list and masking key.
    pub fn folder(&self, masker: &Masker) -> anyhow::Result<Folder> {
        let allow = match &self.allow {
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .with_context(|| format!("failed to read the allow-list {}", p.display()))?;
                AllowList::parse(&p.display().to_string(), &text)?
            }
            None => AllowList::default(),
        };
        Ok(Folder::new(
            Guidance::builtin()?,
            allow,
            masker.clone(),
            self.window,
        ))
    }
}

/// The masking key lives beside the store (`<db>.detect-key`, mode 0600).
pub fn masker(store_path: &Path) -> anyhow::Result<Masker> {
    let key_path = if store_path == Path::new(":memory:") {
        return Ok(Masker::random());
    } else {
        let mut p = store_path.as_os_str().to_owned();
        p.push(".detect-key");
        PathBuf::from(p)
    };
    Masker::load_or_create(&key_path).context("failed to load the evidence masking key")
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Log files or folders to read.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub rules: RuleArgs,
    /// EHR audit column map (TOML) for a vendor's CSV/JSON export (repeatable).
    #[arg(long = "audit-map", value_name = "FILE")]
    pub audit_maps: Vec<PathBuf>,
    /// Write every matched event, in time order, to this CSV file.
    #[arg(long, value_name = "FILE")]
    pub timeline: Option<PathBuf>,
    /// Exit with code 4 when an alert at or above this level is raised.
    #[arg(long, value_name = "LEVEL")]
    pub fail_on: Option<Severity>,
    /// Do not store the alerts.
    #[arg(long)]
    pub no_store: bool,
}

#[derive(serde::Serialize)]
struct Summary<'a> {
    files: usize,
    failed_files: usize,
    events: u64,
    matched_events: u64,
    alerts: usize,
    allowed: u64,
    read_errors: u64,
    dropped_matches: u64,
    rules: &'a LoadReport,
}

pub fn run(g: &GlobalArgs, args: Args) -> anyhow::Result<i32> {
    let (mut engine, report) = args.rules.engine(g)?;
    let mut audit_maps = AuditMap::builtins()?;
    for p in &args.audit_maps {
        let text = std::fs::read_to_string(p)
            .with_context(|| format!("failed to read the audit map {}", p.display()))?;
        audit_maps.insert(0, AuditMap::parse(&p.display().to_string(), &text)?);
    }
    let mut files = Vec::new();
    for p in &args.paths {
        files.extend(
            readers::collect_files(p).with_context(|| format!("failed to read {}", p.display()))?,
        );
    }
    let mut store = if args.no_store {
        None
    } else {
        Some(g.open_store()?)
    };
    let masker = match &store {
        Some(s) => masker(s.path())?,
        None => Masker::random(),
    };
    let folder = args.rules.folder(&masker)?;
    let opts = ReadOptions {
        audit_maps,
        evtx_threads: 1,
    };
    let started = std::time::Instant::now();
    let out = medguard_detect::run::run(&files, &opts, &mut engine, folder, &masker);
    let elapsed = started.elapsed();
    if let Some(store) = store.as_mut() {
        let run_id = store.begin_detect_run("detect")?;
        store.record_alerts(run_id, &out.alerts)?;
    }
    if let Some(path) = &args.timeline {
        write_timeline(path, &out.timeline)?;
    }
    let read_errors: u64 = out.files.iter().map(|f| f.error_count).sum();
    let stdout = std::io::stdout();
    let mut w = stdout.lock();
    if g.json {
        for a in &out.alerts {
            output::json_line(&mut w, "alert", a)?;
        }
        for f in out.files.iter().filter(|f| f.error_count > 0) {
            output::json_line(&mut w, "file", f)?;
        }
        for (path, error) in &out.failed_files {
            output::json_line(
                &mut w,
                "file_error",
                &serde_json::json!({"path": path, "error": error}),
            )?;
        }
        output::json_line(
            &mut w,
            "summary",
            &Summary {
                files: out.files.len(),
                failed_files: out.failed_files.len(),
                events: out.events,
                matched_events: out.matched_events,
                alerts: out.alerts.len(),
                allowed: out.allowed,
                read_errors,
                dropped_matches: out.dropped_matches,
                rules: &report,
            },
        )?;
    } else {
        print_alerts(&mut w, &out.alerts)?;
        for f in out.files.iter().filter(|f| f.error_count > 0) {
            eprintln!(
                "medguard: {}: {} unreadable record(s) skipped, {} events read; first: {}",
                f.path.display(),
                f.error_count,
                f.events,
                f.errors.first().map(String::as_str).unwrap_or("")
            );
        }
        for (path, error) in &out.failed_files {
            eprintln!("medguard: failed to read {}: {error}", path.display());
        }
        if out.dropped_matches > 0 {
            eprintln!(
                "medguard: {} matched events beyond the correlation buffer were not correlated",
                out.dropped_matches
            );
        }
        if !g.quiet {
            eprintln!(
                "medguard: {} files, {} events in {:.2} s ({:.0} events/s), {} alerts",
                out.files.len(),
                out.events,
                elapsed.as_secs_f64(),
                out.events as f64 / elapsed.as_secs_f64().max(1e-9),
                out.alerts.len()
            );
        }
    }
    if let Some(level) = args.fail_on
        && out.alerts.iter().any(|a| a.level >= level)
    {
        return Ok(exit::FINDINGS);
    }
    if !out.failed_files.is_empty() || read_errors > 0 {
        return Ok(exit::PARTIAL);
    }
    Ok(exit::OK)
}

fn write_timeline(path: &Path, rows: &[TimelineRow]) -> anyhow::Result<()> {
    let mut w = csv::Writer::from_path(path)
        .with_context(|| format!("failed to create the timeline {}", path.display()))?;
    w.write_record([
        "timestamp",
        "host",
        "level",
        "rule_id",
        "title",
        "source",
        "details",
    ])?;
    for r in rows {
        w.write_record([
            r.timestamp.map(|t| t.to_rfc3339()).unwrap_or_default(),
            r.host.clone().unwrap_or_default(),
            r.level.to_string(),
            r.rule_id.clone(),
            r.title.clone(),
            r.origin.clone(),
            r.summary.clone(),
        ])?;
    }
    w.flush()?;
    Ok(())
}

/// Human output: what happened in plain words first, then the technical evidence.
pub fn print_alerts(w: &mut impl Write, alerts: &[Alert]) -> anyhow::Result<()> {
    if alerts.is_empty() {
        writeln!(w, "No signs of an attack were found in these logs.")?;
        return Ok(());
    }
    let count = |s: Severity| alerts.iter().filter(|a| a.level == s).count();
    writeln!(
        w,
        "{} alert(s): {} critical, {} high, {} medium, {} low, {} informational.",
        alerts.len(),
        count(Severity::Critical),
        count(Severity::High),
        count(Severity::Medium),
        count(Severity::Low),
        count(Severity::Info)
    )?;
    for a in alerts {
        print_alert(w, a)?;
    }
    Ok(())
}

/// One alert, plain language first.
pub fn print_alert(w: &mut impl Write, a: &Alert) -> anyhow::Result<()> {
    writeln!(w)?;
    writeln!(
        w,
        "[{}] {} — {}{}",
        a.level.as_str().to_uppercase(),
        a.level.plain(),
        a.title,
        if a.count > 1 {
            format!(" ({} times)", a.count)
        } else {
            String::new()
        }
    )?;
    writeln!(
        w,
        "  Computer: {}   When: {}",
        a.host.as_deref().unwrap_or("unknown"),
        a.timestamp
            .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
            .unwrap_or_else(|| "unknown".into())
    )?;
    writeln!(w, "  What it means: {}", a.explanation)?;
    for s in &a.first_steps {
        writeln!(w, "  - {s}")?;
    }
    writeln!(
        w,
        "  Technical: rule {}; ATT&CK {}; HIPAA {}",
        a.rule_id,
        if a.attack.is_empty() {
            "-".to_string()
        } else {
            a.attack.join(", ")
        },
        a.hipaa.join(", ")
    )?;
    if let Some(c) = &a.correlation {
        writeln!(w, "  Correlation: {c}")?;
    }
    if let Some(e) = a.events.first() {
        writeln!(w, "  Evidence: {} {}", e.origin, e.summary)?;
    }
    Ok(())
}
