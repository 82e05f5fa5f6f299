//! Conformance against SigmaHQ's own regression data: every rule that has a sample must fire on it,
//! and at least 98 % of SigmaHQ's rules must load.
//!
//! The SigmaHQ checkout (DRL 1.1, not part of this repository) is found at `$MEDGUARD_SIGMA_DIR` or
//! `../shared/data/sigma` beside the repository. When it is absent the test says so loudly and
//! passes: this is the one skip the project allows (CI has the data).

use medguard_detect::SigmaEngine;
use medguard_detect::engine::{self, BUILTIN_LOGSOURCES, LoadIssue};
use medguard_detect::readers::{self, ReadOptions};
use std::path::{Path, PathBuf};

fn sigma_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("MEDGUARD_SIGMA_DIR") {
        return Some(PathBuf::from(d));
    }
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let d = repo.join("../shared/data/sigma");
    d.is_dir().then_some(d)
}

/// Say loudly that a suite was skipped. Written to the process's stderr directly, not through
/// `eprintln!`, so the test harness does not swallow it for a passing test.
fn skipped(what: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "SKIPPED: {what}");
}

fn yaml_field<'a>(text: &'a str, key: &str) -> Vec<&'a str> {
    text.lines()
        .filter_map(|l| {
            let t = l.trim().trim_start_matches("- ");
            t.strip_prefix(key)
                .and_then(|r| r.strip_prefix(':'))
                .map(|v| v.trim().trim_matches('\'').trim_matches('"'))
        })
        .collect()
}

fn info_files(dir: &Path, out: &mut Vec<PathBuf>) {
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                info_files(&p, out);
            } else if p.file_name().is_some_and(|n| n == "info.yml") {
                out.push(p);
            }
        }
    }
}

#[test]
fn sigmahq_regression_suite() {
    let Some(dir) = sigma_dir() else {
        skipped(
            "SigmaHQ conformance suite: no ../shared/data/sigma beside the repository and no \
             MEDGUARD_SIGMA_DIR; nothing was checked",
        );
        return;
    };
    let mut issues: Vec<LoadIssue> = Vec::new();
    let mut sources = Vec::new();
    for sub in ["rules", "rules-emerging-threats", "rules-threat-hunting"] {
        sources.extend(engine::rule_sources(&dir.join(sub), &mut issues));
    }
    assert!(
        sources.len() > 1000,
        "only {} rule files found",
        sources.len()
    );
    let pipeline = engine::parse_mapping("logsources.yml", BUILTIN_LOGSOURCES).expect("mapping");
    let (engine, report) = SigmaEngine::load(&sources, vec![pipeline]);
    let pct = report.loaded_percent();
    eprintln!(
        "SigmaHQ rules: {} files, {} loaded, {} not loaded ({pct:.2} % loaded)",
        report.files, report.rules, report.failed
    );
    for i in report.issues.iter().take(30) {
        eprintln!("  not loaded: {} {:?}: {}", i.file, i.rule, i.reason);
    }
    assert!(issues.is_empty(), "unreadable rule files: {issues:?}");
    assert!(pct >= 98.0, "only {pct:.2} % of SigmaHQ rules load");

    let mut infos = Vec::new();
    info_files(&dir.join("regression_data"), &mut infos);
    infos.sort();
    assert!(!infos.is_empty(), "no regression data found");
    let opts = ReadOptions::default();
    let mut failures = Vec::new();
    let mut exact = 0usize;
    for info in &infos {
        let text = std::fs::read_to_string(info).expect("info.yml");
        // rule_metadata: - id: <rule id>
        let ids = yaml_field(&text, "id");
        let Some(rule_id) = ids.get(1).copied() else {
            failures.push(format!("{}: no rule id", info.display()));
            continue;
        };
        let expected: usize = yaml_field(&text, "match_count")
            .first()
            .and_then(|v| v.parse().ok())
            .unwrap_or(1);
        for rel in yaml_field(&text, "path") {
            let evtx = dir.join(
                rel.trim_start_matches("regression_data/")
                    .replace('\\', "/"),
            );
            let evtx = if evtx.exists() {
                evtx
            } else {
                dir.join("regression_data")
                    .join(rel.trim_start_matches("regression_data/"))
            };
            let mut count = 0usize;
            let res = readers::read_file(&evtx, &opts, &mut |ev| {
                count += engine_hits(&engine, &ev, rule_id);
            });
            match res {
                Ok(_) if count >= 1 => {
                    if count == expected {
                        exact += 1;
                    }
                }
                Ok(r) => failures.push(format!(
                    "{rule_id} did not fire on {} ({} events read, {} errors)",
                    evtx.display(),
                    r.events,
                    r.error_count
                )),
                Err(e) => failures.push(format!("{}: {e}", evtx.display())),
            }
        }
    }
    eprintln!(
        "SigmaHQ regression data: {} samples, {} failing, {exact} with exactly the expected match count",
        infos.len(),
        failures.len()
    );
    for f in &failures {
        eprintln!("  FAIL {f}");
    }
    assert!(
        failures.is_empty(),
        "{} regression samples failed",
        failures.len()
    );
}

/// How many detections of `rule_id` the engine reports for one event (stateless detection only:
/// SigmaHQ ships no correlation rules).
fn engine_hits(engine: &SigmaEngine, ev: &medguard_detect::LogEvent, rule_id: &str) -> usize {
    engine
        .detect_hits(ev)
        .into_iter()
        .filter(|h| h.rule_key == rule_id)
        .count()
}

fn evtx_samples_dir() -> Option<PathBuf> {
    let d = sigma_dir()?.join("../evtx-samples/samples");
    d.is_dir().then_some(d)
}

/// The evtx crate's samples, several deliberately damaged: every file reads without panicking, the
/// damaged ones report what was skipped and still yield the readable records; truncating or
/// corrupting a good file in memory does the same.
#[test]
fn damaged_evtx_samples() {
    let Some(dir) = evtx_samples_dir() else {
        skipped("EVTX samples: no ../shared/data/evtx-samples beside the repository");
        return;
    };
    let opts = ReadOptions::default();
    let mut total = 0u64;
    for entry in std::fs::read_dir(&dir).expect("samples") {
        let path = entry.expect("entry").path();
        let mut n = 0u64;
        let res = readers::read_file(&path, &opts, &mut |_| n += 1);
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("")
            .to_string();
        match res {
            Ok(r) => {
                assert_eq!(r.events, n);
                total += n;
                if name.contains("bad_chunk_magic") {
                    assert!(r.error_count >= 1, "{name}: the bad chunk must be reported");
                    assert!(n > 0, "{name}: the good chunks must still be read");
                }
                if name.contains("bad_string_cache")
                    || name.contains("zero-data-size")
                    || name.contains("no_crc32")
                {
                    assert!(n > 0, "{name}: readable records must still be read ({r:?})");
                }
            }
            Err(e) => panic!("{name}: whole file refused: {e}"),
        }
    }
    assert!(total > 1000, "only {total} events read from the samples");

    let good = std::fs::read(dir.join("security.evtx")).expect("security.evtx");
    let whole = count_bytes(good.clone()).0;
    let (half, _) = count_bytes(good[..good.len() / 2].to_vec());
    assert!(half > 0 && half < whole, "truncated: {half} of {whole}");
    let mut corrupt = good.clone();
    for i in (70_000..corrupt.len()).step_by(4099) {
        corrupt[i] ^= 0x5a;
    }
    let (some, errors) = count_bytes(corrupt);
    assert!(some > 0);
    assert!(errors > 0, "corruption must be reported");
}

fn count_bytes(data: Vec<u8>) -> (u64, u64) {
    let mut n = 0u64;
    let r = readers::evtx::read_bytes(data, Path::new("mem.evtx"), &mut |_| n += 1)
        .expect("header is intact");
    (n, r.error_count)
}
