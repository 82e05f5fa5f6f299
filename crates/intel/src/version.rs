//! Version strings compared the way vulnerability ranges need: numerically by segment, pre-releases
//! before releases, patch letters after them, and a total order for any input (absurd strings
//! included) so sorting and range checks never panic or contradict themselves.
//!
//! A version is split into tokens at separators (`.`, `-`, `_`, `+`, `~`, spaces) and at every
//! digit/letter boundary: `8.9p1` → `8 9 p 1`. Tokens compare as
//! `pre-release word < (end) < other word < number`, where pre-release words are `alpha`, `beta`,
//! `rc`, `pre`, `preview`, `dev`, `snapshot`, `milestone` and `cr`. Numbers compare by value with no
//! size limit (digits are compared as strings without leading zeros), words case-insensitively.
//! Zero numbers before a word or the end are dropped, so `1.0` equals `1.0.0` and `2.0-rc1` is `2-rc1`. Consequences: `2.0-rc1 < 2.0 <
//! 2.0.1`, `9.8 < 9.8p1 < 9.8.1`, `1.0.2 < 1.0.2a < 1.0.2g`.

use std::cmp::Ordering;

/// Longest version string considered; longer input is compared by its first this-many bytes.
pub const MAX_VERSION_LEN: usize = 256;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token<'a> {
    Pre(String),
    Word(String),
    Num(&'a str),
}

const PRE_WORDS: &[&str] = &[
    "alpha",
    "beta",
    "rc",
    "pre",
    "preview",
    "dev",
    "snapshot",
    "milestone",
    "cr",
];

fn tokens(v: &str) -> Vec<Token<'_>> {
    let mut end = v.len().min(MAX_VERSION_LEN);
    while !v.is_char_boundary(end) {
        end -= 1;
    }
    let v = v.get(..end).unwrap_or_default();
    let mut out = Vec::new();
    let bytes = v.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c.is_ascii_digit() {
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            let digits = v.get(start..i).unwrap_or_default();
            let trimmed = digits.trim_start_matches('0');
            out.push(Token::Num(trimmed));
        } else if c.is_ascii_alphabetic() || c >= 0x80 {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_alphabetic() || bytes[i] >= 0x80) {
                i += 1;
            }
            let word = v.get(start..i).unwrap_or_default().to_lowercase();
            if PRE_WORDS.contains(&word.as_str()) {
                out.push(Token::Pre(word));
            } else {
                out.push(Token::Word(word));
            }
        } else {
            i += 1;
        }
    }
    // Zero numbers before a word or the end carry no information: `2.0-rc1` is `2-rc1`, `1.0` is `1`.
    let mut kept = Vec::with_capacity(out.len());
    let mut drop_zeros = true;
    for t in out.into_iter().rev() {
        match &t {
            Token::Num(n) if n.is_empty() && drop_zeros => continue,
            Token::Num(_) => drop_zeros = false,
            _ => drop_zeros = true,
        }
        kept.push(t);
    }
    kept.reverse();
    kept
}

/// Rank of a token kind; `None` (past the end) ranks between pre-release words and other words.
fn rank(t: Option<&Token<'_>>) -> u8 {
    match t {
        Some(Token::Pre(_)) => 0,
        None => 1,
        Some(Token::Word(_)) => 2,
        Some(Token::Num(_)) => 3,
    }
}

fn cmp_token(a: Option<&Token<'_>>, b: Option<&Token<'_>>) -> Ordering {
    match (a, b) {
        (Some(Token::Num(x)), Some(Token::Num(y))) => x.len().cmp(&y.len()).then_with(|| x.cmp(y)),
        (Some(Token::Word(x)), Some(Token::Word(y)))
        | (Some(Token::Pre(x)), Some(Token::Pre(y))) => x.cmp(y),
        _ => rank(a).cmp(&rank(b)),
    }
}

/// Compare two version strings (see the module docs for the rules).
pub fn compare(a: &str, b: &str) -> Ordering {
    let (ta, tb) = (tokens(a), tokens(b));
    let n = ta.len().max(tb.len());
    for i in 0..n {
        let o = cmp_token(ta.get(i), tb.get(i));
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

/// Whether two versions are the same version (`1.0` and `1.0.0` are).
pub fn equal(a: &str, b: &str) -> bool {
    compare(a, b) == Ordering::Equal
}

/// Whether the string looks like a version at all (has a digit).
pub fn is_version(v: &str) -> bool {
    v.bytes().any(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_orders() {
        let lt = |a: &str, b: &str| {
            assert_eq!(compare(a, b), Ordering::Less, "{a} < {b}");
            assert_eq!(compare(b, a), Ordering::Greater, "{b} > {a}");
        };
        lt("2.0-rc1", "2.0");
        lt("2.0-beta9", "2.0-rc1");
        lt("2.0", "2.0.1");
        lt("2.3.1", "2.12.2");
        lt("2.14.1", "2.15.0");
        lt("9.8", "9.8p1");
        lt("9.8p1", "9.8.1");
        lt("8.5p1", "8.6");
        lt("1.0.2", "1.0.2a");
        lt("1.0.2a", "1.0.2g");
        lt("6.1.7600", "6.1.7601");
        lt("99999999999999999999999", "100000000000000000000000");
        assert!(equal("1.0", "1.0.0"));
        assert!(equal("V2.7.0", "v2.7"));
        assert!(equal("007", "7"));
    }

    #[test]
    fn absurd_input_is_bounded() {
        let long = "9.".repeat(100_000);
        assert_eq!(compare(&long, &long), Ordering::Equal);
        let _ = compare("\u{1F600}.é.ü", "…");
    }

    fn version_strategy() -> impl Strategy<Value = String> {
        prop_oneof![
            "[0-9]{1,3}(\\.[0-9]{1,3}){0,3}(-?(rc|beta|p|a|b)[0-9]?)?",
            ".{0,12}",
        ]
    }

    proptest! {
        #[test]
        fn antisymmetric(a in version_strategy(), b in version_strategy()) {
            prop_assert_eq!(compare(&a, &b), compare(&b, &a).reverse());
        }

        #[test]
        fn transitive(a in version_strategy(), b in version_strategy(), c in version_strategy()) {
            let mut v = [a, b, c];
            v.sort_by(|x, y| compare(x, y));
            prop_assert_ne!(compare(&v[0], &v[2]), Ordering::Greater);
            if compare(&v[0], &v[1]) == Ordering::Equal && compare(&v[1], &v[2]) == Ordering::Equal {
                prop_assert_eq!(compare(&v[0], &v[2]), Ordering::Equal);
            }
        }

        #[test]
        fn reflexive(a in ".{0,40}") {
            prop_assert_eq!(compare(&a, &a), Ordering::Equal);
        }
    }
}
