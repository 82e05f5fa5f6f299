//! One module per protocol. Each exposes `pub static PROBE: Probe` and its wire-format parser; the
//! registry below lists them in the order the scheduler tries them on a port.

use crate::probe::Probe;

pub mod bacnet;
pub mod dicom;
pub mod ftp;
pub mod hl7;
pub mod http;
pub mod ipp;
pub mod mdns;
pub mod modbus;
pub mod mqtt;
pub mod rdp;
pub mod rtsp;
pub mod smb;
pub mod snmp;
pub mod ssdp;
pub mod ssh;
pub mod telnet;
pub mod tls;
pub mod vnc;

/// Every probe medguard knows, in trial order.
pub fn registry() -> &'static [&'static Probe] {
    REGISTRY
}

// A `static` (not a temporary) because references to statics are not promoted to `'static`.
static REGISTRY: &[&Probe] = &[
    &ssh::PROBE,
    &telnet::PROBE,
    &ftp::PROBE,
    &smb::PROBE,
    &vnc::PROBE,
    &rdp::PROBE,
    &dicom::PROBE,
    &ipp::PROBE,
    &rtsp::PROBE,
    &http::HTTPS_PROBE,
    &tls::PROBE,
    &http::PROBE,
    &hl7::PROBE,
    &modbus::PROBE,
    &mqtt::PROBE,
    &snmp::PROBE,
    &bacnet::PROBE,
    &mdns::PROBE,
    &ssdp::PROBE,
];
