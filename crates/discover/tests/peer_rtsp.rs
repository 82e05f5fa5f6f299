//! The `rtsp` probe against our camera simulator and GStreamer's RTSP server (open and with Basic
//! authentication).

use medguard_discover::probes::rtsp::PROBE;
use medguard_discover::sim::rtsp::{RtspPersona, serve};
use medguard_discover::{Observation, ProbeContext, ProbeError};
use std::net::SocketAddr;
use tokio::net::TcpListener;

async fn sim(persona: RtspPersona) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(serve(listener, persona));
    addr
}

async fn probe(addr: SocketAddr) -> Result<Observation, ProbeError> {
    (PROBE.run)(ProbeContext::new(addr)).await
}

fn attr<'a>(obs: &'a Observation, key: &str) -> Option<&'a str> {
    obs.attributes.get(key).map(String::as_str)
}

#[tokio::test]
async fn open_camera_streams_without_a_password() {
    let obs = probe(sim(RtspPersona::open_camera()).await)
        .await
        .expect("probe");
    assert_eq!(obs.protocol, "rtsp");
    assert_eq!(obs.product.as_deref(), Some("IPCamera-RTSP"));
    assert_eq!(obs.version.as_deref(), Some("2.1"));
    assert!(attr(&obs, "public").is_some_and(|p| p.contains("DESCRIBE")));
    assert_eq!(attr(&obs, "describe_status"), Some("200"));
    assert_eq!(attr(&obs, "sdp_session_name"), Some("Waiting room"));
    assert_eq!(attr(&obs, "sdp_media"), Some("video"));
    let ids: Vec<_> = obs.findings.iter().map(|f| f.id).collect();
    assert_eq!(ids, vec!["rtsp-no-auth"]);
}

#[tokio::test]
async fn camera_that_asks_for_a_password_raises_nothing() {
    let persona = RtspPersona {
        server: "Hikvision-Webs".into(),
        session_name: "Media Presentation".into(),
        require_auth: true,
    };
    let obs = probe(sim(persona).await).await.expect("probe");
    assert_eq!(obs.product.as_deref(), Some("Hikvision-Webs"));
    assert_eq!(attr(&obs, "describe_status"), Some("401"));
    assert_eq!(attr(&obs, "auth_scheme"), Some("basic"));
    assert_eq!(attr(&obs, "sdp_session_name"), None);
    assert!(obs.findings.is_empty(), "{:?}", obs.findings);
}

#[tokio::test]
async fn a_web_server_is_not_rtsp() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(medguard_discover::sim::http::serve(
        listener,
        medguard_discover::sim::http::HttpPersona::admin_login("x/1", "y"),
    ));
    // The web server answers `RTSP/1.0` requests with an HTTP status line (or 400).
    assert!(matches!(
        probe(addr).await,
        Err(ProbeError::NotThisProtocol { .. })
    ));
}

#[tokio::test]
async fn gstreamer_rtsp_server_without_authentication() {
    let peer = medguard_lab::gst_rtsp::start_gst_rtsp(false);
    let obs = probe(peer.addr).await.expect("probe");
    assert_eq!(obs.protocol, "rtsp");
    assert_eq!(attr(&obs, "server"), Some("GStreamer RTSP server"));
    assert!(attr(&obs, "public").is_some_and(|p| p.contains("DESCRIBE")));
    assert_eq!(attr(&obs, "describe_status"), Some("200"));
    assert_eq!(attr(&obs, "sdp_tool"), Some("GStreamer"));
    assert_eq!(attr(&obs, "sdp_media"), Some("video"));
    let ids: Vec<_> = obs.findings.iter().map(|f| f.id).collect();
    assert_eq!(ids, vec!["rtsp-no-auth"]);
}

#[tokio::test]
async fn gstreamer_rtsp_server_with_basic_authentication() {
    let peer = medguard_lab::gst_rtsp::start_gst_rtsp(true);
    let obs = probe(peer.addr).await.expect("probe");
    assert_eq!(obs.protocol, "rtsp");
    assert_eq!(attr(&obs, "describe_status"), Some("401"));
    assert_eq!(attr(&obs, "auth_scheme"), Some("basic"));
    assert!(obs.findings.is_empty(), "{:?}", obs.findings);
}
