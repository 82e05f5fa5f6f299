//! The `ipp` probe against our printer simulator and a real CUPS (`cupsd`).

use medguard_discover::probes::ipp::PROBE;
use medguard_discover::sim::ipp::{IppPersona, serve};
use medguard_discover::{Observation, ProbeContext, ProbeError};
use medguard_lab::cups::{CupsPrinter, start_cupsd};
use std::net::SocketAddr;
use tokio::net::TcpListener;

async fn sim(persona: IppPersona) -> SocketAddr {
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

fn ids(obs: &Observation) -> Vec<&'static str> {
    obs.findings.iter().map(|f| f.id).collect()
}

#[tokio::test]
async fn sim_printer_describes_itself() {
    let obs = probe(sim(IppPersona::front_desk()).await)
        .await
        .expect("probe");
    assert_eq!(obs.protocol, "ipp");
    assert_eq!(attr(&obs, "ipp_status"), Some("0x0000"));
    assert_eq!(
        attr(&obs, "printer_make_and_model"),
        Some("HP LaserJet Pro M404dn")
    );
    assert_eq!(obs.model.as_deref(), Some("HP LaserJet Pro M404dn"));
    assert_eq!(obs.firmware.as_deref(), Some("002.2049A"));
    assert_eq!(attr(&obs, "printer_info"), Some("Front desk printer"));
    assert_eq!(attr(&obs, "printer_location"), Some("Reception"));
    assert_eq!(ids(&obs), vec!["ipp-no-auth"]);
}

#[tokio::test]
async fn sim_printer_requiring_a_login_raises_nothing() {
    let mut persona = IppPersona::front_desk();
    persona.authentication = "basic".into();
    let obs = probe(sim(persona).await).await.expect("probe");
    assert_eq!(attr(&obs, "uri_authentication_supported"), Some("basic"));
    assert!(obs.findings.is_empty(), "{:?}", obs.findings);
}

#[tokio::test]
async fn web_server_is_not_ipp() {
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
async fn cupsd_default_queue() {
    let peer = start_cupsd(&CupsPrinter {
        name: "frontdesk".into(),
        make_and_model: "Acme LaserWriter 9000".into(),
        info: "Front desk laser".into(),
        location: "Reception".into(),
    });
    let obs = probe(peer.addr).await.expect("probe");
    assert_eq!(obs.protocol, "ipp");
    assert_eq!(obs.product.as_deref(), Some("CUPS"));
    assert!(
        obs.version.as_deref().is_some_and(|v| v.starts_with('2')),
        "{:?}",
        obs.version
    );
    assert_eq!(attr(&obs, "ipp_status"), Some("0x0000"));
    assert_eq!(
        attr(&obs, "printer_make_and_model"),
        Some("Acme LaserWriter 9000")
    );
    assert_eq!(attr(&obs, "printer_info"), Some("Front desk laser"));
    assert_eq!(attr(&obs, "printer_location"), Some("Reception"));
    assert_eq!(attr(&obs, "printer_name"), Some("frontdesk"));
    assert!(attr(&obs, "printer_uri").is_some_and(|u| u.ends_with("/printers/frontdesk")));
    assert_eq!(ids(&obs), vec!["ipp-no-auth"], "{:?}", obs.attributes);
}
