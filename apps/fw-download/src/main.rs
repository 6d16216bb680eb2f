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
        let mut v = downloaded_json(&done);
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

/// A finished download as JSON, its path as [`set_path`] writes it.
pub(crate) fn downloaded_json(done: &safe_download::Downloaded) -> serde_json::Value {
    let mut v = serde_json::json!({
        "bytes": done.bytes,
        "content_type": done.content_type,
        "kind": done.kind,
        "sha256": done.sha256,
        "resumed": done.resumed,
        "url": done.url,
    });
    set_path(&mut v, &done.path);
    v
}

/// Sets `path` in a JSON object: the path as text, and when it is not UTF-8 (JSON strings
/// cannot hold such bytes) a lossy `path` plus its exact bytes in hex as `path_hex`.
pub(crate) fn set_path(v: &mut serde_json::Value, path: &std::path::Path) {
    v["path"] = path.to_string_lossy().into_owned().into();
    if path.to_str().is_none() {
        v["path_hex"] = path
            .as_os_str()
            .as_encoded_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
            .into();
    }
}

/// The error and its causes on one line.
fn describe(e: &anyhow::Error) -> String {
    fw_cli::error_chain(e.as_ref())
}
