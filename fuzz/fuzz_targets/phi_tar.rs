//! The PHI tar extractor on arbitrary bytes, plain and behind gzip.
#![no_main]

#[path = "phi_common.rs"]
mod phi_common;

use libfuzzer_sys::fuzz_target;
use medguard_phi::Format;

fuzz_target!(|data: &[u8]| {
    phi_common::scan(Some(Format::Tar), "fuzz.tar", data);
    phi_common::scan(Some(Format::Gzip), "fuzz.tar.gz", data);
});
