//! Upload files as streaming multipart/form-data, as the raw body of a PUT, or resumably over tus.
//!
//! A thin binary: parses flags, builds a [`multipart_upload::Form`] (or a
//! [`multipart_upload::FileBody`]) and a [`binary_io::FilePolicy`], sends with
//! [`multipart_upload::Uploader`] (or [`multipart_upload::Tus`]), prints the server's answer on
//! stdout and exits with the README's exit codes.

mod args;

use args::{Args, Mode, USAGE, parse_args};
use fw_cli::Exit;
use multipart_upload::{FileBody, Form, Resume, Tus, UploadError, Uploader};
use std::io::Write;
use std::process::ExitCode;

/// The error and its causes on one line: `a: b: c`.
fn chain(e: &UploadError) -> String {
    let mut msg = fw_cli::error_chain(e);
    if let UploadError::Status { body, .. } = e {
        // The server's explanation on one line, short: error pages can be whole HTML documents.
        let line: String = body.split_whitespace().collect::<Vec<_>>().join(" ");
        if !line.is_empty() {
            msg.push_str(": ");
            msg.extend(line.chars().take(300));
        }
    }
    msg
}

/// What a finished upload prints: the `--json` report, and the text printed without `--json`.
struct Done {
    report: serde_json::Value,
    text: Vec<u8>,
}

impl Done {
    /// The server's answer as the text, and as JSON (or a string) in the report.
    fn answered(mut report: serde_json::Value, response: multipart_upload::Response) -> Done {
        report["status"] = response.status.into();
        report["response"] = serde_json::from_slice::<serde_json::Value>(&response.body)
            .unwrap_or_else(|_| serde_json::Value::String(response.text()));
        Done {
            report,
            text: response.body,
        }
    }
}

fn uploader(args: &Args) -> Uploader {
    let mut uploader = Uploader::new();
    if let Some(t) = args.timeout {
        uploader = uploader.timeout(t);
    }
    if let Some(t) = args.connect_timeout {
        uploader = uploader.connect_timeout(t);
    }
    if let Some(p) = &args.policy {
        uploader = uploader.policy(p.clone());
    }
    for (name, value) in &args.headers {
        uploader = uploader.header(name, value);
    }
    uploader
}

fn upload(args: &Args) -> Result<Done, UploadError> {
    match args.mode {
        Mode::Form => upload_form(args),
        Mode::Put => upload_put(args),
        Mode::Tus { chunk_size, resume } => upload_tus(args, chunk_size, resume),
    }
}

fn upload_form(args: &Args) -> Result<Done, UploadError> {
    let mut form = Form::new();
    for (name, value) in &args.fields {
        form = form.text(name, value);
    }
    for path in &args.files {
        form = form.file(&args.field_name, path)?;
    }
    let sent: Vec<serde_json::Value> = form
        .files()
        .map(|f| {
            serde_json::json!({
                "path": f.path().map(|p| p.display().to_string()),
                "filename": f.file_name(),
                "content_type": f.mime(),
                "size": f.size(),
            })
        })
        .collect();
    let uploader = uploader(args);
    // Check first so a refusal never shows a bar.
    uploader.check(&form)?;
    let label = match args.files.as_slice() {
        [one] => one.display().to_string(),
        many => format!("{} files", many.len()),
    };
    let total = form.content_length();
    let response = match fw_cli::progress_bar(args.progress, args.quiet, Some(total), &label) {
        Some(bar) => uploader.send_with_progress(&args.url, form, bar)?,
        None => uploader.send(&args.url, form)?,
    };
    let report = serde_json::json!({ "ok": true, "url": args.url, "sent": sent });
    Ok(Done::answered(report, response))
}

/// The one file of `--put`/`--tus`, for the progress bar.
fn label(args: &Args) -> String {
    args.files[0].display().to_string()
}

/// The file of `--put`/`--tus`, with `--content-type` applied.
fn file_body(args: &Args) -> Result<FileBody, UploadError> {
    let body = FileBody::open(&args.files[0])?;
    Ok(match &args.content_type {
        Some(mime) => body.content_type(mime.as_str()),
        None => body,
    })
}

fn describe(body: &FileBody) -> serde_json::Value {
    serde_json::json!({
        "path": body.path().display().to_string(),
        "filename": body.file_name(),
        "content_type": body.mime(),
        "size": body.size(),
    })
}

fn upload_put(args: &Args) -> Result<Done, UploadError> {
    let body = file_body(args)?;
    let uploader = uploader(args);
    uploader.check_body(&body)?;
    let sent = describe(&body);
    let total = body.size();
    let response = match fw_cli::progress_bar(args.progress, args.quiet, Some(total), &label(args))
    {
        Some(bar) => uploader.put_with_progress(&args.url, body, bar)?,
        None => uploader.put(&args.url, body)?,
    };
    let report = serde_json::json!({ "ok": true, "url": args.url, "sent": [sent] });
    Ok(Done::answered(report, response))
}

fn upload_tus(args: &Args, chunk_size: u64, resume: Resume) -> Result<Done, UploadError> {
    let body = file_body(args)?;
    let uploader = uploader(args);
    uploader.check_body(&body)?;
    let sent = describe(&body);
    let total = body.size();
    if multipart_upload::default_state_dir().is_none() && !args.quiet {
        fw_cli::warn(
            "neither XDG_STATE_HOME nor HOME is set: this upload cannot be resumed by a later run",
        );
    }
    let tus = Tus::new(uploader).chunk_size(chunk_size).resume(resume);
    let done = match fw_cli::progress_bar(args.progress, args.quiet, Some(total), &label(args)) {
        Some(bar) => tus.upload_with_progress(&args.url, body, bar)?,
        None => tus.upload(&args.url, body)?,
    };
    let report = serde_json::json!({
        "ok": true,
        "url": args.url,
        "sent": [sent],
        "upload_url": done.upload_url,
        "resumed": done.resumed,
        "start_offset": done.start_offset,
        "bytes_sent": done.sent,
        "uploads_created": done.created,
        "retries": done.retries,
    });
    Ok(Done {
        report,
        text: format!("{}\n", done.upload_url).into_bytes(),
    })
}

fn main() -> ExitCode {
    let args = match fw_cli::command_line("fw-upload", env!("CARGO_PKG_VERSION"), USAGE, parse_args)
    {
        Ok(args) => args,
        Err(code) => return code,
    };
    let mut out = std::io::stdout().lock();
    match upload(&args) {
        Ok(done) => {
            let written = if args.json {
                writeln!(out, "{}", done.report)
            } else {
                out.write_all(&done.text).and_then(|()| {
                    if done.text.ends_with(b"\n") || done.text.is_empty() {
                        Ok(())
                    } else {
                        writeln!(out)
                    }
                })
            };
            if written.and_then(|()| out.flush()).is_err() {
                return Exit::Failure.code();
            }
            Exit::Ok.code()
        }
        Err(e) => {
            let exit = Exit::from_kind(e.kind());
            let msg = chain(&e);
            fw_cli::error(&msg);
            if args.json {
                let report = serde_json::json!({
                    "ok": false,
                    "url": args.url,
                    "error": msg,
                    "status": e.status(),
                    "exit_code": exit as u8,
                });
                let _ = writeln!(out, "{report}");
            }
            exit.code()
        }
    }
}
