//! Scan receipt images to structured JSON: OCR (PP-OCR offline, Tesseract or OCR.space) then
//! receipt-parse.
//!
//! A thin binary: parses flags, takes this shard's inputs less those its journal says were
//! scanned (`resume`), picks an [`ocr_client::OcrEngine`], runs the images through a
//! [`batch_pool::Pool`] and prints one receipt per image. `.txt` inputs are OCR text already and
//! skip the OCR step.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use batch_pool::{Pool, RetryPolicy};
use fw_cli::Exit;
use ocr_client::{OcrEngine, OcrError, OcrText, is_text_input, read_text};
use receipt_parse::Receipt;
use scan_output::Scanned;
use serde_json::json;

mod args;
mod engine;
mod resume;

use args::{Args, USAGE, parse_args};
use engine::{build_engine, install_models};

/// The OCR text of one input: read from a `.txt` (said on stderr when bytes that were not
/// UTF-8 were replaced), or recognised by the engine (there is one whenever an input is not text).
fn ocr(engine: Option<&dyn OcrEngine>, input: &Path, quiet: bool) -> Result<OcrText, OcrError> {
    if let (false, Some(engine)) = (is_text_input(input), engine) {
        return engine.recognize(input);
    }
    let read = read_text(input)?;
    if read.lossy && !quiet {
        fw_cli::warn(&format!(
            "{}: not UTF-8; the bytes that were not were replaced",
            input.display()
        ));
    }
    Ok(read.text)
}

/// The receipt in the OCR text. Tesseract's and OCR.space's (table mode) lines are rows already;
/// on the 8 SROIE dev scans parsing that text found 8/8 totals against 7/8 when the line boxes
/// were merged into rows again by `receipt_parse::parse_lines`.
fn parse_receipt(text: &OcrText) -> Receipt {
    receipt_parse::parse(&text.text)
}

fn human_line(input: &Path, r: &Receipt) -> String {
    let show = |v: Option<String>| v.unwrap_or_else(|| "?".to_string());
    let total = r.total.map(|t| match r.currency {
        Some(c) => format!("{t} {}", c.code()),
        None => t.to_string(),
    });
    format!(
        "{}: merchant {} | date {} | total {}",
        input.display(),
        show(r.merchant.clone()),
        show(r.date.clone()),
        show(total)
    )
}

fn run(args: &Args) -> Exit {
    if args.install_models {
        return install_models(args);
    }
    let plan = match resume::plan(args) {
        Ok(plan) => plan,
        Err(exit) => return exit,
    };
    let todo: Vec<usize> = (0..plan.entries.len())
        .filter(|&i| plan.entries[i].stored.is_none())
        .collect();
    // Only images still to scan need an engine (ppocr loads its models, which may mean
    // installing them).
    let engine = if todo.iter().all(|&i| is_text_input(&plan.entries[i].path)) {
        None
    } else {
        match build_engine(args) {
            Ok(engine) => Some(engine),
            Err(e) => {
                fw_cli::error(&e.to_string());
                if matches!(
                    e,
                    OcrError::ModelMissing { .. }
                        | OcrError::ModelChecksum { .. }
                        | OcrError::ModelInstall { .. }
                        | OcrError::ModelLoad { .. }
                ) {
                    eprintln!(
                        "hint: `fw-scan --install-models` fetches them (pip and network); \
                         `--models DIR` or FILEWIRE_MODELS=DIR points at a folder holding them"
                    );
                }
                return Exit::from_kind(e.kind());
            }
        }
    };
    let engine: Option<&dyn OcrEngine> = engine.as_deref();
    let engine_name = if plan.entries.iter().all(|e| is_text_input(&e.path)) {
        "text"
    } else {
        args.engine.name()
    };
    let bar = fw_cli::batch_bar(args.progress, args.quiet, todo.len() as u64);
    if let Some(bar) = &bar {
        bar.set_message(format!("scanning ({engine_name})"));
    }
    // The OCR.space client retries by itself (and says so); nothing else is worth a retry.
    let pool = Pool::new(args.workers).retry(RetryPolicy::no_retries());
    let mut results: Vec<Option<Result<OcrText, OcrError>>> =
        plan.entries.iter().map(|_| None).collect();
    let mut journal_warned = false;
    pool.run_streaming(
        todo,
        |&i, _attempt| ocr(engine, &plan.entries[i].path, args.quiet),
        |outcome| {
            if let Some(bar) = &bar {
                bar.inc(1);
            }
            let entry = &plan.entries[outcome.item];
            let recorded = outcome.result.as_ref().map_err(|e| e.to_string());
            plan.record(entry, outcome.tries, recorded, &mut journal_warned);
            results[outcome.item] = Some(outcome.result);
        },
    );
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let outcomes: Vec<(&Path, Result<OcrText, OcrError>)> = plan
        .entries
        .iter()
        .zip(results)
        .map(|(entry, result)| {
            let result = match &entry.stored {
                Some(text) => Ok(text.clone()),
                None => result.expect("the pool reports every item it was given"),
            };
            (entry.path.as_path(), result)
        })
        .collect();
    let mut stdout = std::io::stdout().lock();
    let mut failed = Vec::new();
    let mut scans = Vec::with_capacity(outcomes.len());
    for (input, result) in &outcomes {
        let input = *input;
        scans.push(match result {
            Ok(text) => Scanned::parsed(input, engine_name, parse_receipt(text)),
            Err(e) => Scanned::failed(input, engine_name, e.to_string()),
        });
        let line = match result {
            Ok(text) => {
                let receipt = parse_receipt(text);
                if args.json {
                    let mut value = json!({
                        "image": input.display().to_string(),
                        "engine": engine_name,
                        "receipt": receipt,
                    });
                    if args.with_text {
                        value["text"] = json!(text.text);
                    }
                    value.to_string()
                } else {
                    human_line(input, &receipt)
                }
            }
            Err(e) => {
                let exit = Exit::from_kind(e.kind());
                failed.push(exit);
                fw_cli::error(&format!("{}: {e}", input.display()));
                if !args.json {
                    continue;
                }
                json!({
                    "image": input.display().to_string(),
                    "engine": engine_name,
                    "error": e.to_string(),
                    "exit_code": exit as u8,
                })
                .to_string()
            }
        };
        if writeln!(stdout, "{line}").is_err() {
            return Exit::Failure;
        }
    }
    // Renames first, then the CSV and report under the new names; every step is tried.
    let written = args.outputs.write(&mut scans);
    for line in written.lines() {
        match line {
            // With --json, stdout holds JSON Lines only: the plan goes to stderr.
            Ok(text) if args.json => eprintln!("{text}"),
            Ok(text) => {
                let _ = writeln!(stdout, "{text}");
            }
            Err(e) => fw_cli::error(&fw_cli::error_chain(e)),
        }
    }
    let _ = stdout.flush();
    if written.has_failures() {
        return Exit::Failure;
    }
    match failed.as_slice() {
        [] => Exit::Ok,
        [exit] if outcomes.len() == 1 => *exit,
        _ => Exit::BatchPartial,
    }
}

fn main() -> ExitCode {
    let args = match fw_cli::command_line("fw-scan", env!("CARGO_PKG_VERSION"), USAGE, parse_args) {
        Ok(args) => args,
        Err(code) => return code,
    };
    run(&args).code()
}
