use std::path::PathBuf;

/// Errors from the store. Messages read after "failed to ...".
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("open the store at {path}")]
    Open {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("prepare the store directory {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("apply store migration {version} ({name})")]
    Migration {
        version: i64,
        name: &'static str,
        #[source]
        source: rusqlite::Error,
    },
    #[error(
        "the store was written by a newer medguard (schema migration {found}, unknown to this build, whose newest is {known})"
    )]
    TooNew { found: i64, known: i64 },
    #[error("query the store")]
    Sql(#[from] rusqlite::Error),
    #[error("decode a stored value")]
    Decode(#[from] serde_json::Error),
    #[error("no data directory could be found for this user; pass --db PATH")]
    NoDataDir,
}
