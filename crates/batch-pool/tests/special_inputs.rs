//! FIFOs and devices given as a manifest, a journal or an item are refused, never waited on.
//!
//! These tests run `mkfifo`, and a fork holds copies of the parent's descriptors until it execs,
//! journal locks included: so they live in a test binary of their own, where no journal is held.

#![cfg(unix)]

use batch_pool::{Error, Item, Journal, Version, content_key, read_manifest};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

fn mkfifo(path: &Path) {
    let made = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap();
    assert!(made.success(), "mkfifo {}", path.display());
}

/// Runs `f` on a thread; fails if it has not returned within a minute (a FIFO being waited on).
fn without_hanging<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(60))
        .expect("still blocked after a minute")
}

fn assert_not_regular<T: std::fmt::Debug>(result: Result<T, Error>) {
    match result {
        Err(Error::File(binary_io::Error::NotRegularFile { .. })) => {}
        other => panic!("expected NotRegularFile, got {other:?}"),
    }
}

fn special_files(dir: &Path) -> Vec<PathBuf> {
    let fifo = dir.join("fifo");
    mkfifo(&fifo);
    vec![fifo, PathBuf::from("/dev/zero"), PathBuf::from("/dev/null")]
}

#[test]
fn a_fifo_or_device_as_manifest_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    for p in special_files(dir.path()) {
        assert_not_regular(without_hanging(move || read_manifest(&p)));
    }
}

#[test]
fn a_fifo_or_device_as_journal_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    for p in special_files(dir.path()) {
        assert_not_regular(without_hanging(move || Journal::open(&p).map(|_| ())));
    }
}

#[test]
fn a_fifo_or_device_as_item_gets_no_version_and_no_key() {
    let dir = tempfile::tempdir().unwrap();
    for p in special_files(dir.path()) {
        let item = Item {
            key: p.display().to_string(),
            raw_key: None,
            path: p.clone(),
            fields: BTreeMap::new(),
        };
        let q = p.clone();
        assert_not_regular(without_hanging(move || Version::of(&q)));
        let q = p.clone();
        assert_not_regular(without_hanging(move || Version::hashed(&q)));
        assert_not_regular(without_hanging(move || content_key(&item)));
    }
}
