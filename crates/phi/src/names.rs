//! Public name frequency lists (US Census Bureau, 1990) for telling names from other capitalised
//! words in prose. Structured context (a "name" column, HL7 PID-5, DICOM PatientName) does not need
//! them.

use std::collections::HashSet;
use std::sync::OnceLock;

/// Lists are looked up for every capitalised word pair in prose: a fast hash, no allocation.
type Set = HashSet<&'static [u8], foldhash::fast::FixedState>;

static FIRST: OnceLock<Set> = OnceLock::new();
static LAST: OnceLock<Set> = OnceLock::new();

fn load(text: &'static str) -> Set {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(str::as_bytes)
        .collect()
}

/// The longest word looked up; longer ones are in no list.
const MAX_WORD: usize = 24;

/// `word` in ASCII lower case, Latin-1 accents folded ([`fold`]), in `buf` (no allocation);
/// `None` when longer than [`MAX_WORD`] or holding another non-ASCII character.
fn lower<'b>(word: &str, buf: &'b mut [u8; MAX_WORD]) -> Option<&'b [u8]> {
    if word.is_ascii() && !word.contains('\'') {
        let w = buf.get_mut(..word.len())?;
        w.copy_from_slice(word.as_bytes());
        w.make_ascii_lowercase();
        return Some(w);
    }
    // The lists are ASCII and spell "O'Connor" "oconnor": "José García" is looked up as "jose
    // garcia", apostrophes left out.
    let mut n = 0;
    for c in word.chars().filter(|c| !matches!(c, '\'' | '\u{2019}')) {
        *buf.get_mut(n)? = fold(c)?;
        n += 1;
    }
    buf.get(..n)
}

/// A Latin-1 letter's ASCII base letter, lower case (`É` and `é` are `e`, `Ñ` is `n`); `None` for
/// anything else that is not ASCII.
fn fold(c: char) -> Option<u8> {
    if c.is_ascii() {
        return Some(c.to_ascii_lowercase() as u8);
    }
    Some(match c.to_lowercase().next()? {
        'à'..='å' => b'a',
        'ç' => b'c',
        'è'..='ë' => b'e',
        'ì'..='ï' => b'i',
        'ñ' => b'n',
        'ò'..='ö' | 'ø' => b'o',
        'ù'..='ü' => b'u',
        'ý' | 'ÿ' => b'y',
        _ => return None,
    })
}

fn listed(set: &Set, word: &str) -> bool {
    let mut buf = [0u8; MAX_WORD];
    lower(word, &mut buf).is_some_and(|w| set.contains(w))
}

/// A common first name.
pub fn is_first(word: &str) -> bool {
    listed(
        FIRST.get_or_init(|| load(include_str!("../data/first_names.txt"))),
        word,
    )
}

/// A common surname.
pub fn is_last(word: &str) -> bool {
    listed(
        LAST.get_or_init(|| load(include_str!("../data/last_names.txt"))),
        word,
    )
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
        // Report and form titles ("Patient Birthday List", "Patient Portal Login").
        "list",
        "birthday",
        "portal",
        "form",
        "forms",
        "intake",
        "report",
        "summary",
        "history",
        "login",
        "statement",
        "schedule",
        "recall",
        "record",
        "records",
        "information",
        "notes",
        "chart",
        "balance",
        "appointment",
        "appointments",
        "referral",
        "registration",
        "consent",
        "directory",
    ];
    static SET: OnceLock<Set> = OnceLock::new();
    listed(
        SET.get_or_init(|| STOP.iter().map(|w| w.as_bytes()).collect()),
        word,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_load() {
        assert!(is_first("Mary") && is_first("JOHN"));
        assert!(is_last("Smith") && is_last("garcia"));
        assert!(!is_first("Invoice"));
        assert!(is_stop("Patient") && is_stop("PATIENT"));
        // No stop word is a listed name.
        assert!(
            !["list", "record", "chart", "summary"]
                .iter()
                .any(|w| is_first(w) || is_last(w))
        );
        // Longer than any listed name: not looked up, no panic.
        assert!(!is_first(&"A".repeat(MAX_WORD + 1)));
        assert!(!is_last("Smithé"));
        // Latin-1 accents are folded for the lookup; other characters are not letters of a list.
        assert!(is_first("José") && is_first("MARÍA") && is_last("García") && is_last("Muñoz"));
        assert!(!is_first("Jos€") && !is_last("Garčia"));
    }
}
