//! `medguard watch`: receive syslog live (UDP, TCP, TLS), run the same rules, store and print alerts.

use crate::cmd::detect::{RuleArgs, masker, print_alert};
use crate::{GlobalArgs, exit, output};
use medguard_detect::alerts::Fold;
use medguard_detect::live::{DEFAULT_QUEUE, Live, LiveConfig, TlsFiles};
use medguard_detect::readers::syslog;
use medguard_detect::{RuleEngine, SourceKind};
use medguard_store::AlertStore;
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where to listen: udp://ADDR:PORT, tcp://ADDR:PORT or tls://ADDR:PORT (repeatable).
    #[arg(long = "syslog", required = true, value_name = "URL")]
    pub syslog: Vec<String>,
    /// Certificate chain (PEM) for tls:// listeners.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// Private key (PEM) for tls:// listeners.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    #[command(flatten)]
    pub rules: RuleArgs,
    /// Messages buffered between the listeners and the engine.
    #[arg(long, default_value_t = DEFAULT_QUEUE)]
    pub queue: usize,
    /// Stop after this many messages (for tests and benchmarks).
    #[arg(long, value_name = "N")]
    pub max_events: Option<u64>,
    /// Stop after this many seconds.
    #[arg(long, value_name = "SECS")]
    pub duration: Option<u64>,
}

#[derive(serde::Serialize)]
struct WatchStats {
    received: u64,
    processed: u64,
    dropped: u64,
    malformed: u64,
    alerts: usize,
    seconds: f64,
    events_per_second: f64,
    /// From the first received to the last processed message: time spent under load.
    busy_seconds: f64,
    /// `processed / busy_seconds`: the sustained rate, without idle time before the first message.
    sustained_events_per_second: f64,
}

pub fn run(g: &GlobalArgs, args: Args) -> anyhow::Result<i32> {
    let (mut engine, _) = args.rules.engine(g)?;
    let mut store = g.open_store()?;
    let masker = masker(store.path())?;
    let mut folder = args.rules.folder(&masker)?;
    let tls = match (args.tls_cert, args.tls_key) {
        (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
        _ => None,
    };
    let mut live = Live::start(&LiveConfig {
        listeners: args.syslog.clone(),
        tls,
        queue: args.queue,
    })?;
    if !g.quiet {
        eprintln!(
            "medguard: {} detection rules apply to syslog events (the others are routed away)",
            engine.detection_rules_for(SourceKind::Syslog)
        );
        for (url, addr) in live.bound() {
            eprintln!("medguard: listening on {url} ({addr})");
        }
    }
    let run_id = store.begin_detect_run("watch")?;
    let mut stored: HashMap<usize, i64> = HashMap::new();
    let mut dirty: Vec<usize> = Vec::new();
    let mut last_flush = Instant::now();
    let started = Instant::now();
    let deadline = args.duration.map(|d| started + Duration::from_secs(d));
    let mut processed = 0u64;
    // First message taken off the queue, and when the last one was done.
    let mut first_at: Option<Instant> = None;
    let mut last_at = started;
    let stdout = std::io::stdout();
    let mut batch = Vec::with_capacity(1024);
    loop {
        if args.max_events.is_some_and(|m| processed >= m)
            || deadline.is_some_and(|d| Instant::now() >= d)
        {
            break;
        }
        batch.clear();
        if let Some(first) = live.recv_timeout(Duration::from_millis(200)) {
            first_at.get_or_insert_with(Instant::now);
            batch.push(first);
            live.drain(1023, &mut batch);
        }
        let busy = !batch.is_empty();
        for msg in batch.drain(..) {
            processed += 1;
            let ev = syslog::parse_message(&msg.text, msg.peer);
            let det = engine.detect(&ev);
            if det.is_empty() {
                continue;
            }
            for hit in engine.correlate(&ev, det) {
                let info = engine.rule(&hit.rule_key);
                match folder.add(&hit, info, &ev) {
                    Fold::New(idx) => {
                        if let Some(a) = folder.alerts().get(idx) {
                            let ids = store.record_alerts(run_id, std::slice::from_ref(a))?;
                            if let Some(id) = ids.first() {
                                stored.insert(idx, *id);
                            }
                            let mut w = stdout.lock();
                            if g.json {
                                output::json_line(&mut w, "alert", a)?;
                            } else {
                                print_alert(&mut w, a)?;
                            }
                        }
                    }
                    Fold::Folded(idx) => dirty.push(idx),
                    Fold::Allowed => {}
                }
            }
        }
        if busy {
            last_at = Instant::now();
        }
        if !dirty.is_empty() && last_flush.elapsed() >= Duration::from_secs(2) {
            flush(&mut store, &folder, &stored, &mut dirty)?;
            last_flush = Instant::now();
        }
    }
    flush(&mut store, &folder, &stored, &mut dirty)?;
    let (received, dropped, malformed) = live.stats().snapshot();
    let secs = started.elapsed().as_secs_f64();
    let busy_secs = first_at.map_or(0.0, |f| last_at.duration_since(f).as_secs_f64());
    let stats = WatchStats {
        received,
        processed,
        dropped,
        malformed,
        alerts: folder.alerts().len(),
        seconds: secs,
        events_per_second: processed as f64 / secs.max(1e-9),
        busy_seconds: busy_secs,
        sustained_events_per_second: processed as f64 / busy_secs.max(1e-9),
    };
    if g.json {
        output::json_line(&mut stdout.lock(), "watch_summary", &stats)?;
    } else if !g.quiet {
        eprintln!(
            "medguard: {} received, {} processed, {} dropped (queue full), {} malformed, {} alerts, {:.0} events/s sustained ({:.0} overall)",
            stats.received,
            stats.processed,
            stats.dropped,
            stats.malformed,
            stats.alerts,
            stats.sustained_events_per_second,
            stats.events_per_second
        );
    }
    Ok(if dropped > 0 { exit::PARTIAL } else { exit::OK })
}

fn flush(
    store: &mut medguard_store::SqliteStore,
    folder: &medguard_detect::alerts::Folder,
    stored: &HashMap<usize, i64>,
    dirty: &mut Vec<usize>,
) -> anyhow::Result<()> {
    dirty.sort_unstable();
    dirty.dedup();
    for idx in dirty.drain(..) {
        if let (Some(id), Some(a)) = (stored.get(&idx), folder.alerts().get(idx)) {
            store.update_alert(*id, a)?;
        }
    }
    Ok(())
}
