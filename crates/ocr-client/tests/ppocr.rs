//! The ppocr engine with the real PP-OCRv4 models on fixture images: a line of known text, a
//! receipt upright, upside down and turned by its EXIF tag, an empty page, a corrupt file, a
//! 10000 x 10000 image; and model folders that are empty or hold a corrupt file.
//!
//! The models come from `FILEWIRE_MODELS`, else the user's cache (`cargo xtask models` or
//! `cargo xtask test` installs them). Without them these tests skip with a message, unless
//! `FILEWIRE_REQUIRE_PEERS=1` (as `cargo xtask test` sets), where a missing model fails.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ocr_client::{OcrEngine, OcrError, Ppocr, models};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/images")
        .join(name)
}

/// The text without spaces: PP-OCRv4 often leaves out the space between two Latin words
/// ("CORNERCAFE"), so the tests compare letters, not spacing.
fn squash(text: &str) -> String {
    text.chars().filter(|c| *c != ' ').collect()
}

/// The rows of a text, each squashed.
fn squashed_rows(text: &str) -> Vec<String> {
    text.lines().map(squash).collect()
}

fn required() -> bool {
    std::env::var_os("FILEWIRE_REQUIRE_PEERS").is_some_and(|v| v == "1")
        || std::env::var_os("CI").is_some_and(|v| v == "true")
}

/// The engine, loaded once per test binary; `None` (skip) when the models are not installed
/// and they are not required.
fn engine() -> Option<&'static Ppocr> {
    static ENGINE: OnceLock<Option<Ppocr>> = OnceLock::new();
    ENGINE
        .get_or_init(|| {
            let dir = models::default_dir().expect("HOME or XDG_CACHE_HOME is set");
            match Ppocr::from_dir(&dir) {
                Ok(engine) => Some(engine.threads(2)),
                Err(e) if !required() => {
                    eprintln!("skipping ppocr engine tests: {e}");
                    None
                }
                Err(e) => panic!("PP-OCR models required (FILEWIRE_REQUIRE_PEERS=1): {e}"),
            }
        })
        .as_ref()
}

#[test]
fn reads_a_line_of_known_text() {
    let Some(engine) = engine() else { return };
    let text = engine.recognize(&fixture("line.png")).unwrap();
    assert_eq!(squash(&text.text), "TOTALRM31.00\n", "{text:?}");
    assert!(text.text.contains("31.00"), "{text:?}");
    let line = &text.lines[0];
    let conf = line.confidence.unwrap();
    assert!(conf > 0.8 && conf <= 1.0, "{conf}");
    // The text runs from x = 12 to about 250 in the 440 x 56 picture.
    let bbox = line.bbox.unwrap();
    let right = bbox.left + bbox.width;
    assert!(bbox.left <= 16 && (230..290).contains(&right), "{bbox:?}");
    assert!(bbox.top < 20 && bbox.top + bbox.height > 40, "{bbox:?}");
}

#[test]
fn reads_a_receipt_in_rows() {
    let Some(engine) = engine() else { return };
    let text = engine.recognize(&fixture("receipt.png")).unwrap();
    assert_eq!(
        squashed_rows(&text.text),
        [
            "CORNERCAFE",
            "Date:12/03/2024",
            "Coffee3.50",
            "Bagel4.25",
            "TOTAL7.75"
        ],
        "{}",
        text.text
    );
    // Boxes far apart on one level are joined by one space.
    assert!(text.text.contains("TOTAL 7.75"), "{}", text.text);
    // "TOTAL" and "7.75" are two boxes joined into one row.
    assert!(
        text.lines.len() > text.text.lines().count(),
        "{:?}",
        text.lines
    );
}

#[test]
fn reads_an_upside_down_receipt() {
    let Some(engine) = engine() else { return };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("upside-down.png");
    let img = image::open(fixture("receipt.png")).unwrap().rotate180();
    img.save(&path).unwrap();
    let text = engine.recognize(&path).unwrap();
    // The angle classifier turns each line; the rows then come bottom to top, and the boxes of
    // a row right to left.
    assert_eq!(
        squashed_rows(&text.text),
        [
            "7.75TOTAL",
            "4.25Bagel",
            "3.50Coffee",
            "Date:12/03/2024",
            "CORNERCAFE"
        ],
        "{}",
        text.text
    );
}

#[test]
fn honours_the_exif_orientation() {
    let Some(engine) = engine() else { return };
    // The pixels stored a quarter turn anticlockwise, tagged "turn 90 degrees clockwise to show".
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sideways.jpg");
    let img = image::open(fixture("receipt.png"))
        .unwrap()
        .rotate270()
        .to_rgb8();
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 92)
        .encode_image(&img)
        .unwrap();
    std::fs::write(&path, with_exif_orientation(&jpeg, 6)).unwrap();
    let text = engine.recognize(&path).unwrap();
    assert_eq!(
        squashed_rows(&text.text),
        [
            "CORNERCAFE",
            "Date:12/03/2024",
            "Coffee3.50",
            "Bagel4.25",
            "TOTAL7.75"
        ],
        "{}",
        text.text
    );
}

#[test]
fn an_empty_page_has_no_text() {
    let Some(engine) = engine() else { return };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("blank.png");
    image::RgbImage::from_pixel(600, 800, image::Rgb([255, 255, 255]))
        .save(&path)
        .unwrap();
    let text = engine.recognize(&path).unwrap();
    assert_eq!(text.text, "");
    assert!(text.lines.is_empty());
}

#[test]
fn a_corrupt_file_is_a_clear_error() {
    let Some(engine) = engine() else { return };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("truncated.jpg");
    let whole = std::fs::read(fixture("receipt.jpg")).unwrap();
    std::fs::write(&path, &whole[..whole.len() / 3]).unwrap();
    match engine.recognize(&path) {
        Err(e @ OcrError::ImageDecode { .. }) => assert_eq!(e.kind(), retry::FailureKind::Refused),
        // A truncated JPEG may decode as a partly grey picture; it must not fail otherwise.
        Ok(_) => {}
        Err(other) => panic!("unexpected error {other:?}"),
    }
    let html = fixture("../disguised/photo.jpg");
    assert!(matches!(
        engine.recognize(&html),
        Err(OcrError::ImageDecode { .. })
    ));
    assert!(matches!(
        engine.recognize(Path::new("/nonexistent/receipt.png")),
        Err(OcrError::ImageNotFound { .. })
    ));
}

#[test]
fn a_10000_square_image_is_refused_not_an_oom() {
    let Some(engine) = engine() else { return };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.png");
    // A real 10000 x 10000 grey PNG, written row by row (compresses to a few hundred KB).
    let file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    let mut encoder = png_encoder(file, 10_000, 10_000);
    let row = vec![200u8; 10_000];
    let mut stream = encoder.stream_writer().unwrap();
    for _ in 0..10_000 {
        std::io::Write::write_all(&mut stream, &row).unwrap();
    }
    stream.finish().unwrap();
    match engine.recognize(&path) {
        Err(OcrError::ImageTooLarge { width, height, .. }) => {
            assert_eq!((width, height), (10_000, 10_000));
        }
        other => panic!("expected ImageTooLarge, got {other:?}"),
    }
}

#[test]
fn missing_models_are_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = Ppocr::from_dir(dir.path()).unwrap_err();
    assert!(matches!(err, OcrError::ModelMissing { .. }), "{err:?}");
    assert!(err.to_string().contains("install the models"), "{err}");
}

#[test]
fn a_model_with_the_wrong_checksum_is_refused() {
    let Some(_) = engine() else { return };
    let source = models::default_dir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    for file in models::MODEL_FILES {
        std::fs::copy(
            models::path_in(&source, file),
            models::path_in(dir.path(), file),
        )
        .unwrap();
    }
    Ppocr::from_dir(dir.path()).unwrap();
    // One byte changed in the recogniser.
    let rec = models::path_in(dir.path(), models::RECOGNITION);
    let mut bytes = std::fs::read(&rec).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x55;
    std::fs::write(&rec, bytes).unwrap();
    match Ppocr::from_dir(dir.path()) {
        Err(OcrError::ModelChecksum { path, expected, .. }) => {
            assert_eq!(path, rec);
            assert_eq!(expected, models::RECOGNITION.sha256);
        }
        other => panic!("expected ModelChecksum, got {other:?}"),
    }
}

#[test]
fn the_recogniser_knows_its_6623_characters() {
    let Some(engine) = engine() else { return };
    assert_eq!(engine.character_count(), 6623);
}

fn png_encoder<W: std::io::Write>(w: W, width: u32, height: u32) -> png::Writer<W> {
    let mut encoder = png::Encoder::new(w, width, height);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Fast);
    encoder.write_header().unwrap()
}

/// Inserts an APP1 Exif segment holding only an orientation tag after the JPEG's SOI marker.
fn with_exif_orientation(jpeg: &[u8], orientation: u16) -> Vec<u8> {
    let mut tiff = b"MM\x00\x2a\x00\x00\x00\x08".to_vec();
    tiff.extend_from_slice(&1u16.to_be_bytes());
    tiff.extend_from_slice(&0x0112u16.to_be_bytes());
    tiff.extend_from_slice(&3u16.to_be_bytes());
    tiff.extend_from_slice(&1u32.to_be_bytes());
    tiff.extend_from_slice(&orientation.to_be_bytes());
    tiff.extend_from_slice(&[0, 0]);
    tiff.extend_from_slice(&0u32.to_be_bytes());
    let mut app1 = b"Exif\x00\x00".to_vec();
    app1.extend_from_slice(&tiff);
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((app1.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&app1);
    out.extend_from_slice(&jpeg[2..]);
    out
}
