//! Import of nmap XML output (`nmap -oX`): hosts, addresses, hostnames, open ports with the
//! service nmap identified, OS guesses and a few NSE script results, turned into [`Asset`]s that
//! the same fingerprint and findings catalogs classify.
//!
//! The XML is untrusted input: the reader is streaming, the file size is capped by the caller,
//! every text value is capped, and counts are bounded. nmap's port-table guesses (`method="table"`)
//! are kept as a hint (`nmap_guess`) and never presented as an identified protocol.

use crate::RawFinding;
use crate::findings::FindingsCatalog;
use crate::fingerprint::Fingerprints;
use crate::scan::build_asset;
use medguard_model::{Asset, Finding, Service, Transport};
use quick_xml::events::{BytesStart, Event};
use std::collections::BTreeMap;
use std::net::IpAddr;

/// Longest attribute or script output kept.
const MAX_TEXT: usize = 400;
/// Most hosts accepted from one file.
const MAX_HOSTS: usize = 1 << 20;
/// Most ports accepted per host.
const MAX_PORTS: usize = 70_000;

/// Why an nmap XML file could not be imported. Reads after "failed to ...".
#[derive(Debug, thiserror::Error)]
pub enum NmapError {
    #[error("parse the nmap XML at byte {position}: {reason}")]
    Xml { position: u64, reason: String },
    #[error("read the nmap XML: this is not nmap output (root element {0:?}, expected nmaprun)")]
    NotNmap(String),
    #[error("read the nmap XML: more than {0} hosts")]
    TooManyHosts(usize),
}

/// What one nmap file holds.
#[derive(Debug, Clone, Default)]
pub struct NmapRun {
    /// The command line nmap recorded (`args`).
    pub args: Option<String>,
    /// Hosts nmap reported up, as classified assets.
    pub assets: Vec<Asset>,
    /// Hosts nmap reported down (not imported as devices).
    pub hosts_down: Vec<IpAddr>,
}

#[derive(Default)]
struct HostAcc {
    up: bool,
    ip: Option<IpAddr>,
    mac: Option<String>,
    mac_vendor: Option<String>,
    hostname: Option<String>,
    os: Option<String>,
    services: Vec<(Service, Vec<RawFinding>)>,
}

#[derive(Default)]
struct PortAcc {
    port: u16,
    transport: Option<Transport>,
    open: bool,
    service: Option<Service>,
    findings: Vec<RawFinding>,
}

fn cap(s: &str) -> String {
    let t: String = s.chars().take(MAX_TEXT).collect();
    t.trim().to_string()
}

fn attrs(e: &BytesStart<'_>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for a in e.attributes().flatten() {
        let key: &str = a.key.as_ref();
        let key = key.to_string();
        let value = match a.normalized_value(quick_xml::XmlVersion::Implicit1_0) {
            Ok(v) => v.into_owned(),
            Err(_) => a.value.to_string(),
        };
        out.insert(key, cap(&value));
    }
    out
}

/// nmap service names mapped to medguard protocol names.
fn protocol_name(nmap: &str, tunnel_ssl: bool) -> String {
    let p = match nmap {
        "http" | "http-alt" | "http-proxy" | "http-mgmt" | "upnp" if tunnel_ssl => "https",
        "http" | "http-alt" | "http-proxy" | "http-mgmt" => "http",
        "https" | "https-alt" => "https",
        "microsoft-ds" | "netbios-ssn" | "smb" => "smb",
        "ms-wbt-server" | "rdp" => "rdp",
        "vnc" | "vnc-http" => "vnc",
        "dicom" | "acr-nema" => "dicom",
        "hl7" => "hl7",
        "mbap" | "modbus" => "modbus",
        "mqtt" | "mqtt-ssl" => "mqtt",
        "bacnet" => "bacnet",
        "ipp" => "ipp",
        "rtsp" => "rtsp",
        "snmp" => "snmp",
        "telnet" => "telnet",
        "ftp" => "ftp",
        "ssh" => "ssh",
        "mdns" => "mdns",
        "upnp" | "ssdp" => "ssdp",
        // nmap 7.9x names a Mosquitto broker by its $SYS version string.
        other if other.starts_with("mosquitto") => "mqtt",
        other => return other.to_string(),
    };
    p.to_string()
}

/// Findings nmap's NSE scripts (or an identified service) establish.
fn script_findings(id: &str, output: &str, out: &mut Vec<RawFinding>) {
    let lower = output.to_ascii_lowercase();
    let mut push = |fid: &'static str| {
        out.push(RawFinding {
            id: fid,
            evidence: format!("nmap {id}: {}", cap(output).replace('\n', " ")),
        })
    };
    match id {
        "ftp-anon" if lower.contains("anonymous ftp login allowed") => push("ftp-anonymous"),
        "smb-protocols" if lower.contains("nt lm 0.12") || lower.contains("smbv1") => {
            push("smbv1-enabled")
        }
        "smb2-security-mode" if lower.contains("not required") => push("smb-signing-not-required"),
        "smb-security-mode" if lower.contains("message_signing: disabled") => {
            push("smb-signing-not-required")
        }
        "vnc-info" if lower.contains("none") && !lower.contains("vnc authentication") => {
            push("vnc-no-auth")
        }
        "dicom-ping" if lower.contains("any aet is accepted") => push("dicom-any-ae-accepted"),
        // "Native RDP: SUCCESS" means a client may connect without Network Level Authentication.
        "rdp-enum-encryption" if lower.contains("native rdp: success") => push("rdp-no-nla"),
        _ => {}
    }
}

fn port_findings(service: &Service, out: &mut Vec<RawFinding>) {
    let evidence = || {
        format!(
            "nmap identified {} on {}/{}",
            service.protocol, service.port, service.transport
        )
    };
    match service.protocol.as_str() {
        "telnet" => out.push(RawFinding {
            id: "telnet-enabled",
            evidence: evidence(),
        }),
        "dicom" if service.tls != Some(true) => out.push(RawFinding {
            id: "dicom-unencrypted",
            evidence: evidence(),
        }),
        _ => {}
    }
}

fn err(reader: &quick_xml::Reader<&[u8]>, reason: impl ToString) -> NmapError {
    NmapError::Xml {
        position: reader.buffer_position(),
        reason: reason.to_string(),
    }
}

/// Parse nmap XML. Hosts nmap found up become classified assets.
pub fn parse(xml: &[u8]) -> Result<NmapRun, NmapError> {
    let mut reader = quick_xml::Reader::from_reader(xml);
    reader.config_mut().trim_text(true);
    let mut run = NmapRun::default();
    let mut saw_root = false;
    let mut host: Option<HostAcc> = None;
    let mut port: Option<PortAcc> = None;
    let mut hosts = 0usize;
    let mut depth = 0usize;
    let catalog = FindingsCatalog::builtin();
    let fingerprints = Fingerprints::builtin();
    loop {
        let ev = reader.read_event().map_err(|e| err(&reader, e))?;
        let (e, empty) = match &ev {
            Event::Start(e) => (Some(e), false),
            Event::Empty(e) => (Some(e), true),
            Event::End(end) => {
                depth = depth.saturating_sub(1);
                match AsRef::<str>::as_ref(&end.name()) {
                    "port" => {
                        if let (Some(h), Some(p)) = (host.as_mut(), port.take())
                            && p.open
                            && h.services.len() < MAX_PORTS
                        {
                            let mut svc = p.service.unwrap_or(Service {
                                port: p.port,
                                transport: p.transport.unwrap_or(Transport::Tcp),
                                protocol: "unknown".into(),
                                product: None,
                                version: None,
                                banner: None,
                                tls: None,
                                attributes: BTreeMap::new(),
                            });
                            svc.port = p.port;
                            svc.transport = p.transport.unwrap_or(Transport::Tcp);
                            let mut f = p.findings;
                            port_findings(&svc, &mut f);
                            h.services.push((svc, f));
                        }
                    }
                    "host" => {
                        if let Some(h) = host.take() {
                            finish_host(h, &mut run, catalog, fingerprints);
                        }
                    }
                    _ => {}
                }
                continue;
            }
            Event::Eof => break,
            _ => continue,
        };
        let Some(e) = e else { continue };
        if !empty {
            depth += 1;
            if depth > 64 {
                return Err(err(&reader, "elements nested deeper than 64"));
            }
        }
        let qname = e.name();
        let name: &str = qname.as_ref();
        let a = attrs(e);
        if !saw_root {
            if name != "nmaprun" {
                return Err(NmapError::NotNmap(name.chars().take(40).collect()));
            }
            saw_root = true;
            run.args = a.get("args").cloned();
            continue;
        }
        match name {
            "host" => {
                hosts += 1;
                if hosts > MAX_HOSTS {
                    return Err(NmapError::TooManyHosts(MAX_HOSTS));
                }
                host = Some(HostAcc::default());
            }
            "status" => {
                if let Some(h) = host.as_mut() {
                    h.up = a.get("state").is_some_and(|s| s == "up");
                }
            }
            "address" => {
                if let Some(h) = host.as_mut() {
                    match a.get("addrtype").map(String::as_str) {
                        Some("ipv4" | "ipv6") => {
                            h.ip = a.get("addr").and_then(|s| s.parse().ok());
                        }
                        Some("mac") => {
                            h.mac = a.get("addr").cloned();
                            h.mac_vendor = a.get("vendor").cloned();
                        }
                        _ => {}
                    }
                }
            }
            "hostname" => {
                if let Some(h) = host.as_mut()
                    && h.hostname.is_none()
                {
                    h.hostname = a.get("name").filter(|n| !n.is_empty()).cloned();
                }
            }
            "osmatch" => {
                if let Some(h) = host.as_mut()
                    && h.os.is_none()
                {
                    h.os = a.get("name").cloned();
                }
            }
            "port" => {
                port = Some(PortAcc {
                    port: a.get("portid").and_then(|p| p.parse().ok()).unwrap_or(0),
                    transport: match a.get("protocol").map(String::as_str) {
                        Some("tcp") => Some(Transport::Tcp),
                        Some("udp") => Some(Transport::Udp),
                        _ => None,
                    },
                    ..PortAcc::default()
                });
                if port
                    .as_ref()
                    .is_some_and(|p| p.port == 0 || p.transport.is_none())
                {
                    // SCTP or a malformed port: ignored.
                    port = None;
                }
            }
            "state" => {
                if let Some(p) = port.as_mut() {
                    p.open = a.get("state").is_some_and(|s| s == "open");
                }
            }
            "service" => {
                if let Some(p) = port.as_mut() {
                    p.service = Some(service_from(p, &a));
                }
            }
            "cpe" => {
                if let (Some(p), false) = (port.as_mut(), empty) {
                    match reader.read_event().map_err(|e| err(&reader, e))? {
                        Event::Text(t) => {
                            let cpe = cap(&t);
                            if let Some(s) = p.service.as_mut() {
                                s.attributes.entry("cpe".into()).or_insert(cpe);
                            }
                        }
                        // An empty <cpe></cpe>: its end tag is consumed here.
                        Event::End(_) => depth = depth.saturating_sub(1),
                        _ => {}
                    }
                }
            }
            "script" => {
                if let Some(p) = port.as_mut() {
                    let id = a.get("id").cloned().unwrap_or_default();
                    let output = a.get("output").cloned().unwrap_or_default();
                    script_findings(&id, &output, &mut p.findings);
                    if let Some(s) = p.service.as_mut() {
                        match id.as_str() {
                            "http-title" => {
                                s.attributes.insert("title".into(), output.clone());
                            }
                            "http-server-header" => {
                                s.attributes.insert("server".into(), output.clone());
                            }
                            "snmp-sysdescr" => {
                                s.attributes.insert("sysdescr".into(), output.clone());
                            }
                            _ => {}
                        }
                        if s.attributes.len() < 64 && !id.is_empty() {
                            s.attributes
                                .insert(format!("nmap_script_{id}"), output.replace('\n', " "));
                        }
                    }
                }
            }
            _ => {}
        }
    }
    if !saw_root {
        return Err(NmapError::NotNmap(String::new()));
    }
    Ok(run)
}

fn service_from(p: &PortAcc, a: &BTreeMap<String, String>) -> Service {
    let name = a.get("name").cloned().unwrap_or_default();
    let tunnel_ssl = a.get("tunnel").is_some_and(|t| t == "ssl");
    let probed = a.get("method").is_some_and(|m| m == "probed");
    let mut attributes = BTreeMap::new();
    attributes.insert("nmap_service".to_string(), name.clone());
    for (k, key) in [
        ("extrainfo", "nmap_extrainfo"),
        ("ostype", "os"),
        ("devicetype", "nmap_devicetype"),
        ("hostname", "hostname"),
        ("method", "nmap_method"),
        ("conf", "nmap_conf"),
    ] {
        if let Some(v) = a.get(k).filter(|v| !v.is_empty()) {
            attributes.insert(key.to_string(), v.clone());
        }
    }
    let protocol = if probed && !name.is_empty() && !name.ends_with('?') {
        protocol_name(&name, tunnel_ssl)
    } else {
        if !name.is_empty() {
            attributes.insert(
                "nmap_guess".to_string(),
                protocol_name(name.trim_end_matches('?'), tunnel_ssl),
            );
        }
        "unknown".to_string()
    };
    let product = a
        .get("product")
        .cloned()
        .or_else(|| name.starts_with("mosquitto").then(|| name.clone()));
    Service {
        port: p.port,
        transport: p.transport.unwrap_or(Transport::Tcp),
        protocol,
        product,
        version: a.get("version").cloned(),
        banner: None,
        tls: tunnel_ssl.then_some(true),
        attributes,
    }
}

fn finish_host(
    h: HostAcc,
    run: &mut NmapRun,
    catalog: &FindingsCatalog,
    fingerprints: &Fingerprints,
) {
    let Some(ip) = h.ip else { return };
    if !h.up {
        if run.hosts_down.len() < MAX_HOSTS {
            run.hosts_down.push(ip);
        }
        return;
    }
    let services: Vec<(Service, Vec<Finding>)> = h
        .services
        .into_iter()
        .map(|(s, raw)| {
            let port = s.port;
            let f = raw.iter().map(|r| catalog.resolve(r, Some(port))).collect();
            (s, f)
        })
        .collect();
    let mut asset = build_asset(ip, h.hostname, true, services, fingerprints);
    asset.mac = h.mac;
    if asset.os.is_none() {
        asset.os = h.os;
    }
    if asset.vendor.is_none() {
        asset.vendor = h.mac_vendor;
    }
    run.assets.push(asset);
}

#[cfg(test)]
mod tests {
    use super::*;
    use medguard_model::Category;
    use proptest::prelude::*;

    const SAMPLE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE nmaprun>
<nmaprun scanner="nmap" args="nmap -sV -oX - 10.0.0.0/29" start="1700000000" version="7.93" xmloutputversion="1.05">
<host starttime="1" endtime="2"><status state="up" reason="arp-response" reason_ttl="0"/>
<address addr="10.0.0.5" addrtype="ipv4"/>
<address addr="00:11:22:33:44:55" addrtype="mac" vendor="Dell"/>
<hostnames><hostname name="pacs01.lan" type="PTR"/></hostnames>
<ports><extraports state="closed" count="995"/>
<port protocol="tcp" portid="23"><state state="open" reason="syn-ack" reason_ttl="64"/><service name="telnet" product="BusyBox telnetd" method="probed" conf="10"/></port>
<port protocol="tcp" portid="21"><state state="open" reason="syn-ack" reason_ttl="64"/><service name="ftp" product="vsftpd" version="3.0.3" ostype="Unix" method="probed" conf="10"><cpe>cpe:/a:vsftpd:vsftpd:3.0.3</cpe></service><script id="ftp-anon" output="Anonymous FTP login allowed (FTP code 230)"/></port>
<port protocol="tcp" portid="104"><state state="open" reason="syn-ack" reason_ttl="64"/><service name="acr-nema" method="table" conf="3"/></port>
<port protocol="tcp" portid="443"><state state="closed" reason="reset" reason_ttl="64"/><service name="https" method="table" conf="3"/></port>
</ports>
<os><osmatch name="Linux 4.15 - 5.8" accuracy="96"/></os>
</host>
<host><status state="down" reason="no-response"/><address addr="10.0.0.6" addrtype="ipv4"/></host>
</nmaprun>"#;

    #[test]
    fn parses_hosts_services_and_findings() {
        let run = parse(SAMPLE.as_bytes()).expect("parse");
        assert_eq!(
            run.hosts_down,
            vec!["10.0.0.6".parse::<IpAddr>().expect("ip")]
        );
        assert_eq!(run.assets.len(), 1);
        let a = &run.assets[0];
        assert_eq!(a.ip.map(|i| i.to_string()).as_deref(), Some("10.0.0.5"));
        assert_eq!(a.mac.as_deref(), Some("00:11:22:33:44:55"));
        assert_eq!(a.hostname.as_deref(), Some("pacs01.lan"));
        let ports: Vec<u16> = a.services.iter().map(|s| s.port).collect();
        assert_eq!(ports, vec![21, 23, 104], "closed 443 is not a service");
        let ftp = &a.services[0];
        assert_eq!(ftp.protocol, "ftp");
        assert_eq!(ftp.version.as_deref(), Some("3.0.3"));
        assert_eq!(
            ftp.attributes.get("cpe").map(String::as_str),
            Some("cpe:/a:vsftpd:vsftpd:3.0.3")
        );
        let dicom = &a.services[2];
        assert_eq!(
            dicom.protocol, "unknown",
            "a port-table guess is not an identification"
        );
        assert_eq!(
            dicom.attributes.get("nmap_guess").map(String::as_str),
            Some("dicom")
        );
        let ids: Vec<&str> = a.findings.iter().map(|f| f.id.as_str()).collect();
        assert!(ids.contains(&"ftp-anonymous"), "{ids:?}");
        assert!(ids.contains(&"telnet-enabled"), "{ids:?}");
        assert_ne!(a.category, Category::Unknown);
        assert_eq!(a.os.as_deref(), Some("Unix"));
    }

    #[test]
    fn rejects_other_xml_and_garbage() {
        assert!(matches!(
            parse(b"<html><body/></html>"),
            Err(NmapError::NotNmap(_))
        ));
        assert!(parse(b"").is_err());
        assert!(parse(b"<nmaprun><host><status state=\"up\"").is_err());
        let deep = format!("<nmaprun>{}", "<a>".repeat(100));
        assert!(parse(deep.as_bytes()).is_err());
    }

    proptest! {
        #[test]
        fn never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse(&bytes);
        }

        #[test]
        fn never_panics_on_mutated_nmap_xml(cut in 0usize..2000, junk in "[<>/=\" a-z0-9]{0,20}") {
            let mut s = SAMPLE.to_string();
            let at = cut.min(s.len());
            let at = (0..=at).rev().find(|i| s.is_char_boundary(*i)).unwrap_or(0);
            s.insert_str(at, &junk);
            let _ = parse(s.as_bytes());
        }
    }
}
