//! 7-Zip archives (`.7z`): the free archiver of every Windows desktop, and how old exports and
//! backups are packed for the NAS. Read with sevenz-rust2 (pure Rust: LZMA, LZMA2, BZip2, PPMd,
//! Deflate), every member scanned with its own format, as a zip's are.
//!
//! Defences, as for zip: members counted against the archive's entry limit, each read up to the
//! whole-file limit, all of them together up to the expansion ratio times the archive's size
//! (past 1 MiB; a solid archive does not say what each member's share is), expansion counted
//! against the file's limit, decoder dictionaries and header
//! buffers capped by the whole-file limit (a hostile archive cannot make the decoder allocate
//! more), one decoding thread, the reader behind `catch_unwind`. A password-protected archive is
//! reported as protected, not read: its members' names are still checked (unless the names are
//! encrypted too).

use super::{Cx, ExtractError};
use medguard_model::PhiProblem;
use sevenz_rust2::{ArchiveReader, EntryDecision, Password};
use std::io::{Read, Seek};

/// The signature at the start of every 7z archive.
const MAGIC: &[u8] = b"7z\xBC\xAF\x27\x1C";

/// Whether `head` starts a 7z archive.
pub fn looks_like_7z(head: &[u8]) -> bool {
    head.starts_with(MAGIC)
}

fn corrupt(e: impl std::fmt::Display) -> ExtractError {
    ExtractError::corrupt("7z", e)
}

/// Scan a 7z archive.
pub fn sevenz<R: Read + Seek>(src: R, cx: &mut Cx<'_>) -> Result<(), ExtractError> {
    cx.in_archive = true;
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| members(src, cx)))
        .map_err(|_| corrupt("the 7z reader crashed"))?
}

fn members<R: Read + Seek>(mut src: R, cx: &mut Cx<'_>) -> Result<(), ExtractError> {
    let limit = cx.limits.max_whole;
    let size = src.seek(std::io::SeekFrom::End(0))?;
    src.rewind()?;
    let mut room = size.saturating_mul(cx.limits.max_ratio).max(1 << 20);
    let memory_kb = usize::try_from(limit / 1024).unwrap_or(usize::MAX);
    let mut reader = match ArchiveReader::new_with_memory_limit(src, Password::empty(), memory_kb) {
        Ok(r) => r,
        // Encrypted names (7-Zip's "encrypt file names"): nothing to read without the password.
        Err(e) if is_password_error(&e) => return protected(cx, "its member names"),
        Err(e) => return Err(corrupt(e)),
    };
    reader.set_thread_count(1);
    let archive = reader.archive();
    if archive.files.len() > cx.limits.max_entries {
        return Err(ExtractError::Bomb {
            reason: format!("more than {} members", cx.limits.max_entries),
        });
    }
    if (0..archive.files.len()).any(|i| archive.is_file_encrypted(i)) {
        let names: Vec<String> = archive.files.iter().map(|f| f.name.clone()).collect();
        for name in names {
            cx.within(&name, |cx| cx.file_name(&name))?;
        }
        return protected(cx, "its members");
    }
    let mut failed = None;
    let r = reader.for_each_entries_with_decision(|entry, data| {
        if entry.is_directory() || !entry.has_stream {
            return Ok(EntryDecision::Continue);
        }
        let step = member(entry.name(), entry.size(), data, limit, &mut room, cx);
        match step {
            Ok(()) => Ok(EntryDecision::Continue),
            Err(e) => {
                failed = Some(e);
                Ok(EntryDecision::Stop)
            }
        }
    });
    if let Some(e) = failed {
        return Err(e);
    }
    r.map_err(corrupt)
}

/// One member: read up to the whole-file limit and what is left of the archive's expansion
/// `room`, and scanned with its own format.
fn member(
    name: &str,
    size: u64,
    data: &mut dyn Read,
    limit: u64,
    room: &mut u64,
    cx: &mut Cx<'_>,
) -> Result<(), ExtractError> {
    cx.check_deadline()?;
    let bomb = |cx: &Cx<'_>| ExtractError::Bomb {
        reason: format!(
            "7z members expand past {} times the archive's size",
            cx.limits.max_ratio
        ),
    };
    if size > limit {
        cx.warn(
            PhiProblem::TooLarge,
            format!("{name}: not opened: {size} bytes exceed the {limit}-byte member limit"),
        );
        // Read past it here, a slice at a time, so that the time budget and the ratio hold (in a
        // solid archive the members after it come out of the same stream).
        let mut slice = vec![0u8; 1 << 20];
        loop {
            cx.check_deadline()?;
            let n = data.read(&mut slice).map_err(corrupt)?;
            if n == 0 {
                return Ok(());
            }
            *room = room.checked_sub(n as u64).ok_or_else(|| bomb(cx))?;
        }
    }
    // The header's size is a claim: memory grows with what is really there.
    let mut buf = Vec::with_capacity(usize::try_from(size.min(1 << 20)).unwrap_or(0));
    data.take(limit.min(*room) + 1)
        .read_to_end(&mut buf)
        .map_err(corrupt)?;
    if buf.len() as u64 > *room {
        return Err(bomb(cx));
    }
    *room -= buf.len() as u64;
    buf.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    cx.expand(buf.len() as u64)?;
    cx.member(name, &buf)
}

fn is_password_error(e: &sevenz_rust2::Error) -> bool {
    matches!(
        e,
        sevenz_rust2::Error::PasswordRequired | sevenz_rust2::Error::MaybeBadPassword(_)
    ) || matches!(e, sevenz_rust2::Error::UnsupportedCompressionMethod(m) if m.contains("AES"))
}

/// A password-protected archive: reported, its content not scanned.
fn protected(cx: &mut Cx<'_>, what: &str) -> Result<(), ExtractError> {
    cx.encrypted_members = true;
    cx.warn(
        PhiProblem::Protected,
        format!("password-protected 7-Zip archive: {what} were not scanned"),
    );
    Ok(())
}
