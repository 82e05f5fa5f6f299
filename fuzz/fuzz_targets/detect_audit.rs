#![no_main]
//! EHR audit CSV/JSON reading through the generic column map never panics.
use libfuzzer_sys::fuzz_target;
use medguard_detect::readers::audit::{self, AuditMap};

fuzz_target!(|data: &[u8]| {
    let Ok(maps) = AuditMap::builtins() else {
        return;
    };
    let Some(map) = maps.first() else { return };
    let mut input = b"User,Patient ID,Action,Timestamp,Workstation\n".to_vec();
    input.extend_from_slice(data);
    let _ = audit::read(
        &input[..],
        std::path::Path::new("fuzz.csv"),
        "fuzz",
        map,
        &mut |_| {},
    );
    let _ = audit::read(
        data,
        std::path::Path::new("fuzz.csv"),
        "fuzz",
        map,
        &mut |_| {},
    );
});
