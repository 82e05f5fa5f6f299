//! The DICOM probe against real DICOM nodes: dcmtk storescp (accepts any called AE), dcmtk
//! dcmqrscp (only its own AE) and Orthanc, each started by the test on a lab loopback address.

use medguard_discover::probes::dicom;
use medguard_discover::{Observation, ProbeContext};
use medguard_lab::dicom::{start_dcmqrscp, start_orthanc, start_storescp};
use medguard_lab::lab_ip;

fn ids(obs: &Observation) -> Vec<&str> {
    obs.findings.iter().map(|f| f.id).collect()
}

async fn run(addr: std::net::SocketAddr) -> Observation {
    (dicom::PROBE.run)(ProbeContext::new(addr))
        .await
        .unwrap_or_else(|e| panic!("dicom probe of {addr} failed: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storescp_accepts_any_called_ae() {
    let peer = start_storescp(lab_ip(41));
    let obs = run(peer.addr).await;
    assert_eq!(obs.protocol, "dicom");
    assert_eq!(obs.attributes["association"], "accepted");
    assert_eq!(obs.vendor.as_deref(), Some("OFFIS"));
    assert_eq!(obs.product.as_deref(), Some("DCMTK"));
    assert_eq!(
        obs.version.as_deref(),
        Some("3.6.7"),
        "{:?}",
        obs.attributes
    );
    assert!(
        obs.attributes["implementation_class_uid"].starts_with("1.2.276.0.7230010.3"),
        "{:?}",
        obs.attributes
    );
    assert_eq!(obs.attributes["echo_status"], "0x0000", "C-ECHO succeeded");
    assert_eq!(ids(&obs), ["dicom-any-ae-accepted", "dicom-unencrypted"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dcmqrscp_rejects_unknown_called_ae() {
    let peer = start_dcmqrscp(lab_ip(42), "LABPACS");
    let obs = run(peer.addr).await;
    assert_eq!(obs.protocol, "dicom");
    assert_eq!(
        obs.attributes["association"], "rejected",
        "{:?}",
        obs.attributes
    );
    assert_eq!(
        obs.attributes["reject_reason"], "7",
        "called AE title not recognized"
    );
    assert_eq!(ids(&obs), ["dicom-unencrypted"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orthanc_identifies_itself() {
    let open = start_orthanc(lab_ip(43), "ORTHANC", false);
    let obs = run(open.addr).await;
    assert_eq!(
        obs.attributes["association"], "accepted",
        "{:?}",
        obs.attributes
    );
    // Orthanc 1.10 is built on DCMTK's network layer and announces DCMTK's implementation class UID
    // and version name: the handshake proves a DCMTK-based node, the HTTP port (8042) says Orthanc.
    assert_eq!(
        obs.product.as_deref(),
        Some("DCMTK"),
        "{:?}",
        obs.attributes
    );
    assert!(obs.attributes["implementation_version_name"].starts_with("OFFIS_DCMTK"));
    assert_eq!(obs.attributes["echo_status"], "0x0000");
    assert_eq!(ids(&obs), ["dicom-any-ae-accepted", "dicom-unencrypted"]);
    drop(open);

    let strict = start_orthanc(lab_ip(44), "ORTHANC", true);
    let obs = run(strict.addr).await;
    assert_eq!(
        obs.attributes["association"], "rejected",
        "{:?}",
        obs.attributes
    );
    assert_eq!(ids(&obs), ["dicom-unencrypted"]);
}
