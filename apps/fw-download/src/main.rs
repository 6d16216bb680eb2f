//! Download a file safely: checked, streamed, resumable, atomically renamed.

fn main() {
    eprintln!("fw-download: not built yet");
    std::process::exit(1);
}
