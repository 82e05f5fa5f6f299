//! Containers medguard cannot look inside are named, not passed over in silence: virtual disk
//! images as `qemu-img` (Debian's qemu-utils) writes them in each format a practice's backups
//! use (a Hyper-V VHDX or VHD, a VMware VMDK, a qcow2, a VirtualBox VDI), on their own and inside
//! an archive, are reported as not checked, with what they are.

mod common;

use medguard_model::PhiProblem;
use medguard_phi::detect::Engine;
use medguard_phi::scan::scan_file;
use medguard_phi::{Hasher, ScanOptions};
use std::process::Command;

#[test]
fn disk_images_are_reported_as_not_checked() {
    let dir = medguard_lab::workdir("phi-disk-images");
    let qemu = medguard_lab::require("qemu-img", "qemu-utils");
    let opts = ScanOptions {
        min_records: 0,
        ..ScanOptions::default()
    };
    let engine = Engine::get().expect("engine");
    let hasher = Hasher::with_key([5; 32]);
    for (file, format, extra, what) in [
        ("server.vhdx", "vhdx", &[][..], "VHDX"),
        ("server.vhd", "vpc", &["-o", "subformat=dynamic"][..], "VHD"),
        ("server.vmdk", "vmdk", &[][..], "VMDK"),
        ("server.qcow2", "qcow2", &[][..], "qcow2"),
        ("server.vdi", "vdi", &[][..], "VDI"),
    ] {
        let path = dir.path().join(file);
        common::run(
            Command::new(&qemu)
                .args(["create", "-q", "-f", format])
                .args(extra)
                .arg(&path)
                .arg("64M"),
            "qemu-img create",
        );
        let o = scan_file(&path, &opts, engine, &hasher)
            .expect("scan")
            .expect("a report");
        assert_eq!(o.report.format, "unsupported", "{file}");
        assert!(o.findings.is_empty());
        assert_eq!(o.problems.len(), 1, "{file}: {:?}", o.problems);
        let (problem, text) = &o.problems[0];
        assert_eq!(*problem, PhiProblem::NotSupported, "{file}");
        assert!(text.contains(what), "{file}: {text}");
    }
    // Inside a backup archive: named by its member.
    let zipped = dir.path().join("backup.zip");
    common::run(
        Command::new(medguard_lab::require("zip", "zip"))
            .current_dir(dir.path())
            .args(["-q"])
            .arg(&zipped)
            .arg("server.qcow2"),
        "zip",
    );
    let o = scan_file(&zipped, &opts, engine, &hasher)
        .expect("scan")
        .expect("a report");
    assert!(
        o.problems
            .iter()
            .any(|(p, t)| *p == PhiProblem::NotSupported && t.contains("qcow2")),
        "{:?}",
        o.problems
    );
}
