//! Upload files as streaming multipart/form-data, as the raw body of a PUT, or resumably over tus.
//!
//! A thin binary: parses flags, builds a [`multipart_upload::Form`] (or a
//! [`multipart_upload::FileBody`]) and a [`binary_io::FilePolicy`], sends with
//! [`multipart_upload::Uploader`] (or [`multipart_upload::Tus`]), prints the server's answer on
//! stdout and exits with the README's exit codes.

use binary_io::{FilePolicy, Kind};
use fw_cli::{Exit, ProgressMode};
use multipart_upload::{FileBody, Form, Resume, Tus, UploadError, Uploader};
use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

const USAGE: &str = "\
fw-upload: upload files as streaming multipart/form-data, a raw PUT body, or resumably (tus)

usage: fw-upload URL FILE... [options]          multipart/form-data POST
       fw-upload --put URL FILE [options]       FILE as the raw body of a PUT (presigned URLs)
       fw-upload --tus ENDPOINT FILE [options]  tus 1.0 resumable upload; rerun to resume

options:
  -F, --field NAME=VALUE   a text field (repeatable)
  --field-name NAME        the form field for the files (default: file)
  --accept MIME,...        allowed content types, judged by the bytes (e.g. image/png,image/jpeg)
  --max-size SIZE          largest file accepted (e.g. 512k, 5MB, 5MiB)
  --avatar                 profile-picture preset: JPEG/PNG/WebP/GIF, <= 5 MB, extension must match
  -H, --header 'NAME: VALUE'  an extra request header (repeatable)
  --timeout DURATION       idle timeout per socket read/write (default 30s; e.g. 10, 500ms, 2m)
  --content-type MIME      with --put or --tus: declare MIME instead of the sniffed type
  --chunk-size SIZE        with --tus: bytes per PATCH (default 4MiB), each retried on its own
  --no-resume              with --tus: start a new upload even if an earlier run left one
  --json                   print one JSON object describing the result
  --progress MODE          auto (bar when stderr is a terminal), always or never
  -q, --quiet              no progress, no messages but errors
  -h, --help               this help
  -V, --version            the version

Files are checked against the policy before connecting; a refused upload sends nothing.
--tus remembers the upload per (endpoint, file) in $XDG_STATE_HOME/filewire (default
~/.local/state/filewire): the same command after a crash sends only what the server lacks.

exit codes: 0 ok, 1 other failure, 2 usage, 3 refused before sending, 4 the server said no,
            5 network or timeout, 6 integrity
";

/// How the file goes out.
enum Mode {
    /// A multipart/form-data POST of one or more files.
    Form,
    /// One file as the raw body of a PUT.
    Put,
    /// One file over tus 1.0 to a creation endpoint.
    Tus { chunk_size: u64, resume: Resume },
}

struct Args {
    mode: Mode,
    url: String,
    content_type: Option<String>,
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
    let put: Option<String> = a.opt_value_from_str("--put").map_err(fail)?;
    let tus: Option<String> = a.opt_value_from_str("--tus").map_err(fail)?;
    let content_type: Option<String> = a.opt_value_from_str("--content-type").map_err(fail)?;
    let chunk_size: Option<String> = a.opt_value_from_str("--chunk-size").map_err(fail)?;
    let no_resume = a.contains("--no-resume");

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
    let chunk_given = chunk_size.is_some();
    let (mode, url) = match (put, tus) {
        (Some(_), Some(_)) => return Err("--put and --tus exclude each other".to_string()),
        (Some(url), None) => (Mode::Put, url),
        (None, Some(url)) => {
            let chunk_size = chunk_size
                .map(|c| binary_io::parse_size(&c).map_err(|e| format!("--chunk-size: {e}")))
                .transpose()?
                .unwrap_or(multipart_upload::DEFAULT_TUS_CHUNK_SIZE);
            if chunk_size == 0 {
                return Err("--chunk-size: must be at least 1 byte".to_string());
            }
            let resume = if no_resume {
                Resume::StartOver
            } else {
                Resume::Continue
            };
            (Mode::Tus { chunk_size, resume }, url)
        }
        (None, None) => {
            if free.len() < 2 {
                return Err("expected a URL and at least one FILE".to_string());
            }
            (Mode::Form, free.remove(0))
        }
    };
    let form = matches!(mode, Mode::Form);
    if !form && free.len() != 1 {
        return Err("--put and --tus take exactly one FILE".to_string());
    }
    if form && content_type.is_some() {
        return Err("--content-type goes with --put or --tus".to_string());
    }
    if !matches!(mode, Mode::Tus { .. }) && (chunk_given || no_resume) {
        return Err("--chunk-size and --no-resume go with --tus".to_string());
    }
    if !form && (!fields.is_empty() || field_name != "file") {
        return Err(
            "-F and --field-name go with multipart uploads, not --put or --tus".to_string(),
        );
    }

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
        mode,
        url,
        content_type,
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
        [one] => one.clone(),
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
    let response =
        match fw_cli::progress_bar(args.progress, args.quiet, Some(total), &args.files[0]) {
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
    let done = match fw_cli::progress_bar(args.progress, args.quiet, Some(total), &args.files[0]) {
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
