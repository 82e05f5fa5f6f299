//! The HL7 probe against a real MLLP server (python `hl7` package) started by the test.

use medguard_discover::ProbeContext;
use medguard_discover::probes::hl7;
use medguard_lab::lab_ip;
use medguard_lab::pypeers::start_hl7_server;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_hl7_server_rejects_the_probe_message() {
    let peer = start_hl7_server(lab_ip(71), "LABIF", "SMILE-DENTAL");
    let obs = (hl7::PROBE.run)(ProbeContext::new(peer.addr))
        .await
        .expect("probe");
    assert_eq!(obs.protocol, "hl7");
    assert_eq!(obs.attributes["framing"], "mllp");
    assert_eq!(
        obs.attributes["ack_code"], "AR",
        "the ZZZ message must be rejected, not filed"
    );
    assert_eq!(obs.attributes["sending_application"], "LABIF");
    assert_eq!(obs.attributes["sending_facility"], "SMILE-DENTAL");
    assert_eq!(
        obs.attributes["hl7_version"], "2.5",
        "the ACK echoes our MSH-12"
    );
    let ids: Vec<_> = obs.findings.iter().map(|f| f.id).collect();
    assert_eq!(ids, ["hl7-unauthenticated"]);
}
