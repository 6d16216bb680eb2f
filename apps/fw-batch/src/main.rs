//! Upload a folder or manifest with a bounded, rate-aware worker pool.
//!
//! Every file goes in its own multipart POST (the file part plus `-F` fields), with an
//! `X-Idempotency-Key` that names the exact upload. A JSON Lines journal lets a killed run resume:
//! finished items are skipped, items that were in flight are sent again with the same key
//! (at-least-once delivery; a server that dedupes by the key stores each item once).

use anyhow::{Context, Result, bail};
use batch_pool::{
    AdaptiveConfig, Concurrency, Item, Journal, Pool, RetryPolicy, Retryable, Shard, content_key,
    read_manifest, walk_dir,
};
use fw_cli::{Exit, ProgressMode};
use multipart_upload::{Form, UploadError, Uploader};
use std::io::Write;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

const USAGE: &str = "\
fw-batch: upload every file of a folder or manifest, one multipart POST per file

usage: fw-batch URL DIR [options]
       fw-batch URL --manifest FILE [options]

options:
  --workers N|auto      concurrent uploads, or find the server's limit (default auto)
  --max-workers N       ceiling for --workers auto (default 64)
  --retries N           retries per file after the first try (default 4)
  -F, --field NAME=VALUE  form field sent with every file (repeatable)
  --file-field NAME     name of the file part (default file)
  --manifest FILE       JSON Lines: {\"path\": \"...\", \"fields\": {...}} per line
  --journal FILE        resume journal (default DIR/.fw-batch.journal[.shard-I-of-N].jsonl,
                        or FILE.fw-batch.journal[...].jsonl beside a manifest)
  --shard INDEX/COUNT   only this stable hash-based share of the batch
  --json                one JSON result per file on stdout (JSON Lines)
  --timeout DUR         idle timeout per request (default 30s)
  --progress WHEN       auto|always|never (default auto: only on a terminal)
  -q, --quiet           no progress, no summary
  -h, --help            this help
  -V, --version         the version

exit codes: 0 all uploaded, 1 other failure, 2 usage, 7 some files failed
";

struct Args {
    url: String,
    source: Source,
    workers: Workers,
    max_workers: usize,
    retries: u32,
    fields: Vec<(String, String)>,
    file_field: String,
    journal: Option<PathBuf>,
    shard: Shard,
    json: bool,
    timeout: Option<Duration>,
    progress: ProgressMode,
    quiet: bool,
}

enum Source {
    Dir(PathBuf),
    Manifest(PathBuf),
}

enum Workers {
    Fixed(usize),
    Auto,
}

fn parse_args(mut p: pico_args::Arguments) -> Result<Args, String> {
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
    let file_field = p
        .opt_value_from_str("--file-field")
        .map_err(e)?
        .unwrap_or_else(|| "file".to_string());
    let manifest: Option<PathBuf> = p.opt_value_from_str("--manifest").map_err(e)?;
    let journal = p.opt_value_from_str("--journal").map_err(e)?;
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
    let dir: Option<PathBuf> = p.opt_free_from_str().map_err(e)?;
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
        file_field,
        journal,
        shard,
        json,
        timeout,
        progress,
        quiet,
    })
}

/// An item's failure: the upload's own, or a local one (file, journal) that is never retried.
#[derive(Debug)]
enum ItemError {
    Upload(UploadError),
    Local(anyhow::Error),
}

impl Retryable for ItemError {
    fn is_retryable(&self) -> bool {
        matches!(self, ItemError::Upload(e) if e.is_retryable())
    }
    fn retry_after(&self) -> Option<Duration> {
        match self {
            ItemError::Upload(e) => Retryable::retry_after(e),
            ItemError::Local(_) => None,
        }
    }
    fn is_overload(&self) -> bool {
        matches!(self, ItemError::Upload(e) if e.is_overload())
    }
}

impl ItemError {
    fn describe(&self) -> String {
        match self {
            ItemError::Upload(e) => fw_cli::error_chain(e),
            ItemError::Local(e) => format!("{e:#}"),
        }
    }
    fn status(&self) -> Option<u16> {
        match self {
            ItemError::Upload(e) => e.status(),
            ItemError::Local(_) => None,
        }
    }
}

thread_local! {
    static UPLOADER: std::cell::RefCell<Option<Uploader>> = const { std::cell::RefCell::new(None) };
}

struct Work {
    item: Item,
    idempotency_key: OnceLock<String>,
}

fn default_journal(args: &Args) -> PathBuf {
    let suffix = if args.shard.is_whole() {
        "jsonl".to_string()
    } else {
        format!("{}.jsonl", args.shard.label())
    };
    match &args.source {
        Source::Dir(d) => d.join(format!("{}.{suffix}", batch_pool::JOURNAL_PREFIX)),
        Source::Manifest(m) => {
            let mut s = m.as_os_str().to_os_string();
            s.push(format!(".fw-batch.journal.{suffix}"));
            PathBuf::from(s)
        }
    }
}

fn main() -> std::process::ExitCode {
    let args = match fw_cli::command_line("fw-batch", env!("CARGO_PKG_VERSION"), USAGE, parse_args)
    {
        Ok(args) => args,
        Err(code) => return code,
    };
    match run(args) {
        Ok(exit) => exit.code(),
        Err(e) => {
            fw_cli::error(&format!("{e:#}"));
            Exit::Failure.code()
        }
    }
}

fn run(args: Args) -> Result<Exit> {
    let all = match &args.source {
        Source::Dir(d) => {
            if !d.is_dir() {
                bail!("{} is not a folder", d.display());
            }
            walk_dir(d).with_context(|| format!("listing {}", d.display()))?
        }
        Source::Manifest(m) => {
            read_manifest(m).with_context(|| format!("reading manifest {}", m.display()))?
        }
    };
    let in_shard: Vec<Item> = all
        .into_iter()
        .filter(|i| args.shard.contains(&i.key))
        .collect();
    let journal_path = args
        .journal
        .clone()
        .unwrap_or_else(|| default_journal(&args));
    let (journal, state) = Journal::open(&journal_path).with_context(|| {
        format!(
            "opening journal {} (--journal FILE puts it elsewhere)",
            journal_path.display()
        )
    })?;
    let total = in_shard.len();
    let keys: std::collections::HashSet<&str> = in_shard.iter().map(|i| i.key.as_str()).collect();
    let in_doubt = state.in_doubt().filter(|(k, _)| keys.contains(k)).count();
    drop(keys);
    let todo: Vec<Work> = in_shard
        .into_iter()
        .filter(|i| !state.is_done(&i.key))
        .map(|item| Work {
            item,
            idempotency_key: OnceLock::new(),
        })
        .collect();
    let skipped = total - todo.len();
    if !args.quiet {
        if skipped > 0 {
            eprintln!(
                "fw-batch: {skipped} of {total} files already uploaded (journal {})",
                journal_path.display()
            );
        }
        if in_doubt > 0 {
            eprintln!(
                "fw-batch: {in_doubt} files were in flight when the last run stopped; \
                 sending them again with the same idempotency key"
            );
        }
        if state.unreadable_lines > 0 {
            fw_cli::warn(&format!(
                "{} unreadable journal lines ignored",
                state.unreadable_lines
            ));
        }
    }

    // One uploader (one connection pool) per worker thread: a shared pool keeps only a few idle
    // connections per host, so most workers would reconnect for every file.
    let new_uploader = || match args.timeout {
        Some(t) => Uploader::new().timeout(t),
        None => Uploader::new(),
    };
    let concurrency = match args.workers {
        Workers::Fixed(n) => Concurrency::Fixed(n),
        Workers::Auto => Concurrency::Adaptive(AdaptiveConfig {
            max: args.max_workers,
            ..AdaptiveConfig::default()
        }),
    };
    let pool = Pool::new(1)
        .concurrency(concurrency)
        .retry(RetryPolicy::new().max_tries(args.retries.saturating_add(1)));

    let bar = fw_cli::batch_bar(args.progress, args.quiet, todo.len() as u64);
    if let Some(b) = &bar {
        b.set_message("uploading");
    }
    let stdout = std::io::stdout();
    let mut journal_error: Option<anyhow::Error> = None;

    let job = |w: &Work, attempt: batch_pool::Attempt| -> Result<u16, ItemError> {
        let key = match w.idempotency_key.get() {
            Some(k) => k.clone(),
            None => {
                let k = content_key(&w.item.key, &w.item.path)
                    .map_err(|e| ItemError::Local(anyhow::Error::new(e)))?;
                w.idempotency_key.get_or_init(|| k).clone()
            }
        };
        let mut form = Form::new();
        for (name, value) in &args.fields {
            form = form.text(name.clone(), value.clone());
        }
        for (name, value) in &w.item.fields {
            form = form.text(name.clone(), value.clone());
        }
        let form = form
            .file(args.file_field.clone(), &w.item.path)
            .map_err(ItemError::Upload)?;
        // Written before the first byte leaves: a kill from here on leaves the item "in doubt".
        journal
            .started(&w.item.key, Some(&key), attempt.try_number)
            .map_err(|e| ItemError::Local(anyhow::Error::new(e).context("writing the journal")))?;
        let uploader = UPLOADER.with(|u| u.borrow_mut().get_or_insert_with(new_uploader).clone());
        let response = uploader
            .header("X-Idempotency-Key", &key)
            .send(&args.url, form)
            .map_err(ItemError::Upload)?;
        Ok(response.status)
    };

    let summary = pool.run_streaming(todo, job, |o| {
        let key = &o.item.item.key;
        let idem = o.item.idempotency_key.get().cloned();
        let record = match &o.result {
            Ok(status) => journal.done(key, o.tries, &status.to_string()),
            Err(e) => journal.failed(key, o.tries, &e.describe()),
        };
        if let Err(e) = record
            && journal_error.is_none()
        {
            journal_error = Some(anyhow::Error::new(e).context("writing the journal"));
        }
        if let Err(e) = &o.result
            && !args.quiet
        {
            let msg = format!("{key}: {}", e.describe());
            match &bar {
                Some(b) => b.suspend(|| fw_cli::error(&msg)),
                None => fw_cli::error(&msg),
            }
        }
        if args.json {
            let line = serde_json::json!({
                "key": key,
                "path": o.item.item.path,
                "ok": o.result.is_ok(),
                "status": match &o.result { Ok(s) => Some(*s), Err(e) => e.status() },
                "tries": o.tries,
                "overloads": o.overloads,
                "elapsed_ms": o.elapsed.as_millis() as u64,
                "idempotency_key": idem,
                "error": o.result.as_ref().err().map(ItemError::describe),
            });
            let mut out = stdout.lock();
            // A closed stdout (e.g. `| head`) must not stop the batch; the journal is the record.
            let _ = writeln!(out, "{line}").and_then(|_| out.flush());
        }
        if let Some(b) = &bar {
            b.inc(1);
        }
    });
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    if !args.quiet {
        let limit = match args.workers {
            Workers::Fixed(n) => format!("{n} workers"),
            Workers::Auto => format!("limit settled at {}", summary.final_limit),
        };
        eprintln!(
            "fw-batch: {} files: {} ok, {} failed, {} retried, {} answered 429/503, {} skipped (done earlier); {:.2} s, {}, peak {} in flight",
            total,
            summary.ok,
            summary.failed,
            summary.retried,
            summary.overloads,
            skipped,
            summary.elapsed.as_secs_f64(),
            limit,
            summary.peak_in_flight,
        );
    }
    if let Some(e) = journal_error {
        return Err(e);
    }
    Ok(if summary.failed > 0 {
        Exit::BatchPartial
    } else {
        Exit::Ok
    })
}
