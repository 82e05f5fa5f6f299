pub mod demo;
pub mod inventory;
pub mod report;
pub mod scan;
