//! The `http` and `https` probes against our web simulator and against a real lighttpd.

use medguard_discover::probes::http::{HTTPS_PROBE, PROBE};
use medguard_discover::sim::http::{HttpPersona, serve};
use medguard_discover::sim::tls::CertPersona;
use medguard_discover::{Observation, ProbeContext, ProbeError};
use medguard_lab::lighttpd::{LighttpdConfig, start_lighttpd};
use std::net::SocketAddr;
use tokio::net::TcpListener;

async fn sim(persona: HttpPersona) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(serve(listener, persona));
    addr
}

async fn http(addr: SocketAddr) -> Result<Observation, ProbeError> {
    (PROBE.run)(ProbeContext::new(addr)).await
}

async fn https(addr: SocketAddr) -> Result<Observation, ProbeError> {
    (HTTPS_PROBE.run)(ProbeContext::new(addr)).await
}

fn ids(obs: &Observation) -> Vec<&'static str> {
    obs.findings.iter().map(|f| f.id).collect()
}

fn attr<'a>(obs: &'a Observation, key: &str) -> Option<&'a str> {
    obs.attributes.get(key).map(String::as_str)
}

const LOGIN_PAGE: &str = "<html><head><title>Imaging Console Login</title></head><body>\
    <form method=\"post\"><input name=\"u\"><input type=\"password\" name=\"p\"></form></body></html>";

#[tokio::test]
async fn sim_login_form_over_plain_http_is_a_finding() {
    let addr = sim(HttpPersona::admin_login(
        "GoAhead-Webs/2.5.0",
        "Printer Admin",
    ))
    .await;
    let obs = http(addr).await.expect("probe");
    assert_eq!(obs.protocol, "http");
    assert_eq!(obs.product.as_deref(), Some("GoAhead-Webs"));
    assert_eq!(obs.version.as_deref(), Some("2.5.0"));
    assert_eq!(attr(&obs, "title"), Some("Printer Admin"));
    assert_eq!(attr(&obs, "login_form"), Some("true"));
    assert_eq!(ids(&obs), vec!["http-admin-no-tls"]);
}

#[tokio::test]
async fn sim_redirect_to_login_path_is_followed_once() {
    let mut persona = HttpPersona::admin_login("Boa/0.94.14rc21", "Camera Login");
    persona.redirect_to = Some("/login.html".into());
    let obs = http(sim(persona).await).await.expect("probe");
    assert_eq!(attr(&obs, "path"), Some("/login.html"));
    assert_eq!(attr(&obs, "title"), Some("Camera Login"));
    assert_eq!(ids(&obs), vec!["http-admin-no-tls"]);
}

#[tokio::test]
async fn sim_basic_auth_challenge_over_plain_http_is_a_finding() {
    let mut persona = HttpPersona::admin_login("mini_httpd/1.30", "x");
    persona.basic_realm = Some("UPS admin".into());
    let obs = http(sim(persona).await).await.expect("probe");
    assert_eq!(attr(&obs, "http_status"), Some("401"));
    assert_eq!(attr(&obs, "auth_scheme"), Some("basic"));
    assert_eq!(
        attr(&obs, "www_authenticate"),
        Some("Basic realm=\"UPS admin\"")
    );
    assert_eq!(ids(&obs), vec!["http-admin-no-tls"]);
}

#[tokio::test]
async fn sim_pages_without_a_password_or_behind_https_raise_nothing() {
    let mut status = HttpPersona::admin_login("nginx/1.22.1", "Fridge monitor");
    status.login_form = false;
    let obs = http(sim(status).await).await.expect("probe");
    assert_eq!(attr(&obs, "login_form"), Some("false"));
    assert!(obs.findings.is_empty(), "{:?}", obs.findings);

    let mut to_https = HttpPersona::admin_login("nginx/1.22.1", "Login");
    to_https.redirect_to = Some("https://portal.example/login".into());
    let obs = http(sim(to_https).await).await.expect("probe");
    assert_eq!(attr(&obs, "redirects_to_https"), Some("true"));
    assert_eq!(attr(&obs, "http_status"), Some("302"));
    assert!(obs.findings.is_empty(), "{:?}", obs.findings);
}

#[tokio::test]
async fn sim_https_login_records_certificate_not_cleartext() {
    let mut persona = HttpPersona::admin_login("Apache/2.4.57 (Debian)", "PACS Web Viewer");
    persona.tls = Some(CertPersona {
        common_name: "pacs.local".into(),
        not_after: (2022, 1, 31),
        self_signed: true,
    });
    let addr = sim(persona).await;
    let obs = https(addr).await.expect("probe");
    assert_eq!(obs.protocol, "https");
    assert_eq!(obs.tls, Some(true));
    assert_eq!(attr(&obs, "tls_versions"), Some("TLS 1.2, TLS 1.3"));
    assert_eq!(attr(&obs, "title"), Some("PACS Web Viewer"));
    assert_eq!(obs.product.as_deref(), Some("Apache"));
    assert!(attr(&obs, "cert_subject").is_some_and(|s| s.contains("pacs.local")));
    assert_eq!(attr(&obs, "cert_not_after"), Some("2022-01-31T00:00:00Z"));
    let mut got = ids(&obs);
    got.sort_unstable();
    assert_eq!(got, vec!["tls-expired", "tls-self-signed"]);

    // Plain HTTP against a TLS port: not HTTP, the scheduler moves on.
    assert!(matches!(
        http(addr).await,
        Err(ProbeError::NotThisProtocol { .. })
    ));
}

#[tokio::test]
async fn lighttpd_plain_http_login_page() {
    let lt = start_lighttpd(&LighttpdConfig {
        index_html: LOGIN_PAGE.into(),
        ..LighttpdConfig::default()
    });
    let obs = http(lt.peer.addr).await.expect("probe");
    assert_eq!(obs.protocol, "http");
    assert_eq!(obs.product.as_deref(), Some("lighttpd"));
    assert!(
        obs.version.as_deref().is_some_and(|v| v.starts_with("1.")),
        "{:?}",
        obs.version
    );
    assert_eq!(attr(&obs, "http_status"), Some("200"));
    assert_eq!(attr(&obs, "title"), Some("Imaging Console Login"));
    assert_eq!(ids(&obs), vec!["http-admin-no-tls"]);
}

#[tokio::test]
async fn lighttpd_https_with_an_expired_self_signed_certificate_and_legacy_tls() {
    let cert = CertPersona {
        common_name: "xray-ws.local".into(),
        not_after: (2023, 3, 1),
        self_signed: true,
    }
    .generate()
    .expect("certificate");
    let lt = start_lighttpd(&LighttpdConfig {
        index_html: LOGIN_PAGE.into(),
        tls: Some((cert.cert_pem, cert.key_pem)),
        legacy_tls: true,
        ..LighttpdConfig::default()
    });
    let obs = https(lt.https.expect("https port")).await.expect("probe");
    assert_eq!(obs.protocol, "https");
    assert_eq!(obs.product.as_deref(), Some("lighttpd"));
    assert_eq!(attr(&obs, "title"), Some("Imaging Console Login"));
    assert_eq!(
        attr(&obs, "tls_versions"),
        Some("TLS 1.0, TLS 1.1, TLS 1.2, TLS 1.3")
    );
    assert!(attr(&obs, "cert_subject").is_some_and(|s| s.contains("xray-ws.local")));
    let mut got = ids(&obs);
    got.sort_unstable();
    assert_eq!(
        got,
        vec!["tls-expired", "tls-legacy-protocol", "tls-self-signed"]
    );
}

#[tokio::test]
async fn lighttpd_https_with_a_current_ca_issued_certificate_raises_nothing() {
    let cert = CertPersona {
        common_name: "ehr.local".into(),
        not_after: (2090, 1, 1),
        self_signed: false,
    }
    .generate()
    .expect("certificate");
    let lt = start_lighttpd(&LighttpdConfig {
        index_html: LOGIN_PAGE.into(),
        tls: Some((cert.cert_pem, cert.key_pem)),
        legacy_tls: false,
        ..LighttpdConfig::default()
    });
    let obs = https(lt.https.expect("https port")).await.expect("probe");
    assert_eq!(attr(&obs, "tls_versions"), Some("TLS 1.2, TLS 1.3"));
    assert_eq!(attr(&obs, "cert_self_signed"), Some("false"));
    assert_eq!(attr(&obs, "cert_expired"), Some("false"));
    assert!(obs.findings.is_empty(), "{:?}", obs.findings);
}

/// A peer that answers every connection with `reply`, then drips `drip` forever.
async fn hostile(reply: Vec<u8>, drip: &'static [u8]) -> SocketAddr {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let reply = reply.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf).await;
                if s.write_all(&reply).await.is_err() {
                    return;
                }
                while !drip.is_empty() && s.write_all(drip).await.is_ok() {
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                }
            });
        }
    });
    addr
}

#[tokio::test]
async fn hostile_peers_never_hang_or_crash_the_probe() {
    let deadline = std::time::Duration::from_millis(800);
    let run = |addr: SocketAddr| {
        let mut ctx = ProbeContext::new(addr);
        ctx.deadline = deadline;
        ctx.io_timeout = std::time::Duration::from_millis(400);
        (PROBE.run)(ctx)
    };
    let started = std::time::Instant::now();
    // Slow drip of an endless header.
    let drip = hostile(b"HTTP/1.1 200 OK\r\nX: ".to_vec(), b"a").await;
    assert!(run(drip).await.is_err());
    // An endless body: cut at the reply cap, the head still identifies the server.
    let mut big = b"HTTP/1.1 200 OK\r\nServer: flood/1\r\n\r\n<title>t</title>".to_vec();
    big.resize(200_000, b'x');
    let obs = run(hostile(big, b"").await).await.expect("probe");
    assert_eq!(obs.product.as_deref(), Some("flood"));
    // An absurd chunk size: malformed, not an allocation.
    let chunked =
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffff\r\n".to_vec();
    assert!(matches!(
        run(hostile(chunked, b"").await).await,
        Err(ProbeError::Malformed { .. })
    ));
    // Garbage: not HTTP.
    assert!(matches!(
        run(hostile(vec![0, 1, 2, 3, 0xff], b"").await).await,
        Err(ProbeError::NotThisProtocol { .. })
    ));
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

#[tokio::test]
async fn lighttpd_meta_refresh_to_a_login_page_is_followed() {
    let lt = start_lighttpd(&LighttpdConfig {
        index_html: "<html><head><meta http-equiv=\"refresh\" content=\"0; url=login.html\">\
                     </head></html>"
            .into(),
        pages: vec![("login.html".into(), LOGIN_PAGE.into())],
        ..LighttpdConfig::default()
    });
    let obs = http(lt.peer.addr).await.expect("probe");
    assert_eq!(attr(&obs, "path"), Some("/login.html"));
    assert_eq!(attr(&obs, "title"), Some("Imaging Console Login"));
    assert_eq!(ids(&obs), vec!["http-admin-no-tls"]);
}

#[tokio::test]
async fn nothing_is_sent_to_a_raw_print_port() {
    use tokio::io::AsyncReadExt;
    // A "printer" on 127.77.0.91:9100 that records whether any byte arrived.
    let listener = match TcpListener::bind("127.77.0.91:9100").await {
        Ok(l) => l,
        Err(e) => panic!("failed to bind the lab print port 127.77.0.91:9100: {e}"),
    };
    let addr = listener.local_addr().expect("addr");
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 64];
                if let Ok(n) = s.read(&mut buf).await
                    && n > 0
                {
                    let _ = tx.send(n);
                }
            });
        }
    });
    for run in [
        PROBE.run,
        HTTPS_PROBE.run,
        medguard_discover::probes::tls::PROBE.run,
    ] {
        assert!(matches!(
            run(ProbeContext::new(addr)).await,
            Err(ProbeError::NotThisProtocol { .. })
        ));
    }
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert!(rx.try_recv().is_err(), "bytes reached the print port");
}
