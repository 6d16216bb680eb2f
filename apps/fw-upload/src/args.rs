//! fw-upload's command line: the help text, the flags and the checks between them.

use binary_io::FilePolicy;
use fw_cli::ProgressMode;
use multipart_upload::Resume;
use std::path::PathBuf;
use std::time::Duration;

pub(crate) const USAGE: &str = "\
fw-upload: upload files as streaming multipart/form-data, a raw PUT body, or resumably (tus)

usage: fw-upload URL FILE... [options]          multipart/form-data POST
       fw-upload --put URL FILE [options]       FILE as the raw body of a PUT (presigned URLs)
       fw-upload --tus ENDPOINT FILE [options]  tus 1.0 resumable upload; rerun to resume

options:
  -F, --field NAME=VALUE   a text field (repeatable)
  --field-name NAME        the form field for the files (default: file)
  --accept TYPES           allowed content types, judged by the bytes, e.g. image/*,application/pdf,png
  --max-size SIZE          largest file accepted (e.g. 512k, 5MB, 5MiB)
  --avatar                 profile-picture preset: JPEG/PNG/WebP/GIF, <= 5 MB, extension must match
  -H, --header 'NAME: VALUE'  an extra request header (repeatable)
  --timeout DURATION       idle timeout per socket read/write (default 30s; e.g. 10, 500ms, 2m)
  --connect-timeout DUR    connect timeout (default 10s)
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
pub(crate) enum Mode {
    /// A multipart/form-data POST of one or more files.
    Form,
    /// One file as the raw body of a PUT.
    Put,
    /// One file over tus 1.0 to a creation endpoint.
    Tus { chunk_size: u64, resume: Resume },
}

pub(crate) struct Args {
    pub(crate) mode: Mode,
    pub(crate) url: String,
    pub(crate) content_type: Option<String>,
    pub(crate) files: Vec<PathBuf>,
    pub(crate) fields: Vec<(String, String)>,
    pub(crate) field_name: String,
    pub(crate) policy: Option<FilePolicy>,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) connect_timeout: Option<Duration>,
    pub(crate) json: bool,
    pub(crate) progress: ProgressMode,
    pub(crate) quiet: bool,
}

pub(crate) fn parse_args(mut a: pico_args::Arguments) -> Result<Args, String> {
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
    let connect_timeout: Option<String> =
        a.opt_value_from_str("--connect-timeout").map_err(fail)?;
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
        if arg.as_encoded_bytes().starts_with(b"-") && arg.len() > 1 {
            return Err(format!("unknown option `{}`", arg.to_string_lossy()));
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
            let url = free.remove(0);
            let url = url
                .into_string()
                .map_err(|u| format!("URL is not UTF-8: {}", u.to_string_lossy()))?;
            (Mode::Form, url)
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
        // The one --accept grammar (binary-io): types, type/* and short names; an upload is
        // judged by its bytes, so the list becomes the kinds it allows.
        let patterns = binary_io::parse_accept(&list).map_err(|e| format!("--accept: {e}"))?;
        let kinds = binary_io::accepted_kinds(&patterns);
        if kinds.is_empty() {
            return Err(format!(
                "--accept: `{list}` names no kind fw-upload can recognise by its bytes"
            ));
        }
        policy = Some(policy.unwrap_or_default().allow(kinds));
    }
    if let Some(size) = max_size {
        let bytes = binary_io::parse_size(&size).map_err(|e| format!("--max-size: {e}"))?;
        policy = Some(policy.unwrap_or_default().max_size(bytes));
    }
    // A generated multipart body carries its boundary in Content-Type, so only --put and --tus
    // may set that header (a presigned URL may require the exact type it was signed for).
    let headers = if form {
        fw_cli::parse_upload_headers(&raw_headers)?
    } else {
        fw_cli::parse_headers(&raw_headers)?
    };
    let timeout = timeout
        .map(|t| fw_cli::parse_duration(&t))
        .transpose()
        .map_err(|e| format!("--timeout: {e}"))?;
    let connect_timeout = connect_timeout
        .map(|t| fw_cli::parse_duration(&t))
        .transpose()
        .map_err(|e| format!("--connect-timeout: {e}"))?;
    let progress = progress
        .map(|p| p.parse::<ProgressMode>())
        .transpose()?
        .unwrap_or_default();
    Ok(Args {
        mode,
        url,
        content_type,
        files: free
            .iter()
            .map(|f| fw_cli::path_arg(f))
            .collect::<Result<_, _>>()?,
        fields,
        field_name,
        policy,
        headers,
        timeout,
        connect_timeout,
        json,
        progress,
        quiet,
    })
}
