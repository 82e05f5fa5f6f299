//! A simulated SNMP v1/v2c agent: answers GetRequest for the system group when the community
//! matches, and stays silent otherwise (as real agents do).

use crate::probes::snmp::{self, Message, Value, tag};
use tokio::net::UdpSocket;

/// The identity and policy of a simulated SNMP agent.
#[derive(Debug, Clone)]
pub struct SnmpPersona {
    /// The read community the agent accepts.
    pub community: String,
    pub sys_descr: String,
    pub sys_object_id: Vec<u32>,
    pub sys_name: String,
}

impl Default for SnmpPersona {
    fn default() -> Self {
        SnmpPersona {
            community: "public".into(),
            sys_descr: "Brother NC-8300h, Firmware Ver.1.15".into(),
            sys_object_id: vec![1, 3, 6, 1, 4, 1, 2435, 2, 3, 9, 1],
            sys_name: "BRN001BA9".into(),
        }
    }
}

/// Answer SNMP requests on `socket` until the task is dropped.
pub async fn serve(socket: UdpSocket, persona: SnmpPersona) {
    let mut buf = vec![0u8; snmp::MAX_MESSAGE];
    while let Ok((n, peer)) = socket.recv_from(&mut buf).await {
        if let Some(reply) = answer(&buf[..n], &persona) {
            let _ = socket.send_to(&reply, peer).await;
        }
    }
}

/// The agent's reply to one datagram, if any.
pub fn answer(datagram: &[u8], p: &SnmpPersona) -> Option<Vec<u8>> {
    let rq = snmp::decode_message(datagram).ok()?;
    if rq.pdu_tag != tag::GET_REQUEST || rq.community != p.community.as_bytes() {
        return None;
    }
    let mut error_status = 0;
    let mut error_index = 0;
    let varbinds = rq
        .varbinds
        .iter()
        .enumerate()
        .map(|(i, (oid, _))| {
            let v = if oid == snmp::SYS_DESCR {
                Value::Text(p.sys_descr.clone().into_bytes())
            } else if oid == snmp::SYS_OBJECT_ID {
                Value::Oid(p.sys_object_id.clone())
            } else if oid == snmp::SYS_NAME {
                Value::Text(p.sys_name.clone().into_bytes())
            } else if rq.version == 0 {
                // SNMPv1: noSuchName(2) for the first unknown variable (RFC 1157 §4.1.2).
                if error_status == 0 {
                    error_status = 2;
                    error_index = i as i64 + 1;
                }
                Value::Null
            } else {
                Value::NoSuchObject
            };
            (oid.clone(), v)
        })
        .collect();
    Some(snmp::encode_message(&Message {
        pdu_tag: tag::GET_RESPONSE,
        error_status,
        error_index,
        varbinds,
        ..rq
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::ProbeContext;
    use std::time::Duration;

    async fn start(p: SnmpPersona) -> std::net::SocketAddr {
        let s = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
        let addr = s.local_addr().expect("addr");
        tokio::spawn(serve(s, p));
        addr
    }

    #[tokio::test]
    async fn default_community_agent() {
        let addr = start(SnmpPersona::default()).await;
        let obs = (snmp::PROBE.run)(ProbeContext::new(addr))
            .await
            .expect("probe");
        assert_eq!(obs.protocol, "snmp");
        assert_eq!(obs.vendor.as_deref(), Some("Brother"));
        assert_eq!(obs.hostname.as_deref(), Some("BRN001BA9"));
        assert_eq!(obs.attributes["snmp_version"], "v2c");
        assert_eq!(obs.attributes["sys_object_id"], "1.3.6.1.4.1.2435.2.3.9.1");
        let ids: Vec<_> = obs.findings.iter().map(|f| f.id).collect();
        assert_eq!(ids, ["snmp-default-community"]);
    }

    #[tokio::test]
    async fn private_community_agent_stays_silent() {
        let addr = start(SnmpPersona {
            community: "x7-clinic-ro".into(),
            ..SnmpPersona::default()
        })
        .await;
        let mut ctx = ProbeContext::new(addr);
        ctx.io_timeout = Duration::from_millis(300);
        let r = (snmp::PROBE.run)(ctx).await;
        assert!(matches!(r, Err(crate::ProbeError::Timeout(_))), "{r:?}");
    }

    #[test]
    fn v1_unknown_oid_gets_no_such_name() {
        let mut rq = snmp::decode_message(&snmp::get_request(0, "public", 5)).expect("rq");
        rq.varbinds
            .push((vec![1, 3, 6, 1, 2, 1, 99, 0], Value::Null));
        let reply = answer(&snmp::encode_message(&rq), &SnmpPersona::default()).expect("reply");
        let m = snmp::decode_message(&reply).expect("decode");
        assert_eq!((m.error_status, m.error_index), (2, 4));
    }
}
