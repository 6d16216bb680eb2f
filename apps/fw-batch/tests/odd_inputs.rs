//! Odd inputs given to fw-batch: FIFOs and devices (refused, never waited on) and `-H` headers
//! that would break the request's framing (usage errors, nothing sent), against the testbed.

#![cfg(unix)]

use std::path::Path;
use std::process::{Command, Output};
use std::sync::mpsc;
use std::time::Duration;
use testbed::Testbed;

const BIN: &str = env!("CARGO_BIN_EXE_fw-batch");

/// Runs fw-batch and returns its output; fails the test (and ends the process) if it is still
/// running after two minutes, which is what waiting on a FIFO would look like.
fn fw_batch(state: &Path, args: &[&str]) -> Output {
    let child = Command::new(BIN)
        .args(args)
        .arg("--progress=never")
        .env("XDG_STATE_HOME", state)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("fw-batch runs");
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(Duration::from_secs(120)) {
        Ok(out) => out.unwrap(),
        Err(_) => {
            let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
            panic!("fw-batch {args:?} hung");
        }
    }
}

fn mkfifo(path: &Path) {
    let made = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(made.success(), "mkfifo {}", path.display());
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn fifos_and_devices_in_a_manifest_fail_at_once_and_the_rest_is_sent() {
    let tmp = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("real.txt"), "a real file").unwrap();
    mkfifo(&tmp.path().join("pipe.jpg"));
    std::os::unix::fs::symlink(tmp.path().join("pipe.jpg"), tmp.path().join("link.jpg")).unwrap();
    let manifest = tmp.path().join("m.jsonl");
    std::fs::write(
        &manifest,
        "{\"path\": \"real.txt\"}\n{\"path\": \"pipe.jpg\"}\n{\"path\": \"link.jpg\"}\n\
         {\"path\": \"/dev/zero\"}\n{\"path\": \"/dev/null\"}\n",
    )
    .unwrap();
    let tb = Testbed::start().unwrap();
    let out = fw_batch(
        state.path(),
        &[
            &tb.url("/upload"),
            "--manifest",
            manifest.to_str().unwrap(),
            "--json",
        ],
    );
    assert_eq!(out.status.code(), Some(7), "{}", stderr(&out));
    let mut failed = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        if v["ok"] == false {
            let error = v["error"].as_str().unwrap();
            assert!(error.contains("not a regular file"), "{error}");
            assert_eq!(v["tries"], 1, "a local refusal is not retried");
            failed.push(v["key"].as_str().unwrap().to_string());
        }
    }
    failed.sort();
    assert_eq!(failed, ["/dev/null", "/dev/zero", "link.jpg", "pipe.jpg"]);
    let uploads = tb.stats().uploads;
    assert_eq!(uploads.len(), 1);
    assert_eq!(uploads[0].size, "a real file".len() as u64);
}

#[test]
fn a_fifo_or_device_as_manifest_or_journal_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    std::fs::create_dir(&data).unwrap();
    std::fs::write(data.join("a.txt"), "a").unwrap();
    let fifo = tmp.path().join("fifo");
    mkfifo(&fifo);
    let tb = Testbed::start().unwrap();
    let url = tb.url("/upload");
    let fifo = fifo.to_str().unwrap();
    // A manifest is the batch's input: refused before sending (3). A journal is the run's own
    // state: a failure of the run (1).
    for (args, code) in [
        (vec![url.as_str(), "--manifest", fifo], 3),
        (vec![url.as_str(), "--manifest", "/dev/zero"], 3),
        (
            vec![url.as_str(), data.to_str().unwrap(), "--journal", fifo],
            1,
        ),
        (
            vec![
                url.as_str(),
                data.to_str().unwrap(),
                "--journal",
                "/dev/null",
            ],
            1,
        ),
    ] {
        let out = fw_batch(state.path(), &args);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("not a regular file"),
            "{}",
            stderr(&out)
        );
    }
    assert_eq!(tb.stats().requests, 0);
}

#[test]
fn a_fifo_in_a_folder_is_not_part_of_the_batch() {
    let tmp = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("a.txt"), "file a").unwrap();
    mkfifo(&tmp.path().join("pipe"));
    let tb = Testbed::start().unwrap();
    let out = fw_batch(
        state.path(),
        &[&tb.url("/upload"), tmp.path().to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(tb.stats().uploads.len(), 1);
}

#[test]
fn headers_that_would_break_framing_are_usage_errors_and_nothing_is_sent() {
    let tmp = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("a.txt"), "file a").unwrap();
    let tb = Testbed::start().unwrap();
    let url = tb.url("/ratelimit/upload");
    let dir = tmp.path().to_str().unwrap();
    for header in [
        "Transfer-Encoding: chunked",
        "content-length: 5",
        "Content-Type: text/plain",
        "Host: elsewhere.example",
        "Connection: close",
        "X-Idempotency-Key: same-for-all",
        "X-A: b\r\nX-Injected: c",
        "Bad Name: x",
    ] {
        let out = fw_batch(state.path(), &[&url, dir, "-H", header]);
        assert_eq!(out.status.code(), Some(2), "{header:?}: {}", stderr(&out));
    }
    assert_eq!(tb.stats().requests, 0);

    let out = fw_batch(
        state.path(),
        &[&url, dir, "-H", "Authorization: Bearer t0k"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(tb.stats().uploads.len(), 1);
}

#[test]
fn a_missing_folder_or_manifest_is_refused_with_exit_3_like_every_app() {
    let tmp = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let tb = Testbed::start().unwrap();
    let url = tb.url("/upload");
    let missing = tmp.path().join("no-such-folder");
    let manifest = tmp.path().join("no-such.jsonl");
    for args in [
        vec![url.as_str(), missing.to_str().unwrap()],
        vec![url.as_str(), "--manifest", manifest.to_str().unwrap()],
    ] {
        let out = fw_batch(state.path(), &args);
        assert_eq!(out.status.code(), Some(3), "{args:?}: {}", stderr(&out));
    }
    assert_eq!(tb.stats().requests, 0);
}
