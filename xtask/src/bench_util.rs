//! What the transfer benches share: the release binary, a peer on PATH, nginx, test files and a
//! warm page cache, runs in rotated order, best and median of each tool's runs, the ratio table
//! and the budget lines.

use crate::util::{self, Measured, step};
use anyhow::{Context, Result, bail};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

pub(crate) const MIB: u64 = 1 << 20;

/// Where cargo puts build output: `CARGO_TARGET_DIR`, else `<root>/target`.
pub(crate) fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(|t| util::root().join(t))
        .unwrap_or_else(|| util::root().join("target"))
}

/// Builds the release `package` (an app) and returns its binary.
pub(crate) fn release_binary(package: &str) -> Result<PathBuf> {
    step(&format!("building {package} (release)"));
    util::run(Command::new("cargo").current_dir(util::root()).args([
        "build",
        "--release",
        "--quiet",
        "-p",
        package,
    ]))?;
    let bin = target_dir().join("release").join(package);
    if !bin.exists() {
        bail!("{} was not built", bin.display());
    }
    Ok(bin)
}

/// Fails unless curl, the peer the transfer benches measure against, is on PATH.
pub(crate) fn require_curl() -> Result<()> {
    if !util::have("curl") {
        bail!("curl is needed as the peer to measure against (apt-get install curl)");
    }
    Ok(())
}

/// nginx on 127.0.0.1 with `server` inside its server block, its files under `dir`.
pub(crate) fn start_nginx(dir: &Path, server: &str) -> Result<testbed::peers::Nginx> {
    step("starting nginx on 127.0.0.1");
    testbed::peers::Nginx::start(dir, "", server).context(
        "nginx is needed as the server (apt-get install nginx-light, or set FILEWIRE_NGINX)",
    )
}

/// Makes `path` hold `size` pseudo-random bytes from `seed` unless it already has that size
/// (made once, kept under target/). Random content, not zeros and not sparse, so every tool
/// reads and writes real pages and nothing compresses it; written under a temporary name.
pub(crate) fn random_file(path: &Path, size: u64, seed: u64) -> Result<PathBuf> {
    if std::fs::metadata(path).is_ok_and(|m| m.len() == size) {
        return Ok(path.to_path_buf());
    }
    if size >= 64 * MIB {
        eprintln!("writing {} ({size} bytes)", path.display());
    }
    let tmp = path.with_extension("tmp");
    let mut out = std::io::BufWriter::new(
        std::fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?,
    );
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15 ^ seed.wrapping_mul(0x1000_0001);
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

/// Reads the file once so that no tool pays for the first read from disk.
pub(crate) fn warm_page_cache(path: &Path) -> Result<()> {
    let mut f = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut buf = vec![0u8; MIB as usize];
    while f.read(&mut buf)? > 0 {}
    Ok(())
}

/// Writes every dirty page out (`sync`), so no run inherits another's writeback.
pub(crate) fn sync() -> Result<()> {
    let status = Command::new("sync").status().context("running sync")?;
    if !status.success() {
        bail!("sync failed");
    }
    Ok(())
}

/// Runs each of `tools` tools `rounds` times, the order rotated every round so that no tool
/// always goes first or always inherits another's aftermath; `one(tool, round)` runs one. Gives
/// each tool's results in run order.
pub(crate) fn rotated<T>(
    tools: usize,
    rounds: usize,
    mut one: impl FnMut(usize, usize) -> Result<T>,
) -> Result<Vec<Vec<T>>> {
    let mut results: Vec<Vec<T>> = (0..tools).map(|_| Vec::new()).collect();
    for round in 0..rounds {
        for k in 0..tools {
            let tool = (k + round) % tools;
            results[tool].push(one(tool, round)?);
        }
    }
    Ok(results)
}

/// Runs `cmd` to its end, measured (wall, peak RSS); fails, naming `tool`, when it fails.
pub(crate) fn measure_ok(tool: &str, cmd: &mut Command) -> Result<Measured> {
    let m = util::measure(cmd)?;
    if !m.success {
        bail!("{tool} failed during the bench");
    }
    Ok(m)
}

/// A tool's runs in short: best and median wall (noise on a shared machine only ever adds time,
/// so best is the judged figure and median shows the spread) and the largest peak RSS.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Walls {
    pub(crate) best: Duration,
    pub(crate) median: Duration,
    pub(crate) peak_rss_kib: u64,
}

impl Walls {
    pub(crate) fn of<'a>(runs: impl IntoIterator<Item = &'a Measured>) -> Walls {
        let runs: Vec<&Measured> = runs.into_iter().collect();
        let walls: Vec<Duration> = runs.iter().map(|m| m.wall).collect();
        Walls {
            best: walls.iter().copied().min().unwrap_or_default(),
            median: median(walls),
            peak_rss_kib: runs.iter().map(|m| m.peak_rss_kib).max().unwrap_or(0),
        }
    }

    /// Best and median wall as multiples of `reference`'s.
    pub(crate) fn ratios(&self, reference: &Walls) -> (f64, f64) {
        (
            self.best.as_secs_f64() / reference.best.as_secs_f64(),
            self.median.as_secs_f64() / reference.median.as_secs_f64(),
        )
    }
}

/// The middle value (the upper one of an even count); zero for none.
pub(crate) fn median<T: Ord + Copy + Default>(mut values: Vec<T>) -> T {
    values.sort();
    values.get(values.len() / 2).copied().unwrap_or_default()
}

/// One line per tool: best and median wall, each as a multiple of `reference`'s (a peer measured
/// in the same run; the caller's heading names it), throughput of `bytes` at the best wall, and
/// peak RSS.
pub(crate) fn ratio_table(rows: &[(String, Walls)], reference: &str, bytes: u64) {
    let Some((_, peer)) = rows.iter().find(|(name, _)| name == reference) else {
        return;
    };
    let width = rows.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
    for (name, w) in rows {
        let (best, median) = w.ratios(peer);
        println!(
            "    {name:<width$}  best {:>7.3} s ({best:.2}×)  median {:>7.3} s ({median:.2}×)  {:>7.1} MiB/s  peak RSS {}",
            w.best.as_secs_f64(),
            w.median.as_secs_f64(),
            bytes as f64 / MIB as f64 / w.best.as_secs_f64(),
            util::mib(w.peak_rss_kib)
        );
    }
}

/// A budget line: `ok` or `OVER`, then what was measured against what.
pub(crate) fn verdict(ok: bool, what: &str) {
    println!("  {} {what}", if ok { "ok  " } else { "OVER" });
}

/// The 1-minute load average, as /proc/loadavg gives it.
pub(crate) fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".to_string())
}
