//! `cargo xtask models`: installs the PP-OCR models (fw-scan's `ppocr` engine) into the user's
//! cache, the way the tests, benches and evaluations need them.
//!
//! It runs `fw-scan --install-models`, which downloads the pinned `rapidocr-onnxruntime` wheel
//! with pip, checks its SHA-256 and each model's, and writes the files atomically. Files already
//! there and correct are kept, so a second run costs a checksum of 16 MB.

use crate::util::{self, root, step};
use anyhow::Result;
use std::process::Command;

/// Installs the models (or checks those installed).
pub fn install() -> Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    util::run(Command::new(cargo).current_dir(root()).args([
        "run",
        "-q",
        "-p",
        "fw-scan",
        "--",
        "--install-models",
    ]))
}

/// Entry point: `cargo xtask models`.
pub fn run(args: pico_args::Arguments) -> Result<()> {
    util::reject_rest(args)?;
    step("PP-OCR models into the cache (fw-scan --install-models)");
    install()
}
