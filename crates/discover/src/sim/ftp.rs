//! A simulated FTP server (RFC 959): greeting, USER/PASS, QUIT; every other command is refused
//! (`502`). It never opens a data connection.

use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;

/// Who the simulated FTP server claims to be.
#[derive(Debug, Clone)]
pub struct FtpPersona {
    /// Greeting text after `220 `, e.g. `(vsFTPd 2.3.4)`.
    pub greeting: String,
    /// Whether `USER anonymous` with any password logs in.
    pub anonymous: bool,
}

impl Default for FtpPersona {
    fn default() -> Self {
        FtpPersona {
            greeting: "(vsFTPd 2.3.4)".into(),
            anonymous: true,
        }
    }
}

/// Serve connections until the listener fails.
pub async fn serve(listener: TcpListener, persona: FtpPersona) {
    while let Ok((stream, _)) = listener.accept().await {
        let p = persona.clone();
        tokio::spawn(async move {
            let _ = timeout(Duration::from_secs(30), session(stream, p)).await;
        });
    }
}

async fn session(mut s: TcpStream, p: FtpPersona) -> std::io::Result<()> {
    s.write_all(format!("220 {}\r\n", p.greeting).as_bytes())
        .await?;
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    let mut user: Option<String> = None;
    loop {
        line.clear();
        while !line.ends_with(b"\n") {
            if line.len() > 512 || s.read(&mut byte).await? == 0 {
                return Ok(());
            }
            line.push(byte[0]);
        }
        let text = String::from_utf8_lossy(&line).trim().to_string();
        let (verb, arg) = text.split_once(' ').unwrap_or((text.as_str(), ""));
        let reply = match verb.to_ascii_uppercase().as_str() {
            "USER" => {
                user = Some(arg.to_string());
                "331 Please specify the password.".to_string()
            }
            "PASS" => match &user {
                Some(u) if p.anonymous && (u == "anonymous" || u == "ftp") => {
                    "230 Login successful.".to_string()
                }
                Some(_) => "530 Login incorrect.".to_string(),
                None => "503 Login with USER first.".to_string(),
            },
            "QUIT" => {
                s.write_all(b"221 Goodbye.\r\n").await?;
                return Ok(());
            }
            _ => "502 Command not implemented.".to_string(),
        };
        s.write_all(format!("{reply}\r\n").as_bytes()).await?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::ProbeContext;
    use crate::probes::ftp::PROBE;

    fn ids(obs: &crate::Observation) -> Vec<&'static str> {
        obs.findings.iter().map(|f| f.id).collect()
    }

    async fn start(p: FtpPersona) -> std::net::SocketAddr {
        let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = l.local_addr().expect("addr");
        tokio::spawn(serve(l, p));
        addr
    }

    #[tokio::test]
    async fn anonymous_login_is_a_finding() {
        let addr = start(FtpPersona::default()).await;
        let obs = (PROBE.run)(ProbeContext::new(addr)).await.expect("probe");
        assert_eq!(obs.protocol, "ftp");
        assert_eq!(obs.product.as_deref(), Some("vsftpd"));
        assert_eq!(obs.version.as_deref(), Some("2.3.4"));
        assert_eq!(obs.attributes["anonymous"], "true");
        assert_eq!(ids(&obs), vec!["ftp-cleartext", "ftp-anonymous"]);
    }

    #[tokio::test]
    async fn refused_anonymous_login_is_not_a_finding() {
        let addr = start(FtpPersona {
            greeting: "ProFTPD 1.3.5 Server (Imaging archive)".into(),
            anonymous: false,
        })
        .await;
        let obs = (PROBE.run)(ProbeContext::new(addr)).await.expect("probe");
        assert_eq!(obs.product.as_deref(), Some("ProFTPD"));
        assert_eq!(obs.version.as_deref(), Some("1.3.5"));
        assert_eq!(obs.attributes["anonymous"], "false");
        assert!(obs.attributes["anonymous_reply"].starts_with("530"));
        assert_eq!(ids(&obs), vec!["ftp-cleartext"]);
    }
}
