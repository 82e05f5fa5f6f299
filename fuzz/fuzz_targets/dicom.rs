//! DICOM upper-layer PDUs (A-ASSOCIATE-AC/RJ, P-DATA-TF, ...) and C-ECHO command sets.
#![no_main]
use libfuzzer_sys::fuzz_target;
use medguard_discover::probes::dicom;

fuzz_target!(|data: &[u8]| {
    let _ = dicom::pdu_len(data);
    if let Ok(dicom::Pdu::AssociateAc(ac)) = dicom::parse_pdu(data) {
        let _ = dicom::infer_product(
            ac.implementation_class_uid.as_deref(),
            ac.implementation_version_name.as_deref(),
        );
    }
    let _ = dicom::parse_command(data);
});
