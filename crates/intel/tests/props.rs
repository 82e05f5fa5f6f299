//! Property tests: every parser of untrusted bytes returns (never panics) on arbitrary input, and
//! on mutations of real fixture files; purls and CSAF version expressions never panic either.

use medguard_intel::{csaf, epss, kev, nvd, openfda, sbom};
use proptest::prelude::*;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name),
    )
    .expect("fixture")
}

fn all_parsers(bytes: &[u8]) {
    let _ = nvd::parse(bytes);
    let _ = kev::parse(bytes);
    let _ = epss::stream(bytes, |_, _| Ok(()));
    let _ = csaf::parse(bytes);
    let _ = openfda::parse(bytes);
    let _ = sbom::parse(bytes);
    let _ = medguard_intel::import::sniff(bytes);
    if let Ok(s) = std::str::from_utf8(bytes) {
        let _ = nvd::parse_meta(s);
        let _ = sbom::Purl::parse(s);
        let _ = csaf::in_range(s, "1.2.3");
        let _ = medguard_intel::cpe::Cpe::parse(s);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        all_parsers(&bytes);
    }

    #[test]
    fn mutated_fixtures(
        which in 0usize..6,
        cut in 0usize..20_000,
        flips in proptest::collection::vec((0usize..20_000, any::<u8>()), 0..8),
    ) {
        let names = [
            "nvd-api-page.json",
            "known_exploited_vulnerabilities.json",
            "icsma-25-030-01.json",
            "openfda-device-recall.json",
            "pump-gateway.cdx.xml",
            "pump-gateway.spdx",
        ];
        let mut b = fixture(names[which]);
        for (at, v) in flips {
            let n = b.len();
            if n > 0 {
                b[at % n] = v;
            }
        }
        let n = b.len();
        b.truncate(cut % (n + 1));
        all_parsers(&b);
    }

    #[test]
    fn purl_round_trip(ns in "[a-z]{1,8}(\\.[a-z]{1,8}){0,2}", name in "[a-z][a-z0-9-]{0,12}", ver in "[0-9]{1,2}(\\.[0-9]{1,2}){0,2}") {
        let p = sbom::Purl::parse(&format!("pkg:maven/{ns}/{name}@{ver}")).expect("purl");
        prop_assert_eq!(p.kind, "maven");
        prop_assert_eq!(p.namespace, ns);
        prop_assert_eq!(p.name, name);
        prop_assert_eq!(p.version, ver);
    }
}
