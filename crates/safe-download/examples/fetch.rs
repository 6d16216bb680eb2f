//! Downloads URL to PATH with the safe defaults plus a size limit, printing what was saved.
//!
//! `cargo run -p safe-download --example fetch -- URL PATH [MAX_BYTES]`
//! (try it against `cargo run -p fw-testbed`: `/bytes/100000` succeeds, `/fault/lying-type`
//! and `/fault/short` are refused and leave nothing under PATH).

use safe_download::{Downloader, Target};

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(url), Some(path)) = (args.next(), args.next()) else {
        eprintln!("usage: fetch URL PATH [MAX_BYTES]");
        std::process::exit(2);
    };
    let max: u64 = args
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100 << 20);
    match Downloader::new()
        .max_size(max)
        .fetch(&url, &Target::Path(path.into()))
    {
        Ok(done) => println!(
            "saved {} ({} bytes, {}, sha256 {})",
            done.path.display(),
            done.bytes,
            done.content_type.as_deref().unwrap_or("no content type"),
            done.sha256.as_deref().unwrap_or("-")
        ),
        Err(e) => {
            // A library error says what kind of failure it is; what a process does with that
            // (an exit code) is the program's choice.
            eprintln!("{} failure: {e}", e.kind());
            std::process::exit(1);
        }
    }
}
