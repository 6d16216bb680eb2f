//! `cargo xtask eval --scans [DIR]`: every OCR engine end to end on real scans (image -> release
//! fw-scan -> receipt), printed per engine as totals / dates / merchants found and CPU seconds
//! per scan (user + system time of the fw-scan process, from wait4, divided by the scans).
//!
//! The scans are DIR's `*.jsonl` manifest (`id`, `image`, `truth`); by default
//! `../shared/data/sroie/scans/` (scans.jsonl) plus the 8 in `images/` (images.jsonl). Fields are
//! compared as `cargo xtask eval` does (its rules, restated here because that module keeps them
//! private): totals as numbers, dates as ISO 8601 with the annotation read day first, merchants
//! upper-cased letters and digits with a Levenshtein similarity of at least 0.9.

use crate::eval::{Judge, norm_name, similarity, truth_amount};
use crate::util::{self, root, scratch, shared_data, step};
use anyhow::{Context, Result, bail};
use receipt_parse::Amount;
use serde::Deserialize;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

#[derive(Deserialize)]
struct Truth {
    company: Option<String>,
    date: Option<String>,
    total: Option<String>,
}

#[derive(Deserialize)]
struct Scan {
    id: String,
    image: String,
    truth: Truth,
}

/// Runs the task: `cargo xtask eval --scans [DIR] [--engines ppocr,tesseract] [--workers N]`.
pub fn run(mut args: pico_args::Arguments) -> Result<()> {
    // `--scans` alone (last) means the default folders.
    let dir: Option<PathBuf> = match args.opt_value_from_str::<_, PathBuf>("--scans") {
        Ok(dir) => dir,
        Err(pico_args::Error::OptionWithoutAValue(_)) => {
            args.contains("--scans");
            None
        }
        Err(e) => return Err(e.into()),
    };
    if let Some(d) = &dir
        && d.to_string_lossy().starts_with('-')
    {
        bail!("--scans takes a folder; give one, or put --scans last for the default folders");
    }
    let engines: String = args
        .opt_value_from_str("--engines")?
        .unwrap_or_else(|| "ppocr,tesseract".to_string());
    let workers: usize = args.opt_value_from_str("--workers")?.unwrap_or(1);
    let extra: Vec<String> = args.values_from_str("--fw-scan-arg")?;
    util::reject_rest(args)?;
    let dirs = match dir {
        Some(d) => vec![d],
        None => {
            let sroie = shared_data().join("sroie");
            vec![sroie.join("scans"), sroie.join("images")]
        }
    };
    let mut scans = Vec::new();
    for d in &dirs {
        scans.extend(load_dir(d)?);
    }
    if scans.is_empty() {
        bail!("no scans found in {dirs:?}");
    }

    step("building fw-scan (release)");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    util::run(Command::new(&cargo).current_dir(root()).args([
        "build",
        "--release",
        "-p",
        "fw-scan",
    ]))?;
    let fw_scan = crate::bench_scan::target_dir()
        .join("release")
        .join("fw-scan");
    if engines.split(',').any(|e| e == "tesseract") {
        crate::deps::tesseract()?;
    }
    if engines.split(',').any(|e| e == "ppocr") {
        crate::models::install()?;
    }

    let rules = Rules::new()?;
    let out_dir = scratch("eval-scans")?;
    let mut table = Vec::new();
    for engine in engines.split(',').filter(|e| !e.is_empty()) {
        step(&format!(
            "{engine}: {} scans, {workers} worker(s)",
            scans.len()
        ));
        let mut cmd = Command::new(&fw_scan);
        cmd.args(["--engine", engine, "--json", "--progress", "never", "-q"])
            .arg("--no-journal") // each evaluation scans; a journal would give an earlier build's text
            .args(["--workers", &workers.to_string()])
            .args(&extra)
            .args(scans.iter().map(|(path, _)| path))
            .stdin(Stdio::null())
            .stdout(Stdio::piped());
        let (stdout, cpu, peak_kib) = run_measured(&mut cmd)?;
        let results_path = out_dir.join(format!("{engine}.jsonl"));
        std::fs::write(&results_path, &stdout)?;
        let mut tally = [0usize; 3];
        let mut misses = std::io::BufWriter::new(std::fs::File::create(
            out_dir.join(format!("{engine}-misses.jsonl")),
        )?);
        let answers: Vec<serde_json::Value> = String::from_utf8_lossy(&stdout)
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        for (path, scan) in &scans {
            let shown = path.display().to_string();
            let Some(answer) = answers.iter().find(|a| a["image"] == shown.as_str()) else {
                continue;
            };
            let receipt = &answer["receipt"];
            let hits = rules.score(&scan.truth, receipt);
            for (slot, hit) in hits.iter().enumerate() {
                tally[slot] += usize::from(*hit);
            }
            if hits.contains(&false) {
                writeln!(
                    misses,
                    "{}",
                    serde_json::json!({
                        "id": scan.id,
                        "hits": {"total": hits[0], "date": hits[1], "merchant": hits[2]},
                        "truth": {"total": scan.truth.total, "date": scan.truth.date, "company": scan.truth.company},
                        "got": {"total": receipt["total"], "date": receipt["date"], "merchant": receipt["merchant"]},
                        "error": answer.get("error"),
                    })
                )?;
            }
        }
        misses.flush()?;
        table.push((engine.to_string(), tally, cpu, peak_kib));
        eprintln!("answers in {}", results_path.display());
    }

    let n = scans.len();
    println!(
        "\n{n} scans ({}), fw-scan --workers {workers}\n",
        dirs.iter()
            .map(|d| d.display().to_string())
            .collect::<Vec<_>>()
            .join(" + ")
    );
    println!(
        "{:<10} {:>8} {:>8} {:>9} {:>12} {:>10}",
        "engine", "totals", "dates", "merchants", "CPU s/scan", "peak RSS"
    );
    for (engine, t, cpu, peak) in &table {
        println!(
            "{:<10} {:>8} {:>8} {:>9} {:>12.2} {:>10}",
            engine,
            pct(t[0], n),
            pct(t[1], n),
            pct(t[2], n),
            cpu.as_secs_f64() / n as f64,
            util::mib(*peak)
        );
    }
    println!("\nmisses per engine in {}", out_dir.display());
    Ok(())
}

/// The scans of one folder, from its `*.jsonl` manifest.
fn load_dir(dir: &Path) -> Result<Vec<(PathBuf, Scan)>> {
    let manifest = std::fs::read_dir(dir)
        .with_context(|| {
            format!(
                "no scans folder at {} (pass --scans DIR holding images and a .jsonl manifest)",
                dir.display()
            )
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .with_context(|| format!("no .jsonl manifest in {}", dir.display()))?;
    let text = std::fs::read_to_string(&manifest)?;
    let mut out = Vec::new();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let scan: Scan = serde_json::from_str(line)
            .with_context(|| format!("{}:{}: not a scan entry", manifest.display(), i + 1))?;
        out.push((dir.join(&scan.image), scan));
    }
    Ok(out)
}

fn pct(k: usize, n: usize) -> String {
    format!("{:.1} %", 100.0 * k as f64 / n.max(1) as f64)
}

/// Runs a command to completion; its stdout, CPU time (user + system) and peak RSS in KiB.
#[allow(unsafe_code)]
fn run_measured(cmd: &mut Command) -> Result<(Vec<u8>, Duration, u64)> {
    let mut child = cmd
        .spawn()
        .with_context(|| format!("starting {}", util::show(cmd)))?;
    let mut stdout = child.stdout.take().context("no stdout pipe")?;
    let reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut stdout, &mut buf).map(|_| buf)
    });
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is plain old data, zero-initialised and filled by wait4 for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    if rc < 0 {
        bail!("wait4 failed: {}", std::io::Error::last_os_error());
    }
    // The Child handle must not reap again; forget it.
    std::mem::forget(child);
    let out = reader
        .join()
        .map_err(|_| anyhow::anyhow!("stdout reader panicked"))??;
    let time = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    Ok((
        out,
        time(usage.ru_utime) + time(usage.ru_stime),
        usage.ru_maxrss as u64,
    ))
}

/// How a receipt is compared with its annotation: the same judge as `cargo xtask eval`.
struct Rules {
    judge: Judge,
}

impl Rules {
    fn new() -> Result<Rules> {
        Ok(Rules {
            judge: Judge::new()?,
        })
    }

    /// [total, date, merchant] found.
    fn score(&self, truth: &Truth, receipt: &serde_json::Value) -> [bool; 3] {
        let want_total = truth.total.as_deref().and_then(truth_amount);
        let got_total = receipt["total"]
            .as_str()
            .and_then(|t| t.parse::<Amount>().ok());
        let total = matches!((want_total, got_total), (Some(w), Some(g)) if w.same_value(g));
        let want_date = truth.date.as_deref().and_then(|d| self.truth_date(d));
        let date = want_date.is_some() && want_date.as_deref() == receipt["date"].as_str();
        let want_name = truth.company.as_deref().map(norm_name);
        let got_name = receipt["merchant"].as_str().map(norm_name);
        let merchant = match (want_name, got_name) {
            (Some(w), Some(g)) => similarity(&w, &g) >= 0.9,
            _ => false,
        };
        [total, date, merchant]
    }

    /// The annotated date as ISO 8601, read by `cargo xtask eval`'s rules.
    fn truth_date(&self, text: &str) -> Option<String> {
        self.judge.date(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_receipt_is_scored_against_its_annotation() {
        let rules = Rules::new().unwrap();
        let truth = Truth {
            company: Some("BOOK TA .K (TAMAN DAYA) SDN BHD".into()),
            date: Some("25/12/2018".into()),
            total: Some("RM9.00".into()),
        };
        let good = serde_json::json!({"total": "9.0", "date": "2018-12-25", "merchant": "BOOK TA.K (TAMAN DAYA) SDN BHD"});
        assert_eq!(rules.score(&truth, &good), [true, true, true]);
        let bad =
            serde_json::json!({"total": "90.00", "date": "2018-12-26", "merchant": "BOOKSHOP"});
        assert_eq!(rules.score(&truth, &bad), [false, false, false]);
    }
}
