//! `medguard phi scan` end to end: JSON records and ordering, masking, `--unmask` never reaching the
//! store, `--min-records`, exit codes, the key file, `phi show`.

use assert_cmd::Command;
use serde_json::Value;
use std::path::Path;

const SSN: &str = "536-22-8726";

fn share(root: &Path) {
    let s = root.join("share");
    std::fs::create_dir_all(s.join("FrontDesk")).expect("mkdir");
    let mut csv = String::from("last_name,first_name,dob,ssn,phone\n");
    csv.push_str(&format!("Smith,John,02/14/1980,{SSN},(415) 867-5309\n"));
    for i in 0..9 {
        csv.push_str(&format!(
            "Garcia,Maria,03/0{}/1975,401-33-90{i}{i},(312) 555-77{i}{i}\n",
            i + 1
        ));
    }
    std::fs::write(s.join("FrontDesk/patients.csv"), csv).expect("csv");
    std::fs::write(s.join("note.txt"), "Patient: Ann Lee\nDOB: 01/02/1990\n").expect("note");
    std::fs::write(s.join("broken.docx"), b"PK\x03\x04garbage").expect("docx");
    std::fs::write(s.join(".hidden.txt"), format!("SSN: {SSN}\n")).expect("hidden");
}

fn lines(out: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect()
}

#[test]
fn json_scan_is_masked_ranked_and_stored_without_values() {
    let dir = tempfile::tempdir().expect("tempdir");
    share(dir.path());
    let db = dir.path().join("data/m.db");
    let out = Command::cargo_bin("medguard")
        .expect("bin")
        .args(["--db"])
        .arg(&db)
        .args(["phi", "scan", "--json", "--unmask"])
        .arg(dir.path().join("share"))
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(3),
        "a broken file means exit 3: {out:?}"
    );
    let recs = lines(&out.stdout);
    let types: Vec<&str> = recs.iter().filter_map(|r| r["type"].as_str()).collect();
    assert_eq!(types.last(), Some(&"phi_summary"));
    assert!(recs.iter().all(|r| r["schema"] == 1));
    let findings: Vec<&Value> = recs.iter().filter(|r| r["type"] == "phi_finding").collect();
    let ssn = findings
        .iter()
        .find(|f| {
            f["kind"] == "ssn"
                && f["value"] == SSN
                && f["path"]
                    .as_str()
                    .is_some_and(|p| p.ends_with("patients.csv"))
        })
        .expect("the SSN with --unmask");
    assert_eq!(ssn["masked"], "***-**-8726");
    assert_eq!(ssn["location"]["field"], "ssn");
    assert_eq!(ssn["hash"].as_str().map(str::len), Some(32));
    assert!(
        findings.iter().any(|f| f["path"]
            .as_str()
            .is_some_and(|p| p.ends_with(".hidden.txt"))),
        "hidden files are scanned"
    );
    let files: Vec<&Value> = recs.iter().filter(|r| r["type"] == "phi_file").collect();
    let risks: Vec<u64> = files.iter().filter_map(|f| f["risk"].as_u64()).collect();
    assert!(
        risks.windows(2).all(|w| w[0] >= w[1]),
        "sorted by risk: {risks:?}"
    );
    assert!(
        files[0]["path"]
            .as_str()
            .is_some_and(|p| p.ends_with("patients.csv"))
    );
    assert_eq!(files[0]["individuals"], 10);
    assert!(files[0]["exposure"]["shared_folder"] == true);
    assert!(
        recs.iter().any(|r| r["type"] == "phi_error"
            && r["problem"] == "unreadable"
            && r["path"]
                .as_str()
                .is_some_and(|p| p.ends_with("broken.docx"))),
        "per-file error reported, with why it matters"
    );
    // The store and its key are private, and hold no raw value even after --unmask.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("data/phi.key"))
            .expect("key created next to the store")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    for name in ["m.db", "m.db-wal"] {
        let bytes = std::fs::read(dir.path().join("data").join(name)).unwrap_or_default();
        assert!(
            !bytes.windows(SSN.len()).any(|w| w == SSN.as_bytes()),
            "{name} holds a raw SSN"
        );
        assert!(
            !bytes.windows(8).any(|w| w == b"John Smi"),
            "{name} holds a raw name"
        );
    }
    // `phi show` reads the stored, masked results.
    let show = Command::cargo_bin("medguard")
        .expect("bin")
        .args(["--db"])
        .arg(&db)
        .args(["phi", "show", "--json", "--findings"])
        .output()
        .expect("run");
    assert!(show.status.success());
    let stored = lines(&show.stdout);
    assert!(stored.iter().any(|r| r["type"] == "phi_file"));
    assert!(stored.iter().any(|r| r["masked"] == "***-**-8726"));
    assert!(stored.iter().all(|r| r.get("value").is_none()));
    // ... and what it could not check.
    assert!(
        stored.iter().any(|r| r["type"] == "phi_problem"
            && r["problem"] == "unreadable"
            && r["path"]
                .as_str()
                .is_some_and(|p| p.ends_with("broken.docx"))),
        "{stored:?}"
    );
}

#[test]
fn human_output_min_records_and_fail_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    share(dir.path());
    let db = dir.path().join("m.db");
    let out = Command::cargo_bin("medguard")
        .expect("bin")
        .args(["--db"])
        .arg(&db)
        .args(["phi", "scan", "--min-records", "5", "--fail-on", "high"])
        .arg(dir.path().join("share"))
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(4),
        "high-risk file with --fail-on high: {out:?}"
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("10 patients with SSN"), "{text}");
    assert!(text.contains("Fix:"), "{text}");
    assert!(text.contains("***-**-8726"), "{text}");
    assert!(!text.contains(SSN), "masked by default: {text}");
    assert!(
        !text.contains("note.txt"),
        "--min-records 5 hides the one-patient note: {text}"
    );
    // The last line says what could not be checked, and why.
    assert!(
        text.contains("1 file or part of a file could not be checked (unreadable 1)"),
        "{text}"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("broken.docx") && err.contains("failed to"),
        "{err}"
    );
}

/// `phi where`: values from standard input, hashed with the scans' key, found in the stored
/// findings whatever way they are written; the value is never echoed back.
#[test]
fn where_finds_the_files_holding_a_value() {
    let dir = tempfile::tempdir().expect("tempdir");
    share(dir.path());
    let db = dir.path().join("data/m.db");
    let medguard = |args: &[&str], stdin: &str| {
        Command::cargo_bin("medguard")
            .expect("bin")
            .args(["--db"])
            .arg(&db)
            .args(args)
            .write_stdin(stdin)
            .output()
            .expect("run")
    };
    // Before any scan there is no key: a clear error, not an empty answer.
    let out = medguard(&["phi", "where", "ssn"], SSN);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("no hashing key"));

    let share_dir = dir.path().join("share");
    let out = Command::cargo_bin("medguard")
        .expect("bin")
        .args(["--db"])
        .arg(&db)
        .args(["phi", "scan"])
        .arg(&share_dir)
        .output()
        .expect("scan");
    assert_eq!(out.status.code(), Some(3), "{out:?}");

    // The SSN as a patient would give it (no dashes), one unknown SSN, a blank line.
    let out = medguard(
        &["--json", "phi", "where", "SSN"],
        "536228726\n\n123-45-6780\n",
    );
    assert!(out.status.success(), "{out:?}");
    let recs = lines(&out.stdout);
    assert_eq!(recs.len(), 2, "{recs:?}");
    assert!(
        recs.iter()
            .all(|r| r["type"] == "phi_where" && r["kind"] == "ssn")
    );
    let files = |r: &Value| -> Vec<String> {
        r["files"]
            .as_array()
            .expect("files")
            .iter()
            .filter_map(|f| f.as_str().map(str::to_string))
            .collect()
    };
    let held = files(&recs[0]);
    assert_eq!(held.len(), 2, "the CSV and the hidden note: {held:?}");
    assert!(held.iter().any(|f| f.ends_with("patients.csv")));
    assert!(held.iter().any(|f| f.ends_with(".hidden.txt")));
    assert_eq!(recs[0]["masked"], "***-**-8726");
    assert!(files(&recs[1]).is_empty());
    assert!(!String::from_utf8_lossy(&out.stdout).contains("536228726"));

    // Names match however they are written ("Ann Lee" in the note); a name split over columns
    // is found by its parts ("Smith" in last_name). The human listing names the files.
    let out = medguard(&["phi", "where", "name"], "LEE, ANN\nsmith\n");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    let answers: Vec<&str> = text.lines().filter(|l| !l.starts_with(' ')).collect();
    assert_eq!(
        answers,
        ["L** A**: in 1 stored file", "s****: in 1 stored file"],
        "{text}"
    );
    assert!(
        text.contains("note.txt") && text.contains("patients.csv"),
        "{text}"
    );
    assert!(!text.to_ascii_lowercase().contains("smith"), "{text}");

    let out = medguard(&["phi", "where", "shoe-size"], "9\n");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}
