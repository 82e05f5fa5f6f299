//! What the PHI fuzz targets share: limits small enough that one input stays quick (4 MiB read
//! whole, 16 MiB expanded from archives, 2 s per input) and one hashing key. Included by each
//! target with `#[path]`; not a target itself.

use medguard_phi::{Format, Hasher, Limits, ScanOptions, scan_bytes, scan_bytes_as};

/// Scan `data` as `format`, or sniff it first when `format` is `None`. Errors are expected (the
/// input is arbitrary); panics and hangs are what the fuzzer looks for.
pub fn scan(format: Option<Format>, name: &str, data: &[u8]) {
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
    let key = Hasher::with_key([7; 32]);
    let _ = match format {
        Some(f) => scan_bytes_as(f, name, data, &opts, &key),
        None => scan_bytes(name, data, &opts, &key),
    };
}
