//! The SNMP probe against a real Net-SNMP agent started by the test.

use medguard_discover::ProbeContext;
use medguard_discover::probes::snmp;
use medguard_lab::lab_ip;
use medguard_lab::snmpd::{SnmpdConfig, start_snmpd};
use std::time::Duration;

fn config(community: &str) -> SnmpdConfig {
    SnmpdConfig {
        community: community.into(),
        sys_descr: "Linux xray-nas 6.1.0-lab #1 SMP x86_64".into(),
        sys_name: "xray-nas".into(),
        sys_object_id: ".1.3.6.1.4.1.8072.3.2.10".into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snmpd_with_public_community() {
    let peer = start_snmpd(lab_ip(61), &config("public"));
    let obs = (snmp::PROBE.run)(ProbeContext::new(peer.addr))
        .await
        .expect("probe");
    assert_eq!(obs.protocol, "snmp");
    assert_eq!(obs.attributes["snmp_version"], "v2c");
    assert_eq!(
        obs.attributes["sys_descr"],
        "Linux xray-nas 6.1.0-lab #1 SMP x86_64"
    );
    assert_eq!(obs.hostname.as_deref(), Some("xray-nas"));
    assert_eq!(obs.vendor.as_deref(), Some("Net-SNMP"));
    assert_eq!(obs.os.as_deref(), Some("Linux"));
    let ids: Vec<_> = obs.findings.iter().map(|f| f.id).collect();
    assert_eq!(ids, ["snmp-default-community"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snmpd_with_private_community_stays_silent() {
    let peer = start_snmpd(lab_ip(62), &config("k3y-clinic-ro"));
    let mut ctx = ProbeContext::new(peer.addr);
    ctx.io_timeout = Duration::from_millis(700);
    let r = (snmp::PROBE.run)(ctx).await;
    assert!(
        matches!(r, Err(medguard_discover::ProbeError::Timeout(_))),
        "{r:?}"
    );
}
