//! A simulated Modbus/TCP device (a fridge or HVAC monitor): answers Read Device Identification
//! (function 43/14) and refuses every other function with exception 01 (illegal function).

use crate::probes::modbus::{self, DeviceId, FC_MEI, MEI_READ_DEVICE_ID};
use std::net::IpAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;

/// The identity and policy of a simulated Modbus device.
#[derive(Debug, Clone)]
pub struct ModbusPersona {
    pub vendor_name: String,
    pub product_code: String,
    pub revision: String,
    pub vendor_url: String,
    pub product_name: String,
    pub model_name: String,
    /// When set, connections from other client addresses are closed at once (the IP allow-list
    /// that Modbus devices offer in place of authentication).
    pub allowed_clients: Option<Vec<IpAddr>>,
}

impl Default for ModbusPersona {
    fn default() -> Self {
        ModbusPersona {
            vendor_name: "Dickson".into(),
            product_code: "DWE2".into(),
            revision: "3.1".into(),
            vendor_url: "https://www.dicksondata.com".into(),
            product_name: "Vaccine fridge monitor".into(),
            model_name: "DWE2-LAN".into(),
            allowed_clients: None,
        }
    }
}

/// Serve Modbus/TCP on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, persona: ModbusPersona) {
    while let Ok((stream, peer)) = listener.accept().await {
        if let Some(allowed) = &persona.allowed_clients
            && !allowed.contains(&peer.ip())
        {
            drop(stream);
            continue;
        }
        let persona = persona.clone();
        tokio::spawn(async move {
            let _ = timeout(Duration::from_secs(30), session(stream, &persona)).await;
        });
    }
}

fn objects(p: &ModbusPersona, read_code: u8) -> Vec<(u8, String)> {
    let all = [
        &p.vendor_name,
        &p.product_code,
        &p.revision,
        &p.vendor_url,
        &p.product_name,
        &p.model_name,
    ];
    let range = if read_code == 1 { 0..3 } else { 0..6 };
    range.map(|i| (i as u8, all[i].clone())).collect()
}

async fn session(mut s: TcpStream, p: &ModbusPersona) -> Option<()> {
    loop {
        let mut header = [0u8; 7];
        timeout(Duration::from_secs(10), s.read_exact(&mut header))
            .await
            .ok()?
            .ok()?;
        let len = u16::from_be_bytes([header[4], header[5]]) as usize;
        if !(2..=modbus::MAX_ADU - 6).contains(&len) {
            return None;
        }
        let mut pdu = vec![0u8; len - 1];
        timeout(Duration::from_secs(10), s.read_exact(&mut pdu))
            .await
            .ok()?
            .ok()?;
        let transaction = u16::from_be_bytes([header[0], header[1]]);
        let reply = match pdu.as_slice() {
            [FC_MEI, MEI_READ_DEVICE_ID, code @ 1..=4, object] => {
                let mut objs = objects(p, if *code == 1 { 1 } else { 2 });
                if *code == 4 {
                    objs.retain(|(o, _)| o == object);
                } else {
                    objs.retain(|(o, _)| o >= object);
                }
                if objs.is_empty() {
                    vec![FC_MEI | 0x80, 0x02] // illegal data address
                } else {
                    modbus::encode_reply(&DeviceId {
                        read_code: *code,
                        conformity_level: 0x82,
                        more_follows: false,
                        next_object: 0,
                        objects: objs,
                    })
                }
            }
            [FC_MEI, ..] => vec![FC_MEI | 0x80, 0x03], // illegal data value
            [f, ..] => vec![f | 0x80, 0x01],           // illegal function
            [] => return None,
        };
        s.write_all(&modbus::encode_adu(transaction, header[6], &reply))
            .await
            .ok()?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::ProbeContext;

    async fn start(p: ModbusPersona) -> std::net::SocketAddr {
        let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = l.local_addr().expect("addr");
        tokio::spawn(serve(l, p));
        addr
    }

    #[tokio::test]
    async fn probe_reads_basic_and_regular_identity() {
        let addr = start(ModbusPersona::default()).await;
        let obs = (modbus::PROBE.run)(ProbeContext::new(addr))
            .await
            .expect("probe");
        assert_eq!(obs.protocol, "modbus");
        assert_eq!(obs.vendor.as_deref(), Some("Dickson"));
        assert_eq!(obs.version.as_deref(), Some("3.1"));
        assert_eq!(
            obs.model.as_deref(),
            Some("DWE2-LAN"),
            "regular category read"
        );
        assert_eq!(obs.attributes["vendor_url"], "https://www.dicksondata.com");
        let ids: Vec<_> = obs.findings.iter().map(|f| f.id).collect();
        assert_eq!(ids, ["modbus-unauthenticated"]);
    }

    #[tokio::test]
    async fn allow_listed_device_gives_no_finding() {
        let addr = start(ModbusPersona {
            allowed_clients: Some(vec!["127.9.9.9".parse().expect("ip")]),
            ..ModbusPersona::default()
        })
        .await;
        let r = (modbus::PROBE.run)(ProbeContext::new(addr)).await;
        assert!(r.is_err(), "{r:?}");
    }
}
