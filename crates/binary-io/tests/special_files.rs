//! FIFOs, devices and sockets are refused as inputs before they are opened, never waited on.

#![cfg(unix)]

use binary_io::{Error, FilePolicy, open, read_bytes};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo runs");
    assert!(status.success(), "mkfifo {}", path.display());
}

/// Runs `f` on a thread and fails the test if it has not returned within a minute: a FIFO that
/// is opened for reading with no writer would block for ever, and the test must say so, not hang.
fn without_hanging<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(60))
        .unwrap_or_else(|_| panic!("{what}: still blocked after a minute"))
}

fn assert_not_regular(path: PathBuf, what: &'static str) {
    let shown = path.display().to_string();
    let p = path.clone();
    let err = without_hanging(&shown, move || open(&p).unwrap_err());
    match &err {
        Error::NotRegularFile { path: p, what: w } => {
            assert_eq!(p, &path);
            assert_eq!(*w, what, "{shown}");
        }
        other => panic!("{shown}: expected NotRegularFile, got {other:?}"),
    }
    assert!(err.to_string().contains("not a regular file"), "{err}");
    let p = path.clone();
    let policy_err = without_hanging(&shown, move || FilePolicy::new().check(&p).unwrap_err());
    assert!(
        matches!(policy_err, Error::NotRegularFile { .. }),
        "{policy_err:?}"
    );
    let p = path.clone();
    let read_err = without_hanging(&shown, move || read_bytes(&p).unwrap_err());
    assert!(
        matches!(read_err, Error::NotRegularFile { .. }),
        "{read_err:?}"
    );
}

#[test]
fn a_fifo_is_refused_without_waiting_for_a_writer() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("photo.jpg");
    mkfifo(&fifo);
    assert_not_regular(fifo, "a FIFO");
}

#[test]
fn a_symbolic_link_to_a_fifo_is_refused_too() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe");
    mkfifo(&fifo);
    let link = dir.path().join("upload.bin");
    std::os::unix::fs::symlink(&fifo, &link).unwrap();
    assert_not_regular(link, "a FIFO");
}

#[test]
fn character_devices_are_refused() {
    for dev in ["/dev/zero", "/dev/null", "/dev/urandom"] {
        if Path::new(dev).exists() {
            assert_not_regular(PathBuf::from(dev), "a character device");
        }
    }
}

#[test]
fn a_unix_socket_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("s.sock");
    let _listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    assert_not_regular(sock, "a socket");
}

#[test]
fn a_symbolic_link_to_a_regular_file_is_followed() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real.txt");
    std::fs::write(&real, "hello").unwrap();
    let link = dir.path().join("link.txt");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let opened = open(&link).unwrap();
    assert_eq!(opened.size, 5);
    let (_, meta) = binary_io::open_regular(&link).unwrap();
    assert!(meta.is_file());
}
