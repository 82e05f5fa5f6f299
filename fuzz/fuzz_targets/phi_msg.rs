//! The PHI Outlook .msg extractor (compound file, property streams, attachments) and its
//! compressed-RTF decompressor on arbitrary bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use medguard_phi::{Format, Hasher, Limits, ScanOptions, scan_bytes_as};

fuzz_target!(|data: &[u8]| {
    let opts = ScanOptions {
        min_records: 0,
        limits: Limits {
            max_whole: 4 << 20,
            max_expanded: 16 << 20,
            time_budget: std::time::Duration::from_secs(2),
            ..Limits::default()
        },
        ..ScanOptions::default()
    };
    let _ = scan_bytes_as(Format::Msg, "fuzz", data, &opts, &Hasher::with_key([7; 32]));
    let _ = medguard_phi::extract::msg::decompress_rtf(data, 1 << 20);
});
