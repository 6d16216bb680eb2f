//! `cargo xtask test`: the README's test command, the same locally and in CI.

use crate::deps;
use crate::util::{self, root, shared_data, step};
use anyhow::Result;
use std::process::Command;

/// fmt check, install what the tests need, clippy with -D warnings, docs, then every test.
pub fn run_all(skip_lints: bool) -> Result<()> {
    let root = root();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());

    if !skip_lints {
        step("formatting (cargo fmt --check)");
        util::run(
            Command::new(&cargo)
                .current_dir(&root)
                .args(["fmt", "--all", "--check"]),
        )?;
    }

    step(
        "installing what the tests need (tesseract, nginx, curl, Python httpbin in a venv, PP-OCR models)",
    );
    deps::tesseract()?;
    let nginx = deps::nginx()?;
    deps::curl_and_wget()?;
    let python = deps::python_venv()?;
    crate::models::install()?;

    if !skip_lints {
        step("lints (cargo clippy -D warnings)");
        util::run(Command::new(&cargo).current_dir(&root).args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]))?;

        step("docs (cargo doc, warnings denied)");
        util::run(
            Command::new(&cargo)
                .current_dir(&root)
                .args(["doc", "--workspace", "--no-deps"])
                .env("RUSTDOCFLAGS", "-D warnings"),
        )?;
    }

    step("tests (cargo test --workspace)");
    util::run(
        Command::new(&cargo)
            .current_dir(&root)
            .args(["test", "--workspace", "--no-fail-fast"])
            .env("FILEWIRE_REQUIRE_PEERS", "1")
            .env("FILEWIRE_PYTHON", &python)
            .env("FILEWIRE_NGINX", &nginx)
            .env("FILEWIRE_SHARED_DATA", shared_data())
            .env("PROPTEST_CASES", "2000"),
    )?;

    step("all checks passed");
    Ok(())
}

/// Entry point: `cargo xtask test [--no-lints]`.
pub fn run(mut args: pico_args::Arguments) -> Result<()> {
    let skip_lints = args.contains("--no-lints");
    crate::util::reject_rest(args)?;
    run_all(skip_lints)
}
