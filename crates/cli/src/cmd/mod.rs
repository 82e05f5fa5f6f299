pub mod demo;
pub mod import;
pub mod inventory;
pub mod phi;
pub mod report;
pub mod scan;
