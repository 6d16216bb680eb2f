//! `cargo xtask bench download --batch [--files N] [--big MiB] [--rounds R]`: batch downloads
//! from a local nginx with the release `fw-download -i`, against `curl -Z --parallel-max 8` in
//! the same run (best wall of R rounds, rotated order):
//!
//! - N small files (default 2000, 1-16 KiB each): fw-download with `--workers 8` and with
//!   `--workers auto`. Issue 16's budget: within 1.3x of curl.
//! - 8 files of MiB/8 each (default 1 GiB in total): fw-download `--workers 8`, curl, and `cat`
//!   of the same files to disk as the disk-speed reference.
//!
//! fw-download fsyncs every file before its rename and keeps a journal; curl does neither.

use crate::bench_util::{
    Walls, measure_ok, random_file, ratio_table, release_binary, rotated, start_nginx, sync,
    verdict,
};
use crate::util::{scratch, step};
use anyhow::{Result, bail};
use std::path::Path;
use std::process::{Command, Stdio};

/// Runs the task.
pub fn run(mut args: pico_args::Arguments) -> Result<()> {
    let files: usize = args.opt_value_from_str("--files")?.unwrap_or(2000);
    let big_mib: u64 = args.opt_value_from_str("--big")?.unwrap_or(1024);
    let rounds: usize = args.opt_value_from_str("--rounds")?.unwrap_or(3).max(1);
    crate::util::reject_rest(args)?;
    crate::bench_util::require_curl()?;
    let fw = release_binary("fw-download")?;

    let dir = scratch("bench-download-batch")?;
    let served = dir.join("files");
    std::fs::create_dir_all(served.join("small"))?;
    std::fs::create_dir_all(served.join("big"))?;
    step(&format!(
        "making {files} small files and 8 files of {} MiB (once)",
        big_mib / 8
    ));
    let mut small_total = 0u64;
    for i in 0..files {
        let size = 1024 + (i as u64 * 7919) % (15 * 1024);
        small_total += size;
        random_file(&served.join(format!("small/s{i:05}.bin")), size, i as u64)?;
    }
    let big_each = (big_mib << 20) / 8;
    for i in 0..8 {
        random_file(&served.join(format!("big/b{i}.bin")), big_each, 1000 + i)?;
    }
    let nginx = start_nginx(
        &dir.join("nginx"),
        &format!(
            "location / {{ root {}; }}\n    keepalive_requests 100000;",
            served.display()
        ),
    )?;
    // fw-download's journals go to a state folder of the bench's own, not the user's.
    let state = dir.join("state");

    let small_names: Vec<String> = (0..files).map(|i| format!("small/s{i:05}.bin")).collect();
    let big_names: Vec<String> = (0..8).map(|i| format!("big/b{i}.bin")).collect();
    let small = compare(
        &dir,
        &state,
        &nginx,
        &fw,
        "small",
        &small_names,
        rounds,
        false,
    )?;
    let big = compare(&dir, &state, &nginx, &fw, "big", &big_names, rounds, true)?;

    println!("\nbatch download from nginx, {rounds} rounds (× {CURL}, the same run):");
    println!(
        "  {files} small files ({:.1} MiB):",
        small_total as f64 / 1048576.0
    );
    ratio_table(&small, CURL, small_total);
    println!("  8 files of {} MiB:", big_each >> 20);
    ratio_table(&big, CURL, big_each * 8);
    let (ratio, median) = small[0].1.ratios(&small[2].1);
    println!("budgets:");
    verdict(
        ratio <= 1.3,
        &format!(
            "{files} small files, --workers 8: {ratio:.2}× curl -Z, best of {rounds} (≤ 1.30×; median {median:.2}×)"
        ),
    );
    println!(
        "  note: fw-download fsyncs each file before renaming it and journals it; curl does neither"
    );
    std::fs::remove_dir_all(dir.join("out")).ok();
    std::fs::remove_dir_all(&state).ok();
    Ok(())
}

const CURL: &str = "curl -Z --parallel-max 8";

/// Runs every tool `rounds` times over `names`, each into an empty folder: fw-download
/// `--workers 8` and `auto`, curl, and with `with_cat` the same bytes copied locally.
#[allow(clippy::too_many_arguments)]
fn compare(
    dir: &Path,
    state: &Path,
    nginx: &testbed::peers::Nginx,
    fw: &Path,
    label: &str,
    names: &[String],
    rounds: usize,
    with_cat: bool,
) -> Result<Vec<(String, Walls)>> {
    let out = dir.join("out");
    let list = dir.join(format!("{label}.list"));
    let urls: Vec<String> = names.iter().map(|n| nginx.url(&format!("/{n}"))).collect();
    std::fs::write(&list, urls.join("\n") + "\n")?;
    let curl_config = dir.join(format!("{label}.curl"));
    let mut cfg = String::new();
    for (i, u) in urls.iter().enumerate() {
        cfg.push_str(&format!(
            "url = \"{u}\"\noutput = \"{}/c{i:05}\"\n",
            out.display()
        ));
    }
    std::fs::write(&curl_config, cfg)?;

    let mut tools: Vec<(String, Command)> = Vec::new();
    for workers in ["8", "auto"] {
        let mut c = Command::new(fw);
        c.arg("-i")
            .arg(&list)
            .arg("--output-dir")
            .arg(&out)
            .args(["--workers", workers, "-q", "--progress", "never"])
            .env("XDG_STATE_HOME", state);
        tools.push((format!("fw-download --workers {workers}"), c));
    }
    let mut curl = Command::new("curl");
    curl.args(["-s", "-Z", "--parallel-max", "8", "-K"])
        .arg(&curl_config);
    tools.push((CURL.into(), curl));
    if with_cat {
        // The disk-speed reference: the same bytes copied locally, then fsynced.
        let mut script = String::new();
        for (i, n) in names.iter().enumerate() {
            let src = dir.join("files").join(n);
            script.push_str(&format!(
                "cat '{}' > '{}/k{i}' & ",
                src.display(),
                out.display()
            ));
        }
        script.push_str("wait; sync");
        let mut sh = Command::new("sh");
        sh.arg("-c").arg(script);
        tools.push(("cat x8 + sync (disk)".into(), sh));
    }

    step(&format!("{label}: {} files, {rounds} rounds", names.len()));
    let runs = rotated(tools.len(), rounds, |i, round| {
        let (name, cmd) = &mut tools[i];
        // Every run starts from an empty folder and no journal: each downloads every file.
        std::fs::remove_dir_all(&out).ok();
        std::fs::remove_dir_all(state).ok();
        std::fs::create_dir_all(&out)?;
        sync()?;
        let m = measure_ok(name, cmd.stdout(Stdio::null()).stderr(Stdio::null()))?;
        let got = std::fs::read_dir(&out)?.filter_map(|e| e.ok()).count();
        if got != names.len() {
            bail!("{name} left {got} of {} files", names.len());
        }
        eprintln!(
            "  round {} {name:<28} {:>8.3} s",
            round + 1,
            m.wall.as_secs_f64()
        );
        Ok(m)
    })?;
    Ok(tools
        .into_iter()
        .zip(&runs)
        .map(|((name, _), r)| (name, Walls::of(r)))
        .collect())
}
