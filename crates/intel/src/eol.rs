//! End of support for operating systems and firmware families (`data/eol.toml`, compiled in).

use chrono::NaiveDate;
use serde::Deserialize;
use std::sync::OnceLock;

/// One family with its end-of-support date and source.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Family {
    pub id: String,
    pub name: String,
    pub contains: Vec<String>,
    #[serde(default)]
    pub excludes: Vec<String>,
    pub eol: NaiveDate,
    pub source: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    family: Vec<Family>,
}

/// The data file shipped with medguard.
pub const BUILTIN: &str = include_str!("../../../data/eol.toml");

/// Parse an end-of-life file.
pub fn parse(text: &str) -> Result<Vec<Family>, String> {
    let f: File = toml::from_str(text).map_err(|e| e.to_string())?;
    Ok(f.family)
}

/// The built-in families (parsed once; the file is covered by a unit test).
pub fn builtin() -> &'static [Family] {
    static F: OnceLock<Vec<Family>> = OnceLock::new();
    F.get_or_init(|| parse(BUILTIN).unwrap_or_default())
}

/// The family an OS or firmware string belongs to, if any.
pub fn family_of<'a>(families: &'a [Family], text: &str) -> Option<&'a Family> {
    let t = text.to_lowercase();
    families.iter().find(|f| {
        f.contains.iter().all(|c| t.contains(c.as_str()))
            && !f.excludes.iter().any(|x| t.contains(x.as_str()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_parses_with_sources() {
        let f = parse(BUILTIN).expect("eol.toml");
        assert!(f.len() >= 10);
        assert!(f.iter().all(|x| x.source.starts_with("https://")));
        let w7 = family_of(&f, "Windows 7 Professional 7601 Service Pack 1").expect("w7");
        assert_eq!(w7.eol, NaiveDate::from_ymd_opt(2020, 1, 14).expect("date"));
        assert!(family_of(&f, "Windows 10 Enterprise LTSC 2019").is_none());
        assert_eq!(
            family_of(&f, "Windows Server 2008 R2 Standard").map(|x| x.id.as_str()),
            Some("windows-server-2008")
        );
    }
}
