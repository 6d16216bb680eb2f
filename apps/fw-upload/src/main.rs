//! Upload files as streaming multipart/form-data.
//!
//! A thin binary: parses flags, builds a [`multipart_upload::Form`] and a
//! [`binary_io::FilePolicy`], sends with [`multipart_upload::Uploader`], prints the server's
//! answer on stdout and exits with the README's exit codes.

use binary_io::{FilePolicy, Kind};
use fw_cli::{Exit, ProgressMode};
use multipart_upload::{Form, UploadError, Uploader};
use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

const USAGE: &str = "\
fw-upload: upload files as streaming multipart/form-data

usage: fw-upload URL FILE... [options]

options:
  -F, --field NAME=VALUE   a text field (repeatable)
  --field-name NAME        the form field for the files (default: file)
  --accept MIME,...        allowed content types, judged by the bytes (e.g. image/png,image/jpeg)
  --max-size SIZE          largest file accepted (e.g. 512k, 5MB, 5MiB)
  --avatar                 profile-picture preset: JPEG/PNG/WebP/GIF, <= 5 MB, extension must match
  -H, --header 'NAME: VALUE'  an extra request header (repeatable)
  --timeout DURATION       idle timeout per socket read/write (default 30s; e.g. 10, 500ms, 2m)
  --json                   print one JSON object describing the result
  --progress MODE          auto (bar when stderr is a terminal), always or never
  -q, --quiet              no progress, no messages but errors
  -h, --help               this help
  -V, --version            the version

Files are checked against the policy before connecting; a refused upload sends nothing.

exit codes: 0 ok, 1 other failure, 2 usage, 3 refused before sending, 4 the server said no,
            5 network or timeout, 6 integrity
";

struct Args {
    url: String,
    files: Vec<String>,
    fields: Vec<(String, String)>,
    field_name: String,
    policy: Option<FilePolicy>,
    headers: Vec<(String, String)>,
    timeout: Option<Duration>,
    json: bool,
    progress: ProgressMode,
    quiet: bool,
}

fn parse_args(mut a: pico_args::Arguments) -> Result<Args, String> {
    let fail = |e: pico_args::Error| e.to_string();
    let raw_fields: Vec<String> = a.values_from_str(["-F", "--field"]).map_err(fail)?;
    let fields = fw_cli::parse_fields(&raw_fields)?;
    let field_name: String = a
        .opt_value_from_str("--field-name")
        .map_err(fail)?
        .unwrap_or_else(|| "file".to_string());
    let accept: Option<String> = a.opt_value_from_str("--accept").map_err(fail)?;
    let max_size: Option<String> = a.opt_value_from_str("--max-size").map_err(fail)?;
    let avatar = a.contains("--avatar");
    let raw_headers: Vec<String> = a.values_from_str(["-H", "--header"]).map_err(fail)?;
    let timeout: Option<String> = a.opt_value_from_str("--timeout").map_err(fail)?;
    let json = a.contains("--json");
    let progress: Option<String> = a.opt_value_from_str("--progress").map_err(fail)?;
    let quiet = a.contains(["-q", "--quiet"]);

    let mut free = Vec::new();
    for arg in a.finish() {
        let arg = arg
            .into_string()
            .map_err(|a| format!("argument is not UTF-8: {}", a.to_string_lossy()))?;
        if arg.starts_with('-') && arg.len() > 1 {
            return Err(format!("unknown option `{arg}`"));
        }
        free.push(arg);
    }
    if free.len() < 2 {
        return Err("expected a URL and at least one FILE".to_string());
    }
    let url = free.remove(0);

    let mut policy = avatar.then(FilePolicy::avatar);
    if let Some(list) = accept {
        let mut kinds = Vec::new();
        for mime in list.split(',').map(str::trim).filter(|m| !m.is_empty()) {
            kinds.push(
                Kind::from_mime(mime)
                    .ok_or_else(|| format!("--accept: unknown content type `{mime}`"))?,
            );
        }
        policy = Some(policy.unwrap_or_default().allow(kinds));
    }
    if let Some(size) = max_size {
        let bytes = binary_io::parse_size(&size).map_err(|e| format!("--max-size: {e}"))?;
        policy = Some(policy.unwrap_or_default().max_size(bytes));
    }
    let headers = raw_headers
        .iter()
        .map(|h| match h.split_once(':') {
            Some((name, value)) if !name.trim().is_empty() => {
                Ok((name.trim().to_string(), value.trim().to_string()))
            }
            _ => Err(format!("invalid header `{h}` (expected 'Name: value')")),
        })
        .collect::<Result<Vec<_>, String>>()?;
    let timeout = timeout
        .map(|t| fw_cli::parse_duration(&t))
        .transpose()
        .map_err(|e| format!("--timeout: {e}"))?;
    let progress = progress
        .map(|p| p.parse::<ProgressMode>())
        .transpose()?
        .unwrap_or_default();
    Ok(Args {
        url,
        files: free,
        fields,
        field_name,
        policy,
        headers,
        timeout,
        json,
        progress,
        quiet,
    })
}

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

fn upload(args: &Args) -> Result<(multipart_upload::Response, serde_json::Value), UploadError> {
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
    let mut uploader = Uploader::new();
    if let Some(t) = args.timeout {
        uploader = uploader.timeout(t);
    }
    if let Some(p) = &args.policy {
        uploader = uploader.policy(p.clone());
    }
    for (name, value) in &args.headers {
        uploader = uploader.header(name, value);
    }
    // Check first so a refusal never shows a bar.
    uploader.check(&form)?;
    let label = match args.files.as_slice() {
        [one] => one.clone(),
        many => format!("{} files", many.len()),
    };
    let total = form.content_length();
    let response = match fw_cli::progress_bar(args.progress, args.quiet, Some(total), &label) {
        Some(bar) => uploader.send_with_progress(&args.url, form, bar)?,
        None => uploader.send(&args.url, form)?,
    };
    Ok((response, serde_json::Value::Array(sent)))
}

fn main() -> ExitCode {
    let args = match fw_cli::command_line("fw-upload", env!("CARGO_PKG_VERSION"), USAGE, parse_args)
    {
        Ok(args) => args,
        Err(code) => return code,
    };
    let mut out = std::io::stdout().lock();
    match upload(&args) {
        Ok((response, sent)) => {
            let written = if args.json {
                let answer = serde_json::from_slice::<serde_json::Value>(&response.body)
                    .unwrap_or_else(|_| serde_json::Value::String(response.text()));
                let report = serde_json::json!({
                    "ok": true,
                    "url": args.url,
                    "status": response.status,
                    "sent": sent,
                    "response": answer,
                });
                writeln!(out, "{report}")
            } else {
                out.write_all(&response.body).and_then(|()| {
                    if response.body.ends_with(b"\n") || response.body.is_empty() {
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
            let code = e.exit_code();
            let msg = chain(&e);
            fw_cli::error(&msg);
            if args.json {
                let report = serde_json::json!({
                    "ok": false,
                    "url": args.url,
                    "error": msg,
                    "status": e.status(),
                    "exit_code": code,
                });
                let _ = writeln!(out, "{report}");
            }
            Exit::from_code(code).code()
        }
    }
}
