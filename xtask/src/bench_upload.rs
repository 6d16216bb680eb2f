//! `cargo xtask bench upload`: fw-upload against `curl -F`, a 10 MiB and a 1 GiB file posted as
//! multipart to a local nginx that reads and discards the body, in the same run.
//!
//! Budgets (ARCHITECTURE.md): wall ≤ 1.0× curl; peak RSS ≤ 16 MiB; the 1 GiB run's peak RSS within
//! 2 MiB of the 10 MiB run's.

use crate::bench_util::{
    MIB, load_average, median, random_file, release_binary, require_curl, rotated, start_nginx,
    verdict, warm_page_cache,
};
use crate::util::{self, Measured};
use anyhow::Result;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

const RSS_BUDGET_KIB: u64 = 16 * 1024;
const RSS_FLAT_KIB: u64 = 2 * 1024;

/// Runs the task. Options: `--runs N` (default 7). Wall is judged on each tool's best of N
/// (noise on a shared machine only ever adds time); the median is printed and judged beside it,
/// and `-v` prints every run. RSS is each tool's largest.
///
/// nginx discards bodies with 4 KiB reads, and on loopback each window-update ACK it sends runs
/// the sender's ACK processing (freeing its buffers, waking it) inside nginx's recv (perf:
/// tcp_recvmsg → __tcp_transmit_skb → softirq). How much of that lands on nginx depends on
/// timing, so nginx's CPU per GiB is bimodal for either client (about 0.35-0.5 s or 0.7-0.9 s
/// measured), and on a loaded 2-CPU machine that, not the client, sets much of the wall time.
/// So each run waits for nginx to finish discarding (no run overlaps the previous body),
/// nginx's CPU per client is printed (`-v`: per run), with the load average, and the verdicts
/// show best and median.
pub fn run(mut args: pico_args::Arguments) -> Result<()> {
    let runs: usize = args.opt_value_from_str("--runs")?.unwrap_or(7).max(1);
    let verbose = args.contains(["-v", "--verbose"]);
    util::reject_rest(args)?;
    require_curl()?;
    let fw = release_binary("fw-upload")?;

    util::step("making test files (once)");
    let dir = util::scratch("bench-upload")?;
    let small = random_file(&dir.join("10MiB.bin"), 10 * MIB, 10 * MIB)?;
    let large = random_file(&dir.join("1GiB.bin"), 1024 * MIB, 1024 * MIB)?;

    // nginx reads and discards the request bodies.
    let nginx = start_nginx(
        &dir.join("nginx"),
        "location = /upload { client_max_body_size 0; return 200 \"ok\\n\"; }",
    )?;
    let url = nginx.url("/upload");
    let nginx_pid = std::fs::read_to_string(dir.join("nginx").join("nginx.pid"))
        .ok()
        .and_then(|s| s.trim().parse::<u32>().ok());
    let load_before = load_average();

    let mut rows = Vec::new();
    for (label, path, size) in [("10 MiB", &small, 10 * MIB), ("1 GiB", &large, 1024 * MIB)] {
        warm_page_cache(path)?;
        util::step(&format!("{label}: {runs} run(s) each, interleaved"));
        // curl first in even rounds, fw-upload in odd ones, so that neither always inherits the
        // other's aftermath (nginx still discarding the tail of the previous body).
        let results = rotated(2, runs, |tool, _| {
            let is_curl = tool == 0;
            let before = nginx_pid.map(process_cpu).unwrap_or_default();
            let mut run = if is_curl {
                measure_curl(path, &url)?
            } else {
                measure_fw(&fw, path, &url)?
            };
            // The client is done once its last bytes are in the socket buffers; nginx may
            // still be discarding megabytes. Let it finish so runs do not overlap.
            if let Some(pid) = nginx_pid {
                run.nginx_cpu = wait_idle(pid).saturating_sub(before);
            }
            if verbose {
                eprintln!(
                    "  {:<9} wall {:.3} s  client CPU {:.3} s  nginx CPU {:.3} s",
                    if is_curl { "curl" } else { "fw-upload" },
                    run.measured.wall.as_secs_f64(),
                    run.cpu.as_secs_f64(),
                    run.nginx_cpu.as_secs_f64()
                );
            }
            Ok(run)
        })?;
        let (curl_runs, fw_runs) = (&results[0], &results[1]);
        rows.push(Row {
            label,
            size,
            curl: summarize(curl_runs),
            fw: summarize(fw_runs),
        });
    }
    drop(nginx);

    let load_after = load_average();
    println!(
        "\nupload: fw-upload vs curl -F to nginx, {runs} alternating runs each (wall: best / median; CPU: median user+sys of the client and of nginx receiving its body)"
    );
    println!(
        "{:<7} {:>17} {:>17} {:>13} {:>8} {:>8} {:>8} {:>8} {:>9} {:>9} {:>9}",
        "size",
        "curl wall",
        "fw wall",
        "ratio",
        "curl CPU",
        "fw CPU",
        "ngx|curl",
        "ngx|fw",
        "curl RSS",
        "fw RSS",
        "fw MiB/s"
    );
    for r in &rows {
        println!(
            "{:<7} {:>7.3}/{:>7.3} s {:>7.3}/{:>7.3} s {:>5.2}×/{:>5.2}× {:>6.3} s {:>6.3} s {:>6.3} s {:>6.3} s {:>9} {:>9} {:>9.0}",
            r.label,
            r.curl.best.as_secs_f64(),
            r.curl.median.as_secs_f64(),
            r.fw.best.as_secs_f64(),
            r.fw.median.as_secs_f64(),
            r.fw.best.as_secs_f64() / r.curl.best.as_secs_f64(),
            r.fw.median.as_secs_f64() / r.curl.median.as_secs_f64(),
            r.curl.cpu.as_secs_f64(),
            r.fw.cpu.as_secs_f64(),
            r.curl.nginx_cpu.as_secs_f64(),
            r.fw.nginx_cpu.as_secs_f64(),
            util::mib(r.curl.rss_kib),
            util::mib(r.fw.rss_kib),
            r.size as f64 / MIB as f64 / r.fw.best.as_secs_f64(),
        );
    }

    let large_row = &rows[1];
    let small_row = &rows[0];
    let ratio = large_row.fw.best.as_secs_f64() / large_row.curl.best.as_secs_f64();
    let median_ratio = large_row.fw.median.as_secs_f64() / large_row.curl.median.as_secs_f64();
    let peak = rows.iter().map(|r| r.fw.rss_kib).max().unwrap_or(0);
    let spread = large_row.fw.rss_kib.abs_diff(small_row.fw.rss_kib);
    println!(
        "\nload average (1 min) {load_before} before, {load_after} after, on {} CPUs",
        cpus()
    );
    println!("budgets:");
    verdict(
        ratio <= 1.0,
        &format!("1 GiB wall {ratio:.2}× curl, best of {runs} (≤ 1.00×)"),
    );
    verdict(
        median_ratio <= 1.0,
        &format!("1 GiB wall {median_ratio:.2}× curl, median of {runs} (≤ 1.00×)"),
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
    /// Median CPU time nginx spent receiving the client's bodies.
    nginx_cpu: Duration,
    rss_kib: u64,
}

struct Row {
    label: &'static str,
    size: u64,
    curl: Summary,
    fw: Summary,
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

/// One measured run: wall and peak RSS (util::measure), the client's CPU time and nginx's.
struct Run {
    measured: Measured,
    cpu: Duration,
    nginx_cpu: Duration,
}

/// Runs `cmd`, failing if it fails. Its CPU time (user + system) is the growth of the
/// finished children's rusage across the run, since util::measure reaps it with wait4.
fn checked(tool: &str, cmd: &mut Command) -> Result<Run> {
    let before = children_cpu();
    let measured = crate::bench_util::measure_ok(tool, cmd)?;
    let cpu = children_cpu().saturating_sub(before);
    Ok(Run {
        measured,
        cpu,
        nginx_cpu: Duration::ZERO,
    })
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

/// User + system CPU time of process `pid` (from /proc; zero if unreadable).
fn process_cpu(pid: u32) -> Duration {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return Duration::ZERO;
    };
    // Fields after the command name (which may hold spaces) in parentheses.
    let rest = stat.rsplit_once(") ").map_or("", |(_, r)| r);
    let field = |i: usize| {
        rest.split_whitespace()
            .nth(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // utime and stime are stat's fields 14 and 15: indexes 11 and 12 counting the state
    // (field 3) as 0.
    let ticks = field(11) + field(12);
    Duration::from_nanos(ticks * 1_000_000_000 / clock_ticks_per_second())
}

#[allow(unsafe_code)]
fn clock_ticks_per_second() -> u64 {
    // SAFETY: sysconf has no preconditions.
    unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64
}

/// Waits until nginx's CPU time stops growing (it has discarded the whole body), at most 5 s;
/// returns its CPU time then.
fn wait_idle(pid: u32) -> Duration {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let mut last = process_cpu(pid);
    loop {
        std::thread::sleep(Duration::from_millis(60));
        let now = process_cpu(pid);
        if now == last || std::time::Instant::now() > deadline {
            return now;
        }
        last = now;
    }
}

fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn summarize(runs: &[Run]) -> Summary {
    let walls = crate::bench_util::Walls::of(runs.iter().map(|r| &r.measured));
    Summary {
        best: walls.best,
        median: walls.median,
        cpu: median(runs.iter().map(|r| r.cpu).collect()),
        nginx_cpu: median(runs.iter().map(|r| r.nginx_cpu).collect()),
        rss_kib: walls.peak_rss_kib,
    }
}
