//! fw-scan's shards and journal as a user runs them: real files (OCR text, and images through
//! the testbed's OCR.space endpoint, which counts what it is sent), names with spaces and names
//! that are not UTF-8, a rerun after a stopped run, and a second run on a journal in use.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use testbed::Testbed;

fn fw_scan(dir: &Path, state: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fw-scan"));
    cmd.current_dir(dir)
        .env_remove("OCRSPACE_API_KEY")
        .env("XDG_STATE_HOME", state)
        .env("NO_COLOR", "1");
    cmd
}

fn run(cmd: &mut Command) -> (Output, String, String) {
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out, stdout, stderr)
}

fn json_lines(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}")))
        .collect()
}

/// A name that is not UTF-8 (Latin-1 `é`) on Unix; elsewhere a plain one.
fn latin1_name(stem: &[u8]) -> OsString {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStringExt;
        let mut bytes = stem.to_vec();
        bytes.extend_from_slice(b".txt");
        OsString::from_vec(bytes)
    }
    #[cfg(not(unix))]
    {
        OsString::from(format!("{}.txt", String::from_utf8_lossy(stem)))
    }
}

/// `count` text receipts, receipt `i` totalling `i`.25; names with spaces, two that are not
/// UTF-8 and differ only in their invalid byte.
fn receipts(dir: &Path, count: usize) -> Vec<PathBuf> {
    let mut paths = Vec::new();
    for i in 0..count {
        let name = match i {
            0 => latin1_name(b"caf\xe9 receipt"),
            1 => latin1_name(b"caf\xe8 receipt"),
            _ => OsString::from(format!("receipt {i} (shop).txt")),
        };
        let path = dir.join(name);
        std::fs::write(&path, format!("SHOP NUMBER {i}\nTOTAL {i}.25\n")).unwrap();
        paths.push(path);
    }
    paths
}

/// (file, total) of each JSON line.
fn totals(stdout: &str) -> Vec<(String, String)> {
    json_lines(stdout)
        .iter()
        .map(|l| {
            (
                l["image"].as_str().unwrap().to_string(),
                l["receipt"]["total"].as_str().unwrap_or("?").to_string(),
            )
        })
        .collect()
}

#[test]
fn shards_split_the_inputs_without_overlap_or_loss() {
    let dir = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let inputs = receipts(dir.path(), 12);
    let mut seen = BTreeSet::new();
    let mut total_lines = 0;
    for index in 0..3 {
        let (out, stdout, stderr) = run(fw_scan(dir.path(), state.path()).args(&inputs).args([
            "--json",
            "--shard",
            &format!("{index}/3"),
        ]));
        assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
        for (file, total) in totals(&stdout) {
            total_lines += 1;
            seen.insert((file, total));
        }
    }
    assert_eq!(total_lines, 12);
    assert_eq!(seen.len(), 12);
    let expected: BTreeSet<(String, String)> = inputs
        .iter()
        .enumerate()
        .map(|(i, p)| (p.display().to_string(), format!("{i}.25")))
        .collect();
    assert_eq!(seen, expected);
    // A bad shard is a usage error.
    let (out, _, stderr) = run(fw_scan(dir.path(), state.path())
        .args(&inputs)
        .args(["--shard", "3/3"]));
    assert_eq!(out.status.code(), Some(2), "{stderr}");
}

#[test]
fn a_rerun_skips_what_was_scanned_and_still_reports_it() {
    let dir = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let inputs = receipts(dir.path(), 6);
    // A first run that stopped after three inputs: the journal holds those three (the first two
    // have names that are not UTF-8 and differ only in that byte).
    let (out, stdout, stderr) = run(fw_scan(dir.path(), state.path())
        .args(&inputs[..1])
        .args(&inputs[2..4])
        .arg("--json"));
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let journals: Vec<_> = walk(state.path());
    assert_eq!(
        journals.len(),
        1,
        "one journal in the state folder: {journals:?}"
    );
    assert!(
        !walk(dir.path())
            .iter()
            .any(|p| p.to_string_lossy().contains("jsonl"))
    );

    // One of them changed since: it is scanned again.
    std::fs::write(&inputs[3], "SHOP NUMBER 3\nTOTAL 33.00\n").unwrap();
    let csv = dir.path().join("all.csv");
    let (out, stdout, stderr) = run(fw_scan(dir.path(), state.path())
        .args(&inputs)
        .arg("--json")
        .arg("--csv")
        .arg(&csv));
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("2 of 6 inputs were scanned by an earlier run"),
        "{stderr}"
    );
    let got = totals(&stdout);
    let want: Vec<(String, String)> = inputs
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let total = if i == 3 {
                "33.00".into()
            } else {
                format!("{i}.25")
            };
            (p.display().to_string(), total)
        })
        .collect();
    assert_eq!(got, want, "every input reported, in order");
    let table = std::fs::read_to_string(&csv).unwrap();
    assert_eq!(table.lines().count(), 7, "{table}");

    // A third run has nothing left to scan; --no-journal scans everything again.
    let (_, _, stderr) = run(fw_scan(dir.path(), state.path()).args(&inputs));
    assert!(stderr.contains("6 of 6 inputs"), "{stderr}");
    let (out, stdout, stderr) = run(fw_scan(dir.path(), state.path())
        .args(&inputs)
        .args(["--no-journal", "--json"]));
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("earlier run"), "{stderr}");
    assert_eq!(totals(&stdout), want);
}

#[test]
fn images_scanned_before_are_not_sent_again() {
    let server = Testbed::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let journal = dir.path().join("scan journal.jsonl");
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/images/receipt.png");
    let images: Vec<PathBuf> = (0..3)
        .map(|i| {
            let p = dir.path().join(format!("photo {i}.png"));
            std::fs::copy(&fixture, &p).unwrap();
            p
        })
        .collect();
    let scan = |inputs: &[PathBuf]| {
        run(fw_scan(dir.path(), state.path())
            .env("OCRSPACE_API_KEY", "k-resume")
            .args([
                "--engine",
                "ocrspace",
                "--endpoint",
                &server.url("/parse/image?scenario=echo-text&text_hint=TOTAL%204.10"),
                "--json",
                "--journal",
            ])
            .arg(&journal)
            .args(inputs))
    };
    let (out, stdout, stderr) = scan(&images[..2]);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert_eq!(server.stats().ocr_requests, 2);
    let (out, stdout, stderr) = scan(&images);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert_eq!(
        server.stats().ocr_requests,
        3,
        "only the new photo was sent"
    );
    let lines = json_lines(&stdout);
    assert_eq!(lines.len(), 3);
    assert!(
        lines.iter().all(|l| l["receipt"]["total"] == "4.10"),
        "{stdout}"
    );
    // The journal never holds the endpoint or the key.
    let written = std::fs::read_to_string(&journal).unwrap();
    assert!(!written.contains("k-resume") && !written.contains("127.0.0.1"));
}

#[test]
fn a_run_killed_mid_batch_resumes_where_it_stopped() {
    let server = Testbed::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let mut inputs = receipts(dir.path(), 3);
    let photo = dir.path().join("photo 3.png");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/images/receipt.png"),
        &photo,
    )
    .unwrap();
    inputs.push(photo);
    // The photo's first request is throttled for 30 s: the run is killed while it waits, after
    // the three text receipts are done.
    let endpoint =
        server.url("/parse/image?scenario=throttle-first&n=1&window=30&text_hint=TOTAL%205.00");
    let scan = || {
        let mut cmd = fw_scan(dir.path(), state.path());
        cmd.env("OCRSPACE_API_KEY", "k-kill")
            .args(["--engine", "ocrspace", "--endpoint", &endpoint, "--json"])
            .args(["--workers", "1"])
            .args(&inputs);
        cmd
    };
    let mut child = scan()
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(25);
    loop {
        let done = walk(state.path())
            .iter()
            .map(|j| std::fs::read_to_string(j).unwrap_or_default())
            .map(|text| text.matches(r#""event":"done""#).count())
            .sum::<usize>();
        if done == 3 && server.stats().ocr_requests == 1 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the first run did not get going"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    child.kill().unwrap();
    child.wait().unwrap();

    let (out, stdout, stderr) = run(&mut scan());
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("3 of 4 inputs were scanned by an earlier run"),
        "{stderr}"
    );
    assert_eq!(
        server.stats().ocr_requests,
        2,
        "only the photo was sent again"
    );
    let got: Vec<String> = totals(&stdout).into_iter().map(|(_, t)| t).collect();
    assert_eq!(got, ["0.25", "1.25", "2.25", "5.00"]);
}

#[test]
fn a_journal_in_use_by_another_run_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let inputs = receipts(dir.path(), 2);
    let journal = state.path().join("j.jsonl");
    let (_held, _) = batch_pool::Journal::open(&journal).unwrap();
    let (out, stdout, stderr) = run(fw_scan(dir.path(), state.path())
        .args(&inputs)
        .arg("--journal")
        .arg(&journal));
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stderr.contains("in use by another run"), "{stderr}");
    assert!(stdout.is_empty());
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}
