//! medguard-phi: find patient data (PHI) where it should not be.
//!
//! The pipeline (see `STYLE.md` habit 2): the [`scan`] walker finds files in parallel; an extractor
//! per format ([`extract`]) turns bytes into text units with structural context (CSV header, JSON
//! key, XML element, SQL column, HL7 field, DICOM tag, archive member, page); the detectors
//! ([`detect`], one per identifier type, compiled into one multi-pattern regex) find and validate
//! identifiers; each file is judged (individuals, identifier types, health information, exposure)
//! into a risk score and a plain sentence; results go to a [`FindingSink`].
//!
//! Evidence never leaks: values are masked and hashed with a per-install key ([`mask`]); the full
//! value is only carried when the caller asks for it (`--unmask`), and the store never receives it.

pub mod acl;
pub mod corpus;
pub mod detect;
pub mod extract;
pub mod mask;
pub mod names;
pub mod scan;
pub mod validate;

pub use extract::{ExtractError, Format, Limits};
pub use mask::{Hasher, KeyError};
pub use scan::{
    FileOutcome, FindingSink, ScanError, ScanOptions, SinkError, scan, scan_bytes, scan_bytes_as,
};
