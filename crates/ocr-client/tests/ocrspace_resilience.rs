//! The OCR.space client where real use hurts: a phone photo over the plan's limit, a throttled
//! key, a server that says "try again", and a hostile server echoing the key back escaped. All
//! against the testbed's OCR.space-shaped endpoint.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use ocr_client::{ApiKey, OcrEngine, OcrError, OcrSpace, picture};
use retry::RetryPolicy;
use testbed::Testbed;

/// Holds a `/`, a `"` and a `\`, so that JSON has to escape it.
const KEY: &str = "K3y/s3cr\"3t\\9-Zq";

/// The fixture receipt (400 x 300, "TOTAL 7.75") as a phone would photograph it: upscaled 7.5
/// times, in colour, with sensor-like noise, as a JPEG of over 3 MB.
fn noisy_photo(dir: &Path) -> PathBuf {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/images/receipt.png");
    let small = image::open(fixture).unwrap().into_rgb8();
    let big = image::imageops::resize(&small, 3000, 2250, image::imageops::FilterType::Triangle);
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut noise = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % 49) as i16 - 24
    };
    let noisy = image::RgbImage::from_fn(big.width(), big.height(), |x, y| {
        let p = big.get_pixel(x, y).0;
        image::Rgb(p.map(|v| (i16::from(v) + noise()).clamp(0, 255) as u8))
    });
    let jpeg = picture::encode_jpeg(&noisy, 92).unwrap();
    let path = dir.join("IMG_2041.jpg");
    std::fs::write(&path, &jpeg).unwrap();
    path
}

/// A client for `scenario` that records the notices it would print.
fn ocrspace(server: &Testbed, query: &str) -> (OcrSpace, Arc<Mutex<Vec<String>>>) {
    let notices = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&notices);
    let client = OcrSpace::new(ApiKey::new(KEY))
        .endpoint(server.url(&format!("/parse/image?{query}")))
        .on_notice(Arc::new(move |n| sink.lock().unwrap().push(n.to_string())));
    (client, notices)
}

/// A small real PNG (the fixture receipt).
fn small_png(dir: &Path) -> PathBuf {
    let path = dir.join("receipt.png");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/images/receipt.png"),
        &path,
    )
    .unwrap();
    path
}

#[test]
fn a_photo_over_the_limit_is_shrunk_in_memory_and_sent_under_it() {
    let server = Testbed::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let photo = noisy_photo(dir.path());
    let original = std::fs::read(&photo).unwrap();
    assert!(
        original.len() > 3_600_000,
        "the test photo is {} bytes",
        original.len()
    );
    let (client, notices) = ocrspace(
        &server,
        "scenario=echo-text&text_hint=CORNER%20CAFE%0ATOTAL%207.75",
    );
    // The endpoint answers files over 1024 KB with OCR.space's validation error: a success
    // means what it received was within the limit.
    let text = client.recognize(&photo).unwrap();
    assert_eq!(text.text, "CORNER CAFE\nTOTAL 7.75");
    assert_eq!(server.stats().ocr_requests, 1);
    let notices = notices.lock().unwrap();
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert!(
        notices[0].contains(&format!("{} bytes is over", original.len()))
            && notices[0].contains("re-encoded as a JPEG of")
            && notices[0].contains("the file is unchanged"),
        "{}",
        notices[0]
    );
    // Untouched, and nothing written beside it.
    assert_eq!(std::fs::read(&photo).unwrap(), original);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn the_shrunk_photo_keeps_a_legible_size_and_decodes_as_sent() {
    let dir = tempfile::tempdir().unwrap();
    let photo = noisy_photo(dir.path());
    let limit = 700_000;
    let shrunk = picture::shrink_to_jpeg(&photo, limit).unwrap();
    assert!(shrunk.jpeg.len() as u64 <= limit);
    assert!(
        shrunk.width.max(shrunk.height) >= picture::MIN_LEGIBLE_SIDE,
        "{} x {}",
        shrunk.width,
        shrunk.height
    );
    let decoded = image::load_from_memory(&shrunk.jpeg).unwrap();
    assert_eq!(
        (decoded.width(), decoded.height()),
        (shrunk.width, shrunk.height)
    );
    // The aspect is kept.
    let aspect = f64::from(shrunk.width) / f64::from(shrunk.height);
    assert!((aspect - 3000.0 / 2250.0).abs() < 0.01, "{aspect}");
}

#[test]
fn a_file_that_cannot_be_shrunk_is_refused_before_sending() {
    let server = Testbed::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let photo = noisy_photo(dir.path());
    let (client, _) = ocrspace(&server, "scenario=success");
    let err = client.max_file_bytes(3_000).recognize(&photo).unwrap_err();
    assert!(
        matches!(err, OcrError::CannotShrink { limit: 3_000, .. }),
        "{err:?}"
    );
    assert_eq!(err.kind(), retry::FailureKind::Refused);
    // Not an image at all (a PDF): refused for its size, as before.
    let pdf = dir.path().join("scan.pdf");
    let mut bytes = b"%PDF-1.4\n".to_vec();
    bytes.resize(4_000, b' ');
    std::fs::write(&pdf, bytes).unwrap();
    let (client, _) = ocrspace(&server, "scenario=success");
    let err = client.max_file_bytes(3_000).recognize(&pdf).unwrap_err();
    assert!(matches!(err, OcrError::FileTooLarge { .. }), "{err:?}");
    // With shrinking off, the photo is refused as it is.
    let (client, _) = ocrspace(&server, "scenario=success");
    let err = client.shrink(false).recognize(&photo).unwrap_err();
    assert!(matches!(err, OcrError::FileTooLarge { .. }), "{err:?}");
    assert_eq!(server.stats().connections, 0);
}

#[test]
fn a_throttled_key_is_retried_after_the_window_with_a_message() {
    let server = Testbed::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let image = small_png(dir.path());
    let (client, notices) = ocrspace(
        &server,
        "scenario=throttle-first&n=2&window=1&text_hint=TOTAL%201.00",
    );
    let text = client.recognize(&image).unwrap();
    assert_eq!(text.text, "TOTAL 1.00");
    assert_eq!(server.stats().ocr_requests, 3);
    let notices = notices.lock().unwrap();
    assert_eq!(
        *notices,
        [
            "OCR.space throttled this key; retrying in 1 s (attempt 2 of 4)",
            "OCR.space throttled this key; retrying in 1 s (attempt 3 of 4)",
        ]
    );
}

#[test]
fn too_many_requests_honours_retry_after_and_try_again_answers_are_retried() {
    let server = Testbed::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let image = small_png(dir.path());
    let (client, notices) = ocrspace(&server, "scenario=too-many&n=1&after=1");
    client.recognize(&image).unwrap();
    assert_eq!(
        *notices.lock().unwrap(),
        ["OCR.space answered 429 (too many requests); retrying in 1 s (attempt 2 of 4)"]
    );
    let (client, notices) = ocrspace(&server, "scenario=try-again&n=2");
    client.recognize(&image).unwrap();
    let notices = notices.lock().unwrap();
    assert_eq!(notices.len(), 2, "{notices:?}");
    assert!(notices[0].contains("Please try again later"), "{notices:?}");
    assert!(notices[1].ends_with("(attempt 3 of 4)"), "{notices:?}");
    assert_eq!(server.stats().ocr_requests, 5);
}

#[test]
fn retries_stop_at_the_cap_and_a_daily_quota_is_not_waited_for() {
    let server = Testbed::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let image = small_png(dir.path());
    let (client, notices) = ocrspace(&server, "scenario=throttle-first&n=9&window=1");
    let err = client
        .retry(RetryPolicy::new().max_tries(2))
        .recognize(&image)
        .unwrap_err();
    assert!(matches!(err, OcrError::Throttled { .. }), "{err:?}");
    assert_eq!(notices.lock().unwrap().len(), 1);
    assert_eq!(server.stats().ocr_requests, 2);
    let (client, notices) = ocrspace(&server, "scenario=throttle-first&n=9&window=86400");
    let err = client.recognize(&image).unwrap_err();
    assert!(
        matches!(
            err,
            OcrError::Throttled {
                max_requests: 9,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(notices.lock().unwrap().is_empty());
    assert_eq!(server.stats().ocr_requests, 3);
}

/// What the hostile server sends: the key with every character `\uXXXX`, or every other one
/// escaped and `/` as `\/`.
fn escaped_forms() -> Vec<String> {
    let unicode: String = KEY.encode_utf16().map(|u| format!("\\u{u:04x}")).collect();
    let mixed: String = KEY
        .chars()
        .enumerate()
        .map(|(i, c)| match c {
            '/' => "\\/".to_string(),
            c if i % 2 == 0 => format!("\\u{:04X}", c as u32),
            '"' => "\\\"".to_string(),
            '\\' => "\\\\".to_string(),
            c => c.to_string(),
        })
        .collect();
    vec![unicode, mixed]
}

fn assert_no_key(shown: &str) {
    assert!(!shown.contains(KEY), "the key, decoded: {shown}");
    for form in escaped_forms() {
        assert!(
            !shown.contains(&form),
            "the key as the server sent it: {shown}"
        );
    }
    // Nor any other spelling the redaction knows of.
    assert_eq!(ApiKey::new(KEY).scrub(shown), shown);
}

#[test]
fn a_key_echoed_back_escaped_is_redacted_after_decoding() {
    let server = Testbed::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let image = small_png(dir.path());
    for spelling in ["unicode", "mixed"] {
        let (c, _) = ocrspace(&server, &format!("scenario=echo-key&spelling={spelling}"));
        let text = c.recognize(&image).unwrap();
        assert_eq!(text.text, "***\nTOTAL 12.50\n", "{spelling}");
        assert_eq!(text.lines[0].text, "***");
        assert_no_key(&format!(
            "{text:?} {}",
            serde_json::to_string(&text).unwrap()
        ));

        let (c, _) = ocrspace(
            &server,
            &format!("scenario=echo-key-error&spelling={spelling}"),
        );
        let err = c.recognize(&image).unwrap_err();
        let shown = format!("{err} {err:?}");
        assert!(shown.contains("E201: API key *** is not valid"), "{shown}");
        assert_no_key(&shown);

        let (c, _) = ocrspace(
            &server,
            &format!("scenario=echo-key-500&spelling={spelling}"),
        );
        let err = c
            .retry(RetryPolicy::no_retries())
            .recognize(&image)
            .unwrap_err();
        let shown = format!("{err} {err:?}");
        assert!(
            matches!(err, OcrError::Status { status: 500, .. }),
            "{shown}"
        );
        assert!(shown.contains("internal error for apikey ***"), "{shown}");
        assert_no_key(&shown);
    }
}
