//! Run the filewire testbed HTTP server on loopback.

fn main() {
    eprintln!("fw-testbed: not built yet");
    std::process::exit(1);
}
