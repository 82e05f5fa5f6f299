//! `medguard phi`: find patient data in files (`scan`), show what the last scan stored (`show`),
//! and find the stored files holding a given value (`where`).

use crate::{GlobalArgs, exit, output};
use anyhow::Context;
use medguard_model::{Confidence, PhiFileReport, PhiFinding, PhiKind, PhiProblem, Severity};
use medguard_phi::{FindingSink, Hasher, ScanOptions, SinkError};
use medguard_store::{PhiStore, PhiWriter, SqliteStore};
use std::collections::BTreeMap;
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
    /// Find the stored files that hold a given value (read from standard input, never an argument).
    Where(WhereArgs),
}

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  echo 536-22-8726 | medguard phi where ssn\n  \
medguard phi where name < names.txt --json\n\n\
Each line of standard input is one value (so it stays out of the shell history and the process \
list). It is hashed with the install's key the way scans hash what they find, and looked up among \
the stored findings of every scan: the value itself is never stored or printed, only its mask."
)]
pub struct WhereArgs {
    /// What the values are: ssn, name, dob, mrn, phone, email, mbi, plan-id, account, npi, dea,
    /// card, routing, bank-account, address, ...
    #[arg(value_name = "KIND", value_parser = parse_kind)]
    pub kind: PhiKind,
    /// The hashing key file the scans used. Default: phi.key next to the store.
    #[arg(long, value_name = "PATH")]
    pub key: Option<PathBuf>,
}

fn parse_kind(s: &str) -> Result<PhiKind, String> {
    PhiKind::parse(&s.to_ascii_lowercase()).ok_or_else(|| {
        let kinds: Vec<&str> = PhiKind::ALL.iter().map(|k| k.as_str()).collect();
        format!("unknown kind (one of: {})", kinds.join(", "))
    })
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
        Action::Where(a) => where_held(g, a, std::io::stdin().lock()),
    }
}

struct Sink<'w, W: Write> {
    json: bool,
    out: W,
    writer: Option<Box<dyn PhiWriter + 'w>>,
    files: Vec<(PhiFileReport, Vec<PhiFinding>)>,
    examples: usize,
    errors: u64,
    /// What could not be checked, by why.
    problems: BTreeMap<PhiProblem, u64>,
    bar: Option<indicatif::ProgressBar>,
    lines: FindingWriter,
}

impl<W: Write> FindingSink for Sink<'_, W> {
    fn file(&mut self, report: &PhiFileReport, findings: &[PhiFinding]) -> Result<(), SinkError> {
        if self.json {
            self.lines.file(&mut self.out, findings)?;
        }
        if let Some(w) = self.writer.as_mut() {
            w.add_file(report, findings)?;
        }
        // Masked examples are for the human listing; JSON already carries every finding.
        let mut sample: Vec<PhiFinding> = Vec::new();
        if !self.json {
            for f in findings {
                if sample.len() >= self.examples {
                    break;
                }
                if !sample.iter().any(|s| s.kind == f.kind) {
                    sample.push(f.clone());
                }
            }
        }
        self.files.push((report.clone(), sample));
        Ok(())
    }

    fn error(&mut self, path: &str, problem: PhiProblem, error: &str) -> Result<(), SinkError> {
        self.errors += 1;
        *self.problems.entry(problem).or_default() += 1;
        // The path and why, never the message: it can name an archive member.
        if let Some(w) = self.writer.as_mut() {
            w.add_problem(path, problem)?;
        }
        if self.json {
            output::json_line(
                &mut self.out,
                "phi_error",
                &serde_json::json!({"path": path, "problem": problem.as_str(), "error": error}),
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

/// `phi_finding` records, built in a byte buffer without serde or the `fmt` machinery: a scan can
/// produce millions of them. The JSON is the same as serializing
/// `{"type":"phi_finding","schema":1, ...PhiFinding}` with serde (tested below).
#[derive(Default)]
struct FindingWriter {
    buf: Vec<u8>,
    /// `{"type":"phi_finding","schema":1,"path":"<path>"` of the file being written.
    prefix: Vec<u8>,
}

impl FindingWriter {
    /// Write every finding of one file (they share its path).
    fn file(&mut self, out: &mut impl Write, findings: &[PhiFinding]) -> std::io::Result<()> {
        let mut path: Option<&std::sync::Arc<str>> = None;
        self.buf.clear();
        for f in findings {
            if !path.is_some_and(|p| std::sync::Arc::ptr_eq(p, &f.path) || **p == *f.path) {
                self.prefix.clear();
                self.prefix
                    .extend_from_slice(b"{\"type\":\"phi_finding\",\"schema\":1,\"path\":");
                json_str(&mut self.prefix, &f.path);
                path = Some(&f.path);
            }
            self.buf.extend_from_slice(&self.prefix);
            finding_fields(&mut self.buf, f);
            if self.buf.len() >= 1 << 16 {
                out.write_all(&self.buf)?;
                self.buf.clear();
            }
        }
        out.write_all(&self.buf)
    }
}

/// The rest of a finding line after its path.
fn finding_fields(b: &mut Vec<u8>, f: &PhiFinding) {
    b.extend_from_slice(b",\"kind\":\"");
    b.extend_from_slice(f.kind.as_str().as_bytes());
    b.extend_from_slice(b"\",\"masked\":");
    json_str(b, &f.masked);
    // Hex digits need no escaping.
    b.extend_from_slice(b",\"hash\":\"");
    b.extend_from_slice(&f.hash.hex());
    b.push(b'"');
    if let Some(v) = &f.value {
        b.extend_from_slice(b",\"value\":");
        json_str(b, v);
    }
    b.extend_from_slice(b",\"location\":{");
    let l = &f.location;
    let mut sep: &[u8] = b"";
    if let Some(m) = &l.member {
        b.extend_from_slice(b"\"member\":");
        json_str(b, m);
        sep = b",";
    }
    for (key, n) in [(&b"\"line\":"[..], l.line), (b"\"column\":", l.column)] {
        if let Some(n) = n {
            b.extend_from_slice(sep);
            b.extend_from_slice(key);
            json_u64(b, n);
            sep = b",";
        }
    }
    if let Some(field) = &l.field {
        b.extend_from_slice(sep);
        b.extend_from_slice(b"\"field\":");
        json_str(b, field);
        sep = b",";
    }
    if let Some(p) = l.page {
        b.extend_from_slice(sep);
        b.extend_from_slice(b"\"page\":");
        json_u64(b, u64::from(p));
        sep = b",";
    }
    if let Some(r) = l.record {
        b.extend_from_slice(sep);
        b.extend_from_slice(b"\"record\":");
        json_u64(b, r);
    }
    b.extend_from_slice(match f.confidence {
        Confidence::Low => b"},\"confidence\":\"low\"",
        Confidence::Medium => b"},\"confidence\":\"medium\"",
        Confidence::High => b"},\"confidence\":\"high\"",
    });
    b.extend_from_slice(b",\"reason\":");
    json_str(b, &f.reason);
    b.extend_from_slice(b"}\n");
}

/// A JSON string literal (RFC 8259 escaping: quote, backslash and control characters).
fn json_str(b: &mut Vec<u8>, s: &str) {
    b.push(b'"');
    let bytes = s.as_bytes();
    // Nearly every string needs no escape: one branch-free pass (vectorised) says so.
    let plain = !bytes.iter().fold(false, |any, &c| {
        any | (c < 0x20) | (c == b'"') | (c == b'\\')
    });
    if plain {
        b.extend_from_slice(bytes);
        b.push(b'"');
        return;
    }
    let mut start = 0;
    for (i, &c) in bytes.iter().enumerate() {
        let esc: &[u8] = match c {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0..=0x1f => b"",
            _ => continue,
        };
        b.extend_from_slice(&bytes[start..i]);
        if esc.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            b.extend_from_slice(b"\\u00");
            b.push(HEX[usize::from(c >> 4)]);
            b.push(HEX[usize::from(c & 15)]);
        } else {
            b.extend_from_slice(esc);
        }
        start = i + 1;
    }
    b.extend_from_slice(&bytes[start..]);
    b.push(b'"');
}

fn json_u64(b: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    b.extend_from_slice(&digits[i..]);
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
        problems: BTreeMap::new(),
        bar,
        lines: FindingWriter::default(),
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
        print_human(out, &files, &summary, &sink.problems, g.color())?;
    }
    out.flush()?;
    let worst = files.iter().map(|(r, _)| r.severity).max();
    Ok(match (a.fail_on, worst) {
        (Some(t), Some(w)) if w >= t => exit::FINDINGS,
        _ if sink.errors > 0 => exit::PARTIAL,
        _ => exit::OK,
    })
}

/// Scan `roots` for patient data into `store`, printing nothing (the demo's practice share): the
/// stored scan's totals.
pub(crate) fn scan_into(
    store: &mut SqliteStore,
    roots: &[PathBuf],
    hasher: &Hasher,
) -> anyhow::Result<medguard_model::PhiScanSummary> {
    let names: Vec<String> = roots.iter().map(|p| p.display().to_string()).collect();
    let mut sink = Sink {
        json: false,
        out: std::io::sink(),
        writer: Some(store.phi_writer(&names)?),
        files: Vec::new(),
        examples: 0,
        errors: 0,
        problems: BTreeMap::new(),
        bar: None,
        lines: FindingWriter::default(),
    };
    let summary = medguard_phi::scan(roots, &ScanOptions::default(), hasher, &mut sink)
        .context("failed to scan for patient data")?;
    if let Some(w) = sink.writer.take() {
        w.commit(&summary)
            .context("failed to save the results in the store")?;
    }
    Ok(summary)
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
    problems: &BTreeMap<PhiProblem, u64>,
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
                    let at = f.location.describe();
                    if at.is_empty() {
                        v.to_string()
                    } else {
                        format!("{v} ({at})")
                    }
                })
                .collect();
            writeln!(out, "     e.g. {}", ex.join("; "))?;
        }
        writeln!(out, "     Fix: {}", r.advice())?;
    }
    let unchecked: u64 = problems.values().sum();
    let why: Vec<String> = problems
        .iter()
        .map(|(p, n)| format!("{} {n}", p.as_str()))
        .collect();
    writeln!(
        out,
        "\n{} files, {} scanned in {:.1} s; {}.",
        s.files_scanned,
        size(s.bytes_scanned),
        s.elapsed_ms as f64 / 1000.0,
        if unchecked == 0 {
            "everything could be read".to_string()
        } else {
            format!(
                "{unchecked} {} could not be checked ({}): the lines starting 'medguard:' say \
                 which",
                if unchecked == 1 {
                    "file or part of a file"
                } else {
                    "files or parts of files"
                },
                why.join(", ")
            )
        }
    )?;
    Ok(())
}

fn show(g: &GlobalArgs, a: ShowArgs) -> anyhow::Result<i32> {
    let store = g.open_store()?;
    let files = store.phi_files(a.scan)?;
    let scan = match a.scan {
        Some(id) => Some(id),
        None => store.phi_scans()?.first().map(|s| s.id),
    };
    let problems = match scan {
        Some(id) => store.phi_problems(id)?,
        None => Vec::new(),
    };
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
        for (path, problem) in &problems {
            output::json_line(
                &mut out,
                "phi_problem",
                &serde_json::json!({"path": path, "problem": problem.as_str()}),
            )?;
        }
        return Ok(exit::OK);
    }
    if scan.is_none() {
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
    if files.is_empty() {
        writeln!(out, "No patient data was found in the files checked.")?;
    }
    // What could not be checked: why it matters, then the files.
    for problem in PhiProblem::ALL {
        let paths: Vec<&str> = problems
            .iter()
            .filter(|(_, p)| *p == problem)
            .map(|(path, _)| path.as_str())
            .collect();
        if paths.is_empty() {
            continue;
        }
        writeln!(out, "\nNot checked ({}): {}", paths.len(), problem.plain())?;
        for path in paths {
            writeln!(out, "     {path}")?;
        }
    }
    Ok(exit::OK)
}

/// `phi where`: the stored files holding each value read from `input`, one per line.
fn where_held(g: &GlobalArgs, a: WhereArgs, input: impl std::io::BufRead) -> anyhow::Result<i32> {
    let key = key_path(g, a.key)?;
    if !key.exists() {
        anyhow::bail!(
            "no hashing key at {}: no PHI scan has been stored with it (run `medguard phi scan` \
             first, or give the scans' --key)",
            key.display()
        );
    }
    let hasher = Hasher::load_or_create(&key)
        .with_context(|| format!("failed to read the hashing key {}", key.display()))?;
    let store = g.open_store()?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for line in input.lines() {
        let line = line.context("failed to read the values from standard input")?;
        let value = line.trim();
        if value.is_empty() {
            continue;
        }
        let hash = hasher.hash(a.kind, value);
        let files = store.phi_files_with_hash(&hash)?;
        let masked = medguard_phi::mask::mask(a.kind, value);
        if g.json {
            output::json_line(
                &mut out,
                "phi_where",
                &serde_json::json!({
                    "kind": a.kind,
                    "masked": masked.as_str(),
                    "hash": hash,
                    "files": files,
                }),
            )?;
        } else if files.is_empty() {
            writeln!(out, "{masked}: in no stored file")?;
        } else {
            writeln!(
                out,
                "{masked}: in {} stored file{}",
                files.len(),
                if files.len() == 1 { "" } else { "s" }
            )?;
            for f in &files {
                writeln!(out, "  {f}")?;
            }
        }
    }
    Ok(exit::OK)
}

#[cfg(test)]
mod tests {
    use super::*;
    use medguard_model::{PhiLocation, ValueHash};
    use proptest::prelude::*;

    fn serde_line(f: &PhiFinding) -> serde_json::Value {
        let mut v = serde_json::to_value(f).expect("serialize");
        let obj = v.as_object_mut().expect("object");
        obj.insert("type".into(), "phi_finding".into());
        obj.insert("schema".into(), 1.into());
        v
    }

    proptest! {
        #[test]
        fn hand_written_line_is_the_serde_line(
            path in "[\\x00-\\x7f]{0,20}.{0,20}", masked in "[\\x00-\\x20\"\\\\]{0,8}.{0,12}", value in proptest::option::of(".{0,20}"),
            member in proptest::option::of(".{0,20}"), field in proptest::option::of(".{0,20}"),
            line in proptest::option::of(any::<u64>()), column in proptest::option::of(any::<u64>()),
            page in proptest::option::of(any::<u32>()), record in proptest::option::of(any::<u64>()),
            kind in 0..PhiKind::ALL.len(), conf in 0..3usize, reason in ".{0,20}",
            hash in any::<[u8; 16]>(),
        ) {
            let f = PhiFinding {
                path: path.into(),
                kind: PhiKind::ALL[kind],
                masked: masked.into(),
                hash: ValueHash(hash),
                value,
                location: PhiLocation {
                    member: member.map(Into::into),
                    line,
                    column,
                    field: field.map(Into::into),
                    page,
                    record,
                },
                confidence: [Confidence::Low, Confidence::Medium, Confidence::High][conf],
                reason: reason.into(),
            };
            let mut out = Vec::new();
            FindingWriter::default()
                .file(&mut out, &[f.clone(), f.clone()])
                .expect("write");
            let lines: Vec<&[u8]> = out.split(|&b| b == b'\n').collect();
            prop_assert_eq!(lines.len(), 3);
            prop_assert_eq!(lines[2], b"");
            for line in &lines[..2] {
                let ours: serde_json::Value = serde_json::from_slice(line).expect("valid JSON");
                prop_assert_eq!(ours, serde_line(&f));
            }
        }
    }
}
