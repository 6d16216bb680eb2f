//! Runs the fw-download binary against the loopback testbed: for each fault, the exit code and
//! the destination folder afterwards (no final file, no stray temporary files; only `.part` and
//! `.part.json` with `--continue`).

use std::path::Path;
use std::process::Command;
use testbed::Testbed;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn fw_download(dir: &Path, args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_fw-download"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("running fw-download");
    Run {
        code: out.status.code().expect("exited normally"),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn every_fault_exits_with_its_code_and_leaves_an_empty_folder() {
    let tb = Testbed::start().unwrap();
    let cases: &[(&str, &[&str], i32, &str)] = &[
        (
            "/fault/lying-type",
            &[],
            6,
            "declared image/jpeg but the body is",
        ),
        (
            "/fault/short",
            &[],
            6,
            "expected 100000 bytes, received 50000",
        ),
        ("/fault/long", &[], 6, "longer than the declared 1000 bytes"),
        (
            "/fault/endless",
            &["--max-size", "1MB"],
            3,
            "passed the limit of 1000000",
        ),
        (
            "/fault/drip?interval_ms=1500",
            &["--timeout", "300ms"],
            5,
            "timed out",
        ),
        ("/fault/reset?after=20000", &[], 5, "connection reset"),
        (
            "/fault/gzip-bomb",
            &["--max-size", "10MB"],
            3,
            "after decompression",
        ),
        ("/fault/redirect-loop", &[], 4, "more than 10 redirects"),
        ("/fault/redirect-scheme", &[], 3, "file:///etc/passwd"),
        ("/fault/redirect-scheme?to=ftp", &[], 3, "ftp://127.0.0.1/x"),
        ("/fault/status/404", &[], 4, "server answered 404"),
        ("/fault/status/503", &[], 4, "server answered 503"),
        (
            "/bytes/5000",
            &["--accept", "image/*"],
            3,
            "is not accepted",
        ),
        (
            "/bytes/5000",
            &["--max-size", "4k"],
            3,
            "over the limit of 4000",
        ),
        (
            "/bytes/5000",
            &["--sha256", &"ab".repeat(32)],
            6,
            "sha256 mismatch",
        ),
    ];
    for (path, extra, code, message) in cases {
        let dest = tempfile::tempdir().unwrap();
        let url = tb.url(path);
        let mut args = vec![url.as_str(), "-o", "out.bin", "--progress", "never"];
        args.extend_from_slice(extra);
        let r = fw_download(dest.path(), &args);
        assert_eq!(r.code, *code, "{path}: {}", r.stderr);
        assert!(r.stderr.contains(message), "{path}: {}", r.stderr);
        assert!(
            listing(dest.path()).is_empty(),
            "{path}: {:?}",
            listing(dest.path())
        );
    }
}

#[test]
fn unsafe_remote_names_are_refused_with_exit_3() {
    let tb = Testbed::start().unwrap();
    for query in [
        "filename=..%2F..%2Fescaped.txt",
        "filename=%2Fetc%2Fpasswd",
        "filename_star=..%2Fx.txt",
        "filename_star=a%00b.txt",
        "filename=.profile",
    ] {
        let dest = tempfile::tempdir().unwrap();
        let url = tb.url(&format!("/fault/disposition?{query}"));
        let r = fw_download(dest.path(), &[&url, "-O"]);
        assert_eq!(r.code, 3, "{query}: {}", r.stderr);
        assert!(
            r.stderr.contains("unsafe file name"),
            "{query}: {}",
            r.stderr
        );
        assert!(listing(dest.path()).is_empty(), "{query}");
    }
}

#[test]
fn saves_under_the_remote_name_and_reports_json() {
    let tb = Testbed::start().unwrap();
    let dest = tempfile::tempdir().unwrap();
    let url = tb.url("/fault/disposition?filename=report.txt");
    let r = fw_download(dest.path(), &[&url, "-O", "--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(v["bytes"], 6);
    assert_eq!(v["resumed"], false);
    assert_eq!(v["content_type"], "application/octet-stream");
    assert_eq!(
        v["sha256"],
        "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
    );
    assert!(v["path"].as_str().unwrap().ends_with("report.txt"));
    assert_eq!(listing(dest.path()), ["report.txt"]);

    // Again: refused (exit 3) and the file is untouched; with --force it is replaced.
    let r = fw_download(dest.path(), &[&url, "-O"]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains("already exists"), "{}", r.stderr);
    let r = fw_download(dest.path(), &[&url, "-O", "--force", "-q"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.is_empty());
    assert_eq!(listing(dest.path()), ["report.txt"]);
}

#[test]
fn failures_are_reported_as_json_too() {
    let tb = Testbed::start().unwrap();
    let dest = tempfile::tempdir().unwrap();
    let url = tb.url("/fault/lying-type");
    let r = fw_download(dest.path(), &[&url, "-o", "x.jpg", "--json"]);
    assert_eq!(r.code, 6);
    let v: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
    assert_eq!(v["ok"], false);
    assert_eq!(v["exit_code"], 6);
    assert!(v["error"].as_str().unwrap().contains("html"), "{v}");
}

#[test]
fn continue_resumes_across_a_connection_cut() {
    let files = tempfile::tempdir().unwrap();
    let data: Vec<u8> = (0..400_000u32).map(|i| (i % 253) as u8).collect();
    std::fs::write(files.path().join("big.bin"), &data).unwrap();
    let tb = Testbed::builder().files_dir(files.path()).start().unwrap();
    let dest = tempfile::tempdir().unwrap();
    let url = tb.url("/flaky/big.bin?cut_after=150000");

    let r = fw_download(dest.path(), &[&url, "-o", "big.bin", "--continue"]);
    assert_eq!(r.code, 6, "{}", r.stderr);
    assert_eq!(listing(dest.path()), ["big.bin.part", "big.bin.part.json"]);

    let r = fw_download(
        dest.path(),
        &[&url, "-o", "big.bin", "--continue", "--json"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
    assert_eq!(v["resumed"], true);
    assert_eq!(v["bytes"], 400_000);
    assert_eq!(std::fs::read(dest.path().join("big.bin")).unwrap(), data);
    assert_eq!(listing(dest.path()), ["big.bin"]);
}

#[test]
fn bad_command_lines_exit_2() {
    let dest = tempfile::tempdir().unwrap();
    for args in [
        &[][..],
        &["http://127.0.0.1:1/x", "--accept", "nonsense"],
        &["http://127.0.0.1:1/x", "--max-size", "lots"],
        &["http://127.0.0.1:1/x", "--sha256", "abc"],
        &["http://127.0.0.1:1/x", "-o", "a", "-O"],
        &["ftp://127.0.0.1/x", "-o", "a"],
    ] {
        let r = fw_download(dest.path(), args);
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
    }
    let r = fw_download(dest.path(), &["--help"]);
    assert_eq!(r.code, 0);
    assert!(r.stdout.contains("usage: fw-download URL"));
    assert!(listing(dest.path()).is_empty());
}

#[test]
fn connection_refused_exits_5() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dest = tempfile::tempdir().unwrap();
    let url = format!("http://127.0.0.1:{port}/x");
    let r = fw_download(dest.path(), &[&url, "-o", "x"]);
    assert_eq!(r.code, 5, "{}", r.stderr);
    assert!(listing(dest.path()).is_empty());
}

/// A one-file server for the kill test: the first full GET stalls after `stall_at` bytes and
/// reports it; Range requests with a matching If-Range get 206 with the rest.
fn stalling_server(data: Vec<u8>, stall_at: usize) -> (String, std::sync::mpsc::Receiver<()>) {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/big.bin", listener.local_addr().unwrap());
    let (stalled_tx, stalled_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { return };
            let mut reader = BufReader::new(conn.try_clone().unwrap());
            let mut range_start = None;
            let mut if_range = None;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                let lower = line.to_ascii_lowercase();
                if let Some(v) = lower.strip_prefix("range: bytes=") {
                    range_start = v.trim().trim_end_matches('-').parse::<usize>().ok();
                }
                if let Some(v) = line
                    .strip_prefix("If-Range: ")
                    .or(line.strip_prefix("if-range: "))
                {
                    if_range = Some(v.trim().to_string());
                }
            }
            match range_start.filter(|_| if_range.as_deref() == Some("\"v1\"")) {
                Some(start) => {
                    let head = format!(
                        "HTTP/1.1 206 Partial Content\r\nContent-Type: application/octet-stream\r\nETag: \"v1\"\r\nContent-Range: bytes {start}-{}/{}\r\nContent-Length: {}\r\n\r\n",
                        data.len() - 1,
                        data.len(),
                        data.len() - start
                    );
                    let _ = conn.write_all(head.as_bytes());
                    let _ = conn.write_all(&data[start..]);
                }
                None => {
                    let head = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nETag: \"v1\"\r\nContent-Length: {}\r\n\r\n",
                        data.len()
                    );
                    let _ = conn.write_all(head.as_bytes());
                    let _ = conn.write_all(&data[..stall_at]);
                    let _ = stalled_tx.send(());
                    // Keep the connection open and silent: the client waits until it is killed.
                    held.push(conn);
                }
            }
        }
    });
    (url, stalled_rx)
}

#[test]
fn continue_survives_sigkill_mid_download() {
    let data: Vec<u8> = (0..1_000_000u32).map(|i| (i * 31 % 256) as u8).collect();
    let (url, stalled) = stalling_server(data.clone(), 300_000);
    let dest = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_fw-download"))
        .args([
            &url,
            "-o",
            "big.bin",
            "--continue",
            "--timeout",
            "60s",
            "-q",
        ])
        .current_dir(dest.path())
        .spawn()
        .unwrap();
    stalled
        .recv_timeout(std::time::Duration::from_secs(30))
        .unwrap();
    // The server has sent 300000 bytes; wait until the client has written them all.
    let part = dest.path().join("big.bin.part");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while std::fs::metadata(&part).map(|m| m.len()).unwrap_or(0) < 300_000 {
        assert!(
            std::time::Instant::now() < deadline,
            "part never reached 300000 bytes"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    child.kill().unwrap(); // SIGKILL: no destructor, no cleanup
    child.wait().unwrap();
    assert_eq!(listing(dest.path()), ["big.bin.part", "big.bin.part.json"]);

    let r = fw_download(
        dest.path(),
        &[&url, "-o", "big.bin", "--continue", "--json"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
    assert_eq!(v["resumed"], true);
    assert_eq!(std::fs::read(dest.path().join("big.bin")).unwrap(), data);
    assert_eq!(listing(dest.path()), ["big.bin"]);
}

#[test]
fn retries_resume_a_cut_download_in_one_run() {
    let files = tempfile::tempdir().unwrap();
    let data: Vec<u8> = (0..400_000u32).map(|i| (i % 241) as u8).collect();
    std::fs::write(files.path().join("big.bin"), &data).unwrap();
    let tb = Testbed::builder().files_dir(files.path()).start().unwrap();
    let dest = tempfile::tempdir().unwrap();
    let url = tb.url("/flaky/big.bin?cut_after=150000");
    let r = fw_download(
        dest.path(),
        &[
            &url,
            "-o",
            "big.bin",
            "--continue",
            "--retries",
            "2",
            "--json",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
    assert_eq!(v["resumed"], true);
    assert_eq!(std::fs::read(dest.path().join("big.bin")).unwrap(), data);
    assert_eq!(listing(dest.path()), ["big.bin"]);
}

#[test]
fn hostile_servers_get_the_new_flags_exit_codes_and_messages() {
    let tb = Testbed::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    // --max-time ends a body dripping under the idle timeout.
    let r = fw_download(
        dir.path(),
        &[
            &tb.url("/fault/drip?interval_ms=300"),
            "-o",
            "d.bin",
            "--timeout",
            "2s",
            "--max-time",
            "1s",
        ],
    );
    assert_eq!(r.code, 5, "{}", r.stderr);
    assert!(r.stderr.contains("deadline of 1s"), "{}", r.stderr);
    // A long Retry-After is said, with the cap.
    let r = fw_download(
        dir.path(),
        &[
            &tb.url("/hostile/retry-after?value=999999"),
            "-o",
            "r.bin",
            "--retries",
            "1",
            "--max-retry-wait",
            "100ms",
        ],
    );
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(
        r.stderr.contains("the server asked for 999999s"),
        "{}",
        r.stderr
    );
    // An unknown coding is refused; a stacked one is decoded.
    let r = fw_download(
        dir.path(),
        &[&tb.url("/hostile/encoded?coding=br"), "-o", "b.bin"],
    );
    assert_eq!(r.code, 3, "{}", r.stderr);
    let r = fw_download(
        dir.path(),
        &[
            &tb.url("/hostile/encoded?size=3000&coding=GZIP%2C%20deflate"),
            "-o",
            "g.bin",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        std::fs::metadata(dir.path().join("g.bin")).unwrap().len(),
        3000
    );
    // --no-restart keeps a part the server cannot continue.
    let url = tb.url("/hostile/resume/etag-change?size=10000&seed=1");
    std::fs::write(dir.path().join("p.bin.part"), vec![1u8; 100]).unwrap();
    let sidecar = serde_json::json!({"url": url, "etag": "\"v1-1-10000\"", "last_modified": null, "total": 10000});
    std::fs::write(dir.path().join("p.bin.part.json"), sidecar.to_string()).unwrap();
    let r = fw_download(dir.path(), &[&url, "-o", "p.bin", "-c", "--no-restart"]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains("not starting over"), "{}", r.stderr);
    assert!(dir.path().join("p.bin.part").exists());
    let r = fw_download(dir.path(), &[&url, "-o", "p.bin", "-c"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        std::fs::metadata(dir.path().join("p.bin")).unwrap().len(),
        10_000
    );
    // Credentials do not follow a redirect to another port unless trusted.
    let other = Testbed::start().unwrap();
    let to = other
        .url("/hostile/headers")
        .replace(':', "%3A")
        .replace('/', "%2F");
    let url = tb.url(&format!("/hostile/redirect?to={to}"));
    let r = fw_download(
        dir.path(),
        &[&url, "-o", "h1.json", "-H", "Authorization: Bearer s3cret"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        !std::fs::read_to_string(dir.path().join("h1.json"))
            .unwrap()
            .contains("s3cret")
    );
    let r = fw_download(
        dir.path(),
        &[
            &url,
            "-o",
            "h2.json",
            "-H",
            "Authorization: Bearer s3cret",
            "--location-trusted",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        std::fs::read_to_string(dir.path().join("h2.json"))
            .unwrap()
            .contains("s3cret")
    );
}
