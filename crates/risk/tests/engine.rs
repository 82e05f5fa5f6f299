//! Scoring properties (monotonic, deterministic), the golden register for a fixed practice, and
//! "never panics" properties of the answers and incident parsers.

use chrono::{DateTime, TimeZone, Utc};
use medguard_model::risk::{Answer, AnswerValue, AssessmentSnapshot};
use medguard_model::{Category, Severity};
use medguard_risk::Catalog;
use medguard_risk::engine::{Inputs, assess};
use medguard_risk::evidence::{AssetFact, Facts, FindingFact, PhiFact, VulnFact};
use proptest::prelude::*;
use std::collections::BTreeMap;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 28, 12, 0, 0)
        .single()
        .expect("time")
}

const FINDINGS: [&str; 8] = [
    "telnet-enabled",
    "smbv1-enabled",
    "rdp-no-nla",
    "dicom-unencrypted",
    "hl7-unauthenticated",
    "ftp-anonymous",
    "bacnet-unauthenticated",
    "weak-thing",
];

fn finding(id: &str, sev: Severity) -> FindingFact {
    FindingFact {
        id: id.into(),
        severity: sev,
        title: format!("{id} title"),
        fix: format!("fix {id}"),
    }
}

fn asset(n: usize, cat: Category, findings: Vec<FindingFact>) -> AssetFact {
    AssetFact {
        identity: format!("ip:10.0.0.{n}"),
        name: format!("device-{n}"),
        category: cat,
        last_seen: t0(),
        open_ports: vec![],
        findings,
    }
}

fn answer(q: &str, v: AnswerValue) -> Answer {
    Answer {
        question: q.into(),
        value: v,
        note: None,
        answered_at: t0(),
        via: "test".into(),
    }
}

fn profile(q: &str, text: &str) -> Answer {
    Answer {
        note: Some(text.into()),
        ..answer(q, AnswerValue::Yes)
    }
}

fn run(cat: &Catalog, facts: &Facts, answers: &[Answer]) -> AssessmentSnapshot {
    assess(&Inputs {
        catalog: cat,
        facts,
        answers,
        tracking: &[],
        id: 1,
        assessed_at: t0(),
    })
}

/// A small dental practice: scanned, some weaknesses, part of the questionnaire answered.
fn practice() -> (Facts, Vec<Answer>) {
    let mut facts = Facts::empty(t0());
    facts.last_scan = Some(t0());
    facts.scans = 2;
    facts.sources = vec!["inventory".into(), "intel".into(), "phi".into()];
    facts.assets = vec![
        asset(
            2,
            Category::Imaging,
            vec![finding("dicom-unencrypted", Severity::Medium)],
        ),
        asset(
            3,
            Category::Storage,
            vec![finding("smbv1-enabled", Severity::High)],
        ),
        asset(4, Category::Workstation, vec![]),
        asset(
            5,
            Category::Network,
            vec![finding("telnet-enabled", Severity::High)],
        ),
    ];
    facts.vulns = vec![VulnFact {
        asset: "ip:10.0.0.5".into(),
        id: "CVE-2024-0001".into(),
        severity: Severity::Critical,
        kev: true,
        observed_at: t0(),
    }];
    facts.last_phi_scan = Some(t0());
    facts.phi = vec![PhiFact {
        location: "\\\\nas\\scans".into(),
        asset: Some("ip:10.0.0.3".into()),
        group: None,
        records: 1200,
        unprotected: true,
        observed_at: t0(),
    }];
    let answers = vec![
        profile("practice-name", "Smile Dental"),
        profile("security-official", "Dana Lee"),
        profile("patients", "4200"),
        profile("staff", "9"),
        answer("scope-laptops", AnswerValue::Yes),
        answer("scope-remote", AnswerValue::Yes),
        answer("scope-building", AnswerValue::No),
        answer("mfa-email", AnswerValue::No),
        answer("mfa-remote", AnswerValue::Partly),
        answer("mfa-admin", AnswerValue::Yes),
        answer("backup-daily", AnswerValue::Yes),
        answer("backup-offline", AnswerValue::DontKnow),
        answer("backup-restore-tested", AnswerValue::No),
        answer("disk-encryption", AnswerValue::Yes),
        answer("usb-encryption", AnswerValue::NotApplicable),
        answer("training-yearly", AnswerValue::Yes),
        answer("phishing-simulation", AnswerValue::No),
        answer("edr-all", AnswerValue::Yes),
        answer("baa-all", AnswerValue::Yes),
        answer("vendor-verification", AnswerValue::No),
    ];
    (facts, answers)
}

/// The same JSON with every object's keys in sorted order.
fn sorted_keys(v: serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Object(map) => {
            let mut entries: Vec<(String, serde_json::Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            serde_json::Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, sorted_keys(v)))
                    .collect(),
            )
        }
        serde_json::Value::Array(items) => {
            serde_json::Value::Array(items.into_iter().map(sorted_keys).collect())
        }
        other => other,
    }
}

#[test]
fn golden_register_and_plan_for_a_fixed_practice() {
    let cat = Catalog::embedded().expect("catalog");
    let (facts, answers) = practice();
    let snap = run(&cat, &facts, &answers);
    // Keys sorted at every level: `json!`/`to_value` keep insertion order when another crate of the
    // workspace turns on serde_json's `preserve_order`, and sort them otherwise; both must give one text.
    let got = serde_json::to_string_pretty(&sorted_keys(serde_json::json!({
        "controls": snap.controls.iter().map(|c| (c.id.clone(), c.state.as_str(), format!("{:.2}", c.confidence))).collect::<Vec<_>>(),
        "plan": snap.plan,
        "register": snap.register,
        "totals": snap.totals,
    })))
    .expect("json")
        + "\n";
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/register.json");
    // The whole snapshot is also the fixed input of the report crate's golden reports.
    let full = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/snapshot.json");
    let full_json = serde_json::to_string_pretty(&snap).expect("json") + "\n";
    if std::env::var_os("MEDGUARD_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().expect("dir")).expect("mkdir");
        std::fs::write(&path, &got).expect("write golden");
        std::fs::write(&full, &full_json).expect("write snapshot");
    }
    let want_full = std::fs::read_to_string(&full).expect("snapshot golden missing");
    let back: AssessmentSnapshot = serde_json::from_str(&want_full).expect("snapshot parses");
    assert!(
        back == snap,
        "snapshot differs from {}; re-bless with MEDGUARD_BLESS=1",
        full.display()
    );
    let want = std::fs::read_to_string(&path)
        .expect("golden file missing: run with MEDGUARD_BLESS=1 to create it");
    if got != want {
        let first = got
            .lines()
            .zip(want.lines())
            .enumerate()
            .find(|(_, (g, w))| g != w)
            .map(|(i, (g, w))| format!("line {}: got {g:?}, want {w:?}", i + 1))
            .unwrap_or_else(|| "one is a prefix of the other".to_string());
        panic!(
            "register differs from {} ({first}); review and re-bless with MEDGUARD_BLESS=1",
            path.display()
        );
    }
}

#[test]
fn fixed_practice_reads_sensibly() {
    let cat = Catalog::embedded().expect("catalog");
    let (facts, answers) = practice();
    let snap = run(&cat, &facts, &answers);
    let state = |id: &str| {
        snap.controls
            .iter()
            .find(|c| c.id == id)
            .map(|c| c.state)
            .expect("control")
    };
    use medguard_model::risk::{ControlState::*, Level};
    // Evidence decides: telnet/SMBv1 found -> secure configuration not in place; KEV -> patching.
    assert_eq!(state("C16"), NotImplemented);
    assert_eq!(state("C05"), NotImplemented);
    assert_eq!(state("C30"), NotImplemented);
    // A fresh scan answers the inventory control.
    assert_eq!(state("C01"), Implemented);
    // Answers: MFA no -> gap; don't know -> unknown.
    assert_eq!(state("C07"), NotImplemented);
    assert_eq!(state("C20"), NotImplemented);
    // Building systems: the practice said none.
    assert!(snap.register.iter().all(|s| s.group != "building-systems"));
    // Imaging was found by the scan, so the medical-device scenario exists.
    assert!(
        snap.register
            .iter()
            .any(|s| s.id == "medical-devices/medical-device-attack")
    );
    // The KEV comes first in the plan, with the proposed rule's 15-day window.
    let first = &snap.plan[0];
    assert_eq!(first.id, "kev:CVE-2024-0001");
    assert_eq!(
        first.due,
        chrono::NaiveDate::from_ymd_opt(2026, 12, 13).expect("date")
    );
    assert_eq!(first.owner, "Dana Lee");
    // Ransomware on the file server with SMBv1 and 1200 records exposed is at least high.
    let rw = snap
        .register
        .iter()
        .find(|s| s.id == "file-server/ransomware")
        .expect("scenario");
    assert!(rw.residual_risk >= Level::High, "{rw:?}");
    assert!(
        rw.rationale.contains("2100") && rw.rationale.contains("found 1200"),
        "{}",
        rw.rationale
    );
    for s in &snap.register {
        assert!(s.residual_risk <= s.inherent_risk, "{s:?}");
        assert!(!s.rationale.is_empty());
    }
}

fn arb_answers(cat: &Catalog) -> impl Strategy<Value = Vec<Answer>> {
    let ids: Vec<String> = cat
        .questions
        .iter()
        .map(|q| q.id.clone())
        .chain(cat.scope.iter().map(|s| s.id.clone()))
        .collect();
    proptest::collection::vec((0..ids.len(), 0..AnswerValue::ALL.len()), 0..40).prop_map(
        move |picks| {
            let mut seen = BTreeMap::new();
            for (q, v) in picks {
                seen.insert(ids[q].clone(), AnswerValue::ALL[v]);
            }
            seen.into_iter().map(|(q, v)| answer(&q, v)).collect()
        },
    )
}

fn arb_facts() -> impl Strategy<Value = Facts> {
    let sev = prop_oneof![
        Just(Severity::Low),
        Just(Severity::Medium),
        Just(Severity::High),
        Just(Severity::Critical)
    ];
    let f = (0..FINDINGS.len(), sev).prop_map(|(i, s)| finding(FINDINGS[i], s));
    let a = (0..Category::ALL.len(), proptest::collection::vec(f, 0..3));
    (
        proptest::collection::vec(a, 0..6),
        any::<bool>(),
        0u64..20_000,
        any::<bool>(),
    )
        .prop_map(|(assets, scanned, records, unprotected)| {
            let mut facts = Facts::empty(t0());
            if scanned {
                facts.last_scan = Some(t0());
            }
            facts.assets = assets
                .into_iter()
                .enumerate()
                .map(|(n, (c, f))| asset(n, Category::ALL[c], f))
                .collect();
            if records > 0 {
                facts.phi.push(PhiFact {
                    location: "share".into(),
                    asset: facts.assets.first().map(|a| a.identity.clone()),
                    group: Some("file-server".into()),
                    records,
                    unprotected,
                    observed_at: t0(),
                });
            }
            facts
        })
}

#[derive(Debug, Clone)]
enum More {
    Finding(usize, usize),
    Kev(usize),
    Records(u64),
    Unprotect,
    Alert,
}

fn arb_more() -> impl Strategy<Value = More> {
    prop_oneof![
        (0usize..8, 0usize..FINDINGS.len()).prop_map(|(a, f)| More::Finding(a, f)),
        (0usize..8).prop_map(More::Kev),
        (1u64..50_000).prop_map(More::Records),
        Just(More::Unprotect),
        Just(More::Alert),
    ]
}

fn apply(facts: &Facts, more: &More) -> Facts {
    let mut f = facts.clone();
    let n = f.assets.len();
    match more {
        More::Finding(a, i) if n > 0 => f.assets[a % n]
            .findings
            .push(finding(FINDINGS[*i], Severity::High)),
        More::Kev(a) if n > 0 => {
            let asset = f.assets[a % n].identity.clone();
            f.vulns.push(VulnFact {
                asset,
                id: "CVE-2099-0001".into(),
                severity: Severity::Critical,
                kev: true,
                observed_at: t0(),
            });
        }
        More::Records(r) => f.phi.push(PhiFact {
            location: "more".into(),
            asset: None,
            group: Some("ehr".into()),
            records: *r,
            unprotected: false,
            observed_at: t0(),
        }),
        More::Unprotect => {
            for p in &mut f.phi {
                p.unprotected = true;
            }
        }
        More::Alert => f.alerts.push(medguard_risk::evidence::AlertFact {
            rule: "brute-force".into(),
            title: "Password guessing".into(),
            severity: Severity::High,
            at: t0(),
        }),
        _ => {}
    }
    f
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// More exposure (a finding, a KEV, more records, unprotected data, an alert) never lowers any
    /// scenario's inherent or residual risk, and never closes a plan action.
    #[test]
    fn more_exposure_never_lowers_risk(facts in arb_facts(), answers in arb_answers(&Catalog::embedded().expect("catalog")), more in arb_more()) {
        let cat = Catalog::embedded().expect("catalog");
        let before = run(&cat, &facts, &answers);
        let after = run(&cat, &apply(&facts, &more), &answers);
        for b in &before.register {
            if let Some(a) = after.register.iter().find(|a| a.id == b.id) {
                prop_assert!(a.residual_risk >= b.residual_risk, "{} residual {:?} -> {:?} after {:?}", b.id, b.residual_risk, a.residual_risk, more);
                prop_assert!(a.inherent_risk >= b.inherent_risk, "{} inherent {:?} -> {:?}", b.id, b.inherent_risk, a.inherent_risk);
                prop_assert!(a.residual_likelihood >= b.residual_likelihood);
                prop_assert!(a.impact >= b.impact);
            } else {
                prop_assert!(false, "scenario {} vanished after {:?}", b.id, more);
            }
        }
        for b in before.plan.iter().filter(|p| p.id.starts_with("control:")) {
            prop_assert!(after.plan.iter().any(|a| a.id == b.id), "action {} closed by more exposure", b.id);
        }
    }

    /// The same evidence and answers give the same register and plan.
    #[test]
    fn deterministic(facts in arb_facts(), answers in arb_answers(&Catalog::embedded().expect("catalog"))) {
        let cat = Catalog::embedded().expect("catalog");
        let a = serde_json::to_string(&run(&cat, &facts, &answers)).expect("json");
        let mut rev = answers.clone();
        rev.reverse();
        let b = serde_json::to_string(&run(&cat, &facts, &rev)).expect("json");
        prop_assert_eq!(a, b);
    }

    /// Residual risk never exceeds inherent risk; levels stay in range; ranks are 1..n.
    #[test]
    fn residual_within_inherent(facts in arb_facts(), answers in arb_answers(&Catalog::embedded().expect("catalog"))) {
        let cat = Catalog::embedded().expect("catalog");
        let s = run(&cat, &facts, &answers);
        for r in &s.register {
            prop_assert!(r.residual_risk <= r.inherent_risk);
            prop_assert!((0.0..=1.0).contains(&r.confidence));
        }
        for (i, a) in s.plan.iter().enumerate() {
            prop_assert_eq!(a.rank as usize, i + 1);
        }
    }

    /// The answers parser never panics and never accepts an unknown question id.
    #[test]
    fn answers_parser_never_panics(text in ".{0,400}") {
        let cat = Catalog::embedded().expect("catalog");
        let _ = medguard_risk::answers::parse("fuzz.toml", &text, &cat);
    }

    #[test]
    fn answers_parser_structured(keys in proptest::collection::vec("[a-z-]{1,20}", 0..6), vals in proptest::collection::vec(prop_oneof![Just("yes"), Just("no"), Just("dont-know"), Just("n/a"), Just("x")], 0..6)) {
        let cat = Catalog::embedded().expect("catalog");
        let mut text = String::from("[answers]\n");
        for (k, v) in keys.iter().zip(vals.iter()) {
            text.push_str(&format!("{k} = \"{v}\"\n"));
        }
        if let Ok(parsed) = medguard_risk::answers::parse("p.toml", &text, &cat) {
            for a in &parsed.answers {
                prop_assert!(cat.knows_question(&a.question));
            }
        }
    }

    #[test]
    fn incident_parser_never_panics(text in ".{0,400}") {
        let cat = Catalog::embedded().expect("catalog");
        if let Ok(inc) = medguard_risk::breach::parse("fuzz.toml", &text, &cat) {
            let _ = medguard_risk::breach::decide(&inc, &cat);
        }
    }
}

#[test]
fn answers_round_trip_through_the_store() {
    use medguard_risk::assess;
    use medguard_store::{RiskStore, SqliteStore};
    let cat = Catalog::embedded().expect("catalog");
    let mut store = SqliteStore::in_memory().expect("store");
    let text = "[practice]\npractice-name = \"Smile Dental\"\npatients = 900\n\n[answers]\nmfa-email = \"yes\"\nbackup-offline = { answer = \"dont-know\", note = \"ask IT\" }\n";
    let file = medguard_risk::answers::parse("a.toml", text, &cat).expect("parse");
    let d = assess::draft(&mut store, &cat).expect("draft");
    let n = assess::import(&mut store, &d, &file, "file:a.toml", t0()).expect("import");
    assert_eq!(n, 4);
    let stored = store.answers(d.id).expect("answers");
    assert_eq!(stored.len(), 4);
    let facts = Facts::empty(t0());
    let snap = assess::finish(&mut store, &cat, d.id, &facts, t0()).expect("finish");
    assert_eq!(snap.practice, "Smile Dental");
    let (latest, plan) = assess::current_plan(&store).expect("plan");
    assert_eq!(latest, snap);
    assert_eq!(plan.len(), snap.plan.len());
}
