//! Network discovery for practice networks: targets and scope, host discovery, port scanning, and
//! identification by real protocol handshakes (one module per protocol under [`probes`]).

pub mod arp;
pub mod findings;
pub mod fingerprint;
pub mod icmp;
pub mod io;
pub mod nmap;
pub mod ports;
pub mod probe;
pub mod probes;
pub mod rate;
pub mod scan;
pub mod sim;
pub mod targets;

pub use probe::{Intrusiveness, Observation, Probe, ProbeContext, ProbeError, RawFinding};
