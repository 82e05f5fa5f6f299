//! `medguard phi`: find patient data in files (`scan`) and show what the last scan stored (`show`).

use crate::{GlobalArgs, exit, output};
use anyhow::Context;
use medguard_model::{PhiFileReport, PhiFinding, Severity};
use medguard_phi::{FindingSink, Hasher, ScanOptions, SinkError};
use medguard_store::{PhiStore, PhiWriter, SqliteStore};
use std::io::Write;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub action: Action,
}

#[derive(Debug, clap::Subcommand)]
pub enum Action {
    /// Scan files and folders for patient data; rank the files by risk; store the (masked) results.
    Scan(ScanArgs),
    /// Show the files the last scan stored, riskiest first.
    Show(ShowArgs),
}

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  medguard phi scan /srv/share /home/frontdesk/Desktop\n  \
medguard phi scan /srv/share --json > phi.jsonl\n  medguard phi scan backup.zip --min-records 10\n  \
medguard phi scan /srv/share --exclude '*.iso' --exclude '**/node_modules/**'\n\n\
Hidden and git-ignored files are scanned; links are not followed. Evidence is masked \
(***-**-6789) and hashed with a per-install key; --unmask prints full values to this terminal or \
JSON stream only, never to the store."
)]
pub struct ScanArgs {
    /// Files or folders to scan (archives, mailboxes and documents are opened).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Print full identifier values (terminal/JSON only; never stored).
    #[arg(long)]
    pub unmask: bool,
    /// Only report files holding at least N individuals (rows, messages, images).
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub min_records: u64,
    /// Skip paths matching this glob (repeatable): '*.iso', '**/Windows/**'.
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,
    /// Worker threads (default: one per core).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub threads: usize,
    /// The hashing key file (created 0600 on first use). Default: phi.key next to the store.
    #[arg(long, value_name = "PATH")]
    pub key: Option<PathBuf>,
    /// Do not save the results in the store.
    #[arg(long)]
    pub no_store: bool,
    /// Exit 4 when a file's risk is at or above this severity.
    #[arg(long, value_name = "SEVERITY")]
    pub fail_on: Option<Severity>,
    /// Masked examples shown per file (human output).
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub examples: usize,
    /// Per-file time budget in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub time_budget: u64,
}

#[derive(Debug, clap::Args)]
pub struct ShowArgs {
    /// Show this scan instead of the latest.
    #[arg(long)]
    pub scan: Option<i64>,
    /// Also list the masked findings of each file.
    #[arg(long)]
    pub findings: bool,
}

pub fn run(g: &GlobalArgs, args: Args) -> anyhow::Result<i32> {
    match args.action {
        Action::Scan(a) => scan(g, a),
        Action::Show(a) => show(g, a),
    }
}

struct Sink<'w, W: Write> {
    json: bool,
    out: W,
    writer: Option<Box<dyn PhiWriter + 'w>>,
    files: Vec<(PhiFileReport, Vec<PhiFinding>)>,
    examples: usize,
    errors: u64,
    bar: Option<indicatif::ProgressBar>,
}

impl<W: Write> FindingSink for Sink<'_, W> {
    fn file(&mut self, report: &PhiFileReport, findings: &[PhiFinding]) -> Result<(), SinkError> {
        if self.json {
            for f in findings {
                finding_line(&mut self.out, f)?;
            }
        }
        if let Some(w) = self.writer.as_mut() {
            w.add_file(report, findings)?;
        }
        let mut sample: Vec<PhiFinding> = Vec::new();
        for f in findings {
            if sample.len() >= self.examples {
                break;
            }
            if !sample.iter().any(|s| s.kind == f.kind) {
                sample.push(f.clone());
            }
        }
        self.files.push((report.clone(), sample));
        Ok(())
    }

    fn error(&mut self, path: &str, error: &str) -> Result<(), SinkError> {
        self.errors += 1;
        if self.json {
            output::json_line(
                &mut self.out,
                "phi_error",
                &serde_json::json!({"path": path, "error": error}),
            )?;
        } else {
            let line = format!("medguard: {path}: {error}");
            match &self.bar {
                Some(b) => b.suspend(|| eprintln!("{line}")),
                None => eprintln!("{line}"),
            }
        }
        Ok(())
    }

    fn progress(&mut self, files: u64, bytes: u64) {
        if let Some(b) = &self.bar {
            b.set_message(format!("{files} files, {} MB", bytes >> 20));
            b.tick();
        }
    }
}

/// One `phi_finding` record, serialized straight to the (buffered) output: a scan can produce
/// millions of them.
fn finding_line(out: &mut impl Write, f: &PhiFinding) -> std::io::Result<()> {
    #[derive(serde::Serialize)]
    struct Line<'a> {
        #[serde(rename = "type")]
        kind: &'static str,
        schema: u32,
        #[serde(flatten)]
        finding: &'a PhiFinding,
    }
    serde_json::to_writer(
        &mut *out,
        &Line {
            kind: "phi_finding",
            schema: 1,
            finding: f,
        },
    )?;
    out.write_all(b"\n")
}

fn key_path(g: &GlobalArgs, key: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    if let Some(k) = key {
        return Ok(k);
    }
    let db = match &g.db {
        Some(p) => p.clone(),
        None => SqliteStore::default_path()?,
    };
    Ok(db.with_file_name("phi.key"))
}

fn scan(g: &GlobalArgs, a: ScanArgs) -> anyhow::Result<i32> {
    let key = key_path(g, a.key.clone())?;
    let hasher = Hasher::load_or_create(&key)
        .with_context(|| format!("failed to prepare the hashing key {}", key.display()))?;
    let mut store = if a.no_store {
        None
    } else {
        Some(g.open_store()?)
    };
    let roots: Vec<String> = a.paths.iter().map(|p| p.display().to_string()).collect();
    let writer = match store.as_mut() {
        Some(s) => Some(s.phi_writer(&roots)?),
        None => None,
    };
    let bar = g.progress().then(|| {
        let b = indicatif::ProgressBar::new_spinner();
        b.set_style(
            indicatif::ProgressStyle::with_template("{spinner} scanning for patient data: {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
        );
        b.enable_steady_tick(std::time::Duration::from_millis(120));
        b
    });
    let stdout = std::io::stdout();
    let mut sink = Sink {
        json: g.json,
        out: std::io::BufWriter::with_capacity(64 << 10, stdout.lock()),
        writer,
        files: Vec::new(),
        examples: a.examples,
        errors: 0,
        bar,
    };
    let opts = ScanOptions {
        threads: a.threads,
        excludes: a.exclude.clone(),
        unmask: a.unmask,
        min_records: a.min_records,
        limits: medguard_phi::Limits {
            time_budget: std::time::Duration::from_secs(a.time_budget.max(1)),
            ..medguard_phi::Limits::default()
        },
    };
    let result = medguard_phi::scan(&a.paths, &opts, &hasher, &mut sink);
    if let Some(b) = sink.bar.take() {
        b.finish_and_clear();
    }
    let summary = match result {
        Ok(s) => s,
        Err(medguard_phi::ScanError::Sink(e)) => {
            if let Some(io) = e.downcast_ref::<std::io::Error>()
                && io.kind() == std::io::ErrorKind::BrokenPipe
            {
                return Ok(exit::OK);
            }
            return Err(anyhow::anyhow!("failed to deliver results: {e}"));
        }
        Err(e) => return Err(e).context("failed to scan for patient data"),
    };
    if let Some(w) = sink.writer.take() {
        w.commit(&summary)
            .context("failed to save the results in the store")?;
    }
    let mut files = std::mem::take(&mut sink.files);
    files.sort_by(|x, y| {
        y.0.risk
            .cmp(&x.0.risk)
            .then(y.0.individuals.cmp(&x.0.individuals))
            .then(x.0.path.cmp(&y.0.path))
    });
    let out = &mut sink.out;
    if g.json {
        for (r, _) in &files {
            output::json_line(out, "phi_file", r)?;
        }
        output::json_line(out, "phi_summary", &summary)?;
    } else if !g.quiet || !files.is_empty() {
        print_human(out, &files, &summary, g.color())?;
    }
    out.flush()?;
    let worst = files.iter().map(|(r, _)| r.severity).max();
    Ok(match (a.fail_on, worst) {
        (Some(t), Some(w)) if w >= t => exit::FINDINGS,
        _ if sink.errors > 0 => exit::PARTIAL,
        _ => exit::OK,
    })
}

fn size(n: u64) -> String {
    match n {
        0..1024 => format!("{n} B"),
        1024..1_048_576 => format!("{:.0} KB", n as f64 / 1024.0),
        _ => format!("{:.1} MB", n as f64 / 1_048_576.0),
    }
}

fn sev_label(s: Severity, color: bool) -> String {
    let label = s.as_str().to_uppercase();
    if !color {
        return format!("{label:<8}");
    }
    let code = match s {
        Severity::Critical => "1;31",
        Severity::High => "31",
        Severity::Medium => "33",
        Severity::Low => "36",
        Severity::Info => "2",
    };
    format!("\x1b[{code}m{label:<8}\x1b[0m")
}

fn print_human(
    out: &mut impl Write,
    files: &[(PhiFileReport, Vec<PhiFinding>)],
    s: &medguard_model::PhiScanSummary,
    color: bool,
) -> anyhow::Result<()> {
    let exposed = files
        .iter()
        .filter(|(r, _)| !r.exposure.reasons().is_empty())
        .count();
    if files.is_empty() {
        writeln!(
            out,
            "No patient data found in {} files ({}).",
            s.files_scanned,
            size(s.bytes_scanned)
        )?;
    } else {
        writeln!(
            out,
            "Patient data found: {} of {} files hold data about {} people; {} of those files are exposed.\n",
            files.len(),
            s.files_scanned,
            s.individuals,
            exposed
        )?;
    }
    for (i, (r, sample)) in files.iter().enumerate() {
        writeln!(
            out,
            "{:>3}. {} risk {:>3}  {}",
            i + 1,
            sev_label(r.severity, color),
            r.risk,
            r.headline
        )?;
        let counts: Vec<String> = r
            .counts
            .iter()
            .map(|(k, n)| format!("{} {n}", k.as_str()))
            .collect();
        writeln!(
            out,
            "     {}  ({}, {})  {}",
            r.path,
            r.format,
            size(r.size),
            counts.join(", ")
        )?;
        if !sample.is_empty() {
            let ex: Vec<String> = sample
                .iter()
                .map(|f| {
                    let v = f.value.as_deref().unwrap_or(&f.masked);
                    let loc = &f.location;
                    let mut at = Vec::new();
                    if let Some(m) = &loc.member {
                        at.push(m.clone());
                    }
                    if let Some(p) = loc.page {
                        at.push(format!("page {p}"));
                    }
                    if let Some(l) = loc.line {
                        at.push(format!("line {l}"));
                    }
                    if let Some(fl) = &loc.field {
                        at.push(fl.clone());
                    }
                    if at.is_empty() {
                        v.to_string()
                    } else {
                        format!("{v} ({})", at.join(", "))
                    }
                })
                .collect();
            writeln!(out, "     e.g. {}", ex.join("; "))?;
        }
        writeln!(out, "     Fix: {}", r.advice())?;
    }
    writeln!(
        out,
        "\n{} files, {} scanned in {:.1} s; {} could not be read.",
        s.files_scanned,
        size(s.bytes_scanned),
        s.elapsed_ms as f64 / 1000.0,
        s.errors
    )?;
    Ok(())
}

fn show(g: &GlobalArgs, a: ShowArgs) -> anyhow::Result<i32> {
    let store = g.open_store()?;
    let files = store.phi_files(a.scan)?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if g.json {
        for f in &files {
            output::json_line(&mut out, "phi_file", &f.report)?;
            if a.findings {
                for x in store.phi_findings(f.id)? {
                    output::json_line(&mut out, "phi_finding", &x)?;
                }
            }
        }
        return Ok(exit::OK);
    }
    if files.is_empty() {
        writeln!(
            out,
            "No PHI scan stored yet. Run `medguard phi scan <folder>`."
        )?;
        return Ok(exit::OK);
    }
    let color = g.color();
    for (i, f) in files.iter().enumerate() {
        let r = &f.report;
        writeln!(
            out,
            "{:>3}. {} risk {:>3}  {}\n     {}",
            i + 1,
            sev_label(r.severity, color),
            r.risk,
            r.headline,
            r.path
        )?;
        if a.findings {
            for x in store.phi_findings(f.id)? {
                writeln!(
                    out,
                    "       {:<12} {:<24} {}",
                    x.kind.as_str(),
                    x.masked,
                    x.location.field.as_deref().unwrap_or("")
                )?;
            }
        }
    }
    Ok(exit::OK)
}
