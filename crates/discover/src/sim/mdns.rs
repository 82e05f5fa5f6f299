//! A simulated mDNS responder: answers legacy-unicast queries for the DNS-SD service enumeration,
//! service instances, its host name (A and reverse PTR).

use crate::probes::mdns::{self, DnsMessage, RData, Record, rtype};
use std::net::Ipv4Addr;
use tokio::net::UdpSocket;

/// One advertised service.
#[derive(Debug, Clone)]
pub struct MdnsService {
    /// Service type, e.g. `_ipp._tcp`.
    pub service_type: String,
    /// Instance name, e.g. `Front Desk Printer`.
    pub instance: String,
    pub port: u16,
    pub txt: Vec<String>,
}

/// The identity of a simulated mDNS responder.
#[derive(Debug, Clone)]
pub struct MdnsPersona {
    /// Host name, e.g. `brother-hl.local`.
    pub hostname: String,
    /// The address it announces for its host name (and answers reverse lookups for).
    pub address: Ipv4Addr,
    pub services: Vec<MdnsService>,
}

impl Default for MdnsPersona {
    fn default() -> Self {
        MdnsPersona {
            hostname: "brother-hl-l8360.local".into(),
            address: Ipv4Addr::LOCALHOST,
            services: vec![
                MdnsService {
                    service_type: "_ipp._tcp".into(),
                    instance: "Front Desk Printer".into(),
                    port: 631,
                    txt: vec!["ty=Brother HL-L8360CDW".into(), "rp=ipp/print".into()],
                },
                MdnsService {
                    service_type: "_http._tcp".into(),
                    instance: "Front Desk Printer".into(),
                    port: 80,
                    txt: vec![],
                },
            ],
        }
    }
}

/// Answer mDNS queries on `socket` until the task is dropped.
pub async fn serve(socket: UdpSocket, persona: MdnsPersona) {
    let mut buf = vec![0u8; mdns::MAX_MESSAGE];
    while let Ok((n, peer)) = socket.recv_from(&mut buf).await {
        if let Some(reply) = answer(&buf[..n], &persona) {
            let _ = socket.send_to(&reply, peer).await;
        }
    }
}

fn rec(name: &str, ty: u16, data: RData) -> Record {
    Record {
        name: name.to_string(),
        rtype: ty,
        class: 1,
        ttl: 120,
        data,
    }
}

/// The responder's answer to one query datagram, if it has one.
pub fn answer(datagram: &[u8], p: &MdnsPersona) -> Option<Vec<u8>> {
    let q = mdns::parse_message(datagram).ok()?;
    if q.flags & 0x8000 != 0 {
        return None; // a response, not a query
    }
    let (name, qtype) = q.questions.first()?.clone();
    let lname = name.to_ascii_lowercase();
    let mut answers = Vec::new();
    let mut additional = Vec::new();
    if lname == mdns::SERVICES_NAME && qtype == rtype::PTR {
        for s in &p.services {
            let t = format!("{}.local", s.service_type);
            if !answers
                .iter()
                .any(|r: &Record| r.data == RData::Ptr(t.clone()))
            {
                answers.push(rec(&name, rtype::PTR, RData::Ptr(t)));
            }
        }
    } else if lname == mdns::reverse_name(p.address.into()) && qtype == rtype::PTR {
        answers.push(rec(&name, rtype::PTR, RData::Ptr(p.hostname.clone())));
    } else if lname == p.hostname.to_ascii_lowercase() && qtype == rtype::A {
        answers.push(rec(&name, rtype::A, RData::A(p.address.octets())));
    } else {
        for s in p
            .services
            .iter()
            .filter(|s| lname == format!("{}.local", s.service_type))
        {
            let inst = format!("{}.{}.local", s.instance, s.service_type);
            answers.push(rec(&name, rtype::PTR, RData::Ptr(inst.clone())));
            additional.push(rec(
                &inst,
                rtype::SRV,
                RData::Srv {
                    priority: 0,
                    weight: 0,
                    port: s.port,
                    target: p.hostname.clone(),
                },
            ));
            additional.push(rec(&inst, rtype::TXT, RData::Txt(s.txt.clone())));
        }
        if !answers.is_empty() {
            additional.push(rec(&p.hostname, rtype::A, RData::A(p.address.octets())));
        }
    }
    if answers.is_empty() {
        return None;
    }
    let n = answers.len();
    answers.extend(additional);
    Some(mdns::encode_response(
        &DnsMessage {
            id: q.id,
            flags: 0x8400,
            questions: q.questions,
            records: answers,
        },
        n,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::ProbeContext;

    #[tokio::test]
    async fn probe_reads_services_and_hostname() {
        let s = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
        let addr = s.local_addr().expect("addr");
        tokio::spawn(serve(s, MdnsPersona::default()));
        let obs = (mdns::PROBE.run)(ProbeContext::new(addr))
            .await
            .expect("probe");
        assert_eq!(obs.protocol, "mdns");
        assert_eq!(obs.attributes["services"], "_ipp._tcp,_http._tcp");
        assert_eq!(obs.hostname.as_deref(), Some("brother-hl-l8360.local"));
    }

    #[test]
    fn service_instances_carry_srv_and_txt() {
        let q = mdns::encode_query(1, "_ipp._tcp.local", rtype::PTR);
        let reply = answer(&q, &MdnsPersona::default()).expect("reply");
        let m = mdns::parse_message(&reply).expect("parse");
        assert!(
            m.records
                .iter()
                .any(|r| matches!(&r.data, RData::Srv { port: 631, .. }))
        );
        let mut obs = crate::Observation::new("mdns");
        mdns::describe(&mut obs, &[m]);
        assert_eq!(
            obs.attributes["instances"],
            "Front Desk Printer._ipp._tcp.local"
        );
    }
}
