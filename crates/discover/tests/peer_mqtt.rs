//! The MQTT probe against real Mosquitto brokers started by the test: one allowing anonymous
//! clients, one refusing them.

use medguard_discover::ProbeContext;
use medguard_discover::probes::mqtt;
use medguard_lab::lab_ip;
use medguard_lab::mosquitto::start_mosquitto;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_mosquitto_is_flagged_and_named() {
    let peer = start_mosquitto(lab_ip(51), true);
    let obs = (mqtt::PROBE.run)(ProbeContext::new(peer.addr))
        .await
        .expect("probe");
    assert_eq!(obs.protocol, "mqtt");
    assert_eq!(obs.attributes["connack_code"], "0");
    assert_eq!(
        obs.product.as_deref(),
        Some("mosquitto"),
        "{:?}",
        obs.attributes
    );
    let version = std::process::Command::new("mosquitto")
        .arg("-h")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    let want = obs.version.clone().unwrap_or_default();
    assert!(
        !want.is_empty() && version.contains(&want),
        "{want} not in {version}"
    );
    let ids: Vec<_> = obs.findings.iter().map(|f| f.id).collect();
    assert_eq!(ids, ["mqtt-anonymous"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mosquitto_requiring_credentials_is_not_flagged() {
    let peer = start_mosquitto(lab_ip(52), false);
    let obs = (mqtt::PROBE.run)(ProbeContext::new(peer.addr))
        .await
        .expect("probe");
    assert_eq!(obs.protocol, "mqtt");
    assert_eq!(
        obs.attributes["auth_required"], "true",
        "{:?}",
        obs.attributes
    );
    assert!(obs.findings.is_empty(), "{:?}", obs.findings);
}
