//! Raw-body PUT against real servers: nginx's WebDAV PUT stores the body as a file; httpbin
//! echoes the headers it received.

use multipart_upload::{FileBody, UploadError, Uploader};
use retry::FailureKind;
use std::path::Path;
use testbed::peers::{Httpbin, Nginx};

/// `len` bytes that are neither zeros nor periodic, so a misplaced byte shows.
fn write_noise(path: &Path, len: usize) {
    let mut state = 0x2545_F491_4F6C_DD1Du64 ^ len as u64;
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
fn nginx_webdav_stores_exactly_the_file_put() {
    let dir = tempfile::tempdir().unwrap();
    let Some(nginx) = Nginx::start_webdav(&dir.path().join("nginx")) else {
        return;
    };
    let path = dir.path().join("video.bin");
    write_noise(&path, 9 * 1024 * 1024 + 17);
    let response = Uploader::new()
        .put(&nginx.url("/dav/video.bin"), FileBody::open(&path).unwrap())
        .unwrap();
    assert_eq!(response.status, 201, "a new file is created");
    let stored = nginx.dav_root().join("dav/video.bin");
    assert!(std::fs::read(&stored).unwrap() == std::fs::read(&path).unwrap());

    // The same PUT again replaces it.
    let again = Uploader::new()
        .put(&nginx.url("/dav/video.bin"), FileBody::open(&path).unwrap())
        .unwrap();
    assert_eq!(again.status, 204);
}

#[test]
fn an_empty_file_is_put_with_content_length_zero() {
    let dir = tempfile::tempdir().unwrap();
    let Some(nginx) = Nginx::start_webdav(&dir.path().join("nginx")) else {
        return;
    };
    let path = dir.path().join("empty.txt");
    std::fs::write(&path, b"").unwrap();
    let response = Uploader::new()
        .put(&nginx.url("/dav/empty.txt"), FileBody::open(&path).unwrap())
        .unwrap();
    assert_eq!(response.status, 201);
    assert_eq!(
        std::fs::metadata(nginx.dav_root().join("dav/empty.txt"))
            .unwrap()
            .len(),
        0
    );
}

#[test]
fn httpbin_sees_the_sniffed_type_the_extra_headers_and_the_body() {
    let Some(httpbin) = Httpbin::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("note.txt");
    std::fs::write(&path, "TOTAL 12.50\n").unwrap();
    let response = Uploader::new()
        .header("x-amz-meta-owner", "ada")
        .put(&httpbin.url("/put"), FileBody::open(&path).unwrap())
        .unwrap();
    let echo: serde_json::Value = response.json().unwrap();
    assert_eq!(echo["headers"]["Content-Type"], "text/plain");
    assert_eq!(echo["headers"]["Content-Length"], "12");
    assert_eq!(echo["headers"]["X-Amz-Meta-Owner"], "ada");
    assert_eq!(echo["data"], "TOTAL 12.50\n");

    // A declared type replaces the sniffed one; a Content-Type header (as a presigned URL may
    // have signed) replaces both.
    let body = FileBody::open(&path)
        .unwrap()
        .content_type("application/x-receipt");
    let echo: serde_json::Value = Uploader::new()
        .put(&httpbin.url("/put"), body)
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(echo["headers"]["Content-Type"], "application/x-receipt");
    let body = FileBody::open(&path)
        .unwrap()
        .content_type("application/x-receipt");
    let echo: serde_json::Value = Uploader::new()
        .header("Content-Type", "image/png")
        .put(&httpbin.url("/put"), body)
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(echo["headers"]["Content-Type"], "image/png");
}

#[test]
fn a_refused_file_is_not_put_and_nothing_connects() {
    let tb = testbed::Testbed::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("photo.jpg");
    std::fs::write(&path, "<html>not a photo</html>").unwrap();
    let err = Uploader::new()
        .policy(binary_io::FilePolicy::avatar())
        .put(&tb.url("/upload"), FileBody::open(&path).unwrap())
        .unwrap_err();
    assert!(err.is_refusal(), "{err:?}");
    assert_eq!(err.kind(), FailureKind::Refused);
    assert_eq!(tb.stats().connections, 0);
}

#[test]
fn a_server_refusal_is_a_status_error() {
    let tb = testbed::Testbed::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.txt");
    std::fs::write(&path, "hello\n").unwrap();
    // The testbed knows /upload for POST only: a PUT there is 405.
    let err = Uploader::new()
        .put(&tb.url("/upload"), FileBody::open(&path).unwrap())
        .unwrap_err();
    assert!(
        matches!(err, UploadError::Status { status: 405, .. }),
        "{err:?}"
    );
    assert_eq!(err.kind(), FailureKind::Rejected);
}

#[test]
fn progress_reaches_the_files_size_and_finishes_once() {
    let dir = tempfile::tempdir().unwrap();
    let Some(nginx) = Nginx::start_webdav(&dir.path().join("nginx")) else {
        return;
    };
    let path = dir.path().join("a.bin");
    write_noise(&path, 1024 * 1024 + 3);
    struct Seen(std::sync::Arc<std::sync::Mutex<(u64, u32)>>);
    impl chunk_stream::ProgressObserver for Seen {
        fn on_progress(&mut self, p: &chunk_stream::Progress) {
            assert_eq!(p.total, Some(1024 * 1024 + 3));
            self.0.lock().unwrap().0 = p.bytes;
        }
        fn on_finish(&mut self, _: &chunk_stream::Progress) {
            self.0.lock().unwrap().1 += 1;
        }
    }
    let seen = std::sync::Arc::new(std::sync::Mutex::new((0, 0)));
    Uploader::new()
        .put_with_progress(
            &nginx.url("/dav/a.bin"),
            FileBody::open(&path).unwrap(),
            Seen(seen.clone()),
        )
        .unwrap();
    assert_eq!(*seen.lock().unwrap(), (1024 * 1024 + 3, 1));
}
