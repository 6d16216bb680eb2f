//! Prints each file's real kind and whether it passes the avatar policy.
//!
//! `cargo run -p binary-io --example sniff -- fixtures/disguised/photo.jpg fixtures/images/avatar.jpg`

use binary_io::FilePolicy;
use std::path::Path;

fn main() {
    let mut failed = false;
    for arg in std::env::args().skip(1) {
        let path = Path::new(&arg);
        match binary_io::open(path) {
            Ok(f) => println!("{arg}: {} ({} bytes)", f.kind, f.size),
            Err(e) => {
                println!("{arg}: {e}");
                failed = true;
                continue;
            }
        }
        match FilePolicy::avatar().check(path) {
            Ok(_) => println!("  avatar policy: accepted"),
            Err(e) => println!("  avatar policy: refused: {e}"),
        }
    }
    std::process::exit(i32::from(failed));
}
