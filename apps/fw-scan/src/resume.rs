//! Which inputs a run scans: this shard's share of them, less those the journal says an earlier
//! run scanned in their current version with the same engine and options (their OCR text is
//! read back from the journal, so every output stays complete).

use std::path::{Path, PathBuf};

use batch_pool::{Destination, Identity, Item, Journal, JournalState, Version};
use fw_cli::Exit;
use ocr_client::{OcrText, is_text_input};

use crate::args::{Args, EngineChoice};

/// One input of this shard.
pub(crate) struct Entry {
    /// The path as given.
    pub(crate) path: PathBuf,
    /// What the journal knows it by (`None` without a journal, or when the file cannot be read:
    /// such an input is scanned, and fails there with its own error).
    pub(crate) id: Option<Identity>,
    /// The OCR text an earlier run recorded; the input is not scanned again.
    pub(crate) stored: Option<OcrText>,
}

/// The run's inputs and its journal.
pub(crate) struct Resume {
    /// This shard's inputs, in the order given.
    pub(crate) entries: Vec<Entry>,
    /// The open, locked journal (none with `--no-journal`).
    pub(crate) journal: Option<Journal>,
}

impl Resume {
    /// How many inputs an earlier run scanned.
    pub(crate) fn skipped(&self) -> usize {
        self.entries.iter().filter(|e| e.stored.is_some()).count()
    }

    /// Records an input's result; a failure to write is said once, and the run goes on.
    pub(crate) fn record(
        &self,
        entry: &Entry,
        tries: u32,
        result: Result<&OcrText, String>,
        warned: &mut bool,
    ) {
        let (Some(journal), Some(id)) = (&self.journal, &entry.id) else {
            return;
        };
        let written = match result {
            Ok(text) => match serde_json::to_string(text) {
                Ok(detail) => journal.done(id, tries, &detail),
                Err(_) => return,
            },
            Err(error) => journal.failed(id, tries, &error),
        };
        if let Err(e) = written
            && !*warned
        {
            *warned = true;
            fw_cli::warn(&format!(
                "{e}: the journal is incomplete; a rerun scans again what it lacks"
            ));
        }
    }
}

/// What an input's OCR depends on: a `.txt` is read as it is; an image goes through the chosen
/// engine with its options, in this version of fw-scan (a new version may read better). A result
/// recorded under another description is not reused.
fn destination(args: &Args, text: bool) -> Destination {
    if text {
        return Destination::of_url("fw-scan:text");
    }
    let version = env!("CARGO_PKG_VERSION");
    let described = match args.engine {
        EngineChoice::Ppocr => format!(
            "fw-scan {version}:ppocr angle={} gaps={} det={:?} rec={:?}",
            !args.no_angle, !args.no_word_gaps, args.det_side, args.rec_min_width
        ),
        EngineChoice::Tesseract => format!(
            "fw-scan {version}:tesseract program={:?} lang={:?} psm={:?} prepare={:?} config={:?}",
            args.tesseract, args.language, args.psm, args.prepare, args.tesseract_config
        ),
        EngineChoice::OcrSpace => format!(
            "fw-scan {version}:ocrspace endpoint={:?} engine={:?} lang={:?} max={:?} shrink={}",
            args.endpoint, args.ocr_engine, args.language, args.max_file_size, !args.no_shrink
        ),
    };
    // The endpoint may carry a token: only a hash of this is ever written.
    Destination::of_url(&described)
}

/// An input as batch-pool's item: its key is the path's exact bytes.
fn item(path: &Path) -> Item {
    #[cfg(unix)]
    let raw = {
        use std::os::unix::ffi::OsStrExt;
        path.as_os_str().as_bytes().to_vec()
    };
    #[cfg(not(unix))]
    let raw = path.to_string_lossy().into_owned().into_bytes();
    let (key, raw_key) = match String::from_utf8(raw) {
        Ok(key) => (key, None),
        Err(e) => (path.to_string_lossy().into_owned(), Some(e.into_bytes())),
    };
    Item {
        key,
        raw_key,
        path: path.to_path_buf(),
        fields: Default::default(),
    }
}

/// The journal's path: `--journal`, else one in the state folder for this working folder, the
/// engine's description and the shard.
fn journal_path(args: &Args) -> Result<PathBuf, String> {
    if let Some(path) = &args.journal {
        return Ok(path.clone());
    }
    let described = format!(
        "{}\n{}",
        destination(args, false).as_str(),
        destination(args, true).as_str()
    );
    batch_pool::default_journal(Path::new("."), &described, args.shard).map_err(|e| {
        format!("{e}: no place for the journal (--journal FILE puts it elsewhere, --no-journal goes without)")
    })
}

/// This shard's inputs, the journal opened and locked, and what it already holds.
pub(crate) fn plan(args: &Args) -> Result<Resume, Exit> {
    let mut items: Vec<Item> = args
        .inputs
        .iter()
        .map(|p| item(p))
        .filter(|i| args.shard.contains(i.key_bytes()))
        .collect();
    if args.no_journal {
        let entries = items
            .into_iter()
            .map(|i| Entry {
                path: i.path,
                id: None,
                stored: None,
            })
            .collect();
        return Ok(Resume {
            entries,
            journal: None,
        });
    }
    let path = journal_path(args).map_err(|e| {
        fw_cli::error(&e);
        Exit::Failure
    })?;
    let (journal, state) = match Journal::open(&path) {
        Ok(opened) => opened,
        Err(e @ batch_pool::Error::Locked { .. }) => {
            fw_cli::error(&format!(
                "{e}; wait for it, or give this run another --journal FILE (or --no-journal)"
            ));
            return Err(Exit::Failure);
        }
        Err(e) => {
            fw_cli::error(&format!(
                "{}: opening the journal (--journal FILE puts it elsewhere, --no-journal goes without)",
                fw_cli::error_chain(&e)
            ));
            return Err(Exit::Failure);
        }
    };
    for own in journal.take_self(&mut items) {
        if !args.quiet {
            fw_cli::warn(&format!("{}: is the journal; not scanned", own.key));
        }
    }
    let entries = items
        .into_iter()
        .map(|item| entry(&state, args, item))
        .collect();
    let resume = Resume {
        entries,
        journal: Some(journal),
    };
    let skipped = resume.skipped();
    if skipped > 0 && !args.quiet {
        eprintln!(
            "fw-scan: {skipped} of {} inputs were scanned by an earlier run (journal {}); their \
             results are reported again, not scanned",
            resume.entries.len(),
            path.display()
        );
    }
    Ok(resume)
}

fn entry(state: &JournalState, args: &Args, item: Item) -> Entry {
    let dest = destination(args, is_text_input(&item.path));
    let id = Version::of(&item.path)
        .ok()
        .map(|version| Identity::new(&dest, &item, Some(version)));
    let stored = id
        .as_ref()
        .and_then(|id| state.done_detail(id))
        .and_then(|detail| serde_json::from_str::<OcrText>(detail).ok());
    Entry {
        path: item.path,
        id,
        stored,
    }
}
