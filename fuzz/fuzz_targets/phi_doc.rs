//! The Word 97 extractor on arbitrary bytes: whole files through the compound-file reader, and
//! the FIB and piece-table parsers directly (random bytes rarely make a valid compound file).
#![no_main]

use libfuzzer_sys::fuzz_target;
use medguard_phi::extract::doc;
use medguard_phi::{Format, Hasher, Limits, ScanOptions, scan_bytes_as};

fuzz_target!(|data: &[u8]| {
    let opts = ScanOptions {
        min_records: 0,
        limits: Limits {
            max_whole: 4 << 20,
            time_budget: std::time::Duration::from_secs(2),
            ..Limits::default()
        },
        ..ScanOptions::default()
    };
    let _ = scan_bytes_as(Format::Doc, "fuzz.doc", data, &opts, &Hasher::with_key([7; 32]));
    // The first two bytes split the rest into a WordDocument stream and a table stream.
    if let Some((n, rest)) = data.split_first_chunk::<2>() {
        let at = usize::from(u16::from_le_bytes(*n)).min(rest.len());
        let (word, table) = rest.split_at(at);
        if let Ok(fib) = doc::fib(word) {
            let _ = doc::text(word, table, &fib);
        }
        let _ = doc::pieces(table);
    }
});
