//! `cargo xtask bench download [--size BYTES] [--rounds N]` (with `--batch`: see
//! [`crate::bench_download_batch`]): 1 GiB from a local nginx to disk
//! with the release fw-download, `curl -s -o` and `wget -q -O`, measured in the same run (wall
//! time and peak RSS via wait4), reported as ratios against curl. Budget (ARCHITECTURE.md, Budgets): wall ≤ 1.0×
//! curl, peak RSS ≤ 16 MiB, and the peak for 1 GiB within 2 MiB of the peak for 10 MiB.

use crate::bench_util::{
    MIB, Walls, measure_ok, random_file, ratio_table, release_binary, rotated, start_nginx, sync,
    verdict,
};
use crate::util::{have, mib, scratch, step};
use anyhow::{Result, bail};
use std::process::{Command, Stdio};

const GIB: u64 = 1 << 30;
const SMALL: u64 = 10 << 20;

/// Runs the task.
pub fn run(mut args: pico_args::Arguments) -> Result<()> {
    if args.contains("--batch") {
        return crate::bench_download_batch::run(args);
    }
    let size: u64 = args.opt_value_from_str("--size")?.unwrap_or(GIB);
    let rounds: usize = args.opt_value_from_str("--rounds")?.unwrap_or(5).max(1);
    crate::util::reject_rest(args)?;
    crate::bench_util::require_curl()?;
    let fw = release_binary("fw-download")?;

    let dir = scratch("bench-download")?;
    let files = dir.join("files");
    std::fs::create_dir_all(&files)?;
    step(&format!(
        "making random files of {size} and {SMALL} bytes (once)"
    ));
    random_file(&files.join("big.bin"), size, 0)?;
    random_file(&files.join("small.bin"), SMALL, 0)?;
    let nginx = start_nginx(
        &dir.join("nginx"),
        &format!("location / {{ root {}; }}", files.display()),
    )?;
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
    tools.push(("curl", curl));
    if have("wget") {
        let mut wget = Command::new("wget");
        wget.args(["-q", "-O"]).arg(&out).arg(&big_url);
        tools.push(("wget", wget));
    }

    step(&format!(
        "downloading {size} bytes, {rounds} rounds, order rotated"
    ));
    let runs = rotated(tools.len(), rounds, |i, round| {
        let (name, cmd) = &mut tools[i];
        // Flush earlier runs' dirty pages so each tool starts from the same disk state.
        std::fs::remove_file(&out).ok();
        sync()?;
        let m = measure_ok(name, cmd.stdout(Stdio::null()))?;
        let got = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0);
        std::fs::remove_file(&out).ok();
        if got != size {
            bail!("{name} wrote {got} of {size} bytes");
        }
        eprintln!(
            "  round {} {name:<12} {:>8.3} s  {:>7.0} MiB/s  peak RSS {}",
            round + 1,
            m.wall.as_secs_f64(),
            size as f64 / MIB as f64 / m.wall.as_secs_f64(),
            mib(m.peak_rss_kib)
        );
        Ok(m)
    })?;
    let rows: Vec<(String, Walls)> = tools
        .iter()
        .zip(&runs)
        .map(|((name, _), r)| (name.to_string(), Walls::of(r)))
        .collect();

    step("fw-download peak RSS for a 10 MiB file (memory must not grow with size)");
    let small_out = out_dir.join("small.bin");
    let small = measure_ok(
        "fw-download (10 MiB)",
        Command::new(&fw)
            .arg(nginx.url("/small.bin"))
            .arg("-o")
            .arg(&small_out)
            .args(["--progress", "never", "-q"]),
    )?;
    std::fs::remove_file(&small_out).ok();

    println!(
        "\ndownload of {size} bytes from nginx to disk, {rounds} rounds (× curl, the same run):"
    );
    ratio_table(&rows, "curl", size);
    let fw_walls = rows[0].1;
    let (ratio, median) = fw_walls.ratios(&rows[1].1);
    let growth_kib = fw_walls.peak_rss_kib as i64 - small.peak_rss_kib as i64;
    println!("budgets:");
    verdict(
        ratio <= 1.0,
        &format!("wall {ratio:.2}× curl -o, best of {rounds} (≤ 1.00×; median {median:.2}×)"),
    );
    verdict(
        fw_walls.peak_rss_kib <= 16 * 1024,
        &format!("peak RSS {} (≤ 16 MiB)", mib(fw_walls.peak_rss_kib)),
    );
    verdict(
        growth_kib <= 2 * 1024,
        &format!(
            "peak RSS {} for 10 MiB, {} for {size} bytes: growth {:.1} MiB (≤ 2 MiB)",
            mib(small.peak_rss_kib),
            mib(fw_walls.peak_rss_kib),
            growth_kib as f64 / 1024.0
        ),
    );
    println!(
        "  note: fw-download fsyncs the file before renaming it (durable); curl and wget do not"
    );
    std::fs::remove_dir_all(&out_dir).ok();
    Ok(())
}
