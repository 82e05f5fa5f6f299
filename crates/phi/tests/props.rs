//! Property tests: no extractor panics on arbitrary bytes; validators, masks and hashes keep their
//! promises on generated values.

use medguard_model::PhiKind;
use medguard_phi::extract::doc;
use medguard_phi::mask::{mask, normalize};
use medguard_phi::{Format, Hasher, Limits, ScanOptions, scan_bytes, scan_bytes_as, validate};
use proptest::prelude::*;
use std::time::Duration;

fn opts() -> ScanOptions {
    ScanOptions {
        min_records: 0,
        limits: Limits {
            max_whole: 1 << 20,
            time_budget: Duration::from_secs(5),
            ..Limits::default()
        },
        ..ScanOptions::default()
    }
}

/// Bytes that look a little like the formats: prefixes of real headers plus noise.
fn seeded() -> impl Strategy<Value = Vec<u8>> {
    let heads: Vec<&'static [u8]> = vec![
        b"MSH|^~\\&|",
        b"%PDF-1.4\n",
        b"PK\x03\x04",
        b"{\\rtf1 ",
        b"From a@b Mon\nFrom: x\n\n",
        b"<?xml version=\"1.0\"?><a>",
        b"{\"resourceType\":",
        b"INSERT INTO t (a,b) VALUES ('",
        b"name,dob,ssn\n",
        b"\x1f\x8b\x08",
        b"\xff\xfe",
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
    ];
    (
        prop::sample::select(heads),
        prop::collection::vec(any::<u8>(), 0..2048),
    )
        .prop_map(|(h, t)| {
            let mut v = h.to_vec();
            v.extend(t);
            v
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn no_extractor_panics_on_arbitrary_bytes(data in prop::collection::vec(any::<u8>(), 0..4096)) {
        let h = Hasher::with_key([5; 32]);
        for f in Format::ALL {
            let _ = scan_bytes_as(f, "x", &data, &opts(), &h);
        }
        let _ = scan_bytes("x.bin", &data, &opts(), &h);
    }

    #[test]
    fn no_extractor_panics_on_format_like_bytes(data in seeded()) {
        let h = Hasher::with_key([5; 32]);
        for f in Format::ALL {
            let _ = scan_bytes_as(f, "x", &data, &opts(), &h);
        }
        let _ = scan_bytes("x", &data, &opts(), &h);
    }

    #[test]
    fn word97_parsers_never_panic(
        word in prop::collection::vec(any::<u8>(), 0..1024),
        table in prop::collection::vec(any::<u8>(), 0..1024),
        fc_clx in 0u32..1100,
        lcb_clx in 0u32..1100,
    ) {
        // A valid FIB head with arbitrary flags and offsets, then noise: the FIB and piece
        // table readers answer with an error or a text, never a panic.
        let mut w = word.clone();
        if w.len() >= 2 {
            w[0] = 0xEC;
            w[1] = 0xA5;
        }
        if let Ok(fib) = doc::fib(&w) {
            let _ = doc::text(&w, &table, &fib);
        }
        let fib = doc::Fib { encrypted: false, table_1: false, fc_clx, lcb_clx };
        let _ = doc::text(&word, &table, &fib);
        let _ = doc::pieces(&table);
    }

    #[test]
    fn compressed_rtf_never_overruns(
        body in prop::collection::vec(any::<u8>(), 0..2048),
        raw in 0u32..100_000,
        max in 0usize..5000,
    ) {
        // An LZFu header with any sizes, then noise: at most `max` bytes come out.
        let mut data = (body.len() as u32 + 12).to_le_bytes().to_vec();
        data.extend(raw.to_le_bytes());
        data.extend(b"LZFu");
        data.extend([0u8; 4]);
        data.extend(&body);
        if let Ok(out) = medguard_phi::extract::msg::decompress_rtf(&data, max) {
            prop_assert!(out.len() <= max);
        }
    }

    #[test]
    fn no_detector_panics_on_arbitrary_text(text in "\\PC{0,400}") {
        let h = Hasher::with_key([5; 32]);
        let _ = scan_bytes_as(Format::Text, "t.txt", text.as_bytes(), &opts(), &h);
    }

    #[test]
    fn valid_ssns_are_found_and_masked(area in 1u32..900, group in 1u32..100, serial in 1u32..10000) {
        prop_assume!(area != 666);
        let ssn = format!("{area:03}-{group:02}-{serial:04}");
        prop_assume!(validate::ssn(&ssn));
        let text = format!("Patient SSN: {ssn}\n");
        let o = scan_bytes_as(Format::Text, "n.txt", text.as_bytes(), &opts(), &Hasher::with_key([5; 32]))
            .expect("scan");
        prop_assert_eq!(o.findings.len(), 1);
        let f = &o.findings[0];
        prop_assert_eq!(f.kind, PhiKind::Ssn);
        prop_assert_eq!(f.value.as_deref(), None);
        prop_assert!(!f.masked.contains(&ssn[..6]));
        prop_assert!(f.masked.ends_with(&ssn[7..]));
    }

    #[test]
    fn luhn_cards_round_trip(body in "4[0-9]{14}") {
        let mut card = None;
        for c in 0..10 {
            let cand = format!("{body}{c}");
            if validate::luhn(&validate::digits(&cand)) {
                card = Some(cand);
            }
        }
        let card = card.expect("one check digit fits");
        prop_assert!(validate::card(&card));
        let spaced = format!("{} {} {} {}", &card[0..4], &card[4..8], &card[8..12], &card[12..16]);
        prop_assert!(validate::card(&spaced));
        let h = Hasher::with_key([5; 32]);
        prop_assert_eq!(h.hash(PhiKind::Card, &card), h.hash(PhiKind::Card, &spaced));
        let m = mask(PhiKind::Card, &card);
        prop_assert!(m.ends_with(&card[12..]) && !m.contains(&card[..12]));
    }

    /// Hashes must stay stable across versions (a later scan recognises the same value): the
    /// allocation-free normalization equals the original owned-string one.
    #[test]
    fn normalize_matches_reference(kind in prop::sample::select(vec![PhiKind::Name, PhiKind::Address, PhiKind::Email]),
                                   v in "(\\PC{0,12}[ ^,]){0,12}", dirt in "\\PC{0,8}") {
        let reference = if kind == PhiKind::Name {
            let mut t: Vec<String> = v
                .split(|c: char| !c.is_alphabetic() && c != '\'' && c != '-')
                .filter(|t| t.chars().count() > 1)
                .map(str::to_lowercase)
                .collect();
            t.sort();
            t.join(" ")
        } else {
            v.split_whitespace().map(str::to_lowercase).collect::<Vec<_>>().join(" ")
        };
        let mut buf = dirt;
        medguard_phi::mask::normalize_into(kind, &v, &mut buf);
        prop_assert_eq!(&buf, &reference);
        prop_assert_eq!(normalize(kind, &v), reference);
    }

    /// The XML event bound passes bytes through unchanged, and refuses only runs without markup
    /// longer than its limit.
    #[test]
    fn xml_event_bound(data in proptest::collection::vec(prop::sample::select(b"<>ab \n".to_vec()), 0..4000),
                       max in 1usize..600, cap in 1usize..64) {
        use std::io::Read;
        let longest = data
            .split(|&b| b == b'<' || b == b'>')
            .map(<[u8]>::len)
            .max()
            .unwrap_or(0);
        let inner = std::io::BufReader::with_capacity(cap, &data[..]);
        let mut out = Vec::new();
        let r = medguard_phi::extract::markup::EventBound::new(inner, max).read_to_end(&mut out);
        if longest <= max {
            prop_assert!(r.is_ok());
            prop_assert_eq!(&out, &data);
        } else {
            prop_assert!(r.is_err());
            prop_assert!(out.len() <= data.len());
        }
    }

    #[test]
    fn normalize_is_idempotent(kind in prop::sample::select(PhiKind::ALL.to_vec()), v in "\\PC{0,40}") {
        let once = normalize(kind, &v);
        prop_assert_eq!(normalize(kind, &once), once.clone());
        let _ = mask(kind, &v);
    }
}
