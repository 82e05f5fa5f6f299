//! Samba shares that let guests in, against a real `smbd` (Debian `samba`) and its own client
//! (`smbclient -N`, no password): a file medguard says anyone can open without a password is one
//! the client fetches as a guest, and a file it says needs a password is one the client cannot.

use medguard_lab::lab_ip;
use medguard_lab::samba::{SambaConfig, start_samba};
use medguard_phi::scan::{Shares, path_exposure_in};
use std::process::Command;

/// Whether `smbclient` fetches `file` from `share` anonymously.
fn guest_can_read(ip: std::net::IpAddr, share: &str, file: &str) -> bool {
    let bin = medguard_lab::require("smbclient", "smbclient");
    let out = Command::new(bin)
        .args(["-N", "--option=client min protocol=SMB2"])
        .arg(format!("//{ip}/{share}"))
        .args(["-c", &format!("get {file} -")])
        .output()
        .expect("smbclient runs");
    out.status.success() && String::from_utf8_lossy(&out.stdout).contains("SSN")
}

#[test]
fn guest_shares_of_a_real_samba_are_open_to_anyone() {
    let shares = [
        ("frontdesk", "  guest ok = yes\n  read only = yes"),
        ("public", "  public = yes"),
        ("billing", "  read only = yes"),
        ("staff", "  guest ok = yes\n  valid users = root"),
        ("closed", "  guest ok = no"),
    ];
    let peer = start_samba(
        lab_ip(74),
        &SambaConfig {
            smb1: false,
            signing_required: false,
            netbios_name: "FRONTDESK".into(),
            workgroup: "CLINICLAB".into(),
            shares: shares
                .iter()
                .map(|(n, p)| (n.to_string(), p.to_string()))
                .collect(),
        },
    );
    let conf = std::fs::read_to_string(peer.dir.path().join("smb.conf")).expect("smb.conf");
    let parsed = Shares::from_smb_conf(&conf);
    let mut seen = Vec::new();
    for (name, _) in shares {
        let path = peer.dir.path().join(name).join("patients.csv");
        std::fs::write(&path, "name,SSN\nJane Doe,536-22-8726\n").expect("write export");
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        }
        let exposure = path_exposure_in(&path, &parsed);
        assert!(exposure.shared_folder, "{name}: {exposure:?}");
        let real = guest_can_read(peer.ip(), name, "patients.csv");
        assert_eq!(
            exposure.guest_share, real,
            "{name}: medguard says guests get in: {}, smbclient -N fetched the file: {real}",
            exposure.guest_share
        );
        seen.push((name, real));
    }
    // Both answers happen: the test can tell a wrong parse from a server that lets no one in.
    assert_eq!(
        seen,
        [
            ("frontdesk", true),
            ("public", true),
            ("billing", false),
            ("staff", false),
            ("closed", false)
        ]
    );
}

/// `net usershare add` (Samba's own tool, what the file manager's "Share this folder" runs) as
/// root, with `usershare allow guests` on, then off.
#[test]
fn folders_users_share_with_net_usershare_are_shares() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let usershares = root.join("usershares");
    std::fs::create_dir(&usershares).expect("mkdir");
    {
        use std::os::unix::fs::PermissionsExt;
        // net insists on a sticky, group-writable folder, as Debian's /var/lib/samba/usershares.
        std::fs::set_permissions(&usershares, std::fs::Permissions::from_mode(0o1770))
            .expect("chmod");
    }
    let conf_for = |guests: &str| {
        format!(
            "[global]\n  usershare path = {}\n  usershare max shares = 10\n  \
             usershare allow guests = {guests}\n",
            usershares.display()
        )
    };
    let conf = root.join("smb.conf");
    std::fs::write(&conf, conf_for("yes")).expect("write smb.conf");
    let net = medguard_lab::require("net", "samba-common-bin");
    // name, folder, guest_ok; S-1-1-0 is Everyone (read).
    for (name, guest) in [("Scans", "y"), ("Billing", "n")] {
        let folder = root.join(name);
        std::fs::create_dir(&folder).expect("mkdir share");
        let out = Command::new(&net)
            .arg("-s")
            .arg(&conf)
            .args(["usershare", "add", name])
            .arg(&folder)
            .args(["front desk", "S-1-1-0:R", &format!("guest_ok={guest}")])
            .output()
            .expect("net runs");
        assert!(
            out.status.success(),
            "net usershare add {name}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let guest_of = |shares: &Shares, name: &str| {
        let path = root.join(name).join("patients.csv");
        let e = path_exposure_in(&path, shares);
        assert!(e.shared_folder, "{name} is shared: {e:?}");
        e.guest_share
    };
    let shares = Shares::from_samba(&std::fs::read_to_string(&conf).expect("conf"));
    assert!(guest_of(&shares, "Scans"));
    assert!(!guest_of(&shares, "Billing"));
    // Samba lets no guest into a usershare unless the configuration allows it.
    let shares = Shares::from_samba(&conf_for("no"));
    assert!(!guest_of(&shares, "Scans"));
}
