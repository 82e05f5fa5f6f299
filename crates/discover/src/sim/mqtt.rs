//! A simulated MQTT broker: CONNECT/CONNACK (3.1.1 and 5.0), SUBSCRIBE answered with SUBACK and the
//! retained `$SYS/broker/version`, DISCONNECT.

use crate::probes::mqtt::{self, packet};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;

/// The identity and policy of a simulated broker.
#[derive(Debug, Clone)]
pub struct MqttPersona {
    /// Payload of `$SYS/broker/version`, e.g. `mosquitto version 2.0.18`.
    pub version: String,
    /// Accept CONNECT without a username.
    pub allow_anonymous: bool,
    /// Lowest protocol level accepted (5 simulates a 5.0-only broker).
    pub min_level: u8,
}

impl Default for MqttPersona {
    fn default() -> Self {
        MqttPersona {
            version: "mosquitto version 2.0.18".into(),
            allow_anonymous: true,
            min_level: 4,
        }
    }
}

/// Serve MQTT on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, persona: MqttPersona) {
    while let Ok((stream, _)) = listener.accept().await {
        let persona = persona.clone();
        tokio::spawn(async move {
            let _ = timeout(Duration::from_secs(30), session(stream, &persona)).await;
        });
    }
}

async fn session(mut s: TcpStream, p: &MqttPersona) -> Option<()> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 2048];
    let mut level = 4;
    let mut connected = false;
    loop {
        loop {
            let (pk, n) = match mqtt::parse_packet(&buf) {
                Ok(x) => x,
                Err(mqtt::MqttError::Truncated) => break,
                Err(_) => return None,
            };
            let mut reply = Vec::new();
            match pk.kind {
                packet::CONNECT if !connected => {
                    let (lv, has_user, _) = mqtt::parse_connect(&pk).ok()?;
                    level = lv;
                    if lv < p.min_level || !(3..=5).contains(&lv) {
                        s.write_all(&mqtt::encode_connack(4, 1)).await.ok()?;
                        return None;
                    }
                    if !p.allow_anonymous && !has_user {
                        let code = if lv >= 5 { 0x87 } else { 5 };
                        s.write_all(&mqtt::encode_connack(lv, code)).await.ok()?;
                        return None;
                    }
                    connected = true;
                    reply = mqtt::encode_connack(lv, 0);
                }
                packet::SUBSCRIBE if connected => {
                    let id = pk.body.get(..2)?;
                    let suback_body = if level >= 5 {
                        vec![id[0], id[1], 0, 0]
                    } else {
                        vec![id[0], id[1], 0]
                    };
                    reply.extend_from_slice(&[packet::SUBACK << 4, suback_body.len() as u8]);
                    reply.extend_from_slice(&suback_body);
                    let wants_version = pk
                        .body
                        .windows(mqtt::VERSION_TOPIC.len())
                        .any(|w| w == mqtt::VERSION_TOPIC.as_bytes());
                    if wants_version {
                        reply.extend_from_slice(&mqtt::encode_publish(
                            level,
                            mqtt::VERSION_TOPIC,
                            p.version.as_bytes(),
                        ));
                    }
                }
                packet::DISCONNECT => {
                    let _ = s.shutdown().await;
                    return Some(());
                }
                _ => return None,
            }
            buf.drain(..n);
            s.write_all(&reply).await.ok()?;
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

    async fn start(p: MqttPersona) -> std::net::SocketAddr {
        let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = l.local_addr().expect("addr");
        tokio::spawn(serve(l, p));
        addr
    }

    #[tokio::test]
    async fn anonymous_broker() {
        let addr = start(MqttPersona::default()).await;
        let obs = (mqtt::PROBE.run)(ProbeContext::new(addr))
            .await
            .expect("probe");
        assert_eq!(obs.protocol, "mqtt");
        assert_eq!(obs.product.as_deref(), Some("mosquitto"));
        assert_eq!(obs.version.as_deref(), Some("2.0.18"));
        assert_eq!(obs.attributes["protocol_level"], "4");
        let ids: Vec<_> = obs.findings.iter().map(|f| f.id).collect();
        assert_eq!(ids, ["mqtt-anonymous"]);
    }

    #[tokio::test]
    async fn v5_only_broker_requiring_auth() {
        let addr = start(MqttPersona {
            allow_anonymous: false,
            min_level: 5,
            ..MqttPersona::default()
        })
        .await;
        let obs = (mqtt::PROBE.run)(ProbeContext::new(addr))
            .await
            .expect("probe");
        assert_eq!(obs.attributes["protocol_level"], "5");
        assert_eq!(obs.attributes["connack_code"], "135");
        assert_eq!(obs.attributes["auth_required"], "true");
        assert!(obs.findings.is_empty(), "{:?}", obs.findings);
    }

    #[tokio::test]
    async fn anonymous_v5_broker() {
        let addr = start(MqttPersona {
            min_level: 5,
            version: "emqx version 5.8.0".into(),
            ..MqttPersona::default()
        })
        .await;
        let obs = (mqtt::PROBE.run)(ProbeContext::new(addr))
            .await
            .expect("probe");
        assert_eq!(obs.product.as_deref(), Some("emqx"));
        assert_eq!(obs.findings.len(), 1);
    }
}
