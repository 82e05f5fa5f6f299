//! medguard-detect: catch an attack in the logs.
//!
//! Readers ([`readers`]) turn Windows event logs (EVTX, XML and JSON exports), syslog, JSON Lines and
//! EHR audit exports into flat [`LogEvent`]s; the [`engine`] evaluates Sigma detection and
//! correlation rules over them; [`alerts`] turns hits into plain-language, HIPAA-mapped, de-duplicated
//! alerts; [`live`] receives syslog over UDP, TCP and TLS and runs the same engine.
pub mod alerts;
mod builtin;
pub mod engine;
mod error;
pub mod event;
pub mod live;

pub mod readers;
pub mod run;

pub mod windows;

pub use engine::{Hit, LoadIssue, LoadReport, RuleEngine, RuleInfo, RuleSource, SigmaEngine};
pub use error::DetectError;
pub use event::{LogEvent, SourceKind};
