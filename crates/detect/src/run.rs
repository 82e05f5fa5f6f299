//! The offline run: files in, alerts and a timeline out, on all cores, in bounded memory.
//!
//! Phase 1 reads files in parallel and evaluates every event against the detection rules in
//! parallel batches; only events that matched some rule are kept (memory grows with matches, not with
//! input). Phase 2 sorts the matched events by time and feeds them through the correlation windows
//! (which need time order across files), then folds hits into alerts.

use crate::alerts::{Fold, Folder, Masker, TimelineRow};
use crate::engine::{Detections, RuleEngine};
use crate::event::LogEvent;
use crate::readers::{self, FileReport, ReadOptions};
use medguard_model::Alert;
use rayon::prelude::*;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

/// Events evaluated per parallel batch.
const BATCH: usize = 2048;
/// Matched events kept for the correlation phase; beyond this, matches are counted and dropped.
pub const MAX_PENDING: u64 = 500_000;

/// One file's read result and the events that matched a rule.
type FileOutcome = (
    Result<FileReport, (PathBuf, String)>,
    Vec<(LogEvent, Detections)>,
);

/// What an offline run found.
#[derive(Debug, Default)]
pub struct RunOutput {
    pub files: Vec<FileReport>,
    /// Files that could not be read at all, with the reason.
    pub failed_files: Vec<(PathBuf, String)>,
    pub events: u64,
    /// Events that matched at least one detection rule.
    pub matched_events: u64,
    /// Matched events dropped because more than [`MAX_PENDING`] were pending.
    pub dropped_matches: u64,
    pub alerts: Vec<Alert>,
    /// Every matched event and the rule it hit, in time order.
    pub timeline: Vec<TimelineRow>,
    /// Hits suppressed by the allow-list.
    pub allowed: u64,
}

fn detect_batch<E: RuleEngine + ?Sized>(
    engine: &E,
    batch: &mut Vec<LogEvent>,
    keep: &mut Vec<(LogEvent, Detections)>,
    pending: &AtomicU64,
    dropped: &AtomicU64,
) {
    let matched: Vec<(LogEvent, Detections)> = std::mem::take(batch)
        .into_par_iter()
        .filter_map(|ev| {
            let d = engine.detect(&ev);
            (!d.is_empty()).then_some((ev, d))
        })
        .collect();
    for m in matched {
        if pending.fetch_add(1, Ordering::Relaxed) < MAX_PENDING {
            keep.push(m);
        } else {
            dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Run `engine` over `files`, folding hits with `folder`.
pub fn run<E: RuleEngine>(
    files: &[PathBuf],
    opts: &ReadOptions,
    engine: &mut E,
    mut folder: Folder,
    masker: &Masker,
) -> RunOutput {
    // The EVTX parser's own thread pool blocks a rayon worker while it waits for its chunks; inside
    // our per-file parallelism that can starve the pool, so each file is parsed on one thread and
    // the cores are used across files and across detection batches instead.
    let opts = &ReadOptions {
        evtx_threads: 1,
        ..opts.clone()
    };
    let pending = AtomicU64::new(0);
    let dropped = AtomicU64::new(0);
    let shared: &E = engine;
    let per_file: Vec<FileOutcome> = files
        .par_iter()
        .map(|path| {
            let mut keep = Vec::new();
            let mut batch = Vec::with_capacity(BATCH);
            let res = readers::read_file(path, opts, &mut |ev| {
                batch.push(ev);
                if batch.len() >= BATCH {
                    detect_batch(shared, &mut batch, &mut keep, &pending, &dropped);
                }
            });
            detect_batch(shared, &mut batch, &mut keep, &pending, &dropped);
            (res.map_err(|e| (path.clone(), error_chain(&e))), keep)
        })
        .collect();
    let mut out = RunOutput::default();
    let mut matched: Vec<(LogEvent, Detections)> = Vec::new();
    for (res, keep) in per_file {
        match res {
            Ok(r) => {
                out.events += r.events;
                out.files.push(r);
            }
            Err(e) => out.failed_files.push(e),
        }
        matched.extend(keep);
    }
    out.matched_events = matched.len() as u64;
    out.dropped_matches = dropped.load(Ordering::Relaxed);
    matched.sort_by(|a, b| {
        a.0.timestamp
            .cmp(&b.0.timestamp)
            .then_with(|| a.0.origin.cmp(&b.0.origin))
    });
    for (ev, det) in matched {
        for hit in engine.correlate(&ev, det) {
            let info = engine.rule(&hit.rule_key);
            if folder.add(&hit, info, &ev) != Fold::Allowed {
                out.timeline.push(TimelineRow::new(&hit, &ev, masker));
            }
        }
    }
    out.allowed = folder.allowed;
    out.alerts = folder.into_alerts();
    out
}

/// An error and its sources as one line.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}
