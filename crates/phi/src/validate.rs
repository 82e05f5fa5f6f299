//! Pure validators for identifier shapes and checksums. Each takes the candidate text and says
//! whether it can be a real value; none allocates on the hot path except where noted.

use chrono::{Datelike, NaiveDate};

/// Digits kept by [`digits`]: more than any identifier holds (cards have up to 19).
const MAX_DIGITS: usize = 24;

/// The digit values of a string, on the stack: every validator runs once per candidate.
#[derive(Debug, Clone, Copy)]
pub struct Digits {
    d: [u8; MAX_DIGITS],
    n: usize,
}

impl std::ops::Deref for Digits {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.d[..self.n]
    }
}

/// The values of the ASCII digits of `s`, in order. A string with more than [`MAX_DIGITS`]
/// digits yields its first `MAX_DIGITS` (no identifier is that long, so it fails every length
/// rule either way).
pub fn digits(s: &str) -> Digits {
    let mut out = Digits {
        d: [0; MAX_DIGITS],
        n: 0,
    };
    for b in s.bytes().filter(u8::is_ascii_digit) {
        let Some(slot) = out.d.get_mut(out.n) else {
            break;
        };
        *slot = b - b'0';
        out.n += 1;
    }
    out
}

/// Luhn mod-10 over digit values (rightmost is the check digit).
pub fn luhn(d: &[u8]) -> bool {
    luhn_sum(d, 0).is_multiple_of(10)
}

fn luhn_sum(d: &[u8], extra: u32) -> u32 {
    let mut sum = extra;
    for (i, &x) in d.iter().rev().enumerate() {
        let x = u32::from(x);
        sum += if i % 2 == 1 {
            let y = x * 2;
            if y > 9 { y - 9 } else { y }
        } else {
            x
        };
    }
    sum
}

/// Samples and advertising numbers that are not anyone's SSN.
const SAMPLE_SSNS: &[&str] = &[
    "078051120",
    "219099999",
    "123456789",
    "111111111",
    "333333333",
    "987654320",
    "987654321",
    "987654322",
    "987654323",
    "987654324",
    "987654325",
    "987654326",
    "987654327",
    "987654328",
    "987654329",
];

/// SSA rules: area not 000, 666 or 900-999; group not 00; serial not 0000; known samples and
/// advertising numbers rejected; delimiters, when present, the same in both places.
pub fn ssn(s: &str) -> bool {
    let b = s.as_bytes();
    let d = digits(s);
    if d.len() != 9 {
        return false;
    }
    if b.len() == 11 {
        let (d1, d2) = (b[3], b[6]);
        if d1 != d2 || !(d1 == b'-' || d1 == b' ') {
            return false;
        }
    } else if b.len() != 9 {
        return false;
    }
    let area = u32::from(d[0]) * 100 + u32::from(d[1]) * 10 + u32::from(d[2]);
    let group = u32::from(d[3]) * 10 + u32::from(d[4]);
    let serial = d[5..].iter().fold(0u32, |a, &x| a * 10 + u32::from(x));
    if area == 0 || area == 666 || area >= 900 || group == 0 || serial == 0 {
        return false;
    }
    if d.iter().all(|&x| x == d[0]) {
        return false;
    }
    !SAMPLE_SSNS
        .iter()
        .any(|x| x.bytes().map(|c| c - b'0').eq(d.iter().copied()))
}

/// NPI: 10 digits starting 1 or 2, Luhn over the `80840` prefix plus the number.
pub fn npi(s: &str) -> bool {
    let d = digits(s);
    if d.len() != 10 || !(d[0] == 1 || d[0] == 2) || s.len() != 10 {
        return false;
    }
    if d.iter().all(|&x| x == d[0]) {
        return false;
    }
    // 80840 contributes a constant 24 to the Luhn sum of the 10 digits.
    luhn_sum(&d, 24).is_multiple_of(10)
}

/// DEA: registrant letter, a letter (or 9), seven digits with the DEA check digit.
pub fn dea(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 9 {
        return false;
    }
    let first = b[0].to_ascii_uppercase();
    if !b"ABCDEFGHJKLMPRSTUX".contains(&first) {
        return false;
    }
    if !(b[1].is_ascii_alphabetic() || b[1] == b'9') {
        return false;
    }
    if !b[2..].iter().all(u8::is_ascii_digit) {
        return false;
    }
    // Nine bytes, the last seven digits (checked above).
    let d = |i: usize| u32::from(b[2 + i] - b'0');
    let sum = d(0) + d(2) + d(4) + 2 * (d(1) + d(3) + d(5));
    sum % 10 == d(6)
}

/// Medicare Beneficiary Identifier: `C A AN N A AN N A A N N`, dashes optional (4-3-4).
pub fn mbi(s: &str) -> bool {
    let mut flat = [0u8; 11];
    let mut n = 0usize;
    for b in s.bytes().filter(|&b| b != b'-') {
        match flat.get_mut(n) {
            Some(slot) => *slot = b,
            None => return false,
        }
        n += 1;
    }
    if n != 11 {
        return false;
    }
    if s.len() == 13 {
        let b = s.as_bytes();
        if b[4] != b'-' || b[8] != b'-' {
            return false;
        }
    } else if s.len() != 11 {
        return false;
    }
    let alpha = |c: u8| {
        let c = c.to_ascii_uppercase();
        c.is_ascii_uppercase() && !b"SLOIBZ".contains(&c)
    };
    let num = |c: u8| c.is_ascii_digit();
    let an = |c: u8| alpha(c) || num(c);
    let f = &flat;
    (b'1'..=b'9').contains(&f[0])
        && alpha(f[1])
        && an(f[2])
        && num(f[3])
        && alpha(f[4])
        && an(f[5])
        && num(f[6])
        && alpha(f[7])
        && alpha(f[8])
        && num(f[9])
        && num(f[10])
}

/// Payment card: Luhn plus issuer range and length (Visa, Mastercard 51-55 and 2221-2720, Amex,
/// Discover, JCB, Diners).
pub fn card(s: &str) -> bool {
    let d = digits(s);
    let n = d.len();
    if !(13..=19).contains(&n) || !luhn(&d) {
        return false;
    }
    let prefix = |k: usize| d.iter().take(k).fold(0u32, |a, &x| a * 10 + u32::from(x));
    let ok = match d[0] {
        4 => n == 13 || n == 16 || n == 19,
        5 => (51..=55).contains(&prefix(2)) && n == 16,
        2 => (2221..=2720).contains(&prefix(4)) && n == 16,
        3 => {
            let p2 = prefix(2);
            ((p2 == 34 || p2 == 37) && n == 15)
                || ((3528..=3589).contains(&prefix(4)) && (16..=19).contains(&n))
                || ((p2 == 36 || p2 == 38 || (300..=305).contains(&prefix(3))) && n == 14)
        }
        6 => {
            (prefix(4) == 6011
                || (644..=649).contains(&prefix(3))
                || prefix(2) == 65
                || (622126..=622925).contains(&prefix(6)))
                && (16..=19).contains(&n)
        }
        _ => false,
    };
    ok && !d.iter().all(|&x| x == d[0])
}

/// ABA routing number: valid Federal Reserve prefix and the 3-7-1 checksum.
pub fn aba(s: &str) -> bool {
    let d = digits(s);
    if d.len() != 9 || s.len() != 9 {
        return false;
    }
    let p = u32::from(d[0]) * 10 + u32::from(d[1]);
    if !((p <= 12) || (21..=32).contains(&p) || (61..=72).contains(&p) || p == 80) {
        return false;
    }
    if d.iter().all(|&x| x == 0) {
        return false;
    }
    let w = [3u32, 7, 1, 3, 7, 1, 3, 7, 1];
    let sum: u32 = d.iter().zip(w).map(|(&x, w)| u32::from(x) * w).sum();
    sum.is_multiple_of(10)
}

/// NANP phone number: NPA and NXX start 2-9, NXX not N11, not 555-01XX fictional.
pub fn phone(s: &str) -> bool {
    let all = digits(s);
    let d = match &all[..] {
        [1, rest @ ..] if rest.len() == 10 => rest,
        d => d,
    };
    if d.len() != 10 {
        return false;
    }
    if d[0] < 2 || d[3] < 2 {
        return false;
    }
    if d[1] == 1 && d[2] == 1 {
        return false;
    }
    if d[4] == 1 && d[5] == 1 {
        return false;
    }
    if d[3] == 5 && d[4] == 5 && d[5] == 5 && d[6] == 0 && d[7] == 1 {
        return false;
    }
    !d.iter().all(|&x| x == d[0])
}

/// E-mail: a local part, one `@`, a dotted domain with an alphabetic TLD.
pub fn email(s: &str) -> bool {
    let Some((local, domain)) = s.rsplit_once('@') else {
        return false;
    };
    if local.is_empty() || local.len() > 64 || domain.len() > 253 {
        return false;
    }
    let Some((_, tld)) = domain.rsplit_once('.') else {
        return false;
    };
    tld.len() >= 2 && tld.bytes().all(|b| b.is_ascii_alphabetic())
}

/// A calendar date from common US, ISO, HL7/DICOM (`YYYYMMDD`) and written forms.
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    let b = s.as_bytes();
    if b.len() == 8 && b.iter().all(u8::is_ascii_digit) {
        let y = s.get(0..4)?.parse().ok()?;
        let m = s.get(4..6)?.parse().ok()?;
        let d = s.get(6..8)?.parse().ok()?;
        return NaiveDate::from_ymd_opt(y, m, d);
    }
    // HL7 timestamps: YYYYMMDDHHMM[SS]
    if (12..=14).contains(&b.len()) && b.iter().all(u8::is_ascii_digit) {
        return parse_date(s.get(0..8)?);
    }
    // Three numbers: no allocation, a date can be parsed three times per finding.
    let mut it = s.split(['-', '/', '.']);
    if let (Some(a), Some(b), Some(c), None) = (it.next(), it.next(), it.next(), it.next())
        && [a, b, c]
            .iter()
            .all(|p| p.bytes().all(|c| c.is_ascii_digit()))
    {
        let parts = [a, b, c];
        let n: [u32; 3] = [a.parse().ok()?, b.parse().ok()?, c.parse().ok()?];
        if parts[0].len() == 4 {
            return NaiveDate::from_ymd_opt(i32::try_from(n[0]).ok()?, n[1], n[2]);
        }
        let year = match parts[2].len() {
            4 => i32::try_from(n[2]).ok()?,
            2 => {
                let y = i32::try_from(n[2]).ok()?;
                if y <= 25 { 2000 + y } else { 1900 + y }
            }
            _ => return None,
        };
        return NaiveDate::from_ymd_opt(year, n[0], n[1]);
    }
    for fmt in [
        "%B %d, %Y",
        "%b %d, %Y",
        "%d %B %Y",
        "%d %b %Y",
        "%b. %d, %Y",
    ] {
        if let Ok(d) = NaiveDate::parse_from_str(s, fmt) {
            return Some(d);
        }
    }
    None
}

/// A date that can be somebody's birth date: not in the future, at most 120 years ago.
pub fn plausible_dob(d: NaiveDate) -> bool {
    let today = chrono::Utc::now().date_naive();
    d <= today && today.year() - d.year() <= 120
}

/// ICD-10-CM shape: letter, digit, digit-or-letter, optional dot and 1-4 alphanumerics.
pub fn icd10(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 3 || b.len() > 8 {
        return false;
    }
    if !b[0].is_ascii_uppercase() || !b[1].is_ascii_digit() || !b[2].is_ascii_alphanumeric() {
        return false;
    }
    match b.get(3) {
        None => true,
        Some(b'.') => b.len() > 4 && b[4..].iter().all(u8::is_ascii_alphanumeric),
        Some(_) => false,
    }
}

/// IPv4 dotted quad with every octet in range.
pub fn ipv4(s: &str) -> bool {
    s.parse::<std::net::Ipv4Addr>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssn_rules() {
        assert!(ssn("123-45-6780"));
        assert!(ssn("536 22 8726"));
        assert!(ssn("536228726"));
        for bad in [
            "078-05-1120",
            "219-09-9999",
            "000-12-3456",
            "666-12-3456",
            "912-34-5678",
            "123-00-4567",
            "123-45-0000",
            "123-45 6789",
            "987-65-4321",
            "111-11-1111",
            "12-345-6789",
        ] {
            assert!(!ssn(bad), "{bad}");
        }
    }

    #[test]
    fn npi_checksum() {
        // CMS's worked example.
        assert!(npi("1234567893"));
        assert!(!npi("1234567890"));
        assert!(!npi("3234567893"));
    }

    #[test]
    fn dea_checksum() {
        // (1+3+5) + 2*(2+4+6) = 33 -> check digit 3.
        assert!(dea("AB1234563"));
        assert!(dea("F91234563"));
        assert!(!dea("AB1234562"));
        assert!(!dea("1B1234563"));
        assert!(!dea("AB12345630"));
    }

    #[test]
    fn mbi_format() {
        // CMS's example MBI.
        assert!(mbi("1EG4-TE5-MK73"));
        assert!(mbi("1EG4TE5MK73"));
        assert!(!mbi("0EG4TE5MK73"));
        assert!(!mbi("1SG4TE5MK73"));
        assert!(!mbi("1EG4TE5MK7"));
        assert!(!mbi("1EG4-TE5MK73"));
    }

    #[test]
    fn cards() {
        assert!(card("4111 1111 1111 1111"));
        assert!(card("5555555555554444"));
        assert!(card("2223000048400011"));
        assert!(card("378282246310005"));
        assert!(card("6011111111111117"));
        assert!(card("3530111333300000"));
        assert!(!card("4111111111111112"));
        assert!(!card("1234567812345670"));
        // Luhn-valid but 2-series outside 2221-2720.
        assert!(!card("2800000000000004"));
    }

    #[test]
    fn aba_checksum() {
        assert!(aba("011000015"));
        assert!(aba("021000021"));
        assert!(!aba("021000022"));
        assert!(!aba("991000021"));
    }

    #[test]
    fn phones() {
        assert!(phone("(415) 555-2671"));
        assert!(phone("+1 415 867 5309"));
        assert!(!phone("(115) 555-2671"));
        assert!(!phone("415-155-2671"));
        assert!(!phone("415-555-0123"));
        assert!(!phone("415-911-2671"));
    }

    #[test]
    fn dates() {
        assert_eq!(parse_date("19800214"), NaiveDate::from_ymd_opt(1980, 2, 14));
        assert_eq!(
            parse_date("02/14/1980"),
            NaiveDate::from_ymd_opt(1980, 2, 14)
        );
        assert_eq!(
            parse_date("1980-02-14"),
            NaiveDate::from_ymd_opt(1980, 2, 14)
        );
        assert_eq!(
            parse_date("February 14, 1980"),
            NaiveDate::from_ymd_opt(1980, 2, 14)
        );
        assert_eq!(parse_date("02/30/1980"), None);
        assert_eq!(
            parse_date("198002141230"),
            NaiveDate::from_ymd_opt(1980, 2, 14)
        );
    }

    #[test]
    fn icd_shapes() {
        assert!(icd10("E11.9"));
        assert!(icd10("K02.52"));
        assert!(icd10("Z00"));
        assert!(!icd10("e11.9"));
        assert!(!icd10("E1.9"));
        assert!(!icd10("E11."));
    }

    /// The numeric-date branch as it was written first (with vectors), as the reference.
    fn parse_numeric_reference(s: &str) -> Option<Option<NaiveDate>> {
        let parts: Vec<&str> = s.trim().split(['-', '/', '.']).collect();
        if parts.len() != 3 || !parts.iter().all(|p| p.bytes().all(|c| c.is_ascii_digit())) {
            return None;
        }
        let n: Vec<u32> = parts.iter().filter_map(|p| p.parse().ok()).collect();
        if n.len() != 3 {
            return Some(None);
        }
        if parts[0].len() == 4 {
            return Some(NaiveDate::from_ymd_opt(
                i32::try_from(n[0]).ok()?,
                n[1],
                n[2],
            ));
        }
        let year = match parts[2].len() {
            4 => i32::try_from(n[2]).ok(),
            2 => i32::try_from(n[2])
                .ok()
                .map(|y| if y <= 25 { 2000 + y } else { 1900 + y }),
            _ => None,
        };
        Some(year.and_then(|y| NaiveDate::from_ymd_opt(y, n[0], n[1])))
    }

    proptest::proptest! {
        /// The stack digits are the string's ASCII digit values, in order, up to the cap.
        #[test]
        fn digits_are_the_ascii_digit_values(s in "[0-9a-z -]{0,40}|.{0,30}") {
            let want: Vec<u8> = s
                .bytes()
                .filter(u8::is_ascii_digit)
                .map(|b| b - b'0')
                .take(MAX_DIGITS)
                .collect();
            proptest::prop_assert_eq!(&digits(&s)[..], &want[..]);
        }
    }

    proptest::proptest! {
        #[test]
        fn numeric_dates_parse_as_before(
            s in "[0-9]{0,11}[-/.][0-9]{0,5}[-/.][0-9]{0,5}([-/.][0-9]{0,2})?",
        ) {
            // Strings that are not 8 or 12-14 bare digits take the three-number branch.
            if let Some(expected) = parse_numeric_reference(&s) {
                proptest::prop_assert_eq!(parse_date(&s), expected);
            }
        }
    }
}
