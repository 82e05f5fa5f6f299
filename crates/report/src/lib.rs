//! medguard-report
