//! Errors of the intel crate. Messages read after "failed to ...".

use std::path::PathBuf;

/// Everything that can go wrong reading feeds, SBOMs and advisories, downloading or storing them.
#[derive(Debug, thiserror::Error)]
pub enum IntelError {
    #[error("read {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("parse {what} JSON")]
    Json {
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
    #[error("parse {what}: {detail}")]
    Format { what: &'static str, detail: String },
    #[error(
        "recognise {path}: it is none of NVD CVE JSON 2.0, CISA KEV, EPSS CSV, CSAF 2.0, openFDA recall JSON"
    )]
    UnknownFormat { path: PathBuf },
    #[error("read {what}: it is larger than the {limit}-byte limit")]
    TooLarge { what: &'static str, limit: u64 },
    #[error("verify {what}: {detail}")]
    Integrity { what: String, detail: String },
    #[error("download {url}: {detail}")]
    Http { url: String, detail: String },
    #[error("store intelligence")]
    Store(#[from] medguard_store::StoreError),
}

impl IntelError {
    pub(crate) fn format(what: &'static str, detail: impl Into<String>) -> Self {
        IntelError::Format {
            what,
            detail: detail.into(),
        }
    }
}

/// Result with [`IntelError`].
pub type Result<T, E = IntelError> = std::result::Result<T, E>;
