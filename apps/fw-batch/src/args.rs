//! fw-batch's command line: the usage text and the flags, parsed into [`Args`].

use crate::IDEMPOTENCY_HEADER;
use batch_pool::Shard;
use fw_cli::ProgressMode;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub(crate) const USAGE: &str = "\
fw-batch: upload every file of a folder or manifest, one multipart POST per file

usage: fw-batch URL DIR [options]
       fw-batch URL --manifest FILE [options]

options:
  --workers N|auto      concurrent uploads, or find the server's limit (default auto)
  --max-workers N       ceiling for --workers auto (default 64)
  --retries N           retries per file after the first try (default 4)
  -F, --field NAME=VALUE  form field sent with every file (repeatable)
  --file-field NAME     name of the file part (default file)
  -H, --header 'NAME: VALUE'  request header sent with every file (repeatable; not
                        Content-Type, framing headers or X-Idempotency-Key)
  --manifest FILE       JSON Lines: {\"path\": \"...\", \"fields\": {...}} per line
  --journal FILE        resume journal (default: one per source, URL and shard in
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

exit codes: 0 all uploaded, 1 other failure (e.g. the journal is in use by another run),
            2 usage, 3 the folder or manifest is missing or unreadable (nothing sent),
            7 some files failed
";

pub(crate) struct Args {
    pub(crate) url: String,
    pub(crate) source: Source,
    pub(crate) workers: Workers,
    pub(crate) max_workers: usize,
    pub(crate) retries: u32,
    pub(crate) fields: Vec<(String, String)>,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) file_field: String,
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
    let headers = fw_cli::parse_upload_headers(&raw_headers)?;
    if let Some((name, _)) = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(IDEMPOTENCY_HEADER))
    {
        return Err(format!(
            "header `{name}` cannot be given with -H: fw-batch sends one per file"
        ));
    }
    let file_field = p
        .opt_value_from_str("--file-field")
        .map_err(e)?
        .unwrap_or_else(|| "file".to_string());
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
    let url: String = p
        .opt_free_from_str()
        .map_err(e)?
        .ok_or("missing URL (see --help)")?;
    let dir = p.opt_free_from_os_str(fw_cli::path_arg).map_err(e)?;
    let rest = p.finish();
    if !rest.is_empty() {
        return Err(format!("unexpected arguments: {rest:?}"));
    }
    let source = match (dir, manifest) {
        (Some(d), None) => Source::Dir(d),
        (None, Some(m)) => Source::Manifest(m),
        (Some(_), Some(_)) => return Err("give a DIR or --manifest FILE, not both".into()),
        (None, None) => return Err("missing DIR or --manifest FILE (see --help)".into()),
    };
    Ok(Args {
        url,
        source,
        workers,
        max_workers: max_workers.max(1),
        retries,
        fields,
        headers,
        file_field,
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
