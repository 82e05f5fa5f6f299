//! The `smb` probe against a real Samba `smbd` (Debian `samba`) on lab loopback addresses, once with
//! SMBv1 on and signing optional, once with SMBv1 off and signing mandatory.

use medguard_discover::probes::smb::PROBE;
use medguard_discover::{Observation, ProbeContext};
use medguard_lab::lab_ip;
use medguard_lab::samba::{SambaConfig, start_samba};

fn ids(obs: &Observation) -> Vec<&'static str> {
    obs.findings.iter().map(|f| f.id).collect()
}

fn attr<'a>(obs: &'a Observation, key: &str) -> &'a str {
    obs.attributes
        .get(key)
        .map(String::as_str)
        .unwrap_or_else(|| panic!("no {key} in {:?}", obs.attributes))
}

#[tokio::test]
async fn samba_with_smb1_and_optional_signing() {
    let peer = start_samba(
        lab_ip(71),
        &SambaConfig {
            smb1: true,
            signing_required: false,
            netbios_name: "XRAYNAS".into(),
            workgroup: "CLINICLAB".into(),
            shares: Vec::new(),
        },
    );
    let obs = (PROBE.run)(ProbeContext::new(peer.addr))
        .await
        .expect("probe real smbd");
    assert_eq!(obs.protocol, "smb");
    assert_eq!(attr(&obs, "smb1"), "true");
    assert_eq!(attr(&obs, "smb2_dialect"), "3.1.1");
    assert_eq!(attr(&obs, "signing"), "enabled");
    // The NTLM challenge names the server; the SMB1 negotiate response names its workgroup.
    assert_eq!(attr(&obs, "netbios_name"), "XRAYNAS");
    assert_eq!(attr(&obs, "workgroup"), "CLINICLAB");
    // The host name comes from the challenge's DNS computer name (the machine's own name).
    assert_eq!(obs.hostname.as_deref(), Some(attr(&obs, "dns_name")));
    assert!(attr(&obs, "system_time").starts_with("20"));
    assert_eq!(ids(&obs), vec!["smbv1-enabled", "smb-signing-not-required"]);

    // The same server over the NetBIOS session service (port 139, RFC 1002 session first).
    let nbss = std::net::SocketAddr::new(peer.ip(), 139);
    let obs139 = (PROBE.run)(ProbeContext::new(nbss))
        .await
        .expect("probe real smbd on 139");
    assert_eq!(attr(&obs139, "smb1"), "true");
    assert_eq!(attr(&obs139, "server_guid"), attr(&obs, "server_guid"));
    assert_eq!(ids(&obs139), ids(&obs));
}

#[tokio::test]
async fn samba_without_smb1_and_with_mandatory_signing() {
    let peer = start_samba(
        lab_ip(72),
        &SambaConfig {
            smb1: false,
            signing_required: true,
            netbios_name: "PACSNAS".into(),
            workgroup: "CLINICLAB".into(),
            shares: Vec::new(),
        },
    );
    let obs = (PROBE.run)(ProbeContext::new(peer.addr))
        .await
        .expect("probe real smbd");
    assert_eq!(attr(&obs, "smb1"), "false");
    assert_eq!(attr(&obs, "signing"), "required");
    assert_eq!(attr(&obs, "netbios_name"), "PACSNAS");
    assert!(
        !obs.attributes.contains_key("workgroup"),
        "no SMB1 reply to read it from"
    );
    assert!(obs.findings.is_empty(), "{:?}", obs.findings);
}
