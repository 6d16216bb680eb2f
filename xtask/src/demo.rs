//! `cargo xtask demo`: every app run as a user would, against the loopback testbed, narrated.
//!
//! Output goes to `target/xtask/demo/` (emptied at the start); nothing else is left behind but
//! the PP-OCR models in the user's cache. Every step talks to 127.0.0.1 only; the one fetch from
//! outside is the models' install (pip, once), said before it runs.

use crate::util::{self, measure, mib, root, sha256_file};
use anyhow::{Context, Result, bail};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

const APPS: [&str; 5] = [
    "fw-upload",
    "fw-download",
    "fw-batch",
    "fw-scan",
    "fw-testbed",
];

/// Runs the walkthrough: `cargo xtask demo [--large-mib N] [--batch-files N]`.
pub fn run(mut args: pico_args::Arguments) -> Result<()> {
    let large_mib: u64 = args.opt_value_from_str("--large-mib")?.unwrap_or(512);
    let batch_files: usize = args.opt_value_from_str("--batch-files")?.unwrap_or(400);
    util::reject_rest(args)?;

    banner("filewire demo: every app against a test server on 127.0.0.1");
    say("Building the apps (debug profile, shared with `cargo xtask test`) ...");
    let bin = build_apps()?;
    eprint!(
        "{}",
        wrap(
            "Installing the PP-OCR models for the receipt-scan step, as `cargo xtask test` does: the \
         only fetch outside 127.0.0.1. pip downloads the pinned rapidocr-onnxruntime wheel \
         (14.9 MB) from PyPI once and fw-scan takes its three ONNX models, each checked by \
         SHA-256, into the user's cache; models already there are only checked."
        )
    );
    crate::models::install().context("installing the PP-OCR models for the scan step")?;

    let out = util::root().join("target").join("xtask").join("demo");
    if out.exists() {
        std::fs::remove_dir_all(&out).with_context(|| format!("emptying {}", out.display()))?;
    }
    let served = out.join("served");
    let downloads = out.join("downloads");
    let batch_dir = out.join("batch");
    for d in [&served, &downloads, &batch_dir] {
        std::fs::create_dir_all(d)?;
    }
    let fixtures = root().join("fixtures");
    std::fs::copy(
        fixtures.join("images/receipt.jpg"),
        served.join("receipt.jpg"),
    )?;
    write_pattern_file(&served.join("big.bin"), 8 << 20)?;

    let testbed = Testbed::start(&bin, &served)?;
    let url = |p: &str| format!("{}{p}", testbed.base);
    say(&format!("Test server listening on {}", testbed.base));
    let mut demo = Demo {
        state_home: out.join("state"),
        ..Demo::default()
    };

    // 1. Basic upload.
    demo.step(
        "Upload a file with form fields",
        "One streaming multipart/form-data request: the receipt plus two text fields. The server echoes \
         what it received, with the file's SHA-256.",
        Command::new(bin.join("fw-upload"))
            .arg(url("/upload"))
            .arg(fixtures.join("documents/receipt.txt"))
            .args(["-F", "user=ada", "-F", "note=lunch", "--json"]),
        0,
    )?;

    // 2. Avatar refused, then accepted.
    demo.step(
        "Avatar upload refused for a disguised file",
        "photo.jpg is really an HTML error page. --avatar allows JPEG/PNG/WebP/GIF up to 5 MB, judged \
         by the bytes: refused before any connection (exit 3).",
        Command::new(bin.join("fw-upload"))
            .arg(url("/upload"))
            .arg(fixtures.join("disguised/photo.jpg"))
            .arg("--avatar"),
        3,
    )?;
    demo.step(
        "Avatar upload accepted for a real JPEG",
        "The same preset lets a real picture through.",
        Command::new(bin.join("fw-upload"))
            .arg(url("/upload"))
            .arg(fixtures.join("images/avatar.jpg"))
            .args(["--avatar", "--json"]),
        0,
    )?;

    // 3. Large upload with a progress bar and flat memory.
    let large = out.join(format!("large-{large_mib}MiB.bin"));
    write_pattern_file(&large, large_mib << 20)?;
    let m = demo.measured_step(
        &format!("Upload {large_mib} MiB with a progress bar in flat memory"),
        "The body streams from disk in 8 KiB chunks with an exact Content-Length; peak memory stays \
         flat whatever the size.",
        Command::new(bin.join("fw-upload"))
            .arg(url("/upload"))
            .arg(&large)
            .args(["--progress", "always", "--json"]),
    )?;
    demo.note(&format!(
        "peak RSS of fw-upload for {large_mib} MiB: {} in {:.1} s",
        mib(m.peak_rss_kib),
        m.wall.as_secs_f64()
    ));
    std::fs::remove_file(&large)?;

    // 4. Downloads: safe, lying, resumed.
    demo.step(
        "Safe download",
        "Status, Content-Type and length are checked before writing; the first bytes must agree with \
         the declared type; the file is written to a temporary name, fsynced, then renamed.",
        Command::new(bin.join("fw-download"))
            .arg(url("/files/receipt.jpg"))
            .arg("-o")
            .arg(downloads.join("receipt.jpg"))
            .args(["--accept", "image/jpeg", "--json"]),
        0,
    )?;
    demo.step(
        "A server lying about the type is caught",
        "It says image/jpeg and sends an HTML page: refused after sniffing the first bytes (exit 6), \
         and no file is left behind.",
        Command::new(bin.join("fw-download"))
            .arg(url("/fault/lying-type"))
            .arg("-o")
            .arg(downloads.join("lying.jpg"))
            .args(["--accept", "image/jpeg"]),
        6,
    )?;
    demo.check_absent(&downloads.join("lying.jpg"))?;
    let big_sha = sha256_file(&served.join("big.bin"))?;
    demo.step_any_failure(
        "A download cut mid-way keeps its partial data aside",
        "The server cuts the connection after 3 MiB. With --continue the bytes so far wait in \
         big.bin.part; nothing stands under the final name.",
        Command::new(bin.join("fw-download"))
            .arg(url(&format!("/flaky/big.bin?cut_after={}", 3 << 20)))
            .arg("-o")
            .arg(downloads.join("big.bin"))
            .args(["--continue", "--sha256", &big_sha]),
    )?;
    demo.check_absent(&downloads.join("big.bin"))?;
    demo.step(
        "... and is resumed",
        "Run again: Range + If-Range ask for the rest only; the whole file is verified against its \
         SHA-256 before the rename.",
        Command::new(bin.join("fw-download"))
            .arg(url(&format!("/flaky/big.bin?cut_after={}", 3 << 20)))
            .arg("-o")
            .arg(downloads.join("big.bin"))
            .args(["--continue", "--sha256", &big_sha, "--json"]),
        0,
    )?;

    // 5. Batch against a rate-limited endpoint.
    for i in 0..batch_files {
        write_pattern_file(&batch_dir.join(format!("item-{i:04}.bin")), 16 << 10)?;
    }
    demo.step(
        &format!("Batch of {batch_files} files against a server that allows 8 at once"),
        "Past 8 concurrent requests the server answers 429 + Retry-After. --workers auto starts low, \
         grows while requests succeed and backs off on 429s; a journal makes a rerun skip what is done.",
        Command::new(bin.join("fw-batch"))
            .arg(url("/ratelimit/upload"))
            .arg(&batch_dir)
            .args(["--workers", "auto"]),
        0,
    )?;
    demo.step(
        "The same batch again: nothing is uploaded twice",
        "The journal says every file is done, so the rerun sends nothing.",
        Command::new(bin.join("fw-batch"))
            .arg(url("/ratelimit/upload"))
            .arg(&batch_dir)
            .args(["--workers", "auto"]),
        0,
    )?;

    // 6. Receipt scan with the default engine.
    let image = receipt_image();
    let scanned = demo.captured_step(
        "Scan a real receipt with PP-OCRv4 (fw-scan's default engine)",
        "Detection, angle classification and line recognition run offline in pure Rust (rten) on \
         the models just installed; receipt-parse then turns the lines into a structured receipt.",
        Command::new(bin.join("fw-scan"))
            .arg(&image)
            .args(["--engine", "ppocr", "--json"]),
    )?;
    show_receipt(&scanned)?;
    demo.step(
        "The same through an OCR.space-shaped API",
        "Here the test server plays OCR.space and answers with the recorded response for this very \
         image (fixtures/ocrspace/), so the receipt comes back parsed. With no OCRSPACE_API_KEY set the client falls back to the public demo key and warns that it is \
         throttled; a key is never printed.",
        Command::new(bin.join("fw-scan"))
            .arg(fixtures.join("images/receipt.png"))
            .args(["--engine", "ocrspace", "--endpoint"])
            .arg(url("/parse/image"))
            .arg("--json")
            .env_remove("OCRSPACE_API_KEY")
            .current_dir(&out),
        0,
    )?;

    drop(testbed);
    demo.summary(&out)
}

/// Prints the fields of the receipt in fw-scan's JSON line, one a line.
fn show_receipt(json_line: &str) -> Result<()> {
    let v: serde_json::Value =
        serde_json::from_str(json_line.trim()).context("fw-scan --json printed no JSON line")?;
    let receipt = &v["receipt"];
    if !receipt.is_object() {
        bail!("fw-scan's answer holds no receipt: {json_line}");
    }
    eprintln!("   the parsed receipt:");
    for field in [
        "merchant", "date", "time", "currency", "subtotal", "tax", "total",
    ] {
        let value = &receipt[field];
        let shown = match value {
            serde_json::Value::Null => "(not found)".to_string(),
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        eprintln!("     {field:<9} {shown}");
    }
    let items = receipt["items"].as_array().map_or(0, Vec::len);
    eprintln!("     items     {items} line(s)");
    Ok(())
}

fn receipt_image() -> PathBuf {
    let real = util::shared_data()
        .join("sroie")
        .join("images")
        .join("X51005453729.jpg");
    if real.exists() {
        real
    } else {
        root().join("fixtures/images/receipt.png")
    }
}

fn build_apps() -> Result<PathBuf> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(root()).args(["build", "-q"]);
    for app in APPS {
        cmd.args(["-p", app]);
    }
    util::run(&mut cmd)?;
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(|t| root().join(t))
        .unwrap_or_else(|| root().join("target"));
    Ok(target.join("debug"))
}

/// Deterministic bytes, written in 1 MiB blocks.
fn write_pattern_file(path: &Path, size: u64) -> Result<()> {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut block = vec![0u8; 1 << 20];
    let mut x: u32 = 0x9e37_79b9 ^ size as u32;
    let mut left = size;
    while left > 0 {
        for b in block.iter_mut() {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            *b = x as u8;
        }
        let n = left.min(block.len() as u64) as usize;
        f.write_all(&block[..n])?;
        left -= n as u64;
    }
    f.flush()?;
    Ok(())
}

struct Testbed {
    base: String,
    child: Child,
}

impl Testbed {
    fn start(bin: &Path, served: &Path) -> Result<Testbed> {
        let mut child = Command::new(bin.join("fw-testbed"))
            .arg("--files")
            .arg(served)
            .args([
                "--rate-limit",
                "8",
                "--service-ms",
                "10",
                "--retry-after",
                "1",
            ])
            .arg("--ocr-recordings")
            .arg(root().join("fixtures").join("ocrspace"))
            .stdout(Stdio::piped())
            .spawn()
            .context("starting fw-testbed")?;
        let stdout = child.stdout.take().context("fw-testbed stdout")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let Some(base) = line.trim().strip_prefix("listening on ") else {
            let _ = child.kill();
            bail!("fw-testbed said `{}` instead of its address", line.trim());
        };
        Ok(Testbed {
            base: base.to_string(),
            child,
        })
    }
}

impl Drop for Testbed {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Default)]
struct Demo {
    results: Vec<(String, String)>,
    /// `XDG_STATE_HOME` for every app the demo runs: batch journals and tus records land in the
    /// demo's own folder, never in the user's state folder.
    state_home: PathBuf,
}

fn banner(title: &str) {
    let rule = "=".repeat(title.len().min(96));
    eprintln!("\n{rule}\n{title}\n{rule}");
}

fn say(msg: &str) {
    eprintln!("{msg}");
}

fn wrap(text: &str) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if line.len() + word.len() + 1 > 96 && !line.is_empty() {
            out.push_str("   ");
            out.push_str(&line);
            out.push('\n');
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        out.push_str("   ");
        out.push_str(&line);
        out.push('\n');
    }
    out
}

fn shown(cmd: &Command) -> String {
    let shown = util::show(cmd);
    let root = root().display().to_string();
    shown
        .replace(&format!("{root}/target/debug/"), "")
        .replace(&format!("{root}/"), "")
}

impl Demo {
    fn header(&self, title: &str, narration: &str, cmd: &mut Command) {
        cmd.env("XDG_STATE_HOME", &self.state_home);
        let n = self.results.len() + 1;
        eprintln!("\n--- {n}. {title}");
        eprint!("{}", wrap(narration));
        eprintln!("$ {}", shown(cmd));
    }

    fn run(&mut self, cmd: &mut Command) -> Result<i32> {
        std::io::stdout().flush()?;
        let status = cmd
            .stdin(Stdio::null())
            .status()
            .with_context(|| format!("starting {}", util::show(cmd)))?;
        Ok(status.code().unwrap_or(-1))
    }

    fn step(&mut self, title: &str, narration: &str, cmd: &mut Command, expect: i32) -> Result<()> {
        self.header(title, narration, cmd);
        let code = self.run(cmd)?;
        println!();
        if code != expect {
            bail!("step `{title}` exited {code}, expected {expect}");
        }
        let outcome = format!("exit {code} as expected");
        eprintln!("=> {outcome}");
        self.results.push((title.to_string(), outcome));
        Ok(())
    }

    fn step_any_failure(&mut self, title: &str, narration: &str, cmd: &mut Command) -> Result<()> {
        self.header(title, narration, cmd);
        let code = self.run(cmd)?;
        if code == 0 {
            bail!("step `{title}` succeeded but the server cut the connection");
        }
        let outcome = format!("exit {code}: failed as the server cut it");
        eprintln!("=> {outcome}");
        self.results.push((title.to_string(), outcome));
        Ok(())
    }

    fn measured_step(
        &mut self,
        title: &str,
        narration: &str,
        cmd: &mut Command,
    ) -> Result<util::Measured> {
        self.header(title, narration, cmd);
        std::io::stdout().flush()?;
        let m = measure(cmd.stdin(Stdio::null()))?;
        println!();
        if !m.success {
            bail!("step `{title}` failed");
        }
        let outcome = format!("exit 0, peak RSS {}", mib(m.peak_rss_kib));
        eprintln!("=> {outcome}");
        self.results.push((title.to_string(), outcome));
        Ok(m)
    }

    /// A step whose stdout is kept (and echoed) for the demo to read; it must exit 0.
    fn captured_step(&mut self, title: &str, narration: &str, cmd: &mut Command) -> Result<String> {
        self.header(title, narration, cmd);
        let out = cmd
            .stdin(Stdio::null())
            .stderr(Stdio::inherit())
            .output()
            .with_context(|| format!("starting {}", util::show(cmd)))?;
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        println!("{stdout}");
        let code = out.status.code().unwrap_or(-1);
        if code != 0 {
            bail!("step `{title}` exited {code}, expected 0");
        }
        let outcome = "exit 0 as expected".to_string();
        eprintln!("=> {outcome}");
        self.results.push((title.to_string(), outcome));
        Ok(stdout)
    }

    fn note(&self, msg: &str) {
        eprintln!("   {msg}");
    }

    fn check_absent(&self, path: &Path) -> Result<()> {
        let dir = path.parent().context("no parent")?;
        let listing: Vec<String> = std::fs::read_dir(dir)?
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        if path.exists() {
            bail!("{} exists after a failed download", path.display());
        }
        eprintln!(
            "   {} is absent; the folder holds: {}",
            path.file_name().unwrap_or_default().to_string_lossy(),
            if listing.is_empty() {
                "nothing".to_string()
            } else {
                listing.join(", ")
            }
        );
        Ok(())
    }

    fn summary(&self, out: &Path) -> Result<()> {
        banner("summary");
        let width = self
            .results
            .iter()
            .map(|(t, _)| t.len())
            .max()
            .unwrap_or(10);
        for (i, (title, outcome)) in self.results.iter().enumerate() {
            eprintln!("{:>2}. {title:<width$}  {outcome}", i + 1);
        }
        eprintln!("\nEverything the demo wrote is under {}", out.display());
        eprintln!("Next: `cargo xtask test` runs every check; README.md lists each app's flags.");
        Ok(())
    }
}
