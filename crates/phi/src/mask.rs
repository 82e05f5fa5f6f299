//! Never leak what we find: masked evidence and a keyed hash of each value.

use chrono::Datelike;
use compact_str::{CompactString, format_compact};
use hmac::{Hmac, Mac};
use medguard_model::{PhiKind, ValueHash};
use sha2::Sha256;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Errors handling the install's hashing key. Messages read after "failed to ...".
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("read the PHI hashing key {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("create the PHI hashing key {path}")]
    Create {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("use the PHI hashing key {path}: it must hold 64 hex digits")]
    Invalid { path: PathBuf },
}

/// HMAC-SHA256 of normalized values under a per-install secret key.
#[derive(Clone)]
pub struct Hasher {
    /// HMAC state with the key already absorbed; cloned per value longer than one block.
    mac: Hmac<Sha256>,
    /// SHA-256 states after the key's inner and outer pad blocks (RFC 2104): a message that
    /// fits one padded block costs exactly two compressions, with no buffering on the way.
    inner: [u32; 8],
    outer: [u32; 8],
}

/// SHA-256's initial state (FIPS 180-4, 5.3.3).
const SHA256_IV: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];

/// The longest message that fits one SHA-256 block with its padding (`0x80` and the 8-byte
/// length).
const ONE_BLOCK: usize = 55;

/// One SHA-256 compression of `block` into `state`.
fn compress(state: &mut [u32; 8], block: [u8; 64]) {
    sha2::compress256(state, &[block.into()]);
}

/// `block` padded as the last block of a message of `total` bytes whose last `len` bytes it
/// holds (FIPS 180-4, 5.1.1).
fn pad(block: &mut [u8; 64], len: usize, total: usize) {
    block[len] = 0x80;
    block[56..].copy_from_slice(&((total as u64) * 8).to_be_bytes());
}

impl std::fmt::Debug for Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Hasher { key: <redacted> }")
    }
}

impl Hasher {
    /// A hasher with a fixed key (tests, fuzzing).
    pub fn with_key(key: [u8; 32]) -> Self {
        // HMAC takes keys of any length: this cannot fail.
        let mac = match <Hmac<Sha256> as Mac>::new_from_slice(&key) {
            Ok(m) => m,
            Err(_) => unreachable!("HMAC accepts any key length"),
        };
        // A 32-byte key is zero-padded to the block size, then XORed with ipad and opad.
        let (mut ipad, mut opad) = ([0x36u8; 64], [0x5cu8; 64]);
        for (i, k) in key.iter().enumerate() {
            ipad[i] ^= k;
            opad[i] ^= k;
        }
        let (mut inner, mut outer) = (SHA256_IV, SHA256_IV);
        compress(&mut inner, ipad);
        compress(&mut outer, opad);
        Hasher { mac, inner, outer }
    }

    /// Load the key at `path`, creating it (32 random bytes, hex, mode 0600) on first use.
    pub fn load_or_create(path: &Path) -> Result<Self, KeyError> {
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let bytes = hex::decode(text.trim()).map_err(|_| KeyError::Invalid {
                    path: path.to_path_buf(),
                })?;
                let key: [u8; 32] = bytes.try_into().map_err(|_| KeyError::Invalid {
                    path: path.to_path_buf(),
                })?;
                Ok(Hasher::with_key(key))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key: [u8; 32] = rand::random();
                let create = |source| KeyError::Create {
                    path: path.to_path_buf(),
                    source,
                };
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(create)?;
                }
                let mut opts = std::fs::OpenOptions::new();
                opts.write(true).create_new(true);
                #[cfg(unix)]
                {
                    use std::os::unix::fs::OpenOptionsExt;
                    opts.mode(0o600);
                }
                let mut f = opts.open(path).map_err(create)?;
                f.write_all(hex::encode(key).as_bytes()).map_err(create)?;
                f.write_all(b"\n").map_err(create)?;
                Ok(Hasher::with_key(key))
            }
            Err(source) => Err(KeyError::Read {
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    /// The keyed hash of a value of a kind.
    pub fn hash(&self, kind: PhiKind, value: &str) -> ValueHash {
        ValueHash(self.hash_raw(kind, value, &mut String::new()))
    }

    /// The keyed hash as bytes (the first 16 of the HMAC), normalizing into `scratch` so a scan
    /// allocates nothing per value.
    pub fn hash_raw(&self, kind: PhiKind, value: &str, scratch: &mut String) -> [u8; 16] {
        normalize_into(kind, value, scratch);
        let (k, v) = (kind.as_str().as_bytes(), scratch.as_bytes());
        let len = k.len() + 1 + v.len();
        let mut h = [0u8; 16];
        if len > ONE_BLOCK {
            let mut mac = self.mac.clone();
            mac.update(k);
            mac.update(&[0]);
            mac.update(v);
            h.copy_from_slice(&mac.finalize().into_bytes()[..16]);
            return h;
        }
        // Inner hash: the ipad block is absorbed, this is the message's only other block
        // (kind, the NUL that the zeroed block already holds, value, padding).
        let mut block = [0u8; 64];
        block[..k.len()].copy_from_slice(k);
        block[k.len() + 1..len].copy_from_slice(v);
        pad(&mut block, len, 64 + len);
        let mut inner = self.inner;
        compress(&mut inner, block);
        // Outer hash of the inner digest.
        let mut block = [0u8; 64];
        for (chunk, word) in block.chunks_exact_mut(4).zip(inner) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
        pad(&mut block, 32, 64 + 32);
        let mut outer = self.outer;
        compress(&mut outer, block);
        for (chunk, word) in h.chunks_exact_mut(4).zip(outer) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
        h
    }
}

/// The canonical form of a value, so the same identifier written differently hashes the same.
pub fn normalize(kind: PhiKind, value: &str) -> String {
    let mut s = String::new();
    normalize_into(kind, value, &mut s);
    s
}

/// [`normalize`] into a reused buffer (cleared first).
pub fn normalize_into(kind: PhiKind, value: &str, out: &mut String) {
    out.clear();
    match kind {
        PhiKind::Ssn
        | PhiKind::Npi
        | PhiKind::Card
        | PhiKind::Routing
        | PhiKind::BankAccount
        | PhiKind::Phone => {
            out.extend(value.chars().filter(char::is_ascii_digit));
            if kind == PhiKind::Phone && out.len() == 11 && out.starts_with('1') {
                out.remove(0);
            }
        }
        PhiKind::Mbi | PhiKind::Dea | PhiKind::Mrn | PhiKind::PlanId | PhiKind::Account => out
            .extend(
                value
                    .chars()
                    .filter(char::is_ascii_alphanumeric)
                    .map(|c| c.to_ascii_uppercase()),
            ),
        PhiKind::Dob => {
            let v = value.trim();
            let v = v
                .split(['T', ' '])
                .next()
                .filter(|d| d.len() >= 8)
                .unwrap_or(v);
            match crate::validate::parse_date(v) {
                // Plain integer formatting: chrono's format machinery costs more than the hash.
                Some(d) if (0..=9999).contains(&d.year()) => {
                    let y = d.year().unsigned_abs();
                    let digit = |n: u32| char::from(b'0' + (n % 10) as u8);
                    out.extend([y / 1000, y / 100, y / 10, y].map(digit));
                    out.push('-');
                    out.extend([d.month() / 10, d.month()].map(digit));
                    out.push('-');
                    out.extend([d.day() / 10, d.day()].map(digit));
                }
                Some(d) => out.push_str(&d.format("%Y-%m-%d").to_string()),
                None => out.push_str(v),
            }
        }
        PhiKind::Name => {
            // Tokens lower-cased, sorted, joined by one space: "SMITH^JOHN" == "John Smith".
            let words = || {
                value
                    .split(|c: char| !c.is_alphabetic() && c != '\'' && c != '-')
                    .filter(|t| t.chars().count() > 1)
            };
            // Fast path, no allocation: up to 8 ASCII tokens sorted in place.
            let mut tokens: [&str; 8] = [""; 8];
            let mut n = 0usize;
            let mut fast = true;
            for t in words() {
                match tokens.get_mut(n) {
                    Some(slot) if t.is_ascii() => {
                        *slot = t;
                        n += 1;
                    }
                    _ => fast = false,
                }
            }
            if fast {
                let tokens = &mut tokens[..n];
                tokens.sort_by(|a, b| {
                    a.bytes()
                        .map(|c| c.to_ascii_lowercase())
                        .cmp(b.bytes().map(|c| c.to_ascii_lowercase()))
                });
                for (i, t) in tokens.iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    out.extend(t.chars().map(|c| c.to_ascii_lowercase()));
                }
            } else {
                let mut t: Vec<String> = words().map(str::to_lowercase).collect();
                t.sort();
                out.push_str(&t.join(" "));
            }
        }
        _ => {
            for (i, w) in value.split_whitespace().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                if w.is_ascii() {
                    out.extend(w.chars().map(|c| c.to_ascii_lowercase()));
                } else {
                    out.push_str(&w.to_lowercase());
                }
            }
        }
    }
}

/// Mask a value for evidence: enough to recognise it, not enough to use it.
pub fn mask(kind: PhiKind, value: &str) -> CompactString {
    match kind {
        PhiKind::Ssn => {
            // The last four digits, whatever else the value holds (UTF-8 never hides an ASCII
            // digit inside another character): at most 11 bytes, always on the stack.
            let digits = value.bytes().filter(u8::is_ascii_digit).count();
            let mut out = AsciiBuf::new();
            b"***-**-".iter().for_each(|&b| out.push(b));
            value
                .bytes()
                .filter(u8::is_ascii_digit)
                .skip(digits.saturating_sub(4))
                .for_each(|b| out.push(b));
            out.finish().unwrap_or_default()
        }
        PhiKind::Card
        | PhiKind::BankAccount
        | PhiKind::Routing
        | PhiKind::Account
        | PhiKind::Mrn
        | PhiKind::PlanId
        | PhiKind::Mbi
        | PhiKind::Npi
        | PhiKind::Dea
        | PhiKind::Phone => keep_last(value, if kind == PhiKind::Phone { 2 } else { 4 }),
        PhiKind::Dob => match crate::validate::parse_date(
            value.trim().split(['T', ' ']).next().unwrap_or(value),
        ) {
            Some(d) if (0..=9999).contains(&d.year()) => {
                let y = d.year().unsigned_abs();
                let mut out = CompactString::with_capacity(10);
                out.push_str("**/**/");
                for div in [1000, 100, 10, 1] {
                    out.push(char::from(b'0' + (y / div % 10) as u8));
                }
                out
            }
            Some(d) => format_compact!("**/**/{}", d.format("%Y")),
            None => star_all(value),
        },
        PhiKind::Name => {
            if value.is_ascii() {
                let mut out = AsciiBuf::new();
                // White space as `split_whitespace` has it: ASCII's plus the vertical tab.
                let words = value
                    .as_bytes()
                    .split(|b| b.is_ascii_whitespace() || *b == 0x0b);
                for w in words {
                    if let Some((&first, rest)) = w.split_first() {
                        if out.len > 0 {
                            out.push(b' ');
                        }
                        out.push(first);
                        let n = rest.iter().filter(|c| c.is_ascii_alphanumeric()).count();
                        for _ in 0..n.min(12) {
                            out.push(b'*');
                        }
                    }
                }
                if let Some(m) = out.finish() {
                    return m;
                }
            }
            name_by_chars(value)
        }
        PhiKind::Email => match value.split_once('@') {
            Some((local, domain)) => {
                let first: CompactString = local.chars().take(1).collect();
                format_compact!("{first}***@{domain}")
            }
            None => star_all(value),
        },
        PhiKind::Address => {
            let mut out = CompactString::with_capacity(value.len());
            for (i, w) in value.split_whitespace().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                if i == 0 || w.chars().any(|c| c.is_ascii_digit()) {
                    out.extend(std::iter::repeat_n('*', w.chars().count().min(8)));
                } else if i == 1 {
                    let mut cs = w.chars();
                    out.push(cs.next().unwrap_or('*'));
                    out.extend(std::iter::repeat_n('*', cs.count().min(12)));
                } else {
                    out.push_str(w);
                }
            }
            out
        }
        PhiKind::Icd10 | PhiKind::Procedure => CompactString::from(value),
        PhiKind::Ip => match value.rsplit_once('.') {
            Some((net, _)) => format_compact!("{net}.*"),
            None => star_all(value),
        },
        PhiKind::Url => {
            let host_end = value
                .find("://")
                .map(|i| i + 3)
                .and_then(|s| value[s..].find('/').map(|j| s + j))
                .unwrap_or(value.len());
            if host_end < value.len() {
                format_compact!("{}/***", &value[..host_end])
            } else {
                CompactString::from(value)
            }
        }
    }
}

/// Longest value masked byte by byte on the stack (nearly all are shorter).
const SHORT: usize = 64;

/// A masked ASCII value built on the stack, then copied once into the result (pushing character
/// by character into a `CompactString` cost more than the rest of masking).
struct AsciiBuf {
    buf: [u8; SHORT],
    len: usize,
    overflow: bool,
}

impl AsciiBuf {
    fn new() -> Self {
        AsciiBuf {
            buf: [0; SHORT],
            len: 0,
            overflow: false,
        }
    }

    fn push(&mut self, b: u8) {
        match self.buf.get_mut(self.len) {
            Some(o) => {
                *o = b;
                self.len += 1;
            }
            None => self.overflow = true,
        }
    }

    /// The masked value, or `None` when it did not fit (the caller takes the general path).
    fn finish(&self) -> Option<CompactString> {
        if self.overflow {
            return None;
        }
        std::str::from_utf8(self.buf.get(..self.len)?)
            .ok()
            .map(CompactString::from)
    }
}

/// A name masked character by character: the first letter of each word, then a star per further
/// letter or digit (at most 12), words one space apart. Any text; the ASCII path must agree.
fn name_by_chars(value: &str) -> CompactString {
    let mut out = CompactString::with_capacity(value.len());
    for w in value.split_whitespace() {
        let mut cs = w.chars();
        if let Some(c) = cs.next() {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push(c);
            let n = cs.filter(|c| c.is_alphanumeric()).count();
            out.extend(std::iter::repeat_n('*', n.min(12)));
        }
    }
    out
}

/// The last `n` letters and digits kept, the others starred, character by character. Any text;
/// the ASCII path of [`keep_last`] must agree.
fn keep_last_by_chars(value: &str, n: usize) -> CompactString {
    let alnum = value.bytes().filter(u8::is_ascii_alphanumeric).count();
    let mut seen = 0usize;
    // A masked value is as long as the value: inline when short, else one allocation.
    let mut out = CompactString::with_capacity(value.len());
    out.extend(value.chars().map(|c| {
        if c.is_ascii_alphanumeric() {
            seen += 1;
            if seen + n > alnum { c } else { '*' }
        } else {
            c
        }
    }));
    out
}

fn keep_last(value: &str, n: usize) -> CompactString {
    if value.is_ascii() {
        let alnum = value.bytes().filter(u8::is_ascii_alphanumeric).count();
        let mut seen = 0usize;
        let mut out = AsciiBuf::new();
        for &b in value.as_bytes() {
            out.push(if b.is_ascii_alphanumeric() {
                seen += 1;
                if seen + n > alnum { b } else { b'*' }
            } else {
                b
            });
        }
        if let Some(m) = out.finish() {
            return m;
        }
    }
    keep_last_by_chars(value, n)
}

fn star_all(value: &str) -> CompactString {
    std::iter::repeat_n('*', value.chars().count().min(16)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_keep_little() {
        assert_eq!(mask(PhiKind::Ssn, "536-22-8726"), "***-**-8726");
        assert_eq!(mask(PhiKind::Name, "John Smith"), "J*** S****");
        // At most 12 stars a word, whatever its length.
        assert_eq!(
            mask(PhiKind::Name, "Maximiliana Wolfeschlegelsteinhausen"),
            "M********** W************"
        );
        assert_eq!(
            mask(PhiKind::Card, "4111 1111 1111 1111"),
            "**** **** **** 1111"
        );
        assert_eq!(mask(PhiKind::Dob, "02/14/1980"), "**/**/1980");
        assert_eq!(mask(PhiKind::Dob, "0980-02-01"), "**/**/0980");
        assert_eq!(
            mask(PhiKind::Address, "1234 Oak Street Apt 5"),
            "**** O** Street Apt *"
        );
        assert_eq!(normalize(PhiKind::Dob, "2/1/1980"), "1980-02-01");
        assert_eq!(mask(PhiKind::Email, "jane@example.org"), "j***@example.org");
        assert_eq!(mask(PhiKind::Phone, "(415) 867-5309"), "(***) ***-**09");
    }

    #[test]
    fn hash_is_keyed_and_normalized() {
        let a = Hasher::with_key([1; 32]);
        let b = Hasher::with_key([2; 32]);
        assert_eq!(
            a.hash(PhiKind::Ssn, "536-22-8726"),
            a.hash(PhiKind::Ssn, "536228726")
        );
        assert_ne!(
            a.hash(PhiKind::Ssn, "536-22-8726"),
            b.hash(PhiKind::Ssn, "536-22-8726")
        );
        assert_eq!(
            a.hash(PhiKind::Name, "SMITH^JOHN"),
            a.hash(PhiKind::Name, "John Smith")
        );
        assert_eq!(
            a.hash(PhiKind::Dob, "19800214"),
            a.hash(PhiKind::Dob, "02/14/1980")
        );
    }

    #[test]
    fn hash_is_hmac_sha256_of_kind_nul_value() {
        // Reference values from Python: hmac.new(bytes([1]*32), b"ssn\0536228726", sha256)
        // (first 16 bytes). Stored hashes must stay comparable across versions.
        let a = Hasher::with_key([1; 32]);
        assert_eq!(
            a.hash(PhiKind::Ssn, "536-22-8726").to_string(),
            "dc0cb0ceee5c655a18f373c169046be9"
        );
        // A value longer than one SHA-256 block.
        assert_eq!(
            a.hash(PhiKind::Name, &"x".repeat(200)).to_string(),
            "17dae34f60fa7dd2b5545f1a92dec596"
        );
    }

    proptest::proptest! {
        /// Short ASCII values take the stack path, long or non-ASCII ones the general one: both
        /// give what masking character by character gives.
        #[test]
        fn ascii_masks_match_char_by_char(
            value in "([A-Za-z0-9.'é!-]{0,18}[ \t\n\x0b\x0c\r]{0,2}){0,6}",
        ) {
            proptest::prop_assert_eq!(mask(PhiKind::Name, &value), name_by_chars(&value));
            proptest::prop_assert_eq!(mask(PhiKind::Mrn, &value), keep_last_by_chars(&value, 4));
            proptest::prop_assert_eq!(mask(PhiKind::Phone, &value), keep_last_by_chars(&value, 2));
            let digits: String = value.chars().filter(char::is_ascii_digit).collect();
            let last4 = &digits[digits.len().saturating_sub(4)..];
            proptest::prop_assert_eq!(mask(PhiKind::Ssn, &value).to_string(), format!("***-**-{last4}"));
        }

        /// The one-block path is HMAC-SHA256 (the `hmac` crate as the oracle), for every kind
        /// and for messages on both sides of the one-block limit.
        #[test]
        fn one_block_path_is_hmac(key: [u8; 32], kind_i in 0usize..64, value in "[ -~]{0,70}") {
            let kind = PhiKind::ALL[kind_i % PhiKind::ALL.len()];
            let h = Hasher::with_key(key);
            let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key).expect("any key length");
            mac.update(kind.as_str().as_bytes());
            mac.update(&[0]);
            mac.update(normalize(kind, &value).as_bytes());
            let want = mac.finalize().into_bytes();
            proptest::prop_assert_eq!(&h.hash(kind, &value).0[..], &want[..16]);
        }
    }

    #[test]
    fn key_file_is_private_and_stable() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("k/phi.key");
        let h1 = Hasher::load_or_create(&p).expect("create");
        let h2 = Hasher::load_or_create(&p).expect("load");
        assert_eq!(
            h1.hash(PhiKind::Ssn, "536228726"),
            h2.hash(PhiKind::Ssn, "536228726")
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&p).expect("meta").permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
    }
}
