//! The probe interface: one read-only protocol handshake against one port.
//!
//! A probe connects, says as little as the protocol allows to make the peer identify itself, parses
//! the reply with a parser written from the protocol's specification, closes cleanly and returns an
//! [`Observation`]. Probes never write to a device and never create anything in a clinical system.
//! Every probe documents, in [`Probe::sends`], exactly what goes on the wire.

use medguard_model::Transport;
use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::time::Duration;

/// How much a probe asks of the device. The scheduler decides from the profile which levels run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Intrusiveness {
    /// Connects and reads what the service volunteers (a banner); sends nothing else.
    Passive,
    /// Sends one well-formed, read-only request the protocol defines for identification.
    Safe,
    /// Sends something a fragile device might act on (e.g. anything to raw print port 9100):
    /// skipped by `--profile gentle`.
    Payload,
    /// Only behind an explicit flag (e.g. default-credential checks).
    OptIn,
}

/// Everything a probe needs to know about its target.
#[derive(Debug, Clone)]
pub struct ProbeContext {
    pub addr: SocketAddr,
    /// Hostname if the target was given by name (used for TLS SNI and HTTP Host).
    pub hostname: Option<String>,
    /// Budget for one connect or one read.
    pub io_timeout: Duration,
    /// Budget for the whole probe; the scheduler also enforces it from outside.
    pub deadline: Duration,
    /// Upper bound on bytes read from the peer.
    pub max_reply: usize,
    /// The scan's rate limiter; [`crate::io::connect`] and [`crate::io::udp_exchange`] wait on it
    /// before every connection or datagram. `None` (the default) means unpaced, for unit tests.
    pub pacer: Option<std::sync::Arc<crate::rate::Pacer>>,
}

impl ProbeContext {
    pub fn new(addr: SocketAddr) -> Self {
        ProbeContext {
            addr,
            hostname: None,
            io_timeout: Duration::from_secs(2),
            deadline: Duration::from_secs(6),
            max_reply: 64 * 1024,
            pacer: None,
        }
    }

    /// Wait for the rate limiter, if the context has one.
    pub async fn pace(&self) {
        if let Some(p) = &self.pacer {
            p.wait().await;
        }
    }
}

/// A finding a probe observed; its title, explanation and fix come from the findings catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawFinding {
    /// Stable finding id from `data/findings.toml`, e.g. `dicom-any-ae-accepted`.
    pub id: &'static str,
    /// The technical evidence, one line.
    pub evidence: String,
}

/// What one probe learned about one port.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observation {
    /// The protocol proven by the handshake (`dicom`, `hl7`, `ssh`, ...).
    pub protocol: String,
    pub product: Option<String>,
    pub version: Option<String>,
    pub vendor: Option<String>,
    pub model: Option<String>,
    pub firmware: Option<String>,
    pub os: Option<String>,
    pub hostname: Option<String>,
    pub serial: Option<String>,
    /// The service greeting or the most identifying reply line, printable and capped.
    pub banner: Option<String>,
    /// Whether the service runs over TLS.
    pub tls: Option<bool>,
    /// Protocol-specific facts, keyed `snake_case` (`ae_title`, `implementation_class_uid`, ...).
    pub attributes: BTreeMap<String, String>,
    pub findings: Vec<RawFinding>,
}

impl Observation {
    pub fn new(protocol: &str) -> Self {
        Observation {
            protocol: protocol.to_string(),
            ..Observation::default()
        }
    }

    pub fn attr(&mut self, key: &str, value: impl Into<String>) -> &mut Self {
        self.attributes.insert(key.to_string(), value.into());
        self
    }

    pub fn finding(&mut self, id: &'static str, evidence: impl Into<String>) -> &mut Self {
        self.findings.push(RawFinding {
            id,
            evidence: evidence.into(),
        });
        self
    }
}

/// Why a probe did not produce an observation.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("connect to {addr}")]
    Connect {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("i/o with the peer")]
    Io(#[from] std::io::Error),
    #[error("the peer did not answer within {0:?}")]
    Timeout(Duration),
    #[error("the peer sent more than {0} bytes")]
    TooLarge(usize),
    /// The peer answered, but not in this protocol: the scheduler tries the next probe.
    #[error("not {protocol}: {reason}")]
    NotThisProtocol {
        protocol: &'static str,
        reason: String,
    },
    /// The peer speaks the protocol but sent a malformed message.
    #[error("malformed {protocol} reply: {reason}")]
    Malformed {
        protocol: &'static str,
        reason: String,
    },
}

pub type ProbeFuture = Pin<Box<dyn Future<Output = Result<Observation, ProbeError>> + Send>>;

/// One probe in the registry.
pub struct Probe {
    /// Short protocol name, also the `protocol` of a successful observation.
    pub name: &'static str,
    pub transport: Transport,
    /// Ports where this protocol is expected; the probe runs there first.
    pub ports: &'static [u16],
    pub intrusiveness: Intrusiveness,
    /// Whether this probe may also be tried on an open port that no port-specific probe identified.
    pub fallback: bool,
    /// Exactly what the probe sends, for the documentation and `medguard probes`.
    pub sends: &'static str,
    pub run: fn(ProbeContext) -> ProbeFuture,
}

impl std::fmt::Debug for Probe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Probe")
            .field("name", &self.name)
            .field("transport", &self.transport)
            .field("ports", &self.ports)
            .field("intrusiveness", &self.intrusiveness)
            .finish()
    }
}
