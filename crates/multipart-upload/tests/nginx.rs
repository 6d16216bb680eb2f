//! Interop with nginx: a real server that answers before reading a body it refuses.

use multipart_upload::{Form, UploadError, Uploader};
use retry::FailureKind;
use testbed::peers::Nginx;

#[test]
fn nginx_refusing_a_large_body_early_is_a_413_status_not_a_network_error() {
    let dir = tempfile::tempdir().unwrap();
    let Some(nginx) = Nginx::start(
        &dir.path().join("nginx"),
        "",
        "location = /upload { client_max_body_size 1k; return 200 \"ok\\n\"; }",
    ) else {
        return;
    };
    let path = dir.path().join("big.bin");
    std::fs::write(&path, vec![0x5au8; 4 * 1024 * 1024]).unwrap();
    let form = Form::new().file("f", &path).unwrap();
    let err = Uploader::new()
        .send(&nginx.url("/upload"), form)
        .unwrap_err();
    assert!(
        matches!(err, UploadError::Status { status: 413, .. }),
        "{err:?}"
    );
    assert_eq!(err.kind(), FailureKind::Rejected);
}

#[test]
fn nginx_accepts_a_body_within_its_limit() {
    let dir = tempfile::tempdir().unwrap();
    let Some(nginx) = Nginx::start(
        &dir.path().join("nginx"),
        "",
        "location = /upload { client_max_body_size 1m; return 200 \"ok\\n\"; }",
    ) else {
        return;
    };
    let form = Form::new().text("a", "b").text("c", "d");
    let response = Uploader::new().send(&nginx.url("/upload"), form).unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(response.text(), "ok\n");
}
