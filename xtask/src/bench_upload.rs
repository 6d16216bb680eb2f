//! `cargo xtask bench upload`: fw-upload against `curl -F`, a 10 MiB and a 1 GiB file posted as
//! multipart to a local nginx that reads and discards the body, in the same run.
//!
//! Budgets (ARCHITECTURE.md): wall ≤ 1.0× curl; peak RSS ≤ 16 MiB; the 1 GiB run's peak RSS within
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
    let nginx_pid = std::fs::read_to_string(dir.join("nginx").join("nginx.pid"))
        .ok()
        .and_then(|s| s.trim().parse::<u32>().ok());
    let load_before = load_average();

    let mut rows = Vec::new();
    for (label, path, size) in [("10 MiB", &small, 10 * MIB), ("1 GiB", &large, 1024 * MIB)] {
        warm_page_cache(path)?;
        util::step(&format!("{label}: {runs} run(s) each, interleaved"));
        let mut curl_runs = Vec::new();
        let mut fw_runs = Vec::new();
        for i in 0..runs {
            // Alternate who goes first so that neither always inherits the other's aftermath
            // (nginx still discarding the tail of the previous body).
            let order = if i % 2 == 0 {
                [true, false]
            } else {
                [false, true]
            };
            for is_curl in order {
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
                if is_curl {
                    curl_runs.push(run);
                } else {
                    fw_runs.push(run);
                }
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
    let measured = util::measure(cmd)?;
    let cpu = children_cpu().saturating_sub(before);
    if !measured.success {
        bail!("{tool} failed during the bench");
    }
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

/// The 1-minute load average, as /proc/loadavg gives it.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".to_string())
}

fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn summarize(runs: &[Run]) -> Summary {
    let mut walls: Vec<Duration> = runs.iter().map(|r| r.measured.wall).collect();
    walls.sort();
    let mut cpus: Vec<Duration> = runs.iter().map(|r| r.cpu).collect();
    cpus.sort();
    let mut nginx: Vec<Duration> = runs.iter().map(|r| r.nginx_cpu).collect();
    nginx.sort();
    Summary {
        best: walls[0],
        median: walls[walls.len() / 2],
        cpu: cpus[cpus.len() / 2],
        nginx_cpu: nginx[nginx.len() / 2],
        rss_kib: runs
            .iter()
            .map(|r| r.measured.peak_rss_kib)
            .max()
            .unwrap_or(0),
    }
}

/// Where cargo puts build output: `CARGO_TARGET_DIR`, else `<root>/target`.
pub(crate) fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| util::root().join("target"))
}

/// Makes `path` hold `size` pseudo-random bytes unless it already has that size. Random content
/// (not zeros, not sparse) so both tools read real pages and fw-upload's boundary scan does
/// real work.
pub(crate) fn ensure_file(path: &Path, size: u64) -> Result<PathBuf> {
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
pub(crate) fn warm_page_cache(path: &Path) -> Result<()> {
    let mut f = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut buf = vec![0u8; MIB as usize];
    while f.read(&mut buf)? > 0 {}
    Ok(())
}
