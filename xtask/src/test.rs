//! `cargo xtask test`: the README's test command, the same locally and in CI.

use crate::deps;
use crate::util::{self, root, shared_data, step};
use anyhow::{Result, bail};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

/// fmt check, install what the tests need, clippy with -D warnings, docs, then every test.
pub fn run_all(skip_lints: bool) -> Result<()> {
    let root = root();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    // A CI run builds once from scratch: incremental state would only take disk (GiBs on a
    // machine whose disk is shared), never time.
    let incremental = if std::env::var_os("CI").is_some() {
        "0"
    } else {
        "1"
    };
    let cargo_cmd = |args: &[&str]| {
        let mut cmd = Command::new(&cargo);
        cmd.current_dir(&root).args(args);
        if std::env::var_os("CARGO_INCREMENTAL").is_none() {
            cmd.env("CARGO_INCREMENTAL", incremental);
        }
        cmd
    };
    let data = shared_data();
    let data_present = data.is_dir();
    if !data_present && data_required() {
        bail!(
            "the development data ../shared/data is missing (looked for {}), and CI=true or \
             FILEWIRE_REQUIRE_DATA=1 requires it: the tests that read real receipts would skip",
            data.display()
        );
    }

    if !skip_lints {
        step("formatting (cargo fmt --check)");
        util::run(&mut cargo_cmd(&["fmt", "--all", "--check"]))?;
    }

    step(
        "installing what the tests need (tesseract, nginx, curl, Python httpbin in a venv, @tus/server, PP-OCR models)",
    );
    deps::tesseract()?;
    let nginx = deps::nginx()?;
    deps::curl_and_wget()?;
    deps::chromium()?;
    let python = deps::python_venv()?;
    let tus_modules = deps::tus_server()?;
    crate::models::install()?;

    if !skip_lints {
        step("lints (cargo clippy -D warnings)");
        util::run(&mut cargo_cmd(&[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]))?;

        step("docs (cargo doc, warnings denied)");
        util::run(
            cargo_cmd(&["doc", "--workspace", "--no-deps"]).env("RUSTDOCFLAGS", "-D warnings"),
        )?;
    }

    step("tests (cargo test --workspace)");
    let skip_log = util::scratch("test")?.join("skipped.tsv");
    std::fs::write(&skip_log, "")?;
    let mut tests = cargo_cmd(&["test", "--workspace", "--no-fail-fast"]);
    tests
        .env("FILEWIRE_REQUIRE_PEERS", "1")
        .env("FILEWIRE_PYTHON", &python)
        .env("FILEWIRE_NGINX", &nginx)
        .env("FILEWIRE_TUS_MODULES", &tus_modules)
        .env("FILEWIRE_SKIP_LOG", &skip_log)
        .env("PROPTEST_CASES", "2000");
    if data_present {
        tests.env("FILEWIRE_SHARED_DATA", &data);
    }
    let outcome = util::run(&mut tests);
    report_skips(&skip_log)?;
    outcome?;

    step("all checks passed");
    Ok(())
}

/// Whether missing development data is an error: under `CI=true` or `FILEWIRE_REQUIRE_DATA=1`
/// (the same rule as `testbed::peers::data_required`, which the tests apply).
fn data_required() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
        || std::env::var("FILEWIRE_REQUIRE_DATA").is_ok_and(|v| v == "1")
}

/// Ends the run with one short block naming every test that skipped, grouped by why.
fn report_skips(log: &Path) -> Result<()> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let mut by_reason: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for line in text.lines() {
        if let Some((test, why)) = line.split_once('\t') {
            by_reason.entry(why).or_default().push(test);
        }
    }
    if by_reason.is_empty() {
        return Ok(());
    }
    let count: usize = by_reason.values().map(Vec::len).sum();
    step(&format!("skipped {count} test(s)"));
    for (why, tests) in &mut by_reason {
        tests.sort_unstable();
        eprintln!("  {why}:");
        for test in tests.iter() {
            eprintln!("    - {test}");
        }
    }
    eprintln!("  (CI sets CI=true, which turns missing development data into a failure instead)");
    Ok(())
}

/// Entry point: `cargo xtask test [--no-lints]`.
pub fn run(mut args: pico_args::Arguments) -> Result<()> {
    let skip_lints = args.contains("--no-lints");
    crate::util::reject_rest(args)?;
    run_all(skip_lints)
}
