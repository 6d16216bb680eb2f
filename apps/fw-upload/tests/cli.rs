//! Runs the fw-upload binary against the loopback testbed and checks stdout and exit codes.

use serde_json::Value;
use sha2::{Digest, Sha256};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use testbed::Testbed;

fn fw_upload(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fw-upload"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("running fw-upload")
}

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(rel)
}

fn path_arg(p: &Path) -> &str {
    p.to_str().expect("utf-8 fixture path")
}

fn sha256_file(p: &Path) -> String {
    format!("{:x}", Sha256::digest(std::fs::read(p).unwrap()))
}

fn stdout_json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not json ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

#[test]
fn uploads_a_file_with_fields_and_prints_the_servers_answer() {
    let tb = Testbed::start().unwrap();
    let photo = fixture("images/avatar.jpg");
    let out = fw_upload(&[
        &tb.url("/upload"),
        path_arg(&photo),
        "-F",
        "user=ada",
        "-F",
        "caption=a = b",
        "--field-name",
        "avatar",
        "--avatar",
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let echo = stdout_json(&out);
    assert_eq!(echo["fields"]["user"], "ada");
    assert_eq!(echo["fields"]["caption"], "a = b");
    assert_eq!(echo["chunked"], false);
    let file = &echo["files"][0];
    assert_eq!(file["field"], "avatar");
    assert_eq!(file["filename"], "avatar.jpg");
    assert_eq!(file["content_type"], "image/jpeg");
    assert_eq!(file["sha256"], sha256_file(&photo));
}

#[test]
fn json_mode_prints_one_object_with_what_was_sent_and_the_answer() {
    let tb = Testbed::start().unwrap();
    let png = fixture("images/receipt.png");
    let txt = fixture("documents/receipt.txt");
    let out = fw_upload(&["--json", &tb.url("/upload"), path_arg(&png), path_arg(&txt)]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let report = stdout_json(&out);
    assert_eq!(report["ok"], true);
    assert_eq!(report["status"], 200);
    assert_eq!(report["sent"][0]["content_type"], "image/png");
    assert_eq!(report["sent"][1]["content_type"], "text/plain");
    let files = &report["response"]["files"];
    assert_eq!(files[0]["sha256"], sha256_file(&png));
    assert_eq!(files[1]["sha256"], sha256_file(&txt));
}

fn assert_refused_without_connecting(args: &[&str]) {
    let tb = Testbed::start().unwrap();
    let url = tb.url("/upload");
    let mut all = vec![url.as_str()];
    all.extend_from_slice(args);
    let out = fw_upload(&all);
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    assert!(out.stdout.is_empty(), "nothing on stdout without --json");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("refused before sending"), "{stderr}");
    assert_eq!(
        tb.stats().connections,
        0,
        "a refused upload must not connect"
    );
}

#[test]
fn avatar_refuses_an_html_page_named_photo_jpg() {
    assert_refused_without_connecting(&["--avatar", path_arg(&fixture("disguised/photo.jpg"))]);
}

#[test]
fn avatar_refuses_an_elf_program_named_avatar_png() {
    assert_refused_without_connecting(&["--avatar", path_arg(&fixture("disguised/avatar.png"))]);
}

#[test]
fn avatar_refuses_an_elf_named_photo_jpg() {
    let dir = tempfile::tempdir().unwrap();
    let photo = dir.path().join("photo.jpg");
    std::fs::copy(fixture("disguised/avatar.png"), &photo).unwrap();
    assert_refused_without_connecting(&["--avatar", path_arg(&photo)]);
}

#[test]
fn avatar_refuses_a_png_named_jpg() {
    assert_refused_without_connecting(&[
        "--avatar",
        path_arg(&fixture("disguised/really-png.jpg")),
    ]);
}

#[test]
fn accept_refuses_a_kind_not_listed() {
    assert_refused_without_connecting(&[
        "--accept",
        "image/png,image/webp",
        path_arg(&fixture("images/receipt.jpg")),
    ]);
}

#[test]
fn max_size_refuses_a_larger_file() {
    assert_refused_without_connecting(&[
        "--max-size",
        "1k",
        path_arg(&fixture("images/receipt.png")),
    ]);
}

#[test]
fn one_refused_file_stops_the_whole_upload() {
    assert_refused_without_connecting(&[
        "--avatar",
        path_arg(&fixture("images/avatar.jpg")),
        path_arg(&fixture("disguised/photo.jpg")),
    ]);
}

#[test]
fn a_missing_file_is_refused_before_sending() {
    assert_refused_without_connecting(&["/nonexistent/photo.jpg"]);
}

#[test]
fn refusal_in_json_mode_prints_an_error_object() {
    let tb = Testbed::start().unwrap();
    let out = fw_upload(&[
        "--json",
        "--avatar",
        &tb.url("/upload"),
        path_arg(&fixture("disguised/photo.jpg")),
    ]);
    assert_eq!(out.status.code(), Some(3));
    let report = stdout_json(&out);
    assert_eq!(report["ok"], false);
    assert_eq!(report["exit_code"], 3);
    assert!(report["error"].as_str().unwrap().contains("text/html"));
}

#[test]
fn a_server_error_answer_exits_4() {
    let tb = Testbed::start().unwrap();
    let out = fw_upload(&[
        &tb.url("/no-such-endpoint"),
        path_arg(&fixture("documents/receipt.txt")),
    ]);
    assert_eq!(out.status.code(), Some(4), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("404"));
}

#[test]
fn a_refused_connection_exits_5() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let out = fw_upload(&[
        &format!("http://127.0.0.1:{port}/upload"),
        path_arg(&fixture("documents/receipt.txt")),
    ]);
    assert_eq!(out.status.code(), Some(5), "{out:?}");
}

#[test]
fn bad_command_lines_exit_2() {
    let txt = fixture("documents/receipt.txt");
    for args in [
        vec![],
        vec!["http://127.0.0.1:1/upload"],
        vec![
            "--accept",
            "image/nope",
            "http://127.0.0.1:1/upload",
            path_arg(&txt),
        ],
        vec![
            "--max-size",
            "lots",
            "http://127.0.0.1:1/upload",
            path_arg(&txt),
        ],
        vec!["-F", "novalue", "http://127.0.0.1:1/upload", path_arg(&txt)],
        vec![
            "--progress",
            "sometimes",
            "http://127.0.0.1:1/upload",
            path_arg(&txt),
        ],
        vec!["--bogus", "http://127.0.0.1:1/upload", path_arg(&txt)],
    ] {
        let out = fw_upload(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
    }
}

#[test]
fn help_and_version_exit_0() {
    let help = fw_upload(&["--help"]);
    assert_eq!(help.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&help.stdout).contains("--avatar"));
    let version = fw_upload(&["--version"]);
    assert_eq!(version.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("fw-upload "));
}

#[test]
fn a_file_name_that_is_not_utf8_uploads() {
    use std::os::unix::ffi::OsStrExt;
    let tb = Testbed::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let name = std::ffi::OsStr::from_bytes(b"caf\xe9 receipt.txt");
    let path = dir.path().join(name);
    std::fs::write(&path, b"TOTAL 9.00\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_fw-upload"))
        .arg(tb.url("/upload"))
        .arg(&path)
        .arg("--json")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let uploads = tb.stats().uploads;
    assert_eq!(uploads.len(), 1);
    assert_eq!(uploads[0].size, 11);
}

#[test]
fn header_flags_that_would_break_the_framing_are_usage_errors() {
    let tb = Testbed::start().unwrap();
    let file = fixture("documents/receipt.txt");
    for header in [
        "Transfer-Encoding: chunked",
        "Content-Length: 5",
        "Content-Type: text/plain",
        "X-Bad: a\rb",
    ] {
        let out = fw_upload(&[&tb.url("/upload"), path_arg(&file), "-H", header]);
        assert_eq!(out.status.code(), Some(2), "{header}");
    }
    assert_eq!(tb.stats().requests, 0, "nothing may be sent");
}

#[test]
fn accept_takes_the_same_grammar_as_fw_download() {
    let tb = Testbed::start().unwrap();
    let jpeg = fixture("images/avatar.jpg");
    let pdf = fixture("documents/receipt.pdf");
    // A wildcard and a short name, as fw-download takes them.
    let ok = fw_upload(&[
        &tb.url("/upload"),
        path_arg(&jpeg),
        "--accept",
        "image/*,pdf",
    ]);
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let refused = fw_upload(&[&tb.url("/upload"), path_arg(&pdf), "--accept", "image/*"]);
    assert_eq!(refused.status.code(), Some(3));
    let bad = fw_upload(&[&tb.url("/upload"), path_arg(&jpeg), "--accept", "image/"]);
    assert_eq!(bad.status.code(), Some(2));
    assert_eq!(tb.stats().uploads.len(), 1);
}
