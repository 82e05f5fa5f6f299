//! Binary Windows event logs (`.evtx`) through the `evtx` crate. Damaged chunks or records are
//! counted and reported; the rest of the file is still read. A panic inside the parser on a hostile
//! file is caught and reported as an error for that file.

use super::FileReport;
use crate::error::DetectError;
use crate::event::LogEvent;
use crate::windows;
use evtx::{EvtxParser, ParserSettings};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

/// Read every record of an EVTX file from `path` into `sink`.
pub fn read(
    path: &Path,
    threads: usize,
    sink: &mut dyn FnMut(LogEvent),
) -> Result<FileReport, DetectError> {
    let parser = EvtxParser::from_path(path).map_err(|e| DetectError::Evtx {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    Ok(records(parser, path, threads, sink))
}

/// Read an EVTX file held in memory (fuzzing, tests).
pub fn read_bytes(
    data: Vec<u8>,
    name: &Path,
    sink: &mut dyn FnMut(LogEvent),
) -> Result<FileReport, DetectError> {
    let parser = EvtxParser::from_buffer(data).map_err(|e| DetectError::Evtx {
        path: name.to_path_buf(),
        reason: e.to_string(),
    })?;
    Ok(records(parser, name, 1, sink))
}

fn records<T: std::io::Read + std::io::Seek>(
    parser: EvtxParser<T>,
    path: &Path,
    threads: usize,
    sink: &mut dyn FnMut(LogEvent),
) -> FileReport {
    let display = path.display().to_string();
    let settings = ParserSettings::new()
        .num_threads(threads)
        .separate_json_attributes(false)
        .indent(false);
    let mut parser = parser.with_configuration(settings);
    let mut report = FileReport::new(path, "evtx");
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        for rec in parser.records_json_value() {
            match rec {
                Ok(r) => {
                    let origin = format!("{display}#{}", r.event_record_id);
                    match windows::from_event_json(&r.data, origin) {
                        Some(e) => {
                            report.events += 1;
                            sink(e);
                        }
                        None => report.error(format!(
                            "record {} has no System section",
                            r.event_record_id
                        )),
                    }
                }
                Err(e) => report.error(format!("skipped damaged data: {e}")),
            }
        }
    }));
    if outcome.is_err() {
        report.error(
            "the EVTX parser gave up on this file (internal panic); later records were not read"
                .to_string(),
        );
    }
    report
}
