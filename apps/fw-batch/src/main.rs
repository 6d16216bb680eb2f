//! Upload a folder or manifest with a bounded, rate-aware worker pool.
//!
//! Every file goes in its own multipart POST (the file part plus `-F` fields), with an
//! `X-Idempotency-Key` that names the exact upload; or, with `--put URL_TEMPLATE`, as the raw
//! body of a PUT to the template filled with its name; or, with `--tus ENDPOINT`, as a resumable
//! tus upload (`send.rs`). A JSON Lines journal in the user's state folder, locked by one run at
//! a time, lets a killed run resume: files already uploaded to this destination (URL, template
//! or endpoint) in their current version are skipped, files that were in flight are sent again
//! with the same key (at-least-once delivery; a server that dedupes by the key stores each item
//! once; a PUT replaces its object; a tus upload continues from the server's offset).

mod args;
mod report;
mod send;

use anyhow::{Context, Result, anyhow};
use args::{Args, Mode, Source, USAGE, Workers, parse_args};
use batch_pool::{
    AdaptiveConfig, Concurrency, Destination, Item, Journal, JournalState, Pool, RetryPolicy,
    Version, read_manifest, walk_dir,
};
use fw_cli::Exit;
use send::{Sender, Work};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

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
        None => {
            batch_pool::default_journal(args.source.path(), &args.mode.destination(), args.shard)
                .context("finding the journal's folder (--journal FILE puts it elsewhere)")?
        }
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

/// The batch's items (all shards).
fn list_items(args: &Args) -> Result<Vec<Item>> {
    Ok(match &args.source {
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
    })
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
    if let Mode::Put { template, .. } = &args.mode
        && !template.names_each_file()
        && listed.len() > 1
    {
        fw_cli::error(&format!(
            "--put {}: the template has no {{name}}, so all {} files would be written to one \
             object; add {{name}} (e.g. .../bucket/{{name}})",
            template.as_str(),
            listed.len()
        ));
        return Ok(Exit::Usage);
    }
    let with_fields = listed.iter().filter(|i| !i.fields.is_empty()).count();
    if !matches!(args.mode, Mode::Form { .. }) && with_fields > 0 && !args.quiet {
        fw_cli::warn(&format!(
            "{with_fields} manifest lines have fields: a raw PUT or tus upload sends none"
        ));
    }
    let listed: Vec<Item> = listed
        .into_iter()
        .filter(|i| args.shard.contains(i.key_bytes()))
        .collect();
    if matches!(args.mode, Mode::Tus { .. })
        && multipart_upload::default_state_dir().is_none()
        && !args.quiet
    {
        fw_cli::warn(
            "neither XDG_STATE_HOME nor HOME is set: a tus upload cut short cannot be resumed by \
             a later run",
        );
    }
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
    let plan = state.plan(
        items,
        &Destination::of_url(&args.mode.destination()),
        version_of,
    );
    if !args.quiet {
        report::plan(&plan, total, &state, &args.mode);
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

    let sender = Sender {
        args: &args,
        journal: &journal,
    };
    let job = |w: &Work, attempt: batch_pool::Attempt| sender.send(w, attempt);

    let summary = pool.run_streaming(todo, job, |o| {
        let key = &o.item.planned.item.key;
        let record = match &o.result {
            Ok(sent) => journal.done(&o.item.planned.id, o.tries, &sent.detail()),
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
