//! A simulated SSH server: sends its identification line (RFC 4253 §4.2), reads the client's, sends
//! a KEXINIT (§7.1) and waits for the client to go away. It never completes a key exchange.

use crate::probes::ssh::{KexInit, MAX_IDENT, build_kexinit_packet};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;

/// Who the simulated SSH server claims to be.
#[derive(Debug, Clone)]
pub struct SshPersona {
    /// The softwareversion field, e.g. `OpenSSH_7.4`.
    pub software: String,
    /// The comments field, e.g. `Debian-10+deb9u7`.
    pub comments: Option<String>,
    /// Key-exchange algorithms offered in KEXINIT.
    pub kex: Vec<String>,
    /// Ciphers offered in KEXINIT (both directions).
    pub ciphers: Vec<String>,
}

impl Default for SshPersona {
    fn default() -> Self {
        SshPersona {
            software: "OpenSSH_7.4".into(),
            comments: Some("Debian-10+deb9u7".into()),
            kex: vec![
                "curve25519-sha256".into(),
                "diffie-hellman-group1-sha1".into(),
            ],
            ciphers: vec!["aes128-ctr".into(), "3des-cbc".into()],
        }
    }
}

/// Serve connections until the listener fails.
pub async fn serve(listener: TcpListener, persona: SshPersona) {
    while let Ok((stream, _)) = listener.accept().await {
        let p = persona.clone();
        tokio::spawn(async move {
            let _ = timeout(Duration::from_secs(10), session(stream, p)).await;
        });
    }
}

async fn session(mut s: TcpStream, p: SshPersona) -> std::io::Result<()> {
    let line = match &p.comments {
        Some(c) => format!("SSH-2.0-{} {c}\r\n", p.software),
        None => format!("SSH-2.0-{}\r\n", p.software),
    };
    s.write_all(line.as_bytes()).await?;
    // The client's identification line, bounded.
    let mut got = Vec::new();
    let mut byte = [0u8; 1];
    while !got.ends_with(b"\n") {
        if got.len() >= MAX_IDENT || s.read(&mut byte).await? == 0 {
            return Ok(());
        }
        got.push(byte[0]);
    }
    let k = KexInit {
        cookie: [0x5a; 16],
        kex: p.kex.clone(),
        host_key: vec!["ssh-ed25519".into(), "rsa-sha2-256".into()],
        ciphers_c2s: p.ciphers.clone(),
        ciphers_s2c: p.ciphers.clone(),
        macs_c2s: vec!["hmac-sha2-256".into()],
        macs_s2c: vec!["hmac-sha2-256".into()],
        compression_c2s: vec!["none".into()],
        compression_s2c: vec!["none".into()],
        first_kex_follows: false,
    };
    s.write_all(&build_kexinit_packet(&k)).await?;
    // Drain until the client closes (bounded by the session timeout).
    let mut sink = [0u8; 1024];
    while s.read(&mut sink).await? > 0 {}
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::{ProbeContext, ProbeError};
    use crate::probes::ssh::PROBE;

    async fn start(p: SshPersona) -> std::net::SocketAddr {
        let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = l.local_addr().expect("addr");
        tokio::spawn(serve(l, p));
        addr
    }

    #[tokio::test]
    async fn probe_reads_identity_and_algorithms_from_sim() {
        let addr = start(SshPersona::default()).await;
        let obs = (PROBE.run)(ProbeContext::new(addr)).await.expect("probe");
        assert_eq!(obs.protocol, "ssh");
        assert_eq!(obs.product.as_deref(), Some("OpenSSH"));
        assert_eq!(obs.version.as_deref(), Some("7.4"));
        assert_eq!(obs.os.as_deref(), Some("Debian"));
        assert_eq!(obs.attributes["ciphers"], "aes128-ctr,3des-cbc");
        assert!(obs.attributes["kex_algorithms"].contains("diffie-hellman-group1-sha1"));
        assert!(obs.findings.is_empty());
    }

    #[tokio::test]
    async fn probe_reports_dropbear_without_comments() {
        let addr = start(SshPersona {
            software: "dropbear_2019.78".into(),
            comments: None,
            ..SshPersona::default()
        })
        .await;
        let obs = (PROBE.run)(ProbeContext::new(addr)).await.expect("probe");
        assert_eq!(obs.product.as_deref(), Some("Dropbear SSH"));
        assert_eq!(obs.version.as_deref(), Some("2019.78"));
        assert_eq!(obs.os, None);
        assert!(!obs.attributes.contains_key("comments"));
        assert_eq!(obs.findings.len(), 1);
        assert_eq!(obs.findings[0].id, "ssh-legacy");
    }

    #[tokio::test]
    async fn probe_says_not_ssh_to_an_ftp_greeting() {
        let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = l.local_addr().expect("addr");
        tokio::spawn(async move {
            while let Ok((mut s, _)) = l.accept().await {
                let _ = s.write_all(b"220 (vsFTPd 3.0.3)\r\n").await;
                tokio::time::sleep(Duration::from_secs(3)).await;
            }
        });
        let started = std::time::Instant::now();
        let r = (PROBE.run)(ProbeContext::new(addr)).await;
        assert!(
            matches!(r, Err(ProbeError::NotThisProtocol { .. })),
            "{r:?}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "decided without waiting"
        );
    }
}
