//! Runs the local Tesseract backend on an image and prints each line with its box.
//!
//! `cargo run -p ocr-client --example ocr -- IMAGE`

use ocr_client::{OcrEngine, Tesseract};
use std::path::Path;

fn main() {
    let Some(image) = std::env::args().nth(1) else {
        eprintln!("usage: ocr IMAGE");
        std::process::exit(2);
    };
    match Tesseract::new().recognize(Path::new(&image)) {
        Ok(text) => {
            for line in &text.lines {
                match line.bbox {
                    Some(b) => println!("{:>5},{:<5} {}", b.left, b.top, line.text),
                    None => println!("            {}", line.text),
                }
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(i32::from(e.exit_code()));
        }
    }
}
