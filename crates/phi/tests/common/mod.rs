//! Helpers shared by the PHI integration tests.

use medguard_phi::detect::Engine;
use medguard_phi::scan::scan_file;
use medguard_phi::{FileOutcome, Hasher, ScanOptions};
use std::path::Path;

/// Scan one file on disk with the default options and a fixed key; it must hold identifiers.
pub fn scan(path: &Path) -> FileOutcome {
    let engine = Engine::get().expect("engine");
    scan_file(
        path,
        &ScanOptions::default(),
        engine,
        &Hasher::with_key([5; 32]),
    )
    .expect("scan")
    .unwrap_or_else(|| panic!("{} holds identifiers", path.display()))
}
