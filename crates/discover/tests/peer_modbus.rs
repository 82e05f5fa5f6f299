//! The Modbus probe against a real pymodbus server with a device identity, started by the test.

use medguard_discover::ProbeContext;
use medguard_discover::probes::modbus;
use medguard_lab::lab_ip;
use medguard_lab::pypeers::{ModbusIdentity, start_pymodbus};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pymodbus_identity_basic_and_regular() {
    let peer = start_pymodbus(
        lab_ip(72),
        &ModbusIdentity {
            vendor_name: "Dickson".into(),
            product_code: "DWE2".into(),
            revision: "3.1".into(),
            vendor_url: "https://www.dicksondata.com".into(),
            product_name: "Vaccine fridge monitor".into(),
            model_name: "DWE2-LAN".into(),
        },
    );
    let obs = (modbus::PROBE.run)(ProbeContext::new(peer.addr))
        .await
        .expect("probe");
    assert_eq!(obs.protocol, "modbus");
    assert_eq!(
        obs.vendor.as_deref(),
        Some("Dickson"),
        "{:?}",
        obs.attributes
    );
    assert_eq!(obs.attributes["product_code"], "DWE2");
    assert_eq!(obs.version.as_deref(), Some("3.1"));
    // Regular-category objects come from the second request.
    assert_eq!(obs.attributes["vendor_url"], "https://www.dicksondata.com");
    assert_eq!(obs.product.as_deref(), Some("Vaccine fridge monitor"));
    assert_eq!(obs.model.as_deref(), Some("DWE2-LAN"));
    let ids: Vec<_> = obs.findings.iter().map(|f| f.id).collect();
    assert_eq!(ids, ["modbus-unauthenticated"]);
}
