//! Upload a folder or manifest with a bounded, rate-aware worker pool.

fn main() {
    eprintln!("fw-batch: not built yet");
    std::process::exit(1);
}
