//! `intel update` against local HTTP servers on 127.0.0.1: our own Range-capable fixture server
//! (to check resume and what the client asked for) and Python's `http.server` as a third-party peer.

use medguard_intel::fetch::{self, Outcome, Sources};
use medguard_store::{IntelStore, SqliteStore};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// A tiny HTTP/1.1 file server with `Range: bytes=N-` support, recording each request line and
/// Range header. Serves until the test ends (the thread is detached; requests are bounded).
fn serve(dir: PathBuf) -> (SocketAddr, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let log = Arc::new(Mutex::new(Vec::new()));
    let seen = log.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(64) {
            let Ok(mut s) = stream else { continue };
            let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
            let mut r = BufReader::new(s.try_clone().expect("clone"));
            let mut line = String::new();
            if r.read_line(&mut line).is_err() {
                continue;
            }
            let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
            let mut range: Option<u64> = None;
            loop {
                let mut h = String::new();
                if r.read_line(&mut h).is_err() || h.trim().is_empty() {
                    break;
                }
                if let Some(v) = h.to_ascii_lowercase().strip_prefix("range: bytes=") {
                    range = v.trim().trim_end_matches('-').parse().ok();
                }
            }
            seen.lock().expect("log").push(format!(
                "{path}{}",
                range.map(|r| format!(" range={r}")).unwrap_or_default()
            ));
            let file = dir.join(
                path.split('?')
                    .next()
                    .unwrap_or_default()
                    .trim_start_matches('/'),
            );
            let Ok(body) = std::fs::read(&file) else {
                let _ = s.write_all(
                    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
                continue;
            };
            let total = body.len() as u64;
            let (status, start) = match range {
                Some(n) if n < total => ("206 Partial Content", n),
                _ => ("200 OK", 0),
            };
            let part = &body[start as usize..];
            let mut head = format!(
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n",
                part.len()
            );
            if start > 0 {
                head.push_str(&format!(
                    "Content-Range: bytes {start}-{}/{total}\r\n",
                    total - 1
                ));
            }
            head.push_str("\r\n");
            let _ = s.write_all(head.as_bytes());
            let _ = s.write_all(part);
        }
    });
    (addr, log)
}

#[test]
fn update_downloads_checks_and_skips_unchanged() {
    let (addr, log) = serve(fixtures());
    let base = format!("http://{addr}");
    let work = tempfile::tempdir().expect("tempdir");
    let mut store = SqliteStore::in_memory().expect("store");
    let sources = Sources {
        nvd_base: base.clone(),
        years: (2024, 2024),
        kev_url: format!("{base}/known_exploited_vulnerabilities.json"),
        epss_url: format!("{base}/epss_scores-2025-03-20.csv.gz"),
        csaf_urls: vec![format!("{base}/icsma-25-030-01.json")],
        recall_urls: vec![format!("{base}/openfda-device-recall.json")],
        skip_nvd: false,
        nvd_api: None,
        api_delay: Duration::ZERO,
    };
    let out = fetch::update(&mut store, &sources, work.path(), &mut |_| {});
    let summary: Vec<String> = out
        .iter()
        .map(|o| match o {
            Outcome::Imported(r) => format!("ok {}", r.feed.name),
            Outcome::Unchanged(n) => format!("same {n}"),
            Outcome::Failed(u, _) => format!("failed {}", u.rsplit('/').next().unwrap_or_default()),
        })
        .collect();
    // There is no `modified` feed on this server: that one fails, the others load.
    assert_eq!(
        summary,
        [
            "ok nvd:2024",
            "failed nvdcve-2.0-modified.meta",
            "ok kev",
            "ok epss",
            "ok csaf:ICSMA-25-030-01",
            "ok openfda"
        ]
    );
    assert!(store.cve("CVE-2024-6387").expect("q").is_some());
    // The .meta sha256 was checked and recorded.
    let meta = std::fs::read_to_string(fixtures().join("nvdcve-2.0-2024.meta")).expect("meta");
    let feed = store
        .feeds()
        .expect("feeds")
        .into_iter()
        .find(|f| f.name == "nvd:2024")
        .expect("feed");
    assert!(meta.contains(&feed.sha256), "{}", feed.sha256);
    // Second run: the yearly file is unchanged and not downloaded again.
    log.lock().expect("log").clear();
    let again = fetch::update(
        &mut store,
        &Sources {
            kev_url: String::new(),
            epss_url: String::new(),
            csaf_urls: Vec::new(),
            recall_urls: Vec::new(),
            ..sources.clone()
        },
        work.path(),
        &mut |_| {},
    );
    assert!(matches!(&again[0], Outcome::Unchanged(n) if n == "nvd:2024"));
    let requests = log.lock().expect("log").clone();
    assert!(
        !requests.iter().any(|r| r.contains(".json.gz")),
        "{requests:?}"
    );
}

#[test]
fn download_resumes_with_range() {
    let (addr, log) = serve(fixtures());
    let work = tempfile::tempdir().expect("tempdir");
    let dest = work.path().join("kev.json");
    let full =
        std::fs::read(fixtures().join("known_exploited_vulnerabilities.json")).expect("read");
    // An earlier download was cut off after 500 bytes.
    std::fs::write(work.path().join("kev.json.part"), &full[..500]).expect("part");
    let agent = fetch::agent();
    let url = format!("http://{addr}/known_exploited_vulnerabilities.json");
    let got = fetch::download(&agent, &url, &dest).expect("download");
    assert_eq!(got as usize, full.len() - 500);
    assert_eq!(std::fs::read(&dest).expect("read"), full);
    assert_eq!(
        log.lock().expect("log").as_slice(),
        ["/known_exploited_vulnerabilities.json range=500"]
    );
    // A 404 is a clear per-feed error.
    let e =
        fetch::download(&agent, &format!("http://{addr}/missing.json"), &dest).expect_err("404");
    assert!(e.to_string().contains("404"), "{e}");
}

/// Python's http.server (a third-party peer, no Range support) serves the KEV and EPSS files.
#[test]
fn update_from_python_http_server() {
    let python = medguard_lab::python();
    let ip = medguard_lab::lab_ip(61);
    let port = medguard_lab::free_tcp_port(ip);
    let addr = SocketAddr::new(ip, port);
    let mut cmd = std::process::Command::new(python);
    cmd.args([
        "-m",
        "http.server",
        &port.to_string(),
        "--bind",
        &ip.to_string(),
        "--directory",
    ])
    .arg(fixtures());
    let peer = medguard_lab::spawn(
        "http.server",
        cmd,
        addr,
        medguard_lab::workdir("intel-http"),
        |c| medguard_lab::wait_tcp("http.server", addr, Duration::from_secs(10), c),
    );
    let base = format!("http://{}", peer.addr);
    let work = tempfile::tempdir().expect("tempdir");
    let mut store = SqliteStore::in_memory().expect("store");
    let out = fetch::update(
        &mut store,
        &Sources {
            skip_nvd: true,
            kev_url: format!("{base}/known_exploited_vulnerabilities.json"),
            epss_url: format!("{base}/epss_scores-2025-03-20.csv.gz"),
            ..Sources::default()
        },
        work.path(),
        &mut |_| {},
    );
    assert_eq!(out.len(), 2);
    for o in &out {
        assert!(matches!(o, Outcome::Imported(_)), "{o:?}");
    }
    let c = store.intel_counts().expect("counts");
    assert_eq!((c.kev, c.epss), (2, 3));
    // The peer logged both requests.
    let mut logged = String::new();
    std::fs::File::open(peer.dir.path().join("http.server.err"))
        .and_then(|mut f| f.read_to_string(&mut logged))
        .expect("peer log");
    assert!(
        logged.contains("GET /known_exploited_vulnerabilities.json"),
        "{logged}"
    );
}

/// Incremental update through the NVD CVE API 2.0: the query carries the lastMod window and paging,
/// the page is imported, and the next run starts where this one ended.
#[test]
fn nvd_api_incremental() {
    let dir = tempfile::tempdir().expect("tempdir");
    // The server ignores the query string: every request gets the fixture page (3 records).
    std::fs::copy(
        fixtures().join("nvd-api-page.json"),
        dir.path().join("cves"),
    )
    .expect("copy");
    let (addr, log) = serve(dir.path().to_path_buf());
    let mut store = SqliteStore::in_memory().expect("store");
    let sources = Sources {
        nvd_api: Some(format!("http://{addr}/cves")),
        api_delay: Duration::ZERO,
        kev_url: String::new(),
        epss_url: String::new(),
        ..Sources::default()
    };
    let out = fetch::update(&mut store, &sources, dir.path(), &mut |_| {});
    assert!(
        matches!(out.last(), Some(Outcome::Imported(r)) if r.feed.name == "nvd:api" && r.records == 3),
        "{out:?}"
    );
    assert_eq!(store.intel_counts().expect("counts").cves, 3);
    let first = log.lock().expect("log").clone();
    assert_eq!(first.len(), 1, "{first:?}");
    assert!(first[0].starts_with("/cves?lastModStartDate="), "{first:?}");
    assert!(
        first[0].contains("&startIndex=0&resultsPerPage=2000"),
        "{first:?}"
    );
    let version = store
        .feeds()
        .expect("feeds")
        .into_iter()
        .find(|f| f.name == "nvd:api")
        .expect("feed")
        .version;
    // The next run asks for records modified since the end of this one.
    log.lock().expect("log").clear();
    fetch::update(&mut store, &sources, dir.path(), &mut |_| {});
    let second = log.lock().expect("log").clone();
    assert!(
        second[0].contains(&format!("lastModStartDate={version}")),
        "{second:?} vs {version}"
    );
}
