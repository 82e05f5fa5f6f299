//! CUPS (Debian `cups-daemon`): a real IPP print server for the IPP probe.
//!
//! `cupsd` runs in the foreground with its own `cupsd.conf`/`cups-files.conf` in a work directory
//! (never the system's), listening on a free loopback port, with one raw queue whose make and
//! model, description and location the test chooses. The queue prints to `/dev/null`.

use crate::{Peer, free_tcp_port, require, spawn, wait_tcp, workdir};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::Command;
use std::time::Duration;

/// The queue the CUPS peer offers (its default printer).
#[derive(Debug, Clone)]
pub struct CupsPrinter {
    pub name: String,
    pub make_and_model: String,
    pub info: String,
    pub location: String,
}

/// Start cupsd on 127.0.0.1 and a free port.
pub fn start_cupsd(printer: &CupsPrinter) -> Peer {
    let bin = require("cupsd", "cups-daemon");
    let dir = workdir("cups");
    let root = dir.path().to_path_buf();
    for sub in ["spool", "cache", "state", "tmp", "log", "ppd"] {
        std::fs::create_dir_all(root.join(sub))
            .unwrap_or_else(|e| panic!("failed to create the cups {sub} directory: {e}"));
    }
    let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let port = free_tcp_port(ip);
    let write = |name: &str, text: String| {
        std::fs::write(root.join(name), text)
            .unwrap_or_else(|e| panic!("failed to write {name}: {e}"));
    };
    write(
        "cupsd.conf",
        format!(
            "Listen 127.0.0.1:{port}\nLogLevel warn\nBrowsing No\nWebInterface No\n\
             DefaultAuthType None\n<Location />\n  Order allow,deny\n  Allow all\n</Location>\n"
        ),
    );
    let r = root.display();
    write(
        "cups-files.conf",
        format!(
            "ServerRoot {r}\nRequestRoot {r}/spool\nCacheDir {r}/cache\nStateDir {r}/state\n\
             TempDir {r}/tmp\nErrorLog {r}/log/error_log\nAccessLog {r}/log/access_log\n\
             PageLog {r}/log/page_log\nFileDevice Yes\n"
        ),
    );
    let clean = |s: &str| s.replace(['\n', '\r', '<', '>'], " ");
    write(
        "printers.conf",
        format!(
            "<DefaultPrinter {}>\nInfo {}\nLocation {}\nMakeModel {}\nDeviceURI file:///dev/null\n\
             State Idle\nAccepting Yes\nShared Yes\n</DefaultPrinter>\n",
            clean(&printer.name),
            clean(&printer.info),
            clean(&printer.location),
            clean(&printer.make_and_model),
        ),
    );
    // A minimal PostScript PPD (Adobe PPD spec 4.3) so the queue is a modelled printer, not a raw
    // queue: CUPS then reports the make and model the test chose.
    write(
        &format!("ppd/{}.ppd", clean(&printer.name)),
        format!(
            "*PPD-Adobe: \"4.3\"\n*FormatVersion: \"4.3\"\n*FileVersion: \"1.0\"\n\
             *LanguageVersion: English\n*LanguageEncoding: ISOLatin1\n*PCFileName: \"LAB.PPD\"\n\
             *Manufacturer: \"Lab\"\n*Product: \"(Lab)\"\n*ModelName: \"{mm}\"\n\
             *ShortNickName: \"{mm}\"\n*NickName: \"{mm}\"\n*PSVersion: \"(3010.000) 0\"\n\
             *LanguageLevel: \"3\"\n*ColorDevice: False\n*DefaultColorSpace: Gray\n\
             *FileSystem: False\n*Throughput: \"1\"\n*LandscapeOrientation: Plus90\n\
             *TTRasterizer: Type42\n*OpenUI *PageSize/Media Size: PickOne\n*DefaultPageSize: Letter\n\
             *PageSize Letter/US Letter: \"<</PageSize[612 792]>>setpagedevice\"\n*CloseUI: *PageSize\n\
             *OpenUI *PageRegion: PickOne\n*DefaultPageRegion: Letter\n\
             *PageRegion Letter/US Letter: \"<</PageSize[612 792]>>setpagedevice\"\n*CloseUI: *PageRegion\n\
             *DefaultImageableArea: Letter\n*ImageableArea Letter/US Letter: \"18 36 594 756\"\n\
             *DefaultPaperDimension: Letter\n*PaperDimension Letter/US Letter: \"612 792\"\n",
            mm = clean(&printer.make_and_model).replace('"', ""),
        ),
    );
    let mut cmd = Command::new(bin);
    cmd.arg("-f")
        .arg("-c")
        .arg(root.join("cupsd.conf"))
        .arg("-s")
        .arg(root.join("cups-files.conf"));
    let addr = SocketAddr::new(ip, port);
    spawn("cupsd", cmd, addr, dir, |child| {
        wait_tcp("cupsd", addr, Duration::from_secs(15), child);
    })
}
