//! Windows XML event exports (`wevtutil qe /f:xml`, Event Viewer "Save as XML", `<Events>` or a bare
//! sequence of `<Event>` elements), read event by event with `quick-xml`.

use super::FileReport;
use crate::error::DetectError;
use crate::event::{LogEvent, put};
use crate::windows;
use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, XmlVersion};
use serde_json::{Map, Value};
use std::io::BufRead;
use std::path::Path;

const MAX_FIELDS: usize = 512;
const MAX_VALUE: usize = 64 * 1024;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Section {
    None,
    System,
    EventData,
    UserData,
}

struct Builder {
    map: Map<String, Value>,
    unnamed: Vec<Value>,
    section: Section,
    /// Field the text being read belongs to.
    field: Option<String>,
    text: String,
}

impl Builder {
    fn new() -> Self {
        Builder {
            map: Map::new(),
            unnamed: Vec::new(),
            section: Section::None,
            field: None,
            text: String::new(),
        }
    }

    fn start(&mut self, e: &BytesStart<'_>) {
        let name = e.local_name().as_ref().to_string();
        match name.as_str() {
            "System" => self.section = Section::System,
            "EventData" => self.section = Section::EventData,
            "UserData" => self.section = Section::UserData,
            _ => {}
        }
        self.text.clear();
        self.field = match self.section {
            Section::System => {
                for a in e.attributes().flatten() {
                    let key = a.key.local_name().as_ref().to_string();
                    if let Ok(v) = a.normalized_value(XmlVersion::Implicit1_0) {
                        self.put(&format!("{name}_{key}"), v.into_owned());
                    }
                }
                Some(name)
            }
            Section::EventData if name == "Data" => Some(
                e.attributes()
                    .flatten()
                    .find(|a| a.key.local_name().as_ref() == "Name")
                    .and_then(|a| a.normalized_value(XmlVersion::Implicit1_0).ok())
                    .map(|v| v.into_owned())
                    .unwrap_or_default(),
            ),
            Section::EventData | Section::UserData => Some(name),
            Section::None => None,
        };
    }

    fn put(&mut self, key: &str, value: String) {
        if self.map.len() < MAX_FIELDS {
            put(&mut self.map, key, Value::String(value));
        }
    }

    fn text(&mut self, t: &str) {
        if self.field.is_some() && self.text.len() + t.len() <= MAX_VALUE {
            self.text.push_str(t);
        }
    }

    fn end(&mut self, local: &str) {
        if let Some(field) = self.field.take() {
            let value = std::mem::take(&mut self.text);
            let trimmed = value.trim();
            if self.section == Section::EventData && local == "Data" && field.is_empty() {
                self.unnamed.push(Value::String(trimmed.to_string()));
            } else if !trimmed.is_empty() || self.section == Section::EventData {
                self.put(&field, trimmed.to_string());
            }
        }
        match local {
            "System" | "EventData" | "UserData" => self.section = Section::None,
            _ => {}
        }
    }

    fn finish(mut self, origin: String) -> LogEvent {
        if !self.unnamed.is_empty() {
            self.map.insert("Data".into(), Value::Array(self.unnamed));
        }
        windows::finish(self.map, origin)
    }
}

/// Read every `<Event>` element.
pub fn read(
    reader: impl BufRead,
    path: &Path,
    display: &str,
    sink: &mut dyn FnMut(LogEvent),
) -> Result<FileReport, DetectError> {
    let mut report = FileReport::new(path, "windows-xml");
    let mut xml = Reader::from_reader(reader);
    let mut buf = Vec::new();
    let mut current: Option<Builder> = None;
    let mut n = 0u64;
    loop {
        buf.clear();
        let ev = match xml.read_event_into(&mut buf) {
            Ok(ev) => ev,
            Err(e) => {
                report.error(format!(
                    "XML is malformed at byte {}: {e}; the rest of the file was skipped",
                    xml.buffer_position()
                ));
                break;
            }
        };
        match ev {
            Event::Start(e) => {
                if e.local_name().as_ref() == "Event" {
                    current = Some(Builder::new());
                } else if let Some(b) = current.as_mut() {
                    b.start(&e);
                }
            }
            Event::Empty(e) => {
                if let Some(b) = current.as_mut() {
                    b.start(&e);
                    b.end(e.local_name().as_ref());
                }
            }
            Event::Text(t) => {
                if let Some(b) = current.as_mut() {
                    b.text(&t.xml10_content());
                }
            }
            Event::CData(t) => {
                if let Some(b) = current.as_mut() {
                    b.text(&t.xml10_content());
                }
            }
            Event::GeneralRef(r) => {
                if let Some(b) = current.as_mut() {
                    let resolved = match r.resolve_char_ref() {
                        Ok(Some(c)) => c.to_string(),
                        _ => match &*r {
                            "lt" => "<".into(),
                            "gt" => ">".into(),
                            "amp" => "&".into(),
                            "apos" => "'".into(),
                            "quot" => "\"".into(),
                            other => format!("&{other};"),
                        },
                    };
                    b.text(&resolved);
                }
            }
            Event::End(e) => {
                let local = e.local_name();
                if local.as_ref() == "Event" {
                    if let Some(b) = current.take() {
                        n += 1;
                        report.events += 1;
                        sink(b.finish(format!("{display}#{n}")));
                    }
                } else if let Some(b) = current.as_mut() {
                    b.end(local.as_ref());
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if current.is_some() {
        report.error("the last <Event> is not closed (truncated file?)".to_string());
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_wevtutil_export() {
        let x = r#"<?xml version="1.0"?><Events>
<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='Microsoft-Windows-Eventlog' Guid='{fc65ddd8}'/><EventID>1102</EventID><TimeCreated SystemTime='2024-05-01T03:00:00.000Z'/><Channel>Security</Channel><Computer>FRONTDESK</Computer></System><UserData><LogFileCleared xmlns='x'><SubjectUserName>eve &amp; co</SubjectUserName></LogFileCleared></UserData></Event>
<Event><System><EventID>4688</EventID><Channel>Security</Channel></System><EventData><Data Name='NewProcessName'>C:\x\vssadmin.exe</Data><Data>raw1</Data><Data Name='Empty'></Data></EventData></Event>
<Event><System><EventID>1"#;
        let mut out = Vec::new();
        let r = read(x.as_bytes(), Path::new("t.xml"), "t", &mut |e| out.push(e)).expect("read");
        assert_eq!(out.len(), 2);
        assert_eq!(r.error_count, 1);
        assert_eq!(out[0].get_str("EventID").as_deref(), Some("1102"));
        assert_eq!(
            out[0].get_str("Provider_Name").as_deref(),
            Some("Microsoft-Windows-Eventlog")
        );
        assert_eq!(
            out[0].get_str("SubjectUserName").as_deref(),
            Some("eve & co")
        );
        assert_eq!(out[0].host.as_deref(), Some("FRONTDESK"));
        assert!(out[0].timestamp.is_some());
        assert_eq!(
            out[1].get_str("Image").as_deref(),
            Some("C:\\x\\vssadmin.exe")
        );
        assert_eq!(out[1].get_str("Empty").as_deref(), Some(""));
    }
}
