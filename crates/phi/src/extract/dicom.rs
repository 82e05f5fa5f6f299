//! DICOM Part 10 headers, hand-parsed (PS3.5 data encoding, PS3.10 file format): the file meta group
//! in explicit VR little endian, then the data set in the transfer syntax it names (implicit or
//! explicit VR, little or big endian, deflated). Parsing stops at Pixel Data (7FE0,0010): pixels are
//! never read. String attributes become units with their tag as context.

use super::{Cx, ExtractError, Unit};
use medguard_model::PhiProblem;
use std::io::Read;

/// Pixel Data: parsing stops here.
const PIXEL_DATA: (u16, u16) = (0x7FE0, 0x0010);

/// Whether bytes look like a DICOM data set without the Part 10 preamble (group 0008 first).
pub fn looks_raw(head: &[u8]) -> bool {
    head.len() >= 8 && head[0] == 0x08 && head[1] == 0x00 && head[3] == 0x00
}

/// Names of the attributes worth naming in evidence.
fn tag_name(g: u16, e: u16) -> &'static str {
    match (g, e) {
        (0x0008, 0x0050) => "AccessionNumber",
        (0x0008, 0x0080) => "InstitutionName",
        (0x0008, 0x0081) => "InstitutionAddress",
        (0x0008, 0x0090) => "ReferringPhysicianName",
        (0x0008, 0x1030) => "StudyDescription",
        (0x0008, 0x1050) => "PerformingPhysicianName",
        (0x0008, 0x1060) => "NameOfPhysiciansReadingStudy",
        (0x0008, 0x1070) => "OperatorsName",
        (0x0010, 0x0010) => "PatientName",
        (0x0010, 0x0020) => "PatientID",
        (0x0010, 0x0030) => "PatientBirthDate",
        (0x0010, 0x0040) => "PatientSex",
        (0x0010, 0x1000) => "OtherPatientIDs",
        (0x0010, 0x1001) => "OtherPatientNames",
        (0x0010, 0x1040) => "PatientAddress",
        (0x0010, 0x1060) => "PatientMotherBirthName",
        (0x0010, 0x1090) => "MedicalRecordLocator",
        (0x0010, 0x2154) => "PatientTelephoneNumbers",
        (0x0010, 0x4000) => "PatientComments",
        (0x0032, 0x1032) => "RequestingPhysician",
        _ => "",
    }
}

/// VRs of text attributes in an implicit-VR data set, for the attributes we know.
fn implicit_vr(g: u16, e: u16) -> Option<[u8; 2]> {
    Some(match (g, e) {
        (0x0008, 0x0090)
        | (0x0008, 0x1050)
        | (0x0008, 0x1060)
        | (0x0008, 0x1070)
        | (0x0010, 0x0010)
        | (0x0010, 0x1001)
        | (0x0010, 0x1060)
        | (0x0032, 0x1032) => *b"PN",
        (0x0010, 0x0030) => *b"DA",
        (0x0008, 0x0050) => *b"SH",
        (0x0010, 0x2154) => *b"SH",
        (0x0008, 0x0081) | (0x0010, 0x1040) | (0x0010, 0x4000) => *b"ST",
        (0x0008, 0x0080)
        | (0x0008, 0x1030)
        | (0x0010, 0x0020)
        | (0x0010, 0x1000)
        | (0x0010, 0x1090) => *b"LO",
        _ => return None,
    })
}

fn long_header_vr(vr: &[u8]) -> bool {
    matches!(
        vr,
        b"OB"
            | b"OD"
            | b"OF"
            | b"OL"
            | b"OV"
            | b"OW"
            | b"SQ"
            | b"UC"
            | b"UN"
            | b"UR"
            | b"UT"
            | b"SV"
            | b"UV"
    )
}

fn text_vr(vr: &[u8]) -> bool {
    matches!(
        vr,
        b"PN" | b"LO" | b"SH" | b"LT" | b"ST" | b"UT" | b"DA" | b"UC" | b"DT"
    )
}

#[derive(Clone, Copy)]
struct Syntax {
    explicit: bool,
    big: bool,
}

struct Rd<'a> {
    b: &'a [u8],
    pos: usize,
}

impl Rd<'_> {
    fn u16(&mut self, big: bool) -> Option<u16> {
        let s = self.b.get(self.pos..self.pos + 2)?;
        self.pos += 2;
        let a = [s[0], s[1]];
        Some(if big {
            u16::from_be_bytes(a)
        } else {
            u16::from_le_bytes(a)
        })
    }
    fn u32(&mut self, big: bool) -> Option<u32> {
        let s = self.b.get(self.pos..self.pos + 4)?;
        self.pos += 4;
        let a = [s[0], s[1], s[2], s[3]];
        Some(if big {
            u32::from_be_bytes(a)
        } else {
            u32::from_le_bytes(a)
        })
    }
    fn bytes(&mut self, n: usize) -> Option<&[u8]> {
        let s = self.b.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(s)
    }
}

/// A text value: trailing padding removed, PN components (`^`, `=`) as spaces.
fn value_text(vr: &[u8], raw: &[u8]) -> String {
    let s = super::text::decode(raw);
    let s = s.trim_end_matches(['\0', ' ']).trim_start();
    if vr == b"PN" {
        s.split('=')
            .next()
            .unwrap_or("")
            .split('^')
            .filter(|p| !p.trim().is_empty())
            .map(str::trim)
            .collect::<Vec<_>>()
            .join(" ")
    } else {
        s.to_string()
    }
}

/// Parse the header of a DICOM file and emit its text attributes.
pub fn dicom(data: &[u8], cx: &mut Cx<'_>) -> Result<(), ExtractError> {
    let (start, has_meta) = if data.get(128..132) == Some(b"DICM") {
        (132, true)
    } else if looks_raw(data) {
        (0, false)
    } else {
        return Err(ExtractError::corrupt("dicom", "no DICM marker"));
    };
    let mut rd = Rd {
        b: data,
        pos: start,
    };
    let mut syntax = Syntax {
        explicit: true,
        big: false,
    };
    if !has_meta {
        // No meta group: guess explicit VR from the first element's VR bytes.
        let vr = data.get(4..6).unwrap_or(b"\0\0");
        syntax.explicit = vr.iter().all(u8::is_ascii_uppercase);
    }
    let mut ts = String::new();
    let mut in_meta = has_meta;
    let mut elements = 0usize;
    let mut inflated: Option<Vec<u8>> = None;
    loop {
        if elements % 4096 == 4095 {
            cx.check_deadline()?;
        }
        let at = rd.pos;
        // Peek the group to leave the meta group (always explicit little endian).
        let Some(peek) = rd.b.get(at..at + 2) else {
            break;
        };
        let group_le = u16::from_le_bytes([peek[0], peek[1]]);
        if in_meta && group_le != 0x0002 {
            in_meta = false;
            syntax = match ts.as_str() {
                "1.2.840.10008.1.2" => Syntax {
                    explicit: false,
                    big: false,
                },
                "1.2.840.10008.1.2.2" => Syntax {
                    explicit: true,
                    big: true,
                },
                _ => Syntax {
                    explicit: true,
                    big: false,
                },
            };
            if ts == "1.2.840.10008.1.2.1.99" && inflated.is_none() {
                let mut out = Vec::new();
                flate2::read::DeflateDecoder::new(&data[at..])
                    .take(cx.limits.max_whole)
                    .read_to_end(&mut out)
                    .map_err(|e| {
                        ExtractError::corrupt("dicom", format!("deflated data set: {e}"))
                    })?;
                cx.expand(out.len() as u64)?;
                inflated = Some(out);
                break;
            }
        }
        let cur = if in_meta {
            Syntax {
                explicit: true,
                big: false,
            }
        } else {
            syntax
        };
        match element(&mut rd, cur, &mut ts, in_meta, cx)? {
            Step::Next => elements += 1,
            Step::Stop => return Ok(()),
            Step::Truncated => {
                if elements == 0 {
                    return Err(ExtractError::corrupt(
                        "dicom",
                        "truncated before the first element",
                    ));
                }
                cx.warn(
                    PhiProblem::Unreadable,
                    format!("truncated DICOM header after {elements} elements"),
                );
                return Ok(());
            }
        }
    }
    if let Some(body) = inflated {
        let mut rd = Rd { b: &body, pos: 0 };
        let mut ts2 = String::new();
        while let Step::Next = element(&mut rd, syntax, &mut ts2, false, cx)? {}
    }
    Ok(())
}

enum Step {
    Next,
    Stop,
    Truncated,
}

fn element(
    rd: &mut Rd<'_>,
    syn: Syntax,
    ts: &mut String,
    in_meta: bool,
    cx: &mut Cx<'_>,
) -> Result<Step, ExtractError> {
    let (Some(g), Some(e)) = (rd.u16(syn.big), rd.u16(syn.big)) else {
        return Ok(if rd.pos >= rd.b.len() {
            Step::Stop
        } else {
            Step::Truncated
        });
    };
    if (g, e) == PIXEL_DATA {
        return Ok(Step::Stop);
    }
    if g == 0xFFFE {
        // Item / delimitation: a 4-byte length, no VR; descend into items.
        return Ok(match rd.u32(syn.big) {
            Some(_) => Step::Next,
            None => Step::Truncated,
        });
    }
    let (vr, len) = if syn.explicit {
        let Some(vr) = rd.bytes(2).map(|v| [v[0], v[1]]) else {
            return Ok(Step::Truncated);
        };
        if long_header_vr(&vr) {
            if rd.bytes(2).is_none() {
                return Ok(Step::Truncated);
            }
            let Some(l) = rd.u32(syn.big) else {
                return Ok(Step::Truncated);
            };
            (vr, l)
        } else {
            let Some(l) = rd.u16(syn.big) else {
                return Ok(Step::Truncated);
            };
            (vr, u32::from(l))
        }
    } else {
        let Some(l) = rd.u32(syn.big) else {
            return Ok(Step::Truncated);
        };
        (implicit_vr(g, e).unwrap_or(*b"UN"), l)
    };
    if len == 0xFFFF_FFFF {
        // Undefined length (a sequence or encapsulated data): parse on into it.
        return Ok(Step::Next);
    }
    if &vr == b"SQ" {
        return Ok(Step::Next);
    }
    let Some(raw) = rd.bytes(len as usize) else {
        return Ok(Step::Truncated);
    };
    if in_meta && (g, e) == (0x0002, 0x0010) {
        *ts = value_text(b"UI", raw);
        return Ok(Step::Next);
    }
    let printable = |r: &[u8]| {
        !r.is_empty()
            && r.len() <= 4096
            && r.iter()
                .all(|&b| b == 0 || b >= 0x20 || b == b'\n' || b == b'\r' || b == b'\t')
    };
    let text = if text_vr(&vr) {
        Some(value_text(&vr, raw))
    } else if &vr == b"UN" && g != 0x0002 && g % 2 == 1 && printable(raw) {
        // Private text in an implicit-VR set: still worth a look.
        Some(value_text(b"LO", raw))
    } else {
        None
    };
    if let Some(text) = text {
        let name = tag_name(g, e);
        let field = format!("({g:04X},{e:04X}) {name}");
        for v in text.split('\\') {
            cx.unit(Unit {
                text: v,
                field: Some(field.trim_end()),
                record: Some(1),
                ..Unit::default()
            })?;
        }
    }
    Ok(Step::Next)
}
