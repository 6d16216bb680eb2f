//! `fw-download -i LIST`: the batch flags, and the output of a [`safe_download::batch`] run
//! (one line or JSON object per URL, one progress bar, failures on stderr, a summary line).
//! The planning, pool, journal and resume live in the library.

use anyhow::{Context, Result, anyhow};
use batch_pool::{AdaptiveConfig, Concurrency, Shard};
use fw_cli::{Exit, ProgressMode};
use safe_download::Downloader;
use safe_download::batch::{
    Batch, ItemOutcome, ItemStatus, ListSource, default_journal, parse_list, plan,
};
use std::io::Read;
use std::path::{Path, PathBuf};

/// The batch flags.
pub(crate) struct BatchArgs {
    /// The list's path, or `-` for stdin.
    input: PathBuf,
    output_dir: PathBuf,
    workers: Concurrency,
    shard: Shard,
    journal: Option<PathBuf>,
}

/// Takes the batch flags; `None` when `-i` was not given (then none of them may be).
pub(crate) fn parse_args(a: &mut pico_args::Arguments) -> Result<Option<BatchArgs>> {
    // Paths are taken as given, bytes and all (a name need not be UTF-8).
    let input: Option<PathBuf> =
        a.opt_value_from_os_str(["-i", "--input-file"], fw_cli::path_arg)?;
    let output_dir: Option<PathBuf> = a.opt_value_from_os_str("--output-dir", fw_cli::path_arg)?;
    let workers: Option<String> = a.opt_value_from_str("--workers")?;
    let max_workers: Option<usize> = a.opt_value_from_str("--max-workers")?;
    let shard: Option<String> = a.opt_value_from_str("--shard")?;
    let journal: Option<PathBuf> = a.opt_value_from_os_str("--journal", fw_cli::path_arg)?;
    let Some(input) = input else {
        if output_dir.is_some() || workers.is_some() || shard.is_some() || journal.is_some() {
            return Err(anyhow!(
                "--output-dir, --workers, --shard and --journal need -i LIST"
            ));
        }
        return Ok(None);
    };
    let max = max_workers.unwrap_or(16).max(1);
    let workers = match workers.as_deref() {
        None | Some("auto") => Concurrency::Adaptive(AdaptiveConfig {
            initial: 8.min(max),
            max,
            ..AdaptiveConfig::default()
        }),
        Some(n) => match n.parse::<usize>() {
            Ok(n) if n > 0 => Concurrency::Fixed(n),
            _ => {
                return Err(anyhow!(
                    "invalid --workers `{n}` (expected a number > 0 or auto)"
                ));
            }
        },
    };
    let shard = match shard {
        Some(s) => s.parse::<Shard>().map_err(|e| anyhow!("{e}"))?,
        None => Shard::WHOLE,
    };
    Ok(Some(BatchArgs {
        input,
        output_dir: output_dir.unwrap_or_else(|| PathBuf::from(".")),
        workers,
        shard,
        journal,
    }))
}

/// Runs the batch; `Exit::BatchPartial` when some files failed.
pub(crate) fn run(
    downloader: &Downloader,
    args: &BatchArgs,
    json: bool,
    progress: ProgressMode,
    quiet: bool,
) -> Result<Exit> {
    let text = if args.input.as_os_str() == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .context("reading the list from stdin")?;
        s
    } else {
        std::fs::read_to_string(&args.input)
            .with_context(|| format!("reading {}", args.input.display()))?
    };
    let items = parse_list(&text)?;
    std::fs::create_dir_all(&args.output_dir)
        .with_context(|| format!("creating {}", args.output_dir.display()))?;
    let planned = plan(items, &args.output_dir)?;
    let journal = match &args.journal {
        Some(j) => j.clone(),
        None => {
            let list = if args.input.as_os_str() == "-" {
                ListSource::Stdin(&text)
            } else {
                ListSource::File(&args.input)
            };
            let j = default_journal(list, &args.output_dir, args.shard)
                .context("finding the journal's folder (--journal FILE puts it elsewhere)")?;
            if !quiet {
                warn_older_journals(&args.output_dir, &j);
            }
            j
        }
    };
    let in_shard = planned
        .iter()
        .filter(|p| args.shard.contains(&p.key))
        .count();
    let bar = fw_cli::batch_bar(progress, quiet || json, in_shard as u64);
    let mut bytes = 0u64;
    let started = std::time::Instant::now();
    let batch = Batch::new(downloader.clone(), journal)
        .concurrency(args.workers)
        .retry(downloader_retry(downloader))
        .shard(args.shard);
    let summary = batch.run(planned, |o| {
        if let ItemStatus::Downloaded(d) = &o.status {
            bytes += d.bytes;
        }
        report(o, json, quiet, bar.as_ref());
        if let Some(bar) = &bar {
            let secs = started.elapsed().as_secs_f64().max(1e-3);
            bar.set_message(format!(
                "{} {}/s",
                human(bytes),
                human((bytes as f64 / secs) as u64)
            ));
            bar.inc(1);
        }
    })?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    if !quiet {
        let secs = summary.elapsed.as_secs_f64().max(1e-3);
        eprintln!(
            "fw-download: {} files: {} ok ({} skipped as complete), {} failed; {} in {:.2}s ({}/s)",
            summary.items,
            summary.ok,
            summary.skipped,
            summary.failed,
            human(summary.bytes),
            secs,
            human((summary.bytes as f64 / secs) as u64)
        );
    }
    Ok(if summary.failed > 0 {
        Exit::BatchPartial
    } else {
        Exit::Ok
    })
}

/// Names the journals that fw-download 0.1 kept in the output folder when this run's own journal
/// is new: they are no longer read by default, so finished files there would not be skipped.
fn warn_older_journals(output_dir: &Path, journal: &Path) {
    if journal.exists() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(output_dir) else {
        return;
    };
    let mut older: Vec<PathBuf> = entries
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(".fw-download.journal")
        })
        .map(|e| e.path())
        .collect();
    older.sort();
    for old in older {
        fw_cli::warn(&format!(
            "{} is an older journal, no longer read by default; give --journal {} to resume \
             from it (journals now live in {})",
            old.display(),
            old.display(),
            journal.parent().unwrap_or(journal).display()
        ));
    }
}

/// The per-file retry policy: what `--retries` set on the downloader.
fn downloader_retry(d: &Downloader) -> batch_pool::RetryPolicy {
    d.retry_policy().clone()
}

fn report(o: &ItemOutcome, json: bool, quiet: bool, bar: Option<&indicatif::ProgressBar>) {
    let p = &o.planned;
    let print = |line: String| match bar {
        Some(bar) => bar.println(line),
        None => println!("{line}"),
    };
    match &o.status {
        ItemStatus::Failed(e) => {
            let msg = format!(
                "{} -> {}: {}",
                p.item.url,
                p.path.display(),
                fw_cli::error_chain(e)
            );
            match bar {
                Some(bar) => bar.suspend(|| fw_cli::error(&msg)),
                None => fw_cli::error(&msg),
            }
            if json {
                let mut v = serde_json::json!({
                    "ok": false,
                    "url": p.item.url,
                    "error": fw_cli::error_chain(e),
                    "exit_code": Exit::from_kind(e.kind()) as u8,
                    "tries": o.tries,
                });
                crate::set_path(&mut v, &p.path);
                print(v.to_string());
            }
        }
        ItemStatus::Skipped { bytes } => {
            if json {
                let mut v = serde_json::json!({
                    "ok": true, "url": p.item.url, "bytes": bytes,
                    "skipped": true, "tries": 0,
                });
                crate::set_path(&mut v, &p.path);
                print(v.to_string());
            } else if !quiet {
                print(format!(
                    "{} ({bytes} bytes, complete before)",
                    p.path.display()
                ));
            }
        }
        ItemStatus::Downloaded(d) => {
            if json {
                let mut v = crate::downloaded_json(d);
                v["ok"] = true.into();
                v["skipped"] = false.into();
                v["tries"] = o.tries.into();
                print(v.to_string());
            } else if !quiet {
                print(format!(
                    "{} ({} bytes{})",
                    d.path.display(),
                    d.bytes,
                    if d.resumed { ", resumed" } else { "" }
                ));
            }
        }
    }
}

/// `12.3 MiB`
fn human(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = bytes as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}
