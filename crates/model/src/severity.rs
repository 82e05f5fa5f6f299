//! How urgent something is, shared by findings, alerts, vulnerabilities and risks.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Severity, ordered from least to most urgent so that `max()` and sorting work as expected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// Words for a practice manager.
    pub fn plain(self) -> &'static str {
        match self {
            Severity::Info => "For your information",
            Severity::Low => "Fix when convenient",
            Severity::Medium => "Fix this month",
            Severity::High => "Fix this week",
            Severity::Critical => "Fix today",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown severity {0:?} (expected info, low, medium, high or critical)")]
pub struct UnknownSeverity(pub String);

impl FromStr for Severity {
    type Err = UnknownSeverity;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "info" | "informational" => Ok(Severity::Info),
            "low" => Ok(Severity::Low),
            "medium" | "moderate" => Ok(Severity::Medium),
            "high" => Ok(Severity::High),
            "critical" => Ok(Severity::Critical),
            _ => Err(UnknownSeverity(s.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordering_and_round_trip() {
        assert!(Severity::Critical > Severity::High);
        assert!(Severity::Low > Severity::Info);
        for s in Severity::ALL {
            assert_eq!(s.as_str().parse::<Severity>().ok(), Some(s));
        }
        assert!("urgent".parse::<Severity>().is_err());
    }
}
