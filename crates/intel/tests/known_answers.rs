//! Known-answer tests: real CVE records, KEV entries, EPSS scores and a real ICSMA advisory (see
//! `fixtures/README.md`) imported through the public API, matched against assets built like the
//! discovery crate builds them. Each case exercises one rule of the range/configuration logic.

use medguard_intel::{MatchOptions, Matcher, import_file, sbom};
use medguard_model::{
    Asset, Category, MatchConfidence, MatchSource, Sbom, Service, Severity, Transport, VulnMatch,
};
use medguard_store::{IntelStore, SqliteStore};
use std::path::PathBuf;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn loaded() -> SqliteStore {
    let mut store = SqliteStore::in_memory().expect("store");
    for f in [
        "nvd-api-page.json",
        "known_exploited_vulnerabilities.json",
        "epss_scores-2025-03-20.csv.gz",
        "icsma-25-030-01.json",
        "openfda-device-recall.json",
    ] {
        import_file(&mut store, &fixture(f), None).unwrap_or_else(|e| panic!("{f}: {e:#?}"));
    }
    store
}

fn service(port: u16, product: &str, version: Option<&str>) -> Service {
    Service {
        port,
        transport: Transport::Tcp,
        protocol: "ssh".into(),
        product: Some(product.into()),
        version: version.map(str::to_string),
        banner: None,
        tls: None,
        attributes: Default::default(),
    }
}

fn asset(ip: &str) -> Asset {
    Asset {
        ip: Some(ip.parse().expect("ip")),
        ..Asset::default()
    }
}

fn run(store: &SqliteStore, a: &Asset, sboms: &[&Sbom]) -> Vec<VulnMatch> {
    let mut m = Matcher::new(
        store,
        MatchOptions {
            include_version_unknown: false,
            today: chrono::NaiveDate::from_ymd_opt(2025, 6, 1).expect("date"),
        },
    )
    .expect("matcher");
    m.match_asset(a, sboms).expect("match")
}

fn ids(v: &[VulnMatch]) -> Vec<&str> {
    v.iter().map(|m| m.id.as_str()).collect()
}

#[test]
fn imports_every_fixture_feed() {
    let store = loaded();
    let c = store.intel_counts().expect("counts");
    assert_eq!(
        (c.cves, c.kev, c.epss, c.advisories, c.recalls),
        (3, 2, 3, 1, 1)
    );
    let feeds = store.feeds().expect("feeds");
    let names: Vec<&str> = feeds.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        ["csaf:ICSMA-25-030-01", "epss", "kev", "nvd:api", "openfda"]
    );
    let kev = feeds.iter().find(|f| f.name == "kev").expect("kev");
    assert_eq!(kev.version, "2025.03.01");
    assert_eq!(kev.sha256.len(), 64);
    let log4j = store.cve("CVE-2021-44228").expect("q").expect("log4j");
    assert_eq!(log4j.cvss.as_ref().map(|c| c.score), Some(10.0));
    assert_eq!(log4j.cwes, ["CWE-502", "CWE-917"]);
}

/// regreSSHion (CVE-2024-6387): `versionStartIncluding 8.6` / `versionEndExcluding 9.8` on the
/// version attribute, exact `8.5:p1`, `4.4:-` and `9.8:-` criteria with the update attribute, and
/// `versionEndExcluding 4.4`.
#[test]
fn openssh_ranges_and_update_attribute() {
    let store = loaded();
    let hit = |v: &str| {
        let mut a = asset("10.0.0.22");
        a.services.push(service(22, "OpenSSH", Some(v)));
        run(&store, &a, &[])
            .into_iter()
            .find(|m| m.id == "CVE-2024-6387")
    };
    for v in ["8.6p1", "8.9p1", "9.7p1", "8.5p1", "4.3p2", "9.8"] {
        let m = hit(v).unwrap_or_else(|| panic!("OpenSSH {v} is affected"));
        assert_eq!(m.confidence, MatchConfidence::Exact, "{v}");
        assert_eq!(m.port, Some(22));
        assert_eq!(m.severity, Severity::High, "CVSS 8.1");
    }
    for v in ["9.8p1", "9.9p1", "8.5", "4.4p1", "8.4p1"] {
        assert!(hit(v).is_none(), "OpenSSH {v} is not affected");
    }
    // A distribution package says so (back-ported fixes keep the version number).
    let mut a = asset("10.0.0.24");
    let mut svc = service(22, "OpenSSH", Some("8.9p1"));
    svc.banner = Some("SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.10".into());
    a.services.push(svc);
    let m = run(&store, &a, &[]);
    let d = m.iter().find(|m| m.id == "CVE-2024-6387").expect("listed");
    assert!(d.reason.contains("back-ported"), "{}", d.reason);
    let m = hit("8.9p1").expect("8.9p1");
    assert!(!m.reason.contains("back-ported"));
    assert!(
        m.reason
            .contains("from 8.6 (including) up to 9.8 (excluding)"),
        "{}",
        m.reason
    );
    assert!(
        m.reason.contains("cpe:2.3:a:openbsd:openssh:8.9:p1"),
        "{}",
        m.reason
    );
    assert_eq!(m.epss, Some(0.38811));
    assert!(
        m.fix.contains("Update OpenSSH to version 9.8 or later"),
        "{}",
        m.fix
    );
    // Version unknown: not reported by default (not in KEV), reported when asked.
    let mut a = asset("10.0.0.23");
    a.services.push(service(22, "OpenSSH", None));
    assert!(!ids(&run(&store, &a, &[])).contains(&"CVE-2024-6387"));
    let mut m = Matcher::new(
        &store,
        MatchOptions {
            include_version_unknown: true,
            ..MatchOptions::default()
        },
    )
    .expect("matcher");
    let all = m.match_asset(&a, &[]).expect("match");
    let unk = all
        .iter()
        .find(|m| m.id == "CVE-2024-6387")
        .expect("listed");
    assert_eq!(unk.confidence, MatchConfidence::VersionUnknown);
}

/// Log4Shell (CVE-2021-44228) through SBOM components: three ranges with start-including and
/// end-excluding bounds, and exact pre-release versions (`2.0:rc1`, `2.0:beta9`) via purl aliases.
#[test]
fn log4j_ranges_through_sbom_purls() {
    let store = loaded();
    let hit = |v: &str| {
        let sbom = Sbom {
            format: "cyclonedx-json".into(),
            subject: "test".into(),
            components: vec![medguard_model::SbomComponent {
                name: "org.apache.logging.log4j:log4j-core".into(),
                version: v.into(),
                purl: Some(format!("pkg:maven/org.apache.logging.log4j/log4j-core@{v}")),
                ..Default::default()
            }],
        };
        run(&store, &asset("10.0.0.30"), &[&sbom])
            .into_iter()
            .find(|m| m.id == "CVE-2021-44228")
    };
    for v in [
        "2.14.1",
        "2.0.1",
        "2.3.0",
        "2.4.0",
        "2.12.1",
        "2.13.0",
        "2.0-rc1",
        "2.0-beta9",
    ] {
        let m = hit(v).unwrap_or_else(|| panic!("log4j {v} is affected"));
        assert!(m.kev && m.ransomware, "{v}: KEV with ransomware use");
        assert_eq!(m.severity, Severity::Critical);
        assert_eq!(m.confidence, MatchConfidence::Exact);
    }
    for v in [
        "2.15.0",
        "2.16.0",
        "2.3.1",
        "2.12.2",
        "1.2.17",
        "2.0-alpha1",
    ] {
        assert!(hit(v).is_none(), "log4j {v} is not affected");
    }
}

/// AND configurations with a running-on platform: firmware below 2.7.0 on a given hardware model
/// (Siemens 6BK1602, Log4Shell), and firmware of any version on AXIOM Multix M (BlueKeep).
#[test]
fn firmware_on_hardware_and_configurations() {
    let store = loaded();
    let device = |model: &str, fw: Option<&str>| {
        let mut a = asset("10.0.0.40");
        a.vendor = Some("Siemens Healthineers".into());
        a.model = Some(model.into());
        a.firmware = fw.map(str::to_string);
        a.category = Category::Imaging;
        run(&store, &a, &[])
    };
    let m = device("6BK1602-0AA12-0TP0", Some("2.6.1"));
    let l = m
        .iter()
        .find(|m| m.id == "CVE-2021-44228")
        .expect("2.6.1 < 2.7.0");
    assert_eq!(l.confidence, MatchConfidence::Exact);
    assert!(l.reason.contains("up to 2.7.0 (excluding)"), "{}", l.reason);
    assert!(l.clinical);
    assert!(
        l.fix.contains("isolate it on its own network segment"),
        "{}",
        l.fix
    );
    assert!(!ids(&device("6BK1602-0AA12-0TP0", Some("2.7.0"))).contains(&"CVE-2021-44228"));
    // Same firmware name on another hardware model: the platform node fails.
    assert!(!ids(&device("6BK1602-0AA22-0TP0", Some("2.6.1"))).contains(&"CVE-2021-44228"));
    // Firmware unknown: KEV-listed, so reported as version-unknown.
    let m = device("6BK1602-0AA12-0TP0", None);
    let l = m.iter().find(|m| m.id == "CVE-2021-44228").expect("listed");
    assert_eq!(l.confidence, MatchConfidence::VersionUnknown);
    // BlueKeep on AXIOM Multix M: all firmware versions.
    let m = device("AXIOM Multix M", None);
    let b = m
        .iter()
        .find(|m| m.id == "CVE-2019-0708")
        .expect("bluekeep");
    assert_eq!(b.confidence, MatchConfidence::Exact);
}

/// Windows 7 SP1 from an SMB/RDP OS string: BlueKeep (KEV) and end of life, with the plain line
/// tying them together, KEV first in the ranking.
#[test]
fn windows7_workstation_eol_and_kev_ranking() {
    let store = loaded();
    let mut a = asset("10.0.0.50");
    a.hostname = Some("XRAY-WS".into());
    a.category = Category::Imaging;
    let mut rdp = service(3389, "Microsoft Terminal Services", None);
    rdp.attributes.insert(
        "smb_os".into(),
        "Windows 7 Professional 7601 Service Pack 1".into(),
    );
    a.services.push(rdp);
    let m = run(&store, &a, &[]);
    // KEV first, then the end-of-life finding.
    assert_eq!(ids(&m), ["CVE-2019-0708", "eol:windows-7"], "{m:#?}");
    let eol = &m[1];
    assert_eq!(eol.source, MatchSource::EndOfLife);
    assert!(
        eol.plain.contains("Windows 7, which stopped receiving security fixes on 14 January 2020; one of its known flaws is being used in real attacks now"),
        "{}",
        eol.plain
    );
    assert!(eol.fix.contains("isolate it on its own network segment"));
    let bk = &m[0];
    assert!(bk.kev && bk.exposed);
    assert_eq!(bk.epss, Some(0.94474));
    assert!(
        bk.reason.contains("cpe:2.3:o:microsoft:windows_7:-:sp1"),
        "{}",
        bk.reason
    );
    // Service Pack 1 matters: RTM Windows 7 is not in the configuration.
    let mut rtm = a.clone();
    rtm.services[0]
        .attributes
        .insert("smb_os".into(), "Windows 7 Professional 7600".into());
    assert_eq!(ids(&run(&store, &rtm, &[])), ["eol:windows-7"]);
}

/// CSAF product tree (vendor → product → version / `vers:all/*`), product status and remediations.
#[test]
fn icsma_advisory_matches_contec_monitor() {
    let store = loaded();
    let mut a = asset("10.0.0.60");
    a.vendor = Some("Contec Health".into());
    a.model = Some("CMS8000".into());
    a.category = Category::ClinicalDevice;
    let m = run(&store, &a, &[]);
    let adv = m
        .iter()
        .find(|m| m.id == "ICSMA-25-030-01")
        .unwrap_or_else(|| panic!("{m:#?}"));
    assert_eq!(adv.source, MatchSource::Advisory);
    assert!(
        adv.fix.contains("remove any Contec CMS8000 devices"),
        "{}",
        adv.fix
    );
    assert!(adv.reason.contains("CVE-2025-0626") || adv.reason.contains("CVE-2024-12248"));
    let mut other = a.clone();
    other.model = Some("CMS9000".into());
    assert!(run(&store, &other, &[]).is_empty());
}

#[test]
fn sbom_formats_agree() {
    let parse = |f: &str| {
        let bytes = std::fs::read(fixture(f)).expect("read");
        sbom::parse(&bytes).unwrap_or_else(|e| panic!("{f}: {e}"))
    };
    let cdx = parse("pump-gateway.cdx.json");
    let xml = parse("pump-gateway.cdx.xml");
    let spdx = parse("pump-gateway.spdx.json");
    let tv = parse("pump-gateway.spdx");
    assert_eq!(cdx.format, "cyclonedx-json");
    assert_eq!(xml.format, "cyclonedx-xml");
    assert_eq!(spdx.format, "spdx-json");
    assert_eq!(tv.format, "spdx-tag-value");
    assert_eq!(cdx.subject, "Pump Gateway 3.2");
    assert_eq!(cdx.components, xml.components);
    assert_eq!(spdx.components, tv.components);
    let names = |s: &Sbom| {
        let mut v: Vec<(String, String)> = s
            .components
            .iter()
            .map(|c| {
                (
                    c.name.rsplit(':').next().unwrap_or_default().to_string(),
                    c.version.clone(),
                )
            })
            .collect();
        v.sort();
        v
    };
    assert!(names(&cdx).contains(&("log4j-core".into(), "2.14.1".into())));
    assert!(names(&tv).contains(&("openssh".into(), "9.7p1".into())));
    let store = loaded();
    for s in [&cdx, &xml, &spdx, &tv] {
        let m = run(&store, &asset("10.0.0.70"), &[s]);
        let got = ids(&m);
        assert!(got.contains(&"CVE-2021-44228"), "{}: {got:?}", s.format);
        assert!(got.contains(&"CVE-2024-6387"), "{}: {got:?}", s.format);
    }
}
