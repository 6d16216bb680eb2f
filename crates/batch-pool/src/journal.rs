//! A JSON Lines journal of a batch, appended and flushed per event, so a killed run can resume.

use crate::Error;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

/// What happened to an item.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Event {
    /// A try is about to send the item (written before the first byte leaves).
    Started,
    /// The item is finished and accepted; a rerun skips it.
    Done,
    /// The item ended with an error; a rerun tries it again.
    Failed,
}

/// One journal line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// What happened.
    pub event: Event,
    /// The item's key.
    pub key: String,
    /// The idempotency key sent with the item, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    /// Tries made so far.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tries: Option<u32>,
    /// A short note: the peer's answer on `done`, the error on `failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Milliseconds since the Unix epoch when the line was written.
    #[serde(default)]
    pub unix_ms: u64,
}

/// What an existing journal says, item by item (the last event of each key wins).
#[derive(Clone, Debug, Default)]
pub struct JournalState {
    last: HashMap<String, Entry>,
    /// Lines that could not be read (e.g. a line cut short by a crash); they are ignored.
    pub unreadable_lines: usize,
}

impl JournalState {
    /// Whether the item finished in an earlier run (skip it).
    pub fn is_done(&self, key: &str) -> bool {
        self.last.get(key).is_some_and(|e| e.event == Event::Done)
    }

    /// Items whose last event is `started`: a try was under way when the run stopped, so the
    /// peer may or may not have it. Gives the idempotency key that try used.
    pub fn in_doubt(&self) -> impl Iterator<Item = (&str, Option<&str>)> {
        self.last
            .values()
            .filter(|e| e.event == Event::Started)
            .map(|e| (e.key.as_str(), e.idempotency_key.as_deref()))
    }

    /// How many items are done.
    pub fn done_count(&self) -> usize {
        self.last
            .values()
            .filter(|e| e.event == Event::Done)
            .count()
    }

    /// The last event recorded for a key.
    pub fn last(&self, key: &str) -> Option<&Entry> {
        self.last.get(key)
    }
}

/// An append-only JSON Lines journal; safe to share between threads.
///
/// Each event is one `write` of one whole line to a file opened for appending, so a process
/// killed at any moment (even SIGKILL) leaves every earlier line intact. That survives the
/// process, not the machine: call [`Journal::durable`] to also `fsync` each line.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: Mutex<File>,
    durable: bool,
}

impl Journal {
    /// Opens (creating if needed) the journal at `path` and reads what it already holds.
    pub fn open(path: &Path) -> Result<(Journal, JournalState), Error> {
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
            .map_err(|e| Error::io(path, e))?;
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
        Ok((
            Journal {
                path: path.to_path_buf(),
                file: Mutex::new(file),
                durable: false,
            },
            state,
        ))
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

    /// Records that a try of `key` is about to be sent with this idempotency key.
    pub fn started(
        &self,
        key: &str,
        idempotency_key: Option<&str>,
        tries: u32,
    ) -> Result<(), Error> {
        self.append(Entry {
            event: Event::Started,
            key: key.to_string(),
            idempotency_key: idempotency_key.map(str::to_string),
            tries: Some(tries),
            detail: None,
            unix_ms: 0,
        })
    }

    /// Records that `key` is finished and accepted.
    pub fn done(&self, key: &str, tries: u32, detail: &str) -> Result<(), Error> {
        self.append(Entry {
            event: Event::Done,
            key: key.to_string(),
            idempotency_key: None,
            tries: Some(tries),
            detail: Some(detail.to_string()),
            unix_ms: 0,
        })
    }

    /// Records that `key` ended with an error.
    pub fn failed(&self, key: &str, tries: u32, error: &str) -> Result<(), Error> {
        self.append(Entry {
            event: Event::Failed,
            key: key.to_string(),
            idempotency_key: None,
            tries: Some(tries),
            detail: Some(error.to_string()),
            unix_ms: 0,
        })
    }

    /// Appends one entry as one line (its `unix_ms` is set to now) and flushes it to the OS.
    pub fn append(&self, mut entry: Entry) -> Result<(), Error> {
        entry.unix_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        let mut line = serde_json::to_vec(&entry).map_err(|e| Error::io(&self.path, e.into()))?;
        line.push(b'\n');
        let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
        file.write_all(&line)
            .map_err(|e| Error::io(&self.path, e))?;
        if self.durable {
            file.sync_data().map_err(|e| Error::io(&self.path, e))?;
        }
        Ok(())
    }
}

fn read_state(file: &mut File, path: &Path) -> Result<JournalState, Error> {
    let mut state = JournalState::default();
    for line in BufReader::new(&mut *file).split(b'\n') {
        let line = line.map_err(|e| Error::io(path, e))?;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<Entry>(&line) {
            Ok(entry) => {
                state.last.insert(entry.key.clone(), entry);
            }
            Err(_) => state.unreadable_lines += 1,
        }
    }
    Ok(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reopened_journal_knows_done_failed_and_in_doubt_items() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("j.jsonl");
        {
            let (j, state) = Journal::open(&p).unwrap();
            assert_eq!(state.done_count(), 0);
            j.started("a", Some("ka"), 1).unwrap();
            j.done("a", 1, "200").unwrap();
            j.started("b", Some("kb"), 1).unwrap();
            j.failed("b", 1, "boom").unwrap();
            j.started("c", Some("kc"), 2).unwrap();
        }
        let (_, state) = Journal::open(&p).unwrap();
        assert!(state.is_done("a"));
        assert!(!state.is_done("b"));
        assert!(!state.is_done("c"));
        let doubt: Vec<_> = state.in_doubt().collect();
        assert_eq!(doubt, [("c", Some("kc"))]);
        assert_eq!(state.last("b").unwrap().detail.as_deref(), Some("boom"));
    }

    #[test]
    fn lines_from_many_threads_never_interleave() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("j.jsonl");
        let (j, _) = Journal::open(&p).unwrap();
        std::thread::scope(|s| {
            for t in 0..8 {
                let j = &j;
                s.spawn(move || {
                    for i in 0..200 {
                        j.done(&format!("t{t}/item-{i}"), 1, &"x".repeat(i))
                            .unwrap();
                    }
                });
            }
        });
        let (_, state) = Journal::open(&p).unwrap();
        assert_eq!(state.done_count(), 1600);
        assert_eq!(state.unreadable_lines, 0);
    }

    #[test]
    fn a_line_cut_short_is_ignored_and_the_next_line_starts_fresh() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("j.jsonl");
        std::fs::write(
            &p,
            "{\"event\":\"done\",\"key\":\"a\"}\n{\"event\":\"done\",\"ke",
        )
        .unwrap();
        {
            let (j, state) = Journal::open(&p).unwrap();
            assert!(state.is_done("a"));
            assert_eq!(state.unreadable_lines, 1);
            j.done("b", 1, "ok").unwrap();
        }
        let (_, state) = Journal::open(&p).unwrap();
        assert!(state.is_done("a") && state.is_done("b"));
        assert_eq!(state.unreadable_lines, 1);
    }
}
