//! CPE 2.3 names (parse → print → parse is stable), purls and version comparison (antisymmetric).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(c) = medguard_intel::cpe::Cpe::parse(s) {
        let again = medguard_intel::cpe::Cpe::parse(&c.to_string()).expect("printed CPE re-parses");
        assert_eq!(again, c);
    }
    let _ = medguard_intel::sbom::Purl::parse(s);
    let (a, b) = s.split_at(s.floor_char_boundary(s.len() / 2));
    let ab = medguard_intel::version::compare(a, b);
    assert_eq!(ab, medguard_intel::version::compare(b, a).reverse());
});
