//! Zip containers: archives (scanned recursively, with zip-bomb defences), DOCX/PPTX/ODT (their
//! document XML), XLSX/XLS/ODS (calamine, the header row as context); gzip, xz and bzip2; and
//! tar archives (backups, `.tar.gz` exports), read as a stream.

use super::markup::{XmlMode, xml_mode};
use super::pgdump;
use super::{Cx, ExtractError, Unit, ssn_number};
use calamine::{Data, Reader};
use medguard_model::PhiProblem;
use std::io::{BufRead, Read, Seek};

/// Read one zip member, enforcing the size, ratio and total-expansion caps.
fn read_member<R: Read + Seek>(
    zip: &mut zip::ZipArchive<R>,
    i: usize,
    cx: &mut Cx<'_>,
) -> Result<Option<(String, Vec<u8>)>, ExtractError> {
    let mut f = match zip.by_index(i) {
        Ok(f) => f,
        Err(zip::result::ZipError::UnsupportedArchive(m)) => {
            // A password, or a compression method nothing here reads (zstd).
            let problem = if m.contains("assword") || m.contains("ncrypt") {
                cx.encrypted_members = true;
                PhiProblem::Protected
            } else {
                PhiProblem::Unreadable
            };
            cx.warn(problem, format!("member {i}: not opened: {m}"));
            return Ok(None);
        }
        Err(e) => return Err(ExtractError::corrupt("zip", e)),
    };
    if f.is_dir() {
        return Ok(None);
    }
    let name = String::from_utf8_lossy(f.name_raw()).into_owned();
    if f.encrypted() {
        cx.encrypted_members = true;
        cx.warn(
            PhiProblem::Protected,
            format!("{name}: not opened: protected by a password"),
        );
        return Ok(None);
    }
    let declared = f.size();
    let packed = f.compressed_size().max(1);
    let limit = cx.limits.max_whole;
    if declared > limit {
        cx.warn(
            PhiProblem::TooLarge,
            format!("{name}: not opened: {declared} bytes exceed the {limit}-byte member limit"),
        );
        return Ok(None);
    }
    if declared > (1 << 20) && declared / packed > cx.limits.max_ratio {
        return Err(ExtractError::Bomb {
            reason: format!(
                "{name} expands {}x (limit {}x)",
                declared / packed,
                cx.limits.max_ratio
            ),
        });
    }
    let mut data = Vec::with_capacity(declared.min(limit) as usize);
    // The declared size can lie: cap what is actually read too. A member that cannot be
    // decompressed (damaged, or a method nothing here reads: Zstandard) costs itself, not the
    // other members.
    if let Err(e) = (&mut f).take(limit + 1).read_to_end(&mut data) {
        cx.warn(PhiProblem::Unreadable, format!("{name}: not read: {e}"));
        return Ok(None);
    }
    if data.len() as u64 > limit {
        return Err(ExtractError::Bomb {
            reason: format!("{name} expands past {limit} bytes"),
        });
    }
    if data.len() as u64 > (1 << 20) && data.len() as u64 / packed > cx.limits.max_ratio {
        return Err(ExtractError::Bomb {
            reason: format!("{name} expands {}x", data.len() as u64 / packed),
        });
    }
    cx.expand(data.len() as u64)?;
    Ok(Some((name, data)))
}

/// What kind of zip container this is, from its member names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZipKind {
    Docx,
    Xlsx,
    Pptx,
    /// OpenDocument text, and every other OpenDocument type read by its paragraphs (drawings,
    /// templates).
    Odt,
    /// OpenDocument presentation: slides and speaker notes are paragraphs too.
    Odp,
    Ods,
    Archive,
}

impl ZipKind {
    /// The format name for reports.
    pub fn as_str(self) -> &'static str {
        match self {
            ZipKind::Docx => "docx",
            ZipKind::Xlsx => "xlsx",
            ZipKind::Pptx => "pptx",
            ZipKind::Odt => "odt",
            ZipKind::Odp => "odp",
            ZipKind::Ods => "ods",
            ZipKind::Archive => "zip",
        }
    }
}

fn kind_of<R: Read + Seek>(zip: &mut zip::ZipArchive<R>) -> ZipKind {
    let names: Vec<String> = zip
        .file_names_raw()
        .take(5000)
        .map(|n| String::from_utf8_lossy(n).into_owned())
        .collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    if names.contains(&"word/document.xml") {
        return ZipKind::Docx;
    }
    if names.contains(&"xl/workbook.xml") || names.contains(&"xl/workbook.bin") {
        return ZipKind::Xlsx;
    }
    if names.contains(&"ppt/presentation.xml") {
        return ZipKind::Pptx;
    }
    let mut mime = String::new();
    if let Ok(mut f) = zip.by_name("mimetype") {
        let _ = (&mut f).take(128).read_to_string(&mut mime);
    }
    // Every OpenDocument type is read by its paragraphs, never as an archive of XML files
    // (its styles are full of "names": fonts, "Filled Blue", "Outlined").
    if mime.contains("opendocument.spreadsheet") {
        ZipKind::Ods
    } else if mime.contains("opendocument.presentation") {
        ZipKind::Odp
    } else if mime.starts_with("application/vnd.oasis.opendocument") {
        ZipKind::Odt
    } else {
        ZipKind::Archive
    }
}

/// Sniff the container kind of a zip (for the report's format column).
pub fn container_kind<R: Read + Seek>(r: R) -> Option<ZipKind> {
    zip::ZipArchive::new(r).ok().map(|mut z| kind_of(&mut z))
}

/// Scan a zip container.
pub fn zip<R: Read + Seek>(r: R, _name: &str, cx: &mut Cx<'_>) -> Result<(), ExtractError> {
    let mut zip = zip::ZipArchive::new(r).map_err(|e| ExtractError::corrupt("zip", e))?;
    let kind = kind_of(&mut zip);
    match kind {
        ZipKind::Xlsx | ZipKind::Ods => {
            // calamine reads the container itself, from memory.
            let mut reader = zip.into_inner();
            reader.seek(std::io::SeekFrom::Start(0))?;
            let data = super::read_capped(&mut reader, cx.limits.max_whole, kind.as_str())?;
            spreadsheet(std::io::Cursor::new(&data[..]), kind.as_str(), cx)?;
            return workbook_extras(&data, cx);
        }
        ZipKind::Archive => cx.in_archive = true,
        _ => {}
    }
    if zip.len() > cx.limits.max_entries {
        return Err(ExtractError::Bomb {
            reason: format!("{} members (limit {})", zip.len(), cx.limits.max_entries),
        });
    }
    let mut pg = PgBackup::default();
    for i in 0..zip.len() {
        cx.check_deadline()?;
        let part = match kind {
            ZipKind::Archive => None,
            _ => {
                let Ok(f) = zip.by_index_raw(i) else { continue };
                let n = String::from_utf8_lossy(f.name_raw()).into_owned();
                // Document properties: the title, subject, keywords and description a letter
                // was saved with ("Referral - Maria Gonzalez").
                let props = n == "docProps/core.xml" || n == "meta.xml";
                let wanted = props
                    || match kind {
                        ZipKind::Docx => {
                            n == "word/document.xml"
                                || (n.starts_with("word/")
                                    && (n.contains("header")
                                        || n.contains("footer")
                                        || n.contains("comments")
                                        || n.contains("footnotes")
                                        || n.contains("endnotes"))
                                    && n.ends_with(".xml"))
                        }
                        ZipKind::Pptx => {
                            (n.starts_with("ppt/slides/slide") || n.starts_with("ppt/notesSlides/"))
                                && n.ends_with(".xml")
                        }
                        ZipKind::Odt | ZipKind::Odp => n == "content.xml" || n == "styles.xml",
                        _ => false,
                    };
                if !wanted {
                    continue;
                }
                Some(n)
            }
        };
        let Some((name, data)) = read_member(&mut zip, i, cx)? else {
            continue;
        };
        match (kind, part) {
            (ZipKind::Archive, _) => {
                if let Some(data) = pg.take(&name, data, cx)? {
                    cx.member(&name, &data)?;
                }
            }
            (_, Some(n)) if n == "docProps/core.xml" || n == "meta.xml" => properties(&data, cx)?,
            (ZipKind::Docx, _) => xml_mode(&data[..], XmlMode::Docx, None, cx)?,
            (ZipKind::Pptx, Some(n)) => {
                let slide = n
                    .trim_end_matches(".xml")
                    .rsplit(|c: char| !c.is_ascii_digit())
                    .next()
                    .and_then(|d| d.parse().ok());
                xml_mode(&data[..], XmlMode::Pptx, slide, cx)?
            }
            (ZipKind::Odt | ZipKind::Odp, _) => xml_mode(&data[..], XmlMode::Odt, None, cx)?,
            _ => {}
        }
    }
    pg.finish(cx)
}

/// What calamine does not read in a workbook: cell comments and notes (`xl/comments*.xml`,
/// `xl/threadedComments/*.xml`) and the document properties.
fn workbook_extras(data: &[u8], cx: &mut Cx<'_>) -> Result<(), ExtractError> {
    let Ok(mut zip) = zip::ZipArchive::new(std::io::Cursor::new(data)) else {
        return Ok(());
    };
    for i in 0..zip.len().min(cx.limits.max_entries) {
        let name = match zip.by_index_raw(i) {
            Ok(f) => String::from_utf8_lossy(f.name_raw()).into_owned(),
            Err(_) => continue,
        };
        let comments = (name.starts_with("xl/comments")
            || name.starts_with("xl/threadedComments/"))
            && name.ends_with(".xml");
        let props = name == "docProps/core.xml" || name == "meta.xml";
        if !(comments || props) {
            continue;
        }
        let Some((_, member)) = read_member(&mut zip, i, cx)? else {
            continue;
        };
        if props {
            properties(&member, cx)?;
        } else {
            cell_comments(&member, cx)?;
        }
    }
    Ok(())
}

/// The text of each cell comment or note (`<comment ref="B2">...<t>`, a threaded comment's
/// `<text>`), as free text pointing at its cell; the authors' names (staff) are not read.
fn cell_comments(data: &[u8], cx: &mut Cx<'_>) -> Result<(), ExtractError> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_reader(data);
    let mut buf = Vec::new();
    let (mut text, mut cell, mut in_text) = (String::new(), String::new(), false);
    loop {
        match reader.read_event_into(&mut buf) {
            Ok(Event::Start(e)) => match e.local_name().as_ref() {
                "comment" | "threadedComment" => {
                    text.clear();
                    cell = e
                        .attributes()
                        .flatten()
                        .find(|a| a.key.local_name().as_ref() == "ref")
                        .map(|a| format!("comment {}", a.value))
                        .unwrap_or_else(|| "comment".to_string());
                }
                "t" | "text" => in_text = true,
                _ => {}
            },
            Ok(Event::Text(t)) if in_text => {
                text.push_str(&t.xml_content(quick_xml::XmlVersion::Implicit1_0));
            }
            Ok(Event::End(e)) => match e.local_name().as_ref() {
                "t" | "text" => in_text = false,
                "comment" | "threadedComment" => {
                    cx.lines(
                        &text,
                        Unit {
                            label: Some(&cell),
                            ..Unit::default()
                        },
                    )?;
                    text.clear();
                }
                _ => {}
            },
            Ok(Event::Eof) => return Ok(()),
            Ok(_) => {}
            Err(e) => {
                cx.warn(PhiProblem::Unreadable, format!("cell comments: {e}"));
                return Ok(());
            }
        }
        buf.clear();
    }
}

/// The descriptive properties of an OOXML (`docProps/core.xml`: `dc:title`, `dc:subject`,
/// `cp:keywords`, `dc:description`) or OpenDocument (`meta.xml`: `meta:keyword`) document, each
/// under its own name. Who created or last saved it is staff, not the patient, and is left alone.
fn properties(data: &[u8], cx: &mut Cx<'_>) -> Result<(), ExtractError> {
    let mut reader = quick_xml::Reader::from_reader(data);
    let mut buf = Vec::new();
    let mut inside: Option<String> = None;
    loop {
        match reader.read_event_into(&mut buf) {
            Ok(quick_xml::events::Event::Start(e)) => {
                let name = e.local_name().as_ref().to_string();
                inside = matches!(
                    name.as_str(),
                    "title" | "subject" | "keywords" | "keyword" | "description"
                )
                .then_some(name);
            }
            Ok(quick_xml::events::Event::Text(t)) => {
                if let Some(field) = &inside {
                    let text = t.xml_content(quick_xml::XmlVersion::Implicit1_0);
                    cx.lines(
                        &text,
                        Unit {
                            field: Some(field),
                            ..Unit::default()
                        },
                    )?;
                }
            }
            Ok(quick_xml::events::Event::End(_)) => inside = None,
            Ok(quick_xml::events::Event::Eof) => return Ok(()),
            Ok(_) => {}
            Err(e) => {
                cx.warn(PhiProblem::Unreadable, format!("document properties: {e}"));
                return Ok(());
            }
        }
        buf.clear();
    }
}

/// Whether a block is a tar header: POSIX `ustar` (or GNU `ustar  `) at offset 257.
pub fn is_tar(head: &[u8]) -> bool {
    head.get(257..262) == Some(b"ustar")
}

/// A decompressing reader that fails past `cap` bytes (a bomb), saying so in `over`.
pub(crate) struct Capped<R> {
    inner: R,
    /// Bytes read so far.
    pub(crate) read: u64,
    cap: u64,
    pub(crate) over: bool,
}

impl<R> Capped<R> {
    pub(crate) fn new(inner: R, cap: u64) -> Self {
        Capped {
            inner,
            read: 0,
            cap,
            over: false,
        }
    }
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        if self.read > self.cap {
            self.over = true;
            return Err(std::io::Error::other("expands past its limit"));
        }
        Ok(n)
    }
}

/// The single-stream compressors: gzip (`.gz`, `.tgz`), xz (`.xz`, `.txz`), bzip2 (`.bz2`,
/// `.tbz2`) and Zstandard (`.zst`, `.tzst`), each also around a tar archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compressed {
    Gzip,
    Xz,
    Bzip2,
    Zstd,
}

impl Compressed {
    fn name(self) -> &'static str {
        match self {
            Compressed::Gzip => "gzip",
            Compressed::Xz => "xz",
            Compressed::Bzip2 => "bzip2",
            Compressed::Zstd => "zstd",
        }
    }

    /// The name of what it holds: `export.csv` for `export.csv.xz`.
    fn inner(self, name: &str) -> &str {
        let suffixes: &[&str] = match self {
            Compressed::Gzip => &[".gz", ".tgz"],
            Compressed::Xz => &[".xz", ".txz"],
            Compressed::Bzip2 => &[".bz2", ".tbz2", ".tbz"],
            Compressed::Zstd => &[".zst", ".tzst"],
        };
        suffixes
            .iter()
            .find_map(|s| name.strip_suffix(s))
            .unwrap_or(name)
    }
}

/// Scan a compressed stream of `len` bytes (when known): a tar inside (`.tar.gz`, `.tar.xz`,
/// `.tar.bz2`) is read as a stream, member by member, whatever its size; anything else is
/// expanded up to the whole-file limit and scanned with its own format. Expansion is capped by
/// the ratio (past 1 MiB, when the length is known) and the file's expansion limit; an xz
/// stream's dictionary and a Zstandard frame's window by the whole-file limit.
pub fn compressed(
    kind: Compressed,
    r: &mut dyn Read,
    len: Option<u64>,
    name: &str,
    cx: &mut Cx<'_>,
) -> Result<(), ExtractError> {
    let limit = cx.limits.max_whole;
    let cap = len
        .map_or(u64::MAX, |l| {
            l.saturating_mul(cx.limits.max_ratio).max(1 << 20)
        })
        .min(cx.limits.max_expanded);
    let decoder: Box<dyn Read + '_> = match kind {
        Compressed::Gzip => Box::new(flate2::read::MultiGzDecoder::new(r)),
        Compressed::Xz => {
            let kb = u32::try_from(limit / 1024).unwrap_or(u32::MAX);
            Box::new(lzma_rust2::XzReader::new_mem_limit(r, true, kb))
        }
        Compressed::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(r)),
        Compressed::Zstd => Box::new(ZstdFrames {
            frame: None,
            src: Some(std::io::BufReader::new(r)),
            max_window: limit,
        }),
    };
    let mut dec = Capped::new(decoder, cap);
    let what = kind.name();
    let bomb = |dec: &Capped<_>| ExtractError::Bomb {
        reason: format!("{what} expands past {} bytes", dec.cap),
    };
    let mut out = Vec::new();
    let head = (&mut dec).take(512).read_to_end(&mut out);
    if dec.over {
        return Err(bomb(&dec));
    }
    head.map_err(|e| ExtractError::corrupt(what, e))?;
    cx.in_archive = true;
    if is_tar(&out) {
        let r = tar(&mut std::io::Cursor::new(out).chain(&mut dec), cx);
        return if dec.over { Err(bomb(&dec)) } else { r };
    }
    let rest = (&mut dec)
        .take(limit + 1 - out.len() as u64)
        .read_to_end(&mut out);
    if dec.over {
        return Err(bomb(&dec));
    }
    rest.map_err(|e| ExtractError::corrupt(what, e))?;
    if out.len() as u64 > limit {
        return Err(ExtractError::Bomb {
            reason: format!("{what} expands past {limit} bytes"),
        });
    }
    cx.expand(out.len() as u64)?;
    cx.member(kind.inner(name), &out)
}

/// Zstandard frames one after another (the zstd tool writes one; files joined together hold
/// more), each decoded with a window of at most `max_window` bytes.
struct ZstdFrames<R: BufRead> {
    frame: Option<ruzstd::decoding::StreamingDecoder<R, ruzstd::decoding::FrameDecoder>>,
    src: Option<R>,
    max_window: u64,
}

impl<R: BufRead> Read for ZstdFrames<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            if let Some(frame) = self.frame.as_mut() {
                let n = frame.read(buf)?;
                if n > 0 || buf.is_empty() {
                    return Ok(n);
                }
                self.src = self.frame.take().map(|f| f.into_inner());
            }
            let Some(mut src) = self.src.take() else {
                return Ok(0);
            };
            if src.fill_buf()?.is_empty() {
                return Ok(0);
            }
            let frame =
                ruzstd::decoding::StreamingDecoder::new_with_max_window_size(src, self.max_window)
                    .map_err(std::io::Error::other)?;
            self.frame = Some(frame);
        }
    }
}

/// Scan a tar archive (POSIX, GNU or pax; long names included) as a stream: one member at a time
/// in memory, each scanned with its own format. A member larger than the whole-file limit is
/// named in a warning and read past; damage after the first member ends the archive with a
/// warning, keeping what came before.
pub fn tar(r: &mut dyn Read, cx: &mut Cx<'_>) -> Result<(), ExtractError> {
    cx.in_archive = true;
    let mut archive = tar::Archive::new(r);
    let mut entries = archive
        .entries()
        .map_err(|e| ExtractError::corrupt("tar", e))?;
    let mut seen = 0usize;
    let mut pg = PgBackup::default();
    let end = loop {
        cx.check_deadline()?;
        let next = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| entries.next()))
            .map_err(|_| ExtractError::corrupt("tar", "the tar reader crashed"))?;
        let mut entry = match next {
            None => break Ok(()),
            Some(Ok(e)) => e,
            Some(Err(e)) if seen > 0 => {
                cx.warn(PhiProblem::Unreadable, format!("tar ends early: {e}"));
                break Ok(());
            }
            Some(Err(e)) => return Err(ExtractError::corrupt("tar", e)),
        };
        seen += 1;
        if seen > cx.limits.max_entries {
            return Err(ExtractError::Bomb {
                reason: format!("more than {} members", cx.limits.max_entries),
            });
        }
        let kind = entry.header().entry_type();
        if !(kind.is_file() || kind.is_contiguous()) {
            continue;
        }
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let (size, limit) = (entry.size(), cx.limits.max_whole);
        if size > limit {
            cx.warn(
                PhiProblem::TooLarge,
                format!("{name}: not opened: {size} bytes exceed the {limit}-byte member limit"),
            );
            continue;
        }
        // The header's size is a claim: memory grows with what is really there.
        let mut data = Vec::with_capacity(size.min(1 << 20) as usize);
        if let Err(e) = (&mut entry).take(limit).read_to_end(&mut data) {
            cx.warn(
                PhiProblem::Unreadable,
                format!("{name}: tar ends early: {e}"),
            );
            break Ok(());
        }
        cx.expand(data.len() as u64)?;
        if let Some(data) = pg.take(name.as_str(), data, cx)? {
            cx.member(&name, &data)?;
        }
    };
    pg.finish(cx)?;
    end
}

/// A PostgreSQL backup in an archive: pg_dump's tar format, or a directory backup packed into a
/// tar or a zip. Its `toc.dat` names the members holding the tables' rows and their columns. Table files
/// met before it (a directory packed in name order: `3348.dat.gz` before `toc.dat`) are held, up
/// to the whole-file limit together, until it comes; scanned as they are if it never does.
#[derive(Default)]
struct PgBackup {
    toc: Option<pgdump::Toc>,
    held: Vec<(String, Vec<u8>)>,
    held_bytes: u64,
}

impl PgBackup {
    /// Scan or hold the member if it belongs to a backup; give it back otherwise.
    fn take(
        &mut self,
        name: &str,
        data: Vec<u8>,
        cx: &mut Cx<'_>,
    ) -> Result<Option<Vec<u8>>, ExtractError> {
        if let Some(table) = self.toc.as_ref().and_then(|t| t.table_file(name)) {
            pgdump::tar_member(table, name, &data, cx)?;
            return Ok(None);
        }
        let base = name.rsplit('/').next().unwrap_or(name);
        let size = data.len() as u64;
        if self.toc.is_none()
            && pgdump::is_data_name(base)
            && self.held_bytes + size <= cx.limits.max_whole
        {
            self.held_bytes += size;
            self.held.push((name.to_string(), data));
            return Ok(None);
        }
        if base == "toc.dat" && pgdump::looks_like_pgdump(&data) {
            self.toc = pgdump::tar_toc(&data);
            for (held, d) in std::mem::take(&mut self.held) {
                match self.toc.as_ref().and_then(|t| t.table_file(&held)) {
                    Some(table) => pgdump::tar_member(table, &held, &d, cx)?,
                    None => cx.member(&held, &d)?,
                }
            }
        }
        Ok(Some(data))
    }

    /// Scan the table files still held: no table of contents came for them.
    fn finish(&mut self, cx: &mut Cx<'_>) -> Result<(), ExtractError> {
        for (name, data) in std::mem::take(&mut self.held) {
            cx.member(&name, &data)?;
        }
        Ok(())
    }
}

fn cell_text(d: &Data) -> Option<String> {
    match d {
        Data::Empty | Data::Error(_) => None,
        Data::String(s) => Some(s.clone()),
        Data::Int(i) => Some(i.to_string()),
        Data::Float(f) => Some(if f.fract() == 0.0 && f.abs() < 1e17 {
            format!("{}", *f as i64)
        } else {
            f.to_string()
        }),
        Data::Bool(b) => Some(b.to_string()),
        Data::DateTime(dt) => excel_date(dt.as_f64()).or_else(|| Some(dt.to_string())),
        Data::DateTimeIso(s) | Data::DurationIso(s) => Some(s.clone()),
    }
}

/// An Excel serial date (days since 1899-12-30) as `YYYY-MM-DD`.
fn excel_date(serial: f64) -> Option<String> {
    if !(1.0..2_958_466.0).contains(&serial) {
        return None;
    }
    let epoch = chrono::NaiveDate::from_ymd_opt(1899, 12, 30)?;
    let d = epoch.checked_add_days(chrono::Days::new(serial.trunc() as u64))?;
    Some(d.format("%Y-%m-%d").to_string())
}

fn col_name(mut c: u32) -> String {
    let mut s = Vec::new();
    loop {
        s.push(b'A' + (c % 26) as u8);
        if c < 26 {
            break;
        }
        c = c / 26 - 1;
    }
    s.reverse();
    String::from_utf8_lossy(&s).into_owned()
}

/// Scan a workbook (XLSX, XLS, ODS) with calamine: the first row names the columns.
pub fn spreadsheet<R: Read + Seek + Clone>(
    r: R,
    format: &'static str,
    cx: &mut Cx<'_>,
) -> Result<(), ExtractError> {
    let sheets = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        calamine::open_workbook_auto_from_rs(r).map(|mut wb| {
            let names = wb.sheet_names();
            names
                .into_iter()
                .map(|n| {
                    let range = wb.worksheet_range(&n);
                    (n, range)
                })
                .collect::<Vec<_>>()
        })
    }))
    .map_err(|_| ExtractError::corrupt(format, "the spreadsheet reader crashed"))?
    .map_err(|e| ExtractError::corrupt(format, e))?;
    // Records are numbered through the whole workbook, so rows of two sheets stay apart.
    let mut before = 0u64;
    for (sheet, range) in sheets {
        let range = match range {
            Ok(r) => r,
            Err(e) => {
                cx.warn(PhiProblem::Unreadable, format!("sheet {sheet}: {e}"));
                continue;
            }
        };
        let (row0, col0) = range.start().unwrap_or((0, 0));
        // The header: the first row when it reads as column names. Below a report's title (rows of
        // one cell at most), the first row of two cells or more when it reads as names, else the
        // next such row that names a known column (past a "Printed: 11/28/2026" line).
        let texts = |row: &[Data]| -> Vec<String> { row.iter().filter_map(cell_text).collect() };
        let names = |t: &[String]| {
            let named = t
                .iter()
                .filter(|t| {
                    t.chars().next().is_some_and(char::is_alphabetic)
                        && t.chars().filter(char::is_ascii_digit).count() <= 2
                })
                .count();
            !t.is_empty() && named * 10 >= t.len() * 8
        };
        let top: Vec<Vec<String>> = range
            .rows()
            .take(super::table::MAX_PREAMBLE + 1)
            .map(texts)
            .collect();
        let header_at = match top.iter().position(|t| t.len() >= 2) {
            None | Some(0) => top.first().is_some_and(|t| names(t)).then_some(0),
            Some(wide) => (wide..top.len()).find(|&i| {
                names(&top[i])
                    && (i == wide
                        || top[i].len() >= 2 && top[i].iter().any(|t| cx.field_class(t).is_some()))
            }),
        };
        // A sheet without column names: its first rows tell what its columns hold.
        let mut headers: Vec<Option<String>> = Vec::new();
        if header_at.is_none() {
            headers = (0..range.width())
                .map(|i| {
                    let values: Vec<String> = range
                        .rows()
                        .take(super::table::PROFILE_ROWS)
                        .filter_map(|row| row.get(i).and_then(cell_text))
                        .map(|v| v.trim().to_string())
                        .filter(|v| !v.is_empty())
                        .collect();
                    let values: Vec<&str> = values.iter().map(String::as_str).collect();
                    super::table::profile(&values, &col_name(col0 + i as u32))
                })
                .collect();
        }
        for (ri, row) in range.rows().enumerate() {
            if ri % 1024 == 0 {
                cx.check_deadline()?;
            }
            let texts: Vec<Option<String>> = row.iter().map(cell_text).collect();
            if header_at == Some(ri) {
                headers = texts;
                continue;
            }
            // Records counted from 1 below the column names; a title above them is none.
            let record = match header_at {
                None => Some(ri as u64 + 1),
                Some(at) => (ri > at).then(|| (ri - at) as u64),
            }
            .map(|r| before + r);
            for (ci, t) in texts.iter().enumerate() {
                let Some(t) = t else { continue };
                let field = headers.get(ci).and_then(|h| h.as_deref());
                let number = match row.get(ci) {
                    Some(Data::Int(n)) => Some(*n),
                    Some(Data::Float(f)) if f.fract() == 0.0 && f.abs() < 1e17 => Some(*f as i64),
                    _ => None,
                };
                let ssn = number
                    .zip(field)
                    .and_then(|(n, f)| ssn_number(n, cx.field_class(f)));
                let t = ssn.as_ref().unwrap_or(t);
                let label = format!(
                    "{sheet}!{}{}",
                    col_name(col0 + ci as u32),
                    row0 as usize + ri + 1
                );
                let label = match field {
                    Some(f) => format!("{label} [{f}]"),
                    None => label,
                };
                cx.unit(Unit {
                    text: t,
                    field,
                    label: Some(&label),
                    record,
                    ..Unit::default()
                })?;
            }
        }
        before += range.height() as u64;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_names() {
        assert_eq!(col_name(0), "A");
        assert_eq!(col_name(25), "Z");
        assert_eq!(col_name(26), "AA");
        assert_eq!(col_name(27), "AB");
    }
}
