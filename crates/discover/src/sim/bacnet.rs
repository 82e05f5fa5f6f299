//! A simulated BACnet/IP device (a building controller): answers Who-Is with I-Am and
//! ReadProperty of its Device object; can be set to refuse reads, as a device behind BACnet
//! security would.

use crate::probes::bacnet::{self, Apdu, prop, service};
use tokio::net::UdpSocket;

/// The identity and policy of a simulated BACnet device.
#[derive(Debug, Clone)]
pub struct BacnetPersona {
    pub device_instance: u32,
    pub vendor_id: u32,
    pub vendor_name: String,
    pub model_name: String,
    pub firmware_revision: String,
    pub object_name: String,
    /// Answer Who-Is and ReadProperty from anyone (plain BACnet/IP). When false the device stays
    /// silent on Who-Is and refuses reads with Error(security, password-failure).
    pub open: bool,
}

impl Default for BacnetPersona {
    fn default() -> Self {
        BacnetPersona {
            device_instance: 260_001,
            vendor_id: 5,
            vendor_name: "Johnson Controls".into(),
            model_name: "FX-PCG2611".into(),
            firmware_revision: "14.1.0.1033".into(),
            object_name: "HVAC-Operatory-2".into(),
            open: true,
        }
    }
}

/// Answer BACnet/IP datagrams on `socket` until the task is dropped.
pub async fn serve(socket: UdpSocket, persona: BacnetPersona) {
    let mut buf = vec![0u8; bacnet::MAX_DATAGRAM];
    while let Ok((n, peer)) = socket.recv_from(&mut buf).await {
        if let Some(reply) = answer(&buf[..n], &persona) {
            let _ = socket.send_to(&reply, peer).await;
        }
    }
}

/// The device's reply to one datagram, if any.
pub fn answer(datagram: &[u8], p: &BacnetPersona) -> Option<Vec<u8>> {
    match bacnet::parse_datagram(datagram).ok()?? {
        Apdu::WhoIs if p.open => Some(bacnet::i_am(p.device_instance, 1476, 0, p.vendor_id)),
        Apdu::ReadProperty {
            invoke_id,
            object: (ty, inst),
            property,
        } => {
            if ty != bacnet::OBJECT_DEVICE
                || (inst != p.device_instance && inst != bacnet::WILDCARD_INSTANCE)
            {
                // error class object (1), unknown-object (31)
                return Some(bacnet::error_pdu(invoke_id, service::READ_PROPERTY, 1, 31));
            }
            if !p.open {
                // error class security (4), password-failure (26)
                return Some(bacnet::error_pdu(invoke_id, service::READ_PROPERTY, 4, 26));
            }
            let value = match property {
                prop::VENDOR_NAME => bacnet::encode_character_string(&p.vendor_name),
                prop::MODEL_NAME => bacnet::encode_character_string(&p.model_name),
                prop::FIRMWARE_REVISION => bacnet::encode_character_string(&p.firmware_revision),
                prop::OBJECT_NAME => bacnet::encode_character_string(&p.object_name),
                prop::OBJECT_IDENTIFIER => {
                    let mut v = vec![0xC4];
                    v.extend_from_slice(
                        &((bacnet::OBJECT_DEVICE << 22) | p.device_instance).to_be_bytes(),
                    );
                    v
                }
                // error class property (2), unknown-property (32)
                _ => return Some(bacnet::error_pdu(invoke_id, service::READ_PROPERTY, 2, 32)),
            };
            Some(bacnet::read_property_ack(
                invoke_id,
                p.device_instance,
                property,
                &value,
            ))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::ProbeContext;
    use std::time::Duration;

    async fn start(p: BacnetPersona) -> std::net::SocketAddr {
        let s = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
        let addr = s.local_addr().expect("addr");
        tokio::spawn(serve(s, p));
        addr
    }

    #[tokio::test]
    async fn open_controller() {
        let addr = start(BacnetPersona::default()).await;
        let obs = (bacnet::PROBE.run)(ProbeContext::new(addr))
            .await
            .expect("probe");
        assert_eq!(obs.protocol, "bacnet");
        assert_eq!(obs.vendor.as_deref(), Some("Johnson Controls"));
        assert_eq!(obs.model.as_deref(), Some("FX-PCG2611"));
        assert_eq!(obs.firmware.as_deref(), Some("14.1.0.1033"));
        assert_eq!(obs.attributes["device_instance"], "260001");
        assert_eq!(obs.attributes["vendor_id"], "5");
        assert_eq!(obs.attributes["object_name"], "HVAC-Operatory-2");
        let ids: Vec<_> = obs.findings.iter().map(|f| f.id).collect();
        assert_eq!(ids, ["bacnet-unauthenticated"]);
    }

    #[tokio::test]
    async fn secured_controller_gives_no_finding() {
        let addr = start(BacnetPersona {
            open: false,
            ..BacnetPersona::default()
        })
        .await;
        let mut ctx = ProbeContext::new(addr);
        ctx.io_timeout = Duration::from_millis(300);
        let obs = (bacnet::PROBE.run)(ctx).await.expect("probe");
        assert_eq!(obs.protocol, "bacnet");
        assert_eq!(obs.attributes["read_error"], "4/26");
        assert!(obs.findings.is_empty(), "{:?}", obs.findings);
    }
}
