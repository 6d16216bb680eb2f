//! Upload a folder or manifest with a bounded, rate-aware worker pool.
//!
//! Every file goes in its own multipart POST (the file part plus `-F` fields), with an
//! `X-Idempotency-Key` that names the exact upload. A JSON Lines journal in the user's state
//! folder, locked by one run at a time, lets a killed run resume: files already uploaded to this
//! URL in their current version are skipped, files that were in flight are sent again with the
//! same key (at-least-once delivery; a server that dedupes by the key stores each item once).

mod args;
mod report;

use anyhow::{Context, Result, anyhow};
use args::{Args, Source, USAGE, Workers, parse_args};
use batch_pool::{
    AdaptiveConfig, Concurrency, Destination, Item, Journal, JournalState, Planned, Pool,
    RetryPolicy, Retryable, Version, content_key, read_manifest, walk_dir,
};
use fw_cli::Exit;
use multipart_upload::{Form, UploadError, Uploader};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

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
    planned: Planned,
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
            for old in batch_pool::older_journals(d) {
                if !args.quiet {
                    fw_cli::warn(&format!(
                        "{} is an older fw-batch's journal: it is not uploaded, and no longer \
                         read (it does not say where or which version was sent), so its files \
                         are sent again",
                        old.display()
                    ));
                }
            }
            walk_dir(d).context("listing the folder")?
        }
        Source::Manifest(m) => read_manifest(m).context("reading the manifest")?,
    };
    Ok(all
        .into_iter()
        .filter(|i| args.shard.contains(i.key_bytes()))
        .collect())
}

fn run(args: Args) -> Result<Exit> {
    // Listed before the journal is found and opened: a source that is missing or cannot be read
    // is refused before anything is sent (exit 3, as in every app), and leaves no journal behind.
    let listed = match &args.source {
        Source::Dir(d) if !d.is_dir() => Err(anyhow!("{} is not a folder", d.display())),
        _ => list_items(&args),
    };
    let listed = match listed {
        Ok(items) => items,
        Err(e) => {
            fw_cli::error(&format!("{e:#}"));
            return Ok(Exit::Refused);
        }
    };
    let Some(journal_path) = journal_path(&args)? else {
        return Ok(Exit::Usage);
    };
    let (journal, state) = open_journal(&journal_path, args.quiet)?;
    let mut items = listed;
    for own in journal.take_self(&mut items) {
        if !args.quiet {
            fw_cli::warn(&format!("{}: is the journal; not uploaded", own.key));
        }
    }
    let total = items.len();
    let version_of = if args.hash {
        Version::hashed
    } else {
        Version::of
    };
    let plan = state.plan(items, &Destination::of_url(&args.url), version_of);
    if !args.quiet {
        report::plan(&plan, total, &state);
    }
    let skipped = plan.skipped;
    let todo: Vec<Work> = plan
        .todo
        .into_iter()
        .map(|planned| Work {
            planned,
            idempotency_key: OnceLock::new(),
        })
        .collect();
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
        if let Some(why) = &w.planned.unreadable {
            return Err(ItemError::Local(anyhow!("{}", fw_cli::error_chain(why))));
        }
        let key = match w.idempotency_key.get() {
            Some(k) => k.clone(),
            None => {
                let k = content_key(&w.planned.item)
                    .map_err(|e| ItemError::Local(anyhow::Error::new(e)))?;
                w.idempotency_key.get_or_init(|| k).clone()
            }
        };
        let mut form = Form::new();
        for (name, value) in &args.fields {
            form = form.text(name.clone(), value.clone());
        }
        for (name, value) in &w.planned.item.fields {
            form = form.text(name.clone(), value.clone());
        }
        let form = form
            .file(args.file_field.clone(), &w.planned.item.path)
            .map_err(ItemError::Upload)?;
        // Written before the first byte leaves: a kill from here on leaves the item "in doubt".
        journal
            .started(&w.planned.id, Some(&key), attempt.try_number)
            .map_err(|e| ItemError::Local(anyhow::Error::new(e).context("writing the journal")))?;
        let uploader = UPLOADER.with(|u| u.borrow_mut().get_or_insert_with(new_uploader).clone());
        let response = uploader
            .header(IDEMPOTENCY_HEADER, &key)
            .send(&args.url, form)
            .map_err(ItemError::Upload)?;
        Ok(response.status)
    };

    let summary = pool.run_streaming(todo, job, |o| {
        let key = &o.item.planned.item.key;
        let record = match &o.result {
            Ok(status) => journal.done(&o.item.planned.id, o.tries, &status.to_string()),
            Err(e) => journal.failed(&o.item.planned.id, o.tries, &e.describe()),
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
            let line = report::result_line(&o);
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
        report::summary(&summary, total, skipped, &args.workers);
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
