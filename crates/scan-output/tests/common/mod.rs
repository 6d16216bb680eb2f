//! Real scanned files for the integration tests: fixture images and receipt texts, copied into a
//! temporary folder under the awkward names people give them, parsed with receipt-parse.

#![allow(dead_code)] // each test file uses a part

use std::path::{Path, PathBuf};

use scan_output::Scanned;

/// The repository's `fixtures/` folder.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

/// Copies `fixture` (relative to `fixtures/`) into `dir` as `name`; returns the copy's path.
pub fn copy(dir: &Path, fixture: &str, name: &str) -> PathBuf {
    let to = dir.join(name);
    std::fs::copy(fixtures().join(fixture), &to).unwrap();
    to
}

/// A text input scanned as fw-scan scans `.txt` files: its text parsed, no OCR.
pub fn scan_text(path: &Path) -> Scanned {
    let text = std::fs::read_to_string(path).unwrap();
    Scanned::parsed(path, "text", receipt_parse::parse(&text))
}

/// An image input with the receipt its OCR text gives: `fixtures/documents/receipt.txt` is what
/// OCR reads from `fixtures/images/receipt.*` (CORNER CAFE, 2024-03-12, total 7.75).
pub fn scan_image(path: &Path) -> Scanned {
    let text = std::fs::read_to_string(fixtures().join("documents/receipt.txt")).unwrap();
    Scanned::parsed(path, "tesseract", receipt_parse::parse(&text))
}

/// The batch the tests share: images and texts under names with spaces and non-ASCII letters,
/// a receipt without a total and a failed scan.
pub fn batch(dir: &Path) -> Vec<Scanned> {
    vec![
        scan_image(&copy(dir, "images/receipt.jpg", "IMG 0042 copy.jpg")),
        scan_image(&copy(dir, "images/receipt.webp", "scan from phone.webp")),
        scan_text(&copy(
            dir,
            "scan-output/cafe-mueller.txt",
            "Café Müller März.txt",
        )),
        scan_text(&copy(
            dir,
            "scan-output/tokyo-store.txt",
            "東京 receipt.txt",
        )),
        scan_text(&copy(dir, "receipts/us.txt", "diner, \"Joe's\".txt")),
        scan_text(&copy(dir, "scan-output/no-total.txt", "no total.txt")),
        Scanned::failed(
            copy(dir, "disguised/photo.jpg", "broken photo.jpg"),
            "tesseract",
            "tesseract could not read broken photo.jpg: not an image (HTML)",
        ),
    ]
}
