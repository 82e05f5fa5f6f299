//! Archives as Windows desktops and Linux servers pack them, written by the real tools: 7-Zip
//! (Debian's `7zz`) in each of its compression methods, solid, and with a password (names in
//! clear, and names encrypted too); zip members compressed the ways 7-Zip offers besides
//! Deflate; xz and bzip2 files and tar backups compressed with them (`xz`, `bzip2`, GNU `tar`).
//! medguard finds in each what it finds in the files themselves, refuses what it cannot read
//! safely and reports a password-protected archive as protected.

mod common;

use medguard_model::{PhiFinding, PhiKind, PhiProblem};
use medguard_phi::detect::Engine;
use medguard_phi::scan::scan_file;
use medguard_phi::{FileOutcome, Hasher, Limits, ScanOptions};
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

const CSV: &str = "last_name,first_name,dob,ssn,phone\nGonzalez,Maria,03/14/1961,536-22-8726,\
                   (217) 632-0143\nSmith,John,02/14/1980,536-22-8728,217-632-0199\n";
const NOTE: &str = "Referral for Ysogra Nixyso, SSN 536-22-8727, DOB 01/02/1970.\n";

fn opts(limits: Limits) -> ScanOptions {
    ScanOptions {
        min_records: 0,
        limits,
        ..ScanOptions::default()
    }
}

fn scan_with(path: &Path, limits: Limits) -> Option<FileOutcome> {
    scan_file(
        path,
        &opts(limits),
        Engine::get().expect("engine"),
        &Hasher::with_key([5; 32]),
    )
    .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The error that refuses the file at `path` under `limits`.
fn refused(path: &Path, limits: Limits) -> medguard_phi::ExtractError {
    match scan_file(
        path,
        &opts(limits),
        Engine::get().expect("engine"),
        &Hasher::with_key([5; 32]),
    ) {
        Err(e) => e,
        Ok(_) => panic!("{} was read, not refused", path.display()),
    }
}

fn scan(path: &Path) -> FileOutcome {
    scan_with(path, Limits::default())
        .unwrap_or_else(|| panic!("{} holds identifiers", path.display()))
}

/// What was found, wherever: kind and keyed hash.
fn found(findings: &[PhiFinding]) -> BTreeSet<(PhiKind, String)> {
    findings
        .iter()
        .map(|f| (f.kind, f.hash.hex_str(&mut [0; 32]).to_string()))
        .collect()
}

/// The export and the letter in `dir/src`, and what medguard finds in them as plain files.
fn sources(dir: &Path) -> BTreeSet<(PhiKind, String)> {
    let src = dir.join("src");
    std::fs::create_dir_all(&src).expect("mkdir");
    std::fs::write(src.join("patients.csv"), CSV).expect("write");
    std::fs::write(src.join("referral.txt"), NOTE).expect("write");
    let mut all = found(&scan(&src.join("patients.csv")).findings);
    all.extend(found(&scan(&src.join("referral.txt")).findings));
    assert!(all.len() >= 10, "{all:?}");
    all
}

fn run(bin: &str, package: &str, args: &[&str], dir: &Path) {
    let bin = medguard_lab::require(bin, package);
    common::run(
        Command::new(bin).args(args).current_dir(dir),
        &format!("{package} {}", args.join(" ")),
    );
}

/// `len` bytes that do not compress (xorshift).
fn noise(len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len);
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out
}

/// The scan of `o` warned of `text`.
fn assert_warned(o: &FileOutcome, text: &str) {
    assert!(
        o.report.warnings.iter().any(|w| w.contains(text)),
        "no warning of {text:?}: {:?}",
        o.report.warnings
    );
}

/// `7zz a ARCHIVE -- .` with `args`, in `dir/src`: the archive `dir/ARCHIVE` of what is there.
fn sevenzip(dir: &Path, archive: &str, args: &[&str]) -> std::path::PathBuf {
    let out = dir.join(archive);
    let mut all = vec!["a", "-bd", "-bso0"];
    all.extend_from_slice(args);
    let out_s = out.to_string_lossy().into_owned();
    all.extend([out_s.as_str(), "--", "."]);
    run("7zz", "7zip", &all, &dir.join("src"));
    out
}

#[test]
fn seven_zip_archives_are_read_in_every_method() {
    let dir = medguard_lab::workdir("phi-7z");
    let want = sources(dir.path());
    for (archive, args) in [
        ("lzma2.7z", &[][..]),
        ("lzma.7z", &["-m0=LZMA"][..]),
        ("bzip2.7z", &["-m0=BZip2"][..]),
        ("ppmd.7z", &["-m0=PPMd"][..]),
        ("deflate.7z", &["-m0=Deflate"][..]),
        ("solid-ultra.7z", &["-mx=9", "-ms=on"][..]),
        ("copy.7z", &["-mx=0"][..]),
    ] {
        let path = sevenzip(dir.path(), archive, args);
        let o = scan(&path);
        assert_eq!(o.report.format, "7z", "{archive}");
        assert_eq!(found(&o.findings), want, "{archive}");
        assert!(o.report.exposure.unencrypted_archive, "{archive}");
        assert!(
            o.report.headline.contains("archive"),
            "{}",
            o.report.headline
        );
        let members: BTreeSet<&str> = o
            .findings
            .iter()
            .filter_map(|f| f.location.member.as_deref())
            .collect();
        assert_eq!(
            members,
            BTreeSet::from(["patients.csv", "referral.txt"]),
            "{archive}"
        );
    }
}

#[test]
fn a_password_protected_seven_zip_archive_is_reported_protected() {
    let dir = medguard_lab::workdir("phi-7z-password");
    sources(dir.path());
    // Contents encrypted, names in clear: a name that gives a patient away is still reported.
    std::fs::write(
        dir.path().join("src/patients.csv"),
        "not read without the password",
    )
    .expect("write");
    std::fs::rename(
        dir.path().join("src/referral.txt"),
        dir.path().join("src/Maria Gonzalez 536-22-8726.txt"),
    )
    .expect("rename");
    let out = sevenzip(dir.path(), "enc.7z", &["-pSecret"]);
    let o = scan(&out);
    assert!(!o.report.exposure.unencrypted_archive);
    assert!(o.problems.iter().any(|(p, _)| *p == PhiProblem::Protected));
    assert_warned(&o, "password-protected 7-Zip");
    let ssn = o
        .findings
        .iter()
        .find(|f| f.kind == PhiKind::Ssn)
        .expect("the SSN in a member's name");
    assert_eq!(ssn.location.field.as_deref(), Some("file name"));
    assert_eq!(
        ssn.location.member.as_deref(),
        Some("Maria Gonzalez 536-22-8726.txt")
    );

    // Names encrypted too (-mhe): nothing is readable, and the warning says so.
    let hidden = sevenzip(dir.path(), "hidden.7z", &["-pSecret", "-mhe=on"]);
    let o = scan_with(&hidden, Limits::default()).expect("a report");
    assert!(o.findings.is_empty());
    assert_warned(&o, "member names were not scanned");
}

#[test]
fn zip_members_compressed_by_seven_zip_are_read() {
    let dir = medguard_lab::workdir("phi-zip-methods");
    let want = sources(dir.path());
    // Deflate64 is also what Windows Explorer writes for large members.
    for method in ["Deflate64", "LZMA", "PPMd", "BZip2", "XZ"] {
        let archive = format!("{method}.zip");
        let mm = format!("-mm={method}");
        let path = sevenzip(dir.path(), &archive, &["-tzip", &mm]);
        let o = scan(&path);
        assert_eq!(o.report.format, "zip", "{method}");
        assert_eq!(found(&o.findings), want, "{method}");
    }
    // Info-ZIP's bzip2 members.
    let bz = dir.path().join("infozip-bzip2.zip");
    run(
        "zip",
        "zip",
        &[
            "-q",
            "-Z",
            "bzip2",
            &bz.to_string_lossy(),
            "patients.csv",
            "referral.txt",
        ],
        &dir.path().join("src"),
    );
    assert_eq!(found(&scan(&bz).findings), want);
}

#[test]
fn xz_and_bzip2_files_and_tar_backups_are_read() {
    let dir = medguard_lab::workdir("phi-xz-bz2");
    let want = sources(dir.path());
    let src = dir.path().join("src");
    let csv_only = found(&scan(&src.join("patients.csv")).findings);
    run("xz", "xz-utils", &["-k", "patients.csv"], &src);
    run("bzip2", "bzip2", &["-k", "patients.csv"], &src);
    run("zstd", "zstd", &["-q", "-k", "patients.csv"], &src);
    for (file, format) in [
        ("patients.csv.xz", "xz"),
        ("patients.csv.bz2", "bzip2"),
        ("patients.csv.zst", "zstd"),
    ] {
        let o = scan(&src.join(file));
        assert_eq!(o.report.format, format);
        assert_eq!(found(&o.findings), csv_only, "{file}");
        // The member is named by what it holds, and read as a CSV: by its columns.
        let f = o
            .findings
            .iter()
            .find(|f| f.kind == PhiKind::Ssn)
            .expect("SSN");
        assert_eq!(f.location.member.as_deref(), Some("patients.csv"));
        assert_eq!(f.location.field.as_deref(), Some("ssn"));
    }
    for (file, flag, format) in [
        ("backup.tar.xz", "-J", "xz"),
        ("backup.tar.bz2", "-j", "bzip2"),
        ("backup.tar.zst", "--zstd", "zstd"),
    ] {
        let out = dir.path().join(file);
        run(
            "tar",
            "tar",
            &[
                flag,
                "-cf",
                &out.to_string_lossy(),
                "patients.csv",
                "referral.txt",
            ],
            &src,
        );
        let o = scan(&out);
        assert_eq!(o.report.format, format);
        assert_eq!(found(&o.findings), want, "{file}");
    }
}

#[test]
fn oversized_and_memory_hungry_archives_are_refused() {
    let dir = medguard_lab::workdir("phi-7z-limits");
    sources(dir.path());
    let src = dir.path().join("src");
    let small = Limits {
        max_whole: 4 << 20,
        ..Limits::default()
    };
    // A member of 8 MiB that does not compress, in a solid archive before the letter: over a
    // 4 MiB member limit, it is read past, and the letter after it in the same stream is read.
    std::fs::write(src.join("patients.csv"), noise(8 << 20)).expect("write");
    let path = sevenzip(dir.path(), "large.7z", &["-md=1m", "-ms=on"]);
    let o = scan_with(&path, small.clone()).expect("the letter is still read");
    assert_warned(&o, "patients.csv: not opened");
    assert_eq!(
        o.problems.iter().map(|(p, _)| *p).collect::<Vec<_>>(),
        [PhiProblem::TooLarge]
    );
    assert!(o.findings.iter().any(|f| f.kind == PhiKind::Ssn));
    // 8 MiB of zeros from a few kilobytes is a bomb, whether the member would be read (under
    // the default limit) or read past (over the small one).
    std::fs::write(src.join("patients.csv"), vec![0u8; 8 << 20]).expect("write");
    let zeros = sevenzip(dir.path(), "zeros.7z", &["-md=1m"]);
    for limits in [Limits::default(), small.clone()] {
        let bomb = refused(&zeros, limits);
        assert!(
            matches!(bomb, medguard_phi::ExtractError::Bomb { .. }),
            "{bomb:?}"
        );
    }
    // A dictionary larger than the limit allows the decoder to allocate: refused, not read.
    let big = sevenzip(dir.path(), "bigdict.7z", &["-md=64m"]);
    let err = refused(&big, small);
    assert!(err.to_string().contains("7z"), "{err}");

    // The same for xz: a stream whose dictionary exceeds the limit.
    run("xz", "xz-utils", &["-k", "-9", "referral.txt"], &src);
    let tiny = Limits {
        max_whole: 1 << 20,
        ..Limits::default()
    };
    let err = refused(&src.join("referral.txt.xz"), tiny.clone());
    assert!(err.to_string().contains("xz"), "{err}");

    // And for Zstandard: a frame whose window (--long: 128 MiB; from a pipe, where zstd cannot
    // shrink it to the input's size) exceeds the limit.
    let zstd = medguard_lab::require("zstd", "zstd");
    common::run(
        Command::new("sh")
            .arg("-c")
            .arg(format!(
                "'{}' -q --long=27 < referral.txt > long.zst",
                zstd.display()
            ))
            .current_dir(&src),
        "zstd --long=27",
    );
    let err = refused(&src.join("long.zst"), tiny);
    assert!(err.to_string().contains("zstd"), "{err}");
}

/// A compressed tar backup larger than the whole-file limit is streamed member by member from
/// disk, not refused: only its oversized member is skipped.
#[test]
fn a_compressed_backup_larger_than_the_limit_is_streamed() {
    let dir = medguard_lab::workdir("phi-big-tar");
    sources(dir.path());
    let src = dir.path().join("src");
    // Incompressible: the archive stays larger than the limit.
    std::fs::write(src.join("scan.raw"), noise(2 << 20)).expect("write");
    let limits = Limits {
        max_whole: 1 << 20,
        ..Limits::default()
    };
    // xz at its smallest dictionary (256 KiB) and zstd at level 1 (a 512 KiB window), which the
    // 1 MiB limit lets the decoder allocate.
    for (file, compress) in [
        ("big.tar.gz", "gzip"),
        ("big.tar.xz", "xz -0"),
        ("big.tar.bz2", "bzip2"),
        ("big.tar.zst", "zstd -1"),
    ] {
        let out = dir.path().join(file);
        run(
            "tar",
            "tar",
            &[
                "-I",
                compress,
                "-cf",
                &out.to_string_lossy(),
                "scan.raw",
                "patients.csv",
            ],
            &src,
        );
        assert!(std::fs::metadata(&out).expect("stat").len() > limits.max_whole);
        let o = scan_with(&out, limits.clone()).expect("found");
        assert!(
            o.findings
                .iter()
                .any(|f| f.kind == PhiKind::Ssn
                    && f.location.member.as_deref() == Some("patients.csv")),
            "{file}"
        );
        assert_warned(&o, "scan.raw: not opened");
    }
}

/// A zip member compressed with a method nothing here reads (Zstandard, method 93) is named as
/// unreadable, and the archive is not taken for a password-protected one; a member with a
/// password (Info-ZIP's -P) is.
#[test]
fn zip_members_that_cannot_be_read_say_why() {
    let dir = medguard_lab::workdir("phi-zip-why");
    let want = sources(dir.path());
    let src = dir.path().join("src");
    let stored = dir.path().join("stored.zip");
    run(
        "zip",
        "zip",
        &[
            "-q",
            "-0",
            &stored.to_string_lossy(),
            "patients.csv",
            "referral.txt",
        ],
        &src,
    );
    // The first member's method, in its local header and in the central directory: Zstandard.
    let mut bytes = std::fs::read(&stored).expect("read");
    assert_eq!(&bytes[..4], b"PK\x03\x04");
    bytes[8..10].copy_from_slice(&93u16.to_le_bytes());
    let cd = bytes
        .windows(4)
        .position(|w| w == b"PK\x01\x02")
        .expect("central directory");
    bytes[cd + 10..cd + 12].copy_from_slice(&93u16.to_le_bytes());
    let zstd = dir.path().join("zstd.zip");
    std::fs::write(&zstd, &bytes).expect("write");
    let o = scan(&zstd);
    assert!(
        o.report.exposure.unencrypted_archive,
        "not a protected archive"
    );
    assert!(
        o.problems
            .iter()
            .any(|(p, w)| *p == PhiProblem::Unreadable && w.contains("patients.csv")),
        "{:?}",
        o.problems
    );
    // The other member is read.
    assert!(found(&o.findings).is_subset(&want));
    assert!(
        o.findings
            .iter()
            .any(|f| f.location.member.as_deref() == Some("referral.txt"))
    );

    let locked = dir.path().join("locked.zip");
    run(
        "zip",
        "zip",
        &[
            "-q",
            "-P",
            "secret",
            &locked.to_string_lossy(),
            "patients.csv",
        ],
        &src,
    );
    let o = scan_with(&locked, Limits::default()).expect("a report");
    assert!(!o.report.exposure.unencrypted_archive);
    assert_eq!(
        o.problems.iter().map(|(p, _)| *p).collect::<Vec<_>>(),
        [PhiProblem::Protected]
    );
}
