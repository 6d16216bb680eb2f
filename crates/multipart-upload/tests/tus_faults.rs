//! tus answers that the official server gives only in rare moments, provoked on demand by a
//! small tus server of this file's own (raw `std::net`, 127.0.0.1, port 0): an offset mismatch
//! (409), an upload that expires partway (410), a checksum failure (460) and a server that does
//! not speak tus 1.0.0 (412).

use multipart_upload::{FileBody, Tus, UploadError, Uploader};
use retry::FailureKind;
use retry::RetryPolicy;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A fault: answer `status` to the `nth` request (1-based) with this method.
#[derive(Clone, Copy)]
struct Fault {
    method: &'static str,
    nth: usize,
    status: u16,
}

#[derive(Default)]
struct State {
    uploads: Vec<Vec<u8>>,
    lengths: Vec<u64>,
    log: Vec<String>,
    counts: HashMap<String, usize>,
}

struct FakeTus {
    port: u16,
    state: Arc<Mutex<State>>,
}

impl FakeTus {
    fn start(faults: Vec<Fault>) -> FakeTus {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(State::default()));
        let shared = Arc::clone(&state);
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { return };
                let state = Arc::clone(&shared);
                let faults = faults.clone();
                std::thread::spawn(move || serve(conn, &state, &faults));
            }
        });
        FakeTus { port, state }
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}/files/", self.port)
    }

    fn log(&self) -> Vec<String> {
        self.state.lock().unwrap().log.clone()
    }

    fn upload(&self, i: usize) -> Vec<u8> {
        self.state.lock().unwrap().uploads[i].clone()
    }
}

/// Answers requests on one connection until the client closes it.
fn serve(conn: TcpStream, state: &Mutex<State>, faults: &[Fault]) {
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut out = conn;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or("").to_string();
        let path = parts.next().unwrap_or("").to_string();
        let mut headers = HashMap::new();
        loop {
            let mut h = String::new();
            reader.read_line(&mut h).unwrap();
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((name, value)) = h.split_once(':') {
                headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_string());
            }
        }
        let length: usize = headers
            .get("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0u8; length];
        reader.read_exact(&mut body).unwrap();
        let answer = respond(state, faults, &method, &path, &headers, body);
        out.write_all(answer.as_bytes()).unwrap();
    }
}

fn respond(
    state: &Mutex<State>,
    faults: &[Fault],
    method: &str,
    path: &str,
    headers: &HashMap<String, String>,
    body: Vec<u8>,
) -> String {
    let mut s = state.lock().unwrap();
    let n = {
        let count = s.counts.entry(method.to_string()).or_default();
        *count += 1;
        *count
    };
    s.log.push(format!("{method} {path}"));
    let reply = |status: u16, extra: String| {
        format!("HTTP/1.1 {status} X\r\nTus-Resumable: 1.0.0\r\n{extra}Content-Length: 0\r\n\r\n")
    };
    if let Some(f) = faults.iter().find(|f| f.method == method && f.nth == n) {
        let extra = if f.status == 412 {
            "Tus-Version: 2.0.0\r\n".to_string()
        } else {
            String::new()
        };
        s.log.push(format!("-> {}", f.status));
        return reply(f.status, extra);
    }
    let id = |path: &str| {
        path.rsplit('/')
            .next()
            .and_then(|i| i.parse::<usize>().ok())
    };
    match method {
        "OPTIONS" => reply(
            204,
            "Tus-Version: 1.0.0\r\nTus-Extension: creation\r\n".into(),
        ),
        "POST" => {
            let length = headers["upload-length"].parse().unwrap();
            s.uploads.push(Vec::new());
            s.lengths.push(length);
            reply(201, format!("Location: /files/{}\r\n", s.uploads.len() - 1))
        }
        "HEAD" => match id(path) {
            Some(i) if i < s.uploads.len() => reply(
                200,
                format!(
                    "Upload-Offset: {}\r\nUpload-Length: {}\r\n",
                    s.uploads[i].len(),
                    s.lengths[i]
                ),
            ),
            _ => reply(404, String::new()),
        },
        "PATCH" => match id(path) {
            Some(i) if i < s.uploads.len() => {
                let offset: usize = headers["upload-offset"].parse().unwrap();
                if offset != s.uploads[i].len() {
                    return reply(409, String::new());
                }
                s.uploads[i].extend_from_slice(&body);
                reply(204, format!("Upload-Offset: {}\r\n", s.uploads[i].len()))
            }
            _ => reply(404, String::new()),
        },
        _ => reply(405, String::new()),
    }
}

fn file(dir: &tempfile::TempDir, len: usize) -> std::path::PathBuf {
    let path = dir.path().join("data.bin");
    let bytes: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&path, bytes).unwrap();
    path
}

fn tus(dir: &tempfile::TempDir) -> Tus {
    Tus::new(Uploader::new())
        .chunk_size(1000)
        .state_dir(dir.path().join("state"))
        .retry(RetryPolicy::new().base_delay(Duration::from_millis(1)))
}

#[test]
fn an_offset_mismatch_asks_the_server_and_continues_from_its_offset() {
    // The second PATCH is refused with 409 (its body read and dropped).
    let server = FakeTus::start(vec![Fault {
        method: "PATCH",
        nth: 2,
        status: 409,
    }]);
    let dir = tempfile::tempdir().unwrap();
    let path = file(&dir, 3500);
    let done = tus(&dir)
        .upload(&server.endpoint(), FileBody::open(&path).unwrap())
        .unwrap();
    assert_eq!(server.upload(0), std::fs::read(&path).unwrap());
    assert_eq!(done.retries, 1);
    assert_eq!(done.sent, 4500, "the refused chunk went twice");
    let log = server.log();
    let conflict = log.iter().position(|l| l == "-> 409").unwrap();
    assert_eq!(log[conflict + 1], "HEAD /files/0", "{log:?}");
}

#[test]
fn an_upload_expired_partway_starts_over_as_a_new_upload() {
    let server = FakeTus::start(vec![Fault {
        method: "PATCH",
        nth: 2,
        status: 410,
    }]);
    let dir = tempfile::tempdir().unwrap();
    let path = file(&dir, 2500);
    let done = tus(&dir)
        .upload(&server.endpoint(), FileBody::open(&path).unwrap())
        .unwrap();
    assert_eq!(done.created, 2, "{done:?}");
    assert!(done.upload_url.ends_with("/files/1"), "{done:?}");
    assert_eq!(server.upload(1), std::fs::read(&path).unwrap());
}

#[test]
fn a_checksum_failure_is_sent_again() {
    let server = FakeTus::start(vec![Fault {
        method: "PATCH",
        nth: 1,
        status: 460,
    }]);
    let dir = tempfile::tempdir().unwrap();
    let path = file(&dir, 1500);
    let done = tus(&dir)
        .upload(&server.endpoint(), FileBody::open(&path).unwrap())
        .unwrap();
    assert_eq!(done.retries, 1);
    assert_eq!(server.upload(0), std::fs::read(&path).unwrap());
}

#[test]
fn a_server_that_does_not_speak_tus_1_0_0_is_a_clear_error() {
    let server = FakeTus::start(vec![Fault {
        method: "POST",
        nth: 1,
        status: 412,
    }]);
    let dir = tempfile::tempdir().unwrap();
    let path = file(&dir, 10);
    let err = tus(&dir)
        .upload(&server.endpoint(), FileBody::open(&path).unwrap())
        .unwrap_err();
    assert!(matches!(err, UploadError::Unsupported { .. }), "{err:?}");
    assert!(err.to_string().contains("tus 1.0.0"), "{err}");
    assert_eq!(err.kind(), FailureKind::Rejected);
    assert!(!server.log().iter().any(|l| l.starts_with("PATCH")));
}

#[test]
fn a_patch_the_server_keeps_refusing_gives_up_after_the_policys_tries() {
    let faults = (1..=3)
        .map(|nth| Fault {
            method: "PATCH",
            nth,
            status: 503,
        })
        .collect();
    let server = FakeTus::start(faults);
    let dir = tempfile::tempdir().unwrap();
    let path = file(&dir, 1500);
    let err = tus(&dir)
        .retry(
            RetryPolicy::new()
                .max_tries(3)
                .base_delay(Duration::from_millis(1)),
        )
        .upload(&server.endpoint(), FileBody::open(&path).unwrap())
        .unwrap_err();
    assert_eq!(err.status(), Some(503));
    // The upload is remembered for the next run.
    let remembered = std::fs::read_dir(dir.path().join("state/tus"))
        .unwrap()
        .count();
    assert_eq!(remembered, 1);
}
