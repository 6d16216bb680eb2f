//! Writes a CSV and an HTML report of the fixture receipts, and prints the rename plan (a dry run).
//!
//! `cargo run -p scan-output --example receipts -- OUT_DIR [PHOTOS_DIR]`
//!
//! The text receipts in `fixtures/receipts/` and `fixtures/scan-output/` are parsed as fw-scan
//! parses `.txt` inputs; the images in `fixtures/images/` get the receipt their OCR text gives
//! (`fixtures/documents/receipt.txt`). Writes `OUT_DIR/receipts.csv` and `OUT_DIR/report.html`.
//! The `.jpg`/`.png` photos of `PHOTOS_DIR`, if given, join the report with that same receipt,
//! to see (and time) thumbnails of real photos; the time the report took is printed.

use std::path::{Path, PathBuf};

use scan_output::{Scanned, Template};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = PathBuf::from(
        std::env::args_os()
            .nth(1)
            .ok_or("usage: receipts OUT_DIR")?,
    );
    std::fs::create_dir_all(&out)?;
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures");

    let mut scans = Vec::new();
    let image_text = std::fs::read_to_string(fixtures.join("documents/receipt.txt"))?;
    for name in ["receipt.jpg", "receipt.png", "receipt.webp"] {
        let receipt = receipt_parse::parse(&image_text);
        scans.push(Scanned::parsed(
            fixtures.join("images").join(name),
            "tesseract",
            receipt,
        ));
    }
    for folder in ["receipts", "scan-output"] {
        let mut texts: Vec<PathBuf> = std::fs::read_dir(fixtures.join(folder))?
            .map(|e| e.map(|e| e.path()))
            .collect::<Result<_, _>>()?;
        texts.retain(|p| p.extension().is_some_and(|e| e == "txt"));
        texts.sort();
        for path in texts {
            let receipt = receipt_parse::parse(&std::fs::read_to_string(&path)?);
            scans.push(Scanned::parsed(path, "text", receipt));
        }
    }
    if let Some(photos) = std::env::args_os().nth(2) {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(photos)?
            .map(|e| e.map(|e| e.path()))
            .collect::<Result<_, _>>()?;
        paths.retain(|p| p.extension().is_some_and(|e| e == "jpg" || e == "png"));
        paths.sort();
        for path in paths {
            scans.push(Scanned::parsed(
                path,
                "tesseract",
                receipt_parse::parse(&image_text),
            ));
        }
    }
    scans.push(Scanned::failed(
        fixtures.join("disguised/photo.jpg"),
        "tesseract",
        "not an image: the file is HTML",
    ));

    let csv = std::fs::File::create(out.join("receipts.csv"))?;
    scan_output::write_csv(std::io::BufWriter::new(csv), &scans)?;
    let started = std::time::Instant::now();
    scan_output::save_report(&out.join("report.html"), &scans)?;
    let took = started.elapsed();

    let template = Template::parse("{date}_{merchant}_{total}")?;
    for step in scan_output::plan(&template, &scans) {
        println!("{step}");
    }
    let size = std::fs::metadata(out.join("report.html"))?.len();
    println!(
        "wrote {} and {} ({} receipts, {size} bytes, in {took:.2?})",
        out.join("receipts.csv").display(),
        out.join("report.html").display(),
        scans.len()
    );
    Ok(())
}
