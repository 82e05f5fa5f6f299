//! Who can read a file: a 0600 export shared with named users and a group by a POSIX access list
//! (`setfacl`, package `acl`; CI installs it) is exposed, though its mode bits say it is private.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

fn report(path: &Path) -> medguard_model::PhiFileReport {
    common::scan(path).report
}

/// `setfacl -m ENTRIES PATH`, which must succeed.
fn setfacl(entries: &str, path: &Path) {
    common::run(
        Command::new("setfacl").args(["-m", entries]).arg(path),
        "setfacl (apt-get install acl)",
    );
}

#[test]
fn an_access_list_shares_a_private_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("patients.csv");
    std::fs::write(
        &path,
        "name,ssn,dob\nJohn Smith,536-22-8726,02/14/1980\nMary Jones,412-55-1234,07/04/1975\n",
    )
    .expect("write");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let private = report(&path);
    assert_eq!(private.exposure.acl_readers, 0);
    assert!(!private.exposure.group_readable && !private.exposure.world_readable);

    setfacl("u:nobody:r,g:nogroup:r", &path);
    let shared = report(&path);
    assert_eq!(shared.exposure.acl_readers, 2, "{:?}", shared.exposure);
    // The mode's group bits now show the ACL mask (r), but the owning group still has no right.
    assert!(!shared.exposure.group_readable && !shared.exposure.world_readable);
    assert!(
        shared
            .exposure
            .reasons()
            .contains(&"readable by other named users or groups (access list)")
    );
    assert!(
        shared.risk > private.risk,
        "{} vs {}",
        shared.risk,
        private.risk
    );

    // A mask without read takes the named readers' right away.
    setfacl("m::-", &path);
    assert_eq!(report(&path).exposure.acl_readers, 0);
}
