//! The SQLite write-ahead log reader on arbitrary bytes: the first bytes (up to a length the input
//! gives) are the database image, the rest the log. It must never panic nor allocate without bound.
#![no_main]

use libfuzzer_sys::fuzz_target;
use medguard_phi::extract::sqlite::apply_wal;

fuzz_target!(|data: &[u8]| {
    let Some((&n, rest)) = data.split_first() else {
        return;
    };
    let cut = (usize::from(n) * 64).min(rest.len());
    let (db, wal) = rest.split_at(cut);
    let mut image = db.to_vec();
    if apply_wal(&mut image, wal).is_some() {
        assert!(image.len() <= db.len() + wal.len());
    }
});
