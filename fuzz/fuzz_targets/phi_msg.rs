//! The PHI Outlook .msg extractor (compound file, property streams, attachments) and its
//! compressed-RTF decompressor on arbitrary bytes.
#![no_main]

#[path = "phi_common.rs"]
mod phi_common;

use libfuzzer_sys::fuzz_target;
use medguard_phi::Format;

fuzz_target!(|data: &[u8]| {
    phi_common::scan(Some(Format::Msg), "fuzz", data);
    let _ = medguard_phi::extract::msg::decompress_rtf(data, 1 << 20);
});
