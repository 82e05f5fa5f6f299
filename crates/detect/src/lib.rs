//! medguard-detect
