//! End to end: scan the simulated practice on loopback, scan a PHI fixture, import answers, then
//! produce the register, the plan and every risk report; plus the piped-stdin questionnaire, bad
//! answers files and breach decision support.

use assert_cmd::Command;
use std::path::Path;

fn medguard(db: &Path) -> Command {
    let mut c = Command::cargo_bin("medguard").expect("binary");
    c.arg("--db").arg(db).env("NO_COLOR", "1");
    c
}

const SSN: &str = "536-22-8726";

#[test]
fn scan_phi_answers_register_plan_and_every_report() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("medguard.db");
    // 1. The simulated practice (real protocol simulators on 127.88.61.0/24 loopback).
    medguard(&db)
        .args(["-q", "demo", "--net", "127.88.61", "--report"])
        .arg(dir.path().join("demo.html"))
        .assert()
        .success();
    // 2. A PHI fixture in a shared folder.
    let share = dir.path().join("share");
    std::fs::create_dir_all(&share).expect("mkdir");
    let mut csv = String::from("patient_name,date_of_birth,ssn,diagnosis\n");
    for i in 0..12 {
        csv.push_str(&format!("Pat Person{i},1970-01-{:02},{SSN},E11.9\n", i + 1));
    }
    std::fs::write(share.join("patients.csv"), csv).expect("fixture");
    medguard(&db)
        .args(["-q", "phi", "scan"])
        .arg(&share)
        .assert()
        .code(predicates::ord::lt(4));
    // 3. Answers from a file (stdin closed: nothing is asked).
    let answers = dir.path().join("answers.toml");
    std::fs::write(
        &answers,
        "[practice]\npractice-name = \"Smile Dental\"\nsecurity-official = \"Dana Lee\"\npatients = 4200\n\n[answers]\nscope-laptops = \"yes\"\nmfa-email = \"no\"\nbackup-offline = { answer = \"dont-know\", note = \"ask the IT provider\" }\ndisk-encryption = \"yes\"\n",
    )
    .expect("answers");
    let out = medguard(&db)
        .args(["--json", "assess", "--answers"])
        .arg(&answers)
        .write_stdin("")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let line: serde_json::Value =
        serde_json::from_slice(out.split(|b| *b == b'\n').next().expect("line")).expect("json");
    assert_eq!(line["type"], "assessment");
    assert_eq!(line["practice"], "Smile Dental");
    assert!(line["unanswered"].as_u64().expect("count") > 0);

    // 4. The register: evidence from the scan and the PHI scan is in it.
    let out = medguard(&db)
        .args(["--json", "risk"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let rows: Vec<serde_json::Value> = String::from_utf8_lossy(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    let risks: Vec<&serde_json::Value> = rows.iter().filter(|r| r["type"] == "risk").collect();
    assert!(risks.len() > 10);
    assert!(
        risks
            .iter()
            .any(|r| r["id"] == "medical-devices/medical-device-attack"),
        "imaging devices from the scan make a medical-device scenario"
    );
    assert!(
        risks.iter().any(|r| r["vulnerabilities"]
            .as_array()
            .is_some_and(|v| v.iter().any(|x| x
                .as_str()
                .is_some_and(|s| s.contains("patient data in unprotected"))))),
        "the shared PHI file raises a scenario"
    );

    // 5. The plan, as CSV; accept one risk, which needs owner, reason and review date.
    let out = medguard(&db)
        .args(["plan", "--csv"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let csv = String::from_utf8_lossy(&out);
    assert!(csv.starts_with("rank,id,title,risk"));
    assert!(csv.contains("finding:smbv1-enabled"), "{csv}");
    medguard(&db)
        .args([
            "plan",
            "update",
            "control:C07",
            "--status",
            "accepted",
            "--owner",
            "Dana Lee",
        ])
        .assert()
        .failure()
        .stderr(predicates::str::contains("reason is required"));
    medguard(&db)
        .args([
            "plan",
            "update",
            "control:C07",
            "--status",
            "accepted",
            "--owner",
            "Dana Lee",
            "--reason",
            "MFA rollout after the EHR upgrade",
            "--review-by",
            "2099-01-31",
        ])
        .assert()
        .success();
    medguard(&db)
        .args(["plan"])
        .assert()
        .success()
        .stdout(predicates::str::contains("(accepted)"));

    // 6. Every report kind, HTML and PDF, without unmasked patient data; OSCAL export.
    for kind in [
        "risk-analysis",
        "executive",
        "insurer",
        "hicp",
        "nprm-readiness",
    ] {
        let html = dir.path().join(format!("{kind}.html"));
        let pdf = dir.path().join(format!("{kind}.pdf"));
        medguard(&db)
            .args(["-q", "report", "--kind", kind, "--html"])
            .arg(&html)
            .arg("--pdf")
            .arg(&pdf)
            .assert()
            .success();
        let h = std::fs::read_to_string(&html).expect("html");
        assert!(h.contains("Smile Dental"));
        assert!(!h.contains(SSN), "{kind} shows an SSN");
        let p = std::fs::read(&pdf).expect("pdf");
        assert!(p.starts_with(b"%PDF-1.4"));
        assert!(!String::from_utf8_lossy(&p).contains(SSN));
    }
    let main = dir.path().join("main.html");
    medguard(&db)
        .args(["-q", "report", "--html"])
        .arg(&main)
        .assert()
        .success();
    assert!(
        std::fs::read_to_string(&main)
            .expect("main")
            .contains("HIPAA risk analysis")
    );
    let oscal = dir.path().join("oscal.json");
    medguard(&db)
        .args(["-q", "risk", "--oscal"])
        .arg(&oscal)
        .assert()
        .success();
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&oscal).expect("oscal")).expect("json");
    assert!(
        doc["assessment-results"]["results"][0]["findings"]
            .as_array()
            .is_some_and(|f| f.len() == 30)
    );
}

#[test]
fn questionnaire_from_piped_stdin_is_resumable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("medguard.db");
    // First session: practice facts, then quit.
    medguard(&db)
        .arg("assess")
        .write_stdin("Valley Family Medicine\nSam Ortiz\n800\n6\nq\n")
        .assert()
        .success()
        .stderr(predicates::str::contains("Saved 4 answer(s)"));
    // No assessment was finished yet.
    medguard(&db)
        .arg("risk")
        .assert()
        .failure()
        .stderr(predicates::str::contains("medguard assess"));
    // Second session resumes with the scope questions, not the practice name; a bad reply is
    // asked again; input ends part-way and is saved.
    medguard(&db)
        .arg("assess")
        .write_stdin("maybe\nn\nn\nn\nn\nn\n")
        .assert()
        .success()
        .stderr(predicates::str::contains("Please answer y, n or ?"))
        .stderr(predicates::str::contains("What is the practice called?").not());
    // Finish with what is known: the rest count as gaps.
    medguard(&db)
        .args(["assess", "--finish"])
        .write_stdin("")
        .assert()
        .success()
        .stdout(predicates::str::contains("Valley Family Medicine"));
    medguard(&db)
        .args(["risk", "-v"])
        .assert()
        .success()
        .stdout(predicates::str::contains("Ransomware"))
        .stdout(predicates::str::contains(
            "estimated from the practice's patient count",
        ));
}

#[test]
fn bad_answers_point_to_the_line_and_store_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("medguard.db");
    let answers = dir.path().join("answers.toml");
    std::fs::write(
        &answers,
        "[answers]\nmfa-email = \"no\"\nmfa-emial = \"yes\"\n",
    )
    .expect("write");
    medguard(&db)
        .args(["assess", "--answers"])
        .arg(&answers)
        .write_stdin("")
        .assert()
        .code(1)
        .stderr(predicates::str::contains("answers.toml:3:1"))
        .stderr(predicates::str::contains("unknown question \"mfa-emial\""));
    // Nothing half-written: the next session still starts from the first question.
    medguard(&db)
        .arg("assess")
        .write_stdin("q\n")
        .assert()
        .success()
        .stderr(predicates::str::contains("Saved 0 answer(s)"));
}

#[test]
fn incident_decision_support_and_record() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("medguard.db");
    let inc = dir.path().join("incident.toml");
    std::fs::write(
        &inc,
        "title = \"Laptop stolen from a car\"\ndiscovered = 2026-03-02\nphi_involved = true\nsecured = false\n[factors]\nnature-extent = \"high\"\nrecipient = \"high\"\nacquired-viewed = \"unknown\"\nmitigation = \"high\"\n[affected]\nTX = 620\n",
    )
    .expect("write");
    let out = medguard(&db)
        .args(["--json", "incident", "assess"])
        .arg(&inc)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).expect("json");
    assert_eq!(v["conclusion"], "breach");
    let ids: Vec<&str> = v["notices"]
        .as_array()
        .expect("notices")
        .iter()
        .filter_map(|n| n["id"].as_str())
        .collect();
    assert_eq!(ids, vec!["hhs-immediate", "individuals", "media"]);
    assert_eq!(v["notices"][0]["deadline"], "2026-05-01");
    medguard(&db)
        .args(["incident", "list"])
        .assert()
        .success()
        .stdout(predicates::str::contains("breach"))
        .stdout(predicates::str::contains("Laptop stolen"));
    std::fs::write(
        &inc,
        "title = \"x\"\ndiscovered = 2026-13-40\nphi_involved = true\n",
    )
    .expect("write");
    medguard(&db)
        .args(["incident", "assess"])
        .arg(&inc)
        .assert()
        .code(1)
        .stderr(predicates::str::contains("incident.toml:2"));
}

use predicates::prelude::PredicateBooleanExt;
