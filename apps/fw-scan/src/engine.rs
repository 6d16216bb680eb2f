//! The OCR engine fw-scan's flags ask for, built once for the whole run; and `--install-models`.

use std::path::PathBuf;
use std::sync::Arc;

use batch_pool::RetryPolicy;
use fw_cli::Exit;
use ocr_client::{
    KeySource, OcrEngine, OcrError, OcrSpace, OcrSpaceOptions, Ppocr, Tesseract, models,
    resolve_key,
};

use crate::args::{Args, EngineChoice};

pub(crate) fn build_engine(args: &Args) -> Result<Box<dyn OcrEngine>, OcrError> {
    Ok(match args.engine {
        EngineChoice::Ppocr => {
            let mut options = ocr_client::PpocrOptions {
                use_cls: !args.no_angle,
                word_gaps: !args.no_word_gaps,
                ..Default::default()
            };
            if let Some(width) = args.rec_min_width {
                options.rec_min_width = width;
            }
            if let Some(side) = args.det_side {
                options.det_limit_side = side;
            }
            let engine = Ppocr::open(args.models.as_deref())?
                .options(options)
                .threads(args.workers);
            Box::new(engine)
        }
        EngineChoice::Tesseract => {
            let mut t = Tesseract::new().prepare(args.prepare);
            if let Some(p) = &args.tesseract {
                t = t.program(p);
            }
            if let Some(l) = &args.language {
                t = t.language(l);
            }
            if let Some(psm) = args.psm {
                t = t.psm(psm);
            }
            for (name, value) in &args.tesseract_config {
                t = t.config(name, value);
            }
            if let Some(limit) = args.timeout {
                t = t.timeout(Some(limit));
            }
            Box::new(t)
        }
        EngineChoice::OcrSpace => {
            let dir = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
            let resolved = resolve_key(&dir);
            if !args.quiet {
                for warning in &resolved.warnings {
                    fw_cli::warn(warning);
                }
            }
            if resolved.source == KeySource::Demo && !args.quiet {
                fw_cli::warn(
                    "no OCRSPACE_API_KEY in the environment or ./.env: using OCR.space's public \
                     demo key, which is heavily throttled",
                );
            }
            let mut options = OcrSpaceOptions::default();
            if let Some(l) = &args.language {
                options.language = l.clone();
            }
            if let Some(e) = args.ocr_engine {
                options.engine = e;
            }
            let retry = RetryPolicy::new()
                .max_tries(args.retries.saturating_add(1))
                .max_retry_after(args.max_retry_wait);
            let mut client = OcrSpace::new(resolved.key)
                .options(options)
                .shrink(!args.no_shrink)
                .retry(retry);
            if !args.quiet {
                // Shrinking and every wait before a retry, one line each; never the key.
                client = client.on_notice(Arc::new(|notice| eprintln!("fw-scan: {notice}")));
            }
            if let Some(url) = &args.endpoint {
                client = client.endpoint(url);
            }
            if let Some(bytes) = args.max_file_size {
                client = client.max_file_bytes(bytes);
            }
            if let Some(t) = args.timeout {
                client = client.timeout(t);
            }
            Box::new(client)
        }
    })
}

/// `--install-models`: the models into `--models DIR`, else FILEWIRE_MODELS, else the cache.
pub(crate) fn install_models(args: &Args) -> Exit {
    let Some(dir) = args.models.clone().or_else(models::default_dir) else {
        fw_cli::error("no models folder: set HOME or XDG_CACHE_HOME, or pass --models DIR");
        return Exit::Failure;
    };
    match models::ensure(&dir, true) {
        Ok(()) => {
            if !args.quiet {
                eprintln!("PP-OCR models ready in {}", dir.display());
            }
            Exit::Ok
        }
        Err(e) => {
            fw_cli::error(&e.to_string());
            Exit::from_kind(e.kind())
        }
    }
}
