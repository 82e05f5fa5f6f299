//! The virtual practice of `medguard demo`: a small dental/medical office's devices, each a
//! simulator speaking the real protocol, on its own loopback address and unprivileged ports.
//!
//! Devices whose protocol normally lives on a privileged port (SMB 445, IPP 631, Modbus 502) listen
//! on an unprivileged one instead, and [`Practice::probe_ports`] tells the scanner which probe to run
//! there, exactly as a technician would with `--service-port`.

use super::{
    bacnet, dicom, ftp, hl7, http, ipp, modbus, mqtt, rdp, rtsp, smb, ssh, telnet, tls, vnc,
};
use crate::ports::PortList;
use medguard_model::Transport;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use tokio::net::{TcpListener, UdpSocket};
use tokio::task::JoinHandle;

/// One simulated device.
#[derive(Debug, Clone)]
pub struct Device {
    /// Short name, e.g. `pacs`.
    pub name: &'static str,
    /// What it plays, in plain words.
    pub role: &'static str,
    /// Its address.
    pub ip: IpAddr,
    /// Its listening ports.
    pub ports: Vec<(Transport, u16)>,
}

/// A running virtual practice; the simulators stop when it is dropped.
#[derive(Debug)]
pub struct Practice {
    /// The devices.
    pub devices: Vec<Device>,
    probe_ports: Vec<(String, u16)>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Practice {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Why the practice could not start. Reads after "failed to ...".
#[derive(Debug, thiserror::Error)]
#[error("start the simulated {device} on {addr} (is another demo running?)")]
pub struct StartError {
    /// Which device.
    pub device: &'static str,
    /// Where.
    pub addr: SocketAddr,
    #[source]
    source: std::io::Error,
}

/// SMB, IPP and Modbus on unprivileged ports (see the module docs).
pub const SMB_PORT: u16 = 8445;
/// IPP on an unprivileged port.
pub const IPP_PORT: u16 = 8631;
/// Modbus/TCP on an unprivileged port.
pub const MODBUS_PORT: u16 = 5020;

struct Builder {
    net: [u8; 3],
    devices: Vec<Device>,
    tasks: Vec<JoinHandle<()>>,
}

impl Builder {
    fn ip(&self, host: u8) -> IpAddr {
        let [a, b, c] = self.net;
        IpAddr::V4(Ipv4Addr::new(a, b, c, host))
    }

    fn device(&mut self, host: u8, name: &'static str, role: &'static str) -> usize {
        self.devices.push(Device {
            name,
            role,
            ip: self.ip(host),
            ports: Vec::new(),
        });
        self.devices.len() - 1
    }

    async fn tcp<F, Fut>(&mut self, dev: usize, port: u16, serve: F) -> Result<(), StartError>
    where
        F: FnOnce(TcpListener) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let Some(d) = self.devices.get_mut(dev) else {
            return Ok(());
        };
        let addr = SocketAddr::new(d.ip, port);
        let listener = TcpListener::bind(addr).await.map_err(|source| StartError {
            device: d.name,
            addr,
            source,
        })?;
        d.ports.push((Transport::Tcp, port));
        self.tasks.push(tokio::spawn(serve(listener)));
        Ok(())
    }
}

impl Builder {
    async fn udp<F, Fut>(&mut self, dev: usize, port: u16, serve: F) -> Result<(), StartError>
    where
        F: FnOnce(UdpSocket) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let Some(d) = self.devices.get_mut(dev) else {
            return Ok(());
        };
        let addr = SocketAddr::new(d.ip, port);
        let socket = UdpSocket::bind(addr).await.map_err(|source| StartError {
            device: d.name,
            addr,
            source,
        })?;
        d.ports.push((Transport::Udp, port));
        self.tasks.push(tokio::spawn(serve(socket)));
        Ok(())
    }
}

impl Practice {
    /// Start the practice on `net.1`-`net.254` (the demo uses 127.88.0; tests pick their own).
    pub async fn start(net: [u8; 3]) -> Result<Practice, StartError> {
        let mut b = Builder {
            net,
            devices: Vec::new(),
            tasks: Vec::new(),
        };

        let pacs = b.device(10, "pacs", "Image archive (Orthanc-like PACS)");
        b.tcp(pacs, 4242, |l| {
            dicom::serve(
                l,
                dicom::DicomPersona {
                    ae_title: "ORTHANC".into(),
                    accept_any_ae: true,
                    implementation_class_uid: "1.2.826.0.1.3680043.2.1143.107.104.103.115.1.12.1"
                        .into(),
                    implementation_version_name: "ORTHANC_1.12.1".into(),
                    max_pdu_length: 16384,
                },
            )
        })
        .await?;
        b.tcp(pacs, 8042, |l| {
            http::serve(
                l,
                http::HttpPersona {
                    server: "Orthanc/1.12.1".into(),
                    title: "Orthanc Explorer".into(),
                    login_form: false,
                    basic_realm: Some("Orthanc Secure Area".into()),
                    redirect_to: None,
                    tls: None,
                },
            )
        })
        .await?;

        let xray = b.device(11, "xray", "Panoramic x-ray console");
        b.tcp(xray, 11112, |l| {
            dicom::serve(
                l,
                dicom::DicomPersona {
                    ae_title: "PANO01".into(),
                    accept_any_ae: true,
                    implementation_class_uid: "1.2.840.113619.6.374".into(),
                    implementation_version_name: "PANO_XR_4_2".into(),
                    max_pdu_length: 32768,
                },
            )
        })
        .await?;
        b.tcp(xray, 2323, |l| {
            telnet::serve(l, telnet::TelnetPersona::default())
        })
        .await?;
        b.tcp(xray, 8443, |l| {
            tls::serve(l, tls::TlsPersona::legacy_device())
        })
        .await?;
        b.tcp(xray, 5900, |l| vnc::serve(l, vnc::VncPersona::default()))
            .await?;

        let hl7_engine = b.device(12, "hl7", "Lab results interface (HL7 engine)");
        b.tcp(hl7_engine, 2575, |l| {
            hl7::serve(l, hl7::Hl7Persona::default())
        })
        .await?;
        b.tcp(hl7_engine, 8080, |l| {
            http::serve(
                l,
                http::HttpPersona::admin_login(
                    "Jetty(9.4.z-SNAPSHOT)",
                    "Mirth Connect Administrator",
                ),
            )
        })
        .await?;

        let fridge = b.device(13, "fridge", "Vaccine fridge monitor (Modbus)");
        b.tcp(fridge, MODBUS_PORT, |l| {
            modbus::serve(l, modbus::ModbusPersona::default())
        })
        .await?;

        let camera = b.device(14, "camera", "Waiting-room camera");
        b.tcp(camera, 8554, |l| {
            rtsp::serve(l, rtsp::RtspPersona::open_camera())
        })
        .await?;
        b.tcp(camera, 8080, |l| {
            http::serve(
                l,
                http::HttpPersona::admin_login("IPCamera-Webs", "Network Camera - Login"),
            )
        })
        .await?;

        let printer = b.device(15, "printer", "Front-desk printer (IPP)");
        b.tcp(printer, IPP_PORT, |l| {
            ipp::serve(l, ipp::IppPersona::front_desk())
        })
        .await?;

        let nas = b.device(16, "nas", "File server with the x-ray share (SMBv1, FTP)");
        b.tcp(nas, SMB_PORT, |l| {
            smb::serve(
                l,
                smb::SmbPersona {
                    name: "XRAY-NAS".into(),
                    dns_name: Some("xray-nas".into()),
                    server_guid: *b"medguard-demo-na",
                    ..smb::SmbPersona::default()
                },
            )
        })
        .await?;
        b.tcp(nas, 2121, |l| {
            ftp::serve(
                l,
                ftp::FtpPersona {
                    greeting: "(vsFTPd 3.0.3)".into(),
                    anonymous: true,
                },
            )
        })
        .await?;

        let frontdesk = b.device(17, "frontdesk", "Front-desk Windows PC");
        b.tcp(frontdesk, SMB_PORT, |l| {
            smb::serve(l, smb::SmbPersona::default())
        })
        .await?;
        b.tcp(frontdesk, 3389, |l| {
            rdp::serve(
                l,
                rdp::RdpPersona {
                    rdp: true,
                    ssl: true,
                    hybrid: false,
                },
            )
        })
        .await?;

        let router = b.device(18, "router", "Office router");
        b.tcp(router, 2222, |l| {
            ssh::serve(
                l,
                ssh::SshPersona {
                    software: "dropbear_2019.78".into(),
                    comments: None,
                    ..ssh::SshPersona::default()
                },
            )
        })
        .await?;
        b.tcp(router, 2323, |l| {
            telnet::serve(
                l,
                telnet::TelnetPersona {
                    banner: "RT-AC68U router".into(),
                    ..telnet::TelnetPersona::default()
                },
            )
        })
        .await?;

        let hub = b.device(19, "hub", "Smart-building hub (MQTT broker)");
        b.tcp(hub, 1883, |l| mqtt::serve(l, mqtt::MqttPersona::default()))
            .await?;

        let hvac = b.device(21, "hvac", "Heating and cooling controller (BACnet)");
        b.udp(hvac, 47808, |s| {
            bacnet::serve(s, bacnet::BacnetPersona::default())
        })
        .await?;

        Ok(Practice {
            devices: b.devices,
            probe_ports: vec![
                ("smb".to_string(), SMB_PORT),
                ("ipp".to_string(), IPP_PORT),
                ("modbus".to_string(), MODBUS_PORT),
            ],
            tasks: b.tasks,
        })
    }

    /// Every device address.
    pub fn addresses(&self) -> Vec<IpAddr> {
        self.devices.iter().map(|d| d.ip).collect()
    }

    /// Every port any device listens on (TCP and UDP).
    pub fn ports(&self) -> PortList {
        let mut out = PortList::default();
        for d in &self.devices {
            for (t, p) in &d.ports {
                let list = match t {
                    Transport::Tcp => &mut out.tcp,
                    Transport::Udp => &mut out.udp,
                };
                if !list.contains(p) {
                    list.push(*p);
                }
            }
        }
        out
    }

    /// The (probe, port) pairs for protocols moved to unprivileged ports.
    pub fn probe_ports(&self) -> Vec<(String, u16)> {
        self.probe_ports.clone()
    }
}
