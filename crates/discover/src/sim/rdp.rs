//! A simulated RDP server: answers the X.224 Connection Request with a Connection Confirm chosen
//! from its configured security protocols ([MS-RDPBCGR] 3.3.5.3.1), then closes. It never starts
//! TLS or an MCS session.

use crate::probes::rdp::{
    HYBRID_REQUIRED_BY_SERVER, MAX_TPKT, Negotiation, PROTOCOL_HYBRID, PROTOCOL_RDP, PROTOCOL_SSL,
    SSL_NOT_ALLOWED_BY_SERVER, SSL_REQUIRED_BY_SERVER, connection_confirm, parse_request,
    tpkt_complete,
};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;

/// Which security protocols the simulated server allows.
#[derive(Debug, Clone)]
pub struct RdpPersona {
    /// Standard RDP security (no TLS, no NLA).
    pub rdp: bool,
    /// TLS without NLA.
    pub ssl: bool,
    /// CredSSP (NLA).
    pub hybrid: bool,
}

impl Default for RdpPersona {
    /// An older Windows host with "allow connections from any version of Remote Desktop".
    fn default() -> Self {
        RdpPersona {
            rdp: true,
            ssl: true,
            hybrid: true,
        }
    }
}

impl RdpPersona {
    /// The server's answer to a client requesting `requested` ([MS-RDPBCGR] 3.3.5.3.1).
    pub fn answer(&self, requested: u32) -> Negotiation {
        let selected = |protocol| Negotiation::Selected {
            protocol,
            flags: 0x01, // EXTENDED_CLIENT_DATA_SUPPORTED
        };
        if self.hybrid && requested & PROTOCOL_HYBRID != 0 {
            selected(PROTOCOL_HYBRID)
        } else if self.ssl && requested & PROTOCOL_SSL != 0 {
            if self.hybrid && !self.rdp {
                Negotiation::Failure {
                    code: HYBRID_REQUIRED_BY_SERVER,
                }
            } else {
                selected(PROTOCOL_SSL)
            }
        } else if self.rdp {
            if requested == PROTOCOL_RDP {
                selected(PROTOCOL_RDP)
            } else {
                Negotiation::Failure {
                    code: SSL_NOT_ALLOWED_BY_SERVER,
                }
            }
        } else if self.hybrid {
            Negotiation::Failure {
                code: HYBRID_REQUIRED_BY_SERVER,
            }
        } else {
            Negotiation::Failure {
                code: SSL_REQUIRED_BY_SERVER,
            }
        }
    }
}

/// Serve connections until the listener fails.
pub async fn serve(listener: TcpListener, persona: RdpPersona) {
    while let Ok((stream, _)) = listener.accept().await {
        let p = persona.clone();
        tokio::spawn(async move {
            let _ = timeout(Duration::from_secs(10), session(stream, p)).await;
        });
    }
}

async fn session(mut s: TcpStream, p: RdpPersona) -> std::io::Result<()> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    let n = loop {
        if let Some(n) = tpkt_complete(&buf) {
            break n;
        }
        let got = s.read(&mut chunk).await?;
        if got == 0 || buf.len() + got > MAX_TPKT {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..got]);
    };
    let Ok(requested) = parse_request(buf.get(..n).unwrap_or_default()) else {
        return Ok(());
    };
    s.write_all(&connection_confirm(p.answer(requested)))
        .await?;
    // The real server would now expect TLS or MCS; the simulator waits for the client to leave.
    while s.read(&mut chunk).await? > 0 {}
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::ProbeContext;
    use crate::probes::rdp::PROBE;

    fn ids(obs: &crate::Observation) -> Vec<&'static str> {
        obs.findings.iter().map(|f| f.id).collect()
    }

    async fn start(p: RdpPersona) -> std::net::SocketAddr {
        let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = l.local_addr().expect("addr");
        tokio::spawn(serve(l, p));
        addr
    }

    #[tokio::test]
    async fn nla_capable_but_legacy_allowed_is_a_finding() {
        let addr = start(RdpPersona::default()).await;
        let obs = (PROBE.run)(ProbeContext::new(addr)).await.expect("probe");
        assert_eq!(obs.protocol, "rdp");
        assert_eq!(obs.attributes["selected_protocol"], "hybrid");
        assert_eq!(obs.attributes["standard_rdp_security"], "accepted");
        assert_eq!(obs.attributes["nla"], "supported");
        assert_eq!(ids(&obs), vec!["rdp-exposed", "rdp-no-nla"]);
    }

    #[tokio::test]
    async fn tls_only_server_is_a_finding() {
        let addr = start(RdpPersona {
            rdp: false,
            ssl: true,
            hybrid: false,
        })
        .await;
        let obs = (PROBE.run)(ProbeContext::new(addr)).await.expect("probe");
        assert_eq!(obs.attributes["selected_protocol"], "ssl");
        assert_eq!(obs.attributes["standard_rdp_security"], "refused");
        assert_eq!(obs.attributes["failure"], "ssl-required-by-server");
        assert_eq!(obs.attributes["nla"], "not-supported");
        assert_eq!(ids(&obs), vec!["rdp-exposed", "rdp-no-nla"]);
    }

    #[tokio::test]
    async fn nla_required_is_not_a_finding() {
        let addr = start(RdpPersona {
            rdp: false,
            ssl: true,
            hybrid: true,
        })
        .await;
        let obs = (PROBE.run)(ProbeContext::new(addr)).await.expect("probe");
        assert_eq!(obs.attributes["nla"], "required");
        assert_eq!(obs.attributes["failure"], "hybrid-required-by-server");
        assert_eq!(ids(&obs), vec!["rdp-exposed"]);
    }
}
