//! Upload a folder or manifest with a bounded, rate-aware worker pool.
//!
//! Every file goes in its own multipart POST (the file part plus `-F` fields), with an
//! `X-Idempotency-Key` that names the exact upload. A JSON Lines journal in the user's state
//! folder, locked by one run at a time, lets a killed run resume: files already uploaded to this
//! URL in their current version are skipped, files that were in flight are sent again with the
//! same key (at-least-once delivery; a server that dedupes by the key stores each item once).

use anyhow::{Context, Result, anyhow, bail};
use batch_pool::{
    AdaptiveConfig, Concurrency, Destination, Identity, Item, Journal, JournalState, Pool,
    Recorded, RetryPolicy, Retryable, Shard, Version, content_key, read_manifest, walk_dir,
};
use fw_cli::{Exit, ProgressMode};
use multipart_upload::{Form, UploadError, Uploader};
use std::io::Write;
use std::path::{Path, PathBuf};
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
  -H, --header 'NAME: VALUE'  request header sent with every file (repeatable; not
                        Content-Type, framing headers or X-Idempotency-Key)
  --manifest FILE       JSON Lines: {\"path\": \"...\", \"fields\": {...}} per line
  --journal FILE        resume journal (default: one per source, URL and shard in
                        $XDG_STATE_HOME/filewire/journals/, else ~/.local/state/...;
                        never inside DIR); one run at a time may use it
  --hash                also compare each file's SHA-256 with the journal before skipping it
                        (reads every file; catches changes that keep size and mtime)
  --shard INDEX/COUNT   only this stable hash-based share of the batch
  --json                one JSON result per file on stdout (JSON Lines)
  --timeout DUR         idle timeout per request (default 30s)
  --progress WHEN       auto|always|never (default auto: only on a terminal)
  -q, --quiet           no progress, no summary
  -h, --help            this help
  -V, --version         the version

exit codes: 0 all uploaded, 1 other failure (e.g. the journal is in use by another run),
            2 usage, 7 some files failed
";

struct Args {
    url: String,
    source: Source,
    workers: Workers,
    max_workers: usize,
    retries: u32,
    fields: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    file_field: String,
    journal: Option<PathBuf>,
    hash: bool,
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

const IDEMPOTENCY_HEADER: &str = "X-Idempotency-Key";

struct Work {
    item: Item,
    id: Identity,
    /// Why the file could not be read before the run (it fails without being sent).
    unreadable: Option<String>,
    idempotency_key: OnceLock<String>,
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

impl Source {
    fn path(&self) -> &Path {
        match self {
            Source::Dir(p) | Source::Manifest(p) => p,
        }
    }
}

/// Where this batch's journal is; `Ok(None)` after a usage error was reported.
fn journal_path(args: &Args) -> Result<Option<PathBuf>> {
    Ok(Some(match &args.journal {
        Some(j) => {
            if let Err(e) = batch_pool::check_journal_outside(j, args.source.path()) {
                fw_cli::error(&format!(
                    "{e}: the batch would read it as data; give a --journal outside it"
                ));
                return Ok(None);
            }
            j.clone()
        }
        None => batch_pool::default_journal(args.source.path(), &args.url, args.shard)
            .context("finding the journal's folder (--journal FILE puts it elsewhere)")?,
    }))
}

/// The journal, opened and locked.
fn open_journal(path: &Path, quiet: bool) -> Result<(Journal, JournalState)> {
    match Journal::open(path) {
        Ok(opened) => {
            // After the lock is taken: a script may wait for this line to know the run owns it.
            if !quiet {
                eprintln!("fw-batch: journal {}", path.display());
            }
            Ok(opened)
        }
        Err(e @ batch_pool::Error::Locked { .. }) => Err(anyhow!(e).context(
            "another fw-batch is running this batch; wait for it, or give this run another --journal",
        )),
        Err(e) => Err(anyhow!(e).context("opening the journal (--journal FILE puts it elsewhere)")),
    }
}

/// The batch's items in this shard.
fn list_items(args: &Args) -> Result<Vec<Item>> {
    let all = match &args.source {
        Source::Dir(d) => {
            warn_about_older_journals(d, args.quiet);
            walk_dir(d).with_context(|| format!("listing {}", d.display()))?
        }
        Source::Manifest(m) => {
            read_manifest(m).with_context(|| format!("reading manifest {}", m.display()))?
        }
    };
    Ok(all
        .into_iter()
        .filter(|i| args.shard.contains(i.key_bytes()))
        .collect())
}

/// The items without the journal itself (a state folder inside the source, a manifest naming
/// the journal): it is never uploaded.
fn without_journal(items: Vec<Item>, journal: &Journal, quiet: bool) -> Vec<Item> {
    items
        .into_iter()
        .filter(|i| {
            let is_journal = journal.is_same_file(&i.path);
            if is_journal && !quiet {
                fw_cli::warn(&format!("{}: is the journal; not uploaded", i.key));
            }
            !is_journal
        })
        .collect()
}

/// fw-batch 0.1 kept its journal in DIR; such a file is skipped by the walk but no longer read.
fn warn_about_older_journals(dir: &Path, quiet: bool) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if !quiet
            && entry
                .file_name()
                .to_string_lossy()
                .starts_with(batch_pool::JOURNAL_PREFIX)
        {
            fw_cli::warn(&format!(
                "{} is an older fw-batch's journal: it is not uploaded, and no longer read \
                 (it does not say where or which version was sent), so its files are sent again",
                entry.path().display()
            ));
        }
    }
}

/// What the run must send, and what the journal says of the rest.
struct Plan {
    todo: Vec<Work>,
    skipped: usize,
    changed: usize,
    in_doubt: usize,
}

fn plan(items: Vec<Item>, state: &JournalState, dest: &Destination, hash: bool) -> Plan {
    let mut plan = Plan {
        todo: Vec::new(),
        skipped: 0,
        changed: 0,
        in_doubt: 0,
    };
    for item in items {
        let version = if hash {
            Version::hashed(&item.path)
        } else {
            Version::of(&item.path)
        };
        let (version, unreadable) = match version {
            Ok(v) => (Some(v), None),
            Err(e) => (None, Some(fw_cli::error_chain(&e))),
        };
        let id = Identity::new(dest, &item, version);
        match state.lookup(&id) {
            Recorded::Done => {
                plan.skipped += 1;
                continue;
            }
            Recorded::Changed if unreadable.is_none() => plan.changed += 1,
            Recorded::InDoubt { .. } => plan.in_doubt += 1,
            _ => {}
        }
        plan.todo.push(Work {
            item,
            id,
            unreadable,
            idempotency_key: OnceLock::new(),
        });
    }
    plan
}

fn report_plan(plan: &Plan, total: usize, state: &JournalState) {
    if plan.skipped > 0 {
        eprintln!(
            "fw-batch: {} of {total} files already uploaded to this URL",
            plan.skipped
        );
    }
    if plan.changed > 0 {
        eprintln!(
            "fw-batch: {} files changed since their upload; sending them again",
            plan.changed
        );
    }
    if plan.in_doubt > 0 {
        eprintln!(
            "fw-batch: {} files were in flight when the last run stopped; \
             sending them again with the same idempotency key",
            plan.in_doubt
        );
    }
    if state.unreadable_lines > 0 {
        fw_cli::warn(&format!(
            "{} unreadable journal lines ignored",
            state.unreadable_lines
        ));
    }
    if state.older_lines > 0 {
        fw_cli::warn(&format!(
            "{} journal lines of an older fw-batch ignored (they do not say where or which \
             version was sent); those files are sent again",
            state.older_lines
        ));
    }
}

fn run(args: Args) -> Result<Exit> {
    match &args.source {
        Source::Dir(d) if !d.is_dir() => bail!("{} is not a folder", d.display()),
        _ => {}
    }
    let Some(journal_path) = journal_path(&args)? else {
        return Ok(Exit::Usage);
    };
    // Listed before the journal is opened, so that a source that cannot be read leaves none.
    let listed = list_items(&args)?;
    let (journal, state) = open_journal(&journal_path, args.quiet)?;
    let items = without_journal(listed, &journal, args.quiet);
    let total = items.len();
    let dest = Destination::of_url(&args.url);
    let plan = plan(items, &state, &dest, args.hash);
    if !args.quiet {
        report_plan(&plan, total, &state);
    }
    let skipped = plan.skipped;
    let todo = plan.todo;
    // One uploader (one connection pool) per worker thread: a shared pool keeps only a few idle
    // connections per host, so most workers would reconnect for every file.
    let new_uploader = || {
        let mut uploader = match args.timeout {
            Some(t) => Uploader::new().timeout(t),
            None => Uploader::new(),
        };
        for (name, value) in &args.headers {
            uploader = uploader.header(name, value);
        }
        uploader
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
        if let Some(why) = &w.unreadable {
            return Err(ItemError::Local(anyhow!("{why}")));
        }
        let key = match w.idempotency_key.get() {
            Some(k) => k.clone(),
            None => {
                let k =
                    content_key(&w.item).map_err(|e| ItemError::Local(anyhow::Error::new(e)))?;
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
            .started(&w.id, Some(&key), attempt.try_number)
            .map_err(|e| ItemError::Local(anyhow::Error::new(e).context("writing the journal")))?;
        let uploader = UPLOADER.with(|u| u.borrow_mut().get_or_insert_with(new_uploader).clone());
        let response = uploader
            .header(IDEMPOTENCY_HEADER, &key)
            .send(&args.url, form)
            .map_err(ItemError::Upload)?;
        Ok(response.status)
    };

    let summary = pool.run_streaming(todo, job, |o| {
        let key = &o.item.item.key;
        let idem = o.item.idempotency_key.get().cloned();
        let record = match &o.result {
            Ok(status) => journal.done(&o.item.id, o.tries, &status.to_string()),
            Err(e) => journal.failed(&o.item.id, o.tries, &e.describe()),
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
            let mut line = serde_json::json!({
                "key": key,
                "path": o.item.item.path.to_string_lossy(),
                "ok": o.result.is_ok(),
                "status": match &o.result { Ok(s) => Some(*s), Err(e) => e.status() },
                "tries": o.tries,
                "overloads": o.overloads,
                "elapsed_ms": o.elapsed.as_millis() as u64,
                "idempotency_key": idem,
                "error": o.result.as_ref().err().map(ItemError::describe),
            });
            if let Some(raw) = &o.item.item.raw_key {
                line["key_hex"] = raw
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect::<String>()
                    .into();
            }
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
