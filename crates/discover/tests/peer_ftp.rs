//! The `ftp` probe against a real vsftpd (Debian `vsftpd`) on loopback, anonymous login on and off.

use medguard_discover::probes::ftp::PROBE;
use medguard_discover::{Observation, ProbeContext};
use medguard_lab::vsftpd::start_vsftpd;
use std::process::Command;

fn ids(obs: &Observation) -> Vec<&'static str> {
    obs.findings.iter().map(|f| f.id).collect()
}

/// `vsftpd -v` prints `vsftpd: version 3.0.3` to its standard *input* (a known quirk).
fn installed_version() -> String {
    let bin = medguard_lab::require("vsftpd", "vsftpd");
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("{} -v 0>&1", bin.display()))
        .output()
        .expect("run vsftpd -v");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    text.split_whitespace()
        .last()
        .unwrap_or_else(|| panic!("unexpected vsftpd -v output {text:?}"))
        .to_string()
}

#[tokio::test]
async fn anonymous_vsftpd_is_a_finding() {
    let peer = start_vsftpd(true);
    let obs = (PROBE.run)(ProbeContext::new(peer.addr))
        .await
        .expect("probe real vsftpd");
    assert_eq!(obs.protocol, "ftp");
    assert_eq!(obs.product.as_deref(), Some("vsftpd"));
    assert_eq!(obs.version.as_deref(), Some(installed_version().as_str()));
    assert_eq!(obs.attributes["anonymous"], "true");
    assert_eq!(ids(&obs), vec!["ftp-cleartext", "ftp-anonymous"]);
}

#[tokio::test]
async fn vsftpd_without_anonymous_is_not_a_finding() {
    let peer = start_vsftpd(false);
    let obs = (PROBE.run)(ProbeContext::new(peer.addr))
        .await
        .expect("probe real vsftpd");
    assert_eq!(obs.product.as_deref(), Some("vsftpd"));
    assert_eq!(
        obs.attributes.get("anonymous").map(String::as_str),
        Some("false"),
        "{:?}",
        obs.attributes
    );
    let reply = &obs.attributes["anonymous_reply"];
    assert!(reply.starts_with("530"), "{reply}");
    assert_eq!(ids(&obs), vec!["ftp-cleartext"]);
}
