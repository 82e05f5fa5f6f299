//! medguard-phi
