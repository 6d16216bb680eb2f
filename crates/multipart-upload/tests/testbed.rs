//! Uploads to the project's loopback testbed (its own multipart parser echoes what it received).

use binary_io::FilePolicy;
use multipart_upload::{FilePart, Form, UploadError, Uploader};
use retry::FailureKind;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use testbed::Testbed;

fn sha256(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(rel)
}

/// Binary content with CR/LF, bare CR, NUL, high bytes and runs that look like delimiters.
fn tricky_bytes() -> Vec<u8> {
    let mut v = Vec::new();
    for i in 0..2000u32 {
        v.extend_from_slice(b"\r\n--");
        v.extend_from_slice(b"--filewire-");
        v.extend_from_slice(&i.to_le_bytes());
        v.extend_from_slice(b"\r\r\n\n\0\xff\xfe--\r\n\r\n");
    }
    v.extend_from_slice(b"\r\n--filewire--\r\n");
    v
}

fn echo(response: &multipart_upload::Response) -> Value {
    response.json().expect("testbed answers json")
}

#[test]
fn fields_and_binary_file_arrive_exactly_with_content_length_not_chunked() {
    let tb = Testbed::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tricky.bin");
    let content = tricky_bytes();
    std::fs::write(&path, &content).unwrap();

    let form = Form::new()
        .text("title", "line one\r\nline two")
        .text("empty", "")
        .file("document", &path)
        .unwrap();
    let announced = form.content_length();
    let response = Uploader::new().send(&tb.url("/upload"), form).unwrap();
    assert_eq!(response.status, 200);
    let echo = echo(&response);

    assert_eq!(echo["chunked"], false);
    assert_eq!(echo["content_length"], announced);
    assert_eq!(echo["fields"]["title"], "line one\r\nline two");
    assert_eq!(echo["fields"]["empty"], "");
    let file = &echo["files"][0];
    assert_eq!(file["field"], "document");
    assert_eq!(file["filename"], "tricky.bin");
    assert_eq!(file["content_type"], "application/octet-stream");
    assert_eq!(file["size"], content.len() as u64);
    assert_eq!(file["sha256"], sha256(&content));
}

#[test]
fn several_files_keep_order_names_and_declared_types() {
    let tb = Testbed::start().unwrap();
    let png = fixture("images/receipt.png");
    let jpg = fixture("images/avatar.jpg");
    let form = Form::new()
        .file("a", &png)
        .unwrap()
        .part(
            FilePart::from_path("b", &jpg)
                .unwrap()
                .filename("me.jpeg")
                .content_type("image/x-custom"),
        )
        .part(FilePart::from_bytes("c", "notes.txt", b"hello\n".to_vec()));
    let response = Uploader::new().send(&tb.url("/upload"), form).unwrap();
    let files = echo(&response)["files"].clone();
    let got: Vec<(String, String, String, String)> = files
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let s = |k: &str| f[k].as_str().unwrap_or_default().to_string();
            (s("field"), s("filename"), s("content_type"), s("sha256"))
        })
        .collect();
    let want = vec![
        (
            "a".into(),
            "receipt.png".into(),
            "image/png".into(),
            sha256(&std::fs::read(&png).unwrap()),
        ),
        (
            "b".into(),
            "me.jpeg".into(),
            "image/x-custom".into(),
            sha256(&std::fs::read(&jpg).unwrap()),
        ),
        (
            "c".into(),
            "notes.txt".into(),
            "text/plain".into(),
            sha256(b"hello\n"),
        ),
    ];
    assert_eq!(got, want);
}

#[test]
fn quotes_and_line_breaks_in_names_are_percent_escaped_and_utf8_kept() {
    let tb = Testbed::start().unwrap();
    let form = Form::new()
        .text("say \"hi\"\r\n", "x")
        .part(FilePart::from_bytes(
            "file",
            "reçu \"final\"\n€.txt",
            b"data".to_vec(),
        ));
    let response = Uploader::new().send(&tb.url("/upload"), form).unwrap();
    let echo = echo(&response);
    // The testbed does not undo the WHATWG escaping, so it shows exactly what went on the wire.
    assert_eq!(echo["field_list"][0][0], "say %22hi%22%0D%0A");
    assert_eq!(echo["files"][0]["filename"], "reçu %22final%22%0A€.txt");
}

#[test]
fn a_file_containing_the_boundary_is_resent_with_a_new_one() {
    let tb = Testbed::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("trap.bin");
    let form = Form::new();
    let first = form.boundary().to_string();
    let content = format!("before\r\n--{first}\r\nafter\r\n--{first}--\r\n").repeat(50);
    std::fs::write(&path, &content).unwrap();
    let form = form.file("f", &path).unwrap();
    let response = Uploader::new().send(&tb.url("/upload"), form).unwrap();
    let echo = echo(&response);
    assert_eq!(echo["files"][0]["sha256"], sha256(content.as_bytes()));
    assert_eq!(
        tb.stats().uploads.len(),
        1,
        "only the clean body was accepted"
    );
}

#[test]
fn a_large_file_streams_with_its_exact_length() {
    let tb = Testbed::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.bin");
    let mut rng = fastrand::Rng::with_seed(7);
    let content: Vec<u8> = std::iter::repeat_with(|| rng.u8(..))
        .take(6 * 1024 * 1024 + 13)
        .collect();
    std::fs::write(&path, &content).unwrap();
    let form = Form::new().file("f", &path).unwrap();
    let announced = form.content_length();
    let response = Uploader::new().send(&tb.url("/upload"), form).unwrap();
    let echo = echo(&response);
    assert_eq!(echo["content_length"], announced);
    assert_eq!(echo["files"][0]["size"], content.len() as u64);
    assert_eq!(echo["files"][0]["sha256"], sha256(&content));
}

#[test]
fn one_uploader_reuses_its_connection() {
    let tb = Testbed::start().unwrap();
    let uploader = Uploader::new();
    for i in 0..3 {
        let form = Form::new().part(FilePart::from_bytes(
            "f",
            format!("{i}.txt"),
            vec![b'x'; 10],
        ));
        uploader.send(&tb.url("/ratelimit/upload"), form).unwrap();
    }
    let stats = tb.stats();
    assert_eq!(stats.requests, 3);
    assert_eq!(
        stats.connections, 1,
        "keep-alive: one connection for three uploads"
    );
    assert_eq!(stats.uploads.len(), 3);
}

#[test]
fn progress_reports_every_byte_of_the_body() {
    let tb = Testbed::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.bin");
    std::fs::write(&path, vec![42u8; 300_000]).unwrap();
    let form = Form::new().file("f", &path).unwrap();
    let total = form.content_length();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    Uploader::new()
        .send_with_progress(
            &tb.url("/upload"),
            form,
            move |p: &chunk_stream::Progress| {
                sink.lock().unwrap().push((p.bytes, p.total));
            },
        )
        .unwrap();
    let seen = seen.lock().unwrap();
    assert!(seen.len() > 1, "several progress reports");
    assert!(seen.windows(2).all(|w| w[0].0 <= w[1].0), "monotonic");
    assert_eq!(*seen.last().unwrap(), (total, Some(total)));
}

fn refused_without_connecting(policy: FilePolicy, path: &Path) -> UploadError {
    let tb = Testbed::start().unwrap();
    let form = Form::new()
        .text("user", "ada")
        .file("avatar", path)
        .unwrap();
    let err = Uploader::new()
        .policy(policy)
        .send(&tb.url("/upload"), form)
        .unwrap_err();
    let stats = tb.stats();
    assert_eq!(stats.connections, 0, "a refused upload must not connect");
    assert!(stats.uploads.is_empty());
    assert!(err.is_refusal(), "{err:?}");
    assert_eq!(err.kind(), FailureKind::Refused);
    err
}

#[test]
fn avatar_policy_refuses_html_named_jpg_before_connecting() {
    let err = refused_without_connecting(FilePolicy::avatar(), &fixture("disguised/photo.jpg"));
    assert!(matches!(
        err,
        UploadError::Refused(binary_io::Error::KindNotAllowed {
            actual: binary_io::Kind::Html,
            ..
        })
    ));
}

#[test]
fn avatar_policy_refuses_elf_named_png_before_connecting() {
    let err = refused_without_connecting(FilePolicy::avatar(), &fixture("disguised/avatar.png"));
    assert!(matches!(
        err,
        UploadError::Refused(binary_io::Error::KindNotAllowed {
            actual: binary_io::Kind::Elf,
            ..
        })
    ));
}

#[test]
fn avatar_policy_refuses_png_named_jpg_before_connecting() {
    let err =
        refused_without_connecting(FilePolicy::avatar(), &fixture("disguised/really-png.jpg"));
    assert!(matches!(
        err,
        UploadError::Refused(binary_io::Error::ExtensionMismatch { .. })
    ));
}

#[test]
fn size_limit_refuses_a_larger_file_before_connecting() {
    let err = refused_without_connecting(
        FilePolicy::new().max_size(1000),
        &fixture("images/receipt.png"),
    );
    assert!(matches!(
        err,
        UploadError::Refused(binary_io::Error::TooLarge { max: 1000, .. })
    ));
}

#[test]
fn empty_file_is_refused_before_connecting() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.jpg");
    std::fs::write(&path, b"").unwrap();
    let err = refused_without_connecting(FilePolicy::new(), &path);
    assert!(matches!(
        err,
        UploadError::Refused(binary_io::Error::Empty { .. } | binary_io::Error::TooSmall { .. })
    ));
}

#[test]
fn in_memory_part_is_judged_by_its_bytes_not_its_declared_type() {
    let tb = Testbed::start().unwrap();
    let html = std::fs::read(fixture("disguised/photo.jpg")).unwrap();
    let form = Form::new()
        .part(FilePart::from_bytes("avatar", "photo.jpg", html).content_type("image/jpeg"));
    let err = Uploader::new()
        .policy(FilePolicy::avatar())
        .send(&tb.url("/upload"), form)
        .unwrap_err();
    assert!(err.is_refusal(), "{err:?}");
    assert_eq!(tb.stats().connections, 0);
}

#[test]
fn avatar_policy_accepts_a_real_jpeg() {
    let tb = Testbed::start().unwrap();
    let path = fixture("images/avatar.jpg");
    let form = Form::new().file("avatar", &path).unwrap();
    let response = Uploader::new()
        .policy(FilePolicy::avatar())
        .send(&tb.url("/upload"), form)
        .unwrap();
    let echo = echo(&response);
    assert_eq!(echo["files"][0]["content_type"], "image/jpeg");
    assert_eq!(
        echo["files"][0]["sha256"],
        sha256(&std::fs::read(&path).unwrap())
    );
}

#[test]
fn a_missing_file_fails_when_added_to_the_form() {
    let err = Form::new().file("f", "/nonexistent/nope.jpg").unwrap_err();
    assert!(matches!(
        err,
        UploadError::Refused(binary_io::Error::NotFound { .. })
    ));
}

#[test]
fn a_file_changed_after_adding_is_not_sent_with_a_wrong_length() {
    let tb = Testbed::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("changing.bin");
    std::fs::write(&path, vec![1u8; 200_000]).unwrap();
    let form = Form::new().file("f", &path).unwrap();
    std::fs::write(&path, vec![1u8; 1000]).unwrap();
    let err = Uploader::new().send(&tb.url("/upload"), form).unwrap_err();
    assert!(
        matches!(
            err,
            UploadError::FileChanged {
                expected: 200_000,
                actual: 1000,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.kind(), FailureKind::Integrity);
    assert!(tb.stats().uploads.is_empty());
}

#[test]
fn a_4xx_answer_is_a_status_error_carrying_the_body() {
    let tb = Testbed::start().unwrap();
    let form = Form::new().text("a", "b");
    let err = Uploader::new()
        .send(&tb.url("/no-such-endpoint"), form)
        .unwrap_err();
    match &err {
        UploadError::Status { status, url, .. } => {
            assert_eq!(*status, 404);
            assert!(url.ends_with("/no-such-endpoint"));
        }
        other => panic!("expected a status error, got {other:?}"),
    }
    assert_eq!(err.kind(), FailureKind::Rejected);
}

#[test]
fn a_429_carries_retry_after_and_is_retryable() {
    use retry::Retryable;
    // Room for no request at all: every upload is answered 429 at once.
    let tb = Testbed::builder()
        .rate_limit(0, Duration::from_millis(10))
        .retry_after(testbed::RetryAfterStyle::Seconds(7))
        .start()
        .unwrap();
    let form = Form::new().part(FilePart::from_bytes("f", "a.txt", b"a".to_vec()));
    let err = Uploader::new()
        .send(&tb.url("/ratelimit/upload"), form)
        .unwrap_err();
    assert_eq!(err.status(), Some(429), "{err:?}");
    assert!(err.is_retryable() && err.is_overload());
    assert_eq!(Retryable::retry_after(&err), Some(Duration::from_secs(7)));
    assert_eq!(err.kind(), FailureKind::Rejected);
    assert_eq!(tb.stats().rate_limited, 1);
}

#[test]
fn refused_connection_is_a_network_error() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let err = Uploader::new()
        .send(
            &format!("http://127.0.0.1:{port}/upload"),
            Form::new().text("a", "b"),
        )
        .unwrap_err();
    assert!(matches!(err, UploadError::Network { .. }), "{err:?}");
    assert_eq!(err.kind(), FailureKind::Network);
}

#[test]
fn a_server_that_never_answers_times_out() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/upload", listener.local_addr().unwrap());
    // Accept and read everything, never answer; ends when the client gives up.
    let server = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut sink = [0u8; 4096];
        while matches!(conn.read(&mut sink), Ok(n) if n > 0) {}
    });
    let err = Uploader::new()
        .timeout(Duration::from_millis(300))
        .send(&url, Form::new().text("a", "b"))
        .unwrap_err();
    assert!(matches!(err, UploadError::Timeout { .. }), "{err:?}");
    assert_eq!(err.kind(), FailureKind::Network);
    server.join().unwrap();
}

#[test]
fn an_unusable_url_is_an_invalid_request() {
    let err = Uploader::new()
        .send("not a url", Form::new().text("a", "b"))
        .unwrap_err();
    assert_eq!(err.kind(), FailureKind::Invalid, "{err:?}");
}
