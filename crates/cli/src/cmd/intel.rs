//! `medguard intel update|import|status`: the vulnerability knowledge base.

use crate::{GlobalArgs, exit, output};
use anyhow::Context;
use medguard_intel::fetch::{self, Outcome, Sources};
use medguard_intel::{MatchOptions, import_file, match_store};
use medguard_store::{IntelStore, SqliteStore};
use std::io::Write;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: Sub,
}

#[derive(Debug, clap::Subcommand)]
pub enum Sub {
    /// Download the feeds (NVD, CISA KEV, FIRST EPSS, optional CSAF advisories and FDA recalls) and
    /// load what changed.
    #[command(
        after_help = "Downloads go to FEEDS-DIR (default: `feeds/` next to the store) and resume when cut \
off. NVD yearly files whose .meta SHA-256 did not change are skipped. Each feed loads all-or-nothing; a \
failed feed keeps its previous data and makes the exit code 3."
    )]
    Update(UpdateArgs),
    /// Load feed files downloaded elsewhere (air-gapped practices): NVD CVE JSON 2.0 (yearly files or
    /// API pages, .json or .json.gz), CISA KEV JSON, EPSS CSV(.gz), CSAF 2.0 advisories, openFDA
    /// recall JSON. The format is recognised from the content.
    Import(ImportArgs),
    /// What is loaded, from where and when.
    Status,
}

#[derive(Debug, clap::Args)]
pub struct UpdateArgs {
    /// Directory URL of the NVD JSON 2.0 feed files.
    #[arg(long, env = "MEDGUARD_NVD_BASE", default_value_t = Sources::default().nvd_base)]
    pub nvd_base: String,
    /// Years of NVD yearly files to fetch, e.g. `2002-2026` or `2024`.
    #[arg(long, value_name = "FROM-TO")]
    pub years: Option<String>,
    /// Update the NVD incrementally through the CVE API 2.0 (records modified since the last API
    /// update) instead of the yearly files; optional URL of the endpoint.
    #[arg(
        long,
        value_name = "URL",
        num_args = 0..=1,
        default_missing_value = "https://services.nvd.nist.gov/rest/json/cves/2.0"
    )]
    pub nvd_api: Option<String>,
    /// Seconds to wait between NVD API requests (the NVD asks for 6 without an API key).
    #[arg(long, default_value_t = 6)]
    pub api_delay: u64,
    /// Skip the NVD (refresh KEV, EPSS, advisories and recalls only).
    #[arg(long)]
    pub skip_nvd: bool,
    /// CISA KEV catalog URL (empty to skip).
    #[arg(long, env = "MEDGUARD_KEV_URL", default_value_t = Sources::default().kev_url)]
    pub kev_url: String,
    /// FIRST EPSS scores URL (empty to skip).
    #[arg(long, env = "MEDGUARD_EPSS_URL", default_value_t = Sources::default().epss_url)]
    pub epss_url: String,
    /// A CSAF advisory to fetch (repeatable), e.g. a CISA ICSMA advisory's JSON.
    #[arg(long = "csaf-url", value_name = "URL")]
    pub csaf_urls: Vec<String>,
    /// An openFDA device recall query or file to fetch (repeatable).
    #[arg(long = "recall-url", value_name = "URL")]
    pub recall_urls: Vec<String>,
    /// Where downloads are kept.
    #[arg(long, value_name = "FEEDS-DIR")]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// Feed files.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

pub fn run(g: &GlobalArgs, args: Args) -> anyhow::Result<i32> {
    match args.command {
        Sub::Update(a) => update(g, a),
        Sub::Import(a) => import(g, a),
        Sub::Status => status(g),
    }
}

fn parse_years(s: &str) -> anyhow::Result<(u16, u16)> {
    let (a, b) = s.split_once('-').unwrap_or((s, s));
    let a: u16 = a.trim().parse().context("failed to read --years")?;
    let b: u16 = b.trim().parse().context("failed to read --years")?;
    anyhow::ensure!(
        (2002..=2100).contains(&a) && a <= b && b <= 2100,
        "failed to read --years: expected FROM-TO between 2002 and 2100"
    );
    Ok((a, b))
}

/// Re-match after loading so `vulns` and the report see the new knowledge at once.
pub(crate) fn rematch(store: &mut SqliteStore) -> anyhow::Result<usize> {
    let matches = match_store(store, MatchOptions::default()).context("failed to match")?;
    store.save_matches(&matches)?;
    Ok(matches.len())
}

fn update(g: &GlobalArgs, a: UpdateArgs) -> anyhow::Result<i32> {
    let mut store = g.open_store()?;
    let dir = match a.dir {
        Some(d) => d,
        None => store
            .path()
            .parent()
            .map(|p| p.join("feeds"))
            .unwrap_or_else(|| PathBuf::from("feeds")),
    };
    let mut sources = Sources {
        nvd_base: a.nvd_base,
        kev_url: a.kev_url,
        epss_url: a.epss_url,
        csaf_urls: a.csaf_urls,
        recall_urls: a.recall_urls,
        skip_nvd: a.skip_nvd,
        nvd_api: a.nvd_api,
        api_delay: std::time::Duration::from_secs(a.api_delay),
        ..Sources::default()
    };
    if let Some(y) = &a.years {
        sources.years = parse_years(y)?;
    }
    let chatty = !g.quiet && !g.json;
    let outcomes = fetch::update(&mut store, &sources, &dir, &mut |what| {
        if chatty {
            eprintln!("fetching {what}");
        }
    });
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut failed = 0;
    for o in &outcomes {
        match o {
            Outcome::Imported(r) => {
                if g.json {
                    output::json_line(&mut out, "intel_import", r)?;
                } else {
                    writeln!(out, "loaded   {:<28} {:>8} records", r.feed.name, r.records)?;
                }
            }
            Outcome::Unchanged(name) => {
                if g.json {
                    output::json_line(
                        &mut out,
                        "intel_unchanged",
                        &serde_json::json!({ "feed": name }),
                    )?;
                } else {
                    writeln!(out, "same     {name:<28} (unchanged since the last update)")?;
                }
            }
            Outcome::Failed(url, e) => {
                failed += 1;
                let msg = format!("{:#}", anyhow::Error::new(clone_err(e)));
                if g.json {
                    output::json_line(
                        &mut out,
                        "intel_error",
                        &serde_json::json!({ "source": url, "error": msg }),
                    )?;
                } else {
                    eprintln!("medguard: failed to {msg}");
                }
            }
        }
    }
    let n = rematch(&mut store)?;
    if !g.json && !g.quiet {
        writeln!(
            out,
            "{n} vulnerability matches on the practice's devices; see `medguard vulns`."
        )?;
    }
    Ok(if failed > 0 { exit::PARTIAL } else { exit::OK })
}

/// The error's message chain as text (IntelError is not Clone).
fn clone_err(e: &medguard_intel::IntelError) -> std::io::Error {
    let mut msg = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    std::io::Error::other(msg)
}

fn import(g: &GlobalArgs, a: ImportArgs) -> anyhow::Result<i32> {
    let mut store = g.open_store()?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut failed = 0;
    for f in &a.files {
        match import_file(&mut store, f, None) {
            Ok(r) => {
                if g.json {
                    output::json_line(&mut out, "intel_import", &r)?;
                } else {
                    writeln!(
                        out,
                        "loaded   {:<28} {:>8} records from {}",
                        r.feed.name,
                        r.records,
                        f.display()
                    )?;
                }
            }
            Err(e) => {
                failed += 1;
                let msg = format!("{:#}", anyhow::Error::new(clone_err(&e)));
                if g.json {
                    output::json_line(
                        &mut out,
                        "intel_error",
                        &serde_json::json!({ "source": f.display().to_string(), "error": msg }),
                    )?;
                } else {
                    eprintln!(
                        "medguard: failed to {msg} (nothing from {} was loaded)",
                        f.display()
                    );
                }
            }
        }
    }
    let n = rematch(&mut store)?;
    if !g.json && !g.quiet {
        writeln!(
            out,
            "{n} vulnerability matches on the practice's devices; see `medguard vulns`."
        )?;
    }
    Ok(if failed > 0 { exit::PARTIAL } else { exit::OK })
}

fn status(g: &GlobalArgs) -> anyhow::Result<i32> {
    let store = g.open_store()?;
    let feeds = store.feeds()?;
    let counts = store.intel_counts()?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if g.json {
        for f in &feeds {
            output::json_line(&mut out, "intel_feed", f)?;
        }
        output::json_line(&mut out, "intel_counts", &counts)?;
        return Ok(exit::OK);
    }
    if feeds.is_empty() {
        writeln!(
            out,
            "No vulnerability feeds loaded yet. Run `medguard intel update` (online) or \
             `medguard intel import FILE...` (offline)."
        )?;
    } else {
        writeln!(
            out,
            "{:<28} {:>9}  {:<26} {:<25} SOURCE",
            "FEED", "RECORDS", "LOADED", "VERSION"
        )?;
        for f in &feeds {
            writeln!(
                out,
                "{:<28} {:>9}  {:<26} {:<25} {}",
                f.name,
                f.records,
                f.imported_at.get(..19).unwrap_or(&f.imported_at),
                f.version.get(..25.min(f.version.len())).unwrap_or_default(),
                f.source
            )?;
        }
    }
    writeln!(
        out,
        "\n{} CVEs, {} known exploited (KEV), {} EPSS scores, {} advisories, {} recalls, {} SBOMs, {} MDS2 forms",
        counts.cves,
        counts.kev,
        counts.epss,
        counts.advisories,
        counts.recalls,
        counts.sboms,
        counts.mds2
    )?;
    Ok(exit::OK)
}
