//! `cargo xtask models`: installs the PP-OCR models (fw-scan's `ppocr` engine) into the user's
//! cache, the way the tests, benches and evaluations need them.
//!
//! It runs `fw-scan --install-models`, which downloads the pinned `rapidocr-onnxruntime` wheel
//! with pip, checks its SHA-256 and each model's, and writes the files atomically. Files already
//! there and correct are kept, so a second run costs a checksum of 16 MB.

use crate::util::{self, root, step};
use anyhow::Result;
use std::process::Command;

/// Installs the models (or checks those installed). pip comes from the project's virtual
/// environment under target/ when `cargo xtask test` has made it (it surely has pip), else from
/// the system's python3.
pub fn install() -> Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(root())
        .args(["run", "-q", "-p", "fw-scan", "--", "--install-models"]);
    let venv_bin = root().join("target").join("xtask").join("venv").join("bin");
    if venv_bin.join("python3").exists() {
        let path = std::env::var_os("PATH").unwrap_or_default();
        let mut dirs = vec![venv_bin];
        dirs.extend(std::env::split_paths(&path));
        cmd.env("PATH", std::env::join_paths(dirs)?);
    }
    util::run(&mut cmd)
}

/// Entry point: `cargo xtask models`.
pub fn run(args: pico_args::Arguments) -> Result<()> {
    util::reject_rest(args)?;
    step("PP-OCR models into the cache (fw-scan --install-models)");
    install()
}
