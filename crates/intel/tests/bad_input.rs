//! Bad input: truncated and malformed feeds, wrong formats, absurd versions and hostile SBOMs give a
//! clear error, import nothing, and leave the previous knowledge base usable.

use medguard_intel::{IntelError, MatchOptions, import_file, match_store, sbom};
use medguard_store::{IntelStore, SqliteStore};
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).expect("write");
    p
}

#[test]
fn truncated_or_malformed_feeds_import_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = SqliteStore::in_memory().expect("store");
    import_file(
        &mut store,
        &fixture("known_exploited_vulnerabilities.json"),
        None,
    )
    .expect("kev");
    import_file(&mut store, &fixture("epss_scores-2025-03-20.csv.gz"), None).expect("epss");
    let before = store.intel_counts().expect("counts");

    let page = std::fs::read(fixture("nvd-api-page.json")).expect("read");
    // Cut in the middle of the third record: the first two parsed, but nothing may be stored.
    let cut = page.len() * 9 / 10;
    let p = write(dir.path(), "truncated.json", &page[..cut]);
    let e = import_file(&mut store, &p, None).expect_err("truncated");
    assert!(matches!(e, IntelError::Json { .. }), "{e:?}");
    assert_eq!(store.intel_counts().expect("counts").cves, 0);

    // A KEV whose count disagrees with its list: rejected, the old catalog stays.
    let kev =
        std::fs::read_to_string(fixture("known_exploited_vulnerabilities.json")).expect("kev");
    let p = write(
        dir.path(),
        "kev.json",
        kev.replace("\"count\": 2", "\"count\": 3").as_bytes(),
    );
    assert!(import_file(&mut store, &p, None).is_err());
    // An EPSS file with a bad row at the end: the clear-and-reload is rolled back.
    let p = write(
        dir.path(),
        "epss.csv",
        b"#model_version:v2025.03.14,score_date:2025-03-21T00:00:00+0000\ncve,epss,percentile\nCVE-2021-44228,0.5,0.5\nCVE-2021-44228,NaN,0.5\n",
    );
    assert!(import_file(&mut store, &p, None).is_err());
    assert_eq!(store.intel_counts().expect("counts"), before);
    assert_eq!(
        store.epss("CVE-2021-44228").expect("q").map(|e| e.score),
        Some(0.94358)
    );

    // Wrong formats are named as such.
    let p = write(dir.path(), "page.html", b"<html><body>404</body></html>");
    assert!(matches!(
        import_file(&mut store, &p, None),
        Err(IntelError::UnknownFormat { .. })
    ));
    let p = write(dir.path(), "empty.json", b"");
    assert!(import_file(&mut store, &p, None).is_err());
    // A gzip stream cut short.
    let gz = std::fs::read(fixture("nvdcve-2.0-2024.json.gz")).expect("gz");
    let p = write(dir.path(), "cut.json.gz", &gz[..gz.len() / 2]);
    assert!(import_file(&mut store, &p, None).is_err());
    assert_eq!(store.intel_counts().expect("counts"), before);
    // Wrong checksum: rejected before commit.
    let e = import_file(
        &mut store,
        &fixture("nvdcve-2.0-2024.json.gz"),
        Some(&"0".repeat(64)),
    )
    .expect_err("sha");
    assert!(matches!(e, IntelError::Integrity { .. }), "{e:?}");
    assert_eq!(store.intel_counts().expect("counts").cves, 0);
}

#[test]
fn absurd_versions_and_hostile_sboms() {
    // Absurd versions never panic and never match by accident.
    let mut store = SqliteStore::in_memory().expect("store");
    import_file(&mut store, &fixture("nvd-api-page.json"), None).expect("nvd");
    let absurd = [
        "9".repeat(10_000),
        "..-_~".into(),
        "\u{1F600}".repeat(100),
        "2.14.1".repeat(1000),
        String::new(),
    ];
    for v in &absurd {
        let json = serde_json::json!({
            "bomFormat": "CycloneDX", "specVersion": "1.5",
            "components": [{"type": "library", "name": "log4j-core", "version": v,
                "purl": format!("pkg:maven/org.apache.logging.log4j/log4j-core@{v}")}]
        });
        let s = sbom::parse(json.to_string().as_bytes()).expect("parse");
        store.put_sbom("ip:10.9.9.9", "test", &s).expect("attach");
    }
    let matches = match_store(&store, MatchOptions::default()).expect("match");
    assert!(matches.is_empty(), "{matches:#?}");

    // A huge array is refused with a clear error.
    let mut big = String::from(r#"{"bomFormat":"CycloneDX","specVersion":"1.5","components":["#);
    for i in 0..(sbom::MAX_COMPONENTS + 1) {
        if i > 0 {
            big.push(',');
        }
        big.push_str(r#"{"type":"library","name":"x"}"#);
    }
    big.push_str("]}");
    let e = sbom::parse(big.as_bytes()).expect_err("too many");
    assert!(e.to_string().contains("components"), "{e}");
    // Wrong formats.
    assert!(sbom::parse(b"{\"hello\": 1}").is_err());
    assert!(sbom::parse(b"<html/>").is_err());
    assert!(sbom::parse(b"").is_err());
    assert!(sbom::parse(b"<bom><components><component><name>x</name>").is_err());
}
