//! An interface engine's log as Python writes one: python-hl7 builds an ADT message and Python's
//! `logging` writes it into a log after a time stamp and level, its segments joined by carriage
//! returns, with a later line quoting one PID segment of another patient after an error. The
//! messages inside the log are read by field position, as an HL7 file is.

mod common;

use medguard_phi::{FileOutcome, Hasher, ScanOptions, scan_bytes};

#[test]
fn python_logging_writes_hl7_into_an_interface_log() {
    let dir = medguard_lab::workdir("phi-hl7-log");
    let log = dir.path().join("interface.log");
    common::python(
        r#"
import hl7, logging, sys
logging.basicConfig(filename=sys.argv[1], format="%(asctime)s %(levelname)-5s [%(name)s] %(message)s", level=logging.INFO)
m = hl7.parse("MSH|^~\\&|EHR|SFD|MIRTH|SFD|202611281000||ADT^A04|MSG00001|P|2.5.1\rPID|1||x^^^SFD^MR||x^x||x|F|||x^^x^IL^62704||x||||||x\rPV1|1|O\r")
m.assign_field("0601648", "PID", 1, 3, 1, 1)
m.assign_field("ZORQUIL", "PID", 1, 5, 1, 1)
m.assign_field("XOCHITL", "PID", 1, 5, 1, 2)
m.assign_field("19800214", "PID", 1, 7)
m.assign_field("5871 Highland Street", "PID", 1, 11, 1, 1)
m.assign_field("(217) 632-0143", "PID", 1, 13)
m.assign_field("536228726", "PID", 1, 19)
log = logging.getLogger("ADT_IN")
log.info("Received message: %s", str(m))
log.info("Message processed")
logging.getLogger("ORU_OUT").error("Failed to send: PID|1||0601649^^^SFD^MR||NIXYSO^YSOGRA||19620314|F")
"#,
        &[log.as_os_str()],
    );
    let data = std::fs::read(&log).expect("read");
    assert!(
        data.windows(4).any(|w| w == b"\rPID"),
        "segments joined by CR"
    );
    let opts = ScanOptions {
        unmask: true,
        min_records: 0,
        ..ScanOptions::default()
    };
    let o: FileOutcome =
        scan_bytes("interface.log", &data, &opts, &Hasher::with_key([5; 32])).expect("scan");
    assert_eq!(o.report.format, "text");
    let found: Vec<(&str, &str, &str, Option<u64>)> = o
        .findings
        .iter()
        .map(|f| {
            (
                f.kind.as_str(),
                f.value.as_deref().unwrap_or_default(),
                f.location.field.as_deref().unwrap_or_default(),
                f.location.record,
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            ("mrn", "0601648", "PID-3", Some(1)),
            ("name", "ZORQUIL XOCHITL", "PID-5", Some(1)),
            ("dob", "19800214", "PID-7", Some(1)),
            ("address", "5871 Highland Street", "PID-11", Some(1)),
            ("phone", "(217) 632-0143", "PID-13", Some(1)),
            ("ssn", "536228726", "PID-19", Some(1)),
            ("mrn", "0601649", "PID-3", Some(2)),
            ("name", "NIXYSO YSOGRA", "PID-5", Some(2)),
            ("dob", "19620314", "PID-7", Some(2)),
        ]
    );
    assert_eq!(o.report.individuals, 2);
}
