//! The `vnc` probe against a real TigerVNC server (Debian `tigervnc-standalone-server`) on
//! loopback, without and with a password.

use medguard_discover::probes::vnc::PROBE;
use medguard_discover::{Observation, ProbeContext};
use medguard_lab::tigervnc::{start_tigervnc, start_tigervnc_with};

/// Xtigervnc sets up TLS when the first client picks VeNCrypt, which can take seconds on a loaded
/// 2-core CI machine (the probe's 2 s read budget ran out there once): the TLS tests give each read
/// 10 s. What they assert is unchanged.
fn patient(addr: std::net::SocketAddr) -> ProbeContext {
    let mut ctx = ProbeContext::new(addr);
    ctx.io_timeout = std::time::Duration::from_secs(10);
    ctx.deadline = std::time::Duration::from_secs(30);
    ctx
}

fn ids(obs: &Observation) -> Vec<&'static str> {
    obs.findings.iter().map(|f| f.id).collect()
}

#[tokio::test]
async fn tigervnc_without_password_is_a_finding() {
    let vnc = start_tigervnc(None);
    let obs = (PROBE.run)(ProbeContext::new(vnc.addr))
        .await
        .expect("probe real Xtigervnc");
    assert_eq!(obs.protocol, "vnc");
    assert_eq!(obs.attributes["rfb_version"], "3.8");
    assert_eq!(obs.attributes["security_type_ids"], "1");
    assert_eq!(ids(&obs), vec!["vnc-no-auth"]);
}

#[tokio::test]
async fn tigervnc_with_vnc_password_is_weak_but_not_open() {
    let vnc = start_tigervnc(Some("xray-2024"));
    let obs = (PROBE.run)(ProbeContext::new(vnc.addr))
        .await
        .expect("probe real Xtigervnc");
    assert_eq!(obs.attributes["security_types"], "VNC Authentication");
    assert_eq!(ids(&obs), vec!["vnc-weak-auth"]);
}

#[tokio::test]
async fn tigervnc_vencrypt_tls_without_password_is_a_finding() {
    let vnc = start_tigervnc_with("TLSNone", None);
    let obs = (PROBE.run)(patient(vnc.addr))
        .await
        .expect("probe real Xtigervnc");
    assert_eq!(obs.attributes["security_types"], "VeNCrypt");
    assert_eq!(obs.attributes["vencrypt_subtypes"], "TLSNone");
    assert_eq!(ids(&obs), vec!["vnc-no-auth"]);
}

#[tokio::test]
async fn tigervnc_vencrypt_with_password_is_not_open() {
    let vnc = start_tigervnc_with("TLSVnc", Some("xray-2024"));
    let obs = (PROBE.run)(patient(vnc.addr))
        .await
        .expect("probe real Xtigervnc");
    assert_eq!(obs.attributes["vencrypt_subtypes"], "TLSVnc");
    assert!(obs.findings.is_empty(), "{:?}", obs.findings);
}
