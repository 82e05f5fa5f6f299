//! The walk and the judgement: find files in parallel, extract and detect per file, then weigh each
//! file (individuals, identifier types, health information, exposure) into a risk score and a plain
//! sentence, and hand the results to a [`FindingSink`].

use crate::detect::Engine;
use crate::extract::{self, Cx, ExtractError, Format, Limits};
use crate::mask::Hasher;
use medguard_model::{
    PhiExposure, PhiFileReport, PhiFinding, PhiKind, PhiProblem, PhiScanSummary, Severity,
};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Seek};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// What a sink returns when it cannot take more (a closed pipe, a full disk).
pub type SinkError = Box<dyn std::error::Error + Send + Sync>;

/// Where results go: the CLI printers, the JSON printer, the store writer, test collectors.
pub trait FindingSink {
    /// One file that holds identifiers, with its findings (masked unless `--unmask`).
    fn file(&mut self, report: &PhiFileReport, findings: &[PhiFinding]) -> Result<(), SinkError>;
    /// A file (or a part of one: an archive member, a page) that could not be read, why it
    /// matters (`problem`) and what happened (`error`); the scan goes on.
    fn error(&mut self, path: &str, problem: PhiProblem, error: &str) -> Result<(), SinkError>;
    /// Progress: one more file looked at.
    fn progress(&mut self, _files: u64, _bytes: u64) {}
}

/// Settings for one scan.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// Worker threads (0: one per core).
    pub threads: usize,
    /// Glob patterns of paths to skip (matched against the full path and the file name).
    pub excludes: Vec<String>,
    /// Put full values in findings (never stored).
    pub unmask: bool,
    /// Report only files holding at least this many individuals (0: every file with a finding).
    pub min_records: u64,
    /// Size and time limits per file.
    pub limits: Limits,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            threads: 0,
            excludes: Vec::new(),
            unmask: false,
            min_records: 1,
            limits: Limits::default(),
        }
    }
}

/// Why a scan could not run at all. Messages read after "failed to ...".
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("understand the exclude pattern {pattern:?}")]
    Glob {
        pattern: String,
        #[source]
        source: globset::Error,
    },
    #[error("build the detection engine: {0}")]
    Engine(String),
    #[error("deliver results")]
    Sink(#[source] SinkError),
    #[error("find {0}")]
    Missing(PathBuf),
}

/// The outcome of one file.
pub struct FileOutcome {
    pub report: PhiFileReport,
    pub findings: Vec<PhiFinding>,
    /// What could not be read, and why (the report's `warnings` are their texts).
    pub problems: Vec<(PhiProblem, String)>,
}

enum Msg {
    File(Box<FileOutcome>),
    /// A file that could not be read (with its size), or a walk entry (no size: not a file).
    Error(String, PhiProblem, String, Option<u64>),
    /// A file looked at with nothing to report (binary content), and its size.
    Seen(u64),
}

/// One walker thread's results, sent in batches: one channel hand-over (and wake-up of the
/// receiving thread) per batch instead of per file. A batch goes when it holds 64 files, 16k
/// findings or is 200 ms old, and when the walker thread finishes (drop).
struct Batch {
    tx: crossbeam_channel::Sender<Vec<Msg>>,
    buf: Vec<Msg>,
    findings: usize,
    since: Instant,
}

impl Batch {
    fn new(tx: crossbeam_channel::Sender<Vec<Msg>>) -> Self {
        Batch {
            tx,
            buf: Vec::new(),
            findings: 0,
            since: Instant::now(),
        }
    }

    /// Queue a result; false when the receiver is gone (stop walking).
    fn push(&mut self, m: Msg) -> bool {
        if let Msg::File(o) = &m {
            self.findings += o.findings.len();
        }
        self.buf.push(m);
        if self.buf.len() >= 64
            || self.findings >= 16_384
            || self.since.elapsed() >= std::time::Duration::from_millis(200)
        {
            self.flush()
        } else {
            true
        }
    }

    fn flush(&mut self) -> bool {
        self.findings = 0;
        self.since = Instant::now();
        self.buf.is_empty() || self.tx.send(std::mem::take(&mut self.buf)).is_ok()
    }
}

impl Drop for Batch {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

/// Scan files and folders; results go to `sink` as each file completes.
pub fn scan(
    roots: &[PathBuf],
    opts: &ScanOptions,
    hasher: &Hasher,
    sink: &mut dyn FindingSink,
) -> Result<PhiScanSummary, ScanError> {
    let started = Instant::now();
    let engine = Engine::get().map_err(ScanError::Engine)?;
    for r in roots {
        if std::fs::symlink_metadata(r).is_err() {
            return Err(ScanError::Missing(r.clone()));
        }
    }
    let mut gs = globset::GlobSetBuilder::new();
    for p in &opts.excludes {
        let g = globset::Glob::new(p).map_err(|source| ScanError::Glob {
            pattern: p.clone(),
            source,
        })?;
        gs.add(g);
    }
    let excludes = gs.build().map_err(|source| ScanError::Glob {
        pattern: opts.excludes.join(" "),
        source,
    })?;
    let mut summary = PhiScanSummary {
        roots: roots.iter().map(|r| r.display().to_string()).collect(),
        ..PhiScanSummary::default()
    };
    let Some((first, rest)) = roots.split_first() else {
        return Ok(summary);
    };
    let mut wb = ignore::WalkBuilder::new(first);
    for r in rest {
        wb.add(r);
    }
    let threads = if opts.threads == 0 {
        std::thread::available_parallelism().map_or(2, |n| n.get())
    } else {
        opts.threads
    };
    wb.standard_filters(false)
        .hidden(false)
        .follow_links(false)
        .threads(threads);
    {
        let excludes = excludes.clone();
        wb.filter_entry(move |e| {
            !(excludes.is_match(e.path()) || excludes.is_match(e.file_name()))
        });
    }
    let walker = wb.build_parallel();
    let stop = AtomicBool::new(false);
    let (tx, rx) = crossbeam_channel::bounded::<Vec<Msg>>(16);
    let mut sink_err = None;
    std::thread::scope(|s| {
        let stop = &stop;
        s.spawn(move || {
            walker.run(|| {
                let mut batch = Batch::new(tx.clone());
                Box::new(move |entry| {
                    if stop.load(Ordering::Relaxed) {
                        return ignore::WalkState::Quit;
                    }
                    let entry = match entry {
                        Ok(e) => e,
                        Err(err) => {
                            let path = err_path(&err);
                            let problem = PhiProblem::Unreadable;
                            batch.push(Msg::Error(path, problem, err.to_string(), None));
                            return ignore::WalkState::Continue;
                        }
                    };
                    // Links are not followed: a link's target is scanned where it lies, if inside
                    // a root, and never outside the roots.
                    if !entry.file_type().is_some_and(|t| t.is_file()) {
                        return ignore::WalkState::Continue;
                    }
                    let path = entry.path();
                    // One message per file; the size comes from the open file when it was read.
                    let size = || entry.metadata().map(|m| m.len()).unwrap_or(0);
                    // A bug in a reader must cost one file, not the scan: its panic is caught
                    // and reported as that file's error.
                    let scanned = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        scan_file(path, opts, engine, hasher)
                    }));
                    let msg = match scanned {
                        Ok(Ok(Some(o))) => Msg::File(Box::new(o)),
                        Ok(Ok(None)) => Msg::Seen(size()),
                        Ok(Err(e)) => Msg::Error(
                            path.display().to_string(),
                            e.problem(),
                            error_chain(&e),
                            Some(size()),
                        ),
                        // The panic's own message can quote the file's text: never repeated.
                        Err(_) => Msg::Error(
                            path.display().to_string(),
                            PhiProblem::Unreadable,
                            "medguard failed on this file (a bug, please report it)".to_string(),
                            Some(size()),
                        ),
                    };
                    if batch.push(msg) {
                        ignore::WalkState::Continue
                    } else {
                        ignore::WalkState::Quit
                    }
                })
            });
            drop(tx);
        });
        for msg in rx.iter().flatten() {
            if sink_err.is_some() {
                continue;
            }
            let r = match msg {
                Msg::Seen(bytes) => {
                    summary.files_scanned += 1;
                    summary.bytes_scanned += bytes;
                    sink.progress(summary.files_scanned, summary.bytes_scanned);
                    Ok(())
                }
                Msg::Error(path, problem, err, size) => {
                    if let Some(bytes) = size {
                        summary.files_scanned += 1;
                        summary.bytes_scanned += bytes;
                        sink.progress(summary.files_scanned, summary.bytes_scanned);
                    }
                    summary.errors += 1;
                    sink.error(&path, problem, &err)
                }
                Msg::File(o) => {
                    summary.files_scanned += 1;
                    summary.bytes_scanned += o.report.size;
                    sink.progress(summary.files_scanned, summary.bytes_scanned);
                    let warned = o
                        .problems
                        .iter()
                        .try_for_each(|(problem, w)| sink.error(&o.report.path, *problem, w));
                    if warned.is_err() {
                        warned
                    } else if o.report.individuals >= opts.min_records && !o.findings.is_empty() {
                        summary.files_with_phi += 1;
                        summary.individuals += o.report.individuals;
                        for (k, n) in &o.report.counts {
                            *summary.counts.entry(*k).or_default() += n;
                        }
                        sink.file(&o.report, &o.findings)
                    } else {
                        Ok(())
                    }
                }
            };
            if let Err(e) = r {
                stop.store(true, Ordering::Relaxed);
                sink_err = Some(e);
            }
        }
    });
    if let Some(e) = sink_err {
        return Err(ScanError::Sink(e));
    }
    summary.elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    Ok(summary)
}

fn err_path(err: &ignore::Error) -> String {
    match err {
        ignore::Error::WithPath { path, .. } => path.display().to_string(),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            err_path(err)
        }
        _ => String::new(),
    }
}

/// "failed to X: cause: cause" for one error and its sources.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = format!("failed to {e}");
    let mut src = e.source();
    while let Some(x) = src {
        s.push_str(&format!(": {x}"));
        src = x.source();
    }
    s
}

/// Scan one file on disk. `Ok(None)` when it holds nothing (or is a binary not worth reading).
pub fn scan_file(
    path: &Path,
    opts: &ScanOptions,
    engine: &Engine,
    hasher: &Hasher,
) -> Result<Option<FileOutcome>, ExtractError> {
    let file = std::fs::File::open(path)?;
    let meta = file.metadata()?;
    let acl = crate::acl::of_file(&file);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // A small file gets a small buffer: a share holds thousands of 3 KB notes.
    let cap = usize::try_from(meta.len().saturating_add(1)).unwrap_or(usize::MAX);
    let mut r = BufReader::with_capacity(cap.clamp(8 << 10, 64 << 10), file);
    let fmt = extract::sniff(&name, r.fill_buf()?);
    let mut cx = Cx::new(
        engine,
        hasher,
        opts.unmask,
        opts.limits.clone(),
        path.display().to_string(),
    );
    let mut format = fmt.as_str().to_string();
    cx.file_name(&name)?;
    // A table's rows in a PostgreSQL directory backup, read with the columns its toc.dat names.
    if extract::pgdump::is_data_name(&name) && extract::pgdump::data_file(path, &mut cx)? {
        return Ok(Some(judge(cx, Format::PgDump.as_str(), path, &meta, acl)));
    }
    match fmt {
        Format::Binary => {
            // The head again, from the reader's buffer (no read, no copy).
            let head = r.fill_buf()?;
            extract::extract_bytes(fmt, &name, head, &mut cx)?;
            // A picture or program is reported only when its name gives a patient away.
            if !cx.found_any() {
                return Ok(None);
            }
        }
        // Only its head is read: enough to say what it is.
        Format::Unsupported => {
            let head = r.fill_buf()?;
            extract::extract_bytes(fmt, &name, head, &mut cx)?;
        }
        Format::Zip if meta.len() > opts.limits.max_whole => {
            let kind = crate::extract::office::container_kind(r.get_mut());
            if let Some(k) = kind {
                format = k.as_str().to_string();
            }
            let f = r.into_inner();
            extract::office::zip(f, &name, &mut cx)?;
        }
        Format::Doc | Format::Msg | Format::Ppt | Format::Protected => {
            // A compound file is named by what its streams hold, whatever its extension says.
            let data = extract::read_capped(&mut r, opts.limits.max_whole, fmt.as_str())?;
            let kind = extract::ole_format(&data);
            format = kind.as_str().to_string();
            extract::extract_ole(kind, &name, &data, &mut cx)?;
            if kind == Format::Binary && !cx.found_any() {
                return Ok(None);
            }
        }
        Format::Zip => {
            let data = extract::read_capped(&mut r, opts.limits.max_whole, "zip")?;
            if let Some(k) = crate::extract::office::container_kind(std::io::Cursor::new(&data[..]))
            {
                format = k.as_str().to_string();
            }
            extract::extract_bytes(fmt, &name, &data, &mut cx)?;
        }
        // Read in place, page by page, whatever its size.
        Format::Sqlite => extract::sqlite::file(path, &mut cx)?,
        // Streamed, a tar inside member by member, whatever its size; the file's size bounds the
        // expansion ratio.
        Format::Gzip | Format::Xz | Format::Bzip2 | Format::Zstd => {
            if let Some(kind) = extract::compressed_kind(fmt) {
                extract::office::compressed(kind, &mut r, Some(meta.len()), &name, &mut cx)?;
            }
        }
        // Read in place (it seeks to its header at the end), whatever its size.
        Format::SevenZip => {
            let mut f = r.into_inner();
            f.rewind()?;
            extract::sevenz::sevenz(f, &mut cx)?;
        }
        _ => extract::extract_stream(fmt, &name, &mut r, &mut cx)?,
    }
    Ok(Some(judge(cx, &format, path, &meta, acl)))
}

/// Scan bytes in memory as if they were a file named `name` (tests, fuzzing).
pub fn scan_bytes(
    name: &str,
    data: &[u8],
    opts: &ScanOptions,
    hasher: &Hasher,
) -> Result<FileOutcome, ExtractError> {
    scan_bytes_as(extract::sniff(name, data), name, data, opts, hasher)
}

/// Scan bytes in memory with a given extractor, whatever the content looks like (fuzzing).
pub fn scan_bytes_as(
    fmt: Format,
    name: &str,
    data: &[u8],
    opts: &ScanOptions,
    hasher: &Hasher,
) -> Result<FileOutcome, ExtractError> {
    let engine = Engine::get().map_err(|e| ExtractError::corrupt("engine", e))?;
    let mut cx = Cx::new(
        engine,
        hasher,
        opts.unmask,
        opts.limits.clone(),
        name.to_string(),
    );
    extract::extract_bytes(fmt, name, data, &mut cx)?;
    let exposure = PhiExposure {
        unencrypted_archive: cx.in_archive && !cx.encrypted_members,
        in_email: cx.in_email,
        ..PhiExposure::default()
    };
    Ok(build(cx, fmt.as_str(), name, 0, exposure))
}

fn judge(
    cx: Cx<'_>,
    format: &str,
    path: &Path,
    meta: &std::fs::Metadata,
    acl: Option<crate::acl::AclAccess>,
) -> FileOutcome {
    let mut exposure = path_exposure(path);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode();
        exposure.world_readable = mode & 0o004 != 0;
        exposure.group_readable = mode & 0o040 != 0;
    }
    // With an access list, the mode's group bits are its mask, not the owning group's right.
    if let Some(a) = acl {
        exposure.world_readable = a.other;
        exposure.group_readable = a.group;
        exposure.acl_readers = a.named_readers;
    }
    exposure.unencrypted_archive = cx.in_archive && !cx.encrypted_members;
    exposure.in_email = cx.in_email;
    build(
        cx,
        format,
        &path.display().to_string(),
        meta.len(),
        exposure,
    )
}

fn build(cx: Cx<'_>, format: &str, path: &str, size: u64, exposure: PhiExposure) -> FileOutcome {
    let individuals = cx.individuals();
    let (risk, severity, headline) = assess(format, &cx.counts, individuals, cx.health, &exposure);
    let report = PhiFileReport {
        path: path.to_string(),
        format: format.to_string(),
        size,
        counts: cx.counts,
        individuals,
        health_info: cx.health,
        exposure,
        risk,
        severity,
        headline,
        warnings: cx.warnings.iter().map(|(_, w)| w.clone()).collect(),
    };
    FileOutcome {
        report,
        findings: cx.findings,
        problems: cx.warnings,
    }
}

/// Folders other machines reach on this host: mount points of network file systems (a mapped
/// drive of the server) and the paths Samba shares. A file under one is on a shared drive whatever
/// its folder is called.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Shares(Vec<Share>);

/// One shared folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Share {
    pub path: PathBuf,
    /// Samba lets guests in (`guest ok = yes` and no `valid users` list): anyone on the network
    /// opens it without a password.
    pub guest: bool,
}

/// File system types that put a folder on the network.
const NETWORK_FS: &[&str] = &[
    "cifs",
    "smb3",
    "smbfs",
    "nfs",
    "nfs4",
    "fuse.sshfs",
    "davfs",
    "fuse.rclone",
    "ceph",
    "glusterfs",
];

/// The share parameters of a Samba section that decide who gets in, as set so far.
#[derive(Debug, Clone, Default)]
struct SmbSection {
    path: Option<String>,
    guest_ok: bool,
    valid_users: bool,
    available: bool,
}

impl SmbSection {
    fn share(&self, name: &str) -> Option<Share> {
        let path = self.path.as_deref()?;
        (!matches!(name, "global" | "printers" | "print$" | "")
            && self.available
            && path.starts_with('/')
            && !path.contains('%'))
        .then(|| Share {
            path: PathBuf::from(path),
            guest: self.guest_ok && !self.valid_users,
        })
    }
}

/// A Samba boolean (`yes`/`no`, `true`/`false`, `on`/`off`, `1`/`0`, any case); `None` if it is
/// none of these (Samba ignores the line).
fn smb_bool(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "yes" | "true" | "on" | "1" => Some(true),
        "no" | "false" | "off" | "0" => Some(false),
        _ => None,
    }
}

impl Shares {
    /// This host's shares, read once per process (missing or unreadable files mean none).
    pub fn system() -> &'static Shares {
        static SHARES: std::sync::OnceLock<Shares> = std::sync::OnceLock::new();
        SHARES.get_or_init(|| {
            let read = |p: &str| {
                std::fs::File::open(p)
                    .and_then(|f| {
                        let mut s = String::new();
                        std::io::Read::read_to_string(&mut std::io::Read::take(f, 1 << 20), &mut s)
                            .map(|_| s)
                    })
                    .unwrap_or_default()
            };
            let mut dirs = Shares::from_mounts(&read("/proc/self/mounts")).0;
            dirs.extend(Shares::from_samba(&read("/etc/samba/smb.conf")).0);
            Shares(dirs)
        })
    }

    /// Network mount points in `/proc/self/mounts` text (`\040` stands for a space).
    pub fn from_mounts(text: &str) -> Shares {
        Shares(
            text.lines()
                .filter_map(|l| {
                    let mut f = l.split_whitespace();
                    let (_dev, dir, fs) = (f.next()?, f.next()?, f.next()?);
                    NETWORK_FS.contains(&fs).then(|| Share {
                        path: PathBuf::from(unescape_mount(dir)),
                        guest: false,
                    })
                })
                .collect(),
        )
    }

    /// The shares of a Samba configuration (smb.conf(5)): every section's `path` except
    /// `[global]`, printers, paths with `%` substitutions and `available = no`; each with whether
    /// guests get in. Parameter names ignore case and whitespace (`guestok`, `Guest OK`), `public`
    /// means `guest ok`, a line ending in `\` goes on on the next, white space runs in a value are
    /// one space, and `[global]` sets the defaults of the sections after it (as `testparm` reads
    /// them).
    pub fn from_smb_conf(text: &str) -> Shares {
        Shares(SmbConf::parse(text).shares)
    }

    /// Everything a Samba configuration shares: its sections ([`Shares::from_smb_conf`]) and the
    /// folders users shared themselves (`net usershare`, the file manager's "Share this folder"),
    /// one file each in its `usershare path` (`/var/lib/samba/usershares` unless set). A
    /// usershare lets guests in when it says `guest_ok=y`, the configuration allows it (`usershare
    /// allow guests`, off unless set) and its access list does not deny Everyone.
    pub fn from_samba(conf: &str) -> Shares {
        let conf = SmbConf::parse(conf);
        let mut out = conf.shares;
        let dir = conf
            .usershare_path
            .unwrap_or_else(|| "/var/lib/samba/usershares".to_string());
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for entry in entries.flatten().take(MAX_USERSHARES) {
                let text = std::fs::File::open(entry.path()).and_then(|f| {
                    let mut s = String::new();
                    std::io::Read::read_to_string(&mut std::io::Read::take(f, 64 << 10), &mut s)
                        .map(|_| s)
                });
                if let Ok(t) = text {
                    out.extend(usershare(&t, conf.usershare_guests));
                }
            }
        }
        Shares(out)
    }

    /// The shares an absolute path lies in (or is).
    pub fn containing<'s>(&'s self, path: &'s Path) -> impl Iterator<Item = &'s Share> {
        self.0.iter().filter(move |s| path.starts_with(&s.path))
    }
}

/// Usershare files read from their folder (Samba's own default limit is 100 shares).
const MAX_USERSHARES: usize = 1024;

/// One usershare file as `net usershare add` writes it (`path=`, `usershare_acl=`, `guest_ok=`
/// lines).
fn usershare(text: &str, guests_allowed: bool) -> Option<Share> {
    let mut path = None;
    let (mut guest_ok, mut everyone_denied) = (false, false);
    for line in text.lines() {
        match line.split_once('=') {
            Some(("path", v)) => path = Some(v.trim()),
            Some(("guest_ok", v)) => guest_ok = v.trim().eq_ignore_ascii_case("y"),
            // Entries are SID:R, SID:F or SID:D; S-1-1-0 is Everyone.
            Some(("usershare_acl", v)) => {
                everyone_denied = v
                    .split(',')
                    .any(|e| e.trim().eq_ignore_ascii_case("S-1-1-0:D"));
            }
            _ => {}
        }
    }
    let path = path.filter(|p| p.starts_with('/'))?;
    Some(Share {
        path: PathBuf::from(path),
        guest: guests_allowed && guest_ok && !everyone_denied,
    })
}

/// What a Samba configuration says about sharing.
struct SmbConf {
    shares: Vec<Share>,
    /// `usershare path` of `[global]`.
    usershare_path: Option<String>,
    /// `usershare allow guests` of `[global]`.
    usershare_guests: bool,
}

impl SmbConf {
    fn parse(text: &str) -> SmbConf {
        let mut usershare_path = None;
        let mut usershare_guests = false;
        let mut out = Vec::new();
        let mut defaults = SmbSection {
            available: true,
            ..SmbSection::default()
        };
        let mut name = String::new();
        let mut cur = defaults.clone();
        let mut logical = String::new();
        for raw in text.lines() {
            let part = raw.trim();
            if logical.is_empty() && (part.starts_with(['#', ';']) || part.is_empty()) {
                continue;
            }
            if let Some(head) = part.strip_suffix('\\') {
                logical.push_str(head);
                continue;
            }
            logical.push_str(part);
            let line = std::mem::take(&mut logical);
            let line = line.trim();
            if let Some(section) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                if name == "global" {
                    defaults = SmbSection {
                        path: None,
                        ..cur.clone()
                    };
                } else {
                    out.extend(cur.share(&name));
                }
                name = section.trim().to_ascii_lowercase();
                cur = defaults.clone();
                continue;
            }
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            let key: String = key
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect::<String>()
                .to_ascii_lowercase();
            let value = value.trim();
            match key.as_str() {
                // Samba turns every run of white space inside a value into one space.
                "path" | "directory" => {
                    cur.path = Some(value.split_whitespace().collect::<Vec<_>>().join(" "));
                }
                "guestok" | "public" => cur.guest_ok = smb_bool(value).unwrap_or(cur.guest_ok),
                "validusers" => cur.valid_users = !value.is_empty(),
                "available" => cur.available = smb_bool(value).unwrap_or(cur.available),
                "usersharepath" if matches!(name.as_str(), "global" | "") => {
                    usershare_path = Some(value.to_string());
                }
                "usershareallowguests" if matches!(name.as_str(), "global" | "") => {
                    usershare_guests = smb_bool(value).unwrap_or(usershare_guests);
                }
                _ => {}
            }
        }
        if name != "global" {
            out.extend(cur.share(&name));
        }
        SmbConf {
            shares: out,
            usershare_path,
            usershare_guests,
        }
    }
}

/// Undo the octal escapes of mount table fields (`\040` space, `\011` tab, `\134` backslash).
fn unescape_mount(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let oct = b
            .get(i + 1..i + 4)
            .filter(|d| d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match (b[i], oct) {
            (b'\\', Some(d)) => {
                let v = d.iter().fold(0u32, |v, c| v * 8 + u32::from(c - b'0'));
                out.push(u8::try_from(v).unwrap_or(b'?'));
                i += 4;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Where a path lies: shared (guests let in or not), synced, desktop folders.
pub fn path_exposure(path: &Path) -> PhiExposure {
    path_exposure_in(path, Shares::system())
}

/// [`path_exposure`] with this host's shares given.
pub fn path_exposure_in(path: &Path, shares: &Shares) -> PhiExposure {
    let mut e = PhiExposure::default();
    // The working directory is asked once per process, not once per file (a relative root made
    // every file cost a getcwd call).
    static CWD: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
    let rooted = match CWD.get_or_init(|| std::env::current_dir().ok()) {
        Some(cwd) if path.is_relative() => Cow::Owned(cwd.join(path)),
        _ => Cow::Borrowed(path),
    };
    let abs = std::path::absolute(&rooted).unwrap_or_else(|_| path.to_path_buf());
    let mut c = String::new();
    for comp in abs.components() {
        c.clear();
        c.push_str(&comp.as_os_str().to_string_lossy());
        c.make_ascii_lowercase();
        if [
            "dropbox",
            "onedrive",
            "google drive",
            "googledrive",
            "icloud",
            "icloud drive",
            "box sync",
            "box",
        ]
        .iter()
        .any(|s| {
            // "Dropbox", "Dropbox - Smile Dental", "OneDrive - Practice"
            c.strip_prefix(s)
                .is_some_and(|r| r.is_empty() || r.starts_with(" -"))
                || c.starts_with("onedrive")
        }) {
            e.synced_folder = true;
        }
        if [
            "share",
            "shares",
            "shared",
            "public",
            "users/public",
            "srv",
            "nas",
            "common",
            "smb",
            "scans",
            "shared drive",
        ]
        .contains(&c.as_str())
            || c.ends_with("share")
            || c.ends_with("$")
        {
            e.shared_folder = true;
        }
        if c == "desktop" || c == "downloads" {
            e.desktop = true;
        }
    }
    for share in shares.containing(&abs) {
        e.shared_folder = true;
        e.guest_share |= share.guest;
    }
    e
}

fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn noun(format: &str) -> &'static str {
    match format {
        "csv" | "xlsx" | "xls" | "ods" => "spreadsheet",
        "docx" | "doc" | "odt" | "rtf" => "document",
        "pdf" => "PDF",
        "pptx" | "ppt" | "odp" => "presentation",
        "text" => "text file",
        "sql" => "database export",
        "hl7" => "HL7 interface file",
        "dicom" => "X-ray image file (DICOM)",
        "eml" | "msg" => "e-mail",
        "mbox" => "mailbox",
        "zip" | "gzip" | "tar" | "xz" | "bzip2" | "zstd" | "7z" => "archive",
        "protected" => "password-protected document",
        "vcard" => "contact list",
        "sqlite" => "database file",
        "pgdump" => "database backup",
        "html" => "web page",
        _ => "data file",
    }
}

/// Risk 0-100, its severity and one plain sentence for a file.
pub fn assess(
    format: &str,
    counts: &BTreeMap<PhiKind, u64>,
    individuals: u64,
    health: bool,
    exposure: &PhiExposure,
) -> (u32, Severity, String) {
    let mut kinds: Vec<PhiKind> = counts
        .keys()
        .copied()
        .filter(|k| k.identifies_person())
        .collect();
    kinds.sort_by_key(|k| (std::cmp::Reverse(k.weight()), std::cmp::Reverse(counts[k])));
    let sensitivity = kinds.first().map_or(0, |k| k.weight());
    let identity_complete = kinds.iter().any(|k| k.weight() >= 8)
        || (kinds.contains(&PhiKind::Name)
            && (kinds.contains(&PhiKind::Dob) || kinds.contains(&PhiKind::Address)));
    let volume = ((individuals as f64 + 1.0).log10() * 10.0).min(30.0) as u32;
    let mut risk = sensitivity * 3 + volume;
    if identity_complete {
        risk += 5;
    }
    if health && !kinds.is_empty() {
        risk += 15;
    }
    let mut exp = 0;
    if exposure.synced_folder {
        exp += 15;
    }
    if exposure.guest_share {
        exp += 20;
    } else if exposure.shared_folder {
        exp += 12;
    }
    if exposure.world_readable {
        exp += 10;
    } else if exposure.acl_readers > 0 {
        exp += 5;
    }
    if exposure.desktop {
        exp += 8;
    }
    if exposure.in_email {
        exp += 8;
    }
    if exposure.unencrypted_archive {
        exp += 5;
    }
    risk += exp.min(25);
    if kinds.is_empty() {
        risk = risk.min(15);
    }
    let risk = risk.min(100);
    let severity = match risk {
        70.. => Severity::Critical,
        50..=69 => Severity::High,
        30..=49 => Severity::Medium,
        10..=29 => Severity::Low,
        _ => Severity::Info,
    };
    let who = match individuals {
        0 => String::new(),
        1 => "1 patient with ".to_string(),
        n => format!("{} patients with ", thousands(n)),
    };
    let what: Vec<&str> = kinds.iter().take(2).map(|k| k.short()).collect();
    let what = if what.is_empty() {
        counts
            .keys()
            .next()
            .map_or("identifiers".to_string(), |k| k.plain().to_string())
    } else {
        what.join(" and ")
    };
    let health_txt = if health && !kinds.is_empty() {
        " plus health information"
    } else {
        ""
    };
    let unprotected = exposure.world_readable
        || exposure.shared_folder
        || exposure.guest_share
        || exposure.synced_folder
        || exposure.unencrypted_archive;
    let doc = noun(format);
    let article = if unprotected {
        "an unprotected "
    } else if doc.starts_with(['a', 'e', 'i', 'o', 'u', 'A', 'E', 'I', 'O', 'U']) {
        "an "
    } else {
        "a "
    };
    let place = exposure
        .reasons()
        .into_iter()
        .find(|r| {
            !r.starts_with("readable") && *r != "in an unencrypted archive" && *r != "in an e-mail"
        })
        .map(|r| format!(" {r}"))
        .unwrap_or_default();
    let headline = format!("{who}{what}{health_txt} in {article}{doc}{place}");
    let mut c = headline.chars();
    let headline = match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => headline,
    };
    (risk, severity, headline)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headline_reads_plainly() {
        let mut counts = BTreeMap::new();
        counts.insert(PhiKind::Ssn, 4812);
        counts.insert(PhiKind::Dob, 4812);
        counts.insert(PhiKind::Name, 4812);
        let exp = PhiExposure {
            shared_folder: true,
            ..PhiExposure::default()
        };
        let (risk, sev, line) = assess("csv", &counts, 4812, false, &exp);
        assert_eq!(
            line,
            "4,812 patients with SSN and date of birth in an unprotected spreadsheet on a shared drive"
        );
        assert!(risk >= 70, "{risk}");
        assert_eq!(sev, Severity::Critical);
        let (low, _, _) = assess("text", &counts, 1, false, &PhiExposure::default());
        assert!(low < risk);
        // A share guests get into is worse than a share that asks for a password.
        let guest = PhiExposure {
            shared_folder: true,
            guest_share: true,
            ..PhiExposure::default()
        };
        let mut names = BTreeMap::new();
        names.insert(PhiKind::Name, 12);
        let (open, _, line) = assess("text", &names, 12, false, &guest);
        assert_eq!(
            line,
            "12 patients with name in an unprotected text file on a network share anyone can open without a password"
        );
        let (shared, _, _) = assess("text", &names, 12, false, &exp);
        assert!(open > shared, "{open} vs {shared}");
    }

    #[test]
    fn exposure_from_path() {
        let e = path_exposure(Path::new("/home/amy/Dropbox/exports/patients.csv"));
        assert!(e.synced_folder && !e.shared_folder);
        let e = path_exposure(Path::new("/srv/share/billing.xlsx"));
        assert!(e.shared_folder);
        let e = path_exposure(Path::new("/home/fd/Desktop/list.csv"));
        assert!(e.desktop);
        let e = path_exposure(Path::new("/Users/dr/Dropbox - Smile Dental/x.csv"));
        assert!(e.synced_folder);
        let e = path_exposure(Path::new("/Users/dr/OneDrive - Practice/x.csv"));
        assert!(e.synced_folder);
        let e = path_exposure(Path::new("/Users/dr/boxes/x.csv"));
        assert!(!e.synced_folder);
    }

    #[test]
    fn network_mounts_and_samba_paths_are_shares() {
        let m = Shares::from_mounts(
            "/dev/vda1 / ext4 rw 0 0\n\
             //nas/scans /mnt/front\\040desk cifs rw,vers=3.0 0 0\n\
             srv:/export /mnt/nfs nfs4 rw 0 0\n\
             tmpfs /tmp tmpfs rw 0 0\n",
        );
        let inside = |s: &Shares, p: &str| s.containing(Path::new(p)).count() > 0;
        assert!(inside(&m, "/mnt/front desk/2024/patients.csv"));
        assert!(inside(&m, "/mnt/nfs/x.pdf"));
        assert!(!inside(&m, "/tmp/x.csv"));
        assert!(!inside(&m, "/mnt/front deskx/a.csv"));
        let s = Shares::from_smb_conf(
            "[global]\n  path = /should/not\n; path = /commented\n\
             [Scans]\n   Path=/srv/scans\n[homes]\n path = /home/%S\n\
             [printers]\n path = /var/spool/samba\n[Billing]\n\tpath =  /data/billing  \n",
        );
        let paths: Vec<&Path> = s.0.iter().map(|s| s.path.as_path()).collect();
        assert_eq!(paths, [Path::new("/srv/scans"), Path::new("/data/billing")]);
        assert!(inside(&s, "/data/billing/ledger.xlsx"));
        assert!(!inside(&s, "/var/spool/samba/job"));
    }

    #[test]
    fn usershare_files_say_who_gets_in() {
        let file = |acl: &str, guest: &str| {
            format!(
                "#VERSION 2\npath=/home/fd/Public\ncomment=\nusershare_acl={acl}\n\
                 guest_ok={guest}\nsharename=Public\n"
            )
        };
        let share = usershare(&file("S-1-1-0:R", "y"), true).expect("share");
        assert_eq!(share.path, Path::new("/home/fd/Public"));
        assert!(share.guest);
        assert!(
            !usershare(&file("S-1-1-0:R", "y"), false)
                .expect("share")
                .guest
        );
        assert!(
            !usershare(&file("S-1-1-0:R", "n"), true)
                .expect("share")
                .guest
        );
        assert!(
            !usershare(&file("S-1-22-1-1000:F,S-1-1-0:D", "y"), true)
                .expect("share")
                .guest
        );
        assert_eq!(usershare("#VERSION 2\npath=relative\n", true), None);
        assert_eq!(usershare("guest_ok=y\n", true), None);
    }

    #[test]
    fn samba_guest_shares_are_told_from_private_ones() {
        let s = Shares::from_smb_conf(
            "[global]\n map to guest = bad user\n\
             [open]\n path = /srv/open\n guest ok = yes\n\
             [public]\n path = /srv/public\n PUBLIC = True\n\
             [spaced]\n path = /srv/spaced\n guestok = on\n\
             [staff]\n path = /srv/staff\n guest ok = yes\n valid users = @staff\n\
             [closed]\n path = /srv/closed\n guest ok = no\n\
             [odd]\n path = /srv/odd\n guest ok = maybe\n\
             [off]\n path = /srv/off\n guest ok = yes\n available = no\n\
             [split]\n path = /srv/pa\\\ntients   and  notes\n guest ok = 1\n",
        );
        let guest: Vec<(&str, bool)> =
            s.0.iter()
                .map(|s| (s.path.to_str().unwrap_or(""), s.guest))
                .collect();
        assert_eq!(
            guest,
            [
                ("/srv/open", true),
                ("/srv/public", true),
                ("/srv/spaced", true),
                ("/srv/staff", false),
                ("/srv/closed", false),
                ("/srv/odd", false),
                ("/srv/patients and notes", true),
            ]
        );
        // [global] sets the default of the shares after it; a share may turn it off again.
        let s = Shares::from_smb_conf(
            "[global]\n guest ok = yes\n[a]\n path = /a\n[b]\n path = /b\n public = no\n",
        );
        let guest: Vec<bool> = s.0.iter().map(|s| s.guest).collect();
        assert_eq!(guest, [true, false]);
        let e = path_exposure_in(Path::new("/a/patients.csv"), &s);
        assert!(e.shared_folder && e.guest_share);
        let e = path_exposure_in(Path::new("/b/patients.csv"), &s);
        assert!(e.shared_folder && !e.guest_share);
        let e = path_exposure_in(Path::new("/c/patients.csv"), &s);
        assert!(!e.shared_folder && !e.guest_share);
    }
}
