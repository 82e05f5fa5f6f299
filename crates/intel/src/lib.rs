//! medguard-intel
