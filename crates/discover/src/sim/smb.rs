//! A simulated SMB server: answers SMB1 NEGOTIATE (NT LM 0.12, when SMBv1 is on), SMB2 NEGOTIATE
//! and the first leg of an NTLMSSP SESSION_SETUP ([MS-SMB2], [MS-CIFS], [MS-NLMP]). Everything else
//! closes the connection; no session is ever established.

use crate::probes::smb::{
    NT_LM_012, NtlmInfo, POSITIVE_SESSION_RESPONSE, SESSION_REQUEST, SMB1_MAGIC,
    SMB1_SIGNATURES_ENABLED, SMB1_SIGNATURES_REQUIRED, SMB2_MAGIC, SMB2_NEGOTIATE,
    SMB2_SESSION_SETUP, SMB2_SIGNING_ENABLED, SMB2_SIGNING_REQUIRED, Smb2Negotiate, ntlm_challenge,
    parse_smb2_header, session_complete, smb1_negotiate_response, smb1_request_dialects,
    smb2_negotiate_response, smb2_request_dialects, smb2_security_buffer,
    smb2_session_setup_response, unframe,
};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;

/// Who the simulated SMB server claims to be.
#[derive(Debug, Clone)]
pub struct SmbPersona {
    /// Accept SMB1 (NT LM 0.12) negotiation.
    pub smb1: bool,
    /// Require message signing.
    pub signing_required: bool,
    /// Highest SMB2 dialect (e.g. `0x0311`).
    pub max_dialect: u16,
    pub server_guid: [u8; 16],
    /// NetBIOS domain/workgroup.
    pub domain: String,
    /// NetBIOS computer name.
    pub name: String,
    /// DNS computer name.
    pub dns_name: Option<String>,
    /// OS version in the NTLM challenge (major, minor, build).
    pub os_version: (u8, u8, u16),
}

impl Default for SmbPersona {
    fn default() -> Self {
        SmbPersona {
            smb1: true,
            signing_required: false,
            max_dialect: 0x0210,
            server_guid: *b"medguard-sim-smb",
            domain: "WORKGROUP".into(),
            name: "FRONTDESK-PC".into(),
            dns_name: Some("frontdesk-pc".into()),
            os_version: (6, 1, 7601),
        }
    }
}

/// Serve connections until the listener fails.
pub async fn serve(listener: TcpListener, persona: SmbPersona) {
    while let Ok((stream, _)) = listener.accept().await {
        let p = persona.clone();
        tokio::spawn(async move {
            let _ = timeout(Duration::from_secs(10), session(stream, p)).await;
        });
    }
}

/// FILETIME for "now".
fn now_filetime() -> u64 {
    let unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    (unix + 11_644_473_600) * 10_000_000
}

async fn read_frame(s: &mut TcpStream) -> std::io::Result<Option<Vec<u8>>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(n) = session_complete(&buf) {
            buf.truncate(n);
            return Ok(Some(buf));
        }
        let n = s.read(&mut chunk).await?;
        if n == 0 || buf.len() > 70_000 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

async fn session(mut s: TcpStream, p: SmbPersona) -> std::io::Result<()> {
    while let Some(buf) = read_frame(&mut s).await? {
        // NetBIOS session service (port 139): accept any called name (RFC 1002 §4.3.2).
        if buf.first() == Some(&SESSION_REQUEST) {
            s.write_all(&[POSITIVE_SESSION_RESPONSE, 0, 0, 0]).await?;
            continue;
        }
        let Ok(msg) = unframe(&buf) else {
            return Ok(());
        };
        let reply = if msg.starts_with(&SMB1_MAGIC) {
            let offered = smb1_request_dialects(msg).unwrap_or_default();
            if !p.smb1 || !offered.iter().any(|d| d == NT_LM_012) {
                return Ok(()); // SMB1 off: drop the connection, as Windows and Samba do.
            }
            let mode = 0x03
                | SMB1_SIGNATURES_ENABLED
                | if p.signing_required {
                    SMB1_SIGNATURES_REQUIRED
                } else {
                    0
                };
            smb1_negotiate_response(mode, now_filetime(), &p.domain, &p.name)
        } else if msg.starts_with(&SMB2_MAGIC) {
            let Ok(h) = parse_smb2_header(msg) else {
                return Ok(());
            };
            match h.command {
                SMB2_NEGOTIATE => {
                    let offered = smb2_request_dialects(msg).unwrap_or_default();
                    let Some(&dialect) = offered.iter().filter(|&&d| d <= p.max_dialect).max()
                    else {
                        return Ok(());
                    };
                    smb2_negotiate_response(&Smb2Negotiate {
                        security_mode: SMB2_SIGNING_ENABLED
                            | if p.signing_required {
                                SMB2_SIGNING_REQUIRED
                            } else {
                                0
                            },
                        dialect,
                        server_guid: p.server_guid,
                        capabilities: 0x07,
                        system_time: now_filetime(),
                    })
                }
                SMB2_SESSION_SETUP => {
                    let blob = smb2_security_buffer(msg).unwrap_or_default();
                    if !blob.starts_with(crate::probes::smb::NTLMSSP) {
                        return Ok(());
                    }
                    smb2_session_setup_response(&ntlm_challenge(&NtlmInfo {
                        target_name: Some(p.domain.clone()),
                        netbios_name: Some(p.name.clone()),
                        netbios_domain: Some(p.domain.clone()),
                        dns_name: p.dns_name.clone(),
                        dns_domain: None,
                        dns_forest: None,
                        version: Some(p.os_version),
                    }))
                }
                _ => return Ok(()),
            }
        } else {
            return Ok(());
        };
        s.write_all(&reply).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::ProbeContext;
    use crate::probes::smb::PROBE;

    async fn start(p: SmbPersona) -> std::net::SocketAddr {
        let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = l.local_addr().expect("addr");
        tokio::spawn(serve(l, p));
        addr
    }

    fn ids(obs: &crate::Observation) -> Vec<&'static str> {
        obs.findings.iter().map(|f| f.id).collect()
    }

    #[tokio::test]
    async fn old_windows_share_has_smb1_and_no_signing() {
        let addr = start(SmbPersona::default()).await;
        let obs = (PROBE.run)(ProbeContext::new(addr)).await.expect("probe");
        assert_eq!(obs.protocol, "smb");
        assert_eq!(obs.attributes["smb1"], "true");
        assert_eq!(obs.attributes["smb2_dialect"], "2.1");
        assert_eq!(obs.attributes["signing"], "enabled");
        assert_eq!(obs.attributes["netbios_name"], "FRONTDESK-PC");
        assert_eq!(obs.attributes["netbios_domain"], "WORKGROUP");
        assert_eq!(obs.attributes["workgroup"], "WORKGROUP");
        assert_eq!(
            obs.attributes["server_guid"],
            "6764656d-6175-6472-2d73-696d2d736d62"
        );
        assert!(obs.attributes["system_time"].starts_with("20"));
        assert_eq!(obs.hostname.as_deref(), Some("frontdesk-pc"));
        assert_eq!(
            obs.os.as_deref(),
            Some("Windows 7 / Server 2008 R2 (build 7601)")
        );
        assert_eq!(ids(&obs), vec!["smbv1-enabled", "smb-signing-not-required"]);
    }

    #[tokio::test]
    async fn smb1_only_device_is_read_from_the_smb1_reply() {
        // An old scanner or NAS without SMB2: it drops the SMB2 NEGOTIATE.
        let addr = start(SmbPersona {
            max_dialect: 0,
            signing_required: true,
            name: "SCANNER01".into(),
            ..SmbPersona::default()
        })
        .await;
        let obs = (PROBE.run)(ProbeContext::new(addr)).await.expect("probe");
        assert_eq!(obs.attributes["smb1"], "true");
        assert!(!obs.attributes.contains_key("smb2_dialect"));
        assert_eq!(obs.attributes["signing"], "required");
        assert_eq!(obs.attributes["netbios_name"], "SCANNER01");
        assert_eq!(obs.hostname.as_deref(), Some("SCANNER01"));
        assert_eq!(obs.banner.as_deref(), Some("SMB1 (NT LM 0.12) only"));
        assert_eq!(ids(&obs), vec!["smbv1-enabled"]);
    }

    #[tokio::test]
    async fn hardened_server_has_no_findings() {
        let addr = start(SmbPersona {
            smb1: false,
            signing_required: true,
            max_dialect: 0x0311,
            os_version: (10, 0, 20348),
            ..SmbPersona::default()
        })
        .await;
        let obs = (PROBE.run)(ProbeContext::new(addr)).await.expect("probe");
        assert_eq!(obs.attributes["smb1"], "false");
        assert_eq!(obs.attributes["smb2_dialect"], "3.1.1");
        assert_eq!(obs.attributes["signing"], "required");
        assert!(obs.findings.is_empty(), "{:?}", obs.findings);
    }
}
