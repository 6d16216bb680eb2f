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

use crate::util::{Measured, have, measure, root, scratch, step};
use anyhow::{Context, Result, bail};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Runs the task.
pub fn run(mut args: pico_args::Arguments) -> Result<()> {
    let files: usize = args.opt_value_from_str("--files")?.unwrap_or(2000);
    let big_mib: u64 = args.opt_value_from_str("--big")?.unwrap_or(1024);
    let rounds: usize = args.opt_value_from_str("--rounds")?.unwrap_or(3);
    crate::util::reject_rest(args)?;
    if !have("curl") {
        bail!("curl is missing: apt-get install curl");
    }

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
        make_file(&served.join(format!("small/s{i:05}.bin")), size, i as u64)?;
    }
    let big_each = (big_mib << 20) / 8;
    for i in 0..8 {
        make_file(&served.join(format!("big/b{i}.bin")), big_each, 1000 + i)?;
    }

    step("starting nginx on 127.0.0.1");
    let server = format!(
        "location / {{ root {}; }}\n    keepalive_requests 100000;",
        served.display()
    );
    let Some(nginx) = testbed::peers::Nginx::start(&dir.join("nginx"), "", &server) else {
        bail!("nginx is missing: apt-get install nginx-light");
    };

    let small_names: Vec<String> = (0..files).map(|i| format!("small/s{i:05}.bin")).collect();
    let big_names: Vec<String> = (0..8).map(|i| format!("big/b{i}.bin")).collect();
    let small = compare(&dir, &nginx, &fw, "small", &small_names, rounds, false)?;
    let big = compare(&dir, &nginx, &fw, "big", &big_names, rounds, true)?;

    println!("\nbatch download from nginx ({rounds} rounds, best wall):");
    report(
        &format!(
            "{files} small files ({:.1} MiB)",
            small_total as f64 / 1048576.0
        ),
        &small,
        small_total,
    );
    report(
        &format!("8 files of {} MiB", big_each >> 20),
        &big,
        big_each * 8,
    );
    let ratio = |r: &[(String, Measured)], name: &str| {
        let curl = r
            .iter()
            .find(|(n, _)| n.starts_with("curl"))
            .expect("curl")
            .1;
        let fw = r.iter().find(|(n, _)| n == name).expect("fw").1;
        fw.wall.as_secs_f64() / curl.wall.as_secs_f64()
    };
    let small_ratio = ratio(&small, "fw-download --workers 8");
    println!(
        "  budget: {files} small files within 1.3x of curl -Z: {:.2}x {}",
        small_ratio,
        if small_ratio <= 1.3 {
            "ok"
        } else {
            "OVER BUDGET"
        }
    );
    println!(
        "  note: fw-download fsyncs each file before renaming it and journals it; curl does neither"
    );
    std::fs::remove_dir_all(dir.join("out")).ok();
    Ok(())
}

/// Runs every tool `rounds` times over `names`; the best wall per tool.
fn compare(
    dir: &Path,
    nginx: &testbed::peers::Nginx,
    fw: &Path,
    label: &str,
    names: &[String],
    rounds: usize,
    with_cat: bool,
) -> Result<Vec<(String, Measured)>> {
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
        c.arg("-i").arg(&list).arg("--output-dir").arg(&out).args([
            "--workers",
            workers,
            "-q",
            "--progress",
            "never",
        ]);
        tools.push((format!("fw-download --workers {workers}"), c));
    }
    let mut curl = Command::new("curl");
    curl.args(["-s", "-Z", "--parallel-max", "8", "-K"])
        .arg(&curl_config);
    tools.push(("curl -Z --parallel-max 8".into(), curl));
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
    let mut best: Vec<Option<Measured>> = vec![None; tools.len()];
    for round in 0..rounds {
        for k in 0..tools.len() {
            let i = (k + round) % tools.len();
            let (name, cmd) = &mut tools[i];
            std::fs::remove_dir_all(&out).ok();
            std::fs::create_dir_all(&out)?;
            Command::new("sync").status().context("running sync")?;
            let m = measure(cmd.stdout(Stdio::null()).stderr(Stdio::null()))?;
            let got = std::fs::read_dir(&out)?
                .filter_map(|e| e.ok())
                .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
                .count();
            if !m.success || got != names.len() {
                bail!(
                    "{name} failed (exit ok: {}, {got} of {} files)",
                    m.success,
                    names.len()
                );
            }
            eprintln!(
                "  round {} {name:<28} {:>8.3} s",
                round + 1,
                m.wall.as_secs_f64()
            );
            if best[i].is_none_or(|b| m.wall < b.wall) {
                best[i] = Some(m);
            }
        }
    }
    Ok(tools
        .into_iter()
        .zip(best)
        .map(|((name, _), m)| (name, m.expect("measured")))
        .collect())
}

fn report(what: &str, results: &[(String, Measured)], bytes: u64) {
    let curl = results
        .iter()
        .find(|(n, _)| n.starts_with("curl"))
        .expect("curl")
        .1;
    println!("  {what}:");
    for (name, m) in results {
        println!(
            "    {name:<28} {:>8.3} s ({:.2}x curl)  {:>7.1} MiB/s  peak RSS {}",
            m.wall.as_secs_f64(),
            m.wall.as_secs_f64() / curl.wall.as_secs_f64(),
            bytes as f64 / 1048576.0 / m.wall.as_secs_f64(),
            crate::util::mib(m.peak_rss_kib)
        );
    }
}

/// A file of `size` pseudo-random bytes, made once and kept.
fn make_file(path: &Path, size: u64, seed: u64) -> Result<()> {
    if std::fs::metadata(path).is_ok_and(|m| m.len() == size) {
        return Ok(());
    }
    let mut f = std::io::BufWriter::new(
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
    );
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15 ^ seed.wrapping_mul(0x1000_0001);
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
