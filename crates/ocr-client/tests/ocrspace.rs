//! The OCR.space client against the testbed's OCR.space-shaped endpoint, one scenario per
//! recorded envelope in shared/data/ocrspace.

use std::path::PathBuf;
use std::time::Duration;

use ocr_client::{ApiKey, FREE_PLAN_MAX_BYTES, OcrEngine, OcrError, OcrSpace};
use retry::RetryPolicy;
use testbed::Testbed;

const KEY: &str = "K3y-s3cr3t-4-tests";

/// A small PNG-looking file (the testbed does no real OCR, it only needs a `file` part).
fn image(dir: &tempfile::TempDir, size: usize) -> PathBuf {
    let path = dir.path().join("receipt.png");
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    bytes.resize(size, 0x42);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// One answer per request: retries are tested in `ocrspace_resilience.rs`.
fn client(server: &Testbed, scenario: &str) -> OcrSpace {
    OcrSpace::new(ApiKey::new(KEY))
        .retry(RetryPolicy::no_retries())
        .endpoint(server.url(&format!("/parse/image?scenario={scenario}")))
}

fn recognize(server: &Testbed, scenario: &str) -> Result<ocr_client::OcrText, OcrError> {
    let dir = tempfile::tempdir().unwrap();
    let result = client(server, scenario).recognize(&image(&dir, 2000));
    if let Err(e) = &result {
        assert!(!format!("{e} {e:?}").contains(KEY), "key leaked into {e:?}");
    }
    result
}

#[test]
fn success_scenario_gives_the_recorded_text_with_lf_lines() {
    let server = Testbed::start().unwrap();
    let text = recognize(&server, "success").unwrap();
    assert_eq!(text.text, "sweetsmill\napp-donations\napp-registration\n");
    assert_eq!(text.lines.len(), 3);
    assert_eq!(server.stats().ocr_requests, 1);
}

#[test]
fn partial_scenario_is_a_partial_error_carrying_the_good_page() {
    let server = Testbed::start().unwrap();
    match recognize(&server, "partial") {
        Err(OcrError::Partial {
            recognised,
            failures,
        }) => {
            assert_eq!(recognised.text, "This is a sample parsed result");
            assert_eq!(recognised.lines[0].text, "Word 1 Word 2");
            assert!(recognised.lines[0].bbox.is_some());
            assert_eq!(failures.len(), 1);
            assert_eq!(failures[0].exit_code, -10);
        }
        other => panic!("expected a partial result, got {other:?}"),
    }
}

#[test]
fn error_scenario_is_a_processing_error_with_the_servers_messages() {
    let server = Testbed::start().unwrap();
    match recognize(&server, "error") {
        Err(e @ OcrError::Processing { .. }) => {
            let OcrError::Processing {
                exit_code,
                messages,
            } = &e
            else {
                unreachable!()
            };
            assert_eq!(*exit_code, 99);
            assert!(messages[0].contains("Parameter name 'file' is invalid"));
            assert_eq!(e.kind(), retry::FailureKind::Rejected);
        }
        other => panic!("expected a processing error, got {other:?}"),
    }
}

#[test]
fn timeout_scenario_is_a_server_timeout() {
    let server = Testbed::start().unwrap();
    match recognize(&server, "timeout") {
        Err(OcrError::ServerTimeout { messages }) => {
            assert_eq!(messages, ["Timed out waiting for results"])
        }
        other => panic!("expected a server timeout, got {other:?}"),
    }
}

#[test]
fn throttled_scenario_parses_count_and_window_from_the_403_text() {
    let server = Testbed::start().unwrap();
    match recognize(&server, "throttled") {
        Err(OcrError::Throttled {
            max_requests,
            window,
            ..
        }) => {
            assert_eq!(max_requests, 10);
            assert_eq!(window, Duration::from_secs(600));
        }
        other => panic!("expected throttled, got {other:?}"),
    }
}

#[test]
fn going_over_the_servers_limit_is_throttled_with_its_own_numbers() {
    let server = Testbed::builder()
        .ocr_throttle(2, Duration::from_secs(90))
        .start()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let image = image(&dir, 500);
    let ocr = client(&server, "success");
    ocr.recognize(&image).unwrap();
    ocr.recognize(&image).unwrap();
    match ocr.recognize(&image) {
        Err(e @ OcrError::Throttled { .. }) => {
            let OcrError::Throttled {
                max_requests,
                window,
                ..
            } = &e
            else {
                unreachable!()
            };
            assert_eq!((*max_requests, *window), (2, Duration::from_secs(90)));
            assert!(!format!("{e} {e:?}").contains(KEY));
        }
        other => panic!("expected throttled on the third request, got {other:?}"),
    }
    assert_eq!(server.stats().ocr_requests, 3);
}

#[test]
fn invalid_key_is_refused_as_invalid_key() {
    let server = Testbed::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let err = OcrSpace::new(ApiKey::new("invalid"))
        .retry(RetryPolicy::no_retries())
        .endpoint(server.url("/parse/image"))
        .recognize(&image(&dir, 500))
        .unwrap_err();
    assert!(
        matches!(err, OcrError::InvalidKey { status: 403, .. }),
        "{err:?}"
    );
    assert!(matches!(
        recognize(&server, "invalid-key"),
        Err(OcrError::InvalidKey { status: 403, .. })
    ));
}

#[test]
fn file_over_the_plan_limit_is_refused_without_connecting() {
    let server = Testbed::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let big = image(&dir, FREE_PLAN_MAX_BYTES as usize + 1);
    let err = client(&server, "success").recognize(&big).unwrap_err();
    match &err {
        OcrError::FileTooLarge {
            path,
            limit,
            actual,
        } => {
            assert_eq!(path, &big);
            assert_eq!(*limit, 1024 * 1024);
            assert_eq!(*actual, 1024 * 1024 + 1);
        }
        other => panic!("expected FileTooLarge, got {other:?}"),
    }
    assert_eq!(err.kind(), retry::FailureKind::Refused);
    let stats = server.stats();
    assert_eq!(stats.connections, 0);
    assert_eq!(stats.ocr_requests, 0);
}

#[test]
fn file_at_the_limit_is_sent() {
    let server = Testbed::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let edge = image(&dir, FREE_PLAN_MAX_BYTES as usize);
    client(&server, "success").recognize(&edge).unwrap();
    assert_eq!(server.stats().ocr_requests, 1);
}

#[test]
fn key_in_the_endpoint_url_is_scrubbed_from_errors() {
    let server = Testbed::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let err = OcrSpace::new(ApiKey::new(KEY))
        .retry(RetryPolicy::no_retries())
        .endpoint(server.url(&format!("/parse/image?scenario=throttled&note={KEY}")))
        .recognize(&image(&dir, 500))
        .unwrap_err();
    let shown = format!("{err} {err:?}");
    assert!(matches!(err, OcrError::Throttled { .. }), "{shown}");
    assert!(!shown.contains(KEY), "{shown}");
    assert!(shown.contains("note=***"), "{shown}");
}

#[test]
fn closed_port_is_a_network_error() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let dir = tempfile::tempdir().unwrap();
    let err = OcrSpace::new(ApiKey::new(KEY))
        .retry(RetryPolicy::no_retries())
        .endpoint(format!("http://127.0.0.1:{port}/parse/image"))
        .recognize(&image(&dir, 500))
        .unwrap_err();
    assert!(matches!(err, OcrError::Network { .. }), "{err:?}");
    assert_eq!(err.kind(), retry::FailureKind::Network);
}

#[test]
fn slow_server_past_the_timeout_is_a_timeout() {
    let server = Testbed::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let err = OcrSpace::new(ApiKey::new(KEY))
        .retry(RetryPolicy::no_retries())
        .endpoint(server.url("/upload?delay_ms=3000"))
        .timeout(Duration::from_millis(300))
        .recognize(&image(&dir, 500))
        .unwrap_err();
    assert!(matches!(err, OcrError::Timeout { .. }), "{err:?}");
    assert_eq!(err.kind(), retry::FailureKind::Network);
}

#[test]
fn html_disguised_as_an_image_is_refused_without_connecting() {
    let server = Testbed::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("receipt.jpg");
    std::fs::write(
        &fake,
        b"<!DOCTYPE html><html><body>error page</body></html>",
    )
    .unwrap();
    let err = client(&server, "success").recognize(&fake).unwrap_err();
    match &err {
        OcrError::UnsupportedFileType { path, actual } => {
            assert_eq!(path, &fake);
            assert_eq!(actual, "text/html");
        }
        other => panic!("expected UnsupportedFileType, got {other:?}"),
    }
    assert_eq!(err.kind(), retry::FailureKind::Refused);
    assert_eq!(server.stats().connections, 0);
}
