//! A file's name can give a patient away where its content cannot be read: a scanned insurance
//! card saved as a picture, a password-protected workbook, a member of an archive.

mod common;

use medguard_model::PhiKind;
use medguard_phi::detect::Engine;
use medguard_phi::scan::scan_file;
use medguard_phi::{Hasher, ScanOptions};
use std::io::Write;

/// The smallest PNG: an image medguard does not read.
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\x00\x01\x00\x00\x05\x00\x01\r\n-\xb4\x00\x00\x00\x00IEND\xaeB`\x82";

#[test]
fn names_of_pictures_and_members_are_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let card = dir.path().join("Maria Gonzalez - insurance card.png");
    std::fs::write(&card, PNG).expect("write");
    let out = common::scan(&card);
    let name = out
        .findings
        .iter()
        .find(|f| f.kind == PhiKind::Name)
        .expect("the name in the file name");
    assert_eq!(name.masked, "M**** G*******");
    assert_eq!(name.location.field.as_deref(), Some("file name"));

    let scan = dir.path().join("Smith_John_DOB_02-14-1980.png");
    std::fs::write(&scan, PNG).expect("write");
    let out = common::scan(&scan);
    assert!(
        out.findings.iter().any(|f| f.kind == PhiKind::Dob),
        "{:?}",
        out.findings
    );

    // A picture whose name says nothing is not reported at all.
    let photo = dir.path().join("IMG_2041.png");
    std::fs::write(&photo, PNG).expect("write");
    let engine = Engine::get().expect("engine");
    let none = scan_file(
        &photo,
        &ScanOptions::default(),
        engine,
        &Hasher::with_key([5; 32]),
    )
    .expect("scan");
    assert!(none.is_none());

    // A member of an archive, by its own name.
    let zip_path = dir.path().join("referrals.zip");
    let mut w = zip::ZipWriter::new(std::fs::File::create(&zip_path).expect("create"));
    w.start_file(
        "2019/John Smith referral.png",
        zip::write::SimpleFileOptions::default(),
    )
    .expect("start");
    w.write_all(PNG).expect("write");
    w.finish().expect("finish");
    let out = common::scan(&zip_path);
    let name = out
        .findings
        .iter()
        .find(|f| f.kind == PhiKind::Name)
        .expect("the member's name");
    assert_eq!(
        name.location.member.as_deref(),
        Some("2019/John Smith referral.png")
    );
    assert_eq!(name.location.field.as_deref(), Some("file name"));
}
