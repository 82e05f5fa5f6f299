//! Network discovery for practice networks: targets and scope, host discovery, port scanning, and
//! identification by real protocol handshakes (one module per protocol under [`probes`]).

pub mod io;
pub mod probe;
pub mod probes;
pub mod sim;

pub use probe::{Intrusiveness, Observation, Probe, ProbeContext, ProbeError, RawFinding};
