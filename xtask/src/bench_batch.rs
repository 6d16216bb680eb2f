//! `cargo xtask bench batch`: 2000 × 16 KiB files to a server that serves 8 at once (429 +
//! Retry-After past that) with 10 ms service time; wall time as a ratio to the ideal
//! 2000 × 10 ms / 8 = 2.5 s with `--workers 8` and `--workers auto`, and the share of tries
//! answered 429. Budget (ARCHITECTURE.md, Budgets): ≤ 1.15× with 8 workers; ≤ 1.5× and ≤ 5 % 429 with auto.

use crate::util;
use anyhow::{Context, Result, bail};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const FILES: usize = 2000;
const FILE_SIZE: usize = 16 * 1024;
const SERVER_LIMIT: usize = 8;
const SERVICE_MS: u64 = 10;

/// Runs the task: `cargo xtask bench batch [--runs N] [--retry-after S]`.
pub fn run(mut args: pico_args::Arguments) -> Result<()> {
    let runs: usize = args.opt_value_from_str("--runs")?.unwrap_or(3).max(1);
    let retry_after: u64 = args.opt_value_from_str("--retry-after")?.unwrap_or(0);
    util::reject_rest(args)?;

    util::step("building fw-batch and fw-testbed (release)");
    util::run(Command::new("cargo").current_dir(util::root()).args([
        "build",
        "--release",
        "--quiet",
        "-p",
        "fw-batch",
        "-p",
        "fw-testbed",
    ]))?;
    let bin = crate::bench_util::target_dir().join("release");

    util::step(&format!("writing {FILES} files of {FILE_SIZE} bytes"));
    let scratch = util::scratch("bench-batch")?;
    let files = scratch.join("files");
    make_files(&files)?;

    let ideal = Duration::from_millis(FILES as u64 * SERVICE_MS / SERVER_LIMIT as u64);
    let mut failed = Vec::new();
    for (workers, max_ratio, max_429) in [("8", 1.15, None), ("auto", 1.5, Some(0.05))] {
        util::step(&format!(
            "fw-batch --workers {workers}: {runs} run(s), server limit {SERVER_LIMIT}, {SERVICE_MS} ms service, Retry-After: {retry_after}"
        ));
        let mut results = Vec::new();
        for _ in 0..runs {
            let r = one_run(&bin, &files, &scratch, workers, retry_after)?;
            eprintln!(
                "  {:.3} s ({:.3}x ideal), {} of {} tries answered 429 ({:.2} %)",
                r.wall.as_secs_f64(),
                r.wall.as_secs_f64() / ideal.as_secs_f64(),
                r.overloads,
                r.tries,
                r.share_429() * 100.0
            );
            results.push(r);
        }
        results.sort_by_key(|r| r.wall);
        let median = &results[results.len() / 2];
        let ratio = median.wall.as_secs_f64() / ideal.as_secs_f64();
        let share = median.share_429();
        let ok_ratio = ratio <= max_ratio;
        let ok_share = max_429.is_none_or(|m| share <= m);
        println!(
            "batch --workers {workers:<4} median {:.3} s = {ratio:.3}x ideal {:.1} s (budget {max_ratio}x) {}; 429 share {:.2} %{} {}",
            median.wall.as_secs_f64(),
            ideal.as_secs_f64(),
            verdict(ok_ratio),
            share * 100.0,
            max_429
                .map(|m| format!(" (budget {:.0} %)", m * 100.0))
                .unwrap_or_default(),
            if max_429.is_some() {
                verdict(ok_share)
            } else {
                ""
            },
        );
        if !ok_ratio || !ok_share {
            failed.push(workers);
        }
    }
    if !failed.is_empty() {
        bail!(
            "batch bench over budget for --workers {}",
            failed.join(", ")
        );
    }
    Ok(())
}

fn verdict(ok: bool) -> &'static str {
    if ok { "ok" } else { "OVER BUDGET" }
}

/// Deterministic, distinct files (kept between runs when already complete).
fn make_files(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    let complete = std::fs::read_dir(dir)?.count() == FILES
        && (0..FILES).all(|i| {
            std::fs::metadata(dir.join(name(i))).is_ok_and(|m| m.len() == FILE_SIZE as u64)
        });
    if complete {
        return Ok(());
    }
    for i in 0..FILES {
        let mut bytes = Vec::with_capacity(FILE_SIZE);
        let mut x = (i as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        while bytes.len() < FILE_SIZE {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            bytes.extend_from_slice(&x.to_le_bytes());
        }
        bytes.truncate(FILE_SIZE);
        std::fs::write(dir.join(name(i)), &bytes)?;
    }
    Ok(())
}

fn name(i: usize) -> String {
    format!("photo-{i:04}.bin")
}

struct RunResult {
    wall: Duration,
    tries: u64,
    overloads: u64,
}

impl RunResult {
    fn share_429(&self) -> f64 {
        if self.tries == 0 {
            0.0
        } else {
            self.overloads as f64 / self.tries as f64
        }
    }
}

/// The testbed in its own release process, stopped on drop.
struct Server {
    child: Child,
    url: String,
}

impl Server {
    fn start(bin: &Path, retry_after: u64) -> Result<Server> {
        let mut child = Command::new(bin.join("fw-testbed"))
            .args(["--port", "0", "--rate-limit", &SERVER_LIMIT.to_string()])
            .args(["--service-ms", &SERVICE_MS.to_string()])
            .args(["--retry-after", &retry_after.to_string()])
            .stdout(Stdio::piped())
            .spawn()
            .context("starting fw-testbed")?;
        let mut line = String::new();
        BufReader::new(child.stdout.take().context("fw-testbed stdout")?).read_line(&mut line)?;
        let base = line
            .trim()
            .strip_prefix("listening on ")
            .with_context(|| format!("fw-testbed said {line:?}"))?;
        Ok(Server {
            url: format!("{base}/ratelimit/upload"),
            child,
        })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn one_run(
    bin: &Path,
    files: &Path,
    scratch: &Path,
    workers: &str,
    retry_after: u64,
) -> Result<RunResult> {
    let server = Server::start(bin, retry_after)?;
    let journal = scratch.join("journal.jsonl");
    let out_path = scratch.join("results.jsonl");
    let _ = std::fs::remove_file(&journal);
    let out = std::fs::File::create(&out_path)?;
    let measured = util::measure(
        Command::new(bin.join("fw-batch"))
            .arg(&server.url)
            .arg(files)
            .args(["--workers", workers, "--json", "--progress", "never", "-q"])
            .arg("--journal")
            .arg(&journal)
            .stdout(out),
    )?;
    if !measured.success {
        bail!(
            "fw-batch --workers {workers} failed; results in {}",
            out_path.display()
        );
    }
    let (mut ok, mut tries, mut overloads) = (0usize, 0u64, 0u64);
    for line in std::fs::read_to_string(&out_path)?.lines() {
        let v: serde_json::Value = serde_json::from_str(line)?;
        ok += usize::from(v["ok"] == true);
        tries += v["tries"].as_u64().unwrap_or(0);
        overloads += v["overloads"].as_u64().unwrap_or(0);
    }
    if ok != FILES {
        bail!("only {ok} of {FILES} files uploaded");
    }
    Ok(RunResult {
        wall: measured.wall,
        tries,
        overloads,
    })
}
