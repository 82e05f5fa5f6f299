//! Live reception on loopback: UDP, TCP (octet counting and newline framing) and TLS, with malformed
//! and oversized input in between; every accepted message must come out of the queue.

use medguard_detect::live::{Live, LiveConfig, RawMessage, TlsFiles};
use std::io::Write;
use std::net::{TcpStream, UdpSocket};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn collect(live: &mut Live, want: usize) -> Vec<RawMessage> {
    let mut out = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while out.len() < want && Instant::now() < deadline {
        if let Some(m) = live.recv_timeout(Duration::from_millis(200)) {
            out.push(m);
        }
    }
    out
}

#[test]
fn udp_tcp_tls_receive_and_survive_garbage() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("cert");
    let cert_path = dir.path().join("cert.pem");
    let key_path = dir.path().join("key.pem");
    std::fs::write(&cert_path, cert.cert.pem()).expect("write cert");
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).expect("write key");
    let mut live = Live::start(&LiveConfig {
        listeners: vec![
            "udp://127.0.0.1:0".into(),
            "tcp://127.0.0.1:0".into(),
            "tls://127.0.0.1:0".into(),
        ],
        tls: Some(TlsFiles {
            cert: cert_path,
            key: key_path,
        }),
        queue: 1024,
    })
    .expect("start");
    let addr = |scheme: &str| {
        live.bound()
            .iter()
            .find(|(u, _)| u.starts_with(scheme))
            .map(|(_, a)| *a)
            .expect("bound")
    };
    let (udp, tcp, tls) = (addr("udp"), addr("tcp"), addr("tls"));

    let s = UdpSocket::bind("127.0.0.1:0").expect("udp");
    s.send_to(
        b"<34>Oct 11 22:14:15 fw01 sshd[1]: Failed password for root",
        udp,
    )
    .expect("send");
    s.send_to(&[0xff, 0xfe, 0x00, b'x'], udp)
        .expect("send garbage");

    let mut t = TcpStream::connect(tcp).expect("tcp");
    let m1 = "<165>1 2024-03-01T22:14:15Z nas01 smbd - - - user=bob action=delete";
    write!(t, "{} {}", m1.len(), m1).expect("octet");
    t.write_all(b"<13>Mar  1 10:00:00 printer1 lpd: newline framed\n")
        .expect("line");
    // An oversized octet-counted frame is skipped whole, the next one still arrives.
    let big = vec![b'a'; 70_000];
    write!(t, "{} ", big.len()).expect("len");
    t.write_all(&big).expect("big");
    t.write_all(b"<13>Mar  1 10:00:01 printer1 lpd: after the big one\n")
        .expect("after");
    drop(t);

    // TLS client trusting our self-signed certificate.
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.cert.der().clone()).expect("root");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from("localhost").expect("name");
    let conn = rustls::ClientConnection::new(Arc::new(cfg), name).expect("client");
    let sock = TcpStream::connect(tls).expect("tls tcp");
    let mut stream = rustls::StreamOwned::new(conn, sock);
    let m2 = "<86>1 2024-03-01T22:14:16Z pacs01 audit - - - over tls";
    write!(stream, "{} {}", m2.len(), m2).expect("tls write");
    stream.flush().expect("flush");

    let got = collect(&mut live, 6);
    let texts: Vec<&str> = got.iter().map(|m| m.text.as_str()).collect();
    assert!(
        texts.iter().any(|t| t.contains("Failed password")),
        "{texts:?}"
    );
    assert!(texts.contains(&m1), "{texts:?}");
    assert!(texts.iter().any(|t| t.ends_with("newline framed")));
    assert!(texts.iter().any(|t| t.ends_with("after the big one")));
    assert!(texts.contains(&m2), "{texts:?}");
    assert!(got.iter().any(|m| m.peer.starts_with("tls://127.0.0.1")));
    let (received, dropped, malformed) = live.stats().snapshot();
    assert_eq!(received as usize, got.len());
    assert_eq!(dropped, 0);
    assert!(malformed >= 1, "the oversized frame is counted");
    drop(stream);
}

#[test]
fn tls_listener_without_certificate_is_refused() {
    let err = Live::start(&LiveConfig {
        listeners: vec!["tls://127.0.0.1:0".into()],
        tls: None,
        queue: 8,
    })
    .expect_err("must refuse");
    assert!(err.to_string().contains("tls://"));
    let err = Live::start(&LiveConfig {
        listeners: vec!["http://127.0.0.1:0".into()],
        tls: None,
        queue: 8,
    })
    .expect_err("must refuse");
    assert!(err.to_string().contains("http://"));
}
