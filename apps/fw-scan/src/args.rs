//! fw-scan's command line: the help text, the flags and the checks between them.

use std::path::PathBuf;
use std::time::Duration;

use batch_pool::Shard;
use fw_cli::ProgressMode;
use ocr_client::OcrSpaceEngine;

pub(crate) const USAGE: &str = "\
fw-scan: scan receipt images to structured data (OCR, then receipt parsing)

usage: fw-scan IMAGE... [options]
       fw-scan --install-models [--models DIR]

An IMAGE ending in .txt is OCR text already: it is parsed without OCR.

options:
  --engine NAME          ppocr (PP-OCRv4 offline, default), tesseract (the local program) or
                         ocrspace (the OCR.space API)
  --models DIR           ppocr: the folder holding the model files (default: FILEWIRE_MODELS,
                         else ~/.cache/filewire/models, filled on first use with pip)
  --install-models       fetch the ppocr models (pip download of rapidocr-onnxruntime 1.4.4,
                         each file checked by SHA-256) into --models DIR or the cache, then exit
  --no-angle             ppocr: skip the classifier that turns upside-down lines
  --no-word-gaps         ppocr: keep the recogniser's text as it is (no spaces put at wide gaps)
  --det-side N           ppocr: detection scales the shorter side up to N px (default 736)
  --rec-min-width N      ppocr: shorter text lines are padded to N px for recognition (default 96;
                         RapidOCR uses 320)
  --workers N            images scanned at once (default: number of CPUs)
  --json                 one JSON object per image (JSON Lines), in input order
  --with-text            include the OCR text in the JSON output
  --language LANG        OCR language (default eng)
  --psm N                Tesseract page-segmentation mode (default 4)
  --tesseract PROGRAM    the tesseract program to run (default: tesseract on PATH)
  --prepare MODE         tesseract: none (default), upscale (scans narrower than 1200 px
                         enlarged) or binarize (enlarged, then Otsu's threshold)
  --tesseract-config NAME=VALUE
                         a Tesseract variable (-c NAME=VALUE; repeatable)
  --endpoint URL         OCR.space endpoint (default https://api.ocr.space/parse/image)
  --ocr-engine 1|2|3     OCR.space engine (default 2)
  --max-file-size BYTES  OCR.space plan's file size limit (default 1048576, the free plan); a
                         larger image is sent re-encoded as a smaller JPEG (said on stderr)
  --no-shrink            OCR.space: refuse an image over --max-file-size instead of shrinking it
  --retries N            OCR.space: retries after throttling, 429, 5xx, network errors and
                         \"try again\" answers (default 3); each wait is said on stderr
  --max-retry-wait DUR   longest wait honoured between retries (default 120s)
  --timeout DURATION     per image: Tesseract's run (default 120s) or OCR.space's connect and
                         idle read (e.g. 30, 500ms, 2m)
  --csv FILE             also write one CSV row per image (header, RFC 4180, plain decimals)
  --report FILE.html     also write a self-contained HTML report (thumbnails, fields, totals)
  --rename TEMPLATE      rename inputs by their fields, e.g. '{date}_{merchant}_{total}'
                         (never overwrites: adds -2, -3; skips files missing a field)
  --dry-run              with --rename: print the plan, rename nothing
  --shard INDEX/COUNT    only this stable hash-based share of the inputs (e.g. 2/8)
  --journal FILE         resume journal (default: one per folder, engine and shard in
                         $XDG_STATE_HOME/filewire/journals/, else ~/.local/state/...); a rerun
                         skips inputs scanned before and still reports their results
  --no-journal           no journal: scan every input, remember nothing
  --progress MODE        auto (bar when stderr is a terminal), always or never
  -q, --quiet            no progress, no warnings
  -h, --help             this help
  -V, --version          the version

The OCR.space key comes from OCRSPACE_API_KEY, else from OCRSPACE_API_KEY= in ./.env (which never
overrides the environment), else the public demo key (throttled). The key is never printed.

exit codes: 0 ok, 1 other failure (e.g. the journal is in use by another run), 2 usage,
            3 refused before sending (not an image, or over the plan's limit even shrunk),
            4 the server said no, 5 network or timeout, 7 several images, some failed
";

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum EngineChoice {
    Ppocr,
    Tesseract,
    OcrSpace,
}

impl EngineChoice {
    /// As the engine calls itself in output.
    pub(crate) fn name(self) -> &'static str {
        match self {
            EngineChoice::Ppocr => "ppocr",
            EngineChoice::Tesseract => "tesseract",
            EngineChoice::OcrSpace => "ocrspace",
        }
    }
}

pub(crate) struct Args {
    pub(crate) inputs: Vec<PathBuf>,
    pub(crate) engine: EngineChoice,
    pub(crate) models: Option<PathBuf>,
    pub(crate) install_models: bool,
    pub(crate) no_angle: bool,
    pub(crate) no_word_gaps: bool,
    pub(crate) det_side: Option<u32>,
    pub(crate) rec_min_width: Option<u32>,
    pub(crate) prepare: Option<ocr_client::Prepare>,
    pub(crate) workers: usize,
    pub(crate) json: bool,
    pub(crate) with_text: bool,
    pub(crate) language: Option<String>,
    pub(crate) psm: Option<u8>,
    pub(crate) tesseract: Option<PathBuf>,
    pub(crate) tesseract_config: Vec<(String, String)>,
    pub(crate) endpoint: Option<String>,
    pub(crate) ocr_engine: Option<OcrSpaceEngine>,
    pub(crate) max_file_size: Option<u64>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) no_shrink: bool,
    pub(crate) retries: u32,
    pub(crate) max_retry_wait: Duration,
    pub(crate) shard: Shard,
    pub(crate) journal: Option<PathBuf>,
    pub(crate) no_journal: bool,
    pub(crate) progress: ProgressMode,
    pub(crate) quiet: bool,
    /// --csv, --report, --rename and --dry-run.
    pub(crate) outputs: scan_output::Outputs,
}

pub(crate) fn parse_args(mut a: pico_args::Arguments) -> Result<Args, String> {
    let fail = |e: pico_args::Error| e.to_string();
    let engine = match a
        .opt_value_from_str::<_, String>("--engine")
        .map_err(fail)?
        .as_deref()
    {
        None | Some("ppocr") => EngineChoice::Ppocr,
        Some("tesseract") => EngineChoice::Tesseract,
        Some("ocrspace") => EngineChoice::OcrSpace,
        Some(other) => {
            return Err(format!(
                "invalid --engine `{other}` (expected ppocr, tesseract or ocrspace)"
            ));
        }
    };
    let models = a.opt_value_from_str("--models").map_err(fail)?;
    let install_models = a.contains("--install-models");
    let no_angle = a.contains("--no-angle");
    let no_word_gaps = a.contains("--no-word-gaps");
    let det_side: Option<u32> = a.opt_value_from_str("--det-side").map_err(fail)?;
    let rec_min_width: Option<u32> = a.opt_value_from_str("--rec-min-width").map_err(fail)?;
    if rec_min_width.is_some_and(|n| !(8..=2000).contains(&n)) {
        return Err("--rec-min-width must be between 8 and 2000".to_string());
    }
    if det_side.is_some_and(|n| !(32..=4000).contains(&n)) {
        return Err("--det-side must be between 32 and 4000".to_string());
    }
    let prepare = match a
        .opt_value_from_str::<_, String>("--prepare")
        .map_err(fail)?
        .as_deref()
    {
        None | Some("none") => None,
        Some("upscale") => Some(ocr_client::Prepare::default()),
        Some("binarize") => Some(ocr_client::Prepare {
            binarize: true,
            ..Default::default()
        }),
        Some(other) => {
            return Err(format!(
                "invalid --prepare `{other}` (expected none, upscale or binarize)"
            ));
        }
    };
    let workers: Option<usize> = a.opt_value_from_str("--workers").map_err(fail)?;
    if workers == Some(0) {
        return Err("--workers must be at least 1".to_string());
    }
    let workers = workers.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    });
    let json = a.contains("--json");
    let with_text = a.contains("--with-text");
    let language = a.opt_value_from_str("--language").map_err(fail)?;
    let psm = a.opt_value_from_str("--psm").map_err(fail)?;
    let tesseract = a.opt_value_from_str("--tesseract").map_err(fail)?;
    let raw_config: Vec<String> = a.values_from_str("--tesseract-config").map_err(fail)?;
    let tesseract_config = fw_cli::parse_fields(&raw_config)?;
    let endpoint = a.opt_value_from_str("--endpoint").map_err(fail)?;
    let ocr_engine = a
        .opt_value_from_fn("--ocr-engine", |s| s.parse::<OcrSpaceEngine>())
        .map_err(fail)?;
    let max_file_size = a.opt_value_from_str("--max-file-size").map_err(fail)?;
    let timeout = a
        .opt_value_from_fn("--timeout", fw_cli::parse_duration)
        .map_err(fail)?;
    let no_shrink = a.contains("--no-shrink");
    let retries = a
        .opt_value_from_str("--retries")
        .map_err(fail)?
        .unwrap_or(3);
    let max_retry_wait = a
        .opt_value_from_fn("--max-retry-wait", fw_cli::parse_duration)
        .map_err(fail)?
        .unwrap_or(Duration::from_secs(120));
    let shard = a
        .opt_value_from_fn("--shard", |s| s.parse::<Shard>())
        .map_err(fail)?
        .unwrap_or(Shard::WHOLE);
    let journal = a
        .opt_value_from_os_str("--journal", fw_cli::path_arg)
        .map_err(fail)?;
    let no_journal = a.contains("--no-journal");
    if no_journal && journal.is_some() {
        return Err("--journal and --no-journal cannot be given together".to_string());
    }
    let progress = a
        .opt_value_from_fn("--progress", |s| s.parse::<ProgressMode>())
        .map_err(fail)?
        .unwrap_or(ProgressMode::Auto);
    let quiet = a.contains(["-q", "--quiet"]);
    let outputs = scan_output::Outputs {
        csv: a
            .opt_value_from_os_str("--csv", fw_cli::path_arg)
            .map_err(fail)?,
        report: a
            .opt_value_from_os_str("--report", fw_cli::path_arg)
            .map_err(fail)?,
        rename: a
            .opt_value_from_fn("--rename", scan_output::Template::parse)
            .map_err(fail)?,
        dry_run: a.contains("--dry-run"),
    };
    if outputs.dry_run && outputs.rename.is_none() {
        return Err("--dry-run needs --rename TEMPLATE".to_string());
    }
    let mut inputs = Vec::new();
    for raw in a.finish() {
        let s = raw.to_string_lossy();
        if s.starts_with('-') && s.len() > 1 {
            return Err(format!("unknown option `{s}`"));
        }
        inputs.push(PathBuf::from(raw));
    }
    if inputs.is_empty() && !install_models {
        return Err("no IMAGE given".to_string());
    }
    Ok(Args {
        inputs,
        engine,
        models,
        install_models,
        no_angle,
        no_word_gaps,
        det_side,
        rec_min_width,
        prepare,
        workers,
        json,
        with_text,
        language,
        psm,
        tesseract,
        tesseract_config,
        endpoint,
        ocr_engine,
        max_file_size,
        timeout,
        no_shrink,
        retries,
        max_retry_wait,
        shard,
        journal,
        no_journal,
        progress,
        quiet,
        outputs,
    })
}
