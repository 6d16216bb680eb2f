//! fw-upload --put and --tus as a process: against nginx's WebDAV PUT and the official tus
//! server, including a run killed with SIGKILL halfway and rerun.

use serde_json::Value;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};
use testbed::peers::{Nginx, TusServer};

fn fw_upload(state: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_fw-upload"));
    command
        .env("NO_COLOR", "1")
        .env("XDG_STATE_HOME", state)
        .stdin(Stdio::null());
    command
}

fn run(command: &mut Command) -> Output {
    command.output().expect("running fw-upload")
}

fn stdout_json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("stdout is not json ({e}): {out:?}");
    })
}

fn write_noise(path: &Path, len: usize) {
    let mut state = 0x9E37_79B9_7F4A_7C15u64 ^ len as u64;
    let bytes: Vec<u8> = (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn put_stores_the_file_in_nginx_webdav_and_reports_in_json() {
    let dir = tempfile::tempdir().unwrap();
    let Some(nginx) = Nginx::start_webdav(&dir.path().join("nginx")) else {
        return;
    };
    let path = dir.path().join("scan.bin");
    write_noise(&path, 3 * 1024 * 1024 + 5);
    let url = nginx.url("/dav/in/scan.bin");
    let out = run(fw_upload(dir.path())
        .args(["--json", "--put", &url, "-H", "x-amz-acl: private"])
        .arg(&path));
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let report = stdout_json(&out);
    assert_eq!(report["ok"], true);
    assert_eq!(report["status"], 201);
    assert_eq!(report["sent"][0]["size"], 3 * 1024 * 1024 + 5);
    assert_eq!(
        report["sent"][0]["content_type"],
        "application/octet-stream"
    );
    let stored = std::fs::read(nginx.dav_root().join("dav/in/scan.bin")).unwrap();
    assert!(
        stored == std::fs::read(&path).unwrap(),
        "stored bytes differ"
    );
}

#[test]
fn put_refuses_a_disguised_file_before_connecting() {
    let tb = testbed::Testbed::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("photo.jpg");
    std::fs::write(&path, "<!doctype html><p>not a photo").unwrap();
    let out = run(fw_upload(dir.path())
        .args(["--avatar", "--put", &tb.url("/upload")])
        .arg(&path));
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("refused before sending"));
    assert_eq!(tb.stats().connections, 0);
}

#[test]
fn put_and_tus_command_line_mistakes_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.txt");
    std::fs::write(&a, "a").unwrap();
    let a = a.to_str().unwrap();
    for args in [
        vec!["--put", "http://127.0.0.1:1/x", a, a],
        vec!["--tus", "http://127.0.0.1:1/files/"],
        vec![
            "--put",
            "http://127.0.0.1:1/x",
            "--tus",
            "http://127.0.0.1:1/f",
            a,
        ],
        vec!["--put", "http://127.0.0.1:1/x", "--chunk-size", "1MiB", a],
        vec!["--tus", "http://127.0.0.1:1/f", "--chunk-size", "0", a],
        vec!["http://127.0.0.1:1/x", "--content-type", "text/plain", a],
        vec!["--put", "http://127.0.0.1:1/x", "-F", "a=b", a],
    ] {
        let out = run(fw_upload(dir.path()).args(&args));
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
    }
}

#[test]
fn tus_refuses_a_file_over_the_servers_max_size_with_exit_3() {
    let dir = tempfile::tempdir().unwrap();
    let Some(server) = TusServer::start(&dir.path().join("store"), Some(1000)) else {
        return;
    };
    let path = dir.path().join("big.bin");
    write_noise(&path, 5000);
    let out = run(fw_upload(dir.path())
        .args(["--tus", &server.endpoint()])
        .arg(&path));
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("Tus-Max-Size"), "{stderr}");
}

/// A TCP proxy to `upstream` that forwards client bytes at about `bytes_per_sec`, so that a
/// loopback upload takes long enough to be killed halfway.
fn throttling_proxy(upstream: u16, bytes_per_sec: u64) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(client) = client else { return };
            let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else {
                continue;
            };
            let (mut c_in, mut s_out) = (client.try_clone().unwrap(), server.try_clone().unwrap());
            std::thread::spawn(move || {
                let mut buf = vec![0u8; 16 * 1024];
                let pause = Duration::from_secs_f64(buf.len() as f64 / bytes_per_sec as f64);
                while let Ok(n) = c_in.read(&mut buf) {
                    if n == 0 || s_out.write_all(&buf[..n]).is_err() {
                        break;
                    }
                    std::thread::sleep(pause);
                }
                let _ = s_out.shutdown(Shutdown::Both);
            });
            let (mut s_in, mut c_out) = (server, client);
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut s_in, &mut c_out);
                let _ = c_out.shutdown(Shutdown::Both);
            });
        }
    });
    port
}

/// The largest upload file (not its .json info) in the tus store.
fn largest_upload(store: &Path) -> Option<(PathBuf, u64)> {
    std::fs::read_dir(store)
        .ok()?
        .filter_map(Result::ok)
        .filter(|e| !e.file_name().to_string_lossy().ends_with(".json"))
        .filter_map(|e| Some((e.path(), e.metadata().ok()?.len())))
        .max_by_key(|(_, len)| *len)
}

#[test]
fn tus_killed_halfway_resumes_on_rerun_and_sends_little_twice() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let Some(server) = TusServer::start(&store, None) else {
        return;
    };
    let size: u64 = 16 * 1024 * 1024;
    let path = dir.path().join("movie.bin");
    write_noise(&path, size as usize);
    let proxy = throttling_proxy(server.port, 8 * 1024 * 1024);
    let endpoint = format!("http://127.0.0.1:{proxy}/files/");
    let received_before = server.bytes_read().unwrap();

    let mut first = fw_upload(dir.path())
        .args(["--tus", &endpoint, "--chunk-size", "1MiB", "-q"])
        .arg(&path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(Instant::now() < deadline, "the upload never got halfway");
        assert!(
            first.try_wait().unwrap().is_none(),
            "the first run ended before it could be killed"
        );
        if largest_upload(&store).is_some_and(|(_, len)| len >= size / 2) {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    first.kill().unwrap(); // SIGKILL
    first.wait().unwrap();
    let (_, partial) = largest_upload(&store).unwrap();
    assert!(partial < size, "killed before the end");

    let out = run(fw_upload(dir.path())
        .args(["--json", "--tus", &endpoint, "--chunk-size", "1MiB"])
        .arg(&path));
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let report = stdout_json(&out);
    assert_eq!(report["resumed"], true, "{report}");
    assert!(
        report["start_offset"].as_u64().unwrap() >= size / 2,
        "{report}"
    );
    assert_eq!(report["uploads_created"], 0, "{report}");
    let stored = server.stored_file(report["upload_url"].as_str().unwrap());
    assert!(std::fs::read(stored).unwrap() == std::fs::read(&path).unwrap());
    let received = server.bytes_read().unwrap() - received_before;
    assert!(
        received as f64 <= 1.15 * size as f64,
        "the server read {received} bytes for a {size}-byte file"
    );
    let remembered = std::fs::read_dir(dir.path().join("filewire/tus"))
        .unwrap()
        .count();
    assert_eq!(remembered, 0, "a finished upload is forgotten");
}
