//! A simulated HL7 v2 interface engine over MLLP: acknowledges messages of the types it handles
//! (`AA`), rejects others (`AR`), and can drop connections from senders it does not know.

use crate::probes::hl7;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;

/// The identity and policy of a simulated HL7 interface.
#[derive(Debug, Clone)]
pub struct Hl7Persona {
    /// MSH-3 of its acknowledgements.
    pub sending_application: String,
    /// MSH-4 of its acknowledgements.
    pub sending_facility: String,
    /// MSH-12 of its acknowledgements.
    pub version: String,
    /// Message types (MSH-9 first component) it accepts; others are rejected with `AR`.
    pub accepted_types: Vec<String>,
    /// When set, only these sending applications (MSH-3) get an answer; others are disconnected
    /// silently, as an engine with a sender allow-list does.
    pub allowed_senders: Option<Vec<String>>,
}

impl Default for Hl7Persona {
    fn default() -> Self {
        Hl7Persona {
            sending_application: "LABIF".into(),
            sending_facility: "SMILE-DENTAL".into(),
            version: "2.5.1".into(),
            accepted_types: vec!["ADT".into(), "ORM".into(), "ORU".into()],
            allowed_senders: None,
        }
    }
}

/// Serve MLLP connections on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, persona: Hl7Persona) {
    while let Ok((stream, _)) = listener.accept().await {
        let persona = persona.clone();
        tokio::spawn(async move {
            let _ = timeout(Duration::from_secs(30), session(stream, &persona)).await;
        });
    }
}

async fn session(mut s: TcpStream, p: &Hl7Persona) -> Option<()> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        while let Some(n) = hl7::mllp_frame_len(&buf) {
            let block: Vec<u8> = buf.drain(..n).collect();
            let msg = hl7::parse_message(hl7::unframe(&block)).ok()?;
            let sender = msg.msh(3).unwrap_or("").split('^').next().unwrap_or("");
            if let Some(allowed) = &p.allowed_senders
                && !allowed.iter().any(|a| a == sender)
            {
                let _ = s.shutdown().await;
                return None;
            }
            let ty = msg.msh(9).unwrap_or("").split('^').next().unwrap_or("");
            let (code, text) = if p.accepted_types.iter().any(|t| t == ty) {
                ("AA", "message accepted")
            } else {
                ("AR", "unsupported message type")
            };
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            let ack = hl7::build_ack(
                &msg,
                code,
                &p.sending_application,
                &p.sending_facility,
                &p.version,
                text,
                now,
            );
            s.write_all(&hl7::frame(ack.as_bytes())).await.ok()?;
        }
        // Garbage before a start block, or an oversized message: drop the connection.
        if buf.first().is_some_and(|&c| c != hl7::SB) || buf.len() > hl7::MAX_MESSAGE {
            return None;
        }
        let n = timeout(Duration::from_secs(10), s.read(&mut chunk))
            .await
            .ok()?
            .ok()?;
        if n == 0 {
            return Some(());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::ProbeContext;
    use std::time::Duration;

    async fn start(p: Hl7Persona) -> std::net::SocketAddr {
        let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = l.local_addr().expect("addr");
        tokio::spawn(serve(l, p));
        addr
    }

    #[tokio::test]
    async fn probe_against_open_interface() {
        let addr = start(Hl7Persona::default()).await;
        let obs = (hl7::PROBE.run)(ProbeContext::new(addr))
            .await
            .expect("probe");
        assert_eq!(obs.protocol, "hl7");
        assert_eq!(obs.attributes["ack_code"], "AR", "ZZZ must be rejected");
        assert_eq!(obs.attributes["sending_application"], "LABIF");
        assert_eq!(obs.attributes["sending_facility"], "SMILE-DENTAL");
        assert_eq!(obs.attributes["hl7_version"], "2.5.1");
        let ids: Vec<_> = obs.findings.iter().map(|f| f.id).collect();
        assert_eq!(ids, ["hl7-unauthenticated"]);
    }

    #[tokio::test]
    async fn probe_against_allow_listed_interface() {
        let addr = start(Hl7Persona {
            allowed_senders: Some(vec!["EHR".into()]),
            ..Hl7Persona::default()
        })
        .await;
        let mut ctx = ProbeContext::new(addr);
        ctx.io_timeout = Duration::from_millis(500);
        let r = (hl7::PROBE.run)(ctx).await;
        assert!(
            r.is_err(),
            "a silent interface yields no observation: {r:?}"
        );
    }
}
