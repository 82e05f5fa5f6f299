//! The intel commands end to end: `intel import|status`, `sbom import|mds2|list`, `vulns`, with the
//! intel crate's real-record fixtures.

use assert_cmd::Command;
use std::path::PathBuf;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../intel/tests/fixtures")
        .join(name)
}

fn medguard(db: &std::path::Path) -> Command {
    let mut c = Command::cargo_bin("medguard").expect("binary");
    c.env("MEDGUARD_DB", db);
    c
}

fn lines(out: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect()
}

#[test]
fn import_attach_and_list_vulnerabilities() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("m.db");
    let bad = dir.path().join("notes.txt");
    std::fs::write(&bad, "not a feed").expect("write");
    // One bad file among good ones: the others load, exit code 3.
    let out = medguard(&db)
        .args(["--json", "intel", "import"])
        .arg(fixture("nvd-api-page.json"))
        .arg(fixture("known_exploited_vulnerabilities.json"))
        .arg(&bad)
        .arg(fixture("epss_scores-2025-03-20.csv.gz"))
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let recs = lines(&out.stdout);
    let kinds: Vec<&str> = recs.iter().filter_map(|r| r["type"].as_str()).collect();
    assert_eq!(
        kinds,
        [
            "intel_import",
            "intel_import",
            "intel_error",
            "intel_import"
        ]
    );
    assert!(
        recs[2]["error"]
            .as_str()
            .unwrap_or_default()
            .contains("recognise")
    );

    let out = medguard(&db)
        .args(["--json", "intel", "status"])
        .output()
        .expect("run");
    assert!(out.status.success());
    let recs = lines(&out.stdout);
    let counts = recs.last().expect("counts");
    assert_eq!(counts["type"], "intel_counts");
    assert_eq!(counts["cves"], 3);
    assert_eq!(counts["kev"], 2);

    medguard(&db)
        .args(["sbom", "import"])
        .arg(fixture("pump-gateway.spdx"))
        .args(["--asset", "10.1.0.23"])
        .assert()
        .success()
        .stdout(predicates::str::contains("spdx-tag-value"));
    let mds2 = dir.path().join("mds2.toml");
    std::fs::write(
        &mds2,
        "manufacturer = \"Contec Health\"\nmodel = \"CMS8000\"\nversion = \"2020\"\n[answers]\n\"AUTH-1\" = \"no\"\n\"MLDP-2\" = \"no\"\n",
    )
    .expect("write");
    medguard(&db)
        .args(["sbom", "mds2"])
        .arg(&mds2)
        .args(["--asset", "10.1.0.24"])
        .assert()
        .success();
    medguard(&db)
        .args(["sbom", "list"])
        .assert()
        .success()
        .stdout(predicates::str::contains("MDS2 Contec Health CMS8000"));

    let out = medguard(&db)
        .args(["--json", "vulns", "--fail-on", "critical"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(4), "a KEV match is critical");
    let recs = lines(&out.stdout);
    assert_eq!(recs[0]["id"], "CVE-2021-44228", "KEV first");
    assert_eq!(recs[0]["kev"], true);
    assert_eq!(recs[0]["ip"], "10.1.0.23");
    assert_eq!(recs[1]["id"], "CVE-2024-6387");
    assert_eq!(recs.last().expect("summary")["type"], "summary");

    let out = medguard(&db)
        .args(["--json", "vulns", "--kev-only"])
        .output()
        .expect("run");
    assert!(out.status.success());
    assert_eq!(lines(&out.stdout).len(), 2, "one KEV match and the summary");

    medguard(&db)
        .arg("vulns")
        .assert()
        .success()
        .stdout(predicates::str::contains("being used in real attacks now"))
        .stdout(predicates::str::contains(
            "Fix: Update log4j-core to version 2.15.0 or later",
        ));
}

#[test]
fn bad_sbom_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("m.db");
    let bad = dir.path().join("bom.json");
    std::fs::write(
        &bad,
        "{\"bomFormat\":\"CycloneDX\",\"specVersion\":\"1.5\",\"components\":[{",
    )
    .expect("write");
    medguard(&db)
        .args(["sbom", "import"])
        .arg(&bad)
        .args(["--asset", "10.1.0.23"])
        .assert()
        .code(1)
        .stderr(predicates::str::contains("failed to read the SBOM"));
}
