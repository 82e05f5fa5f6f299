//! Tar archives as backups are made: GNU tar (`tar`, in every Debian base system) writes the
//! practice's exports in its GNU and pax formats, plain and gzipped, with a path longer than the
//! 100 bytes a ustar header holds. medguard reads every member with its own format, as a stream;
//! a truncated backup keeps the members before the damage, an oversized member is named, and a
//! gzip bomb is refused.

mod common;

use medguard_model::PhiKind;
use medguard_phi::{Hasher, Limits, ScanOptions, scan_bytes};
use std::path::Path;
use std::process::Command;

const CSV: &str =
    "name,dob,ssn\nJohn Smith,02/14/1980,536-22-8726\nMary Jones,03/04/1975,536-22-8727\n";
const NOTE: &str = "Patient Maria Gonzalez, SSN 536-22-8728, seen today.\n";

/// A share with an export and a letter whose path is longer than a ustar header holds.
fn share(root: &Path) -> String {
    let long = format!(
        "Letters/{}/2019",
        "Referrals from Springfield Orthopedics".repeat(4)
    );
    std::fs::create_dir_all(root.join("Exports")).expect("mkdir");
    std::fs::create_dir_all(root.join(&long)).expect("mkdir");
    std::fs::write(root.join("Exports/patients.csv"), CSV).expect("write");
    std::fs::write(root.join(&long).join("gonzalez.txt"), NOTE).expect("write");
    format!("{long}/gonzalez.txt")
}

fn tar(args: &[&str], dir: &Path) {
    let bin = medguard_lab::require("tar", "tar");
    common::run(
        Command::new(bin).args(args).current_dir(dir),
        &format!("tar {}", args.join(" ")),
    );
}

fn opts() -> ScanOptions {
    ScanOptions {
        min_records: 0,
        ..ScanOptions::default()
    }
}

#[test]
fn gnu_tar_backups_are_read_member_by_member() {
    let dir = tempfile::tempdir().expect("tempdir");
    let src = dir.path().join("share");
    let long = share(&src);
    assert!(long.len() > 100);
    for (format, file) in [
        ("gnu", "backup.tar"),
        ("pax", "backup-pax.tar"),
        ("gnu", "backup.tar.gz"),
        ("pax", "nightly.tgz"),
    ] {
        let path = dir.path().join(file);
        let mut args = vec!["--format", format, "-C"];
        let src_s = src.to_str().expect("utf-8 path");
        args.push(src_s);
        let path_s = path.to_str().expect("utf-8 path");
        args.extend([
            if file.ends_with("tar") { "-cf" } else { "-czf" },
            path_s,
            ".",
        ]);
        tar(&args, dir.path());
        let out = common::scan(&path);
        assert_eq!(
            out.report.format,
            if file.ends_with(".tar") {
                "tar"
            } else {
                "gzip"
            },
            "{file}"
        );
        assert_eq!(out.report.counts.get(&PhiKind::Ssn), Some(&3), "{file}");
        assert!(out.report.exposure.unencrypted_archive, "{file}");
        // The long path is the member's whole name, not its first 100 bytes.
        let note = out
            .findings
            .iter()
            .find(|f| f.masked == "***-**-8728")
            .expect("the letter's SSN");
        let member = note.location.member.as_deref().unwrap_or_default();
        assert!(member.ends_with(&long), "{file}: {member}");
        // Each export row is a record of its own member.
        let csv = out
            .findings
            .iter()
            .filter(|f| {
                f.location
                    .member
                    .as_deref()
                    .is_some_and(|m| m.ends_with("patients.csv"))
            })
            .count();
        assert!(csv >= 4, "{file}: {csv}");
    }
}

#[test]
fn damaged_oversized_and_bomb_archives() {
    let dir = tempfile::tempdir().expect("tempdir");
    let src = dir.path().join("share");
    let long = share(&src);
    let tar_path = dir.path().join("b.tar");
    let src_s = src.to_str().expect("utf-8 path");
    let tar_s = tar_path.to_str().expect("utf-8 path");
    // The export first (header at 0, data at 512, under 512 bytes), then the letter.
    let csv_path = "Exports/patients.csv";
    tar(
        &[
            "--format", "gnu", "-C", src_s, "-cf", tar_s, csv_path, &long,
        ],
        dir.path(),
    );
    let whole = std::fs::read(&tar_path).expect("read");
    let key = Hasher::with_key([2; 32]);

    // Cut inside the letter's header: the export before it is kept, with a warning.
    let out = scan_bytes("cut.tar", &whole[..1024 + 100], &opts(), &key).expect("scan");
    assert_eq!(out.report.counts.get(&PhiKind::Ssn), Some(&2));
    assert!(
        out.report
            .warnings
            .iter()
            .any(|w| w.contains("tar ends early")),
        "{:?}",
        out.report.warnings
    );

    // A member larger than the whole-file limit is named, not read.
    let mut small = opts();
    small.limits = Limits {
        max_whole: 40,
        ..Limits::default()
    };
    let out = scan_bytes("b.tar", &whole, &small, &key).expect("scan");
    assert!(out.report.counts.is_empty());
    assert!(
        out.report
            .warnings
            .iter()
            .any(|w| w.contains("patients.csv: not opened")),
        "{:?}",
        out.report.warnings
    );

    // 64 MiB of zeros in a tar, gzipped (~65 KB): more than the ratio allows.
    let zeros = dir.path().join("zeros");
    std::fs::create_dir_all(&zeros).expect("mkdir");
    std::fs::write(zeros.join("blank.img"), vec![0u8; 64 << 20]).expect("write");
    let bomb = dir.path().join("bomb.tar.gz");
    tar(
        &[
            "-C",
            zeros.to_str().expect("utf-8"),
            "-czf",
            bomb.to_str().expect("utf-8"),
            ".",
        ],
        dir.path(),
    );
    let data = std::fs::read(&bomb).expect("read");
    match scan_bytes("bomb.tar.gz", &data, &opts(), &key) {
        Err(e) => assert!(e.to_string().contains("expands past"), "{e}"),
        Ok(o) => panic!("a bomb was read: {:?}", o.report.warnings),
    }
}
