//! The shared vocabulary of medguard.
//!
//! Collectors (discover, phi, detect, intel) turn the outside world into these typed facts; the store
//! persists them; judgement (risk) and outputs (report, CLI) read them. Nothing downstream re-parses raw
//! input. Every type here is plain data with a stable serde form, because the JSON output of the CLI
//! and the store both depend on it.

pub mod alert;
pub mod asset;
pub mod phi;
pub mod risk;
pub mod severity;
pub mod vuln;

pub use alert::{Alert, AlertEvent};
pub use asset::{Asset, Category, Finding, HostStatus, Service, Transport};
pub use phi::{
    Confidence, PhiExposure, PhiFileReport, PhiFinding, PhiKind, PhiLocation, PhiProblem,
    PhiScanSummary, ValueHash,
};
pub use severity::Severity;
pub use vuln::{
    Advisory, AdvisoryProduct, CpeMatch, CveRecord, Cvss, Epss, FeedState, KevEntry,
    MatchConfidence, MatchSource, Mds2, Recall, Sbom, SbomComponent, VulnMatch,
};
