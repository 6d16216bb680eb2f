//! A JSON Lines journal of a batch: one line per event, appended and flushed at once so a killed
//! run can resume, keyed by destination and file version, and locked so one run uses it at a time.
//!
//! An item is known by its [`Identity`]: the destination (a hash of the URL), the item's exact key
//! bytes, and the [`Version`] of the file that was sent (size and times, or size and SHA-256). A file uploaded to one URL is new to another; a file changed since its
//! upload is [`Recorded::Changed`] and is sent again.
//!
//! Lines (format 2; lines of the first format, which had no destination or version, are counted
//! in [`JournalState::older_lines`] and otherwise ignored):
//!
//! ```text
//! {"event":"run","pid":4242,"unix_ms":...}
//! {"event":"started","dest":"9f0c...","key":"a.jpg","size":1234,"mtime_ns":...,"ctime_ns":...,"idempotency_key":"...","tries":1,"unix_ms":...}
//! {"event":"done","dest":"9f0c...","key":"a.jpg","size":1234,"mtime_ns":...,"ctime_ns":...,"tries":1,"detail":"200","unix_ms":...}
//! ```
//!
//! `key_hex` is added when the key is not UTF-8 (then `key` is a lossy rendering), `sha256` when
//! the batch hashes files.

use crate::manifest::{hash_file, hex};
use crate::{Error, Item};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

/// Where a batch sends its items: the first 16 bytes of the URL's SHA-256, in hex. The URL itself
/// is never written to the journal, since it may carry a token.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Destination(String);

impl Destination {
    /// The destination of an upload URL.
    pub fn of_url(url: &str) -> Destination {
        Destination(hex(&Sha256::digest(url.as_bytes())[..16]))
    }

    /// As written in the journal.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Which version of a file was sent.
///
/// Without a hash, a file is the same version while its size, modification time and status
/// change time (`ctime`, Unix) are the same: a write changes both times, and `ctime` cannot be
/// set back (`touch -d` or `cp -p` can set `mtime` back, not `ctime`), so any change of content
/// is seen; a `chmod` is seen too, and only costs a resend. With a hash ([`Version::hashed`]), the
/// same version is the same size and SHA-256, whatever the times say: a folder copied or
/// restored elsewhere with new times is not sent again, and a change is seen on any file system.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Version {
    /// Size in bytes.
    pub size: u64,
    /// Modification time, nanoseconds since the Unix epoch (negative before it).
    pub mtime_ns: i64,
    /// Status change time, nanoseconds since the Unix epoch (`None` where there is none).
    pub ctime_ns: Option<i64>,
    /// SHA-256 of the content (lower-case hex), when the batch hashes files.
    pub sha256: Option<String>,
}

impl Version {
    /// The size and times of the regular file at `path` (a symbolic link is followed; FIFOs and
    /// devices are refused).
    pub fn of(path: &Path) -> Result<Version, Error> {
        let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
        binary_io::check_regular(path, &meta)?;
        let mtime_ns = match meta
            .modified()
            .map_err(|e| Error::io(path, e))?
            .duration_since(UNIX_EPOCH)
        {
            Ok(after) => i64::try_from(after.as_nanos()).unwrap_or(i64::MAX),
            Err(before) => -i64::try_from(before.duration().as_nanos()).unwrap_or(i64::MAX),
        };
        #[cfg(unix)]
        let ctime_ns = {
            use std::os::unix::fs::MetadataExt;
            Some(meta.ctime().saturating_mul(1_000_000_000) + meta.ctime_nsec())
        };
        #[cfg(not(unix))]
        let ctime_ns = None;
        Ok(Version {
            size: meta.len(),
            mtime_ns,
            ctime_ns,
            sha256: None,
        })
    }

    /// As [`Version::of`], plus the SHA-256 of the content (reads the whole file): the journal
    /// then compares size and content, not times, and an entry without a hash is not taken as
    /// proof.
    pub fn hashed(path: &Path) -> Result<Version, Error> {
        let mut version = Version::of(path)?;
        let mut h = Sha256::new();
        hash_file(&mut h, path)?;
        version.sha256 = Some(hex(&h.finalize()));
        Ok(version)
    }

    fn is_recorded_in(&self, line: &Line) -> bool {
        if line.size != Some(self.size) {
            return false;
        }
        match &self.sha256 {
            Some(hash) => line.sha256.as_ref() == Some(hash),
            None => line.mtime_ns == Some(self.mtime_ns) && line.ctime_ns == self.ctime_ns,
        }
    }
}

/// What the journal knows an upload by: destination, the item's exact key, the file's version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// Where the item goes.
    pub dest: Destination,
    /// The item's key, for people (lossy when the key is not UTF-8).
    pub key: String,
    /// The key's exact bytes, when they are not UTF-8.
    pub raw_key: Option<Vec<u8>>,
    /// The file's version, `None` when it could not be read (such an item is never skipped).
    pub version: Option<Version>,
}

impl Identity {
    /// The identity of `item` sent to `dest` in this version.
    pub fn new(dest: &Destination, item: &Item, version: Option<Version>) -> Identity {
        Identity {
            dest: dest.clone(),
            key: item.key.clone(),
            raw_key: item.raw_key.clone(),
            version,
        }
    }

    fn key_bytes(&self) -> &[u8] {
        self.raw_key.as_deref().unwrap_or(self.key.as_bytes())
    }

    fn line(&self, event: Event) -> Line {
        let version = self.version.as_ref();
        Line {
            event,
            dest: Some(self.dest.0.clone()),
            key: Some(self.key.clone()),
            key_hex: self.raw_key.as_deref().map(hex),
            size: version.map(|v| v.size),
            mtime_ns: version.map(|v| v.mtime_ns),
            ctime_ns: version.and_then(|v| v.ctime_ns),
            sha256: version.and_then(|v| v.sha256.clone()),
            ..Line::new(event)
        }
    }
}

/// What a journal says about one [`Identity`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recorded<'a> {
    /// Nothing about this item at this destination.
    New,
    /// Uploaded in this very version: skip it.
    Done,
    /// Its last try failed: try again.
    Failed,
    /// A try of this version was under way when a run stopped, so the peer may or may not have
    /// it; send it again with the idempotency key that try used.
    InDoubt {
        /// The key sent with that try.
        idempotency_key: Option<&'a str>,
    },
    /// Recorded for another version of the file (size, time or hash differ): send it again.
    Changed,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Event {
    /// A run took the journal (its process id is on the line).
    Run,
    /// A try is about to send the item (written before the first byte leaves).
    Started,
    /// The item is finished and accepted.
    Done,
    /// The item ended with an error.
    Failed,
}

/// One journal line; which fields are set depends on the event.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Line {
    event: Event,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pid: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dest: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    key_hex: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    size: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    mtime_ns: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ctime_ns: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sha256: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    idempotency_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tries: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    detail: Option<String>,
    #[serde(default)]
    unix_ms: u64,
}

impl Line {
    fn new(event: Event) -> Line {
        Line {
            event,
            pid: None,
            dest: None,
            key: None,
            key_hex: None,
            size: None,
            mtime_ns: None,
            ctime_ns: None,
            sha256: None,
            idempotency_key: None,
            tries: None,
            detail: None,
            unix_ms: 0,
        }
    }

    /// (destination, exact key bytes) of an item line of this format; `None` for a run line or
    /// a line of the first format.
    fn item_key(&self) -> Option<(String, Vec<u8>)> {
        let dest = self.dest.clone()?;
        let key = self.key.as_ref()?;
        let bytes = match &self.key_hex {
            Some(h) => unhex(h)?,
            None => key.as_bytes().to_vec(),
        };
        Some((dest, bytes))
    }
}

/// What an existing journal says, item by item (the last event of each item wins).
#[derive(Clone, Debug, Default)]
pub struct JournalState {
    last: HashMap<(String, Vec<u8>), Line>,
    last_run_pid: Option<u32>,
    /// Lines that could not be read (e.g. a line cut short by a crash); they are ignored.
    pub unreadable_lines: usize,
    /// Item lines of the first journal format (no destination or file version): they cannot say
    /// where or which version was sent, so they are ignored and those files are sent again.
    pub older_lines: usize,
}

impl JournalState {
    /// What the journal says about this item, destination and version.
    pub fn lookup(&self, id: &Identity) -> Recorded<'_> {
        let Some(line) = self.last.get(&(id.dest.0.clone(), id.key_bytes().to_vec())) else {
            return Recorded::New;
        };
        if line.event == Event::Failed {
            return Recorded::Failed;
        }
        match &id.version {
            Some(v) if v.is_recorded_in(line) => {}
            _ => return Recorded::Changed,
        }
        match line.event {
            Event::Done => Recorded::Done,
            Event::Started => Recorded::InDoubt {
                idempotency_key: line.idempotency_key.as_deref(),
            },
            Event::Failed | Event::Run => Recorded::Failed,
        }
    }

    /// The `detail` recorded with `id`'s `done` event, when [`JournalState::lookup`] says
    /// [`Recorded::Done`] (the same destination, key and version): what a resumed run reports
    /// for an item it does not run again.
    pub fn done_detail(&self, id: &Identity) -> Option<&str> {
        if self.lookup(id) != Recorded::Done {
            return None;
        }
        self.last
            .get(&(id.dest.0.clone(), id.key_bytes().to_vec()))?
            .detail
            .as_deref()
    }

    /// How many items (at any destination) are done.
    pub fn done_count(&self) -> usize {
        self.last
            .values()
            .filter(|l| l.event == Event::Done)
            .count()
    }
}

/// An append-only JSON Lines journal, locked for one run; safe to share between threads.
///
/// Each line is one JSON object: `{"event":"run","pid":..}` when a run takes the journal, then
/// `started`, `done` or `failed` lines carrying the item's [`Identity`] (`dest`, `key`, `key_hex`
/// for a key that is not UTF-8, `size`, `mtime_ns`, `ctime_ns`, `sha256` when hashed) and `tries`,
/// `idempotency_key` or `detail`. Lines of the first format (no `dest`) are counted in
/// [`JournalState::older_lines`] and ignored.
///
/// Each event is one `write` of one whole line to a file opened for appending, so a process
/// killed at any moment (even SIGKILL) leaves every earlier line intact. That survives the
/// process, not the machine: call [`Journal::durable`] to also `fsync` each line.
///
/// While a `Journal` is open it holds an exclusive lock on the file (`flock` on Unix), released
/// when it is dropped or the process dies; a second [`Journal::open`] of the same file fails with
/// [`Error::Locked`]. The lock is advisory and, on network file systems, only as good as theirs.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: Mutex<File>,
    durable: bool,
}

impl Journal {
    /// Opens (creating if needed) the journal at `path`, takes its lock, reads what it already
    /// holds and writes a `run` line with this process's id. The file must be a regular file (a
    /// FIFO or a device is refused) in an existing folder.
    pub fn open(path: &Path) -> Result<(Journal, JournalState), Error> {
        match std::fs::metadata(path) {
            Ok(meta) => binary_io::check_regular(path, &meta)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io(path, e)),
        }
        // Read and write: opening a FIFO this way does not wait, and the check below refuses a
        // path that became one since the check above.
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
            .map_err(|e| Error::io(path, e))?;
        let meta = file.metadata().map_err(|e| Error::io(path, e))?;
        binary_io::check_regular(path, &meta)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let pid = read_state(&mut file, path)
                    .ok()
                    .and_then(|s| s.last_run_pid);
                return Err(Error::Locked {
                    path: path.to_path_buf(),
                    pid,
                });
            }
            Err(TryLockError::Error(e)) => return Err(Error::io(path, e)),
        }
        let state = read_state(&mut file, path)?;
        // A crash mid-line leaves no trailing newline; start ours on a fresh line.
        let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
        if len > 0 {
            let mut last = [0u8; 1];
            file.seek(SeekFrom::Start(len - 1))
                .and_then(|_| file.read_exact(&mut last))
                .map_err(|e| Error::io(path, e))?;
            if last[0] != b'\n' {
                file.write_all(b"\n").map_err(|e| Error::io(path, e))?;
            }
        }
        let journal = Journal {
            path: path.to_path_buf(),
            file: Mutex::new(file),
            durable: false,
        };
        journal.append(Line {
            pid: Some(std::process::id()),
            ..Line::new(Event::Run)
        })?;
        Ok((journal, state))
    }

    /// Also `fsync` after each line (survives power loss; slower).
    pub fn durable(mut self, yes: bool) -> Self {
        self.durable = yes;
        self
    }

    /// Where the journal is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether `path` names this journal's file (the same file, by any name or link).
    pub fn is_same_file(&self, path: &Path) -> bool {
        let Ok(other) = std::fs::metadata(path) else {
            return false;
        };
        let file = self.file.lock().unwrap_or_else(|e| e.into_inner());
        let Ok(mine) = file.metadata() else {
            return false;
        };
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            mine.dev() == other.dev() && mine.ino() == other.ino()
        }
        #[cfg(not(unix))]
        {
            let _ = (mine, other);
            std::fs::canonicalize(path).ok() == std::fs::canonicalize(&self.path).ok()
        }
    }

    /// Takes out of `items` those that are this journal's file (a state folder inside the
    /// walked folder, a manifest naming the journal), so that it is never uploaded; returns them.
    pub fn take_self(&self, items: &mut Vec<Item>) -> Vec<Item> {
        items
            .extract_if(.., |i| self.is_same_file(&i.path))
            .collect()
    }

    /// Records that a try of `id` is about to be sent with this idempotency key.
    pub fn started(
        &self,
        id: &Identity,
        idempotency_key: Option<&str>,
        tries: u32,
    ) -> Result<(), Error> {
        self.append(Line {
            idempotency_key: idempotency_key.map(str::to_string),
            tries: Some(tries),
            ..id.line(Event::Started)
        })
    }

    /// Records that `id` is finished and accepted.
    pub fn done(&self, id: &Identity, tries: u32, detail: &str) -> Result<(), Error> {
        self.append(Line {
            tries: Some(tries),
            detail: Some(detail.to_string()),
            ..id.line(Event::Done)
        })
    }

    /// Records that `id` ended with an error.
    pub fn failed(&self, id: &Identity, tries: u32, error: &str) -> Result<(), Error> {
        self.append(Line {
            tries: Some(tries),
            detail: Some(error.to_string()),
            ..id.line(Event::Failed)
        })
    }

    /// Appends one line (its `unix_ms` set to now) and flushes it to the OS.
    fn append(&self, mut line: Line) -> Result<(), Error> {
        line.unix_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        let mut bytes = serde_json::to_vec(&line).map_err(|e| Error::io(&self.path, e.into()))?;
        bytes.push(b'\n');
        let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
        file.write_all(&bytes)
            .map_err(|e| Error::io(&self.path, e))?;
        if self.durable {
            file.sync_data().map_err(|e| Error::io(&self.path, e))?;
        }
        Ok(())
    }
}

fn read_state(file: &mut File, path: &Path) -> Result<JournalState, Error> {
    let mut state = JournalState::default();
    file.seek(SeekFrom::Start(0))
        .map_err(|e| Error::io(path, e))?;
    for line in BufReader::new(&mut *file).split(b'\n') {
        let line = line.map_err(|e| Error::io(path, e))?;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let Ok(line) = serde_json::from_slice::<Line>(&line) else {
            state.unreadable_lines += 1;
            continue;
        };
        if line.event == Event::Run {
            state.last_run_pid = line.pid;
            continue;
        }
        match line.item_key() {
            Some(key) => {
                state.last.insert(key, line);
            }
            None if line.key.is_some() => state.older_lines += 1,
            None => state.unreadable_lines += 1,
        }
    }
    Ok(state)
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn item(key: &str) -> Item {
        Item {
            key: key.to_string(),
            raw_key: None,
            path: PathBuf::from(key),
            fields: BTreeMap::new(),
        }
    }

    fn id(dest: &str, key: &str, size: u64) -> Identity {
        let version = Version {
            size,
            mtime_ns: 1_700_000_000_000_000_000,
            ctime_ns: Some(1_700_000_000_000_000_000),
            sha256: None,
        };
        Identity::new(&Destination::of_url(dest), &item(key), Some(version))
    }

    #[test]
    fn the_detail_of_a_done_item_is_given_back_for_that_version_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        {
            let (journal, _) = Journal::open(&path).unwrap();
            journal
                .done(&id("u", "a.jpg", 5), 1, r#"{"total":"7.75"}"#)
                .unwrap();
            journal.failed(&id("u", "b.jpg", 5), 1, "no").unwrap();
        }
        let (_, state) = Journal::open(&path).unwrap();
        assert_eq!(
            state.done_detail(&id("u", "a.jpg", 5)),
            Some(r#"{"total":"7.75"}"#)
        );
        assert_eq!(state.done_detail(&id("u", "a.jpg", 6)), None);
        assert_eq!(state.done_detail(&id("v", "a.jpg", 5)), None);
        assert_eq!(state.done_detail(&id("u", "b.jpg", 5)), None);
    }

    #[test]
    fn a_reopened_journal_knows_done_failed_and_in_doubt_items() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("j.jsonl");
        {
            let (j, state) = Journal::open(&p).unwrap();
            assert_eq!(state.done_count(), 0);
            j.started(&id("u", "a", 1), Some("ka"), 1).unwrap();
            j.done(&id("u", "a", 1), 1, "200").unwrap();
            j.started(&id("u", "b", 1), Some("kb"), 1).unwrap();
            j.failed(&id("u", "b", 1), 1, "boom").unwrap();
            j.started(&id("u", "c", 1), Some("kc"), 2).unwrap();
        }
        let (_, state) = Journal::open(&p).unwrap();
        assert_eq!(state.lookup(&id("u", "a", 1)), Recorded::Done);
        assert_eq!(state.lookup(&id("u", "b", 1)), Recorded::Failed);
        assert_eq!(
            state.lookup(&id("u", "c", 1)),
            Recorded::InDoubt {
                idempotency_key: Some("kc")
            }
        );
        assert_eq!(state.lookup(&id("u", "d", 1)), Recorded::New);
    }

    #[test]
    fn an_item_is_done_only_for_its_destination_and_version() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("j.jsonl");
        {
            let (j, _) = Journal::open(&p).unwrap();
            j.done(&id("http://one/", "a", 10), 1, "200").unwrap();
        }
        let (_, state) = Journal::open(&p).unwrap();
        assert_eq!(state.lookup(&id("http://one/", "a", 10)), Recorded::Done);
        assert_eq!(state.lookup(&id("http://two/", "a", 10)), Recorded::New);
        assert_eq!(state.lookup(&id("http://one/", "a", 11)), Recorded::Changed);
        let mut later = id("http://one/", "a", 10);
        later.version.as_mut().unwrap().mtime_ns += 1;
        assert_eq!(state.lookup(&later), Recorded::Changed);
        let mut touched = id("http://one/", "a", 10);
        touched.version.as_mut().unwrap().ctime_ns = Some(1);
        assert_eq!(state.lookup(&touched), Recorded::Changed);
        // A run that hashes needs a recorded hash that matches.
        let mut hashed = id("http://one/", "a", 10);
        hashed.version.as_mut().unwrap().sha256 = Some("00".into());
        assert_eq!(state.lookup(&hashed), Recorded::Changed);
        // A file that could not be read is never skipped.
        let mut unread = id("http://one/", "a", 10);
        unread.version = None;
        assert_eq!(state.lookup(&unread), Recorded::Changed);
    }

    #[test]
    fn with_a_hash_the_content_decides_not_the_times() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("j.jsonl");
        let hashed = |hash: &str, mtime_ns: i64| {
            let mut id = id("u", "a", 10);
            let v = id.version.as_mut().unwrap();
            v.sha256 = Some(hash.to_string());
            v.mtime_ns = mtime_ns;
            v.ctime_ns = Some(mtime_ns);
            id
        };
        {
            let (j, _) = Journal::open(&p).unwrap();
            j.done(&hashed("ab", 1), 1, "200").unwrap();
        }
        let (_, state) = Journal::open(&p).unwrap();
        assert_eq!(state.lookup(&hashed("ab", 1)), Recorded::Done);
        assert_eq!(
            state.lookup(&hashed("ab", 99)),
            Recorded::Done,
            "copied: new times"
        );
        assert_eq!(
            state.lookup(&hashed("cd", 1)),
            Recorded::Changed,
            "same times"
        );
    }

    #[test]
    fn keys_that_render_alike_but_differ_in_bytes_are_two_items() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("j.jsonl");
        let with_raw = |raw: &[u8]| Identity {
            raw_key: Some(raw.to_vec()),
            ..id("u", "a\u{fffd}", 1)
        };
        {
            let (j, _) = Journal::open(&p).unwrap();
            j.done(&with_raw(b"a\xff"), 1, "200").unwrap();
        }
        let (_, state) = Journal::open(&p).unwrap();
        assert_eq!(state.lookup(&with_raw(b"a\xff")), Recorded::Done);
        assert_eq!(state.lookup(&with_raw(b"a\xfe")), Recorded::New);
        assert_eq!(state.lookup(&id("u", "a\u{fffd}", 1)), Recorded::New);
    }

    #[test]
    fn a_second_open_is_refused_while_the_first_holds_the_lock() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("j.jsonl");
        let (first, _) = Journal::open(&p).unwrap();
        match Journal::open(&p) {
            Err(Error::Locked { path, pid }) => {
                assert_eq!(path, p);
                assert_eq!(pid, Some(std::process::id()));
            }
            other => panic!("expected Locked, got {other:?}"),
        }
        drop(first);
        Journal::open(&p).expect("free again once the first run is gone");
    }

    #[test]
    fn lines_of_the_first_format_are_counted_and_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("j.jsonl");
        std::fs::write(
            &p,
            "{\"event\":\"done\",\"key\":\"a\",\"tries\":1}\n{\"event\":\"started\",\"key\":\"b\"}\n",
        )
        .unwrap();
        let (_, state) = Journal::open(&p).unwrap();
        assert_eq!(state.older_lines, 2);
        assert_eq!(state.unreadable_lines, 0);
        assert_eq!(state.lookup(&id("u", "a", 1)), Recorded::New);
    }

    #[test]
    fn lines_from_many_threads_never_interleave() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("j.jsonl");
        {
            let (j, _) = Journal::open(&p).unwrap();
            std::thread::scope(|s| {
                for t in 0..8 {
                    let j = &j;
                    s.spawn(move || {
                        for i in 0..200 {
                            j.done(&id("u", &format!("t{t}/item-{i}"), 1), 1, &"x".repeat(i))
                                .unwrap();
                        }
                    });
                }
            });
        }
        let (_, state) = Journal::open(&p).unwrap();
        assert_eq!(state.done_count(), 1600);
        assert_eq!(state.unreadable_lines, 0);
    }

    #[test]
    fn a_line_cut_short_is_ignored_and_the_next_line_starts_fresh() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("j.jsonl");
        {
            let (j, _) = Journal::open(&p).unwrap();
            j.done(&id("u", "a", 1), 1, "ok").unwrap();
        }
        let mut f = OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(b"{\"event\":\"done\",\"ke").unwrap();
        drop(f);
        {
            let (j, state) = Journal::open(&p).unwrap();
            assert_eq!(state.lookup(&id("u", "a", 1)), Recorded::Done);
            assert_eq!(state.unreadable_lines, 1);
            j.done(&id("u", "b", 1), 1, "ok").unwrap();
        }
        let (_, state) = Journal::open(&p).unwrap();
        assert_eq!(state.done_count(), 2);
        assert_eq!(state.unreadable_lines, 1);
    }

    #[test]
    fn versions_come_from_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, "hello").unwrap();
        let v = Version::of(&p).unwrap();
        assert_eq!(v.size, 5);
        assert!(v.sha256.is_none());
        let h = Version::hashed(&p).unwrap();
        assert_eq!(
            h.sha256.as_deref(),
            Some("2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824")
        );
        assert_eq!(h.mtime_ns, v.mtime_ns);
    }
}
