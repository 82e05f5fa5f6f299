//! Extractors: bytes of a format -> text units with structural context (CSV header, JSON key, XML
//! element, DICOM tag, HL7 field, SQL column, archive member, page), fed straight into detection.
//!
//! Every extractor treats its input as hostile: sizes are capped, archives are bounded in depth,
//! entry count, expansion ratio and total output, each file has a time budget, and parsers of
//! third-party crates that may panic run behind `catch_unwind`.

pub mod dicom;
pub mod doc;
pub mod hl7;
pub mod html;
pub mod json;
pub mod mail;
pub mod markup;
pub mod msg;
pub mod office;
pub mod pdf;
pub mod pgdump;
pub mod ppt;
pub mod rtf;
pub mod sevenz;
pub mod sql;
pub mod sqlite;
pub mod table;
pub mod text;
pub mod vcard;

use crate::detect::{Engine, FieldClass, FieldInfo, Hit, Reason, Scratch};
use crate::mask::{self, Hasher};
use medguard_model::{PhiFinding, PhiKind, PhiLocation, PhiProblem, ValueHash};
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{BufRead, Read};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

/// Size and time limits for one file.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest file (or archive member) read whole into memory for formats that need it.
    pub max_whole: u64,
    /// Longest line handled as one unit; longer lines are cut into pieces of this size.
    pub max_line: usize,
    /// Archive nesting depth.
    pub max_depth: usize,
    /// Members per archive.
    pub max_entries: usize,
    /// Expansion ratio (uncompressed / compressed) above which a member is a zip bomb.
    pub max_ratio: u64,
    /// Total bytes expanded from archives for one file on disk.
    pub max_expanded: u64,
    /// Wall-clock budget for one file on disk.
    pub time_budget: std::time::Duration,
    /// Findings kept per file (counts go on beyond it).
    pub max_findings: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_whole: 256 << 20,
            max_line: 1 << 20,
            max_depth: 4,
            max_entries: 20_000,
            max_ratio: 200,
            max_expanded: 2 << 30,
            time_budget: std::time::Duration::from_secs(60),
            max_findings: 100_000,
        }
    }
}

/// Why a file (or member) could not be read. Messages read after "failed to ...".
#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    #[error("read the file")]
    Io(#[from] std::io::Error),
    #[error("read the file: it is larger than the {limit}-byte limit for {format}")]
    TooLarge { format: &'static str, limit: u64 },
    #[error("parse {format}: {reason}")]
    Corrupt {
        format: &'static str,
        reason: String,
    },
    #[error("finish within the per-file time budget of {secs} s")]
    Timeout { secs: u64 },
    #[error("expand the archive: {reason} (zip bomb defence)")]
    Bomb { reason: String },
    #[error("scan binary content in a file named like text")]
    BinaryText,
}

impl ExtractError {
    /// What it means for the file: why it could not be checked.
    pub fn problem(&self) -> PhiProblem {
        match self {
            ExtractError::TooLarge { .. } => PhiProblem::TooLarge,
            ExtractError::Timeout { .. } => PhiProblem::TimedOut,
            ExtractError::Bomb { .. } => PhiProblem::Bomb,
            ExtractError::Io(_) | ExtractError::Corrupt { .. } | ExtractError::BinaryText => {
                PhiProblem::Unreadable
            }
        }
    }

    pub(crate) fn corrupt(format: &'static str, reason: impl std::fmt::Display) -> Self {
        ExtractError::Corrupt {
            format,
            reason: reason.to_string(),
        }
    }
}

/// A file format, sniffed from content first and the name second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Csv,
    Json,
    Xml,
    Sql,
    Hl7,
    Rtf,
    Pdf,
    Eml,
    Mbox,
    Dicom,
    /// A zip container: archive, DOCX, XLSX, PPTX, ODT, ODS.
    Zip,
    Gzip,
    /// An xz stream (`.xz`, `.tar.xz`).
    Xz,
    /// A bzip2 stream (`.bz2`, `.tar.bz2`).
    Bzip2,
    /// A Zstandard stream (`.zst`, `.tar.zst`).
    Zstd,
    /// A tar archive (POSIX/GNU/pax), also inside gzip, xz or bzip2 (`.tar.gz`).
    Tar,
    /// A 7-Zip archive.
    SevenZip,
    /// Legacy Excel (OLE2).
    Xls,
    /// Legacy Word 97-2003 (OLE2); a compound file with another name is opened and read as what
    /// its streams hold ([`ole_format`]: a message, a document or a workbook).
    Doc,
    /// An Outlook message saved as `.msg` (OLE2), read the same way.
    Msg,
    /// Legacy PowerPoint 97-2003 (OLE2), read the same way.
    Ppt,
    /// vCard contacts (`.vcf`).
    Vcard,
    /// An SQLite 3 database: every plain table's rows.
    Sqlite,
    /// An HTML page: text, tables by their header cells, form fields.
    Html,
    /// A PostgreSQL backup in one of `pg_dump`'s archive formats (custom, directory, tar).
    PgDump,
    /// A password-protected Office file (DOCX, XLSX, PPTX saved with a password: an OLE2
    /// `EncryptedPackage`): reported as protected, not readable.
    Protected,
    /// A container of data medguard cannot look inside ([`unsupported_container`]): reported as
    /// not checked.
    Unsupported,
    /// Media, executables and other binaries without text worth scanning.
    Binary,
}

impl Format {
    /// Every format.
    pub const ALL: [Format; 29] = [
        Format::Text,
        Format::Csv,
        Format::Json,
        Format::Xml,
        Format::Sql,
        Format::Hl7,
        Format::Rtf,
        Format::Pdf,
        Format::Eml,
        Format::Mbox,
        Format::Dicom,
        Format::Zip,
        Format::Gzip,
        Format::Xz,
        Format::Bzip2,
        Format::Zstd,
        Format::Tar,
        Format::SevenZip,
        Format::Xls,
        Format::Doc,
        Format::Msg,
        Format::Ppt,
        Format::Protected,
        Format::Vcard,
        Format::Sqlite,
        Format::Html,
        Format::PgDump,
        Format::Unsupported,
        Format::Binary,
    ];

    /// The stable name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Text => "text",
            Format::Csv => "csv",
            Format::Json => "json",
            Format::Xml => "xml",
            Format::Sql => "sql",
            Format::Hl7 => "hl7",
            Format::Rtf => "rtf",
            Format::Pdf => "pdf",
            Format::Eml => "eml",
            Format::Mbox => "mbox",
            Format::Dicom => "dicom",
            Format::Zip => "zip",
            Format::Gzip => "gzip",
            Format::Xz => "xz",
            Format::Bzip2 => "bzip2",
            Format::Zstd => "zstd",
            Format::SevenZip => "7z",
            Format::Tar => "tar",
            Format::Xls => "xls",
            Format::Doc => "doc",
            Format::Ppt => "ppt",
            Format::Protected => "protected",
            Format::Vcard => "vcard",
            Format::Sqlite => "sqlite",
            Format::Html => "html",
            Format::PgDump => "pgdump",
            Format::Unsupported => "unsupported",
            Format::Msg => "msg",
            Format::Binary => "binary",
        }
    }
}

fn ext_of(name: &str) -> String {
    name.rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default()
}

fn is_text_ext(ext: &str) -> bool {
    matches!(
        ext,
        "txt"
            | "log"
            | "csv"
            | "tsv"
            | "json"
            | "ndjson"
            | "xml"
            | "sql"
            | "hl7"
            | "md"
            | "rtf"
            | "eml"
            | "htm"
            | "html"
            | "vcf"
    )
}

/// Decide the format of `head` (the first bytes of a file named `name`).
pub fn sniff(name: &str, head: &[u8]) -> Format {
    let ext = ext_of(name);
    if head.get(128..132) == Some(b"DICM") {
        return Format::Dicom;
    }
    if head.starts_with(b"%PDF")
        || head
            .get(..1024)
            .is_some_and(|h| memchr::memmem::find(h, b"%PDF-").is_some())
            && ext == "pdf"
    {
        return Format::Pdf;
    }
    if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        return Format::Zip;
    }
    if head.starts_with(&[0x1f, 0x8b]) {
        return Format::Gzip;
    }
    if head.starts_with(b"\xFD7zXZ\0") {
        return Format::Xz;
    }
    if looks_like_bzip2(head) {
        return Format::Bzip2;
    }
    if head.starts_with(&[0x28, 0xB5, 0x2F, 0xFD]) {
        return Format::Zstd;
    }
    if sevenz::looks_like_7z(head) {
        return Format::SevenZip;
    }
    if sqlite::looks_like_sqlite(head) {
        return Format::Sqlite;
    }
    if pgdump::looks_like_pgdump(head) {
        return Format::PgDump;
    }
    if unsupported_container(head).is_some() {
        return Format::Unsupported;
    }
    if office::is_tar(head) {
        return Format::Tar;
    }
    if head.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        return match ext.as_str() {
            "xls" | "xla" | "xlt" => Format::Xls,
            "msg" => Format::Msg,
            // Compound files that are never documents, presentations or messages: installers,
            // Visio, Publisher, Project, thumbnail caches.
            "msi" | "msp" | "msm" | "vsd" | "pub" | "mpp" | "db" => Format::Binary,
            // Anything else is opened and checked for a Word document, a presentation or a
            // message.
            _ => Format::Doc,
        };
    }
    if ext == "dcm" && head.len() > 8 && dicom::looks_raw(head) {
        return Format::Dicom;
    }
    let utf16 = head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0xFE, 0xFF]);
    let decoded;
    let text: &[u8] = if utf16 {
        let (cow, _, _) = if head.starts_with(&[0xFF, 0xFE]) {
            encoding_rs::UTF_16LE.decode(head)
        } else {
            encoding_rs::UTF_16BE.decode(head)
        };
        decoded = cow.into_owned();
        decoded.as_bytes()
    } else {
        head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head)
    };
    // Binary formats announce themselves with NUL or control bytes near the start; a head that
    // reads as text needs no magic-number matching (the text formats are recognised below).
    let binary_looking = utf16 || looks_binary(head);
    if let Some(t) = binary_looking.then(|| infer::get(head)).flatten() {
        match t.mime_type() {
            "application/pdf" => return Format::Pdf,
            "application/gzip" => return Format::Gzip,
            "application/rtf" => return Format::Rtf,
            "application/dicom" => return Format::Dicom,
            "application/vnd.ms-excel" => return Format::Xls,
            _ => {}
        }
        if matches!(
            t.matcher_type(),
            infer::MatcherType::Image
                | infer::MatcherType::Video
                | infer::MatcherType::Audio
                | infer::MatcherType::App
                | infer::MatcherType::Font
        ) {
            return Format::Binary;
        }
    }
    if !utf16 && binary_looking {
        return Format::Binary;
    }
    let trimmed = trim_ascii_start(text);
    let trimmed = trimmed.strip_prefix(b"\x0b").unwrap_or(trimmed);
    if trimmed.starts_with(b"{\\rtf") {
        return Format::Rtf;
    }
    if trimmed.starts_with(b"MSH|")
        || trimmed.starts_with(b"MSH^")
        || trimmed.starts_with(b"FHS|")
        || trimmed.starts_with(b"BHS|")
    {
        return Format::Hl7;
    }
    if trimmed.starts_with(b"From ") && memchr::memmem::find(trimmed, b"\nFrom:").is_some()
        || (ext == "mbox" && trimmed.starts_with(b"From "))
    {
        return Format::Mbox;
    }
    if vcard::looks_like_vcard(trimmed) || (ext == "vcf" && !trimmed.is_empty()) {
        return Format::Vcard;
    }
    if mail::looks_like_message(trimmed) || (ext == "eml" && !trimmed.is_empty()) {
        return Format::Eml;
    }
    if (trimmed.starts_with(b"{") || trimmed.starts_with(b"["))
        && (matches!(ext.as_str(), "json" | "ndjson" | "jsonl" | "fhir") || json_like(trimmed))
    {
        return Format::Json;
    }
    if html::looks_like_html(trimmed)
        || (matches!(ext.as_str(), "htm" | "html") && trimmed.starts_with(b"<"))
    {
        return Format::Html;
    }
    if trimmed.starts_with(b"<?xml")
        || (trimmed.starts_with(b"<") && matches!(ext.as_str(), "xml" | "cda" | "ccd" | "xhtml"))
    {
        return Format::Xml;
    }
    if ext == "sql" || sql::looks_like_sql(trimmed) {
        return Format::Sql;
    }
    if matches!(ext.as_str(), "csv" | "tsv") || table::looks_like_csv(trimmed) {
        return Format::Csv;
    }
    Format::Text
}

/// What a file is, when it is a container of data medguard cannot look inside, from the magic
/// its format's specification puts at its start: an Outlook data file (\[MS-PST\] 2.2.2.6,
/// `!BDN`), an Access database (the Jet and ACE engines' page 0), a RAR archive (RAR 4 and 5
/// signatures), a SQL Server or NTBackup backup (Microsoft Tape Format's `TAPE` descriptor block),
/// or a virtual machine's disk (VHDX, dynamic VHD, VMDK, qcow2, VDI). Each has binary fields
/// right after its magic: a text file that happens to start with `TAPE` is not one.
pub fn unsupported_container(head: &[u8]) -> Option<&'static str> {
    const KINDS: [(usize, &[u8], &str); 10] = [
        (0, b"!BDN", "an Outlook data file (.pst/.ost)"),
        (4, b"Standard Jet DB", "an Access database (.mdb)"),
        (4, b"Standard ACE DB", "an Access database (.accdb)"),
        (0, b"Rar!\x1a\x07", "a RAR archive"),
        (0, b"TAPE", "a SQL Server or Windows backup (.bak, .bkf)"),
        (0, b"vhdxfile", "a virtual disk image (VHDX)"),
        (0, b"conectix", "a virtual disk image (VHD)"),
        (0, b"KDMV", "a virtual disk image (VMDK)"),
        (0, b"QFI\xfb", "a virtual disk image (qcow2)"),
        (64, b"\x7f\x10\xda\xbe", "a virtual disk image (VDI)"),
    ];
    KINDS
        .iter()
        .find(|(at, magic, _)| head.get(*at..at + magic.len()) == Some(*magic))
        .filter(|_| looks_binary(head))
        .map(|(_, _, what)| *what)
}

/// `BZh`, the block size (1-9), then the magic of a first block (pi) or of the end of an empty
/// stream (sqrt(pi)).
fn looks_like_bzip2(head: &[u8]) -> bool {
    head.len() >= 10
        && head.starts_with(b"BZh")
        && (b'1'..=b'9').contains(&head[3])
        && matches!(
            &head[4..10],
            [0x31, 0x41, 0x59, 0x26, 0x53, 0x59] | [0x17, 0x72, 0x45, 0x38, 0x50, 0x90]
        )
}

fn trim_ascii_start(b: &[u8]) -> &[u8] {
    let n = b.iter().take_while(|c| c.is_ascii_whitespace()).count();
    &b[n..]
}

fn json_like(b: &[u8]) -> bool {
    let first = b.iter().skip(1).find(|c| !c.is_ascii_whitespace());
    matches!(
        first,
        Some(b'"') | Some(b'{') | Some(b'[') | Some(b']') | Some(b'}')
    )
}

/// NUL bytes or many control bytes: not text.
fn looks_binary(head: &[u8]) -> bool {
    let sample = &head[..head.len().min(8192)];
    if sample.is_empty() {
        return false;
    }
    if memchr::memchr(0, sample).is_some() {
        return true;
    }
    // Summed without branches (vectorised): every file's head passes through here.
    let ctrl: usize = sample
        .iter()
        .map(|&b| usize::from(b < 0x09 || (0x0e..0x1b).contains(&b)))
        .sum();
    ctrl * 20 > sample.len()
}

/// One piece of text with its structural context.
#[derive(Debug, Clone, Copy, Default)]
pub struct Unit<'a> {
    pub text: &'a str,
    /// Context that names what the value is (header, key, tag, HL7 field).
    pub field: Option<&'a str>,
    /// Where to point the reader, when different from `field` (`Sheet1!B7`).
    pub label: Option<&'a str>,
    pub line: Option<u64>,
    /// Characters of the line before `text` (a column of a report printed to text).
    pub column: u64,
    pub page: Option<u32>,
    pub record: Option<u64>,
}

/// Per-file state: detection, evidence, counting, limits. Extractors push units into it.
pub struct Cx<'e> {
    engine: &'e Engine,
    hasher: &'e Hasher,
    unmask: bool,
    pub(crate) limits: Limits,
    path: Arc<str>,
    started: Instant,
    member: Vec<String>,
    /// `member` joined with `!`, shared by the findings inside it.
    member_path: Option<Arc<str>>,
    member_id: u32,
    next_member_id: u32,
    expanded: u64,
    hits: Vec<Hit>,
    pub(crate) findings: Vec<PhiFinding>,
    pub(crate) counts: BTreeMap<PhiKind, u64>,
    records: HashSet<(u32, u64), FastHash>,
    distinct: BTreeMap<PhiKind, HashSet<[u8; 16], FastHash>>,
    pub(crate) health: bool,
    /// What could not be read, and why: the scan goes on.
    pub(crate) warnings: Vec<(PhiProblem, String)>,
    pub(crate) in_archive: bool,
    pub(crate) encrypted_members: bool,
    pub(crate) in_email: bool,
    units: u64,
    /// Rule reasons as shared strings (a few dozen distinct ones).
    reasons: Vec<(&'static str, Arc<str>)>,
    /// Normalization buffer for hashing.
    scratch: String,
    /// A field name being built by an extractor (JSON key paths), lent out and returned.
    pub(crate) field_buf: String,
    /// Keyword context buffers of the detectors.
    context: Scratch,
}

/// Hashing for per-file sets and caches: foldhash (fast, seeded per process) rather than SipHash.
type FastHash = foldhash::fast::RandomState;

/// Distinct field names a worker thread keeps (cleared when full).
const FIELD_CACHE: usize = 4096;

thread_local! {
    /// Field names with what they say, kept across the files a worker thread scans: a share
    /// holds thousands of exports and messages with the same few dozen column names and tags.
    static FIELDS: RefCell<HashMap<String, Rc<Field>, FastHash>> = RefCell::default();
}

/// The 1-based character column of byte offsets in one unit, counted on from the last one asked
/// for: counting from the start of the line for every hit made a long line quadratic.
#[derive(Debug, Default)]
struct Column {
    /// A byte offset already counted, and the characters before it.
    byte: usize,
    chars: u64,
}

impl Column {
    fn at(&mut self, text: &str, byte: usize) -> u64 {
        if byte < self.byte {
            *self = Column::default();
        }
        match text.get(self.byte..byte) {
            Some(p) => {
                self.chars += p.chars().count() as u64;
                self.byte = byte;
                self.chars + 1
            }
            None => 1,
        }
    }
}

/// A field name with what it says, and the shared strings its findings carry.
pub(crate) struct Field {
    info: FieldInfo,
    name: Arc<str>,
    reason: Arc<str>,
    /// It names the practice's staff ([`crate::detect::is_staff_field`]): its values count no
    /// patient.
    staff: bool,
}

impl Field {
    /// The class the name gives its values.
    pub(crate) fn class(&self) -> Option<FieldClass> {
        self.info.class
    }
}

impl<'e> Cx<'e> {
    /// Fresh state for the file at `path`.
    pub fn new(
        engine: &'e Engine,
        hasher: &'e Hasher,
        unmask: bool,
        limits: Limits,
        path: String,
    ) -> Self {
        Cx {
            engine,
            hasher,
            unmask,
            limits,
            path: path.into(),
            started: Instant::now(),
            member: Vec::new(),
            member_path: None,
            member_id: 0,
            next_member_id: 1,
            expanded: 0,
            hits: Vec::new(),
            findings: Vec::new(),
            counts: BTreeMap::new(),
            records: HashSet::default(),
            distinct: BTreeMap::new(),
            health: false,
            warnings: Vec::new(),
            in_archive: false,
            encrypted_members: false,
            in_email: false,
            units: 0,
            reasons: Vec::new(),
            scratch: String::new(),
            field_buf: String::new(),
            context: Scratch::default(),
        }
    }

    /// Fail when the file's time budget is spent.
    pub fn check_deadline(&self) -> Result<(), ExtractError> {
        if self.started.elapsed() > self.limits.time_budget {
            Err(ExtractError::Timeout {
                secs: self.limits.time_budget.as_secs(),
            })
        } else {
            Ok(())
        }
    }

    /// Account for bytes expanded out of an archive.
    pub fn expand(&mut self, n: u64) -> Result<(), ExtractError> {
        self.expanded = self.expanded.saturating_add(n);
        if self.expanded > self.limits.max_expanded {
            return Err(ExtractError::Bomb {
                reason: format!(
                    "more than {} bytes expanded from one file",
                    self.limits.max_expanded
                ),
            });
        }
        Ok(())
    }

    /// Note what could not be read, and why.
    pub(crate) fn warn(&mut self, problem: PhiProblem, text: String) {
        self.warnings.push((problem, text));
    }

    /// Bytes that may still be expanded from this file before [`Cx::expand`] fails.
    pub(crate) fn expand_room(&self) -> u64 {
        self.limits.max_expanded.saturating_sub(self.expanded)
    }

    /// Distinct individuals seen so far.
    pub fn individuals(&self) -> u64 {
        let free = self
            .distinct
            .iter()
            .filter(|(k, _)| {
                matches!(
                    k,
                    PhiKind::Name | PhiKind::Ssn | PhiKind::Mrn | PhiKind::Mbi | PhiKind::PlanId
                )
            })
            .map(|(_, s)| s.len() as u64)
            .max()
            .unwrap_or(0);
        let any_free = self.distinct.values().any(|s| !s.is_empty());
        self.records.len() as u64 + if free == 0 && any_free { 1 } else { free }
    }

    /// Detect identifiers in one unit and record them.
    pub fn unit(&mut self, u: Unit<'_>) -> Result<(), ExtractError> {
        let field = match u.field {
            Some(f) if !u.text.trim().is_empty() => Some(self.field(f)),
            _ => None,
        };
        self.unit_in(field.as_deref(), u)
    }

    /// A file's own name (the last part of its path): scans and referrals are saved as
    /// "Smith_John_DOB_1980-02-14.pdf", and the name shows to whoever can list the folder even when
    /// the content is a picture or behind a password. Underscores read as spaces.
    pub fn file_name(&mut self, path: &str) -> Result<(), ExtractError> {
        let name = path.rsplit(['/', '\\']).next().unwrap_or(path);
        let text = name.replace('_', " ");
        self.unit(Unit {
            text: &text,
            label: Some("file name"),
            ..Unit::default()
        })
    }

    /// Whether anything was found so far.
    pub fn found_any(&self) -> bool {
        !self.counts.is_empty()
    }

    /// Each line of a multi-line value (a note, a form field, a JSON string) as a unit, the rest
    /// of the unit as `u` gives it (`u.text` is not read).
    pub fn lines(&mut self, text: &str, u: Unit<'_>) -> Result<(), ExtractError> {
        text.lines()
            .try_for_each(|line| self.unit(Unit { text: line, ..u }))
    }

    /// [`Cx::unit`] with the unit's field already looked up ([`Cx::field`]): extractors whose
    /// values come in columns (CSV, HL7 fields) look each column's name up once, not per value.
    /// `u.field` is not read.
    pub(crate) fn unit_in(
        &mut self,
        field: Option<&Field>,
        u: Unit<'_>,
    ) -> Result<(), ExtractError> {
        self.units += 1;
        if self.units.is_multiple_of(4096) {
            self.check_deadline()?;
        }
        if u.text.trim().is_empty() {
            return Ok(());
        }
        let mut hits = std::mem::take(&mut self.hits);
        hits.clear();
        let validated = match field {
            Some(f) => match f
                .info
                .class
                .and_then(|c| self.engine.check_class(c, u.text))
            {
                Some(Ok(hit)) => {
                    hits.push(hit);
                    true
                }
                Some(Err(FieldClass::NotPhi)) => false,
                _ => {
                    self.engine
                        .scan_text_kws(u.text, &f.info.kws, &mut hits, &mut self.context);
                    false
                }
            },
            None => {
                self.engine
                    .scan_text_kws(u.text, &[], &mut hits, &mut self.context);
                false
            }
        };
        // A value its field validated as an identifier (an SSN in the SSN column) is not where
        // clinical words hide: look for them in everything else.
        if !self.health && !validated && self.engine.mentions_health(u.text) {
            self.health = true;
        }
        // Hits come in order of position: columns are counted on from the previous one.
        let mut col = Column::default();
        for h in hits.drain(..) {
            let Some(value) = u.text.get(h.start..h.end) else {
                continue;
            };
            self.record(&h, value, &u, field, &mut col);
        }
        self.hits = hits;
        Ok(())
    }

    /// What a field name says, with its shared strings; computed once per distinct name on a
    /// worker thread.
    pub(crate) fn field(&mut self, f: &str) -> Rc<Field> {
        FIELDS.with_borrow_mut(|fields| {
            if let Some(i) = fields.get(f) {
                return Rc::clone(i);
            }
            let field = Rc::new(Field {
                info: self.engine.field_info(f),
                name: f.into(),
                reason: format!("field:{f}").into(),
                staff: crate::detect::is_staff_field(f),
            });
            if fields.len() >= FIELD_CACHE {
                fields.clear();
            }
            fields.insert(f.to_string(), Rc::clone(&field));
            field
        })
    }

    /// The class a field name gives its values ([`crate::detect::classify_field`], cached).
    pub(crate) fn field_class(&mut self, f: &str) -> Option<FieldClass> {
        self.field(f).class()
    }

    fn reason(&mut self, r: &'static str) -> Arc<str> {
        if let Some((_, a)) = self.reasons.iter().find(|(s, _)| std::ptr::eq(*s, r)) {
            return Arc::clone(a);
        }
        let a: Arc<str> = r.into();
        self.reasons.push((r, Arc::clone(&a)));
        a
    }

    fn record(
        &mut self,
        h: &Hit,
        value: &str,
        u: &Unit<'_>,
        field: Option<&Field>,
        col: &mut Column,
    ) {
        *self.counts.entry(h.kind).or_default() += 1;
        if h.kind.is_health_info() {
            self.health = true;
        }
        let hash = self.hasher.hash_raw(h.kind, value, &mut self.scratch);
        // The provider of a visit, a study's referring physician, "Dr. House" in a note:
        // reported, but no patient.
        let staff = field.is_some_and(|f| f.staff) || h.reason.is_staff();
        if h.kind.identifies_person() && !staff {
            match u.record {
                Some(r) => {
                    self.records.insert((self.member_id, r));
                }
                None => {
                    let set = self.distinct.entry(h.kind).or_default();
                    if set.len() < 1_000_000 {
                        set.insert(hash);
                    }
                }
            }
        }
        if self.findings.len() >= self.limits.max_findings {
            return;
        }
        let column = u.line.map(|_| u.column + col.at(u.text, h.start));
        let reason = match (h.reason, field) {
            (Reason::Field, Some(f)) => Arc::clone(&f.reason),
            (Reason::Field, None) => self.reason("field"),
            (Reason::Rule(r), _) => self.reason(r),
        };
        let location_field = match (u.label, field) {
            (Some(l), _) => Some(Arc::from(l)),
            (None, Some(f)) => Some(Arc::clone(&f.name)),
            (None, None) => None,
        };
        self.findings.push(PhiFinding {
            path: Arc::clone(&self.path),
            kind: h.kind,
            masked: mask::mask(h.kind, value),
            hash: ValueHash(hash),
            value: self.unmask.then(|| value.to_string()),
            location: PhiLocation {
                member: self.member_path.clone(),
                line: u.line,
                column,
                field: location_field,
                page: u.page,
                record: u.record,
            },
            confidence: h.confidence,
            reason,
        });
    }

    /// Scan an embedded file (archive member, attachment) with its own format.
    pub fn member(&mut self, name: &str, data: &[u8]) -> Result<(), ExtractError> {
        self.within(name, |cx| {
            let fmt = sniff(name, data);
            cx.file_name(name)
                .and_then(|()| extract_bytes(fmt, name, data, cx))
        })
    }

    /// Run `read` inside the embedded file `name`: its findings are located in it, and its
    /// failure is a warning, not the file's (except running out of time or a bomb).
    pub(crate) fn within(
        &mut self,
        name: &str,
        read: impl FnOnce(&mut Self) -> Result<(), ExtractError>,
    ) -> Result<(), ExtractError> {
        if self.member.len() >= self.limits.max_depth {
            self.warn(
                PhiProblem::TooLarge,
                format!(
                    "{}: not opened: nested deeper than {} levels",
                    name, self.limits.max_depth
                ),
            );
            return Ok(());
        }
        self.check_deadline()?;
        let saved = self.member_id;
        self.member_id = self.next_member_id;
        self.next_member_id = self.next_member_id.wrapping_add(1);
        self.member.push(name.to_string());
        let outer = self.member_path.replace(self.member.join("!").into());
        let r = read(self);
        self.member.pop();
        self.member_path = outer;
        self.member_id = saved;
        match r {
            Ok(()) => Ok(()),
            Err(e @ (ExtractError::Timeout { .. } | ExtractError::Bomb { .. })) => Err(e),
            Err(e) => {
                let mut msg = format!("{name}: failed to {e}");
                let mut src = std::error::Error::source(&e);
                while let Some(s) = src {
                    msg.push_str(&format!(": {s}"));
                    src = s.source();
                }
                self.warn(e.problem(), msg);
                Ok(())
            }
        }
    }
}

/// What a compound file (OLE2) holds, from its streams: an Outlook message, a Word document
/// (`WordDocument`), an Excel workbook (`Workbook`, or `Book` before Excel 97), a PowerPoint
/// presentation (`PowerPoint Document`), a password-protected DOCX/XLSX/PPTX (`EncryptedPackage`),
/// or something else ([`Format::Binary`]).
pub fn ole_format(data: &[u8]) -> Format {
    std::panic::catch_unwind(|| {
        let c = cfb::CompoundFile::open(std::io::Cursor::new(data)).ok()?;
        if msg::is_message(&c) {
            Some(Format::Msg)
        } else if c.is_stream("/WordDocument") {
            Some(Format::Doc)
        } else if c.is_stream("/Workbook") || c.is_stream("/Book") {
            Some(Format::Xls)
        } else if c.is_stream("/PowerPoint Document") {
            Some(Format::Ppt)
        } else if c.is_stream("/EncryptedPackage") {
            Some(Format::Protected)
        } else {
            None
        }
    })
    .ok()
    .flatten()
    .unwrap_or(Format::Binary)
}

/// Largest stream read from a compound file (a document's text and tables are a few megabytes;
/// pictures live in streams of their own).
const MAX_OLE_STREAM: u64 = 64 << 20;

/// A compound file (OLE2) in memory.
pub(crate) type Compound<'d> = cfb::CompoundFile<std::io::Cursor<&'d [u8]>>;

/// Open the compound file in `data` and read from it with `read`, behind `catch_unwind` (the
/// reader is not trusted with hostile bytes); `format` names the file in errors.
pub(crate) fn read_compound<T>(
    data: &[u8],
    format: &'static str,
    read: impl FnOnce(&mut Compound<'_>) -> Result<T, ExtractError>,
) -> Result<T, ExtractError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut comp = cfb::CompoundFile::open(std::io::Cursor::new(data))
            .map_err(|e| ExtractError::corrupt(format, format!("not a compound file: {e}")))?;
        read(&mut comp)
    }))
    .map_err(|_| ExtractError::corrupt(format, "the compound file reader crashed"))?
}

/// One stream of a compound file, read whole up to 64 MiB.
pub(crate) fn compound_stream(
    comp: &mut Compound<'_>,
    name: &str,
    format: &'static str,
) -> Result<Vec<u8>, ExtractError> {
    let mut s = comp
        .open_stream(name)
        .map_err(|e| ExtractError::corrupt(format, format!("{name}: {e}")))?;
    read_capped(&mut s, MAX_OLE_STREAM, format)
}

/// A legacy document's text, scanned line by line; `None` is a password-protected one, said so
/// in a warning (nothing is there to read, and the protection is what keeps it safe).
pub(crate) fn document_text(
    text: Option<String>,
    what: &str,
    cx: &mut Cx<'_>,
) -> Result<(), ExtractError> {
    match text {
        Some(t) => text::text_str(&t, None, None, cx),
        None => {
            cx.encrypted_members = true;
            cx.warn(
                PhiProblem::Protected,
                format!("password-protected {what}: its text was not scanned"),
            );
            Ok(())
        }
    }
}

/// Extract a compound file whose content [`ole_format`] has already told.
pub fn extract_ole(
    kind: Format,
    name: &str,
    data: &[u8],
    cx: &mut Cx<'_>,
) -> Result<(), ExtractError> {
    match kind {
        Format::Msg => msg::msg(data, cx),
        Format::Doc => doc::doc(data, cx),
        Format::Ppt => ppt::ppt(data, cx),
        // ECMA-376 encryption ([MS-OFFCRYPTO]): nothing to read without the password.
        Format::Protected => document_text(None, "Office file", cx),
        Format::Xls => extract_bytes(Format::Xls, name, data, cx),
        _ => extract_bytes(Format::Binary, name, data, cx),
    }
}

/// Extract an in-memory file or member.
pub fn extract_bytes(
    fmt: Format,
    name: &str,
    data: &[u8],
    cx: &mut Cx<'_>,
) -> Result<(), ExtractError> {
    match fmt {
        Format::Zip => office::zip(std::io::Cursor::new(data), name, cx),
        Format::Gzip | Format::Xz | Format::Bzip2 | Format::Zstd => {
            let kind = compressed_kind(fmt).unwrap_or(office::Compressed::Gzip);
            office::compressed(kind, &mut &data[..], Some(data.len() as u64), name, cx)
        }
        Format::SevenZip => sevenz::sevenz(std::io::Cursor::new(data), cx),
        Format::Xls => office::spreadsheet(std::io::Cursor::new(data), "xls", cx),
        Format::Sqlite => sqlite::bytes(data, cx),
        Format::Doc | Format::Msg | Format::Ppt | Format::Protected => {
            extract_ole(ole_format(data), name, data, cx)
        }
        Format::Unsupported => {
            let what = unsupported_container(data).unwrap_or("a container");
            cx.warn(
                PhiProblem::NotSupported,
                format!("{what}: medguard cannot look inside it"),
            );
            Ok(())
        }
        Format::Binary => {
            if is_text_ext(&ext_of(name)) {
                Err(ExtractError::BinaryText)
            } else {
                Ok(())
            }
        }
        _ => extract_stream(fmt, name, &mut std::io::BufReader::new(data), cx),
    }
}

/// Extract a format from a stream; formats that need the whole input read it up to the cap.
pub fn extract_stream(
    fmt: Format,
    name: &str,
    r: &mut dyn BufRead,
    cx: &mut Cx<'_>,
) -> Result<(), ExtractError> {
    match fmt {
        Format::Text => text::text(r, cx),
        Format::Csv => table::csv(r, name, cx),
        Format::Sql => sql::sql(r, cx),
        Format::PgDump => pgdump::pgdump(r, cx),
        Format::Hl7 => hl7::hl7(r, cx),
        Format::Mbox => mail::mbox(r, cx),
        Format::Tar => office::tar(r, cx),
        Format::Gzip | Format::Xz | Format::Bzip2 | Format::Zstd => {
            let kind = compressed_kind(fmt).unwrap_or(office::Compressed::Gzip);
            office::compressed(kind, r, None, name, cx)
        }
        Format::Vcard => vcard::vcard(r, cx),
        Format::Json => json::json(r, cx),
        Format::Xml => markup::xml(r, cx),
        Format::Rtf => rtf::rtf(&read_capped(r, cx.limits.max_whole, "rtf")?, cx),
        Format::Html => html::html(&read_capped(r, cx.limits.max_whole, "html")?, None, cx),
        Format::Pdf => pdf::pdf(&read_capped(r, cx.limits.max_whole, "pdf")?, cx),
        Format::Eml => mail::eml(&read_capped(r, cx.limits.max_whole, "e-mail")?, None, cx),
        Format::Dicom => dicom::dicom(&read_prefix(r, 64 << 20)?, cx),
        Format::Zip
        | Format::SevenZip
        | Format::Xls
        | Format::Doc
        | Format::Msg
        | Format::Ppt
        | Format::Protected
        | Format::Sqlite
        | Format::Unsupported
        | Format::Binary => {
            let data = read_capped(r, cx.limits.max_whole, fmt.as_str())?;
            extract_bytes(fmt, name, &data, cx)
        }
    }
}

/// The compressor of a single-stream compressed format.
pub fn compressed_kind(fmt: Format) -> Option<office::Compressed> {
    match fmt {
        Format::Gzip => Some(office::Compressed::Gzip),
        Format::Xz => Some(office::Compressed::Xz),
        Format::Bzip2 => Some(office::Compressed::Bzip2),
        Format::Zstd => Some(office::Compressed::Zstd),
        _ => None,
    }
}

/// An SSN kept as a number (a spreadsheet cell, an INTEGER column) lost its leading zeros:
/// 012-34-5678 became 12345678. Its nine digits, when the number is in a column of SSNs.
pub(crate) fn ssn_number(n: i64, class: Option<FieldClass>) -> Option<String> {
    (class == Some(FieldClass::Kind(PhiKind::Ssn)) && (0..1_000_000_000).contains(&n))
        .then(|| format!("{n:09}"))
}

/// Read everything, failing past `cap` bytes.
pub fn read_capped(
    r: &mut dyn Read,
    cap: u64,
    format: &'static str,
) -> Result<Vec<u8>, ExtractError> {
    let mut buf = Vec::new();
    r.take(cap + 1).read_to_end(&mut buf)?;
    if buf.len() as u64 > cap {
        return Err(ExtractError::TooLarge { format, limit: cap });
    }
    Ok(buf)
}

/// Read at most `cap` bytes (headers at the start of a large file).
pub fn read_prefix(r: &mut dyn Read, cap: u64) -> Result<Vec<u8>, ExtractError> {
    let mut buf = Vec::new();
    r.take(cap).read_to_end(&mut buf)?;
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Counting on from the last offset gives the column counted from the line's start, for
        /// offsets in any order and off character boundaries (column 1, as before).
        #[test]
        fn column_counted_on_is_column_from_start(
            text in "[a-z é€😀]{0,40}",
            offsets in proptest::collection::vec(0usize..60, 0..12),
        ) {
            let mut col = Column::default();
            for b in offsets {
                let want = text.get(..b).map_or(1, |p| p.chars().count() as u64 + 1);
                proptest::prop_assert_eq!(col.at(&text, b), want);
            }
        }
    }

    #[test]
    fn containers_are_told_by_their_magic_not_by_a_text_that_starts_alike() {
        let with = |at: usize, magic: &[u8]| {
            let mut b = vec![0u8; 512];
            b[at..at + magic.len()].copy_from_slice(magic);
            b
        };
        for (at, magic, what) in [
            (0, &b"!BDN"[..], "Outlook"),
            (4, b"Standard Jet DB", ".mdb"),
            (4, b"Standard ACE DB", ".accdb"),
            (0, b"Rar!\x1a\x07\x01\x00", "RAR"),
            (0, b"TAPE", "SQL Server"),
        ] {
            let head = with(at, magic);
            assert!(unsupported_container(&head).is_some_and(|w| w.contains(what)));
            assert_eq!(sniff("x", &head), Format::Unsupported);
        }
        assert_eq!(
            unsupported_container(b"TAPE LOG 2024-11-02: restore tested\n"),
            None
        );
        assert_eq!(
            sniff("tapes.txt", b"TAPE LOG 2024-11-02: ok\n"),
            Format::Text
        );
    }

    #[test]
    fn sniffs_by_content_not_name() {
        assert_eq!(sniff("x.txt", b"MSH|^~\\&|A|B\r"), Format::Hl7);
        assert_eq!(sniff("x.dat", b"{\\rtf1\\ansi hello}"), Format::Rtf);
        assert_eq!(sniff("x.bin", b"%PDF-1.4\n"), Format::Pdf);
        assert_eq!(sniff("report.txt", b"PK\x03\x04rest"), Format::Zip);
        assert_eq!(
            sniff("a.txt", b"\x00\x01\x02\x03binary\x00"),
            Format::Binary
        );
        assert_eq!(sniff("data", b"name,dob,ssn\nA,B,C\nD,E,F\n"), Format::Csv);
        assert_eq!(
            sniff("dump", b"-- dump\nINSERT INTO p (a) VALUES (1);\n"),
            Format::Sql
        );
        assert_eq!(sniff("notes", b"Patient seen today."), Format::Text);
        let mut dcm = vec![0u8; 128];
        dcm.extend_from_slice(b"DICM");
        assert_eq!(sniff("img", &dcm), Format::Dicom);
        // Binary formats are still told from text by their magic numbers.
        assert_eq!(
            sniff("scan.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"),
            Format::Binary
        );
        assert_eq!(
            sniff("a.txt", b"GIF89a\x01\x00\x01\x00\x00\xff"),
            Format::Binary
        );
        assert_eq!(sniff("x.rtf", b"{\\rtf1\\ansi Patient}"), Format::Rtf);
        // A tar is told by its ustar magic, whatever it is called.
        let mut tar = vec![0u8; 512];
        tar[..12].copy_from_slice(b"patients.csv");
        tar[257..263].copy_from_slice(b"ustar\0");
        assert_eq!(sniff("nightly.bak", &tar), Format::Tar);
    }
}
