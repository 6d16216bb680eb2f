//! Run the filewire testbed HTTP server on loopback.
//!
//! Prints `listening on http://127.0.0.1:PORT` as its first stdout line, then serves until it
//! is killed (SIGTERM, Ctrl-C). Benches and the demo spawn it and read that line.

use std::io::Write;
use std::time::Duration;

use anyhow::{Context, bail};

const HELP: &str = "\
fw-testbed: the filewire test server on 127.0.0.1 (echo, files, faults, rate limits, OCR)

USAGE:
    fw-testbed [OPTIONS]

OPTIONS:
    --port N          port to listen on (default 0: any free port)
    --files DIR       folder served by /files/<name> and /flaky/<name>
    --rate-limit K    requests /ratelimit/upload serves at once (default 8; 0: all get 429)
    --service-ms MS   time each /ratelimit/upload request takes (default 10)
    --retry-after S   Retry-After seconds on 429 answers (default 1)
    --ocr-recordings DIR
                      recorded OCR.space answers, HEX.json for an image of SHA-256 HEX
    -h, --help        print this help
    -V, --version     print the version

Prints `listening on http://127.0.0.1:PORT` on stdout, then serves until killed.
Exit codes: 0 ok, 1 other failure, 2 usage.
";

struct Args {
    port: u16,
    files: Option<std::path::PathBuf>,
    rate_limit: usize,
    service_ms: u64,
    retry_after_s: u64,
    ocr_recordings: Option<std::path::PathBuf>,
}

/// The parsed command line, `None` when --help or --version was answered.
fn parse_args() -> Result<Option<Args>, String> {
    let mut p = pico_args::Arguments::from_env();
    if p.contains(["-h", "--help"]) {
        print!("{HELP}");
        return Ok(None);
    }
    if p.contains(["-V", "--version"]) {
        println!("fw-testbed {}", env!("CARGO_PKG_VERSION"));
        return Ok(None);
    }
    let e = |e: pico_args::Error| e.to_string();
    let args = Args {
        port: p.opt_value_from_str("--port").map_err(e)?.unwrap_or(0),
        files: p.opt_value_from_str("--files").map_err(e)?,
        rate_limit: p
            .opt_value_from_str("--rate-limit")
            .map_err(e)?
            .unwrap_or(8),
        service_ms: p
            .opt_value_from_str("--service-ms")
            .map_err(e)?
            .unwrap_or(10),
        retry_after_s: p
            .opt_value_from_str("--retry-after")
            .map_err(e)?
            .unwrap_or(1),
        ocr_recordings: p.opt_value_from_str("--ocr-recordings").map_err(e)?,
    };
    let rest = p.finish();
    if !rest.is_empty() {
        return Err(format!("unexpected arguments {rest:?}"));
    }
    Ok(Some(args))
}

fn run(args: Args) -> anyhow::Result<()> {
    let mut builder = testbed::Testbed::builder()
        .port(args.port)
        .rate_limit(args.rate_limit, Duration::from_millis(args.service_ms))
        .retry_after(testbed::RetryAfterStyle::Seconds(args.retry_after_s));
    if let Some(dir) = &args.files {
        if !dir.is_dir() {
            bail!("--files {} is not a folder", dir.display());
        }
        builder = builder.files_dir(dir);
    }
    if let Some(dir) = &args.ocr_recordings {
        if !dir.is_dir() {
            bail!("--ocr-recordings {} is not a folder", dir.display());
        }
        builder = builder.ocr_recordings(dir);
    }
    let server = builder
        .start()
        .with_context(|| format!("while binding 127.0.0.1:{}", args.port))?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "listening on {}", server.url("")).context("while writing to stdout")?;
    out.flush().context("while flushing stdout")?;
    drop(out);
    // Serve until killed; the server runs on its own threads.
    loop {
        std::thread::park();
    }
}

fn main() {
    let args = match parse_args() {
        Ok(Some(args)) => args,
        Ok(None) => return,
        Err(e) => {
            eprintln!("fw-testbed: {e}\n\n{HELP}");
            std::process::exit(2);
        }
    };
    if let Err(e) = run(args) {
        eprintln!("fw-testbed: {e:#}");
        std::process::exit(1);
    }
}
