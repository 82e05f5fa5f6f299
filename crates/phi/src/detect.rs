//! Detectors: one per identifier type, run together in one multi-pattern regex pass.
//!
//! A text unit comes with optional structural context (a CSV header, JSON key, HL7 field, DICOM
//! tag). When that context names an identifier type ("DOB", `PID-7`, `(0010,0030)`), the whole value
//! is checked against that type's rules: structure decides better than any regex. Otherwise every
//! detector's shapes are searched in the text, validated (checksums, calendar, issuer ranges) and
//! weighed against keywords in a window before the match ("SSN:", "DOB", "NPI") and negative
//! keywords ("invoice", "part", "lot", "order").

use crate::names;
use crate::validate as v;
use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use medguard_model::{Confidence, PhiKind};
use regex_automata::meta::Regex;
use regex_automata::util::syntax;
use std::sync::OnceLock;

/// How far before a match a keyword counts, in bytes.
const WINDOW: usize = 48;

/// Keyword classes that give a match its meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kw {
    Ssn,
    Dob,
    Npi,
    Dea,
    Routing,
    Bank,
    Account,
    Mrn,
    Plan,
    Mbi,
    Phone,
    Card,
    Icd,
    Procedure,
    Name,
    Address,
    /// Invoice, order, part, lot, serial, sample...: the number is not about a person.
    Negative,
}

const KEYWORDS: &[(&str, Kw)] = &[
    ("ssn", Kw::Ssn),
    ("social security", Kw::Ssn),
    ("soc sec", Kw::Ssn),
    ("ss#", Kw::Ssn),
    ("ss #", Kw::Ssn),
    ("dob", Kw::Dob),
    ("d.o.b", Kw::Dob),
    ("date of birth", Kw::Dob),
    ("birth date", Kw::Dob),
    ("birthdate", Kw::Dob),
    ("born", Kw::Dob),
    ("npi", Kw::Npi),
    ("dea", Kw::Dea),
    ("routing", Kw::Routing),
    ("aba", Kw::Routing),
    ("rtn", Kw::Routing),
    ("bank account", Kw::Bank),
    ("checking", Kw::Bank),
    ("savings", Kw::Bank),
    ("acct", Kw::Account),
    ("account", Kw::Account),
    ("mrn", Kw::Mrn),
    ("medical record", Kw::Mrn),
    ("chart", Kw::Mrn),
    ("patient id", Kw::Mrn),
    ("member id", Kw::Plan),
    ("member #", Kw::Plan),
    ("subscriber", Kw::Plan),
    ("policy", Kw::Plan),
    ("insurance id", Kw::Plan),
    ("mbi", Kw::Mbi),
    ("medicare", Kw::Mbi),
    ("phone", Kw::Phone),
    ("tel", Kw::Phone),
    ("cell", Kw::Phone),
    ("mobile", Kw::Phone),
    ("fax", Kw::Phone),
    ("call", Kw::Phone),
    ("card", Kw::Card),
    ("visa", Kw::Card),
    ("mastercard", Kw::Card),
    ("amex", Kw::Card),
    ("diagnosis", Kw::Icd),
    ("dx", Kw::Icd),
    ("icd", Kw::Icd),
    ("cpt", Kw::Procedure),
    ("cdt", Kw::Procedure),
    ("procedure", Kw::Procedure),
    ("proc", Kw::Procedure),
    ("patient", Kw::Name),
    ("name", Kw::Name),
    ("dear", Kw::Name),
    ("mr.", Kw::Name),
    ("mrs.", Kw::Name),
    ("ms.", Kw::Name),
    ("dr.", Kw::Name),
    ("guarantor", Kw::Name),
    ("insured", Kw::Name),
    ("address", Kw::Address),
    ("lives at", Kw::Address),
    ("invoice", Kw::Negative),
    ("order", Kw::Negative),
    ("part", Kw::Negative),
    ("lot", Kw::Negative),
    ("serial", Kw::Negative),
    ("s/n", Kw::Negative),
    ("sku", Kw::Negative),
    ("tracking", Kw::Negative),
    ("ref", Kw::Negative),
    ("po #", Kw::Negative),
    ("p.o.", Kw::Negative),
    ("confirmation", Kw::Negative),
    ("ticket", Kw::Negative),
    ("model", Kw::Negative),
    ("asset tag", Kw::Negative),
    ("sample", Kw::Negative),
    ("example", Kw::Negative),
    ("catalog", Kw::Negative),
    ("item", Kw::Negative),
    ("batch", Kw::Negative),
    ("expires", Kw::Negative),
    ("printed", Kw::Negative),
    ("warranty", Kw::Negative),
];

/// Words that say a file holds health information (drug names, clinical words).
const HEALTH_TERMS: &[&str] = &[
    "diagnosis",
    "diagnosed",
    "prescription",
    "prescribed",
    "medication",
    "allergy",
    "allergies",
    "diabetes",
    "hypertension",
    "asthma",
    "depression",
    "anxiety",
    "hiv",
    "hepatitis",
    "pregnan",
    "cancer",
    "oncology",
    "chemotherapy",
    "metformin",
    "lisinopril",
    "atorvastatin",
    "amoxicillin",
    "ibuprofen",
    "hydrocodone",
    "oxycodone",
    "insulin",
    "warfarin",
    "sertraline",
    "gabapentin",
    "periodont",
    "caries",
    "root canal",
    "extraction",
    "crown",
    "radiograph",
    "x-ray",
    "mri",
    "treatment plan",
    "chief complaint",
    "history of present illness",
    "blood pressure",
    "lab result",
    "icd-10",
    "cpt",
];

/// Health terms that are word stems ("pregnancy", "periodontitis"); the others are whole words.
const HEALTH_STEMS: &[&str] = &["pregnan", "periodont"];

/// Context handed to a detector for one candidate.
pub struct Context<'a> {
    /// Keyword classes seen in the window before the match (or in the field name), nearest first.
    kws: &'a [Kw],
    /// The text just before the match (up to [`WINDOW`] bytes).
    pub before: &'a str,
}

impl Context<'_> {
    /// A keyword of this class is near.
    pub fn has(&self, k: Kw) -> bool {
        self.kws.contains(&k)
    }
    /// A negative keyword is near and no positive keyword for `k` is.
    pub fn negative(&self) -> bool {
        self.kws.contains(&Kw::Negative)
    }
    /// The keyword closest before the match.
    pub fn nearest(&self) -> Option<Kw> {
        self.kws.first().copied()
    }
}

/// Why a candidate was accepted.
pub struct Verdict {
    pub confidence: Confidence,
    pub reason: &'static str,
}

fn ok(confidence: Confidence, reason: &'static str) -> Option<Verdict> {
    Some(Verdict { confidence, reason })
}

/// One identifier type: its free-text shapes, its validation in context, and its structural check.
pub trait Detector: Send + Sync {
    /// The identifier type reported.
    fn kind(&self) -> PhiKind;
    /// Regular expressions (ASCII, linear time) for the free-text shapes.
    fn patterns(&self) -> &'static [&'static str];
    /// Validate a free-text candidate in its context.
    fn check(&self, candidate: &str, cx: &Context<'_>) -> Option<Verdict>;
    /// Validate a whole value found in a field that structure says is of this type.
    fn check_field(&self, value: &str) -> bool;
}

struct Ssn;
impl Detector for Ssn {
    fn kind(&self) -> PhiKind {
        PhiKind::Ssn
    }
    fn patterns(&self) -> &'static [&'static str] {
        &[r"\b[0-9]{3}[- ][0-9]{2}[- ][0-9]{4}\b", r"\b[0-9]{9}\b"]
    }
    fn check(&self, c: &str, cx: &Context<'_>) -> Option<Verdict> {
        if !v::ssn(c) {
            return None;
        }
        if cx.has(Kw::Ssn) && cx.nearest() != Some(Kw::Negative) {
            return ok(Confidence::High, "keyword:ssn");
        }
        if c.len() == 11 && !cx.negative() && !cx.has(Kw::Phone) && !cx.has(Kw::Account) {
            return ok(Confidence::Medium, "shape:ssn");
        }
        None
    }
    fn check_field(&self, value: &str) -> bool {
        v::ssn(value)
    }
}

struct Npi;
impl Detector for Npi {
    fn kind(&self) -> PhiKind {
        PhiKind::Npi
    }
    fn patterns(&self) -> &'static [&'static str] {
        &[r"\b[12][0-9]{9}\b"]
    }
    fn check(&self, c: &str, cx: &Context<'_>) -> Option<Verdict> {
        (v::npi(c) && cx.has(Kw::Npi)).then_some(Verdict {
            confidence: Confidence::High,
            reason: "checksum+keyword:npi",
        })
    }
    fn check_field(&self, value: &str) -> bool {
        v::npi(value)
    }
}

struct Dea;
impl Detector for Dea {
    fn kind(&self) -> PhiKind {
        PhiKind::Dea
    }
    fn patterns(&self) -> &'static [&'static str] {
        &[r"\b[A-Z][A-Z9][0-9]{7}\b"]
    }
    fn check(&self, c: &str, cx: &Context<'_>) -> Option<Verdict> {
        (v::dea(c) && cx.has(Kw::Dea)).then_some(Verdict {
            confidence: Confidence::High,
            reason: "checksum+keyword:dea",
        })
    }
    fn check_field(&self, value: &str) -> bool {
        v::dea(value)
    }
}

struct Mbi;
impl Detector for Mbi {
    fn kind(&self) -> PhiKind {
        PhiKind::Mbi
    }
    fn patterns(&self) -> &'static [&'static str] {
        &[r"\b[1-9][A-Za-z][A-Za-z0-9][0-9]-?[A-Za-z][A-Za-z0-9][0-9]-?[A-Za-z]{2}[0-9]{2}\b"]
    }
    fn check(&self, c: &str, cx: &Context<'_>) -> Option<Verdict> {
        if !v::mbi(c) {
            return None;
        }
        if cx.has(Kw::Mbi) {
            ok(Confidence::High, "format+keyword:mbi")
        } else if cx.negative() {
            None
        } else {
            ok(Confidence::Medium, "format:mbi")
        }
    }
    fn check_field(&self, value: &str) -> bool {
        v::mbi(value)
    }
}

struct Card;
impl Detector for Card {
    fn kind(&self) -> PhiKind {
        PhiKind::Card
    }
    fn patterns(&self) -> &'static [&'static str] {
        &[
            r"\b[0-9]{4}(?:[- ]?[0-9]{4}){2}[- ]?[0-9]{1,7}\b",
            r"\b3[47][0-9]{2}[- ]?[0-9]{6}[- ]?[0-9]{5}\b",
        ]
    }
    fn check(&self, c: &str, cx: &Context<'_>) -> Option<Verdict> {
        if !v::card(c) || cx.negative() {
            return None;
        }
        if cx.has(Kw::Card) {
            ok(Confidence::High, "luhn+issuer+keyword:card")
        } else if cx.negative() {
            None
        } else {
            ok(Confidence::Medium, "luhn+issuer")
        }
    }
    fn check_field(&self, value: &str) -> bool {
        v::card(value)
    }
}

struct Routing;
impl Detector for Routing {
    fn kind(&self) -> PhiKind {
        PhiKind::Routing
    }
    fn patterns(&self) -> &'static [&'static str] {
        &[]
    }
    fn check(&self, c: &str, cx: &Context<'_>) -> Option<Verdict> {
        (v::aba(c) && cx.has(Kw::Routing)).then_some(Verdict {
            confidence: Confidence::High,
            reason: "checksum+keyword:routing",
        })
    }
    fn check_field(&self, value: &str) -> bool {
        v::aba(value)
    }
}

fn digits_only(s: &str, min: usize, max: usize) -> bool {
    let s = s.trim();
    (min..=max).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
}

fn id_token(s: &str, min: usize, max: usize) -> bool {
    let s = s.trim();
    (min..=max).contains(&s.len())
        && s.bytes().any(|b| b.is_ascii_digit())
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

struct BankAccount;
impl Detector for BankAccount {
    fn kind(&self) -> PhiKind {
        PhiKind::BankAccount
    }
    fn patterns(&self) -> &'static [&'static str] {
        &[r"\b[0-9]{4,17}\b"]
    }
    fn check(&self, c: &str, cx: &Context<'_>) -> Option<Verdict> {
        (digits_only(c, 4, 17) && cx.has(Kw::Bank) && !cx.has(Kw::Routing)).then_some(Verdict {
            confidence: Confidence::Medium,
            reason: "keyword:bank-account",
        })
    }
    fn check_field(&self, value: &str) -> bool {
        digits_only(value, 4, 17)
    }
}

struct Phone;
impl Detector for Phone {
    fn kind(&self) -> PhiKind {
        PhiKind::Phone
    }
    fn patterns(&self) -> &'static [&'static str] {
        &[r"(?:\+1[-. ]?)?(?:\([2-9][0-9]{2}\) ?|\b[2-9][0-9]{2}[-. ])[2-9][0-9]{2}[-. ][0-9]{4}\b"]
    }
    fn check(&self, c: &str, cx: &Context<'_>) -> Option<Verdict> {
        if !v::phone(c) {
            return None;
        }
        if cx.has(Kw::Phone) {
            ok(Confidence::High, "keyword:phone")
        } else if cx.negative() {
            None
        } else {
            ok(Confidence::Medium, "shape:phone")
        }
    }
    fn check_field(&self, value: &str) -> bool {
        v::phone(value)
    }
}

struct Email;
impl Detector for Email {
    fn kind(&self) -> PhiKind {
        PhiKind::Email
    }
    fn patterns(&self) -> &'static [&'static str] {
        &[r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,24}\b"]
    }
    fn check(&self, c: &str, _cx: &Context<'_>) -> Option<Verdict> {
        v::email(c).then_some(Verdict {
            confidence: Confidence::High,
            reason: "shape:email",
        })
    }
    fn check_field(&self, value: &str) -> bool {
        v::email(value.trim())
    }
}

struct Dob;
impl Detector for Dob {
    fn kind(&self) -> PhiKind {
        PhiKind::Dob
    }
    fn patterns(&self) -> &'static [&'static str] {
        &[
            r"\b[0-9]{1,2}[/-][0-9]{1,2}[/-](?:[0-9]{4}|[0-9]{2})\b",
            r"\b(?:19|20)[0-9]{2}-[0-9]{2}-[0-9]{2}\b",
            r"\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]{0,6}\.? [0-9]{1,2},? [0-9]{4}\b",
            r"\b[0-9]{1,2} (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]{0,6} [0-9]{4}\b",
            r"\b(?:19|20)[0-9]{6}\b",
        ]
    }
    fn check(&self, c: &str, cx: &Context<'_>) -> Option<Verdict> {
        if !cx.has(Kw::Dob) {
            return None;
        }
        let d = v::parse_date(&c.replace(',', ", ").replace(",  ", ", "))
            .or_else(|| v::parse_date(c))?;
        v::plausible_dob(d).then_some(Verdict {
            confidence: Confidence::High,
            reason: "keyword:dob",
        })
    }
    fn check_field(&self, value: &str) -> bool {
        let value = value.trim();
        // Spreadsheet date-times arrive as `1980-02-14 00:00:00`.
        let value = value.split(['T', ' ']).next().unwrap_or(value);
        v::parse_date(value).is_some_and(v::plausible_dob)
    }
}

struct Icd10;
impl Detector for Icd10 {
    fn kind(&self) -> PhiKind {
        PhiKind::Icd10
    }
    fn patterns(&self) -> &'static [&'static str] {
        &[r"\b[A-TV-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{1,4})?\b"]
    }
    fn check(&self, c: &str, cx: &Context<'_>) -> Option<Verdict> {
        if !v::icd10(c) {
            return None;
        }
        if cx.has(Kw::Icd) {
            ok(Confidence::High, "keyword:diagnosis")
        } else {
            None
        }
    }
    fn check_field(&self, value: &str) -> bool {
        v::icd10(value.trim())
    }
}

struct Procedure;
impl Detector for Procedure {
    fn kind(&self) -> PhiKind {
        PhiKind::Procedure
    }
    fn patterns(&self) -> &'static [&'static str] {
        &[r"\bD[0-9]{4}\b", r"\b[0-9]{4}[0-9FTU]\b"]
    }
    fn check(&self, c: &str, cx: &Context<'_>) -> Option<Verdict> {
        (cx.has(Kw::Procedure) && procedure_code(c)).then_some(Verdict {
            confidence: Confidence::High,
            reason: "keyword:procedure",
        })
    }
    fn check_field(&self, value: &str) -> bool {
        procedure_code(value.trim())
    }
}

fn procedure_code(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 5
        && (b[0] == b'D' || b[0].is_ascii_digit())
        && b[1..4].iter().all(u8::is_ascii_digit)
        && (b[4].is_ascii_digit() || b"FTU".contains(&b[4]))
}

struct Address;
impl Detector for Address {
    fn kind(&self) -> PhiKind {
        PhiKind::Address
    }
    fn patterns(&self) -> &'static [&'static str] {
        &[
            r"\b[0-9]{1,6} (?:[NSEW]\.? )?(?:[A-Z][a-z]+ |[0-9]{1,3}(?:st|nd|rd|th) ){1,3}(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Drive|Dr|Lane|Ln|Court|Ct|Way|Place|Pl|Terrace|Ter|Circle|Cir|Parkway|Pkwy|Highway|Hwy|Trail|Trl|Square|Sq)\b\.?(?: (?:Apt|Suite|Ste|Unit|#) ?#?[0-9A-Za-z]{1,5}\b)?",
        ]
    }
    fn check(&self, c: &str, cx: &Context<'_>) -> Option<Verdict> {
        if cx.negative() && !cx.has(Kw::Address) {
            return None;
        }
        ok(
            if cx.has(Kw::Address) {
                Confidence::High
            } else {
                Confidence::Medium
            },
            "shape:street-address",
        )
        .filter(|_| !c.is_empty())
    }
    fn check_field(&self, value: &str) -> bool {
        let t = value.trim();
        let mut words = t.split_whitespace();
        words
            .next()
            .is_some_and(|w| w.bytes().all(|b| b.is_ascii_digit()) && w.len() <= 6)
            && words
                .next()
                .is_some_and(|w| w.bytes().any(|b| b.is_ascii_alphabetic()))
    }
}

/// Two or three capitalised words ("John Smith", "Smith, John", "Mary-Ann J. Lee"), letters with
/// Latin-1 accents included ("José García", "Zoë Müller"), a word that starts with a surname or
/// given-name prefix before its capital ("McDonald", "MacArthur", "O'Connor", "OConnor",
/// "D'Angelo", "DeLuca", "LeBlanc", "VanHouten", "DeAndre", "LaToya"): the engine matches bytes,
/// so an accented letter is its two UTF-8 bytes (`\xC3` and À-Ö/Ø-Þ upper case, ß-ö/ø-ÿ lower
/// case). On ASCII text it matches exactly what `ASCII_NAME` says (a property test holds it to
/// that). ASCII word boundaries do not see accented letters: a word may start with one without
/// `\b`, and a match that stops before one ("Andr|é") is carried to the end of its word by
/// [`word_end`].
const NAME_PATTERN: &str = concat!(
    r"(?:\b(?:Ma?c|O'?|D'|D[aeiu]|L[ae]|V[ao]n)?[A-Z]|\xC3[\x80-\x96\x98-\x9E])(?:[a-z]|\xC3[\x9F-\xB6\xB8-\xBF])+",
    r"(?:-(?:[A-Z]|\xC3[\x80-\x96\x98-\x9E])(?:[a-z]|\xC3[\x9F-\xB6\xB8-\xBF])+)?",
    r",? (?:[A-Z]\.? )?",
    r"(?:(?:Ma?c|O'?|D'|D[aeiu]|L[ae]|V[ao]n)?[A-Z]|\xC3[\x80-\x96\x98-\x9E])(?:[a-z]|\xC3[\x9F-\xB6\xB8-\xBF])*[a-z]",
    r"(?:['-][A-Z]?(?:[a-z]|\xC3[\x9F-\xB6\xB8-\xBF])*[a-z])?\b",
);

/// A name in capitals, as forms, fax sheets and older systems print them: "JOHN SMITH",
/// "MARY-ANN O'BRIEN", "JOHN A. SMITH".
const CAPS_NAME: &str =
    r"\b[A-Z](?:'?[A-Z])+(?:-[A-Z]{2,})? (?:[A-Z]\.? )?[A-Z](?:'?[A-Z])+(?:-[A-Z]{2,})?\b";

/// [`NAME_PATTERN`] on ASCII text, as it reads.
#[cfg(test)]
const ASCII_NAME: &str = concat!(
    r"\b(?:Ma?c|O'?|D'|D[aeiu]|L[ae]|V[ao]n)?[A-Z][a-z]+(?:-[A-Z][a-z]+)?,? (?:[A-Z]\.? )?",
    r"(?:Ma?c|O'?|D'|D[aeiu]|L[ae]|V[ao]n)?[A-Z][a-z]+(?:['-][A-Z]?[a-z]+)?\b",
);

/// The end of the word that `end` is inside of: past letters beyond ASCII (an ASCII letter
/// cannot follow a match that ends at a word boundary).
fn word_end(text: &str, end: usize) -> usize {
    text.get(end..).map_or(end, |rest| {
        end + rest
            .char_indices()
            .find(|&(_, c)| c.is_ascii() || !c.is_alphabetic())
            .map_or(rest.len(), |(i, _)| i)
    })
}

struct Name;
impl Detector for Name {
    fn kind(&self) -> PhiKind {
        PhiKind::Name
    }
    fn patterns(&self) -> &'static [&'static str] {
        &[NAME_PATTERN, r"\b[A-Z]{2,}, [A-Z]{2,}\b", CAPS_NAME]
    }
    fn check(&self, c: &str, cx: &Context<'_>) -> Option<Verdict> {
        let mut tokens = c
            .split([' ', ','])
            .filter(|t| !t.is_empty() && t.len() > 1 && !t.ends_with('.'));
        let (first, last) = match (tokens.next(), tokens.next_back()) {
            (Some(f), Some(l)) => (f, l),
            _ => return None,
        };
        // "Smith, John" lists the surname first.
        let (first, last) = if c.contains(',') {
            (last, first)
        } else {
            (first, last)
        };
        // Stop words are looked up only for what would be reported: most candidates are not.
        let stop = || names::is_stop(first) || names::is_stop(last);
        // "Referred by Dr. Gregory House": a doctor, reported as a name but counted as no patient
        // (the reason says so: [`STAFF_REASON`]).
        let doctor = {
            let b = cx.before.trim_end();
            b.ends_with("Dr.") || b.ends_with(" Dr") || b == "Dr"
        };
        // "Mary-Ann", "Garcia-Lopez": a name of two listed names.
        if first.split('-').any(names::is_first) && last.split('-').any(names::is_last) {
            if stop() {
                return None;
            }
            let confidence = if cx.has(Kw::Name) {
                Confidence::High
            } else {
                Confidence::Medium
            };
            return ok(confidence, if doctor { STAFF_REASON } else { "name-lists" });
        }
        let titled = cx.before.trim_end().ends_with("Mr.")
            || cx.before.trim_end().ends_with("Mrs.")
            || cx.before.trim_end().ends_with("Ms.")
            || cx.before.trim_end().ends_with("Dr.");
        // Text in capitals runs on after a bare label ("THE PATIENT WAS SEEN"): there a name
        // needs a label with its colon ("PATIENT: ") or a salutation.
        let caps = !c.bytes().any(|b| b.is_ascii_lowercase());
        let before = cx.before.trim_end();
        let labelled = label_before(cx.before)
            && (!caps
                || before.ends_with(':')
                || before
                    .len()
                    .checked_sub(4)
                    .and_then(|at| before.get(at..))
                    .is_some_and(|w| w.eq_ignore_ascii_case("dear")));
        if (titled || labelled) && !stop() {
            return ok(
                Confidence::Medium,
                if doctor { STAFF_REASON } else { "keyword:name" },
            );
        }
        None
    }
    fn check_field(&self, value: &str) -> bool {
        person_name(value)
    }
}

/// The reason of a name found after a doctor's title: staff, counted as no patient.
pub const STAFF_REASON: &str = "title:doctor";

/// "Patient: ", "Dear" or "Mrs." directly before the candidate, as a whole word ("forms" does not
/// end in the title "Ms", nor "outpatient" in "patient").
fn label_before(before: &str) -> bool {
    let b = before.trim_end().as_bytes();
    [
        "patient:",
        "name:",
        "patient name:",
        "dear",
        "pt:",
        "insured:",
        "guarantor:",
        "re:",
        "patient",
        "referring",
        "referred",
        "mr",
        "mrs",
        "ms",
        "miss",
    ]
    .iter()
    .any(|l| {
        b.len().checked_sub(l.len()).is_some_and(|at| {
            (at == 0 || !b[at - 1].is_ascii_alphanumeric())
                && b[at..].eq_ignore_ascii_case(l.as_bytes())
        })
    })
}

/// A value that a "name" column can hold: 1-5 alphabetic tokens.
pub fn person_name(value: &str) -> bool {
    // Every name cell passes here: iterate the tokens, no allocation.
    let tokens = || {
        value
            .split(|c: char| c.is_whitespace() || c == ',' || c == '^')
            .filter(|t| !t.is_empty())
    };
    (1..=5).contains(&tokens().count())
        && tokens().any(|t| t.chars().filter(|c| c.is_alphabetic()).count() >= 2)
        && tokens().all(|t| {
            t.chars()
                .all(|c| c.is_alphabetic() || c == '\'' || c == '-' || c == '.')
        })
        && value.chars().next().is_some_and(char::is_uppercase)
}

struct Ip;
impl Detector for Ip {
    fn kind(&self) -> PhiKind {
        PhiKind::Ip
    }
    fn patterns(&self) -> &'static [&'static str] {
        &[r"\b[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\b"]
    }
    fn check(&self, c: &str, cx: &Context<'_>) -> Option<Verdict> {
        (v::ipv4(c) && !cx.before.ends_with('.') && !cx.before.to_ascii_lowercase().ends_with('v'))
            .then_some(Verdict {
                confidence: Confidence::Low,
                reason: "shape:ipv4",
            })
    }
    fn check_field(&self, value: &str) -> bool {
        v::ipv4(value.trim())
    }
}

struct Url;
impl Detector for Url {
    fn kind(&self) -> PhiKind {
        PhiKind::Url
    }
    fn patterns(&self) -> &'static [&'static str] {
        &[r"\bhttps?://[A-Za-z0-9.-]+(?:/[A-Za-z0-9._~%/?#=&+-]*)?"]
    }
    fn check(&self, c: &str, _cx: &Context<'_>) -> Option<Verdict> {
        // The evidence keeps the host: no host is longer than 253 characters (RFC 1035).
        let host = c.split_once("://").map_or(c, |(_, rest)| rest);
        let host = host.split('/').next().unwrap_or(host);
        if host.len() > 253 {
            return None;
        }
        ok(Confidence::Low, "shape:url")
    }
    fn check_field(&self, value: &str) -> bool {
        let v = value.trim();
        v.starts_with("http://") || v.starts_with("https://")
    }
}

/// Value kinds found only by a label in front of them ("MRN: A12345", "Member ID W123456789").
struct Labelled {
    kind: PhiKind,
    kw: Kw,
    min: usize,
}
impl Detector for Labelled {
    fn kind(&self) -> PhiKind {
        self.kind
    }
    fn patterns(&self) -> &'static [&'static str] {
        &[]
    }
    fn check(&self, c: &str, cx: &Context<'_>) -> Option<Verdict> {
        (cx.has(self.kw) && id_token(c, self.min, 20)).then_some(Verdict {
            confidence: Confidence::Medium,
            reason: "label",
        })
    }
    fn check_field(&self, value: &str) -> bool {
        id_token(value, self.min, 24)
    }
}

/// What structural context (a field name) says a value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldClass {
    /// The field holds this kind of identifier.
    Kind(PhiKind),
    /// The field holds something that is not about a person (invoice number, part number, ...).
    NotPhi,
}

/// Classify a field name (CSV header, JSON key, SQL column, XML element, HL7 field, DICOM tag).
pub fn classify_field(field: &str) -> Option<FieldClass> {
    use FieldClass::{Kind, NotPhi};
    if is_hl7_field(field) {
        return hl7_field(field).map(Kind);
    }
    if field.starts_with('(') && field.get(5..6) == Some(",") {
        return dicom_field(field).map(Kind);
    }
    let f: String = field
        .rsplit(['.', '/', ':'])
        .next()
        .unwrap_or(field)
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .flat_map(|c| c.to_lowercase())
        .collect();
    let has = |s: &str| f.contains(s);
    let k = if has("invoice")
        || has("order")
        || (has("part") && !has("party"))
        || has("lot")
        || has("serial")
        || has("sku")
        || has("tracking")
        || has("filename")
        || has("username")
        || has("hostname")
        || has("drug")
        || has("product")
        || has("practice")
        || has("company")
        || has("vendor")
        || has("item")
        || has("batch")
        || has("clinic")
        || has("facility")
        || has("institution")
        || has("payer")
        || has("carrier")
        || has("employer")
        || has("pharmacy")
        || has("office")
        || has("department")
        || has("insurer")
        || has("insurancename")
        || has("planname")
        || has("description")
        || has("procedurename")
        || has("testname")
        || has("location")
        || has("authority")
        || f == "desc"
    {
        NotPhi
    } else if has("dob") || has("birth") {
        Kind(PhiKind::Dob)
    } else if has("ssn") || has("socialsec") || has("socsec") {
        Kind(PhiKind::Ssn)
    } else if has("mbi") || has("medicare") {
        Kind(PhiKind::Mbi)
    } else if has("npi") {
        Kind(PhiKind::Npi)
    } else if f == "dea" || has("deanumber") || has("deano") {
        Kind(PhiKind::Dea)
    } else if has("routing") || f == "aba" || f == "rtn" {
        Kind(PhiKind::Routing)
    } else if has("bankaccount") || has("checking") || has("accountnumberbank") {
        Kind(PhiKind::BankAccount)
    } else if has("card") || f == "pan" || has("ccnum") {
        Kind(PhiKind::Card)
    } else if has("email") {
        Kind(PhiKind::Email)
    } else if has("ipaddr") || f == "ip" || has("clientip") {
        Kind(PhiKind::Ip)
    } else if has("mrn")
        || has("medicalrecord")
        || has("chart")
        || f == "patientid"
        || f == "ptid"
        // Open Dental's PatNum and the like: the practice's own number for the patient.
        || f == "patnum"
        || f == "patientnum"
        || f == "patientnumber"
        || f == "patno"
    {
        Kind(PhiKind::Mrn)
    } else if has("memberid")
        || has("subscriberid")
        || has("policy")
        || has("insuranceid")
        || has("insuredid")
        || has("planid")
        || has("medicaid")
        || f == "member"
        || has("membernum")
        || has("memberno")
        || f == "insid"
        || f == "insno"
    {
        Kind(PhiKind::PlanId)
    } else if has("account") || has("acct") {
        Kind(PhiKind::Account)
    } else if has("phone") || has("tel") || has("mobile") || has("cell") || has("fax") {
        Kind(PhiKind::Phone)
    } else if has("street") || has("address") || has("addr") {
        Kind(PhiKind::Address)
    } else if has("diagnos") || has("icd") || f == "dx" {
        Kind(PhiKind::Icd10)
    } else if has("cpt") || has("cdt") || has("proccode") || has("procedurecode") || has("hcpcs") {
        Kind(PhiKind::Procedure)
    } else if has("url") || has("website") {
        Kind(PhiKind::Url)
    } else if has("name")
        || f == "first"
        || f == "last"
        || f == "given"
        || f == "family"
        || f == "patient"
        || f == "guarantor"
        || f == "insured"
        || has("physician")
        || has("provider")
        || has("doctor")
        || f == "fname"
        || f == "lname"
        || f == "subscriber"
        // PATIENT_LAST_NM, RESP_PARTY (the responsible party, who pays).
        || f.ends_with("nm")
        || has("respparty")
        || has("responsibleparty")
    {
        Kind(PhiKind::Name)
    } else {
        return None;
    };
    Some(k)
}

/// Whether a field names the practice's staff rather than a patient: the provider of a visit, the
/// referring or attending physician, the hygienist (HL7 PV1-7, DICOM Referring Physician's Name).
/// Their names are identifiers all the same, and reported; they count no patient.
pub fn is_staff_field(field: &str) -> bool {
    if is_hl7_field(field) {
        return matches!(
            field,
            "PV1-7" | "PV1-8" | "PV1-9" | "PV1-17" | "ORC-12" | "OBR-16" | "OBR-28" | "PD1-4"
        );
    }
    let f: String = field
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    [
        "provider",
        "physician",
        "doctor",
        "dentist",
        "hygienist",
        "referring",
        "attending",
        "prescriber",
        "clinician",
        "surgeon",
        "operatorsname",
    ]
    .iter()
    .any(|w| f.contains(w))
}

/// `PID-7`, `IN1-36`: a segment id and a field number.
fn is_hl7_field(field: &str) -> bool {
    field.split_once('-').is_some_and(|(seg, n)| {
        seg.len() == 3
            && seg
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
            && !n.is_empty()
            && n.bytes().all(|b| b.is_ascii_digit())
    })
}

/// HL7 v2 fields by position (`PID-7`).
fn hl7_field(field: &str) -> Option<PhiKind> {
    let (seg, n) = field.split_once('-')?;
    if seg.len() != 3
        || !seg
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    {
        return None;
    }
    let n: u32 = n.parse().ok()?;
    Some(match (seg, n) {
        ("PID", 3) | ("PID", 2) | ("PID", 4) => PhiKind::Mrn,
        ("PID", 5) | ("PID", 6) | ("PID", 9) => PhiKind::Name,
        ("PID", 7) | ("GT1", 8) | ("IN1", 18) | ("NK1", 16) => PhiKind::Dob,
        ("PID", 11) | ("NK1", 4) | ("GT1", 5) | ("IN1", 19) => PhiKind::Address,
        ("PID", 13) | ("PID", 14) | ("NK1", 5) | ("NK1", 6) | ("GT1", 6) | ("GT1", 7) => {
            PhiKind::Phone
        }
        ("PID", 18) => PhiKind::Account,
        ("PID", 19) | ("GT1", 12) | ("NK1", 37) => PhiKind::Ssn,
        ("NK1", 2) | ("GT1", 3) | ("IN1", 16) | ("PV1", 7) | ("PV1", 8) | ("PV1", 9) => {
            PhiKind::Name
        }
        ("IN1", 36) | ("IN1", 49) | ("IN2", 1) => PhiKind::PlanId,
        ("DG1", 3) => PhiKind::Icd10,
        ("PR1", 3) | ("FT1", 25) => PhiKind::Procedure,
        _ => return None,
    })
}

/// DICOM attributes by tag (`(0010,0030) PatientBirthDate`).
fn dicom_field(field: &str) -> Option<PhiKind> {
    let tag = field.strip_prefix('(')?.get(..9)?;
    Some(match tag {
        "0010,0010" | "0010,1001" | "0008,0090" | "0008,1050" | "0008,1060" | "0008,1070"
        | "0010,1060" | "0032,1032" => PhiKind::Name,
        "0010,0020" | "0010,1000" | "0010,1090" => PhiKind::Mrn,
        "0010,0030" => PhiKind::Dob,
        "0010,1040" => PhiKind::Address,
        "0010,2154" => PhiKind::Phone,
        _ => return None,
    })
}

/// What a field name says, cached per file by the extractor context.
#[derive(Debug, Clone, Default)]
pub struct FieldInfo {
    /// The class the name gives its values.
    pub class: Option<FieldClass>,
    /// Keywords in the name, context for free-text detection of its values.
    pub kws: Vec<Kw>,
}

/// Scratch space for candidate contexts, reused across candidates and units (no allocation per
/// unit once warm).
#[derive(Debug, Default)]
pub struct Scratch {
    /// Keyword positions in the unit (start, end, class), found on first need.
    all: Vec<(usize, usize, Kw)>,
    /// `all` holds the current unit's keywords.
    all_ready: bool,
    /// Keywords near the current candidate, by end position.
    near: Vec<(usize, Kw)>,
    /// The context of the current candidate, nearest first, then the field's keywords.
    kws: Vec<Kw>,
}

/// One accepted match in a unit's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub kind: PhiKind,
    pub start: usize,
    pub end: usize,
    pub confidence: Confidence,
    /// Why the match was accepted (no allocation per hit).
    pub reason: Reason,
}

/// Why a match was accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// A detector's rule (`keyword:ssn`, `luhn+issuer`, `label`).
    Rule(&'static str),
    /// The field the value sits in names its type (reported as `field:<name>`).
    Field,
}

impl Reason {
    /// A name found as the practice's staff ([`STAFF_REASON`]): reported, counted as no patient.
    pub fn is_staff(self) -> bool {
        self == Reason::Rule(STAFF_REASON)
    }
}

/// All detectors compiled into one multi-pattern regex plus keyword automata.
pub struct Engine {
    detectors: Vec<Box<dyn Detector>>,
    /// `detectors[i].kind()`, so looking a detector up by kind needs no virtual calls.
    kinds: Vec<PhiKind>,
    /// Pattern id -> detectors that share the shape (first is the pattern's owner).
    pattern_owner: Vec<usize>,
    regex: Regex,
    keywords: AhoCorasick,
    health: AhoCorasick,
    labels: AhoCorasick,
}

/// The labels that introduce a value with no checkable shape.
const LABELS: &[(&str, PhiKind)] = &[
    ("mrn", PhiKind::Mrn),
    ("medical record number", PhiKind::Mrn),
    ("medical record #", PhiKind::Mrn),
    ("chart #", PhiKind::Mrn),
    ("chart number", PhiKind::Mrn),
    ("chart no", PhiKind::Mrn),
    ("patient id", PhiKind::Mrn),
    ("member id", PhiKind::PlanId),
    ("member #", PhiKind::PlanId),
    ("subscriber id", PhiKind::PlanId),
    ("policy #", PhiKind::PlanId),
    ("policy number", PhiKind::PlanId),
    ("policy no", PhiKind::PlanId),
    ("insurance id", PhiKind::PlanId),
    ("account #", PhiKind::Account),
    ("account number", PhiKind::Account),
    ("account no", PhiKind::Account),
    ("acct #", PhiKind::Account),
    ("acct", PhiKind::Account),
    ("bank account", PhiKind::BankAccount),
    ("checking account", PhiKind::BankAccount),
    ("checking", PhiKind::BankAccount),
    ("routing", PhiKind::Routing),
    ("aba", PhiKind::Routing),
];

static ENGINE: OnceLock<Result<Engine, String>> = OnceLock::new();

impl Engine {
    /// The shared engine (compiled once per process).
    pub fn get() -> Result<&'static Engine, String> {
        ENGINE
            .get_or_init(|| Engine::build().map_err(|e| e.to_string()))
            .as_ref()
            .map_err(Clone::clone)
    }

    fn build() -> Result<Engine, Box<dyn std::error::Error>> {
        let detectors: Vec<Box<dyn Detector>> = vec![
            Box::new(Email),
            Box::new(Url),
            Box::new(Ssn),
            Box::new(Card),
            Box::new(Phone),
            Box::new(Npi),
            Box::new(Dob),
            Box::new(Mbi),
            Box::new(Dea),
            Box::new(Address),
            Box::new(Ip),
            Box::new(Icd10),
            Box::new(Procedure),
            Box::new(Name),
            Box::new(Routing),
            Box::new(BankAccount),
            Box::new(Labelled {
                kind: PhiKind::Mrn,
                kw: Kw::Mrn,
                min: 4,
            }),
            Box::new(Labelled {
                kind: PhiKind::PlanId,
                kw: Kw::Plan,
                min: 5,
            }),
            Box::new(Labelled {
                kind: PhiKind::Account,
                kw: Kw::Account,
                min: 4,
            }),
        ];
        let mut pats = Vec::new();
        let mut owner = Vec::new();
        for (i, d) in detectors.iter().enumerate() {
            for p in d.patterns() {
                pats.push(*p);
                owner.push(i);
            }
        }
        let regex = Regex::builder()
            .syntax(syntax::Config::new().unicode(false).utf8(false))
            .build_many(&pats)?;
        let keywords = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .build(KEYWORDS.iter().map(|(k, _)| k))?;
        let health = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .build(HEALTH_TERMS)?;
        let labels = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::LeftmostLongest)
            .build(LABELS.iter().map(|(k, _)| k))?;
        Ok(Engine {
            kinds: detectors.iter().map(|d| d.kind()).collect(),
            detectors,
            pattern_owner: owner,
            regex,
            keywords,
            health,
            labels,
        })
    }

    fn detector(&self, kind: PhiKind) -> Option<&dyn Detector> {
        let i = self.kinds.iter().position(|&k| k == kind)?;
        self.detectors.get(i).map(|d| d.as_ref())
    }

    /// Whether the text mentions health information (clinical words, drug names). A term must
    /// start a word: "Shivers" does not mention HIV, "Amrita" no MRI.
    pub fn mentions_health(&self, text: &str) -> bool {
        let b = text.as_bytes();
        let alnum = |i: usize| b.get(i).is_some_and(u8::is_ascii_alphanumeric);
        self.health.find_overlapping_iter(text).any(|m| {
            let starts = m.start() == 0 || !alnum(m.start() - 1);
            let stem = HEALTH_TERMS
                .get(m.pattern().as_usize())
                .is_some_and(|t| HEALTH_STEMS.contains(t));
            // Whole words may take a plural "s" ("crowns", "allergies" is listed as is).
            let ends = stem
                || !alnum(m.end())
                || (matches!(b.get(m.end()), Some(b's' | b'S')) && !alnum(m.end() + 1));
            starts && ends
        })
    }

    /// What a field name says: its class and the keywords in it (computed once per field name).
    pub fn field_info(&self, field: &str) -> FieldInfo {
        FieldInfo {
            class: classify_field(field),
            kws: self
                .keywords
                .find_overlapping_iter(field)
                .filter_map(|m| KEYWORDS.get(m.pattern().as_usize()).map(|k| k.1))
                .collect(),
        }
    }

    /// Check a value whose field says what it is. `None` when the field does not classify it.
    pub fn check_field(&self, field: &str, value: &str) -> Option<Result<Hit, FieldClass>> {
        self.check_class(classify_field(field)?, value)
    }

    /// Check a value against the class its field was given.
    pub fn check_class(&self, class: FieldClass, value: &str) -> Option<Result<Hit, FieldClass>> {
        let FieldClass::Kind(kind) = class else {
            return Some(Err(class));
        };
        let trimmed = value.trim();
        let start = value.len() - value.trim_start().len();
        if trimmed.is_empty() {
            return Some(Err(class));
        }
        let valid = self.detector(kind).is_some_and(|d| d.check_field(trimmed));
        if valid {
            Some(Ok(Hit {
                kind,
                start,
                end: start + trimmed.len(),
                confidence: Confidence::High,
                reason: Reason::Field,
            }))
        } else {
            Some(Err(class))
        }
    }

    /// Find identifiers in free text. `field` (if any) counts as context before every match.
    pub fn scan_text(&self, text: &str, field: Option<&str>, out: &mut Vec<Hit>) {
        let kws = field.map(|f| self.field_info(f).kws).unwrap_or_default();
        self.scan_text_kws(text, &kws, out, &mut Scratch::default());
    }

    /// Find identifiers in free text with the keywords of its field already known.
    pub fn scan_text_kws(
        &self,
        text: &str,
        field_kws: &[Kw],
        out: &mut Vec<Hit>,
        scratch: &mut Scratch,
    ) {
        let base = out.len();
        scratch.all_ready = false;
        let mut pos = 0usize;
        // Keywords label the value after them: a window never reaches back past an earlier
        // accepted value ("ssn=536228726 status=ok order=123456789").
        let mut floor = 0usize;
        while pos < text.len() {
            let input = regex_automata::Input::new(text).span(pos..text.len());
            let Some(m) = self.regex.search(&input) else {
                break;
            };
            let (s, mut e) = (m.start(), m.end());
            let pid = m.pattern().as_usize();
            if self.pattern_owner.get(pid).and_then(|&o| self.kinds.get(o)) == Some(&PhiKind::Name)
            {
                e = word_end(text, e);
            }
            let accepted = self.try_candidate(text, (s, e, floor), pid, field_kws, scratch, out);
            if accepted {
                floor = e;
            }
            pos = if accepted {
                e.max(s + 1)
            } else {
                // A rejected candidate may hide a real one inside it ("Patient John Smith"):
                // resume after its first word.
                let first_word = text[s..e]
                    .find([' ', ',', '-', '/', '.'])
                    .map(|i| s + i + 1)
                    .unwrap_or(e);
                first_word.max(s + 1)
            };
            while pos < text.len() && !text.is_char_boundary(pos) {
                pos += 1;
            }
        }
        self.scan_labels(text, out);
        dedupe(out, base);
    }

    /// Fill `sc.kws` with the keywords in the window before `start` (nearest first, never
    /// before `floor`), then the field's keywords.
    fn context_at(
        &self,
        text: &str,
        start: usize,
        floor: usize,
        field_kws: &[Kw],
        sc: &mut Scratch,
    ) {
        if !sc.all_ready {
            sc.all.clear();
            sc.all
                .extend(self.keywords.find_overlapping_iter(text).filter_map(|m| {
                    KEYWORDS
                        .get(m.pattern().as_usize())
                        .filter(|_| word_bounded(text, m.start(), m.end()))
                        .map(|k| (m.start(), m.end(), k.1))
                }));
            // By end, so each candidate finds its window by binary search: a long line holds
            // thousands of keywords and candidates (scanning them all per candidate was
            // quadratic).
            sc.all.sort_by_key(|&(_, e, _)| e);
            sc.all_ready = true;
        }
        let all = &sc.all;
        let lo = start.saturating_sub(WINDOW).max(floor);
        let window = &all[all.partition_point(|&(_, e, _)| e < lo)..];
        let window = &window[..window.partition_point(|&(_, e, _)| e <= start)];
        sc.near.clear();
        sc.near.extend(
            window
                .iter()
                .filter(|&&(s, _, _)| s >= lo.saturating_sub(8))
                .map(|&(_, e, k)| (e, k)),
        );
        sc.near.sort_by_key(|&(e, _)| std::cmp::Reverse(e));
        sc.kws.clear();
        sc.kws.extend(sc.near.iter().map(|&(_, k)| k));
        sc.kws.extend_from_slice(field_kws);
    }

    fn try_candidate(
        &self,
        text: &str,
        (s, e, floor): (usize, usize, usize),
        pid: usize,
        field_kws: &[Kw],
        sc: &mut Scratch,
        out: &mut Vec<Hit>,
    ) -> bool {
        let Some(cand) = text.get(s..e) else {
            return false;
        };
        let Some(&owner) = self.pattern_owner.get(pid) else {
            return false;
        };
        self.context_at(text, s, floor, field_kws, sc);
        let cx = Context {
            kws: &sc.kws,
            before: window_before(text, s),
        };
        // A shape can mean several things: a 9-digit number is an SSN, a routing or an account
        // number depending on the keyword before it.
        let Some(first) = self.detectors.get(owner) else {
            return false;
        };
        let alts = self
            .alternatives(cand)
            .iter()
            .filter_map(|&k| self.detector(k));
        for d in std::iter::once(first.as_ref()).chain(alts) {
            if let Some(vd) = d.check(cand, &cx) {
                out.push(Hit {
                    kind: d.kind(),
                    start: s,
                    end: e,
                    confidence: vd.confidence,
                    reason: Reason::Rule(vd.reason),
                });
                return true;
            }
        }
        false
    }

    /// Shapes shared by several kinds: bare digit strings.
    fn alternatives(&self, cand: &str) -> &'static [PhiKind] {
        let b = cand.as_bytes();
        if !b.iter().all(u8::is_ascii_digit) {
            return if b.len() >= 11 {
                &[PhiKind::Account]
            } else {
                &[]
            };
        }
        match b.len() {
            9 => &[
                PhiKind::Routing,
                PhiKind::BankAccount,
                PhiKind::PlanId,
                PhiKind::Account,
                PhiKind::Mrn,
            ],
            10 => &[
                PhiKind::Phone,
                PhiKind::BankAccount,
                PhiKind::Account,
                PhiKind::Mrn,
                PhiKind::PlanId,
            ],
            _ => &[
                PhiKind::BankAccount,
                PhiKind::Account,
                PhiKind::Mrn,
                PhiKind::PlanId,
            ],
        }
    }

    /// "MRN: 0012345", "Member ID W123456789": the token after a label.
    fn scan_labels(&self, text: &str, out: &mut Vec<Hit>) {
        // Every labelled value holds at least three digits: most prose lines cannot hold one,
        // and counting digits costs far less than searching for the labels.
        if text.bytes().filter(u8::is_ascii_digit).count() < 3 {
            return;
        }
        for m in self.labels.find_iter(text) {
            if !word_bounded(text, m.start(), m.end()) {
                continue;
            }
            let Some(&(_, kind)) = LABELS.get(m.pattern().as_usize()) else {
                continue;
            };
            let rest = &text[m.end()..];
            // In bytes: a no-break space is one character of two bytes.
            let skip: usize = rest
                .char_indices()
                .take_while(|(i, c)| {
                    *i < 16 && (c.is_whitespace() || matches!(c, ':' | '#' | '=' | '-' | '.'))
                })
                .map(|(_, c)| c.len_utf8())
                .sum();
            let mut vstart = m.end() + skip;
            // "Policy number:", "ID:" words between the label and the value.
            let tail = &text[vstart..];
            for filler in ["number", "no.", "no", "num", "id", "#"] {
                let t = tail.get(..filler.len());
                if t.is_some_and(|t| t.eq_ignore_ascii_case(filler))
                    && tail[filler.len()..].starts_with([' ', ':', '#'])
                {
                    vstart += filler.len();
                    vstart += text[vstart..]
                        .chars()
                        .take_while(|c| c.is_whitespace() || matches!(c, ':' | '#'))
                        .map(char::len_utf8)
                        .sum::<usize>();
                    break;
                }
            }
            let value_len = text[vstart..]
                .bytes()
                .take_while(|b| b.is_ascii_alphanumeric() || *b == b'-')
                .count();
            let vend = vstart + value_len;
            let value = &text[vstart..vend];
            let valid = match kind {
                PhiKind::Routing => v::aba(value),
                PhiKind::BankAccount => digits_only(value, 4, 17),
                _ => {
                    id_token(value, 4, 20) && value.bytes().filter(u8::is_ascii_digit).count() >= 3
                }
            };
            if valid {
                out.push(Hit {
                    kind,
                    start: vstart,
                    end: vend,
                    confidence: Confidence::Medium,
                    reason: Reason::Rule("label"),
                });
            }
        }
    }
}

/// Keep one hit per span: the first (most specific) wins where spans overlap. In place.
fn dedupe(out: &mut Vec<Hit>, base: usize) {
    if out.len() - base < 2 {
        return;
    }
    out[base..].sort_by_key(|h| (h.start, std::cmp::Reverse(h.end)));
    let mut kept = base;
    let mut last_end = 0usize;
    for i in base..out.len() {
        if out[i].start >= last_end || kept == base {
            last_end = out[i].end;
            out.swap(kept, i);
            kept += 1;
        }
    }
    out.truncate(kept);
}

fn word_bounded(text: &str, s: usize, e: usize) -> bool {
    let b = text.as_bytes();
    let before = s == 0 || !b.get(s - 1).is_some_and(u8::is_ascii_alphanumeric);
    let last_alnum = b
        .get(e.wrapping_sub(1))
        .is_some_and(u8::is_ascii_alphanumeric);
    let after = !last_alnum || !b.get(e).is_some_and(u8::is_ascii_alphabetic);
    before && after
}

fn window_before(text: &str, start: usize) -> &str {
    let mut lo = start.saturating_sub(WINDOW);
    while lo < start && !text.is_char_boundary(lo) {
        lo += 1;
    }
    text.get(lo..start).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn spans(pattern: &str, text: &str) -> Vec<(usize, usize)> {
        let re = Regex::builder()
            .syntax(syntax::Config::new().unicode(false).utf8(false))
            .build(pattern)
            .expect("pattern");
        re.find_iter(text).map(|m| (m.start(), m.end())).collect()
    }

    proptest! {
        /// On ASCII text the name pattern matches exactly what the ASCII-only one did.
        #[test]
        fn name_pattern_is_the_ascii_one_on_ascii(text in "[A-Za-z .,'0-9-]{0,60}") {
            prop_assert_eq!(spans(NAME_PATTERN, &text), spans(ASCII_NAME, &text));
        }
    }

    #[test]
    fn labels_followed_by_wide_spaces() {
        // A no-break space (two bytes) after a label was counted as one byte: the value's start
        // fell inside it and the scan panicked (found by fuzzing the vCard reader).
        for text in [
            "acct\u{a0}12345678",
            "Policy number:\u{a0}\u{2003}W1234567",
            "4.0DAY:1962-nce 201508)043\u{fe}\u{ff}2-acct\u{a0}187N:aCoNN",
        ] {
            let _ = kinds(text);
        }
        assert!(
            kinds("Account #:\u{a0}12345678")
                .iter()
                .any(|(k, v)| *k == PhiKind::Account && v == "12345678")
        );
    }

    #[test]
    fn titles_and_words_ending_like_labels_are_not_names() {
        for text in [
            "Patient Birthday List",
            "Patient Portal Login",
            "See the terms Apply Here for details",
            "Outpatient Surgery Center",
        ] {
            let names: Vec<_> = kinds(text)
                .into_iter()
                .filter(|(k, _)| *k == PhiKind::Name)
                .collect();
            assert!(names.is_empty(), "{text:?}: {names:?}");
        }
        // Real labels still introduce names no list holds.
        for (text, name) in [
            (
                "Patient Xochitl Zorquil called about a refund.",
                "Xochitl Zorquil",
            ),
            ("Dear Ms. Ysogra Nixyso,", "Ysogra Nixyso"),
            (
                "I am referring Ysogra Nixyso for evaluation.",
                "Ysogra Nixyso",
            ),
        ] {
            assert!(
                kinds(text)
                    .iter()
                    .any(|(k, v)| *k == PhiKind::Name && v == name),
                "{text:?}"
            );
        }
    }

    #[test]
    fn doctors_are_named_but_are_no_patients() {
        let text = "Patient Maria Gonzalez was referred by Dr. Gregory House, seen by Dr. Lisa Cuddy \
                    and called by Dr John Smith.";
        let e = Engine::get().expect("engine");
        let mut hits = Vec::new();
        e.scan_text(text, None, &mut hits);
        let reasons: Vec<(&str, Reason)> = hits
            .iter()
            .map(|h| (&text[h.start..h.end], h.reason))
            .collect();
        assert_eq!(
            reasons,
            [
                ("Maria Gonzalez", Reason::Rule("name-lists")),
                ("Gregory House", Reason::Rule(STAFF_REASON)),
                ("Lisa Cuddy", Reason::Rule(STAFF_REASON)),
                ("John Smith", Reason::Rule(STAFF_REASON)),
            ]
        );
        let o = crate::scan_bytes(
            "note.txt",
            text.as_bytes(),
            &crate::ScanOptions::default(),
            &crate::Hasher::with_key([1; 32]),
        )
        .expect("scan");
        assert_eq!(o.report.counts.get(&PhiKind::Name), Some(&4));
        assert_eq!(o.report.individuals, 1);
    }

    #[test]
    fn names_in_capitals() {
        finds_names(&[
            ("PATIENT: JOHN SMITH   DOB: 02/14/1980", "JOHN SMITH"),
            ("RE: MARIA GONZALEZ", "MARIA GONZALEZ"),
            ("PATIENT NAME: XOCHITL ZORQUIL", "XOCHITL ZORQUIL"),
            ("DEAR YSOGRA NIXYSO,", "YSOGRA NIXYSO"),
            ("FAX TO DR. OFFICE RE MARY-ANN O'BRIEN", "MARY-ANN O'BRIEN"),
        ]);
        // Capitals run on after a bare label; words of a licence are in no list.
        finds_no_name(&[
            "THE PATIENT WAS SEEN TODAY FOR ROUTINE CLEANING.",
            "NEW PATIENT FORM",
            "IN NO EVENT SHALL THE AUTHORS BE LIABLE FOR ANY CLAIM",
        ]);
    }

    #[test]
    fn surnames_with_prefixes_in_free_text() {
        finds_names(&[
            ("Patient: John McDonald", "John McDonald"),
            ("Patient: Mary O'Connor, DOB on file", "Mary O'Connor"),
            ("Patient: Mary OConnor", "Mary OConnor"),
            ("Patient: Luis DeLuca", "Luis DeLuca"),
            ("Patient: Ann LeBlanc", "Ann LeBlanc"),
            ("Dear Sean MacArthur,", "Sean MacArthur"),
            ("Patient: Gina D'Angelo", "Gina D'Angelo"),
            // No label: both names are in the lists, the apostrophe aside.
            ("Mary O'Connor called about her bill.", "Mary O'Connor"),
            (
                "DeAndre McMillan called about his bill.",
                "DeAndre McMillan",
            ),
        ]);
        // A prefix is no name by itself, nor a capital run.
        finds_no_name(&[
            "Call the MacBook Pro desk.",
            "Our OK Google speaker",
            "McKesson Supply invoice",
        ]);
    }

    #[test]
    fn accented_names_in_free_text() {
        finds_names(&[
            ("Patient: José García, seen today.", "José García"),
            ("Seen with her mother María Hernández.", "María Hernández"),
            (
                "Referred by Dr. Zoë Müller for a second opinion.",
                "Zoë Müller",
            ),
            ("Patient: Renée André", "Renée André"),
            ("Éric Martínez called about his bill.", "Éric Martínez"),
        ]);
    }

    /// Each text holds the name given with it.
    fn finds_names(cases: &[(&str, &str)]) {
        for &(text, name) in cases {
            let found = kinds(text);
            assert!(
                found.iter().any(|(k, v)| *k == PhiKind::Name && v == name),
                "{name:?} in {text:?}: {found:?}"
            );
        }
    }

    /// No text holds a name.
    fn finds_no_name(texts: &[&str]) {
        for text in texts {
            assert!(
                !kinds(text).iter().any(|(k, _)| *k == PhiKind::Name),
                "{text:?}"
            );
        }
    }

    fn kinds(text: &str) -> Vec<(PhiKind, String)> {
        let e = Engine::get().expect("engine");
        let mut out = Vec::new();
        e.scan_text(text, None, &mut out);
        out.into_iter()
            .map(|h| (h.kind, text[h.start..h.end].to_string()))
            .collect()
    }

    #[test]
    fn urls_and_emails_are_bounded_by_their_rules_not_the_pattern() {
        let long_path = format!("see https://portal.example.org/{} now", "a".repeat(3000));
        assert_eq!(kinds(&long_path).len(), 1, "a long path is still a URL");
        let junk_host = format!("see https://{} now", "a".repeat(300));
        assert!(
            kinds(&junk_host).is_empty(),
            "no host is 300 characters long"
        );
        let long_local = format!("mail {}@example.org", "a".repeat(65));
        assert!(
            kinds(&long_local).is_empty(),
            "local part over 64 characters"
        );
        assert_eq!(
            kinds("mail jane.doe@mail.example.org today"),
            vec![(PhiKind::Email, "jane.doe@mail.example.org".to_string())]
        );
    }

    #[test]
    fn finds_validated_identifiers_in_prose() {
        let t = "Patient John Smith, DOB 02/14/1980, SSN 536-22-8726, phone (415) 867-5309, \
                 card 4111 1111 1111 1111, NPI 1234567893, DEA AB1234563, MBI 1EG4-TE5-MK73.";
        let got = kinds(t);
        for want in [
            (PhiKind::Name, "John Smith"),
            (PhiKind::Dob, "02/14/1980"),
            (PhiKind::Ssn, "536-22-8726"),
            (PhiKind::Phone, "(415) 867-5309"),
            (PhiKind::Card, "4111 1111 1111 1111"),
            (PhiKind::Npi, "1234567893"),
            (PhiKind::Dea, "AB1234563"),
            (PhiKind::Mbi, "1EG4-TE5-MK73"),
        ] {
            assert!(
                got.contains(&(want.0, want.1.to_string())),
                "missing {want:?} in {got:?}"
            );
        }
    }

    #[test]
    fn rejects_hard_negatives() {
        let t = "Invoice 536-22-8726 printed 02/14/2024. Part No. 536-22-8726. \
                 Sample SSN 078-05-1120. Order ref 415-867-5309. Lot 123456789.";
        let got = kinds(t);
        assert!(
            got.iter()
                .all(|(k, _)| *k != PhiKind::Ssn && *k != PhiKind::Dob && *k != PhiKind::Phone),
            "{got:?}"
        );
    }

    #[test]
    fn labels_give_meaning_to_bare_numbers() {
        let got =
            kinds("MRN: A0012345  Member ID: W123456789  Routing 021000021 Account # 99887766");
        assert!(got.contains(&(PhiKind::Mrn, "A0012345".into())), "{got:?}");
        assert!(
            got.contains(&(PhiKind::PlanId, "W123456789".into())),
            "{got:?}"
        );
        assert!(
            got.contains(&(PhiKind::Routing, "021000021".into())),
            "{got:?}"
        );
        assert!(
            got.contains(&(PhiKind::Account, "99887766".into())),
            "{got:?}"
        );
    }

    #[test]
    fn health_terms_start_a_word() {
        let e = Engine::get().expect("engine");
        assert!(e.mentions_health("HIV positive since 2019"));
        assert!(e.mentions_health("pregnancy test; (metformin 500 mg)"));
        assert!(!e.mentions_health("Vada Shivers, vada.shivers63@gmail.com"));
        assert!(!e.mentions_health("Amrita Crownover"));
        assert!(e.mentions_health("two crowns and a root canal"));
        assert!(e.mentions_health("periodontitis, stage II"));
    }

    #[test]
    fn fields_classify() {
        assert_eq!(classify_field("DOB"), Some(FieldClass::Kind(PhiKind::Dob)));
        assert_eq!(
            classify_field("patient_last_name"),
            Some(FieldClass::Kind(PhiKind::Name))
        );
        assert_eq!(
            classify_field("PID-19"),
            Some(FieldClass::Kind(PhiKind::Ssn))
        );
        assert_eq!(
            classify_field("(0010,0030) PatientBirthDate"),
            Some(FieldClass::Kind(PhiKind::Dob))
        );
        assert_eq!(classify_field("invoice_no"), Some(FieldClass::NotPhi));
        assert_eq!(
            classify_field("email_address"),
            Some(FieldClass::Kind(PhiKind::Email))
        );
        assert_eq!(classify_field("notes"), None);
        // Column names of practice-management exports (Open Dental's patient table, claim and
        // eligibility files).
        for (field, kind) in [
            ("PatNum", PhiKind::Mrn),
            ("MedicaidID", PhiKind::PlanId),
            ("Member #", PhiKind::PlanId),
            ("Ins ID", PhiKind::PlanId),
            ("PATIENT_LAST_NM", PhiKind::Name),
            ("PATIENT_FIRST_NM", PhiKind::Name),
            ("Resp Party", PhiKind::Name),
            ("Subscriber", PhiKind::Name),
            ("Birthdate", PhiKind::Dob),
            ("WirelessPhone", PhiKind::Phone),
            ("SocSecNum", PhiKind::Ssn),
        ] {
            assert_eq!(
                classify_field(field),
                Some(FieldClass::Kind(kind)),
                "{field}"
            );
        }
        for field in ["CLINIC_NM", "PAYER_NM", "Group #", "Insurance Name"] {
            assert_ne!(
                classify_field(field),
                Some(FieldClass::Kind(PhiKind::Name)),
                "{field}"
            );
        }
    }
}
