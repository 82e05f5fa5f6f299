//! The PowerPoint 97 extractor on arbitrary bytes: whole files through the compound-file reader,
//! and the record walker directly (random bytes rarely make a valid compound file).
#![no_main]

#[path = "phi_common.rs"]
mod phi_common;

use libfuzzer_sys::fuzz_target;
use medguard_phi::Format;
use medguard_phi::extract::ppt;

fuzz_target!(|data: &[u8]| {
    phi_common::scan(Some(Format::Ppt), "fuzz.ppt", data);
    let _ = ppt::text(data);
});
