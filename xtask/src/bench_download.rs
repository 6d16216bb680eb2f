//! `cargo xtask bench download [--size BYTES] [--rounds N]` (with `--batch`: see
//! [`crate::bench_download_batch`]): 1 GiB from a local nginx to disk
//! with the release fw-download, `curl -s -o` and `wget -q -O`, measured in the same run (wall
//! time and peak RSS via wait4), reported as ratios against curl. Budget (ARCHITECTURE.md, Budgets): wall ≤ 1.0×
//! curl, peak RSS ≤ 16 MiB, and the peak for 1 GiB within 2 MiB of the peak for 10 MiB.

use crate::util::{Measured, have, measure, mib, root, scratch, step};
use anyhow::{Context, Result, bail};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const GIB: u64 = 1 << 30;
const SMALL: u64 = 10 << 20;

/// Runs the task.
pub fn run(mut args: pico_args::Arguments) -> Result<()> {
    if args.contains("--batch") {
        return crate::bench_download_batch::run(args);
    }
    let size: u64 = args.opt_value_from_str("--size")?.unwrap_or(GIB);
    let rounds: usize = args.opt_value_from_str("--rounds")?.unwrap_or(5);
    crate::util::reject_rest(args)?;

    step("building the release fw-download");
    crate::util::run(Command::new("cargo").args([
        "build",
        "--release",
        "--quiet",
        "-p",
        "fw-download",
    ]))?;
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"));
    let fw = target_dir.join("release/fw-download");
    if !fw.exists() {
        bail!("{} was not built", fw.display());
    }

    let dir = scratch("bench-download")?;
    let files = dir.join("files");
    std::fs::create_dir_all(&files)?;
    step(&format!(
        "making random files of {size} and {SMALL} bytes (once)"
    ));
    random_file(&files.join("big.bin"), size)?;
    random_file(&files.join("small.bin"), SMALL)?;

    step("starting nginx on 127.0.0.1");
    let server = format!("location / {{ root {}; }}", files.display());
    let Some(nginx) = testbed::peers::Nginx::start(&dir.join("nginx"), "", &server) else {
        bail!("nginx is missing: apt-get install nginx-light");
    };
    let out_dir = dir.join("out");
    std::fs::create_dir_all(&out_dir)?;
    let out = out_dir.join("big.bin");
    let big_url = nginx.url("/big.bin");

    let mut tools: Vec<(&str, Command)> = Vec::new();
    let mut fw_cmd = Command::new(&fw);
    fw_cmd
        .arg(&big_url)
        .arg("-o")
        .arg(&out)
        .args(["--progress", "never", "-q"]);
    tools.push(("fw-download", fw_cmd));
    let mut curl = Command::new("curl");
    curl.args(["-s", "-o"]).arg(&out).arg(&big_url);
    tools.push(("curl -o", curl));
    if have("wget") {
        let mut wget = Command::new("wget");
        wget.args(["-q", "-O"]).arg(&out).arg(&big_url);
        tools.push(("wget -O", wget));
    }

    step(&format!(
        "downloading {size} bytes, {rounds} rounds, best wall per tool"
    ));
    let mut best: Vec<Option<Measured>> = vec![None; tools.len()];
    let mut walls: Vec<Vec<f64>> = vec![Vec::new(); tools.len()];
    for round in 0..rounds {
        // Rotate the order so no tool always runs on a freshly flushed disk.
        for k in 0..tools.len() {
            let i = (k + round) % tools.len();
            let (name, cmd) = &mut tools[i];
            settle(&out_dir)?;
            let m = measure(cmd.stdout(Stdio::null()))?;
            let got = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0);
            std::fs::remove_file(&out).ok();
            if !m.success || got != size {
                bail!(
                    "{name} failed (exit ok: {}, {got} of {size} bytes)",
                    m.success
                );
            }
            eprintln!(
                "  round {} {name:<12} {:>8.3} s  {:>7.0} MiB/s  peak RSS {}",
                round + 1,
                m.wall.as_secs_f64(),
                size as f64 / (1 << 20) as f64 / m.wall.as_secs_f64(),
                mib(m.peak_rss_kib)
            );
            walls[i].push(m.wall.as_secs_f64());
            if best[i].is_none_or(|b| m.wall < b.wall) {
                best[i] = Some(m);
            }
        }
    }

    step("fw-download peak RSS for a 10 MiB file (memory must not grow with size)");
    let small_out = out_dir.join("small.bin");
    let small = measure(
        Command::new(&fw)
            .arg(nginx.url("/small.bin"))
            .arg("-o")
            .arg(&small_out)
            .args(["--progress", "never", "-q"]),
    )?;
    std::fs::remove_file(&small_out).ok();
    if !small.success {
        bail!("fw-download of the 10 MiB file failed");
    }

    let fw_best = best[0].expect("fw-download measured");
    let curl_best = best[1].expect("curl measured");
    let median = |w: &[f64]| {
        let mut w = w.to_vec();
        w.sort_by(f64::total_cmp);
        w[w.len() / 2]
    };
    let curl_median = median(&walls[1]);
    println!("\ndownload of {size} bytes from nginx to disk ({rounds} rounds):");
    for (((name, _), m), w) in tools.iter().zip(&best).zip(&walls) {
        let m = m.expect("measured");
        println!(
            "  {name:<12} best {:>7.3} s ({:.2}x curl)  median {:>7.3} s ({:.2}x curl)  peak RSS {}",
            m.wall.as_secs_f64(),
            m.wall.as_secs_f64() / curl_best.wall.as_secs_f64(),
            median(w),
            median(w) / curl_median,
            mib(m.peak_rss_kib)
        );
    }
    let ratio = fw_best.wall.as_secs_f64() / curl_best.wall.as_secs_f64();
    let growth_kib = fw_best.peak_rss_kib as i64 - small.peak_rss_kib as i64;
    println!(
        "  fw-download peak RSS: {} for 10 MiB, {} for {size} bytes (growth {:.1} MiB)",
        mib(small.peak_rss_kib),
        mib(fw_best.peak_rss_kib),
        growth_kib as f64 / 1024.0
    );
    let verdict = |ok: bool| if ok { "ok" } else { "OVER BUDGET" };
    println!(
        "  budget: best wall <= 1.0x curl: {:.2}x {}; peak RSS <= 16 MiB: {} {}; growth <= 2 MiB: {}",
        ratio,
        verdict(ratio <= 1.0),
        mib(fw_best.peak_rss_kib),
        verdict(fw_best.peak_rss_kib <= 16 * 1024),
        verdict(growth_kib <= 2 * 1024)
    );
    println!(
        "  note: fw-download fsyncs the file before renaming it (durable); curl and wget do not"
    );
    std::fs::remove_dir_all(&out_dir).ok();
    Ok(())
}

/// Flushes earlier runs' dirty pages so each tool starts from the same disk state.
fn settle(out_dir: &Path) -> Result<()> {
    std::fs::remove_file(out_dir.join("big.bin")).ok();
    let status = Command::new("sync").status().context("running sync")?;
    if !status.success() {
        bail!("sync failed");
    }
    Ok(())
}

/// A file of `size` pseudo-random bytes (xorshift64*), made once and kept.
fn random_file(path: &Path, size: u64) -> Result<()> {
    if std::fs::metadata(path).is_ok_and(|m| m.len() == size) {
        return Ok(());
    }
    let mut f = std::io::BufWriter::new(
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
    );
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut buf = vec![0u8; 1 << 20];
    let mut left = size;
    while left > 0 {
        for word in buf.chunks_exact_mut(8) {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            word.copy_from_slice(&state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
        }
        let n = left.min(buf.len() as u64) as usize;
        f.write_all(&buf[..n])?;
        left -= n as u64;
    }
    f.flush()?;
    Ok(())
}
