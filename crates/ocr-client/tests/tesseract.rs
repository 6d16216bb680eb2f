//! The Tesseract backend against the real `tesseract` program.

use std::path::{Path, PathBuf};

use ocr_client::{OcrEngine, OcrError, Tesseract};
use testbed::peers::{missing, shared_data};

fn tesseract_installed() -> Option<()> {
    let found = std::process::Command::new("tesseract")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if found {
        Some(())
    } else {
        missing("the tesseract program", "apt-get install tesseract-ocr")
    }
}

fn receipt_scan(id: &str) -> Option<PathBuf> {
    Some(
        shared_data()?
            .join("sroie")
            .join("images")
            .join(format!("{id}.jpg")),
    )
}

#[test]
fn missing_program_is_a_clear_not_found_error() {
    let dir = tempfile::tempdir().unwrap();
    let image = dir.path().join("receipt.png");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/images/receipt.png"),
        &image,
    )
    .unwrap();
    let program = dir.path().join("no-such-tesseract");
    let err = Tesseract::new()
        .program(&program)
        .recognize(&image)
        .unwrap_err();
    match &err {
        OcrError::TesseractNotFound { program: p } => assert_eq!(p, &program),
        other => panic!("expected TesseractNotFound, got {other:?}"),
    }
    let message = err.to_string();
    assert!(message.contains("no-such-tesseract"), "{message}");
    assert!(message.contains("tesseract-ocr"), "{message}");
}

#[test]
fn missing_language_data_is_named() {
    let Some(()) = tesseract_installed() else {
        return;
    };
    let Some(image) = receipt_scan("X00016469612") else {
        return;
    };
    let err = Tesseract::new()
        .language("xqz")
        .recognize(&image)
        .unwrap_err();
    match &err {
        OcrError::LanguageDataMissing { language } => assert_eq!(language, "xqz"),
        other => panic!("expected LanguageDataMissing, got {other:?}"),
    }
}

#[test]
fn missing_image_is_reported_before_running_tesseract() {
    let err = Tesseract::new()
        .program("/nonexistent/tesseract")
        .recognize(Path::new("/nonexistent/receipt.jpg"))
        .unwrap_err();
    assert!(matches!(err, OcrError::ImageNotFound { .. }), "{err:?}");
}

#[test]
fn a_corrupt_image_fails_with_tesseracts_message() {
    let Some(()) = tesseract_installed() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let image = dir.path().join("receipt.jpg");
    // JPEG by its first bytes (so it gets past the kind check), garbage after them.
    std::fs::write(
        &image,
        b"\xff\xd8\xff\xe0\x00\x10JFIF\x00 then nothing a decoder can use",
    )
    .unwrap();
    let err = Tesseract::new().recognize(&image).unwrap_err();
    match &err {
        OcrError::TesseractFailed { path, stderr, .. } => {
            assert_eq!(path, &image);
            assert!(!stderr.is_empty());
        }
        other => panic!("expected TesseractFailed, got {other:?}"),
    }
}

#[test]
fn real_receipt_scan_gives_the_total_line_with_a_box() {
    let Some(()) = tesseract_installed() else {
        return;
    };
    let Some(image) = receipt_scan("X00016469612") else {
        return;
    };
    let text = Tesseract::new().recognize(&image).unwrap();
    let total = text
        .lines
        .iter()
        .find(|l| l.text.starts_with("Total") && l.text.contains("9.00"))
        .unwrap_or_else(|| panic!("no total line in:\n{}", text.text));
    let bbox = total.bbox.expect("tesseract lines carry boxes");
    assert!(bbox.width > 0 && bbox.height > 0);
    assert!(text.text.contains(&total.text));
    assert!(text.lines.len() > 10, "{}", text.text);
}

#[test]
fn a_hung_tesseract_is_killed_at_the_timeout() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let image = dir.path().join("receipt.png");
    std::fs::write(&image, b"\x89PNG\r\n\x1a\n").unwrap();
    let program = dir.path().join("hung-tesseract");
    std::fs::write(&program, "#!/bin/sh\nexec sleep 30\n").unwrap();
    std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
    let started = std::time::Instant::now();
    let err = Tesseract::new()
        .program(&program)
        .timeout(Some(std::time::Duration::from_millis(300)))
        .recognize(&image)
        .unwrap_err();
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    match &err {
        OcrError::TesseractTimedOut { path, timeout } => {
            assert_eq!(path, &image);
            assert_eq!(*timeout, std::time::Duration::from_millis(300));
        }
        other => panic!("expected TesseractTimedOut, got {other:?}"),
    }
    assert_eq!(err.kind(), retry::FailureKind::Network);
}

#[test]
fn a_text_file_or_a_fifo_is_refused_before_tesseract_runs() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("receipt.jpg");
    std::fs::write(&text, "TOTAL 9.00\n").unwrap();
    // A program that would fail loudly if it were run at all.
    let program = dir.path().join("no-such-tesseract");
    let err = Tesseract::new()
        .program(&program)
        .recognize(&text)
        .unwrap_err();
    assert!(matches!(err, OcrError::NotAnImage { .. }), "{err:?}");
    assert_eq!(err.kind(), retry::FailureKind::Refused);
    assert!(err.to_string().contains("not an image"), "{err}");

    let fifo = dir.path().join("fifo.png");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let err = Tesseract::new()
        .program(&program)
        .recognize(&fifo)
        .unwrap_err();
    assert!(matches!(err, OcrError::NotAFile { .. }), "{err:?}");
    assert_eq!(err.kind(), retry::FailureKind::Refused);

    let err = Tesseract::new()
        .program(&program)
        .recognize(&dir.path().join("missing.png"))
        .unwrap_err();
    assert!(matches!(err, OcrError::ImageNotFound { .. }), "{err:?}");
    assert_eq!(err.kind(), retry::FailureKind::Refused);
}
