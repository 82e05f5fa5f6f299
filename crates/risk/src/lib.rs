//! medguard's risk engine: turns evidence (inventory, patient-data scans, vulnerability matches,
//! alerts) and a short questionnaire into a HIPAA Security Rule risk analysis.
//!
//! - [`catalog`]: the versioned control, framework, question, threat and breach catalogs (data files
//!   under `data/risk/`, embedded and integrity-checked).
//! - [`evidence`]: the [`evidence::EvidenceSource`] trait and its implementations over the store.
//! - [`answers`]: the answers file parser (errors point to the line).
//! - [`questionnaire`]: what still needs asking, and the terminal prompt loop.
//! - [`engine`]: control states, the NIST SP 800-30 risk register and the remediation plan.
//! - [`breach`]: breach notification decision support.
//! - [`export`]: JSON, CSV and OSCAL assessment-results exports.

pub mod answers;
pub mod assess;
pub mod breach;
pub mod catalog;
pub mod diag;
pub mod engine;
pub mod evidence;
pub mod export;
pub mod questionnaire;

pub use catalog::{Catalog, CatalogError};
pub use diag::Diagnostic;
