//! Devices on the network and what discovery learned about them.

use crate::Severity;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// What kind of device an asset is. The catalog in `data/fingerprints.toml` decides it from evidence.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "kebab-case")]
pub enum Category {
    Imaging,
    Pacs,
    Ehr,
    Hl7Interface,
    ClinicalDevice,
    BuildingAutomation,
    EnvironmentalMonitor,
    Camera,
    Printer,
    Storage,
    Workstation,
    Server,
    Network,
    Iot,
    #[default]
    Unknown,
}

impl Category {
    pub const ALL: [Category; 15] = [
        Category::Imaging,
        Category::Pacs,
        Category::Ehr,
        Category::Hl7Interface,
        Category::ClinicalDevice,
        Category::BuildingAutomation,
        Category::EnvironmentalMonitor,
        Category::Camera,
        Category::Printer,
        Category::Storage,
        Category::Workstation,
        Category::Server,
        Category::Network,
        Category::Iot,
        Category::Unknown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Category::Imaging => "imaging",
            Category::Pacs => "pacs",
            Category::Ehr => "ehr",
            Category::Hl7Interface => "hl7-interface",
            Category::ClinicalDevice => "clinical-device",
            Category::BuildingAutomation => "building-automation",
            Category::EnvironmentalMonitor => "environmental-monitor",
            Category::Camera => "camera",
            Category::Printer => "printer",
            Category::Storage => "storage",
            Category::Workstation => "workstation",
            Category::Server => "server",
            Category::Network => "network",
            Category::Iot => "iot",
            Category::Unknown => "unknown",
        }
    }

    /// A name a practice manager recognises.
    pub fn plain(self) -> &'static str {
        match self {
            Category::Imaging => "Imaging device (x-ray, scanner)",
            Category::Pacs => "Image archive (PACS)",
            Category::Ehr => "Patient records system (EHR)",
            Category::Hl7Interface => "Lab/records interface (HL7)",
            Category::ClinicalDevice => "Clinical device",
            Category::BuildingAutomation => "Building controls (heating, cooling)",
            Category::EnvironmentalMonitor => "Fridge / environment monitor",
            Category::Camera => "Camera",
            Category::Printer => "Printer / scanner",
            Category::Storage => "File storage (NAS)",
            Category::Workstation => "Computer",
            Category::Server => "Server",
            Category::Network => "Network equipment",
            Category::Iot => "Smart device",
            Category::Unknown => "Unidentified device",
        }
    }

    /// Devices whose failure touches patient care or patient data directly.
    pub fn is_clinical(self) -> bool {
        matches!(
            self,
            Category::Imaging
                | Category::Pacs
                | Category::Ehr
                | Category::Hl7Interface
                | Category::ClinicalDevice
                | Category::EnvironmentalMonitor
        )
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown device category {0:?}")]
pub struct UnknownCategory(pub String);

impl FromStr for Category {
    type Err = UnknownCategory;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Category::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| UnknownCategory(s.to_string()))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    Tcp,
    Udp,
}

impl Transport {
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Tcp => "tcp",
            Transport::Udp => "udp",
        }
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One open port and what answered on it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Service {
    pub port: u16,
    pub transport: Transport,
    /// Protocol identified by a handshake (`dicom`, `hl7`, `http`, ...), or `unknown`.
    pub protocol: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub banner: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<bool>,
    /// Protocol-specific facts (`ae_title`, `smb_signing`, `snmp_sysdescr`, ...).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
}

/// Something wrong with an asset, explained for the practice first and the technician second.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable identifier such as `telnet-enabled`; never renamed once released.
    pub id: String,
    pub severity: Severity,
    pub title: String,
    /// What it means for the practice, in plain words.
    pub explanation: String,
    /// How to fix it.
    pub fix: String,
    /// The technical evidence that decided it.
    pub evidence: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum HostStatus {
    /// Answered at least one probe.
    #[default]
    Up,
    /// Listed in the targets but answered nothing (filtered, off, or not there).
    NoResponse,
}

/// A device, keyed in the inventory by its stable identity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Asset {
    pub ip: Option<IpAddr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    pub status: HostStatus,
    pub category: Category,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firmware: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
    /// 0.0 to 1.0: how sure the classification is.
    pub confidence: f32,
    /// Why the classification was chosen (catalog rule id and the evidence it matched).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub classified_by: Vec<String>,
    pub services: Vec<Service>,
    pub findings: Vec<Finding>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_seen: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<DateTime<Utc>>,
}

impl Asset {
    /// The stable identity used to recognise this device across scans: MAC where known, else
    /// hostname, serial or a fingerprint of vendor/model, else the IP address.
    pub fn identity(&self) -> String {
        if let Some(mac) = &self.mac {
            return format!("mac:{}", mac.to_ascii_lowercase());
        }
        if let Some(serial) = &self.serial {
            return format!("serial:{serial}");
        }
        if let Some(host) = &self.hostname {
            return format!("host:{}", host.to_ascii_lowercase());
        }
        match self.ip {
            Some(ip) => format!("ip:{ip}"),
            None => "unknown".to_string(),
        }
    }

    /// The most urgent finding, if any.
    pub fn worst(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }

    /// A short name for people: hostname, else vendor and model, else the address.
    pub fn display_name(&self) -> String {
        if let Some(h) = &self.hostname {
            return h.clone();
        }
        match (&self.vendor, &self.model) {
            (Some(v), Some(m)) => format!("{v} {m}"),
            (Some(v), None) => v.clone(),
            (None, Some(m)) => m.clone(),
            (None, None) => self
                .ip
                .map(|ip| ip.to_string())
                .unwrap_or_else(|| "unknown device".to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn category_round_trip() {
        for c in Category::ALL {
            assert_eq!(c.as_str().parse::<Category>().ok(), Some(c));
            let json = serde_json::to_string(&c).expect("serialise");
            assert_eq!(json, format!("\"{}\"", c.as_str()));
        }
    }

    #[test]
    fn identity_prefers_mac_then_serial_then_host_then_ip() {
        let mut a = Asset {
            ip: Some("10.0.0.5".parse().expect("ip")),
            ..Asset::default()
        };
        assert_eq!(a.identity(), "ip:10.0.0.5");
        a.hostname = Some("XRAY-01".into());
        assert_eq!(a.identity(), "host:xray-01");
        a.serial = Some("SN1".into());
        assert_eq!(a.identity(), "serial:SN1");
        a.mac = Some("AA:BB:CC:00:11:22".into());
        assert_eq!(a.identity(), "mac:aa:bb:cc:00:11:22");
    }
}
