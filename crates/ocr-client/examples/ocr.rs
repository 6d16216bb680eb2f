//! Runs an engine on an image and prints each line with its box (and confidence, when known).
//!
//! `cargo run -p ocr-client --example ocr -- IMAGE [tesseract|ppocr]`
//!
//! ppocr reads its models from FILEWIRE_MODELS or the user's cache, installing them on first use.

use ocr_client::{OcrEngine, OcrError, Ppocr, Tesseract};
use std::path::Path;

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(image) = args.next() else {
        eprintln!("usage: ocr IMAGE [tesseract|ppocr]");
        std::process::exit(2);
    };
    let engine: Result<Box<dyn OcrEngine>, OcrError> = match args.next().as_deref() {
        None | Some("tesseract") => Ok(Box::new(Tesseract::new())),
        Some("ppocr") => Ppocr::open(None).map(|e| Box::new(e) as Box<dyn OcrEngine>),
        Some(other) => {
            eprintln!("unknown engine {other} (tesseract or ppocr)");
            std::process::exit(2);
        }
    };
    match engine.and_then(|e| e.recognize(Path::new(&image))) {
        Ok(text) => {
            for line in &text.lines {
                let conf = line
                    .confidence
                    .map_or(String::new(), |c| format!(" ({:.0} %)", c * 100.0));
                match line.bbox {
                    Some(b) => println!("{:>5},{:<5} {}{conf}", b.left, b.top, line.text),
                    None => println!("            {}{conf}", line.text),
                }
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
