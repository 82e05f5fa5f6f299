//! A simulated telnet server (RFC 854): asks for a few options, reads the answers, shows a banner
//! and a login prompt. It never accepts a login.

use crate::probes::telnet::{DO, OPT_ECHO, OPT_SGA, OPT_TTYPE, WILL, negotiation, parse};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;

/// What the simulated telnet service shows.
#[derive(Debug, Clone)]
pub struct TelnetPersona {
    /// Text before the prompt, e.g. `BusyBox v1.31.1 (2020-03-01) built-in shell`.
    pub banner: String,
    /// The prompt, e.g. `login: `.
    pub prompt: String,
    /// Whether the server opens with option negotiation (most do; some embedded ones don't).
    pub negotiate: bool,
}

impl Default for TelnetPersona {
    fn default() -> Self {
        TelnetPersona {
            banner: "Welcome to the X-ray room controller (BusyBox v1.31.1)".into(),
            prompt: "login: ".into(),
            negotiate: true,
        }
    }
}

/// Serve connections until the listener fails.
pub async fn serve(listener: TcpListener, persona: TelnetPersona) {
    while let Ok((stream, _)) = listener.accept().await {
        let p = persona.clone();
        tokio::spawn(async move {
            let _ = timeout(Duration::from_secs(10), session(stream, p)).await;
        });
    }
}

async fn session(mut s: TcpStream, p: TelnetPersona) -> std::io::Result<()> {
    let mut buf = [0u8; 512];
    if p.negotiate {
        let mut ask = Vec::new();
        ask.extend_from_slice(&negotiation(DO, OPT_TTYPE));
        ask.extend_from_slice(&negotiation(WILL, OPT_ECHO));
        ask.extend_from_slice(&negotiation(WILL, OPT_SGA));
        s.write_all(&ask).await?;
        // Wait (bounded) for the three answers, as telnetd does before starting login.
        let mut got = Vec::new();
        while got.len() < 9 {
            match timeout(Duration::from_secs(1), s.read(&mut buf)).await {
                Ok(Ok(n)) if n > 0 && got.len() < 4096 => got.extend_from_slice(&buf[..n]),
                _ => break,
            }
        }
        let answered = parse(&got).map(|p| p.negotiations.len()).unwrap_or(0);
        if answered < 3 {
            return Ok(());
        }
    }
    s.write_all(format!("{}\r\n\r\n{}", p.banner, p.prompt).as_bytes())
        .await?;
    while s.read(&mut buf).await? > 0 {}
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::{ProbeContext, ProbeError};
    use crate::probes::telnet::PROBE;

    async fn start(p: TelnetPersona) -> std::net::SocketAddr {
        let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = l.local_addr().expect("addr");
        tokio::spawn(serve(l, p));
        addr
    }

    #[tokio::test]
    async fn probe_refuses_options_and_reads_prompt() {
        let addr = start(TelnetPersona::default()).await;
        let obs = (PROBE.run)(ProbeContext::new(addr)).await.expect("probe");
        assert_eq!(obs.protocol, "telnet");
        assert_eq!(obs.attributes["login_prompt"], "true");
        assert_eq!(
            obs.attributes["negotiation"],
            "DO terminal-type, WILL echo, WILL suppress-go-ahead"
        );
        assert_eq!(obs.os.as_deref(), Some("BusyBox"));
        assert!(obs.banner.as_deref().unwrap_or("").contains("X-ray room"));
        assert_eq!(obs.findings.len(), 1);
        assert_eq!(obs.findings[0].id, "telnet-enabled");
    }

    #[tokio::test]
    async fn probe_accepts_plain_prompt_without_negotiation() {
        let addr = start(TelnetPersona {
            banner: "Fridge monitor".into(),
            prompt: "User Name: ".into(),
            negotiate: false,
        })
        .await;
        let obs = (PROBE.run)(ProbeContext::new(addr)).await.expect("probe");
        assert!(!obs.attributes.contains_key("negotiation"));
        assert_eq!(obs.findings[0].id, "telnet-enabled");
    }

    #[tokio::test]
    async fn probe_says_not_telnet_to_other_text_services() {
        let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = l.local_addr().expect("addr");
        tokio::spawn(async move {
            while let Ok((mut s, _)) = l.accept().await {
                let _ = s.write_all(b"SSH-2.0-OpenSSH_9.2p1\r\n").await;
                tokio::time::sleep(Duration::from_secs(3)).await;
            }
        });
        let r = (PROBE.run)(ProbeContext::new(addr)).await;
        assert!(
            matches!(r, Err(ProbeError::NotThisProtocol { .. })),
            "{r:?}"
        );
    }
}
