//! TLS: which protocol versions a service accepts (including SSL 3.0, TLS 1.0 and 1.1, which rustls
//! cannot speak and old medical devices still offer) and the certificate it presents.
//!
//! Wire format, built and parsed by hand: the record layer and handshake messages of RFC 5246 §6.2
//! and §7.4 (TLS 1.2; the same layout as TLS 1.0/1.1, RFC 2246/4346, and SSL 3.0, RFC 6101),
//! extensions from RFC 6066 §3 (server_name), RFC 8422 §5.1 (supported_groups, ec_point_formats),
//! RFC 5246 §7.4.1.4.1 (signature_algorithms), RFC 8446 §4.2.1 and §4.2.8 (supported_versions,
//! key_share). Certificates (X.509, RFC 5280) are decoded with `x509-parser`.
//!
//! ## What is sent
//! One TCP connection per version checked (TLS 1.2, 1.3, 1.1, 1.0, SSL 3.0, one after the other):
//! a single ClientHello offering exactly that version, then the connection is closed as soon as the
//! server's first flight (ServerHello … ServerHelloDone), an alert, or encrypted data arrives. No
//! key exchange is completed, nothing reaches the application behind TLS.
//!
//! ## Attributes
//! `tls_versions` (accepted versions, e.g. `TLS 1.2, TLS 1.3`), `tls_legacy` (accepted versions older
//! than TLS 1.2), `tls_cipher` (cipher suite the server chose for its best pre-1.3 version, hex),
//! `cert_subject`, `cert_issuer`, `cert_not_before`, `cert_not_after` (RFC 3339, UTC),
//! `cert_self_signed`, `cert_expired`, `cert_key` (e.g. `RSA 2048`, `EC 256`), `cert_error` (when the certificate could not be decoded),
//! `tls_unchecked` (versions left unchecked because the probe's time ran out).
//!
//! ## Findings
//! `tls-legacy-protocol` (SSL 3.0, TLS 1.0 or TLS 1.1 accepted), `tls-self-signed`, `tls-expired`,
//! `tls-weak-key` (RSA/DSA key under 2048 bits, EC under 224).

use crate::io;
use crate::probe::{Intrusiveness, Observation, Probe, ProbeContext, ProbeError, ProbeFuture};
use medguard_model::Transport;

/// Record content types (RFC 5246 §6.2.1).
pub const CT_CHANGE_CIPHER_SPEC: u8 = 20;
pub const CT_ALERT: u8 = 21;
pub const CT_HANDSHAKE: u8 = 22;
pub const CT_APPLICATION_DATA: u8 = 23;
/// Handshake types (RFC 5246 §7.4, RFC 8446 §4).
pub const HS_CLIENT_HELLO: u8 = 1;
pub const HS_SERVER_HELLO: u8 = 2;
pub const HS_CERTIFICATE: u8 = 11;
pub const HS_SERVER_HELLO_DONE: u8 = 14;
/// Extension types.
pub const EXT_SERVER_NAME: u16 = 0;
pub const EXT_SUPPORTED_GROUPS: u16 = 10;
pub const EXT_EC_POINT_FORMATS: u16 = 11;
pub const EXT_SIGNATURE_ALGORITHMS: u16 = 13;
pub const EXT_SUPPORTED_VERSIONS: u16 = 43;
pub const EXT_KEY_SHARE: u16 = 51;
/// Alert `protocol_version` (RFC 5246 §7.2.2).
pub const ALERT_PROTOCOL_VERSION: u8 = 70;
/// Alert `handshake_failure`.
pub const ALERT_HANDSHAKE_FAILURE: u8 = 40;
/// Named group x25519 (RFC 8446 §4.2.7).
pub const GROUP_X25519: u16 = 0x001d;
/// A record body may be 2^14 bytes plus expansion (RFC 5246 §6.2.3).
pub const MAX_RECORD: usize = 16_384 + 2048;
/// Most handshake bytes gathered from one flight (certificate chains included).
pub const MAX_FLIGHT: usize = 64 * 1024;
/// Most certificates kept from one chain.
const MAX_CERTS: usize = 10;

/// The ServerHello random of a TLS 1.3 HelloRetryRequest (RFC 8446 §4.1.3).
pub const HELLO_RETRY_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

/// Protocol versions the probe checks, oldest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TlsVersion {
    Ssl3,
    Tls10,
    Tls11,
    Tls12,
    Tls13,
}

impl TlsVersion {
    /// Every version, oldest first.
    pub const ALL: [TlsVersion; 5] = [
        TlsVersion::Ssl3,
        TlsVersion::Tls10,
        TlsVersion::Tls11,
        TlsVersion::Tls12,
        TlsVersion::Tls13,
    ];

    /// The version's code on the wire.
    pub fn wire(self) -> u16 {
        match self {
            TlsVersion::Ssl3 => 0x0300,
            TlsVersion::Tls10 => 0x0301,
            TlsVersion::Tls11 => 0x0302,
            TlsVersion::Tls12 => 0x0303,
            TlsVersion::Tls13 => 0x0304,
        }
    }

    /// The version for a wire code.
    pub fn from_wire(v: u16) -> Option<TlsVersion> {
        TlsVersion::ALL.into_iter().find(|t| t.wire() == v)
    }

    /// Display name (`TLS 1.2`).
    pub fn name(self) -> &'static str {
        match self {
            TlsVersion::Ssl3 => "SSL 3.0",
            TlsVersion::Tls10 => "TLS 1.0",
            TlsVersion::Tls11 => "TLS 1.1",
            TlsVersion::Tls12 => "TLS 1.2",
            TlsVersion::Tls13 => "TLS 1.3",
        }
    }

    /// Versions a careful practice should no longer accept.
    pub fn is_legacy(self) -> bool {
        self < TlsVersion::Tls12
    }
}

/// Cipher suites offered in pre-1.3 hellos: modern AEAD first, then the CBC/3DES/RC4 suites that
/// old devices may only have (offering them reads nothing but which one the server picks).
const LEGACY_CIPHERS: &[u16] = &[
    0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0x009e, 0x009f, 0xc009, 0xc013, 0xc00a, 0xc014,
    0xc023, 0xc027, 0xc024, 0xc028, 0x0033, 0x0039, 0x0067, 0x006b, 0x009c, 0x009d, 0x002f, 0x0035,
    0x003c, 0x003d, 0x000a, 0x0016, 0x0005, 0x0004, 0x00ff,
];
/// TLS 1.3 suites (RFC 8446 §B.4).
const TLS13_CIPHERS: &[u16] = &[0x1301, 0x1302, 0x1303];
/// signature_algorithms offered for TLS 1.2/1.3.
const SIGNATURE_SCHEMES: &[u16] = &[
    0x0403, 0x0503, 0x0603, 0x0804, 0x0805, 0x0806, 0x0401, 0x0501, 0x0601, 0x0201, 0x0203,
];
const GROUPS: &[u16] = &[GROUP_X25519, 0x0017, 0x0018];

/// Why bytes are not a usable TLS message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TlsError {
    /// The bytes are not a TLS record.
    #[error("find a TLS record: {0}")]
    NotTls(&'static str),
    /// TLS, but broken.
    #[error("parse the TLS message: {0}")]
    Malformed(&'static str),
}

/// A bounds-checked reader over untrusted bytes.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }
    fn rest(&self) -> usize {
        self.buf.len() - self.pos
    }
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], TlsError> {
        if self.rest() < n {
            return Err(TlsError::Malformed(what));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    fn u8(&mut self, what: &'static str) -> Result<u8, TlsError> {
        Ok(self.take(1, what)?[0])
    }
    fn u16(&mut self, what: &'static str) -> Result<u16, TlsError> {
        let b = self.take(2, what)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    fn u24(&mut self, what: &'static str) -> Result<usize, TlsError> {
        let b = self.take(3, what)?;
        Ok((usize::from(b[0]) << 16) | (usize::from(b[1]) << 8) | usize::from(b[2]))
    }
    fn vec8(&mut self, what: &'static str) -> Result<&'a [u8], TlsError> {
        let n = usize::from(self.u8(what)?);
        self.take(n, what)
    }
    fn vec16(&mut self, what: &'static str) -> Result<&'a [u8], TlsError> {
        let n = usize::from(self.u16(what)?);
        self.take(n, what)
    }
    fn vec24(&mut self, what: &'static str) -> Result<&'a [u8], TlsError> {
        let n = self.u24(what)?;
        self.take(n, what)
    }
}

fn put_u16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_be_bytes());
}

fn put_u24(out: &mut Vec<u8>, v: usize) {
    let v = v.min(0xff_ffff);
    out.extend_from_slice(&[(v >> 16) as u8, (v >> 8) as u8, v as u8]);
}

/// Append a vector with a 1-byte length (callers keep `data` ≤ 255 bytes).
fn put_vec8(out: &mut Vec<u8>, data: &[u8]) {
    let data = &data[..data.len().min(0xff)];
    out.push(data.len() as u8);
    out.extend_from_slice(data);
}

/// Append a vector with a 2-byte length (callers keep `data` ≤ 65535 bytes).
fn put_vec16(out: &mut Vec<u8>, data: &[u8]) {
    let data = &data[..data.len().min(0xffff)];
    put_u16(out, data.len() as u16);
    out.extend_from_slice(data);
}

fn u16_list(values: &[u16]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_be_bytes()).collect()
}

/// Wrap handshake messages in records of at most 2^14 bytes.
pub fn records(content_type: u8, version: u16, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 5);
    for chunk in payload.chunks(16_384) {
        out.push(content_type);
        put_u16(&mut out, version);
        put_vec16(&mut out, chunk);
    }
    out
}

/// One handshake message: type, 3-byte length, body.
pub fn handshake(msg_type: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![msg_type];
    put_u24(&mut out, body.len());
    out.extend_from_slice(body);
    out
}

/// A ClientHello offering exactly `version` (RFC 5246 §7.4.1.2; for TLS 1.3 the legacy version is
/// 1.2 and `supported_versions` names 1.3 alone, RFC 8446 §4.1.2). `sni` is a DNS name or `None`;
/// `random` fills the client random and, for 1.3, the x25519 key share (the handshake is never
/// completed, so no private key is needed).
pub fn client_hello(version: TlsVersion, sni: Option<&str>, random: [u8; 32]) -> Vec<u8> {
    let legacy = version.min(TlsVersion::Tls12).wire();
    let mut body = Vec::with_capacity(256);
    put_u16(&mut body, legacy);
    body.extend_from_slice(&random);
    put_vec8(&mut body, &[]); // session_id
    let ciphers: Vec<u16> = if version == TlsVersion::Tls13 {
        TLS13_CIPHERS.to_vec()
    } else {
        LEGACY_CIPHERS.to_vec()
    };
    put_vec16(&mut body, &u16_list(&ciphers));
    put_vec8(&mut body, &[0]); // compression: null
    if version > TlsVersion::Ssl3 {
        let mut ext = Vec::new();
        if let Some(name) = sni.filter(|n| !n.is_empty() && n.len() < 256) {
            let mut list = vec![0u8]; // host_name
            put_vec16(&mut list, name.as_bytes());
            let mut data = Vec::new();
            put_vec16(&mut data, &list);
            put_ext(&mut ext, EXT_SERVER_NAME, &data);
        }
        let mut groups = Vec::new();
        put_vec16(&mut groups, &u16_list(GROUPS));
        put_ext(&mut ext, EXT_SUPPORTED_GROUPS, &groups);
        put_ext(&mut ext, EXT_EC_POINT_FORMATS, &[1, 0]);
        if version >= TlsVersion::Tls12 {
            let mut sigs = Vec::new();
            put_vec16(&mut sigs, &u16_list(SIGNATURE_SCHEMES));
            put_ext(&mut ext, EXT_SIGNATURE_ALGORITHMS, &sigs);
        }
        if version == TlsVersion::Tls13 {
            let mut sv = Vec::new();
            put_vec8(&mut sv, &u16_list(&[TlsVersion::Tls13.wire()]));
            put_ext(&mut ext, EXT_SUPPORTED_VERSIONS, &sv);
            let mut share = Vec::new();
            put_u16(&mut share, GROUP_X25519);
            put_vec16(&mut share, &random);
            let mut ks = Vec::new();
            put_vec16(&mut ks, &share);
            put_ext(&mut ext, EXT_KEY_SHARE, &ks);
        }
        put_vec16(&mut body, &ext);
    }
    let record_version = if version == TlsVersion::Ssl3 {
        0x0300
    } else {
        0x0301
    };
    records(
        CT_HANDSHAKE,
        record_version,
        &handshake(HS_CLIENT_HELLO, &body),
    )
}

fn put_ext(out: &mut Vec<u8>, ext_type: u16, data: &[u8]) {
    put_u16(out, ext_type);
    put_vec16(out, data);
}

/// A parsed ClientHello (what the simulator reads; also the round trip of [`client_hello`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientHello {
    pub legacy_version: u16,
    pub random: [u8; 32],
    pub ciphers: Vec<u16>,
    /// Extensions in order: type and data.
    pub extensions: Vec<(u16, Vec<u8>)>,
}

impl ClientHello {
    /// The versions offered: `supported_versions` if present, else the legacy version.
    pub fn offered_versions(&self) -> Vec<u16> {
        if let Some((_, data)) = self
            .extensions
            .iter()
            .find(|(t, _)| *t == EXT_SUPPORTED_VERSIONS)
        {
            let mut r = Reader::new(data);
            if let Ok(list) = r.vec8("supported_versions") {
                return list
                    .chunks_exact(2)
                    .map(|c| u16::from_be_bytes([c[0], c[1]]))
                    .collect();
            }
        }
        vec![self.legacy_version]
    }

    /// The server name of the `server_name` extension, if any.
    pub fn server_name(&self) -> Option<String> {
        let (_, data) = self
            .extensions
            .iter()
            .find(|(t, _)| *t == EXT_SERVER_NAME)?;
        let mut r = Reader::new(data);
        let mut list = Reader::new(r.vec16("server_name").ok()?);
        while list.rest() > 0 {
            let kind = list.u8("name type").ok()?;
            let name = list.vec16("host name").ok()?;
            if kind == 0 {
                return Some(String::from_utf8_lossy(name).into_owned());
            }
        }
        None
    }
}

/// Parse one ClientHello from the start of `buf` (record plus handshake, one record).
pub fn parse_client_hello(buf: &[u8]) -> Result<ClientHello, TlsError> {
    let mut rec = Reader::new(buf);
    let ct = rec.u8("record header")?;
    let major = rec.u8("record header")?;
    if ct != CT_HANDSHAKE || major != 3 {
        return Err(TlsError::NotTls("not a handshake record"));
    }
    rec.u8("record header")?;
    let payload = rec.vec16("record body")?;
    let mut hs = Reader::new(payload);
    if hs.u8("handshake type")? != HS_CLIENT_HELLO {
        return Err(TlsError::Malformed("not a ClientHello"));
    }
    let mut body = Reader::new(hs.vec24("ClientHello body")?);
    let legacy_version = body.u16("client_version")?;
    let mut random = [0u8; 32];
    random.copy_from_slice(body.take(32, "random")?);
    body.vec8("session_id")?;
    let ciphers = body
        .vec16("cipher_suites")?
        .chunks_exact(2)
        .map(|c| u16::from_be_bytes([c[0], c[1]]))
        .collect();
    body.vec8("compression_methods")?;
    let mut extensions = Vec::new();
    if body.rest() > 0 {
        let mut ext = Reader::new(body.vec16("extensions")?);
        while ext.rest() > 0 {
            let t = ext.u16("extension type")?;
            let data = ext.vec16("extension data")?;
            extensions.push((t, data.to_vec()));
        }
    }
    Ok(ClientHello {
        legacy_version,
        random,
        ciphers,
        extensions,
    })
}

/// The server's choice in its ServerHello.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerHello {
    /// `server_version` / `legacy_version` field.
    pub legacy_version: u16,
    /// The version actually negotiated (`supported_versions` if present, RFC 8446 §4.2.1).
    pub version: u16,
    pub cipher: u16,
    /// A TLS 1.3 HelloRetryRequest (the server accepts 1.3 but wants another key share).
    pub hello_retry: bool,
}

/// Parse a ServerHello body (after the 4-byte handshake header).
pub fn parse_server_hello(body: &[u8]) -> Result<ServerHello, TlsError> {
    let mut r = Reader::new(body);
    let legacy_version = r.u16("server_version")?;
    let random = r.take(32, "random")?;
    let hello_retry = random == HELLO_RETRY_RANDOM;
    let session = r.vec8("session_id")?;
    if session.len() > 32 {
        return Err(TlsError::Malformed("session_id longer than 32 bytes"));
    }
    let cipher = r.u16("cipher_suite")?;
    r.u8("compression_method")?;
    let mut version = legacy_version;
    if r.rest() > 0 {
        let mut ext = Reader::new(r.vec16("extensions")?);
        while ext.rest() > 0 {
            let t = ext.u16("extension type")?;
            let data = ext.vec16("extension data")?;
            if t == EXT_SUPPORTED_VERSIONS && data.len() == 2 {
                version = u16::from_be_bytes([data[0], data[1]]);
            }
        }
    }
    Ok(ServerHello {
        legacy_version,
        version,
        cipher,
        hello_retry,
    })
}

/// What a server sent in answer to one ClientHello, up to where it starts encrypting.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerFlight {
    pub hello: Option<ServerHello>,
    /// DER certificates of the `Certificate` message, leaf first (pre-1.3 only; capped).
    pub certificates: Vec<Vec<u8>>,
    /// ServerHelloDone seen: the flight is whole.
    pub done: bool,
    /// A plaintext alert: (level, description).
    pub alert: Option<(u8, u8)>,
    /// The server switched to encrypted records (ChangeCipherSpec or application data).
    pub encrypted: bool,
}

impl ServerFlight {
    /// Whether nothing more of interest will come.
    pub fn is_complete(&self) -> bool {
        self.done
            || self.alert.is_some()
            || self.encrypted
            || self
                .hello
                .as_ref()
                .is_some_and(|h| h.version == TlsVersion::Tls13.wire())
    }
}

/// Parse a server's first flight: records of handshake messages (which may span records), alerts.
/// A truncated last record or message is ignored (the flight is simply not complete).
pub fn parse_server_flight(buf: &[u8]) -> Result<ServerFlight, TlsError> {
    let mut flight = ServerFlight::default();
    let mut hs = Vec::new();
    let mut pos = 0usize;
    let mut first = true;
    while buf.len() - pos >= 5 {
        let ct = buf[pos];
        let major = buf[pos + 1];
        let len = usize::from(u16::from_be_bytes([buf[pos + 3], buf[pos + 4]]));
        if !(CT_CHANGE_CIPHER_SPEC..=24).contains(&ct) || major != 3 {
            return Err(if first {
                TlsError::NotTls("first bytes are not a TLS record header")
            } else {
                TlsError::Malformed("bad record header")
            });
        }
        if len > MAX_RECORD {
            return Err(TlsError::Malformed("record longer than 2^14 + 2048"));
        }
        first = false;
        if buf.len() - pos - 5 < len {
            break;
        }
        let payload = &buf[pos + 5..pos + 5 + len];
        pos += 5 + len;
        match ct {
            CT_HANDSHAKE => {
                if hs.len() + payload.len() > MAX_FLIGHT {
                    return Err(TlsError::Malformed("server flight too large"));
                }
                hs.extend_from_slice(payload);
            }
            CT_ALERT => {
                if payload.len() >= 2 {
                    flight.alert = Some((payload[0], payload[1]));
                }
                break;
            }
            _ => {
                flight.encrypted = true;
                break;
            }
        }
    }
    if first && !buf.is_empty() && (buf[0] != CT_HANDSHAKE && buf[0] != CT_ALERT) {
        return Err(TlsError::NotTls("first byte is not a TLS record type"));
    }
    let mut r = Reader::new(&hs);
    while r.rest() >= 4 {
        let msg_type = r.u8("handshake type")?;
        let Ok(body) = r.vec24("handshake body") else {
            break; // continues in a record not yet read
        };
        match msg_type {
            HS_SERVER_HELLO => flight.hello = Some(parse_server_hello(body)?),
            HS_CERTIFICATE => {
                // TLS ≤ 1.2: certificate_list<0..2^24-1> of opaque ASN.1Cert<1..2^24-1>.
                let mut c = Reader::new(body);
                let mut list = Reader::new(c.vec24("certificate_list")?);
                while list.rest() > 0 && flight.certificates.len() < MAX_CERTS {
                    flight
                        .certificates
                        .push(list.vec24("certificate")?.to_vec());
                }
            }
            HS_SERVER_HELLO_DONE => flight.done = true,
            _ => {}
        }
    }
    Ok(flight)
}

/// For [`io::read_until`]: stop once the flight is complete or clearly not TLS.
pub fn flight_complete(buf: &[u8]) -> Option<usize> {
    match parse_server_flight(buf) {
        Ok(f) if f.is_complete() => Some(buf.len()),
        Ok(_) => None,
        Err(_) => Some(buf.len()),
    }
}

/// Decoded certificate facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertInfo {
    pub subject: String,
    pub issuer: String,
    /// Unix seconds.
    pub not_before: i64,
    pub not_after: i64,
    pub self_signed: bool,
    /// Public key algorithm (`RSA`, `EC`, `DSA`, `other`).
    pub key_type: &'static str,
    /// Public key size in bits (0 when unknown).
    pub key_bits: usize,
}

impl CertInfo {
    /// A key too short to be safe today: RSA or DSA under 2048 bits, EC under 224 bits.
    pub fn weak_key(&self) -> bool {
        match self.key_type {
            "RSA" | "DSA" => self.key_bits > 0 && self.key_bits < 2048,
            "EC" => self.key_bits > 0 && self.key_bits < 224,
            _ => false,
        }
    }
}

/// Decode a DER certificate. Self-signed means the issuer is the subject (and, when both key
/// identifiers are present, the authority key id is the subject key id).
pub fn parse_certificate(der: &[u8]) -> Result<CertInfo, String> {
    use x509_parser::extensions::ParsedExtension;
    let (_, cert) = x509_parser::parse_x509_certificate(der).map_err(|e| e.to_string())?;
    let tbs = &cert.tbs_certificate;
    let mut same_name = tbs.subject.as_raw() == tbs.issuer.as_raw();
    let mut ski = None;
    let mut aki = None;
    for ext in tbs.extensions() {
        match ext.parsed_extension() {
            ParsedExtension::SubjectKeyIdentifier(k) => ski = Some(k.0.to_vec()),
            ParsedExtension::AuthorityKeyIdentifier(a) => {
                aki = a.key_identifier.as_ref().map(|k| k.0.to_vec());
            }
            _ => {}
        }
    }
    if let (Some(s), Some(a)) = (&ski, &aki) {
        same_name &= s == a;
    }
    use x509_parser::public_key::PublicKey;
    let (key_type, key_bits) = match tbs.subject_pki.parsed() {
        Ok(k @ PublicKey::RSA(_)) => ("RSA", k.key_size()),
        Ok(k @ PublicKey::EC(_)) => ("EC", k.key_size()),
        Ok(k @ PublicKey::DSA(_)) => ("DSA", k.key_size()),
        _ => ("other", 0),
    };
    Ok(CertInfo {
        subject: tbs.subject.to_string(),
        issuer: tbs.issuer.to_string(),
        not_before: tbs.validity.not_before.timestamp(),
        not_after: tbs.validity.not_after.timestamp(),
        self_signed: same_name,
        key_type,
        key_bits,
    })
}

/// Unix seconds as RFC 3339 UTC (`2025-01-31T12:00:00Z`).
pub fn rfc3339(ts: i64) -> String {
    let days = ts.div_euclid(86_400);
    let secs = ts.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Record a certificate's facts and findings into `obs`.
pub fn describe_certificate(obs: &mut Observation, der: &[u8]) {
    match parse_certificate(der) {
        Ok(c) => {
            obs.attr("cert_subject", io::printable(c.subject.as_bytes(), 300));
            obs.attr("cert_issuer", io::printable(c.issuer.as_bytes(), 300));
            obs.attr("cert_not_before", rfc3339(c.not_before));
            obs.attr("cert_not_after", rfc3339(c.not_after));
            obs.attr("cert_self_signed", c.self_signed.to_string());
            obs.attr("cert_key", format!("{} {}", c.key_type, c.key_bits));
            let expired = c.not_after < now_unix();
            obs.attr("cert_expired", expired.to_string());
            if c.self_signed {
                obs.finding(
                    "tls-self-signed",
                    format!(
                        "certificate {} is issued by itself",
                        io::printable(c.subject.as_bytes(), 200)
                    ),
                );
            }
            if c.weak_key() {
                obs.finding(
                    "tls-weak-key",
                    format!(
                        "certificate {} has a {}-bit {} key",
                        io::printable(c.subject.as_bytes(), 200),
                        c.key_bits,
                        c.key_type
                    ),
                );
            }
            if expired {
                obs.finding(
                    "tls-expired",
                    format!(
                        "certificate {} expired {}",
                        io::printable(c.subject.as_bytes(), 200),
                        rfc3339(c.not_after)
                    ),
                );
            }
        }
        Err(e) => {
            obs.attr("cert_error", io::printable(e.as_bytes(), 200));
        }
    }
}

/// What the version checks found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsReport {
    /// Accepted versions, oldest first.
    pub accepted: Vec<TlsVersion>,
    /// Cipher chosen for the best accepted pre-1.3 version.
    pub cipher: Option<u16>,
    /// Leaf certificate from the best accepted pre-1.3 handshake.
    pub certificate: Option<Vec<u8>>,
    /// Versions not checked because the probe's time ran out.
    pub unchecked: Vec<TlsVersion>,
}

impl TlsReport {
    /// Record versions, certificate and findings into `obs`.
    pub fn describe(&self, obs: &mut Observation) {
        let names = |v: &[TlsVersion]| v.iter().map(|t| t.name()).collect::<Vec<_>>().join(", ");
        obs.attr("tls_versions", names(&self.accepted));
        let legacy: Vec<TlsVersion> = self
            .accepted
            .iter()
            .copied()
            .filter(|v| v.is_legacy())
            .collect();
        if !legacy.is_empty() {
            obs.attr("tls_legacy", names(&legacy));
            obs.finding(
                "tls-legacy-protocol",
                format!("server accepted {}", names(&legacy)),
            );
        }
        if let Some(c) = self.cipher {
            obs.attr("tls_cipher", format!("0x{c:04x}"));
        }
        if !self.unchecked.is_empty() {
            obs.attr("tls_unchecked", names(&self.unchecked));
        }
        if let Some(der) = &self.certificate {
            describe_certificate(obs, der);
        }
    }
}

/// How one ClientHello went.
#[derive(Debug)]
enum Attempt {
    Accepted(ServerFlight),
    Refused,
    /// No byte within the timeout: a TLS server always answers a ClientHello.
    Silent,
    NotTls(String),
}

fn random32() -> [u8; 32] {
    use std::hash::{BuildHasher, Hasher};
    let mut out = [0u8; 32];
    let state = std::collections::hash_map::RandomState::new();
    for (i, chunk) in out.chunks_mut(8).enumerate() {
        let mut h = state.build_hasher();
        h.write_usize(i);
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        chunk.copy_from_slice(&h.finish().to_be_bytes());
    }
    out
}

fn sni(ctx: &ProbeContext) -> Option<&str> {
    ctx.hostname
        .as_deref()
        .filter(|h| h.parse::<std::net::IpAddr>().is_err())
}

async fn attempt(ctx: &ProbeContext, version: TlsVersion) -> Result<Attempt, ProbeError> {
    let mut stream = io::connect(ctx).await?;
    let hello = client_hello(version, sni(ctx), random32());
    let sent = io::send(&mut stream, &hello, ctx).await;
    let reply = match sent {
        Ok(()) => io::read_until(&mut stream, ctx, MAX_FLIGHT + 5 * 8, flight_complete).await,
        Err(e) => Err(e),
    };
    io::close(stream).await;
    let reply = match reply {
        Ok(r) => r,
        // A reset after a hello is a refusal of this version (version-intolerant stacks hang up).
        Err(ProbeError::Io(_)) => return Ok(Attempt::Refused),
        Err(ProbeError::Timeout(_)) => return Ok(Attempt::Silent),
        Err(e) => return Err(e),
    };
    if reply.is_empty() {
        return Ok(Attempt::Refused);
    }
    match parse_server_flight(&reply) {
        Ok(f) => match &f.hello {
            Some(h) if h.version == version.wire() => Ok(Attempt::Accepted(f)),
            _ => Ok(Attempt::Refused),
        },
        Err(TlsError::NotTls(_)) => Ok(Attempt::NotTls(io::printable(&reply, 24))),
        Err(e) => Err(ProbeError::Malformed {
            protocol: "tls",
            reason: e.to_string(),
        }),
    }
}

/// Check every version, one connection at a time; the most common (1.2) first so a non-TLS port
/// costs one connection.
pub async fn scan(ctx: &ProbeContext) -> Result<TlsReport, ProbeError> {
    super::http::refuse_raw_print_port(ctx, "tls")?;
    let order = [
        TlsVersion::Tls12,
        TlsVersion::Tls13,
        TlsVersion::Tls11,
        TlsVersion::Tls10,
        TlsVersion::Ssl3,
    ];
    let mut report = TlsReport::default();
    let mut best_pre13: Option<(TlsVersion, ServerFlight)> = None;
    let started = tokio::time::Instant::now();
    for (i, version) in order.into_iter().enumerate() {
        // Keep inside the probe's deadline: report what was learned rather than be cut off.
        if i > 0 && started.elapsed() + ctx.io_timeout > ctx.deadline {
            report.unchecked.extend(order[i..].iter().copied());
            break;
        }
        match attempt(ctx, version).await? {
            Attempt::Accepted(flight) => {
                report.accepted.push(version);
                if version != TlsVersion::Tls13
                    && best_pre13.as_ref().is_none_or(|(v, _)| version > *v)
                {
                    best_pre13 = Some((version, flight));
                }
            }
            Attempt::Refused => {}
            Attempt::Silent if i == 0 => {
                return Err(ProbeError::NotThisProtocol {
                    protocol: "tls",
                    reason: "no answer to a TLS 1.2 ClientHello".into(),
                });
            }
            Attempt::Silent => {}
            Attempt::NotTls(start) if i == 0 => {
                return Err(ProbeError::NotThisProtocol {
                    protocol: "tls",
                    reason: format!("reply starts {start:?}"),
                });
            }
            Attempt::NotTls(_) => {}
        }
    }
    if report.accepted.is_empty() {
        return Err(ProbeError::NotThisProtocol {
            protocol: "tls",
            reason: "no ClientHello was answered with a ServerHello".into(),
        });
    }
    report.accepted.sort();
    if let Some((_, flight)) = best_pre13 {
        report.cipher = flight.hello.as_ref().map(|h| h.cipher);
        report.certificate = flight.certificates.into_iter().next();
    }
    Ok(report)
}

fn run(ctx: ProbeContext) -> ProbeFuture {
    Box::pin(async move {
        let report = scan(&ctx).await?;
        let mut obs = Observation::new("tls");
        obs.tls = Some(true);
        report.describe(&mut obs);
        obs.banner = obs.attributes.get("tls_versions").cloned();
        Ok(obs)
    })
}

/// TLS on ports where the application inside is not HTTP (or not yet identified).
pub static PROBE: Probe = Probe {
    name: "tls",
    transport: Transport::Tcp,
    ports: &[
        443, 8443, 636, 989, 990, 992, 993, 995, 465, 2762, 4443, 5061, 5671, 6514, 8883, 9443,
    ],
    intrusiveness: Intrusiveness::Safe,
    // The `https` probe is the fallback for TLS on unidentified ports (it reports `tls` when no HTTP
    // answers inside), so this one runs only where TLS is expected.
    fallback: false,
    sends: "One ClientHello per TLS version checked (1.2, 1.3, 1.1, 1.0, SSL 3.0), each on its own \
            connection, closed after the server's first flight or alert. No handshake is completed.",
    run,
};

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn client_hello_layout_rfc5246_7_4_1_2() {
        let h = client_hello(TlsVersion::Tls10, Some("pacs.example"), [7; 32]);
        // Record header: handshake, record version 3.1, length of the rest.
        assert_eq!(&h[..3], &[22, 3, 1]);
        assert_eq!(usize::from(u16::from_be_bytes([h[3], h[4]])), h.len() - 5);
        // Handshake header: ClientHello, 24-bit length.
        assert_eq!(h[5], HS_CLIENT_HELLO);
        assert_eq!((usize::from(h[7]) << 8) | usize::from(h[8]), h.len() - 9);
        // client_version 3.1.
        assert_eq!(&h[9..11], &[3, 1]);
        let parsed = parse_client_hello(&h).expect("parse");
        assert_eq!(parsed.offered_versions(), vec![0x0301]);
        assert_eq!(parsed.server_name().as_deref(), Some("pacs.example"));
        assert_eq!(parsed.random, [7; 32]);
        assert!(parsed.ciphers.contains(&0x002f));
    }

    #[test]
    fn tls13_hello_uses_supported_versions() {
        let h = client_hello(TlsVersion::Tls13, None, [1; 32]);
        let parsed = parse_client_hello(&h).expect("parse");
        assert_eq!(parsed.legacy_version, 0x0303);
        assert_eq!(parsed.offered_versions(), vec![0x0304]);
        assert!(parsed.extensions.iter().any(|(t, _)| *t == EXT_KEY_SHARE));
        assert_eq!(parsed.server_name(), None);
        // SSL 3.0: no extensions at all, record version 3.0.
        let s = client_hello(TlsVersion::Ssl3, Some("x"), [1; 32]);
        assert_eq!(&s[..3], &[22, 3, 0]);
        assert!(parse_client_hello(&s).expect("parse").extensions.is_empty());
    }

    fn server_hello_body(version: u16, cipher: u16, sv: Option<u16>) -> Vec<u8> {
        let mut b = Vec::new();
        put_u16(&mut b, if sv.is_some() { 0x0303 } else { version });
        b.extend_from_slice(&[9; 32]);
        put_vec8(&mut b, &[1, 2, 3]);
        put_u16(&mut b, cipher);
        b.push(0);
        if let Some(v) = sv {
            let mut ext = Vec::new();
            put_ext(&mut ext, EXT_SUPPORTED_VERSIONS, &v.to_be_bytes());
            put_vec16(&mut b, &ext);
        }
        b
    }

    #[test]
    fn server_flight_with_certificate_split_across_records() {
        let mut hs = handshake(HS_SERVER_HELLO, &server_hello_body(0x0303, 0xc02f, None));
        let mut list = Vec::new();
        put_u24(&mut list, 3);
        list.extend_from_slice(&[0x30, 0x01, 0x00]);
        let mut cert_body = Vec::new();
        put_u24(&mut cert_body, list.len());
        cert_body.extend_from_slice(&list);
        hs.extend(handshake(HS_CERTIFICATE, &cert_body));
        hs.extend(handshake(HS_SERVER_HELLO_DONE, &[]));
        // Split the handshake stream over two records at an awkward place.
        let mut wire = records(CT_HANDSHAKE, 0x0303, &hs[..50]);
        assert_eq!(flight_complete(&wire), None);
        wire.extend(records(CT_HANDSHAKE, 0x0303, &hs[50..]));
        let f = parse_server_flight(&wire).expect("parse");
        assert!(f.done);
        assert_eq!(
            f.hello.as_ref().map(|h| (h.version, h.cipher)),
            Some((0x0303, 0xc02f))
        );
        assert_eq!(f.certificates, vec![vec![0x30, 0x01, 0x00]]);
        assert_eq!(flight_complete(&wire), Some(wire.len()));
        // Truncated: not complete, no error.
        let cut = &wire[..wire.len() - 2];
        assert!(!parse_server_flight(cut).expect("parse").done);
    }

    #[test]
    fn tls13_server_hello_and_alerts() {
        let hs = handshake(HS_SERVER_HELLO, &server_hello_body(0, 0x1301, Some(0x0304)));
        let f = parse_server_flight(&records(CT_HANDSHAKE, 0x0303, &hs)).expect("parse");
        assert_eq!(f.hello.as_ref().map(|h| h.version), Some(0x0304));
        assert!(f.is_complete());
        // Alert protocol_version (RFC 5246 §7.2): fatal(2), 70.
        let alert = [21, 3, 1, 0, 2, 2, ALERT_PROTOCOL_VERSION];
        let f = parse_server_flight(&alert).expect("parse");
        assert_eq!(f.alert, Some((2, ALERT_PROTOCOL_VERSION)));
        assert!(f.hello.is_none());
    }

    #[test]
    fn rejects_non_tls_and_absurd_lengths() {
        assert!(matches!(
            parse_server_flight(b"HTTP/1.1 400 Bad Request\r\n\r\n"),
            Err(TlsError::NotTls(_))
        ));
        assert!(matches!(
            parse_server_flight(&[22, 3, 3, 0xff, 0xff, 0]),
            Err(TlsError::Malformed(_))
        ));
        // Handshake length beyond the record: incomplete, not a panic.
        let f = parse_server_flight(&[22, 3, 3, 0, 4, 2, 0xff, 0xff, 0xff]).expect("parse");
        assert!(f.hello.is_none());
        // Session id longer than 32 bytes is malformed.
        let mut body = vec![3, 3];
        body.extend_from_slice(&[0; 32]);
        body.push(40);
        body.extend_from_slice(&[0; 40]);
        body.extend_from_slice(&[0xc0, 0x2f, 0]);
        assert!(parse_server_hello(&body).is_err());
    }

    #[test]
    fn weak_keys() {
        let info = |key_type, key_bits| CertInfo {
            subject: String::new(),
            issuer: String::new(),
            not_before: 0,
            not_after: 0,
            self_signed: false,
            key_type,
            key_bits,
        };
        assert!(info("RSA", 1024).weak_key());
        assert!(!info("RSA", 2048).weak_key());
        assert!(info("EC", 192).weak_key());
        assert!(!info("EC", 256).weak_key());
        assert!(!info("other", 0).weak_key());
        assert!(!info("RSA", 0).weak_key());
    }

    #[test]
    fn dates_are_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_735_689_599), "2024-12-31T23:59:59Z");
        assert_eq!(rfc3339(-86_400), "1969-12-31T00:00:00Z");
    }

    #[test]
    fn certificates_from_rcgen() {
        let c = crate::sim::tls::CertPersona {
            common_name: "xray-01".into(),
            not_after: (2020, 9, 13),
            self_signed: true,
        }
        .generate()
        .expect("generate");
        let info = parse_certificate(&c.cert_der).expect("parse");
        assert!(info.subject.contains("xray-01"));
        assert!(info.self_signed);
        assert_eq!(rfc3339(info.not_after), "2020-09-13T00:00:00Z");
        let mut obs = Observation::new("tls");
        describe_certificate(&mut obs, &c.cert_der);
        let ids: Vec<_> = obs.findings.iter().map(|f| f.id).collect();
        assert_eq!(ids, vec!["tls-self-signed", "tls-expired"]);

        let ca_signed = crate::sim::tls::CertPersona {
            common_name: "pacs".into(),
            not_after: (2096, 1, 1),
            self_signed: false,
        }
        .generate()
        .expect("generate");
        let info = parse_certificate(&ca_signed.cert_der).expect("parse");
        assert!(!info.self_signed);
        let mut obs = Observation::new("tls");
        describe_certificate(&mut obs, &ca_signed.cert_der);
        assert!(obs.findings.is_empty());
        assert!(parse_certificate(b"\x30\x03garbage").is_err());
    }

    proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
            let _ = parse_server_flight(&bytes);
            let _ = flight_complete(&bytes);
            let _ = parse_client_hello(&bytes);
            let _ = parse_server_hello(&bytes);
            let _ = parse_certificate(&bytes);
        }

        #[test]
        fn never_panics_inside_records(body in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let wire = records(CT_HANDSHAKE, 0x0303, &body);
            let _ = parse_server_flight(&wire);
            let _ = parse_client_hello(&wire);
        }

        #[test]
        fn hellos_round_trip(
            v in 0usize..5,
            name in "[a-z][a-z0-9.-]{0,40}",
            random in proptest::array::uniform32(any::<u8>()),
        ) {
            let version = TlsVersion::ALL[v];
            let parsed = parse_client_hello(&client_hello(version, Some(&name), random)).expect("parse");
            prop_assert_eq!(parsed.random, random);
            prop_assert_eq!(parsed.offered_versions(), vec![version.wire()]);
            if version > TlsVersion::Ssl3 {
                prop_assert_eq!(parsed.server_name(), Some(name));
            }
            // The simulator's answer parses back to the version it chose.
            let reply = crate::sim::tls::answer(&parsed, &TlsVersion::ALL, &[vec![0x30, 0x00]]);
            let flight = parse_server_flight(&reply).expect("parse");
            prop_assert_eq!(flight.hello.map(|h| h.version), Some(version.wire()));
            prop_assert!(flight_complete(&reply).is_some());
        }
    }
}
