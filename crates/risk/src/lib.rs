//! medguard-risk
