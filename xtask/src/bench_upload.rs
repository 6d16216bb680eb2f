//! `cargo xtask bench upload`: fw-upload against `curl -F`, a 10 MiB and a 1 GiB file posted as
//! multipart to a local nginx that reads and discards the body, in the same run.
//!
//! Budgets (DESIGN.md): wall ≤ 1.0× curl; peak RSS ≤ 16 MiB; the 1 GiB run's peak RSS within
//! 2 MiB of the 10 MiB run's.

use crate::util::{self, Measured};
use anyhow::{Context, Result, bail};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

const MIB: u64 = 1024 * 1024;
const RSS_BUDGET_KIB: u64 = 16 * 1024;
const RSS_FLAT_KIB: u64 = 2 * 1024;

/// Runs the task. Options: `--runs N` (default 5). Wall is judged on each tool's best of N
/// (noise on a shared machine only ever adds time); the median is printed beside it. RSS is
/// each tool's largest.
pub fn run(mut args: pico_args::Arguments) -> Result<()> {
    let runs: usize = args.opt_value_from_str("--runs")?.unwrap_or(5).max(1);
    util::reject_rest(args)?;
    if !util::have("curl") {
        bail!("curl is needed as the peer to measure against (apt-get install curl)");
    }

    util::step("building fw-upload (release)");
    util::run(Command::new("cargo").current_dir(util::root()).args([
        "build",
        "--release",
        "--quiet",
        "-p",
        "fw-upload",
    ]))?;
    let fw = target_dir().join("release").join("fw-upload");

    util::step("making test files (once)");
    let dir = util::scratch("bench-upload")?;
    let small = ensure_file(&dir.join("10MiB.bin"), 10 * MIB)?;
    let large = ensure_file(&dir.join("1GiB.bin"), 1024 * MIB)?;

    util::step("starting nginx (reads and discards request bodies)");
    let Some(nginx) = testbed::peers::Nginx::start(
        &dir.join("nginx"),
        "",
        "location = /upload { client_max_body_size 0; return 200 \"ok\\n\"; }",
    ) else {
        bail!("nginx is needed (apt-get install nginx-light, or set FILEWIRE_NGINX)");
    };
    let url = nginx.url("/upload");

    let mut rows = Vec::new();
    for (label, path, size) in [("10 MiB", &small, 10 * MIB), ("1 GiB", &large, 1024 * MIB)] {
        warm_page_cache(path)?;
        util::step(&format!("{label}: {runs} run(s) each, interleaved"));
        let mut curl_runs = Vec::new();
        let mut fw_runs = Vec::new();
        for i in 0..runs {
            // Alternate who goes first so that neither always inherits the other's aftermath
            // (nginx still discarding the tail of the previous body).
            if i % 2 == 0 {
                curl_runs.push(measure_curl(path, &url)?);
                fw_runs.push(measure_fw(&fw, path, &url)?);
            } else {
                fw_runs.push(measure_fw(&fw, path, &url)?);
                curl_runs.push(measure_curl(path, &url)?);
            }
        }
        rows.push(Row {
            label,
            size,
            curl: summarize(&curl_runs),
            fw: summarize(&fw_runs),
        });
    }
    drop(nginx);

    println!(
        "\nupload: fw-upload vs curl -F to nginx, {runs} runs each (wall: best / median; client CPU: median user+sys)"
    );
    println!(
        "{:<7} {:>17} {:>17} {:>13} {:>8} {:>8} {:>9} {:>9} {:>9}",
        "size",
        "curl wall",
        "fw wall",
        "ratio",
        "curl CPU",
        "fw CPU",
        "curl RSS",
        "fw RSS",
        "fw MiB/s"
    );
    for r in &rows {
        println!(
            "{:<7} {:>7.3}/{:>7.3} s {:>7.3}/{:>7.3} s {:>5.2}×/{:>5.2}× {:>6.3} s {:>6.3} s {:>9} {:>9} {:>9.0}",
            r.label,
            r.curl.best.as_secs_f64(),
            r.curl.median.as_secs_f64(),
            r.fw.best.as_secs_f64(),
            r.fw.median.as_secs_f64(),
            r.fw.best.as_secs_f64() / r.curl.best.as_secs_f64(),
            r.fw.median.as_secs_f64() / r.curl.median.as_secs_f64(),
            r.curl.cpu.as_secs_f64(),
            r.fw.cpu.as_secs_f64(),
            util::mib(r.curl.rss_kib),
            util::mib(r.fw.rss_kib),
            r.size as f64 / MIB as f64 / r.fw.best.as_secs_f64(),
        );
    }

    let large_row = &rows[1];
    let small_row = &rows[0];
    let ratio = large_row.fw.best.as_secs_f64() / large_row.curl.best.as_secs_f64();
    let peak = rows.iter().map(|r| r.fw.rss_kib).max().unwrap_or(0);
    let spread = large_row.fw.rss_kib.abs_diff(small_row.fw.rss_kib);
    println!("\nbudgets:");
    verdict(
        ratio <= 1.0,
        &format!("1 GiB wall {ratio:.2}× curl, best of {runs} (≤ 1.00×)"),
    );
    verdict(
        peak <= RSS_BUDGET_KIB,
        &format!("fw-upload peak RSS {} (≤ 16 MiB)", util::mib(peak)),
    );
    verdict(
        spread <= RSS_FLAT_KIB,
        &format!(
            "1 GiB vs 10 MiB peak RSS differ by {} (≤ 2 MiB)",
            util::mib(spread)
        ),
    );
    Ok(())
}

struct Summary {
    best: Duration,
    median: Duration,
    /// Median CPU time (user + system) of the client.
    cpu: Duration,
    rss_kib: u64,
}

struct Row {
    label: &'static str,
    size: u64,
    curl: Summary,
    fw: Summary,
}

fn verdict(ok: bool, what: &str) {
    println!("  {} {what}", if ok { "ok  " } else { "OVER" });
}

fn measure_curl(path: &Path, url: &str) -> Result<Run> {
    checked(
        "curl",
        Command::new("curl")
            .args(["-s", "-f", "-o", "/dev/null", "-F"])
            .arg(format!("file=@{}", path.display()))
            .arg(url)
            .stdin(Stdio::null()),
    )
}

fn measure_fw(fw: &Path, path: &Path, url: &str) -> Result<Run> {
    checked(
        "fw-upload",
        Command::new(fw)
            .args(["--progress", "never", "-q"])
            .arg(url)
            .arg(path)
            .stdin(Stdio::null())
            .stdout(Stdio::null()),
    )
}

/// One measured run: wall and peak RSS (util::measure) and the client's CPU time.
struct Run {
    measured: Measured,
    cpu: Duration,
}

/// Runs `cmd`, failing if it fails. Its CPU time (user + system) is the growth of the
/// finished children's rusage across the run, since util::measure reaps it with wait4.
fn checked(tool: &str, cmd: &mut Command) -> Result<Run> {
    let before = children_cpu();
    let measured = util::measure(cmd)?;
    let cpu = children_cpu().saturating_sub(before);
    if !measured.success {
        bail!("{tool} failed during the bench");
    }
    Ok(Run { measured, cpu })
}

#[allow(unsafe_code)]
fn children_cpu() -> Duration {
    // SAFETY: rusage is plain old data, zero-initialised and filled in by getrusage.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    if rc != 0 {
        return Duration::ZERO;
    }
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

fn summarize(runs: &[Run]) -> Summary {
    let mut walls: Vec<Duration> = runs.iter().map(|r| r.measured.wall).collect();
    walls.sort();
    let mut cpus: Vec<Duration> = runs.iter().map(|r| r.cpu).collect();
    cpus.sort();
    Summary {
        best: walls[0],
        median: walls[walls.len() / 2],
        cpu: cpus[cpus.len() / 2],
        rss_kib: runs
            .iter()
            .map(|r| r.measured.peak_rss_kib)
            .max()
            .unwrap_or(0),
    }
}

/// Where cargo puts build output: `CARGO_TARGET_DIR`, else `<root>/target`.
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| util::root().join("target"))
}

/// Makes `path` hold `size` pseudo-random bytes unless it already has that size. Random content
/// (not zeros, not sparse) so both tools read real pages and fw-upload's boundary scan does
/// real work.
fn ensure_file(path: &Path, size: u64) -> Result<PathBuf> {
    if std::fs::metadata(path).is_ok_and(|m| m.len() == size) {
        return Ok(path.to_path_buf());
    }
    eprintln!("writing {} ({size} bytes)", path.display());
    let tmp = path.with_extension("tmp");
    let mut out = std::io::BufWriter::new(
        std::fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?,
    );
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15 ^ size;
    let mut block = vec![0u8; MIB as usize];
    let mut left = size;
    while left > 0 {
        for word in block.chunks_exact_mut(8) {
            // xorshift64*: fast, good enough to defeat compression and sparseness.
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            word.copy_from_slice(&state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
        }
        let n = left.min(MIB) as usize;
        out.write_all(&block[..n])?;
        left -= n as u64;
    }
    out.flush()?;
    drop(out);
    std::fs::rename(&tmp, path).with_context(|| format!("renaming to {}", path.display()))?;
    Ok(path.to_path_buf())
}

/// Reads the file once so that neither tool pays for the first read from disk.
fn warm_page_cache(path: &Path) -> Result<()> {
    let mut f = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut buf = vec![0u8; MIB as usize];
    while f.read(&mut buf)? > 0 {}
    Ok(())
}
