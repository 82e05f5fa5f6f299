//! The `telnet` probe against real inetutils telnetd (Debian `inetutils-telnetd`) on loopback.

use medguard_discover::ProbeContext;
use medguard_discover::probes::telnet::PROBE;
use medguard_lab::telnetd::start_telnetd;

#[tokio::test]
async fn identifies_real_telnetd_and_reports_it() {
    let peer = start_telnetd();
    let obs = (PROBE.run)(ProbeContext::new(peer.addr))
        .await
        .expect("probe real telnetd");
    assert_eq!(obs.protocol, "telnet");
    // inetutils telnetd opens by asking for the terminal type (RFC 1091) among others.
    let negotiation = obs.attributes.get("negotiation").expect("negotiation");
    assert!(negotiation.contains("DO terminal-type"), "{negotiation}");
    // After our refusals it starts login, whose banner names the system.
    let banner = obs.banner.clone().unwrap_or_default();
    assert!(
        banner.contains("Linux") || banner.contains("login"),
        "{banner}"
    );
    assert_eq!(obs.attributes["login_prompt"], "true", "{:?}", obs);
    assert_eq!(obs.findings.len(), 1);
    assert_eq!(obs.findings[0].id, "telnet-enabled");
}
