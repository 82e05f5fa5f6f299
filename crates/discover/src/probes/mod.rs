//! One module per protocol. Each exposes `pub static PROBE: Probe` and its wire-format parser; the
//! registry below lists them in the order the scheduler tries them on a port.

use crate::probe::Probe;

/// Every probe medguard knows, in trial order.
pub fn registry() -> &'static [&'static Probe] {
    &[]
}
