//! CPE 2.3 formatted strings (NISTIR 7695): parsing with the spec's escaping, printing back, and the
//! attribute comparison that NVD criteria matching needs.

use std::fmt;

/// One attribute value of a CPE name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Value {
    /// `*`: any value.
    Any,
    /// `-`: not applicable.
    Na,
    /// A value, stored unescaped and lowercased (CPE matching is case-insensitive).
    Text(String),
    /// A value with unescaped `*`/`?` wildcards, stored as written (escapes kept), lowercased.
    Pattern(String),
}

impl Value {
    fn parse(raw: &str) -> Result<Value, CpeError> {
        match raw {
            "*" => return Ok(Value::Any),
            "-" => return Ok(Value::Na),
            "" => return Err(CpeError::Empty),
            _ => {}
        }
        let mut out = String::with_capacity(raw.len());
        let mut wildcard = false;
        let mut chars = raw.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some(n) if n.is_control() => return Err(CpeError::Control),
                    Some(n) => out.extend(n.to_lowercase()),
                    None => return Err(CpeError::TrailingEscape),
                },
                '*' | '?' => {
                    wildcard = true;
                    out.push(c);
                }
                c if c.is_control() => return Err(CpeError::Control),
                c => out.extend(c.to_lowercase()),
            }
        }
        if wildcard {
            // Keep the escaped form: it tells literal `\*` from the wildcard `*`.
            Ok(Value::Pattern(raw.to_lowercase()))
        } else {
            Ok(Value::Text(out))
        }
    }

    fn write(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Any => f.write_str("*"),
            Value::Na => f.write_str("-"),
            Value::Pattern(s) => f.write_str(s),
            Value::Text(s) if s == "-" => f.write_str("\\-"),
            Value::Text(s) => {
                for c in s.chars() {
                    if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') {
                        write!(f, "{c}")?;
                    } else {
                        write!(f, "\\{c}")?;
                    }
                }
                Ok(())
            }
        }
    }

    /// The text of a concrete value.
    pub fn text(&self) -> Option<&str> {
        match self {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }

    /// A value from free text (lowercased, spaces to `_`), `*` for empty.
    pub fn from_text(s: &str) -> Value {
        let t = s.trim().to_lowercase().replace(' ', "_");
        if t.is_empty() {
            Value::Any
        } else {
            Value::Text(t)
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write(f)
    }
}

/// What went wrong parsing a CPE name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CpeError {
    #[error("parse a CPE name: it does not start with `cpe:2.3:`")]
    Prefix,
    #[error("parse a CPE name: it has {0} attributes instead of 11")]
    Count(usize),
    #[error("parse a CPE name: the part must be a, o, h, * or -")]
    Part,
    #[error("parse a CPE name: an attribute is empty")]
    Empty,
    #[error("parse a CPE name: it ends in an escape")]
    TrailingEscape,
    #[error("parse a CPE name: it contains control characters")]
    Control,
    #[error("parse a CPE name: it is too long")]
    TooLong,
}

/// A CPE 2.3 name: part, vendor, product, version, update, edition, language, sw_edition,
/// target_sw, target_hw, other.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Cpe {
    pub part: Value,
    pub vendor: Value,
    pub product: Value,
    pub version: Value,
    pub update: Value,
    pub rest: [Value; 6],
}

/// Most characters (after unescaping) a CPE name may hold.
pub const MAX_CPE_LEN: usize = 1024;

impl Cpe {
    /// Parse a CPE 2.3 formatted string.
    pub fn parse(s: &str) -> Result<Cpe, CpeError> {
        // The cap is on the decoded attributes (below); printing may escape every character, so the
        // raw form may be several times longer.
        if s.len() > 8 * MAX_CPE_LEN {
            return Err(CpeError::TooLong);
        }
        let rest = s.strip_prefix("cpe:2.3:").ok_or(CpeError::Prefix)?;
        let mut fields: Vec<&str> = Vec::with_capacity(11);
        let bytes = rest.as_bytes();
        let mut start = 0;
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'\\' => i += 2,
                b':' => {
                    fields.push(rest.get(start..i).ok_or(CpeError::TrailingEscape)?);
                    start = i + 1;
                    i += 1;
                }
                _ => i += 1,
            }
        }
        fields.push(rest.get(start..).ok_or(CpeError::TrailingEscape)?);
        if fields.len() != 11 {
            return Err(CpeError::Count(fields.len()));
        }
        let v: Vec<Value> = fields
            .iter()
            .map(|f| Value::parse(f))
            .collect::<Result<_, _>>()?;
        let decoded: usize = v
            .iter()
            .map(|x| match x {
                Value::Text(t) | Value::Pattern(t) => t.chars().count(),
                _ => 1,
            })
            .sum();
        if decoded > MAX_CPE_LEN {
            return Err(CpeError::TooLong);
        }
        match &v[0] {
            Value::Any | Value::Na => {}
            Value::Text(p) if matches!(p.as_str(), "a" | "o" | "h") => {}
            _ => return Err(CpeError::Part),
        }
        let mut it = v.into_iter();
        let mut next = || it.next().unwrap_or(Value::Any);
        Ok(Cpe {
            part: next(),
            vendor: next(),
            product: next(),
            version: next(),
            update: next(),
            rest: [next(), next(), next(), next(), next(), next()],
        })
    }

    /// A CPE with the given part, vendor, product, version and update, the rest `*`.
    pub fn new(part: char, vendor: Value, product: Value, version: Value, update: Value) -> Cpe {
        Cpe {
            part: Value::Text(part.to_string()),
            vendor,
            product,
            version,
            update,
            rest: [
                Value::Any,
                Value::Any,
                Value::Any,
                Value::Any,
                Value::Any,
                Value::Any,
            ],
        }
    }
}

impl fmt::Display for Cpe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("cpe:2.3:")?;
        let all = [
            &self.part,
            &self.vendor,
            &self.product,
            &self.version,
            &self.update,
        ];
        for (i, v) in all.into_iter().chain(self.rest.iter()).enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            v.write(f)?;
        }
        Ok(())
    }
}

/// How a criterion attribute relates to the target's attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrMatch {
    Yes,
    No,
    /// The target does not say (`*`) while the criterion wants something specific.
    Unknown,
}

/// Compare a criterion (source) attribute with a target attribute (CPE name matching, NISTIR 7696,
/// simplified to what NVD criteria use).
pub fn attr_match(source: &Value, target: &Value) -> AttrMatch {
    match (source, target) {
        (Value::Any, _) => AttrMatch::Yes,
        (_, Value::Any) => AttrMatch::Unknown,
        (Value::Na, Value::Na) => AttrMatch::Yes,
        (Value::Na, _) | (_, Value::Na) => AttrMatch::No,
        (Value::Text(a), Value::Text(b)) => {
            if a == b {
                AttrMatch::Yes
            } else {
                AttrMatch::No
            }
        }
        (Value::Pattern(p), Value::Text(t)) => {
            if wildcard(p, t) {
                AttrMatch::Yes
            } else {
                AttrMatch::No
            }
        }
        (_, Value::Pattern(_)) => AttrMatch::Unknown,
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Tok {
    Lit(char),
    Star,
    One,
}

/// `*` (any run) and `?` (one char) wildcard matching of an escaped pattern against unescaped
/// text, iterative (no backtracking blow-up).
fn wildcard(pattern: &str, text: &str) -> bool {
    let mut p: Vec<Tok> = Vec::with_capacity(pattern.len());
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        p.push(match c {
            '\\' => match chars.next() {
                Some(n) => Tok::Lit(n),
                None => return false,
            },
            '*' => Tok::Star,
            '?' => Tok::One,
            c => Tok::Lit(c),
        });
    }
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some(Tok::One) => {
                pi += 1;
                ti += 1;
            }
            Some(Tok::Lit(c)) if Some(c) == t.get(ti) => {
                pi += 1;
                ti += 1;
            }
            Some(Tok::Star) => {
                star = Some((pi, ti));
                pi += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    while p.get(pi) == Some(&Tok::Star) {
        pi += 1;
    }
    pi == p.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_nvd_criteria_with_escapes() {
        let c =
            Cpe::parse("cpe:2.3:a:siemens:logo\\!_soft_comfort:*:*:*:*:*:*:*:*").expect("parse");
        assert_eq!(c.vendor, Value::Text("siemens".into()));
        assert_eq!(c.product, Value::Text("logo!_soft_comfort".into()));
        assert_eq!(c.version, Value::Any);
        assert_eq!(
            c.to_string(),
            "cpe:2.3:a:siemens:logo\\!_soft_comfort:*:*:*:*:*:*:*:*"
        );
        let c = Cpe::parse("cpe:2.3:o:microsoft:windows_server_2008:r2:sp1:*:*:*:*:x64:*")
            .expect("parse");
        assert_eq!(c.update, Value::Text("sp1".into()));
        assert_eq!(c.rest[4], Value::Text("x64".into()));
        let c = Cpe::parse("cpe:2.3:a:openbsd:openssh:4.4:-:*:*:*:*:*:*").expect("parse");
        assert_eq!(c.update, Value::Na);
    }

    #[test]
    fn rejects_malformed() {
        assert_eq!(Cpe::parse("cpe:/a:apache:log4j"), Err(CpeError::Prefix));
        assert_eq!(Cpe::parse("cpe:2.3:a:b"), Err(CpeError::Count(2)));
        assert_eq!(
            Cpe::parse("cpe:2.3:x:a:b:*:*:*:*:*:*:*:*"),
            Err(CpeError::Part)
        );
        assert_eq!(
            Cpe::parse("cpe:2.3:a:a:b:*:*:*:*:*:*:*:\\"),
            Err(CpeError::TrailingEscape)
        );
        assert_eq!(
            Cpe::parse("cpe:2.3:a::b:*:*:*:*:*:*:*:*"),
            Err(CpeError::Empty)
        );
    }

    #[test]
    fn attribute_matching() {
        let t = |s: &str| Value::Text(s.into());
        assert_eq!(attr_match(&Value::Any, &t("x")), AttrMatch::Yes);
        assert_eq!(attr_match(&t("x"), &Value::Any), AttrMatch::Unknown);
        assert_eq!(attr_match(&Value::Na, &t("p1")), AttrMatch::No);
        assert_eq!(attr_match(&Value::Na, &Value::Na), AttrMatch::Yes);
        assert_eq!(
            attr_match(&Value::Pattern("windows_*".into()), &t("windows_7")),
            AttrMatch::Yes
        );
        assert!(!wildcard("a*b?c", "axxbc"));
        assert!(wildcard("a\\*b*", "a*bzz"));
        assert!(!wildcard("a\\*b", "axb"));
        assert!(wildcard("a*b?c", "axxbyc"));
    }

    fn value() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Any),
            Just(Value::Na),
            "[a-z0-9_.!~@ ()/-]{1,12}".prop_map(Value::Text),
        ]
    }

    /// Found by the `intel_cpe` fuzz target: a pattern with an escaped `:` must print back escaped.
    #[test]
    fn regression_pattern_with_escapes_round_trips() {
        let s = "cpe:2.3:a:sieme.3cpe:2.rcabeta*rt:*go\\::*:*:*:*:*:*:*";
        let c = Cpe::parse(s).expect("parse");
        assert_eq!(Cpe::parse(&c.to_string()).expect("re-parse"), c);
    }

    /// Found by the `intel_cpe` fuzz target: a name near the length cap whose printed form is
    /// longer (escapes) still re-parses.
    #[test]
    fn regression_escaping_does_not_break_the_length_cap() {
        let s = format!("cpe:2.3:a:s{}:p:*:*:*:*:*:*:*:*", ",".repeat(1000));
        let c = Cpe::parse(&s).expect("parse");
        assert_eq!(Cpe::parse(&c.to_string()).expect("re-parse"), c);
        let too_long = format!("cpe:2.3:a:s{}:p:*:*:*:*:*:*:*:*", "x".repeat(1100));
        assert_eq!(Cpe::parse(&too_long), Err(CpeError::TooLong));
    }

    /// Found by the `intel_cpe` fuzz target: escaped letters are case-folded like the others.
    #[test]
    fn regression_escaped_uppercase_round_trips() {
        let c = Cpe::parse("cpe:2.3:a:sie;aens:la<o\\!_sofTT\\Tcogfort:*:*:*:*:*:*:*:*")
            .expect("parse");
        assert_eq!(c.product, Value::Text("la<o!_softttcogfort".into()));
        assert_eq!(Cpe::parse(&c.to_string()).expect("re-parse"), c);
    }

    proptest! {
        #[test]
        fn round_trip(part in prop_oneof![Just('a'), Just('o'), Just('h')], vendor in value(), product in value(), version in value(), update in value()) {
            let c = Cpe::new(part, vendor, product, version, update);
            let s = c.to_string();
            let back = Cpe::parse(&s).expect("re-parse");
            prop_assert_eq!(back, c);
        }

        #[test]
        fn never_panics(s in ".{0,200}") {
            let _ = Cpe::parse(&s);
            let _ = Cpe::parse(&format!("cpe:2.3:{s}"));
        }
    }
}
