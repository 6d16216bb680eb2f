//! Project automation, run as `cargo xtask <task>` (see `.cargo/config.toml`).
//!
//! Each task is a function that reads top to bottom like the steps a person would type.

mod bench_batch;
mod bench_download;
mod bench_download_batch;
mod bench_put;
mod bench_scan;
mod bench_upload;
mod bench_util;
mod demo;
mod deps;
mod eval;
mod eval_scans;
mod models;
mod noise;
mod test;
mod tidy;
mod util;

use anyhow::{Result, bail};

const USAGE: &str = "\
cargo xtask <task>

tasks:
  test                      fmt check, clippy -D warnings, doc, all tests (installs what tests need)
  demo                      walk through every app against the loopback testbed
  bench [upload|put|download|batch|scan|parse|chunk|all]
                            budgets of ARCHITECTURE.md, as ratios against peers measured in the same run
  eval [--data FILE.jsonl]  receipt-parse accuracy on a receipt set (default ../shared/data/sroie/dev.jsonl)
  eval --noise              the same under 0/2/5/10 % OCR character noise (a robustness curve)
  eval --texts DIR --truth FILE.jsonl...
                            accuracy on OCR text files DIR/ID.txt against `id` + `truth` lines
  eval --scans [DIR]        every OCR engine end to end on scans: totals, dates, merchants, CPU s/scan
                            (default ../shared/data/sroie/scans + images)
  models                    install the PP-OCR models into the user's cache
";

fn main() -> Result<()> {
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    if args.is_empty() {
        print!("{USAGE}");
        return Ok(());
    }
    let task = args.remove(0).to_string_lossy().into_owned();
    let rest_args = args.clone();
    let rest = pico_args::Arguments::from_vec(args);
    match task.as_str() {
        "test" => test::run(rest),
        "demo" => demo::run(rest),
        "bench" => bench(rest),
        "eval" if rest_has(&rest_args, "--scans") => eval_scans::run(rest),
        "eval" => eval::run(rest),
        "models" => models::run(rest),
        "-h" | "--help" | "help" => {
            print!("{USAGE}");
            Ok(())
        }
        other => bail!("unknown task `{other}`\n\n{USAGE}"),
    }
}

/// Whether `flag` is among the arguments.
fn rest_has(args: &[std::ffi::OsString], flag: &str) -> bool {
    args.iter().any(|a| a == flag)
}

fn bench(mut args: pico_args::Arguments) -> Result<()> {
    let which: Option<String> = args.opt_free_from_str()?;
    match which.as_deref().unwrap_or("all") {
        "upload" => bench_upload::run(args),
        "put" => bench_put::run(args),
        "download" => bench_download::run(args),
        "batch" => bench_batch::run(args),
        "scan" => bench_scan::run(args),
        "parse" => eval::bench(args),
        "chunk" => bench_chunk(),
        "all" => {
            bench_upload::run(pico_args::Arguments::from_vec(vec![]))?;
            bench_put::run(pico_args::Arguments::from_vec(vec![]))?;
            bench_download::run(pico_args::Arguments::from_vec(vec![]))?;
            bench_batch::run(pico_args::Arguments::from_vec(vec![]))?;
            eval::bench(pico_args::Arguments::from_vec(vec![]))?;
            bench_chunk()?;
            bench_scan::run(pico_args::Arguments::from_vec(vec![]))
        }
        other => bail!("unknown bench `{other}`\n\n{USAGE}"),
    }
}

/// chunk-stream's flat-memory measurement: 256 MiB read in 8 KiB chunks, peak RSS growth printed.
fn bench_chunk() -> Result<()> {
    util::step("bench chunk: 256 MiB through Chunks + ProgressReader, peak RSS growth");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    util::run(
        std::process::Command::new(cargo)
            .current_dir(util::root())
            .args([
                "test",
                "--release",
                "-q",
                "-p",
                "chunk-stream",
                "--test",
                "flat_memory",
                "--",
                "--ignored",
                "--nocapture",
            ]),
    )
}
