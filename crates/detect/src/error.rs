use std::path::PathBuf;

/// Errors from medguard-detect. Messages read after "failed to ...".
#[derive(Debug, thiserror::Error)]
pub enum DetectError {
    #[error("read {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("open the EVTX file {path}: {reason}")]
    Evtx { path: PathBuf, reason: String },
    #[error("read the CSV audit export {path}: {reason}")]
    Csv { path: PathBuf, reason: String },
    #[error("load the audit column map {name}: {reason}")]
    AuditMap { name: String, reason: String },
    #[error("load the field mapping {name}: {reason}")]
    Mapping { name: String, reason: String },
    #[error("load the allow-list {name}: {reason}")]
    AllowList { name: String, reason: String },
    #[error("start the syslog listener {url}: {reason}")]
    Listen { url: String, reason: String },
    #[error("load the TLS certificate or key {path}: {reason}")]
    Tls { path: PathBuf, reason: String },
}
