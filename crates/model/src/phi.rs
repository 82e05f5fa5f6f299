//! Patient data (PHI) exposure: what the file scanner found, where, and how bad it is.
//!
//! Raw values never live in these types except [`PhiFinding::value`], which is filled only when the
//! user asked for `--unmask` and is never persisted (the store drops it).

use crate::Severity;
use compact_str::CompactString;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

/// The kind of identifier (or health indicator) a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PhiKind {
    /// A person's name.
    Name,
    /// A street address.
    Address,
    /// A date of birth.
    Dob,
    /// A telephone or fax number.
    Phone,
    /// An e-mail address.
    Email,
    /// A US Social Security number.
    Ssn,
    /// A medical record (chart) number.
    Mrn,
    /// A Medicare Beneficiary Identifier.
    Mbi,
    /// A health plan member / subscriber ID.
    PlanId,
    /// A patient account number.
    Account,
    /// A provider's National Provider Identifier.
    Npi,
    /// A DEA registration number.
    Dea,
    /// A payment card number.
    Card,
    /// An ABA bank routing number.
    Routing,
    /// A bank account number.
    BankAccount,
    /// An ICD-10-CM diagnosis code (health information).
    Icd10,
    /// A CPT, CDT or HCPCS procedure code (health information).
    Procedure,
    /// An IP address.
    Ip,
    /// A URL.
    Url,
}

impl PhiKind {
    /// Every kind, in a stable order.
    pub const ALL: [PhiKind; 19] = [
        PhiKind::Name,
        PhiKind::Address,
        PhiKind::Dob,
        PhiKind::Phone,
        PhiKind::Email,
        PhiKind::Ssn,
        PhiKind::Mrn,
        PhiKind::Mbi,
        PhiKind::PlanId,
        PhiKind::Account,
        PhiKind::Npi,
        PhiKind::Dea,
        PhiKind::Card,
        PhiKind::Routing,
        PhiKind::BankAccount,
        PhiKind::Icd10,
        PhiKind::Procedure,
        PhiKind::Ip,
        PhiKind::Url,
    ];

    /// The stable machine name (as in JSON).
    pub fn as_str(self) -> &'static str {
        match self {
            PhiKind::Name => "name",
            PhiKind::Address => "address",
            PhiKind::Dob => "dob",
            PhiKind::Phone => "phone",
            PhiKind::Email => "email",
            PhiKind::Ssn => "ssn",
            PhiKind::Mrn => "mrn",
            PhiKind::Mbi => "mbi",
            PhiKind::PlanId => "plan-id",
            PhiKind::Account => "account",
            PhiKind::Npi => "npi",
            PhiKind::Dea => "dea",
            PhiKind::Card => "card",
            PhiKind::Routing => "routing",
            PhiKind::BankAccount => "bank-account",
            PhiKind::Icd10 => "icd10",
            PhiKind::Procedure => "procedure",
            PhiKind::Ip => "ip",
            PhiKind::Url => "url",
        }
    }

    /// Parse the machine name.
    pub fn parse(s: &str) -> Option<Self> {
        PhiKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// A plain-language plural for a practice manager ("Social Security numbers").
    pub fn plain(self) -> &'static str {
        match self {
            PhiKind::Name => "names",
            PhiKind::Address => "home addresses",
            PhiKind::Dob => "dates of birth",
            PhiKind::Phone => "phone numbers",
            PhiKind::Email => "e-mail addresses",
            PhiKind::Ssn => "Social Security numbers",
            PhiKind::Mrn => "medical record numbers",
            PhiKind::Mbi => "Medicare numbers",
            PhiKind::PlanId => "insurance member IDs",
            PhiKind::Account => "account numbers",
            PhiKind::Npi => "provider NPIs",
            PhiKind::Dea => "DEA numbers",
            PhiKind::Card => "credit card numbers",
            PhiKind::Routing => "bank routing numbers",
            PhiKind::BankAccount => "bank account numbers",
            PhiKind::Icd10 => "diagnosis codes",
            PhiKind::Procedure => "procedure codes",
            PhiKind::Ip => "IP addresses",
            PhiKind::Url => "web addresses",
        }
    }

    /// A short label for the headline ("SSN", "date of birth").
    pub fn short(self) -> &'static str {
        match self {
            PhiKind::Ssn => "SSN",
            PhiKind::Dob => "date of birth",
            PhiKind::Mbi => "Medicare number",
            PhiKind::Card => "card number",
            PhiKind::BankAccount => "bank account",
            PhiKind::Mrn => "chart number",
            PhiKind::PlanId => "insurance ID",
            PhiKind::Address => "home address",
            PhiKind::Name => "name",
            PhiKind::Phone => "phone number",
            PhiKind::Email => "e-mail",
            PhiKind::Routing => "routing number",
            PhiKind::Account => "account number",
            PhiKind::Npi => "NPI",
            PhiKind::Dea => "DEA number",
            PhiKind::Icd10 => "diagnosis",
            PhiKind::Procedure => "procedure",
            PhiKind::Ip => "IP address",
            PhiKind::Url => "web address",
        }
    }

    /// Codes that say something about health (diagnosis, procedure): PHI only next to identity.
    pub fn is_health_info(self) -> bool {
        matches!(self, PhiKind::Icd10 | PhiKind::Procedure)
    }

    /// Identifies or locates a patient (used to count individuals).
    pub fn identifies_person(self) -> bool {
        matches!(
            self,
            PhiKind::Name
                | PhiKind::Address
                | PhiKind::Dob
                | PhiKind::Phone
                | PhiKind::Email
                | PhiKind::Ssn
                | PhiKind::Mrn
                | PhiKind::Mbi
                | PhiKind::PlanId
                | PhiKind::Account
                | PhiKind::Card
                | PhiKind::BankAccount
        )
    }

    /// How much harm one leaked value does (identity theft, fraud), 0-10.
    pub fn weight(self) -> u32 {
        match self {
            PhiKind::Ssn | PhiKind::Card | PhiKind::BankAccount => 10,
            PhiKind::Mbi | PhiKind::PlanId | PhiKind::Routing => 8,
            PhiKind::Dob | PhiKind::Mrn | PhiKind::Account => 6,
            PhiKind::Address | PhiKind::Name => 4,
            PhiKind::Phone | PhiKind::Email | PhiKind::Dea => 3,
            PhiKind::Icd10 | PhiKind::Procedure => 3,
            PhiKind::Npi | PhiKind::Ip | PhiKind::Url => 1,
        }
    }

    /// Whether the detector validates the value with a checksum or a strict format rule.
    pub fn is_validated(self) -> bool {
        matches!(
            self,
            PhiKind::Ssn
                | PhiKind::Npi
                | PhiKind::Dea
                | PhiKind::Mbi
                | PhiKind::Card
                | PhiKind::Routing
        )
    }
}

impl fmt::Display for PhiKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How sure the detector is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    /// Shape only, weak context.
    Low,
    /// Shape plus validation or context.
    Medium,
    /// Structural context (column, tag, field) or checksum plus context.
    High,
}

impl Confidence {
    /// The stable name (as in JSON).
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::Low => "low",
            Confidence::Medium => "medium",
            Confidence::High => "high",
        }
    }

    /// The confidence named `s` ([`Confidence::as_str`]).
    pub fn parse(s: &str) -> Option<Confidence> {
        [Confidence::Low, Confidence::Medium, Confidence::High]
            .into_iter()
            .find(|c| c.as_str() == s)
    }
}

/// Why a file, or a part of one, could not be checked for patient data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PhiProblem {
    /// Protected by a password: a protected Office file, an encrypted zip member or 7-Zip archive.
    Protected,
    /// A scanned image with no text in it (a PDF without a text layer).
    ScannedImage,
    /// Larger than the size limit for reading it (or one of its members) whole.
    TooLarge,
    /// Expands far past its own size: refused as a decompression bomb.
    Bomb,
    /// Took longer than the per-file time budget.
    TimedOut,
    /// Damaged, cut short, or not what its name says.
    Unreadable,
    /// A kind of file medguard cannot look inside: an Outlook mailbox, an Access database, a
    /// virtual disk image, a RAR archive, a SQL Server backup.
    NotSupported,
}

impl PhiProblem {
    /// Every problem, in the order a report lists them.
    pub const ALL: [PhiProblem; 7] = [
        PhiProblem::Protected,
        PhiProblem::ScannedImage,
        PhiProblem::TooLarge,
        PhiProblem::Bomb,
        PhiProblem::TimedOut,
        PhiProblem::Unreadable,
        PhiProblem::NotSupported,
    ];

    /// The stable name (as in JSON and the store).
    pub fn as_str(self) -> &'static str {
        match self {
            PhiProblem::Protected => "protected",
            PhiProblem::ScannedImage => "scanned-image",
            PhiProblem::TooLarge => "too-large",
            PhiProblem::Bomb => "bomb",
            PhiProblem::TimedOut => "timed-out",
            PhiProblem::Unreadable => "unreadable",
            PhiProblem::NotSupported => "not-supported",
        }
    }

    /// The problem named `s` ([`PhiProblem::as_str`]).
    pub fn parse(s: &str) -> Option<PhiProblem> {
        PhiProblem::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// What it means, for the practice.
    pub fn plain(self) -> &'static str {
        match self {
            PhiProblem::Protected => {
                "Protected by a password: its contents could not be checked. The password is \
                 what keeps it safe, so it must be strong and not kept beside the file."
            }
            PhiProblem::ScannedImage => {
                "A scanned image: there is no text to read, so patient details in it were not \
                 checked. Open it and look, or store scans only in the records system."
            }
            PhiProblem::TooLarge => {
                "Too large, or packed too many archives deep, to be read whole (or a file inside \
                 it is): check it by hand, or unpack it and scan again."
            }
            PhiProblem::Bomb => {
                "Expands to far more than its size, as a decompression bomb does: it was not \
                 opened. Find out who put it there."
            }
            PhiProblem::TimedOut => {
                "Took longer than the time allowed for one file: scan it again with a longer \
                 --time-budget."
            }
            PhiProblem::Unreadable => {
                "Damaged, cut short or not what its name says: it could not be read. Check \
                 whether it is still needed."
            }
            PhiProblem::NotSupported => {
                "A mailbox, database or disk image medguard cannot look inside: it may hold \
                 patient data. Check it with the program that made it, or make sure it is \
                 encrypted and only staff can reach it."
            }
        }
    }
}

/// Where in a file a value was found. Only the fields that apply are set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhiLocation {
    /// Archive members / attachments leading to the value, outermost first (`export.zip!2024/pat.csv`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member: Option<Arc<str>>,
    /// 1-based line number in the extracted text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// 1-based column (characters) in that line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<u64>,
    /// Structural context: CSV header, JSON key path, XML element, SQL column, spreadsheet cell
    /// (`Sheet1!B7`), DICOM tag (`(0010,0010) PatientName`), HL7 field (`PID-7`), e-mail header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<Arc<str>>,
    /// 1-based page (PDF) or slide (PPTX).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<u32>,
    /// 1-based record: CSV/sheet row, SQL row, HL7 message, JSON array element, mailbox message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<u64>,
}

impl PhiLocation {
    /// Where, for a reader: `export.zip!pat.csv, page 2, line 7, DOB` (empty when nothing is known).
    pub fn describe(&self) -> String {
        let mut at: Vec<String> = Vec::new();
        if let Some(m) = &self.member {
            at.push(m.to_string());
        }
        if let Some(p) = self.page {
            at.push(format!("page {p}"));
        }
        if let Some(n) = self.line {
            at.push(format!("line {n}"));
        }
        if let Some(f) = &self.field {
            at.push(f.to_string());
        }
        at.join(", ")
    }
}

/// One identifier found in one file. Evidence is masked; `hash` is an HMAC of the normalized value
/// under the install's key, so a later scan can recognise the same value without storing it.
///
/// The strings every finding of a file shares (path, member, field, reason) are reference-counted:
/// a dense file yields hundreds of thousands of findings, and each would otherwise copy them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhiFinding {
    /// The scanned file on disk.
    pub path: Arc<str>,
    /// The identifier type.
    pub kind: PhiKind,
    /// Masked evidence (`***-**-6789`, `J*** S****`); short ones held inline, without allocating.
    pub masked: CompactString,
    /// HMAC-SHA256 (hex, truncated to 32 characters) of the normalized value.
    pub hash: ValueHash,
    /// The full value: only with `--unmask`, only to the terminal or JSON stream, never stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Where it is.
    pub location: PhiLocation,
    /// How sure the detector is.
    pub confidence: Confidence,
    /// Why it was reported (`checksum`, `column:dob`, `keyword:ssn`, `hl7:PID-7`, ...).
    pub reason: Arc<str>,
}

/// The keyed hash of an identifier's normalized value: the first 16 bytes of HMAC-SHA256 under the
/// install's key. Written (JSON, store) as 32 lowercase hex digits; lets a later scan tell the same
/// value again without keeping it. Held as bytes: a scan makes one per finding, without allocating.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ValueHash(pub [u8; 16]);

impl ValueHash {
    /// The 32 lowercase hex digits.
    pub fn hex(&self) -> [u8; 32] {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut out = [0u8; 32];
        for (pair, b) in out.chunks_exact_mut(2).zip(self.0) {
            pair[0] = HEX[usize::from(b >> 4)];
            pair[1] = HEX[usize::from(b & 15)];
        }
        out
    }

    /// The 32 hex digits as text, written into `buf` (no allocation).
    pub fn hex_str<'b>(&self, buf: &'b mut [u8; 32]) -> &'b str {
        *buf = self.hex();
        // Only ASCII hex digits were written: this never falls back.
        std::str::from_utf8(buf).unwrap_or_default()
    }

    /// Read 32 hex digits (either case); `None` for anything else.
    pub fn parse(s: &str) -> Option<ValueHash> {
        let b = s.as_bytes();
        if b.len() != 32 {
            return None;
        }
        let digit = |c: u8| {
            char::from(c)
                .to_digit(16)
                .and_then(|d| u8::try_from(d).ok())
        };
        let mut out = [0u8; 16];
        for (o, pair) in out.iter_mut().zip(b.chunks_exact(2)) {
            *o = digit(pair[0])? << 4 | digit(pair[1])?;
        }
        Some(ValueHash(out))
    }
}

impl fmt::Display for ValueHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.hex_str(&mut [0; 32]))
    }
}

impl Serialize for ValueHash {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.hex_str(&mut [0; 32]))
    }
}

impl<'de> Deserialize<'de> for ValueHash {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        ValueHash::parse(&s)
            .ok_or_else(|| serde::de::Error::custom("expected a hash of 32 hex digits"))
    }
}

/// Who can reach a file, judged from where it lies and its permissions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhiExposure {
    /// Any local user can read it (Unix "other" read bit).
    pub world_readable: bool,
    /// Readable by a group beyond the owner.
    pub group_readable: bool,
    /// Lies in a shared or public folder (`share`, `Public`, `Shared`, a mounted share).
    pub shared_folder: bool,
    /// Lies in a cloud-synced folder (Dropbox, OneDrive, Google Drive, iCloud, Box).
    pub synced_folder: bool,
    /// Lies on a desktop or in a downloads folder.
    pub desktop: bool,
    /// Sits inside an archive that is not encrypted.
    pub unencrypted_archive: bool,
    /// Sits in an e-mail message or mailbox.
    pub in_email: bool,
    /// Named users and groups that the file's access control list lets read it, beyond its
    /// owner, its group and everyone (POSIX ACL entries, which Samba also uses for share
    /// permissions). Absent in reports stored before it was known: 0.
    #[serde(default)]
    pub acl_readers: u32,
    /// Lies in a Samba share that lets guests in (`guest ok = yes`): anyone who reaches the
    /// server on the network opens it without a password. Absent in reports stored before it was
    /// known: false.
    #[serde(default)]
    pub guest_share: bool,
}

impl PhiExposure {
    /// Plain-language reasons, most serious first.
    pub fn reasons(&self) -> Vec<&'static str> {
        let mut r = Vec::new();
        if self.synced_folder {
            r.push("in a cloud-synced folder");
        }
        if self.guest_share {
            r.push("on a network share anyone can open without a password");
        } else if self.shared_folder {
            r.push("on a shared drive");
        }
        if self.world_readable {
            r.push("readable by every user of the computer");
        } else if self.acl_readers > 0 {
            r.push("readable by other named users or groups (access list)");
        } else if self.group_readable {
            r.push("readable by a group of users");
        }
        if self.desktop {
            r.push("on a desktop or in downloads");
        }
        if self.in_email {
            r.push("in an e-mail");
        }
        if self.unencrypted_archive {
            r.push("in an unencrypted archive");
        }
        r
    }
}

/// What one file holds, judged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhiFileReport {
    /// The file on disk.
    pub path: String,
    /// Detected format (`csv`, `docx`, `dicom`, `hl7`, ...).
    pub format: String,
    /// Size on disk in bytes.
    pub size: u64,
    /// Findings per identifier type.
    pub counts: BTreeMap<PhiKind, u64>,
    /// Distinct individuals: records (rows, messages, images) or distinct people that carry identifiers.
    pub individuals: u64,
    /// Health information sits next to identity (diagnosis/procedure codes, drug names, clinical words).
    pub health_info: bool,
    /// Who can reach it.
    pub exposure: PhiExposure,
    /// 0-100, higher is worse.
    pub risk: u32,
    /// The risk as a severity.
    pub severity: Severity,
    /// One plain line for the practice manager.
    pub headline: String,
    /// Members of an archive that could not be read (the rest of the file was scanned).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl PhiFileReport {
    /// Total findings.
    pub fn total(&self) -> u64 {
        self.counts.values().sum()
    }

    /// What the practice should do about this file, in plain words.
    pub fn advice(&self) -> String {
        let e = &self.exposure;
        let first = if e.synced_folder {
            "Take it out of the cloud-synced folder (the cloud service must have a business associate agreement) and keep it only in the EHR or an encrypted, access-controlled folder."
        } else if e.shared_folder {
            "Move it off the shared drive into the EHR or an encrypted folder that only the staff who need it can open."
        } else if e.desktop {
            "Move it off the desktop into the EHR or an encrypted folder, and empty the recycle bin."
        } else if e.in_email {
            "Delete the message and attachment from the mailbox; send patient data only through the secure portal or encrypted e-mail."
        } else if e.unencrypted_archive {
            "Delete the archive if it is an old export; otherwise re-create it with encryption (AES) and a strong password."
        } else {
            "If the practice still needs this file, keep it encrypted and readable only by the staff who need it; otherwise delete it securely."
        };
        let mut advice = first.to_string();
        if e.guest_share {
            advice.push_str(
                " Turn off guest access to the share right away (`guest ok = no` in smb.conf, or \
                 untick guest access in the folder's sharing settings).",
            );
        }
        if e.world_readable {
            advice.push_str(" Remove 'everyone' read access right away.");
        }
        advice
    }
}

/// Totals of one scan run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PhiScanSummary {
    /// The roots that were scanned.
    pub roots: Vec<String>,
    /// Files looked at.
    pub files_scanned: u64,
    /// Files holding at least one identifier (after `--min-records`).
    pub files_with_phi: u64,
    /// Bytes read from disk.
    pub bytes_scanned: u64,
    /// Files that could not be read or parsed.
    pub errors: u64,
    /// Sum of individuals over reported files.
    pub individuals: u64,
    /// Findings per kind over reported files.
    pub counts: BTreeMap<PhiKind, u64>,
    /// Wall time in milliseconds.
    pub elapsed_ms: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problem_names_round_trip() {
        for p in PhiProblem::ALL {
            assert_eq!(PhiProblem::parse(p.as_str()), Some(p));
            let json = serde_json::to_string(&p).expect("ser");
            assert_eq!(json, format!("\"{}\"", p.as_str()));
        }
    }

    #[test]
    fn kind_names_round_trip() {
        for k in PhiKind::ALL {
            assert_eq!(PhiKind::parse(k.as_str()), Some(k));
            let json = serde_json::to_string(&k).expect("ser");
            assert_eq!(json, format!("\"{}\"", k.as_str()));
        }
    }

    #[test]
    fn advice_names_each_exposure_to_undo() {
        let mut r = PhiFileReport {
            path: "x.csv".into(),
            format: "csv".into(),
            size: 1,
            counts: BTreeMap::new(),
            individuals: 1,
            health_info: false,
            exposure: PhiExposure {
                shared_folder: true,
                ..PhiExposure::default()
            },
            risk: 50,
            severity: Severity::High,
            headline: String::new(),
            warnings: Vec::new(),
        };
        assert!(r.advice().starts_with("Move it off the shared drive"));
        assert!(!r.advice().contains("guest") && !r.advice().contains("everyone"));
        r.exposure.guest_share = true;
        r.exposure.world_readable = true;
        let a = r.advice();
        assert!(
            a.contains("Turn off guest access") && a.ends_with("read access right away."),
            "{a}"
        );
    }

    #[test]
    fn exposure_stored_before_access_lists_reads_back() {
        let e: PhiExposure =
            serde_json::from_str(r#"{"world_readable":false,"group_readable":true,"shared_folder":true,"synced_folder":false,"desktop":false,"unencrypted_archive":false,"in_email":false}"#)
                .expect("old form");
        assert_eq!(e.acl_readers, 0);
        assert!(!e.guest_share);
        assert!(e.group_readable && e.shared_folder);
    }

    #[test]
    fn confidence_names_round_trip() {
        for c in [Confidence::Low, Confidence::Medium, Confidence::High] {
            assert_eq!(Confidence::parse(c.as_str()), Some(c));
            let json = serde_json::to_string(&c).expect("ser");
            assert_eq!(json, format!("\"{}\"", c.as_str()));
        }
        assert_eq!(Confidence::parse("certain"), None);
    }

    #[test]
    fn value_hash_is_32_hex_digits_both_ways() {
        let h = ValueHash([
            0, 1, 0x7f, 0x80, 0xff, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0xab, 0xcd,
        ]);
        let s = h.to_string();
        assert_eq!(s, "00017f80ff02030405060708090aabcd");
        assert_eq!(serde_json::to_string(&h).expect("ser"), format!("\"{s}\""));
        assert_eq!(ValueHash::parse(&s), Some(h));
        assert_eq!(ValueHash::parse(&s.to_uppercase()), Some(h));
        for bad in [
            "",
            "00",
            &format!("{s}0"),
            &s.replace('a', "g"),
            &"é".repeat(16),
        ] {
            assert_eq!(ValueHash::parse(bad), None, "{bad}");
        }
        assert!(serde_json::from_str::<ValueHash>("\"xyz\"").is_err());
    }

    #[test]
    fn finding_without_value_has_no_value_field() {
        let f = PhiFinding {
            path: "a.csv".into(),
            kind: PhiKind::Ssn,
            masked: "***-**-6789".into(),
            hash: ValueHash([0xab; 16]),
            value: None,
            location: PhiLocation::default(),
            confidence: Confidence::High,
            reason: "column:ssn".into(),
        };
        let v = serde_json::to_value(&f).expect("ser");
        assert!(v.get("value").is_none());
        let back: PhiFinding = serde_json::from_value(v).expect("de");
        assert_eq!(back, f);
    }
}
