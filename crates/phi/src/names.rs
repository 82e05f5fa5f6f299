//! Public name frequency lists (US Census Bureau, 1990) for telling names from other capitalised
//! words in prose. Structured context (a "name" column, HL7 PID-5, DICOM PatientName) does not need
//! them.

use std::collections::HashSet;
use std::sync::OnceLock;

static FIRST: OnceLock<HashSet<&'static str>> = OnceLock::new();
static LAST: OnceLock<HashSet<&'static str>> = OnceLock::new();

fn load(text: &'static str) -> HashSet<&'static str> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .collect()
}

fn lower(word: &str) -> Option<String> {
    (word.len() <= 24).then(|| word.to_ascii_lowercase())
}

/// A common first name.
pub fn is_first(word: &str) -> bool {
    let set = FIRST.get_or_init(|| load(include_str!("../data/first_names.txt")));
    lower(word).is_some_and(|w| set.contains(w.as_str()))
}

/// A common surname.
pub fn is_last(word: &str) -> bool {
    let set = LAST.get_or_init(|| load(include_str!("../data/last_names.txt")));
    lower(word).is_some_and(|w| set.contains(w.as_str()))
}

/// Capitalised words that appear in the name lists but mostly are not names in a practice's files.
pub fn is_stop(word: &str) -> bool {
    const STOP: &[&str] = &[
        "patient",
        "doctor",
        "dear",
        "street",
        "avenue",
        "road",
        "suite",
        "the",
        "and",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
        "north",
        "south",
        "east",
        "west",
        "new",
        "main",
        "medical",
        "dental",
        "health",
        "clinic",
        "center",
        "insurance",
        "invoice",
        "order",
        "total",
        "date",
        "page",
    ];
    lower(word).is_some_and(|w| STOP.contains(&w.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_load() {
        assert!(is_first("Mary") && is_first("JOHN"));
        assert!(is_last("Smith") && is_last("garcia"));
        assert!(!is_first("Invoice"));
        assert!(is_stop("Patient"));
    }
}
