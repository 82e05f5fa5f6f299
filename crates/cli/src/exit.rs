//! Stable, documented exit codes.

/// The command did what was asked.
pub const OK: i32 = 0;
/// The command failed (bad store, unreadable input, ...).
pub const ERROR: i32 = 1;
/// Usage error (clap uses 2 as well).
pub const USAGE: i32 = 2;
/// The command completed, but some items (hosts, files, rules) failed and were reported.
pub const PARTIAL: i32 = 3;
/// Findings at or above the `--fail-on` severity were found.
pub const FINDINGS: i32 = 4;

/// A closed stdout (`medguard ... | head`) is not an error.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
