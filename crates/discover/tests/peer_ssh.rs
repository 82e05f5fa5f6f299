//! The `ssh` probe against a real OpenSSH server (Debian `openssh-server`) started on loopback.

use medguard_discover::ProbeContext;
use medguard_discover::probes::ssh::PROBE;
use medguard_lab::sshd::start_sshd;
use std::process::Command;

/// The version the installed sshd reports for itself (`sshd -V` prints `OpenSSH_9.2, OpenSSL ...`).
fn installed_version() -> String {
    let out = Command::new(medguard_lab::require("sshd", "openssh-server"))
        .arg("-V")
        .output()
        .expect("run sshd -V");
    let text = String::from_utf8_lossy(&out.stderr).to_string();
    text.split([',', ' '])
        .next()
        .and_then(|s| s.strip_prefix("OpenSSH_"))
        .unwrap_or_else(|| panic!("unexpected sshd -V output {text:?}"))
        .to_string()
}

#[tokio::test]
async fn identifies_real_openssh_and_its_algorithms() {
    let peer = start_sshd();
    let obs = (PROBE.run)(ProbeContext::new(peer.addr))
        .await
        .expect("probe real sshd");
    assert_eq!(obs.protocol, "ssh");
    assert_eq!(obs.product.as_deref(), Some("OpenSSH"));
    assert_eq!(obs.vendor.as_deref(), Some("OpenBSD"));
    let version = obs.version.clone().expect("version");
    assert!(
        version.starts_with(&installed_version()),
        "probe saw {version}, sshd -V says {}",
        installed_version()
    );
    assert_eq!(obs.attributes["proto_version"], "2.0");
    // Debian builds announce themselves in the comments field.
    if obs
        .attributes
        .get("comments")
        .is_some_and(|c| c.contains("Debian"))
    {
        assert_eq!(obs.os.as_deref(), Some("Debian"));
    }
    // The server's KEXINIT: the ed25519 host key we generated, and modern key exchange.
    assert!(
        obs.attributes["host_key_algorithms"].contains("ssh-ed25519"),
        "{:?}",
        obs.attributes
    );
    assert!(obs.attributes["kex_algorithms"].contains("curve25519-sha256"));
    assert!(!obs.attributes["ciphers"].is_empty());
    assert!(obs.findings.is_empty(), "{:?}", obs.findings);
}
