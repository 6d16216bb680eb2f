//! fw-batch's command line: the usage text and the flags, parsed into [`Args`].

use crate::send::IDEMPOTENCY_HEADER;
use batch_pool::Shard;
use fw_cli::ProgressMode;
use multipart_upload::UrlTemplate;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub(crate) const USAGE: &str = "\
fw-batch: upload every file of a folder or manifest: one multipart POST, raw PUT or tus upload
per file

usage: fw-batch URL DIR [options]                multipart/form-data POST per file
       fw-batch --put URL_TEMPLATE DIR [options] each file as the raw body of a PUT
       fw-batch --tus ENDPOINT DIR [options]     each file a resumable tus 1.0 upload
       (--manifest FILE instead of DIR in each form)

options:
  --put URL_TEMPLATE    PUT each file to the template's URL: {name} is the file's relative
                        name (each path segment percent-encoded), {stem} that name without its
                        extension, {ext} the extension; {name} is required unless the batch is
                        one file. E.g. http://127.0.0.1:8080/bucket/{name}
  --tus ENDPOINT        upload each file over tus 1.0 (creation, then PATCHes); a file a killed
                        run left half sent continues from the server's offset
  --content-type MIME   with --put or --tus: declare MIME instead of each file's sniffed type
  --chunk-size SIZE     with --tus: bytes per PATCH (default 4MiB), each retried on its own
  --workers N|auto      concurrent uploads, or find the server's limit (default auto)
  --max-workers N       ceiling for --workers auto (default 64)
  --retries N           retries per file after the first try (default 4)
  -F, --field NAME=VALUE  form field sent with every file (repeatable; not with --put/--tus)
  --file-field NAME     name of the file part (default file; not with --put/--tus)
  -H, --header 'NAME: VALUE'  request header sent with every file (repeatable; not framing
                        headers; with a form not Content-Type or X-Idempotency-Key)
  --manifest FILE       JSON Lines: {\"path\": \"...\", \"fields\": {...}} per line
  --journal FILE        resume journal (default: one per source, destination and shard in
                        $XDG_STATE_HOME/filewire/journals/, else ~/.local/state/...;
                        never inside DIR); one run at a time may use it
  --hash                know files by size and SHA-256 instead of size and times (reads
                        every file first; a copy with new times is not sent again)
  --shard INDEX/COUNT   only this stable hash-based share of the batch
  --json                one JSON result per file on stdout (JSON Lines)
  --timeout DUR         idle timeout per request (default 30s)
  --progress WHEN       auto|always|never (default auto: only on a terminal)
  -q, --quiet           no progress, no summary
  -h, --help            this help
  -V, --version         the version

A file is known by its destination (the URL, the --put template or the --tus endpoint), its
name and its version: a rerun skips what was sent there, and sends it again elsewhere.

exit codes: 0 all uploaded, 1 other failure (e.g. the journal is in use by another run),
            2 usage, 3 the folder or manifest is missing or unreadable (nothing sent),
            7 some files failed
";

/// How each file goes out.
pub(crate) enum Mode {
    /// A multipart/form-data POST to `url`, with the `-F` fields.
    Form {
        url: String,
        fields: Vec<(String, String)>,
        file_field: String,
    },
    /// The file as the raw body of a PUT to the template's URL.
    Put {
        template: UrlTemplate,
        content_type: Option<String>,
    },
    /// A tus 1.0 upload to a creation endpoint.
    Tus {
        endpoint: String,
        chunk_size: u64,
        content_type: Option<String>,
    },
}

impl Mode {
    /// What the journal knows the destination by (hashed there, never written): the form's
    /// URL, else the method and the template or endpoint, so the same folder sent elsewhere,
    /// or another way, is sent again.
    pub(crate) fn destination(&self) -> String {
        match self {
            Mode::Form { url, .. } => url.clone(),
            Mode::Put { template, .. } => format!("PUT {}", template.as_str()),
            Mode::Tus { endpoint, .. } => format!("tus {endpoint}"),
        }
    }
}

pub(crate) struct Args {
    pub(crate) mode: Mode,
    pub(crate) source: Source,
    pub(crate) workers: Workers,
    pub(crate) max_workers: usize,
    pub(crate) retries: u32,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) journal: Option<PathBuf>,
    pub(crate) hash: bool,
    pub(crate) shard: Shard,
    pub(crate) json: bool,
    pub(crate) timeout: Option<Duration>,
    pub(crate) progress: ProgressMode,
    pub(crate) quiet: bool,
}

pub(crate) enum Source {
    Dir(PathBuf),
    Manifest(PathBuf),
}

pub(crate) enum Workers {
    Fixed(usize),
    Auto,
}

pub(crate) fn parse_args(mut p: pico_args::Arguments) -> Result<Args, String> {
    let e = |e: pico_args::Error| e.to_string();
    let workers = match p.opt_value_from_str::<_, String>("--workers").map_err(e)? {
        None => Workers::Auto,
        Some(w) if w == "auto" => Workers::Auto,
        Some(w) => match w.parse::<usize>() {
            Ok(n) if n > 0 => Workers::Fixed(n),
            _ => {
                return Err(format!(
                    "invalid --workers `{w}` (expected a number > 0 or auto)"
                ));
            }
        },
    };
    let max_workers = p
        .opt_value_from_str("--max-workers")
        .map_err(e)?
        .unwrap_or(64usize);
    let retries = p
        .opt_value_from_str("--retries")
        .map_err(e)?
        .unwrap_or(4u32);
    let raw_fields: Vec<String> = p.values_from_str(["-F", "--field"]).map_err(e)?;
    let fields = fw_cli::parse_fields(&raw_fields)?;
    let raw_headers: Vec<String> = p.values_from_str(["-H", "--header"]).map_err(e)?;
    let file_field: Option<String> = p.opt_value_from_str("--file-field").map_err(e)?;
    let put: Option<String> = p.opt_value_from_str("--put").map_err(e)?;
    let tus: Option<String> = p.opt_value_from_str("--tus").map_err(e)?;
    let content_type: Option<String> = p.opt_value_from_str("--content-type").map_err(e)?;
    let chunk_size: Option<String> = p.opt_value_from_str("--chunk-size").map_err(e)?;
    let manifest = p
        .opt_value_from_os_str("--manifest", fw_cli::path_arg)
        .map_err(e)?;
    let journal = p
        .opt_value_from_os_str("--journal", fw_cli::path_arg)
        .map_err(e)?;
    let hash = p.contains("--hash");
    let shard = match p.opt_value_from_str::<_, String>("--shard").map_err(e)? {
        Some(s) => s.parse::<Shard>().map_err(|e| e.to_string())?,
        None => Shard::WHOLE,
    };
    let json = p.contains("--json");
    let timeout = p
        .opt_value_from_fn("--timeout", fw_cli::parse_duration)
        .map_err(e)?;
    let progress = p
        .opt_value_from_fn("--progress", str::parse::<ProgressMode>)
        .map_err(e)?
        .unwrap_or_default();
    let quiet = p.contains(["-q", "--quiet"]);
    let form = put.is_none() && tus.is_none();
    let url: Option<String> = if form {
        p.opt_free_from_str().map_err(e)?
    } else {
        None
    };
    let dir = p.opt_free_from_os_str(fw_cli::path_arg).map_err(e)?;
    let rest = p.finish();
    if !rest.is_empty() {
        return Err(format!("unexpected arguments: {rest:?}"));
    }
    if !form && (!fields.is_empty() || file_field.is_some()) {
        return Err("-F and --file-field go with multipart uploads, not --put or --tus".into());
    }
    if form && content_type.is_some() {
        return Err("--content-type goes with --put or --tus".into());
    }
    if tus.is_none() && chunk_size.is_some() {
        return Err("--chunk-size goes with --tus".into());
    }
    let mode = match (put, tus) {
        (Some(_), Some(_)) => return Err("--put and --tus exclude each other".into()),
        (None, None) => Mode::Form {
            url: url.ok_or("missing URL (see --help)")?,
            fields,
            file_field: file_field.unwrap_or_else(|| "file".to_string()),
        },
        (Some(template), None) => Mode::Put {
            template: template
                .parse::<UrlTemplate>()
                .map_err(|e| format!("--put: {e}"))?,
            content_type,
        },
        (None, Some(endpoint)) => {
            let chunk_size = chunk_size
                .map(|c| binary_io::parse_size(&c).map_err(|e| format!("--chunk-size: {e}")))
                .transpose()?
                .unwrap_or(multipart_upload::DEFAULT_TUS_CHUNK_SIZE);
            if chunk_size == 0 {
                return Err("--chunk-size: must be at least 1 byte".into());
            }
            Mode::Tus {
                endpoint,
                chunk_size,
                content_type,
            }
        }
    };
    // A generated multipart body carries its boundary in Content-Type and fw-batch sends one
    // idempotency key per file; a raw PUT or tus body may have its type set (a presigned URL
    // may have signed one).
    let headers = if matches!(mode, Mode::Form { .. }) {
        let headers = fw_cli::parse_upload_headers(&raw_headers)?;
        if let Some((name, _)) = headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(IDEMPOTENCY_HEADER))
        {
            return Err(format!(
                "header `{name}` cannot be given with -H: fw-batch sends one per file"
            ));
        }
        headers
    } else {
        fw_cli::parse_headers(&raw_headers)?
    };
    let source = match (dir, manifest) {
        (Some(d), None) => Source::Dir(d),
        (None, Some(m)) => Source::Manifest(m),
        (Some(_), Some(_)) => return Err("give a DIR or --manifest FILE, not both".into()),
        (None, None) => return Err("missing DIR or --manifest FILE (see --help)".into()),
    };
    Ok(Args {
        mode,
        source,
        workers,
        max_workers: max_workers.max(1),
        retries,
        headers,
        journal,
        hash,
        shard,
        json,
        timeout,
        progress,
        quiet,
    })
}

impl Source {
    pub(crate) fn path(&self) -> &Path {
        match self {
            Source::Dir(p) | Source::Manifest(p) => p,
        }
    }
}
