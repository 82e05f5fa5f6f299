//! HL7 v2 replies over MLLP: framing, segment/field split, MSH/MSA lookups.
#![no_main]
use libfuzzer_sys::fuzz_target;
use medguard_discover::probes::hl7;

fuzz_target!(|data: &[u8]| {
    let _ = hl7::mllp_frame_len(data);
    if let Ok(m) = hl7::parse_message(hl7::unframe(data)) {
        for n in 1..14 {
            let _ = m.msh(n);
        }
        let _ = m.field("MSA", 1);
        let _ = hl7::build_ack(&m, "AR", "A", "F", "2.5", "x", 0);
    }
});
