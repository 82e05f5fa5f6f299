//! A TLS endpoint that answers ClientHellos like an old device: it accepts the versions of its
//! persona (TLS 1.0 and 1.1 included), sends ServerHello, Certificate and ServerHelloDone (RFC 5246
//! §7.3) or, for TLS 1.3, a ServerHello with `supported_versions` (RFC 8446 §4.1.3), then closes.
//! It never completes a key exchange: it is what the `tls` probe needs to see, nothing more.
//!
//! [`CertPersona`] also makes the certificates (with `rcgen`) for the HTTPS simulator and the lab's
//! real HTTPS peer.

use crate::probes::tls::{
    ALERT_HANDSHAKE_FAILURE, ALERT_PROTOCOL_VERSION, CT_ALERT, CT_HANDSHAKE, ClientHello,
    EXT_KEY_SHARE, EXT_SUPPORTED_VERSIONS, GROUP_X25519, HS_CERTIFICATE, HS_SERVER_HELLO,
    HS_SERVER_HELLO_DONE, TlsVersion, handshake, parse_client_hello, records,
};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// The certificate a simulated (or lab) server presents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertPersona {
    /// Subject common name (also the DNS subject alternative name).
    pub common_name: String,
    /// Expiry date (year, month, day), UTC midnight; a past date makes an expired certificate.
    pub not_after: (i32, u8, u8),
    /// Self-signed, or issued by a separate "medguard sim CA".
    pub self_signed: bool,
}

/// A generated certificate and its private key.
#[derive(Debug, Clone)]
pub struct GeneratedCert {
    pub cert_der: Vec<u8>,
    pub cert_pem: String,
    /// PKCS#8 private key.
    pub key_der: Vec<u8>,
    pub key_pem: String,
}

impl CertPersona {
    /// Make the certificate (ECDSA P-256).
    pub fn generate(&self) -> Result<GeneratedCert, rcgen::Error> {
        let (y, m, d) = self.not_after;
        let mut params = rcgen::CertificateParams::new(vec![self.common_name.clone()])?;
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, self.common_name.as_str());
        params.not_before = rcgen::date_time_ymd(2015, 1, 1);
        params.not_after = rcgen::date_time_ymd(y, m, d);
        let key = rcgen::KeyPair::generate()?;
        let cert = if self.self_signed {
            params.self_signed(&key)?
        } else {
            let mut ca = rcgen::CertificateParams::new(Vec::<String>::new())?;
            ca.distinguished_name = rcgen::DistinguishedName::new();
            ca.distinguished_name
                .push(rcgen::DnType::CommonName, "medguard sim CA");
            ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
            let ca_key = rcgen::KeyPair::generate()?;
            let issuer = rcgen::Issuer::new(ca, ca_key);
            params.use_authority_key_identifier_extension = true;
            params.signed_by(&key, &issuer)?
        };
        Ok(GeneratedCert {
            cert_der: cert.der().to_vec(),
            cert_pem: cert.pem(),
            key_der: key.serialize_der(),
            key_pem: key.serialize_pem(),
        })
    }
}

/// Identity of a simulated TLS endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsPersona {
    /// Versions the endpoint accepts.
    pub versions: Vec<TlsVersion>,
    pub cert: CertPersona,
}

impl TlsPersona {
    /// An old imaging workstation: TLS 1.0–1.2, a self-signed certificate that expired.
    pub fn legacy_device() -> Self {
        TlsPersona {
            versions: vec![TlsVersion::Tls10, TlsVersion::Tls11, TlsVersion::Tls12],
            cert: CertPersona {
                common_name: "imaging-ws".into(),
                not_after: (2021, 6, 30),
                self_signed: true,
            },
        }
    }
}

/// The server's first flight for `hello`, given the accepted versions and certificate chain: the
/// highest accepted version the client offers, or a `protocol_version` alert.
pub fn answer(hello: &ClientHello, accepted: &[TlsVersion], chain: &[Vec<u8>]) -> Vec<u8> {
    let offered = hello.offered_versions();
    let chosen = accepted
        .iter()
        .copied()
        .filter(|v| offered.contains(&v.wire()))
        .max();
    let Some(version) = chosen else {
        return records(CT_ALERT, 0x0301, &[2, ALERT_PROTOCOL_VERSION]);
    };
    let tls13 = version == TlsVersion::Tls13;
    let cipher = hello
        .ciphers
        .iter()
        .copied()
        .find(|c| tls13 == (c >> 8 == 0x13) && *c != 0x00ff);
    let Some(cipher) = cipher else {
        return records(CT_ALERT, 0x0301, &[2, ALERT_HANDSHAKE_FAILURE]);
    };
    let mut body = Vec::new();
    body.extend_from_slice(&version.min(TlsVersion::Tls12).wire().to_be_bytes());
    body.extend_from_slice(&hello.random.map(|b| b ^ 0x5a));
    body.push(0); // empty session id
    body.extend_from_slice(&cipher.to_be_bytes());
    body.push(0); // null compression
    if tls13 {
        let mut ext = Vec::new();
        ext.extend_from_slice(&EXT_SUPPORTED_VERSIONS.to_be_bytes());
        ext.extend_from_slice(&2u16.to_be_bytes());
        ext.extend_from_slice(&version.wire().to_be_bytes());
        ext.extend_from_slice(&EXT_KEY_SHARE.to_be_bytes());
        ext.extend_from_slice(&36u16.to_be_bytes());
        ext.extend_from_slice(&GROUP_X25519.to_be_bytes());
        ext.extend_from_slice(&32u16.to_be_bytes());
        ext.extend_from_slice(&[0x42; 32]);
        body.extend_from_slice(&(ext.len() as u16).to_be_bytes());
        body.extend_from_slice(&ext);
        return records(CT_HANDSHAKE, 0x0303, &handshake(HS_SERVER_HELLO, &body));
    }
    let mut hs = handshake(HS_SERVER_HELLO, &body);
    let mut list = Vec::new();
    for der in chain {
        let n = der.len().min(0xff_ffff);
        list.extend_from_slice(&[(n >> 16) as u8, (n >> 8) as u8, n as u8]);
        list.extend_from_slice(&der[..n]);
    }
    let n = list.len();
    let mut cert_body = vec![(n >> 16) as u8, (n >> 8) as u8, n as u8];
    cert_body.extend_from_slice(&list);
    hs.extend(handshake(HS_CERTIFICATE, &cert_body));
    hs.extend(handshake(HS_SERVER_HELLO_DONE, &[]));
    records(CT_HANDSHAKE, version.wire(), &hs)
}

/// Serve the persona on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, persona: TlsPersona) {
    let chain = match persona.cert.generate() {
        Ok(c) => vec![c.cert_der],
        Err(_) => return,
    };
    let versions = persona.versions.clone();
    while let Ok((mut stream, _)) = listener.accept().await {
        let chain = chain.clone();
        let versions = versions.clone();
        tokio::spawn(async move {
            let mut buf = Vec::new();
            let mut chunk = [0u8; 2048];
            // One ClientHello, bounded in size and time.
            let hello = loop {
                let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut chunk));
                match read.await {
                    Ok(Ok(n)) if n > 0 && buf.len() + n <= 16 * 1024 => {
                        buf.extend_from_slice(&chunk[..n]);
                    }
                    _ => return,
                }
                let whole = buf.len() >= 5
                    && buf.len() >= 5 + usize::from(u16::from_be_bytes([buf[3], buf[4]]));
                if whole {
                    break parse_client_hello(&buf);
                }
            };
            let reply = match hello {
                Ok(h) => answer(&h, &versions, &chain),
                Err(_) => records(CT_ALERT, 0x0301, &[2, ALERT_HANDSHAKE_FAILURE]),
            };
            let _ = stream.write_all(&reply).await;
            let _ = stream.shutdown().await;
        });
    }
}
