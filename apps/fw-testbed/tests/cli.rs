//! fw-testbed as the benches and the demo use it: spawn, read the first line, talk HTTP.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_fw-testbed");

#[test]
fn prints_its_address_then_serves_files_and_rate_limited_uploads() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hello.txt"), b"hello from disk\n").unwrap();
    let mut child = Command::new(BIN)
        .arg("--files")
        .arg(dir.path())
        .args(["--rate-limit", "0", "--retry-after", "7"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let result = std::panic::catch_unwind(|| {
        let base = line.trim().strip_prefix("listening on http://").unwrap();
        let ask = |req: &str| {
            let mut conn = TcpStream::connect(base).unwrap();
            conn.write_all(req.as_bytes()).unwrap();
            let mut answer = String::new();
            conn.read_to_string(&mut answer).unwrap();
            answer
        };
        let file = ask("GET /files/hello.txt HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
        assert!(file.starts_with("HTTP/1.1 200 OK\r\n"), "{file}");
        assert!(file.ends_with("\r\n\r\nhello from disk\n"));
        let limited = ask(
            "POST /ratelimit/upload HTTP/1.1\r\nHost: t\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 6\r\nConnection: close\r\n\r\n--b--\r\n",
        );
        assert!(limited.starts_with("HTTP/1.1 429 "), "{limited}");
        assert!(limited.contains("\r\nRetry-After: 7\r\n"));
    });
    let _ = child.kill();
    let _ = child.wait();
    result.unwrap();
}

#[test]
fn bad_usage_exits_2_and_help_exits_0() {
    let bad = Command::new(BIN).arg("--no-such-flag").output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--no-such-flag"));
    let help = Command::new(BIN).arg("--help").output().unwrap();
    assert_eq!(help.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&help.stdout).contains("--rate-limit"));
    let missing = Command::new(BIN)
        .args(["--files", "/definitely/not/here"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(1));
}
