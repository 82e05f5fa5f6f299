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

/// Run a peer tool; it must start and succeed (`what` names it in the failure). Its standard output.
pub fn run(cmd: &mut std::process::Command, what: &str) -> Vec<u8> {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what} must run: {e}"));
    assert!(
        out.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Run `script` with the lab venv's Python and `args` ([`run`]).
#[allow(dead_code)] // not every test file talks to Python
pub fn python(script: &str, args: &[&std::ffi::OsStr]) -> Vec<u8> {
    run(
        std::process::Command::new(medguard_lab::python())
            .args(["-c", script])
            .args(args),
        "python",
    )
}
