//! Scan receipt images to structured JSON (OCR then parse).

fn main() {
    eprintln!("fw-scan: not built yet");
    std::process::exit(1);
}
