//! Simulated devices speaking the real protocols (server side), for `medguard demo` and tests.

pub mod bacnet;
pub mod dicom;
pub mod ftp;
pub mod hl7;
pub mod http;
pub mod ipp;
pub mod mdns;
pub mod modbus;
pub mod mqtt;
pub mod practice;
pub mod rdp;
pub mod rtsp;
pub mod smb;
pub mod snmp;
pub mod ssdp;
pub mod ssh;
pub mod telnet;
pub mod tls;
pub mod vnc;
