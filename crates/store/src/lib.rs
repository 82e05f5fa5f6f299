//! Persistence for medguard.
//!
//! One [`SqliteStore`] file holds everything a practice's evidence needs: inventory, PHI exposures,
//! alerts, vulnerability matches and risk assessments. Each capability reads and writes through its
//! own trait (see [`InventoryStore`]); callers depend on the traits, so a PostgreSQL backend for the
//! multi-practice server can implement the same traits without touching them. No SQL lives outside
//! this crate.
//!
//! Migrations are plain SQL files under `migrations/sqlite/`, embedded in the binary and applied in
//! version order inside one transaction each. Version ranges are reserved per capability:
//! 1-9 core/inventory, 20-29 phi, 30-39 detect, 40-49 intel, 50-59 risk.

mod alerts;
mod discovery;
mod error;
mod intel;
mod inventory;
mod migrate;
mod phi;
mod risk;
mod sqlite;

pub use alerts::AlertStore;
pub use discovery::ScanImportStore;
pub use error::StoreError;
pub use intel::{IntelCounts, IntelStore, IntelWriter};
pub use inventory::{Change, ChangeKind, InventoryStore, ScanSummary};
pub use phi::{PhiFileRecord, PhiScanRecord, PhiStore, PhiWriter};
pub use risk::{DraftAssessment, IncidentRecord, RiskStore};
pub use sqlite::SqliteStore;

pub type Result<T, E = StoreError> = std::result::Result<T, E>;
