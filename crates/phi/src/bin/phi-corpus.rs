//! Generate the labelled synthetic practice share and score the scanner against it.
//!
//! ```text
//! phi-corpus gen DIR [--seed N] [--scale N]   # DIR/corpus/... and DIR/truth.json
//! phi-corpus score DIR [--threads N]          # scan DIR/corpus, print precision/recall
//! ```

use medguard_model::{PhiFileReport, PhiFinding};
use medguard_phi::corpus::{self, Truth};
use medguard_phi::{FindingSink, Hasher, ScanOptions, SinkError};
use std::path::PathBuf;
use std::process::ExitCode;

struct Collect(Vec<PhiFinding>, u64);

impl FindingSink for Collect {
    fn file(&mut self, _r: &PhiFileReport, f: &[PhiFinding]) -> Result<(), SinkError> {
        self.0.extend_from_slice(f);
        Ok(())
    }
    fn error(
        &mut self,
        path: &str,
        _: medguard_model::PhiProblem,
        error: &str,
    ) -> Result<(), SinkError> {
        self.1 += 1;
        eprintln!("phi-corpus: {path}: {error}");
        Ok(())
    }
}

fn flag(args: &[String], name: &str, default: u64) -> Result<u64, String> {
    match args.iter().position(|a| a == name) {
        Some(i) => args
            .get(i + 1)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("{name} needs a number")),
        None => Ok(default),
    }
}

fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(cmd), Some(dir)) = (args.first(), args.get(1)) else {
        return Err("usage: phi-corpus gen|score DIR [--seed N] [--scale N] [--threads N]".into());
    };
    let dir = PathBuf::from(dir);
    match cmd.as_str() {
        "gen" => {
            let seed = flag(&args, "--seed", 7)?;
            let scale = u32::try_from(flag(&args, "--scale", 1)?).map_err(|e| e.to_string())?;
            let truth = corpus::generate(&dir.join("corpus"), seed, scale)
                .map_err(|e| format!("failed to write the corpus: {e}"))?;
            let json = serde_json::to_vec_pretty(&truth).map_err(|e| e.to_string())?;
            std::fs::write(dir.join("truth.json"), json)
                .map_err(|e| format!("failed to write truth.json: {e}"))?;
            let planted: usize = truth.files.iter().map(|f| f.values.len()).sum();
            eprintln!(
                "phi-corpus: {} files, {planted} planted values under {}",
                truth.files.len(),
                dir.join("corpus").display()
            );
            Ok(())
        }
        "score" => {
            let threads =
                usize::try_from(flag(&args, "--threads", 0)?).map_err(|e| e.to_string())?;
            let truth: Truth = serde_json::from_slice(
                &std::fs::read(dir.join("truth.json"))
                    .map_err(|e| format!("failed to read truth.json: {e}"))?,
            )
            .map_err(|e| format!("failed to parse truth.json: {e}"))?;
            let root = dir.join("corpus");
            let opts = ScanOptions {
                unmask: true,
                min_records: 0,
                threads,
                ..ScanOptions::default()
            };
            let mut sink = Collect(Vec::new(), 0);
            let sum = medguard_phi::scan(
                std::slice::from_ref(&root),
                &opts,
                &Hasher::with_key([0; 32]),
                &mut sink,
            )
            .map_err(|e| format!("failed to scan: {e}"))?;
            let score = corpus::score(&truth, &root, &sink.0);
            print!("{}", corpus::render(&score));
            println!(
                "\n{} files, {} bytes, {} errors, {} ms",
                sum.files_scanned, sum.bytes_scanned, sink.1, sum.elapsed_ms
            );
            Ok(())
        }
        other => Err(format!("unknown command {other}: use gen or score")),
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("phi-corpus: {e}");
            ExitCode::FAILURE
        }
    }
}
