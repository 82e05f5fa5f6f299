//! A labelled, deterministic synthetic practice share for measuring accuracy, and its scorer.
//!
//! [`generate`] writes files in the supported formats (CSV, TSV, XLSX, DOCX, PPTX, ODT, PDF, RTF,
//! text notes, logs, JSON/FHIR, XML/CDA, SQL dump, HL7 v2, EML, MBOX, Outlook MSG with an
//! attachment and an attached message, ZIP with a nested ZIP, DICOM; legacy Word `.doc` is tested
//! with files LibreOffice writes, not generated here) from a seed and a size knob, with the ground truth of every planted identifier. Hard negatives
//! are planted too: invoice, order, part, lot and serial numbers shaped like SSNs or phone numbers,
//! sample SSNs in a training handout, Luhn-valid test cards in examples, service and invoice dates.
//! All people are synthetic; about one in seven has a name outside the public name lists, so prose
//! recall is not flattered by the lists the detector uses.
//!
//! [`score`] compares a scan's findings (with values) to the truth: precision and recall per
//! identifier type and per format.

use crate::validate;
use medguard_model::{PhiFinding, PhiKind};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};
use std::io::Write;
use std::path::Path;

/// The planted identifiers of one file.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TruthFile {
    /// Path relative to the corpus root.
    pub path: String,
    /// The format label used in per-format scores.
    pub format: String,
    /// (kind, value as written).
    pub values: Vec<(PhiKind, String)>,
    /// Hard negatives planted (label, value): never PHI.
    pub negatives: Vec<(String, String)>,
}

/// The ground truth of a corpus.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Truth {
    pub seed: u64,
    pub scale: u32,
    pub files: Vec<TruthFile>,
}

const STREETS: &[&str] = &[
    "Oak",
    "Maple",
    "Cedar",
    "Pine",
    "Elm",
    "Washington",
    "Lake",
    "Hill",
    "Park",
    "Sunset",
    "Ridge",
    "Willow",
    "Meadow",
    "River",
    "Highland",
    "Chestnut",
    "Spring",
    "Forest",
];
const SUFFIXES: &[&str] = &[
    "St", "Ave", "Rd", "Dr", "Ln", "Ct", "Blvd", "Way", "Street", "Avenue",
];
const CITIES: &[(&str, &str, &str)] = &[
    ("Springfield", "IL", "62704"),
    ("Madison", "WI", "53703"),
    ("Fairview", "TN", "37062"),
    ("Georgetown", "TX", "78626"),
    ("Salem", "OR", "97301"),
    ("Franklin", "MA", "02038"),
];
const SYLLABLES: &[&str] = &[
    "zor", "vex", "quil", "bra", "tho", "nix", "kal", "dre", "umb", "yso", "pho", "gra",
];
const ICD: &[&str] = &[
    "E11.9", "I10", "K02.52", "J45.909", "F41.1", "M54.5", "Z00.00", "K05.10", "E78.5", "K04.7",
];
const CDT: &[&str] = &[
    "D0120", "D1110", "D2391", "D0274", "D2740", "D0150", "D4341",
];
const CPT: &[&str] = &["99213", "99214", "80053", "85025", "93000", "99203"];
const DRUGS: &[&str] = &[
    "metformin",
    "lisinopril",
    "amoxicillin",
    "ibuprofen",
    "atorvastatin",
];

/// One synthetic person.
#[derive(Debug, Clone)]
pub struct Person {
    pub first: String,
    pub last: String,
    pub dob: chrono::NaiveDate,
    pub ssn: String,
    pub mrn: String,
    pub phone: String,
    pub email: String,
    pub street: String,
    pub city: (&'static str, &'static str, &'static str),
    pub plan_id: String,
    pub mbi: String,
    pub card: String,
    pub routing: String,
    pub bank: String,
    pub account: String,
    pub icd: &'static str,
}

/// A provider: name, NPI, DEA.
#[derive(Debug, Clone)]
pub struct Provider {
    pub first: String,
    pub last: String,
    pub npi: String,
    pub dea: String,
}

struct Gen {
    rng: StdRng,
    first: Vec<&'static str>,
    last: Vec<&'static str>,
    mrn_seq: u32,
}

fn cap(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

fn list(text: &'static str) -> Vec<&'static str> {
    text.lines()
        .filter(|l| !l.starts_with('#') && l.len() > 2)
        .filter(|l| !crate::names::is_stop(l))
        .collect()
}

impl Gen {
    fn new(seed: u64) -> Self {
        Gen {
            rng: StdRng::seed_from_u64(seed),
            first: list(include_str!("../data/first_names.txt")),
            last: list(include_str!("../data/last_names.txt")),
            mrn_seq: 100_000,
        }
    }

    fn digits(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from(b'0' + self.rng.random_range(0..10u8)))
            .collect()
    }

    fn invented(&mut self) -> String {
        let n = self.rng.random_range(2..4);
        let s: String = (0..n)
            .map(|_| *SYLLABLES.choose(&mut self.rng).unwrap_or(&"zor"))
            .collect();
        cap(&s)
    }

    fn name(&mut self) -> (String, String) {
        if self.rng.random_ratio(1, 7) {
            (self.invented(), self.invented())
        } else {
            let f = *self.first.choose(&mut self.rng).unwrap_or(&"mary");
            let l = *self.last.choose(&mut self.rng).unwrap_or(&"smith");
            (cap(f), cap(l))
        }
    }

    fn ssn(&mut self) -> String {
        loop {
            let s = format!(
                "{:03}-{:02}-{:04}",
                self.rng.random_range(1..900),
                self.rng.random_range(1..100),
                self.rng.random_range(1..10000)
            );
            if validate::ssn(&s) {
                return s;
            }
        }
    }

    fn phone(&mut self) -> String {
        loop {
            let p = format!(
                "({}{}) {}{}-{}",
                self.rng.random_range(2..10),
                self.digits(2),
                self.rng.random_range(2..10),
                self.digits(2),
                self.digits(4)
            );
            if validate::phone(&p) {
                return p;
            }
        }
    }

    fn luhn_complete(&mut self, prefix: &str, len: usize) -> String {
        let mut body = prefix.to_string();
        body.push_str(&self.digits(len - prefix.len() - 1));
        for check in 0..10u8 {
            let cand = format!("{body}{check}");
            if validate::luhn(&validate::digits(&cand)) {
                return cand;
            }
        }
        body
    }

    fn card(&mut self) -> String {
        let (prefix, len) = match self.rng.random_range(0..4) {
            0 => ("4", 16),
            1 => ("5", 16),
            2 => ("2", 16),
            _ => ("37", 15),
        };
        let prefix = match prefix {
            "5" => format!("5{}", self.rng.random_range(1..6)),
            "2" => format!("{}", self.rng.random_range(2221..2721)),
            p => p.to_string(),
        };
        let n = self.luhn_complete(&prefix, len);
        if len == 16 && self.rng.random_bool(0.5) {
            format!("{} {} {} {}", &n[0..4], &n[4..8], &n[8..12], &n[12..16])
        } else {
            n
        }
    }

    fn npi(&mut self) -> String {
        loop {
            let body = format!("{}{}", self.rng.random_range(1..3), self.digits(8));
            for c in 0..10 {
                let cand = format!("{body}{c}");
                if validate::npi(&cand) {
                    return cand;
                }
            }
        }
    }

    fn dea(&mut self, last: &str) -> String {
        let first = *[b'A', b'B', b'F', b'M']
            .choose(&mut self.rng)
            .unwrap_or(&b'A');
        let second = last.bytes().next().unwrap_or(b'X').to_ascii_uppercase();
        let d: Vec<u32> = (0..6).map(|_| self.rng.random_range(0..10)).collect();
        let check = (d[0] + d[2] + d[4] + 2 * (d[1] + d[3] + d[5])) % 10;
        let digits: String = d.iter().map(|x| x.to_string()).collect();
        format!("{}{}{digits}{check}", char::from(first), char::from(second))
    }

    fn mbi(&mut self) -> String {
        const A: &[u8] = b"ACDEFGHJKMNPQRTUVWXY";
        let mut a = || char::from(*A.choose(&mut self.rng).unwrap_or(&b'A'));
        let (a1, a2, a3, a4, a5, a6, a7) = (a(), a(), a(), a(), a(), a(), a());
        let d = |r: &mut StdRng| char::from(b'0' + r.random_range(0..10u8));
        let c = char::from(b'1' + self.rng.random_range(0..9u8));
        let s = format!(
            "{c}{a1}{a2}{}{a3}{a4}{}{a5}{a6}{}{}",
            d(&mut self.rng),
            d(&mut self.rng),
            d(&mut self.rng),
            d(&mut self.rng)
        );
        let _ = a7;
        if self.rng.random_bool(0.5) {
            format!("{}-{}-{}", &s[0..4], &s[4..7], &s[7..11])
        } else {
            s
        }
    }

    fn routing(&mut self) -> String {
        loop {
            let p = *[
                1u32, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 21, 22, 26, 31, 61, 63, 67,
            ]
            .choose(&mut self.rng)
            .unwrap_or(&21);
            let body = format!("{p:02}{}", self.digits(6));
            for c in 0..10 {
                let cand = format!("{body}{c}");
                if validate::aba(&cand) {
                    return cand;
                }
            }
        }
    }

    fn person(&mut self) -> Person {
        let (first, last) = self.name();
        let dob = chrono::NaiveDate::from_ymd_opt(
            self.rng.random_range(1935..2020),
            self.rng.random_range(1..13),
            self.rng.random_range(1..29),
        )
        .unwrap_or_default();
        self.mrn_seq += self.rng.random_range(1..40);
        let street = format!(
            "{} {} {}",
            self.rng.random_range(10..9999),
            STREETS.choose(&mut self.rng).unwrap_or(&"Oak"),
            SUFFIXES.choose(&mut self.rng).unwrap_or(&"St")
        );
        let plan_id = format!(
            "{}{}",
            ["W", "XYZ", "H", "U", "MEM"]
                .choose(&mut self.rng)
                .unwrap_or(&"W"),
            self.digits(9)
        );
        let bank_len = self.rng.random_range(8..13);
        Person {
            email: format!(
                "{}.{}{}@{}",
                first.to_lowercase(),
                last.to_lowercase(),
                self.rng.random_range(1..99),
                ["gmail.com", "yahoo.com", "outlook.com", "example.net"]
                    .choose(&mut self.rng)
                    .unwrap_or(&"example.net")
            ),
            first,
            last,
            dob,
            ssn: self.ssn(),
            mrn: format!("{}", self.mrn_seq),
            phone: self.phone(),
            street,
            city: *CITIES.choose(&mut self.rng).unwrap_or(&CITIES[0]),
            plan_id,
            mbi: self.mbi(),
            card: self.card(),
            routing: self.routing(),
            bank: self.digits(bank_len),
            account: format!("{}", self.rng.random_range(10_000_000..99_999_999)),
            icd: ICD.choose(&mut self.rng).unwrap_or(&"I10"),
        }
    }

    fn provider(&mut self) -> Provider {
        let (first, last) = self.name();
        let dea = self.dea(&last);
        Provider {
            npi: self.npi(),
            dea,
            first,
            last,
        }
    }

    /// An SSN-shaped part number that is also SSN-valid (the hard case).
    fn part_number(&mut self) -> String {
        self.ssn()
    }

    fn service_date(&mut self) -> String {
        format!(
            "{:02}/{:02}/{}",
            self.rng.random_range(1..13),
            self.rng.random_range(1..29),
            self.rng.random_range(2019..2026)
        )
    }
}

fn us(d: chrono::NaiveDate) -> String {
    d.format("%m/%d/%Y").to_string()
}

struct Out<'a> {
    root: &'a Path,
    truth: Truth,
}

impl Out<'_> {
    fn write(
        &mut self,
        rel: &str,
        format: &str,
        bytes: &[u8],
        t: TruthFile,
    ) -> std::io::Result<()> {
        let p = self.root.join(rel);
        if let Some(dir) = p.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(&p, bytes)?;
        self.truth.files.push(TruthFile {
            path: rel.to_string(),
            format: format.to_string(),
            ..t
        });
        Ok(())
    }
}

/// A patient as a practice-management list prints one: name, chart number, DOB (US), phone.
fn add_listed(t: &mut TruthFile, p: &Person) {
    add_person_core(t, p);
    t.values.extend([
        (PhiKind::Mrn, p.mrn.clone()),
        (PhiKind::Dob, us(p.dob)),
        (PhiKind::Phone, p.phone.clone()),
    ]);
}

fn add_person_core(t: &mut TruthFile, p: &Person) {
    t.values
        .push((PhiKind::Name, format!("{} {}", p.first, p.last)));
}

/// Write a corpus under `root`. `scale` multiplies record counts and file counts (1 = ~1 MB).
pub fn generate(root: &Path, seed: u64, scale: u32) -> std::io::Result<Truth> {
    let mut g = Gen::new(seed);
    let mut out = Out {
        root,
        truth: Truth {
            seed,
            scale,
            files: Vec::new(),
        },
    };
    let scale = scale.max(1);
    let providers: Vec<Provider> = (0..4).map(|_| g.provider()).collect();
    for rep in 0..scale {
        let people: Vec<Person> = (0..(60 + g.rng.random_range(0..40)))
            .map(|_| g.person())
            .collect();
        let dir = if rep % 2 == 0 {
            "share/FrontDesk"
        } else {
            "Users/frontdesk/Desktop"
        };
        csv_export(
            &mut out,
            &mut g,
            &people,
            &format!("{dir}/patients_{rep}.csv"),
        )?;
        tsv_schedule(
            &mut out,
            &mut g,
            &people,
            &providers,
            &format!("share/Schedule/appts_{rep}.tsv"),
        )?;
        xlsx_billing(
            &mut out,
            &mut g,
            &people,
            &format!("share/Billing/billing_{rep}.xlsx"),
        )?;
        notes(
            &mut out,
            &mut g,
            &people,
            &providers,
            &format!("share/Clinical/notes_{rep}"),
        )?;
        log_file(
            &mut out,
            &mut g,
            &people,
            &format!("share/IT/ehr-interface_{rep}.log"),
        )?;
        encodings(&mut out, &people, &format!("share/Exports/legacy_{rep}"))?;
        fhir(
            &mut out,
            &mut g,
            &people,
            &format!("share/Exports/fhir_bundle_{rep}.json"),
        )?;
        cda(
            &mut out,
            &mut g,
            &people[0],
            &providers[0],
            &format!("share/Exports/ccd_{rep}.xml"),
        )?;
        sql_dump(
            &mut out,
            &mut g,
            &people,
            &format!("share/IT/backup/ehr_dump_{rep}.sql"),
        )?;
        hl7(
            &mut out,
            &mut g,
            &people,
            &providers,
            &format!("share/Interfaces/adt_{rep}.hl7"),
        )?;
        docx_letter(
            &mut out,
            &mut g,
            &people,
            &providers[1],
            &format!("share/Letters/referral_{rep}.docx"),
        )?;
        odt_letter(
            &mut out,
            &mut g,
            &people[3],
            &providers[2],
            &format!("share/Letters/letter_{rep}.odt"),
        )?;
        pdf_lab(
            &mut out,
            &mut g,
            &people,
            &format!("share/Scans/lab_results_{rep}.pdf"),
        )?;
        rtf_note(
            &mut out,
            &mut g,
            &people[4],
            &format!("share/Clinical/consult_{rep}.rtf"),
        )?;
        mail(&mut out, &mut g, &people, &format!("Mail/inbox_{rep}"))?;
        archive(
            &mut out,
            &mut g,
            &people,
            &format!("share/Old/export_{rep}.zip"),
        )?;
        dicom(
            &mut out,
            &mut g,
            &people,
            &providers[3],
            &format!("share/Imaging/study_{rep}"),
        )?;
        negatives(
            &mut out,
            &mut g,
            &format!("share/Inventory/supplies_{rep}.csv"),
        )?;
        handout(
            &mut out,
            &mut g,
            &format!("share/Training/hipaa_training_{rep}.pptx"),
        )?;
        // Its own random numbers: the files above stay the same as before it was added.
        sqlite_app(
            &mut out,
            &mut Gen::new(seed ^ 0x5351_4c69_7465 ^ u64::from(rep)),
            &people,
            &format!("share/Apps/reminders_{rep}.db"),
        )?;
        html_report(
            &mut out,
            &people,
            &format!("share/Reports/birthday_list_{rep}.html"),
        )?;
        text_report(
            &mut out,
            &people,
            &format!("share/Reports/recall_list_{rep}.txt"),
        )?;
        labels(
            &mut out,
            &people,
            &format!("share/Mailing/labels_{rep}.csv"),
        )?;
        // Its own random numbers, as above.
        pg_backup(
            &mut out,
            &mut Gen::new(seed ^ 0x0050_4744_4d50 ^ u64::from(rep)),
            &people,
            &format!("share/IT/backup/pm_nightly_{rep}.dump"),
        )?;
    }
    Ok(out.truth)
}

fn csv_export(
    out: &mut Out<'_>,
    _g: &mut Gen,
    people: &[Person],
    path: &str,
) -> std::io::Result<()> {
    let mut t = TruthFile::default();
    let mut s = String::from(
        "patient_id,last_name,first_name,dob,ssn,home_phone,email,address,city,state,zip,member_id,medicare_mbi\n",
    );
    for p in people {
        s.push_str(&format!(
            "{},{},{},{},{},{},{},\"{}\",{},{},{},{},{}\n",
            p.mrn,
            p.last,
            p.first,
            us(p.dob),
            p.ssn,
            p.phone,
            p.email,
            p.street,
            p.city.0,
            p.city.1,
            p.city.2,
            p.plan_id,
            p.mbi
        ));
        add_person_core(&mut t, p);
        t.values.extend([
            (PhiKind::Mrn, p.mrn.clone()),
            (PhiKind::Dob, us(p.dob)),
            (PhiKind::Ssn, p.ssn.clone()),
            (PhiKind::Phone, p.phone.clone()),
            (PhiKind::Email, p.email.clone()),
            (PhiKind::Address, p.street.clone()),
            (PhiKind::PlanId, p.plan_id.clone()),
            (PhiKind::Mbi, p.mbi.clone()),
        ]);
    }
    out.write(path, "csv", s.as_bytes(), t)
}

fn tsv_schedule(
    out: &mut Out<'_>,
    g: &mut Gen,
    people: &[Person],
    providers: &[Provider],
    path: &str,
) -> std::io::Result<()> {
    let mut t = TruthFile::default();
    let mut s = String::from("appointment_date\tpatient\tprovider\tcdt_code\tconfirmation\n");
    for p in people.iter().take(40) {
        let pr = providers.choose(&mut g.rng).unwrap_or(&providers[0]);
        let code = *CDT.choose(&mut g.rng).unwrap_or(&"D0120");
        let date = g.service_date();
        let conf = format!(
            "{}-{}-{}",
            g.rng.random_range(200..999),
            g.rng.random_range(200..999),
            g.digits(4)
        );
        s.push_str(&format!(
            "{date}\t{}, {}\tDr. {} {}\t{code}\t{conf}\n",
            p.last, p.first, pr.first, pr.last
        ));
        add_person_core(&mut t, p);
        t.values
            .push((PhiKind::Name, format!("{} {}", pr.first, pr.last)));
        t.values.push((PhiKind::Procedure, code.to_string()));
        t.negatives.push(("service-date".into(), date));
        t.negatives.push(("confirmation".into(), conf));
    }
    out.write(path, "tsv", s.as_bytes(), t)
}

fn zip_bytes(parts: &[(&str, Vec<u8>)]) -> std::io::Result<Vec<u8>> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, data) in parts {
        w.start_file(*name, zip::write::SimpleFileOptions::default())
            .map_err(std::io::Error::other)?;
        w.write_all(data)?;
    }
    Ok(w.finish().map_err(std::io::Error::other)?.into_inner())
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A minimal XLSX (inline strings, numbers, one date column as a serial number).
fn xlsx(rows: &[Vec<Cell>]) -> std::io::Result<Vec<u8>> {
    let mut sheet = String::from(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>"#,
    );
    for (ri, row) in rows.iter().enumerate() {
        sheet.push_str(&format!("<row r=\"{}\">", ri + 1));
        for (ci, c) in row.iter().enumerate() {
            let r = format!("{}{}", char::from(b'A' + ci as u8), ri + 1);
            match c {
                Cell::S(v) => sheet.push_str(&format!(
                    "<c r=\"{r}\" t=\"inlineStr\"><is><t>{}</t></is></c>",
                    xml_escape(v)
                )),
                Cell::N(v) => sheet.push_str(&format!("<c r=\"{r}\"><v>{v}</v></c>")),
                Cell::D(d) => {
                    let serial = (*d
                        - chrono::NaiveDate::from_ymd_opt(1899, 12, 30).unwrap_or_default())
                    .num_days();
                    sheet.push_str(&format!("<c r=\"{r}\" s=\"1\"><v>{serial}</v></c>"))
                }
            }
        }
        sheet.push_str("</row>");
    }
    sheet.push_str("</sheetData></worksheet>");
    let styles = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><numFmts count="1"><numFmt numFmtId="164" formatCode="mm/dd/yyyy"/></numFmts><fonts count="1"><font/></fonts><fills count="1"><fill/></fills><borders count="1"><border/></borders><cellStyleXfs count="1"><xf/></cellStyleXfs><cellXfs count="2"><xf/><xf numFmtId="164" applyNumberFormat="1"/></cellXfs></styleSheet>"#;
    zip_bytes(&[
        ("[Content_Types].xml", br#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/></Types>"#.to_vec()),
        ("_rels/.rels", br#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#.to_vec()),
        ("xl/workbook.xml", br#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Billing" sheetId="1" r:id="rId1"/></sheets></workbook>"#.to_vec()),
        ("xl/_rels/workbook.xml.rels", br#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/></Relationships>"#.to_vec()),
        ("xl/styles.xml", styles.as_bytes().to_vec()),
        ("xl/worksheets/sheet1.xml", sheet.into_bytes()),
    ])
}

enum Cell {
    S(String),
    N(u64),
    D(chrono::NaiveDate),
}

fn xlsx_billing(
    out: &mut Out<'_>,
    g: &mut Gen,
    people: &[Person],
    path: &str,
) -> std::io::Result<()> {
    let mut t = TruthFile::default();
    let mut rows = vec![
        [
            "Account",
            "Patient Name",
            "DOB",
            "Card Number",
            "Routing",
            "Bank Account",
            "Invoice No",
            "Diagnosis",
            "Amount",
        ]
        .iter()
        .map(|h| Cell::S(h.to_string()))
        .collect::<Vec<_>>(),
    ];
    for p in people.iter().take(50) {
        let inv = g.part_number();
        rows.push(vec![
            Cell::N(p.account.parse().unwrap_or(0)),
            Cell::S(format!("{} {}", p.first, p.last)),
            Cell::D(p.dob),
            Cell::S(p.card.clone()),
            Cell::S(p.routing.clone()),
            Cell::S(p.bank.clone()),
            Cell::S(inv.clone()),
            Cell::S(p.icd.to_string()),
            Cell::N(g.rng.random_range(20..900)),
        ]);
        add_person_core(&mut t, p);
        t.values.extend([
            (PhiKind::Account, p.account.clone()),
            (PhiKind::Dob, p.dob.format("%Y-%m-%d").to_string()),
            (PhiKind::Card, p.card.clone()),
            (PhiKind::Routing, p.routing.clone()),
            (PhiKind::BankAccount, p.bank.clone()),
            (PhiKind::Icd10, p.icd.to_string()),
        ]);
        t.negatives.push(("invoice".into(), inv));
    }
    out.write(path, "xlsx", &xlsx(&rows)?, t)
}

fn notes(
    out: &mut Out<'_>,
    g: &mut Gen,
    people: &[Person],
    providers: &[Provider],
    dir: &str,
) -> std::io::Result<()> {
    for (i, p) in people.iter().take(8).enumerate() {
        let mut t = TruthFile::default();
        let pr = &providers[i % providers.len()];
        let drug = *DRUGS.choose(&mut g.rng).unwrap_or(&"ibuprofen");
        let visit = g.service_date();
        let inv = g.part_number();
        let cpt = *CPT.choose(&mut g.rng).unwrap_or(&"99213");
        let s = format!(
            "Clinical note\nPatient: {} {}\nDOB: {}\nMRN: {}\nVisit date: {visit}\n\n\
             {} {} is a returning patient seen today for follow-up. Diagnosis: {}. \
             Prescribed {drug} 500 mg. Contact phone {}.\n\
             Lives at {}, {}, {} {}.\n\
             Seen by Dr. {} {} (NPI {}, DEA {}).\n\
             Procedure: CPT {cpt}.\n\
             Billing: Invoice {inv} sent on {visit}.\n",
            p.first,
            p.last,
            us(p.dob),
            p.mrn,
            p.first,
            p.last,
            p.icd,
            p.phone,
            p.street,
            p.city.0,
            p.city.1,
            p.city.2,
            pr.first,
            pr.last,
            pr.npi,
            pr.dea
        );
        add_person_core(&mut t, p);
        t.values
            .push((PhiKind::Name, format!("{} {}", pr.first, pr.last)));
        t.values.extend([
            (PhiKind::Dob, us(p.dob)),
            (PhiKind::Mrn, p.mrn.clone()),
            (PhiKind::Icd10, p.icd.to_string()),
            (PhiKind::Phone, p.phone.clone()),
            (PhiKind::Address, p.street.clone()),
            (PhiKind::Npi, pr.npi.clone()),
            (PhiKind::Dea, pr.dea.clone()),
            (PhiKind::Procedure, cpt.to_string()),
        ]);
        t.negatives.push(("visit-date".into(), visit));
        t.negatives.push(("invoice".into(), inv));
        out.write(&format!("{dir}/note_{i}.txt"), "text", s.as_bytes(), t)?;
    }
    Ok(())
}

fn log_file(out: &mut Out<'_>, g: &mut Gen, people: &[Person], path: &str) -> std::io::Result<()> {
    let mut t = TruthFile::default();
    let mut s = String::new();
    for p in people.iter().take(40) {
        let ssn: String = p.ssn.chars().filter(char::is_ascii_digit).collect();
        s.push_str(&format!(
            "2025-03-{:02} 10:{:02}:{:02} INFO interface lookup mrn={} ssn={} status=ok order={}\n",
            g.rng.random_range(1..29),
            g.rng.random_range(0..60),
            g.rng.random_range(0..60),
            p.mrn,
            ssn,
            g.digits(9)
        ));
        t.values.push((PhiKind::Mrn, p.mrn.clone()));
        t.values.push((PhiKind::Ssn, ssn));
    }
    out.write(path, "log", s.as_bytes(), t)
}

/// A UTF-16LE export with a BOM (Windows) and a Latin-1 note.
fn encodings(out: &mut Out<'_>, people: &[Person], stem: &str) -> std::io::Result<()> {
    let mut t = TruthFile::default();
    let mut text = String::from("Patient Name\tSSN\tDate of Birth\r\n");
    for p in people.iter().skip(12).take(10) {
        text.push_str(&format!(
            "{} {}\t{}\t{}\r\n",
            p.first,
            p.last,
            p.ssn,
            us(p.dob)
        ));
        add_person_core(&mut t, p);
        t.values.push((PhiKind::Ssn, p.ssn.clone()));
        t.values.push((PhiKind::Dob, us(p.dob)));
    }
    let mut bytes = vec![0xFF, 0xFE];
    for u in text.encode_utf16() {
        bytes.extend_from_slice(&u.to_le_bytes());
    }
    out.write(&format!("{stem}_utf16.txt"), "utf16", &bytes, t)?;
    let mut t = TruthFile::default();
    let p = &people[22];
    let note = format!(
        "Nota: Jos\u{e9} {} acudi\u{f3} a consulta.\nPatient: {} {}\nSSN: {}\n",
        p.last, p.first, p.last, p.ssn
    );
    let (latin1, _, _) = encoding_rs::WINDOWS_1252.encode(&note);
    add_person_core(&mut t, p);
    // José, of the patient's family, is named too.
    t.values
        .push((PhiKind::Name, format!("Jos\u{e9} {}", p.last)));
    t.values.push((PhiKind::Ssn, p.ssn.clone()));
    out.write(&format!("{stem}_latin1.txt"), "latin1", &latin1, t)
}

fn fhir(out: &mut Out<'_>, _g: &mut Gen, people: &[Person], path: &str) -> std::io::Result<()> {
    let mut t = TruthFile::default();
    let entries: Vec<serde_json::Value> = people
        .iter()
        .take(30)
        .map(|p| {
            add_person_core(&mut t, p);
            t.values.extend([
                (PhiKind::Mrn, p.mrn.clone()),
                (PhiKind::Ssn, p.ssn.clone()),
                (PhiKind::Dob, p.dob.format("%Y-%m-%d").to_string()),
                (PhiKind::Phone, p.phone.clone()),
                (PhiKind::Email, p.email.clone()),
                (PhiKind::Address, p.street.clone()),
            ]);
            serde_json::json!({"resource": {
                "resourceType": "Patient",
                "identifier": [
                    {"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]}, "value": p.mrn},
                    {"system": "http://hl7.org/fhir/sid/us-ssn", "value": p.ssn}
                ],
                "name": [{"family": p.last, "given": [p.first]}],
                "telecom": [{"system": "phone", "value": p.phone}, {"system": "email", "value": p.email}],
                "birthDate": p.dob.format("%Y-%m-%d").to_string(),
                "address": [{"line": [p.street], "city": p.city.0, "state": p.city.1, "postalCode": p.city.2}]
            }})
        })
        .collect();
    let doc = serde_json::json!({"resourceType": "Bundle", "type": "collection", "entry": entries});
    let bytes = serde_json::to_vec_pretty(&doc).map_err(std::io::Error::other)?;
    out.write(path, "json", &bytes, t)
}

fn cda(
    out: &mut Out<'_>,
    g: &mut Gen,
    p: &Person,
    pr: &Provider,
    path: &str,
) -> std::io::Result<()> {
    let mut t = TruthFile::default();
    add_person_core(&mut t, p);
    t.values
        .push((PhiKind::Name, format!("{} {}", pr.first, pr.last)));
    t.values.extend([
        (PhiKind::Mrn, p.mrn.clone()),
        (PhiKind::Dob, p.dob.format("%Y%m%d").to_string()),
        (PhiKind::Address, p.street.clone()),
        (PhiKind::Npi, pr.npi.clone()),
    ]);
    let eff = format!(
        "2025{:02}{:02}",
        g.rng.random_range(1..13),
        g.rng.random_range(1..29)
    );
    t.negatives.push(("effective-time".into(), eff.clone()));
    let s = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<ClinicalDocument xmlns="urn:hl7-org:v3">
  <effectiveTime value="{eff}"/>
  <recordTarget><patientRole>
    <id root="2.16.840.1.113883.19.5" extension="{mrn}" assigningAuthorityName="MRN"/>
    <addr><streetAddressLine>{street}</streetAddressLine><city>{city}</city><state>{st}</state></addr>
    <patient><name><given>{first}</given><family>{last}</family></name>
      <birthTime value="{dob}"/></patient>
  </patientRole></recordTarget>
  <author><assignedAuthor><id root="2.16.840.1.113883.4.6" extension="{npi}" assigningAuthorityName="NPI"/>
    <assignedPerson><name><given>{pf}</given><family>{pl}</family></name></assignedPerson></assignedAuthor></author>
</ClinicalDocument>
"#,
        mrn = p.mrn,
        street = xml_escape(&p.street),
        city = p.city.0,
        st = p.city.1,
        first = p.first,
        last = p.last,
        dob = p.dob.format("%Y%m%d"),
        npi = pr.npi,
        pf = pr.first,
        pl = pr.last
    );
    out.write(path, "xml", s.as_bytes(), t)
}

fn sql_dump(out: &mut Out<'_>, g: &mut Gen, people: &[Person], path: &str) -> std::io::Result<()> {
    let mut t = TruthFile::default();
    let mut s = String::from(
        "-- MySQL dump 10.13\n/*!40101 SET NAMES utf8 */;\nCREATE TABLE `patients` (\n  `id` int NOT NULL,\n  `chart_no` varchar(16),\n  `fname` varchar(64),\n  `lname` varchar(64),\n  `birth_date` date,\n  `ssn` char(9),\n  `phone` varchar(20),\n  `street` varchar(128),\n  PRIMARY KEY (`id`)\n);\n",
    );
    s.push_str("INSERT INTO `patients` VALUES ");
    let rows: Vec<String> = people
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let ssn: String = p.ssn.chars().filter(char::is_ascii_digit).collect();
            add_person_core(&mut t, p);
            t.values.extend([
                (PhiKind::Mrn, p.mrn.clone()),
                (PhiKind::Dob, p.dob.format("%Y-%m-%d").to_string()),
                (PhiKind::Ssn, ssn.clone()),
                (PhiKind::Phone, p.phone.clone()),
                (PhiKind::Address, p.street.clone()),
            ]);
            format!(
                "({},'{}','{}','{}','{}','{}','{}','{}')",
                i + 1,
                p.mrn,
                p.first.replace('\'', "''"),
                p.last.replace('\'', "''"),
                p.dob.format("%Y-%m-%d"),
                ssn,
                p.phone,
                p.street
            )
        })
        .collect();
    s.push_str(&rows.join(","));
    s.push_str(";\n");
    s.push_str("CREATE TABLE `orders` (`id` int, `part_no` varchar(16), `order_ref` varchar(16), `lot` varchar(12), `order_date` date);\n");
    for i in 0..20 {
        let part = g.part_number();
        let oref = format!(
            "{}-{}-{}",
            g.rng.random_range(200..999),
            g.rng.random_range(200..999),
            g.digits(4)
        );
        let lot = g.digits(9);
        s.push_str(&format!(
            "INSERT INTO `orders` (`id`, `part_no`, `order_ref`, `lot`, `order_date`) VALUES ({i},'{part}','{oref}','{lot}','{}');\n",
            "2024-05-01"
        ));
        t.negatives.extend([
            ("part".into(), part),
            ("order-ref".into(), oref),
            ("lot".into(), lot),
        ]);
    }
    out.write(path, "sql", s.as_bytes(), t)
}

fn hl7(
    out: &mut Out<'_>,
    g: &mut Gen,
    people: &[Person],
    providers: &[Provider],
    path: &str,
) -> std::io::Result<()> {
    let mut t = TruthFile::default();
    let mut s = String::new();
    for (i, p) in people.iter().take(25).enumerate() {
        let pr = &providers[i % providers.len()];
        let g2 = &people[(i + 1) % people.len()];
        let ssn: String = p.ssn.chars().filter(char::is_ascii_digit).collect();
        let ts = format!(
            "2025{:02}{:02}0930",
            g.rng.random_range(1..13),
            g.rng.random_range(1..29)
        );
        s.push_str(&format!(
            "MSH|^~\\&|EHR|CLINIC|LAB|LABCO|{ts}||ADT^A04|MSG{i:05}|P|2.5.1\r\
             EVN|A04|{ts}\r\
             PID|1||{mrn}^^^CLINIC^MR||{last}^{first}^^^||{dob}|F|||{street}^^{city}^{st}^{zip}||{phone}|||||{acct}|{ssn}\r\
             PV1|1|O|||||{npi}^{pl}^{pf}\r\
             NK1|1|{nl}^{nf}|SPO|{nstreet}^^{city}^{st}^{zip}|{nphone}\r\
             IN1|1|BCBS01|BCBS|Blue Cross||||||||||||{last}^{first}|SEL|{dob}||||||||||||||||||{plan}\r\
             DG1|1||{icd}^Diagnosis^I10\r",
            mrn = p.mrn,
            last = p.last,
            first = p.first,
            dob = p.dob.format("%Y%m%d"),
            street = p.street,
            city = p.city.0,
            st = p.city.1,
            zip = p.city.2,
            phone = p.phone,
            acct = p.account,
            npi = pr.npi,
            pl = pr.last,
            pf = pr.first,
            nl = g2.last,
            nf = g2.first,
            nstreet = g2.street,
            nphone = g2.phone,
            plan = p.plan_id,
            icd = p.icd,
        ));
        add_person_core(&mut t, p);
        add_person_core(&mut t, g2);
        t.values
            .push((PhiKind::Name, format!("{} {}", pr.first, pr.last)));
        t.values.extend([
            (PhiKind::Mrn, p.mrn.clone()),
            (PhiKind::Dob, p.dob.format("%Y%m%d").to_string()),
            (PhiKind::Address, p.street.clone()),
            (PhiKind::Address, g2.street.clone()),
            (PhiKind::Phone, p.phone.clone()),
            (PhiKind::Phone, g2.phone.clone()),
            (PhiKind::Account, p.account.clone()),
            (PhiKind::Ssn, ssn),
            (PhiKind::PlanId, p.plan_id.clone()),
            (PhiKind::Icd10, p.icd.to_string()),
        ]);
        t.negatives.push(("message-time".into(), ts));
    }
    out.write(path, "hl7", s.as_bytes(), t)
}

fn docx(paragraphs: &[String], table: &[Vec<String>]) -> std::io::Result<Vec<u8>> {
    let mut body = String::new();
    for p in paragraphs {
        // Split each paragraph into two runs, as Word does, to test run joining.
        let mid = p
            .char_indices()
            .nth(p.chars().count() / 2)
            .map_or(0, |(i, _)| i);
        body.push_str(&format!(
            "<w:p><w:r><w:t xml:space=\"preserve\">{}</w:t></w:r><w:r><w:rPr><w:b/></w:rPr><w:t xml:space=\"preserve\">{}</w:t></w:r></w:p>",
            xml_escape(&p[..mid]),
            xml_escape(&p[mid..])
        ));
    }
    if !table.is_empty() {
        body.push_str("<w:tbl>");
        for row in table {
            body.push_str("<w:tr>");
            for c in row {
                body.push_str(&format!(
                    "<w:tc><w:p><w:r><w:t>{}</w:t></w:r></w:p></w:tc>",
                    xml_escape(c)
                ));
            }
            body.push_str("</w:tr>");
        }
        body.push_str("</w:tbl>");
    }
    let doc = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>{body}</w:body></w:document>"#
    );
    zip_bytes(&[
        ("[Content_Types].xml", br#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>"#.to_vec()),
        ("_rels/.rels", br#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>"#.to_vec()),
        ("word/document.xml", doc.into_bytes()),
    ])
}

fn docx_letter(
    out: &mut Out<'_>,
    g: &mut Gen,
    people: &[Person],
    pr: &Provider,
    path: &str,
) -> std::io::Result<()> {
    let mut t = TruthFile::default();
    let p = &people[1];
    let date = g.service_date();
    let paras = vec![
        format!("Springfield Family Dental, {date}"),
        format!("Dear Dr. {} {},", pr.first, pr.last),
        format!(
            "Re: {} {}, DOB {}, MRN {}. Member ID: {}.",
            p.first,
            p.last,
            us(p.dob),
            p.mrn,
            p.plan_id
        ),
        format!(
            "I am referring {} {} for evaluation of {}. Diagnosis: {}.",
            p.first, p.last, "periodontitis", p.icd
        ),
        "Sincerely, the front desk".to_string(),
    ];
    add_person_core(&mut t, p);
    t.values
        .push((PhiKind::Name, format!("{} {}", pr.first, pr.last)));
    t.values.extend([
        (PhiKind::Dob, us(p.dob)),
        (PhiKind::Mrn, p.mrn.clone()),
        (PhiKind::PlanId, p.plan_id.clone()),
        (PhiKind::Icd10, p.icd.to_string()),
    ]);
    t.negatives.push(("letter-date".into(), date));
    let mut table = vec![vec![
        "Name".to_string(),
        "Date of Birth".to_string(),
        "Phone".to_string(),
    ]];
    for q in people.iter().skip(10).take(5) {
        table.push(vec![
            format!("{} {}", q.first, q.last),
            us(q.dob),
            q.phone.clone(),
        ]);
        add_person_core(&mut t, q);
        t.values.push((PhiKind::Dob, us(q.dob)));
        t.values.push((PhiKind::Phone, q.phone.clone()));
    }
    out.write(path, "docx", &docx(&paras, &table)?, t)
}

fn odt_letter(
    out: &mut Out<'_>,
    _g: &mut Gen,
    p: &Person,
    pr: &Provider,
    path: &str,
) -> std::io::Result<()> {
    let mut t = TruthFile::default();
    add_person_core(&mut t, p);
    t.values
        .push((PhiKind::Name, format!("{} {}", pr.first, pr.last)));
    t.values.extend([
        (PhiKind::Dob, us(p.dob)),
        (PhiKind::Ssn, p.ssn.clone()),
        (PhiKind::Address, p.street.clone()),
    ]);
    let content = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"><office:body><office:text><text:h>Patient statement</text:h><text:p>Patient: <text:span>{} {}</text:span></text:p><text:p>DOB: {}<text:tab/>SSN: {}</text:p><text:p>Address: {}</text:p><text:p>Treating dentist: Dr. {} {}</text:p></office:text></office:body></office:document-content>"#,
        p.first,
        p.last,
        us(p.dob),
        p.ssn,
        xml_escape(&p.street),
        pr.first,
        pr.last
    );
    let bytes = zip_bytes(&[
        (
            "mimetype",
            b"application/vnd.oasis.opendocument.text".to_vec(),
        ),
        ("content.xml", content.into_bytes()),
    ])?;
    out.write(path, "odt", &bytes, t)
}

/// A minimal PDF with one page of text in Helvetica (WinAnsi).
pub fn pdf_bytes(lines: &[String]) -> Vec<u8> {
    let mut content = String::from("BT /F1 10 Tf 50 760 Td 14 TL\n");
    for l in lines {
        let esc = l
            .replace('\\', "\\\\")
            .replace('(', "\\(")
            .replace(')', "\\)");
        content.push_str(&format!("({esc}) Tj T*\n"));
    }
    content.push_str("ET\n");
    let objs = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>".to_string(),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>".to_string(),
        format!("<< /Length {} >>\nstream\n{content}endstream", content.len()),
    ];
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, o) in objs.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{o}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objs.len() + 1).as_bytes());
    for o in offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objs.len() + 1
        )
        .as_bytes(),
    );
    out
}

fn pdf_lab(out: &mut Out<'_>, g: &mut Gen, people: &[Person], path: &str) -> std::io::Result<()> {
    let mut t = TruthFile::default();
    let mut lines = vec!["Quest Lab Results - collected".to_string()];
    for p in people.iter().skip(20).take(6) {
        let collected = g.service_date();
        lines.push(format!(
            "Patient: {} {}   DOB: {}",
            p.first,
            p.last,
            us(p.dob)
        ));
        lines.push(format!("MRN: {}   Phone: {}", p.mrn, p.phone));
        lines.push(format!(
            "Collected {collected}. Glucose 142 mg/dL, diagnosis {}",
            p.icd
        ));
        add_person_core(&mut t, p);
        t.values.extend([
            (PhiKind::Dob, us(p.dob)),
            (PhiKind::Mrn, p.mrn.clone()),
            (PhiKind::Phone, p.phone.clone()),
            (PhiKind::Icd10, p.icd.to_string()),
        ]);
        t.negatives.push(("collected".into(), collected));
    }
    out.write(path, "pdf", &pdf_bytes(&lines), t)
}

fn rtf_note(out: &mut Out<'_>, _g: &mut Gen, p: &Person, path: &str) -> std::io::Result<()> {
    let mut t = TruthFile::default();
    add_person_core(&mut t, p);
    t.values.extend([
        (PhiKind::Dob, us(p.dob)),
        (PhiKind::Ssn, p.ssn.clone()),
        (PhiKind::Phone, p.phone.clone()),
    ]);
    let s = format!(
        "{{\\rtf1\\ansi\\deff0{{\\fonttbl{{\\f0 Times New Roman;}}}}{{\\colortbl;\\red0\\green0\\blue0;}}\\f0\\fs24 \
         {{\\b Consultation}}\\par Patient: {} {}\\par Date of birth: {}\\par SSN: {}\\par Phone: {}\\par \
         Chief complaint: tooth pain, caries on #14.\\par }}",
        p.first,
        p.last,
        us(p.dob),
        p.ssn,
        p.phone
    );
    out.write(path, "rtf", s.as_bytes(), t)
}

fn mail(out: &mut Out<'_>, g: &mut Gen, people: &[Person], dir: &str) -> std::io::Result<()> {
    // One message with a CSV attachment.
    let mut t = TruthFile::default();
    let p = &people[5];
    let mut att = String::from("name,dob,ssn\n");
    for q in people.iter().skip(30).take(8) {
        att.push_str(&format!("{} {},{},{}\n", q.first, q.last, us(q.dob), q.ssn));
        add_person_core(&mut t, q);
        t.values.push((PhiKind::Dob, us(q.dob)));
        t.values.push((PhiKind::Ssn, q.ssn.clone()));
    }
    use base64_lite::encode;
    let eml = format!(
        "From: Front Desk <frontdesk@springfielddental.example>\r\nTo: {} {} <{}>\r\nSubject: Your appointment\r\nDate: Mon, 3 Mar 2025 10:00:00 -0600\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n--XX\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHi {} {},\r\nYour next cleaning is booked. Member ID: {}.\r\n\r\n--XX\r\nContent-Type: text/csv; name=\"recall_list.csv\"\r\nContent-Disposition: attachment; filename=\"recall_list.csv\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n--XX--\r\n",
        p.first,
        p.last,
        p.email,
        p.first,
        p.last,
        p.plan_id,
        encode(att.as_bytes())
    );
    add_person_core(&mut t, p);
    t.values.push((PhiKind::Email, p.email.clone()));
    t.values.push((PhiKind::PlanId, p.plan_id.clone()));
    t.values.push((
        PhiKind::Email,
        "frontdesk@springfielddental.example".to_string(),
    ));
    out.write(&format!("{dir}/appointment.eml"), "eml", eml.as_bytes(), t)?;
    // A mailbox of three messages.
    let mut t = TruthFile::default();
    let mut mbox = String::new();
    for q in people.iter().skip(40).take(3) {
        let day = g.rng.random_range(1..28);
        mbox.push_str(&format!(
            "From billing@springfielddental.example Mon Mar {day:2} 10:00:00 2025\nFrom: billing@springfielddental.example\nTo: {}\nSubject: Statement\nDate: Mon, {day} Mar 2025 10:00:00 -0600\n\nDear {} {},\nYour card ending {} was charged. Account #: {}\n\n",
            q.email,
            q.first,
            q.last,
            &q.card[q.card.len() - 4..],
            q.account
        ));
        add_person_core(&mut t, q);
        t.values.push((PhiKind::Email, q.email.clone()));
        t.values.push((PhiKind::Account, q.account.clone()));
    }
    t.values.push((
        PhiKind::Email,
        "billing@springfielddental.example".to_string(),
    ));
    out.write(&format!("{dir}/billing.mbox"), "mbox", mbox.as_bytes(), t)?;
    // A referral saved from Outlook: the patient in subject and body, a recall list attached, and
    // the forwarded message it answers attached as a message.
    let mut t = TruthFile::default();
    let p = &people[6];
    let fwd = &people[7];
    let mut att = String::from("name,dob,ssn\n");
    for q in people.iter().skip(50).take(5) {
        att.push_str(&format!("{} {},{},{}\n", q.first, q.last, us(q.dob), q.ssn));
        add_person_core(&mut t, q);
        t.values.push((PhiKind::Dob, us(q.dob)));
        t.values.push((PhiKind::Ssn, q.ssn.clone()));
    }
    let m = OutlookMessage {
        subject: format!("Referral: {} {}", p.first, p.last),
        sender_name: "Front Desk".into(),
        sender_email: "frontdesk@springfielddental.example".into(),
        display_to: "Records".into(),
        body: format!(
            "Patient: {} {}\r\nDOB: {}\r\nSSN {}\r\nPlease send the chart.\r\n",
            p.first,
            p.last,
            us(p.dob),
            p.ssn
        ),
        rtf_compressed: None,
        html: None,
        recipients: vec![("Records".into(), "records@springfielddental.example".into())],
        attachments: vec![("recall.csv".into(), att.into_bytes())],
        attached_message: Some(Box::new(OutlookMessage {
            subject: "Chart request".into(),
            body: format!("Chart for {} {}, MRN: {}.", fwd.first, fwd.last, fwd.mrn),
            ..OutlookMessage::default()
        })),
    };
    add_person_core(&mut t, p);
    add_person_core(&mut t, fwd);
    t.values.extend([
        (PhiKind::Dob, us(p.dob)),
        (PhiKind::Ssn, p.ssn.clone()),
        (PhiKind::Mrn, fwd.mrn.clone()),
        (
            PhiKind::Email,
            "frontdesk@springfielddental.example".to_string(),
        ),
        (
            PhiKind::Email,
            "records@springfielddental.example".to_string(),
        ),
    ]);
    out.write(&format!("{dir}/referral.msg"), "msg", &msg_bytes(&m)?, t)
}

/// An Outlook message to write as `.msg` ([`msg_bytes`]).
#[derive(Debug, Clone, Default)]
pub struct OutlookMessage {
    pub subject: String,
    pub sender_name: String,
    pub sender_email: String,
    pub display_to: String,
    pub body: String,
    /// The body as `PR_RTF_COMPRESSED` bytes, for messages that keep no plain body.
    pub rtf_compressed: Option<Vec<u8>>,
    /// The body as `PR_HTML` bytes, for messages that keep no plain body.
    pub html: Option<Vec<u8>>,
    /// Display name and SMTP address of each recipient.
    pub recipients: Vec<(String, String)>,
    /// File name and contents of each attached file.
    pub attachments: Vec<(String, Vec<u8>)>,
    /// A message attached as a message (attach method 5).
    pub attached_message: Option<Box<OutlookMessage>>,
}

fn utf16le(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

type OleOut = cfb::CompoundFile<std::io::Cursor<Vec<u8>>>;

/// One MAPI object under `dir` ([MS-OXMSG] 2.1-2.4): each string property a UTF-16 stream
/// `__substg1.0_IIII001F`, each binary one `__substg1.0_IIII0102`, and the
/// `__properties_version1.0` table (its `header`, then 16 bytes per property: tag, flags, value or
/// size).
fn mapi_object(
    ole: &mut OleOut,
    dir: &str,
    header: &[u8],
    strings: &[(u16, &str)],
    binaries: &[(u16, &[u8])],
    fixed: &[(u32, u32)],
) -> std::io::Result<()> {
    let mut table = header.to_vec();
    let mut entry = |tag: u32, value: u32| {
        for v in [tag, 6, value, 0] {
            table.extend(v.to_le_bytes());
        }
    };
    for &(tag, v) in fixed {
        entry(tag, v);
    }
    for &(id, text) in strings.iter().filter(|(_, t)| !t.is_empty()) {
        let data = utf16le(text);
        ole.create_stream(format!("{dir}/__substg1.0_{id:04X}001F"))?
            .write_all(&data)?;
        entry((u32::from(id) << 16) | 0x001F, data.len() as u32 + 2);
    }
    for &(id, data) in binaries {
        ole.create_stream(format!("{dir}/__substg1.0_{id:04X}0102"))?
            .write_all(data)?;
        entry((u32::from(id) << 16) | 0x0102, data.len() as u32);
    }
    ole.create_stream(format!("{dir}/__properties_version1.0"))?
        .write_all(&table)?;
    Ok(())
}

/// The message at `dir` with its recipients and attachments (`top`: the file's own message, whose
/// property table header is 32 bytes; an attached message's is 24).
fn mapi_message(ole: &mut OleOut, dir: &str, top: bool, m: &OutlookMessage) -> std::io::Result<()> {
    let parts = m.attachments.len() + usize::from(m.attached_message.is_some());
    // Reserved, next recipient and attachment ids, their counts; 8 more reserved at the top.
    let mut header = vec![0u8; 8];
    for n in [m.recipients.len(), parts, m.recipients.len(), parts] {
        header.extend(u32::try_from(n).unwrap_or(u32::MAX).to_le_bytes());
    }
    if top {
        header.extend([0u8; 8]);
    }
    mapi_object(
        ole,
        dir,
        &header,
        &[
            (0x001A, "IPM.Note"),
            (0x0037, &m.subject),
            (0x0C1A, &m.sender_name),
            (0x0C1F, &m.sender_email),
            // Outlook writes the sender again as "sent representing".
            (0x0042, &m.sender_name),
            (0x0065, &m.sender_email),
            (0x0E04, &m.display_to),
            (0x1000, &m.body),
        ],
        &m.rtf_compressed
            .iter()
            .map(|c| (0x1009, c.as_slice()))
            .chain(m.html.iter().map(|h| (0x1013, h.as_slice())))
            .collect::<Vec<_>>(),
        &[],
    )?;
    for (i, (name, email)) in m.recipients.iter().enumerate() {
        let r = format!("{dir}/__recip_version1.0_#{i:08X}");
        ole.create_storage(&r)?;
        // PR_RECIPIENT_TYPE (0x0C15, integer): 1 = To.
        mapi_object(
            ole,
            &r,
            &[0u8; 8],
            &[(0x3001, name), (0x39FE, email)],
            &[],
            &[(0x0C15_0003, 1)],
        )?;
    }
    for (i, (name, data)) in m.attachments.iter().enumerate() {
        let a = format!("{dir}/__attach_version1.0_#{i:08X}");
        ole.create_storage(&a)?;
        // PR_ATTACH_METHOD (0x3705): 1 = by value.
        mapi_object(
            ole,
            &a,
            &[0u8; 8],
            &[(0x3707, name), (0x3704, name)],
            &[(0x3701, data)],
            &[(0x3705_0003, 1)],
        )?;
    }
    if let Some(inner) = &m.attached_message {
        let a = format!("{dir}/__attach_version1.0_#{:08X}", m.attachments.len());
        ole.create_storage(&a)?;
        // Attach method 5: an embedded message, stored as a storage in PR_ATTACH_DATA_OBJ.
        mapi_object(
            ole,
            &a,
            &[0u8; 8],
            &[(0x3001, &inner.subject)],
            &[],
            &[(0x3705_0003, 5)],
        )?;
        let d = format!("{a}/__substg1.0_3701000D");
        ole.create_storage(&d)?;
        mapi_message(ole, &d, false, inner)?;
    }
    Ok(())
}

/// An Outlook `.msg` file as [MS-OXMSG] lays it out (what Outlook's "Save As" writes), with an
/// empty named-property map.
pub fn msg_bytes(m: &OutlookMessage) -> std::io::Result<Vec<u8>> {
    let mut ole = cfb::CompoundFile::create(std::io::Cursor::new(Vec::new()))?;
    ole.create_storage("/__nameid_version1.0")?;
    // GUID, entry and string streams of the named-property map.
    for s in ["00020102", "00030102", "00040102"] {
        ole.create_stream(format!("/__nameid_version1.0/__substg1.0_{s}"))?;
    }
    mapi_message(&mut ole, "", true, m)?;
    // Storages carry the time they were made: one fixed time keeps the corpus the same bytes
    // from run to run.
    let storages: Vec<std::path::PathBuf> = ole
        .walk()
        .filter(|e| !e.is_stream())
        .map(|e| e.path().to_path_buf())
        .collect();
    let fixed = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_767_225_600);
    for path in storages {
        ole.set_created_time(&path, fixed)?;
        ole.set_modified_time(&path, fixed)?;
    }
    ole.flush()?;
    Ok(ole.into_inner().into_inner())
}

mod base64_lite {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    /// Standard base64 with line breaks every 76 characters.
    pub fn encode(data: &[u8]) -> String {
        let mut out = String::new();
        for (i, c) in data.chunks(3).enumerate() {
            if i > 0 && i % 19 == 0 {
                out.push_str("\r\n");
            }
            let b = [c[0], *c.get(1).unwrap_or(&0), *c.get(2).unwrap_or(&0)];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            for k in 0..4 {
                if k <= c.len() {
                    out.push(char::from(T[((n >> (18 - 6 * k)) & 63) as usize]));
                } else {
                    out.push('=');
                }
            }
        }
        out
    }
}

fn archive(out: &mut Out<'_>, _g: &mut Gen, people: &[Person], path: &str) -> std::io::Result<()> {
    let mut t = TruthFile::default();
    let mut csv = String::from("Name,SSN,Phone\n");
    for q in people.iter().skip(45).take(10) {
        csv.push_str(&format!("{} {},{},{}\n", q.first, q.last, q.ssn, q.phone));
        add_person_core(&mut t, q);
        t.values.push((PhiKind::Ssn, q.ssn.clone()));
        t.values.push((PhiKind::Phone, q.phone.clone()));
    }
    let q = &people[56];
    let note = format!(
        "Patient {} {} DOB {} called about a refund.\n",
        q.first,
        q.last,
        us(q.dob)
    );
    add_person_core(&mut t, q);
    t.values.push((PhiKind::Dob, us(q.dob)));
    let inner = zip_bytes(&[("2019/callback.txt", note.into_bytes())])?;
    let outer = zip_bytes(&[
        ("patients_2019.csv", csv.into_bytes()),
        ("nested/old.zip", inner),
    ])?;
    out.write(path, "zip", &outer, t)
}

/// A DICOM Part 10 file (explicit VR little endian) with a small pixel block.
pub fn dicom_bytes(elements: &[((u16, u16), &str, String)], pixels: &[u8]) -> Vec<u8> {
    fn el(out: &mut Vec<u8>, tag: (u16, u16), vr: &str, val: &[u8]) {
        let mut v = val.to_vec();
        if v.len() % 2 == 1 {
            v.push(if vr == "UI" || vr == "OB" { 0 } else { b' ' });
        }
        out.extend_from_slice(&tag.0.to_le_bytes());
        out.extend_from_slice(&tag.1.to_le_bytes());
        out.extend_from_slice(vr.as_bytes());
        if matches!(vr, "OB" | "OW" | "SQ" | "UN" | "UT") {
            out.extend_from_slice(&[0, 0]);
            out.extend_from_slice(&(v.len() as u32).to_le_bytes());
        } else {
            out.extend_from_slice(&(v.len() as u16).to_le_bytes());
        }
        out.extend_from_slice(&v);
    }
    let mut meta = Vec::new();
    el(&mut meta, (0x0002, 0x0001), "OB", &[0, 1]);
    el(
        &mut meta,
        (0x0002, 0x0002),
        "UI",
        b"1.2.840.10008.5.1.4.1.1.1.3",
    );
    el(&mut meta, (0x0002, 0x0003), "UI", b"1.2.3.4.5.6.7");
    el(&mut meta, (0x0002, 0x0010), "UI", b"1.2.840.10008.1.2.1");
    let mut out = vec![0u8; 128];
    out.extend_from_slice(b"DICM");
    el(
        &mut out,
        (0x0002, 0x0000),
        "UL",
        &(meta.len() as u32).to_le_bytes(),
    );
    out.extend_from_slice(&meta);
    for (tag, vr, v) in elements {
        el(&mut out, *tag, vr, v.as_bytes());
    }
    el(&mut out, (0x7FE0, 0x0010), "OW", pixels);
    out
}

fn dicom(
    out: &mut Out<'_>,
    g: &mut Gen,
    people: &[Person],
    pr: &Provider,
    dir: &str,
) -> std::io::Result<()> {
    for (i, p) in people.iter().skip(50).take(4).enumerate() {
        let mut t = TruthFile::default();
        let study = format!(
            "2025{:02}{:02}",
            g.rng.random_range(1..13),
            g.rng.random_range(1..29)
        );
        let other = format!("X{}", g.digits(7));
        let els = vec![
            ((0x0008, 0x0020), "DA", study.clone()),
            (
                (0x0008, 0x0080),
                "LO",
                "Springfield Family Dental".to_string(),
            ),
            ((0x0008, 0x0090), "PN", format!("{}^{}", pr.last, pr.first)),
            ((0x0010, 0x0010), "PN", format!("{}^{}", p.last, p.first)),
            ((0x0010, 0x0020), "LO", p.mrn.clone()),
            ((0x0010, 0x0030), "DA", p.dob.format("%Y%m%d").to_string()),
            ((0x0010, 0x0040), "CS", "F".to_string()),
            ((0x0010, 0x1000), "LO", other.clone()),
        ];
        add_person_core(&mut t, p);
        t.values
            .push((PhiKind::Name, format!("{} {}", pr.first, pr.last)));
        t.values.extend([
            (PhiKind::Mrn, p.mrn.clone()),
            (PhiKind::Mrn, other),
            (PhiKind::Dob, p.dob.format("%Y%m%d").to_string()),
        ]);
        t.negatives.push(("study-date".into(), study));
        // Pixel bytes that look like an SSN: must never be read.
        let decoy = g.ssn();
        let mut pixels = format!("SSN {decoy} ").into_bytes();
        pixels.resize(512, 7);
        t.negatives.push(("pixel-data".into(), decoy));
        out.write(
            &format!("{dir}/IM{i:04}.dcm"),
            "dicom",
            &dicom_bytes(&els, &pixels),
            t,
        )?;
    }
    Ok(())
}

fn negatives(out: &mut Out<'_>, g: &mut Gen, path: &str) -> std::io::Result<()> {
    let mut t = TruthFile::default();
    let mut s = String::from("item,part_no,lot,serial,order_ref,invoice_date,tracking\n");
    for i in 0..30 {
        let part = g.part_number();
        let lot = g.digits(9);
        let serial = g.digits(9);
        let oref = format!(
            "{}-{}-{}",
            g.rng.random_range(200..999),
            g.rng.random_range(200..999),
            g.digits(4)
        );
        let date = g.service_date();
        let tracking = g.digits(16);
        s.push_str(&format!(
            "Gloves size {i},{part},{lot},{serial},{oref},{date},{tracking}\n"
        ));
        t.negatives.extend([
            ("part".into(), part),
            ("lot".into(), lot),
            ("serial".into(), serial),
            ("order-ref".into(), oref),
            ("invoice-date".into(), date),
            ("tracking".into(), tracking),
        ]);
    }
    out.write(path, "csv", s.as_bytes(), t)
}

/// A practice-management report saved "as a web page": a title, a line with the date it was
/// printed (no birth date), and a table of patients under its header cells.
fn html_report(out: &mut Out<'_>, people: &[Person], path: &str) -> std::io::Result<()> {
    let mut t = TruthFile::default();
    let mut s = String::from(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Patient Birthday List</title>\n\
         <style>td { padding: 2px }</style></head>\n<body>\n<h1>Patient Birthday List</h1>\n\
         <p>Printed: 11/28/2026 &middot; Springfield Family Dental</p>\n<table>\n\
         <tr><th>Chart #</th><th>Patient</th><th>Birth Date</th><th>Phone</th></tr>\n",
    );
    for p in people.iter().take(30) {
        s.push_str(&format!(
            "<tr><td>{}</td><td>{}, {}</td><td>{}</td><td>{}</td></tr>\n",
            p.mrn,
            xml_escape(&p.last),
            xml_escape(&p.first),
            us(p.dob),
            p.phone
        ));
        add_listed(&mut t, p);
    }
    s.push_str("</table>\n</body></html>\n");
    t.negatives
        .push(("printed-date".into(), "11/28/2026".into()));
    out.write(path, "html", s.as_bytes(), t)
}

/// A practice-management report printed to a text file: a title with the date it was printed,
/// column names over a rule of dashes, a line per patient ("LAST, FIRST" in capitals), the last
/// column (the recall date) no birth date.
fn text_report(out: &mut Out<'_>, people: &[Person], path: &str) -> std::io::Result<()> {
    let mut t = TruthFile::default();
    let mut s = format!(
        "SPRINGFIELD FAMILY DENTAL{:>40}\nRecall List{:>54}\n\n{:<28}{:<10}{:<13}{:<17}{}\n{}\n",
        "Page 1",
        "Printed 11/28/2026",
        "PATIENT NAME",
        "CHART #",
        "BIRTH DATE",
        "HOME PHONE",
        "RECALL DUE",
        "-".repeat(26) + "  --------  -----------  ---------------  ----------"
    );
    for p in people.iter().take(30) {
        let name = format!("{}, {}", p.last, p.first).to_uppercase();
        s.push_str(&format!(
            "{name:<28}{:<10}{:<13}{:<17}{}\n",
            p.mrn,
            us(p.dob),
            p.phone,
            "06/01/2027"
        ));
        add_listed(&mut t, p);
    }
    s.push_str("\nEnd of report\n");
    t.negatives.extend([
        ("printed-date".into(), "11/28/2026".into()),
        ("recall-date".into(), "06/01/2027".into()),
    ]);
    out.write(path, "report", s.as_bytes(), t)
}

/// Mailing labels exported without a header row: surname, given name, street, city, state,
/// ZIP, date of birth (for birthday cards), and the date of the last visit (no DOB).
fn labels(out: &mut Out<'_>, people: &[Person], path: &str) -> std::io::Result<()> {
    let mut t = TruthFile::default();
    let mut s = String::new();
    for p in people.iter().take(40) {
        s.push_str(&format!(
            "{},{},{},{},{},{},{},11/02/2026\n",
            p.last,
            p.first,
            p.street,
            p.city.0,
            p.city.1,
            p.city.2,
            us(p.dob)
        ));
        add_person_core(&mut t, p);
        t.values.extend([
            (PhiKind::Dob, us(p.dob)),
            (PhiKind::Address, p.street.clone()),
        ]);
    }
    t.negatives.push(("visit-date".into(), "11/02/2026".into()));
    out.write(path, "csv-no-header", s.as_bytes(), t)
}

/// A patient-reminder app's SQLite database: contacts under the column names such apps use (an
/// SSN kept as an INTEGER, a note with a date that is no birth date), and a supplies table of
/// part, lot and order numbers shaped like identifiers.
fn sqlite_app(
    out: &mut Out<'_>,
    g: &mut Gen,
    people: &[Person],
    path: &str,
) -> std::io::Result<()> {
    let mut t = TruthFile::default();
    let mut db = || -> rusqlite::Result<Vec<u8>> {
        let db = rusqlite::Connection::open_in_memory()?;
        db.execute_batch(
            "CREATE TABLE contacts (id INTEGER PRIMARY KEY, full_name TEXT, birthday TEXT, \
             mobile TEXT, email TEXT, ssn INTEGER, reminder TEXT);\
             CREATE TABLE supplies (item TEXT, part_no TEXT, lot INTEGER, order_ref TEXT);",
        )?;
        for p in people.iter().take(40) {
            let ssn: String = p.ssn.chars().filter(char::is_ascii_digit).collect();
            let visit = g.service_date();
            db.execute(
                "INSERT INTO contacts (full_name, birthday, mobile, email, ssn, reminder) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                (
                    format!("{} {}", p.first, p.last),
                    us(p.dob),
                    &p.phone,
                    &p.email,
                    ssn.parse::<i64>().unwrap_or_default(),
                    format!("Cleaning due, last visit {visit}"),
                ),
            )?;
            add_person_core(&mut t, p);
            t.values.extend([
                (PhiKind::Dob, us(p.dob)),
                (PhiKind::Phone, p.phone.clone()),
                (PhiKind::Email, p.email.clone()),
                (PhiKind::Ssn, ssn),
            ]);
            t.negatives.push(("visit-date".into(), visit));
        }
        for i in 0..10 {
            let (part, lot) = (g.part_number(), g.digits(9));
            let oref = format!(
                "{}-{}-{}",
                g.rng.random_range(200..999),
                g.rng.random_range(200..999),
                g.digits(4)
            );
            db.execute(
                "INSERT INTO supplies VALUES (?1, ?2, ?3, ?4)",
                (
                    format!("Prophy paste {i}"),
                    &part,
                    lot.parse::<i64>().unwrap_or_default(),
                    &oref,
                ),
            )?;
            t.negatives.extend([
                ("part".into(), part),
                ("lot".into(), lot.trim_start_matches('0').to_string()),
                ("order-ref".into(), oref),
            ]);
        }
        Ok(db.serialize(rusqlite::MAIN_DB)?.to_vec())
    };
    let bytes = db().map_err(std::io::Error::other)?;
    out.write(path, "sqlite", &bytes, t)
}

/// The nightly backup of a practice-management system on PostgreSQL, as `pg_dump -Fc` writes it
/// ([`pg_custom`]): a patients table and a supplies table of part, lot and order numbers.
fn pg_backup(out: &mut Out<'_>, g: &mut Gen, people: &[Person], path: &str) -> std::io::Result<()> {
    let mut t = TruthFile::default();
    let mut patients = String::new();
    for (i, p) in people.iter().enumerate() {
        let visit = g.service_date();
        patients.push_str(&format!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\tcleaning due\\nlast visit {visit}\n",
            i + 1,
            p.mrn,
            p.last,
            p.first,
            p.dob.format("%Y-%m-%d"),
            p.ssn,
            p.phone,
            p.street,
            p.plan_id,
            p.email,
        ));
        add_person_core(&mut t, p);
        t.values.extend([
            (PhiKind::Mrn, p.mrn.clone()),
            (PhiKind::Dob, p.dob.format("%Y-%m-%d").to_string()),
            (PhiKind::Ssn, p.ssn.clone()),
            (PhiKind::Phone, p.phone.clone()),
            (PhiKind::Address, p.street.clone()),
            (PhiKind::PlanId, p.plan_id.clone()),
            (PhiKind::Email, p.email.clone()),
        ]);
        t.negatives.push(("visit-date".into(), visit));
    }
    let mut supplies = String::new();
    for i in 0..10 {
        let (part, lot) = (g.part_number(), g.digits(9));
        let oref = format!(
            "{}-{}-{}",
            g.rng.random_range(200..999),
            g.rng.random_range(200..999),
            g.digits(4)
        );
        supplies.push_str(&format!("{i}\t{part}\t{lot}\t{oref}\n"));
        t.negatives.extend([
            ("part".into(), part),
            ("lot".into(), lot),
            ("order-ref".into(), oref),
        ]);
    }
    let bytes = pg_custom(&[
        PgTable {
            name: "patient",
            columns: &[
                "patnum",
                "chart_number",
                "lname",
                "fname",
                "birthdate",
                "ssn",
                "wireless_phone",
                "address",
                "subscriber_id",
                "email",
                "note",
            ],
            types: &[
                "integer", "text", "text", "text", "date", "text", "text", "text", "text", "text",
                "text",
            ],
            rows: patients,
        },
        PgTable {
            name: "supply",
            columns: &["supply_num", "part_no", "lot", "order_ref"],
            types: &["integer", "text", "text", "text"],
            rows: supplies,
        },
    ]);
    out.write(path, "pgdump", &bytes, t)
}

/// A table of a [`pg_custom`] archive: its rows in `COPY`'s text format.
struct PgTable {
    name: &'static str,
    columns: &'static [&'static str],
    types: &'static [&'static str],
    rows: String,
}

/// An archive in `pg_dump`'s custom format, version 1.14 (PostgreSQL 12 to 15), as
/// `pg_backup_archiver.c` (`WriteHead`, `WriteToc`) and `pg_backup_custom.c` write it: header,
/// table of contents (the encoding, then a TABLE and a TABLE DATA entry per table), and a
/// zlib-compressed data block per table whose offset the table of contents gives. `pg_restore`
/// reads it (the `pg_dumps` tests check).
fn pg_custom(tables: &[PgTable]) -> Vec<u8> {
    fn int(b: &mut Vec<u8>, v: i64) {
        b.push(u8::from(v < 0));
        b.extend_from_slice(&u32::try_from(v.unsigned_abs()).unwrap_or(0).to_le_bytes());
    }
    fn string(b: &mut Vec<u8>, s: Option<&str>) {
        match s {
            None => int(b, -1),
            Some(s) => {
                int(b, i64::try_from(s.len()).unwrap_or(0));
                b.extend_from_slice(s.as_bytes());
            }
        }
    }
    // Section numbers (teSection) and data offset flags (K_OFFSET_*).
    const PRE_DATA: i64 = 2;
    const DATA: i64 = 3;
    const POS_SET: u8 = 2;
    const NO_DATA: u8 = 3;
    let mut b = b"PGDMP".to_vec();
    b.extend_from_slice(&[1, 14, 0, 4, 8, 1]);
    int(&mut b, -1); // compression: zlib's default level
    for v in [0, 0, 9, 1, 10, 126, 0] {
        int(&mut b, v); // made 2026-11-01 09:00:00
    }
    for s in ["practice", "15.4", "15.4"] {
        string(&mut b, Some(s));
    }
    int(&mut b, i64::try_from(2 + 2 * tables.len()).unwrap_or(0));
    // Entries as WriteToc writes them; the position of each data offset, to fill in below.
    let mut offsets = Vec::new();
    let mut entry = |b: &mut Vec<u8>,
                     id: i64,
                     tag: &str,
                     desc: &str,
                     section: i64,
                     text: [Option<&str>; 4],
                     deps: Option<i64>| {
        let [defn, drop, copy, schema] = text;
        int(b, id);
        int(b, i64::from(desc == "TABLE DATA"));
        string(b, Some("0"));
        string(b, Some("0"));
        string(b, Some(tag));
        string(b, Some(desc));
        int(b, section);
        string(b, defn);
        string(b, drop);
        string(b, copy);
        string(b, schema);
        string(b, schema.map(|_| ""));
        string(b, (desc == "TABLE").then_some("heap"));
        string(b, schema.map(|_| "postgres"));
        string(b, Some("false"));
        if let Some(d) = deps {
            string(b, Some(&d.to_string()));
        }
        string(b, None);
        if desc == "TABLE DATA" {
            b.push(POS_SET);
            offsets.push(b.len());
        } else {
            b.push(NO_DATA);
        }
        b.extend_from_slice(&[0; 8]);
    };
    let set = |name: &str, value: &str| format!("SET {name} = '{value}';\n");
    let encoding = set("client_encoding", "UTF8");
    entry(
        &mut b,
        1,
        "ENCODING",
        "ENCODING",
        PRE_DATA,
        [Some(&encoding), None, None, None],
        None,
    );
    let std = set("standard_conforming_strings", "on");
    entry(
        &mut b,
        2,
        "STDSTRINGS",
        "STDSTRINGS",
        PRE_DATA,
        [Some(&std), None, None, None],
        None,
    );
    for (i, tb) in tables.iter().enumerate() {
        let id = 3 + 2 * i64::try_from(i).unwrap_or(0);
        let cols: Vec<String> = tb
            .columns
            .iter()
            .zip(tb.types)
            .map(|(c, ty)| format!("    {c} {ty}"))
            .collect();
        let create = format!(
            "CREATE TABLE public.{} (\n{}\n);\n",
            tb.name,
            cols.join(",\n")
        );
        let drop = format!("DROP TABLE public.{};\n", tb.name);
        let copy = format!(
            "COPY public.{} ({}) FROM stdin;\n",
            tb.name,
            tb.columns.join(", ")
        );
        let schema = Some("public");
        entry(
            &mut b,
            id,
            tb.name,
            "TABLE",
            PRE_DATA,
            [Some(&create), Some(&drop), None, schema],
            None,
        );
        entry(
            &mut b,
            id + 1,
            tb.name,
            "TABLE DATA",
            DATA,
            [Some(""), Some(""), Some(&copy), schema],
            Some(id),
        );
    }
    for (i, (tb, at)) in tables.iter().zip(offsets).enumerate() {
        let pos = u64::try_from(b.len()).unwrap_or(0);
        b[at..at + 8].copy_from_slice(&pos.to_le_bytes());
        b.push(1); // BLK_DATA
        int(&mut b, 4 + 2 * i64::try_from(i).unwrap_or(0));
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        // The rows end with COPY's end-of-data line, as pg_dump writes them.
        let packed = z
            .write_all(format!("{}\\.\n", tb.rows).as_bytes())
            .and_then(|()| z.finish())
            .unwrap_or_default();
        // In chunks of at most 4 KiB, as pg_dump writes them.
        for chunk in packed.chunks(4096) {
            int(&mut b, i64::try_from(chunk.len()).unwrap_or(0));
            b.extend_from_slice(chunk);
        }
        int(&mut b, 0);
    }
    b
}

fn handout(out: &mut Out<'_>, g: &mut Gen, path: &str) -> std::io::Result<()> {
    let mut t = TruthFile::default();
    let part = g.part_number();
    let slides = [
        vec![
            "HIPAA training 2025".to_string(),
            "Never write SSNs on sticky notes. Example: 078-05-1120 is the famous sample SSN."
                .to_string(),
            "A sample SSN for forms: 219-09-9999.".to_string(),
        ],
        vec![
            "Payment cards".to_string(),
            "Example card for testing: 4111 1111 1111 1111".to_string(),
            format!("Order part no. {part} from the supplier before Friday."),
        ],
    ];
    t.negatives.extend([
        ("sample-ssn".into(), "078-05-1120".into()),
        ("sample-ssn".into(), "219-09-9999".into()),
        ("example-card".into(), "4111 1111 1111 1111".into()),
        ("part".into(), part),
    ]);
    let mut parts: Vec<(String, Vec<u8>)> = vec![
        ("[Content_Types].xml".to_string(), br#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/></Types>"#.to_vec()),
        ("ppt/presentation.xml".to_string(), br#"<?xml version="1.0" encoding="UTF-8"?><p:presentation xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main"/>"#.to_vec()),
    ];
    for (i, lines) in slides.iter().enumerate() {
        let body: String = lines
            .iter()
            .map(|l| format!("<a:p><a:r><a:t>{}</a:t></a:r></a:p>", xml_escape(l)))
            .collect();
        parts.push((
            format!("ppt/slides/slide{}.xml", i + 1),
            format!(r#"<?xml version="1.0" encoding="UTF-8"?><p:sld xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main" xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"><p:cSld><p:spTree><p:sp><p:txBody>{body}</p:txBody></p:sp></p:spTree></p:cSld></p:sld>"#).into_bytes(),
        ));
    }
    let refs: Vec<(&str, Vec<u8>)> = parts.iter().map(|(n, d)| (n.as_str(), d.clone())).collect();
    out.write(path, "pptx", &zip_bytes(&refs)?, t)
}

/// Precision/recall counts for one cell of the score table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Counts {
    /// Findings that match a planted value.
    pub tp_found: u64,
    /// All findings.
    pub found: u64,
    /// Planted values that were found.
    pub tp_truth: u64,
    /// All planted values.
    pub truth: u64,
}

impl Counts {
    /// Share of findings that are right (1.0 when nothing was found).
    pub fn precision(&self) -> f64 {
        if self.found == 0 {
            1.0
        } else {
            self.tp_found as f64 / self.found as f64
        }
    }
    /// Share of planted values found (1.0 when nothing was planted).
    pub fn recall(&self) -> f64 {
        if self.truth == 0 {
            1.0
        } else {
            self.tp_truth as f64 / self.truth as f64
        }
    }
    fn add(&mut self, o: Counts) {
        self.tp_found += o.tp_found;
        self.found += o.found;
        self.tp_truth += o.tp_truth;
        self.truth += o.truth;
    }
}

/// Scores per kind and per (kind, format).
#[derive(Debug, Clone, Default)]
pub struct Score {
    pub by_kind: BTreeMap<PhiKind, Counts>,
    pub by_kind_format: BTreeMap<(PhiKind, String), Counts>,
    /// Findings sitting on a planted hard negative, by label.
    pub negatives_hit: BTreeMap<String, u64>,
}

/// Kinds the scorer judges (IP addresses and URLs are not planted).
pub fn scored(kind: PhiKind) -> bool {
    !matches!(kind, PhiKind::Ip | PhiKind::Url)
}

fn tokens(s: &str) -> HashSet<String> {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|t| t.chars().count() > 1)
        .map(str::to_lowercase)
        .collect()
}

fn norm(kind: PhiKind, v: &str) -> String {
    crate::mask::normalize(kind, v)
}

/// Compare findings (with values: scan with `unmask`) against the truth.
pub fn score(truth: &Truth, root: &Path, findings: &[PhiFinding]) -> Score {
    let mut by_file: BTreeMap<String, Vec<&PhiFinding>> = BTreeMap::new();
    for f in findings {
        let rel = Path::new(&*f.path)
            .strip_prefix(root)
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_else(|_| f.path.to_string());
        by_file.entry(rel).or_default().push(f);
    }
    let mut s = Score::default();
    for tf in &truth.files {
        let found = by_file.get(&tf.path).cloned().unwrap_or_default();
        for kind in PhiKind::ALL.into_iter().filter(|k| scored(*k)) {
            let t_vals: Vec<&str> = tf
                .values
                .iter()
                .filter(|(k, _)| *k == kind)
                .map(|(_, v)| v.as_str())
                .collect();
            let f_vals: Vec<&str> = found
                .iter()
                .filter(|f| f.kind == kind)
                .filter_map(|f| f.value.as_deref())
                .collect();
            if t_vals.is_empty() && f_vals.is_empty() {
                continue;
            }
            let c = match kind {
                PhiKind::Name | PhiKind::Address => {
                    let t_tok: Vec<HashSet<String>> = dedup(t_vals.iter().map(|v| tokens(v)));
                    let f_tok: Vec<HashSet<String>> = dedup(f_vals.iter().map(|v| tokens(v)));
                    let union_f: HashSet<&String> = f_tok.iter().flatten().collect();
                    let tp_truth = t_tok
                        .iter()
                        .filter(|t| {
                            if kind == PhiKind::Name {
                                t.iter().all(|x| union_f.contains(x))
                            } else {
                                f_tok
                                    .iter()
                                    .any(|f| t.is_subset(f) || (f.is_subset(t) && f.len() >= 2))
                            }
                        })
                        .count() as u64;
                    let union_t: HashSet<&String> = t_tok.iter().flatten().collect();
                    let tp_found = f_tok
                        .iter()
                        .filter(|f| {
                            if kind == PhiKind::Name {
                                !f.is_empty() && f.iter().all(|x| union_t.contains(x))
                            } else {
                                t_tok
                                    .iter()
                                    .any(|t| t.is_subset(f) || (f.is_subset(t) && f.len() >= 2))
                            }
                        })
                        .count() as u64;
                    Counts {
                        tp_found,
                        found: f_tok.len() as u64,
                        tp_truth,
                        truth: t_tok.len() as u64,
                    }
                }
                _ => {
                    let t_set: HashSet<String> = t_vals.iter().map(|v| norm(kind, v)).collect();
                    let f_set: HashSet<String> = f_vals.iter().map(|v| norm(kind, v)).collect();
                    let tp = t_set.intersection(&f_set).count() as u64;
                    Counts {
                        tp_found: tp,
                        found: f_set.len() as u64,
                        tp_truth: tp,
                        truth: t_set.len() as u64,
                    }
                }
            };
            s.by_kind.entry(kind).or_default().add(c);
            s.by_kind_format
                .entry((kind, tf.format.clone()))
                .or_default()
                .add(c);
        }
        for (label, neg) in &tf.negatives {
            let nd: String = neg.chars().filter(char::is_ascii_alphanumeric).collect();
            let hit = found.iter().any(|f| {
                f.value.as_deref().is_some_and(|v| {
                    let vd: String = v.chars().filter(char::is_ascii_alphanumeric).collect();
                    vd == nd
                })
            });
            if hit {
                *s.negatives_hit.entry(label.clone()).or_default() += 1;
            }
        }
    }
    s
}

fn dedup(it: impl Iterator<Item = HashSet<String>>) -> Vec<HashSet<String>> {
    let mut out: Vec<HashSet<String>> = Vec::new();
    for s in it {
        if !s.is_empty() && !out.contains(&s) {
            out.push(s);
        }
    }
    out
}

/// The score as a plain table.
pub fn render(s: &Score) -> String {
    let mut out = String::from("kind            precision  recall   found  planted\n");
    for (k, c) in &s.by_kind {
        out.push_str(&format!(
            "{:<15} {:>9.3} {:>7.3} {:>7} {:>8}\n",
            k.as_str(),
            c.precision(),
            c.recall(),
            c.found,
            c.truth
        ));
    }
    out.push_str("\nkind/format                precision  recall   found  planted\n");
    for ((k, f), c) in &s.by_kind_format {
        out.push_str(&format!(
            "{:<26} {:>9.3} {:>7.3} {:>7} {:>8}\n",
            format!("{}/{}", k.as_str(), f),
            c.precision(),
            c.recall(),
            c.found,
            c.truth
        ));
    }
    out.push_str("\nhard negatives reported as PHI: ");
    if s.negatives_hit.is_empty() {
        out.push_str("none\n");
    } else {
        let v: Vec<String> = s
            .negatives_hit
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        out.push_str(&v.join(", "));
        out.push('\n');
    }
    out
}
