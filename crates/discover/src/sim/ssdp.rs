//! A simulated UPnP device answering SSDP M-SEARCH requests.

use crate::probes::ssdp;
use tokio::net::UdpSocket;

/// The identity of a simulated UPnP device.
#[derive(Debug, Clone)]
pub struct SsdpPersona {
    /// `SERVER` header: "OS/version UPnP/1.0 product/version".
    pub server: String,
    /// `LOCATION` of the device description.
    pub location: String,
    /// Unique service name.
    pub usn: String,
}

impl Default for SsdpPersona {
    fn default() -> Self {
        SsdpPersona {
            server: "Linux/4.9 UPnP/1.0 IPCamera/5.5.3".into(),
            location: "http://127.0.0.1:8080/upnp/device.xml".into(),
            usn: "uuid:6d6f6465-6775-6172-6400-00000000cafe::upnp:rootdevice".into(),
        }
    }
}

/// Answer M-SEARCH requests on `socket` until the task is dropped.
pub async fn serve(socket: UdpSocket, persona: SsdpPersona) {
    let mut buf = vec![0u8; ssdp::MAX_RESPONSE];
    while let Ok((n, peer)) = socket.recv_from(&mut buf).await {
        if let Some(reply) = answer(&buf[..n], &persona) {
            let _ = socket.send_to(reply.as_bytes(), peer).await;
        }
    }
}

/// The device's reply to one datagram, if any: only `M-SEARCH` with `MAN: "ssdp:discover"`.
pub fn answer(datagram: &[u8], p: &SsdpPersona) -> Option<String> {
    let m = ssdp::parse_message(datagram).ok()?;
    if !m.start_line.starts_with("M-SEARCH") || m.header("man") != Some("\"ssdp:discover\"") {
        return None;
    }
    let st = match m.header("st")? {
        "ssdp:all" => "upnp:rootdevice",
        other => other,
    };
    Some(ssdp::search_response(&p.server, &p.location, st, &p.usn))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::ProbeContext;

    #[tokio::test]
    async fn probe_reads_server_and_location() {
        let s = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
        let addr = s.local_addr().expect("addr");
        tokio::spawn(serve(s, SsdpPersona::default()));
        let obs = (ssdp::PROBE.run)(ProbeContext::new(addr))
            .await
            .expect("probe");
        assert_eq!(obs.protocol, "ssdp");
        assert_eq!(obs.product.as_deref(), Some("IPCamera"));
        assert_eq!(obs.version.as_deref(), Some("5.5.3"));
        assert_eq!(obs.os.as_deref(), Some("Linux/4.9"));
        assert_eq!(
            obs.attributes["location"],
            "http://127.0.0.1:8080/upnp/device.xml"
        );
    }

    #[test]
    fn ignores_notify_and_other_requests() {
        let notify = b"NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nNTS: ssdp:alive\r\n\r\n";
        assert!(answer(notify, &SsdpPersona::default()).is_none());
    }
}
