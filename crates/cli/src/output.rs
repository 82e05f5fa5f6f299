//! Shared output helpers: colour choice, store opening, JSON Lines.

use crate::GlobalArgs;
use anyhow::Context;
use medguard_store::SqliteStore;
use std::io::{IsTerminal, Write};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

impl GlobalArgs {
    /// Open the store named by `--db`, or the per-user default.
    pub fn open_store(&self) -> anyhow::Result<SqliteStore> {
        let path = match &self.db {
            Some(p) => p.clone(),
            None => SqliteStore::default_path()?,
        };
        SqliteStore::open(&path)
            .with_context(|| format!("failed to open the store {}", path.display()))
    }

    /// Whether to use colour on stdout.
    pub fn color(&self) -> bool {
        match self.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                    && std::io::stdout().is_terminal()
            }
        }
    }

    /// Whether progress bars may be drawn on stderr.
    pub fn progress(&self) -> bool {
        !self.quiet && !self.json && std::io::stderr().is_terminal()
    }
}

/// Write one JSON Lines record `{"type": kind, ...value}` with the schema version.
pub fn json_line<T: serde::Serialize>(
    out: &mut impl Write,
    kind: &str,
    value: &T,
) -> anyhow::Result<()> {
    let mut v = serde_json::to_value(value)?;
    if let serde_json::Value::Object(map) = &mut v {
        map.insert("type".into(), kind.into());
        map.insert("schema".into(), 1.into());
    }
    serde_json::to_writer(&mut *out, &v)?;
    out.write_all(b"\n")?;
    Ok(())
}
