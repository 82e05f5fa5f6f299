//! A device web interface (RFC 9112 server side): a status page or a login form, optionally behind
//! HTTP Basic authentication or a redirect to a login path, over plain HTTP or HTTPS (rustls, with a
//! certificate from [`super::tls::CertPersona`]).

use super::tls::CertPersona;
use crate::probes::http::head_end;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;

/// Identity of a simulated web interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpPersona {
    /// `Server` header value (e.g. `GoAhead-Webs/2.5.0`).
    pub server: String,
    /// Page title.
    pub title: String,
    /// Whether the page is a login form with a password field.
    pub login_form: bool,
    /// `Some(realm)`: every page answers `401` with a Basic challenge.
    pub basic_realm: Option<String>,
    /// `Some(path)`: `/` redirects (302) to this path, where the page lives.
    pub redirect_to: Option<String>,
    /// `Some(cert)`: serve HTTPS (TLS 1.2/1.3) with this certificate.
    pub tls: Option<CertPersona>,
}

impl HttpPersona {
    /// A printer or camera admin page: login form over plain HTTP.
    pub fn admin_login(server: &str, title: &str) -> Self {
        HttpPersona {
            server: server.into(),
            title: title.into(),
            login_form: true,
            basic_realm: None,
            redirect_to: None,
            tls: None,
        }
    }
}

/// Encode one response (RFC 9112 §6): status line, headers, `Content-Length` or `chunked` body.
pub fn encode_response(
    status: u16,
    reason: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    chunked: bool,
) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status} {reason}\r\n").into_bytes();
    for (k, v) in headers {
        out.extend_from_slice(format!("{k}: {v}\r\n").as_bytes());
    }
    if chunked {
        out.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
        for part in body.chunks(100) {
            out.extend_from_slice(format!("{:x}\r\n", part.len()).as_bytes());
            out.extend_from_slice(part);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"0\r\n\r\n");
    } else {
        out.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
        out.extend_from_slice(body);
    }
    out
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The response the persona gives to a `GET` of `path`.
pub fn respond(persona: &HttpPersona, path: &str) -> Vec<u8> {
    let server = persona.server.as_str();
    if let Some(realm) = &persona.basic_realm {
        let challenge = format!("Basic realm=\"{}\"", realm.replace('"', ""));
        let body = b"<html><head><title>401 Unauthorized</title></head></html>";
        return encode_response(
            401,
            "Unauthorized",
            &[
                ("Server", server),
                ("WWW-Authenticate", &challenge),
                ("Content-Type", "text/html"),
                ("Connection", "close"),
            ],
            body,
            false,
        );
    }
    if let Some(target) = &persona.redirect_to
        && path == "/"
    {
        return encode_response(
            302,
            "Found",
            &[
                ("Server", server),
                ("Location", target),
                ("Connection", "close"),
            ],
            b"",
            false,
        );
    }
    let form = if persona.login_form {
        "<form method=\"post\" action=\"/login\"><input type=\"text\" name=\"user\">\
         <input type=\"password\" name=\"pass\"><input type=\"submit\" value=\"Log in\"></form>"
    } else {
        "<p>Status: ready</p>"
    };
    let body = format!(
        "<!DOCTYPE html><html><head><title>{}</title></head><body>{form}</body></html>",
        escape(&persona.title)
    );
    encode_response(
        200,
        "OK",
        &[
            ("Server", server),
            ("Content-Type", "text/html; charset=utf-8"),
            ("Connection", "close"),
        ],
        body.as_bytes(),
        true,
    )
}

/// Read one request head (bounded) and answer it.
async fn handle<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S, persona: &HttpPersona) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 2048];
    while head_end(&buf).is_none() {
        match tokio::time::timeout(Duration::from_secs(5), stream.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 && buf.len() + n <= 16 * 1024 => buf.extend_from_slice(&chunk[..n]),
            _ => return,
        }
    }
    let line = buf.split(|&b| b == b'\n').next().unwrap_or_default();
    let mut parts = line.split(|&b| b == b' ');
    let method = parts.next().unwrap_or_default();
    let path = String::from_utf8_lossy(parts.next().unwrap_or(b"/")).into_owned();
    let reply = if method == b"GET" || method == b"HEAD" {
        respond(persona, &path)
    } else {
        encode_response(
            405,
            "Method Not Allowed",
            &[("Server", &persona.server), ("Connection", "close")],
            b"",
            false,
        )
    };
    let _ = stream.write_all(&reply).await;
    let _ = stream.shutdown().await;
}

/// Serve the persona on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, persona: HttpPersona) {
    let acceptor = match &persona.tls {
        Some(cert) => match tls_acceptor(cert) {
            Some(a) => Some(a),
            None => return,
        },
        None => None,
    };
    let persona = Arc::new(persona);
    while let Ok((stream, _)) = listener.accept().await {
        let persona = persona.clone();
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            match acceptor {
                Some(acceptor) => {
                    let accepted =
                        tokio::time::timeout(Duration::from_secs(5), acceptor.accept(stream)).await;
                    if let Ok(Ok(tls)) = accepted {
                        handle(tls, &persona).await;
                    }
                }
                None => handle(stream, &persona).await,
            }
        });
    }
}

fn tls_acceptor(cert: &CertPersona) -> Option<tokio_rustls::TlsAcceptor> {
    let generated = cert.generate().ok()?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(generated.key_der.into());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .ok()?
        .with_no_client_auth()
        .with_single_cert(vec![generated.cert_der.into()], key)
        .ok()?;
    Some(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}
