//! fw-download's command line: the help text, the flags and the checks between them.

use crate::batch;
use anyhow::{Result, anyhow};
use fw_cli::ProgressMode;
use safe_download::{Downloader, Hashing, Overwrite, Resume, Target};
use std::path::PathBuf;
use std::time::Duration;

pub(crate) const USAGE: &str = "\
fw-download: download a file safely (checked, streamed, resumable, atomically renamed)

usage: fw-download URL [-o PATH | -O] [options]
       fw-download -i LIST [--output-dir DIR] [batch options] [options]

options:
  -o, --output PATH        save to PATH (an existing folder: name chosen as with -O)
  -O, --remote-name        save in the current folder under the name from Content-Disposition
                           (RFC 6266, filename*) or the URL, refused when unsafe (default)
  --accept TYPES           accepted Content-Types, e.g. image/*,application/pdf,png
  --max-size SIZE          largest file accepted, declared or received (e.g. 512k, 5MB, 5MiB);
                           a body the server compresses unasked is capped at 256 MiB without it
  --sha256 HEX             the SHA-256 the file must have
  -c, --continue           keep partial data in PATH.part and continue it with Range/If-Range
  -f, --force              replace an existing file
  --retries N              retry network failures, cuts, 429 and 5xx up to N times, honouring
                           Retry-After (default 0); with --continue each retry resumes
  --no-restart             with --continue: fail (exit 3, part kept) instead of starting over
                           when the server's answer does not continue the part (other ETag or
                           Last-Modified, other total, a 200 or a 416 that proves nothing)
  --max-retry-wait DUR     longest Retry-After honoured between retries (default 120s); every
                           wait is said on stderr
  --max-redirects N        redirects to follow (default 10)
  --location-trusted       send Authorization, Proxy-Authorization, Cookie and Host headers to
                           redirect targets on other origins too (default: dropped there)
  --timeout DURATION       idle timeout per read (default 30s; e.g. 10, 500ms, 2m)
  --header-timeout DUR     longest wait for the status line and headers (default 30s)
  --max-time DURATION      deadline for the whole transfer, redirects and retries included
                           (default none)
  --connect-timeout DUR    connect timeout (default 10s)
  -H, --header 'NAME: VALUE'  an extra request header (repeatable)
  --json                   print one JSON object (path, bytes, content_type, kind, sha256, resumed)
  --progress MODE          auto (bar when stderr is a terminal), always or never
  -q, --quiet              no progress, no messages but errors
  -h, --help               this help
  -V, --version            the version

batch (-i):
  -i, --input-file FILE    download every URL in FILE (- for stdin): one URL per line, or JSON
                           Lines {\"url\": ..., \"path\": ..., \"sha256\": ..., \"accept\": ...}; blank
                           lines and # comments are skipped
  --output-dir DIR         where the files go (created if missing; default .); names from the
                           item's path or the URL, made safe and unique in list order (a-2.bin)
  --workers N|auto         concurrent downloads, or adapt to the server (default auto)
  --max-workers N          ceiling for --workers auto (default 16)
  --shard INDEX/COUNT      only this stable share of the list (0-based: 0/4 .. 3/4)
  --journal FILE           resume journal (default: one per list, DIR and shard in
                           $XDG_STATE_HOME/filewire/journals/, ~/.local/state without it;
                           DIR holds the downloaded files only)
  --retries N              per file (default 2 in a batch); 429/503 Retry-After honoured
  A rerun skips files the journal and the disk agree are complete, continues partial ones
  (.part, kept for files of 1 MiB and more) and retries failed ones. --json prints one JSON line per URL. Exit 7 when some
  failed (each named on stderr).

Nothing is written before the status, type and size are checked and the first bytes agree with
the declared type; no file stands under the final name unless it is complete and verified.

Every Content-Encoding (gzip, x-gzip, deflate; any case; stacked) is decoded before writing;
other codings are refused (exit 3); data that does not decode exits 6.

exit codes: 0 ok, 1 other failure, 2 usage, 3 refused (type, size, name, exists, content
            coding, --no-restart), 4 the server said no, 5 network, timeout or --max-time,
            6 integrity (lying type, short or long body, checksum, undecodable body),
            7 a batch finished with some files failed
";

pub(crate) struct Args {
    pub(crate) mode: Mode,
    pub(crate) downloader: Downloader,
    pub(crate) json: bool,
    pub(crate) progress: ProgressMode,
    pub(crate) quiet: bool,
}

/// One URL, or a list.
pub(crate) enum Mode {
    Single { url: String, target: Target },
    Batch(batch::BatchArgs),
}

pub(crate) fn parse_args(mut a: pico_args::Arguments) -> Result<Args> {
    // Paths are taken as given, bytes and all (a name need not be UTF-8).
    let output: Option<PathBuf> = a.opt_value_from_os_str(["-o", "--output"], fw_cli::path_arg)?;
    let remote_name = a.contains(["-O", "--remote-name"]);
    let accept: Option<String> = a.opt_value_from_str("--accept")?;
    let max_size: Option<String> = a.opt_value_from_str("--max-size")?;
    let sha256: Option<String> = a.opt_value_from_str("--sha256")?;
    let resume = a.contains(["-c", "--continue"]);
    let force = a.contains(["-f", "--force"]);
    let max_redirects: Option<u32> = a.opt_value_from_str("--max-redirects")?;
    let retries: Option<u32> = a.opt_value_from_str("--retries")?;
    let no_restart = a.contains("--no-restart");
    let max_retry_wait: Option<String> = a.opt_value_from_str("--max-retry-wait")?;
    let location_trusted = a.contains("--location-trusted");
    let header_timeout: Option<String> = a.opt_value_from_str("--header-timeout")?;
    let max_time: Option<String> = a.opt_value_from_str("--max-time")?;
    let timeout: Option<String> = a.opt_value_from_str("--timeout")?;
    let connect_timeout: Option<String> = a.opt_value_from_str("--connect-timeout")?;
    let raw_headers: Vec<String> = a.values_from_str(["-H", "--header"])?;
    let json = a.contains("--json");
    let progress: Option<String> = a.opt_value_from_str("--progress")?;
    let quiet = a.contains(["-q", "--quiet"]);
    let batch_args = batch::parse_args(&mut a)?;
    let url: Option<String> = a.opt_free_from_str()?;
    let rest = a.finish();
    if !rest.is_empty() {
        return Err(anyhow!("unexpected arguments: {rest:?}"));
    }
    if output.is_some() && remote_name {
        return Err(anyhow!("-o and -O exclude each other"));
    }
    let mode = match (url, batch_args) {
        (Some(_), Some(_)) => return Err(anyhow!("give a URL or -i LIST, not both")),
        (None, None) => return Err(anyhow!("missing URL (or -i LIST)")),
        (None, Some(b)) => {
            if output.is_some() || remote_name {
                return Err(anyhow!("-o/-O are for one URL; a batch uses --output-dir"));
            }
            Mode::Batch(b)
        }
        (Some(url), None) => {
            let target = match output {
                Some(p) if p.is_dir() => Target::Folder(p),
                Some(p) => Target::Path(p),
                None => Target::Folder(PathBuf::from(".")),
            };
            Mode::Single { url, target }
        }
    };
    let mut d = Downloader::new()
        .overwrite(if force {
            Overwrite::Replace
        } else {
            Overwrite::Refuse
        })
        .resume(if resume {
            Resume::Continue
        } else {
            Resume::Fresh
        })
        .hashing(if json {
            Hashing::Always
        } else {
            Hashing::WhenExpected
        });
    if let Some(list) = accept {
        d = d.accept(safe_download::parse_accept(&list)?);
    }
    if let Some(s) = max_size {
        d = d.max_size(binary_io::parse_size(&s)?);
    }
    if let Some(hex) = sha256 {
        if hex.len() != 64 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(anyhow!("--sha256 wants 64 hex digits"));
        }
        d = d.sha256(&hex);
    }
    if no_restart && !resume {
        return Err(anyhow!("--no-restart needs --continue"));
    }
    d = d.restart(!no_restart).location_trusted(location_trusted);
    let max_retry_wait = max_retry_wait.map(|t| duration(&t)).transpose()?;
    let default_retries = if matches!(mode, Mode::Batch(_)) {
        Some(2)
    } else {
        None
    };
    if let Some(n) = retries.or(default_retries) {
        let mut policy = batch_pool::RetryPolicy::new().max_tries(n.saturating_add(1));
        if let Some(w) = max_retry_wait {
            policy = policy.max_retry_after(w);
        }
        d = d.retries(policy);
    }
    if let Some(t) = header_timeout {
        d = d.header_timeout(duration(&t)?);
    }
    if let Some(t) = max_time {
        d = d.max_time(Some(duration(&t)?));
    }
    if let Some(n) = max_redirects {
        d = d.max_redirects(n);
    }
    if let Some(t) = timeout {
        d = d.timeout(duration(&t)?);
    }
    if let Some(t) = connect_timeout {
        d = d.connect_timeout(duration(&t)?);
    }
    for (name, value) in fw_cli::parse_headers(&raw_headers).map_err(|e| anyhow!(e))? {
        d = d.header(&name, &value);
    }
    if !quiet {
        d = d.on_retry(announce_retry);
    }
    let progress = match progress {
        Some(p) => p.parse().map_err(|e: String| anyhow!(e))?,
        None => ProgressMode::Auto,
    };
    Ok(Args {
        mode,
        downloader: d,
        json,
        progress,
        quiet,
    })
}

/// Says on stderr why and how long the next retry waits (a long Retry-After is never silent).
fn announce_retry(n: &safe_download::RetryNotice<'_>) {
    let asked = match n.asked {
        Some(a) if a > n.wait => format!(
            " (the server asked for {}s; capped by --max-retry-wait)",
            a.as_secs()
        ),
        Some(_) => " (as the server asked)".to_string(),
        None => String::new(),
    };
    fw_cli::warn(&format!(
        "{}; try {} of {} in {:.1}s{asked}",
        n.error,
        n.next_try,
        n.max_tries,
        n.wait.as_secs_f64()
    ));
}

fn duration(s: &str) -> Result<Duration> {
    fw_cli::parse_duration(s).map_err(|e| anyhow!(e))
}
