//! A simulated VNC server (RFC 6143): sends its ProtocolVersion, reads the client's, offers its
//! security types, reads the client's choice and closes. It never serves a framebuffer.

use crate::probes::vnc::{
    SEC_VENCRYPT, Security, parse_version, security_message, vencrypt_subtypes_message,
    version_message,
};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;

/// What the simulated VNC server offers.
#[derive(Debug, Clone)]
pub struct VncPersona {
    /// RFB version announced, e.g. `(3, 8)`.
    pub version: (u16, u16),
    /// Security types offered (1 = None, 2 = VNC Authentication, 19 = VeNCrypt, ...).
    pub security_types: Vec<u8>,
    /// VeNCrypt sub-types offered when the client picks type 19 (257 = TLSNone, 262 = X509Plain...).
    pub vencrypt_subtypes: Vec<u32>,
}

impl Default for VncPersona {
    /// An imaging workstation's remote-support VNC without a password.
    fn default() -> Self {
        VncPersona {
            version: (3, 8),
            security_types: vec![1],
            vencrypt_subtypes: Vec::new(),
        }
    }
}

/// Serve connections until the listener fails.
pub async fn serve(listener: TcpListener, persona: VncPersona) {
    while let Ok((stream, _)) = listener.accept().await {
        let p = persona.clone();
        tokio::spawn(async move {
            let _ = timeout(Duration::from_secs(10), session(stream, p)).await;
        });
    }
}

async fn session(mut s: TcpStream, p: VncPersona) -> std::io::Result<()> {
    s.write_all(&version_message(p.version.0, p.version.1))
        .await?;
    let mut v = [0u8; 12];
    s.read_exact(&mut v).await?;
    let Ok((_, minor)) = parse_version(&v) else {
        return Ok(());
    };
    let offer = if p.security_types.is_empty() {
        Security::Failure("no security types configured".into())
    } else {
        Security::Types(p.security_types.clone())
    };
    s.write_all(&security_message(&offer, minor)).await?;
    // Wait for the client's choice (or its departure); VeNCrypt lists its sub-types, then close.
    let mut choice = [0u8; 1];
    if s.read(&mut choice).await? == 1 && choice[0] == SEC_VENCRYPT && minor >= 7 {
        s.write_all(&[0, 2]).await?;
        let mut v = [0u8; 2];
        s.read_exact(&mut v).await?;
        if v == [0, 2] {
            s.write_all(&vencrypt_subtypes_message(&p.vencrypt_subtypes))
                .await?;
            let _ = s.read(&mut v).await?;
        } else {
            s.write_all(&[1]).await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::ProbeContext;
    use crate::probes::vnc::PROBE;

    fn ids(obs: &crate::Observation) -> Vec<&'static str> {
        obs.findings.iter().map(|f| f.id).collect()
    }

    async fn start(p: VncPersona) -> std::net::SocketAddr {
        let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = l.local_addr().expect("addr");
        tokio::spawn(serve(l, p));
        addr
    }

    #[tokio::test]
    async fn no_auth_is_a_finding() {
        let addr = start(VncPersona::default()).await;
        let obs = (PROBE.run)(ProbeContext::new(addr)).await.expect("probe");
        assert_eq!(obs.protocol, "vnc");
        assert_eq!(obs.attributes["rfb_version"], "3.8");
        assert_eq!(obs.attributes["security_types"], "None");
        assert_eq!(ids(&obs), vec!["vnc-no-auth"]);
    }

    #[tokio::test]
    async fn password_required_is_not_a_finding() {
        let addr = start(VncPersona {
            version: (3, 8),
            security_types: vec![16, 2],
            vencrypt_subtypes: Vec::new(),
        })
        .await;
        let obs = (PROBE.run)(ProbeContext::new(addr)).await.expect("probe");
        assert_eq!(
            obs.attributes["security_types"],
            "Tight, VNC Authentication"
        );
        assert_eq!(obs.product.as_deref(), Some("TightVNC"));
        assert_eq!(
            ids(&obs),
            vec!["vnc-weak-auth"],
            "a password, but only the DES one"
        );
    }

    #[tokio::test]
    async fn vencrypt_is_not_a_finding() {
        let addr = start(VncPersona {
            version: (3, 8),
            security_types: vec![19, 2],
            vencrypt_subtypes: vec![258, 262],
        })
        .await;
        let obs = (PROBE.run)(ProbeContext::new(addr)).await.expect("probe");
        assert_eq!(obs.attributes["security_type_ids"], "19,2");
        assert_eq!(obs.attributes["vencrypt_subtypes"], "TLSVnc, X509Plain");
        assert!(obs.findings.is_empty(), "{:?}", obs.findings);
    }

    #[tokio::test]
    async fn vencrypt_tls_without_password_is_a_finding() {
        let addr = start(VncPersona {
            version: (3, 8),
            security_types: vec![19],
            vencrypt_subtypes: vec![257],
        })
        .await;
        let obs = (PROBE.run)(ProbeContext::new(addr)).await.expect("probe");
        assert_eq!(obs.attributes["vencrypt_subtypes"], "TLSNone");
        assert_eq!(ids(&obs), vec!["vnc-no-auth"]);
    }

    #[tokio::test]
    async fn rfb_3_3_server_chooses_alone() {
        let addr = start(VncPersona {
            version: (3, 3),
            security_types: vec![1],
            vencrypt_subtypes: Vec::new(),
        })
        .await;
        let obs = (PROBE.run)(ProbeContext::new(addr)).await.expect("probe");
        assert_eq!(obs.attributes["rfb_version"], "3.3");
        assert_eq!(obs.findings[0].id, "vnc-no-auth");
    }

    #[tokio::test]
    async fn refusal_reason_is_kept() {
        let addr = start(VncPersona {
            version: (3, 8),
            security_types: vec![],
            vencrypt_subtypes: Vec::new(),
        })
        .await;
        let obs = (PROBE.run)(ProbeContext::new(addr)).await.expect("probe");
        assert_eq!(
            obs.attributes["failure_reason"],
            "no security types configured"
        );
        assert!(obs.findings.is_empty());
    }
}
