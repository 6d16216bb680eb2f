//! What a batch's journal knows a file by (destination, exact name, version), where it lives and
//! who may use it: fw-batch run as a process against the loopback testbed.

use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, SystemTime};
use testbed::Testbed;

const BIN: &str = env!("CARGO_BIN_EXE_fw-batch");

/// A folder to upload and a state folder for its journals, both temporary.
struct Batch {
    src: PathBuf,
    state: tempfile::TempDir,
    _root: tempfile::TempDir,
}

impl Batch {
    fn new() -> Batch {
        let root = tempfile::tempdir().unwrap();
        let src = root.path().join("photos");
        std::fs::create_dir(&src).unwrap();
        Batch {
            src,
            state: tempfile::tempdir().unwrap(),
            _root: root,
        }
    }

    fn write(&self, name: &str, content: &[u8]) {
        std::fs::write(self.src.join(name), content).unwrap();
    }

    fn command(&self, url: &str, extra: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        c.arg(url)
            .arg(&self.src)
            .args(extra)
            .args(["--progress=never", "--workers", "2"])
            .env("XDG_STATE_HOME", self.state.path());
        c
    }

    /// Runs fw-batch to completion and checks its exit code.
    fn run(&self, url: &str, extra: &[&str], code: i32) -> Output {
        let out = self.command(url, extra).output().expect("fw-batch runs");
        assert_eq!(
            out.status.code(),
            Some(code),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }
}

fn sha(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// How often the server received each content.
fn received(tb: &Testbed) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for f in tb.stats().uploads {
        *counts.entry(f.sha256).or_insert(0) += 1;
    }
    counts
}

fn times(tb: &Testbed, content: &[u8]) -> usize {
    received(tb).get(&sha(content)).copied().unwrap_or(0)
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_folder_sent_to_one_url_is_sent_whole_to_another() {
    let batch = Batch::new();
    let contents: Vec<Vec<u8>> = (0..4).map(|i| format!("photo {i}").into_bytes()).collect();
    for (i, c) in contents.iter().enumerate() {
        batch.write(&format!("p{i}.jpg"), c);
    }
    let one = Testbed::start().unwrap();
    let two = Testbed::start().unwrap();
    batch.run(&one.url("/upload"), &[], 0);
    let out = batch.run(&two.url("/upload"), &[], 0);
    assert!(
        !stderr(&out).contains("already uploaded"),
        "{}",
        stderr(&out)
    );
    for c in &contents {
        assert_eq!(times(&one, c), 1);
        assert_eq!(times(&two, c), 1);
    }
    // Each URL keeps its own record: a rerun to either sends nothing.
    batch.run(&one.url("/upload"), &[], 0);
    batch.run(&two.url("/upload"), &[], 0);
    assert_eq!(one.stats().uploads.len(), 4);
    assert_eq!(two.stats().uploads.len(), 4);

    // One journal given for both URLs knows them apart too.
    let shared = batch.state.path().join("shared.jsonl");
    let shared = shared.to_str().unwrap();
    let three = Testbed::start().unwrap();
    let four = Testbed::start().unwrap();
    batch.run(&three.url("/upload"), &["--journal", shared], 0);
    batch.run(&four.url("/upload"), &["--journal", shared], 0);
    batch.run(&three.url("/upload"), &["--journal", shared], 0);
    assert_eq!(three.stats().uploads.len(), 4);
    assert_eq!(four.stats().uploads.len(), 4);
}

#[test]
fn a_file_changed_since_its_upload_is_sent_again() {
    let batch = Batch::new();
    batch.write("a.txt", b"first a");
    batch.write("b.txt", b"first b");
    let tb = Testbed::start().unwrap();
    let url = tb.url("/upload");
    batch.run(&url, &[], 0);

    // New content and size.
    batch.write("a.txt", b"second version of a");
    let out = batch.run(&url, &["--json"], 0);
    assert_eq!(times(&tb, b"second version of a"), 1);
    assert_eq!(times(&tb, b"first b"), 1, "b did not change");
    assert!(stderr(&out).contains("1 files changed"), "{}", stderr(&out));

    // Same size, new content and a new modification time.
    let b = batch.src.join("b.txt");
    let old_mtime = std::fs::metadata(&b).unwrap().modified().unwrap();
    batch.write("b.txt", b"other b");
    set_mtime(&b, old_mtime + Duration::from_secs(5));
    batch.run(&url, &[], 0);
    assert_eq!(times(&tb, b"other b"), 1);

    // Same size, and the modification time set back: the change time still tells.
    let mtime = std::fs::metadata(&b).unwrap().modified().unwrap();
    batch.write("b.txt", b"third b");
    set_mtime(&b, mtime);
    batch.run(&url, &[], 0);
    assert_eq!(times(&tb, b"third b"), 1, "ctime gives the change away");
    batch.run(&url, &[], 0);
    assert_eq!(tb.stats().uploads.len(), 5, "and then it is done");

    // --hash compares contents, not times. A record without a hash vouches for nothing, so the
    // first --hash run sends both again; after that, new times over the same bytes send nothing.
    batch.run(&url, &["--hash"], 0);
    assert_eq!(tb.stats().uploads.len(), 7);
    set_mtime(&b, mtime + Duration::from_secs(60));
    batch.run(&url, &["--hash"], 0);
    assert_eq!(tb.stats().uploads.len(), 7, "same bytes, new times: done");
    batch.run(&url, &[], 0);
    assert_eq!(
        times(&tb, b"third b"),
        3,
        "without --hash the new times count"
    );
}

fn set_mtime(path: &Path, t: SystemTime) {
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(t)
        .unwrap();
}

#[test]
fn a_second_run_of_a_batch_is_refused_while_the_first_holds_the_journal() {
    let batch = Batch::new();
    batch.write("slow.bin", b"held by the first run");
    let tb = Testbed::start().unwrap();
    // The server holds the first run's upload until it is stopped: the run stays in progress.
    let url = tb.url("/upload?delay_ms=600000");
    let mut first = batch
        .command(&url, &[])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The run announces its journal once it holds the lock.
    let mut lines = BufReader::new(first.stderr.take().unwrap()).lines();
    let journal = loop {
        let line = lines.next().expect("the first run ended early").unwrap();
        if let Some(path) = line.strip_prefix("fw-batch: journal ") {
            break PathBuf::from(path);
        }
    };
    assert!(journal.starts_with(batch.state.path().join("filewire/journals")));
    // And its upload reaches the server, where it is held.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while tb.stats().requests == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the first run sent nothing"
        );
        std::thread::sleep(Duration::from_millis(10));
    }

    // (Were it not refused, it would wait on the server too: its timeout makes that a failure.)
    let second = batch.command(&url, &["--timeout", "60"]).output().unwrap();
    let message = stderr(&second);
    first.kill().unwrap();
    first.wait().unwrap();
    assert_eq!(second.status.code(), Some(1), "{message}");
    assert!(
        message.contains(&format!(
            "journal {} is in use by another run (process {})",
            journal.display(),
            first.id()
        )),
        "{message}"
    );
    assert_eq!(tb.stats().requests, 1, "only the first run sent anything");
}

#[cfg(unix)]
#[test]
fn names_that_differ_only_in_bytes_that_are_not_utf8_are_two_files() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let root = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    // The folder's own name is not UTF-8 either.
    let src = root.path().join(OsStr::from_bytes(b"fotos-\xe9t\xe9"));
    std::fs::create_dir(&src).unwrap();
    std::fs::write(
        src.join(OsStr::from_bytes(b"a\xff.jpg")),
        b"latin-1 y umlaut",
    )
    .unwrap();
    let tb = Testbed::start().unwrap();
    let url = tb.url("/upload");
    let run = || {
        let out = Command::new(BIN)
            .arg(&url)
            .arg(&src)
            .args(["--json", "--progress=never"])
            .env("XDG_STATE_HOME", state.path())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        out
    };
    let out = run();
    let line: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(line["key_hex"], "61ff2e6a7067");
    assert_eq!(times(&tb, b"latin-1 y umlaut"), 1);

    // A second name that renders the same (a U+FFFD where the byte was) is still new.
    std::fs::write(src.join(OsStr::from_bytes(b"a\xfe.jpg")), b"latin-1 thorn").unwrap();
    let out = run();
    let lines: Vec<&[u8]> = out
        .stdout
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(lines.len(), 1, "only the new file is sent");
    assert_eq!(times(&tb, b"latin-1 thorn"), 1);
    assert_eq!(times(&tb, b"latin-1 y umlaut"), 1);
    run();
    assert_eq!(tb.stats().uploads.len(), 2);
}

#[test]
fn a_journal_inside_the_folder_is_refused_and_never_uploaded() {
    let batch = Batch::new();
    batch.write("a.txt", b"the only file");
    let tb = Testbed::start().unwrap();
    let url = tb.url("/upload");
    for inside in [
        batch.src.join("my-journal.jsonl"),
        batch.src.join("../photos/j.jsonl"),
    ] {
        let out = batch.run(&url, &["--journal", inside.to_str().unwrap()], 2);
        assert!(
            stderr(&out).contains("is inside the folder being uploaded"),
            "{}",
            stderr(&out)
        );
        assert!(!inside.exists());
    }
    assert_eq!(tb.stats().requests, 0);

    // A state folder inside the uploaded folder (uploading one's home): the journal there is
    // left out of the walk, run after run.
    let home_like = || {
        let out = Command::new(BIN)
            .arg(&url)
            .arg(&batch.src)
            .arg("--progress=never")
            .env("XDG_STATE_HOME", batch.src.join(".local/state"))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    };
    home_like();
    home_like();
    assert_eq!(tb.stats().uploads.len(), 1);
    assert_eq!(times(&tb, b"the only file"), 1);
}

#[test]
fn an_older_journal_in_the_folder_is_neither_read_nor_uploaded() {
    let batch = Batch::new();
    batch.write("a.txt", b"file a");
    // What fw-batch 0.1 left in the folder: "a.txt is done", with no URL or version.
    batch.write(
        ".fw-batch.journal.jsonl",
        b"{\"event\":\"done\",\"key\":\"a.txt\",\"tries\":1,\"detail\":\"200\"}\n",
    );
    let tb = Testbed::start().unwrap();
    let out = batch.run(&tb.url("/upload"), &[], 0);
    assert!(
        stderr(&out).contains("older fw-batch's journal"),
        "{}",
        stderr(&out)
    );
    assert_eq!(times(&tb, b"file a"), 1);
    assert_eq!(tb.stats().uploads.len(), 1, "the old journal was uploaded");

    // Given as --journal, its lines are counted and ignored.
    let old = batch.state.path().join("old.jsonl");
    std::fs::copy(batch.src.join(".fw-batch.journal.jsonl"), &old).unwrap();
    let out = batch.run(&tb.url("/upload"), &["--journal", old.to_str().unwrap()], 0);
    assert!(
        stderr(&out).contains("1 journal lines of an older fw-batch ignored"),
        "{}",
        stderr(&out)
    );
    assert_eq!(times(&tb, b"file a"), 2);
}

#[test]
fn the_manifest_cannot_be_its_own_journal() {
    let batch = Batch::new();
    batch.write("a.txt", b"file a");
    let manifest = batch.src.join("m.jsonl");
    let text = "{\"path\": \"a.txt\"}\n";
    std::fs::write(&manifest, text).unwrap();
    let tb = Testbed::start().unwrap();
    let m = manifest.to_str().unwrap();
    let out = Command::new(BIN)
        .args([&tb.url("/upload"), "--manifest", m, "--journal", m])
        .env("XDG_STATE_HOME", batch.state.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("is the batch's manifest"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read_to_string(&manifest).unwrap(), text);
    assert_eq!(tb.stats().requests, 0);
}
