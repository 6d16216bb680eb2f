//! Runs the ppocr engine over many images and writes each one's text to `DIR/<stem>.txt`, the
//! layout `cargo xtask eval --texts DIR` scores; settings can be varied to measure them.
//!
//! `cargo run --release -p ocr-client --example ppocr_texts -- --out DIR [--det-side N]
//! [--det-max-side N] [--rec-min-width N] [--rec-batch N] [--rec-width-step N] [--no-angle]
//! [--angle-every-line] [--workers N] IMAGE...`
//!
//! Wrap it in `/usr/bin/time -f '%U %S %M'` for CPU seconds and peak memory.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use ocr_client::{OcrEngine, Ppocr};

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(2);
    }
}

fn run() -> Result<(), String> {
    let mut options = ocr_client::PpocrOptions::default();
    let mut out: Option<PathBuf> = None;
    let mut workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut images = Vec::new();
    let mut args = std::env::args_os().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .and_then(|v| v.into_string().ok())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        let number = |v: String, name: &str| {
            v.parse::<f64>()
                .map_err(|_| format!("{name}: not a number: {v}"))
        };
        match arg.to_str() {
            Some("--out") => out = Some(PathBuf::from(value("--out")?)),
            Some("--det-side") => {
                options.det_limit_side = number(value("--det-side")?, "--det-side")? as u32
            }
            Some("--det-max-side") => {
                options.det_max_side = number(value("--det-max-side")?, "--det-max-side")? as u32
            }
            Some("--rec-min-width") => {
                options.rec_min_width = number(value("--rec-min-width")?, "--rec-min-width")? as u32
            }
            Some("--rec-batch") => {
                options.rec_batch = number(value("--rec-batch")?, "--rec-batch")? as usize
            }
            Some("--rec-width-step") => {
                options.rec_width_step =
                    number(value("--rec-width-step")?, "--rec-width-step")? as u32
            }
            Some("--workers") => workers = number(value("--workers")?, "--workers")? as usize,
            Some("--no-angle") => options.use_cls = false,
            Some("--angle-every-line") => options.cls_every_line = true,
            _ => images.push(PathBuf::from(arg)),
        }
    }
    let out = out.ok_or("--out DIR is required")?;
    std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    let engine = Ppocr::open(None)
        .map_err(|e| e.to_string())?
        .options(options)
        .threads(workers.max(1));
    let next = AtomicUsize::new(0);
    let failures = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..workers.max(1) {
            s.spawn(|| {
                while let Some(image) = images.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let stem = image.file_stem().unwrap_or_default();
                    let target = out.join(stem).with_extension("txt");
                    match engine.recognize(image) {
                        Ok(text) => {
                            if let Err(e) = std::fs::write(&target, text.text) {
                                eprintln!("{}: {e}", target.display());
                                failures.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        Err(e) => {
                            eprintln!("{}: {e}", image.display());
                            failures.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            });
        }
    });
    match failures.into_inner() {
        0 => Ok(()),
        n => Err(format!("{n} image(s) failed")),
    }
}
