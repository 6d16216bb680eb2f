//! Upload files as streaming multipart/form-data.

fn main() {
    eprintln!("fw-upload: not built yet");
    std::process::exit(1);
}
