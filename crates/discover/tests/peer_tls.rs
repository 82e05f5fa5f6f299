//! The `tls` probe (hand-built ClientHellos) against our TLS simulator and a real lighttpd/OpenSSL.

use medguard_discover::probes::tls::{PROBE, TlsVersion};
use medguard_discover::sim::tls::{CertPersona, TlsPersona, serve};
use medguard_discover::{Observation, ProbeContext, ProbeError};
use medguard_lab::lighttpd::{LighttpdConfig, start_lighttpd};
use std::net::SocketAddr;
use tokio::net::TcpListener;

async fn sim(persona: TlsPersona) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(serve(listener, persona));
    addr
}

async fn probe(addr: SocketAddr) -> Result<Observation, ProbeError> {
    (PROBE.run)(ProbeContext::new(addr)).await
}

fn ids(obs: &Observation) -> Vec<&'static str> {
    let mut v: Vec<_> = obs.findings.iter().map(|f| f.id).collect();
    v.sort_unstable();
    v
}

fn attr<'a>(obs: &'a Observation, key: &str) -> Option<&'a str> {
    obs.attributes.get(key).map(String::as_str)
}

#[tokio::test]
async fn sim_legacy_device_accepts_tls10_with_an_expired_self_signed_certificate() {
    let obs = probe(sim(TlsPersona::legacy_device()).await)
        .await
        .expect("probe");
    assert_eq!(obs.protocol, "tls");
    assert_eq!(
        attr(&obs, "tls_versions"),
        Some("TLS 1.0, TLS 1.1, TLS 1.2")
    );
    assert_eq!(attr(&obs, "tls_legacy"), Some("TLS 1.0, TLS 1.1"));
    assert!(attr(&obs, "cert_subject").is_some_and(|s| s.contains("imaging-ws")));
    assert_eq!(attr(&obs, "cert_not_after"), Some("2021-06-30T00:00:00Z"));
    assert_eq!(
        ids(&obs),
        vec!["tls-expired", "tls-legacy-protocol", "tls-self-signed"]
    );
}

#[tokio::test]
async fn sim_modern_endpoint_raises_nothing() {
    let persona = TlsPersona {
        versions: vec![TlsVersion::Tls12, TlsVersion::Tls13],
        cert: CertPersona {
            common_name: "pacs.local".into(),
            not_after: (2090, 1, 1),
            self_signed: false,
        },
    };
    let obs = probe(sim(persona).await).await.expect("probe");
    assert_eq!(attr(&obs, "tls_versions"), Some("TLS 1.2, TLS 1.3"));
    assert!(attr(&obs, "cert_issuer").is_some_and(|s| s.contains("medguard sim CA")));
    assert!(obs.findings.is_empty(), "{:?}", obs.findings);
}

#[tokio::test]
async fn sim_only_tls10_still_yields_the_certificate() {
    let persona = TlsPersona {
        versions: vec![TlsVersion::Ssl3, TlsVersion::Tls10],
        cert: CertPersona {
            common_name: "ultrasound".into(),
            not_after: (2090, 1, 1),
            self_signed: true,
        },
    };
    let obs = probe(sim(persona).await).await.expect("probe");
    assert_eq!(attr(&obs, "tls_versions"), Some("SSL 3.0, TLS 1.0"));
    assert!(attr(&obs, "cert_subject").is_some_and(|s| s.contains("ultrasound")));
    assert_eq!(ids(&obs), vec!["tls-legacy-protocol", "tls-self-signed"]);
}

#[tokio::test]
async fn plain_http_is_not_tls() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(medguard_discover::sim::http::serve(
        listener,
        medguard_discover::sim::http::HttpPersona::admin_login("x/1", "y"),
    ));
    assert!(matches!(
        probe(addr).await,
        Err(ProbeError::NotThisProtocol { .. })
    ));
}

#[tokio::test]
async fn lighttpd_openssl_with_legacy_protocols_enabled() {
    let cert = CertPersona {
        common_name: "lab-openssl".into(),
        not_after: (2090, 1, 1),
        self_signed: false,
    }
    .generate()
    .expect("certificate");
    let lt = start_lighttpd(&LighttpdConfig {
        index_html: "<html></html>".into(),
        tls: Some((cert.cert_pem, cert.key_pem)),
        legacy_tls: true,
        ..LighttpdConfig::default()
    });
    let obs = probe(lt.https.expect("https port")).await.expect("probe");
    assert_eq!(
        attr(&obs, "tls_versions"),
        Some("TLS 1.0, TLS 1.1, TLS 1.2, TLS 1.3")
    );
    assert!(attr(&obs, "cert_subject").is_some_and(|s| s.contains("lab-openssl")));
    assert_eq!(ids(&obs), vec!["tls-legacy-protocol"]);
}

#[tokio::test]
async fn lighttpd_openssl_defaults_refuse_legacy_protocols() {
    let cert = CertPersona {
        common_name: "lab-openssl".into(),
        not_after: (2090, 1, 1),
        self_signed: false,
    }
    .generate()
    .expect("certificate");
    let lt = start_lighttpd(&LighttpdConfig {
        index_html: "<html></html>".into(),
        tls: Some((cert.cert_pem, cert.key_pem)),
        legacy_tls: false,
        ..LighttpdConfig::default()
    });
    let obs = probe(lt.https.expect("https port")).await.expect("probe");
    assert_eq!(attr(&obs, "tls_versions"), Some("TLS 1.2, TLS 1.3"));
    assert!(obs.findings.is_empty(), "{:?}", obs.findings);
    // The plain-HTTP port of the same server is not TLS.
    assert!(matches!(
        probe(lt.peer.addr).await,
        Err(ProbeError::NotThisProtocol { .. })
    ));
}

#[tokio::test]
async fn hostile_tls_replies_are_errors_not_hangs() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    async fn hostile(reply: &'static [u8]) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buf = [0u8; 2048];
                    let _ = s.read(&mut buf).await;
                    let _ = s.write_all(reply).await;
                    // Then hold the connection open without a word.
                    tokio::time::sleep(std::time::Duration::from_secs(30)).await;
                });
            }
        });
        addr
    }
    let started = std::time::Instant::now();
    let mut ctx = ProbeContext::new(hostile(&[22, 3, 3, 0xff, 0xff]).await);
    ctx.io_timeout = std::time::Duration::from_millis(300);
    // A record longer than TLS allows.
    assert!(matches!(
        (PROBE.run)(ctx).await,
        Err(ProbeError::Malformed { .. })
    ));
    // A ServerHello that never completes: every version times out after partial bytes.
    let mut ctx = ProbeContext::new(hostile(&[22, 3, 3, 0, 60, 2, 0, 0, 56, 3, 3]).await);
    ctx.io_timeout = std::time::Duration::from_millis(300);
    ctx.deadline = std::time::Duration::from_secs(2);
    assert!((PROBE.run)(ctx).await.is_err());
    assert!(started.elapsed() < std::time::Duration::from_secs(6));
}

#[tokio::test]
async fn lighttpd_with_an_openssl_made_1024_bit_rsa_certificate() {
    let openssl = medguard_lab::require("openssl", "openssl");
    let dir = medguard_lab::workdir("rsa1024");
    let (key, cert) = (dir.path().join("key.pem"), dir.path().join("cert.pem"));
    let status = std::process::Command::new(openssl)
        .args([
            "req", "-x509", "-newkey", "rsa:1024", "-nodes", "-days", "30",
        ])
        .args(["-subj", "/CN=old-modality"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(std::process::Stdio::null())
        .status()
        .expect("run openssl");
    assert!(status.success(), "openssl req failed");
    let read = |p: &std::path::Path| std::fs::read_to_string(p).expect("read pem");
    let lt = start_lighttpd(&LighttpdConfig {
        index_html: "<html></html>".into(),
        tls: Some((read(&cert), read(&key))),
        legacy_tls: true,
        ..LighttpdConfig::default()
    });
    let obs = probe(lt.https.expect("https port")).await.expect("probe");
    assert_eq!(attr(&obs, "cert_key"), Some("RSA 1024"), "{obs:?}");
    assert_eq!(
        ids(&obs),
        vec!["tls-legacy-protocol", "tls-self-signed", "tls-weak-key"]
    );
}

#[tokio::test]
async fn https_fallback_on_an_unknown_port_reports_plain_tls() {
    let addr = sim(TlsPersona::legacy_device()).await;
    let obs = (medguard_discover::probes::http::HTTPS_PROBE.run)(ProbeContext::new(addr))
        .await
        .expect("probe");
    assert_eq!(obs.protocol, "tls");
    assert_eq!(
        attr(&obs, "tls_versions"),
        Some("TLS 1.0, TLS 1.1, TLS 1.2")
    );
    assert!(attr(&obs, "http_error").is_some());
    assert_eq!(
        ids(&obs),
        vec!["tls-expired", "tls-legacy-protocol", "tls-self-signed"]
    );
}
