//! DICOM peers: dcmtk `storescp` (accepts any called AE title), dcmtk `dcmqrscp` (answers only its
//! configured AE title) and Orthanc, each in its own network namespace (see [`crate::netns`]).

use crate::netns::{Isolated, start_isolated};
use crate::require;
use std::net::IpAddr;

const INNER_PORT: u16 = 11112;

/// dcmtk `storescp` with AE title `STORESCP`; like most nodes it accepts any called AE title.
pub fn start_storescp(ip: IpAddr) -> Isolated {
    let bin = require("storescp", "dcmtk");
    let argv = vec![
        bin.display().to_string(),
        "--aetitle".into(),
        "STORESCP".into(),
        "--output-directory".into(),
        ".".into(),
        INNER_PORT.to_string(),
    ];
    start_isolated("storescp", ip, INNER_PORT, &argv, |_| {})
}

/// dcmtk `dcmqrscp` serving the single AE title `ae_title`: associations to any other called AE
/// title are rejected (A-ASSOCIATE-RJ, called AE title not recognized).
pub fn start_dcmqrscp(ip: IpAddr, ae_title: &str) -> Isolated {
    let bin = require("dcmqrscp", "dcmtk");
    let argv = vec![
        bin.display().to_string(),
        "--single-process".into(),
        "--config".into(),
        "dcmqrscp.cfg".into(),
    ];
    let ae = ae_title.to_string();
    start_isolated("dcmqrscp", ip, INNER_PORT, &argv, move |dir| {
        let db = dir.join("db");
        std::fs::create_dir_all(&db)
            .unwrap_or_else(|e| panic!("failed to create the dcmqrscp database directory: {e}"));
        let cfg = format!(
            "NetworkTCPPort  = {INNER_PORT}\nMaxPDUSize      = 16384\nMaxAssociations = 4\n\
             HostTable BEGIN\nHostTable END\nVendorTable BEGIN\nVendorTable END\n\
             AETable BEGIN\n{ae} {db} R (10, 1024mb) ANY\nAETable END\n",
            db = db.display()
        );
        std::fs::write(dir.join("dcmqrscp.cfg"), cfg)
            .unwrap_or_else(|e| panic!("failed to write dcmqrscp.cfg: {e}"));
    })
}

/// Orthanc with DICOM AE title `ae_title` and its HTTP server off; `check_called_aet` makes it
/// refuse associations addressed to another AE title (Orthanc's `DicomCheckCalledAet`).
pub fn start_orthanc(ip: IpAddr, ae_title: &str, check_called_aet: bool) -> Isolated {
    let bin = require("Orthanc", "orthanc");
    let argv = vec![bin.display().to_string(), "orthanc.json".into()];
    let ae = ae_title.to_string();
    start_isolated("orthanc", ip, INNER_PORT, &argv, move |dir| {
        let storage = dir.join("storage");
        std::fs::create_dir_all(&storage)
            .unwrap_or_else(|e| panic!("failed to create the orthanc storage directory: {e}"));
        let cfg = format!(
            r#"{{"Name": "LabPACS", "DicomAet": "{ae}", "DicomPort": {INNER_PORT},
                "HttpServerEnabled": false, "HttpPort": 8042, "RemoteAccessAllowed": false,
                "StorageDirectory": "{s}", "IndexDirectory": "{s}", "Plugins": [],
                "DicomCheckCalledAet": {check_called_aet}}}"#,
            s = storage.display()
        );
        std::fs::write(dir.join("orthanc.json"), cfg)
            .unwrap_or_else(|e| panic!("failed to write orthanc.json: {e}"));
    })
}
