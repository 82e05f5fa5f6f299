//! The Word 97 extractor on arbitrary bytes: whole files through the compound-file reader, and
//! the FIB and piece-table parsers directly (random bytes rarely make a valid compound file).
#![no_main]

#[path = "phi_common.rs"]
mod phi_common;

use libfuzzer_sys::fuzz_target;
use medguard_phi::Format;
use medguard_phi::extract::doc;

fuzz_target!(|data: &[u8]| {
    phi_common::scan(Some(Format::Doc), "fuzz.doc", data);
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
