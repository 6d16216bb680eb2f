//! fw-download with paths that are not UTF-8 (#13): `-o`, `--output-dir`, `-i` and `--journal`
//! take the bytes as given, and `--json` reports such a path losslessly (`path_hex`).

use serde_json::Value;
use std::ffi::OsStr;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::{Command, Output};
use testbed::{PseudoRandomBytes, Testbed};

fn fw_download(dir: &Path, args: &[&OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fw-download"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("running fw-download")
}

fn expected(seed: u64, len: u64) -> Vec<u8> {
    let mut body = Vec::new();
    PseudoRandomBytes::new(seed, len)
        .read_to_end(&mut body)
        .unwrap();
    body
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn json(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}")))
        .collect()
}

#[test]
fn dash_o_saves_under_a_name_that_is_not_utf8() {
    let tb = Testbed::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    // A Latin-1 folder and file name: neither is valid UTF-8.
    let folder = dir.path().join(OsStr::from_bytes(b"re\xe7us"));
    std::fs::create_dir(&folder).unwrap();
    let target = folder.join(OsStr::from_bytes(b"caf\xe9 \xff.bin"));
    let url = tb.url("/bytes/5000?seed=7");

    let out = fw_download(
        dir.path(),
        &[OsStr::new(&url), OsStr::new("-o"), target.as_os_str()],
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(std::fs::read(&target).unwrap() == expected(7, 5000));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("(5000 bytes)"), "{stdout}");

    // The same with --json: the exact bytes are in path_hex, the file is replaced with -f.
    let out = fw_download(
        dir.path(),
        &[
            OsStr::new(&url),
            OsStr::new("--json"),
            OsStr::new("-f"),
            OsStr::new("-o"),
            target.as_os_str(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let report = &json(&out)[0];
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["bytes"], 5000, "{report}");
    assert_eq!(
        report["path_hex"].as_str(),
        Some(hex(target.as_os_str().as_bytes()).as_str()),
        "{report}"
    );
    let names: Vec<_> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        names,
        [target.file_name().unwrap()],
        "no temporary file left"
    );
}

#[test]
fn a_batch_downloads_into_an_output_dir_whose_name_is_not_utf8() {
    let tb = Testbed::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join(OsStr::from_bytes(b"t\xe9l\xe9chargements"));
    let list = dir.path().join(OsStr::from_bytes(b"liste-\xe9.txt"));
    let journal = dir.path().join(OsStr::from_bytes(b"journal-\xe9.jsonl"));
    std::fs::write(
        &list,
        format!(
            "{}\n{}\n",
            tb.url("/bytes/300?seed=1"),
            tb.url("/bytes/700?seed=2")
        ),
    )
    .unwrap();
    let args = [
        OsStr::new("--json"),
        OsStr::new("-i"),
        list.as_os_str(),
        OsStr::new("--output-dir"),
        out_dir.as_os_str(),
        OsStr::new("--journal"),
        journal.as_os_str(),
    ];
    let out = fw_download(dir.path(), &args);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let lines = json(&out);
    assert_eq!(lines.len(), 2, "{lines:?}");
    for line in &lines {
        assert_eq!(line["ok"], true, "{line}");
        assert_eq!(line["skipped"], false, "{line}");
        let exact = line["path_hex"].as_str().expect("a path_hex");
        assert!(
            exact.starts_with(&hex(out_dir.as_os_str().as_bytes())),
            "{line}"
        );
    }
    assert!(std::fs::read(out_dir.join("300")).unwrap() == expected(1, 300));
    assert!(std::fs::read(out_dir.join("700")).unwrap() == expected(2, 700));
    assert!(journal.is_file(), "the journal is where --journal said");

    // A rerun finds both complete through the same journal.
    let out = fw_download(dir.path(), &args);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(json(&out).iter().all(|l| l["skipped"] == true), "{out:?}");
}
