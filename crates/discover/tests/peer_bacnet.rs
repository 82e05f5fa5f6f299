//! The BACnet probe against a real bacpypes3 BACnet/IP device started by the test.

use medguard_discover::ProbeContext;
use medguard_discover::probes::bacnet;
use medguard_lab::lab_ip;
use medguard_lab::pypeers::{BacnetDevice, start_bacpypes3};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bacpypes3_device_properties() {
    let peer = start_bacpypes3(
        lab_ip(73),
        &BacnetDevice {
            instance: 260_001,
            vendor_id: 999,
            object_name: "HVAC-Operatory-2".into(),
            vendor_name: "Lab Controls".into(),
            model_name: "LC-FX100".into(),
            firmware: "14.1.0".into(),
        },
    );
    let obs = (bacnet::PROBE.run)(ProbeContext::new(peer.addr))
        .await
        .expect("probe");
    assert_eq!(obs.protocol, "bacnet");
    assert_eq!(
        obs.attributes["device_instance"], "260001",
        "{:?}",
        obs.attributes
    );
    assert_eq!(
        obs.attributes.get("vendor_id").map(String::as_str),
        Some("999"),
        "I-Am answered"
    );
    assert_eq!(obs.vendor.as_deref(), Some("Lab Controls"));
    assert_eq!(obs.model.as_deref(), Some("LC-FX100"));
    assert_eq!(obs.firmware.as_deref(), Some("14.1.0"));
    assert_eq!(obs.attributes["object_name"], "HVAC-Operatory-2");
    let ids: Vec<_> = obs.findings.iter().map(|f| f.id).collect();
    assert_eq!(ids, ["bacnet-unauthenticated"]);
}
