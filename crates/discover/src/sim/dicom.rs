//! A simulated DICOM node (server side of PS3.8): association negotiation for Verification,
//! C-ECHO, release. Used by the demo practice and by tests.

use crate::probes::dicom::{
    self, Associate, Pdu, PresentationContext, Reject, VERIFICATION_SOP_CLASS, pdu_type, tag,
};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;

/// The identity and policy of a simulated DICOM node.
#[derive(Debug, Clone)]
pub struct DicomPersona {
    /// The node's own AE title.
    pub ae_title: String,
    /// Accept associations addressed to any called AE title (the insecure default of many nodes).
    pub accept_any_ae: bool,
    pub implementation_class_uid: String,
    pub implementation_version_name: String,
    pub max_pdu_length: u32,
}

impl Default for DicomPersona {
    fn default() -> Self {
        DicomPersona {
            ae_title: "PACS".into(),
            accept_any_ae: true,
            implementation_class_uid: "1.2.276.0.7230010.3.0.3.6.7".into(),
            implementation_version_name: "OFFIS_DCMTK_367".into(),
            max_pdu_length: 16384,
        }
    }
}

/// Serve DICOM associations on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, persona: DicomPersona) {
    while let Ok((stream, _)) = listener.accept().await {
        let persona = persona.clone();
        tokio::spawn(async move {
            let _ = timeout(Duration::from_secs(30), session(stream, &persona)).await;
        });
    }
}

async fn read_pdu(s: &mut TcpStream) -> Option<Vec<u8>> {
    let mut header = [0u8; 6];
    timeout(Duration::from_secs(10), s.read_exact(&mut header))
        .await
        .ok()?
        .ok()?;
    let total = dicom::declared_len(&header)?;
    if total > dicom::MAX_PDU {
        return None;
    }
    let mut buf = header.to_vec();
    buf.resize(total, 0);
    timeout(Duration::from_secs(10), s.read_exact(&mut buf[6..]))
        .await
        .ok()?
        .ok()?;
    Some(buf)
}

async fn session(mut s: TcpStream, p: &DicomPersona) -> Option<()> {
    let first = read_pdu(&mut s).await?;
    let Ok(Pdu::AssociateRq(rq)) = dicom::parse_pdu(&first) else {
        // PS3.8 §9.3.8: answer an unexpected PDU with A-ABORT (service-provider, unexpected PDU).
        s.write_all(&[pdu_type::ABORT, 0, 0, 0, 0, 4, 0, 0, 2, 2])
            .await
            .ok()?;
        return None;
    };
    if !p.accept_any_ae && rq.called_ae != p.ae_title {
        let rj = Reject {
            result: 1,
            source: 1,
            reason: 7,
        };
        s.write_all(&dicom::encode_reject(rj)).await.ok()?;
        return None;
    }
    let contexts = rq
        .contexts
        .iter()
        .map(|pc| {
            let supported = pc.abstract_syntax.as_deref() == Some(VERIFICATION_SOP_CLASS);
            let ts = pc
                .transfer_syntaxes
                .iter()
                .find(|t| t.as_str() == dicom::IMPLICIT_VR_LE);
            PresentationContext {
                id: pc.id,
                // 0 acceptance, 3 abstract syntax not supported, 4 transfer syntaxes not supported
                result: match (supported, ts) {
                    (true, Some(_)) => 0,
                    (false, _) => 3,
                    (true, None) => 4,
                },
                abstract_syntax: None,
                transfer_syntaxes: vec![dicom::IMPLICIT_VR_LE.into()],
            }
        })
        .collect();
    let ac = Associate {
        called_ae: rq.called_ae.clone(),
        calling_ae: rq.calling_ae.clone(),
        application_context: Some(dicom::APPLICATION_CONTEXT.into()),
        contexts,
        max_pdu_length: Some(p.max_pdu_length),
        implementation_class_uid: Some(p.implementation_class_uid.clone()),
        implementation_version_name: Some(p.implementation_version_name.clone()),
    };
    s.write_all(&dicom::encode_associate(&ac, true))
        .await
        .ok()?;
    loop {
        let pdu = read_pdu(&mut s).await?;
        match dicom::parse_pdu(&pdu).ok()? {
            Pdu::PData(pdvs) => {
                for (pc, control, data) in pdvs {
                    if control & 1 == 0 {
                        continue; // a data set: Verification has none
                    }
                    let cmd = dicom::parse_command(&data).ok()?;
                    if dicom::command_us(&cmd, tag::COMMAND_FIELD) == Some(0x0030) {
                        let id = dicom::command_us(&cmd, tag::MESSAGE_ID).unwrap_or(0);
                        let rsp = dicom::c_echo_rsp(id, 0);
                        s.write_all(&dicom::encode_command_pdata(pc, &rsp))
                            .await
                            .ok()?;
                    }
                }
            }
            Pdu::ReleaseRq => {
                s.write_all(&dicom::encode_release(true)).await.ok()?;
                let _ = s.shutdown().await;
                return Some(());
            }
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::ProbeContext;

    async fn start(p: DicomPersona) -> std::net::SocketAddr {
        let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = l.local_addr().expect("addr");
        tokio::spawn(serve(l, p));
        addr
    }

    fn ids(obs: &crate::Observation) -> Vec<&str> {
        obs.findings.iter().map(|f| f.id).collect()
    }

    #[tokio::test]
    async fn probe_against_open_node() {
        let addr = start(DicomPersona::default()).await;
        let obs = (dicom::PROBE.run)(ProbeContext::new(addr))
            .await
            .expect("probe");
        assert_eq!(obs.protocol, "dicom");
        assert_eq!(obs.product.as_deref(), Some("DCMTK"));
        assert_eq!(obs.version.as_deref(), Some("3.6.7"));
        assert_eq!(
            obs.attributes.get("echo_status").map(String::as_str),
            Some("0x0000")
        );
        assert_eq!(
            obs.attributes.get("max_pdu_length").map(String::as_str),
            Some("16384")
        );
        assert_eq!(ids(&obs), ["dicom-any-ae-accepted", "dicom-unencrypted"]);
    }

    #[tokio::test]
    async fn probe_against_ae_checking_node() {
        let addr = start(DicomPersona {
            accept_any_ae: false,
            implementation_version_name: "ORTHANC_1_12".into(),
            ..DicomPersona::default()
        })
        .await;
        let obs = (dicom::PROBE.run)(ProbeContext::new(addr))
            .await
            .expect("probe");
        assert_eq!(
            obs.attributes.get("association").map(String::as_str),
            Some("rejected")
        );
        assert_eq!(
            obs.attributes.get("reject_reason").map(String::as_str),
            Some("7")
        );
        assert_eq!(ids(&obs), ["dicom-unencrypted"]);
    }

    /// A hostile peer: sends `head`, then drips one byte every 50 ms forever.
    async fn hostile(head: &'static [u8]) -> std::net::SocketAddr {
        let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = l.local_addr().expect("addr");
        tokio::spawn(async move {
            while let Ok((mut s, _)) = l.accept().await {
                tokio::spawn(async move {
                    let _ = s.write_all(head).await;
                    while s.write_all(b"\x00").await.is_ok() {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                });
            }
        });
        addr
    }

    /// Absurd lengths and slow drips end every TCP probe of this family with an error, in time.
    #[tokio::test]
    async fn tcp_probes_survive_hostile_peers() {
        use crate::probes::{hl7, modbus, mqtt};
        let cases: [(&crate::Probe, &'static [u8]); 8] = [
            (&dicom::PROBE, b"\x02\x00\xff\xff\xff\xff"), // A-ASSOCIATE-AC of 4 GiB
            (&dicom::PROBE, b"\x02\x00\x00\x00\x10\x00"), // 4 KiB promised, dripped
            (&hl7::PROBE, b"\x0bMSH|^~\\&|"),             // a frame that never ends
            (&hl7::PROBE, b"\x0bMSH|"),
            (&modbus::PROBE, b"\x4d\x48\x00\x00\xff\xff"), // MBAP length 65535
            (&modbus::PROBE, b"\x4d\x48\x00\x00\x00\x40\xff\x2b"), // 64 bytes promised, dripped
            (&mqtt::PROBE, b"\x20\xff\xff\xff\xff"),       // remaining length overflow
            (&mqtt::PROBE, b"\x20\x7f"),                   // 127 bytes promised, dripped
        ];
        for (probe, head) in cases {
            let addr = hostile(head).await;
            let mut ctx = ProbeContext::new(addr);
            ctx.io_timeout = Duration::from_millis(300);
            ctx.deadline = Duration::from_millis(900);
            let started = std::time::Instant::now();
            let r = (probe.run)(ctx).await;
            assert!(r.is_err(), "{}: {r:?}", probe.name);
            assert!(
                started.elapsed() < Duration::from_secs(3),
                "{} took {:?}",
                probe.name,
                started.elapsed()
            );
        }
    }

    /// Fallback guesses never send a byte to a raw print port (anything there may print).
    #[tokio::test]
    async fn tcp_probes_send_nothing_to_raw_print_ports() {
        use crate::probes::{hl7, modbus, mqtt};
        let l = TcpListener::bind("127.77.1.91:9100")
            .await
            .expect("bind 9100");
        let addr = l.local_addr().expect("addr");
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = l.accept().await {
                let mut b = [0u8; 64];
                let n = timeout(Duration::from_millis(500), s.read(&mut b)).await;
                let _ = tx.send(matches!(n, Ok(Ok(n)) if n > 0));
            }
        });
        for probe in [&dicom::PROBE, &hl7::PROBE, &modbus::PROBE, &mqtt::PROBE] {
            let r = (probe.run)(ProbeContext::new(addr)).await;
            assert!(
                matches!(r, Err(crate::ProbeError::NotThisProtocol { .. })),
                "{}: {r:?}",
                probe.name
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(
            rx.try_recv().is_err(),
            "a probe connected to the print port"
        );
    }

    #[tokio::test]
    async fn probe_rejects_other_protocols() {
        let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = l.local_addr().expect("addr");
        tokio::spawn(async move {
            while let Ok((mut s, _)) = l.accept().await {
                let _ = s.write_all(b"SSH-2.0-OpenSSH_9.2\r\n").await;
            }
        });
        let r = (dicom::PROBE.run)(ProbeContext::new(addr)).await;
        assert!(
            matches!(r, Err(crate::ProbeError::NotThisProtocol { .. })),
            "{r:?}"
        );
    }
}
