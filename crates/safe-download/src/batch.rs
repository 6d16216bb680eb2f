//! Many downloads as one batch: a list of URLs (or JSON Lines objects with per-file targets and
//! checks) planned into unique, safe target paths, run through a [`batch_pool::Pool`] (bounded
//! or adaptive, retries honouring Retry-After), recorded in a [`batch_pool::Journal`] so that a
//! rerun skips what is complete, continues what was partial and retries what failed.
//!
//! Each file gets every check of a single [`Downloader::fetch`] (status, type, length, magic
//! bytes, temp or part file, fsync, rename, checksum) with [`Resume::Continue`] for files of
//! 1 MiB and more, so a killed batch leaves `.part` files that the next run continues; each
//! folder is fsynced once at the end rather than after every rename. Just before each rename
//! the journal gets the file's size and modification time (a write-ahead `started` line), so a
//! run killed between a rename and the `done` line that records it knows the file as its own
//! next time instead of refusing it as someone else's. The workers share one connection
//! pool ([`Downloader::agent_pool`]), so files from the same host reuse connections.
//!
//! Names come from the item's `path`, else from the URL's last segment, made safe
//! ([`safe_filename`]) and unique within the batch in list order (`a.bin`, `a-2.bin`, ...).
//! They are fixed before any transfer so that every shard and every rerun of the same list
//! agrees on them and the journal can name them; a Content-Disposition name is therefore not
//! used in a batch.
//!
//! The journal is kept outside the output folder, which holds the downloaded files only:
//! [`default_journal`] names one in the user's state folder for each list, output folder and
//! shard, so a rerun of the same command finds it.
//!
//! ```
//! use safe_download::batch::{Batch, ItemStatus, parse_list, plan};
//! use safe_download::Downloader;
//! # let server = testbed::Testbed::start().unwrap();
//! let dir = tempfile::tempdir().unwrap();
//! let state = tempfile::tempdir().unwrap();
//! let list = format!("{}\n{}\n", server.url("/bytes/100"), server.url("/bytes/200"));
//! let items = plan(parse_list(&list).unwrap(), dir.path()).unwrap();
//! let batch = Batch::new(Downloader::new(), state.path().join("journal.jsonl"));
//! let summary = batch.run(items, |o| assert!(matches!(o.status, ItemStatus::Downloaded(_)))).unwrap();
//! assert_eq!((summary.ok, summary.failed), (2, 0));
//! assert!(dir.path().join("100").exists() && dir.path().join("200").exists());
//! assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
//! ```

use crate::{
    DownloadError, Downloaded, Downloader, Resume, Target, parse_accept, safe_filename,
    url_filename,
};
use batch_pool::{
    Concurrency, Destination, Identity, Journal, JournalState, Pool, Recorded, RetryPolicy, Shard,
    Version,
};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One line of the input list.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListItem {
    /// What to fetch.
    pub url: String,
    /// Where to save it, relative to the output folder (folders in it are created).
    #[serde(default)]
    pub path: Option<String>,
    /// The SHA-256 the file must have.
    #[serde(default)]
    pub sha256: Option<String>,
    /// Accepted Content-Types, as `--accept` takes them.
    #[serde(default)]
    pub accept: Option<String>,
}

/// Reads a list: one URL per line, or one JSON object per line
/// (`{"url": ..., "path": ..., "sha256": ..., "accept": ...}`); the two may be mixed. Blank
/// lines and lines starting with `#` are skipped.
pub fn parse_list(text: &str) -> Result<Vec<ListItem>, DownloadError> {
    let mut items = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = |reason: String| DownloadError::InvalidList {
            line: n + 1,
            reason,
        };
        let item = if line.starts_with('{') {
            serde_json::from_str::<ListItem>(line).map_err(|e| bad(e.to_string()))?
        } else {
            ListItem {
                url: line.to_string(),
                path: None,
                sha256: None,
                accept: None,
            }
        };
        crate::meta::check_url(&item.url).map_err(|e| bad(e.to_string()))?;
        if let Some(hex) = &item.sha256
            && (hex.len() != 64 || !hex.chars().all(|c| c.is_ascii_hexdigit()))
        {
            return Err(bad("sha256 wants 64 hex digits".into()));
        }
        if let Some(accept) = &item.accept {
            parse_accept(accept).map_err(|e| bad(e.to_string()))?;
        }
        items.push(item);
    }
    Ok(items)
}

/// An item with its target fixed.
#[derive(Clone, Debug)]
pub struct Planned {
    /// Its place in the list (0-based).
    pub index: usize,
    /// The list entry.
    pub item: ListItem,
    /// Where it goes.
    pub path: PathBuf,
    /// The journal and shard key: the URL and the target path.
    pub key: String,
}

/// Fixes a unique, safe target under `dir` for every item, in list order. A `path` must be
/// relative and stay inside `dir` (each component checked by [`safe_filename`]); a name taken
/// by an earlier item gets `-2`, `-3`, ... before its extension.
pub fn plan(items: Vec<ListItem>, dir: &Path) -> Result<Vec<Planned>, DownloadError> {
    let mut taken = HashSet::new();
    let mut out = Vec::with_capacity(items.len());
    for (index, item) in items.into_iter().enumerate() {
        let rel = match &item.path {
            Some(p) => safe_relative(p)?,
            None => PathBuf::from(
                url_filename(&item.url)
                    .and_then(|n| safe_filename(&n).ok())
                    .unwrap_or_else(|| "download".to_string()),
            ),
        };
        let rel = unique(rel, &mut taken);
        let key = format!("{}\t{}", item.url, rel.display());
        out.push(Planned {
            index,
            path: dir.join(&rel),
            item,
            key,
        });
    }
    Ok(out)
}

fn safe_relative(p: &str) -> Result<PathBuf, DownloadError> {
    let mut out = PathBuf::new();
    for c in Path::new(p).components() {
        match c {
            Component::Normal(s) => {
                let s = s.to_string_lossy();
                let safe = safe_filename(&s)?;
                if safe != s {
                    return Err(DownloadError::UnsafeFilename {
                        name: p.to_string(),
                        reason: "a path component is too long",
                    });
                }
                out.push(safe);
            }
            _ => {
                return Err(DownloadError::UnsafeFilename {
                    name: p.to_string(),
                    reason: "not a plain relative path",
                });
            }
        }
    }
    if out.as_os_str().is_empty() {
        return Err(DownloadError::UnsafeFilename {
            name: p.to_string(),
            reason: "empty path",
        });
    }
    Ok(out)
}

/// `rel`, or `stem-N.ext` for the smallest N >= 2 not taken (compared case-insensitively, as
/// some file systems do).
fn unique(rel: PathBuf, taken: &mut HashSet<String>) -> PathBuf {
    let lower = |p: &Path| p.to_string_lossy().to_lowercase();
    if taken.insert(lower(&rel)) {
        return rel;
    }
    let name = rel
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (stem, ext) = match name.rfind('.') {
        Some(i) if i > 0 => (&name[..i], &name[i..]),
        _ => (name.as_str(), ""),
    };
    for n in 2.. {
        let candidate = rel.with_file_name(format!("{stem}-{n}{ext}"));
        if taken.insert(lower(&candidate)) {
            return candidate;
        }
    }
    unreachable!("some suffix is always free")
}

/// Where a list was read from: what its default journal is keyed by.
#[derive(Clone, Copy, Debug)]
pub enum ListSource<'a> {
    /// A file, known by its canonical path (so an edited list keeps its journal).
    File(&'a Path),
    /// Standard input, known by its text (the same text piped again finds the same journal).
    Stdin(&'a str),
}

/// The default journal of a list downloaded into `output_dir` (which must exist): a file in the
/// user's state folder (`$XDG_STATE_HOME/filewire/journals/`, see
/// [`batch_pool::keyed_journal`]) named after the list and a hash of the list's identity
/// ([`ListSource`]), the canonical output folder and the shard. Rerunning the same command finds
/// the same journal; another list, folder or shard gets its own; nothing is written into
/// `output_dir` but the downloaded files.
pub fn default_journal(
    list: ListSource<'_>,
    output_dir: &Path,
    shard: Shard,
) -> Result<PathBuf, batch_pool::Error> {
    let canonical = |p: &Path| {
        std::fs::canonicalize(p).map_err(|e| batch_pool::Error::Io {
            path: p.to_path_buf(),
            source: e,
        })
    };
    let (stem, identity) = match list {
        ListSource::File(path) => {
            let path = canonical(path)?;
            let name = path
                .file_name()
                .map_or_else(|| "list".to_string(), |n| n.to_string_lossy().into_owned());
            let mut id = b"file:".to_vec();
            id.extend(batch_pool::path_key(&path));
            (name, id)
        }
        ListSource::Stdin(text) => {
            use sha2::{Digest, Sha256};
            let mut id = b"stdin:".to_vec();
            id.extend(Sha256::digest(text.as_bytes()));
            ("stdin".to_string(), id)
        }
    };
    let output = batch_pool::path_key(&canonical(output_dir)?);
    batch_pool::keyed_journal(
        &format!("download-{stem}"),
        &[b"fw-download", &identity, &output],
        shard,
    )
}

/// What happened to one item.
#[derive(Debug)]
pub enum ItemStatus {
    /// Fetched and verified in this run.
    Downloaded(Downloaded),
    /// Complete from an earlier run (journal and file agree): not touched.
    Skipped {
        /// The file's size.
        bytes: u64,
    },
    /// Failed after its tries.
    Failed(DownloadError),
}

/// One item's outcome, handed over as soon as it is known.
#[derive(Debug)]
pub struct ItemOutcome {
    /// The item.
    pub planned: Planned,
    /// Tries made in this run (0 when skipped).
    pub tries: u32,
    /// What happened.
    pub status: ItemStatus,
}

/// The totals of a run.
#[derive(Clone, Debug, Default, Serialize)]
pub struct BatchSummary {
    /// Items in this shard.
    pub items: usize,
    /// Items complete at the end (downloaded now or skipped).
    pub ok: usize,
    /// Of those, skipped as complete from an earlier run.
    pub skipped: usize,
    /// Items that failed.
    pub failed: usize,
    /// Bytes downloaded in this run.
    pub bytes: u64,
    /// Wall time.
    #[serde(serialize_with = "as_secs")]
    pub elapsed: Duration,
}

fn as_secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

/// Files declared smaller than this are written through a temp file, not a resumable part:
/// a rerun fetches them again whole (cheaper than the part and sidecar bookkeeping).
const MIN_PART: u64 = 1 << 20;

/// What the journal records about a finished item.
#[derive(Serialize, Deserialize)]
struct DoneDetail {
    bytes: u64,
    #[serde(default)]
    sha256: Option<String>,
}

/// A batch of downloads: the per-file engine, the pool settings and the journal.
#[derive(Debug)]
pub struct Batch {
    downloader: Downloader,
    journal: PathBuf,
    concurrency: Concurrency,
    retry: RetryPolicy,
    shard: Shard,
}

impl Batch {
    /// A batch using `downloader` for every file (its retry policy is replaced by the pool's)
    /// and the journal at `journal`. Defaults: 8 workers, 3 tries, the whole list.
    pub fn new(downloader: Downloader, journal: PathBuf) -> Batch {
        Batch {
            downloader,
            journal,
            concurrency: Concurrency::Fixed(8),
            retry: RetryPolicy::new().max_tries(3),
            shard: Shard::WHOLE,
        }
    }

    /// Fixed or adaptive concurrency.
    pub fn concurrency(mut self, c: Concurrency) -> Self {
        self.concurrency = c;
        self
    }

    /// The retry policy per item (429 and 503 with Retry-After are honoured).
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Only this stable share of the items (by key).
    pub fn shard(mut self, shard: Shard) -> Self {
        self.shard = shard;
        self
    }

    /// Runs the items of this shard, handing each outcome to `on_outcome` as it finishes.
    /// Only a journal that cannot be opened or written stops the run early.
    pub fn run(
        &self,
        items: Vec<Planned>,
        mut on_outcome: impl FnMut(&ItemOutcome),
    ) -> Result<BatchSummary, DownloadError> {
        let started = Instant::now();
        if let Some(parent) = self.journal.parent() {
            std::fs::create_dir_all(parent).map_err(|e| crate::disk::io_err(parent, e))?;
        }
        let (journal, state) =
            Journal::open(&self.journal).map_err(|e| pool_err(&self.journal, e))?;
        let journal = Arc::new(journal);
        let mut summary = BatchSummary::default();
        let mut todo = Vec::new();
        for p in items.into_iter().filter(|p| self.shard.contains(&p.key)) {
            summary.items += 1;
            match self.complete_before(&journal, &state, &p)? {
                Some(bytes) => {
                    summary.ok += 1;
                    summary.skipped += 1;
                    on_outcome(&ItemOutcome {
                        planned: p,
                        tries: 0,
                        status: ItemStatus::Skipped { bytes },
                    });
                }
                None => todo.push(p),
            }
        }
        let workers = self.concurrency.max();
        let mut base = self
            .downloader
            .clone()
            .resume(Resume::Continue)
            .retries(RetryPolicy::no_retries())
            .agent_pool(workers);
        base.min_part = MIN_PART;
        base.sync_dirs = false;
        let folders: HashSet<PathBuf> = todo
            .iter()
            .filter_map(|p| p.path.parent().map(Path::to_path_buf))
            .collect();
        let pool = Pool::new(workers)
            .concurrency(self.concurrency)
            .retry(self.retry.clone());
        let mut journal_error = None;
        pool.run_streaming(
            todo,
            |p: &Planned, attempt| {
                let mut d = base.clone();
                let (journal, id, path) =
                    (journal.clone(), identity(p, None), self.journal.clone());
                // Write-ahead: the file's size and modification time (which the rename keeps)
                // are journalled before it takes its final name; see `complete_before`.
                d.before_commit = Some(Arc::new(move |staged: &Path| {
                    let version = renamed(Version::of(staged).map_err(|e| pool_err(staged, e))?);
                    let id = Identity {
                        version: Some(version),
                        ..id.clone()
                    };
                    journal
                        .started(&id, None, attempt.try_number)
                        .map_err(|e| pool_err(&path, e))
                }));
                fetch_one(d, p)
            },
            |outcome| {
                let p = outcome.item;
                let written = match &outcome.result {
                    Ok(done) => {
                        let detail = DoneDetail {
                            bytes: done.bytes,
                            sha256: done.sha256.clone(),
                        };
                        let detail = serde_json::to_string(&detail).expect("serializes");
                        let version = Version::of(&p.path).ok();
                        journal.done(&identity(&p, version), outcome.tries, &detail)
                    }
                    Err(e) => journal.failed(&identity(&p, None), outcome.tries, &e.to_string()),
                };
                if let Err(e) = written {
                    journal_error.get_or_insert(pool_err(&self.journal, e));
                }
                let status = match outcome.result {
                    Ok(done) => {
                        summary.ok += 1;
                        summary.bytes += done.bytes;
                        ItemStatus::Downloaded(done)
                    }
                    Err(e) => {
                        summary.failed += 1;
                        ItemStatus::Failed(e)
                    }
                };
                on_outcome(&ItemOutcome {
                    planned: p,
                    tries: outcome.tries,
                    status,
                });
            },
        );
        // Every file was fsynced before its rename; one fsync per folder makes the names durable.
        for dir in &folders {
            crate::disk::sync_dir(dir);
        }
        if let Some(e) = journal_error {
            return Err(e);
        }
        summary.elapsed = started.elapsed();
        Ok(summary)
    }

    /// The size of the item's file when an earlier run finished it and the file on disk is
    /// still the version that run wrote (size, modification and change times).
    ///
    /// A run killed after a rename but before its `done` line left the file's intent as the
    /// item's last line (size and modification time, written just before the rename): a file
    /// at the final name with exactly those is that run's, so it is recorded as done now (and
    /// a part file still linked to it, left by a kill between link and unlink, is removed)
    /// rather than refused as someone else's file.
    fn complete_before(
        &self,
        journal: &Journal,
        state: &JournalState,
        p: &Planned,
    ) -> Result<Option<u64>, DownloadError> {
        let Ok(version) = Version::of(&p.path) else {
            return Ok(None);
        };
        let size = version.size;
        if state.lookup(&identity(p, Some(version.clone()))) == Recorded::Done {
            return Ok(Some(size));
        }
        let intent = identity(p, Some(renamed(version.clone())));
        if !matches!(state.lookup(&intent), Recorded::InDoubt { .. }) {
            return Ok(None);
        }
        let part = crate::disk::part_path(&p.path);
        if Version::of(&part).is_ok_and(|v| renamed(v) == renamed(version.clone())) {
            let _ = std::fs::remove_file(&part);
            let _ = std::fs::remove_file(crate::disk::sidecar_path(&p.path));
        }
        let detail = DoneDetail {
            bytes: size,
            sha256: None,
        };
        let detail = serde_json::to_string(&detail).expect("serializes");
        journal
            .done(&identity(p, Some(version)), 0, &detail)
            .map_err(|e| pool_err(&self.journal, e))?;
        Ok(Some(size))
    }
}

/// One try of one item.
fn fetch_one(mut d: Downloader, p: &Planned) -> Result<Downloaded, DownloadError> {
    d.sha256 = None;
    if let Some(hex) = &p.item.sha256 {
        d = d.sha256(hex);
    }
    if let Some(accept) = &p.item.accept {
        d = d.accept(parse_accept(accept)?);
    }
    if let Some(parent) = p.path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| crate::disk::io_err(parent, e))?;
    }
    d.fetch(&p.item.url, &Target::Path(p.path.clone()))
}

/// What the journal knows a download by: the URL (its destination) and the item's key (URL and
/// target path), with the version of the file on disk: after the download for `done`, now for the
/// lookup, so a file changed or replaced since is fetched again.
fn identity(p: &Planned, version: Option<Version>) -> Identity {
    Identity {
        dest: Destination::of_url(&p.item.url),
        key: p.key.clone(),
        raw_key: None,
        version,
    }
}

/// What a rename keeps of a file's version: its size and modification time (the change time
/// moves with the rename).
fn renamed(version: Version) -> Version {
    Version {
        ctime_ns: None,
        sha256: None,
        ..version
    }
}

/// A journal or file-version error, as an I/O error on `path`.
fn pool_err(path: &Path, e: batch_pool::Error) -> DownloadError {
    DownloadError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::other(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_mix_urls_and_json_lines() {
        let text = "# a comment\n\nhttp://h/a.bin\n{\"url\": \"http://h/b\", \"path\": \"sub/b.bin\", \"sha256\": \"\
                    0000000000000000000000000000000000000000000000000000000000000000\"}\n";
        let items = parse_list(text).unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[1].path.as_deref(), Some("sub/b.bin"));
        for bad in [
            "ftp://h/x",
            "{\"url\": \"http://h/x\", \"extra\": 1}",
            "{\"url\": \"http://h/x\", \"sha256\": \"12\"}",
            "{\"url\": \"http://h/x\", \"accept\": \"nonsense\"}",
        ] {
            let err = parse_list(&format!("http://h/ok\n{bad}\n")).unwrap_err();
            assert!(
                matches!(err, DownloadError::InvalidList { line: 2, .. }),
                "{bad}"
            );
            assert_eq!(err.kind(), retry::FailureKind::Invalid);
        }
    }

    #[test]
    fn plans_unique_safe_names_in_list_order() {
        let items = parse_list(
            "http://h/a.bin\nhttp://g/a.bin\nhttp://h/A.BIN\nhttp://h/\nhttp://h/x/..%2F..%2Fetc\n\
             {\"url\": \"http://h/q\", \"path\": \"d/a.bin\"}\n",
        )
        .unwrap();
        let planned = plan(items, Path::new("/out")).unwrap();
        let names: Vec<String> = planned
            .iter()
            .map(|p| p.path.strip_prefix("/out").unwrap().display().to_string())
            .collect();
        assert_eq!(
            names,
            [
                "a.bin",
                "a-2.bin",
                "A-3.BIN",
                "download",
                "download-2",
                "d/a.bin"
            ]
        );
        for bad in ["../x", "/etc/passwd", "a/../../b", ".hidden", ""] {
            let items = vec![ListItem {
                url: "http://h/x".into(),
                path: Some(bad.into()),
                sha256: None,
                accept: None,
            }];
            assert!(plan(items, Path::new("/out")).is_err(), "{bad:?}");
        }
    }
}
