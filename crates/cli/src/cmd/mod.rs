pub mod inventory;
pub mod report;
