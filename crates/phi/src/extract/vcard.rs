//! vCard contact files (`.vcf`, RFC 6350 and its 2.1/3.0 forebears): a phone's or Outlook's
//! exported contacts, a recall list. Each card is a record; its properties name what their values
//! are: `FN` and `N` a name, `BDAY` a date of birth, `TEL` a phone, `EMAIL`, `ADR` an address.
//! Lines are unfolded (a line starting with a space or tab continues the one before) and values
//! unescaped (`\,` `\;` `\n` `\\`); anything else is scanned as free text under its property.

use super::text::{Lines, decode, decoded};
use super::{Cx, ExtractError, Unit};
use std::io::BufRead;

/// Whether `head` starts a vCard.
pub fn looks_like_vcard(head: &[u8]) -> bool {
    head.len() >= 11 && head[..11].eq_ignore_ascii_case(b"BEGIN:VCARD")
}

/// The field a property's value is scanned under.
fn field_of(property: &str) -> &str {
    match property.to_ascii_uppercase().as_str() {
        "FN" | "N" => "name",
        "BDAY" => "birth date",
        "TEL" => "phone",
        "EMAIL" => "email",
        "ADR" => "address",
        _ => property,
    }
}

/// A property value with its escapes undone; the `;` that separate structured parts (`N`, `ADR`)
/// become spaces, and `N`'s "family;given" is read "given family".
fn value_of(property: &str, raw: &str) -> String {
    let mut parts: Vec<String> = vec![String::new()];
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('n' | 'N') => parts.last_mut().map_or((), |p| p.push('\n')),
                Some(other) => parts.last_mut().map_or((), |p| p.push(other)),
                None => {}
            },
            ';' => parts.push(String::new()),
            _ => parts.last_mut().map_or((), |p| p.push(c)),
        }
    }
    if property.eq_ignore_ascii_case("N") && parts.len() >= 2 {
        parts.swap(0, 1);
    }
    let kept: Vec<&str> = parts
        .iter()
        .map(|p| p.trim())
        .filter(|p| !p.is_empty())
        .collect();
    kept.join(" ")
}

/// Scan a vCard file: one record per card.
pub fn vcard(r: &mut dyn BufRead, cx: &mut Cx<'_>) -> Result<(), ExtractError> {
    let mut r = decoded(r)?;
    let mut lines = Lines::new(&mut r, cx.limits.max_line, false);
    let mut record = 0u64;
    // The logical line being unfolded, and where it started.
    let mut logical = String::new();
    let mut start = 0u64;
    loop {
        let next = lines.next_line()?;
        let folded = next.as_ref().map(|(_, raw)| decode(raw));
        if let Some(line) = &folded
            && let Some(rest) = line.strip_prefix([' ', '\t'])
            && !logical.is_empty()
        {
            logical.push_str(rest);
            continue;
        }
        if !logical.is_empty() {
            property(&logical, start, &mut record, cx)?;
            logical.clear();
        }
        let (Some((n, _)), Some(line)) = (next.as_ref(), folded) else {
            return Ok(());
        };
        start = *n;
        logical.push_str(&line);
    }
}

/// One unfolded property line.
fn property(line: &str, n: u64, record: &mut u64, cx: &mut Cx<'_>) -> Result<(), ExtractError> {
    let Some((head, raw)) = line.split_once(':') else {
        return cx.unit(Unit {
            text: line,
            line: Some(n),
            ..Unit::default()
        });
    };
    // `item1.TEL;TYPE=HOME`: the group before the dot and the parameters after `;` go.
    let name = head.split(';').next().unwrap_or(head);
    let name = name.rsplit('.').next().unwrap_or(name);
    if name.eq_ignore_ascii_case("BEGIN") && raw.eq_ignore_ascii_case("VCARD") {
        *record += 1;
        return Ok(());
    }
    if name.eq_ignore_ascii_case("END")
        || name.eq_ignore_ascii_case("VERSION")
        || name.eq_ignore_ascii_case("PHOTO")
    {
        return Ok(());
    }
    let value = value_of(name, raw);
    cx.lines(
        &value,
        Unit {
            field: Some(field_of(name)),
            line: Some(n),
            record: (*record > 0).then_some(*record),
            ..Unit::default()
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_unescaped_and_names_put_in_order() {
        assert_eq!(value_of("N", "Zorquil;Xochitl;;;"), "Xochitl Zorquil");
        assert_eq!(
            value_of("ADR", ";;5871 Highland Street;Springfield;IL;62704;USA"),
            "5871 Highland Street Springfield IL 62704 USA"
        );
        assert_eq!(
            value_of("NOTE", r"since 2015\, SSN 536\\22\n"),
            "since 2015, SSN 536\\22"
        );
        assert_eq!(field_of("bday"), "birth date");
        assert_eq!(field_of("X-CUSTOM"), "X-CUSTOM");
        assert!(looks_like_vcard(b"begin:vcard\r\n"));
    }
}
