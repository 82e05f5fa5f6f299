//! PostgreSQL backups in `pg_dump`'s archive formats: custom (`-Fc`, the format its manual
//! recommends for backups), directory (`-Fd`) and tar (`-Ft`). A practice-management system,
//! EHR or imaging archive on PostgreSQL is backed up this way every night, and the backups land
//! on the NAS: every patient the system knows, in one file.
//!
//! Read as `pg_restore` reads them (PostgreSQL's `src/bin/pg_dump/pg_backup_archiver.c`,
//! `ReadHead` and `ReadToc`, and `pg_backup_custom.c`): a header, then the table of contents,
//! whose `TABLE DATA` entries carry each table's `COPY` statement, hence its column names, the
//! context of every value; then, in the custom format, the data: per table a block of
//! length-prefixed chunks holding the rows in `COPY`'s text format, zlib-compressed unless the
//! dump was made with `-Z0`. Large objects (scans and letters stored with `lo_import`) are
//! scanned as embedded files. Archive versions 1.8 to 1.16 (PostgreSQL 8.1 to 17) are read.
//!
//! A directory-format backup keeps each table's rows in a file of its own beside `toc.dat`
//! (`3348.dat`, `3348.dat.gz`): each is scanned as a file of its own, with the columns its
//! `toc.dat` names ([`data_file`]). In a tar-format backup `toc.dat` comes first and the tables'
//! files after it: the tar reader keeps its table of contents for them ([`Toc::table_file`]).
//!
//! Everything streams: a backup of any size is read in one pass in bounded memory; the strings
//! of the table of contents are capped; decompressed bytes count against the file's expansion
//! limit. Data compressed with lz4 or zstd (PostgreSQL 16 and later, on request) is not read, and
//! a warning says so.

use super::office::Capped;
use super::sql::copy_values;
use super::text::{Lines, decode};
use super::{Cx, ExtractError, Field, Unit};
use flate2::read::{MultiGzDecoder, ZlibDecoder};
use medguard_model::PhiProblem;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;
use std::rc::Rc;

/// The first bytes of every archive (`ReadHead`).
const MAGIC: &[u8] = b"PGDMP";

/// Whether `head` starts a `pg_dump` archive (or a directory backup's `toc.dat`).
pub fn looks_like_pgdump(head: &[u8]) -> bool {
    head.starts_with(MAGIC)
}

/// The longest string of the table of contents kept or skipped (a function's or a view's
/// definition is the longest there is).
const MAX_STRING: u64 = 64 << 20;
/// The most entries a table of contents may claim.
const MAX_ENTRIES: i64 = 1 << 24;
/// The largest `toc.dat` read to scan a directory backup's table files.
const MAX_TOC_FILE: u64 = 256 << 20;

/// Data block types of the custom format (`pg_backup_custom.c`).
const BLK_DATA: u8 = 1;
const BLK_BLOBS: u8 = 3;

/// `MAKE_ARCHIVE_VERSION`: the archive's version as one number.
const fn version(major: u32, minor: u32) -> u32 {
    (major * 256 + minor) * 256
}

/// Where the rows are: after the table of contents (custom format), or in files of their own
/// that it names (directory and tar formats; `pg_dump` 15 writes format code 3 in the `toc.dat`
/// of both).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    Custom,
    Files,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Compression {
    None,
    /// zlib in the custom format, gzip files in the directory format.
    Gzip,
    /// lz4 or zstd (PostgreSQL 16 and later): not read.
    Other(&'static str),
}

/// One table whose rows the backup holds.
#[derive(Debug, Clone)]
pub struct TableData {
    /// The entry's dump id, which its data block repeats.
    id: i64,
    /// The table's name (`patients`), the first part of each value's label (`patients.ssn`).
    name: String,
    columns: Vec<String>,
    /// The file with its rows in a directory or tar backup (`3348.dat`).
    file: Option<String>,
}

/// A backup's header and table of contents.
#[derive(Debug)]
pub struct Toc {
    layout: Layout,
    compression: Compression,
    tables: Vec<TableData>,
}

impl Toc {
    /// The table whose rows the file or member `name` holds (`3348.dat`): in a directory backup,
    /// a tar-format backup, or a directory backup packed into an archive
    /// (`practice.d/3348.dat.gz`); and whether it is gzipped.
    pub fn table_file(&self, name: &str) -> Option<(&TableData, bool)> {
        let base = name.rsplit('/').next().unwrap_or(name);
        let (file, gz) = match base.strip_suffix(".gz") {
            Some(stem) => (stem, true),
            None => (base, false),
        };
        (self.layout == Layout::Files)
            .then(|| self.tables.iter().find(|t| t.file.as_deref() == Some(file)))
            .flatten()
            .map(|t| (t, gz))
    }
}

fn invalid(what: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.into())
}

/// The archive's integers and strings (`ReadInt`, `ReadStr`, `ReadOffset`).
struct Reader<'r> {
    r: &'r mut dyn Read,
    int_size: usize,
    off_size: usize,
    version: u32,
}

impl Reader<'_> {
    fn byte(&mut self) -> io::Result<u8> {
        let mut b = [0u8];
        self.r.read_exact(&mut b)?;
        Ok(b[0])
    }

    /// A byte, or `None` at the end of the input.
    fn byte_or_end(&mut self) -> io::Result<Option<u8>> {
        let mut b = [0u8];
        loop {
            return match self.r.read(&mut b) {
                Ok(0) => Ok(None),
                Ok(_) => Ok(Some(b[0])),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => Err(e),
            };
        }
    }

    /// A sign byte, then the magnitude in `int_size` bytes, least significant first.
    fn int(&mut self) -> io::Result<i64> {
        let sign = self.byte()?;
        let mut b = [0u8; 8];
        self.r.read_exact(&mut b[..self.int_size])?;
        let v = i64::try_from(u64::from_le_bytes(b)).map_err(|_| invalid("integer overflow"))?;
        Ok(if sign == 0 { v } else { -v })
    }

    /// A length (negative: no string), then that many bytes; kept only when `keep`.
    fn string(&mut self, keep: bool) -> io::Result<Option<String>> {
        let n = self.int()?;
        let Ok(n) = u64::try_from(n) else {
            return Ok(None);
        };
        if n > MAX_STRING {
            return Err(invalid(format!(
                "a string of {n} bytes in the table of contents"
            )));
        }
        let mut take = (&mut *self.r).take(n);
        let (got, s) = if keep {
            let mut v = Vec::new();
            take.read_to_end(&mut v)?;
            (v.len() as u64, decode(&v).into_owned())
        } else {
            (io::copy(&mut take, &mut io::sink())?, String::new())
        };
        if got < n {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        Ok(Some(s))
    }

    /// A data offset: a flag byte and `off_size` bytes (nothing here needs it: data is read in
    /// the order it was written).
    fn offset(&mut self) -> io::Result<()> {
        let mut b = [0u8; 9];
        self.r.read_exact(&mut b[..=self.off_size])
    }

    fn at_least(&self, major: u32, minor: u32) -> bool {
        self.version >= version(major, minor)
    }
}

/// Read the header and the table of contents; leaves `r` at the first data block.
fn read_toc<'r>(r: &'r mut dyn Read) -> io::Result<(Toc, Reader<'r>)> {
    let mut magic = [0u8; 5];
    r.read_exact(&mut magic)?;
    if magic != MAGIC {
        return Err(invalid("not a pg_dump archive"));
    }
    let mut rd = Reader {
        r,
        int_size: 4,
        off_size: 8,
        version: 0,
    };
    let major = u32::from(rd.byte()?);
    let minor = u32::from(rd.byte()?);
    let rev = if major > 1 || (major == 1 && minor > 0) {
        u32::from(rd.byte()?)
    } else {
        0
    };
    rd.version = version(major, minor) + rev;
    if !(version(1, 8)..version(1, 17)).contains(&rd.version) {
        return Err(invalid(format!(
            "archive version {major}.{minor}.{rev} is not supported (1.8 to 1.16: PostgreSQL 8.1 \
             to 17)"
        )));
    }
    rd.int_size = usize::from(rd.byte()?);
    rd.off_size = usize::from(rd.byte()?);
    if !(1..=8).contains(&rd.int_size) || !(1..=8).contains(&rd.off_size) {
        return Err(invalid("integer sizes out of range"));
    }
    let layout = match rd.byte()? {
        1 => Layout::Custom,
        3 | 5 => Layout::Files,
        f => return Err(invalid(format!("unknown archive format {f}"))),
    };
    let compression = if rd.at_least(1, 15) {
        match rd.byte()? {
            0 => Compression::None,
            1 => Compression::Gzip,
            2 => Compression::Other("lz4"),
            3 => Compression::Other("zstd"),
            c => return Err(invalid(format!("unknown compression {c}"))),
        }
    } else if rd.int()? != 0 {
        Compression::Gzip
    } else {
        Compression::None
    };
    // When it was made (seven integers), the database's name, the server's and pg_dump's versions.
    for _ in 0..7 {
        rd.int()?;
    }
    rd.string(false)?;
    if rd.at_least(1, 10) {
        rd.string(false)?;
        rd.string(false)?;
    }
    let count = rd.int()?;
    if !(0..=MAX_ENTRIES).contains(&count) {
        return Err(invalid(format!("{count} entries in the table of contents")));
    }
    let mut tables = Vec::new();
    for _ in 0..count {
        let id = rd.int()?;
        rd.int()?; // had a data dumper
        rd.string(false)?; // catalog table oid
        rd.string(false)?; // oid
        let tag = rd.string(true)?.unwrap_or_default();
        let desc = rd.string(true)?.unwrap_or_default();
        if rd.at_least(1, 11) {
            rd.int()?; // section
        }
        rd.string(false)?; // definition
        rd.string(false)?; // drop statement
        let data = desc == "TABLE DATA";
        let copy = rd.string(data)?;
        rd.string(false)?; // schema
        if rd.at_least(1, 10) {
            rd.string(false)?; // tablespace
        }
        if rd.at_least(1, 14) {
            rd.string(false)?; // table access method
        }
        if rd.at_least(1, 16) {
            rd.int()?; // relation kind
        }
        rd.string(false)?; // owner
        rd.string(false)?; // "with OIDs"
        if rd.at_least(1, 5) {
            while rd.string(false)?.is_some() {} // dependencies, up to a null string
        }
        let file = match layout {
            Layout::Custom => {
                rd.offset()?;
                None
            }
            Layout::Files => rd.string(data)?.filter(|f| !f.is_empty()),
        };
        if let (true, Some(copy)) = (data, copy) {
            tables.push(TableData {
                id,
                name: tag,
                columns: copy_columns(&copy),
                file,
            });
        }
    }
    let toc = Toc {
        layout,
        compression,
        tables,
    };
    Ok((toc, rd))
}

/// The column names of `COPY schema.table (a, "B c", ...) FROM stdin;`, unquoted.
fn copy_columns(stmt: &str) -> Vec<String> {
    let mut cols = Vec::new();
    let Some(open) = stmt.find('(') else {
        return cols;
    };
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = stmt[open + 1..].chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                cur.push('"');
            }
            '"' => quoted = !quoted,
            ',' | ')' if !quoted => {
                cols.push(std::mem::take(&mut cur).trim().to_string());
                if c == ')' {
                    break;
                }
            }
            c => cur.push(c),
        }
    }
    cols
}

/// Scan a backup read from `r`: its table of contents, and in the custom format its data.
pub fn pgdump(r: &mut dyn BufRead, cx: &mut Cx<'_>) -> Result<(), ExtractError> {
    let (toc, mut rd) = read_toc(r).map_err(|e| ExtractError::corrupt("pg_dump", e))?;
    if toc.layout != Layout::Custom {
        // The rows are in the files the table of contents names, scanned on their own.
        return Ok(());
    }
    let mut record = 0u64;
    let mut blocks = 0usize;
    loop {
        let step = data_block(&mut rd, &toc, &mut record, cx);
        match step {
            Ok(true) => blocks += 1,
            Ok(false) => return Ok(()),
            Err(e @ (ExtractError::Timeout { .. } | ExtractError::Bomb { .. })) => return Err(e),
            Err(e) => {
                let text = format!(
                    "the backup's data is cut short or damaged after {blocks} blocks: failed to {e}"
                );
                cx.warn(e.problem(), text);
                return Ok(());
            }
        }
    }
}

/// One data block of a custom-format backup; `false` at the end.
fn data_block(
    rd: &mut Reader<'_>,
    toc: &Toc,
    record: &mut u64,
    cx: &mut Cx<'_>,
) -> Result<bool, ExtractError> {
    cx.check_deadline()?;
    let corrupt = |e: io::Error| ExtractError::corrupt("pg_dump", e);
    let Some(kind) = rd.byte_or_end().map_err(corrupt)? else {
        return Ok(false);
    };
    let id = rd.int().map_err(corrupt)?;
    match kind {
        BLK_DATA => {
            let mut chunks = Chunks {
                rd,
                left: 0,
                done: false,
            };
            if let Some(table) = toc.tables.iter().find(|t| t.id == id) {
                decompressed(&mut chunks, toc.compression, cx, |r, cx| {
                    copy_rows(r, table, record, cx)
                })?;
            }
            io::copy(&mut chunks, &mut io::sink()).map_err(corrupt)?;
        }
        BLK_BLOBS => loop {
            let oid = rd.int().map_err(corrupt)?;
            if oid == 0 {
                break;
            }
            let mut chunks = Chunks {
                rd,
                left: 0,
                done: false,
            };
            large_object(oid, &mut chunks, toc.compression, cx)?;
            io::copy(&mut chunks, &mut io::sink()).map_err(corrupt)?;
        },
        k => return Err(corrupt(invalid(format!("unknown data block type {k}")))),
    }
    Ok(true)
}

/// Run `read` over the decompressed bytes of `r`, counted against the file's expansion limit.
fn decompressed(
    r: &mut dyn Read,
    compression: Compression,
    cx: &mut Cx<'_>,
    read: impl FnOnce(&mut dyn BufRead, &mut Cx<'_>) -> Result<(), ExtractError>,
) -> Result<(), ExtractError> {
    let inner: Box<dyn Read + '_> = match compression {
        Compression::None => Box::new(r),
        Compression::Gzip => Box::new(ZlibDecoder::new(r)),
        Compression::Other(how) => {
            let w = format!("its data is compressed with {how} (PostgreSQL 16 or later): not read");
            if !cx.warnings.iter().any(|(_, x)| *x == w) {
                cx.warn(PhiProblem::Unreadable, w);
            }
            return Ok(());
        }
    };
    let mut capped = Capped::new(inner, cx.expand_room());
    let r = read(&mut BufReader::with_capacity(64 << 10, &mut capped), cx);
    // Past the room left, this fails as a bomb, before the read error it caused.
    cx.expand(capped.read)?;
    r
}

/// A large object: scanned as an embedded file, up to the whole-file limit.
fn large_object(
    oid: i64,
    r: &mut dyn Read,
    compression: Compression,
    cx: &mut Cx<'_>,
) -> Result<(), ExtractError> {
    let name = format!("large object {oid}");
    let limit = cx.limits.max_whole;
    let mut data = Vec::new();
    decompressed(r, compression, cx, |r, _| {
        r.take(limit + 1).read_to_end(&mut data)?;
        Ok(())
    })?;
    if data.len() as u64 > limit {
        cx.warn(
            PhiProblem::TooLarge,
            format!("{name}: not opened: larger than the {limit}-byte limit"),
        );
        return Ok(());
    }
    if data.is_empty() {
        return Ok(());
    }
    cx.member(&name, &data)
}

/// The rows of one table in `COPY`'s text format, each a record, every value under its column.
fn copy_rows(
    r: &mut dyn BufRead,
    table: &TableData,
    record: &mut u64,
    cx: &mut Cx<'_>,
) -> Result<(), ExtractError> {
    let fields: Vec<(Rc<Field>, String)> = table
        .columns
        .iter()
        .map(|c| (cx.field(c), format!("{}.{c}", table.name)))
        .collect();
    let mut lines = Lines::new(r, cx.limits.max_line, false);
    while let Some((n, raw)) = lines.next_line()? {
        if raw == b"\\." {
            break;
        }
        if n % 4096 == 0 {
            cx.check_deadline()?;
        }
        *record += 1;
        let line = decode(raw);
        for (i, v) in copy_values(&line) {
            let (field, label) = match fields.get(i) {
                Some((f, l)) => (Some(&**f), Some(l.as_str())),
                None => (None, None),
            };
            cx.unit_in(
                field,
                Unit {
                    text: &v,
                    label,
                    record: Some(*record),
                    ..Unit::default()
                },
            )?;
        }
    }
    Ok(())
}

/// The data of one block: chunks, each its length and its bytes, up to a length of zero.
struct Chunks<'a, 'r> {
    rd: &'a mut Reader<'r>,
    left: u64,
    done: bool,
}

impl Read for Chunks<'_, '_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.left == 0 {
            if self.done || buf.is_empty() {
                return Ok(0);
            }
            let n = self.rd.int()?;
            self.left = u64::try_from(n).map_err(|_| invalid("a chunk of negative length"))?;
            self.done = n == 0;
        }
        let want = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.rd.r.read(&mut buf[..want])?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// Whether a file's name is that of a table's rows in a directory backup (`3348.dat`,
/// `3348.dat.gz`).
pub fn is_data_name(name: &str) -> bool {
    let stem = name.strip_suffix(".gz").unwrap_or(name);
    stem.strip_suffix(".dat")
        .is_some_and(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
}

/// A table's rows in a directory backup (`3348.dat`, `3348.dat.gz`), scanned with the columns
/// the `toc.dat` beside it names. `Ok(false)` when there is no such `toc.dat` or it does not name
/// this file: the file is then scanned as what it looks like.
pub fn data_file(path: &Path, cx: &mut Cx<'_>) -> Result<bool, ExtractError> {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return Ok(false);
    };
    let Some(dir) = path.parent() else {
        return Ok(false);
    };
    let Ok(toc_file) = std::fs::File::open(dir.join("toc.dat")) else {
        return Ok(false);
    };
    let mut toc_reader = BufReader::new(toc_file.take(MAX_TOC_FILE));
    let Ok((toc, _)) = read_toc(&mut toc_reader) else {
        return Ok(false);
    };
    let Some((table, gz)) = toc.table_file(name) else {
        return Ok(false);
    };
    let mut f = std::fs::File::open(path)?;
    table_rows(&mut f, gz, table, cx)?;
    Ok(true)
}

/// A table's file (gzipped when `gz`): its rows, with its columns.
fn table_rows(
    r: &mut dyn Read,
    gz: bool,
    table: &TableData,
    cx: &mut Cx<'_>,
) -> Result<(), ExtractError> {
    let mut record = 0u64;
    if !gz {
        return copy_rows(&mut BufReader::new(r), table, &mut record, cx);
    }
    let mut capped = Capped::new(MultiGzDecoder::new(r), cx.expand_room());
    let rows = copy_rows(&mut BufReader::new(&mut capped), table, &mut record, cx);
    // Past the room left, this fails as a bomb, before the read error it caused.
    cx.expand(capped.read)?;
    rows
}

/// A table's rows from an archive's member `name` (gzipped when `gz`), as [`Toc::table_file`]
/// found it.
pub fn tar_member(
    (table, gz): (&TableData, bool),
    name: &str,
    data: &[u8],
    cx: &mut Cx<'_>,
) -> Result<(), ExtractError> {
    cx.within(name, |cx| table_rows(&mut &data[..], gz, table, cx))
}

/// The table of contents of a `toc.dat` archive member (a tar-format backup's, or a directory
/// backup's packed into an archive).
pub fn tar_toc(data: &[u8]) -> Option<Toc> {
    read_toc(&mut &data[..])
        .ok()
        .map(|(toc, _)| toc)
        .filter(|t| t.layout == Layout::Files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_columns_unquote_names() {
        assert_eq!(
            copy_columns(
                "COPY public.patients (id, first_name, \"Last \"\"Name\"\", x\", dob) FROM stdin;\n"
            ),
            ["id", "first_name", "Last \"Name\", x", "dob"]
        );
        assert!(copy_columns("COPY t FROM stdin;").is_empty());
    }

    #[test]
    fn data_file_names() {
        assert!(is_data_name("3348.dat"));
        assert!(is_data_name("3348.dat.gz"));
        assert!(!is_data_name(".dat"));
        assert!(!is_data_name("toc.dat"));
        assert!(!is_data_name("blob_16390.dat"));
    }

    proptest::proptest! {
        /// Any bytes after the magic: an error or a table of contents, never a panic, never more
        /// work than the bytes allow.
        #[test]
        fn toc_of_any_bytes(tail in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400)) {
            let mut data = MAGIC.to_vec();
            data.extend_from_slice(&tail);
            let _ = read_toc(&mut &data[..]);
        }
    }
}
