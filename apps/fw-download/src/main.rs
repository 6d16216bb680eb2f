//! Download a file safely: checked, streamed, resumable, atomically renamed.
//!
//! A thin binary: parses flags, configures a [`safe_download::Downloader`], prints the result on
//! stdout (text or `--json`) and exits with the README's exit codes. `-i LIST` hands the list to
//! [`safe_download::batch`] (see `batch.rs` for the flags and the output).

use anyhow::Result;
use args::{Args, Mode, USAGE, parse_args};
use fw_cli::Exit;
use safe_download::{DownloadError, Target};
use std::process::ExitCode;

mod args;
mod batch;

fn main() -> ExitCode {
    let args = match fw_cli::command_line("fw-download", env!("CARGO_PKG_VERSION"), USAGE, |a| {
        parse_args(a).map_err(|e| format!("{e:#}"))
    }) {
        Ok(args) => args,
        Err(code) => return code,
    };
    let outcome = match &args.mode {
        Mode::Single { url, target } => run(&args, url, target).map(|()| Exit::Ok),
        Mode::Batch(b) => batch::run(&args.downloader, b, args.json, args.progress, args.quiet),
    };
    match outcome {
        Ok(exit) => exit.code(),
        Err(e) => {
            let exit = e
                .downcast_ref::<DownloadError>()
                .map_or(Exit::Failure, |e| Exit::from_kind(e.kind()));
            fw_cli::error(&describe(&e));
            if args.json {
                let out = serde_json::json!({
                    "ok": false,
                    "url": match &args.mode {
                        Mode::Single { url, .. } => url.as_str(),
                        Mode::Batch(_) => "",
                    },
                    "error": describe(&e),
                    "exit_code": exit as u8,
                });
                println!("{out}");
            }
            exit.code()
        }
    }
}

fn run(args: &Args, url: &str, target: &Target) -> Result<()> {
    let label = safe_download::url_filename(url).unwrap_or_else(|| "download".into());
    let bar = fw_cli::progress_bar(args.progress, args.quiet || args.json, None, &label);
    let done = match bar {
        Some(bar) => args.downloader.fetch_with_progress(url, target, bar),
        None => args.downloader.fetch(url, target),
    }
    // The error names the URL already; a context line would print it twice.
    .map_err(anyhow::Error::from)?;
    if args.json {
        let mut v = serde_json::to_value(&done)?;
        v["ok"] = serde_json::Value::Bool(true);
        println!("{v}");
    } else if !args.quiet {
        println!(
            "{} ({} bytes{})",
            done.path.display(),
            done.bytes,
            if done.resumed { ", resumed" } else { "" }
        );
    }
    Ok(())
}

/// The error and its causes on one line.
fn describe(e: &anyhow::Error) -> String {
    fw_cli::error_chain(e.as_ref())
}
