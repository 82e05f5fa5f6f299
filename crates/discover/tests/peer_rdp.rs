//! The `rdp` probe against a real xrdp (Debian `xrdp`) on loopback. xrdp has no NLA (CredSSP), so
//! the finding must fire; its security layer setting decides whether standard RDP security is
//! accepted.

use medguard_discover::probes::rdp::PROBE;
use medguard_discover::{Observation, ProbeContext};
use medguard_lab::xrdp::start_xrdp;

fn ids(obs: &Observation) -> Vec<&'static str> {
    obs.findings.iter().map(|f| f.id).collect()
}

#[tokio::test]
async fn xrdp_negotiate_accepts_tls_and_standard_rdp_security() {
    let peer = start_xrdp("negotiate");
    let obs = (PROBE.run)(ProbeContext::new(peer.addr))
        .await
        .expect("probe real xrdp");
    assert_eq!(obs.protocol, "rdp");
    assert_eq!(obs.attributes["selected_protocol"], "ssl");
    assert_eq!(obs.attributes["standard_rdp_security"], "accepted");
    assert_eq!(obs.attributes["nla"], "not-supported");
    assert_eq!(ids(&obs), vec!["rdp-exposed", "rdp-no-nla"]);
}

#[tokio::test]
async fn xrdp_tls_only_refuses_standard_rdp_security_but_has_no_nla() {
    let peer = start_xrdp("tls");
    let obs = (PROBE.run)(ProbeContext::new(peer.addr))
        .await
        .expect("probe real xrdp");
    assert_eq!(obs.attributes["selected_protocol"], "ssl");
    assert_eq!(obs.attributes["standard_rdp_security"], "refused");
    assert_eq!(obs.attributes["failure"], "ssl-required-by-server");
    assert_eq!(ids(&obs), vec!["rdp-exposed", "rdp-no-nla"]);
}
